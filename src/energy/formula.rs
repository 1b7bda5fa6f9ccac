//! Virtual meters: a meter defined in the site config as a linear formula of other meters, such
//! as `admin-main - admin-light - admin-hvac` (the remainder of a main meter after its
//! sub-meters) or `0.5 * boiler + 0.5 * chiller` (a share of shared equipment).
//!
//! Grammar:
//!
//! ```text
//! formula := [ "-" ] term { op term }
//! op      := "+" | "-"
//! term    := ID | NUMBER "*" ID
//! ID      := ASCII letters, digits, "-", "_", "." (not starting or ending with "-")
//! NUMBER  := digits [ "." digits ]
//! ```
//!
//! Meter ids may contain `-`, so **the operators `+` and `-` must have whitespace on both
//! sides**: `a-b` is the single meter `a-b`, `a - b` is a difference, and `a+b` is an error.
//! A leading `-` (`- a + b`) also needs whitespace after it. Spaces around `*` are optional.

use std::fmt;
use std::str::FromStr;

use rust_decimal::Decimal;

/// A linear combination of meters: the sum of `coefficient × meter` over its terms.
#[derive(Debug, Clone, PartialEq)]
pub struct Formula {
    pub terms: Vec<Term>,
}

/// One `coefficient × meter` term; the sign of the operator before it is in the coefficient.
#[derive(Debug, Clone, PartialEq)]
pub struct Term {
    pub coefficient: Decimal,
    pub meter: String,
}

/// Why a formula does not parse, and where.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{message} (at column {column})")]
pub struct FormulaError {
    /// 1-based character (not byte) column in the formula text.
    pub column: usize,
    pub message: String,
}

const SPACES_HINT: &str =
    "put spaces around + and - (meter ids may contain `-`, so `a-b` is one id)";

fn is_id_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind<'a> {
    Word(&'a str),
    Star,
    Plus,
    Minus,
}

#[derive(Debug, Clone, Copy)]
struct Token<'a> {
    kind: Kind<'a>,
    column: usize,
    space_before: bool,
    space_after: bool,
}

fn error(column: usize, message: impl Into<String>) -> FormulaError {
    FormulaError {
        column,
        message: message.into(),
    }
}

fn tokenize(text: &str) -> Result<Vec<Token<'_>>, FormulaError> {
    let mut tokens: Vec<Token> = Vec::new();
    let mut chars = text.char_indices().enumerate().peekable();
    let mut space_before = false;
    while let Some((index, (byte, c))) = chars.next() {
        let column = index + 1;
        let kind = if c.is_whitespace() {
            if let Some(last) = tokens.last_mut() {
                last.space_after = true;
            }
            space_before = true;
            continue;
        } else if c == '*' {
            Kind::Star
        } else if c == '+' {
            Kind::Plus
        } else if is_id_char(c) {
            let mut end = byte + c.len_utf8();
            while let Some(&(_, (b, next))) = chars.peek() {
                if !is_id_char(next) {
                    break;
                }
                end = b + next.len_utf8();
                chars.next();
            }
            match &text[byte..end] {
                "-" => Kind::Minus,
                word => Kind::Word(word),
            }
        } else {
            return Err(error(
                column,
                format!(
                    "unexpected character `{c}`: a term is a meter id (ASCII letters, digits, \
                     `-`, `_`, `.`) or `NUMBER * ID`, joined by + and -"
                ),
            ));
        };
        tokens.push(Token {
            kind,
            column,
            space_before,
            space_after: false,
        });
        space_before = false;
    }
    Ok(tokens)
}

/// Checks a word used as a meter id.
fn meter_id(word: &str, column: usize) -> Result<String, FormulaError> {
    if word.starts_with('-') {
        return Err(error(
            column,
            format!("`{word}` is not a meter id: {SPACES_HINT}"),
        ));
    }
    if word.ends_with('-') {
        let at = column + word.chars().count() - 1;
        return Err(error(
            at,
            format!("`{word}` is not a meter id: {SPACES_HINT}"),
        ));
    }
    Ok(word.to_string())
}

