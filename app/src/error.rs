//! Errors as they cross the wire: every error body is `{code, params, message}`.
//! `code` is stable and is what the UI translates; `message` is English for logs
//! and API users.
//!
//! One file (about 545 lines, a fifth of them tests): the crate's one error
//! type and the one mapping of each variant to its status and body; split,
//! a new variant could get a status without its body.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The JSON error body every endpoint returns.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(schemars::JsonSchema))]
pub struct ErrorBody {
    pub code: String,
    #[serde(default)]
    pub params: BTreeMap<String, serde_json::Value>,
    pub message: String,
}

impl ErrorBody {
    pub fn new(code: &str, message: impl Into<String>) -> Self {
        Self {
            code: code.to_string(),
            params: BTreeMap::new(),
            message: message.into(),
        }
    }

    pub fn with(mut self, key: &str, value: impl Into<serde_json::Value>) -> Self {
        self.params.insert(key.to_string(), value.into());
        self
    }
}

/// One problem in an uploaded file, where a person sees it in Excel: the 1-based
/// row (the header is row 1) and the column's name. `code` and `params` are
/// translated like an error body's.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(schemars::JsonSchema))]
pub struct RowProblem {
    pub row: usize,
    #[serde(default)]
    pub column: Option<String>,
    pub code: String,
    #[serde(default)]
    pub params: BTreeMap<String, serde_json::Value>,
}

impl RowProblem {
    pub fn new(row: usize, column: Option<&str>, code: &str) -> Self {
        Self {
            row,
            column: column.map(str::to_string),
            code: code.to_string(),
            params: BTreeMap::new(),
        }
    }

    pub fn with(mut self, key: &str, value: impl Into<serde_json::Value>) -> Self {
        self.params.insert(key.to_string(), value.into());
        self
    }
}

/// `bytes` as a person reads a size: "64 MB", "4 KB", "1.5 MB".
#[cfg(feature = "ssr")]
pub fn readable_size(bytes: usize) -> String {
    const KB: usize = 1024;
    const MB: usize = 1024 * KB;
    let (unit, name) = if bytes >= MB {
        (MB, "MB")
    } else if bytes >= KB {
        (KB, "KB")
    } else {
        (1, "byte")
    };
    let tenths = (bytes * 10 + unit / 2) / unit;
    if tenths.is_multiple_of(10) {
        format!("{} {name}", tenths / 10)
    } else {
        format!("{}.{} {name}", tenths / 10, tenths % 10)
    }
}

/// What a 503 names when writes of the same records met at the same moment.
pub const RACE: &str = "another change of the same records";

/// The code of a password change refused for too many wrong current passwords.
pub const PASSWORD_GUESSES: &str = "password.too_many_guesses";
/// The code of a login refused for too many failures.
pub const LOGIN_GUESSES: &str = "auth.rate_limited";

