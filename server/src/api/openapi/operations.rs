//! One file: one match arm per route, kept beside each other so a route
//! without its description is easy to see.
//!
//! What each route of `api::ROUTES` is: its summary, parameters, body and the
//! answers that are its own. The answers routes share are added in `super`.
//!
//! One file (about 540 lines): one table of every route's operation, so a route cannot be added without its entry.

use super::super::{exports, review, RouteSpec};
use app::sync::{
    ChangePasswordRequest, ExportFile, Health, ImportResponse, LoginRequest, LoginResponse,
    MeResponse, PullResponse, PushRequest, PushResponse, Ready,
};
use schemars::{JsonSchema, SchemaGenerator};
use serde_json::{json, Value};

/// What a request carries in its body.
pub(super) enum Body {
    None,
    Json(Value),
    /// A backup: the JSON file, or the ZIP archive the app writes today.
    JsonOrZip(Value),
    /// tus bytes (`application/offset+octet-stream`), optional on creation.
    Bytes {
        required: bool,
    },
    /// A spreadsheet: XLSX, or CSV (UTF-8 or Windows-1258), as sent.
    Sheet,
}

/// What a successful response carries.
pub(super) enum Content {
    Empty,
    Json(Value),
    /// A file download of one of these media types.
    File(&'static [&'static str]),
}

