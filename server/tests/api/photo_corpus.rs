//! The bad-image corpus: every file goes through the real upload and pipeline.
//! Each gets the expected verdict (code on the photo's status, 415/422 where the
//! server answers directly), none crashes or hangs the server, and none becomes
//! a usable photo on its visit. Then each EXIF orientation 1–8 comes out the
//! right way up.
//!
//! One file (about 850 lines): the tests share the hand-built PNG, JPEG and
//! WebP writers at the top, which exist to make files no encoder would.

use crate::helpers::TestApp;
use crate::security::expect_error;
use crate::uploads::{field, marked_jpeg};
use app::photos::exif::{build_tiff, insert_app1, ExifInfo, LocalDateTime};
use serde_json::json;
use std::io::Write;

pub(crate) fn png_chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    let mut crc = flate2::Crc::new();
    crc.update(kind);
    crc.update(data);
    out.extend_from_slice(&crc.sum().to_be_bytes());
}

/// A PNG declaring `w`×`h` (colour type, bit depth) whose IDAT holds `rows` of zeros.
fn png(w: u32, h: u32, color: u8, depth: u8, raw_zero_bytes: usize) -> Vec<u8> {
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&w.to_be_bytes());
    ihdr.extend_from_slice(&h.to_be_bytes());
    ihdr.extend_from_slice(&[depth, color, 0, 0, 0]);
    png_chunk(&mut out, b"IHDR", &ihdr);
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
    let zeros = vec![0u8; 1 << 20];
    let mut left = raw_zero_bytes;
    while left > 0 {
        let n = left.min(zeros.len());
        z.write_all(&zeros[..n]).unwrap();
        left -= n;
    }
    png_chunk(&mut out, b"IDAT", &z.finish().unwrap());
    png_chunk(&mut out, b"IEND", &[]);
    out
}

pub(crate) fn real_png(w: u32, h: u32) -> Vec<u8> {
    let img = image::RgbImage::from_pixel(w, h, image::Rgb([10, 200, 10]));
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png).unwrap();
    out.into_inner()
}

/// A JPEG whose SOF0 declares `w`×`h` (the scan data is a stub).
fn jpeg_declaring(w: u16, h: u16) -> Vec<u8> {
    let mut out = vec![0xFF, 0xD8];
    out.extend_from_slice(&[0xFF, 0xC0, 0x00, 0x11, 0x08]);
    out.extend_from_slice(&h.to_be_bytes());
    out.extend_from_slice(&w.to_be_bytes());
    out.extend_from_slice(&[3, 1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1]);
    out.extend_from_slice(&[
        0xFF, 0xDA, 0x00, 0x0C, 3, 1, 0, 2, 0x11, 3, 0x11, 0, 0x3F, 0,
    ]);
    out.extend_from_slice(&[0x12, 0x34, 0x56, 0xFF, 0xD9]);
    out
}

