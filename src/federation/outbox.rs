//! What Tidings sends: the activities of local accounts (builders) and whom they go to
//! (fan-out). Every function here runs inside the write transaction of the change that
//! causes the activity and only queues rows in `deliveries` (see [`super::delivery`]), so
//! an activity is sent if and only if its change is committed.
//!
//! - a local story or reply: `Create` / `Update` / `Delete` (with a `Tombstone`) of its
//!   `Note`, addressed by its visibility (docs/visibility.md), to the shared inbox (or else
//!   the inbox) of each remote account addressed, once per inbox URL: the author's
//!   followers (not for direct posts), the remote accounts mentioned, and for public and
//!   unlisted replies the parent's author;
//! - a vote or reaction on a remote post: `Like` / `Dislike` / `EmojiReact`, and `Undo` of
//!   each, to the post's author (votes on local posts send nothing);
//! - a follow of a remote account: `Follow`, and `Undo(Follow)` on unfollow;
//! - a boost of any post: `Announce` (to Public, cc the booster's followers and the
//!   post's author, as Mastodon addresses a public boost), and `Undo(Announce)`, to the
//!   booster's remote followers and the post's author when remote.
//!
//! Every function checks that the acting account is local: the inbox applies remote
//! activities through the same services and nothing must echo back.

use std::collections::HashSet;

use chrono::Utc;
use diesel::prelude::*;
use serde_json::{Value, json};
use url::Url;

use super::delivery;
use super::fetch::authority;
use super::objects::{self, Urls};
use super::protocol::{AS_CONTEXT, PUBLIC, Tombstone, object_context};
use crate::db::models::{Account, Announce, Follow, Post, Reaction, Vote};
use crate::db::schema::{accounts, follows, posts, reactions, votes};
use crate::db::{DbConn, ids};
use crate::error::AppError;
use crate::service::posts::load_posts;

/// What happened to a local post.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PostEvent {
    Created,
    Updated,
    Deleted,
}

pub(super) fn key_id(actor: &str) -> String {
    format!("{actor}#main-key")
}

/// A local account (not suspended), or `None` for remote ones.
pub(super) fn local_account(conn: &mut DbConn, id: i64) -> Result<Option<Account>, AppError> {
    Ok(accounts::table
        .find(id)
        .filter(accounts::domain.is_null())
        .first::<Account>(conn)
        .optional()?)
}

/// The remote accounts among `ids` (not suspended) as (shared inbox or inbox).
pub(super) fn inboxes_of(conn: &mut DbConn, ids: &[i64]) -> Result<Vec<String>, AppError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let rows: Vec<(Option<String>, Option<String>)> = accounts::table
        .filter(accounts::id.eq_any(ids))
        .filter(accounts::domain.is_not_null())
        .filter(accounts::suspended_at.is_null())
        .select((accounts::shared_inbox_url, accounts::inbox_url))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .filter_map(|(shared, inbox)| shared.or(inbox))
        .collect())
}

/// The accounts whose follow of `account_id` was accepted.
pub(super) fn accepted_followers(conn: &mut DbConn, account_id: i64) -> Result<Vec<i64>, AppError> {
    Ok(follows::table
        .filter(follows::followed_id.eq(account_id))
        .filter(follows::state.eq("accepted"))
        .select(follows::follower_id)
        .load(conn)?)
}

/// Queues `activity` once for each distinct inbox, never for our own domain.
pub(super) fn fan_out(
    conn: &mut DbConn,
    urls: &Urls,
    inboxes: impl IntoIterator<Item = String>,
    activity: &Value,
    actor: &Account,
) -> Result<usize, AppError> {
    let mut seen = HashSet::new();
    let key = key_id(&actor.ap_id);
    for inbox in inboxes {
        let ours = Url::parse(&inbox).is_ok_and(|u| authority(&u) == urls.domain);
        if ours || !seen.insert(inbox.clone()) {
            continue;
        }
        delivery::enqueue(conn, &inbox, activity, &key, Some(actor.id))?;
    }
    Ok(seen.len())
}

