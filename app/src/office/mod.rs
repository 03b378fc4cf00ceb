//! The office: what supervisors and administrators use at their desks. Each
//! capability is a folder holding its checks, server functions and screens.
//! Their pages are lazy routes: the phone's bundle does not carry them.

/// Accounts, devices, forms and the audit trail (`/admin`, `/admin/forms`).
pub mod admin;
/// A date field that reads and takes dd/mm/yyyy in every browser.
pub mod date_input;
/// Links to the server's files that say on screen why a file could not be made.
pub mod download;
/// What an office page shows to an account without its role.
pub mod gate;
/// Unsent text of the office's text areas, kept through a reload.
pub mod kept_text;
/// The proposal page, the year's plan and the budget.
pub mod plan;
/// The registry of facilities and proposals and its spreadsheet intake.
pub mod registry;
/// The supervisor's review of visits: the list, one visit, conflicts, audit.
pub mod review;
/// Spreadsheets offices send (CSV, XLSX) read as tables of text.
#[cfg(feature = "ssr")]
pub mod sheet;
/// Administrative unit trees, their files and the mapping between trees.
pub mod units;
/// Survey rounds: opening and closing a year.
pub mod years;

/// A value for a URL query, percent-encoded (unit tree names, form ids).
pub fn query_value(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// An error as an office page words it. The phone's sentence for a server
/// out of reach says the work is kept on the device and sent later; an office
/// page keeps nothing, so it says so and asks to try again.
pub fn error_text(lang: crate::i18n::Lang, body: &crate::error::ErrorBody) -> String {
    if body.code == "network.unreachable" {
        return crate::i18n::t(lang, "errors.network.unreachable_office");
    }
    crate::i18n::error_text(lang, body)
}

/// One file problem as a line a person reads: "Dòng 12, cột “Mã cấp trên”: …".
pub fn describe_problem(lang: crate::i18n::Lang, p: &crate::error::RowProblem) -> String {
    use crate::i18n::t;
    use crate::office::error_text;
    let mut body = crate::error::ErrorBody::new(&p.code, "");
    for (k, v) in &p.params {
        body = body.with(k, v.clone());
    }
    let text = error_text(lang, &body);
    let place = match (p.row, &p.column) {
        (0, _) => t(lang, "office.where_file"),
        (row, Some(column)) => t(lang, "office.where_cell")
            .replace("{row}", &row.to_string())
            .replace("{column}", column),
        (row, None) => t(lang, "office.where_row").replace("{row}", &row.to_string()),
    };
    format!("{place}: {text}")
}

/// The office's file inputs forget their file as the picker opens. Browsers
/// fire no `change` when the file chosen is the one already in the input, so
/// a registry file or an XLSForm fixed in Excel and chosen again did nothing.
/// What the last file showed stays on the page until the new one is read.
pub fn forget_chosen_file(ev: leptos::ev::MouseEvent) {
    #[cfg(feature = "hydrate")]
    {
        use wasm_bindgen::JsCast;
        if let Some(input) = ev
            .target()
            .and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok())
        {
            input.set_value("");
        }
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = ev;
}

#[cfg(all(test, feature = "ssr"))]
mod tests {
    use crate::i18n::{t, Lang};

    /// A supervisor's page reloaded offline said "Dữ liệu được giữ trên máy và
    /// sẽ gửi khi có mạng", the phone's promise, under a header saying office
    /// pages keep nothing.
    #[test]
    fn an_office_page_out_of_reach_does_not_promise_to_keep_the_work() {
        let body = crate::error::ErrorBody::new("network.unreachable", "x");
        let vi = super::error_text(Lang::Vi, &body);
        assert!(vi.contains("không được giữ lại"), "{vi}");
        assert!(!vi.contains("sẽ gửi khi có mạng"), "{vi}");
        let en = super::error_text(Lang::En, &body);
        assert!(en.contains("not kept"), "{en}");
        assert!(!en.contains("stays on this phone"), "{en}");
        let other = crate::error::ErrorBody::new("sync.seq_gap", "x").with("expected", 4);
        assert_eq!(
            super::error_text(Lang::Vi, &other),
            crate::i18n::error_text(Lang::Vi, &other)
        );
    }

    /// Office pages word their errors with `office::error_text` (defined
    /// here); only the server-side XLSForm conversion, whose sentences go to
    /// the page whole, calls the shared one.
    #[test]
    fn office_pages_word_errors_the_offices_way() {
        let mut files = Vec::new();
        crate::layout_tests::rust_files(
            &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/office"),
            &mut files,
        );
        assert!(files.len() > 30, "only {} office files", files.len());
        let shared =
            regex_lite::Regex::new(r"i18n::\{[^}]*\berror_text\b|i18n::error_text\(").unwrap();
        let stray: Vec<String> = files
            .iter()
            .filter(|f| {
                let name = f.to_string_lossy();
                !name.contains("xlsform") && !name.ends_with("office/mod.rs")
            })
            .filter(|f| shared.is_match(&std::fs::read_to_string(f).unwrap()))
            .map(|f| f.display().to_string())
            .collect();
        assert!(
            stray.is_empty(),
            "use crate::office::error_text in {stray:?}"
        );
    }

    /// Every problem code the file checks can produce reads as a sentence in both
    /// languages (a code without a text would show the clerk a key).
    #[test]
    fn every_problem_code_is_translated() {
        let sources = [
            include_str!("units/file.rs"),
            include_str!("units/import.rs"),
            include_str!("registry/intake.rs"),
            include_str!("registry/rows.rs"),
        ];
        let pattern = regex_lite::Regex::new(r#""((?:units|registry)\.[a-z_]+)""#).unwrap();
        // Audit actions share the shape; they are not problems a person reads.
        let actions = ["registry.imported"];
        let codes: Vec<&str> = sources
            .iter()
            .flat_map(|s| pattern.captures_iter(s).map(|c| c.get(1).unwrap().as_str()))
            .filter(|c| !actions.contains(c))
            .collect();
        assert!(codes.len() >= 20, "found only {codes:?}");
        for code in codes {
            for lang in [Lang::Vi, Lang::En] {
                let key = format!("errors.{code}");
                assert_ne!(t(lang, &key), key, "{code} has no {lang:?} text");
            }
        }
    }
}
