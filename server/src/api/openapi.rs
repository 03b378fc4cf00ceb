//! `GET /api/openapi.json`: the sync API described as OpenAPI 3.1, with every
//! request and response schema generated from the Rust types the handlers use
//! (schemars), so the document cannot drift from the code. A test validates
//! real responses against it.

use app::error::ErrorBody;
use app::model::UserInfo;
use app::sync::{
    ExportFile, Health, ImportResponse, LoginRequest, LoginResponse, PullResponse, PushRequest,
    PushResponse,
};
use axum::Json;
use schemars::generate::SchemaSettings;
use schemars::JsonSchema;
use serde_json::{json, Value};
use std::sync::OnceLock;

fn error_responses(codes: &[(&str, &str)]) -> serde_json::Map<String, Value> {
    codes
        .iter()
        .map(|(status, description)| {
            (
                status.to_string(),
                json!({
                    "description": description,
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}}
                }),
            )
        })
        .collect()
}

fn body<T: JsonSchema>(gen: &mut schemars::SchemaGenerator) -> Value {
    json!({"content": {"application/json": {"schema": gen.subschema_for::<T>()}}})
}

fn operation(
    summary: &str,
    request: Option<Value>,
    ok: (&str, Value),
    errors: &[(&str, &str)],
    parameters: Value,
) -> Value {
    let mut responses = error_responses(errors);
    let mut ok_body = ok.1;
    ok_body["description"] = json!(ok.0);
    responses.insert("200".into(), ok_body);
    let mut op = json!({"summary": summary, "responses": responses});
    if let Some(request) = request {
        op["requestBody"] = request;
        op["requestBody"]["required"] = json!(true);
    }
    if parameters.as_array().is_some_and(|p| !p.is_empty()) {
        op["parameters"] = parameters;
    }
    op
}

/// The whole document, built once.
pub fn document() -> &'static Value {
    static DOC: OnceLock<Value> = OnceLock::new();
    DOC.get_or_init(build)
}

fn build() -> Value {
    let mut settings = SchemaSettings::draft2020_12();
    settings.definitions_path = "/components/schemas".into();
    settings.meta_schema = None;
    let mut gen = settings.into_generator();
    let error = gen.subschema_for::<ErrorBody>();
    let _ = error;
    let auth = [("401", "Not logged in")];
    let paths = json!({
        "/api/health": {"get": operation(
            "Liveness and database check", None,
            ("Server and database answer", body::<Health>(&mut gen)), &[("500", "Database unreachable")], json!([]))},
        "/api/auth/login": {"post": operation(
            "Log in with username and password; binds the phone's device id",
            Some(body::<LoginRequest>(&mut gen)),
            ("Logged in; the session cookie is set", body::<LoginResponse>(&mut gen)),
            &[("400", "Malformed body"), ("401", "Wrong username or password"), ("403", "Device bound to another user or revoked")],
            json!([]))},
        "/api/auth/me": {"get": operation(
            "The logged-in user", None, ("The user", body::<UserInfo>(&mut gen)), &auth, json!([]))},
        "/api/sync/push": {"post": operation(
            "Apply a batch of one device's mutations exactly once",
            Some(body::<PushRequest>(&mut gen)),
            ("Per-mutation results (applied, duplicate, refused), last_seq and server HLC", body::<PushResponse>(&mut gen)),
            &[("400", "Malformed JSON or unknown field"), ("401", "Not logged in"),
              ("403", "Unknown device, another user's device or a revoked device"),
              ("409", "A gap in seqs (nothing applied; params.expected) or an app too old (sync.update_app)"),
              ("413", "Batch or body over the limit named in the message")],
            json!([]))},
        "/api/sync/pull": {"get": operation(
            "Changes after a cursor, scoped to the user, in bounded pages", None,
            ("A page of changes, the next cursor and has_more", body::<PullResponse>(&mut gen)),
            &[("400", "Bad cursor or limit"), ("401", "Not logged in"),
              ("410", "Cursor older than the tombstone retention: pull again from cursor 0")],
            json!([
                {"name": "cursor", "in": "query", "required": false, "schema": {"type": "integer", "minimum": 0}},
                {"name": "limit", "in": "query", "required": false, "schema": {"type": "integer", "minimum": 1, "maximum": app::sync::PULL_PAGE}}
            ]))},
        "/api/sync/import": {"post": operation(
            "Replay a phone's backup file under its original device and seqs",
            Some(body::<ExportFile>(&mut gen)),
            ("Per-mutation results and the device's last_seq", body::<ImportResponse>(&mut gen)),
            &[("400", "Not a khaosat backup"), ("401", "Not logged in"),
              ("403", "Neither the device's owner nor a supervisor"), ("404", "Unknown device"),
              ("409", "Backup made by an app too old"), ("413", "File over the limit")],
            json!([]))},
    });
    let schemas = gen.take_definitions(true);
    json!({
        "openapi": "3.1.0",
        "jsonSchemaDialect": "https://json-schema.org/draft/2020-12/schema",
        "info": {
            "title": "khaosat sync API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Offline-first field survey sync. Every error body is {code, params, message}; \
                            the code is stable and the UI translates it."
        },
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {"session": {"type": "apiKey", "in": "cookie", "name": "khaosat_session"}}
        },
        "security": [{"session": []}]
    })
}

pub async fn serve() -> Json<Value> {
    Json(document().clone())
}
