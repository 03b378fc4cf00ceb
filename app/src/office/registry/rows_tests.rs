//! Rows as district offices type them: Vietnamese headers and labels, amounts
//! with thousands dots or as numbers, and each kind of bad cell named.

use super::*;
use crate::office::sheet::{read, Legacy};

const HEADER: &str = "Tên cơ sở;Chủ cơ sở;Địa chỉ;Xã/phường (mã hoặc tên);Mã số thuế;Nhóm ngành;Điện thoại;Tên đề án;Hình thức hỗ trợ;Kinh phí đề nghị (đồng);Năm;Mã tham chiếu";

fn table(rows: &[&str]) -> Table {
    let text = std::iter::once(HEADER)
        .chain(rows.iter().copied())
        .collect::<Vec<_>>()
        .join("\n");
    read(
        text.as_bytes(),
        MAX_INTAKE_BYTES,
        MAX_INTAKE_ROWS,
        Legacy::Cp1258,
    )
    .unwrap()
}

fn codes(problems: &[RowProblem]) -> Vec<(usize, String, String)> {
    problems
        .iter()
        .map(|p| (p.row, p.column.clone().unwrap_or_default(), p.code.clone()))
        .collect()
}

#[test]
fn a_good_row_reads_with_labels_turned_into_values() {
    let (rows, problems) = check_rows(&table(&[
        "Cơ sở mộc Hưng Thịnh;Nguyễn Văn An;thôn Đông;07210;0101234567-001;Sản xuất hàng thủ công mỹ nghệ;+84 912 345 678;Máy chà nhám;Ứng dụng máy móc thiết bị tiên tiến;1.500.000;2026;BG-2026-001",
        "Lò gạch Tân Yên;;;Bắc Giang;;processing;;=SUM(A1);training;250000000;2026;",
    ]));
    assert_eq!(problems, vec![]);
    assert_eq!(rows.len(), 2);
    let first = &rows[0];
    assert_eq!(first.row, 2);
    assert_eq!(first.industry_group, "handicrafts");
    assert_eq!(first.support_kind, "machinery");
    assert_eq!(first.phone.as_deref(), Some("0912345678"));
    assert_eq!(first.requested_amount, 1_500_000);
    assert_eq!(first.tax_code.as_deref(), Some("0101234567-001"));
    assert_eq!(first.external_ref.as_deref(), Some("BG-2026-001"));
    let second = &rows[1];
    assert_eq!(second.owner_name, None);
    assert_eq!(second.commune, "Bắc Giang");
    // A formula is text, never evaluated.
    assert_eq!(second.title, "=SUM(A1)");
    assert_eq!(second.requested_amount, 250_000_000);
}

#[test]
fn every_bad_cell_is_named_and_its_row_left_out() {
    let (rows, problems) = check_rows(&table(&[
        "A;;;07210;123;Chế biến gỗ;0912;T;machinery;1,5 triệu;2026;",
        "B;;;07210;;processing;;T;training;1500000,5;26;",
        ";;;;;processing;;T;training;100;2026;",
        "C;;;07210;;processing;;T;training;100;2026;",
    ]));
    assert_eq!(rows.len(), 1, "only the last row passes");
    assert_eq!(rows[0].row, 5);
    assert_eq!(
        codes(&problems),
        vec![
            (2, "Mã số thuế".into(), "registry.bad_tax_code".into()),
            (2, "Điện thoại".into(), "registry.bad_phone".into()),
            (2, "Nhóm ngành".into(), "registry.unknown_choice".into()),
            (
                2,
                "Kinh phí đề nghị (đồng)".into(),
                "registry.bad_amount".into()
            ),
            (
                3,
                "Kinh phí đề nghị (đồng)".into(),
                "registry.fraction_of_dong".into()
            ),
            (3, "Năm".into(), "registry.bad_year".into()),
            (4, "Tên cơ sở".into(), "registry.required".into()),
            (
                4,
                "Xã/phường (mã hoặc tên)".into(),
                "registry.required".into()
            ),
        ]
    );
    assert_eq!(problems[2].params["value"], "Chế biến gỗ");
}

