//! Property test of the whole sync loop: the real store (push, merge, pull) and the
//! phone's real outbox and merge code (`app::field::visits::local`, the same functions the
//! wasm app calls), with no model of either. 3–10 phones of two inspectors, clocks
//! up to ±24 h off, make random edits and sync through dropped requests, lost
//! responses, duplicated and reordered batches and partitions (a phone that simply
//! does not sync for a while). After healing:
//!
//! - every phone holds exactly the server's copy of its user's visits;
//! - every mutation ever made is stored once, applied, and the device's last_seq
//!   is its highest seq;
//! - no saved value vanished silently: each applied value is the field's final
//!   value, or was overwritten by a writer that had seen it (its own device, or
//!   one whose base version covered it), or is kept in conflicts;
//! - a base version is one the writer saw: the value the server held at that
//!   version is one the phone held as saved, so "covered" above cannot be
//!   claimed for a value the inspector never had on screen.
//!
//! Default: 1,000 cases on SQLite and 100 on PostgreSQL. More:
//! `KHAOSAT_PROP_CASES=100000 cargo nextest run -p server --features app/ssr -E 'test(sync_properties)'`;
//! the seed is printed, and `KHAOSAT_PROP_SEED=<seed>` replays a run.
//!
//! One file (about 645 lines): the property test, its simulated phones and
//! network faults, and the invariants it checks are one model.

use app::field::visits::local::{
    absorb_server_copy, after_push, save, settle_push, LocalVisit, OutboxEntry,
};
use app::model::UserInfo;
use app::store::push::ServerClock;
use app::store::{col, Db};
use app::sync::{Hlc, MutationResult, PulledRecord, PushRequest, MUTATION_SCHEMA_VERSION};
use proptest::prelude::*;
use proptest::test_runner::{Config, RngSeed, TestCaseError, TestRunner};
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};

const FIELDS: [&str; 3] = ["workforce", "female_workers", "local_workers"];
const DAY_MS: i64 = 86_400_000;

#[derive(Debug, Clone, Copy)]
enum Fault {
    None,
    /// The request never reaches the server.
    DropRequest,
    /// The server commits but the answer is lost.
    DropResponse,
    /// The batch arrives twice (a retry racing the original).
    Twice,
}

#[derive(Debug, Clone)]
enum Op {
    Edit {
        phone: usize,
        visit: usize,
        field: usize,
        value: i64,
    },
    Push {
        phone: usize,
        take: usize,
        fault: Fault,
        reversed: bool,
    },
    Pull {
        phone: usize,
        page: usize,
    },
}

#[derive(Debug, Clone)]
struct Case {
    skews: Vec<i64>,
    ops: Vec<Op>,
}

fn case() -> impl Strategy<Value = Case> {
    (3usize..=10).prop_flat_map(|n| {
        let fault = prop_oneof![
            4 => Just(Fault::None),
            1 => Just(Fault::DropRequest),
            1 => Just(Fault::DropResponse),
            1 => Just(Fault::Twice),
        ];
        let op = prop_oneof![
            5 => (0..n, 0usize..3, 0..FIELDS.len(), 0i64..5)
                .prop_map(|(phone, visit, field, value)| Op::Edit { phone, visit, field, value }),
            3 => (0..n, 1usize..6, fault, any::<bool>())
                .prop_map(|(phone, take, fault, reversed)| Op::Push { phone, take, fault, reversed }),
            2 => (0..n, 1usize..20).prop_map(|(phone, page)| Op::Pull { phone, page }),
        ];
        (
            proptest::collection::vec(-DAY_MS..=DAY_MS, n),
            proptest::collection::vec(op, 1..40),
        )
            .prop_map(|(skews, ops)| Case { skews, ops })
    })
}

/// One simulated phone: its storage is plain maps, its logic the app's own.
struct Phone {
    user: UserInfo,
    device_id: String,
    skew: i64,
    clock: Hlc,
    next_seq: i64,
    outbox: BTreeMap<i64, OutboxEntry>,
    visits: BTreeMap<String, LocalVisit>,
    cursor: i64,
    /// Every (visit, field, value) this phone has held as saved.
    held: BTreeSet<(String, String, String)>,
}

