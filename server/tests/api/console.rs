//! The supervisor's console: the filtered visit list, conflicts resolved side by
//! side, recommendations and the plan built from them, and the exports read back
//! (XLSX parsed, CSV decoded, the photo ZIP's manifest checked against its files).
//!
//! One file (about 1,120 lines): the tests share one demo set-up of visits,
//! recommendations and photos and read each other's exports; splitting them by
//! screen would copy that set-up. Issue 16's office split is where it divides.

use crate::helpers::{demo_proposal, TestApp};
use crate::phone::{complete_answers, statuses, Phone};
use crate::security::{ok, rpc};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::io::Read;

async fn call(
    app: &TestApp,
    cookie: &str,
    name: &str,
    args: Value,
) -> crate::helpers::TestResponse {
    rpc(name, args).cookie(Some(cookie)).send(&app.router).await
}

async fn search(app: &TestApp, boss: &str, query: Value) -> Value {
    ok(&call(app, boss, "search_visits", json!({ "query": query })).await)
}

fn ids(page: &Value) -> Vec<String> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["id"].as_str().unwrap().to_string())
        .collect()
}

#[track_caller]
fn error_code(r: &crate::helpers::TestResponse) -> String {
    let body = r.json();
    assert!(r.status.is_client_error(), "{} {}", r.status, r.text());
    body["code"].as_str().unwrap_or_default().to_string()
}

/// A visit of `proposal` submitted with every required answer.
pub(crate) async fn submitted(
    app: &TestApp,
    phone: &mut Phone,
    proposal: &str,
    extra: Value,
) -> String {
    let visit = uuid::Uuid::now_v7().to_string();
    let mut answers = complete_answers();
    for (k, v) in extra.as_object().unwrap() {
        answers[k] = v.clone();
    }
    let create = phone.new_visit(&visit, proposal, json!({}));
    let submit = phone.mutation("visit", "submit", &visit, answers, 0);
    assert_eq!(
        statuses(&phone.push_ok(app, &[create, submit]).await),
        ["applied", "applied"]
    );
    visit
}

