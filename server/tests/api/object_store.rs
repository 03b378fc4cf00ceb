//! Photos in S3-compatible object storage, against a real S3 server: s3s-fs
//! (crates.io, installed by the test command), which checks SigV4 signatures
//! and speaks multipart. Two stores on one bucket stand for two processes that
//! share no disk: an upload begun on one, with bytes the database never
//! acknowledged left behind, resumes on the other; the photo is judged, its
//! derivatives written, and its original streams back byte for byte. The store
//! carries the identity marker, and a backup taken from it restores into
//! another prefix.
//!
//! One file (about 405 lines): the tests share the s3s-fs server they start
//! and the helpers that read its directory.

use crate::helpers::{TestApp, TestEngine};
use crate::uploads::{field, header};
use app::photos::s3::{S3Location, S3Store};
use app::photos::storage::{PhotoStorage, Photos};
use sha2::Digest;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

const BUCKET: &str = "khaosat";
const KEY: &str = "khaosat-test-key";
const SECRET: &str = "khaosat-test-secret-0123456789";

/// An s3s-fs server of this test: its own directory and port, killed on drop.
pub(crate) struct S3Server {
    child: Child,
    port: u16,
    root: tempfile::TempDir,
}

impl S3Server {
    pub(crate) fn start() -> S3Server {
        let binary = std::env::var("KHAOSAT_TEST_S3FS").unwrap_or_else(|_| "s3s-fs".into());
        let root = tempfile::tempdir().unwrap();
        // s3s-fs keeps a bucket as a directory of its root.
        std::fs::create_dir(root.path().join(BUCKET)).unwrap();
        let port = crate::helpers::free_port();
        let child = Command::new(&binary)
            .args(["--host", "127.0.0.1", "--port", &port.to_string()])
            .args(["--access-key", KEY, "--secret-key", SECRET])
            .arg(root.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot start {binary} ({e}): scripts/test.sh installs it (cargo install s3s-fs)")
            });
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "s3s-fs did not listen within 30 s"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        S3Server { child, port, root }
    }

    pub(crate) fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// A client of the bucket under `prefix` (each call: a process of its own).
    pub(crate) fn store(&self, prefix: &str) -> Arc<S3Store> {
        let location = S3Location::parse(&format!("s3://{BUCKET}/{prefix}")).unwrap();
        Arc::new(
            S3Store::with_credentials(location, &self.endpoint(), "us-east-1", KEY, SECRET)
                .unwrap(),
        )
    }

    /// The `AWS_*` variables a `khaosat serve --photo-store s3://…` needs.
    pub(crate) fn env(&self, endpoint: &str) -> Vec<(&'static str, String)> {
        vec![
            ("AWS_ENDPOINT_URL", endpoint.to_string()),
            ("AWS_ALLOW_HTTP", "true".into()),
            ("AWS_REGION", "us-east-1".into()),
            ("AWS_ACCESS_KEY_ID", KEY.into()),
            ("AWS_SECRET_ACCESS_KEY", SECRET.into()),
        ]
    }

    /// Files s3s-fs holds under `prefix/uploads` (partial uploads left behind).
    fn leftover_uploads(&self, prefix: &str) -> usize {
        let dir = self.root.path().join(BUCKET).join(prefix).join("uploads");
        walk(&dir)
    }
}

fn walk(dir: &std::path::Path) -> usize {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .map(|e| {
                    if e.path().is_dir() {
                        walk(&e.path())
                    } else {
                        1
                    }
                })
                .sum()
        })
        .unwrap_or(0)
}

impl Drop for S3Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A JPEG of noise (it does not compress): `side`² pixels, about 1.1 MB at
/// 1000 and quality 90, over one 5 MiB part at 2200.
pub(crate) fn noise_jpeg(side: u32, quality: u8) -> Vec<u8> {
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let img = image::RgbImage::from_fn(side, side, |_, _| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        image::Rgb([state as u8, (state >> 8) as u8, (state >> 16) as u8])
    });
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, quality)
        .encode_image(&img)
        .unwrap();
    out
}

fn sha256(bytes: &[u8]) -> String {
    hex::encode(sha2::Sha256::digest(bytes))
}

