//! HTTP signatures, as a library: signing outgoing requests and verifying incoming ones.
//! Nothing here touches the network or the database; the inbox and the delivery queue
//! (issue #5) will call it. See docs/federation.md, "HTTP signatures".
//!
//! Two schemes are spoken:
//!
//! - **draft-cavage-http-signatures-12** (what Mastodon, Pleroma, Misskey, GoToSocial and
//!   Lemmy send): a `Signature` header (or `Authorization: Signature …`) with `keyId`,
//!   `algorithm`, `headers` and `signature`. [`sign_request`], [`parse_signature_header`],
//!   [`verify_request`].
//! - **RFC 9421** HTTP Message Signatures (Fedify signs with it first and falls back to
//!   cavage): `Signature-Input` and `Signature` structured-field dictionaries.
//!   [`sign_request_rfc9421`], [`parse_rfc9421`], [`verify_request_rfc9421`].
//!
//! [`signature_key_id`] tells which scheme a request uses and which key signed it, so the
//! caller can fetch the key before verifying. [`key_id_to_actor`] guesses the key owner's
//! actor id from the key id; the owner must still be confirmed from the key document.
//!
//! Keys are RSA (PEM). Signing uses RSASSA-PKCS1-v1_5 with SHA-256; verification accepts
//! that and, for RFC 9421, RSASSA-PSS with SHA-512.

use std::collections::HashSet;

use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, header};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use chrono::{DateTime, Duration, Utc};
use openssl::hash::MessageDigest;
use openssl::pkey::{Id, PKey, Private, Public};
use openssl::rsa::{Padding, Rsa};
use openssl::sign::{RsaPssSaltlen, Signer, Verifier};
use url::Url;

/// How old a `Date` (or `created`) may be by default: 12 hours, as Mastodon's
/// `EXPIRATION_WINDOW_LIMIT`. Deliveries are retried from queues, so a short window would
/// reject honest retries whose signature is re-used.
pub const DEFAULT_MAX_SKEW: Duration = Duration::hours(12);

/// How far in the future a `Date` (or `created`) may be: 1 hour of clock skew (Mastodon's
/// `CLOCK_SKEW_MARGIN`), or `max_skew` if that is smaller. The same margin is granted past
/// an `expires`.
pub const MAX_FUTURE_SKEW: Duration = Duration::hours(1);

const SIGNATURE: HeaderName = HeaderName::from_static("signature");
const SIGNATURE_INPUT: HeaderName = HeaderName::from_static("signature-input");
const DIGEST: HeaderName = HeaderName::from_static("digest");
const CONTENT_DIGEST: HeaderName = HeaderName::from_static("content-digest");

/// Why a request could not be signed or verified. The messages are meant for the remote
/// server (the inbox answers 401 with them); they name no secrets.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("missing header: {0}")]
    MissingHeader(String),
    #[error("the signature must cover {0}")]
    NotSigned(String),
    #[error("unsupported algorithm: {0}")]
    UnsupportedAlgorithm(String),
    #[error("the digest does not match the body")]
    BadDigest,
    #[error("request time outside the accepted window: {0}")]
    StaleDate(String),
    #[error("signature verification failed")]
    BadSignature,
    #[error("malformed {0}")]
    Malformed(String),
    #[error("invalid key: {0}")]
    InvalidKey(String),
}

use SignatureError as E;

/// What a successful verification establishes: the request was signed by the key `key_id`.
/// `actor_id_hint` is [`key_id_to_actor`] of it, when the key id is a URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedSignature {
    pub key_id: String,
    pub actor_id_hint: Option<Url>,
}

impl VerifiedSignature {
    fn new(key_id: String) -> Self {
        let actor_id_hint = key_id_to_actor(&key_id).ok();
        VerifiedSignature {
            key_id,
            actor_id_hint,
        }
    }
}

/// Which signature scheme a request carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignatureScheme {
    Cavage,
    Rfc9421,
}

/// The scheme and key id of a request's signature, to fetch the key before verifying.
/// A `Signature-Input` header means RFC 9421; otherwise a cavage `Signature` (or
/// `Authorization: Signature …`) header is expected.
pub fn signature_key_id(headers: &HeaderMap) -> Result<(SignatureScheme, String), SignatureError> {
    if headers.contains_key(SIGNATURE_INPUT) {
        Ok((SignatureScheme::Rfc9421, parse_rfc9421(headers)?.key_id))
    } else {
        let raw = cavage_header(headers)?;
        Ok((
            SignatureScheme::Cavage,
            parse_signature_header(&raw)?.key_id,
        ))
    }
}

/// The actor a key id most likely belongs to: the key id without its fragment
/// (`…/users/alice#main-key`, Mastodon and most others), or without a trailing `/main-key`
/// path segment (`…/users/alice/main-key`, GoToSocial). Any other URL is returned as is.
/// A hint only: the key document's `owner` is authoritative.
pub fn key_id_to_actor(key_id: &str) -> Result<Url, SignatureError> {
    let mut url = Url::parse(key_id).map_err(|_| E::Malformed(format!("keyId {key_id:?}")))?;
    if url.fragment().is_some() {
        url.set_fragment(None);
        return Ok(url);
    }
    if url.query().is_none()
        && let Some(actor) = url.path().strip_suffix("/main-key")
        && !actor.is_empty()
    {
        let actor = actor.to_owned();
        url.set_path(&actor);
    }
    Ok(url)
}

// ---------------------------------------------------------------------------------------
// draft-cavage-http-signatures-12
// ---------------------------------------------------------------------------------------

/// A parsed cavage `Signature` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CavageSignature {
    pub key_id: String,
    /// As sent, lowercased; `None` when absent.
    pub algorithm: Option<String>,
    /// The signed header names, lowercased, in order. Absent means `(created)` (draft 12).
    pub headers: Vec<String>,
    pub signature: Vec<u8>,
    pub created: Option<i64>,
    pub expires: Option<i64>,
}

/// Parses a cavage signature: `keyId="…",algorithm="…",headers="…",signature="…"` (the
/// value of `Signature`, or of `Authorization` after `Signature `).
pub fn parse_signature_header(value: &str) -> Result<CavageSignature, SignatureError> {
    let bad = |what: &str| E::Malformed(format!("signature header: {what}"));
    let mut params: Vec<(String, String)> = Vec::new();
    let mut rest = value.trim();
    while !rest.is_empty() {
        let (name, after) = rest
            .split_once('=')
            .ok_or_else(|| bad("expected name=value"))?;
        let name = name.trim().to_ascii_lowercase();
        if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(bad("bad parameter name"));
        }
        let after = after.trim_start();
        let (val, after) = if let Some(quoted) = after.strip_prefix('"') {
            let mut val = String::new();
            let mut chars = quoted.char_indices();
            let mut end = None;
            while let Some((i, c)) = chars.next() {
                match c {
                    '\\' => val.push(chars.next().ok_or_else(|| bad("unterminated string"))?.1),
                    '"' => {
                        end = Some(i);
                        break;
                    }
                    c => val.push(c),
                }
            }
            let end = end.ok_or_else(|| bad("unterminated string"))?;
            (val, &quoted[end + 1..])
        } else {
            let end = after.find(',').unwrap_or(after.len());
            (after[..end].trim().to_owned(), &after[end..])
        };
        if params.iter().any(|(n, _)| *n == name) {
            return Err(bad(&format!("duplicate {name}")));
        }
        params.push((name, val));
        let after = after.trim_start();
        rest = match after.strip_prefix(',') {
            Some(r) => r.trim_start(),
            None if after.is_empty() => after,
            None => return Err(bad("expected a comma")),
        };
    }
    let get = |n: &str| params.iter().find(|(k, _)| k == n).map(|(_, v)| v.as_str());
    let key_id = get("keyid")
        .filter(|k| !k.is_empty())
        .ok_or_else(|| bad("no keyId"))?;
    let signature = get("signature").ok_or_else(|| bad("no signature"))?;
    let signature = B64
        .decode(signature)
        .map_err(|_| bad("signature is not base64"))?;
    let headers = match get("headers") {
        Some(h) => h
            .split_ascii_whitespace()
            .map(str::to_ascii_lowercase)
            .collect(),
        None => vec!["(created)".to_owned()],
    };
    let number = |n: &str| -> Result<Option<i64>, SignatureError> {
        get(n)
            .map(|v| {
                v.parse::<i64>()
                    .ok()
                    .or_else(|| {
                        v.parse::<f64>()
                            .ok()
                            .filter(|f| f.is_finite())
                            .map(|f| f as i64)
                    })
                    .ok_or_else(|| bad(&format!("{n} is not a number")))
            })
            .transpose()
    };
    Ok(CavageSignature {
        key_id: key_id.to_owned(),
        algorithm: get("algorithm").map(str::to_ascii_lowercase),
        headers,
        signature,
        created: number("created")?,
        expires: number("expires")?,
    })
}

/// Signs a request the way Mastodon does: sets `Host`, `Date` and (with a body)
/// `Digest: SHA-256=…`, then adds a `Signature` with `algorithm="rsa-sha256"` over
/// `(request-target) host date digest content-type` (with a body; `content-type` if set)
/// or `(request-target) host date accept` (without; `accept` if set).
pub fn sign_request(
    method: &Method,
    url: &Url,
    headers: &mut HeaderMap,
    body: Option<&[u8]>,
    key_id: &str,
    private_key_pem: &str,
    now: DateTime<Utc>,
) -> Result<(), SignatureError> {
    if key_id.contains(['"', '\\']) || key_id.chars().any(char::is_control) {
        return Err(E::Malformed(format!("keyId {key_id:?}")));
    }
    let key = load_private_key(private_key_pem)?;
    headers.insert(header::HOST, header_value(&authority(url)?)?);
    headers.insert(header::DATE, header_value(&http_date(now))?);
    let mut names = vec!["(request-target)", "host", "date"];
    if let Some(body) = body {
        let digest = format!("SHA-256={}", B64.encode(openssl::sha::sha256(body)));
        headers.insert(DIGEST, header_value(&digest)?);
        names.push("digest");
        if headers.contains_key(header::CONTENT_TYPE) {
            names.push("content-type");
        }
    } else if headers.contains_key(header::ACCEPT) {
        names.push("accept");
    }
    let names: Vec<String> = names.into_iter().map(str::to_owned).collect();
    let signing_string =
        cavage_signing_string(method, &request_target(url), headers, &names, None, None)?;
    let signature = rsa_sign(&key, signing_string.as_bytes())?;
    let value = format!(
        "keyId=\"{key_id}\",algorithm=\"rsa-sha256\",headers=\"{}\",signature=\"{}\"",
        names.join(" "),
        B64.encode(signature)
    );
    headers.insert(SIGNATURE, header_value(&value)?);
    Ok(())
}

