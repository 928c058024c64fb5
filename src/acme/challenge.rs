//! Answers to the CA's checks, and the certificate every TLS handshake gets.
//!
//! TLS-ALPN-01 (RFC 8737): a handshake offering only the `acme-tls/1` protocol gets a
//! self-signed certificate for the name asked, carrying the digest of the key
//! authorization; the connection is then closed (see `tls::handshake`). HTTP-01: a
//! plain-HTTP `GET /.well-known/acme-challenge/TOKEN` gets the key authorization.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{StatusCode, Uri, header};
use axum::response::{IntoResponse, Redirect, Response};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;

/// The ALPN protocol of TLS-ALPN-01 checks.
pub const ACME_TLS_ALPN: &[u8] = b"acme-tls/1";

/// The served certificate and the answers to checks in progress; shared by the TLS
/// configuration, the HTTP-01 listener and the order in progress.
#[derive(Debug, Default)]
pub struct Challenges {
    /// The certificate of the domain, once there is one.
    current: RwLock<Option<Arc<CertifiedKey>>>,
    /// TLS-ALPN-01 certificates by host name.
    tls_alpn: RwLock<HashMap<String, Arc<CertifiedKey>>>,
    /// HTTP-01 key authorizations by token.
    http: RwLock<HashMap<String, String>>,
}

impl Challenges {
    /// Serves this certificate from the next handshake on (connections already open keep
    /// theirs).
    pub fn set_current(&self, key: Arc<CertifiedKey>) {
        *self.current.write().unwrap_or_else(|e| e.into_inner()) = Some(key);
    }

    pub fn has_current(&self) -> bool {
        self.current
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .is_some()
    }

    /// Answers TLS-ALPN-01 for `host` with a certificate carrying `digest` (SHA-256 of
    /// the key authorization).
    pub fn add_tls_alpn(&self, host: &str, digest: &[u8]) -> anyhow::Result<()> {
        let key = rcgen::KeyPair::generate()?;
        let mut params = rcgen::CertificateParams::new(vec![host.to_owned()])?;
        params
            .custom_extensions
            .push(rcgen::CustomExtension::new_acme_identifier(digest));
        let cert = params.self_signed(&key)?;
        let certified = certified_key(vec![cert.der().to_vec()], key.serialize_der())?;
        self.tls_alpn
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(host.to_ascii_lowercase(), certified);
        Ok(())
    }

    /// Answers HTTP-01 for `token`.
    pub fn add_http(&self, token: &str, key_authorization: &str) {
        self.http
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(token.to_owned(), key_authorization.to_owned());
    }

    /// Forgets every answer (the order is over, either way).
    pub fn clear(&self) {
        self.tls_alpn
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
        self.http.write().unwrap_or_else(|e| e.into_inner()).clear();
    }

    fn http_answer(&self, token: &str) -> Option<String> {
        self.http
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(token)
            .cloned()
    }
}

impl ResolvesServerCert for Challenges {
    fn resolve(&self, hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        let acme_check = hello
            .alpn()
            .is_some_and(|mut protocols| protocols.any(|p| p == ACME_TLS_ALPN));
        if acme_check {
            let name = hello.server_name()?.to_ascii_lowercase();
            let found = self
                .tls_alpn
                .read()
                .unwrap_or_else(|e| e.into_inner())
                .get(&name)
                .cloned();
            tracing::info!(%name, answered = found.is_some(), "ACME TLS-ALPN-01 check");
            return found;
        }
        self.current
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

/// A rustls certificate from DER certificates (leaf first) and a PKCS#8 key.
pub fn certified_key(chain: Vec<Vec<u8>>, pkcs8: Vec<u8>) -> anyhow::Result<Arc<CertifiedKey>> {
    use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(pkcs8));
    let signing = rustls::crypto::ring::sign::any_supported_type(&key)
        .map_err(|e| anyhow::anyhow!("unusable certificate key: {e}"))?;
    let chain = chain.into_iter().map(CertificateDer::from).collect();
    Ok(Arc::new(CertifiedKey::new(chain, signing)))
}

/// The plain-HTTP listener's routes (`--acme-http-listen`): HTTP-01 answers, and a
/// redirect to HTTPS for everything else.
pub fn http_router(challenges: Arc<Challenges>, base_url: String) -> Router {
    Router::new()
        .route(
            "/.well-known/acme-challenge/{token}",
            axum::routing::get(http_challenge),
        )
        .fallback(move |uri: Uri| {
            let base_url = base_url.clone();
            async move {
                let path = uri.path_and_query().map_or("/", |p| p.as_str());
                Redirect::permanent(&format!("{base_url}{path}"))
            }
        })
        .with_state(challenges)
}

async fn http_challenge(
    State(challenges): State<Arc<Challenges>>,
    Path(token): Path<String>,
) -> Response {
    let answer = challenges.http_answer(&token);
    tracing::info!(answered = answer.is_some(), "ACME HTTP-01 check");
    match answer {
        Some(key_authorization) => (
            [(header::CONTENT_TYPE, "application/octet-stream")],
            key_authorization,
        )
            .into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}