async fn an_upload_resumes_on_another_process_through_object_storage(app: TestApp) {
    let s3 = S3Server::start();
    let (first, second) = (s3.store("bac-ninh"), s3.store("bac-ninh"));
    let on_first = app.router_with_photos(Photos::with_storage(first.clone()));
    let on_second = app.router_with_photos(Photos::with_storage(second.clone()));
    let mut f = field(&app, "ksv1").await;
    let bytes = noise_jpeg(2200, 85);
    assert!(bytes.len() > 5 * 1024 * 1024 + 1, "{}", bytes.len());
    let photo = f.attach(&app, &bytes, serde_json::json!({})).await;

    // Three chunks on the first process.
    let r = f.create(&photo, bytes.len()).send(&on_first).await;
    assert_eq!(r.status, 201, "{}", r.text());
    let url = header(&r, "location");
    let chunk = 1024 * 1024;
    for i in 0..3 {
        let r = f
            .patch(&url, i * chunk, &bytes[i * chunk..(i + 1) * chunk])
            .send(&on_first)
            .await;
        assert_eq!(r.status, 204, "{}", r.text());
    }
    // The first process wrote half a block more and died before acknowledging it.
    let id = url.rsplit('/').next().unwrap().to_string();
    let acked = 3 * chunk;
    let junk = vec![0xAB; 300 * 1024];
    let store = first.clone();
    let upload = id.clone();
    tokio::task::spawn_blocking(move || store.write_partial(&upload, acked as u64, &junk))
        .await
        .unwrap()
        .unwrap();
    drop(on_first);

    // The phone asks the other process where to go on, and finishes there.
    let r = f.head_on(&on_second, &url).await;
    assert_eq!(header(&r, "upload-offset"), acked.to_string());
    let mut offset = acked;
    while offset < bytes.len() {
        let end = (offset + chunk).min(bytes.len());
        let r = f
            .patch(&url, offset, &bytes[offset..end])
            .send(&on_second)
            .await;
        assert_eq!(r.status, 204, "{}", r.text());
        offset = end;
    }
    let got = f.photo(&app, &photo).await;
    assert_eq!(got["status"], "ok", "{got}");
    assert_eq!(
        s3.leftover_uploads("bac-ninh"),
        0,
        "the upload's parts are gone"
    );

    // Originals and derivatives are in the bucket, once each, by content hash.
    let store = second.clone();
    let keys = tokio::task::spawn_blocking(move || store.list())
        .await
        .unwrap()
        .unwrap();
    let hash = sha256(&bytes);
    for kind in ["original/", "display/", "thumb/"] {
        assert_eq!(
            keys.iter()
                .filter(|k| k.starts_with(kind) && k.contains(&hash))
                .count(),
            1,
            "{kind} in {keys:?}"
        );
    }
    // The original streams back, byte for byte.
    let r = crate::security::req("GET", &format!("/api/photos/{photo}/original"))
        .cookie(Some(&f.phone.cookie))
        .send(&on_second)
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(sha256(&r.body), hash);
    let r = crate::security::req("GET", &format!("/api/photos/{photo}/thumb"))
        .cookie(Some(&f.phone.cookie))
        .send(&on_second)
        .await;
    assert_eq!(r.status, 200);
    assert!(r.body.starts_with(&[0xFF, 0xD8]), "a JPEG thumbnail");
    // The office's photo ZIP streams it from the bucket, CRC and all.
    let (boss, _) = app.login("giamsat").await;
    let r = crate::security::req(
        "GET",
        &format!(
            "/api/exports/photos.zip?proposal={}",
            crate::helpers::demo_proposal("213")
        ),
    )
    .cookie(Some(&boss))
    .send(&on_second)
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(r.body)).unwrap();
    let mut found = false;
    for i in 0..zip.len() {
        let mut entry = zip.by_index(i).unwrap();
        let mut data = Vec::new();
        std::io::Read::read_to_end(&mut entry, &mut data).unwrap();
        found |= sha256(&data) == hash;
    }
    assert!(found, "the photo is in the ZIP whole");
}

