//! A photo field merges as a set through the real push endpoint: two phones
//! adding photos to one field at once keep both, a removal (a deleted record)
//! stays removed against a stale list, and no answer names a removed photo.

use crate::helpers::{demo_proposal, TestApp};
use crate::phone::{statuses, Phone};
use serde_json::{json, Value};

const FIELD: &str = "evidence_photos";

/// Two phones of ksv1 on one visit whose photo field holds one photo at
/// version 1, as both phones pulled it.
async fn a_visit_with_one_photo(app: &TestApp) -> (Phone, Phone, String, String) {
    let mut a = Phone::login(app, "ksv1").await;
    let b = Phone::login(app, "ksv1").await;
    let visit = uuid::Uuid::now_v7().to_string();
    let create = a.new_visit(&visit, &demo_proposal("213"), json!({"workforce": 10}));
    let first = attach(&mut a, &visit);
    let listed = a.mutation("visit", "upsert", &visit, json!({FIELD: [first.0]}), 0);
    let sent = [create, first.1, listed];
    assert_eq!(
        statuses(&a.push_ok(app, &sent).await),
        ["applied", "applied", "applied"]
    );
    (a, b, visit, first.0)
}

/// A new photo's id and the mutation that attaches it to the field.
fn attach(phone: &mut Phone, visit: &str) -> (String, Value) {
    let photo = uuid::Uuid::now_v7().to_string();
    let m = phone.mutation(
        "photo",
        "upsert",
        &photo,
        json!({
            "visit_id": visit, "field": FIELD,
            "sha256": crate::uploads::sha256_hex(photo.as_bytes()), "size": 1_000,
            "content_type": "image/jpeg"}),
        0,
    );
    (photo, m)
}

/// The field's stored answer, its version, and the conflicts recorded on it.
async fn stored(app: &TestApp, visit: &str) -> (Value, i64, usize) {
    let (v, _) = app::store::visits::record(&app.db.pool, visit)
        .await
        .unwrap()
        .unwrap();
    let conflicts = sqlx::query("SELECT id FROM conflicts WHERE field = $1")
        .bind(FIELD)
        .fetch_all(&app.db.pool)
        .await
        .unwrap()
        .len();
    (
        v.answers.get(FIELD).cloned().unwrap_or(Value::Null),
        v.versions.get(FIELD).copied().unwrap_or(0),
        conflicts,
    )
}

async fn two_phones_adding_photos_to_one_field_at_once_keep_both(app: TestApp) {
    for b_later in [true, false] {
        let (mut a, mut b, visit, p0) = a_visit_with_one_photo(&app).await;
        // Both saw version 1; whichever stamp is later, neither photo drops out.
        b.skew_ms = if b_later { 5_000 } else { -5_000 };
        let (pa, attach_a) = attach(&mut a, &visit);
        let list_a = a.mutation("visit", "upsert", &visit, json!({FIELD: [p0, pa]}), 1);
        let (pb, attach_b) = attach(&mut b, &visit);
        let list_b = b.mutation("visit", "upsert", &visit, json!({FIELD: [p0, pb]}), 1);
        let later = [&list_a, &list_b]
            .map(|m| m["hlc"].as_str().unwrap().to_string())
            .into_iter()
            .max()
            .unwrap();
        let ra = a.push_ok(&app, &[attach_a, list_a]).await;
        let rb = b.push_ok(&app, &[attach_b, list_b]).await;
        assert_eq!(statuses(&ra), ["applied", "applied"]);
        assert_eq!(statuses(&rb), ["applied", "applied"]);
        assert!(
            rb[1].get("lost").is_none(),
            "b_later = {b_later}: nothing of the phone's was lost"
        );
        let (answer, version, conflicts) = stored(&app, &visit).await;
        assert_eq!(answer, json!([p0, pa, pb]), "b_later = {b_later}");
        assert_eq!(version, 3, "the merged set is a new version phones pull");
        assert_eq!(conflicts, 0, "a union leaves nothing to decide");
        let (record, _) = app::store::visits::record(&app.db.pool, &visit)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            record.written[FIELD].encode(),
            later,
            "the set is as recent as the later list"
        );
        // The phone that pushed first pulls the union.
        let changes = app.pull_all(&a.cookie).await;
        let pulled = changes
            .iter()
            .find(|c| c["entity"] == "visit" && c["record"]["id"] == visit.as_str())
            .expect("the visit is in the pull");
        assert_eq!(pulled["record"]["answers"][FIELD], json!([p0, pa, pb]));
    }
}

