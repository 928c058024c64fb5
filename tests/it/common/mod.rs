//! Test harness: a real `tidings` router on a loopback port over a fresh database.
//!
//! The backend comes from the environment: with `TIDINGS_TEST_DATABASE_URL` set to a
//! PostgreSQL server URL (e.g. `postgres://postgres@127.0.0.1:5432/postgres`) each test
//! creates its own database on that server and drops it afterwards; without it each test
//! gets its own SQLite file in a temporary folder.
#![allow(dead_code)]

pub mod peer;

use std::path::PathBuf;

use diesel::prelude::*;
use reqwest::StatusCode;
use reqwest::redirect::Policy;
use tidings::app::Application;
use tidings::config::{Config, Settings};
use tidings::db::Db;
use tidings::service::Services;
use tokio::sync::oneshot;

pub mod api;
pub mod certs;
pub mod recording_peer;

pub const PG_ENV: &str = "TIDINGS_TEST_DATABASE_URL";

/// A fresh database for one test, removed when dropped.
pub enum TestDb {
    Sqlite {
        dir: PathBuf,
        url: String,
    },
    Postgres {
        admin_url: String,
        name: String,
        url: String,
    },
}

fn random_suffix() -> String {
    let mut b = [0u8; 6];
    openssl::rand::rand_bytes(&mut b).unwrap();
    hex::encode(b)
}

impl TestDb {
    pub fn new() -> TestDb {
        match std::env::var(PG_ENV).ok().filter(|s| !s.is_empty()) {
            Some(admin_url) => {
                let name = format!("tidings_test_{}", random_suffix());
                let mut admin = PgConnection::establish(&admin_url)
                    .unwrap_or_else(|e| panic!("{PG_ENV}={admin_url}: {e}"));
                diesel::sql_query(format!("CREATE DATABASE {name}"))
                    .execute(&mut admin)
                    .unwrap();
                let mut url = url::Url::parse(&admin_url).unwrap();
                url.set_path(&name);
                TestDb::Postgres {
                    admin_url,
                    name,
                    url: url.to_string(),
                }
            }
            None => {
                let dir = std::env::temp_dir().join(format!("tidings-test-{}", random_suffix()));
                std::fs::create_dir_all(&dir).unwrap();
                let url = format!("sqlite://{}", dir.join("tidings.db").display());
                TestDb::Sqlite { dir, url }
            }
        }
    }

    /// A SQLite database whatever backend the tests run on (e.g. the source of `db copy`).
    pub fn sqlite() -> TestDb {
        let dir = std::env::temp_dir().join(format!("tidings-test-{}", random_suffix()));
        std::fs::create_dir_all(&dir).unwrap();
        let url = format!("sqlite://{}", dir.join("tidings.db").display());
        TestDb::Sqlite { dir, url }
    }

    pub fn url(&self) -> &str {
        match self {
            TestDb::Sqlite { url, .. } | TestDb::Postgres { url, .. } => url,
        }
    }

    pub fn is_postgres(&self) -> bool {
        matches!(self, TestDb::Postgres { .. })
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        match self {
            TestDb::Sqlite { dir, .. } => {
                let _ = std::fs::remove_dir_all(dir);
            }
            TestDb::Postgres {
                admin_url, name, ..
            } => {
                if let Ok(mut admin) = PgConnection::establish(admin_url) {
                    let _ =
                        diesel::sql_query(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                            .execute(&mut admin);
                }
            }
        }
    }
}

pub struct TestApp {
    pub base: String,
    /// `http://ADDR` of `/metrics` when started with `metrics_listen`.
    pub metrics_base: Option<String>,
    pub svc: Services,
    stop: Option<oneshot::Sender<()>>,
    // Dropped last: the server stops before its database goes.
    pub db: TestDb,
}

impl TestApp {
    pub async fn spawn() -> TestApp {
        Self::spawn_with(|_| {}).await
    }

    /// Starts an instance; `tweak` may change the settings (e.g. the scheme).
    pub async fn spawn_with(tweak: impl FnOnce(&mut Settings)) -> TestApp {
        Self::spawn_on(TestDb::new(), tweak).await
    }

    /// Starts an instance on an existing database.
    pub async fn spawn_on(db: TestDb, tweak: impl FnOnce(&mut Settings)) -> TestApp {
        let mut settings = Settings {
            domain: Some("tidings.test".into()),
            scheme: Some("http".into()),
            listen: "127.0.0.1:0".into(),
            data_dir: std::env::temp_dir(),
            database_url: Some(db.url().to_owned()),
            db_pool_size: Some(4),
            allow_private_addresses: false,
            resolve: Vec::new(),
            tls_cert: None,
            tls_key: None,
            extra_ca_file: None,
            header_read_timeout: 10,
            max_connections: 512,
            trusted_proxies: Vec::new(),
            inbox_retention_days: 14,
            metrics_listen: None,
            media_dir: None,
            media_size_limit_mb: 16,
            acme: Default::default(),
        };
        tweak(&mut settings);
        let config = Config::from_settings(&settings).unwrap();
        let url = config.database_url.clone();
        let pool = tokio::task::spawn_blocking(move || Db::connect(&url, 4))
            .await
            .unwrap()
            .unwrap();
        let app = Application::build_with_db(config, pool).await.unwrap();
        let scheme = if app.services.config.tls.is_some() {
            "https"
        } else {
            "http"
        };
        let base = format!("{scheme}://{}", app.local_addr());
        let metrics_base = app.metrics_addr().map(|a| format!("http://{a}"));
        let svc = app.services.clone();
        let (tx, rx) = oneshot::channel();
        tokio::spawn(app.run_until(async {
            let _ = rx.await;
        }));
        TestApp {
            base,
            metrics_base,
            svc,
            stop: Some(tx),
            db,
        }
    }

