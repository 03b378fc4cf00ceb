//! The crate's layout, checked on its source: the store holds SQL and nothing
//! of the pages, so every module it reaches through `crate::…` is free of
//! components; and a capability's server functions live in its contract,
//! never beside the components that call them. A type the store needs lives
//! in that contract too, so the store and the views never import each other.

use std::path::{Path, PathBuf};

/// Every `.rs` file under `dir`, at any depth.
pub(crate) fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Every `crate::a::b` path in `source`, with one level of `{…}` groups
/// expanded (`crate::a::{b::C, d}` gives `crate::a::b::C` and `crate::a::d`).
fn crate_paths(source: &str) -> Vec<Vec<String>> {
    let mut paths = Vec::new();
    let mut rest = source;
    while let Some(at) = rest.find("crate::") {
        rest = &rest[at + "crate::".len()..];
        let end = rest
            .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':'))
            .unwrap_or(rest.len());
        let prefix: Vec<String> = rest[..end]
            .split("::")
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect();
        if rest[end..].starts_with('{') {
            let group = &rest[end + 1..rest[end..].find('}').map_or(rest.len(), |i| end + i)];
            for item in group.split(',') {
                let mut path = prefix.clone();
                path.extend(
                    item.trim()
                        .split("::")
                        .filter(|s| !s.is_empty())
                        .map(str::to_owned),
                );
                paths.push(path);
            }
        } else {
            paths.push(prefix);
        }
    }
    paths
}

/// The file that defines the longest module prefix of `path`.
fn module_file(src: &Path, path: &[String]) -> Option<PathBuf> {
    (1..=path.len()).rev().find_map(|n| {
        let dir = path[..n].iter().fold(src.to_path_buf(), |p, s| p.join(s));
        [dir.with_extension("rs"), dir.join("mod.rs")]
            .into_iter()
            .find(|f| f.is_file())
    })
}

fn is_view(source: &str) -> bool {
    source.contains("#[component]") || source.contains("view!")
}

#[test]
fn the_store_reaches_no_module_that_holds_a_component() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src.join("store"), &mut files);
    let mut reached = 0;
    let mut offenders = Vec::new();
    for file in &files {
        let source = std::fs::read_to_string(file).unwrap();
        for path in crate_paths(&source) {
            let Some(target) = module_file(&src, &path) else {
                continue;
            };
            reached += 1;
            if is_view(&std::fs::read_to_string(&target).unwrap()) {
                offenders.push(format!(
                    "{} uses crate::{}, defined beside components in {}",
                    file.strip_prefix(&src).unwrap().display(),
                    path.join("::"),
                    target.strip_prefix(&src).unwrap().display()
                ));
            }
        }
    }
    // The walk must have seen the store's real imports, or it checked nothing.
    assert!(
        reached > 100,
        "only {reached} crate paths found under store/"
    );
    assert!(offenders.is_empty(), "{}", offenders.join("\n"));
}

#[test]
fn no_file_holds_both_a_server_function_and_a_component() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut servers = 0;
    let mut mixed = Vec::new();
    // This file names both markers itself.
    for file in files
        .iter()
        .filter(|f| !f.ends_with(file!().rsplit('/').next().unwrap()))
    {
        let source = std::fs::read_to_string(file).unwrap();
        if source.contains("#[server(") {
            servers += 1;
            if is_view(&source) {
                mixed.push(file.strip_prefix(&src).unwrap().display().to_string());
            }
        }
    }
    assert!(
        servers >= 5,
        "only {servers} files with server functions found"
    );
    assert!(
        mixed.is_empty(),
        "server functions beside components in: {mixed:?}"
    );
}

#[test]
fn paths_are_read_with_their_groups() {
    let paths = crate_paths(
        "use crate::office::{review::contract::X, units};\nlet a = crate::model::Role::Inspector;",
    );
    let joined: Vec<String> = paths.iter().map(|p| p.join("::")).collect();
    assert_eq!(
        joined,
        [
            "office::review::contract::X",
            "office::units",
            "model::Role::Inspector"
        ]
    );
}

#[test]
fn a_module_with_a_component_is_a_view() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let edit = module_file(
        &src,
        &[
            "office".into(),
            "registry".into(),
            "edit".into(),
            "ProposalEditPanel".into(),
        ],
    )
    .unwrap();
    assert!(edit.ends_with("office/registry/edit.rs"));
    assert!(is_view(&std::fs::read_to_string(edit).unwrap()));
    let contract = module_file(
        &src,
        &[
            "office".into(),
            "registry".into(),
            "contract".into(),
            "ProposalEdit".into(),
        ],
    )
    .unwrap();
    assert!(!is_view(&std::fs::read_to_string(contract).unwrap()));
}
