//! The checks a facility passes wherever the office registers or edits it:
//! a name, lengths, an industry group of the register, a phone and a tax
//! code of the right shape, and a unit named as "tree/code".

use super::contract::FacilityDraft;
use crate::error::{AppError, ErrorBody};

fn invalid(code: &str, message: impl Into<String>) -> AppError {
    AppError::Invalid(ErrorBody::new(code, message))
}

/// A draft with its text trimmed and checked, before its unit is looked up.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckedDraft {
    pub name: String,
    pub owner_name: Option<String>,
    pub address: Option<String>,
    pub industry_group: String,
    pub phone: Option<String>,
    pub tax_code: Option<String>,
    pub main_products: Option<String>,
    /// (tree, code)
    pub unit: (String, String),
}

/// The checks a facility passes wherever it comes from: a name, lengths, an
/// industry group of the register, a phone and a tax code of the right shape.
///
/// `stored_phone` is the number on record when the office edits a facility.
/// Field apps before the national-form rule stored what was typed (8–15
/// digits), so a number left as it was stays as it is: editing a facility's
/// address must not demand a new phone number first. A number typed anew
/// must be a valid one.
pub fn check_draft(
    d: &FacilityDraft,
    stored_phone: Option<&str>,
) -> Result<CheckedDraft, AppError> {
    let text = |v: &str| Some(v.trim().to_string()).filter(|v| !v.is_empty());
    let name = d.name.trim().to_string();
    if crate::domain::shows_nothing(&name) {
        return Err(invalid("facility.name_required", "a facility needs a name").into_field("name"));
    }
    for (field, value, max) in [
        ("name", d.name.as_str(), 200),
        ("owner_name", d.owner_name.as_str(), 200),
        ("address", d.address.as_str(), 500),
        ("main_products", d.main_products.as_str(), 1000),
    ] {
        let len = value.trim().chars().count();
        if len > max {
            return Err(AppError::Invalid(
                ErrorBody::new(
                    "form.too_long",
                    format!("field \"{field}\" is {len} characters; the limit is {max}"),
                )
                .with("field", field)
                .with("max", max),
            ));
        }
    }
    if !crate::model::INDUSTRIES.contains(&d.industry_group.as_str()) {
        return Err(AppError::Invalid(
            ErrorBody::new(
                "facility.unknown_industry",
                "not an industry group of the register",
            )
            .with("field", "industry_group")
            .with("value", d.industry_group.clone()),
        ));
    }
    let phone = match text(&d.phone) {
        None => None,
        Some(raw) if stored_phone.is_some_and(|kept| kept.trim() == raw) => Some(raw),
        Some(raw) => Some(
            crate::domain::Phone::parse(&raw)
                .map(crate::domain::Phone::into_string)
                .ok_or_else(|| {
                    AppError::Invalid(
                        ErrorBody::new(
                            "facility.bad_phone_number",
                            "a phone number has 10 or 11 digits starting with 0 (or +84)",
                        )
                        .with("field", "phone"),
                    )
                })?,
        ),
    };
    let tax_code = text(&d.tax_code);
    if tax_code
        .as_deref()
        .is_some_and(|t| !crate::office::registry::rows::good_tax_code(t))
    {
        return Err(AppError::Invalid(
            ErrorBody::new(
                "facility.bad_tax_code",
                "a tax code has 10 digits, or 10 and a 3-digit branch (0101234567-001)",
            )
            .with("field", "tax_code"),
        ));
    }
    let Some((tree, code)) = d.unit.split_once('/') else {
        return Err(AppError::Invalid(
            ErrorBody::new("unit.missing", "choose the facility's commune").with("field", "unit"),
        ));
    };
    Ok(CheckedDraft {
        name,
        owner_name: text(&d.owner_name),
        address: text(&d.address),
        industry_group: d.industry_group.clone(),
        phone,
        tax_code,
        main_products: text(&d.main_products),
        unit: (tree.to_string(), code.to_string()),
    })
}

trait IntoField {
    fn into_field(self, field: &str) -> AppError;
}

impl IntoField for AppError {
    fn into_field(self, field: &str) -> AppError {
        match self {
            AppError::Invalid(body) => AppError::Invalid(body.with("field", field)),
            other => other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn draft() -> FacilityDraft {
        FacilityDraft {
            id: None,
            name: "  Cơ khí Hòa Phát ".into(),
            unit: "bac-ninh-2025/07210".into(),
            industry_group: "mechanical".into(),
            ..Default::default()
        }
    }

    fn code(e: AppError) -> String {
        match e {
            AppError::Invalid(b) => b.code,
            other => panic!("not a refusal: {other:?}"),
        }
    }

    #[test]
    fn a_draft_is_trimmed_and_its_unit_split() {
        let d = check_draft(&draft(), None).unwrap();
        assert_eq!(d.name, "Cơ khí Hòa Phát");
        assert_eq!(d.unit, ("bac-ninh-2025".to_string(), "07210".to_string()));
        assert_eq!(d.owner_name, None);
    }

    #[test]
    fn a_draft_is_refused_for_each_bad_field() {
        type Spoil = fn(&mut FacilityDraft);
        let cases: [(Spoil, &str); 6] = [
            (|d| d.name = "   ".into(), "facility.name_required"),
            (|d| d.address = "x".repeat(501), "form.too_long"),
            (
                |d| d.industry_group = "bakery".into(),
                "facility.unknown_industry",
            ),
            (|d| d.phone = "12345".into(), "facility.bad_phone_number"),
            (|d| d.tax_code = "01012345".into(), "facility.bad_tax_code"),
            (|d| d.unit = "07210".into(), "unit.missing"),
        ];
        for (spoil, expected) in cases {
            let mut d = draft();
            spoil(&mut d);
            assert_eq!(code(check_draft(&d, None).unwrap_err()), expected);
        }
    }

    #[test]
    fn a_phone_is_kept_in_its_national_form() {
        let mut d = draft();
        d.phone = "+84 912 345 678".into();
        d.tax_code = "0101234567-001".into();
        let c = check_draft(&d, None).unwrap();
        assert_eq!(c.phone.as_deref(), Some("0912345678"));
        assert_eq!(c.tax_code.as_deref(), Some("0101234567-001"));
    }

    #[test]
    fn an_old_phone_left_as_it_was_stays_and_a_new_one_must_be_valid() {
        // What a field app before the national-form rule stored: 9 digits.
        let old = "912345678";
        let mut d = draft();
        d.phone = format!(" {old} ");
        let kept = check_draft(&d, Some(old)).unwrap();
        assert_eq!(kept.phone.as_deref(), Some(old));
        // The same number is refused where none was on record, and a changed
        // number is checked whatever was stored before.
        assert_eq!(
            code(check_draft(&d, None).unwrap_err()),
            "facility.bad_phone_number"
        );
        d.phone = "91234567".into();
        assert_eq!(
            code(check_draft(&d, Some(old)).unwrap_err()),
            "facility.bad_phone_number"
        );
        d.phone = "0912 345 678".into();
        let fixed = check_draft(&d, Some(old)).unwrap();
        assert_eq!(fixed.phone.as_deref(), Some("0912345678"));
    }
}
