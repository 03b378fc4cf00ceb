//! Vietnamese alphabetical order, as a byte key: word by word, the order of
//! the alphabet (a ă â b c d đ e ê … o ô ơ … u ư …) first, then the tones in
//! dictionary order (ngang, huyền, hỏi, ngã, sắc, nặng); case last. So
//! "Dũng" comes before "Đông", "Ba" before "Bà" before "Bá", "Bắc" after
//! every "Ba…", and "Hà Nam" before "Hạ Long", as in a dictionary or a phone
//! book. (ICU's Vietnamese order weighs tones only after every letter of the
//! whole text, which puts "Hạ Long" first.)
//!
//! The search fold (`search::fold`) is for finding, not ordering: it reads "Đ"
//! as "D" and drops tones, which is right for a query typed without marks and
//! wrong for a list a Vietnamese reader scans. Precomposed (NFC) and
//! decomposed (NFD) text give the same key.

/// Vowels with their five tone marks, toneless first, in dictionary order of
/// tones: each row's first letter names its place in the alphabet.
const TONED: [&str; 12] = [
    "aàảãáạ",
    "ăằẳẵắặ",
    "âầẩẫấậ",
    "eèẻẽéẹ",
    "êềểễếệ",
    "iìỉĩíị",
    "oòỏõóọ",
    "ôồổỗốộ",
    "ơờởỡớợ",
    "uùủũúụ",
    "ưừửữứự",
    "yỳỷỹýỵ",
];

/// The Vietnamese alphabet, with the Latin letters it lacks (f j w z) where
/// Latin puts them, for names and words from other languages.
const ALPHABET: &str = "aăâbcdđeêfghijklmnoôơpqrstuưvwxyz";

const SPACE: u8 = 1;
const PUNCTUATION: u8 = 2;
const DIGIT_0: u8 = 3;
const LETTER_A: u8 = 20;
const UNKNOWN: u8 = 255;

/// One letter as the key reads it.
struct Unit {
    rank: u8,
    tone: u8,
    upper: bool,
}

fn rank_of(letter: char) -> u8 {
    ALPHABET
        .chars()
        .position(|c| c == letter)
        .map_or(UNKNOWN, |i| LETTER_A + i as u8)
}

fn letter(c: char) -> Unit {
    let lower = c.to_lowercase().next().unwrap_or(c);
    let upper = lower != c;
    for row in TONED {
        if let Some(tone) = row.chars().position(|t| t == lower) {
            let base = row.chars().next().unwrap_or(lower);
            return Unit {
                rank: rank_of(base),
                tone: tone as u8,
                upper,
            };
        }
    }
    let rank = match lower {
        ' ' | '\t' | '\n' => SPACE,
        '0'..='9' => DIGIT_0 + (lower as u8 - b'0'),
        c if ALPHABET.contains(c) => rank_of(c),
        // Other Latin letters with marks (é, ü, ñ, ç) sort with their base.
        c if c.is_alphabetic() => match crate::search::fold(&c.to_string()).chars().next() {
            Some(b) if b != c && ALPHABET.contains(b) => rank_of(b),
            _ => UNKNOWN,
        },
        _ => PUNCTUATION,
    };
    Unit {
        rank,
        tone: 0,
        upper,
    }
}

/// A combining mark applied to the letter before it (decomposed input).
fn combine(unit: &mut Unit, mark: char) {
    let tone = match mark {
        '\u{0300}' => Some(1),
        '\u{0309}' => Some(2),
        '\u{0303}' => Some(3),
        '\u{0301}' => Some(4),
        '\u{0323}' => Some(5),
        _ => None,
    };
    if let Some(tone) = tone {
        unit.tone = tone;
        return;
    }
    let letter = ALPHABET
        .chars()
        .nth(unit.rank.wrapping_sub(LETTER_A) as usize);
    let changed = match (letter, mark) {
        (Some('a'), '\u{0306}') => 'ă',
        (Some('a'), '\u{0302}') => 'â',
        (Some('e'), '\u{0302}') => 'ê',
        (Some('o'), '\u{0302}') => 'ô',
        (Some('o'), '\u{031B}') => 'ơ',
        (Some('u'), '\u{031B}') => 'ư',
        _ => return,
    };
    unit.rank = rank_of(changed);
}

