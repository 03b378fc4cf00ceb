//! The one search fold, shared by the server's search columns and the phone's
//! local filter: decompose, drop combining marks, đ→d, lowercase. "Luc Ngan" finds
//! "Lục Ngạn", and NFC and NFD input fold to the same text.
//!
//! Vietnamese needs only Latin letters with marks, so instead of the full Unicode
//! decomposition tables (heavy in the wasm bundle) a compact table maps each
//! precomposed Latin letter to its base letter; combining marks (U+0300–U+036F)
//! are dropped, which covers decomposed (NFD) input.

const BASES: &[(char, char)] = &[
    ('à', 'a'),
    ('á', 'a'),
    ('â', 'a'),
    ('ã', 'a'),
    ('ä', 'a'),
    ('å', 'a'),
    ('ă', 'a'),
    ('ạ', 'a'),
    ('ả', 'a'),
    ('ấ', 'a'),
    ('ầ', 'a'),
    ('ẩ', 'a'),
    ('ẫ', 'a'),
    ('ậ', 'a'),
    ('ắ', 'a'),
    ('ằ', 'a'),
    ('ẳ', 'a'),
    ('ẵ', 'a'),
    ('ặ', 'a'),
    ('ç', 'c'),
    ('đ', 'd'),
    ('è', 'e'),
    ('é', 'e'),
    ('ê', 'e'),
    ('ë', 'e'),
    ('ẹ', 'e'),
    ('ẻ', 'e'),
    ('ẽ', 'e'),
    ('ế', 'e'),
    ('ề', 'e'),
    ('ể', 'e'),
    ('ễ', 'e'),
    ('ệ', 'e'),
    ('ì', 'i'),
    ('í', 'i'),
    ('î', 'i'),
    ('ï', 'i'),
    ('ĩ', 'i'),
    ('ỉ', 'i'),
    ('ị', 'i'),
    ('ñ', 'n'),
    ('ò', 'o'),
    ('ó', 'o'),
    ('ô', 'o'),
    ('õ', 'o'),
    ('ö', 'o'),
    ('ơ', 'o'),
    ('ọ', 'o'),
    ('ỏ', 'o'),
    ('ố', 'o'),
    ('ồ', 'o'),
    ('ổ', 'o'),
    ('ỗ', 'o'),
    ('ộ', 'o'),
    ('ớ', 'o'),
    ('ờ', 'o'),
    ('ở', 'o'),
    ('ỡ', 'o'),
    ('ợ', 'o'),
    ('ù', 'u'),
    ('ú', 'u'),
    ('û', 'u'),
    ('ü', 'u'),
    ('ũ', 'u'),
    ('ư', 'u'),
    ('ụ', 'u'),
    ('ủ', 'u'),
    ('ứ', 'u'),
    ('ừ', 'u'),
    ('ử', 'u'),
    ('ữ', 'u'),
    ('ự', 'u'),
    ('ý', 'y'),
    ('ÿ', 'y'),
    ('ỳ', 'y'),
    ('ỵ', 'y'),
    ('ỷ', 'y'),
    ('ỹ', 'y'),
];

fn base(c: char) -> Option<char> {
    BASES.iter().find(|(k, _)| *k == c).map(|(_, b)| *b)
}

pub fn fold(input: &str) -> String {
    let mut out = String::with_capacity(input.len());
    for c in input.chars() {
        if ('\u{0300}'..='\u{036F}').contains(&c) {
            continue;
        }
        for lower in c.to_lowercase() {
            out.push(base(lower).unwrap_or(lower));
        }
    }
    out
}

/// Whether every word of the query occurs in the folded text.
pub fn matches(haystack_folded: &str, query: &str) -> bool {
    fold(query)
        .split_whitespace()
        .all(|word| haystack_folded.contains(word))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn luc_ngan_finds_luc_ngan_with_marks() {
        assert_eq!(fold("Lục Ngạn"), "luc ngan");
        assert!(matches(&fold("huyện Lục Ngạn"), "Luc Ngan"));
        assert_eq!(fold("Sơn Động"), "son dong");
        assert_eq!(fold("ĐẮK"), "dak");
    }

    #[test]
    fn nfc_and_nfd_fold_alike() {
        let nfd = "Lu\u{0323}c Nga\u{0323}n";
        assert_eq!(fold(nfd), fold("Lục Ngạn"));
    }
}
