//! Photos as both sides see them. A photo is its own record (entity `photo`,
//! UUIDv7 made on the phone): the `attach_photo` change carries its metadata and
//! travels with the visit's records; the bytes follow through tus at
//! `/api/uploads/` and end with an image verdict, the photo's `status`.

/// Header sniffing, declared dimensions and the EXIF fields we use (std only, so
/// it ships in the wasm bundle without an image library).
pub mod exif;
#[cfg(feature = "ssr")]
pub mod s3;
/// Where photo bytes live: one small interface, the local disk by default.
#[cfg(feature = "ssr")]
pub mod storage;
/// The photo field on the visit form and the supervisor's gallery (the phone's
/// capture, upload and local record are in `crate::field::photos`).
pub mod view;

use serde::{Deserialize, Serialize};

/// Longest side after the phone's downscale unless the form field says otherwise.
pub const DEFAULT_MAX_PX: u32 = 2048;
/// Smallest and largest per-field setting an administrator may choose.
pub const MAX_PX_RANGE: (u32, u32) = (320, 8192);
/// JPEG quality of the phone's downscaled file.
pub const JPEG_QUALITY: f64 = 0.8;
/// Longest caption, in characters.
pub const MAX_CAPTION: usize = 500;
/// Most photos one photo field of a visit holds. Far above what a facility
/// needs, and a bound on what a list costs every merge, pull and review page:
/// the phone stops offering the camera there, the server refuses an attach
/// or a list beyond it.
pub const MAX_PER_FIELD: usize = 100;
/// Content types the server accepts for a photo.
pub const ACCEPTED_TYPES: &[&str] = &["image/jpeg", "image/png", "image/webp"];

/// The keys an `attach_photo` change may carry. `visit_id`, `field`, `sha256`,
/// `size` and `content_type` are fixed once attached (a retake is a new photo);
/// the caption may change later.
pub const ATTACH_KEYS: &[&str] = &[
    "visit_id",
    "field",
    "sha256",
    "size",
    "content_type",
    "caption",
    "taken_at_ms",
    "time_source",
    "lat",
    "lon",
    "accuracy_m",
    "location_source",
];
/// Keys that cannot change after the first `attach_photo`.
pub const FIXED_KEYS: &[&str] = &["visit_id", "field", "sha256", "size", "content_type"];

/// Where a capture time came from.
pub const TIME_SOURCES: &[&str] = &["exif", "device"];
/// Where a location came from (`none`: neither EXIF nor the phone had one).
pub const LOCATION_SOURCES: &[&str] = &["exif", "gps", "none"];

/// The photo's state on the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum PhotoStatus {
    /// Attached; the bytes have not all arrived yet.
    Waiting,
    /// Bytes and hash match; the image pipeline has not finished (or will run
    /// again after a restart).
    Received,
    /// A valid image: original, display size and thumbnail are stored.
    Ok,
    /// Not a usable image; `problem` says why. The phone keeps the bytes.
    Bad,
}

impl PhotoStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            PhotoStatus::Waiting => "waiting",
            PhotoStatus::Received => "received",
            PhotoStatus::Ok => "ok",
            PhotoStatus::Bad => "bad",
        }
    }

    pub fn parse(s: &str) -> PhotoStatus {
        match s {
            "received" => PhotoStatus::Received,
            "ok" => PhotoStatus::Ok,
            "bad" => PhotoStatus::Bad,
            _ => PhotoStatus::Waiting,
        }
    }
}

/// A photo as the server holds it: in pull (inside its visit) and at
/// `GET /api/photos/{id}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(schemars::JsonSchema))]
pub struct PhotoRecord {
    pub id: String,
    pub visit_id: String,
    pub field: String,
    pub sha256: String,
    pub size: i64,
    pub content_type: String,
    pub caption: Option<String>,
    /// When the caption was written: the stamp of the change that set it (a
    /// caption is last-writer-wins by stamp). None for a caption older than
    /// these times.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub caption_written: Option<crate::sync::Hlc>,
    /// Capture time (ms since epoch, UTC) as the attach_photo record says.
    pub taken_at_ms: Option<i64>,
    pub time_source: Option<String>,
    pub lat: Option<f64>,
    pub lon: Option<f64>,
    pub accuracy_m: Option<f64>,
    pub location_source: Option<String>,
    pub status: PhotoStatus,
    /// Why a photo is `bad`: a stable code (`photo.truncated`, …) and a message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub problem: Option<crate::error::ErrorBody>,
    /// What a usable photo's reviewer should know: EXIF that was damaged and
    /// ignored (`photo.exif_unreadable`), an impossible EXIF time
    /// (`photo.exif_time_implausible`), a capture more than a year before the
    /// visit (`photo.taken_long_before_visit`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<crate::error::ErrorBody>,
    /// Pixel size after orientation, once the pipeline has read it.
    pub width: Option<i64>,
    pub height: Option<i64>,
    pub created_at_ms: i64,
}

