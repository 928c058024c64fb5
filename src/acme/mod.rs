//! Automatic HTTPS over ACME (RFC 8555): with `--acme-email`, Tidings obtains the
//! certificate of its domain from Let's Encrypt (or the CA of `--acme-directory`), keeps
//! it and the account key under `DATA_DIR/acme/`, serves it, and renews it in the
//! background at two thirds of its lifetime. The CA's checks are answered on the TLS port
//! (TLS-ALPN-01, RFC 8737), or on a plain-HTTP port 80 listener (HTTP-01) when
//! `--acme-http-listen` is given.
//!
//! - [`client`]: the ACME client's HTTP requests, over reqwest (and `--acme-ca-file`);
//! - [`challenge`]: the answers to the CA's checks and the certificate resolver;
//! - [`store`]: account and certificate files;
//! - [`order`]: one certificate order, from new order to the issued chain;
//! - [`manager`]: the background task that reuses, obtains and renews.

pub mod challenge;
pub mod client;
pub mod manager;
pub mod order;
pub mod store;

use std::net::SocketAddr;

pub use challenge::{ACME_TLS_ALPN, Challenges};
pub use manager::Manager;

use crate::config::AcmeSettings;

/// Validated ACME settings.
#[derive(Debug, Clone)]
pub struct AcmeConfig {
    /// Contact address given to the CA (`mailto:`).
    pub email: String,
    /// The CA's ACME directory URL.
    pub directory: String,
    /// Extra CA certificates (PEM) trusted for the ACME server's HTTPS.
    pub ca_pem: Option<Vec<u8>>,
    /// The plain-HTTP listener answering HTTP-01, if any.
    pub http_listen: Option<SocketAddr>,
}

impl AcmeConfig {
    /// `None` without `--acme-email`; the other ACME flags need it.
    pub fn from_settings(s: &AcmeSettings) -> anyhow::Result<Option<AcmeConfig>> {
        let Some(email) = &s.acme_email else {
            for (given, flag) in [
                (s.acme_directory.is_some(), "--acme-directory"),
                (s.acme_ca_file.is_some(), "--acme-ca-file"),
                (s.acme_http_listen.is_some(), "--acme-http-listen"),
            ] {
                if given {
                    anyhow::bail!("{flag} needs --acme-email");
                }
            }
            return Ok(None);
        };
        let email = email.trim().to_owned();
        let valid_email = email
            .split_once('@')
            .is_some_and(|(user, host)| !user.is_empty() && host.contains('.'))
            && !email.contains(|c: char| c.is_whitespace() || c == ',' || c == ':');
        if !valid_email {
            anyhow::bail!(
                "invalid --acme-email {email:?}: give an address such as admin@example.org"
            );
        }
        let directory = match &s.acme_directory {
            Some(d) => {
                let url = url::Url::parse(d.trim())
                    .map_err(|e| anyhow::anyhow!("invalid --acme-directory {d:?}: {e}"))?;
                if url.scheme() != "https" {
                    anyhow::bail!("invalid --acme-directory {d:?}: ACME needs an https URL");
                }
                url.to_string()
            }
            None => instant_acme::LetsEncrypt::Production.url().to_owned(),
        };
        let ca_pem = match &s.acme_ca_file {
            Some(path) => {
                let pem = std::fs::read(path).map_err(|e| {
                    anyhow::anyhow!("cannot read --acme-ca-file {}: {e}", path.display())
                })?;
                let certs = reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| {
                    anyhow::anyhow!("invalid --acme-ca-file {}: {e}", path.display())
                })?;
                if certs.is_empty() {
                    anyhow::bail!(
                        "invalid --acme-ca-file {}: no certificate in it",
                        path.display()
                    );
                }
                Some(pem)
            }
            None => None,
        };
        let http_listen =
            match &s.acme_http_listen {
                Some(a) => Some(a.parse().map_err(|e| {
                    anyhow::anyhow!("invalid --acme-http-listen address {a:?}: {e}")
                })?),
                None => None,
            };
        Ok(Some(AcmeConfig {
            email,
            directory,
            ca_pem,
            http_listen,
        }))
    }
}

/// The host name a certificate is ordered for: the domain without its port. Refuses
/// names no public CA can check (localhost, bare addresses, no dot).
pub fn certificate_host(domain: &str) -> anyhow::Result<String> {
    let host = match domain.rsplit_once(':') {
        Some((host, port)) if port.chars().all(|c| c.is_ascii_digit()) => host,
        _ => domain,
    };
    let is_address = host.parse::<std::net::IpAddr>().is_ok() || host.starts_with('[');
    if is_address || !host.contains('.') || host.ends_with(".localhost") {
        anyhow::bail!(
            "--acme-email needs --domain to be a public host name (not {host:?}): the CA \
             checks that name"
        );
    }
    Ok(host.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(email: &str) -> AcmeSettings {
        AcmeSettings {
            acme_email: Some(email.into()),
            ..Default::default()
        }
    }

    #[test]
    fn defaults_to_lets_encrypt() {
        let c = AcmeConfig::from_settings(&settings("admin@example.org"))
            .unwrap()
            .unwrap();
        assert_eq!(
            c.directory,
            "https://acme-v02.api.letsencrypt.org/directory"
        );
        assert!(c.http_listen.is_none() && c.ca_pem.is_none());
        assert!(
            AcmeConfig::from_settings(&AcmeSettings::default())
                .unwrap()
                .is_none()
        );
    }

    #[test]
    fn bad_values_are_named() {
        let err = |s: &AcmeSettings| AcmeConfig::from_settings(s).unwrap_err().to_string();
        assert!(err(&settings("admin")).contains("--acme-email"));
        let mut s = settings("admin@example.org");
        s.acme_directory = Some("http://ca.example/dir".into());
        assert!(err(&s).contains("https"), "{}", err(&s));
        let mut s = settings("admin@example.org");
        s.acme_http_listen = Some("port80".into());
        assert!(err(&s).contains("--acme-http-listen"));
        let s = AcmeSettings {
            acme_directory: Some("https://ca.example/dir".into()),
            ..Default::default()
        };
        assert_eq!(err(&s), "--acme-directory needs --acme-email");
    }

    #[test]
    fn the_certificate_names_the_host_without_port() {
        assert_eq!(
            certificate_host("news.example.org:8443").unwrap(),
            "news.example.org"
        );
        assert_eq!(
            certificate_host("news.example.org").unwrap(),
            "news.example.org"
        );
        for bad in ["localhost:8080", "127.0.0.1", "a.localhost", "intranet"] {
            assert!(certificate_host(bad).is_err(), "{bad}");
        }
    }
}
