//! The office's files: the visit list and the year's plan as XLSX (one sheet per
//! view, Vietnamese headers, amounts formatted as đồng) and as CSV (UTF-8 with a
//! BOM so Excel reads the diacritics), and the photos of a district or proposal
//! as a ZIP with a manifest.
//!
//! Everything is written to an anonymous temporary file and streamed from there:
//! an export of tens of thousands of visits never sits in memory as one buffer.
//! XLSX sheets use the writer's constant-memory mode (rows go to disk as written).
//!
//! One file (653 lines): the CSV and XLSX sinks are shared by every export; issue 16 splits CSV / XLSX / ZIP.

use app::console::{Plan, PlanCell};
use app::error::AppError;
use app::i18n::{t, Lang};
use app::model::VisitSummary;
use rust_xlsxwriter::{Format, Workbook, Worksheet, XlsxError};
use std::borrow::Cow;
use std::fs::File;
use std::io::{BufWriter, Seek, SeekFrom, Write};

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

/// A cell of an export row: text (neutralised), a count, or an amount of đồng.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Text(String),
    Count(i64),
    Money(i64),
}

impl Cell {
    fn text(s: impl Into<String>) -> Cell {
        Cell::Text(s.into())
    }
}

/// Where rows go: an XLSX sheet or a CSV file. Both take the header first.
pub trait Sink: Send {
    fn row(&mut self, cells: &[Cell]) -> Result<(), AppError>;
}

/// CSV: comma-separated, CRLF lines, quotes where needed, UTF-8 with BOM.
pub struct Csv {
    out: BufWriter<File>,
}

impl Csv {
    pub fn new() -> Result<Csv, AppError> {
        let mut out = BufWriter::new(tempfile::tempfile().map_err(io_error)?);
        out.write_all("\u{feff}".as_bytes()).map_err(io_error)?;
        Ok(Csv { out })
    }

    pub fn finish(self) -> Result<File, AppError> {
        let mut file = self
            .out
            .into_inner()
            .map_err(|e| io_error(e.into_error()))?;
        file.seek(SeekFrom::Start(0)).map_err(io_error)?;
        Ok(file)
    }
}

/// Quoted when it holds a separator: `,`, and `;`, which Excel in Vietnamese
/// (and most European) locales splits on, so `a;=1+2` would become a formula cell.
fn csv_field(text: &str) -> Cow<'_, str> {
    if text.contains([',', ';', '"', '\n', '\r']) {
        Cow::Owned(format!("\"{}\"", text.replace('"', "\"\"")))
    } else {
        Cow::Borrowed(text)
    }
}

impl Sink for Csv {
    fn row(&mut self, cells: &[Cell]) -> Result<(), AppError> {
        let line = cells
            .iter()
            .map(|c| match c {
                Cell::Text(s) => csv_field(&neutralise(s)).into_owned(),
                Cell::Count(n) | Cell::Money(n) => n.to_string(),
            })
            .collect::<Vec<_>>()
            .join(",");
        self.out.write_all(line.as_bytes()).map_err(io_error)?;
        self.out.write_all(b"\r\n").map_err(io_error)
    }
}

/// One worksheet being written row by row.
pub struct Sheet<'a> {
    sheet: &'a mut Worksheet,
    row: u32,
    header: Format,
    money: Format,
}

impl Sink for Sheet<'_> {
    fn row(&mut self, cells: &[Cell]) -> Result<(), AppError> {
        for (i, cell) in cells.iter().enumerate() {
            let c = i as u16;
            match cell {
                Cell::Text(s) if self.row == 0 => {
                    self.sheet
                        .write_string_with_format(self.row, c, s, &self.header)
                        .map_err(xlsx_error)?;
                }
                // A string cell is text to Excel and LibreOffice whatever it
                // starts with: no apostrophe on "+84 912…".
                Cell::Text(s) => {
                    self.sheet
                        .write_string(self.row, c, s)
                        .map_err(xlsx_error)?;
                }
                Cell::Count(n) => {
                    self.sheet
                        .write_number(self.row, c, *n as f64)
                        .map_err(xlsx_error)?;
                }
                Cell::Money(n) => {
                    self.sheet
                        .write_number_with_format(self.row, c, *n as f64, &self.money)
                        .map_err(xlsx_error)?;
                }
            }
        }
        self.row += 1;
        Ok(())
    }
}

