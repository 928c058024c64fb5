//! Load benchmark for the real server.
//!
//! Per backend it seeds 100,000 stories by 1,000 accounts into a database of its own,
//! starts the release binary (`target/release/tidings`) as a separate process, measures
//! start-up time, resident memory and page throughput/latency on loopback, and compares
//! every figure with a bare axum route served by this process on the same machine.
//!
//! ```text
//! cargo build --release --bin tidings
//! cargo run --release --example bench -- [--backend sqlite|postgres|both] \
//!     [--duration-secs N] [--connections N] [--postgres-url URL] [--keep-data]
//! ```
//!
//! Results are printed as a table and written to `target/bench-results-<backend>.json`.
//! The load generator runs on the same machine, so it takes CPU from the server: read
//! throughput beside the bare-route ratio and the server's own CPU time per request.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime};

use anyhow::{Context, anyhow, bail};
use chrono::{NaiveDateTime, Utc};
use clap::{Parser, ValueEnum};
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use http_body_util::{BodyExt, Empty};
use hyper::body::Bytes;
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use serde::Serialize;
use tidings::db::models::{NewAccount, NewPost, NewTag, PostTag};
use tidings::db::schema::{accounts, post_tags, posts, tags};
use tidings::db::{Db, DbConn, ids};
use tidings::domain::text::{normalize_tag, render};

#[path = "support/mod.rs"]
mod support;
use support::{CLOCK_TICKS_PER_SEC, cpu_seconds, proc_status_kb, server_binary, target_dir};

const STORIES: usize = 100_000;
const ACCOUNTS: usize = 1_000;
const TAG_NAMES: usize = 200;
/// Stories per seeding transaction (and per progress line).
const SEED_CHUNK: usize = 10_000;
/// How far down the front page the deep page starts (2,500 pages of 20).
const DEEP_OFFSET: usize = 50_000;
const STARTUPS: usize = 5;
const DOMAIN: &str = "tidings.localhost";
const BASE_URL: &str = "http://tidings.localhost";
const PROFILE_USER: &str = "user0500";
const SEED_NOTE: &str = "one shared password hash and RSA key pair for all seeded accounts";
/// Words for headlines, bodies and the 200 tag names (some in mixed case).
const WORDS: &str = "Rust linux OpenSource science AI climate music books Football cooking \
    privacy security WebDev politics economy space NASA art photography travel gaming health \
    running cycling history Design startups energy Fediverse Mastodon databases postgres sqlite \
    Python golang devops kubernetes mathematics physics biology film TV podcasts education jobs \
    housing transit weather local news";

#[derive(Parser, Debug)]
#[command(about = "Seed 100k stories, start the release server and measure it")]
struct Args {
    /// Which database backend(s) to measure.
    #[arg(long, value_enum, default_value = "sqlite")]
    backend: BackendArg,
    /// Measured seconds per scenario (after 1 s of warm-up).
    #[arg(long, default_value_t = 5)]
    duration_secs: u64,
    /// Concurrent keep-alive HTTP/1.1 connections.
    #[arg(long, default_value_t = 32)]
    connections: usize,
    /// PostgreSQL server to create the throw-away bench database on.
    #[arg(
        long,
        env = "TIDINGS_BENCH_POSTGRES_URL",
        default_value = "postgres://postgres@127.0.0.1:5432/postgres"
    )]
    postgres_url: String,
    /// Keep the seeded data (SQLite folder / PostgreSQL database) to inspect it afterwards.
    #[arg(long)]
    keep_data: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum BackendArg {
    Sqlite,
    Postgres,
    Both,
}

fn main() -> std::process::ExitCode {
    let args = Args::parse();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let result = rt.block_on(async {
        // Dropping the run on ctrl-c drops its guards: the server is killed, the data removed.
        tokio::select! {
            r = run(args) => r,
            _ = tokio::signal::ctrl_c() => Err(anyhow!("interrupted")),
        }
    });
    if let Err(e) = result {
        eprintln!("bench failed: {e:#}");
        // Exit at once rather than wait for a seeding thread still running in the background.
        std::process::exit(1);
    }
    std::process::ExitCode::SUCCESS
}

async fn run(args: Args) -> anyhow::Result<()> {
    let server_bin = server_binary()?;
    let bare_addr = start_bare_server()?;
    let backends: &[&str] = match args.backend {
        BackendArg::Sqlite => &["sqlite"],
        BackendArg::Postgres => &["postgres"],
        BackendArg::Both => &["sqlite", "postgres"],
    };
    for backend in backends {
        let report = bench_backend(backend, &args, &server_bin, bare_addr).await?;
        print_report(&report);
        let out = target_dir().join(format!("bench-results-{backend}.json"));
        std::fs::write(&out, serde_json::to_string_pretty(&report)? + "\n")
            .with_context(|| format!("writing {}", out.display()))?;
        println!("results written to {}\n", out.display());
    }
    Ok(())
}

