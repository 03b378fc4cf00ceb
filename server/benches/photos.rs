//! The image pipeline against `vipsthumbnail` (Debian's libvips-tools) on the
//! same files in the same run: per file, the median of 5 runs of our whole
//! pipeline (judge, decode, orient, display 1600 px and thumbnail 320 px, both
//! JPEG) against the median of 5 runs of vipsthumbnail twice (320 and 1600 px).
//!
//! Run: `cargo bench -p server --bench photos --profile server-release`
//! (KHAOSAT_BENCH_PHOTOS=dir for other photos; default ../shared/bench/photos).
//! Not a test: it prints a table and never fails on a slow result.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

const RUNS: usize = 5;

fn median(mut d: Vec<Duration>) -> Duration {
    d.sort();
    d[d.len() / 2]
}

fn vips(file: &Path, out: &Path) -> Option<Duration> {
    let started = Instant::now();
    for size in ["320", "1600"] {
        let target = out.join(format!("v{size}.jpg[Q=82]"));
        let status = Command::new("vipsthumbnail")
            .arg(file)
            .args(["--size", size, "-o"])
            .arg(&target)
            .status()
            .ok()?;
        if !status.success() {
            return None;
        }
    }
    Some(started.elapsed())
}

fn main() {
    let dir = std::env::var("KHAOSAT_BENCH_PHOTOS")
        .map(PathBuf::from)
        .unwrap_or_else(|_| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/bench/photos")
        });
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.extension()
                .is_some_and(|x| x.eq_ignore_ascii_case("jpg") || x.eq_ignore_ascii_case("jpeg"))
        })
        .collect();
    files.sort();
    let out = std::env::temp_dir().join(format!("khaosat-bench-{}", std::process::id()));
    std::fs::create_dir_all(&out).unwrap();
    let have_vips = Command::new("vipsthumbnail")
        .arg("--version")
        .output()
        .is_ok();
    println!("| photo | pixels | bytes | khaosat (median of {RUNS}) | vipsthumbnail 320+1600 (median of {RUNS}) | ratio |");
    println!("|---|---|---|---|---|---|");
    let (mut ours_total, mut vips_total) = (Duration::ZERO, Duration::ZERO);
    for file in &files {
        let bytes = std::fs::read(file).unwrap();
        let mut ours = Vec::new();
        let mut dims = (0, 0);
        for _ in 0..RUNS {
            let started = Instant::now();
            let derived = server::images::derive(&bytes, 100_000_000).expect("a good photo");
            ours.push(started.elapsed());
            dims = (derived.width, derived.height);
            std::hint::black_box((derived.display.len(), derived.thumb.len()));
        }
        let ours = median(ours);
        ours_total += ours;
        let theirs = if have_vips {
            let runs: Option<Vec<Duration>> = (0..RUNS).map(|_| vips(file, &out)).collect();
            runs.map(median)
        } else {
            None
        };
        if let Some(t) = theirs {
            vips_total += t;
        }
        println!(
            "| {} | {}×{} | {} | {:.0} ms | {} | {} |",
            file.file_name().unwrap().to_string_lossy(),
            dims.0,
            dims.1,
            bytes.len(),
            ours.as_secs_f64() * 1000.0,
            theirs.map_or("not installed".into(), |t| format!(
                "{:.0} ms",
                t.as_secs_f64() * 1000.0
            )),
            theirs.map_or("-".into(), |t| format!(
                "{:.2}×",
                ours.as_secs_f64() / t.as_secs_f64()
            )),
        );
    }
    if vips_total > Duration::ZERO {
        println!(
            "| **all** | | | {:.0} ms | {:.0} ms | **{:.2}×** |",
            ours_total.as_secs_f64() * 1000.0,
            vips_total.as_secs_f64() * 1000.0,
            ours_total.as_secs_f64() / vips_total.as_secs_f64()
        );
    }
    let _ = std::fs::remove_dir_all(&out);
}