async fn every_bad_file_gets_its_verdict_and_none_becomes_a_photo(app: TestApp) {
    let mut f = field(&app, "ksv1").await;
    let good = marked_jpeg(640, 480);
    let png_ok = real_png(50, 40);
    let gif = b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x01\x00\x00\x00\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;".to_vec();
    let mut random = Vec::with_capacity(100_000);
    let mut s = 0x2545_F491_4F6C_DD1Du64;
    for _ in 0..100_000 {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        random.push(s as u8);
    }
    // A photo with real scan data, cut in half with its end marker put back
    // (the lenient decoder painted the lost rows grey and called it good),
    // and one whose header claims four times the rows its data holds.
    let noisy = crate::object_store::noise_jpeg(256, 90);
    let mut cut_with_end = noisy[..noisy.len() / 2].to_vec();
    cut_with_end.extend_from_slice(&[0xFF, 0xD9]);
    let mut taller = noisy.clone();
    let sof = taller
        .windows(2)
        .position(|w| w == [0xFF, 0xC0])
        .expect("a baseline JPEG");
    taller[sof + 5..sof + 7].copy_from_slice(&1024u16.to_be_bytes());
    let mut tiff = build_tiff(&ExifInfo::default());
    tiff.resize(30_000, 0);
    let with_big_exif = insert_app1(&good, &tiff).unwrap();
    let corpus: Vec<(&str, Vec<u8>, u16, &str)> = vec![
        (
            "JPEG cut in half, end marker put back",
            cut_with_end,
            422,
            "photo.truncated",
        ),
        (
            "JPEG declaring more rows than its data",
            taller,
            422,
            "photo.truncated",
        ),
        (
            "JPEG cut inside its EXIF",
            with_big_exif[..20_000].to_vec(),
            422,
            "photo.truncated",
        ),
        (
            "truncated JPEG",
            good[..good.len() * 2 / 3].to_vec(),
            422,
            "photo.truncated",
        ),
        (
            "truncated PNG",
            png_ok[..png_ok.len() - 20].to_vec(),
            422,
            "photo.truncated",
        ),
        (
            "a JPEG header alone",
            good[..200].to_vec(),
            422,
            "photo.truncated",
        ),
        ("random bytes", random, 422, "photo.not_an_image"),
        (
            "HTML renamed .jpg",
            b"<!DOCTYPE html><html><body>404 Not Found</body></html>".to_vec(),
            422,
            "photo.not_an_image",
        ),
        (
            "JPEG declaring 65535x65535",
            jpeg_declaring(65535, 65535),
            422,
            "photo.too_many_pixels",
        ),
        // 20000² 1-bit pixels: 50 MB of zeros inflate from ~50 kB.
        (
            "decompression bomb",
            png(20_000, 20_000, 0, 1, 20_000 * 2_501),
            422,
            "photo.too_many_pixels",
        ),
        // Under the pixel cap, but 16-bit RGBA needs 800 MB to decode.
        (
            "memory bomb",
            png(10_000, 10_000, 6, 16, 1000),
            422,
            "photo.too_much_memory",
        ),
        ("GIF", gif, 415, "photo.unsupported_format"),
    ];
    for (name, bytes, status, code) in &corpus {
        let photo = f.attach(&app, bytes, json!({})).await;
        let started = std::time::Instant::now();
        let r = f.upload(&app, &photo, bytes, 1 << 20).await;
        assert_eq!(
            r.status, 204,
            "{name}: bytes and hash match, so the upload itself succeeds"
        );
        assert!(
            started.elapsed().as_secs() < 60,
            "{name} took {:?}",
            started.elapsed()
        );
        let got = f.photo(&app, &photo).await;
        assert_eq!(got["status"], "bad", "{name}: {got}");
        assert_eq!(got["problem"]["code"], *code, "{name}: {got}");
        assert!(
            got["problem"]["message"].as_str().unwrap().len() > 20,
            "{name}"
        );
        for size in ["thumb", "display"] {
            let r = app
                .get(
                    &format!("/api/photos/{photo}/{size}"),
                    Some(&f.phone.cookie),
                )
                .await;
            expect_error(&r, *status, code);
        }
    }
    // Zero bytes cannot even be attached.
    let m = f.phone.mutation(
        "photo",
        "upsert",
        &uuid::Uuid::now_v7().to_string(),
        json!({
        "visit_id": f.visit, "field": "evidence_photos", "sha256": crate::uploads::sha256_hex(b""),
        "size": 0, "content_type": "image/jpeg"}),
        0,
    );
    assert_eq!(
        f.phone.push_ok(&app, &[m]).await[0]["error"]["code"],
        "photo.bad_value"
    );
    assert!(matches!(
        server::images::derive(&[], 100_000_000),
        Err(server::images::Problem::Empty)
    ));

    // The server kept serving, and good files still pass.
    assert_eq!(app.get("/api/health", None).await.status, 200);
    for bytes in [good, png_ok] {
        let photo = f.attach(&app, &bytes, json!({})).await;
        assert_eq!(f.upload(&app, &photo, &bytes, 1 << 20).await.status, 204);
        assert_eq!(f.photo(&app, &photo).await["status"], "ok");
    }
    let visit = app.pull_all(&f.phone.cookie).await;
    let record = visit
        .iter()
        .rev()
        .find(|c| c["record"]["id"] == f.visit.as_str())
        .unwrap();
    let ok = record["record"]["photos"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["status"] == "ok")
        .count();
    assert_eq!(
        ok, 2,
        "only the two good files are usable photos on the visit"
    );
}

