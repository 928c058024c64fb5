//! Polls on the pages: the poll fields of the story and reply forms (kept as typed when
//! a form is shown again), and the vote form (radio buttons or checkboxes).

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::auth::safe_return_to;
use super::context::Ctx;
use super::stories::parse_id;
use crate::error::AppError;
use crate::service::Services;
use crate::service::polls::{self, NewPoll};

/// The durations offered, in seconds, with their labels.
pub const DURATIONS: [(&str, &str); 7] = [
    ("300", "5 minutes"),
    ("1800", "30 minutes"),
    ("3600", "1 hour"),
    ("21600", "6 hours"),
    ("86400", "1 day"),
    ("259200", "3 days"),
    ("604800", "7 days"),
];

/// What was typed in a form's poll fields. No option typed: no poll.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct PollDraft {
    #[serde(default)]
    pub poll_option_1: String,
    #[serde(default)]
    pub poll_option_2: String,
    #[serde(default)]
    pub poll_option_3: String,
    #[serde(default)]
    pub poll_option_4: String,
    /// Seconds (one of [`DURATIONS`]).
    #[serde(default)]
    pub poll_duration: String,
    /// A checkbox: present when ticked.
    #[serde(default)]
    pub poll_multiple: Option<String>,
}

impl PollDraft {
    fn typed(&self) -> Vec<&str> {
        [
            &self.poll_option_1,
            &self.poll_option_2,
            &self.poll_option_3,
            &self.poll_option_4,
        ]
        .into_iter()
        .map(|s| s.as_str())
        .filter(|s| !s.trim().is_empty())
        .collect()
    }

    /// Whether any option was typed (the form's poll section starts open).
    pub fn is_used(&self) -> bool {
        !self.typed().is_empty()
    }

    pub fn multiple(&self) -> bool {
        self.poll_multiple.is_some()
    }

    /// The duration chosen, or one day.
    pub fn duration(&self) -> &str {
        if self.poll_duration.is_empty() {
            "86400"
        } else {
            &self.poll_duration
        }
    }

    /// The poll asked for (the empty option fields are left out), checked; `None` when no
    /// option was typed.
    pub fn to_poll(&self) -> Result<Option<NewPoll>, AppError> {
        let options = self.typed();
        if options.is_empty() {
            return Ok(None);
        }
        let seconds: i64 = self
            .duration()
            .trim()
            .parse()
            .map_err(|_| AppError::field("poll", "Choose how long the poll lasts."))?;
        NewPoll::new(
            options.into_iter().map(str::to_owned).collect(),
            seconds,
            self.multiple(),
        )
        .map(Some)
    }
}

#[derive(Deserialize)]
struct VoteForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    choice: Vec<String>,
    return_to: Option<String>,
}

/// `POST /polls/{id}/vote`: the choices of the vote form (`choice`, once or repeated).
pub async fn vote(
    State(svc): State<Services>,
    ctx: Ctx,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, AppError> {
    let id = parse_id(&id)?;
    let form: VoteForm = serde_html_form::from_bytes(&body)
        .map_err(|e| AppError::bad_request(format!("invalid form: {e}")))?;
    ctx.check_csrf(&form.csrf)?;
    let user = ctx.require_user()?;
    let choices = form
        .choice
        .iter()
        .map(|c| c.trim().parse::<i64>())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|_| AppError::field("choices", "That option is not in the poll."))?;
    polls::vote(&svc, user, id, choices).await?;
    Ok(Redirect::to(&safe_return_to(form.return_to.as_deref())).into_response())
}
