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
//! A writer takes what is queued when it becomes free; it does not wait to fill a batch,
//! so a lone activity is written at once. SQLite gets one writer (it has one write lock);
//! PostgreSQL gets several, whose batches commit side by side.

use std::sync::{Arc, OnceLock};

use chrono::Utc;
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use serde_json::Value;
use tokio::sync::{mpsc, oneshot};

use super::{Ctx, DUPLICATE, Prepared, apply, is_duplicate};
use crate::db::schema::inbox_activities;
use crate::db::{Backend, Db, DbConn, write_tx};
use crate::error::AppError;

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

type Reply = oneshot::Sender<Result<(), AppError>>;

/// The queue in front of the writer tasks, started on first use (inside the runtime).
#[derive(Clone, Default)]
pub struct InboxWriter {
    tx: Arc<OnceLock<mpsc::Sender<(Job, Reply)>>>,
}

/// Writer tasks: SQLite has one writer at a time anyway; PostgreSQL takes several, and
/// each batch there spends most of its time waiting for statements' round trips.
fn writers(db: &Db) -> usize {
    match db.backend() {
        Backend::Sqlite => 1,
        Backend::Postgres => 2,
    }
}

impl InboxWriter {
    /// Queues `job` and waits until its batch is committed (or it failed alone).
    pub(crate) async fn apply(&self, db: &Db, job: Job) -> Result<(), AppError> {
        let tx = self.tx.get_or_init(|| {
            let (tx, rx) = mpsc::channel(QUEUE);
            let rx = Arc::new(tokio::sync::Mutex::new(rx));
            for _ in 0..writers(db) {
                tokio::spawn(run(db.clone(), rx.clone()));
            }
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

/// A writer: takes what is queued (at most [`MAX_BATCH`]) and writes it in one
/// transaction on the blocking pool. Ends when every sender is gone.
async fn run(db: Db, rx: Arc<tokio::sync::Mutex<mpsc::Receiver<(Job, Reply)>>>) {
    loop {
        let mut batch = Vec::with_capacity(MAX_BATCH);
        if rx.lock().await.recv_many(&mut batch, MAX_BATCH).await == 0 {
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
/// The batch is first written without savepoints: two statements (round trips on
/// PostgreSQL) fewer per activity. A job that is refused before it wrote anything (a
/// duplicate) needs no undoing. Any other error rolls the whole transaction back, and the
/// batch is written again with a savepoint around each job, which gives every job the
/// same outcome it would have had alone.
fn write_batch(conn: &mut DbConn, jobs: Vec<(Job, Reply)>) {
    let (jobs, replies): (Vec<Job>, Vec<Reply>) = jobs.into_iter().unzip();
    let size = jobs.len();
    let mut redo = false;
    let mut outcome = write_tx(conn, |conn| {
        let mut results = Vec::with_capacity(size);
        for job in &jobs {
            let result = record_and_apply(conn, job);
            if result.as_ref().is_err_and(|e| !is_duplicate(e)) {
                redo = true;
                return Err(AppError::internal(anyhow::anyhow!("redo with savepoints")));
            }
            results.push(result);
        }
        Ok(results)
    });
    if redo {
        outcome = write_tx(conn, |conn| {
            let mut results = Vec::with_capacity(size);
            for job in &jobs {
                conn.batch_execute("SAVEPOINT inbox_activity")?;
                let result = record_and_apply(conn, job);
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
        });
    }
    match outcome {
        Ok(results) => {
            for (reply, result) in replies.into_iter().zip(results) {
                let _ = reply.send(result);
            }
        }
        Err(e) => {
            // Nothing of the batch was kept: each request fails (500) and its sender
            // delivers again later, as peers do for any failed delivery.
            tracing::warn!(error = %e, size, "inbox batch failed");
            for reply in replies {
                let _ = reply.send(Err(AppError::internal(anyhow::anyhow!(
                    "inbox batch failed: {e}"
                ))));
            }
        }
    }
}

/// Records the activity's id (a duplicate is refused) and applies it.
fn record_and_apply(conn: &mut DbConn, job: &Job) -> Result<(), AppError> {
    // One statement: a duplicate id inserts nothing (no error, so nothing in the
    // database's log either).
    let received_at = Utc::now().naive_utc();
    let inserted = crate::native!(conn, |c| diesel::insert_into(inbox_activities::table)
        .values((
            inbox_activities::ap_id.eq(&job.id),
            inbox_activities::received_at.eq(received_at),
        ))
        .on_conflict_do_nothing()
        .execute(c))?;
    if inserted == 0 {
        return Err(AppError::conflict(DUPLICATE));
    }
    apply(conn, &job.ctx, &job.kind, &job.activity, &job.prepared)
}