/// Where the stored image's top-left corner ends up once orientation `o` is applied.
fn corner_after(o: u8) -> (bool, bool) {
    // (right, bottom)
    match o {
        1 | 5 => (false, false),
        2 | 6 => (true, false),
        3 | 7 => (true, true),
        _ => (false, true),
    }
}

async fn each_exif_orientation_comes_out_the_right_way_up(app: TestApp) {
    let mut f = field(&app, "ksv1").await;
    for o in 1..=8u8 {
        let tiff = build_tiff(&ExifInfo {
            orientation: Some(o),
            ..Default::default()
        });
        let bytes = insert_app1(&marked_jpeg(400, 200), &tiff).unwrap();
        let photo = f.attach(&app, &bytes, json!({})).await;
        assert_eq!(f.upload(&app, &photo, &bytes, 1 << 20).await.status, 204);
        let got = f.photo(&app, &photo).await;
        assert_eq!(got["status"], "ok", "orientation {o}: {got}");
        let (w, h) = if o >= 5 { (200, 400) } else { (400, 200) };
        assert_eq!(
            (got["width"].as_i64(), got["height"].as_i64()),
            (Some(w), Some(h)),
            "orientation {o}"
        );
        let r = app
            .get(
                &format!("/api/photos/{photo}/display"),
                Some(&f.phone.cookie),
            )
            .await;
        let img = image::load_from_memory(&r.body).unwrap().to_rgb8();
        assert_eq!((img.width() as i64, img.height() as i64), (w, h));
        let (right, bottom) = corner_after(o);
        let at = |right: bool, bottom: bool| {
            let x = if right { img.width() - 10 } else { 10 };
            let y = if bottom { img.height() - 10 } else { 10 };
            *img.get_pixel(x, y)
        };
        let red = at(right, bottom);
        assert!(
            red[0] > 180 && red[1] < 90,
            "orientation {o}: expected red at {right},{bottom}, got {red:?}"
        );
        let grey = at(!right, !bottom);
        assert!(
            grey[0] < 160 && grey[1] > 100,
            "orientation {o}: opposite corner {grey:?}"
        );
    }
}

fn dated(year: i32, month: u8, day: u8) -> ExifInfo {
    ExifInfo {
        taken_local: Some(LocalDateTime {
            year,
            month,
            day,
            hour: 9,
            minute: 15,
            second: 0,
        }),
        lat: Some(21.2731),
        lon: Some(106.1946),
        ..Default::default()
    }
}

/// The same EXIF damaged in each way the parser tells apart.
fn damaged_exif_blocks() -> Vec<(&'static str, Vec<u8>)> {
    let good = build_tiff(&ExifInfo {
        orientation: Some(6),
        ..dated(2026, 3, 5)
    });
    let mut outside = good.clone();
    outside[4..8].copy_from_slice(&0xFFFF_FF00u32.to_le_bytes());
    let mut byte_order = good.clone();
    byte_order[..2].copy_from_slice(b"XX");
    let mut magic = good.clone();
    magic[2] = 43;
    let mut count = good.clone();
    count[8..10].copy_from_slice(&0xFFF0u16.to_le_bytes());
    vec![
        ("IFD0 outside the data", outside),
        ("bad byte order", byte_order),
        ("bad magic", magic),
        ("entry count past the end", count),
    ]
}

