//! The image pipeline: judge an uploaded photo, then write its display size and
//! thumbnail. Every refusal has a code naming the problem; nothing here panics
//! or runs unbounded on hostile input: the header is read before any decode, the
//! pixel count and the decoder's allocations are capped, decodes run one or two
//! at a time on the blocking pool, and a decode that runs too long is abandoned.
//!
//! One file (about 785 lines): the verdict, the derivatives and the jobs that resume them after a restart share one permit and one storage path scheme.

use app::error::ErrorBody;
use app::photos::exif::{self, ExifInfo, Format};
use app::photos::PhotoStatus;
use app::state::AppState;
use app::store::photos::{self as store, Verdict};
use app::store::uploads as upload_store;
use image::{DynamicImage, ImageDecoder, ImageFormat, ImageReader, Limits};
use std::io::Cursor;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Longest side of the display size and of the thumbnail.
pub const DISPLAY_PX: u32 = 1600;
pub const THUMB_PX: u32 = 320;
const JPEG_QUALITY: u8 = 82;
/// Decoder allocations, whatever the pixel cap (the output buffer counts).
const MAX_ALLOC: u64 = 512 * 1024 * 1024;
/// EXIF times carry no zone unless OffsetTimeOriginal says so: Vietnam is UTC+7
/// all year.
const DEFAULT_OFFSET_MINUTES: i32 = 7 * 60;

/// Why a file is not a usable photo.
#[derive(Debug, Clone, PartialEq)]
pub enum Problem {
    Empty,
    NotAnImage,
    Unsupported(Format),
    TooManyPixels {
        width: u32,
        height: u32,
        limit: u64,
    },
    Truncated,
    Corrupt(String),
    TooMuchMemory,
    Timeout,
    /// The photo store did not answer (reading the original, writing a
    /// derivative): nothing the photo did. Never a verdict: the photo stays
    /// `received` and is judged again (`process`).
    Unavailable(String),
}

impl Problem {
    pub fn code(&self) -> &'static str {
        match self {
            Problem::Empty => "photo.empty",
            Problem::NotAnImage => "photo.not_an_image",
            Problem::Unsupported(_) => "photo.unsupported_format",
            Problem::TooManyPixels { .. } => "photo.too_many_pixels",
            Problem::Truncated => "photo.truncated",
            Problem::Corrupt(_) => "photo.corrupt",
            Problem::TooMuchMemory => "photo.too_much_memory",
            Problem::Timeout => "photo.decode_timeout",
            Problem::Unavailable(_) => "photo.storage_unavailable",
        }
    }

    /// 415 for a real image of a format we do not take; 422 for the rest.
    pub fn status(&self) -> u16 {
        match self {
            Problem::Unsupported(_) => 415,
            Problem::Unavailable(_) => 503,
            _ => 422,
        }
    }

    pub fn body(&self) -> ErrorBody {
        let message = match self {
            Problem::Empty => "the file is empty (0 bytes)".to_string(),
            Problem::NotAnImage => {
                "the file is not an image (it is not JPEG, PNG or WebP; perhaps a web page or a document renamed .jpg)".to_string()
            }
            Problem::Unsupported(f) => format!(
                "{} images are not accepted: send JPEG, PNG or WebP",
                f.mime().unwrap_or("this kind of")
            ),
            Problem::TooManyPixels { width, height, limit } => format!(
                "the image declares {width}×{height} pixels ({} MP); the limit is {} MP",
                (*width as u64 * *height as u64) / 1_000_000,
                limit / 1_000_000
            ),
            Problem::Truncated => "the file is cut short: part of the image is missing; take or send it again".to_string(),
            Problem::Corrupt(why) => format!("the image data is damaged: {why}"),
            Problem::TooMuchMemory => "decoding the image would need more memory than allowed".to_string(),
            Problem::Timeout => "decoding the image took too long".to_string(),
            Problem::Unavailable(why) => {
                format!("the photo store did not answer ({why}); the photo is checked again later")
            }
        };
        let mut body = ErrorBody::new(self.code(), message);
        if let Problem::TooManyPixels {
            width,
            height,
            limit,
        } = self
        {
            body = body
                .with("width", *width)
                .with("height", *height)
                .with("limit_mp", *limit / 1_000_000);
        }
        if let Problem::Unsupported(f) = self {
            body = body.with("format", f.mime().unwrap_or_default());
        }
        body
    }
}

