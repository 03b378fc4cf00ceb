//! Administrative unit trees: a tree (2020 Bắc Giang, 2025 Bắc Ninh) is loaded
//! from a file and never edited in place; a mapping file links two trees.

use crate::error::FnError;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// The administrator's section for loading trees and mappings.
mod screen;
pub use screen::UnitsSection;

/// A loaded tree, as the administrator's screens list it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TreeSummary {
    pub name: String,
    pub effective_from: String,
    pub units: i64,
}

/// The loaded trees, oldest first, with their unit counts.
#[server(prefix = "/rpc", endpoint = "list_unit_trees", input = leptos::server_fn::codec::Json)]
pub async fn list_unit_trees() -> Result<Vec<TreeSummary>, FnError> {
    let (state, _) =
        crate::auth::session::require_caller(&[crate::model::Role::Administrator]).await?;
    Ok(crate::store::units::trees(&state.db).await?)
}

/// Checking tree and mapping files, every problem by row and column.
#[cfg(feature = "ssr")]
pub mod file;
/// Loading a checked tree or mapping file into the store.
#[cfg(feature = "ssr")]
pub mod import;
