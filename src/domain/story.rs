//! Rules for a story's headline and body.

use crate::error::FieldError;

pub const MAX_HEADLINE: usize = 200;
pub const MAX_BODY: usize = 20_000;
pub const MAX_BIO: usize = 2_000;
pub const MAX_DISPLAY_NAME: usize = 60;

/// A headline and body that passed validation (trimmed).
#[derive(Debug, Clone)]
pub struct StoryDraft {
    pub headline: String,
    pub body: String,
}

impl StoryDraft {
    pub fn parse(headline: &str, body: &str) -> Result<StoryDraft, Vec<FieldError>> {
        Self::parse_with(headline, body, true)
    }

    /// A story posted from a client app as a status: the body may be empty (the status
    /// may be a single line, which becomes the headline).
    pub fn parse_status(headline: &str, body: &str) -> Result<StoryDraft, Vec<FieldError>> {
        Self::parse_with(headline, body, false)
    }

    fn parse_with(
        headline: &str,
        body: &str,
        body_required: bool,
    ) -> Result<StoryDraft, Vec<FieldError>> {
        let headline = headline.trim();
        let body = body.trim();
        let mut errors = Vec::new();
        if headline.is_empty() {
            errors.push(FieldError {
                field: "headline",
                message: "Write a headline.".into(),
            });
        } else if headline.chars().count() > MAX_HEADLINE {
            errors.push(FieldError {
                field: "headline",
                message: format!(
                    "A headline has at most {MAX_HEADLINE} characters (this one has {}).",
                    headline.chars().count()
                ),
            });
        } else if headline.contains(['\n', '\r']) {
            errors.push(FieldError {
                field: "headline",
                message: "A headline is a single line.".into(),
            });
        }
        if body.is_empty() {
            if body_required {
                errors.push(FieldError {
                    field: "body",
                    message: "Write the story's text.".into(),
                });
            }
        } else if body.chars().count() > MAX_BODY {
            errors.push(FieldError {
                field: "body",
                message: format!(
                    "A story has at most {MAX_BODY} characters (this one has {}).",
                    body.chars().count()
                ),
            });
        }
        if errors.is_empty() {
            Ok(StoryDraft {
                headline: headline.to_owned(),
                body: body.to_owned(),
            })
        } else {
            Err(errors)
        }
    }
}

/// Splits the text of a status (as a Mastodon app sends it) into a headline and a body:
/// the first non-empty line is the headline, the rest the body. A first line longer than
/// [`MAX_HEADLINE`] is cut on a word boundary, marked with "…", and what was cut off
/// starts the body.
pub fn split_status(text: &str) -> (String, String) {
    let text = text.replace("\r\n", "\n");
    let text = text.trim();
    let (first, rest) = match text.split_once('\n') {
        Some((f, r)) => (f.trim(), r.trim()),
        None => (text, ""),
    };
    if first.chars().count() <= MAX_HEADLINE {
        return (first.to_owned(), rest.to_owned());
    }
    // Room for the "…" mark.
    let limit = MAX_HEADLINE - 1;
    let hard_cut = first
        .char_indices()
        .nth(limit)
        .map(|(i, _)| i)
        .unwrap_or(first.len());
    // The last whitespace at or before the limit, unless the first word is longer.
    let cut = if first[hard_cut..].starts_with(char::is_whitespace) {
        hard_cut
    } else {
        first[..hard_cut]
            .rfind(char::is_whitespace)
            .filter(|&i| i > 0)
            .unwrap_or(hard_cut)
    };
    let headline = format!("{}…", first[..cut].trim_end());
    let spill = first[cut..].trim();
    let body = match (spill.is_empty(), rest.is_empty()) {
        (true, _) => rest.to_owned(),
        (false, true) => spill.to_owned(),
        (false, false) => format!("{spill}\n\n{rest}"),
    };
    (headline, body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trims_and_accepts() {
        let d = StoryDraft::parse("  Hello ", " world\n").unwrap();
        assert_eq!(d.headline, "Hello");
        assert_eq!(d.body, "world");
    }

    #[test]
    fn statuses_may_have_no_body() {
        let d = StoryDraft::parse_status("Only a headline", "  ").unwrap();
        assert_eq!(d.body, "");
        assert!(StoryDraft::parse("Only a headline", "").is_err());
        assert!(StoryDraft::parse_status("", "body").is_err());
    }

    #[test]
    fn status_text_splits_on_the_first_line() {
        assert_eq!(
            split_status("  Big news #Rust\r\nMore here.\n\nAnd here. "),
            (
                "Big news #Rust".to_owned(),
                "More here.\n\nAnd here.".to_owned()
            )
        );
        assert_eq!(
            split_status("One line"),
            ("One line".to_owned(), String::new())
        );
        let long = format!("{} tail words", "word ".repeat(45));
        let (h, b) = split_status(&format!("{long}\nsecond"));
        assert!(h.chars().count() <= MAX_HEADLINE, "{h}");
        assert!(h.ends_with("word…"), "{h}");
        assert!(b.ends_with("tail words\n\nsecond"), "{b}");
        let (h, b) = split_status(&"x".repeat(300));
        assert_eq!(h.chars().count(), MAX_HEADLINE);
        assert_eq!(b, "x".repeat(101));
    }

    #[test]
    fn reports_each_field() {
        let errs = StoryDraft::parse("", "").unwrap_err();
        let fields: Vec<_> = errs.iter().map(|e| e.field).collect();
        assert_eq!(fields, ["headline", "body"]);
        let errs = StoryDraft::parse(&"h".repeat(MAX_HEADLINE + 1), "ok").unwrap_err();
        assert_eq!(errs[0].field, "headline");
        assert!(errs[0].message.contains("201"));
    }
}
