//! The registry of facilities and proposals: what a year's intake spreadsheets
//! hold, checked row by row before anything is matched or stored.

/// The intake template's columns and the checks of each row.
#[cfg(feature = "ssr")]
pub mod rows;
