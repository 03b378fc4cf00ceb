//! The rules of the domain that hold no SQL: what a username, a phone number,
//! a password and a display name may be. Each is a type made only by `parse`,
//! so code that holds one knows it was checked. Shared by the server (which
//! enforces them) and the browser (which shows the same limits in its hints).

use crate::error::{AppError, ErrorBody};

/// The shortest password accepted.
pub const MIN_PASSWORD_LEN: usize = 10;
/// Longest password accepted: argon2 would take any length, but nobody types more.
pub const MAX_PASSWORD_LEN: usize = 256;
pub const MAX_USERNAME_LEN: usize = 64;
pub const MAX_DISPLAY_NAME_LEN: usize = 200;

/// A username in its one spelling: trimmed, NFC, lower case, and made of
/// letters (any script), digits and `. _ - @` only, so it is safe in a URL, a
/// file name and a log line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Username(String);

impl Username {
    /// The one spelling of what a person typed: "Nguyễn" from a phone that
    /// sends NFD is the same account as the NFC one. Not checked.
    #[cfg(feature = "ssr")]
    pub fn normalize(raw: &str) -> String {
        use unicode_normalization::UnicodeNormalization;
        raw.trim().nfc().collect::<String>().to_lowercase()
    }

    #[cfg(feature = "ssr")]
    pub fn parse(raw: &str) -> Result<Username, AppError> {
        let username = Self::normalize(raw);
        let len = username.chars().count();
        let ok_chars = username
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '.' | '_' | '-' | '@'));
        if len == 0 || len > MAX_USERNAME_LEN || !ok_chars {
            return Err(AppError::Invalid(
                ErrorBody::new(
                    "user.bad_username",
                    format!("a username is 1 to {MAX_USERNAME_LEN} letters, digits or . _ - @"),
                )
                .with("max", MAX_USERNAME_LEN),
            ));
        }
        Ok(Username(username))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

/// A Vietnamese phone number in its national form ("0912345678").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Phone(String);

impl Phone {
    /// From what a person types: spaces, dots, dashes, parentheses and a +84
    /// or 84 prefix are accepted; 10 or 11 digits starting with 0 remain.
    pub fn parse(raw: &str) -> Option<Phone> {
        let compact: String = raw
            .chars()
            .filter(|c| !matches!(c, ' ' | '.' | '-' | '(' | ')'))
            .collect();
        let national = if let Some(rest) = compact.strip_prefix("+84") {
            format!("0{rest}")
        } else if compact.len() == 11 && compact.starts_with("84") {
            format!("0{}", &compact[2..])
        } else {
            compact
        };
        let digits = national.chars().all(|c| c.is_ascii_digit());
        (digits && national.starts_with('0') && (10..=11).contains(&national.len()))
            .then_some(Phone(national))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }

    /// Whether a facility's phone, as a phone's mutation carries it, may be
    /// stored. Wider than `parse` on purpose: field apps before this rule
    /// accepted 8 to 15 digits with `+ . - ( )` and spaces, and a facility
    /// queued on such a phone must still apply after the update, not be
    /// refused whole for its phone. What people type today goes through
    /// `parse`.
    pub fn accepts_as_sent(raw: &str) -> bool {
        let digits = raw.chars().filter(char::is_ascii_digit).count();
        (8..=15).contains(&digits)
            && raw
                .chars()
                .all(|c| c.is_ascii_digit() || " +.-()".contains(c))
    }
}

/// A password of an acceptable length (the only rule: length beats
/// composition rules, and a passphrase in Vietnamese is welcome).
pub struct Password;

impl Password {
    pub fn check(password: &str) -> Result<(), AppError> {
        let len = password.chars().count();
        if len < MIN_PASSWORD_LEN {
            return Err(AppError::Invalid(
                ErrorBody::new(
                    "user.password_too_short",
                    format!("a password must be at least {MIN_PASSWORD_LEN} characters"),
                )
                .with("min", MIN_PASSWORD_LEN),
            ));
        }
        if len > MAX_PASSWORD_LEN {
            return Err(AppError::Invalid(
                ErrorBody::new(
                    "user.password_too_long",
                    format!("a password must be at most {MAX_PASSWORD_LEN} characters"),
                )
                .with("max", MAX_PASSWORD_LEN),
            ));
        }
        Ok(())
    }
}

