use super::*;
use axum::http::HeaderMap;

/// A made-up module: mostly the same bytes release after release, with a
/// change in the middle, as a small code change does to a wasm file.
fn release(n: u8) -> Vec<u8> {
    let mut seed = 0x2545_f491_u32;
    let mut bytes: Vec<u8> = (0..200_000)
        .map(|_| {
            seed ^= seed << 13;
            seed ^= seed >> 17;
            seed ^= seed << 5;
            (seed >> 24) as u8
        })
        .collect();
    bytes[100_000..100_100].fill(n);
    bytes
}

fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
    let mut map = HeaderMap::new();
    for (k, v) in pairs {
        map.append(*k, v.parse().unwrap());
    }
    map
}

#[test]
fn stems_are_the_name_before_the_hash_of_a_hashed_wasm_file() {
    assert_eq!(stem("khaosat.3QOxEIotz1HbbLD9aMQBnA.wasm"), Some("khaosat"));
    assert_eq!(stem("chunk_13.upzq-B_x.wasm"), Some("chunk_13"));
    assert_eq!(
        stem("split_field_pages_1278629009099612020.n3lR.wasm"),
        Some("split_field_pages_1278629009099612020")
    );
    for not in [
        "khaosat.wasm",
        "khaosat.abc.js",
        "a.b.c.wasm",
        "../x.y.wasm",
        ".y.wasm",
        "x..wasm",
        "a/b.c.wasm",
    ] {
        assert_eq!(stem(not), None, "{not}");
    }
    assert_eq!(
        use_as_dictionary("chunk_13.abc.wasm").unwrap(),
        "match=\"/pkg/chunk_13.*.wasm\""
    );
}

#[test]
fn the_browsers_dictionary_and_dcz_are_read_from_its_headers() {
    use base64::Engine;
    let hash = sha256(b"old release");
    let b64 = base64::engine::general_purpose::STANDARD.encode(hash);
    let sf = format!(":{b64}:");
    assert_eq!(
        available_dictionary(&headers(&[("available-dictionary", &sf)])),
        Some(hash)
    );
    for bad in [b64.as_str(), ":not base64!:", ":AAAA:", "", "::"] {
        assert_eq!(
            available_dictionary(&headers(&[("available-dictionary", bad)])),
            None,
            "{bad}"
        );
    }
    assert_eq!(available_dictionary(&HeaderMap::new()), None);

    assert!(accepts_dcz(&headers(&[(
        "accept-encoding",
        "gzip, deflate, br, zstd, dcb, dcz"
    )])));
    assert!(accepts_dcz(&headers(&[
        ("accept-encoding", "br"),
        ("accept-encoding", "dcz;q=0.5")
    ])));
    assert!(!accepts_dcz(&headers(&[(
        "accept-encoding",
        "gzip, br, zstd"
    )])));
    assert!(!accepts_dcz(&headers(&[(
        "accept-encoding",
        "dcz;q=0, br"
    )])));
    assert!(!accepts_dcz(&headers(&[("accept-encoding", "dczz")])));
}

#[test]
fn a_delta_decodes_to_the_new_file_only_with_its_dictionary() {
    let (old, new) = (release(1), release(2));
    let body = dcz(&old, &new).unwrap();
    // RFC 9842: the skippable-frame header, then the dictionary's SHA-256.
    assert_eq!(&body[..8], &[0x5e, 0x2a, 0x4d, 0x18, 0x20, 0, 0, 0]);
    assert_eq!(&body[8..40], &sha256(&old));
    assert!(
        body.len() < 2_000,
        "a 100-byte change costs {} B",
        body.len()
    );
    assert_eq!(decode(&old, &body).unwrap(), new);
    assert!(
        decode(&release(3), &body).is_err(),
        "another dictionary is refused"
    );
    // A stream whose frame was damaged does not decode to the file.
    let mut damaged = body.clone();
    let last = damaged.len() - 5;
    damaged[last] ^= 0xff;
    assert_ne!(decode(&old, &damaged).ok(), Some(new));
}

#[test]
fn a_delta_too_large_for_a_browsers_window_is_not_made() {
    let big = vec![7u8; 5 << 20];
    let e = dcz(&big, &big).unwrap_err();
    assert!(e.contains("8 MB"), "{e}");
}

