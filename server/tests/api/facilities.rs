//! The office's register of facilities: registration, edits merged per field
//! with the phones' edits, deactivation, proposals registered at a facility,
//! and search by place across the 2020 and 2025 trees.
//!
//! One file (about 490 lines): each test walks one facility through the
//! office and a phone in turn, and they share the draft and pull helpers.

use crate::helpers::TestApp;
use crate::phone::Phone;
use crate::security::{call, ok};
use serde_json::{json, Value};

/// Hòa Phát, registered in 2020 in phường Thọ Xương (07201), merged in 2025
/// into phường Bắc Giang (07210).
const HOA_PHAT: &str = "016ebef8-b438-704a-8191-9c86a9849b88";
/// Xương Giang co-operative, registered in 2026 in the 2025 phường Bắc Giang.
const XUONG_GIANG: &str = "019b2f10-4c00-7a10-8a01-2b5e1d7f0001";

fn draft(name: &str, unit: &str) -> Value {
    json!({"id": null, "name": name, "owner_name": "Trần Văn Bình", "address": "tổ 5, phường Bắc Giang",
        "unit": unit, "industry_group": "processing", "phone": "0912 345 678",
        "tax_code": "2400123456", "main_products": "Bánh đa"})
}

fn facility_in<'a>(changes: &'a [Value], id: &str) -> Option<&'a Value> {
    changes
        .iter()
        .rev()
        .find(|c| c["record"]["id"] == id || c["id"] == id)
}

fn found(app_result: &Value) -> Vec<String> {
    app_result
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["facility"]["id"].as_str().unwrap().to_string())
        .collect()
}