/// Verifies a cavage signature made with the key `public_key_pem` (SPKI or PKCS#1 PEM).
///
/// - `algorithm` must be `rsa-sha256`, `hs2019` or absent (all verified as
///   RSASSA-PKCS1-v1_5 with SHA-256, which is what `hs2019` means in the fediverse).
/// - The signed headers must include `(request-target)`, `host`, and `date` or
///   `(created)`; with a body (`body` is `Some`, even empty) also `digest` or
///   `content-digest`, which must match the body (SHA-256 or SHA-512).
/// - `Date` / `created` must be at most `max_skew` old and at most [`MAX_FUTURE_SKEW`]
///   (or `max_skew`, if smaller) in the future; a signed `expires` must not be past by
///   more than that margin.
///
/// `path_and_query` is the request target as received (`/users/alice/inbox`).
/// `headers` must contain `Host` (under HTTP/2, copy the URI authority into it first).
pub fn verify_request(
    method: &Method,
    path_and_query: &str,
    headers: &HeaderMap,
    body: Option<&[u8]>,
    public_key_pem: &str,
    now: DateTime<Utc>,
    max_skew: Duration,
) -> Result<VerifiedSignature, SignatureError> {
    let sig = parse_signature_header(&cavage_header(headers)?)?;
    match sig.algorithm.as_deref() {
        None | Some("rsa-sha256" | "hs2019") => {}
        Some(other) => return Err(E::UnsupportedAlgorithm(other.to_owned())),
    }
    let signed = |n: &str| sig.headers.iter().any(|h| h == n);
    for required in ["(request-target)", "host"] {
        if !signed(required) {
            return Err(E::NotSigned(required.to_owned()));
        }
    }
    if !signed("date") && !signed("(created)") {
        return Err(E::NotSigned("date".to_owned()));
    }
    if body.is_some() && !signed("digest") && !signed("content-digest") {
        return Err(E::NotSigned("digest".to_owned()));
    }
    let signing_string = cavage_signing_string(
        method,
        path_and_query,
        headers,
        &sig.headers,
        sig.created,
        sig.expires,
    )?;

    if signed("date") {
        let date = required_header(headers, "date")?;
        let date = DateTime::parse_from_rfc2822(&date)
            .map_err(|_| E::Malformed(format!("date {date:?}")))?;
        check_window("date", date.with_timezone(&Utc), now, max_skew)?;
    }
    if signed("(created)")
        && let Some(created) = sig.created
    {
        check_window("created", timestamp(created)?, now, max_skew)?;
    }
    if signed("(expires)")
        && let Some(expires) = sig.expires
    {
        check_expires(timestamp(expires)?, now, max_skew)?;
    }

    if let Some(body) = body {
        if signed("digest") {
            check_digest(&required_header(headers, "digest")?, body)?;
        }
        if signed("content-digest") {
            check_content_digest(&required_header(headers, "content-digest")?, body)?;
        }
    }

    let key = load_public_key(public_key_pem)?;
    verify_rsa(
        &key,
        RsaAlg::Pkcs1Sha256,
        signing_string.as_bytes(),
        &sig.signature,
    )?;
    Ok(VerifiedSignature::new(sig.key_id))
}

/// The cavage signature header: `Signature`, else `Authorization: Signature …`.
fn cavage_header(headers: &HeaderMap) -> Result<String, SignatureError> {
    if let Some(v) = joined_header(headers, "signature")? {
        return Ok(v);
    }
    if let Some(v) = joined_header(headers, "authorization")?
        && let Some((scheme, rest)) = v.split_once(' ')
        && scheme.eq_ignore_ascii_case("signature")
    {
        return Ok(rest.to_owned());
    }
    Err(E::MissingHeader("signature".to_owned()))
}

fn cavage_signing_string(
    method: &Method,
    path_and_query: &str,
    headers: &HeaderMap,
    names: &[String],
    created: Option<i64>,
    expires: Option<i64>,
) -> Result<String, SignatureError> {
    let pseudo = |name: &str, v: Option<i64>| {
        v.map(|v| v.to_string())
            .ok_or_else(|| E::Malformed(format!("signature: {name} is signed but has no value")))
    };
    let mut lines = Vec::with_capacity(names.len());
    for name in names {
        let value = match name.as_str() {
            "(request-target)" => {
                format!("{} {path_and_query}", method.as_str().to_ascii_lowercase())
            }
            "(created)" => pseudo("(created)", created)?,
            "(expires)" => pseudo("(expires)", expires)?,
            n => required_header(headers, n)?,
        };
        lines.push(format!("{name}: {value}"));
    }
    Ok(lines.join("\n"))
}

// ---------------------------------------------------------------------------------------
// RFC 9421 HTTP Message Signatures
// ---------------------------------------------------------------------------------------

/// One RFC 9421 signature of a request: a `Signature-Input` member and its `Signature`.
#[derive(Debug, Clone)]
pub struct Rfc9421Signature {
    pub label: String,
    pub key_id: String,
    /// The `alg` parameter; `None` when absent.
    pub algorithm: Option<String>,
    pub created: Option<i64>,
    pub expires: Option<i64>,
    /// The covered component identifiers, as serialized (`"@method"`, `"date"`, …).
    pub covered: Vec<String>,
    components: Vec<Item>,
    signature_params: String,
    signature: Vec<u8>,
}

/// Parses `Signature-Input` and `Signature` and returns the first signature (in
/// `Signature-Input` order) that has a value in `Signature` and a `keyid`.
pub fn parse_rfc9421(headers: &HeaderMap) -> Result<Rfc9421Signature, SignatureError> {
    let input = joined_header(headers, "signature-input")?
        .ok_or_else(|| E::MissingHeader("signature-input".to_owned()))?;
    let values = joined_header(headers, "signature")?
        .ok_or_else(|| E::MissingHeader("signature".to_owned()))?;
    let input = Parser::dictionary(&input)
        .map_err(|e| E::Malformed(format!("signature-input header: {e}")))?;
    let values =
        Parser::dictionary(&values).map_err(|e| E::Malformed(format!("signature header: {e}")))?;
    for (label, member) in input {
        let Member::Inner(components, params) = member else {
            continue;
        };
        let Some(Member::Item(Item {
            bare: Bare::Bytes(signature),
            ..
        })) = values.iter().find(|(l, _)| *l == label).map(|(_, m)| m)
        else {
            continue;
        };
        let string = |name: &str| {
            params
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| match v {
                    Bare::Str(s) => Ok(s.clone()),
                    _ => Err(E::Malformed(format!(
                        "signature-input: {name} is not a string"
                    ))),
                })
        };
        let integer = |name: &str| {
            params
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| match v {
                    Bare::Int(i) => Ok(*i),
                    _ => Err(E::Malformed(format!(
                        "signature-input: {name} is not an integer"
                    ))),
                })
        };
        let Some(key_id) = string("keyid").transpose()? else {
            continue;
        };
        return Ok(Rfc9421Signature {
            key_id,
            algorithm: string("alg").transpose()?,
            created: integer("created").transpose()?,
            expires: integer("expires").transpose()?,
            covered: components.iter().map(Item::serialize).collect(),
            signature_params: serialize_inner_list(&components, &params),
            signature: signature.clone(),
            components,
            label,
        });
    }
    Err(E::Malformed(
        "signature-input: no signature with a keyid and a value".to_owned(),
    ))
}

/// Signs a request with RFC 9421 as Fedify does: sets `Host`, `Date` and (with a body)
/// `Content-Digest: sha-256=:…:`, then adds `Signature-Input: sig1=("@method"
/// "@target-uri" "@authority" "host" "date" ["content-digest"]);alg="rsa-v1_5-sha256";
/// keyid="…";created=…` and `Signature: sig1=:…:`.
pub fn sign_request_rfc9421(
    method: &Method,
    url: &Url,
    headers: &mut HeaderMap,
    body: Option<&[u8]>,
    key_id: &str,
    private_key_pem: &str,
    now: DateTime<Utc>,
) -> Result<(), SignatureError> {
    if !key_id.bytes().all(|b| (0x20..=0x7e).contains(&b)) {
        return Err(E::Malformed(format!("keyId {key_id:?}")));
    }
    let key = load_private_key(private_key_pem)?;
    headers.insert(header::HOST, header_value(&authority(url)?)?);
    headers.insert(header::DATE, header_value(&http_date(now))?);
    let mut names = vec!["@method", "@target-uri", "@authority", "host", "date"];
    if let Some(body) = body {
        let digest = format!("sha-256=:{}:", B64.encode(openssl::sha::sha256(body)));
        headers.insert(CONTENT_DIGEST, header_value(&digest)?);
        names.push("content-digest");
    }
    let components: Vec<Item> = names
        .into_iter()
        .map(|n| Item {
            bare: Bare::Str(n.to_owned()),
            params: Vec::new(),
        })
        .collect();
    let params = vec![
        ("alg".to_owned(), Bare::Str("rsa-v1_5-sha256".to_owned())),
        ("keyid".to_owned(), Bare::Str(key_id.to_owned())),
        ("created".to_owned(), Bare::Int(now.timestamp())),
    ];
    let signature_params = serialize_inner_list(&components, &params);
    let base = rfc9421_signature_base(method, url, headers, &components, &signature_params)?;
    let signature = rsa_sign(&key, base.as_bytes())?;
    headers.insert(
        SIGNATURE_INPUT,
        header_value(&format!("sig1={signature_params}"))?,
    );
    headers.insert(
        SIGNATURE,
        header_value(&format!("sig1=:{}:", B64.encode(signature)))?,
    );
    Ok(())
}

/// Verifies the RFC 9421 signature [`parse_rfc9421`] picks, made with `public_key_pem`.
///
/// - `alg` `rsa-v1_5-sha256` or `rsa-pss-sha512`; when absent both are tried.
/// - The covered components must include `@method`, and `@target-uri` or an authority
///   (`@authority` or `host`) with a path (`@path` or `@request-target`); with a body also
///   `content-digest` (or `digest`), which must match the body.
/// - `created` is required and checked like cavage's `Date` (see [`verify_request`]);
///   `expires`, when present, must not be past.
/// - Supported components: `@method`, `@target-uri`, `@authority`, `@scheme`, `@path`,
///   `@query`, `@request-target` and header fields without parameters.
///
/// `target_uri` is the full URL of the request as the sender addressed it
/// (`https://our.domain/users/alice/inbox`).
pub fn verify_request_rfc9421(
    method: &Method,
    target_uri: &Url,
    headers: &HeaderMap,
    body: Option<&[u8]>,
    public_key_pem: &str,
    now: DateTime<Utc>,
    max_skew: Duration,
) -> Result<VerifiedSignature, SignatureError> {
    let sig = parse_rfc9421(headers)?;
    let algs: &[RsaAlg] = match sig.algorithm.as_deref() {
        Some("rsa-v1_5-sha256") => &[RsaAlg::Pkcs1Sha256],
        Some("rsa-pss-sha512") => &[RsaAlg::PssSha512],
        None => &[RsaAlg::Pkcs1Sha256, RsaAlg::PssSha512],
        Some(other) => return Err(E::UnsupportedAlgorithm(other.to_owned())),
    };
    let covers = |n: &str| sig.covered.iter().any(|c| *c == format!("\"{n}\""));
    if !covers("@method") {
        return Err(E::NotSigned("@method".to_owned()));
    }
    if !covers("@target-uri") {
        if !covers("@authority") && !covers("host") {
            return Err(E::NotSigned("@target-uri or @authority".to_owned()));
        }
        if !covers("@path") && !covers("@request-target") {
            return Err(E::NotSigned("@target-uri or @path".to_owned()));
        }
    }
    if body.is_some() && !covers("content-digest") && !covers("digest") {
        return Err(E::NotSigned("content-digest".to_owned()));
    }
    let base = rfc9421_signature_base(
        method,
        target_uri,
        headers,
        &sig.components,
        &sig.signature_params,
    )?;

    let created = sig
        .created
        .ok_or_else(|| E::Malformed("signature-input: no created".to_owned()))?;
    check_window("created", timestamp(created)?, now, max_skew)?;
    if let Some(expires) = sig.expires {
        check_expires(timestamp(expires)?, now, max_skew)?;
    }

    if let Some(body) = body {
        if covers("content-digest") {
            check_content_digest(&required_header(headers, "content-digest")?, body)?;
        }
        if covers("digest") {
            check_digest(&required_header(headers, "digest")?, body)?;
        }
    }

    let key = load_public_key(public_key_pem)?;
    if algs
        .iter()
        .any(|alg| verify_rsa(&key, *alg, base.as_bytes(), &sig.signature).is_ok())
    {
        Ok(VerifiedSignature::new(sig.key_id))
    } else {
        Err(E::BadSignature)
    }
}

