//! Photo bytes through tus 1.0 at `/api/uploads/`: the happy path with the
//! verdict reaching pull and `GET /api/photos/{id}`, every protocol error as tus
//! specifies it, a whole-file hash mismatch that starts over, and an upload cut
//! at twenty random offsets that completes with the right SHA-256.
//!
//! One file (about 1,020 lines): every test drives the same tus fixture (a
//! synced photo record plus create/patch/head helpers defined here), and the
//! protocol-error test walks the whole state machine in order.

use crate::helpers::{demo_proposal, TestApp, TestResponse};
use crate::phone::{statuses, Phone};
use crate::security::{expect_error, req, Req};
use app::photos::exif::{build_tiff, insert_app1, ExifInfo, LocalDateTime};
use axum::body::Body;
use axum::http::Request;
use base64::Engine as _;
use serde_json::{json, Value};
use sha2::Digest;

pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(sha2::Sha256::digest(bytes))
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// A JPEG of `w`×`h`: grey with a red block in the top-left corner.
pub(crate) fn marked_jpeg(w: u32, h: u32) -> Vec<u8> {
    let img = image::RgbImage::from_fn(w, h, |x, y| {
        if x < w / 4 && y < h / 4 {
            image::Rgb([230, 20, 20])
        } else {
            image::Rgb([128, 128, 128])
        }
    });
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 90)
        .encode_image(&img)
        .unwrap();
    out
}

/// A logged-in inspector with a visit that has a photo field.
pub(crate) struct Field {
    pub phone: Phone,
    pub visit: String,
}

pub(crate) async fn field(app: &TestApp, username: &str) -> Field {
    let mut phone = Phone::login(app, username).await;
    let visit = uuid::Uuid::now_v7().to_string();
    let district = if username == "ksv2" { "223" } else { "213" };
    let m = phone.new_visit(&visit, &demo_proposal(district), json!({"workforce": 25}));
    assert_eq!(statuses(&phone.push_ok(app, &[m]).await), ["applied"]);
    Field { phone, visit }
}

impl Field {
    /// Pushes `attach_photo` for `bytes` (plus any extra metadata); returns the photo ID.
    pub async fn attach(&mut self, app: &TestApp, bytes: &[u8], extra: Value) -> String {
        let id = uuid::Uuid::now_v7().to_string();
        let mut fields = json!({
            "visit_id": self.visit, "field": "evidence_photos", "sha256": sha256_hex(bytes),
            "size": bytes.len(), "content_type": "image/jpeg", "caption": "Máy dập"
        });
        for (k, v) in extra.as_object().unwrap() {
            fields[k] = v.clone();
        }
        let m = self.phone.mutation("photo", "upsert", &id, fields, 0);
        let results = self.phone.push_ok(app, &[m]).await;
        assert_eq!(statuses(&results), ["applied"], "{results:?}");
        id
    }

    pub fn create(&self, photo: &str, length: usize) -> Req {
        req("POST", "/api/uploads/")
            .header("tus-resumable", "1.0.0")
            .header("upload-length", &length.to_string())
            .header(
                "upload-metadata",
                &format!(
                    "photo_id {},filename {}",
                    b64(photo.as_bytes()),
                    b64("ảnh.jpg".as_bytes())
                ),
            )
            .cookie(Some(&self.phone.cookie))
    }

    /// Creates an upload and returns its path.
    pub async fn created(&self, app: &TestApp, photo: &str, length: usize) -> String {
        let r = self.create(photo, length).send(&app.router).await;
        assert_eq!(r.status, 201, "{}", r.text());
        assert_eq!(header(&r, "tus-resumable"), "1.0.0");
        assert_eq!(header(&r, "upload-offset"), "0");
        assert!(header(&r, "upload-expires").ends_with("GMT"));
        header(&r, "location")
    }

    pub fn patch(&self, url: &str, offset: usize, bytes: &[u8]) -> Req {
        req("PATCH", url)
            .header("tus-resumable", "1.0.0")
            .header("upload-offset", &offset.to_string())
            .header(
                "upload-checksum",
                &format!("sha1 {}", b64(&sha1::Sha1::digest(bytes))),
            )
            .bytes("application/offset+octet-stream", bytes.to_vec())
            .cookie(Some(&self.phone.cookie))
    }

    pub async fn head(&self, app: &TestApp, url: &str) -> TestResponse {
        self.head_on(&app.router, url).await
    }

    /// HEAD through another router (another process's photo store).
    pub async fn head_on(&self, router: &axum::Router, url: &str) -> TestResponse {
        req("HEAD", url)
            .header("tus-resumable", "1.0.0")
            .cookie(Some(&self.phone.cookie))
            .send(router)
            .await
    }

    /// Uploads `bytes` in chunks of `chunk`; returns the final answer.
    pub async fn upload(
        &self,
        app: &TestApp,
        photo: &str,
        bytes: &[u8],
        chunk: usize,
    ) -> TestResponse {
        let url = self.created(app, photo, bytes.len()).await;
        let mut offset = 0;
        loop {
            let end = (offset + chunk).min(bytes.len());
            let r = self
                .patch(&url, offset, &bytes[offset..end])
                .send(&app.router)
                .await;
            if r.status != 204 || end == bytes.len() {
                return r;
            }
            assert_eq!(header(&r, "upload-offset"), end.to_string());
            offset = end;
        }
    }

