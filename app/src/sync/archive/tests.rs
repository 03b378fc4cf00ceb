//! Tests of the archive's writer and reader, kept beside them.

use super::*;
use crate::sync::{Entity, Hlc, MutationKind};

fn mutation(seq: i64) -> Mutation {
    Mutation {
        seq,
        mutation_id: uuid::Uuid::from_u128(seq as u128),
        kind: MutationKind::Upsert,
        entity: Entity::Visit,
        record_id: uuid::Uuid::from_u128(77),
        fields: [(
            "main_products".to_string(),
            serde_json::json!(format!("Nồi hơi {seq}")),
        )]
        .into(),
        hlc: Hlc::new(1_700_000_000_000, seq as u32),
        base_version: 0,
    }
}

/// An archive of `entries` one-byte photo files whose manifest lists `listed`
/// photos (the first `entries` of them real).
fn many_photos(entries: usize, listed: usize) -> Vec<u8> {
    let names: Vec<String> = (0..entries)
        .map(|i| format!("photos/{i:064}.jpg"))
        .collect();
    let data = [7u8];
    let files: Vec<(&str, &[u8])> = names.iter().map(|n| (n.as_str(), &data[..])).collect();
    let mut m = manifest(0);
    m.photos = (0..listed)
        .map(|i| PhotoEntry {
            sha256: format!("{:064}", i % entries.max(1)),
            path: format!("photos/{:064}.jpg", i % entries.max(1)),
            size: 1,
        })
        .collect();
    write_archive_with_photos(&m, &[], &files)
}

#[test]
fn many_entries_are_found_by_name_and_the_caps_hold() {
    // Within the caps: every listed photo is found (by hash, not by scan).
    let fine = many_photos(MAX_ENTRIES - 2, MAX_ENTRIES - 2);
    let archive = Archive::open(&fine).unwrap();
    assert_eq!(archive.photos().unwrap().len(), MAX_ENTRIES - 2);
    // More files than any phone's backup: refused before reading them.
    let crowded = many_photos(MAX_ENTRIES, 0);
    assert!(matches!(
        Archive::open(&crowded).err(),
        Some(ArchiveError::NotAnArchive(m)) if m.contains("more than a phone's backup")
    ));
    // A manifest listing more photos than the archive holds files.
    let inflated = many_photos(10, 60_000);
    assert!(matches!(
        Archive::open(&inflated).err(),
        Some(ArchiveError::Damaged(m)) if m.contains("lists 60000 photos")
    ));
}

#[test]
fn a_name_that_appears_twice_is_refused() {
    let data = [1u8];
    let twice = write_archive_with_photos(
        &manifest(0),
        &[],
        &[("photos/a.jpg", &data[..]), ("photos/a.jpg", &data[..])],
    );
    assert!(matches!(
        Archive::open(&twice).err(),
        Some(ArchiveError::Damaged(m)) if m.contains("appears twice")
    ));
}

fn manifest(n: u64) -> Manifest {
    Manifest {
        format: ARCHIVE_FORMAT.into(),
        version: ARCHIVE_VERSION,
        schema_version: crate::sync::MUTATION_SCHEMA_VERSION,
        device_id: uuid::Uuid::from_u128(42),
        username: Some("ksv1".into()),
        exported_at_ms: Some(5),
        mutations: n,
        first_seq: Some(1),
        last_seq: Some(n as i64),
        photos: vec![],
    }
}

#[test]
fn an_archive_reads_back_as_the_export_it_was_made_from() {
    let mutations: Vec<Mutation> = (1..=3).map(mutation).collect();
    let bytes = write_archive(&manifest(3), &mutations);
    assert!(looks_like_zip(&bytes));
    let file = read_export(&bytes).unwrap();
    assert_eq!(file.mutations, mutations);
    assert_eq!(file.device_id, uuid::Uuid::from_u128(42));
    assert_eq!(file.format, crate::sync::EXPORT_FORMAT);
    let names: Vec<String> = read_entries(&bytes)
        .unwrap()
        .into_iter()
        .map(|(n, _)| n)
        .collect();
    assert_eq!(names, [MUTATIONS, MANIFEST]);
}

