//! Federation benchmark: inbox ingestion and delivery fan-out, against the release server
//! started as a separate process, with stand-in remote servers served by this process on
//! loopback.
//!
//! ```text
//! cargo build --release --bin tidings
//! cargo run --release --example bench_federation -- [--backend sqlite|postgres] \
//!     [--activities N] [--actors N] [--servers N] [--delay-ms N]
//! ```
//!
//! * **Inbox ingestion**: `--actors` remote actors (each with its own RSA key) on the
//!   stand-in host `peer.bench.test` send `--activities` signed `Create(Note)`s to the shared
//!   inbox over 32 keep-alive connections. Printed: stored activities per second, p50/p99
//!   latency, server CPU per activity, and beside them the bound measured in the same run:
//!   OpenSSL RSA-2048 verifications per second on this machine (one signature check per
//!   activity is the floor of the work).
//! * **Delivery fan-out**: `--servers` remote servers (`s1.bench.test` …, one follower
//!   each, followed through real signed `Follow`s) whose inboxes answer after `--delay-ms`;
//!   one story is posted through the client API. Printed: wall time until every server has
//!   its `Create` answered, server CPU seconds spent, peak resident memory, beside the bound
//!   (the stand-in's delay: no sender can do better).
//!
//! Results are also written to `target/bench-federation-<backend>.json`.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use axum::body::Bytes;
use axum::extract::{Path as AxPath, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use chrono::Utc;
use clap::Parser;
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use serde::Serialize;
use serde_json::{Value, json};
use tidings::federation::signatures::sign_request;
use url::Url;

#[path = "support/mod.rs"]
mod support;
use support::{cpu_seconds, proc_status_kb, server_binary, target_dir};

/// The server's public name; requests reach it by address with this `Host`.
const DOMAIN: &str = "tidings.localhost";
const PASSWORD: &str = "a long bench password";

#[derive(Parser, Debug)]
#[command(about = "Measure inbox ingestion and delivery fan-out of the release server")]
struct Args {
    /// Database backend: sqlite or postgres.
    #[arg(long, default_value = "sqlite")]
    backend: String,
    /// Signed Create(Note) activities sent to the inbox.
    #[arg(long, default_value_t = 20_000)]
    activities: usize,
    /// Remote actors sending them (one RSA key each).
    #[arg(long, default_value_t = 100)]
    actors: usize,
    /// Remote servers following the local account, for the fan-out.
    #[arg(long, default_value_t = 1_000)]
    servers: usize,
    /// How long each stand-in inbox takes to answer a delivery.
    #[arg(long, default_value_t = 200)]
    delay_ms: u64,
    /// Concurrent connections sending to the inbox.
    #[arg(long, default_value_t = 32)]
    connections: usize,
    /// PostgreSQL server for the throw-away database (backend postgres).
    #[arg(
        long,
        env = "TIDINGS_BENCH_POSTGRES_URL",
        default_value = "postgres://postgres@127.0.0.1:5432/postgres"
    )]
    postgres_url: String,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(run(args))
}

#[derive(Serialize)]
struct Report {
    backend: String,
    ingestion: Ingestion,
    fanout: Fanout,
}

async fn run(args: Args) -> anyhow::Result<()> {
    let bin = server_binary()?;
    let peer = Peer::start(args.actors).await?;
    println!("stand-in servers on {} (actors' keys generated)", peer.addr);
    let ingestion = ingestion(&args, &bin, &peer).await?;
    let fanout = fanout(&args, &bin, &peer).await?;
    let report = Report {
        backend: args.backend.clone(),
        ingestion,
        fanout,
    };
    let out = target_dir().join(format!("bench-federation-{}.json", args.backend));
    std::fs::write(&out, serde_json::to_string_pretty(&report)? + "\n")?;
    println!("results written to {}", out.display());
    Ok(())
}

// ---------------------------------------------------------------- stand-in remote servers

/// What the stand-in servers share: actor keys, the delay of their inboxes, and what the
/// inboxes received.
struct PeerState {
    /// (public PEM, private PEM) per actor index.
    keys: Vec<(String, String)>,
    delay: AtomicU64,
    /// Deliveries answered, by activity type.
    answered: Mutex<HashMap<String, Vec<(String, Instant)>>>,
}

