//! Reading a backup archive: its entries found through the ZIP's directory,
//! each checked against its CRC, from memory or from a file, with every
//! size bounded before anything is read into memory.

use super::{
    u16_at, u32_at, ArchiveError, Manifest, PhotoEntry, ARCHIVE_FORMAT, ARCHIVE_VERSION, MANIFEST,
    MAX_ENTRIES, MUTATIONS,
};
use crate::sync::{ExportFile, Mutation};
use std::borrow::Cow;
use std::ops::Range;

/// Where an archive's bytes are read from: memory (the phone, tests), or the
/// file the server spooled an upload into, so that a backup of hundreds of
/// photos is never held whole in the server's memory.
pub trait Source {
    fn size(&self) -> u64;
    /// `len` bytes from `at`; `None` when they are not all there.
    fn read_at(&self, at: u64, len: usize) -> Option<Cow<'_, [u8]>>;
}

impl Source for [u8] {
    fn size(&self) -> u64 {
        self.len() as u64
    }

    fn read_at(&self, at: u64, len: usize) -> Option<Cow<'_, [u8]>> {
        let at = usize::try_from(at).ok()?;
        self.get(at..at.checked_add(len)?).map(Cow::Borrowed)
    }
}

impl Source for Vec<u8> {
    fn size(&self) -> u64 {
        self.as_slice().size()
    }

    fn read_at(&self, at: u64, len: usize) -> Option<Cow<'_, [u8]>> {
        self.as_slice().read_at(at, len)
    }
}

#[cfg(all(feature = "ssr", unix))]
impl Source for std::fs::File {
    fn size(&self) -> u64 {
        self.metadata().map(|m| m.len()).unwrap_or(0)
    }

    fn read_at(&self, at: u64, len: usize) -> Option<Cow<'_, [u8]>> {
        use std::os::unix::fs::FileExt;
        // Bounded by the file before anything is allocated: a header's
        // sizes are the sender's to write.
        if at.checked_add(len as u64)? > self.size() {
            return None;
        }
        let mut buf = vec![0; len];
        self.read_exact_at(&mut buf, at).ok()?;
        Some(Cow::Owned(buf))
    }
}

/// Most bytes the central directory may take (10,000 entries with names
/// far longer than a phone writes).
const MAX_DIRECTORY_BYTES: u64 = 16 * 1024 * 1024;
/// Most bytes `manifest.json` and `mutations.ndjson` may take: both are read
/// into memory whole (the photos never are).
const MAX_MANIFEST_BYTES: u64 = 16 * 1024 * 1024;
pub const MAX_MUTATIONS_BYTES: u64 = 64 * 1024 * 1024;

/// The CRC-32 of a range, read a megabyte at a time.
fn crc_of<S: Source + ?Sized>(source: &S, range: &Range<u64>) -> Option<u32> {
    let mut hasher = crc32fast::Hasher::new();
    let mut at = range.start;
    while at < range.end {
        let n = (range.end - at).min(1 << 20) as usize;
        hasher.update(&source.read_at(at, n)?);
        at += n as u64;
    }
    Some(hasher.finalize())
}

