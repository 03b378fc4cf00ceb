//! Tables that offices send as spreadsheets: CSV or XLSX (its first sheet), read
//! into rows of trimmed, NFC text with the row number a person sees in Excel, so
//! that every check can name the row and column of a problem.
//!
//! One file (about 415 lines): the byte and row limits, the two formats and
//! the readers' gate hold before any cell is read, in one place.
//!
//! CSV as Excel writes it in Vietnam: UTF-8 with or without a BOM, UTF-16 with a
//! BOM ("Unicode text"), or where the caller allows it Windows-1258 (tones as
//! combining marks, composed here); separated by commas, semicolons (the vi-VN
//! list separator) or tabs, whichever the header row uses. Formula cells count as their cached values and a cell that starts with
//! `=` is only text: nothing in a file is ever evaluated.
//!
//! Limits hold before parsing: the caller's byte limit is checked first, then rows
//! are counted (CSV line breaks, the sheet's declared dimensions) before any cell
//! is read.

use std::io::Cursor;

/// A sheet as text: the first non-empty row is the header.
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    pub header: Vec<String>,
    pub rows: Vec<Row>,
}

/// One data row; `number` is 1-based and counts the header (Excel's numbering).
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub number: usize,
    pub cells: Vec<String>,
}

impl Row {
    /// The cell in `column` (0-based), empty when the row is shorter.
    pub fn cell(&self, column: usize) -> &str {
        self.cells.get(column).map(String::as_str).unwrap_or("")
    }
}

/// Spreadsheets read at once, whatever they hold (registry intakes, unit
/// trees): a 20 MB workbook takes a few hundred MB while it is read, so a
/// burst of uploads waits its turn rather than exhausting the server's memory.
static READERS: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(2);

/// How long an upload waits for a reader before it is told to come back.
const READER_WAIT_S: u64 = 20;

/// Runs `work` (reading and checking a file: CPU work) on the blocking pool,
/// holding one of the readers' permits until it is done, so the server keeps
/// answering and no more than two files are inflated at once. `what` names
/// the work in the 503 a caller gets when every reader stays busy.
pub async fn off_the_workers<T: Send + 'static>(
    what: &'static str,
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, crate::error::AppError> {
    use crate::error::AppError;
    let _permit = tokio::time::timeout(
        std::time::Duration::from_secs(READER_WAIT_S),
        READERS.acquire(),
    )
    .await
    .map_err(|_| AppError::Busy {
        what,
        retry_after_s: READER_WAIT_S,
    })?
    .map_err(|_| AppError::Internal("the spreadsheet readers were closed".into()))?;
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| AppError::Internal(format!("the spreadsheet reader failed ({what}): {e}")))
}

/// Why a file could not be read as a table at all.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SheetError {
    #[error("the file is larger than {limit} bytes")]
    TooLarge { limit: usize },
    #[error("the file has more than {limit} rows")]
    TooManyRows { limit: usize },
    #[error("row {row} is not UTF-8 text")]
    NotUtf8 { row: usize },
    #[error("the file is neither UTF-8 nor Windows-1258 text (row {row})")]
    NotText { row: usize },
    #[error("the file has no header row")]
    Empty,
    #[error("the spreadsheet cannot be read: {0}")]
    Unreadable(String),
    #[error("the spreadsheet expands to more than {limit} bytes")]
    Expands { limit: usize },
}

/// Which legacy encoding a CSV may use besides UTF-8 and UTF-16.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Legacy {
    /// Only Unicode: a file that is not is refused with the row named.
    None,
    /// Windows-1258, as Excel in Vietnam saves "CSV (Comma delimited)".
    Cp1258,
}

