//! A facility that moves takes its open years' proposals with it: into what
//! its new place became in the year's tree, or in its own tree to its new
//! district; the phones of the old place drop them and those of the new one
//! get them. Where the new place matches no single unit of the year's tree,
//! the proposal stays and its page offers the units to choose from. A
//! facility's district follows its commune, and a proposal's visits follow it.
//!
//! One file (about 490 lines): every way a facility moves (office, phone,
//! settled conflict, reopened year), sharing the set-up at the top.

use crate::helpers::{demo_proposal, TestApp};
use crate::phone::{statuses, Phone};
use crate::security::call;
use serde_json::{json, Value};

fn facility_draft(id: Option<&str>, unit: &str) -> Value {
    json!({"draft": {"id": id, "name": "Xưởng gốm Quế Nham", "owner_name": "Nguyễn Văn Đức",
        "address": "thôn Đông", "unit": unit, "industry_group": "handicrafts",
        "phone": "", "tax_code": "", "main_products": "gốm"}})
}

/// The change a pull sent last about proposal `id`: the record, or `deleted`.
fn last_about<'a>(changes: &'a [Value], id: &str) -> Option<&'a Value> {
    changes.iter().rev().find(|c| {
        c["entity"] == "proposal" && c["record"]["id"] == id
            || c["entity"] == "deleted"
                && c["record"]["entity"] == "proposal"
                && c["record"]["id"] == id
    })
}

async fn stored(app: &TestApp, id: &str) -> app::model::Proposal {
    app::store::catalog::proposal_by_id(&app.db.pool, id)
        .await
        .unwrap()
        .unwrap()
}

/// A facility at xã Quế Nham (Tân Yên, 2020) with a 2026 proposal at phường
/// Đa Mai, what Quế Nham became: (facility id, proposal id).
async fn facility_with_a_2026_proposal(app: &TestApp, boss: &str) -> (String, String) {
    let facility = call(
        app,
        boss,
        "save_facility",
        facility_draft(None, "bac-giang-2020/07366"),
    )
    .await;
    assert_eq!(facility.status, 200, "{}", facility.text());
    let facility: String = serde_json::from_value(facility.json()).unwrap();
    let proposal = call(
        app,
        boss,
        "create_proposal",
        json!({"proposal": {"facility_id": facility, "year": 2026, "unit": "bac-ninh-2025/07228",
            "title": "Máy tạo hình gốm", "support_kind": "machinery", "requested_amount": 100_000_000}}),
    )
    .await;
    assert_eq!(proposal.status, 200, "{}", proposal.text());
    (facility, serde_json::from_value(proposal.json()).unwrap())
}

