//! Amounts of money as people type them, read the Vietnamese way: "1.500.000"
//! is one and a half million đồng, and a fraction of a đồng is never money.

use serde_json::Value;

/// An amount as typed, read the Vietnamese way (see `parse_amount`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Amount {
    Whole(i64),
    /// A fraction of a đồng: sent as typed, so the server names the problem.
    Fraction(f64),
}

impl Amount {
    pub fn to_json(self) -> Value {
        match self {
            Amount::Whole(n) => Value::from(n),
            Amount::Fraction(x) => Value::from(x),
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
    let whole: i64 = groups.concat().parse().map_err(|_| ())?;
    Ok(Some(Amount::Whole(sign * whole)))
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
        assert_eq!(parse_amount("99999999999999999999"), Err(()));
    }
}
