//! What is wrong with a form definition the server refuses: a reason, its
//! parameters and the English detail, made into the error body whose
//! sentence the office shows in the reader's language.

/// What is wrong with a definition: `reason` names a sentence of each
/// language (`definition_words`) filled from `params`; `message` is the
/// English detail for logs and API callers.
#[derive(Debug, Clone, PartialEq)]
pub struct DefinitionError {
    pub reason: &'static str,
    pub params: Vec<(&'static str, serde_json::Value)>,
    pub message: String,
}

pub(super) fn wrong(reason: &'static str, message: String) -> DefinitionError {
    DefinitionError {
        reason,
        params: Vec::new(),
        message,
    }
}

impl DefinitionError {
    pub(super) fn with(mut self, name: &'static str, value: impl Into<serde_json::Value>) -> Self {
        self.params.push((name, value.into()));
        self
    }

    /// JSON that does not read as a definition, where it went wrong and
    /// serde's English detail (`body` words it for the reader).
    pub fn json(line: usize, column: usize, detail: String) -> Self {
        wrong("json", format!("line {line}, column {column}: {detail}"))
            .with("line", line)
            .with("column", column)
            .with("detail", detail)
    }

    /// The answer's body: `form.invalid_definition`, as before, with the
    /// English detail, the reason, its sentence in each language (`worded`,
    /// from `definition_words`) and the parameters that fill it.
    #[cfg(feature = "ssr")]
    pub fn body(&self) -> crate::error::ErrorBody {
        let (vi, en) = super::definition_words::sentence(self.reason);
        let mut body =
            crate::error::ErrorBody::new("form.invalid_definition", self.message.clone())
                .with("detail", self.message.clone())
                .with("reason", self.reason)
                .with("worded", serde_json::json!({"vi": vi, "en": en}));
        for (name, value) in &self.params {
            body = body.with(name, value.clone());
        }
        let param = |name: &str| {
            self.params
                .iter()
                .find(|(n, _)| *n == name)
                .and_then(|(_, v)| v.as_str())
                .unwrap_or_default()
        };
        // What went wrong, and where, in the reader's words (serde's detail
        // and the item, made into phrases by `definition_words`).
        let words = match self.reason {
            "json" => Some(("what", super::definition_words::json_what(param("detail")))),
            "unknown_key" => Some(("at", super::definition_words::place(param("item")))),
            _ => None,
        };
        if let Some((name, (vi, en))) = words {
            body = body
                .with(&format!("{name}_vi"), vi)
                .with(&format!("{name}_en"), en);
        }
        if self.reason == "industry" {
            // The codes a definition must use, each with its name in the reader's words.
            for lang in [crate::i18n::Lang::Vi, crate::i18n::Lang::En] {
                let named: Vec<String> = crate::model::INDUSTRIES
                    .iter()
                    .map(|code| {
                        format!(
                            "{code} ({})",
                            crate::i18n::t(lang, &format!("industry.{code}"))
                        )
                    })
                    .collect();
                body = body.with(&format!("groups_{}", lang.code()), named.join(", "));
            }
        }
        body
    }
}

/// The first key of a definition's JSON (`written`) that serde passed over
/// because no part of a definition has it: "requird": true, misspelt, would
/// leave a question optional without a word. `read` is the definition serde
/// made of it; a key it does not write back is unknown, unless its value is
/// empty or false (a default the definition leaves out, harmless if not).
#[cfg(feature = "ssr")]
pub fn unknown_key(
    written: &serde_json::Value,
    read: &super::FormDefinition,
) -> Option<DefinitionError> {
    use serde_json::Value;
    fn empty(v: &Value) -> bool {
        match v {
            Value::Null => true,
            Value::Bool(b) => !b,
            Value::String(s) => s.is_empty(),
            Value::Array(a) => a.is_empty(),
            Value::Object(o) => o.is_empty(),
            Value::Number(n) => n.as_f64() == Some(0.0),
        }
    }
    fn walk(written: &Value, read: &Value, item: Option<&str>) -> Option<(String, Option<String>)> {
        match (written, read) {
            (Value::Object(w), Value::Object(r)) => {
                let item = w.get("key").and_then(Value::as_str).or(item);
                for (name, value) in w {
                    match r.get(name) {
                        None if !empty(value) => {
                            return Some((name.clone(), item.map(str::to_string)))
                        }
                        None => {}
                        Some(known) => {
                            if let Some(found) = walk(value, known, item) {
                                return Some(found);
                            }
                        }
                    }
                }
                None
            }
            (Value::Array(w), Value::Array(r)) => {
                w.iter().zip(r).find_map(|(w, r)| walk(w, r, item))
            }
            _ => None,
        }
    }
    let read = serde_json::to_value(read).ok()?;
    let (name, item) = walk(written, &read, None)?;
    let at = item
        .as_deref()
        .map_or("the form's header".to_string(), |k| format!("item «{k}»"));
    Some(
        wrong(
            "unknown_key",
            format!("{name:?} (in {at}) is not part of a form definition"),
        )
        .with("name", name)
        .with("item", item.unwrap_or_default()),
    )
}

impl std::fmt::Display for DefinitionError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}