/// Adds a constant-memory sheet named `name` with column widths.
pub fn open_sheet<'a>(
    book: &'a mut Workbook,
    name: &str,
    widths: &[f64],
) -> Result<Sheet<'a>, AppError> {
    let ws = book
        .add_worksheet_with_constant_memory()
        .map_err(xlsx_error)?;
    ws.set_name(name).map_err(xlsx_error)?;
    for (i, w) in widths.iter().enumerate() {
        ws.set_column_width(i as u16, *w).map_err(xlsx_error)?;
    }
    ws.set_freeze_panes(1, 0).map_err(xlsx_error)?;
    Ok(Sheet {
        sheet: ws,
        row: 0,
        header: Format::new().set_bold(),
        money: Format::new().set_num_format(VND_FORMAT),
    })
}

/// A sheet filled at once by `fill`.
fn sheet(
    book: &mut Workbook,
    name: &str,
    widths: &[f64],
    fill: impl FnOnce(&mut Sheet) -> Result<(), AppError>,
) -> Result<(), AppError> {
    fill(&mut open_sheet(book, name, widths)?)
}

/// The finished workbook in a temporary file, rewound for reading.
pub fn save(mut book: Workbook) -> Result<File, AppError> {
    let file = tempfile::tempfile().map_err(io_error)?;
    let mut writer = BufWriter::new(file);
    book.save_to_writer(&mut writer).map_err(xlsx_error)?;
    let mut file = writer.into_inner().map_err(|e| io_error(e.into_error()))?;
    file.seek(SeekFrom::Start(0)).map_err(io_error)?;
    Ok(file)
}

pub fn new_workbook() -> Workbook {
    Workbook::new()
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
        Cell::text(app::format::datetime_vn(v.received_at_ms)),
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

/// Funding sources in the order the plan shows them.
pub const SOURCES: [&str; 4] = ["provincial", "national", "not_supported", "pending"];

/// Rows of a two-way table: one line per `key` (district or industry group) with
/// count and recommended amount per source, then a total line.
fn by_key(
    plan: &Plan,
    key: impl Fn(&PlanCell) -> (String, String),
    first: &str, // locale key of the first column
    out: &mut dyn Sink,
) -> Result<(), AppError> {
    let mut header = vec![Cell::Text(text(first))];
    for s in SOURCES {
        header.push(Cell::Text(
            text("source_count").replace("{source}", &source_label(s)),
        ));
        header.push(Cell::Text(
            text("source_amount").replace("{source}", &source_label(s)),
        ));
    }
    header.push(Cell::Text(text("total_count")));
    header.push(Cell::Text(text("total_requested")));
    out.row(&header)?;
    let mut keys: Vec<(String, String)> = plan.cells.iter().map(&key).collect();
    keys.sort();
    keys.dedup();
    let line = |label: String, keep: &dyn Fn(&PlanCell) -> bool| {
        let mut row = vec![Cell::Text(label)];
        for s in SOURCES {
            let t = plan.totals(|c| keep(c) && c.source == s);
            row.push(Cell::Count(t.count));
            row.push(Cell::Money(t.recommended));
        }
        let all = plan.totals(keep);
        row.push(Cell::Count(all.count));
        row.push(Cell::Money(all.requested));
        row
    };
    for (k, name) in &keys {
        out.row(&line(name.clone(), &|c| &key(c).0 == k))?;
    }
    out.row(&line(text("total"), &|_| true))
}

/// The locale key naming the units a plan is grouped by (its first column).
fn unit_column(plan: &Plan) -> &'static str {
    match plan.grouped_by.as_str() {
        "commune" => "commune",
        "former_district" => "former_district",
        _ => "district",
    }
}

/// The sheet name of a plan's units table.
fn unit_sheet(plan: &Plan) -> String {
    text(&format!("sheet_by_{}", unit_column(plan)))
}

pub fn plan_by_district(plan: &Plan, out: &mut dyn Sink) -> Result<(), AppError> {
    by_key(
        plan,
        |c| (c.district_code.clone(), c.district_name.clone()),
        unit_column(plan),
        out,
    )
}

pub fn plan_by_industry(plan: &Plan, out: &mut dyn Sink) -> Result<(), AppError> {
    by_key(
        plan,
        |c| (c.industry_group.clone(), industry_label(&c.industry_group)),
        "industry",
        out,
    )
}

