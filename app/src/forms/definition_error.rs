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
    /// what, in each language (`what_vi`, `what_en`).
    pub fn json(line: usize, column: usize, detail: String) -> Self {
        let (what_vi, what_en) = json_what(&detail);
        wrong("json", format!("line {line}, column {column}: {detail}"))
            .with("line", line)
            .with("column", column)
            .with("what_vi", what_vi)
            .with("what_en", what_en)
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
    let (at_vi, at_en) = match &item {
        Some(key) => (format!("mục «{key}»"), format!("item «{key}»")),
        None => (
            "phần đầu biểu mẫu".to_string(),
            "the form's header".to_string(),
        ),
    };
    Some(
        wrong(
            "unknown_key",
            format!("{name:?} (in {}) is not part of a form definition", at_en),
        )
        .with("name", name)
        .with("at_vi", at_vi)
        .with("at_en", at_en),
    )
}

/// What serde's English `detail` says, in Vietnamese and English: the ways a
/// definition written by hand usually goes wrong are named with the field or
/// value; any other error is a general sentence (the detail stays in English
/// for the log).
pub(super) fn json_what(detail: &str) -> (String, String) {
    // serde quotes names and values in backticks: `title`.
    let quoted = |after: &str| -> Option<String> {
        let rest = detail.split_once(after)?.1;
        let rest = rest.strip_prefix('`')?;
        Some(rest.split('`').next()?.to_string())
    };
    let allowed = || {
        detail
            .split_once("expected one of ")
            .map(|(_, list)| {
                let list = list.split(" at line").next().unwrap_or(list);
                list.replace('`', "")
            })
            .unwrap_or_default()
    };
    if let Some(name) = quoted("missing field ") {
        (
            format!("thiếu trường «{name}»"),
            format!("the field «{name}» is missing"),
        )
    } else if let Some(name) = quoted("duplicate field ") {
        (
            format!("trường «{name}» được viết hai lần"),
            format!("the field «{name}» is written twice"),
        )
    } else if let Some(name) = quoted("unknown field ") {
        (
            format!(
                "không có trường nào tên «{name}» (các trường được dùng: {})",
                allowed()
            ),
            format!("there is no field «{name}» (the fields are: {})", allowed()),
        )
    } else if let Some(value) = quoted("unknown variant ") {
        (
            format!(
                "«{value}» không phải một giá trị được dùng ở đây (chọn một trong: {})",
                allowed()
            ),
            format!("«{value}» is not a value used here (one of: {})", allowed()),
        )
    } else if detail.starts_with("invalid type") || detail.starts_with("invalid value") {
        let expected = detail
            .split_once(", expected ")
            .map(|(_, e)| e.split(" at line").next().unwrap_or(e))
            .unwrap_or_default();
        let (vi, en) = kind_words(expected);
        (
            format!("một giá trị sai kiểu, ở đây cần {vi}"),
            format!("a value of the wrong kind, where {en} is needed"),
        )
    } else if detail.starts_with("EOF while parsing") {
        (
            "tệp dừng giữa chừng, thiếu phần cuối (dấu ngoặc hoặc dấu nháy chưa đóng)".to_string(),
            "the file stops before its end (a bracket or quote left open)".to_string(),
        )
    } else if detail.starts_with("expected")
        || detail.starts_with("trailing")
        || detail.starts_with("key must be")
        || detail.starts_with("control character")
        || detail.starts_with("invalid escape")
        || detail.starts_with("invalid number")
    {
        (
            "sai cú pháp JSON (thiếu hoặc thừa dấu phẩy, dấu ngoặc hay dấu nháy)".to_string(),
            "a JSON syntax error (a comma, bracket or quote missing or extra)".to_string(),
        )
    } else {
        (
            "nội dung không đúng dạng của một định nghĩa biểu mẫu".to_string(),
            "the content is not shaped like a form definition".to_string(),
        )
    }
}

/// The kind of value serde `expected` ("i32", "a boolean", "struct Text"),
/// in words an administrator reads, not Rust's.
fn kind_words(expected: &str) -> (&'static str, &'static str) {
    let first = expected.split_whitespace().next().unwrap_or("");
    match first {
        "i8" | "i16" | "i32" | "i64" | "u8" | "u16" | "u32" | "u64" | "isize" | "usize" => {
            ("một số nguyên", "a whole number")
        }
        "f32" | "f64" => ("một số", "a number"),
        "struct" | "map" => ("một đối tượng { … }", "an object { … }"),
        "tuple" => ("một danh sách [ … ]", "a list [ … ]"),
        _ => match expected {
            "a string" | "a borrowed string" | "a character" => {
                ("chữ trong dấu nháy \"…\"", "text in quotes \"…\"")
            }
            "a boolean" => ("true hoặc false", "true or false"),
            "a sequence" => ("một danh sách [ … ]", "a list [ … ]"),
            "a map" => ("một đối tượng { … }", "an object { … }"),
            _ if expected.contains("integer") => ("một số nguyên", "a whole number"),
            _ if expected.contains("number") || expected.contains("float") => {
                ("một số", "a number")
            }
            _ => ("một kiểu giá trị khác", "another kind of value"),
        },
    }
}

impl std::fmt::Display for DefinitionError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}
