//! `Create`, `Update` and `Delete` of notes (and Articles, Pages, Questions): remote
//! stories and replies, stored as posts of the remote account with sanitised content,
//! their hashtags as our tags, replies placed in their thread (missing parents fetched
//! first), local accounts mentioned notified. Edits and deletes are honoured only from
//! the post's author. `Delete` of the actor itself suspends the account.

use std::collections::HashSet;

use chrono::Utc;
use diesel::prelude::*;
use serde_json::Value;
use url::Url;

use super::parse::{Audience, IncomingNote, host_of, id_of, parse_note, type_of};
use super::{Ctx, Prepared, bad_request, local_target, post_by_ap_id};
use crate::db::models::{Account, NewPost};
use crate::db::schema::{accounts, follows, posts};
use crate::db::{DbConn, ids};
use crate::error::{AppError, ErrorKind};
use crate::federation::FedError;
use crate::federation::fetch::{self, parse_actor};
use crate::service::mentions;
use crate::service::posts::ContentWarning;
use crate::service::replies::{NewReply, insert_reply};
use crate::service::stories::{
    KnownTags, ensure_tag_names_in_tx, insert_remote_story, rewrite, soft_delete,
};
use crate::service::{Services, lock_post};

/// Parents fetched at most for one incoming reply.
pub const MAX_PARENT_FETCHES: usize = 5;

/// A note with its author's account (fetched before the transaction if need be). Its
/// tags are made inside the transaction that stores it.
pub(crate) struct Resolved {
    pub note: IncomingNote,
    pub author_id: i64,
    /// A reply whose parent cannot be had: stored without a thread, as a story that
    /// replies to a post not available (its `inReplyTo` kept in `in_reply_to_uri`).
    pub unresolved: bool,
}

fn denied(msg: impl Into<String>) -> FedError {
    AppError::new(ErrorKind::Denied(msg.into())).into()
}

async fn known(svc: &Services, ap_id: &str) -> Result<bool, AppError> {
    let ap_id = ap_id.to_owned();
    svc.db
        .run(move |conn| Ok(post_by_ap_id(conn, &ap_id)?.is_some()))
        .await
}

fn resolve(note: IncomingNote, author_id: i64) -> Resolved {
    Resolved {
        note,
        author_id,
        unresolved: false,
    }
}

/// The object of a `Create` or `Update`, read, and checked to be the actor's.
fn own_note(signer: &Account, activity: &Value) -> Result<IncomingNote, FedError> {
    let object = activity
        .get("object")
        .ok_or_else(|| bad_request("activity without object"))?;
    let note = parse_note(object).map_err(bad_request)?;
    if note.attributed_to != signer.ap_id {
        return Err(denied(format!(
            "the object is attributed to {}, not to the actor",
            note.attributed_to
        )));
    }
    Ok(note)
}

/// `Create`: reads the note and fetches the parents we lack (at most
/// [`MAX_PARENT_FETCHES`], signed GETs), so the thread is whole before anything is stored.
/// Returns nothing to store for followers-only and direct notes for nobody here (see
/// [`for_someone_here`]) and objects of other types. A reply whose thread cannot be had is stored all the same (see [`with_parents`]).
pub(super) async fn prepare_create(
    svc: &Services,
    signer: &Account,
    activity: &Value,
) -> Result<Prepared, FedError> {
    // Votes on our polls (a Note named after an option, or an array of them).
    if let Some(votes) = super::polls::prepare_votes(svc, activity).await? {
        return Ok(votes);
    }
    let kind = activity.get("object").and_then(type_of).unwrap_or("");
    // An array of objects (GoToSocial sends poll votes so): accepted and not stored,
    // as on Mastodon (polls are not supported here, and one Create stores one post).
    if let Some(Value::Array(objects)) = activity.get("object") {
        tracing::info!(
            objects = objects.len(),
            activity = id_of(activity.get("id")).unwrap_or_default(),
            "Create of an array of objects (poll votes?) not stored"
        );
        return Ok(Prepared::Nothing);
    }
    // A type we do not store.
    if activity.get("object").is_some_and(Value::is_object)
        && !super::parse::NOTE_TYPES.contains(&kind)
    {
        tracing::debug!(kind, "Create of an object type not stored, ignored");
        return Ok(Prepared::Nothing);
    }
    let note = own_note(signer, activity)?;
    if note.audience == Audience::Limited && !for_someone_here(svc, signer, &note).await? {
        tracing::debug!(
            id = note.id,
            "followers-only or direct note for nobody here: not stored"
        );
        return Ok(Prepared::Nothing);
    }
    // A reply we already have needs no parents fetched. (A story we already have is
    // recognised inside the transaction: one database round trip less per story.)
    if note.in_reply_to.is_some() && known(svc, &note.id).await? {
        return Ok(Prepared::Nothing);
    }
    Ok(Prepared::Notes(
        with_parents(svc, resolve(note, signer.id)).await?,
    ))
}

