//! Photo bytes behind one small interface. The pipeline and the upload handler
//! only see `PhotoStorage`; the local disk is the default, and S3-compatible
//! object storage (`s3.rs`) serves processes that share no disk.
//!
//! Two kinds of things are stored: partial uploads (by upload ID, appended to
//! while bytes arrive) and finished objects (by key, content-addressed: the same
//! bytes uploaded twice are one object). An object appears whole or not at all:
//! written to a temporary file, flushed to disk, then renamed into place, so a
//! crash never leaves a visit pointing at a partial file.
//!
//! The methods block: callers run them on tokio's blocking pool.
//!
//! One file (about 505 lines, half of them tests): the interface, its local-disk
//! implementation and the identity rule that decides whether a store belongs
//! to a database are read together.

use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

pub trait PhotoStorage: Send + Sync + 'static {
    /// Writes `bytes` at `offset` of a partial upload, first cutting off
    /// anything after `offset` (bytes an interrupted request wrote but the
    /// database never acknowledged), and makes them durable before returning.
    fn write_partial(&self, upload_id: &str, offset: u64, bytes: &[u8]) -> io::Result<()>;
    /// Reads a partial upload from the start.
    fn read_partial(&self, upload_id: &str) -> io::Result<Box<dyn Read + Send>>;
    /// Forgets a partial upload (missing is fine).
    fn delete_partial(&self, upload_id: &str) -> io::Result<()>;
    /// Turns a complete partial upload into the object `key`. If the object
    /// exists already (same content hash), the partial is simply dropped.
    fn promote_partial(&self, upload_id: &str, key: &str) -> io::Result<()>;
    /// Stores an object whole, unless it exists already.
    fn put(&self, key: &str, bytes: &[u8]) -> io::Result<()>;
    fn get(&self, key: &str) -> io::Result<Vec<u8>>;
    /// An object as a reader, with its length: for streaming it to a client
    /// without holding it in memory.
    fn open(&self, key: &str) -> io::Result<(u64, Box<dyn Read + Send>)>;
    fn exists(&self, key: &str) -> io::Result<bool>;
    /// Every finished object's key (for backups), sorted.
    fn list(&self) -> io::Result<Vec<String>>;
    /// The marker naming this store (see [`Identity`]), if it has one.
    fn identity(&self) -> io::Result<Option<String>>;
    /// Marks the store with `id`, durably.
    fn set_identity(&self, id: &str) -> io::Result<()>;
    /// Where the store is, for an operator reading a message.
    fn describe(&self) -> String;
}

/// What a process does with the photo store it was given, from the identity
/// the database recorded and the marker the store holds. A process pointed at
/// another directory than the one the database was started with would accept
/// uploads whose bytes the other processes never see (a resumed upload then
/// ends in `upload.sha256_mismatch`): it refuses to start instead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Identity {
    /// Both agree.
    Same,
    /// A new installation (or one from before markers whose photos are in
    /// this store): mark the store and record `id`.
    Mark(String),
    /// The store is not the database's: refuse, with the reason.
    Refuse(IdentityMismatch),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdentityMismatch {
    /// The database names store `expected`; this one is unmarked.
    Unmarked { expected: String },
    /// The database names `expected`; this store is `found`.
    Other { expected: String, found: String },
    /// The database has no marker but photos this store lacks; the store is
    /// `found` (None when unmarked).
    PhotosElsewhere { found: Option<String> },
}

impl Identity {
    /// `recorded`: the database's marker; `marker`: the store's; `holds_photos`:
    /// for an unmarked database, whether the store holds its photos (None when
    /// the database has none).
    pub fn decide(
        recorded: Option<&str>,
        marker: Option<&str>,
        holds_photos: Option<bool>,
    ) -> Identity {
        match (recorded, marker) {
            (Some(r), Some(m)) if r == m => Identity::Same,
            (Some(r), Some(m)) => Identity::Refuse(IdentityMismatch::Other {
                expected: r.to_string(),
                found: m.to_string(),
            }),
            (Some(r), None) => Identity::Refuse(IdentityMismatch::Unmarked {
                expected: r.to_string(),
            }),
            (None, found) => match (holds_photos, found) {
                (Some(false), found) => Identity::Refuse(IdentityMismatch::PhotosElsewhere {
                    found: found.map(str::to_string),
                }),
                (_, Some(m)) => Identity::Mark(m.to_string()),
                (_, None) => Identity::Mark(uuid::Uuid::now_v7().to_string()),
            },
        }
    }
}

