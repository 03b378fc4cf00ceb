//! Administrative unit trees: a tree (2020 Bắc Giang, 2025 Bắc Ninh) is loaded
//! from a file and never edited in place; a mapping file links two trees.

/// Checking tree and mapping files, every problem by row and column.
#[cfg(feature = "ssr")]
pub mod file;
/// Loading a checked tree or mapping file into the store.
#[cfg(feature = "ssr")]
pub mod import;