/// Registered, edited and deactivated from the office: checked like every
/// other way in, audited, pulled by the inspectors whose scope holds the
/// place (across the mapping), and merged with a phone's offline edit of the
/// same field as a kept conflict.
async fn the_office_registers_edits_and_deactivates_a_facility_that_phones_follow(app: TestApp) {
    let (boss, _) = app.login("giamsat").await;
    let (admin, _) = app.login("quantri").await;
    let (ksv1, device) = app.login("ksv1").await;
    let (ksv4, _) = app.login("ksv4").await;

    // Refused drafts store nothing.
    let mut bad = draft("Bánh đa Kế", "bac-ninh-2025/99999");
    let r = call(&app, &boss, "save_facility", json!({ "draft": bad })).await;
    assert_eq!(r.status, 422, "{}", r.text());
    assert_eq!(r.json()["code"], "unit.unknown");
    bad["unit"] = "bac-ninh-2025/07210".into();
    bad["industry_group"] = "bakery".into();
    assert_eq!(
        call(&app, &boss, "save_facility", json!({ "draft": bad }))
            .await
            .json()["code"],
        "facility.unknown_industry"
    );
    let r = call(
        &app,
        &ksv1,
        "save_facility",
        json!({"draft": draft("X", "bac-ninh-2025/07210")}),
    )
    .await;
    assert_eq!(r.status, 403);

    let created = call(
        &app,
        &boss,
        "save_facility",
        json!({"draft": draft("Bánh đa Kế", "bac-ninh-2025/07210")}),
    )
    .await;
    assert_eq!(created.status, 200, "{}", created.text());
    let id = created.json().as_str().unwrap().to_string();
    // The same tax code twice would make the intake's matching ambiguous.
    let twice = call(
        &app,
        &boss,
        "save_facility",
        json!({"draft": draft("Bánh đa Kế 2", "bac-ninh-2025/07210")}),
    )
    .await;
    assert_eq!(twice.json()["code"], "facility.tax_code_taken");
    assert_eq!(twice.json()["params"]["other"], "Bánh đa Kế");

    // ksv1 holds the 2020 district 213, which the mapping joins to 07210.
    let (changes, cursor) = app.pull_from(&ksv1, 0).await;
    let pulled = facility_in(&changes, &id).expect("ksv1 pulls the new facility");
    assert_eq!(pulled["record"]["phone"], "0912345678");
    assert_eq!(pulled["record"]["unit_tree"], "bac-ninh-2025");
    assert!(facility_in(&app.pull_all(&ksv4).await, &id).is_none());

    // The office renames it; the phone, offline since its pull, renames it too.
    let mut edit = draft("Cơ sở Bánh đa Kế", "bac-ninh-2025/07210");
    edit["id"] = id.clone().into();
    edit["tax_code"] = "".into();
    let saved = call(&app, &boss, "save_facility", json!({ "draft": edit })).await;
    assert_eq!(saved.status, 200, "{}", saved.text());
    let (after_edit, cursor) = app.pull_from(&ksv1, cursor).await;
    let pulled = facility_in(&after_edit, &id).expect("the edit reaches the phone");
    assert_eq!(pulled["record"]["name"], "Cơ sở Bánh đa Kế");
    assert_eq!(pulled["record"]["versions"]["name"], 1);
    let phone_edit = json!({"device_id": device, "schema_version": app::sync::MUTATION_SCHEMA_VERSION,
        "mutations": [{"seq": 1, "mutation_id": uuid::Uuid::now_v7().to_string(), "kind": "upsert",
            "entity": "facility", "record_id": id, "fields": {"name": "Bánh đa Kế Dĩnh"},
            "hlc": app::sync::Hlc::new(app::store::now_ms() + 1000, 0).encode(), "base_version": 0}]});
    let pushed = app
        .post_json("/api/sync/push", Some(&ksv1), &phone_edit)
        .await;
    assert_eq!(pushed.status, 200, "{}", pushed.text());
    let conflicts: i64 = sqlx::query_scalar::<_, i64>(
        "SELECT COUNT(*) FROM conflicts WHERE entity = 'facility' AND record_id = $1 AND field = 'name'",
    )
    .bind(&id)
    .fetch_one(&app.db.pool)
    .await
    .unwrap();
    assert_eq!(conflicts, 1, "the office's value is kept as the other side");

    // The register shows it; the supervisor keeps one of the two values.
    let detail = ok(&call(&app, &boss, "get_facility", json!({ "id": id })).await);
    let conflict = &detail["conflicts"][0];
    assert_eq!(conflict["field"], "name", "{detail}");
    let values = [conflict["mine"].clone(), conflict["theirs"].clone()];
    assert!(
        values.contains(&json!("Cơ sở Bánh đa Kế")) && values.contains(&json!("Bánh đa Kế Dĩnh"))
    );
    let conflict_id = conflict["id"].as_i64().unwrap();
    let r = call(
        &app,
        &boss,
        "resolve_conflict",
        json!({"id": conflict_id, "value": "Bánh đa"}),
    )
    .await;
    assert_eq!(r.json()["code"], "conflict.facility_value", "{}", r.text());
    let r = call(
        &app,
        &ksv1,
        "resolve_conflict",
        json!({"id": conflict_id, "value": "Bánh đa Kế Dĩnh"}),
    )
    .await;
    assert_eq!(r.status, 403);
    ok(&call(
        &app,
        &boss,
        "resolve_conflict",
        json!({"id": conflict_id, "value": "Bánh đa Kế Dĩnh"}),
    )
    .await);
    let detail = ok(&call(&app, &boss, "get_facility", json!({ "id": id })).await);
    assert_eq!(detail["conflicts"], json!([]));
    assert_eq!(detail["entry"]["facility"]["name"], "Bánh đa Kế Dĩnh");
    let (decided, cursor) = app.pull_from(&ksv1, cursor).await;
    let pulled = facility_in(&decided, &id).expect("the decision reaches the phone");
    assert_eq!(pulled["record"]["name"], "Bánh đa Kế Dĩnh");

    // Deactivated: phones drop it, the register lists it only when asked.
    assert_eq!(
        call(
            &app,
            &boss,
            "set_facility_active",
            json!({"id": id, "active": false})
        )
        .await
        .status,
        200
    );
    let (gone, _) = app.pull_from(&ksv1, cursor).await;
    assert_eq!(facility_in(&gone, &id).unwrap()["entity"], "deleted");
    let active_only = ok(&call(
        &app,
        &boss,
        "find_facilities",
        json!({"query": "banh da", "inactive": false}),
    )
    .await);
    assert!(!found(&active_only).contains(&id));
    let all = ok(&call(
        &app,
        &boss,
        "find_facilities",
        json!({"query": "banh da", "inactive": true}),
    )
    .await);
    assert!(found(&all).contains(&id));
    assert_eq!(all[0]["active"], false);
    let r = call(&app, &boss, "save_facility", json!({ "draft": edit })).await;
    assert_eq!(r.json()["code"], "facility.inactive");
    assert_eq!(
        call(
            &app,
            &boss,
            "set_facility_active",
            json!({"id": id, "active": true})
        )
        .await
        .status,
        200
    );
    assert!(facility_in(&app.pull_all(&ksv1).await, &id).is_some_and(|c| c["entity"] == "facility"));

    // A facility with a proposal of an open year stays.
    let r = call(
        &app,
        &boss,
        "set_facility_active",
        json!({"id": XUONG_GIANG, "active": false}),
    )
    .await;
    assert_eq!(r.json()["code"], "facility.has_open_proposals");

    let trail = ok(&call(&app, &admin, "audit_trail", json!({"limit": 50})).await);
    let actions: Vec<&str> = trail
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["entity_id"] == id.as_str() || e["entity"] == "facility")
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    for a in [
        "facility.created",
        "facility.updated",
        "resolve_conflict",
        "facility.deactivated",
        "facility.reactivated",
    ] {
        assert!(actions.contains(&a), "{a} in {actions:?}");
    }
}

