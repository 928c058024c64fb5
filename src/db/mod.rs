//! Database access: one connection type over SQLite and PostgreSQL, a pool, migrations.
//!
//! Everything above this module talks to [`Db`]; it knows nothing of HTTP or federation.

pub mod backup;
mod checkpoint;
pub mod copy;
pub mod ids;
pub mod models;
pub mod schema;

use std::path::Path;
use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::r2d2::{self, ManageConnection};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

use crate::error::AppError;

/// One connection type for both backends; queries written once with the diesel DSL run on either.
#[derive(diesel::MultiConnection)]
pub enum DbConn {
    Sqlite(diesel::SqliteConnection),
    Pg(diesel::PgConnection),
}

const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
const PG_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");

/// The newest migration this version has for `backend`, as recorded in
/// `__diesel_schema_migrations.version`.
pub fn latest_migration(backend: Backend) -> String {
    use diesel::migration::MigrationSource;
    let versions: Vec<String> = match backend {
        Backend::Sqlite => {
            MigrationSource::<diesel::sqlite::Sqlite>::migrations(&SQLITE_MIGRATIONS)
                .map(|m| m.iter().map(|m| m.name().version().to_string()).collect())
                .unwrap_or_default()
        }
        Backend::Postgres => MigrationSource::<diesel::pg::Pg>::migrations(&PG_MIGRATIONS)
            .map(|m| m.iter().map(|m| m.name().version().to_string()).collect())
            .unwrap_or_default(),
    };
    versions.into_iter().max().unwrap_or_default()
}

