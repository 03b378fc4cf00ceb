//! The XPath that XLSForm conditions are written in, for the shapes people
//! really write, to khaosat's rules and back: `relevant` to the expression
//! language (`crate::forms::expr`), `constraint` to a field's range, length and
//! pattern. Anything else is a [`Failure`] naming what was found.

use crate::forms::expr::{self, Expr, Syntax};
use crate::forms::FieldType;

pub use super::constraint::{constraint, constraint_text, Limits};
use serde_json::Value;

/// Why a condition cannot be taken: a message code and what it names.
#[derive(Debug, Clone, PartialEq)]
pub struct Failure {
    pub code: &'static str,
    pub found: String,
}

pub(super) fn fail(code: &'static str, found: impl Into<String>) -> Failure {
    Failure {
        code,
        found: found.into(),
    }
}

#[derive(Debug, Clone, PartialEq)]
pub(super) enum Tok {
    Field(String),
    Str(String),
    Num(f64),
    Word(String),
    Op(&'static str),
    Dot,
    LParen,
    RParen,
    Comma,
}

/// A token as the author wrote it, for a message.
fn shown(tok: &Tok) -> String {
    match tok {
        Tok::Field(f) => format!("${{{f}}}"),
        Tok::Str(s) => format!("'{s}'"),
        Tok::Num(n) => n.to_string(),
        Tok::Word(w) => w.clone(),
        Tok::Op("==") => "=".into(),
        Tok::Op(op) => op.to_string(),
        Tok::Dot => ".".into(),
        Tok::LParen => "(".into(),
        Tok::RParen => ")".into(),
        Tok::Comma => ",".into(),
    }
}

pub(super) fn tokens(src: &str) -> Result<Vec<Tok>, Failure> {
    let chars: Vec<char> = src.chars().collect();
    let mut out: Vec<Tok> = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        match c {
            c if c.is_whitespace() => i += 1,
            '(' | ')' | ',' => {
                out.push(match c {
                    '(' => Tok::LParen,
                    ')' => Tok::RParen,
                    _ => Tok::Comma,
                });
                i += 1;
            }
            '$' if next == Some('{') => {
                let end = chars[i..]
                    .iter()
                    .position(|&c| c == '}')
                    .ok_or_else(|| fail("xlsform.xpath_syntax", "${"))?;
                out.push(Tok::Field(
                    chars[i + 2..i + end]
                        .iter()
                        .collect::<String>()
                        .trim()
                        .to_string(),
                ));
                i += end + 1;
            }
            '\'' | '"' => {
                let end = chars[i + 1..]
                    .iter()
                    .position(|&q| q == c)
                    .ok_or_else(|| fail("xlsform.xpath_syntax", c.to_string()))?;
                out.push(Tok::Str(chars[i + 1..i + 1 + end].iter().collect()));
                i += end + 2;
            }
            '=' => {
                out.push(Tok::Op("=="));
                i += 1;
            }
            '!' if next == Some('=') => {
                out.push(Tok::Op("!="));
                i += 2;
            }
            '<' | '>' => {
                let op = match (c, next) {
                    ('<', Some('=')) => "<=",
                    ('>', Some('=')) => ">=",
                    ('<', _) => "<",
                    _ => ">",
                };
                out.push(Tok::Op(op));
                i += op.len();
            }
            '.' if !next.is_some_and(|n| n.is_ascii_digit()) => {
                if next == Some('.') || next == Some('/') {
                    return Err(fail("xlsform.xpath_path", ".."));
                }
                out.push(Tok::Dot);
                i += 1;
            }
            // A minus sign is a number's only where a value may start.
            c if c.is_ascii_digit()
                || c == '.'
                || (c == '-'
                    && next.is_some_and(|n| n.is_ascii_digit())
                    && matches!(
                        out.last(),
                        None | Some(Tok::Op(_) | Tok::LParen | Tok::Comma)
                    )) =>
            {
                let start = i;
                i += 1;
                while i < chars.len() && (chars[i].is_ascii_digit() || chars[i] == '.') {
                    i += 1;
                }
                let text: String = chars[start..i].iter().collect();
                let n = text
                    .parse()
                    .map_err(|_| fail("xlsform.xpath_syntax", text.clone()))?;
                out.push(Tok::Num(n));
            }
            c if c.is_alphabetic() || c == '_' => {
                let start = i;
                while i < chars.len()
                    && (chars[i].is_alphanumeric() || matches!(chars[i], '_' | '-' | ':'))
                {
                    i += 1;
                }
                out.push(Tok::Word(chars[start..i].iter().collect()));
            }
            '/' => return Err(fail("xlsform.xpath_path", "/")),
            '+' | '-' | '*' | '|' => return Err(fail("xlsform.xpath_arithmetic", c.to_string())),
            other => return Err(fail("xlsform.xpath_syntax", other.to_string())),
        }
    }
    if out.len() > expr::MAX_TOKENS {
        return Err(fail("xlsform.xpath_too_long", out.len().to_string()));
    }
    Ok(out)
}

