//! One file (about 620 lines): the tokenizer, parser, evaluator and printer of one small
//! language share its token and tree types; half the file is their tests.
//!
//! The `relevant` expression language: decides whether a field is shown.
//!
//! Grammar (lowest precedence first):
//! ```text
//! or   := and ("or" and)*
//! and  := not ("and" not)*
//! not  := "not" not | cmp
//! cmp  := atom (("==" | "!=" | "<" | "<=" | ">" | ">=") atom)?
//! atom := 'string' | number | true | false | field_key | "(" or ")"
//!       | "selected" "(" field_key "," 'string' ")"
//! ```
//! A field with no answer is `null`; comparisons with `null` are false except
//! `!=`, so `team_suggestion != 'not_supported'` hides nothing until answered.
//! The one exception is the empty string: an unanswered field equals `''`, as
//! it does in XLSForm (`${x} != ''` means "answered").
//! `selected(f, 'v')` is true when the multiple choice `f` holds `v` (or the
//! single choice `f` is `v`).

use serde_json::Value;
use std::collections::BTreeMap;

/// Deepest nesting of `not` and parentheses. The parser and the evaluator
/// recurse once per level; an uploaded form must not be able to overflow the
/// stack of the server or of a phone. Real conditions nest two or three deep.
pub const MAX_NESTING: usize = 32;

/// Most tokens in one expression. `and`/`or` chains are parsed in a loop but
/// build a tree as deep as they are long, which evaluation walks recursively.
pub const MAX_TOKENS: usize = 400;

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Str(String),
    Num(f64),
    Ident(String),
    Op(&'static str),
    LParen,
    RParen,
    Comma,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    Lit(Value),
    Field(String),
    Not(Box<Expr>),
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
    Cmp(&'static str, Box<Expr>, Box<Expr>),
    /// `selected(field, 'value')`.
    Selected(String, String),
}

fn tokenize(src: &str) -> Result<Vec<Token>, String> {
    let chars: Vec<char> = src.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            ' ' | '\t' | '\n' => i += 1,
            '(' => {
                out.push(Token::LParen);
                i += 1
            }
            ')' => {
                out.push(Token::RParen);
                i += 1
            }
            ',' => {
                out.push(Token::Comma);
                i += 1
            }
            '\'' => {
                let start = i + 1;
                let end = chars[start..]
                    .iter()
                    .position(|&c| c == '\'')
                    .ok_or("unterminated string")?;
                out.push(Token::Str(chars[start..start + end].iter().collect()));
                i = start + end + 1;
            }
            '=' | '!' | '<' | '>' => {
                let two: String = chars[i..(i + 2).min(chars.len())].iter().collect();
                let op = match two.as_str() {
                    "==" => "==",
                    "!=" => "!=",
                    "<=" => "<=",
                    ">=" => ">=",
                    _ if c == '<' => "<",
                    _ if c == '>' => ">",
                    _ => return Err(format!("unexpected \"{c}\" at {i}")),
                };
                i += op.len();
                out.push(Token::Op(op));
            }
            c if c.is_ascii_digit() || c == '-' => {
                let start = i;
                i += 1;
                while i < chars.len() && (chars[i].is_ascii_digit() || chars[i] == '.') {
                    i += 1;
                }
                let s: String = chars[start..i].iter().collect();
                out.push(Token::Num(
                    s.parse().map_err(|_| format!("bad number \"{s}\""))?,
                ));
            }
            c if c.is_ascii_alphabetic() || c == '_' => {
                let start = i;
                while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '_') {
                    i += 1;
                }
                out.push(Token::Ident(chars[start..i].iter().collect()));
            }
            _ => return Err(format!("unexpected \"{c}\" at {i}")),
        }
    }
    Ok(out)
}