    pub async fn photo(&self, app: &TestApp, id: &str) -> Value {
        let r = app
            .get(&format!("/api/photos/{id}"), Some(&self.phone.cookie))
            .await;
        assert_eq!(r.status, 200, "{}", r.text());
        r.json()
    }
}

pub(crate) fn header(r: &TestResponse, name: &str) -> String {
    r.headers
        .get(name)
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default()
}

async fn a_photo_uploads_in_chunks_and_its_verdict_reaches_pull_and_get(app: TestApp) {
    let mut f = field(&app, "ksv1").await;
    // Landscape pixels, stored rotated: EXIF orientation 6 (turn 90° clockwise).
    let taken = LocalDateTime {
        year: 2026,
        month: 3,
        day: 5,
        hour: 14,
        minute: 30,
        second: 0,
    };
    let exif = ExifInfo {
        orientation: Some(6),
        taken_local: Some(taken),
        offset_minutes: None,
        lat: Some(21.2731),
        lon: Some(106.1946),
        damaged: None,
    };
    let bytes = insert_app1(&marked_jpeg(2400, 1200), &build_tiff(&exif)).unwrap();
    let photo = f.attach(&app, &bytes, json!({})).await;

    // The endpoint without its slash, as a client may be configured, and an
    // upload's own URL answer OPTIONS alike.
    let own = format!("/api/uploads/{}", uuid::Uuid::now_v7());
    for path in ["/api/uploads", own.as_str()] {
        let r = req("OPTIONS", path).send(&app.router).await;
        assert_eq!(
            (r.status.as_u16(), header(&r, "tus-version")),
            (204, "1.0.0".into()),
            "{path}"
        );
    }
    let r = req("OPTIONS", "/api/uploads/").send(&app.router).await;
    assert_eq!(r.status, 204);
    assert_eq!(header(&r, "tus-version"), "1.0.0");
    for ext in [
        "creation",
        "creation-with-upload",
        "checksum",
        "termination",
        "expiration",
    ] {
        assert!(
            header(&r, "tus-extension").split(',').any(|e| e == ext),
            "{ext}"
        );
    }
    assert!(header(&r, "tus-checksum-algorithm").contains("sha1"));
    assert_eq!(header(&r, "tus-max-size"), "25000000");

    let before = f.photo(&app, &photo).await;
    assert_eq!(before["status"], "waiting");
    let r = f.upload(&app, &photo, &bytes, 64 * 1024).await;
    assert_eq!(r.status, 204, "{}", r.text());
    assert_eq!(header(&r, "upload-offset"), bytes.len().to_string());

    let got = f.photo(&app, &photo).await;
    assert_eq!(got["status"], "ok", "{got}");
    // Orientation applied: 2400×1200 stored, 1200×2400 shown.
    assert_eq!(
        (got["width"].as_i64(), got["height"].as_i64()),
        (Some(1200), Some(2400))
    );
    // The record gave no time or place: the file's EXIF fills them (+07:00).
    assert_eq!(got["taken_at_ms"], 1_772_695_800_000i64);
    assert_eq!(got["time_source"], "exif");
    assert!((got["lat"].as_f64().unwrap() - 21.2731).abs() < 1e-4);
    assert_eq!(got["location_source"], "exif");
    assert_eq!(got["caption"], "Máy dập");

    for (size, longest) in [("display", 1600), ("thumb", 320)] {
        let r = app
            .get(
                &format!("/api/photos/{photo}/{size}"),
                Some(&f.phone.cookie),
            )
            .await;
        assert_eq!(r.status, 200);
        assert_eq!(header(&r, "content-type"), "image/jpeg");
        let img = image::load_from_memory(&r.body).unwrap().to_rgb8();
        assert_eq!(
            img.height(),
            longest,
            "{size} is portrait after orientation"
        );
        assert_eq!(img.width(), longest / 2);
        // The red corner went from top-left to top-right.
        let p = img.get_pixel(img.width() - 1 - img.width() / 16, img.height() / 16);
        assert!(p[0] > 180 && p[1] < 90, "{size}: {p:?}");
    }
    let r = app
        .get(
            &format!("/api/photos/{photo}/original"),
            Some(&f.phone.cookie),
        )
        .await;
    assert_eq!(sha256_hex(&r.body), sha256_hex(&bytes));
    // Streamed from storage in chunks, with its length announced up front.
    assert!(bytes.len() > 64 * 1024, "more than one chunk");
    assert_eq!(header(&r, "content-length"), bytes.len().to_string());

    // Pull carries the photo inside its visit, with its status.
    let changes = app.pull_all(&f.phone.cookie).await;
    let visit = changes
        .iter()
        .rev()
        .find(|c| c["entity"] == "visit" && c["record"]["id"] == f.visit.as_str())
        .expect("the visit comes down again");
    let photos = visit["record"]["photos"].as_array().unwrap();
    assert_eq!(photos.len(), 1);
    assert_eq!(photos[0]["id"], photo.as_str());
    assert_eq!(photos[0]["status"], "ok");

    // The supervisor sees it; another inspector does not.
    let (supervisor, _) = app.login("giamsat").await;
    let thumb = format!("/api/photos/{photo}/thumb");
    let seen = app.get(&thumb, Some(&supervisor)).await;
    assert_eq!(seen.status, 200);
    // The browser keeps the bytes but asks each time, so a logout or another
    // account on the same browser is answered by the server, not its cache.
    assert_eq!(header(&seen, "cache-control"), "private, no-cache");
    let etag = header(&seen, "etag");
    let again = req("GET", &thumb)
        .header("if-none-match", &etag)
        .cookie(Some(&supervisor))
        .send(&app.router)
        .await;
    assert_eq!(again.status, 304);
    assert!(again.body.is_empty());
    let (other, _) = app.login("ksv2").await;
    let r = app.get(&format!("/api/photos/{photo}"), Some(&other)).await;
    expect_error(&r, 403, "auth.forbidden");
    let revalidated = req("GET", &thumb)
        .header("if-none-match", &etag)
        .cookie(Some(&other))
        .send(&app.router)
        .await;
    expect_error(&revalidated, 403, "auth.forbidden");
}

