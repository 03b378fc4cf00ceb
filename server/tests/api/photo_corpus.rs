//! The bad-image corpus: every file goes through the real upload and pipeline.
//! Each gets the expected verdict (code on the photo's status, 415/422 where the
//! server answers directly), none crashes or hangs the server, and none becomes
//! a usable photo on its visit. Then each EXIF orientation 1–8 comes out the
//! right way up.

use crate::helpers::TestApp;
use crate::security::expect_error;
use crate::uploads::{field, marked_jpeg};
use app::photos::exif::{build_tiff, insert_app1, ExifInfo};
use serde_json::json;
use std::io::Write;

fn png_chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
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

fn real_png(w: u32, h: u32) -> Vec<u8> {
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
    let mut broken_exif_tiff = build_tiff(&ExifInfo {
        orientation: Some(6),
        ..Default::default()
    });
    broken_exif_tiff[4..8].copy_from_slice(&0xFFFF_FF00u32.to_le_bytes()); // IFD0 far outside
    let gif = b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x01\x00\x00\x00\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;".to_vec();
    let mut random = Vec::with_capacity(100_000);
    let mut s = 0x2545_F491_4F6C_DD1Du64;
    for _ in 0..100_000 {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        random.push(s as u8);
    }
    let corpus: Vec<(&str, Vec<u8>, u16, &str)> = vec![
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
        (
            "broken EXIF",
            insert_app1(&good, &broken_exif_tiff).unwrap(),
            422,
            "photo.bad_exif",
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

crate::engine_tests!(
    every_bad_file_gets_its_verdict_and_none_becomes_a_photo,
    each_exif_orientation_comes_out_the_right_way_up,
);
