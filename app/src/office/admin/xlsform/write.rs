//! A form definition as an XLSForm workbook that imports to the same
//! definition: every section a group, every repeat a `begin repeat`, limits as
//! constraints, khaosat's own types marked in `bind::khaosat:*` columns (which
//! ODK tools ignore). Both languages in their own columns.

use super::xpath;
use crate::forms::{Choice, Field, FieldType, FormDefinition, Text};
use rust_xlsxwriter::{Format, Workbook, Worksheet, XlsxError};
use std::collections::BTreeMap;

const VI: &str = "Tiếng Việt (vi)";
const EN: &str = "English (en)";

/// The survey sheet's columns, in order.
fn survey_columns() -> Vec<String> {
    let mut out = vec!["type".to_string(), "name".to_string()];
    for base in ["label", "hint"] {
        out.push(format!("{base}::{VI}"));
        out.push(format!("{base}::{EN}"));
    }
    out.extend(["required", "relevant", "constraint"].map(String::from));
    for base in ["constraint_message", "required_message"] {
        out.push(format!("{base}::{VI}"));
        out.push(format!("{base}::{EN}"));
    }
    out.extend(
        [
            "appearance",
            "parameters",
            "bind::khaosat:money",
            "bind::khaosat:yes_no",
            "bind::khaosat:max_rows",
        ]
        .map(String::from),
    );
    out
}

/// One survey row as column → text.
type Line = BTreeMap<&'static str, String>;

fn texts(line: &mut Line, vi: &'static str, en: &'static str, text: Option<&Text>) {
    if let Some(t) = text {
        line.insert(vi, t.vi.clone());
        line.insert(en, t.en.clone());
    }
}

/// Choice lists by name, each select field's under its own key (a repeat's
/// child under `group_key` when the key is taken by a different list).
#[derive(Default)]
struct Lists {
    names: BTreeMap<String, Vec<Choice>>,
    order: Vec<String>,
}

impl Lists {
    fn name_for(&mut self, wanted: String, fallback: String, choices: &[Choice]) -> String {
        for name in [wanted, fallback] {
            match self.names.get(&name) {
                Some(existing) if existing.as_slice() == choices => return name,
                Some(_) => continue,
                None => {
                    self.names.insert(name.clone(), choices.to_vec());
                    self.order.push(name.clone());
                    return name;
                }
            }
        }
        let name = format!("list_{}", self.order.len() + 1);
        self.names.insert(name.clone(), choices.to_vec());
        self.order.push(name.clone());
        name
    }
}

const YES_NO_LIST: &str = "khaosat_yes_no";

fn line(field: &Field, parent: Option<&str>, lists: &mut Lists) -> Line {
    let mut l = Line::new();
    let (kind, appearance, marker) = match field.kind {
        FieldType::Text => ("text".to_string(), None, None),
        FieldType::LongText => ("text".to_string(), Some("multiline"), None),
        FieldType::Integer => ("integer".to_string(), None, None),
        FieldType::Money => ("integer".to_string(), None, Some("bind::khaosat:money")),
        FieldType::Decimal => ("decimal".to_string(), None, None),
        FieldType::Date => ("date".to_string(), None, None),
        FieldType::Geopoint => ("geopoint".to_string(), None, None),
        FieldType::Photo => ("image".to_string(), None, None),
        FieldType::Note => ("note".to_string(), None, None),
        FieldType::Repeat => ("begin repeat".to_string(), None, None),
        FieldType::YesNo => {
            let yes_no = [("yes", "Có", "Yes"), ("no", "Không", "No")].map(|(v, vi, en)| Choice {
                value: v.into(),
                label: Text {
                    vi: vi.into(),
                    en: en.into(),
                },
            });
            lists.name_for(YES_NO_LIST.into(), YES_NO_LIST.into(), &yes_no);
            (
                format!("select_one {YES_NO_LIST}"),
                None,
                Some("bind::khaosat:yes_no"),
            )
        }
        FieldType::SelectOne | FieldType::SelectMany => {
            let fallback = format!("{}_{}", parent.unwrap_or("list"), field.key);
            let list = lists.name_for(field.key.clone(), fallback, &field.choices);
            let select = if field.kind == FieldType::SelectOne {
                "select_one"
            } else {
                "select_multiple"
            };
            (format!("{select} {list}"), None, None)
        }
    };
    l.insert("type", kind);
    l.insert("name", field.key.clone());
    texts(&mut l, "label::vi", "label::en", Some(&field.label));
    texts(&mut l, "hint::vi", "hint::en", field.hint.as_ref());
    if field.required {
        l.insert("required", "yes".into());
    }
    if let Some(r) = &field.relevant {
        l.insert("relevant", xpath::to_xpath(r));
    }
    if let Some(c) = xpath::constraint_text(field) {
        l.insert("constraint", c);
    }
    texts(
        &mut l,
        "constraint_message::vi",
        "constraint_message::en",
        field.constraint_message.as_ref(),
    );
    texts(
        &mut l,
        "required_message::vi",
        "required_message::en",
        field.required_message.as_ref(),
    );
    if let Some(a) = appearance {
        l.insert("appearance", a.into());
    }
    if let Some(px) = field.max_px {
        l.insert("parameters", format!("max-pixels={px}"));
    }
    if let Some(m) = marker {
        l.insert(m, "yes".into());
    }
    if let Some(rows) = field.max_rows {
        l.insert("bind::khaosat:max_rows", rows.to_string());
    }
    l
}