pub(crate) async fn decide(app: &TestApp, boss: &str, visit: &str, to: &str, comment: &str) {
    let r = app
        .post_json(
            &format!("/api/visits/{visit}/review"),
            Some(boss),
            &json!({"to": to, "comment": comment}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
}

async fn the_visit_list_filters_searches_sorts_pages_and_counts(app: TestApp) {
    let mut one = Phone::login(&app, "ksv1").await;
    let mut two = Phone::login(&app, "ksv2").await;
    let (boss, _) = app.login("giamsat").await;
    // ksv1: two visits in TP Bắc Giang (213), one submitted; ksv2: one in Hiệp Hòa (223).
    let a = submitted(&app, &mut one, &demo_proposal("213"), json!({})).await;
    let b = uuid::Uuid::now_v7().to_string();
    let m = one.new_visit(&b, &demo_proposal("213"), json!({"workforce": 3}));
    one.push_ok(&app, &[m]).await;
    let c = uuid::Uuid::now_v7().to_string();
    let m = two.new_visit(&c, &demo_proposal("223"), json!({"workforce": 9}));
    two.push_ok(&app, &[m]).await;

    let all = search(&app, &boss, json!({})).await;
    assert_eq!(all["total"], 3);
    assert_eq!(
        ids(&all),
        [c.clone(), b.clone(), a.clone()],
        "newest first by default"
    );
    assert_eq!(all["counts"]["submitted"], 1);
    assert_eq!(all["counts"]["in_progress"], 2);

    // State filter: the counts still cover every state, the total only that one.
    let sub = search(&app, &boss, json!({"state": "submitted"})).await;
    assert_eq!(ids(&sub), [a.as_str()]);
    assert_eq!(sub["total"], 1);
    assert_eq!(sub["counts"]["in_progress"], 2);

    let by_district = search(&app, &boss, json!({"district": "223"})).await;
    assert_eq!(ids(&by_district), [c.as_str()]);
    let inspectors = ok(&call(&app, &boss, "visit_filter_choices", json!({})).await);
    let ksv2 = inspectors["inspectors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i[1] == "Lê Thị Mai")
        .expect("ksv2 has a visit")[0]
        .as_str()
        .unwrap()
        .to_string();
    let by_inspector = search(&app, &boss, json!({"inspector": ksv2})).await;
    assert_eq!(ids(&by_inspector), [c.as_str()]);
    assert!(inspectors["districts"].as_array().unwrap().len() >= 9);

    // Diacritic-insensitive search over proposal, facility and district.
    let title = app::store::catalog::proposal_by_id(&app.db.pool, &demo_proposal("223"))
        .await
        .unwrap()
        .unwrap()
        .title;
    let folded = app::search::fold(&title);
    let word = folded.split_whitespace().max_by_key(|w| w.len()).unwrap();
    let found = search(&app, &boss, json!({"q": word.to_uppercase()})).await;
    assert!(ids(&found).contains(&c), "{word} finds {title}");
    let found = search(&app, &boss, json!({"q": "huyen hiep hoa"})).await;
    assert!(
        ids(&found).contains(&c),
        "district names match without diacritics"
    );
    let found = search(&app, &boss, json!({"q": "Hiệp Hòa", "district": "213"})).await;
    assert!(!ids(&found).contains(&c));
    let none = search(&app, &boss, json!({"q": "100%_"})).await;
    assert_eq!(none["total"], 0, "LIKE wildcards are literal");

    // Order and pages.
    let asc = search(&app, &boss, json!({"sort": "received", "desc": false})).await;
    assert_eq!(
        search(&app, &boss, json!({"sort": "received"})).await["items"],
        all["items"]
    );
    assert_eq!(ids(&asc), [a.clone(), b.clone(), c.clone()]);
    let p1 = search(&app, &boss, json!({"per_page": 2, "page": 1, "desc": true})).await;
    let p2 = search(&app, &boss, json!({"per_page": 2, "page": 2, "desc": true})).await;
    assert_eq!(ids(&p1), [c.clone(), b.clone()]);
    assert_eq!(ids(&p2), [a.as_str()]);
    assert_eq!(p2["total"], 3);
    // A page past the last is the last, not an empty table under "9/2".
    let past = search(&app, &boss, json!({"per_page": 2, "page": 9, "desc": true})).await;
    assert_eq!(
        (past["page"].as_u64(), ids(&past)),
        (Some(2), vec![a.clone()])
    );
    let by_state = search(&app, &boss, json!({"sort": "state", "desc": false})).await;
    assert_eq!(ids(&by_state)[0], a, "awaiting review comes first");
    let by_state = search(&app, &boss, json!({"sort": "state", "desc": true})).await;
    assert_eq!(ids(&by_state)[2], a, "and last, the other way");

    // Dates (Vietnam days) and flags.
    let today = app::format::datetime_vn(app::store::now_ms());
    let (d, rest) = today.split_once('/').unwrap();
    let (m, rest) = rest.split_once('/').unwrap();
    let y = &rest[..4];
    let iso = format!("{y}-{m}-{d}");
    let dated = search(&app, &boss, json!({"from": iso, "to": iso})).await;
    assert_eq!(dated["total"], 3);
    let before = search(&app, &boss, json!({"to": "2019-12-31"})).await;
    assert_eq!(before["total"], 0);
    let r = call(
        &app,
        &boss,
        "search_visits",
        json!({"query": {"from": "31/12/2019"}}),
    )
    .await;
    assert_eq!(error_code(&r), "console.bad_date");
    let photos = search(&app, &boss, json!({"has_photos": true})).await;
    assert_eq!(photos["total"], 0);
    let clean = search(&app, &boss, json!({"has_conflicts": false})).await;
    assert_eq!(clean["total"], 3);
}

async fn a_conflict_is_shown_side_by_side_and_resolved_as_an_ordinary_change(app: TestApp) {
    // One inspector on two phones: both edit the workforce from the same base.
    let mut phone_a = Phone::login(&app, "ksv1").await;
    let mut phone_b = Phone::login(&app, "ksv1").await;
    let (boss, _) = app.login("giamsat").await;
    let visit = uuid::Uuid::now_v7().to_string();
    let m = phone_a.new_visit(&visit, &demo_proposal("213"), json!({"workforce": 10}));
    phone_a.push_ok(&app, &[m]).await;
    let mine = phone_a.mutation("visit", "upsert", &visit, json!({"workforce": 12}), 1);
    phone_a.push_ok(&app, &[mine]).await;
    let theirs = phone_b.mutation("visit", "upsert", &visit, json!({"workforce": 15}), 1);
    phone_b.push_ok(&app, &[theirs]).await;

    let flagged = search(&app, &boss, json!({"has_conflicts": true})).await;
    assert_eq!(ids(&flagged), [visit.as_str()]);
    assert_eq!(flagged["items"][0]["open_conflicts"], 1);
    let extras = ok(&call(&app, &boss, "visit_extras", json!({"id": visit})).await);
    let conflict = &extras["conflicts"][0];
    assert_eq!(conflict["field"], "workforce");
    assert_eq!(conflict["base"], 10);
    let values: Vec<&Value> = vec![&conflict["mine"], &conflict["theirs"]];
    assert!(
        values.contains(&&json!(12)) && values.contains(&&json!(15)),
        "{conflict}"
    );
    assert_eq!(conflict["mine_by"], "Trần Văn Hùng");
    assert!(conflict["mine_at_ms"].as_i64().unwrap() > 0);
    let id = conflict["id"].as_i64().unwrap();
    // The phone whose value lost is told the field waits for a decision.
    let pulled_visit = |changes: Vec<Value>| {
        changes
            .into_iter()
            .rev()
            .find(|c| c["entity"] == "visit" && c["record"]["id"] == visit)
            .unwrap()
    };
    let open = pulled_visit(app.pull_all(&phone_b.cookie).await);
    assert_eq!(open["record"]["open_conflicts"], json!(["workforce"]));

    // A value that does not fit the field changes nothing.
    let r = call(
        &app,
        &boss,
        "resolve_conflict",
        json!({"id": id, "value": "mười ba"}),
    )
    .await;
    assert_eq!(error_code(&r), "form.expected_integer");
    // While the supervisor's page is open, the inspector corrects the field
    // from the version it holds now (a clean edit, no new conflict). A
    // choice made on the page's version does not overwrite it unseen.
    let seen = conflict["version"].as_i64().unwrap();
    assert!(seen > 0, "{conflict}");
    let fixed = phone_a.mutation("visit", "upsert", &visit, json!({"workforce": 11}), seen);
    assert_eq!(
        statuses(&phone_a.push_ok(&app, &[fixed]).await),
        ["applied"]
    );
    let r = call(
        &app,
        &boss,
        "resolve_conflict",
        json!({"id": id, "value": 13, "seen_version": seen}),
    )
    .await;
    assert_eq!(error_code(&r), "conflict.changed");
    let (record, _) = app::store::visits::record(&app.db.pool, &visit)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        record.answers["workforce"], 11,
        "the inspector's fix stands"
    );
    // Edited offline before the resolution, pushed after it.
    let late = phone_b.mutation("visit", "upsert", &visit, json!({"workforce": 16}), 1);
    let r = call(
        &app,
        &phone_a.cookie.clone(),
        "resolve_conflict",
        json!({"id": id, "value": 13}),
    )
    .await;
    assert_eq!(r.status, 403);
    ok(&call(
        &app,
        &boss,
        "resolve_conflict",
        json!({"id": id, "value": 13}),
    )
    .await);
    let r = call(
        &app,
        &boss,
        "resolve_conflict",
        json!({"id": id, "value": 14}),
    )
    .await;
    assert_eq!(error_code(&r), "conflict.resolved");

    let (record, _) = app::store::visits::record(&app.db.pool, &visit)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(record.answers["workforce"], 13);
    // The phones hear it as an ordinary change, with a new version to edit
    // from, and no conflict left open.
    let v = pulled_visit(app.pull_all(&phone_b.cookie).await);
    assert_eq!(v["record"]["answers"]["workforce"], 13);
    assert_eq!(v["record"].get("open_conflicts"), None);
    assert_eq!(
        v["record"]["versions"]["workforce"],
        record.versions["workforce"]
    );
    let extras = ok(&call(&app, &boss, "visit_extras", json!({"id": visit})).await);
    assert_eq!(extras["conflicts"], json!([]));
    let audit = extras["audit"].as_array().unwrap();
    let entry = audit
        .iter()
        .find(|e| e["action"] == "resolve_conflict")
        .unwrap();
    let detail: Value = serde_json::from_str(entry["detail"].as_str().unwrap()).unwrap();
    assert_eq!(detail["new"], 13);
    assert_eq!(
        search(&app, &boss, json!({"has_conflicts": true})).await["total"],
        0
    );

    // The late edit loses to the supervisor's newer value and is kept as a
    // conflict; choosing it the second time writes it.
    phone_b.push_ok(&app, &[late]).await;
    let extras = ok(&call(&app, &boss, "visit_extras", json!({"id": visit})).await);
    let conflict = &extras["conflicts"][0];
    assert_eq!(
        (&conflict["theirs"], &conflict["mine"]),
        (&json!(13), &json!(16))
    );
    assert_eq!(
        conflict["theirs_by"], "Nguyễn Thị Thu Hà",
        "the office's own value"
    );
    let id = conflict["id"].as_i64().unwrap();
    ok(&call(
        &app,
        &boss,
        "resolve_conflict",
        json!({"id": id, "value": 16}),
    )
    .await);
    let (record, _) = app::store::visits::record(&app.db.pool, &visit)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        record.answers["workforce"], 16,
        "a second resolution is written too"
    );
}

async fn a_resubmitted_visit_shows_what_changed_and_every_transition_is_checked(app: TestApp) {
    let mut phone = Phone::login(&app, "ksv1").await;
    let (boss, _) = app.login("giamsat").await;
    let visit = submitted(&app, &mut phone, &demo_proposal("213"), json!({})).await;
    let uri = format!("/api/visits/{visit}/review");
    let extras = ok(&call(&app, &boss, "visit_extras", json!({"id": visit})).await);
    assert_eq!(extras["changed"], json!([]), "never sent back");
    // Refused transitions leave the state as it was.
    for (to, code) in [
        ("submitted", "review.bad_decision"),
        ("in_progress", "review.bad_decision"),
    ] {
        let r = app.post_json(&uri, Some(&boss), &json!({"to": to})).await;
        assert_eq!(error_code(&r), code);
    }
    decide(
        &app,
        &boss,
        &visit,
        "needs_changes",
        "Số lao động chưa khớp",
    )
    .await;
    for to in ["approved", "rejected", "needs_changes"] {
        let r = app
            .post_json(&uri, Some(&boss), &json!({"to": to, "comment": "x"}))
            .await;
        assert_eq!(
            error_code(&r),
            "review.bad_transition",
            "needs_changes → {to}"
        );
    }
    let fix = phone.mutation("visit", "upsert", &visit, json!({"workforce": 30}), 0);
    let again = phone.mutation("visit", "submit", &visit, json!({}), 0);
    phone.push_ok(&app, &[fix, again]).await;
    let extras = ok(&call(&app, &boss, "visit_extras", json!({"id": visit})).await);
    assert_eq!(
        extras["changed"],
        json!([{"field": "workforce", "before": 12, "after": 30}])
    );
    decide(&app, &boss, &visit, "approved", "Đạt").await;
    for to in ["approved", "rejected", "needs_changes"] {
        let r = app
            .post_json(&uri, Some(&boss), &json!({"to": to, "comment": "x"}))
            .await;
        assert_eq!(error_code(&r), "review.bad_transition", "approved → {to}");
    }
    // A phone that had not heard of the approval submits again: refused in
    // the phone's words, naming the state, and the visit stays approved.
    let late = phone.mutation("visit", "submit", &visit, json!({}), 0);
    let results = phone.push_ok(&app, &[late]).await;
    assert_eq!(results[0]["status"], "refused");
    assert_eq!(results[0]["error"]["code"], "visit.not_submittable");
    assert_eq!(results[0]["error"]["params"]["from"], "approved");
    let audit = extras_audit(&app, &boss, &visit).await;
    assert_eq!(
        audit,
        [
            ("in_progress", "submitted"),
            ("submitted", "needs_changes"),
            ("needs_changes", "submitted"),
            ("submitted", "approved")
        ]
        .map(|(a, b)| (a.to_string(), b.to_string()))
    );
}

async fn extras_audit(app: &TestApp, boss: &str, visit: &str) -> Vec<(String, String)> {
    let extras = ok(&call(app, boss, "visit_extras", json!({"id": visit})).await);
    extras["audit"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "review")
        .map(|e| {
            let d: Value = serde_json::from_str(e["detail"].as_str().unwrap()).unwrap();
            (
                d["from"].as_str().unwrap().to_string(),
                d["to"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// The rows of every sheet of an XLSX file, as text, by sheet name.
pub(crate) fn read_xlsx(bytes: &[u8]) -> BTreeMap<String, Vec<Vec<String>>> {
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
    let mut text = |name: &str| -> Option<String> {
        let mut s = String::new();
        zip.by_name(name).ok()?.read_to_string(&mut s).unwrap();
        Some(s)
    };
    let unescape = |s: &str| {
        s.replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&quot;", "\"")
            .replace("&apos;", "'")
            .replace("&amp;", "&")
    };
    let inner = |xml: &str, tag: &str| -> Vec<String> {
        let open = format!("<{tag}");
        let close = format!("</{tag}>");
        let mut out = Vec::new();
        let mut rest = xml;
        while let Some(i) = rest.find(&open) {
            let after = &rest[i + open.len()..];
            if !after.starts_with(['>', ' ']) {
                rest = after;
                continue;
            }
            let start = after.find('>').unwrap() + 1;
            if after[..start].ends_with("/>") {
                out.push(String::new());
                rest = &after[start..];
                continue;
            }
            let end = after.find(&close).unwrap();
            out.push(after[start..end].to_string());
            rest = &after[end + close.len()..];
        }
        out
    };
    let shared: Vec<String> = text("xl/sharedStrings.xml")
        .map(|x| {
            inner(&x, "si")
                .iter()
                .map(|si| unescape(&inner(si, "t").concat()))
                .collect()
        })
        .unwrap_or_default();
    let workbook = text("xl/workbook.xml").unwrap();
    let mut sheets = BTreeMap::new();
    let mut rest = workbook.as_str();
    let mut n = 0;
    while let Some(i) = rest.find("<sheet ") {
        n += 1;
        let tag = &rest[i..rest[i..].find("/>").unwrap() + i];
        let name = tag
            .split("name=\"")
            .nth(1)
            .unwrap()
            .split('"')
            .next()
            .unwrap();
        let xml = text(&format!("xl/worksheets/sheet{n}.xml")).unwrap();
        let rows: Vec<Vec<String>> = inner(&xml, "row")
            .iter()
            .map(|row| {
                let mut cells = Vec::new();
                let mut r = row.as_str();
                while let Some(i) = r.find("<c ") {
                    let head_end = r[i..].find('>').unwrap() + i;
                    let head = &r[i..=head_end];
                    let (body, next) = if head.ends_with("/>") {
                        ("", &r[head_end + 1..])
                    } else {
                        let end = r[head_end..].find("</c>").unwrap() + head_end;
                        (&r[head_end + 1..end], &r[end + 4..])
                    };
                    let value = if head.contains("t=\"s\"") {
                        let idx: usize = inner(body, "v")[0].parse().unwrap();
                        shared[idx].clone()
                    } else if head.contains("t=\"inlineStr\"") {
                        unescape(&inner(body, "t").concat())
                    } else {
                        inner(body, "v").first().cloned().unwrap_or_default()
                    };
                    // Empty cells are not written: place each by its reference.
                    let reference = head
                        .split("r=\"")
                        .nth(1)
                        .unwrap()
                        .split('"')
                        .next()
                        .unwrap();
                    let column = reference
                        .chars()
                        .take_while(char::is_ascii_uppercase)
                        .fold(0usize, |n, c| n * 26 + (c as usize - 'A' as usize + 1))
                        - 1;
                    cells.resize(column, String::new());
                    cells.push(value);
                    r = next;
                }
                cells
            })
            .collect();
        sheets.insert(unescape(name), rows);
        rest = &rest[i + tag.len()..];
    }
    sheets
}

fn read_csv(bytes: &[u8]) -> Vec<Vec<String>> {
    let text = std::str::from_utf8(bytes).unwrap();
    let text = text
        .strip_prefix('\u{feff}')
        .expect("a UTF-8 BOM for Excel");
    let mut rows = Vec::new();
    let (mut row, mut field, mut quoted, mut chars) =
        (Vec::new(), String::new(), false, text.chars().peekable());
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            ('"', _) => quoted = !quoted,
            (',', false) => row.push(std::mem::take(&mut field)),
            ('\r', false) => {}
            ('\n', false) => {
                row.push(std::mem::take(&mut field));
                rows.push(std::mem::take(&mut row));
            }
            (c, _) => field.push(c),
        }
    }
    rows
}

pub(crate) async fn download(
    app: &TestApp,
    cookie: &str,
    uri: &str,
    content_type: &str,
) -> Vec<u8> {
    let r = app.get(uri, Some(cookie)).await;
    assert_eq!(r.status, 200, "{uri}: {}", r.text());
    assert!(
        r.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with(content_type),
        "{uri}"
    );
    assert!(r.headers["content-disposition"]
        .to_str()
        .unwrap()
        .starts_with("attachment"));
    r.body.to_vec()
}

/// The row of `rows` whose first cell contains `label`.
fn row<'a>(rows: &'a [Vec<String>], label: &str) -> &'a Vec<String> {
    rows.iter()
        .find(|r| r.first().is_some_and(|c| c.contains(label)))
        .unwrap_or_else(|| panic!("no row {label} in {rows:?}"))
}

async fn recommendations_are_checked_and_make_the_plan_and_its_exports(app: TestApp) {
    let mut phone = Phone::login(&app, "ksv1").await;
    let (boss, _) = app.login("giamsat").await;
    let (admin, _) = app.login("quantri").await;
    let proposal = demo_proposal("213");
    let requested = app::store::catalog::proposal_by_id(&app.db.pool, &proposal)
        .await
        .unwrap()
        .unwrap()
        .requested_amount;

    // The seed: every proposal of 2020 is pending, counted by district.
    let plan = ok(&call(&app, &boss, "get_plan", json!({"year": "2020"})).await);
    let plan: app::office::plan::contract::Plan = serde_json::from_value(plan).unwrap();
    let mut by_district: BTreeMap<String, i64> = BTreeMap::new();
    for c in &plan.cells {
        *by_district.entry(c.district_name.clone()).or_default() += c.count;
    }
    let expected = [
        ("thành phố Bắc Giang", 11),
        ("huyện Hiệp Hòa", 5),
        ("huyện Yên Thế", 2),
        ("huyện Tân Yên", 4),
        ("huyện Việt Yên", 3),
        ("huyện Yên Dũng", 6),
        ("huyện Lục Ngạn", 3),
        ("huyện Lạng Giang", 2),
        ("huyện Sơn Động", 1),
    ];
    for (name, n) in expected {
        assert_eq!(by_district.get(name), Some(&n), "{name} in {by_district:?}");
    }
    assert_eq!(plan.totals(|_| true).count, 37);
    assert_eq!(plan.totals(|c| c.source == "pending").count, 37);

    let recommend = |amount: Value, rec: &str, rationale: Value| json!({"id": proposal, "recommendation": rec, "amount": amount, "rationale": rationale});
    // Funding needs an approved visit first.
    let r = call(
        &app,
        &boss,
        "recommend",
        recommend(json!(100_000_000), "provincial", Value::Null),
    )
    .await;
    assert_eq!(error_code(&r), "recommend.needs_approved_visit");
    let visit = submitted(
        &app,
        &mut phone,
        &proposal,
        json!({"team_suggestion": "provincial", "suggested_amount": 90_000_000}),
    )
    .await;
    decide(&app, &boss, &visit, "approved", "Đạt yêu cầu").await;

    // Bad input: a clear code, nothing changed.
    for (args, code) in [
        (
            recommend(json!(1500.5), "provincial", Value::Null),
            "recommend.amount_not_whole",
        ),
        (
            recommend(json!(-5), "provincial", Value::Null),
            "recommend.amount_negative",
        ),
        (
            recommend(Value::Null, "national", Value::Null),
            "recommend.amount_required",
        ),
        (
            recommend(json!(requested + 1), "provincial", Value::Null),
            "recommend.over_requested_needs_rationale",
        ),
        (
            recommend(Value::Null, "not_supported", json!("  ")),
            "recommend.rationale_required",
        ),
        (
            recommend(json!(5), "not_supported", json!("Trùng đề án")),
            "recommend.not_supported_amount",
        ),
    ] {
        let r = call(&app, &boss, "recommend", args.clone()).await;
        assert_eq!(error_code(&r), code, "{args}");
    }
    let r = call(
        &app,
        &phone.cookie.clone(),
        "recommend",
        recommend(json!(1), "provincial", Value::Null),
    )
    .await;
    assert_eq!(r.status, 403);
    let detail = ok(&call(&app, &boss, "get_proposal", json!({"id": proposal})).await);
    assert_eq!(detail["recommendation"], Value::Null, "nothing changed");
    assert_eq!(detail["visits"][0]["team_suggestion"], "provincial");
    assert_eq!(detail["visits"][0]["suggested_amount"], 90_000_000);
    // A team that suggests no support hides the amount typed before; the phone
    // keeps it (the field may come back) and sends it, the page shows none.
    let unsupported = submitted(
        &app,
        &mut phone,
        &proposal,
        json!({"team_suggestion": "not_supported", "suggested_amount": 500_000_000,
               "not_supported_reason": "Trùng đề án khác"}),
    )
    .await;
    let detail = ok(&call(&app, &boss, "get_proposal", json!({"id": proposal})).await);
    let listed = detail["visits"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["summary"]["id"] == unsupported.as_str())
        .expect("the second visit is listed");
    assert_eq!(listed["team_suggestion"], "not_supported");
    assert_eq!(listed["suggested_amount"], Value::Null, "{listed}");

    // More than requested, with the reason; then the final decision.
    ok(&call(
        &app,
        &boss,
        "recommend",
        recommend(
            json!(requested + 10_000_000),
            "national",
            json!("Mở rộng dây chuyền"),
        ),
    )
    .await);
    ok(&call(
        &app,
        &boss,
        "recommend",
        recommend(json!(100_000_000), "provincial", json!("Hiệu quả, lan tỏa")),
    )
    .await);
    let detail = ok(&call(&app, &boss, "get_proposal", json!({"id": proposal})).await);
    assert_eq!(detail["recommendation"]["recommendation"], "provincial");
    assert_eq!(detail["recommendation"]["amount"], 100_000_000);
    assert_eq!(detail["recommendation"]["by"], "Nguyễn Thị Thu Hà");
    let audit = detail["audit"].as_array().unwrap();
    assert_eq!(audit.len(), 2);
    let last: Value = serde_json::from_str(audit[1]["detail"].as_str().unwrap()).unwrap();
    assert_eq!(last["old"]["recommendation"], "national");
    assert_eq!(last["new"]["amount"], 100_000_000);

    // The budget: an administrator's to set, a whole number of đồng.
    let r = call(
        &app,
        &boss,
        "set_budget",
        json!({"year": 2020, "amount": 5_000_000_000i64}),
    )
    .await;
    assert_eq!(r.status, 403);
    let r = call(
        &app,
        &admin,
        "set_budget",
        json!({"year": 2020, "amount": "12,5"}),
    )
    .await;
    assert_eq!(error_code(&r), "budget.amount_not_whole");
    // 24 digits, as the budget form sends them (a float past an i64) or as
    // typed: too large, not "no whole number".
    for amount in [json!(1e23), json!("100.000.000.000.000.000.000.000")] {
        let r = call(
            &app,
            &admin,
            "set_budget",
            json!({"year": 2020, "amount": amount}),
        )
        .await;
        assert_eq!(error_code(&r), "budget.amount_too_large", "{amount}");
    }
    ok(&call(
        &app,
        &admin,
        "set_budget",
        json!({"year": 2020, "amount": 5_000_000_000i64}),
    )
    .await);

    let plan: app::office::plan::contract::Plan =
        serde_json::from_value(ok(
            &call(&app, &boss, "get_plan", json!({"year": "2020"})).await
        ))
        .unwrap();
    assert_eq!(plan.budget, Some(5_000_000_000));
    assert_eq!(plan.provincial_total(), 100_000_000);
    let cell = plan
        .cells
        .iter()
        .find(|c| c.source == "provincial")
        .unwrap();
    assert_eq!(
        (cell.district_code.as_str(), cell.count, cell.recommended),
        ("213", 1, 100_000_000)
    );
    assert_eq!(
        plan.totals(|c| c.district_code == "213").count,
        11,
        "still 11 proposals"
    );
    assert_eq!(plan.totals(|c| c.source == "pending").count, 36);
    let requested_total: i64 = plan.proposals.iter().map(|p| p.requested_amount).sum();

    // XLSX: one sheet per view, read back.
    let xlsx = read_xlsx(
        &download(
            &app,
            &boss,
            "/api/exports/plan.xlsx?year=2020",
            "application/vnd.openxmlformats",
        )
        .await,
    );
    assert_eq!(
        xlsx.keys().cloned().collect::<Vec<_>>(),
        [
            "Chi tiết",
            "Danh sách đề án",
            "Ngân sách",
            "Theo huyện",
            "Theo nhóm ngành"
        ]
    );
    let districts = &xlsx["Theo huyện"];
    assert_eq!(districts[0][0], "Huyện/thành phố");
    let bg = row(districts, "thành phố Bắc Giang");
    // Provincial count and amount, then national, not supported, pending; then totals.
    assert_eq!(&bg[1..3], ["1", "100000000"]);
    assert_eq!(bg[7], "10");
    // Undecided proposals show what they request, as the plan page does (the
    // file said 0 for every district), and the heading says so.
    assert_eq!(districts[0][8], "Chưa quyết định: kinh phí đề nghị");
    assert!(bg[8].parse::<i64>().unwrap() > 0, "{bg:?}");
    assert_eq!(bg[9], "11");
    let total = row(districts, "Tổng cộng");
    assert_eq!(total[9], "37");
    assert_eq!(total[10], requested_total.to_string());
    // The page's last column, what the plan would fund, ends the sheet too.
    assert_eq!(districts[0][11], "Kinh phí đề xuất");
    let funded = |district: Option<&str>| {
        plan.totals(|c| {
            district.is_none_or(|d| c.district_code == d)
                && (c.source == "provincial" || c.source == "national")
        })
        .recommended
    };
    assert_eq!(funded(Some("213")), 100_000_000);
    assert_eq!(bg[11], funded(Some("213")).to_string());
    assert_eq!(total[11], funded(None).to_string());
    assert_eq!(row(&xlsx["Ngân sách"], "Còn lại")[1], "4900000000");
    assert_eq!(xlsx["Danh sách đề án"].len(), 38);

    // CSV: BOM, Vietnamese headers, the same figures.
    let csv = read_csv(&download(&app, &boss, "/api/exports/plan.csv?year=2020", "text/csv").await);
    assert_eq!(csv[0][0], "Huyện/thành phố");
    let provincial = csv
        .iter()
        .find(|r| r[0] == "thành phố Bắc Giang" && r[3] == "1" && r[5] == "100000000")
        .expect("the provincial line");
    assert!(!provincial[2].is_empty());
    assert_eq!(row(&csv, "Tổng cộng")[3], "37");
}

async fn visit_exports_neutralise_formulas_and_photo_zips_match_their_manifest(app: TestApp) {
    let mut f = crate::uploads::field(&app, "ksv1").await;
    let (boss, _) = app.login("giamsat").await;
    // A facility named like a formula, found on site.
    let facility = uuid::Uuid::now_v7().to_string();
    let create = f.phone.mutation("facility", "upsert", &facility, json!({
        "name": "=HYPERLINK(\"http://x\",\"bấm\")", "district_code": "213", "industry_group": "mechanical"
    }), 0);
    let visit = uuid::Uuid::now_v7().to_string();
    let v = f.phone.mutation(
        "visit",
        "upsert",
        &visit,
        json!({
            "form_id": "khuyen-cong", "form_version": 1, "facility_id": facility, "workforce": 4
        }),
        0,
    );
    assert_eq!(
        statuses(&f.phone.push_ok(&app, &[create, v]).await),
        ["applied", "applied"]
    );

    let csv = read_csv(&download(&app, &boss, "/api/exports/visits.csv", "text/csv").await);
    assert_eq!(csv[0][0], "Nhận lúc");
    assert_eq!(csv.len(), 3, "header and two visits");
    let line = csv.iter().find(|r| r[9] == visit).unwrap();
    assert_eq!(line[2], "'=HYPERLINK(\"http://x\",\"bấm\")");
    let xlsx = read_xlsx(
        &download(
            &app,
            &boss,
            "/api/exports/visits.xlsx?district=213",
            "application/vnd.openxmlformats",
        )
        .await,
    );
    let rows = &xlsx["Phiếu khảo sát"];
    assert_eq!(rows.len(), 3);
    let line = rows.iter().find(|r| r[9] == visit).unwrap();
    // A string cell cannot run: written as typed, no apostrophe, no formula.
    assert_eq!(line[2], "=HYPERLINK(\"http://x\",\"bấm\")", "{line:?}");
    let raw = download(
        &app,
        &boss,
        "/api/exports/visits.xlsx?district=213",
        "application/vnd.openxmlformats",
    )
    .await;
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(raw)).unwrap();
    for i in 0..zip.len() {
        let mut entry = zip.by_index(i).unwrap();
        if entry
            .name()
            .unwrap_or_default()
            .starts_with("xl/worksheets/")
        {
            let mut xml = String::new();
            std::io::Read::read_to_string(&mut entry, &mut xml).unwrap();
            assert!(
                !xml.contains("<f>") && !xml.contains("<f "),
                "no formula cells"
            );
        }
    }
    let filtered = read_csv(
        &download(
            &app,
            &boss,
            "/api/exports/visits.csv?district=223",
            "text/csv",
        )
        .await,
    );
    assert_eq!(filtered.len(), 1, "only the header");
    let r = app
        .get("/api/exports/visits.csv?state=nonsense", Some(&boss))
        .await;
    assert_eq!(r.status, 400);

    // Two good photos on the first visit; the ZIP holds their bytes and a manifest.
    let mut sent = BTreeMap::new();
    for (w, h) in [(64, 48), (40, 60)] {
        let bytes = crate::uploads::marked_jpeg(w, h);
        let id = f.attach(&app, &bytes, json!({})).await;
        let r = f.upload(&app, &id, &bytes, 1 << 20).await;
        assert_eq!(r.status, 204, "{}", r.text());
        sent.insert(id, bytes);
    }
    // A comment may be pinned to one of the visit's photos, not another's.
    let review = format!("/api/visits/{}/review", f.visit);
    let first = sent.keys().next().unwrap().clone();
    for (field, code) in [
        (format!("photo:{visit}"), "review.photo_not_on_visit"),
        (format!("photo:{first}"), "review.bad_transition"),
    ] {
        let r = app
            .post_json(
                &review,
                Some(&boss),
                &json!({"to": "needs_changes", "comment": "Ảnh mờ", "field": field}),
            )
            .await;
        assert_eq!(error_code(&r), code);
    }
    let with_photos = search(&app, &boss, json!({"has_photos": true})).await;
    assert_eq!(ids(&with_photos), [f.visit.clone()]);
    for uri in [
        "/api/exports/photos.zip?district=213&year=2020".to_string(),
        format!("/api/exports/photos.zip?proposal={}", demo_proposal("213")),
    ] {
        let bytes = download(&app, &boss, &uri, "application/zip").await;
        let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
        let mut manifest = String::new();
        zip.by_name("manifest.json")
            .unwrap()
            .read_to_string(&mut manifest)
            .unwrap();
        let manifest: Value = serde_json::from_str(&manifest).unwrap();
        assert_eq!(manifest["count"], 2, "{uri}");
        assert_eq!(zip.len(), 3);
        for p in manifest["photos"].as_array().unwrap() {
            let mut data = Vec::new();
            zip.by_name(p["file"].as_str().unwrap())
                .unwrap()
                .read_to_end(&mut data)
                .unwrap();
            assert_eq!(&data, &sent[p["photo_id"].as_str().unwrap()]);
            assert_eq!(p["sha256"], crate::uploads::sha256_hex(&data));
            assert_eq!(p["caption"], "Máy dập");
            assert!(p["file"]
                .as_str()
                .unwrap()
                .starts_with("thành phố Bắc Giang/"));
        }
    }
    let empty = download(
        &app,
        &boss,
        "/api/exports/photos.zip?district=223",
        "application/zip",
    )
    .await;
    let zip = zip::ZipArchive::new(std::io::Cursor::new(empty)).unwrap();
    assert_eq!(zip.len(), 1, "just the manifest");
    // Neither scope (blank ones count as absent) nor both: 422, a rule no schema says.
    for q in ["", "?district=&proposal=", "?district=213&proposal=x"] {
        let r = app
            .get(&format!("/api/exports/photos.zip{q}"), Some(&boss))
            .await;
        assert_eq!(r.status, 422, "{q}");
        assert_eq!(r.json()["code"], "export.scope_required");
    }
    let r = app.get("/api/exports/photos.zip?year=x", Some(&boss)).await;
    assert_eq!(r.status, 400);
}

