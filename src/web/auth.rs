//! Join, login, logout.

use axum::Form;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::cookie::CookieJar;
use serde::Deserialize;

use super::context::{Ctx, SESSION_COOKIE};
use super::pages::{FormErrors, JoinPage, JoinPendingPage, LoginPage, render, render_status};
use crate::error::AppError;
use crate::service::instance::Registrations;
use crate::service::signup::{self, SignUp};
use crate::service::{Services, accounts, instance, invites, sessions};

/// Only same-site paths are allowed as targets after login and after forms (no open
/// redirects): a path that starts with exactly one `/`, with no control characters (tab and
/// newline above all, which browsers drop, so `/\t/evil.example/` would become
/// `//evil.example/`) and no backslashes (which browsers read as `/`), neither as typed nor
/// after percent-decoding. Anything else becomes `/`.
pub fn safe_return_to(target: Option<&str>) -> String {
    match target {
        Some(t) if is_local_path(t) => t.to_owned(),
        _ => "/".to_owned(),
    }
}

fn is_local_path(target: &str) -> bool {
    // Each round of percent-decoding must pass too; a few rounds cover double encoding,
    // and a target still changing after them is refused.
    let mut current = target.to_owned();
    for _ in 0..4 {
        if !is_plain_local_path(&current) {
            return false;
        }
        let decoded = percent_decode(&current);
        if decoded == current {
            return true;
        }
        current = decoded;
    }
    false
}

fn is_plain_local_path(t: &str) -> bool {
    let mut chars = t.chars();
    chars.next() == Some('/')
        && !matches!(chars.next(), Some('/' | '\\'))
        && !t.chars().any(|c| c.is_control() || c == '\\')
}

/// `%XX` escapes decoded (invalid UTF-8 shown as U+FFFD, which passes no check it should
/// not); `+` is left alone, as in a path.
fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let Some(hex) = bytes.get(i + 1..i + 3)
            && let Ok(b) = u8::from_str_radix(std::str::from_utf8(hex).unwrap_or("zz"), 16)
        {
            out.push(b);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[derive(Deserialize, Default)]
pub struct JoinQuery {
    #[serde(default)]
    invite: String,
}

/// Whether the form shows, and why not: closed, or invitation-only without a usable code.
fn join_state(registrations: Registrations, invited: bool) -> (bool, &'static str) {
    match registrations {
        Registrations::Closed => (false, signup::CLOSED),
        Registrations::Invite if !invited => (false, signup::INVITE_ONLY),
        _ => (true, ""),
    }
}

pub async fn join_form(
    State(svc): State<Services>,
    ctx: Ctx,
    Query(q): Query<JoinQuery>,
) -> Result<Response, AppError> {
    let info = instance::info(&svc).await?;
    let code = q.invite.trim().to_owned();
    let refused = if code.is_empty() {
        None
    } else {
        invites::check(&svc, &code).await.err()
    };
    let invited = !code.is_empty() && refused.is_none();
    let (open, closed_text) = join_state(info.registrations, invited);
    let (open, closed_text) = match &refused {
        Some(e) => (false, e.public_message()),
        None => (open, closed_text.to_owned()),
    };
    render_status(
        if open {
            StatusCode::OK
        } else {
            StatusCode::FORBIDDEN
        },
        &JoinPage {
            ctx: &ctx,
            username: String::new(),
            rules: &info.rules,
            accepted: false,
            open,
            closed_text,
            invite: if invited { code } else { String::new() },
            approval: info.registrations.needs_approval() && !invited,
            email: String::new(),
            reason: String::new(),
            errors: FormErrors::none(),
        },
    )
}

#[derive(Deserialize)]
pub struct JoinForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    email: String,
    /// Why they want to join (when sign-ups wait for approval).
    #[serde(default)]
    reason: String,
    /// An invitation code.
    #[serde(default)]
    invite: String,
    /// The checkbox accepting the rules (when there are rules).
    #[serde(default)]
    accept_rules: Option<String>,
}

