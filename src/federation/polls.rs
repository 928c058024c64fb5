//! Polls on the wire (issue #13, item 6), what Tidings sends:
//!
//! - a post with a poll is a `Question` (Mastodon's shape): `oneOf` (single choice) or
//!   `anyOf` (multiple), each option a `Note` with `name` and `replies.totalItems`,
//!   `endTime`, `votersCount`, and `closed` once it ended;
//! - when the counts of one of our polls change (each vote, and its end), an
//!   `Update(Question)` goes to its audience: the author's remote followers (not for
//!   direct posts), the remote voters and the parent's remote author;
//! - a local vote in a remote poll: one `Create(Note)` per choice, `name` = the option,
//!   `inReplyTo` = the poll, no content, to the poll's author only (as Mastodon sends it).
//!
//! Like [`super::outbox`], everything here only queues deliveries inside the write
//! transaction of the change.

use chrono::Utc;
use diesel::prelude::*;
use serde_json::{Value, json};

use super::objects::{self, Urls};
use super::outbox::{accepted_followers, fan_out, inboxes_of, local_account};
use super::protocol::{AS_CONTEXT, Note, PollChoice, PollReplies, object_context};
use crate::db::DbConn;
use crate::db::models::{Account, PollVote, Post};
use crate::db::schema::{accounts, posts};
use crate::domain::time::rfc3339;
use crate::error::AppError;
use crate::service::polls::PollView;
use crate::service::posts::load_posts;

/// A note with a poll becomes a `Question` with its options, end and counts.
pub fn with_poll(mut note: Note, poll: Option<&PollView>) -> Note {
    let Some(poll) = poll else {
        return note;
    };
    let choices: Vec<PollChoice> = poll
        .options
        .iter()
        .map(|o| PollChoice {
            kind: "Note".into(),
            name: o.title.clone(),
            replies: PollReplies {
                kind: "Collection".into(),
                total_items: o.votes_count,
            },
        })
        .collect();
    note.kind = "Question".into();
    if poll.multiple {
        note.any_of = Some(choices);
    } else {
        note.one_of = Some(choices);
    }
    note.end_time = poll.expires_at.as_ref().map(rfc3339);
    if poll.expired {
        note.closed = note
            .end_time
            .clone()
            .or_else(|| Some(rfc3339(&Utc::now().naive_utc())));
    }
    note.voters_count = poll.voters_count;
    note
}

/// The `Create` of a vote `Note` (Mastodon's shape).
pub fn vote_activity(vote_id: &str, voter: &str, poll: &str, author: &str, option: &str) -> Value {
    json!({
        "@context": AS_CONTEXT,
        "id": format!("{vote_id}/activity"),
        "type": "Create",
        "actor": voter,
        "to": [author],
        "object": {
            "id": vote_id,
            "type": "Note",
            "name": option,
            "attributedTo": voter,
            "inReplyTo": poll,
            "to": [author],
        },
    })
}

/// Queues a local account's votes in a remote poll for the poll's author.
pub fn votes_sent(
    conn: &mut DbConn,
    urls: &Urls,
    voter: &Account,
    poll_post: &Post,
    votes: &[PollVote],
) -> Result<(), AppError> {
    if poll_post.local || !voter.is_local() {
        return Ok(());
    }
    let author = accounts::table
        .find(poll_post.account_id)
        .first::<Account>(conn)?;
    let Some(inbox) = author.inbox_url.clone() else {
        return Ok(());
    };
    let Some(poll) = load_posts(conn, &[poll_post.id], None, &urls.base)?
        .pop()
        .and_then(|p| p.poll)
    else {
        return Ok(());
    };
    for v in votes {
        let Some(option) = poll.options.get(v.choice as usize) else {
            continue;
        };
        let activity = vote_activity(
            &v.ap_id,
            &voter.ap_id,
            &poll_post.ap_id,
            &author.ap_id,
            &option.title,
        );
        fan_out(conn, urls, [inbox.clone()], &activity, voter)?;
    }
    Ok(())
}

/// Queues an `Update(Question)` of one of our polls, with its counts as they are now.
pub fn poll_updated(conn: &mut DbConn, urls: &Urls, post_id: i64) -> Result<(), AppError> {
    let Some(row) = posts::table
        .find(post_id)
        .select(Post::as_select())
        .first::<Post>(conn)
        .optional()?
    else {
        return Ok(());
    };
    if !row.local || row.deleted_at.is_some() {
        return Ok(());
    }
    let Some(author) = local_account(conn, row.account_id)? else {
        return Ok(());
    };
    if author.suspended_at.is_some() {
        return Ok(());
    }
    let mut recipients: Vec<i64> = Vec::new();
    if row.visibility != "direct" {
        recipients = accepted_followers(conn, author.id)?;
    }
    let (_, remote_voters) = crate::service::polls::voters(conn, post_id)?;
    recipients.extend(remote_voters);
    let parent: Option<(String, i64)> = match row.in_reply_to_id {
        Some(p) => posts::table
            .find(p)
            .select((posts::ap_id, posts::account_id))
            .first(conn)
            .optional()?,
        None => None,
    };
    if let Some((_, parent_author)) = &parent {
        recipients.push(*parent_author);
    }
    let mut inboxes = inboxes_of(conn, &recipients)?;
    if inboxes.is_empty() {
        return Ok(());
    }
    inboxes.sort();
    let Some(post) = load_posts(conn, &[post_id], None, &urls.base)?.pop() else {
        return Ok(());
    };
    let note = objects::note(urls, &post, parent.map(|(id, _)| id));
    let now = Utc::now();
    let activity = json!({
        "@context": object_context(),
        "id": format!("{}#updates/{}", note.id, now.timestamp_millis()),
        "type": "Update",
        "actor": author.ap_id,
        "published": rfc3339(&now.naive_utc()),
        "to": note.to,
        "cc": note.cc,
        "object": note,
    });
    fan_out(conn, urls, inboxes, &activity, &author)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_vote_is_a_create_of_a_named_note_without_content() {
        let a = vote_activity(
            "https://t.test/users/a#votes/1",
            "https://t.test/users/a",
            "https://m.test/users/b/statuses/2",
            "https://m.test/users/b",
            "Yes",
        );
        assert_eq!(a["type"], "Create");
        assert_eq!(a["object"]["type"], "Note");
        assert_eq!(a["object"]["name"], "Yes");
        assert_eq!(
            a["object"]["inReplyTo"],
            "https://m.test/users/b/statuses/2"
        );
        assert!(a["object"].get("content").is_none());
        assert_eq!(a["to"], json!(["https://m.test/users/b"]));
    }
}
