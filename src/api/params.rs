//! Small pieces the API handlers share: query strings with `key[]` arrays, ids and flags
//! as apps send them (strings, numbers, booleans), paging ranges, and list URLs for the
//! `Link` header.

use axum::extract::FromRequestParts;
use axum::http::Uri;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer};

use super::Paging;
use crate::error::AppError;
use crate::service::Services;
use crate::service::timelines::Range;

/// Query parameters read with `serde_html_form`, so `types[]=a&types[]=b` fill a `Vec`.
pub struct HtmlQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for HtmlQuery<T> {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, AppError> {
        let query = parts.uri.query().unwrap_or("");
        serde_html_form::from_str(query)
            .map(HtmlQuery)
            .map_err(|e| AppError::bad_request(format!("invalid parameters: {e}")))
    }
}

/// Query parameters for endpoints that name every parameter they take (the struct has
/// `#[serde(deny_unknown_fields)]`): anything unknown or malformed is a 422 with the reason,
/// never silently ignored.
pub struct StrictQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for StrictQuery<T> {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, AppError> {
        let query = parts.uri.query().unwrap_or("");
        serde_html_form::from_str(query)
            .map(StrictQuery)
            .map_err(|e| AppError::field("query", format!("invalid parameters: {e}")))
    }
}

/// An id in a path: anything that is not a number is simply not found.
pub fn path_id(raw: &str) -> Result<i64, AppError> {
    raw.parse().map_err(|_| AppError::not_found())
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Scalar {
    B(bool),
    N(i64),
    S(String),
}

/// An optional id given as a string or a number; empty means not given.
pub fn opt_id<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    match Option::<Scalar>::deserialize(d)? {
        None => Ok(None),
        Some(Scalar::N(n)) => Ok(Some(n)),
        Some(Scalar::S(s)) if s.trim().is_empty() => Ok(None),
        Some(Scalar::S(s)) => s
            .trim()
            .parse()
            .map(Some)
            .map_err(|_| serde::de::Error::custom(format!("{s:?} is not an id"))),
        Some(Scalar::B(_)) => Err(serde::de::Error::custom("an id is expected")),
    }
}

/// A list of ids (strings or numbers); ids that are not numbers are left out (they
/// cannot name anything).
pub fn id_list<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<i64>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        Many(Vec<Scalar>),
        One(Scalar),
    }
    let items = match Option::<OneOrMany>::deserialize(d)? {
        None => Vec::new(),
        Some(OneOrMany::Many(v)) => v,
        Some(OneOrMany::One(s)) => vec![s],
    };
    Ok(items
        .into_iter()
        .filter_map(|s| match s {
            Scalar::N(n) => Some(n),
            Scalar::S(s) => s.trim().parse().ok(),
            Scalar::B(_) => None,
        })
        .collect())
}

/// A list of strings, given once or repeated.
pub fn string_list<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        Many(Vec<String>),
        One(String),
    }
    Ok(match Option::<OneOrMany>::deserialize(d)? {
        None => Vec::new(),
        Some(OneOrMany::Many(v)) => v,
        Some(OneOrMany::One(s)) => vec![s],
    })
}

/// A boolean given as `true`/`false`, `1`/`0`, `on` or a JSON boolean.
pub fn flag<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    Ok(match Option::<Scalar>::deserialize(d)? {
        None => false,
        Some(Scalar::B(b)) => b,
        Some(Scalar::N(n)) => n != 0,
        Some(Scalar::S(s)) => matches!(s.trim(), "true" | "1" | "on" | "yes" | "True"),
    })
}

/// An optional boolean, written as [`flag`] reads it; anything else is an error (a
/// value that is neither true nor false is not taken for one). Empty means not given.
pub fn opt_flag<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    match Option::<Scalar>::deserialize(d)? {
        None => Ok(None),
        Some(Scalar::B(b)) => Ok(Some(b)),
        Some(Scalar::N(n @ (0 | 1))) => Ok(Some(n == 1)),
        Some(Scalar::S(s)) => match s.trim() {
            "" => Ok(None),
            "true" | "True" | "1" | "on" | "yes" => Ok(Some(true)),
            "false" | "False" | "0" | "off" | "no" => Ok(Some(false)),
            other => Err(serde::de::Error::custom(format!(
                "{other:?} is not a boolean"
            ))),
        },
        Some(Scalar::N(n)) => Err(serde::de::Error::custom(format!("{n} is not a boolean"))),
    }
}

/// The service's range for Mastodon's paging parameters.
pub fn range(p: &Paging) -> Range {
    Range {
        max_id: p.max_id,
        since_id: p.since_id,
        min_id: p.min_id,
        limit: p.limit(),
    }
}

/// The absolute URL of a list, with its query minus the paging keys (the `Link` header
/// adds its own).
pub fn page_url(svc: &Services, uri: &Uri) -> String {
    let kept: Vec<&str> = uri
        .query()
        .unwrap_or("")
        .split('&')
        .filter(|kv| !kv.is_empty())
        .filter(|kv| {
            let key = kv.split('=').next().unwrap_or("");
            !matches!(key, "max_id" | "min_id" | "since_id")
        })
        .collect();
    if kept.is_empty() {
        format!("{}{}", svc.base_url(), uri.path())
    } else {
        format!("{}{}?{}", svc.base_url(), uri.path(), kept.join("&"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Deserialize)]
    struct Q {
        #[serde(default, rename = "id[]", deserialize_with = "id_list")]
        ids: Vec<i64>,
        #[serde(default, deserialize_with = "flag")]
        local: bool,
        #[serde(default, deserialize_with = "opt_id")]
        in_reply_to_id: Option<i64>,
    }

    #[test]
    fn html_form_arrays_ids_and_flags() {
        let q: Q =
            serde_html_form::from_str("id[]=1&id[]=x&id[]=3&local=true&in_reply_to_id=").unwrap();
        assert_eq!(q.ids, [1, 3]);
        assert!(q.local);
        assert_eq!(q.in_reply_to_id, None);
        let q: Q = serde_html_form::from_str("id[]=7&in_reply_to_id=42").unwrap();
        assert_eq!(q.ids, [7]);
        assert!(!q.local);
        assert_eq!(q.in_reply_to_id, Some(42));
        let q: Q =
            serde_json::from_str(r#"{"id[]": ["5", 6], "local": true, "in_reply_to_id": 9}"#)
                .unwrap();
        assert_eq!(q.ids, [5, 6]);
        assert_eq!(q.in_reply_to_id, Some(9));
    }
}