async fn a_photo_whose_exif_is_damaged_is_kept_with_a_warning(app: TestApp) {
    let mut f = field(&app, "ksv1").await;
    let phone_time = app::store::now_ms() - 3_600_000;
    for (name, tiff) in damaged_exif_blocks() {
        let bytes = insert_app1(&marked_jpeg(640, 480), &tiff).unwrap();
        let photo = f
            .attach(
                &app,
                &bytes,
                json!({"taken_at_ms": phone_time, "time_source": "device",
                       "lat": 21.3, "lon": 106.2, "accuracy_m": 12.0, "location_source": "gps"}),
            )
            .await;
        assert_eq!(f.upload(&app, &photo, &bytes, 1 << 20).await.status, 204);
        let got = f.photo(&app, &photo).await;
        assert_eq!(got["status"], "ok", "{name}: the pixels decode, {got}");
        assert!(got.get("problem").is_none(), "{name}: {got}");
        assert_eq!(
            got["warnings"][0]["code"], "photo.exif_unreadable",
            "{name}: {got}"
        );
        assert!(got["warnings"][0]["message"]
            .as_str()
            .unwrap()
            .contains("ignored"));
        // The record's own time and place stay, with their sources.
        assert_eq!(got["taken_at_ms"], phone_time, "{name}");
        assert_eq!(got["time_source"], "device", "{name}");
        assert_eq!(got["lat"], 21.3, "{name}");
        assert_eq!(got["location_source"], "gps", "{name}");
        // Damaged EXIF is not read, orientation included: stored as sent.
        assert_eq!(
            (got["width"].as_i64(), got["height"].as_i64()),
            (Some(640), Some(480))
        );
        for size in ["thumb", "display", "original"] {
            let r = app
                .get(
                    &format!("/api/photos/{photo}/{size}"),
                    Some(&f.phone.cookie),
                )
                .await;
            assert_eq!(r.status, 200, "{name} {size}");
        }
    }
}

/// A lossless WebP in the extended (VP8X) container with an `EXIF` chunk, as
/// Pillow writes it: the chunk starts with JPEG's `Exif\0\0` when `prefixed`.
fn webp_with_exif(w: u32, h: u32, tiff: &[u8], prefixed: bool) -> Vec<u8> {
    let img = image::RgbaImage::from_pixel(w, h, image::Rgba([30, 140, 60, 255]));
    let mut simple = Vec::new();
    image::codecs::webp::WebPEncoder::new_lossless(&mut simple)
        .encode(img.as_raw(), w, h, image::ExtendedColorType::Rgba8)
        .unwrap();
    assert_eq!(&simple[12..16], b"VP8L");
    let image_chunk = &simple[12..];
    let chunk = |out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]| {
        out.extend_from_slice(kind);
        out.extend_from_slice(&(data.len() as u32).to_le_bytes());
        out.extend_from_slice(data);
        if data.len() % 2 == 1 {
            out.push(0);
        }
    };
    let mut vp8x = vec![0x08 | 0x10, 0, 0, 0]; // EXIF and alpha flags
    vp8x.extend_from_slice(&(w - 1).to_le_bytes()[..3]);
    vp8x.extend_from_slice(&(h - 1).to_le_bytes()[..3]);
    let mut exif = Vec::new();
    if prefixed {
        exif.extend_from_slice(b"Exif\0\0");
    }
    exif.extend_from_slice(tiff);
    let mut body = b"WEBP".to_vec();
    chunk(&mut body, b"VP8X", &vp8x);
    body.extend_from_slice(image_chunk);
    chunk(&mut body, b"EXIF", &exif);
    let mut out = b"RIFF".to_vec();
    out.extend_from_slice(&(body.len() as u32).to_le_bytes());
    out.extend_from_slice(&body);
    out
}

async fn a_webp_with_exif_is_accepted_and_its_exif_used(app: TestApp) {
    let mut f = field(&app, "ksv1").await;
    let tiff = build_tiff(&dated(2026, 3, 5));
    for prefixed in [true, false] {
        let bytes = webp_with_exif(480, 360, &tiff, prefixed);
        assert!(image::load_from_memory(&bytes).is_ok(), "a valid WebP");
        let photo = f
            .attach(&app, &bytes, json!({"content_type": "image/webp"}))
            .await;
        assert_eq!(f.upload(&app, &photo, &bytes, 1 << 20).await.status, 204);
        let got = f.photo(&app, &photo).await;
        assert_eq!(got["status"], "ok", "prefixed {prefixed}: {got}");
        assert!(got.get("warnings").is_none(), "prefixed {prefixed}: {got}");
        assert_eq!(
            (got["width"].as_i64(), got["height"].as_i64()),
            (Some(480), Some(360))
        );
        // 2026-03-05 09:15 at +07:00.
        assert_eq!(
            got["taken_at_ms"], 1_772_676_900_000i64,
            "prefixed {prefixed}"
        );
        assert_eq!(got["time_source"], "exif");
        assert!((got["lat"].as_f64().unwrap() - 21.2731).abs() < 1e-4);
    }
}

