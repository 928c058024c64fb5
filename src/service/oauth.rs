//! OAuth 2 for the client API: app registration, authorization codes (with optional PKCE),
//! tokens. Client secrets, codes and tokens are stored only as SHA-256 hashes.

use chrono::{Duration, Utc};
use diesel::prelude::*;

use super::{Services, accounts, crypto};
use crate::db::ids;
use crate::db::models::{Account, OauthApp, OauthCode, OauthToken};
use crate::db::schema::{accounts as accounts_t, oauth_apps, oauth_codes, oauth_tokens};
use crate::domain::links::is_web_url;
use crate::domain::scopes::Scopes;
use crate::error::AppError;

/// The redirect URI for apps that show the code to the person instead of redirecting.
pub const OOB: &str = "urn:ietf:wg:oauth:2.0:oob";
const CODE_MINUTES: i64 = 10;

/// A registered app as returned once at registration (the only time the secret is shown).
pub struct NewApp {
    pub app: OauthApp,
    pub client_secret: String,
}

fn invalid(msg: impl Into<String>) -> AppError {
    AppError::field("oauth", msg)
}

/// URI schemes a browser would run or read locally instead of handing to an app: never a
/// redirect target (native apps' own schemes such as `myapp://` and `https` stay allowed).
const FORBIDDEN_REDIRECT_SCHEMES: &[&str] = &["javascript", "data", "vbscript", "file", "blob"];

/// A registered redirect URI: the out-of-band URN, or an absolute URI without a fragment
/// (RFC 6749 §3.1.2) whose scheme is not one a browser would run (issue #12, script links).
fn check_redirect_uri(u: &str) -> Result<(), AppError> {
    if u == OOB {
        return Ok(());
    }
    let parsed = url::Url::parse(u)
        .map_err(|_| AppError::field("redirect_uris", format!("{u:?} is not a valid URI")))?;
    if FORBIDDEN_REDIRECT_SCHEMES.contains(&parsed.scheme()) {
        return Err(AppError::field(
            "redirect_uris",
            format!("{u:?} uses a scheme that is not allowed for redirects"),
        ));
    }
    if parsed.fragment().is_some() {
        return Err(AppError::field(
            "redirect_uris",
            format!("{u:?} must not contain a fragment"),
        ));
    }
    Ok(())
}

pub async fn register_app(
    svc: &Services,
    name: &str,
    redirect_uris: &str,
    scopes: &str,
    website: Option<&str>,
) -> Result<NewApp, AppError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 200 {
        return Err(AppError::field(
            "client_name",
            "client_name must be 1–200 characters",
        ));
    }
    let uris: Vec<&str> = redirect_uris.split_whitespace().collect();
    if uris.is_empty() {
        return Err(AppError::field(
            "redirect_uris",
            "redirect_uris is required",
        ));
    }
    for u in &uris {
        check_redirect_uri(u)?;
    }
    let scopes = Scopes::parse(scopes).map_err(|e| AppError::field("scopes", e))?;
    // The website becomes a link on the consent page: only an http(s) URL, never a
    // `javascript:` one.
    let website = website.map(str::trim).filter(|w| !w.is_empty());
    if let Some(w) = website
        && !is_web_url(w)
    {
        return Err(AppError::field(
            "website",
            format!("website must be an http or https URL ({w:?} is not)"),
        ));
    }
    let client_secret = crypto::random_token(32);
    let app = OauthApp {
        id: ids::new_id(),
        name: name.to_owned(),
        website: website.map(str::to_owned),
        redirect_uris: uris.join("\n"),
        scopes: scopes.to_string(),
        client_id: crypto::random_token(16),
        client_secret_hash: crypto::sha256_hex(&client_secret),
        created_at: Utc::now().naive_utc(),
    };
    let row = app.clone();
    svc.db
        .write(move |conn| {
            diesel::insert_into(oauth_apps::table)
                .values(&row)
                .execute(conn)?;
            Ok(())
        })
        .await?;
    Ok(NewApp { app, client_secret })
}

pub async fn find_app(svc: &Services, client_id: &str) -> Result<Option<OauthApp>, AppError> {
    let client_id = client_id.to_owned();
    svc.db
        .run(move |conn| {
            Ok(oauth_apps::table
                .filter(oauth_apps::client_id.eq(client_id))
                .first::<OauthApp>(conn)
                .optional()?)
        })
        .await
}

/// The app, if the client id and secret match.
pub async fn authenticate_app(
    svc: &Services,
    client_id: &str,
    client_secret: &str,
) -> Result<OauthApp, AppError> {
    let app = find_app(svc, client_id).await?;
    match app {
        Some(app)
            if crypto::secure_eq(&crypto::sha256_hex(client_secret), &app.client_secret_hash) =>
        {
            Ok(app)
        }
        _ => Err(AppError::unauthorized()),
    }
}

