//! The backup's files: photos copied out and in (hashed on the way, sealed
//! when the backup is encrypted), and the small file helpers both use.

use super::seal::Seal;
use super::PhotoEntry;
use app::photos::storage::PhotoStorage;
use sha2::{Digest, Sha256};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

pub(super) fn copy_photos_out(
    storage: &dyn PhotoStorage,
    dir: &Path,
    seal: Option<&Seal>,
) -> Result<Vec<PhotoEntry>, String> {
    let keys = storage
        .list()
        .map_err(|e| format!("cannot list the photo store: {e}"))?;
    let mut entries = Vec::with_capacity(keys.len());
    for key in keys {
        let (_, mut reader) = storage
            .open(&key)
            .map_err(|e| format!("cannot read photo {key}: {e}"))?;
        let path = dir.join(&key);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| e.to_string())?;
        }
        let (sha256, size) = match seal {
            Some(seal) => {
                let mut hashing = Hashing::new(&mut reader);
                write_sealed(seal, &path, &mut hashing)
                    .map(|_| hashing.finish())
                    .map_err(|e| format!("cannot copy photo {key}: {e}"))?
            }
            None => {
                let mut out = std::fs::File::create(&path)
                    .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
                let copied = copy_hashing(&mut reader, &mut out)
                    .map_err(|e| format!("cannot copy photo {key}: {e}"))?;
                out.sync_all().map_err(|e| e.to_string())?;
                copied
            }
        };
        entries.push(PhotoEntry { key, sha256, size });
    }
    Ok(entries)
}

/// Reads every photo of a backup and checks its size and SHA-256 against the
/// manifest, writing nothing.
pub(super) fn check_photos(
    dir: &Path,
    entries: &[PhotoEntry],
    seal: Option<&Seal>,
) -> Result<(), String> {
    for entry in entries {
        let (sha256, size) = open_sealed(seal, &dir.join(&entry.key))
            .and_then(|mut f| copy_hashing(&mut f, &mut std::io::sink()))
            .map_err(|e| format!("the backup's photo {} cannot be read: {e}", entry.key))?;
        if sha256 != entry.sha256 || size != entry.size {
            return Err(format!(
                "photo {} in the backup is damaged: SHA-256 {sha256}, the manifest says {}",
                entry.key, entry.sha256
            ));
        }
    }
    Ok(())
}

pub(super) fn copy_photos_in(
    storage: &dyn PhotoStorage,
    dir: &Path,
    entries: &[PhotoEntry],
    identity: Option<&str>,
    seal: Option<&Seal>,
) -> Result<(), String> {
    for entry in entries {
        let path = dir.join(&entry.key);
        let mut bytes = Vec::with_capacity(entry.size as usize);
        open_sealed(seal, &path)
            .and_then(|mut f| f.read_to_end(&mut bytes))
            .map_err(|e| format!("the backup's photo {} cannot be read: {e}", entry.key))?;
        let sha256 = hex::encode(Sha256::digest(&bytes));
        if sha256 != entry.sha256 || bytes.len() as u64 != entry.size {
            return Err(format!(
                "photo {} in the backup is damaged: SHA-256 {sha256}, the manifest says {}",
                entry.key, entry.sha256
            ));
        }
        storage
            .put(&entry.key, &bytes)
            .map_err(|e| format!("cannot store photo {}: {e}", entry.key))?;
    }
    if let Some(id) = identity {
        storage
            .set_identity(id)
            .map_err(|e| format!("cannot mark the photo store: {e}"))?;
    }
    Ok(())
}

pub(super) fn copy_hashing(
    reader: &mut dyn Read,
    out: &mut dyn Write,
) -> std::io::Result<(String, u64)> {
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 256 * 1024];
    let mut size = 0u64;
    loop {
        let n = reader.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        out.write_all(&buf[..n])?;
        size += n as u64;
    }
    Ok((hex::encode(hasher.finalize()), size))
}

