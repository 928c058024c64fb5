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

/// Sanitises HTML received from another server: the allow-list above, no other
/// attribute than `href` on links, and that only to absolute http(s) URLs, every link
/// `rel="nofollow noopener noreferrer"`, and only the classes `mention`, `hashtag`,
/// `h-card` and `u-url`.
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
        // `Builder::empty` empties only the tags: the attributes every element may carry
        // (`lang`, `title`) and relative links stayed allowed until the property tests
        // below found them. Remote content has absolute links; a relative one would
        // point into this site.
        .generic_attributes(HashSet::new())
        .url_relative(ammonia::UrlRelative::Deny)
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

/// Splits sanitised HTML after its first line: the HTML of that line (its links kept) and
/// the HTML of the rest, each sanitised again so both are well formed. The first line ends
/// at the first `<br>` or at the end of the first paragraph. `None` when the text of the
/// first piece is not `line` (the content is shaped otherwise, or the line was cut for
/// being long): the content is then shown whole.
pub fn split_first_line(html: &str, line: &str) -> Option<(String, String)> {
    let s = html.trim_start();
    let (inner, in_p) = match s.strip_prefix("<p>") {
        Some(r) => (r, true),
        None => (s, false),
    };
    let br = inner.find("<br>");
    let end_p = if in_p { inner.find("</p>") } else { None };
    let (first, rest) = match (br, end_p) {
        (Some(b), e) if e.is_none_or(|e| b < e) => {
            let after = &inner[b + "<br>".len()..];
            let rest = if in_p {
                format!("<p>{after}")
            } else {
                after.to_owned()
            };
            (&inner[..b], rest)
        }
        (_, Some(e)) => (&inner[..e], inner[e + "</p>".len()..].to_owned()),
        _ => (inner, String::new()),
    };
    let first = sanitize(first);
    if to_text(&first) != line.trim() || first.trim().is_empty() {
        return None;
    }
    let rest = sanitize(&rest);
    // A rest of only empty paragraphs or line breaks is no body.
    let rest = if to_text(&rest).is_empty() {
        String::new()
    } else {
        rest
    };
    Some((first, rest))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_line_split_off() {
        let html = sanitize(
            "<p>Hello <a href=\"https://m.example/tags/rust\" class=\"mention hashtag\">#<span>rust</span></a><br>second</p><p>third</p>",
        );
        let (first, rest) = split_first_line(&html, "Hello #rust").unwrap();
        assert!(
            first.starts_with("Hello <a href=\"https://m.example/tags/rust\""),
            "{first}"
        );
        assert_eq!(rest, "<p>second</p><p>third</p>");
        let (first, rest) = split_first_line("<p>One</p><p>Two</p>", "One").unwrap();
        assert_eq!((first.as_str(), rest.as_str()), ("One", "<p>Two</p>"));
        assert_eq!(
            split_first_line("<p>Only</p>", "Only"),
            Some(("Only".to_owned(), String::new()))
        );
        // A mention (Mastodon's markup) in the first line stays a link.
        let html = sanitize(
            "<p><span class=\"h-card\"><a href=\"https://m.example/@ann\" class=\"u-url mention\">@<span>ann</span></a></span> hi</p><p>more</p>",
        );
        let (first, rest) = split_first_line(&html, "@ann hi").unwrap();
        assert!(
            first.contains("<a href=\"https://m.example/@ann\""),
            "{first}"
        );
        assert_eq!(rest, "<p>more</p>");
        // The line was cut (a long first line), or the shape is another: no split.
        assert_eq!(split_first_line("<p>One two three</p>", "One two…"), None);
        assert_eq!(split_first_line("<p></p><p>One</p>", "One"), None);
    }

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

    #[test]
    fn the_safety_check_sees_what_it_must() {
        // The checker of the property tests below catches each kind of danger.
        assert!(
            unsafe_html("<p>x</p><a href=\"https://a/\" rel=\"r\" class=\"c\">y</a>").is_none()
        );
        for bad in [
            "<script>alert(1)</script>",
            "<img src=\"x\" onerror=\"alert(1)\">",
            "<a href=\"java&#x09;script:alert(1)\">x</a>",
            "<a href=\" JavaScript:alert(1)\">x</a>",
            "<a href=\"data:text/html,x\">x</a>",
            "<svg onload=\"alert(1)\"></svg>",
            "<a href=javascript:alert(1)>x</a>",
        ] {
            assert!(unsafe_html(bad).is_some(), "{bad}");
        }
    }
}

/// Property tests: whatever remote HTML looks like, what [`sanitize`] keeps has no script,
/// no event handler and no link to a script (issue #12).
#[cfg(test)]
mod proptests {
    use super::*;
    use proptest::prelude::*;

