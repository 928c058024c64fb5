//! Search: stories and replies by words (full text) or by #tag, accounts by name.
//!
//! Full text is the one place where the backends differ. SQLite keeps the FTS5 table
//! `posts_fts(headline, body)` (rowid = posts.id; triggers queue changed posts in
//! `posts_fts_queue`, and `db::write_tx` indexes them just before its commit, so a
//! post is searchable once its transaction is committed), PostgreSQL the generated column
//! `posts.search` (a 'simple' tsvector, deliberately absent from schema.rs). [`ranked_ids`]
//! asks the backend for one page of matching post ids in rank order; everything else,
//! loading the posts, their authors and tags, is the shared diesel DSL.
//!
//! User input never reaches either search syntax unquoted: on SQLite every term becomes an
//! FTS5 string (`"term"`, inner quotes doubled), on PostgreSQL the text goes to
//! `websearch_to_tsquery`, which accepts any input, and the prefix term is letters and
//! digits only. Both are bound as parameters, never spliced into SQL.

use std::collections::HashMap;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};

use super::views::{AuthorView, TagRef, warning_text};
use super::{PAGE_SIZE, Services};
use crate::db::DbConn;
use crate::db::models::{AccountBrief, Post, PostTag};
use crate::db::schema::{accounts, post_tags, posts, tags};
use crate::domain::text::{is_valid_tag, normalize_tag};
use crate::error::AppError;

/// The longest query accepted, in characters.
pub const MAX_QUERY_CHARS: usize = 200;

/// How many accounts a search shows (on its first page only).
pub const MAX_ACCOUNTS: usize = 10;

/// Length of a hit's excerpt, in characters.
const EXCERPT_CHARS: usize = 280;

/// A story or reply that matched.
#[derive(Debug, Clone)]
pub struct SearchHit {
    pub id: i64,
    /// Set for stories.
    pub headline: Option<String>,
    /// Set for replies.
    pub in_reply_to_id: Option<i64>,
    pub author: AuthorView,
    pub created_at: NaiveDateTime,
    /// Plain text around the first matching word (or the start of the body); for a post
    /// behind a content warning, "Content warning: …" instead (its body is not shown).
    pub excerpt: String,
    /// The story's tags (empty for replies).
    pub tags: Vec<TagRef>,
}

impl SearchHit {
    pub fn is_story(&self) -> bool {
        self.in_reply_to_id.is_none()
    }

    /// `/stories/{id}` for a story, `/replies/{id}` for a reply.
    pub fn path(&self) -> String {
        if self.is_story() {
            format!("/stories/{}", self.id)
        } else {
            format!("/replies/{}", self.id)
        }
    }

    pub fn created_rfc3339(&self) -> String {
        crate::domain::time::rfc3339(&self.created_at)
    }

    pub fn created_ago(&self) -> String {
        crate::domain::time::ago_now(&self.created_at)
    }
}

/// One page of results. Accounts come only on the first page.
#[derive(Debug, Clone, Default)]
pub struct SearchResults {
    pub accounts: Vec<AuthorView>,
    pub posts: Vec<SearchHit>,
    /// 1-based.
    pub page: u32,
    /// Whether there is a next page of posts.
    pub has_more: bool,
}

impl SearchResults {
    pub fn is_empty(&self) -> bool {
        self.accounts.is_empty() && self.posts.is_empty()
    }
}

/// A query split into words for full text and #tags.
#[derive(Debug, Default, PartialEq, Eq)]
struct ParsedQuery {
    /// Terms as typed, each holding at least one letter or digit.
    words: Vec<String>,
    /// Normalized tag keys, without duplicates.
    tags: Vec<String>,
}

fn parse(query: &str) -> ParsedQuery {
    let mut parsed = ParsedQuery::default();
    for token in query.split_whitespace() {
        if let Some(name) = token.strip_prefix('#').filter(|n| is_valid_tag(n)) {
            let key = normalize_tag(name);
            if !parsed.tags.contains(&key) {
                parsed.tags.push(key);
            }
        } else if token.chars().any(char::is_alphanumeric) {
            parsed.words.push(token.to_owned());
        }
    }
    parsed
}

