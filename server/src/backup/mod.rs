//! `khaosat backup --to DIR` and `khaosat restore --from DIR`.
//!
//! A backup directory holds:
//! - `database.sqlite` (SQLite, `VACUUM INTO`: one consistent snapshot taken
//!   while phones keep pushing) or `database.pgdump` (PostgreSQL, `pg_dump
//!   --format=custom` sharing the snapshot of a transaction that also counted
//!   the rows);
//! - `photos/<key>`: every finished object of the photo store, copied as a
//!   stream and hashed on the way;
//! - `manifest.json`, written last (a directory without it is not a backup):
//!   engine, the photo store's identity, rows per table in the snapshot, and
//!   every photo object with its SHA-256 and size;
//! - with a passphrase, `key.age`, and every other file above is age
//!   ciphertext (see `seal`); the manifest's hashes are of the plaintext.
//!
//! Objects are content-addressed and written before any record names them,
//! so every photo the snapshot refers to is in the store when it is listed.
//! A restore goes into an empty database and an empty store, checks every
//! photo's hash and every table's row count, and marks the store with the
//! backed-up identity so the restored database accepts it.

mod files;
mod seal;
mod tools;

pub use files::sweep_leftovers;

use files::{copy_photos_in, copy_photos_out, open_sealed, write_durably, write_sealed, Staging};
pub use seal::Passphrase;
use seal::Seal;
use tools::{dump_sealed, restore_sealed, run};

use app::photos::storage::PhotoStorage;
use app::store::{service, Db, Engine};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