impl IdentityMismatch {
    /// What the operator reads when the process refuses to start.
    pub fn message(&self, store: &str) -> String {
        match self {
            IdentityMismatch::Unmarked { expected } => format!(
                "the photo store {store} is not the one this database was started with: it has no \
                 store-id marker, the database expects store {expected}. Point --photo-dir (or \
                 --photo-store) at the store whose store-id file says {expected}, shared by every \
                 server process, or restore it from a backup (khaosat restore)."
            ),
            IdentityMismatch::Other { expected, found } => format!(
                "the photo store {store} belongs to another database (its store-id is {found}; this \
                 database expects {expected}). Point --photo-dir (or --photo-store) at the store \
                 whose store-id file says {expected}."
            ),
            IdentityMismatch::PhotosElsewhere { found } => format!(
                "the photo store {store}{} does not hold this database's photos. Point --photo-dir \
                 (or --photo-store) at the directory that does.",
                found.as_ref().map(|f| format!(" (store-id {f})")).unwrap_or_default()
            ),
        }
    }
}

/// Files under one directory: `partial/<upload id>` and `objects/<key>`.
pub struct LocalDisk {
    root: PathBuf,
}

impl LocalDisk {
    pub fn new(root: impl Into<PathBuf>) -> io::Result<LocalDisk> {
        let root = root.into();
        std::fs::create_dir_all(root.join("partial"))?;
        std::fs::create_dir_all(root.join("objects"))?;
        std::fs::create_dir_all(root.join("tmp"))?;
        Ok(LocalDisk { root })
    }

    fn partial(&self, upload_id: &str) -> io::Result<PathBuf> {
        Ok(self.root.join("partial").join(safe_name(upload_id)?))
    }

    fn object(&self, key: &str) -> io::Result<PathBuf> {
        // Keys look like `original/<sha256>.jpg`: at most one directory level.
        let mut path = self.root.join("objects");
        for part in key.split('/') {
            path.push(safe_name(part)?);
        }
        Ok(path)
    }

    fn temp(&self) -> PathBuf {
        let n = uuid::Uuid::now_v7();
        self.root.join("tmp").join(n.to_string())
    }
}

/// Only plain names reach the file system: no separators, no `..`, nothing empty.
fn safe_name(name: &str) -> io::Result<&str> {
    let ok = !name.is_empty()
        && name.len() <= 128
        && name != "."
        && name != ".."
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    if ok {
        Ok(name)
    } else {
        Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("not a storage name: {name:?}"),
        ))
    }
}

/// Renames `from` to `to` durably: the directory entry is flushed too.
fn rename_durably(from: &Path, to: &Path) -> io::Result<()> {
    if let Some(dir) = to.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::rename(from, to)?;
    if let Some(dir) = to.parent() {
        // Directories cannot be opened for sync on every platform; on Linux they can.
        if let Ok(d) = std::fs::File::open(dir) {
            let _ = d.sync_all();
        }
    }
    Ok(())
}

