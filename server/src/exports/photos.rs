//! The photos of a district or proposal as a ZIP, streamed from storage,
//! named by unit path and facility, with a manifest.

use super::*;
use std::io::Read;

/// Name of the manifest inside a photos ZIP.
pub const PHOTO_MANIFEST: &str = "manifest.json";

/// A file or folder name made from a title: no path separators or control
/// characters, at most 80 characters.
pub(super) fn safe_name(text: &str) -> String {
    let cleaned: String = text
        .chars()
        .map(|c| match c {
            '/' | '\\' | ':' | '*' | '?' | '"' | '<' | '>' | '|' => '-',
            c if c.is_control() => ' ',
            c => c,
        })
        .take(80)
        .collect();
    let trimmed = cleaned.trim().trim_matches('.').trim();
    if trimmed.is_empty() {
        "khong-ten".into()
    } else {
        trimmed.to_string()
    }
}

/// Where a photo goes in the ZIP: district / proposal / n-caption.ext.
pub fn photo_path(p: &app::store::photos::ExportPhoto, n: usize) -> String {
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
        "{}/{}/{:03}{}-{}.{ext}",
        safe_name(p.district.as_deref().unwrap_or("khong-ro-huyen")),
        safe_name(
            p.proposal_title
                .as_deref()
                .or(p.facility.as_deref())
                .unwrap_or("khong-ro-de-an")
        ),
        n,
        caption,
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
    let mut per_folder: std::collections::HashMap<String, usize> = Default::default();
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
        let folder = photo_path(p, 0);
        let folder = folder
            .rsplit_once('/')
            .map(|(f, _)| f.to_string())
            .unwrap_or_default();
        let n = per_folder.entry(folder).or_insert(0);
        *n += 1;
        let name = photo_path(p, *n);
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
