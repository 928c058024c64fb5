//! Group commit for the inbox: verified activities are queued and one writer task applies
//! up to [`MAX_BATCH`] of them per write transaction.
//!
//! One transaction per activity made the commit (the WAL write on SQLite, the WAL flush
//! on PostgreSQL) the bottleneck of ingestion. A batch shares one commit, while each
//! activity still succeeds or fails alone, and its request gets its own answer: when one
//! fails, the batch is written again with each activity in its own savepoint (see
//! [`write_batch`]). Idempotency stays per activity: the record of its id in
//! `inbox_activities` is written with its effect, so a duplicate inside one batch is seen
//! like a duplicate across batches.
//!
//! The writer takes what is queued when it becomes free; it does not wait to fill a
//! batch, so a lone activity is written at once. There is one writer, on both backends:
//! SQLite has one write lock anyway, and on PostgreSQL one writer with larger batches
//! stored more per second than two or four writers with smaller ones (4,400–4,600/s
//! against 3,800–3,900/s and 3,400–3,500/s in the benchmark, docs/performance.md), with
//! less CPU per activity. Why exactly (fewer commits, fewer waits between writers) was not
//! profiled.

use std::collections::HashSet;
use std::sync::{Arc, OnceLock};

use chrono::Utc;
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use serde_json::Value;
use tokio::sync::{mpsc, oneshot};

use super::{Ctx, DUPLICATE, Prepared, apply, is_duplicate};
use crate::db::schema::inbox_activities;
use crate::db::{Db, DbConn, write_tx};
use crate::error::AppError;
use crate::service::stories::{KnownTags, known_tags};

/// Activities applied at most in one transaction. Bounds how long the write lock is held
/// (other writers, such as people posting, wait behind a batch).
pub const MAX_BATCH: usize = 64;

/// Verified activities waiting for the writer. Senders wait when it is full.
const QUEUE: usize = 1024;

/// One verified activity and what was prepared for it.
pub(crate) struct Job {
    pub id: String,
    pub kind: String,
    pub activity: Value,
    pub prepared: Prepared,
    pub ctx: Ctx,
}

impl Job {
    fn apply(&self, conn: &mut DbConn, known: &KnownTags) -> Result<(), AppError> {
        apply(
            conn,
            &self.ctx,
            &self.kind,
            &self.activity,
            &self.prepared,
            known,
        )
    }
}

type Reply = oneshot::Sender<Result<(), AppError>>;

/// The queue in front of the writer task, started on first use (inside the runtime).
#[derive(Clone, Default)]
pub struct InboxWriter {
    tx: Arc<OnceLock<mpsc::Sender<(Job, Reply)>>>,
}

impl InboxWriter {
    /// Queues `job` and waits until its batch is committed (or it failed alone).
    pub(crate) async fn apply(&self, db: &Db, job: Job) -> Result<(), AppError> {
        let tx = self.tx.get_or_init(|| {
            let (tx, rx) = mpsc::channel(QUEUE);
            tokio::spawn(run(db.clone(), rx));
            tx
        });
        let (reply, answer) = oneshot::channel();
        tx.send((job, reply))
            .await
            .map_err(|_| AppError::internal(anyhow::anyhow!("the inbox writer has stopped")))?;
        answer.await.map_err(|_| {
            AppError::internal(anyhow::anyhow!("the inbox writer dropped an activity"))
        })?
    }
}

/// The writer: takes what is queued (at most [`MAX_BATCH`]) and writes it in one
/// transaction on the blocking pool. Ends when every sender is gone.
async fn run(db: Db, mut rx: mpsc::Receiver<(Job, Reply)>) {
    loop {
        let mut batch = Vec::with_capacity(MAX_BATCH);
        if rx.recv_many(&mut batch, MAX_BATCH).await == 0 {
            return;
        }
        let size = batch.len();
        let written = db
            .run(move |conn| {
                write_batch(conn, batch);
                Ok(())
            })
            .await;
        if let Err(e) = written {
            // The replies went with the closure; their requests see a dropped channel.
            tracing::error!(error = %e, size, "inbox batch lost");
        }
    }
}

/// Writes one batch and answers each job. Each job succeeds or fails alone: an error
/// inside one job (a refusal, or on PostgreSQL a deadlock with another writer) undoes that
/// job only. When the transaction itself fails (cannot begin or commit), every job gets
/// that error.
///
/// The batch is first written the short way: the ids of all its activities are recorded
/// in one statement, the tags its notes name that exist are read in one query, and the
/// activities are applied without savepoints (four statements, round trips on
/// PostgreSQL, fewer per activity). A duplicate is refused before anything
/// of it is written, so it needs no undoing. Any other error rolls the whole transaction
/// back, and the batch is written again with a savepoint around each job, which gives
/// every job the same outcome it would have had alone.
fn write_batch(conn: &mut DbConn, jobs: Vec<(Job, Reply)>) {
    let (jobs, replies): (Vec<Job>, Vec<Reply>) = jobs.into_iter().unzip();
    let results = write_jobs(conn, &jobs);
    match results {
        Ok(results) => {
            for (reply, result) in replies.into_iter().zip(results) {
                let _ = reply.send(result);
            }
        }
        Err(e) => {
            // Nothing of the batch was kept: each request fails (500) and its sender
            // delivers again later, as peers do for any failed delivery.
            tracing::warn!(error = %e, size = jobs.len(), "inbox batch failed");
            for reply in replies {
                let _ = reply.send(Err(AppError::internal(anyhow::anyhow!(
                    "inbox batch failed: {e}"
                ))));
            }
        }
    }
}

