//! `khaosat backup` and `khaosat restore` on each engine: a realistic data set
//! (visits, photos through tus, a conflict, a recommendation), a backup taken
//! while a phone keeps pushing new visits, and a restore into a fresh engine
//! and an empty photo store where every record and every photo hash is equal.

use crate::helpers::{app_over, demo_proposal, PostgresDatabase, TestApp, TestEngine};
use crate::phone::{statuses, Phone};
use crate::uploads::{field, marked_jpeg};
use serde_json::{json, Value};
use server::backup::Passphrase;
use sha2::Digest;
use std::collections::BTreeMap;
use std::sync::Arc;

/// Everything an inspector pulls and a supervisor reads, keyed by record.
async fn records(app: &TestApp) -> BTreeMap<String, Value> {
    let (cookie, _) = app.login("ksv1").await;
    let mut out = BTreeMap::new();
    for change in app.pull_all(&cookie).await {
        let id = change["record"]["id"]
            .as_str()
            .or(change["record_id"].as_str())
            .unwrap_or_default();
        let key = format!("{}/{id}", change["entity"].as_str().unwrap_or_default());
        out.insert(key, change);
    }
    let (office, _) = app.login("giamsat").await;
    let list = app.get("/api/exports/visits.csv", Some(&office)).await;
    assert_eq!(list.status, 200, "{}", list.text());
    out.insert("office/visits.csv".into(), Value::String(list.text()));
    out
}

/// A fresh engine of the same kind, empty, with an empty photo directory.
pub(crate) async fn fresh(
    engine: TestEngine,
) -> (tempfile::TempDir, String, Option<PostgresDatabase>) {
    let dir = tempfile::tempdir().unwrap();
    match engine {
        TestEngine::Sqlite => {
            let url = format!("sqlite://{}", dir.path().join("khaosat.db").display());
            (dir, url, None)
        }
        TestEngine::Postgres => {
            let (pg, url) = PostgresDatabase::create_empty().await;
            (dir, url, Some(pg))
        }
    }
}

pub(crate) async fn restored(
    from: &std::path::Path,
    engine: TestEngine,
    passphrase: Option<&Passphrase>,
) -> (TestApp, server::backup::Manifest) {
    let (dir, url, pg) = fresh(engine).await;
    let photos =
        Arc::new(app::photos::storage::Photos::on_disk(dir.path().join("photos")).unwrap());
    if let Some(given) = passphrase {
        // The wrong passphrase first: refused before anything is written.
        let wrong = Passphrase::new("không phải mật khẩu này").unwrap();
        let refused =
            server::backup::restore(from, &url, dir.path(), photos.storage.clone(), Some(&wrong))
                .await
                .unwrap_err();
        assert_eq!(refused, "the passphrase does not open this backup");
        let refused = server::backup::restore(from, &url, dir.path(), photos.storage.clone(), None)
            .await
            .unwrap_err();
        assert!(refused.contains("encrypted"), "{refused}");
        let _ = given;
    }
    let manifest =
        server::backup::restore(from, &url, dir.path(), photos.storage.clone(), passphrase)
            .await
            .unwrap();
    let db = server::startup::open_database(dir.path(), &url)
        .await
        .unwrap();
    server::startup::check_photo_store(&db, photos.storage.clone())
        .await
        .expect("the restored store is the restored database's");
    (app_over(db, url, photos, dir, pg), manifest)
}

