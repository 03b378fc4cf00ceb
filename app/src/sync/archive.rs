//! The backup archive: a plain ZIP (stored entries, UTF-8 names) that any
//! operating system opens, holding
//!
//! - `mutations.ndjson`: the device's queued mutations, one JSON object per line,
//!   in seq order (written page by page, never as one string);
//! - `photos/<sha256>.<ext>`: the photo bytes, named by their hash (from the photo
//!   issue on);
//! - `manifest.json`: format, version, device, user, time, and the count and
//!   CRC-32 of what the other entries hold.
//!
//! The writer produces byte pieces the browser assembles into a Blob, so the
//! phone never holds the archive as one buffer; the reader checks every CRC and
//! bound before the server trusts a byte.
//!
//! One file (about 460 lines; tests in `archive_tests.rs`): the archive's
//! writer and reader must agree byte for byte, so they sit side by side.

use super::{ExportFile, Mutation};
use serde::{Deserialize, Serialize};

/// `format` of the manifest.
pub const ARCHIVE_FORMAT: &str = "khaosat-backup";
/// Version of the archive layout; readers refuse a newer one with a clear message.
pub const ARCHIVE_VERSION: u32 = 1;
pub const MANIFEST: &str = "manifest.json";
pub const MUTATIONS: &str = "mutations.ndjson";
/// Most entries a reader accepts (mutations and the manifest are one entry
/// each; photos one each). A phone's backup holds tens to hundreds of photos;
/// the 64 MB import limit cannot hold more than a few thousand real ones.
pub const MAX_ENTRIES: usize = 10_000;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    pub format: String,
    pub version: u32,
    pub schema_version: u32,
    pub device_id: uuid::Uuid,
    #[serde(default)]
    pub username: Option<String>,
    #[serde(default)]
    pub exported_at_ms: Option<i64>,
    /// First and last seq in `mutations.ndjson`, and how many lines it has.
    pub mutations: u64,
    #[serde(default)]
    pub first_seq: Option<i64>,
    #[serde(default)]
    pub last_seq: Option<i64>,
    #[serde(default)]
    pub photos: Vec<PhotoEntry>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PhotoEntry {
    pub sha256: String,
    pub path: String,
    pub size: u64,
}

/// Why an archive cannot be imported; the message says what to do.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ArchiveError {
    #[error("the file is not a khaosat backup archive: {0}")]
    NotAnArchive(String),
    #[error("the archive is damaged: {0}")]
    Damaged(String),
    #[error("this backup was made by a newer app (archive version {0}); update the server")]
    TooNew(u32),
    #[error(
        "the backup was compressed again ({0}); import the file exactly as the app exported it"
    )]
    Recompressed(String),
}

/// The `reason` of bytes that are not a ZIP at all (refused before reading).
pub const NOT_ZIP: &str = "not_zip";
/// The `reason` the phone gives a whole JSON file that is no outbox file
/// (the server refuses it as a malformed request).
pub const NOT_BACKUP: &str = "not_backup";

impl ArchiveError {
    /// What is wrong, as a stable name: the reader's sentence is
    /// `errors.import.bad_archive_<reason>`, while the English detail stays
    /// for the server's log and the API's callers.
    pub fn reason(&self) -> &'static str {
        match self {
            ArchiveError::NotAnArchive(_) => "not_archive",
            ArchiveError::Damaged(_) => "damaged",
            ArchiveError::TooNew(_) => "too_new",
            ArchiveError::Recompressed(_) => "recompressed",
        }
    }
}

/// One entry of the archive being written: its name and where it starts.
struct Written {
    name: String,
    crc: u32,
    size: u32,
    offset: u32,
}

/// Writes a stored ZIP as a sequence of byte pieces. Each entry's data is given
/// as pieces with its CRC-32 and size known in advance (`EntryBuilder`), so
/// headers need no seeking and nothing is buffered twice.
#[derive(Default)]
pub struct ZipPieces {
    offset: u64,
    entries: Vec<Written>,
}

/// Accumulates the CRC-32 and size of an entry's data as its pieces are made.
#[derive(Default)]
pub struct EntryBuilder {
    hasher: crc32fast::Hasher,
    size: u64,
}

impl EntryBuilder {
    pub fn update(&mut self, piece: &[u8]) {
        self.hasher.update(piece);
        self.size += piece.len() as u64;
    }

    pub fn finish(self) -> (u32, u64) {
        (self.hasher.finalize(), self.size)
    }
}

const DOS_DATE_1980: u16 = (1 << 5) | 1; // 1980-01-01: the timestamp means nothing here
const UTF8_NAMES: u16 = 1 << 11;

