//! The workbook as three sheets of named columns. Column headings are read as
//! pyxform reads them: case does not matter, `list name` is `list_name`, and a
//! `::` suffix names a language (`label::English (en)`).

use super::{Place, Problem};
use crate::i18n::Lang;
use crate::office::sheet::{self, SheetError, Table};

/// A column heading split into its name and language.
#[derive(Debug, Clone, PartialEq)]
pub struct Column {
    /// Lower case, spaces as underscores: `label`, `list_name`, `bind::khaosat:money`.
    pub name: String,
    /// The `::` part, when it names a language.
    pub lang: Option<Language>,
    /// The heading as written, with its letter: `label::English (en) (C)`.
    pub shown: String,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Language {
    Known(Lang),
    /// A language khaosat does not show (its text would never be seen).
    Other(String),
}

/// One sheet: its columns and data rows.
#[derive(Debug, Clone)]
pub struct Sheet {
    pub name: &'static str,
    pub columns: Vec<Column>,
    pub table: Table,
}

impl Sheet {
    /// The cell of `row` under the column named `name` in `lang` (`None`: the
    /// column without a language).
    pub fn cell<'a>(&self, row: &'a sheet::Row, name: &str, lang: Option<Lang>) -> &'a str {
        self.columns
            .iter()
            .position(|c| c.name == name && c.lang == lang.map(Language::Known))
            .map(|i| row.cell(i))
            .unwrap_or("")
    }

    /// Where a cell is, for a problem.
    pub fn at(&self, row: usize, name: Option<&str>) -> Place {
        Place {
            sheet: self.name,
            row,
            column: name.and_then(|n| {
                self.columns
                    .iter()
                    .find(|c| c.name == n)
                    .map(|c| c.shown.clone())
                    .or_else(|| Some(n.to_string()))
            }),
        }
    }

    /// Columns present, by index, for a scan of what a row uses.
    pub fn filled<'a>(
        &'a self,
        row: &'a sheet::Row,
    ) -> impl Iterator<Item = (&'a Column, &'a str)> {
        self.columns
            .iter()
            .enumerate()
            .map(move |(i, c)| (c, row.cell(i)))
            .filter(|(_, v)| !v.is_empty())
    }
}

/// The three sheets of an XLSForm.
#[derive(Debug, Clone)]
pub struct Book {
    pub survey: Sheet,
    pub choices: Option<Sheet>,
    pub settings: Option<Sheet>,
}

/// Columns whose text comes in languages (`label::English (en)`).
const TRANSLATED: &[&str] = &[
    "label",
    "hint",
    "required_message",
    "constraint_message",
    "form_title",
    "guidance_hint",
];

fn letter(mut index: usize) -> String {
    let mut out = Vec::new();
    loop {
        out.push(b'A' + (index % 26) as u8);
        if index < 26 {
            break;
        }
        index = index / 26 - 1;
    }
    out.reverse();
    String::from_utf8(out).unwrap_or_default()
}

pub fn language(text: &str) -> Language {
    let lower = text.trim().to_lowercase();
    let code = lower
        .rsplit_once('(')
        .and_then(|(_, rest)| rest.strip_suffix(')'))
        .map(str::trim)
        .unwrap_or(lower.as_str());
    match code {
        "vi" | "vie" => Language::Known(Lang::Vi),
        "en" | "eng" => Language::Known(Lang::En),
        _ if lower.contains("việt") || lower.contains("viet") => Language::Known(Lang::Vi),
        _ if lower.starts_with("english") => Language::Known(Lang::En),
        _ => Language::Other(text.trim().to_string()),
    }
}

fn column(heading: &str, index: usize) -> Column {
    let (name, lang) = match heading.split_once("::") {
        // Only texts take a language; `bind::khaosat:money` or `media::image`
        // is a column name of its own.
        Some((base, rest)) if TRANSLATED.contains(&base.trim().to_lowercase().as_str()) => {
            (base.to_string(), Some(language(rest)))
        }
        _ => (heading.to_string(), None),
    };
    let name = name.trim().to_lowercase();
    // `list name` is `list_name`; a namespaced name keeps its own spelling.
    let name = if name.contains("::") {
        name
    } else {
        name.replace(' ', "_")
    };
    Column {
        name,
        lang,
        shown: format!("{heading} ({})", letter(index)),
    }
}

fn sheet_problem(e: SheetError) -> Problem {
    let limit = |n: usize| n.to_string();
    // The byte limits are whole mebibytes; a person reads "20 MB".
    let mb = |n: usize| (n / (1024 * 1024)).to_string();
    let file = Place::file();
    match e {
        SheetError::TooLarge { limit: n } => {
            file.problem("xlsform.too_large", &[("limit", &mb(n))])
        }
        SheetError::TooManyRows { limit: n } => {
            file.problem("xlsform.too_many_rows", &[("limit", &limit(n))])
        }
        SheetError::Expands { limit: n } => file.problem("xlsform.expands", &[("limit", &mb(n))]),
        other => file.problem("xlsform.unreadable", &[("detail", &other.to_string())]),
    }
}

/// Reads the workbook; a file that is no XLSX, or has no `survey` sheet, is one
/// problem.
pub fn workbook(bytes: &[u8]) -> Result<Book, Vec<Problem>> {
    let sheets = sheet::read_workbook(
        bytes,
        super::MAX_XLSFORM_BYTES,
        super::MAX_XLSFORM_EXPANDED,
        super::MAX_XLSFORM_ROWS,
    )
    .map_err(|e| vec![sheet_problem(e)])?;
    let mut survey = None;
    let mut choices = None;
    let mut settings = None;
    for (name, table) in sheets {
        let slot = match name.trim().to_lowercase().as_str() {
            "survey" => (&mut survey, "survey"),
            "choices" => (&mut choices, "choices"),
            "settings" => (&mut settings, "settings"),
            // Other sheets (Kobo's "external_choices", notes to the author) are
            // not part of the form.
            _ => continue,
        };
        let columns = table
            .header
            .iter()
            .enumerate()
            .map(|(i, h)| column(h, i))
            .collect();
        *slot.0 = Some(Sheet {
            name: slot.1,
            columns,
            table,
        });
    }
    let survey = survey.ok_or_else(|| vec![Place::file().problem("xlsform.no_survey", &[])])?;
    Ok(Book {
        survey,
        choices,
        settings,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headings_name_their_language_by_code_or_name() {
        let c = column("label::Tiếng Việt (vi)", 2);
        assert_eq!(
            (c.name.as_str(), c.lang.clone()),
            ("label", Some(Language::Known(Lang::Vi)))
        );
        assert_eq!(c.shown, "label::Tiếng Việt (vi) (C)");
        assert_eq!(
            column("Label::English", 0).lang,
            Some(Language::Known(Lang::En))
        );
        assert_eq!(column("list name", 0).name, "list_name");
        assert_eq!(
            column("hint::Français (fr)", 0).lang,
            Some(Language::Other("Français (fr)".into()))
        );
        let bind = column("bind::khaosat:money", 0);
        assert_eq!(
            (bind.name.as_str(), bind.lang),
            ("bind::khaosat:money", None)
        );
        assert_eq!(letter(27), "AB");
    }
}