/// A phone's edit that loses after the supervisor opened a conflict records
/// a second conflict on the field and moves no version: resolving the first
/// closed the second unseen, its value never shown and the visit free to be
/// approved. Only what was recorded up to the resolved conflict closes.
async fn resolving_a_conflict_leaves_one_recorded_after_it_open(app: TestApp) {
    let mut a = Phone::login(&app, "ksv1").await;
    let mut b = Phone::login(&app, "ksv1").await;
    let mut c = Phone::login(&app, "ksv1").await;
    let (boss, _) = app.login("giamsat").await;
    let visit = uuid::Uuid::now_v7().to_string();
    let m = a.new_visit(&visit, &demo_proposal("213"), json!({"workforce": 10}));
    a.push_ok(&app, &[m]).await;
    let first = a.mutation("visit", "upsert", &visit, json!({"workforce": 12}), 1);
    a.push_ok(&app, &[first]).await;
    let second = b.mutation("visit", "upsert", &visit, json!({"workforce": 15}), 1);
    b.push_ok(&app, &[second]).await;
    let extras = ok(&call(&app, &boss, "visit_extras", json!({"id": visit})).await);
    assert_eq!(extras["conflicts"].as_array().unwrap().len(), 1, "{extras}");
    let shown = &extras["conflicts"][0];
    let (id, seen) = (
        shown["id"].as_i64().unwrap(),
        shown["version"].as_i64().unwrap(),
    );
    // While the page is open, a third phone's edit from the old base, made
    // earlier (its stamp is older), loses too.
    c.skew_ms = -600_000;
    let third = c.mutation("visit", "upsert", &visit, json!({"workforce": 17}), 1);
    c.push_ok(&app, &[third]).await;
    ok(&call(
        &app,
        &boss,
        "resolve_conflict",
        json!({"id": id, "value": 13, "seen_version": seen}),
    )
    .await);
    let extras = ok(&call(&app, &boss, "visit_extras", json!({"id": visit})).await);
    let open = extras["conflicts"].as_array().unwrap();
    assert_eq!(open.len(), 1, "the later conflict stays open: {extras}");
    assert!(
        [&open[0]["mine"], &open[0]["theirs"]].contains(&&json!(17)),
        "{extras}"
    );
}

