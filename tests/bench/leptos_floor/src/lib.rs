//! The smallest hydrating Leptos 0.8 app with a router: the framework's floor.
use leptos::prelude::*;
use leptos_router::{components::{Route, Router, Routes}, path};

#[component]
fn Home() -> impl IntoView {
    let (count, set_count) = signal(0);
    view! { <button on:click=move |_| *set_count.write() += 1>{count}</button> }
}

#[component]
fn App() -> impl IntoView {
    view! {
        <Router>
            <Routes fallback=|| "404">
                <Route path=path!("/") view=Home/>
            </Routes>
        </Router>
    }
}

#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    leptos::mount::hydrate_body(App);
}
