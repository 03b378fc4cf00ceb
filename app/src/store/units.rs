//! Administrative units, their trees and the mappings between trees. A unit is
//! (tree, code): codes are reused across trees, and a record keeps the tree it
//! was made under, so loading a new tree changes the meaning of nothing stored.
//! Paths start with the tree ("bac-giang-2020/24/213/07210/"): scopes are
//! prefixes, and one tree's scope never matches another's records. What links
//! the trees is `unit_mappings`; each account's scope (`user_scope`) holds its
//! units' paths and those the mappings join to them.
//!
//! One file (about 755 lines): trees, mappings and the scopes they produce are kept consistent in the same transactions; scopes move to their own module when accounts do.

use super::{changes, col, now_ms, Db, Tx};
use crate::error::AppError;
use crate::model::{unit_key, AdminUnit, UnitLevel};
use serde::Deserialize;
use std::collections::{HashMap, HashSet};

/// The file format of `data/units/*.json` (the built-in tree).
#[derive(Debug, Deserialize)]
pub struct UnitTreeFile {
    pub tree: String,
    pub effective_from: String,
    #[serde(default)]
    pub effective_to: Option<String>,
    pub units: Vec<AdminUnit>,
}

pub use crate::office::units::TreeSummary;

/// Tree names are part of every path and every account's unit keys: lowercase
/// letters, digits and dashes ("bac-ninh-2025"), nothing LIKE treats specially.
pub fn good_tree_name(name: &str) -> bool {
    (1..=40).contains(&name.len())
        && name.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

/// Each unit's path from the root, without the tree ("24/213/07210/"); the
/// units must already be checked (known parents, no cycles).
fn paths(units: &[AdminUnit]) -> Result<HashMap<String, String>, AppError> {
    let parents: HashMap<&str, Option<&str>> = units
        .iter()
        .map(|u| (u.code.as_str(), u.parent.as_deref()))
        .collect();
    let mut out = HashMap::new();
    for unit in units {
        let mut chain = vec![unit.code.as_str()];
        let mut cursor = unit.parent.as_deref();
        while let Some(code) = cursor {
            if chain.contains(&code) || chain.len() > 16 {
                return Err(AppError::Internal(format!(
                    "unit tree has a cycle at {code}"
                )));
            }
            chain.push(code);
            cursor = *parents.get(code).ok_or_else(|| {
                AppError::Internal(format!("unit {} names unknown parent {code}", unit.code))
            })?;
        }
        chain.reverse();
        out.insert(
            unit.code.clone(),
            chain.iter().map(|c| format!("{c}/")).collect(),
        );
    }
    Ok(out)
}

/// What a tree file would change in a tree already stored: stored units may be
/// renamed and new ones added, but none may vanish or move (the records under
/// them keep their paths). Each problem names the unit's code.
pub async fn conflicts_with_stored(
    db: &Db,
    tree: &str,
    units: &[AdminUnit],
) -> Result<Vec<(String, &'static str)>, AppError> {
    let incoming: HashMap<&str, &AdminUnit> = units.iter().map(|u| (u.code.as_str(), u)).collect();
    let mut out = Vec::new();
    for stored in in_tree(db, tree).await? {
        match incoming.get(stored.code.as_str()) {
            None => out.push((stored.code.clone(), "units.removed_from_tree")),
            Some(u) if u.parent != stored.parent || u.level != stored.level => {
                out.push((stored.code.clone(), "units.moved_in_tree"))
            }
            Some(_) => {}
        }
    }
    Ok(out)
}

/// Loads (or extends) a tree in one transaction: its record, every unit, and
/// the scopes that depend on it. The units must be checked.
pub async fn load(
    db: &Db,
    tree: &str,
    effective_from: &str,
    effective_to: Option<&str>,
    units: &[AdminUnit],
) -> Result<usize, AppError> {
    let paths = paths(units)?;
    let mut tx = db.begin_write().await?;
    sqlx::query(
        "INSERT INTO unit_trees (name, effective_from, effective_to, loaded_at) VALUES ($1, $2, $3, $4)
         ON CONFLICT (name) DO UPDATE SET effective_from = excluded.effective_from,
           effective_to = excluded.effective_to, loaded_at = excluded.loaded_at",
    )
    .bind(tree)
    .bind(effective_from)
    .bind(effective_to.map(str::to_string))
    .bind(now_ms())
    .execute(&mut *tx)
    .await?;
    // Parents before children, so the foreign key holds at every insert.
    let mut ordered: Vec<&AdminUnit> = units.iter().collect();
    ordered.sort_by_key(|u| paths[&u.code].len());
    for unit in &ordered {
        upsert(
            &mut tx,
            tree,
            effective_from,
            effective_to,
            unit,
            &paths[&unit.code],
        )
        .await?;
    }
    analyze(&mut tx, "admin_units").await?;
    refresh_scopes(&mut tx, None).await?;
    tx.commit().await?;
    Ok(ordered.len())
}

/// Loads the built-in tree file.
pub async fn load_tree(db: &Db, file: &UnitTreeFile) -> Result<usize, AppError> {
    load(
        db,
        &file.tree,
        &file.effective_from,
        file.effective_to.as_deref(),
        &file.units,
    )
    .await
}

async fn upsert(
    tx: &mut Tx,
    tree: &str,
    effective_from: &str,
    effective_to: Option<&str>,
    unit: &AdminUnit,
    path: &str,
) -> Result<(), AppError> {
    let unit = AdminUnit {
        tree: tree.to_string(),
        ..unit.clone()
    };
    let changed = sqlx::query(
        "INSERT INTO admin_units (tree, code, name, kind, level, parent_code, path, effective_from, effective_to, search)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
         ON CONFLICT (tree, code) DO UPDATE SET name = excluded.name, kind = excluded.kind, level = excluded.level,
           parent_code = excluded.parent_code, path = excluded.path,
           effective_from = excluded.effective_from, effective_to = excluded.effective_to, search = excluded.search
         WHERE admin_units.name <> excluded.name OR admin_units.kind <> excluded.kind
           OR admin_units.level <> excluded.level OR admin_units.path <> excluded.path
           OR admin_units.effective_from <> excluded.effective_from",
    )
    .bind(tree)
    .bind(&unit.code)
    .bind(&unit.name)
    .bind(&unit.kind)
    .bind(unit.level.as_str())
    .bind(unit.parent.clone())
    .bind(format!("{tree}/{path}"))
    .bind(effective_from)
    .bind(effective_to.map(str::to_string))
    .bind(crate::search::fold(&unit.full_name()))
    .execute(&mut **tx)
    .await?
    .rows_affected();
    // Phones hear of a unit only when it is new or changed: reloading the same
    // file sends nothing.
    if changed > 0 {
        changes::append(tx, "unit", &unit.key(), None, None).await?;
    }
    Ok(())
}

/// Replaces the mapping from `old_tree` to `new_tree` with `pairs` (codes
/// already checked against both trees) and widens the scopes it joins. Loading
/// the same pairs again changes nothing.
pub async fn load_mapping(
    db: &Db,
    old_tree: &str,
    new_tree: &str,
    pairs: &[(String, String)],
) -> Result<usize, AppError> {
    let mut tx = db.begin_write().await?;
    sqlx::query("DELETE FROM unit_mappings WHERE old_tree = $1 AND new_tree = $2")
        .bind(old_tree)
        .bind(new_tree)
        .execute(&mut *tx)
        .await?;
    let unique: HashSet<&(String, String)> = pairs.iter().collect();
    for (old, new) in &unique {
        sqlx::query(
            "INSERT INTO unit_mappings (old_tree, old_code, new_tree, new_code) VALUES ($1, $2, $3, $4)",
        )
        .bind(old_tree)
        .bind(old)
        .bind(new_tree)
        .bind(new)
        .execute(&mut *tx)
        .await?;
    }
    analyze(&mut tx, "unit_mappings").await?;
    refresh_scopes(&mut tx, None).await?;
    tx.commit().await?;
    Ok(unique.len())
}

/// Fresh planner statistics for a table a bulk load just filled. PostgreSQL
/// plans the scope joins below from them; without them (autovacuum notices a
/// load only later) it chose nested loops that took 80 ms for 320 units and
/// 30 accounts, 10 ms with them. SQLite plans these joins well without.
async fn analyze(tx: &mut Tx, table: &'static str) -> Result<(), AppError> {
    if super::changes::engine_of(tx) == super::Engine::Postgres {
        sqlx::query(&format!("ANALYZE {table}"))
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

/// Recomputes the scope paths of one account (or of all) from its units and
/// the mappings, and re-announces the facilities and proposals under paths an
/// account gained: a phone's cursor is past them, and it must still receive them.
pub async fn refresh_scopes(tx: &mut Tx, user_id: Option<&str>) -> Result<(), AppError> {
    // One account's refresh reads that account's rows only: with the filter
    // outside the union, creating an account recomputed every account's scope.
    let (stored, wanted) = match user_id {
        Some(_) => (
            "SELECT user_id, path FROM user_scope WHERE user_id = $1".to_string(),
            scope_sql("WHERE uu.user_id = $1"),
        ),
        None => (
            "SELECT user_id, path FROM user_scope".to_string(),
            scope_sql(""),
        ),
    };
    let before: HashSet<(String, String)> = scope_rows(tx, &stored, user_id).await?;
    let after: HashSet<(String, String)> = scope_rows(tx, &wanted, user_id).await?;
    let mut lost: Vec<(&String, &String)> = Vec::new();
    for (user, path) in before.difference(&after) {
        sqlx::query("DELETE FROM user_scope WHERE user_id = $1 AND path = $2")
            .bind(user)
            .bind(path)
            .execute(&mut **tx)
            .await?;
        lost.push((user, path));
    }
    announce_lost(tx, &lost).await?;
    let mut gained: Vec<&String> = Vec::new();
    for (user, path) in after.difference(&before) {
        sqlx::query("INSERT INTO user_scope (user_id, path) VALUES ($1, $2)")
            .bind(user)
            .bind(path)
            .execute(&mut **tx)
            .await?;
        // Only a phone that already pulled has a cursor past the records.
        let has_phone = sqlx::query("SELECT 1 AS one FROM devices WHERE user_id = $1 LIMIT 1")
            .bind(user)
            .fetch_optional(&mut **tx)
            .await?
            .is_some();
        if has_phone {
            gained.push(path);
        }
    }
    gained.sort();
    gained.dedup();
    // A path under another gained one is announced with it.
    let mut roots: Vec<&String> = Vec::new();
    for path in gained {
        if !roots.iter().any(|r| path.starts_with(r.as_str())) {
            roots.push(path);
        }
    }
    if roots.is_empty() {
        return Ok(());
    }
    changes::lock(tx).await?;
    for root in roots {
        // Proposals are announced at their facility's place, which is where
        // (or under where) their scope path lies.
        for (entity, from) in [
            (
                "facility",
                "facilities r JOIN facilities f ON f.id = r.id AND f.deleted_at IS NULL",
            ),
            (
                "proposal",
                "proposals r JOIN facilities f ON f.id = r.facility_id",
            ),
        ] {
            sqlx::query(&format!(
                "INSERT INTO change_log (entity, record_id, unit_path, owner_id, created_at)
                 SELECT '{entity}', r.id, a.path, NULL, $1 FROM {from}
                 JOIN admin_units a ON a.tree = f.unit_tree AND a.code = COALESCE(f.commune_code, f.district_code)
                 WHERE a.path LIKE $2 || '%' ORDER BY r.id"
            ))
            .bind(now_ms())
            .bind(root)
            .execute(&mut **tx)
            .await?;
        }
    }
    Ok(())
}

/// Tells each phone of an account that lost a path that the facilities and
/// proposals there have left it: entries addressed to that account alone,
/// which its pull answers as deletions (their places are no longer in its
/// scope). Without them the phone kept the records, owners' names and phones
/// included, until it was reset.
/// An account that saw the whole province (a supervisor or administrator)
/// and no longer does, or the other way round: its phone's next pull carries
/// every facility and proposal again, and every visit of someone else, each
/// judged by the account's scope now (a record, or deleted). Without it a
/// demoted supervisor's phone kept the province's records for good, and a
/// promoted inspector's phone never got the districts it could now survey,
/// since scopes compare unit paths and "everything" was never one.
pub async fn announce_province_changed(tx: &mut Tx, user_id: &str) -> Result<(), AppError> {
    let everything = String::new();
    let user = user_id.to_string();
    announce_lost(tx, &[(&user, &everything)]).await?;
    let has_phone = sqlx::query("SELECT 1 AS one FROM devices WHERE user_id = $1 LIMIT 1")
        .bind(user_id)
        .fetch_optional(&mut **tx)
        .await?
        .is_some();
    if has_phone {
        changes::lock(tx).await?;
        sqlx::query(
            "INSERT INTO change_log (entity, record_id, unit_path, owner_id, created_at)
             SELECT 'visit', v.id, v.unit_path, $1, $2 FROM visits v WHERE v.owner_id <> $1 ORDER BY v.id",
        )
        .bind(user_id)
        .bind(now_ms())
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

async fn announce_lost(tx: &mut Tx, lost: &[(&String, &String)]) -> Result<(), AppError> {
    let mut locked = false;
    for (user, path) in lost {
        let has_phone = sqlx::query("SELECT 1 AS one FROM devices WHERE user_id = $1 LIMIT 1")
            .bind(*user)
            .fetch_optional(&mut **tx)
            .await?
            .is_some();
        if !has_phone {
            continue;
        }
        if !locked {
            changes::lock(tx).await?;
            locked = true;
        }
        for (entity, from) in [
            ("facility", "facilities r JOIN facilities f ON f.id = r.id"),
            (
                "proposal",
                "proposals r JOIN facilities f ON f.id = r.facility_id",
            ),
        ] {
            sqlx::query(&format!(
                "INSERT INTO change_log (entity, record_id, unit_path, owner_id, created_at)
                 SELECT '{entity}', r.id, a.path, $3, $1 FROM {from}
                 JOIN admin_units a ON a.tree = f.unit_tree AND a.code = COALESCE(f.commune_code, f.district_code)
                 WHERE a.path LIKE $2 || '%' ORDER BY r.id"
            ))
            .bind(now_ms())
            .bind(*path)
            .bind(*user)
            .execute(&mut **tx)
            .await?;
        }
    }
    Ok(())
}

/// An account's scope: each assigned unit's path; and for every unit under an
/// assigned one, the units a mapping joins it to in another tree, either way
/// (a 2025 commune brings the 2020 wards merged into it, a 2020 ward the 2025
/// commune it became). `only` narrows every branch of the union (one account).
fn scope_sql(only: &str) -> String {
    format!(
        "
    SELECT uu.user_id, a.path FROM user_units uu
      JOIN admin_units a ON a.tree = uu.unit_tree AND a.code = uu.unit_code
      {only}
    UNION
    SELECT uu.user_id, n.path FROM user_units uu
      JOIN admin_units a ON a.tree = uu.unit_tree AND a.code = uu.unit_code
      JOIN admin_units o ON o.tree = a.tree AND o.path LIKE a.path || '%'
      JOIN unit_mappings m ON m.old_tree = o.tree AND m.old_code = o.code
      JOIN admin_units n ON n.tree = m.new_tree AND n.code = m.new_code
      {only}
    UNION
    SELECT uu.user_id, o.path FROM user_units uu
      JOIN admin_units a ON a.tree = uu.unit_tree AND a.code = uu.unit_code
      JOIN admin_units n ON n.tree = a.tree AND n.path LIKE a.path || '%'
      JOIN unit_mappings m ON m.new_tree = n.tree AND m.new_code = n.code
      JOIN admin_units o ON o.tree = m.old_tree AND o.code = m.old_code
      {only}"
    )
}

async fn scope_rows(
    tx: &mut Tx,
    sql: &str,
    user_id: Option<&str>,
) -> Result<HashSet<(String, String)>, AppError> {
    let mut query = sqlx::query(sql);
    if let Some(user_id) = user_id {
        query = query.bind(user_id);
    }
    query
        .fetch_all(&mut **tx)
        .await?
        .iter()
        .map(|r| Ok((col(r, "user_id")?, col(r, "path")?)))
        .collect()
}

/// The unit paths an account sees records under.
pub async fn scope_paths<'c, E>(exec: E, user_id: &str) -> Result<Vec<String>, AppError>
where
    E: sqlx::Executor<'c, Database = sqlx::Any>,
{
    sqlx::query("SELECT path FROM user_scope WHERE user_id = $1")
        .bind(user_id)
        .fetch_all(exec)
        .await?
        .iter()
        .map(|r| col(r, "path"))
        .collect()
}

pub async fn count(db: &Db) -> Result<i64, AppError> {
    let row = sqlx::query("SELECT COUNT(*) AS n FROM admin_units")
        .fetch_one(&db.pool)
        .await?;
    col(&row, "n")
}

const UNIT_COLUMNS: &str = "tree, code, name, kind, level, parent_code";

fn from_row(row: &sqlx::any::AnyRow) -> Result<AdminUnit, AppError> {
    let level: String = col(row, "level")?;
    Ok(AdminUnit {
        tree: col(row, "tree")?,
        code: col(row, "code")?,
        name: col(row, "name")?,
        kind: col(row, "kind")?,
        level: UnitLevel::parse(&level)
            .ok_or_else(|| AppError::Internal(format!("bad level {level}")))?,
        parent: col(row, "parent_code")?,
    })
}

/// A unit by its key ("tree/code"); a bare code (change-log entries written
/// before trees were named) means the oldest tree holding it.
pub async fn get<'c, E>(exec: E, key: &str) -> Result<Option<AdminUnit>, AppError>
where
    E: sqlx::Executor<'c, Database = sqlx::Any>,
{
    let row = match key.split_once('/') {
        Some((tree, code)) => {
            sqlx::query(&format!(
                "SELECT {UNIT_COLUMNS} FROM admin_units WHERE tree = $1 AND code = $2"
            ))
            .bind(tree)
            .bind(code)
            .fetch_optional(exec)
            .await?
        }
        None => {
            sqlx::query(
                "SELECT a.tree, a.code, a.name, a.kind, a.level, a.parent_code
                 FROM admin_units a JOIN unit_trees t ON t.name = a.tree
                 WHERE a.code = $1 ORDER BY t.effective_from, t.name LIMIT 1",
            )
            .bind(key)
            .fetch_optional(exec)
            .await?
        }
    };
    row.as_ref().map(from_row).transpose()
}

/// Every unit of every tree, each tree's province first.
pub async fn all(db: &Db) -> Result<Vec<AdminUnit>, AppError> {
    sqlx::query(&format!(
        "SELECT {UNIT_COLUMNS} FROM admin_units ORDER BY path, code"
    ))
    .fetch_all(&db.pool)
    .await?
    .iter()
    .map(from_row)
    .collect()
}

/// The units of one tree.
pub async fn in_tree(db: &Db, tree: &str) -> Result<Vec<AdminUnit>, AppError> {
    sqlx::query(&format!(
        "SELECT {UNIT_COLUMNS} FROM admin_units WHERE tree = $1 ORDER BY path"
    ))
    .bind(tree)
    .fetch_all(&db.pool)
    .await?
    .iter()
    .map(from_row)
    .collect()
}

/// The loaded trees, oldest first, with their unit counts.
pub async fn trees(db: &Db) -> Result<Vec<TreeSummary>, AppError> {
    sqlx::query(
        "SELECT t.name, t.effective_from, (SELECT COUNT(*) FROM admin_units a WHERE a.tree = t.name) AS n
         FROM unit_trees t ORDER BY t.effective_from, t.name",
    )
    .fetch_all(&db.pool)
    .await?
    .iter()
    .map(|r| {
        Ok(TreeSummary {
            name: col(r, "name")?,
            effective_from: col(r, "effective_from")?,
            units: col(r, "n")?,
        })
    })
    .collect()
}

/// The mapping pairs from `old_tree` to `new_tree`.
pub async fn mapping(
    db: &Db,
    old_tree: &str,
    new_tree: &str,
) -> Result<Vec<(String, String)>, AppError> {
    sqlx::query(
        "SELECT old_code, new_code FROM unit_mappings WHERE old_tree = $1 AND new_tree = $2
         ORDER BY old_code, new_code",
    )
    .bind(old_tree)
    .bind(new_tree)
    .fetch_all(&db.pool)
    .await?
    .iter()
    .map(|r| Ok((col(r, "old_code")?, col(r, "new_code")?)))
    .collect()
}

/// The path of a unit, for scoping records that belong to it.
pub async fn path_of(tx: &mut Tx, tree: &str, code: &str) -> Result<Option<String>, AppError> {
    let row = sqlx::query("SELECT path FROM admin_units WHERE tree = $1 AND code = $2")
        .bind(tree)
        .bind(code)
        .fetch_optional(&mut **tx)
        .await?;
    row.as_ref().map(|r| col(r, "path")).transpose()
}

/// The path and level of a unit.
pub async fn place_of(
    tx: &mut Tx,
    tree: &str,
    code: &str,
) -> Result<Option<(String, UnitLevel)>, AppError> {
    let row = sqlx::query("SELECT path, level FROM admin_units WHERE tree = $1 AND code = $2")
        .bind(tree)
        .bind(code)
        .fetch_optional(&mut **tx)
        .await?;
    let Some(row) = row else { return Ok(None) };
    let level: String = col(&row, "level")?;
    let level =
        UnitLevel::parse(&level).ok_or_else(|| AppError::Internal(format!("bad level {level}")))?;
    Ok(Some((col(&row, "path")?, level)))
}

/// The path of a unit, outside a transaction.
pub async fn path_of_unit(db: &Db, tree: &str, code: &str) -> Result<Option<String>, AppError> {
    let row = sqlx::query("SELECT path FROM admin_units WHERE tree = $1 AND code = $2")
        .bind(tree)
        .bind(code)
        .fetch_optional(&db.pool)
        .await?;
    row.as_ref().map(|r| col(r, "path")).transpose()
}

/// The oldest tree holding `code`: what a bare code meant before trees were
/// named (records and phones from then know only one tree).
pub async fn oldest_tree_with(tx: &mut Tx, code: &str) -> Result<Option<String>, AppError> {
    let row = sqlx::query(
        "SELECT a.tree FROM admin_units a JOIN unit_trees t ON t.name = a.tree
         WHERE a.code = $1 ORDER BY t.effective_from, t.name LIMIT 1",
    )
    .bind(code)
    .fetch_optional(&mut **tx)
    .await?;
    row.as_ref().map(|r| col(r, "tree")).transpose()
}

/// The (tree, code) an account's unit reference names: "tree/code", or a bare
/// code that only one tree holds. The inner `Err` lists the keys of an
/// ambiguous code's units.
pub async fn resolve_ref(
    tx: &mut Tx,
    reference: &str,
) -> Result<Result<Option<(String, String)>, Vec<String>>, AppError> {
    if let Some((tree, code)) = reference.split_once('/') {
        let found = path_of(tx, tree, code).await?;
        return Ok(Ok(found.map(|_| (tree.to_string(), code.to_string()))));
    }
    let trees = sqlx::query("SELECT tree FROM admin_units WHERE code = $1 ORDER BY tree")
        .bind(reference)
        .fetch_all(&mut **tx)
        .await?
        .iter()
        .map(|r| col::<String>(r, "tree"))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(match trees.as_slice() {
        [] => Ok(None),
        [tree] => Ok(Some((tree.clone(), reference.to_string()))),
        _ => Err(trees.iter().map(|t| unit_key(t, reference)).collect()),
    })
}

/// The paths a filter on unit (tree, code) covers: its own, and those the
/// mappings join to it or to any unit under it, in either direction (filtering
/// by the 2025 phường Bắc Giang also finds the 2020 wards merged into it).
pub async fn related_paths<'c, E>(exec: E, tree: &str, code: &str) -> Result<Vec<String>, AppError>
where
    E: sqlx::Executor<'c, Database = sqlx::Any>,
{
    sqlx::query(
        "SELECT a.path FROM admin_units a WHERE a.tree = $1 AND a.code = $2
         UNION
         SELECT n.path FROM admin_units a
           JOIN admin_units o ON o.tree = a.tree AND o.path LIKE a.path || '%'
           JOIN unit_mappings m ON m.old_tree = o.tree AND m.old_code = o.code
           JOIN admin_units n ON n.tree = m.new_tree AND n.code = m.new_code
         WHERE a.tree = $1 AND a.code = $2
         UNION
         SELECT o.path FROM admin_units a
           JOIN admin_units n ON n.tree = a.tree AND n.path LIKE a.path || '%'
           JOIN unit_mappings m ON m.new_tree = n.tree AND m.new_code = n.code
           JOIN admin_units o ON o.tree = m.old_tree AND o.code = m.old_code
         WHERE a.tree = $1 AND a.code = $2",
    )
    .bind(tree)
    .bind(code)
    .fetch_all(exec)
    .await?
    .iter()
    .map(|r| col(r, "path"))
    .collect()
}

/// The paths a place name typed into a search covers: the units below the
/// province whose name holds `phrase` (diacritics ignored), and every unit the
/// mappings join to them, so "Bắc Giang" finds the 2025 phường and the 2020
/// wards merged into it. Empty when the phrase is too short to name a place or
/// names so many units (say "xã") that it says nothing about where.
pub async fn paths_named(db: &Db, phrase: &str) -> Result<Vec<String>, AppError> {
    const MOST_UNITS: usize = 20;
    let phrase = crate::search::fold(phrase)
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    if phrase.chars().count() < 3 {
        return Ok(vec![]);
    }
    let contains = match db.engine {
        super::Engine::Sqlite => "instr(search, $1) > 0",
        super::Engine::Postgres => "strpos(search, $1) > 0",
    };
    let named = sqlx::query(&format!(
        "SELECT tree, code FROM admin_units WHERE level <> 'province' AND {contains}
         ORDER BY tree, code LIMIT {}",
        MOST_UNITS + 1
    ))
    .bind(&phrase)
    .fetch_all(&db.pool)
    .await?;
    if named.len() > MOST_UNITS {
        return Ok(vec![]);
    }
    let mut paths = std::collections::BTreeSet::new();
    for row in &named {
        let tree: String = col(row, "tree")?;
        let code: String = col(row, "code")?;
        paths.extend(related_paths(&db.pool, &tree, &code).await?);
    }
    Ok(outermost(paths.into_iter().collect()))
}

/// Records a tree or mapping an administrator loaded, in the audit log.
pub async fn record_import(
    db: &Db,
    actor: &super::audit::Actor,
    action: &str,
    name: &str,
    detail: serde_json::Value,
) -> Result<(), AppError> {
    super::audit::record(&db.pool, actor, action, "units", name, detail).await
}

/// The paths no other one holds: a path under another (paths end in `/`)
/// adds nothing to a prefix match but a clause.
fn outermost(all: Vec<String>) -> Vec<String> {
    all.iter()
        .filter(|p| {
            !all.iter()
                .any(|q| q != *p && q.ends_with('/') && p.starts_with(q.as_str()))
        })
        .cloned()
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_path_under_another_is_dropped() {
        let paths = [
            "bac-giang-2020/24/213/",
            "bac-giang-2020/24/213/07201/",
            "bac-giang-2020/24/2130/",
            "bac-ninh-2025/24/07210/",
        ]
        .map(String::from)
        .to_vec();
        assert_eq!(
            super::outermost(paths),
            [
                "bac-giang-2020/24/213/",
                "bac-giang-2020/24/2130/",
                "bac-ninh-2025/24/07210/"
            ]
        );
    }
}
