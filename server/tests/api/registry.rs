//! The registry intake template as the office downloads it: the columns the
//! intake reads, for supervisors and administrators only; editing proposals;
//! where a proposal may be placed; its request against its recommendation.

use crate::helpers::TestApp;
use app::office::registry::rows::{check_rows, COLUMNS};
use app::office::sheet::{read, Legacy};

async fn the_intake_template_downloads_and_reads_back_as_the_intakes_columns(app: TestApp) {
    const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";
    for who in ["giamsat", "quantri"] {
        let (cookie, _) = app.login(who).await;
        let r = app.get("/api/registry/template.xlsx", Some(&cookie)).await;
        assert_eq!(r.status, 200, "{who}: {}", r.text());
        assert_eq!(r.headers["content-type"], XLSX);
        assert!(r.headers["content-disposition"]
            .to_str()
            .unwrap()
            .contains("khaosat-mau-dang-ky.xlsx"));
        let table = read(&r.body, 1 << 20, 10, Legacy::None).unwrap();
        let headers: Vec<&str> = COLUMNS.iter().map(|c| c.header).collect();
        assert_eq!(table.header, headers);
        assert_eq!(check_rows(&table).1[0].code, "registry.no_rows");
    }
    let (inspector, _) = app.login("ksv1").await;
    let r = app
        .get("/api/registry/template.xlsx", Some(&inspector))
        .await;
    assert_eq!(r.status, 403);
    let r = app.get("/api/registry/template.xlsx", None).await;
    assert_eq!(r.status, 401);
}

