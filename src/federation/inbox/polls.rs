//! Polls arriving (issue #13, item 6): the poll of a `Question` (read into
//! [`RemotePoll`] with the rest of the note), and votes on our polls as Mastodon,
//! Pleroma/Akkoma, Misskey and GoToSocial send them: a `Create` of a `Note` (or of an
//! array of them) with `name` = the option, `inReplyTo` = the poll, no content. Votes
//! are counted, never stored as replies; each counted vote sends the poll's audience an
//! `Update(Question)` with the new counts.

use chrono::{DateTime, NaiveDateTime, Utc};
use serde_json::Value;

use super::parse::{host_of, id_of, ids_of, many, type_of};
use super::{Ctx, Prepared, post_by_ap_id};
use crate::db::DbConn;
use crate::error::{AppError, ErrorKind};
use crate::federation::FedError;
use crate::federation::objects::Urls;
use crate::service::Services;
use crate::service::polls::{
    MAX_REMOTE_OPTION_CHARS, MAX_REMOTE_OPTIONS, RemotePoll, has_poll, record_remote_vote,
};

/// A time as peers write it: RFC 3339, or (Pleroma's `closed`) without a zone, as UTC.
fn time_of(v: Option<&Value>) -> Option<NaiveDateTime> {
    let s = v?.as_str()?.trim();
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc).naive_utc())
        .ok()
        .or_else(|| NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f").ok())
}

/// The poll of a `Question`: `oneOf` (single choice) or `anyOf` (several), each option's
/// votes in `replies.totalItems`; `endTime`; `closed` (a time, or `true`); `votersCount`.
/// `None` when it has no options. At most [`MAX_REMOTE_OPTIONS`] options are kept, each
/// cut at [`MAX_REMOTE_OPTION_CHARS`] characters.
pub fn parse_question(object: &Value) -> Option<RemotePoll> {
    let (items, multiple) = match (object.get("oneOf"), object.get("anyOf")) {
        (Some(v @ Value::Array(a)), _) if !a.is_empty() => (v, false),
        (_, Some(v @ Value::Array(a))) if !a.is_empty() => (v, true),
        _ => return None,
    };
    let options: Vec<(String, i64)> = many(Some(items))
        .into_iter()
        .filter_map(|o| {
            let name: String = o
                .get("name")
                .and_then(Value::as_str)?
                .trim()
                .chars()
                .take(MAX_REMOTE_OPTION_CHARS)
                .collect();
            let votes = o
                .get("replies")
                .and_then(|r| r.get("totalItems"))
                .and_then(Value::as_i64)
                .unwrap_or(0)
                .max(0);
            (!name.is_empty()).then_some((name, votes))
        })
        .take(MAX_REMOTE_OPTIONS)
        .collect();
    if options.is_empty() {
        return None;
    }
    let closed_at = time_of(object.get("closed"));
    let closed = closed_at.is_some() || object.get("closed") == Some(&Value::Bool(true));
    let mut expires_at = time_of(object.get("endTime")).or(closed_at);
    if closed {
        let now = Utc::now().naive_utc();
        let ended = closed_at.unwrap_or(now);
        if expires_at.is_none_or(|at| at > ended) {
            expires_at = Some(ended);
        }
    }
    Some(RemotePoll {
        options,
        multiple,
        expires_at,
        voters_count: object
            .get("votersCount")
            .and_then(Value::as_i64)
            .map(|n| n.max(0)),
        closed,
    })
}

/// A vote: the `Note`'s id, the poll it answers, the option's name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct IncomingVote {
    pub id: String,
    pub attributed_to: String,
    pub poll: String,
    pub option: String,
}

/// A `Note` (or Pleroma's `Answer`) shaped as a vote: a `name`, an `inReplyTo`, an id,
/// and no content.
fn vote_shape(object: &Value) -> Option<IncomingVote> {
    if !matches!(type_of(object), Some("Note" | "Answer")) {
        return None;
    }
    let content = object.get("content").and_then(Value::as_str).unwrap_or("");
    if !content.trim().is_empty() {
        return None;
    }
    Some(IncomingVote {
        id: id_of(object.get("id"))?,
        attributed_to: ids_of(object.get("attributedTo")).into_iter().next()?,
        poll: id_of(object.get("inReplyTo"))?,
        option: object
            .get("name")
            .and_then(Value::as_str)
            .filter(|n| !n.trim().is_empty())?
            .to_owned(),
    })
}

