//! Automatic HTTPS (`--acme-email`) against Pebble, Let's Encrypt's test ACME server, run
//! as real processes on loopback: `pebble-challtestsrv` answers Pebble's DNS queries for
//! `tidings.test` with 127.0.0.1, Pebble checks the real `tidings serve` process on its
//! TLS port (TLS-ALPN-01) or its `--acme-http-listen` port (HTTP-01), and the test then
//! talks HTTPS to it trusting only Pebble's root.
//!
//! Pebble comes from the Debian package `pebble` (installed by `.ci/run`); without it the
//! test tries `apt-get install pebble`, and only if that fails skips with a message.

use std::net::{SocketAddr, TcpListener};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::TestDb;
use crate::common::certs::TestCa;

/// How long getting a certificate may take, at most.
const DEADLINE: Duration = Duration::from_secs(120);
const HOST: &str = "tidings.test";

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A child process killed when dropped.
struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Pebble installed, or installable; `false` (with a message) if neither.
fn pebble_available() -> bool {
    let present = || {
        ["pebble", "pebble-challtestsrv"].iter().all(|b| {
            Command::new("sh")
                .args(["-c", &format!("command -v {b}")])
                .stdout(Stdio::null())
                .status()
                .is_ok_and(|s| s.success())
        })
    };
    if present() {
        return true;
    }
    let installed = Command::new("apt-get")
        .args(["install", "-y", "-q", "pebble"])
        .env("DEBIAN_FRONTEND", "noninteractive")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if installed && present() {
        return true;
    }
    eprintln!(
        "SKIPPED: the ACME test needs Pebble (`apt-get install pebble`, Debian), which is \
         not installed and could not be installed here"
    );
    false
}

/// Pebble and its DNS server, on free loopback ports, checking our server on `tls_port`
/// (and `http_port`).
struct Pebble {
    dir: PathBuf,
    api_port: u16,
    management_port: u16,
    ca_file: PathBuf,
    log: PathBuf,
    _dns: Proc,
    _pebble: Proc,
}

impl Pebble {
    fn start(dir: &Path, tls_port: u16, http_port: u16) -> Pebble {
        let ca = TestCa::new();
        let api_cert = ca.server_cert(dir, "pebble-api", &["localhost"]);
        let ca_file = ca.write_pem(dir);
        let (api_port, management_port, dns_port, dns_management_port) =
            (free_port(), free_port(), free_port(), free_port());
        let config = serde_json::json!({
            "pebble": {
                "listenAddress": format!("127.0.0.1:{api_port}"),
                "managementListenAddress": format!("127.0.0.1:{management_port}"),
                "certificate": api_cert.cert,
                "privateKey": api_cert.key,
                "httpPort": http_port,
                "tlsPort": tls_port,
                "ocspResponderURL": "",
                "externalAccountBindingRequired": false
            }
        });
        let config_path = dir.join("pebble-config.json");
        std::fs::write(&config_path, config.to_string()).unwrap();
        let dns = Proc(
            Command::new("pebble-challtestsrv")
                .args([
                    "-defaultIPv4",
                    "127.0.0.1",
                    "-defaultIPv6",
                    "",
                    "-dns01",
                    &format!("127.0.0.1:{dns_port}"),
                    "-management",
                    &format!("127.0.0.1:{dns_management_port}"),
                    "-http01",
                    "",
                    "-https01",
                    "",
                    "-tlsalpn01",
                    "",
                ])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("start pebble-challtestsrv"),
        );
        let log = dir.join("pebble.log");
        let out = std::fs::File::create(&log).unwrap();
        let pebble = Proc(
            Command::new("pebble")
                .arg("-config")
                .arg(&config_path)
                .args(["-dnsserver", &format!("127.0.0.1:{dns_port}")])
                // No random pauses before checks; no deliberately refused nonces.
                .env("PEBBLE_VA_NOSLEEP", "1")
                .env("PEBBLE_WFE_NONCEREJECT", "0")
                .stdout(out.try_clone().unwrap())
                .stderr(out)
                .spawn()
                .expect("start pebble"),
        );
        let pebble = Pebble {
            dir: dir.to_owned(),
            api_port,
            management_port,
            ca_file,
            log,
            _dns: dns,
            _pebble: pebble,
        };
        wait_for_port(api_port, &pebble.log);
        wait_for_port(management_port, &pebble.log);
        wait_for_port(dns_port, &pebble.log);
        pebble
    }

