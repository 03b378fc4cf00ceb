//! The table: every `*.form.json` in `app/tests/xlsform/` is a workbook written
//! cell by cell (built here with rust_xlsxwriter), every `*.xlsx` there a
//! workbook made by another program (openpyxl); each has a `*.expected.json`
//! holding the definition it imports to, or the problems it is refused with.
//! Then the round trip: every definition exports to a workbook that imports
//! to the identical definition.

use super::*;
use crate::forms::FormDefinition;
use serde_json::Value;
use std::path::{Path, PathBuf};

fn folder() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/xlsform")
}

/// A workbook from `{"survey": [[cells…]…], "choices": …, "settings": …}`.
fn workbook(spec: &Value) -> Vec<u8> {
    let mut book = rust_xlsxwriter::Workbook::new();
    for (name, rows) in spec.as_object().expect("sheets by name") {
        let sheet = book.add_worksheet();
        sheet.set_name(name).unwrap();
        for (r, row) in rows.as_array().unwrap().iter().enumerate() {
            for (c, cell) in row.as_array().unwrap().iter().enumerate() {
                let (r, c) = (r as u32, c as u16);
                match cell {
                    Value::String(s) if s.is_empty() => {}
                    Value::String(s) => {
                        sheet.write_string(r, c, s).unwrap();
                    }
                    Value::Number(n) => {
                        sheet.write_number(r, c, n.as_f64().unwrap()).unwrap();
                    }
                    Value::Bool(b) => {
                        sheet.write_boolean(r, c, *b).unwrap();
                    }
                    _ => {}
                }
            }
        }
    }
    book.save_to_buffer().unwrap()
}

/// A problem as the expectations write it: `[sheet, row, column heading, code]`.
fn brief(p: &Problem) -> Value {
    let column = p
        .column
        .as_deref()
        .map(|c| c.rsplit_once(" (").map(|(h, _)| h).unwrap_or(c).to_string());
    serde_json::json!([p.sheet, p.row, column, p.code])
}

fn next_version(_: &str) -> i32 {
    7
}

/// What a workbook converts to, in the expectations' shape.
fn observed(bytes: &[u8]) -> Value {
    match import(bytes, next_version) {
        Ok(i) => serde_json::json!({
            "definition": i.definition,
            "notes": i.notes.iter().map(brief).collect::<Vec<_>>(),
        }),
        Err(problems) => {
            serde_json::json!({"problems": problems.iter().map(brief).collect::<Vec<_>>()})
        }
    }
}

fn check_one(name: &str, bytes: &[u8], expected: &Value) {
    match import(bytes, next_version) {
        Ok(imported) => {
            let want = expected.get("definition").unwrap_or_else(|| {
                panic!("{name}: imported, but problems were expected: {expected}")
            });
            let want: FormDefinition = serde_json::from_value(want.clone()).unwrap();
            assert_eq!(
                imported.definition,
                want,
                "{name}: got\n{}",
                serde_json::to_string_pretty(&imported.definition).unwrap()
            );
            let notes: Vec<Value> = imported.notes.iter().map(brief).collect();
            let want_notes = expected
                .get("notes")
                .cloned()
                .unwrap_or(Value::Array(vec![]));
            assert_eq!(Value::Array(notes), want_notes, "{name}: notes");
            round_trip(name, &imported.definition);
        }
        Err(problems) => {
            let got: Vec<Value> = problems.iter().map(brief).collect();
            let want = expected
                .get("problems")
                .unwrap_or_else(|| panic!("{name}: refused with {got:?}"));
            assert_eq!(&Value::Array(got), want, "{name}: problems");
            for p in &problems {
                assert!(!p.message.vi.is_empty() && !p.message.en.is_empty());
                assert!(
                    !p.message.vi.contains('{') || p.message.vi.contains("${"),
                    "{name}: {:?}",
                    p.message
                );
            }
        }
    }
}

