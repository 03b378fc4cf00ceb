//! The service worker that serves the offline shell: registered once the app
//! has hydrated, looked for updates when the link comes back, activated only
//! on the person's consent, and followed by every tab of the app.

use super::browser::{call_method, document_visible, now_ms, on_document_event, on_window_event};
use wasm_bindgen::{closure::Closure, JsCast, JsValue};

/// Registers the service worker that serves the offline shell, and calls
/// `on_update` when a new version has installed and waits. It waits for the
/// person's consent (`activate_waiting_worker`): taking over by itself could
/// reload a form being filled.
pub fn register_service_worker(on_update: impl Fn() + 'static) {
    let Some(window) = web_sys::window() else {
        return;
    };
    let container = window.navigator().service_worker();
    let promise = container.register("/sw.js");
    let on_update = std::rc::Rc::new(on_update);
    wasm_bindgen_futures::spawn_local(async move {
        let Ok(registration) = wasm_bindgen_futures::JsFuture::from(promise).await else {
            return;
        };
        let controlled = || {
            web_sys::window()
                .and_then(|w| {
                    js_sys::Reflect::get(&w.navigator().service_worker(), &"controller".into()).ok()
                })
                .is_some_and(|c| !c.is_null() && !c.is_undefined())
        };
        let waiting = |r: &JsValue| {
            js_sys::Reflect::get(r, &"waiting".into())
                .map(|w| !w.is_null() && !w.is_undefined())
                .unwrap_or(false)
        };
        if waiting(&registration) && controlled() {
            on_update();
        }
        if controlled() {
            // Another tab's "update now" hands this one to the new release:
            // its code would ask for chunks the new server no longer has, and
            // its own button would find nothing waiting. It follows (drafts
            // are saved on leaving). A first visit, taken over by the first
            // worker, is not reloaded.
            reload_when_taken_over(&container);
        }
        look_for_updates(registration.clone());
        let target: web_sys::EventTarget = registration.clone().unchecked_into();
        let reg = registration.clone();
        let found = Closure::<dyn FnMut()>::new(move || {
            let Ok(installing) = js_sys::Reflect::get(&reg, &"installing".into()) else {
                return;
            };
            if installing.is_null() || installing.is_undefined() {
                return;
            }
            let worker = installing.clone();
            let on_update = on_update.clone();
            let changed = Closure::<dyn FnMut()>::new(move || {
                let state = js_sys::Reflect::get(&worker, &"state".into())
                    .ok()
                    .and_then(|s| s.as_string());
                if state.as_deref() == Some("installed") && controlled() {
                    on_update();
                }
            });
            let worker_target: web_sys::EventTarget = installing.unchecked_into();
            let _ = worker_target
                .add_event_listener_with_callback("statechange", changed.as_ref().unchecked_ref());
            changed.forget();
        });
        let _ =
            target.add_event_listener_with_callback("updatefound", found.as_ref().unchecked_ref());
        found.forget();
    });
}

/// The browser looks for a new version when a page loads, or a day after it
/// last looked: an app started offline and left open (a phone's app is) waited
/// a day for the update its sync may be asking for ("update the app"). It now
/// looks when the link comes back, and when the app is shown again, hourly at
/// most. What it finds waits for consent as before.
fn look_for_updates(registration: JsValue) {
    const HOUR_MS: i64 = 3_600_000;
    let last = std::rc::Rc::new(std::cell::Cell::new(now_ms()));
    let look = std::rc::Rc::new(move |always: bool| {
        if !always && now_ms() - last.get() < HOUR_MS {
            return;
        }
        last.set(now_ms());
        if let Some(promise) = call_method(&registration, "update", &[]) {
            // Offline it fails; the next trigger looks again.
            wasm_bindgen_futures::spawn_local(async move {
                let _ = wasm_bindgen_futures::JsFuture::from(js_sys::Promise::from(promise)).await;
            });
        }
    });
    let on_line = look.clone();
    on_window_event("online", move || on_line(true));
    on_document_event("visibilitychange", move || {
        if document_visible() {
            look(false);
        }
    });
}

/// The person agreed to update: the waiting worker takes over and the page
/// reloads once it controls the page (drafts are already in IndexedDB).
pub fn activate_waiting_worker() {
    let Some(window) = web_sys::window() else {
        return;
    };
    let container = window.navigator().service_worker();
    reload_when_taken_over(&container);
    wasm_bindgen_futures::spawn_local(async move {
        let Some(promise) = call_method(&container.into(), "getRegistration", &[]) else {
            return;
        };
        let Ok(promise) = promise.dyn_into::<js_sys::Promise>() else {
            return;
        };
        let Ok(registration) = wasm_bindgen_futures::JsFuture::from(promise).await else {
            return;
        };
        match js_sys::Reflect::get(&registration, &"waiting".into()) {
            Ok(waiting) if !waiting.is_null() && !waiting.is_undefined() => {
                let message = js_sys::Object::new();
                let _ = js_sys::Reflect::set(&message, &"type".into(), &"skip_waiting".into());
                call_method(&waiting, "postMessage", &[message.into()]);
            }
            // Another tab activated it already: only this page is behind.
            _ => {
                if let Some(w) = web_sys::window() {
                    let _ = w.location().reload();
                }
            }
        }
    });
}

/// Reloads the page once a new worker controls it (once: a second listener
/// from the update button is not added twice).
fn reload_when_taken_over(container: &web_sys::ServiceWorkerContainer) {
    thread_local! {
        static LISTENING: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
    }
    if LISTENING.with(|l| l.replace(true)) {
        return;
    }
    let reload = Closure::<dyn FnMut()>::new(|| {
        if let Some(w) = web_sys::window() {
            let _ = w.location().reload();
        }
    });
    let _ = container
        .add_event_listener_with_callback("controllerchange", reload.as_ref().unchecked_ref());
    reload.forget();
}