/// The signature base of RFC 9421 §2.5: one line per covered component, then
/// `"@signature-params": …`.
fn rfc9421_signature_base(
    method: &Method,
    url: &Url,
    headers: &HeaderMap,
    components: &[Item],
    signature_params: &str,
) -> Result<String, SignatureError> {
    let mut base = String::new();
    let mut seen = HashSet::new();
    for component in components {
        let Bare::Str(name) = &component.bare else {
            return Err(E::Malformed(
                "signature-input: a component is not a string".to_owned(),
            ));
        };
        let identifier = component.serialize();
        if !component.params.is_empty() {
            return Err(E::Malformed(format!(
                "signature-input: unsupported component parameters {identifier}"
            )));
        }
        if *name != name.to_ascii_lowercase() || !seen.insert(identifier.clone()) {
            return Err(E::Malformed(format!(
                "signature-input: bad or repeated component {identifier}"
            )));
        }
        let value = match name.as_str() {
            "@method" => method.as_str().to_owned(),
            "@target-uri" => url.as_str().to_owned(),
            "@authority" => authority(url)?,
            "@scheme" => url.scheme().to_owned(),
            "@path" => url.path().to_owned(),
            "@query" => format!("?{}", url.query().unwrap_or("")),
            "@request-target" => request_target(url),
            n if n.starts_with('@') => {
                return Err(E::Malformed(format!(
                    "signature-input: unsupported component {identifier}"
                )));
            }
            n => required_header(headers, n)?,
        };
        base.push_str(&identifier);
        base.push_str(": ");
        base.push_str(&value);
        base.push('\n');
    }
    base.push_str("\"@signature-params\": ");
    base.push_str(signature_params);
    Ok(base)
}

// ---------------------------------------------------------------------------------------
// Structured fields (RFC 8941), the subset RFC 9421 and RFC 9530 need
// ---------------------------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq)]
enum Bare {
    Int(i64),
    /// Kept as written.
    Dec(String),
    Str(String),
    Token(String),
    Bytes(Vec<u8>),
    Bool(bool),
}

type Params = Vec<(String, Bare)>;

#[derive(Debug, Clone, PartialEq)]
struct Item {
    bare: Bare,
    params: Params,
}

#[derive(Debug, Clone, PartialEq)]
enum Member {
    Item(Item),
    Inner(Vec<Item>, Params),
}

impl Bare {
    fn serialize(&self) -> String {
        match self {
            Bare::Int(i) => i.to_string(),
            Bare::Dec(d) | Bare::Token(d) => d.clone(),
            Bare::Str(s) => {
                let mut out = String::with_capacity(s.len() + 2);
                out.push('"');
                for c in s.chars() {
                    if c == '"' || c == '\\' {
                        out.push('\\');
                    }
                    out.push(c);
                }
                out.push('"');
                out
            }
            Bare::Bytes(b) => format!(":{}:", B64.encode(b)),
            Bare::Bool(b) => if *b { "?1" } else { "?0" }.to_owned(),
        }
    }
}

fn serialize_params(params: &Params) -> String {
    let mut out = String::new();
    for (key, value) in params {
        out.push(';');
        out.push_str(key);
        if *value != Bare::Bool(true) {
            out.push('=');
            out.push_str(&value.serialize());
        }
    }
    out
}

impl Item {
    fn serialize(&self) -> String {
        self.bare.serialize() + &serialize_params(&self.params)
    }
}

fn serialize_inner_list(items: &[Item], params: &Params) -> String {
    let items: Vec<String> = items.iter().map(Item::serialize).collect();
    format!("({}){}", items.join(" "), serialize_params(params))
}

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
}

impl Parser<'_> {
    fn dictionary(input: &str) -> Result<Vec<(String, Member)>, &'static str> {
        let mut p = Parser {
            s: input.trim().as_bytes(),
            i: 0,
        };
        let mut out: Vec<(String, Member)> = Vec::new();
        while p.i < p.s.len() {
            let key = p.key()?;
            let member = if p.eat(b'=') {
                if p.peek() == Some(b'(') {
                    p.inner_list()?
                } else {
                    Member::Item(p.item()?)
                }
            } else {
                Member::Item(Item {
                    bare: Bare::Bool(true),
                    params: p.params()?,
                })
            };
            // Later duplicates override earlier ones (RFC 8941 §4.2.2).
            out.retain(|(k, _)| *k != key);
            out.push((key, member));
            p.skip(b" \t");
            if p.i == p.s.len() {
                break;
            }
            if !p.eat(b',') {
                return Err("expected a comma");
            }
            p.skip(b" \t");
            if p.i == p.s.len() {
                return Err("trailing comma");
            }
        }
        Ok(out)
    }

    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    fn eat(&mut self, c: u8) -> bool {
        if self.peek() == Some(c) {
            self.i += 1;
            true
        } else {
            false
        }
    }

    fn skip(&mut self, set: &[u8]) {
        while self.peek().is_some_and(|c| set.contains(&c)) {
            self.i += 1;
        }
    }

    fn take_while(&mut self, f: impl Fn(u8) -> bool) -> &str {
        let start = self.i;
        while self.peek().is_some_and(&f) {
            self.i += 1;
        }
        // Only ASCII is ever accepted by the callers' predicates.
        std::str::from_utf8(&self.s[start..self.i]).unwrap_or_default()
    }

    fn key(&mut self) -> Result<String, &'static str> {
        match self.peek() {
            Some(c) if c.is_ascii_lowercase() || c == b'*' => {}
            _ => return Err("bad key"),
        }
        Ok(self
            .take_while(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || b"_-.*".contains(&c))
            .to_owned())
    }

    fn params(&mut self) -> Result<Params, &'static str> {
        let mut params: Params = Vec::new();
        while self.eat(b';') {
            self.skip(b" ");
            let key = self.key()?;
            let value = if self.eat(b'=') {
                self.bare()?
            } else {
                Bare::Bool(true)
            };
            params.retain(|(k, _)| *k != key);
            params.push((key, value));
        }
        Ok(params)
    }

    fn item(&mut self) -> Result<Item, &'static str> {
        let bare = self.bare()?;
        Ok(Item {
            bare,
            params: self.params()?,
        })
    }

    fn inner_list(&mut self) -> Result<Member, &'static str> {
        if !self.eat(b'(') {
            return Err("expected (");
        }
        let mut items = Vec::new();
        loop {
            self.skip(b" ");
            if self.eat(b')') {
                break;
            }
            items.push(self.item()?);
            match self.peek() {
                Some(b' ' | b')') => {}
                _ => return Err("bad inner list"),
            }
        }
        Ok(Member::Inner(items, self.params()?))
    }

    fn bare(&mut self) -> Result<Bare, &'static str> {
        match self.peek() {
            Some(b'-' | b'0'..=b'9') => {
                let negative = self.eat(b'-');
                let digits = self
                    .take_while(|c| c.is_ascii_digit() || c == b'.')
                    .to_owned();
                if digits.is_empty() || digits.len() > 16 {
                    return Err("bad number");
                }
                let sign = if negative { "-" } else { "" };
                if digits.contains('.') {
                    Ok(Bare::Dec(format!("{sign}{digits}")))
                } else {
                    let n: i64 = digits.parse().map_err(|_| "bad integer")?;
                    Ok(Bare::Int(if negative { -n } else { n }))
                }
            }
            Some(b'"') => {
                self.i += 1;
                let mut s = String::new();
                loop {
                    match self.peek() {
                        None => return Err("unterminated string"),
                        Some(b'"') => {
                            self.i += 1;
                            return Ok(Bare::Str(s));
                        }
                        Some(b'\\') => {
                            self.i += 1;
                            match self.peek() {
                                Some(c @ (b'"' | b'\\')) => s.push(c as char),
                                _ => return Err("bad escape"),
                            }
                            self.i += 1;
                        }
                        Some(c @ 0x20..=0x7e) => {
                            s.push(c as char);
                            self.i += 1;
                        }
                        Some(_) => return Err("bad string character"),
                    }
                }
            }
            Some(b':') => {
                self.i += 1;
                let b64 = self
                    .take_while(|c| c.is_ascii_alphanumeric() || b"+/=".contains(&c))
                    .to_owned();
                if !self.eat(b':') {
                    return Err("unterminated byte sequence");
                }
                B64.decode(b64).map(Bare::Bytes).map_err(|_| "bad base64")
            }
            Some(b'?') => {
                self.i += 1;
                let value = match self.peek() {
                    Some(b'1') => true,
                    Some(b'0') => false,
                    _ => return Err("bad boolean"),
                };
                self.i += 1;
                Ok(Bare::Bool(value))
            }
            Some(c) if c.is_ascii_alphabetic() || c == b'*' => {
                let token = self
                    .take_while(|c| c.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~:/".contains(&c));
                Ok(Bare::Token(token.to_owned()))
            }
            _ => Err("bad item"),
        }
    }
}

// ---------------------------------------------------------------------------------------
// Shared helpers: headers, time, digests, keys
// ---------------------------------------------------------------------------------------

/// All values of a header joined with `, `, each trimmed; `None` when absent.
fn joined_header(headers: &HeaderMap, name: &str) -> Result<Option<String>, SignatureError> {
    let mut out: Option<String> = None;
    for value in headers.get_all(name) {
        let value = value
            .to_str()
            .map_err(|_| E::Malformed(format!("{name} header")))?
            .trim();
        match &mut out {
            None => out = Some(value.to_owned()),
            Some(o) => {
                o.push_str(", ");
                o.push_str(value);
            }
        }
    }
    Ok(out)
}