/// Reads a SHA-256 and a size off a stream as it is read.
pub(super) struct Hashing<R> {
    inner: R,
    hasher: Sha256,
    size: u64,
}

impl<R: Read> Hashing<R> {
    fn new(inner: R) -> Self {
        Hashing {
            inner,
            hasher: Sha256::new(),
            size: 0,
        }
    }

    fn finish(self) -> (String, u64) {
        (hex::encode(self.hasher.finalize()), self.size)
    }
}

impl<R: Read> Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        self.size += n as u64;
        Ok(n)
    }
}

/// A plaintext file beside the live database, removed however the backup ends,
/// with the files SQLite keeps beside it.
pub(super) struct Staging(pub PathBuf);

impl Drop for Staging {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
        remove_sqlite_sidecars(&self.0);
    }
}

/// Removes the `-wal`, `-shm` and `-journal` files of a SQLite database nothing
/// has open any more. Counting the snapshot's rows opens it in WAL mode, and
/// SQLite deletes those files only when the connection closing last knows it
/// is last: two of the pool's connections closing at once can both leave them
/// (seen under load). Nothing was written through them, so they hold no data.
pub(super) fn remove_sqlite_sidecars(database: &Path) {
    for suffix in ["-wal", "-shm", "-journal"] {
        let mut name = database.as_os_str().to_owned();
        name.push(suffix);
        let _ = std::fs::remove_file(PathBuf::from(name));
    }
}

/// Encrypts `input` into a new file at `path`, synced.
pub(super) fn write_sealed(seal: &Seal, path: &Path, input: &mut dyn Read) -> std::io::Result<u64> {
    let mut writer = seal.writer(std::fs::File::create(path)?)?;
    let n = std::io::copy(input, &mut writer)?;
    writer.finish()?.sync_all()?;
    Ok(n)
}

/// A backup file's plaintext, decrypted as it is read when the backup is sealed.
pub(super) fn open_sealed(
    seal: Option<&Seal>,
    path: &Path,
) -> std::io::Result<Box<dyn Read + Send>> {
    let file = std::io::BufReader::new(std::fs::File::open(path)?);
    Ok(match seal {
        Some(seal) => Box::new(seal.reader(file).map_err(std::io::Error::other)?),
        None => Box::new(file),
    })
}

pub(super) fn write_durably(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let temp = path.with_extension("tmp");
    let mut file = std::fs::File::create(&temp)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    std::fs::rename(&temp, path)
}

/// Removes what a backup killed part way left behind, before the next one:
/// directories in `dir` without a manifest (a full-size copy each, never
/// pruned, that could fill the disk) and, beside a SQLite database, staging
/// snapshots of an encrypted backup (a plaintext copy of the whole database
/// that only a clean end of the backup removes). Only the jobs' holder takes
/// backups, so any such file is a leftover. Returns how many were removed.
pub fn sweep_leftovers(dir: &Path, url: &str) -> usize {
    let mut removed = 0;
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let unfinished = name
            .strip_prefix("backup-")
            .is_some_and(|at| at.parse::<i64>().is_ok())
            && !entry.path().join(super::MANIFEST).exists();
        if unfinished && std::fs::remove_dir_all(entry.path()).is_ok() {
            tracing::warn!(dir = %entry.path().display(), "removed a backup left unfinished");
            removed += 1;
        }
    }
    let Ok(database) = super::sqlite_path(url) else {
        return removed;
    };
    let (Some(parent), Some(stem)) = (database.parent(), database.file_stem()) else {
        return removed;
    };
    let prefix = format!("{}.backup-", stem.to_string_lossy());
    let parent = if parent.as_os_str().is_empty() {
        Path::new(".")
    } else {
        parent
    };
    for entry in std::fs::read_dir(parent).into_iter().flatten().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with(&prefix) && std::fs::remove_file(entry.path()).is_ok() {
            tracing::warn!(file = %entry.path().display(), "removed a backup's staging copy left behind");
            removed += 1;
        }
    }
    removed
}
