//! OfflineDb against real IndexedDB in headless Chromium (wasm-bindgen-test).
//! Run: cargo test -p app --features hydrate --target wasm32-unknown-unknown --test offline_db
//!
//! One file (about 1,600 lines): wasm-bindgen tests share one browser session and its database helpers; a second file would start another.
#![cfg(all(target_arch = "wasm32", feature = "hydrate"))]

use app::field::offline::{OfflineDb, Session};
use app::field::visits::local::{save, LocalVisit, SyncState};
use app::model::{Role, UserInfo};
use app::sync::Hlc;
use serde_json::json;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

fn fresh_name(test: &str) -> String {
    format!("khaosat-test-{test}-{}", js_sys::Math::random())
}

fn visit(id: &str) -> LocalVisit {
    LocalVisit::new(
        id.into(),
        "khuyen-cong".into(),
        1,
        Some("p1".into()),
        Some("f1".into()),
        "ksv1".into(),
        1_000,
    )
}

/// ksv1 on `device`.
fn session_on(device: &str) -> Session {
    Session {
        user: UserInfo {
            id: "u1".into(),
            username: "ksv1".into(),
            display_name: "KSV 1".into(),
            roles: vec![Role::Inspector],
            units: vec!["213".into()],
        },
        device_id: device.into(),
        must_change_password: false,
        account_disabled: false,
    }
}

#[wasm_bindgen_test]
async fn a_draft_put_is_read_back_exactly() {
    let db = OfflineDb::open_named(&fresh_name("draft")).await.unwrap();
    let mut v = visit("01900000-0000-7000-8000-000000000001");
    v.answers
        .insert("main_products".into(), json!("Mộc mỹ nghệ Lục Ngạn"));
    v.focus = Some("main_products".into());
    db.put_draft("u1", &v).await.unwrap();
    assert_eq!(db.visit("u1", &v.id).await.unwrap(), Some(v.clone()));
    // Another user on the same phone does not see it.
    assert_eq!(db.visit("u2", &v.id).await.unwrap(), None);
    assert!(db.visits("u2").await.unwrap().is_empty());
}

#[wasm_bindgen_test]
async fn a_save_writes_visit_outbox_and_seq_together() {
    let db = OfflineDb::open_named(&fresh_name("save")).await.unwrap();
    let mut v = visit("01900000-0000-7000-8000-000000000002");
    v.answers.insert("workforce".into(), json!(25));
    v.answers.insert("main_products".into(), json!("Nồi hơi"));
    let mut clock = Hlc::default();
    let (saved, entries) = save(
        &v,
        "dev-1",
        db.last_seq("dev-1").await.unwrap() + 1,
        &mut clock,
        2_000,
    );
    db.save_visit("u1", &saved, &entries, "dev-1", clock)
        .await
        .unwrap();

    let outbox = db.outbox("dev-1", 100).await.unwrap();
    assert_eq!(
        outbox.iter().map(|e| e.mutation.seq).collect::<Vec<_>>(),
        vec![1, 2]
    );
    assert_eq!(db.last_seq("dev-1").await.unwrap(), 2);
    assert_eq!(
        db.visit("u1", &v.id).await.unwrap().unwrap().sync_state,
        SyncState::Queued
    );
    assert_eq!(db.hlc().await.unwrap(), clock);
    // Another device's queue is separate.
    assert!(db.outbox("dev-2", 100).await.unwrap().is_empty());
}

#[wasm_bindgen_test]
async fn data_survives_closing_and_reopening_the_database() {
    let name = fresh_name("reopen");
    let v = visit("01900000-0000-7000-8000-000000000003");
    {
        let db = OfflineDb::open_named(&name).await.unwrap();
        let mut clock = Hlc::default();
        let mut draft = v.clone();
        draft.answers.insert("workforce".into(), json!(12));
        let (saved, entries) = save(&draft, "dev-1", 1, &mut clock, 2_000);
        db.save_visit("u1", &saved, &entries, "dev-1", clock)
            .await
            .unwrap();
        db.set_session(&Session {
            user: UserInfo {
                id: "u1".into(),
                username: "ksv1".into(),
                display_name: "Trần Văn Hùng".into(),
                roles: vec![Role::Inspector],
                units: vec!["213".into()],
            },
            device_id: "dev-1".into(),
            must_change_password: false,
            account_disabled: false,
        })
        .await
        .unwrap();
        db.close();
    }
    let db = OfflineDb::open_named(&name).await.unwrap();
    let reopened = db.visit("u1", &v.id).await.unwrap().unwrap();
    assert_eq!(reopened.answers["workforce"], json!(12));
    assert_eq!(db.outbox_len("dev-1").await.unwrap(), 1);
    assert_eq!(db.last_seq("dev-1").await.unwrap(), 1);
    assert_eq!(
        db.session().await.unwrap().unwrap().user.display_name,
        "Trần Văn Hùng"
    );
}

/// A visit made elsewhere arrives in the same pull page as its proposal; a
/// later page takes the proposal away (its year closed). The visit keeps the
/// proposal's title for the home list.
#[wasm_bindgen_test]
async fn a_visit_keeps_its_proposals_title_after_the_proposal_leaves() {
    use app::model::{Proposal, VisitRecord};
    use app::sync::{Change, DeletedRecord, PullResponse, PulledRecord};
    let db = OfflineDb::open_named(&fresh_name("title")).await.unwrap();
    let session = session_on("dev-1");
    let id = "01900000-0000-7000-8000-0000000000b1";
    let visit = server_visit(id, Some("p1"));
    let proposal = Proposal {
        id: "p1".into(),
        year: 2020,
        unit_tree: "bac-giang-2020".into(),
        district_code: Some("213".into()),
        commune_code: None,
        facility_id: "f1".into(),
        title: "Đổi mới máy sấy vải".into(),
        support_kind: "machinery".into(),
        requested_amount: 1,
        status: "submitted".into(),
        form_id: None,
        form_version: None,
    };
    let page = |seq: i64, record: PulledRecord| PullResponse {
        changes: vec![Change { seq, record }],
        cursor: seq,
        has_more: false,
        server_hlc: Hlc::new(5, 0),
        epoch: String::new(),
    };
    let both = PullResponse {
        changes: vec![
            Change {
                seq: 1,
                record: PulledRecord::Visit(visit.clone()),
            },
            Change {
                seq: 2,
                record: PulledRecord::Proposal(proposal),
            },
        ],
        cursor: 2,
        has_more: false,
        server_hlc: Hlc::new(5, 0),
        epoch: String::new(),
    };
    db.apply_pull(&session, &both, 10).await.unwrap();
    let gone = PulledRecord::Deleted(DeletedRecord {
        entity: "proposal".into(),
        id: "p1".into(),
    });
    db.apply_pull(&session, &page(3, gone), 11).await.unwrap();
    let closed = VisitRecord {
        year_closed: true,
        ..visit
    };
    db.apply_pull(&session, &page(4, PulledRecord::Visit(closed)), 12)
        .await
        .unwrap();
    assert!(db.proposal("u1", "p1").await.unwrap().is_none());
    let kept = db.visit("u1", id).await.unwrap().unwrap();
    assert!(kept.year_closed);
    assert_eq!(kept.proposal_title.as_deref(), Some("Đổi mới máy sấy vải"));
}

