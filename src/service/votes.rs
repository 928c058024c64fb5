//! Up- and down-votes on stories and replies (Like / Dislike on the wire).

use chrono::Utc;
use diesel::prelude::*;

use super::notifications::{self, Kind};
use super::{Services, lock_post, visibility};
use crate::db::models::{Account, Vote};
use crate::db::schema::{posts, votes};
use crate::db::{DbConn, ids};
use crate::domain::scoring;
use crate::error::AppError;
use crate::federation::outbox;

/// A vote as asked for: up, down, or none (take back).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VoteChoice {
    Up,
    Down,
    Clear,
}

impl VoteChoice {
    pub fn parse(s: &str) -> Result<VoteChoice, AppError> {
        match s {
            "up" | "1" => Ok(VoteChoice::Up),
            "down" | "-1" => Ok(VoteChoice::Down),
            "none" | "clear" | "0" => Ok(VoteChoice::Clear),
            _ => Err(AppError::bad_request("A vote is up, down or none.")),
        }
    }

    fn value(self) -> i32 {
        match self {
            VoteChoice::Up => 1,
            VoteChoice::Down => -1,
            VoteChoice::Clear => 0,
        }
    }
}

/// The counters of a post after a vote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tally {
    pub up: i64,
    pub down: i64,
    pub my_vote: i32,
}

/// Sets (or clears) the voter's vote on a post. One vote per person per post, enforced by
/// a unique index; the post row is locked first so concurrent votes on one post queue up
/// and the counters stay exact.
pub async fn vote(
    svc: &Services,
    voter: &Account,
    post_id: i64,
    choice: VoteChoice,
) -> Result<Tally, AppError> {
    let voter_id = voter.id;
    let ap_base = format!("{}/votes", svc.base_url());
    let urls = crate::federation::urls(svc);
    svc.db
        .write(move |conn| {
            // The vote as it was, read under the post's lock, tells the outbox what to send.
            let post = lock_post(conn, post_id)?;
            visibility::ensure(conn, Some(voter_id), post.audience())?;
            let before = votes::table
                .filter(votes::account_id.eq(voter_id))
                .filter(votes::post_id.eq(post_id))
                .first::<Vote>(conn)
                .optional()?;
            let tally = cast_vote(conn, voter_id, post_id, choice, VoteId::Local(&ap_base))?;
            outbox::vote_changed(conn, &urls, voter_id, post_id, before.as_ref())?;
            Ok(tally)
        })
        .await
}

/// The ActivityPub id a vote is stored with.
#[derive(Debug, Clone, Copy)]
pub(crate) enum VoteId<'a> {
    /// Ours: `{base}/{row id}` (the `…/votes` base), kept when the vote changes.
    Local(&'a str),
    /// The id of the remote `Like` / `Dislike`; a changed vote takes the new one.
    Remote(&'a str),
}

/// Sets (or clears) an account's vote on a post inside a write transaction: the body of
/// [`vote`], shared with the inbox. Locks the post, keeps the counters exact and notifies
/// the post's author of a new vote.
pub(crate) fn cast_vote(
    conn: &mut DbConn,
    voter_id: i64,
    post_id: i64,
    choice: VoteChoice,
    ap_id: VoteId<'_>,
) -> Result<Tally, AppError> {
    let post = lock_post(conn, post_id)?;
    let existing = votes::table
        .filter(votes::account_id.eq(voter_id))
        .filter(votes::post_id.eq(post_id))
        .first::<Vote>(conn)
        .optional()?;
    let now = Utc::now().naive_utc();
    let value = choice.value();
    match (&existing, value) {
        (None, 0) => {}
        (Some(v), 0) => {
            diesel::delete(votes::table.find(v.id)).execute(conn)?;
        }
        (Some(v), value) if v.value == value => {}
        (Some(v), value) => {
            diesel::update(votes::table.find(v.id))
                .set((votes::value.eq(value), votes::updated_at.eq(now)))
                .execute(conn)?;
            if let VoteId::Remote(ap_id) = ap_id {
                diesel::update(votes::table.find(v.id))
                    .set(votes::ap_id.eq(ap_id))
                    .execute(conn)?;
            }
        }
        (None, value) => {
            let id = ids::new_id();
            let ap_id = match ap_id {
                VoteId::Local(base) => format!("{base}/{id}"),
                VoteId::Remote(ap_id) => ap_id.to_owned(),
            };
            diesel::insert_into(votes::table)
                .values(&Vote {
                    id,
                    ap_id,
                    account_id: voter_id,
                    post_id,
                    value,
                    created_at: now,
                    updated_at: now,
                })
                .execute(conn)?;
            let detail = if value > 0 { "up" } else { "down" };
            notifications::notify(
                conn,
                post.account_id,
                Kind::Vote,
                voter_id,
                Some(post_id),
                detail,
            )?;
        }
    }
    let (up, down) = recount(conn, post_id)?;
    Ok(Tally {
        up,
        down,
        my_vote: value,
    })
}

/// Takes back the vote stored with an ActivityPub id, if it is the account's (an `Undo`
/// of a `Like` or `Dislike`). Returns whether a vote went.
pub(crate) fn retract_vote(
    conn: &mut DbConn,
    account_id: i64,
    ap_id: &str,
) -> Result<bool, AppError> {
    let Some(v) = votes::table
        .filter(votes::ap_id.eq(ap_id))
        .filter(votes::account_id.eq(account_id))
        .first::<Vote>(conn)
        .optional()?
    else {
        return Ok(false);
    };
    lock_post(conn, v.post_id)?;
    // Matched by id again under the post's lock: a concurrent Dislike may have replaced
    // this Like (same row, new id) while we waited, and that vote must stay.
    let gone = diesel::delete(
        votes::table
            .filter(votes::id.eq(v.id))
            .filter(votes::ap_id.eq(ap_id)),
    )
    .execute(conn)?;
    if gone == 0 {
        return Ok(false);
    }
    recount(conn, v.post_id)?;
    Ok(true)
}

/// Recomputes a post's vote counters from the votes themselves (the post row is locked).
pub fn recount(conn: &mut DbConn, post_id: i64) -> Result<(i64, i64), AppError> {
    let count = |conn: &mut DbConn, value: i32| -> Result<i64, AppError> {
        Ok(votes::table
            .filter(votes::post_id.eq(post_id))
            .filter(votes::value.eq(value))
            .count()
            .get_result(conn)?)
    };
    let up = count(conn, 1)?;
    let down = count(conn, -1)?;
    diesel::update(posts::table.find(post_id))
        .set((
            posts::up_count.eq(up),
            posts::down_count.eq(down),
            posts::score.eq(scoring::score(up, down)),
            posts::best.eq(scoring::wilson_lower_bound(up, down)),
        ))
        .execute(conn)?;
    Ok((up, down))
}
