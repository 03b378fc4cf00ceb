//! Tests of `backup.rs`, kept beside it so the module reads as code.

use super::*;

#[test]
fn an_import_is_summed_up_by_what_happened_to_each_change() {
    use crate::sync::MutationResult::*;
    let id = uuid::Uuid::from_u128(1);
    let results = [
        Applied {
            seq: 1,
            mutation_id: id,
            lost: vec![],
            stamped: None,
        },
        Duplicate {
            seq: 2,
            mutation_id: id,
        },
        Duplicate {
            seq: 3,
            mutation_id: id,
        },
        Refused {
            seq: 4,
            mutation_id: id,
            error: ErrorBody::new("form.too_long", "x"),
        },
    ];
    assert_eq!(
        ImportCounts::of(&results),
        ImportCounts {
            applied: 1,
            duplicate: 2,
            refused: 1
        }
    );
}

#[test]
fn the_file_name_carries_the_user_and_vietnam_time() {
    // 2019-12-23T17:30:00Z is already 24/12 00:30 in Hà Nội.
    assert_eq!(
        file_name("lan.nguyen", 1_577_122_200_000),
        "khaosat-backup-lan.nguyen-2019-12-24-0030.zip"
    );
}

#[test]
fn the_file_name_keeps_vietnamese_letters_and_replaces_path_characters() {
    assert_eq!(
        file_name("nguyễn/../x y", 0),
        "khaosat-backup-nguyễn_.._x_y-1970-01-01-0700.zip"
    );
    assert_eq!(
        file_name("", 0),
        "khaosat-backup-unknown-1970-01-01-0700.zip"
    );
}

#[test]
fn only_a_file_opening_with_a_brace_goes_as_json() {
    assert!(super::sent_as_json(b"{\"format\": \"khaosat-outbox\"}"));
    assert!(super::sent_as_json(b"\xEF\xBB\xBF \n {"));
    for other in [
        &b"PK\x03\x04"[..],
        b"\x89PNG\r\n",
        b"",
        b"  ",
        b"[1, 2]",
        b"ma,ten",
    ] {
        assert!(!super::sent_as_json(other), "{other:?}");
    }
}

/// An outbox file cut short was sent, and the server's parse error came
/// back as "not a ZIP" (or, cut just after a `}`, "not a backup"); it is
/// damaged, and says so before any upload.
#[test]
fn a_json_backup_cut_short_or_broken_is_told_apart_from_a_whole_one() {
    let whole = "{\"format\": \"khaosat-outbox\",\n \"mutations\": [\n  {\"seq\": 4},\n  {\"seq\": 5}\n ]\n}\r\n ";
    assert!(super::whole_json(whole.as_bytes()));
    assert!(super::whole_json(format!("\u{feff}{whole}").as_bytes()));
    let after_brace = whole.find("{\"seq\": 4}").unwrap() + "{\"seq\": 4}".len();
    let broken = whole.replace("\"seq\": 5", "\"seq\" 5");
    for cut in [
        &whole[..after_brace],
        &whole[..20],
        "",
        "   ",
        broken.as_str(),
    ] {
        assert!(!super::whole_json(cut.as_bytes()), "{cut:?}");
    }
}

/// The browser's copy of the file is read a piece at a time, never whole;
/// pieces as small as one byte (a byte-order mark split across them too)
/// read the same as the file at once.
#[test]
fn a_json_backup_read_in_pieces_reads_as_a_whole() {
    struct Pieces<'a>(&'a [u8], usize);
    impl std::io::Read for Pieces<'_> {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            let n = self.1.min(buf.len()).min(self.0.len());
            buf[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }
    let whole = format!(
        "\u{feff}{{\"format\": \"khaosat-outbox\", \"mutations\": [{}]}}",
        "{\"seq\": 1},".repeat(20_000) + "{}"
    );
    let cut = &whole[..whole.len() - 1];
    for piece in [1, 2, 7, 4096, 1 << 20] {
        assert!(
            super::whole_json(Pieces(whole.as_bytes(), piece)),
            "pieces of {piece}"
        );
        assert!(
            !super::whole_json(Pieces(cut.as_bytes(), piece)),
            "cut, pieces of {piece}"
        );
    }
}