/// Parses a coefficient: `digits [ "." digits ]`.
fn number(word: &str, column: usize) -> Result<Decimal, FormulaError> {
    let (whole, fraction) = match word.split_once('.') {
        Some((whole, fraction)) => (whole, Some(fraction)),
        None => (word, None),
    };
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(whole) || fraction.is_some_and(|f| !digits(f)) {
        return Err(error(
            column,
            format!(
                "`{word}` before `*` is not a number (expected digits with an optional \
                 decimal point, like 0.5): a term is `ID` or `NUMBER * ID`"
            ),
        ));
    }
    Decimal::from_str(word)
        .map_err(|e| error(column, format!("`{word}` is not a usable number: {e}")))
}

fn describe(kind: Kind) -> String {
    match kind {
        Kind::Word(w) => format!("`{w}`"),
        Kind::Star => "`*`".to_string(),
        Kind::Plus => "`+`".to_string(),
        Kind::Minus => "`-`".to_string(),
    }
}

impl Formula {
    /// Parses a formula; see the module documentation for the grammar.
    pub fn parse(text: &str) -> Result<Formula, FormulaError> {
        let tokens = tokenize(text)?;
        let Some(first) = tokens.first() else {
            return Err(error(1, "empty formula: expected a meter id"));
        };
        let mut pos = 0;
        let mut negative = false;
        if first.kind == Kind::Minus {
            if !first.space_after && tokens.len() > 1 {
                return Err(error(first.column, SPACES_HINT));
            }
            negative = true;
            pos = 1;
        }
        let mut terms = Vec::new();
        loop {
            // The operator (or leading `-`) before this term is tokens[pos - 1], if any.
            let term = match tokens.get(pos) {
                None => {
                    let op = &tokens[pos - 1];
                    return Err(error(
                        op.column,
                        format!("{} at the end: expected a term after it", describe(op.kind)),
                    ));
                }
                Some(t) => *t,
            };
            let (coefficient, meter, next) = match term.kind {
                Kind::Word(word) => match tokens.get(pos + 1) {
                    Some(star) if star.kind == Kind::Star => {
                        let value = number(word, term.column)?;
                        match tokens.get(pos + 2) {
                            Some(Token {
                                kind: Kind::Word(id),
                                column,
                                ..
                            }) => (value, meter_id(id, *column)?, pos + 3),
                            Some(other) => {
                                return Err(error(
                                    other.column,
                                    format!(
                                        "expected a meter id after `*`, found {}",
                                        describe(other.kind)
                                    ),
                                ));
                            }
                            None => {
                                return Err(error(
                                    star.column,
                                    "`*` at the end: expected a meter id after it",
                                ));
                            }
                        }
                    }
                    _ => (Decimal::ONE, meter_id(word, term.column)?, pos + 1),
                },
                Kind::Star => {
                    return Err(error(
                        term.column,
                        "`*` needs a number before it: a term is `ID` or `NUMBER * ID`",
                    ));
                }
                Kind::Plus | Kind::Minus => {
                    return Err(error(
                        term.column,
                        format!(
                            "expected a meter id or number, found {}",
                            describe(term.kind)
                        ),
                    ));
                }
            };
            terms.push(Term {
                coefficient: if negative { -coefficient } else { coefficient },
                meter,
            });
            let Some(op) = tokens.get(next) else {
                return Ok(Formula { terms });
            };
            negative = match op.kind {
                Kind::Plus => false,
                Kind::Minus => true,
                Kind::Star => {
                    return Err(error(
                        op.column,
                        "unexpected `*`: a term is `ID` or `NUMBER * ID`, with the number first",
                    ));
                }
                Kind::Word(word) if word.starts_with('-') => {
                    return Err(error(op.column, SPACES_HINT));
                }
                Kind::Word(word) => {
                    return Err(error(
                        op.column,
                        format!("expected + or - before `{word}`, found two terms in a row"),
                    ));
                }
            };
            let at_end = next + 1 == tokens.len();
            if !op.space_before || (!op.space_after && !at_end) {
                return Err(error(op.column, SPACES_HINT));
            }
            pos = next + 1;
        }
    }

    /// Meter ids referenced, in order of first appearance, without duplicates.
    pub fn meters(&self) -> Vec<&str> {
        let mut meters: Vec<&str> = Vec::new();
        for term in &self.terms {
            if !meters.contains(&term.meter.as_str()) {
                meters.push(&term.meter);
            }
        }
        meters
    }