async fn every_protocol_error_is_answered_as_tus_specifies(app: TestApp) {
    let mut f = field(&app, "ksv1").await;
    let bytes = marked_jpeg(64, 48);
    let photo = f.attach(&app, &bytes, json!({})).await;
    let url = f.created(&app, &photo, bytes.len()).await;
    let cookie = Some(f.phone.cookie.as_str());

    // 412: no or another protocol version.
    let r = req("HEAD", &url).cookie(cookie).send(&app.router).await;
    assert_eq!(r.status, 412);
    let r = Req::replace_header(f.create(&photo, bytes.len()), "tus-resumable", "0.2.2")
        .send(&app.router)
        .await;
    assert_eq!(r.status, 412);
    assert_eq!(header(&r, "tus-resumable"), "1.0.0");
    assert_eq!(header(&r, "tus-version"), "1.0.0");
    // The guard's refusals carry the version too.
    let r = req("HEAD", &url)
        .header("tus-resumable", "1.0.0")
        .send(&app.router)
        .await;
    assert_eq!(
        (r.status.as_u16(), header(&r, "tus-resumable")),
        (401, "1.0.0".into())
    );

    // 415: bytes that are not application/offset+octet-stream.
    let r = req("PATCH", &url)
        .header("tus-resumable", "1.0.0")
        .header("upload-offset", "0")
        .bytes("image/jpeg", bytes.clone())
        .cookie(cookie)
        .send(&app.router)
        .await;
    expect_error(&r, 415, "upload.content_type");

    // 460: a chunk that does not match its checksum; the offset stays. Its
    // media type in capitals is still the tus one (they are case-insensitive),
    // so the refusal is the checksum's, not a 415.
    let r = Req::replace_header(
        f.patch(&url, 0, &bytes[..10]),
        "content-type",
        "Application/Offset+Octet-Stream",
    );
    let r = Req::replace_header(
        r,
        "upload-checksum",
        &format!("sha1 {}", b64(&sha1::Sha1::digest(b"other"))),
    )
    .send(&app.router)
    .await;
    expect_error(&r, 460, "upload.checksum_mismatch");
    assert_eq!(header(&f.head(&app, &url).await, "upload-offset"), "0");
    // 400: a checksum algorithm we do not know.
    let r = Req::replace_header(
        f.patch(&url, 0, &bytes[..10]),
        "upload-checksum",
        "md5 AAAA",
    )
    .send(&app.router)
    .await;
    expect_error(&r, 400, "request.malformed");
    // 400, not 460: a checksum header without a value, or one too short.
    for bad in ["sha1", "sha1 ", "sha256 AAAA"] {
        let r = Req::replace_header(f.patch(&url, 0, &bytes[..10]), "upload-checksum", bad)
            .send(&app.router)
            .await;
        expect_error(&r, 400, "request.malformed");
    }
    assert_eq!(header(&f.head(&app, &url).await, "upload-offset"), "0");

    // 409: the wrong offset; the offset stays.
    let r = f.patch(&url, 0, &bytes[..10]).send(&app.router).await;
    assert_eq!(r.status, 204);
    let r = f.patch(&url, 5, &bytes[5..20]).send(&app.router).await;
    expect_error(&r, 409, "upload.offset_mismatch");
    assert_eq!(r.json()["params"]["offset"], 10);
    let h = f.head(&app, &url).await;
    assert_eq!(h.status, 200);
    assert_eq!(header(&h, "upload-offset"), "10");
    assert_eq!(header(&h, "upload-length"), bytes.len().to_string());
    assert_eq!(header(&h, "cache-control"), "no-store");
    assert!(header(&h, "upload-metadata").contains("photo_id "));

    // 413: past the declared length, and a declared length over the limit.
    let mut long = bytes[10..].to_vec();
    long.push(0);
    let r = f.patch(&url, 10, &long).send(&app.router).await;
    expect_error(&r, 413, "request.too_large");
    assert_eq!(header(&f.head(&app, &url).await, "upload-offset"), "10");
    let r = Req::replace_header(f.create(&photo, 1), "upload-length", "25000001")
        .send(&app.router)
        .await;
    expect_error(&r, 413, "request.too_large");
    assert_eq!(r.json()["params"]["limit"], 25_000_000);

    // X-HTTP-Method-Override stands for PATCH behind proxies that drop it.
    let r = req("POST", &url)
        .header("tus-resumable", "1.0.0")
        .header("x-http-method-override", "PATCH")
        .header("upload-offset", "10")
        .bytes("application/offset+octet-stream", bytes[10..13].to_vec())
        .cookie(cookie)
        .send(&app.router)
        .await;
    assert_eq!(r.status, 204, "{}", r.text());
    assert_eq!(header(&r, "upload-offset"), "13");
    // Without the override a POST says what is missing (400); another method is 405.
    let post = |method: Option<&str>| {
        let r = req("POST", &url).header("tus-resumable", "1.0.0");
        match method {
            Some(m) => r.header("x-http-method-override", m),
            None => r,
        }
        .cookie(cookie)
        .send(&app.router)
    };
    expect_error(&post(None).await, 400, "request.malformed");
    expect_error(&post(Some("GET")).await, 405, "upload.method");
    assert_eq!(header(&f.head(&app, &url).await, "upload-offset"), "13");

    // Creation needs a known photo of the caller, its exact size, and photo_id.
    let r = f.create(&photo, bytes.len() + 1).send(&app.router).await;
    expect_error(&r, 422, "upload.size_mismatch");
    let r = f
        .create(&uuid::Uuid::now_v7().to_string(), 10)
        .send(&app.router)
        .await;
    expect_error(&r, 422, "upload.unknown_photo");
    let r = Req::replace_header(
        f.create(&photo, bytes.len()),
        "upload-metadata",
        "filename YS5qcGc=",
    )
    .send(&app.router)
    .await;
    expect_error(&r, 400, "request.malformed");
    let r = Req::replace_header(f.create(&photo, bytes.len()), "upload-length", "")
        .send(&app.router)
        .await;
    expect_error(&r, 400, "request.malformed");
    let other = Phone::login(&app, "ksv2").await;
    let r = Req::replace_header(f.create(&photo, bytes.len()), "cookie", &other.cookie)
        .send(&app.router)
        .await;
    expect_error(&r, 403, "auth.forbidden");
    let r = req("HEAD", &url)
        .header("tus-resumable", "1.0.0")
        .cookie(Some(&other.cookie))
        .send(&app.router)
        .await;
    assert_eq!(r.status, 403);

    // Termination: 204, then 404 for everything (as tusd: the Java and
    // Android clients make a new upload only on a 404); an unknown upload too.
    let r = req("DELETE", &url)
        .header("tus-resumable", "1.0.0")
        .cookie(cookie)
        .send(&app.router)
        .await;
    assert_eq!(r.status, 204);
    assert_eq!(f.head(&app, &url).await.status, 404);
    let r = f.patch(&url, 13, &bytes[13..]).send(&app.router).await;
    expect_error(&r, 404, "upload.gone");
    let r = f
        .head(&app, &format!("/api/uploads/{}", uuid::Uuid::now_v7()))
        .await;
    assert_eq!(r.status, 404);
    assert_eq!(f.head(&app, "/api/uploads/..%2F..%2Fetc").await.status, 404);

    // Creation-with-upload: the whole photo in the POST.
    let r = f
        .create(&photo, bytes.len())
        .bytes("application/offset+octet-stream", bytes.clone())
        .send(&app.router)
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(header(&r, "upload-offset"), bytes.len().to_string());
    assert_eq!(f.photo(&app, &photo).await["status"], "ok");
}