async fn an_exif_time_in_the_future_is_ignored_with_a_warning(app: TestApp) {
    let mut f = field(&app, "ksv1").await;
    for (year, month) in [(2099, 1), (1995, 6)] {
        let bytes =
            insert_app1(&marked_jpeg(320, 240), &build_tiff(&dated(year, month, 1))).unwrap();
        let photo = f.attach(&app, &bytes, json!({})).await;
        assert_eq!(f.upload(&app, &photo, &bytes, 1 << 20).await.status, 204);
        let got = f.photo(&app, &photo).await;
        assert_eq!(got["status"], "ok", "{got}");
        assert!(
            got["taken_at_ms"].is_null(),
            "{year}: the EXIF time is not believed: {got}"
        );
        assert!(got["time_source"].is_null(), "{got}");
        assert_eq!(
            got["warnings"][0]["code"], "photo.exif_time_implausible",
            "{got}"
        );
        assert!(got["warnings"][0]["params"]["exif_time"]
            .as_str()
            .unwrap()
            .starts_with(&year.to_string()));
        // The place in the same EXIF is still used.
        assert_eq!(got["location_source"], "exif");
    }
}

async fn a_photo_taken_over_a_year_before_its_visit_is_flagged(app: TestApp) {
    let mut f = field(&app, "ksv1").await;
    let old = insert_app1(&marked_jpeg(320, 240), &build_tiff(&dated(2019, 7, 1))).unwrap();
    let photo = f.attach(&app, &old, json!({})).await;
    assert_eq!(f.upload(&app, &photo, &old, 1 << 20).await.status, 204);
    let got = f.photo(&app, &photo).await;
    assert_eq!(got["status"], "ok", "{got}");
    assert_eq!(
        got["time_source"], "exif",
        "an old time is possible, so it is kept"
    );
    assert_eq!(
        got["warnings"][0]["code"], "photo.taken_long_before_visit",
        "{got}"
    );
    assert!(got["warnings"][0]["params"]["days"].as_i64().unwrap() > 365);
    // The supervisor sees it on the visit page.
    let (supervisor, _) = app.login("giamsat").await;
    let page = app
        .get(&format!("/review/visits/{}", f.visit), Some(&supervisor))
        .await;
    assert_eq!(page.status, 200);
    assert!(
        page.text().contains("photo.taken_long_before_visit"),
        "the warning is on the page"
    );

    // A photo from this year raises nothing.
    let now = app::store::now_ms();
    let recent = marked_jpeg(321, 240);
    let photo = f
        .attach(
            &app,
            &recent,
            json!({"taken_at_ms": now - 86_400_000, "time_source": "exif"}),
        )
        .await;
    assert_eq!(f.upload(&app, &photo, &recent, 1 << 20).await.status, 204);
    let got = f.photo(&app, &photo).await;
    assert!(got.get("warnings").is_none(), "{got}");
}

crate::engine_tests!(
    every_bad_file_gets_its_verdict_and_none_becomes_a_photo,
    each_exif_orientation_comes_out_the_right_way_up,
    a_photo_whose_exif_is_damaged_is_kept_with_a_warning,
    a_webp_with_exif_is_accepted_and_its_exif_used,
    an_exif_time_in_the_future_is_ignored_with_a_warning,
    a_photo_taken_over_a_year_before_its_visit_is_flagged,
);

/// Grey noise: a JPEG that takes the decoder real time.
fn noisy_jpeg(w: u32, h: u32) -> Vec<u8> {
    let mut s = 0x9E37_79B9_7F4A_7C15u64;
    let img = image::RgbImage::from_fn(w, h, |_, _| {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        let v = s as u8;
        image::Rgb([v, v.wrapping_mul(3), v.wrapping_add(90)])
    });
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 90)
        .encode_image(&img)
        .unwrap();
    out
}