    /// A new visitor with its own cookies.
    pub fn browser(&self) -> Browser {
        Browser {
            base: self.base.clone(),
            client: reqwest::Client::builder()
                .cookie_store(true)
                .redirect(Policy::none())
                .build()
                .unwrap(),
            csrf: None,
        }
    }

    /// A visitor who has joined with `name` and is logged in.
    pub async fn user(&self, name: &str) -> Browser {
        let mut b = self.browser();
        let res = b
            .post_form("/join", &[("username", name), ("password", PASSWORD)])
            .await;
        assert_eq!(res.status(), StatusCode::SEE_OTHER, "join {name} failed");
        b
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
    }
}

pub const PASSWORD: &str = "correct horse battery";

pub struct Browser {
    pub base: String,
    pub client: reqwest::Client,
    csrf: Option<String>,
}

/// A response read whole: status, headers and body text.
pub struct Page {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub body: String,
}

impl Page {
    pub fn status(&self) -> StatusCode {
        self.status
    }

    pub fn location(&self) -> &str {
        self.headers
            .get(reqwest::header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }

    pub fn set_cookies(&self) -> Vec<String> {
        self.headers
            .get_all(reqwest::header::SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok().map(str::to_owned))
            .collect()
    }

    #[track_caller]
    pub fn assert_contains(&self, needle: &str) {
        assert!(
            self.body.contains(needle),
            "expected {needle:?} in page ({}):\n{}",
            self.status,
            self.body
        );
    }

    #[track_caller]
    pub fn assert_lacks(&self, needle: &str) {
        assert!(
            !self.body.contains(needle),
            "did not expect {needle:?} in page ({}):\n{}",
            self.status,
            self.body
        );
    }
}

async fn read(res: reqwest::Response) -> Page {
    Page {
        status: res.status(),
        headers: res.headers().clone(),
        body: res.text().await.unwrap(),
    }
}

/// The value of the first `name="csrf"` hidden field in a page.
pub fn csrf_in(html: &str) -> Option<String> {
    let at = html.find("name=\"csrf\" value=\"")? + "name=\"csrf\" value=\"".len();
    Some(html[at..].split('"').next()?.to_owned())
}

impl Browser {
    /// A visitor of `base` using `client` (which should keep cookies and not follow
    /// redirects).
    pub fn new(base: &str, client: reqwest::Client) -> Browser {
        Browser {
            base: base.to_owned(),
            client,
            csrf: None,
        }
    }

    /// A second client carrying the same cookies (same session), to send requests at once.
    pub fn clone_session(&self) -> Browser {
        Browser {
            base: self.base.clone(),
            client: self.client.clone(),
            csrf: self.csrf.clone(),
        }
    }

    pub async fn get(&self, path: &str) -> Page {
        read(
            self.client
                .get(format!("{}{path}", self.base))
                .send()
                .await
                .unwrap(),
        )
        .await
    }

    /// The CSRF token a page would carry for this visitor.
    pub async fn csrf(&mut self) -> String {
        if let Some(t) = &self.csrf {
            return t.clone();
        }
        let page = self.get("/login").await;
        let token = csrf_in(&page.body).expect("page carries a CSRF token");
        self.csrf = Some(token.clone());
        token
    }

    /// Posts a form with this visitor's CSRF token added.
    pub async fn post_form(&mut self, path: &str, fields: &[(&str, &str)]) -> Page {
        let token = self.csrf().await;
        let mut all: Vec<(&str, &str)> = vec![("csrf", token.as_str())];
        all.extend_from_slice(fields);
        let page = self.post_raw(path, &all).await;
        // Logging in, out or joining changes the session, and with it the token forms carry.
        if page
            .set_cookies()
            .iter()
            .any(|c| c.starts_with("tidings_session="))
        {
            self.csrf = None;
        }
        page
    }

    /// Posts exactly these fields (no token added).
    pub async fn post_raw(&self, path: &str, fields: &[(&str, &str)]) -> Page {
        read(
            self.client
                .post(format!("{}{path}", self.base))
                .form(fields)
                .send()
                .await
                .unwrap(),
        )
        .await
    }

    /// Publishes a story and returns its id.
    pub async fn post_story(&mut self, headline: &str, body: &str) -> i64 {
        let res = self
            .post_form("/submit", &[("headline", headline), ("body", body)])
            .await;
        assert_eq!(res.status(), StatusCode::SEE_OTHER, "{}", res.body);
        res.location()
            .strip_prefix("/stories/")
            .and_then(|id| id.parse().ok())
            .unwrap_or_else(|| panic!("unexpected redirect {:?}", res.location()))
    }
}