/// Which backend a database URL names, decided from its scheme so errors keep their real cause.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn from_url(url: &str) -> Result<Backend, String> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Backend::Postgres)
        } else if url.starts_with("sqlite://") || url.starts_with("sqlite:") {
            Ok(Backend::Sqlite)
        } else {
            Err(format!(
                "unsupported database URL {url:?}: use sqlite://PATH or postgres://USER@HOST/DB"
            ))
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

/// The file path inside a `sqlite://` URL (`sqlite://relative.db`, `sqlite:///abs/path.db`).
pub fn sqlite_path(url: &str) -> &str {
    url.strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
        .unwrap_or(url)
}

/// The URL Tidings connects to PostgreSQL with: a loopback host (`localhost`,
/// `127.0.0.0/8`, `::1`) gets `sslmode=disable`, unless the URL or libpq's environment
/// (`env_decides`, from [`libpq_env_decides`]) says anything about TLS, a service file
/// or another host. libpq's default (`prefer`) encrypts loopback traffic, which protects
/// nothing there (it does not check the server's certificate, and the traffic never leaves
/// the machine) and cost about 15 % of inbox throughput in the benchmark. Any other URL is
/// kept as given.
pub fn pg_connect_url(url: &str, env_decides: bool) -> String {
    let Ok(parsed) = url::Url::parse(url) else {
        return url.to_owned();
    };
    // `postgres:` is not a scheme the URL standard knows, so its host comes as text.
    let loopback = match parsed.host() {
        Some(url::Host::Domain(d)) => {
            d.eq_ignore_ascii_case("localhost")
                || d.trim_start_matches('[')
                    .trim_end_matches(']')
                    .parse::<std::net::IpAddr>()
                    .is_ok_and(|ip| ip.is_loopback())
        }
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    };
    // Any TLS setting (`sslmode`, `sslrootcert=system`, client certificates…), a
    // `service` file, or `host`/`hostaddr` naming where libpq really connects: the
    // person decided, and the URL is kept.
    let decided_elsewhere = parsed.query_pairs().any(|(k, _)| {
        k.starts_with("ssl") || matches!(k.as_ref(), "requiressl" | "service" | "host" | "hostaddr")
    });
    if !loopback || decided_elsewhere || env_decides || parsed.fragment().is_some() {
        return url.to_owned();
    }
    // Appended to the text as given: re-serialising could re-encode the user or password.
    let base = url.trim_end_matches(['?', '&']);
    let joiner = if base.contains('?') { '&' } else { '?' };
    format!("{base}{joiner}sslmode=disable")
}

/// Whether libpq's environment sets TLS, a service file or the address it connects to
/// (`PGSSL*`, `PGREQUIRESSL`, `PGSERVICE`, `PGHOST`, `PGHOSTADDR`).
pub fn libpq_env_decides() -> bool {
    std::env::vars_os().any(|(k, _)| {
        k.to_str().is_some_and(|k| {
            k.starts_with("PGSSL")
                || matches!(k, "PGREQUIRESSL" | "PGSERVICE" | "PGHOST" | "PGHOSTADDR")
        })
    })
}

/// Opens connections for the pool, choosing the backend by URL scheme and keeping the driver's error.
#[derive(Debug, Clone)]
pub struct Manager {
    url: String,
    backend: Backend,
}

impl ManageConnection for Manager {
    type Connection = DbConn;
    type Error = ConnectionError;

    fn connect(&self) -> Result<DbConn, ConnectionError> {
        match self.backend {
            Backend::Sqlite => {
                let mut conn = diesel::SqliteConnection::establish(sqlite_path(&self.url))?;
                // temp_store: the inbox gives each activity a savepoint, whose journal of
                // changed pages would otherwise be a temporary file written at every insert.
                conn.batch_execute(&format!(
                    "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; \
                     PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 10000; \
                     PRAGMA wal_autocheckpoint = {}; PRAGMA temp_store = MEMORY;",
                    checkpoint::FALLBACK_PAGES
                ))
                .map_err(ConnectionError::CouldntSetupConfiguration)?;
                Ok(DbConn::Sqlite(conn))
            }
            Backend::Postgres => Ok(DbConn::Pg(diesel::PgConnection::establish(&self.url)?)),
        }
    }

    fn is_valid(&self, conn: &mut DbConn) -> Result<(), ConnectionError> {
        conn.batch_execute("SELECT 1")
            .map_err(ConnectionError::CouldntSetupConfiguration)
    }

    fn has_broken(&self, _conn: &mut DbConn) -> bool {
        false
    }
}

/// The shared handle: a pool plus the backend it talks to.
#[derive(Clone)]
pub struct Db {
    pool: r2d2::Pool<Manager>,
    backend: Backend,
    /// SQLite: keeps the WAL checkpoint thread running.
    _checkpointer: Option<std::sync::Arc<checkpoint::Alive>>,
}

impl Db {
    /// Connects (failing with the driver's own message) and applies pending migrations.
    pub fn connect(url: &str, pool_size: u32) -> anyhow::Result<Db> {
        let backend = Backend::from_url(url).map_err(anyhow::Error::msg)?;
        if backend == Backend::Sqlite {
            let path = Path::new(sqlite_path(url));
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir).map_err(|e| {
                    anyhow::anyhow!("cannot create database folder {}: {e}", dir.display())
                })?;
            }
        }
        let manager = Manager {
            url: match backend {
                Backend::Sqlite => url.to_owned(),
                Backend::Postgres => pg_connect_url(url, libpq_env_decides()),
            },
            backend,
        };
        // Open one connection by hand first so a bad URL fails with the driver's message.
        let mut first = manager
            .connect()
            .map_err(|e| anyhow::anyhow!("cannot connect to {} database: {e}", backend.name()))?;
        run_migrations(&mut first)?;
        drop(first);
        let checkpointer = match backend {
            Backend::Sqlite => Some(
                checkpoint::start(&manager)
                    .map_err(|e| anyhow::anyhow!("cannot start the WAL checkpointer: {e}"))?,
            ),
            Backend::Postgres => None,
        };
        let pool = r2d2::Pool::builder()
            .max_size(pool_size)
            .min_idle(Some(1))
            // Broken connections surface as query errors; a ping per checkout cost ~8% of
            // a page's CPU.
            .test_on_check_out(false)
            .connection_timeout(Duration::from_secs(10))
            .build(manager)
            .map_err(|e| anyhow::anyhow!("cannot open {} pool: {e}", backend.name()))?;
        Ok(Db {
            pool,
            backend,
            _checkpointer: checkpointer,
        })
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Connections in the pool and how many are idle (for metrics).
    pub fn pool_state(&self) -> r2d2::State {
        self.pool.state()
    }

    /// Runs `f` with a pooled connection on the blocking thread pool.
    pub async fn run<T, F>(&self, f: F) -> Result<T, AppError>
    where
        T: Send + 'static,
        F: FnOnce(&mut DbConn) -> Result<T, AppError> + Send + 'static,
    {
        let pool = self.pool.clone();
        tokio::task::spawn_blocking(move || {
            let mut conn = pool.get().map_err(AppError::internal)?;
            f(&mut conn)
        })
        .await
        .map_err(AppError::internal)?
    }

    /// Like [`Db::run`] but inside a write transaction (see [`write_tx`]).
    pub async fn write<T, F>(&self, f: F) -> Result<T, AppError>
    where
        T: Send + 'static,
        F: FnOnce(&mut DbConn) -> Result<T, AppError> + Send + 'static,
    {
        self.run(move |conn| write_tx(conn, f)).await
    }
}

/// Runs a diesel expression on the concrete connection inside a [`DbConn`].
///
/// Queries run through the `MultiConnection` enum are not kept in the backends' prepared
/// statement caches, so SQLite parses their SQL on every call. Hot read paths (lists)
/// use this to run the same DSL query natively, where the statement is cached. The body
/// is compiled once per backend.
#[macro_export]
macro_rules! native {
    ($conn:expr, |$c:ident| $body:expr) => {
        match $conn {
            $crate::db::DbConn::Sqlite($c) => $body,
            $crate::db::DbConn::Pg($c) => $body,
        }
    };
}

/// Applies the embedded migrations of the connection's backend.
pub fn run_migrations(conn: &mut DbConn) -> anyhow::Result<()> {
    let applied = match conn {
        DbConn::Sqlite(c) => c.run_pending_migrations(SQLITE_MIGRATIONS).map(|v| v.len()),
        DbConn::Pg(c) => c.run_pending_migrations(PG_MIGRATIONS).map(|v| v.len()),
    }
    .map_err(|e| anyhow::anyhow!("migration failed: {e}"))?;
    if applied > 0 {
        tracing::info!(applied, "database migrations applied");
    }
    Ok(())
}

