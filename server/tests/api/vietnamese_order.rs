//! The office's lists read in Vietnamese alphabetical order: đ after d, ă and
//! â after a, ư after u, tones in dictionary order. Byte order put "Đóng tàu"
//! after "Xây lò"; the search fold put "Đóng" before "Dụng".

use crate::helpers::TestApp;
use crate::phone::{statuses, Phone};
use crate::security::call;
use serde_json::{json, Value};

/// Written in shuffled order; read back as a Vietnamese list.
const TITLES: [&str; 5] = [
    "Xây lò nung",
    "Đóng tàu gỗ",
    "Ươm tơ",
    "dệt vải thổ cẩm",
    "Dụng cụ cơ khí",
];
const IN_ORDER: [&str; 5] = [
    "dệt vải thổ cẩm",
    "Dụng cụ cơ khí",
    "Đóng tàu gỗ",
    "Ươm tơ",
    "Xây lò nung",
];

/// One facility and one 2026 proposal per title, in phường Đa Mai (which
/// ksv1's Bắc Giang city holds): the proposals' IDs.
async fn proposals(app: &TestApp, boss: &str) -> Vec<Value> {
    let mut ids = Vec::new();
    for title in TITLES {
        let facility = call(
            app,
            boss,
            "save_facility",
            json!({"draft": {"id": null, "name": format!("Cơ sở {title}"), "owner_name": "Hà Thị Thứ Tự",
                "address": "thôn Đông", "unit": "bac-ninh-2025/07228", "industry_group": "handicrafts",
                "phone": "", "tax_code": "", "main_products": "hàng thủ công"}}),
        )
        .await;
        assert_eq!(facility.status, 200, "{}", facility.text());
        let created = call(
            app,
            boss,
            "create_proposal",
            json!({"proposal": {"facility_id": facility.json(), "year": 2026, "unit": "bac-ninh-2025/07228",
                "title": title, "support_kind": "machinery", "requested_amount": 50_000_000}}),
        )
        .await;
        assert_eq!(created.status, 200, "{}", created.text());
        ids.push(created.json());
    }
    ids
}

async fn the_plan_and_the_registry_read_in_vietnamese_order(app: TestApp) {
    let (boss, _) = app.login("giamsat").await;
    let ids = proposals(&app, &boss).await;
    let plan = call(&app, &boss, "get_plan", json!({"year": "2026"}))
        .await
        .json();
    let titles: Vec<&str> = plan["proposals"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| ids.contains(&p["id"]))
        .map(|p| p["title"].as_str().unwrap())
        .collect();
    assert_eq!(titles, IN_ORDER);

    let found = call(
        &app,
        &boss,
        "find_facilities",
        json!({"query": "Thứ Tự", "inactive": false}),
    )
    .await;
    assert_eq!(found.status, 200, "{}", found.text());
    let names: Vec<String> = found
        .json()
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["facility"]["name"].as_str().unwrap().to_string())
        .filter(|n| TITLES.iter().any(|t| *n == format!("Cơ sở {t}")))
        .collect();
    let expected: Vec<String> = IN_ORDER.iter().map(|t| format!("Cơ sở {t}")).collect();
    assert_eq!(names, expected);
}

