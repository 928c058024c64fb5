//! Emoji reactions: exactly one emoji (one grapheme that Unicode calls an emoji).

/// Offered as buttons under every post; any other single emoji may be typed.
pub const PALETTE: &[&str] = &["👍", "❤️", "😂", "😮", "😢", "🎉", "🔥", "🤔"];

/// Accepts one emoji, with or without the emoji variation selector, and returns the
/// canonical form to store (so "❤" and "❤️" count as one reaction).
pub fn parse_emoji(raw: &str) -> Result<String, String> {
    let s = raw.trim();
    if s.is_empty() {
        return Err("Pick an emoji.".into());
    }
    if let Some(e) = emojis::get(s) {
        return Ok(e.as_str().to_owned());
    }
    // Fully-qualified forms carry U+FE0F; some keyboards send them without (or vice versa).
    let bare: String = s.chars().filter(|&c| c != '\u{FE0F}').collect();
    if let Some(e) = emojis::get(&bare) {
        return Ok(e.as_str().to_owned());
    }
    if let Some(e) = emojis::get(&format!("{bare}\u{FE0F}")) {
        return Ok(e.as_str().to_owned());
    }
    Err("A reaction is a single emoji.".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_single_emoji() {
        assert_eq!(parse_emoji("👍").unwrap(), "👍");
        assert_eq!(parse_emoji(" 🎉 ").unwrap(), "🎉");
        assert_eq!(parse_emoji("👍🏽").unwrap(), "👍🏽");
        assert_eq!(parse_emoji("🏳️‍🌈").unwrap(), "🏳️‍🌈");
        assert_eq!(parse_emoji("❤").unwrap(), parse_emoji("❤️").unwrap());
        for e in PALETTE {
            assert_eq!(&parse_emoji(e).unwrap(), e);
        }
    }

    #[test]
    fn refuses_anything_else() {
        assert!(parse_emoji("").is_err());
        assert!(parse_emoji("a").is_err());
        assert!(parse_emoji("👍👍").is_err());
        assert!(parse_emoji("👍 nice").is_err());
        assert!(parse_emoji(":smile:").is_err());
        assert!(parse_emoji("<b>").is_err());
    }
}