/// A judged, usable photo and its derivatives (JPEG).
pub struct Derived {
    pub width: u32,
    pub height: u32,
    pub exif: ExifInfo,
    /// Why the file's EXIF was not used, when it was not: damaged metadata
    /// never costs a photo whose pixels decode.
    pub exif_problem: Option<&'static str>,
    pub display: Vec<u8>,
    pub thumb: Vec<u8>,
}

/// What the quick checks found.
pub struct Inspected {
    pub format: Format,
    pub dims: exif::Dimensions,
    pub exif: ExifInfo,
    pub exif_problem: Option<&'static str>,
}

/// EXIF from the bytes a container carries: WebP's `EXIF` chunk (and some
/// PNG `eXIf` writers) put JPEG's `Exif\0\0` before the TIFF header.
fn exif_of_block(raw: &[u8]) -> Result<ExifInfo, &'static str> {
    let tiff = raw.strip_prefix(b"Exif\0\0".as_slice()).unwrap_or(raw);
    exif::parse_tiff(tiff).map_err(|exif::ExifError::Broken(why)| why)
}

/// The quick checks that need no decode: emptiness, format, completeness,
/// declared size and EXIF. Damaged EXIF is noted, not refused: the pixels
/// decide whether a photo is usable.
pub fn inspect(bytes: &[u8], max_pixels: u64) -> Result<Inspected, Problem> {
    if bytes.is_empty() {
        return Err(Problem::Empty);
    }
    let format = exif::sniff(bytes);
    match format {
        Format::Jpeg | Format::Png | Format::Webp => {}
        Format::Unknown => return Err(Problem::NotAnImage),
        other => return Err(Problem::Unsupported(other)),
    }
    let dims = exif::dimensions(bytes).ok_or_else(|| {
        if bytes.len() < 64 || (format == Format::Jpeg && jpeg_header_cut(bytes)) {
            Problem::Truncated
        } else {
            Problem::Corrupt("the header does not say the image's size".into())
        }
    })?;
    if dims.width == 0 || dims.height == 0 {
        return Err(Problem::Corrupt("the header declares a zero size".into()));
    }
    if dims.width as u64 * dims.height as u64 > max_pixels {
        return Err(Problem::TooManyPixels {
            width: dims.width,
            height: dims.height,
            limit: max_pixels,
        });
    }
    if !complete(format, bytes) {
        return Err(Problem::Truncated);
    }
    let (exif, exif_problem) = match format {
        Format::Jpeg => match exif::jpeg_exif(bytes) {
            Ok(info) => {
                let info = info.unwrap_or_default();
                let damaged = info.damaged;
                (info, damaged)
            }
            Err(exif::ExifError::Broken(why)) => (ExifInfo::default(), Some(why)),
        },
        _ => (ExifInfo::default(), None),
    };
    Ok(Inspected {
        format,
        dims,
        exif,
        exif_problem,
    })
}

/// Whether the file ends where its format says it should: a JPEG has an EOI
/// marker after its scan data and (where `jpeg_scan` reads the layout) every
/// block its header promises, a PNG an IEND chunk, a WebP all the bytes its
/// RIFF header counts. Decoders often paint a cut file grey instead of failing.
fn complete(format: Format, bytes: &[u8]) -> bool {
    match format {
        Format::Jpeg => {
            // Every block the header promises is there: whole, even if the
            // end marker after them was lost.
            let whole = crate::jpeg_scan::scan_is_whole(bytes);
            whole == Some(true)
                || (jpeg_scan_start(bytes)
                    .is_some_and(|sos| bytes[sos..].windows(2).any(|w| w == [0xFF, 0xD9]))
                    && whole != Some(false))
        }
        // The chunks reach IEND, whatever follows it (a screenshot editor
        // that rewrote a shorter file in place leaves the old tail behind).
        Format::Png => png_chunks(bytes, |_, _| {}),
        Format::Webp => bytes
            .get(4..8)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize)
            .is_some_and(|riff| riff.saturating_add(8) <= bytes.len()),
        _ => false,
    }
}

