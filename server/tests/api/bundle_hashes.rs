//! Where the server finds `hash.txt` (the names of the built bundle files): the
//! file given with `--hash-file`, else beside the binary, else in the site
//! root. A deployment that copied the binary without it is told what to do.

use server::bundle_hashes::{locate, Hashes};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const HASHES: &str = "js: abc123\nwasm: abc123\ncss: abc123\n";

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

/// A site built with hashed names, without its `hash.txt`.
fn hashed_site(dir: &Path) -> std::path::PathBuf {
    let site = dir.join("site");
    for f in [
        "khaosat.abc123.js",
        "khaosat.abc123.wasm",
        "khaosat.abc123.css",
    ] {
        write(&site.join("pkg").join(f), "/* test */");
    }
    write(
        &site.join("sw.js"),
        "// __KHAOSAT_VERSION__ __KHAOSAT_PRECACHE__",
    );
    site
}

#[test]
fn the_hash_file_is_the_given_one_else_beside_the_binary_else_in_the_site_root() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("site");
    let beside = dir.path().join("bin/hash.txt");
    let given = dir.path().join("given.txt");
    std::fs::create_dir_all(&root).unwrap();
    assert_eq!(locate(None, Some(beside.clone()), &root).unwrap(), None);
    // Each is remembered by its absolute path, which Leptos reads again to
    // name the scripts it renders.
    let found = |hashes: Option<Hashes>| {
        let h = hashes.expect("a hash file");
        (h.js, h.split, h.file.expect("its path"))
    };
    let canonical = |p: &Path| std::fs::canonicalize(p).unwrap();

    write(&root.join("hash.txt"), "js: r\nwasm: r\ncss: r\n");
    assert_eq!(
        found(locate(None, Some(beside.clone()), &root).unwrap()),
        ("r".into(), None, canonical(&root.join("hash.txt")))
    );
    write(&beside, "js: b\nwasm: b\ncss: b\nsplit: s\nmanifest: m\n");
    assert_eq!(
        found(locate(None, Some(beside.clone()), &root).unwrap()),
        ("b".into(), Some("s".into()), canonical(&beside))
    );
    write(&given, "js: g\nwasm: g\ncss: g\n");
    // Given relative to the working directory, as an operator types it.
    assert_eq!(
        found(locate(Some(&relative(&given)), Some(beside), &root).unwrap()),
        ("g".into(), None, canonical(&given))
    );
}

/// `path` (absolute) as a path relative to the working directory.
fn relative(path: &Path) -> std::path::PathBuf {
    let cwd = std::env::current_dir().unwrap();
    let ups = cwd.components().count() - 1;
    let mut relative: std::path::PathBuf = std::iter::repeat_n("..", ups).collect();
    relative.push(path.strip_prefix("/").unwrap());
    relative
}

#[test]
fn a_hash_file_that_is_missing_when_given_or_not_one_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("site");
    std::fs::create_dir_all(&root).unwrap();
    let given = dir.path().join("missing.txt");
    let err = locate(Some(&given), None, &root).unwrap_err();
    assert!(err.contains("missing.txt"), "{err}");

    // Found but not a hash file: refused, not skipped for the next place.
    let beside = dir.path().join("bin/hash.txt");
    write(&beside, "<html>not it</html>");
    write(&root.join("hash.txt"), HASHES);
    let err = locate(None, Some(beside), &root).unwrap_err();
    assert!(
        err.contains("bin/hash.txt") && err.contains("`js:`"),
        "{err}"
    );
}

#[test]
fn a_hashed_build_without_its_hash_file_is_refused_with_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let site = hashed_site(dir.path());
    let err = server::assets::Site::load_with_hashes(&site, None).unwrap_err();
    assert!(
        err.contains("hash.txt") && err.contains("--hash-file"),
        "{err}"
    );
    // Another build's hash file is named as such.
    let err =
        server::assets::Site::load_with_hashes(&site, Some(Hashes::all("other1"))).unwrap_err();
    assert!(
        err.contains("khaosat.other1.js") && err.contains("hash.txt of the build"),
        "{err}"
    );
    // The same build with its hash file in the site root loads.
    write(&site.join("hash.txt"), HASHES);
    let loaded = server::assets::Site::load(&site, None).unwrap();
    assert_eq!(loaded.js, "khaosat.abc123.js");
    // A build without hashes is not mistaken for one that lost its file.
    let plain = crate::helpers::fake_site(&dir.path().join("plain"));
    assert!(server::assets::Site::load_with_hashes(&plain, None).is_ok());
}

/// The server's log goes to `log`: a pipe nobody reads would fill and stop it.
fn serve(dir: &Path, site: &Path, port: u16, extra: &[&str], log: &Path) -> std::process::Child {
    Command::new(env!("CARGO_BIN_EXE_khaosat"))
        .args([
            "serve",
            "--addr",
            &format!("127.0.0.1:{port}"),
            "--data-dir",
        ])
        .arg(dir.join("data"))
        .arg("--site-root")
        .arg(site)
        .args(extra)
        .env_remove("KHAOSAT_DATABASE_URL")
        .env_remove("KHAOSAT_HASH_FILE")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(log).unwrap())
        .spawn()
        .unwrap()
}

/// The binary the tests run has no `hash.txt` beside it, as after a deployment
/// that copied only the binary.
#[test]
fn the_server_takes_its_hash_file_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let site = hashed_site(dir.path());
    let port = crate::helpers::free_port();
    let log = dir.path().join("server.log");
    let read_log = || std::fs::read_to_string(&log).unwrap_or_default();

    let refused = serve(dir.path(), &site, port, &[], &log).wait().unwrap();
    assert!(!refused.success());
    let stderr = read_log();
    assert!(
        stderr.contains("hash.txt") && stderr.contains("--hash-file"),
        "{stderr}"
    );

    let hash_file = dir.path().join("release/hash.txt");
    write(&hash_file, HASHES);
    let given = ["--hash-file", hash_file.to_str().unwrap()];
    let mut child = serve(dir.path(), &site, port, &given, &log);
    let deadline = Instant::now() + Duration::from_secs(60);
    let page = loop {
        assert!(
            child.try_wait().unwrap().is_none(),
            "it stopped: {}",
            read_log()
        );
        assert!(
            Instant::now() < deadline,
            "no answer in 60 s: {}",
            read_log()
        );
        match crate::crash::http(port, "GET", "/login", None, None, Duration::from_secs(5)) {
            Ok((200, _, body)) => break body,
            _ => std::thread::sleep(Duration::from_millis(100)),
        }
    };
    let _ = child.kill();
    let _ = child.wait();
    assert!(page.contains("/pkg/khaosat.abc123.js"), "{page}");
}
