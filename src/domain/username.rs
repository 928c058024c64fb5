//! Usernames: letters, digits and underscores, 1–30 long (Mastodon's rule). They keep their
//! case for display and compare case-insensitively.

use std::fmt;

pub const MAX_LEN: usize = 30;

/// Names that would collide with our own routes or actors.
const RESERVED: &[&str] = &[
    "about", "actor", "admin", "api", "inbox", "instance", "nodeinfo", "oauth", "root", "settings",
    "static", "support", "tidings",
];

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Username(String);

impl Username {
    pub fn parse(raw: &str) -> Result<Username, String> {
        let name = raw.trim().trim_start_matches('@');
        if name.is_empty() {
            return Err("Choose a username.".into());
        }
        if name.chars().count() > MAX_LEN {
            return Err(format!("A username has at most {MAX_LEN} characters."));
        }
        if !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err("A username may hold only letters, digits and underscores.".into());
        }
        if RESERVED.contains(&name.to_ascii_lowercase().as_str()) {
            return Err("That username is reserved.".into());
        }
        Ok(Username(name.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The form used for matching: `@newsMNC` and `@newsmnc` are one account.
    pub fn lower(&self) -> String {
        self.0.to_ascii_lowercase()
    }
}

impl fmt::Display for Username {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

pub const MIN_PASSWORD_LEN: usize = 8;
pub const MAX_PASSWORD_LEN: usize = 1024;

pub fn check_password(pw: &str) -> Result<(), String> {
    let n = pw.chars().count();
    if n < MIN_PASSWORD_LEN {
        return Err(format!(
            "A password needs at least {MIN_PASSWORD_LEN} characters."
        ));
    }
    if n > MAX_PASSWORD_LEN {
        return Err(format!(
            "A password has at most {MAX_PASSWORD_LEN} characters."
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_case_and_matches_lowercase() {
        let u = Username::parse("newsMNC").unwrap();
        assert_eq!(u.as_str(), "newsMNC");
        assert_eq!(u.lower(), "newsmnc");
        assert_eq!(Username::parse("@newsMNC").unwrap().as_str(), "newsMNC");
    }

    #[test]
    fn rejects_bad_names() {
        assert!(Username::parse("").is_err());
        assert!(Username::parse("has space").is_err());
        assert!(Username::parse("dash-name").is_err());
        assert!(Username::parse(&"a".repeat(31)).is_err());
        assert!(Username::parse("Admin").is_err());
        assert!(Username::parse(&"a".repeat(30)).is_ok());
    }

    #[test]
    fn password_length() {
        assert!(check_password("short").is_err());
        assert!(check_password("long enough").is_ok());
    }
}
