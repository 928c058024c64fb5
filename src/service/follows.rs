//! Following a story: its new replies appear in the follower's notifications.

use chrono::Utc;
use diesel::prelude::*;

use super::{Services, lock_post};
use crate::db::is_unique_violation;
use crate::db::models::{Account, StoryFollow};
use crate::db::schema::story_follows;
use crate::error::AppError;

pub async fn follow_story(
    svc: &Services,
    account: &Account,
    story_id: i64,
) -> Result<(), AppError> {
    let account_id = account.id;
    svc.db
        .write(move |conn| {
            let post = lock_post(conn, story_id)?;
            super::visibility::ensure(conn, Some(account_id), post.audience())?;
            if post.in_reply_to_id.is_some() {
                return Err(AppError::bad_request("Only stories can be followed."));
            }
            let already = story_follows::table
                .filter(story_follows::account_id.eq(account_id))
                .filter(story_follows::post_id.eq(story_id))
                .count()
                .get_result::<i64>(conn)?
                > 0;
            if already {
                return Ok(());
            }
            let inserted = diesel::insert_into(story_follows::table)
                .values(&StoryFollow {
                    account_id,
                    post_id: story_id,
                    created_at: Utc::now().naive_utc(),
                })
                .execute(conn);
            match inserted {
                Ok(_) => Ok(()),
                // Following twice is following once.
                Err(e) if is_unique_violation(&e) => Ok(()),
                Err(e) => Err(AppError::internal(e)),
            }
        })
        .await
}

pub async fn unfollow_story(
    svc: &Services,
    account: &Account,
    story_id: i64,
) -> Result<(), AppError> {
    let account_id = account.id;
    svc.db
        .write(move |conn| {
            diesel::delete(
                story_follows::table
                    .filter(story_follows::account_id.eq(account_id))
                    .filter(story_follows::post_id.eq(story_id)),
            )
            .execute(conn)?;
            Ok(())
        })
        .await
}

pub async fn is_following(
    svc: &Services,
    account_id: i64,
    story_id: i64,
) -> Result<bool, AppError> {
    svc.db
        .run(move |conn| {
            Ok(story_follows::table
                .filter(story_follows::account_id.eq(account_id))
                .filter(story_follows::post_id.eq(story_id))
                .count()
                .get_result::<i64>(conn)?
                > 0)
        })
        .await
}
