//! The office's files: the visit list and the year's plan as XLSX (one sheet per
//! view, Vietnamese headers, amounts formatted as đồng) and as CSV (UTF-8 with a
//! BOM so Excel reads the diacritics), and the photos of a district or proposal
//! as a ZIP with a manifest.
//!
//! Everything is written to an anonymous temporary file and streamed from there:
//! an export of tens of thousands of visits never sits in memory as one buffer.
//! XLSX sheets use the writer's constant-memory mode (rows go to disk as written).

use app::error::AppError;
use app::i18n::{t, Lang};
use app::model::VisitSummary;
use app::office::plan::contract::{Plan, PlanCell};
use rust_xlsxwriter::{Format, Workbook, Worksheet, XlsxError};
use std::borrow::Cow;
use std::fs::File;
use std::io::{BufWriter, Seek, SeekFrom, Write};

/// The photos of a district or proposal as a ZIP with a manifest.
mod photos;
/// The year's plan: one sheet (or CSV) per view.
mod plan;
/// Where rows go: a CSV file or an XLSX sheet.
mod sinks;

pub use photos::*;
pub use plan::*;
pub use sinks::*;

/// Exports are in Vietnamese: they go to the province's leadership.
const LANG: Lang = Lang::Vi;
/// Number format of money cells: whole đồng with thousands separators.
const VND_FORMAT: &str = "#,##0\" đ\"";

/// A CSV text cell that a spreadsheet would read as a formula gets a leading
/// apostrophe, so an answer typed on a phone can never run in the office:
/// `=`, `+`, `-`, `@` first, also after leading spaces (which spreadsheets
/// skip), and a leading tab or carriage return. XLSX cells are typed strings
/// and never run: they are written as typed (`Sheet`).
pub fn neutralise(text: &str) -> Cow<'_, str> {
    let starts_control = text.starts_with(['\t', '\r', '\n']);
    let first = text.trim_start().chars().next();
    if starts_control
        || matches!(
            first,
            Some('=' | '+' | '-' | '@' | '\u{FF1D}' | '\u{FF0B}' | '\u{FF0D}' | '\u{FF20}')
        )
    {
        Cow::Owned(format!("'{text}"))
    } else {
        Cow::Borrowed(text)
    }
}

fn xlsx_error(e: XlsxError) -> AppError {
    AppError::Internal(format!("writing the spreadsheet failed: {e}"))
}

fn io_error(e: std::io::Error) -> AppError {
    AppError::Internal(format!("writing the export file failed: {e}"))
}

/// A cell of an export row: text (neutralised), a count, an amount of đồng,
/// or a moment (ms since the epoch; Vietnam time as text in a CSV, a date in
/// a workbook, so that sorting and date filters work on it).
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Text(String),
    Count(i64),
    Money(i64),
    DateTime(i64),
}

impl Cell {
    fn text(s: impl Into<String>) -> Cell {
        Cell::Text(s.into())
    }
}

/// An export's fixed text (headers, sheet names, totals) from the locale files.
pub fn text(key: &str) -> String {
    t(LANG, &format!("export.{key}"))
}

fn label(prefix: &str, value: &str) -> String {
    let key = format!("{prefix}.{value}");
    let text = t(LANG, &key);
    if text == key {
        value.to_string()
    } else {
        text
    }
}

pub fn source_label(source: &str) -> String {
    label("plan.source", source)
}

pub fn industry_label(group: &str) -> String {
    label("industry", group)
}

// ---- the visit list ----------------------------------------------------------

pub const VISIT_WIDTHS: &[f64] = &[18.0, 50.0, 36.0, 24.0, 22.0, 24.0, 16.0, 8.0, 10.0, 38.0];

pub fn visit_header() -> Vec<Cell> {
    [
        "received",
        "proposal",
        "facility",
        "district",
        "industry",
        "inspector",
        "state",
        "photos",
        "conflicts",
        "visit_id",
    ]
    .into_iter()
    .map(|key| Cell::Text(text(key)))
    .collect()
}

pub fn visit_row(v: &VisitSummary) -> Vec<Cell> {
    vec![
        Cell::DateTime(v.received_at_ms),
        Cell::text(v.proposal_title.clone().unwrap_or_default()),
        Cell::text(v.facility_name.clone().unwrap_or_default()),
        Cell::text(v.district_name.clone().unwrap_or_default()),
        Cell::text(
            v.industry_group
                .as_deref()
                .map(industry_label)
                .unwrap_or_default(),
        ),
        Cell::text(v.inspector.clone()),
        Cell::text(t(
            LANG,
            &format!("review_state.{}", v.review_state.as_str()),
        )),
        Cell::Count(v.photos),
        Cell::Count(v.open_conflicts),
        Cell::text(v.id.clone()),
    ]
}

// ---- the plan ----------------------------------------------------------------

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_that_would_run_as_formulas_are_neutralised() {
        for bad in [
            "=1+2",
            "+84912",
            "-2",
            "@SUM(A1)",
            "\t=x",
            "\r=x",
            "  =HYPERLINK(\"x\")",
            " \u{a0}+1",
            "\n=1",
            "\u{FF1D}1+1",
        ] {
            assert_eq!(neutralise(bad), format!("'{bad}"), "{bad:?}");
        }
        for fine in ["Hòa Phát", "1 + 2", "", "'already", "a;b", "x=1"] {
            assert_eq!(neutralise(fine), fine);
        }
    }

    #[test]
    fn a_semicolon_is_quoted_so_excel_with_a_vietnamese_list_separator_keeps_one_cell() {
        assert_eq!(csv_field("Máy;=1+2"), "\"Máy;=1+2\"");
        let mut csv = Csv::new().unwrap();
        csv.row(&[
            Cell::text("a;=cmd|' /C calc'!A0"),
            Cell::text("  =1+2"),
            Cell::Count(3),
        ])
        .unwrap();
        let mut text = String::new();
        std::io::Read::read_to_string(&mut csv.finish().unwrap(), &mut text).unwrap();
        assert_eq!(text, "\u{feff}\"a;=cmd|' /C calc'!A0\",'  =1+2,3\r\n");
    }

    #[test]
    fn csv_fields_are_quoted_only_when_needed() {
        assert_eq!(csv_field("a"), "a");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("two\nlines"), "\"two\nlines\"");
    }
}
