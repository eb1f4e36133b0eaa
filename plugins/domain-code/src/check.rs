//! Comparing a program's result with the expected one, as LiveCodeBench's
//! `lcb_runner/evaluation/testing_util.py` does.
//!
//! - stdin tests (`grade_stdio`): both outputs are stripped, split on
//!   `\n`, each line stripped; the line counts must match; each pair of
//!   lines is equal as text, or else both split on whitespace into
//!   `Decimal`s that are equal element by element.
//! - functional tests (`grade_call_based`): the expected output is
//!   `json.loads`-ed and compared with `==` to the returned value (a
//!   returned tuple counts as a list).

use std::cmp::Ordering;

use num_bigint::BigInt;

use crate::pyvalue::{py_eq, Py};

/// Python's `str.isspace` (Rust's `char::is_whitespace` plus the four
/// ASCII separators Python also counts).
pub fn is_py_space(c: char) -> bool {
    c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c)
}

fn py_strip(s: &str) -> &str {
    s.trim_matches(is_py_space)
}

/// LiveCodeBench's `get_stripped_lines`.
pub fn stripped_lines(text: &str) -> Vec<&str> {
    py_strip(text).split('\n').map(py_strip).collect()
}

/// Compares stdout with the expected output; `Err` says where they differ.
pub fn compare_stdout(got: &str, expected: &str) -> Result<(), String> {
    let g = stripped_lines(got);
    let e = stripped_lines(expected);
    if g.len() != e.len() {
        return Err(format!(
            "wrong answer: {} output lines, expected {}",
            g.len(),
            e.len()
        ));
    }
    for (n, (a, b)) in g.iter().zip(&e).enumerate() {
        if a == b {
            continue;
        }
        let equal = match (decimals(a), decimals(b)) {
            (Some(x), Some(y)) => x.len() == y.len() && x.iter().zip(&y).all(|(p, q)| p.eq_py(q)),
            _ => false,
        };
        if !equal {
            return Err(format!(
                "wrong answer: line {}: got `{}`, expected `{}`",
                n + 1,
                clip(a),
                clip(b)
            ));
        }
    }
    Ok(())
}

/// Compares a returned value with the expected JSON.
pub fn compare_value(got: &Py, expected: &Py) -> Result<(), String> {
    if py_eq(got, expected) {
        Ok(())
    } else {
        Err(format!(
            "wrong answer: returned {}, expected {}",
            got.show(),
            expected.show()
        ))
    }
}

fn clip(s: &str) -> String {
    let mut out: String = s.chars().take(80).collect();
    if out.len() < s.len() {
        out.push('…');
    }
    out
}

/// A Python `Decimal`, for equality only.
#[derive(Clone, Debug, PartialEq)]
pub enum Dec {
    /// `(-1)^neg * digits * 10^exp`, digits without leading or trailing
    /// zeros (empty for zero).
    Finite {
        /// Negative.
        neg: bool,
        /// The significant digits.
        digits: String,
        /// The power of ten they are scaled by.
        exp: BigInt,
    },
    /// An infinity.
    Inf {
        /// Negative infinity.
        neg: bool,
    },
    /// Not a number (equal to nothing).
    NaN,
}

impl Dec {
    /// Python's `==` between Decimals (NaN equals nothing, -0 == 0).
    pub fn eq_py(&self, other: &Dec) -> bool {
        match (self, other) {
            (
                Dec::Finite {
                    neg: n1,
                    digits: d1,
                    exp: e1,
                },
                Dec::Finite {
                    neg: n2,
                    digits: d2,
                    exp: e2,
                },
            ) => {
                if d1.is_empty() || d2.is_empty() {
                    return d1.is_empty() && d2.is_empty();
                }
                n1 == n2 && d1 == d2 && e1.cmp(e2) == Ordering::Equal
            }
            (Dec::Inf { neg: a }, Dec::Inf { neg: b }) => a == b,
            _ => false,
        }
    }
}

/// `[Decimal(x) for x in line.split()]`, or `None` when one is not a
/// number.
pub fn decimals(line: &str) -> Option<Vec<Dec>> {
    line.split(is_py_space)
        .filter(|w| !w.is_empty())
        .map(parse_decimal)
        .collect()
}