struct Peer {
    addr: SocketAddr,
    state: Arc<PeerState>,
}

impl Peer {
    async fn start(actors: usize) -> anyhow::Result<Peer> {
        let keys = tokio::task::spawn_blocking(move || {
            (0..actors.max(1))
                .map(|_| {
                    let rsa = openssl::rsa::Rsa::generate(2048).expect("RSA key");
                    (
                        String::from_utf8(rsa.public_key_to_pem().unwrap()).unwrap(),
                        String::from_utf8(rsa.private_key_to_pem().unwrap()).unwrap(),
                    )
                })
                .collect::<Vec<_>>()
        })
        .await?;
        let state = Arc::new(PeerState {
            keys,
            delay: AtomicU64::new(0),
            answered: Mutex::new(HashMap::new()),
        });
        let app = axum::Router::new()
            .route("/users/{name}", get(actor))
            .route("/users/{name}/inbox", post(inbox))
            .route("/inbox", post(inbox))
            .with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(Peer { addr, state })
    }

    /// `http://NAME.bench.test:PORT`
    fn host_url(&self, name: &str) -> String {
        format!("http://{name}.bench.test:{}", self.addr.port())
    }

    fn answered(&self, kind: &str) -> Vec<(String, Instant)> {
        self.state
            .answered
            .lock()
            .unwrap()
            .get(kind)
            .cloned()
            .unwrap_or_default()
    }
}

fn key_index(name: &str) -> usize {
    name.trim_start_matches(|c: char| !c.is_ascii_digit())
        .parse()
        .unwrap_or(0)
}

