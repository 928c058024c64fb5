//! Reading incoming objects: what Tidings takes from a `Note` (or `Article`, `Page`,
//! `Question`) and from a reaction, whatever the shape the peer chose (single values or
//! arrays, links as strings or objects). Pure: no database, no network; tested with the
//! captured payloads in tests/fixtures/federation/.

use std::collections::HashSet;

use serde_json::Value;
use url::Url;

use crate::domain::html::{sanitize, to_text};
use crate::domain::links::{safe_profile_url, web_url};
use crate::domain::reaction::parse_emoji;
use crate::domain::story::split_status;
use crate::domain::text::{
    MAX_CONTENT_WARNING, MAX_TAGS_PER_POST, escape, is_valid_tag, normalize_tag,
};

use super::super::protocol::PUBLIC;

/// The most `Mention` tags read from one note (distinct `href`s); the rest are left out
/// (logged). Each names an account that may be notified.
pub const MAX_MENTIONS_PER_NOTE: usize = 50;

/// Object types stored as posts.
pub const NOTE_TYPES: [&str; 4] = ["Note", "Article", "Page", "Question"];

/// The headline of a remote note marked sensitive that has neither a title nor a warning.
pub const SENSITIVE_HEADLINE: &str = "Sensitive content";

/// Who may see a post, from its `to` and `cc` (as Mastodon reads them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Audience {
    /// Public in `to`.
    Public,
    /// Public only in `cc`.
    Unlisted,
    /// Not public: followers-only (the author's followers collection addressed) or direct
    /// (only people addressed), told apart by [`IncomingNote::visibility`], which knows the
    /// author's followers collection.
    Limited,
}

/// What a Note-like object says, ready to store.
#[derive(Debug, Clone, PartialEq)]
pub struct IncomingNote {
    pub id: String,
    pub kind: String,
    pub attributed_to: String,
    /// The HTML page of the object, when it gives one.
    pub url: Option<String>,
    /// Content, sanitised.
    pub content_html: String,
    /// Content as text.
    pub text: String,
    /// `name` (Articles and Pages: the title).
    pub name: Option<String>,
    /// The poll of a `Question`.
    pub poll: Option<crate::service::polls::RemotePoll>,
    /// The content warning ("" for none): `summary` (or the first of `summaryMap`) of a
    /// `Note` or `Question`, as plain text, at most [`MAX_CONTENT_WARNING`] characters.
    /// The `summary` of an `Article` or `Page` is an excerpt, not a warning (as on
    /// Mastodon).
    pub spoiler_text: String,
    /// `sensitive: true`, or a content warning.
    pub sensitive: bool,
    pub in_reply_to: Option<String>,
    /// Hashtag names without `#`, as spelled, valid and distinct: the first
    /// [`MAX_TAGS_PER_POST`].
    pub hashtags: Vec<String>,
    /// `href`s of `Mention` tags, distinct: the first [`MAX_MENTIONS_PER_NOTE`].
    pub mentions: Vec<String>,
    pub audience: Audience,
    /// The ids in `to` and `cc` other than Public, distinct: the first
    /// [`MAX_MENTIONS_PER_NOTE`] + 2 (room for followers collections).
    pub addressed: Vec<String>,
}

impl IncomingNote {
    /// The `visibility` the note is stored with: `public` (Public in `to`), `unlisted`
    /// (Public in `cc`), `private` (the author's followers collection addressed, no
    /// Public), else `direct`. `followers`: the author's followers collection, when known
    /// (else `{attributedTo}/followers` is taken for it, Mastodon's and our own shape).
    pub fn visibility(&self, followers: Option<&str>) -> &'static str {
        match self.audience {
            Audience::Public => "public",
            Audience::Unlisted => "unlisted",
            Audience::Limited => {
                let guessed = format!("{}/followers", self.attributed_to);
                let followers = followers.unwrap_or(&guessed);
                if self.addressed.iter().any(|a| a == followers) {
                    "private"
                } else {
                    "direct"
                }
            }
        }
    }

    /// The headline of a story: the title of an Article or Page; else the content
    /// warning (the text it warns about must not be shown in lists), or "Sensitive
    /// content" for a note marked sensitive without one; else the first line of the text.
    pub fn headline(&self) -> String {
        if let Some(name) = self
            .name
            .as_deref()
            .map(str::trim)
            .filter(|n| !n.is_empty())
        {
            return split_status(name).0;
        }
        if !self.spoiler_text.is_empty() {
            return split_status(&self.spoiler_text).0;
        }
        if self.sensitive {
            return SENSITIVE_HEADLINE.to_owned();
        }
        let (first, _) = split_status(&self.text);
        if first.is_empty() {
            "(untitled)".to_owned()
        } else {
            first
        }
    }
}

