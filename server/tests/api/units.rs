//! Unit trees keyed by (tree, code): the three real files load, reused codes
//! keep two meanings, refused files store nothing, and the 2020 → 2025
//! mapping carries inspectors' scopes and the office's filters across trees.
//!
//! One file (about 855 lines): the tests share the real unit files, the pull helpers and the demo lookups.

use crate::helpers::{visit_push, TestApp};
use crate::security::call;
use app::error::{AppError, RowProblem};
use app::model::{Facility, Proposal, Role};
use app::office::units::import::{import_mapping, import_tree, ImportError};
use app::store::{catalog, units, users};
use serde_json::{json, Value};
use std::collections::BTreeSet;

const TREE_2020: &[u8] = include_bytes!("../../../data/units/vn-2020-bac-giang.csv");
const TREE_2025: &[u8] = include_bytes!("../../../data/units/vn-2025-bac-ninh.csv");
const MAPPING: &[u8] = include_bytes!("../../../data/units/bac-giang-2020-to-2025.csv");
const OLD: &str = "bac-giang-2020";
const NEW: &str = "bac-ninh-2025";

async fn load_real_files(app: &TestApp) {
    let loaded = |r: Result<app::office::units::import::Loaded, ImportError>| match r {
        Ok(l) => l.rows,
        Err(e) => panic!("{e:?}"),
    };
    assert_eq!(
        loaded(import_tree(&app.db, OLD, "2020-01-01", TREE_2020).await),
        220
    );
    assert_eq!(
        loaded(import_tree(&app.db, NEW, "2025-07-01", TREE_2025).await),
        100
    );
    assert_eq!(
        loaded(import_mapping(&app.db, OLD, NEW, MAPPING).await),
        209
    );
}

/// What a refused file must leave untouched.
async fn snapshot(app: &TestApp) -> (i64, Vec<units::TreeSummary>, usize, i64) {
    let seq = sqlx::query_scalar::<_, i64>("SELECT COALESCE(MAX(seq), 0) FROM change_log")
        .fetch_one(&app.db.pool)
        .await
        .unwrap();
    let trees = units::trees(&app.db).await.unwrap();
    let mapped = match trees.iter().any(|t| t.name == NEW) {
        true => units::mapping(&app.db, OLD, NEW).await.unwrap().len(),
        false => 0,
    };
    (units::count(&app.db).await.unwrap(), trees, mapped, seq)
}

async fn name_of(app: &TestApp, key: &str) -> String {
    units::get(&app.db.pool, key).await.unwrap().unwrap().name
}