/// Whether a followers-only or direct note is for someone here: a local account it
/// addresses or mentions, or, when followers-only, a local follower of its author.
async fn for_someone_here(
    svc: &Services,
    signer: &Account,
    note: &IncomingNote,
) -> Result<bool, AppError> {
    let note = note.clone();
    let (author_id, followers) = (signer.id, signer.followers_url.clone());
    let base = svc.base_url().to_owned();
    svc.db
        .run(move |conn| {
            if !local_addressed(conn, &base, &note)?.is_empty() {
                return Ok(true);
            }
            if note.visibility(followers.as_deref()) != "private" {
                return Ok(false);
            }
            let n: i64 = follows::table
                .inner_join(accounts::table.on(accounts::id.eq(follows::follower_id)))
                .filter(follows::followed_id.eq(author_id))
                .filter(follows::state.eq("accepted"))
                .filter(accounts::domain.is_null())
                .count()
                .get_result(conn)?;
            Ok(n > 0)
        })
        .await
}

/// `first` and the parents of it we lack, fetched (at most [`MAX_PARENT_FETCHES`]),
/// parents first. When a parent cannot be had (an error, not public, deeper than the
/// limit), the topmost note we have is marked `unresolved`: it is stored without a
/// thread, as a reply to a post that is not available (as Mastodon stores a status whose
/// `inReplyTo` it cannot resolve), and the notes below it in its thread.
pub(super) async fn with_parents(
    svc: &Services,
    first: Resolved,
) -> Result<Vec<Resolved>, AppError> {
    let mut parent = first.note.in_reply_to.clone();
    let mut chain = vec![first];
    let mut fetched = 0;
    while let Some(url) = parent.take() {
        if known(svc, &url).await? {
            break;
        }
        if fetched == MAX_PARENT_FETCHES {
            tracing::debug!(url, "thread deeper than the fetch limit: stored without it");
            if let Some(top) = chain.last_mut() {
                top.unresolved = true;
            }
            break;
        }
        fetched += 1;
        match fetch_note(svc, &url).await {
            Ok(resolved) => {
                parent = resolved.note.in_reply_to.clone();
                chain.push(resolved);
            }
            Err(e) => {
                tracing::info!(url, error = %e, "parent cannot be had: reply stored without it");
                if let Some(top) = chain.last_mut() {
                    top.unresolved = true;
                }
                break;
            }
        }
    }
    chain.reverse();
    Ok(chain)
}

/// A post found by [`resolve_note`].
#[derive(Debug, Clone, Copy)]
pub struct FoundNote {
    pub id: i64,
    pub is_reply: bool,
}

impl FoundNote {
    /// Its page here.
    pub fn path(&self) -> String {
        if self.is_reply {
            format!("/replies/{}", self.id)
        } else {
            format!("/stories/{}", self.id)
        }
    }
}

/// A public note by its URL, for search: the stored post, or else the note fetched from
/// its server with its author and the thread above it, then stored as if it had been
/// delivered. `Err` carries why it cannot be had.
pub async fn resolve_note(svc: &Services, url: &str) -> Result<FoundNote, String> {
    if let Some(found) = stored_note(svc, url).await? {
        return Ok(found);
    }
    let note = fetch_note(svc, url).await?;
    let ap_id = note.note.id.clone();
    let ctx = Ctx {
        base: svc.base_url().to_owned(),
        signer_id: note.author_id,
        signer_ap_id: note.note.attributed_to.clone(),
    };
    let chain = with_parents(svc, note)
        .await
        .map_err(|e| e.public_message())?;
    svc.db
        .write(move |conn| create(conn, &ctx, &chain, &KnownTags::new()))
        .await
        .map_err(|e| e.public_message())?;
    stored_note(svc, &ap_id)
        .await?
        .ok_or_else(|| "the note was not stored".to_owned())
}

