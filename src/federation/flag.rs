//! Forwarding a report to the reported account's server: a `Flag` from the instance actor
//! (so the reporter stays anonymous to the other server, as Mastodon does), naming the
//! account and the reported post, with the reason as `content`. It goes through the
//! delivery queue inside the report's own transaction.

use serde_json::{Value, json};

use super::delivery;
use crate::db::DbConn;
use crate::db::models::Account;
use crate::error::AppError;

/// The `Flag` for report `report_ap_id` about `account` (and `post_ap_id`).
pub fn flag(
    base_url: &str,
    report_ap_id: &str,
    account: &Account,
    post_ap_id: Option<&str>,
    reason: &str,
) -> Value {
    let mut objects = vec![Value::String(account.ap_id.clone())];
    objects.extend(post_ap_id.map(|p| Value::String(p.to_owned())));
    json!({
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": report_ap_id,
        "type": "Flag",
        "actor": format!("{base_url}/actor"),
        "content": reason,
        "object": objects,
        "to": [account.ap_id],
    })
}

/// Queues the `Flag` for a remote `account`'s server; does nothing for a local account or
/// one without an inbox. Returns whether a `Flag` was queued.
pub fn forward(
    conn: &mut DbConn,
    base_url: &str,
    report_ap_id: &str,
    account: &Account,
    post_ap_id: Option<&str>,
    reason: &str,
) -> Result<bool, AppError> {
    if account.domain.is_none() {
        return Ok(false);
    }
    let Some(inbox) = account
        .shared_inbox_url
        .as_deref()
        .or(account.inbox_url.as_deref())
    else {
        return Ok(false);
    };
    let activity = flag(base_url, report_ap_id, account, post_ap_id, reason);
    let key_id = format!("{base_url}/actor#main-key");
    delivery::enqueue(conn, inbox, &activity, &key_id, None)?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;

    fn remote(ap_id: &str) -> Account {
        let now = Utc::now().naive_utc();
        Account {
            id: 7,
            username: "spammer".into(),
            username_lower: "spammer".into(),
            domain: Some("other.example".into()),
            display_name: String::new(),
            bio: String::new(),
            ap_id: ap_id.into(),
            url: None,
            inbox_url: Some("https://other.example/users/spammer/inbox".into()),
            shared_inbox_url: None,
            followers_url: None,
            public_key_pem: String::new(),
            private_key_pem: None,
            password_hash: None,
            is_admin: false,
            is_moderator: false,
            suspended_at: None,
            last_fetched_at: None,
            created_at: now,
            updated_at: now,
            approved: true,
            signup_reason: None,
            email: None,
            locale: None,
            silenced_at: None,
            disabled_at: None,
            invite_id: None,
        }
    }

    #[test]
    fn flags_name_the_account_and_post_but_not_the_reporter() {
        let account = remote("https://other.example/users/spammer");
        let f = flag(
            "https://tidings.example",
            "https://tidings.example/reports/5",
            &account,
            Some("https://other.example/notes/1"),
            "Selling fake medicine",
        );
        assert_eq!(f["type"], "Flag");
        assert_eq!(f["id"], "https://tidings.example/reports/5");
        assert_eq!(f["actor"], "https://tidings.example/actor");
        assert_eq!(f["content"], "Selling fake medicine");
        assert_eq!(
            f["object"],
            json!([
                "https://other.example/users/spammer",
                "https://other.example/notes/1"
            ])
        );
    }
}