/// Every failure the server can answer with. Each variant documents its status.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// 400: the request body or query could not be parsed.
    #[error("bad request: {0}")]
    BadRequest(String),
    /// 401: no valid session.
    #[error("not logged in")]
    Unauthenticated,
    /// 401: wrong username or password (one answer for both, no enumeration).
    #[error("wrong username or password")]
    BadCredentials,
    /// 403: logged in, but not allowed to do this.
    #[error("forbidden: {0}")]
    Forbidden(String),
    /// 403 with a specific code (CSRF, revoked device, password change required).
    #[error("denied: {}", .0.message)]
    Denied(ErrorBody),
    /// 429: too many wrong guesses (logins: `auth.rate_limited`; the current
    /// password of a password change: `password.too_many_guesses`); try again
    /// after the given seconds.
    #[error("too many wrong guesses ({code}); retry after {retry_after_s} s")]
    RateLimited {
        retry_after_s: u64,
        code: &'static str,
    },
    /// 503: the server is at its limit for this kind of work (password checks);
    /// try again after the given seconds.
    #[error("busy with {what}; retry after {retry_after_s} s")]
    Busy {
        what: &'static str,
        retry_after_s: u64,
    },
    /// 404: no such record (or not visible to the caller).
    #[error("not found: {0}")]
    NotFound(String),
    /// 409: a device's mutations arrived with a gap; nothing was applied.
    #[error("sequence gap: expected seq {expected}, got {got}")]
    SeqGap { expected: i64, got: i64 },
    /// 409: the phone's app speaks a mutation schema the server no longer accepts.
    #[error("mutation schema version {got} is too old; update the app")]
    SchemaTooOld { got: u32, min: u32 },
    /// 410: the pull cursor is older than the tombstone retention; resync from 0.
    #[error("cursor {cursor} is older than the compaction horizon {horizon}")]
    CursorExpired { cursor: i64, horizon: i64 },
    /// 413: the batch or body is larger than the server accepts.
    #[error("too large: {what} (limit {limit})")]
    TooLarge { what: &'static str, limit: usize },
    /// 422: well-formed but invalid content; the body says which field and why.
    #[error("invalid: {}", .0.message)]
    Invalid(ErrorBody),
    /// A status a protocol prescribes (tus: 409 offset mismatch, 410 gone, 412
    /// unsupported version, 415 wrong content type, 460 checksum mismatch).
    #[error("{}: {}", .status, .body.message)]
    Protocol { status: u16, body: ErrorBody },
    /// 500: a database failure; details go to the log, never to the client.
    #[cfg(feature = "ssr")]
    #[error("database error: {0}")]
    Database(#[source] sqlx::Error),
    /// 500: anything else that is our fault.
    #[error("internal error: {0}")]
    Internal(String),
}

#[cfg(feature = "ssr")]
impl From<sqlx::Error> for AppError {
    /// PostgreSQL refuses a NUL character in text (SQLSTATE 22021) wherever it
    /// arrives, in a query parameter or a body; that is the caller's input, not
    /// a failure of ours.
    /// A pool with no connection free in time, or SQLite still locked after
    /// its busy timeout, is load, not a fault: 503 with Retry-After, so a
    /// phone waits and sends again instead of reporting a failure.
    fn from(e: sqlx::Error) -> Self {
        match &e {
            sqlx::Error::Database(db) if db.code().as_deref() == Some("22021") => {
                AppError::nul_in_text()
            }
            sqlx::Error::PoolTimedOut => AppError::database_busy(),
            // PostgreSQL chose this transaction to undo (a deadlock, or a
            // serialization failure): nothing of it was written and the same
            // request may be sent again.
            sqlx::Error::Database(db)
                if matches!(db.code().as_deref(), Some("40001") | Some("40P01")) =>
            {
                AppError::Busy {
                    what: RACE,
                    retry_after_s: 1,
                }
            }
            // SQLITE_BUSY and its extended codes (the low byte is 5).
            sqlx::Error::Database(db)
                if db
                    .code()
                    .and_then(|c| c.parse::<i64>().ok())
                    .is_some_and(|c| c & 0xff == 5) =>
            {
                AppError::database_busy()
            }
            _ => AppError::Database(e),
        }
    }
}

/// The body for text holding U+0000.
pub fn nul_in_text() -> ErrorBody {
    ErrorBody::new(
        "text.nul",
        "the request contains the NUL character (U+0000), which text may not hold",
    )
}

impl AppError {
    /// 503: every database connection stayed busy; the caller tries again.
    #[cfg(feature = "ssr")]
    /// A write that met another of the same records at the same moment and
    /// was undone whole (a deadlock or serialization failure, or two inserts
    /// of one new row): worth running again at once.
    #[cfg(feature = "ssr")]
    pub fn is_race(&self) -> bool {
        match self {
            AppError::Busy { what, .. } => *what == RACE,
            AppError::Database(sqlx::Error::Database(db)) => db.code().as_deref() == Some("23505"),
            _ => false,
        }
    }

    /// What a race still lost after its retries becomes: 503, sent again later.
    #[cfg(feature = "ssr")]
    pub fn race_lost(self) -> AppError {
        if self.is_race() {
            AppError::Busy {
                what: RACE,
                retry_after_s: 1,
            }
        } else {
            self
        }
    }

    pub fn database_busy() -> AppError {
        AppError::Busy {
            what: "other requests to the database",
            retry_after_s: 5,
        }
    }

    /// 422 `text.nul`: the request holds U+0000, which no text column keeps.
    /// Well-formed by the API's schema (a string may hold any character), so
    /// not a 400; every route documents it (`api::openapi::shared_errors`).
    #[cfg(feature = "ssr")]
    pub fn nul_in_text() -> AppError {
        AppError::Invalid(nul_in_text())
    }

    /// 403 for a session whose password an administrator reset (or a new
    /// account's): nothing but the password change until it is chosen.
    pub fn password_change_required() -> AppError {
        AppError::Denied(ErrorBody::new(
            "auth.password_change_required",
            "your password was reset by an administrator: choose a new one before continuing",
        ))
    }

    /// 403 for a phone an administrator revoked: it may no longer sync, but its
    /// data can still leave as a backup file.
    pub fn device_revoked() -> AppError {
        AppError::Denied(ErrorBody::new(
            "device.revoked",
            "an administrator revoked this phone: it can no longer sync; export its data (backup file) and ask a supervisor to import it",
        ))
    }

    /// 409 for a phone that last synced with another epoch of the change log:
    /// the server was restored from a backup and lacks what came after it.
    /// `epoch` is the server's; `last_seq`, the last change of the phone's
    /// device it holds (a push's answer), numbers what the phone sends again.
    pub fn server_restored(epoch: &str, last_seq: Option<i64>) -> AppError {
        let mut body = ErrorBody::new(
            "sync.server_restored",
            "the server was restored from a backup: the phone sends again what the backup lacks, then pulls from the start",
        )
        .with("epoch", epoch);
        if let Some(seq) = last_seq {
            body = body.with("last_seq", seq);
        }
        AppError::Protocol { status: 409, body }
    }

    /// The right password for an account an administrator deactivated. Said
    /// only to someone who knows the password (anyone else gets
    /// `auth.bad_credentials`), so it tells nobody which accounts exist.
    pub fn account_disabled() -> AppError {
        AppError::Denied(ErrorBody::new(
            "auth.account_disabled",
            "this account is deactivated: ask an administrator; unsent work can leave the phone as a backup file for a supervisor to import",
        ))
    }

    pub fn status(&self) -> u16 {
        match self {
            AppError::BadRequest(_) => 400,
            AppError::Unauthenticated | AppError::BadCredentials => 401,
            AppError::Forbidden(_) | AppError::Denied(_) => 403,
            AppError::RateLimited { .. } => 429,
            AppError::NotFound(_) => 404,
            AppError::SeqGap { .. } | AppError::SchemaTooOld { .. } => 409,
            AppError::CursorExpired { .. } => 410,
            AppError::TooLarge { .. } => 413,
            AppError::Busy { .. } => 503,
            AppError::Invalid(_) => 422,
            AppError::Protocol { status, .. } => *status,
            #[cfg(feature = "ssr")]
            AppError::Database(_) => 500,
            AppError::Internal(_) => 500,
        }
    }

    /// The body the client sees. Internal errors say only that something went wrong;
    /// the details are logged by the HTTP layer.
    pub fn body(&self) -> ErrorBody {
        match self {
            AppError::BadRequest(m) => ErrorBody::new("request.malformed", m.clone()),
            AppError::Unauthenticated => {
                ErrorBody::new("auth.required", "log in to continue")
            }
            AppError::BadCredentials => {
                ErrorBody::new("auth.bad_credentials", "wrong username or password")
            }
            AppError::Forbidden(m) => ErrorBody::new("auth.forbidden", m.clone()),
            AppError::Denied(body) => body.clone(),
            AppError::RateLimited {
                retry_after_s,
                code,
            } => ErrorBody::new(
                code,
                if *code == PASSWORD_GUESSES {
                    format!("too many wrong current passwords: wait {retry_after_s} seconds before trying again")
                } else {
                    format!("too many failed logins: wait {retry_after_s} seconds before trying again")
                },
            )
            .with("retry_after_s", *retry_after_s),
            AppError::NotFound(what) => {
                ErrorBody::new("not_found", format!("{what} not found")).with("what", what.clone())
            }
            AppError::SeqGap { expected, got } => ErrorBody::new(
                "sync.seq_gap",
                format!("mutations must arrive in order: expected seq {expected}, got {got}"),
            )
            .with("expected", *expected)
            .with("got", *got),
            AppError::SchemaTooOld { got, min } => ErrorBody::new(
                "sync.update_app",
                format!("this app sends schema version {got}; the server needs {min} or newer; update the app"),
            )
            .with("got", *got)
            .with("min", *min),
            AppError::CursorExpired { cursor, horizon } => ErrorBody::new(
                "sync.cursor_expired",
                format!("pull cursor {cursor} is older than the server keeps deletions (up to change {horizon}); pull again from cursor 0"),
            )
            .with("cursor", *cursor)
            .with("horizon", *horizon),
            AppError::TooLarge { what, limit } => {
                let body = ErrorBody::new(
                    "request.too_large",
                    format!("{what} is over the limit of {limit}"),
                )
                .with("what", *what)
                .with("limit", *limit);
                // A limit in bytes reads as a size ("64 MB"), not as a count.
                // Only the server sets limits (and the phone's module stays smaller).
                #[cfg(feature = "ssr")]
                if what.ends_with("(bytes)") {
                    return body.with("reason", "bytes").with("size", readable_size(*limit));
                }
                body
            }
            AppError::Busy { what, retry_after_s } => ErrorBody::new(
                "server.busy",
                format!("the server is busy with {what}: try again in {retry_after_s} seconds"),
            )
            .with("retry_after_s", *retry_after_s),
            AppError::Invalid(body) => body.clone(),
            AppError::Protocol { body, .. } => body.clone(),
            #[cfg(feature = "ssr")]
            AppError::Database(_) => ErrorBody::new("internal", "something went wrong"),
            AppError::Internal(_) => ErrorBody::new("internal", "something went wrong"),
        }
    }
}

/// The error type of server functions: the same `{code, params, message}` body,
/// so the UI translates it like any other API error.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(schemars::JsonSchema))]
pub struct FnError(pub ErrorBody);

impl std::fmt::Display for FnError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0.message)
    }
}