struct Parser {
    tokens: Vec<Token>,
    pos: usize,
    depth: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.pos)
    }

    fn keyword(&mut self, word: &str) -> bool {
        if matches!(self.peek(), Some(Token::Ident(w)) if w == word) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn or(&mut self) -> Result<Expr, String> {
        let mut left = self.and()?;
        while self.keyword("or") {
            left = Expr::Or(Box::new(left), Box::new(self.and()?));
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Expr, String> {
        let mut left = self.not()?;
        while self.keyword("and") {
            left = Expr::And(Box::new(left), Box::new(self.not()?));
        }
        Ok(left)
    }

    fn not(&mut self) -> Result<Expr, String> {
        if self.keyword("not") {
            let inner = self.nested(Self::not)?;
            return Ok(Expr::Not(Box::new(inner)));
        }
        self.cmp()
    }

    /// One level deeper, refused past `MAX_NESTING`.
    fn nested(&mut self, rule: fn(&mut Self) -> Result<Expr, String>) -> Result<Expr, String> {
        if self.depth >= MAX_NESTING {
            return Err(format!(
                "nested more than {MAX_NESTING} levels deep (\"not\" and parentheses); simplify the condition"
            ));
        }
        self.depth += 1;
        let result = rule(self);
        self.depth -= 1;
        result
    }

    fn cmp(&mut self) -> Result<Expr, String> {
        let left = self.atom()?;
        if let Some(Token::Op(op)) = self.peek().cloned() {
            self.pos += 1;
            let right = self.atom()?;
            return Ok(Expr::Cmp(op, Box::new(left), Box::new(right)));
        }
        Ok(left)
    }

    fn atom(&mut self) -> Result<Expr, String> {
        let token = self.peek().cloned().ok_or("expression ends too early")?;
        self.pos += 1;
        match token {
            Token::Str(s) => Ok(Expr::Lit(Value::String(s))),
            Token::Num(n) => Ok(Expr::Lit(serde_json::json!(n))),
            Token::Ident(w) if w == "true" => Ok(Expr::Lit(Value::Bool(true))),
            Token::Ident(w) if w == "false" => Ok(Expr::Lit(Value::Bool(false))),
            Token::Ident(w) if matches!(w.as_str(), "and" | "or" | "not") => {
                Err(format!("\"{w}\" needs something before it"))
            }
            Token::Ident(w) if w == "selected" && self.peek() == Some(&Token::LParen) => {
                self.pos += 1;
                let (field, comma, value, close) = (
                    self.tokens.get(self.pos).cloned(),
                    self.tokens.get(self.pos + 1).cloned(),
                    self.tokens.get(self.pos + 2).cloned(),
                    self.tokens.get(self.pos + 3).cloned(),
                );
                match (field, comma, value, close) {
                    (
                        Some(Token::Ident(f)),
                        Some(Token::Comma),
                        Some(Token::Str(v)),
                        Some(Token::RParen),
                    ) => {
                        self.pos += 4;
                        Ok(Expr::Selected(f, v))
                    }
                    _ => Err(
                        "selected() takes a field and a 'value': selected(field, 'value')".into(),
                    ),
                }
            }
            Token::Ident(w) => Ok(Expr::Field(w)),
            Token::LParen => {
                let inner = self.nested(Self::or)?;
                if self.peek() != Some(&Token::RParen) {
                    return Err("missing \")\"".into());
                }
                self.pos += 1;
                Ok(inner)
            }
            other => Err(format!("unexpected {other:?}")),
        }
    }
}

pub fn parse(src: &str) -> Result<Expr, String> {
    let tokens = tokenize(src)?;
    if tokens.len() > MAX_TOKENS {
        return Err(format!(
            "{} parts, more than the {MAX_TOKENS} a condition may have; split it or simplify it",
            tokens.len()
        ));
    }
    let mut p = Parser {
        tokens,
        pos: 0,
        depth: 0,
    };
    let expr = p.or()?;
    if p.pos != p.tokens.len() {
        return Err(format!(
            "unexpected {:?} after the expression",
            p.tokens[p.pos]
        ));
    }
    Ok(expr)
}

fn value(expr: &Expr, answers: &BTreeMap<String, Value>) -> Value {
    match expr {
        Expr::Lit(v) => v.clone(),
        Expr::Field(k) => answers.get(k).cloned().unwrap_or(Value::Null),
        other => Value::Bool(truthy(other, answers)),
    }
}

fn truthy(expr: &Expr, answers: &BTreeMap<String, Value>) -> bool {
    match expr {
        Expr::Not(e) => !truthy(e, answers),
        Expr::And(a, b) => truthy(a, answers) && truthy(b, answers),
        Expr::Or(a, b) => truthy(a, answers) || truthy(b, answers),
        Expr::Selected(field, choice) => match answers.get(field) {
            Some(Value::Array(items)) => items.iter().any(|v| v.as_str() == Some(choice)),
            Some(Value::String(s)) => s == choice,
            _ => false,
        },
        Expr::Cmp(op, a, b) => {
            let (mut a, mut b) = (value(a, answers), value(b, answers));
            let blank = Value::String(String::new());
            if a.is_null() && b == blank {
                a = blank.clone();
            } else if b.is_null() && a == blank {
                b = blank;
            }
            if a.is_null() || b.is_null() {
                return *op == "!=" && a != b;
            }
            // As XPath (ODK, Enketo): beside a number, or under an ordering, an
            // answer's text that reads as a number is that number, so the
            // choice code "1" equals 1 and a Likert "4" is >= 3.
            let numeric = a.is_number() || b.is_number() || !matches!(*op, "==" | "!=");
            if !numeric {
                return (*op == "==") == (a == b);
            }
            match (as_number(&a), as_number(&b)) {
                (Some(x), Some(y)) => match *op {
                    "==" => x == y,
                    "!=" => x != y,
                    "<" => x < y,
                    "<=" => x <= y,
                    ">" => x > y,
                    _ => x >= y,
                },
                _ => match *op {
                    "==" => a == b,
                    "!=" => a != b,
                    _ => false,
                },
            }
        }
        e => match value(e, answers) {
            Value::Bool(b) => b,
            Value::Null => false,
            Value::String(s) => !s.is_empty() && s != "no",
            Value::Number(n) => n.as_f64() != Some(0.0),
            _ => true,
        },
    }
}

fn as_number(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse::<f64>().ok().filter(|x| x.is_finite()),
        _ => None,
    }
}

/// Every field an expression reads, in order of appearance.
pub fn fields(expr: &Expr) -> Vec<&str> {
    let mut out = Vec::new();
    fn walk<'a>(e: &'a Expr, out: &mut Vec<&'a str>) {
        match e {
            Expr::Lit(_) => {}
            Expr::Field(k) | Expr::Selected(k, _) => out.push(k),
            Expr::Not(a) => walk(a, out),
            Expr::And(a, b) | Expr::Or(a, b) | Expr::Cmp(_, a, b) => {
                walk(a, out);
                walk(b, out);
            }
        }
    }
    walk(expr, &mut out);
    out
}