async fn an_expired_upload_is_gone(app: TestApp) {
    let mut f = field(&app, "ksv1").await;
    let bytes = marked_jpeg(32, 32);
    let photo = f.attach(&app, &bytes, json!({})).await;
    let mut photos =
        app::photos::storage::Photos::on_disk(tempfile::tempdir().unwrap().keep()).unwrap();
    photos.upload_ttl_ms = -1;
    let storage = photos.storage.clone();
    let router = app.router_with_photos(photos);
    let r = f.create(&photo, bytes.len()).send(&router).await;
    assert_eq!(r.status, 201);
    let url = header(&r, "location");
    // What an earlier PATCH stored before the phone went out of reach.
    let id = url.rsplit('/').next().unwrap().to_string();
    storage.write_partial(&id, 0, &bytes[..100]).unwrap();
    let r = f.patch(&url, 0, &bytes).send(&router).await;
    expect_error(&r, 404, "upload.expired");
    assert!(
        storage.read_partial(&id).is_err(),
        "an upload found expired drops its bytes (the expiry job skips ended ones)"
    );
    let r = req("HEAD", &url)
        .header("tus-resumable", "1.0.0")
        .cookie(Some(&f.phone.cookie))
        .send(&router)
        .await;
    assert_eq!(r.status, 404);
}

async fn a_file_that_does_not_match_its_record_is_refused_and_starts_over(app: TestApp) {
    let mut f = field(&app, "ksv1").await;
    let bytes = marked_jpeg(80, 60);
    let photo = f.attach(&app, &bytes, json!({})).await;
    let mut wrong = bytes.clone();
    let last = wrong.len() - 3;
    wrong[last] ^= 0xFF;
    let url = f.created(&app, &photo, bytes.len()).await;
    let r = f.patch(&url, 0, &wrong).send(&app.router).await;
    expect_error(&r, 460, "upload.sha256_mismatch");
    assert_eq!(
        f.head(&app, &url).await.status,
        404,
        "the phone must start over"
    );
    assert_eq!(f.photo(&app, &photo).await["status"], "waiting");
    let r = f.upload(&app, &photo, &bytes, 1 << 20).await;
    assert_eq!(r.status, 204);
    assert_eq!(f.photo(&app, &photo).await["status"], "ok");
}