/// The entries of a stored ZIP: (name, where its data is), each CRC-checked.
pub fn entries_of<S: Source + ?Sized>(
    source: &S,
) -> Result<Vec<(String, Range<u64>)>, ArchiveError> {
    let damaged = |what: &str| ArchiveError::Damaged(what.to_string());
    let total = source.size();
    // The end record is in the last 22 + 65,535 bytes (its comment is at most that).
    let tail_len = total.min(22 + 65_535) as usize;
    let tail_start = total - tail_len as u64;
    let tail = source
        .read_at(tail_start, tail_len)
        .ok_or_else(|| damaged("the file could not be read"))?;
    let end = (0..tail.len().saturating_sub(21))
        .rev()
        .find(|&i| u32_at(&tail, i) == Some(0x0605_4b50))
        .ok_or_else(|| {
            // A ZIP's start without its end: a copy cut short, the commonest
            // damage a file carried from a phone meets.
            if source.read_at(0, 4).is_some_and(|h| *h == *b"PK\x03\x04") {
                damaged("the file ends early (no ZIP end record): it was not copied whole")
            } else {
                ArchiveError::NotAnArchive("no ZIP end record".into())
            }
        })?;
    let eocd = tail_start + end as u64;
    let count = u16_at(&tail, end + 10).ok_or_else(|| damaged("end record"))? as usize;
    let cd_size = u64::from(u32_at(&tail, end + 12).ok_or_else(|| damaged("end record"))?);
    let cd_offset = u64::from(u32_at(&tail, end + 16).ok_or_else(|| damaged("end record"))?);
    if count > MAX_ENTRIES {
        return Err(ArchiveError::NotAnArchive(format!(
            "it holds {count} files, more than a phone's backup ({MAX_ENTRIES} at most)"
        )));
    }
    if cd_offset + cd_size > eocd {
        return Err(damaged("the central directory is out of bounds"));
    }
    if cd_size > MAX_DIRECTORY_BYTES {
        return Err(ArchiveError::NotAnArchive(format!(
            "its directory takes {cd_size} bytes, more than a phone's backup"
        )));
    }
    let cd = source
        .read_at(cd_offset, cd_size as usize)
        .ok_or_else(|| damaged("the central directory is out of bounds"))?;
    let mut entries = Vec::with_capacity(count);
    let mut at = 0usize;
    for _ in 0..count {
        if u32_at(&cd, at) != Some(0x0201_4b50) {
            return Err(damaged("a central directory entry is broken"));
        }
        let field = |off: usize, wide: bool| {
            if wide {
                u32_at(&cd, at + off).map(u64::from)
            } else {
                u16_at(&cd, at + off).map(u64::from)
            }
            .ok_or_else(|| damaged("entry"))
        };
        let method = field(10, false)?;
        let crc = field(16, true)? as u32;
        let size = field(20, true)?;
        let stored_size = field(24, true)?;
        let name_len = field(28, false)? as usize;
        let extra_len = field(30, false)? as usize;
        let comment_len = field(32, false)? as usize;
        let local = field(42, true)?;
        let name = cd
            .get(at + 46..at + 46 + name_len)
            .and_then(|n| std::str::from_utf8(n).ok())
            .ok_or_else(|| damaged("an entry name is not UTF-8"))?
            .to_string();
        if method != 0 || size != stored_size {
            return Err(ArchiveError::Recompressed(format!(
                "{name} is compressed, method {method}"
            )));
        }
        let head = source
            .read_at(local, 30)
            .filter(|h| u32_at(h, 0) == Some(0x0403_4b50))
            .ok_or_else(|| damaged(&format!("the local header of {name} is missing")))?;
        let local_name = u16_at(&head, 26).ok_or_else(|| damaged("local header"))? as u64;
        let local_extra = u16_at(&head, 28).ok_or_else(|| damaged("local header"))? as u64;
        if source.read_at(local + 30, local_name as usize).as_deref() != Some(name.as_bytes()) {
            return Err(damaged(&format!(
                "the local header of {name} names another file"
            )));
        }
        let start = local + 30 + local_name + local_extra;
        let range = start..start + size;
        if range.end > total {
            return Err(damaged(&format!("{name} is cut short")));
        }
        if crc_of(source, &range) != Some(crc) {
            return Err(damaged(&format!("{name} does not match its checksum")));
        }
        entries.push((name, range));
        at += 46 + name_len + extra_len + comment_len;
    }
    Ok(entries)
}

/// The entries of a stored ZIP in memory: (name, data), each CRC-checked.
pub fn read_entries(bytes: &[u8]) -> Result<Vec<(String, &[u8])>, ArchiveError> {
    Ok(entries_of(bytes)?
        .into_iter()
        .map(|(name, r)| (name, &bytes[r.start as usize..r.end as usize]))
        .collect())
}

/// An archive's entries by name, read and CRC-checked once. Lookups are by
/// hash, so an archive of many entries costs time in proportion to its size,
/// never to the product of its entries and the manifest's photos.
pub struct Archive<'a, S: Source + ?Sized = [u8]> {
    source: &'a S,
    entries: std::collections::HashMap<String, Range<u64>>,
    manifest: Manifest,
}