/// Reads CSV or XLSX (told apart by the ZIP signature, not the file name).
/// `max_rows` counts data rows, without the header.
pub fn read(
    bytes: &[u8],
    max_bytes: usize,
    max_rows: usize,
    legacy: Legacy,
) -> Result<Table, SheetError> {
    if bytes.len() > max_bytes {
        return Err(SheetError::TooLarge { limit: max_bytes });
    }
    let mut table = if bytes.starts_with(b"PK\x03\x04") {
        expanded_within(bytes, expansion_limit(bytes.len(), max_bytes))?;
        read_xlsx(bytes, max_rows)?
    } else {
        read_csv(&decode(bytes, legacy)?, max_rows)?
    };
    // U+0000 (a raw byte in a CSV, `_x0000_` in a sheet) is never text a
    // person typed; PostgreSQL cannot store it, so no cell keeps it.
    for cell in table
        .header
        .iter_mut()
        .chain(table.rows.iter_mut().flat_map(|r| r.cells.iter_mut()))
    {
        if cell.contains('\0') {
            *cell = cell.replace('\0', "");
        }
    }
    Ok(table)
}

/// Columns read per row; cells further right are ignored (every file khaosat
/// reads has at most a dozen columns), so a row of a million empty cells costs
/// nothing.
pub const MAX_COLUMNS: usize = 64;

/// How many times the route's size limit an XLSX may expand to. Real sheets
/// compress 5–10 times; a ZIP bomb compresses a thousand.
const EXPANSION: usize = 20;

/// How many times its own size one file may expand to, and the floor below
/// which that is not applied (a small file's fixed parts, styles and themes,
/// expand more than its rows). Without it a 0.9 MB file could expand to the
/// route's whole 400 MB and hold over a gigabyte while it was read.
const FILE_EXPANSION: usize = 100;
const EXPANSION_FLOOR: usize = 16 << 20;

fn expansion_limit(file_len: usize, max_bytes: usize) -> usize {
    max_bytes
        .saturating_mul(EXPANSION)
        .min(file_len.saturating_mul(FILE_EXPANSION).max(EXPANSION_FLOOR))
}

/// Inflates every member of the ZIP once, counting, and stops past `limit`:
/// member headers may lie about their sizes, and the spreadsheet reader loads
/// some members (the shared strings) whole.
fn expanded_within(bytes: &[u8], limit: usize) -> Result<(), SheetError> {
    use std::io::Read;
    let unreadable = |e: &dyn std::fmt::Display| SheetError::Unreadable(e.to_string());
    let mut zip = zip::ZipArchive::new(Cursor::new(bytes)).map_err(|e| unreadable(&e))?;
    let mut total = 0usize;
    for i in 0..zip.len() {
        let member = zip.by_index(i).map_err(|e| unreadable(&e))?;
        let budget = (limit - total) as u64 + 1;
        let read = std::io::copy(&mut member.take(budget), &mut std::io::sink())
            .map_err(|e| unreadable(&e))?;
        total += read as usize;
        if total > limit {
            return Err(SheetError::Expands { limit });
        }
    }
    Ok(())
}

/// The file's text; nothing is parsed before its rows are counted.
fn decode(bytes: &[u8], legacy: Legacy) -> Result<String, SheetError> {
    let row_at = |end: usize| 1 + bytes[..end].iter().filter(|b| **b == b'\n').count();
    for (bom, encoding) in [
        (&b"\xFF\xFE"[..], encoding_rs::UTF_16LE),
        (&b"\xFE\xFF"[..], encoding_rs::UTF_16BE),
    ] {
        if let Some(rest) = bytes.strip_prefix(bom) {
            return encoding
                .decode_without_bom_handling_and_without_replacement(rest)
                .map(|text| text.into_owned())
                .ok_or(SheetError::NotText { row: 1 });
        }
    }
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    match std::str::from_utf8(bytes) {
        Ok(text) => Ok(text.to_string()),
        Err(e) if legacy == Legacy::None => Err(SheetError::NotUtf8 {
            row: row_at(e.valid_up_to()),
        }),
        Err(_) => {
            // Every byte decodes in Windows-1258 (its holes become C1 controls),
            // so a C1 control is what says the file was something else.
            let (text, _) = encoding_rs::WINDOWS_1258.decode_without_bom_handling(bytes);
            match text.find(|c: char| ('\u{80}'..='\u{9f}').contains(&c)) {
                Some(at) => Err(SheetError::NotText {
                    row: 1 + text[..at].matches('\n').count(),
                }),
                None => Ok(text.into_owned()),
            }
        }
    }
}

