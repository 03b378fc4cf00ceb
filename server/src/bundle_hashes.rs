//! Which build a site directory holds: the content hashes cargo-leptos writes
//! to `hash.txt` beside the server binary, and where the server looks for that
//! file. A deployment that copies the binary and the site elsewhere loses the
//! file beside the binary, so the site root and `--hash-file` are looked at too.

use std::path::{Path, PathBuf};

/// The content hashes of a built site, as cargo-leptos writes them to
/// `hash.txt` beside the server binary.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Hashes {
    pub js: String,
    pub wasm: String,
    pub css: String,
    /// The split chunk loader's and manifest's (`--split` builds only).
    pub split: Option<String>,
    pub manifest: Option<String>,
    /// The file they were read from, absolute. Leptos reads it again to name
    /// the scripts it renders; None leaves it to look beside the binary.
    pub file: Option<PathBuf>,
}

impl Hashes {
    /// All three bundle files with the same hash (tests).
    pub fn all(hash: &str) -> Hashes {
        Hashes {
            js: hash.into(),
            wasm: hash.into(),
            css: hash.into(),
            ..Default::default()
        }
    }

    pub fn parse(text: &str) -> Option<Hashes> {
        let get = |name: &str| {
            text.lines().find_map(|l| {
                l.split_once(':')
                    .filter(|(k, _)| k.trim() == name)
                    .map(|(_, v)| v.trim().to_string())
            })
        };
        Some(Hashes {
            js: get("js")?,
            wasm: get("wasm")?,
            css: get("css")?,
            split: get("split"),
            manifest: get("manifest"),
            file: None,
        })
    }
}

/// `hash.txt` beside the running binary, where cargo-leptos writes it.
pub fn beside_binary() -> Option<PathBuf> {
    Some(std::env::current_exe().ok()?.parent()?.join("hash.txt"))
}

/// The hashes of the site at `root`, from the first of: `explicit`
/// (`--hash-file`, which must exist), `beside_binary`, `<root>/hash.txt`.
/// None when there is no file: the site's bundle names carry no hash. A file
/// that is there but unreadable or not a hash file is an error, never skipped:
/// the server would otherwise serve another build's names.
pub fn locate(
    explicit: Option<&Path>,
    beside_binary: Option<PathBuf>,
    root: &Path,
) -> Result<Option<Hashes>, String> {
    let read = |path: &Path| -> Result<Hashes, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read the hash file {}: {e}", path.display()))?;
        let hashes = Hashes::parse(&text).ok_or_else(|| {
            format!(
                "{} is not a cargo-leptos hash file: it needs `js:`, `wasm:` and `css:` lines",
                path.display()
            )
        })?;
        let file = std::fs::canonicalize(path)
            .map_err(|e| format!("cannot resolve the hash file {}: {e}", path.display()))?;
        Ok(Hashes {
            file: Some(file),
            ..hashes
        })
    };
    if let Some(path) = explicit {
        return read(path).map(Some);
    }
    for path in beside_binary.into_iter().chain([root.join("hash.txt")]) {
        if path.is_file() {
            return read(&path).map(Some);
        }
    }
    Ok(None)
}

/// Whether `pkg/` holds bundle files with a hash in their names
/// (`khaosat.<hash>.js`): then a missing hash file, not a missing build, is why
/// the plain names are absent.
pub fn holds_hashed_bundle(pkg: &Path, output_name: &str) -> bool {
    let prefix = format!("{output_name}.");
    std::fs::read_dir(pkg)
        .into_iter()
        .flatten()
        .flatten()
        .any(|entry| {
            let name = entry.file_name().to_string_lossy().into_owned();
            name.strip_prefix(&prefix)
                .and_then(|rest| rest.strip_suffix(".js"))
                .is_some_and(|hash| !hash.is_empty() && !hash.contains('.'))
        })
}
