//! Links taken from other servers' documents and shown in `<a href>` or the API: only
//! `http(s)` URLs, and a profile or note `url` only on the server of the object's `id`
//! (issue #12: a `javascript:` URL, or a page elsewhere posing as the author's, must not
//! reach a reader).

use url::Url;

/// `s` parsed, when it is an absolute `http` or `https` URL with a host.
pub fn web_url(s: &str) -> Option<Url> {
    Url::parse(s.trim())
        .ok()
        .filter(|u| matches!(u.scheme(), "http" | "https") && u.host_str().is_some())
}

/// Whether `s` is an absolute `http(s)` URL (for links without an `id` to compare with,
/// such as an app's website).
pub fn is_web_url(s: &str) -> bool {
    web_url(s).is_some()
}

/// The link to show for an object whose ActivityPub id is `id` and whose document says
/// `url`: `url` when it is an `http(s)` URL on the same host and port as `id` (an explicit
/// port must be the same; the scheme may differ), else `id`.
pub fn safe_profile_url(url: Option<&str>, id: &str) -> String {
    let same_server = |u: &Url| {
        Url::parse(id).is_ok_and(|id| {
            id.host_str()
                .is_some_and(|h| u.host_str().is_some_and(|uh| uh.eq_ignore_ascii_case(h)))
                && id.port() == u.port()
        })
    };
    match url.and_then(web_url) {
        Some(u) if same_server(&u) => u.to_string(),
        _ => id.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn profile_urls_are_web_links_on_the_id_server() {
        let id = "https://social.example/users/bob";
        for (url, want) in [
            (
                Some("https://social.example/@bob"),
                "https://social.example/@bob",
            ),
            (
                Some("http://social.example/@bob"),
                "http://social.example/@bob",
            ),
            (Some("javascript:alert(1)"), id),
            (Some("JavaScript:alert(1)//https://social.example/"), id),
            (Some("data:text/html,<script>alert(1)</script>"), id),
            (Some("https://evil.example/@bob"), id),
            (Some("https://social.example.evil.example/@bob"), id),
            (Some("https://social.example:444/@bob"), id),
            (Some("/@bob"), id),
            (Some(""), id),
            (None, id),
        ] {
            assert_eq!(safe_profile_url(url, id), want, "{url:?}");
        }
        assert_eq!(
            safe_profile_url(
                Some("http://127.0.0.1:8080/@a"),
                "http://127.0.0.1:8080/users/a"
            ),
            "http://127.0.0.1:8080/@a"
        );
        assert_eq!(
            safe_profile_url(
                Some("http://127.0.0.1:9/@a"),
                "http://127.0.0.1:8080/users/a"
            ),
            "http://127.0.0.1:8080/users/a"
        );
    }

    #[test]
    fn web_urls() {
        assert!(is_web_url("https://app.example/"));
        assert!(is_web_url(" http://app.example/x "));
        for bad in [
            "javascript:alert(1)",
            "ftp://x.example/",
            "x.example",
            "",
            "//x",
        ] {
            assert!(!is_web_url(bad), "{bad}");
        }
    }
}