impl Phone {
    fn now(&self) -> i64 {
        app::store::now_ms() + self.skew
    }

    fn pending(&self, visit_id: &str) -> bool {
        self.outbox.values().any(|e| e.visit_id == visit_id)
    }

    /// Notes what `visit_id`'s copy holds as saved now.
    fn remember(&mut self, visit_id: &str) {
        if let Some(v) = self.visits.get(visit_id) {
            for (field, value) in &v.saved {
                self.held
                    .insert((visit_id.to_string(), field.clone(), value.to_string()));
            }
        }
    }
}

struct World<'a> {
    db: &'a Db,
    server: &'a ServerClock,
    phones: Vec<Phone>,
    /// (visit id, owner index, proposal) per slot.
    visits: Vec<(String, usize, String)>,
}

fn fail(message: String) -> TestCaseError {
    TestCaseError::fail(message)
}

impl World<'_> {
    fn edit(&mut self, p: usize, slot: usize, field: usize, value: i64) {
        let (visit_id, owner, proposal) = self.visits[slot].clone();
        let phone = &mut self.phones[p];
        if p % 2 != owner {
            return; // another inspector's visit: not on this phone
        }
        let now = phone.now();
        let username = phone.user.username.clone();
        let visit = phone.visits.entry(visit_id.clone()).or_insert_with(|| {
            LocalVisit::new(
                visit_id.clone(),
                "khuyen-cong".into(),
                1,
                Some(proposal),
                None,
                username,
                now,
            )
        });
        visit
            .answers
            .insert(FIELDS[field].to_string(), json!(value));
        let (saved, entries) = save(
            visit,
            &phone.device_id,
            phone.next_seq,
            &mut phone.clock,
            now,
        );
        *visit = saved;
        phone.next_seq += entries.len() as i64;
        for e in entries {
            phone.outbox.insert(e.mutation.seq, e);
        }
        phone.remember(&visit_id);
    }

    async fn push(
        &mut self,
        p: usize,
        take: usize,
        fault: Fault,
        reversed: bool,
    ) -> Result<(), TestCaseError> {
        let phone = &self.phones[p];
        let batch: Vec<OutboxEntry> = phone.outbox.values().take(take).cloned().collect();
        if batch.is_empty() {
            return Ok(());
        }
        let mut mutations: Vec<_> = batch.iter().map(|e| e.mutation.clone()).collect();
        if reversed {
            mutations.reverse();
        }
        let request = PushRequest {
            device_id: uuid::Uuid::parse_str(&phone.device_id).unwrap(),
            schema_version: MUTATION_SCHEMA_VERSION,
            mutations,
            epoch: None,
        };
        let send = || app::store::push::push(self.db, self.server, &phone.user, &request);
        let response = match fault {
            Fault::DropRequest => return Ok(()),
            Fault::DropResponse => {
                send()
                    .await
                    .map_err(|e| fail(format!("push failed: {e}")))?;
                return Ok(());
            }
            Fault::Twice => {
                send()
                    .await
                    .map_err(|e| fail(format!("push failed: {e}")))?;
                send().await
            }
            Fault::None => send().await,
        }
        .map_err(|e| fail(format!("push failed: {e}")))?;
        for r in &response.results {
            if let MutationResult::Refused { error, .. } = r {
                return Err(fail(format!("valid edit refused: {error:?}")));
            }
        }
        let phone = &mut self.phones[p];
        let (done, per_visit) = settle_push(&batch, &response.results);
        let done: Vec<i64> = done.iter().map(|e| e.mutation.seq).collect();
        for seq in done {
            phone.outbox.remove(&seq);
        }
        for (visit_id, results) in per_visit {
            let still = phone.pending(&visit_id);
            if let Some(v) = phone.visits.remove(&visit_id) {
                phone
                    .visits
                    .insert(visit_id.clone(), after_push(v, &results, still));
                phone.remember(&visit_id);
            }
        }
        let now = phone.now();
        phone.clock.merge(response.server_hlc, now);
        Ok(())
    }

    async fn pull(&mut self, p: usize, page: usize) -> Result<(), TestCaseError> {
        loop {
            let phone = &self.phones[p];
            let response = app::store::pull::pull(
                self.db,
                &phone.user,
                phone.cursor,
                page,
                self.server.now(),
                None,
            )
            .await
            .map_err(|e| fail(format!("pull failed: {e}")))?;
            let phone = &mut self.phones[p];
            for change in &response.changes {
                if let PulledRecord::Visit(v) = &change.record {
                    if !self.visits.iter().any(|(id, _, _)| *id == v.id) {
                        continue; // another case's visit of the same user
                    }
                    let pending = phone.pending(&v.id);
                    let local = phone.visits.remove(&v.id);
                    let merged = absorb_server_copy(local, v, &phone.user.username, pending);
                    phone.visits.insert(v.id.clone(), merged);
                    phone.remember(&v.id);
                }
            }
            phone.cursor = response.cursor;
            let now = phone.now();
            phone.clock.merge(response.server_hlc, now);
            if !response.has_more {
                return Ok(());
            }
        }
    }
}