impl leptos::server_fn::error::FromServerFnError for FnError {
    type Encoder = leptos::server_fn::codec::JsonEncoding;

    /// On the server these are the framework's own failures before or after
    /// our code ran: arguments that do not decode are the caller's mistake
    /// (400 `request.malformed`), never a 500 that looks like a network
    /// problem. On the phone they are what the network did.
    fn from_server_fn_error(value: leptos::server_fn::error::ServerFnErrorErr) -> Self {
        use leptos::server_fn::error::ServerFnErrorErr as E;
        let (status, body) = match &value {
            // On the server, `Deserialization` is the request's arguments
            // failing to decode (invalid UTF-8, a number out of range).
            #[cfg(feature = "ssr")]
            E::Deserialization(why) => (
                400,
                ErrorBody::new(
                    "request.malformed",
                    format!("the request's arguments could not be read: {why}"),
                ),
            ),
            E::Args(why) | E::MissingArg(why) => (
                400,
                ErrorBody::new(
                    "request.malformed",
                    format!("the request's arguments could not be read: {why}"),
                ),
            ),
            E::UnsupportedRequestMethod(why) => (
                405,
                ErrorBody::new("request.malformed", format!("method not allowed: {why}")),
            ),
            _ => (
                500,
                ErrorBody::new("network.unreachable", value.to_string()),
            ),
        };
        #[cfg(feature = "ssr")]
        {
            if status >= 500 {
                tracing::error!(error = %value, "server function failed in the framework");
            }
            if let Some(options) = leptos::prelude::use_context::<leptos_axum::ResponseOptions>() {
                if let Ok(status) = axum::http::StatusCode::from_u16(status) {
                    options.set_status(status);
                }
            }
        }
        #[cfg(not(feature = "ssr"))]
        let _ = status;
        FnError(body)
    }
}

