//! Loading a tree or a mapping file: read it, check every row, and store all of
//! it or nothing. The command line and the administrator's screen both come
//! here, so a file is judged the same wherever it is loaded.

use super::file::{check_mapping, check_tree, MAX_UNIT_FILE_BYTES, MAX_UNIT_ROWS};
use crate::error::{AppError, RowProblem};
use crate::office::sheet::{self, Legacy, SheetError};
use crate::store::{units, Db};
use std::collections::HashSet;

/// Why nothing was stored.
#[derive(Debug)]
pub enum ImportError {
    /// The file (or the tree it names) has problems, each by row and column;
    /// row 0 is the file as a whole.
    Refused(Vec<RowProblem>),
    Failed(AppError),
}

impl From<AppError> for ImportError {
    fn from(e: AppError) -> Self {
        ImportError::Failed(e)
    }
}

/// What a load did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Loaded {
    pub rows: usize,
}

fn whole_file(code: &str) -> RowProblem {
    RowProblem::new(0, None, code)
}

fn sheet_problem(e: SheetError) -> RowProblem {
    match e {
        SheetError::TooLarge { limit } => whole_file("units.too_large").with("limit", limit),
        SheetError::TooManyRows { limit } => whole_file("units.too_many_rows").with("limit", limit),
        SheetError::NotUtf8 { row } | SheetError::NotText { row } => {
            RowProblem::new(row, None, "units.not_utf8").with("row", row)
        }
        SheetError::Empty => whole_file("units.no_rows"),
        SheetError::Unreadable(detail) => whole_file("units.unreadable").with("detail", detail),
        SheetError::Expands { limit } => whole_file("units.expands").with("limit", limit),
    }
}

fn read(bytes: &[u8]) -> Result<sheet::Table, ImportError> {
    sheet::read(bytes, MAX_UNIT_FILE_BYTES, MAX_UNIT_ROWS, Legacy::None)
        .map_err(|e| ImportError::Refused(vec![sheet_problem(e)]))
}

/// Reads and checks a unit file on the spreadsheet readers' pool: an XLSX
/// inflated and every row's parent walked is CPU work.
async fn off_the_workers<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, ImportError> + Send + 'static,
) -> Result<T, ImportError> {
    sheet::off_the_workers("unit file import", work).await?
}

/// A calendar date written YYYY-MM-DD.
fn good_date(text: &str) -> bool {
    let parts: Vec<&str> = text.split('-').collect();
    let [y, m, d] = parts.as_slice() else {
        return false;
    };
    let num = |s: &str, len: usize| {
        (s.len() == len && s.bytes().all(|b| b.is_ascii_digit()))
            .then(|| s.parse::<u32>().ok())
            .flatten()
    };
    match (num(y, 4), num(m, 2), num(d, 2)) {
        (Some(y), Some(m), Some(d)) => {
            let days = match m {
                1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
                4 | 6 | 9 | 11 => 30,
                2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
                2 => 28,
                _ => 0,
            };
            y >= 1900 && (1..=days).contains(&d)
        }
        _ => false,
    }
}

/// Loads tree `tree` from a CSV or XLSX file. A tree already stored may gain
/// units and have them renamed, but none may vanish or move: the records
/// under them keep their meaning.
pub async fn import_tree(
    db: &Db,
    tree: &str,
    effective_from: &str,
    bytes: &[u8],
) -> Result<Loaded, ImportError> {
    let mut problems = Vec::new();
    if !units::good_tree_name(tree) {
        problems.push(whole_file("units.bad_tree_name").with("value", tree));
    }
    if !good_date(effective_from) {
        problems.push(whole_file("units.bad_effective_from").with("value", effective_from));
    }
    if !problems.is_empty() {
        return Err(ImportError::Refused(problems));
    }
    let owned = bytes.to_vec();
    let (table, found) = off_the_workers(move || {
        let table = read(&owned)?;
        let found = check_tree(&table).map_err(ImportError::Refused)?;
        Ok((table, found))
    })
    .await?;
    let row_of = |code: &str| {
        table
            .rows
            .iter()
            .find(|r| r.cells.iter().any(|c| c == code))
            .map_or(0, |r| r.number)
    };
    let conflicts = units::conflicts_with_stored(db, tree, &found).await?;
    if !conflicts.is_empty() {
        return Err(ImportError::Refused(
            conflicts
                .into_iter()
                .map(|(code, problem)| {
                    RowProblem::new(row_of(&code), None, problem)
                        .with("value", code)
                        .with("tree", tree)
                })
                .collect(),
        ));
    }
    let rows = units::load(db, tree, effective_from, None, &found).await?;
    Ok(Loaded { rows })
}

/// Loads the mapping from tree `old` to tree `new` (both loaded) from a CSV or
/// XLSX file of `old_code,new_code`, replacing the one stored.
pub async fn import_mapping(
    db: &Db,
    old: &str,
    new: &str,
    bytes: &[u8],
) -> Result<Loaded, ImportError> {
    let stored: HashSet<String> = units::trees(db)
        .await?
        .into_iter()
        .map(|t| t.name)
        .collect();
    let mut problems = Vec::new();
    for name in [old, new] {
        if !stored.contains(name) {
            problems.push(whole_file("units.unknown_tree").with("value", name));
        }
    }
    if old == new {
        problems.push(whole_file("units.same_tree").with("value", old));
    }
    if !problems.is_empty() {
        return Err(ImportError::Refused(problems));
    }
    let owned = bytes.to_vec();
    let table = off_the_workers(move || read(&owned)).await?;
    let codes = |units: Vec<crate::model::AdminUnit>| -> HashSet<String> {
        units.into_iter().map(|u| u.code).collect()
    };
    let old_codes = codes(units::in_tree(db, old).await?);
    let new_codes = codes(units::in_tree(db, new).await?);
    let pairs = check_mapping(&table, &old_codes, &new_codes).map_err(ImportError::Refused)?;
    units::load_mapping(db, old, new, &pairs).await?;
    Ok(Loaded { rows: pairs.len() })
}

#[cfg(test)]
mod tests {
    use super::good_date;

    #[test]
    fn effective_dates_are_real_calendar_days() {
        for ok in ["2025-07-01", "2020-01-01", "2024-02-29"] {
            assert!(good_date(ok), "{ok}");
        }
        for bad in [
            "2025-7-1",
            "2025-02-29",
            "2025-13-01",
            "01/07/2025",
            "",
            "2025-06-31",
        ] {
            assert!(!good_date(bad), "{bad}");
        }
    }
}