/// A proposal of 2026 registered at a facility of 2020 is placed in the
/// 2025 commune the facility's ward became, and reaches the inspector.
async fn a_proposal_at_a_2020_facility_lands_in_the_2025_commune_its_ward_became(app: TestApp) {
    let (boss, _) = app.login("giamsat").await;
    let (ksv1, _) = app.login("ksv1").await;
    let proposal = |year: i32, unit: &str| {
        json!({"proposal": {"facility_id": HOA_PHAT, "year": year, "unit": unit,
            "title": "Hỗ trợ máy cắt plasma CNC", "support_kind": "machinery", "requested_amount": "1.200.000.000"}})
    };
    for (year, unit, code) in [
        (2030, "", "year.not_opened"),
        (2026, "bac-giang-2020/07201", "proposal.wrong_tree"),
        (2026, "bac-ninh-2025/99999", "unit.unknown"),
    ] {
        let r = call(&app, &boss, "create_proposal", proposal(year, unit)).await;
        assert_eq!(r.status, 422, "{}", r.text());
        assert_eq!(r.json()["code"], code, "{year} {unit}");
    }
    assert_eq!(
        call(&app, &ksv1, "create_proposal", proposal(2026, ""))
            .await
            .status,
        403
    );
    let created = call(&app, &boss, "create_proposal", proposal(2026, "")).await;
    assert_eq!(created.status, 200, "{}", created.text());
    let id = created.json().as_str().unwrap().to_string();
    let detail = ok(&call(&app, &boss, "get_proposal", json!({ "id": id })).await);
    assert_eq!(detail["proposal"]["unit_tree"], "bac-ninh-2025");
    assert_eq!(detail["proposal"]["commune_code"], "07210");
    assert_eq!(detail["proposal"]["requested_amount"], 1_200_000_000i64);
    let pulled = app.pull_all(&ksv1).await;
    assert!(pulled
        .iter()
        .any(|c| c["entity"] == "proposal" && c["record"]["id"] == id.as_str()));
    let facility = ok(&call(&app, &boss, "get_facility", json!({"id": HOA_PHAT})).await);
    let years: Vec<i64> = facility["proposals"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["year"].as_i64().unwrap())
        .collect();
    assert!(years.contains(&2026) && years.contains(&2020), "{years:?}");
    assert_eq!(
        facility["entry"]["place"],
        "Phường Thọ Xương, Thành phố Bắc Giang, Tỉnh Bắc Giang"
    );
}