/// The last term, when it is letters and digits only: matched as a prefix, so results
/// come while a word is still being typed.
fn prefix_term(words: &[String]) -> Option<&str> {
    words
        .last()
        .map(String::as_str)
        .filter(|w| w.chars().all(char::is_alphanumeric))
}

/// An FTS5 query in which every term is a string (so no operator, column filter or
/// unbalanced quote in the input has any effect) and the last term matches as a prefix.
fn fts5_query(words: &[String]) -> String {
    let prefix = prefix_term(words).is_some();
    let mut out = String::new();
    for (i, word) in words.iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        out.push('"');
        out.push_str(&word.replace('"', "\"\""));
        out.push('"');
        if prefix && i + 1 == words.len() {
            out.push('*');
        }
    }
    out
}

/// PostgreSQL: the text for `websearch_to_tsquery` and the prefix term for `to_tsquery`
/// (`term:*`, or empty). Either may be empty; an empty side matches as "anything".
fn pg_query(words: &[String]) -> (String, String) {
    match prefix_term(words) {
        Some(last) => (
            words[..words.len() - 1].join(" "),
            format!("{}:*", last.to_lowercase()),
        ),
        None => (words.join(" "), String::new()),
    }
}

/// Searches stories and replies by words and #tags, and accounts by name: page `page`
/// (from 1) of [`PAGE_SIZE`] posts.
///
/// An empty query gives empty results; a query longer than [`MAX_QUERY_CHARS`] is a
/// validation error on the field `q`.
pub async fn search(svc: &Services, query: &str, page: u32) -> Result<SearchResults, AppError> {
    let offset = i64::from(page.max(1) - 1) * PAGE_SIZE;
    search_range(svc, query, offset, PAGE_SIZE).await
}

/// Like [`search`], for the client API: `limit` posts after the first `offset` (accounts
/// only with the first window).
pub async fn search_range(
    svc: &Services,
    query: &str,
    offset: i64,
    limit: i64,
) -> Result<SearchResults, AppError> {
    let (offset, limit) = (offset.max(0), limit.max(1));
    // Control characters (NUL above all) have no place in a search and upset PostgreSQL.
    let cleaned: String = query
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let query = cleaned.trim();
    let len = query.chars().count();
    if len > MAX_QUERY_CHARS {
        return Err(AppError::field(
            "q",
            format!("A search has at most {MAX_QUERY_CHARS} characters (this one has {len})."),
        ));
    }
    let page = (offset / limit + 1) as u32;
    let parsed = parse(query);
    if parsed.words.is_empty() && parsed.tags.is_empty() {
        return Ok(SearchResults {
            page,
            ..SearchResults::default()
        });
    }
    svc.db
        .run(move |conn| {
            let accounts = if offset == 0 && !parsed.words.is_empty() {
                find_accounts(conn, &parsed.words.join(" "))?
            } else {
                Vec::new()
            };
            let mut ids = match tag_ids(conn, &parsed.tags)? {
                // A tag nobody has used: nothing can carry it.
                None => Vec::new(),
                Some(tag_ids) if parsed.words.is_empty() => {
                    tagged_ids(conn, &tag_ids, limit + 1, offset)?
                }
                Some(tag_ids) => ranked_ids(conn, &parsed.words, &tag_ids, limit + 1, offset)?,
            };
            let has_more = ids.len() as i64 > limit;
            ids.truncate(limit as usize);
            let posts = load_hits(conn, &ids, &parsed.words)?;
            Ok(SearchResults {
                accounts,
                posts,
                page,
                has_more,
            })
        })
        .await
}

/// The ids of the named tags, or `None` when one of them does not exist.
fn tag_ids(conn: &mut DbConn, keys: &[String]) -> Result<Option<Vec<i64>>, AppError> {
    if keys.is_empty() {
        return Ok(Some(Vec::new()));
    }
    let found: Vec<i64> = tags::table
        .filter(tags::name_lower.eq_any(keys))
        .select(tags::id)
        .load(conn)?;
    Ok((found.len() == keys.len()).then_some(found))
}