#[test]
fn an_amount_past_the_systems_cap_is_refused_not_summed_into_an_overflow() {
    let (rows, problems) = check_rows(&table(&[
        "A;;;07210;;processing;;T;training;9.000.000.000.000.000.000;2026;",
        "B;;;07210;;processing;;T;training;1.000.000.000.000.000;2026;",
        "C;;;07210;;processing;;T;training;100.000.000.000.000.000.000.000;2026;",
    ]));
    assert_eq!(rows.len(), 1, "the cap itself is accepted");
    assert_eq!(rows[0].requested_amount, crate::money::MAX_AMOUNT);
    assert_eq!(
        codes(&problems),
        vec![
            (
                2,
                "Kinh phí đề nghị (đồng)".into(),
                "registry.amount_too_large".into()
            ),
            (
                4,
                "Kinh phí đề nghị (đồng)".into(),
                "registry.amount_too_large".into()
            )
        ]
    );
}

#[test]
fn english_keys_as_headers_are_accepted_and_missing_columns_named() {
    let t = read(
        b"facility_name,commune,industry_group,title,support_kind,requested_amount,year\nX,07210,other,T,other,1000,2026\n",
        MAX_INTAKE_BYTES,
        MAX_INTAKE_ROWS,
        Legacy::None,
    )
    .unwrap();
    let (rows, problems) = check_rows(&t);
    assert_eq!(problems, vec![]);
    assert_eq!(rows[0].year, 2026);
    let t = read(b"facility_name,year\nX,2026\n", 1 << 20, 10, Legacy::None).unwrap();
    let (rows, problems) = check_rows(&t);
    assert!(rows.is_empty());
    let missing: Vec<&serde_json::Value> = problems.iter().map(|p| &p.params["column"]).collect();
    assert_eq!(
        missing,
        [
            "Xã/phường (mã hoặc tên)",
            "Nhóm ngành",
            "Tên đề án",
            "Hình thức hỗ trợ",
            "Kinh phí đề nghị (đồng)"
        ]
    );
}

#[test]
fn text_longer_than_its_column_allows_is_refused() {
    let long = "x".repeat(201);
    let line = format!("{long};;;07210;;other;;T;other;1000;2026;");
    let (_, problems) = check_rows(&table(&[&line]));
    assert_eq!(problems.len(), 1);
    assert_eq!(problems[0].code, "registry.too_long");
    assert_eq!(problems[0].params["max"], 200);
}

#[test]
fn a_heading_used_twice_is_named_not_guessed() {
    let t = read(
        "Tên cơ sở,Tên cơ sở,Xã/phường (mã hoặc tên),Nhóm ngành,Tên đề án,Nội dung hỗ trợ,Kinh phí đề nghị (đồng),Năm\n,Xưởng A,07210,processing,T,machinery,1000,2026\n".as_bytes(),
        MAX_INTAKE_BYTES,
        MAX_INTAKE_ROWS,
        Legacy::None,
    )
    .unwrap();
    let (_, problems) = check_rows(&t);
    assert!(
        problems.iter().any(|p| p.row == 1
            && p.code == "registry.duplicate_column"
            && p.params["column"] == "Tên cơ sở"),
        "{problems:?}"
    );
}

#[test]
fn a_name_of_invisible_characters_is_missing() {
    let (rows, problems) = check_rows(&table(&[
        "\u{200B}\u{200B};;;07210;;processing;;T;training;100;2026;",
        "A;;;07210;;processing;;\u{3164};training;100;2026;",
    ]));
    assert!(rows.is_empty());
    assert_eq!(
        codes(&problems),
        vec![
            (2, "Tên cơ sở".into(), "registry.required".into()),
            (3, "Tên đề án".into(), "registry.required".into()),
        ]
    );
}
