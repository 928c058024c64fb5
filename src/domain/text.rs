//! Plain text → safe HTML. Text is always escaped; the only markup we add is paragraphs,
//! line breaks, links for URLs (found by `linkify`) and links for #hashtags.

use linkify::{LinkFinder, LinkKind};

pub const MAX_TAG_LEN: usize = 100;

/// The most hashtags one post carries: a local post with more is refused (422), a
/// remote note keeps its first ones (docs/federation.md, "Limits").
pub const MAX_TAGS_PER_POST: usize = 30;

/// The longest content warning, in characters (a local post's is refused past it, a
/// remote one is cut).
pub const MAX_CONTENT_WARNING: usize = 500;

/// Escapes text for use in HTML content and attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + s.len() / 8);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn is_tag_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// A hashtag as typed (without `#`), and where it sits in the text (byte range incl. `#`).
#[derive(Debug, Clone, PartialEq, Eq)]
struct TagMatch {
    start: usize,
    end: usize,
    name: String,
}

/// Finds `#tags` in text that holds no links: a `#` at the start or after a character
/// that cannot be part of a word, followed by letters, digits or `_`, at least one of
/// them not a digit (so `#1` is not a tag).
fn find_tags(s: &str) -> Vec<TagMatch> {
    let mut out = Vec::new();
    let mut prev: Option<char> = None;
    let mut iter = s.char_indices().peekable();
    while let Some((i, c)) = iter.next() {
        let preceded_ok = prev.is_none_or(|p| !(is_tag_char(p) || p == '&' || p == '#'));
        if c == '#' && preceded_ok {
            let start_name = i + 1;
            let mut end = start_name;
            while let Some(&(j, d)) = iter.peek() {
                if is_tag_char(d) {
                    end = j + d.len_utf8();
                    iter.next();
                } else {
                    break;
                }
            }
            let name = &s[start_name..end];
            if !name.is_empty()
                && name.chars().count() <= MAX_TAG_LEN
                && name.chars().any(|c| !c.is_ascii_digit())
            {
                out.push(TagMatch {
                    start: i,
                    end,
                    name: name.to_owned(),
                });
            }
            prev = s[..end].chars().next_back();
            continue;
        }
        prev = Some(c);
    }
    out
}

/// An `@name` mention: at the start or after a character that cannot be part of a word or
/// an address, followed by a username. `@name@host` (a remote account) is returned whole
/// with `host` set.
#[derive(Debug, Clone, PartialEq, Eq)]
struct MentionMatch {
    start: usize,
    end: usize,
    name: String,
    host: Option<String>,
}

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

fn find_mentions(s: &str) -> Vec<MentionMatch> {
    let mut out = Vec::new();
    let bytes = s.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'@' {
            let prev = s[..i].chars().next_back();
            let ok_before = prev
                .is_none_or(|p| !(p.is_alphanumeric() || matches!(p, '_' | '@' | '.' | '/' | '&')));
            let name_len = s[i + 1..].chars().take_while(|&c| is_name_char(c)).count();
            if ok_before && (1..=crate::domain::username::MAX_LEN).contains(&name_len) {
                let name_end = i + 1 + name_len;
                let name = s[i + 1..name_end].to_owned();
                let mut end = name_end;
                let mut host = None;
                if s[end..].starts_with('@') {
                    let h: String = s[end + 1..]
                        .chars()
                        .take_while(|&c| {
                            c.is_ascii_alphanumeric() || c == '.' || c == '-' || c == ':'
                        })
                        .collect();
                    let h = h.trim_end_matches(['.', ':', '-']).to_owned();
                    if h.contains('.') || h.starts_with("localhost") {
                        end += 1 + h.len();
                        host = Some(h.to_ascii_lowercase());
                    }
                }
                out.push(MentionMatch {
                    start: i,
                    end,
                    name,
                    host,
                });
                i = end;
                continue;
            }
        }
        i += 1;
    }
    out
}

/// Local accounts mentioned as `@name` (not `@name@host`), as typed, without duplicates.
pub fn extract_mentions(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for (is_link, seg) in segments(text) {
        if is_link {
            continue;
        }
        for m in find_mentions(seg) {
            if m.host.is_none() && !out.iter().any(|n| n.eq_ignore_ascii_case(&m.name)) {
                out.push(m.name);
            }
        }
    }
    out
}

/// The mentions of accounts on other servers in a text (`@name@host`), as
/// (lowercased name, lowercased host), without duplicates, in order of appearance.
pub fn extract_remote_mentions(text: &str) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for (is_link, seg) in segments(text) {
        if is_link {
            continue;
        }
        for m in find_mentions(seg) {
            if let Some(host) = m.host {
                let pair = (m.name.to_ascii_lowercase(), host);
                if !out.contains(&pair) {
                    out.push(pair);
                }
            }
        }
    }
    out
}

