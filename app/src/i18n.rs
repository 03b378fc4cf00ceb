//! UI text lives in `locales/vi.json` and `locales/en.json`, keys grouped by
//! screen. Vietnamese is the default and compiled in everywhere (the app must
//! work offline); the browser fetches English when a person chooses it.

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

/// Vietnamese is compiled into every build: it is what a phone shows first,
/// offline, before anything else loads.
pub const VI_SOURCE: &str = include_str!("../locales/vi.json");

/// English is compiled into the server and the tests. The browser fetches it
/// from `/locales/en.json` (the server serves this text; the service worker
/// precaches it) the first time a person chooses English: the phone's first
/// download carries one language, not two.
#[cfg(not(feature = "hydrate"))]
pub const EN_SOURCE: &str = include_str!("../locales/en.json");

static VI: OnceLock<HashMap<String, String>> = OnceLock::new();
static EN: OnceLock<HashMap<String, String>> = OnceLock::new();

fn parse_locale(src: &str) -> Result<HashMap<String, String>, serde_json::Error> {
    let value: serde_json::Value = serde_json::from_str(src)?;
    let mut out = HashMap::new();
    flatten("", &value, &mut out);
    Ok(out)
}

/// The table of `lang`, or None while English has not been fetched yet.
fn table(lang: Lang) -> Option<&'static HashMap<String, String>> {
    match lang {
        Lang::Vi => {
            Some(VI.get_or_init(|| parse_locale(VI_SOURCE).expect("vi.json is valid JSON")))
        }
        #[cfg(not(feature = "hydrate"))]
        Lang::En => {
            Some(EN.get_or_init(|| parse_locale(EN_SOURCE).expect("en.json is valid JSON")))
        }
        #[cfg(feature = "hydrate")]
        Lang::En => EN.get(),
    }
}

/// Whether the texts of `lang` are at hand (always, except English in the
/// browser before [`load`] fetched it).
pub fn is_loaded(lang: Lang) -> bool {
    table(lang).is_some()
}

/// Fetches the texts of `lang` if the browser does not hold them yet. The
/// locale signal must switch to a language only once this succeeded, so no
/// screen ever renders keys or half a translation.
#[cfg(feature = "hydrate")]
pub async fn load(lang: Lang) -> Result<(), crate::error::ErrorBody> {
    if is_loaded(lang) {
        return Ok(());
    }
    let value: serde_json::Value =
        crate::field::client::http::get_json(&format!("/locales/{}.json", lang.code()))
            .await
            .map_err(|e| e.body())?;
    let mut out = HashMap::new();
    flatten("", &value, &mut out);
    let _ = EN.set(out);
    Ok(())
}

/// The cookie that carries the chosen language to the server, so a page is
/// rendered in it from the first paint (localStorage, which the app read
/// after hydration, showed every English page in Vietnamese first).
pub const LANG_COOKIE: &str = "khaosat_lang";

/// The language a `Cookie` header (or `document.cookie`) names, if any.
pub fn lang_in_cookies(cookies: &str) -> Option<Lang> {
    cookies.split(';').find_map(|pair| {
        let (name, value) = pair.trim().split_once('=')?;
        (name == LANG_COOKIE).then(|| Lang::parse(value))
    })
}

/// The language a page starts in: on the server, the request's cookie; in
/// the browser, the same cookie once its texts are at hand (the app loads
/// English before it hydrates a page the server rendered in English).
pub fn initial_lang() -> Lang {
    #[cfg(feature = "ssr")]
    let cookies = use_context::<axum::http::request::Parts>()
        .and_then(|p| {
            p.headers
                .get(axum::http::header::COOKIE)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        })
        .unwrap_or_default();
    #[cfg(all(feature = "hydrate", not(feature = "ssr")))]
    let cookies = crate::field::client::browser::document_cookies();
    #[cfg(not(any(feature = "ssr", feature = "hydrate")))]
    let cookies = String::new();
    lang_in_cookies(&cookies)
        .filter(|l| is_loaded(*l))
        .unwrap_or_default()
}

/// Before the app renders in the browser: fetches the texts of the language
/// the cookie names (from the service worker's cache offline), so the first
/// render matches the server's page.
#[cfg(feature = "hydrate")]
pub async fn load_chosen() {
    if let Some(lang) = lang_in_cookies(&crate::field::client::browser::document_cookies()) {
        if let Err(body) = load(lang).await {
            leptos::logging::warn!("{} texts unavailable: {}", lang.code(), body.message);
        }
    }
}

/// Switches the interface to `lang`, fetching its texts first when needed,
/// and remembers the choice on this phone (and in a cookie for the server). On failure (offline before English
/// was ever cached) the language and the remembered choice stay as they were.
#[cfg(feature = "hydrate")]
pub fn switch(locale: Locale, lang: Lang) {
    let apply = move || {
        locale.0.set(lang);
        crate::field::client::browser::local_storage_set("khaosat.lang", lang.code());
        crate::field::client::browser::set_document_cookie(&format!(
            "{LANG_COOKIE}={}; Path=/; Max-Age=31536000; SameSite=Lax",
            lang.code()
        ));
    };
    if is_loaded(lang) {
        apply();
        return;
    }
    leptos::task::spawn_local(async move {
        match load(lang).await {
            Ok(()) => apply(),
            Err(body) => {
                leptos::logging::warn!("{} texts unavailable: {}", lang.code(), body.message)
            }
        }
    });
}

