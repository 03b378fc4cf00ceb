//! One row of a registry intake file: a facility and one proposal of it, as a
//! district or commune office types them into the template (Vietnamese headers,
//! amounts as "1.500.000" or numeric cells). Each row is read whole or refused
//! with every problem named by column; which facility or proposal it matches is
//! decided later, against the store and the year's unit tree.

use super::super::sheet::{Row, Table};
use crate::error::RowProblem;
use crate::i18n::{t, Lang};
use crate::money::{parse_amount, Amount};
use crate::search::fold;

/// Data rows per intake file.
pub const MAX_INTAKE_ROWS: usize = 20_000;
/// Bytes per intake file, checked before it is read.
pub const MAX_INTAKE_BYTES: usize = 20 * 1024 * 1024;

pub use super::SUPPORT_KINDS;

/// A column of the template: its key, the header the template writes, other
/// headers accepted (compared without diacritics, case or spaces), and whether
/// every row must fill it.
pub struct Column {
    pub key: &'static str,
    pub header: &'static str,
    pub aliases: &'static [&'static str],
    pub required: bool,
}

/// The template, in its order.
pub const COLUMNS: [Column; 12] = [
    col("facility_name", "Tên cơ sở", &["ten co so", "co so"], true),
    col("owner_name", "Chủ cơ sở", &["chu co so", "owner"], false),
    col("address", "Địa chỉ", &["dia chi"], false),
    col(
        "commune",
        "Xã/phường (mã hoặc tên)",
        &["xa phuong", "ma xa", "xa", "phuong", "commune_code"],
        true,
    ),
    col("tax_code", "Mã số thuế", &["ma so thue", "mst"], false),
    col(
        "industry_group",
        "Nhóm ngành",
        &["nhom nganh", "nganh"],
        true,
    ),
    col(
        "phone",
        "Điện thoại",
        &["dien thoai", "so dien thoai", "sdt"],
        false,
    ),
    col(
        "title",
        "Tên đề án",
        &["ten de an", "de an", "proposal_title"],
        true,
    ),
    col(
        "support_kind",
        "Hình thức hỗ trợ",
        &["hinh thuc ho tro", "noi dung ho tro"],
        true,
    ),
    col(
        "requested_amount",
        "Kinh phí đề nghị (đồng)",
        &["kinh phi de nghi", "kinh phi", "so tien de nghi"],
        true,
    ),
    col("year", "Năm", &["nam", "nam ke hoach"], true),
    col(
        "external_ref",
        "Mã tham chiếu",
        &["ma tham chieu", "so tham chieu", "ref"],
        false,
    ),
];

const fn col(
    key: &'static str,
    header: &'static str,
    aliases: &'static [&'static str],
    required: bool,
) -> Column {
    Column {
        key,
        header,
        aliases,
        required,
    }
}

/// A row that passed every check of its own; `row` is where it is in the file.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct IntakeRow {
    pub row: usize,
    pub facility_name: String,
    pub owner_name: Option<String>,
    pub address: Option<String>,
    /// A commune's code or its name, as written: resolved in the year's tree.
    pub commune: String,
    pub tax_code: Option<String>,
    pub industry_group: String,
    /// National form ("0912345678").
    pub phone: Option<String>,
    pub title: String,
    pub support_kind: String,
    /// Whole đồng.
    pub requested_amount: i64,
    pub year: i32,
    pub external_ref: Option<String>,
}

fn key(text: &str) -> String {
    fold(text).chars().filter(|c| c.is_alphanumeric()).collect()
}

/// Where each template column is in this file's header; a missing required
/// column is a problem on row 1.
fn positions(table: &Table, problems: &mut Vec<RowProblem>) -> Vec<Option<usize>> {
    let found: Vec<String> = table.header.iter().map(|h| key(h)).collect();
    COLUMNS
        .iter()
        .map(|c| {
            let names_it = |h: &String| {
                *h == key(c.key) || *h == key(c.header) || c.aliases.iter().any(|a| key(a) == *h)
            };
            let at = found.iter().position(names_it);
            // Two columns under one heading: which one is meant cannot be
            // guessed (the first was taken, blank, and every row refused).
            if found.iter().filter(|h| names_it(h)).count() > 1 {
                problems.push(
                    RowProblem::new(1, None, "registry.duplicate_column").with("column", c.header),
                );
            }
            if at.is_none() && c.required {
                problems.push(
                    RowProblem::new(1, None, "registry.missing_column").with("column", c.header),
                );
            }
            at
        })
        .collect()
}

/// A value of a fixed list, given as its key or its label in either language.
fn choice(text: &str, values: &[&str], label_prefix: &str) -> Option<String> {
    let wanted = key(text);
    values
        .iter()
        .find(|v| {
            key(v) == wanted
                || [Lang::Vi, Lang::En]
                    .iter()
                    .any(|lang| key(&t(*lang, &format!("{label_prefix}.{v}"))) == wanted)
        })
        .map(|v| v.to_string())
}

/// A Vietnamese tax code: 10 digits, or 10 and a 3-digit branch ("0101234567-001").
pub fn good_tax_code(text: &str) -> bool {
    let (main, branch) = text.split_once('-').unwrap_or((text, "000"));
    main.len() == 10
        && branch.len() == 3
        && main
            .chars()
            .chain(branch.chars())
            .all(|c| c.is_ascii_digit())
}

