//! Polls (issue #13, item 6): a story or reply may carry one (2–4 options, single or
//! multiple choice, an end). Local accounts vote on any poll; remote votes on our polls
//! arrive through the inbox. A poll's id is its post's.
//!
//! - Our polls: counts recomputed from `poll_votes` on each vote (under the post's lock),
//!   and an `Update(Question)` queued for the audience on each vote (per vote, no
//!   debounce: a vote is rare enough, and remote servers show the new counts at once).
//! - Remote polls: counts as the last `Question` said; our votes add to them until the
//!   author's next `Update(Question)`, and go out as `Create(Note)`s to the author.
//! - Ends: [`close_ended`] (run by the periodic job of [`start_closing`]) claims each
//!   ended poll by setting `closed` from false to true, so each end is handled once even
//!   with several processes: the local voters and the author (when local) are notified
//!   (kind `poll`), and our polls send a last `Update(Question)` with `closed`.

use std::collections::{HashMap, HashSet};

use chrono::{Duration, NaiveDateTime, Utc};
use diesel::prelude::*;

use super::Services;
use crate::db::models::{Account, Notification, Poll, PollVote, Post};
use crate::db::schema::{accounts, notifications, poll_votes, polls, posts};
use crate::db::{DbConn, ids, is_unique_violation, write_tx};
use crate::error::AppError;

/// Options of a poll made here.
pub const MIN_OPTIONS: usize = 2;
pub const MAX_OPTIONS: usize = 4;
/// The longest option, in characters (Mastodon's limit).
pub const MAX_OPTION_CHARS: usize = 50;
/// The shortest and longest duration, in seconds (Mastodon's: 5 minutes .. 30 days).
pub const MIN_EXPIRATION: i64 = 5 * 60;
pub const MAX_EXPIRATION: i64 = 30 * 24 * 60 * 60;
/// Options kept of a remote poll, and the characters kept of each.
pub const MAX_REMOTE_OPTIONS: usize = 20;
pub const MAX_REMOTE_OPTION_CHARS: usize = 200;
/// How often the periodic job looks for ended polls.
pub const CLOSE_EVERY: std::time::Duration = std::time::Duration::from_secs(30);

fn poll_error(message: impl Into<String>) -> AppError {
    AppError::field("poll", message)
}

/// A poll as asked for, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewPoll {
    pub options: Vec<String>,
    /// Seconds from now.
    pub expires_in: i64,
    pub multiple: bool,
}

impl NewPoll {
    /// Checks a poll: 2–4 distinct, non-empty options of at most 50 characters (trimmed),
    /// a duration of 5 minutes to 30 days. Errors are on the field `poll`.
    pub fn new(options: Vec<String>, expires_in: i64, multiple: bool) -> Result<NewPoll, AppError> {
        let options: Vec<String> = options.iter().map(|o| o.trim().to_owned()).collect();
        if options.len() < MIN_OPTIONS {
            return Err(poll_error(format!(
                "A poll needs at least {MIN_OPTIONS} options."
            )));
        }
        if options.len() > MAX_OPTIONS {
            return Err(poll_error(format!(
                "A poll has at most {MAX_OPTIONS} options (this one has {}).",
                options.len()
            )));
        }
        if options.iter().any(String::is_empty) {
            return Err(poll_error("A poll option cannot be empty."));
        }
        if let Some(long) = options
            .iter()
            .find(|o| o.chars().count() > MAX_OPTION_CHARS)
        {
            return Err(poll_error(format!(
                "A poll option has at most {MAX_OPTION_CHARS} characters (\"{}…\" has {}).",
                long.chars().take(20).collect::<String>(),
                long.chars().count()
            )));
        }
        let mut seen = HashSet::new();
        if !options.iter().all(|o| seen.insert(o.to_lowercase())) {
            return Err(poll_error("The options of a poll must differ."));
        }
        if expires_in < MIN_EXPIRATION {
            return Err(poll_error(
                "A poll lasts at least 5 minutes (its end cannot be in the past).",
            ));
        }
        if expires_in > MAX_EXPIRATION {
            return Err(poll_error("A poll lasts at most 30 days."));
        }
        Ok(NewPoll {
            options,
            expires_in,
            multiple,
        })
    }
}

