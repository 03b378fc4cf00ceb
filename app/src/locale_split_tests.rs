//! The office's text lives in `locales/*.office.json`, which the browser gets
//! only with the office's chunk (`i18n::load_office_texts`). A key the field
//! app names, or an error a phone can be sent, must then be in the field's
//! file, or a phone would show the key or "Đã có lỗi xảy ra". Found by
//! reading the source, like `error_texts_tests`.

use crate::error_texts_tests::{codes_in, has};
use crate::i18n::{EN_OFFICE_SOURCE, EN_SOURCE, VI_OFFICE_SOURCE, VI_SOURCE};
use crate::layout_tests::rust_files;
use std::collections::BTreeSet;
use std::path::Path;

/// Where only the office's requests run: its pages and server functions, the
/// stores and handlers behind the registry, unit trees, plan, console lists,
/// conflict resolution and exports. An error made here may be worded in the
/// office's file; one made anywhere else may reach a phone.
const OFFICE_SIDE: &[&str] = &[
    "app/src/office/",
    "app/src/store/intake.rs",
    "app/src/store/units.rs",
    "app/src/store/plan.rs",
    "app/src/store/console.rs",
    "app/src/store/conflicts.rs",
    "server/src/api/registry.rs",
    "server/src/api/units.rs",
    "server/src/api/exports.rs",
    "server/src/exports/",
];

fn keys(source: &str) -> BTreeSet<String> {
    let mut table = std::collections::HashMap::new();
    crate::i18n::flatten("", &serde_json::from_str(source).unwrap(), &mut table);
    table.into_keys().collect()
}

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap()
}

#[test]
fn each_key_is_in_one_file_and_both_languages_split_alike() {
    let (vi, vi_office) = (keys(VI_SOURCE), keys(VI_OFFICE_SOURCE));
    let (en, en_office) = (keys(EN_SOURCE), keys(EN_OFFICE_SOURCE));
    assert_eq!(vi, en, "vi.json and en.json hold different keys");
    assert_eq!(vi_office, en_office, "the office files hold different keys");
    let both: Vec<_> = vi.intersection(&vi_office).collect();
    assert!(
        both.is_empty(),
        "in both vi.json and vi.office.json: {both:?}"
    );
    // The split must have moved something, or the phone carries it all.
    assert!(vi_office.len() > 300, "{} office keys", vi_office.len());
}

/// The browser's files: everything of `app/src` but the office's pages, the
/// server-only store, and tests.
fn field_sources() -> Vec<(String, String)> {
    let mut files = Vec::new();
    rust_files(&root().join("app/src"), &mut files);
    files
        .into_iter()
        .map(|f| f.strip_prefix(root()).unwrap().display().to_string())
        .filter(|name| {
            !name.starts_with("app/src/office/")
                && !name.starts_with("app/src/store/")
                && !name.ends_with("tests.rs")
        })
        .map(|name| {
            let source = std::fs::read_to_string(root().join(&name)).unwrap();
            let code = source
                .find("#[cfg(test)]\nmod tests")
                .map_or(source.clone(), |at| source[..at].to_string());
            (name, code)
        })
        .collect()
}

/// The keys and key prefixes (`format!("x.{…}")`) the field's code names
/// that only the office's file holds.
fn office_keys_named(sources: &[(String, String)], office: &BTreeSet<String>) -> Vec<String> {
    let literal = regex_lite::Regex::new(r#""([a-z_]+(?:\.[a-z_0-9]+)+)""#).unwrap();
    let prefix = regex_lite::Regex::new(r#"format!\(\s*"([a-z_]+)\.\{"#).unwrap();
    let office_sections: BTreeSet<&str> = office
        .iter()
        .filter_map(|k| k.split('.').next())
        .filter(|s| *s != "errors")
        .collect();
    let mut found = Vec::new();
    for (name, code) in sources {
        for c in literal.captures_iter(code) {
            if office.contains(&c[1]) {
                found.push(format!("{} in {name}", &c[1]));
            }
        }
        for c in prefix.captures_iter(code) {
            if office_sections.contains(&c[1]) {
                found.push(format!("{}.{{…}} in {name}", &c[1]));
            }
        }
    }
    found
}

#[test]
fn the_field_app_names_no_text_of_the_office_file() {
    let sources = field_sources();
    assert!(sources.len() > 60, "only {} files read", sources.len());
    let office = keys(VI_OFFICE_SOURCE);
    let named = office_keys_named(&sources, &office);
    assert!(
        named.is_empty(),
        "the phone's code names office text (move it to vi.json and en.json):\n{}",
        named.join("\n")
    );
    // The scan sees a key, and a prefix, when one is named.
    let made_up = [(
        "app/src/x.rs".to_string(),
        "tr(\"admin.title\"); format!(\"audit_action.{a}\"); tr(\"login.submit\")".to_string(),
    )];
    assert_eq!(
        office_keys_named(&made_up, &office),
        [
            "admin.title in app/src/x.rs",
            "audit_action.{…} in app/src/x.rs"
        ]
    );
}

#[test]
fn an_error_a_phone_can_be_sent_is_worded_in_the_field_file() {
    let field: serde_json::Value = serde_json::from_str(VI_SOURCE).unwrap();
    let codes = codes_in(root());
    assert!(codes.len() > 150, "only {} error codes found", codes.len());
    let stray: Vec<String> = codes
        .iter()
        .filter(|(code, file)| {
            !has(&field, code) && !OFFICE_SIDE.iter().any(|side| file.starts_with(side))
        })
        .map(|(code, file)| format!("errors.{code} (sent in {file})"))
        .collect();
    assert!(
        stray.is_empty(),
        "sentences only in vi.office.json for errors a phone can get:\n{}",
        stray.join("\n")
    );
}
