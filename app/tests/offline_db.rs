//! OfflineDb against real IndexedDB in headless Chromium (wasm-bindgen-test).
//! Run: cargo test -p app --features hydrate --target wasm32-unknown-unknown --test offline_db
#![cfg(all(target_arch = "wasm32", feature = "hydrate"))]

use app::model::{Role, UserInfo};
use app::offline::{OfflineDb, Session};
use app::sync::Hlc;
use app::visits::local::{save, LocalVisit, SyncState};
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
