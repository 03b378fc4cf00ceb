//! Small wrappers over browser APIs the app needs in several places.

use wasm_bindgen::{closure::Closure, JsCast, JsValue};

/// The service worker: registered, looked for updates, activated on consent.
pub use super::service_worker::*;
/// The two web storages, here for the callers that reach them as `browser::…`.
pub use super::web_storage::*;

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

/// Runs `f` whenever the page may not come back: hidden behind the camera, a
/// call or the home screen (where timers may freeze or the tab be closed), and
/// on `pagehide`. The listeners go with the reactive owner that called this.
pub fn on_leaving(f: impl Fn() + Clone + 'static) {
    use leptos::prelude::on_cleanup;
    let write = f.clone();
    let hidden = leptos::prelude::window_event_listener_untyped("visibilitychange", move |_| {
        if !document_visible() {
            write();
        }
    });
    let pagehide = leptos::prelude::window_event_listener_untyped("pagehide", move |_| f());
    on_cleanup(move || {
        hidden.remove();
        pagehide.remove();
    });
}

/// While held, leaving the page (reload, close, typing another address) asks
/// first. For work that lives only in this page until it ends, such as a photo
/// being decoded and stored: the chosen file goes with the page, and a photo
/// taken through the camera input is in no gallery. Chromium asks only after
/// the user has touched the page, which choosing a photo is.
pub struct AskBeforeLeaving {
    closure: Closure<dyn FnMut(web_sys::Event)>,
}

impl AskBeforeLeaving {
    pub fn hold() -> Self {
        let closure = Closure::<dyn FnMut(web_sys::Event)>::new(|ev: web_sys::Event| {
            ev.prevent_default();
            // Older Chromium and Safari ask only when `returnValue` is set.
            let _ = js_sys::Reflect::set(&ev, &"returnValue".into(), &"".into());
        });
        if let Some(window) = web_sys::window() {
            let _ = window
                .add_event_listener_with_callback("beforeunload", closure.as_ref().unchecked_ref());
        }
        Self { closure }
    }
}

impl Drop for AskBeforeLeaving {
    fn drop(&mut self) {
        if let Some(window) = web_sys::window() {
            let _ = window.remove_event_listener_with_callback(
                "beforeunload",
                self.closure.as_ref().unchecked_ref(),
            );
        }
    }
}

pub fn set_html_attribute(name: &str, value: &str) {
    if let Some(el) = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.document_element())
    {
        let _ = el.set_attribute(name, value);
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

/// Calls `obj[name](...args)` when it exists; `None` when the browser lacks it.
pub(super) fn call_method(obj: &JsValue, name: &str, args: &[JsValue]) -> Option<JsValue> {
    let f = js_sys::Reflect::get(obj, &JsValue::from_str(name)).ok()?;
    let f: js_sys::Function = f.dyn_into().ok()?;
    let array = js_sys::Array::new();
    for a in args {
        array.push(a);
    }
    f.apply(obj, &array).ok()
}

fn number(obj: &JsValue, name: &str) -> Option<f64> {
    js_sys::Reflect::get(obj, &JsValue::from_str(name))
        .ok()?
        .as_f64()
}

/// Waits `ms` milliseconds (a backoff between attempts).
pub async fn sleep_ms(ms: u32) {
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        if let Some(window) = web_sys::window() {
            let _ =
                window.set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms as i32);
        }
    });
    let _ = wasm_bindgen_futures::JsFuture::from(promise).await;
}

/// A GPS fix: latitude, longitude and accuracy in metres.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Fix {
    pub lat: f64,
    pub lon: f64,
    pub accuracy: f64,
}

