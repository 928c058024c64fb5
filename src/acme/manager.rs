//! The background task: serve the stored certificate if it is still good, obtain one if
//! there is none, renew at two thirds of the lifetime, retry failures with a growing
//! pause. A renewal swaps the certificate for new handshakes only, so no connection is
//! dropped.

use std::sync::Arc;
use std::time::Duration;

use super::challenge::{Challenges, certified_key};
use super::order::{OrderParams, obtain};
use super::store::{Store, StoredCert};
use super::{AcmeConfig, certificate_host};

/// Pauses after a failed order: from a minute up to [`MAX_RETRY`] (Let's Encrypt allows
/// five failed checks per host an hour).
const FIRST_RETRY: Duration = Duration::from_secs(60);
const MAX_RETRY: Duration = Duration::from_secs(6 * 3600);
/// Longest single sleep, so a changed clock is noticed within a day.
const MAX_SLEEP: Duration = Duration::from_secs(24 * 3600);

pub struct Manager {
    host: String,
    config: AcmeConfig,
    store: Store,
    challenges: Arc<Challenges>,
}

impl Manager {
    /// Checks the domain and loads a stored certificate, if any, into `challenges`.
    pub fn new(
        domain: &str,
        data_dir: &std::path::Path,
        config: AcmeConfig,
        challenges: Arc<Challenges>,
    ) -> anyhow::Result<Manager> {
        let host = certificate_host(domain)?;
        let store = Store::new(data_dir, &config.directory);
        let manager = Manager {
            host,
            config,
            store,
            challenges,
        };
        let stored = manager.stored().unwrap_or_else(|e| {
            tracing::warn!(error = %format!("{e:#}"), "stored ACME certificate unusable; ordering a new one");
            None
        });
        if let Some(cert) = stored {
            if cert.not_after > now() {
                manager.install(&cert)?;
                tracing::info!(
                    host = %manager.host,
                    serial = %cert.serial,
                    expires = %timestamp(cert.not_after),
                    renew_at = %timestamp(cert.renew_at()),
                    "using the stored ACME certificate"
                );
            }
        }
        Ok(manager)
    }

    fn stored(&self) -> anyhow::Result<Option<StoredCert>> {
        self.store.certificate(&self.host)
    }

    fn install(&self, cert: &StoredCert) -> anyhow::Result<()> {
        self.challenges
            .set_current(certified_key(cert.chain.clone(), cert.key.clone())?);
        Ok(())
    }

    /// Runs for ever: obtains and renews.
    pub async fn run(self) {
        let mut retry = FIRST_RETRY;
        loop {
            let due = match self.stored() {
                Ok(Some(cert)) if cert.not_after > now() => Some(cert.renew_at()),
                Ok(_) => None,
                Err(e) => {
                    tracing::warn!(error = %format!("{e:#}"), "stored ACME certificate unusable; ordering a new one");
                    None
                }
            };
            if let Some(due) = due {
                let wait = due - now();
                if wait > 0 {
                    let wait = Duration::from_secs(wait.unsigned_abs()).min(MAX_SLEEP);
                    tokio::time::sleep(wait).await;
                    continue;
                }
            }
            tracing::info!(host = %self.host, directory = %self.config.directory, renewal = due.is_some(), "requesting a certificate over ACME");
            match self.order().await {
                Ok(cert) => {
                    retry = FIRST_RETRY;
                    tracing::info!(
                        host = %self.host,
                        serial = %cert.serial,
                        expires = %timestamp(cert.not_after),
                        renew_at = %timestamp(cert.renew_at()),
                        "ACME certificate obtained"
                    );
                }
                Err(e) => {
                    tracing::error!(
                        host = %self.host,
                        error = %format!("{e:#}"),
                        retry_in_secs = retry.as_secs(),
                        "ACME certificate order failed"
                    );
                    tokio::time::sleep(retry).await;
                    retry = (retry * 2).min(MAX_RETRY);
                }
            }
        }
    }

    async fn order(&self) -> anyhow::Result<StoredCert> {
        let params = OrderParams {
            host: &self.host,
            email: &self.config.email,
            directory: &self.config.directory,
            ca_pem: self.config.ca_pem.as_deref(),
            http01: self.config.http_listen.is_some(),
        };
        let cert = obtain(&params, &self.store, &self.challenges).await?;
        self.install(&cert)?;
        Ok(cert)
    }
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

fn timestamp(unix: i64) -> String {
    chrono::DateTime::from_timestamp(unix, 0)
        .map(|t| t.to_rfc3339())
        .unwrap_or_else(|| unix.to_string())
}