/// The app's photo settings with `change` made to them.
fn photos_like(
    app: &TestApp,
    change: impl FnOnce(&mut app::photos::storage::Photos),
) -> std::sync::Arc<app::photos::storage::Photos> {
    let p = &app.state.photos;
    let mut photos = app::photos::storage::Photos {
        storage: p.storage.clone(),
        max_bytes: p.max_bytes,
        upload_ttl_ms: p.upload_ttl_ms,
        max_pixels: p.max_pixels,
        decode_timeout: p.decode_timeout,
        retry_after: p.retry_after,
    };
    change(&mut photos);
    std::sync::Arc::new(photos)
}

/// Decodes that outlive their caller's timeout keep their permit: hostile files
/// can never have more than `MAX_DECODES` decodes running at once.
#[tokio::test]
async fn abandoned_decodes_still_count_against_the_limit() {
    let app = crate::helpers::spawn_app(crate::helpers::TestEngine::Sqlite).await;
    let bytes = noisy_jpeg(3000, 2000);
    let sha = crate::uploads::sha256_hex(&bytes);
    let key = format!("original/{sha}.jpg");
    app.state.photos.storage.put(&key, &bytes).unwrap();
    let mut state = app.state.clone();
    state.photos = photos_like(&app, |p| {
        p.decode_timeout = std::time::Duration::from_millis(1)
    });
    let judges = (0..6).map(|_| server::images::judge(&state, &sha, &key));
    let results = futures_util::future::join_all(judges).await;
    assert!(
        results
            .iter()
            .all(|r| matches!(r, Err(server::images::Problem::Timeout))),
        "every caller gave up waiting"
    );
    // The abandoned decodes run on; wait for them to end (state, not time).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    while server::images::decodes_running().0 > 0 {
        assert!(std::time::Instant::now() < deadline, "decodes never ended");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let (_, peak) = server::images::decodes_running();
    assert!(
        (1..=server::images::MAX_DECODES).contains(&peak),
        "{peak} decodes ran at once"
    );
    // Every abandoned decode still finished its work.
    assert!(app
        .state
        .photos
        .storage
        .exists(&server::images::display_key(&sha))
        .unwrap());
}

/// A photo of `f`'s visit whose original is stored and which waits for its
/// verdict, as a finished upload leaves it: (photo id, sha256, object key).
async fn received(
    app: &TestApp,
    f: &mut crate::uploads::Field,
    bytes: &[u8],
) -> (String, String, String) {
    let photo = f.attach(app, bytes, json!({})).await;
    let sha = crate::uploads::sha256_hex(bytes);
    let key = format!("original/{sha}.jpg");
    app.state.photos.storage.put(&key, bytes).unwrap();
    app::store::photos::set_received(&app.db, &photo, &key)
        .await
        .unwrap();
    (photo, sha, key)
}

/// A photo store that fails every read and write while `down` is set.
struct Flaky {
    inner: std::sync::Arc<dyn app::photos::storage::PhotoStorage>,
    down: std::sync::atomic::AtomicBool,
    /// While set, reading an upload's bytes waits (after setting `entered`).
    held: std::sync::atomic::AtomicBool,
    entered: std::sync::atomic::AtomicBool,
}

impl Flaky {
    fn new(inner: std::sync::Arc<dyn app::photos::storage::PhotoStorage>, down: bool) -> Flaky {
        Flaky {
            inner,
            down: down.into(),
            held: false.into(),
            entered: false.into(),
        }
    }

    fn check(&self) -> std::io::Result<()> {
        if self.down.load(std::sync::atomic::Ordering::SeqCst) {
            return Err(std::io::Error::other("the object store answered 503"));
        }
        Ok(())
    }
}