/// Why there is no fix, as a message key (`geo.denied`, `geo.unavailable`, `geo.timeout`).
pub async fn current_position(timeout_ms: u32) -> Result<Fix, &'static str> {
    let navigator: JsValue = web_sys::window()
        .ok_or("geo.unavailable")?
        .navigator()
        .into();
    let geo = js_sys::Reflect::get(&navigator, &JsValue::from_str("geolocation"))
        .ok()
        .filter(|g| !g.is_undefined())
        .ok_or("geo.unavailable")?;
    let promise = js_sys::Promise::new(&mut |resolve, reject| {
        let options = js_sys::Object::new();
        let _ = js_sys::Reflect::set(&options, &"enableHighAccuracy".into(), &JsValue::TRUE);
        let _ = js_sys::Reflect::set(&options, &"timeout".into(), &JsValue::from(timeout_ms));
        let _ = js_sys::Reflect::set(&options, &"maximumAge".into(), &JsValue::from(30_000));
        call_method(
            &geo,
            "getCurrentPosition",
            &[resolve.into(), reject.into(), options.into()],
        );
    });
    match wasm_bindgen_futures::JsFuture::from(promise).await {
        Ok(position) => {
            let coords =
                js_sys::Reflect::get(&position, &"coords".into()).map_err(|_| "geo.unavailable")?;
            Ok(Fix {
                lat: number(&coords, "latitude").ok_or("geo.unavailable")?,
                lon: number(&coords, "longitude").ok_or("geo.unavailable")?,
                accuracy: number(&coords, "accuracy").unwrap_or(f64::NAN),
            })
        }
        Err(error) => Err(match number(&error, "code") {
            Some(1.0) => "geo.denied",
            Some(3.0) => "geo.timeout",
            _ => "geo.unavailable",
        }),
    }
}

fn storage_manager() -> Option<JsValue> {
    let navigator: JsValue = web_sys::window()?.navigator().into();
    js_sys::Reflect::get(&navigator, &JsValue::from_str("storage"))
        .ok()
        .filter(|s| !s.is_undefined())
}

async fn await_promise(value: Option<JsValue>) -> Option<JsValue> {
    let promise: js_sys::Promise = value?.dyn_into().ok()?;
    wasm_bindgen_futures::JsFuture::from(promise).await.ok()
}

/// Drops the photos the service worker kept (`khaosat-photos` in
/// `public/sw.js`) at a login or logout. The worker drops them itself when
/// it sees the request; a page it does not control (a hard reload) must
/// drop them here, or the next account could see the last one's offline.
pub async fn forget_seen_photos() {
    let Some(window) = web_sys::window() else {
        return;
    };
    let caches = js_sys::Reflect::get(&window, &JsValue::from_str("caches"))
        .ok()
        .filter(|c| !c.is_undefined() && !c.is_null());
    if let Some(caches) = caches {
        let name = JsValue::from_str("khaosat-photos");
        await_promise(call_method(&caches, "delete", &[name])).await;
    }
}

/// Asks the browser to keep this site's storage under pressure
/// (`navigator.storage.persist()`); `None` where the API does not exist.
pub async fn request_persistent_storage() -> Option<bool> {
    let storage = storage_manager()?;
    await_promise(call_method(&storage, "persist", &[]))
        .await?
        .as_bool()
}

pub async fn storage_persisted() -> Option<bool> {
    let storage = storage_manager()?;
    await_promise(call_method(&storage, "persisted", &[]))
        .await?
        .as_bool()
}

/// `navigator.storage.estimate()`: (bytes used, quota).
pub async fn storage_estimate() -> Option<(f64, f64)> {
    let storage = storage_manager()?;
    let estimate = await_promise(call_method(&storage, "estimate", &[])).await?;
    Some((number(&estimate, "usage")?, number(&estimate, "quota")?))
}

/// iOS / iPadOS Safari outside an installed home-screen app: storage may be wiped
/// after seven days without a visit.
pub fn ios_browser_tab() -> bool {
    let Some(window) = web_sys::window() else {
        return false;
    };
    let ua = window.navigator().user_agent().unwrap_or_default();
    let ios = ua.contains("iPhone")
        || ua.contains("iPad")
        || (ua.contains("Macintosh") && window.navigator().max_touch_points() > 1);
    ios && !standalone()
}

/// Whether the app runs installed (from its home-screen icon), not in a tab.
pub fn standalone() -> bool {
    let Some(window) = web_sys::window() else {
        return false;
    };
    js_sys::Reflect::get(&window.navigator(), &"standalone".into())
        .ok()
        .and_then(|v| v.as_bool())
        .unwrap_or(false)
        || window
            .match_media("(display-mode: standalone)")
            .ok()
            .flatten()
            .map(|m| m.matches())
            .unwrap_or(false)
}
