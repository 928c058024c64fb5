//! `tidings db copy --to postgres://…` (issue #14, item 8): the whole SQLite database into
//! an empty PostgreSQL database, ids, keys and ActivityPub ids unchanged, so other servers
//! notice nothing.
//!
//! How: both databases are first migrated to this version's schema. The source is read in
//! one read transaction (a snapshot, so a server still running cannot tear the copy), each
//! table in batches of rows as JSON (`json_object`), written with
//! `json_populate_recordset` — PostgreSQL converts each value to its column's type — in
//! foreign-key order, all in one transaction on the target. Columns that point into their
//! own table (a reply's parent) are filled in a second pass. Then every table's row count
//! is compared on both sides. Tables that only one backend has (SQLite's full-text index
//! and its queue) are left out; PostgreSQL's search column is generated from the posts.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use anyhow::{Context, anyhow, bail};
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::sql_types::{Nullable, Text};

use super::backup::{count, table_names};
use super::{Backend, Db, DbConn};

/// Rows per statement.
const BATCH: i64 = 1_000;

#[derive(QueryableByName)]
struct Row2 {
    #[diesel(sql_type = Text)]
    a: String,
    #[diesel(sql_type = Text)]
    b: String,
}

#[derive(QueryableByName)]
struct Json {
    #[diesel(sql_type = Nullable<Text>)]
    j: Option<String>,
}

fn q(ident: &str) -> String {
    format!("\"{}\"", ident.replace('"', "\"\""))
}

/// A table's columns in PostgreSQL (name → type), generated columns left out.
fn pg_columns(conn: &mut DbConn) -> anyhow::Result<HashMap<String, Vec<(String, String)>>> {
    let rows = diesel::sql_query(
        "SELECT table_name || '.' || column_name AS a, data_type AS b \
         FROM information_schema.columns \
         WHERE table_schema = 'public' AND is_generated = 'NEVER' \
         ORDER BY table_name, ordinal_position",
    )
    .load::<Row2>(conn)?;
    let mut out: HashMap<String, Vec<(String, String)>> = HashMap::new();
    for r in rows {
        if let Some((t, c)) = r.a.split_once('.') {
            out.entry(t.to_owned())
                .or_default()
                .push((c.to_owned(), r.b));
        }
    }
    Ok(out)
}

/// Foreign keys in PostgreSQL: (table, referenced table, column).
fn pg_foreign_keys(conn: &mut DbConn) -> anyhow::Result<Vec<(String, String, String)>> {
    #[derive(QueryableByName)]
    struct Fk {
        #[diesel(sql_type = Text)]
        t: String,
        #[diesel(sql_type = Text)]
        r: String,
        #[diesel(sql_type = Text)]
        c: String,
    }
    Ok(diesel::sql_query(
        "SELECT cl.relname AS t, rf.relname AS r, a.attname AS c \
         FROM pg_constraint co \
         JOIN pg_class cl ON cl.oid = co.conrelid \
         JOIN pg_class rf ON rf.oid = co.confrelid \
         JOIN pg_namespace n ON n.oid = cl.relnamespace \
         JOIN pg_attribute a ON a.attrelid = co.conrelid AND a.attnum = ANY (co.conkey) \
         WHERE co.contype = 'f' AND n.nspname = 'public'",
    )
    .load::<Fk>(conn)?
    .into_iter()
    .map(|f| (f.t, f.r, f.c))
    .collect())
}

/// Tables in an order where every table comes after those it references.
fn fk_order(
    tables: &BTreeSet<String>,
    fks: &[(String, String, String)],
) -> anyhow::Result<Vec<String>> {
    let mut deps: BTreeMap<&str, BTreeSet<&str>> = tables
        .iter()
        .map(|t| (t.as_str(), BTreeSet::new()))
        .collect();
    for (t, r, _) in fks {
        if t != r && tables.contains(t) && tables.contains(r) {
            deps.get_mut(t.as_str()).expect("listed").insert(r.as_str());
        }
    }
    let mut order = Vec::new();
    while !deps.is_empty() {
        let ready: Vec<&str> = deps
            .iter()
            .filter(|(_, d)| d.is_empty())
            .map(|(t, _)| *t)
            .collect();
        if ready.is_empty() {
            bail!("the tables' foreign keys form a cycle: {:?}", deps.keys());
        }
        for t in &ready {
            deps.remove(t);
            order.push((*t).to_owned());
        }
        for d in deps.values_mut() {
            for t in &ready {
                d.remove(t);
            }
        }
    }
    Ok(order)
}

/// What was copied: rows per table.
pub struct Copied {
    pub tables: Vec<(String, i64)>,
}

