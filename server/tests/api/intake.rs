//! The registry intake through its endpoint: a realistic 300-row workbook with
//! new, matched and bad rows previewed exactly, refused whole while it has a
//! problem, committed, and imported again as a no-op; the proposals reach the
//! inspectors in scope. Also a Windows-1258 CSV, formula cells, and the limits.
//!
//! One file (about 875 lines): the tests share the workbook builders and the 300-row file.

use crate::helpers::{TestApp, TestResponse};
use crate::security::req;
use rust_xlsxwriter::{Formula, Workbook};
use serde_json::Value;
use std::collections::BTreeSet;

const HEADERS: [&str; 12] = [
    "Tên cơ sở",
    "Chủ cơ sở",
    "Địa chỉ",
    "Xã/phường (mã hoặc tên)",
    "Mã số thuế",
    "Nhóm ngành",
    "Điện thoại",
    "Tên đề án",
    "Hình thức hỗ trợ",
    "Kinh phí đề nghị (đồng)",
    "Năm",
    "Mã tham chiếu",
];

/// A cell as an office types it: text, or a number Excel stores as one.
#[derive(Clone)]
enum C {
    T(String),
    N(f64),
    F(&'static str, &'static str),
}

fn t(s: &str) -> C {
    C::T(s.to_string())
}

fn xlsx(rows: &[Vec<C>]) -> Vec<u8> {
    let mut book = Workbook::new();
    let sheet = book.add_worksheet();
    for (c, h) in HEADERS.iter().enumerate() {
        sheet.write_string(0, c as u16, *h).unwrap();
    }
    for (r, row) in rows.iter().enumerate() {
        for (c, cell) in row.iter().enumerate() {
            let (r, c) = (r as u32 + 1, c as u16);
            match cell {
                C::T(s) if s.is_empty() => {}
                C::T(s) => {
                    sheet.write_string(r, c, s).unwrap();
                }
                C::N(n) => {
                    sheet.write_number(r, c, *n).unwrap();
                }
                C::F(formula, cached) => {
                    sheet
                        .write_formula(r, c, Formula::new(*formula).set_result(*cached))
                        .unwrap();
                }
            }
        }
    }
    book.save_to_buffer().unwrap()
}

/// One row: facility, commune, tax code, industry, title, amount, year, ref.
#[allow(clippy::too_many_arguments)]
fn row(
    name: &str,
    commune: &str,
    tax: &str,
    industry: &str,
    title: &str,
    amount: C,
    year: C,
    external: &str,
) -> Vec<C> {
    vec![
        t(name),
        t("Nguyễn Văn Chủ"),
        t("thôn Trung, xã thử"),
        t(commune),
        t(tax),
        t(industry),
        t("0912 345 678"),
        t(title),
        t("machinery"),
        amount,
        year,
        t(external),
    ]
}

async fn post(
    app: &TestApp,
    cookie: &str,
    body: Vec<u8>,
    commit: bool,
    content_type: &'static str,
) -> TestResponse {
    req("POST", &format!("/api/registry/intake?commit={commit}"))
        .bytes(content_type, body)
        .cookie(Some(cookie))
        .send(&app.router)
        .await
}

const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

fn ok(r: &TestResponse) -> Value {
    assert_eq!(r.status, 200, "{}", r.text());
    r.json()
}

async fn proposal_count(app: &TestApp) -> i64 {
    sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM proposals")
        .fetch_one(&app.db.pool)
        .await
        .unwrap()
}

/// 2026 communes (2025 tree) the new rows cycle through, by code or by name.
const COMMUNES: [&str; 6] = ["07210", "07288", "xã Nhã Nam", "07795", "Hiệp Hòa", "07339"];