/// The type of an object: `type` as a string, or, when it is an array
/// (`["Note", "Article"]`, as some servers send), the first of them stored as a post
/// ([`NOTE_TYPES`]), else the first of them.
pub fn type_of(object: &Value) -> Option<&str> {
    match object.get("type")? {
        Value::String(s) => Some(s),
        Value::Array(a) => {
            let mut names = a.iter().filter_map(Value::as_str);
            a.iter()
                .filter_map(Value::as_str)
                .find(|t| NOTE_TYPES.contains(t))
                .or_else(|| names.next())
        }
        _ => None,
    }
}

/// The id of a value that is a string or an object with an `id`.
pub fn id_of(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) => Some(s.clone()),
        Value::Object(o) => o.get("id").and_then(Value::as_str).map(str::to_owned),
        _ => None,
    }
}

/// The values of a property that may be one value or an array.
pub fn many(v: Option<&Value>) -> Vec<&Value> {
    match v {
        Some(Value::Array(a)) => a.iter().collect(),
        Some(Value::Null) | None => Vec::new(),
        Some(v) => vec![v],
    }
}

/// The ids of a property that may be one link or an array of them.
pub fn ids_of(v: Option<&Value>) -> Vec<String> {
    many(v).into_iter().filter_map(|v| id_of(Some(v))).collect()
}

fn is_public(s: &str) -> bool {
    s == PUBLIC || s == "as:Public" || s == "Public"
}

/// The audience of an object from its `to` and `cc`.
pub fn audience(object: &Value) -> Audience {
    if ids_of(object.get("to")).iter().any(|s| is_public(s)) {
        Audience::Public
    } else if ids_of(object.get("cc")).iter().any(|s| is_public(s)) {
        Audience::Unlisted
    } else {
        Audience::Limited
    }
}

/// The ids in `to` and `cc` other than Public, distinct, at most `max`.
fn addressed(object: &Value, max: usize) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for id in ids_of(object.get("to"))
        .into_iter()
        .chain(ids_of(object.get("cc")))
    {
        if out.len() == max {
            break;
        }
        if !is_public(&id) && !out.contains(&id) {
            out.push(id);
        }
    }
    out
}

/// `host[:port]` of a URL string, or "" when it is not a URL.
pub fn host_of(url: &str) -> String {
    Url::parse(url)
        .map(|u| super::super::fetch::authority(&u))
        .unwrap_or_default()
}

/// The content of an object: `content`, else the first value of `contentMap`.
fn content(object: &Value) -> String {
    if let Some(c) = object.get("content").and_then(Value::as_str) {
        return c.to_owned();
    }
    object
        .get("contentMap")
        .and_then(Value::as_object)
        .and_then(|m| m.values().find_map(Value::as_str))
        .unwrap_or_default()
        .to_owned()
}

/// The content warning of a `Note` or `Question`: `summary`, else the first value of
/// `summaryMap`; plain text (Mastodon, Misskey and Pleroma send it unescaped), trimmed,
/// cut at [`MAX_CONTENT_WARNING`] characters (with `…`: a long warning still warns).
fn content_warning(object: &Value, kind: &str) -> String {
    if !matches!(kind, "Note" | "Question") {
        return String::new();
    }
    let raw = object
        .get("summary")
        .and_then(Value::as_str)
        .filter(|s| !s.trim().is_empty())
        .or_else(|| {
            object
                .get("summaryMap")
                .and_then(Value::as_object)
                .and_then(|m| m.values().find_map(Value::as_str))
        })
        .unwrap_or_default();
    let cleaned: String = raw
        .trim()
        .chars()
        .map(|c| if c.is_control() && c != '\n' { ' ' } else { c })
        .collect();
    if cleaned.chars().count() <= MAX_CONTENT_WARNING {
        return cleaned;
    }
    let mut cut: String = cleaned.chars().take(MAX_CONTENT_WARNING - 1).collect();
    cut.push('…');
    cut
}

