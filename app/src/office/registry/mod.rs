//! The registry of facilities and proposals: what a year's intake spreadsheets
//! hold, checked row by row before anything is matched or stored.

/// Bulk intake: preview each row's fate, then commit the whole file or nothing.
pub mod intake;
/// The intake template's columns and the checks of each row.
#[cfg(feature = "ssr")]
pub mod rows;
/// The registry page: template, preview, commit.
mod screen;
pub use screen::RegistryPage;
