//! JSON over fetch, with the server's error bodies decoded for the UI.

use crate::error::ErrorBody;
use serde::{de::DeserializeOwned, Serialize};
use wasm_bindgen::{JsCast, JsValue};

#[derive(Debug, Clone)]
pub enum HttpError {
    /// No answer: offline, or the server is unreachable.
    Network,
    /// The server answered with an error body.
    Api { status: u16, body: ErrorBody },
}

impl HttpError {
    pub fn body(&self) -> ErrorBody {
        match self {
            HttpError::Network => {
                ErrorBody::new("network.unreachable", "the server could not be reached")
            }
            HttpError::Api { body, .. } => body.clone(),
        }
    }

    /// The body for a request that is not queued (a backup import, a
    /// password change): offline, its sentence must not promise, as the
    /// sync's does, that the work is kept and sent later.
    pub fn body_not_kept(&self) -> ErrorBody {
        match self {
            HttpError::Network => self.body().with("reason", "not_kept"),
            HttpError::Api { .. } => self.body(),
        }
    }

    pub fn status(&self) -> u16 {
        match self {
            HttpError::Network => 0,
            HttpError::Api { status, .. } => *status,
        }
    }
}

/// Aborts a request not done by its deadline. A link that looks up but
/// carries nothing held a sync run ("syncing") for as long as the browser
/// waited, minutes, while every trigger, the sync button too, only asked it
/// to run again. Aborted, the request fails as unreachable and is retried.
struct Deadline {
    controller: web_sys::AbortController,
    timer: i32,
}

impl Deadline {
    /// A minute, and a second more for every 4 KB the request carries (the
    /// slowest link a photo chunk or a backup still crosses).
    fn start(body_bytes: u32) -> Option<Self> {
        let ms = 60_000u32.saturating_add(body_bytes / 4);
        let controller = web_sys::AbortController::new().ok()?;
        let abort: js_sys::Function = js_sys::Reflect::get(&controller, &"abort".into())
            .ok()?
            .dyn_into()
            .ok()?;
        let timer = web_sys::window()?
            .set_timeout_with_callback_and_timeout_and_arguments_0(
                &abort.bind0(&controller),
                ms.min(i32::MAX as u32) as i32,
            )
            .ok()?;
        Some(Self { controller, timer })
    }

    fn guard(init: &web_sys::RequestInit, body: Option<&JsValue>) -> Option<Self> {
        let bytes = body.map_or(0, |b| {
            if let Some(text) = b.as_string() {
                text.len() as u32
            } else if let Some(bytes) = b.dyn_ref::<js_sys::Uint8Array>() {
                bytes.length()
            } else if let Some(blob) = b.dyn_ref::<web_sys::Blob>() {
                blob.size() as u32
            } else {
                0
            }
        });
        let deadline = Self::start(bytes)?;
        init.set_signal(Some(&deadline.controller.signal()));
        Some(deadline)
    }
}

impl Drop for Deadline {
    fn drop(&mut self) {
        if let Some(window) = web_sys::window() {
            window.clear_timeout_with_handle(self.timer);
        }
    }
}

async fn send<T: DeserializeOwned>(
    method: &str,
    url: &str,
    body: Option<String>,
) -> Result<T, HttpError> {
    let body = body.map(|b| ("application/json", JsValue::from_str(&b)));
    send_raw(method, url, body).await
}

/// POSTs bytes (a file the person chose) with their content type.
pub async fn post_bytes<T: DeserializeOwned>(
    url: &str,
    content_type: &'static str,
    body: &js_sys::Uint8Array,
) -> Result<T, HttpError> {
    send_raw("POST", url, Some((content_type, body.clone().into()))).await
}

/// `post_bytes` with any body fetch takes: a Blob or a File goes from the
/// phone's storage as it is sent, never copied into memory first.
pub async fn post_body<T: DeserializeOwned>(
    url: &str,
    content_type: &'static str,
    body: JsValue,
) -> Result<T, HttpError> {
    send_raw("POST", url, Some((content_type, body))).await
}