/// The good rows of the workbook: 250 new, 20 at existing facilities, one
/// update of a demo proposal, and 4 more proposals of new facilities named
/// again by tax code.
fn good_rows() -> Vec<Vec<C>> {
    let mut rows = Vec::new();
    for i in 0..250 {
        let amount = match i % 3 {
            0 => t(&format!("{}.500.000", 100 + i)),
            1 => C::N(200_000_000.0 + f64::from(i)),
            _ => t(&format!("{}", 300_000_000 + i)),
        };
        let tax = if i % 2 == 0 {
            format!("{:010}", 2_300_000_000u64 + i as u64)
        } else {
            String::new()
        };
        let external = if i % 5 == 0 {
            format!("BN-2026-{i:04}")
        } else {
            String::new()
        };
        rows.push(row(
            &format!("Cơ sở thử nghiệm số {i}"),
            COMMUNES[i as usize % COMMUNES.len()],
            &tax,
            [
                "processing",
                "mechanical",
                "handicrafts",
                "building_materials",
            ][i as usize % 4],
            &format!("Hỗ trợ máy móc thiết bị {i}"),
            amount,
            C::N(2026.0),
            &external,
        ));
    }
    // Existing facilities: the demo's 2020 Hòa Phát (ward Thọ Xương, merged
    // into phường Bắc Giang) by name, written without diacritics, and the
    // demo's 2026 cooperative, 10 proposals each.
    for i in 0..10 {
        rows.push(row(
            "Cong ty TNHH Co khi Hoa Phat",
            "07210",
            "",
            "mechanical",
            &format!("Nâng cấp xưởng hàn {i}"),
            t("450.000.000"),
            C::N(2026.0),
            &format!("HP-{i}"),
        ));
        rows.push(row(
            "Hợp tác xã Chế biến nông sản Xương Giang",
            "Bắc Giang",
            "",
            "processing",
            &format!("Kho lạnh bảo quản vải {i}"),
            C::N(90_000_000.0),
            t("2026"),
            "",
        ));
    }
    // The demo's 2026 proposal at Hòa Phát, with a new amount.
    rows.push(row(
        "Công ty TNHH Cơ khí Hòa Phát",
        "07210",
        "",
        "mechanical",
        "Hỗ trợ dây chuyền hàn tự động cho sản xuất nồi hơi",
        t("900.000.000"),
        C::N(2026.0),
        "",
    ));
    // A second proposal of four new facilities, found again by tax code.
    for i in [0, 2, 4, 6] {
        rows.push(row(
            &format!("Cơ sở thử nghiệm số {i}"),
            COMMUNES[i % COMMUNES.len()],
            &format!("{:010}", 2_300_000_000u64 + i as u64),
            "processing",
            &format!("Đào tạo nghề {i}"),
            t("50.000.000"),
            C::N(2026.0),
            "",
        ));
    }
    rows
}

/// Bad rows, each with the problem code it must be refused with (and the
/// column header it names).
fn bad_rows() -> Vec<(Vec<C>, &'static str, &'static str)> {
    let mut out = Vec::new();
    let base = |i: usize| format!("Cơ sở lỗi {i}");
    for i in 0..25 {
        let (r, code, column) = match i % 7 {
            0 => (
                row(
                    &base(i),
                    "99999",
                    "",
                    "processing",
                    "Đề án",
                    t("1.000.000"),
                    C::N(2026.0),
                    "",
                ),
                "registry.unknown_commune",
                "Xã/phường (mã hoặc tên)",
            ),
            1 => (
                row(
                    &base(i),
                    "07210",
                    "",
                    "processing",
                    "Đề án",
                    t("1,5 triệu"),
                    C::N(2026.0),
                    "",
                ),
                "registry.bad_amount",
                "Kinh phí đề nghị (đồng)",
            ),
            2 => (
                row(
                    &base(i),
                    "07210",
                    "",
                    "processing",
                    "Đề án",
                    t("1500000,5"),
                    C::N(2026.0),
                    "",
                ),
                "registry.fraction_of_dong",
                "Kinh phí đề nghị (đồng)",
            ),
            3 => (
                row(
                    &base(i),
                    "07210",
                    "",
                    "processing",
                    "Đề án",
                    t("1.000.000"),
                    C::N(2030.0),
                    "",
                ),
                "registry.year_not_open",
                "Năm",
            ),
            4 => (
                row(
                    &base(i),
                    "07210",
                    "12345",
                    "processing",
                    "Đề án",
                    t("1.000.000"),
                    C::N(2026.0),
                    "",
                ),
                "registry.bad_tax_code",
                "Mã số thuế",
            ),
            5 => (
                row(
                    &base(i),
                    "07210",
                    "",
                    "đồ chơi",
                    "Đề án",
                    t("1.000.000"),
                    C::N(2026.0),
                    "",
                ),
                "registry.unknown_choice",
                "Nhóm ngành",
            ),
            // The same external reference as good row 0's.
            _ => (
                row(
                    &base(i),
                    "07210",
                    "",
                    "processing",
                    "Đề án",
                    t("1.000.000"),
                    C::N(2026.0),
                    "BN-2026-0000",
                ),
                "registry.duplicate_ref",
                "Mã tham chiếu",
            ),
        };
        out.push((r, code, column));
    }
    out
}