/// A person's name as accounts show it: trimmed, 1 to 200 characters, no
/// control characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DisplayName(String);

impl DisplayName {
    pub fn parse(raw: &str) -> Result<DisplayName, AppError> {
        let name = raw.trim();
        let len = name.chars().count();
        if len == 0 || len > MAX_DISPLAY_NAME_LEN || name.chars().any(char::is_control) {
            return Err(AppError::Invalid(
                ErrorBody::new(
                    "user.bad_display_name",
                    format!("a display name is 1 to {MAX_DISPLAY_NAME_LEN} characters"),
                )
                .with("max", MAX_DISPLAY_NAME_LEN),
            ));
        }
        Ok(DisplayName(name.to_string()))
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

/// Whether text shows nothing: only spaces, Unicode's default-ignorable
/// characters (zero-width space and joiners, the byte-order mark, word
/// joiner, soft hyphen, direction marks, variation selectors, Hangul and
/// Mongolian fillers, tags), the blank Braille pattern, and lone combining
/// marks. A name or a comment made of them passed a `trim().is_empty()`
/// check and showed as an empty line.
pub fn shows_nothing(text: &str) -> bool {
    text.chars().all(|c| {
        c.is_whitespace()
            || matches!(
                c,
                // Default_Ignorable_Code_Point (DerivedCoreProperties.txt).
                '\u{00AD}'
                    | '\u{034F}'
                    | '\u{061C}'
                    | '\u{115F}'..='\u{1160}'
                    | '\u{17B4}'..='\u{17B5}'
                    | '\u{180B}'..='\u{180F}'
                    | '\u{200B}'..='\u{200F}'
                    | '\u{202A}'..='\u{202E}'
                    | '\u{2060}'..='\u{206F}'
                    | '\u{3164}'
                    | '\u{FE00}'..='\u{FE0F}'
                    | '\u{FEFF}'
                    | '\u{FFA0}'
                    | '\u{FFF0}'..='\u{FFF8}'
                    | '\u{1BCA0}'..='\u{1BCA3}'
                    | '\u{1D173}'..='\u{1D17A}'
                    | '\u{E0000}'..='\u{E0FFF}'
                    // Prints as a blank cell; combining marks with nothing
                    // to sit on.
                    | '\u{2800}'
                    | '\u{0300}'..='\u{036F}'
                    | '\u{1AB0}'..='\u{1AFF}'
                    | '\u{1DC0}'..='\u{1DFF}'
                    | '\u{20D0}'..='\u{20FF}'
                    | '\u{FE20}'..='\u{FE2F}'
            )
    })
}

#[cfg(test)]
mod tests {

    #[test]
    fn text_of_invisible_characters_shows_nothing() {
        for blank in [
            "",
            "   ",
            "\u{a0}",
            "\u{200B}",
            "\u{200C}\u{200D}",
            "\u{FEFF}",
            "\u{2060}",
            "\u{00AD}",
            "\u{200E}\u{200F}",
            "\u{3164}",
            "\u{0301}",
            " \u{200B} ",
            "\u{2800}",
            "\u{E0020}",
            "\u{E0100}",
            "\u{180B}",
            "\u{17B4}",
            "\u{1D175}",
        ] {
            assert!(super::shows_nothing(blank), "{blank:?}");
        }
        for seen in [
            "A",
            "Lò gạch",
            "\u{0301}a",
            "é",
            "0",
            "木",
            "ก",
            "ក",
            "👨\u{200D}🔧",
            "क्\u{200D}ष",
        ] {
            assert!(!super::shows_nothing(seen), "{seen:?}");
        }
    }
    use super::*;

    fn code(e: AppError) -> String {
        match e {
            AppError::Invalid(b) => b.code,
            other => panic!("not a refusal: {other:?}"),
        }
    }

    #[cfg(feature = "ssr")]
    #[test]
    fn a_username_has_one_spelling() {
        let nfd = "Nguye\u{302}\u{303}n.van";
        assert_eq!(Username::parse(nfd).unwrap().as_str(), "nguyễn.van");
        assert_eq!(Username::parse("  KSV1 ").unwrap().as_str(), "ksv1");
        for bad in ["", "a b", "a/b", "x".repeat(65).as_str(), "o'neil"] {
            assert_eq!(
                code(Username::parse(bad).unwrap_err()),
                "user.bad_username",
                "{bad:?}"
            );
        }
    }

    #[test]
    fn a_phone_is_read_as_people_type_it() {
        for typed in [
            "0912 345 678",
            "0912.345.678",
            "+84 912 345 678",
            "84912345678",
            "(0204) 3854 123",
        ] {
            assert!(Phone::parse(typed).is_some(), "{typed}");
        }
        assert_eq!(
            Phone::parse("+84 912 345 678").unwrap().as_str(),
            "0912345678"
        );
        for bad in ["12345", "0912-345-67a", "912345678", "091234567890"] {
            assert!(Phone::parse(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn a_phone_sent_by_an_older_field_app_is_still_accepted() {
        // Everything `parse` accepts, a mutation may carry.
        for typed in ["0912 345 678", "+84 912 345 678", "(0204) 3854 123"] {
            assert!(Phone::accepts_as_sent(typed), "{typed}");
        }
        // What older field apps let through, and `parse` now refuses.
        for old in ["3855 1234", "+1 (555) 010-0199"] {
            assert!(Phone::parse(old).is_none(), "{old}");
            assert!(Phone::accepts_as_sent(old), "{old}");
        }
        for bad in ["gọi tôi", "1234567", "0912abc678", "1234567890123456"] {
            assert!(!Phone::accepts_as_sent(bad), "{bad}");
        }
    }

    #[test]
    fn a_password_is_judged_by_its_length_in_characters() {
        assert_eq!(
            code(Password::check("ngắn-quá").unwrap_err()),
            "user.password_too_short"
        );
        // Ten characters, more bytes: Vietnamese letters count once.
        assert!(Password::check("mật-khẩu-ổn").is_ok());
        assert_eq!(
            code(Password::check(&"a".repeat(257)).unwrap_err()),
            "user.password_too_long"
        );
    }

    #[test]
    fn a_display_name_is_trimmed_and_bounded() {
        assert_eq!(
            DisplayName::parse("  Ngô Văn Toàn ").unwrap().into_string(),
            "Ngô Văn Toàn"
        );
        for bad in ["   ", "tab\there", &"x".repeat(201)] {
            assert_eq!(
                code(DisplayName::parse(bad).unwrap_err()),
                "user.bad_display_name"
            );
        }
    }

    #[test]
    fn phone_numbers_are_stored_in_national_form() {
        for typed in [
            "0912345678",
            "0912 345 678",
            "+84912345678",
            "84912345678",
            "091.234.5678",
        ] {
            assert_eq!(
                Phone::parse(typed).map(Phone::into_string).as_deref(),
                Some("0912345678"),
                "{typed}"
            );
        }
        assert_eq!(
            Phone::parse("02043855123")
                .map(Phone::into_string)
                .as_deref(),
            Some("02043855123")
        );
        for bad in ["12345", "0912abc678", "", "+1 555 0100", "09123456789012"] {
            assert_eq!(Phone::parse(bad), None, "{bad}");
        }
    }

    #[cfg(feature = "ssr")]
    #[test]
    fn nfd_and_nfc_usernames_are_the_same_account() {
        let nfc = "nguyễn.văn";
        let nfd = "nguye\u{0302}\u{0303}n.va\u{0306}n";
        assert_ne!(nfc, nfd);
        assert_eq!(Username::normalize(nfd), Username::normalize(nfc));
        assert_eq!(Username::normalize("  KSV1 "), "ksv1");
    }

    #[cfg(feature = "ssr")]
    #[test]
    fn usernames_refuse_paths_quotes_and_spaces() {
        for bad in ["../etc", "a b", "x'--", "", "a/b", &"a".repeat(65)] {
            assert!(Username::parse(bad).is_err(), "{bad}");
        }
        for ok in ["ksv1", "nguyễn.văn", "thu_ha-2@bg"] {
            assert!(Username::parse(ok).is_ok(), "{ok}");
        }
    }
}
