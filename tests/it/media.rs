//! Media uploads (issue #15, item 1): `POST /api/v2/media` (202, then polled),
//! `POST /api/v1/media`, `GET`/`PUT /api/v1/media/:id`, the files served under
//! `/media/…`, and every kind of bad input refused with 422 and nothing left behind.

use std::path::{Path, PathBuf};
use std::time::Duration;

use image::{DynamicImage, Rgb, RgbImage, Rgba, RgbaImage};
use reqwest::StatusCode;
use serde_json::Value;

use crate::common::TestApp;
use crate::common::api::Api;

/// An instance whose media folder is a fresh temporary one (listed by the tests).
pub async fn spawn_with_media(limit_mb: u64) -> (TestApp, PathBuf) {
    let dir = std::env::temp_dir().join(format!("tidings-media-{}", tidings::db::ids::new_id()));
    let media = dir.clone();
    let app = TestApp::spawn_with(move |s| {
        s.media_dir = Some(media);
        s.media_size_limit_mb = limit_mb;
    })
    .await;
    (app, dir)
}

/// One part of a multipart form: name, file name, content type, bytes.
pub type Part<'a> = (&'a str, Option<&'a str>, Option<&'a str>, &'a [u8]);

/// A multipart body of `parts`, and its `Content-Type`.
pub fn multipart(parts: &[Part<'_>]) -> (String, Vec<u8>) {
    let boundary = "----tidings-test-boundary-7d9f";
    let mut body = Vec::new();
    for (name, file_name, content_type, bytes) in parts {
        body.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
        match file_name {
            Some(f) => body.extend_from_slice(
                format!("Content-Disposition: form-data; name=\"{name}\"; filename=\"{f}\"\r\n")
                    .as_bytes(),
            ),
            None => body.extend_from_slice(
                format!("Content-Disposition: form-data; name=\"{name}\"\r\n").as_bytes(),
            ),
        }
        if let Some(t) = content_type {
            body.extend_from_slice(format!("Content-Type: {t}\r\n").as_bytes());
        }
        body.extend_from_slice(b"\r\n");
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

/// Posts a multipart body to `path` with the API token.
pub async fn upload(api: &Api, path: &str, parts: &[Part<'_>]) -> (StatusCode, Value) {
    let (content_type, body) = multipart(parts);
    api.send(
        api.http
            .post(format!("{}{path}", api.base))
            .header("content-type", content_type)
            .body(body),
    )
    .await
}

/// A JPEG of `w`×`h` with a gradient (so it does not compress to nothing).
pub fn jpeg(w: u32, h: u32) -> Vec<u8> {
    let img = RgbImage::from_fn(w, h, |x, y| {
        Rgb([(x * 255 / w.max(1)) as u8, (y * 255 / h.max(1)) as u8, 120])
    });
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 90)
        .encode_image(&img)
        .unwrap();
    out
}

/// `jpeg` with an EXIF segment saying "rotate 90° clockwise" (orientation 6) and a GPS
/// marker text, as a phone writes them.
pub fn jpeg_with_exif(w: u32, h: u32) -> Vec<u8> {
    let plain = jpeg(w, h);
    let mut tiff = b"MM\x00\x2a\x00\x00\x00\x08".to_vec();
    tiff.extend_from_slice(&1u16.to_be_bytes()); // one entry
    tiff.extend_from_slice(&0x0112u16.to_be_bytes()); // Orientation
    tiff.extend_from_slice(&3u16.to_be_bytes()); // SHORT
    tiff.extend_from_slice(&1u32.to_be_bytes());
    tiff.extend_from_slice(&[0, 6, 0, 0]);
    tiff.extend_from_slice(&0u32.to_be_bytes());
    tiff.extend_from_slice(b"GPS 52.5200N 13.4050E");
    let mut app1 = b"Exif\x00\x00".to_vec();
    app1.extend_from_slice(&tiff);
    let mut out = plain[..2].to_vec(); // SOI
    out.extend_from_slice(&[0xFF, 0xE1]);
    out.extend_from_slice(&((app1.len() + 2) as u16).to_be_bytes());
    out.extend_from_slice(&app1);
    out.extend_from_slice(&plain[2..]);
    out
}

fn png_rgba(w: u32, h: u32) -> Vec<u8> {
    let img = RgbaImage::from_fn(w, h, |x, _| Rgba([10, 200, 30, (x % 256) as u8]));
    let mut out = Vec::new();
    DynamicImage::ImageRgba8(img)
        .write_to(&mut std::io::Cursor::new(&mut out), image::ImageFormat::Png)
        .unwrap();
    out
}

/// A PNG that declares 100000×100000 pixels (and holds almost none).
fn png_bomb() -> Vec<u8> {
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&100_000u32.to_be_bytes());
    ihdr.extend_from_slice(&100_000u32.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]);
    png_chunk(&mut png, b"IHDR", &ihdr);
    png_chunk(
        &mut png,
        b"IDAT",
        &[0x78, 0x01, 0x01, 0x04, 0x00, 0xfb, 0xff, 0, 0, 0, 0],
    );
    png_chunk(&mut png, b"IEND", &[]);
    png
}

fn png_chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    let mut body = kind.to_vec();
    body.extend_from_slice(data);
    let mut crc = 0xFFFF_FFFFu32;
    for &b in &body {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    out.extend_from_slice(&body);
    out.extend_from_slice(&(!crc).to_be_bytes());
}

/// Every file under `dir` (recursively).
fn files_in(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(files_in(&p));
        } else {
            out.push(p);
        }
    }
    out
}