impl app::photos::storage::PhotoStorage for Flaky {
    fn write_partial(&self, upload_id: &str, offset: u64, bytes: &[u8]) -> std::io::Result<()> {
        self.check()?;
        self.inner.write_partial(upload_id, offset, bytes)
    }
    fn read_partial(&self, upload_id: &str) -> std::io::Result<Box<dyn std::io::Read + Send>> {
        use std::sync::atomic::Ordering::SeqCst;
        self.entered.store(true, SeqCst);
        // On the blocking pool, as every storage call.
        while self.held.load(SeqCst) {
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        self.check()?;
        self.inner.read_partial(upload_id)
    }
    fn delete_partial(&self, upload_id: &str) -> std::io::Result<()> {
        self.check()?;
        self.inner.delete_partial(upload_id)
    }
    fn promote_partial(&self, upload_id: &str, key: &str) -> std::io::Result<()> {
        self.check()?;
        self.inner.promote_partial(upload_id, key)
    }
    fn put(&self, key: &str, bytes: &[u8]) -> std::io::Result<()> {
        self.check()?;
        self.inner.put(key, bytes)
    }
    fn get(&self, key: &str) -> std::io::Result<Vec<u8>> {
        self.check()?;
        self.inner.get(key)
    }
    fn open(&self, key: &str) -> std::io::Result<(u64, Box<dyn std::io::Read + Send>)> {
        self.check()?;
        self.inner.open(key)
    }
    fn exists(&self, key: &str) -> std::io::Result<bool> {
        self.check()?;
        self.inner.exists(key)
    }
    fn list(&self) -> std::io::Result<Vec<String>> {
        self.check()?;
        self.inner.list()
    }
    fn identity(&self) -> std::io::Result<Option<String>> {
        self.inner.identity()
    }
    fn set_identity(&self, id: &str) -> std::io::Result<()> {
        self.inner.set_identity(id)
    }
    fn describe(&self) -> String {
        self.inner.describe()
    }
}

/// A photo store that does not answer while a photo is judged is not the
/// photo's fault. The photo was marked bad ("the image data is damaged"),
/// which told the inspector to take it again and was never judged again. It
/// now stays received, and is judged once the store answers.
#[tokio::test]
async fn a_store_that_does_not_answer_leaves_the_photo_to_be_judged_again() {
    use app::photos::PhotoStatus;
    let app = crate::helpers::spawn_app(crate::helpers::TestEngine::Sqlite).await;
    let mut f = field(&app, "ksv1").await;
    let (photo, sha, key) = received(&app, &mut f, &marked_jpeg(640, 480)).await;
    let flaky = std::sync::Arc::new(Flaky::new(app.state.photos.storage.clone(), true));
    let mut state = app.state.clone();
    state.photos = photos_like(&app, |p| {
        p.storage = flaky.clone() as std::sync::Arc<dyn app::photos::storage::PhotoStorage>;
        p.retry_after = std::time::Duration::from_millis(300);
    });
    let status = || async {
        app::store::photos::get(&app.db, &photo)
            .await
            .unwrap()
            .unwrap()
            .0
            .status
    };
    server::images::process(&state, &photo, &sha, &key).await;
    assert_eq!(status().await, PhotoStatus::Received, "not judged bad");
    flaky.down.store(false, std::sync::atomic::Ordering::SeqCst);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while status().await != PhotoStatus::Ok {
        assert!(std::time::Instant::now() < deadline, "never judged again");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(app
        .state
        .photos
        .storage
        .exists(&server::images::display_key(&sha))
        .unwrap());
}

/// A HEAD while the last PATCH was still checking the whole file answered
/// "every byte is in" (200, the full offset) at once. When the check then
/// failed, the phone believed sent a photo the server never took. The HEAD
/// now waits for that finish and answers what it found.
#[tokio::test]
async fn a_head_during_the_finish_answers_what_the_finish_found() {
    use std::sync::atomic::Ordering::SeqCst;
    let app = crate::helpers::spawn_app(crate::helpers::TestEngine::Sqlite).await;
    let mut f = field(&app, "ksv1").await;
    let bytes = marked_jpeg(64, 48);
    let photo = f.attach(&app, &bytes, json!({})).await;
    let flaky = std::sync::Arc::new(Flaky::new(app.state.photos.storage.clone(), false));
    let photos = photos_like(&app, |p| {
        p.storage = flaky.clone() as std::sync::Arc<dyn app::photos::storage::PhotoStorage>;
    });
    let router = app.router_with_photos(std::sync::Arc::into_inner(photos).unwrap());
    let url = {
        let r = f.create(&photo, bytes.len()).send(&router).await;
        assert_eq!(r.status, 201, "{}", r.text());
        crate::uploads::header(&r, "location")
    };
    // Bytes of the right length that are not the photo: the finish ends the upload.
    let forged: Vec<u8> = (0..bytes.len()).map(|i| (i * 7 % 251) as u8).collect();
    flaky.held.store(true, SeqCst);
    let (patch, on) = (f.patch(&url, 0, &forged), router.clone());
    let last = tokio::spawn(async move { patch.send(&on).await });
    while !flaky.entered.load(SeqCst) {
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    // The finish is hashing: ask where the upload stands.
    let ask = crate::security::req("HEAD", &url)
        .header("tus-resumable", "1.0.0")
        .cookie(Some(&f.phone.cookie));
    let on = router.clone();
    let head = tokio::spawn(async move { ask.send(&on).await });
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    flaky.held.store(false, SeqCst);
    let last = last.await.unwrap();
    expect_error(&last, 460, "upload.sha256_mismatch");
    let head = head.await.unwrap();
    assert_eq!(head.status, 404, "the HEAD said: {:?}", head.headers);
    assert_eq!(f.photo(&app, &photo).await["status"], "waiting");
}

/// A photo received and never judged (its process killed mid-judgement and
/// restarted while another kept the jobs) waited for the next change of
/// holder. The holder now looks again every few minutes: it judges a photo
/// received long enough ago, and leaves one received just now to whoever is
/// judging it.
#[tokio::test]
async fn the_jobs_judge_a_photo_left_received_and_leave_a_fresh_one() {
    use app::photos::PhotoStatus;
    let app = crate::helpers::spawn_app(crate::helpers::TestEngine::Sqlite).await;
    let mut f = field(&app, "ksv1").await;
    let mut photos = Vec::new();
    for width in [64, 72] {
        photos.push(received(&app, &mut f, &marked_jpeg(width, 48)).await.0);
    }
    let now = app::store::now_ms();
    sqlx::query("UPDATE photos SET updated_at = $1 WHERE id = $2")
        .bind(now - 600_000)
        .bind(&photos[0])
        .execute(&app.db.pool)
        .await
        .unwrap();
    server::images::resume_interrupted(&app.state, now - 120_000).await;
    let status = |id: String| {
        let db = app.db.clone();
        async move {
            app::store::photos::get(&db, &id)
                .await
                .unwrap()
                .unwrap()
                .0
                .status
        }
    };
    assert_eq!(status(photos[0].clone()).await, PhotoStatus::Ok);
    assert_eq!(status(photos[1].clone()).await, PhotoStatus::Received);
}

/// A photo whose decode outlived its time was recorded bad for good
/// (`photo.decode_timeout`), although the decode went on and wrote its
/// display copy and thumbnail. The real outcome now replaces the timeout's.
#[tokio::test]
async fn a_slow_decode_records_its_real_outcome_when_it_ends() {
    use app::photos::PhotoStatus;
    let app = crate::helpers::spawn_app(crate::helpers::TestEngine::Sqlite).await;
    let mut f = field(&app, "ksv1").await;
    let (photo, sha, key) = received(&app, &mut f, &noisy_jpeg(3000, 2000)).await;
    let mut state = app.state.clone();
    state.photos = photos_like(&app, |p| {
        p.decode_timeout = std::time::Duration::from_millis(1)
    });
    server::images::process(&state, &photo, &sha, &key).await;
    let record = || async {
        app::store::photos::get(&app.db, &photo)
            .await
            .unwrap()
            .unwrap()
            .0
    };
    let first = record().await;
    assert_eq!(first.status, PhotoStatus::Bad);
    assert_eq!(
        first.problem.as_ref().map(|p| p.code.as_str()),
        Some("photo.decode_timeout")
    );
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    while record().await.status != PhotoStatus::Ok {
        assert!(
            std::time::Instant::now() < deadline,
            "the real outcome never came"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(record().await.problem.is_none());
}