/// After a 410 the app forgets what the server fully has and pulls from 0; the
/// outbox and every unsent or refused visit must come through untouched.
#[wasm_bindgen_test]
async fn a_full_resync_keeps_the_outbox_and_unsent_visits() {
    use app::model::Facility;
    use app::sync::{Change, PullResponse, PulledRecord};
    let db = OfflineDb::open_named(&fresh_name("resync")).await.unwrap();
    let session = session_on("dev-1");
    // A visit the server has (synced), one queued, and a facility from the server.
    let synced_id = "01900000-0000-7000-8000-0000000000a1";
    let server_copy = server_visit(synced_id, None);
    let facility = Facility {
        id: "f1".into(),
        name: "Cơ sở".into(),
        owner_name: None,
        address: None,
        unit_tree: "bac-giang-2020".into(),
        commune_code: None,
        district_code: Some("213".into()),
        industry_group: "food".into(),
        phone: None,
        lat: None,
        lon: None,
        workforce: None,
        main_products: None,
        versions: Default::default(),
    };
    let page = PullResponse {
        changes: vec![
            Change {
                seq: 1,
                record: PulledRecord::Visit(server_copy),
            },
            Change {
                seq: 2,
                record: PulledRecord::Facility(facility),
            },
        ],
        cursor: 2,
        has_more: false,
        server_hlc: Hlc::new(5, 0),
        epoch: String::new(),
    };
    db.apply_pull(&session, &page, 10).await.unwrap();
    let mut queued = visit("01900000-0000-7000-8000-0000000000a2");
    queued.answers.insert("workforce".into(), json!(9));
    let mut clock = Hlc::default();
    let (saved, entries) = save(&queued, "dev-1", 1, &mut clock, 3_000);
    db.save_visit("u1", &saved, &entries, "dev-1", clock)
        .await
        .unwrap();
    let mut synced = db.visit("u1", synced_id).await.unwrap().unwrap();
    synced.sync_state = SyncState::Synced;
    db.put_draft("u1", &synced).await.unwrap();
    assert_eq!(db.cursor("u1").await.unwrap(), 2);

    db.reset_for_resync(&session).await.unwrap();

    assert_eq!(db.cursor("u1").await.unwrap(), 0, "pull starts over");
    assert_eq!(
        db.outbox("dev-1", 100).await.unwrap().len(),
        entries.len(),
        "outbox intact"
    );
    assert!(
        db.visit("u1", &queued.id).await.unwrap().is_some(),
        "the queued visit stays"
    );
    assert!(
        db.visit("u1", synced_id).await.unwrap().is_none(),
        "the server's copy comes back with the pull"
    );
    assert!(db.facilities("u1").await.unwrap().is_empty());
    assert_eq!(
        db.last_seq("dev-1").await.unwrap(),
        entries.len() as i64,
        "seq counter intact"
    );
}

/// Stores a visit as its push left it (sent, synced, not yet pulled back);
/// gives the screen with an answer typed since ("Nồi hơi") and the pull page
/// that brings the visit back submitted, its field's version moved on.
async fn pushed_then_submitted(db: &OfflineDb, id: &str) -> (LocalVisit, app::sync::PullResponse) {
    use app::model::{ReviewState, VisitRecord};
    use app::sync::{Change, PullResponse, PulledRecord};
    let mut stored = visit(id);
    stored.answers.insert("workforce".into(), json!(25));
    stored.saved = stored.answers.clone();
    stored.versions.insert("workforce".into(), 1);
    stored.header_sent = true;
    stored.sync_state = SyncState::Synced;
    let page = PullResponse {
        changes: vec![Change {
            seq: 1,
            record: PulledRecord::Visit(VisitRecord {
                id: id.into(),
                form_id: "khuyen-cong".into(),
                form_version: 1,
                proposal_id: Some("p1".into()),
                facility_id: Some("f1".into()),
                owner_id: "u1".into(),
                review_state: ReviewState::Submitted,
                answers: [("workforce".to_string(), json!(25))].into(),
                versions: [("workforce".to_string(), 2)].into(),
                created_at_ms: 1_000,
                received_at_ms: 2_000,
                rows: vec![],
                review: vec![],
                photos: vec![],
                year_closed: false,
                open_conflicts: vec![],
                written: Default::default(),
            }),
        }],
        cursor: 1,
        has_more: false,
        server_hlc: Hlc::new(5, 0),
        epoch: String::new(),
    };
    db.put_draft("u1", &stored).await.unwrap();
    let mut screen = stored;
    screen
        .answers
        .insert("main_products".into(), json!("Nồi hơi"));
    (screen, page)
}

/// After a race of `pushed_then_submitted`: the pull's review state and
/// version, and the answer the screen had typed ("Nồi hơi"), are all there.
async fn assert_pull_and_typed_answer_kept(db: &OfflineDb, id: &str) {
    let now = db.visit("u1", id).await.unwrap().unwrap();
    assert_eq!(
        now.review_state,
        app::model::ReviewState::Submitted,
        "the pull is not undone"
    );
    assert_eq!(now.versions["workforce"], 2);
    assert_eq!(
        now.answers["main_products"],
        json!("Nồi hơi"),
        "nor the typed answer"
    );
}

/// An autosave and a pull at the same moment (a finalize's last keystroke, the
/// sync it starts): the autosave reads and writes in one transaction, so the
/// pull's review state and versions are never written over, and the answer
/// typed since the last save is kept.
#[wasm_bindgen_test]
async fn an_autosave_racing_a_pull_undoes_neither() {
    use app::field::visits::local::take_draft;
    let db = OfflineDb::open_named(&fresh_name("race")).await.unwrap();
    let id = "01900000-0000-7000-8000-0000000000a3";
    let (screen, page) = pushed_then_submitted(&db, id).await;
    let session = session_on("dev-1");
    // The autosave is started first: its read comes before the pull's write.
    let (written, pulled) = futures::join!(
        db.update_visit("u1", id, |s| Some(take_draft(s.unwrap(), &screen))),
        db.apply_pull(&session, &page, 10)
    );
    written.unwrap();
    pulled.unwrap();
    assert_pull_and_typed_answer_kept(&db, id).await;
}

/// The same race with an explicit save: it reads the stored visit, the seq
/// counter and the clock inside its strict transaction, so the pull that lands
/// with it is built on, and the save's mutation is queued all the same.
#[wasm_bindgen_test]
async fn a_save_racing_a_pull_undoes_neither() {
    use app::field::visits::local::{save_with, take_draft};
    let db = OfflineDb::open_named(&fresh_name("save-race"))
        .await
        .unwrap();
    let id = "01900000-0000-7000-8000-0000000000a4";
    let (screen, page) = pushed_then_submitted(&db, id).await;
    let session = session_on("dev-1");
    let (saved, pulled) = futures::join!(
        db.save_visit_over("u1", id, "dev-1", |s, last_seq, mut clock| {
            let base = take_draft(s.unwrap(), &screen);
            let (saved, entries) =
                save_with(&base, "dev-1", last_seq + 1, &mut clock, 3_000, false);
            Some((saved, entries, clock))
        }),
        db.apply_pull(&session, &page, 10)
    );
    saved.unwrap();
    pulled.unwrap();
    assert_pull_and_typed_answer_kept(&db, id).await;
    assert_eq!(
        db.outbox_len("dev-1").await.unwrap(),
        1,
        "the save's mutation is queued"
    );
    assert_eq!(db.last_seq("dev-1").await.unwrap(), 1);
}

/// iOS Safari may close the IndexedDB connection while the app is backgrounded:
/// the next call reopens it and succeeds, for reads and for the strict save.
#[wasm_bindgen_test]
async fn a_lost_connection_is_reopened_and_the_call_retried() {
    let db = OfflineDb::open_named(&fresh_name("lost")).await.unwrap();
    let mut v = visit("01900000-0000-7000-8000-000000000010");
    v.answers.insert("workforce".into(), json!(7));
    db.put_draft("u1", &v).await.unwrap();

    db.drop_connection();
    assert_eq!(db.visit("u1", &v.id).await.unwrap(), Some(v.clone()));

    // The strict-save connection closed under a live handle: a real InvalidStateError.
    db.close_raw_connection();
    let mut clock = Hlc::default();
    let (saved, entries) = save(&v, "dev-1", 1, &mut clock, 2_000);
    db.save_visit("u1", &saved, &entries, "dev-1", clock)
        .await
        .expect("the save reopens the connection and succeeds");
    assert_eq!(db.outbox_len("dev-1").await.unwrap(), entries.len() as u32);
}