/// Column of a `Line` key in `survey_columns()`.
fn column_of(key: &str) -> usize {
    let full = match key.split_once("::") {
        Some((base, "vi")) => format!("{base}::{VI}"),
        Some((base, "en")) => format!("{base}::{EN}"),
        _ => key.to_string(),
    };
    survey_columns()
        .iter()
        .position(|c| *c == full)
        .unwrap_or(0)
}

fn write_row(
    ws: &mut Worksheet,
    row: u32,
    cells: &[String],
    format: Option<&Format>,
) -> Result<(), XlsxError> {
    for (c, text) in cells.iter().enumerate() {
        if text.is_empty() {
            continue;
        }
        match format {
            Some(f) => ws.write_string_with_format(row, c as u16, text, f)?,
            None => ws.write_string(row, c as u16, text)?,
        };
    }
    Ok(())
}

/// The workbook's bytes.
pub fn export(form: &FormDefinition) -> Result<Vec<u8>, String> {
    build(form).map_err(|e| e.to_string())
}

fn build(form: &FormDefinition) -> Result<Vec<u8>, XlsxError> {
    let mut lists = Lists::default();
    let mut lines: Vec<Line> = Vec::new();
    for section in &form.sections {
        let mut begin = Line::new();
        begin.insert("type", "begin group".into());
        begin.insert("name", section.key.clone());
        texts(&mut begin, "label::vi", "label::en", Some(&section.title));
        lines.push(begin);
        for field in &section.fields {
            lines.push(line(field, None, &mut lists));
            if field.kind == FieldType::Repeat {
                for child in &field.fields {
                    lines.push(line(child, Some(&field.key), &mut lists));
                }
                lines.push(Line::from([("type", "end repeat".to_string())]));
            }
        }
        lines.push(Line::from([("type", "end group".to_string())]));
    }
    let bold = Format::new().set_bold();
    let mut book = Workbook::new();
    let columns = survey_columns();
    let survey = book.add_worksheet();
    survey.set_name("survey")?;
    write_row(survey, 0, &columns, Some(&bold))?;
    for (i, l) in lines.iter().enumerate() {
        let mut cells = vec![String::new(); columns.len()];
        for (k, v) in l {
            cells[column_of(k)] = v.clone();
        }
        write_row(survey, i as u32 + 1, &cells, None)?;
    }
    survey.set_freeze_panes(1, 0)?;
    survey.set_column_width(0, 24)?;
    survey.set_column_width(1, 22)?;

    let choices = book.add_worksheet();
    choices.set_name("choices")?;
    let header = [
        "list_name",
        "name",
        &format!("label::{VI}"),
        &format!("label::{EN}"),
    ]
    .map(String::from);
    write_row(choices, 0, &header, Some(&bold))?;
    let mut r = 1;
    for name in &lists.order {
        for c in &lists.names[name] {
            write_row(
                choices,
                r,
                &[
                    name.clone(),
                    c.value.clone(),
                    c.label.vi.clone(),
                    c.label.en.clone(),
                ],
                None,
            )?;
            r += 1;
        }
    }
    choices.set_freeze_panes(1, 0)?;

    let settings = book.add_worksheet();
    settings.set_name("settings")?;
    let header = [
        "form_id",
        "version",
        "form_title",
        &format!("form_title::{EN}"),
        "default_language",
    ]
    .map(String::from);
    write_row(settings, 0, &header, Some(&bold))?;
    write_row(
        settings,
        1,
        &[
            form.id.clone(),
            form.version.to_string(),
            form.title.vi.clone(),
            form.title.en.clone(),
            VI.to_string(),
        ],
        None,
    )?;
    book.save_to_buffer()
}