/// A visible stored post whose `id` or `url` is `key`.
async fn stored_note(svc: &Services, key: &str) -> Result<Option<FoundNote>, String> {
    let key = key.to_owned();
    svc.db
        .run(move |conn| {
            Ok(posts::table
                .filter(posts::ap_id.eq(&key).or(posts::url.eq(&key)))
                .filter(posts::deleted_at.is_null())
                .filter(posts::removed_at.is_null())
                .select((posts::id, posts::in_reply_to_id))
                .first::<(i64, Option<i64>)>(conn)
                .optional()?
                .map(|(id, parent)| FoundNote {
                    id,
                    is_reply: parent.is_some(),
                }))
        })
        .await
        .map_err(|e| e.public_message())
}

/// Fetches a note (a parent, or one searched for) and its author (stored), checking both
/// are on the server the note was fetched from.
pub(super) async fn fetch_note(svc: &Services, url: &str) -> Result<Resolved, String> {
    let url = Url::parse(url).map_err(|_| "the note id is not a URL".to_owned())?;
    let doc = fetch::fetch_json(svc, &url)
        .await
        .map_err(|e| e.to_string())?;
    let note = parse_note(&doc)?;
    if host_of(&note.id) != fetch::authority(&url) {
        return Err("the fetched note's id is on another server".into());
    }
    if note.audience == Audience::Limited {
        return Err("the note is not public".into());
    }
    if host_of(&note.attributed_to) != host_of(&note.id) {
        return Err("the note's author is on another server".into());
    }
    let author = match fetch::stored_actor(svc, &note.attributed_to)
        .await
        .map_err(|e| e.public_message())?
    {
        Some(a) => a,
        None => {
            let actor_url =
                Url::parse(&note.attributed_to).map_err(|_| "author is not a URL".to_owned())?;
            fetch::fetch_actor(svc, &actor_url)
                .await
                .map_err(|e| e.to_string())?
                .0
        }
    };
    Ok(resolve(note, author.id))
}

/// `Update`: of a note or of the actor itself (read; nothing is fetched).
pub(super) fn prepare_update(signer: &Account, activity: &Value) -> Result<Prepared, FedError> {
    let object = activity
        .get("object")
        .ok_or_else(|| bad_request("Update without object"))?;
    let kind = type_of(object).unwrap_or("");
    if super::parse::NOTE_TYPES.contains(&kind) {
        let note = own_note(signer, activity)?;
        return Ok(Prepared::Edit(Box::new(resolve(note, signer.id))));
    }
    if id_of(Some(object)).as_deref() == Some(signer.ap_id.as_str()) && object.is_object() {
        let url = Url::parse(&signer.ap_id).map_err(|_| bad_request("actor id"))?;
        let actor = parse_actor(object, &url).map_err(|e| bad_request(e.to_string()))?;
        return Ok(Prepared::Actor(Box::new(actor)));
    }
    tracing::debug!(kind, "Update of an unsupported object ignored");
    Ok(Prepared::Nothing)
}

/// The account (not suspended) an id names: a local one by its actor or profile URL, a
/// remote one we know by its actor id.
fn account_named(conn: &mut DbConn, base: &str, href: &str) -> Result<Option<i64>, AppError> {
    if let Some(a) = local_target(conn, base, href)? {
        return Ok(Some(a.id));
    }
    Ok(accounts::table
        .filter(accounts::ap_id.eq(href))
        .filter(accounts::suspended_at.is_null())
        .select(accounts::id)
        .first::<i64>(conn)
        .optional()?)
}