/// The previous release's database (schema 1) with a queued mutation and a draft
/// opens under the current schema with both intact.
#[wasm_bindgen_test]
async fn a_schema_upgrade_keeps_queued_data() {
    use app::field::visits::local::OutboxEntry;
    let name = fresh_name("upgrade");
    let v = {
        let mut v = visit("01900000-0000-7000-8000-000000000011");
        v.answers.insert("workforce".into(), json!(9));
        v
    };
    let mut clock = Hlc::default();
    let (saved, entries) = save(&v, "dev-1", 1, &mut clock, 2_000);
    {
        let mut builder = rexie::Rexie::builder(&name).version(1);
        for store in [
            "meta",
            "units",
            "forms",
            "facilities",
            "proposals",
            "visits",
            "outbox",
        ] {
            builder = builder.add_object_store(rexie::ObjectStore::new(store));
        }
        let v1 = builder.build().await.unwrap();
        let tx = v1
            .transaction(
                &["visits", "outbox", "meta"],
                rexie::TransactionMode::ReadWrite,
            )
            .unwrap();
        let json = |value: &dyn Fn() -> String| wasm_bindgen::JsValue::from_str(&value());
        tx.store("visits")
            .unwrap()
            .put(
                &json(&|| serde_json::to_string(&saved).unwrap()),
                Some(&format!("u1:{}", saved.id).into()),
            )
            .await
            .unwrap();
        for entry in &entries {
            tx.store("outbox")
                .unwrap()
                .put(
                    &json(&|| serde_json::to_string(entry).unwrap()),
                    Some(&entry.key().into()),
                )
                .await
                .unwrap();
        }
        tx.store("meta")
            .unwrap()
            .put(&json(&|| "1".to_string()), Some(&"seq:dev-1".into()))
            .await
            .unwrap();
        tx.done().await.unwrap();
        v1.close();
    }
    let db = OfflineDb::open_named(&name).await.unwrap();
    let queued: Vec<OutboxEntry> = db.outbox("dev-1", 100).await.unwrap();
    assert_eq!(queued, entries);
    assert_eq!(db.last_seq("dev-1").await.unwrap(), 1);
    assert_eq!(db.visit("u1", &v.id).await.unwrap(), Some(saved));
}

/// A draft with repeat rows, saved with finalize: rows become child mutations
/// after the visit's, the submit command comes last, and the stored draft reads
/// back locked (submit queued) with its rows.
#[wasm_bindgen_test]
async fn a_finalized_draft_with_rows_is_stored_with_its_mutations_in_order() {
    use app::field::visits::local::{save_with, LocalRow};
    use app::sync::{Entity, MutationKind};
    let db = OfflineDb::open_named(&fresh_name("rows")).await.unwrap();
    let mut v = visit("01900000-0000-7000-8000-000000000012");
    v.answers.insert("workforce".into(), json!(25));
    let mut row = LocalRow::new(
        "01900000-0000-7000-8000-0000000000b1".into(),
        "equipment".into(),
        1_500,
    );
    row.answers.insert("name".into(), json!("Máy tiện CNC"));
    v.rows.push(row);
    v.focus = Some("01900000-0000-7000-8000-0000000000b1/name".into());
    db.put_draft("u1", &v).await.unwrap();
    assert_eq!(
        db.visit("u1", &v.id).await.unwrap(),
        Some(v.clone()),
        "the draft with its rows and focus"
    );

    let mut clock = Hlc::default();
    let (saved, entries) = save_with(&v, "dev-1", 1, &mut clock, 2_000, true);
    db.save_visit("u1", &saved, &entries, "dev-1", clock)
        .await
        .unwrap();
    let queued = db.outbox("dev-1", 100).await.unwrap();
    let shape: Vec<_> = queued
        .iter()
        .map(|e| (e.mutation.seq, e.mutation.entity, e.mutation.kind))
        .collect();
    assert_eq!(
        shape,
        vec![
            (1, Entity::Visit, MutationKind::Upsert),
            (2, Entity::VisitRow, MutationKind::Upsert),
            (3, Entity::Visit, MutationKind::Submit),
        ]
    );
    let stored = db.visit("u1", &v.id).await.unwrap().unwrap();
    assert!(stored.submit_queued && !stored.editable());
    assert_eq!(stored.rows.len(), 1);
    assert!(!stored.has_unsaved_changes());
}

/// The backup archive written from IndexedDB page by page (1,100 queued changes,
/// three pages) reads back on the server side as exactly the outbox.
#[wasm_bindgen_test]
async fn the_backup_archive_holds_the_whole_outbox_in_seq_order() {
    use app::field::visits::local::OutboxEntry;
    use app::sync::archive::read_export;
    let db = OfflineDb::open_named(&fresh_name("archive")).await.unwrap();
    let device = "01900000-0000-7000-8000-0000000000d1";
    let v = visit("01900000-0000-7000-8000-000000000013");
    let mut clock = Hlc::default();
    let mut entries: Vec<OutboxEntry> = Vec::new();
    for seq in 1..=1_100i64 {
        let mut draft = v.clone();
        draft.header_sent = true;
        draft.answers.insert("workforce".into(), json!(seq));
        let (_, mut one) = save(&draft, device, seq, &mut clock, 2_000 + seq);
        entries.append(&mut one);
    }
    db.save_visit("u1", &v, &entries, device, clock)
        .await
        .unwrap();

    let (pieces, count) =
        app::field::backup::archive_pieces(&db, device, device.parse().unwrap(), "ksv1", 5_000)
            .await
            .unwrap();
    assert_eq!(count, 1_100);
    let mut bytes = Vec::new();
    for piece in pieces.iter() {
        bytes.extend(js_sys::Uint8Array::new(&piece).to_vec());
    }
    let file = read_export(&bytes).expect("the archive reads back");
    assert_eq!(file.device_id.to_string(), device);
    assert_eq!(file.username.as_deref(), Some("ksv1"));
    let seqs: Vec<i64> = file.mutations.iter().map(|m| m.seq).collect();
    assert_eq!(seqs, (1..=1_100).collect::<Vec<_>>());
    assert_eq!(
        file.mutations,
        entries
            .iter()
            .map(|e| e.mutation.clone())
            .collect::<Vec<_>>()
    );
}

/// The server's copy of ksv1's visit `id`, in progress, with 3 workers at
/// version 1.
fn server_visit(id: &str, proposal: Option<&str>) -> app::model::VisitRecord {
    app::model::VisitRecord {
        id: id.into(),
        form_id: "khuyen-cong".into(),
        form_version: 1,
        proposal_id: proposal.map(str::to_string),
        facility_id: Some("f1".into()),
        owner_id: "u1".into(),
        review_state: app::model::ReviewState::InProgress,
        answers: [("workforce".to_string(), json!(3))].into(),
        versions: [("workforce".to_string(), 1)].into(),
        created_at_ms: 1,
        received_at_ms: 2,
        rows: vec![],
        review: vec![],
        photos: vec![],
        year_closed: false,
        open_conflicts: vec![],
        written: Default::default(),
    }
}

/// A photo the server lists for `visit_id`, judged usable.
fn server_photo(id: &str, visit_id: &str) -> app::photos::PhotoRecord {
    app::photos::PhotoRecord {
        id: id.into(),
        visit_id: visit_id.into(),
        field: "evidence_photos".into(),
        sha256: "ab".into(),
        size: 10,
        content_type: "image/jpeg".into(),
        caption: None,
        caption_written: None,
        taken_at_ms: None,
        time_source: None,
        lat: None,
        lon: None,
        accuracy_m: None,
        location_source: None,
        status: app::photos::PhotoStatus::Ok,
        problem: None,
        warnings: Vec::new(),
        width: None,
        height: None,
        created_at_ms: 1,
    }
}