fn round_trip(name: &str, form: &FormDefinition) {
    let bytes = export(form).unwrap();
    let again = import(&bytes, |_| panic!("the version is in the file"))
        .unwrap_or_else(|p| panic!("{name}: its export is refused: {:#?}", p));
    assert_eq!(
        &again.definition, form,
        "{name}: export then import changed the form"
    );
    assert!(again.notes.is_empty(), "{name}: {:?}", again.notes);
}

#[test]
fn every_fixture_imports_to_its_expected_definition_or_problems() {
    let mut seen = 0;
    let mut entries: Vec<_> = std::fs::read_dir(folder()).unwrap().flatten().collect();
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let file = entry.file_name().to_string_lossy().to_string();
        let (stem, bytes) = if let Some(stem) = file.strip_suffix(".form.json") {
            let spec: Value =
                serde_json::from_slice(&std::fs::read(entry.path()).unwrap()).unwrap();
            (stem.to_string(), workbook(&spec))
        } else if let Some(stem) = file.strip_suffix(".xlsx") {
            (stem.to_string(), std::fs::read(entry.path()).unwrap())
        } else {
            continue;
        };
        let expected_path = folder().join(format!("{stem}.expected.json"));
        if std::env::var_os("KHAOSAT_WRITE_EXPECTED").is_some() {
            // Writes what the converter does now; read the diff before committing it.
            std::fs::write(&expected_path, format!("{:#}\n", observed(&bytes))).unwrap();
        }
        let expected: Value = serde_json::from_slice(
            &std::fs::read(&expected_path)
                .unwrap_or_else(|_| panic!("{stem}.expected.json is missing")),
        )
        .unwrap();
        check_one(&stem, &bytes, &expected);
        seen += 1;
    }
    assert!(seen >= 6, "only {seen} fixtures");
}

#[test]
fn the_default_form_round_trips_and_ships_as_the_same_xlsform() {
    let form: FormDefinition = serde_json::from_str(crate::store::seed::DEFAULT_FORM).unwrap();
    round_trip("khuyen-cong-v1", &form);
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../data/forms/khuyen-cong-v1.xlsx");
    if std::env::var_os("KHAOSAT_WRITE_FORMS").is_some() {
        std::fs::write(&path, export(&form).unwrap()).unwrap();
    }
    let shipped = std::fs::read(&path).expect(
        "data/forms/khuyen-cong-v1.xlsx (regenerate: KHAOSAT_WRITE_FORMS=1 cargo test -p app --features ssr xlsform)",
    );
    let imported = import(&shipped, |_| panic!("the version is in the file")).unwrap();
    assert_eq!(
        imported.definition, form,
        "data/forms/khuyen-cong-v1.xlsx and .json disagree"
    );
}

#[test]
fn the_default_forms_conditions_are_written_canonically() {
    let form: FormDefinition = serde_json::from_str(crate::store::seed::DEFAULT_FORM).unwrap();
    let mut canonical = form.clone();
    canonical.canonicalize();
    assert_eq!(canonical, form);
}

#[test]
fn a_file_that_is_no_workbook_is_one_problem() {
    let p = import(b"id,name\n1,x\n", next_version).unwrap_err();
    assert_eq!(p.len(), 1);
    assert_eq!(p[0].code, "xlsform.unreadable");
    let huge = vec![0u8; MAX_XLSFORM_BYTES + 1];
    assert_eq!(
        import(&huge, next_version).unwrap_err()[0].code,
        "xlsform.too_large"
    );
    let no_survey = workbook(&serde_json::json!({"choices": [["list_name", "name", "label"]]}));
    assert_eq!(
        import(&no_survey, next_version).unwrap_err()[0].code,
        "xlsform.no_survey"
    );
}

#[test]
fn problems_read_in_both_languages_with_their_place() {
    let spec = serde_json::json!({
        "survey": [["type", "name", "label"], ["calculate", "total", "Tổng"]],
        "settings": [["form_id"], ["f"]]
    });
    let problems = import(&workbook(&spec), next_version).unwrap_err();
    let lines = lines(&problems, crate::i18n::Lang::Vi);
    assert_eq!(lines.len(), 1);
    assert!(
        lines[0].starts_with("survey!2 type (A): Kiểu calculate"),
        "{}",
        lines[0]
    );
    let en = super::lines(&problems, crate::i18n::Lang::En);
    assert!(en[0].contains("does not compute answers"), "{}", en[0]);
}

