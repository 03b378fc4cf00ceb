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

    /// JSON that does not read as a definition, where it went wrong.
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

impl std::fmt::Display for DefinitionError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}