    /// Known ways past HTML sanitisers, and variations of them.
    const NASTY: &[&str] = &[
        "<script>alert(1)</script>",
        "<a href=\"java&#x09;script:alert(1)\">x</a>",
        "<a href=\"jav&#x0A;ascript:alert(1)\">x</a>",
        "<a href=\"&#106;avascript:alert(1)\">x</a>",
        "<a href=\"&#x6A;&#x61;&#x76;&#x61;&#x73;&#x63;&#x72;&#x69;&#x70;&#x74;&#x3A;alert(1)\">x</a>",
        "<a href=\"javascript&colon;alert(1)\">x</a>",
        "<a href=\" javascript:alert(1)\">x</a>",
        "<a href=\"\u{0}javascript:alert(1)\">x</a>",
        "<a href=\"JaVaScRiPt:alert(1)\">x</a>",
        "<a href=javascript:alert(1)>x</a>",
        "<a href='javascript:alert(1)'>x</a>",
        "<a href=\"vbscript:msgbox(1)\">x</a>",
        "<a href=\"data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==\">x</a>",
        "<svg onload=alert(1)>",
        "<svg><script>alert(1)</script></svg>",
        "<svg><a xlink:href=\"javascript:alert(1)\"><text>x</text></a></svg>",
        "<img src=x onerror=alert(1)>",
        "<img src=\"x\" onerror=\"alert(1)\"/>",
        "<iframe src=\"javascript:alert(1)\"></iframe>",
        "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
        "<svg><style><img src=x onerror=alert(1)></style></svg>",
        "<noscript><p title=\"</noscript><img src=x onerror=alert(1)>\">",
        "<p onclick=\"alert(1)\">x</p>",
        "<a href=\"https://ok.example/\" onmouseover=\"alert(1)\">ok</a>",
        "<span class=\"mention\" onfocus=alert(1) autofocus>x</span>",
        "<<script>script>alert(1)<</script>/script>",
        "<scr<script>ipt>alert(1)</script>",
        "<!--<script>alert(1)</script>-->",
        "<![CDATA[<script>alert(1)</script>]]>",
        "<template><script>alert(1)</script></template>",
        "<form action=\"javascript:alert(1)\"><button>x</button></form>",
        "<object data=\"javascript:alert(1)\"></object>",
        "<base href=\"javascript:/\">",
        "<div style=\"background:url(javascript:alert(1))\">x</div>",
        "<a href=\"http://a.example/\"><b onclick=alert(1)>x</b></a>",
        "<p>Hello <span class=\"h-card\"><a href=\"https://a.example/@b\" class=\"u-url mention\">@b</a></span></p>",
    ];

    const TAGS_: &[&str] = &[
        "a", "p", "span", "b", "script", "svg", "img", "iframe", "style", "math", "object",
        "template", "noscript", "form", "base", "meta", "link", "textarea", "title", "xmp",
    ];
    const ATTRS: &[&str] = &[
        "href",
        "src",
        "onload",
        "onerror",
        "onclick",
        "class",
        "style",
        "xlink:href",
        "action",
        "formaction",
        "ONMOUSEOVER",
        "rel",
        "data",
    ];
    const VALUES: &[&str] = &[
        "javascript:alert(1)",
        "java&#x09;script:alert(1)",
        "&#106;avascript:alert(1)",
        "https://ok.example/",
        "/relative",
        "alert(1)",
        "mention hashtag",
        "x\" onerror=\"alert(1)",
        "x' onerror='alert(1)",
        "\tjavascript:alert(1)",
        "data:text/html,<script>alert(1)</script>",
    ];

    /// One piece of HTML: a known attack, a made-up element, or noise.
    fn piece() -> impl Strategy<Value = String> {
        let element = (
            prop::sample::select(TAGS_),
            prop::collection::vec(
                (
                    prop::sample::select(ATTRS),
                    prop::sample::select(VALUES),
                    0..3usize,
                ),
                0..4,
            ),
            "\\PC{0,12}",
        )
            .prop_map(|(tag, attrs, text)| {
                let attrs: String = attrs
                    .iter()
                    .map(|(a, v, quote)| match quote {
                        0 => format!(" {a}=\"{v}\""),
                        1 => format!(" {a}='{v}'"),
                        _ => format!(" {a}={v}"),
                    })
                    .collect();
                format!("<{tag}{attrs}>{text}</{tag}>")
            });
        prop_oneof![
            prop::sample::select(NASTY).prop_map(str::to_owned),
            element,
            "[<>/=\"' a-zA-Z&#;:()0-9\t\n]{0,24}",
            "\\PC{0,24}",
        ]
    }

    /// A known attack with one character put in or taken out.
    fn mutated() -> impl Strategy<Value = String> {
        (
            prop::sample::select(NASTY),
            any::<prop::sample::Index>(),
            prop_oneof![
                Just(None),
                any::<char>().prop_map(Some),
                prop::sample::select(&['<', '>', '"', '\'', '\t', '\n', '\0', '&', '/', ' '][..])
                    .prop_map(Some),
            ],
        )
            .prop_map(|(seed, at, put)| {
                let mut chars: Vec<char> = seed.chars().collect();
                let i = at.index(chars.len() + 1);
                match put {
                    Some(c) => chars.insert(i, c),
                    None if i < chars.len() => {
                        chars.remove(i);
                    }
                    None => {}
                }
                chars.into_iter().collect()
            })
    }

