//! The phone's backup file ("Sao lưu"): every change still in this device's
//! outbox, written as a ZIP archive (`sync::archive`) that the owner on any phone,
//! or a supervisor, sends to `POST /api/sync/import`, which replays it under the
//! original device and seqs. For a phone whose
//! sync is refused (device revoked by an administrator) and before a phone is
//! handed to someone else.
//!
//! Building the file and its name is plain Rust, tested natively; reading
//! IndexedDB and the download itself compile only for `hydrate`.
//!
//! One file (about 540 lines): the export button and the import screen read
//! and write the one archive format, and its native tests (`backup_tests.rs`) check both ends.

use crate::error::ErrorBody;
use crate::i18n::{error_text, use_locale, use_t, Locale};
use leptos::prelude::*;

/// `khaosat-backup-<username>-<yyyy-mm-dd-hhmm>.zip`, in Vietnam time (what the
/// inspector's watch says). Usernames are already safe in a file name; anything
/// else is replaced all the same, since the name reaches the phone's file system.
pub fn file_name(username: &str, now_ms: i64) -> String {
    let mut safe: String = username
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || matches!(c, '.' | '_' | '-' | '@') {
                c
            } else {
                '_'
            }
        })
        .collect();
    if safe.is_empty() {
        safe.push_str("unknown");
    }
    format!("khaosat-backup-{safe}-{}.zip", stamp_vn(now_ms))
}

/// "yyyy-mm-dd-hhmm" in Vietnam time, rearranged from the shared display format
/// ("dd/mm/yyyy HH:MM") so the offset and calendar maths stay in `format`.
fn stamp_vn(utc_ms: i64) -> String {
    let shown = crate::format::datetime_vn(utc_ms);
    let parts: Vec<&str> = shown.split(['/', ' ', ':']).collect();
    match parts.as_slice() {
        [d, m, y, hh, mi] => format!("{y}-{m}-{d}-{hh}{mi}"),
        _ => utc_ms.to_string(),
    }
}

/// What an export put in its file: the unsent changes, and the visits whose
/// unsaved answers could not go (a broken answer on screen to fix first).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Exported {
    pub count: usize,
    pub drafts_left: u32,
}

/// Exports this phone's unsent changes as a file and says how many went into it.
///
/// Without `username` it backs up the logged-in session's device; with one (the
/// login page, when the server refused that user's device) it backs up the
/// device that user had on this phone, session or not.
///
/// # Server-Side Rendering
/// Renders the button only; the export runs in the browser after a click.
#[component]
pub fn BackupButton(#[prop(optional, into)] username: Option<String>) -> impl IntoView {
    let tr = use_t();
    let Locale(lang) = use_locale();
    let busy = RwSignal::new(false);
    let outcome = RwSignal::new(None::<Result<Exported, ErrorBody>>);
    // Saving what was only autosaved changes the lists' sync states.
    let client = use_context::<crate::field::client::ClientState>();
    let export = move |_| {
        #[cfg(feature = "hydrate")]
        start_export(username.clone(), busy, outcome, client);
        #[cfg(not(feature = "hydrate"))]
        let _ = client;
        #[cfg(not(feature = "hydrate"))]
        let _ = &username;
    };
    view! {
        <div class="backup" data-testid="backup">
            <button
                type="button"
                class="btn btn-small btn-secondary"
                data-testid="backup-export"
                disabled=move || busy.get()
                on:click=export
            >
                {move || if busy.get() { tr("backup.exporting") } else { tr("backup.export") }}
            </button>
            {move || {
                outcome
                    .get()
                    .map(|result| match result {
                        Ok(Exported { count, drafts_left }) => {
                            view! {
                                <p class="notice" role="status" data-testid="backup-done" data-count=count.to_string()
                                    data-drafts-left=drafts_left.to_string()>
                                    {move || tr("backup.done").replace("{count}", &count.to_string())}
                                    {(drafts_left > 0).then(|| view! {
                                        " " {move || tr(if drafts_left == 1 { "backup.drafts_left_one" } else { "backup.drafts_left" }).replace("{count}", &drafts_left.to_string())}
                                    })}
                                </p>
                            }
                                .into_any()
                        }
                        Err(body) => {
                            view! {
                                <p class="error-banner" role="alert" data-testid="backup-error">
                                    {move || error_text(lang.get(), &body)}
                                </p>
                            }
                                .into_any()
                        }
                    })
            }}
        </div>
    }
}