fn set_up(dir: &Path, files: &[(&str, &[u8])]) -> PathBuf {
    let pkg = dir.join("pkg");
    let _ = std::fs::remove_dir_all(&pkg);
    std::fs::create_dir_all(&pkg).unwrap();
    for (name, bytes) in files {
        std::fs::write(pkg.join(name), bytes).unwrap();
    }
    pkg
}

#[test]
fn each_start_remembers_its_release_and_makes_deltas_from_the_ones_before() {
    let dir = tempfile::tempdir().unwrap();
    let releases = dir.path().join("releases");
    let deltas = ReleaseDeltas::default();
    let unrelated = vec![9u8; 1000];

    // The first release: nothing to compare with.
    let pkg = set_up(
        dir.path(),
        &[
            ("khaosat.r1.wasm", &release(1)),
            ("chunk_2.a.wasm", &unrelated),
            ("khaosat.r1.js", b"js"),
        ],
    );
    assert_eq!(
        prepare(&pkg, &releases, &deltas).unwrap(),
        Prepared::default()
    );
    assert!(releases.join("khaosat.r1.wasm").exists());
    assert!(
        !releases.join("khaosat.r1.js").exists(),
        "only wasm files are kept"
    );

    // The second: a delta from the first, for the file of the same stem only.
    let pkg = set_up(
        dir.path(),
        &[
            ("khaosat.r2.wasm", &release(2)),
            ("chunk_2.a.wasm", &unrelated),
        ],
    );
    let report = prepare(&pkg, &releases, &deltas).unwrap();
    assert_eq!(report.deltas, 1);
    assert!(
        report.delta_bytes < 2_000 && report.brotli_bytes == 200_000,
        "{report:?}"
    );
    let body = deltas.get("khaosat.r2.wasm", &sha256(&release(1))).unwrap();
    assert_eq!(decode(&release(1), &body).unwrap(), release(2));
    assert!(deltas.get("khaosat.r2.wasm", &sha256(&unrelated)).is_none());
    assert!(
        deltas.get("chunk_2.a.wasm", &sha256(&unrelated)).is_none(),
        "no delta of a file from itself"
    );

    // A restart of the same release reads the deltas it made, and a third
    // and fourth release keep three releases of each stem.
    let made = std::fs::read_dir(releases.join("deltas")).unwrap().count();
    assert_eq!(prepare(&pkg, &releases, &deltas).unwrap(), report);
    assert_eq!(
        std::fs::read_dir(releases.join("deltas")).unwrap().count(),
        made
    );
    for n in [3u8, 4] {
        std::thread::sleep(std::time::Duration::from_millis(20));
        let pkg = set_up(dir.path(), &[(&format!("khaosat.r{n}.wasm"), &release(n))]);
        let report = prepare(&pkg, &releases, &deltas).unwrap();
        assert_eq!(report.deltas, 2, "release {n}: {report:?}");
    }
    assert!(
        !releases.join("khaosat.r1.wasm").exists(),
        "the oldest is forgotten"
    );
    for n in [2, 3, 4] {
        assert!(releases.join(format!("khaosat.r{n}.wasm")).exists());
    }
    assert!(deltas
        .get("khaosat.r4.wasm", &sha256(&release(2)))
        .is_some());
    assert!(deltas
        .get("khaosat.r4.wasm", &sha256(&release(1)))
        .is_none());
    assert!(
        deltas
            .get("khaosat.r3.wasm", &sha256(&release(2)))
            .is_none(),
        "the last release's deltas are gone"
    );
    assert_eq!(
        std::fs::read_dir(releases.join("deltas")).unwrap().count(),
        2
    );
}

#[test]
fn a_delta_no_smaller_than_brotli_is_not_served() {
    let dir = tempfile::tempdir().unwrap();
    let releases = dir.path().join("releases");
    let deltas = ReleaseDeltas::default();
    let pkg = set_up(dir.path(), &[("khaosat.r1.wasm", &release(1))]);
    prepare(&pkg, &releases, &deltas).unwrap();
    // Brotli already makes the new file tiny: a delta would not beat it.
    let pkg = set_up(
        dir.path(),
        &[
            ("khaosat.r2.wasm", &release(2)),
            ("khaosat.r2.wasm.br", b"tiny"),
        ],
    );
    assert_eq!(prepare(&pkg, &releases, &deltas).unwrap().deltas, 0);
    assert!(deltas
        .get("khaosat.r2.wasm", &sha256(&release(1)))
        .is_none());
}