async fn the_bucket_carries_the_identity_and_a_backup_restores_into_another_prefix(app: TestApp) {
    let s3 = S3Server::start();
    let store = s3.store("tinh");
    // The database was started with a local directory: an unmarked bucket is refused.
    let refused = server::startup::check_photo_store(&app.db, store.clone())
        .await
        .unwrap_err();
    assert!(refused.contains("s3://khaosat/tinh"), "{refused}");
    // Marked as the database's store (what a restore does), it is accepted…
    let id = app::store::service::photo_store_id(&app.db)
        .await
        .unwrap()
        .expect("the database has a store id");
    let marking = store.clone();
    let mark = id.clone();
    tokio::task::spawn_blocking(move || marking.set_identity(&mark))
        .await
        .unwrap()
        .unwrap();
    server::startup::check_photo_store(&app.db, store.clone())
        .await
        .unwrap();
    // s3s-fs checks signatures: a client with the wrong secret gets nothing.
    let forged = Arc::new(
        S3Store::with_credentials(
            S3Location::parse("s3://khaosat/tinh").unwrap(),
            &s3.endpoint(),
            "us-east-1",
            KEY,
            "not-the-secret",
        )
        .unwrap(),
    );
    tokio::task::spawn_blocking(move || forged.identity())
        .await
        .unwrap()
        .expect_err("a request signed with the wrong secret is refused");
    // …and another prefix of the same bucket is not.
    let other = s3.store("tinh-khac");
    let refused = server::startup::check_photo_store(&app.db, other.clone())
        .await
        .unwrap_err();
    assert!(refused.contains("tinh-khac"), "{refused}");

    // A photo uploaded into the bucket, backed up from it and restored into
    // another prefix for a fresh database.
    let router = app.router_with_photos(Photos::with_storage(store.clone()));
    let mut f = field(&app, "ksv1").await;
    let bytes = crate::uploads::marked_jpeg(900, 600);
    let photo = f.attach(&app, &bytes, serde_json::json!({})).await;
    let r = f.create(&photo, bytes.len()).send(&router).await;
    let url = header(&r, "location");
    let r = f.patch(&url, 0, &bytes).send(&router).await;
    assert_eq!(r.status, 204, "{}", r.text());
    assert_eq!(f.photo(&app, &photo).await["status"], "ok");
    let to = tempfile::tempdir().unwrap();
    let target = to.path().join("backup");
    let manifest = server::backup::backup(&app.db, &app.url, store.clone(), &target, None)
        .await
        .unwrap();
    assert_eq!(manifest.photos.len(), 3, "{:?}", manifest.photos);
    let engine = match app.db.engine {
        app::store::Engine::Sqlite => TestEngine::Sqlite,
        app::store::Engine::Postgres => TestEngine::Postgres,
    };
    let (dir, url, _pg) = crate::backup::fresh(engine).await;
    let restored_store = s3.store("khoi-phuc");
    server::backup::restore(&target, &url, dir.path(), restored_store.clone(), None)
        .await
        .unwrap();
    let restored = restored_store.clone();
    let entries = manifest.photos.clone();
    tokio::task::spawn_blocking(move || {
        assert_eq!(
            restored.list().unwrap(),
            entries.iter().map(|e| e.key.clone()).collect::<Vec<_>>()
        );
        for entry in entries {
            assert_eq!(sha256(&restored.get(&entry.key).unwrap()), entry.sha256);
        }
        assert_eq!(restored.identity().unwrap(), Some(id));
    })
    .await
    .unwrap();
}

/// A restarted `finish` tells an upload whose bytes an earlier one moved
/// into storage (a stop between the move and its database write) by its
/// partial reading as NotFound. S3 answered an empty stream instead: the
/// restart hashed nothing, called it a mismatch, ended the upload, and the
/// photo stayed waiting for good. Both stores now agree.
#[test]
fn a_promoted_or_unknown_upload_reads_as_not_found_on_both_stores() {
    let s3 = S3Server::start();
    let dir = tempfile::tempdir().unwrap();
    let stores: Vec<Arc<dyn PhotoStorage>> = vec![
        s3.store("not-found"),
        Arc::new(app::photos::storage::LocalDisk::new(dir.path()).unwrap()),
    ];
    for store in stores {
        let gone = |id: &str| matches!(store.read_partial(id), Err(e) if e.kind() == std::io::ErrorKind::NotFound);
        assert!(gone("never-created"), "{}", store.describe());
        store.write_partial("u1", 0, b"abc").unwrap();
        assert!(!gone("u1"), "{}", store.describe());
        store.promote_partial("u1", "original/x.jpg").unwrap();
        assert!(gone("u1"), "{}", store.describe());
        assert_eq!(store.get("original/x.jpg").unwrap(), b"abc");
    }
    // A cleanup after a promotion cut short: the first block deleted, the
    // later ones left. The finish must see the upload as gone (and find the
    // stored original), not a gap that fails every HEAD until it expires.
    let store = s3.store("cut-short");
    store.write_partial("u2", 0, b"abc").unwrap();
    store.write_partial("u2", 3, b"def").unwrap();
    let blocks: Vec<std::path::PathBuf> = files_under(s3.root.path())
        .into_iter()
        .filter(|p| p.parent().is_some_and(|d| d.ends_with("uploads/u2")))
        .filter(|p| {
            p.file_name()
                .unwrap()
                .to_str()
                .unwrap()
                .parse::<u64>()
                .is_ok()
        })
        .collect();
    assert_eq!(blocks.len(), 2, "{blocks:?}");
    let first = blocks
        .iter()
        .min_by_key(|p| {
            p.file_name()
                .unwrap()
                .to_str()
                .unwrap()
                .parse::<u64>()
                .unwrap()
        })
        .unwrap();
    std::fs::remove_file(first).unwrap();
    let read = store.read_partial("u2").map(|_| ());
    assert!(
        matches!(&read, Err(e) if e.kind() == std::io::ErrorKind::NotFound),
        "{:?}",
        read.err()
    );
}

/// Every file under `dir`.
fn files_under(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(files_under(&path));
        } else {
            files.push(path);
        }
    }
    files
}

crate::engine_tests!(
    an_upload_resumes_on_another_process_through_object_storage,
    the_bucket_carries_the_identity_and_a_backup_restores_into_another_prefix,
);
