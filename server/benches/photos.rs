//! The image pipeline against libvips (Debian's libvips-tools) on the same
//! files in the same run, timed the same way on both sides.
//!
//! - khaosat: per file, the median of 5 runs of the whole pipeline in process
//!   (judge, decode, orient, display 1600 px and thumbnail 320 px, both JPEG Q82).
//! - libvips: per file, the median of 5 runs of the `vips thumbnail` command
//!   once per derivative (1600 px, then 320 px), with the file already in the
//!   page cache. A process start costs libvips something we do not pay in
//!   process, so it is measured on its own (median of 20 `vips --version`) and
//!   reported as a column; the ratio compares our time with libvips' time less
//!   two starts, so it says how the image work compares.
//!
//! Each run checks its output (both derivatives written, longest sides 1600
//! and 320 or the original's when smaller), so a run that did nothing can
//! never look fast.
//!
//! Run: `cargo bench -p server --bench photos --profile server-release`
//! (KHAOSAT_BENCH_PHOTOS=dir for other photos; default ../shared/bench/photos).
//! Not a test: it prints a table and never fails on a slow result.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

const RUNS: usize = 5;
const SIZES: [u32; 2] = [1600, 320];

fn median(mut d: Vec<Duration>) -> Duration {
    d.sort();
    d[d.len() / 2]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// The longest side a derivative of a `w`×`h` image should have.
fn expected_longest(w: u32, h: u32, size: u32) -> u32 {
    w.max(h).min(size)
}

/// One `vips thumbnail` per derivative; checks both outputs.
fn vips(file: &Path, out: &Path, longest: u32) -> Option<Duration> {
    let mut outputs = Vec::new();
    let started = Instant::now();
    for size in SIZES {
        let target = out.join(format!("v{size}.jpg"));
        let status = Command::new("vips")
            .arg("thumbnail")
            .arg(file)
            .arg(format!("{}[Q=82]", target.display()))
            .arg(size.to_string())
            .status()
            .ok()?;
        if !status.success() {
            return None;
        }
        outputs.push((target, size));
    }
    let took = started.elapsed();
    for (target, size) in outputs {
        let (w, h) = image::image_dimensions(&target).expect("vips wrote its derivative");
        assert_eq!(
            w.max(h),
            longest.min(size),
            "vips {size} px of {}",
            file.display()
        );
        let _ = std::fs::remove_file(target);
    }
    Some(took)
}

/// What starting the `vips` command costs, without any image work.
fn vips_startup() -> Option<Duration> {
    let runs: Option<Vec<Duration>> = (0..20)
        .map(|_| {
            let started = Instant::now();
            let ok = Command::new("vips")
                .arg("--version")
                .output()
                .ok()?
                .status
                .success();
            ok.then(|| started.elapsed())
        })
        .collect();
    runs.map(median)
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
    assert!(!files.is_empty(), "no JPEG photos in {}", dir.display());
    let out = std::env::temp_dir().join(format!("khaosat-bench-{}", std::process::id()));
    std::fs::create_dir_all(&out).unwrap();
    let startup = vips_startup();
    match startup {
        Some(s) => println!(
            "libvips process start (`vips --version`, median of 20): {:.1} ms\n",
            ms(s)
        ),
        None => println!("libvips: not installed (apt-get install libvips-tools)\n"),
    }
    println!("| photo | pixels | bytes | khaosat in process | vips thumbnail ×2 | of which 2 starts | libvips work | khaosat ÷ libvips work |");
    println!("|---|---|---|---|---|---|---|---|");
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
            for (jpeg, size) in [(&derived.display, SIZES[0]), (&derived.thumb, SIZES[1])] {
                let (w, h) = image::load_from_memory(jpeg)
                    .unwrap()
                    .into_rgb8()
                    .dimensions();
                assert_eq!(w.max(h), expected_longest(dims.0, dims.1, size));
            }
        }
        let ours = median(ours);
        ours_total += ours;
        let longest = dims.0.max(dims.1);
        let theirs = startup.and_then(|_| {
            // One untimed run: the file and the libraries in the page cache.
            vips(file, &out, longest)?;
            let runs: Option<Vec<Duration>> =
                (0..RUNS).map(|_| vips(file, &out, longest)).collect();
            runs.map(median)
        });
        let work = theirs.zip(startup).map(|(t, s)| t.saturating_sub(s * 2));
        if let Some(w) = work {
            vips_total += w;
        }
        println!(
            "| {} | {}×{} | {} | {:.0} ms | {} | {} | {} | {} |",
            file.file_name().unwrap().to_string_lossy(),
            dims.0,
            dims.1,
            bytes.len(),
            ms(ours),
            theirs.map_or("-".into(), |t| format!("{:.0} ms", ms(t))),
            startup.map_or("-".into(), |s| format!("{:.0} ms", ms(s * 2))),
            work.map_or("-".into(), |w| format!("{:.0} ms", ms(w))),
            work.map_or("-".into(), |w| format!(
                "{:.2}×",
                ours.as_secs_f64() / w.as_secs_f64()
            )),
        );
    }
    if vips_total > Duration::ZERO {
        println!(
            "| **all** | | | {:.0} ms | | | {:.0} ms | **{:.2}×** |",
            ms(ours_total),
            ms(vips_total),
            ours_total.as_secs_f64() / vips_total.as_secs_f64()
        );
    }
    // The truncation walk (`jpeg_scan`) on its own: part of the pipeline's
    // time above, shown so its share is known.
    println!("\n| photo | `jpeg_scan::scan_is_whole`, median of {RUNS} |\n|---|---|");
    for file in &files {
        let bytes = std::fs::read(file).unwrap();
        let runs: Vec<Duration> = (0..RUNS)
            .map(|_| {
                let started = Instant::now();
                let whole = server::jpeg_scan::scan_is_whole(&bytes);
                let took = started.elapsed();
                assert_ne!(whole, Some(false), "{} is whole", file.display());
                took
            })
            .collect();
        println!(
            "| {} | {:.1} ms |",
            file.file_name().unwrap().to_string_lossy(),
            ms(median(runs))
        );
    }
    let _ = std::fs::remove_dir_all(&out);
}