impl From<AppError> for FnError {
    fn from(e: AppError) -> Self {
        #[cfg(feature = "ssr")]
        {
            if e.status() >= 500 {
                tracing::error!(error = %e, "server function failed");
            }
            // Server functions answer with the error's own status (401, 403, 404,
            // 422…), not a blanket 500, so clients and the guard tests see it.
            if let Some(options) = leptos::prelude::use_context::<leptos_axum::ResponseOptions>() {
                if let Ok(status) = axum::http::StatusCode::from_u16(e.status()) {
                    options.set_status(status);
                }
            }
        }
        FnError(e.body())
    }
}

#[cfg(feature = "ssr")]
impl axum::response::IntoResponse for AppError {
    fn into_response(self) -> axum::response::Response {
        let status = axum::http::StatusCode::from_u16(self.status())
            .unwrap_or(axum::http::StatusCode::INTERNAL_SERVER_ERROR);
        let mut response = (status, axum::Json(self.body())).into_response();
        if let AppError::RateLimited { retry_after_s, .. } | AppError::Busy { retry_after_s, .. } =
            &self
        {
            response.headers_mut().insert(
                axum::http::header::RETRY_AFTER,
                axum::http::HeaderValue::from(*retry_after_s),
            );
        }
        // The logging middleware reads this to log internals without leaking them.
        if status == axum::http::StatusCode::INTERNAL_SERVER_ERROR {
            response
                .extensions_mut()
                .insert(InternalDetail(self.to_string()));
        }
        response
    }
}