/// The text split into plain runs and URLs.
fn segments(s: &str) -> impl Iterator<Item = (bool, &str)> {
    let mut finder = LinkFinder::new();
    finder.kinds(&[LinkKind::Url]);
    finder
        .spans(s)
        .map(|span| (span.kind().is_some(), span.as_str()))
}

/// The hashtags in a text as the author typed them, first spelling of each wins,
/// in order of appearance, without duplicates (compared case-insensitively).
pub fn extract_hashtags(text: &str) -> Vec<String> {
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::new();
    for (is_link, seg) in segments(text) {
        if is_link {
            continue;
        }
        for m in find_tags(seg) {
            if seen.insert(normalize_tag(&m.name)) {
                out.push(m.name);
            }
        }
    }
    out
}

/// The form hashtags are matched by: `#WorldNEWS` and `#worldnews` are one tag.
pub fn normalize_tag(name: &str) -> String {
    name.trim_start_matches('#').to_lowercase()
}

/// Whether a string is a valid tag name (as in a `/tags/NAME` URL).
pub fn is_valid_tag(name: &str) -> bool {
    !name.is_empty()
        && name.chars().count() <= MAX_TAG_LEN
        && name.chars().all(is_tag_char)
        && name.chars().any(|c| !c.is_ascii_digit())
}

/// How to link `@mentions`: given the lowercased username and, for `@name@host`, the
/// lowercased host, the profile URL if the account is known.
pub type MentionLinker<'a> = &'a dyn Fn(&str, Option<&str>) -> Option<String>;

fn render_hashtags(seg: &str, base_url: &str, out: &mut String) {
    let mut last = 0;
    for m in find_tags(seg) {
        out.push_str(&escape(&seg[last..m.start]));
        let lower = normalize_tag(&m.name);
        out.push_str("<a href=\"");
        out.push_str(base_url);
        out.push_str("/tags/");
        out.push_str(&escape(&lower));
        out.push_str("\" class=\"mention hashtag\" rel=\"tag\">#<span>");
        out.push_str(&escape(&m.name));
        out.push_str("</span></a>");
        last = m.end;
    }
    out.push_str(&escape(&seg[last..]));
}

/// Writes `@name` as a mention link (`seg[m.start..m.end]` is the mention as typed).
fn push_mention(out: &mut String, href: &str, typed: &str) {
    out.push_str("<span class=\"h-card\"><a href=\"");
    out.push_str(&escape(href));
    out.push_str("\" class=\"u-url mention\">@<span>");
    // `@name@host` is linked whole (the text reads as typed).
    out.push_str(&escape(typed.trim_start_matches('@')));
    out.push_str("</span></a></span>");
}

/// Escapes a one-line text (a headline shown in an API status), linking only the
/// `@mentions` that `mentions` knows; hashtags and URLs stay text.
pub fn escape_with_mentions(text: &str, mentions: MentionLinker<'_>) -> String {
    let mut out = String::new();
    for (is_link, seg) in segments(text) {
        if is_link {
            out.push_str(&escape(seg));
            continue;
        }
        let mut last = 0;
        for m in find_mentions(seg) {
            let Some(href) = mentions(&m.name.to_ascii_lowercase(), m.host.as_deref()) else {
                continue;
            };
            out.push_str(&escape(&seg[last..m.start]));
            push_mention(&mut out, &href, &seg[m.start..m.end]);
            last = m.end;
        }
        out.push_str(&escape(&seg[last..]));
    }
    out
}

fn render_inline(text: &str, base_url: &str, mentions: MentionLinker<'_>, out: &mut String) {
    for (is_link, seg) in segments(text) {
        if is_link {
            let href = escape(seg);
            out.push_str("<a href=\"");
            out.push_str(&href);
            out.push_str("\" rel=\"nofollow noopener noreferrer ugc\" target=\"_blank\">");
            out.push_str(&href);
            out.push_str("</a>");
            continue;
        }
        let mut last = 0;
        for m in find_mentions(seg) {
            let Some(href) = mentions(&m.name.to_ascii_lowercase(), m.host.as_deref()) else {
                continue;
            };
            render_hashtags(&seg[last..m.start], base_url, out);
            push_mention(out, &href, &seg[m.start..m.end]);
            last = m.end;
        }
        render_hashtags(&seg[last..], base_url, out);
    }
}

/// Renders a story body or reply as HTML: paragraphs at blank lines, `<br>` at line ends.
/// Links point at absolute URLs under `base_url` so the same HTML can federate.
pub fn render(text: &str, base_url: &str) -> String {
    render_with_mentions(text, base_url, &|_, _| None)
}