/// District × industry group × source: the plan's full breakdown, with totals.
pub fn plan_cells(plan: &Plan, out: &mut dyn Sink) -> Result<(), AppError> {
    out.row(
        &[
            unit_column(plan),
            "industry",
            "source",
            "count",
            "requested",
            "recommended",
        ]
        .map(|key| Cell::Text(text(key))),
    )?;
    let mut cells: Vec<&PlanCell> = plan.cells.iter().collect();
    cells.sort_by_key(|c| {
        (
            c.district_code.clone(),
            c.industry_group.clone(),
            SOURCES.iter().position(|s| *s == c.source),
        )
    });
    for c in cells {
        out.row(&[
            Cell::text(c.district_name.clone()),
            Cell::text(industry_label(&c.industry_group)),
            Cell::text(source_label(&c.source)),
            Cell::Count(c.count),
            Cell::Money(c.requested),
            Cell::Money(c.recommended),
        ])?;
    }
    let all = plan.totals(|_| true);
    out.row(&[
        Cell::Text(text("total")),
        Cell::text(""),
        Cell::text(""),
        Cell::Count(all.count),
        Cell::Money(all.requested),
        Cell::Money(all.recommended),
    ])
}

pub fn plan_proposals(plan: &Plan, out: &mut dyn Sink) -> Result<(), AppError> {
    out.row(
        &[
            "proposal",
            "facility",
            "district",
            "industry",
            "requested",
            "source",
            "recommended",
        ]
        .map(|key| Cell::Text(text(key))),
    )?;
    for p in &plan.proposals {
        out.row(&[
            Cell::text(p.title.clone()),
            Cell::text(p.facility_name.clone()),
            Cell::text(p.district_name.clone()),
            Cell::text(industry_label(&p.industry_group)),
            Cell::Money(p.requested_amount),
            Cell::text(source_label(&p.source)),
            Cell::Money(p.recommended_amount),
        ])?;
    }
    Ok(())
}

/// The budget sheet: the province's budget, what the provincial recommendations
/// use, and what is left.
pub fn plan_budget(plan: &Plan, out: &mut dyn Sink) -> Result<(), AppError> {
    out.row(&[Cell::Text(text("year")), Cell::Count(i64::from(plan.year))])?;
    let used = plan.provincial_total();
    match plan.budget {
        Some(b) => {
            out.row(&[Cell::Text(text("budget")), Cell::Money(b)])?;
            out.row(&[Cell::Text(text("provincial_used")), Cell::Money(used)])?;
            out.row(&[Cell::Text(text("remaining")), Cell::Money(b - used)])
        }
        None => {
            out.row(&[Cell::Text(text("budget")), Cell::Text(text("not_set"))])?;
            out.row(&[Cell::Text(text("provincial_used")), Cell::Money(used)])
        }
    }
}

/// The whole plan as a workbook: one sheet per view.
/// The plan workbook. `former` is the same plan grouped by the districts of
/// the older tree (a year on a tree another is mapped into): its tables come
/// right after the year's own.
pub fn plan_xlsx(plan: &Plan, former: Option<&Plan>) -> Result<File, AppError> {
    let mut book = new_workbook();
    let wide = [
        26.0, 12.0, 18.0, 12.0, 18.0, 12.0, 18.0, 12.0, 18.0, 12.0, 20.0,
    ];
    sheet(&mut book, &unit_sheet(plan), &wide, |s| {
        plan_by_district(plan, s)
    })?;
    if let Some(former) = former {
        sheet(&mut book, &unit_sheet(former), &wide, |s| {
            plan_by_district(former, s)
        })?;
        sheet(
            &mut book,
            &text("sheet_detail_former_district"),
            &[26.0, 22.0, 26.0, 10.0, 20.0, 20.0],
            |s| plan_cells(former, s),
        )?;
    }
    sheet(&mut book, &text("sheet_by_industry"), &wide, |s| {
        plan_by_industry(plan, s)
    })?;
    sheet(
        &mut book,
        &text("sheet_detail"),
        &[26.0, 22.0, 26.0, 10.0, 20.0, 20.0],
        |s| plan_cells(plan, s),
    )?;
    sheet(
        &mut book,
        &text("sheet_proposals"),
        &[60.0, 36.0, 26.0, 22.0, 20.0, 26.0, 20.0],
        |s| plan_proposals(plan, s),
    )?;
    sheet(&mut book, &text("sheet_budget"), &[30.0, 22.0], |s| {
        plan_budget(plan, s)
    })?;
    save(book)
}

// ---- photos ------------------------------------------------------------------