impl PhotoStorage for LocalDisk {
    fn write_partial(&self, upload_id: &str, offset: u64, bytes: &[u8]) -> io::Result<()> {
        let path = self.partial(upload_id)?;
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)?;
        if file.metadata()?.len() != offset {
            file.set_len(offset)?;
        }
        file.seek(SeekFrom::Start(offset))?;
        file.write_all(bytes)?;
        file.sync_data()
    }

    fn read_partial(&self, upload_id: &str) -> io::Result<Box<dyn Read + Send>> {
        Ok(Box::new(io::BufReader::new(std::fs::File::open(
            self.partial(upload_id)?,
        )?)))
    }

    fn delete_partial(&self, upload_id: &str) -> io::Result<()> {
        match std::fs::remove_file(self.partial(upload_id)?) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            other => other,
        }
    }

    fn promote_partial(&self, upload_id: &str, key: &str) -> io::Result<()> {
        let from = self.partial(upload_id)?;
        let to = self.object(key)?;
        if to.exists() {
            return self.delete_partial(upload_id);
        }
        std::fs::File::open(&from)?.sync_all()?;
        rename_durably(&from, &to)
    }

    fn put(&self, key: &str, bytes: &[u8]) -> io::Result<()> {
        let to = self.object(key)?;
        if to.exists() {
            return Ok(());
        }
        let temp = self.temp();
        let result = (|| {
            let mut file = std::fs::File::create(&temp)?;
            file.write_all(bytes)?;
            file.sync_all()?;
            rename_durably(&temp, &to)
        })();
        if result.is_err() {
            let _ = std::fs::remove_file(&temp);
        }
        result
    }

    fn get(&self, key: &str) -> io::Result<Vec<u8>> {
        std::fs::read(self.object(key)?)
    }

    fn open(&self, key: &str) -> io::Result<(u64, Box<dyn Read + Send>)> {
        let file = std::fs::File::open(self.object(key)?)?;
        let len = file.metadata()?.len();
        Ok((len, Box::new(file)))
    }

    fn exists(&self, key: &str) -> io::Result<bool> {
        Ok(self.object(key)?.exists())
    }

    fn list(&self) -> io::Result<Vec<String>> {
        // Keys have at most one directory level (see `object`).
        let mut keys = Vec::new();
        for entry in std::fs::read_dir(self.root.join("objects"))? {
            let entry = entry?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if entry.file_type()?.is_dir() {
                for inner in std::fs::read_dir(entry.path())? {
                    let inner = inner?;
                    if inner.file_type()?.is_file() {
                        keys.push(format!("{name}/{}", inner.file_name().to_string_lossy()));
                    }
                }
            } else {
                keys.push(name);
            }
        }
        keys.sort();
        Ok(keys)
    }

    fn identity(&self) -> io::Result<Option<String>> {
        match std::fs::read_to_string(self.root.join(IDENTITY_FILE)) {
            Ok(text) => Ok(Some(text.trim().to_string()).filter(|t| !t.is_empty())),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    fn set_identity(&self, id: &str) -> io::Result<()> {
        let temp = self.temp();
        let mut file = std::fs::File::create(&temp)?;
        file.write_all(format!("{id}\n").as_bytes())?;
        file.sync_all()?;
        rename_durably(&temp, &self.root.join(IDENTITY_FILE))
    }

    fn describe(&self) -> String {
        self.root.display().to_string()
    }
}

/// The marker file at the top of a local photo directory.
const IDENTITY_FILE: &str = "store-id";

/// Photo settings of a deployment, shared by the upload handler and the pipeline.
pub struct Photos {
    pub storage: std::sync::Arc<dyn PhotoStorage>,
    /// Largest photo upload in bytes (413 above it).
    pub max_bytes: u64,
    /// How long an unfinished upload may be resumed.
    pub upload_ttl_ms: i64,
    /// Largest image the pipeline decodes, in pixels (width × height).
    pub max_pixels: u64,
    /// How long the pipeline waits for one decode before calling it hung. The
    /// decode itself cannot be stopped: it keeps its permit until it ends.
    pub decode_timeout: std::time::Duration,
    /// How long the pipeline waits before judging a photo again when the
    /// store did not answer (then four times as long each time).
    pub retry_after: std::time::Duration,
}

/// 25 MB: a 50 MP camera JPEG fits; anything larger is not a phone photo.
pub const DEFAULT_MAX_BYTES: u64 = 25 * 1000 * 1000;
/// An interrupted upload may resume for a week (a field trip).
pub const DEFAULT_UPLOAD_TTL_MS: i64 = 7 * 24 * 3600 * 1000;
/// 100 megapixels.
pub const DEFAULT_MAX_PIXELS: u64 = 100_000_000;
/// A 100 MP JPEG decodes in a few seconds here; a minute means something is wrong.
pub const DEFAULT_DECODE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60);
/// A store that did not answer is asked again after 30 s, 2, 8 and 32 minutes.
pub const DEFAULT_RETRY_AFTER: std::time::Duration = std::time::Duration::from_secs(30);

impl Photos {
    /// The local-disk default under `dir`.
    pub fn on_disk(dir: impl Into<PathBuf>) -> io::Result<Photos> {
        Ok(Photos::with_storage(std::sync::Arc::new(LocalDisk::new(
            dir,
        )?)))
    }