#[cfg(feature = "hydrate")]
fn start_export(
    username: Option<String>,
    busy: RwSignal<bool>,
    outcome: RwSignal<Option<Result<Exported, ErrorBody>>>,
    client: Option<crate::field::client::ClientState>,
) {
    if busy.get_untracked() {
        return;
    }
    busy.set(true);
    outcome.set(None);
    leptos::task::spawn_local(async move {
        let result = export_now(username).await;
        if let (Ok(_), Some(client)) = (&result, client) {
            client.bump();
        }
        outcome.set(Some(result));
        busy.set(false);
    });
}

/// Reads the whole outbox of the device and hands the file to the browser.
/// Read-only: the outbox stays as it is, so the queue still goes out if the
/// phone may sync again (the server skips seqs it already has).
///
/// In a `--split` build the archive writer is a precached chunk
/// (`field_backup_export`), outside what `/login` downloads.
#[cfg(feature = "hydrate")]
#[cfg_attr(feature = "split", leptos::lazy(field_backup_export))]
async fn export_now(username: Option<String>) -> Result<Exported, ErrorBody> {
    use crate::field::offline::OfflineError;
    let storage = |e: OfflineError| ErrorBody::new(e.code(), e.to_string());
    let no_data = || ErrorBody::new("backup.no_data", "this phone holds no data to back up");
    let db = crate::field::offline::db().await.map_err(storage)?;
    let session = db.session().await.map_err(storage)?;
    let (username, device) = match username {
        // The same key the login page stores the device under.
        Some(name) => {
            let key = name.trim().to_lowercase();
            let device = db
                .device_for(&key)
                .await
                .map_err(storage)?
                .ok_or_else(no_data)?;
            (key, device)
        }
        None => {
            let session = session.clone().ok_or_else(no_data)?;
            (session.user.username, session.device_id)
        }
    };
    // Visits the server refused (a closed year, a district taken away, an
    // account deactivated) keep their answers as unsent changes, outside the
    // outbox: they go back into it first, so the file carries them.
    if let Some(session) = session.filter(|s| s.user.username == username && s.device_id == device)
    {
        crate::field::visits::requeue::refused(&db, &session.user.id, &device).await?;
    }
    // Answers typed and autosaved but never saved are not in the outbox
    // either: saved now, from the login page too (after a logout).
    let mut drafts_left = 0;
    if let Some(user_id) = db.user_for(&username).await.map_err(storage)? {
        drafts_left = crate::field::visits::requeue::unsaved(&db, &user_id, &device).await?;
    }
    let device_id = uuid::Uuid::parse_str(&device)
        .map_err(|_| storage(OfflineError::Decode("device id is not a UUID".into())))?;
    let now = crate::field::client::browser::now_ms();
    let failed = |detail: String| ErrorBody::new("backup.download_failed", detail);
    let (parts, count) = archive_pieces(&db, &device, device_id, &username, now)
        .await
        .map_err(storage)?;
    download(&file_name(&username, now), &parts).map_err(|e| failed(format!("{e:?}")))?;
    Ok(Exported { count, drafts_left })
}