/// A stop after the upload's bytes moved into storage (the partial file is
/// gone) but before the database said so: finishing again finds the stored
/// original instead of failing on the missing partial for ever. And a photo
/// an older server left waiting beside a completed upload is repaired.
async fn an_upload_stopped_after_its_bytes_were_stored_finishes(app: TestApp) {
    let mut f = field(&app, "ksv1").await;
    let bytes = marked_jpeg(100, 70);
    let photo = f.attach(&app, &bytes, json!({})).await;
    let url = f.created(&app, &photo, bytes.len()).await;
    let id = url.rsplit('/').next().unwrap().to_string();
    let storage = app.state.photos.storage.clone();
    storage.write_partial(&id, 0, &bytes).unwrap();
    assert!(
        app::store::uploads::advance(&app.db, &id, 0, bytes.len() as i64)
            .await
            .unwrap()
    );
    let key = format!("original/{}.jpg", sha256_hex(&bytes));
    storage.promote_partial(&id, &key).unwrap();
    assert!(storage.read_partial(&id).is_err());
    let h = f.head(&app, &url).await;
    assert_eq!(h.status, 200, "{}", h.text());
    assert_eq!(header(&h, "upload-offset"), bytes.len().to_string());
    assert_eq!(f.photo(&app, &photo).await["status"], "ok");

    // As an older server left it: the upload complete, the photo waiting.
    let other = marked_jpeg(90, 70);
    let photo = f.attach(&app, &other, json!({})).await;
    let url = f.created(&app, &photo, other.len()).await;
    let id = url.rsplit('/').next().unwrap().to_string();
    storage
        .put(&format!("original/{}.jpg", sha256_hex(&other)), &other)
        .unwrap();
    sqlx::query("UPDATE uploads SET upload_offset = length, completed_at = 1 WHERE id = $1")
        .bind(&id)
        .execute(&app.db.pool)
        .await
        .unwrap();
    assert_eq!(f.photo(&app, &photo).await["status"], "waiting");
    assert_eq!(
        server::photo_bytes::repair_completed_but_waiting(&app.state)
            .await
            .unwrap(),
        1
    );
    assert_eq!(f.photo(&app, &photo).await["status"], "ok");
    let r = app
        .get(
            &format!("/api/photos/{photo}/original"),
            Some(&f.phone.cookie),
        )
        .await;
    assert_eq!(r.body, other);
}

/// The bytes that arrive are always checked against the record's hash, even
/// when an original of that hash is stored already: otherwise anyone who
/// knew another photo's hash and size could claim its image with any bytes.
async fn bytes_that_arrive_are_hashed_even_when_their_hash_is_stored(app: TestApp) {
    let mut f = field(&app, "ksv1").await;
    let bytes = marked_jpeg(60, 40);
    let first = f.attach(&app, &bytes, json!({})).await;
    assert_eq!(f.upload(&app, &first, &bytes, 1 << 20).await.status, 204);
    let claimed = f.attach(&app, &bytes, json!({})).await;
    let forged: Vec<u8> = (0..bytes.len()).map(|i| (i * 31 % 251) as u8).collect();
    let url = f.created(&app, &claimed, bytes.len()).await;
    let r = f.patch(&url, 0, &forged).send(&app.router).await;
    expect_error(&r, 460, "upload.sha256_mismatch");
    assert_eq!(f.photo(&app, &claimed).await["status"], "waiting");
    // The same bytes, honestly sent, complete it.
    assert_eq!(f.upload(&app, &claimed, &bytes, 1 << 20).await.status, 204);
    assert_eq!(f.photo(&app, &claimed).await["status"], "ok");
}

/// tus 1.0 lets a metadata value be any bytes (an MD5, a file name in a
/// legacy encoding): a client that sends one still gets its upload.
async fn a_metadata_value_may_be_any_bytes(app: TestApp) {
    let mut f = field(&app, "ksv1").await;
    let bytes = marked_jpeg(20, 20);
    let photo = f.attach(&app, &bytes, json!({})).await;
    let meta = format!(
        "photo_id {},checksum {}",
        b64(photo.as_bytes()),
        b64(&[0xFF, 0xFE, 0x00, 0x81])
    );
    let r = f
        .create(&photo, bytes.len())
        .replace_header("upload-metadata", &meta)
        .send(&app.router)
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
}

/// A phone that declares one type and sends another: the original is served
/// as what its bytes are, so a browser honouring `nosniff` still shows it.
async fn an_original_is_served_as_the_format_its_bytes_are(app: TestApp) {
    let mut f = field(&app, "ksv1").await;
    let bytes = marked_jpeg(24, 24);
    let photo = f
        .attach(&app, &bytes, json!({"content_type": "image/png"}))
        .await;
    let r = f.upload(&app, &photo, &bytes, 1 << 20).await;
    assert_eq!(r.status, 204, "{}", r.text());
    let r = app
        .get(
            &format!("/api/photos/{photo}/original"),
            Some(&f.phone.cookie),
        )
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(header(&r, "content-type"), "image/jpeg");
    assert_eq!(r.body, bytes);
}

