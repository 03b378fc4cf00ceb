//! Cursor completeness under concurrent writers: 8 phones push 10,000 new
//! facilities while 4 phones page through pull. Every pager must receive every
//! facility exactly once, in increasing seq order, on both engines (PostgreSQL
//! hands out sequence values before commit, so this is where a naive pager skips).

use crate::helpers::TestApp;
use app::sync::{MutationResult, PulledRecord, PushRequest, MUTATION_SCHEMA_VERSION};
use serde_json::json;
use std::collections::{BTreeMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

const WRITERS: usize = 8;
const PAGERS: usize = 4;
const PER_WRITER: usize = 1_250;
const BATCH: usize = 50;

async fn user(app: &TestApp, name: &str) -> app::model::UserInfo {
    let row = sqlx::query("SELECT id FROM users WHERE username = $1")
        .bind(name)
        .fetch_one(&app.db.pool)
        .await
        .unwrap();
    let id: String = app::store::col(&row, "id").unwrap();
    app::store::users::info_by_id(&app.db, &id)
        .await
        .unwrap()
        .unwrap()
}

async fn no_pager_skips_or_repeats_a_change_under_eight_concurrent_writers(app: TestApp) {
    let writer = user(&app, "giamsat").await;
    let reader = user(&app, "ksv1").await;
    let clock = Arc::new(app::store::push::ServerClock::default());
    let start = app::store::changes::head(&app.db).await.unwrap();
    let done = Arc::new(AtomicBool::new(false));

    let mut pagers = Vec::new();
    for p in 0..PAGERS {
        let (db, reader, clock, done) =
            (app.db.clone(), reader.clone(), clock.clone(), done.clone());
        pagers.push(tokio::spawn(async move {
            let mut cursor = start;
            let mut seen: Vec<(i64, String)> = Vec::new();
            loop {
                // Read "done" before pulling: a pull that starts after the last
                // commit and finds nothing more is the end.
                let finished = done.load(Ordering::SeqCst);
                let page =
                    app::store::pull::pull(&db, &reader, cursor, 37 + p * 13, clock.now(), None)
                        .await
                        .unwrap();
                for change in &page.changes {
                    if let PulledRecord::Facility(f) = &change.record {
                        seen.push((change.seq, f.id.clone()));
                    }
                }
                cursor = page.cursor;
                if finished && !page.has_more {
                    return seen;
                }
                if !page.has_more {
                    tokio::task::yield_now().await;
                }
            }
        }));
    }

    let mut writers = Vec::new();
    for w in 0..WRITERS {
        let (db, writer, clock) = (app.db.clone(), writer.clone(), clock.clone());
        writers.push(tokio::spawn(async move {
            let device = uuid::Uuid::now_v7();
            app::store::users::bind_device(&db, &writer.id, &device.to_string()).await.unwrap();
            let mut ids = Vec::new();
            let mut seq = 0;
            for _ in 0..PER_WRITER / BATCH {
                let mutations = (0..BATCH)
                    .map(|i| {
                        seq += 1;
                        let id = uuid::Uuid::now_v7();
                        ids.push(id.to_string());
                        serde_json::from_value(json!({
                            "seq": seq, "mutation_id": uuid::Uuid::now_v7(), "kind": "upsert",
                            "entity": "facility", "record_id": id,
                            "fields": {"name": format!("Cơ sở {w}-{seq}-{i}"), "district_code": "213", "industry_group": "mechanical"},
                            "hlc": app::sync::Hlc::new(app::store::now_ms(), 0).encode(), "base_version": 0
                        }))
                        .unwrap()
                    })
                    .collect();
                let request = PushRequest { device_id: device, schema_version: MUTATION_SCHEMA_VERSION, mutations, epoch: None };
                let response = app::store::push::push(&db, &clock, &writer, &request).await.unwrap();
                assert!(response.results.iter().all(|r| matches!(r, MutationResult::Applied { .. })));
            }
            ids
        }));
    }
    let mut written = HashSet::new();
    for w in writers {
        written.extend(w.await.unwrap());
    }
    done.store(true, Ordering::SeqCst);
    assert_eq!(written.len(), WRITERS * PER_WRITER);
    for pager in pagers {
        let seen = pager.await.unwrap();
        assert!(
            seen.windows(2).all(|w| w[0].0 < w[1].0),
            "seqs strictly increase"
        );
        let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
        for (_, id) in &seen {
            *counts.entry(id.as_str()).or_default() += 1;
        }
        let repeated = counts.values().filter(|n| **n > 1).count();
        let missed = written
            .iter()
            .filter(|id| !counts.contains_key(id.as_str()))
            .count();
        assert_eq!((missed, repeated), (0, 0), "missed and repeated changes");
    }
}

crate::engine_tests!(no_pager_skips_or_repeats_a_change_under_eight_concurrent_writers);
