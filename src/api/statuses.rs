//! `/api/v1/statuses`: post, read, edit, delete, thread context, favourite (= up-vote),
//! boost (reblog), bookmark, our down-vote extension, and Pleroma's emoji reactions. Stories and replies
//! are both statuses; a story's headline is the first line of the text (or `headline`).

use axum::extract::{OriginalUri, Path, State};
use axum::http::{HeaderMap, Uri};
use axum::response::Response;
use axum::routing::{get, post, put};
use axum::{Json, Router};
use serde::Deserialize;

use super::entities::{Account, Context, EmojiReaction, Status, StatusSource};
use super::params::{
    StrictQuery, id_list, opt_flag, opt_id, page_url, path_id, range, string_list,
};
use super::polls::{PollParams, opt_seconds};
use super::{ApiForm, Auth, Paging, paged};
use crate::error::AppError;
use crate::service::posts::{self, NewStatus, StatusEdit};
use crate::service::relationships::AccountView;
use crate::service::timelines::Paged;
use crate::service::votes::VoteChoice;
use crate::service::{Services, bookmarks, boosts};

pub fn routes() -> Router<Services> {
    Router::new()
        .route("/api/v1/statuses", get(several).post(create))
        .route(
            "/api/v1/statuses/{id}",
            get(show).put(update).delete(delete),
        )
        .route("/api/v1/statuses/{id}/source", get(source))
        .route("/api/v1/statuses/{id}/context", get(context))
        .route("/api/v1/statuses/{id}/favourite", post(favourite))
        .route("/api/v1/statuses/{id}/unfavourite", post(unfavourite))
        .route("/api/v1/statuses/{id}/favourited_by", get(favourited_by))
        .route("/api/v1/statuses/{id}/reblog", post(reblog))
        .route("/api/v1/statuses/{id}/unreblog", post(unreblog))
        .route("/api/v1/statuses/{id}/reblogged_by", get(reblogged_by))
        .route("/api/v1/statuses/{id}/downvote", post(downvote))
        .route("/api/v1/statuses/{id}/undownvote", post(undownvote))
        .route("/api/v1/statuses/{id}/bookmark", post(bookmark))
        .route("/api/v1/statuses/{id}/unbookmark", post(unbookmark))
        .route("/api/v1/pleroma/statuses/{id}/reactions", get(reactions))
        .route(
            "/api/v1/pleroma/statuses/{id}/reactions/{emoji}",
            put(react).delete(unreact),
        )
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct StatusForm {
    status: Option<String>,
    #[serde(deserialize_with = "opt_id")]
    in_reply_to_id: Option<i64>,
    spoiler_text: Option<String>,
    /// Hides the text behind a warning (set anyway when there is a `spoiler_text`).
    #[serde(deserialize_with = "opt_flag")]
    sensitive: Option<bool>,
    visibility: Option<String>,
    /// Our extension: the story's headline (otherwise the first line of `status`).
    headline: Option<String>,
    /// A poll, form-encoded (`poll[options][]`, `poll[expires_in]`, `poll[multiple]`,
    /// `poll[hide_totals]`)…
    #[serde(rename = "poll[options][]", deserialize_with = "string_list")]
    poll_options: Vec<String>,
    #[serde(rename = "poll[expires_in]", deserialize_with = "opt_seconds")]
    poll_expires_in: Option<i64>,
    #[serde(rename = "poll[multiple]", deserialize_with = "opt_flag")]
    poll_multiple: Option<bool>,
    #[serde(rename = "poll[hide_totals]", deserialize_with = "opt_flag")]
    poll_hide_totals: Option<bool>,
    /// … or as a JSON object.
    poll: Option<PollParams>,
    /// Uploads to attach: `media_ids[]` in a form, `media_ids` in JSON.
    #[serde(rename = "media_ids[]", deserialize_with = "super::media::raw_ids")]
    media_ids_form: Option<Vec<String>>,
    #[serde(deserialize_with = "super::media::raw_ids")]
    media_ids: Option<Vec<String>>,
}

impl StatusForm {
    /// The `media_ids`, however they came (`None`: not given).
    fn media_ids(&mut self) -> Result<Option<Vec<i64>>, AppError> {
        super::media::media_ids(self.media_ids_form.take().or(self.media_ids.take()))
    }

    /// The `poll[…]` parameters, however they came.
    fn poll_params(&mut self) -> PollParams {
        PollParams {
            options: std::mem::take(&mut self.poll_options),
            expires_in: self.poll_expires_in,
            multiple: self.poll_multiple,
            hide_totals: self.poll_hide_totals,
        }
        .merge(self.poll.take())
    }
}

async fn create(
    State(svc): State<Services>,
    auth: Auth,
    headers: HeaderMap,
    ApiForm(mut form): ApiForm<StatusForm>,
) -> Result<Json<Status>, AppError> {
    let user = auth.user("write:statuses")?;
    let poll = form.poll_params().into_poll()?;
    let media_ids = form.media_ids()?.unwrap_or_default();
    let key = headers
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let view = posts::create_status(
        &svc,
        user,
        NewStatus {
            text: form.status.unwrap_or_default(),
            in_reply_to_id: form.in_reply_to_id,
            spoiler_text: form.spoiler_text.unwrap_or_default(),
            sensitive: form.sensitive.unwrap_or(false),
            visibility: form.visibility,
            idempotency_key: key,
            headline: form.headline,
            poll,
            media_ids,
        },
    )
    .await?;
    Ok(Json(Status::from_view(&view, svc.base_url())))
}

/// Most statuses `GET /api/v1/statuses` gives at once (as Mastodon).
const MAX_SEVERAL: usize = 20;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SeveralQuery {
    #[serde(default, rename = "id[]", alias = "id", deserialize_with = "id_list")]
    ids: Vec<i64>,
}

/// `GET /api/v1/statuses?id[]=…`: several statuses in the order asked, without those the
/// viewer may not see or that do not exist.
async fn several(
    State(svc): State<Services>,
    auth: Auth,
    StrictQuery(q): StrictQuery<SeveralQuery>,
) -> Result<Json<Vec<Status>>, AppError> {
    let mut ids = q.ids;
    let mut seen = std::collections::HashSet::new();
    ids.retain(|id| seen.insert(*id));
    if ids.len() > MAX_SEVERAL {
        return Err(AppError::field(
            "id",
            format!("at most {MAX_SEVERAL} ids at once"),
        ));
    }
    let views = posts::get_statuses(&svc, ids, auth.viewer().map(|a| a.id)).await?;
    Ok(Json(Status::list(&views, svc.base_url())))
}

async fn show(
    State(svc): State<Services>,
    auth: Auth,
    Path(id): Path<String>,
) -> Result<Json<Status>, AppError> {
    let id = path_id(&id)?;
    let view = posts::get_status(&svc, id, auth.viewer().map(|a| a.id)).await?;
    Ok(Json(Status::from_view(&view, svc.base_url())))
}

async fn source(
    State(svc): State<Services>,
    auth: Auth,
    Path(id): Path<String>,
) -> Result<Json<StatusSource>, AppError> {
    let user = auth.user("read:statuses")?;
    let view = posts::get_status(&svc, path_id(&id)?, Some(user.id)).await?;
    Ok(Json(StatusSource::from(&view)))
}

async fn update(
    State(svc): State<Services>,
    auth: Auth,
    Path(id): Path<String>,
    ApiForm(mut form): ApiForm<StatusForm>,
) -> Result<Json<Status>, AppError> {
    let user = auth.user("write:statuses")?;
    if form.poll_params().into_poll()?.is_some() {
        return Err(AppError::field("poll", "A poll cannot be edited."));
    }
    let media_ids = form.media_ids()?;
    let view = posts::update_status(
        &svc,
        user,
        path_id(&id)?,
        StatusEdit {
            text: form.status.as_deref().unwrap_or(""),
            spoiler_text: form.spoiler_text.as_deref(),
            sensitive: form.sensitive,
            headline: form.headline.as_deref(),
            media_ids,
        },
    )
    .await?;
    Ok(Json(Status::from_view(&view, svc.base_url())))
}

async fn delete(
    State(svc): State<Services>,
    auth: Auth,
    Path(id): Path<String>,
) -> Result<Json<Status>, AppError> {
    let user = auth.user("write:statuses")?;
    let view = posts::delete_status(&svc, user, path_id(&id)?).await?;
    Ok(Json(Status::with_text(&view, svc.base_url())))
}

async fn context(
    State(svc): State<Services>,
    auth: Auth,
    Path(id): Path<String>,
) -> Result<Json<Context>, AppError> {
    let viewer = auth.viewer().map(|a| a.id);
    let (up, down) = posts::context(&svc, path_id(&id)?, viewer).await?;
    let base = svc.base_url();
    Ok(Json(Context {
        ancestors: Status::list(&up, base),
        descendants: Status::list(&down, base),
    }))
}

async fn favourite(
    State(svc): State<Services>,
    auth: Auth,
    Path(id): Path<String>,
) -> Result<Json<Status>, AppError> {
    let user = auth.user("write:favourites")?;
    let view = posts::vote(&svc, user, path_id(&id)?, VoteChoice::Up).await?;
    Ok(Json(Status::from_view(&view, svc.base_url())))
}

async fn unfavourite(
    State(svc): State<Services>,
    auth: Auth,
    Path(id): Path<String>,
) -> Result<Json<Status>, AppError> {
    let user = auth.user("write:favourites")?;
    let view = posts::take_back_vote(&svc, user, path_id(&id)?, 1).await?;
    Ok(Json(Status::from_view(&view, svc.base_url())))
}

/// Our extension: a down-vote (replaces an up-vote, as on the web page).
async fn downvote(
    State(svc): State<Services>,
    auth: Auth,
    Path(id): Path<String>,
) -> Result<Json<Status>, AppError> {
    let user = auth.user("write:favourites")?;
    let view = posts::vote(&svc, user, path_id(&id)?, VoteChoice::Down).await?;
    Ok(Json(Status::from_view(&view, svc.base_url())))
}

async fn undownvote(
    State(svc): State<Services>,
    auth: Auth,
    Path(id): Path<String>,
) -> Result<Json<Status>, AppError> {
    let user = auth.user("write:favourites")?;
    let view = posts::take_back_vote(&svc, user, path_id(&id)?, -1).await?;
    Ok(Json(Status::from_view(&view, svc.base_url())))
}

async fn favourited_by(
    State(svc): State<Services>,
    auth: Auth,
    OriginalUri(uri): OriginalUri,
    Path(id): Path<String>,
    axum::extract::Query(paging): axum::extract::Query<Paging>,
) -> Result<Response, AppError> {
    let viewer = auth.viewer().map(|a| a.id);
    let page = posts::favourited_by(&svc, path_id(&id)?, viewer, range(&paging)).await?;
    Ok(accounts_answer(&svc, &uri, page))
}

async fn reblogged_by(
    State(svc): State<Services>,
    auth: Auth,
    OriginalUri(uri): OriginalUri,
    Path(id): Path<String>,
    axum::extract::Query(paging): axum::extract::Query<Paging>,
) -> Result<Response, AppError> {
    let viewer = auth.viewer().map(|a| a.id);
    let page = boosts::boosted_by(&svc, path_id(&id)?, viewer, range(&paging)).await?;
    Ok(accounts_answer(&svc, &uri, page))
}

/// A page of accounts as Mastodon answers it, with its `Link` header.
fn accounts_answer(svc: &Services, uri: &Uri, page: Paged<AccountView>) -> Response {
    let items: Vec<Account> = page
        .items
        .iter()
        .map(|a| Account::from_view(a, svc.base_url()))
        .collect();
    paged(items, &page_url(svc, uri), &page.keys)
}

/// Boosts a status: answers the boost, whose `reblog` is the status (boosting twice
/// answers the same boost).
async fn reblog(
    State(svc): State<Services>,
    auth: Auth,
    Path(id): Path<String>,
) -> Result<Json<Status>, AppError> {
    let user = auth.user("write:statuses")?;
    let view = boosts::boost(&svc, user, path_id(&id)?).await?;
    Ok(Json(Status::from_view(&view, svc.base_url())))
}

/// Takes a boost back: answers the status (also when it was not boosted).
async fn unreblog(
    State(svc): State<Services>,
    auth: Auth,
    Path(id): Path<String>,
) -> Result<Json<Status>, AppError> {
    let user = auth.user("write:statuses")?;
    let view = boosts::unboost(&svc, user, path_id(&id)?).await?;
    Ok(Json(Status::from_view(&view, svc.base_url())))
}

async fn bookmark(
    State(svc): State<Services>,
    auth: Auth,
    Path(id): Path<String>,
) -> Result<Json<Status>, AppError> {
    let user = auth.user("write:bookmarks")?;
    let id = path_id(&id)?;
    posts::get_status(&svc, id, Some(user.id)).await?;
    bookmarks::bookmark(&svc, user, id).await?;
    let view = posts::get_status(&svc, id, Some(user.id)).await?;
    Ok(Json(Status::from_view(&view, svc.base_url())))
}

async fn unbookmark(
    State(svc): State<Services>,
    auth: Auth,
    Path(id): Path<String>,
) -> Result<Json<Status>, AppError> {
    let user = auth.user("write:bookmarks")?;
    let id = path_id(&id)?;
    posts::get_status(&svc, id, Some(user.id)).await?;
    bookmarks::unbookmark(&svc, user, id).await?;
    let view = posts::get_status(&svc, id, Some(user.id)).await?;
    Ok(Json(Status::from_view(&view, svc.base_url())))
}

/// Pleroma: `[{name, count, me, accounts}]`.
async fn reactions(
    State(svc): State<Services>,
    auth: Auth,
    Path(id): Path<String>,
) -> Result<Json<Vec<EmojiReaction>>, AppError> {
    let viewer = auth.viewer().map(|a| a.id);
    let groups = posts::reactions_of(&svc, path_id(&id)?, viewer).await?;
    let base = svc.base_url();
    Ok(Json(
        groups
            .iter()
            .map(|g| EmojiReaction::from_group(g, base))
            .collect(),
    ))
}

async fn react(
    State(svc): State<Services>,
    auth: Auth,
    Path((id, emoji)): Path<(String, String)>,
) -> Result<Json<Status>, AppError> {
    let user = auth.user("write:favourites")?;
    let view = posts::react(&svc, user, path_id(&id)?, &emoji).await?;
    Ok(Json(Status::from_view(&view, svc.base_url())))
}

async fn unreact(
    State(svc): State<Services>,
    auth: Auth,
    Path((id, emoji)): Path<(String, String)>,
) -> Result<Json<Status>, AppError> {
    let user = auth.user("write:favourites")?;
    let view = posts::unreact(&svc, user, path_id(&id)?, &emoji).await?;
    Ok(Json(Status::from_view(&view, svc.base_url())))
}