/// A photo removed on this phone that the server still lists (its removal
/// queued, or refused with a visit another phone finalized) stays off the
/// phone at a pull, and the visit names it for the save after a send-back.
#[wasm_bindgen_test]
async fn a_pull_leaves_a_photo_removed_here_removed() {
    use app::sync::{Change, PullResponse, PulledRecord};
    let db = OfflineDb::open_named(&fresh_name("removed")).await.unwrap();
    let id = "01900000-0000-7000-8000-0000000000c1";
    let (removed, kept) = (
        "01900000-0000-7000-8000-0000000000c2",
        "01900000-0000-7000-8000-0000000000c3",
    );
    let mut local = visit(id);
    local.header_sent = true;
    local.removed_photos = vec![removed.into()];
    db.put_draft("u1", &local).await.unwrap();
    let mut there = server_visit(id, None);
    there
        .answers
        .insert("evidence_photos".into(), json!([removed, kept]));
    there.photos = vec![server_photo(removed, id), server_photo(kept, id)];
    let page = |seq: i64, v: app::model::VisitRecord| PullResponse {
        changes: vec![Change {
            seq,
            record: PulledRecord::Visit(v),
        }],
        cursor: seq,
        has_more: false,
        server_hlc: Hlc::new(5, 0),
        epoch: String::new(),
    };
    db.apply_pull(&test_session(), &page(1, there.clone()), 10)
        .await
        .unwrap();
    let held: Vec<String> = db
        .photos("u1", Some(id))
        .await
        .unwrap()
        .into_iter()
        .map(|p| p.id)
        .collect();
    assert_eq!(held, [kept]);
    let stored = db.visit("u1", id).await.unwrap().unwrap();
    assert_eq!(stored.removals_not_taken, [removed]);
    // The removal applied: the server lists it no more, nor does the visit.
    there.photos.retain(|p| p.id == kept);
    db.apply_pull(&test_session(), &page(2, there), 11)
        .await
        .unwrap();
    let stored = db.visit("u1", id).await.unwrap().unwrap();
    assert!(stored.removals_not_taken.is_empty());
}

/// A visit another phone finalized, whose changes this phone keeps: the
/// discard puts the server's copy back in one write. The photo taken here
/// goes with its bytes, the server's photo removed here is listed again, and
/// the visit is synced; a second discard finds nothing to do.
#[wasm_bindgen_test]
async fn a_discard_of_kept_changes_puts_the_servers_copy_back() {
    use app::field::photos::local::attach_entry;
    use app::sync::{Change, PullResponse, PulledRecord};
    let db = OfflineDb::open_named(&fresh_name("discard")).await.unwrap();
    let session = test_session();
    let device = session.device_id.clone();
    let id = "01900000-0000-7000-8000-0000000000d1";
    let (removed, theirs) = (
        "01900000-0000-7000-8000-0000000000d2",
        "01900000-0000-7000-8000-0000000000d3",
    );
    // Refused as locked: workforce 9, one photo removed, one taken.
    let mut local = visit(id);
    local.header_sent = true;
    local.versions = [("workforce".to_string(), 1)].into();
    local.saved = [("workforce".to_string(), json!(3))].into();
    local.answers = [("workforce".to_string(), json!(9))].into();
    local.removed_photos = vec![removed.into()];
    local.sync_state = SyncState::Refused;
    local.refusal = Some(app::error::ErrorBody::new("visit.locked", "locked"));
    db.put_draft("u1", &local).await.unwrap();
    let taken = taken_here(id, "cd".repeat(32));
    let parts = js_sys::Array::of1(&js_sys::Uint8Array::from(&[1u8, 2, 3][..]));
    let blob = web_sys::Blob::new_with_u8_array_sequence(&parts).unwrap();
    let attach = db
        .attach_photo("u1", &taken, &blob, &device, 3_000, |seq, hlc| {
            attach_entry(&taken, &device, seq, hlc, uuid::Uuid::from_u128(7))
        })
        .await
        .unwrap();
    assert_eq!(attach.mutation.seq, 1, "numbered by the stored counter");
    let mut there = server_visit(id, None);
    there.review_state = app::model::ReviewState::Approved;
    there
        .answers
        .insert("evidence_photos".into(), json!([removed, theirs]));
    there.photos = vec![server_photo(removed, id), server_photo(theirs, id)];
    let page = PullResponse {
        changes: vec![Change {
            seq: 1,
            record: PulledRecord::Visit(there),
        }],
        cursor: 1,
        has_more: false,
        server_hlc: Hlc::new(5, 0),
        epoch: String::new(),
    };
    db.apply_pull(&session, &page, 10).await.unwrap();
    let kept = db.visit("u1", id).await.unwrap().unwrap();
    assert_eq!(kept.sync_state, SyncState::Refused, "kept as refused");
    assert_eq!(kept.answers["workforce"], json!(9));
    assert_eq!(
        photo_ids(&db, id).await,
        [theirs.to_string(), taken.id.clone()]
    );

    let done = db
        .discard_kept("u1", id, &device, 20)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(done.sync_state, SyncState::Synced);
    assert_eq!(done.answers, done.saved);
    assert_eq!(done.answers["workforce"], json!(3));
    assert_eq!(done.updated_at_ms, 20);
    assert_eq!(
        db.visit("u1", id).await.unwrap().unwrap(),
        done,
        "what was written"
    );
    assert_eq!(
        photo_ids(&db, id).await,
        [removed.to_string(), theirs.to_string()],
        "the taken photo gone, the removed one back"
    );
    assert!(
        db.photo_blob(&taken.id).await.unwrap().is_none(),
        "its bytes too"
    );
    let back = db.photos("u1", Some(id)).await.unwrap();
    assert!(back
        .iter()
        .all(|p| p.server_status.is_some() && !p.needs_upload()));
    assert!(db
        .discard_kept("u1", id, &device, 30)
        .await
        .unwrap()
        .is_none());
}

/// Kept changes a logout (or a backup) queues go into the outbox once, and
/// leave the visit as it was: refused, discardable, its base the server's
/// copy. Discarded, their later refusal does not mark it again. On the app's
/// own database (the queue writes there), with a device of its own.
#[wasm_bindgen_test]
async fn kept_changes_are_queued_once_and_a_discard_outlives_their_refusal() {
    kept_changes_queued_once(
        "visit.locked",
        "01900000-0000-7000-8000-0000000000e9",
        "01900000-0000-7000-8000-0000000000d9",
    )
    .await;
}

/// The same for changes kept against a restored server's finalized copy:
/// the backup carries them and the logout counts them, as changes the server
/// takes only after a send-back.
#[wasm_bindgen_test]
async fn changes_kept_against_a_restored_server_are_queued_for_backup_and_logout() {
    kept_changes_queued_once(
        "sync.restored_before_send_back",
        "01900000-0000-7000-8000-0000000000ea",
        "01900000-0000-7000-8000-0000000000da",
    )
    .await;
}

