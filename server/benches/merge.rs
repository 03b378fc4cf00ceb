//! Merge throughput: mutations per second through the real push path (validation,
//! field-level merge, history, change log, device row, one transaction per batch
//! of 500), against raw batched INSERTs of exactly the rows the merge writes, in
//! the same run, on SQLite and (when KHAOSAT_TEST_POSTGRES_URL is set) PostgreSQL.
//!
//! Run: `cargo bench -p server --bench merge --profile server-release`
//! (KHAOSAT_BENCH_MUTATIONS=N to change the 20,000 default).
//! Not a test: it prints a table and never fails on a slow result.

use app::store::push::ServerClock;
use app::store::{col, Db};
use app::sync::{Hlc, Mutation, MutationKind, PushRequest, MUTATION_SCHEMA_VERSION};
use serde_json::json;
use std::time::Instant;

const BATCH: usize = 500;
const VISITS: usize = 200;
const FIELDS: [&str; 4] = [
    "workforce",
    "female_workers",
    "local_workers",
    "main_products",
];

async fn fresh(url: &str, dir: &std::path::Path) -> Db {
    let db = server::startup::open_database(dir, url).await.unwrap();
    app::store::seed::demo(&db).await.unwrap();
    db
}

async fn inspector(db: &Db) -> app::model::UserInfo {
    let row = sqlx::query("SELECT id FROM users WHERE username = 'ksv1'")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    let id: String = col(&row, "id").unwrap();
    app::store::users::info_by_id(db, &id)
        .await
        .unwrap()
        .unwrap()
}

fn proposal() -> String {
    let demo: serde_json::Value =
        serde_json::from_str(app::store::seed::DEMO_BAC_GIANG_2020).unwrap();
    demo["proposals"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["district_code"] == "213")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string()
}

/// The workload: VISITS visits created first, then edits spread over their fields.
fn workload(total: usize) -> (Vec<uuid::Uuid>, Vec<Vec<Mutation>>) {
    let visits: Vec<uuid::Uuid> = (0..VISITS).map(|_| uuid::Uuid::now_v7()).collect();
    let proposal = proposal();
    let mut clock = Hlc::default();
    let mut all = Vec::with_capacity(total);
    for i in 0..total {
        let visit = visits[i % VISITS];
        let field = FIELDS[(i / VISITS) % FIELDS.len()];
        let value = if field == "main_products" {
            json!(format!("Sản phẩm {i}"))
        } else {
            json!((i % 500) as i64)
        };
        let mut fields = serde_json::Map::new();
        if i < VISITS {
            fields.insert("form_id".into(), json!("khuyen-cong"));
            fields.insert("form_version".into(), json!(1));
            fields.insert("proposal_id".into(), json!(proposal));
        }
        fields.insert(field.into(), value);
        all.push(Mutation {
            seq: i as i64 + 1,
            mutation_id: uuid::Uuid::now_v7(),
            kind: MutationKind::Upsert,
            entity: app::sync::Entity::Visit,
            record_id: visit,
            fields: fields.into_iter().collect(),
            hlc: clock.tick(app::store::now_ms()),
            base_version: 0,
        });
    }
    let batches = all.chunks(BATCH).map(|c| c.to_vec()).collect();
    (visits, batches)
}

async fn merge_rate(db: &Db, batches: &[Vec<Mutation>]) -> f64 {
    let user = inspector(db).await;
    let device = uuid::Uuid::now_v7();
    app::store::users::bind_device(db, &user.id, &device.to_string())
        .await
        .unwrap();
    let clock = ServerClock::default();
    let n: usize = batches.iter().map(Vec::len).sum();
    let start = Instant::now();
    for batch in batches {
        let request = PushRequest {
            device_id: device,
            schema_version: MUTATION_SCHEMA_VERSION,
            mutations: batch.clone(),
            epoch: None,
        };
        let response = app::store::push::push(db, &clock, &user, &request)
            .await
            .unwrap();
        // The work timed: every mutation applied, none refused or skipped.
        let applied = response
            .results
            .iter()
            .filter(|r| matches!(r, app::sync::MutationResult::Applied { .. }))
            .count();
        assert_eq!(
            applied,
            batch.len(),
            "a mutation was not applied: {:?}",
            response
                .results
                .iter()
                .find(|r| !matches!(r, app::sync::MutationResult::Applied { .. }))
        );
    }
    let rate = n as f64 / start.elapsed().as_secs_f64();
    assert_eq!(stored_mutations(db).await, n as i64);
    rate
}

