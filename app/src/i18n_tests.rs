//! The language cookie, error sentences and both locales' keys.

use super::*;

#[test]
fn the_language_cookie_is_found_among_others() {
    assert_eq!(lang_in_cookies("khaosat_lang=en"), Some(Lang::En));
    assert_eq!(
        lang_in_cookies("khaosat_session=abc; khaosat_lang=vi; x=1"),
        Some(Lang::Vi)
    );
    assert_eq!(lang_in_cookies("khaosat_session=abc"), None);
    assert_eq!(lang_in_cookies("xkhaosat_lang=en"), None);
    assert_eq!(lang_in_cookies(""), None);
}

/// A send-back on a visit another tab had just approved said only that
/// the visit "cannot move to that state": not which, nor what to do.
#[test]
fn a_refused_review_step_names_both_states_in_the_readers_words() {
    let body = crate::error::ErrorBody::new("review.bad_transition", "x")
        .with("from", "approved")
        .with("to", "needs_changes");
    let vi = error_text(Lang::Vi, &body);
    assert!(
        vi.contains("“Đã duyệt”") && vi.contains("“Cần bổ sung”"),
        "{vi}"
    );
    assert!(vi.contains("tải lại trang"), "{vi}");
    let en = error_text(Lang::En, &body);
    assert!(
        en.contains("“Approved”") && en.contains("“Needs changes”"),
        "{en}"
    );
}

fn keys(lang: Lang) -> std::collections::BTreeSet<String> {
    table(lang).expect("compiled in").keys().cloned().collect()
}

#[test]
fn both_locales_have_the_same_keys() {
    let vi = keys(Lang::Vi);
    let en = keys(Lang::En);
    let missing_en: Vec<_> = vi.difference(&en).collect();
    let missing_vi: Vec<_> = en.difference(&vi).collect();
    assert!(missing_en.is_empty(), "missing in en.json: {missing_en:?}");
    assert!(missing_vi.is_empty(), "missing in vi.json: {missing_vi:?}");
}

#[test]
fn a_reason_with_a_sentence_of_its_own_keeps_english_detail_out() {
    let detail = "the archive is damaged: mutations.ndjson line 3: EOF";
    let body = crate::error::ErrorBody::new("import.bad_archive", detail)
        .with("detail", detail)
        .with("reason", "damaged");
    let vi = error_text(Lang::Vi, &body);
    assert_eq!(vi, t(Lang::Vi, "errors.import.bad_archive_damaged"));
    assert!(!vi.contains("mutations.ndjson"), "{vi}");
    let newer = crate::error::ErrorBody::new("import.bad_archive", "x")
        .with("reason", "too_new")
        .with("version", 3);
    assert!(error_text(Lang::Vi, &newer).contains("định dạng số 3"));
    // Every reason the server gives has its sentence in both languages.
    use crate::sync::archive::ArchiveError;
    let reasons = [
        ArchiveError::NotAnArchive(String::new()).reason(),
        ArchiveError::Damaged(String::new()).reason(),
        ArchiveError::TooNew(2).reason(),
        ArchiveError::Recompressed(String::new()).reason(),
        crate::sync::archive::NOT_ZIP,
        crate::sync::archive::NOT_BACKUP,
    ];
    for reason in reasons {
        let key = format!("errors.import.bad_archive_{reason}");
        assert!(has(Lang::Vi, &key) && has(Lang::En, &key), "{key}");
    }
    // A reason without a sentence keeps the general one, detail and all.
    let odd = body.clone().with("reason", "no_such_reason");
    assert!(error_text(Lang::En, &odd).contains("mutations.ndjson"));
}

#[test]
fn vietnamese_text_has_its_diacritics() {
    assert_eq!(t(Lang::Vi, "login.submit"), "Đăng nhập");
}

#[test]
fn error_text_fills_params() {
    let body = crate::error::ErrorBody::new("sync.seq_gap", "x").with("expected", 4);
    assert!(error_text(Lang::Vi, &body).contains('4'));
    let unknown = crate::error::ErrorBody::new("no.such.code", "x");
    assert_eq!(
        error_text(Lang::En, &unknown.clone().with("reason", "damaged")),
        t(Lang::En, "errors.unknown")
    );
    assert_eq!(
        error_text(Lang::En, &unknown),
        t(Lang::En, "errors.unknown")
    );
}

/// The office's text is in its own files, but the server renders every page:
/// its tables hold both.
#[cfg(not(feature = "hydrate"))]
#[test]
fn the_server_reads_the_office_text_with_the_fields() {
    assert_eq!(t(Lang::Vi, "review.link"), "Phiếu khảo sát");
    assert_eq!(t(Lang::Vi, "review.title"), "Phiếu khảo sát đã nhận");
    assert_eq!(t(Lang::En, "review.title"), "Survey visits received");
    let body = crate::error::ErrorBody::new("export.too_many", "x");
    assert_ne!(error_text(Lang::Vi, &body), t(Lang::Vi, "errors.unknown"));
    assert_ne!(error_text(Lang::En, &body), t(Lang::En, "errors.unknown"));
}

/// A backup import or a password change that found no server was told
/// "Dữ liệu được giữ trên máy và sẽ gửi khi có mạng", yet neither is queued:
/// their bodies carry reason `not_kept`, whose sentence promises nothing.
#[test]
fn a_request_that_is_not_queued_does_not_promise_to_send_later() {
    let queued = crate::error::ErrorBody::new("network.unreachable", "x");
    assert!(error_text(Lang::Vi, &queued).contains("sẽ gửi khi có mạng"));
    let not_kept = queued.clone().with("reason", "not_kept");
    for lang in [Lang::Vi, Lang::En] {
        let text = error_text(lang, &not_kept);
        assert_ne!(text, error_text(lang, &queued));
        assert!(
            !text.contains("sẽ gửi khi có mạng") && !text.contains("is sent when"),
            "{text}"
        );
    }
    assert!(error_text(Lang::Vi, &not_kept).contains("không được giữ lại"));
}

/// Every key written out in a `tr("…")` call is in the locales: a missing
/// one shows the key itself on the screen (the registry once said "loading").
#[test]
fn every_key_the_code_names_is_translated() {
    fn sources(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                sources(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }
    let mut files = Vec::new();
    sources(
        &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
        &mut files,
    );
    let known = keys(Lang::Vi);
    let mut missing = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        for (at, _) in text.match_indices("tr(\"") {
            // `tr(` itself, not the end of another name (`attr(`, `str(`).
            let before = text[..at].chars().next_back();
            if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
                continue;
            }
            let rest = &text[at + 4..];
            let Some(end) = rest.find('"') else { continue };
            let key = &rest[..end];
            let literal = key
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '.');
            if literal && !key.is_empty() && !key.ends_with('.') && !known.contains(key) {
                missing.push(format!("{}: {key}", file.display()));
            }
        }
    }
    assert!(missing.is_empty(), "keys not in the locales: {missing:#?}");
}
