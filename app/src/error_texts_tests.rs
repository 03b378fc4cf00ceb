//! Every error code the code base can send has a sentence in both languages.
//! `error_text` falls back to "Đã có lỗi xảy ra" for a code without one, which
//! tells a person nothing they can act on; a new code without its sentence
//! fails here, found by reading the source of the app and the server.

use crate::layout_tests::rust_files;
use std::collections::BTreeSet;
use std::path::Path;

/// The file's code before its unit tests (whose codes may be made up).
fn code_of(source: &str) -> &str {
    source
        .find("#[cfg(test)]\nmod tests")
        .map_or(source, |at| &source[..at])
}

/// (code, file) for every error code written as a literal where an error is
/// made: `ErrorBody::new("…"`, the stores' `refuse`/`invalid`/`bad`, the
/// upload handler's `protocol(status, "…"`, and the registry's `problem!`.
pub(crate) fn codes_in(root: &Path) -> BTreeSet<(String, String)> {
    let patterns = [
        r#"(?:ErrorBody::new|refuse|invalid|bad)\(\s*"([a-z_]+\.[a-z_]+)""#,
        r#"protocol\(\s*\d+,\s*"([a-z_]+\.[a-z_]+)""#,
        r#"problem!\(\s*"[^"]*",\s*"([a-z_]+\.[a-z_]+)""#,
    ]
    .map(|p| regex_lite::Regex::new(p).unwrap());
    let mut files = Vec::new();
    for dir in ["app/src", "server/src"] {
        rust_files(&root.join(dir), &mut files);
    }
    let mut codes = BTreeSet::new();
    for file in files
        .iter()
        .filter(|f| !f.to_string_lossy().ends_with("tests.rs"))
    {
        let source = std::fs::read_to_string(file).unwrap();
        for re in &patterns {
            for c in re.captures_iter(code_of(&source)) {
                let name = file.strip_prefix(root).unwrap().display().to_string();
                codes.insert((c[1].to_string(), name));
            }
        }
    }
    codes
}

pub(crate) fn has(json: &serde_json::Value, code: &str) -> bool {
    code.split('.')
        .try_fold(&json["errors"], |v, part| v.get(part))
        .is_some_and(serde_json::Value::is_string)
}

#[test]
fn every_error_code_sent_has_a_sentence_in_vietnamese_and_english() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let codes = codes_in(root);
    // The scan must see the code base's errors, or it checks nothing.
    assert!(codes.len() > 150, "only {} error codes found", codes.len());
    use crate::i18n::{EN_OFFICE_SOURCE, EN_SOURCE, VI_OFFICE_SOURCE, VI_SOURCE};
    for (lang, field, office) in [
        ("vi", VI_SOURCE, VI_OFFICE_SOURCE),
        ("en", EN_SOURCE, EN_OFFICE_SOURCE),
    ] {
        let field: serde_json::Value = serde_json::from_str(field).unwrap();
        let office: serde_json::Value = serde_json::from_str(office).unwrap();
        let missing: Vec<String> = codes
            .iter()
            .filter(|(code, _)| !has(&field, code) && !has(&office, code))
            .map(|(code, file)| format!("errors.{code} (sent in {file})"))
            .collect();
        assert!(
            missing.is_empty(),
            "{lang}.json has no sentence for:\n{}",
            missing.join("\n")
        );
    }
}

#[test]
fn a_code_is_found_in_each_way_errors_are_made() {
    let dir = std::env::temp_dir().join(format!("khaosat-codes-{}", std::process::id()));
    let src = dir.join("app/src");
    std::fs::create_dir_all(&src).unwrap();
    std::fs::create_dir_all(dir.join("server/src")).unwrap();
    std::fs::write(
        src.join("a.rs"),
        "ErrorBody::new(\"a.one\", \"x\"); refuse(\n \"a.two\", m); protocol(409, \"a.three\", m);\n\
         problem!(\"phone\", \"a.four\");\n#[cfg(test)]\nmod tests { ErrorBody::new(\"a.made_up\", \"\") }",
    )
    .unwrap();
    let found: Vec<String> = codes_in(&dir).into_iter().map(|(c, _)| c).collect();
    std::fs::remove_dir_all(&dir).unwrap();
    assert_eq!(found, ["a.four", "a.one", "a.three", "a.two"]);
}