/// The backup archive as byte pieces for a Blob: the outbox is read and encoded
/// a page at a time, so neither the mutations nor the archive are ever one
/// buffer in the app's memory (the browser assembles the Blob).
#[cfg(feature = "hydrate")]
pub async fn archive_pieces(
    db: &crate::field::offline::OfflineDb,
    device: &str,
    device_id: uuid::Uuid,
    username: &str,
    now: i64,
) -> Result<(js_sys::Array, usize), crate::field::offline::OfflineError> {
    use crate::sync::archive::{self, EntryBuilder, Manifest, ZipPieces};
    const PAGE: u32 = 500;
    let piece = |bytes: &[u8]| js_sys::Uint8Array::from(bytes);
    let data = js_sys::Array::new();
    let mut builder = EntryBuilder::default();
    // `in_file` for the manifest (every entry, so the seqs run on), `count`
    // for the inspector (a change withdrawn by a discard is not theirs).
    let (mut in_file, mut count, mut first, mut last) = (0usize, 0usize, None, None::<i64>);
    loop {
        let page = db.outbox_after(device, last.unwrap_or(0), PAGE).await?;
        let Some(end) = page.last().map(|e| e.mutation.seq) else {
            break;
        };
        first = first.or(page.first().map(|e| e.mutation.seq));
        let mutations: Vec<_> = page.iter().map(|e| e.mutation.clone()).collect();
        let lines = archive::ndjson_lines(&mutations);
        builder.update(&lines);
        data.push(&piece(&lines));
        in_file += page.len();
        count += page
            .iter()
            .filter(|e| !crate::field::visits::refused::withdrawn(e))
            .count();
        last = Some(end);
        if page.len() < PAGE as usize {
            break;
        }
    }
    let (crc, size) = builder.finish();
    let mut zip = ZipPieces::default();
    let bad = |e: archive::ArchiveError| crate::field::offline::OfflineError::Idb(e.to_string());
    let parts = js_sys::Array::new();
    parts.push(&piece(
        &zip.header(archive::MUTATIONS, crc, size).map_err(bad)?,
    ));
    for p in data.iter() {
        parts.push(&p);
    }
    // Photos whose bytes the server lacks: their bytes, one entry each, the
    // stored Blob itself as the entry's data (read once, for its CRC). A
    // photo whose upload finished is on the server already; its bytes would
    // only make the file larger.
    let mut photos: Vec<archive::PhotoEntry> = Vec::new();
    // The device's user's, whoever is logged in now (the login page backs up
    // after a logout, and another user may be logged in).
    let held = match db.user_for(username).await? {
        Some(user_id) => db.photos(&user_id, None).await?,
        None => Vec::new(),
    };
    for photo in held {
        if !photo.has_blob
            || photo.upload.done
            || photo.server_status == Some(crate::photos::PhotoStatus::Ok)
            || photos.iter().any(|p| p.sha256 == photo.sha256)
        {
            continue;
        }
        let Some(blob) = db.photo_blob(&photo.id).await? else {
            continue;
        };
        let bytes = crate::field::photos::capture::blob_bytes(&blob)
            .await
            .map_err(|e| crate::field::offline::OfflineError::Idb(e.message))?;
        let path = format!("photos/{}.jpg", photo.sha256);
        parts.push(&piece(
            &zip.header(&path, crc32fast::hash(&bytes), bytes.len() as u64)
                .map_err(bad)?,
        ));
        parts.push(&blob);
        photos.push(archive::PhotoEntry {
            sha256: photo.sha256.clone(),
            path,
            size: bytes.len() as u64,
        });
    }
    let manifest = Manifest {
        format: archive::ARCHIVE_FORMAT.into(),
        version: archive::ARCHIVE_VERSION,
        schema_version: crate::sync::MUTATION_SCHEMA_VERSION,
        device_id,
        username: Some(username.to_string()),
        exported_at_ms: Some(now),
        mutations: in_file as u64,
        first_seq: first,
        last_seq: last,
        photos,
    };
    let manifest = serde_json::to_vec_pretty(&manifest).unwrap_or_default();
    parts.push(&piece(
        &zip.header(
            archive::MANIFEST,
            crc32fast::hash(&manifest),
            manifest.len() as u64,
        )
        .map_err(bad)?,
    ));
    parts.push(&piece(&manifest));
    parts.push(&piece(&zip.finish()));
    Ok((parts, count))
}

