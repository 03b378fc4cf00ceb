//! `POST /api/sync/import` with the phone's backup archive (a stored ZIP): it
//! replays like the JSON file, a second import is all duplicates, and a damaged
//! archive is refused with the reason and changes nothing.

use crate::helpers::{demo_proposal, TestApp};
use crate::phone::{statuses, Phone};
use crate::security::{expect_error, ok, req};
use app::sync::archive::{write_archive, Manifest, ARCHIVE_FORMAT, ARCHIVE_VERSION};
use serde_json::json;

fn archive(phone: &Phone, mutations: &[serde_json::Value]) -> Vec<u8> {
    let (manifest, mutations) = manifest(phone, mutations, vec![]);
    write_archive(&manifest, &mutations)
}

/// A phone's manifest for `mutations` and `photos`, and the mutations typed.
fn manifest(
    phone: &Phone,
    mutations: &[serde_json::Value],
    photos: Vec<app::sync::archive::PhotoEntry>,
) -> (Manifest, Vec<app::sync::Mutation>) {
    let mutations: Vec<app::sync::Mutation> = mutations
        .iter()
        .map(|m| serde_json::from_value(m.clone()).unwrap())
        .collect();
    let manifest = Manifest {
        format: ARCHIVE_FORMAT.into(),
        version: ARCHIVE_VERSION,
        schema_version: app::sync::MUTATION_SCHEMA_VERSION,
        device_id: phone.device.parse().unwrap(),
        username: Some("ksv1".into()),
        exported_at_ms: Some(1),
        mutations: mutations.len() as u64,
        first_seq: mutations.first().map(|m| m.seq),
        last_seq: mutations.last().map(|m| m.seq),
        photos,
    };
    (manifest, mutations)
}

async fn a_backup_archive_imports_once_and_a_damaged_one_changes_nothing(app: TestApp) {
    let mut phone = Phone::login(&app, "ksv1").await;
    let visit = uuid::Uuid::now_v7().to_string();
    let first = phone.new_visit(&visit, &demo_proposal("213"), json!({"workforce": 25}));
    let second = phone.mutation(
        "visit",
        "upsert",
        &visit,
        json!({"main_products": "Nồi hơi"}),
        0,
    );
    let bytes = archive(&phone, &[first, second]);
    let send = |body: Vec<u8>| {
        req("POST", "/api/sync/import")
            .bytes("application/zip", body)
            .cookie(Some(&phone.cookie))
            .send(&app.router)
    };

    // Bytes that are not a ZIP at all, sent as one: 422, not a JSON complaint.
    let r = send(b"\x89PNG\r\n\x1a\n not a backup".to_vec()).await;
    expect_error(&r, 422, "import.bad_archive");
    assert_eq!(r.json()["params"]["reason"], "not_zip", "{}", r.text());

    let mut damaged = bytes.clone();
    let at = damaged.len() / 3;
    damaged[at] ^= 0x01;
    let before = app.counts().await;
    let r = send(damaged).await;
    expect_error(&r, 422, "import.bad_archive");
    assert!(
        r.json()["params"]["detail"]
            .as_str()
            .unwrap()
            .contains("damaged"),
        "{}",
        r.text()
    );
    // What the phone shows in the reader's language, without the detail.
    assert_eq!(r.json()["params"]["reason"], "damaged", "{}", r.text());
    assert_eq!(
        app.counts().await,
        before,
        "nothing applied from a damaged archive"
    );

    let once = ok(&send(bytes.clone()).await);
    assert_eq!(
        statuses(once["results"].as_array().unwrap()),
        ["applied", "applied"]
    );
    let twice = ok(&send(bytes).await);
    assert_eq!(
        statuses(twice["results"].as_array().unwrap()),
        ["duplicate", "duplicate"]
    );

    let (supervisor, _) = app.login("giamsat").await;
    let list = ok(&crate::security::rpc("list_visits", json!({}))
        .cookie(Some(&supervisor))
        .send(&app.router)
        .await);
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(list[0]["answers"], 2);
}