/// A transaction for work that writes.
///
/// On SQLite it starts with `BEGIN IMMEDIATE`, taking the write lock up front so that a
/// transaction which reads before it writes waits for other writers (busy_timeout) instead
/// of failing with "database is locked". `f` must not open a nested transaction.
pub fn write_tx<T, F>(conn: &mut DbConn, f: F) -> Result<T, AppError>
where
    F: FnOnce(&mut DbConn) -> Result<T, AppError>,
{
    let result = match conn {
        DbConn::Sqlite(_) => {
            conn.batch_execute("BEGIN IMMEDIATE")
                .map_err(AppError::internal)?;
            match f(conn).and_then(|v| {
                flush_search_index(conn)?;
                Ok(v)
            }) {
                Ok(v) => {
                    conn.batch_execute("COMMIT").map_err(AppError::internal)?;
                    Ok(v)
                }
                Err(e) => {
                    if let Err(rb) = conn.batch_execute("ROLLBACK") {
                        tracing::error!(error = %rb, "rollback failed");
                    }
                    Err(e)
                }
            }
        }
        DbConn::Pg(_) => conn.transaction(f),
    };
    if result.is_ok() {
        WRITE_GENERATION.fetch_add(1, std::sync::atomic::Ordering::Release);
    }
    result
}

/// SQLite: indexes for search the posts that this transaction wrote (queued by triggers in
/// `posts_fts_queue`), in one statement before the commit. FTS5 writes a new index segment
/// at every savepoint, so indexing from the triggers themselves cost the inbox's batches,
/// which take one savepoint per activity, a segment per post.
fn flush_search_index(conn: &mut DbConn) -> Result<(), AppError> {
    conn.batch_execute(
        "INSERT INTO posts_fts (rowid, headline, body) \
         SELECT p.id, COALESCE(p.headline, ''), p.body \
         FROM posts_fts_queue q JOIN posts p ON p.id = q.post_id; \
         DELETE FROM posts_fts_queue;",
    )
    .map_err(AppError::internal)
}

/// Counts committed write transactions in this process, so caches of read results can
/// tell that something may have changed.
pub static WRITE_GENERATION: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

pub fn write_generation() -> u64 {
    WRITE_GENERATION.load(std::sync::atomic::Ordering::Acquire)
}

/// True when a query failed on a unique constraint (a concurrent insert of the same key).
pub fn is_unique_violation(e: &diesel::result::Error) -> bool {
    matches!(
        e,
        diesel::result::Error::DatabaseError(diesel::result::DatabaseErrorKind::UniqueViolation, _)
    )
}

#[cfg(test)]
mod tests {
    use super::pg_connect_url;

    #[test]
    fn loopback_postgres_urls_connect_without_tls_unless_they_say_otherwise() {
        for (given, used) in [
            (
                "postgres://postgres@127.0.0.1:5432/tidings",
                "postgres://postgres@127.0.0.1:5432/tidings?sslmode=disable",
            ),
            (
                "postgres://u:p@localhost/tidings?application_name=t",
                "postgres://u:p@localhost/tidings?application_name=t&sslmode=disable",
            ),
            (
                "postgresql://u@[::1]:5433/db",
                "postgresql://u@[::1]:5433/db?sslmode=disable",
            ),
            // Chosen by the person: kept.
            (
                "postgres://u@127.0.0.1/db?sslmode=require",
                "postgres://u@127.0.0.1/db?sslmode=require",
            ),
            // The user and password stay as written.
            (
                "postgres://us%40er:p%3Ass@localhost/db",
                "postgres://us%40er:p%3Ass@localhost/db?sslmode=disable",
            ),
            // Where libpq connects, or how it does TLS, is said in the query: kept.
            (
                "postgres://u@localhost/db?host=db.example.org",
                "postgres://u@localhost/db?host=db.example.org",
            ),
            (
                "postgres://u@localhost/db?sslrootcert=system",
                "postgres://u@localhost/db?sslrootcert=system",
            ),
            (
                "postgres://u@localhost/db?service=main",
                "postgres://u@localhost/db?service=main",
            ),
            // An empty query is not left behind as an empty parameter.
            (
                "postgres://u@localhost/db?",
                "postgres://u@localhost/db?sslmode=disable",
            ),
            // Another machine, and the Unix socket: kept.
            (
                "postgres://u@db.example.org/db",
                "postgres://u@db.example.org/db",
            ),
            ("postgres://u@10.0.0.5/db", "postgres://u@10.0.0.5/db"),
            (
                "postgres://u@%2Fvar%2Frun%2Fpostgresql/db",
                "postgres://u@%2Fvar%2Frun%2Fpostgresql/db",
            ),
        ] {
            assert_eq!(pg_connect_url(given, false), used, "{given}");
        }
        // libpq's environment (PGSSLMODE and the like) decides.
        assert_eq!(
            pg_connect_url("postgres://u@127.0.0.1/db", true),
            "postgres://u@127.0.0.1/db"
        );
    }
}