/// Comma, semicolon or tab: whichever the first line holds most of.
fn delimiter(text: &str) -> u8 {
    let first = text.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
    [b',', b';', b'\t']
        .into_iter()
        .max_by_key(|d| (first.bytes().filter(|b| b == d).count(), *d == b','))
        .unwrap_or(b',')
}

fn read_csv(text: &str, max_rows: usize) -> Result<Table, SheetError> {
    let bytes = text.as_bytes();
    // A file of n line breaks holds at most n + 1 records (the last line may
    // have none); only past the limit are quotes counted to be sure.
    let lines = line_breaks(bytes);
    if lines > max_rows && count_records(bytes) > max_rows + 1 {
        return Err(SheetError::TooManyRows { limit: max_rows });
    }
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(delimiter(text))
        .from_reader(bytes);
    let mut records = Vec::new();
    // The line each record starts on, counted from its byte offset (blank lines
    // count, as in Excel; the parser's own line count misreads CRLF).
    let (mut line, mut counted) = (1, 0);
    for record in reader.records() {
        let record = record.map_err(|e| SheetError::Unreadable(e.to_string()))?;
        // Whatever the count above missed, the limit holds before a record
        // past it is kept.
        if records.len() > max_rows {
            return Err(SheetError::TooManyRows { limit: max_rows });
        }
        let start = record.position().map_or(counted, |p| p.byte() as usize);
        // The position may point at the line break that ended the last record.
        let start = start
            + bytes[start.min(bytes.len())..]
                .iter()
                .take_while(|b| matches!(b, b'\r' | b'\n'))
                .count();
        line += line_breaks(&bytes[counted..start.max(counted)]);
        counted = start.max(counted);
        let cells = record
            .iter()
            .take(MAX_COLUMNS)
            .map(clean)
            .collect::<Vec<_>>();
        records.push((line, cells));
    }
    table(records)
}

/// Line breaks as the CSV parser reads them: LF, CRLF, and a CR alone (an
/// old Mac export, or a file made to slip past a count of LFs).
fn line_breaks(bytes: &[u8]) -> usize {
    bytes
        .iter()
        .enumerate()
        .filter(|&(i, b)| *b == b'\n' || (*b == b'\r' && bytes.get(i + 1) != Some(&b'\n')))
        .count()
}

/// Records as the CSV parser will see them (quoted line breaks do not count),
/// without building any cell.
fn count_records(bytes: &[u8]) -> usize {
    let mut quoted = false;
    let mut records = 0;
    let mut open = false;
    for (i, &b) in bytes.iter().enumerate() {
        let lone_cr = b == b'\r' && bytes.get(i + 1) != Some(&b'\n');
        match b {
            b'"' => quoted = !quoted,
            _ if (b == b'\n' || lone_cr) && !quoted => {
                records += 1;
                open = false;
                continue;
            }
            _ => {}
        }
        open = true;
    }
    records + usize::from(open)
}

