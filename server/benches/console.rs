//! The supervisor's console at 10,000 visits: latency of the filtered visit list
//! (p50/p95 per query shape, the store call a request makes) and the XLSX and CSV
//! exports of all 10,000 (time and the process's peak resident memory during
//! the export), on SQLite and (when KHAOSAT_TEST_POSTGRES_URL is set) PostgreSQL.
//!
//! Run: `cargo bench -p server --bench console --profile server-release`
//! (KHAOSAT_BENCH_VISITS=N to change the 10,000 default).
//! Not a test: it prints tables and never fails on a slow result.

use app::model::{ReviewState, UserInfo};
use app::office::review::contract::{VisitQuery, VisitSort};
use app::store::{col, Db};
use server::api::exports::{visits_file, Format};
use std::io::Read;
use std::time::Instant;

const RUNS: usize = 60;
/// Districts the synthetic proposals are spread over.
const DISTRICTS: [&str; 10] = [
    "213", "215", "216", "217", "218", "219", "220", "221", "222", "223",
];

async fn supervisor(db: &Db) -> UserInfo {
    let row = sqlx::query("SELECT id FROM users WHERE username = 'giamsat'")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    let id: String = col(&row, "id").unwrap();
    app::store::users::info_by_id(db, &id)
        .await
        .unwrap()
        .unwrap()
}

fn queries() -> Vec<(&'static str, VisitQuery)> {
    let q = VisitQuery::default;
    vec![
        ("first page, newest first", q()),
        (
            "district + state",
            VisitQuery {
                district: Some("216".into()),
                state: Some(ReviewState::Submitted),
                ..q()
            },
        ),
        (
            "search 2 words",
            VisitQuery {
                q: Some("thu tai 123".into()),
                ..q()
            },
        ),
        (
            "industry + 30 days + sort by proposal",
            VisitQuery {
                industry: Some("mechanical".into()),
                from: Some(day_ago(30)),
                sort: VisitSort::Proposal,
                desc: false,
                ..q()
            },
        ),
        (
            "has conflicts",
            VisitQuery {
                has_conflicts: Some(true),
                ..q()
            },
        ),
        (
            "no conflicts / no photos",
            VisitQuery {
                has_conflicts: Some(false),
                has_photos: Some(false),
                ..q()
            },
        ),
        (
            "page 100 sorted by inspector",
            VisitQuery {
                page: 100,
                sort: VisitSort::Inspector,
                ..q()
            },
        ),
    ]
}

/// Rows of the XLSX's first sheet (header included).
fn xlsx_rows(file: std::fs::File) -> i64 {
    let mut zip = zip::ZipArchive::new(file).unwrap();
    let mut xml = String::new();
    zip.by_name("xl/worksheets/sheet1.xml")
        .unwrap()
        .read_to_string(&mut xml)
        .unwrap();
    xml.matches("<row ").count() as i64
}

/// Records of a CSV (header included): CRLF ends a record, a quoted field may hold LF.
fn csv_records(mut file: std::fs::File) -> i64 {
    let mut text = String::new();
    file.read_to_string(&mut text).unwrap();
    let (mut quoted, mut records, mut prev) = (false, 0, '\0');
    for c in text.chars() {
        match c {
            '"' => quoted = !quoted,
            '\n' if !quoted && prev == '\r' => records += 1,
            _ => {}
        }
        prev = c;
    }
    records
}

fn day_ago(days: i64) -> String {
    let t = app::format::datetime_vn(app::store::now_ms() - days * 86_400_000);
    let (d, rest) = t.split_once('/').unwrap();
    let (m, rest) = rest.split_once('/').unwrap();
    format!("{}-{m}-{d}", &rest[..4])
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

/// Peak resident memory of this process since the last reset, in MB (Linux).
fn peak_mb() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<f64>().ok())
        .map(|kb| kb / 1024.0)
        .unwrap_or(f64::NAN)
}

fn reset_peak() {
    // Writing 5 to clear_refs resets VmHWM to the current RSS.
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

fn rss_mb() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<f64>().ok())
        .map(|kb| kb / 1024.0)
        .unwrap_or(f64::NAN)
}