impl<'a, S: Source + ?Sized> Archive<'a, S> {
    /// Reads the entries and the manifest; refuses duplicate names (which of
    /// two `mutations.ndjson` would be the backup?).
    pub fn open(source: &'a S) -> Result<Archive<'a, S>, ArchiveError> {
        let list = entries_of(source)?;
        let mut entries = std::collections::HashMap::with_capacity(list.len());
        for (name, range) in list {
            if entries.insert(name.clone(), range).is_some() {
                return Err(ArchiveError::Damaged(format!("{name} appears twice")));
            }
        }
        let mut archive = Archive {
            source,
            entries,
            manifest: Manifest::empty(),
        };
        let manifest = archive
            .whole(MANIFEST, MAX_MANIFEST_BYTES)?
            .ok_or_else(|| ArchiveError::NotAnArchive("no manifest.json".into()))?;
        archive.manifest = serde_json::from_slice(&manifest)
            .map_err(|e| ArchiveError::Damaged(format!("manifest.json: {e}")))?;
        // Each listed photo is an entry of its own: a manifest listing more
        // photos than there are entries is not a phone's backup.
        if archive.manifest.photos.len() > archive.entries.len().saturating_sub(2) {
            return Err(ArchiveError::Damaged(format!(
                "the manifest lists {} photos but the archive holds {} entries",
                archive.manifest.photos.len(),
                archive.entries.len()
            )));
        }
        Ok(archive)
    }

    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// An entry's bytes whole, when it is no larger than `cap`.
    fn whole(&self, name: &str, cap: u64) -> Result<Option<Cow<'a, [u8]>>, ArchiveError> {
        let Some(range) = self.entries.get(name) else {
            return Ok(None);
        };
        let len = range.end - range.start;
        if len > cap {
            return Err(ArchiveError::NotAnArchive(format!(
                "{name} holds {len} bytes, more than a phone writes ({cap} at most)"
            )));
        }
        self.read(range)
            .map(Some)
            .ok_or_else(|| ArchiveError::Damaged(format!("{name} could not be read")))
    }

    /// The bytes of a range `photos` gave.
    pub fn read(&self, range: &Range<u64>) -> Option<Cow<'a, [u8]>> {
        self.source
            .read_at(range.start, (range.end - range.start) as usize)
    }

    /// The photo entries the manifest lists and where their bytes are, each
    /// checked to be present with its declared size (the server checks each
    /// hash before storing anything).
    pub fn photos(&self) -> Result<Vec<(PhotoEntry, Range<u64>)>, ArchiveError> {
        self.manifest
            .photos
            .iter()
            .map(|p| {
                let range = self.entries.get(&p.path).ok_or_else(|| {
                    ArchiveError::Damaged(format!("{} is listed but missing", p.path))
                })?;
                let len = range.end - range.start;
                if len != p.size {
                    return Err(ArchiveError::Damaged(format!(
                        "{} holds {len} bytes, the manifest says {}",
                        p.path, p.size
                    )));
                }
                Ok((p.clone(), range.clone()))
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
            .whole(MUTATIONS, MAX_MUTATIONS_BYTES)?
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
            format: crate::sync::EXPORT_FORMAT.to_string(),
            schema_version: manifest.schema_version,
            device_id: manifest.device_id,
            username: manifest.username.clone(),
            exported_at_ms: manifest.exported_at_ms,
            mutations,
        })
    }
}

impl Manifest {
    /// A placeholder until the archive's own is read.
    fn empty() -> Manifest {
        Manifest {
            format: String::new(),
            version: 0,
            schema_version: 0,
            device_id: uuid::Uuid::nil(),
            username: None,
            exported_at_ms: None,
            mutations: 0,
            first_seq: None,
            last_seq: None,
            photos: Vec::new(),
        }
    }
}

/// The photo entries the manifest lists (see `Archive::photos`).
pub fn read_photos(bytes: &[u8]) -> Result<Vec<(PhotoEntry, &[u8])>, ArchiveError> {
    Ok(Archive::open(bytes)?
        .photos()?
        .into_iter()
        .map(|(p, r)| (p, &bytes[r.start as usize..r.end as usize]))
        .collect())
}

/// Reads a backup archive into the import format (see `Archive::export`).
pub fn read_export(bytes: &[u8]) -> Result<ExportFile, ArchiveError> {
    Archive::open(bytes)?.export()
}