/// A remote poll as its `Question` says it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemotePoll {
    /// Titles and vote counts.
    pub options: Vec<(String, i64)>,
    pub multiple: bool,
    /// `endTime`, else the time of `closed`.
    pub expires_at: Option<NaiveDateTime>,
    pub voters_count: Option<i64>,
    /// `closed` is set: no more votes.
    pub closed: bool,
}

/// One option with its votes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PollOptionView {
    pub title: String,
    pub votes_count: i64,
}

/// A poll as a viewer sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PollView {
    /// The post's id.
    pub id: i64,
    pub expires_at: Option<NaiveDateTime>,
    pub expired: bool,
    pub multiple: bool,
    pub votes_count: i64,
    pub voters_count: Option<i64>,
    pub options: Vec<PollOptionView>,
    /// Seen by a signed-in viewer (`voted` and `own_votes` mean something).
    pub has_viewer: bool,
    /// The viewer voted, or wrote the poll (as on Mastodon).
    pub voted: bool,
    /// The viewer's choices (indexes).
    pub own_votes: Vec<i32>,
    /// The viewer wrote the poll.
    pub mine: bool,
}

impl PollView {
    /// Results are shown after voting, at the end, and to the author.
    pub fn show_results(&self) -> bool {
        self.expired || self.voted || self.mine
    }

    /// The viewer may vote now.
    pub fn can_vote(&self) -> bool {
        self.has_viewer && !self.expired && !self.voted && !self.mine
    }

    /// The share of option `i`, in whole percent: of the voters for a multiple-choice
    /// poll (when known), of the votes otherwise.
    pub fn percent(&self, i: &usize) -> i64 {
        let n = self.options.get(*i).map_or(0, |o| o.votes_count);
        let total = if self.multiple {
            self.voters_count.unwrap_or(self.votes_count)
        } else {
            self.votes_count
        };
        if total <= 0 {
            0
        } else {
            ((n as f64) * 100.0 / (total as f64)).round() as i64
        }
    }

    /// Whether option `i` is one of the viewer's choices.
    pub fn chosen(&self, i: &usize) -> bool {
        self.own_votes.contains(&(*i as i32))
    }

    /// "3 votes", "1 person"…
    pub fn total_text(&self) -> String {
        let (n, one, many) = match (self.multiple, self.voters_count) {
            (true, Some(v)) => (v, "person", "people"),
            _ => (self.votes_count, "vote", "votes"),
        };
        format!("{n} {}", if n == 1 { one } else { many })
    }

    /// "closes in 2 hours" / "closed".
    pub fn end_text(&self) -> String {
        match (self.expired, self.expires_at) {
            (true, _) => "Closed".to_owned(),
            (false, Some(at)) => format!("Closes {}", at.format("%Y-%m-%d %H:%M UTC")),
            (false, None) => "Open".to_owned(),
        }
    }

    pub fn expires_rfc3339(&self) -> Option<String> {
        self.expires_at.as_ref().map(crate::domain::time::rfc3339)
    }
}

fn titles_and_counts(row: &Poll) -> (Vec<String>, Vec<i64>) {
    let titles: Vec<String> = serde_json::from_str(&row.options).unwrap_or_default();
    let mut counts: Vec<i64> = serde_json::from_str(&row.counts).unwrap_or_default();
    counts.resize(titles.len(), 0);
    (titles, counts)
}

fn expired(row: &Poll, now: NaiveDateTime) -> bool {
    row.closed || row.expires_at.is_some_and(|at| at <= now)
}

fn view_of(row: &Poll, author_id: i64, viewer: Option<i64>, own: Vec<i32>) -> PollView {
    let (titles, counts) = titles_and_counts(row);
    let mine = viewer == Some(author_id);
    PollView {
        id: row.post_id,
        expires_at: row.expires_at,
        expired: expired(row, Utc::now().naive_utc()),
        multiple: row.multiple,
        votes_count: counts.iter().sum(),
        voters_count: row.voters_count,
        options: titles
            .into_iter()
            .zip(counts)
            .map(|(title, votes_count)| PollOptionView { title, votes_count })
            .collect(),
        has_viewer: viewer.is_some(),
        voted: mine || !own.is_empty(),
        own_votes: own,
        mine,
    }
}

