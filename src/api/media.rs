//! `/api/v1/media`, `/api/v2/media` (upload), `GET`/`PUT /api/v1/media/:id`, and
//! Mastodon's `MediaAttachment` entity.
//!
//! An upload is a multipart form: `file` (required), `description` and `focus`
//! (`x,y`); any other field is refused with 422. The file is written to the media
//! folder as it arrives and refused as soon as it passes the size limit.

use axum::extract::{DefaultBodyLimit, Multipart, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use std::collections::BTreeMap;

use serde::Serialize;
use tokio::io::AsyncWriteExt;

use super::params::path_id;
use super::{ApiForm, Auth};
use crate::db::models::{Account, Media};
use crate::error::AppError;
use crate::service::Services;
use crate::service::media::{self as media_svc, Focus, Upload};

pub fn routes() -> Router<Services> {
    Router::new()
        .route("/api/v1/media", post(create_v1))
        .route("/api/v2/media", post(create_v2))
        .route("/api/v1/media/{id}", get(show).put(update))
        // Uploads are limited while they stream (see `receive`), not by axum's default.
        .layer(DefaultBodyLimit::disable())
}

/// Mastodon's `MediaAttachment`.
#[derive(Debug, Clone, Serialize)]
pub struct MediaAttachment {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
    /// Null while processing.
    pub url: Option<String>,
    pub preview_url: Option<String>,
    pub remote_url: Option<String>,
    pub preview_remote_url: Option<String>,
    pub text_url: Option<String>,
    pub meta: serde_json::Value,
    pub description: Option<String>,
    pub blurhash: Option<String>,
}

fn size_meta(w: Option<i32>, h: Option<i32>) -> Option<serde_json::Value> {
    let (w, h) = (w?, h?);
    Some(serde_json::json!({
        "width": w,
        "height": h,
        "size": format!("{w}x{h}"),
        "aspect": if h > 0 { f64::from(w) / f64::from(h) } else { 1.0 },
    }))
}

impl MediaAttachment {
    pub fn from_row(m: &Media, base: &str) -> MediaAttachment {
        let mut meta = serde_json::Map::new();
        if let (Some(x), Some(y)) = (m.focus_x, m.focus_y) {
            meta.insert("focus".into(), serde_json::json!({ "x": x, "y": y }));
        }
        if let Some(o) = size_meta(m.width, m.height) {
            meta.insert("original".into(), o);
        }
        if let Some(s) = size_meta(m.preview_width, m.preview_height) {
            meta.insert("small".into(), s);
        }
        let local = |name: &Option<String>| name.as_deref().map(|n| media_svc::file_url(base, n));
        MediaAttachment {
            id: m.id.to_string(),
            kind: m.kind.clone(),
            url: local(&m.file_name).or_else(|| m.remote_url.clone()),
            preview_url: local(&m.preview_name).or_else(|| m.remote_preview_url.clone()),
            remote_url: m.remote_url.clone(),
            preview_remote_url: m.remote_preview_url.clone(),
            text_url: None,
            meta: serde_json::Value::Object(meta),
            description: Some(m.description.clone()).filter(|d| !d.is_empty()),
            blurhash: m.blurhash.clone(),
        }
    }
}

/// Reads the multipart upload: the file goes to the media folder as it arrives.
async fn receive(svc: &Services, mut multipart: Multipart) -> Result<Upload, AppError> {
    let mut file: Option<(std::path::PathBuf, Option<String>)> = None;
    let mut description = String::new();
    let mut focus = None;
    let result: Result<(), AppError> = async {
        while let Some(mut field) = multipart.next_field().await.map_err(multipart_error)? {
            let name = field.name().unwrap_or_default().to_owned();
            match name.as_str() {
                "file" if file.is_none() => {
                    let declared = field.content_type().map(str::to_owned);
                    let store = &svc.media.store;
                    let (path, std_file) = store.incoming().map_err(AppError::internal)?;
                    file = Some((path, declared));
                    let mut out = tokio::fs::File::from_std(std_file);
                    let mut size: u64 = 0;
                    while let Some(chunk) = field.chunk().await.map_err(multipart_error)? {
                        size += chunk.len() as u64;
                        if size > svc.config.media_max_bytes {
                            return Err(media_svc::too_large(svc));
                        }
                        out.write_all(&chunk).await.map_err(AppError::internal)?;
                    }
                    out.flush().await.map_err(AppError::internal)?;
                }
                "description" => {
                    description = media_svc::check_description(
                        &field.text().await.map_err(multipart_error)?,
                    )?;
                }
                "focus" => {
                    focus = Some(Focus::parse(&field.text().await.map_err(multipart_error)?)?);
                }
                "file" => return Err(AppError::field("file", "Only one file can be sent.")),
                "thumbnail" => {
                    return Err(AppError::field(
                        "thumbnail",
                        "A thumbnail is only taken for audio and video; images make their own.",
                    ));
                }
                other => {
                    return Err(AppError::field(
                        "file",
                        format!("Unknown parameter {other:?}: send file, description and focus."),
                    ));
                }
            }
        }
        Ok(())
    }
    .await;
    match (result, file) {
        (Ok(()), Some((path, declared))) => Ok(Upload {
            path,
            declared,
            description,
            focus,
        }),
        (Ok(()), None) => Err(AppError::field("file", "Send an image as the field file.")),
        (Err(e), file) => {
            if let Some((path, _)) = file {
                let _ = tokio::fs::remove_file(&path).await;
            }
            Err(e)
        }
    }
}

fn multipart_error(e: axum::extract::multipart::MultipartError) -> AppError {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        return AppError::field("file", "The upload is larger than the limit.");
    }
    AppError::bad_request(e.body_text())
}