fn required_header(headers: &HeaderMap, name: &str) -> Result<String, SignatureError> {
    joined_header(headers, name)?.ok_or_else(|| E::MissingHeader(name.to_owned()))
}

fn header_value(value: &str) -> Result<HeaderValue, SignatureError> {
    HeaderValue::from_str(value).map_err(|_| E::Malformed(format!("header value {value:?}")))
}

/// `host[:port]` of a URL, the port only when not the scheme's default.
fn authority(url: &Url) -> Result<String, SignatureError> {
    let host = url
        .host_str()
        .ok_or_else(|| E::Malformed(format!("url {url} has no host")))?
        .to_ascii_lowercase();
    Ok(match url.port() {
        Some(port) => format!("{host}:{port}"),
        None => host,
    })
}

fn request_target(url: &Url) -> String {
    match url.query() {
        Some(q) => format!("{}?{q}", url.path()),
        None => url.path().to_owned(),
    }
}

/// IMF-fixdate (RFC 9110 §5.6.7): `Tue, 20 Apr 2021 02:07:55 GMT`.
fn http_date(t: DateTime<Utc>) -> String {
    t.format("%a, %d %b %Y %H:%M:%S GMT").to_string()
}

fn timestamp(secs: i64) -> Result<DateTime<Utc>, SignatureError> {
    DateTime::from_timestamp(secs, 0).ok_or_else(|| E::Malformed(format!("timestamp {secs}")))
}

fn check_window(
    what: &str,
    t: DateTime<Utc>,
    now: DateTime<Utc>,
    max_skew: Duration,
) -> Result<(), SignatureError> {
    if t < now - max_skew {
        return Err(E::StaleDate(format!(
            "{what} is more than {} minutes old",
            max_skew.num_minutes()
        )));
    }
    let future = max_skew.min(MAX_FUTURE_SKEW);
    if t > now + future {
        return Err(E::StaleDate(format!(
            "{what} is more than {} minutes in the future",
            future.num_minutes()
        )));
    }
    Ok(())
}

fn check_expires(
    expires: DateTime<Utc>,
    now: DateTime<Utc>,
    max_skew: Duration,
) -> Result<(), SignatureError> {
    if expires + max_skew.min(MAX_FUTURE_SKEW) < now {
        return Err(E::StaleDate("the signature has expired".to_owned()));
    }
    Ok(())
}

fn body_digest(algorithm: &str, body: &[u8]) -> Option<Vec<u8>> {
    match algorithm.to_ascii_lowercase().as_str() {
        "sha-256" => Some(openssl::sha::sha256(body).to_vec()),
        "sha-512" => Some(openssl::sha::sha512(body).to_vec()),
        _ => None,
    }
}

/// Compares `(algorithm, digest)` pairs with the body: every supported one must match,
/// and there must be at least one.
fn compare_digests(
    pairs: impl IntoIterator<Item = (String, Vec<u8>)>,
    body: &[u8],
) -> Result<(), SignatureError> {
    let mut checked = Vec::new();
    let mut unsupported = Vec::new();
    for (algorithm, digest) in pairs {
        match body_digest(&algorithm, body) {
            Some(expected) if expected == digest => checked.push(algorithm),
            Some(_) => return Err(E::BadDigest),
            None => unsupported.push(algorithm),
        }
    }
    if checked.is_empty() {
        return Err(E::UnsupportedAlgorithm(format!(
            "digest {}",
            unsupported.join(", ")
        )));
    }
    Ok(())
}

/// `Digest: SHA-256=<base64>` (RFC 3230; several comma-separated allowed).
fn check_digest(value: &str, body: &[u8]) -> Result<(), SignatureError> {
    let mut pairs = Vec::new();
    for part in value.split(',') {
        let (algorithm, digest) = part
            .trim()
            .split_once('=')
            .ok_or_else(|| E::Malformed("digest header".to_owned()))?;
        let digest = B64
            .decode(digest.trim())
            .map_err(|_| E::Malformed("digest header: not base64".to_owned()))?;
        pairs.push((algorithm.trim().to_owned(), digest));
    }
    compare_digests(pairs, body)
}

/// `Content-Digest: sha-256=:<base64>:` (RFC 9530).
fn check_content_digest(value: &str, body: &[u8]) -> Result<(), SignatureError> {
    let members = Parser::dictionary(value)
        .map_err(|e| E::Malformed(format!("content-digest header: {e}")))?;
    let mut pairs = Vec::new();
    for (algorithm, member) in members {
        match member {
            Member::Item(Item {
                bare: Bare::Bytes(digest),
                ..
            }) => pairs.push((algorithm, digest)),
            _ => {
                return Err(E::Malformed(
                    "content-digest header: not a byte sequence".to_owned(),
                ));
            }
        }
    }
    compare_digests(pairs, body)
}

/// Parsed keys by their PEM text. OpenSSL 3 decodes a PEM key through its provider
/// machinery (global locks, name lookups): measured at over half the CPU of verifying an
/// activity, so each key is decoded once. Bounded: emptied when full.
struct KeyCache<T> {
    keys: std::sync::LazyLock<std::sync::Mutex<std::collections::HashMap<String, PKey<T>>>>,
}

const KEY_CACHE_SIZE: usize = 4096;

impl<T> KeyCache<T> {
    const fn new() -> KeyCache<T> {
        KeyCache {
            keys: std::sync::LazyLock::new(Default::default),
        }
    }

    fn get_or_load(
        &self,
        pem: &str,
        load: impl FnOnce(&str) -> Result<PKey<T>, SignatureError>,
    ) -> Result<PKey<T>, SignatureError> {
        let pem = pem.trim();
        if let Some(key) = self.keys.lock().ok().and_then(|m| m.get(pem).cloned()) {
            return Ok(key);
        }
        let key = load(pem)?;
        if let Ok(mut m) = self.keys.lock() {
            if m.len() >= KEY_CACHE_SIZE {
                m.clear();
            }
            m.insert(pem.to_owned(), key.clone());
        }
        Ok(key)
    }
}

static PUBLIC_KEYS: KeyCache<Public> = KeyCache::new();
static PRIVATE_KEYS: KeyCache<Private> = KeyCache::new();

fn load_public_key(pem: &str) -> Result<PKey<Public>, SignatureError> {
    PUBLIC_KEYS.get_or_load(pem, decode_public_key)
}

fn load_private_key(pem: &str) -> Result<PKey<Private>, SignatureError> {
    PRIVATE_KEYS.get_or_load(pem, decode_private_key)
}

/// An RSA public key, SPKI (`BEGIN PUBLIC KEY`, what actors publish) or PKCS#1
/// (`BEGIN RSA PUBLIC KEY`).
fn decode_public_key(pem: &str) -> Result<PKey<Public>, SignatureError> {
    let pem = pem.trim().as_bytes();
    let key = if pem.starts_with(b"-----BEGIN RSA PUBLIC KEY-----") {
        Rsa::public_key_from_pem_pkcs1(pem).and_then(PKey::from_rsa)
    } else {
        PKey::public_key_from_pem(pem)
    }
    .map_err(|_| E::InvalidKey("not a PEM public key".to_owned()))?;
    if !matches!(key.id(), Id::RSA | Id::RSA_PSS) {
        return Err(E::InvalidKey("not an RSA key".to_owned()));
    }
    Ok(key)
}

fn decode_private_key(pem: &str) -> Result<PKey<Private>, SignatureError> {
    let key = PKey::private_key_from_pem(pem.trim().as_bytes())
        .map_err(|_| E::InvalidKey("not a PEM private key".to_owned()))?;
    if key.id() != Id::RSA {
        return Err(E::InvalidKey("not an RSA key".to_owned()));
    }
    Ok(key)
}

