//! Emoji reactions (EmojiReact on the wire): several different emoji per person per post.

use chrono::Utc;
use diesel::prelude::*;

use super::notifications::{self, Kind};
use super::{Services, lock_post};
use crate::db::ids;
use crate::db::models::{Account, Reaction};
use crate::db::schema::reactions;
use crate::domain::reaction::parse_emoji;
use crate::error::AppError;
use crate::federation::outbox;

/// Adds a reaction; adding the same emoji twice changes nothing.
pub async fn react(
    svc: &Services,
    account: &Account,
    post_id: i64,
    emoji: &str,
) -> Result<(), AppError> {
    let emoji = parse_emoji(emoji).map_err(|m| AppError::field("emoji", m))?;
    let account_id = account.id;
    let ap_base = format!("{}/reactions", svc.base_url());
    let urls = crate::federation::urls(svc);
    svc.db
        .write(move |conn| {
            let post = lock_post(conn, post_id)?;
            let exists = reactions::table
                .filter(reactions::account_id.eq(account_id))
                .filter(reactions::post_id.eq(post_id))
                .filter(reactions::emoji.eq(&emoji))
                .count()
                .get_result::<i64>(conn)?
                > 0;
            if exists {
                return Ok(());
            }
            let id = ids::new_id();
            diesel::insert_into(reactions::table)
                .values(&Reaction {
                    id,
                    ap_id: format!("{ap_base}/{id}"),
                    account_id,
                    post_id,
                    emoji: emoji.clone(),
                    created_at: Utc::now().naive_utc(),
                })
                .execute(conn)?;
            outbox::reacted(conn, &urls, account_id, post_id, &emoji)?;
            notifications::notify(
                conn,
                post.account_id,
                Kind::Reaction,
                account_id,
                Some(post_id),
                &emoji,
            )?;
            Ok(())
        })
        .await
}

/// Takes a reaction back; taking back one that is not there changes nothing.
pub async fn unreact(
    svc: &Services,
    account: &Account,
    post_id: i64,
    emoji: &str,
) -> Result<(), AppError> {
    let emoji = parse_emoji(emoji).map_err(|m| AppError::field("emoji", m))?;
    let account_id = account.id;
    let urls = crate::federation::urls(svc);
    svc.db
        .write(move |conn| {
            lock_post(conn, post_id)?;
            outbox::unreacting(conn, &urls, account_id, post_id, &emoji)?;
            diesel::delete(
                reactions::table
                    .filter(reactions::account_id.eq(account_id))
                    .filter(reactions::post_id.eq(post_id))
                    .filter(reactions::emoji.eq(&emoji)),
            )
            .execute(conn)?;
            Ok(())
        })
        .await
}
