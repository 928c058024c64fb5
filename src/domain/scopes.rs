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

/// Mastodon's admin scopes (`admin:read` grants every `admin:read:…`, as `read` does its own);
/// `read` and `write` grant none of them.
pub const ADMIN_SCOPES: &[&str] = &[
    "admin:read",
    "admin:read:accounts",
    "admin:read:reports",
    "admin:read:domain_allows",
    "admin:read:domain_blocks",
    "admin:read:ip_blocks",
    "admin:read:email_domain_blocks",
    "admin:read:canonical_email_blocks",
    "admin:write",
    "admin:write:accounts",
    "admin:write:reports",
    "admin:write:domain_allows",
    "admin:write:domain_blocks",
    "admin:write:ip_blocks",
    "admin:write:email_domain_blocks",
    "admin:write:canonical_email_blocks",
];

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Scopes(Vec<String>);

impl Scopes {
    /// Parses a space- (or `+`-) separated list; unknown scopes are an error. Empty means `read`.
    pub fn parse(raw: &str) -> Result<Scopes, String> {
        let mut out: Vec<String> = Vec::new();
        for s in raw.split([' ', '+', ',']).filter(|s| !s.is_empty()) {
            if !(TOP_LEVEL.contains(&s) || SUB_SCOPES.contains(&s) || ADMIN_SCOPES.contains(&s)) {
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

    /// Whether these scopes grant `required` (a scope grants the scopes below it:
    /// `read` → `read:statuses`, `admin:read` → `admin:read:accounts`).
    pub fn allows(&self, required: &str) -> bool {
        self.0.iter().any(|s| {
            s == required
                || required
                    .strip_prefix(s.as_str())
                    .is_some_and(|rest| rest.starts_with(':'))
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
        let admin = Scopes::parse("admin:read admin:write:accounts").unwrap();
        assert!(admin.allows("admin:read:accounts"));
        assert!(admin.allows("admin:read:reports"));
        assert!(admin.allows("admin:write:accounts"));
        assert!(!admin.allows("admin:write:reports"));
        let plain = Scopes::parse("read write").unwrap();
        assert!(!plain.allows("admin:read:accounts"));
        assert!(!plain.allows("admin:write"));
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