// ---------------------------------------------------------------- one backend

#[derive(Serialize)]
struct Report {
    backend: String,
    stories: usize,
    accounts: usize,
    tags: usize,
    seed_seconds: f64,
    seed_note: &'static str,
    popular_tag: String,
    popular_tag_stories: usize,
    deep_offset: usize,
    connections: usize,
    warmup_secs: u64,
    duration_secs: u64,
    cpus: usize,
    /// Share of all CPUs busy with other work in the second before seeding (ideally ~0).
    other_cpu_share_before: f64,
    startup_ms: Vec<f64>,
    startup_median_ms: f64,
    rss_idle_kb: u64,
    rss_peak_sampled_kb: u64,
    vm_hwm_kb: u64,
    bare: Measured,
    scenarios: Vec<Scenario>,
}

#[derive(Serialize)]
struct Scenario {
    key: &'static str,
    label: &'static str,
    path: String,
    response_bytes: usize,
    #[serde(flatten)]
    m: Measured,
    rps_vs_bare: f64,
    slowdown_vs_front: f64,
    /// The server's VmRSS right after this scenario.
    rss_after_kb: u64,
}

async fn bench_backend(
    backend: &str,
    args: &Args,
    server_bin: &Path,
    bare_addr: SocketAddr,
) -> anyhow::Result<Report> {
    println!("=== {backend}: preparing a fresh database");
    let busy0 = machine_busy_seconds();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let other_cpu_share_before = (machine_busy_seconds() - busy0) / cpus() as f64;
    if other_cpu_share_before > 0.05 {
        let busy = other_cpu_share_before * 100.0;
        eprintln!("warning: other work keeps {busy:.0}% of the CPUs busy; figures will suffer");
    }
    let suffix = format!("{:016x}", Rng::seeded().next());
    let mut data = DataGuard::create(backend, &args.postgres_url, &suffix)?;
    data.keep = args.keep_data;
    let url = data.database_url.clone();

    use tidings::service::crypto::{PasswordGate, generate_keypair, hash_password};
    let gate = std::sync::Arc::new(PasswordGate::new(1, 0));
    let hash = hash_password(&gate, "bench-password".into()).await;
    let hash = hash.map_err(|e| anyhow!("hashing: {e:?}"))?;
    let keys = generate_keypair()
        .await
        .map_err(|e| anyhow!("keys: {e:?}"))?;
    let seed_url = url.clone();
    let seeded =
        tokio::task::spawn_blocking(move || seed(&seed_url, &hash, &keys.0, &keys.1)).await??;

    // Start-up: spawn to first 200 of GET /, several times; keep the last server for load.
    let mut startup_ms = Vec::new();
    let mut server = None;
    for _ in 0..STARTUPS {
        drop(server.take());
        let mut s = Server::spawn(server_bin, &url, &data.dir)?;
        startup_ms.push(s.wait_ready().await?.as_secs_f64() * 1e3);
        server = Some(s);
    }
    let server = server.expect("started at least once");
    let startup_median_ms = median(&startup_ms);
    println!("start-up to first 200: median {startup_median_ms:.1} ms of {startup_ms:.1?}");
    tokio::time::sleep(Duration::from_millis(500)).await;
    let rss_idle_kb = proc_status_kb(server.pid, "VmRSS").unwrap_or(0);
    println!("RSS idle: {}", mb(rss_idle_kb));

    let sampler = RssSampler::start(server.pid);
    let load = LoadSpec {
        connections: args.connections,
        warmup: Duration::from_secs(1),
        duration: Duration::from_secs(args.duration_secs),
    };
    let bare = run_load(bare_addr, vec!["/".into()], &load, None, None).await;
    println!("bare axum route: {}", bare.summary(None));

    // One URL each, except "any page": every request a different page of the front list,
    // so no cache in the server can answer it and each one reaches the database.
    let one = |p: String| vec![p];
    let any_page: Vec<String> = seeded
        .cursors
        .iter()
        .map(|id| format!("/?before={id}"))
        .collect();
    let scenarios = [
        ("front", "front page", one("/".to_owned())),
        (
            "deep",
            "deep page",
            one(format!("/?before={}", seeded.deep_before)),
        ),
        (
            "tag",
            "tag page",
            one(format!("/tags/{}", normalize_tag(&seeded.popular_tag))),
        ),
        ("profile", "profile page", one(format!("/@{PROFILE_USER}"))),
        ("any_page", "any page", any_page),
    ];
    let mut results: Vec<Scenario> = Vec::new();
    for (key, label, paths) in scenarios {
        let (status, response_bytes) = get_once(server.addr, &paths[0])
            .await
            .with_context(|| format!("probing {}", paths[0]))?;
        if status != 200 {
            bail!("{label} {} answered {status} instead of 200", paths[0]);
        }
        let path = match paths.len() {
            1 => paths[0].clone(),
            n => format!("/?before=<{} ids>", group(n as f64)),
        };
        let db = data.postgres.as_ref().map(|(_, name)| name.as_str());
        let m = run_load(server.addr, paths, &load, Some(server.pid), db).await;
        let rss_after_kb = proc_status_kb(server.pid, "VmRSS").unwrap_or(0);
        println!(
            "{label}: {}, RSS {}",
            m.summary(Some(&bare)),
            mb(rss_after_kb)
        );
        let front_rps = results.first().map_or(m.rps, |f| f.m.rps);
        results.push(Scenario {
            key,
            label,
            path,
            response_bytes,
            rps_vs_bare: m.rps / bare.rps,
            slowdown_vs_front: front_rps / m.rps,
            rss_after_kb,
            m,
        });
    }
    let rss_peak_sampled_kb = sampler.stop().await;
    let vm_hwm_kb = proc_status_kb(server.pid, "VmHWM").unwrap_or(0);
    drop(server);
    drop(data);
    Ok(Report {
        backend: backend.to_owned(),
        stories: STORIES,
        accounts: ACCOUNTS,
        tags: TAG_NAMES,
        seed_seconds: seeded.seconds,
        seed_note: SEED_NOTE,
        popular_tag: seeded.popular_tag,
        popular_tag_stories: seeded.popular_count,
        deep_offset: DEEP_OFFSET,
        connections: load.connections,
        warmup_secs: load.warmup.as_secs(),
        duration_secs: load.duration.as_secs(),
        cpus: cpus(),
        other_cpu_share_before,
        startup_ms,
        startup_median_ms,
        rss_idle_kb,
        rss_peak_sampled_kb,
        vm_hwm_kb,
        bare,
        scenarios: results,
    })
}