/// A phone that could not upload (revoked, or never online again) gives its
/// photos to the backup: the import completes them, judged like an upload.
async fn a_backup_archive_brings_the_photos_the_phone_could_not_send(app: TestApp) {
    let mut phone = Phone::login(&app, "ksv1").await;
    let visit = uuid::Uuid::now_v7().to_string();
    let photo = uuid::Uuid::now_v7().to_string();
    let bytes = crate::uploads::marked_jpeg(300, 200);
    let sha = crate::uploads::sha256_hex(&bytes);
    let first = phone.new_visit(&visit, &demo_proposal("213"), json!({"workforce": 25}));
    let attach = phone.mutation(
        "photo",
        "upsert",
        &photo,
        json!({
        "visit_id": visit, "field": "evidence_photos", "sha256": sha, "size": bytes.len(),
        "content_type": "image/jpeg", "caption": "Xưởng cơ khí"}),
        0,
    );
    let mutations: Vec<app::sync::Mutation> = [first, attach]
        .iter()
        .map(|m| serde_json::from_value(m.clone()).unwrap())
        .collect();
    let path = format!("photos/{sha}.jpg");
    let manifest = Manifest {
        format: ARCHIVE_FORMAT.into(),
        version: ARCHIVE_VERSION,
        schema_version: app::sync::MUTATION_SCHEMA_VERSION,
        device_id: phone.device.parse().unwrap(),
        username: Some("ksv1".into()),
        exported_at_ms: Some(1),
        mutations: 2,
        first_seq: Some(1),
        last_seq: Some(2),
        photos: vec![app::sync::archive::PhotoEntry {
            sha256: sha.clone(),
            path: path.clone(),
            size: bytes.len() as u64,
        }],
    };
    let zip = app::sync::archive::write_archive_with_photos(
        &manifest,
        &mutations,
        &[(path.as_str(), bytes.as_slice())],
    );
    // The phone never got online again: it is revoked, and a supervisor
    // imports its backup.
    app::store::accounts::revoke_device(&app.db, &Default::default(), &phone.device)
        .await
        .unwrap();
    let (supervisor, _) = app.login("giamsat").await;
    let r = req("POST", "/api/sync/import")
        .bytes("application/zip", zip.clone())
        .cookie(Some(&supervisor))
        .send(&app.router)
        .await;
    let body = ok(&r);
    assert_eq!(body["photos"], 1, "{body}");
    let got = app
        .get(&format!("/api/photos/{photo}"), Some(&supervisor))
        .await
        .json();
    assert_eq!(got["status"], "ok", "{got}");
    assert_eq!(got["caption"], "Xưởng cơ khí");
    // Again: nothing left waiting, nothing stored twice.
    let r = req("POST", "/api/sync/import")
        .bytes("application/zip", zip)
        .cookie(Some(&supervisor))
        .send(&app.router)
        .await;
    assert_eq!(ok(&r)["photos"], 0);
}

/// A backup made after the inspector discarded kept changes carries what a
/// logout had queued of them as withdrawn changes (visit upserts without
/// fields, so the seqs run on). Imported after a send-back, they change
/// nothing, and the file's other changes apply.
async fn withdrawn_changes_in_a_backup_import_as_nothing(app: TestApp) {
    let mut phone = Phone::login(&app, "ksv1").await;
    let visit = uuid::Uuid::now_v7().to_string();
    let create = phone.new_visit(&visit, &demo_proposal("213"), json!({"workforce": 17}));
    let submit = phone.mutation(
        "visit",
        "submit",
        &visit,
        crate::phone::complete_answers(),
        0,
    );
    assert_eq!(
        statuses(&phone.push_ok(&app, &[create, submit]).await),
        ["applied", "applied"]
    );
    let (boss, _) = app.login("giamsat").await;
    let back = json!({"to": "needs_changes", "comment": "Bổ sung ảnh"});
    let r = app
        .post_json(&format!("/api/visits/{visit}/review"), Some(&boss), &back)
        .await;
    assert_eq!(r.status, axum::http::StatusCode::OK, "{}", r.text());
    let held = || async {
        app::store::visits::record(&app.db.pool, &visit)
            .await
            .unwrap()
            .unwrap()
            .0
    };
    let before = held().await;
    let withdrawn = phone.mutation("visit", "upsert", &visit, json!({}), 0);
    let other = uuid::Uuid::now_v7().to_string();
    let new_visit = phone.new_visit(&other, &demo_proposal("213"), json!({"workforce": 9}));
    let r = req("POST", "/api/sync/import")
        .bytes("application/zip", archive(&phone, &[withdrawn, new_visit]))
        .cookie(Some(&phone.cookie))
        .send(&app.router)
        .await;
    assert_eq!(
        statuses(ok(&r)["results"].as_array().unwrap()),
        ["applied", "applied"]
    );
    let after = held().await;
    assert_eq!(after.answers, before.answers);
    assert_eq!(after.versions, before.versions, "no answer written");
    assert_eq!(after.review_state, app::model::ReviewState::NeedsChanges);
}

/// An older JSON outbox file saved by an editor that writes a byte-order
/// mark was refused as malformed (the phone then said "not a backup").
async fn a_json_backup_with_a_byte_order_mark_imports(app: TestApp) {
    let mut phone = Phone::login(&app, "ksv1").await;
    let visit = uuid::Uuid::now_v7().to_string();
    let m = phone.new_visit(&visit, &demo_proposal("213"), json!({"workforce": 4}));
    let file = json!({
        "format": "khaosat-outbox", "schema_version": app::sync::MUTATION_SCHEMA_VERSION,
        "device_id": phone.device, "username": "ksv1", "mutations": [m]
    });
    let mut bytes = b"\xEF\xBB\xBF".to_vec();
    bytes.extend(serde_json::to_vec_pretty(&file).unwrap());
    let r = req("POST", "/api/sync/import")
        .bytes("application/json", bytes)
        .cookie(Some(&phone.cookie))
        .send(&app.router)
        .await;
    let body = ok(&r);
    assert_eq!(body["results"][0]["status"], "applied", "{body}");
}