/// The review list sorted by proposal, both ways, and the visits export that
/// follows its order.
async fn the_review_list_sorts_visits_by_title_in_vietnamese_order(app: TestApp) {
    let (boss, _) = app.login("giamsat").await;
    let ids = proposals(&app, &boss).await;
    let mut phone = Phone::login(&app, "ksv1").await;
    let mut starts = Vec::new();
    for id in &ids {
        let visit = uuid::Uuid::now_v7().to_string();
        starts.push(phone.new_visit(&visit, id.as_str().unwrap(), json!({})));
    }
    assert!(statuses(&phone.push_ok(&app, &starts).await)
        .iter()
        .all(|s| s == "applied"));
    let titles = |desc: bool| {
        let boss = boss.clone();
        let app = &app;
        async move {
            let page = call(
                app,
                &boss,
                "search_visits",
                json!({"query": {"commune": "bac-ninh-2025/07228", "sort": "proposal", "desc": desc,
                    "page": 1, "per_page": 50}}),
            )
            .await;
            assert_eq!(page.status, 200, "{}", page.text());
            page.json()["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v["proposal_title"].as_str().unwrap().to_string())
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(titles(false).await, IN_ORDER);
    let mut reversed = IN_ORDER;
    reversed.reverse();
    assert_eq!(titles(true).await, reversed);
    // The second page of two starts where the first ended.
    let second = call(
        &app,
        &boss,
        "search_visits",
        json!({"query": {"commune": "bac-ninh-2025/07228", "sort": "proposal", "desc": false,
            "page": 2, "per_page": 2}}),
    )
    .await
    .json();
    let second: Vec<&str> = second["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["proposal_title"].as_str().unwrap())
        .collect();
    assert_eq!(second, IN_ORDER[2..4]);

    let csv = app
        .get(
            "/api/exports/visits.csv?commune=bac-ninh-2025/07228&sort=proposal&desc=false",
            Some(&boss),
        )
        .await;
    assert_eq!(csv.status, 200, "{}", csv.text());
    let text = csv.text();
    let at = |t: &str| text.find(t).unwrap_or_else(|| panic!("{t} in {text}"));
    let positions: Vec<usize> = IN_ORDER.iter().map(|t| at(t)).collect();
    assert!(positions.windows(2).all(|w| w[0] < w[1]), "{text}");
}

/// A facility whose name is `name`, owned by "Zqxw" (a word nothing else holds).
async fn facility(app: &TestApp, boss: &str, name: &str, unit: &str) -> String {
    let saved = call(
        app,
        boss,
        "save_facility",
        json!({"draft": {"id": null, "name": name, "owner_name": "Zqxw", "address": "thôn Đông",
            "unit": unit, "industry_group": "handicrafts", "phone": "", "tax_code": "",
            "main_products": "hàng thủ công"}}),
    )
    .await;
    assert_eq!(saved.status, 200, "{}", saved.text());
    serde_json::from_value(saved.json()).unwrap()
}

/// The register shows its first facilities in Vietnamese order: chosen in
/// that order, not cut in another order and sorted afterwards ("Bay" comes
/// before every "Bắc", but after them when ă is read as a).
async fn the_registers_first_facilities_are_the_first_in_vietnamese_order(app: TestApp) {
    let (boss, _) = app.login("giamsat").await;
    for name in ["Bắc Ngư 1", "Bắc Ngư 2", "Bắc Ngư 3", "Bay Ngư"] {
        facility(&app, &boss, name, "bac-ninh-2025/07228").await;
    }
    let found = app::store::facilities::find(&app.db, "zqxw", false, 3)
        .await
        .unwrap();
    let names: Vec<&str> = found.iter().map(|e| e.facility.name.as_str()).collect();
    assert_eq!(names, ["Bay Ngư", "Bắc Ngư 1", "Bắc Ngư 2"]);
}

/// A facility's page lists its proposals newest year first, then by title
/// in Vietnamese order (byte order put "Đ…" after "X…").
async fn a_facilitys_proposals_read_in_vietnamese_order(app: TestApp) {
    let (boss, _) = app.login("giamsat").await;
    let id = facility(&app, &boss, "Cơ sở nhiều đề án", "bac-ninh-2025/07228").await;
    for title in ["Xây lò nung", "Đóng tàu gỗ", "dệt vải", "Dụng cụ"] {
        let created = call(
            &app,
            &boss,
            "create_proposal",
            json!({"proposal": {"facility_id": id, "year": 2026, "unit": "",
                "title": title, "support_kind": "machinery", "requested_amount": 50_000_000}}),
        )
        .await;
        assert_eq!(created.status, 200, "{}", created.text());
    }
    let detail = call(&app, &boss, "get_facility", json!({ "id": id })).await;
    assert_eq!(detail.status, 200, "{}", detail.text());
    let titles: Vec<String> = detail.json()["proposals"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["title"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(titles, ["dệt vải", "Dụng cụ", "Đóng tàu gỗ", "Xây lò nung"]);
}

/// The review list's place column, sorted by place (first 50 visits).
async fn places_in_order(app: &TestApp, boss: &str) -> Vec<String> {
    let page = call(
        app,
        boss,
        "search_visits",
        json!({"query": {"sort": "district", "desc": false, "page": 1, "per_page": 50}}),
    )
    .await;
    assert_eq!(page.status, 200, "{}", page.text());
    page.json()["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["district_name"].as_str().unwrap_or_default().to_string())
        .collect()
}

/// Sorted by place, thành phố Bắc Giang (2020) and phường Bắc Giang (2025)
/// are two places: their visits do not interleave by time received.
async fn namesake_places_sort_as_two_places(app: TestApp) {
    let (boss, _) = app.login("giamsat").await;
    let ward = facility(&app, &boss, "Cơ sở phường Bắc Giang", "bac-ninh-2025/07210").await;
    let created = call(
        &app,
        &boss,
        "create_proposal",
        json!({"proposal": {"facility_id": ward, "year": 2026, "unit": "",
            "title": "Máy ép", "support_kind": "machinery", "requested_amount": 50_000_000}}),
    )
    .await;
    assert_eq!(created.status, 200, "{}", created.text());
    let ward_proposal: String = serde_json::from_value(created.json()).unwrap();
    let city_proposal = crate::helpers::demo_proposal("213");
    let mut phone = Phone::login(&app, "ksv1").await;
    // Received alternately: city, ward, city, ward.
    for proposal in [
        &city_proposal,
        &ward_proposal,
        &city_proposal,
        &ward_proposal,
    ] {
        let visit = uuid::Uuid::now_v7().to_string();
        let start = phone.new_visit(&visit, proposal, json!({}));
        assert_eq!(statuses(&phone.push_ok(&app, &[start]).await), ["applied"]);
    }
    let places: Vec<String> = places_in_order(&app, &boss)
        .await
        .into_iter()
        .filter(|p| p.ends_with("Bắc Giang"))
        .collect();
    assert_eq!(
        places,
        [
            "phường Bắc Giang",
            "phường Bắc Giang",
            "thành phố Bắc Giang",
            "thành phố Bắc Giang"
        ]
    );
}

/// A place whose name begins another's comes first: "huyện Yên" before
/// "huyện Yên Dũng", though the sort also reads the kind and tree (a kind
/// word read as part of the name put "Dũng" against "huyện").
async fn a_place_named_by_anothers_first_word_sorts_first(app: TestApp) {
    sqlx::query(
        "UPDATE admin_units SET name = 'Yên' WHERE tree = 'bac-giang-2020' AND code = '215'",
    )
    .execute(&app.db.pool)
    .await
    .unwrap();
    for (inspector, district) in [("ksv4", "221"), ("ksv3", "215")] {
        let mut phone = Phone::login(&app, inspector).await;
        let visit = uuid::Uuid::now_v7().to_string();
        let start = phone.new_visit(&visit, &crate::helpers::demo_proposal(district), json!({}));
        assert_eq!(statuses(&phone.push_ok(&app, &[start]).await), ["applied"]);
    }
    let (boss, _) = app.login("giamsat").await;
    assert_eq!(
        places_in_order(&app, &boss).await,
        ["huyện Yên", "huyện Yên Dũng"]
    );
}

/// Within a unit, the plan's proposals follow the industry groups in the
/// form's order, as its tables do (the codes' order put "other" before
/// "processing"), then titles in Vietnamese order.
async fn the_plans_proposals_follow_the_forms_industry_order(app: TestApp) {
    let (boss, _) = app.login("giamsat").await;
    let mut ids = Vec::new();
    for (title, group) in [
        ("Ấp trứng", "other"),
        ("Bánh đa", "processing"),
        ("Gạch", "building_materials"),
    ] {
        let facility = call(
            &app,
            &boss,
            "save_facility",
            json!({"draft": {"id": null, "name": format!("Cơ sở {title}"), "owner_name": "Zqxw",
                "address": "thôn Đông", "unit": "bac-ninh-2025/07228", "industry_group": group,
                "phone": "", "tax_code": "", "main_products": "hàng"}}),
        )
        .await;
        assert_eq!(facility.status, 200, "{}", facility.text());
        let created = call(
            &app,
            &boss,
            "create_proposal",
            json!({"proposal": {"facility_id": facility.json(), "year": 2026, "unit": "",
                "title": title, "support_kind": "machinery", "requested_amount": 50_000_000}}),
        )
        .await;
        assert_eq!(created.status, 200, "{}", created.text());
        ids.push(created.json());
    }
    let plan = call(&app, &boss, "get_plan", json!({"year": "2026"}))
        .await
        .json();
    let groups: Vec<&str> = plan["proposals"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| ids.contains(&p["id"]))
        .map(|p| p["industry_group"].as_str().unwrap())
        .collect();
    assert_eq!(groups, ["processing", "building_materials", "other"]);

    // The plan's district × industry file reads in the same order.
    let csv = app
        .get("/api/exports/plan.csv?year=2026", Some(&boss))
        .await;
    assert_eq!(csv.status, 200, "{}", csv.text());
    let labels = [
        "Công nghiệp chế biến",
        "Sản xuất vật liệu xây dựng",
        "Ngành nghề khác",
    ];
    let mut seen: Vec<usize> = csv
        .text()
        .lines()
        .filter(|l| l.contains("Đa Mai"))
        .filter_map(|l| labels.iter().position(|g| l.contains(g)))
        .collect();
    seen.dedup();
    assert_eq!(seen, [0, 1, 2], "{}", csv.text());
}

crate::engine_tests!(
    the_plans_proposals_follow_the_forms_industry_order,
    a_place_named_by_anothers_first_word_sorts_first,
    the_registers_first_facilities_are_the_first_in_vietnamese_order,
    a_facilitys_proposals_read_in_vietnamese_order,
    namesake_places_sort_as_two_places,
    the_plan_and_the_registry_read_in_vietnamese_order,
    the_review_list_sorts_visits_by_title_in_vietnamese_order,
);
