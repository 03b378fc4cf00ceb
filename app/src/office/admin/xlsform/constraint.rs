//! XLSForm `constraint` cells as a field's range, length and pattern, and
//! back; the regex anchoring that keeps ODK's meaning.

use super::xpath::{fail, tokens, Failure, Tok};
use crate::forms::{Field, FieldType};

/// What a constraint sets on its field.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Limits {
    pub min: Option<f64>,
    pub max: Option<f64>,
    pub min_length: Option<usize>,
    pub max_length: Option<usize>,
    pub pattern: Option<String>,
}

/// A `constraint` as limits on a field of `kind`: parts joined by `and`, each
/// `. >= n`, `. <= n`, `string-length(.) <= n` (or `>=`) or
/// `regex(., 'pattern')`.
pub fn constraint(src: &str, kind: FieldType) -> Result<Limits, Failure> {
    let toks = tokens(src)?;
    let mut limits = Limits::default();
    let numeric = matches!(
        kind,
        FieldType::Integer | FieldType::Decimal | FieldType::Money
    );
    let whole = matches!(kind, FieldType::Integer | FieldType::Money);
    let text = matches!(kind, FieldType::Text | FieldType::LongText);
    for part in toks.split(|t| matches!(t, Tok::Word(w) if w == "and")) {
        match part {
            [Tok::Dot, Tok::Op(op), Tok::Num(n)] if numeric => {
                let (lo, hi) = match *op {
                    ">=" => (Some(*n), None),
                    "<=" => (None, Some(*n)),
                    // An integer's strict bound is the next whole number.
                    ">" if whole && n.fract() == 0.0 => (Some(n + 1.0), None),
                    "<" if whole && n.fract() == 0.0 => (None, Some(n - 1.0)),
                    _ => return Err(fail("xlsform.constraint_bound", format!(". {op} {n}"))),
                };
                set(&mut limits.min, lo, ". >=")?;
                set(&mut limits.max, hi, ". <=")?;
            }
            [Tok::Word(f), Tok::LParen, Tok::Dot, Tok::RParen, Tok::Op(op), Tok::Num(n)]
                if f == "string-length" && text && n.fract() == 0.0 && *n >= 0.0 =>
            {
                // A bound past any answer's length is refused here, before it
                // is cast (and one more added) rather than wrapped or saturated.
                let limit = crate::forms::definition::MAX_TEXT_LENGTH;
                if *n > limit as f64 {
                    return Err(fail(
                        "xlsform.length_too_large",
                        format!("string-length(.) {op} {n}"),
                    ));
                }
                let n = *n as usize;
                let (lo, hi) = match *op {
                    ">=" => (Some(n), None),
                    "<=" => (None, Some(n)),
                    ">" => (Some(n + 1), None),
                    "<" if n > 0 => (None, Some(n - 1)),
                    _ => return Err(fail("xlsform.constraint_shape", "string-length")),
                };
                set(&mut limits.min_length, lo, "string-length(.) >=")?;
                set(&mut limits.max_length, hi, "string-length(.) <=")?;
            }
            [Tok::Word(f), Tok::LParen, Tok::Dot, Tok::Comma, Tok::Str(re), Tok::RParen]
                if f == "regex" && text =>
            {
                let pattern = pattern_from_regex(re);
                crate::forms::rules::compile_pattern(&pattern)
                    .map_err(|e| fail("xlsform.bad_regex", e))?;
                set(&mut limits.pattern, Some(pattern), "regex()")?;
            }
            [Tok::Word(f), ..] if f == "regex" || f == "string-length" => {
                return Err(fail("xlsform.constraint_type", f.clone()))
            }
            [Tok::Dot, Tok::Op(_), Tok::Num(_)] => {
                return Err(fail("xlsform.constraint_type", "."))
            }
            _ => return Err(fail("xlsform.constraint_shape", src)),
        }
    }
    Ok(limits)
}

fn set<T>(slot: &mut Option<T>, value: Option<T>, what: &str) -> Result<(), Failure> {
    if let Some(v) = value {
        if slot.is_some() {
            return Err(fail("xlsform.constraint_twice", what));
        }
        *slot = Some(v);
    }
    Ok(())
}

/// The field's limits as an XLSForm constraint (`None`: it has none).
pub fn constraint_text(field: &Field) -> Option<String> {
    let num = |n: f64| {
        if n.fract() == 0.0 && n.abs() < 1e15 {
            format!("{}", n as i64)
        } else {
            n.to_string()
        }
    };
    let mut parts = Vec::new();
    if let Some(n) = field.min {
        parts.push(format!(". >= {}", num(n)));
    }
    if let Some(n) = field.max {
        parts.push(format!(". <= {}", num(n)));
    }
    if let Some(n) = field.min_length {
        parts.push(format!("string-length(.) >= {n}"));
    }
    if let Some(n) = field.max_length {
        parts.push(format!("string-length(.) <= {n}"));
    }
    if let Some(p) = &field.pattern {
        let re = regex_from_pattern(p);
        let quoted = if re.contains('\'') {
            format!("\"{re}\"")
        } else {
            format!("'{re}'")
        };
        parts.push(format!("regex(., {quoted})"));
    }
    (!parts.is_empty()).then(|| parts.join(" and "))
}

/// Whether a pattern has `|`, `^` or `$` outside an escape: such a pattern
/// cannot simply be put between `^` and `$`.
fn has_anchor_or_bar(p: &str) -> bool {
    let mut escaped = false;
    for c in p.chars() {
        match c {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            '|' | '^' | '$' => return true,
            _ => {}
        }
    }
    false
}

/// Whether the parentheses of `p` close in order (escapes and classes aside).
fn balanced(p: &str) -> bool {
    let (mut depth, mut escaped, mut class) = (0i32, false, false);
    for c in p.chars() {
        match c {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            '[' if !class => class = true,
            ']' if class => class = false,
            '(' if !class => depth += 1,
            ')' if !class => {
                depth -= 1;
                if depth < 0 {
                    return false;
                }
            }
            _ => {}
        }
    }
    depth == 0 && !class
}

/// An ODK `regex()` pattern (found anywhere in the answer, as JavaRosa's
/// `find()` does) as a khaosat pattern (the whole answer must match).
pub fn pattern_from_regex(re: &str) -> String {
    if let Some(inner) = re.strip_prefix("^(?:").and_then(|r| r.strip_suffix(")$")) {
        if balanced(inner) {
            return inner.to_string();
        }
    }
    if let Some(inner) = re.strip_prefix('^').and_then(|r| r.strip_suffix('$')) {
        if !inner.ends_with('\\') && !has_anchor_or_bar(inner) {
            return inner.to_string();
        }
    }
    // Unanchored: anything may surround it, line breaks included.
    format!("(?s).*(?:{re}).*")
}

/// The inverse of [`pattern_from_regex`].
pub fn regex_from_pattern(p: &str) -> String {
    if has_anchor_or_bar(p) || p.ends_with('\\') {
        format!("^(?:{p})$")
    } else {
        format!("^{p}$")
    }
}