async fn kept_changes_queued_once(code: &str, device: &str, id: &str) {
    let db = app::field::offline::db().await.unwrap();
    let mut local = visit(id);
    local.header_sent = true;
    local.versions = [("workforce".to_string(), 1)].into();
    local.saved = [("workforce".to_string(), json!(3))].into();
    local.answers = [("workforce".to_string(), json!(9))].into();
    local.review_state = app::model::ReviewState::Submitted;
    local.sync_state = SyncState::Refused;
    local.refusal = Some(app::error::ErrorBody::new(code, "locked"));
    db.put_draft("u1", &local).await.unwrap();
    for _ in 0..2 {
        app::field::visits::requeue::refused(&db, "u1", device)
            .await
            .unwrap();
    }
    let queued = db.outbox(device, 100).await.unwrap();
    let fields: Vec<Vec<String>> = queued
        .iter()
        .map(|e| e.mutation.fields.keys().cloned().collect())
        .collect();
    assert_eq!(fields, [["workforce"]], "queued once, not once per logout");
    assert_eq!(
        db.visit("u1", id).await.unwrap().unwrap(),
        local,
        "the visit left as it was"
    );
    let (pieces, count) =
        app::field::backup::archive_pieces(&db, device, device.parse().unwrap(), "ksv1", 15)
            .await
            .unwrap();
    assert!(pieces.length() > 0);
    assert_eq!(count, 1, "a backup carries them");
    let held = app::field::visits::requeue::before_logout("u1".into(), device.into())
        .await
        .unwrap();
    assert_eq!(
        (held.queued, held.kept),
        (1, 1),
        "a logout counts them as changes the server takes only after a send-back"
    );
    let done = db
        .discard_kept("u1", id, device, 20)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(done.discarded_through, Some(queued[0].mutation.seq));
    assert_eq!(
        done.answers["workforce"],
        json!(3),
        "the server's, not the queued 9"
    );
    let withdrawn = db.outbox(device, 100).await.unwrap();
    assert_eq!(withdrawn.len(), queued.len());
    assert!(
        withdrawn.iter().all(app::field::visits::refused::withdrawn),
        "what was queued of it is withdrawn, under the same seqs"
    );
    let held = app::field::visits::requeue::before_logout("u1".into(), device.into())
        .await
        .unwrap();
    assert_eq!(
        (held.queued, held.kept),
        (0, 0),
        "a logout has nothing of it to warn of"
    );
    // A backup counts none of it, and its file still reads back (the
    // manifest counts every line): the seqs run on for the import.
    let (pieces, count) =
        app::field::backup::archive_pieces(&db, device, device.parse().unwrap(), "ksv1", 30)
            .await
            .unwrap();
    assert_eq!(count, 0);
    let mut bytes = Vec::new();
    for piece in pieces.iter() {
        bytes.extend(js_sys::Uint8Array::new(&piece).to_vec());
    }
    let file = app::sync::archive::read_export(&bytes).expect("the archive reads back");
    assert_eq!(file.mutations.len(), queued.len());
    let refused: Vec<app::sync::MutationResult> = queued
        .iter()
        .map(|e| app::sync::MutationResult::Refused {
            seq: e.mutation.seq,
            mutation_id: e.mutation.mutation_id,
            error: app::error::ErrorBody::new("visit.locked", "locked"),
        })
        .collect();
    db.apply_push_results("u1", device, &queued, &refused)
        .await
        .unwrap();
    let after = db.visit("u1", id).await.unwrap().unwrap();
    assert_eq!(after.sync_state, SyncState::Synced, "not refused again");
    assert!(after.refusal.is_none());
    assert_eq!(after.answers["workforce"], json!(3));
    assert_eq!(db.outbox_len(device).await.unwrap(), 0);
}

/// The IDs of the photo records ksv1's phone holds for `visit`, sorted.
async fn photo_ids(db: &OfflineDb, visit: &str) -> Vec<String> {
    let mut ids: Vec<String> = db
        .photos("u1", Some(visit))
        .await
        .unwrap()
        .into_iter()
        .map(|p| p.id)
        .collect();
    ids.sort();
    ids
}

fn test_session() -> Session {
    session_on("01900000-0000-7000-8000-0000000000e1")
}

/// A photo taken on this phone (bytes held), of 1,000 bytes, waiting to upload.
fn taken_here(visit_id: &str, sha256: String) -> app::field::photos::local::LocalPhoto {
    app::field::photos::local::LocalPhoto {
        id: "01900000-0000-7000-8000-0000000000f3".into(),
        visit_id: visit_id.into(),
        field: "evidence_photos".into(),
        sha256,
        size: 1_000,
        content_type: "image/jpeg".into(),
        caption: None,
        caption_written: None,
        taken_at_ms: None,
        time_source: "device".into(),
        lat: None,
        lon: None,
        accuracy_m: None,
        location_source: "none".into(),
        width: 10,
        height: 10,
        original_size: 1_000,
        created_at_ms: 3_100,
        has_blob: true,
        upload: app::field::photos::local::UploadState::default(),
        server_status: None,
        problem: None,
        warnings: Vec::new(),
    }
}

async fn blob_to_vec(blob: &web_sys::Blob) -> Vec<u8> {
    let buffer = wasm_bindgen_futures::JsFuture::from(blob.array_buffer())
        .await
        .unwrap();
    js_sys::Uint8Array::new(&buffer).to_vec()
}