fn rsa_sign(key: &PKey<Private>, data: &[u8]) -> Result<Vec<u8>, SignatureError> {
    let sign = || -> Result<Vec<u8>, openssl::error::ErrorStack> {
        let mut signer = Signer::new(MessageDigest::sha256(), key)?;
        signer.set_rsa_padding(Padding::PKCS1)?;
        signer.update(data)?;
        signer.sign_to_vec()
    };
    sign().map_err(|e| E::InvalidKey(format!("signing failed: {e}")))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RsaAlg {
    /// RSASSA-PKCS1-v1_5 with SHA-256 (`rsa-sha256`, `hs2019`, `rsa-v1_5-sha256`).
    Pkcs1Sha256,
    /// RSASSA-PSS with SHA-512, MGF1 SHA-512, 64-byte salt (`rsa-pss-sha512`).
    PssSha512,
}

fn verify_rsa(
    key: &PKey<Public>,
    alg: RsaAlg,
    data: &[u8],
    signature: &[u8],
) -> Result<(), SignatureError> {
    let verify = || -> Result<bool, openssl::error::ErrorStack> {
        let mut verifier = match alg {
            RsaAlg::Pkcs1Sha256 => {
                let mut v = Verifier::new(MessageDigest::sha256(), key)?;
                v.set_rsa_padding(Padding::PKCS1)?;
                v
            }
            RsaAlg::PssSha512 => {
                let mut v = Verifier::new(MessageDigest::sha512(), key)?;
                v.set_rsa_padding(Padding::PKCS1_PSS)?;
                v.set_rsa_mgf1_md(MessageDigest::sha512())?;
                v.set_rsa_pss_saltlen(RsaPssSaltlen::DIGEST_LENGTH)?;
                v
            }
        };
        verifier.update(data)?;
        verifier.verify(signature)
    };
    match verify() {
        Ok(true) => Ok(()),
        _ => Err(E::BadSignature),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::OnceLock;

    /// Two RSA 2048 key pairs (private PKCS#8 PEM, public SPKI PEM), made once per run.
    fn keys(n: usize) -> &'static (String, String) {
        static KEYS: OnceLock<Vec<(String, String)>> = OnceLock::new();
        &KEYS.get_or_init(|| {
            (0..2)
                .map(|_| {
                    let key = PKey::from_rsa(Rsa::generate(2048).unwrap()).unwrap();
                    let private = String::from_utf8(key.private_key_to_pem_pkcs8().unwrap());
                    let public = String::from_utf8(key.public_key_to_pem().unwrap());
                    (private.unwrap(), public.unwrap())
                })
                .collect()
        })[n]
    }

    const KEY_ID: &str = "https://remote.example/users/alice#main-key";
    const BODY: &[u8] = br#"{"type":"Follow","actor":"https://remote.example/users/alice"}"#;

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-03-01T12:00:00Z")
            .unwrap()
            .with_timezone(&Utc)
    }

    fn inbox() -> Url {
        Url::parse("https://tidings.example/users/bob/inbox").unwrap()
    }

    fn signed_post(key_id: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/activity+json"),
        );
        sign_request(
            &Method::POST,
            &inbox(),
            &mut headers,
            Some(BODY),
            key_id,
            &keys(0).0,
            now(),
        )
        .unwrap();
        headers
    }

    fn verify_post(
        headers: &HeaderMap,
        body: &[u8],
        path: &str,
    ) -> Result<VerifiedSignature, SignatureError> {
        verify_request(
            &Method::POST,
            path,
            headers,
            Some(body),
            &keys(0).1,
            now(),
            DEFAULT_MAX_SKEW,
        )
    }

    /// Signs `names` by hand (to make signatures `sign_request` would not), replacing
    /// any `Signature` header. `extra` is appended to the header's parameters.
    fn hand_sign(
        headers: &mut HeaderMap,
        method: &Method,
        target: &str,
        names: &str,
        algorithm: Option<&str>,
        created: Option<i64>,
        expires: Option<i64>,
    ) {
        let names: Vec<String> = names.split(' ').map(str::to_owned).collect();
        let string =
            cavage_signing_string(method, target, headers, &names, created, expires).unwrap();
        let key = load_private_key(&keys(0).0).unwrap();
        let signature = B64.encode(rsa_sign(&key, string.as_bytes()).unwrap());
        let mut value = format!("keyId=\"{KEY_ID}\"");
        if let Some(algorithm) = algorithm {
            value += &format!(",algorithm=\"{algorithm}\"");
        }
        if let Some(created) = created {
            value += &format!(",created={created}");
        }
        if let Some(expires) = expires {
            value += &format!(",expires={expires}");
        }
        value += &format!(",headers=\"{}\",signature=\"{signature}\"", names.join(" "));
        headers.insert(SIGNATURE, HeaderValue::from_str(&value).unwrap());
    }

    // --- cavage ---------------------------------------------------------------------

    #[test]
    fn cavage_post_round_trip_sets_mastodon_headers() {
        let headers = signed_post(KEY_ID);
        assert_eq!(headers["host"], "tidings.example");
        assert_eq!(headers["date"], "Sun, 01 Mar 2026 12:00:00 GMT");
        let digest = format!("SHA-256={}", B64.encode(openssl::sha::sha256(BODY)));
        assert_eq!(headers["digest"], digest.as_str());
        let sig = parse_signature_header(headers["signature"].to_str().unwrap()).unwrap();
        assert_eq!(sig.key_id, KEY_ID);
        assert_eq!(sig.algorithm.as_deref(), Some("rsa-sha256"));
        assert_eq!(
            sig.headers,
            ["(request-target)", "host", "date", "digest", "content-type"]
        );
        let verified = verify_post(&headers, BODY, "/users/bob/inbox").unwrap();
        assert_eq!(verified.key_id, KEY_ID);
        assert_eq!(
            verified.actor_id_hint.unwrap().as_str(),
            "https://remote.example/users/alice"
        );
    }

    #[test]
    fn cavage_digest_of_known_body() {
        let mut headers = HeaderMap::new();
        sign_request(
            &Method::POST,
            &inbox(),
            &mut headers,
            Some(b"hello"),
            KEY_ID,
            &keys(0).0,
            now(),
        )
        .unwrap();
        assert_eq!(
            headers["digest"],
            "SHA-256=LPJNul+wow4m6DsqxbninhsWHlwfp0JecwQzYpOLmCQ="
        );
    }

    #[test]
    fn cavage_get_round_trip_with_query_and_port() {
        let url = Url::parse("https://tidings.example:8443/users/bob/outbox?page=true").unwrap();
        let mut headers = HeaderMap::new();
        headers.insert(
            header::ACCEPT,
            HeaderValue::from_static("application/activity+json"),
        );
        sign_request(
            &Method::GET,
            &url,
            &mut headers,
            None,
            KEY_ID,
            &keys(0).0,
            now(),
        )
        .unwrap();
        assert_eq!(headers["host"], "tidings.example:8443");
        assert!(!headers.contains_key("digest"));
        let sig = parse_signature_header(headers["signature"].to_str().unwrap()).unwrap();
        assert_eq!(sig.headers, ["(request-target)", "host", "date", "accept"]);
        let verify = |path: &str| {
            verify_request(
                &Method::GET,
                path,
                &headers,
                None,
                &keys(0).1,
                now(),
                DEFAULT_MAX_SKEW,
            )
        };
        assert!(verify("/users/bob/outbox?page=true").is_ok());
        assert_eq!(
            verify("/users/bob/outbox"),
            Err(SignatureError::BadSignature)
        );
        // Without Accept, only the three required headers are signed.
        let mut headers = HeaderMap::new();
        sign_request(
            &Method::GET,
            &url,
            &mut headers,
            None,
            KEY_ID,
            &keys(0).0,
            now(),
        )
        .unwrap();
        let sig = parse_signature_header(headers["signature"].to_str().unwrap()).unwrap();
        assert_eq!(sig.headers, ["(request-target)", "host", "date"]);
    }

    #[test]
    fn cavage_tampered_body_is_bad_digest() {
        let headers = signed_post(KEY_ID);
        assert_eq!(
            verify_post(&headers, b"{}", "/users/bob/inbox"),
            Err(SignatureError::BadDigest)
        );
    }

    #[test]
    fn cavage_tampered_digest_header_is_bad_signature() {
        let mut headers = signed_post(KEY_ID);
        let forged = format!("SHA-256={}", B64.encode(openssl::sha::sha256(b"{}")));
        headers.insert(DIGEST, HeaderValue::from_str(&forged).unwrap());
        assert_eq!(
            verify_post(&headers, b"{}", "/users/bob/inbox"),
            Err(SignatureError::BadSignature)
        );
    }

    #[test]
    fn cavage_tampered_path_or_header_is_bad_signature() {
        let headers = signed_post(KEY_ID);
        assert_eq!(
            verify_post(&headers, BODY, "/inbox"),
            Err(SignatureError::BadSignature)
        );
        let mut tampered = headers.clone();
        tampered.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain"));
        assert_eq!(
            verify_post(&tampered, BODY, "/users/bob/inbox"),
            Err(SignatureError::BadSignature)
        );
        let mut tampered = headers.clone();
        tampered.insert(header::HOST, HeaderValue::from_static("other.example"));
        assert_eq!(
            verify_post(&tampered, BODY, "/users/bob/inbox"),
            Err(SignatureError::BadSignature)
        );
        // The method is part of (request-target).
        let put = verify_request(
            &Method::PUT,
            "/users/bob/inbox",
            &headers,
            Some(BODY),
            &keys(0).1,
            now(),
            DEFAULT_MAX_SKEW,
        );
        assert_eq!(put, Err(SignatureError::BadSignature));
    }

    #[test]
    fn cavage_wrong_key_is_bad_signature() {
        let headers = signed_post(KEY_ID);
        let res = verify_request(
            &Method::POST,
            "/users/bob/inbox",
            &headers,
            Some(BODY),
            &keys(1).1,
            now(),
            DEFAULT_MAX_SKEW,
        );
        assert_eq!(res, Err(SignatureError::BadSignature));
    }

    #[test]
    fn cavage_date_window() {
        let headers = signed_post(KEY_ID);
        let at = |t: DateTime<Utc>| {
            verify_request(
                &Method::POST,
                "/users/bob/inbox",
                &headers,
                Some(BODY),
                &keys(0).1,
                t,
                DEFAULT_MAX_SKEW,
            )
        };
        assert!(at(now() + Duration::hours(11)).is_ok());
        assert!(matches!(
            at(now() + Duration::hours(13)),
            Err(SignatureError::StaleDate(_))
        ));
        assert!(at(now() - Duration::minutes(59)).is_ok());
        assert!(matches!(
            at(now() - Duration::minutes(61)),
            Err(SignatureError::StaleDate(_))
        ));
        // A narrower window also narrows the future margin.
        let narrow = verify_request(
            &Method::POST,
            "/users/bob/inbox",
            &headers,
            Some(BODY),
            &keys(0).1,
            now() - Duration::minutes(10),
            Duration::minutes(5),
        );
        assert!(matches!(narrow, Err(SignatureError::StaleDate(_))));
        let err = at(now() + Duration::days(2)).unwrap_err();
        assert_eq!(
            err.to_string(),
            "request time outside the accepted window: date is more than 720 minutes old"
        );
    }

    #[test]
    fn cavage_key_id_without_fragment() {
        let key_id = "https://gts.example/users/alice/main-key";
        let headers = signed_post(key_id);
        let verified = verify_post(&headers, BODY, "/users/bob/inbox").unwrap();
        assert_eq!(verified.key_id, key_id);
        assert_eq!(
            verified.actor_id_hint.unwrap().as_str(),
            "https://gts.example/users/alice"
        );
    }

    #[test]
    fn key_id_to_actor_forms() {
        let actor = |k: &str| key_id_to_actor(k).map(String::from);
        assert_eq!(
            actor("https://m.example/users/a#main-key").unwrap(),
            "https://m.example/users/a"
        );
        assert_eq!(
            actor("https://gts.example/users/a/main-key").unwrap(),
            "https://gts.example/users/a"
        );
        assert_eq!(
            actor("https://x.example/actor").unwrap(),
            "https://x.example/actor"
        );
        assert_eq!(
            actor("https://x.example/main-key").unwrap(),
            "https://x.example/main-key"
        );
        assert!(matches!(
            actor("test-key-rsa"),
            Err(SignatureError::Malformed(_))
        ));
    }

    #[test]
    fn cavage_hs2019_and_absent_algorithm_accepted_others_rejected() {
        let headers = signed_post(KEY_ID);
        let value = headers["signature"].to_str().unwrap();
        let with = |value: String| {
            let mut h = headers.clone();
            h.insert(SIGNATURE, HeaderValue::from_str(&value).unwrap());
            verify_post(&h, BODY, "/users/bob/inbox")
        };
        assert!(with(value.replace("rsa-sha256", "hs2019")).is_ok());
        assert!(with(value.replace("algorithm=\"rsa-sha256\",", "")).is_ok());
        assert_eq!(
            with(value.replace("rsa-sha256", "ed25519")),
            Err(SignatureError::UnsupportedAlgorithm("ed25519".into()))
        );
    }

    #[test]
    fn cavage_hs2019_created_and_expires_without_date() {
        let mut headers = HeaderMap::new();
        headers.insert(header::HOST, HeaderValue::from_static("tidings.example"));
        headers.insert(
            DIGEST,
            HeaderValue::from_str(&format!(
                "SHA-256={}",
                B64.encode(openssl::sha::sha256(BODY))
            ))
            .unwrap(),
        );
        let created = now().timestamp();
        let names = "(request-target) (created) (expires) host digest";
        hand_sign(
            &mut headers,
            &Method::POST,
            "/inbox",
            names,
            Some("hs2019"),
            Some(created),
            Some(created + 300),
        );
        let at = |t: DateTime<Utc>| {
            verify_request(
                &Method::POST,
                "/inbox",
                &headers,
                Some(BODY),
                &keys(0).1,
                t,
                DEFAULT_MAX_SKEW,
            )
        };
        assert!(at(now()).is_ok());
        assert!(at(now() + Duration::minutes(30)).is_ok());
        assert_eq!(
            at(now() + Duration::hours(2)),
            Err(SignatureError::StaleDate(
                "the signature has expired".into()
            ))
        );
    }

    #[test]
    fn cavage_post_without_signed_digest_rejected() {
        let mut headers = signed_post(KEY_ID);
        hand_sign(
            &mut headers,
            &Method::POST,
            "/users/bob/inbox",
            "(request-target) host date",
            Some("rsa-sha256"),
            None,
            None,
        );
        assert_eq!(
            verify_post(&headers, BODY, "/users/bob/inbox"),
            Err(SignatureError::NotSigned("digest".into()))
        );
        // The same signature is fine for a request without a body.
        let get = verify_request(
            &Method::POST,
            "/users/bob/inbox",
            &headers,
            None,
            &keys(0).1,
            now(),
            DEFAULT_MAX_SKEW,
        );
        assert!(get.is_ok());
    }

    #[test]
    fn cavage_required_headers() {
        let mut headers = signed_post(KEY_ID);
        for (names, missing) in [
            ("host date digest", "(request-target)"),
            ("(request-target) date digest", "host"),
            ("(request-target) host digest", "date"),
        ] {
            hand_sign(
                &mut headers,
                &Method::POST,
                "/users/bob/inbox",
                names,
                None,
                None,
                None,
            );
            assert_eq!(
                verify_post(&headers, BODY, "/users/bob/inbox"),
                Err(SignatureError::NotSigned(missing.into()))
            );
        }
        // A signed header that is absent from the request.
        hand_sign(
            &mut headers,
            &Method::POST,
            "/users/bob/inbox",
            "(request-target) host date digest",
            None,
            None,
            None,
        );
        headers.remove(header::DATE);
        assert_eq!(
            verify_post(&headers, BODY, "/users/bob/inbox"),
            Err(SignatureError::MissingHeader("date".into()))
        );
        assert_eq!(
            verify_post(&HeaderMap::new(), BODY, "/"),
            Err(SignatureError::MissingHeader("signature".into()))
        );
    }

    #[test]
    fn cavage_content_digest_form_accepted() {
        let mut headers = signed_post(KEY_ID);
        headers.remove(DIGEST);
        let digest = format!("sha-256=:{}:", B64.encode(openssl::sha::sha256(BODY)));
        headers.insert(CONTENT_DIGEST, HeaderValue::from_str(&digest).unwrap());
        hand_sign(
            &mut headers,
            &Method::POST,
            "/users/bob/inbox",
            "(request-target) host date content-digest",
            Some("hs2019"),
            None,
            None,
        );
        assert!(verify_post(&headers, BODY, "/users/bob/inbox").is_ok());
        assert_eq!(
            verify_post(&headers, b"x", "/users/bob/inbox"),
            Err(SignatureError::BadDigest)
        );
    }

    #[test]
    fn cavage_authorization_header_and_parsing() {
        let headers = signed_post(KEY_ID);
        let mut auth = headers.clone();
        let value = auth.remove(SIGNATURE).unwrap();
        let value = format!("Signature {}", value.to_str().unwrap());
        auth.insert(
            header::AUTHORIZATION,
            HeaderValue::from_str(&value).unwrap(),
        );
        assert!(verify_post(&auth, BODY, "/users/bob/inbox").is_ok());
        assert_eq!(
            signature_key_id(&auth).unwrap(),
            (SignatureScheme::Cavage, KEY_ID.to_owned())
        );

        let sig = parse_signature_header(r#" keyId = "k\"1" , headers="(request-target) Host",signature="AAEC", created=1402170695 "#).unwrap();
        assert_eq!(sig.key_id, "k\"1");
        assert_eq!(sig.headers, ["(request-target)", "host"]);
        assert_eq!(sig.signature, [0, 1, 2]);
        assert_eq!(sig.created, Some(1402170695));
        assert_eq!(sig.algorithm, None);
        for bad in [
            "",
            "keyId=\"a\"",
            "signature=\"AAEC\"",
            "keyId=\"a\",signature=\"not base64!\"",
            "keyId=\"a\",signature=\"AAEC\",keyId=\"b\"",
            "keyId=\"a,signature=\"AAEC\"",
            "keyId=\"a\" signature=\"AAEC\"",
        ] {
            assert!(
                matches!(
                    parse_signature_header(bad),
                    Err(SignatureError::Malformed(_))
                ),
                "{bad}"
            );
        }
    }

    #[test]
    fn invalid_keys() {
        let mut headers = HeaderMap::new();
        let res = sign_request(
            &Method::GET,
            &inbox(),
            &mut headers,
            None,
            KEY_ID,
            "nope",
            now(),
        );
        assert!(matches!(res, Err(SignatureError::InvalidKey(_))));
        let headers = signed_post(KEY_ID);
        let res = verify_request(
            &Method::POST,
            "/users/bob/inbox",
            &headers,
            Some(BODY),
            "nope",
            now(),
            DEFAULT_MAX_SKEW,
        );
        assert!(matches!(res, Err(SignatureError::InvalidKey(_))));
    }

    // --- RFC 9421 -------------------------------------------------------------------

    fn verify_9421(
        headers: &HeaderMap,
        method: &Method,
        url: &Url,
        body: Option<&[u8]>,
        public: &str,
        now: DateTime<Utc>,
    ) -> Result<VerifiedSignature, SignatureError> {
        verify_request_rfc9421(method, url, headers, body, public, now, DEFAULT_MAX_SKEW)
    }

    #[test]
    fn rfc9421_post_round_trip() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/activity+json"),
        );
        sign_request_rfc9421(
            &Method::POST,
            &inbox(),
            &mut headers,
            Some(BODY),
            KEY_ID,
            &keys(0).0,
            now(),
        )
        .unwrap();
        let created = now().timestamp();
        assert_eq!(
            headers["signature-input"].to_str().unwrap(),
            format!(
                "sig1=(\"@method\" \"@target-uri\" \"@authority\" \"host\" \"date\" \"content-digest\");alg=\"rsa-v1_5-sha256\";keyid=\"{KEY_ID}\";created={created}"
            )
        );
        let digest = format!("sha-256=:{}:", B64.encode(openssl::sha::sha256(BODY)));
        assert_eq!(headers["content-digest"], digest.as_str());
        assert_eq!(
            signature_key_id(&headers).unwrap(),
            (SignatureScheme::Rfc9421, KEY_ID.to_owned())
        );
        let verified = verify_9421(
            &headers,
            &Method::POST,
            &inbox(),
            Some(BODY),
            &keys(0).1,
            now(),
        )
        .unwrap();
        assert_eq!(verified.key_id, KEY_ID);
        assert_eq!(
            verified.actor_id_hint.unwrap().as_str(),
            "https://remote.example/users/alice"
        );
    }

    #[test]
    fn rfc9421_get_round_trip() {
        let url = Url::parse("https://tidings.example/users/bob?x=1").unwrap();
        let mut headers = HeaderMap::new();
        sign_request_rfc9421(
            &Method::GET,
            &url,
            &mut headers,
            None,
            KEY_ID,
            &keys(0).0,
            now(),
        )
        .unwrap();
        assert!(!headers.contains_key("content-digest"));
        assert!(verify_9421(&headers, &Method::GET, &url, None, &keys(0).1, now()).is_ok());
        let other = Url::parse("https://tidings.example/users/bob?x=2").unwrap();
        assert_eq!(
            verify_9421(&headers, &Method::GET, &other, None, &keys(0).1, now()),
            Err(SignatureError::BadSignature)
        );
    }

    #[test]
    fn rfc9421_tampering_wrong_key_and_staleness() {
        let mut headers = HeaderMap::new();
        sign_request_rfc9421(
            &Method::POST,
            &inbox(),
            &mut headers,
            Some(BODY),
            KEY_ID,
            &keys(0).0,
            now(),
        )
        .unwrap();
        let public = &keys(0).1;
        assert_eq!(
            verify_9421(
                &headers,
                &Method::POST,
                &inbox(),
                Some(b"{}"),
                public,
                now()
            ),
            Err(SignatureError::BadDigest)
        );
        let shared = Url::parse("https://tidings.example/inbox").unwrap();
        assert_eq!(
            verify_9421(&headers, &Method::POST, &shared, Some(BODY), public, now()),
            Err(SignatureError::BadSignature)
        );
        let mut tampered = headers.clone();
        tampered.insert(
            header::DATE,
            HeaderValue::from_static("Sun, 01 Mar 2026 12:00:01 GMT"),
        );
        assert_eq!(
            verify_9421(
                &tampered,
                &Method::POST,
                &inbox(),
                Some(BODY),
                public,
                now()
            ),
            Err(SignatureError::BadSignature)
        );
        assert_eq!(
            verify_9421(
                &headers,
                &Method::POST,
                &inbox(),
                Some(BODY),
                &keys(1).1,
                now()
            ),
            Err(SignatureError::BadSignature)
        );
        let late = verify_9421(
            &headers,
            &Method::POST,
            &inbox(),
            Some(BODY),
            public,
            now() + Duration::hours(13),
        );
        assert!(matches!(late, Err(SignatureError::StaleDate(_))));
        let early = verify_9421(
            &headers,
            &Method::POST,
            &inbox(),
            Some(BODY),
            public,
            now() - Duration::hours(2),
        );
        assert!(matches!(early, Err(SignatureError::StaleDate(_))));
    }

    #[test]
    fn rfc9421_policy() {
        let mut headers = HeaderMap::new();
        sign_request_rfc9421(
            &Method::POST,
            &inbox(),
            &mut headers,
            Some(BODY),
            KEY_ID,
            &keys(0).0,
            now(),
        )
        .unwrap();
        let public = &keys(0).1;
        let with_input = |input: &str| {
            let mut h = headers.clone();
            h.insert(SIGNATURE_INPUT, HeaderValue::from_str(input).unwrap());
            verify_9421(&h, &Method::POST, &inbox(), Some(BODY), public, now())
        };
        let created = now().timestamp();
        assert_eq!(
            with_input(&format!(
                "sig1=(\"@method\" \"@target-uri\");keyid=\"k\";created={created}"
            )),
            Err(SignatureError::NotSigned("content-digest".into()))
        );
        assert_eq!(
            with_input(&format!(
                "sig1=(\"@target-uri\" \"content-digest\");keyid=\"k\";created={created}"
            )),
            Err(SignatureError::NotSigned("@method".into()))
        );
        assert_eq!(
            with_input(&format!(
                "sig1=(\"@method\" \"@authority\" \"content-digest\");keyid=\"k\";created={created}"
            )),
            Err(SignatureError::NotSigned("@target-uri or @path".into()))
        );
        assert_eq!(
            with_input(
                "sig1=(\"@method\" \"@target-uri\" \"content-digest\");keyid=\"k\";alg=\"ed25519\""
            ),
            Err(SignatureError::UnsupportedAlgorithm("ed25519".into()))
        );
        assert!(matches!(
            with_input("sig1=(\"@method\" \"@target-uri\" \"content-digest\");keyid=\"k\""),
            Err(SignatureError::Malformed(_))
        ));
        assert!(matches!(
            with_input(&format!(
                "sig1=(\"@method\" \"@target-uri\" \"content-digest\" \"@query-param\";name=\"a\");keyid=\"k\";created={created}"
            )),
            Err(SignatureError::Malformed(_))
        ));
        assert!(matches!(
            with_input("sig1=(\"@method\""),
            Err(SignatureError::Malformed(_))
        ));
        assert!(matches!(
            with_input("other=(\"@method\");keyid=\"k\""),
            Err(SignatureError::Malformed(_))
        ));
    }

    #[test]
    fn structured_field_round_trip() {
        let input = r#"sig1=("@method" "@path";req "x");created=1;keyid="a\"b";flag;alg=tok, b=:AAEC:;p=?0, c=-1.5"#;
        let dict = Parser::dictionary(input).unwrap();
        let Member::Inner(items, params) = &dict[0].1 else {
            panic!()
        };
        assert_eq!(
            serialize_inner_list(items, params),
            r#"("@method" "@path";req "x");created=1;keyid="a\"b";flag;alg=tok"#
        );
        assert_eq!(
            dict[1].1,
            Member::Item(Item {
                bare: Bare::Bytes(vec![0, 1, 2]),
                params: vec![("p".into(), Bare::Bool(false))]
            })
        );
        assert_eq!(
            dict[2].1,
            Member::Item(Item {
                bare: Bare::Dec("-1.5".into()),
                params: vec![]
            })
        );
        for bad in ["a=(", "a=\"x", "A=1", "a=1,", "a=:!!:", "a=1 b=2"] {
            assert!(Parser::dictionary(bad).is_err(), "{bad}");
        }
    }

    // --- RFC 9421 published test vectors ----------------------------------------------
    //
    // From RFC 9421 (https://www.rfc-editor.org/rfc/rfc9421): the public keys of
    // Appendix B.1.1 (test-key-rsa) and B.1.2 (test-key-rsa-pss), the test request of
    // Appendix B.2, the rsa-pss-sha512 signatures of B.2.1 and B.2.3, and the
    // rsa-v1_5-sha256 `proxy_sig` of Section 4.3.

    const TEST_KEY_RSA_PUBLIC: &str = "-----BEGIN RSA PUBLIC KEY-----