/// Local accounts a followers-only or direct note addresses (`to`, `cc`) or mentions.
fn local_addressed(
    conn: &mut DbConn,
    base: &str,
    note: &IncomingNote,
) -> Result<Vec<i64>, AppError> {
    let mut out = Vec::new();
    for href in note.mentions.iter().chain(&note.addressed) {
        if let Some(a) = local_target(conn, base, href)?
            && !out.contains(&a.id)
        {
            out.push(a.id);
        }
    }
    Ok(out)
}

/// The accounts a note mentions: those named by its `Mention` tags that we have (local
/// accounts, remote accounts we know), and for a followers-only or direct note the local
/// accounts in its `to` and `cc` (a direct message addresses them without a tag, at times).
fn mentioned(conn: &mut DbConn, base: &str, note: &IncomingNote) -> Result<Vec<i64>, AppError> {
    let mut out = Vec::new();
    for href in &note.mentions {
        if let Some(id) = account_named(conn, base, href)?
            && !out.contains(&id)
        {
            out.push(id);
        }
    }
    if note.audience == Audience::Limited {
        for id in local_addressed(conn, base, note)? {
            if !out.contains(&id) {
                out.push(id);
            }
        }
    }
    Ok(out)
}

/// The visibility a note is stored with (its author's followers collection tells
/// followers-only from direct).
fn visibility_of(
    conn: &mut DbConn,
    note: &IncomingNote,
    author_id: i64,
) -> Result<&'static str, AppError> {
    if note.audience != Audience::Limited {
        return Ok(note.visibility(None));
    }
    let followers: Option<String> = accounts::table
        .find(author_id)
        .select(accounts::followers_url)
        .first::<Option<String>>(conn)
        .optional()?
        .flatten();
    Ok(note.visibility(followers.as_deref()))
}

/// Stores the notes of a `Create`, parents first. `known`: tags known to exist.
pub(super) fn create(
    conn: &mut DbConn,
    ctx: &Ctx,
    chain: &[Resolved],
    known: &KnownTags,
) -> Result<(), AppError> {
    for r in chain {
        store(conn, ctx, r, known)?;
    }
    Ok(())
}

fn store(conn: &mut DbConn, ctx: &Ctx, r: &Resolved, known: &KnownTags) -> Result<(), AppError> {
    let note = &r.note;
    // A story we have already is recognised by its insert (one statement fewer).
    if note.in_reply_to.is_some() && post_by_ap_id(conn, &note.id)?.is_some() {
        return Ok(());
    }
    let visibility = visibility_of(conn, note, r.author_id)?;
    let id = ids::new_id();
    let now = Utc::now().naive_utc();
    let mentioned = mentioned(conn, &ctx.base, note)?;
    let url = note.url.as_deref().or(Some(note.id.as_str()));
    let warning = note_warning(note);
    match note.in_reply_to.as_ref().filter(|_| !r.unresolved) {
        Some(parent) => {
            let Some(parent) = post_by_ap_id(conn, parent)? else {
                tracing::debug!(id = note.id, "parent vanished: reply not stored");
                return Ok(());
            };
            if parent.deleted_at.is_some() || parent.removed_at.is_some() {
                tracing::debug!(id = note.id, "reply to a deleted post not stored");
                return Ok(());
            }
            // Tags are made only for a note that is stored.
            let tags = ensure_tag_names_in_tx(conn, note.hashtags.clone(), known)?;
            insert_reply_with_poll(
                conn,
                note,
                &NewReply {
                    id,
                    author_id: r.author_id,
                    parent_id: parent.id,
                    ap_id: &note.id,
                    url,
                    local: false,
                    body: &note.text,
                    content_html: &note.content_html,
                    visibility: Some(visibility),
                    created_at: now,
                    tags,
                    mentioned: &mentioned,
                    warning: &warning,
                },
            )
        }
        None => {
            let headline = note.headline();
            let stored = insert_remote_story(
                conn,
                &NewPost {
                    id,
                    account_id: r.author_id,
                    ap_id: &note.id,
                    url,
                    local: false,
                    headline: Some(&headline),
                    body: &note.text,
                    content_html: &note.content_html,
                    in_reply_to_id: None,
                    thread_root_id: None,
                    visibility,
                    created_at: now,
                    updated_at: now,
                    spoiler_text: &warning.spoiler_text,
                    sensitive: warning.sensitive,
                },
                note.hashtags.clone(),
                known,
            )?;
            if !stored {
                return Ok(());
            }
            if let Some(poll) = &note.poll {
                crate::service::polls::store_remote(conn, id, poll)?;
            }
            if r.unresolved {
                diesel::update(posts::table.find(id))
                    .set(posts::in_reply_to_uri.eq(note.in_reply_to.as_deref()))
                    .execute(conn)?;
            }
            mentions::record(conn, id, r.author_id, &mentioned, &mut HashSet::new())
        }
    }
}

