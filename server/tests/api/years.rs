//! Survey years: opened on a tree and a form version, proposals registered into
//! open years only, phones holding open years' proposals only, and a closed
//! year's visits kept read-only. Closing with unfinished visits asks first.
//!
//! One file (482 lines): the tests share the year fixtures and the 2026 demo.

use crate::helpers::{demo_proposal, TestApp};
use crate::phone::Phone;
use crate::security::call;
use app::error::AppError;
use app::model::{Facility, Proposal};
use app::store::{catalog, years};
use serde_json::{json, Value};

const TREE_2025: &[u8] = include_bytes!("../../../data/units/vn-2025-bac-ninh.csv");

fn ok(r: &crate::helpers::TestResponse) -> Value {
    assert_eq!(r.status, 200, "{}", r.text());
    r.json()
}

fn proposal_changes<'a>(changes: &'a [Value], id: &str) -> Vec<&'a Value> {
    changes.iter().filter(|c| c["record"]["id"] == id).collect()
}

async fn closing_a_year_asks_about_unfinished_visits_then_keeps_them_read_only(app: TestApp) {
    let (admin, _) = app.login("quantri").await;
    // The demo's two years, newest first.
    let overview = ok(&call(&app, &admin, "list_years", json!({})).await);
    let years: Vec<(i64, &str, bool)> = overview["years"]
        .as_array()
        .unwrap()
        .iter()
        .map(|y| {
            (
                y["year"].as_i64().unwrap(),
                y["unit_tree"].as_str().unwrap(),
                y["open"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        years,
        vec![
            (2026, "bac-ninh-2025", true),
            (2020, "bac-giang-2020", true)
        ]
    );

    // ksv1 starts a visit of a 2020 proposal and pulls.
    let proposal = demo_proposal("213");
    let mut phone = Phone::login(&app, "ksv1").await;
    let visit = uuid::Uuid::now_v7().to_string();
    let first = phone.new_visit(&visit, &proposal, json!({"workforce": 12}));
    assert_eq!(phone.push_ok(&app, &[first]).await[0]["status"], "applied");
    let (before, cursor) = app.pull_from(&phone.cookie, 0).await;
    assert_eq!(
        proposal_changes(&before, &proposal)[0]["entity"],
        "proposal"
    );
    // The phone is told which form version the year's visits start on.
    assert_eq!(
        proposal_changes(&before, &proposal)[0]["record"]["form_version"],
        1
    );

    // Closing lists the unfinished visit and leaves the year open.
    let asked = ok(&call(
        &app,
        &admin,
        "close_year",
        json!({"year": 2020, "confirm": false}),
    )
    .await);
    assert_eq!(asked["outcome"], "unfinished");
    let listed: Vec<&str> = asked["visits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["id"].as_str().unwrap())
        .collect();
    assert_eq!(listed, vec![visit.as_str()]);
    assert!(years::get(&app.db.pool, 2020).await.unwrap().unwrap().open);

    let closed = ok(&call(
        &app,
        &admin,
        "close_year",
        json!({"year": 2020, "confirm": true}),
    )
    .await);
    assert_eq!(closed["outcome"], "closed");
    assert!(!years::get(&app.db.pool, 2020).await.unwrap().unwrap().open);

    // The year's proposals leave the phone; its own visit stays.
    let (after, cursor2) = app.pull_from(&phone.cookie, cursor).await;
    let gone = proposal_changes(&after, &proposal);
    assert_eq!(gone.len(), 1, "{after:?}");
    assert_eq!(gone[0]["entity"], "deleted");
    assert_eq!(gone[0]["record"]["entity"], "proposal");
    // Its visit comes again, marked for reading only.
    let again: Vec<&Value> = after
        .iter()
        .filter(|c| c["entity"] == "visit" && c["record"]["id"] == visit.as_str())
        .collect();
    assert_eq!(again.len(), 1, "{after:?}");
    assert_eq!(again[0]["record"]["year_closed"], true);
    let (all, _) = app.pull_from(&phone.cookie, 0).await;
    assert!(all
        .iter()
        .any(|c| c["entity"] == "visit" && c["record"]["id"] == visit.as_str()));
    // Only the open 2026's proposals remain.
    assert!(all
        .iter()
        .filter(|c| c["entity"] == "proposal")
        .all(|c| c["record"]["year"] == 2026));

    // Its visits are read-only, and no new one starts.
    let edit = phone.mutation("visit", "upsert", &visit, json!({"workforce": 13}), 1);
    let refused = phone.push_ok(&app, &[edit]).await;
    assert_eq!(refused[0]["status"], "refused");
    assert_eq!(refused[0]["error"]["code"], "year.closed");
    let another = phone.new_visit(&uuid::Uuid::now_v7().to_string(), &proposal, json!({}));
    assert_eq!(
        phone.push_ok(&app, &[another]).await[0]["error"]["code"],
        "year.closed"
    );
    // Its plan is final: the supervisor neither reviews its visits nor
    // recommends funding for its proposals.
    let (boss, _) = app.login("giamsat").await;
    let approve = app
        .post_json(
            &format!("/api/visits/{visit}/review"),
            Some(&boss),
            &json!({"to": "approved"}),
        )
        .await;
    assert_eq!(approve.status, 422, "{}", approve.text());
    assert_eq!(approve.json()["code"], "year.closed");
    let recommend = call(
        &app,
        &boss,
        "recommend",
        json!({"id": proposal, "recommendation": "not_supported", "rationale": "Trùng đề án"}),
    )
    .await;
    assert_eq!(recommend.status, 422, "{}", recommend.text());
    assert_eq!(recommend.json()["code"], "year.closed");
    let budget = call(
        &app,
        &admin,
        "set_budget",
        json!({"year": 2020, "amount": 1_000_000_000i64}),
    )
    .await;
    assert_eq!(budget.status, 422, "{}", budget.text());
    assert_eq!(budget.json()["code"], "year.closed");
    // Nor is a proposal registered into it.
    let mut p = catalog::proposal_by_id(&app.db.pool, &proposal)
        .await
        .unwrap()
        .unwrap();
    p.id = uuid::Uuid::now_v7().to_string();
    let mut tx = app.db.begin_write().await.unwrap();
    match catalog::upsert_proposal(&mut tx, &p).await {
        Err(AppError::Invalid(body)) => assert_eq!(body.code, "year.closed"),
        other => panic!("{other:?}"),
    }
    drop(tx);

    // Reopening brings the proposals back to the phone.
    let reopened = call(
        &app,
        &admin,
        "open_year",
        json!({"request": {"year": 2020, "unit_tree": "bac-giang-2020", "form_id": "khuyen-cong", "form_version": 1}}),
    )
    .await;
    assert_eq!(ok(&reopened)["open"], true);
    let (back, _) = app.pull_from(&phone.cookie, cursor2).await;
    assert_eq!(proposal_changes(&back, &proposal)[0]["entity"], "proposal");
    let visit_back = back
        .iter()
        .find(|c| c["entity"] == "visit" && c["record"]["id"] == visit.as_str())
        .expect("the visit comes again, editable");
    assert!(visit_back["record"].get("year_closed").is_none());

    // Every step is in the audit trail.
    let audit = ok(&call(&app, &admin, "audit_trail", json!({"limit": 20})).await);
    let actions: Vec<&str> = audit
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .filter(|a| a.starts_with("year."))
        .collect();
    // Newest first: the reopening, the closing, then the demo's openings.
    assert_eq!(actions[..2], ["year.opened", "year.closed"]);
}

async fn a_year_takes_its_proposals_on_its_own_tree_and_form(app: TestApp) {
    // Loaded by the demo already: loading it again changes nothing.
    app::office::units::import::import_tree(&app.db, "bac-ninh-2025", "2025-07-01", TREE_2025)
        .await
        .unwrap();
    let (admin, _) = app.login("quantri").await;
    let (boss, _) = app.login("giamsat").await;
    // A supervisor sees the years but does not open them.
    let denied = call(
        &app,
        &boss,
        "open_year",
        json!({"request": {"year": 2027, "unit_tree": "bac-ninh-2025", "form_id": "khuyen-cong", "form_version": 1}}),
    )
    .await;
    assert_eq!(denied.status, 403);
    for (request, code) in [
        (
            json!({"year": 2027, "unit_tree": "chua-co", "form_id": "khuyen-cong", "form_version": 1}),
            "year.unknown_tree",
        ),
        (
            json!({"year": 2027, "unit_tree": "bac-ninh-2025", "form_id": "khuyen-cong", "form_version": 9}),
            "year.unknown_form",
        ),
        (
            json!({"year": 1890, "unit_tree": "bac-ninh-2025", "form_id": "khuyen-cong", "form_version": 1}),
            "year.out_of_range",
        ),
        (
            json!({"year": 2020, "unit_tree": "bac-giang-2020", "form_id": "khuyen-cong", "form_version": 1}),
            "year.already_open",
        ),
        // The 2020 districts were abolished on 1 July 2025.
        (
            json!({"year": 2027, "unit_tree": "bac-giang-2020", "form_id": "khuyen-cong", "form_version": 1}),
            "year.tree_superseded",
        ),
    ] {
        let r = call(&app, &admin, "open_year", json!({ "request": request })).await;
        assert_eq!(r.status, 422, "{}", r.text());
        assert_eq!(r.json()["code"], code);
    }
    let opened = ok(&call(
        &app,
        &admin,
        "open_year",
        json!({"request": {"year": 2027, "unit_tree": "bac-ninh-2025", "form_id": "khuyen-cong", "form_version": 1}}),
    )
    .await);
    assert_eq!(opened["unit_tree"], "bac-ninh-2025");
    // Nor does a year without proposals reopen onto the superseded tree.
    let opening = |tree: &str| json!({"request": {"year": 2029, "unit_tree": tree, "form_id": "khuyen-cong", "form_version": 1}});
    ok(&call(&app, &admin, "open_year", opening("bac-ninh-2025")).await);
    ok(&call(
        &app,
        &admin,
        "close_year",
        json!({"year": 2029, "confirm": true}),
    )
    .await);
    let reopened = call(&app, &admin, "open_year", opening("bac-giang-2020")).await;
    assert_eq!(reopened.status, 422, "{}", reopened.text());
    assert_eq!(reopened.json()["code"], "year.tree_superseded");

    // A 2027 proposal names units of the 2025 tree; a 2028 one has no year.
    let facility = Facility {
        id: uuid::Uuid::now_v7().to_string(),
        name: "Cơ sở Bắc Giang 2027".into(),
        owner_name: None,
        address: None,
        unit_tree: "bac-ninh-2025".into(),
        commune_code: Some("07210".into()),
        district_code: None,
        industry_group: "processing".into(),
        phone: None,
        lat: None,
        lon: None,
        workforce: None,
        main_products: None,
        versions: Default::default(),
    };
    let proposal =
        |year: i32, tree: &str, commune: Option<&str>, district: Option<&str>| Proposal {
            id: uuid::Uuid::now_v7().to_string(),
            year,
            unit_tree: tree.into(),
            district_code: district.map(str::to_string),
            commune_code: commune.map(str::to_string),
            facility_id: facility.id.clone(),
            title: "Máy sấy nông sản".into(),
            support_kind: "machinery".into(),
            requested_amount: 90_000_000,
            status: "registered".into(),
            form_id: None,
            form_version: None,
        };
    let mut tx = app.db.begin_write().await.unwrap();
    catalog::upsert_facility(&mut tx, &facility).await.unwrap();
    catalog::upsert_proposal(&mut tx, &proposal(2027, "", Some("07210"), None))
        .await
        .unwrap();
    for (p, code) in [
        (
            proposal(2027, "bac-giang-2020", None, Some("213")),
            "proposal.wrong_tree",
        ),
        // 213 is a 2020 district: no such unit in the year's tree.
        (proposal(2027, "", None, Some("213")), "unit.unknown"),
        (proposal(2028, "", Some("07210"), None), "year.not_opened"),
    ] {
        match catalog::upsert_proposal(&mut tx, &p).await {
            Err(AppError::Invalid(body)) => assert_eq!(body.code, code),
            other => panic!("expected {code}, got {other:?}"),
        }
    }
    tx.commit().await.unwrap();
}

/// 2026 is on the 2025 tree: a visit made on a phone, reviewed and
/// recommended; the plan groups by commune, or through the mapping by the
/// districts of 2020, and its workbook holds both.
async fn a_year_on_the_2025_tree_is_planned_by_commune_and_by_former_district(app: TestApp) {
    use crate::console::{decide, download, read_xlsx, submitted};
    let demo: Value = serde_json::from_str(app::store::seed::DEMO_BAC_NINH_2026).unwrap();
    // At Hòa Phát, a facility registered in 2020 under ward Thọ Xương.
    let proposal = demo["proposals"][0]["id"].as_str().unwrap().to_string();
    assert_eq!(demo["proposals"][0]["commune_code"], "07210");
    let mut phone = Phone::login(&app, "ksv1").await;
    let visit = submitted(
        &app,
        &mut phone,
        &proposal,
        json!({"team_suggestion": "provincial", "suggested_amount": 500_000_000}),
    )
    .await;
    let (boss, _) = app.login("giamsat").await;
    decide(&app, &boss, &visit, "approved", "Đạt").await;
    ok(&call(
        &app,
        &boss,
        "recommend",
        json!({"id": proposal, "recommendation": "provincial", "amount": 500_000_000, "rationale": null}),
    )
    .await);

    let plan = ok(&call(&app, &boss, "get_plan", json!({"year": "2026"})).await);
    assert_eq!(plan["grouped_by"], "commune");
    assert_eq!(plan["has_former"], true);
    let by_unit = |plan: &Value| -> Vec<(String, String, i64)> {
        let mut rows: Vec<(String, String, i64)> = Vec::new();
        for c in plan["cells"].as_array().unwrap() {
            let code = c["district_code"].as_str().unwrap().to_string();
            let name = c["district_name"].as_str().unwrap().to_string();
            match rows.iter_mut().find(|r| r.0 == code) {
                Some(r) => r.2 += c["count"].as_i64().unwrap(),
                None => rows.push((code, name, c["count"].as_i64().unwrap())),
            }
        }
        rows.sort();
        rows
    };
    let s = |a: &str, b: &str, n: i64| (a.to_string(), b.to_string(), n);
    assert_eq!(
        by_unit(&plan),
        vec![
            s("07210", "phường Bắc Giang", 2),
            s("07288", "xã Yên Thế", 1),
            s("07795", "phường Nếnh", 1),
            s("07840", "xã Hiệp Hòa", 1),
        ]
    );
    let provincial: i64 = plan["cells"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["source"] == "provincial")
        .map(|c| c["recommended"].as_i64().unwrap())
        .sum();
    assert_eq!(provincial, 500_000_000);

    let former = ok(&call(
        &app,
        &boss,
        "get_plan",
        json!({"year": "2026", "by": "former_district"}),
    )
    .await);
    assert_eq!(former["grouped_by"], "former_district");
    assert_eq!(
        by_unit(&former),
        vec![
            s("213", "thành phố Bắc Giang", 2),
            s("215", "huyện Yên Thế", 1),
            s("222", "huyện Việt Yên", 1),
            s("223", "huyện Hiệp Hòa", 1),
        ]
    );
    let bad = call(
        &app,
        &boss,
        "get_plan",
        json!({"year": "2026", "by": "tinh"}),
    )
    .await;
    assert_eq!(bad.status, 422);
    assert_eq!(bad.json()["code"], "plan.bad_grouping");
    // 2020 stays by district, with no former grouping to offer.
    let old = ok(&call(&app, &boss, "get_plan", json!({"year": "2020"})).await);
    assert_eq!(
        (old["grouped_by"].as_str(), old["has_former"].as_bool()),
        (Some("district"), Some(false))
    );

    let book = read_xlsx(
        &download(
            &app,
            &boss,
            "/api/exports/plan.xlsx?year=2026",
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )
        .await,
    );
    let communes = &book["Theo xã, phường"];
    assert_eq!(communes[0][0], "Xã/phường");
    assert!(
        communes.iter().any(|r| r[0] == "phường Bắc Giang"),
        "{communes:?}"
    );
    let districts = &book["Theo huyện cũ"];
    assert_eq!(districts[0][0], "Huyện cũ (trước 7/2025)");
    let names: Vec<&str> = districts[1..].iter().map(|r| r[0].as_str()).collect();
    assert!(
        names.starts_with(&[
            "thành phố Bắc Giang",
            "huyện Yên Thế",
            "huyện Việt Yên",
            "huyện Hiệp Hòa"
        ]),
        "{names:?}"
    );
    assert!(book.contains_key("Chi tiết theo huyện cũ"));
    // The photos of a 2025 commune: the visit above has none, the ZIP is empty
    // but well-formed rather than an error.
    let zip = download(
        &app,
        &boss,
        "/api/exports/photos.zip?district=bac-ninh-2025/07210&year=2026",
        "application/zip",
    )
    .await;
    assert!(zip.starts_with(b"PK"));
}

/// A visit of a 2026 proposal (the 2025 tree has no districts) shows its
/// commune where the list shows a district, rather than nothing.
async fn a_visit_on_the_2025_tree_is_listed_with_its_commune(app: TestApp) {
    let mut phone = Phone::login(&app, "ksv1").await;
    let visit = uuid::Uuid::now_v7().to_string();
    let first = phone.new_visit(
        &visit,
        "019b2f10-5d00-7b20-9b02-3c6f2e8a0002",
        json!({"workforce": 8}),
    );
    assert_eq!(phone.push_ok(&app, &[first]).await[0]["status"], "applied");
    let (boss, _) = app.login("giamsat").await;
    let list = ok(&call(&app, &boss, "list_visits", json!({})).await);
    let row = list
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == visit.as_str())
        .expect("the visit is listed");
    assert_eq!(row["district_name"], "phường Bắc Giang", "{row}");
}

crate::engine_tests!(
    a_visit_on_the_2025_tree_is_listed_with_its_commune,
    closing_a_year_asks_about_unfinished_visits_then_keeps_them_read_only,
    a_year_takes_its_proposals_on_its_own_tree_and_form,
    a_year_on_the_2025_tree_is_planned_by_commune_and_by_former_district,
);