const FORMAT: &str = "khaosat-backup";
const VERSION: u32 = 1;
const MANIFEST: &str = "manifest.json";
const SQLITE_FILE: &str = "database.sqlite";
const PG_FILE: &str = "database.pgdump";
const KEY_FILE: &str = "key.age";

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Manifest {
    pub format: String,
    pub version: u32,
    pub created_at_ms: i64,
    /// `sqlite` or `postgresql`: a backup restores into the same engine.
    pub engine: String,
    pub database: String,
    pub photo_store_id: Option<String>,
    /// Rows per table in the database snapshot.
    pub records: BTreeMap<String, i64>,
    pub photos: Vec<PhotoEntry>,
    /// The files are encrypted (`key.age` opens them with the passphrase).
    #[serde(default)]
    pub encrypted: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct PhotoEntry {
    pub key: String,
    pub sha256: String,
    pub size: u64,
}

/// Writes a backup of `db` (reached at `url`) and `storage` into `to`, which
/// must be missing or empty; encrypted when a passphrase is given.
pub async fn backup(
    db: &Db,
    url: &str,
    storage: Arc<dyn PhotoStorage>,
    to: &Path,
    passphrase: Option<&Passphrase>,
) -> Result<Manifest, String> {
    prepare_target(to)?;
    let seal = match passphrase {
        Some(p) => {
            let (seal, key) = Seal::new(p)?;
            write_durably(&to.join(KEY_FILE), &key)
                .map_err(|e| format!("cannot write the backup's key: {e}"))?;
            Some(Arc::new(seal))
        }
        None => None,
    };
    let (database, records) = match db.engine {
        Engine::Sqlite => {
            // Encrypted, the snapshot is taken beside the live database (the
            // server's own disk) and only ciphertext reaches the backup.
            let staging = match &seal {
                Some(_) => Some(Staging(
                    sqlite_path(url)?
                        .with_extension(format!("backup-{}", uuid::Uuid::now_v7().simple())),
                )),
                None => None,
            };
            let file = staging
                .as_ref()
                .map(|s| s.0.clone())
                .unwrap_or_else(|| to.join(SQLITE_FILE));
            service::snapshot_sqlite(db, &file)
                .await
                .map_err(|e| format!("the database snapshot failed: {e}"))?;
            // Counted in the copy itself: these are the snapshot's rows.
            let copy = Db::connect(&format!("sqlite://{}", file.display()))
                .await
                .map_err(|e| format!("cannot read the snapshot: {e}"))?;
            let records = service::record_counts(&copy)
                .await
                .map_err(|e| e.to_string())?;
            copy.pool.close().await;
            files::remove_sqlite_sidecars(&file);
            if let Some(seal) = &seal {
                let (seal, out) = (seal.clone(), to.join(SQLITE_FILE));
                tokio::task::spawn_blocking(move || {
                    let mut input = std::fs::File::open(&file)?;
                    write_sealed(&seal, &out, &mut input).map(drop)
                })
                .await
                .map_err(|e| e.to_string())?
                .map_err(|e| format!("cannot encrypt the database: {e}"))?;
            }
            drop(staging);
            (SQLITE_FILE, records)
        }
        Engine::Postgres => {
            let (mut tx, snapshot) = service::begin_exported_snapshot(db)
                .await
                .map_err(|e| format!("cannot start the snapshot: {e}"))?;
            let records = service::record_counts_in(&mut tx)
                .await
                .map_err(|e| e.to_string())?;
            let file = to.join(PG_FILE);
            let mut dump = std::process::Command::new("pg_dump");
            dump.arg("--format=custom")
                .arg(format!("--snapshot={snapshot}"))
                .arg("--no-owner")
                .arg("--no-privileges");
            tools::target(&mut dump, url);
            match &seal {
                // Encrypted as it streams out of pg_dump: no plaintext on disk.
                Some(seal) => dump_sealed(dump, seal.clone(), file).await?,
                None => {
                    dump.arg(format!("--file={}", file.display()));
                    run(dump, "pg_dump").await?
                }
            }
            tx.commit().await.map_err(|e| e.to_string())?;
            (PG_FILE, records)
        }
    };
    let photo_store_id = service::photo_store_id(db)
        .await
        .map_err(|e| e.to_string())?;
    let dir = to.join("photos");
    let sealing = seal.clone();
    let photos = tokio::task::spawn_blocking(move || {
        copy_photos_out(storage.as_ref(), &dir, sealing.as_deref())
    })
    .await
    .map_err(|e| e.to_string())??;
    let manifest = Manifest {
        format: FORMAT.into(),
        version: VERSION,
        created_at_ms: app::store::now_ms(),
        engine: db.engine.name().into(),
        database: database.into(),
        photo_store_id,
        records,
        photos,
        encrypted: seal.is_some(),
    };
    write_durably(
        &to.join(MANIFEST),
        &serde_json::to_vec_pretty(&manifest).map_err(|e| e.to_string())?,
    )
    .map_err(|e| format!("cannot write the manifest: {e}"))?;
    Ok(manifest)
}

/// Restores the backup in `from` into the empty database at `url` (SQLite
/// files live under `data_dir`) and the empty `storage`; an encrypted backup
/// needs its passphrase.
pub async fn restore(
    from: &Path,
    url: &str,
    data_dir: &Path,
    storage: Arc<dyn PhotoStorage>,
    passphrase: Option<&Passphrase>,
) -> Result<Manifest, String> {
    let manifest = read_manifest(from)?;
    // Opened before anything is touched: a wrong passphrase changes nothing.
    let seal = match (manifest.encrypted, passphrase) {
        (false, _) => None,
        (true, None) => {
            return Err("this backup is encrypted: give its passphrase with --passphrase-file or KHAOSAT_BACKUP_PASSPHRASE".into())
        }
        (true, Some(p)) => {
            let key = std::fs::read(from.join(KEY_FILE))
                .map_err(|e| format!("the encrypted backup lacks {KEY_FILE}: {e}"))?;
            let (key, p) = (key, p.clone());
            Some(Arc::new(
                tokio::task::spawn_blocking(move || Seal::open(&key, &p))
                    .await
                    .map_err(|e| e.to_string())??,
            ))
        }
    };
    let engine = if url.starts_with("sqlite:") {
        "sqlite"
    } else {
        "postgresql"
    };
    if manifest.engine != engine {
        return Err(format!(
            "this backup is of a {} database; restore it into {} (the engines' files differ)",
            manifest.engine, manifest.engine
        ));
    }
    let store = storage.clone();
    let (objects, marker) = tokio::task::spawn_blocking(move || {
        Ok::<_, std::io::Error>((store.list()?, store.identity()?))
    })
    .await
    .map_err(|e| e.to_string())?
    .map_err(|e| format!("cannot read the photo store: {e}"))?;
    if !objects.is_empty() || marker.is_some() {
        return Err(format!(
            "the photo store {} is not empty: restore into an empty one",
            storage.describe()
        ));
    }
    // Every photo is read and checked before anything is written: a damaged
    // one used to stop the restore after the database was in place, and the
    // next restore into that directory was refused as "not empty".
    let (dir, entries, check_seal) = (from.join("photos"), manifest.photos.clone(), seal.clone());
    tokio::task::spawn_blocking(move || files::check_photos(&dir, &entries, check_seal.as_deref()))
        .await
        .map_err(|e| e.to_string())??;
    match engine {
        "sqlite" => restore_sqlite(from, url, data_dir, seal.clone()).await?,
        _ => {
            let db = Db::connect(url)
                .await
                .map_err(|e| format!("cannot open the database: {e}"))?;
            if !service::is_empty(&db).await.map_err(|e| e.to_string())? {
                return Err("the database is not empty: restore into an empty one".into());
            }
            db.pool.close().await;
            let mut load = std::process::Command::new("pg_restore");
            load.arg("--no-owner")
                .arg("--no-privileges")
                .arg("--exit-on-error");
            tools::target(&mut load, url);
            match &seal {
                Some(seal) => restore_sealed(load, seal.clone(), from.join(PG_FILE)).await?,
                None => {
                    load.arg(from.join(PG_FILE));
                    run(load, "pg_restore").await?
                }
            }
        }
    }
    let (dir, entries, store, id) = (
        from.join("photos"),
        manifest.photos.clone(),
        storage.clone(),
        manifest.photo_store_id.clone(),
    );
    tokio::task::spawn_blocking(move || {
        copy_photos_in(
            store.as_ref(),
            &dir,
            &entries,
            id.as_deref(),
            seal.as_deref(),
        )
    })
    .await
    .map_err(|e| e.to_string())??;
    let db = crate::startup::open_database(data_dir, url).await?;
    let counts = service::record_counts(&db)
        .await
        .map_err(|e| e.to_string())?;
    if counts != manifest.records {
        return Err(format!(
            "the restored database's rows differ from the backup's: {counts:?} against {:?}",
            manifest.records
        ));
    }
    // Phones that synced after the backup hold work this database lacks; the
    // new epoch makes each send it again before anything else (DESIGN.md).
    service::renew_log_epoch(&db)
        .await
        .map_err(|e| format!("cannot mark the restored change log: {e}"))?;
    Ok(manifest)
}

pub fn read_manifest(from: &Path) -> Result<Manifest, String> {
    let bytes = std::fs::read(from.join(MANIFEST)).map_err(|e| {
        format!(
            "{} is not a finished khaosat backup (no {MANIFEST}: {e})",
            from.display()
        )
    })?;
    let manifest: Manifest =
        serde_json::from_slice(&bytes).map_err(|e| format!("{MANIFEST} cannot be read: {e}"))?;
    if manifest.format != FORMAT || manifest.version != VERSION {
        return Err(format!(
            "{MANIFEST} is not a khaosat backup of version {VERSION} (format {}, version {})",
            manifest.format, manifest.version
        ));
    }
    Ok(manifest)
}

fn prepare_target(to: &Path) -> Result<(), String> {
    if to.exists()
        && std::fs::read_dir(to)
            .map_err(|e| format!("cannot read {}: {e}", to.display()))?
            .next()
            .is_some()
    {
        return Err(format!(
            "{} is not empty: back up into a new directory",
            to.display()
        ));
    }
    std::fs::create_dir_all(to.join("photos"))
        .map_err(|e| format!("cannot create {}: {e}", to.display()))
}

async fn restore_sqlite(
    from: &Path,
    url: &str,
    data_dir: &Path,
    seal: Option<Arc<Seal>>,
) -> Result<(), String> {
    let target = sqlite_path(url)?;
    if target.exists() && std::fs::metadata(&target).map(|m| m.len()).unwrap_or(0) > 0 {
        let db = Db::connect(url)
            .await
            .map_err(|e| format!("cannot open the database: {e}"))?;
        let empty = service::is_empty(&db).await.map_err(|e| e.to_string())?;
        db.pool.close().await;
        if !empty {
            return Err(format!(
                "the database {} is not empty: restore into an empty one",
                target.display()
            ));
        }
    }
    std::fs::create_dir_all(target.parent().unwrap_or(data_dir)).map_err(|e| e.to_string())?;
    let temp = target.with_extension("restoring");
    let (source, copy) = (from.join(SQLITE_FILE), temp.clone());
    tokio::task::spawn_blocking(move || {
        let mut input = open_sealed(seal.as_deref(), &source)?;
        let mut out = std::fs::File::create(&copy)?;
        std::io::copy(&mut input, &mut out).map(drop)
    })
    .await
    .map_err(|e| e.to_string())?
    .map_err(|e| format!("cannot copy the database: {e}"))?;
    std::fs::File::open(&temp)
        .and_then(|f| f.sync_all())
        .map_err(|e| e.to_string())?;
    for stale in ["-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{stale}", target.display()));
    }
    std::fs::rename(&temp, &target).map_err(|e| format!("cannot put the database in place: {e}"))
}

/// The file of a `sqlite://path?options` URL.
pub(crate) fn sqlite_path(url: &str) -> Result<PathBuf, String> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
        .ok_or_else(|| format!("not a SQLite URL: {url}"))?;
    Ok(PathBuf::from(rest.split('?').next().unwrap_or(rest)))
}