/// Reads a Note-like object. Errors name what is missing or wrong.
pub fn parse_note(object: &Value) -> Result<IncomingNote, String> {
    if !object.is_object() {
        return Err("the object must be embedded (a JSON object)".into());
    }
    let kind = type_of(object).ok_or("object without type")?;
    if !NOTE_TYPES.contains(&kind) {
        return Err(format!("objects of type {kind} are not stored"));
    }
    let id = id_of(object.get("id")).ok_or("object without id")?;
    Url::parse(&id).map_err(|_| "the object id is not a URL")?;
    let attributed_to = ids_of(object.get("attributedTo"))
        .into_iter()
        .next()
        .ok_or("object without attributedTo")?;
    let raw = content(object);
    let name = object
        .get("name")
        .and_then(Value::as_str)
        .map(str::to_owned);
    if raw.trim().is_empty() && name.as_deref().is_none_or(|n| n.trim().is_empty()) {
        return Err("object without content".into());
    }
    let content_html = sanitize(&raw);
    let text = to_text(&raw);
    let spoiler_text = content_warning(object, kind);
    // One note listing ten thousand hashtags made ten thousand tag rows: only the first
    // ones are kept (the text keeps them all, as links).
    let mut hashtags: Vec<String> = Vec::new();
    let mut seen_tags = HashSet::new();
    let mut mentions: Vec<String> = Vec::new();
    let (mut extra_tags, mut extra_mentions) = (0usize, 0usize);
    for tag in many(object.get("tag")) {
        match tag.get("type").and_then(Value::as_str) {
            Some("Hashtag") => {
                let Some(name) = tag.get("name").and_then(Value::as_str) else {
                    continue;
                };
                let name = name.trim().trim_start_matches('#');
                if !is_valid_tag(name) || !seen_tags.insert(normalize_tag(name)) {
                    continue;
                }
                if hashtags.len() < MAX_TAGS_PER_POST {
                    hashtags.push(name.to_owned());
                } else {
                    extra_tags += 1;
                }
            }
            Some("Mention") => {
                let Some(href) = tag.get("href").and_then(Value::as_str) else {
                    continue;
                };
                if mentions.iter().any(|m| m == href) {
                    continue;
                }
                if mentions.len() < MAX_MENTIONS_PER_NOTE {
                    mentions.push(href.to_owned());
                } else {
                    extra_mentions += 1;
                }
            }
            _ => {}
        }
    }
    if extra_tags + extra_mentions > 0 {
        tracing::info!(
            id,
            extra_tags,
            extra_mentions,
            "note names more hashtags or mentions than are kept; the rest are left out"
        );
    }
    // The page of the note: an http(s) `url` on the note's own server (Mastodon's rule);
    // anything else (a `javascript:` URL, a page elsewhere posing as the note's) is not
    // taken, and the note's id is its page.
    let urls: Vec<&str> = many(object.get("url"))
        .into_iter()
        .filter_map(|u| match u {
            Value::String(s) => Some(s.as_str()),
            Value::Object(o) => o.get("href").and_then(Value::as_str),
            _ => None,
        })
        .collect();
    let url = urls.iter().find_map(|u| {
        let safe = safe_profile_url(Some(u), &id);
        (safe != id).then_some(safe)
    });
    let (mut content_html, mut text) = (content_html, text);
    if url.is_none() && !urls.is_empty() {
        // The `url` of a link post (Lemmy's `Page`, an `Article`) is the page it
        // shares: kept as a link at the end of the body, as Mastodon does, not as the
        // post's own page.
        match urls.iter().find_map(|u| web_url(u)) {
            Some(link) if matches!(kind, "Article" | "Page") => {
                let link = link.to_string();
                content_html.push_str(&format!(
                    "<p><a href=\"{0}\" rel=\"nofollow noopener noreferrer\">{0}</a></p>",
                    escape(&link)
                ));
                text = format!("{text}\n\n{link}").trim().to_owned();
            }
            _ => tracing::debug!(id, "note url not on its server or not http(s): not taken"),
        }
    }
    Ok(IncomingNote {
        id,
        kind: kind.to_owned(),
        attributed_to,
        url,
        content_html,
        text,
        poll: super::polls::parse_question(object),
        name,
        sensitive: !spoiler_text.is_empty()
            || object.get("sensitive").and_then(Value::as_bool) == Some(true),
        spoiler_text,
        in_reply_to: id_of(object.get("inReplyTo")),
        hashtags,
        mentions,
        audience: audience(object),
        addressed: addressed(object, MAX_MENTIONS_PER_NOTE + 2),
    })
}