#[test]
fn a_name_given_twice_is_refused_on_the_second_row_naming_the_first() {
    let spec = serde_json::json!({
        "survey": [
            ["type", "name", "label"],
            ["begin group", "co_so", "Cơ sở"],
            ["text", "ten", "Tên"],
            ["end group", "", ""],
            ["begin repeat", "may", "Máy"],
            ["text", "ten", "Tên máy"],
            ["end repeat", "", ""],
            ["integer", "co_so", "Số"]
        ],
        "settings": [["form_id"], ["f"]]
    });
    let problems = import(&workbook(&spec), next_version).unwrap_err();
    let briefs: Vec<Value> = problems.iter().map(brief).collect();
    assert_eq!(
        briefs,
        vec![
            serde_json::json!(["survey", 6, "name", "xlsform.name_twice"]),
            serde_json::json!(["survey", 8, "name", "xlsform.name_twice"]),
        ]
    );
    assert!(
        problems[0].message.vi.contains("dòng 3"),
        "{:?}",
        problems[0]
    );
    assert!(
        problems[1].message.en.contains("row 2"),
        "{:?}",
        problems[1]
    );
}

#[test]
fn a_zip_bomb_dressed_as_xlsx_is_refused_past_twenty_megabytes_expanded() {
    use std::io::Write;
    // 21 MB of zeros deflate to about 21 KB, well under the 2 MB file limit.
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    zip.start_file("xl/worksheets/sheet1.xml", options).unwrap();
    let zeros = vec![b' '; 1 << 20];
    for _ in 0..21 {
        zip.write_all(&zeros).unwrap();
    }
    let bytes = zip.finish().unwrap().into_inner();
    assert!(bytes.len() < MAX_XLSFORM_BYTES / 10, "{}", bytes.len());
    let p = import(&bytes, next_version).unwrap_err();
    assert_eq!((p.len(), p[0].code.as_str()), (1, "xlsform.expands"));
    assert!(p[0].message.en.contains("more than 20 MB"), "{:?}", p[0]);
}

#[test]
fn a_sheet_of_more_than_five_thousand_rows_is_refused_before_it_is_read() {
    let mut survey = vec![serde_json::json!(["type", "name", "label"])];
    for i in 0..=MAX_XLSFORM_ROWS {
        survey.push(serde_json::json!(["note", format!("n{i}"), "x"]));
    }
    let spec = serde_json::json!({"survey": survey, "settings": [["form_id"], ["f"]]});
    let p = import(&workbook(&spec), next_version).unwrap_err();
    assert_eq!((p.len(), p[0].code.as_str()), (1, "xlsform.too_many_rows"));
    survey.pop();
    let spec = serde_json::json!({"survey": survey, "settings": [["form_id"], ["f"]]});
    assert!(import(&workbook(&spec), next_version).is_ok());
}

/// A refusal of the definition's own check (the last word before
/// publishing) was placed on the file; it now stands on the survey row of
/// the item it names.
#[test]
fn a_refusal_of_the_definition_check_stands_on_its_items_row() {
    let spec = serde_json::json!({
        "survey": [
            ["type", "name", "label"],
            ["text", "ten", "Tên"],
            ["begin repeat", "may", "Máy"],
            ["end repeat", "", ""]
        ],
        "settings": [["form_id"], ["f"]]
    });
    let problems = import(&workbook(&spec), next_version).unwrap_err();
    let briefs: Vec<Value> = problems.iter().map(brief).collect();
    assert_eq!(
        briefs,
        vec![serde_json::json!([
            "survey",
            3,
            "name",
            "xlsform.definition"
        ])],
        "{problems:?}"
    );
    assert!(
        problems[0].message.vi.contains("«may»"),
        "{:?}",
        problems[0]
    );
}