async fn send_raw<T: DeserializeOwned>(
    method: &str,
    url: &str,
    body: Option<(&'static str, JsValue)>,
) -> Result<T, HttpError> {
    let init = web_sys::RequestInit::new();
    init.set_method(method);
    init.set_credentials(web_sys::RequestCredentials::SameOrigin);
    let headers = web_sys::Headers::new().map_err(|_| HttpError::Network)?;
    headers
        .set("Accept", "application/json")
        .map_err(|_| HttpError::Network)?;
    if let Some((content_type, body)) = &body {
        headers
            .set("Content-Type", content_type)
            .map_err(|_| HttpError::Network)?;
        init.set_body(body);
    }
    init.set_headers(&headers);
    let _deadline = Deadline::guard(&init, body.as_ref().map(|(_, b)| b));
    let request =
        web_sys::Request::new_with_str_and_init(url, &init).map_err(|_| HttpError::Network)?;
    let window = web_sys::window().ok_or(HttpError::Network)?;
    let response = wasm_bindgen_futures::JsFuture::from(window.fetch_with_request(&request))
        .await
        .map_err(|_| HttpError::Network)?;
    let response: web_sys::Response = response.unchecked_into();
    let text =
        wasm_bindgen_futures::JsFuture::from(response.text().map_err(|_| HttpError::Network)?)
            .await
            .map_err(|_| HttpError::Network)?
            .as_string()
            .unwrap_or_default();
    let status = response.status();
    if (200..300).contains(&status) {
        serde_json::from_str(&text).map_err(|e| HttpError::Api {
            status,
            body: ErrorBody::new("response.unreadable", format!("unexpected response: {e}")),
        })
    } else {
        let body = serde_json::from_str(&text).unwrap_or_else(|_| {
            ErrorBody::new("http.status", format!("HTTP {status}")).with("status", status)
        });
        Err(HttpError::Api { status, body })
    }
}

pub async fn post_json<B: Serialize, T: DeserializeOwned>(
    url: &str,
    body: &B,
) -> Result<T, HttpError> {
    let body = serde_json::to_string(body).map_err(|_| HttpError::Network)?;
    send("POST", url, Some(body)).await
}

pub async fn get_json<T: DeserializeOwned>(url: &str) -> Result<T, HttpError> {
    send("GET", url, None).await
}

/// An answer of `raw`: status, headers and body text, whatever the status.
pub struct RawResponse {
    pub status: u16,
    headers: web_sys::Headers,
    pub text: String,
}

impl RawResponse {
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers.get(name).ok().flatten()
    }

    /// The server's error body, or one naming the status.
    pub fn error_body(&self) -> ErrorBody {
        serde_json::from_str(&self.text).unwrap_or_else(|_| {
            ErrorBody::new("http.status", format!("HTTP {}", self.status))
                .with("status", self.status)
        })
    }
}

/// Any request with its own headers (the tus client): `Err` only when no
/// answer arrived at all.
pub async fn raw(
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    body: Option<&JsValue>,
) -> Result<RawResponse, HttpError> {
    let init = web_sys::RequestInit::new();
    init.set_method(method);
    init.set_credentials(web_sys::RequestCredentials::SameOrigin);
    let hs = web_sys::Headers::new().map_err(|_| HttpError::Network)?;
    for (name, value) in headers {
        hs.set(name, value).map_err(|_| HttpError::Network)?;
    }
    init.set_headers(&hs);
    if let Some(body) = body {
        init.set_body(body);
    }
    let _deadline = Deadline::guard(&init, body);
    let request =
        web_sys::Request::new_with_str_and_init(url, &init).map_err(|_| HttpError::Network)?;
    let window = web_sys::window().ok_or(HttpError::Network)?;
    let response: web_sys::Response =
        wasm_bindgen_futures::JsFuture::from(window.fetch_with_request(&request))
            .await
            .map_err(|_| HttpError::Network)?
            .unchecked_into();
    let text =
        wasm_bindgen_futures::JsFuture::from(response.text().map_err(|_| HttpError::Network)?)
            .await
            .map_err(|_| HttpError::Network)?
            .as_string()
            .unwrap_or_default();
    Ok(RawResponse {
        status: response.status(),
        headers: response.headers(),
        text,
    })
}
