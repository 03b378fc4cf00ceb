//! `/api/*`: thin handlers that parse, authorize and call the store. The guard
//! middleware (`security::guard`) has already checked the session and CSRF.

/// Login, logout, the current user and password change.
pub mod auth;
/// XLSX, CSV and ZIP exports for the office.
pub mod exports;
/// Forms as XLSForm spreadsheets: import to preview, export of a version.
pub mod forms;
/// The OpenAPI document of the sync API.
pub mod openapi;
/// Photo records and their image files.
pub mod photos;
/// The registry of facilities and proposals: the intake template and intake.
pub mod registry;
/// Review decisions on visits.
pub mod review;
/// Push, pull and import.
pub mod sync;
/// Loading unit trees and mappings.
pub mod units;
/// tus 1.0 uploads of photo bytes.
pub mod uploads;

use app::state::AppState;
use app::store::Engine;
use app::sync::Health;
use axum::extract::State;
use axum::routing::{delete, get, head, options, patch, post, MethodRouter};
use axum::{Json, Router};

/// One route of the API. The router is built from `ROUTES`, and the guard and
/// the authorization-matrix test read the same table: a route cannot be added
/// without saying whether it is public, nor escape the matrix.
#[derive(Debug, Clone, Copy)]
pub struct RouteSpec {
    pub method: &'static str,
    /// Full path, with `{param}` placeholders as axum writes them.
    pub path: &'static str,
    /// Answers without a session.
    pub public: bool,
    /// The largest body the route reads; a larger declared length is 413
    /// before anything is read (`security::limits`).
    pub body: BodyLimit,
}

/// How large a route's request body may be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyLimit {
    Bytes(usize),
    /// The deployment's largest photo (`--max-photo-bytes`).
    Photo,
}

impl BodyLimit {
    /// Routes that read no body still tolerate a few stray bytes.
    pub const NONE: usize = 1024;
}

const NONE: BodyLimit = BodyLimit::Bytes(BodyLimit::NONE);
/// Login and password bodies: two short strings and a device id.
pub const AUTH_BODY: usize = 4 * 1024;
/// A review decision with its comment.
pub const REVIEW_BODY: usize = 64 * 1024;

const fn route(
    method: &'static str,
    path: &'static str,
    public: bool,
    body: BodyLimit,
) -> RouteSpec {
    RouteSpec {
        method,
        path,
        public,
        body,
    }
}

pub const ROUTES: &[RouteSpec] = &[
    route("GET", "/api/health", true, NONE),
    route("GET", "/api/ready", true, NONE),
    route("POST", "/api/auth/login", true, BodyLimit::Bytes(AUTH_BODY)),
    route(
        "POST",
        "/api/auth/device",
        false,
        BodyLimit::Bytes(AUTH_BODY),
    ),
    route("POST", "/api/auth/logout", false, NONE),
    route("GET", "/api/auth/me", false, NONE),
    route(
        "POST",
        "/api/auth/password",
        false,
        BodyLimit::Bytes(AUTH_BODY),
    ),
    route(
        "POST",
        "/api/sync/push",
        false,
        BodyLimit::Bytes(app::sync::MAX_PUSH_BYTES),
    ),
    route("GET", "/api/sync/pull", false, NONE),
    route(
        "POST",
        "/api/sync/import",
        false,
        BodyLimit::Bytes(sync::MAX_IMPORT_BYTES),
    ),
    route(
        "POST",
        "/api/visits/{id}/review",
        false,
        BodyLimit::Bytes(REVIEW_BODY),
    ),
    route("GET", "/api/openapi.json", true, NONE),
    // tus asks that OPTIONS answer without credentials: it only lists features.
    route("OPTIONS", "/api/uploads/", true, NONE),
    route("POST", "/api/uploads/", false, BodyLimit::Photo),
    // The tus endpoint as a client may be configured with it, without the
    // slash (tusd's own is `/files/`, clients write either), and OPTIONS on
    // an upload's own URL, which tus allows: the same handlers.
    route("OPTIONS", "/api/uploads", true, NONE),
    route("POST", "/api/uploads", false, BodyLimit::Photo),
    route("OPTIONS", "/api/uploads/{id}", true, NONE),
    route("HEAD", "/api/uploads/{id}", false, NONE),
    route("POST", "/api/uploads/{id}", false, BodyLimit::Photo),
    route("PATCH", "/api/uploads/{id}", false, BodyLimit::Photo),
    route("DELETE", "/api/uploads/{id}", false, NONE),
    route("GET", "/api/photos/{id}", false, NONE),
    route("GET", "/api/photos/{id}/{size}", false, NONE),
    route("GET", "/api/exports/visits.xlsx", false, NONE),
    route("GET", "/api/exports/visits.csv", false, NONE),
    route("GET", "/api/exports/plan.xlsx", false, NONE),
    route("GET", "/api/exports/plan.csv", false, NONE),
    route("GET", "/api/exports/photos.zip", false, NONE),
    route("GET", "/api/exports/visit-photos.zip", false, NONE),
    route("GET", "/api/registry/template.xlsx", false, NONE),
    route("GET", "/api/registry/export.xlsx", false, NONE),
    route(
        "POST",
        "/api/registry/intake",
        false,
        BodyLimit::Bytes(app::office::registry::rows::MAX_INTAKE_BYTES),
    ),
    route(
        "POST",
        "/api/units/import",
        false,
        BodyLimit::Bytes(app::office::units::file::MAX_UNIT_FILE_BYTES),
    ),
    route(
        "POST",
        "/api/forms/xlsform",
        false,
        BodyLimit::Bytes(app::office::admin::xlsform::MAX_XLSFORM_BYTES),
    ),
    route("GET", "/api/forms/xlsform.xlsx", false, NONE),
];