async fn run(engine: &str, url: &str, dir: &std::path::Path, visits: usize) {
    let db = server::startup::open_database(dir, url).await.unwrap();
    app::store::seed::demo(&db).await.unwrap();
    let per = visits.div_ceil(DISTRICTS.len());
    let start = Instant::now();
    for d in DISTRICTS {
        app::store::seed::bulk(&db, d, per, 2021).await.unwrap();
    }
    let n = app::store::seed::bulk_visits(&db, "ksv1", visits, 2021)
        .await
        .unwrap();
    eprintln!(
        "{engine}: seeded {n} visits in {:.1} s",
        start.elapsed().as_secs_f64()
    );
    let user = supervisor(&db).await;
    let mut all = Vec::new();
    for (name, q) in queries() {
        let q = q.normalized();
        let mut times = Vec::with_capacity(RUNS);
        let mut total = 0;
        for _ in 0..RUNS {
            let t = Instant::now();
            let page = app::store::console::search(&db, &user, &q).await.unwrap();
            times.push(t.elapsed().as_secs_f64() * 1000.0);
            // The work timed: a full page, or what is left of the matches.
            let skipped = i64::from(page.page.saturating_sub(1)) * i64::from(page.per_page);
            let expected = (page.total - skipped).clamp(0, i64::from(page.per_page));
            assert_eq!(page.items.len() as i64, expected, "{name}: a short page");
            total = page.total;
        }
        times.sort_by(f64::total_cmp);
        all.extend_from_slice(&times);
        println!(
            "| {engine} | {name} | {total} | {:.1} | {:.1} |",
            percentile(&times, 0.5),
            percentile(&times, 0.95)
        );
    }
    all.sort_by(f64::total_cmp);
    println!(
        "| {engine} | **all shapes** | | {:.1} | **{:.1}** |",
        percentile(&all, 0.5),
        percentile(&all, 0.95)
    );

    // The exports, through the same code as the handlers.
    let everything = VisitQuery::default().normalized();
    let expected = app::store::console::count(&db, &user, &everything)
        .await
        .unwrap();
    assert!(expected >= visits as i64, "{expected} visits seeded");
    let before = rss_mb();
    reset_peak();
    let t = Instant::now();
    let file = visits_file(&db, &user, everything.clone(), Format::Xlsx)
        .await
        .unwrap();
    let xlsx_s = t.elapsed().as_secs_f64();
    let xlsx_peak = peak_mb();
    let xlsx_size = file.metadata().unwrap().len();
    let rows = xlsx_rows(file) - 1;
    assert_eq!(rows, expected, "every visit is a row of the XLSX");
    reset_peak();
    let t = Instant::now();
    let file = visits_file(&db, &user, everything, Format::Csv)
        .await
        .unwrap();
    let csv_s = t.elapsed().as_secs_f64();
    let csv_peak = peak_mb();
    let csv_size = file.metadata().unwrap().len();
    let csv_rows = csv_records(file) - 1;
    assert_eq!(csv_rows, expected, "every visit is a row of the CSV");
    println!(
        "EXPORT | {engine} | {rows} visits | XLSX {xlsx_s:.2} s, {:.0} KB, peak RSS {xlsx_peak:.0} MB (+{:.0} MB over {before:.0}) | CSV {csv_s:.2} s, {:.0} KB, peak RSS {csv_peak:.0} MB",
        xlsx_size as f64 / 1024.0,
        xlsx_peak - before,
        csv_size as f64 / 1024.0,
    );
    db.pool.close().await;
}

fn main() {
    let visits: usize = std::env::var("KHAOSAT_BENCH_VISITS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10_000);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    println!("| engine | query | matches | p50 (ms) | p95 (ms) |");
    println!("|---|---|---|---|---|");
    rt.block_on(async {
        let base = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", base.path().join("khaosat.db").display());
        run("SQLite", &url, base.path(), visits).await;
        if let Ok(admin) = std::env::var("KHAOSAT_TEST_POSTGRES_URL") {
            let name = format!("khaosat_bench_console_{}", uuid::Uuid::now_v7().simple());
            app::store::testing::create_migrated_database(&admin, &name)
                .await
                .unwrap();
            let url = format!("{}/{name}", admin.rsplit_once('/').unwrap().0);
            run("PostgreSQL", &url, base.path(), visits).await;
            app::store::testing::drop_database(&admin, &name)
                .await
                .unwrap();
        } else {
            println!("(PostgreSQL skipped: set KHAOSAT_TEST_POSTGRES_URL)");
        }
    });
}
