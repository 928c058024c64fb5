//! Server-rendered HTML pages; they work without JavaScript.

pub mod auth;
pub mod context;
pub mod pages;
pub mod profiles;
pub mod stories;

use axum::Router;
use axum::http::header;
use axum::middleware;
use axum::response::IntoResponse;
use axum::routing::{get, post};

use crate::error::AppError;
use crate::service::Services;

const STYLE_CSS: &str = include_str!("static/style.css");

async fn style_css() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=86400"),
        ],
        STYLE_CSS,
    )
}

async fn not_found() -> AppError {
    AppError::not_found()
}

/// Every page route, wrapped in the layer that provides [`context::Ctx`].
pub fn router(svc: Services) -> Router {
    Router::new()
        .route("/", get(stories::front_page))
        .route("/join", get(auth::join_form).post(auth::join))
        .route("/login", get(auth::login_form).post(auth::login))
        .route("/logout", post(auth::logout))
        .route("/submit", get(stories::new_form).post(stories::create))
        .route("/stories/{id}", get(stories::show))
        .route(
            "/stories/{id}/edit",
            get(stories::edit_form).post(stories::update),
        )
        .route("/stories/{id}/delete", post(stories::delete))
        .route("/tags/{tag}", get(stories::tag_page))
        .route(
            "/settings",
            get(profiles::settings_form).post(profiles::save_settings),
        )
        .route("/settings/theme", post(profiles::set_theme))
        .route("/{handle}", get(profiles::profile))
        .fallback(not_found)
        .layer(middleware::from_fn_with_state(svc.clone(), context::layer))
        .route("/static/style.css", get(style_css))
        .with_state(svc)
}
