//! `GET /media/{name}`: the stored media files. Names are content-addressed (see
//! `media::store`), so an answer never changes and is cached for a year. The type comes
//! from the name, which we gave from the decoded format; a name that is not one of ours is
//! 404 (no path a user could choose is ever read).

use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::media::store::file_format;
use crate::service::Services;

pub async fn serve(State(svc): State<Services>, Path(name): Path<String>) -> Response {
    let (Some(format), Some(path)) = (file_format(&name), svc.media.store.path_of(&name)) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let bytes = match tokio::fs::read(&path).await {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return StatusCode::NOT_FOUND.into_response();
        }
        Err(e) => {
            tracing::error!(%name, error = %e, "cannot read a media file");
            return StatusCode::INTERNAL_SERVER_ERROR.into_response();
        }
    };
    let mut res = bytes.into_response();
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(format.content_type()),
    );
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=31536000, immutable"),
    );
    h.insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_static("inline"),
    );
    // Opened on its own, a file can do nothing but be shown.
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; sandbox"),
    );
    if let Ok(etag) = HeaderValue::from_str(&format!("\"{}\"", &name[..64])) {
        h.insert(header::ETAG, etag);
    }
    res
}