async fn the_real_files_load_and_reused_codes_keep_both_meanings(app: TestApp) {
    let facility_before = catalog::facility_by_id(&app.db.pool, &demo_facility_in("07201"))
        .await
        .unwrap()
        .unwrap();
    load_real_files(&app).await;
    let trees = units::trees(&app.db).await.unwrap();
    let summary: Vec<(&str, i64)> = trees.iter().map(|t| (t.name.as_str(), t.units)).collect();
    assert_eq!(summary, vec![(OLD, 220), (NEW, 100)]);

    assert_eq!(name_of(&app, "bac-giang-2020/24").await, "Bắc Giang");
    assert_eq!(name_of(&app, "bac-ninh-2025/24").await, "Bắc Ninh");
    assert_eq!(name_of(&app, "bac-giang-2020/07210").await, "Hoàng Văn Thụ");
    assert_eq!(name_of(&app, "bac-ninh-2025/07210").await, "Bắc Giang");
    // A bare code is what records meant before trees were named: the oldest tree.
    assert_eq!(name_of(&app, "07210").await, "Hoàng Văn Thụ");
    let merged: BTreeSet<String> = units::mapping(&app.db, OLD, NEW)
        .await
        .unwrap()
        .into_iter()
        .filter(|(_, new)| new == "07210")
        .map(|(old, _)| old)
        .collect();
    assert_eq!(merged.len(), 9, "{merged:?}");

    // What was stored keeps its tree and its meaning.
    let facility_after = catalog::facility_by_id(&app.db.pool, &facility_before.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(facility_after, facility_before);
    assert_eq!(facility_after.unit_tree, OLD);

    // Loading the same files again changes nothing, not even the change log.
    let before = snapshot(&app).await;
    load_real_files(&app).await;
    assert_eq!(snapshot(&app).await, before);
}

fn problems(result: Result<app::office::units::import::Loaded, ImportError>) -> Vec<RowProblem> {
    match result {
        Err(ImportError::Refused(p)) => p,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

async fn a_refused_file_is_refused_whole_with_every_problem_and_stores_nothing(app: TestApp) {
    import_tree(&app.db, NEW, "2025-07-01", TREE_2025)
        .await
        .unwrap();
    let before = snapshot(&app).await;
    let header = "code,name,kind,level,parent_code\n";
    // (what, file, expected code, cells it must name as (row, column))
    type Case<'a> = (&'a str, Vec<u8>, &'a str, Vec<(usize, &'a str)>);
    let cases: Vec<Case> = vec![
        (
            "unknown parent",
            format!("{header}90,Thử,tỉnh,province,\n90001,Một,xã,commune,99990\n").into_bytes(),
            "units.unknown_parent",
            vec![(3, "parent_code")],
        ),
        (
            "cycle",
            format!("{header}90,Thử,tỉnh,province,\n90001,Một,huyện,district,90002\n90002,Hai,huyện,district,90001\n").into_bytes(),
            "units.cycle",
            vec![],
        ),
        (
            "duplicate code",
            format!("{header}90,Thử,tỉnh,province,\n90001,Một,xã,commune,90\n90001,Hai,xã,commune,90\n").into_bytes(),
            "units.duplicate_code",
            vec![(4, "code")],
        ),
        (
            "level that does not fit its parent",
            format!("{header}90,Thử,tỉnh,province,\n90001,Một,xã,commune,90\n90002,Hai,huyện,district,90001\n").into_bytes(),
            "units.level_mismatch",
            vec![(4, "level")],
        ),
        (
            "empty name",
            format!("{header}90,Thử,tỉnh,province,\n90001,,xã,commune,90\n").into_bytes(),
            "units.empty",
            vec![(3, "name")],
        ),
        (
            "not UTF-8",
            [header.as_bytes(), b"90,Th\xff,t\xecnh,province,\n"].concat(),
            "units.not_utf8",
            vec![],
        ),
    ];
    for (what, bytes, code, cells) in cases {
        let found = problems(import_tree(&app.db, "thu-nghiem", "2026-01-01", &bytes).await);
        assert!(found.iter().any(|p| p.code == code), "{what}: {found:?}");
        for (row, column) in cells {
            assert!(
                found
                    .iter()
                    .any(|p| p.code == code && p.row == row && p.column.as_deref() == Some(column)),
                "{what}: expected {code} at row {row}, column {column}: {found:?}"
            );
        }
        assert_eq!(snapshot(&app).await, before, "{what} stored something");
    }

    // Every problem of a file at once, not the first only.
    let many = format!("{header}90,Thử,tỉnh,province,\n90001,,xã,commune,90\n90002,Hai,xã,commune,99990\n90002,Ba,xã,commune,90\n");
    let found = problems(import_tree(&app.db, "thu-nghiem", "2026-01-01", many.as_bytes()).await);
    let codes: BTreeSet<&str> = found.iter().map(|p| p.code.as_str()).collect();
    assert!(
        codes.is_superset(&BTreeSet::from([
            "units.empty",
            "units.unknown_parent",
            "units.duplicate_code"
        ])),
        "{found:?}"
    );

    // A tree already loaded may grow, never lose or move a unit.
    let shrunk = format!("{header}24,Bắc Ninh,tỉnh,province,\n");
    let found = problems(import_tree(&app.db, NEW, "2025-07-01", shrunk.as_bytes()).await);
    assert_eq!(found.len(), 99, "{:?}", &found[..3]);
    assert!(found.iter().all(|p| p.code == "units.removed_from_tree"));

    // A mapping row naming a code its tree does not have.
    let mapping = "old_code,new_code\n07201,07210\n99999,07210\n07210,88888\n";
    let found = problems(import_mapping(&app.db, OLD, NEW, mapping.as_bytes()).await);
    let at: Vec<(usize, Option<&str>, &str)> = found
        .iter()
        .map(|p| (p.row, p.column.as_deref(), p.code.as_str()))
        .collect();
    assert_eq!(
        at,
        vec![
            (3, Some("old_code"), "units.mapping_unknown_code"),
            (4, Some("new_code"), "units.mapping_unknown_code"),
        ]
    );
    // A mapping to a tree that is not loaded, and bad names and dates.
    let found = problems(import_mapping(&app.db, OLD, "chua-co", mapping.as_bytes()).await);
    assert_eq!(found[0].code, "units.unknown_tree");
    let found = problems(import_tree(&app.db, "Bắc Ninh", "1/7/2025", TREE_2025).await);
    let codes: Vec<&str> = found.iter().map(|p| p.code.as_str()).collect();
    assert_eq!(
        codes,
        vec!["units.bad_tree_name", "units.bad_effective_from"]
    );
    assert_eq!(snapshot(&app).await, before);
}

/// The demo facility (first one) registered in 2020 commune `commune`.
fn demo_facility_in(commune: &str) -> String {
    demo()["facilities"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["commune_code"] == commune)
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string()
}

fn demo() -> Value {
    serde_json::from_str(app::store::seed::DEMO_BAC_GIANG_2020).unwrap()
}

/// The demo's facilities and proposals in 2020 communes the mapping merges
/// into 2025 commune `new_code`.
async fn demo_records_merged_into(
    app: &TestApp,
    new_code: &str,
) -> (BTreeSet<String>, BTreeSet<String>) {
    let old: BTreeSet<String> = units::mapping(&app.db, OLD, NEW)
        .await
        .unwrap()
        .into_iter()
        .filter(|(_, new)| new == new_code)
        .map(|(old, _)| old)
        .collect();
    let demo = demo();
    let facilities: BTreeSet<String> = demo["facilities"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["commune_code"].as_str().is_some_and(|c| old.contains(c)))
        .map(|f| f["id"].as_str().unwrap().to_string())
        .collect();
    let proposals = demo["proposals"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| facilities.contains(p["facility_id"].as_str().unwrap()))
        .map(|p| p["id"].as_str().unwrap().to_string())
        .collect();
    (facilities, proposals)
}

async fn inspector(app: &TestApp, username: &str, units: &[&str]) -> Result<String, AppError> {
    users::create(
        &app.db,
        users::NewUser {
            username,
            display_name: username,
            password: "khaosat-demo",
            roles: &[Role::Inspector],
            units: &units.iter().map(|u| u.to_string()).collect::<Vec<_>>(),
        },
    )
    .await
}

fn ids(changes: &[Value], entity: &str) -> BTreeSet<String> {
    changes
        .iter()
        .filter(|c| c["entity"] == entity && c["record"]["id"].is_string())
        .map(|c| c["record"]["id"].as_str().unwrap().to_string())
        .collect()
}

/// A facility in `tree` at a commune or a district, as the office registers one.
fn facility_at(name: &str, tree: &str, commune: Option<&str>, district: Option<&str>) -> Facility {
    Facility {
        id: uuid::Uuid::now_v7().to_string(),
        name: name.into(),
        owner_name: None,
        address: None,
        unit_tree: tree.into(),
        commune_code: commune.map(str::to_string),
        district_code: district.map(str::to_string),
        industry_group: "processing".into(),
        phone: None,
        lat: None,
        lon: None,
        workforce: None,
        main_products: None,
        versions: Default::default(),
    }
}

/// A 2026 proposal of `facility` registered in 2025 commune `commune`.
fn proposal_2026(facility: &Facility, commune: &str, title: &str, amount: i64) -> Proposal {
    Proposal {
        id: uuid::Uuid::now_v7().to_string(),
        year: 2026,
        unit_tree: NEW.into(),
        district_code: None,
        commune_code: Some(commune.into()),
        facility_id: facility.id.clone(),
        title: title.into(),
        support_kind: "machinery".into(),
        requested_amount: amount,
        status: "registered".into(),
        form_id: None,
        form_version: None,
    }
}

/// The `take` field of every record of `list` in commune `commune`.
fn in_commune(list: &Value, commune: &str, take: &str) -> BTreeSet<String> {
    list.as_array()
        .unwrap()
        .iter()
        .filter(|r| r["commune_code"] == commune)
        .map(|r| r[take].as_str().unwrap().to_string())
        .collect()
}

async fn scopes_reach_across_the_mapping_both_ways(app: TestApp) {
    // The demo loads both trees and their mapping; start from a mapping that
    // joins nothing to phường Bắc Giang (07210).
    import_mapping(&app.db, OLD, NEW, b"old_code,new_code\n07291,07288\n")
        .await
        .unwrap();
    // An inspector of the 2025 phường Bắc Giang pulls before the full mapping
    // is loaded: nothing of 2020 is theirs yet, only what 2026 registered there.
    inspector(&app, "ksv-bac-giang", &["bac-ninh-2025/07210"])
        .await
        .unwrap();
    let (cookie, _) = app.login("ksv-bac-giang").await;
    let (first, cursor) = app.pull_from(&cookie, 0).await;
    let demo_2026: Value = serde_json::from_str(app::store::seed::DEMO_BAC_NINH_2026).unwrap();
    let registered_2026 = in_commune(&demo_2026["facilities"], "07210", "id");
    // And the facility of each 2026 proposal registered in that commune, the
    // 2020 facility's place not yet joined to it: the proposal is theirs to
    // survey, so it comes with what it is about.
    let of_proposals_there = in_commune(&demo_2026["proposals"], "07210", "facility_id");
    let expected: BTreeSet<String> = registered_2026
        .union(&of_proposals_there)
        .cloned()
        .collect();
    assert_eq!(ids(&first, "facility"), expected);

    import_mapping(&app.db, OLD, NEW, MAPPING).await.unwrap();
    let (facilities, proposals) = demo_records_merged_into(&app, "07210").await;
    assert_eq!(facilities.len(), 9);
    let proposals_2026 = in_commune(&demo_2026["proposals"], "07210", "id");
    assert_eq!(proposals_2026.len(), 2);
    // The phone's cursor is past those records; it still receives them (and
    // again a 2026 proposal at one of those facilities, which it had).
    let (later, _) = app.pull_from(&cookie, cursor).await;
    assert_eq!(ids(&later, "facility"), facilities);
    let again = ids(&later, "proposal");
    assert!(again.is_superset(&proposals), "{again:?}");
    assert!(again
        .difference(&proposals)
        .all(|p| proposals_2026.contains(p)));
    // A fresh phone of the same inspector gets them with the 2026 ones.
    let (fresh, _) = app.login("ksv-bac-giang").await;
    let all = app.pull_all(&fresh).await;
    let mut every = facilities.clone();
    every.extend(registered_2026.iter().cloned());
    assert_eq!(ids(&all, "facility"), every);
    let mut every = proposals.clone();
    every.extend(proposals_2026);
    assert_eq!(ids(&all, "proposal"), every);

    // The reverse: a facility and a 2026 proposal registered on the 2025
    // tree reach the inspector of a 2020 ward merged into that commune, and
    // not an inspector of unrelated districts.
    app::store::years::ensure_open(&app.db, 2026, NEW)
        .await
        .unwrap();
    let mut tx = app.db.begin_write().await.unwrap();
    let mut facility = facility_at("Hợp tác xã Mây tre Bắc Giang mới", NEW, Some("07210"), None);
    facility.industry_group = "handicrafts".into();
    catalog::upsert_facility(&mut tx, &facility).await.unwrap();
    let proposal = proposal_2026(&facility, "07210", "Hỗ trợ máy đan mây", 150_000_000);
    catalog::upsert_proposal(&mut tx, &proposal).await.unwrap();
    tx.commit().await.unwrap();

    inspector(&app, "ksv-tho-xuong", &["bac-giang-2020/07201"])
        .await
        .unwrap();
    let (ward, _) = app.login("ksv-tho-xuong").await;
    let seen = app.pull_all(&ward).await;
    assert!(ids(&seen, "facility").contains(&facility.id));
    assert!(ids(&seen, "proposal").contains(&proposal.id));
    let pulled = seen
        .iter()
        .find(|c| c["record"]["id"] == proposal.id.as_str())
        .unwrap();
    assert_eq!(pulled["record"]["unit_tree"], NEW);
    assert_eq!(pulled["record"]["commune_code"], "07210");
    let (other, _) = app.login("ksv5").await;
    let theirs = app.pull_all(&other).await;
    assert!(!ids(&theirs, "facility").contains(&facility.id));
    assert!(!ids(&theirs, "proposal").contains(&proposal.id));

    // A bare code two trees share is refused with both candidates named.
    match inspector(&app, "ksv-mo-ho", &["07210"]).await {
        Err(AppError::Invalid(body)) => {
            assert_eq!(body.code, "user.ambiguous_unit");
            assert_eq!(
                body.params["candidates"],
                json!("bac-giang-2020/07210, bac-ninh-2025/07210")
            );
        }
        other => panic!("{other:?}"),
    }
}

async fn office_filters_find_visits_across_the_mapping(app: TestApp) {
    load_real_files(&app).await;
    // ksv1 surveys a proposal at a facility of 2020 ward Thọ Xương (07201),
    // merged into 2025 phường Bắc Giang (07210).
    let facility = demo_facility_in("07201");
    let proposal = demo()["proposals"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["facility_id"] == facility.as_str())
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let (cookie, device) = app.login("ksv1").await;
    let visit = uuid::Uuid::now_v7().to_string();
    let pushed = app
        .post_json(
            "/api/sync/push",
            Some(&cookie),
            &visit_push(&device, &visit, &proposal, 1, &[("workforce", json!(12))]),
        )
        .await;
    assert_eq!(pushed.status, 200, "{}", pushed.text());

    let (boss, _) = app.login("giamsat").await;
    let found = |query: Value| {
        let app = &app;
        let boss = boss.clone();
        async move {
            let r = call(app, &boss, "search_visits", json!({ "query": query })).await;
            assert_eq!(r.status, 200, "{}", r.text());
            r.json()["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v["id"].as_str().unwrap().to_string())
                .collect::<Vec<_>>()
        }
    };
    let query = |commune: &str| json!({"commune": commune, "sort": "received", "desc": true, "page": 1, "per_page": 50});
    assert_eq!(
        found(query("bac-ninh-2025/07210")).await,
        vec![visit.clone()]
    );
    assert_eq!(
        found(query("bac-giang-2020/07201")).await,
        vec![visit.clone()]
    );
    // The 2020 ward Hoàng Văn Thụ (07210) is another place than Thọ Xương.
    assert!(found(query("bac-giang-2020/07210")).await.is_empty());
    // Another 2025 commune holds none of it.
    let other = units::mapping(&app.db, OLD, NEW)
        .await
        .unwrap()
        .into_iter()
        .map(|(_, new)| new)
        .find(|new| new != "07210")
        .unwrap();
    assert!(found(query(&format!("bac-ninh-2025/{other}")))
        .await
        .is_empty());
    // The district filter of 2020 also reaches it.
    let by_district = json!({"district": "bac-giang-2020/213", "sort": "received", "desc": true, "page": 1, "per_page": 50});
    assert_eq!(found(by_district).await, vec![visit]);
}

/// An inspector of a 2025 commune registers a facility found on site in that
/// commune (no district in that tree) and surveys it; a commune outside their
/// scope, or a district code in the 2025 tree, is refused.
async fn a_facility_found_on_site_is_registered_in_a_2025_commune(app: TestApp) {
    use crate::phone::{statuses, Phone};
    inspector(&app, "ksv-tan-an", &["bac-ninh-2025/07682"])
        .await
        .unwrap();
    let mut phone = Phone::login(&app, "ksv-tan-an").await;
    let id = uuid::Uuid::now_v7().to_string();
    let fields = json!({"name": "Xưởng ép viên nén", "unit_tree": NEW, "commune_code": "07682", "industry_group": "processing"});
    let create = phone.mutation("facility", "upsert", &id, fields, 0);
    let visit = uuid::Uuid::now_v7().to_string();
    let survey = phone.mutation(
        "visit",
        "upsert",
        &visit,
        json!({"form_id": "khuyen-cong", "form_version": 1, "facility_id": id, "workforce": 4}),
        0,
    );
    assert_eq!(
        statuses(&phone.push_ok(&app, &[create, survey]).await),
        ["applied", "applied"]
    );
    let stored = catalog::facility_by_id(&app.db.pool, &id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (
            stored.unit_tree.as_str(),
            stored.commune_code.as_deref(),
            stored.district_code
        ),
        (NEW, Some("07682"), None)
    );
    for (fields, code) in [
        (
            json!({"name": "Nơi khác", "unit_tree": NEW, "commune_code": "07210", "industry_group": "other"}),
            "facility.out_of_scope",
        ),
        (
            json!({"name": "Mã huyện cũ", "unit_tree": NEW, "district_code": "221", "industry_group": "other"}),
            "unit.unknown",
        ),
    ] {
        let m = phone.mutation(
            "facility",
            "upsert",
            &uuid::Uuid::now_v7().to_string(),
            fields,
            0,
        );
        let result = phone.push_ok(&app, &[m]).await;
        assert_eq!(result[0]["error"]["code"], code);
    }
}

/// A facility known only by its 2020 district (an inspector of that district
/// found it on site, no commune) gets a 2026 proposal at the 2025 commune it is
/// in. The inspector of that commune pushes visits for it and the plan counts
/// it there; the pull judged it by the facility's place alone and sent it to
/// that inspector's phone as deleted.
async fn a_2026_proposal_reaches_its_communes_inspector_with_its_facility(app: TestApp) {
    app::store::years::ensure_open(&app.db, 2026, NEW)
        .await
        .unwrap();
    let facility = facility_at("Xưởng sấy vải Tân Yên", OLD, None, Some("216"));
    let mut tx = app.db.begin_write().await.unwrap();
    catalog::upsert_facility(&mut tx, &facility).await.unwrap();
    tx.commit().await.unwrap();
    inspector(&app, "ksv-da-mai", &["bac-ninh-2025/07228"])
        .await
        .unwrap();
    let (cookie, device) = app.login("ksv-da-mai").await;
    let (before, cursor) = app.pull_from(&cookie, 0).await;
    assert!(
        !ids(&before, "facility").contains(&facility.id),
        "not theirs yet"
    );

    let proposal = proposal_2026(&facility, "07228", "Hỗ trợ lò sấy", 120_000_000);
    let mut tx = app.db.begin_write().await.unwrap();
    catalog::upsert_proposal(&mut tx, &proposal).await.unwrap();
    tx.commit().await.unwrap();
    // The last mention of each is the record itself, the facility first: the
    // phone holds both, and never a proposal without its facility.
    let last = |changes: &[Value], id: &str| {
        changes
            .iter()
            .rposition(|c| c["record"]["id"] == id)
            .map(|at| {
                (
                    at,
                    changes[at]["entity"]
                        .as_str()
                        .unwrap_or_default()
                        .to_string(),
                )
            })
    };
    let (later, _) = app.pull_from(&cookie, cursor).await;
    let fresh = app.pull_all(&app.login("ksv-da-mai").await.0).await;
    for (name, changes) in [("after the proposal", &later), ("from nothing", &fresh)] {
        let f = last(changes, &facility.id);
        let p = last(changes, &proposal.id);
        assert_eq!(
            f.as_ref().map(|f| f.1.as_str()),
            Some("facility"),
            "{name}: {changes:?}"
        );
        assert_eq!(p.as_ref().map(|p| p.1.as_str()), Some("proposal"), "{name}");
        assert!(f.unwrap().0 < p.unwrap().0, "{name}: the facility first");
    }

    // A later change of the facility reaches that phone too.
    let (_, cursor) = app.pull_from(&cookie, 0).await;
    let mut renamed = facility.clone();
    renamed.name = "Xưởng sấy vải Quế Nham".into();
    let mut tx = app.db.begin_write().await.unwrap();
    catalog::upsert_facility(&mut tx, &renamed).await.unwrap();
    tx.commit().await.unwrap();
    let (after, _) = app.pull_from(&cookie, cursor).await;
    let change = after
        .iter()
        .rev()
        .find(|c| c["record"]["id"] == facility.id.as_str())
        .expect("the facility's change reaches the proposal's inspector");
    assert_eq!(change["entity"], "facility");
    assert_eq!(change["record"]["name"], "Xưởng sấy vải Quế Nham");

    // The inspector surveys it; the office finds the visit by that commune.
    let visit = uuid::Uuid::now_v7().to_string();
    let pushed = app
        .post_json(
            "/api/sync/push",
            Some(&cookie),
            &visit_push(&device, &visit, &proposal.id, 1, &[("workforce", json!(7))]),
        )
        .await;
    assert_eq!(pushed.status, 200, "{}", pushed.text());
    assert_eq!(
        pushed.json()["results"][0]["status"],
        "applied",
        "{}",
        pushed.text()
    );
    let (boss, _) = app.login("giamsat").await;
    let query = json!({"query": {"commune": "bac-ninh-2025/07228", "sort": "received",
                                 "desc": true, "page": 1, "per_page": 50}});
    let r = call(&app, &boss, "search_visits", query).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(
        r.json()["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|v| v["id"] == visit.as_str()),
        "{}",
        r.text()
    );

    // An inspector of an unrelated district gets neither.
    let (other, _) = app.login("ksv5").await;
    let theirs = app.pull_all(&other).await;
    assert!(!ids(&theirs, "facility").contains(&facility.id));
    assert!(!ids(&theirs, "proposal").contains(&proposal.id));
}

/// A tree or mapping an administrator loads is in the audit log with who
/// loaded it and which file (its SHA-256); a refused file leaves nothing.
async fn a_loaded_tree_and_mapping_are_audited(app: TestApp) {
    use crate::security::req;
    let (admin, _) = app.login("quantri").await;
    let post = |uri: String, body: &'static [u8]| {
        req("POST", &uri)
            .bytes("text/csv", body.to_vec())
            .cookie(Some(&admin))
            .send(&app.router)
    };
    let tree = b"code,name,kind,level,parent_code\n90,Th\xe1\xbb\xad,t\xe1\xbb\x89nh,province,\n90001,M\xe1\xbb\x99t,x\xc3\xa3,commune,90\n";
    let r = post(
        "/api/units/import?tree=thu-nghiem&effective_from=2026-01-01".into(),
        tree,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let r = post(
        "/api/units/import?tree=thu-nghiem&effective_from=2026-01-01".into(),
        b"code\n",
    )
    .await;
    assert_eq!(r.status, 422, "{}", r.text());
    let r = post(format!("/api/units/import?from={OLD}&to={NEW}"), MAPPING).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let rows: Vec<(String, String, Option<String>, String)> = sqlx::query_as(
        "SELECT action, record_id, user_id, detail FROM audit_log WHERE action LIKE 'units.%' ORDER BY id",
    )
    .fetch_all(&app.db.pool)
    .await
    .unwrap();
    let quantri: String = sqlx::query_scalar("SELECT id FROM users WHERE username = 'quantri'")
        .fetch_one(&app.db.pool)
        .await
        .unwrap();
    let seen: Vec<(&str, &str)> = rows.iter().map(|r| (r.0.as_str(), r.1.as_str())).collect();
    assert_eq!(
        seen,
        [
            ("units.tree_imported", "thu-nghiem"),
            ("units.mapping_imported", "bac-giang-2020>bac-ninh-2025")
        ]
    );
    assert!(rows
        .iter()
        .all(|r| r.2.as_deref() == Some(quantri.as_str())));
    let detail: Value = serde_json::from_str(&rows[0].3).unwrap();
    let sha = {
        use sha2::{Digest, Sha256};
        hex::encode(Sha256::digest(tree))
    };
    assert_eq!(detail["sha256"], sha.as_str());
    assert_eq!(detail["rows"], 2);
}

crate::engine_tests!(
    a_loaded_tree_and_mapping_are_audited,
    a_2026_proposal_reaches_its_communes_inspector_with_its_facility,
    a_facility_found_on_site_is_registered_in_a_2025_commune,
    the_real_files_load_and_reused_codes_keep_both_meanings,
    a_refused_file_is_refused_whole_with_every_problem_and_stores_nothing,
    scopes_reach_across_the_mapping_both_ways,
    office_filters_find_visits_across_the_mapping,
);

/// A database an older release filled upgrades in place: every record gets
/// its tree, every path the tree's name, every key still holds, and the
/// inspector's phone still receives exactly its records.
async fn upgrade_keeps_what_was_stored(db: app::store::Db) {
    use app::store::testing;
    db.migrate_through(6).await.unwrap();
    testing::write_rows_before_unit_trees(&db).await.unwrap();
    db.migrate().await.unwrap();

    assert_eq!(
        units::trees(&db)
            .await
            .unwrap()
            .iter()
            .map(|t| (t.name.as_str(), t.units))
            .collect::<Vec<_>>(),
        vec![(OLD, 4)]
    );
    assert_eq!(
        units::get(&db.pool, "bac-giang-2020/07201")
            .await
            .unwrap()
            .unwrap()
            .name,
        "Thọ Xương"
    );
    assert_eq!(
        units::scope_paths(&db.pool, "u1").await.unwrap(),
        vec!["bac-giang-2020/24/213/"]
    );
    let f1 = catalog::facility_by_id(&db.pool, "f1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (
            f1.unit_tree.as_str(),
            f1.district_code.as_deref(),
            f1.commune_code.as_deref()
        ),
        (OLD, Some("213"), Some("07201"))
    );
    let p1 = catalog::proposal_by_id(&db.pool, "p1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (p1.unit_tree.as_str(), p1.district_code.as_deref()),
        (OLD, Some("213"))
    );
    assert_eq!(
        testing::visit_paths(&db).await.unwrap(),
        vec![("v1".to_string(), Some("bac-giang-2020/24/213/".to_string()))]
    );
    let user = app::model::UserInfo {
        id: "u1".into(),
        username: "ksv".into(),
        display_name: "KSV".into(),
        roles: vec![Role::Inspector],
        units: vec!["bac-giang-2020/213".into()],
    };
    let page = app::store::pull::pull(
        &db,
        &user,
        0,
        100,
        app::sync::Hlc { ms: 1, counter: 0 },
        None,
    )
    .await
    .unwrap();
    let got: BTreeSet<(String, String)> = page
        .changes
        .iter()
        .map(|c| {
            let v = serde_json::to_value(&c.record).unwrap();
            (
                v["entity"].as_str().unwrap_or_default().to_string(),
                v["record"]["id"]
                    .as_str()
                    .or(v["record"]["code"].as_str())
                    .unwrap_or_default()
                    .to_string(),
            )
        })
        .collect();
    let want: BTreeSet<(String, String)> = [
        ("facility", "f1"),
        ("proposal", "p1"),
        ("visit", "v1"),
        ("unit", "24"),
        ("unit", "213"),
        ("unit", "215"),
        ("unit", "07201"),
    ]
    .iter()
    .map(|(e, id)| (e.to_string(), id.to_string()))
    .collect();
    assert_eq!(got, want, "{:?}", page.changes);
    // Units are sent again with their tree, for phones that keyed them by code.
    assert!(page.changes.iter().all(|c| match &c.record {
        app::sync::PulledRecord::Unit(u) => u.tree == OLD,
        _ => true,
    }));
}

#[tokio::test]
async fn a_sqlite_database_of_an_older_release_upgrades_in_place() {
    let dir = tempfile::tempdir().unwrap();
    let db = app::store::Db::connect(&format!("sqlite://{}", dir.path().join("old.db").display()))
        .await
        .unwrap();
    upgrade_keeps_what_was_stored(db).await;
}

#[tokio::test]
async fn a_postgres_database_of_an_older_release_upgrades_in_place() {
    let admin = std::env::var("KHAOSAT_TEST_POSTGRES_URL").expect("KHAOSAT_TEST_POSTGRES_URL");
    let name = format!("khaosat_upgrade_{}", uuid::Uuid::now_v7().simple());
    app::store::testing::create_database(&admin, &name)
        .await
        .unwrap();
    let base = admin.rsplit_once('/').unwrap().0;
    let db = app::store::Db::connect(&format!("{base}/{name}"))
        .await
        .unwrap();
    upgrade_keeps_what_was_stored(db.clone()).await;
    db.pool.close().await;
    app::store::testing::drop_database(&admin, &name)
        .await
        .unwrap();
}
