//! Media attachments (issue #15): uploads are checked when they arrive (type, declared
//! pixel count), stored as `processing`, and processed off the async workers (the
//! blocking pool, at most one image per core at once); the row then becomes `ready` with
//! its files, or `failed` with the reason. Clients poll `GET /api/v1/media/:id`.

use chrono::Utc;
use diesel::prelude::*;
use std::path::PathBuf;
use tokio::sync::Semaphore;

use super::Services;
use std::collections::HashMap;

use crate::db::models::{Account, Media};
use crate::db::schema::media;
use crate::db::{DbConn, ids};
use crate::error::AppError;
use crate::media::MediaStore;
use crate::media::process::{self, Processed, Rejected};

/// The longest description (alt text), in characters (Mastodon's limit).
pub const MAX_DESCRIPTION_CHARS: usize = 1500;
/// Bytes read from an upload to check its type and declared size before accepting it.
const HEAD_BYTES: u64 = 1024 * 1024;

pub const PROCESSING: &str = "processing";
pub const READY: &str = "ready";
pub const FAILED: &str = "failed";

/// The media folder and the bound on images processed at once.
pub struct MediaWork {
    pub store: MediaStore,
    slots: Semaphore,
}

impl MediaWork {
    /// One processing slot per core.
    pub fn new(dir: PathBuf) -> MediaWork {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        MediaWork {
            store: MediaStore::new(dir),
            slots: Semaphore::new(cores),
        }
    }
}

/// A focal point, each coordinate in -1.0..=1.0 (Mastodon's).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Focus {
    pub x: f64,
    pub y: f64,
}

impl Focus {
    /// Parses `x,y` as Mastodon's `focus` parameter.
    pub fn parse(raw: &str) -> Result<Focus, AppError> {
        let bad = || {
            AppError::field(
                "focus",
                "focus must be two numbers from -1.0 to 1.0, as x,y (e.g. 0.2,-0.5)",
            )
        };
        let (x, y) = raw.split_once(',').ok_or_else(bad)?;
        let x: f64 = x.trim().parse().map_err(|_| bad())?;
        let y: f64 = y.trim().parse().map_err(|_| bad())?;
        if !(-1.0..=1.0).contains(&x) || !(-1.0..=1.0).contains(&y) {
            return Err(bad());
        }
        Ok(Focus { x, y })
    }
}

/// A description as given: at most [`MAX_DESCRIPTION_CHARS`] characters.
pub fn check_description(raw: &str) -> Result<String, AppError> {
    let d = raw.trim();
    if d.chars().count() > MAX_DESCRIPTION_CHARS {
        return Err(AppError::field(
            "description",
            format!("The description is longer than {MAX_DESCRIPTION_CHARS} characters."),
        ));
    }
    Ok(d.to_owned())
}

/// An upload that has arrived in the media folder's `incoming/`.
#[derive(Debug)]
pub struct Upload {
    pub path: PathBuf,
    /// The `Content-Type` it was sent with.
    pub declared: Option<String>,
    pub description: String,
    pub focus: Option<Focus>,
}

fn rejected(e: Rejected) -> AppError {
    AppError::field("file", format!("{}.", capitalised(&e.to_string())))
}