impl ZipPieces {
    /// The local header that must come right before an entry's data.
    pub fn header(&mut self, name: &str, crc: u32, size: u64) -> Result<Vec<u8>, ArchiveError> {
        let size32 = u32::try_from(size)
            .map_err(|_| ArchiveError::Damaged(format!("{name} is over 4 GB")))?;
        let offset = u32::try_from(self.offset)
            .map_err(|_| ArchiveError::Damaged("archive over 4 GB".into()))?;
        let mut h = Vec::with_capacity(30 + name.len());
        h.extend_from_slice(&0x0403_4b50u32.to_le_bytes());
        h.extend_from_slice(&20u16.to_le_bytes());
        h.extend_from_slice(&UTF8_NAMES.to_le_bytes());
        h.extend_from_slice(&0u16.to_le_bytes()); // stored
        h.extend_from_slice(&0u16.to_le_bytes());
        h.extend_from_slice(&DOS_DATE_1980.to_le_bytes());
        h.extend_from_slice(&crc.to_le_bytes());
        h.extend_from_slice(&size32.to_le_bytes());
        h.extend_from_slice(&size32.to_le_bytes());
        h.extend_from_slice(&(name.len() as u16).to_le_bytes());
        h.extend_from_slice(&0u16.to_le_bytes());
        h.extend_from_slice(name.as_bytes());
        self.entries.push(Written {
            name: name.to_string(),
            crc,
            size: size32,
            offset,
        });
        self.offset += h.len() as u64 + size;
        Ok(h)
    }

    /// Where the CRC sits in a local header, for a writer that learns it only
    /// after streaming the entry's data (it seeks back and writes it there).
    pub const CRC_AT: u64 = 14;

    /// The last entry's CRC, known once its data has been written.
    pub fn set_last_crc(&mut self, crc: u32) {
        if let Some(last) = self.entries.last_mut() {
            last.crc = crc;
        }
    }

    /// The central directory and end record, after the last entry.
    pub fn finish(self) -> Vec<u8> {
        let mut out = Vec::new();
        for e in &self.entries {
            out.extend_from_slice(&0x0201_4b50u32.to_le_bytes());
            out.extend_from_slice(&20u16.to_le_bytes());
            out.extend_from_slice(&20u16.to_le_bytes());
            out.extend_from_slice(&UTF8_NAMES.to_le_bytes());
            out.extend_from_slice(&0u16.to_le_bytes());
            out.extend_from_slice(&0u16.to_le_bytes());
            out.extend_from_slice(&DOS_DATE_1980.to_le_bytes());
            out.extend_from_slice(&e.crc.to_le_bytes());
            out.extend_from_slice(&e.size.to_le_bytes());
            out.extend_from_slice(&e.size.to_le_bytes());
            out.extend_from_slice(&(e.name.len() as u16).to_le_bytes());
            out.extend_from_slice(&[0; 8]); // extra, comment, disk, internal attributes
            out.extend_from_slice(&0u32.to_le_bytes());
            out.extend_from_slice(&e.offset.to_le_bytes());
            out.extend_from_slice(e.name.as_bytes());
        }
        let count = self.entries.len() as u16;
        let cd_offset = self.offset as u32;
        let cd_size = out.len() as u32;
        out.extend_from_slice(&0x0605_4b50u32.to_le_bytes());
        out.extend_from_slice(&[0; 4]);
        out.extend_from_slice(&count.to_le_bytes());
        out.extend_from_slice(&count.to_le_bytes());
        out.extend_from_slice(&cd_size.to_le_bytes());
        out.extend_from_slice(&cd_offset.to_le_bytes());
        out.extend_from_slice(&0u16.to_le_bytes());
        out
    }
}

/// A page of mutations as `mutations.ndjson` lines.
pub fn ndjson_lines(mutations: &[Mutation]) -> Vec<u8> {
    let mut out = Vec::new();
    for m in mutations {
        // A Mutation always serializes; its fields are JSON values already.
        out.extend_from_slice(serde_json::to_string(m).unwrap_or_default().as_bytes());
        out.push(b'\n');
    }
    out
}

/// Builds a whole archive in memory: for tests and small files on the server.
/// The phone writes the same pieces into a Blob instead.
pub fn write_archive(manifest: &Manifest, mutations: &[Mutation]) -> Vec<u8> {
    write_archive_with_photos(manifest, mutations, &[])
}

