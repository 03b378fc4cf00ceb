//! Amounts of money as people type them, read the Vietnamese way: "1.500.000"
//! is one and a half million đồng, and a fraction of a đồng is never money.

use crate::error::{AppError, ErrorBody};
use serde_json::Value;

/// An amount as typed, read the Vietnamese way (see `parse_amount`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Amount {
    Whole(i64),
    /// A fraction of a đồng: sent as typed, so the server names the problem.
    Fraction(f64),
    /// Whole đồng past what an i64 holds (24 digits typed): sent as a float,
    /// so the server says it is too large rather than that it is no number.
    Huge(f64),
}

impl Amount {
    pub fn to_json(self) -> Value {
        match self {
            Amount::Whole(n) => Value::from(n),
            Amount::Fraction(x) | Amount::Huge(x) => Value::from(x),
        }
    }
}

/// "150.000.000", "150,000,000" and "150 000 000" are whole đồng; a last group
/// that is not three digits long is a decimal part ("1500000,5"). `Ok(None)` for
/// a blank field, `Err(())` for anything that is not a number.
#[allow(clippy::result_unit_err)]
pub fn parse_amount(text: &str) -> Result<Option<Amount>, ()> {
    let text: String = text
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '₫')
        .collect();
    if text.is_empty() {
        return Ok(None);
    }
    let (negative, body) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text.as_str()),
    };
    if body.is_empty()
        || !body
            .chars()
            .all(|c| c.is_ascii_digit() || c == '.' || c == ',')
    {
        return Err(());
    }
    let groups: Vec<&str> = body.split(['.', ',']).collect();
    if groups.iter().any(|g| g.is_empty()) {
        return Err(());
    }
    let sign = if negative { -1 } else { 1 };
    let last = groups[groups.len() - 1];
    if groups.len() > 1 && last.len() != 3 {
        let whole = groups[..groups.len() - 1].concat();
        let value: f64 = format!("{whole}.{last}").parse().map_err(|_| ())?;
        return Ok(Some(Amount::Fraction(sign as f64 * value)));
    }
    let digits = groups.concat();
    match digits.parse::<i64>() {
        Ok(whole) => Ok(Some(Amount::Whole(sign * whole))),
        // Only digits are left, so the one way to fail is being too long.
        Err(_) => Ok(Some(Amount::Huge(
            sign as f64 * digits.parse::<f64>().map_err(|_| ())?,
        ))),
    }
}

fn invalid(code: &str, message: impl Into<String>) -> AppError {
    AppError::Invalid(ErrorBody::new(code, message))
}

/// Largest amount accepted (a million billion đồng): far above any budget, and
/// sums of many such amounts still fit an i64.
pub const MAX_AMOUNT: i64 = 1_000_000_000_000_000;

/// "1500000", "1.500.000" or "1 500 000" as a number; None for anything else,
/// such as "1.5" or "1500,5" (a decimal comma: not a whole number of đồng),
/// and for digits past what an i64 holds.
pub fn grouped_digits(s: &str) -> Option<i64> {
    digits_as_grouped(s)?.parse().ok()
}

/// A decimal as a Vietnamese types it: "12,5", "1.234,5", and "12.500" for
/// twelve thousand five hundred, as the pages show it; "12.5" or "0.5", where
/// the dots cannot be thousands, as a decimal point. None for anything else.
pub fn decimal_as_typed(text: &str) -> Option<f64> {
    let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    let (sign, body) = match compact.strip_prefix('-') {
        Some(rest) => ("-", rest),
        None => ("", compact.as_str()),
    };
    let thousands = |whole: &str| {
        digits_as_grouped(whole).filter(|_| whole.contains('.') && !whole.starts_with('0'))
    };
    let plain = match body.split_once(',') {
        Some((whole, fraction)) => {
            let whole = match whole.contains('.') {
                true => thousands(whole)?,
                false => whole.to_string(),
            };
            if fraction.is_empty() || !fraction.chars().all(|c| c.is_ascii_digit()) {
                return None;
            }
            format!("{whole}.{fraction}")
        }
        None => thousands(body).unwrap_or_else(|| body.to_string()),
    };
    format!("{sign}{plain}")
        .parse::<f64>()
        .ok()
        .filter(|n| n.is_finite())
}

/// The digits of "1.500.000" or "1 500 000" joined, whatever their length;
/// None when the text is not digits in groups of three.
fn digits_as_grouped(s: &str) -> Option<String> {
    let compact: String = s
        .trim()
        .chars()
        .filter(|c| !matches!(c, ' ' | '\u{a0}'))
        .collect();
    let mut groups = compact.split('.');
    let first = groups.next()?;
    let rest: Vec<&str> = groups.collect();
    let all_digits = |g: &str| !g.is_empty() && g.chars().all(|c| c.is_ascii_digit());
    let grouped_ok =
        rest.is_empty() || (first.len() <= 3 && rest.iter().all(|g| g.len() == 3 && all_digits(g)));
    if !all_digits(first) || !grouped_ok {
        return None;
    }
    Some(std::iter::once(first).chain(rest).collect())
}