async fn run_case(
    db: &Db,
    server: &ServerClock,
    users: &[UserInfo; 2],
    proposals: &[String; 2],
    case: Case,
) -> Result<(), TestCaseError> {
    let mut phones = Vec::new();
    for (i, skew) in case.skews.iter().enumerate() {
        let user = users[i % 2].clone();
        let device_id = uuid::Uuid::now_v7().to_string();
        app::store::users::bind_device(db, &user.id, &device_id)
            .await
            .unwrap();
        // A phone joining now starts from the present: earlier cases are not its business.
        let cursor = app::store::changes::head(db).await.unwrap();
        phones.push(Phone {
            user,
            device_id,
            skew: *skew,
            clock: Hlc::default(),
            next_seq: 1,
            outbox: BTreeMap::new(),
            visits: BTreeMap::new(),
            cursor,
            held: BTreeSet::new(),
        });
    }
    let visits = (0..3)
        .map(|slot| {
            let owner = if slot < 2 { 0 } else { 1 };
            (
                uuid::Uuid::now_v7().to_string(),
                owner,
                proposals[owner].clone(),
            )
        })
        .collect();
    let mut world = World {
        db,
        server,
        phones,
        visits,
    };
    for op in case.ops {
        match op {
            Op::Edit {
                phone,
                visit,
                field,
                value,
            } => world.edit(phone, visit, field, value),
            Op::Push {
                phone,
                take,
                fault,
                reversed,
            } => world.push(phone, take, fault, reversed).await?,
            Op::Pull { phone, page } => world.pull(phone, page).await?,
        }
    }
    // Heal: every phone pushes everything, then every phone pulls everything.
    for p in 0..world.phones.len() {
        while !world.phones[p].outbox.is_empty() {
            world.push(p, 100, Fault::None, false).await?;
        }
    }
    for p in 0..world.phones.len() {
        world.pull(p, 500).await?;
    }
    check(&world).await
}