/// The archive with photo entries (`manifest.photos` must list them).
pub fn write_archive_with_photos(
    manifest: &Manifest,
    mutations: &[Mutation],
    photos: &[(&str, &[u8])],
) -> Vec<u8> {
    let mut zip = ZipPieces::default();
    let mut out = Vec::new();
    let lines = ndjson_lines(mutations);
    let mut data = EntryBuilder::default();
    data.update(&lines);
    let (crc, size) = data.finish();
    out.extend(zip.header(MUTATIONS, crc, size).expect("small"));
    out.extend(&lines);
    for (path, bytes) in photos {
        out.extend(
            zip.header(path, crc32fast::hash(bytes), bytes.len() as u64)
                .expect("small"),
        );
        out.extend(*bytes);
    }
    let manifest = serde_json::to_vec_pretty(manifest).unwrap_or_default();
    out.extend(
        zip.header(MANIFEST, crc32fast::hash(&manifest), manifest.len() as u64)
            .expect("small"),
    );
    out.extend(&manifest);
    out.extend(zip.finish());
    out
}

fn u16_at(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(b.get(at..at + 2)?.try_into().ok()?))
}

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

/// Whether the bytes start like a ZIP file.
pub fn looks_like_zip(bytes: &[u8]) -> bool {
    bytes.starts_with(b"PK\x03\x04") || bytes.starts_with(b"PK\x05\x06")
}

/// The entries of a stored ZIP: (name, data), each CRC-checked.
pub fn read_entries(bytes: &[u8]) -> Result<Vec<(String, &[u8])>, ArchiveError> {
    let damaged = |what: &str| ArchiveError::Damaged(what.to_string());
    // The end record is in the last 22 + 65,535 bytes (its comment is at most that).
    let search_from = bytes.len().saturating_sub(22 + 65_535);
    let eocd = (search_from..bytes.len().saturating_sub(21))
        .rev()
        .find(|&i| u32_at(bytes, i) == Some(0x0605_4b50))
        .ok_or_else(|| {
            // A ZIP's start without its end: a copy cut short, the commonest
            // damage a file carried from a phone meets.
            if bytes.starts_with(b"PK\x03\x04") {
                damaged("the file ends early (no ZIP end record): it was not copied whole")
            } else {
                ArchiveError::NotAnArchive("no ZIP end record".into())
            }
        })?;
    let count = u16_at(bytes, eocd + 10).ok_or_else(|| damaged("end record"))? as usize;
    let cd_size = u32_at(bytes, eocd + 12).ok_or_else(|| damaged("end record"))? as usize;
    let cd_offset = u32_at(bytes, eocd + 16).ok_or_else(|| damaged("end record"))? as usize;
    if count > MAX_ENTRIES {
        return Err(ArchiveError::NotAnArchive(format!(
            "it holds {count} files, more than a phone's backup ({MAX_ENTRIES} at most)"
        )));
    }
    if cd_offset.checked_add(cd_size).is_none_or(|end| end > eocd) {
        return Err(damaged("the central directory is out of bounds"));
    }
    let mut entries = Vec::with_capacity(count);
    let mut at = cd_offset;
    for _ in 0..count {
        if u32_at(bytes, at) != Some(0x0201_4b50) {
            return Err(damaged("a central directory entry is broken"));
        }
        let method = u16_at(bytes, at + 10).ok_or_else(|| damaged("entry"))?;
        let crc = u32_at(bytes, at + 16).ok_or_else(|| damaged("entry"))?;
        let size = u32_at(bytes, at + 20).ok_or_else(|| damaged("entry"))? as usize;
        let stored_size = u32_at(bytes, at + 24).ok_or_else(|| damaged("entry"))? as usize;
        let name_len = u16_at(bytes, at + 28).ok_or_else(|| damaged("entry"))? as usize;
        let extra_len = u16_at(bytes, at + 30).ok_or_else(|| damaged("entry"))? as usize;
        let comment_len = u16_at(bytes, at + 32).ok_or_else(|| damaged("entry"))? as usize;
        let local = u32_at(bytes, at + 42).ok_or_else(|| damaged("entry"))? as usize;
        let name = bytes
            .get(at + 46..at + 46 + name_len)
            .and_then(|n| std::str::from_utf8(n).ok())
            .ok_or_else(|| damaged("an entry name is not UTF-8"))?
            .to_string();
        if method != 0 || size != stored_size {
            return Err(ArchiveError::Recompressed(format!(
                "{name} is compressed, method {method}"
            )));
        }
        if u32_at(bytes, local) != Some(0x0403_4b50) {
            return Err(damaged(&format!("the local header of {name} is missing")));
        }
        let local_name = u16_at(bytes, local + 26).ok_or_else(|| damaged("local header"))? as usize;
        let local_extra =
            u16_at(bytes, local + 28).ok_or_else(|| damaged("local header"))? as usize;
        if bytes.get(local + 30..local + 30 + local_name) != Some(name.as_bytes()) {
            return Err(damaged(&format!(
                "the local header of {name} names another file"
            )));
        }
        let start = local + 30 + local_name + local_extra;
        let data = bytes
            .get(start..start.checked_add(size).ok_or_else(|| damaged("size"))?)
            .ok_or_else(|| damaged(&format!("{name} is cut short")))?;
        if crc32fast::hash(data) != crc {
            return Err(damaged(&format!("{name} does not match its checksum")));
        }
        entries.push((name, data));
        at += 46 + name_len + extra_len + comment_len;
    }
    Ok(entries)
}

