//! Capture on the phone. The browser's own decoder shrinks the photo while
//! decoding (`createImageBitmap` with resize options, EXIF orientation applied),
//! so a 50 MP file is never decoded at full size; a canvas re-encodes it as JPEG
//! without any EXIF (so its orientation is 1). Time and place come from the
//! original's EXIF when present, else from the phone's clock and GPS, with the
//! source recorded. The `image` crate stays out of the wasm build.

use super::local::{LocalPhoto, UploadState};
use crate::error::ErrorBody;
use crate::field::client::browser;
use crate::photos::exif::{self, ExifInfo, Format};
use crate::photos::{fit_within, swaps_axes, JPEG_QUALITY};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

/// Less free space than this and the photo field says so before a shot.
pub const MIN_FREE_BYTES: f64 = 50.0 * 1024.0 * 1024.0;
/// What a photo's write needs beyond its own bytes (its record, the outbox
/// entry, IndexedDB's own overhead).
const WRITE_MARGIN_BYTES: f64 = 5.0 * 1024.0 * 1024.0;
/// Enough of a file's head for its markers and EXIF.
const HEAD_BYTES: f64 = 512.0 * 1024.0;

fn err(code: &str, message: &str) -> ErrorBody {
    ErrorBody::new(code, message)
}

fn js_err(code: &str) -> impl Fn(JsValue) -> ErrorBody + '_ {
    move |e| {
        let text = e
            .dyn_ref::<js_sys::Error>()
            .map(|e| String::from(e.message()))
            .or_else(|| e.as_string())
            .unwrap_or_default();
        ErrorBody::new(code, text)
    }
}

pub async fn blob_bytes(blob: &web_sys::Blob) -> Result<Vec<u8>, ErrorBody> {
    let buffer = JsFuture::from(blob.array_buffer())
        .await
        .map_err(js_err("photo.unreadable"))?;
    Ok(js_sys::Uint8Array::new(&buffer).to_vec())
}

/// `crypto.subtle.digest` as lowercase hex (`SHA-256`, `SHA-1`).
pub async fn digest_hex(algorithm: &str, bytes: &[u8]) -> Result<String, ErrorBody> {
    Ok(digest(algorithm, bytes)
        .await?
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect())
}

pub async fn digest(algorithm: &str, bytes: &[u8]) -> Result<Vec<u8>, ErrorBody> {
    let subtle = web_sys::window()
        .ok_or_else(|| err("photo.no_crypto", "no window"))?
        .crypto()
        .map_err(js_err("photo.no_crypto"))?
        .subtle();
    let data = js_sys::Uint8Array::from(bytes);
    let promise = subtle
        .digest_with_str_and_buffer_source(algorithm, &data)
        .map_err(js_err("photo.no_crypto"))?;
    let out = JsFuture::from(promise)
        .await
        .map_err(js_err("photo.no_crypto"))?;
    Ok(js_sys::Uint8Array::new(&out).to_vec())
}

/// Refuses to store a photo of `needed` bytes the phone has no room for. It
/// runs on the downscaled photo, once it is taken: the camera's file is
/// gone once refused (most Android cameras keep no copy of a shot made
/// for a page), so the bar is what the write needs, not a margin; the
/// margin is the field's warning before the shot (`free_bytes`).
pub async fn check_room(needed: f64) -> Result<(), ErrorBody> {
    if let Some((used, quota)) = browser::storage_estimate().await {
        let free = quota - used;
        if free < WRITE_MARGIN_BYTES + needed {
            return Err(ErrorBody::new(
                "photo.storage_full",
                "the phone's storage for this app is nearly full",
            )
            .with("free_mb", (free.max(0.0) / 1_048_576.0).round())
            .with(
                "needed_mb",
                ((WRITE_MARGIN_BYTES + needed) / 1_048_576.0)
                    .round()
                    .max(1.0),
            ));
        }
    }
    Ok(())
}

/// Free bytes of the app's storage, when the browser says.
pub async fn free_bytes() -> Option<f64> {
    browser::storage_estimate()
        .await
        .map(|(used, quota)| quota - used)
}

/// A photo ready to store: the downscaled JPEG and its record.
pub struct Captured {
    pub blob: web_sys::Blob,
    pub photo: LocalPhoto,
}