/// Polls `GET /api/v1/media/:id` until it is no longer 206 (bounded).
pub async fn wait_ready(api: &Api, id: &str) -> (StatusCode, Value) {
    for _ in 0..200 {
        let (status, body) = api.get(&format!("/api/v1/media/{id}")).await;
        if status != StatusCode::PARTIAL_CONTENT {
            return (status, body);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("media {id} still processing after 10 s");
}

#[tokio::test]
async fn v2_upload_is_processed_while_the_client_polls() {
    let (app, dir) = spawn_with_media(16).await;
    app.user("ana").await;
    let api = Api::login(&app, "ana").await;
    let photo = jpeg_with_exif(1600, 900);
    let (status, body) = upload(
        &api,
        "/api/v2/media",
        &[
            ("file", Some("photo.jpg"), Some("image/jpeg"), &photo),
            ("description", None, None, b"A harbour at dawn"),
            ("focus", None, None, b"0.25,-0.5"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    assert_eq!(body["type"], "image");
    assert_eq!(body["url"], Value::Null, "no file while processing");
    let id = body["id"].as_str().unwrap().to_owned();

    let (status, m) = wait_ready(&api, &id).await;
    assert_eq!(status, StatusCode::OK, "{m}");
    assert_eq!(m["id"], id);
    assert_eq!(m["description"], "A harbour at dawn");
    assert_eq!(m["meta"]["focus"]["x"], 0.25);
    assert_eq!(m["meta"]["focus"]["y"], -0.5);
    // Orientation 6 applied: the 1600×900 picture stands upright as 900×1600.
    assert_eq!(m["meta"]["original"]["width"], 900);
    assert_eq!(m["meta"]["original"]["height"], 1600);
    assert_eq!(m["meta"]["original"]["size"], "900x1600");
    assert_eq!(m["meta"]["small"]["height"], 640);
    assert!(m["blurhash"].as_str().is_some_and(|b| b.len() >= 6), "{m}");

    let url = m["url"].as_str().unwrap();
    let preview_url = m["preview_url"].as_str().unwrap();
    assert!(url.starts_with("http://tidings.test/media/"), "{url}");
    let local = |u: &str| u.replace("http://tidings.test", &app.base);
    let res = reqwest::get(local(url)).await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let h = res.headers().clone();
    assert_eq!(h["content-type"], "image/jpeg");
    assert_eq!(h["x-content-type-options"], "nosniff");
    assert_eq!(h["content-disposition"], "inline");
    assert!(
        h["cache-control"].to_str().unwrap().contains("immutable"),
        "{h:?}"
    );
    let served = res.bytes().await.unwrap();
    assert!(
        !served.windows(4).any(|w| w == b"Exif") && !served.windows(3).any(|w| w == b"GPS"),
        "metadata must be stripped"
    );
    let decoded = image::load_from_memory(&served).unwrap();
    assert_eq!((decoded.width(), decoded.height()), (900, 1600));
    let preview = reqwest::get(local(preview_url)).await.unwrap();
    assert_eq!(preview.status(), StatusCode::OK);
    let small = image::load_from_memory(&preview.bytes().await.unwrap()).unwrap();
    assert_eq!(small.height(), 640);

    // Nothing is left in incoming/ once processed.
    let leftovers: Vec<_> = files_in(&dir.join("incoming"));
    assert!(leftovers.is_empty(), "{leftovers:?}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn v1_upload_answers_when_ready_and_keeps_transparency() {
    let (app, dir) = spawn_with_media(16).await;
    app.user("ana").await;
    app.user("bo").await;
    let api = Api::login(&app, "ana").await;
    let png = png_rgba(300, 200);
    let (status, m) = upload(
        &api,
        "/api/v1/media",
        &[("file", Some("logo.png"), Some("image/png"), &png)],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{m}");
    assert_eq!(m["description"], Value::Null);
    assert_eq!(m["meta"]["original"]["width"], 300);
    let url = m["url"]
        .as_str()
        .unwrap()
        .replace("http://tidings.test", &app.base);
    assert!(url.ends_with(".png"), "{url}");
    let res = reqwest::get(&url).await.unwrap();
    assert_eq!(res.headers()["content-type"], "image/png");
    let img = image::load_from_memory(&res.bytes().await.unwrap()).unwrap();
    assert!(img.color().has_alpha());
    let id = m["id"].as_str().unwrap();

    // Description and focal point can be changed; unknown or bad values are refused.
    let (status, m) = api
        .put_form(
            &format!("/api/v1/media/{id}"),
            &[("description", "Our logo"), ("focus", "-1,1")],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{m}");
    assert_eq!(m["description"], "Our logo");
    assert_eq!(m["meta"]["focus"]["x"], -1.0);
    let (status, body) = api
        .put_form(&format!("/api/v1/media/{id}"), &[("focus", "2,0")])
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(body["error"].as_str().unwrap().contains("focus"), "{body}");
    let (status, body) = api
        .put_form(&format!("/api/v1/media/{id}"), &[("colour", "red")])
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(body["error"].as_str().unwrap().contains("colour"), "{body}");
    let long = "x".repeat(1501);
    let (status, _) = api
        .put_form(&format!("/api/v1/media/{id}"), &[("description", &long)])
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        api.ok(&format!("/api/v1/media/{id}")).await["description"],
        "Our logo"
    );

    // Someone else's upload is not found.
    let other = Api::login(&app, "bo").await;
    let (status, _) = other.get(&format!("/api/v1/media/{id}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = other
        .put_form(&format!("/api/v1/media/{id}"), &[("description", "mine")])
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn bad_uploads_are_refused_with_422_and_leave_nothing() {
    let (app, dir) = spawn_with_media(1).await;
    app.user("ana").await;
    let api = Api::login(&app, "ana").await;
    let text = b"<html><script>alert(1)</script></html>".to_vec();
    let small_jpeg = jpeg(64, 48);
    let bomb = png_bomb();
    // Over the 1 MB limit (noise does not compress), with the whole body under the
    // request limit: refused while the file streams in.
    let mut noise = vec![0u8; 1_300_000];
    openssl::rand::rand_bytes(&mut noise).unwrap();
    let cases: Vec<(&str, Vec<Part<'_>>, &str)> = vec![
        (
            "text sent as an image",
            vec![("file", Some("x.png"), Some("image/png"), &text)],
            "not a supported image",
        ),
        (
            "a JPEG sent as PNG",
            vec![("file", Some("x.png"), Some("image/png"), &small_jpeg)],
            "not the image/png",
        ),
        (
            "a decompression bomb",
            vec![("file", Some("x.png"), Some("image/png"), &bomb)],
            "megapixels",
        ),
        (
            "a file over the size limit",
            vec![("file", Some("x.jpg"), Some("image/jpeg"), &noise)],
            "larger than the limit of 1 MB",
        ),
        ("no file", vec![("description", None, None, b"alt")], "file"),
        (
            "an unknown field",
            vec![
                ("file", Some("x.jpg"), Some("image/jpeg"), &small_jpeg),
                ("colour", None, None, b"red"),
            ],
            "colour",
        ),
        (
            "a bad focus",
            vec![
                ("file", Some("x.jpg"), Some("image/jpeg"), &small_jpeg),
                ("focus", None, None, b"left"),
            ],
            "focus",
        ),
    ];
    for path in ["/api/v1/media", "/api/v2/media"] {
        for (what, parts, message) in &cases {
            let (status, body) = upload(&api, path, parts).await;
            assert_eq!(
                status,
                StatusCode::UNPROCESSABLE_ENTITY,
                "{what} on {path}: {body}"
            );
            let error = body["error"].as_str().unwrap_or_default();
            assert!(error.contains(message), "{what} on {path}: {error}");
        }
    }
    // A body declared larger than the limit is refused before it is read.
    let huge = vec![0u8; 2_300_000];
    let (status, _) = upload(
        &api,
        "/api/v2/media",
        &[("file", Some("x.jpg"), Some("image/jpeg"), &huge)],
    )
    .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    let left = files_in(&dir);
    assert!(left.is_empty(), "files left behind: {left:?}");
    // And no upload was recorded.
    let (status, _) = api.get("/api/v1/media/1").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn only_stored_names_are_served() {
    let (app, dir) = spawn_with_media(16).await;
    let client = reqwest::Client::new();
    for path in [
        "/media/..%2Ftidings.db".to_owned(),
        format!("/media/{}.html", "a".repeat(64)),
        format!("/media/{}.jpg", "a".repeat(64)),
        "/media/incoming".to_owned(),
    ] {
        let res = client
            .get(format!("{}{path}", app.base))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::NOT_FOUND, "{path}");
    }
    // Uploads need a token with write:media.
    let (content_type, body) =
        multipart(&[("file", Some("x.jpg"), Some("image/jpeg"), &jpeg(8, 8))]);
    let res = client
        .post(format!("{}/api/v2/media", app.base))
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Uploads a small JPEG through v1 (ready at once): its id.
async fn uploaded(api: &Api, alt: &str) -> String {
    let img = jpeg(120, 80);
    let (status, m) = upload(
        api,
        "/api/v1/media",
        &[
            ("file", Some("p.jpg"), Some("image/jpeg"), &img),
            ("description", None, None, alt.as_bytes()),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{m}");
    m["id"].as_str().unwrap().to_owned()
}

fn attachment_ids(status: &Value) -> Vec<String> {
    status["media_attachments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn statuses_carry_their_images_in_order() {
    let (app, dir) = spawn_with_media(16).await;
    app.user("ana").await;
    app.user("bo").await;
    let api = Api::login(&app, "ana").await;
    let first = uploaded(&api, "The first picture").await;
    let second = uploaded(&api, "The second picture").await;
    let (status, s) = api
        .form(
            "/api/v1/statuses",
            &[
                ("status", "Harbour news\nTwo pictures of the harbour"),
                ("media_ids[]", &second),
                ("media_ids[]", &first),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{s}");
    assert_eq!(attachment_ids(&s), [second.clone(), first.clone()]);
    assert_eq!(
        s["media_attachments"][0]["description"],
        "The second picture"
    );
    assert_eq!(s["media_attachments"][0]["type"], "image");
    assert!(
        s["media_attachments"][1]["url"]
            .as_str()
            .unwrap()
            .starts_with("http://tidings.test/media/")
    );
    let id = s["id"].as_str().unwrap().to_owned();
    // Everyone sees them.
    let shown: Value = reqwest::get(format!("{}/api/v1/statuses/{id}", app.base))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(attachment_ids(&shown), [second.clone(), first.clone()]);
    // The Note carries them as Mastodon's Documents, alt text as `name`.
    let note: Value = reqwest::Client::new()
        .get(
            s["uri"]
                .as_str()
                .unwrap()
                .replace("http://tidings.test", &app.base),
        )
        .header("accept", "application/activity+json")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let docs = note["attachment"].as_array().expect("attachment");
    assert_eq!(docs.len(), 2, "{note}");
    assert_eq!(docs[0]["type"], "Document");
    assert_eq!(docs[0]["mediaType"], "image/jpeg");
    assert_eq!(docs[0]["name"], "The second picture");
    assert_eq!(docs[0]["url"], s["media_attachments"][0]["url"]);
    assert_eq!(docs[0]["width"], 120);
    assert_eq!(docs[0]["height"], 80);
    assert_eq!(docs[0]["blurhash"], s["media_attachments"][0]["blurhash"]);
    assert_eq!(docs[1]["name"], "The first picture");

    // A JSON reply with one new image.
    let third = uploaded(&api, "").await;
    let (status, r) = api
        .json(
            "/api/v1/statuses",
            serde_json::json!({"status": "And a third", "in_reply_to_id": id, "media_ids": [third]}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{r}");
    assert_eq!(attachment_ids(&r), vec![third]);

    // Edits replace the set; an empty media_ids[] removes every image.
    let (status, e) = api
        .put_form(
            &format!("/api/v1/statuses/{id}"),
            &[
                ("status", "Harbour news\nOne picture now"),
                ("media_ids[]", &first),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{e}");
    assert_eq!(attachment_ids(&e), vec![first.clone()]);
    let (status, e) = api
        .put_form(
            &format!("/api/v1/statuses/{id}"),
            &[("status", "Harbour news\nStill one picture")],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{e}");
    assert_eq!(
        attachment_ids(&e),
        vec![first.clone()],
        "absent media_ids keep them"
    );
    let (status, e) = api
        .put_form(
            &format!("/api/v1/statuses/{id}"),
            &[("status", "Harbour news\nNo pictures"), ("media_ids[]", "")],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{e}");
    assert!(attachment_ids(&e).is_empty());
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn bad_media_ids_are_refused_and_post_nothing() {
    let (app, dir) = spawn_with_media(16).await;
    app.user("ana").await;
    app.user("bo").await;
    let api = Api::login(&app, "ana").await;
    let bo = Api::login(&app, "bo").await;
    let mine = uploaded(&api, "mine").await;
    let theirs = uploaded(&bo, "theirs").await;
    let five: Vec<String> = {
        let mut v = Vec::new();
        for i in 0..5 {
            v.push(uploaded(&api, &format!("n{i}")).await);
        }
        v
    };
    let (status, used) = api
        .form(
            "/api/v1/statuses",
            &[("status", "Used\ntext"), ("media_ids[]", &mine)],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{used}");
    let fresh = uploaded(&api, "fresh").await;

    let too_many: Vec<(&str, &str)> = std::iter::once(("status", "Too many\ntext"))
        .chain(five.iter().map(|id| ("media_ids[]", id.as_str())))
        .collect();
    type Case<'a> = (&'a str, Vec<(&'a str, &'a str)>, &'a str);
    let cases: Vec<Case<'_>> = vec![
        ("an unknown id", vec![("media_ids[]", "12345")], "no upload"),
        (
            "an id that is not a number",
            vec![("media_ids[]", "abc")],
            "no upload",
        ),
        (
            "someone else's upload",
            vec![("media_ids[]", &theirs)],
            "no upload",
        ),
        (
            "an upload already used",
            vec![("media_ids[]", &mine)],
            "already attached",
        ),
        (
            "an id given twice",
            vec![("media_ids[]", &fresh), ("media_ids[]", &fresh)],
            "twice",
        ),
        (
            "a poll with images",
            vec![
                ("media_ids[]", &fresh),
                ("poll[options][]", "yes"),
                ("poll[options][]", "no"),
                ("poll[expires_in]", "3600"),
            ],
            "poll or images",
        ),
    ];
    for (what, extra, message) in cases {
        let mut fields = vec![("status", "Refused\ntext")];
        fields.extend(extra);
        let (status, body) = api.form("/api/v1/statuses", &fields).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{what}: {body}");
        assert!(
            body["error"].as_str().unwrap().contains(message),
            "{what}: {body}"
        );
    }
    let (status, body) = api.form("/api/v1/statuses", &too_many).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(
        body["error"].as_str().unwrap().contains("At most 4"),
        "{body}"
    );

    // Nothing was posted, and the fresh upload is still free to use.
    let me = api.ok("/api/v1/accounts/verify_credentials").await;
    let posts = api
        .ok(&format!(
            "/api/v1/accounts/{}/statuses",
            me["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(posts.as_array().unwrap().len(), 1, "{posts}");
    let (status, s) = api
        .form(
            "/api/v1/statuses",
            &[("status", "Fine\ntext"), ("media_ids[]", &fresh)],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{s}");
    // An edit cannot take someone else's upload either.
    let (status, body) = api
        .put_form(
            &format!("/api/v1/statuses/{}", s["id"].as_str().unwrap()),
            &[("status", "Fine\ntext"), ("media_ids[]", &theirs)],
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let _ = std::fs::remove_dir_all(&dir);
}