fn to_json<T: serde::Serialize>(v: &T) -> Result<String, AppError> {
    serde_json::to_string(v).map_err(AppError::internal)
}

/// Stores a local post's poll (inside the transaction that inserts the post).
pub(crate) fn insert(conn: &mut DbConn, post_id: i64, poll: &NewPoll) -> Result<(), AppError> {
    let now = Utc::now().naive_utc();
    diesel::insert_into(polls::table)
        .values(&Poll {
            post_id,
            options: to_json(&poll.options)?,
            counts: to_json(&vec![0i64; poll.options.len()])?,
            multiple: poll.multiple,
            expires_at: Some(now + Duration::seconds(poll.expires_in)),
            voters_count: Some(0),
            closed: false,
            updated_at: now,
        })
        .execute(conn)?;
    Ok(())
}

/// Publishes a story with a poll from the web form (the same checks as
/// `stories::create`; the poll is stored in the story's transaction). Returns its id.
pub async fn create_story(
    svc: &Services,
    author: &Account,
    headline: &str,
    body: &str,
    content_warning: &str,
    visibility: &str,
    poll: NewPoll,
) -> Result<i64, AppError> {
    crate::domain::story::StoryDraft::parse(headline, body).map_err(AppError::validation)?;
    let extras = super::posts::PostExtras {
        warning: super::posts::ContentWarning::new(content_warning, false)?,
        visibility: super::posts::check_visibility(Some(visibility))?,
        poll: Some(poll),
        media_ids: Vec::new(),
        ..Default::default()
    };
    super::stories::create_status(svc, author, headline, body, extras).await
}

/// Publishes a reply with a poll from the web form. Returns its id.
pub async fn create_reply(
    svc: &Services,
    author: &Account,
    parent_id: i64,
    body: &str,
    content_warning: &str,
    visibility: &str,
    poll: NewPoll,
) -> Result<i64, AppError> {
    let extras = super::posts::PostExtras {
        warning: super::posts::ContentWarning::new(content_warning, false)?,
        visibility: super::posts::check_visibility(Some(visibility))?,
        poll: Some(poll),
        media_ids: Vec::new(),
        ..Default::default()
    };
    super::replies::reply_with(svc, author, parent_id, body, extras).await
}

/// The polls of these posts as `viewer` sees them, in two queries.
pub(crate) fn load(
    conn: &mut DbConn,
    post_authors: &[(i64, i64)],
    viewer: Option<i64>,
) -> Result<HashMap<i64, PollView>, AppError> {
    if post_authors.is_empty() {
        return Ok(HashMap::new());
    }
    let ids: Vec<i64> = post_authors.iter().map(|(p, _)| *p).collect();
    let rows: Vec<Poll> = polls::table
        .filter(polls::post_id.eq_any(&ids))
        .select(Poll::as_select())
        .load(conn)?;
    if rows.is_empty() {
        return Ok(HashMap::new());
    }
    let mut own: HashMap<i64, Vec<i32>> = HashMap::new();
    if let Some(v) = viewer {
        let with_poll: Vec<i64> = rows.iter().map(|r| r.post_id).collect();
        for (post_id, choice) in poll_votes::table
            .filter(poll_votes::account_id.eq(v))
            .filter(poll_votes::post_id.eq_any(&with_poll))
            .order(poll_votes::choice.asc())
            .select((poll_votes::post_id, poll_votes::choice))
            .load::<(i64, i32)>(conn)?
        {
            own.entry(post_id).or_default().push(choice);
        }
    }
    let authors: HashMap<i64, i64> = post_authors.iter().copied().collect();
    Ok(rows
        .iter()
        .map(|r| {
            let author = authors.get(&r.post_id).copied().unwrap_or_default();
            let mine = own.remove(&r.post_id).unwrap_or_default();
            (r.post_id, view_of(r, author, viewer, mine))
        })
        .collect())
}

