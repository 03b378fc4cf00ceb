//! The shell's static assets: precompressed, cached for a year when hashed, and
//! an installable manifest whose icons are what it says they are.
//!
//! One file (about 630 lines): every test builds the same made-up site
//! (`site_with_bundle`) and reads the answers through the same few helpers.

use crate::helpers::TestApp;
use axum::http::{header, Method, Request, StatusCode};
use std::path::Path;

fn repo_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap()
}

/// A site with one hashed bundle file, precompressed as the server does at start-up.
fn site_with_bundle(dir: &Path) -> server::assets::Site {
    std::fs::create_dir_all(dir.join("pkg")).unwrap();
    std::fs::write(
        dir.join("pkg/khaosat.abc123.js"),
        "export function hydrate() {}\n".repeat(200),
    )
    .unwrap();
    std::fs::write(
        dir.join("sw.js"),
        "const VERSION = \"__KHAOSAT_VERSION__\"; const PRECACHE = __KHAOSAT_PRECACHE__;",
    )
    .unwrap();
    server::assets::precompress(dir).unwrap();
    server::assets::Site {
        root: dir.to_path_buf(),
        js: "khaosat.abc123.js".into(),
        wasm: "khaosat.abc123.wasm".into(),
        css: "khaosat.abc123.css".into(),
        split: vec![],
        hash_file: Some("hash.txt".into()),
        version: "v1".into(),
        service_worker: "// sw".into(),
        shell_html: String::new(),
        deltas: Default::default(),
    }
}

async fn get(
    router: &axum::Router,
    uri: &str,
    encoding: &str,
) -> (StatusCode, axum::http::HeaderMap, Vec<u8>) {
    get_with(router, uri, &[("accept-encoding", encoding)]).await
}

async fn get_with(
    router: &axum::Router,
    uri: &str,
    headers: &[(&str, &str)],
) -> (StatusCode, axum::http::HeaderMap, Vec<u8>) {
    let mut request = Request::builder().method(Method::GET).uri(uri);
    for (k, v) in headers {
        request = request.header(*k, *v);
    }
    let response =
        crate::helpers::send(router, request.body(axum::body::Body::empty()).unwrap()).await;
    (response.status, response.headers, response.body)
}

/// The body of a gzipped answer, decoded.
fn gunzip(body: &[u8]) -> Vec<u8> {
    let mut plain = Vec::new();
    std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(body), &mut plain).unwrap();
    plain
}

async fn hashed_bundles_are_served_precompressed_and_cached_for_a_year(app: TestApp) {
    let dir = tempfile::tempdir().unwrap();
    let site = site_with_bundle(dir.path());
    let router = app.router_with_site(site);

    let (status, headers, body) = get(&router, "/pkg/khaosat.abc123.js", "gzip, br").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers[header::CONTENT_ENCODING], "br");
    assert!(
        body.len() < 200,
        "brotli copy served ({} bytes)",
        body.len()
    );
    assert_eq!(
        headers[header::CACHE_CONTROL],
        "public, max-age=31536000, immutable"
    );

    let (_, headers, _) = get(&router, "/pkg/khaosat.abc123.js", "gzip").await;
    assert_eq!(headers[header::CONTENT_ENCODING], "gzip");

    let (status, headers, _) = get(&router, "/sw.js", "br").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers[header::CACHE_CONTROL], "no-cache");
}

/// Right after a start the brotli copies are still being made: a bundle file
/// without its copy goes out gzipped on the fly, never whole, and a part of it
/// (`Range`) still comes as the bytes asked for.
async fn a_file_without_its_brotli_copy_yet_is_gzipped_on_the_fly(app: TestApp) {
    let dir = tempfile::tempdir().unwrap();
    let site = site_with_bundle(dir.path());
    let module: Vec<u8> = b"(module)".repeat(20_000);
    std::fs::write(dir.path().join("pkg/khaosat.abc123.wasm"), &module).unwrap();
    let router = app.router_with_site(site);

    let (status, headers, body) = get(&router, "/pkg/khaosat.abc123.wasm", "gzip, br").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers[header::CONTENT_ENCODING], "gzip");
    assert!(body.len() < module.len() / 10, "{} B", body.len());
    let plain = gunzip(&body);
    assert_eq!(plain, module);
    assert_eq!(
        headers[header::CACHE_CONTROL],
        "public, max-age=31536000, immutable"
    );

    let (status, headers, body) = get_with(
        &router,
        "/pkg/khaosat.abc123.wasm",
        &[("accept-encoding", "gzip, br"), ("range", "bytes=8-15")],
    )
    .await;
    assert_eq!(status, StatusCode::PARTIAL_CONTENT);
    assert!(headers.get(header::CONTENT_ENCODING).is_none());
    assert_eq!(body, b"(module)");

    // Once the copies are made they are what goes out.
    server::assets::precompress(dir.path()).unwrap();
    let (_, headers, _) = get(&router, "/pkg/khaosat.abc123.wasm", "gzip, br").await;
    assert_eq!(headers[header::CONTENT_ENCODING], "br");
}

