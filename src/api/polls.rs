//! `/api/v1/polls`: read a poll and vote in it (Mastodon's), the `Poll` entity, and the
//! `poll[…]` parameters of `POST /api/v1/statuses`.

use axum::extract::{Path, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

use super::entities::datetime;
use super::params::{id_list, path_id};
use super::{ApiForm, Auth};
use crate::error::AppError;
use crate::service::Services;
use crate::service::polls::{self, NewPoll, PollView};

pub fn routes() -> Router<Services> {
    Router::new()
        .route("/api/v1/polls/{id}", get(show))
        .route("/api/v1/polls/{id}/votes", post(vote))
}

/// Mastodon's `Poll`.
#[derive(Debug, Clone, Serialize)]
pub struct Poll {
    pub id: String,
    pub expires_at: Option<String>,
    pub expired: bool,
    pub multiple: bool,
    pub votes_count: i64,
    pub voters_count: Option<i64>,
    pub options: Vec<PollOption>,
    pub emojis: Vec<Value>,
    /// Only with a user token.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub voted: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub own_votes: Option<Vec<i32>>,
}

#[derive(Debug, Clone, Serialize)]
pub struct PollOption {
    pub title: String,
    pub votes_count: i64,
}

impl From<&PollView> for Poll {
    fn from(p: &PollView) -> Poll {
        Poll {
            id: p.id.to_string(),
            expires_at: p.expires_at.as_ref().map(datetime),
            expired: p.expired,
            multiple: p.multiple,
            votes_count: p.votes_count,
            voters_count: p.voters_count,
            options: p
                .options
                .iter()
                .map(|o| PollOption {
                    title: o.title.clone(),
                    votes_count: o.votes_count,
                })
                .collect(),
            emojis: Vec::new(),
            voted: p.has_viewer.then_some(p.voted),
            own_votes: p.has_viewer.then(|| p.own_votes.clone()),
        }
    }
}

/// The `poll` of a `Status`.
pub fn poll_value(p: &PollView) -> Value {
    serde_json::to_value(Poll::from(p)).unwrap_or(Value::Null)
}

async fn show(
    State(svc): State<Services>,
    auth: Auth,
    Path(id): Path<String>,
) -> Result<Json<Poll>, AppError> {
    let viewer = auth.viewer().map(|a| a.id);
    let poll = polls::get(&svc, path_id(&id)?, viewer).await?;
    Ok(Json(Poll::from(&poll)))
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct VoteForm {
    #[serde(rename = "choices[]", deserialize_with = "id_list")]
    choices_form: Vec<i64>,
    #[serde(deserialize_with = "id_list")]
    choices: Vec<i64>,
}

async fn vote(
    State(svc): State<Services>,
    auth: Auth,
    Path(id): Path<String>,
    ApiForm(form): ApiForm<VoteForm>,
) -> Result<Json<Poll>, AppError> {
    let user = auth.user("write:statuses")?;
    let mut choices = form.choices_form;
    choices.extend(form.choices);
    let poll = polls::vote(&svc, user, path_id(&id)?, choices).await?;
    Ok(Json(Poll::from(&poll)))
}

/// A number of seconds given as a number or a string; empty means not given.
pub fn opt_seconds<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        N(i64),
        F(f64),
        S(String),
    }
    match Option::<Raw>::deserialize(d)? {
        None => Ok(None),
        Some(Raw::N(n)) => Ok(Some(n)),
        Some(Raw::F(f)) => Ok(Some(f as i64)),
        Some(Raw::S(s)) if s.trim().is_empty() => Ok(None),
        Some(Raw::S(s)) => s
            .trim()
            .parse()
            .map(Some)
            .map_err(|_| serde::de::Error::custom(format!("{s:?} is not a number of seconds"))),
    }
}

/// `poll` in a JSON body.
#[derive(Debug, Deserialize, Default)]
#[serde(default)]
pub struct PollParams {
    #[serde(deserialize_with = "super::params::string_list")]
    pub options: Vec<String>,
    #[serde(deserialize_with = "opt_seconds")]
    pub expires_in: Option<i64>,
    #[serde(deserialize_with = "super::params::opt_flag")]
    pub multiple: Option<bool>,
    #[serde(deserialize_with = "super::params::opt_flag")]
    pub hide_totals: Option<bool>,
}

impl PollParams {
    fn is_empty(&self) -> bool {
        self.options.is_empty()
            && self.expires_in.is_none()
            && self.multiple.is_none()
            && self.hide_totals.is_none()
    }

    /// Merges the form-encoded `poll[…]` keys and the JSON `poll` object.
    pub fn merge(self, json: Option<PollParams>) -> PollParams {
        let Some(j) = json else {
            return self;
        };
        PollParams {
            options: if self.options.is_empty() {
                j.options
            } else {
                self.options
            },
            expires_in: self.expires_in.or(j.expires_in),
            multiple: self.multiple.or(j.multiple),
            hide_totals: self.hide_totals.or(j.hide_totals),
        }
    }

    /// The poll asked for, checked; `None` when no `poll[…]` parameter was given. A poll
    /// needs its options and `expires_in`; `hide_totals` is not supported (422 when true).
    pub fn into_poll(self) -> Result<Option<NewPoll>, AppError> {
        if self.is_empty() {
            return Ok(None);
        }
        if self.hide_totals == Some(true) {
            return Err(AppError::field(
                "poll",
                "poll[hide_totals] is not supported: totals are shown after voting.",
            ));
        }
        let Some(expires_in) = self.expires_in else {
            return Err(AppError::field("poll", "poll[expires_in] is missing."));
        };
        NewPoll::new(self.options, expires_in, self.multiple.unwrap_or(false)).map(Some)
    }
}