/// Mutations the log holds: the same on both sides when both did the work.
async fn stored_mutations(db: &Db) -> i64 {
    let row = sqlx::query("SELECT COUNT(*) AS n FROM mutations")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    col(&row, "n").unwrap()
}

/// The same rows the merge writes (field value upserts, field history, mutation
/// log, change log, device row), as multi-row INSERTs, one transaction per batch.
async fn raw_rate(db: &Db, visits: &[uuid::Uuid], batches: &[Vec<Mutation>]) -> f64 {
    let user = inspector(db).await;
    let device = uuid::Uuid::now_v7().to_string();
    app::store::users::bind_device(db, &user.id, &device)
        .await
        .unwrap();
    let proposal = proposal();
    let n: usize = batches.iter().map(Vec::len).sum();
    let mut versions: std::collections::HashMap<(uuid::Uuid, String), i64> = Default::default();
    let mut created = std::collections::HashSet::new();
    let start = Instant::now();
    for batch in batches {
        let mut tx = db.begin_write().await.unwrap();
        // The visit headers, inside the timed region and the batch's
        // transaction, as the merge creates them from the first mutations.
        for m in batch {
            if visits.contains(&m.record_id) && created.insert(m.record_id) {
                sqlx::query("INSERT INTO visits (id, form_id, form_version, proposal_id, owner_id, device_id, district_code, unit_path, review_state, created_at, received_at)
                             VALUES ($1, 'khuyen-cong', 1, $2, $3, $4, '213', '24/213/', 'in_progress', $5, $5)")
                    .bind(m.record_id.to_string()).bind(&proposal).bind(&user.id).bind(&device)
                    .bind(app::store::now_ms())
                    .execute(&mut *tx).await.unwrap();
            }
        }
        // Bind-parameter limits: SQLite allows 32,766, PostgreSQL 65,535; chunk at 100 rows.
        for chunk in batch.chunks(100) {
            let mut fv = String::from("INSERT INTO field_values (entity, record_id, field, value, version, hlc, device_id, mutation_id) VALUES ");
            let mut fh = String::from("INSERT INTO field_history (entity, record_id, field, version, value, hlc, device_id, mutation_id, base_version) VALUES ");
            let mut mu = String::from("INSERT INTO mutations (mutation_id, device_id, seq, entity, record_id, kind, fields, hlc, base_version, status, received_at) VALUES ");
            let mut cl = String::from("INSERT INTO change_log (entity, record_id, unit_path, owner_id, created_at) VALUES ");
            let mut rows = Vec::new();
            let mut seen = std::collections::HashSet::new();
            for m in chunk {
                let (field, value) = m
                    .fields
                    .iter()
                    .find(|(k, _)| FIELDS.contains(&k.as_str()))
                    .unwrap();
                let version = versions.entry((m.record_id, field.clone())).or_insert(0);
                *version += 1;
                rows.push((m, field.clone(), value.to_string(), *version));
            }
            // One upsert row per (record, field) in a statement: keep the last.
            let upserts: Vec<_> = rows
                .iter()
                .rev()
                .filter(|r| seen.insert((r.0.record_id, r.1.clone())))
                .collect();
            for (i, _) in upserts.iter().enumerate() {
                let b = i * 7;
                fv.push_str(&format!(
                    "{}('visit', ${}, ${}, ${}, ${}, ${}, ${}, ${})",
                    if i > 0 { "," } else { "" },
                    b + 1,
                    b + 2,
                    b + 3,
                    b + 4,
                    b + 5,
                    b + 6,
                    b + 7
                ));
            }
            fv.push_str(" ON CONFLICT (entity, record_id, field) DO UPDATE SET value = excluded.value, version = excluded.version, hlc = excluded.hlc, device_id = excluded.device_id, mutation_id = excluded.mutation_id");
            let mut q = sqlx::query(&fv);
            for (m, field, value, version) in &upserts {
                q = q
                    .bind(m.record_id.to_string())
                    .bind(field.clone())
                    .bind(value.clone())
                    .bind(*version)
                    .bind(m.hlc.encode())
                    .bind(device.clone())
                    .bind(m.mutation_id.to_string());
            }
            q.execute(&mut *tx).await.unwrap();
            for (i, _) in rows.iter().enumerate() {
                let b = i * 8;
                fh.push_str(&format!(
                    "{}('visit', ${}, ${}, ${}, ${}, ${}, ${}, ${}, ${})",
                    if i > 0 { "," } else { "" },
                    b + 1,
                    b + 2,
                    b + 3,
                    b + 4,
                    b + 5,
                    b + 6,
                    b + 7,
                    b + 8
                ));
                let b = i * 8;
                mu.push_str(&format!(
                    "{}(${}, ${}, ${}, 'visit', ${}, 'upsert', ${}, ${}, ${}, 'applied', ${})",
                    if i > 0 { "," } else { "" },
                    b + 1,
                    b + 2,
                    b + 3,
                    b + 4,
                    b + 5,
                    b + 6,
                    b + 7,
                    b + 8
                ));
                let b = i * 3;
                cl.push_str(&format!(
                    "{}('visit', ${}, '24/213/', ${}, ${})",
                    if i > 0 { "," } else { "" },
                    b + 1,
                    b + 2,
                    b + 3
                ));
            }
            let mut q = sqlx::query(&fh);
            for (m, field, value, version) in &rows {
                q = q
                    .bind(m.record_id.to_string())
                    .bind(field.clone())
                    .bind(*version)
                    .bind(value.clone())
                    .bind(m.hlc.encode())
                    .bind(device.clone())
                    .bind(m.mutation_id.to_string())
                    .bind(m.base_version);
            }
            q.execute(&mut *tx).await.unwrap();
            let mut q = sqlx::query(&mu);
            for (m, _, _, _) in &rows {
                q = q
                    .bind(m.mutation_id.to_string())
                    .bind(device.clone())
                    .bind(m.seq)
                    .bind(m.record_id.to_string())
                    .bind(serde_json::to_string(&m.fields).unwrap())
                    .bind(m.hlc.encode())
                    .bind(m.base_version)
                    .bind(app::store::now_ms());
            }
            q.execute(&mut *tx).await.unwrap();
            let mut q = sqlx::query(&cl);
            for (m, _, _, _) in &rows {
                q = q
                    .bind(m.record_id.to_string())
                    .bind(user.id.clone())
                    .bind(app::store::now_ms());
            }
            q.execute(&mut *tx).await.unwrap();
        }
        sqlx::query("UPDATE devices SET last_seq = $1 WHERE device_id = $2")
            .bind(batch.last().unwrap().seq)
            .bind(&device)
            .execute(&mut *tx)
            .await
            .unwrap();
        tx.commit().await.unwrap();
    }
    let rate = n as f64 / start.elapsed().as_secs_f64();
    assert_eq!(stored_mutations(db).await, n as i64);
    assert_eq!(created.len(), visits.len());
    rate
}

async fn run(engine: &str, url: impl Fn(&str) -> String, total: usize) {
    let (visits, batches) = workload(total);
    let dir = tempfile::tempdir().unwrap();
    let merge_db = fresh(&url("merge"), &dir.path().join("merge")).await;
    let merge = merge_rate(&merge_db, &batches).await;
    let raw_db = fresh(&url("raw"), &dir.path().join("raw")).await;
    let raw = raw_rate(&raw_db, &visits, &batches).await;
    println!(
        "| {engine} | {total} | {merge:>9.0} | {raw:>9.0} | {:.2} |",
        merge / raw
    );
}

fn main() {
    let total: usize = std::env::var("KHAOSAT_BENCH_MUTATIONS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20_000);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    println!("| engine | mutations | merge (mut/s) | raw INSERT (mut/s) | merge / raw |");
    println!("|---|---|---|---|---|");
    rt.block_on(async {
        let base = tempfile::tempdir().unwrap();
        let root = base.path().to_path_buf();
        for name in ["merge", "raw"] {
            std::fs::create_dir_all(root.join(name)).unwrap();
        }
        run(
            "SQLite (WAL, synchronous=FULL)",
            |name| format!("sqlite://{}", root.join(name).join("khaosat.db").display()),
            total,
        )
        .await;
        if let Ok(admin) = std::env::var("KHAOSAT_TEST_POSTGRES_URL") {
            let mut names = Vec::new();
            for name in ["bench_merge", "bench_raw"] {
                let db = format!("khaosat_{name}_{}", uuid::Uuid::now_v7().simple());
                app::store::testing::create_migrated_database(&admin, &db)
                    .await
                    .unwrap();
                names.push(db);
            }
            let base_url = admin.rsplit_once('/').unwrap().0.to_string();
            let (m, r) = (names[0].clone(), names[1].clone());
            run(
                "PostgreSQL",
                |name| format!("{base_url}/{}", if name == "merge" { &m } else { &r }),
                total,
            )
            .await;
            for n in names {
                app::store::testing::drop_database(&admin, &n)
                    .await
                    .unwrap();
            }
        } else {
            println!("(PostgreSQL skipped: set KHAOSAT_TEST_POSTGRES_URL)");
        }
    });
}