/// What the authorize page needs to show, after checking the request.
pub struct AuthorizeRequest {
    pub app: OauthApp,
    pub redirect_uri: String,
    pub scopes: Scopes,
}

pub async fn check_authorize(
    svc: &Services,
    client_id: &str,
    redirect_uri: &str,
    scope: &str,
    response_type: &str,
) -> Result<AuthorizeRequest, AppError> {
    if response_type != "code" {
        return Err(invalid("response_type must be code"));
    }
    let app = find_app(svc, client_id)
        .await?
        .ok_or_else(|| invalid("unknown client_id"))?;
    if !app.redirect_uris.lines().any(|u| u == redirect_uri) {
        return Err(invalid("redirect_uri is not registered for this app"));
    }
    let scopes = Scopes::parse(scope).map_err(|e| invalid(format!("invalid_scope: {e}")))?;
    let granted = Scopes::parse(&app.scopes).map_err(invalid)?;
    if !scopes.within(&granted) {
        return Err(invalid("the app asks for scopes it did not register"));
    }
    Ok(AuthorizeRequest {
        app,
        redirect_uri: redirect_uri.to_owned(),
        scopes,
    })
}

/// Issues a one-time authorization code for a consenting account.
pub async fn issue_code(
    svc: &Services,
    req: &AuthorizeRequest,
    account: &Account,
    code_challenge: Option<String>,
    code_challenge_method: Option<String>,
) -> Result<String, AppError> {
    if let Some(m) = &code_challenge_method {
        if m != "S256" && m != "plain" {
            return Err(invalid("code_challenge_method must be S256 or plain"));
        }
    }
    let code = crypto::random_token(24);
    let now = Utc::now().naive_utc();
    let row = OauthCode {
        code_hash: crypto::sha256_hex(&code),
        app_id: req.app.id,
        account_id: account.id,
        scopes: req.scopes.to_string(),
        redirect_uri: req.redirect_uri.clone(),
        code_challenge,
        code_challenge_method,
        created_at: now,
        expires_at: now + Duration::minutes(CODE_MINUTES),
    };
    svc.db
        .write(move |conn| {
            diesel::insert_into(oauth_codes::table)
                .values(&row)
                .execute(conn)?;
            Ok(())
        })
        .await?;
    Ok(code)
}

/// A token as handed to a client.
pub struct IssuedToken {
    pub access_token: String,
    pub scopes: String,
    pub created_at: i64,
}

async fn issue_token(
    svc: &Services,
    app_id: i64,
    account_id: Option<i64>,
    scopes: String,
) -> Result<IssuedToken, AppError> {
    let token = crypto::random_token(32);
    let now = Utc::now();
    let row = OauthToken {
        token_hash: crypto::sha256_hex(&token),
        app_id,
        account_id,
        scopes: scopes.clone(),
        created_at: now.naive_utc(),
        revoked_at: None,
    };
    svc.db
        .write(move |conn| {
            diesel::insert_into(oauth_tokens::table)
                .values(&row)
                .execute(conn)?;
            Ok(())
        })
        .await?;
    Ok(IssuedToken {
        access_token: token,
        scopes,
        created_at: now.timestamp(),
    })
}

fn pkce_ok(challenge: &str, method: Option<&str>, verifier: &str) -> bool {
    use base64::Engine;
    match method {
        Some("S256") => {
            let digest = openssl::sha::sha256(verifier.as_bytes());
            let computed = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(digest);
            crypto::secure_eq(&computed, challenge)
        }
        _ => crypto::secure_eq(verifier, challenge),
    }
}

/// `grant_type=authorization_code`: the code is used up whether or not the exchange works.
pub async fn exchange_code(
    svc: &Services,
    app: &OauthApp,
    code: &str,
    redirect_uri: &str,
    code_verifier: Option<&str>,
) -> Result<IssuedToken, AppError> {
    let hash = crypto::sha256_hex(code);
    let row = svc
        .db
        .write(move |conn| {
            let row = oauth_codes::table
                .find(&hash)
                .first::<OauthCode>(conn)
                .optional()?;
            diesel::delete(oauth_codes::table.find(&hash)).execute(conn)?;
            Ok(row)
        })
        .await?
        .ok_or_else(|| invalid("invalid_grant: unknown or used code"))?;
    if row.app_id != app.id
        || row.expires_at < Utc::now().naive_utc()
        || row.redirect_uri != redirect_uri
    {
        return Err(invalid("invalid_grant: the code does not match"));
    }
    if let Some(challenge) = &row.code_challenge {
        let ok = code_verifier
            .is_some_and(|v| pkce_ok(challenge, row.code_challenge_method.as_deref(), v));
        if !ok {
            return Err(invalid("invalid_grant: code_verifier does not match"));
        }
    }
    issue_token(svc, app.id, Some(row.account_id), row.scopes).await
}