/// How an expression is written out: khaosat's own syntax, or XPath as
/// XLSForm writes it (`${field}`, `=`, `not(...)`, `true()`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Syntax {
    Khaosat,
    XPath,
}

/// Writes an expression back as text with only the parentheses it needs
/// (`not` always takes them, as people write it). Parsing the text gives the
/// same tree, so a stored condition has one canonical spelling.
pub fn print(expr: &Expr, syntax: Syntax) -> String {
    // Precedence: or 1, and 2, not 3, comparison 4, atom 5.
    fn level(e: &Expr) -> u8 {
        match e {
            Expr::Or(..) => 1,
            Expr::And(..) => 2,
            Expr::Not(_) => 3,
            Expr::Cmp(..) => 4,
            _ => 5,
        }
    }
    fn go(e: &Expr, min: u8, x: Syntax, out: &mut String) {
        let wrap = level(e) < min;
        if wrap {
            out.push('(');
        }
        match e {
            Expr::Lit(v) => out.push_str(&literal(v, x)),
            Expr::Field(k) if x == Syntax::XPath => out.push_str(&format!("${{{k}}}")),
            Expr::Field(k) => out.push_str(k),
            Expr::Selected(k, v) => {
                let field = if x == Syntax::XPath {
                    format!("${{{k}}}")
                } else {
                    k.clone()
                };
                out.push_str(&format!("selected({field}, {})", quote(v)));
            }
            Expr::Not(a) => {
                out.push_str(if x == Syntax::XPath { "not(" } else { "not (" });
                go(a, 1, x, out);
                out.push(')');
            }
            Expr::Or(a, b) | Expr::And(a, b) => {
                let (word, lvl) = if matches!(e, Expr::Or(..)) {
                    ("or", 1)
                } else {
                    ("and", 2)
                };
                go(a, lvl, x, out);
                out.push_str(&format!(" {word} "));
                go(b, lvl + 1, x, out);
            }
            Expr::Cmp(op, a, b) => {
                let op = if x == Syntax::XPath && *op == "==" {
                    "="
                } else {
                    op
                };
                go(a, 5, x, out);
                out.push_str(&format!(" {op} "));
                go(b, 5, x, out);
            }
        }
        if wrap {
            out.push(')');
        }
    }
    let mut out = String::new();
    go(expr, 1, syntax, &mut out);
    out
}

