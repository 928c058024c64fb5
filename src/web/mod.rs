//! Server-rendered HTML pages; they work without JavaScript.

pub mod admin_accounts;
pub mod auth;
pub mod context;
pub mod instance;
pub mod invites;
pub mod media;
pub mod messages;
pub mod moderation;
pub mod oauth;
pub mod pages;
pub mod polls;
pub mod posts;
pub mod profiles;
pub mod search;
pub mod stories;

use axum::Router;
use axum::http::header;
use axum::middleware;
use axum::response::IntoResponse;
use axum::routing::{get, post};

use crate::error::AppError;
use crate::service::Services;

const STYLE_CSS: &str = include_str!("static/style.css");
const APP_JS: &str = include_str!("static/app.js");

async fn app_js() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=86400"),
        ],
        APP_JS,
    )
}

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
        .route("/about", get(instance::about))
        .route(
            "/admin/instance",
            get(instance::settings_form).post(instance::save_settings),
        )
        .route("/admin/accounts", get(admin_accounts::list))
        .route("/admin/accounts/{id}/{action}", post(admin_accounts::act))
        .route("/invites", get(invites::list).post(invites::create))
        .route("/invites/{id}/revoke", post(invites::revoke))
        .route("/login", get(auth::login_form).post(auth::login))
        .route("/logout", post(auth::logout))
        .route("/submit", get(stories::new_form).post(stories::create))
        .route("/stories/{id}", get(stories::show))
        .route(
            "/stories/{id}/edit",
            get(stories::edit_form).post(stories::update),
        )
        .route("/stories/{id}/delete", post(stories::delete))
        .route("/stories/{id}/follow", post(posts::follow))
        .route("/stories/{id}/unfollow", post(posts::unfollow))
        .route("/posts/{id}/vote", post(posts::vote))
        .route("/posts/{id}/boost", post(posts::boost))
        .route("/posts/{id}/react", post(posts::react))
        .route("/posts/{id}/unreact", post(posts::unreact))
        .route("/posts/{id}/reply", post(posts::reply))
        .route("/polls/{id}/vote", post(polls::vote))
        .route("/replies/{id}", get(posts::show_reply))
        .route("/replies/{id}/delete", post(posts::delete_reply))
        .route("/notifications", get(posts::notifications_page))
        .route("/messages", get(messages::page))
        .route("/messages/{id}/read", post(messages::read))
        .route("/messages/{id}/remove", post(messages::remove))
        .route(
            "/oauth/authorize",
            get(oauth::authorize_form).post(oauth::authorize),
        )
        // toot's `login` opens the page with a trailing slash.
        .route(
            "/oauth/authorize/",
            get(oauth::authorize_form).post(oauth::authorize),
        )
        .route("/tags/{tag}", get(stories::tag_page))
        .route(
            "/settings",
            get(profiles::settings_form).post(profiles::save_settings),
        )
        .route("/settings/theme", post(profiles::set_theme))
        .route("/search", get(search::search_page))
        .route("/accounts/{id}/follow", post(profiles::follow))
        .route("/accounts/{id}/unfollow", post(profiles::unfollow))
        .route(
            "/report",
            get(moderation::report_form).post(moderation::create_report),
        )
        .route("/report/sent", get(moderation::report_sent))
        .route("/moderation", get(moderation::queue))
        .route("/moderation/log", get(moderation::log))
        .route(
            "/moderation/reports/{id}/resolve",
            post(moderation::resolve),
        )
        .route(
            "/moderation/reports/{id}/dismiss",
            post(moderation::dismiss),
        )
        .route(
            "/moderation/posts/{id}/remove",
            post(moderation::remove_post),
        )
        .route(
            "/moderation/accounts/{id}/suspend",
            post(moderation::suspend),
        )
        .route(
            "/moderation/accounts/{id}/unsuspend",
            post(moderation::unsuspend),
        )
        .route(
            "/moderation/accounts/{id}/moderator",
            post(moderation::set_moderator),
        )
        .route("/{handle}", get(profiles::profile))
        .fallback(not_found)
        .layer(middleware::from_fn_with_state(svc.clone(), context::layer))
        .route("/static/style.css", get(style_css))
        .route("/static/app.js", get(app_js))
        .route("/media/{name}", get(media::serve))
        .with_state(svc)
}