/// A photo's bytes, record and attach change are stored together and read
/// back exactly; the server's verdict arrives inside its visit; the backup
/// carries the bytes; a removal takes bytes and record away and queues the delete.
#[wasm_bindgen_test]
async fn a_photo_is_stored_with_its_change_judged_by_pull_backed_up_and_removed() {
    use app::field::photos::local::{attach_entry, change_entry, LocalPhoto, UploadState};
    use app::model::{ReviewState, VisitRecord};
    use app::photos::PhotoRecord;
    use app::sync::{Change, PullResponse, PulledRecord};
    let db = OfflineDb::open_named(&fresh_name("photo")).await.unwrap();
    let session = test_session();
    db.set_session(&session).await.unwrap();
    let device = session.device_id.clone();
    let bytes: Vec<u8> = (0..200_000u32).map(|i| (i * 31 % 251) as u8).collect();
    let parts = js_sys::Array::of1(&js_sys::Uint8Array::from(bytes.as_slice()));
    let blob = web_sys::Blob::new_with_u8_array_sequence(&parts).unwrap();
    let sha = app::field::photos::capture::digest_hex("SHA-256", &bytes)
        .await
        .unwrap();
    let visit_id = "01900000-0000-7000-8000-0000000000e2";
    let photo = LocalPhoto {
        id: "01900000-0000-7000-8000-0000000000e3".into(),
        visit_id: visit_id.into(),
        field: "evidence_photos".into(),
        sha256: sha.clone(),
        size: bytes.len() as i64,
        content_type: "image/jpeg".into(),
        caption: Some("Máy tiện".into()),
        caption_written: None,
        taken_at_ms: Some(1_772_695_800_000),
        time_source: "exif".into(),
        lat: Some(21.27),
        lon: Some(106.19),
        accuracy_m: None,
        location_source: "exif".into(),
        width: 2048,
        height: 1536,
        original_size: 6_000_000,
        created_at_ms: 1_772_695_900_000,
        has_blob: true,
        upload: UploadState::default(),
        server_status: None,
        problem: None,
        warnings: Vec::new(),
    };
    let entry = db
        .attach_photo("u1", &photo, &blob, &device, 3_000, |seq, hlc| {
            attach_entry(&photo, &device, seq, hlc, uuid::Uuid::from_u128(1))
        })
        .await
        .unwrap();
    assert_eq!(entry.mutation.seq, 1, "numbered by the stored counter");
    let stored = db
        .photo_blob(&photo.id)
        .await
        .unwrap()
        .expect("bytes stored");
    assert_eq!(blob_to_vec(&stored).await, bytes);
    assert_eq!(
        db.photos("u1", Some(visit_id)).await.unwrap(),
        vec![photo.clone()]
    );
    assert!(db.photos("u2", None).await.unwrap().is_empty());
    assert_eq!(db.last_seq(&device).await.unwrap(), 1);
    assert!(db
        .queued_records(&device)
        .await
        .unwrap()
        .contains(&photo.id));

    // The backup holds the bytes the server has not confirmed.
    let (pieces, _) =
        app::field::backup::archive_pieces(&db, &device, device.parse().unwrap(), "ksv1", 5_000)
            .await
            .unwrap();
    let zip = blob_to_vec(&web_sys::Blob::new_with_blob_sequence(&pieces).unwrap()).await;
    let photos = app::sync::archive::read_photos(&zip).expect("the archive reads back");
    assert_eq!(photos.len(), 1);
    assert_eq!(photos[0].0.sha256, sha);
    assert_eq!(photos[0].1, bytes.as_slice());
    // From the login page after a logout, and with another user logged in:
    // still ksv1's photos, and only theirs.
    db.clear_session().await.unwrap();
    let after_logout =
        app::field::backup::archive_pieces(&db, &device, device.parse().unwrap(), "ksv1", 5_100)
            .await
            .unwrap()
            .0;
    let mut other = session_on("01900000-0000-7000-8000-0000000000e9");
    other.user.id = "u2".into();
    other.user.username = "ksv2".into();
    db.set_session(&other).await.unwrap();
    let beside_another =
        app::field::backup::archive_pieces(&db, &device, device.parse().unwrap(), "ksv1", 5_200)
            .await
            .unwrap()
            .0;
    let of_ksv2 = app::field::backup::archive_pieces(
        &db,
        &other.device_id,
        other.device_id.parse().unwrap(),
        "ksv2",
        5_300,
    )
    .await
    .unwrap()
    .0;
    for (pieces, held) in [(after_logout, 1), (beside_another, 1), (of_ksv2, 0)] {
        let zip = blob_to_vec(&web_sys::Blob::new_with_blob_sequence(&pieces).unwrap()).await;
        let photos = app::sync::archive::read_photos(&zip).expect("the archive reads back");
        assert_eq!(photos.len(), held);
    }
    db.set_session(&session).await.unwrap();
    // Once its upload finished, the server has the bytes: the backup leaves
    // them out (a phone of hundreds of photos made a file past any limit).
    let mut uploaded = db.photos("u1", Some(visit_id)).await.unwrap()[0]
        .upload
        .clone();
    uploaded.done = true;
    db.save_upload("u1", &photo.id, &uploaded).await.unwrap();
    let (pieces, _) =
        app::field::backup::archive_pieces(&db, &device, device.parse().unwrap(), "ksv1", 5_400)
            .await
            .unwrap();
    let zip = blob_to_vec(&web_sys::Blob::new_with_blob_sequence(&pieces).unwrap()).await;
    assert!(app::sync::archive::read_photos(&zip).unwrap().is_empty());

    // The verdict comes down inside the visit.
    let record = PhotoRecord {
        sha256: sha.clone(),
        size: photo.size,
        caption: Some("Máy tiện".into()),
        taken_at_ms: photo.taken_at_ms,
        time_source: Some("exif".into()),
        lat: photo.lat,
        lon: photo.lon,
        location_source: Some("exif".into()),
        width: Some(2048),
        height: Some(1536),
        field: photo.field.clone(),
        ..server_photo(&photo.id, visit_id)
    };
    let visit_record = VisitRecord {
        id: visit_id.into(),
        form_id: "khuyen-cong".into(),
        form_version: 1,
        proposal_id: None,
        facility_id: None,
        owner_id: "u1".into(),
        review_state: ReviewState::InProgress,
        answers: Default::default(),
        versions: Default::default(),
        created_at_ms: 1,
        received_at_ms: 1,
        rows: vec![],
        review: vec![],
        photos: vec![record],
        year_closed: false,
        open_conflicts: vec![],
        written: Default::default(),
    };
    let page = PullResponse {
        changes: vec![Change {
            seq: 1,
            record: PulledRecord::Visit(visit_record),
        }],
        cursor: 1,
        has_more: false,
        server_hlc: Hlc::new(3_000, 0),
        epoch: String::new(),
    };
    db.apply_pull(&session, &page, 3_000).await.unwrap();
    let judged = &db.photos("u1", None).await.unwrap()[0];
    assert_eq!(judged.state(), "ok");
    assert!(judged.has_blob, "the phone keeps its own bytes");

    // Removal: bytes and record go, the delete is queued after the attach.
    let delete = db
        .remove_photo("u1", &photo.id, &device, 4_000, |seq, hlc| {
            change_entry(&photo, &device, seq, hlc, uuid::Uuid::from_u128(2), true)
        })
        .await
        .unwrap();
    assert_eq!(delete.mutation.seq, 2, "numbered by the stored counter");
    assert!(db.photo_blob(&photo.id).await.unwrap().is_none());
    assert!(db.photos("u1", None).await.unwrap().is_empty());
    let outbox = db.outbox(&device, 10).await.unwrap();
    assert_eq!(
        outbox.iter().map(|e| e.mutation.seq).collect::<Vec<_>>(),
        [1, 2]
    );
}

/// A save, a photo taken and a photo removed at the same moment (the camera
/// stores a photo for seconds; the inspector saves or removes meanwhile):
/// each change is numbered in its own write, so each keeps its seq and
/// nothing in the outbox is written over. Numbered before their write, two
/// of them took the same seq and one change never left the phone.
#[wasm_bindgen_test]
async fn a_save_and_photo_changes_at_once_each_keep_their_own_seq() {
    use app::field::photos::local::{attach_entry, change_entry, LocalPhoto};
    use app::sync::{Entity, MutationKind};
    let id = "01900000-0000-7000-8000-0000000000d1";
    let (db, device) = saved_once("seq-race", id).await;
    let first = db.last_seq(&device).await.unwrap();
    let blob = small_blob(9);
    let old = LocalPhoto {
        id: "01900000-0000-7000-8000-0000000000e2".into(),
        ..taken_here(id, "e2".repeat(32))
    };
    db.attach_photo("u1", &old, &blob, &device, 2_500, |seq, hlc| {
        attach_entry(&old, &device, seq, hlc, uuid::Uuid::from_u128(0xe2))
    })
    .await
    .unwrap();
    let new = LocalPhoto {
        id: "01900000-0000-7000-8000-0000000000e3".into(),
        ..taken_here(id, "e3".repeat(32))
    };

    let mut edited = db.visit("u1", id).await.unwrap().unwrap();
    edited.answers.insert("workforce".into(), json!(13));
    let (saving, attaching, removing) = futures::join!(
        db.save_visit_over("u1", id, &device, |_, last_seq, mut clock| {
            let (saved, entries) = save(&edited, &device, last_seq + 1, &mut clock, 3_000);
            Some((saved, entries, clock))
        }),
        db.attach_photo("u1", &new, &blob, &device, 3_000, |seq, hlc| {
            attach_entry(&new, &device, seq, hlc, uuid::Uuid::from_u128(0xe3))
        }),
        db.remove_photo("u1", &old.id, &device, 3_000, |seq, hlc| {
            change_entry(&old, &device, seq, hlc, uuid::Uuid::from_u128(0xe4), true)
        }),
    );
    saving.unwrap();
    attaching.unwrap();
    removing.unwrap();

    let outbox = db.outbox(&device, 20).await.unwrap();
    let seqs: Vec<i64> = outbox.iter().map(|e| e.mutation.seq).collect();
    let expected: Vec<i64> = (1..=first + 4).collect();
    assert_eq!(seqs, expected, "one change per seq, none written over");
    assert_eq!(db.last_seq(&device).await.unwrap(), first + 4);
    let queued = |entity: Entity, kind: MutationKind, record: &str| {
        outbox.iter().any(|e| {
            e.mutation.entity == entity
                && e.mutation.kind == kind
                && e.mutation.record_id.to_string() == record
        })
    };
    assert!(
        queued(Entity::Photo, MutationKind::Upsert, &new.id),
        "the new photo's attach"
    );
    assert!(
        queued(Entity::Photo, MutationKind::Delete, &old.id),
        "the removal"
    );
    assert!(
        outbox
            .iter()
            .any(|e| e.mutation.fields.get("workforce") == Some(&json!(13))),
        "the save"
    );
    // Each stamp is later than the one before it, in seq order.
    assert!(outbox
        .windows(2)
        .all(|w| w[0].mutation.hlc < w[1].mutation.hlc));
}