async fn a_removal_against_a_stale_list_stays_removed(app: TestApp) {
    for removal_first in [true, false] {
        let (mut a, mut b, visit, p) = a_visit_with_one_photo(&app).await;
        // B removes P (its record, then the field); A, offline with version 1,
        // adds Q to the list it has, which still names P.
        let remove = b.mutation("photo", "delete", &p, json!({}), 0);
        let emptied = b.mutation("visit", "upsert", &visit, json!({FIELD: []}), 1);
        let (q, attach_q) = attach(&mut a, &visit);
        let stale = a.mutation("visit", "upsert", &visit, json!({FIELD: [p, q]}), 1);
        if removal_first {
            b.push_ok(&app, &[remove, emptied]).await;
            a.push_ok(&app, &[attach_q, stale]).await;
        } else {
            a.push_ok(&app, &[attach_q, stale]).await;
            b.push_ok(&app, &[remove, emptied]).await;
        }
        let (answer, _, conflicts) = stored(&app, &visit).await;
        assert_eq!(answer, json!([q]), "removal_first = {removal_first}");
        assert_eq!(conflicts, 0);
    }
}

async fn a_list_naming_a_removed_photo_is_stored_without_it(app: TestApp) {
    let (mut a, mut b, visit, p) = a_visit_with_one_photo(&app).await;
    let remove = b.mutation("photo", "delete", &p, json!({}), 0);
    b.push_ok(&app, &[remove]).await;
    // A had seen the current version; its list still names the removed photo
    // (the removal's change to the field had not come yet).
    let (q, attach_q) = attach(&mut a, &visit);
    let list = a.mutation("visit", "upsert", &visit, json!({FIELD: [p, q]}), 1);
    assert_eq!(
        statuses(&a.push_ok(&app, &[attach_q, list]).await),
        ["applied", "applied"]
    );
    let (answer, version, _) = stored(&app, &visit).await;
    assert_eq!(answer, json!([q]));
    // Clearing the field (as seen) stays a cleared answer, not an empty list.
    let cleared = a.mutation("visit", "upsert", &visit, json!({FIELD: null}), version);
    a.push_ok(&app, &[cleared]).await;
    assert_eq!(stored(&app, &visit).await.0, Value::Null);
}

async fn a_caption_or_a_second_removal_of_a_removed_photo_is_kept_and_it_stays_removed(
    app: TestApp,
) {
    let (mut a, mut b, visit, p) = a_visit_with_one_photo(&app).await;
    let remove = b.mutation("photo", "delete", &p, json!({}), 0);
    let emptied = b.mutation("visit", "upsert", &visit, json!({FIELD: []}), 1);
    b.push_ok(&app, &[remove, emptied]).await;
    let removed_at = || async {
        let row = sqlx::query("SELECT caption, deleted_at FROM photos WHERE id = $1")
            .bind(&p)
            .fetch_one(&app.db.pool)
            .await
            .unwrap();
        (
            app::store::col::<Option<String>>(&row, "caption").unwrap(),
            app::store::col::<Option<i64>>(&row, "deleted_at").unwrap(),
        )
    };
    let (_, first_removal) = removed_at().await;
    // A had not heard of the removal: it captions the photo, then removes it too.
    let caption = a.mutation("photo", "upsert", &p, json!({"caption": "Cổng xưởng"}), 0);
    let again = a.mutation("photo", "delete", &p, json!({}), 0);
    assert_eq!(
        statuses(&a.push_ok(&app, &[caption, again]).await),
        ["applied", "applied"],
        "nothing to refuse: the phone could not redo either"
    );
    let (caption, removal) = removed_at().await;
    assert_eq!(
        caption.as_deref(),
        Some("Cổng xưởng"),
        "kept with the removed original"
    );
    assert!(first_removal.is_some());
    assert_eq!(
        removal, first_removal,
        "still removed, at the first removal's time"
    );
    assert_eq!(stored(&app, &visit).await.0, json!([]));
    let got = app.get(&format!("/api/photos/{p}"), Some(&a.cookie)).await;
    assert_ne!(got.status, axum::http::StatusCode::OK, "not live again");
}