/// Typing a place finds what is there in either tree: the 2025 phường Bắc
/// Giang finds the 2020 facility in Thọ Xương, and Thọ Xương finds the 2026
/// co-operative; the visit list searches the same way.
async fn a_place_name_finds_facilities_and_visits_across_the_mapping(app: TestApp) {
    let (boss, _) = app.login("giamsat").await;
    let find = |q: &'static str| {
        let app = &app;
        let boss = boss.clone();
        async move {
            found(&ok(&call(
                app,
                &boss,
                "find_facilities",
                json!({"query": q, "inactive": false}),
            )
            .await))
        }
    };
    let bac_giang = find("phường Bắc Giang").await;
    assert!(bac_giang.contains(&HOA_PHAT.to_string()), "{bac_giang:?}");
    assert!(bac_giang.contains(&XUONG_GIANG.to_string()));
    let tho_xuong = find("Tho Xuong").await;
    assert!(
        tho_xuong.contains(&XUONG_GIANG.to_string()),
        "{tho_xuong:?}"
    );
    // Not a place: words of the name, owner or address.
    assert_eq!(
        find("Xương Giang chế biến").await,
        vec![XUONG_GIANG.to_string()]
    );
    // Somewhere else entirely.
    assert!(!find("Lục Ngạn").await.contains(&HOA_PHAT.to_string()));

    let (ksv1, device) = app.login("ksv1").await;
    let visit = uuid::Uuid::now_v7().to_string();
    let proposal = crate::helpers::demo_proposal("213");
    let pushed = app
        .post_json(
            "/api/sync/push",
            Some(&ksv1),
            &crate::helpers::visit_push(&device, &visit, &proposal, 1, &[("workforce", json!(5))]),
        )
        .await;
    assert_eq!(pushed.status, 200);
    // The first 2020 proposal of district 213 is Hòa Phát's, in Thọ Xương.
    assert_eq!(
        ok(&call(&app, &boss, "get_proposal", json!({"id": proposal})).await)["proposal"]
            ["facility_id"],
        HOA_PHAT
    );
    let page = ok(&call(
        &app,
        &boss,
        "search_visits",
        json!({"query": {"q": "phường Bắc Giang"}}),
    )
    .await);
    let ids: Vec<&str> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["id"].as_str().unwrap())
        .collect();
    assert!(ids.contains(&visit.as_str()), "{ids:?}");
    let page = ok(&call(
        &app,
        &boss,
        "search_visits",
        json!({"query": {"q": "Lục Ngạn"}}),
    )
    .await);
    assert!(!page["items"]
        .as_array()
        .unwrap()
        .iter()
        .any(|v| v["id"] == visit.as_str()));
}

/// A field app before the national-form rule stored a number as typed (8 to
/// 15 digits). The office edits such a facility's address without being made
/// to fix the number first; a number it types anew must be a valid one.
async fn the_office_edits_a_facility_whose_number_an_older_phone_stored(app: TestApp) {
    let (boss, _) = app.login("giamsat").await;
    let mut ksv1 = Phone::login(&app, "ksv1").await;
    let id = uuid::Uuid::now_v7().to_string();
    let found = ksv1.mutation(
        "facility",
        "upsert",
        &id,
        json!({"name": "Mây tre Tân Mỹ", "district_code": "213", "commune_code": "07201",
            "industry_group": "handicrafts", "phone": "912345678"}),
        0,
    );
    ksv1.push_ok(&app, &[found]).await;
    let detail = ok(&call(&app, &boss, "get_facility", json!({ "id": id })).await);
    let entry = &detail["entry"];
    assert_eq!(entry["facility"]["phone"], "912345678");
    let mut edit = json!({"id": id, "name": entry["facility"]["name"], "owner_name": "",
        "address": "thôn Tân Mỹ", "unit": entry["unit"], "industry_group": "handicrafts",
        "phone": "912345678", "tax_code": "", "main_products": ""});
    let saved = call(&app, &boss, "save_facility", json!({ "draft": edit })).await;
    assert_eq!(saved.status, 200, "{}", saved.text());
    let after = ok(&call(&app, &boss, "get_facility", json!({ "id": id })).await);
    assert_eq!(after["entry"]["facility"]["address"], "thôn Tân Mỹ");
    assert_eq!(after["entry"]["facility"]["phone"], "912345678");

    edit["phone"] = "91234567".into();
    let r = call(&app, &boss, "save_facility", json!({ "draft": edit })).await;
    assert_eq!(r.status, 422, "{}", r.text());
    assert_eq!(r.json()["code"], "facility.bad_phone_number");
    edit["phone"] = "0912 345 678".into();
    let fixed = call(&app, &boss, "save_facility", json!({ "draft": edit })).await;
    assert_eq!(fixed.status, 200, "{}", fixed.text());
    let after = ok(&call(&app, &boss, "get_facility", json!({ "id": id })).await);
    assert_eq!(after["entry"]["facility"]["phone"], "0912345678");
}