/// Walks a PNG's chunks from its signature; true when they reach IEND inside
/// the file. `each` sees every chunk's type and length on the way.
fn png_chunks(bytes: &[u8], mut each: impl FnMut(&[u8], usize)) -> bool {
    let mut at = 8usize;
    while let (Some(len), Some(kind)) = (bytes.get(at..at + 4), bytes.get(at + 4..at + 8)) {
        let len = u32::from_be_bytes([len[0], len[1], len[2], len[3]]) as usize;
        each(kind, len);
        if kind == b"IEND" {
            return true;
        }
        match at.checked_add(12).and_then(|a| a.checked_add(len)) {
            Some(next) => at = next,
            None => return false,
        }
    }
    false
}

/// A compressed PNG chunk the decoder inflates whole while it reads the
/// header (a colour profile, compressed text): one of zeros 500 KB long
/// inflates to the whole memory cap before the image is counted. Real
/// profiles are a few KB.
const PNG_COMPRESSED_CHUNK_MAX: usize = 64 * 1024;

fn png_inflates_too_much(bytes: &[u8]) -> bool {
    let mut big = false;
    png_chunks(bytes, |kind, len| {
        if matches!(kind, b"iCCP" | b"zTXt" | b"iTXt") && len > PNG_COMPRESSED_CHUNK_MAX {
            big = true;
        }
    });
    big
}

/// A JPEG's frame header: its marker (SOF0, SOF2…) and component count.
fn jpeg_frame(bytes: &[u8]) -> Option<(u8, u8)> {
    let sof = |m: u8| (0xC0..=0xCF).contains(&m) && ![0xC4, 0xC8, 0xCC].contains(&m);
    let at = jpeg_marker(bytes, sof)?;
    Some((bytes[at + 1], *bytes.get(at + 9)?))
}

/// Whether a JPEG's segments run past the end of the file before its frame
/// header: a file cut inside its metadata (a camera's EXIF is tens of KB),
/// which is worth sending again, not a broken one.
fn jpeg_header_cut(bytes: &[u8]) -> bool {
    let mut i = 2;
    loop {
        let (Some(&ff), Some(&marker)) = (bytes.get(i), bytes.get(i + 1)) else {
            return true;
        };
        if ff != 0xFF {
            return false;
        }
        if marker == 0xFF {
            i += 1;
            continue;
        }
        if (0xC0..=0xCF).contains(&marker) && ![0xC4, 0xC8, 0xCC].contains(&marker) {
            return false; // the frame header is here: its size was unreadable
        }
        let (Some(&hi), Some(&lo)) = (bytes.get(i + 2), bytes.get(i + 3)) else {
            return true;
        };
        let len = usize::from(u16::from_be_bytes([hi, lo]));
        if len < 2 {
            return false;
        }
        i += 2 + len;
    }
}

/// The offset of the first SOS segment (entropy-coded data follows it).
fn jpeg_scan_start(bytes: &[u8]) -> Option<usize> {
    jpeg_marker(bytes, |marker| marker == 0xDA)
}

/// Walks a JPEG's segments from its start to the first marker `wanted`
/// accepts; returns where its 0xFF is. Every step advances, so the walk is
/// bounded by the input.
fn jpeg_marker(bytes: &[u8], wanted: impl Fn(u8) -> bool) -> Option<usize> {
    let mut i = 2;
    loop {
        let marker = *bytes.get(i + 1)?;
        if *bytes.get(i)? != 0xFF {
            return None;
        }
        if marker == 0xFF {
            i += 1;
            continue;
        }
        if wanted(marker) {
            return Some(i);
        }
        if (0xD0..=0xD9).contains(&marker) || marker == 0x01 {
            i += 2;
            continue;
        }
        let len = u16::from_be_bytes([*bytes.get(i + 2)?, *bytes.get(i + 3)?]) as usize;
        if len < 2 {
            return None;
        }
        i = i.checked_add(2 + len)?;
    }
}