/// Queues the `Create`, `Update` or `Delete` of a local post for its remote audience,
/// the same for all three: the author's remote followers (accepted follows; not for
/// direct posts), the remote accounts mentioned, and the parent's author when remote
/// (public and unlisted posts; a local reply mentions its parent's author anyway).
pub fn post_event(
    conn: &mut DbConn,
    urls: &Urls,
    post_id: i64,
    event: PostEvent,
) -> Result<(), AppError> {
    // Whom it goes to, from the row alone: most posts have no remote audience, and then
    // nothing more is loaded.
    let Some(row) = posts::table
        .find(post_id)
        .select(Post::as_select())
        .first::<Post>(conn)
        .optional()?
    else {
        return Ok(());
    };
    if !row.local {
        return Ok(());
    }
    let Some(author) = local_account(conn, row.account_id)? else {
        return Ok(());
    };
    if author.suspended_at.is_some() && event != PostEvent::Deleted {
        return Ok(());
    }

    // The parent: its id for `inReplyTo`, its author as a recipient.
    let parent: Option<(String, i64)> = match row.in_reply_to_id {
        Some(p) => posts::table
            .find(p)
            .select((posts::ap_id, posts::account_id))
            .first(conn)
            .optional()?,
        None => None,
    };

    // Whom it goes to (docs/visibility.md): followers for public, unlisted and private
    // posts; the accounts it mentions (rows of `mentions`, which for a local reply hold
    // its parent's author) always; the parent's author for public and unlisted ones too
    // (replies stored before mentions were recorded). Direct posts go to the mentioned
    // only.
    let mut recipient_ids: Vec<i64> = Vec::new();
    if row.visibility != "direct" {
        recipient_ids = accepted_followers(conn, author.id)?;
    }
    if let Some((_, parent_author)) = &parent
        && matches!(row.visibility.as_str(), "public" | "unlisted")
    {
        recipient_ids.push(*parent_author);
    }
    recipient_ids.extend(crate::service::mentions::of_post(conn, post_id)?);
    let mut inboxes = inboxes_of(conn, &recipient_ids)?;
    if inboxes.is_empty() {
        return Ok(());
    }
    inboxes.sort();

    // Loaded as its author sees it (the audience was decided above).
    let Some(post) = load_posts(conn, &[post_id], Some(author.id), &urls.base)?.pop() else {
        return Ok(());
    };
    let note = objects::note(urls, &post, parent.as_ref().map(|(id, _)| id.clone()));

    let now = Utc::now();
    let activity = match event {
        PostEvent::Created => json!({
            "@context": object_context(),
            "id": format!("{}/activity", note.id),
            "type": "Create",
            "actor": author.ap_id,
            "published": note.published,
            "to": note.to,
            "cc": note.cc,
            "object": note,
        }),
        PostEvent::Updated => json!({
            "@context": object_context(),
            "id": format!("{}#updates/{}", note.id, now.timestamp_millis()),
            "type": "Update",
            "actor": author.ap_id,
            "published": note.updated.clone().unwrap_or_else(|| crate::domain::time::rfc3339(&now.naive_utc())),
            "to": note.to,
            "cc": note.cc,
            "object": note,
        }),
        PostEvent::Deleted => json!({
            "@context": object_context(),
            "id": format!("{}#delete", note.id),
            "type": "Delete",
            "actor": author.ap_id,
            "to": note.to,
            "cc": note.cc,
            "object": Tombstone {
                context: None,
                ..objects::tombstone(&note.id)
            },
        }),
    };
    fan_out(conn, urls, inboxes, &activity, &author)?;
    Ok(())
}

/// Queues an `Update` of a local account's `Person` (name, bio, key) for the servers of
/// its remote followers, once per shared inbox, so they show the new name and bio.
pub fn profile_updated(conn: &mut DbConn, urls: &Urls, account_id: i64) -> Result<(), AppError> {
    let Some(account) = local_account(conn, account_id)? else {
        return Ok(());
    };
    if account.suspended_at.is_some() {
        return Ok(());
    }
    let followers = accepted_followers(conn, account.id)?;
    let mut inboxes = inboxes_of(conn, &followers)?;
    if inboxes.is_empty() {
        return Ok(());
    }
    inboxes.sort();
    let person =
        serde_json::to_value(objects::person(urls, &account)).map_err(AppError::internal)?;
    let now = Utc::now();
    let activity = json!({
        "@context": person["@context"].clone(),
        "id": format!("{}#updates/{}", account.ap_id, now.timestamp_millis()),
        "type": "Update",
        "actor": account.ap_id,
        "to": [PUBLIC],
        "cc": [person["followers"].clone()],
        "object": person,
    });
    fan_out(conn, urls, inboxes, &activity, &account)?;
    Ok(())
}