/// After a start the copies of what `/login` loads are made first, so the
/// on-the-fly gzip above lasts seconds for them, not the whole 20 s.
#[test]
fn the_first_load_gets_its_brotli_copies_first() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::create_dir_all(root.join("pkg")).unwrap();
    std::fs::create_dir_all(root.join("icons")).unwrap();
    for file in [
        "manifest.webmanifest",
        "icons/favicon.svg",
        "icons/icon-192.png",
        "pkg/chunk_13.a.wasm",
        "pkg/split_field_pages_1.b.wasm",
        "pkg/khaosat.c.wasm",
        "pkg/__wasm_split.d.js",
        "pkg/khaosat.e.js",
        "pkg/khaosat.f.css",
        "pkg/khaosat.c.wasm.br",
    ] {
        std::fs::write(root.join(file), b"x").unwrap();
    }
    let order: Vec<String> = server::assets::compressible_files(root)
        .unwrap()
        .iter()
        .map(|p| p.strip_prefix(root).unwrap().display().to_string())
        .collect();
    assert_eq!(
        order,
        [
            "pkg/__wasm_split.d.js",
            "pkg/khaosat.c.wasm",
            "pkg/khaosat.e.js",
            "pkg/khaosat.f.css",
            "pkg/chunk_13.a.wasm",
            "pkg/split_field_pages_1.b.wasm",
            "icons/favicon.svg",
            "manifest.webmanifest",
        ]
    );
}

/// Processes started together on one site directory all make the copies at
/// once: each must finish, and every copy must be whole.
#[test]
fn processes_precompressing_one_site_together_leave_whole_copies() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("pkg")).unwrap();
    let module: Vec<u8> = (0..120_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8 & 0x3f)
        .collect();
    std::fs::write(dir.path().join("pkg/khaosat.a.wasm"), &module).unwrap();
    let root = dir.path().to_path_buf();
    let runs: Vec<_> = (0..4)
        .map(|_| {
            let root = root.clone();
            std::thread::spawn(move || server::assets::precompress(&root))
        })
        .collect();
    for run in runs {
        run.join()
            .unwrap()
            .expect("every process finishes its copies");
    }
    let mut plain = Vec::new();
    let br = std::fs::read(dir.path().join("pkg/khaosat.a.wasm.br")).unwrap();
    brotli::BrotliDecompress(&mut br.as_slice(), &mut plain).unwrap();
    assert_eq!(plain, module);
    let gz = std::fs::read(dir.path().join("pkg/khaosat.a.wasm.gz")).unwrap();
    assert_eq!(gunzip(&gz), module);
    let left: Vec<_> = std::fs::read_dir(dir.path().join("pkg"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".tmp"))
        .collect();
    assert!(left.is_empty(), "{left:?}");

    // The race itself is too quick to catch every time, so the same thing
    // deterministically: another process holds its temporary copies (one a
    // directory, so writing into it would fail; one half-written). This
    // process writes neither, and they stay as they were.
    std::fs::write(dir.path().join("pkg/khaosat.b.wasm"), &module).unwrap();
    std::fs::create_dir(dir.path().join("pkg/khaosat.b.wasm.br.tmp")).unwrap();
    let theirs = dir.path().join("pkg/khaosat.b.wasm.gz.99999-0.tmp");
    std::fs::write(&theirs, b"half a copy").unwrap();
    server::assets::precompress(dir.path())
        .expect("another process's temporary files are not ours");
    let br = std::fs::read(dir.path().join("pkg/khaosat.b.wasm.br")).unwrap();
    let mut plain = Vec::new();
    brotli::BrotliDecompress(&mut br.as_slice(), &mut plain).unwrap();
    assert_eq!(plain, module);
    assert_eq!(std::fs::read(&theirs).unwrap(), b"half a copy");
}

