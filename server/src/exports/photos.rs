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
        let folder = self.folder(p);
        let group = p.proposal_id.as_ref().unwrap_or(&p.visit_id);
        let (_, n) = self.given.get_mut(group).expect("given by folder()");
        *n += 1;
        (folder, *n)
    }

    /// `p`'s folder, numbering no file in it.
    fn folder(&mut self, p: &app::store::photos::ExportPhoto) -> String {
        let group = p.proposal_id.clone().unwrap_or_else(|| p.visit_id.clone());
        if let Some((folder, _)) = self.given.get(&group) {
            return folder.clone();
        }
        let base = folder_name(p);
        let mut folder = base.clone();
        let mut k = 1;
        while !self.taken.insert(folder.to_lowercase()) {
            k += 1;
            folder = format!("{base} ({k})");
        }
        self.given.insert(group, (folder.clone(), 0));
        folder
    }
}

/// Name of the note, beside the manifest, on the photos a ZIP does not hold.
pub const LEFT_OUT_NOTE: &str = "anh-chua-co-trong-tep.txt";

/// Why a photo of the scope is not in the ZIP, as the manifest says it.
fn left_out_reason(p: &app::store::photos::ExportPhoto) -> &'static str {
    use app::photos::PhotoStatus;
    match p.status {
        PhotoStatus::Waiting => "waiting",
        PhotoStatus::Received => "checking",
        PhotoStatus::Bad => "not_an_image",
        // An `ok` photo without its original, or one whose file is unreadable.
        PhotoStatus::Ok => "unreadable",
    }
}

/// The note's text: each photo left out, in the ZIP's order, with why and
/// what to do.
fn left_out_note(left_out: &[serde_json::Value]) -> String {
    let mut note = format!("{} ({})\n\n", text("photos_left_out"), left_out.len());
    for entry in left_out {
        let field = |k: &str| entry[k].as_str().unwrap_or_default().to_string();
        let id = field("photo_id");
        // One line per photo, whatever its caption holds.
        let caption = entry["caption"]
            .as_str()
            .map(|c| c.split_whitespace().collect::<Vec<_>>().join(" "))
            .filter(|c| !c.is_empty())
            .map(|c| format!(" \"{c}\""))
            .unwrap_or_default();
        let mut reason = text(&format!("photo_{}", field("reason")));
        // The pipeline's verdict is an error body: said in the note's words.
        if let Some(detail) = entry["status_detail"].as_str() {
            let said = match serde_json::from_str::<app::error::ErrorBody>(detail) {
                Ok(body) => app::i18n::error_text(LANG, &body),
                Err(_) => detail.split_whitespace().collect::<Vec<_>>().join(" "),
            };
            reason = format!("{reason} ({said})");
        }
        note.push_str(&format!(
            "{}/ …{}{caption}: {reason}\n",
            field("folder"),
            &id[id.len().saturating_sub(8)..],
        ));
    }
    note
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
    // The format the bytes were found to be (the stored original's key
    // ends in it), not the type the phone declared: JPEG bytes declared
    // PNG opened in no viewer when named .png.
    let stored = p
        .object_key
        .as_deref()
        .and_then(|k| k.rsplit_once('.'))
        .map(|(_, ext)| ext)
        .filter(|ext| matches!(*ext, "jpg" | "png" | "webp"));
    let ext = stored.unwrap_or(match p.content_type.as_str() {
        "image/png" => "png",
        "image/webp" => "webp",
        _ => "jpg",
    });
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
/// listing each file with its photo's record. The photos of the scope it does
/// not hold (bytes not arrived, still being checked, not an image, unreadable)
/// are listed under `not_included` with why, and in a note a person reads
/// (`LEFT_OUT_NOTE`), rather than failing the export or leaving them out
/// unsaid; unreadable ones are also under `missing`, as before.
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
    let mut left_out = Vec::new();
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
    let mut leave_out = |p: &app::store::photos::ExportPhoto, folder: String| {
        let mut record = serde_json::to_value(p).unwrap_or_default();
        record["folder"] = serde_json::Value::String(folder);
        record["reason"] = serde_json::Value::String(left_out_reason(p).into());
        left_out.push(record);
    };
    for p in photos {
        let Some(key) = p.object_key.as_deref().filter(|_| p.has_original()) else {
            leave_out(p, folders.folder(p));
            continue;
        };
        // Streamed from the store (an original may be 25 MB, in S3): the
        // header goes first with the size, the CRC is written back after.
        let (size, mut reader) = match storage.open(key) {
            Ok(opened) => opened,
            Err(e) => {
                tracing::warn!(photo = %p.photo_id, "photo bytes unreadable for export: {e}");
                missing.push(p.photo_id.clone());
                leave_out(p, folders.folder(p));
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
        "not_included": left_out,
    }))
    .map_err(|e| AppError::Internal(e.to_string()))?;
    let note = (!left_out.is_empty()).then(|| left_out_note(&left_out));
    for (name, bytes) in [
        (PHOTO_MANIFEST, Some(manifest)),
        (LEFT_OUT_NOTE, note.map(String::into_bytes)),
    ] {
        let Some(bytes) = bytes else { continue };
        let mut entry = EntryBuilder::default();
        entry.update(&bytes);
        let (crc, size) = entry.finish();
        out.write_all(&zip.header(name, crc, size).map_err(zip_error)?)
            .map_err(io_error)?;
        out.write_all(&bytes).map_err(io_error)?;
    }
    out.write_all(&zip.finish()).map_err(io_error)?;
    let mut file = out.into_inner().map_err(|e| io_error(e.into_error()))?;
    file.seek(SeekFrom::Start(0)).map_err(io_error)?;
    Ok(file)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// JPEG bytes a phone declared PNG are named as what they are.
    #[test]
    fn a_photo_is_named_by_the_format_its_bytes_were_found_to_be() {
        let photo = app::store::photos::ExportPhoto {
            photo_id: "01a2517e-e4d0-73e5-987a-3a829ef18e25".into(),
            visit_id: "v".into(),
            proposal_id: None,
            proposal_title: None,
            facility: None,
            district_code: None,
            district: None,
            caption: None,
            taken_at_ms: None,
            lat: None,
            lon: None,
            sha256: "s".into(),
            size: 1,
            content_type: "image/png".into(),
            status: app::photos::PhotoStatus::Ok,
            status_detail: None,
            object_key: Some("original/s.jpg".into()),
        };
        assert_eq!(file_name(&photo, 1), "001-9ef18e25.jpg");
        let declared = app::store::photos::ExportPhoto {
            object_key: None,
            ..photo
        };
        assert_eq!(file_name(&declared, 2), "002-9ef18e25.png");
    }
}