/// An archive's entries by name, read and CRC-checked once. Lookups are by
/// hash, so an archive of many entries costs time in proportion to its size,
/// never to the product of its entries and the manifest's photos.
pub struct Archive<'a> {
    entries: std::collections::HashMap<String, &'a [u8]>,
    manifest: Manifest,
}

impl<'a> Archive<'a> {
    /// Reads the entries and the manifest; refuses duplicate names (which of
    /// two `mutations.ndjson` would be the backup?).
    pub fn open(bytes: &'a [u8]) -> Result<Archive<'a>, ArchiveError> {
        let list = read_entries(bytes)?;
        let mut entries = std::collections::HashMap::with_capacity(list.len());
        for (name, data) in list {
            if entries.insert(name.clone(), data).is_some() {
                return Err(ArchiveError::Damaged(format!("{name} appears twice")));
            }
        }
        let manifest: Manifest = serde_json::from_slice(
            entries
                .get(MANIFEST)
                .ok_or_else(|| ArchiveError::NotAnArchive("no manifest.json".into()))?,
        )
        .map_err(|e| ArchiveError::Damaged(format!("manifest.json: {e}")))?;
        // Each listed photo is an entry of its own: a manifest listing more
        // photos than there are entries is not a phone's backup.
        if manifest.photos.len() > entries.len().saturating_sub(2) {
            return Err(ArchiveError::Damaged(format!(
                "the manifest lists {} photos but the archive holds {} entries",
                manifest.photos.len(),
                entries.len()
            )));
        }
        Ok(Archive { entries, manifest })
    }

    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// The photo entries the manifest lists, each checked to be present with
    /// its declared size (the server checks each hash before storing anything).
    pub fn photos(&self) -> Result<Vec<(PhotoEntry, &'a [u8])>, ArchiveError> {
        self.manifest
            .photos
            .iter()
            .map(|p| {
                let data = *self.entries.get(&p.path).ok_or_else(|| {
                    ArchiveError::Damaged(format!("{} is listed but missing", p.path))
                })?;
                if data.len() as u64 != p.size {
                    return Err(ArchiveError::Damaged(format!(
                        "{} holds {} bytes, the manifest says {}",
                        p.path,
                        data.len(),
                        p.size
                    )));
                }
                Ok((p.clone(), data))
            })
            .collect()
    }

    /// The archive in the import format (photo bytes are not part of it).
    pub fn export(&self) -> Result<ExportFile, ArchiveError> {
        let manifest = &self.manifest;
        if manifest.format != ARCHIVE_FORMAT {
            return Err(ArchiveError::NotAnArchive(format!(
                "format is \"{}\"",
                manifest.format
            )));
        }
        if manifest.version > ARCHIVE_VERSION {
            return Err(ArchiveError::TooNew(manifest.version));
        }
        let lines = self
            .entries
            .get(MUTATIONS)
            .ok_or_else(|| ArchiveError::Damaged("no mutations.ndjson".into()))?;
        let mut mutations = Vec::new();
        for (i, line) in lines.split(|&b| b == b'\n').enumerate() {
            if line.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            let m: Mutation = serde_json::from_slice(line).map_err(|e| {
                ArchiveError::Damaged(format!("mutations.ndjson line {}: {e}", i + 1))
            })?;
            mutations.push(m);
        }
        if mutations.len() as u64 != manifest.mutations {
            return Err(ArchiveError::Damaged(format!(
                "the manifest counts {} mutations, the file holds {}",
                manifest.mutations,
                mutations.len()
            )));
        }
        Ok(ExportFile {
            format: super::EXPORT_FORMAT.to_string(),
            schema_version: manifest.schema_version,
            device_id: manifest.device_id,
            username: manifest.username.clone(),
            exported_at_ms: manifest.exported_at_ms,
            mutations,
        })
    }
}

/// The photo entries the manifest lists (see `Archive::photos`).
pub fn read_photos(bytes: &[u8]) -> Result<Vec<(PhotoEntry, &[u8])>, ArchiveError> {
    Archive::open(bytes)?.photos()
}

/// Reads a backup archive into the import format (see `Archive::export`).
pub fn read_export(bytes: &[u8]) -> Result<ExportFile, ArchiveError> {
    Archive::open(bytes)?.export()
}

#[cfg(test)]
#[path = "archive_tests.rs"]
mod tests;