/// An office form left open while a phone edits the facility writes only
/// what was changed in it. Every field used to be written as the form showed
/// it, with the stored version as its base: the phone's new number was put
/// back to the old one, with no conflict. Now a field left as shown keeps
/// the phone's value, and a field changed in both places is kept as a
/// conflict.
async fn an_office_form_writes_only_what_was_changed_in_it(app: TestApp) {
    let (boss, _) = app.login("giamsat").await;
    let (ksv1, device) = app.login("ksv1").await;
    let created = call(
        &app,
        &boss,
        "save_facility",
        json!({"draft": draft("Gốm Thổ Hà", "bac-ninh-2025/07210")}),
    )
    .await;
    assert_eq!(created.status, 200, "{}", created.text());
    let id = created.json().as_str().unwrap().to_string();
    // The office opens the form.
    let opened = ok(&call(&app, &boss, "get_facility", json!({ "id": id })).await);
    let entry = &opened["entry"];
    let f = &entry["facility"];
    let text = |v: &Value| v.as_str().unwrap_or_default().to_string();
    let shown = json!({
        "name": text(&f["name"]), "owner_name": text(&f["owner_name"]),
        "address": text(&f["address"]), "unit": text(&entry["unit"]),
        "industry_group": text(&f["industry_group"]), "phone": text(&f["phone"]),
        "tax_code": text(&entry["tax_code"]), "main_products": text(&f["main_products"]),
        // Left out while empty (a facility no phone or office edit has touched).
        "versions": if f["versions"].is_null() { json!({}) } else { f["versions"].clone() },
    });
    // A phone, having pulled it, changes the number and the address.
    let pulled = app.pull_all(&ksv1).await;
    let versions = facility_in(&pulled, &id).expect("ksv1 pulls it")["record"]["versions"].clone();
    let base = |field: &str| versions[field].as_i64().unwrap_or(0);
    let phone_edit = json!({"device_id": device, "schema_version": app::sync::MUTATION_SCHEMA_VERSION,
        "mutations": [{"seq": 1, "mutation_id": uuid::Uuid::now_v7().to_string(), "kind": "upsert",
            "entity": "facility", "record_id": id,
            "fields": {"phone": "0987654321", "address": "thôn Thổ Hà, phường Bắc Giang"},
            "hlc": app::sync::Hlc::new(app::store::now_ms(), 0).encode(),
            "base_version": base("phone").max(base("address"))}]});
    let pushed = app
        .post_json("/api/sync/push", Some(&ksv1), &phone_edit)
        .await;
    assert_eq!(pushed.status, 200, "{}", pushed.text());
    assert_eq!(
        pushed.json()["results"][0]["status"],
        "applied",
        "{}",
        pushed.text()
    );
    // The office saves its form: the products and the address changed there.
    let mut edit = shown.clone();
    edit.as_object_mut().unwrap().remove("versions");
    edit["id"] = id.clone().into();
    edit["main_products"] = "Gốm đất nung".into();
    edit["address"] = "số 3, phường Bắc Giang".into();
    edit["shown"] = shown;
    let saved = call(&app, &boss, "save_facility", json!({ "draft": edit })).await;
    assert_eq!(saved.status, 200, "{}", saved.text());
    let after = ok(&call(&app, &boss, "get_facility", json!({ "id": id })).await);
    let facility = &after["entry"]["facility"];
    assert_eq!(facility["phone"], "0987654321", "the phone's number stands");
    assert_eq!(facility["main_products"], "Gốm đất nung");
    let conflicts = after["conflicts"].as_array().unwrap();
    assert_eq!(conflicts.len(), 1, "{after}");
    assert_eq!(conflicts[0]["field"], "address");
    let both = [conflicts[0]["mine"].clone(), conflicts[0]["theirs"].clone()];
    assert!(
        both.contains(&json!("số 3, phường Bắc Giang"))
            && both.contains(&json!("thôn Thổ Hà, phường Bắc Giang")),
        "{after}"
    );
}

crate::engine_tests!(
    an_office_form_writes_only_what_was_changed_in_it,
    the_office_edits_a_facility_whose_number_an_older_phone_stored,
    the_office_registers_edits_and_deactivates_a_facility_that_phones_follow,
    a_proposal_at_a_2020_facility_lands_in_the_2025_commune_its_ward_became,
    a_place_name_finds_facilities_and_visits_across_the_mapping,
);