async fn multipart(req: axum::extract::Request) -> Result<Multipart, AppError> {
    use axum::extract::FromRequest;
    Multipart::from_request(req, &()).await.map_err(|e| {
        AppError::field(
            "file",
            format!(
                "Send the upload as multipart/form-data ({}).",
                e.body_text()
            ),
        )
    })
}

async fn start(
    svc: &Services,
    auth: &Auth,
    req: axum::extract::Request,
) -> Result<(Account, Media, tokio::task::JoinHandle<()>), AppError> {
    let user = auth.user("write:media")?.clone();
    let upload = receive(svc, multipart(req).await?).await?;
    let (row, handle) = media_svc::accept(svc, &user, upload).await?;
    Ok((user, row, handle))
}

/// `POST /api/v1/media`: answers once the image is processed.
async fn create_v1(
    State(svc): State<Services>,
    auth: Auth,
    req: axum::extract::Request,
) -> Result<Response, AppError> {
    let (user, row, handle) = start(&svc, &auth, req).await?;
    handle.await.map_err(AppError::internal)?;
    finished(&svc, media_svc::get_own(&svc, user.id, row.id).await?)
}

/// `POST /api/v2/media`: 202 with `url` null while processing goes on.
async fn create_v2(
    State(svc): State<Services>,
    auth: Auth,
    req: axum::extract::Request,
) -> Result<Response, AppError> {
    let (_user, row, _handle) = start(&svc, &auth, req).await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(MediaAttachment::from_row(&row, svc.base_url())),
    )
        .into_response())
}

/// 200 when ready, 206 while processing (Mastodon's), 422 with the reason when failed.
fn finished(svc: &Services, row: Media) -> Result<Response, AppError> {
    match row.state.as_str() {
        media_svc::READY => {
            Ok(Json(MediaAttachment::from_row(&row, svc.base_url())).into_response())
        }
        media_svc::PROCESSING => Ok((
            StatusCode::PARTIAL_CONTENT,
            Json(MediaAttachment::from_row(&row, svc.base_url())),
        )
            .into_response()),
        _ => Err(AppError::field(
            "file",
            row.error
                .unwrap_or_else(|| "The image could not be processed.".into()),
        )),
    }
}

async fn show(
    State(svc): State<Services>,
    auth: Auth,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let user = auth.user("write:media")?;
    let row = media_svc::get_own(&svc, user.id, path_id(&id)?).await?;
    finished(&svc, row)
}

async fn update(
    State(svc): State<Services>,
    auth: Auth,
    Path(id): Path<String>,
    ApiForm(mut form): ApiForm<BTreeMap<String, String>>,
) -> Result<Response, AppError> {
    let user = auth.user("write:media")?;
    let description = form.remove("description");
    let focus = form.remove("focus");
    if let Some(other) = form.keys().next() {
        return Err(AppError::field(
            "description",
            format!("Unknown parameter {other:?}: send description and focus."),
        ));
    }
    let description = description
        .as_deref()
        .map(media_svc::check_description)
        .transpose()?;
    let focus = focus.as_deref().map(Focus::parse).transpose()?;
    let row = media_svc::update(&svc, user.id, path_id(&id)?, description, focus).await?;
    Ok(Json(MediaAttachment::from_row(&row, svc.base_url())).into_response())
}

/// `media_ids[]` (form) or `media_ids` (JSON) as sent: strings or numbers, kept as text so
/// that an id that is not a number is refused (422) rather than dropped.
pub fn raw_ids<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Vec<String>>, D::Error> {
    use serde::Deserialize;
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Item {
        N(i64),
        S(String),
    }
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        Many(Vec<Item>),
        One(Item),
    }
    let text = |i: Item| match i {
        Item::N(n) => n.to_string(),
        Item::S(s) => s,
    };
    Ok(match Option::<OneOrMany>::deserialize(d)? {
        None => None,
        Some(OneOrMany::Many(v)) => Some(v.into_iter().map(text).collect()),
        Some(OneOrMany::One(i)) => Some(vec![text(i)]),
    })
}

/// The media ids of a status, `None` when not given. One empty value (`media_ids[]=`)
/// means "none" (an edit that removes every image).
pub fn media_ids(raw: Option<Vec<String>>) -> Result<Option<Vec<i64>>, AppError> {
    let Some(raw) = raw else {
        return Ok(None);
    };
    raw.iter()
        .map(|s| s.trim())
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<i64>().map_err(|_| {
                AppError::field("media_ids", format!("There is no upload {s:?} of yours."))
            })
        })
        .collect::<Result<Vec<_>, _>>()
        .map(Some)
}
