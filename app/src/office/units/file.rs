//! Checks a unit tree file (`code,name,kind,level,parent_code`) and a mapping file
//! between two trees (`old_code,new_code`), as tables read by `office::sheet`.
//! A file is taken whole or refused whole: every problem is listed with its row
//! and column, so a clerk can fix them all in one pass.

use super::super::sheet::{Row, Table};
use crate::error::RowProblem;
use crate::model::{AdminUnit, UnitLevel};
use crate::search::fold;
use std::collections::{HashMap, HashSet};

/// Data rows per unit file: a whole country's 2020 tree has about 11,300 units.
pub const MAX_UNIT_ROWS: usize = 20_000;
/// Bytes per unit file, checked before it is read.
pub const MAX_UNIT_FILE_BYTES: usize = 5 * 1024 * 1024;

/// Column names as files write them: the English header, or Vietnamese ones
/// (compared without diacritics, case, spaces or underscores).
const TREE_COLUMNS: [(&str, &[&str]); 5] = [
    ("code", &["code", "ma", "ma don vi", "ma dvhc"]),
    ("name", &["name", "ten", "ten don vi", "ten dvhc"]),
    ("kind", &["kind", "loai", "loai hinh", "loai don vi"]),
    ("level", &["level", "cap", "cap hanh chinh"]),
    (
        "parent_code",
        &[
            "parent_code",
            "parent",
            "ma cap tren",
            "ma don vi cap tren",
            "ma cha",
        ],
    ),
];

const MAPPING_COLUMNS: [(&str, &[&str]); 2] = [
    (
        "old_code",
        &["old_code", "ma cu", "ma don vi cu", "ma dvhc cu"],
    ),
    (
        "new_code",
        &["new_code", "ma moi", "ma don vi moi", "ma dvhc moi"],
    ),
];

fn key(header: &str) -> String {
    fold(header)
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '_')
        .collect()
}