/// SQL conditions every hit meets, over `posts p` and `accounts a`. Tag ids come from the
/// database (integers), never from the user, so they may be written into the SQL.
fn visible_sql(tag_ids: &[i64]) -> String {
    let mut sql = String::from(
        " AND p.deleted_at IS NULL AND p.removed_at IS NULL AND p.visibility = 'public' \
         AND a.suspended_at IS NULL",
    );
    if !tag_ids.is_empty() {
        sql.push_str(" AND p.in_reply_to_id IS NULL");
        for id in tag_ids {
            sql.push_str(&format!(
                " AND p.id IN (SELECT post_id FROM post_tags WHERE tag_id = {id})"
            ));
        }
    }
    sql
}

#[derive(QueryableByName)]
struct IdRow {
    #[diesel(sql_type = BigInt)]
    id: i64,
}

/// One page of visible posts matching `words` (and carrying every tag in `tag_ids`),
/// best match first: the only backend-specific query.
fn ranked_ids(
    conn: &mut DbConn,
    words: &[String],
    tag_ids: &[i64],
    limit: i64,
    offset: i64,
) -> Result<Vec<i64>, AppError> {
    let filters = visible_sql(tag_ids);
    let rows: Vec<IdRow> = match conn {
        DbConn::Sqlite(c) => {
            // bm25 is lower for better matches; a word in the headline counts double.
            let sql = format!(
                "SELECT p.id AS id FROM posts_fts \
                 JOIN posts p ON p.id = posts_fts.rowid \
                 JOIN accounts a ON a.id = p.account_id \
                 WHERE posts_fts MATCH ?{filters} \
                 ORDER BY bm25(posts_fts, 2.0, 1.0), p.id DESC LIMIT ? OFFSET ?"
            );
            diesel::sql_query(sql)
                .bind::<Text, _>(fts5_query(words))
                .bind::<BigInt, _>(limit)
                .bind::<BigInt, _>(offset)
                .load(c)?
        }
        DbConn::Pg(c) => {
            let (web, prefix) = pg_query(words);
            let sql = format!(
                "WITH q AS (SELECT websearch_to_tsquery('simple', $1) \
                                   && to_tsquery('simple', $2) AS query) \
                 SELECT p.id AS id FROM posts p \
                 JOIN accounts a ON a.id = p.account_id CROSS JOIN q \
                 WHERE p.search @@ q.query{filters} \
                 ORDER BY ts_rank(p.search, q.query) DESC, p.id DESC LIMIT $3 OFFSET $4"
            );
            diesel::sql_query(sql)
                .bind::<Text, _>(web)
                .bind::<Text, _>(prefix)
                .bind::<BigInt, _>(limit)
                .bind::<BigInt, _>(offset)
                .load(c)?
        }
    };
    Ok(rows.into_iter().map(|r| r.id).collect())
}

/// One page of visible stories carrying every tag in `tag_ids`, newest first.
fn tagged_ids(
    conn: &mut DbConn,
    tag_ids: &[i64],
    limit: i64,
    offset: i64,
) -> Result<Vec<i64>, AppError> {
    let mut query = posts::table
        .inner_join(accounts::table)
        .filter(posts::in_reply_to_id.is_null())
        .filter(posts::deleted_at.is_null())
        .filter(posts::removed_at.is_null())
        .filter(posts::visibility.eq("public"))
        .filter(accounts::suspended_at.is_null())
        .select(posts::id)
        .into_boxed();
    for &tag_id in tag_ids {
        query = query.filter(
            posts::id.eq_any(
                post_tags::table
                    .filter(post_tags::tag_id.eq(tag_id))
                    .select(post_tags::post_id),
            ),
        );
    }
    Ok(query
        .order(posts::id.desc())
        .limit(limit)
        .offset(offset)
        .load(conn)?)
}