/// Polls of a page of posts (by post id), for the web pages.
#[derive(Debug, Clone, Default)]
pub struct PollMap(pub HashMap<i64, PollView>);

impl PollMap {
    pub fn of(&self, post_id: &i64) -> Option<&PollView> {
        self.0.get(post_id)
    }
}

/// The polls among these posts, as `viewer` sees them.
pub async fn for_posts(
    svc: &Services,
    ids: Vec<i64>,
    viewer: Option<i64>,
) -> Result<PollMap, AppError> {
    svc.db
        .run(move |conn| {
            let pairs: Vec<(i64, i64)> = posts::table
                .filter(posts::id.eq_any(&ids))
                .select((posts::id, posts::account_id))
                .load(conn)?;
            Ok(PollMap(load(conn, &pairs, viewer)?))
        })
        .await
}

/// A poll by id, when its post is visible to the viewer (else 404).
pub async fn get(svc: &Services, id: i64, viewer: Option<i64>) -> Result<PollView, AppError> {
    let post = super::posts::get_status(svc, id, viewer).await?;
    post.poll.ok_or_else(AppError::not_found)
}

fn recount_local(conn: &mut DbConn, post_id: i64, n: usize) -> Result<(), AppError> {
    let mut counts = vec![0i64; n];
    for (choice, c) in poll_votes::table
        .filter(poll_votes::post_id.eq(post_id))
        .group_by(poll_votes::choice)
        .select((poll_votes::choice, diesel::dsl::count_star()))
        .load::<(i32, i64)>(conn)?
    {
        if let Some(slot) = counts.get_mut(choice as usize) {
            *slot = c;
        }
    }
    let voters: i64 = poll_votes::table
        .filter(poll_votes::post_id.eq(post_id))
        .select(diesel::dsl::count(poll_votes::account_id).aggregate_distinct())
        .first(conn)?;
    diesel::update(polls::table.find(post_id))
        .set((
            polls::counts.eq(to_json(&counts)?),
            polls::voters_count.eq(Some(voters)),
            polls::updated_at.eq(Utc::now().naive_utc()),
        ))
        .execute(conn)?;
    Ok(())
}

/// Why a vote is refused (all 422, nothing stored).
fn refuse(message: &str) -> AppError {
    AppError::field("choices", message.to_owned())
}

/// Checks `choices` against a poll: at least one, distinct, in range, one only for a
/// single-choice poll.
fn check_choices(choices: &[i64], n: usize, multiple: bool) -> Result<Vec<i32>, AppError> {
    if choices.is_empty() {
        return Err(refuse("Choose an option."));
    }
    let mut seen = HashSet::new();
    if !choices.iter().all(|c| seen.insert(*c)) {
        return Err(refuse("An option is chosen twice."));
    }
    if choices.iter().any(|c| *c < 0 || *c as usize >= n) {
        return Err(refuse("That option is not in the poll."));
    }
    if !multiple && choices.len() > 1 {
        return Err(refuse("This poll takes one choice only."));
    }
    Ok(choices.iter().map(|c| *c as i32).collect())
}