/// [`insert_reply`], then the note's poll.
fn insert_reply_with_poll(
    conn: &mut DbConn,
    note: &IncomingNote,
    reply: &NewReply<'_>,
) -> Result<(), AppError> {
    insert_reply(conn, reply)?;
    if let Some(poll) = &note.poll {
        crate::service::polls::store_remote(conn, reply.id, poll)?;
    }
    Ok(())
}

/// `Update` of a note: its content, headline and tags, from its author only. An Update of
/// a note we do not have is ignored.
pub(super) fn update(
    conn: &mut DbConn,
    ctx: &Ctx,
    r: &Resolved,
    known: &KnownTags,
) -> Result<(), AppError> {
    let note = &r.note;
    let Some(post) = post_by_ap_id(conn, &note.id)? else {
        tracing::debug!(id = note.id, "Update of an unknown note ignored");
        return Ok(());
    };
    if post.account_id != ctx.signer_id {
        return Err(AppError::new(ErrorKind::Denied(
            "only the author may update this object".into(),
        )));
    }
    let post = lock_post(conn, post.id)?;
    if let Some(poll) = &note.poll {
        crate::service::polls::refresh_remote(conn, post.id, poll)?;
        // Only the counts changed (Mastodon's Update of a poll): not an edit.
        if post.content_html == note.content_html {
            return Ok(());
        }
    }
    if post.in_reply_to_id.is_none() {
        diesel::update(posts::table.find(post.id))
            .set(posts::headline.eq(Some(note.headline())))
            .execute(conn)?;
    }
    let tags = ensure_tag_names_in_tx(conn, note.hashtags.clone(), known)?;
    // The warning is replaced too: an edit may add, change or take it away.
    let warning = note_warning(note);
    rewrite(
        conn,
        post.id,
        &note.text,
        &note.content_html,
        Some(&warning),
        tags,
    )?;
    // The mentions follow the edit (those newly mentioned are told).
    let mentioned = mentioned(conn, &ctx.base, note)?;
    mentions::record(
        conn,
        post.id,
        post.account_id,
        &mentioned,
        &mut HashSet::new(),
    )
}

/// A note's content warning and sensitive mark as stored.
fn note_warning(note: &IncomingNote) -> ContentWarning {
    ContentWarning {
        spoiler_text: note.spoiler_text.clone(),
        sensitive: note.sensitive,
    }
}

/// `Delete` of a note (its id or a `Tombstone`): a soft delete, from its author only. A
/// `Delete` of the actor itself suspends the account, which hides its posts.
pub(super) fn delete(conn: &mut DbConn, ctx: &Ctx, activity: &Value) -> Result<(), AppError> {
    let object = id_of(activity.get("object"))
        .ok_or_else(|| AppError::bad_request("Delete without object"))?;
    if object == ctx.signer_ap_id {
        let now = Utc::now().naive_utc();
        diesel::update(accounts::table.find(ctx.signer_id))
            .set((
                accounts::suspended_at.eq(Some(now)),
                accounts::updated_at.eq(now),
            ))
            .execute(conn)?;
        return Ok(());
    }
    let Some(post) = post_by_ap_id(conn, &object)? else {
        tracing::debug!(object, "Delete of an unknown object ignored");
        return Ok(());
    };
    if post.account_id != ctx.signer_id {
        return Err(AppError::new(ErrorKind::Denied(
            "only the author may delete this object".into(),
        )));
    }
    if post.deleted_at.is_some() {
        return Ok(());
    }
    soft_delete(conn, &post, ctx.signer_id, false)
}
