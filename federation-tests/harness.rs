//! Several real `tidings` processes on loopback, each with its own database, address and
//! host name, driven through the client API the way apps drive them.
//!
//! Instance `alpha` listens on 127.0.0.11, `beta` on 127.0.0.12, `gamma` on 127.0.0.13
//! (Linux routes all of 127/8 to loopback), each on a free port, under the public domain
//! `NAME.test:PORT`. The names are not in DNS: every process gets
//! `--resolve alpha.test=127.0.0.11,…` (fixed addresses for its federation requests, like
//! curl's option) and `--allow-private-addresses` (off by default; the SSRF guard refuses
//! loopback otherwise). The test's own HTTP client pins the same names. Processes run the
//! debug binary cargo built for this test (`CARGO_BIN_EXE_tidings`); their logs go to a file
//! that is printed when a test fails.
//!
//! [`Network::start_https`] starts instances that serve HTTPS themselves (`--tls-cert`,
//! `--tls-key`) with certificates from a CA made for the run ([`TestTls`]), which every
//! process trusts (`--extra-ca-file`), as real servers on the internet would talk; extra
//! host names (independent peers) can be added to everyone's `--resolve`.

use std::future::Future;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::common::certs::{ServerCert, TestCa};
use crate::common::{Browser, TestDb};

/// How long a change may take to reach another instance in the scenarios.
pub const SETTLE: Duration = Duration::from_secs(30);

pub const PASSWORD: &str = "a long federation test password";

const NAMES: [(&str, u8); 3] = [("alpha", 11), ("beta", 12), ("gamma", 13)];

pub struct Instance {
    pub name: &'static str,
    pub addr: SocketAddr,
    /// Public host (`alpha.test:PORT`), as in handles and ids.
    pub domain: String,
    db: TestDb,
    dir: PathBuf,
    child: Option<Child>,
    resolve: String,
    /// Serve HTTPS with this certificate, trusting `ca_file` for outgoing requests.
    tls: Option<(ServerCert, PathBuf)>,
    /// The test CA, for the clients that talk to an HTTPS instance.
    ca_pem: Option<Vec<u8>>,
}

/// A certificate authority made for one run, and a folder for its files.
pub struct TestTls {
    pub dir: PathBuf,
    pub ca: TestCa,
    /// The CA certificate (PEM), for `--extra-ca-file` and `NODE_EXTRA_CA_CERTS`.
    pub ca_file: PathBuf,
}