/// What a `Like`, `Dislike` or `EmojiReact` means here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reaction {
    Up,
    Down,
    /// One Unicode emoji (canonical form).
    Emoji(String),
    /// A custom emoji (`:shortcode:`) or anything else that is not one emoji.
    Unsupported(String),
}

/// Reads a `Like` (a bare Like is an up-vote; one carrying `_misskey_reaction` or
/// `content` is a reaction), `Dislike` or `EmojiReact`.
pub fn parse_reaction(activity: &Value) -> Option<Reaction> {
    let kind = activity.get("type").and_then(Value::as_str)?;
    let emoji = || {
        ["_misskey_reaction", "content"]
            .iter()
            .find_map(|k| activity.get(*k).and_then(Value::as_str))
            .map(str::trim)
            .filter(|s| !s.is_empty())
    };
    let as_reaction = |raw: &str| match parse_emoji(raw) {
        Ok(e) => Reaction::Emoji(e),
        Err(_) => Reaction::Unsupported(raw.to_owned()),
    };
    match kind {
        "Like" => Some(match emoji() {
            Some(raw) => as_reaction(raw),
            None => Reaction::Up,
        }),
        "Dislike" => Some(Reaction::Down),
        "EmojiReact" => Some(as_reaction(emoji().unwrap_or(""))),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn audiences() {
        assert_eq!(audience(&json!({"to": PUBLIC})), Audience::Public);
        assert_eq!(
            audience(&json!({"to": ["https://a/f"], "cc": ["as:Public"]})),
            Audience::Unlisted
        );
        assert_eq!(audience(&json!({"to": ["https://a/f"]})), Audience::Limited);
    }

    #[test]
    fn limited_notes_are_private_when_the_followers_are_addressed_else_direct() {
        let note = |to: Value, cc: Value| {
            parse_note(
                &json!({"type": "Note", "id": "https://a/n/1", "attributedTo": "https://a/u",
                "content": "<p>Hi</p>", "to": to, "cc": cc}),
            )
            .unwrap()
        };
        let followers = Some("https://a/followers/u");
        let n = note(json!(["https://a/followers/u"]), json!(["https://b/x"]));
        assert_eq!(n.visibility(followers), "private");
        assert_eq!(n.addressed, ["https://a/followers/u", "https://b/x"]);
        let n = note(json!([]), json!("https://a/followers/u"));
        assert_eq!(n.visibility(followers), "private");
        let n = note(json!(["https://b/x"]), json!([]));
        assert_eq!(n.visibility(followers), "direct");
        // Without a known collection, Mastodon's shape is recognised.
        let n = note(json!(["https://a/u/followers"]), json!([]));
        assert_eq!(n.visibility(None), "private");
        let n = note(json!([PUBLIC]), json!(["https://a/followers/u"]));
        assert_eq!(n.visibility(followers), "public");
        let n = note(json!(["https://a/followers/u"]), json!(["as:Public"]));
        assert_eq!(n.visibility(followers), "unlisted");
        assert!(n.addressed.iter().all(|a| !a.contains("Public")));
    }

    #[test]
    fn an_array_of_types_is_read_as_its_known_type() {
        let t = |v: Value| type_of(&json!({ "type": v })).map(str::to_owned);
        assert_eq!(t(json!("Note")).as_deref(), Some("Note"));
        assert_eq!(t(json!(["Note", "Article"])).as_deref(), Some("Note"));
        assert_eq!(t(json!(["Emoji", "Article"])).as_deref(), Some("Article"));
        assert_eq!(t(json!(["Emoji", "Thing"])).as_deref(), Some("Emoji"));
        assert_eq!(t(json!([1])), None);
        let n = parse_note(&json!({"type": ["Note", "Article"], "id": "https://a/n",
            "attributedTo": "https://a/u", "content": "<p>Hi</p>", "to": [PUBLIC]}))
        .unwrap();
        assert_eq!(n.kind, "Note");
    }

    #[test]
    fn reactions() {
        let r = |v: Value| parse_reaction(&v);
        assert_eq!(r(json!({"type": "Like"})), Some(Reaction::Up));
        assert_eq!(r(json!({"type": "Dislike"})), Some(Reaction::Down));
        assert_eq!(
            r(json!({"type": "Like", "content": "🎉"})),
            Some(Reaction::Emoji("🎉".into()))
        );
        assert_eq!(
            r(json!({"type": "EmojiReact", "content": ":blob:"})),
            Some(Reaction::Unsupported(":blob:".into()))
        );
        assert_eq!(r(json!({"type": "Announce"})), None);
    }

    #[test]
    fn content_warnings() {
        let note = |extra: Value| {
            let mut o = json!({"type": "Note", "id": "https://a/n", "attributedTo": "https://a/u",
                               "content": "<p>First line</p><p>more</p>", "to": [PUBLIC]});
            o.as_object_mut()
                .unwrap()
                .extend(extra.as_object().unwrap().clone());
            parse_note(&o).unwrap()
        };
        let n = note(json!({"summary": " Spoilers <b> ", "sensitive": true}));
        assert_eq!(
            (n.spoiler_text.as_str(), n.sensitive),
            ("Spoilers <b>", true)
        );
        // The warning, not the text it hides, is the headline.
        assert_eq!(n.headline(), "Spoilers <b>");
        let n = note(json!({"summaryMap": {"de": "Achtung"}}));
        assert_eq!((n.spoiler_text.as_str(), n.sensitive), ("Achtung", true));
        let n = note(json!({"sensitive": true}));
        assert_eq!(
            (n.spoiler_text.as_str(), n.headline().as_str()),
            ("", SENSITIVE_HEADLINE)
        );
        let n = note(json!({"summary": null, "sensitive": false}));
        assert_eq!((n.spoiler_text.as_str(), n.sensitive), ("", false));
        assert_eq!(n.headline(), "First line");
        let long = note(json!({"summary": "w".repeat(MAX_CONTENT_WARNING + 10)}));
        assert_eq!(long.spoiler_text.chars().count(), MAX_CONTENT_WARNING);
        assert!(long.spoiler_text.ends_with('…'));
        // An Article's summary is its excerpt, not a warning (as on Mastodon).
        let a = note(json!({"type": "Article", "name": "Title", "summary": "An excerpt"}));
        assert_eq!((a.spoiler_text.as_str(), a.sensitive), ("", false));
    }

    #[test]
    fn notes_need_the_essentials() {
        assert!(parse_note(&json!("https://a/n")).is_err());
        assert!(parse_note(&json!({"type": "Note", "id": "https://a/n"})).is_err());
        let n = parse_note(&json!({
            "type": "Article", "id": "https://a/n", "attributedTo": "https://a/u",
            "name": "Title", "content": "<p>Body <b>x</b></p>", "to": [PUBLIC],
            "tag": [{"type": "Hashtag", "name": "#Rust"}, {"type": "Hashtag", "name": "#rust"},
                    {"type": "Hashtag", "name": "#no spaces"}]
        }))
        .unwrap();
        assert_eq!(n.headline(), "Title");
        assert_eq!(n.hashtags, ["Rust"]);
        assert_eq!(n.text, "Body x");
    }
}

/// Property tests: whatever JSON a peer sends, reading it never panics, and what is read
/// keeps the limits and the safety of what is stored (issue #12).
#[cfg(test)]
mod proptests {
    use super::*;
    use crate::domain::html::unsafe_html;
    use crate::domain::links::web_url;
    use proptest::prelude::*;
    use serde_json::{Map, json};

    const KEYS: &[&str] = &[
        "id",
        "type",
        "actor",
        "object",
        "attributedTo",
        "content",
        "contentMap",
        "name",
        "summary",
        "summaryMap",
        "sensitive",
        "tag",
        "to",
        "cc",
        "url",
        "href",
        "inReplyTo",
        "_misskey_reaction",
        "published",
        "mediaType",
    ];
    const STRINGS: &[&str] = &[
        "Note",
        "Article",
        "Page",
        "Question",
        "Create",
        "Update",
        "Like",
        "Dislike",
        "EmojiReact",
        "Hashtag",
        "Mention",
        "Link",
        PUBLIC,
        "as:Public",
        "https://peer.example/users/ann",
        "https://peer.example/notes/1",
        "http://[::1]:99999/x",
        "javascript:alert(1)",
        "java\tscript:alert(1)",
        "//x",
        "https://",
        "",
        " ",
        "#",
        "#tag",
        "🎉",
        ":blob:",
        "<script>alert(1)</script>",
        "<a href=\"javascript:alert(1)\">x</a>",
        "<img src=x onerror=alert(1)>",
        "\u{0}",
        "\u{202e}",
        "https://peer.example:0/",
        "https://ünï.example/ä",
    ];

    fn scalar() -> impl Strategy<Value = Value> {
        prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            any::<f64>().prop_map(Value::from),
            prop::sample::select(STRINGS).prop_map(Value::from),
            "\\PC{0,30}".prop_map(Value::from),
        ]
    }

    fn key() -> impl Strategy<Value = String> {
        prop_oneof![
            4 => prop::sample::select(KEYS).prop_map(str::to_owned),
            1 => "\\PC{0,8}",
        ]
    }

    /// Any JSON, with the keys and values of activities more often than chance would.
    fn json_value() -> impl Strategy<Value = Value> {
        scalar().prop_recursive(4, 48, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
                prop::collection::vec((key(), inner), 0..8)
                    .prop_map(|kv| Value::Object(kv.into_iter().collect::<Map<_, _>>())),
            ]
        })
    }

    /// A well-formed note (as Mastodon sends it) with some properties replaced by anything
    /// or taken out.
    fn mutated_note() -> impl Strategy<Value = Value> {
        (
            prop::collection::vec((prop::sample::select(KEYS), prop::option::of(json_value())), 0..5),
            0..40usize,
        )
            .prop_map(|(changes, tags)| {
                let mut note = json!({
                    "id": "https://peer.example/notes/1", "type": "Note",
                    "attributedTo": "https://peer.example/users/ann",
                    "content": "<p>Hello <a href=\"https://peer.example/tags/x\">#x</a></p>",
                    "summary": "cw", "sensitive": true, "to": [PUBLIC],
                    "url": "https://peer.example/@ann/1", "inReplyTo": null,
                    "tag": (0..tags).map(|i| json!({"type": if i % 2 == 0 { "Hashtag" } else { "Mention" },
                        "name": format!("#t{i}"), "href": format!("https://peer.example/u/{i}")}))
                        .collect::<Vec<_>>(),
                });
                for (k, v) in changes {
                    match v {
                        Some(v) => note[k] = v,
                        None => {
                            note.as_object_mut().unwrap().remove(k);
                        }
                    }
                }
                note
            })
    }

    fn check_note(object: &Value) -> Result<(), TestCaseError> {
        let _ = audience(object);
        let Ok(n) = parse_note(object) else {
            return Ok(());
        };
        prop_assert!(n.hashtags.len() <= MAX_TAGS_PER_POST);
        prop_assert!(n.hashtags.iter().all(|h| is_valid_tag(h)));
        prop_assert!(n.mentions.len() <= MAX_MENTIONS_PER_NOTE);
        prop_assert!(n.spoiler_text.chars().count() <= MAX_CONTENT_WARNING);
        prop_assert!(n.sensitive || n.spoiler_text.is_empty());
        prop_assert!(unsafe_html(&n.content_html).is_none(), "{}", n.content_html);
        if let Some(url) = &n.url {
            prop_assert!(web_url(url).is_some(), "{url}");
            prop_assert_eq!(host_of(url), host_of(&n.id));
        }
        let _ = n.headline();
        Ok(())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn reading_any_activity_never_panics(activity in json_value()) {
            let _ = parse_reaction(&activity);
            let _ = id_of(activity.get("actor"));
            let _ = ids_of(activity.get("object"));
            let _ = id_of(activity.get("id")).map(|id| host_of(&id));
            check_note(&activity)?;
            if let Some(object) = activity.get("object") {
                check_note(object)?;
                for o in many(Some(object)) {
                    check_note(o)?;
                }
            }
        }

        #[test]
        fn a_mutated_note_is_read_safely(note in mutated_note()) {
            check_note(&note)?;
            let create = json!({"type": "Create", "id": "https://peer.example/a/1",
                                "actor": "https://peer.example/users/ann", "object": note});
            let _ = parse_reaction(&create);
            check_note(&create["object"])?;
        }
    }
}
