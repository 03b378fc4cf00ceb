//! Form definitions. A visit records `(form id, version)`; versions are immutable
//! once published so an old visit always renders with the form it was filled in.
//!
//! One file (about 470 lines): the definition and the checks it must pass
//! before it is stored are read together; their sentences and tests are
//! beside it (`definition_words.rs`, `definition_tests.rs`).

use serde::{Deserialize, Serialize};

use super::definition_error::wrong;
pub use super::definition_error::DefinitionError;

/// Text in both UI languages.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "ssr", derive(schemars::JsonSchema))]
pub struct Text {
    pub vi: String,
    pub en: String,
}

impl Text {
    pub fn get(&self, lang: crate::i18n::Lang) -> &str {
        match lang {
            crate::i18n::Lang::Vi => &self.vi,
            crate::i18n::Lang::En => &self.en,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(schemars::JsonSchema))]
pub struct FormDefinition {
    pub id: String,
    pub version: i32,
    pub title: Text,
    pub sections: Vec<Section>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(schemars::JsonSchema))]
pub struct Section {
    pub key: String,
    pub title: Text,
    pub fields: Vec<Field>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum FieldType {
    Text,
    LongText,
    Integer,
    Decimal,
    Money,
    Date,
    SelectOne,
    SelectMany,
    YesNo,
    Geopoint,
    Photo,
    Note,
    Repeat,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(schemars::JsonSchema))]
pub struct Choice {
    pub value: String,
    pub label: Text,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(schemars::JsonSchema))]
pub struct Field {
    pub key: String,
    #[serde(rename = "type")]
    pub kind: FieldType,
    pub label: Text,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hint: Option<Text>,
    #[serde(default)]
    pub required: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_length: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_length: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pattern: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub choices: Vec<Choice>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub relevant: Option<String>,
    /// Child fields of a repeat group.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<Field>,
    /// Photo fields: longest side after the phone's downscale (default 2048 px).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_px: Option<u32>,
    /// Repeat groups: most live rows a visit may hold (default
    /// `DEFAULT_MAX_ROWS`, at most `MAX_ROWS_LIMIT`). Checked on the phone
    /// before a row is added and by the server when one arrives.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_rows: Option<u32>,
    /// Said instead of the generic "required" text when the answer is missing
    /// at finalize (XLSForm's `required_message`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub required_message: Option<Text>,
    /// Said instead of the generic rule text when an answer breaks the field's
    /// range, length or pattern (XLSForm's `constraint_message`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub constraint_message: Option<Text>,
}

/// Rows a repeat group holds unless its definition says otherwise: far more
/// than any real inventory of machines, and pages that stay readable.
pub const DEFAULT_MAX_ROWS: u32 = 200;
/// The most an administrator may allow.
pub const MAX_ROWS_LIMIT: u32 = 1000;

impl Field {
    /// The row cap of a repeat group.
    pub fn row_limit(&self) -> usize {
        self.max_rows
            .unwrap_or(DEFAULT_MAX_ROWS)
            .min(MAX_ROWS_LIMIT) as usize
    }
}

/// One stored version of a form, as the administrator's list shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FormVersion {
    pub id: String,
    pub version: i32,
    pub title: Text,
    pub fields: i64,
    pub current: bool,
    pub created_at_ms: i64,
}

/// The field whose choices a phone offers as the industry group of a
/// facility found on site.
pub const FACILITY_INDUSTRY_KEY: &str = "industry_group";

/// Visit header fields travel in the same mutation maps as answers, so no form
/// may define a field with one of these keys.
/// Keys the first change of a repeat-group row carries besides its answers.
pub const ROW_HEADER_KEYS: &[&str] = &["visit_id", "group"];

pub const RESERVED_KEYS: &[&str] = &[
    "form_id",
    "form_version",
    "proposal_id",
    "facility_id",
    "started_at",
];

impl FormDefinition {
    /// Every top-level field in order.
    pub fn fields(&self) -> impl Iterator<Item = &Field> {
        self.sections.iter().flat_map(|s| s.fields.iter())
    }

    pub fn field(&self, key: &str) -> Option<&Field> {
        self.fields().find(|f| f.key == key)
    }

    /// Writes every condition in its one canonical spelling (`expr::print`), so
    /// that a published form exported to XLSForm imports to the identical text.
    pub fn canonicalize(&mut self) {
        fn fix(f: &mut Field) {
            if let Some(r) = f.relevant.as_mut() {
                *r = super::expr::canonical(r);
            }
            f.fields.iter_mut().for_each(fix);
        }
        self.sections
            .iter_mut()
            .flat_map(|s| s.fields.iter_mut())
            .for_each(fix);
    }