async fn a_removal_takes_the_photo_out_of_a_list_that_came_first(app: TestApp) {
    let (mut a, mut b, visit, p) = a_visit_with_one_photo(&app).await;
    // A stale list naming P arrives before the removal (as a restore's
    // recovery sends a visit's answers before its photos' removals).
    let (q, attach_q) = attach(&mut a, &visit);
    let list = a.mutation("visit", "upsert", &visit, json!({FIELD: [p, q]}), 1);
    a.push_ok(&app, &[attach_q, list]).await;
    let remove = b.mutation("photo", "delete", &p, json!({}), 0);
    let remove_hlc = remove["hlc"].as_str().unwrap().to_string();
    assert_eq!(statuses(&b.push_ok(&app, &[remove]).await), ["applied"]);
    let (answer, version, conflicts) = stored(&app, &visit).await;
    assert_eq!(answer, json!([q]));
    assert_eq!(version, 3, "a new version the phones pull");
    assert_eq!(conflicts, 0);
    let (record, _) = app::store::visits::record(&app.db.pool, &visit)
        .await
        .unwrap()
        .unwrap();
    assert!(record.written[FIELD].encode() >= remove_hlc);
}

async fn the_bytes_of_a_photo_removed_before_they_came_are_kept(app: TestApp) {
    let mut f = crate::uploads::field(&app, "ksv1").await;
    let bytes = crate::uploads::marked_jpeg(60, 40);
    let photo = f.attach(&app, &bytes, json!({})).await;
    let remove = f.phone.mutation("photo", "delete", &photo, json!({}), 0);
    f.phone.push_ok(&app, &[remove]).await;
    // The phone that took it had not sent its bytes yet: they exist only there.
    assert_eq!(f.upload(&app, &photo, &bytes, 1 << 20).await.status, 204);
    let row = sqlx::query("SELECT status, object_key, deleted_at FROM photos WHERE id = $1")
        .bind(&photo)
        .fetch_one(&app.db.pool)
        .await
        .unwrap();
    assert_eq!(app::store::col::<String>(&row, "status").unwrap(), "ok");
    assert!(app::store::col::<Option<String>>(&row, "object_key")
        .unwrap()
        .is_some());
    assert!(
        app::store::col::<Option<i64>>(&row, "deleted_at")
            .unwrap()
            .is_some(),
        "still removed"
    );
    let got = app
        .get(&format!("/api/photos/{photo}"), Some(&f.phone.cookie))
        .await;
    assert_ne!(got.status, axum::http::StatusCode::OK, "not live again");
}

async fn a_list_naming_another_visits_photo_leaves_it_out(app: TestApp) {
    let (mut a, _, visit, p) = a_visit_with_one_photo(&app).await;
    let (mut other, _, other_visit, foreign) = a_visit_with_one_photo(&app).await;
    // A stale list and an up-to-date one, each naming a photo of another visit.
    let stale = a.mutation("visit", "upsert", &visit, json!({FIELD: [p, foreign]}), 0);
    let current = other.mutation(
        "visit",
        "upsert",
        &other_visit,
        json!({FIELD: [foreign, p]}),
        1,
    );
    a.push_ok(&app, &[stale]).await;
    other.push_ok(&app, &[current]).await;
    assert_eq!(stored(&app, &visit).await.0, json!([p]));
    assert_eq!(stored(&app, &other_visit).await.0, json!([foreign]));
}

/// A conflict on a photo field recorded before lists merged as sets: the
/// supervisor's choice goes without the photo removed since.
async fn settling_an_old_photo_conflict_leaves_out_a_removed_photo(app: TestApp) {
    let (mut a, mut b, visit, p) = a_visit_with_one_photo(&app).await;
    let (q, attach_q) = attach(&mut a, &visit);
    let list = a.mutation("visit", "upsert", &visit, json!({FIELD: [p, q]}), 1);
    a.push_ok(&app, &[attach_q, list]).await;
    sqlx::query(
        "INSERT INTO conflicts (entity, record_id, field, base_version, winner_value, winner_hlc, winner_device,
           loser_value, loser_hlc, loser_device, loser_mutation_id, created_at)
         VALUES ('visit', $1, $2, 1, $3, '0', 'd1', $4, '0', 'd2', 'm', 0)",
    )
    .bind(&visit)
    .bind(FIELD)
    .bind(json!([p]).to_string())
    .bind(json!([p, q]).to_string())
    .execute(&app.db.pool)
    .await
    .unwrap();
    let remove = b.mutation("photo", "delete", &q, json!({}), 0);
    b.push_ok(&app, &[remove]).await;
    let (boss, _) = app.login("giamsat").await;
    let id: i64 = app::store::col(
        &sqlx::query("SELECT id FROM conflicts WHERE field = $1")
            .bind(FIELD)
            .fetch_one(&app.db.pool)
            .await
            .unwrap(),
        "id",
    )
    .unwrap();
    let r = crate::security::rpc("resolve_conflict", json!({"id": id, "value": [p, q]}))
        .cookie(Some(&boss))
        .send(&app.router)
        .await;
    crate::security::ok(&r);
    assert_eq!(stored(&app, &visit).await.0, json!([p]));
}

