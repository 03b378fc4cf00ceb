//! Administrative units. A tree arrives as a data file and can be reloaded or
//! replaced without code changes (the 2025 reform removed the district level).

use super::{changes, col, Db, Tx};
use crate::error::AppError;
use crate::model::{AdminUnit, UnitLevel};
use serde::Deserialize;
use std::collections::HashMap;

/// The file format of `data/units/*.json`.
#[derive(Debug, Deserialize)]
pub struct UnitTreeFile {
    pub tree: String,
    pub effective_from: String,
    #[serde(default)]
    pub effective_to: Option<String>,
    pub units: Vec<AdminUnit>,
}

impl UnitTreeFile {
    /// Each unit's path from the root ("24/213/07210/"), refusing unknown parents
    /// and cycles with the offending code in the message.
    pub fn paths(&self) -> Result<HashMap<String, String>, AppError> {
        let parents: HashMap<&str, Option<&str>> = self
            .units
            .iter()
            .map(|u| (u.code.as_str(), u.parent.as_deref()))
            .collect();
        let mut out = HashMap::new();
        for unit in &self.units {
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
}

/// Inserts or updates every unit of the tree in one transaction.
pub async fn load_tree(db: &Db, file: &UnitTreeFile) -> Result<usize, AppError> {
    let paths = file.paths()?;
    let mut tx = db.begin_write().await?;
    // Parents before children, so the foreign key holds at every insert.
    let mut units: Vec<&AdminUnit> = file.units.iter().collect();
    units.sort_by_key(|u| paths[&u.code].len());
    for unit in &units {
        upsert(&mut tx, file, unit, &paths[&unit.code]).await?;
    }
    tx.commit().await?;
    Ok(units.len())
}

async fn upsert(
    tx: &mut Tx,
    file: &UnitTreeFile,
    unit: &AdminUnit,
    path: &str,
) -> Result<(), AppError> {
    sqlx::query(
        "INSERT INTO admin_units (code, name, kind, level, parent_code, path, tree, effective_from, effective_to, search)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
         ON CONFLICT (code) DO UPDATE SET name = excluded.name, kind = excluded.kind, level = excluded.level,
           parent_code = excluded.parent_code, path = excluded.path, tree = excluded.tree,
           effective_from = excluded.effective_from, effective_to = excluded.effective_to, search = excluded.search",
    )
    .bind(&unit.code)
    .bind(&unit.name)
    .bind(&unit.kind)
    .bind(unit.level.as_str())
    .bind(unit.parent.clone())
    .bind(path)
    .bind(&file.tree)
    .bind(&file.effective_from)
    .bind(file.effective_to.clone())
    .bind(crate::search::fold(&unit.full_name()))
    .execute(&mut **tx)
    .await?;
    changes::append(tx, "unit", &unit.code, None, None).await?;
    Ok(())
}

pub async fn count(db: &Db) -> Result<i64, AppError> {
    let row = sqlx::query("SELECT COUNT(*) AS n FROM admin_units")
        .fetch_one(&db.pool)
        .await?;
    col(&row, "n")
}

fn from_row(row: &sqlx::any::AnyRow) -> Result<AdminUnit, AppError> {
    let level: String = col(row, "level")?;
    Ok(AdminUnit {
        code: col(row, "code")?,
        name: col(row, "name")?,
        kind: col(row, "kind")?,
        level: UnitLevel::parse(&level)
            .ok_or_else(|| AppError::Internal(format!("bad level {level}")))?,
        parent: col(row, "parent_code")?,
    })
}

pub async fn get<'c, E>(exec: E, code: &str) -> Result<Option<AdminUnit>, AppError>
where
    E: sqlx::Executor<'c, Database = sqlx::Any>,
{
    let row =
        sqlx::query("SELECT code, name, kind, level, parent_code FROM admin_units WHERE code = $1")
            .bind(code)
            .fetch_optional(exec)
            .await?;
    row.as_ref().map(from_row).transpose()
}

/// Every unit, province first, then by code.
pub async fn all(db: &Db) -> Result<Vec<AdminUnit>, AppError> {
    sqlx::query("SELECT code, name, kind, level, parent_code FROM admin_units ORDER BY path, code")
        .fetch_all(&db.pool)
        .await?
        .iter()
        .map(from_row)
        .collect()
}

/// The path of a unit, for scoping records that belong to it.
pub async fn path_of(tx: &mut Tx, code: &str) -> Result<Option<String>, AppError> {
    let row = sqlx::query("SELECT path FROM admin_units WHERE code = $1")
        .bind(code)
        .fetch_optional(&mut **tx)
        .await?;
    row.as_ref().map(|r| col(r, "path")).transpose()
}
