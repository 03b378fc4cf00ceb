//! UI text lives in `locales/vi.json` and `locales/en.json`, compiled in (the app
//! must work offline), keys grouped by screen. Vietnamese is the default.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::OnceLock;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Lang {
    #[default]
    Vi,
    En,
}

impl Lang {
    pub fn code(self) -> &'static str {
        match self {
            Lang::Vi => "vi",
            Lang::En => "en",
        }
    }

    pub fn parse(s: &str) -> Lang {
        if s.starts_with("en") {
            Lang::En
        } else {
            Lang::Vi
        }
    }

    pub fn other(self) -> Lang {
        match self {
            Lang::Vi => Lang::En,
            Lang::En => Lang::Vi,
        }
    }
}

fn flatten(prefix: &str, value: &serde_json::Value, out: &mut HashMap<String, String>) {
    match value {
        serde_json::Value::Object(map) => {
            for (k, v) in map {
                let key = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                flatten(&key, v, out);
            }
        }
        serde_json::Value::String(s) => {
            out.insert(prefix.to_string(), s.clone());
        }
        _ => {}
    }
}

fn table(lang: Lang) -> &'static HashMap<String, String> {
    static VI: OnceLock<HashMap<String, String>> = OnceLock::new();
    static EN: OnceLock<HashMap<String, String>> = OnceLock::new();
    let (cell, src) = match lang {
        Lang::Vi => (&VI, include_str!("../locales/vi.json")),
        Lang::En => (&EN, include_str!("../locales/en.json")),
    };
    cell.get_or_init(|| {
        let value: serde_json::Value =
            serde_json::from_str(src).expect("locale file is valid JSON");
        let mut out = HashMap::new();
        flatten("", &value, &mut out);
        out
    })
}

/// The text for `key`; falls back to Vietnamese, then to the key itself so a
/// missing translation is visible rather than blank.
pub fn t(lang: Lang, key: &str) -> String {
    table(lang)
        .get(key)
        .or_else(|| table(Lang::Vi).get(key))
        .cloned()
        .unwrap_or_else(|| key.to_string())
}

/// Text for an error body: `errors.<code>` from the locale, `{name}` filled from params.
pub fn error_text(lang: Lang, body: &crate::error::ErrorBody) -> String {
    let key = format!("errors.{}", body.code);
    let mut text = if table(lang).contains_key(&key) || table(Lang::Vi).contains_key(&key) {
        t(lang, &key)
    } else {
        t(lang, "errors.unknown")
    };
    for (name, value) in &body.params {
        let shown = match value {
            serde_json::Value::String(s) => s.clone(),
            serde_json::Value::Array(items) => items
                .iter()
                .map(|i| {
                    i.as_str()
                        .map(str::to_string)
                        .unwrap_or_else(|| i.to_string())
                })
                .collect::<Vec<_>>()
                .join(", "),
            other => other.to_string(),
        };
        text = text.replace(&format!("{{{name}}}"), &shown);
    }
    text
}

/// The current language, provided at the root.
#[derive(Clone, Copy)]
pub struct Locale(pub RwSignal<Lang>);

pub fn use_locale() -> Locale {
    expect_context::<Locale>()
}

/// A reactive translator: `let tr = use_t(); view! { {move || tr("login.title")} }`.
pub fn use_t() -> impl Fn(&str) -> String + Copy + Send + Sync + 'static {
    let Locale(lang) = use_locale();
    move |key: &str| t(lang.get(), key)
}

/// The label of an industry group; an unknown group shows its code.
pub fn industry_label(lang: Lang, group: &str) -> String {
    let key = format!("industry.{group}");
    let label = t(lang, &key);
    if label == key {
        group.to_string()
    } else {
        label
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(lang: Lang) -> std::collections::BTreeSet<String> {
        table(lang).keys().cloned().collect()
    }

    #[test]
    fn both_locales_have_the_same_keys() {
        let vi = keys(Lang::Vi);
        let en = keys(Lang::En);
        let missing_en: Vec<_> = vi.difference(&en).collect();
        let missing_vi: Vec<_> = en.difference(&vi).collect();
        assert!(missing_en.is_empty(), "missing in en.json: {missing_en:?}");
        assert!(missing_vi.is_empty(), "missing in vi.json: {missing_vi:?}");
    }

    #[test]
    fn vietnamese_text_has_its_diacritics() {
        assert_eq!(t(Lang::Vi, "login.submit"), "Đăng nhập");
    }

    #[test]
    fn error_text_fills_params() {
        let body = crate::error::ErrorBody::new("sync.seq_gap", "x").with("expected", 4);
        assert!(error_text(Lang::Vi, &body).contains('4'));
        let unknown = crate::error::ErrorBody::new("no.such.code", "x");
        assert_eq!(
            error_text(Lang::En, &unknown),
            t(Lang::En, "errors.unknown")
        );
    }
}