    /// Checks what a definition must satisfy before it is stored: unique keys, no
    /// reserved key, choices where choices are needed, expressions that parse.
    /// The error names the field and what is wrong, in a sentence of each
    /// language (`DefinitionError::body`).
    pub fn check(&self) -> Result<(), DefinitionError> {
        if self.id.trim().is_empty() {
            return Err(wrong("no_id", "the form has no id".into()));
        }
        if self.version < 1 {
            return Err(wrong(
                "version",
                format!("form version must be 1 or more, not {}", self.version),
            )
            .with("version", self.version));
        }
        // The next version is this one plus one, on the server and on the
        // phone alike: a number near the top of the type could not be followed.
        if self.version > MAX_VERSION {
            return Err(wrong(
                "version_too_large",
                format!(
                    "form version must be at most {MAX_VERSION}, not {}",
                    self.version
                ),
            )
            .with("version", self.version)
            .with("max", MAX_VERSION));
        }
        let mut seen = std::collections::BTreeSet::new();
        for field in self.fields() {
            check_field(field, &mut seen)?;
            let mut in_row = std::collections::BTreeSet::new();
            for child in &field.fields {
                // A row's first change carries these beside its answers: a
                // question of that name could never be answered.
                if ROW_HEADER_KEYS.contains(&child.key.as_str()) {
                    return Err(wrong(
                        "row_header_key",
                        format!(
                            "field key \"{}\" in repeat \"{}\" is reserved for the row header",
                            child.key, field.key
                        ),
                    )
                    .with("key", child.key.as_str())
                    .with("group", field.key.as_str()));
                }
                check_field(child, &mut in_row)?;
            }
        }
        // A condition reads the answers where its field is asked: the visit's
        // for a visit's question (and a repeat group's own condition), the
        // row's for a row's. Any other name is always blank, and the question
        // it guards hidden for good (so never required): a misspelt name is
        // refused here, as the XLSForm import refuses it.
        let visit: std::collections::BTreeSet<&str> =
            self.fields().map(|f| f.key.as_str()).collect();
        for field in self.fields() {
            names_where_asked(field, &visit)?;
            let row = field.fields.iter().map(|c| c.key.as_str()).collect();
            for child in &field.fields {
                names_where_asked(child, &row)?;
            }
        }
        Ok(())
    }
}

fn names_where_asked(
    field: &Field,
    names: &std::collections::BTreeSet<&str>,
) -> Result<(), DefinitionError> {
    let Some(tree) = field
        .relevant
        .as_deref()
        .and_then(|r| super::expr::parse(r).ok())
    else {
        return Ok(());
    };
    match super::expr::fields(&tree).into_iter().find(|n| !names.contains(n)) {
        Some(name) => Err(wrong(
            "relevant_unknown_field",
            format!(
                "field \"{}\": relevant names \"{name}\", which is not a question where it is asked",
                field.key
            ),
        )
        .with("key", field.key.as_str())
        .with("field", name)),
        None => Ok(()),
    }
}

/// The highest form version: versions count up by one from here on.
pub const MAX_VERSION: i32 = 1_000_000;
/// The longest text answer a form may ask for (`min_length`/`max_length`):
/// a phone's WebAssembly reads lengths as 32-bit numbers, and a larger one
/// made every pull carrying the form fail on every phone.
pub const MAX_TEXT_LENGTH: usize = 100_000;
/// The longest label or hint of a question, in characters: a spreadsheet
/// cell (the XLSForm export) holds at most 32,767.
pub const MAX_LABEL_CHARS: usize = 2_000;

