//! Release updates as deltas (Compression Dictionary Transport, RFC 9842).
//!
//! Every release renames every bundle file, so after any change a phone used to
//! download the whole field app again: about 620 KB brotli over a rural link.
//! Now each `/pkg/*.wasm` response tells the browser to keep it as a dictionary
//! for the next file of the same stem (`Use-As-Dictionary`). When the browser
//! later asks for that file with `Available-Dictionary: :<sha-256>:` and accepts
//! `dcz`, the server answers with the new file compressed by zstd against the
//! old one (the old file as raw prefix): a few percent of its brotli size after
//! a small change (BENCHMARKS.md, "Release updates as deltas").
//!
//! The server keeps the bundle files of the last releases it served in
//! `<data-dir>/releases/` and makes the deltas once, in the background at
//! start-up, after the brotli copies. A request never compresses anything: it
//! gets a delta that is ready, or the file as before.

use axum::body::Bytes;
use axum::http::{header, HeaderMap, HeaderValue};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

/// Releases kept per stem: the current one and the two before it, so a phone
/// that skipped a release still gets a delta.
pub const KEEP: usize = 3;
/// zstd's level for the deltas: made once per release, so the slowest.
const LEVEL: i32 = 19;
/// Browsers decode a dcz stream whose window is at most 8 MB (RFC 9842 §5).
const MAX_WINDOW_LOG: u32 = 23;
/// The dcz stream's header: a zstd skippable frame of 32 bytes, holding the
/// dictionary's SHA-256 (RFC 9842 §4).
const DCZ_MAGIC: [u8; 8] = [0x5e, 0x2a, 0x4d, 0x18, 0x20, 0x00, 0x00, 0x00];

type Key = (String, [u8; 32]);

/// The deltas that are ready: (file name, SHA-256 of the dictionary) → the
/// whole `dcz` body. Empty until start-up has made them.
#[derive(Debug, Default)]
pub struct ReleaseDeltas {
    ready: RwLock<HashMap<Key, Bytes>>,
}

impl ReleaseDeltas {
    pub fn get(&self, file: &str, dictionary: &[u8; 32]) -> Option<Bytes> {
        let ready = self.ready.read().unwrap_or_else(|e| e.into_inner());
        ready.get(&(file.to_string(), *dictionary)).cloned()
    }

    fn replace(&self, deltas: HashMap<Key, Bytes>) {
        *self.ready.write().unwrap_or_else(|e| e.into_inner()) = deltas;
    }
}

/// `khaosat.3QOx….wasm` → `khaosat`; `chunk_13.upzq….wasm` → `chunk_13`. Only
/// hashed wasm files: an unhashed name would be its own dictionary.
pub fn stem(file: &str) -> Option<&str> {
    let name = file.strip_suffix(".wasm")?;
    let (stem, hash) = name.split_once('.')?;
    let plain = |s: &str| {
        !s.is_empty()
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    };
    (plain(stem) && plain(hash) && !file.contains('/')).then_some(stem)
}

/// The `Use-As-Dictionary` value for a bundle file: the next release's file of
/// the same stem may be sent compressed against this one.
pub fn use_as_dictionary(file: &str) -> Option<HeaderValue> {
    let stem = stem(file)?;
    HeaderValue::from_str(&format!("match=\"/pkg/{stem}.*.wasm\"")).ok()
}

/// The dictionary the browser holds for this request (`Available-Dictionary`,
/// a structured-field byte sequence `:base64:`), when the header is well formed.
pub fn available_dictionary(headers: &HeaderMap) -> Option<[u8; 32]> {
    use base64::Engine;
    let value = headers.get("available-dictionary")?.to_str().ok()?.trim();
    let inner = value.strip_prefix(':')?.strip_suffix(':')?;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(inner)
        .ok()?;
    bytes.try_into().ok()
}

/// Whether `Accept-Encoding` lists `dcz` (without `q=0`).
pub fn accepts_dcz(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|coding| {
            let mut parts = coding.split(';').map(str::trim);
            let refused = |p: &str| {
                p.strip_prefix("q=")
                    .and_then(|q| q.trim().parse::<f32>().ok())
                    .is_some_and(|q| q <= 0.0)
            };
            parts.next() == Some("dcz") && !parts.any(refused)
        })
}