async fn check(world: &World<'_>) -> Result<(), TestCaseError> {
    let db = world.db;
    // Convergence.
    for phone in &world.phones {
        for (visit_id, owner, _) in &world.visits {
            let server = app::store::visits::record(&db.pool, visit_id)
                .await
                .unwrap();
            let local = phone.visits.get(visit_id);
            let mine = phone.user.id == world.phones[*owner].user.id;
            match (server, local) {
                (None, None) => {}
                (None, Some(_)) => {
                    return Err(fail(format!("{visit_id} on a phone but not on the server")))
                }
                (Some(_), None) if !mine => {}
                (Some(_), None) => {
                    return Err(fail(format!("{visit_id} missing on a phone of its owner")))
                }
                (Some((server, _)), Some(local)) => {
                    let answers: BTreeMap<String, Value> = server
                        .answers
                        .iter()
                        .filter(|(_, v)| !v.is_null())
                        .map(|(k, v)| (k.clone(), v.clone()))
                        .collect();
                    prop_assert_eq!(
                        &local.answers,
                        &answers,
                        "answers of {} on {}",
                        visit_id,
                        phone.device_id
                    );
                    prop_assert_eq!(
                        &local.versions,
                        &server.versions,
                        "versions of {} on {}",
                        visit_id,
                        phone.device_id
                    );
                }
            }
        }
    }
    // Exactly once.
    for phone in &world.phones {
        let rows =
            sqlx::query("SELECT seq, status FROM mutations WHERE device_id = $1 ORDER BY seq")
                .bind(&phone.device_id)
                .fetch_all(&db.pool)
                .await
                .unwrap();
        let seqs: Vec<i64> = rows.iter().map(|r| col(r, "seq").unwrap()).collect();
        let expected: Vec<i64> = (1..phone.next_seq).collect();
        prop_assert_eq!(
            seqs,
            expected,
            "every mutation of {} stored once",
            phone.device_id
        );
        for r in &rows {
            prop_assert_eq!(col::<String>(r, "status").unwrap(), "applied");
        }
        let device = app::store::users::device(db, &phone.device_id)
            .await
            .unwrap()
            .unwrap();
        prop_assert_eq!(device.last_seq, phone.next_seq - 1);
    }
    // Nothing lost silently.
    for phone in &world.phones {
        let rows = sqlx::query(
            "SELECT mutation_id, record_id, fields FROM mutations WHERE device_id = $1",
        )
        .bind(&phone.device_id)
        .fetch_all(&db.pool)
        .await
        .unwrap();
        for row in rows {
            let mutation: String = col(&row, "mutation_id").unwrap();
            let record: String = col(&row, "record_id").unwrap();
            let fields: BTreeMap<String, Value> =
                serde_json::from_str(&col::<String>(&row, "fields").unwrap()).unwrap();
            for (field, value) in fields.iter().filter(|(k, _)| FIELDS.contains(&k.as_str())) {
                no_silent_loss(db, &phone.device_id, &mutation, &record, field, value).await?;
            }
        }
        bases_were_seen(db, phone).await?;
    }
    Ok(())
}

/// Each of `phone`'s writes that became a field's value names a base version
/// whose value the phone held as saved. A base taken from a pull whose value
/// the phone did not take (it had unsent or unsaved answers) would make an
/// edit look made on top of a value the inspector never saw, and the server
/// would overwrite that value without a conflict.
async fn bases_were_seen(db: &Db, phone: &Phone) -> Result<(), TestCaseError> {
    let writes = sqlx::query(
        "SELECT record_id, field, base_version, mutation_id FROM field_history
         WHERE entity = 'visit' AND device_id = $1 AND base_version > 0",
    )
    .bind(&phone.device_id)
    .fetch_all(&db.pool)
    .await
    .unwrap();
    for write in writes {
        let record: String = col(&write, "record_id").unwrap();
        let field: String = col(&write, "field").unwrap();
        if !FIELDS.contains(&field.as_str()) {
            continue;
        }
        let base: i64 = col(&write, "base_version").unwrap();
        let at_base: String = col(
            &sqlx::query(
                "SELECT value FROM field_history
                 WHERE entity = 'visit' AND record_id = $1 AND field = $2 AND version = $3",
            )
            .bind(&record)
            .bind(&field)
            .bind(base)
            .fetch_one(&db.pool)
            .await
            .unwrap(),
            "value",
        )
        .unwrap();
        let seen = phone
            .held
            .contains(&(record.clone(), field.clone(), at_base.clone()));
        prop_assert!(
            seen,
            "mutation {} of {} wrote {}.{} on base {} ({}), a value that phone never held",
            col::<String>(&write, "mutation_id").unwrap(),
            phone.device_id,
            record,
            field,
            base,
            at_base
        );
    }
    Ok(())
}

