//! `GET /api/openapi.json`: every route of `api::ROUTES` described as OpenAPI
//! 3.1, with every status it can answer. Request and response schemas are
//! generated from the Rust types the handlers use (schemars), and the statuses
//! every route shares (no session, a foreign Origin, a body over its limit or
//! too slow, a server failure) are derived from the route's own `RouteSpec`, so
//! the document cannot drift from the code. Tests check that each route is
//! described, and Schemathesis fuzzes the running server against it.

mod operations;

use super::{BodyLimit, RouteSpec};
use app::error::ErrorBody;
use axum::Json;
use operations::{operation, Body, Content, Op};
use schemars::generate::SchemaSettings;
use serde_json::{json, Map, Value};
use std::sync::OnceLock;

fn reads_body(spec: &RouteSpec) -> bool {
    spec.body != BodyLimit::Bytes(BodyLimit::NONE)
}

/// The answers every route of its kind shares, from its `RouteSpec`.
fn shared_errors(spec: &RouteSpec) -> Vec<(u16, &'static str)> {
    let mut errors = Vec::new();
    if !spec.public {
        errors.push((401, "Not logged in, or the session has ended"));
        errors.push((
            403,
            "The password must be changed first (auth.password_change_required)",
        ));
    }
    if crate::security::csrf::is_state_changing(&spec.method.parse().expect("a method")) {
        errors.push((
            403,
            "The request's Origin is not this deployment's (csrf.origin)",
        ));
    }
    // Every route has a body limit, even one that reads no body.
    errors.push((
        413,
        "A body over the route's limit, refused before it is read",
    ));
    if reads_body(spec) {
        errors.push((
            400,
            "A body that is not what the operation takes (request.malformed)",
        ));
        errors.push((408, "The body did not arrive in time (request.timeout)"));
        if spec.body != BodyLimit::Photo {
            errors.push((415, "A body in a media type the operation does not take"));
        }
    }
    // Any text in a query or a body may hold it; no text column keeps it.
    errors.push((422, "Text holding the NUL character U+0000 (text.nul)"));
    errors.push((
        500,
        "A database or storage failure (logged; the body names no internals)",
    ));
    errors.push((
        503,
        "The database stayed busy: no connection came free in time (server.busy, Retry-After)",
    ));
    errors
}

fn content(types: &[&str], schema: Value) -> Value {
    Value::Object(
        types
            .iter()
            .map(|t| (t.to_string(), json!({"schema": schema})))
            .collect(),
    )
}

fn render(spec: &RouteSpec, op: Op) -> Value {
    let mut responses = Map::new();
    for (status, description, body) in op.ok {
        let mut r = json!({"description": description});
        match body {
            Content::Empty => {}
            Content::Json(schema) => r["content"] = content(&["application/json"], schema),
            Content::File(types) => {
                r["content"] = content(types, json!({"type": "string", "format": "binary"}))
            }
        }
        responses.insert(status.to_string(), r);
    }
    // Several causes of one status share one response, their descriptions joined.
    let mut errors: Vec<(u16, String)> = Vec::new();
    for (status, description) in op.errors.into_iter().chain(shared_errors(spec)) {
        match errors.iter_mut().find(|(s, _)| *s == status) {
            Some((_, d)) => {
                d.push_str("; ");
                d.push_str(description);
            }
            None => errors.push((status, description.to_string())),
        }
    }
    errors.sort_by_key(|(s, _)| *s);
    for (status, description) in errors {
        responses.insert(
            status.to_string(),
            json!({
                "description": description,
                "content": content(&["application/json"], json!({"$ref": "#/components/schemas/ErrorBody"}))
            }),
        );
    }
    let mut out = json!({"summary": op.summary, "responses": responses});
    if !op.parameters.is_empty() {
        out["parameters"] = Value::Array(op.parameters);
    }
    match op.body {
        Body::None => {}
        Body::Json(schema) => {
            out["requestBody"] =
                json!({"required": true, "content": content(&["application/json"], schema)})
        }
        Body::JsonOrZip(schema) => {
            let mut body = content(&["application/json"], schema);
            for zip in ["application/zip", "application/octet-stream"] {
                body[zip] = json!({"schema": {"type": "string", "format": "binary"}});
            }
            out["requestBody"] = json!({"required": true, "content": body});
        }
        Body::Sheet => {
            out["requestBody"] = json!({"required": true, "content": content(
                &[
                    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    "text/csv",
                    "application/octet-stream",
                ],
                json!({"type": "string", "format": "binary"}))})
        }
        Body::Bytes { required } => {
            out["requestBody"] = json!({"required": required, "content": content(
                &["application/offset+octet-stream"],
                json!({"type": "string", "format": "binary"}))})
        }
    }
    if spec.public {
        out["security"] = json!([]);
    }
    out
}

