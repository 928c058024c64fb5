//! Showing times: RFC 3339 for machines, "5 minutes ago" for people.

use chrono::{NaiveDateTime, Utc};

pub fn rfc3339(t: &NaiveDateTime) -> String {
    t.and_utc()
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// A short relative time, falling back to the date after a month.
pub fn ago(t: &NaiveDateTime, now: NaiveDateTime) -> String {
    let secs = (now - *t).num_seconds().max(0);
    let plural = |n: i64, unit: &str| {
        if n == 1 {
            format!("1 {unit} ago")
        } else {
            format!("{n} {unit}s ago")
        }
    };
    match secs {
        0..=59 => "just now".to_owned(),
        60..=3599 => plural(secs / 60, "minute"),
        3600..=86_399 => plural(secs / 3600, "hour"),
        86_400..=2_591_999 => plural(secs / 86_400, "day"),
        _ => t.format("%Y-%m-%d").to_string(),
    }
}

pub fn ago_now(t: &NaiveDateTime) -> String {
    ago(t, Utc::now().naive_utc())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;

    #[test]
    fn relative_times() {
        let now = Utc::now().naive_utc();
        assert_eq!(ago(&now, now), "just now");
        assert_eq!(ago(&(now - Duration::minutes(1)), now), "1 minute ago");
        assert_eq!(ago(&(now - Duration::hours(5)), now), "5 hours ago");
        assert_eq!(ago(&(now - Duration::days(3)), now), "3 days ago");
        let old = now - Duration::days(90);
        assert_eq!(ago(&old, now), old.format("%Y-%m-%d").to_string());
    }

    #[test]
    fn rfc3339_is_utc() {
        let t = chrono::NaiveDate::from_ymd_opt(2026, 11, 27)
            .unwrap()
            .and_hms_opt(20, 5, 0)
            .unwrap();
        assert_eq!(rfc3339(&t), "2026-11-27T20:05:00Z");
    }
}