MIIBCgKCAQEAhAKYdtoeoy8zcAcR874L8cnZxKzAGwd7v36APp7Pv6Q2jdsPBRrw
WEBnez6d0UDKDwGbc6nxfEXAy5mbhgajzrw3MOEt8uA5txSKobBpKDeBLOsdJKFq
MGmXCQvEG7YemcxDTRPxAleIAgYYRjTSd/QBwVW9OwNFhekro3RtlinV0a75jfZg
kne/YiktSvLG34lw2zqXBDTC5NHROUqGTlML4PlNZS5Ri2U4aCNx2rUPRcKIlE0P
uKxI4T+HIaFpv8+rdV6eUgOrB2xeI1dSFFn/nnv5OoZJEIB+VmuKn3DCUcCZSFlQ
PSXSfBDiUGhwOw76WuSSsf1D4b/vLoJ10wIDAQAB
-----END RSA PUBLIC KEY-----";

    const TEST_KEY_RSA_PSS_PUBLIC: &str = "-----BEGIN PUBLIC KEY-----
MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAr4tmm3r20Wd/PbqvP1s2
+QEtvpuRaV8Yq40gjUR8y2Rjxa6dpG2GXHbPfvMs8ct+Lh1GH45x28Rw3Ry53mm+
oAXjyQ86OnDkZ5N8lYbggD4O3w6M6pAvLkhk95AndTrifbIFPNU8PPMO7OyrFAHq
gDsznjPFmTOtCEcN2Z1FpWgchwuYLPL+Wokqltd11nqqzi+bJ9cvSKADYdUAAN5W
Utzdpiy6LbTgSxP7ociU4Tn0g5I6aDZJ7A8Lzo0KSyZYoA485mqcO0GVAdVw9lq4
aOT9v6d+nb4bnNkQVklLQ3fVAvJm+xdDOp9LCNCN48V2pnDOkFV6+U9nV5oyc6XI
2wIDAQAB
-----END PUBLIC KEY-----";

    const RFC_BODY: &[u8] = br#"{"hello": "world"}"#;
    const RFC_CONTENT_DIGEST: &str = "sha-512=:WZDPaVn/7XgHaAy8pmojAkGWoRx2UFChF41A2svX+TaPm+AbwAgBWnrIiYllu7BNNyealdVLvRwEmTHWXvJwew==:";

    fn rfc_time(secs: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(secs, 0).unwrap()
    }

    fn rfc_request(host: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::HOST, HeaderValue::from_str(host).unwrap());
        headers.insert(
            header::DATE,
            HeaderValue::from_static("Tue, 20 Apr 2021 02:07:55 GMT"),
        );
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        headers.insert(CONTENT_DIGEST, HeaderValue::from_static(RFC_CONTENT_DIGEST));
        headers.insert(header::CONTENT_LENGTH, HeaderValue::from_static("18"));
        headers
    }

    #[test]
    fn rfc9421_vector_section_4_3_proxy_sig_rsa_v1_5() {
        let mut headers = rfc_request("origin.host.internal.example");
        headers.insert(
            "forwarded",
            HeaderValue::from_static("for=192.0.2.123;host=example.com;proto=https"),
        );
        headers.insert(SIGNATURE_INPUT, HeaderValue::from_static(
            r#"proxy_sig=("@method" "@authority" "@path" "content-digest" "content-type" "content-length" "forwarded");created=1618884480;keyid="test-key-rsa";alg="rsa-v1_5-sha256";expires=1618884540"#,
        ));
        headers.insert(SIGNATURE, HeaderValue::from_static(
            "proxy_sig=:S6ZzPXSdAMOPjN/6KXfXWNO/f7V6cHm7BXYUh3YD/fRad4BCaRZxP+JH+8XY1I6+8Cy+CM5g92iHgxtRPz+MjniOaYmdkDcnL9cCpXJleXsOckpURl49GwiyUpZ10KHgOEe11sx3G2gxI8S0jnxQB+Pu68U9vVcasqOWAEObtNKKZd8tSFu7LB5YAv0RAGhB8tmpv7sFnIm9y+7X5kXQfi8NMaZaA8i2ZHwpBdg7a6CMfwnnrtflzvZdXAsD3LH2TwevU+/PBPv0B6NMNk93wUs/vfJvye+YuI87HU38lZHowtznbLVdp770I6VHR6WfgS9ddzirrswsE1w5o0LV/g==:",
        ));
        let url =
            Url::parse("https://origin.host.internal.example/foo?param=Value&Pet=dog").unwrap();
        let sig = parse_rfc9421(&headers).unwrap();
        let base = rfc9421_signature_base(
            &Method::POST,
            &url,
            &headers,
            &sig.components,
            &sig.signature_params,
        )
        .unwrap();
        assert_eq!(
            base,
            concat!(
                "\"@method\": POST\n",
                "\"@authority\": origin.host.internal.example\n",
                "\"@path\": /foo\n",
                "\"content-digest\": sha-512=:WZDPaVn/7XgHaAy8pmojAkGWoRx2UFChF41A2svX+TaPm+AbwAgBWnrIiYllu7BNNyealdVLvRwEmTHWXvJwew==:\n",
                "\"content-type\": application/json\n",
                "\"content-length\": 18\n",
                "\"forwarded\": for=192.0.2.123;host=example.com;proto=https\n",
                "\"@signature-params\": (\"@method\" \"@authority\" \"@path\" \"content-digest\" \"content-type\" \"content-length\" \"forwarded\");created=1618884480;keyid=\"test-key-rsa\";alg=\"rsa-v1_5-sha256\";expires=1618884540",
            )
        );
        let verified = verify_9421(
            &headers,
            &Method::POST,
            &url,
            Some(RFC_BODY),
            TEST_KEY_RSA_PUBLIC,
            rfc_time(1618884500),
        )
        .unwrap();
        assert_eq!(verified.key_id, "test-key-rsa");
        assert_eq!(verified.actor_id_hint, None);
        // expires=1618884540, plus the hour of clock skew.
        let expired = verify_9421(
            &headers,
            &Method::POST,
            &url,
            Some(RFC_BODY),
            TEST_KEY_RSA_PUBLIC,
            rfc_time(1618884540 + 3601),
        );
        assert_eq!(
            expired,
            Err(SignatureError::StaleDate(
                "the signature has expired".into()
            ))
        );
        assert_eq!(
            verify_9421(
                &headers,
                &Method::POST,
                &url,
                Some(b"{\"hello\": \"world!\"}"),
                TEST_KEY_RSA_PUBLIC,
                rfc_time(1618884500)
            ),
            Err(SignatureError::BadDigest)
        );
    }

    #[test]
    fn rfc9421_vector_b_2_3_full_coverage_rsa_pss_sha512() {
        let mut headers = rfc_request("example.com");
        headers.insert(SIGNATURE_INPUT, HeaderValue::from_static(
            r#"sig-b23=("date" "@method" "@path" "@query" "@authority" "content-type" "content-digest" "content-length");created=1618884473;keyid="test-key-rsa-pss""#,
        ));
        headers.insert(SIGNATURE, HeaderValue::from_static(
            "sig-b23=:bbN8oArOxYoyylQQUU6QYwrTuaxLwjAC9fbY2F6SVWvh0yBiMIRGOnMYwZ/5MR6fb0Kh1rIRASVxFkeGt683+qRpRRU5p2voTp768ZrCUb38K0fUxN0O0iC59DzYx8DFll5GmydPxSmme9v6ULbMFkl+V5B1TP/yPViV7KsLNmvKiLJH1pFkh/aYA2HXXZzNBXmIkoQoLd7YfW91kE9o/CCoC1xMy7JA1ipwvKvfrs65ldmlu9bpG6A9BmzhuzF8Eim5f8ui9eH8LZH896+QIF61ka39VBrohr9iyMUJpvRX2Zbhl5ZJzSRxpJyoEZAFL2FUo5fTIztsDZKEgM4cUA==:",
        ));
        let url = Url::parse("https://example.com/foo?param=Value&Pet=dog").unwrap();
        let sig = parse_rfc9421(&headers).unwrap();
        let base = rfc9421_signature_base(
            &Method::POST,
            &url,
            &headers,
            &sig.components,
            &sig.signature_params,
        )
        .unwrap();
        assert_eq!(
            base,
            concat!(
                "\"date\": Tue, 20 Apr 2021 02:07:55 GMT\n",
                "\"@method\": POST\n",
                "\"@path\": /foo\n",
                "\"@query\": ?param=Value&Pet=dog\n",
                "\"@authority\": example.com\n",
                "\"content-type\": application/json\n",
                "\"content-digest\": sha-512=:WZDPaVn/7XgHaAy8pmojAkGWoRx2UFChF41A2svX+TaPm+AbwAgBWnrIiYllu7BNNyealdVLvRwEmTHWXvJwew==:\n",
                "\"content-length\": 18\n",
                "\"@signature-params\": (\"date\" \"@method\" \"@path\" \"@query\" \"@authority\" \"content-type\" \"content-digest\" \"content-length\");created=1618884473;keyid=\"test-key-rsa-pss\"",
            )
        );
        // No alg parameter: rsa-v1_5-sha256 is tried, then rsa-pss-sha512 succeeds.
        let verified = verify_9421(
            &headers,
            &Method::POST,
            &url,
            Some(RFC_BODY),
            TEST_KEY_RSA_PSS_PUBLIC,
            rfc_time(1618884473),
        )
        .unwrap();
        assert_eq!(verified.key_id, "test-key-rsa-pss");
        // With the wrong key, or alg pinned to v1.5, it fails.
        assert_eq!(
            verify_9421(
                &headers,
                &Method::POST,
                &url,
                Some(RFC_BODY),
                TEST_KEY_RSA_PUBLIC,
                rfc_time(1618884473)
            ),
            Err(SignatureError::BadSignature)
        );
        let mut pinned = headers.clone();
        let input = format!(
            "{};alg=\"rsa-v1_5-sha256\"",
            headers["signature-input"].to_str().unwrap()
        );
        pinned.insert(SIGNATURE_INPUT, HeaderValue::from_str(&input).unwrap());
        assert_eq!(
            verify_9421(
                &pinned,
                &Method::POST,
                &url,
                Some(RFC_BODY),
                TEST_KEY_RSA_PSS_PUBLIC,
                rfc_time(1618884473)
            ),
            Err(SignatureError::BadSignature)
        );
    }

    #[test]
    fn rfc9421_vector_b_2_1_minimal_is_valid_but_covers_too_little() {
        let mut headers = rfc_request("example.com");
        headers.insert(SIGNATURE_INPUT, HeaderValue::from_static(
            r#"sig-b21=();created=1618884473;keyid="test-key-rsa-pss";nonce="b3k2pp5k7z-50gnwp.yemd""#,
        ));
        headers.insert(SIGNATURE, HeaderValue::from_static(
            "sig-b21=:d2pmTvmbncD3xQm8E9ZV2828BjQWGgiwAaw5bAkgibUopemLJcWDy/lkbbHAve4cRAtx31Iq786U7it++wgGxbtRxf8Udx7zFZsckzXaJMkA7ChG52eSkFxykJeNqsrWH5S+oxNFlD4dzVuwe8DhTSja8xxbR/Z2cOGdCbzR72rgFWhzx2VjBqJzsPLMIQKhO4DGezXehhWwE56YCE+O6c0mKZsfxVrogUvA4HELjVKWmAvtl6UnCh8jYzuVG5WSb/QEVPnP5TmcAnLH1g+s++v6d4s8m0gCw1fV5/SITLq9mhho8K3+7EPYTU8IU1bLhdxO5Nyt8C8ssinQ98Xw9Q==:",
        ));
        let url = Url::parse("https://example.com/foo?param=Value&Pet=dog").unwrap();
        let sig = parse_rfc9421(&headers).unwrap();
        let base = rfc9421_signature_base(
            &Method::POST,
            &url,
            &headers,
            &sig.components,
            &sig.signature_params,
        )
        .unwrap();
        assert_eq!(
            base,
            r#""@signature-params": ();created=1618884473;keyid="test-key-rsa-pss";nonce="b3k2pp5k7z-50gnwp.yemd""#
        );
        let key = load_public_key(TEST_KEY_RSA_PSS_PUBLIC).unwrap();
        assert_eq!(
            verify_rsa(&key, RsaAlg::PssSha512, base.as_bytes(), &sig.signature),
            Ok(())
        );
        assert_eq!(
            verify_9421(
                &headers,
                &Method::POST,
                &url,
                Some(RFC_BODY),
                TEST_KEY_RSA_PSS_PUBLIC,
                rfc_time(1618884473)
            ),
            Err(SignatureError::NotSigned("@method".into()))
        );
    }
}