/// Says in the schemas what the server's parsers enforce and the formats alone
/// do not tell a client: the bounds of fixed-width integers and the textual
/// shape of a UUID.
fn tighten(value: &mut Value) {
    match value {
        Value::Object(map) => {
            let bounds: Option<(i128, i128)> = match map.get("format").and_then(Value::as_str) {
                Some("int8") => Some((i8::MIN.into(), i8::MAX.into())),
                Some("uint8") => Some((0, u8::MAX.into())),
                Some("int16") => Some((i16::MIN.into(), i16::MAX.into())),
                Some("uint16") => Some((0, u16::MAX.into())),
                Some("int32") => Some((i32::MIN.into(), i32::MAX.into())),
                Some("uint32") => Some((0, u32::MAX.into())),
                Some("int64") => Some((i64::MIN.into(), i64::MAX.into())),
                Some("uint64") | Some("uint") => Some((0, u64::MAX.into())),
                _ => None,
            };
            if let Some((min, max)) = bounds {
                map.entry("minimum").or_insert_with(|| json_num(min));
                map.entry("maximum").or_insert_with(|| json_num(max));
            }
            if map.get("format").and_then(Value::as_str) == Some("uuid") {
                map.entry("pattern").or_insert_with(|| json!(UUID_PATTERN));
            }
            map.values_mut().for_each(tighten);
        }
        Value::Array(items) => items.iter_mut().for_each(tighten),
        _ => {}
    }
}

const UUID_PATTERN: &str =
    "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$";

fn json_num(n: i128) -> Value {
    match (i64::try_from(n), u64::try_from(n)) {
        (Ok(i), _) => json!(i),
        (_, Ok(u)) => json!(u),
        _ => Value::Null,
    }
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
    gen.subschema_for::<ErrorBody>();
    let mut paths = Map::new();
    for spec in super::ROUTES {
        let Some(op) = operation(&mut gen, spec) else {
            continue;
        };
        let item = paths
            .entry(spec.path.to_string())
            .or_insert_with(|| json!({}));
        item[spec.method.to_ascii_lowercase()] = render(spec, op);
        // A public GET answers HEAD too (headers only).
        if spec.method == "GET" && spec.public {
            let mut head = item["get"].clone();
            head["summary"] = json!(format!("{} (headers only)", spec_summary(&head)));
            item["head"] = head;
        }
    }
    let mut schemas = Value::Object(gen.take_definitions(true));
    let mut paths = Value::Object(paths);
    tighten(&mut schemas);
    // A phone newer than the server is refused (it must wait for the server's
    // update); older ones are answered 409 sync.update_app.
    for request in ["PushRequest", "ExportFile"] {
        schemas[request]["properties"]["schema_version"]["maximum"] =
            json!(app::sync::MUTATION_SCHEMA_VERSION);
    }
    tighten(&mut paths);
    json!({
        "openapi": "3.1.0",
        "jsonSchemaDialect": "https://json-schema.org/draft/2020-12/schema",
        "info": {
            "title": "khaosat API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Offline-first field survey: sync, photo uploads (tus 1.0), review and exports. \
                            Every error body is {code, params, message}; the code is stable and the UI \
                            translates it. State-changing requests must carry the deployment's Origin."
        },
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {"session": {"type": "apiKey", "in": "cookie", "name": app::auth::session::COOKIE}}
        },
        "security": [{"session": []}]
    })
}

fn spec_summary(op: &Value) -> String {
    op["summary"].as_str().unwrap_or_default().to_string()
}

/// The document for a deployment: tus creation says its own Tus-Max-Size
/// (`--max-photo-bytes`) as Upload-Length's maximum.
pub fn for_deployment(max_photo_bytes: u64) -> Value {
    let mut doc = document().clone();
    for path in ["/api/uploads/", "/api/uploads"] {
        if let Some(params) = doc["paths"][path]["post"]["parameters"].as_array_mut() {
            for p in params.iter_mut().filter(|p| p["name"] == "Upload-Length") {
                p["schema"]["maximum"] = json!(max_photo_bytes);
            }
        }
    }
    doc
}

