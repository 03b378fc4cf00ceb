//! The built site: hashed bundle names (cargo-leptos `hash-files`), the service
//! worker rendered with this build's version and precache list, the offline
//! shell page, and brotli/gzip copies of every text asset made once at start-up.

use leptos::config::LeptosOptions;
use std::path::{Path, PathBuf};

pub const OUTPUT_NAME: &str = "khaosat";

#[derive(Debug, Clone)]
pub struct Site {
    pub root: PathBuf,
    pub js: String,
    pub wasm: String,
    pub css: String,
    /// Under `cargo leptos build --split`: the chunk loader the main JS
    /// imports, the manifest naming each lazy piece's chunks, and every chunk
    /// of a field piece (see [`field_chunks`]). All are precached, so the
    /// field app starts offline; the office's chunks are not, so a phone never
    /// downloads them.
    pub split: Vec<String>,
    /// The `hash.txt` the bundle names come from; None for names without hashes.
    pub hash_file: Option<PathBuf>,
    /// Changes with every build: names the service worker's cache.
    pub version: String,
    pub service_worker: String,
    pub shell_html: String,
    /// Deltas from earlier releases' bundle files, once start-up has made them.
    pub deltas: std::sync::Arc<crate::release_deltas::ReleaseDeltas>,
}

pub use crate::bundle_hashes::Hashes;

impl Site {
    /// The site at `root`; its hashes from `hash_file` (`--hash-file`), else
    /// `hash.txt` beside the binary or in `root`.
    pub fn load(root: &Path, hash_file: Option<&Path>) -> Result<Site, String> {
        let hashes =
            crate::bundle_hashes::locate(hash_file, crate::bundle_hashes::beside_binary(), root)?;
        Self::load_with_hashes(root, hashes)
    }

    /// `hashes`: the bundle's content hashes, or None for unhashed names.
    pub fn load_with_hashes(root: &Path, hashes: Option<Hashes>) -> Result<Site, String> {
        let split: Vec<String> = hashes
            .iter()
            .flat_map(|h| {
                let loader = h.split.as_ref().map(|s| format!("__wasm_split.{s}.js"));
                let manifest = h
                    .manifest
                    .as_ref()
                    .map(|m| format!("__wasm_split_manifest.{m}.json"));
                loader.into_iter().chain(manifest)
            })
            .collect();
        let mut split = split;
        if let Some(manifest) = split
            .iter()
            .find(|f| f.starts_with("__wasm_split_manifest."))
        {
            let path = root.join("pkg").join(manifest);
            let text = std::fs::read_to_string(&path)
                .map_err(|e| format!("the split manifest {} is unreadable: {e}", path.display()))?;
            split.extend(field_chunks(&text)?);
        }
        let (js, wasm, css, hash_file) = match hashes {
            Some(h) => (
                format!("{OUTPUT_NAME}.{}.js", h.js),
                format!("{OUTPUT_NAME}.{}.wasm", h.wasm),
                format!("{OUTPUT_NAME}.{}.css", h.css),
                Some(h.file.unwrap_or_else(|| PathBuf::from("hash.txt"))),
            ),
            None => (
                format!("{OUTPUT_NAME}.js"),
                format!("{OUTPUT_NAME}.wasm"),
                format!("{OUTPUT_NAME}.css"),
                None,
            ),
        };
        let hashed = hash_file.is_some();
        let pkg = root.join("pkg");
        if !pkg.join(&js).exists() {
            if !hashed && crate::bundle_hashes::holds_hashed_bundle(&pkg, OUTPUT_NAME) {
                return Err(format!(
                    "{} holds a build with hashed file names, but no hash.txt says which: copy the \
                     hash.txt that cargo-leptos wrote beside the server binary \
                     (target/server-release/hash.txt) beside this binary or into {}, or pass --hash-file",
                    pkg.display(),
                    root.display()
                ));
            }
            if hashed {
                return Err(format!(
                    "the hash file names {}, which is not there: is it the hash.txt of the build in {}?",
                    pkg.join(&js).display(),
                    root.display()
                ));
            }
            return Err(format!(
                "the built app is missing ({}); build it with `cargo leptos build --release`, or set LEPTOS_SITE_ROOT",
                pkg.join(&js).display()
            ));
        }
        let template = std::fs::read_to_string(root.join("sw.js"))
            .map_err(|e| format!("service worker template missing: {e}"))?;
        // Files whose names carry no content hash: their bytes go into the
        // version, so a release that changes only them (an English text, an
        // icon) still gives phones a new worker and a fresh precache.
        let unhashed = [
            "/manifest.webmanifest",
            "/icons/icon-192.png",
            "/icons/icon-512.png",
            "/icons/favicon.svg",
        ];
        let mut precache = vec![
            "/offline-shell".to_string(),
            ENGLISH_PATH.to_string(),
            format!("/pkg/{js}"),
            format!("/pkg/{wasm}"),
            format!("/pkg/{css}"),
        ];
        precache.extend(unhashed.iter().map(|path| path.to_string()));
        precache.extend(split.iter().map(|f| format!("/pkg/{f}")));
        let version = {
            use sha2::{Digest, Sha256};
            let mut digest = Sha256::new();
            digest.update(format!(
                "{}:{js}:{wasm}:{css}:{}",
                env!("CARGO_PKG_VERSION"),
                split.join(":")
            ));
            digest.update(Sha256::digest(app::i18n::EN_SOURCE));
            for path in unhashed {
                // A missing file is the worker's to report (its install fails).
                let bytes = std::fs::read(root.join(&path[1..])).unwrap_or_default();
                digest.update(Sha256::digest(&bytes));
            }
            hex::encode(&digest.finalize()[..6])
        };
        let service_worker = template.replace("__KHAOSAT_VERSION__", &version).replace(
            "__KHAOSAT_PRECACHE__",
            &serde_json::to_string(&precache).unwrap_or_default(),
        );
        let shell_html = shell_html(&js, &wasm, &css);
        Ok(Site {
            root: root.to_path_buf(),
            js,
            wasm,
            css,
            split,
            hash_file,
            version,
            service_worker,
            shell_html,
            deltas: Default::default(),
        })
    }