/// Property tests (issue #12): the header parsers and verifiers take whatever a peer sends;
/// random and mutated input must give an answer, never a panic.
#[cfg(test)]
mod proptests {
    use super::*;
    use proptest::prelude::*;
    use std::sync::OnceLock;

    /// One RSA key pair and a cavage- and an RFC 9421-signed POST made with it.
    struct Fixture {
        public: String,
        cavage: HeaderMap,
        rfc9421: HeaderMap,
    }

    const BODY: &[u8] = br#"{"type":"Create","actor":"https://a.example/users/x"}"#;

    fn url() -> Url {
        Url::parse("https://tidings.example/inbox").unwrap()
    }

    fn now() -> DateTime<Utc> {
        DateTime::from_timestamp(1_780_000_000, 0).unwrap()
    }

    fn fixture() -> &'static Fixture {
        static F: OnceLock<Fixture> = OnceLock::new();
        F.get_or_init(|| {
            let key = PKey::from_rsa(Rsa::generate(2048).unwrap()).unwrap();
            let private = String::from_utf8(key.private_key_to_pem_pkcs8().unwrap()).unwrap();
            let public = String::from_utf8(key.public_key_to_pem().unwrap()).unwrap();
            let key_id = "https://a.example/users/x#main-key";
            let mut cavage = HeaderMap::new();
            cavage.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/activity+json"),
            );
            let mut rfc9421 = cavage.clone();
            sign_request(
                &Method::POST,
                &url(),
                &mut cavage,
                Some(BODY),
                key_id,
                &private,
                now(),
            )
            .unwrap();
            sign_request_rfc9421(
                &Method::POST,
                &url(),
                &mut rfc9421,
                Some(BODY),
                key_id,
                &private,
                now(),
            )
            .unwrap();
            Fixture {
                public,
                cavage,
                rfc9421,
            }
        })
    }

    /// Edits to a text: (position, byte, 0 = replace / 1 = insert / 2 = delete).
    fn edits() -> impl Strategy<Value = Vec<(usize, u8, u8)>> {
        prop::collection::vec((any::<usize>(), any::<u8>(), 0..3u8), 1..8)
    }

    /// `text` with `edits` applied, made a valid header value (bytes a header cannot
    /// hold become spaces).
    fn mutate(text: &str, edits: &[(usize, u8, u8)]) -> HeaderValue {
        let mut b = text.as_bytes().to_vec();
        for &(at, byte, op) in edits {
            let at = if b.is_empty() { 0 } else { at % (b.len() + 1) };
            match op {
                0 if at < b.len() => b[at] = byte,
                2 if at < b.len() => {
                    b.remove(at);
                }
                _ => b.insert(at, byte),
            }
        }
        for c in &mut b {
            if *c < 0x20 || *c == 0x7f {
                *c = b' ';
            }
        }
        HeaderValue::from_bytes(&b).expect("visible bytes and spaces make a header value")
    }

    /// Header text that may be anything a peer sends.
    fn header_text() -> impl Strategy<Value = String> {
        prop_oneof![
            "[ -~]{0,200}",
            r#"([a-zA-Z(@-]{1,12}=("[^"]{0,30}"|:[A-Za-z0-9+/=]{0,20}:|\([^)]{0,40}\)|-?[0-9]{1,20}|\?[01]|[a-z*]{1,8})[,; ]{0,2}){0,8}"#,
        ]
    }

    fn verify_both(headers: &HeaderMap, body: &[u8]) {
        let f = fixture();
        let _ = signature_key_id(headers);
        let _ = verify_request(
            &Method::POST,
            "/inbox",
            headers,
            Some(body),
            &f.public,
            now(),
            DEFAULT_MAX_SKEW,
        );
        let _ = verify_request_rfc9421(
            &Method::POST,
            &url(),
            headers,
            Some(body),
            &f.public,
            now(),
            DEFAULT_MAX_SKEW,
        );
    }

    proptest! {
        #[test]
        fn cavage_signature_header_never_panics(s in header_text()) {
            let _ = parse_signature_header(&s);
            if let Ok(v) = HeaderValue::from_str(&s) {
                let mut headers = fixture().cavage.clone();
                headers.insert(SIGNATURE, v.clone());
                verify_both(&headers, BODY);
                headers.remove(SIGNATURE);
                headers.insert(header::AUTHORIZATION, v);
                verify_both(&headers, BODY);
            }
        }

        #[test]
        fn mutated_cavage_requests_never_panic(edits in edits(), which in 0..4usize) {
            let mut headers = fixture().cavage.clone();
            let name = [SIGNATURE, DIGEST, header::DATE, header::HOST][which].clone();
            let text = headers.get(&name).unwrap().to_str().unwrap().to_owned();
            headers.insert(name, mutate(&text, &edits));
            if let Ok(s) = headers.get(SIGNATURE).unwrap().to_str() {
                let _ = parse_signature_header(s);
            }
            verify_both(&headers, BODY);
        }

        #[test]
        fn rfc9421_headers_never_panic(input in header_text(), sig in header_text()) {
            let (Ok(i), Ok(s)) = (HeaderValue::from_str(&input), HeaderValue::from_str(&sig))
            else {
                return Ok(());
            };
            let mut headers = fixture().rfc9421.clone();
            headers.insert(SIGNATURE_INPUT, i);
            headers.insert(SIGNATURE, s);
            let _ = parse_rfc9421(&headers);
            verify_both(&headers, BODY);
        }

        #[test]
        fn mutated_rfc9421_requests_never_panic(edits in edits(), which in 0..4usize) {
            let mut headers = fixture().rfc9421.clone();
            let name = [SIGNATURE_INPUT, SIGNATURE, CONTENT_DIGEST, header::DATE][which].clone();
            let text = headers.get(&name).unwrap().to_str().unwrap().to_owned();
            headers.insert(name, mutate(&text, &edits));
            let _ = parse_rfc9421(&headers);
            verify_both(&headers, BODY);
        }

        #[test]
        fn digest_headers_never_panic(
            s in header_text(),
            edits in edits(),
            body in prop::collection::vec(any::<u8>(), 0..64),
        ) {
            let _ = check_digest(&s, &body);
            let _ = check_content_digest(&s, &body);
            let _ = Parser::dictionary(&s);
            let f = fixture();
            let digest = f.cavage.get(DIGEST).unwrap().to_str().unwrap();
            let content = f.rfc9421.get(CONTENT_DIGEST).unwrap().to_str().unwrap();
            if let Ok(m) = mutate(digest, &edits).to_str() {
                let _ = check_digest(m, BODY);
            }
            if let Ok(m) = mutate(content, &edits).to_str() {
                let _ = check_content_digest(m, BODY);
                let _ = Parser::dictionary(m);
            }
        }
    }

    #[test]
    fn the_fixture_verifies() {
        let f = fixture();
        let at = |h: &HeaderMap| {
            verify_request(
                &Method::POST,
                "/inbox",
                h,
                Some(BODY),
                &f.public,
                now(),
                DEFAULT_MAX_SKEW,
            )
        };
        assert!(at(&f.cavage).is_ok());
        assert!(
            verify_request_rfc9421(
                &Method::POST,
                &url(),
                &f.rfc9421,
                Some(BODY),
                &f.public,
                now(),
                DEFAULT_MAX_SKEW
            )
            .is_ok()
        );
    }
}
