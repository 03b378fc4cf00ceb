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
/// The office's register of facilities and a proposal registered at one.
pub mod facilities;
/// The checks of a facility the office registers or edits.
#[cfg(feature = "ssr")]
pub mod facility_check;
/// The register's search, list and facility panel.
mod facility_panel;
mod register_screen;
pub use register_screen::FacilityRegister;