/// Two pages of one proposal open at once (two supervisors, or one in two
/// tabs): the second recommendation silently replaced the first. One made
/// from a page that did not show the current recommendation is refused.
async fn a_recommendation_made_meanwhile_is_not_overwritten_unseen(app: TestApp) {
    let (boss, _) = app.login("giamsat").await;
    let id = demo_proposal("213");
    let not_supported = |seen: i64| {
        json!({"id": id, "recommendation": "not_supported", "amount": null,
               "rationale": "Không đủ điều kiện", "seen_at_ms": seen})
    };
    ok(&call(&app, &boss, "recommend", not_supported(0)).await);
    // The other page still shows no recommendation.
    let r = call(&app, &boss, "recommend", not_supported(0)).await;
    assert_eq!(r.status, 409, "{}", r.text());
    assert_eq!(error_code(&r), "recommend.changed");
    let detail = ok(&call(&app, &boss, "get_proposal", json!({"id": id})).await);
    let made = detail["recommendation"]["at_ms"].as_i64().unwrap();
    ok(&call(&app, &boss, "recommend", not_supported(made)).await);
    // Without the argument (another API client), the current one is replaced.
    let mut plain = not_supported(0);
    plain.as_object_mut().unwrap().remove("seen_at_ms");
    ok(&call(&app, &boss, "recommend", plain).await);

    // Two supervisors on the same page at the same moment: one is taken, the
    // other told (on PostgreSQL both read the old one before either wrote).
    let (other, _) = app.login("giamsat").await;
    for round in 0..6 {
        let detail = ok(&call(&app, &boss, "get_proposal", json!({"id": id})).await);
        let seen = detail["recommendation"]["at_ms"].as_i64().unwrap();
        let (a, b) = tokio::join!(
            call(&app, &boss, "recommend", not_supported(seen)),
            call(&app, &other, "recommend", not_supported(seen)),
        );
        let taken = [&a, &b].iter().filter(|r| r.status == 200).count();
        assert_eq!(taken, 1, "round {round}: {} / {}", a.text(), b.text());
        for r in [&a, &b].into_iter().filter(|r| r.status != 200) {
            assert_eq!(error_code(r), "recommend.changed", "round {round}");
        }
        let detail = ok(&call(&app, &boss, "get_proposal", json!({"id": id})).await);
        let audit = detail["audit"].as_array().unwrap();
        let last: Value =
            serde_json::from_str(audit.last().unwrap()["detail"].as_str().unwrap()).unwrap();
        assert_eq!(
            last["old"]["recommendation"], "not_supported",
            "round {round}"
        );
        assert_eq!(audit.len(), 3 + round + 1, "one entry a round");
    }
}

crate::engine_tests!(
    a_recommendation_made_meanwhile_is_not_overwritten_unseen,
    resolving_a_conflict_leaves_one_recorded_after_it_open,
    the_visit_list_filters_searches_sorts_pages_and_counts,
    a_conflict_is_shown_side_by_side_and_resolved_as_an_ordinary_change,
    a_resubmitted_visit_shows_what_changed_and_every_transition_is_checked,
    recommendations_are_checked_and_make_the_plan_and_its_exports,
    visit_exports_neutralise_formulas_and_photo_zips_match_their_manifest
);