    /// Any store (S3 for several processes), with the default limits.
    pub fn with_storage(storage: std::sync::Arc<dyn PhotoStorage>) -> Photos {
        Photos {
            storage,
            max_bytes: DEFAULT_MAX_BYTES,
            upload_ttl_ms: DEFAULT_UPLOAD_TTL_MS,
            max_pixels: DEFAULT_MAX_PIXELS,
            decode_timeout: DEFAULT_DECODE_TIMEOUT,
            retry_after: DEFAULT_RETRY_AFTER,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn disk() -> (tempfile_dir::Dir, LocalDisk) {
        let dir = tempfile_dir::Dir::new();
        let disk = LocalDisk::new(dir.path()).unwrap();
        (dir, disk)
    }

    /// A throw-away directory without a dev-dependency.
    mod tempfile_dir {
        pub struct Dir(std::path::PathBuf);
        impl Dir {
            pub fn new() -> Dir {
                let p =
                    std::env::temp_dir().join(format!("khaosat-storage-{}", uuid::Uuid::now_v7()));
                std::fs::create_dir_all(&p).unwrap();
                Dir(p)
            }
            pub fn path(&self) -> &std::path::Path {
                &self.0
            }
        }
        impl Drop for Dir {
            fn drop(&mut self) {
                let _ = std::fs::remove_dir_all(&self.0);
            }
        }
    }

    #[test]
    fn a_rewritten_offset_drops_the_unacknowledged_tail() {
        let (_d, disk) = disk();
        disk.write_partial("u1", 0, b"hello").unwrap();
        // A cut request wrote " wor" that the database never acknowledged.
        disk.write_partial("u1", 5, b" wor").unwrap();
        disk.write_partial("u1", 5, b" world").unwrap();
        let mut text = String::new();
        disk.read_partial("u1")
            .unwrap()
            .read_to_string(&mut text)
            .unwrap();
        assert_eq!(text, "hello world");
        disk.write_partial("u1", 5, b"!").unwrap();
        let mut text = String::new();
        disk.read_partial("u1")
            .unwrap()
            .read_to_string(&mut text)
            .unwrap();
        assert_eq!(text, "hello!");
    }

    #[test]
    fn promoting_the_same_bytes_twice_keeps_one_object() {
        let (_d, disk) = disk();
        disk.write_partial("a", 0, b"bytes").unwrap();
        disk.promote_partial("a", "original/abc.jpg").unwrap();
        disk.write_partial("b", 0, b"bytes").unwrap();
        disk.promote_partial("b", "original/abc.jpg").unwrap();
        assert_eq!(disk.get("original/abc.jpg").unwrap(), b"bytes");
        assert!(
            disk.read_partial("b").is_err(),
            "the duplicate partial is gone"
        );
    }

    #[test]
    fn names_cannot_leave_the_root() {
        let (_d, disk) = disk();
        assert!(disk.put("../x", b"no").is_err());
        assert!(disk.put("a/../../x", b"no").is_err());
        assert!(disk.write_partial("../../etc", 0, b"no").is_err());
        assert!(disk.put("", b"no").is_err());
    }

    #[test]
    fn a_store_lists_its_finished_objects_only() {
        let (_dir, disk) = disk();
        disk.put("original/b.jpg", b"b").unwrap();
        disk.put("thumb/a.jpg", b"a").unwrap();
        disk.write_partial("u1", 0, b"half").unwrap();
        disk.set_identity("s").unwrap();
        assert_eq!(disk.list().unwrap(), ["original/b.jpg", "thumb/a.jpg"]);
    }

    #[test]
    fn a_store_marks_itself_once_and_keeps_its_mark() {
        let (_dir, disk) = disk();
        assert_eq!(disk.identity().unwrap(), None);
        disk.set_identity("store-1").unwrap();
        assert_eq!(disk.identity().unwrap().as_deref(), Some("store-1"));
    }

    #[test]
    fn a_process_refuses_a_photo_store_that_is_not_its_databases() {
        use IdentityMismatch::*;
        // A new installation: a fresh marker.
        assert!(matches!(
            Identity::decide(None, None, None),
            Identity::Mark(_)
        ));
        // Before markers: the store that holds the database's photos is adopted.
        assert!(matches!(
            Identity::decide(None, None, Some(true)),
            Identity::Mark(_)
        ));
        assert_eq!(
            Identity::decide(None, Some("s"), Some(true)),
            Identity::Mark("s".into())
        );
        assert_eq!(
            Identity::decide(None, Some("s"), None),
            Identity::Mark("s".into())
        );
        // …and one that does not, refused.
        assert_eq!(
            Identity::decide(None, None, Some(false)),
            Identity::Refuse(PhotosElsewhere { found: None })
        );
        assert_eq!(Identity::decide(Some("a"), Some("a"), None), Identity::Same);
        // Another process's empty directory: the failure issue 19 measured.
        assert_eq!(
            Identity::decide(Some("a"), None, None),
            Identity::Refuse(Unmarked {
                expected: "a".into()
            })
        );
        assert_eq!(
            Identity::decide(Some("a"), Some("b"), Some(true)),
            Identity::Refuse(Other {
                expected: "a".into(),
                found: "b".into()
            })
        );
        let message = Unmarked {
            expected: "a".into(),
        }
        .message("/srv/photos");
        assert!(
            message.contains("/srv/photos")
                && message.contains("--photo-dir")
                && message.contains('a')
        );
    }
}