/// The text for `key`; falls back to Vietnamese, then to the key itself so a
/// missing translation is visible rather than blank.
pub fn t(lang: Lang, key: &str) -> String {
    table(lang)
        .and_then(|t| t.get(key))
        .or_else(|| table(Lang::Vi).and_then(|t| t.get(key)))
        .cloned()
        .unwrap_or_else(|| key.to_string())
}

fn has(lang: Lang, key: &str) -> bool {
    table(lang).is_some_and(|t| t.contains_key(key))
}

/// Text for an error body: `errors.<code>` from the locale, `{name}` filled from
/// params. A body whose `reason` param names a sentence of its own
/// (`errors.<code>_<reason>`) gets that one, so a detail the server writes in
/// English never lands inside a Vietnamese sentence; one that brings its
/// sentences (`worded`: `{"vi": …, "en": …}`, for the office's rarer
/// refusals, kept out of the phone's locale) gets those.
pub fn error_text(lang: Lang, body: &crate::error::ErrorBody) -> String {
    let worded = body
        .params
        .get("worded")
        .and_then(|w| w.get(lang.code()))
        .and_then(serde_json::Value::as_str);
    let known = |key: &String| has(lang, key) || has(Lang::Vi, key);
    let general = format!("errors.{}", body.code);
    let key = body
        .params
        .get("reason")
        .and_then(|r| r.as_str())
        .map(|reason| format!("{general}_{reason}"))
        .filter(known)
        .unwrap_or(general);
    let mut text = if let Some(worded) = worded {
        worded.to_string()
    } else if known(&key) {
        t(lang, &key)
    } else {
        t(lang, "errors.unknown")
    };
    for (name, value) in &body.params {
        let shown = match value {
            // A review state names itself in the reader's words.
            serde_json::Value::String(s)
                if (name == "from" || name == "to") && has(lang, &format!("review_state.{s}")) =>
            {
                t(lang, &format!("review_state.{s}"))
            }
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
            // "1900", not "1900.0"; "1.000.000" in Vietnamese.
            serde_json::Value::Number(n) => n
                .as_f64()
                .map(|x| crate::format::readable_number(x, lang == Lang::Vi))
                .unwrap_or_else(|| n.to_string()),
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

    #[test]
    fn the_language_cookie_is_found_among_others() {
        assert_eq!(lang_in_cookies("khaosat_lang=en"), Some(Lang::En));
        assert_eq!(
            lang_in_cookies("khaosat_session=abc; khaosat_lang=vi; x=1"),
            Some(Lang::Vi)
        );
        assert_eq!(lang_in_cookies("khaosat_session=abc"), None);
        assert_eq!(lang_in_cookies("xkhaosat_lang=en"), None);
        assert_eq!(lang_in_cookies(""), None);
    }

    /// A send-back on a visit another tab had just approved said only that
    /// the visit "cannot move to that state": not which, nor what to do.
    #[test]
    fn a_refused_review_step_names_both_states_in_the_readers_words() {
        let body = crate::error::ErrorBody::new("review.bad_transition", "x")
            .with("from", "approved")
            .with("to", "needs_changes");
        let vi = error_text(Lang::Vi, &body);
        assert!(
            vi.contains("“Đã duyệt”") && vi.contains("“Cần bổ sung”"),
            "{vi}"
        );
        assert!(vi.contains("tải lại trang"), "{vi}");
        let en = error_text(Lang::En, &body);
        assert!(
            en.contains("“Approved”") && en.contains("“Needs changes”"),
            "{en}"
        );
    }

    fn keys(lang: Lang) -> std::collections::BTreeSet<String> {
        table(lang).expect("compiled in").keys().cloned().collect()
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
    fn a_reason_with_a_sentence_of_its_own_keeps_english_detail_out() {
        let detail = "the archive is damaged: mutations.ndjson line 3: EOF";
        let body = crate::error::ErrorBody::new("import.bad_archive", detail)
            .with("detail", detail)
            .with("reason", "damaged");
        let vi = error_text(Lang::Vi, &body);
        assert_eq!(vi, t(Lang::Vi, "errors.import.bad_archive_damaged"));
        assert!(!vi.contains("mutations.ndjson"), "{vi}");
        let newer = crate::error::ErrorBody::new("import.bad_archive", "x")
            .with("reason", "too_new")
            .with("version", 3);
        assert!(error_text(Lang::Vi, &newer).contains("định dạng số 3"));
        // Every reason the server gives has its sentence in both languages.
        use crate::sync::archive::ArchiveError;
        let reasons = [
            ArchiveError::NotAnArchive(String::new()).reason(),
            ArchiveError::Damaged(String::new()).reason(),
            ArchiveError::TooNew(2).reason(),
            ArchiveError::Recompressed(String::new()).reason(),
            crate::sync::archive::NOT_ZIP,
        ];
        for reason in reasons {
            let key = format!("errors.import.bad_archive_{reason}");
            assert!(has(Lang::Vi, &key) && has(Lang::En, &key), "{key}");
        }
        // A reason without a sentence keeps the general one, detail and all.
        let odd = body.clone().with("reason", "no_such_reason");
        assert!(error_text(Lang::En, &odd).contains("mutations.ndjson"));
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
            error_text(Lang::En, &unknown.clone().with("reason", "damaged")),
            t(Lang::En, "errors.unknown")
        );
        assert_eq!(
            error_text(Lang::En, &unknown),
            t(Lang::En, "errors.unknown")
        );
    }
}