async fn actor(
    State(s): State<Arc<PeerState>>,
    AxPath(name): AxPath<String>,
    headers: HeaderMap,
) -> axum::response::Response {
    let host = headers
        .get("host")
        .and_then(|h| h.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let id = format!("http://{host}/users/{name}");
    let pem = &s.keys[key_index(&name) % s.keys.len()].0;
    let doc = json!({
        "@context": ["https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"],
        "id": id,
        "type": "Person",
        "preferredUsername": name,
        "inbox": format!("{id}/inbox"),
        "endpoints": {"sharedInbox": format!("http://{host}/inbox")},
        "publicKey": {"id": format!("{id}#main-key"), "owner": id, "publicKeyPem": pem},
    });
    (
        [("content-type", "application/activity+json")],
        doc.to_string(),
    )
        .into_response()
}

async fn inbox(State(s): State<Arc<PeerState>>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let delay = s.delay.load(Ordering::Relaxed);
    if delay > 0 {
        tokio::time::sleep(Duration::from_millis(delay)).await;
    }
    let kind = serde_json::from_slice::<Value>(&body)
        .ok()
        .and_then(|v| v["type"].as_str().map(str::to_owned))
        .unwrap_or_default();
    let host = headers
        .get("host")
        .and_then(|h| h.to_str().ok())
        .unwrap_or("")
        .to_owned();
    s.answered
        .lock()
        .unwrap()
        .entry(kind)
        .or_default()
        .push((host, Instant::now()));
    StatusCode::ACCEPTED
}

// ---------------------------------------------------------------- the server under test

struct Server {
    child: Child,
    pid: u32,
    addr: SocketAddr,
    db: DbGuard,
    dir: std::path::PathBuf,
}

struct DbGuard {
    url: String,
    postgres: Option<(String, String)>,
}

impl Drop for DbGuard {
    fn drop(&mut self) {
        if let Some((admin, name)) = &self.postgres
            && let Ok(mut c) = diesel::PgConnection::establish(admin)
        {
            let _ = c.batch_execute(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"));
        }
    }
}

impl Server {
    async fn start(args: &Args, bin: &Path, label: &str) -> anyhow::Result<Server> {
        let dir = target_dir()
            .join("bench-data")
            .join(format!("federation-{label}-{}", std::process::id()));
        std::fs::create_dir_all(&dir)?;
        let db = if args.backend == "postgres" {
            let name = format!("tidings_benchfed_{label}_{}", std::process::id());
            let mut admin = diesel::PgConnection::establish(&args.postgres_url)
                .with_context(|| format!("connecting to {}", args.postgres_url))?;
            admin.batch_execute(&format!("CREATE DATABASE \"{name}\""))?;
            let mut url = Url::parse(&args.postgres_url)?;
            url.set_path(&format!("/{name}"));
            DbGuard {
                url: url.to_string(),
                postgres: Some((args.postgres_url.clone(), name)),
            }
        } else if args.backend == "sqlite" {
            DbGuard {
                url: format!("sqlite://{}", dir.join("tidings.db").display()),
                postgres: None,
            }
        } else {
            bail!("--backend must be sqlite or postgres");
        };
        let addr = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?;
        let common = |c: &mut Command| {
            c.arg("--listen")
                .arg(addr.to_string())
                .arg("--database-url")
                .arg(&db.url)
                .arg("--domain")
                .arg(DOMAIN)
                .arg("--data-dir")
                .arg(&dir)
                .arg("--allow-private-addresses")
                .arg("--resolve")
                .arg("*.bench.test=127.0.0.1")
                .env("TIDINGS_LOG", "warn");
        };
        let mut create = Command::new(bin);
        common(&mut create);
        let mut c = create
            .args(["user", "create", "newsMNC"])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()?;
        {
            use std::io::Write;
            writeln!(c.stdin.take().unwrap(), "{PASSWORD}")?;
        }
        if !c.wait()?.success() {
            bail!("tidings user create failed");
        }
        let mut serve = Command::new(bin);
        common(&mut serve);
        let child = serve
            .arg("serve")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .spawn()?;
        let mut s = Server {
            pid: child.id(),
            child,
            addr,
            db,
            dir,
        };
        let started = Instant::now();
        loop {
            if reqwest::get(format!("http://{addr}/api/v1/instance"))
                .await
                .is_ok_and(|r| r.status().is_success())
            {
                break;
            }
            if let Some(status) = s.child.try_wait()? {
                bail!("server exited: {status}");
            }
            if started.elapsed() > Duration::from_secs(30) {
                bail!("server did not start");
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        Ok(s)
    }

    fn count(&self, sql: &str) -> anyhow::Result<i64> {
        #[derive(QueryableByName)]
        struct N {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            n: i64,
        }
        let rows: Vec<N> = if self.db.postgres.is_some() {
            diesel::sql_query(sql).load(&mut diesel::PgConnection::establish(&self.db.url)?)?
        } else {
            diesel::sql_query(sql).load(&mut diesel::SqliteConnection::establish(
                tidings::db::sqlite_path(&self.db.url),
            )?)?
        };
        Ok(rows.first().map_or(0, |r| r.n))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A signed POST to the server's shared inbox, ready to send.
struct Prepared {
    headers: HeaderMap,
    body: Bytes,
}

fn prepare(activity: &Value, actor: &str, private_pem: &str) -> anyhow::Result<Prepared> {
    let body = serde_json::to_vec(activity)?;
    let url = Url::parse(&format!("http://{DOMAIN}/inbox"))?;
    let mut headers = HeaderMap::new();
    headers.insert("content-type", "application/activity+json".parse()?);
    sign_request(
        &axum::http::Method::POST,
        &url,
        &mut headers,
        Some(&body),
        &format!("{actor}#main-key"),
        private_pem,
        Utc::now(),
    )?;
    Ok(Prepared {
        headers,
        body: body.into(),
    })
}

async fn connect(addr: SocketAddr) -> anyhow::Result<SendRequest<Full<Bytes>>> {
    let stream = tokio::net::TcpStream::connect(addr).await?;
    stream.set_nodelay(true)?;
    let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    Ok(sender)
}

/// Sends every prepared request over `connections` keep-alive connections; returns the
/// latencies (µs) of 2xx answers, the number of other outcomes, and the wall time.
async fn send_all(
    addr: SocketAddr,
    reqs: Arc<Vec<Prepared>>,
    connections: usize,
) -> (Vec<u32>, u64, Duration) {
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let tasks: Vec<_> = (0..connections)
        .map(|_| {
            let (reqs, next) = (reqs.clone(), next.clone());
            tokio::spawn(async move {
                let (mut lat, mut errors) = (Vec::new(), 0u64);
                let mut sender = None;
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(p) = reqs.get(i) else { break };
                    if sender.is_none() {
                        sender = connect(addr).await.ok();
                    }
                    let Some(s) = sender.as_mut() else {
                        errors += 1;
                        continue;
                    };
                    let mut req = hyper::Request::post("/inbox");
                    for (k, v) in &p.headers {
                        req = req.header(k, v);
                    }
                    let req = req.body(Full::new(p.body.clone())).unwrap();
                    let t0 = Instant::now();
                    let outcome = match s.ready().await {
                        Ok(()) => s.send_request(req).await.map_err(anyhow::Error::from),
                        Err(e) => Err(e.into()),
                    };
                    match outcome {
                        Ok(res) => {
                            let ok = res.status().is_success();
                            let _ = res.into_body().collect().await;
                            if ok {
                                lat.push(t0.elapsed().as_micros().min(u32::MAX as u128) as u32);
                            } else {
                                errors += 1;
                            }
                        }
                        Err(_) => {
                            errors += 1;
                            sender = None;
                        }
                    }
                }
                (lat, errors)
            })
        })
        .collect();
    let (mut all, mut errors) = (Vec::new(), 0);
    for t in tasks {
        if let Ok((l, e)) = t.await {
            all.extend(l);
            errors += e;
        }
    }
    (all, errors, started.elapsed())
}

fn pct(sorted: &[u32], q: f64) -> f64 {
    let i = ((sorted.len() as f64 * q).ceil() as usize).clamp(1, sorted.len().max(1)) - 1;
    sorted.get(i).map_or(0.0, |&us| us as f64 / 1e3)
}

/// RSA-2048 SHA-256 verifications per second on one core, with OpenSSL.
fn openssl_verifies_per_sec(pem: &(String, String)) -> f64 {
    use openssl::hash::MessageDigest;
    use openssl::pkey::PKey;
    use openssl::sign::{Signer, Verifier};
    let private = PKey::private_key_from_pem(pem.1.as_bytes()).unwrap();
    let public = PKey::public_key_from_pem(pem.0.as_bytes()).unwrap();
    let data = b"(request-target): post /inbox\nhost: tidings.localhost\ndate: x\ndigest: y";
    let mut signer = Signer::new(MessageDigest::sha256(), &private).unwrap();
    signer.update(data).unwrap();
    let sig = signer.sign_to_vec().unwrap();
    let started = Instant::now();
    let mut n = 0u64;
    while started.elapsed() < Duration::from_millis(500) {
        let mut v = Verifier::new(MessageDigest::sha256(), &public).unwrap();
        v.update(data).unwrap();
        assert!(v.verify(&sig).unwrap());
        n += 1;
    }
    n as f64 / started.elapsed().as_secs_f64()
}

// ---------------------------------------------------------------- inbox ingestion

#[derive(Serialize)]
struct Ingestion {
    activities: usize,
    actors: usize,
    accepted: usize,
    errors: u64,
    stored_posts: i64,
    per_sec: f64,
    p50_ms: f64,
    p99_ms: f64,
    server_cpu_us_per_activity: f64,
    /// CPU of this benchmark's sending client, which shares the machine with the server.
    client_cpu_us_per_activity: f64,
    openssl_verifies_per_sec_per_core: f64,
    cores: usize,
}

fn create_note(actor: &str, n: usize) -> Value {
    let id = format!("{actor}/statuses/{n}");
    json!({
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": format!("{id}/activity"),
        "type": "Create",
        "actor": actor,
        "published": "2026-12-01T12:00:00Z",
        "to": ["https://www.w3.org/ns/activitystreams#Public"],
        "cc": [format!("{actor}/followers")],
        "object": {
            "id": id,
            "type": "Note",
            "attributedTo": actor,
            "published": "2026-12-01T12:00:00Z",
            "to": ["https://www.w3.org/ns/activitystreams#Public"],
            "cc": [format!("{actor}/followers")],
            "content": format!("<p>Bench note {n} about <a href=\"http://peer/tags/bench\" class=\"mention hashtag\" rel=\"tag\">#<span>bench</span></a></p>"),
            "tag": [{"type": "Hashtag", "name": "#bench", "href": "http://peer/tags/bench"}],
        }
    })
}

async fn ingestion(args: &Args, bin: &Path, peer: &Peer) -> anyhow::Result<Ingestion> {
    let server = Server::start(args, bin, "inbox").await?;
    let base = peer.host_url("peer");
    let actors: Vec<String> = (0..args.actors)
        .map(|i| format!("{base}/users/a{i}"))
        .collect();
    let total = args.activities + actors.len();
    println!("signing {total} activities…");
    let keys = peer.state.keys.clone();
    let actors2 = actors.clone();
    let all: Vec<Prepared> = tokio::task::spawn_blocking(move || {
        (0..total)
            .map(|n| {
                let a = n % actors2.len();
                prepare(&create_note(&actors2[a], n), &actors2[a], &keys[a].1)
            })
            .collect::<anyhow::Result<Vec<_>>>()
    })
    .await??;
    let mut all = all;
    let measured: Vec<Prepared> = all.split_off(actors.len());
    // Warm-up: one activity per actor, so every actor is fetched and stored once.
    let (_, warm_errors, _) = send_all(server.addr, Arc::new(all), args.connections).await;
    if warm_errors > 0 {
        bail!("{warm_errors} warm-up activities were refused");
    }
    let (cpu0, client0) = (cpu_seconds(Some(server.pid)), cpu_seconds(None));
    let (mut lat, errors, wall) = send_all(server.addr, Arc::new(measured), args.connections).await;
    let cpu = cpu_seconds(Some(server.pid)) - cpu0;
    let client_cpu = cpu_seconds(None) - client0;
    lat.sort_unstable();
    let stored = server.count("SELECT COUNT(*) AS n FROM posts WHERE local = false")?;
    let verifies = openssl_verifies_per_sec(&peer.state.keys[0]);
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let r = Ingestion {
        activities: args.activities,
        actors: args.actors,
        accepted: lat.len(),
        errors,
        stored_posts: stored,
        per_sec: lat.len() as f64 / wall.as_secs_f64(),
        p50_ms: pct(&lat, 0.5),
        p99_ms: pct(&lat, 0.99),
        server_cpu_us_per_activity: cpu * 1e6 / lat.len().max(1) as f64,
        client_cpu_us_per_activity: client_cpu * 1e6 / lat.len().max(1) as f64,
        openssl_verifies_per_sec_per_core: verifies,
        cores,
    };
    println!(
        "inbox ingestion ({}): {:.0} activities/s, p50 {:.1} ms, p99 {:.1} ms, {} errors, \
         {} remote posts stored, server CPU {:.0} µs/activity (sending client {:.0} µs; \
         projected for the server alone on {} cores: {:.0}/s) \
         | bound: OpenSSL verify {:.0}/s per core × {} cores",
        args.backend,
        r.per_sec,
        r.p50_ms,
        r.p99_ms,
        r.errors,
        r.stored_posts,
        r.server_cpu_us_per_activity,
        r.client_cpu_us_per_activity,
        r.cores,
        r.cores as f64 * 1e6 / r.server_cpu_us_per_activity.max(1.0),
        r.openssl_verifies_per_sec_per_core,
        r.cores
    );
    Ok(r)
}

// ---------------------------------------------------------------- delivery fan-out

#[derive(Serialize)]
struct Fanout {
    servers: usize,
    delay_ms: u64,
    followers: i64,
    accepts_wall_s: f64,
    delivered: usize,
    distinct_servers: usize,
    wall_s: f64,
    server_cpu_s: f64,
    peak_rss_mb: f64,
}

async fn fanout(args: &Args, bin: &Path, peer: &Peer) -> anyhow::Result<Fanout> {
    let server = Server::start(args, bin, "fanout").await?;
    peer.state.delay.store(args.delay_ms, Ordering::Relaxed);
    let target = format!("http://{DOMAIN}/users/newsMNC");
    let keys = peer.state.keys.clone();
    let servers = args.servers;
    let follows: Vec<Prepared> = {
        let urls: Vec<String> = (1..=servers)
            .map(|i| format!("{}/users/f0", peer.host_url(&format!("s{i}"))))
            .collect();
        tokio::task::spawn_blocking(move || {
            urls.iter()
                .enumerate()
                .map(|(i, actor)| {
                    let follow = json!({
                        "@context": "https://www.w3.org/ns/activitystreams",
                        "id": format!("{actor}/follows/{i}"),
                        "type": "Follow",
                        "actor": actor,
                        "object": target,
                    });
                    prepare(&follow, actor, &keys[0].1)
                })
                .collect::<anyhow::Result<Vec<_>>>()
        })
        .await??
    };
    let started = Instant::now();
    let (_, errors, _) = send_all(server.addr, Arc::new(follows), args.connections).await;
    if errors > 0 {
        bail!("{errors} Follows were refused");
    }
    wait_for(peer, "Accept", servers, Duration::from_secs(120)).await?;
    let accepts_wall = started.elapsed();
    let followers = server.count("SELECT COUNT(*) AS n FROM follows")?;
    println!(
        "{followers} followers on {servers} servers; their Accepts answered in {:.2} s",
        accepts_wall.as_secs_f64()
    );

    // Log in through the client API and post one story.
    let http = reqwest::Client::new();
    let base = format!("http://{}", server.addr);
    let app: Value = http
        .post(format!("{base}/api/v1/apps"))
        .header("host", DOMAIN)
        .form(&[
            ("client_name", "bench"),
            ("redirect_uris", "urn:ietf:wg:oauth:2.0:oob"),
            ("scopes", "read write"),
        ])
        .send()
        .await?
        .json()
        .await?;
    let token: Value = http
        .post(format!("{base}/oauth/token"))
        .header("host", DOMAIN)
        .form(&[
            ("grant_type", "password"),
            ("client_id", app["client_id"].as_str().unwrap_or("")),
            ("client_secret", app["client_secret"].as_str().unwrap_or("")),
            ("username", "newsMNC"),
            ("password", PASSWORD),
            ("scope", "read write"),
        ])
        .send()
        .await?
        .json()
        .await?;
    let token = token["access_token"]
        .as_str()
        .context("no access token")?
        .to_owned();
    let rss_peak = Arc::new(AtomicU64::new(0));
    let sampler = {
        let (peak, pid) = (rss_peak.clone(), server.pid);
        tokio::spawn(async move {
            loop {
                if let Some(kb) = proc_status_kb(pid, "VmRSS") {
                    peak.fetch_max(kb, Ordering::Relaxed);
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
    };
    let cpu0 = cpu_seconds(Some(server.pid));
    let t0 = Instant::now();
    let res = http
        .post(format!("{base}/api/v1/statuses"))
        .header("host", DOMAIN)
        .bearer_auth(&token)
        .form(&[
            ("headline", "Fan-out"),
            ("status", "One story for every server. #bench"),
        ])
        .send()
        .await?;
    if !res.status().is_success() {
        bail!("posting the story: {}", res.status());
    }
    let wall = wait_for(peer, "Create", servers, Duration::from_secs(120)).await?;
    let wall = wall.saturating_duration_since(t0);
    let cpu = cpu_seconds(Some(server.pid)) - cpu0;
    sampler.abort();
    let creates = peer.answered("Create");
    let distinct: std::collections::HashSet<&String> = creates.iter().map(|(h, _)| h).collect();
    let r = Fanout {
        servers,
        delay_ms: args.delay_ms,
        followers,
        accepts_wall_s: accepts_wall.as_secs_f64(),
        delivered: creates.len(),
        distinct_servers: distinct.len(),
        wall_s: wall.as_secs_f64(),
        server_cpu_s: cpu,
        peak_rss_mb: rss_peak.load(Ordering::Relaxed) as f64 / 1024.0,
    };
    println!(
        "delivery fan-out ({}): {} Creates to {} servers in {:.2} s, server CPU {:.2} s, \
         peak RSS {:.0} MB | bound: {:.2} s (each inbox answers after {} ms)",
        args.backend,
        r.delivered,
        r.distinct_servers,
        r.wall_s,
        r.server_cpu_s,
        r.peak_rss_mb,
        args.delay_ms as f64 / 1e3,
        args.delay_ms
    );
    Ok(r)
}

/// Waits until the stand-ins have answered `n` activities of `kind`; returns the instant of
/// the `n`th answer.
async fn wait_for(peer: &Peer, kind: &str, n: usize, limit: Duration) -> anyhow::Result<Instant> {
    let started = Instant::now();
    loop {
        let got = peer.answered(kind);
        if got.len() >= n {
            let mut times: Vec<Instant> = got.iter().map(|(_, t)| *t).collect();
            times.sort();
            return Ok(times[n - 1]);
        }
        if started.elapsed() > limit {
            bail!(
                "only {} of {n} {kind} deliveries within {limit:?}",
                got.len()
            );
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}