pub fn sha256(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

/// `data` as a dcz body: the header naming `dictionary`, then a zstd frame with
/// `dictionary` as its raw prefix. Checked by decoding it before it is
/// returned, so a delta that would not give back `data` is never served.
pub fn dcz(dictionary: &[u8], data: &[u8]) -> Result<Vec<u8>, String> {
    use zstd::zstd_safe::{CCtx, CParameter};
    let window = (dictionary.len() + data.len())
        .max(1024)
        .next_power_of_two()
        .trailing_zeros();
    if window > MAX_WINDOW_LOG {
        return Err(format!(
            "a delta needs a window of 2^{window} bytes, over the 8 MB browsers decode"
        ));
    }
    let zstd = |code: usize| zstd::zstd_safe::get_error_name(code).to_string();
    let mut cctx = CCtx::create();
    cctx.set_parameter(CParameter::CompressionLevel(LEVEL))
        .map_err(zstd)?;
    cctx.set_parameter(CParameter::WindowLog(window))
        .map_err(zstd)?;
    cctx.set_parameter(CParameter::EnableLongDistanceMatching(true))
        .map_err(zstd)?;
    cctx.ref_prefix(dictionary).map_err(zstd)?;
    let mut frame = Vec::with_capacity(zstd::zstd_safe::compress_bound(data.len()));
    cctx.compress2(&mut frame, data).map_err(zstd)?;
    let mut body = Vec::with_capacity(40 + frame.len());
    body.extend_from_slice(&DCZ_MAGIC);
    body.extend_from_slice(&sha256(dictionary));
    body.extend_from_slice(&frame);
    if decode(dictionary, &body)?.as_slice() != data {
        return Err("the delta does not decode to the file".into());
    }
    Ok(body)
}

/// What a browser does with a dcz body: check the header names `dictionary`,
/// then decode the frame against it.
pub fn decode(dictionary: &[u8], body: &[u8]) -> Result<Vec<u8>, String> {
    use zstd::zstd_safe::{DCtx, DParameter};
    let frame = body
        .strip_prefix(&DCZ_MAGIC[..])
        .and_then(|rest| rest.strip_prefix(&sha256(dictionary)[..]))
        .ok_or("the dcz header does not name this dictionary")?;
    let size = zstd::zstd_safe::get_frame_content_size(frame)
        .ok()
        .flatten()
        .ok_or("the frame does not say its size")?;
    let zstd = |code: usize| zstd::zstd_safe::get_error_name(code).to_string();
    let mut dctx = DCtx::create();
    dctx.set_parameter(DParameter::WindowLogMax(MAX_WINDOW_LOG))
        .map_err(zstd)?;
    dctx.ref_prefix(dictionary).map_err(zstd)?;
    let mut out = Vec::with_capacity(usize::try_from(size).map_err(|e| e.to_string())?);
    dctx.decompress(&mut out, frame).map_err(zstd)?;
    Ok(out)
}

/// What one start-up made ready.
#[derive(Debug, Default, PartialEq)]
pub struct Prepared {
    pub deltas: usize,
    /// The deltas' bytes, and the brotli bytes of the files they stand for.
    pub delta_bytes: u64,
    pub brotli_bytes: u64,
}

/// Remembers the bundle files in `pkg` under `releases` (the newest there, for
/// pruning), first thing at start-up: a release that served phones for a
/// minute is one they may hold. Returns the current files' names.
pub fn remember(pkg: &Path, releases: &Path) -> std::io::Result<Vec<String>> {
    std::fs::create_dir_all(releases)?;
    let current = wasm_files(pkg)?;
    for file in &current {
        let kept = releases.join(file);
        if kept.exists() {
            std::fs::File::options()
                .append(true)
                .open(&kept)?
                .set_modified(std::time::SystemTime::now())?;
        } else {
            crate::assets::atomic_write(&kept, &std::fs::read(pkg.join(file))?)?;
        }
    }
    Ok(current)
}

/// Remembers the current release ([`remember`]), forgets all but the last
/// [`KEEP`] of each stem, and makes (or reads, when an earlier start made it) a
/// delta from each remembered file to the current file of its stem. A delta
/// is kept only when it is smaller than the file's brotli copy.
pub fn prepare(pkg: &Path, releases: &Path, deltas: &ReleaseDeltas) -> std::io::Result<Prepared> {
    let current = remember(pkg, releases)?;
    let made_dir = releases.join("deltas");
    std::fs::create_dir_all(&made_dir)?;
    let mut by_stem: HashMap<String, Vec<(std::time::SystemTime, PathBuf)>> = HashMap::new();
    for file in wasm_files(releases)? {
        let path = releases.join(&file);
        let modified = std::fs::metadata(&path)?.modified()?;
        if let Some(stem) = stem(&file) {
            by_stem
                .entry(stem.to_string())
                .or_default()
                .push((modified, path));
        }
    }
    for kept in by_stem.values_mut() {
        kept.sort_by_key(|k| std::cmp::Reverse(k.0));
        for (_, old) in kept.drain(KEEP.min(kept.len())..) {
            remove(&old)?;
        }
    }
    let mut ready = HashMap::new();
    let mut report = Prepared::default();
    let mut wanted = Vec::new();
    for file in &current {
        let Some(stem) = stem(file) else { continue };
        let data = std::fs::read(pkg.join(file))?;
        let brotli = std::fs::metadata(pkg.join(format!("{file}.br")))
            .map(|m| m.len())
            .unwrap_or(data.len() as u64);
        for (_, old) in by_stem.get(stem).into_iter().flatten() {
            if old.file_name().and_then(|n| n.to_str()) == Some(file.as_str()) {
                continue;
            }
            let dictionary = std::fs::read(old)?;
            let hash = sha256(&dictionary);
            let made = made_dir.join(format!("{file}.{}.dcz", hex::encode(hash)));
            wanted.push(made.clone());
            // An empty file remembers "no smaller than brotli", so the next
            // start does not try again.
            let body = match std::fs::read(&made) {
                Ok(body) => body,
                Err(_) => {
                    let body = match dcz(&dictionary, &data) {
                        Ok(body) if (body.len() as u64) < brotli => body,
                        Ok(_) => Vec::new(),
                        Err(e) => {
                            tracing::warn!("no delta for {file}: {e}");
                            Vec::new()
                        }
                    };
                    crate::assets::atomic_write(&made, &body)?;
                    body
                }
            };
            if body.is_empty() {
                continue;
            }
            report.deltas += 1;
            report.delta_bytes += body.len() as u64;
            report.brotli_bytes += brotli;
            ready.insert((file.clone(), hash), Bytes::from(body));
        }
    }
    for entry in std::fs::read_dir(&made_dir)? {
        let path = entry?.path();
        if !wanted.contains(&path) && path.extension().is_some_and(|e| e == "dcz") {
            remove(&path)?;
        }
    }
    deltas.replace(ready);
    Ok(report)
}

fn wasm_files(dir: &Path) -> std::io::Result<Vec<String>> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        if !entry.file_type()?.is_file() {
            continue;
        }
        if let Some(name) = entry.file_name().to_str().filter(|n| stem(n).is_some()) {
            files.push(name.to_string());
        }
    }
    files.sort();
    Ok(files)
}

