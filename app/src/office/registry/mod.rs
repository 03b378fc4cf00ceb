//! The registry of facilities and proposals: what a year's intake spreadsheets
//! hold, checked row by row before anything is matched or stored.

/// The server functions and types the pages and the store share: the
/// facility register and the edit of one proposal.
pub mod contract;
/// Bulk intake: preview each row's fate, then commit the whole file or nothing.
pub mod intake;
pub use contract::SUPPORT_KINDS;

/// The intake template's columns and the checks of each row.
#[cfg(feature = "ssr")]
pub mod rows;
/// The registry page: template, preview, commit.
mod screen;
pub use screen::RegistryPage;
/// The panel that edits or deactivates one proposal.
pub mod edit;
/// The checks of a facility the office registers or edits.
#[cfg(feature = "ssr")]
pub mod facility_check;
/// A facility's undecided conflicts, each settled by keeping one value.
mod facility_conflicts;
/// The register's search, list and facility panel.
mod facility_panel;
/// The units a facility may be placed in.
mod placing;
mod register_screen;
pub use register_screen::FacilityRegister;