async fn a_300_row_workbook_is_previewed_exactly_committed_whole_and_reimported_as_a_no_op(
    app: TestApp,
) {
    let (boss, _) = app.login("giamsat").await;
    let good = good_rows();
    let bad = bad_rows();
    assert_eq!(good.len() + bad.len(), 300);
    // Bad rows interleaved: every 12th row of the file.
    let mut file: Vec<Vec<C>> = Vec::new();
    let mut expected_bad: Vec<(usize, &str, &str)> = Vec::new();
    let (mut g, mut b) = (good.iter(), bad.iter());
    for n in 0..300 {
        let excel_row = n + 2;
        match (n % 12 == 11).then(|| b.next()).flatten() {
            Some((r, code, column)) => {
                expected_bad.push((excel_row, code, column));
                file.push(r.clone());
            }
            None => match g.next() {
                Some(r) => file.push(r.clone()),
                None => {
                    let (r, code, column) = b.next().unwrap();
                    expected_bad.push((excel_row, code, column));
                    file.push(r.clone());
                }
            },
        }
    }
    let before = proposal_count(&app).await;
    let preview = ok(&post(&app, &boss, xlsx(&file), false, XLSX).await);
    assert_eq!(preview["committed"], false);
    let got: Vec<(usize, String, String)> = preview["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["row"].as_u64().unwrap() as usize,
                p["code"].as_str().unwrap().to_string(),
                p["column"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    let want: Vec<(usize, String, String)> = expected_bad
        .iter()
        .map(|(r, c, col)| (*r, c.to_string(), col.to_string()))
        .collect();
    assert_eq!(got, want);
    let counts = &preview["counts"];
    assert_eq!(counts["rows"], 300);
    assert_eq!(counts["refused_rows"], 25);
    assert_eq!(counts["new_facilities"], 250);
    assert_eq!(counts["matched_facilities"], 21);
    assert_eq!(counts["new_proposals"], 274);
    assert_eq!(counts["updated_proposals"], 1);
    assert_eq!(counts["unchanged_proposals"], 0);
    // Each row's fate, as the clerk reads it.
    let fates = preview["rows"].as_array().unwrap();
    let fate = |name: &str| {
        fates
            .iter()
            .find(|f| f["facility"]["name"] == name)
            .unwrap()
            .clone()
    };
    let hoa_phat = fates
        .iter()
        .find(|f| f["proposal"]["kind"] == "update")
        .unwrap();
    assert_eq!(hoa_phat["facility"]["kind"], "matched");
    assert_eq!(hoa_phat["facility"]["by"], "name");
    assert_eq!(
        hoa_phat["proposal"]["fields"],
        serde_json::json!(["requested_amount"])
    );
    assert_eq!(hoa_phat["commune"], "phường Bắc Giang (07210)");
    assert_eq!(fate("Cơ sở thử nghiệm số 1")["facility"]["kind"], "new");
    assert_eq!(
        fate("Cơ sở thử nghiệm số 2")["commune"],
        "xã Nhã Nam (07306)"
    );
    // A second proposal of a facility this file registers: the same facility.
    let again: Vec<&Value> = fates
        .iter()
        .filter(|f| f["facility"]["kind"] == "same_as_row")
        .collect();
    assert_eq!(again.len(), 4);
    assert_eq!(again[0]["facility"]["row"], 2, "the first row of the file");
    // Nothing stored by a preview, nor by a commit of a file with problems.
    assert_eq!(proposal_count(&app).await, before);
    let refused = post(&app, &boss, xlsx(&file), true, XLSX).await;
    assert_eq!(refused.status, 422);
    assert_eq!(refused.json()["code"], "registry.file_refused");
    assert_eq!(refused.json()["params"]["count"], 25);
    assert_eq!(proposal_count(&app).await, before);

    // The good rows alone commit, all at once.
    let committed = ok(&post(&app, &boss, xlsx(&good), true, XLSX).await);
    assert_eq!(committed["committed"], true);
    assert_eq!(committed["counts"]["new_proposals"], 274);
    assert_eq!(proposal_count(&app).await, before + 274);
    // The proposal the file changed says so in its own trail, old → new.
    let updated = hoa_phat["proposal"]["id"].as_str().unwrap();
    let trail: Vec<String> = sqlx::query_scalar(
        "SELECT detail FROM audit_log WHERE action = 'proposal.updated' AND record_id = $1",
    )
    .bind(updated)
    .fetch_all(&app.db.pool)
    .await
    .unwrap();
    assert_eq!(trail.len(), 1, "{trail:?}");
    let entry: Value = serde_json::from_str(&trail[0]).unwrap();
    assert_ne!(
        entry["old"]["requested_amount"],
        entry["new"]["requested_amount"]
    );
    assert_eq!(entry["old"]["title"], entry["new"]["title"]);

    // Importing the same file again changes nothing.
    let seq = || async {
        sqlx::query_scalar::<_, i64>("SELECT MAX(seq) FROM change_log")
            .fetch_one(&app.db.pool)
            .await
            .unwrap()
    };
    let audit = || async {
        sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM audit_log")
            .fetch_one(&app.db.pool)
            .await
            .unwrap()
    };
    let log_before = seq().await;
    let audit_before = audit().await;
    let second = ok(&post(&app, &boss, xlsx(&good), true, XLSX).await);
    let c = &second["counts"];
    assert_eq!(
        (
            c["new_facilities"].as_u64(),
            c["new_proposals"].as_u64(),
            c["updated_proposals"].as_u64(),
            c["unchanged_proposals"].as_u64()
        ),
        (Some(0), Some(0), Some(0), Some(275))
    );
    assert_eq!(proposal_count(&app).await, before + 274);
    assert_eq!(
        seq().await,
        log_before,
        "a no-op import appends no change for phones"
    );
    assert_eq!(
        audit().await,
        audit_before,
        "nor an entry in the audit trail"
    );

    // The new proposals reach the inspectors in scope: ksv1 (TP Bắc Giang,
    // whose wards formed phường Bắc Giang) receives those registered there.
    let (ksv1, _) = app.login("ksv1").await;
    let pulled = app.pull_all(&ksv1).await;
    let titles: BTreeSet<String> = pulled
        .iter()
        .filter(|c| c["entity"] == "proposal" && c["record"]["year"] == 2026)
        .map(|c| c["record"]["title"].as_str().unwrap().to_string())
        .collect();
    assert!(
        titles.contains("Hỗ trợ máy móc thiết bị 0"),
        "07210 is ksv1's through the mapping"
    );
    assert!(titles.contains("Nâng cấp xưởng hàn 3"));
    assert!(
        !titles.contains("Hỗ trợ máy móc thiết bị 1"),
        "07288 is not"
    );
    let (ksv5, _) = app.login("ksv5").await;
    assert!(!app
        .pull_all(&ksv5)
        .await
        .iter()
        .any(|c| c["record"]["title"] == "Hỗ trợ máy móc thiết bị 0"));
    // The commit is audited; the no-op re-import left no entry.
    let audited = sqlx::query_scalar::<_, i64>(
        "SELECT COUNT(*) FROM audit_log WHERE action = 'registry.imported'",
    )
    .fetch_one(&app.db.pool)
    .await
    .unwrap();
    assert_eq!(audited, 1);
}

/// Text as Windows-1258 holds it: letters it has precomposed stay, the others
/// become the base letter plus a combining tone mark (ị → i + U+0323).
fn as_windows_1258_writes(text: &str) -> String {
    use unicode_normalization::UnicodeNormalization;
    const TONES: [char; 5] = ['\u{0300}', '\u{0301}', '\u{0303}', '\u{0309}', '\u{0323}'];
    let mut out = String::new();
    for ch in text.chars() {
        let (_, _, lossy) = encoding_rs::WINDOWS_1258.encode(ch.encode_utf8(&mut [0; 4]));
        if !lossy {
            out.push(ch);
            continue;
        }
        let parts: Vec<char> = ch.to_string().nfd().collect();
        let base: String = parts
            .iter()
            .filter(|c| !TONES.contains(c))
            .collect::<String>()
            .nfc()
            .collect();
        out.push_str(&base);
        out.extend(parts.iter().filter(|c| TONES.contains(c)));
    }
    out
}

async fn windows_1258_csv_formulas_and_limits(app: TestApp) {
    let (boss, _) = app.login("giamsat").await;
    // Excel in Vietnam saves "CSV (Comma delimited)" in Windows-1258, with
    // Vietnamese letters as base letter plus combining tone mark.
    let text = format!(
        "{}\r\nCơ sở Mộc Hưng Thịnh,,,07288,,handicrafts,,Máy chà nhám,machinery,120000000,2026,\r\n",
        HEADERS.join(",")
    );
    let decomposed = as_windows_1258_writes(&text);
    let (cp1258, _, lossy) = encoding_rs::WINDOWS_1258.encode(&decomposed);
    assert!(!lossy);
    assert!(
        std::str::from_utf8(&cp1258).is_err(),
        "the test file is not UTF-8"
    );
    let preview = ok(&post(&app, &boss, cp1258.to_vec(), false, "text/csv").await);
    assert_eq!(preview["problems"], serde_json::json!([]));
    assert_eq!(
        preview["rows"][0]["facility"]["name"],
        "Cơ sở Mộc Hưng Thịnh"
    );
    assert_eq!(preview["rows"][0]["commune"], "xã Yên Thế (07288)");

    // Formula cells count by their cached value; text starting with "=" is
    // only text.
    let rows = vec![vec![
        t("=HYPERLINK(\"http://x\",\"Cơ sở\")"),
        t(""),
        t(""),
        t("07210"),
        t(""),
        t("processing"),
        t(""),
        t("Đề án có công thức"),
        t("machinery"),
        C::F("=2*60000000", "120000000"),
        C::N(2026.0),
        t(""),
    ]];
    let preview = ok(&post(&app, &boss, xlsx(&rows), true, XLSX).await);
    assert_eq!(preview["committed"], true, "{preview}");
    assert_eq!(
        preview["rows"][0]["facility"]["name"],
        "=HYPERLINK(\"http://x\",\"Cơ sở\")"
    );
    let amount = sqlx::query_scalar::<_, i64>(
        "SELECT requested_amount FROM proposals WHERE title = 'Đề án có công thức'",
    )
    .fetch_one(&app.db.pool)
    .await
    .unwrap();
    assert_eq!(amount, 120_000_000);

    // Over 20,000 rows: refused before the rows are parsed.
    let mut many = HEADERS.join(",");
    for i in 0..20_001 {
        many.push_str(&format!(
            "\nCơ sở {i},,,07210,,processing,,Đề án {i},machinery,1000000,2026,"
        ));
    }
    let r = post(&app, &boss, many.into_bytes(), false, "text/csv").await;
    assert_eq!(
        r.status,
        422,
        "{}",
        r.text().chars().take(300).collect::<String>()
    );
    assert_eq!(r.json()["code"], "registry.too_many_rows");
    // Over 20 MB: refused as the body arrives (413), before it is buffered.
    let big = vec![b'a'; app::office::registry::rows::MAX_INTAKE_BYTES + 1];
    let r = post(&app, &boss, big, false, "text/csv").await;
    assert_eq!(r.status, 413, "{}", r.text());
    // Not a table at all.
    let r = post(
        &app,
        &boss,
        b"PK\x03\x04 not a workbook".to_vec(),
        false,
        XLSX,
    )
    .await;
    assert_eq!(r.status, 422);
    assert_eq!(r.json()["code"], "registry.unreadable");
    // Inspectors do not register.
    let (ksv1, _) = app.login("ksv1").await;
    assert_eq!(
        post(&app, &ksv1, xlsx(&rows), false, XLSX).await.status,
        403
    );
}

/// A year's registry exported in the template's layout imports again as a
/// file that changes nothing: every proposal unchanged, every facility found.
/// Two offices (or a double click) commit the same file at once: each file
/// was matched before either wrote, and the second must still find the
/// first's facilities rather than add them again.
async fn the_same_file_committed_twice_at_once_adds_each_row_once(app: TestApp) {
    let (boss, _) = app.login("giamsat").await;
    let (admin, _) = app.login("quantri").await;
    let mut csv = HEADERS.join(",");
    for i in 0..3 {
        csv.push_str(&format!(
            "\r\nCơ sở đồng thời {i},,,07210,{:010},processing,,Máy sấy {i},machinery,150000000,2026,",
            2_310_000_000u64 + i
        ));
    }
    let body = csv.into_bytes();
    let (a, b) = tokio::join!(
        post(&app, &boss, body.clone(), true, "text/csv"),
        post(&app, &admin, body.clone(), true, "text/csv"),
    );
    let (a, b) = (ok(&a), ok(&b));
    assert_eq!(a["committed"], true);
    assert_eq!(b["committed"], true);
    let made = [&a, &b]
        .iter()
        .map(|r| r["counts"]["new_facilities"].as_i64().unwrap())
        .sum::<i64>();
    assert_eq!(made, 3, "one commit made the facilities: {a} {b}");
    for i in 0..3u64 {
        let n = sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM facilities WHERE tax_code = $1")
            .bind(format!("{:010}", 2_310_000_000u64 + i))
            .fetch_one(&app.db.pool)
            .await
            .unwrap();
        assert_eq!(n, 1, "tax code {i}");
    }
}

/// Two rows are one new facility only when nothing says otherwise: one tax
/// code under two names, or one name in one commune under two tax codes,
/// was merged silently and lost a row's name or its tax code.
/// Folding joins real names apart: the 2020 tree has xã Đông Sơn (Yên Thế)
/// and xã Đồng Sơn (Bắc Giang). Spelt exactly, each row finds its own; only
/// a name that fits both as written ("Dong Son") asks which.
async fn a_commune_spelt_exactly_is_told_from_its_folded_twin(app: TestApp) {
    let (boss, _) = app.login("giamsat").await;
    let mut csv = HEADERS.join(",");
    for (i, commune) in ["Đồng Sơn", "xã Đông Sơn", "Dong Son"].iter().enumerate() {
        csv.push_str(&format!(
            "\r\nCơ sở số {i},,,{commune},,processing,,Máy sấy,machinery,150000000,2020,"
        ));
    }
    let preview = ok(&post(&app, &boss, csv.into_bytes(), false, "text/csv").await);
    let rows = preview["rows"].as_array().unwrap();
    assert_eq!(rows[0]["commune"], "xã Đồng Sơn (07696)", "{preview}");
    assert_eq!(rows[1]["commune"], "xã Đông Sơn (07273)");
    let problems: Vec<(i64, &str)> = preview["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["row"].as_i64().unwrap(), p["code"].as_str().unwrap()))
        .collect();
    assert_eq!(problems, [(4, "registry.ambiguous_commune")]);
}

async fn rows_that_disagree_about_one_facility_are_shown_not_merged(app: TestApp) {
    let (boss, _) = app.login("giamsat").await;
    let mut csv = HEADERS.join(",");
    for (name, tax) in [
        ("Cơ sở Alpha", "2320000001"),
        ("Xưởng Beta hoàn toàn khác", "2320000001"),
        ("Cơ sở Gamma", "2320000002"),
        ("Cơ sở Gamma", "2320000003"),
        ("Cơ sở Alpha", "2320000001"),
    ] {
        csv.push_str(&format!(
            "\r\n{name},,,07210,{tax},processing,,Máy sấy,machinery,150000000,2026,"
        ));
    }
    let preview = ok(&post(&app, &boss, csv.into_bytes(), false, "text/csv").await);
    let problems: Vec<(i64, String)> = preview["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["row"].as_i64().unwrap(),
                p["code"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        problems,
        vec![
            (3, "registry.tax_code_two_names".to_string()),
            (5, "registry.two_tax_codes".to_string()),
        ],
        "{preview}"
    );
    assert_eq!(preview["problems"][0]["params"]["name"], "Cơ sở Alpha");
    assert_eq!(preview["problems"][1]["params"]["tax_code"], "2320000002");

    // A tax code only a later row of the facility gives is kept, not dropped.
    let mut csv = HEADERS.join(",");
    for tax in ["", "2320000004"] {
        csv.push_str(&format!(
            "\r\nCơ sở Delta,,,07210,{tax},processing,,Máy sấy {tax},machinery,150000000,2026,"
        ));
    }
    let done = ok(&post(&app, &boss, csv.into_bytes(), true, "text/csv").await);
    assert_eq!(done["committed"], true, "{done}");
    let stored = sqlx::query_scalar::<_, Option<String>>(
        "SELECT tax_code FROM facilities WHERE name = 'Cơ sở Delta'",
    )
    .fetch_one(&app.db.pool)
    .await
    .unwrap();
    assert_eq!(stored.as_deref(), Some("2320000004"));

    // Delta is in phường Bắc Giang (07210): a row with its tax code in
    // phường Nếnh (07795), which has nothing to do with it, is a problem, not
    // a proposal no inspector would ever see.
    let mut csv = HEADERS.join(",");
    csv.push_str("\r\nCơ sở Delta,,,07795,2320000004,processing,,Máy cắt,machinery,90000000,2026,");
    let preview = ok(&post(&app, &boss, csv.into_bytes(), false, "text/csv").await);
    assert_eq!(
        preview["problems"][0]["code"], "registry.facility_elsewhere",
        "{preview}"
    );
    assert_eq!(preview["problems"][0]["row"], 2);
}

async fn the_registry_export_round_trips(app: TestApp) {
    let (boss, _) = app.login("giamsat").await;
    for year in [2026, 2020] {
        let bytes = crate::console::download(
            &app,
            &boss,
            &format!("/api/registry/export.xlsx?year={year}"),
            XLSX,
        )
        .await;
        let before = proposal_count(&app).await;
        let report = ok(&post(&app, &boss, bytes, true, XLSX).await);
        let c = &report["counts"];
        let expected = if year == 2026 { 5 } else { 37 };
        assert_eq!(report["problems"], serde_json::json!([]), "{year}");
        assert_eq!(c["rows"], expected, "{year}");
        assert_eq!(
            (
                c["new_facilities"].as_u64(),
                c["new_proposals"].as_u64(),
                c["updated_proposals"].as_u64()
            ),
            (Some(0), Some(0), Some(0)),
            "{year}: {report}"
        );
        assert_eq!(c["unchanged_proposals"], expected);
        assert_eq!(proposal_count(&app).await, before);
    }
}

async fn proposal_with_ref(app: &TestApp, reference: &str) -> String {
    sqlx::query_scalar::<_, String>("SELECT id FROM proposals WHERE external_ref = $1")
        .bind(reference)
        .fetch_one(&app.db.pool)
        .await
        .unwrap()
}

async fn facility_of(app: &TestApp, proposal: &str) -> String {
    sqlx::query_scalar::<_, String>("SELECT facility_id FROM proposals WHERE id = $1")
        .bind(proposal)
        .fetch_one(&app.db.pool)
        .await
        .unwrap()
}

/// A proposal with a visit was surveyed at its facility. A file naming it by
/// its reference at another facility (a corrected name without the tax code
/// makes a new one) used to move it there while its visits stayed behind:
/// the plan filed it under one place and the review list under another. The
/// row is now a problem naming the proposal; one with no visit still moves.
async fn a_file_does_not_move_a_surveyed_proposal_to_another_facility(app: TestApp) {
    let (boss, _) = app.login("giamsat").await;
    let line = |name: &str, tax: &str, reference: &str| {
        format!("\r\n{name},,,07210,{tax},processing,,Lò sấy {reference},machinery,150000000,2026,{reference}")
    };
    let mut csv = HEADERS.join(",");
    csv.push_str(&line("Cơ sở Epsilon", "2320000009", "R-EPS-1"));
    csv.push_str(&line("Cơ sở Epsilon", "2320000009", "R-EPS-2"));
    let done = ok(&post(&app, &boss, csv.into_bytes(), true, "text/csv").await);
    assert_eq!(done["committed"], true, "{done}");
    let surveyed = proposal_with_ref(&app, "R-EPS-1").await;
    let mut phone = crate::phone::Phone::login(&app, "ksv1").await;
    let visit = uuid::Uuid::now_v7().to_string();
    let m = phone.new_visit(&visit, &surveyed, serde_json::json!({"workforce": 9}));
    assert_eq!(
        crate::phone::statuses(&phone.push_ok(&app, &[m]).await),
        ["applied"]
    );

    let mut csv = HEADERS.join(",");
    csv.push_str(&line("Cơ sở Epsilon (sửa tên)", "", "R-EPS-1"));
    csv.push_str(&line("Cơ sở Epsilon (sửa tên)", "", "R-EPS-2"));
    let preview = ok(&post(&app, &boss, csv.into_bytes(), false, "text/csv").await);
    let problems = preview["problems"].as_array().unwrap();
    assert_eq!(problems.len(), 1, "{preview}");
    assert_eq!(problems[0]["row"], 2);
    assert_eq!(problems[0]["code"], "proposal.facility_held");
    assert_eq!(problems[0]["params"]["title"], "Lò sấy R-EPS-1");
    // The proposal nobody surveyed still moves with a file of its own.
    let unsurveyed = proposal_with_ref(&app, "R-EPS-2").await;
    let before = facility_of(&app, &unsurveyed).await;
    let mut csv = HEADERS.join(",");
    csv.push_str(&line("Cơ sở Epsilon (sửa tên)", "", "R-EPS-2"));
    let moved = ok(&post(&app, &boss, csv.into_bytes(), true, "text/csv").await);
    assert_eq!(moved["committed"], true, "{moved}");
    assert_ne!(facility_of(&app, &unsurveyed).await, before);
    let visit_facility =
        sqlx::query_scalar::<_, Option<String>>("SELECT facility_id FROM visits WHERE id = $1")
            .bind(&visit)
            .fetch_one(&app.db.pool)
            .await
            .unwrap();
    assert_eq!(
        visit_facility.as_deref(),
        Some(facility_of(&app, &surveyed).await.as_str()),
        "the surveyed proposal stays with its visit"
    );
}

crate::engine_tests!(
    a_commune_spelt_exactly_is_told_from_its_folded_twin,
    a_file_does_not_move_a_surveyed_proposal_to_another_facility,
    rows_that_disagree_about_one_facility_are_shown_not_merged,
    the_same_file_committed_twice_at_once_adds_each_row_once,
    the_registry_export_round_trips,
    a_300_row_workbook_is_previewed_exactly_committed_whole_and_reimported_as_a_no_op,
    windows_1258_csv_formulas_and_limits,
);