impl TestTls {
    pub fn new() -> TestTls {
        let dir = std::env::temp_dir().join(format!(
            "tidings-fed-tls-{}-{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let ca = TestCa::new();
        let ca_file = ca.write_pem(&dir);
        TestTls { dir, ca, ca_file }
    }

    /// A server certificate for `host` (files `host.pem`, `host.key` in the folder).
    pub fn cert(&self, host: &str) -> ServerCert {
        self.ca.server_cert(&self.dir, host, &[host])
    }
}

impl Drop for TestTls {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A port free on `ip` right now.
pub fn free_port(ip: IpAddr) -> u16 {
    TcpListener::bind((ip, 0))
        .unwrap_or_else(|e| panic!("cannot bind {ip}: {e}"))
        .local_addr()
        .unwrap()
        .port()
}

impl Instance {
    fn new(name: &'static str, last_octet: u8, resolve: String, tls: Option<&TestTls>) -> Instance {
        let ip = IpAddr::V4(Ipv4Addr::new(127, 0, 0, last_octet));
        let addr = SocketAddr::new(ip, free_port(ip));
        let db = TestDb::new();
        let dir = std::env::temp_dir().join(format!(
            "tidings-fed-{name}-{}-{}",
            std::process::id(),
            addr.port()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        Instance {
            name,
            domain: format!("{name}.test:{}", addr.port()),
            addr,
            db,
            dir,
            child: None,
            resolve,
            tls: tls.map(|t| (t.cert(&format!("{name}.test")), t.ca_file.clone())),
            ca_pem: tls.map(|t| t.ca.pem()),
        }
    }

    pub fn scheme(&self) -> &'static str {
        if self.tls.is_some() { "https" } else { "http" }
    }

    pub fn base(&self) -> String {
        format!("{}://{}", self.scheme(), self.domain)
    }

    /// The id of a local account's actor.
    pub fn actor_id(&self, name: &str) -> String {
        format!("{}/users/{name}", self.base())
    }

    fn log_path(&self) -> PathBuf {
        self.dir.join("server.log")
    }

    fn command(&self) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_tidings"));
        match &self.tls {
            Some((cert, ca_file)) => {
                cmd.arg("--tls-cert")
                    .arg(&cert.cert)
                    .arg("--tls-key")
                    .arg(&cert.key)
                    .arg("--extra-ca-file")
                    .arg(ca_file);
            }
            None => {
                cmd.args(["--scheme", "http"]);
            }
        }
        cmd.args([
            "--domain",
            &self.domain,
            "--listen",
            &self.addr.to_string(),
            "--data-dir",
            self.dir.to_str().unwrap(),
            "--database-url",
            self.db.url(),
            "--db-pool-size",
            "4",
            "--allow-private-addresses",
        ])
        .env("TIDINGS_RESOLVE", &self.resolve)
        .env("TIDINGS_LOG", "info,tidings=debug");
        cmd
    }

    /// Starts the server and waits until it answers.
    pub async fn start(&mut self) {
        assert!(self.child.is_none(), "{} already runs", self.name);
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log_path())
            .unwrap();
        let child = self
            .command()
            .arg("serve")
            .stdout(Stdio::from(log.try_clone().unwrap()))
            .stderr(Stdio::from(log))
            .spawn()
            .expect("start tidings");
        self.child = Some(child);
        let mut client =
            reqwest::Client::builder().resolve(&format!("{}.test", self.name), self.addr);
        if let Some(pem) = &self.ca_pem {
            client = client.add_root_certificate(reqwest::Certificate::from_pem(pem).unwrap());
        }
        let client = client.build().unwrap();
        let url = format!("{}/api/v1/instance", self.base());
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(res) = client.get(&url).send().await {
                if res.status().is_success() {
                    return;
                }
            }
            if let Some(status) = self.child.as_mut().unwrap().try_wait().unwrap() {
                panic!("{} exited with {status}:\n{}", self.name, self.log());
            }
            assert!(
                Instant::now() < deadline,
                "{} did not answer within 60 s:\n{}",
                self.name,
                self.log()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Stops the server (SIGKILL: nothing is flushed that a crash would not lose).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.log_path()).unwrap_or_default()
    }

    /// Creates an account with the command line (`tidings user create`).
    pub fn create_user(&self, name: &str, admin: bool) {
        let mut cmd = self.command();
        cmd.args(["user", "create", name]);
        if admin {
            cmd.arg("--admin");
        }
        let mut child = cmd
            .env("TIDINGS_LOG", "warn")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        use std::io::Write;
        child
            .stdin
            .take()
            .unwrap()
            .write_all(PASSWORD.as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "user create {name} on {}: {}",
            self.name,
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// An HTTP client that reaches every instance by its host name.
    pub fn client(net: &Network) -> reqwest::ClientBuilder {
        let mut b = reqwest::Client::builder().timeout(Duration::from_secs(20));
        for i in &net.instances {
            b = b.resolve(&format!("{}.test", i.name), i.addr);
        }
        if let Some(pem) = &net.ca_pem {
            b = b.add_root_certificate(reqwest::Certificate::from_pem(pem).unwrap());
        }
        b
    }

    /// Creates `name` and signs in through OAuth (app registration, password grant).
    pub async fn user(&self, net: &Network, name: &str, admin: bool) -> User {
        self.create_user(name, admin);
        let client = Self::client(net).build().unwrap();
        let base = self.base();
        let app: Value = client
            .post(format!("{base}/api/v1/apps"))
            .json(&json!({
                "client_name": "federation-tests",
                "redirect_uris": "urn:ietf:wg:oauth:2.0:oob",
                "scopes": "read write follow",
            }))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let token: Value = client
            .post(format!("{base}/oauth/token"))
            .form(&[
                ("grant_type", "password"),
                ("client_id", app["client_id"].as_str().unwrap()),
                ("client_secret", app["client_secret"].as_str().unwrap()),
                ("username", name),
                ("password", PASSWORD),
                ("scope", "read write follow"),
            ])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let token = token["access_token"]
            .as_str()
            .unwrap_or_else(|| panic!("no token for {name}: {token}"))
            .to_owned();
        User {
            handle: format!("{name}@{}", self.domain),
            base,
            token,
            client,
        }
    }

    /// A logged-in web session (for pages only the web has, such as /moderation).
    pub async fn browser(&self, net: &Network, name: &str) -> Browser {
        let client = Self::client(net)
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let mut b = Browser::new(&self.base(), client);
        let res = b
            .post_form("/login", &[("username", name), ("password", PASSWORD)])
            .await;
        assert_eq!(res.status(), StatusCode::SEE_OTHER, "login {name}");
        b
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        self.stop();
        if std::thread::panicking() {
            eprintln!(
                "----- log of {} ({}) -----\n{}",
                self.name,
                self.domain,
                self.log()
            );
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// alpha, beta and gamma, started (or the instances given to [`Network::start_https`]).
pub struct Network {
    pub instances: Vec<Instance>,
    ca_pem: Option<Vec<u8>>,
}

impl Network {
    pub async fn start() -> Network {
        Self::start_with(&NAMES, None, &[]).await
    }

    /// Instances `NAME.test` on `127.0.0.OCTET` serving HTTPS with certificates of `tls`'s
    /// CA, which they trust for their federation requests; `also_resolve` adds host names
    /// (`peer.test=127.0.0.22`) to their `--resolve`.
    pub async fn start_https(
        names: &[(&'static str, u8)],
        tls: &TestTls,
        also_resolve: &[String],
    ) -> Network {
        Self::start_with(names, Some(tls), also_resolve).await
    }

    async fn start_with(
        names: &[(&'static str, u8)],
        tls: Option<&TestTls>,
        also_resolve: &[String],
    ) -> Network {
        let resolve = names
            .iter()
            .map(|(n, o)| format!("{n}.test=127.0.0.{o}"))
            .chain(also_resolve.iter().cloned())
            .collect::<Vec<_>>()
            .join(",");
        let mut instances: Vec<Instance> = names
            .iter()
            .map(|(n, o)| Instance::new(n, *o, resolve.clone(), tls))
            .collect();
        for i in &mut instances {
            i.start().await;
        }
        Network {
            instances,
            ca_pem: tls.map(|t| t.ca.pem()),
        }
    }

    pub fn alpha(&self) -> &Instance {
        &self.instances[0]
    }

    pub fn beta(&self) -> &Instance {
        &self.instances[1]
    }

    pub fn gamma(&self) -> &Instance {
        &self.instances[2]
    }

    pub fn beta_mut(&mut self) -> &mut Instance {
        &mut self.instances[1]
    }
}

/// A signed-in account on one instance, talking to the client API.
pub struct User {
    /// `name@NAME.test:PORT`
    pub handle: String,
    base: String,
    token: String,
    client: reqwest::Client,
}

impl User {
    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let mut req = self
            .client
            .request(method.clone(), format!("{}{path}", self.base))
            .bearer_auth(&self.token);
        if let Some(body) = body {
            req = req.json(&body);
        }
        let res = req.send().await.unwrap();
        let status = res.status();
        let text = res.text().await.unwrap();
        assert!(
            status.is_success(),
            "{} {method} {path} -> {status}: {text}",
            self.handle
        );
        serde_json::from_str(&text).unwrap_or(Value::Null)
    }

    pub async fn get(&self, path: &str) -> Value {
        self.call(reqwest::Method::GET, path, None).await
    }

    /// GET that may answer 404 (`None`).
    pub async fn get_opt(&self, path: &str) -> Option<Value> {
        let res = self
            .client
            .get(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .send()
            .await
            .unwrap();
        if res.status() == StatusCode::NOT_FOUND {
            return None;
        }
        assert!(res.status().is_success(), "GET {path}: {}", res.status());
        Some(res.json().await.unwrap())
    }

    pub async fn post(&self, path: &str, body: Value) -> Value {
        self.call(reqwest::Method::POST, path, Some(body)).await
    }

    pub async fn put(&self, path: &str, body: Value) -> Value {
        self.call(reqwest::Method::PUT, path, Some(body)).await
    }

    pub async fn delete(&self, path: &str) -> Value {
        self.call(reqwest::Method::DELETE, path, None).await
    }

    /// Publishes a story; returns the status.
    pub async fn story(&self, headline: &str, body: &str) -> Value {
        self.post(
            "/api/v1/statuses",
            json!({ "headline": headline, "status": body, "visibility": "public" }),
        )
        .await
    }

    pub async fn reply(&self, in_reply_to_id: &str, text: &str) -> Value {
        self.post(
            "/api/v1/statuses",
            json!({ "status": text, "in_reply_to_id": in_reply_to_id }),
        )
        .await
    }

    /// Finds a remote account by handle (WebFinger through `/api/v2/search?resolve=true`).
    pub async fn resolve_account(&self, handle: &str) -> Value {
        let q: String =
            url::form_urlencoded::byte_serialize(format!("@{handle}").as_bytes()).collect();
        let found = self
            .get(&format!("/api/v2/search?q={q}&resolve=true&type=accounts"))
            .await;
        let accounts = found["accounts"].as_array().cloned().unwrap_or_default();
        accounts
            .into_iter()
            .find(|a| a["acct"].as_str() == Some(handle))
            .unwrap_or_else(|| panic!("{} cannot resolve {handle}: {found}", self.handle))
    }

    /// Resolves `handle` and follows it; returns the local id of that account.
    pub async fn follow(&self, handle: &str) -> String {
        let account = self.resolve_account(handle).await;
        let id = account["id"].as_str().unwrap().to_owned();
        self.post(&format!("/api/v1/accounts/{id}/follow"), json!({}))
            .await;
        id
    }

    pub async fn relationship(&self, account_id: &str) -> Value {
        let rels = self
            .get(&format!("/api/v1/accounts/relationships?id[]={account_id}"))
            .await;
        rels[0].clone()
    }

    /// Waits until the follow of `account_id` is accepted (the relationship says
    /// `following`); `what` names it if it never is.
    pub async fn wait_until_following(&self, account_id: &str, what: &str) {
        eventually(what, || async {
            self.relationship(account_id)
                .await
                .get("following")
                .and_then(Value::as_bool)
                .filter(|f| *f)
        })
        .await;
    }

    pub async fn home(&self) -> Vec<Value> {
        self.get("/api/v1/timelines/home?limit=40")
            .await
            .as_array()
            .cloned()
            .unwrap_or_default()
    }

    /// The status in the home timeline whose content contains `needle`.
    pub async fn in_home(&self, needle: &str) -> Option<Value> {
        self.home()
            .await
            .into_iter()
            .find(|s| s["content"].as_str().is_some_and(|c| c.contains(needle)))
    }

    pub async fn context(&self, status_id: &str) -> Value {
        self.get(&format!("/api/v1/statuses/{status_id}/context"))
            .await
    }

    pub async fn status(&self, status_id: &str) -> Option<Value> {
        self.get_opt(&format!("/api/v1/statuses/{status_id}")).await
    }

    pub async fn notifications(&self) -> Vec<Value> {
        self.get("/api/v1/notifications?limit=40")
            .await
            .as_array()
            .cloned()
            .unwrap_or_default()
    }
}

/// Polls `check` until it gives a value, for at most [`SETTLE`].
pub async fn eventually<T, F, Fut>(what: &str, check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    eventually_within(SETTLE, what, check).await
}

pub async fn eventually_within<T, F, Fut>(limit: Duration, what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = Instant::now() + limit;
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(
            Instant::now() < deadline,
            "not within {} s: {what}",
            limit.as_secs()
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}
