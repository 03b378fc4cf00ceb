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

pub(crate) fn flatten(prefix: &str, value: &serde_json::Value, out: &mut HashMap<String, String>) {
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
/// offline, before anything else loads. This is the field app's text and
/// what both sides share; the office's is in `locales/vi.office.json`.
pub const VI_SOURCE: &str = include_str!("../locales/vi.json");

/// English is compiled into the server and the tests. The browser fetches
/// the field's English from `/locales/en.json` (the server serves this text;
/// the service worker precaches it) the first time a person chooses English:
/// the phone's first download carries one language, not two.
#[cfg(not(feature = "hydrate"))]
pub const EN_SOURCE: &str = include_str!("../locales/en.json");

/// The office's pages' text, in both languages: compiled into the server,
/// and in the browser only into the office's lazy chunk
/// ([`load_office_texts`]), so a phone neither carries nor precaches
/// sentences no inspector is ever shown.
#[cfg(not(feature = "hydrate"))]
pub const VI_OFFICE_SOURCE: &str = include_str!("../locales/vi.office.json");
#[cfg(not(feature = "hydrate"))]
pub const EN_OFFICE_SOURCE: &str = include_str!("../locales/en.office.json");

static VI: OnceLock<HashMap<String, String>> = OnceLock::new();
static EN: OnceLock<HashMap<String, String>> = OnceLock::new();
/// The office's text in the browser, once an office page has loaded.
#[cfg(feature = "hydrate")]
static OFFICE: OnceLock<[HashMap<String, String>; 2]> = OnceLock::new();

fn parse_locale(src: &str) -> Result<HashMap<String, String>, serde_json::Error> {
    let value: serde_json::Value = serde_json::from_str(src)?;
    let mut out = HashMap::new();
    flatten("", &value, &mut out);
    Ok(out)
}

/// Both of a language's files as one table (the server has every page).
#[cfg(not(feature = "hydrate"))]
fn parse_whole(field: &str, office: &str) -> HashMap<String, String> {
    let mut out = parse_locale(field).expect("the field's locale is valid JSON");
    out.extend(parse_locale(office).expect("the office's locale is valid JSON"));
    out
}

/// Makes the office's text available in the browser. The office's lazy
/// function calls it before it renders, so this text (and the call) are in
/// the office's chunk, never in what a phone downloads. Both languages come
/// at once: a supervisor switches language without a fetch, offline too.
pub fn load_office_texts() {
    #[cfg(feature = "hydrate")]
    OFFICE.get_or_init(|| {
        let parse = |src| parse_locale(src).expect("the office's locale is valid JSON");
        [
            parse(include_str!("../locales/vi.office.json")),
            parse(include_str!("../locales/en.office.json")),
        ]
    });
}

/// The table of `lang`, or None while English has not been fetched yet.
fn table(lang: Lang) -> Option<&'static HashMap<String, String>> {
    match lang {
        #[cfg(not(feature = "hydrate"))]
        Lang::Vi => Some(VI.get_or_init(|| parse_whole(VI_SOURCE, VI_OFFICE_SOURCE))),
        #[cfg(feature = "hydrate")]
        Lang::Vi => {
            Some(VI.get_or_init(|| parse_locale(VI_SOURCE).expect("vi.json is valid JSON")))
        }
        #[cfg(not(feature = "hydrate"))]
        Lang::En => Some(EN.get_or_init(|| parse_whole(EN_SOURCE, EN_OFFICE_SOURCE))),
        #[cfg(feature = "hydrate")]
        Lang::En => EN.get(),
    }
}

/// The text of `key` in `lang`, if that language holds it: its table, then
/// (in the browser) the office's once loaded.
fn lookup(lang: Lang, key: &str) -> Option<&'static String> {
    table(lang)
        .and_then(|t| t.get(key))
        .or_else(|| office_table(lang).and_then(|t| t.get(key)))
}

#[cfg(feature = "hydrate")]
fn office_table(lang: Lang) -> Option<&'static HashMap<String, String>> {
    let [vi, en] = OFFICE.get()?;
    Some(match lang {
        Lang::Vi => vi,
        Lang::En => en,
    })
}

/// The server's tables hold the office's text already.
#[cfg(not(feature = "hydrate"))]
fn office_table(_: Lang) -> Option<&'static HashMap<String, String>> {
    None
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
    lookup(lang, key)
        .or_else(|| lookup(Lang::Vi, key))
        .cloned()
        .unwrap_or_else(|| key.to_string())
}

fn has(lang: Lang, key: &str) -> bool {
    lookup(lang, key).is_some()
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
#[path = "i18n_tests.rs"]
mod tests;
