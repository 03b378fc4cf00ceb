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

/// Required request headers of a tus operation.
fn tus_headers(names: &[&str]) -> Value {
    let mut list = vec![
        json!({"name": "Tus-Resumable", "in": "header", "required": true, "schema": {"const": "1.0.0"}}),
    ];
    list.extend(names.iter().map(
        |n| json!({"name": n, "in": "header", "required": true, "schema": {"type": "string"}}),
    ));
    Value::Array(list)
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
        "/api/photos/{id}": {"get": operation(
            "A photo's record and the image verdict (its status)", None,
            ("The photo", body::<app::photos::PhotoRecord>(&mut gen)),
            &[("401", "Not logged in"), ("403", "Another inspector's visit"), ("404", "No such photo")],
            json!([{"name": "id", "in": "path", "required": true, "schema": {"type": "string", "format": "uuid"}}]))},
        "/api/uploads/": {
            "options": {"summary": "tus 1.0 capabilities (Tus-Version, Tus-Extension, Tus-Max-Size, Tus-Checksum-Algorithm)", "security": [],
                "responses": {"204": {"description": "Capabilities in the headers"}}},
            "post": {"summary": "tus creation (and creation-with-upload) for a photo: Upload-Length, Upload-Metadata with photo_id",
                "parameters": tus_headers(&["Upload-Length", "Upload-Metadata"]),
                "responses": {"201": {"description": "Location of the upload, Upload-Offset, Upload-Expires"},
                    "400": {"description": "Missing Upload-Length or photo_id"}, "403": {"description": "Not the photo's inspector"},
                    "412": {"description": "Another tus version"}, "413": {"description": "Over Tus-Max-Size"},
                    "415": {"description": "Body not application/offset+octet-stream"},
                    "422": {"description": "Unknown photo, or Upload-Length not the photo's size"}}}
        },
        "/api/uploads/{id}": {
            "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "string", "format": "uuid"}}],
            "head": {"summary": "The acknowledged Upload-Offset (Cache-Control: no-store)",
                "responses": {"200": {"description": "Upload-Offset, Upload-Length, Upload-Expires"},
                    "404": {"description": "Unknown upload"}, "410": {"description": "Terminated or expired"}}},
            "patch": {"summary": "Bytes at Upload-Offset, optionally with Upload-Checksum (sha1 or sha256)",
                "parameters": tus_headers(&["Upload-Offset"]),
                "responses": {"204": {"description": "New Upload-Offset; the last byte is answered once the file's SHA-256 matches the photo's record"},
                    "409": {"description": "Upload-Offset is not the upload's offset (unchanged)"},
                    "410": {"description": "Terminated or expired"}, "413": {"description": "Past Upload-Length"},
                    "415": {"description": "Not application/offset+octet-stream"},
                    "460": {"description": "Checksum mismatch (the request's bytes, or the whole file: upload.sha256_mismatch ends the upload)"}}},
            "delete": {"summary": "tus termination",
                "responses": {"204": {"description": "Terminated"}, "410": {"description": "Already ended"}}}
        },
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
