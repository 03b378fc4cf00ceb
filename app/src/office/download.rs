//! Links to files the server makes (XLSX, CSV, ZIP). A plain `<a download>`
//! saves whatever comes back, so a refusal became a file named `plan.json`
//! holding a JSON error, with nothing on screen. These links ask first: the
//! request starts, and only a 2xx answer goes on as a download (the first
//! request is cancelled, the browser's own download streams the file to disk,
//! never through memory); any other answer is read and said on the page.
//! Before the app has loaded they are plain links.

use crate::error::ErrorBody;
use crate::i18n::{use_locale, Locale};
use crate::office::error_text;
use leptos::prelude::*;

#[component]
pub fn DownloadLink(
    #[prop(into)] href: Signal<String>,
    #[prop(into)] label: Signal<String>,
    testid: &'static str,
    #[prop(default = "btn btn-small btn-secondary")] class: &'static str,
) -> impl IntoView {
    let Locale(lang) = use_locale();
    let error = RwSignal::new(None::<ErrorBody>);
    let busy = RwSignal::new(false);
    let click = move |ev: leptos::ev::MouseEvent| {
        #[cfg(feature = "hydrate")]
        {
            ev.prevent_default();
            if busy.get_untracked() {
                return;
            }
            busy.set(true);
            error.set(None);
            let url = href.get_untracked();
            leptos::task::spawn_local(async move {
                match browser::check(&url).await {
                    Ok(()) => {
                        if let Err(e) = browser::save(&url) {
                            error.set(Some(ErrorBody::new("download.failed", format!("{e:?}"))));
                        }
                    }
                    Err(body) => error.set(Some(body)),
                }
                busy.set(false);
            });
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = (ev, busy);
    };
    view! {
        <span class="download">
            <a class=class data-testid=testid download href=move || href.get()
                aria-busy=move || busy.get().to_string() on:click=click>
                {move || label.get()}
            </a>
            <Show when=move || error.get().is_some()>
                <span class="error-banner download-error" role="alert" data-testid="download-error" data-for=testid>
                    {move || error.get().map(|b| error_text(lang.get(), &b)).unwrap_or_default()}
                </span>
            </Show>
        </span>
    }
}

#[cfg(feature = "hydrate")]
mod browser {
    use crate::error::ErrorBody;
    use wasm_bindgen::JsCast;
    use wasm_bindgen_futures::JsFuture;

    fn unreachable() -> ErrorBody {
        ErrorBody::new("network.unreachable", "the server could not be reached")
    }

    /// Starts the request and reads its status: a 2xx answer is cancelled at
    /// once (the browser downloads it next), any other is read as an error body.
    pub async fn check(url: &str) -> Result<(), ErrorBody> {
        let controller = web_sys::AbortController::new().map_err(|_| unreachable())?;
        let init = web_sys::RequestInit::new();
        init.set_method("GET");
        init.set_credentials(web_sys::RequestCredentials::SameOrigin);
        init.set_signal(Some(&controller.signal()));
        // Every export answers 204 to this without making the file; a
        // server that still makes it is cancelled once it answers.
        if let Ok(headers) = web_sys::Headers::new() {
            let _ = headers.set("x-khaosat-check", "1");
            init.set_headers(&headers);
        }
        let window = web_sys::window().ok_or_else(unreachable)?;
        let response = JsFuture::from(window.fetch_with_str_and_init(url, &init))
            .await
            .map_err(|_| unreachable())?;
        let response: web_sys::Response = response.unchecked_into();
        let status = response.status();
        if (200..300).contains(&status) {
            controller.abort();
            return Ok(());
        }
        let text = match response.text() {
            Ok(promise) => JsFuture::from(promise)
                .await
                .ok()
                .and_then(|t| t.as_string())
                .unwrap_or_default(),
            Err(_) => String::new(),
        };
        Err(serde_json::from_str(&text).unwrap_or_else(|_| {
            ErrorBody::new("http.status", format!("HTTP {status}")).with("status", status)
        }))
    }

    /// Hands the URL to the browser's own download, as the link would have.
    pub fn save(url: &str) -> Result<(), wasm_bindgen::JsValue> {
        let document = web_sys::window()
            .and_then(|w| w.document())
            .ok_or("no document")?;
        let a: web_sys::HtmlAnchorElement = document.create_element("a")?.unchecked_into();
        a.set_href(url);
        a.set_download("");
        let body = document.body().ok_or("no body")?;
        body.append_child(&a)?;
        a.click();
        body.remove_child(&a)?;
        Ok(())
    }
}