/// What went wrong inside, for the log only.
#[cfg(feature = "ssr")]
#[derive(Clone, Debug)]
pub struct InternalDetail(pub String);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_errors_do_not_leak_details() {
        let body = AppError::Internal("disk full at /var/secret".into()).body();
        assert_eq!(body.code, "internal");
        assert!(!body.message.contains("secret"));
    }

    #[cfg(feature = "ssr")]
    #[test]
    fn a_limit_in_bytes_reads_as_a_size() {
        assert_eq!(readable_size(64 * 1024 * 1024), "64 MB");
        assert_eq!(readable_size(4 * 1024), "4 KB");
        assert_eq!(readable_size(1536 * 1024), "1.5 MB");
        assert_eq!(readable_size(900), "900 byte");
        let body = AppError::TooLarge {
            what: "backup file (bytes)",
            limit: 64 * 1024 * 1024,
        }
        .body();
        assert_eq!(body.params["size"], "64 MB");
        let vi = crate::i18n::error_text(crate::i18n::Lang::Vi, &body);
        assert_eq!(vi, "Dữ liệu gửi lên quá lớn (tối đa 64 MB).");
        // A count keeps its number.
        let rows = AppError::TooLarge {
            what: "mutations in one push",
            limit: 500,
        }
        .body();
        assert!(!rows.params.contains_key("reason"));
    }

    #[test]
    fn a_seq_gap_names_the_expected_seq() {
        let e = AppError::SeqGap {
            expected: 4,
            got: 6,
        };
        assert_eq!(e.status(), 409);
        assert_eq!(e.body().params["expected"], 4);
    }
}