fn capitalised(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

/// Why an upload is refused while it arrives: larger than the limit.
pub fn too_large(svc: &Services) -> AppError {
    rejected(Rejected::TooLarge(
        svc.config.media_max_bytes / (1024 * 1024),
    ))
}

/// Accepts an upload of `account`: checks its type and declared pixel count (422 and the
/// file removed when refused), stores the row as `processing` and starts processing.
/// The handle ends when processing has (v1 waits for it; v2 answers at once).
pub async fn accept(
    svc: &Services,
    account: &Account,
    upload: Upload,
) -> Result<(Media, tokio::task::JoinHandle<()>), AppError> {
    let path = upload.path.clone();
    let declared = upload.declared.clone();
    let checked = tokio::task::spawn_blocking(move || -> Result<(), Rejected> {
        use std::io::Read;
        let mut head = Vec::new();
        std::fs::File::open(&path)
            .and_then(|f| f.take(HEAD_BYTES).read_to_end(&mut head))
            .map_err(|e| Rejected::Corrupt(e.to_string()))?;
        let format = process::sniff(&head, declared.as_deref())?;
        process::check_dimensions(&head, format)?;
        Ok(())
    })
    .await
    .map_err(AppError::internal)?;
    if let Err(e) = checked {
        remove_incoming(&upload.path);
        tracing::info!(account = account.id, reason = %e, "upload refused");
        return Err(rejected(e));
    }
    let now = Utc::now().naive_utc();
    let row = Media {
        id: ids::new_id(),
        account_id: account.id,
        post_id: None,
        position: 0,
        kind: "image".into(),
        state: PROCESSING.into(),
        error: None,
        file_name: None,
        content_type: None,
        file_size: None,
        width: None,
        height: None,
        preview_name: None,
        preview_width: None,
        preview_height: None,
        blurhash: None,
        description: upload.description.clone(),
        focus_x: upload.focus.map(|f| f.x),
        focus_y: upload.focus.map(|f| f.y),
        remote_url: None,
        remote_preview_url: None,
        created_at: now,
        updated_at: now,
    };
    let insert = row.clone();
    if let Err(e) = svc
        .db
        .run(move |conn| {
            diesel::insert_into(media::table)
                .values(&insert)
                .execute(conn)?;
            Ok(())
        })
        .await
    {
        remove_incoming(&upload.path);
        return Err(e);
    }
    let handle = tokio::spawn(run_processing(svc.clone(), row.id, upload));
    Ok((row, handle))
}

fn remove_incoming(path: &std::path::Path) {
    if let Err(e) = std::fs::remove_file(path) {
        tracing::warn!(path = %path.display(), error = %e, "cannot remove an incoming upload");
    }
}

/// Processes one upload under a processing slot and records the outcome.
async fn run_processing(svc: Services, id: i64, upload: Upload) {
    let outcome = match svc.media.slots.acquire().await {
        Ok(_permit) => {
            let work = svc.media.clone();
            let path = upload.path.clone();
            let declared = upload.declared.clone();
            let started = std::time::Instant::now();
            type Stored = Result<(Processed, String, String), std::io::Error>;
            let result = tokio::task::spawn_blocking(move || -> Result<Stored, Rejected> {
                let bytes = std::fs::read(&path).map_err(|e| Rejected::Corrupt(e.to_string()))?;
                let processed = process::process(&bytes, declared.as_deref())?;
                let original = work.store.put(&processed.original);
                let preview = work.store.put(&processed.preview);
                match (original, preview) {
                    (Ok(o), Ok(p)) => Ok(Ok((processed, o, p))),
                    (o, p) => {
                        for name in [o.as_ref().ok(), p.as_ref().ok()].into_iter().flatten() {
                            work.store.remove(name);
                        }
                        let e = o.err().or(p.err()).expect("one failed");
                        Ok(Err(e))
                    }
                }
            })
            .await;
            tracing::debug!(
                id,
                ms = started.elapsed().as_millis() as u64,
                "upload processed"
            );
            result
        }
        Err(_) => return,
    };
    remove_incoming(&upload.path);
    let now = Utc::now().naive_utc();
    let update = match outcome {
        Ok(Ok(Ok((p, original, preview)))) => {
            svc.db
                .run(move |conn| {
                    diesel::update(media::table.find(id))
                        .set((
                            media::state.eq(READY),
                            media::file_name.eq(Some(original)),
                            media::content_type.eq(Some(p.original.format.content_type())),
                            media::file_size.eq(Some(p.original.bytes.len() as i64)),
                            media::width.eq(Some(p.original.width as i32)),
                            media::height.eq(Some(p.original.height as i32)),
                            media::preview_name.eq(Some(preview)),
                            media::preview_width.eq(Some(p.preview.width as i32)),
                            media::preview_height.eq(Some(p.preview.height as i32)),
                            media::blurhash.eq(Some(p.blurhash)),
                            media::updated_at.eq(now),
                        ))
                        .execute(conn)?;
                    Ok(())
                })
                .await
        }
        Ok(Ok(Err(io))) => {
            tracing::error!(id, error = %io, "cannot store a processed upload");
            fail(
                &svc,
                id,
                "The image could not be stored; please try again.".into(),
            )
            .await
        }
        Ok(Err(rejected)) => {
            tracing::info!(id, reason = %rejected, "upload refused while processing");
            fail(&svc, id, format!("{}.", capitalised(&rejected.to_string()))).await
        }
        Err(join) => {
            tracing::error!(id, error = %join, "processing an upload failed");
            fail(&svc, id, "The image could not be processed.".into()).await
        }
    };
    if let Err(e) = update {
        tracing::error!(id, error = %e, "cannot record the outcome of processing");
    }
}

async fn fail(svc: &Services, id: i64, reason: String) -> Result<(), AppError> {
    let now = Utc::now().naive_utc();
    svc.db
        .run(move |conn| {
            diesel::update(media::table.find(id))
                .set((
                    media::state.eq(FAILED),
                    media::error.eq(Some(reason)),
                    media::updated_at.eq(now),
                ))
                .execute(conn)?;
            Ok(())
        })
        .await
}

/// An upload of `account` (404 for anyone else's, as Mastodon).
pub async fn get_own(svc: &Services, account_id: i64, id: i64) -> Result<Media, AppError> {
    svc.db
        .run(move |conn| {
            media::table
                .find(id)
                .filter(media::account_id.eq(account_id))
                .select(Media::as_select())
                .first(conn)
                .optional()?
                .ok_or_else(AppError::not_found)
        })
        .await
}

/// Changes the description and focal point of an upload of `account`.
pub async fn update(
    svc: &Services,
    account_id: i64,
    id: i64,
    description: Option<String>,
    focus: Option<Focus>,
) -> Result<Media, AppError> {
    let now = Utc::now().naive_utc();
    svc.db
        .write(move |conn| {
            let row = media::table
                .find(id)
                .filter(media::account_id.eq(account_id))
                .select(Media::as_select())
                .first(conn)
                .optional()?
                .ok_or_else(AppError::not_found)?;
            let description = description.unwrap_or(row.description);
            let (fx, fy) = match focus {
                Some(f) => (Some(f.x), Some(f.y)),
                None => (row.focus_x, row.focus_y),
            };
            diesel::update(media::table.find(id))
                .set((
                    media::description.eq(description),
                    media::focus_x.eq(fx),
                    media::focus_y.eq(fy),
                    media::updated_at.eq(now),
                ))
                .execute(conn)?;
            Ok(media::table
                .find(id)
                .select(Media::as_select())
                .first(conn)?)
        })
        .await
}

/// The URL a stored file is served at (`base` is the instance's base URL).
pub fn file_url(base: &str, name: &str) -> String {
    format!("{base}/media/{name}")
}

/// Images a post may carry.
pub const MAX_ATTACHMENTS: usize = 4;

fn media_ids_error(message: impl Into<String>) -> AppError {
    AppError::field("media_ids", message)
}

/// Attaches the uploads `ids` (in that order) to the post `post_id` of `account_id`,
/// inside the post's write transaction; uploads of the post left out of `ids` are
/// detached (removed later with the other orphans). Refused (422, nothing changed): more
/// than [`MAX_ATTACHMENTS`], an id given twice, an id that is not an upload of the
/// account, one still processing or failed, one attached to another post.
pub(crate) fn attach(
    conn: &mut DbConn,
    account_id: i64,
    post_id: i64,
    ids: &[i64],
) -> Result<(), AppError> {
    if ids.len() > MAX_ATTACHMENTS {
        return Err(media_ids_error(format!(
            "At most {MAX_ATTACHMENTS} images can be attached."
        )));
    }
    let mut seen = std::collections::HashSet::new();
    if let Some(dup) = ids.iter().find(|id| !seen.insert(**id)) {
        return Err(media_ids_error(format!("Media {dup} is given twice.")));
    }
    let rows: Vec<Media> = media::table
        .filter(media::id.eq_any(ids))
        .filter(media::account_id.eq(account_id))
        .select(Media::as_select())
        .load(conn)?;
    for id in ids {
        let Some(row) = rows.iter().find(|r| r.id == *id) else {
            return Err(media_ids_error(format!(
                "There is no upload {id} of yours."
            )));
        };
        if row.post_id.is_some_and(|p| p != post_id) {
            return Err(media_ids_error(format!(
                "Media {id} is already attached to another post."
            )));
        }
        match row.state.as_str() {
            READY => {}
            PROCESSING => {
                return Err(media_ids_error(format!(
                    "Media {id} is still being processed; try again in a moment."
                )));
            }
            _ => {
                return Err(media_ids_error(format!(
                    "Media {id} could not be processed and cannot be attached."
                )));
            }
        }
    }
    let now = Utc::now().naive_utc();
    diesel::update(
        media::table
            .filter(media::post_id.eq(post_id))
            .filter(media::id.ne_all(ids)),
    )
    .set((media::post_id.eq(None::<i64>), media::updated_at.eq(now)))
    .execute(conn)?;
    for (position, id) in ids.iter().enumerate() {
        diesel::update(media::table.find(id))
            .set((
                media::post_id.eq(Some(post_id)),
                media::position.eq(position as i32),
                media::updated_at.eq(now),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// Changes the images of a post of `account_id` (an edit), in its own transaction.
pub async fn reattach(
    svc: &Services,
    account_id: i64,
    post_id: i64,
    ids: Vec<i64>,
) -> Result<(), AppError> {
    svc.db
        .write(move |conn| attach(conn, account_id, post_id, &ids))
        .await
}

/// The attachments of posts, in order, by post id.
pub(crate) fn load_for_posts(
    conn: &mut DbConn,
    post_ids: &[i64],
) -> Result<HashMap<i64, Vec<Media>>, AppError> {
    let mut out: HashMap<i64, Vec<Media>> = HashMap::new();
    if post_ids.is_empty() {
        return Ok(out);
    }
    let rows: Vec<Media> = media::table
        .filter(media::post_id.eq_any(post_ids))
        .order((media::post_id, media::position, media::id))
        .select(Media::as_select())
        .load(conn)?;
    for row in rows {
        if let Some(post_id) = row.post_id {
            out.entry(post_id).or_default().push(row);
        }
    }
    Ok(out)
}