/// A DELETE (termination) that lands while a PATCH is still sending: the
/// PATCH's next block must not leave the file the termination removed, and
/// its answer says the upload is gone (tus: 404 or 410), not an offset clash.
async fn a_termination_during_a_patch_leaves_no_bytes_behind(app: TestApp) {
    let mut f = field(&app, "ksv1").await;
    let size = 768 * 1024;
    let bytes: Vec<u8> = (0..size).map(|i| (i * 7 % 251) as u8).collect();
    let photo = f.attach(&app, &bytes, json!({})).await;
    let url = f.created(&app, &photo, size).await;
    let id = url.rsplit('/').next().unwrap().to_string();
    let (db, storage, upload) = (app.db.clone(), app.state.photos.storage.clone(), id.clone());
    let (first, rest) = (bytes[..300 * 1024].to_vec(), bytes[300 * 1024..].to_vec());
    // The first block is stored and acknowledged; then the upload is
    // terminated as DELETE does it; then the rest of the body arrives.
    let body = futures_util::stream::unfold(0u8, move |step| {
        let (db, storage, upload) = (db.clone(), storage.clone(), upload.clone());
        let (first, rest) = (first.clone(), rest.clone());
        async move {
            match step {
                0 => Some((Ok::<_, std::io::Error>(axum::body::Bytes::from(first)), 1)),
                1 => {
                    app::store::uploads::end_upload(&db, &upload).await.unwrap();
                    storage.delete_partial(&upload).unwrap();
                    Some((Ok(axum::body::Bytes::from(rest)), 2))
                }
                _ => None,
            }
        }
    });
    let request = Request::builder()
        .method("PATCH")
        .uri(url.as_str())
        .header("tus-resumable", "1.0.0")
        .header("upload-offset", "0")
        .header("content-type", "application/offset+octet-stream")
        .header("cookie", f.phone.cookie.as_str())
        .body(Body::from_stream(body))
        .unwrap();
    let r = crate::helpers::send(&app.router, request).await;
    expect_error(&r, 404, "upload.gone");
    assert!(
        app.state.photos.storage.read_partial(&id).is_err(),
        "no partial file outlives the termination"
    );
}

/// A body that sends `bytes` and then fails, as a dropped connection does.
fn cut_body(bytes: Vec<u8>) -> Body {
    let pieces: Vec<Result<axum::body::Bytes, std::io::Error>> = bytes
        .chunks(16 * 1024)
        .map(|c| Ok(axum::body::Bytes::copy_from_slice(c)))
        .chain(std::iter::once(Err(std::io::Error::new(
            std::io::ErrorKind::ConnectionReset,
            "cut",
        ))))
        .collect();
    Body::from_stream(futures_util::stream::iter(pieces))
}

/// A 5 MB upload cut at 20 random offsets, in chunks with checksums (the
/// phone's way) and as one long request per attempt (tus-js-client's default).
async fn an_upload_cut_at_twenty_random_offsets_completes_with_the_right_hash(app: TestApp) {
    let mut f = field(&app, "ksv1").await;
    let mut seed = 0x9E37_79B9_7F4A_7C15u64;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let size = 5 * 1024 * 1024;
    let bytes: Vec<u8> = (0..size).map(|_| next() as u8).collect();
    for (chunk, checksum) in [(512 * 1024, true), (size, false)] {
        let mut bytes = bytes.clone();
        bytes[0] = chunk as u8; // two different files
        let photo = f.attach(&app, &bytes, json!({})).await;
        let url = f.created(&app, &photo, size).await;
        let mut cuts: Vec<usize> = (0..20).map(|_| 1 + next() as usize % (size - 1)).collect();
        cuts.sort_unstable();
        cuts.dedup();
        let (mut offset, mut sent) = (0usize, 0usize);
        let mut pending = cuts.clone().into_iter().peekable();
        while offset < size {
            let end = (offset + chunk).min(size);
            let cut = pending.next_if(|c| *c > offset && *c < end);
            let upto = cut.unwrap_or(end);
            let mut request = Request::builder()
                .method("PATCH")
                .uri(url.as_str())
                .header("tus-resumable", "1.0.0")
                .header("upload-offset", offset.to_string())
                .header("content-type", "application/offset+octet-stream")
                .header("cookie", f.phone.cookie.as_str());
            if checksum {
                let sum = b64(&sha1::Sha1::digest(&bytes[offset..end]));
                request = request.header("upload-checksum", format!("sha1 {sum}"));
            }
            let body = match cut {
                Some(_) => cut_body(bytes[offset..upto].to_vec()),
                None => Body::from(bytes[offset..end].to_vec()),
            };
            sent += upto - offset;
            let r = crate::helpers::send(&app.router, request.body(body).unwrap()).await;
            if cut.is_none() {
                assert_eq!(r.status, 204, "{}", r.text());
            }
            // Skip cut points already behind us (several inside one chunk).
            while pending.next_if(|c| *c <= offset).is_some() {}
            let h = f.head(&app, &url).await;
            let acked: usize = header(&h, "upload-offset").parse().unwrap();
            assert!(
                acked >= offset && acked <= upto,
                "{acked} outside {offset}..={upto}"
            );
            if !checksum && cut.is_some() {
                assert_eq!(
                    acked, upto,
                    "without a checksum every byte that arrived counts"
                );
            }
            offset = acked;
        }
        assert!(
            sent <= size + cuts.len() * chunk,
            "sent {sent} for {size} with {} cuts of chunk {chunk}",
            cuts.len()
        );
        let r = app
            .get(
                &format!("/api/photos/{photo}/original"),
                Some(&f.phone.cookie),
            )
            .await;
        expect_error(&r, 422, "photo.not_an_image");
        let got = f.photo(&app, &photo).await;
        assert_eq!(got["status"], "bad");
        assert_eq!(got["problem"]["code"], "photo.not_an_image");
        let stored = app
            .state
            .photos
            .storage
            .get(&format!("original/{}.bin", sha256_hex(&bytes)))
            .unwrap();
        assert_eq!(sha256_hex(&stored), sha256_hex(&bytes));
    }
}