/// A remote post acted on by a local account: (post ap_id, author ap_id, author inbox).
fn remote_target(conn: &mut DbConn, post_id: i64) -> Result<Option<(String, Account)>, AppError> {
    let Some((ap_id, local, author_id)) = posts::table
        .find(post_id)
        .select((posts::ap_id, posts::local, posts::account_id))
        .first::<(String, bool, i64)>(conn)
        .optional()?
    else {
        return Ok(None);
    };
    if local {
        return Ok(None);
    }
    let author = accounts::table.find(author_id).first::<Account>(conn)?;
    if author.is_local() || author.inbox_url.is_none() {
        return Ok(None);
    }
    Ok(Some((ap_id, author)))
}

fn send_to(
    conn: &mut DbConn,
    urls: &Urls,
    author: &Account,
    activity: &Value,
    actor: &Account,
) -> Result<(), AppError> {
    let inbox = author.inbox_url.clone().into_iter();
    fan_out(conn, urls, inbox, activity, actor)?;
    Ok(())
}

/// `Like` (up) or `Dislike` (down) of a post by an actor, with the vote's id.
pub fn vote_activity(id: &str, actor: &str, object: &str, to: &str, value: i32) -> Value {
    json!({
        "@context": AS_CONTEXT,
        "id": id,
        "type": if value > 0 { "Like" } else { "Dislike" },
        "actor": actor,
        "object": object,
        "to": [to],
    })
}

/// `EmojiReact` (FEP-c0e0, as Pleroma and Misskey read it) with the emoji in `content`.
pub fn reaction_activity(id: &str, actor: &str, object: &str, to: &str, emoji: &str) -> Value {
    json!({
        "@context": [AS_CONTEXT, {"litepub": "http://litepub.social/ns#", "EmojiReact": "litepub:EmojiReact"}],
        "id": id,
        "type": "EmojiReact",
        "actor": actor,
        "object": object,
        "content": emoji,
        "to": [to],
    })
}

/// `Undo` embedding the whole original activity (Mastodon dispatches on its type).
pub fn undo_activity(original: &Value) -> Value {
    let mut inner = original.clone();
    let context = inner
        .as_object_mut()
        .and_then(|o| o.remove("@context"))
        .unwrap_or_else(|| json!(AS_CONTEXT));
    let id = inner["id"].as_str().unwrap_or_default().to_owned();
    let mut undo = json!({
        "@context": context,
        "id": format!("{id}/undo"),
        "type": "Undo",
        "actor": inner["actor"].clone(),
        "to": inner.get("to").cloned().unwrap_or_else(|| json!([PUBLIC])),
    });
    if let Some(cc) = inner.get("cc") {
        undo["cc"] = cc.clone();
    }
    undo["object"] = inner;
    undo
}

/// After a local account's vote on a post changed from `before`: sends the new vote
/// (`Like`/`Dislike`), the `Undo` of the old one, or both, when the post is remote. A
/// changed vote gets a new id (a peer treats an id it has seen as a duplicate).
pub fn vote_changed(
    conn: &mut DbConn,
    urls: &Urls,
    voter_id: i64,
    post_id: i64,
    before: Option<&Vote>,
) -> Result<(), AppError> {
    let Some(voter) = local_account(conn, voter_id)? else {
        return Ok(());
    };
    let Some((object, author)) = remote_target(conn, post_id)? else {
        return Ok(());
    };
    let now: Option<Vote> = votes::table
        .filter(votes::account_id.eq(voter_id))
        .filter(votes::post_id.eq(post_id))
        .first::<Vote>(conn)
        .optional()?;
    let vote = |v: &Vote| vote_activity(&v.ap_id, &voter.ap_id, &object, &author.ap_id, v.value);
    match (before, now) {
        (None, None) => {}
        (Some(b), Some(n)) if b.value == n.value => {}
        (b, n) => {
            if let Some(b) = b {
                send_to(conn, urls, &author, &undo_activity(&vote(b)), &voter)?;
            }
            if let Some(mut n) = n {
                if before.is_some() {
                    let id = ids::new_id();
                    n.ap_id = format!("{}/votes/{id}", urls.base);
                    diesel::update(votes::table.find(n.id))
                        .set(votes::ap_id.eq(&n.ap_id))
                        .execute(conn)?;
                }
                send_to(conn, urls, &author, &vote(&n), &voter)?;
            }
        }
    }
    Ok(())
}