fn check_field(
    field: &Field,
    seen: &mut std::collections::BTreeSet<String>,
) -> Result<(), DefinitionError> {
    let key = &field.key;
    let wrong =
        |reason: &'static str, message: String| wrong(reason, message).with("key", key.as_str());
    let texts = [Some(&field.label), field.hint.as_ref()]
        .into_iter()
        .flatten();
    let texts = texts.chain(field.choices.iter().map(|c| &c.label));
    if texts
        .flat_map(|t| [&t.vi, &t.en])
        .any(|t| t.chars().count() > MAX_LABEL_CHARS)
    {
        return Err(wrong(
            "label_too_long",
            format!(
                "field \"{key}\": a label, hint or choice is over {MAX_LABEL_CHARS} characters"
            ),
        )
        .with("max", MAX_LABEL_CHARS));
    }
    for length in [field.min_length, field.max_length].into_iter().flatten() {
        if length > MAX_TEXT_LENGTH {
            return Err(wrong(
                "length_range",
                format!("field \"{key}\": a text length must be at most {MAX_TEXT_LENGTH}, not {length}"),
            )
            .with("max", MAX_TEXT_LENGTH)
            .with("value", length));
        }
    }
    if let (Some(min), Some(max)) = (field.min_length, field.max_length) {
        if min > max {
            return Err(wrong(
                "length_order",
                format!("field \"{key}\": min length {min} is greater than max length {max}"),
            )
            .with("min", min)
            .with("max", max));
        }
    }
    let valid_key = !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && !key.starts_with(|c: char| c.is_ascii_digit());
    if !valid_key {
        return Err(wrong(
            "key_format",
            format!("field key \"{key}\" must be snake_case ASCII"),
        ));
    }
    if RESERVED_KEYS.contains(&key.as_str()) {
        return Err(wrong(
            "reserved_key",
            format!("field key \"{key}\" is reserved for the visit header"),
        ));
    }
    if !seen.insert(key.clone()) {
        return Err(wrong(
            "key_twice",
            format!("field key \"{key}\" is used twice"),
        ));
    }
    let needs_choices = matches!(field.kind, FieldType::SelectOne | FieldType::SelectMany);
    if needs_choices && field.choices.is_empty() {
        return Err(wrong(
            "no_choices",
            format!("field \"{key}\" is a select field without choices"),
        ));
    }
    // A phone registering a facility found on site offers this field's
    // choices as the facility's industry group, which the office and the
    // registry then check against the register's list.
    if key == FACILITY_INDUSTRY_KEY {
        if let Some(c) = field
            .choices
            .iter()
            .find(|c| !crate::model::INDUSTRIES.contains(&c.value.as_str()))
        {
            let groups = crate::model::INDUSTRIES.join(", ");
            return Err(wrong(
                "industry",
                format!(
                    "field \"{key}\" offers \"{}\", which is not an industry group of the register ({groups})",
                    c.value
                ),
            )
            .with("value", c.value.as_str())
            .with("groups", groups));
        }
    }
    if field.kind == FieldType::Repeat && field.fields.is_empty() {
        return Err(wrong(
            "empty_repeat",
            format!("repeat group \"{key}\" has no fields"),
        ));
    }
    // Photos are records of their visit: a row cannot hold them (yet).
    if let Some(child) = field.fields.iter().find(|c| c.kind == FieldType::Photo) {
        return Err(wrong(
            "photo_in_repeat",
            format!(
                "repeat group \"{key}\": photo field \"{}\" must be on the visit, not inside a repeat group",
                child.key
            ),
        )
        .with("photo", child.key.as_str()));
    }
    if let (Some(min), Some(max)) = (field.min, field.max) {
        if min > max {
            return Err(wrong(
                "min_above_max",
                format!("field \"{key}\": min {min} is greater than max {max}"),
            )
            .with("min", min)
            .with("max", max));
        }
    }
    if let Some(pattern) = &field.pattern {
        if !matches!(field.kind, FieldType::Text | FieldType::LongText) {
            return Err(wrong(
                "pattern_not_text",
                format!("field \"{key}\": a pattern applies only to text fields"),
            ));
        }
        super::rules::compile_pattern(pattern).map_err(|e| {
            wrong(
                "bad_pattern",
                format!("field \"{key}\": pattern does not compile: {e}"),
            )
            .with("detail", e)
        })?;
    }
    if let Some(expr) = &field.relevant {
        super::expr::parse(expr).map_err(|e| {
            wrong("bad_relevant", format!("field \"{key}\": relevant: {e}")).with("detail", e)
        })?;
    }
    if let Some(rows) = field.max_rows {
        if field.kind != FieldType::Repeat {
            return Err(wrong(
                "max_rows_not_repeat",
                format!("field \"{key}\": max_rows applies only to repeat groups"),
            ));
        }
        if !(1..=MAX_ROWS_LIMIT).contains(&rows) {
            return Err(wrong(
                "max_rows_range",
                format!(
                    "field \"{key}\": max_rows must be between 1 and {MAX_ROWS_LIMIT}, not {rows}"
                ),
            )
            .with("max", MAX_ROWS_LIMIT)
            .with("value", rows));
        }
    }
    if let Some(px) = field.max_px {
        let (lo, hi) = crate::photos::MAX_PX_RANGE;
        if field.kind != FieldType::Photo {
            return Err(wrong(
                "max_px_not_photo",
                format!("field \"{key}\": max_px applies only to photo fields"),
            ));
        }
        if !(lo..=hi).contains(&px) {
            return Err(wrong(
                "max_px_range",
                format!("field \"{key}\": max_px must be between {lo} and {hi}, not {px}"),
            )
            .with("min", lo)
            .with("max", hi)
            .with("value", px));
        }
    }
    Ok(())
}

#[cfg(test)]
#[path = "definition_tests.rs"]
mod tests;
