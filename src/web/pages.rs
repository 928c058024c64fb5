//! Template structs: one per page, each holding only what its template shows.

use askama::Template;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};

use super::context::Ctx;
use crate::error::{AppError, FieldError};
use crate::service::views::{AuthorView, StoryView};

/// Errors to show beside form fields, plus one for the whole form.
#[derive(Debug, Default, Clone)]
pub struct FormErrors {
    fields: Vec<FieldError>,
    general: Option<String>,
}

impl FormErrors {
    pub fn none() -> FormErrors {
        FormErrors::default()
    }

    pub fn general(&self) -> Option<&str> {
        self.general.as_deref()
    }

    pub fn get(&self, field: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|e| e.field == field)
            .map(|e| e.message.as_str())
    }

    pub fn with_general(message: impl Into<String>) -> FormErrors {
        FormErrors {
            fields: Vec::new(),
            general: Some(message.into()),
        }
    }

    /// Field errors from a validation error; any other error is passed back to the caller.
    pub fn from_error(e: AppError) -> Result<FormErrors, AppError> {
        if e.field_errors().is_empty() {
            return Err(e);
        }
        Ok(FormErrors {
            fields: e.field_errors().to_vec(),
            general: Some("Please fix the marked fields.".into()),
        })
    }
}

/// Renders a page with the given status.
pub fn render_status(status: StatusCode, page: &impl Template) -> Result<Response, AppError> {
    let html = page.render().map_err(AppError::internal)?;
    Ok((status, Html(html)).into_response())
}

pub fn render(page: &impl Template) -> Result<Response, AppError> {
    render_status(StatusCode::OK, page)
}

#[derive(Template)]
#[template(path = "error.html")]
pub struct ErrorPage<'a> {
    pub ctx: &'a Ctx,
    pub title: &'a str,
    pub message: &'a str,
}

#[derive(Template)]
#[template(path = "index.html")]
pub struct IndexPage<'a> {
    pub ctx: &'a Ctx,
    pub stories: Vec<StoryView>,
    pub next_href: Option<String>,
    pub empty_text: &'a str,
    pub is_first_page: bool,
}

#[derive(Template)]
#[template(path = "tag.html")]
pub struct TagPage<'a> {
    pub ctx: &'a Ctx,
    pub tag_name: String,
    pub stories: Vec<StoryView>,
    pub next_href: Option<String>,
    pub empty_text: &'a str,
}

#[derive(Template)]
#[template(path = "profile.html")]
pub struct ProfilePage<'a> {
    pub ctx: &'a Ctx,
    pub author: AuthorView,
    pub bio_html: String,
    pub stories: Vec<StoryView>,
    pub next_href: Option<String>,
    pub empty_text: &'a str,
}

#[derive(Template)]
#[template(path = "story.html")]
pub struct StoryPage<'a> {
    pub ctx: &'a Ctx,
    pub story: StoryView,
    pub can_edit: bool,
}

#[derive(Template)]
#[template(path = "story_form.html")]
pub struct StoryFormPage<'a> {
    pub ctx: &'a Ctx,
    pub editing: Option<i64>,
    pub headline: String,
    pub body: String,
    pub errors: FormErrors,
}

#[derive(Template)]
#[template(path = "join.html")]
pub struct JoinPage<'a> {
    pub ctx: &'a Ctx,
    pub username: String,
    pub errors: FormErrors,
}

#[derive(Template)]
#[template(path = "login.html")]
pub struct LoginPage<'a> {
    pub ctx: &'a Ctx,
    pub username: String,
    pub return_to: String,
    pub errors: FormErrors,
}

#[derive(Template)]
#[template(path = "settings.html")]
pub struct SettingsPage<'a> {
    pub ctx: &'a Ctx,
    pub display_name: String,
    pub bio: String,
    pub errors: FormErrors,
    pub saved: bool,
}