/// A literal as both syntaxes write it (no escapes exist in either: a text
/// holding `'` is written in double quotes, which khaosat's parser does not
/// read, so such literals only travel to XPath).
fn literal(v: &Value, x: Syntax) -> String {
    match v {
        Value::String(s) => quote(s),
        Value::Bool(b) if x == Syntax::XPath => format!("{b}()"),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => match n.as_f64() {
            Some(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", f as i64),
            Some(f) => f.to_string(),
            None => n.to_string(),
        },
        other => other.to_string(),
    }
}

fn quote(s: &str) -> String {
    if s.contains('\'') {
        format!("\"{s}\"")
    } else {
        format!("'{s}'")
    }
}

/// The canonical spelling of a condition (see [`print`]); text that does not
/// parse is returned as it is, for the definition check to refuse.
pub fn canonical(src: &str) -> String {
    parse(src)
        .map(|e| print(&e, Syntax::Khaosat))
        .unwrap_or_else(|_| src.to_string())
}

/// Parses a `relevant` expression once, for a screen that evaluates it on every
/// keystroke. `None` (always shown) when absent or unparseable.
pub fn compile(relevant: Option<&str>) -> Option<Expr> {
    relevant.and_then(|src| parse(src).ok())
}

/// Evaluates a compiled `relevant` expression.
pub fn shown(expr: Option<&Expr>, answers: &BTreeMap<String, Value>) -> bool {
    expr.is_none_or(|e| truthy(e, answers))
}

/// Whether a field with this `relevant` expression is shown. A missing expression
/// means always; one that does not parse (refused at upload) also shows the field,
/// so nothing is ever hidden by mistake.
pub fn is_relevant(relevant: Option<&str>, answers: &BTreeMap<String, Value>) -> bool {
    match relevant.map(parse) {
        None | Some(Err(_)) => true,
        Some(Ok(expr)) => truthy(&expr, answers),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn answers(pairs: &[(&str, Value)]) -> BTreeMap<String, Value> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect()
    }

    #[test]
    fn the_suggested_amount_shows_unless_not_supported() {
        let rule = Some("team_suggestion != 'not_supported'");
        assert!(is_relevant(
            rule,
            &answers(&[("team_suggestion", json!("provincial"))])
        ));
        assert!(!is_relevant(
            rule,
            &answers(&[("team_suggestion", json!("not_supported"))])
        ));
    }

    #[test]
    fn numbers_compare_numerically_and_missing_answers_are_false() {
        let rule = Some("workforce >= 10 and not (industry == 'other')");
        assert!(is_relevant(
            rule,
            &answers(&[("workforce", json!(10)), ("industry", json!("processing"))])
        ));
        assert!(!is_relevant(rule, &answers(&[("workforce", json!(9))])));
        assert!(!is_relevant(rule, &answers(&[])));
    }

    #[test]
    fn a_choice_code_that_reads_as_a_number_compares_as_one() {
        let code = |v: &str| answers(&[("q", json!(v))]);
        assert!(is_relevant(Some("q == 1"), &code("1")));
        assert!(!is_relevant(Some("q == 1"), &code("2")));
        assert!(is_relevant(Some("q != 1"), &code("2")));
        assert!(!is_relevant(Some("q != 1"), &code(" 1 ")));
        assert!(is_relevant(Some("q >= 3"), &code("4")));
        assert!(!is_relevant(Some("q >= 3"), &code("2")));
        assert!(!is_relevant(Some("q >= 3"), &code("abc")));
        assert!(is_relevant(Some("q != 1"), &code("abc")));
        // Text beside text stays text: "01" is not "1".
        assert!(!is_relevant(Some("q == '1'"), &code("01")));
        let n = answers(&[("n", json!(5))]);
        assert!(is_relevant(Some("n == '5'"), &n));
    }

    #[test]
    fn bad_expressions_are_reported_with_a_reason() {
        assert!(parse("a == ").is_err());
        assert!(parse("(a == 'x'").unwrap_err().contains(")"));
        assert!(parse("a = 'x'").is_err());
        assert!(parse("'open").is_err());
    }

    #[test]
    fn deep_nesting_is_refused_with_a_reason_instead_of_overflowing_the_stack() {
        // Hostile depths are refused by their length before any recursion.
        for hostile in [
            format!("{}a == 1", "not ".repeat(100_000)),
            format!("{}a{}", "(".repeat(100_000), ")".repeat(100_000)),
            format!("{}a", "not (".repeat(20_000)),
        ] {
            assert!(parse(&hostile).is_err());
        }
        // Within the length limit, the nesting limit speaks.
        let nots = format!("{}a == 1", "not ".repeat(40));
        assert!(parse(&nots).unwrap_err().contains("nested more than 32"));
        let parens = format!("{}a{}", "(".repeat(40), ")".repeat(40));
        assert!(parse(&parens).unwrap_err().contains("nested more than 32"));
        // Still within bounds: parses and evaluates.
        let ok = format!("{}a == 1{}", "not (".repeat(16), ")".repeat(16));
        assert!(parse(&ok).is_ok());
    }

    #[test]
    fn selected_reads_multiple_and_single_choices() {
        let rule = Some("selected(support, 'machines') and not (size == 'large')");
        assert!(is_relevant(
            rule,
            &answers(&[("support", json!(["training", "machines"]))])
        ));
        assert!(!is_relevant(
            rule,
            &answers(&[("support", json!(["training"]))])
        ));
        assert!(is_relevant(
            rule,
            &answers(&[("support", json!("machines"))])
        ));
        assert!(!is_relevant(rule, &answers(&[])));
        assert!(parse("selected(support)")
            .unwrap_err()
            .contains("selected(field, 'value')"));
    }

    #[test]
    fn an_unanswered_field_equals_the_empty_string() {
        assert!(is_relevant(Some("name == ''"), &answers(&[])));
        assert!(!is_relevant(Some("name != ''"), &answers(&[])));
        assert!(is_relevant(
            Some("name != ''"),
            &answers(&[("name", json!("A"))])
        ));
    }

    #[test]
    fn printing_gives_back_the_same_tree_in_both_syntaxes() {
        for src in [
            "team_suggestion != 'not_supported'",
            "a == 1 and not (b == 'x' or c >= 2.5)",
            "(a == 1 or b == 2) and c < 3",
            "a == 1 or b == 2 and c == 3",
            "not (not (a))",
            "selected(s, 'v') or flag == true",
            "x == -4",
        ] {
            let tree = parse(src).unwrap();
            let text = print(&tree, Syntax::Khaosat);
            assert_eq!(parse(&text).unwrap(), tree, "{src} printed as {text}");
            assert_eq!(canonical(&text), text, "canonical is a fixed point");
        }
        let tree = parse("a == 1 and not (selected(s, 'v') or b == true)").unwrap();
        assert_eq!(
            print(&tree, Syntax::XPath),
            "${a} = 1 and not(selected(${s}, 'v') or ${b} = true())"
        );
        assert_eq!(canonical("not(a==1)"), "not (a == 1)");
    }

    #[test]
    fn very_long_chains_are_refused() {
        let chain = vec!["a == 1"; 10_000].join(" and ");
        assert!(parse(&chain).unwrap_err().contains("more than the 400"));
        let short = vec!["a == 1"; 50].join(" or ");
        assert!(is_relevant(Some(&short), &answers(&[("a", json!(1))])));
    }
}
