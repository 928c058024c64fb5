//! Timelines: home, public (`local`, `remote`), tag; and the viewer's favourites
//! (up-voted posts) and bookmarks. All paged with `max_id` / `since_id` / `min_id` and a
//! `Link` header.

use axum::Router;
use axum::extract::{OriginalUri, Path, Query, State};
use axum::http::Uri;
use axum::response::Response;
use axum::routing::get;
use serde::Deserialize;

use super::entities::Status;
use super::params::{HtmlQuery, flag, page_url, range};
use super::{Auth, Paging, paged};
use crate::error::AppError;
use crate::service::Services;
use crate::service::posts::PostView;
use crate::service::timelines::{self, Origin, Paged};

pub fn routes() -> Router<Services> {
    Router::new()
        .route("/api/v1/timelines/home", get(home))
        .route("/api/v1/timelines/public", get(public))
        .route("/api/v1/timelines/tag/{hashtag}", get(tag))
        .route("/api/v1/favourites", get(favourites))
        .route("/api/v1/bookmarks", get(bookmarks))
}

/// A page of statuses with its `Link` header.
pub fn status_page(svc: &Services, uri: &Uri, page: Paged<PostView>) -> Response {
    let items = Status::list(&page.items, svc.base_url());
    paged(items, &page_url(svc, uri), &page.keys)
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct PublicQuery {
    #[serde(deserialize_with = "flag")]
    local: bool,
    #[serde(deserialize_with = "flag")]
    remote: bool,
    #[serde(deserialize_with = "flag")]
    only_media: bool,
}

async fn home(
    State(svc): State<Services>,
    auth: Auth,
    OriginalUri(uri): OriginalUri,
    Query(paging): Query<Paging>,
) -> Result<Response, AppError> {
    let user = auth.user("read:statuses")?;
    let page = timelines::home(&svc, user.id, range(&paging)).await?;
    Ok(status_page(&svc, &uri, page))
}

async fn public(
    State(svc): State<Services>,
    auth: Auth,
    OriginalUri(uri): OriginalUri,
    Query(paging): Query<Paging>,
    HtmlQuery(q): HtmlQuery<PublicQuery>,
) -> Result<Response, AppError> {
    if q.only_media {
        // No post has media here.
        return Ok(status_page(&svc, &uri, Paged::empty()));
    }
    let viewer = auth.viewer().map(|a| a.id);
    let origin = Origin::from_flags(q.local, q.remote);
    let page = timelines::public(&svc, viewer, origin, range(&paging)).await?;
    Ok(status_page(&svc, &uri, page))
}

async fn tag(
    State(svc): State<Services>,
    auth: Auth,
    OriginalUri(uri): OriginalUri,
    Path(hashtag): Path<String>,
    Query(paging): Query<Paging>,
    HtmlQuery(q): HtmlQuery<PublicQuery>,
) -> Result<Response, AppError> {
    if q.only_media {
        return Ok(status_page(&svc, &uri, Paged::empty()));
    }
    let viewer = auth.viewer().map(|a| a.id);
    let origin = Origin::from_flags(q.local, q.remote);
    let page = timelines::tag(&svc, viewer, &hashtag, origin, range(&paging)).await?;
    Ok(status_page(&svc, &uri, page))
}

async fn favourites(
    State(svc): State<Services>,
    auth: Auth,
    OriginalUri(uri): OriginalUri,
    Query(paging): Query<Paging>,
) -> Result<Response, AppError> {
    let user = auth.user("read:favourites")?;
    let page = timelines::favourites(&svc, user.id, range(&paging)).await?;
    Ok(status_page(&svc, &uri, page))
}

async fn bookmarks(
    State(svc): State<Services>,
    auth: Auth,
    OriginalUri(uri): OriginalUri,
    Query(paging): Query<Paging>,
) -> Result<Response, AppError> {
    let user = auth.user("read:bookmarks")?;
    let page = timelines::bookmarks(&svc, user.id, range(&paging)).await?;
    Ok(status_page(&svc, &uri, page))
}