    fn directory(&self) -> String {
        format!("https://localhost:{}/dir", self.api_port)
    }

    /// Pebble's root, made at its start: what the issued chain leads to.
    async fn root(&self) -> reqwest::Certificate {
        let pem = reqwest::Client::builder()
            .add_root_certificate(
                reqwest::Certificate::from_pem(&std::fs::read(&self.ca_file).unwrap()).unwrap(),
            )
            .build()
            .unwrap()
            .get(format!(
                "https://localhost:{}/roots/0",
                self.management_port
            ))
            .send()
            .await
            .unwrap()
            .error_for_status()
            .unwrap()
            .bytes()
            .await
            .unwrap();
        reqwest::Certificate::from_pem(&pem).unwrap()
    }

    /// How many certificates Pebble has issued.
    fn issued(&self) -> usize {
        std::fs::read_to_string(&self.log)
            .unwrap()
            .matches("Issued certificate serial")
            .count()
    }
}

fn wait_for_port(port: u16, log: &Path) {
    let start = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "port {port} not open; pebble log:\n{}",
            std::fs::read_to_string(log).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// One `tidings serve` process asking Pebble for its certificate.
fn tidings_serve(
    db: &TestDb,
    data_dir: &Path,
    pebble: &Pebble,
    port: u16,
    extra: &[&str],
    log: &Path,
) -> Proc {
    let out = std::fs::File::create(log).unwrap();
    Proc(
        Command::new(env!("CARGO_BIN_EXE_tidings"))
            .args(["--database-url", db.url(), "--domain", HOST])
            .arg("--data-dir")
            .arg(data_dir)
            .args(["--listen", &format!("127.0.0.1:{port}")])
            .args(["--acme-email", "admin@tidings.test"])
            .args(["--acme-directory", &pebble.directory()])
            .arg("--acme-ca-file")
            .arg(&pebble.ca_file)
            .args(extra)
            .arg("serve")
            .env("TIDINGS_LOG", "info")
            .env("NO_COLOR", "1")
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .spawn()
            .unwrap(),
    )
}

/// Waits until `https://tidings.test:PORT/health` answers over a certificate chain that
/// leads to Pebble's root; the leaf certificate's DER.
async fn served_certificate(pebble: &Pebble, port: u16, server: &mut Proc, log: &Path) -> Vec<u8> {
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let client = reqwest::Client::builder()
        .tls_built_in_root_certs(false)
        .add_root_certificate(pebble.root().await)
        .resolve(HOST, addr)
        .tls_info(true)
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    let start = Instant::now();
    loop {
        if let Some(status) = server.0.try_wait().unwrap() {
            panic!(
                "tidings exited ({status}):\n{}",
                std::fs::read_to_string(log).unwrap_or_default()
            );
        }
        if let Ok(res) = client
            .get(format!("https://{HOST}:{port}/health"))
            .send()
            .await
        {
            assert_eq!(res.status(), 200);
            let info = res.extensions().get::<reqwest::tls::TlsInfo>().unwrap();
            return info.peer_certificate().unwrap().to_vec();
        }
        assert!(
            start.elapsed() < DEADLINE,
            "no certificate within {DEADLINE:?}; tidings log:\n{}\npebble log:\n{}",
            std::fs::read_to_string(log).unwrap_or_default(),
            std::fs::read_to_string(&pebble.log).unwrap_or_default()
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

fn dns_names(der: &[u8]) -> Vec<String> {
    let cert = openssl::x509::X509::from_der(der).unwrap();
    cert.subject_alt_names()
        .into_iter()
        .flatten()
        .filter_map(|n| n.dnsname().map(str::to_owned))
        .collect()
}

fn serial(der: &[u8]) -> String {
    let cert = openssl::x509::X509::from_der(der).unwrap();
    cert.serial_number()
        .to_bn()
        .unwrap()
        .to_hex_str()
        .unwrap()
        .to_string()
}

struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> TempDir {
        let mut b = [0u8; 6];
        openssl::rand::rand_bytes(&mut b).unwrap();
        let dir = std::env::temp_dir().join(format!("tidings-{name}-{}", hex::encode(b)));
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[tokio::test]
async fn tidings_gets_its_certificate_over_tls_alpn_and_reuses_it_after_a_restart() {
    if !pebble_available() {
        return;
    }
    let tmp = TempDir::new("acme");
    let port = free_port();
    let pebble = Pebble::start(&tmp.0, port, free_port());
    let db = TestDb::new();
    let data = tmp.0.join("data");
    let log = tmp.0.join("tidings-1.log");

    let mut server = tidings_serve(&db, &data, &pebble, port, &[], &log);
    let first = served_certificate(&pebble, port, &mut server, &log).await;
    assert_eq!(dns_names(&first), [HOST]);
    assert_eq!(pebble.issued(), 1);
    let logged = std::fs::read_to_string(&log).unwrap();
    assert!(logged.contains("ACME certificate obtained"), "{logged}");

    // The account key and the certificate's key are kept in the data folder, owner-only.
    let stored = data
        .join("acme")
        .join(format!("localhost_{}", pebble.api_port));
    for file in ["account.json", "tidings.test.key.pem"] {
        let mode = std::fs::metadata(stored.join(file))
            .unwrap_or_else(|e| panic!("{file}: {e}"))
            .permissions()
            .mode();
        assert_eq!(mode & 0o077, 0, "{file} is readable by others: {mode:o}");
    }
    assert!(stored.join("tidings.test.crt.pem").exists());

    // Restarted, the server serves the stored certificate: no new order at the CA.
    drop(server);
    let log = tmp.0.join("tidings-2.log");
    let mut server = tidings_serve(&db, &data, &pebble, port, &[], &log);
    let again = served_certificate(&pebble, port, &mut server, &log).await;
    assert_eq!(serial(&again), serial(&first));
    assert_eq!(pebble.issued(), 1, "a new certificate was ordered");
    let logged = std::fs::read_to_string(&log).unwrap();
    assert!(
        logged.contains("using the stored ACME certificate"),
        "{logged}"
    );
    assert!(!logged.contains("ACME order placed"), "{logged}");
    drop(server);
    let _ = &pebble.dir;
}

#[tokio::test]
async fn with_a_port_80_listener_tidings_answers_http_01_and_redirects_to_https() {
    if !pebble_available() {
        return;
    }
    let tmp = TempDir::new("acme-http");
    let (port, http_port) = (free_port(), free_port());
    let pebble = Pebble::start(&tmp.0, port, http_port);
    let db = TestDb::new();
    let log = tmp.0.join("tidings.log");
    let http_listen = format!("127.0.0.1:{http_port}");
    let mut server = tidings_serve(
        &db,
        &tmp.0.join("data"),
        &pebble,
        port,
        &["--acme-http-listen", &http_listen],
        &log,
    );
    let cert = served_certificate(&pebble, port, &mut server, &log).await;
    assert_eq!(dns_names(&cert), [HOST]);
    let logged = std::fs::read_to_string(&log).unwrap();
    assert!(logged.contains("ACME HTTP-01 check"), "{logged}");

    // Everything else on the plain-HTTP port is sent to HTTPS.
    let res = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .get(format!("http://{http_listen}/users/alice?x=1"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 308);
    assert_eq!(
        res.headers()["location"],
        "https://tidings.test/users/alice?x=1"
    );
}

#[test]
fn acme_flags_are_checked_before_anything_starts() {
    let run = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_tidings"))
            .args(args)
            .arg("serve")
            .env("TIDINGS_LOG", "warn")
            .output()
            .unwrap();
        assert!(!out.status.success());
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    let tmp = TempDir::new("acme-flags");
    let data = tmp.0.to_str().unwrap();
    let err = run(&["--data-dir", data, "--acme-email", "admin"]);
    assert!(err.contains("invalid --acme-email"), "{err}");
    let err = run(&[
        "--data-dir",
        data,
        "--acme-directory",
        "https://ca.example/dir",
    ]);
    assert!(err.contains("--acme-directory needs --acme-email"), "{err}");
    // Without a public --domain there is no name a CA could check.
    let err = run(&["--data-dir", data, "--acme-email", "admin@example.org"]);
    assert!(err.contains("public host name"), "{err}");
    assert!(!tmp.0.join("acme").exists());
}
