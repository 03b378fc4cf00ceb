//! When the server's HTML has been hydrated, lazy pages included.
//!
//! Until then every component must render exactly what the server rendered,
//! and the server knows nothing of IndexedDB, `localStorage` or the network.
//! `hydrate_lazy` hydrates a lazy page only once its chunk has arrived, so the
//! phone can read its session before the page hydrates; a page that drew
//! "logged in" over the server's "loading" then trapped in hydration
//! (`RuntimeError: unreachable`). State from the browser waits for
//! [`finished`] instead.

use std::cell::{Cell, RefCell};
use std::task::{Poll, Waker};

thread_local! {
    static PENDING: Cell<bool> = const { Cell::new(false) };
    static WAITING: RefCell<Vec<Waker>> = const { RefCell::new(Vec::new()) };
}

/// Hydrates the body with `App`, lazy routes included, and then lets
/// [`finished`] resolve. The offline shell (`mount`, rendered from scratch)
/// never calls this, so nothing waits there.
pub fn hydrate_body() {
    PENDING.set(true);
    wasm_bindgen_futures::spawn_local(async {
        let owner = leptos::mount::hydrate_from_async(
            leptos::prelude::document().body().expect("<body>"),
            super::App,
        )
        .await;
        owner.forget();
        PENDING.set(false);
        for waker in WAITING.take() {
            waker.wake();
        }
    });
}

/// Resolves once the page has hydrated (at once when nothing hydrates).
pub async fn finished() {
    std::future::poll_fn(|cx| {
        if PENDING.get() {
            WAITING.with_borrow_mut(|w| w.push(cx.waker().clone()));
            Poll::Pending
        } else {
            Poll::Ready(())
        }
    })
    .await
}