/// One operation: what the route does, what it takes and every answer that is
/// its own (the shared ones are added by `shared_errors`).
pub(super) struct Op {
    pub summary: &'static str,
    pub parameters: Vec<Value>,
    pub body: Body,
    pub ok: Vec<(u16, &'static str, Content)>,
    pub errors: Vec<(u16, &'static str)>,
}

impl Op {
    /// Another answer that is not an error.
    fn also(mut self, ok: (u16, &'static str, Content)) -> Op {
        self.ok.push(ok);
        self
    }

    fn new(summary: &'static str, ok: (u16, &'static str, Content)) -> Op {
        Op {
            summary,
            parameters: Vec::new(),
            body: Body::None,
            ok: vec![ok],
            errors: Vec::new(),
        }
    }
    fn body(mut self, body: Body) -> Op {
        self.body = body;
        self
    }
    fn params(mut self, parameters: Vec<Value>) -> Op {
        self.parameters.extend(parameters);
        self
    }
    fn errors(mut self, errors: &[(u16, &'static str)]) -> Op {
        self.errors.extend_from_slice(errors);
        self
    }
}

fn json_body<T: JsonSchema>(gen: &mut SchemaGenerator) -> Body {
    Body::Json(gen.subschema_for::<T>().into())
}

fn json_ok<T: JsonSchema>(gen: &mut SchemaGenerator) -> Content {
    Content::Json(gen.subschema_for::<T>().into())
}

fn status_ok() -> Content {
    Content::Json(json!({
        "type": "object", "required": ["status"],
        "properties": {"status": {"const": "ok"}}
    }))
}

fn path_uuid(name: &str) -> Value {
    json!({"name": name, "in": "path", "required": true,
           "schema": {"type": "string", "format": "uuid"}})
}

fn header(name: &str, required: bool, schema: Value) -> Value {
    json!({"name": name, "in": "header", "required": required, "schema": schema})
}

fn tus_resumable() -> Value {
    header("Tus-Resumable", true, json!({"const": "1.0.0"}))
}

/// Query parameters from the type the handler parses the query into: each
/// property of its schema is one parameter. A query has no `null`: an absent
/// parameter is the `None` of an `Option`.
fn query_of<T: JsonSchema>(gen: &mut SchemaGenerator, required: &[&str]) -> Vec<Value> {
    let reference = gen.subschema_for::<T>();
    let name = reference
        .get("$ref")
        .and_then(Value::as_str)
        .and_then(|r| r.rsplit('/').next())
        .map(str::to_string);
    let definition = match name {
        Some(name) => gen.definitions().get(&name).cloned().unwrap_or_default(),
        None => reference.as_value().clone(),
    };
    let properties = definition
        .get("properties")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    properties
        .into_iter()
        .map(|(name, mut schema)| {
            let description = schema.as_object_mut().and_then(|s| s.remove("description"));
            let mut p = json!({"name": name, "in": "query",
                               "required": required.contains(&name.as_str()),
                               "schema": without_null(schema)});
            if let Some(d) = description {
                p["description"] = d;
            }
            p
        })
        .collect()
}

fn without_null(mut schema: Value) -> Value {
    if let Some(types) = schema.get_mut("type").and_then(Value::as_array_mut) {
        types.retain(|t| t != "null");
        if types.len() == 1 {
            schema["type"] = types[0].clone();
        }
        return schema;
    }
    if let Some(any) = schema.get("anyOf").and_then(Value::as_array) {
        let rest: Vec<Value> = any
            .iter()
            .filter(|s| s.get("type").and_then(Value::as_str) != Some("null"))
            .cloned()
            .collect();
        if rest.len() == 1 {
            return rest.into_iter().next().unwrap_or_default();
        }
    }
    schema
}

const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

/// Every route's own description; `None` for a route nobody described (a test
/// fails on it).
pub(super) fn operation(gen: &mut SchemaGenerator, spec: &RouteSpec) -> Option<Op> {
    let photo_visible = [
        (403, "The photo is on another inspector's visit"),
        (404, "No such photo (or not a UUID)"),
    ];
    let upload_gone = [
        (403, "Not the photo's inspector"),
        (404, "No such upload, or one terminated, failed or expired (upload.gone, upload.expired): create a new one"),
    ];
    let supervisors = (403, "Supervisors only");
    let op = match (spec.method, spec.path) {
        ("GET", "/api/health") => Op::new(
            "Liveness and database check",
            (200, "Server and database answer", json_ok::<Health>(gen)),
        ),
        ("GET", "/api/ready") => Op::new(
            "Readiness for a load balancer: this process reaches the database and its photo store",
            (200, "Ready to serve", json_ok::<Ready>(gen)),
        )
        .errors(&[(503, "The database or the photo store does not answer")]),
        ("POST", "/api/auth/login") => Op::new(
            "Log in with username and password; binds the phone's device id. The login page's \
             HTML form may post the same fields as application/x-www-form-urlencoded: the answer \
             is then a 303 to /login?signed_in=1 (the app binds its device there and goes on), or \
             back to /login?error=CODE",
            (200, "Logged in; the session cookie is set", json_ok::<LoginResponse>(gen)),
        )
        .also((303, "The login page's form post: to /login?signed_in=1, or back with ?error=CODE", Content::Empty))
        .body(json_body::<LoginRequest>(gen))
        .errors(&[
            (401, "Wrong username or password"),
            (403, "The device is bound to another user or revoked, or the account is deactivated (said only to the right password)"),
            (429, "Too many failed logins for this account or address (Retry-After)"),
            (503, "Every password check is busy (Retry-After)"),
        ]),
        ("POST", "/api/auth/device") => Op::new(
            "Bind this phone's device to the session (after a login through the HTML form, \
             which cannot carry one)",
            (200, "Bound", status_ok()),
        )
        .body(json_body::<app::sync::DeviceRequest>(gen))
        .errors(&[
            (403, "The device is bound to another user or revoked, or the account is deactivated (said only to the right password)"),
            (409, "The session is already bound to another device"),
        ]),
        ("POST", "/api/auth/logout") => Op::new(
            "End this session; the cookie is cleared",
            (200, "Logged out", status_ok()),
        ),
        ("GET", "/api/auth/me") => Op::new(
            "The logged-in user, and whether their password must change",
            (200, "The user", json_ok::<MeResponse>(gen)),
        ),
        ("POST", "/api/auth/password") => Op::new(
            "Change one's own password; the user's other sessions end",
            (200, "Changed", status_ok()),
        )
        .body(json_body::<ChangePasswordRequest>(gen))
        .errors(&[
            (422, "Wrong current password, a weak new one, or the same one again"),
            (429, "Too many wrong current passwords (password.too_many_guesses, Retry-After)"),
            (503, "Every password check is busy (Retry-After)"),
        ]),
        ("POST", "/api/sync/push") => Op::new(
            "Apply a batch of one device's mutations exactly once",
            (200, "Per-mutation results (applied, duplicate, refused), last_seq and server HLC",
             json_ok::<PushResponse>(gen)),
        )
        .body(json_body::<PushRequest>(gen))
        .errors(&[
            (403, "Unknown device, another user's device or a revoked device"),
            (409, "A gap in seqs (nothing applied; params.expected), an app too old (sync.update_app), \
                   or an epoch other than the server's (sync.server_restored: the server was restored \
                   from a backup; params.epoch and params.last_seq; nothing applied)"),
        ]),
        ("GET", "/api/sync/pull") => Op::new(
            "Changes after a cursor, scoped to the user, in bounded pages",
            (200, "A page of changes, the next cursor and has_more", json_ok::<PullResponse>(gen)),
        )
        .params(vec![
            json!({"name": "cursor", "in": "query", "required": false,
                   "schema": {"type": "integer", "minimum": 0, "maximum": i64::MAX}}),
            json!({"name": "limit", "in": "query", "required": false,
                   "schema": {"type": "integer", "minimum": 1, "maximum": app::sync::PULL_PAGE}}),
            json!({"name": "epoch", "in": "query", "required": false,
                   "description": "The log epoch of the phone's last pull",
                   "schema": {"type": "string"}}),
        ])
        .errors(&[
            (400, "A cursor or limit that is not a whole number in range"),
            (409, "An epoch other than the server's (sync.server_restored: restored from a backup; \
                   params.epoch): send again what the phone holds, then pull from cursor 0"),
            (410, "Cursor older than the tombstone retention: pull again from cursor 0"),
        ]),
        ("POST", "/api/sync/import") => Op::new(
            "Replay a phone's backup file under its original device and seqs",
            (200, "Per-mutation results and the device's last_seq", json_ok::<ImportResponse>(gen)),
        )
        .body(Body::JsonOrZip(gen.subschema_for::<ExportFile>().into()))
        .errors(&[
            (403, "Neither the device's owner nor a supervisor"),
            (404, "Unknown device"),
            (409, "A backup made by an app too old (sync.update_app with params.reason \
                   backup_too_old), or a supervisor's import for a phone that still syncs \
                   (import.device_live: only a revoked phone's backup)"),
            (415, "Neither JSON nor a ZIP archive"),
            (422, "Not a khaosat backup archive (import.bad_archive, its params.reason \
                   one of not_zip, not_archive, damaged, recompressed, too_new), or one that \
                   took longer to read than the server allows (import.too_slow)"),
        ]),
        ("POST", "/api/visits/{id}/review") => Op::new(
            "A supervisor sends a submitted visit back (with a comment), approves or rejects it",
            (200, "The visit after the decision", json_ok::<app::model::VisitRecord>(gen)),
        )
        .params(vec![path_uuid("id")])
        .body(json_body::<review::Decision>(gen))
        .errors(&[
            (403, "Not a supervisor, or the visit is outside the supervisor's units"),
            (404, "No such visit"),
            (409, "The visit changed meanwhile (review.changed): another decision landed first, \
                   or it was sent back and submitted again since the seen_events the page showed"),
            (422, "A decision a supervisor cannot take, one the visit's state does not allow, \
                   a missing comment, or a photo not on this visit"),
        ]),
        ("GET", "/api/openapi.json") => Op::new(
            "This document",
            (200, "OpenAPI 3.1", Content::Json(json!({"type": "object"}))),
        ),
        ("OPTIONS", "/api/uploads/" | "/api/uploads") => Op::new(
            "tus 1.0 capabilities (Tus-Version, Tus-Extension, Tus-Max-Size, Tus-Checksum-Algorithm)",
            (204, "Capabilities in the headers", Content::Empty),
        ),
        ("OPTIONS", "/api/uploads/{id}") => Op::new(
            "tus 1.0 capabilities, asked at an upload's own URL",
            (204, "Capabilities in the headers", Content::Empty),
        )
        // Any id: the capabilities are the server's, not the upload's.
        .params(vec![json!({"name": "id", "in": "path", "required": true,
                            "schema": {"type": "string", "minLength": 1}})]),
        ("POST", "/api/uploads/" | "/api/uploads") => Op::new(
            "tus creation (and creation-with-upload) of a photo's upload",
            (201, "Location of the upload, Upload-Offset, Upload-Expires", Content::Empty),
        )
        .params(vec![
            tus_resumable(),
            header("Upload-Length", true, json!({"type": "integer", "minimum": 0})),
            header("Upload-Metadata", true, json!({"type": "string",
                "description": "tus metadata: photo_id <base64 of the photo's UUID>, optional filetype"})),
        ])
        .body(Body::Bytes { required: false })
        .errors(&[
            (400, "A missing or malformed Upload-Length or Upload-Metadata (photo_id)"),
            (403, "Not the photo's inspector"),
            (412, "Another tus version (Tus-Version lists ours)"),
            (413, "Over Tus-Max-Size"),
            (415, "Bytes not sent as application/offset+octet-stream"),
            (422, "Unknown photo, or an Upload-Length that is not the photo's size"),
        ]),
        ("HEAD", "/api/uploads/{id}") => Op::new(
            "The acknowledged Upload-Offset (Cache-Control: no-store)",
            (200, "Upload-Offset, Upload-Length, Upload-Expires", Content::Empty),
        )
        .params(vec![path_uuid("id"), tus_resumable()])
        .errors(&upload_gone)
        .errors(&[
            (412, "Another tus version"),
            (423, "Another request is finishing this upload and did not end in time (upload.busy)"),
            (460, "Every byte arrived but the whole file's SHA-256 is not the photo's: the upload was ended"),
        ]),
        ("PATCH", "/api/uploads/{id}") => patch_op(),
        // HEAD through it answers as HEAD does (200).
        ("POST", "/api/uploads/{id}") => Op {
            summary: "PATCH, DELETE or HEAD for clients behind proxies that drop them \
                      (X-HTTP-Method-Override)",
            ..patch_op()
        }
        .also((200, "X-HTTP-Method-Override: HEAD: Upload-Offset, Upload-Length", Content::Empty))
        .params(vec![header("X-HTTP-Method-Override", true,
                            json!({"enum": ["PATCH", "DELETE", "HEAD"]}))])
        .errors(&[(400, "No X-HTTP-Method-Override"),
            (405, "An X-HTTP-Method-Override that is not PATCH, DELETE or HEAD")]),
        ("DELETE", "/api/uploads/{id}") => Op::new(
            "tus termination",
            (204, "Terminated", Content::Empty),
        )
        .params(vec![path_uuid("id"), tus_resumable()])
        .errors(&upload_gone)
        .errors(&[(412, "Another tus version")]),
        ("GET", "/api/photos/{id}") => Op::new(
            "A photo's record and the image verdict (its status)",
            (200, "The photo", json_ok::<app::photos::PhotoRecord>(gen)),
        )
        .params(vec![path_uuid("id")])
        .errors(&photo_visible),
        ("GET", "/api/photos/{id}/{size}") => Op::new(
            "A photo's image: thumb (~320 px JPEG), display (~1600 px JPEG) or the original bytes",
            (200, "The image (cacheable for a year: a photo's bytes never change)",
             Content::File(&["image/*"])),
        )
        .also((304, "Not modified: the If-None-Match named this image", Content::Empty))
        .params(vec![
            path_uuid("id"),
            json!({"name": "size", "in": "path", "required": true,
                   "schema": {"enum": ["thumb", "display", "original"]}}),
        ])
        .errors(&photo_visible)
        .errors(&[
            (409, "The photo's bytes have not all arrived or are still being processed"),
            (415, "The file is an image of a format khaosat does not take"),
            (422, "The file is not a usable image (the verdict's code says why)"),
        ]),
        ("GET", "/api/exports/visits.xlsx" | "/api/exports/visits.csv") => {
            let csv = spec.path.ends_with(".csv");
            Op::new(
                if csv { "The supervisor's visit list, filtered, as CSV (UTF-8). With the header \
                          X-Khaosat-Check: 1 the answer is 204, with no body, once the request \
                          would succeed: the file is not made" }
                else { "The supervisor's visit list, filtered, as an Excel workbook. With the \
                        header X-Khaosat-Check: 1 the answer is 204, with no body, once the \
                        request would succeed: the file is not made" },
                (200, "The file", Content::File(if csv { &["text/csv"] } else { &[XLSX] })),
            )
            .params(query_of::<app::office::review::contract::VisitQuery>(gen, &[]))
            .errors(&[
                (400, "A query that is not valid (unknown parameter, bad value)"),
                supervisors,
                (422, "A from or to that is not a YYYY-MM-DD date, or more visits than one \
                       export takes (narrow the filters)"),
            ])
        }
        ("GET", "/api/exports/plan.xlsx" | "/api/exports/plan.csv") => {
            let csv = spec.path.ends_with(".csv");
            Op::new(
                if csv { "The year's funding plan broken down by district, industry and source, \
                          as CSV. With the header X-Khaosat-Check: 1 the answer is 204, with no \
                          body, once the request would succeed: the file is not made" }
                else { "The year's funding plan as an Excel workbook. With the header \
                        X-Khaosat-Check: 1 the answer is 204, with no body, once the request \
                        would succeed: the file is not made" },
                (200, "The file", Content::File(if csv { &["text/csv"] } else { &[XLSX] })),
            )
            .params(query_of::<exports::YearQuery>(gen, &["year"]))
            .errors(&[(400, "A missing or malformed year"), (403, "Supervisors and administrators only")])
        }
        ("GET", "/api/registry/template.xlsx") => Op::new(
            "The registry intake template: the columns the intake reads, and a sheet \
             saying what each takes. With the header X-Khaosat-Check: 1 the answer is 204, \
             with no body, once the request would succeed: the file is not made",
            (200, "The file", Content::File(&[XLSX])),
        )
        .errors(&[(403, "Supervisors and administrators only")]),
        ("GET", "/api/registry/export.xlsx") => Op::new(
            "A year's registry in the intake template's layout; importing it again changes \
             nothing. With the header X-Khaosat-Check: 1 the answer is 204, with no body, once \
             the request would succeed: the file is not made",
            (200, "The file", Content::File(&[XLSX])),
        )
        .params(query_of::<exports::YearQuery>(gen, &["year"]))
        .errors(&[(400, "A missing or malformed year"), (403, "Supervisors and administrators only")]),
        ("POST", "/api/registry/intake") => Op::new(
            "Bulk intake of facilities and proposals from the template's XLSX or CSV: a preview of \
             every row's fate, or with commit=true the whole file applied (or nothing)",
            (200, "Each row's fate, the counts and every problem", json_ok::<app::office::registry::intake::IntakeReport>(gen)),
        )
        .params(query_of::<super::super::registry::IntakeQuery>(gen, &[]))
        .body(Body::Sheet)
        .errors(&[
            (400, "A malformed query"),
            (403, "Supervisors and administrators only"),
            (422, "A file that is not a readable table (registry.unreadable, registry.not_text, \
                   registry.too_many_rows, registry.expands), or a commit of a file with \
                   problems (registry.file_refused, every problem in params.problems)"),
        ]),
        ("POST", "/api/units/import") => Op::new(
            "Load an administrative unit tree (tree, effective_from) or a mapping between two \
             loaded trees (from, to) from CSV or XLSX",
            (200, "The rows loaded", json_ok::<super::super::units::ImportResult>(gen)),
        )
        .params(query_of::<super::super::units::ImportQuery>(gen, &[]))
        .body(Body::Sheet)
        .errors(&[
            (400, "A malformed query"),
            (403, "Administrators only"),
            (422, "Neither a tree nor a mapping named (units.import_target), or a file with \
                   problems (units.file_refused, every problem by row and column in \
                   params.problems); nothing is stored"),
        ]),
        ("POST", "/api/forms/xlsform") => Op::new(
            "Convert an XLSForm workbook (survey, choices, settings sheets) to a form \
             definition to preview; nothing is stored (publish it with publish_form)",
            (200, "The definition, and what was left out of the file (notes)",
             json_ok::<app::office::admin::xlsform::Imported>(gen)),
        )
        .body(Body::Sheet)
        .errors(&[
            (403, "Administrators only"),
            (413, "A workbook larger than 2 MiB"),
            (422, "A file with problems (forms.xlsform_refused, every problem by sheet, row \
                   and column, in Vietnamese and English, in params.problems)"),
        ]),
        ("GET", "/api/forms/xlsform.xlsx") => Op::new(
            "A published form version as an XLSForm workbook that imports to the same \
             definition. With the header X-Khaosat-Check: 1 the answer is 204, with no body, \
             once the request would succeed: the file is not made",
            (200, "The file", Content::File(&[XLSX])),
        )
        .params(query_of::<super::super::forms::FormQuery>(gen, &[]))
        .errors(&[
            (400, "A malformed query"),
            (403, "Administrators only"),
            (404, "No such form version"),
        ]),
        ("GET", "/api/exports/photos.zip") => Op::new(
            "The photos of one proposal, or of one district (optionally one year), as a ZIP. \
             With the header X-Khaosat-Check: 1 the answer is 204, with no body, once the \
             request would succeed: the archive is not made. The archive's manifest.json lists \
             the photos it holds, and under not_included those of the scope it does not \
             (waiting, checking, not_an_image, unreadable)",
            (200, "The archive", Content::File(&["application/zip"])),
        )
        .params(query_of::<exports::PhotoQuery>(gen, &[]))
        .errors(&[
            (400, "A malformed query"),
            supervisors,
            (404, "No such proposal or district"),
            (422, "Neither or both of proposal and district (export.scope_required), or more \
                   photos than one ZIP holds: export one proposal or one year"),
        ]),
        ("GET", "/api/exports/visit-photos.zip") => Op::new(
            "The photos of every visit in the review list as filtered (the query of the \
             visits export), as a ZIP; also the visits to facilities found on site. With the \
             header X-Khaosat-Check: 1 the answer is 204, with no body, once the request \
             would succeed: the archive is not made. The archive's manifest.json lists \
             the photos it holds, and under not_included those of the scope it does not \
             (waiting, checking, not_an_image, unreadable)",
            (200, "The archive", Content::File(&["application/zip"])),
        )
        .params(query_of::<app::office::review::contract::VisitQuery>(gen, &[]))
        .errors(&[
            (400, "A query that is not valid (unknown parameter, bad value)"),
            supervisors,
            (422, "A from or to that is not a YYYY-MM-DD date, a search of too many words, \
                   or more photos than one ZIP holds (narrow the filters)"),
        ]),
        _ => return None,
    };
    Some(op)
}

fn patch_op() -> Op {
    Op::new(
        "Bytes at Upload-Offset, optionally with Upload-Checksum (sha1 or sha256)",
        (204, "The new Upload-Offset; the last byte is answered once the file's SHA-256 \
               matches the photo's record", Content::Empty),
    )
    .params(vec![
        path_uuid("id"),
        tus_resumable(),
        header("Upload-Offset", true, json!({"type": "integer", "minimum": 0})),
        header("Upload-Checksum", false, json!({"type": "string",
            "description": "sha1 or sha256, a space, then the base64 digest of this request's bytes"})),
    ])
    .body(Body::Bytes { required: true })
    .errors(&[
        (400, "A missing or malformed Upload-Offset or Upload-Checksum"),
        (403, "Not the photo's inspector"),
        (404, "No such upload, or one terminated, failed or expired (upload.gone, upload.expired): create a new one"),
        (409, "Upload-Offset is not the upload's offset (nothing written)"),
        (423, "Another request is still writing or finishing this upload (upload.busy): ask HEAD again"),
        (412, "Another tus version"),
        (413, "Bytes past Upload-Length"),
        (415, "Bytes not sent as application/offset+octet-stream"),
        (460, "Checksum mismatch: this request's bytes (nothing written), or the whole file \
               against the photo's record (upload.sha256_mismatch ends the upload)"),
    ])
}