async fn a_backup_taken_during_pushes_restores_every_record_and_photo(app: TestApp) {
    let engine = match app.db.engine {
        app::store::Engine::Sqlite => TestEngine::Sqlite,
        app::store::Engine::Postgres => TestEngine::Postgres,
    };
    // Visits with photos, uploaded and judged.
    let mut inspector = field(&app, "ksv1").await;
    let jpeg = marked_jpeg(640, 480);
    let photo = inspector.attach(&app, &jpeg, json!({})).await;
    let done = inspector.upload(&app, &photo, &jpeg, 100_000).await;
    assert_eq!(done.status, 204);
    // A second phone edits the same field: a kept conflict.
    let mut other = Phone::login(&app, "ksv1").await;
    let edit = other.mutation(
        "visit",
        "upsert",
        &inspector.visit,
        json!({"workforce": 31}),
        1,
    );
    let mine = inspector.phone.mutation(
        "visit",
        "upsert",
        &inspector.visit,
        json!({"workforce": 30}),
        1,
    );
    inspector.phone.push_ok(&app, &[mine]).await;
    other.push_ok(&app, &[edit]).await;
    let before = records(&app).await;

    // The backup runs while the phone keeps pushing new visits.
    let to = tempfile::tempdir().unwrap();
    let target = to.path().join("backup");
    let storage = app.state.photos.storage.clone();
    let stop = std::cell::Cell::new(false);
    let pushing = async {
        let mut phone = Phone::login(&app, "ksv1").await;
        let mut pushed = 0;
        while !stop.get() || pushed < 3 {
            let m = phone.new_visit(
                &uuid::Uuid::now_v7().to_string(),
                &demo_proposal("213"),
                json!({"workforce": pushed}),
            );
            assert_eq!(statuses(&phone.push_ok(&app, &[m]).await), ["applied"]);
            pushed += 1;
            tokio::task::yield_now().await;
        }
        pushed
    };
    let backing_up = async {
        let manifest = server::backup::backup(&app.db, &app.url, storage, &target, None)
            .await
            .unwrap();
        stop.set(true);
        manifest
    };
    let (manifest, pushed) = tokio::join!(backing_up, pushing);
    assert!(pushed >= 3);
    assert!(
        manifest
            .photos
            .iter()
            .any(|p| p.key.starts_with("original/")),
        "{:?}",
        manifest.photos
    );
    let after = records(&app).await;

    // Restored into a fresh engine: what was there before the backup is all
    // there, unchanged, and nothing is there that the source never had.
    let (copy, _) = restored(&target, engine, None).await;
    let got = records(&copy).await;
    for (key, value) in &before {
        if key != "office/visits.csv" {
            assert_eq!(got.get(key), Some(value), "{key}");
        }
    }
    for (key, value) in &got {
        if key != "office/visits.csv" {
            assert_eq!(
                after.get(key),
                Some(value),
                "{key} restored but not in the source"
            );
        }
    }
    // The photo's bytes come back whole from the restored store.
    let (cookie, _) = copy.login("ksv1").await;
    let original = copy
        .get(&format!("/api/photos/{photo}/original"), Some(&cookie))
        .await;
    assert_eq!(original.status, 200);
    assert_eq!(
        hex::encode(sha2::Sha256::digest(&original.body)),
        hex::encode(sha2::Sha256::digest(&jpeg))
    );

    // Once the pushes have stopped, a second backup restores to exactly the source.
    let second = to.path().join("second");
    let written = server::backup::backup(
        &app.db,
        &app.url,
        app.state.photos.storage.clone(),
        &second,
        None,
    )
    .await
    .unwrap();
    assert_eq!(
        written.records,
        app::store::service::record_counts(&app.db).await.unwrap()
    );
    let (copy, manifest) = restored(&second, engine, None).await;
    assert_eq!(manifest, written);
    assert_eq!(records(&copy).await, records(&app).await);

    // Encrypted with a passphrase: no plaintext in the backup (nor left beside
    // the live database), and it restores to the same records and photos.
    let sealed = to.path().join("sealed");
    let passphrase = Passphrase::new("mật khẩu sao lưu của tỉnh 2026").unwrap();
    let encrypted = server::backup::backup(
        &app.db,
        &app.url,
        app.state.photos.storage.clone(),
        &sealed,
        Some(&passphrase),
    )
    .await
    .unwrap();
    assert!(encrypted.encrypted);
    assert_eq!(encrypted.photos, written.photos);
    let database = std::fs::read(sealed.join(&encrypted.database)).unwrap();
    assert!(database.starts_with(b"age-encryption.org/v1"));
    let original = encrypted
        .photos
        .iter()
        .find(|p| p.key.starts_with("original/"))
        .unwrap();
    let stored = std::fs::read(sealed.join("photos").join(&original.key)).unwrap();
    assert!(stored.starts_with(b"age-encryption.org/v1"));
    assert!(!stored
        .windows(64)
        .any(|w| jpeg.windows(64).next() == Some(w)));
    let live = app
        .url
        .strip_prefix("sqlite://")
        .map(|path| std::path::Path::new(path).parent().unwrap().to_path_buf());
    let beside: Vec<String> = live
        .iter()
        .flat_map(|dir| std::fs::read_dir(dir).unwrap())
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".backup-"))
        .collect();
    assert!(beside.is_empty(), "plaintext left behind: {beside:?}");
    let (copy, manifest) = restored(&sealed, engine, Some(&passphrase)).await;
    assert_eq!(manifest, encrypted);
    assert_eq!(records(&copy).await, records(&app).await);
    let (_, mut reader) = copy.state.photos.storage.open(&original.key).unwrap();
    let mut bytes = Vec::new();
    std::io::Read::read_to_end(&mut reader, &mut bytes).unwrap();
    assert_eq!(hex::encode(sha2::Sha256::digest(&bytes)), original.sha256);

    // A damaged photo in a backup is refused by name, and nothing is half restored into a store.
    let entry = manifest
        .photos
        .iter()
        .find(|p| p.key.starts_with("original/"))
        .unwrap();
    std::fs::write(second.join("photos").join(&entry.key), b"not the photo").unwrap();
    let (dir, url, _pg) = fresh(engine).await;
    let photos = app::photos::storage::Photos::on_disk(dir.path().join("photos")).unwrap();
    let refused = server::backup::restore(&second, &url, dir.path(), photos.storage.clone(), None)
        .await
        .unwrap_err();
    assert!(
        refused.contains(&entry.key) && refused.contains("damaged"),
        "{refused}"
    );
    // Refused before anything was written: the same empty target then takes
    // a good backup (the sealed one) without being cleaned by hand.
    assert_eq!(photos.storage.list().unwrap(), Vec::<String>::new());
    server::backup::restore(
        &sealed,
        &url,
        dir.path(),
        photos.storage.clone(),
        Some(&passphrase),
    )
    .await
    .expect("a good backup restores where a damaged one was refused");
    // A restore never writes over a database that has data.
    let refused = server::backup::restore(
        &sealed,
        &app.url,
        dir.path(),
        Arc::new(app::photos::storage::LocalDisk::new(dir.path().join("other")).unwrap()),
        Some(&passphrase),
    )
    .await
    .unwrap_err();
    assert!(refused.contains("not empty"), "{refused}");
}

crate::engine_tests!(a_backup_taken_during_pushes_restores_every_record_and_photo);
