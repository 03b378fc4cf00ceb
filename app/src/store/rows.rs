//! Rows written many at a time: a push batch buffers its field-history and
//! mutation-log rows and writes them with multi-row INSERTs before it commits,
//! instead of one statement (one round trip) per row.

use super::Tx;
use crate::error::AppError;
use std::sync::Mutex;

/// One bound value.
#[derive(Debug, Clone)]
pub enum Param {
    Text(String),
    MaybeText(Option<String>),
    Int(i64),
}

/// Rows for one table, written by `flush`.
#[derive(Debug)]
pub struct Buffer {
    table: &'static str,
    columns: &'static [&'static str],
    rows: Mutex<Vec<Vec<Param>>>,
}

/// Rows per statement: well under SQLite's 32,766 and PostgreSQL's 65,535 binds.
const CHUNK: usize = 100;

impl Buffer {
    pub const fn new(table: &'static str, columns: &'static [&'static str]) -> Self {
        Buffer {
            table,
            columns,
            rows: Mutex::new(Vec::new()),
        }
    }

    fn rows(&self) -> std::sync::MutexGuard<'_, Vec<Vec<Param>>> {
        self.rows.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn push(&self, row: Vec<Param>) {
        debug_assert_eq!(row.len(), self.columns.len());
        self.rows().push(row);
    }

    /// How many rows wait; `truncate` back to it undoes what came after.
    pub fn len(&self) -> usize {
        self.rows().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn truncate(&self, len: usize) {
        self.rows().truncate(len);
    }

    pub async fn flush(&self, tx: &mut Tx) -> Result<(), AppError> {
        let rows = std::mem::take(&mut *self.rows());
        let width = self.columns.len();
        for chunk in rows.chunks(CHUNK) {
            let values: Vec<String> = (0..chunk.len())
                .map(|r| {
                    let marks: Vec<String> =
                        (1..=width).map(|c| format!("${}", r * width + c)).collect();
                    format!("({})", marks.join(", "))
                })
                .collect();
            let sql = format!(
                "INSERT INTO {} ({}) VALUES {}",
                self.table,
                self.columns.join(", "),
                values.join(", ")
            );
            let mut q = sqlx::query(&sql);
            for row in chunk {
                for p in row {
                    q = match p {
                        Param::Text(s) => q.bind(s.clone()),
                        Param::MaybeText(s) => q.bind(s.clone()),
                        Param::Int(n) => q.bind(*n),
                    };
                }
            }
            q.execute(&mut **tx).await?;
        }
        Ok(())
    }
}