pub async fn serve(
    axum::extract::State(state): axum::extract::State<app::state::AppState>,
) -> Json<Value> {
    Json(for_deployment(state.photos.max_bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The routes the document does not describe (a test keeps this empty).
    fn undocumented() -> Vec<String> {
        let mut gen = schemars::SchemaGenerator::default();
        super::super::ROUTES
            .iter()
            .filter(|spec| operation(&mut gen, spec).is_none())
            .map(|spec| format!("{} {}", spec.method, spec.path))
            .collect()
    }

    #[test]
    fn every_route_is_described_with_its_shared_statuses() {
        assert_eq!(undocumented(), Vec::<String>::new());
        let doc = document();
        for spec in super::super::ROUTES {
            let op = &doc["paths"][spec.path][spec.method.to_ascii_lowercase()];
            assert!(
                op.is_object(),
                "{} {} is in the document",
                spec.method,
                spec.path
            );
            let responses = op["responses"].as_object().unwrap();
            let has = |s: &str| responses.contains_key(s);
            assert!(has("500"), "{} {}", spec.method, spec.path);
            if !spec.public {
                assert!(has("401"), "private: {} {}", spec.method, spec.path);
            }
            assert_eq!(spec.public, op["security"] == json!([]), "{}", spec.path);
            assert!(has("413"), "{} {}", spec.method, spec.path);
            assert!(has("422"), "text.nul: {} {}", spec.method, spec.path);
            if reads_body(spec) {
                assert!(has("408") && has("400"), "{} {}", spec.method, spec.path);
            }
        }
        // Nothing documented that is not routed.
        let routed: std::collections::HashSet<(String, String)> = super::super::ROUTES
            .iter()
            .map(|s| (s.path.to_string(), s.method.to_ascii_lowercase()))
            .collect();
        for (path, item) in doc["paths"].as_object().unwrap() {
            for method in item.as_object().unwrap().keys() {
                if method == "head" && routed.contains(&(path.clone(), "get".into())) {
                    continue;
                }
                assert!(
                    routed.contains(&(path.clone(), method.clone())),
                    "{method} {path} is routed"
                );
            }
        }
    }

    #[test]
    fn integers_say_their_bounds_and_uuids_their_shape() {
        let doc = document();
        let push = &doc["components"]["schemas"]["PushRequest"]["properties"];
        assert_eq!(
            push["schema_version"]["maximum"],
            json!(app::sync::MUTATION_SCHEMA_VERSION)
        );
        assert_eq!(push["device_id"]["pattern"], json!(UUID_PATTERN));
        let params = doc["paths"]["/api/exports/visits.csv"]["get"]["parameters"]
            .as_array()
            .unwrap();
        let page = params.iter().find(|p| p["name"] == "page").unwrap();
        assert_eq!(page["schema"]["maximum"], json!(u32::MAX));
        assert!(
            page["schema"]["type"] == "integer",
            "no null in a query: {page}"
        );
    }

    /// Every `{name}` of a path is a declared path parameter of each of its
    /// operations: a fuzzer refuses the whole document otherwise.
    #[test]
    fn every_path_parameter_is_declared() {
        let doc = document();
        for (path, operations) in doc["paths"].as_object().unwrap() {
            let names: Vec<&str> = path
                .split('/')
                .filter_map(|s| s.strip_prefix('{')?.strip_suffix('}'))
                .collect();
            for (method, op) in operations.as_object().unwrap() {
                for name in &names {
                    let declared = op["parameters"].as_array().is_some_and(|ps| {
                        ps.iter().any(|p| p["in"] == "path" && p["name"] == *name)
                    });
                    assert!(declared, "{method} {path} does not declare {{{name}}}");
                }
            }
        }
    }

    #[test]
    fn upload_length_says_the_deployments_limit() {
        let doc = for_deployment(1234);
        let params = doc["paths"]["/api/uploads/"]["post"]["parameters"]
            .as_array()
            .unwrap();
        let length = params
            .iter()
            .find(|p| p["name"] == "Upload-Length")
            .unwrap();
        assert_eq!(length["schema"]["maximum"], 1234);
    }

    #[test]
    fn the_session_cookie_is_the_security_scheme() {
        let scheme = &document()["components"]["securitySchemes"]["session"];
        assert_eq!(scheme["type"], "apiKey");
        assert_eq!(scheme["in"], "cookie");
        assert_eq!(scheme["name"], "khaosat_session");
    }

    #[test]
    fn tus_statuses_are_documented() {
        let doc = document();
        let patch = &doc["paths"]["/api/uploads/{id}"]["patch"]["responses"];
        for s in ["409", "412", "413", "415", "460"] {
            assert!(patch[s].is_object(), "PATCH documents {s}");
        }
        let login = &doc["paths"]["/api/auth/login"]["post"]["responses"];
        assert!(login["429"].is_object() && login["503"].is_object());
    }
}