// ---------------------------------------------------------------- seeding

struct Seeded {
    deep_before: i64,
    /// Every 10th story id, newest first: cursors for pages all over the front list.
    cursors: Vec<i64>,
    popular_tag: String,
    popular_count: usize,
    seconds: f64,
}

/// One story's owned data, turned into borrowed `NewPost`/`PostTag` rows for insertion.
struct StoryRow {
    id: i64,
    account_id: i64,
    ap_id: String,
    headline: String,
    body: String,
    html: String,
    created_at: NaiveDateTime,
    tags: Vec<(usize, String)>,
}

/// Runs `$body` with `$c` bound to the concrete connection, so batch inserts work.
macro_rules! on_conn {
    ($conn:expr, |$c:ident| $body:expr) => {
        match $conn {
            DbConn::Sqlite($c) => $body,
            DbConn::Pg($c) => $body,
        }
    };
}

fn seed(url: &str, hash: &str, public_pem: &str, private_pem: &str) -> anyhow::Result<Seeded> {
    let started = Instant::now();
    drop(Db::connect(url, 1)?); // applies the migrations
    let mut conn = if url.starts_with("sqlite:") {
        let mut c = diesel::SqliteConnection::establish(tidings::db::sqlite_path(url))?;
        c.batch_execute("PRAGMA synchronous = OFF; PRAGMA foreign_keys = ON;")?;
        DbConn::Sqlite(c)
    } else {
        DbConn::Pg(diesel::PgConnection::establish(url)?)
    };
    println!("seeding {STORIES} stories by {ACCOUNTS} accounts ({SEED_NOTE})");
    let now = Utc::now().naive_utc();
    let mut rng = Rng(0x7469_6469_6e67_7321);
    let words: Vec<&str> = WORDS.split_whitespace().collect();

    // Accounts: (id, name, display name, actor id, profile URL, inbox, followers).
    let people: Vec<(i64, String, String, String, String, String, String)> = (1..=ACCOUNTS)
        .map(|i| {
            let name = format!("user{i:04}");
            let ap = format!("{BASE_URL}/users/{name}");
            let url = format!("{BASE_URL}/@{name}");
            let (inbox, followers) = (format!("{ap}/inbox"), format!("{ap}/followers"));
            (
                ids::new_id(),
                name,
                format!("Bench User {i}"),
                ap,
                url,
                inbox,
                followers,
            )
        })
        .collect();
    let shared_inbox = format!("{BASE_URL}/inbox");
    let account_rows: Vec<NewAccount> = people
        .iter()
        .map(|p| NewAccount {
            id: p.0,
            username: &p.1,
            username_lower: &p.1,
            domain: None,
            display_name: &p.2,
            bio: "A seeded account. #bench",
            ap_id: &p.3,
            url: Some(&p.4),
            inbox_url: Some(&p.5),
            shared_inbox_url: Some(&shared_inbox),
            followers_url: Some(&p.6),
            public_key_pem: public_pem,
            private_key_pem: Some(private_pem),
            password_hash: Some(hash),
            is_admin: false,
            created_at: now,
            updated_at: now,
        })
        .collect();
    // Tags: (id, name, key); "Rust", "linux", …, "Rust1", …, "news3".
    let tag_list: Vec<(i64, String, String)> = (0..TAG_NAMES)
        .map(|k| {
            let word = words[k % words.len()];
            let name = match k / words.len() {
                0 => word.to_owned(),
                n => format!("{word}{n}"),
            };
            (ids::new_id(), normalize_tag(&name), name)
        })
        .collect();
    let tag_rows: Vec<NewTag> = tag_list
        .iter()
        .map(|(id, key, name)| NewTag {
            id: *id,
            name,
            name_lower: key,
            created_at: now,
        })
        .collect();
    on_conn!(&mut conn, |c| c.transaction(|c| {
        diesel::insert_into(accounts::table)
            .values(&account_rows)
            .execute(c)?;
        diesel::insert_into(tags::table)
            .values(&tag_rows)
            .execute(c)?;
        diesel::QueryResult::Ok(())
    }))?;

    // Stories, oldest first so ids and created_at grow together; 10k per transaction.
    let mut story_ids = Vec::with_capacity(STORIES);
    let mut tag_counts = vec![0usize; TAG_NAMES];
    for first in (0..STORIES).step_by(SEED_CHUNK) {
        let rows: Vec<StoryRow> = (first..(first + SEED_CHUNK).min(STORIES))
            .map(|i| make_story(i, &mut rng, &words, &people, &tag_list, now))
            .collect();
        for row in &rows {
            story_ids.push(row.id);
            row.tags.iter().for_each(|(k, _)| tag_counts[*k] += 1);
        }
        let post_rows: Vec<NewPost> = rows
            .iter()
            .map(|s| NewPost {
                id: s.id,
                account_id: s.account_id,
                ap_id: &s.ap_id,
                url: Some(&s.ap_id),
                local: true,
                headline: Some(&s.headline),
                body: &s.body,
                content_html: &s.html,
                in_reply_to_id: None,
                thread_root_id: None,
                visibility: "public",
                created_at: s.created_at,
                updated_at: s.created_at,
                spoiler_text: "",
                sensitive: false,
            })
            .collect();
        let link_rows: Vec<PostTag> = rows
            .iter()
            .flat_map(|s| {
                s.tags.iter().map(|(k, name)| PostTag {
                    tag_id: tag_list[*k].0,
                    post_id: s.id,
                    name: name.clone(),
                })
            })
            .collect();
        // Batches stay under SQLite's 32,766 bound parameters.
        on_conn!(&mut conn, |c| c.transaction(|c| {
            for chunk in post_rows.chunks(1_000) {
                diesel::insert_into(posts::table).values(chunk).execute(c)?;
            }
            for chunk in link_rows.chunks(5_000) {
                diesel::insert_into(post_tags::table)
                    .values(chunk)
                    .execute(c)?;
            }
            diesel::QueryResult::Ok(())
        }))?;
        let done = first + rows.len();
        println!(
            "  {:>7} stories ({:.1} s)",
            group(done as f64),
            started.elapsed().as_secs_f64()
        );
    }
    match &mut conn {
        // What autovacuum would have done on a live PostgreSQL by the time anyone looks.
        DbConn::Pg(c) => c.batch_execute("VACUUM ANALYZE")?,
        // No ANALYZE for SQLite: the server never runs one, so a live site would have none.
        DbConn::Sqlite(c) => c.batch_execute("PRAGMA wal_checkpoint(TRUNCATE)")?,
    }
    let popular = (0..TAG_NAMES).max_by_key(|&k| tag_counts[k]).unwrap_or(0);
    let seconds = started.elapsed().as_secs_f64();
    println!("seeded in {seconds:.1} s");
    Ok(Seeded {
        deep_before: story_ids[STORIES - 1 - DEEP_OFFSET],
        cursors: story_ids.iter().rev().step_by(10).copied().collect(),
        popular_tag: tag_list[popular].2.clone(),
        popular_count: tag_counts[popular],
        seconds,
    })
}