    fn html() -> impl Strategy<Value = String> {
        prop_oneof![
            prop::collection::vec(piece(), 1..6).prop_map(|p| p.concat()),
            mutated(),
            prop::collection::vec(mutated(), 1..4).prop_map(|p| p.concat()),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(768))]

        #[test]
        fn sanitised_html_has_no_script_handler_or_script_link(input in html()) {
            let out = sanitize(&input);
            prop_assert!(unsafe_html(&out).is_none(), "{:?} from {:?}: {:?}", unsafe_html(&out), input, out);
            // Sanitising again changes nothing dangerous either, and text never panics.
            prop_assert!(unsafe_html(&sanitize(&out)).is_none());
            let _ = to_text(&input);
        }
    }
}

/// Why `html` (our sanitiser's output) is unsafe, or `None`: a `<script`, an element
/// outside the allow-list, an attribute other than `href`, `class` and `rel` (so no
/// `on…=` handler), an unquoted attribute, or an `href` that is not an absolute `http(s)`
/// URL once entities, tabs and newlines are taken out as a browser does. Every `<` in
/// serialised HTML starts a tag (a `<` in text is written `&lt;`), so each is checked.
#[cfg(test)]
pub(crate) fn unsafe_html(html: &str) -> Option<String> {
    if html.to_ascii_lowercase().contains("<script") {
        return Some("<script".into());
    }
    let chars: Vec<char> = html.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        if chars[i] != '<' {
            i += 1;
            continue;
        }
        i += 1;
        let name_start = i;
        while i < chars.len() && !chars[i].is_whitespace() && chars[i] != '>' {
            i += 1;
        }
        let name: String = chars[name_start..i]
            .iter()
            .collect::<String>()
            .to_ascii_lowercase();
        let name = name.trim_start_matches('/').trim_end_matches('/');
        if !TAGS.contains(&name) {
            return Some(format!("element {name:?}"));
        }
        loop {
            while i < chars.len() && chars[i].is_whitespace() {
                i += 1;
            }
            if i >= chars.len() {
                return Some("unclosed tag".into());
            }
            if chars[i] == '>' {
                i += 1;
                break;
            }
            if chars[i] == '/' {
                i += 1;
                continue;
            }
            let attr_start = i;
            while i < chars.len() && !matches!(chars[i], '=' | '>' | ' ' | '\t' | '\n') {
                i += 1;
            }
            let attr: String = chars[attr_start..i]
                .iter()
                .collect::<String>()
                .to_ascii_lowercase();
            if attr.starts_with("on") || !matches!(attr.as_str(), "href" | "class" | "rel") {
                return Some(format!("attribute {attr:?}"));
            }
            if i >= chars.len() || chars[i] != '=' {
                continue;
            }
            i += 1;
            if i >= chars.len() || chars[i] != '"' {
                return Some(format!("unquoted value of {attr:?}"));
            }
            i += 1;
            let value_start = i;
            while i < chars.len() && chars[i] != '"' {
                i += 1;
            }
            let value: String = chars[value_start..i.min(chars.len())].iter().collect();
            i += 1;
            if attr == "href" {
                let url = decode_entities(&value);
                let url: String = url
                    .trim_start_matches(|c: char| c <= ' ')
                    .chars()
                    .filter(|c| !matches!(c, '\t' | '\n' | '\r'))
                    .collect::<String>()
                    .to_ascii_lowercase();
                // A scheme as URLs have one (a letter, then letters, digits, `+-.`);
                // without one the link is relative to the page.
                let scheme = url.split_once(':').map(|(s, _)| s).filter(|s| {
                    s.starts_with(|c: char| c.is_ascii_alphabetic())
                        && s.chars()
                            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
                });
                if !matches!(scheme, Some("http" | "https")) {
                    return Some(format!("href {value:?}"));
                }
            }
        }
    }
    None
}

/// Character references of an attribute value decoded (numeric ones and those the
/// serialiser writes).
#[cfg(test)]
fn decode_entities(s: &str) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some(at) = rest.find('&') {
        out.push_str(&rest[..at]);
        rest = &rest[at..];
        let Some(end) = rest.find(';').filter(|e| *e < 12) else {
            out.push('&');
            rest = &rest[1..];
            continue;
        };
        let entity = &rest[1..end];
        let decoded = match entity {
            "amp" => Some('&'),
            "quot" => Some('"'),
            "lt" => Some('<'),
            "gt" => Some('>'),
            "nbsp" => Some('\u{a0}'),
            "colon" => Some(':'),
            "Tab" => Some('\t'),
            "NewLine" => Some('\n'),
            e if e.starts_with("#x") || e.starts_with("#X") => u32::from_str_radix(&e[2..], 16)
                .ok()
                .and_then(char::from_u32),
            e if e.starts_with('#') => e[1..].parse().ok().and_then(char::from_u32),
            _ => None,
        };
        match decoded {
            Some(c) => {
                out.push(c);
                rest = &rest[end + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}