    /// Evaluates with each meter's value from `value_of`; None if any meter has no value
    /// (or, for absurd values, if the arithmetic would overflow a Decimal).
    pub fn evaluate(&self, value_of: impl Fn(&str) -> Option<Decimal>) -> Option<Decimal> {
        self.terms.iter().try_fold(Decimal::ZERO, |sum, term| {
            let value = value_of(&term.meter)?;
            sum.checked_add(term.coefficient.checked_mul(value)?)
        })
    }
}

/// Canonical text: `a - b + 0.5 * c`; parses back to an equal formula.
impl fmt::Display for Formula {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, term) in self.terms.iter().enumerate() {
            let negative = term.coefficient < Decimal::ZERO;
            match (i, negative) {
                (0, false) => {}
                (0, true) => f.write_str("- ")?,
                (_, false) => f.write_str(" + ")?,
                (_, true) => f.write_str(" - ")?,
            }
            let magnitude = term.coefficient.abs().normalize();
            if magnitude == Decimal::ONE {
                f.write_str(&term.meter)?;
            } else {
                write!(f, "{magnitude} * {}", term.meter)?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn d(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    fn term(coefficient: &str, meter: &str) -> Term {
        Term {
            coefficient: d(coefficient),
            meter: meter.to_string(),
        }
    }

    fn err(text: &str) -> FormulaError {
        Formula::parse(text).expect_err(text)
    }

    #[test]
    fn parses_differences_sums_and_coefficients() {
        let f = Formula::parse("admin-main - admin-light - admin-hvac").unwrap();
        assert_eq!(
            f.terms,
            vec![
                term("1", "admin-main"),
                term("-1", "admin-light"),
                term("-1", "admin-hvac")
            ]
        );
        let f = Formula::parse("lib-f1 + lib-f2").unwrap();
        assert_eq!(f.terms, vec![term("1", "lib-f1"), term("1", "lib-f2")]);
        let f = Formula::parse("0.5 * boiler + 0.5*chiller - x_y.z").unwrap();
        assert_eq!(
            f.terms,
            vec![
                term("0.5", "boiler"),
                term("0.5", "chiller"),
                term("-1", "x_y.z")
            ]
        );
        let f = Formula::parse("  - a +\tb  -  2 *c ").unwrap();
        assert_eq!(
            f.terms,
            vec![term("-1", "a"), term("1", "b"), term("-2", "c")]
        );
        let f = Formula::parse("- 1.25 * a").unwrap();
        assert_eq!(f.terms, vec![term("-1.25", "a")]);
        // An id made of digits is an id unless a `*` follows it.
        let f = Formula::parse("101 - 2 * 102").unwrap();
        assert_eq!(f.terms, vec![term("1", "101"), term("-2", "102")]);
    }

    #[test]
    fn a_hyphen_without_spaces_is_part_of_the_id() {
        let f = Formula::parse("a-b").unwrap();
        assert_eq!(f.terms, vec![term("1", "a-b")]);
    }

    #[test]
    fn meters_are_listed_once_in_order() {
        let f = Formula::parse("b - a + 0.5 * b + c").unwrap();
        assert_eq!(f.meters(), vec!["b", "a", "c"]);
    }

    #[test]
    fn evaluates_and_combines_repeated_meters() {
        let f = Formula::parse("main - light - 0.5 * hvac + main").unwrap();
        let value = |m: &str| match m {
            "main" => Some(d("100.5")),
            "light" => Some(d("20")),
            "hvac" => Some(d("30.2")),
            _ => None,
        };
        assert_eq!(f.evaluate(value), Some(d("165.9")));
        let missing = Formula::parse("main - other").unwrap();
        assert_eq!(missing.evaluate(value), None);
        let huge = Formula::parse("a + a").unwrap();
        assert_eq!(huge.evaluate(|_| Some(Decimal::MAX)), None);
    }

    #[test]
    fn displays_canonically() {
        let f = Formula::parse("- a+b  +  0.50*c - 1 * d -  2.0 * e").unwrap_err();
        assert!(f.message.contains("put spaces"), "{f}");
        let f = Formula::parse("- a +  b  +  0.50*c - 1 * d -  2.0 * e").unwrap();
        assert_eq!(f.to_string(), "- a + b + 0.5 * c - d - 2 * e");
        assert_eq!(Formula::parse(&f.to_string()).unwrap(), f);
        let f = Formula::parse("0 * a").unwrap();
        assert_eq!(f.to_string(), "0 * a");
    }

    #[test]
    fn errors_say_what_and_where() {
        let e = err("");
        assert_eq!((e.column, e.message.contains("empty")), (1, true));
        assert_eq!(err("   ").column, 1);

        let e = err("a -");
        assert_eq!(e.column, 3);
        assert!(e.message.contains("expected a term"), "{e}");
        assert_eq!(err("a + ").column, 3);
        assert_eq!(err("-").column, 1);

        let e = err("a b");
        assert_eq!(e.column, 3);
        assert!(e.message.contains("two terms in a row"), "{e}");

        let e = err("a+b");
        assert_eq!(e.column, 2);
        assert!(e.message.contains("put spaces around + and -"), "{e}");
        assert_eq!(err("a +b").column, 3);
        assert_eq!(err("a+ b").column, 2);
        let e = err("a -b");
        assert_eq!(e.column, 3);
        assert!(e.message.contains("put spaces around + and -"), "{e}");
        let e = err("a- b");
        assert_eq!(e.column, 2);
        assert!(e.message.contains("put spaces around + and -"), "{e}");
        let e = err("-a + b");
        assert_eq!(e.column, 1);
        assert!(e.message.contains("put spaces around + and -"), "{e}");

        let e = err("1.2.3 * a");
        assert_eq!(e.column, 1);
        assert!(e.message.contains("not a number"), "{e}");
        assert_eq!(err("a + .5 * b").column, 5);
        assert_eq!(err("a + 5. * b").column, 5);
        let e = err("a * 2");
        assert!(e.message.contains("not a number"), "{e}");

        let e = err("* a");
        assert_eq!(e.column, 1);
        assert!(e.message.contains("needs a number before it"), "{e}");
        assert_eq!(err("a - * b").column, 5);
        assert_eq!(err("2 *").column, 3);
        assert_eq!(err("2 * * a").column, 5);
        assert_eq!(err("2 * a * b").column, 7);

        let e = err("a + b/c");
        assert_eq!(e.column, 6);
        assert!(e.message.contains("unexpected character `/`"), "{e}");
        // Columns count characters, not bytes.
        assert_eq!(err("电表 + a").column, 1);
        assert_eq!(err("a + 电").column, 5);

        assert!(err("+ a").message.contains("found `+`"));
        assert_eq!(err("a - - b").column, 5);
        assert_eq!(
            err("a b").to_string(),
            "expected + or - before `b`, found two terms in a row (at column 3)"
        );
    }

    #[test]
    fn huge_numbers_are_errors_not_panics() {
        let e = err("123456789012345678901234567890123 * a");
        assert_eq!(e.column, 1);
    }

    fn meter_id_strategy() -> impl Strategy<Value = String> {
        "[a-zA-Z_][a-zA-Z0-9_.-]{0,8}[a-zA-Z0-9_.]|[a-zA-Z_.0-9]"
    }

    fn formula_strategy() -> impl Strategy<Value = Formula> {
        prop::collection::vec((-100_000i64..100_000, 0u32..6, meter_id_strategy()), 1..6).prop_map(
            |terms| Formula {
                terms: terms
                    .into_iter()
                    .map(|(n, scale, meter)| Term {
                        coefficient: Decimal::new(n, scale),
                        meter,
                    })
                    .collect(),
            },
        )
    }

    proptest! {
        #[test]
        fn parsing_anything_never_panics(text in any::<String>()) {
            let _ = Formula::parse(&text);
        }

        #[test]
        fn parsing_formula_like_text_never_panics_and_canonicalizes(
            text in "[ a-c0-9.*+_-]{0,24}"
        ) {
            if let Ok(f) = Formula::parse(&text) {
                let canonical = f.to_string();
                prop_assert_eq!(Formula::parse(&canonical), Ok(f));
            }
        }

        #[test]
        fn display_then_parse_round_trips(f in formula_strategy()) {
            prop_assert_eq!(Formula::parse(&f.to_string()), Ok(f));
        }
    }
}