/// `Create` of vote notes on our polls: the votes to count. `None` when the object is
/// not (only) votes on polls we have, so the `Create` is handled as usual.
pub(super) async fn prepare_votes(
    svc: &Services,
    activity: &Value,
) -> Result<Option<Prepared>, FedError> {
    let objects = many(activity.get("object"));
    if objects.is_empty() {
        return Ok(None);
    }
    let mut votes = Vec::new();
    for o in objects {
        match vote_shape(o) {
            Some(v) => votes.push(v),
            None => return Ok(None),
        }
    }
    let targets: Vec<String> = votes.iter().map(|v| v.poll.clone()).collect();
    let all_polls = svc
        .db
        .run(move |conn| {
            for t in &targets {
                match post_by_ap_id(conn, t)? {
                    Some(p) if p.local && has_poll(conn, p.id)? => {}
                    _ => return Ok(false),
                }
            }
            Ok(true)
        })
        .await?;
    Ok(all_polls.then_some(Prepared::PollVotes(votes)))
}

/// Counts the votes of a `Create` (inside the inbox's transaction); each poll whose
/// counts changed sends its audience an `Update(Question)`.
pub(super) fn apply_votes(
    conn: &mut DbConn,
    ctx: &Ctx,
    votes: &[IncomingVote],
) -> Result<(), AppError> {
    let urls = Urls {
        base: ctx.base.clone(),
        domain: host_of(&ctx.base),
    };
    let mut changed: Vec<i64> = Vec::new();
    for v in votes {
        if v.attributed_to != ctx.signer_ap_id {
            return Err(AppError::new(ErrorKind::Denied(
                "the vote is attributed to another actor".into(),
            )));
        }
        let Some(post) = post_by_ap_id(conn, &v.poll)? else {
            continue;
        };
        if record_remote_vote(conn, ctx.signer_id, &post, &v.id, &v.option)?
            && !changed.contains(&post.id)
        {
            changed.push(post.id);
        }
    }
    for id in changed {
        crate::federation::polls::poll_updated(conn, &urls, id)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn questions_single_and_multiple() {
        let q = parse_question(&json!({"oneOf": [
            {"type": "Note", "name": "a", "replies": {"totalItems": 2}},
            {"type": "Note", "name": "b"}],
            "endTime": "2030-01-01T00:00:00Z", "votersCount": 2}))
        .unwrap();
        assert_eq!(q.options, vec![("a".into(), 2), ("b".into(), 0)]);
        assert!(!q.multiple && !q.closed);
        assert_eq!(q.voters_count, Some(2));
        let q = parse_question(&json!({"anyOf": [{"name": "x"}], "closed": true})).unwrap();
        assert!(q.multiple && q.closed && q.expires_at.is_some());
        assert_eq!(parse_question(&json!({"content": "no poll"})), None);
        assert_eq!(parse_question(&json!({"oneOf": []})), None);
    }

    #[test]
    fn votes_are_named_notes_without_content() {
        let v = json!({"type": "Note", "id": "https://a/v/1", "attributedTo": "https://a/u",
            "inReplyTo": "https://b/stories/1", "name": "Yes"});
        assert_eq!(vote_shape(&v).unwrap().option, "Yes");
        let mut answer = v.clone();
        answer["type"] = "Answer".into();
        assert_eq!(vote_shape(&answer).unwrap().poll, "https://b/stories/1");
        let mut with_content = v.clone();
        with_content["content"] = "<p>a reply</p>".into();
        assert_eq!(vote_shape(&with_content), None);
        let mut unnamed = v.clone();
        unnamed["name"] = Value::Null;
        assert_eq!(vote_shape(&unnamed), None);
    }
}
