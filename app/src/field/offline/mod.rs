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
//! One file (about 485 lines): the connection with its retry, and the encodings every store module uses.

use crate::field::photos::local::LocalPhoto;
use crate::field::visits::local::{
    absorb_server_copy, after_push, keep_on_resync, settle_push, LocalVisit, OutboxEntry,
};
use crate::forms::FormDefinition;
use crate::model::{AdminUnit, Facility, Proposal, UserInfo};
use crate::sync::{Hlc, MutationResult, PullResponse, PulledRecord};
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
        // rexie's own text is only "idb error": the browser's reason (a
        // QuotaExceededError when the phone is full) is in the inner error.
        let text = match &e {
            rexie::Error::IdbError(inner) => format!("{e}: {inner}"),
            _ => e.to_string(),
        };
        if text.to_lowercase().contains("quota") {
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

/// Waits for a transaction and makes an abort an error. A full phone refuses
/// a write only when it commits, and `done()` reports that as an ordinary
/// outcome ("aborted"): taken for success, the autosave said "written" while
/// nothing was. The reason is not given back after the fact; a write this
/// app makes aborts at commit for want of space, so it is reported as such.
async fn landed(tx: rexie::Transaction) -> Result<()> {
    match tx.done().await? {
        rexie::TransactionResult::Committed => Ok(()),
        rexie::TransactionResult::Aborted => Err(OfflineError::QuotaExceeded),
    }
}

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
    /// An administrator set the password: the server refuses sync until it
    /// is changed, so the phone does not ask (a 403 and "Lỗi đồng bộ" on
    /// every reload and tap) and says what to do instead.
    #[serde(default)]
    pub must_change_password: bool,
    /// A login with this account was answered `auth.account_disabled` (its
    /// sessions ended with it): the phone asks nothing more of the server
    /// and says so, with the backup button, until someone logs in.
    #[serde(default)]
    pub account_disabled: bool,
}

/// Keys of the `meta` store.
enum Meta<'a> {
    Session,
    /// The device id a user got on this phone (kept after logout: their queue stays theirs).
    Device(&'a str),
    /// A username's user id (kept after logout: their photos are keyed by it).
    User(&'a str),
    /// Last seq allocated by a device.
    Seq(&'a str),
    /// Pull cursor of a user.
    Cursor(&'a str),
    /// The server's log epoch at a user's last pull.
    Epoch(&'a str),
    Hlc,
}

impl Meta<'_> {
    fn key(&self) -> String {
        match self {
            Meta::Session => "session".into(),
            Meta::Device(username) => format!("device:{username}"),
            Meta::User(username) => format!("user:{username}"),
            Meta::Seq(device) => format!("seq:{device}"),
            Meta::Cursor(user) => format!("cursor:{user}"),
            Meta::Epoch(user) => format!("epoch:{user}"),
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

/// The answer to a request inside a raw transaction, listened for at once:
/// requests of one transaction answer in order, so one asked now and awaited
/// after an earlier one is never missed.
fn request_answer(req: &web_sys::IdbRequest) -> wasm_bindgen_futures::JsFuture {
    let promise = js_sys::Promise::new(&mut |resolve, reject| {
        req.set_onsuccess(Some(&resolve));
        req.set_onerror(Some(&reject));
    });
    wasm_bindgen_futures::JsFuture::from(promise)
}

/// A stored JSON value, or `None` where the key holds nothing.
fn optional<T: DeserializeOwned>(value: JsValue) -> Result<Option<T>> {
    if value.is_undefined() || value.is_null() {
        return Ok(None);
    }
    decode(value).map(Some)
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
        landed(tx).await?;
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

/// The clock as stored, read inside a transaction that writes it back.
async fn stored_clock(meta: &Store) -> Result<Hlc> {
    Ok(meta
        .get(key(&Meta::Hlc.key()))
        .await?
        .map(decode)
        .transpose()?
        .unwrap_or_default())
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

/// The session, the device per username, the pull cursor, the seq counter and the clock.
mod meta;
/// Photos: records, their bytes, captions.
mod photos;
/// A pull page taken in, and the full resync after a 410.
mod pull;
/// The server's records the phone holds, visits and the outbox.
mod records;
/// The log epoch, and the outbox rebuilt for a server restored from a backup.
mod restored;
