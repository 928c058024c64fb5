//! HTTPS without a reverse proxy (`--tls-cert`, `--tls-key`) and an extra trusted CA for
//! outgoing federation requests (`--extra-ca-file`), with a CA made for the run.

use crate::common::TestApp;
use crate::common::certs::TestCa;
use tidings::federation::fetch::{FetchError, fetch_json};
use url::Url;

struct Tls {
    dir: std::path::PathBuf,
    ca: TestCa,
}

impl Tls {
    fn new() -> Tls {
        let dir = std::env::temp_dir().join(format!(
            "tidings-tls-{}-{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        Tls {
            dir,
            ca: TestCa::new(),
        }
    }

    /// An instance serving HTTPS as `tidings.test`.
    async fn https_instance(&self) -> TestApp {
        let cert = self.ca.server_cert(&self.dir, "tidings", &["tidings.test"]);
        TestApp::spawn_with(|s| {
            s.scheme = None;
            s.tls_cert = Some(cert.cert.clone());
            s.tls_key = Some(cert.key.clone());
        })
        .await
    }
}

impl Drop for Tls {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn port(app: &TestApp) -> u16 {
    app.base.rsplit(':').next().unwrap().parse().unwrap()
}

#[tokio::test]
async fn an_instance_serves_https_with_its_own_certificate() {
    let tls = Tls::new();
    let app = tls.https_instance().await;
    assert!(app.base.starts_with("https://"), "{}", app.base);
    let addr = format!("127.0.0.1:{}", port(&app)).parse().unwrap();
    let trusting = reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(&tls.ca.pem()).unwrap())
        .resolve("tidings.test", addr)
        .build()
        .unwrap();
    let url = format!("https://tidings.test:{}/actor", port(&app));
    let res = trusting
        .get(&url)
        .header("accept", "application/activity+json")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let actor: serde_json::Value = res.json().await.unwrap();
    // With a certificate and no --scheme, the public URLs are https.
    assert_eq!(actor["id"], "https://tidings.test/actor");

    // A client that does not trust the test CA refuses the certificate.
    let stranger = reqwest::Client::builder()
        .resolve("tidings.test", addr)
        .build()
        .unwrap();
    let err = stranger.get(&url).send().await.unwrap_err();
    assert!(err.is_connect(), "{err:?}");

    // Plain HTTP on the TLS port gets no HTTP answer.
    let plain = reqwest::Client::new()
        .get(format!("http://127.0.0.1:{}/actor", port(&app)))
        .timeout(std::time::Duration::from_secs(5))
        .send()
        .await;
    assert!(plain.is_err(), "{plain:?}");
}

#[tokio::test]
async fn federation_requests_trust_the_extra_ca_only_when_told() {
    let tls = Tls::new();
    let server = tls.https_instance().await;
    let ca_file = tls.ca.write_pem(&tls.dir);
    let url = Url::parse(&format!("https://tidings.test:{}/actor", port(&server))).unwrap();
    let peer = |domain: &str, ca: Option<std::path::PathBuf>| {
        let domain = domain.to_owned();
        TestApp::spawn_with(move |s| {
            s.domain = Some(domain);
            s.allow_private_addresses = true;
            s.resolve = vec!["tidings.test=127.0.0.1".into()];
            s.extra_ca_file = ca;
        })
    };

    // The federation client: the document is had over TLS. (`fetch_json` would then refuse
    // it: its id names `tidings.test` without the test's port, another server.)
    let trusting = peer("peer.test", Some(ca_file)).await;
    let res = trusting.svc.http.get(url.clone()).send().await.unwrap();
    assert!(res.status().is_success(), "{}", res.status());
    let doc: serde_json::Value = res.json().await.unwrap();
    assert_eq!(doc["id"], "https://tidings.test/actor");

    let untrusting = peer("other.test", None).await;
    let err = fetch_json(&untrusting.svc, &url).await.unwrap_err();
    assert!(matches!(err, FetchError::Http(_)), "{err}");
}

#[test]
fn a_missing_ca_file_stops_the_start_with_its_name() {
    let mut s = tidings::config::Settings {
        domain: None,
        scheme: None,
        listen: "127.0.0.1:0".into(),
        data_dir: std::env::temp_dir(),
        database_url: None,
        db_pool_size: None,
        allow_private_addresses: false,
        resolve: Vec::new(),
        tls_cert: None,
        tls_key: None,
        extra_ca_file: Some("/nonexistent/ca.pem".into()),
        header_read_timeout: 10,
        max_connections: 512,
        trusted_proxies: Vec::new(),
        inbox_retention_days: 14,
        metrics_listen: None,
        media_dir: None,
        media_size_limit_mb: 16,
        acme: Default::default(),
    };
    let err = tidings::config::Config::from_settings(&s)
        .unwrap_err()
        .to_string();
    assert!(err.contains("--extra-ca-file /nonexistent/ca.pem"), "{err}");
    s.extra_ca_file = None;
    s.tls_cert = Some("/nonexistent/cert.pem".into());
    let err = tidings::config::Config::from_settings(&s)
        .unwrap_err()
        .to_string();
    assert!(err.contains("--tls-key"), "{err}");
}

/// The header-read timeout holds over TLS too: a client that completes the handshake and
/// then never finishes its headers is disconnected (issue #12, slow headers).
#[tokio::test]
async fn a_tls_client_that_never_finishes_its_headers_is_disconnected() {
    use rustls::pki_types::pem::PemObject;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let tls = Tls::new();
    let cert = tls.ca.server_cert(&tls.dir, "tidings", &["tidings.test"]);
    let app = TestApp::spawn_with(|s| {
        s.scheme = None;
        s.tls_cert = Some(cert.cert.clone());
        s.tls_key = Some(cert.key.clone());
        s.header_read_timeout = 1;
    })
    .await;
    let mut roots = rustls::RootCertStore::empty();
    for c in rustls::pki_types::CertificateDer::pem_slice_iter(&tls.ca.pem()) {
        roots.add(c.unwrap()).unwrap();
    }
    let config = rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(std::sync::Arc::new(config));
    let tcp = tokio::net::TcpStream::connect(("127.0.0.1", port(&app)))
        .await
        .unwrap();
    let name = rustls::pki_types::ServerName::try_from("tidings.test").unwrap();
    let mut stream = connector.connect(name, tcp).await.expect("handshake");
    stream
        .write_all(b"GET / HTTP/1.1\r\nHost: tidings.test\r\nX-Slow: ")
        .await
        .unwrap();
    // One second of timeout; a generous bound for a busy machine.
    let closed = tokio::time::timeout(std::time::Duration::from_secs(30), async {
        let mut buf = [0u8; 1024];
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => continue,
            }
        }
    })
    .await;
    assert!(closed.is_ok(), "the server kept the TLS connection open");
}