/// Reads every sheet of an XLSX workbook, in the workbook's order, with its
/// name; a sheet with no text is left out. The same limits as [`read`], each
/// sheet's rows counted before its cells are read.
pub fn read_workbook(
    bytes: &[u8],
    max_bytes: usize,
    max_expanded: usize,
    max_rows: usize,
) -> Result<Vec<(String, Table)>, SheetError> {
    use calamine::{Reader, Xlsx};
    if bytes.len() > max_bytes {
        return Err(SheetError::TooLarge { limit: max_bytes });
    }
    if !bytes.starts_with(b"PK\x03\x04") {
        return Err(SheetError::Unreadable("not an XLSX workbook".into()));
    }
    expanded_within(bytes, max_expanded)?;
    let mut book: Xlsx<_> = Xlsx::new(Cursor::new(bytes))
        .map_err(|e: calamine::XlsxError| SheetError::Unreadable(e.to_string()))?;
    let mut sheets = Vec::new();
    for name in book.sheet_names() {
        match read_sheet(&mut book, &name, max_rows) {
            Ok(table) => sheets.push((name, table)),
            Err(SheetError::Empty) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(sheets)
}

fn read_xlsx(bytes: &[u8], max_rows: usize) -> Result<Table, SheetError> {
    use calamine::{Reader, Xlsx};
    let unreadable = |e: calamine::XlsxError| SheetError::Unreadable(e.to_string());
    let mut book: Xlsx<_> = Xlsx::new(Cursor::new(bytes)).map_err(unreadable)?;
    // The first sheet a person sees: a hidden lookup sheet (lists for a
    // drop-down) often comes first in a workbook made from a template.
    let sheets = book.sheets_metadata();
    let name = sheets
        .iter()
        .find(|s| {
            s.visible == calamine::SheetVisible::Visible && s.typ == calamine::SheetType::WorkSheet
        })
        .or_else(|| sheets.first())
        .map(|s| s.name.clone())
        .ok_or(SheetError::Empty)?;
    read_sheet(&mut book, &name, max_rows)
}

fn read_sheet(
    book: &mut calamine::Xlsx<Cursor<&[u8]>>,
    name: &str,
    max_rows: usize,
) -> Result<Table, SheetError> {
    let unreadable = |e: calamine::XlsxError| SheetError::Unreadable(e.to_string());
    let mut cells = book.worksheet_cells_reader(name).map_err(unreadable)?;
    let dims = cells.dimensions();
    if dims.end.0 as usize > max_rows + dims.start.0 as usize {
        return Err(SheetError::TooManyRows { limit: max_rows });
    }
    let mut grid: Vec<(usize, Vec<String>)> = Vec::new();
    while let Some(cell) = cells.next_cell().map_err(unreadable)? {
        let (row, col) = cell.get_position();
        let (row, col) = (row as usize + 1, col as usize);
        if col >= MAX_COLUMNS {
            continue;
        }
        // A sheet whose declared dimensions understate its cells is cut off here.
        if grid.len() > max_rows + 1 || row > max_rows + 1 + dims.start.0 as usize {
            return Err(SheetError::TooManyRows { limit: max_rows });
        }
        let text = cell_text(cell.get_value());
        if text.is_empty() {
            continue;
        }
        if grid.last().map(|(r, _)| *r) != Some(row) {
            grid.push((row, Vec::new()));
        }
        let cells = &mut grid.last_mut().expect("pushed above").1;
        if cells.len() <= col {
            cells.resize(col + 1, String::new());
        }
        cells[col] = text;
    }
    table(grid)
}

fn cell_text(value: &calamine::DataRef<'_>) -> String {
    use calamine::DataRef;
    match value {
        DataRef::Empty => String::new(),
        DataRef::String(s) => clean(s),
        DataRef::SharedString(s) => clean(s),
        DataRef::Int(i) => i.to_string(),
        // Codes and amounts typed as numbers: 7210.0 is "7210" (a lost leading
        // zero is the checker's business, with the row named).
        DataRef::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", *f as i64),
        DataRef::Float(f) => f.to_string(),
        DataRef::Bool(b) => if *b { "TRUE" } else { "FALSE" }.to_string(),
        DataRef::DateTime(d) => d.as_f64().to_string(),
        DataRef::DateTimeIso(s) | DataRef::DurationIso(s) => clean(s),
        DataRef::Error(e) => format!("#{e:?}"),
    }
}

/// Trimmed, NFC-normalised text (Vietnamese typed on Windows is often NFD).
fn clean(s: &str) -> String {
    use unicode_normalization::UnicodeNormalization;
    s.trim().nfc().collect()
}

/// The first row with any text is the header; empty rows after it are skipped.
fn table(records: Vec<(usize, Vec<String>)>) -> Result<Table, SheetError> {
    let mut rows = records
        .into_iter()
        .filter(|(_, cells)| cells.iter().any(|c| !c.is_empty()));
    let (_, header) = rows.next().ok_or(SheetError::Empty)?;
    Ok(Table {
        header,
        rows: rows.map(|(number, cells)| Row { number, cells }).collect(),
    })
}

#[cfg(test)]
#[path = "sheet_tests.rs"]
mod tests;
