//! The office: what supervisors and administrators use at their desks. Each
//! capability is a folder holding its checks, server functions and screens.

/// Spreadsheets offices send (CSV, XLSX) read as tables of text.
#[cfg(feature = "ssr")]
pub mod sheet;
/// Administrative unit trees, their files and the mapping between trees.
pub mod units;
