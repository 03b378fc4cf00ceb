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
//! The writer is here, the reader in `read` (from memory or from a file the
//! server spooled), their shared tests in `tests`: the two must agree byte
//! for byte.

use super::Mutation;
use serde::{Deserialize, Serialize};

/// `format` of the manifest.
pub const ARCHIVE_FORMAT: &str = "khaosat-backup";
/// Version of the archive layout; readers refuse a newer one with a clear message.
pub const ARCHIVE_VERSION: u32 = 1;
pub const MANIFEST: &str = "manifest.json";
pub const MUTATIONS: &str = "mutations.ndjson";
/// Most entries a reader accepts (mutations and the manifest are one entry
/// each; photos one each). A phone's backup holds tens to hundreds of photos,
/// about a megabyte each; the server's 1 GB import limit holds about a
/// thousand.
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

pub(super) fn u16_at(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(b.get(at..at + 2)?.try_into().ok()?))
}

pub(super) fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

/// Whether the bytes start like a ZIP file.
pub fn looks_like_zip(bytes: &[u8]) -> bool {
    bytes.starts_with(b"PK\x03\x04") || bytes.starts_with(b"PK\x05\x06")
}

mod read;
pub use read::*;

#[cfg(test)]
mod tests;