/// An amount of money as typed: a whole, non-negative number of đồng. `prefix` is
/// the error family (`recommend`, `budget`).
pub fn whole_dong(value: &Value, prefix: &str) -> Result<i64, AppError> {
    let amount = match value {
        Value::Number(n) => match n.as_i64() {
            Some(i) => i,
            None => match n.as_f64() {
                // 2e9 from a client that sends every number as a float; one
                // past an i64 (1e23) is held at 9e15, which is refused below
                // as too large (or negative), not as no whole number.
                Some(f) if f.fract() == 0.0 => f.clamp(-9.0e15, 9.0e15) as i64,
                Some(f) if f.fract() != 0.0 => {
                    return Err(AppError::Invalid(
                        ErrorBody::new(
                            &format!("{prefix}.amount_not_whole"),
                            format!("{n} is not a whole number of đồng"),
                        )
                        .with("amount", n.to_string()),
                    ))
                }
                _ => {
                    return Err(invalid(
                        &format!("{prefix}.amount_not_whole"),
                        format!("{n} is not an amount of đồng this system can hold"),
                    ))
                }
            },
        },
        // Digits past an i64 are held at its largest: too large, below.
        Value::String(s) => digits_as_grouped(s)
            .map(|d| d.parse().unwrap_or(i64::MAX))
            .ok_or_else(|| {
                AppError::Invalid(
                    ErrorBody::new(
                        &format!("{prefix}.amount_not_whole"),
                        format!("{s:?} is not a whole number of đồng"),
                    )
                    .with("amount", s.clone()),
                )
            })?,
        other => {
            return Err(invalid(
                &format!("{prefix}.amount_not_whole"),
                format!("expected an amount in đồng, got {other}"),
            ))
        }
    };
    if amount > MAX_AMOUNT {
        return Err(invalid(
            &format!("{prefix}.amount_too_large"),
            format!("{amount} đồng is more than this system accepts"),
        ));
    }
    if amount < 0 {
        return Err(invalid(
            &format!("{prefix}.amount_negative"),
            "an amount cannot be negative",
        ));
    }
    Ok(amount)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_with_thousands_separators_are_whole_dong() {
        assert_eq!(parse_amount(" "), Ok(None));
        assert_eq!(
            parse_amount("1.500.000"),
            Ok(Some(Amount::Whole(1_500_000)))
        );
        assert_eq!(
            parse_amount("1,500,000"),
            Ok(Some(Amount::Whole(1_500_000)))
        );
        assert_eq!(
            parse_amount("1 500 000"),
            Ok(Some(Amount::Whole(1_500_000)))
        );
        assert_eq!(
            parse_amount("150.000.000 ₫"),
            Ok(Some(Amount::Whole(150_000_000)))
        );
        assert_eq!(parse_amount("-200"), Ok(Some(Amount::Whole(-200))));
    }

    #[test]
    fn a_short_last_group_is_a_fraction_for_the_server_to_refuse() {
        assert_eq!(
            parse_amount("1500000,5"),
            Ok(Some(Amount::Fraction(1_500_000.5)))
        );
        assert_eq!(
            parse_amount("1.500.000,50"),
            Ok(Some(Amount::Fraction(1_500_000.5)))
        );
        assert!(Amount::Fraction(0.5).to_json().is_f64());
    }

    #[test]
    fn text_that_is_not_a_number_is_refused() {
        assert_eq!(parse_amount("12a"), Err(()));
        assert_eq!(parse_amount("1..5"), Err(()));
        assert_eq!(parse_amount("-"), Err(()));
    }

    #[test]
    fn digits_past_an_i64_are_too_large_not_no_number() {
        // 24 digits, as in a budget typed with its digits twice.
        assert_eq!(
            parse_amount("100.000.000.000.000.000.000.000"),
            Ok(Some(Amount::Huge(1e23)))
        );
        assert_eq!(
            parse_amount("-99999999999999999999"),
            Ok(Some(Amount::Huge(-1e20)))
        );
        assert!(Amount::Huge(1e23).to_json().is_f64());
        // What the phone's answers read stays None: an answer is never held
        // at a number it was not.
        assert_eq!(grouped_digits("99999999999999999999"), None);
        for (typed, read) in [
            ("12,5", Some(12.5)),
            ("1.234,5", Some(1234.5)),
            ("12.500", Some(12500.0)),
            ("1.250.000,25", Some(1_250_000.25)),
            ("12.5", Some(12.5)),
            ("0.500", Some(0.5)),
            ("1234.567", Some(1234.567)),
            ("-1.500", Some(-1500.0)),
            (" 3 ", Some(3.0)),
            ("1.23,5", None),
            ("12,", None),
            ("1,5,5", None),
            ("abc", None),
            ("inf", None),
        ] {
            assert_eq!(decimal_as_typed(typed), read, "{typed}");
        }
        for (value, code) in [
            (serde_json::json!(1e23), "budget.amount_too_large"),
            (serde_json::json!(-1e23), "budget.amount_negative"),
            (
                serde_json::json!("100.000.000.000.000.000.000.000"),
                "budget.amount_too_large",
            ),
            (Amount::Huge(1e23).to_json(), "budget.amount_too_large"),
        ] {
            let refused = whole_dong(&value, "budget").unwrap_err();
            assert_eq!(refused.body().code, code, "{value}");
        }
    }
}
