//! `Like` (up-vote), `Dislike` (down-vote), `EmojiReact` and a `Like` carrying an emoji
//! (reactions), and their `Undo`: through the same service code as local votes and
//! reactions, stored with the activity's id so an Undo takes back exactly that.

use serde_json::Value;

use super::parse::{Reaction, id_of, parse_reaction};
use super::{Ctx, post_by_ap_id};
use crate::db::DbConn;
use crate::error::AppError;
use crate::service::reactions::{add_reaction, retract_reaction};
use crate::service::votes::{VoteChoice, VoteId, cast_vote, retract_vote};

/// A vote or reaction on a post we have. Posts we do not have are ignored; a custom emoji
/// in an `EmojiReact` is ignored, in a `Like` it counts as the up-vote the Like is.
pub(super) fn react(conn: &mut DbConn, ctx: &Ctx, activity: &Value) -> Result<(), AppError> {
    let id = id_of(activity.get("id")).unwrap_or_default();
    let object = id_of(activity.get("object"))
        .ok_or_else(|| AppError::bad_request("activity without object"))?;
    let Some(post) = post_by_ap_id(conn, &object)? else {
        tracing::debug!(object, "vote or reaction on an unknown post ignored");
        return Ok(());
    };
    if post.deleted_at.is_some() || post.removed_at.is_some() {
        return Ok(());
    }
    let reaction =
        parse_reaction(activity).ok_or_else(|| AppError::bad_request("not a vote or reaction"))?;
    let kind = activity.get("type").and_then(Value::as_str).unwrap_or("");
    match reaction {
        Reaction::Up => vote(conn, ctx, post.id, VoteChoice::Up, &id),
        Reaction::Down => vote(conn, ctx, post.id, VoteChoice::Down, &id),
        Reaction::Emoji(emoji) => {
            add_reaction(conn, ctx.signer_id, post.id, &emoji, |_| id.clone()).map(|_| ())
        }
        Reaction::Unsupported(raw) if kind == "Like" => {
            tracing::debug!(raw, "custom emoji in a Like: counted as an up-vote");
            vote(conn, ctx, post.id, VoteChoice::Up, &id)
        }
        Reaction::Unsupported(raw) => {
            tracing::debug!(raw, "reaction that is not one Unicode emoji ignored");
            Ok(())
        }
    }
}

fn vote(
    conn: &mut DbConn,
    ctx: &Ctx,
    post_id: i64,
    choice: VoteChoice,
    ap_id: &str,
) -> Result<(), AppError> {
    cast_vote(conn, ctx.signer_id, post_id, choice, VoteId::Remote(ap_id)).map(|_| ())
}

/// `Undo` of a vote or reaction by its activity id. Returns whether something went.
pub(super) fn undo(conn: &mut DbConn, ctx: &Ctx, ap_id: &str) -> Result<bool, AppError> {
    if retract_vote(conn, ctx.signer_id, ap_id)? {
        return Ok(true);
    }
    retract_reaction(conn, ctx.signer_id, ap_id)
}
