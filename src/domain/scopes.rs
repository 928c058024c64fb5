//! OAuth scopes as Mastodon defines them: `read`, `write`, `follow`, `push`, their
//! sub-scopes (`read:statuses`, `write:favourites`, …) and the legacy `follow`, which
//! stands for `read:follows write:follows write:blocks write:mutes`.

use std::fmt;

pub const TOP_LEVEL: &[&str] = &["read", "write", "follow", "push", "profile"];

pub const SUB_SCOPES: &[&str] = &[
    "read:accounts",
    "read:blocks",
    "read:bookmarks",
    "read:favourites",
    "read:filters",
    "read:follows",
    "read:lists",
    "read:mutes",
    "read:notifications",
    "read:search",
    "read:statuses",
    "write:accounts",
    "write:blocks",
    "write:bookmarks",
    "write:conversations",
    "write:favourites",
    "write:filters",
    "write:follows",
    "write:lists",
    "write:media",
    "write:mutes",
    "write:notifications",
    "write:reports",
    "write:statuses",
];

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Scopes(Vec<String>);

impl Scopes {
    /// Parses a space- (or `+`-) separated list; unknown scopes are an error. Empty means `read`.
    pub fn parse(raw: &str) -> Result<Scopes, String> {
        let mut out: Vec<String> = Vec::new();
        for s in raw.split([' ', '+', ',']).filter(|s| !s.is_empty()) {
            if !(TOP_LEVEL.contains(&s) || SUB_SCOPES.contains(&s)) {
                return Err(format!("unknown scope {s:?}"));
            }
            if !out.iter().any(|o| o == s) {
                out.push(s.to_owned());
            }
        }
        if out.is_empty() {
            out.push("read".to_owned());
        }
        Ok(Scopes(out))
    }

    /// Whether these scopes grant `required` (a top-level scope grants its sub-scopes).
    pub fn allows(&self, required: &str) -> bool {
        let parent = required.split(':').next().unwrap_or(required);
        self.0.iter().any(|s| {
            s == required
                || s == parent
                || (s == "follow"
                    && matches!(
                        required,
                        "read:follows" | "write:follows" | "write:blocks" | "write:mutes"
                    ))
        })
    }

    /// Every scope of `self` is allowed by `granted` (an app may not ask for more than it registered).
    pub fn within(&self, granted: &Scopes) -> bool {
        self.0.iter().all(|s| granted.allows(s))
    }

    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(String::as_str)
    }
}

impl fmt::Display for Scopes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.join(" "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parents_grant_children() {
        let s = Scopes::parse("read write:statuses").unwrap();
        assert!(s.allows("read:statuses"));
        assert!(s.allows("read"));
        assert!(s.allows("write:statuses"));
        assert!(!s.allows("write:favourites"));
        assert!(!s.allows("write"));
        assert!(Scopes::parse("follow").unwrap().allows("write:follows"));
        assert!(!Scopes::parse("follow").unwrap().allows("write:statuses"));
    }

    #[test]
    fn parsing() {
        assert_eq!(Scopes::parse("").unwrap().to_string(), "read");
        assert_eq!(
            Scopes::parse("read+write read").unwrap().to_string(),
            "read write"
        );
        assert!(Scopes::parse("admin:everything").is_err());
        let app = Scopes::parse("read write").unwrap();
        assert!(Scopes::parse("read:statuses write").unwrap().within(&app));
        assert!(!Scopes::parse("follow").unwrap().within(&app));
    }
}