async fn no_silent_loss(
    db: &Db,
    device: &str,
    mutation: &str,
    record: &str,
    field: &str,
    value: &Value,
) -> Result<(), TestCaseError> {
    let history = sqlx::query(
        "SELECT version, value, device_id, mutation_id, base_version FROM field_history
         WHERE entity = 'visit' AND record_id = $1 AND field = $2 ORDER BY version",
    )
    .bind(record)
    .bind(field)
    .fetch_all(&db.pool)
    .await
    .unwrap();
    let kept =
        sqlx::query("SELECT 1 AS one FROM conflicts WHERE loser_mutation_id = $1 AND field = $2")
            .bind(mutation)
            .bind(field)
            .fetch_optional(&db.pool)
            .await
            .unwrap()
            .is_some();
    let encoded = value.to_string();
    let position = history
        .iter()
        .position(|h| col::<String>(h, "mutation_id").unwrap() == mutation);
    let ok = match position {
        Some(i) if i + 1 == history.len() => true,
        Some(i) => {
            let next = &history[i + 1];
            let version: i64 = col(&history[i], "version").unwrap();
            col::<String>(next, "device_id").unwrap() == device
                || col::<i64>(next, "base_version").unwrap() >= version
                || col::<String>(next, "value").unwrap() == encoded
                || kept
        }
        // Never became the value: it lost on arrival (kept), or equalled the value there.
        None => {
            kept || history
                .iter()
                .any(|h| col::<String>(h, "value").unwrap() == encoded)
        }
    };
    prop_assert!(
        ok,
        "value {} of {}.{} from mutation {} vanished without a conflict",
        value,
        record,
        field,
        mutation
    );
    Ok(())
}

/// The run's cases and seed (`KHAOSAT_PROP_CASES`, `KHAOSAT_PROP_SEED`), said
/// on stdout so a failure can be replayed, and a runtime for the cases.
pub(crate) fn settings(
    what: &str,
    engine: crate::helpers::TestEngine,
    default_cases: u32,
) -> (u32, u64, tokio::runtime::Runtime) {
    let cases = std::env::var("KHAOSAT_PROP_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default_cases);
    let seed = std::env::var("KHAOSAT_PROP_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(rand_seed);
    println!(
        "{what}: {cases} cases on {engine:?}, seed {seed} (replay with KHAOSAT_PROP_SEED={seed})"
    );
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    (cases, seed, rt)
}

fn run(engine: crate::helpers::TestEngine, default_cases: u32) {
    let (cases, seed, rt) = settings("sync properties", engine, default_cases);
    let app = rt.block_on(crate::helpers::spawn_app(engine));
    let db = &app.db;
    let (users, proposals) = rt.block_on(async {
        let user = |name: &'static str| async move {
            let id: String = col(
                &sqlx::query("SELECT id FROM users WHERE username = $1")
                    .bind(name)
                    .fetch_one(&db.pool)
                    .await
                    .unwrap(),
                "id",
            )
            .unwrap();
            app::store::users::info_by_id(db, &id)
                .await
                .unwrap()
                .unwrap()
        };
        (
            [user("ksv1").await, user("ksv2").await],
            [
                crate::helpers::demo_proposal("213"),
                crate::helpers::demo_proposal("223"),
            ],
        )
    });
    let server = ServerClock::default();
    let config = Config {
        cases,
        rng_seed: RngSeed::Fixed(seed),
        failure_persistence: None,
        max_shrink_iters: 2_000,
        ..Config::default()
    };
    let mut runner = TestRunner::new(config);
    let result = runner.run(&case(), |case| {
        rt.block_on(run_case(&app.db, &server, &users, &proposals, case))
    });
    if let Err(e) = result {
        panic!("{e}\nseed {seed}: replay with KHAOSAT_PROP_SEED={seed}");
    }
    drop(app);
}

/// A fresh seed from a UUIDv7's random bits.
fn rand_seed() -> u64 {
    let id = uuid::Uuid::now_v7();
    u64::from_le_bytes(id.as_bytes()[8..16].try_into().unwrap())
}

#[test]
fn sync_properties_hold_on_sqlite() {
    run(crate::helpers::TestEngine::Sqlite, 1_000);
}

#[test]
fn sync_properties_hold_on_postgres() {
    run(crate::helpers::TestEngine::Postgres, 100);
}
