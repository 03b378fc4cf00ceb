//! Where rows go: a CSV file (UTF-8 with a BOM, formula-looking cells
//! neutralised) or an XLSX sheet in constant-memory mode, both on disk.

use super::*;

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
pub(super) fn csv_field(text: &str) -> Cow<'_, str> {
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
                Cell::DateTime(ms) => app::format::datetime_vn(*ms),
            })
            .collect::<Vec<_>>()
            .join(",");
        self.out.write_all(line.as_bytes()).map_err(io_error)?;
        self.out.write_all(b"\r\n").map_err(io_error)
    }
}

/// The most characters a spreadsheet cell holds.
const CELL_CHARS: usize = 32_767;

/// Text cut to what a cell holds, ending in "…": a longer text made the
/// whole export fail. What is stored is checked well under this; this only
/// keeps an older or unforeseen value from failing every export.
pub(super) fn fit_cell(text: &str) -> Cow<'_, str> {
    match text.char_indices().nth(CELL_CHARS - 1) {
        Some((at, _)) if text[at..].chars().count() > 1 => Cow::Owned(format!("{}…", &text[..at])),
        _ => Cow::Borrowed(text),
    }
}

/// One worksheet being written row by row.
pub struct Sheet<'a> {
    sheet: &'a mut Worksheet,
    row: u32,
    header: Format,
    money: Format,
    moment: Format,
}

/// A moment as a spreadsheet's date serial, in Vietnam time (UTC+7, no DST):
/// days since 30 December 1899, the fraction the time of day.
pub(super) fn excel_serial(utc_ms: i64) -> f64 {
    const VIETNAM_MS: i64 = 7 * 3_600_000;
    const UNIX_EPOCH_SERIAL: f64 = 25_569.0;
    (utc_ms + VIETNAM_MS) as f64 / 86_400_000.0 + UNIX_EPOCH_SERIAL
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
                        .write_string(self.row, c, fit_cell(s))
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
                Cell::DateTime(ms) => {
                    self.sheet
                        .write_number_with_format(self.row, c, excel_serial(*ms), &self.moment)
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
        moment: Format::new().set_num_format("dd/mm/yyyy hh:mm"),
    })
}

/// A sheet filled at once by `fill`.
pub(super) fn sheet(
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_text_longer_than_a_cell_is_cut_and_the_sheet_is_written() {
        let long = "Bắc Giang ".repeat(4_000);
        assert_eq!(fit_cell(&long).chars().count(), CELL_CHARS);
        assert!(fit_cell(&long).ends_with('…'));
        let exact = "a".repeat(CELL_CHARS);
        assert_eq!(fit_cell(&exact), exact.as_str());
        let mut book = Workbook::new();
        let mut sheet = open_sheet(&mut book, "x", &[10.0]).unwrap();
        sheet.row(&[Cell::Text("tên".into())]).unwrap();
        sheet.row(&[Cell::Text(long)]).unwrap();
        save(book).unwrap();
    }

    /// The visit list's "received" column was text ("31/12/2025 23:30"):
    /// sorted in a spreadsheet, January came before December, and date
    /// filters did nothing. It is a date serial in Vietnam time now.
    #[test]
    fn a_moment_is_a_date_in_vietnam_time() {
        // 2025-12-31 23:30 in Vietnam is 16:30 UTC; 1 January 2026 is day 46023.
        let ms = 1_767_198_600_000;
        assert_eq!(app::format::datetime_vn(ms), "31/12/2025 23:30");
        assert!((excel_serial(ms) - (46_022.0 + 23.5 / 24.0)).abs() < 1e-9);
        assert_eq!(excel_serial(ms + 1_800_000), 46_023.0);
        let mut csv = Csv::new().unwrap();
        csv.row(&[Cell::DateTime(ms)]).unwrap();
        let mut text = String::new();
        std::io::Read::read_to_string(&mut csv.finish().unwrap(), &mut text).unwrap();
        assert_eq!(text, "\u{feff}31/12/2025 23:30\r\n");
        let mut book = Workbook::new();
        let mut sheet = open_sheet(&mut book, "x", &[10.0]).unwrap();
        sheet.row(&[Cell::Text("nhận lúc".into())]).unwrap();
        sheet.row(&[Cell::DateTime(ms)]).unwrap();
        save(book).unwrap();
    }
}