async fn other_fields_still_keep_their_conflicts(app: TestApp) {
    let (mut a, mut b, visit, _) = a_visit_with_one_photo(&app).await;
    let ma = a.mutation("visit", "upsert", &visit, json!({"workforce": 20}), 1);
    b.skew_ms = 5_000;
    let mb = b.mutation("visit", "upsert", &visit, json!({"workforce": 30}), 1);
    b.push_ok(&app, &[mb]).await;
    let ra = a.push_ok(&app, &[ma]).await;
    assert_eq!(ra[0]["lost"], json!(["workforce"]));
}

/// A field holds at most `MAX_PER_FIELD` photos: the attach beyond it and a
/// longer list are refused with their reason, and a union of lists drops the
/// ids the server does not know before it grows past the limit, so a phone
/// sending lists of ids it never attaches cannot make every merge, pull and
/// review page of the visit heavier without end.
async fn a_field_holds_at_most_its_photos_and_a_union_stays_within_them(app: TestApp) {
    let max = app::photos::MAX_PER_FIELD;
    let (mut a, mut b, visit, p0) = a_visit_with_one_photo(&app).await;
    let mut ids = vec![p0.clone()];
    let mut batch = Vec::new();
    for _ in 1..max {
        let (id, m) = attach(&mut a, &visit);
        ids.push(id);
        batch.push(m);
    }
    batch.push(a.mutation("visit", "upsert", &visit, json!({FIELD: ids}), 1));
    let results = a.push_ok(&app, &batch).await;
    assert!(statuses(&results).iter().all(|s| s == "applied"));
    assert_eq!(
        stored(&app, &visit).await.0,
        json!(ids),
        "the limit itself is fine"
    );

    let (extra, one_more) = attach(&mut a, &visit);
    let results = a.push_ok(&app, &[one_more]).await;
    assert_eq!(statuses(&results), ["refused"]);
    assert_eq!(results[0]["error"]["code"], "photo.too_many");
    assert_eq!(results[0]["error"]["params"]["max"], max);
    let mut longer = ids.clone();
    longer.push(extra);
    let too_long = a.mutation("visit", "upsert", &visit, json!({FIELD: longer}), 2);
    let results = a.push_ok(&app, &[too_long]).await;
    assert_eq!(statuses(&results), ["refused"]);
    assert_eq!(results[0]["error"]["code"], "form.too_many_photos");
    assert_eq!(
        stored(&app, &visit).await.0,
        json!(ids),
        "nothing of either stored"
    );

    // B, still at version 1, lists the first photo and ids nobody attached.
    let mut unknown = vec![p0];
    unknown.extend((1..max).map(|_| uuid::Uuid::now_v7().to_string()));
    let stale = b.mutation("visit", "upsert", &visit, json!({FIELD: unknown}), 1);
    assert_eq!(statuses(&b.push_ok(&app, &[stale]).await), ["applied"]);
    assert_eq!(
        stored(&app, &visit).await.0,
        json!(ids),
        "the union keeps the field's photos and leaves out what would pass the limit"
    );
}

crate::engine_tests!(
    a_field_holds_at_most_its_photos_and_a_union_stays_within_them,
    two_phones_adding_photos_to_one_field_at_once_keep_both,
    a_removal_against_a_stale_list_stays_removed,
    a_list_naming_a_removed_photo_is_stored_without_it,
    a_removal_takes_the_photo_out_of_a_list_that_came_first,
    the_bytes_of_a_photo_removed_before_they_came_are_kept,
    a_list_naming_another_visits_photo_leaves_it_out,
    settling_an_old_photo_conflict_leaves_out_a_removed_photo,
    a_caption_or_a_second_removal_of_a_removed_photo_is_kept_and_it_stays_removed,
    other_fields_still_keep_their_conflicts,
);