async fn photo_records_are_checked_and_fixed_once_attached(app: TestApp) {
    let mut f = field(&app, "ksv1").await;
    let bytes = marked_jpeg(16, 16);
    let photo = f
        .attach(
            &app,
            &bytes,
            json!({"taken_at_ms": 1_772_695_800_000i64, "time_source": "device",
        "lat": 21.3, "lon": 106.2, "accuracy_m": 12.0, "location_source": "gps"}),
        )
        .await;
    let cases = [
        (json!({"sha256": "0".repeat(64)}), "photo.fixed"),
        (json!({"caption": "x".repeat(501)}), "photo.bad_value"),
        (json!({"lat": 95.0}), "photo.bad_value"),
        (json!({"time_source": "guess"}), "photo.bad_value"),
        (json!({"colour": "red"}), "photo.unknown_key"),
    ];
    for (fields, code) in cases {
        let m = f
            .phone
            .mutation("photo", "upsert", &photo, fields.clone(), 0);
        let results = f.phone.push_ok(&app, &[m]).await;
        assert_eq!(results[0]["error"]["code"], code, "{fields}");
    }
    // A phone whose clock runs days ahead: its time is not believed, but the
    // photo is kept (a refusal would strand it on the phone for good).
    let ahead = app::store::now_ms() + 3 * 86_400_000;
    let fast = f
        .attach(
            &app,
            &marked_jpeg(16, 17),
            json!({"taken_at_ms": ahead, "time_source": "device"}),
        )
        .await;
    let got = f.photo(&app, &fast).await;
    assert!(got["taken_at_ms"].is_null(), "{got}");
    assert!(got["time_source"].is_null(), "{got}");
    // Twenty hours fast: within the day a camera's EXIF time may be off by
    // its zone, but the phone's own clock has no zone to excuse it.
    let ahead = app::store::now_ms() + 20 * 3_600_000;
    for (source, kept) in [("device", false), ("exif", true)] {
        let attached = f
            .attach(
                &app,
                &marked_jpeg(18, 19 + u32::from(kept)),
                json!({"taken_at_ms": ahead, "time_source": source}),
            )
            .await;
        let got = f.photo(&app, &attached).await;
        assert_eq!(got["taken_at_ms"].is_null(), !kept, "{source}: {got}");
    }
    let new = uuid::Uuid::now_v7().to_string();
    for (fields, code) in [
        (
            json!({"visit_id": f.visit, "field": "workforce", "sha256": sha256_hex(b"x"), "size": 1, "content_type": "image/jpeg"}),
            "photo.unknown_field",
        ),
        (
            json!({"visit_id": f.visit, "field": "evidence_photos", "sha256": sha256_hex(b"x"), "size": 0, "content_type": "image/jpeg"}),
            "photo.bad_value",
        ),
        (
            json!({"visit_id": f.visit, "field": "evidence_photos", "sha256": sha256_hex(b"x"), "size": 1, "content_type": "image/gif"}),
            "photo.bad_value",
        ),
        (
            json!({"visit_id": f.visit, "field": "evidence_photos"}),
            "photo.header_missing",
        ),
        // A valid header with bad metadata: refused whole, no photo left behind.
        (
            json!({"visit_id": f.visit, "field": "evidence_photos", "sha256": sha256_hex(b"z"), "size": 1, "content_type": "image/jpeg", "lat": 999.0}),
            "photo.bad_value",
        ),
    ] {
        let m = f.phone.mutation("photo", "upsert", &new, fields.clone(), 0);
        let results = f.phone.push_ok(&app, &[m]).await;
        assert_eq!(results[0]["error"]["code"], code, "{fields}");
        let r = app
            .get(&format!("/api/photos/{new}"), Some(&f.phone.cookie))
            .await;
        assert_eq!(r.status, 404, "a refused attach left a photo: {fields}");
    }
    // Another inspector cannot attach to this visit.
    let mut other = Phone::login(&app, "ksv2").await;
    let m = other.mutation("photo", "upsert", &uuid::Uuid::now_v7().to_string(), json!({
        "visit_id": f.visit, "field": "evidence_photos", "sha256": sha256_hex(b"y"), "size": 1, "content_type": "image/jpeg"}), 0);
    assert_eq!(
        other.push_ok(&app, &[m]).await[0]["error"]["code"],
        "visit.not_yours"
    );

    // The caption may change; a removal hides the photo.
    let m = f
        .phone
        .mutation("photo", "upsert", &photo, json!({"caption": "Lò nung"}), 0);
    assert_eq!(statuses(&f.phone.push_ok(&app, &[m]).await), ["applied"]);
    let got = f.photo(&app, &photo).await;
    assert_eq!(got["caption"], "Lò nung");
    assert_eq!(got["time_source"], "device");
    assert_eq!(got["accuracy_m"], 12.0);
    let m = f.phone.mutation("photo", "delete", &photo, json!({}), 0);
    assert_eq!(statuses(&f.phone.push_ok(&app, &[m]).await), ["applied"]);
    let r = app
        .get(&format!("/api/photos/{photo}"), Some(&f.phone.cookie))
        .await;
    assert_eq!(r.status, 404);
}