/// The key whose byte order is Vietnamese alphabetical order of `text`.
/// Distinct texts never get equal keys: the text itself breaks the last tie.
pub fn key(text: &str) -> Vec<u8> {
    let mut units: Vec<Unit> = Vec::with_capacity(text.len());
    for c in text.trim().chars() {
        if ('\u{0300}'..='\u{036F}').contains(&c) {
            if let Some(last) = units.last_mut() {
                combine(last, c);
            }
            continue;
        }
        units.push(letter(c));
    }
    // Word by word, as a dictionary or a phone book reads: each word's
    // letters, then its tones, before the next word ("Hà Nam" before
    // "Hạ Long"). A 0 ends each part, below every letter, so a shorter word
    // comes first ("an ninh" before "anh").
    let mut out = Vec::with_capacity(units.len() * 3 + text.len() + 3);
    for word in units.split(|u| u.rank == SPACE).filter(|w| !w.is_empty()) {
        out.extend(word.iter().map(|u| u.rank));
        out.push(0);
        out.extend(word.iter().map(|u| u.tone + 1));
        out.push(0);
    }
    out.push(0);
    out.extend(
        units
            .iter()
            .filter(|u| u.rank != SPACE)
            .map(|u| u8::from(u.upper) + 1),
    );
    out.push(0);
    out.extend(text.as_bytes());
    out
}

#[cfg(test)]
mod tests {
    use super::key;

    fn sorted(words: &[&str]) -> Vec<String> {
        let mut out: Vec<String> = words.iter().map(|w| w.to_string()).collect();
        out.sort_by_cached_key(|w| key(w));
        out
    }

    #[test]
    fn d_and_d_with_stroke_are_two_letters() {
        assert_eq!(
            sorted(&[
                "Đông Hưng",
                "Dũng",
                "Đa Mai",
                "dệt vải",
                "Xây lò",
                "Bắc Giang"
            ]),
            [
                "Bắc Giang",
                "dệt vải",
                "Dũng",
                "Đa Mai",
                "Đông Hưng",
                "Xây lò"
            ]
        );
    }

    #[test]
    fn letters_with_marks_follow_their_base_letter() {
        assert_eq!(
            sorted(&["ơi", "ôm", "oán", "ưa", "ua", "ăn", "ấm", "an"]),
            ["an", "ăn", "ấm", "oán", "ôm", "ơi", "ua", "ưa"]
        );
        // Every "Ba…" word before "Bắc": ă is a letter after a, not a tone.
        assert_eq!(sorted(&["Bắc", "Bay", "Bà"]), ["Bà", "Bay", "Bắc"]);
    }

    #[test]
    fn tones_break_ties_in_dictionary_order() {
        assert_eq!(
            sorted(&["má", "mạ", "mả", "ma", "mã", "mà"]),
            ["ma", "mà", "mả", "mã", "má", "mạ"]
        );
        // The tone decides only when the letters are the same.
        assert_eq!(sorted(&["mạ", "mai"]), ["mạ", "mai"]);
        // Word by word: the first word's tone before the second word.
        assert_eq!(
            sorted(&["Hạ Long", "Hà Nam", "Hạ Sơn", "Hà Phát"]),
            ["Hà Nam", "Hà Phát", "Hạ Long", "Hạ Sơn"]
        );
    }

    #[test]
    fn words_sort_word_by_word_and_case_only_breaks_ties() {
        assert_eq!(sorted(&["anh", "an ninh"]), ["an ninh", "anh"]);
        assert_eq!(sorted(&["lò", "Lò", "Lo"]), ["Lo", "lò", "Lò"]);
        assert_eq!(
            sorted(&["10 Tân", "2 Tân", "Tân"]),
            ["10 Tân", "2 Tân", "Tân"]
        );
    }

    #[test]
    fn decomposed_text_orders_like_precomposed() {
        let nfd = "Lu\u{0323}c Nga\u{0323}n";
        let nfc = "Lục Ngạn";
        assert_eq!(
            key(nfd)[..key(nfc).len() - nfc.len()],
            key(nfc)[..key(nfc).len() - nfc.len()]
        );
        // o + horn + acute: ớ
        assert_eq!(
            sorted(&["o\u{031B}\u{0301}t", "ôt", "ot"]),
            ["ot", "ôt", "o\u{031B}\u{0301}t"]
        );
    }

    #[test]
    fn different_texts_never_tie() {
        assert_ne!(key("Tân Yên"), key("Tân  Yên"));
        assert_ne!(key("a-b"), key("a/b"));
    }
}