/// Gone already is fine: another process on the same data directory pruned it.
fn remove(path: &Path) -> std::io::Result<()> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

/// The `/pkg/*.wasm` answers: a ready delta when the browser holds the
/// dictionary it was made from and accepts `dcz`; otherwise the file as the
/// static files serve it, marked as the dictionary for the next release.
pub async fn serve(
    axum::extract::State(deltas): axum::extract::State<Arc<ReleaseDeltas>>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let Some(file) = request
        .uri()
        .path()
        .strip_prefix("/pkg/")
        .filter(|f| stem(f).is_some())
        .map(str::to_string)
    else {
        return next.run(request).await;
    };
    let headers = request.headers();
    let plain_get =
        request.method() == axum::http::Method::GET && !headers.contains_key(header::RANGE);
    if plain_get && accepts_dcz(headers) {
        if let Some(body) = available_dictionary(headers).and_then(|d| deltas.get(&file, &d)) {
            let mut response = (
                [
                    (
                        header::CONTENT_TYPE,
                        HeaderValue::from_static("application/wasm"),
                    ),
                    (header::CONTENT_ENCODING, HeaderValue::from_static("dcz")),
                    (
                        header::VARY,
                        HeaderValue::from_static("accept-encoding, available-dictionary"),
                    ),
                ],
                body,
            )
                .into_response();
            if let Some(value) = use_as_dictionary(&file) {
                response.headers_mut().insert("use-as-dictionary", value);
            }
            return response;
        }
    }
    let mut response = next.run(request).await;
    if response.status().is_success() {
        if let Some(value) = use_as_dictionary(&file) {
            response.headers_mut().insert("use-as-dictionary", value);
        }
        response.headers_mut().append(
            header::VARY,
            HeaderValue::from_static("available-dictionary"),
        );
    }
    response
}

#[cfg(test)]
#[path = "release_deltas_tests.rs"]
mod tests;
