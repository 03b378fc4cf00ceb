//! Each engine's connections as the store sets them up: SQLite checks
//! foreign keys and waits for the write lock; PostgreSQL compiles no query to
//! machine code (its JIT spent 50 of the 96 ms of the review list's word
//! search over 10,000 visits; BENCHMARKS.md).

use crate::helpers::TestApp;

async fn every_pooled_connection_is_set_for_short_queries(app: TestApp) {
    // More than one connection: each is set up when it opens, not once.
    let mut held = Vec::new();
    for _ in 0..3 {
        held.push(app.db.pool.acquire().await.unwrap());
    }
    for conn in &mut held {
        match app.db.engine {
            app::store::Engine::Sqlite => {
                let keys: i64 = sqlx::query_scalar("PRAGMA foreign_keys")
                    .fetch_one(&mut **conn)
                    .await
                    .unwrap();
                let wait: i64 = sqlx::query_scalar("PRAGMA busy_timeout")
                    .fetch_one(&mut **conn)
                    .await
                    .unwrap();
                assert_eq!((keys, wait), (1, 60_000));
            }
            app::store::Engine::Postgres => {
                let jit: String = sqlx::query_scalar("SHOW jit")
                    .fetch_one(&mut **conn)
                    .await
                    .unwrap();
                assert_eq!(jit, "off");
            }
        }
    }
}

crate::engine_tests!(every_pooled_connection_is_set_for_short_queries);
