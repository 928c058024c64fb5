//! HTML from other servers: sanitised into a small allow-list before it is stored, and
//! reduced to plain text (for headlines, search and mentions).

use std::collections::{HashMap, HashSet};
use std::sync::LazyLock;

/// Elements kept in remote content; everything else is dropped (its text kept, except for
/// `script` and `style`, whose content goes too).
const TAGS: &[&str] = &[
    "p",
    "br",
    "a",
    "span",
    "strong",
    "em",
    "b",
    "i",
    "u",
    "code",
    "pre",
    "blockquote",
    "ul",
    "ol",
    "li",
];

/// The microformat classes Mastodon and others put on mentions and hashtags.
const CLASSES: &[&str] = &["mention", "hashtag", "h-card", "u-url"];

/// Sanitises HTML received from another server: the allow-list above, `href` only on
/// links and only to http(s) URLs, every link `rel="nofollow noopener noreferrer"`, and
/// only the classes `mention`, `hashtag`, `h-card` and `u-url`.
pub fn sanitize(html: &str) -> String {
    SANITIZER.clean(html).to_string()
}

/// Built once: building the allow-list sets for every note was a measurable part of
/// ingesting it.
static SANITIZER: LazyLock<ammonia::Builder<'static>> = LazyLock::new(|| {
    let classes: HashSet<&str> = CLASSES.iter().copied().collect();
    let mut b = ammonia::Builder::empty();
    b.tags(TAGS.iter().copied().collect())
        .tag_attributes(HashMap::from([("a", HashSet::from(["href"]))]))
        .allowed_classes(HashMap::from([("a", classes.clone()), ("span", classes)]))
        .url_schemes(HashSet::from(["http", "https"]))
        .link_rel(Some("nofollow noopener noreferrer"))
        .clean_content_tags(HashSet::from(["script", "style"]));
    b
});

/// Drops every tag (and the content of `script` and `style`), keeping text.
static STRIPPER: LazyLock<ammonia::Builder<'static>> = LazyLock::new(|| {
    let mut b = ammonia::Builder::empty();
    b.clean_content_tags(HashSet::from(["script", "style"]));
    b
});

/// The text of some HTML: paragraphs and line breaks become new lines, tags go, entities
/// are decoded.
pub fn to_text(html: &str) -> String {
    let spaced = html
        .replace("<br>", "\n")
        .replace("<br/>", "\n")
        .replace("<br />", "\n")
        .replace("</p>", "</p>\n\n");
    let stripped = STRIPPER.clean(&spaced).to_string();
    let text = stripped
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&nbsp;", " ")
        .replace("&amp;", "&");
    let lines: Vec<&str> = text.lines().map(str::trim_end).collect();
    lines.join("\n").trim().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scripts_styles_and_handlers_are_stripped() {
        let out = sanitize(
            "<p onclick=\"x()\">Hi<script>alert(1)</script><style>p{}</style>\
             <img src=x onerror=alert(1)></p>",
        );
        assert_eq!(out, "<p>Hi</p>");
    }

    #[test]
    fn links_are_http_only_and_nofollow() {
        let out =
            sanitize("<a href=\"javascript:alert(1)\">x</a><a href=\"https://a.example/\">y</a>");
        assert!(!out.contains("javascript"), "{out}");
        assert!(
            out.contains(
                "<a href=\"https://a.example/\" rel=\"nofollow noopener noreferrer\">y</a>"
            ),
            "{out}"
        );
    }

    #[test]
    fn mastodon_markup_survives() {
        let html = "<p><span class=\"h-card\"><a href=\"https://a.example/@b\" \
                    class=\"u-url mention\">@<span>b</span></a></span> see \
                    <a href=\"https://a.example/tags/rust\" class=\"mention hashtag\" \
                    rel=\"tag\">#<span>rust</span></a></p>";
        let out = sanitize(html);
        assert!(out.contains("class=\"h-card\""), "{out}");
        assert!(out.contains("class=\"u-url mention\""), "{out}");
        assert!(out.contains("class=\"mention hashtag\""), "{out}");
        assert!(!out.contains("rel=\"tag\""), "{out}");
    }

    #[test]
    fn other_classes_and_tags_go() {
        let out =
            sanitize("<div class=\"evil\"><span class=\"big mention\">x</span><h1>T</h1></div>");
        assert_eq!(out, "<span class=\"mention\">x</span>T");
    }

    #[test]
    fn text_of_html() {
        assert_eq!(
            to_text("<p>One &amp; two</p><p>three<br>four <script>x</script></p>"),
            "One & two\n\nthree\nfour"
        );
    }
}