fn make_story<P>(
    i: usize,
    rng: &mut Rng,
    words: &[&str],
    people: &[(i64, P, P, P, P, P, P)],
    tag_list: &[(i64, String, String)],
    now: NaiveDateTime,
) -> StoryRow {
    let id = ids::new_id();
    // 1–3 distinct tags, skewed so a few are popular; a quarter typed in lower case.
    let mut tags: Vec<(usize, String)> = Vec::new();
    for _ in 0..1 + rng.below(3) {
        let r = rng.unit();
        let k = ((r * r * TAG_NAMES as f64) as usize).min(TAG_NAMES - 1);
        if tags.iter().all(|(t, _)| *t != k) {
            let name = &tag_list[k].2;
            let typed = if rng.below(4) == 0 {
                name.to_lowercase()
            } else {
                name.clone()
            };
            tags.push((k, typed));
        }
    }
    let mut w = || words[rng.below(words.len())];
    let headline = format!("Story {i}: {} and {} meet {}", w(), w(), w());
    let (a, b, c, d) = (w(), w(), w(), w());
    let hashtags: Vec<String> = tags.iter().map(|(_, n)| format!("#{n}")).collect();
    let body = format!(
        "Notes on {a} from the {b} desk, with a few thoughts on {c} and <{d}>.\n\n\
         More at https://example.org/articles/{i} and in the thread below. {}",
        hashtags.join(" ")
    );
    StoryRow {
        id,
        account_id: people[rng.below(people.len())].0,
        ap_id: format!("{BASE_URL}/stories/{id}"),
        headline,
        html: render(&body, BASE_URL),
        body,
        created_at: now - chrono::Duration::seconds((STORIES - i) as i64 * 30),
        tags,
    }
}

