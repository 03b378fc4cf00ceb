//! localStorage and sessionStorage: a failure (storage off, quota, a private
//! window) is a missing value or a write not made, never an error, because
//! what is kept here is only ever a copy of something held elsewhere.

pub fn local_storage_get(key: &str) -> Option<String> {
    web_sys::window()?
        .local_storage()
        .ok()??
        .get_item(key)
        .ok()?
}

pub fn local_storage_set(key: &str, value: &str) {
    if let Some(storage) = web_sys::window().and_then(|w| w.local_storage().ok().flatten()) {
        let _ = storage.set_item(key, value);
    }
}

/// The value, removed as it is read.
pub fn local_storage_take(key: &str) -> Option<String> {
    let value = local_storage_get(key)?;
    local_storage_remove(key);
    Some(value)
}

/// Removes the value only while it is still `expected`: a newer one written
/// meanwhile stays.
pub fn local_storage_remove_if(key: &str, expected: &str) {
    if local_storage_get(key).as_deref() == Some(expected) {
        local_storage_remove(key);
    }
}

pub fn local_storage_remove(key: &str) {
    if let Some(storage) = web_sys::window().and_then(|w| w.local_storage().ok().flatten()) {
        let _ = storage.remove_item(key);
    }
}

fn session_storage() -> Option<web_sys::Storage> {
    web_sys::window()?.session_storage().ok()?
}

pub fn session_storage_get(key: &str) -> Option<String> {
    session_storage()?.get_item(key).ok()?
}

pub fn session_storage_set(key: &str, value: &str) {
    if let Some(storage) = session_storage() {
        let _ = storage.set_item(key, value);
    }
}

pub fn session_storage_remove(key: &str) {
    if let Some(storage) = session_storage() {
        let _ = storage.remove_item(key);
    }
}

/// The document's cookies as one `name=value; …` string (empty when none or
/// outside a page). Read through `Reflect`: `HtmlDocument` is a web-sys
/// feature the app needs for nothing else.
pub fn document_cookies() -> String {
    web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| js_sys::Reflect::get(&d, &"cookie".into()).ok())
        .and_then(|c| c.as_string())
        .unwrap_or_default()
}

/// Sets one cookie (`name=value; attributes`) on the document.
pub fn set_document_cookie(cookie: &str) {
    if let Some(d) = web_sys::window().and_then(|w| w.document()) {
        let _ = js_sys::Reflect::set(&d, &"cookie".into(), &cookie.into());
    }
}