/// The office moves the facility to xã Quang Châu (Việt Yên), which became
/// phường Nếnh: the 2026 proposal moves to Nếnh, audited; Tân Yên's
/// inspector drops it and Việt Yên's gets it; the plan counts it there.
async fn a_moved_facility_takes_its_open_years_proposal_into_what_its_place_became(app: TestApp) {
    let (boss, _) = app.login("giamsat").await;
    let (facility, proposal) = facility_with_a_2026_proposal(&app, &boss).await;
    let (tan_yen, _) = app.login("ksv3").await;
    let (viet_yen, _) = app.login("ksv2").await;
    let (before, cursor) = app.pull_from(&tan_yen, 0).await;
    assert_eq!(
        last_about(&before, &proposal).unwrap()["entity"],
        "proposal"
    );
    assert!(last_about(&app.pull_all(&viet_yen).await, &proposal).is_none());

    let moved = call(
        &app,
        &boss,
        "save_facility",
        facility_draft(Some(&facility), "bac-giang-2020/07807"),
    )
    .await;
    assert_eq!(moved.status, 200, "{}", moved.text());
    let p = stored(&app, &proposal).await;
    assert_eq!(p.commune_code.as_deref(), Some("07795"), "{p:?}");
    assert_eq!(p.unit_tree, "bac-ninh-2025");

    let (after, _) = app.pull_from(&tan_yen, cursor).await;
    assert_eq!(last_about(&after, &proposal).unwrap()["entity"], "deleted");
    let theirs = app.pull_all(&viet_yen).await;
    let got = last_about(&theirs, &proposal).unwrap();
    assert_eq!(got["entity"], "proposal", "{got}");
    assert_eq!(got["record"]["commune_code"], "07795");

    let detail = call(&app, &boss, "get_proposal", json!({"id": proposal})).await;
    assert_eq!(detail.status, 200, "{}", detail.text());
    let detail = detail.json();
    assert_eq!(detail["place_choices"], json!([]), "nothing to choose");
    let actions: Vec<&str> = detail["audit"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert!(
        actions.contains(&"proposal.moved_with_facility"),
        "{actions:?}"
    );
    let plan = call(&app, &boss, "get_plan", json!({"year": "2026"}))
        .await
        .json();
    let row = plan["proposals"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == proposal)
        .expect("in the plan")
        .clone();
    assert_eq!(row["district_code"], "07795", "{row}");
}

/// A demo facility of Bắc Giang city (district 213) moved by a phone's edit to
/// Lục Ngạn: its 2020 proposal, registered by the district, moves to Lục
/// Ngạn's district (not to a commune), and Lục Ngạn's inspector gets it.
async fn a_phones_move_carries_a_district_proposal_to_the_new_district(app: TestApp) {
    let proposal = demo_proposal("213");
    let facility = stored(&app, &proposal).await.facility_id;
    let mut boss = Phone::login(&app, "giamsat").await;
    let (city, _) = app.login("ksv1").await;
    let (_, cursor) = app.pull_from(&city, 0).await;
    let mv = boss.mutation(
        "facility",
        "upsert",
        &facility,
        json!({"district_code": "219", "commune_code": null}),
        0,
    );
    assert_eq!(statuses(&boss.push_ok(&app, &[mv]).await), ["applied"]);
    let p = stored(&app, &proposal).await;
    assert_eq!(
        (p.district_code.as_deref(), p.commune_code.as_deref()),
        (Some("219"), None)
    );
    let (after, _) = app.pull_from(&city, cursor).await;
    assert_eq!(last_about(&after, &proposal).unwrap()["entity"], "deleted");
    let (luc_ngan, _) = app.login("ksv5").await;
    let theirs = app.pull_all(&luc_ngan).await;
    assert_eq!(
        last_about(&theirs, &proposal).unwrap()["record"]["district_code"],
        "219"
    );
}

/// Moved to the district of Việt Yên only, the facility's place maps to
/// several 2025 communes: the proposal stays, and its page offers those
/// communes. The office places it in one of them; elsewhere is refused.
async fn a_proposal_left_behind_is_placed_by_the_office_among_its_facilitys_units(app: TestApp) {
    let (boss, _) = app.login("giamsat").await;
    let (facility, proposal) = facility_with_a_2026_proposal(&app, &boss).await;
    let moved = call(
        &app,
        &boss,
        "save_facility",
        facility_draft(Some(&facility), "bac-giang-2020/222"),
    )
    .await;
    assert_eq!(moved.status, 200, "{}", moved.text());
    assert_eq!(
        stored(&app, &proposal).await.commune_code.as_deref(),
        Some("07228"),
        "left where it was"
    );
    let detail = call(&app, &boss, "get_proposal", json!({"id": proposal}))
        .await
        .json();
    let keys: Vec<&str> = detail["place_choices"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c[0].as_str().unwrap())
        .collect();
    assert!(keys.contains(&"bac-ninh-2025/07795"), "{keys:?}");
    assert!(!keys.contains(&"bac-ninh-2025/07228"), "{keys:?}");
    assert!(keys.iter().all(|k| k.starts_with("bac-ninh-2025/")));

    let place = |unit: &str| {
        json!({"edit": {"id": proposal, "title": "Máy tạo hình gốm", "support_kind": "machinery",
            "requested_amount": 100_000_000, "unit": unit}})
    };
    let elsewhere = call(&app, &boss, "update_proposal", place("bac-ninh-2025/07210")).await;
    assert_eq!(elsewhere.status, 422, "{}", elsewhere.text());
    assert_eq!(elsewhere.json()["code"], "proposal.facility_elsewhere");
    let old_tree = call(
        &app,
        &boss,
        "update_proposal",
        place("bac-giang-2020/07807"),
    )
    .await;
    assert_eq!(old_tree.status, 422, "{}", old_tree.text());
    assert_eq!(old_tree.json()["code"], "unit.unknown");

    let (viet_yen, _) = app.login("ksv2").await;
    let (_, cursor) = app.pull_from(&viet_yen, 0).await;
    let placed = call(&app, &boss, "update_proposal", place("bac-ninh-2025/07795")).await;
    assert_eq!(placed.status, 200, "{}", placed.text());
    assert_eq!(
        stored(&app, &proposal).await.commune_code.as_deref(),
        Some("07795")
    );
    let (after, _) = app.pull_from(&viet_yen, cursor).await;
    assert_eq!(last_about(&after, &proposal).unwrap()["entity"], "proposal");
    let detail = call(&app, &boss, "get_proposal", json!({"id": proposal}))
        .await
        .json();
    assert_eq!(detail["place_choices"], json!([]));
    let moved_entry = detail["audit"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["action"] == "proposal.updated")
        .expect("audited")
        .clone();
    let change: Value = serde_json::from_str(moved_entry["detail"].as_str().unwrap()).unwrap();
    assert_eq!(change["old"]["commune_code"], "07228", "{change}");
    assert_eq!(change["new"]["commune_code"], "07795", "{change}");
}

/// The facility's commune and its 2026 proposal's commune, as stored.
async fn places(app: &TestApp, facility: &str, proposal: &str) -> (Option<String>, Option<String>) {
    let f = app::store::catalog::facility_by_id(&app.db.pool, facility)
        .await
        .unwrap()
        .unwrap();
    (f.commune_code, stored(app, proposal).await.commune_code)
}

/// The office moves a 2025 facility while a phone, offline since its pull,
/// moves it too: a conflict on its commune. Whichever value holds, at each
/// step, the proposal is where the facility is; the supervisor's settling
/// moves both.
async fn a_settled_conflict_on_the_commune_moves_the_proposal_too(app: TestApp) {
    let (boss, _) = app.login("giamsat").await;
    let facility = call(
        &app,
        &boss,
        "save_facility",
        facility_draft(None, "bac-ninh-2025/07210"),
    )
    .await;
    assert_eq!(facility.status, 200, "{}", facility.text());
    let facility: String = serde_json::from_value(facility.json()).unwrap();
    let proposal = call(
        &app,
        &boss,
        "create_proposal",
        json!({"proposal": {"facility_id": facility, "year": 2026, "unit": "",
            "title": "Lò nung gốm", "support_kind": "machinery", "requested_amount": 80_000_000}}),
    )
    .await;
    assert_eq!(proposal.status, 200, "{}", proposal.text());
    let proposal: String = serde_json::from_value(proposal.json()).unwrap();
    // ksv1 (Bắc Giang city, 2020) holds both phường Bắc Giang and Đa Mai.
    let mut phone = Phone::login(&app, "ksv1").await;
    app.pull_all(&phone.cookie).await;

    let moved = call(
        &app,
        &boss,
        "save_facility",
        facility_draft(Some(&facility), "bac-ninh-2025/07228"),
    )
    .await;
    assert_eq!(moved.status, 200, "{}", moved.text());
    let both = |c: &str| (Some(c.to_string()), Some(c.to_string()));
    assert_eq!(places(&app, &facility, &proposal).await, both("07228"));

    let mv = phone.mutation(
        "facility",
        "upsert",
        &facility,
        json!({"commune_code": "07210"}),
        0,
    );
    let pushed = phone.push_ok(&app, &[mv]).await;
    assert_eq!(pushed[0]["status"], "applied", "{pushed:?}");
    let (f, p) = places(&app, &facility, &proposal).await;
    assert_eq!(
        f, p,
        "the proposal is where the facility is after the phone's move"
    );

    let detail = call(&app, &boss, "get_facility", json!({ "id": facility }))
        .await
        .json();
    let conflict = detail["conflicts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["field"] == "commune_code")
        .unwrap_or_else(|| panic!("a conflict on the commune: {detail}"))
        .clone();
    let other = if f.as_deref() == Some("07228") {
        "07210"
    } else {
        "07228"
    };
    let settled = call(
        &app,
        &boss,
        "resolve_conflict",
        json!({"id": conflict["id"], "value": other}),
    )
    .await;
    assert_eq!(settled.status, 200, "{}", settled.text());
    assert_eq!(places(&app, &facility, &proposal).await, both(other));
}

/// The demo's 2020 proposal of Việt Yên (district 222) and its facility.
async fn viet_yen_2020(app: &TestApp) -> (String, String) {
    let proposal = demo_proposal("222");
    let facility = stored(app, &proposal).await.facility_id;
    (facility, proposal)
}

/// A supervisor's phone reports the facility in phường Thọ Xương (thành phố
/// Bắc Giang, 213).
async fn moved_to_the_city(app: &TestApp, facility: &str) {
    let mut boss = Phone::login(app, "giamsat").await;
    let mv = boss.mutation(
        "facility",
        "upsert",
        facility,
        json!({"commune_code": "07201", "district_code": "213"}),
        0,
    );
    assert_eq!(statuses(&boss.push_ok(app, &[mv]).await), ["applied"]);
}

/// A facility moved while its proposal's year was closed: the proposal stays
/// (the closed plan is history), and goes where the facility is when the
/// year reopens, to the phones of that place.
async fn a_reopened_year_takes_its_proposals_where_their_facilities_went(app: TestApp) {
    let (facility, proposal) = viet_yen_2020(&app).await;
    let (admin, _) = app.login("quantri").await;
    let closed = call(
        &app,
        &admin,
        "close_year",
        json!({"year": 2020, "confirm": true}),
    )
    .await;
    assert_eq!(closed.status, 200, "{}", closed.text());
    moved_to_the_city(&app, &facility).await;
    assert_eq!(
        stored(&app, &proposal).await.district_code.as_deref(),
        Some("222")
    );

    let reopened = call(
        &app,
        &admin,
        "open_year",
        json!({"request": {"year": 2020, "unit_tree": "bac-giang-2020", "form_id": "khuyen-cong", "form_version": 1}}),
    )
    .await;
    assert_eq!(reopened.status, 200, "{}", reopened.text());
    let p = stored(&app, &proposal).await;
    assert_eq!(
        (p.district_code.as_deref(), p.commune_code.as_deref()),
        (Some("213"), None),
        "still registered by district, now the facility's"
    );
    let (city, _) = app.login("ksv1").await;
    assert_eq!(
        last_about(&app.pull_all(&city).await, &proposal).unwrap()["entity"],
        "proposal"
    );
    let (boss, _) = app.login("giamsat").await;
    let detail = call(&app, &boss, "get_proposal", json!({"id": proposal}))
        .await
        .json();
    assert_eq!(detail["place_choices"], json!([]));
}

/// A visit started on a proposal is filed where the proposal is: after the
/// facility moves, the review list's district filter finds it there, under
/// the new district's name.
async fn a_moved_proposals_visits_are_listed_at_its_new_place(app: TestApp) {
    let (facility, proposal) = viet_yen_2020(&app).await;
    let mut inspector = Phone::login(&app, "ksv2").await;
    let visit = uuid::Uuid::now_v7().to_string();
    let start = inspector.new_visit(&visit, &proposal, json!({}));
    assert_eq!(
        statuses(&inspector.push_ok(&app, &[start]).await),
        ["applied"]
    );
    moved_to_the_city(&app, &facility).await;

    let (boss, _) = app.login("giamsat").await;
    let page = call(
        &app,
        &boss,
        "search_visits",
        json!({"query": {"district": "bac-giang-2020/213", "sort": "received", "desc": true, "page": 1}}),
    )
    .await;
    assert_eq!(page.status, 200, "{}", page.text());
    let page = page.json();
    let row = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["id"] == visit)
        .unwrap_or_else(|| panic!("listed under the city: {page}"))
        .clone();
    assert_eq!(row["district_name"], "thành phố Bắc Giang", "{row}");
}

/// A proposal's place follows its facility: the office places only one a
/// move left away from it.
async fn a_proposal_where_its_facility_is_is_not_placed_by_hand(app: TestApp) {
    let (_, proposal) = viet_yen_2020(&app).await;
    let (boss, _) = app.login("giamsat").await;
    let p = stored(&app, &proposal).await;
    let edit = |unit: &str| {
        json!({"edit": {"id": proposal, "title": p.title, "support_kind": p.support_kind,
            "requested_amount": p.requested_amount, "unit": unit}})
    };
    let moved = call(&app, &boss, "update_proposal", edit("bac-giang-2020/07807")).await;
    assert_eq!(moved.status, 422, "{}", moved.text());
    assert_eq!(moved.json()["code"], "proposal.place_follows_facility");
    assert_eq!(stored(&app, &proposal).await, p, "unchanged");
    // Its own place, named again, is no change.
    let same = call(&app, &boss, "update_proposal", edit("bac-giang-2020/222")).await;
    assert_eq!(same.status, 200, "{}", same.text());
}

/// Two phones move one facility: the newer edit names only a commune (xã
/// Trung Sơn, Việt Yên), an older offline one a commune and district of the
/// city. Merged field by field, the newer commune would sit with the older
/// district; the district follows the commune, and so does the proposal.
async fn merged_moves_keep_a_facilitys_commune_in_its_district(app: TestApp) {
    let (facility, proposal) = viet_yen_2020(&app).await;
    let mut newer = Phone::login(&app, "giamsat").await;
    let mut older = Phone::login(&app, "giamsat").await;
    older.skew_ms = -60_000;
    let trung_son = newer.mutation(
        "facility",
        "upsert",
        &facility,
        json!({"commune_code": "07780"}),
        0,
    );
    assert_eq!(
        statuses(&newer.push_ok(&app, &[trung_son]).await),
        ["applied"]
    );
    let city = older.mutation(
        "facility",
        "upsert",
        &facility,
        json!({"commune_code": "07201", "district_code": "213"}),
        0,
    );
    assert_eq!(statuses(&older.push_ok(&app, &[city]).await), ["applied"]);
    let f = app::store::catalog::facility_by_id(&app.db.pool, &facility)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (f.commune_code.as_deref(), f.district_code.as_deref()),
        (Some("07780"), Some("222"))
    );
    assert_eq!(
        stored(&app, &proposal).await.district_code.as_deref(),
        Some("222")
    );
}

crate::engine_tests!(
    a_reopened_year_takes_its_proposals_where_their_facilities_went,
    a_moved_proposals_visits_are_listed_at_its_new_place,
    a_proposal_where_its_facility_is_is_not_placed_by_hand,
    merged_moves_keep_a_facilitys_commune_in_its_district,
    a_settled_conflict_on_the_commune_moves_the_proposal_too,
    a_moved_facility_takes_its_open_years_proposal_into_what_its_place_became,
    a_phones_move_carries_a_district_proposal_to_the_new_district,
    a_proposal_left_behind_is_placed_by_the_office_among_its_facilitys_units,
);