pub async fn join(
    State(svc): State<Services>,
    ctx: Ctx,
    jar: CookieJar,
    Form(form): Form<JoinForm>,
) -> Result<Response, AppError> {
    ctx.check_csrf(&form.csrf)?;
    let info = instance::info(&svc).await?;
    let accepted = form.accept_rules.is_some();
    let invited = !form.invite.trim().is_empty();
    let (open, closed_text) = join_state(info.registrations, invited);
    let page = |errors| JoinPage {
        ctx: &ctx,
        username: form.username.clone(),
        rules: &info.rules,
        accepted,
        open,
        closed_text: closed_text.to_owned(),
        invite: form.invite.trim().to_owned(),
        approval: info.registrations.needs_approval() && !invited,
        email: form.email.clone(),
        reason: form.reason.clone(),
        errors,
    };
    if !open {
        return render_status(
            StatusCode::FORBIDDEN,
            &page(FormErrors::with_general(closed_text)),
        );
    }
    if !info.rules.is_empty() && !accepted {
        let e = AppError::field(
            "accept_rules",
            "Please read the rules and accept them to join.",
        );
        return render_status(
            StatusCode::UNPROCESSABLE_ENTITY,
            &page(FormErrors::from_error(e)?),
        );
    }
    let request = SignUp {
        username: form.username.clone(),
        password: form.password.clone(),
        email: Some(form.email.clone()),
        locale: None,
        reason: Some(form.reason.clone()),
        invite: Some(form.invite.clone()),
    };
    match signup::sign_up(&svc, request).await {
        Ok(account) if !account.approved => render(&JoinPendingPage {
            ctx: &ctx,
            username: account.username,
        }),
        Ok(account) => {
            let token = sessions::create(&svc, account.id).await?;
            let jar = jar.add(ctx.cookie(SESSION_COOKIE, token, sessions::SESSION_DAYS));
            Ok((jar, Redirect::to(&format!("/@{}", account.username))).into_response())
        }
        // An invitation that no longer works: the page says why.
        Err(e) if e.status() == StatusCode::FORBIDDEN => render_status(
            StatusCode::FORBIDDEN,
            &page(FormErrors::with_general(e.public_message())),
        ),
        Err(e) => render_status(
            StatusCode::UNPROCESSABLE_ENTITY,
            &page(FormErrors::from_error(e)?),
        ),
    }
}

#[derive(Deserialize)]
pub struct ReturnTo {
    return_to: Option<String>,
}

pub async fn login_form(ctx: Ctx, Query(q): Query<ReturnTo>) -> Result<Response, AppError> {
    render(&LoginPage {
        ctx: &ctx,
        username: String::new(),
        return_to: safe_return_to(q.return_to.as_deref()),
        errors: FormErrors::none(),
    })
}

#[derive(Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
    return_to: Option<String>,
}

pub async fn login(
    State(svc): State<Services>,
    ctx: Ctx,
    jar: CookieJar,
    Form(form): Form<LoginForm>,
) -> Result<Response, AppError> {
    ctx.check_csrf(&form.csrf)?;
    let target = safe_return_to(form.return_to.as_deref());
    match accounts::authenticate(&svc, &form.username, &form.password).await? {
        Ok(account) => {
            if let Some(old) = &ctx.session_token {
                sessions::destroy(&svc, old).await?;
            }
            let token = sessions::create(&svc, account.id).await?;
            let jar = jar.add(ctx.cookie(SESSION_COOKIE, token, sessions::SESSION_DAYS));
            Ok((jar, Redirect::to(&target)).into_response())
        }
        Err(refusal) => render_status(
            match refusal {
                accounts::LoginRefusal::Wrong => StatusCode::UNAUTHORIZED,
                _ => StatusCode::FORBIDDEN,
            },
            &LoginPage {
                ctx: &ctx,
                username: form.username,
                return_to: target,
                errors: FormErrors::with_general(refusal.message()),
            },
        ),
    }
}

#[derive(Deserialize)]
pub struct CsrfOnly {
    #[serde(default)]
    pub csrf: String,
}

pub async fn logout(
    State(svc): State<Services>,
    ctx: Ctx,
    jar: CookieJar,
    Form(form): Form<CsrfOnly>,
) -> Result<Response, AppError> {
    ctx.check_csrf(&form.csrf)?;
    if let Some(token) = &ctx.session_token {
        sessions::destroy(&svc, token).await?;
    }
    let jar = jar.add(ctx.cookie(SESSION_COOKIE, String::new(), 0));
    Ok((jar, Redirect::to("/")).into_response())
}

#[cfg(test)]
mod tests {
    use super::safe_return_to;

    #[test]
    fn return_to_accepts_local_paths_only() {
        for ok in [
            "/",
            "/submit",
            "/stories/3?page=2#c",
            "/tags/caf%C3%A9",
            "/a%20b",
            "/@me",
        ] {
            assert_eq!(safe_return_to(Some(ok)), ok, "{ok:?}");
        }
        for bad in [
            "/\t/evil.example/",
            "/\n/evil.example/",
            "/%09/evil.example/",
            "/%0a/evil.example/",
            "/%250d/evil.example/",
            "//evil.example/",
            "/\\evil.example/",
            "/%5cevil.example/",
            "/%2fevil.example/",
            "/%252fevil.example/",
            "/a\\b",
            "/x\u{0}y",
            "/x\u{85}y",
            "https://evil.example/",
            "evil.example",
            "",
            " /x",
        ] {
            assert_eq!(safe_return_to(Some(bad)), "/", "{bad:?}");
        }
        assert_eq!(safe_return_to(None), "/");
    }
}