/// A server-rendered page goes out gzipped when the browser accepts it (the
/// review list is 70 KB of HTML), and as it is when it does not.
async fn pages_are_gzipped_for_browsers_that_accept_it(app: TestApp) {
    let dir = tempfile::tempdir().unwrap();
    site_with_bundle(dir.path());
    // Unhashed names: the page renderer reads a hashed build's names from
    // beside the test binary.
    std::fs::write(
        dir.path().join("pkg/khaosat.js"),
        "export function hydrate() {}",
    )
    .unwrap();
    let site = server::assets::Site::load_with_hashes(dir.path(), None).unwrap();
    let router = app.router_with_site(site);

    let (status, headers, body) = get(&router, "/login", "gzip, deflate, br, zstd").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers[header::CONTENT_ENCODING], "gzip");
    assert!(headers[header::VARY]
        .to_str()
        .unwrap()
        .contains("accept-encoding"));
    let html = String::from_utf8(gunzip(&body)).unwrap();
    assert!(html.contains("<form"), "{html}");
    // The policy still names the page's inline scripts: they were hashed
    // before the page was compressed.
    let policy = headers[header::CONTENT_SECURITY_POLICY].to_str().unwrap();
    for hash in server::security::headers::inline_script_hashes(&html) {
        assert!(policy.contains(&format!("'sha256-{hash}'")), "{policy}");
    }

    let (status, headers, body) = get(&router, "/login", "identity").await;
    assert_eq!(status, StatusCode::OK);
    assert!(headers.get(header::CONTENT_ENCODING).is_none());
    assert!(String::from_utf8(body).unwrap().contains("<form"));

    // The not-found page is the offline shell: one inline script, allowed.
    let (status, headers, body) = get_with(
        &router,
        "/nothing-here",
        &[("accept", "text/html"), ("accept-encoding", "gzip")],
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(headers[header::CONTENT_ENCODING], "gzip");
    let html = String::from_utf8(gunzip(&body)).unwrap();
    let hashes = server::security::headers::inline_script_hashes(&html);
    assert_eq!(hashes.len(), 1, "{html}");
    assert!(headers[header::CONTENT_SECURITY_POLICY]
        .to_str()
        .unwrap()
        .contains(&format!("'sha256-{}'", hashes[0])));
}

/// English is not in the phone's first download: the browser fetches it from
/// the server (brotli when accepted), and the service worker precaches it so a
/// phone can switch language offline.
async fn english_is_served_to_the_browser_on_demand(app: TestApp) {
    let dir = tempfile::tempdir().unwrap();
    let router = app.router_with_site(site_with_bundle(dir.path()));
    let (status, headers, body) = get(&router, "/locales/en.json", "gzip, br;q=1").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers[header::CONTENT_ENCODING], "br");
    assert_eq!(headers[header::VARY], "accept-encoding");
    let mut plain = Vec::new();
    brotli::BrotliDecompress(&mut body.as_slice(), &mut plain).unwrap();
    assert_eq!(plain, app::i18n::EN_SOURCE.as_bytes());
    assert!(
        body.len() * 3 < plain.len(),
        "compressed: {} of {}",
        body.len(),
        plain.len()
    );

    // Without brotli: gzip, and as it is to a client that takes neither.
    let (status, headers, body) = get(&router, "/locales/en.json", "gzip").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers[header::CONTENT_ENCODING], "gzip");
    let plain = gunzip(&body);
    assert_eq!(plain, app::i18n::EN_SOURCE.as_bytes());
    let (status, headers, body) = get(&router, "/locales/en.json", "identity").await;
    assert_eq!(status, StatusCode::OK);
    assert!(headers.get(header::CONTENT_ENCODING).is_none());
    let value: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(value["login"]["submit"], "Log in", "{value}");
    // The field's English only, which every phone precaches: the office's
    // comes with the office's chunk.
    assert_eq!(value["review"]["link"], "Survey visits", "{value}");
    assert!(value["review"]["title"].is_null(), "{value}");
    assert!(value["errors"]["registry"].is_null(), "{value}");
    assert!(value["errors"]["sync"].is_object(), "{value}");

    let hashes = server::assets::Hashes::all("abc123");
    let site = server::assets::Site::load_with_hashes(dir.path(), Some(hashes)).unwrap();
    assert!(
        site.service_worker.contains("\"/locales/en.json\""),
        "{}",
        site.service_worker
    );
}