/// Judges and derives, on the calling (blocking) thread.
pub fn derive(bytes: &[u8], max_pixels: u64) -> Result<Derived, Problem> {
    let Inspected {
        format,
        dims,
        exif: mut info,
        mut exif_problem,
    } = inspect(bytes, max_pixels)?;
    // Some decoders read the data before checking `max_alloc`: judge what
    // they will hold from the header first.
    if dims.width as u64 * dims.height as u64 * bytes_per_pixel(format, bytes) > MAX_ALLOC
        || (format == Format::Png && png_inflates_too_much(bytes))
    {
        return Err(Problem::TooMuchMemory);
    }
    let mut reader = ImageReader::with_format(
        Cursor::new(bytes),
        match format {
            Format::Png => ImageFormat::Png,
            Format::Webp => ImageFormat::WebP,
            _ => ImageFormat::Jpeg,
        },
    );
    let mut limits = Limits::default();
    limits.max_alloc = Some(MAX_ALLOC);
    limits.max_image_width = Some(u16::MAX as u32);
    limits.max_image_height = Some(u16::MAX as u32);
    reader.limits(limits);
    let mut decoder = reader.into_decoder().map_err(problem_of)?;
    let (w, h) = decoder.dimensions();
    if w as u64 * h as u64 > max_pixels {
        return Err(Problem::TooManyPixels {
            width: w,
            height: h,
            limit: max_pixels,
        });
    }
    // Not every decoder enforces `max_alloc` before reading the data: the
    // output buffer alone must fit.
    if decoder.total_bytes() > MAX_ALLOC {
        return Err(Problem::TooMuchMemory);
    }
    if format != Format::Jpeg {
        if let Ok(Some(raw)) = decoder.exif_metadata() {
            match exif_of_block(&raw) {
                Ok(parsed) => {
                    exif_problem = parsed.damaged;
                    info = parsed;
                }
                Err(why) => exif_problem = Some(why),
            }
        }
    }
    let image = DynamicImage::from_decoder(decoder).map_err(problem_of)?;
    // Shrink first, then turn: turning the full decode copies it, which
    // doubled a large photo's memory past the decode's cap. The fit is a
    // square, so turning after shrinking gives the same display size.
    let (mut width, mut height) = (image.width(), image.height());
    let mut display = shrink(image, DISPLAY_PX);
    if let Some(o) = info
        .orientation
        .and_then(image::metadata::Orientation::from_exif)
    {
        use image::metadata::Orientation::*;
        display.apply_orientation(o);
        if matches!(o, Rotate90 | Rotate270 | Rotate90FlipH | Rotate270FlipH) {
            std::mem::swap(&mut width, &mut height);
        }
    }
    let thumb = shrink(display.clone(), THUMB_PX);
    Ok(Derived {
        width,
        height,
        exif: info,
        exif_problem,
        display: jpeg(&display)?,
        thumb: jpeg(&thumb)?,
    })
}

/// Bytes a decoder holds per pixel, from the header: the output, and what
/// it keeps beside it. PNG: colour type and bit depth. A progressive JPEG
/// keeps every component's coefficients (2 bytes each) besides the output; a
/// lossless or animated WebP an RGBA canvas besides it.
fn bytes_per_pixel(format: Format, bytes: &[u8]) -> u64 {
    match format {
        Format::Png => {
            let depth = u64::from(bytes.get(24).copied().unwrap_or(8)).max(8) / 8;
            let channels = match bytes.get(25).copied().unwrap_or(6) {
                0 => 1,
                4 => 2,
                2 => 3,
                _ => 4, // RGBA, and palettes expand to RGB(A)
            };
            depth * channels
        }
        Format::Jpeg => match jpeg_frame(bytes) {
            // Progressive frames: SOF2, SOF6, SOF10, SOF14.
            Some((0xC2 | 0xC6 | 0xCA | 0xCE, components)) => 3 + 2 * u64::from(components.max(1)),
            Some((_, components)) => u64::from(components).max(3),
            None => 3,
        },
        Format::Webp if bytes.get(12..16) == Some(b"VP8 ") => 6,
        _ => 8,
    }
}