/// SplitMix64: deterministic seed data without a rand dependency.
struct Rng(u64);

impl Rng {
    fn seeded() -> Rng {
        let t = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos() as u64;
        Rng(t ^ ((std::process::id() as u64) << 32))
    }
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

// ---------------------------------------------------------------- data and server processes

/// The bench's own data folder (and PostgreSQL database); removed on drop, error or not.
struct DataGuard {
    dir: PathBuf,
    database_url: String,
    postgres: Option<(String, String)>, // (admin URL, database name)
    keep: bool,
}

impl DataGuard {
    fn create(backend: &str, admin_url: &str, suffix: &str) -> anyhow::Result<DataGuard> {
        let dir = target_dir().join("bench-data").join(suffix);
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        let mut guard = DataGuard {
            database_url: format!("sqlite://{}", dir.join("tidings.db").display()),
            dir,
            postgres: None,
            keep: false,
        };
        if backend == "postgres" {
            let name = format!("tidings_bench_{suffix}");
            let mut admin = diesel::PgConnection::establish(admin_url)
                .with_context(|| format!("connecting to {admin_url}"))?;
            admin.batch_execute(&format!("CREATE DATABASE \"{name}\""))?;
            guard.postgres = Some((admin_url.to_owned(), name.clone()));
            let mut url = url::Url::parse(admin_url)?;
            url.set_path(&format!("/{name}"));
            guard.database_url = url.to_string();
            println!("created database {name}");
        }
        Ok(guard)
    }
}

impl Drop for DataGuard {
    fn drop(&mut self) {
        if self.keep {
            println!("kept {} and {}", self.dir.display(), self.database_url);
            return;
        }
        if let Some((admin_url, name)) = &self.postgres {
            let sql = format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)");
            let dropped = diesel::PgConnection::establish(admin_url)
                .map_err(anyhow::Error::from)
                .and_then(|mut c| Ok(c.batch_execute(&sql)?));
            match dropped {
                Ok(()) => println!("dropped database {name}"),
                Err(e) => eprintln!("warning: could not drop database {name}: {e}"),
            }
        }
        if let Err(e) = std::fs::remove_dir_all(&self.dir) {
            eprintln!("warning: could not remove {}: {e}", self.dir.display());
        }
    }
}

/// A running `tidings serve`; killed on drop.
struct Server {
    child: Child,
    pid: u32,
    addr: SocketAddr,
    spawned: Instant,
}

