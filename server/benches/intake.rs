//! Registry intake at scale: a 20,000-row XLSX (the per-file limit) previewed
//! and committed (time and the process's peak resident memory), and the
//! preview's response time for a realistic 300-row file, on SQLite and (when
//! KHAOSAT_TEST_POSTGRES_URL is set) PostgreSQL.
//!
//! Run: `cargo bench -p server --bench intake --profile server-release`
//! (KHAOSAT_BENCH_ROWS=N to change the 20,000 default).
//! Not a test: it prints figures and never fails on a slow result; it does
//! assert the work it timed (every row previewed, every proposal stored).

use app::office::registry::intake::{intake, IntakeReport};
use app::store::audit::Actor;
use rust_xlsxwriter::Workbook;
use std::time::Instant;

const RUNS: usize = 30;
/// 2025 communes (codes and names) rows are spread over.
const COMMUNES: [&str; 8] = [
    "07210",
    "07288",
    "xã Nhã Nam",
    "07795",
    "Hiệp Hòa",
    "07339",
    "07525",
    "07612",
];

fn workbook(rows: usize, tag: &str) -> Vec<u8> {
    let mut book = Workbook::new();
    let sheet = book.add_worksheet();
    let headers = [
        "Tên cơ sở",
        "Chủ cơ sở",
        "Địa chỉ",
        "Xã/phường (mã hoặc tên)",
        "Mã số thuế",
        "Nhóm ngành",
        "Điện thoại",
        "Tên đề án",
        "Hình thức hỗ trợ",
        "Kinh phí đề nghị (đồng)",
        "Năm",
        "Mã tham chiếu",
    ];
    for (c, h) in headers.iter().enumerate() {
        sheet.write_string(0, c as u16, *h).unwrap();
    }
    for i in 0..rows {
        let r = i as u32 + 1;
        sheet
            .write_string(r, 0, format!("Cơ sở sản xuất {tag} số {i}"))
            .unwrap();
        sheet.write_string(r, 1, format!("Nguyễn Văn {i}")).unwrap();
        sheet
            .write_string(
                r,
                2,
                format!("thôn {}, {}", i % 40, COMMUNES[i % COMMUNES.len()]),
            )
            .unwrap();
        sheet
            .write_string(r, 3, COMMUNES[i % COMMUNES.len()])
            .unwrap();
        if i % 2 == 0 {
            sheet
                .write_string(r, 4, format!("{:010}", 2_400_000_000u64 + i as u64))
                .unwrap();
        }
        sheet
            .write_string(
                r,
                5,
                [
                    "processing",
                    "mechanical",
                    "handicrafts",
                    "building_materials",
                ][i % 4],
            )
            .unwrap();
        sheet.write_string(r, 6, format!("09{:08}", i)).unwrap();
        sheet
            .write_string(r, 7, format!("Hỗ trợ máy móc thiết bị sản xuất {i}"))
            .unwrap();
        sheet.write_string(r, 8, "machinery").unwrap();
        if i % 2 == 0 {
            sheet.write_number(r, 9, 150_000_000.0 + i as f64).unwrap();
        } else {
            sheet
                .write_string(r, 9, format!("{}.500.000", 100 + i % 900))
                .unwrap();
        }
        sheet.write_number(r, 10, 2026.0).unwrap();
        if i % 3 == 0 {
            sheet.write_string(r, 11, format!("{tag}-{i:05}")).unwrap();
        }
    }
    book.save_to_buffer().unwrap()
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn status_mb(field: &str) -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<f64>().ok())
        .map(|kb| kb / 1024.0)
        .unwrap_or(f64::NAN)
}

fn reset_peak() {
    // Writing 5 to clear_refs resets VmHWM to the current RSS.
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

async fn proposals(db: &app::store::Db) -> i64 {
    sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM proposals WHERE year = 2026")
        .fetch_one(&db.pool)
        .await
        .unwrap()
}

async fn timed(db: &app::store::Db, bytes: &[u8], commit: bool) -> (f64, f64, IntakeReport) {
    reset_peak();
    let t = Instant::now();
    let report = intake(db, &Actor::default(), bytes.to_vec(), commit)
        .await
        .unwrap_or_else(|e| panic!("{e:?}"));
    (t.elapsed().as_secs_f64(), status_mb("VmHWM:"), report)
}

async fn run(engine: &str, url: &str, dir: &std::path::Path, rows: usize) {
    let db = server::startup::open_database(dir, url).await.unwrap();
    app::store::seed::demo(&db).await.unwrap();

    // The preview of a 300-row file: what a clerk waits for after uploading.
    let small = workbook(300, "N300");
    let mut times = Vec::with_capacity(RUNS);
    for _ in 0..RUNS {
        let t = Instant::now();
        let report = intake(&db, &Actor::default(), small.clone(), false)
            .await
            .unwrap_or_else(|e| panic!("{e:?}"));
        times.push(t.elapsed().as_secs_f64() * 1000.0);
        assert_eq!(
            report.counts.new_proposals, 300,
            "every row previewed as new"
        );
    }
    times.sort_by(f64::total_cmp);
    println!(
        "PREVIEW300 | {engine} | {} KB | p50 {:.0} ms | p95 {:.0} ms",
        small.len() / 1024,
        percentile(&times, 0.5),
        percentile(&times, 0.95)
    );

    let big = workbook(rows, "N20K");
    let before = proposals(&db).await;
    let rss = status_mb("VmRSS:");
    let (preview_s, preview_peak, report) = timed(&db, &big, false).await;
    assert_eq!(report.counts.rows, rows);
    assert_eq!(report.counts.new_proposals, rows, "every row previewed");
    assert!(
        report.problems.is_empty(),
        "{:?}",
        &report.problems[..3.min(report.problems.len())]
    );
    let (commit_s, commit_peak, report) = timed(&db, &big, true).await;
    assert!(report.committed);
    assert_eq!(
        proposals(&db).await - before,
        rows as i64,
        "every proposal stored"
    );
    let (again_s, _, again) = timed(&db, &big, true).await;
    assert_eq!(
        again.counts.unchanged_proposals, rows,
        "a second import changes nothing"
    );
    println!(
        "INTAKE | {engine} | {rows} rows, {} KB | preview {preview_s:.1} s, peak RSS {preview_peak:.0} MB (+{:.0} over {rss:.0}) | commit {commit_s:.1} s, peak RSS {commit_peak:.0} MB | re-import {again_s:.1} s",
        big.len() / 1024,
        preview_peak - rss,
    );
    db.pool.close().await;
}

fn main() {
    let rows: usize = std::env::var("KHAOSAT_BENCH_ROWS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20_000);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let base = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", base.path().join("khaosat.db").display());
        run("SQLite", &url, base.path(), rows).await;
        if let Ok(admin) = std::env::var("KHAOSAT_TEST_POSTGRES_URL") {
            let name = format!("khaosat_bench_intake_{}", uuid::Uuid::now_v7().simple());
            app::store::testing::create_migrated_database(&admin, &name)
                .await
                .unwrap();
            let url = format!("{}/{name}", admin.rsplit_once('/').unwrap().0);
            run("PostgreSQL", &url, base.path(), rows).await;
            app::store::testing::drop_database(&admin, &name)
                .await
                .unwrap();
        } else {
            println!("(PostgreSQL skipped: set KHAOSAT_TEST_POSTGRES_URL)");
        }
    });
}
