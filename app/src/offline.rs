//! `OfflineDb`: the only door to IndexedDB. Store names and the schema version are
//! constants here; callers get typed methods and `OfflineError`, never a `JsValue`.
//!
//! Values are stored as JSON strings under explicit string keys: one encoding
//! shared with the server's types, no per-store key paths to keep in step.
//! Records that belong to a user (proposals, facilities, visits) are keyed
//! `"{user_id}:{id}"`, so two people sharing a phone never see each other's data.
//!
//! Schema log:
//! - v1: meta, units, forms, facilities, proposals, visits, outbox.
//! - v2: photos: `{user_id}:{photo_id}` the record (JSON), `blob:{photo_id}` the
//!   downscaled JPEG as a Blob.
//!
//! One file (1048 lines): every IndexedDB store goes through this one OfflineDb and its upgrade path; issue 16 splits it per store.

use crate::forms::FormDefinition;
use crate::model::{AdminUnit, Facility, Proposal, UserInfo};
use crate::photos::local::LocalPhoto;
use crate::sync::{Hlc, MutationResult, PullResponse, PulledRecord};
use crate::visits::local::{
    absorb_server_copy, after_push, keep_on_resync, settle_push, LocalVisit, OutboxEntry,
};
use rexie::{KeyRange, ObjectStore, Rexie, Store, TransactionMode};
use serde::{de::DeserializeOwned, Deserialize, Serialize};
use std::cell::RefCell;
use std::collections::BTreeSet;
use std::rc::Rc;
use wasm_bindgen::{JsCast, JsValue};

pub const DB_NAME: &str = "khaosat";
/// 1: the first release. 2: adds `photos` (photo blobs with their metadata).
/// Every store listed in `ALL_STORES` survives an upgrade; rexie deletes the
/// stores a new version no longer lists, so a store is never dropped from it.
pub const SCHEMA_VERSION: u32 = 2;

const META: &str = "meta";
const UNITS: &str = "units";
const FORMS: &str = "forms";
const FACILITIES: &str = "facilities";
const PROPOSALS: &str = "proposals";
const VISITS: &str = "visits";
const OUTBOX: &str = "outbox";
const PHOTOS: &str = "photos";
const ALL_STORES: &[&str] = &[
    META, UNITS, FORMS, FACILITIES, PROPOSALS, VISITS, OUTBOX, PHOTOS,
];

#[derive(Debug, Clone, thiserror::Error)]
pub enum OfflineError {
    #[error("IndexedDB: {0}")]
    Idb(String),
    #[error("stored data could not be read: {0}")]
    Decode(String),
    #[error("the phone's storage is full")]
    QuotaExceeded,
}

impl OfflineError {
    /// The locale code the UI shows for this error.
    pub fn code(&self) -> &'static str {
        match self {
            OfflineError::Idb(_) => "offline.storage_failed",
            OfflineError::Decode(_) => "offline.corrupt",
            OfflineError::QuotaExceeded => "offline.quota",
        }
    }
}

impl From<rexie::Error> for OfflineError {
    fn from(e: rexie::Error) -> Self {
        let text = e.to_string();
        if text.contains("Quota") {
            OfflineError::QuotaExceeded
        } else {
            OfflineError::Idb(text)
        }
    }
}

fn js_err(e: JsValue) -> OfflineError {
    let text = e
        .dyn_ref::<js_sys::Error>()
        .map(|e| format!("{}: {}", e.name(), e.message()))
        .or_else(|| e.as_string())
        .unwrap_or_else(|| format!("{e:?}"));
    if text.contains("Quota") {
        OfflineError::QuotaExceeded
    } else {
        OfflineError::Idb(text)
    }
}

type Result<T> = std::result::Result<T, OfflineError>;

fn encode<T: Serialize>(value: &T) -> Result<JsValue> {
    serde_json::to_string(value)
        .map(|s| JsValue::from_str(&s))
        .map_err(|e| OfflineError::Decode(e.to_string()))
}

fn decode<T: DeserializeOwned>(value: JsValue) -> Result<T> {
    let text = value
        .as_string()
        .ok_or_else(|| OfflineError::Decode("not a string".into()))?;
    serde_json::from_str(&text).map_err(|e| OfflineError::Decode(e.to_string()))
}

fn key(k: &str) -> JsValue {
    JsValue::from_str(k)
}

fn prefix_range(prefix: &str) -> Result<KeyRange> {
    KeyRange::bound(
        &key(prefix),
        &key(&format!("{prefix}\u{ffff}")),
        Some(false),
        Some(false),
    )
    .map_err(|e| OfflineError::Idb(e.to_string()))
}

/// Who is logged in on this phone, kept so the app opens offline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Session {
    pub user: UserInfo,
    pub device_id: String,
}