/// A local account votes in a poll (any visible one): refused when the poll has ended,
/// when the voter already voted or wrote it, and for choices the poll does not have. Our
/// polls are recounted and their audience sent an `Update(Question)`; a vote in a remote
/// poll goes to its author as one `Create(Note)` per choice and is counted here at once.
pub async fn vote(
    svc: &Services,
    voter: &Account,
    id: i64,
    choices: Vec<i64>,
) -> Result<PollView, AppError> {
    // Visible to the voter, or not found.
    get(svc, id, Some(voter.id)).await?;
    let voter_id = voter.id;
    let voter = voter.clone();
    let urls = crate::federation::urls(svc);
    svc.db
        .run(move |conn| {
            write_tx(conn, |conn| {
                let post = super::lock_post(conn, id)?;
                let row = polls::table
                    .find(id)
                    .select(Poll::as_select())
                    .first::<Poll>(conn)
                    .optional()?
                    .ok_or_else(AppError::not_found)?;
                if expired(&row, Utc::now().naive_utc()) {
                    return Err(refuse("This poll has ended."));
                }
                if post.account_id == voter.id {
                    return Err(refuse("You cannot vote in your own poll."));
                }
                let already: i64 = poll_votes::table
                    .filter(poll_votes::post_id.eq(id))
                    .filter(poll_votes::account_id.eq(voter.id))
                    .count()
                    .get_result(conn)?;
                if already > 0 {
                    return Err(refuse("You have already voted in this poll."));
                }
                let (titles, mut counts) = titles_and_counts(&row);
                let chosen = check_choices(&choices, titles.len(), row.multiple)?;
                let mut made = Vec::new();
                for choice in &chosen {
                    let vote_id = ids::new_id();
                    let v = PollVote {
                        id: vote_id,
                        ap_id: format!("{}#votes/{vote_id}", voter.ap_id),
                        post_id: id,
                        account_id: voter.id,
                        choice: *choice,
                        created_at: Utc::now().naive_utc(),
                    };
                    diesel::insert_into(poll_votes::table)
                        .values(&v)
                        .execute(conn)
                        .map_err(|e| {
                            if is_unique_violation(&e) {
                                refuse("You have already voted in this poll.")
                            } else {
                                AppError::internal(e)
                            }
                        })?;
                    made.push(v);
                }
                if post.local {
                    recount_local(conn, id, titles.len())?;
                    crate::federation::polls::poll_updated(conn, &urls, id)?;
                } else {
                    for c in &chosen {
                        if let Some(slot) = counts.get_mut(*c as usize) {
                            *slot += 1;
                        }
                    }
                    diesel::update(polls::table.find(id))
                        .set((
                            polls::counts.eq(to_json(&counts)?),
                            polls::voters_count.eq(row.voters_count.map(|v| v + 1)),
                            polls::updated_at.eq(Utc::now().naive_utc()),
                        ))
                        .execute(conn)?;
                    crate::federation::polls::votes_sent(conn, &urls, &voter, &post, &made)?;
                }
                Ok(())
            })
        })
        .await?;
    get(svc, id, Some(voter_id)).await
}

/// A remote account's vote in one of our polls (a `Note` whose `name` is an option):
/// counted once per option and voter; votes on an ended poll, on a choice it lacks, a
/// second choice in a single-choice poll, and the author's own are not counted. Returns
/// whether it was counted. Inside the inbox's transaction.
pub(crate) fn record_remote_vote(
    conn: &mut DbConn,
    voter_id: i64,
    poll_post: &Post,
    vote_ap_id: &str,
    option: &str,
) -> Result<bool, AppError> {
    if !poll_post.local || poll_post.account_id == voter_id {
        return Ok(false);
    }
    let post = super::lock_post(conn, poll_post.id)?;
    let Some(row) = polls::table
        .find(post.id)
        .select(Poll::as_select())
        .first::<Poll>(conn)
        .optional()?
    else {
        return Ok(false);
    };
    if expired(&row, Utc::now().naive_utc()) {
        tracing::debug!(poll = post.id, "vote on an ended poll not counted");
        return Ok(false);
    }
    let (titles, _) = titles_and_counts(&row);
    let Some(choice) = titles.iter().position(|t| t == option.trim()) else {
        tracing::debug!(poll = post.id, option, "vote for an option the poll lacks");
        return Ok(false);
    };
    let earlier: Vec<i32> = poll_votes::table
        .filter(poll_votes::post_id.eq(post.id))
        .filter(poll_votes::account_id.eq(voter_id))
        .select(poll_votes::choice)
        .load(conn)?;
    if earlier.contains(&(choice as i32)) || (!row.multiple && !earlier.is_empty()) {
        return Ok(false);
    }
    let inserted = diesel::insert_into(poll_votes::table)
        .values(&PollVote {
            id: ids::new_id(),
            ap_id: vote_ap_id.to_owned(),
            post_id: post.id,
            account_id: voter_id,
            choice: choice as i32,
            created_at: Utc::now().naive_utc(),
        })
        .execute(conn);
    match inserted {
        Ok(_) => {}
        Err(e) if is_unique_violation(&e) => return Ok(false),
        Err(e) => return Err(AppError::internal(e)),
    }
    recount_local(conn, post.id, titles.len())?;
    Ok(true)
}