/// Name of the manifest inside a photos ZIP.
pub const PHOTO_MANIFEST: &str = "manifest.json";

/// A file or folder name made from a title: no path separators or control
/// characters, at most 80 characters.
fn safe_name(text: &str) -> String {
    let cleaned: String = text
        .chars()
        .map(|c| match c {
            '/' | '\\' | ':' | '*' | '?' | '"' | '<' | '>' | '|' => '-',
            c if c.is_control() => ' ',
            c => c,
        })
        .take(80)
        .collect();
    let trimmed = cleaned.trim().trim_matches('.').trim();
    if trimmed.is_empty() {
        "khong-ten".into()
    } else {
        trimmed.to_string()
    }
}

/// Where a photo goes in the ZIP: district / proposal / n-caption.ext.
pub fn photo_path(p: &app::store::photos::ExportPhoto, n: usize) -> String {
    let ext = match p.content_type.as_str() {
        "image/png" => "png",
        "image/webp" => "webp",
        _ => "jpg",
    };
    let caption = p
        .caption
        .as_deref()
        .map(safe_name)
        .map(|c| format!("-{c}"))
        .unwrap_or_default();
    format!(
        "{}/{}/{:03}{}-{}.{ext}",
        safe_name(p.district.as_deref().unwrap_or("khong-ro-huyen")),
        safe_name(
            p.proposal_title
                .as_deref()
                .or(p.facility.as_deref())
                .unwrap_or("khong-ro-de-an")
        ),
        n,
        caption,
        &p.photo_id[p.photo_id.len().saturating_sub(8)..],
    )
}

/// A stored ZIP of the photos' originals, one read at a time, and a manifest
/// listing each file with its photo's record. Photos whose bytes cannot be read
/// are listed in the manifest under `missing` rather than failing the export.
pub fn photos_zip(
    storage: &dyn app::photos::storage::PhotoStorage,
    title: &str,
    photos: &[app::store::photos::ExportPhoto],
) -> Result<File, AppError> {
    use app::sync::archive::{EntryBuilder, ZipPieces};
    let zip_error = |e: app::sync::archive::ArchiveError| {
        AppError::Invalid(app::error::ErrorBody::new(
            "export.too_large",
            format!("the photos do not fit one ZIP: {e}"),
        ))
    };
    let mut out = BufWriter::new(tempfile::tempfile().map_err(io_error)?);
    let mut zip = ZipPieces::default();
    let mut files = Vec::with_capacity(photos.len());
    let mut missing = Vec::new();
    let mut per_folder: std::collections::HashMap<String, usize> = Default::default();
    for p in photos {
        let bytes = match storage.get(&p.object_key) {
            Ok(b) => b,
            Err(e) => {
                tracing::warn!(photo = %p.photo_id, "photo bytes unreadable for export: {e}");
                missing.push(p.photo_id.clone());
                continue;
            }
        };
        let folder = photo_path(p, 0);
        let folder = folder
            .rsplit_once('/')
            .map(|(f, _)| f.to_string())
            .unwrap_or_default();
        let n = per_folder.entry(folder).or_insert(0);
        *n += 1;
        let name = photo_path(p, *n);
        let mut entry = EntryBuilder::default();
        entry.update(&bytes);
        let (crc, size) = entry.finish();
        out.write_all(&zip.header(&name, crc, size).map_err(zip_error)?)
            .map_err(io_error)?;
        out.write_all(&bytes).map_err(io_error)?;
        let mut record = serde_json::to_value(p).unwrap_or_default();
        record["file"] = serde_json::Value::String(name);
        files.push(record);
    }
    let manifest = serde_json::to_vec_pretty(&serde_json::json!({
        "format": "khaosat-photos",
        "version": 1,
        "title": title,
        "created_at_ms": app::store::now_ms(),
        "count": files.len(),
        "photos": files,
        "missing": missing,
    }))
    .map_err(|e| AppError::Internal(e.to_string()))?;
    let mut entry = EntryBuilder::default();
    entry.update(&manifest);
    let (crc, size) = entry.finish();
    out.write_all(&zip.header(PHOTO_MANIFEST, crc, size).map_err(zip_error)?)
        .map_err(io_error)?;
    out.write_all(&manifest).map_err(io_error)?;
    out.write_all(&zip.finish()).map_err(io_error)?;
    let mut file = out.into_inner().map_err(|e| io_error(e.into_error()))?;
    file.seek(SeekFrom::Start(0)).map_err(io_error)?;
    Ok(file)
}

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