#[test]
fn the_service_worker_names_its_cache_after_the_build() {
    let dir = tempfile::tempdir().unwrap();
    site_with_bundle(dir.path());
    let site = server::assets::Site::load_with_hashes(
        dir.path(),
        Some(server::assets::Hashes::all("abc123")),
    )
    .unwrap();
    assert!(site.service_worker.contains(&site.version));
    assert!(site.service_worker.contains("/pkg/khaosat.abc123.wasm"));
    assert!(site.service_worker.contains("/offline-shell"));
    let other = server::assets::Site::load_with_hashes(
        dir.path(),
        Some(server::assets::Hashes {
            wasm: "def456".into(),
            ..server::assets::Hashes::all("abc123")
        }),
    )
    .unwrap();
    assert_ne!(
        site.version, other.version,
        "a new build must get a new cache"
    );

    // A release that changes only a file without a hash in its name (here an
    // icon) must reach phones too: their worker sees new bytes and re-caches.
    let load = || {
        server::assets::Site::load_with_hashes(
            dir.path(),
            Some(server::assets::Hashes::all("abc123")),
        )
        .unwrap()
        .version
    };
    std::fs::create_dir_all(dir.path().join("icons")).unwrap();
    std::fs::write(dir.path().join("icons/icon-192.png"), b"the old icon").unwrap();
    let before = load();
    assert_ne!(before, site.version);
    assert_eq!(load(), before, "the same files give the same version");
    std::fs::write(dir.path().join("icons/icon-192.png"), b"the new icon").unwrap();
    assert_ne!(load(), before, "a new icon must get a new cache");
}

/// A `--split` build: the chunk loader the main JS imports is precached (the
/// field app cannot start offline without it), with the chunk manifest and
/// every chunk a field piece needs; the office's own chunks are not (a phone
/// never needs them), and a chunk both share is listed once.
#[test]
fn a_split_build_precaches_its_loader_and_the_field_chunks_only() {
    let hashes =
        server::assets::Hashes::parse("js: aaa\nwasm: bbb\ncss: ccc\nmanifest: ddd\nsplit: eee\n")
            .unwrap();
    assert_eq!(hashes.split.as_deref(), Some("eee"));
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("pkg")).unwrap();
    std::fs::write(dir.path().join("pkg/khaosat.aaa.js"), "").unwrap();
    std::fs::write(
        dir.path().join("pkg/__wasm_split_manifest.ddd.json"),
        r#"{
            "__field_home_route_view_1": ["chunk_1.h1", "chunk_2.h2", "split___field_home_route_view_1.h3"],
            "field_sync_run_2": ["chunk_2.h2", "split_field_sync_run_2.h4"],
            "__admin_route_view_3": ["chunk_2.h2", "chunk_9.h9", "split___admin_route_view_3.h5"]
        }"#,
    )
    .unwrap();
    std::fs::write(
        dir.path().join("sw.js"),
        "const PRECACHE = __KHAOSAT_PRECACHE__;",
    )
    .unwrap();
    let site = server::assets::Site::load_with_hashes(dir.path(), Some(hashes.clone())).unwrap();
    let sw = &site.service_worker;
    assert!(sw.contains("/pkg/__wasm_split.eee.js"));
    assert!(sw.contains("/pkg/__wasm_split_manifest.ddd.json"));
    for field in [
        "chunk_1.h1.wasm",
        "split___field_home_route_view_1.h3.wasm",
        "split_field_sync_run_2.h4.wasm",
    ] {
        assert!(
            sw.contains(&format!("\"/pkg/{field}\"")),
            "{field} precached: {sw}"
        );
    }
    assert_eq!(sw.matches("/pkg/chunk_2.h2.wasm").count(), 1, "{sw}");
    assert!(
        !sw.contains("chunk_9"),
        "an office-only chunk is not precached: {sw}"
    );
    assert!(!sw.contains("split___admin"), "{sw}");
    let unsplit = server::assets::Site::load_with_hashes(
        dir.path(),
        Some(server::assets::Hashes {
            split: None,
            manifest: None,
            ..hashes
        }),
    )
    .unwrap();
    assert_ne!(site.version, unsplit.version);
}