/// A fresh database with the test session and visit `id` saved once (12
/// workers): the database and the session's device.
async fn saved_once(name: &str, id: &str) -> (OfflineDb, String) {
    let db = OfflineDb::open_named(&fresh_name(name)).await.unwrap();
    let session = test_session();
    db.set_session(&session).await.unwrap();
    let device = session.device_id.clone();
    let mut clock = Hlc::default();
    let mut v = visit(id);
    v.answers.insert("workforce".into(), json!(12));
    let (saved, entries) = save(&v, &device, 1, &mut clock, 2_000);
    db.save_visit("u1", &saved, &entries, &device, clock)
        .await
        .unwrap();
    (db, device)
}

/// 64 bytes of `byte`, as a Blob.
fn small_blob(byte: u8) -> web_sys::Blob {
    let parts = js_sys::Array::of1(&js_sys::Uint8Array::from(&[byte; 64][..]));
    web_sys::Blob::new_with_u8_array_sequence(&parts).unwrap()
}

/// A photo whose stored bytes did not hash back (a corrupt Blob) is
/// forgotten, and its queued attach becomes a change of nothing under the
/// same seq: the next save is numbered after it and the outbox has no gap,
/// which the server would refuse at every later push.
#[wasm_bindgen_test]
async fn a_forgotten_photo_leaves_no_gap_in_the_outbox() {
    use app::field::photos::local::{attach_entry, LocalPhoto};
    use app::field::visits::refused::withdrawn;
    let id = "01900000-0000-7000-8000-0000000000d2";
    let (db, device) = saved_once("forget-gap", id).await;
    let blob = small_blob(7);
    let photo = LocalPhoto {
        id: "01900000-0000-7000-8000-0000000000f2".into(),
        ..taken_here(id, "f2".repeat(32))
    };
    let attach = db
        .attach_photo("u1", &photo, &blob, &device, 2_500, |seq, hlc| {
            attach_entry(&photo, &device, seq, hlc, uuid::Uuid::from_u128(0xf2))
        })
        .await
        .unwrap();
    db.forget_photo("u1", &photo.id, &attach).await.unwrap();
    assert!(db.photos("u1", Some(id)).await.unwrap().is_empty());
    assert!(db.photo_blob(&photo.id).await.unwrap().is_none());

    let mut edited = db.visit("u1", id).await.unwrap().unwrap();
    edited.answers.insert("workforce".into(), json!(13));
    db.save_visit_over("u1", id, &device, |_, last_seq, mut clock| {
        let (saved, entries) = save(&edited, &device, last_seq + 1, &mut clock, 3_000);
        Some((saved, entries, clock))
    })
    .await
    .unwrap();

    let outbox = db.outbox(&device, 20).await.unwrap();
    let seqs: Vec<i64> = outbox.iter().map(|e| e.mutation.seq).collect();
    let expected: Vec<i64> = (1..=attach.mutation.seq + 1).collect();
    assert_eq!(seqs, expected, "the forgotten attach keeps its seq");
    let kept = outbox
        .iter()
        .find(|e| e.mutation.seq == attach.mutation.seq)
        .unwrap();
    assert!(withdrawn(kept), "nothing of the photo is sent: {kept:?}");
    assert_eq!(kept.mutation.record_id.to_string(), id);
    assert!(outbox
        .iter()
        .any(|e| e.mutation.fields.get("workforce") == Some(&json!(13))));
}

/// A caption typed while the photo uploads: the caption's write and the
/// upload's progress each change only their own part of the record, even when
/// they run at the same moment; each caption change takes its own seq; a photo
/// removed meanwhile is neither brought back by progress nor captioned.
#[wasm_bindgen_test]
async fn a_caption_and_upload_progress_written_together_both_stay() {
    use app::field::photos::local::{attach_entry, change_entry, LocalPhoto, UploadState};
    let db = OfflineDb::open_named(&fresh_name("caption")).await.unwrap();
    let session = test_session();
    db.set_session(&session).await.unwrap();
    let device = session.device_id.clone();
    let bytes: Vec<u8> = (0..1_000u32).map(|i| (i % 251) as u8).collect();
    let parts = js_sys::Array::of1(&js_sys::Uint8Array::from(bytes.as_slice()));
    let blob = web_sys::Blob::new_with_u8_array_sequence(&parts).unwrap();
    let photo = LocalPhoto {
        size: 300_000,
        width: 2048,
        height: 1536,
        original_size: 300_000,
        created_at_ms: 1_772_695_900_000,
        ..taken_here("01900000-0000-7000-8000-0000000000f2", "a".repeat(64))
    };
    let attach = db
        .attach_photo("u1", &photo, &blob, &device, 3_000, |seq, hlc| {
            attach_entry(&photo, &device, seq, hlc, uuid::Uuid::from_u128(1))
        })
        .await
        .unwrap();
    assert_eq!(attach.mutation.seq, 1, "numbered by the stored counter");
    let progress = |offset: i64| UploadState {
        url: Some("/api/uploads/x".into()),
        offset,
        done: offset >= photo.size,
        error: None,
        refused: false,
    };

    // Progress and a caption at the same moment: both land.
    let first_chunk = progress(65_536);
    let (saved, captioned) = futures::join!(
        db.save_upload("u1", &photo.id, &first_chunk),
        db.caption_photo(
            "u1",
            &device,
            &photo.id,
            Some("Máy móc".into()),
            uuid::Uuid::from_u128(2),
            4_000
        )
    );
    saved.unwrap();
    assert_eq!(
        captioned.unwrap().and_then(|p| p.caption).as_deref(),
        Some("Máy móc")
    );
    let stored = &db.photos("u1", None).await.unwrap()[0];
    assert_eq!(stored.caption.as_deref(), Some("Máy móc"));
    assert_eq!(stored.upload.offset, 65_536);

    // Later progress keeps the caption; two captions at once take seq 3 and 4.
    db.save_upload("u1", &photo.id, &progress(photo.size))
        .await
        .unwrap();
    let (a, b) = futures::join!(
        db.caption_photo(
            "u1",
            &device,
            &photo.id,
            Some("Máy móc hiện có".into()),
            uuid::Uuid::from_u128(3),
            5_000
        ),
        db.caption_photo(
            "u1",
            &device,
            &photo.id,
            Some("Máy móc hiện có trong xưởng".into()),
            uuid::Uuid::from_u128(4),
            5_000
        )
    );
    assert!(a.unwrap().is_some() && b.unwrap().is_some());
    let stored = &db.photos("u1", None).await.unwrap()[0];
    assert_eq!(
        stored.caption.as_deref(),
        Some("Máy móc hiện có trong xưởng")
    );
    assert!(stored.upload.done, "the caption kept the finished upload");
    let outbox = db.outbox(&device, 10).await.unwrap();
    assert_eq!(
        outbox.iter().map(|e| e.mutation.seq).collect::<Vec<_>>(),
        [1, 2, 3, 4]
    );
    let last = &outbox[3].mutation;
    assert_eq!(last.fields.keys().collect::<Vec<_>>(), ["caption"]);
    assert_eq!(last.fields["caption"], json!("Máy móc hiện có trong xưởng"));
    assert!(last.hlc > outbox[2].mutation.hlc, "the clock moves on");
    assert_eq!(db.last_seq(&device).await.unwrap(), 4);

    // Removed: progress does not bring the record back, a caption queues nothing.
    let delete = db
        .remove_photo("u1", &photo.id, &device, 6_000, |seq, hlc| {
            change_entry(&photo, &device, seq, hlc, uuid::Uuid::from_u128(5), true)
        })
        .await
        .unwrap();
    assert_eq!(delete.mutation.seq, 5, "numbered by the stored counter");
    db.save_upload("u1", &photo.id, &progress(65_536))
        .await
        .unwrap();
    assert!(db.photos("u1", None).await.unwrap().is_empty());
    let gone = db
        .caption_photo(
            "u1",
            &device,
            &photo.id,
            Some("x".into()),
            uuid::Uuid::from_u128(6),
            7_000,
        )
        .await
        .unwrap();
    assert!(gone.is_none());
    assert_eq!(db.outbox(&device, 10).await.unwrap().len(), 5);
    assert_eq!(db.last_seq(&device).await.unwrap(), 5);
}