/// Saves the pieces as one file: a Blob URL clicked through a temporary `<a download>`.
#[cfg(feature = "hydrate")]
fn download(name: &str, parts: &js_sys::Array) -> Result<(), wasm_bindgen::JsValue> {
    use wasm_bindgen::{JsCast, JsValue};
    let options = web_sys::BlobPropertyBag::new();
    options.set_type("application/zip");
    let blob = web_sys::Blob::new_with_u8_array_sequence_and_options(parts, &options)?;
    let url = web_sys::Url::create_object_url_with_blob(&blob)?;
    let document = web_sys::window()
        .and_then(|w| w.document())
        .ok_or_else(|| JsValue::from_str("no document"))?;
    let body = document
        .body()
        .ok_or_else(|| JsValue::from_str("no body"))?;
    let anchor: web_sys::HtmlAnchorElement = document
        .create_element("a")?
        .dyn_into()
        .map_err(JsValue::from)?;
    anchor.set_href(&url);
    anchor.set_download(name);
    anchor.set_attribute("hidden", "")?;
    // Firefox only follows a click on an anchor that is in the document.
    body.append_child(&anchor)?;
    anchor.click();
    anchor.remove();
    // Revoked later, not now: Safari reads the Blob after `click()` returns, and
    // a revoked URL there saves an empty or failed download.
    set_timeout(
        move || {
            let _ = web_sys::Url::revoke_object_url(&url);
        },
        std::time::Duration::from_secs(60),
    );
    Ok(())
}

/// What an import did: how many changes were new, already there, refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ImportCounts {
    pub applied: usize,
    pub duplicate: usize,
    pub refused: usize,
}

impl ImportCounts {
    pub fn of(results: &[crate::sync::MutationResult]) -> Self {
        use crate::sync::MutationResult::*;
        let mut c = Self::default();
        for r in results {
            match r {
                Applied { .. } => c.applied += 1,
                Duplicate { .. } => c.duplicate += 1,
                Refused { .. } => c.refused += 1,
            }
        }
        c
    }
}