/// The server stopped (or the client hung up) after the last byte was
/// acknowledged and before the verdict: the next HEAD finishes the upload, and
/// so does start-up for one nobody asks about.
async fn an_upload_interrupted_after_its_last_byte_finishes_later(app: TestApp) {
    let mut f = field(&app, "ksv1").await;
    for via_head in [true, false] {
        let bytes = marked_jpeg(if via_head { 120 } else { 140 }, 90);
        let photo = f.attach(&app, &bytes, json!({})).await;
        let url = f.created(&app, &photo, bytes.len()).await;
        let id = url.rsplit('/').next().unwrap().to_string();
        // As a request dropped between writing and finishing leaves it.
        app.state
            .photos
            .storage
            .write_partial(&id, 0, &bytes)
            .unwrap();
        assert!(
            app::store::uploads::advance(&app.db, &id, 0, bytes.len() as i64)
                .await
                .unwrap()
        );
        assert_eq!(f.photo(&app, &photo).await["status"], "waiting");
        if via_head {
            let h = f.head(&app, &url).await;
            assert_eq!(header(&h, "upload-offset"), bytes.len().to_string());
        } else {
            for upload in app::store::uploads::stalled_uploads(&app.db).await.unwrap() {
                server::photo_bytes::finish_stalled(&app.state, &upload)
                    .await
                    .unwrap();
            }
        }
        assert_eq!(
            f.photo(&app, &photo).await["status"],
            "ok",
            "finished via HEAD: {via_head}"
        );
    }
    assert!(app::store::uploads::stalled_uploads(&app.db)
        .await
        .unwrap()
        .is_empty());
}

/// A client making one upload after another for a photo: each used to leave
/// a photo-sized partial file for a week, and each finished one stored,
/// hashed and judged the same bytes again and sent every phone a change. Only
/// the newest two unfinished uploads live; once the bytes are in, a new
/// upload is born complete and nothing is done again.
async fn a_photo_keeps_two_unfinished_uploads_and_takes_its_bytes_once(app: TestApp) {
    let mut f = field(&app, "ksv1").await;
    let bytes = marked_jpeg(48, 32);
    let photo = f.attach(&app, &bytes, json!({})).await;
    let first = f.created(&app, &photo, bytes.len()).await;
    assert_eq!(
        f.patch(&first, 0, &bytes[..100])
            .send(&app.router)
            .await
            .status,
        204
    );
    let second = f.created(&app, &photo, bytes.len()).await;
    let third = f.created(&app, &photo, bytes.len()).await;
    let r = f.patch(&first, 100, &bytes[100..]).send(&app.router).await;
    expect_error(&r, 404, "upload.gone");
    assert_eq!(f.head(&app, &second).await.status, 200);
    let id = first.rsplit('/').next().unwrap();
    let partial = app.state.photos.storage.read_partial(id).map(|_| ());
    assert!(
        matches!(&partial, Err(e) if e.kind() == std::io::ErrorKind::NotFound),
        "the ended upload's bytes stay: {partial:?}"
    );
    assert_eq!(
        f.patch(&third, 0, &bytes).send(&app.router).await.status,
        204
    );
    assert_eq!(f.photo(&app, &photo).await["status"], "ok");

    let before = app.counts().await;
    for with_bytes in [false, true] {
        let mut create = f.create(&photo, bytes.len());
        if with_bytes {
            create = create.bytes("application/offset+octet-stream", bytes.clone());
        }
        let r = create.send(&app.router).await;
        assert_eq!(r.status, 201, "{}", r.text());
        assert_eq!(header(&r, "upload-offset"), bytes.len().to_string());
        let head = f.head(&app, &header(&r, "location")).await;
        assert_eq!(head.status, 200);
        assert_eq!(header(&head, "upload-offset"), bytes.len().to_string());
    }
    assert_eq!(app.counts().await, before, "the bytes were taken again");
    assert_eq!(f.photo(&app, &photo).await["status"], "ok");
}

crate::engine_tests!(
    a_photo_keeps_two_unfinished_uploads_and_takes_its_bytes_once,
    bytes_that_arrive_are_hashed_even_when_their_hash_is_stored,
    an_upload_stopped_after_its_bytes_were_stored_finishes,
    a_metadata_value_may_be_any_bytes,
    an_original_is_served_as_the_format_its_bytes_are,
    a_termination_during_a_patch_leaves_no_bytes_behind,
    an_upload_interrupted_after_its_last_byte_finishes_later,
    a_photo_uploads_in_chunks_and_its_verdict_reaches_pull_and_get,
    every_protocol_error_is_answered_as_tus_specifies,
    an_expired_upload_is_gone,
    a_file_that_does_not_match_its_record_is_refused_and_starts_over,
    an_upload_cut_at_twenty_random_offsets_completes_with_the_right_hash,
    photo_records_are_checked_and_fixed_once_attached,
);