/// A manifest that is not what the splitter writes stops the server at start
/// with a message, rather than serving a worker that cannot start offline.
#[test]
fn a_broken_split_manifest_is_refused_with_its_reason() {
    assert!(server::assets::field_chunks("[]")
        .unwrap_err()
        .contains("not a JSON object"));
    assert!(
        server::assets::field_chunks(r#"{"__field_x_1": "chunk_1"}"#)
            .unwrap_err()
            .contains("__field_x_1 is not a list")
    );
    assert_eq!(
        server::assets::field_chunks(
            r#"{"__field_x_1": ["chunk_1.a"], "__plan_2": ["chunk_2.b"]}"#
        )
        .unwrap(),
        vec!["chunk_1.a.wasm".to_string()]
    );
}

#[test]
fn the_manifest_is_installable_with_real_icons() {
    let manifest: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(repo_root().join("public/manifest.webmanifest")).unwrap(),
    )
    .unwrap();
    for key in [
        "name",
        "short_name",
        "start_url",
        "display",
        "theme_color",
        "icons",
    ] {
        assert!(manifest.get(key).is_some(), "manifest lacks {key}");
    }
    assert_eq!(manifest["display"], "standalone");
    assert_eq!(manifest["lang"], "vi");
    let icons = manifest["icons"].as_array().unwrap();
    assert!(icons
        .iter()
        .any(|i| i["purpose"].as_str().unwrap_or("any").contains("maskable")));
    for size in [192u32, 512] {
        assert!(
            icons.iter().any(|i| i["sizes"] == format!("{size}x{size}")),
            "no {size}px icon"
        );
    }
    for icon in icons.iter().filter(|i| i["type"] == "image/png") {
        let path = repo_root()
            .join("public")
            .join(icon["src"].as_str().unwrap().trim_start_matches('/'));
        let image = image::open(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let declared = icon["sizes"].as_str().unwrap();
        assert_eq!(
            format!("{}x{}", image.width(), image.height()),
            declared,
            "{}",
            path.display()
        );
        // The indexed PNGs carry their alpha in a tRNS chunk: the rounded
        // corners of an "any" icon stay see-through, a maskable one is full-bleed.
        let rgba = image.to_rgba8();
        let corner = rgba.get_pixel(0, 0)[3];
        let centre = rgba.get_pixel(image.width() / 2, image.height() / 2)[3];
        let maskable = icon["purpose"]
            .as_str()
            .unwrap_or("any")
            .contains("maskable");
        assert_eq!(
            (corner, centre),
            (if maskable { 255 } else { 0 }, 255),
            "{}",
            path.display()
        );
    }
    // Every phone downloads these two on its first visit (the service
    // worker's precache): 47 KB as RGBA, 17 KB as indexed colour.
    let precached: u64 = ["icon-192.png", "icon-512.png"]
        .iter()
        .map(|name| {
            std::fs::metadata(repo_root().join("public/icons").join(name))
                .unwrap()
                .len()
        })
        .sum();
    assert!(
        precached <= 20_000,
        "the precached icons weigh {precached} B; write them with scripts/make_icons.py"
    );
}

/// A module that changes a little from one release to the next.
fn module(release: u8) -> Vec<u8> {
    let mut bytes: Vec<u8> = (0..60_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    bytes[30_000..30_050].fill(release);
    bytes
}

/// After a release, a browser that holds the last release's module gets the
/// new one as a delta from it (dcz); any other request gets the file as before,
/// marked as the dictionary for the next release.
async fn a_new_release_is_sent_as_a_delta_from_the_module_the_browser_holds(app: TestApp) {
    use base64::Engine;
    use server::release_deltas::{decode, sha256};
    let dir = tempfile::tempdir().unwrap();
    let releases = dir.path().join("data/releases");
    let site = site_with_bundle(dir.path());
    // The release before: served once, so the server remembers its module.
    std::fs::write(dir.path().join("pkg/khaosat.r1.wasm"), module(1)).unwrap();
    server::release_deltas::prepare(&dir.path().join("pkg"), &releases, &site.deltas).unwrap();
    std::fs::remove_file(dir.path().join("pkg/khaosat.r1.wasm")).unwrap();
    std::fs::write(dir.path().join("pkg/khaosat.r2.wasm"), module(2)).unwrap();
    server::assets::precompress(dir.path()).unwrap();
    let report =
        server::release_deltas::prepare(&dir.path().join("pkg"), &releases, &site.deltas).unwrap();
    assert_eq!(report.deltas, 1, "{report:?}");
    let router = app.router_with_site(site);

    let held = format!(
        ":{}:",
        base64::engine::general_purpose::STANDARD.encode(sha256(&module(1)))
    );
    let browser = [
        ("accept-encoding", "gzip, deflate, br, zstd, dcb, dcz"),
        ("available-dictionary", held.as_str()),
    ];
    let (status, headers, body) = get_with(&router, "/pkg/khaosat.r2.wasm", &browser).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers[header::CONTENT_ENCODING], "dcz");
    assert_eq!(headers[header::CONTENT_TYPE], "application/wasm");
    assert_eq!(
        headers[header::CACHE_CONTROL],
        "public, max-age=31536000, immutable"
    );
    assert_eq!(
        headers["use-as-dictionary"],
        "match=\"/pkg/khaosat.*.wasm\""
    );
    assert!(headers[header::VARY]
        .to_str()
        .unwrap()
        .contains("available-dictionary"));
    assert_eq!(decode(&module(1), &body).unwrap(), module(2));
    assert!(body.len() < 1_000, "a delta of {} B", body.len());

    // Without dcz, with a dictionary the server never made a delta from, or
    // for a part of the file: brotli, as before, still naming the dictionary.
    let other = format!(
        ":{}:",
        base64::engine::general_purpose::STANDARD.encode(sha256(b"another build"))
    );
    for headers in [
        vec![
            ("accept-encoding", "gzip, br"),
            ("available-dictionary", held.as_str()),
        ],
        vec![
            ("accept-encoding", "br, dcz"),
            ("available-dictionary", other.as_str()),
        ],
        vec![("accept-encoding", "br, dcz")],
        vec![
            ("accept-encoding", "br, dcz"),
            ("available-dictionary", "garbage"),
        ],
    ] {
        let (status, got, body) = get_with(&router, "/pkg/khaosat.r2.wasm", &headers).await;
        assert_eq!(status, StatusCode::OK, "{headers:?}");
        assert_eq!(got[header::CONTENT_ENCODING], "br", "{headers:?}");
        assert_eq!(got["use-as-dictionary"], "match=\"/pkg/khaosat.*.wasm\"");
        let mut plain = Vec::new();
        brotli::BrotliDecompress(&mut body.as_slice(), &mut plain).unwrap();
        assert_eq!(plain, module(2));
    }
    let mut ranged = browser.to_vec();
    ranged.push(("range", "bytes=0-99"));
    let (status, got, _) = get_with(&router, "/pkg/khaosat.r2.wasm", &ranged).await;
    assert_ne!(
        got.get(header::CONTENT_ENCODING).map(|v| v.as_bytes()),
        Some(&b"dcz"[..])
    );
    assert!(status.is_success(), "{status}");

    // Files that are not hashed modules are not dictionaries; a missing one is a 404.
    let (_, got, _) = get_with(&router, "/pkg/khaosat.abc123.js", &browser).await;
    assert!(got.get("use-as-dictionary").is_none());
    let (status, got, _) = get_with(&router, "/pkg/khaosat.r1.wasm", &browser).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(got.get("use-as-dictionary").is_none());
}

crate::engine_tests!(
    hashed_bundles_are_served_precompressed_and_cached_for_a_year,
    a_file_without_its_brotli_copy_yet_is_gzipped_on_the_fly,
    pages_are_gzipped_for_browsers_that_accept_it,
    english_is_served_to_the_browser_on_demand,
    a_new_release_is_sent_as_a_delta_from_the_module_the_browser_holds
);
