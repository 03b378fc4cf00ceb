//! Photos at the edges of their formats: whole files a strict end check
//! called cut, and a small PNG whose colour profile would inflate to the
//! memory cap before its pixels were counted.

use crate::helpers::TestApp;
use crate::photo_corpus::{png_chunk, real_png};
use crate::uploads::field;
use serde_json::json;

/// A PNG with bytes after its IEND (a screenshot editor that rewrote a
/// shorter file in place leaves the old tail) and a JPEG whose every block
/// is there but whose end marker was lost: both whole, both were judged
/// `photo.truncated`, and the inspector was told to take them again.
async fn whole_photos_with_odd_endings_are_kept(app: TestApp) {
    let mut f = field(&app, "ksv1").await;
    let mut trailing = real_png(50, 40);
    trailing.extend(std::iter::repeat_n(0xAB, 100));
    let jpeg = crate::object_store::noise_jpeg(256, 90);
    assert_eq!(&jpeg[jpeg.len() - 2..], [0xFF, 0xD9]);
    let no_end = jpeg[..jpeg.len() - 2].to_vec();
    for (name, bytes) in [
        ("PNG with a tail after IEND", trailing),
        ("JPEG without its end marker", no_end),
    ] {
        let photo = f.attach(&app, &bytes, json!({})).await;
        assert_eq!(
            f.upload(&app, &photo, &bytes, 1 << 20).await.status,
            204,
            "{name}"
        );
        let got = f.photo(&app, &photo).await;
        assert_eq!(got["status"], "ok", "{name}: {got}");
    }
}

/// A 50×40 PNG with a 70 KB compressed colour profile: the decoder inflates
/// a profile whole while it reads the header, and one of zeros reaches the
/// memory cap (500 KB inflate to 512 MB) before the image's own size is
/// counted. Refused before decoding.
async fn a_png_whose_profile_would_inflate_past_the_cap_is_refused(app: TestApp) {
    let mut f = field(&app, "ksv1").await;
    let png = real_png(50, 40);
    let ihdr_end = 8 + 25;
    let mut bomb = png[..ihdr_end].to_vec();
    let mut profile = b"bomb\0\0".to_vec();
    profile.resize(70_000, 0);
    png_chunk(&mut bomb, b"iCCP", &profile);
    bomb.extend_from_slice(&png[ihdr_end..]);
    let photo = f.attach(&app, &bomb, json!({})).await;
    assert_eq!(f.upload(&app, &photo, &bomb, 1 << 20).await.status, 204);
    let got = f.photo(&app, &photo).await;
    assert_eq!(got["status"], "bad", "{got}");
    assert_eq!(got["problem"]["code"], "photo.too_much_memory", "{got}");
}

crate::engine_tests!(
    whole_photos_with_odd_endings_are_kept,
    a_png_whose_profile_would_inflate_past_the_cap_is_refused,
);
