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
            errors.push(FieldError {
                field: "body",
                message: "Write the story's text.".into(),
            });
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
    fn reports_each_field() {
        let errs = StoryDraft::parse("", "").unwrap_err();
        let fields: Vec<_> = errs.iter().map(|e| e.field).collect();
        assert_eq!(fields, ["headline", "body"]);
        let errs = StoryDraft::parse(&"h".repeat(MAX_HEADLINE + 1), "ok").unwrap_err();
        assert_eq!(errs[0].field, "headline");
        assert!(errs[0].message.contains("201"));
    }
}