/// The posts behind `ids` with authors and tags, in the order of `ids`.
fn load_hits(conn: &mut DbConn, ids: &[i64], words: &[String]) -> Result<Vec<SearchHit>, AppError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let rows: Vec<(Post, AccountBrief)> = posts::table
        .inner_join(accounts::table)
        .filter(posts::id.eq_any(ids))
        .select((Post::as_select(), AccountBrief::as_select()))
        .load(conn)?;
    let mut tags: HashMap<i64, Vec<TagRef>> = HashMap::new();
    let tag_rows: Vec<PostTag> = post_tags::table
        .filter(post_tags::post_id.eq_any(ids))
        .select(PostTag::as_select())
        .load(conn)?;
    for t in tag_rows {
        tags.entry(t.post_id).or_default().push(TagRef {
            key: normalize_tag(&t.name),
            name: t.name,
        });
    }
    let mut by_id: HashMap<i64, (Post, AccountBrief)> =
        rows.into_iter().map(|row| (row.0.id, row)).collect();
    Ok(ids
        .iter()
        .filter_map(|id| by_id.remove(id))
        .map(|(post, author)| {
            let mut post_tags = tags.remove(&post.id).unwrap_or_default();
            post_tags.sort_by(|x, y| x.key.cmp(&y.key));
            SearchHit {
                id: post.id,
                excerpt: match warning_text(&post.spoiler_text, post.sensitive) {
                    Some(w) => format!("Content warning: {w}"),
                    None => excerpt(&post.body, words),
                },
                headline: post.headline,
                in_reply_to_id: post.in_reply_to_id,
                author: author.into(),
                created_at: post.created_at,
                tags: post_tags,
            }
        })
        .collect())
}

/// Plain text of `body` around the first of `words` found in it (case-insensitively), or
/// its start; `…` marks cut ends.
fn excerpt(body: &str, words: &[String]) -> String {
    let chars: Vec<char> = body
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .chars()
        .collect();
    if chars.len() <= EXCERPT_CHARS {
        return chars.into_iter().collect();
    }
    let lowered: Vec<char> = chars.iter().map(|c| lower_char(*c)).collect();
    let hit = words
        .iter()
        .filter_map(|w| {
            let needle: Vec<char> = w
                .chars()
                .filter(|c| c.is_alphanumeric())
                .map(lower_char)
                .collect();
            find_chars(&lowered, &needle)
        })
        .min()
        .unwrap_or(0);
    // Start a little before the word (at the start of a word), keeping the window full.
    let mut start = hit.saturating_sub(EXCERPT_CHARS / 4);
    start = start.min(chars.len() - EXCERPT_CHARS);
    while start > 0 && start < hit && chars[start - 1] != ' ' {
        start += 1;
    }
    let mut end = (start + EXCERPT_CHARS).min(chars.len());
    // End after a whole word when one ends in the second half of the window.
    if end < chars.len() && chars[end] != ' ' {
        let last_space = chars[start..end].iter().rposition(|&c| c == ' ');
        if let Some(space) = last_space.filter(|&s| s > EXCERPT_CHARS / 2) {
            end = start + space;
        }
    }
    let mut out = String::new();
    if start > 0 {
        out.push('…');
    }
    out.extend(chars[start..end].iter());
    let mut out = out.trim_end().to_owned();
    if end < chars.len() {
        out.push('…');
    }
    out
}

/// A one-to-one lowercase (characters whose lowercase is longer stay as they are), so
/// positions in the lowered text are positions in the original.
fn lower_char(c: char) -> char {
    let mut lower = c.to_lowercase();
    match (lower.next(), lower.next()) {
        (Some(l), None) => l,
        _ => c,
    }
}

