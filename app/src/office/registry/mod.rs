//! The registry of facilities and proposals: what a year's intake spreadsheets
//! hold, checked row by row before anything is matched or stored.

/// Bulk intake: preview each row's fate, then commit the whole file or nothing.
pub mod intake;
/// Kinds of support a proposal asks for (`support_kind.<value>` labels).
pub const SUPPORT_KINDS: [&str; 6] = [
    "machinery",
    "demonstration_model",
    "training",
    "trade_promotion",
    "consulting",
    "other",
];

/// The intake template's columns and the checks of each row.
#[cfg(feature = "ssr")]
pub mod rows;
/// The registry page: template, preview, commit.
mod screen;
pub use screen::RegistryPage;
/// Editing and deactivating one proposal from the office.
pub mod edit;
