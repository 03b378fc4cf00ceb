//! Small wrappers over browser APIs the app needs in several places.

use wasm_bindgen::{closure::Closure, JsCast, JsValue};

/// The phone's clock. `SystemTime::now()` panics on wasm32.
pub fn now_ms() -> i64 {
    js_sys::Date::now() as i64
}

pub fn is_online() -> bool {
    web_sys::window()
        .map(|w| w.navigator().on_line())
        .unwrap_or(true)
}

/// Adds an event listener for the page's lifetime.
pub fn on_window_event(name: &str, f: impl FnMut() + 'static) {
    if let Some(window) = web_sys::window() {
        let closure = Closure::<dyn FnMut()>::new(f);
        let _ = window.add_event_listener_with_callback(name, closure.as_ref().unchecked_ref());
        closure.forget();
    }
}

pub fn on_document_event(name: &str, f: impl FnMut() + 'static) {
    if let Some(document) = web_sys::window().and_then(|w| w.document()) {
        let closure = Closure::<dyn FnMut()>::new(f);
        let _ = document.add_event_listener_with_callback(name, closure.as_ref().unchecked_ref());
        closure.forget();
    }
}

pub fn document_visible() -> bool {
    web_sys::window()
        .and_then(|w| w.document())
        .map(|d| d.visibility_state() == web_sys::VisibilityState::Visible)
        .unwrap_or(true)
}

pub fn set_html_attribute(name: &str, value: &str) {
    if let Some(el) = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.document_element())
    {
        let _ = el.set_attribute(name, value);
    }
}

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

/// Registers the service worker that serves the offline shell.
pub fn register_service_worker() {
    if let Some(window) = web_sys::window() {
        let container = window.navigator().service_worker();
        let _ = container.register("/sw.js");
    }
}

/// Runs `f` while holding the origin-wide Web Lock `name`, so that two tabs of the
/// app never run it at once (two pushes of the same seq). Falls back to running
/// directly where Web Locks are missing.
pub async fn with_lock<F, Fut>(name: &str, f: F)
where
    F: FnOnce() -> Fut + 'static,
    Fut: std::future::Future<Output = ()> + 'static,
{
    // navigator.locks is behind web-sys's unstable cfg; reach it through Reflect.
    let locks = web_sys::window()
        .and_then(|w| js_sys::Reflect::get(&w.navigator(), &JsValue::from_str("locks")).ok())
        .filter(|l| !l.is_undefined() && !l.is_null());
    let request = locks
        .as_ref()
        .and_then(|l| js_sys::Reflect::get(l, &JsValue::from_str("request")).ok())
        .and_then(|r| r.dyn_into::<js_sys::Function>().ok());
    let (Some(locks), Some(request)) = (locks, request) else {
        f().await;
        return;
    };
    let mut f = Some(f);
    let callback = Closure::<dyn FnMut(JsValue) -> js_sys::Promise>::new(move |_lock: JsValue| {
        let f = f.take();
        wasm_bindgen_futures::future_to_promise(async move {
            if let Some(f) = f {
                f().await;
            }
            Ok(JsValue::UNDEFINED)
        })
    });
    let Ok(promise) = request.call2(&locks, &JsValue::from_str(name), callback.as_ref()) else {
        return;
    };
    let _ = wasm_bindgen_futures::JsFuture::from(js_sys::Promise::from(promise)).await;
    drop(callback);
}