/// A burst of backup files: each import holds its file in memory, so past
/// the process's few at once the next is told to come back (503 with
/// Retry-After), nothing of it stored; once one finishes it is taken.
async fn imports_past_the_few_at_once_are_told_to_come_back(app: TestApp) {
    let mut phone = Phone::login(&app, "ksv1").await;
    let visit = uuid::Uuid::now_v7().to_string();
    let m = phone.new_visit(&visit, &demo_proposal("213"), json!({"workforce": 6}));
    let bytes = archive(&phone, &[m]);
    let send = || {
        req("POST", "/api/sync/import")
            .bytes("application/zip", bytes.clone())
            .cookie(Some(&phone.cookie))
            .send(&app.router)
    };
    let running = app
        .state
        .runtime
        .imports
        .try_acquire_many(app::state::Runtime::MAX_IMPORTS as u32)
        .unwrap();
    let before = app.counts().await;
    let r = send().await;
    expect_error(&r, 503, "server.busy");
    assert_eq!(r.headers["retry-after"], "20");
    assert_eq!(
        app.counts().await,
        before,
        "a refused import stored something"
    );
    drop(running);
    let body = ok(&send().await);
    assert_eq!(body["results"][0]["status"], "applied", "{body}");
    assert_eq!(
        app.state.runtime.imports.available_permits(),
        app::state::Runtime::MAX_IMPORTS,
        "an import kept its permit"
    );
}

/// A phone offline for weeks holds more photo bytes than the old 64 MB
/// import limit: its backup was refused whole, typed answers included. The
/// server now spools the file to disk and reads one photo at a time.
async fn a_backup_past_64_mb_of_photos_imports_whole(app: TestApp) {
    let mut phone = Phone::login(&app, "ksv1").await;
    let visit = uuid::Uuid::now_v7().to_string();
    let mut mutations =
        vec![phone.new_visit(&visit, &demo_proposal("213"), json!({"workforce": 25}))];
    let mut photos: Vec<(String, Vec<u8>)> = Vec::new();
    let mut entries = Vec::new();
    // 36 photos of 2 MB: a JPEG with bytes after its end, as some cameras write.
    for i in 0..36u8 {
        let mut bytes = crate::uploads::marked_jpeg(300, 200);
        bytes.extend(std::iter::repeat_n(i, 2 << 20));
        let sha = crate::uploads::sha256_hex(&bytes);
        let id = uuid::Uuid::now_v7().to_string();
        mutations.push(phone.mutation(
            "photo",
            "upsert",
            &id,
            json!({"visit_id": visit, "field": "evidence_photos", "sha256": sha,
                   "size": bytes.len(), "content_type": "image/jpeg"}),
            0,
        ));
        let path = format!("photos/{sha}.jpg");
        entries.push(app::sync::archive::PhotoEntry {
            sha256: sha,
            path: path.clone(),
            size: bytes.len() as u64,
        });
        photos.push((path, bytes));
    }
    let (manifest, mutations) = manifest(&phone, &mutations, entries);
    let pieces: Vec<(&str, &[u8])> = photos
        .iter()
        .map(|(p, b)| (p.as_str(), b.as_slice()))
        .collect();
    let zip = app::sync::archive::write_archive_with_photos(&manifest, &mutations, &pieces);
    assert!(zip.len() > 64 << 20, "{} bytes", zip.len());
    app::store::accounts::revoke_device(&app.db, &Default::default(), &phone.device)
        .await
        .unwrap();
    let (supervisor, _) = app.login("giamsat").await;
    let r = req("POST", "/api/sync/import")
        .bytes("application/zip", zip)
        .cookie(Some(&supervisor))
        .send(&app.router)
        .await;
    let body = ok(&r);
    assert_eq!(body["photos"], 36, "{body}");
    assert!(
        body["results"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["status"] == "applied"),
        "{body}"
    );
}

crate::engine_tests!(
    a_backup_past_64_mb_of_photos_imports_whole,
    imports_past_the_few_at_once_are_told_to_come_back,
    a_json_backup_with_a_byte_order_mark_imports,
    withdrawn_changes_in_a_backup_import_as_nothing,
    a_backup_archive_imports_once_and_a_damaged_one_changes_nothing,
    a_backup_archive_brings_the_photos_the_phone_could_not_send,
);
