//! `tidings backup DIR` and `tidings restore DIR` (issue #14, item 7).
//!
//! - SQLite: `VACUUM INTO` writes a consistent copy of the database while the server keeps
//!   running (one read transaction: a snapshot, whatever is written meanwhile); restore
//!   copies it to the configured path, which must not hold a database yet.
//! - PostgreSQL: `pg_dump --format=custom` of an exported snapshot (consistent while serving,
//!   and the same snapshot the manifest's row counts are taken in) and
//!   `pg_restore` into an empty database, in one transaction. Both tools come with
//!   PostgreSQL's client package and must be at least the server's major version.
//! - The media folder under the data folder, when there is one, is copied beside it.
//!
//! Every backup has a `backup.json` manifest: backend, schema version, identity, and the
//! row count of every table, which restore checks before migrating — a restore that does
//! not match is reported, not silently accepted.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, anyhow, bail};
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use serde::{Deserialize, Serialize};

use super::{Backend, DbConn, Manager, sqlite_path};

const MANIFEST: &str = "backup.json";
const SQLITE_FILE: &str = "tidings.db";
const PG_FILE: &str = "tidings.pgdump";
const MEDIA: &str = "media";

#[derive(Debug, Serialize, Deserialize)]
pub struct Manifest {
    pub format: u32,
    pub backend: String,
    pub created_at: String,
    /// The newest migration applied.
    pub schema_version: String,
    pub domain: Option<String>,
    /// Rows per table at the time of the backup.
    pub tables: BTreeMap<String, i64>,
}

/// What a backup or restore did, for the command's output.
#[derive(Debug)]
pub struct Summary {
    pub manifest: Manifest,
    pub media_files: usize,
}

impl Summary {
    pub fn rows(&self) -> i64 {
        self.manifest.tables.values().sum()
    }
}

pub(crate) fn open(url: &str) -> anyhow::Result<DbConn> {
    let backend = Backend::from_url(url).map_err(anyhow::Error::msg)?;
    let manager = Manager {
        url: match backend {
            Backend::Sqlite => url.to_owned(),
            Backend::Postgres => super::pg_connect_url(url, super::libpq_env_decides()),
        },
        backend,
    };
    use diesel::r2d2::ManageConnection;
    manager
        .connect()
        .map_err(|e| anyhow!("cannot connect to {} database: {e}", backend.name()))
}

#[derive(QueryableByName)]
struct Name {
    #[diesel(sql_type = diesel::sql_types::Text)]
    name: String,
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

/// The database's own tables (SQLite's internal ones left out), by name.
pub(crate) fn table_names(conn: &mut DbConn) -> anyhow::Result<Vec<String>> {
    let sql = match conn {
        DbConn::Sqlite(_) => {
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' \
             ORDER BY name"
        }
        DbConn::Pg(_) => {
            "SELECT tablename AS name FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename"
        }
    };
    Ok(diesel::sql_query(sql)
        .load::<Name>(conn)?
        .into_iter()
        .map(|n| n.name)
        .collect())
}

/// Rows in `table` (a name from the catalogue, quoted as an identifier all the same).
pub(crate) fn count(conn: &mut DbConn, table: &str) -> anyhow::Result<i64> {
    let sql = format!(
        "SELECT COUNT(*) AS n FROM \"{}\"",
        table.replace('"', "\"\"")
    );
    Ok(diesel::sql_query(sql).get_result::<Count>(conn)?.n)
}

fn counts(conn: &mut DbConn) -> anyhow::Result<BTreeMap<String, i64>> {
    let mut out = BTreeMap::new();
    for table in table_names(conn)? {
        let n = count(conn, &table)?;
        out.insert(table, n);
    }
    Ok(out)
}

fn schema_version(conn: &mut DbConn) -> anyhow::Result<String> {
    Ok(
        diesel::sql_query("SELECT MAX(version) AS name FROM __diesel_schema_migrations")
            .get_result::<Name>(conn)
            .context("reading the schema version")?
            .name,
    )
}

fn domain(conn: &mut DbConn) -> Option<String> {
    use super::schema::instance_settings;
    instance_settings::table
        .find("domain")
        .select(instance_settings::value)
        .first::<String>(conn)
        .ok()
}

fn is_empty_dir(dir: &Path) -> bool {
    dir.read_dir()
        .map(|mut d| d.next().is_none())
        .unwrap_or(true)
}

fn copy_tree(from: &Path, to: &Path) -> anyhow::Result<usize> {
    std::fs::create_dir_all(to).with_context(|| format!("creating {}", to.display()))?;
    let mut files = 0;
    for entry in from.read_dir()? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            files += copy_tree(&entry.path(), &target)?;
        } else {
            std::fs::copy(entry.path(), &target)
                .with_context(|| format!("copying {}", entry.path().display()))?;
            files += 1;
        }
    }
    Ok(files)
}

fn run(cmd: &mut Command, what: &str) -> anyhow::Result<()> {
    let out = cmd.output().map_err(|e| {
        anyhow!(
            "cannot run {what}: {e} (install PostgreSQL's client tools, e.g. postgresql-client)"
        )
    })?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        bail!(
            "{what} failed: {}",
            err.trim().lines().next().unwrap_or("no message")
        );
    }
    Ok(())
}