/// Downscales, hashes and dates one chosen or captured file.
pub async fn capture(
    file: &web_sys::File,
    id: String,
    visit_id: String,
    field: String,
    max_px: u32,
) -> Result<Captured, ErrorBody> {
    let original_size = file.size();
    let head_blob = file
        .slice_with_f64_and_f64(0.0, original_size.min(HEAD_BYTES))
        .map_err(js_err("photo.unreadable"))?;
    let head = blob_bytes(&head_blob).await?;
    let format = exif::sniff(&head);
    // A broken EXIF block on the camera's file is ignored here: the stored file
    // carries none, and time and place then come from the phone.
    let info: ExifInfo = if format == Format::Jpeg {
        exif::jpeg_exif(&head).ok().flatten().unwrap_or_default()
    } else {
        ExifInfo::default()
    };
    let target = exif::dimensions(&head).map(|d| {
        let (w, h) = if swaps_axes(info.orientation) {
            (d.height, d.width)
        } else {
            (d.width, d.height)
        };
        fit_within(w, h, max_px)
    });
    let window = web_sys::window().ok_or_else(|| err("photo.unreadable", "no window"))?;
    let options = web_sys::ImageBitmapOptions::new();
    options.set_image_orientation(web_sys::ImageOrientation::FromImage);
    options.set_resize_quality(web_sys::ResizeQuality::High);
    if let Some((w, h)) = target {
        options.set_resize_width(w);
        options.set_resize_height(h);
    }
    let promise = window
        .create_image_bitmap_with_blob_and_image_bitmap_options(file, &options)
        .map_err(js_err("photo.not_an_image"))?;
    // A format the header names but this browser cannot read (HEIC from an
    // iPhone's files, on Android) is said as that, not as "not an image".
    let unreadable = || match format.mime() {
        Some(mime) if !matches!(format, Format::Jpeg | Format::Png | Format::Webp) => err(
            "photo.unsupported_format",
            "this browser cannot read this image format",
        )
        .with("format", mime),
        _ => err("photo.not_an_image", "the browser cannot read this image"),
    };
    let bitmap: web_sys::ImageBitmap = JsFuture::from(promise)
        .await
        .map_err(|_| unreadable())?
        .unchecked_into();
    let (mut w, mut h) = (bitmap.width(), bitmap.height());
    if target.is_none() {
        // Unknown header: decoded whole; shrink on the canvas instead.
        (w, h) = fit_within(w, h, max_px);
    }
    let canvas = web_sys::OffscreenCanvas::new(w, h).map_err(js_err("photo.canvas"))?;
    let context: web_sys::OffscreenCanvasRenderingContext2d = canvas
        .get_context("2d")
        .map_err(js_err("photo.canvas"))?
        .ok_or_else(|| err("photo.canvas", "no 2d context"))?
        .unchecked_into();
    context
        .draw_image_with_image_bitmap_and_dw_and_dh(&bitmap, 0.0, 0.0, w as f64, h as f64)
        .map_err(js_err("photo.canvas"))?;
    bitmap.close();
    let encode = web_sys::ImageEncodeOptions::new();
    encode.set_type("image/jpeg");
    encode.set_quality(JPEG_QUALITY);
    let blob: web_sys::Blob = JsFuture::from(
        canvas
            .convert_to_blob_with_options(&encode)
            .map_err(js_err("photo.canvas"))?,
    )
    .await
    .map_err(js_err("photo.canvas"))?
    .unchecked_into();
    check_room(blob.size()).await?;
    let bytes = blob_bytes(&blob).await?;
    let sha256 = digest_hex("SHA-256", &bytes).await?;
    let now = browser::now_ms();
    let (taken_at_ms, time_source) = match info.taken_local {
        Some(t) => (
            Some(match info.offset_minutes {
                Some(offset) => t.to_epoch_ms(offset),
                // No zone in the file: the camera's clock is the phone's zone.
                None => js_sys::Date::new_with_year_month_day_hr_min_sec(
                    t.year as u32,
                    t.month as i32 - 1,
                    t.day as i32,
                    t.hour as i32,
                    t.minute as i32,
                    t.second as i32,
                )
                .get_time() as i64,
            }),
            "exif",
        ),
        None => (Some(now), "device"),
    };
    let (lat, lon, accuracy_m, location_source) = match (info.lat, info.lon) {
        (Some(lat), Some(lon)) => (Some(lat), Some(lon), None, "exif"),
        _ => match browser::current_position(8_000).await {
            Ok(fix) => (
                Some(fix.lat),
                Some(fix.lon),
                Some(fix.accuracy).filter(|a| a.is_finite()),
                "gps",
            ),
            Err(_) => (None, None, None, "none"),
        },
    };
    Ok(Captured {
        photo: LocalPhoto {
            id,
            visit_id,
            field,
            sha256,
            size: bytes.len() as i64,
            content_type: "image/jpeg".into(),
            caption: None,
            caption_written: None,
            taken_at_ms,
            time_source: time_source.into(),
            lat,
            lon,
            accuracy_m,
            location_source: location_source.into(),
            width: w,
            height: h,
            original_size: original_size as i64,
            created_at_ms: now,
            has_blob: true,
            upload: UploadState::default(),
            server_status: None,
            problem: None,
            warnings: Vec::new(),
        },
        blob,
    })
}