impl Server {
    fn spawn(bin: &Path, url: &str, data_dir: &Path) -> anyhow::Result<Server> {
        let addr = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?;
        let spawned = Instant::now();
        let child = Command::new(bin)
            .arg("serve")
            .args([
                "--listen",
                &addr.to_string(),
                "--database-url",
                url,
                "--domain",
                DOMAIN,
            ])
            .arg("--data-dir")
            .arg(data_dir)
            .env("TIDINGS_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .spawn()
            .with_context(|| format!("starting {}", bin.display()))?;
        Ok(Server {
            pid: child.id(),
            child,
            addr,
            spawned,
        })
    }

    /// Time from spawn to the first 200 answer of `GET /`.
    async fn wait_ready(&mut self) -> anyhow::Result<Duration> {
        loop {
            if let Ok((200, _)) = get_once(self.addr, "/").await {
                return Ok(self.spawned.elapsed());
            }
            if let Some(status) = self.child.try_wait()? {
                bail!("server exited during start-up: {status}");
            }
            if self.spawned.elapsed() > Duration::from_secs(30) {
                bail!("server did not answer 200 on / within 30 s");
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// CPU seconds used by the PostgreSQL backends serving database `db` (their process title
/// names it), so other databases' work on the same server is not counted.
fn postgres_cpu_seconds(db: &str) -> f64 {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return 0.0;
    };
    dir.filter_map(Result::ok)
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            let comm = std::fs::read_to_string(format!("/proc/{pid}/comm"));
            let title = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            comm.is_ok_and(|c| c.trim() == "postgres")
                && String::from_utf8_lossy(&title).contains(&format!(" {db} "))
        })
        .map(|pid| cpu_seconds(Some(pid)))
        .sum()
}

/// CPU seconds all processes have kept the machine busy (first line of /proc/stat).
fn machine_busy_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let line = stat.lines().next().unwrap_or_default();
    // cpu user nice system idle iowait irq softirq steal …: everything but idle and iowait.
    let ticks: Vec<f64> = line
        .split_whitespace()
        .skip(1)
        .filter_map(|v| v.parse().ok())
        .collect();
    let busy: f64 = ticks
        .iter()
        .take(8)
        .enumerate()
        .filter(|(i, _)| *i != 3 && *i != 4)
        .map(|(_, t)| t)
        .sum();
    busy / CLOCK_TICKS_PER_SEC
}

fn cpus() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// Samples the server's VmRSS every 100 ms and keeps the largest.
struct RssSampler {
    peak: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
    task: tokio::task::JoinHandle<()>,
}

impl RssSampler {
    fn start(pid: u32) -> RssSampler {
        let peak = Arc::new(AtomicU64::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let (p, s) = (peak.clone(), stop.clone());
        let task = tokio::spawn(async move {
            while !s.load(Ordering::Relaxed) {
                if let Some(kb) = proc_status_kb(pid, "VmRSS") {
                    p.fetch_max(kb, Ordering::Relaxed);
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        });
        RssSampler { peak, stop, task }
    }

    async fn stop(self) -> u64 {
        self.stop.store(true, Ordering::Relaxed);
        let _ = self.task.await;
        self.peak.load(Ordering::Relaxed)
    }
}

/// `GET /` → "ok", served by this process on its own 2-thread runtime: the ceiling that
/// this machine and this load generator allow. It lives until the process exits.
fn start_bare_server() -> anyhow::Result<SocketAddr> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    listener.set_nonblocking(true)?;
    let addr = listener.local_addr()?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("bare-axum")
        .enable_all()
        .build()?;
    std::thread::Builder::new()
        .name("bare-axum-main".into())
        .spawn(move || {
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).expect("listener");
                let app = axum::Router::new().route("/", axum::routing::get(|| async { "ok" }));
                if let Err(e) = axum::serve(listener, app).await {
                    eprintln!("bare server failed: {e}");
                }
            });
        })?;
    Ok(addr)
}

// ---------------------------------------------------------------- load generator

struct LoadSpec {
    connections: usize,
    warmup: Duration,
    duration: Duration,
}

#[derive(Serialize)]
struct Measured {
    /// Successful requests that started after the warm-up and finished in the window.
    requests: u64,
    /// Non-200 answers and transport errors in the window.
    errors: u64,
    rps: f64,
    p50_ms: f64,
    p99_ms: f64,
    max_ms: f64,
    /// Server process CPU per request (warm-up included); none for the in-process bare route.
    server_cpu_us_per_req: Option<f64>,
    /// CPU per request of the PostgreSQL backends serving the bench database.
    db_cpu_us_per_req: Option<f64>,
    /// This process's CPU per request: the load generator (plus the bare server, for it).
    bench_cpu_us_per_req: f64,
    /// Share of all CPUs used by other processes meanwhile: figures are skewed when high.
    other_cpu_share: f64,
}

impl Measured {
    fn summary(&self, bare: Option<&Measured>) -> String {
        let ratio = bare
            .map(|b| format!(" ({:.2}x bare)", self.rps / b.rps))
            .unwrap_or_default();
        let mut cpu = self
            .server_cpu_us_per_req
            .map(|c| format!(", server CPU {c:.0} µs/req"));
        if let (Some(c), Some(db)) = (&mut cpu, self.db_cpu_us_per_req) {
            c.push_str(&format!(" + PostgreSQL {db:.0} µs/req"));
        }
        format!(
            "{} req/s{ratio}, p50 {:.2} ms, p99 {:.2} ms, {} errors{}, other work {:.0}% CPU",
            group(self.rps),
            self.p50_ms,
            self.p99_ms,
            self.errors,
            cpu.unwrap_or_default(),
            self.other_cpu_share * 100.0
        )
    }
}