/// Copies the SQLite database at `from` into the empty PostgreSQL database at `to`.
/// `progress` is told each table's name and size, then each batch's rows.
pub fn copy(
    from: &str,
    to: &str,
    progress: &mut dyn FnMut(Progress<'_>),
) -> anyhow::Result<Copied> {
    if Backend::from_url(from).map_err(anyhow::Error::msg)? != Backend::Sqlite {
        bail!("db copy reads a SQLite database: give --database-url sqlite://PATH (or --data-dir)");
    }
    if Backend::from_url(to).map_err(anyhow::Error::msg)? != Backend::Postgres {
        bail!("--to must be a postgres:// URL");
    }
    let mut target = super::backup::open(to)?;
    let newer: Option<String> = {
        #[derive(QueryableByName)]
        struct V {
            #[diesel(sql_type = Nullable<Text>)]
            v: Option<String>,
        }
        let has_table = !diesel::sql_query(
            "SELECT tablename AS a, schemaname AS b FROM pg_tables \
             WHERE schemaname = 'public' AND tablename = '__diesel_schema_migrations'",
        )
        .load::<Row2>(&mut target)?
        .is_empty();
        if has_table {
            diesel::sql_query("SELECT MAX(version) AS v FROM __diesel_schema_migrations")
                .get_result::<V>(&mut target)?
                .v
        } else {
            None
        }
    };
    let ours = super::latest_migration(Backend::Postgres);
    if let Some(v) = newer.filter(|v| v.as_str() > ours.as_str()) {
        bail!(
            "the PostgreSQL database has schema {v}, newer than this Tidings ({ours}): use the newer version"
        );
    }
    drop(target);
    // Both at this version's schema.
    Db::connect(from, 1).context("the SQLite database")?;
    Db::connect(to, 1).context("the PostgreSQL database")?;

    let mut source = super::backup::open(from)?;
    let mut target = super::backup::open(to)?;
    let columns = pg_columns(&mut target)?;
    let fks = pg_foreign_keys(&mut target)?;
    let in_sqlite: BTreeSet<String> = table_names(&mut source)?.into_iter().collect();
    let tables: BTreeSet<String> = columns
        .keys()
        .filter(|t| in_sqlite.contains(*t) && t.as_str() != "__diesel_schema_migrations")
        .cloned()
        .collect();
    for t in &tables {
        let n = count(&mut target, t)?;
        if n > 0 {
            bail!(
                "the PostgreSQL database is not empty ({t} has {n} rows): copy into an empty database"
            );
        }
    }
    let order = fk_order(&tables, &fks)?;

    // One snapshot of the source, one transaction on the target.
    source.batch_execute("BEGIN")?;
    target.batch_execute("BEGIN")?;
    let mut copied = Vec::new();
    for table in &order {
        let cols = &columns[table];
        let self_refs: Vec<&str> = fks
            .iter()
            .filter(|(t, r, _)| t == table && r == table)
            .map(|(_, _, c)| c.as_str())
            .collect();
        let total = count(&mut source, table)?;
        progress(Progress::Table {
            name: table,
            rows: total,
        });
        let json_fields: Vec<String> = cols
            .iter()
            .map(|(c, ty)| {
                let v = if ty == "boolean" {
                    format!("CASE WHEN {0} IS NULL THEN NULL WHEN {0} THEN json('true') ELSE json('false') END", q(c))
                } else {
                    q(c)
                };
                format!("'{}', {v}", c.replace('\'', "''"))
            })
            .collect();
        let insert_cols: Vec<String> = cols
            .iter()
            .map(|(c, _)| {
                if self_refs.contains(&c.as_str()) {
                    format!("NULL AS {}", q(c))
                } else {
                    q(c)
                }
            })
            .collect();
        let col_list = cols
            .iter()
            .map(|(c, _)| q(c))
            .collect::<Vec<_>>()
            .join(", ");
        let insert = format!(
            "INSERT INTO {t} ({col_list}) SELECT {sel} FROM json_populate_recordset(NULL::{t}, $1::json)",
            t = q(table),
            sel = insert_cols.join(", ")
        );
        let update = (!self_refs.is_empty()).then(|| {
            let sets = self_refs
                .iter()
                .map(|c| format!("{0} = j.{0}", q(c)))
                .collect::<Vec<_>>()
                .join(", ");
            format!(
                "UPDATE {t} SET {sets} FROM json_populate_recordset(NULL::{t}, $1::json) AS j \
                 WHERE {t}.id = j.id",
                t = q(table)
            )
        });
        let mut batches: Vec<String> = Vec::new();
        let mut offset = 0;
        while offset < total {
            let select = format!(
                "SELECT json_group_array(json_object({})) AS j FROM \
                 (SELECT * FROM {} ORDER BY rowid LIMIT {BATCH} OFFSET {offset})",
                json_fields.join(", "),
                q(table)
            );
            let batch = diesel::sql_query(select)
                .get_result::<Json>(&mut source)
                .with_context(|| format!("reading {table}"))?
                .j
                .unwrap_or_else(|| "[]".into());
            diesel::sql_query(&insert)
                .bind::<Text, _>(&batch)
                .execute(&mut target)
                .with_context(|| format!("writing {table}"))?;
            let n = (total - offset).min(BATCH);
            progress(Progress::Rows(n as u64));
            if update.is_some() {
                batches.push(batch);
            }
            offset += BATCH;
        }
        if let Some(update) = &update {
            for batch in &batches {
                diesel::sql_query(update)
                    .bind::<Text, _>(batch)
                    .execute(&mut target)
                    .with_context(|| format!("linking {table} to itself"))?;
            }
        }
        let written = count(&mut target, table)?;
        if written != total {
            bail!("{table}: {total} rows in SQLite but {written} written; nothing was copied");
        }
        copied.push((table.clone(), total));
    }
    target.batch_execute("COMMIT")?;
    source.batch_execute("COMMIT")?;
    // Checked again after the commit, from a new connection.
    let mut check = super::backup::open(to)?;
    for (table, n) in &copied {
        let found = count(&mut check, table)?;
        if found != *n {
            return Err(anyhow!(
                "{table}: {n} rows copied but {found} found afterwards"
            ));
        }
    }
    Ok(Copied { tables: copied })
}

/// What `copy` reports as it goes.
pub enum Progress<'a> {
    Table { name: &'a str, rows: i64 },
    Rows(u64),
}