fn remote_row(post_id: i64, poll: &RemotePoll) -> Result<Poll, AppError> {
    let titles: Vec<&String> = poll.options.iter().map(|(t, _)| t).collect();
    let counts: Vec<i64> = poll.options.iter().map(|(_, c)| *c).collect();
    Ok(Poll {
        post_id,
        options: to_json(&titles)?,
        counts: to_json(&counts)?,
        multiple: poll.multiple,
        expires_at: poll.expires_at,
        voters_count: poll.voters_count,
        closed: false,
        updated_at: Utc::now().naive_utc(),
    })
}

/// Stores the poll of a remote post just stored (inside the inbox's transaction).
pub(crate) fn store_remote(
    conn: &mut DbConn,
    post_id: i64,
    poll: &RemotePoll,
) -> Result<(), AppError> {
    diesel::insert_into(polls::table)
        .values(&remote_row(post_id, poll)?)
        .execute(conn)?;
    Ok(())
}

/// An `Update(Question)` of a remote post: the counts, end and voters as it now says (a
/// poll it did not have is added; options that changed replace the old ones, and the
/// votes made here in the old ones go).
pub(crate) fn refresh_remote(
    conn: &mut DbConn,
    post_id: i64,
    poll: &RemotePoll,
) -> Result<(), AppError> {
    let Some(row) = polls::table
        .find(post_id)
        .select(Poll::as_select())
        .first::<Poll>(conn)
        .optional()?
    else {
        return store_remote(conn, post_id, poll);
    };
    let new = remote_row(post_id, poll)?;
    if new.options != row.options {
        diesel::delete(poll_votes::table.filter(poll_votes::post_id.eq(post_id))).execute(conn)?;
    }
    diesel::update(polls::table.find(post_id))
        .set((
            polls::options.eq(&new.options),
            polls::counts.eq(&new.counts),
            polls::multiple.eq(new.multiple),
            polls::expires_at.eq(new.expires_at),
            polls::voters_count.eq(new.voters_count),
            polls::updated_at.eq(new.updated_at),
        ))
        .execute(conn)?;
    Ok(())
}

/// Whether a stored post has a poll.
pub(crate) fn has_poll(conn: &mut DbConn, post_id: i64) -> Result<bool, AppError> {
    Ok(polls::table
        .find(post_id)
        .select(polls::post_id)
        .first::<i64>(conn)
        .optional()?
        .is_some())
}

/// The local accounts that voted in a poll, and the remote ones.
pub(crate) fn voters(conn: &mut DbConn, post_id: i64) -> Result<(Vec<i64>, Vec<i64>), AppError> {
    let rows: Vec<(i64, Option<String>)> = poll_votes::table
        .inner_join(accounts::table.on(accounts::id.eq(poll_votes::account_id)))
        .filter(poll_votes::post_id.eq(post_id))
        .select((accounts::id, accounts::domain))
        .distinct()
        .load(conn)?;
    let (local, remote): (Vec<_>, Vec<_>) = rows.into_iter().partition(|(_, d)| d.is_none());
    Ok((
        local.into_iter().map(|(id, _)| id).collect(),
        remote.into_iter().map(|(id, _)| id).collect(),
    ))
}

/// Polls ended and not yet handled, at most this many per round.
const CLOSE_BATCH: i64 = 100;