/// Writes a backup of the database at `url` (and `data_dir/media`) into `dir`, which must
/// be missing or empty.
pub fn backup(url: &str, data_dir: &Path, dir: &Path) -> anyhow::Result<Summary> {
    if dir.exists() && !is_empty_dir(dir) {
        bail!(
            "{} is not empty: give a new folder for the backup",
            dir.display()
        );
    }
    let mut conn = open(url)?;
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let backend = Backend::from_url(url).map_err(anyhow::Error::msg)?;
    let created_at = chrono::Utc::now().to_rfc3339();
    let (tables, schema_version, domain) = match backend {
        Backend::Sqlite => {
            let target = dir.join(SQLITE_FILE);
            let target = target
                .to_str()
                .ok_or_else(|| anyhow!("the backup folder's path is not UTF-8"))?;
            conn.batch_execute(&format!("VACUUM INTO '{}'", target.replace('\'', "''")))
                .context("VACUUM INTO")?;
            // Counted in the copy: exactly what it holds.
            let mut copy = open(&format!("sqlite://{target}"))?;
            (
                counts(&mut copy)?,
                schema_version(&mut copy)?,
                domain(&mut copy),
            )
        }
        Backend::Postgres => {
            // Counted in the very snapshot pg_dump copies: this transaction exports it and
            // stays open while pg_dump runs with `--snapshot`.
            conn.batch_execute("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY")?;
            let snapshot = diesel::sql_query("SELECT pg_export_snapshot() AS name")
                .get_result::<Name>(&mut conn)?
                .name;
            let found = (
                counts(&mut conn)?,
                schema_version(&mut conn)?,
                domain(&mut conn),
            );
            run(
                Command::new("pg_dump")
                    .args([
                        "--format=custom",
                        "--no-owner",
                        "--snapshot",
                        &snapshot,
                        "--file",
                    ])
                    .arg(dir.join(PG_FILE))
                    .arg(url),
                "pg_dump",
            )?;
            conn.batch_execute("COMMIT")?;
            found
        }
    };
    let media = data_dir.join(MEDIA);
    let media_files = if media.is_dir() {
        copy_tree(&media, &dir.join(MEDIA))?
    } else {
        0
    };
    let manifest = Manifest {
        format: 1,
        backend: backend.name().to_owned(),
        created_at,
        schema_version,
        domain,
        tables,
    };
    std::fs::write(dir.join(MANIFEST), serde_json::to_vec_pretty(&manifest)?)?;
    Ok(Summary {
        manifest,
        media_files,
    })
}

/// Restores the backup in `dir` into the (empty) database at `url` and `data_dir/media`,
/// checks the row counts against the manifest, and leaves migrations to the next start.
pub fn restore(url: &str, data_dir: &Path, dir: &Path) -> anyhow::Result<Summary> {
    let manifest: Manifest =
        serde_json::from_slice(&std::fs::read(dir.join(MANIFEST)).with_context(|| {
            format!("{} has no {MANIFEST}: not a Tidings backup", dir.display())
        })?)
        .with_context(|| format!("reading {MANIFEST}"))?;
    let backend = Backend::from_url(url).map_err(anyhow::Error::msg)?;
    if manifest.backend != backend.name() {
        bail!(
            "this backup is of a {} database; restore it into {} (to move SQLite to PostgreSQL use `tidings db copy`)",
            manifest.backend,
            manifest.backend
        );
    }
    let media = data_dir.join(MEDIA);
    if media.exists() && !is_empty_dir(&media) {
        bail!(
            "{} is not empty: restore into a new data folder",
            media.display()
        );
    }
    match backend {
        Backend::Sqlite => {
            let path = PathBuf::from(sqlite_path(url));
            if path.exists()
                && std::fs::metadata(&path)
                    .map(|m| m.len() > 0)
                    .unwrap_or(true)
            {
                bail!(
                    "{} already holds a database: restore into a new data folder or database URL",
                    path.display()
                );
            }
            if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
                std::fs::create_dir_all(parent)?;
            }
            // Copied beside it, then renamed: never a half-written database at `path`.
            let partial = path.with_extension("restoring");
            std::fs::copy(dir.join(SQLITE_FILE), &partial).context("copying the database")?;
            std::fs::rename(&partial, &path)?;
        }
        Backend::Postgres => {
            let mut conn = open(url)?;
            if !table_names(&mut conn)?.is_empty() {
                bail!(
                    "the database at {} is not empty: restore into an empty database",
                    crate::cli::redact(url)
                );
            }
            drop(conn);
            run(
                Command::new("pg_restore")
                    .args([
                        "--no-owner",
                        "--exit-on-error",
                        "--single-transaction",
                        "--dbname",
                    ])
                    .arg(url)
                    .arg(dir.join(PG_FILE)),
                "pg_restore",
            )?;
        }
    }
    let mut conn = open(url)?;
    let found = counts(&mut conn)?;
    if found != manifest.tables {
        let differ: Vec<String> = manifest
            .tables
            .iter()
            .filter(|(t, n)| found.get(*t) != Some(n))
            .map(|(t, n)| {
                format!(
                    "{t}: {n} in the backup, {} restored",
                    found.get(t).copied().unwrap_or(0)
                )
            })
            .collect();
        bail!(
            "the restored database does not match the backup ({})",
            differ.join("; ")
        );
    }
    let media_files = if dir.join(MEDIA).is_dir() {
        copy_tree(&dir.join(MEDIA), &media)?
    } else {
        0
    };
    Ok(Summary {
        manifest,
        media_files,
    })
}