    pub fn leptos_options(&self) -> LeptosOptions {
        let mut options = LeptosOptions::builder()
            .output_name(OUTPUT_NAME)
            .site_root(self.root.display().to_string())
            .site_pkg_dir("pkg")
            .hash_files(self.hash_file.is_some())
            .build();
        if let Some(file) = &self.hash_file {
            // Leptos joins it to the binary's directory: an absolute path
            // replaces that, so a hash file found elsewhere is the one it reads.
            options.hash_file = file.to_string_lossy().into();
        }
        options
    }
}

/// The chunk files of every lazy piece the field app runs (pages and
/// functions named `field_…` in `app/src/root.rs` and beside them), from the
/// splitter's manifest (`{"__<name>_<hash>": ["chunk_3.<hash>", …]}`), each
/// once. A phone precaches them: offline from a cold start
/// it must never need a file it has not got.
pub fn field_chunks(manifest: &str) -> Result<Vec<String>, String> {
    let entries: serde_json::Map<String, serde_json::Value> = serde_json::from_str(manifest)
        .map_err(|e| format!("the split manifest is not a JSON object: {e}"))?;
    let mut files = Vec::new();
    // Lazy routes are named `__<route>_view_<hash>`, lazy functions `<name>_<hash>`.
    for (name, chunks) in entries
        .iter()
        .filter(|(n, _)| n.trim_start_matches('_').starts_with("field_"))
    {
        let chunks = chunks
            .as_array()
            .ok_or_else(|| format!("the split manifest's {name} is not a list"))?;
        for chunk in chunks {
            let file = format!(
                "{}.wasm",
                chunk
                    .as_str()
                    .ok_or_else(|| format!("the split manifest's {name} lists a non-string"))?
            );
            if !files.contains(&file) {
                files.push(file);
            }
        }
    }
    Ok(files)
}

/// The page the service worker serves for any navigation it cannot fetch: no
/// server-rendered content, so the app mounts (not hydrates) and reads IndexedDB.
fn shell_html(js: &str, wasm: &str, css: &str) -> String {
    format!(
        r##"<!DOCTYPE html>
<html lang="vi"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="theme-color" content="#0b6e4f"><link rel="manifest" href="/manifest.webmanifest">
<link rel="icon" href="/icons/favicon.svg" type="image/svg+xml"><link rel="stylesheet" href="/pkg/{css}">
<link rel="modulepreload" href="/pkg/{js}"><link rel="preload" href="/pkg/{wasm}" as="fetch" type="application/wasm" crossorigin>
<title>Khảo sát khuyến công</title>
<script type="module">import init, {{ mount }} from '/pkg/{js}'; init({{ module_or_path: '/pkg/{wasm}' }}).then(() => mount());</script>
</head><body></body></html>
"##
    )
}

const COMPRESSIBLE: &[&str] = &[
    "js",
    "wasm",
    "css",
    "svg",
    "webmanifest",
    "json",
    "html",
    "txt",
];

