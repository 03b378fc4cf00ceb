//! Keeps a server-rendered page's reactive owner current on whichever worker
//! thread polls its handler.
//!
//! Leptos keeps the current owner and its arena (where signals live) in
//! thread-locals. `leptos_integration_utils` (0.8.9, unchanged upstream) sets
//! them when it creates the page's owner, then awaits the app's stream and
//! injects the `<title>` and meta tags outside its own `Sandboxed` wrapper. If
//! the handler was parked in between, tokio may resume it on another worker,
//! whose thread-locals hold another request's owner or none: reading the
//! title's language signal there panicked ("the `sandboxed-arenas` feature is
//! active, but no Arena is active"), about 1 in 2,000 page loads under
//! concurrency (a 500 on `/login` right after a logout in the CI). This
//! wrapper remembers the owner current when the handler parks and makes it
//! current again before each later poll.

use axum::{extract::Request, middleware::Next, response::Response};
use leptos::reactive::owner::Owner;
use std::{
    future::Future,
    pin::Pin,
    task::{Context, Poll},
};

/// Middleware for the server-rendered pages (not the API: its handlers own no
/// reactive state, and a stale owner caught there would be carried along).
pub async fn keep_owner(request: Request, next: Next) -> Response {
    KeepOwner::new(next.run(request)).await
}

/// A future that restores, before each poll, the owner that was current when
/// it last returned `Pending`.
pub struct KeepOwner<F> {
    owner: Option<Owner>,
    inner: Pin<Box<F>>,
}

impl<F: Future> KeepOwner<F> {
    pub fn new(inner: F) -> Self {
        Self {
            owner: None,
            inner: Box::pin(inner),
        }
    }
}

impl<F: Future> Future for KeepOwner<F> {
    type Output = F::Output;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        if let Some(owner) = &self.owner {
            // Sets the thread's owner and, with it, the owner's arena.
            owner.set();
        }
        let polled = self.inner.as_mut().poll(cx);
        if polled.is_pending() {
            self.owner = Owner::current();
        }
        polled
    }
}
