//! One certificate order: the account (stored, or created once), a new order for the
//! host, the CA's checks answered, a CSR for a fresh key, the issued chain.

use std::time::Duration;

use instant_acme::{
    Account, AuthorizationStatus, ChallengeType, Identifier, NewAccount, NewOrder, OrderStatus,
    RetryPolicy,
};

use super::challenge::Challenges;
use super::client::ReqwestClient;
use super::store::{Store, StoredCert};

/// How long the CA may take to check and to issue.
const POLL: RetryPolicy = RetryPolicy::new()
    .initial_delay(Duration::from_millis(500))
    .backoff(1.5)
    .timeout(Duration::from_secs(120));

/// What an order needs.
pub struct OrderParams<'a> {
    pub host: &'a str,
    pub email: &'a str,
    pub directory: &'a str,
    pub ca_pem: Option<&'a [u8]>,
    /// Answer HTTP-01 (a port 80 listener is up) instead of TLS-ALPN-01.
    pub http01: bool,
}

/// Orders a certificate for `p.host` and stores it.
pub async fn obtain(
    p: &OrderParams<'_>,
    store: &Store,
    challenges: &Challenges,
) -> anyhow::Result<StoredCert> {
    let account = account(p, store).await?;
    let ids = [Identifier::Dns(p.host.to_owned())];
    let mut order = account.new_order(&NewOrder::new(&ids)).await?;
    tracing::info!(host = %p.host, order = %order.url(), "ACME order placed");
    // The answers are withdrawn however the order ends.
    let _clear = ClearOnDrop(challenges);
    let kind = if p.http01 {
        ChallengeType::Http01
    } else {
        ChallengeType::TlsAlpn01
    };
    let mut authorizations = order.authorizations();
    while let Some(authz) = authorizations.next().await {
        let mut authz = authz?;
        match authz.status {
            AuthorizationStatus::Pending => {}
            AuthorizationStatus::Valid => continue,
            other => anyhow::bail!("the CA's authorization is {other:?}"),
        }
        let mut challenge = authz
            .challenge(kind.clone())
            .ok_or_else(|| anyhow::anyhow!("the CA offers no {kind:?} challenge"))?;
        let name = challenge.identifier().to_string();
        let key_authorization = challenge.key_authorization();
        if p.http01 {
            challenges.add_http(&challenge.token, key_authorization.as_str());
        } else {
            challenges.add_tls_alpn(&name, key_authorization.digest().as_ref())?;
        }
        challenge.set_ready().await?;
        tracing::info!(%name, kind = ?kind, "ACME challenge ready");
    }
    let status = order.poll_ready(&POLL).await?;
    if status != OrderStatus::Ready {
        let cause = order
            .state()
            .error
            .as_ref()
            .map(|p| p.to_string())
            .unwrap_or_else(|| "the checks failed".to_owned());
        anyhow::bail!("ACME order is {status:?}: {cause}");
    }
    let key = rcgen::KeyPair::generate()?;
    let mut params = rcgen::CertificateParams::new(vec![p.host.to_owned()])?;
    params.distinguished_name = rcgen::DistinguishedName::new();
    let csr = params.serialize_request(&key)?;
    order.finalize_csr(csr.der()).await?;
    let chain = order.poll_certificate(&POLL).await?;
    store.save_certificate(p.host, &chain, &key.serialize_pem())
}

/// The stored account, or a new one (stored before use).
async fn account(p: &OrderParams<'_>, store: &Store) -> anyhow::Result<Account> {
    let http =
        || -> anyhow::Result<Box<ReqwestClient>> { Ok(Box::new(ReqwestClient::new(p.ca_pem)?)) };
    if let Some(credentials) = store.account()? {
        return Ok(Account::builder_with_http(http()?)
            .from_credentials(credentials)
            .await?);
    }
    let contact = format!("mailto:{}", p.email);
    let (account, credentials) = Account::builder_with_http(http()?)
        .create(
            &NewAccount {
                contact: &[&contact],
                terms_of_service_agreed: true,
                only_return_existing: false,
            },
            p.directory.to_owned(),
            None,
        )
        .await?;
    store.save_account(&credentials)?;
    tracing::info!(account = %account.id(), directory = %p.directory, "ACME account created");
    Ok(account)
}

struct ClearOnDrop<'a>(&'a Challenges);

impl Drop for ClearOnDrop<'_> {
    fn drop(&mut self) {
        self.0.clear();
    }
}