/// The image fitted within `px` on its longer side; taken by value, so an
/// image that already fits is not copied and a large one is dropped as soon
/// as its smaller copy exists.
fn shrink(image: DynamicImage, px: u32) -> DynamicImage {
    let (w, h) = app::photos::fit_within(image.width(), image.height(), px);
    if (w, h) == (image.width(), image.height()) {
        image
    } else {
        // Area averaging: fast, and as good as a windowed filter when shrinking.
        image.thumbnail_exact(w, h)
    }
}

fn jpeg(image: &DynamicImage) -> Result<Vec<u8>, Problem> {
    let mut out = Vec::new();
    let rgb = image.to_rgb8();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, JPEG_QUALITY)
        .encode_image(&rgb)
        .map_err(|e| Problem::Corrupt(format!("could not write the display size: {e}")))?;
    Ok(out)
}

fn problem_of(e: image::ImageError) -> Problem {
    use image::error::{ImageError, LimitErrorKind};
    match e {
        ImageError::Limits(l) => match l.kind() {
            LimitErrorKind::InsufficientMemory => Problem::TooMuchMemory,
            _ => Problem::Corrupt("the image's size is beyond what can be decoded".into()),
        },
        ImageError::IoError(io) if io.kind() == std::io::ErrorKind::UnexpectedEof => {
            Problem::Truncated
        }
        ImageError::Unsupported(u) => Problem::Corrupt(u.to_string()),
        other => {
            let text = other.to_string();
            if text.to_ascii_lowercase().contains("eof") || text.contains("end of") {
                Problem::Truncated
            } else {
                Problem::Corrupt(text)
            }
        }
    }
}

/// One or two decodes at once: a 100 MP image takes hundreds of MB while it
/// decodes, and a burst of uploads must not take the server's memory. The
/// permit travels into the blocking task and is released when the decode
/// really ends, not when the caller stops waiting for it.
pub const MAX_DECODES: usize = 2;
static DECODES: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(MAX_DECODES);
static RUNNING: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

/// Decodes running now, and the most that ever ran at once in this process.
pub fn decodes_running() -> (usize, usize) {
    (RUNNING.load(Ordering::SeqCst), PEAK.load(Ordering::SeqCst))
}

/// Counts a decode while it runs on its blocking thread.
struct Running;