/// The server's answer to `entries`: each applied, re-stamped at `stamped`.
fn acked(
    entries: &[app::field::visits::local::OutboxEntry],
    stamped: Option<Hlc>,
) -> Vec<app::sync::MutationResult> {
    entries
        .iter()
        .map(|e| app::sync::MutationResult::Applied {
            seq: e.mutation.seq,
            mutation_id: e.mutation.mutation_id,
            lost: vec![],
            stamped,
        })
        .collect()
}

/// A push the server re-stamped (this phone's clock ran ahead): the visit
/// keeps the server's stamp as when its answer was written, through IndexedDB.
#[wasm_bindgen_test]
async fn a_restamped_push_leaves_the_servers_time_on_the_visit() {
    let db = OfflineDb::open_named(&fresh_name("restamped"))
        .await
        .unwrap();
    let session = test_session();
    db.set_session(&session).await.unwrap();
    let device = session.device_id.clone();
    let id = "01900000-0000-7000-8000-0000000000f3";
    let mut v = visit(id);
    v.answers.insert("workforce".into(), json!(20));
    let (saved, entries) = save(&v, &device, 1, &mut Hlc::default(), 600_000);
    db.save_visit("u1", &saved, &entries, &device, Hlc::default())
        .await
        .unwrap();
    let server = Hlc::new(5_000, 2);
    db.apply_push_results("u1", &device, &entries, &acked(&entries, Some(server)))
        .await
        .unwrap();
    let stored = db.visit("u1", id).await.unwrap().unwrap();
    assert_eq!(stored.written["workforce"], server);
    assert_eq!(stored.sync_state, SyncState::Synced);
}

/// A server restored from a backup lacks what it acknowledged after it: the
/// outbox is rebuilt, in one transaction, from what the phone saved and the
/// server's copy lacks, numbered after the server's last seq, with the
/// phone's own queued entries after it (their upserts of visits replaced by
/// the rebuild), and photos the server lacks wait to upload again.
#[wasm_bindgen_test]
async fn a_restored_server_gets_an_outbox_rebuilt_from_what_the_phone_holds() {
    use app::field::photos::local::{attach_entry, LocalPhoto, UploadState};
    use app::sync::{Entity, MutationKind};
    let db = OfflineDb::open_named(&fresh_name("restored"))
        .await
        .unwrap();
    let session = test_session();
    db.set_session(&session).await.unwrap();
    let device = session.device_id.clone();
    let (a_id, b_id) = (
        "01900000-0000-7000-8000-0000000000f1",
        "01900000-0000-7000-8000-0000000000f2",
    );
    let mut clock = Hlc::default();
    // Visit A: 40 workers (acknowledged before the backup), then 42
    // (acknowledged after it): the outbox is empty again.
    let mut a = visit(a_id);
    for (workforce, at) in [(40, 2_000), (42, 2_500)] {
        a.answers.insert("workforce".into(), json!(workforce));
        let next = db.last_seq(&device).await.unwrap() + 1;
        let (saved, entries) = save(&a, &device, next, &mut clock, at);
        db.save_visit("u1", &saved, &entries, &device, clock)
            .await
            .unwrap();
        db.apply_push_results("u1", &device, &entries, &acked(&entries, None))
            .await
            .unwrap();
        a = db.visit("u1", a_id).await.unwrap().unwrap();
    }
    // The pull after the second push saw version 2 of workforce.
    a.versions.insert("workforce".into(), 2);
    db.put_draft("u1", &a).await.unwrap();
    assert_eq!(db.outbox_len(&device).await.unwrap(), 0);
    assert_eq!(db.last_seq(&device).await.unwrap(), 2);
    // Visit B, saved and still queued, and a photo of A, attached and queued.
    let mut b = visit(b_id);
    b.answers.insert("workforce".into(), json!(7));
    let (b_saved, b_entries) = save(&b, &device, 3, &mut clock, 3_000);
    db.save_visit("u1", &b_saved, &b_entries, &device, clock)
        .await
        .unwrap();
    let bytes = vec![7u8; 1_000];
    let parts = js_sys::Array::of1(&js_sys::Uint8Array::from(bytes.as_slice()));
    let blob = web_sys::Blob::new_with_u8_array_sequence(&parts).unwrap();
    let photo = LocalPhoto {
        upload: UploadState {
            url: Some("/api/uploads/from-before".into()),
            offset: 1_000,
            done: true,
            error: None,
            refused: false,
        },
        ..taken_here(a_id, "ab".repeat(32))
    };
    let entry = db
        .attach_photo("u1", &photo, &blob, &device, 3_100, |seq, hlc| {
            attach_entry(&photo, &device, seq, hlc, uuid::Uuid::from_u128(9))
        })
        .await
        .unwrap();
    assert_eq!(entry.mutation.seq, 4, "numbered by the stored counter");
    assert_eq!(db.last_seq(&device).await.unwrap(), 4);

    // The restored server holds A with 40 workers, its first change only.
    let mut held = server_visit(a_id, Some("p1"));
    held.answers.insert("workforce".into(), json!(40));
    let server = std::collections::HashMap::from([(a_id.to_string(), held)]);
    let rebuilt = db
        .resend_after_restore(&session, 1, &server, 9_000)
        .await
        .unwrap();
    assert_eq!(rebuilt, 2, "A's answer and B whole");
    let outbox = db.outbox(&device, 100).await.unwrap();
    let seqs: Vec<i64> = outbox.iter().map(|e| e.mutation.seq).collect();
    assert_eq!(
        seqs,
        vec![2, 3, 4],
        "numbered on from the server's last seq"
    );
    assert_eq!(db.last_seq(&device).await.unwrap(), 4);
    let (first, second, third) = (
        &outbox[0].mutation,
        &outbox[1].mutation,
        &outbox[2].mutation,
    );
    assert_eq!(
        (first.record_id.to_string().as_str(), first.entity),
        (a_id, Entity::Visit)
    );
    assert_eq!(first.fields.get("workforce"), Some(&json!(42)));
    assert_eq!(first.base_version, 1, "on top of the server's version");
    assert_eq!(
        first.hlc.ms, 2_500,
        "stamped when 42 was saved (kept in IndexedDB with the visit), not at the recovery"
    );
    assert_eq!(second.record_id.to_string(), b_id);
    assert!(
        second.fields.contains_key("form_id"),
        "B's header goes again, once"
    );
    assert_eq!(
        (third.entity, third.kind, third.mutation_id),
        (
            Entity::Photo,
            MutationKind::Upsert,
            uuid::Uuid::from_u128(9)
        ),
        "the queued attach follows, renumbered"
    );
    let a_now = db.visit("u1", a_id).await.unwrap().unwrap();
    assert_eq!(a_now.sync_state, SyncState::Queued);
    assert_eq!(a_now.answers.get("workforce"), Some(&json!(42)));
    let photo_now = db.photos("u1", Some(a_id)).await.unwrap();
    assert!(photo_now[0].needs_upload(), "the bytes go again");
    assert_eq!(
        photo_now[0].upload.url, None,
        "to the restored server's uploads"
    );
    // The epoch is kept per user.
    db.set_epoch("u1", "e2").await.unwrap();
    assert_eq!(db.epoch("u1").await.unwrap().as_deref(), Some("e2"));
    assert_eq!(db.epoch("u2").await.unwrap(), None);
}