/// Adds a problem on `row` in the column whose key is `column` (named by its
/// template header) and returns it for its parameters.
fn report<'p>(
    problems: &'p mut Vec<RowProblem>,
    row: usize,
    column: &str,
    code: &str,
) -> &'p mut RowProblem {
    let header = COLUMNS
        .iter()
        .find(|c| c.key == column)
        .map_or(column, |c| c.header);
    problems.push(RowProblem::new(row, Some(header), code));
    problems.last_mut().expect("pushed")
}

/// Every row of the file: those that pass, and every problem of those that do not.
pub fn check_rows(table: &Table) -> (Vec<IntakeRow>, Vec<RowProblem>) {
    let mut problems = Vec::new();
    let at = positions(table, &mut problems);
    if !problems.is_empty() {
        return (Vec::new(), problems);
    }
    if table.rows.is_empty() {
        return (
            Vec::new(),
            vec![RowProblem::new(1, None, "registry.no_rows")],
        );
    }
    let mut rows = Vec::new();
    for row in &table.rows {
        let before = problems.len();
        if let Some(parsed) = check_row(row, &at, &mut problems) {
            if problems.len() == before {
                rows.push(parsed);
            }
        }
    }
    (rows, problems)
}

fn check_row(row: &Row, at: &[Option<usize>], problems: &mut Vec<RowProblem>) -> Option<IntakeRow> {
    let cell = |name: &str| -> String {
        let i = COLUMNS
            .iter()
            .position(|c| c.key == name)
            .expect("a template column");
        at[i].map(|p| row.cell(p).to_string()).unwrap_or_default()
    };
    macro_rules! problem {
        ($column:expr, $code:expr) => {
            report(problems, row.number, $column, $code)
        };
    }
    for c in COLUMNS.iter().filter(|c| c.required) {
        // Zero-width characters alone are as empty as nothing.
        if crate::domain::shows_nothing(&cell(c.key)) {
            problem!(c.key, "registry.required");
        }
    }
    for (name, max) in [
        ("facility_name", 200),
        ("owner_name", 200),
        ("address", 500),
        ("title", 300),
        ("external_ref", 100),
    ] {
        let len = cell(name).chars().count();
        if len > max {
            let p = problem!(name, "registry.too_long");
            p.params.insert("max".into(), max.into());
            p.params.insert("length".into(), len.into());
        }
    }
    let optional = |name: &str| Some(cell(name)).filter(|v| !v.is_empty());
    let tax_code = optional("tax_code");
    if tax_code.as_deref().is_some_and(|v| !good_tax_code(v)) {
        problem!("tax_code", "registry.bad_tax_code");
    }
    let phone = match optional("phone") {
        None => None,
        Some(raw) => {
            let national = crate::domain::Phone::parse(&raw).map(crate::domain::Phone::into_string);
            if national.is_none() {
                problem!("phone", "registry.bad_phone");
            }
            national
        }
    };
    let industry_group = choice(
        &cell("industry_group"),
        &crate::model::INDUSTRIES,
        "industry",
    );
    if industry_group.is_none() && !cell("industry_group").is_empty() {
        problem!("industry_group", "registry.unknown_choice")
            .params
            .insert("value".into(), cell("industry_group").into());
    }
    let support_kind = choice(&cell("support_kind"), &SUPPORT_KINDS, "support_kind");
    if support_kind.is_none() && !cell("support_kind").is_empty() {
        problem!("support_kind", "registry.unknown_choice")
            .params
            .insert("value".into(), cell("support_kind").into());
    }
    let amount_text = cell("requested_amount");
    let requested_amount = match parse_amount(&amount_text) {
        Ok(Some(Amount::Whole(n))) if (0..=crate::money::MAX_AMOUNT).contains(&n) => Some(n),
        // Past the cap, or past an i64 (24 digits): too large, not no number.
        Ok(Some(amount @ (Amount::Whole(_) | Amount::Huge(_))))
            if amount.to_json().as_f64().is_some_and(|n| n > 0.0) =>
        {
            // Like a recommendation's: sums of many stay inside an i64.
            problem!("requested_amount", "registry.amount_too_large")
                .params
                .insert("value".into(), amount_text.clone().into());
            None
        }
        Ok(None) => None, // reported as required
        Ok(Some(Amount::Fraction(_))) => {
            problem!("requested_amount", "registry.fraction_of_dong");
            None
        }
        _ => {
            problem!("requested_amount", "registry.bad_amount")
                .params
                .insert("value".into(), amount_text.clone().into());
            None
        }
    };
    let year_text = cell("year");
    let year = year_text
        .parse::<i32>()
        .ok()
        .filter(|y| (2000..=2100).contains(y));
    if year.is_none() && !year_text.is_empty() {
        problem!("year", "registry.bad_year")
            .params
            .insert("value".into(), year_text.into());
    }
    Some(IntakeRow {
        row: row.number,
        facility_name: cell("facility_name"),
        owner_name: optional("owner_name"),
        address: optional("address"),
        commune: cell("commune"),
        tax_code,
        industry_group: industry_group?,
        phone,
        title: cell("title"),
        support_kind: support_kind?,
        requested_amount: requested_amount?,
        year: year?,
        external_ref: optional("external_ref"),
    })
}

#[cfg(test)]
#[path = "rows_tests.rs"]
mod tests;