/// Writes `file.br` and `file.gz` beside each text asset that lacks a fresh copy.
/// Written to a temporary name and renamed, so a half-written file is never served.
pub fn precompress(root: &Path) -> std::io::Result<usize> {
    let mut made = 0;
    for path in compressible_files(root)? {
        let modified = std::fs::metadata(&path)?.modified()?;
        for (suffix, compress) in [
            ("br", brotli_bytes as fn(&[u8]) -> Vec<u8>),
            ("gz", gzip_bytes),
        ] {
            let target = PathBuf::from(format!("{}.{suffix}", path.display()));
            let fresh = std::fs::metadata(&target)
                .and_then(|m| m.modified())
                .map(|t| t >= modified)
                .unwrap_or(false);
            if fresh {
                continue;
            }
            let data = std::fs::read(&path)?;
            atomic_write(&target, &compress(&data))?;
            made += 1;
        }
    }
    Ok(made)
}

/// Written to a temporary file of its own and renamed, so no one reads half a
/// file. Several processes may start on one site or data directory together:
/// the name carries the process and a counter, so none renames another's
/// half-written file into place.
pub(crate) fn atomic_write(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::sync::atomic::{AtomicU64, Ordering};
    static WRITES: AtomicU64 = AtomicU64::new(0);
    let tmp = PathBuf::from(format!(
        "{}.{}-{}.tmp",
        path.display(),
        std::process::id(),
        WRITES.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, path)
}

/// The text assets under `root`, in the order their copies are made: what
/// `/login` loads (the main module, its JS and CSS, the chunk loader), then
/// the rest of the bundle, then the other files. A new release's copies take
/// about 20 s and a file goes out gzipped on the fly until its copy is there
/// (see `routes`), so the first load gets brotli within seconds of a start.
pub fn compressible_files(root: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir)? {
            let path = entry?.path();
            if path.is_dir() {
                stack.push(path);
            } else if path
                .extension()
                .and_then(|e| e.to_str())
                .is_some_and(|ext| COMPRESSIBLE.contains(&ext))
            {
                files.push(path);
            }
        }
    }
    let pkg = root.join("pkg");
    let urgency = |path: &Path| match path.strip_prefix(&pkg).map(|p| p.to_string_lossy()) {
        Ok(name) if name.starts_with(&format!("{OUTPUT_NAME}.")) => 0,
        Ok(name) if name.starts_with("__wasm_split") => 0,
        Ok(_) => 1,
        Err(_) => 2,
    };
    files.sort_by(|a, b| urgency(a).cmp(&urgency(b)).then_with(|| a.cmp(b)));
    Ok(files)
}

/// Where the browser fetches English (see `app::i18n`): the server's own copy,
/// so the text a phone gets is always the build it runs.
pub const ENGLISH_PATH: &str = "/locales/en.json";

/// The English locale, brotli-compressed once when the browser accepts it.
pub fn english_locale(headers: &axum::http::HeaderMap) -> axum::response::Response {
    use axum::http::header;
    use axum::response::IntoResponse;
    static BROTLI: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
    let accepts_br = headers
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|coding| coding.split(';').next().map(str::trim) == Some("br"));
    let json = (header::CONTENT_TYPE, "application/json; charset=utf-8");
    let vary = (header::VARY, "accept-encoding");
    if accepts_br {
        let body = BROTLI.get_or_init(|| brotli_bytes(app::i18n::EN_SOURCE.as_bytes()));
        ([json, vary, (header::CONTENT_ENCODING, "br")], body.clone()).into_response()
    } else {
        ([json, vary], app::i18n::EN_SOURCE).into_response()
    }
}

fn brotli_bytes(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let params = brotli::enc::BrotliEncoderParams {
        quality: 11,
        lgwin: 22,
        ..Default::default()
    };
    let _ = brotli::BrotliCompress(&mut std::io::Cursor::new(data), &mut out, &params);
    out
}

fn gzip_bytes(data: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    let _ = encoder.write_all(data);
    encoder.finish().unwrap_or_default()
}

/// The brotli and gzip copies, then the deltas from the releases remembered in
/// `data_dir` (which need the brotli sizes to judge each delta against).
pub fn precompress_in_background(site: &Site, data_dir: &Path) {
    let root = site.root.clone();
    let releases = data_dir.join("releases");
    let deltas = site.deltas.clone();
    tokio::task::spawn_blocking(move || {
        if let Err(e) = crate::release_deltas::remember(&root.join("pkg"), &releases) {
            tracing::warn!("remembering this release's bundle failed: {e}");
        }
        match precompress(&root) {
            Ok(n) => tracing::info!("precompressed {n} asset files"),
            Err(e) => tracing::warn!("precompressing assets failed: {e}"),
        }
        match crate::release_deltas::prepare(&root.join("pkg"), &releases, &deltas) {
            Ok(p) => tracing::info!(
                "release deltas ready: {} files, {} B instead of {} B of brotli",
                p.deltas,
                p.delta_bytes,
                p.brotli_bytes
            ),
            Err(e) => tracing::warn!("release deltas failed: {e}"),
        }
    });
}