impl Running {
    fn start() -> Running {
        let now = RUNNING.fetch_add(1, Ordering::SeqCst) + 1;
        PEAK.fetch_max(now, Ordering::SeqCst);
        Running
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        RUNNING.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Object keys of a photo's files, by content hash.
pub fn original_key(sha256: &str, format: Format) -> String {
    format!("original/{sha256}.{}", format.extension())
}
pub fn display_key(sha256: &str) -> String {
    format!("display/{sha256}.jpg")
}
pub fn thumb_key(sha256: &str) -> String {
    format!("thumb/{sha256}.jpg")
}

/// Runs the pipeline on a photo whose original is stored under `object_key` and
/// records the verdict. Derivatives are written before the verdict says `ok`, so
/// an `ok` photo always has all three files.
///
/// A photo store that does not answer is not the photo's fault: the photo
/// stays `received`, and is judged again after `Photos::retry_after`, then
/// four times as long, [`RETRIES`] times; after that at the next start.
pub async fn process(state: &AppState, photo_id: &str, sha256: &str, object_key: &str) {
    if judged(state, photo_id, sha256, object_key).await {
        return;
    }
    let (state, photo, sha, key) = (
        state.clone(),
        photo_id.to_string(),
        sha256.to_string(),
        object_key.to_string(),
    );
    tokio::spawn(async move {
        let mut wait = state.photos.retry_after;
        for _ in 0..RETRIES {
            tokio::time::sleep(wait).await;
            if judged(&state, &photo, &sha, &key).await {
                return;
            }
            wait *= 4;
        }
        tracing::warn!(photo = %photo, "the photo store still does not answer; the photo is judged again at the next start");
    });
}

/// How many times `process` judges a photo again while the store does not answer.
pub const RETRIES: u32 = 4;

/// Judges a photo and records the verdict; false (nothing recorded) when
/// the photo store did not answer. A decode that outlives its time is
/// recorded as `photo.decode_timeout` at once (the upload's answer does not
/// wait), and its real outcome replaces that when it ends: the work goes on
/// and writes the display copy and thumbnail, and a good photo must not stay
/// marked bad for being slow.
async fn judged(state: &AppState, photo_id: &str, sha256: &str, object_key: &str) -> bool {
    let started = std::time::Instant::now();
    let mut work = match start_judging(state, sha256, object_key).await {
        Ok(work) => work,
        Err(p) => return record(state, photo_id, Err(p), started).await,
    };
    match tokio::time::timeout(state.photos.decode_timeout, &mut work).await {
        Ok(joined) => record(state, photo_id, outcome(joined), started).await,
        Err(_) => {
            record(state, photo_id, Err(Problem::Timeout), started).await;
            let (state, photo) = (state.clone(), photo_id.to_string());
            tokio::spawn(async move {
                let late = outcome(work.await);
                if !matches!(late, Err(Problem::Unavailable(_))) {
                    record(&state, &photo, late, started).await;
                }
            });
            true
        }
    }
}

/// Records what judging found; false (nothing recorded) when the photo
/// store did not answer.
async fn record(
    state: &AppState,
    photo_id: &str,
    result: Result<Judged, Problem>,
    started: std::time::Instant,
) -> bool {
    crate::telemetry::photo_judged(
        result.as_ref().map(|_| ()).map_err(Problem::code),
        started.elapsed(),
    );
    if let Err(Problem::Unavailable(why)) = &result {
        tracing::warn!(photo = %photo_id, "not judged, the photo store did not answer: {why}");
        return false;
    }
    let verdict = verdict_of(result);
    if let Err(e) = store::set_verdict(&state.db, photo_id, &verdict).await {
        // Left `received`: the jobs judge it again.
        tracing::error!(photo = %photo_id, "could not record the image verdict: {e}");
    }
    true
}

/// The verdict a judging's result records.
fn verdict_of(result: Result<Judged, Problem>) -> Verdict {
    match result {
        Ok(j) => {
            let (exif_taken_at, mut warnings) = exif_time(&j.exif, app::store::now_ms());
            if let Some(why) = j.exif_problem {
                warnings.push(
                    ErrorBody::new(
                        "photo.exif_unreadable",
                        format!("the photo's EXIF metadata is damaged and was ignored ({why}); its time and place come from the phone"),
                    )
                    .with("reason", why),
                );
            }
            Verdict {
                status: PhotoStatus::Ok,
                problem: None,
                warnings,
                width: Some(j.width as i64),
                height: Some(j.height as i64),
                exif_taken_at,
                exif_lat: j.exif.lat,
                exif_lon: j.exif.lon,
            }
        }
        Err(p) => Verdict {
            status: PhotoStatus::Bad,
            problem: Some(p.body()),
            warnings: Vec::new(),
            width: None,
            height: None,
            exif_taken_at: None,
            exif_lat: None,
            exif_lon: None,
        },
    }
}

/// The capture time a file's EXIF gives, under the same bound as a time the
/// phone sends (after 2000, at most a day ahead of the server): a camera with
/// a wrong clock must not date the evidence. An implausible time is dropped
/// with a warning.
pub fn exif_time(info: &ExifInfo, now_ms: i64) -> (Option<i64>, Vec<ErrorBody>) {
    let Some(local) = info.taken_local else {
        return (None, Vec::new());
    };
    let ms = local.to_epoch_ms(info.offset_minutes.unwrap_or(DEFAULT_OFFSET_MINUTES));
    if app::photos::plausible_capture_time(ms, now_ms) {
        return (Some(ms), Vec::new());
    }
    let written = format!(
        "{:04}-{:02}-{:02} {:02}:{:02}",
        local.year, local.month, local.day, local.hour, local.minute
    );
    let warning = ErrorBody::new(
        "photo.exif_time_implausible",
        format!("the photo's EXIF says it was taken at {written}, which cannot be right (before 2000 or in the future); that time was ignored"),
    )
    .with("exif_time", written);
    (None, vec![warning])
}

/// What the pipeline learnt from a usable photo.
pub struct Judged {
    pub width: u32,
    pub height: u32,
    pub exif: ExifInfo,
    pub exif_problem: Option<&'static str>,
}

/// Decodes the stored original on the blocking pool, at most `MAX_DECODES` at
/// once, and writes its display size and thumbnail; `Timeout` when that
/// takes longer than the deployment's decode time (the work goes on).
pub async fn judge(state: &AppState, sha256: &str, object_key: &str) -> Result<Judged, Problem> {
    let work = start_judging(state, sha256, object_key).await?;
    match tokio::time::timeout(state.photos.decode_timeout, work).await {
        Err(_) => Err(Problem::Timeout),
        Ok(joined) => outcome(joined),
    }
}

type Judging = tokio::task::JoinHandle<Result<Judged, Problem>>;

/// Starts judging on the blocking pool once a decode permit is free; the
/// permit is held until the work ends, whoever waits for it.
async fn start_judging(
    state: &AppState,
    sha256: &str,
    object_key: &str,
) -> Result<Judging, Problem> {
    let permit = DECODES.acquire().await.map_err(|_| Problem::Timeout)?;
    let storage = state.photos.storage.clone();
    let max_pixels = state.photos.max_pixels;
    let (sha, key) = (sha256.to_string(), object_key.to_string());
    Ok(tokio::task::spawn_blocking(
        move || -> Result<Judged, Problem> {
            // Held until this closure returns, even after the caller's timeout.
            let _permit = permit;
            let _running = Running::start();
            let bytes = storage.get(&key).map_err(|e| {
                Problem::Unavailable(format!("the stored original cannot be read: {e}"))
            })?;
            let derived = derive(&bytes, max_pixels)?;
            let stored = storage
                .put(&display_key(&sha), &derived.display)
                .and_then(|_| storage.put(&thumb_key(&sha), &derived.thumb));
            if let Err(e) = stored {
                return Err(Problem::Unavailable(format!(
                    "could not store the display size: {e}"
                )));
            }
            Ok(Judged {
                width: derived.width,
                height: derived.height,
                exif: derived.exif,
                exif_problem: derived.exif_problem,
            })
        },
    ))
}

/// A finished judging's result (a panic in the decoder is a damaged file).
fn outcome(
    joined: Result<Result<Judged, Problem>, tokio::task::JoinError>,
) -> Result<Judged, Problem> {
    match joined {
        Err(join) => Err(Problem::Corrupt(format!("the decoder failed: {join}"))),
        Ok(result) => result,
    }
}

/// The uploads and pipelines a stop interrupted: run by the process that takes
/// over the background jobs, and again every few minutes while it holds them
/// (see `jobs`): a process killed while judging a photo and restarted while
/// another keeps the jobs, or a verdict whose write failed, would otherwise
/// wait for the next change of holder. Photos received at or after
/// `received_before` are left to whoever is judging them now.
pub async fn resume_interrupted(state: &AppState, received_before: i64) {
    match upload_store::stalled_uploads(&state.db).await {
        Ok(list) => {
            for upload in list {
                if let Err(e) = crate::photo_bytes::finish_stalled(state, &upload).await {
                    tracing::warn!(upload = %upload.id, "cannot finish an interrupted upload: {e}");
                }
            }
        }
        Err(e) => tracing::warn!("cannot list interrupted uploads: {e}"),
    }
    if let Err(e) = crate::photo_bytes::repair_completed_but_waiting(state).await {
        tracing::warn!("cannot repair photos left waiting by a completed upload: {e}");
    }
    match store::awaiting_verdict(&state.db, received_before).await {
        Ok(list) => {
            for (id, key) in list {
                let sha = key
                    .rsplit('/')
                    .next()
                    .and_then(|f| f.split('.').next())
                    .unwrap_or_default()
                    .to_string();
                process(state, &id, &sha, &key).await;
            }
        }
        Err(e) => tracing::warn!("cannot list photos awaiting a verdict: {e}"),
    }
}

/// Ends every upload past its expiry and drops its partial bytes.
pub async fn expire_uploads(state: &AppState) -> Result<usize, app::error::AppError> {
    let ids = upload_store::expired_uploads(&state.db, app::store::now_ms()).await?;
    for id in &ids {
        upload_store::end_upload(&state.db, id).await?;
        let id = id.clone();
        let _ = crate::photo_bytes::on_storage(state, "dropping an expired upload", move |s| {
            s.delete_partial(&id)
        })
        .await;
    }
    Ok(ids.len())
}
