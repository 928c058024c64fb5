//! Votes → figures: score, popularity, and the confidence-aware "best" order.
//!
//! - score = up − down (the "top" order).
//! - popularity = the share of up-votes among all votes, as a whole percentage; none
//!   without votes.
//! - best = the lower bound of the 95% Wilson score interval for the up-vote share
//!   (Evan Miller, "How Not To Sort By Average Rating"): a post with 1 up-vote of 1
//!   (0.21) ranks below one with 90 of 100 (0.81).

/// z for a 95% confidence level.
const Z: f64 = 1.959_963_984_540_054;

pub fn score(up: i64, down: i64) -> i64 {
    up - down
}

pub fn popularity(up: i64, down: i64) -> Option<u8> {
    let n = up + down;
    if n <= 0 {
        return None;
    }
    Some(((up as f64 * 100.0) / n as f64).round() as u8)
}

pub fn wilson_lower_bound(up: i64, down: i64) -> f64 {
    let n = (up + down) as f64;
    if n <= 0.0 {
        return 0.0;
    }
    let p = up as f64 / n;
    let z2 = Z * Z;
    let centre = p + z2 / (2.0 * n);
    let margin = Z * ((p * (1.0 - p) + z2 / (4.0 * n)) / n).sqrt();
    ((centre - margin) / (1.0 + z2 / n)).max(0.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn popularity_is_the_up_share() {
        assert_eq!(popularity(0, 0), None);
        assert_eq!(popularity(3, 1), Some(75));
        assert_eq!(popularity(0, 5), Some(0));
        assert_eq!(popularity(2, 1), Some(67));
    }

    #[test]
    fn one_vote_does_not_beat_ninety_of_a_hundred() {
        let one = wilson_lower_bound(1, 0);
        let ninety = wilson_lower_bound(90, 10);
        assert!(one < ninety, "{one} vs {ninety}");
        assert!((one - 0.2065).abs() < 0.001, "{one}");
        assert!((ninety - 0.8256).abs() < 0.001, "{ninety}");
        assert_eq!(wilson_lower_bound(0, 0), 0.0);
        assert!(wilson_lower_bound(0, 3) < wilson_lower_bound(1, 3));
    }
}