struct Parser {
    toks: Vec<Tok>,
    pos: usize,
    depth: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos)
    }

    fn word(&mut self, w: &str) -> bool {
        if matches!(self.peek(), Some(Tok::Word(x)) if x == w) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn expect(&mut self, tok: Tok, what: &str) -> Result<(), Failure> {
        if self.peek() == Some(&tok) {
            self.pos += 1;
            Ok(())
        } else {
            Err(fail("xlsform.xpath_syntax", what))
        }
    }

    fn nested(&mut self, rule: fn(&mut Self) -> Result<Expr, Failure>) -> Result<Expr, Failure> {
        if self.depth >= expr::MAX_NESTING {
            return Err(fail(
                "xlsform.xpath_too_deep",
                expr::MAX_NESTING.to_string(),
            ));
        }
        self.depth += 1;
        let r = rule(self);
        self.depth -= 1;
        r
    }

    fn or(&mut self) -> Result<Expr, Failure> {
        let mut left = self.and()?;
        while self.word("or") {
            left = Expr::Or(Box::new(left), Box::new(self.and()?));
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Expr, Failure> {
        let mut left = self.cmp()?;
        while self.word("and") {
            left = Expr::And(Box::new(left), Box::new(self.cmp()?));
        }
        Ok(left)
    }

    fn cmp(&mut self) -> Result<Expr, Failure> {
        let left = self.primary()?;
        if let Some(Tok::Op(op)) = self.peek().cloned() {
            self.pos += 1;
            let right = self.primary()?;
            if let Some(Tok::Op(again)) = self.peek() {
                return Err(fail("xlsform.xpath_chain", *again));
            }
            return Ok(Expr::Cmp(op, Box::new(left), Box::new(right)));
        }
        Ok(left)
    }

    fn primary(&mut self) -> Result<Expr, Failure> {
        let tok = self
            .peek()
            .cloned()
            .ok_or_else(|| fail("xlsform.xpath_syntax", "…"))?;
        self.pos += 1;
        match tok {
            Tok::Field(name) => Ok(Expr::Field(name)),
            Tok::Str(s) if s.contains('\'') => Err(fail("xlsform.xpath_quote", s)),
            Tok::Str(s) => Ok(Expr::Lit(Value::String(s))),
            Tok::Num(n) => Ok(Expr::Lit(serde_json::json!(n))),
            Tok::LParen => {
                let inner = self.nested(Self::or)?;
                self.expect(Tok::RParen, ")")?;
                Ok(inner)
            }
            Tok::Word(w) if matches!(w.as_str(), "true" | "false") => {
                self.expect(Tok::LParen, "(")?;
                self.expect(Tok::RParen, ")")?;
                Ok(Expr::Lit(Value::Bool(w == "true")))
            }
            Tok::Word(w) if w == "not" => {
                self.expect(Tok::LParen, "not(")?;
                let inner = self.nested(Self::or)?;
                self.expect(Tok::RParen, ")")?;
                Ok(Expr::Not(Box::new(inner)))
            }
            Tok::Word(w) if w == "selected" => {
                self.expect(Tok::LParen, "selected(")?;
                let field = match self.peek().cloned() {
                    Some(Tok::Field(f)) => f,
                    _ => return Err(fail("xlsform.xpath_selected", "selected(")),
                };
                self.pos += 1;
                self.expect(Tok::Comma, ",")?;
                let value = match self.peek().cloned() {
                    Some(Tok::Str(v)) if !v.contains('\'') => v,
                    _ => return Err(fail("xlsform.xpath_selected", "selected(")),
                };
                self.pos += 1;
                self.expect(Tok::RParen, ")")?;
                Ok(Expr::Selected(field, value))
            }
            Tok::Word(w) if matches!(self.peek(), Some(Tok::LParen)) => {
                Err(fail("xlsform.xpath_function", format!("{w}()")))
            }
            Tok::Word(w) if matches!(w.as_str(), "and" | "or") => {
                Err(fail("xlsform.xpath_syntax", w))
            }
            Tok::Word(w) => Err(fail("xlsform.xpath_word", w)),
            Tok::Dot => Err(fail("xlsform.xpath_dot", ".")),
            Tok::Op("==") => Err(fail("xlsform.xpath_syntax", "=")),
            Tok::Op(op) => Err(fail("xlsform.xpath_syntax", op)),
            Tok::RParen => Err(fail("xlsform.xpath_syntax", ")")),
            Tok::Comma => Err(fail("xlsform.xpath_syntax", ",")),
        }
    }
}

/// A `relevant` condition as a khaosat expression. `kind_of` answers the type
/// of a field the condition names (`None`: no such field where it is used).
pub fn relevant(src: &str, kind_of: impl Fn(&str) -> Option<FieldType>) -> Result<String, Failure> {
    let mut p = Parser {
        toks: tokens(src)?,
        pos: 0,
        depth: 0,
    };
    let tree = p.or()?;
    match p.peek() {
        None => {}
        Some(Tok::Word(w)) if !matches!(w.as_str(), "and" | "or") => {
            return Err(fail("xlsform.xpath_word", w.clone()))
        }
        Some(Tok::Op(op)) => return Err(fail("xlsform.xpath_chain", *op)),
        Some(other) => return Err(fail("xlsform.xpath_syntax", shown(other))),
    }
    check_fields(&tree, &kind_of)?;
    let text = expr::print(&tree, Syntax::Khaosat);
    // The khaosat parser must read back what was written (it has no escapes).
    expr::parse(&text).map_err(|e| fail("xlsform.xpath_syntax", e))?;
    Ok(text)
}

/// Every named field exists where the condition runs, and a multiple choice
/// is asked with `selected()` (an ODK phone compares `=` against the whole
/// space-separated list, which khaosat's list answers cannot imitate).
fn check_fields(tree: &Expr, kind_of: &impl Fn(&str) -> Option<FieldType>) -> Result<(), Failure> {
    for name in expr::fields(tree) {
        kind_of(name).ok_or_else(|| fail("xlsform.unknown_field", name))?;
    }
    // A question alone as a condition: ODK takes any answer as true ("no"
    // too), khaosat takes "no" as false. The same form would show different
    // questions on the two: it is written out instead.
    fn bare(e: &Expr) -> Result<(), Failure> {
        match e {
            Expr::Field(f) => Err(fail("xlsform.bare_field", f.clone())),
            Expr::Not(a) => bare(a),
            Expr::And(a, b) | Expr::Or(a, b) => bare(a).and(bare(b)),
            _ => Ok(()),
        }
    }
    bare(tree)?;
    fn walk(e: &Expr, kind_of: &impl Fn(&str) -> Option<FieldType>) -> Result<(), Failure> {
        match e {
            Expr::Cmp(_, a, b) => {
                for side in [a, b] {
                    if let Expr::Field(f) = side.as_ref() {
                        if kind_of(f) == Some(FieldType::SelectMany) {
                            return Err(fail("xlsform.compare_multiple", f.clone()));
                        }
                    }
                }
                walk(a, kind_of)?;
                walk(b, kind_of)
            }
            Expr::Selected(f, _) => match kind_of(f) {
                Some(FieldType::SelectMany | FieldType::SelectOne | FieldType::YesNo) => Ok(()),
                _ => Err(fail("xlsform.selected_not_choice", f.clone())),
            },
            Expr::Not(a) => walk(a, kind_of),
            Expr::And(a, b) | Expr::Or(a, b) => {
                walk(a, kind_of)?;
                walk(b, kind_of)
            }
            Expr::Lit(_) | Expr::Field(_) => Ok(()),
        }
    }
    walk(tree, kind_of)
}

/// A khaosat condition written as XLSForm XPath.
pub fn to_xpath(relevant: &str) -> String {
    match expr::parse(relevant) {
        Ok(tree) => expr::print(&tree, Syntax::XPath),
        Err(_) => relevant.to_string(),
    }
}

#[cfg(test)]
#[path = "xpath_tests.rs"]
mod tests;
