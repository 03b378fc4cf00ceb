//! The photos of a district or proposal as a ZIP, streamed from storage,
//! named by unit path and facility, with a manifest.

use super::*;
use std::io::Read;

/// Name of the manifest inside a photos ZIP.
pub const PHOTO_MANIFEST: &str = "manifest.json";

/// A file or folder name made from a title: no path separators or control
/// characters, at most 80 characters.
pub(super) fn safe_name(text: &str) -> String {
    safe_name_within(text, 80)
}

fn safe_name_within(text: &str, max: usize) -> String {
    let cleaned: String = text
        .chars()
        .map(|c| match c {
            '/' | '\\' | ':' | '*' | '?' | '"' | '<' | '>' | '|' => '-',
            c if c.is_control() => ' ',
            c => c,
        })
        .take(max)
        .collect();
    let trimmed = cleaned.trim().trim_matches('.').trim();
    if trimmed.is_empty() {
        "khong-ten".into()
    } else {
        trimmed.to_string()
    }
}

/// The folders of a photos ZIP: one per proposal (per visit for a facility
/// found on site), named district / facility - title. Titles are formulaic
/// ("Đào tạo nghề mây tre đan") and cut to fit a file name, so two
/// proposals could share a folder and their photos be numbered as one's:
/// a name already given to another proposal gets " (2)", " (3)".
#[derive(Default)]
struct Folders {
    /// Proposal (or visit) → its folder and the photos numbered in it.
    given: std::collections::HashMap<String, (String, usize)>,
    taken: std::collections::HashSet<String>,
}

impl Folders {
    /// `p`'s folder and its number there.
    fn place(&mut self, p: &app::store::photos::ExportPhoto) -> (String, usize) {
        let group = p.proposal_id.clone().unwrap_or_else(|| p.visit_id.clone());
        if let Some((folder, n)) = self.given.get_mut(&group) {
            *n += 1;
            return (folder.clone(), *n);
        }
        let base = folder_name(p);
        let mut folder = base.clone();
        let mut k = 1;
        while !self.taken.insert(folder.to_lowercase()) {
            k += 1;
            folder = format!("{base} ({k})");
        }
        self.given.insert(group, (folder.clone(), 1));
        (folder, 1)
    }
}

/// district / facility - title (either alone when the other is unknown).
fn folder_name(p: &app::store::photos::ExportPhoto) -> String {
    let district = safe_name(p.district.as_deref().unwrap_or("khong-ro-huyen"));
    let leaf = match (p.facility.as_deref(), p.proposal_title.as_deref()) {
        (Some(f), Some(t)) => format!("{} - {}", safe_name_within(f, 50), safe_name(t)),
        (Some(one), None) | (None, Some(one)) => safe_name(one),
        (None, None) => "khong-ro-de-an".into(),
    };
    format!("{district}/{leaf}")
}

/// A photo's file in its folder: n-caption-id.ext.
fn file_name(p: &app::store::photos::ExportPhoto, n: usize) -> String {
    let ext = match p.content_type.as_str() {
        "image/png" => "png",
        "image/webp" => "webp",
        _ => "jpg",
    };
    let caption = p
        .caption
        .as_deref()
        .map(safe_name)
        .map(|c| format!("-{c}"))
        .unwrap_or_default();
    format!(
        "{n:03}{caption}-{}.{ext}",
        &p.photo_id[p.photo_id.len().saturating_sub(8)..],
    )
}

/// A stored ZIP of the photos' originals, one read at a time, and a manifest
/// listing each file with its photo's record. Photos whose bytes cannot be read
/// are listed in the manifest under `missing` rather than failing the export.
pub fn photos_zip(
    storage: &dyn app::photos::storage::PhotoStorage,
    title: &str,
    photos: &[app::store::photos::ExportPhoto],
) -> Result<File, AppError> {
    use app::sync::archive::{EntryBuilder, ZipPieces};
    let zip_error = |e: app::sync::archive::ArchiveError| {
        AppError::Invalid(app::error::ErrorBody::new(
            "export.too_large",
            format!("the photos do not fit one ZIP: {e}"),
        ))
    };
    let mut out = BufWriter::new(tempfile::tempfile().map_err(io_error)?);
    let mut zip = ZipPieces::default();
    let mut files = Vec::with_capacity(photos.len());
    let mut missing = Vec::new();
    let mut folders = Folders::default();
    // Districts and then proposals in Vietnamese order; within a proposal,
    // the store's order (visit, then capture).
    let mut photos: Vec<&app::store::photos::ExportPhoto> = photos.iter().collect();
    photos.sort_by_cached_key(|p| {
        (
            app::collation::key(p.district.as_deref().unwrap_or_default()),
            app::collation::key(&folder_name(p)),
            p.proposal_id.clone().unwrap_or_else(|| p.visit_id.clone()),
        )
    });
    for p in photos {
        // Streamed from the store (an original may be 25 MB, in S3): the
        // header goes first with the size, the CRC is written back after.
        let (size, mut reader) = match storage.open(&p.object_key) {
            Ok(opened) => opened,
            Err(e) => {
                tracing::warn!(photo = %p.photo_id, "photo bytes unreadable for export: {e}");
                missing.push(p.photo_id.clone());
                continue;
            }
        };
        let (folder, n) = folders.place(p);
        let name = format!("{folder}/{}", file_name(p, n));
        let at = out.stream_position().map_err(io_error)?;
        out.write_all(&zip.header(&name, 0, size).map_err(zip_error)?)
            .map_err(io_error)?;
        let mut entry = EntryBuilder::default();
        let mut buf = vec![0u8; 256 * 1024];
        loop {
            let n = reader.read(&mut buf).map_err(io_error)?;
            if n == 0 {
                break;
            }
            entry.update(&buf[..n]);
            out.write_all(&buf[..n]).map_err(io_error)?;
        }
        let (crc, written) = entry.finish();
        if written != size {
            return Err(AppError::Internal(format!(
                "photo {} changed size while it was exported ({written} of {size} bytes)",
                p.photo_id
            )));
        }
        zip.set_last_crc(crc);
        out.seek(SeekFrom::Start(at + ZipPieces::CRC_AT))
            .and_then(|_| out.write_all(&crc.to_le_bytes()))
            .and_then(|_| out.seek(SeekFrom::End(0)))
            .map_err(io_error)?;
        let mut record = serde_json::to_value(p).unwrap_or_default();
        record["file"] = serde_json::Value::String(name);
        files.push(record);
    }
    let manifest = serde_json::to_vec_pretty(&serde_json::json!({
        "format": "khaosat-photos",
        "version": 1,
        "title": title,
        "created_at_ms": app::store::now_ms(),
        "count": files.len(),
        "photos": files,
        "missing": missing,
    }))
    .map_err(|e| AppError::Internal(e.to_string()))?;
    let mut entry = EntryBuilder::default();
    entry.update(&manifest);
    let (crc, size) = entry.finish();
    out.write_all(&zip.header(PHOTO_MANIFEST, crc, size).map_err(zip_error)?)
        .map_err(io_error)?;
    out.write_all(&manifest).map_err(io_error)?;
    out.write_all(&zip.finish()).map_err(io_error)?;
    let mut file = out.into_inner().map_err(|e| io_error(e.into_error()))?;
    file.seek(SeekFrom::Start(0)).map_err(io_error)?;
    Ok(file)
}