fn handler(spec: &RouteSpec) -> MethodRouter<AppState> {
    match (spec.method, spec.path) {
        ("GET", "/api/health") => get(health),
        ("GET", "/api/ready") => get(ready),
        ("POST", "/api/auth/login") => post(auth::login),
        ("POST", "/api/auth/device") => post(auth::device),
        ("POST", "/api/auth/logout") => post(auth::logout),
        ("GET", "/api/auth/me") => get(auth::me),
        ("POST", "/api/auth/password") => post(auth::change_password),
        ("POST", "/api/sync/push") => post(sync::push),
        ("GET", "/api/sync/pull") => get(sync::pull),
        ("POST", "/api/sync/import") => post(sync::import),
        ("POST", "/api/visits/{id}/review") => post(review::decide),
        ("GET", "/api/openapi.json") => get(openapi::serve),
        ("OPTIONS", "/api/uploads/") => options(uploads::options),
        ("POST", "/api/uploads/") => post(uploads::create),
        ("OPTIONS", "/api/uploads") => options(uploads::options),
        ("POST", "/api/uploads") => post(uploads::create),
        ("OPTIONS", "/api/uploads/{id}") => options(uploads::options),
        ("HEAD", "/api/uploads/{id}") => head(uploads::head),
        ("POST", "/api/uploads/{id}") => post(uploads::overridden),
        ("PATCH", "/api/uploads/{id}") => patch(uploads::patch),
        ("DELETE", "/api/uploads/{id}") => delete(uploads::terminate),
        ("GET", "/api/photos/{id}") => get(photos::get),
        ("GET", "/api/photos/{id}/{size}") => get(photos::file),
        ("GET", "/api/exports/visits.xlsx") => get(exports::visits_xlsx),
        ("GET", "/api/exports/visits.csv") => get(exports::visits_csv),
        ("GET", "/api/exports/plan.xlsx") => get(exports::plan_xlsx),
        ("GET", "/api/exports/plan.csv") => get(exports::plan_csv),
        ("GET", "/api/exports/photos.zip") => get(exports::photos_zip),
        ("GET", "/api/exports/visit-photos.zip") => get(exports::visit_photos_zip),
        ("GET", "/api/registry/template.xlsx") => get(registry::template),
        ("GET", "/api/registry/export.xlsx") => get(registry::export),
        ("POST", "/api/registry/intake") => post(registry::intake),
        ("POST", "/api/units/import") => post(units::import),
        ("POST", "/api/forms/xlsform") => post(forms::import),
        ("GET", "/api/forms/xlsform.xlsx") => get(forms::export),
        (method, path) => unreachable!("no handler for {method} {path}"),
    }
}

/// The API router, mounted at `/api`.
pub fn router() -> Router<AppState> {
    ROUTES
        .iter()
        .fold(Router::new(), |router, spec| {
            let path = spec.path.strip_prefix("/api").unwrap_or(spec.path);
            router.route(path, handler(spec))
        })
        .fallback(|| async { app::error::AppError::NotFound("API endpoint".into()) })
}

async fn health(State(state): State<AppState>) -> Result<Json<Health>, app::error::AppError> {
    state.db.ping().await?;
    Ok(Json(Health {
        status: "ok".into(),
        version: env!("CARGO_PKG_VERSION").into(),
        engine: match state.db.engine {
            Engine::Sqlite => "sqlite",
            Engine::Postgres => "postgresql",
        }
        .into(),
    }))
}

/// Database and photo store, each asked once; 503 when either fails. Public,
/// like `/api/health`: it tells a load balancer only ok or not.
async fn ready(State(state): State<AppState>) -> axum::response::Response {
    use axum::response::IntoResponse;
    let database = match state.db.ping().await {
        Ok(()) => "ok",
        Err(e) => {
            tracing::warn!("not ready: the database does not answer: {e}");
            "unreachable"
        }
    };
    let recorded = app::store::service::photo_store_id(&state.db)
        .await
        .ok()
        .flatten();
    let storage = state.photos.storage.clone();
    let photo_store = match tokio::task::spawn_blocking(move || storage.identity()).await {
        Ok(Ok(found)) if found.is_some() && (recorded.is_none() || found == recorded) => "ok",
        Ok(Ok(_)) => "not_this_database",
        Ok(Err(e)) => {
            tracing::warn!("not ready: the photo store does not answer: {e}");
            "unreachable"
        }
        Err(_) => "unreachable",
    };
    let ok = database == "ok" && photo_store == "ok";
    let body = app::sync::Ready {
        status: if ok { "ready" } else { "not_ready" }.into(),
        database: database.into(),
        photo_store: photo_store.into(),
        runs_background_jobs: state
            .runtime
            .leads_jobs
            .load(std::sync::atomic::Ordering::Relaxed),
    };
    let status = if ok {
        axum::http::StatusCode::OK
    } else {
        axum::http::StatusCode::SERVICE_UNAVAILABLE
    };
    (status, Json(body)).into_response()
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_route_has_a_handler() {
        for spec in super::ROUTES {
            let _ = super::handler(spec);
        }
        let _ = super::router();
    }
}