/// The office edits a proposal (checked, audited old → new, pulled by the
/// phones in scope) and deactivates it (phones drop it, its visit stays, the
/// plan leaves it out), then brings it back.
async fn a_proposal_is_edited_and_deactivated_with_its_visits_kept(app: TestApp) {
    use crate::helpers::{demo_proposal, visit_push};
    use crate::security::call;
    use serde_json::json;
    let proposal = demo_proposal("213");
    let (boss, _) = app.login("giamsat").await;
    let (ksv1, device) = app.login("ksv1").await;
    let visit = uuid::Uuid::now_v7().to_string();
    let pushed = app
        .post_json(
            "/api/sync/push",
            Some(&ksv1),
            &visit_push(&device, &visit, &proposal, 1, &[("workforce", json!(9))]),
        )
        .await;
    assert_eq!(pushed.status, 200);
    let cursor = |changes: &[serde_json::Value]| {
        changes
            .iter()
            .map(|c| c["seq"].as_i64().unwrap())
            .max()
            .unwrap_or(0)
    };
    let first = app.pull_all(&ksv1).await;
    let mut seen = cursor(&first);
    let edit = |amount: serde_json::Value| {
        json!({"edit": {"id": proposal, "title": "Hỗ trợ lò hơi tiết kiệm năng lượng",
        "support_kind": "demonstration_model", "requested_amount": amount}})
    };
    for (amount, code) in [
        (json!(1.5), "proposal.amount_not_whole"),
        (json!("1,5 triệu"), "proposal.amount_not_whole"),
        (json!(-5), "proposal.amount_negative"),
    ] {
        let r = call(&app, &boss, "update_proposal", edit(amount)).await;
        assert_eq!(r.status, 422, "{}", r.text());
        assert_eq!(r.json()["code"], code);
    }
    let bad_kind = json!({"edit": {"id": proposal, "title": "X", "support_kind": "cho vay", "requested_amount": 1}});
    assert_eq!(
        call(&app, &boss, "update_proposal", bad_kind).await.json()["code"],
        "proposal.unknown_support_kind"
    );
    // Inspectors do not edit the registry.
    assert_eq!(
        call(&app, &ksv1, "update_proposal", edit(json!("900.000.000")))
            .await
            .status,
        403
    );

    // The page sends what it showed; the save goes through while nobody
    // else has changed the proposal since.
    let shown = app::store::catalog::proposal_by_id(&app.db.pool, &proposal)
        .await
        .unwrap()
        .unwrap();
    let with_seen = |mut edit: serde_json::Value, title: &str, amount: i64| {
        edit["edit"]["seen"] = json!({"title": title, "support_kind": shown.support_kind,
                                      "requested_amount": amount});
        edit
    };
    let r = call(
        &app,
        &boss,
        "update_proposal",
        with_seen(
            edit(json!("900.000.000")),
            &shown.title,
            shown.requested_amount,
        ),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    // A second page opened before that save still shows the old amount: its
    // title fix is refused rather than putting the old amount back.
    let mut stale = with_seen(
        edit(json!(shown.requested_amount)),
        &shown.title,
        shown.requested_amount,
    );
    stale["edit"]["title"] = json!("Hỗ trợ lò hơi (sửa chính tả)");
    let r = call(&app, &boss, "update_proposal", stale).await;
    assert_eq!(r.status, 409, "{}", r.text());
    assert_eq!(r.json()["code"], "proposal.changed");
    let now = app::store::catalog::proposal_by_id(&app.db.pool, &proposal)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(now.requested_amount, 900_000_000, "the newer amount stays");
    let page = app
        .get(&format!("/api/sync/pull?cursor={seen}"), Some(&ksv1))
        .await
        .json();
    let updated = page["changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["record"]["id"] == proposal.as_str())
        .unwrap()
        .clone();
    assert_eq!(updated["record"]["requested_amount"], 900_000_000);
    assert_eq!(updated["record"]["support_kind"], "demonstration_model");
    seen = page["cursor"].as_i64().unwrap();
    let detail =
        crate::security::ok(&call(&app, &boss, "get_proposal", json!({"id": proposal})).await);
    let audit = detail["audit"].as_array().unwrap();
    let entry = audit
        .iter()
        .find(|e| e["action"] == "proposal.updated")
        .unwrap();
    let change: serde_json::Value =
        serde_json::from_str(entry["detail"].as_str().unwrap()).unwrap();
    assert_eq!(change["new"]["requested_amount"], 900_000_000);
    assert_eq!(change["old"]["support_kind"], "machinery");

    // Deactivated: phones drop it, its visit stays, the plan leaves it out.
    let plan_count = |plan: &serde_json::Value| plan["proposals"].as_array().unwrap().len();
    let before = plan_count(&crate::security::ok(
        &call(&app, &boss, "get_plan", json!({"year": "2020"})).await,
    ));
    assert_eq!(
        call(
            &app,
            &boss,
            "set_proposal_active",
            json!({"id": proposal, "active": false})
        )
        .await
        .status,
        200
    );
    let page = app
        .get(&format!("/api/sync/pull?cursor={seen}"), Some(&ksv1))
        .await
        .json();
    let gone = page["changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["record"]["id"] == proposal.as_str())
        .unwrap()
        .clone();
    assert_eq!(gone["entity"], "deleted");
    let everything = app.pull_all(&ksv1).await;
    assert!(everything
        .iter()
        .any(|c| c["entity"] == "visit" && c["record"]["id"] == visit.as_str()));
    assert!(!everything
        .iter()
        .any(|c| c["entity"] == "proposal" && c["record"]["id"] == proposal.as_str()));
    let after = plan_count(&crate::security::ok(
        &call(&app, &boss, "get_plan", json!({"year": "2020"})).await,
    ));
    assert_eq!(after, before - 1);
    let detail =
        crate::security::ok(&call(&app, &boss, "get_proposal", json!({"id": proposal})).await);
    assert_eq!(detail["active"], false);
    // And back.
    assert_eq!(
        call(
            &app,
            &boss,
            "set_proposal_active",
            json!({"id": proposal, "active": true})
        )
        .await
        .status,
        200
    );
    assert!(app
        .pull_all(&ksv1)
        .await
        .iter()
        .any(|c| c["entity"] == "proposal" && c["record"]["id"] == proposal.as_str()));
    let actions: Vec<String> =
        crate::security::ok(&call(&app, &boss, "get_proposal", json!({"id": proposal})).await)
            ["audit"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["action"].as_str().unwrap().to_string())
            .collect();
    for a in [
        "proposal.updated",
        "proposal.deactivated",
        "proposal.reactivated",
    ] {
        assert!(actions.iter().any(|x| x == a), "{a} in {actions:?}");
    }
}

/// A proposal sits where its facility is (or what that place became after the
/// 2025 reform): elsewhere no inspector's scope holds both, and nobody could
/// survey it.
async fn a_proposal_is_placed_where_its_facility_is(app: TestApp) {
    use crate::security::call;
    use serde_json::json;
    let (boss, _) = app.login("giamsat").await;
    // xã Quế Nham (Tân Yên, 2020) became phường Đa Mai in 2025.
    let facility = call(
        &app,
        &boss,
        "save_facility",
        json!({"draft": {"id": null, "name": "Xưởng gốm Quế Nham", "owner_name": "Nguyễn Văn Đức",
            "address": "thôn Đông", "unit": "bac-giang-2020/07366", "industry_group": "handicrafts",
            "phone": "", "tax_code": "", "main_products": "gốm"}}),
    )
    .await;
    assert_eq!(facility.status, 200, "{}", facility.text());
    let facility = facility.json();
    let proposal = |unit: &str| {
        json!({"proposal": {"facility_id": facility, "year": 2026, "unit": unit,
            "title": "Máy tạo hình gốm", "support_kind": "machinery", "requested_amount": 100_000_000}})
    };
    // phường Nếnh was formed from Việt Yên's communes, not from Quế Nham.
    let elsewhere = call(
        &app,
        &boss,
        "create_proposal",
        proposal("bac-ninh-2025/07795"),
    )
    .await;
    assert_eq!(elsewhere.status, 422, "{}", elsewhere.text());
    assert_eq!(elsewhere.json()["code"], "proposal.facility_elsewhere");
    let there = call(
        &app,
        &boss,
        "create_proposal",
        proposal("bac-ninh-2025/07228"),
    )
    .await;
    assert_eq!(there.status, 200, "{}", there.text());
    // By former district, it is in its facility's own 2020 district (Tân Yên),
    // not in a row of every district phường Đa Mai took wards from.
    let plan = call(
        &app,
        &boss,
        "get_plan",
        json!({"year": "2026", "by": "former_district"}),
    )
    .await
    .json();
    let row = plan["proposals"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"] == there.json())
        .expect("in the plan")
        .clone();
    assert_eq!(row["district_code"], "216", "{row}");
    assert_eq!(row["district_name"], "huyện Tân Yên", "{row}");

    // The facility moves (xã Quang Châu, Việt Yên): its proposal stays
    // editable; the placement rule is checked when a proposal is placed.
    let moved = call(
        &app,
        &boss,
        "save_facility",
        json!({"draft": {"id": facility, "name": "Xưởng gốm Quế Nham", "owner_name": "Nguyễn Văn Đức",
            "address": "thôn Đông", "unit": "bac-giang-2020/07807", "industry_group": "handicrafts",
            "phone": "", "tax_code": "", "main_products": "gốm"}}),
    )
    .await;
    assert_eq!(moved.status, 200, "{}", moved.text());
    let edit = call(
        &app,
        &boss,
        "update_proposal",
        json!({"edit": {"id": there.json(), "title": "Máy tạo hình gốm mới", "support_kind": "machinery",
            "requested_amount": 120_000_000}}),
    )
    .await;
    assert_eq!(edit.status, 200, "{}", edit.text());
}

/// Lowering a request below a recommendation made without a reason would
/// leave the plan funding more than was asked, unexplained.
async fn a_request_is_not_lowered_below_an_unexplained_recommendation(app: TestApp) {
    use crate::console::{decide, submitted};
    use crate::helpers::demo_proposal;
    use crate::phone::Phone;
    use crate::security::call;
    use serde_json::json;
    let mut phone = Phone::login(&app, "ksv1").await;
    let (boss, _) = app.login("giamsat").await;
    let proposal = demo_proposal("213");
    let stored = || async {
        app::store::catalog::proposal_by_id(&app.db.pool, &proposal)
            .await
            .unwrap()
            .unwrap()
    };
    let before = stored().await;
    let asked = before.requested_amount;
    let visit = submitted(&app, &mut phone, &proposal, json!({})).await;
    decide(&app, &boss, &visit, "approved", "Đạt yêu cầu").await;
    let recommend = |rationale: serde_json::Value| json!({"id": proposal, "recommendation": "provincial", "amount": asked, "rationale": rationale});
    // A reason that shows nothing is no reason.
    let r = call(&app, &boss, "recommend", recommend(json!("\u{200B} "))).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let edit = |amount: i64| {
        json!({"edit": {"id": proposal, "title": before.title, "support_kind": before.support_kind,
            "requested_amount": amount}})
    };
    let lowered = call(&app, &boss, "update_proposal", edit(asked - 1)).await;
    assert_eq!(lowered.status, 422, "{}", lowered.text());
    assert_eq!(
        lowered.json()["code"],
        "proposal.requested_below_recommended"
    );
    assert_eq!(stored().await.requested_amount, asked, "nothing changed");
    // An intake row lowering it is named in the preview, not only refused at
    // the commit.
    let facility = sqlx::query_as::<_, (String, String, Option<String>)>(
        "SELECT name, industry_group, commune_code FROM facilities WHERE id = $1",
    )
    .bind(&before.facility_id)
    .fetch_one(&app.db.pool)
    .await
    .unwrap();
    let csv = format!(
        "Tên cơ sở,Chủ cơ sở,Địa chỉ,Xã/phường (mã hoặc tên),Mã số thuế,Nhóm ngành,Điện thoại,Tên đề án,Hình thức hỗ trợ,Kinh phí đề nghị (đồng),Năm,Mã tham chiếu\r\n{},,,{},,{},,{},{},{},2020,",
        facility.0,
        facility.2.clone().unwrap_or_default(),
        facility.1,
        before.title,
        before.support_kind,
        asked - 1
    );
    let preview = crate::security::req("POST", "/api/registry/intake?commit=false")
        .bytes("text/csv", csv.into_bytes())
        .cookie(Some(&boss))
        .send(&app.router)
        .await;
    assert_eq!(preview.status, 200, "{}", preview.text());
    let preview = preview.json();
    assert_eq!(
        preview["problems"][0]["code"], "proposal.requested_below_recommended",
        "{preview}"
    );
    // Asking more is fine; so is less once the recommendation gives its reason.
    let raised = call(&app, &boss, "update_proposal", edit(asked + 1)).await;
    assert_eq!(raised.status, 200, "{}", raised.text());
    let r = call(
        &app,
        &boss,
        "recommend",
        recommend(json!("Mở rộng dây chuyền")),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let explained = call(&app, &boss, "update_proposal", edit(asked - 1)).await;
    assert_eq!(explained.status, 200, "{}", explained.text());
}

crate::engine_tests!(
    a_proposal_is_placed_where_its_facility_is,
    a_request_is_not_lowered_below_an_unexplained_recommendation,
    the_intake_template_downloads_and_reads_back_as_the_intakes_columns,
    a_proposal_is_edited_and_deactivated_with_its_visits_kept,
);