impl PhotoRecord {
    /// The image URLs (answered only to people who may see the visit).
    pub fn thumb_url(&self) -> String {
        format!("/api/photos/{}/thumb", self.id)
    }
    pub fn display_url(&self) -> String {
        format!("/api/photos/{}/display", self.id)
    }
    pub fn original_url(&self) -> String {
        format!("/api/photos/{}/original", self.id)
    }
}

/// 2000-01-01T00:00:00Z: photos older than this are a broken clock.
pub const EARLIEST_CAPTURE_MS: i64 = 946_684_800_000;
/// How far ahead of the server a capture time may be (time zones, slow clocks).
pub const MAX_CAPTURE_AHEAD_MS: i64 = 24 * 3600 * 1000;
/// A capture time more than this before its visit began is shown to the
/// supervisor as suspicious (an old photo passed off as today's).
pub const OLD_CAPTURE_WARNING_MS: i64 = 365 * 24 * 3600 * 1000;

/// Whether a capture time is believable, from the phone or from EXIF alike.
pub fn plausible_capture_time(taken_at_ms: i64, now_ms: i64) -> bool {
    (EARLIEST_CAPTURE_MS..=now_ms.saturating_add(MAX_CAPTURE_AHEAD_MS)).contains(&taken_at_ms)
}

/// Whether `s` is a lowercase hex SHA-256.
pub fn is_sha256_hex(s: &str) -> bool {
    s.len() == 64
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// The target size of a downscale: the longest side at most `max_px`, aspect kept,
/// never enlarged. Dimensions are those after EXIF orientation.
pub fn fit_within(width: u32, height: u32, max_px: u32) -> (u32, u32) {
    let longest = width.max(height);
    if longest <= max_px || longest == 0 {
        return (width, height);
    }
    let scale = max_px as f64 / longest as f64;
    let w = ((width as f64 * scale).round() as u32).clamp(1, max_px);
    let h = ((height as f64 * scale).round() as u32).clamp(1, max_px);
    (w, h)
}

/// Whether an EXIF orientation swaps width and height (5–8 rotate by 90°).
pub fn swaps_axes(orientation: Option<u8>) -> bool {
    matches!(orientation, Some(5..=8))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fit_keeps_aspect_and_never_enlarges() {
        assert_eq!(fit_within(8000, 6000, 2048), (2048, 1536));
        assert_eq!(fit_within(6000, 8000, 2048), (1536, 2048));
        assert_eq!(fit_within(1000, 500, 2048), (1000, 500));
        assert_eq!(fit_within(65535, 1, 2048), (2048, 1));
    }

    #[test]
    fn capture_times_before_2000_or_over_a_day_ahead_are_implausible() {
        let now = 1_800_000_000_000;
        assert!(plausible_capture_time(now, now));
        assert!(plausible_capture_time(now + MAX_CAPTURE_AHEAD_MS, now));
        assert!(!plausible_capture_time(now + MAX_CAPTURE_AHEAD_MS + 1, now));
        assert!(!plausible_capture_time(4_094_334_610_000, now));
        assert!(!plausible_capture_time(EARLIEST_CAPTURE_MS - 1, now));
        assert!(plausible_capture_time(EARLIEST_CAPTURE_MS, now));
    }

    #[test]
    fn sha256_hex_is_strict() {
        assert!(is_sha256_hex(&"a".repeat(64)));
        assert!(!is_sha256_hex(&"A".repeat(64)));
        assert!(!is_sha256_hex(&"a".repeat(63)));
        assert!(!is_sha256_hex(&"g".repeat(64)));
    }

    #[test]
    fn orientations_five_to_eight_swap_axes() {
        for o in 1..=8u8 {
            assert_eq!(swaps_axes(Some(o)), o >= 5, "orientation {o}");
        }
        assert!(!swaps_axes(None));
    }
}