/// The server reads an upload from the file it spooled it into: the same
/// entries and photos as from memory, and a directory claiming more bytes
/// than the file holds is refused before anything that size is allocated.
#[cfg(all(feature = "ssr", unix))]
#[test]
fn a_spooled_file_reads_as_the_bytes_it_holds() {
    use std::io::Write;
    let m = {
        let mut m = manifest(2);
        m.photos = vec![PhotoEntry {
            sha256: "a".repeat(64),
            path: "photos/a.jpg".into(),
            size: 3,
        }];
        m
    };
    let bytes =
        write_archive_with_photos(&m, &[mutation(1), mutation(2)], &[("photos/a.jpg", b"JPG")]);
    let mut file = tempfile::tempfile().unwrap();
    file.write_all(&bytes).unwrap();
    let archive = Archive::open(&file).unwrap();
    assert_eq!(archive.export().unwrap(), read_export(&bytes).unwrap());
    let photos = archive.photos().unwrap();
    assert_eq!(photos.len(), 1);
    assert_eq!(&*archive.read(&photos[0].1).unwrap(), b"JPG");
    // The photo entry's size set to 4 GB, CRC and all left as they were.
    let mut lying = bytes.clone();
    let cd = lying.windows(4).rposition(|w| w == b"PK\x01\x02").unwrap();
    let at = (0..cd + 1)
        .rev()
        .find(|&i| lying[i..].starts_with(b"PK\x01\x02") && lying[i + 46..].starts_with(b"photos/"))
        .unwrap();
    for off in [20, 24] {
        lying[at + off..at + off + 4].copy_from_slice(&u32::MAX.to_le_bytes());
    }
    let mut file = tempfile::tempfile().unwrap();
    file.write_all(&lying).unwrap();
    assert!(matches!(
        Archive::open(&file).err(),
        Some(ArchiveError::Damaged(m)) if m.contains("cut short")
    ));
}

#[test]
fn a_damaged_or_foreign_archive_is_refused_with_the_reason() {
    let bytes = write_archive(&manifest(2), &[mutation(1), mutation(2)]);
    // One byte of the data flipped: the checksum catches it.
    let mut flipped = bytes.clone();
    flipped[60] ^= 0x20;
    assert!(
        matches!(read_export(&flipped), Err(ArchiveError::Damaged(m)) if m.contains("checksum"))
    );
    let mut renamed = bytes.clone();
    renamed[40] ^= 0x20;
    assert!(
        matches!(read_export(&renamed), Err(ArchiveError::Damaged(m)) if m.contains("names another"))
    );
    // Cut short: damaged (a copy not made whole), not "not a backup".
    let cut = read_export(&bytes[..bytes.len() / 2]).unwrap_err();
    assert!(matches!(&cut, ArchiveError::Damaged(m) if m.contains("ends early")));
    assert_eq!(cut.reason(), "damaged");
    // Compressed again (unzipped and zipped, or by a chat app): said so.
    let mut deflated = bytes.clone();
    let cd = (0..deflated.len() - 4)
        .find(|&i| deflated[i..i + 4] == [0x50, 0x4b, 0x01, 0x02])
        .unwrap();
    deflated[cd + 10] = 8;
    let again = read_export(&deflated).unwrap_err();
    assert!(matches!(&again, ArchiveError::Recompressed(m) if m.contains("method 8")));
    assert_eq!(again.reason(), "recompressed");
    // A count that does not match.
    let wrong = write_archive(&manifest(5), &[mutation(1)]);
    assert!(matches!(read_export(&wrong), Err(ArchiveError::Damaged(m)) if m.contains("counts 5")));
    // From a newer app.
    let mut newer = manifest(0);
    newer.version = ARCHIVE_VERSION + 1;
    assert_eq!(
        read_export(&write_archive(&newer, &[])),
        Err(ArchiveError::TooNew(ARCHIVE_VERSION + 1))
    );
    assert!(matches!(
        read_export(b"not a zip at all"),
        Err(ArchiveError::NotAnArchive(_))
    ));
}

#[test]
fn pieces_written_page_by_page_make_the_same_archive() {
    let mutations: Vec<Mutation> = (1..=5).map(mutation).collect();
    let pages: Vec<Vec<u8>> = mutations.chunks(2).map(ndjson_lines).collect();
    let mut data = EntryBuilder::default();
    for p in &pages {
        data.update(p);
    }
    let (crc, size) = data.finish();
    let mut zip = ZipPieces::default();
    let mut out = zip.header(MUTATIONS, crc, size).unwrap();
    for p in &pages {
        out.extend(p);
    }
    let m = serde_json::to_vec_pretty(&manifest(5)).unwrap();
    out.extend(
        zip.header(MANIFEST, crc32fast::hash(&m), m.len() as u64)
            .unwrap(),
    );
    out.extend(&m);
    out.extend(zip.finish());
    assert_eq!(out, write_archive(&manifest(5), &mutations));
}
