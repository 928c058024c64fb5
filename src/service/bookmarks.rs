//! Bookmarks (private marks on posts; listed by `timelines::bookmarks`) and timeline
//! markers (where a person stopped reading, synced between their apps).

use chrono::{NaiveDateTime, Utc};
use diesel::prelude::*;

use super::{Services, lock_post, visibility};
use crate::db::models::{Account, Bookmark, Marker};
use crate::db::schema::{bookmarks, markers};
use crate::db::{ids, is_unique_violation};
use crate::error::{AppError, ErrorKind};

/// Bookmarks a post; bookmarking twice is bookmarking once. Deleted or removed posts
/// cannot be bookmarked (410).
pub async fn bookmark(svc: &Services, account: &Account, post_id: i64) -> Result<(), AppError> {
    let account_id = account.id;
    let done = svc
        .db
        .write(move |conn| {
            let post = lock_post(conn, post_id)?;
            visibility::ensure(conn, Some(account_id), post.audience())?;
            let exists = bookmarks::table
                .filter(bookmarks::account_id.eq(account_id))
                .filter(bookmarks::post_id.eq(post_id))
                .count()
                .get_result::<i64>(conn)?
                > 0;
            if exists {
                return Ok(());
            }
            let inserted = diesel::insert_into(bookmarks::table)
                .values(&Bookmark {
                    id: ids::new_id(),
                    account_id,
                    post_id,
                    created_at: Utc::now().naive_utc(),
                })
                .execute(conn);
            match inserted {
                Ok(_) => Ok(()),
                // A concurrent request bookmarked first: roll back, it is there.
                Err(e) if is_unique_violation(&e) => Err(AppError::conflict(ALREADY)),
                Err(e) => Err(AppError::internal(e)),
            }
        })
        .await;
    match done {
        Err(e) if matches!(&e.kind, ErrorKind::Conflict(m) if m == ALREADY) => Ok(()),
        other => other,
    }
}

const ALREADY: &str = "already bookmarked";

/// Removes a bookmark; removing one that is not there changes nothing.
pub async fn unbookmark(svc: &Services, account: &Account, post_id: i64) -> Result<(), AppError> {
    let account_id = account.id;
    svc.db
        .write(move |conn| {
            diesel::delete(
                bookmarks::table
                    .filter(bookmarks::account_id.eq(account_id))
                    .filter(bookmarks::post_id.eq(post_id)),
            )
            .execute(conn)?;
            Ok(())
        })
        .await
}

/// The timelines that have markers.
pub const MARKER_TIMELINES: &[&str] = &["home", "notifications"];

/// Where a person stopped reading a timeline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MarkerView {
    pub timeline: String,
    pub last_read_id: String,
    /// Goes up by one with every change (clients use it to detect conflicts).
    pub version: i64,
    pub updated_at: NaiveDateTime,
}

impl From<Marker> for MarkerView {
    fn from(m: Marker) -> MarkerView {
        MarkerView {
            timeline: m.timeline,
            last_read_id: m.last_read_id,
            version: m.version,
            updated_at: m.updated_at,
        }
    }
}

/// The account's markers of these timelines (unknown names are ignored; an empty list
/// means all).
pub async fn markers(
    svc: &Services,
    account_id: i64,
    timelines: Vec<String>,
) -> Result<Vec<MarkerView>, AppError> {
    let wanted: Vec<String> = if timelines.is_empty() {
        MARKER_TIMELINES.iter().map(|t| (*t).to_owned()).collect()
    } else {
        timelines
            .into_iter()
            .filter(|t| MARKER_TIMELINES.contains(&t.as_str()))
            .collect()
    };
    svc.db
        .run(move |conn| {
            Ok(markers::table
                .filter(markers::account_id.eq(account_id))
                .filter(markers::timeline.eq_any(&wanted))
                .order(markers::timeline.asc())
                .load::<Marker>(conn)?
                .into_iter()
                .map(MarkerView::from)
                .collect())
        })
        .await
}

/// Sets where the account stopped reading a timeline (`home` or `notifications`).
pub async fn set_marker(
    svc: &Services,
    account_id: i64,
    timeline: &str,
    last_read_id: &str,
) -> Result<MarkerView, AppError> {
    if !MARKER_TIMELINES.contains(&timeline) {
        return Err(AppError::field(
            "timeline",
            "A marker is for the home or notifications timeline.",
        ));
    }
    let last_read_id = last_read_id.trim().to_owned();
    if last_read_id.is_empty() || last_read_id.parse::<i64>().is_err() {
        return Err(AppError::field(
            "last_read_id",
            "last_read_id must be an id.",
        ));
    }
    let timeline = timeline.to_owned();
    svc.db
        .write(move |conn| {
            let now = Utc::now().naive_utc();
            let existing = markers::table
                .find((account_id, &timeline))
                .first::<Marker>(conn)
                .optional()?;
            match existing {
                Some(m) => {
                    diesel::update(markers::table.find((account_id, &timeline)))
                        .set((
                            markers::last_read_id.eq(&last_read_id),
                            markers::version.eq(m.version + 1),
                            markers::updated_at.eq(now),
                        ))
                        .execute(conn)?;
                }
                None => {
                    diesel::insert_into(markers::table)
                        .values(&Marker {
                            account_id,
                            timeline: timeline.clone(),
                            last_read_id: last_read_id.clone(),
                            version: 1,
                            updated_at: now,
                        })
                        .execute(conn)?;
                }
            }
            Ok(markers::table
                .find((account_id, &timeline))
                .first::<Marker>(conn)?
                .into())
        })
        .await
}