fn reaction_row(
    conn: &mut DbConn,
    account_id: i64,
    post_id: i64,
    emoji: &str,
) -> Result<Option<Reaction>, AppError> {
    Ok(reactions::table
        .filter(reactions::account_id.eq(account_id))
        .filter(reactions::post_id.eq(post_id))
        .filter(reactions::emoji.eq(emoji))
        .first::<Reaction>(conn)
        .optional()?)
}

/// A local account's reaction to a remote post: the reacting account, the post's author
/// and the `EmojiReact`. `None` when nothing is to be sent.
fn remote_reaction(
    conn: &mut DbConn,
    account_id: i64,
    post_id: i64,
    emoji: &str,
) -> Result<Option<(Account, Account, Value)>, AppError> {
    let Some(actor) = local_account(conn, account_id)? else {
        return Ok(None);
    };
    let Some((object, author)) = remote_target(conn, post_id)? else {
        return Ok(None);
    };
    let Some(r) = reaction_row(conn, account_id, post_id, emoji)? else {
        return Ok(None);
    };
    let activity = reaction_activity(&r.ap_id, &actor.ap_id, &object, &author.ap_id, &r.emoji);
    Ok(Some((actor, author, activity)))
}

/// After a local account reacted to a post: `EmojiReact` to its remote author.
pub fn reacted(
    conn: &mut DbConn,
    urls: &Urls,
    account_id: i64,
    post_id: i64,
    emoji: &str,
) -> Result<(), AppError> {
    match remote_reaction(conn, account_id, post_id, emoji)? {
        Some((actor, author, activity)) => send_to(conn, urls, &author, &activity, &actor),
        None => Ok(()),
    }
}

/// Before a local account's reaction is deleted: `Undo(EmojiReact)` to the remote author.
pub fn unreacting(
    conn: &mut DbConn,
    urls: &Urls,
    account_id: i64,
    post_id: i64,
    emoji: &str,
) -> Result<(), AppError> {
    match remote_reaction(conn, account_id, post_id, emoji)? {
        Some((actor, author, activity)) => {
            send_to(conn, urls, &author, &undo_activity(&activity), &actor)
        }
        None => Ok(()),
    }
}

/// The `Follow` of a follow row.
/// `Announce` (a boost) of `object` by `actor`, addressed as Mastodon addresses a public
/// boost: to Public, cc the booster's followers and the post's author.
pub fn announce_activity(
    id: &str,
    actor: &str,
    followers: &str,
    object: &str,
    author: &str,
    published: &str,
    followers_only: bool,
) -> Value {
    // A self-boost of a followers-only post goes to the booster's followers only, as
    // Mastodon addresses it; any other boost is public.
    let (to, cc) = if followers_only {
        (json!([followers]), json!([]))
    } else {
        (json!([PUBLIC]), json!([followers, author]))
    };
    json!({
        "@context": AS_CONTEXT,
        "id": id,
        "type": "Announce",
        "actor": actor,
        "published": published,
        "to": to,
        "cc": cc,
        "object": object,
    })
}

/// The `Announce` of a local account's boost and the inboxes it goes to (the booster's
/// remote followers, the post's author when remote), or `None` when the booster is not
/// local or nobody remote is to hear of it.
fn announce_of(
    conn: &mut DbConn,
    boost: &Announce,
) -> Result<Option<(Value, Vec<String>, Account)>, AppError> {
    let Some(actor) = local_account(conn, boost.account_id)? else {
        return Ok(None);
    };
    let Some((object, author_id, visibility)) = posts::table
        .find(boost.post_id)
        .select((posts::ap_id, posts::account_id, posts::visibility))
        .first::<(String, i64, String)>(conn)
        .optional()?
    else {
        return Ok(None);
    };
    let author_ap_id: String = accounts::table
        .find(author_id)
        .select(accounts::ap_id)
        .first(conn)?;
    let followers_only = visibility == "private";
    let mut recipients = accepted_followers(conn, actor.id)?;
    if !followers_only {
        recipients.push(author_id);
    }
    let inboxes = inboxes_of(conn, &recipients)?;
    if inboxes.is_empty() {
        return Ok(None);
    }
    let followers = actor
        .followers_url
        .clone()
        .unwrap_or_else(|| format!("{}/followers", actor.ap_id));
    let published = boost
        .created_at
        .and_utc()
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let activity = announce_activity(
        &boost.ap_id,
        &actor.ap_id,
        &followers,
        &object,
        &author_ap_id,
        &published,
        followers_only,
    );
    Ok(Some((activity, inboxes, actor)))
}