/// The outcome of each job, in order (see [`write_batch`]).
fn write_jobs(conn: &mut DbConn, jobs: &[Job]) -> Result<Vec<Result<(), AppError>>, AppError> {
    let size = jobs.len();
    let mut redo = false;
    let outcome = write_tx(conn, |conn| {
        let mut fresh = record_all(conn, jobs)?;
        let known = known_tags(conn, jobs.iter().flat_map(|j| j.prepared.hashtags()))?;
        let mut results = Vec::with_capacity(size);
        for job in jobs {
            // The first job with a new id applies it; any other is a duplicate.
            let result = if fresh.remove(job.id.as_str()) {
                job.apply(conn, &known)
            } else {
                Err(AppError::conflict(DUPLICATE))
            };
            if result.as_ref().is_err_and(|e| !is_duplicate(e)) {
                redo = true;
                return Err(AppError::internal(anyhow::anyhow!("redo with savepoints")));
            }
            results.push(result);
        }
        Ok(results)
    });
    if !redo {
        return outcome;
    }
    write_tx(conn, |conn| {
        let mut results = Vec::with_capacity(size);
        for job in jobs {
            conn.batch_execute("SAVEPOINT inbox_activity")?;
            let result = record_and_apply(conn, job, &KnownTags::new());
            if result.is_ok() {
                conn.batch_execute("RELEASE SAVEPOINT inbox_activity")?;
            } else {
                conn.batch_execute(
                    "ROLLBACK TO SAVEPOINT inbox_activity; RELEASE SAVEPOINT inbox_activity",
                )?;
            }
            results.push(result);
        }
        Ok(results)
    })
}

/// Records the ids of a batch's activities in one statement; returns those that were not
/// recorded before.
fn record_all(conn: &mut DbConn, jobs: &[Job]) -> Result<HashSet<String>, AppError> {
    let received_at = Utc::now().naive_utc();
    let rows: Vec<_> = jobs
        .iter()
        .map(|job| {
            (
                inbox_activities::ap_id.eq(job.id.as_str()),
                inbox_activities::received_at.eq(received_at),
            )
        })
        .collect();
    let fresh: Vec<String> =
        crate::native!(conn, |c| diesel::insert_into(inbox_activities::table)
            .values(&rows)
            .on_conflict_do_nothing()
            .returning(inbox_activities::ap_id)
            .get_results(c))?;
    Ok(fresh.into_iter().collect())
}

/// Records the activity's id (a duplicate is refused) and applies it.
fn record_and_apply(conn: &mut DbConn, job: &Job, known: &KnownTags) -> Result<(), AppError> {
    if record_all(conn, std::slice::from_ref(job))?.is_empty() {
        return Err(AppError::conflict(DUPLICATE));
    }
    job.apply(conn, known)
}

#[cfg(test)]
mod tests {
    use diesel::prelude::*;
    use serde_json::json;

    use super::{Ctx, Job, Prepared, write_jobs};
    use crate::db::Db;
    use crate::db::schema::inbox_activities;

    fn job(id: &str, kind: &str) -> Job {
        let actor = "https://peer.test/users/ann";
        Job {
            id: format!("https://peer.test/activities/{id}"),
            kind: kind.into(),
            activity: json!({ "id": format!("https://peer.test/activities/{id}"),
                              "type": kind, "actor": actor }),
            prepared: Prepared::Nothing,
            ctx: Ctx {
                base: "https://tidings.test".into(),
                signer_id: 1,
                signer_ap_id: actor.into(),
            },
        }
    }

    fn outcome(result: &Result<(), crate::error::AppError>) -> String {
        match result {
            Ok(()) => "ok".into(),
            Err(e) => e.public_message(),
        }
    }

    /// A batch is written in one transaction, but each activity keeps its own outcome: a
    /// refusal after the activity's id was recorded takes the record back (the batch is
    /// written again with savepoints), and a repeated id, in the batch or from an earlier
    /// one, is a duplicate that changes nothing.
    #[tokio::test]
    async fn each_activity_of_a_batch_is_applied_refused_or_recognised_alone() {
        let dir = std::env::temp_dir().join(format!("tidings-batch-{}", crate::db::ids::new_id()));
        let db = Db::connect(&format!("sqlite://{}", dir.join("t.db").display()), 2).unwrap();
        let batch = |jobs: Vec<Job>| {
            db.run(move |conn| {
                let results = write_jobs(conn, &jobs)?;
                let mut ids: Vec<String> = inbox_activities::table
                    .select(inbox_activities::ap_id)
                    .load(conn)?;
                ids.sort();
                Ok((
                    results.iter().map(outcome).collect::<Vec<_>>(),
                    ids.iter()
                        .map(|i| i.rsplit('/').next().unwrap().to_owned())
                        .collect::<Vec<_>>(),
                ))
            })
        };

        // An unknown type is accepted and ignored; a repeated id is a duplicate.
        let (got, recorded) = batch(vec![job("a", "Ping"), job("a", "Ping"), job("c", "Ping")])
            .await
            .unwrap();
        assert_eq!(got, ["ok", "duplicate activity", "ok"]);
        assert_eq!(recorded, ["a", "c"]);

        // A Follow without object is refused inside the write, after its id was recorded.
        let (got, recorded) = batch(vec![
            job("d", "Ping"),
            job("b", "Follow"),
            job("a", "Ping"),
            job("e", "Ping"),
        ])
        .await
        .unwrap();
        assert_eq!(got[0], "ok");
        assert!(got[1].contains("Follow without object"), "{got:?}");
        assert_eq!(got[2..], ["duplicate activity", "ok"]);
        assert_eq!(
            recorded,
            ["a", "c", "d", "e"],
            "the refused activity's id was not kept"
        );

        drop(db);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