/// `Decimal(text)`: sign, digits with an optional point, an optional
/// exponent, `Inf`/`Infinity`/`NaN`/`sNaN` (any case, NaN with optional
/// payload digits); underscores between digits as Python allows them.
pub fn parse_decimal(text: &str) -> Option<Dec> {
    let (neg, body) = match text.as_bytes().first()? {
        b'-' => (true, &text[1..]),
        b'+' => (false, &text[1..]),
        _ => (false, text),
    };
    let lower = body.to_ascii_lowercase();
    if lower == "inf" || lower == "infinity" {
        return Some(Dec::Inf { neg });
    }
    for nan in ["nan", "snan"] {
        if let Some(payload) = lower.strip_prefix(nan) {
            return payload
                .bytes()
                .all(|b| b.is_ascii_digit())
                .then_some(Dec::NaN);
        }
    }
    let (mantissa, exponent) = match body.find(['e', 'E']) {
        Some(p) => (&body[..p], Some(&body[p + 1..])),
        None => (body, None),
    };
    let (int_part, frac_part) = match mantissa.find('.') {
        Some(p) => (&mantissa[..p], &mantissa[p + 1..]),
        None => (mantissa, ""),
    };
    let int_digits = digit_run(int_part)?;
    let frac_digits = digit_run(frac_part)?;
    if int_digits.is_empty() && frac_digits.is_empty() {
        return None;
    }
    let mut exp: BigInt = match exponent {
        Some(e) => {
            let (eneg, edigits) = match e.as_bytes().first()? {
                b'-' => (true, &e[1..]),
                b'+' => (false, &e[1..]),
                _ => (false, e),
            };
            let d = digit_run(edigits)?;
            if d.is_empty() {
                return None;
            }
            let v: BigInt = d.parse().ok()?;
            if eneg {
                -v
            } else {
                v
            }
        }
        None => BigInt::from(0),
    };
    exp -= BigInt::from(frac_digits.len());
    let mut digits = int_digits;
    digits.push_str(&frac_digits);
    let trimmed_lead = digits.trim_start_matches('0');
    let trimmed = trimmed_lead.trim_end_matches('0');
    exp += BigInt::from(trimmed_lead.len() - trimmed.len());
    Some(Dec::Finite {
        neg,
        digits: trimmed.to_string(),
        exp,
    })
}

/// ASCII digits with single underscores between them (Python's rule for
/// numeric literals in `Decimal`); the digits without underscores.
fn digit_run(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out = String::with_capacity(s.len());
    for (i, &c) in b.iter().enumerate() {
        if c.is_ascii_digit() {
            out.push(c as char);
        } else if c == b'_'
            && i > 0
            && b[i - 1].is_ascii_digit()
            && b.get(i + 1).is_some_and(u8::is_ascii_digit)
        {
            continue;
        } else {
            return None;
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_stripped_and_counted() {
        assert!(compare_stdout("3\n", "3").is_ok());
        assert!(compare_stdout("  1 2 \n3\n\n", "1 2\n3").is_ok());
        assert!(compare_stdout("1\n\n2", "1\n2").is_err());
        assert!(compare_stdout("", "").is_ok());
        assert!(compare_stdout("", "0").is_err());
        assert!(compare_stdout("Yes", "YES").is_err());
    }

    #[test]
    fn numbers_compare_as_decimals() {
        assert!(compare_stdout("1.50 2", "1.5 2.000").is_ok());
        assert!(compare_stdout("0.1", "1e-1").is_ok());
        assert!(compare_stdout("-0", "0.000").is_ok());
        assert!(compare_stdout("1.000001", "1.0").is_err());
        assert!(compare_stdout("1 2", "1 2 3").is_err());
        assert!(compare_stdout("nan", "nan").is_ok(), "equal as text");
        assert!(compare_stdout("nan", "NaN").is_err());
        assert!(compare_stdout("Infinity", "inf").is_ok());
        assert!(compare_stdout("1_000", "1000").is_ok());
        assert!(compare_stdout("1__000", "1000").is_err());
        assert!(compare_stdout("1.", "1").is_ok());
        assert!(compare_stdout(".5", "0.5").is_ok());
        assert!(compare_stdout("0x10", "16").is_err());
        assert!(compare_stdout("1e999999999999999999999", "10e999999999999999999998").is_ok());
    }

    #[test]
    fn decimal_parsing() {
        assert_eq!(parse_decimal("."), None);
        assert_eq!(parse_decimal("e5"), None);
        assert_eq!(parse_decimal("1e"), None);
        assert_eq!(parse_decimal("sNaN12"), Some(Dec::NaN));
        assert!(parse_decimal("-").is_none());
        assert!(parse_decimal("").is_none());
    }
}