/// Keys of the `meta` store.
enum Meta<'a> {
    Session,
    /// The device id a user got on this phone (kept after logout: their queue stays theirs).
    Device(&'a str),
    /// Last seq allocated by a device.
    Seq(&'a str),
    /// Pull cursor of a user.
    Cursor(&'a str),
    Hlc,
}

impl Meta<'_> {
    fn key(&self) -> String {
        match self {
            Meta::Session => "session".into(),
            Meta::Device(username) => format!("device:{username}"),
            Meta::Seq(device) => format!("seq:{device}"),
            Meta::Cursor(user) => format!("cursor:{user}"),
            Meta::Hlc => "hlc".into(),
        }
    }
}

#[wasm_bindgen::prelude::wasm_bindgen]
extern "C" {
    // web-sys only exposes transaction options behind an unstable cfg; this is the
    // same IDBDatabase.transaction(stores, mode, {durability}) call.
    #[wasm_bindgen(js_name = IDBDatabase)]
    type StrictCapableDb;

    #[wasm_bindgen(method, catch, js_name = transaction)]
    fn transaction_with_options(
        this: &StrictCapableDb,
        stores: &js_sys::Array,
        mode: &str,
        options: &JsValue,
    ) -> std::result::Result<web_sys::IdbTransaction, JsValue>;
}

/// One open connection pair to the database.
struct Conn {
    rexie: Rexie,
    /// A second connection to the same database, for the one transaction rexie
    /// cannot open: an explicit save with `durability: "strict"`.
    raw: web_sys::IdbDatabase,
}

/// The database. iOS Safari can close the connection while the app is in the
/// background; the next transaction then fails with InvalidStateError. Every
/// transaction goes through `tx`/`strict_tx`, which reopen the connection and
/// retry once before reporting the error.
pub struct OfflineDb {
    name: String,
    conn: std::cell::RefCell<Option<std::rc::Rc<Conn>>>,
}

/// Whether an error means the connection is gone (closed by the browser or by us).
fn connection_lost(text: &str) -> bool {
    text.contains("InvalidStateError")
        || text.contains("closing")
        || text.contains("closed")
        || text.contains("Connection to Indexed Database server lost")
}

async fn await_request(req: &web_sys::IdbRequest) -> Result<JsValue> {
    let promise = js_sys::Promise::new(&mut |resolve, reject| {
        req.set_onsuccess(Some(&resolve));
        req.set_onerror(Some(&reject));
    });
    wasm_bindgen_futures::JsFuture::from(promise)
        .await
        .map_err(|_| {
            req.error()
                .ok()
                .flatten()
                .map(|e| js_err(e.into()))
                .unwrap_or_else(|| OfflineError::Idb("request failed".into()))
        })?;
    req.result().map_err(js_err)
}

async fn connect(name: &str) -> Result<Conn> {
    let mut builder = Rexie::builder(name).version(SCHEMA_VERSION);
    for store in ALL_STORES {
        builder = builder.add_object_store(ObjectStore::new(store));
    }
    let rexie = builder.build().await?;
    let factory = web_sys::window()
        .ok_or_else(|| OfflineError::Idb("no window".into()))?
        .indexed_db()
        .map_err(js_err)?
        .ok_or_else(|| OfflineError::Idb("IndexedDB is not available".into()))?;
    let request = factory
        .open_with_u32(name, SCHEMA_VERSION)
        .map_err(js_err)?;
    let raw: web_sys::IdbDatabase = await_request(&request).await?.unchecked_into();
    // A newer app version in another tab must be able to upgrade the schema: let
    // go of this connection when it asks (rexie does the same for its own).
    let closing = raw.clone();
    let on_change = wasm_bindgen::closure::Closure::<dyn FnMut()>::new(move || closing.close());
    raw.set_onversionchange(Some(on_change.as_ref().unchecked_ref()));
    on_change.forget();
    Ok(Conn { rexie, raw })
}

impl OfflineDb {
    pub async fn open() -> Result<OfflineDb> {
        Self::open_named(DB_NAME).await
    }

    /// Opens (creating or upgrading) a database; tests use their own names.
    pub async fn open_named(name: &str) -> Result<OfflineDb> {
        let conn = connect(name).await?;
        Ok(OfflineDb {
            name: name.to_string(),
            conn: std::cell::RefCell::new(Some(std::rc::Rc::new(conn))),
        })
    }

    pub fn close(self) {
        self.drop_connection();
    }

    /// Closes the connection the way a backgrounded iOS Safari does; the next call
    /// reopens it. Public for the wasm test of that recovery.
    pub fn drop_connection(&self) {
        if let Some(conn) = self.conn.borrow_mut().take() {
            conn.raw.close();
            if let Ok(conn) = std::rc::Rc::try_unwrap(conn) {
                conn.rexie.close();
            }
        }
    }

    /// Closes only the second (strict-save) connection, leaving the handle in
    /// place: the next strict save meets a real InvalidStateError. For tests.
    pub fn close_raw_connection(&self) {
        if let Some(conn) = self.conn.borrow().as_ref() {
            conn.raw.close();
        }
    }

    async fn reopen(&self) -> Result<std::rc::Rc<Conn>> {
        self.drop_connection();
        let conn = std::rc::Rc::new(connect(&self.name).await?);
        *self.conn.borrow_mut() = Some(conn.clone());
        Ok(conn)
    }

    async fn current(&self) -> Result<std::rc::Rc<Conn>> {
        let existing = self.conn.borrow().clone();
        match existing {
            Some(conn) => Ok(conn),
            None => self.reopen().await,
        }
    }

    /// A rexie transaction, reopening a lost connection once.
    async fn tx(&self, stores: &[&str], mode: TransactionMode) -> Result<rexie::Transaction> {
        let conn = self.current().await?;
        match conn.rexie.transaction(stores, mode) {
            Ok(tx) => Ok(tx),
            Err(e) if connection_lost(&e.to_string()) => {
                Ok(self.reopen().await?.rexie.transaction(stores, mode)?)
            }
            Err(e) => Err(e.into()),
        }
    }

    /// A read-write transaction with `durability: "strict"`, reopening a lost
    /// connection once.
    async fn strict_tx(&self, stores: &js_sys::Array) -> Result<web_sys::IdbTransaction> {
        let options = js_sys::Object::new();
        js_sys::Reflect::set(&options, &key("durability"), &key("strict")).map_err(js_err)?;
        let open = |conn: &Conn| {
            conn.raw
                .unchecked_ref::<StrictCapableDb>()
                .transaction_with_options(stores, "readwrite", &options)
                .map_err(js_err)
        };
        let conn = self.current().await?;
        match open(&conn) {
            Err(OfflineError::Idb(text)) if connection_lost(&text) => open(&*self.reopen().await?),
            other => other,
        }
    }

    async fn get<T: DeserializeOwned>(&self, store: &str, k: &str) -> Result<Option<T>> {
        let tx = self.tx(&[store], TransactionMode::ReadOnly).await?;
        let value = tx.store(store)?.get(key(k)).await?;
        value.map(decode).transpose()
    }

    async fn all<T: DeserializeOwned>(&self, store: &str, prefix: Option<&str>) -> Result<Vec<T>> {
        let tx = self.tx(&[store], TransactionMode::ReadOnly).await?;
        let range = prefix.map(prefix_range).transpose()?;
        let values = tx.store(store)?.get_all(range, None).await?;
        values.into_iter().map(decode).collect()
    }

    async fn put<T: Serialize>(&self, store: &str, k: &str, value: &T) -> Result<()> {
        let tx = self.tx(&[store], TransactionMode::ReadWrite).await?;
        tx.store(store)?.put(&encode(value)?, Some(&key(k))).await?;
        tx.done().await?;
        Ok(())
    }

    pub async fn session(&self) -> Result<Option<Session>> {
        self.get(META, &Meta::Session.key()).await
    }

    pub async fn set_session(&self, session: &Session) -> Result<()> {
        self.put(META, &Meta::Session.key(), session).await
    }

    /// Forgets who is logged in; queued data and the user's device stay.
    pub async fn clear_session(&self) -> Result<()> {
        let tx = self.tx(&[META], TransactionMode::ReadWrite).await?;
        tx.store(META)?.delete(key(&Meta::Session.key())).await?;
        tx.done().await?;
        Ok(())
    }

    pub async fn device_for(&self, username: &str) -> Result<Option<String>> {
        self.get(META, &Meta::Device(username).key()).await
    }

    pub async fn set_device_for(&self, username: &str, device_id: &str) -> Result<()> {
        self.put(META, &Meta::Device(username).key(), &device_id.to_string())
            .await
    }

    pub async fn cursor(&self, user_id: &str) -> Result<i64> {
        Ok(self
            .get(META, &Meta::Cursor(user_id).key())
            .await?
            .unwrap_or(0))
    }

    pub async fn last_seq(&self, device_id: &str) -> Result<i64> {
        Ok(self
            .get(META, &Meta::Seq(device_id).key())
            .await?
            .unwrap_or(0))
    }

    pub async fn hlc(&self) -> Result<Hlc> {
        Ok(self.get(META, &Meta::Hlc.key()).await?.unwrap_or_default())
    }

    /// Takes in the server's clock (every response carries it), so the phone's
    /// next stamps order after everything it has seen, even with a slow clock.
    pub async fn merge_clock(&self, remote: Hlc, now_ms: i64) -> Result<Hlc> {
        let tx = self.tx(&[META], TransactionMode::ReadWrite).await?;
        let store = tx.store(META)?;
        let mut clock: Hlc = store
            .get(key(&Meta::Hlc.key()))
            .await?
            .map(decode)
            .transpose()?
            .unwrap_or_default();
        clock.merge(remote, now_ms);
        store
            .put(&encode(&clock)?, Some(&key(&Meta::Hlc.key())))
            .await?;
        tx.done().await?;
        Ok(clock)
    }

    pub async fn units(&self) -> Result<Vec<AdminUnit>> {
        self.all(UNITS, None).await
    }

    pub async fn proposals(&self, user_id: &str) -> Result<Vec<Proposal>> {
        self.all(PROPOSALS, Some(&format!("{user_id}:"))).await
    }

    pub async fn proposal(&self, user_id: &str, id: &str) -> Result<Option<Proposal>> {
        self.get(PROPOSALS, &format!("{user_id}:{id}")).await
    }

    pub async fn facilities(&self, user_id: &str) -> Result<Vec<Facility>> {
        self.all(FACILITIES, Some(&format!("{user_id}:"))).await
    }

    pub async fn form(&self, id: &str, version: i32) -> Result<Option<FormDefinition>> {
        self.get(FORMS, &format!("{id}@{version:06}")).await
    }

    /// The newest version of a form this phone has.
    pub async fn current_form(&self, id: &str) -> Result<Option<FormDefinition>> {
        let forms: Vec<FormDefinition> = self.all(FORMS, Some(&format!("{id}@"))).await?;
        Ok(forms.into_iter().max_by_key(|f| f.version))
    }

    pub async fn visit(&self, user_id: &str, id: &str) -> Result<Option<LocalVisit>> {
        self.get(VISITS, &format!("{user_id}:{id}")).await
    }

    pub async fn visits(&self, user_id: &str) -> Result<Vec<LocalVisit>> {
        self.all(VISITS, Some(&format!("{user_id}:"))).await
    }

    /// Autosave: the draft only, no mutations (DESIGN.md).
    pub async fn put_draft(&self, user_id: &str, visit: &LocalVisit) -> Result<()> {
        self.put(VISITS, &format!("{user_id}:{}", visit.id), visit)
            .await
    }

    /// Explicit save: the visit, its new mutations, the device's seq counter and
    /// the clock in ONE transaction with strict durability, resolved only once the
    /// transaction has completed (so the UI may then say "saved").
    pub async fn save_visit(
        &self,
        user_id: &str,
        visit: &LocalVisit,
        entries: &[OutboxEntry],
        device_id: &str,
        hlc: Hlc,
    ) -> Result<()> {
        let stores = js_sys::Array::of3(&key(VISITS), &key(OUTBOX), &key(META));
        let tx = self.strict_tx(&stores).await?;
        let done = js_sys::Promise::new(&mut |resolve, reject| {
            tx.set_oncomplete(Some(&resolve));
            tx.set_onerror(Some(&reject));
            tx.set_onabort(Some(&reject));
        });
        let write = || -> std::result::Result<(), JsValue> {
            let visits = tx.object_store(VISITS)?;
            let outbox = tx.object_store(OUTBOX)?;
            let meta = tx.object_store(META)?;
            let enc = |v: &dyn erased::Encode| v.encode_js();
            visits.put_with_key(&enc(visit)?, &key(&format!("{user_id}:{}", visit.id)))?;
            let mut last = None;
            for entry in entries {
                outbox.put_with_key(&enc(entry)?, &key(&entry.key()))?;
                last = Some(entry.mutation.seq);
            }
            if let Some(seq) = last {
                meta.put_with_key(&enc(&seq)?, &key(&Meta::Seq(device_id).key()))?;
            }
            meta.put_with_key(&enc(&hlc)?, &key(&Meta::Hlc.key()))?;
            Ok(())
        };
        if let Err(e) = write() {
            let _ = tx.abort();
            return Err(js_err(e));
        }
        wasm_bindgen_futures::JsFuture::from(done)
            .await
            .map_err(|_| {
                tx.error()
                    .map(|e| js_err(e.into()))
                    .unwrap_or_else(|| OfflineError::Idb("save was aborted".into()))
            })?;
        Ok(())
    }

    /// The device's queued mutations in seq order, at most `limit`.
    pub async fn outbox(&self, device_id: &str, limit: u32) -> Result<Vec<OutboxEntry>> {
        let tx = self.tx(&[OUTBOX], TransactionMode::ReadOnly).await?;
        let values = tx
            .store(OUTBOX)?
            .get_all(Some(prefix_range(&format!("{device_id}:"))?), Some(limit))
            .await?;
        values.into_iter().map(decode).collect()
    }

    /// Queued mutations after `after_seq`, in seq order, at most `limit`: the
    /// backup reads the outbox page by page.
    pub async fn outbox_after(
        &self,
        device_id: &str,
        after_seq: i64,
        limit: u32,
    ) -> Result<Vec<OutboxEntry>> {
        let tx = self.tx(&[OUTBOX], TransactionMode::ReadOnly).await?;
        let range = KeyRange::bound(
            &key(&crate::visits::local::outbox_key(device_id, after_seq + 1)),
            &key(&format!("{device_id}:\u{ffff}")),
            Some(false),
            Some(false),
        )
        .map_err(|e| OfflineError::Idb(e.to_string()))?;
        let values = tx.store(OUTBOX)?.get_all(Some(range), Some(limit)).await?;
        values.into_iter().map(decode).collect()
    }

    pub async fn outbox_len(&self, device_id: &str) -> Result<u32> {
        let tx = self.tx(&[OUTBOX], TransactionMode::ReadOnly).await?;
        Ok(tx
            .store(OUTBOX)?
            .count(Some(prefix_range(&format!("{device_id}:"))?))
            .await?)
    }

    /// Records a push's results: acknowledged entries leave the outbox, refusals
    /// are written onto their visit, and a visit with nothing left queued is synced.
    pub async fn apply_push_results(
        &self,
        user_id: &str,
        device_id: &str,
        sent: &[OutboxEntry],
        results: &[MutationResult],
    ) -> Result<()> {
        let tx = self
            .tx(&[OUTBOX, VISITS], TransactionMode::ReadWrite)
            .await?;
        let outbox = tx.store(OUTBOX)?;
        let visits = tx.store(VISITS)?;
        let (done, per_visit) = settle_push(sent, results);
        for entry in done {
            outbox.delete(key(&entry.key())).await?;
        }
        let remaining: Vec<OutboxEntry> = outbox
            .get_all(Some(prefix_range(&format!("{device_id}:"))?), None)
            .await?
            .into_iter()
            .map(decode)
            .collect::<Result<_>>()?;
        for (visit_id, results) in per_visit {
            let k = format!("{user_id}:{visit_id}");
            let Some(value) = visits.get(key(&k)).await? else {
                continue;
            };
            let visit: LocalVisit = decode(value)?;
            let still_queued = remaining.iter().any(|e| e.visit_id == visit_id);
            let visit = after_push(visit, &results, still_queued);
            visits.put(&encode(&visit)?, Some(&key(&k))).await?;
        }
        tx.done().await?;
        Ok(())
    }

    /// Runs `write` in one strict read-write transaction over `stores` and waits
    /// until it has completed (or failed).
    async fn strict_write(
        &self,
        stores: &[&str],
        write: impl FnOnce(&web_sys::IdbTransaction) -> std::result::Result<(), JsValue>,
    ) -> Result<()> {
        let names = js_sys::Array::new();
        for s in stores {
            names.push(&key(s));
        }
        let tx = self.strict_tx(&names).await?;
        let done = js_sys::Promise::new(&mut |resolve, reject| {
            tx.set_oncomplete(Some(&resolve));
            tx.set_onerror(Some(&reject));
            tx.set_onabort(Some(&reject));
        });
        if let Err(e) = write(&tx) {
            let _ = tx.abort();
            return Err(js_err(e));
        }
        wasm_bindgen_futures::JsFuture::from(done)
            .await
            .map_err(|_| {
                tx.error()
                    .map(|e| js_err(e.into()))
                    .unwrap_or_else(|| OfflineError::Idb("the write was aborted".into()))
            })?;
        Ok(())
    }

    /// A captured photo: its bytes, its record and its `attach_photo` change,
    /// with the seq counter and the clock, in ONE strict transaction.
    pub async fn attach_photo(
        &self,
        user_id: &str,
        photo: &LocalPhoto,
        blob: &web_sys::Blob,
        entry: &OutboxEntry,
        device_id: &str,
        hlc: Hlc,
    ) -> Result<()> {
        let meta_key = format!("{user_id}:{}", photo.id);
        let blob_key = photo_blob_key(&photo.id);
        self.strict_write(&[PHOTOS, OUTBOX, META], |tx| {
            let enc = |v: &dyn erased::Encode| v.encode_js();
            let photos = tx.object_store(PHOTOS)?;
            photos.put_with_key(blob, &key(&blob_key))?;
            photos.put_with_key(&enc(photo)?, &key(&meta_key))?;
            queue_entry(tx, entry, device_id, hlc)
        })
        .await
    }

    /// A caption change or a removal, queued with its change. A removed
    /// photo's bytes go at once (the change tells the server).
    pub async fn change_photo(
        &self,
        user_id: &str,
        photo: &LocalPhoto,
        entry: &OutboxEntry,
        device_id: &str,
        hlc: Hlc,
        remove: bool,
    ) -> Result<()> {
        let meta_key = format!("{user_id}:{}", photo.id);
        let blob_key = photo_blob_key(&photo.id);
        self.strict_write(&[PHOTOS, OUTBOX, META], |tx| {
            let enc = |v: &dyn erased::Encode| v.encode_js();
            let photos = tx.object_store(PHOTOS)?;
            if remove {
                photos.delete(&key(&meta_key))?;
                photos.delete(&key(&blob_key))?;
            } else {
                photos.put_with_key(&enc(photo)?, &key(&meta_key))?;
            }
            queue_entry(tx, entry, device_id, hlc)
        })
        .await
    }

    /// Undoes an `attach_photo` whose stored bytes did not hash back to the
    /// photo's SHA-256 (iOS has corrupted Blobs in IndexedDB): nothing of it
    /// may sync.
    pub async fn forget_photo(
        &self,
        user_id: &str,
        photo_id: &str,
        entry: &OutboxEntry,
    ) -> Result<()> {
        let tx = self
            .tx(&[PHOTOS, OUTBOX], TransactionMode::ReadWrite)
            .await?;
        let photos = tx.store(PHOTOS)?;
        photos.delete(key(&format!("{user_id}:{photo_id}"))).await?;
        photos.delete(key(&photo_blob_key(photo_id))).await?;
        tx.store(OUTBOX)?.delete(key(&entry.key())).await?;
        tx.done().await?;
        Ok(())
    }

    /// A new caption for a photo, queued as its change. The record is read and
    /// written in ONE strict transaction, and the change's seq and clock come
    /// from that same transaction: an upload writing its progress meanwhile,
    /// or another save numbering its own change, can neither undo the caption
    /// nor take its seq. `None` (nothing written) when the photo is gone.
    pub async fn caption_photo(
        &self,
        user_id: &str,
        device_id: &str,
        photo_id: &str,
        caption: Option<String>,
        mutation_id: uuid::Uuid,
        now_ms: i64,
    ) -> Result<Option<LocalPhoto>> {
        let names = js_sys::Array::of3(&key(PHOTOS), &key(OUTBOX), &key(META));
        let tx = self.strict_tx(&names).await?;
        let done = js_sys::Promise::new(&mut |resolve, reject| {
            tx.set_oncomplete(Some(&resolve));
            tx.set_onerror(Some(&reject));
            tx.set_onabort(Some(&reject));
        });
        let written = caption_in(
            &tx,
            user_id,
            device_id,
            photo_id,
            caption,
            mutation_id,
            now_ms,
        )
        .await;
        let photo = match written {
            Ok(Some(photo)) => photo,
            other => {
                let _ = tx.abort();
                return other;
            }
        };
        wasm_bindgen_futures::JsFuture::from(done)
            .await
            .map_err(|_| {
                tx.error()
                    .map(|e| js_err(e.into()))
                    .unwrap_or_else(|| OfflineError::Idb("the caption was not saved".into()))
            })?;
        Ok(Some(photo))
    }

    /// An upload's progress: only `upload` changes, read and written in one
    /// transaction, so a caption typed meanwhile stays and a photo removed
    /// meanwhile does not come back.
    pub async fn save_upload(
        &self,
        user_id: &str,
        photo_id: &str,
        upload: &crate::photos::local::UploadState,
    ) -> Result<()> {
        let tx = self.tx(&[PHOTOS], TransactionMode::ReadWrite).await?;
        let photos = tx.store(PHOTOS)?;
        let k = key(&format!("{user_id}:{photo_id}"));
        let Some(value) = photos.get(k.clone()).await? else {
            return Ok(());
        };
        let mut photo: LocalPhoto = decode(value)?;
        photo.upload = upload.clone();
        photos.put(&encode(&photo)?, Some(&k)).await?;
        tx.done().await?;
        Ok(())
    }

    /// The photo's stored bytes, if this phone has them.
    pub async fn photo_blob(&self, photo_id: &str) -> Result<Option<web_sys::Blob>> {
        let tx = self.tx(&[PHOTOS], TransactionMode::ReadOnly).await?;
        let value = tx
            .store(PHOTOS)?
            .get(key(&photo_blob_key(photo_id)))
            .await?;
        Ok(value.and_then(|v| v.dyn_into::<web_sys::Blob>().ok()))
    }

    /// The user's photos, of one visit or all.
    pub async fn photos(&self, user_id: &str, visit_id: Option<&str>) -> Result<Vec<LocalPhoto>> {
        let all: Vec<LocalPhoto> = self.all(PHOTOS, Some(&format!("{user_id}:"))).await?;
        Ok(all
            .into_iter()
            .filter(|p| visit_id.is_none_or(|v| p.visit_id == v))
            .collect())
    }

    /// The records with changes still in the outbox: their photos' bytes wait.
    pub async fn queued_records(&self, device_id: &str) -> Result<BTreeSet<String>> {
        Ok(self
            .outbox(device_id, u32::MAX)
            .await?
            .into_iter()
            .map(|e| e.mutation.record_id.to_string())
            .collect())
    }

    /// Prepares a full resync after the server said the cursor is too old (410):
    /// in one transaction, forgets the server's records this user holds (units,
    /// facilities, proposals, and visits the server fully has) and sets the cursor
    /// to 0. The outbox and every unsent, unsaved, refused or conflicting visit
    /// stay; forms stay too (versions never change, and local visits need them).
    pub async fn reset_for_resync(&self, session: &Session) -> Result<()> {
        let user_id = &session.user.id;
        let tx = self
            .tx(
                &[META, UNITS, FACILITIES, PROPOSALS, VISITS, OUTBOX],
                TransactionMode::ReadWrite,
            )
            .await?;
        let pending = queued_visits(&tx.store(OUTBOX)?, &session.device_id).await?;
        tx.store(UNITS)?.clear().await?;
        let mine = prefix_range(&format!("{user_id}:"))?;
        tx.store(FACILITIES)?.delete(mine.clone().into()).await?;
        tx.store(PROPOSALS)?.delete(mine.into()).await?;
        let visits = tx.store(VISITS)?;
        let local: Vec<LocalVisit> = visits
            .get_all(Some(prefix_range(&format!("{user_id}:"))?), None)
            .await?
            .into_iter()
            .map(decode)
            .collect::<Result<_>>()?;
        for v in local {
            if !keep_on_resync(&v, pending.contains(&v.id)) {
                visits.delete(key(&format!("{user_id}:{}", v.id))).await?;
            }
        }
        tx.store(META)?
            .put(&encode(&0i64)?, Some(&key(&Meta::Cursor(user_id).key())))
            .await?;
        tx.done().await?;
        Ok(())
    }

    /// Stores a pull page, advances the cursor and merges the server's clock in
    /// one transaction, so a page is either fully taken in or pulled again. The
    /// puts are all issued before any is awaited: IndexedDB queues them in the
    /// transaction, and waiting for each in turn made a 500-record page cost
    /// ~200 ms more in Chromium.
    pub async fn apply_pull(
        &self,
        session: &Session,
        page: &PullResponse,
        now_ms: i64,
    ) -> Result<()> {
        let user_id = &session.user.id;
        let tx = self.tx(ALL_STORES, TransactionMode::ReadWrite).await?;
        let pending = queued_visits(&tx.store(OUTBOX)?, &session.device_id).await?;
        let (units, forms, facilities, proposals, visits) = (
            tx.store(UNITS)?,
            tx.store(FORMS)?,
            tx.store(FACILITIES)?,
            tx.store(PROPOSALS)?,
            tx.store(VISITS)?,
        );
        let mut writes = Vec::with_capacity(page.changes.len());
        for change in &page.changes {
            match &change.record {
                PulledRecord::Unit(u) => {
                    // Units were keyed by bare code before trees were named.
                    if !u.tree.is_empty() {
                        writes.push(Write::Delete(&units, key(&u.code)));
                    }
                    writes.push(Write::Put(&units, encode(u)?, key(&u.key())))
                }
                PulledRecord::Form(f) => writes.push(Write::Put(
                    &forms,
                    encode(f)?,
                    key(&format!("{}@{:06}", f.id, f.version)),
                )),
                PulledRecord::Facility(f) => writes.push(Write::Put(
                    &facilities,
                    encode(f)?,
                    key(&format!("{user_id}:{}", f.id)),
                )),
                PulledRecord::Proposal(p) => writes.push(Write::Put(
                    &proposals,
                    encode(p)?,
                    key(&format!("{user_id}:{}", p.id)),
                )),
                PulledRecord::Visit(v) => {
                    // Read-modify-write: the local draft decides what is kept.
                    let k = format!("{user_id}:{}", v.id);
                    let local: Option<LocalVisit> =
                        visits.get(key(&k)).await?.map(decode).transpose()?;
                    let merged = absorb_server_copy(
                        local,
                        v,
                        &session.user.username,
                        pending.contains(&v.id),
                    );
                    writes.push(Write::Put(&visits, encode(&merged)?, key(&k)));
                    // Photo statuses travel inside their visit.
                    let photos = tx.store(PHOTOS)?;
                    for server in &v.photos {
                        let pk = format!("{user_id}:{}", server.id);
                        let local: Option<LocalPhoto> =
                            photos.get(key(&pk)).await?.map(decode).transpose()?;
                        let photo = match local {
                            Some(mut p) => {
                                p.absorb(server);
                                p
                            }
                            None => LocalPhoto::from_server(server),
                        };
                        photos.put(&encode(&photo)?, Some(&key(&pk))).await?;
                    }
                }
                PulledRecord::Deleted(d) => {
                    let store = match d.entity.as_str() {
                        "visit" => &visits,
                        "facility" => &facilities,
                        "proposal" => &proposals,
                        _ => continue,
                    };
                    writes.push(Write::Delete(store, key(&format!("{user_id}:{}", d.id))));
                }
            }
        }
        let meta = tx.store(META)?;
        let mut clock: Hlc = meta
            .get(key(&Meta::Hlc.key()))
            .await?
            .map(decode)
            .transpose()?
            .unwrap_or_default();
        clock.merge(page.server_hlc, now_ms);
        writes.push(Write::Put(&meta, encode(&clock)?, key(&Meta::Hlc.key())));
        writes.push(Write::Put(
            &meta,
            encode(&page.cursor)?,
            key(&Meta::Cursor(user_id).key()),
        ));
        futures::future::try_join_all(writes.iter().map(Write::run)).await?;
        tx.done().await?;
        Ok(())
    }
}

/// The visits with mutations still in a device's outbox.
async fn queued_visits(outbox: &Store, device_id: &str) -> Result<BTreeSet<String>> {
    Ok(outbox
        .get_all(Some(prefix_range(&format!("{device_id}:"))?), None)
        .await?
        .into_iter()
        .map(decode::<OutboxEntry>)
        .collect::<Result<Vec<_>>>()?
        .into_iter()
        .map(|e| e.visit_id)
        .collect())
}

/// One write of a pull page, issued together with the others.
enum Write<'s> {
    Put(&'s Store, JsValue, JsValue),
    Delete(&'s Store, JsValue),
}

impl Write<'_> {
    async fn run(&self) -> Result<()> {
        match self {
            Write::Put(store, value, k) => store.put(value, Some(k)).await.map(|_| ())?,
            Write::Delete(store, k) => store.delete(k.clone()).await?,
        }
        Ok(())
    }
}

/// Inside a raw transaction: one outbox entry with the device's seq counter
/// and the clock, so the change and its numbering are written together.
fn queue_entry(
    tx: &web_sys::IdbTransaction,
    entry: &OutboxEntry,
    device_id: &str,
    hlc: Hlc,
) -> std::result::Result<(), JsValue> {
    let enc = |v: &dyn erased::Encode| v.encode_js();
    tx.object_store(OUTBOX)?
        .put_with_key(&enc(entry)?, &key(&entry.key()))?;
    let meta = tx.object_store(META)?;
    meta.put_with_key(
        &enc(&entry.mutation.seq)?,
        &key(&Meta::Seq(device_id).key()),
    )?;
    meta.put_with_key(&enc(&hlc)?, &key(&Meta::Hlc.key()))?;
    Ok(())
}

/// Inside `caption_photo`'s transaction: read the record, the seq counter and
/// the clock, then write the new caption and its change. Every read is awaited
/// inside the transaction (its requests keep it open), as rexie does.
async fn caption_in(
    tx: &web_sys::IdbTransaction,
    user_id: &str,
    device_id: &str,
    photo_id: &str,
    caption: Option<String>,
    mutation_id: uuid::Uuid,
    now_ms: i64,
) -> Result<Option<LocalPhoto>> {
    let photos = tx.object_store(PHOTOS).map_err(js_err)?;
    let meta = tx.object_store(META).map_err(js_err)?;
    let photo_key = key(&format!("{user_id}:{photo_id}"));
    let Some(mut photo) = read::<LocalPhoto>(&photos, &photo_key).await? else {
        return Ok(None);
    };
    let seq: i64 = read(&meta, &key(&Meta::Seq(device_id).key()))
        .await?
        .unwrap_or(0);
    let mut clock: Hlc = read(&meta, &key(&Meta::Hlc.key()))
        .await?
        .unwrap_or_default();
    let hlc = clock.tick(now_ms);
    photo.caption = caption;
    let entry =
        crate::photos::local::change_entry(&photo, device_id, seq + 1, hlc, mutation_id, false);
    let write = || -> std::result::Result<(), JsValue> {
        let enc = |v: &dyn erased::Encode| v.encode_js();
        photos.put_with_key(&enc(&photo)?, &photo_key)?;
        queue_entry(tx, &entry, device_id, clock)
    };
    write().map_err(js_err)?;
    Ok(Some(photo))
}

/// One `get` inside a raw transaction, awaited; `None` when the key is absent.
async fn read<T: DeserializeOwned>(
    store: &web_sys::IdbObjectStore,
    k: &JsValue,
) -> Result<Option<T>> {
    let request = store.get(k).map_err(js_err)?;
    let finished = js_sys::Promise::new(&mut |resolve, reject| {
        request.set_onsuccess(Some(&resolve));
        request.set_onerror(Some(&reject));
    });
    wasm_bindgen_futures::JsFuture::from(finished)
        .await
        .map_err(|_| {
            request
                .error()
                .ok()
                .flatten()
                .map(|e| js_err(e.into()))
                .unwrap_or_else(|| OfflineError::Idb("a read failed".into()))
        })?;
    let value = request.result().map_err(js_err)?;
    if value.is_undefined() || value.is_null() {
        return Ok(None);
    }
    decode(value).map(Some)
}

/// Photo bytes sit beside their records, under a key no user ID can take.
fn photo_blob_key(photo_id: &str) -> String {
    format!("blob:{photo_id}")
}

/// Object-safe JSON encoding for the raw transaction's closure.
mod erased {
    pub trait Encode {
        fn encode_js(&self) -> Result<wasm_bindgen::JsValue, wasm_bindgen::JsValue>;
    }
    impl<T: serde::Serialize> Encode for T {
        fn encode_js(&self) -> Result<wasm_bindgen::JsValue, wasm_bindgen::JsValue> {
            serde_json::to_string(self)
                .map(|s| wasm_bindgen::JsValue::from_str(&s))
                .map_err(|e| wasm_bindgen::JsValue::from_str(&e.to_string()))
        }
    }
}

thread_local! {
    static SHARED: RefCell<Option<Rc<OfflineDb>>> = const { RefCell::new(None) };
}

/// The app's one open database, opened on first use.
pub async fn db() -> Result<Rc<OfflineDb>> {
    if let Some(db) = SHARED.with(|s| s.borrow().clone()) {
        return Ok(db);
    }
    let opened = Rc::new(OfflineDb::open().await?);
    Ok(SHARED.with(|s| s.borrow_mut().get_or_insert(opened).clone()))
}