/// Sends a backup file (from this or another phone) to the server, which
/// replays it under its original device and seqs: a phone that never synced
/// gets its work in this way, and nothing is applied twice.
#[component]
pub fn ImportBackup() -> impl IntoView {
    let tr = use_t();
    let Locale(lang) = use_locale();
    let busy = RwSignal::new(false);
    let outcome = RwSignal::new(None::<Result<ImportCounts, ErrorBody>>);
    let state = crate::field::client::use_client();
    let on_file = move |ev: leptos::ev::Event| {
        #[cfg(feature = "hydrate")]
        {
            use wasm_bindgen::JsCast;
            let input: Option<web_sys::HtmlInputElement> =
                ev.target().and_then(|t| t.dyn_into().ok());
            let Some(input) = input else { return };
            let Some(file) = input.files().and_then(|f| f.get(0)) else {
                return;
            };
            input.set_value("");
            busy.set(true);
            outcome.set(None);
            leptos::task::spawn_local(async move {
                outcome.set(Some(upload(file).await));
                busy.set(false);
                state.bump();
                crate::field::client::request_sync(state);
            });
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = (ev, state);
    };
    view! {
        <div class="backup-import" data-testid="backup-import">
            <label for="backup-file" class="btn btn-small btn-secondary">
                {move || if busy.get() { tr("backup.importing") } else { tr("backup.import") }}
            </label>
            <input id="backup-file" type="file" accept=".zip,.json,application/zip,application/json"
                class="visually-hidden" data-testid="backup-import-file" on:change=on_file disabled=move || busy.get()/>
            {move || outcome.get().map(|result| match result {
                Ok(c) => view! {
                    <p class="notice" role="status" data-testid="backup-imported"
                        data-applied=c.applied.to_string() data-duplicate=c.duplicate.to_string() data-refused=c.refused.to_string()>
                        {move || tr("backup.imported")
                            .replace("{applied}", &c.applied.to_string())
                            .replace("{duplicate}", &c.duplicate.to_string())
                            .replace("{refused}", &c.refused.to_string())}
                    </p>
                }.into_any(),
                Err(body) => view! {
                    <p class="error-banner" role="alert" data-testid="backup-import-error">{move || error_text(lang.get(), &body)}</p>
                }.into_any(),
            })}
        </div>
    }
}

#[cfg(feature = "hydrate")]
async fn upload(file: web_sys::File) -> Result<ImportCounts, ErrorBody> {
    let unreadable = || ErrorBody::new("backup.unreadable", "the file could not be read");
    let read = |blob: &web_sys::Blob| wasm_bindgen_futures::JsFuture::from(blob.array_buffer());
    let head_blob = file
        .slice_with_f64_and_f64(0.0, 64.0)
        .map_err(|_| unreadable())?;
    let head = js_sys::Uint8Array::new(&read(&head_blob).await.map_err(|_| unreadable())?).to_vec();
    let json = sent_as_json(&head);
    // An archive goes as the chosen file itself: the browser streams it from
    // the phone's storage, never as a copy in memory (it may hold hundreds
    // of photos). An older JSON file is read, to check it is whole.
    let bytes = if json {
        js_sys::Uint8Array::new(&read(&file).await.map_err(|_| unreadable())?)
    } else {
        js_sys::Uint8Array::new_with_length(0)
    };
    if json
        && !whole_json(FileBytes {
            array: bytes.clone(),
            at: 0,
        })
    {
        // An outbox file cut short in copying, or broken inside; the
        // server's answer would be a parse error, which tells a person
        // nothing, or "not a backup", which is wrong.
        return Err(ErrorBody::new(
            "import.bad_archive",
            "the JSON backup file is cut short or broken",
        )
        .with("reason", "damaged"));
    }
    let content_type = if json {
        "application/json"
    } else {
        "application/zip"
    };
    let body: wasm_bindgen::JsValue = if json { bytes.into() } else { file.into() };
    let response: crate::sync::ImportResponse =
        crate::field::client::http::post_body("/api/sync/import", content_type, body)
            .await
            .map_err(|e| {
                let body = e.body_not_kept();
                // Whole JSON that is no outbox file is no backup: a sentence
                // of its own, not the server's English parse error.
                if json && body.code == "request.malformed" {
                    return ErrorBody::new("import.bad_archive", body.message)
                        .with("reason", crate::sync::archive::NOT_BACKUP);
                }
                body
            })?;
    Ok(ImportCounts::of(&response.results))
}

/// Whether a chosen file goes as the older JSON outbox file (it opens with
/// `{`) rather than as an archive: anything else, a picture or an empty
/// file included, goes as a ZIP, which the server refuses with its reason
/// (`import.bad_archive`, not a ZIP) instead of a malformed request.
#[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
fn sent_as_json(head: &[u8]) -> bool {
    let start = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(head);
    start.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{')
}

/// Whether a file is JSON read to its end (a byte-order mark allowed), as
/// an outbox file is; a copy cut short, even just after a `}`, or broken
/// inside is not. Only read, never kept: the server parses what it gets.
/// Read through a small buffer: a backup of tens of megabytes copied whole into
/// the app's memory would grow it for as long as the tab lives (WebAssembly
/// memory never shrinks), on the phones with the least of it.
#[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
fn whole_json(mut file: impl std::io::Read) -> bool {
    use std::io::Read;
    let mut head = [0u8; 3];
    let mut n = 0;
    while n < head.len() {
        match file.read(&mut head[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(_) => return false,
        }
    }
    let head = match &head[..n] {
        b"\xEF\xBB\xBF" => &head[..0],
        read => read,
    };
    let reader = std::io::BufReader::with_capacity(64 * 1024, head.chain(file));
    serde_json::from_reader::<_, serde::de::IgnoredAny>(reader).is_ok()
}

/// The chosen file's bytes, read from the browser's copy a piece at a time.
#[cfg(feature = "hydrate")]
struct FileBytes {
    array: js_sys::Uint8Array,
    at: u32,
}

#[cfg(feature = "hydrate")]
impl std::io::Read for FileBytes {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let end = self
            .at
            .saturating_add(u32::try_from(buf.len()).unwrap_or(u32::MAX))
            .min(self.array.length());
        let n = (end - self.at) as usize;
        self.array.subarray(self.at, end).copy_to(&mut buf[..n]);
        self.at = end;
        Ok(n)
    }
}

#[cfg(test)]
#[path = "backup_tests.rs"]
mod tests;