/// The position of each wanted column, or a problem for each that is missing.
fn columns<const N: usize>(
    table: &Table,
    wanted: &[(&'static str, &[&str]); N],
    optional: &[&str],
    problems: &mut Vec<RowProblem>,
) -> Option<[Option<usize>; N]> {
    let found: Vec<String> = table.header.iter().map(|h| key(h)).collect();
    let mut out = [None; N];
    for (i, (name, aliases)) in wanted.iter().enumerate() {
        out[i] = found
            .iter()
            .position(|h| aliases.iter().any(|a| key(a) == *h));
        if out[i].is_none() && !optional.contains(name) {
            problems.push(RowProblem::new(1, None, "units.missing_column").with("column", *name));
        }
    }
    problems.is_empty().then_some(out)
}

/// Names each problem's column as the file's header writes it ("Mã cấp trên",
/// not `parent_code`), so the clerk finds it in their sheet.
fn as_written<const N: usize>(
    mut problems: Vec<RowProblem>,
    table: &Table,
    wanted: &[(&'static str, &[&str]); N],
    at: &[Option<usize>; N],
) -> Vec<RowProblem> {
    for p in &mut problems {
        let written = wanted
            .iter()
            .zip(at)
            .find(|((key, _), _)| Some(*key) == p.column.as_deref())
            .and_then(|(_, pos)| pos.and_then(|i| table.header.get(i)));
        if let Some(header) = written {
            p.column = Some(header.clone());
        }
    }
    problems
}

/// A level as written, also as the kind of unit the statistics office's lists
/// put in that column: a city is a province (Hà Nội) or, under one, a district
/// (Thành phố Bắc Giang); wards and towns are communes.
fn parse_level(text: &str, has_parent: bool) -> Option<UnitLevel> {
    match key(text).trim_start_matches("cap") {
        "thanhpho" if has_parent => Some(UnitLevel::District),
        "province" | "tinh" | "thanhpho" | "tinhthanhpho" => Some(UnitLevel::Province),
        "district" | "huyen" | "quanhuyen" | "quan" | "thixa" => Some(UnitLevel::District),
        "commune" | "xa" | "phuongxa" | "xaphuong" | "phuong" | "thitran" => {
            Some(UnitLevel::Commune)
        }
        _ => None,
    }
}

/// The digits of the statistics office's codes at each level (24, 213,
/// 07210): a shorter all-digit code is one a spreadsheet read as a number,
/// its leading zero gone, and would never match the official mapping.
fn code_width(level: UnitLevel) -> usize {
    match level {
        UnitLevel::Province => 2,
        UnitLevel::District => 3,
        UnitLevel::Commune => 5,
    }
}

/// The longest unit name or kind: "Thành phố Bắc Giang" needs 19, the
/// longest real ones about 40.
pub const MAX_NAME_CHARS: usize = 200;

fn good_code(code: &str) -> bool {
    !code.is_empty() && code.len() <= 16 && code.chars().all(|c| c.is_ascii_alphanumeric())
}

/// Which levels may sit under which: a commune under a district (2020) or
/// directly under a province (2025, no district level).
fn fits(child: UnitLevel, parent: UnitLevel) -> bool {
    matches!(
        (child, parent),
        (UnitLevel::District, UnitLevel::Province)
            | (UnitLevel::Commune, UnitLevel::District)
            | (UnitLevel::Commune, UnitLevel::Province)
    )
}

/// The units of a tree file, parents before children, or every problem in it.
pub fn check_tree(table: &Table) -> Result<Vec<AdminUnit>, Vec<RowProblem>> {
    let mut problems = Vec::new();
    let Some(positions) = columns(table, &TREE_COLUMNS, &[], &mut problems) else {
        return Err(problems);
    };
    let [code_at, name_at, kind_at, level_at, parent_at] = positions;
    let at = |row: &Row, col: Option<usize>| row.cell(col.expect("checked")).to_string();
    let mut units: Vec<(usize, AdminUnit)> = Vec::new();
    let mut first_row: HashMap<String, usize> = HashMap::new();
    for row in &table.rows {
        let code = at(row, code_at);
        let name = at(row, name_at);
        let kind = at(row, kind_at);
        let level_text = at(row, level_at);
        let parent = at(row, parent_at);
        let problem = |column: &str, code: &str| RowProblem::new(row.number, Some(column), code);
        if code.is_empty() {
            problems.push(problem("code", "units.empty"));
        } else if !good_code(&code) {
            problems.push(problem("code", "units.bad_code").with("value", code.clone()));
        } else if let Some(first) = first_row.get(&code) {
            problems.push(
                problem("code", "units.duplicate_code")
                    .with("value", code.clone())
                    .with("first_row", *first),
            );
        } else {
            first_row.insert(code.clone(), row.number);
        }
        if name.is_empty() {
            problems.push(problem("name", "units.empty"));
        }
        if kind.is_empty() {
            problems.push(problem("kind", "units.empty"));
        }
        // A name is printed in every export's place columns: one longer than
        // a spreadsheet cell (32,767) made every visit and plan export fail.
        for (column, text) in [("name", &name), ("kind", &kind)] {
            if text.chars().count() > MAX_NAME_CHARS {
                problems.push(problem(column, "units.too_long").with("max", MAX_NAME_CHARS));
            }
        }
        let level = parse_level(&level_text, !parent.is_empty());
        match level {
            None => problems.push(problem("level", "units.bad_level").with("value", level_text)),
            Some(level)
                if good_code(&code)
                    && code.chars().all(|c| c.is_ascii_digit())
                    && code.len() < code_width(level) =>
            {
                problems.push(
                    problem("code", "units.short_code")
                        .with("value", code.clone())
                        .with("width", code_width(level)),
                );
            }
            Some(_) => {}
        }
        if !parent.is_empty() && !good_code(&parent) {
            problems.push(problem("parent_code", "units.bad_code").with("value", parent.clone()));
        }
        units.push((
            row.number,
            AdminUnit {
                tree: String::new(),
                code,
                name,
                kind,
                level: level.unwrap_or(UnitLevel::Commune),
                parent: (!parent.is_empty()).then_some(parent),
            },
        ));
    }
    let by_code: HashMap<&str, &AdminUnit> = units
        .iter()
        .rev() // the first row of a duplicate code wins, as reported above
        .map(|(_, u)| (u.code.as_str(), u))
        .collect();
    // Levels that did not parse were reported; they take part in no other check.
    let level_known: HashSet<&str> = units
        .iter()
        .zip(&table.rows)
        .filter(|((_, u), r)| {
            parse_level(r.cell(level_at.expect("checked")), u.parent.is_some()).is_some()
        })
        .map(|((_, u), _)| u.code.as_str())
        .collect();
    for (row, unit) in &units {
        let known = level_known.contains(unit.code.as_str());
        match unit.parent.as_deref() {
            None if known && unit.level != UnitLevel::Province => problems.push(
                RowProblem::new(*row, Some("parent_code"), "units.missing_parent")
                    .with("level", unit.level.as_str()),
            ),
            None => {}
            Some(parent) => match by_code.get(parent) {
                None => problems.push(
                    RowProblem::new(*row, Some("parent_code"), "units.unknown_parent")
                        .with("value", parent),
                ),
                Some(p) if known && level_known.contains(parent) && !fits(unit.level, p.level) => {
                    problems.push(
                        RowProblem::new(*row, Some("level"), "units.level_mismatch")
                            .with("level", unit.level.as_str())
                            .with("parent", parent)
                            .with("parent_level", p.level.as_str()),
                    )
                }
                Some(_) => {}
            },
        }
    }
    // Cycles: a walk up from each unit not yet cleared, stopping at a unit an
    // earlier walk cleared. Each unit is walked over once, so a file shaped
    // as one long chain costs its length, not its length cubed.
    let row_of: HashMap<&str, usize> = units.iter().map(|(r, u)| (u.code.as_str(), *r)).collect();
    let mut cleared: HashSet<&str> = HashSet::new();
    for (row, unit) in &units {
        let mut path: Vec<&str> = Vec::new();
        let mut on_path: HashMap<&str, usize> = HashMap::new();
        let mut cursor = Some(unit.code.as_str());
        while let Some(code) = cursor {
            if cleared.contains(code) {
                break;
            }
            if let Some(&at) = on_path.get(code) {
                let cycle = &path[at..];
                problems.push(
                    RowProblem::new(
                        row_of.get(code).copied().unwrap_or(*row),
                        Some("parent_code"),
                        "units.cycle",
                    )
                    .with("codes", cycle.join(" → ")),
                );
                break;
            }
            on_path.insert(code, path.len());
            path.push(code);
            cursor = by_code.get(code).and_then(|u| u.parent.as_deref());
        }
        cleared.extend(path);
    }
    if table.rows.is_empty() {
        problems.push(RowProblem::new(1, None, "units.no_rows"));
    }
    if !problems.is_empty() {
        problems.sort_by_key(|p| p.row);
        return Err(as_written(problems, table, &TREE_COLUMNS, &positions));
    }
    // Parents first: depth from the root, then the file's order. Each depth
    // is worked out once, from the nearest ancestor whose depth is known.
    let mut depth: HashMap<&str, usize> = HashMap::with_capacity(by_code.len());
    for code in by_code.keys() {
        let mut path = Vec::new();
        let mut cursor = Some(*code);
        let mut base = 0;
        while let Some(c) = cursor {
            if let Some(d) = depth.get(c) {
                base = d + 1;
                break;
            }
            path.push(c);
            cursor = by_code[c].parent.as_deref();
        }
        for (i, c) in path.iter().rev().enumerate() {
            depth.insert(c, base + i);
        }
    }
    let mut order: Vec<(usize, usize)> = units
        .iter()
        .enumerate()
        .map(|(i, (_, u))| (depth[u.code.as_str()], i))
        .collect();
    order.sort();
    drop(depth);
    drop(by_code);
    drop(level_known);
    let mut slots: Vec<Option<AdminUnit>> = units.into_iter().map(|(_, u)| Some(u)).collect();
    Ok(order
        .into_iter()
        .map(|(_, i)| slots[i].take().expect("each index once"))
        .collect())
}

/// The pairs of a mapping file from the `old` tree's codes to the `new` tree's,
/// or every problem in it. The same old code may map to several new ones (a
/// commune split between two) and several old codes to one (a merger).
pub fn check_mapping(
    table: &Table,
    old: &HashSet<String>,
    new: &HashSet<String>,
) -> Result<Vec<(String, String)>, Vec<RowProblem>> {
    let mut problems = Vec::new();
    let Some(positions) = columns(table, &MAPPING_COLUMNS, &[], &mut problems) else {
        return Err(problems);
    };
    let [old_at, new_at] = positions;
    let mut pairs = Vec::new();
    let mut first_row: HashMap<(String, String), usize> = HashMap::new();
    for row in &table.rows {
        let from = row.cell(old_at.expect("checked")).to_string();
        let to = row.cell(new_at.expect("checked")).to_string();
        for (column, code, tree) in [("old_code", &from, old), ("new_code", &to, new)] {
            if code.is_empty() {
                problems.push(RowProblem::new(row.number, Some(column), "units.empty"));
            } else if !tree.contains(code.as_str()) {
                problems.push(
                    RowProblem::new(row.number, Some(column), "units.mapping_unknown_code")
                        .with("value", code.clone()),
                );
            }
        }
        if let Some(first) = first_row.get(&(from.clone(), to.clone())) {
            problems.push(
                RowProblem::new(row.number, Some("old_code"), "units.duplicate_pair")
                    .with("first_row", *first),
            );
        } else {
            first_row.insert((from.clone(), to.clone()), row.number);
        }
        pairs.push((from, to));
    }
    if table.rows.is_empty() {
        problems.push(RowProblem::new(1, None, "units.no_rows"));
    }
    if problems.is_empty() {
        Ok(pairs)
    } else {
        Err(as_written(problems, table, &MAPPING_COLUMNS, &positions))
    }
}

#[cfg(test)]
#[path = "file_tests.rs"]
mod tests;