async fn connect(addr: SocketAddr) -> anyhow::Result<SendRequest<Empty<Bytes>>> {
    let stream = tokio::net::TcpStream::connect(addr).await?;
    stream.set_nodelay(true)?;
    let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    Ok(sender)
}

/// One request on a connection: (status, body bytes). The body is read to the end.
async fn request(
    sender: &mut SendRequest<Empty<Bytes>>,
    addr: SocketAddr,
    path: &str,
) -> anyhow::Result<(u16, usize)> {
    sender.ready().await?;
    let req = hyper::Request::get(path)
        .header(hyper::header::HOST, addr.to_string())
        .body(Empty::new())?;
    let res = sender.send_request(req).await?;
    let status = res.status().as_u16();
    let body = res.into_body().collect().await?.to_bytes();
    Ok((status, body.len()))
}

async fn get_once(addr: SocketAddr, path: &str) -> anyhow::Result<(u16, usize)> {
    request(&mut connect(addr).await?, addr, path).await
}

/// `connections` keep-alive connections, one task each, sending requests back to back
/// and cycling through `paths`.
/// With `pid`, the server's CPU time is measured too, and with `postgres_db` PostgreSQL's.
async fn run_load(
    addr: SocketAddr,
    paths: Vec<String>,
    spec: &LoadSpec,
    pid: Option<u32>,
    postgres_db: Option<&str>,
) -> Measured {
    let server_cpu0 = pid.map(|p| cpu_seconds(Some(p)));
    let db_cpu0 = postgres_db.map(postgres_cpu_seconds);
    let bench_cpu0 = cpu_seconds(None);
    let (busy0, started) = (machine_busy_seconds(), Instant::now());
    let measure_from = Instant::now() + spec.warmup;
    let stop_at = measure_from + spec.duration;
    let paths = Arc::new(paths);
    let tasks: Vec<_> = (0..spec.connections)
        .map(|conn| {
            let paths = paths.clone();
            // Each connection walks the paths from its own starting point.
            let mut next = conn * paths.len() / spec.connections;
            tokio::spawn(async move {
                let mut latencies: Vec<u32> = Vec::with_capacity(1 << 16);
                let (mut errors, mut total) = (0u64, 0u64);
                let mut sender = None;
                while Instant::now() < stop_at {
                    if sender.is_none() {
                        match connect(addr).await {
                            Ok(s) => sender = Some(s),
                            Err(_) => {
                                errors += u64::from(Instant::now() >= measure_from);
                                tokio::time::sleep(Duration::from_millis(10)).await;
                                continue;
                            }
                        }
                    }
                    let t0 = Instant::now();
                    let outcome =
                        request(sender.as_mut().expect("connected"), addr, &paths[next]).await;
                    next = (next + 1) % paths.len();
                    let t1 = Instant::now();
                    let ok = matches!(outcome, Ok((200, _)));
                    total += u64::from(ok);
                    if outcome.is_err() {
                        sender = None;
                    }
                    if t0 >= measure_from && t1 <= stop_at {
                        if ok {
                            latencies.push((t1 - t0).as_micros().min(u32::MAX as u128) as u32);
                        } else {
                            errors += 1;
                        }
                    }
                }
                (latencies, errors, total)
            })
        })
        .collect();
    let (mut all, mut errors, mut total) = (Vec::<u32>::new(), 0, 0);
    for t in tasks {
        match t.await {
            Ok((lat, err, tot)) => {
                all.extend(lat);
                errors += err;
                total += tot;
            }
            Err(_) => errors += 1,
        }
    }
    let server_cpu = server_cpu0.map(|c0| cpu_seconds(pid) - c0);
    let db_cpu = db_cpu0
        .zip(postgres_db)
        .map(|(c0, db)| postgres_cpu_seconds(db) - c0);
    let bench_cpu = cpu_seconds(None) - bench_cpu0;
    let ours = bench_cpu + server_cpu.unwrap_or(0.0) + db_cpu.unwrap_or(0.0);
    let capacity = started.elapsed().as_secs_f64() * cpus() as f64;
    let other_cpu_share = ((machine_busy_seconds() - busy0 - ours) / capacity).max(0.0);
    let per_req = |cpu: f64| cpu * 1e6 / total.max(1) as f64;
    all.sort_unstable();
    let pct = |q: f64| -> f64 {
        let i = ((all.len() as f64 * q).ceil() as usize).clamp(1, all.len().max(1)) - 1;
        all.get(i).map_or(0.0, |&us| us as f64 / 1e3)
    };
    Measured {
        requests: all.len() as u64,
        errors,
        rps: all.len() as f64 / spec.duration.as_secs_f64(),
        p50_ms: pct(0.50),
        p99_ms: pct(0.99),
        max_ms: all.last().map_or(0.0, |&us| us as f64 / 1e3),
        server_cpu_us_per_req: server_cpu.map(per_req),
        db_cpu_us_per_req: db_cpu.map(per_req),
        bench_cpu_us_per_req: per_req(bench_cpu),
        other_cpu_share,
    }
}