fn find_chars(haystack: &[char], needle: &[char]) -> Option<usize> {
    if needle.is_empty() || needle.len() > haystack.len() {
        return None;
    }
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Accounts whose username or display name holds `needle` (an `@` in front is ignored;
/// `name@domain` looks for that remote account): exact username first, then names that
/// start with it, then names that merely contain it; local before remote within each.
fn find_accounts(conn: &mut DbConn, needle: &str) -> Result<Vec<AuthorView>, AppError> {
    let needle = needle.trim_start_matches('@').to_lowercase();
    let (user, domain) = match needle.split_once('@') {
        Some((u, d)) => (u.to_owned(), Some(d.to_owned())),
        None => (needle.clone(), None),
    };
    if !user.chars().any(char::is_alphanumeric) {
        return Ok(Vec::new());
    }
    let starts = format!("{}%", like_escape(&user));
    let contains = format!("%{}%", like_escape(&user));
    let domain_starts = domain.as_deref().map(|d| format!("{}%", like_escape(d)));
    let mut found: Vec<AccountBrief> = Vec::new();
    // Three small queries, each ranked tier filling what the one before left.
    for tier in 0..3 {
        let room = MAX_ACCOUNTS - found.len();
        if room == 0 {
            break;
        }
        let mut query = accounts::table
            .filter(accounts::suspended_at.is_null())
            .select(AccountBrief::as_select())
            .into_boxed();
        if let Some(d) = &domain_starts {
            query = query.filter(
                lower(accounts::domain.assume_not_null())
                    .like(d.clone())
                    .escape('\\'),
            );
        }
        query = match (tier, domain.is_some()) {
            (0, _) => query.filter(accounts::username_lower.eq(user.clone())),
            (1, true) => query.filter(accounts::username_lower.like(starts.clone()).escape('\\')),
            (1, false) => query.filter(
                accounts::username_lower
                    .like(starts.clone())
                    .escape('\\')
                    .or(lower(accounts::display_name)
                        .like(starts.clone())
                        .escape('\\')),
            ),
            (_, true) => query.filter(accounts::username_lower.like(contains.clone()).escape('\\')),
            (_, false) => query.filter(
                accounts::username_lower
                    .like(contains.clone())
                    .escape('\\')
                    .or(lower(accounts::display_name)
                        .like(contains.clone())
                        .escape('\\')),
            ),
        };
        let seen: Vec<i64> = found.iter().map(|a| a.id).collect();
        if !seen.is_empty() {
            query = query.filter(accounts::id.ne_all(seen));
        }
        let rows: Vec<AccountBrief> = query
            .order((
                accounts::domain.is_not_null(),
                accounts::username_lower,
                accounts::id,
            ))
            .limit(room as i64)
            .load(conn)?;
        found.extend(rows);
    }
    Ok(found.into_iter().map(AuthorView::from).collect())
}

diesel::define_sql_function!(fn lower(x: diesel::sql_types::Text) -> diesel::sql_types::Text);

/// `s` with the LIKE wildcards (and the escape character `\`) made literal.
pub(crate) fn like_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn queries_split_into_words_and_tags() {
        let p = parse("  Storm #Weather coast #weather # ( #1 ");
        assert_eq!(p.words, words(&["Storm", "coast", "#1"]));
        assert_eq!(p.tags, words(&["weather"]));
        assert_eq!(parse("   "), ParsedQuery::default());
    }

    #[test]
    fn fts5_terms_are_always_strings() {
        assert_eq!(fts5_query(&words(&["storm", "coa"])), r#""storm" "coa"*"#);
        assert_eq!(
            fts5_query(&words(&["\"a\"", "OR", "(b*", "NEAR"])),
            r#""""a""" "OR" "(b*" "NEAR"*"#
        );
        // The last term is a prefix only when it is a plain word.
        assert_eq!(fts5_query(&words(&["--"])), r#""--""#);
    }

    #[test]
    fn pg_prefix_is_plain_letters() {
        assert_eq!(
            pg_query(&words(&["big", "Sto"])),
            ("big".to_owned(), "sto:*".to_owned())
        );
        assert_eq!(
            pg_query(&words(&["'a'", "b:*"])),
            ("'a' b:*".to_owned(), String::new())
        );
    }

    #[test]
    fn excerpts_show_the_match() {
        let body = format!("{} needle and more", "filler ".repeat(100));
        let e = excerpt(&body, &words(&["NEEDLE"]));
        assert!(e.starts_with('…'), "{e}");
        assert!(e.contains("needle and more"), "{e}");
        assert!(e.chars().count() <= EXCERPT_CHARS + 2);
        assert_eq!(excerpt("short  text\nhere", &[]), "short text here");
        let long = "word ".repeat(100);
        let e = excerpt(&long, &words(&["absent"]));
        assert!(!e.starts_with('…') && e.ends_with("word…"), "{e}");
        // Cut ends fall between words.
        let body = format!("{} key {}", "alpha ".repeat(60), "omega ".repeat(60));
        let e = excerpt(&body, &words(&["key"]));
        assert!(e.starts_with("…alpha") && e.ends_with("omega…"), "{e}");
        assert!(e.contains(" key "), "{e}");
    }

    #[test]
    fn like_wildcards_are_literal() {
        assert_eq!(like_escape(r"a%b_c\d"), r"a\%b\_c\\d");
    }
}
