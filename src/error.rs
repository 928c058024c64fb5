//! The one error type. Clients see a safe message; the log gets the cause.

use std::fmt;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

/// A problem with one form field, shown beside that field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    pub field: &'static str,
    pub message: String,
}

#[derive(Debug)]
pub enum ErrorKind {
    /// Input that breaks a rule; each entry names the field it belongs to.
    Validation(Vec<FieldError>),
    BadRequest(String),
    Unauthorized,
    /// 401 with a specific reason (an invalid API token).
    InvalidToken(String),
    Forbidden,
    /// 403 with a specific reason (a missing OAuth scope).
    Denied(String),
    /// A form whose CSRF token does not match the cookie.
    Csrf,
    NotFound,
    Gone,
    Conflict(String),
    /// 503: too much work queued (password hashing); the client may retry shortly.
    Busy,
    Internal,
}

#[derive(Debug)]
pub struct AppError {
    pub kind: ErrorKind,
    source: Option<anyhow::Error>,
}

impl AppError {
    pub fn new(kind: ErrorKind) -> AppError {
        AppError { kind, source: None }
    }

    pub fn internal(e: impl Into<anyhow::Error>) -> AppError {
        AppError {
            kind: ErrorKind::Internal,
            source: Some(e.into()),
        }
    }

    pub fn not_found() -> AppError {
        AppError::new(ErrorKind::NotFound)
    }

    pub fn forbidden() -> AppError {
        AppError::new(ErrorKind::Forbidden)
    }

    pub fn unauthorized() -> AppError {
        AppError::new(ErrorKind::Unauthorized)
    }

    pub fn gone() -> AppError {
        AppError::new(ErrorKind::Gone)
    }

    pub fn bad_request(msg: impl Into<String>) -> AppError {
        AppError::new(ErrorKind::BadRequest(msg.into()))
    }

    pub fn busy() -> AppError {
        AppError::new(ErrorKind::Busy)
    }

    pub fn conflict(msg: impl Into<String>) -> AppError {
        AppError::new(ErrorKind::Conflict(msg.into()))
    }

    pub fn field(field: &'static str, message: impl Into<String>) -> AppError {
        AppError::new(ErrorKind::Validation(vec![FieldError {
            field,
            message: message.into(),
        }]))
    }

    pub fn validation(errors: Vec<FieldError>) -> AppError {
        AppError::new(ErrorKind::Validation(errors))
    }

    pub fn status(&self) -> StatusCode {
        match self.kind {
            ErrorKind::Validation(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ErrorKind::BadRequest(_) => StatusCode::BAD_REQUEST,
            ErrorKind::Unauthorized | ErrorKind::InvalidToken(_) => StatusCode::UNAUTHORIZED,
            ErrorKind::Denied(_) => StatusCode::FORBIDDEN,
            ErrorKind::Forbidden | ErrorKind::Csrf => StatusCode::FORBIDDEN,
            ErrorKind::NotFound => StatusCode::NOT_FOUND,
            ErrorKind::Gone => StatusCode::GONE,
            ErrorKind::Conflict(_) => StatusCode::CONFLICT,
            ErrorKind::Busy => StatusCode::SERVICE_UNAVAILABLE,
            ErrorKind::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The message a client may see: never the internal cause.
    pub fn public_message(&self) -> String {
        match &self.kind {
            ErrorKind::Validation(errs) => errs
                .iter()
                .map(|e| e.message.as_str())
                .collect::<Vec<_>>()
                .join("; "),
            ErrorKind::BadRequest(m)
            | ErrorKind::Conflict(m)
            | ErrorKind::InvalidToken(m)
            | ErrorKind::Denied(m) => m.clone(),
            ErrorKind::Unauthorized => "Please log in first.".into(),
            ErrorKind::Forbidden => "You are not allowed to do that.".into(),
            ErrorKind::Csrf => "This form has expired or came from another site. Go back, reload the page and send it again.".into(),
            ErrorKind::NotFound => "There is nothing here.".into(),
            ErrorKind::Gone => "This was deleted.".into(),
            ErrorKind::Busy => "The server is busy. Please try again in a few seconds.".into(),
            ErrorKind::Internal => "Something went wrong on our side. Please try again.".into(),
        }
    }

    /// Field errors of a validation error (empty for other kinds).
    pub fn field_errors(&self) -> &[FieldError] {
        match &self.kind {
            ErrorKind::Validation(errs) => errs,
            _ => &[],
        }
    }

    /// Writes the cause to the log when it is ours to fix.
    pub fn log(&self) {
        if let ErrorKind::Internal = self.kind {
            match &self.source {
                Some(src) => tracing::error!(error = ?src, "internal error"),
                None => tracing::error!("internal error"),
            }
        }
    }
}

impl fmt::Display for AppError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.public_message())?;
        if let Some(src) = &self.source {
            write!(f, ": {src:#}")?;
        }
        Ok(())
    }
}

impl std::error::Error for AppError {}

impl From<diesel::result::Error> for AppError {
    fn from(e: diesel::result::Error) -> AppError {
        match e {
            diesel::result::Error::NotFound => AppError::not_found(),
            other => AppError::internal(other),
        }
    }
}

/// A plain-text answer carrying [`crate::web::context::ErrorInfo`], from which the page
/// layer renders a full HTML error page.
/// The `Retry-After` of a [`ErrorKind::Busy`] answer, in seconds.
pub const RETRY_BUSY_AFTER_SECS: &str = "2";

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        self.log();
        let info = crate::web::context::ErrorInfo {
            status: self.status(),
            message: self.public_message(),
        };
        let mut res = (self.status(), info.message.clone()).into_response();
        if let ErrorKind::Busy = self.kind {
            res.headers_mut().insert(
                axum::http::header::RETRY_AFTER,
                axum::http::HeaderValue::from_static(RETRY_BUSY_AFTER_SECS),
            );
        }
        res.extensions_mut().insert(info);
        res
    }
}