/// The scopes a token request asks for, if the app registered them all.
fn requested_scopes(app: &OauthApp, scope: &str) -> Result<Scopes, AppError> {
    let scopes = Scopes::parse(scope).map_err(|e| invalid(format!("invalid_scope: {e}")))?;
    let granted = Scopes::parse(&app.scopes).map_err(invalid)?;
    if !scopes.within(&granted) {
        return Err(invalid("invalid_scope"));
    }
    Ok(scopes)
}

/// `grant_type=password` (Mastodon's is on, as many scripts use it).
pub async fn password_grant(
    svc: &Services,
    app: &OauthApp,
    username: &str,
    password: &str,
    scope: &str,
) -> Result<IssuedToken, AppError> {
    let scopes = requested_scopes(app, scope)?;
    // Mastodon.py logs in with the e-mail as username; we accept the username (and
    // `name@our.domain`).
    let name = username.split('@').next().unwrap_or(username);
    let account = match accounts::authenticate(svc, name, password).await? {
        Ok(account) => account,
        Err(accounts::LoginRefusal::Wrong) => {
            return Err(invalid("invalid_grant: wrong username or password"));
        }
        Err(refusal) => return Err(invalid(format!("invalid_grant: {}", refusal.message()))),
    };
    issue_token(svc, app.id, Some(account.id), scopes.to_string()).await
}

/// `grant_type=client_credentials`: a token for the app itself, no account.
pub async fn client_credentials(
    svc: &Services,
    app: &OauthApp,
    scope: &str,
) -> Result<IssuedToken, AppError> {
    let scopes = requested_scopes(app, scope)?;
    issue_token(svc, app.id, None, scopes.to_string()).await
}

/// A token for an account just signed up through an app (`POST /api/v1/accounts`), with
/// the scopes the app registered, as Mastodon gives.
pub async fn token_for_sign_up(
    svc: &Services,
    app_id: i64,
    account_id: i64,
) -> Result<IssuedToken, AppError> {
    let scopes = svc
        .db
        .run(move |conn| {
            Ok(oauth_apps::table
                .find(app_id)
                .select(oauth_apps::scopes)
                .first::<String>(conn)?)
        })
        .await?;
    issue_token(svc, app_id, Some(account_id), scopes).await
}

/// Revokes a token of this app (revoking an unknown token is not an error, per RFC 7009).
pub async fn revoke(svc: &Services, app: &OauthApp, token: &str) -> Result<(), AppError> {
    let hash = crypto::sha256_hex(token);
    let app_id = app.id;
    svc.db
        .write(move |conn| {
            diesel::update(
                oauth_tokens::table
                    .filter(oauth_tokens::token_hash.eq(hash))
                    .filter(oauth_tokens::app_id.eq(app_id)),
            )
            .set(oauth_tokens::revoked_at.eq(Some(Utc::now().naive_utc())))
            .execute(conn)?;
            Ok(())
        })
        .await
}

/// Who a bearer token speaks for.
#[derive(Debug, Clone)]
pub struct TokenGrant {
    pub account: Option<Account>,
    pub app_id: i64,
    pub scopes: Scopes,
}

/// The grant behind a live token; `None` for unknown or revoked tokens or suspended accounts.
pub async fn lookup_token(svc: &Services, token: &str) -> Result<Option<TokenGrant>, AppError> {
    let hash = crypto::sha256_hex(token);
    svc.db
        .run(move |conn| {
            let Some(row) = oauth_tokens::table
                .find(&hash)
                .filter(oauth_tokens::revoked_at.is_null())
                .first::<OauthToken>(conn)
                .optional()?
            else {
                return Ok(None);
            };
            let account = match row.account_id {
                Some(id) => {
                    let a = accounts_t::table.find(id).first::<Account>(conn)?;
                    if a.suspended_at.is_some() {
                        return Ok(None);
                    }
                    Some(a)
                }
                None => None,
            };
            let scopes =
                Scopes::parse(&row.scopes).map_err(|e| AppError::internal(anyhow::anyhow!(e)))?;
            Ok(Some(TokenGrant {
                account,
                app_id: row.app_id,
                scopes,
            }))
        })
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pkce_s256_matches_rfc7636_example() {
        // RFC 7636 appendix B.
        let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        let challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
        assert!(pkce_ok(challenge, Some("S256"), verifier));
        assert!(!pkce_ok(challenge, Some("S256"), "wrong"));
        assert!(pkce_ok("plain-secret", Some("plain"), "plain-secret"));
    }
}