/// Like [`render`], linking the `@mentions` that `mentions` knows.
pub fn render_with_mentions(text: &str, base_url: &str, mentions: MentionLinker<'_>) -> String {
    let normalized = text.replace("\r\n", "\n");
    let mut out = String::with_capacity(normalized.len() * 2);
    for para in normalized.split("\n\n") {
        let para = para.trim_matches('\n');
        if para.trim().is_empty() {
            continue;
        }
        out.push_str("<p>");
        let mut html = String::new();
        render_inline(para, base_url, mentions, &mut html);
        out.push_str(&html.replace('\n', "<br>"));
        out.push_str("</p>");
    }
    out
}

/// Renders a one-line text (a headline) with hashtag links, no paragraphs.
pub fn render_line(text: &str, base_url: &str) -> String {
    let mut out = String::new();
    render_inline(text, base_url, &|_, _| None, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remote_mentions_have_a_host() {
        assert_eq!(
            extract_remote_mentions(
                "hi @bob and @Carol@Social.Example, @carol@social.example again, \
                 @dave@127.0.0.1:8080; not https://x.example/@eve@y.example"
            ),
            vec![
                ("carol".to_owned(), "social.example".to_owned()),
                ("dave".to_owned(), "127.0.0.1:8080".to_owned()),
            ]
        );
    }

    const BASE: &str = "https://news.example";

    #[test]
    fn escapes_html() {
        let html = render("<script>alert('x')</script> & \"q\"", BASE);
        assert_eq!(
            html,
            "<p>&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;q&quot;</p>"
        );
    }

    #[test]
    fn hashtags_become_links_keeping_case() {
        let html = render("Big day in #WorldNEWS today", BASE);
        assert!(html.contains(
            "<a href=\"https://news.example/tags/worldnews\" class=\"mention hashtag\" rel=\"tag\">#<span>WorldNEWS</span></a>"
        ), "{html}");
    }

    #[test]
    fn extracts_unique_tags_in_order() {
        let tags = extract_hashtags("#Rust and #rust and #Écologie, #1 is not, a#b is not, (#Ok)");
        assert_eq!(tags, ["Rust", "Écologie", "Ok"]);
    }

    #[test]
    fn urls_become_links_and_fragments_are_not_tags() {
        let text = "see https://example.com/page#section now";
        let html = render(text, BASE);
        assert!(
            html.contains("<a href=\"https://example.com/page#section\""),
            "{html}"
        );
        assert!(!html.contains("/tags/section"), "{html}");
        assert!(extract_hashtags(text).is_empty());
    }

    #[test]
    fn url_with_quotes_is_escaped() {
        let html = render("https://example.com/?a=\"><script>", BASE);
        assert!(!html.contains("<script>"), "{html}");
    }

    #[test]
    fn paragraphs_and_breaks() {
        let html = render("one\ntwo\n\nthree", BASE);
        assert_eq!(html, "<p>one<br>two</p><p>three</p>");
    }

    #[test]
    fn mentions_of_known_accounts_become_links() {
        let known = |name: &str, host: Option<&str>| match (name, host) {
            ("newsmnc", None) => Some(format!("{BASE}/@newsMNC")),
            ("far", Some("remote.example")) => Some("https://remote.example/@far".to_owned()),
            _ => None,
        };
        let html = render_with_mentions(
            "hi @NewsMNC and @ghost, mail a@b.org, @far@remote.example",
            BASE,
            &known,
        );
        assert!(html.contains("<a href=\"https://news.example/@newsMNC\" class=\"u-url mention\">@<span>NewsMNC</span></a>"), "{html}");
        assert!(html.contains("@ghost,"), "{html}");
        assert!(html.contains("<a href=\"https://remote.example/@far\" class=\"u-url mention\">@<span>far@remote.example</span></a></span>"), "{html}");
        assert!(html.contains("a@b.org"), "{html}");
        assert_eq!(
            extract_mentions("hi @NewsMNC @newsmnc @ghost a@b.org @far@remote.example"),
            ["NewsMNC", "ghost"]
        );
    }

    #[test]
    fn headlines_link_only_mentions() {
        let known = |name: &str, host: Option<&str>| {
            (name == "reader" && host == Some("other.example"))
                .then(|| "https://other.example/@reader".to_owned())
        };
        assert_eq!(
            escape_with_mentions("hello @Reader@other.example #tag <b>", &known),
            "hello <span class=\"h-card\"><a href=\"https://other.example/@reader\" class=\"u-url mention\">@<span>Reader@other.example</span></a></span> #tag &lt;b&gt;"
        );
    }

    #[test]
    fn tag_names_are_validated() {
        assert!(is_valid_tag("worldnews"));
        assert!(is_valid_tag("écologie"));
        assert!(!is_valid_tag("123"));
        assert!(!is_valid_tag("a-b"));
        assert!(!is_valid_tag(""));
    }
}
