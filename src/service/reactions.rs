//! Emoji reactions (EmojiReact on the wire): several different emoji per person per post.

use chrono::Utc;
use diesel::prelude::*;

use super::notifications::{self, Kind};
use super::{Services, lock_post, visibility};
use crate::db::models::{Account, Reaction};
use crate::db::schema::reactions;
use crate::db::{DbConn, ids};
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
            visibility::ensure_id(conn, Some(account_id), post_id)?;
            let added = add_reaction(conn, account_id, post_id, &emoji, |id| {
                format!("{ap_base}/{id}")
            })?;
            if added {
                outbox::reacted(conn, &urls, account_id, post_id, &emoji)?;
            }
            Ok(())
        })
        .await
}

/// Adds a reaction (an emoji already checked with `parse_emoji`) inside a write
/// transaction: the body of [`react`], shared with the inbox. `ap_id` makes the
/// ActivityPub id from the new row's id. Notifies the post's author. Returns whether the
/// reaction is new.
pub(crate) fn add_reaction(
    conn: &mut DbConn,
    account_id: i64,
    post_id: i64,
    emoji: &str,
    ap_id: impl FnOnce(i64) -> String,
) -> Result<bool, AppError> {
    let post = lock_post(conn, post_id)?;
    let exists = reactions::table
        .filter(reactions::account_id.eq(account_id))
        .filter(reactions::post_id.eq(post_id))
        .filter(reactions::emoji.eq(emoji))
        .count()
        .get_result::<i64>(conn)?
        > 0;
    if exists {
        return Ok(false);
    }
    let id = ids::new_id();
    diesel::insert_into(reactions::table)
        .values(&Reaction {
            id,
            ap_id: ap_id(id),
            account_id,
            post_id,
            emoji: emoji.to_owned(),
            created_at: Utc::now().naive_utc(),
        })
        .execute(conn)?;
    notifications::notify(
        conn,
        post.account_id,
        Kind::Reaction,
        account_id,
        Some(post_id),
        emoji,
    )?;
    Ok(true)
}

/// Takes back the reaction stored with an ActivityPub id, if it is the account's (an
/// `Undo` of an `EmojiReact`). Returns whether a reaction went.
pub(crate) fn retract_reaction(
    conn: &mut DbConn,
    account_id: i64,
    ap_id: &str,
) -> Result<bool, AppError> {
    let gone = diesel::delete(
        reactions::table
            .filter(reactions::ap_id.eq(ap_id))
            .filter(reactions::account_id.eq(account_id)),
    )
    .execute(conn)?;
    Ok(gone > 0)
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
            let post = lock_post(conn, post_id)?;
            visibility::ensure(conn, Some(account_id), post.audience())?;
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