/// After a local account's boost is stored: queues its `Announce`.
pub fn announced(conn: &mut DbConn, urls: &Urls, boost: &Announce) -> Result<(), AppError> {
    if let Some((activity, inboxes, actor)) = announce_of(conn, boost)? {
        fan_out(conn, urls, inboxes, &activity, &actor)?;
    }
    Ok(())
}

/// Before a local account's boost is deleted: queues the `Undo(Announce)` to the same
/// audience.
pub fn unannouncing(conn: &mut DbConn, urls: &Urls, boost: &Announce) -> Result<(), AppError> {
    if let Some((activity, inboxes, actor)) = announce_of(conn, boost)? {
        fan_out(conn, urls, inboxes, &undo_activity(&activity), &actor)?;
    }
    Ok(())
}

fn follow_activity(follow: &Follow, actor: &str, object: &str) -> Value {
    json!({
        "@context": AS_CONTEXT,
        "id": follow.ap_id,
        "type": "Follow",
        "actor": actor,
        "object": object,
        "to": [object],
    })
}

/// The two accounts of a follow when the follower is local and the followed remote.
fn local_to_remote(
    conn: &mut DbConn,
    follow: &Follow,
) -> Result<Option<(Account, Account)>, AppError> {
    let Some(follower) = local_account(conn, follow.follower_id)? else {
        return Ok(None);
    };
    let target = accounts::table
        .find(follow.followed_id)
        .first::<Account>(conn)?;
    if target.is_local() || target.inbox_url.is_none() {
        return Ok(None);
    }
    Ok(Some((follower, target)))
}

/// A local account asked to follow a remote one: `Follow` to its inbox.
pub fn follow_requested(conn: &mut DbConn, urls: &Urls, follow: &Follow) -> Result<(), AppError> {
    let Some((follower, target)) = local_to_remote(conn, follow)? else {
        return Ok(());
    };
    let activity = follow_activity(follow, &follower.ap_id, &target.ap_id);
    send_to(conn, urls, &target, &activity, &follower)
}

/// A local account stops following (or withdraws its request to follow) a remote one:
/// `Undo(Follow)` to its inbox. Call it before the follow row is deleted.
pub fn follow_undone(conn: &mut DbConn, urls: &Urls, follow: &Follow) -> Result<(), AppError> {
    let Some((follower, target)) = local_to_remote(conn, follow)? else {
        return Ok(());
    };
    let activity = follow_activity(follow, &follower.ap_id, &target.ap_id);
    send_to(conn, urls, &target, &undo_activity(&activity), &follower)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn undo_embeds_the_original_without_its_context() {
        let like = vote_activity(
            "https://a/votes/1",
            "https://a/users/x",
            "https://b/n/1",
            "https://b/users/y",
            1,
        );
        let undo = undo_activity(&like);
        assert_eq!(undo["type"], "Undo");
        assert_eq!(undo["id"], "https://a/votes/1/undo");
        assert_eq!(undo["actor"], "https://a/users/x");
        assert_eq!(undo["object"]["type"], "Like");
        assert_eq!(undo["object"]["id"], "https://a/votes/1");
        assert!(undo["object"].get("@context").is_none());
        assert_eq!(undo["@context"], AS_CONTEXT);
    }

    #[test]
    fn down_votes_are_dislikes_and_reactions_carry_the_emoji() {
        let d = vote_activity("i", "a", "o", "t", -1);
        assert_eq!(d["type"], "Dislike");
        let r = reaction_activity("i", "a", "o", "t", "🎉");
        assert_eq!(r["type"], "EmojiReact");
        assert_eq!(r["content"], "🎉");
    }
}
