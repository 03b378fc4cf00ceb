//! XLSForm in and out: the spreadsheet format of ODK, KoboToolbox and
//! SurveyCTO (`survey`, `choices`, `settings` sheets) converted to khaosat's
//! form definition and back. Server only: nothing here reaches a phone.
//!
//! Import is strict in one direction: a construct is taken only when the phone
//! will do with it exactly what an ODK phone would; anything else is refused
//! with its sheet, row and column and what to write instead, every problem of
//! the file at once. Export writes a workbook that imports to the identical
//! definition. The mapping, column by column, is in the README ("Forms in a
//! spreadsheet").

mod constraint;
mod convert;
mod messages;
mod question;
mod read;
mod write;
mod xpath;

#[cfg(test)]
mod tests;

use std::collections::BTreeMap;

pub use write::export;

/// Largest workbook accepted (a form of a thousand questions is ~150 KB).
pub const MAX_XLSFORM_BYTES: usize = 2 * 1024 * 1024;
/// Most bytes the workbook's members may inflate to, all together: a form's
/// XML is a few hundred KB, a ZIP bomb disguised as XLSX is gigabytes.
pub const MAX_XLSFORM_EXPANDED: usize = 20 * 1024 * 1024;
/// Rows per sheet read at most.
pub const MAX_XLSFORM_ROWS: usize = 5_000;

pub use crate::office::admin::contract::{XlsformImport as Imported, XlsformProblem as Problem};

/// Something in the file that khaosat does not need and left out, said so
/// that nobody wonders (metadata questions such as `start`, `deviceid`).
pub type Note = Problem;

/// Where a problem is; built by the readers, worded by `messages`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Place {
    pub sheet: &'static str,
    pub row: usize,
    pub column: Option<String>,
}

impl Place {
    pub fn file() -> Self {
        Place {
            sheet: "",
            row: 0,
            column: None,
        }
    }

    pub fn problem(&self, code: &str, params: &[(&str, &str)]) -> Problem {
        let params: BTreeMap<&str, &str> = params.iter().copied().collect();
        Problem {
            sheet: self.sheet.to_string(),
            row: self.row,
            column: self.column.clone(),
            code: code.to_string(),
            message: messages::text(code, &params),
        }
    }
}

/// Reads an XLSForm workbook. `next_version` gives the version a form without
/// `settings.version` gets (the published one plus one). Every problem is
/// returned at once; nothing is returned in part.
pub fn import(bytes: &[u8], next_version: impl Fn(&str) -> i32) -> Result<Imported, Vec<Problem>> {
    let book = read::workbook(bytes)?;
    convert::definition(&book, next_version)
}

/// Problems as one line each, for the command line.
pub fn lines(problems: &[Problem], lang: crate::i18n::Lang) -> Vec<String> {
    problems
        .iter()
        .map(|p| {
            let place = match (p.sheet.as_str(), p.row, &p.column) {
                ("", _, _) | (_, 0, _) => String::new(),
                (sheet, row, Some(col)) => format!("{sheet}!{row} {col}: "),
                (sheet, row, None) => format!("{sheet}!{row}: "),
            };
            format!("{place}{}", p.message.get(lang))
        })
        .collect()
}