// ---------------------------------------------------------------- report

fn print_report(r: &Report) {
    let ok = |pass: bool| if pass { "ok" } else { "MISS" };
    let b = &r.bare;
    println!();
    println!(
        "=== {}: {} stories, {} accounts, {} tags; seeded in {:.1} s ({SEED_NOTE})",
        r.backend,
        group(r.stories as f64),
        group(r.accounts as f64),
        r.tags,
        r.seed_seconds
    );
    println!(
        "load: {} keep-alive HTTP/1.1 connections on loopback, {} s warm-up + {} s per scenario; \
         client and server share {} CPUs (other work before: {:.0}% CPU)",
        r.connections,
        r.warmup_secs,
        r.duration_secs,
        r.cpus,
        r.other_cpu_share_before * 100.0
    );
    println!(
        "{:<13} {:<28} {:>8} {:>7} {:>15} {:>15} {:>6} {:>11} {:>6}  target",
        "scenario", "path", "req/s", "vs bare", "p50 ms", "p99 ms", "errors", "srv µs/req", "other"
    );
    let row = |label: &str, path: &str, m: &Measured, target: String| {
        let vs = |v: f64, base: f64| format!("{v:.2} ({:.1}x)", v / base);
        let cpu = match (m.server_cpu_us_per_req, m.db_cpu_us_per_req) {
            (Some(c), Some(db)) => format!("{c:.0}+{db:.0}"),
            (Some(c), None) => format!("{c:.0}"),
            _ => "-".to_owned(),
        };
        println!(
            "{label:<13} {:<28} {:>8} {:>6.2}x {:>15} {:>15} {:>6} {cpu:>11} {:>5.0}%  {target}",
            path.get(..28).unwrap_or(path),
            group(m.rps),
            m.rps / b.rps,
            vs(m.p50_ms, b.p50_ms),
            vs(m.p99_ms, b.p99_ms),
            m.errors,
            m.other_cpu_share * 100.0,
        );
    };
    row(
        "bare axum",
        "/",
        b,
        "(ceiling of this machine and client)".into(),
    );
    for s in &r.scenarios {
        let target = match s.key {
            "front" | "tag" => format!(
                "≥10,000 req/s and p99 < 10 ms on SQLite: {}",
                ok(s.m.rps >= 10_000.0 && s.m.p99_ms < 10.0)
            ),
            "deep" => format!(
                "≤2x slower than front: {} ({:.2}x)",
                ok(s.slowdown_vs_front <= 2.0),
                s.slowdown_vs_front
            ),
            "any_page" => "(a different page every request: no cache hits)".into(),
            _ => String::new(),
        };
        row(s.label, &s.path, &s.m, target);
    }
    println!(
        "tag page: #{} ({} stories); deep page: {} stories down the front page; \
         srv µs/req = server CPU time per request (+ PostgreSQL's); \
         other = CPU share used by other processes meanwhile",
        r.popular_tag,
        group(r.popular_tag_stories as f64),
        group(r.deep_offset as f64)
    );
    println!(
        "start-up to first 200 of GET /: median {:.1} ms of {:.1?} ms   target < 200 ms: {}",
        r.startup_median_ms,
        r.startup_ms,
        ok(r.startup_median_ms < 200.0)
    );
    println!(
        "RSS idle: {}   target < 30 MB: {}",
        mb(r.rss_idle_kb),
        ok(r.rss_idle_kb < 30 * 1024)
    );
    println!(
        "RSS under load: peak sampled {}, VmHWM {}   target < 150 MB: {}",
        mb(r.rss_peak_sampled_kb),
        mb(r.vm_hwm_kb),
        ok(r.rss_peak_sampled_kb.max(r.vm_hwm_kb) < 150 * 1024)
    );
}

fn mb(kb: u64) -> String {
    format!("{:.1} MB", kb as f64 / 1024.0)
}

fn median(v: &[f64]) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(|a, b| a.total_cmp(b));
    match s.len() {
        0 => 0.0,
        n if n % 2 == 1 => s[n / 2],
        n => (s[n / 2 - 1] + s[n / 2]) / 2.0,
    }
}

/// 12345.6 → "12,346".
fn group(v: f64) -> String {
    let digits = format!("{:.0}", v.max(0.0));
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}