/// Handles the polls that ended: each is claimed by turning `closed` on (so only one
/// process handles it), then its local voters and its author (when local) are notified
/// (`poll`), and our polls send a last `Update(Question)`. Returns how many were handled.
pub async fn close_ended(svc: &Services) -> Result<usize, AppError> {
    let urls = crate::federation::urls(svc);
    let now = Utc::now().naive_utc();
    let due: Vec<i64> = svc
        .db
        .run(move |conn| {
            Ok(polls::table
                .filter(polls::closed.eq(false))
                .filter(polls::expires_at.le(now))
                .order(polls::expires_at.asc())
                .limit(CLOSE_BATCH)
                .select(polls::post_id)
                .load(conn)?)
        })
        .await?;
    let mut handled = 0;
    for id in due {
        let urls = urls.clone();
        let done = svc
            .db
            .write(move |conn| {
                let claimed = diesel::update(polls::table.find(id).filter(polls::closed.eq(false)))
                    .set(polls::closed.eq(true))
                    .execute(conn)?;
                if claimed == 0 {
                    return Ok(false);
                }
                let Some(post) = posts::table
                    .find(id)
                    .select(Post::as_select())
                    .first::<Post>(conn)
                    .optional()?
                else {
                    return Ok(true);
                };
                if post.deleted_at.is_some() {
                    return Ok(true);
                }
                let (local_voters, _) = voters(conn, id)?;
                let mut told = HashSet::new();
                if post.local {
                    notify_end(conn, post.account_id, post.account_id, id, "own")?;
                    told.insert(post.account_id);
                }
                for v in local_voters {
                    if told.insert(v) {
                        notify_end(conn, v, post.account_id, id, "")?;
                    }
                }
                if post.local {
                    crate::federation::polls::poll_updated(conn, &urls, id)?;
                }
                Ok(true)
            })
            .await?;
        if done {
            handled += 1;
        }
    }
    Ok(handled)
}

/// A `poll` notification (also to the author, which `notifications::notify` skips).
fn notify_end(
    conn: &mut DbConn,
    recipient: i64,
    author: i64,
    post_id: i64,
    detail: &str,
) -> Result<(), AppError> {
    diesel::insert_into(notifications::table)
        .values(&Notification {
            id: ids::new_id(),
            account_id: recipient,
            kind: super::notifications::Kind::Poll.as_str().to_owned(),
            actor_id: author,
            post_id: Some(post_id),
            detail: detail.to_owned(),
            created_at: Utc::now().naive_utc(),
            read_at: None,
            group_key: None,
        })
        .execute(conn)?;
    Ok(())
}

/// Runs [`close_ended`] every [`CLOSE_EVERY`].
pub fn start_closing(svc: Services) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut every = tokio::time::interval(CLOSE_EVERY);
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            every.tick().await;
            match close_ended(&svc).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(closed = n, "ended polls handled"),
                Err(e) => tracing::warn!(error = %e, "handling ended polls failed"),
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn polls_are_checked() {
        assert!(NewPoll::new(opts(&["a", "b"]), 3600, false).is_ok());
        assert!(NewPoll::new(opts(&["a"]), 3600, false).is_err());
        assert!(NewPoll::new(opts(&["a", "b", "c", "d", "e"]), 3600, false).is_err());
        assert!(NewPoll::new(opts(&["a", "A "]), 3600, false).is_err());
        assert!(NewPoll::new(opts(&["a", " "]), 3600, false).is_err());
        assert!(NewPoll::new(vec!["x".repeat(51), "b".into()], 3600, false).is_err());
        assert!(NewPoll::new(opts(&["a", "b"]), 299, false).is_err());
        assert!(NewPoll::new(opts(&["a", "b"]), -60, false).is_err());
        assert!(NewPoll::new(opts(&["a", "b"]), MAX_EXPIRATION + 1, false).is_err());
        assert!(NewPoll::new(opts(&["a", "b"]), MAX_EXPIRATION, true).is_ok());
    }

    #[test]
    fn choices_are_checked() {
        assert_eq!(check_choices(&[1], 3, false).unwrap(), vec![1]);
        assert!(check_choices(&[], 3, false).is_err());
        assert!(check_choices(&[3], 3, false).is_err());
        assert!(check_choices(&[-1], 3, true).is_err());
        assert!(check_choices(&[0, 1], 3, false).is_err());
        assert!(check_choices(&[1, 1], 3, true).is_err());
        assert_eq!(check_choices(&[0, 2], 3, true).unwrap(), vec![0, 2]);
    }
}
