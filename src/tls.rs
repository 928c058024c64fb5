//! Serving HTTPS without a reverse proxy: a rustls server configuration from PEM files and
//! the handshake, done in each connection's own task (see `app::serve`) so a slow or
//! silent client does not hold up the others.
//!
//! rustls (with the *ring* provider, which reqwest already brings) was chosen over OpenSSL
//! for serving so the TLS stack is memory-safe and the same one the HTTP client uses.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use rustls::ServerConfig;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio::net::TcpStream;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;

/// How long a client may take to finish its handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// A server configuration from a certificate chain and a private key, both PEM files.
pub fn server_config(cert: &Path, key: &Path) -> anyhow::Result<Arc<ServerConfig>> {
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
        .map_err(|e| anyhow::anyhow!("cannot read --tls-cert {}: {e}", cert.display()))?
        .collect::<Result<_, _>>()
        .map_err(|e| anyhow::anyhow!("invalid --tls-cert {}: {e}", cert.display()))?;
    if chain.is_empty() {
        anyhow::bail!(
            "invalid --tls-cert {}: no certificate in it",
            cert.display()
        );
    }
    let key = PrivateKeyDer::from_pem_file(key)
        .map_err(|e| anyhow::anyhow!("cannot use --tls-key {}: {e}", key.display()))?;
    let mut config =
        ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .map_err(|e| anyhow::anyhow!("TLS setup: {e}"))?
            .with_no_client_auth()
            .with_single_cert(chain, key)
            .map_err(|e| anyhow::anyhow!("--tls-cert and --tls-key do not match: {e}"))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// A server configuration whose certificate comes from ACME (see `acme::Challenges`),
/// also answering the CA's TLS-ALPN-01 checks.
pub fn acme_server_config(
    challenges: Arc<crate::acme::Challenges>,
) -> anyhow::Result<Arc<ServerConfig>> {
    let mut config =
        ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .map_err(|e| anyhow::anyhow!("TLS setup: {e}"))?
            .with_no_client_auth()
            .with_cert_resolver(challenges);
    config.alpn_protocols = vec![b"http/1.1".to_vec(), crate::acme::ACME_TLS_ALPN.to_vec()];
    Ok(Arc::new(config))
}

/// Completes the TLS handshake of an accepted connection, within [`HANDSHAKE_TIMEOUT`];
/// `None` (logged) when it fails or takes too long, and after an ACME TLS-ALPN-01 check,
/// which ends with the handshake.
pub async fn handshake(
    acceptor: &TlsAcceptor,
    tcp: TcpStream,
    peer: SocketAddr,
) -> Option<TlsStream<TcpStream>> {
    match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
        // An ACME TLS-ALPN-01 check ends with the handshake (RFC 8737).
        Ok(Ok(tls)) if tls.get_ref().1.alpn_protocol() == Some(crate::acme::ACME_TLS_ALPN) => None,
        Ok(Ok(tls)) => Some(tls),
        Ok(Err(e)) => {
            tracing::debug!(%peer, error = %e, "TLS handshake failed");
            None
        }
        Err(_) => {
            tracing::debug!(%peer, "TLS handshake timed out");
            None
        }
    }
}
