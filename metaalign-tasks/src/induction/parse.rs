//! Parsers for induction text: the model's answer and the puzzle's sequence.
//! Both are total (they return an error message, never panic) and are
//! fuzzed (`fuzz/fuzz_targets/induction_answer.rs`, `induction_puzzle.rs`).

/// Reads the integer in an `<answer>` body.
///
/// Accepted (everything the paper's reward accepts — Python's
/// `int(text.strip())` — plus an `… =` prefix):
/// - surrounding whitespace: `" 12 "`;
/// - a leading sign `+`, `-` or `−` (U+2212): `"+12"`, `"-3"`, `"−3"`;
/// - single underscores between digits, as Python allows: `"1_000"`;
/// - an equation whose right-hand side is the number: `"? = 12"`, `"x=12"`
///   (the text after the last `=` is read).
///
/// Everything else is unparseable: words, decimals (`"12.0"`, which the
/// paper's `int()` also rejects), several numbers, values outside `i64`.
pub fn parse_answer(text: &str) -> Result<i64, String> {
    let mut s = text.trim();
    if let Some(pos) = s.rfind('=') {
        s = s[pos + 1..].trim();
    }
    if s.is_empty() {
        return Err("the answer is empty".into());
    }
    let (negative, digits) = if let Some(rest) = s.strip_prefix('+') {
        (false, rest)
    } else if let Some(rest) = s.strip_prefix('-') {
        (true, rest)
    } else if let Some(rest) = s.strip_prefix('\u{2212}') {
        (true, rest)
    } else {
        (false, s)
    };
    if digits.is_empty() {
        return Err(format!("`{}` has a sign but no digits", clip(text)));
    }
    let mut value: i128 = 0;
    let mut prev_underscore = true; // forbids a leading underscore
    for ch in digits.chars() {
        match ch {
            '0'..='9' => {
                value = value * 10 + i128::from(ch as u8 - b'0');
                if value > i128::from(i64::MAX) + 1 {
                    return Err(format!("`{}` is out of the 64-bit range", clip(text)));
                }
                prev_underscore = false;
            }
            '_' if !prev_underscore => prev_underscore = true,
            _ => return Err(format!("`{}` is not an integer", clip(text))),
        }
    }
    if prev_underscore {
        return Err(format!("`{}` is not an integer", clip(text)));
    }
    let value = if negative { -value } else { value };
    i64::try_from(value).map_err(|_| format!("`{}` is out of the 64-bit range", clip(text)))
}

/// A puzzle's sequence as read from its text: the terms (0 at the mask)
/// and the position of the `?`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParsedSequence {
    /// The terms, with 0 at the mask.
    pub terms: Vec<i64>,
    /// The position of the `?` (0-based).
    pub mask: usize,
}

/// Reads the bracketed list of a puzzle text, in either of the paper's
/// layouts — `['1', '3', '?']` (every item quoted) or `[1, '?', 9]` — and
/// ours (the first). Exactly one item must be `?`; the others integers.
pub fn parse_puzzle(text: &str) -> Result<ParsedSequence, String> {
    let open = text
        .find('[')
        .ok_or("the puzzle text has no `[` opening its sequence")?;
    let close = text[open..]
        .find(']')
        .map(|i| open + i)
        .ok_or("the puzzle text has no `]` closing its sequence")?;
    let body = &text[open + 1..close];
    let mut terms = Vec::new();
    let mut mask = None;
    for (i, raw) in body.split(',').enumerate() {
        let item = raw.trim();
        let item = strip_quotes(item);
        if item == "?" {
            if mask.is_some() {
                return Err("the sequence has more than one `?`".into());
            }
            mask = Some(i);
            terms.push(0);
        } else {
            let v = parse_term(item).ok_or_else(|| {
                format!(
                    "sequence item {} (`{}`) is not an integer",
                    i + 1,
                    clip(raw)
                )
            })?;
            terms.push(v);
        }
    }
    let mask = mask.ok_or("the sequence has no `?`")?;
    if terms.len() < 3 {
        return Err(format!(
            "the sequence has {} items; at least 3 are needed",
            terms.len()
        ));
    }
    Ok(ParsedSequence { terms, mask })
}

fn strip_quotes(s: &str) -> &str {
    for q in ['\'', '"'] {
        if s.len() >= 2 && s.starts_with(q) && s.ends_with(q) {
            return s[1..s.len() - 1].trim();
        }
    }
    s
}

fn parse_term(s: &str) -> Option<i64> {
    let (neg, digits) = match s.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let v: i128 = digits.parse().ok()?;
    i64::try_from(if neg { -v } else { v }).ok()
}

/// Shortens user text quoted in an error message.
fn clip(s: &str) -> String {
    const MAX: usize = 40;
    let s = s.trim();
    if s.chars().count() <= MAX {
        s.to_string()
    } else {
        let head: String = s.chars().take(MAX).collect();
        format!("{head}…")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers() {
        assert_eq!(parse_answer("12"), Ok(12));
        assert_eq!(parse_answer(" +12 "), Ok(12));
        assert_eq!(parse_answer("-3"), Ok(-3));
        assert_eq!(parse_answer("\u{2212}3"), Ok(-3));
        assert_eq!(parse_answer("? = 12"), Ok(12));
        assert_eq!(parse_answer("x=-7"), Ok(-7));
        assert_eq!(parse_answer("1_000"), Ok(1000));
        assert_eq!(parse_answer("-9223372036854775808"), Ok(i64::MIN));
        assert_eq!(parse_answer("9223372036854775807"), Ok(i64::MAX));
        for bad in [
            "",
            "+",
            "12.0",
            "twelve",
            "1 2",
            "_1",
            "1_",
            "1__0",
            "9223372036854775808",
            "99999999999999999999999999999999999999999999",
            "?",
            "12 = ",
            "- 3",
        ] {
            assert!(parse_answer(bad).is_err(), "{bad:?} should not parse");
        }
    }

    #[test]
    fn puzzles_in_both_paper_layouts() {
        let a = parse_puzzle(
            "Given the following sequence,\n['1', '-1', '2', '0', '?']\nWhat is the value at the question mark?",
        )
        .unwrap();
        assert_eq!(a.terms, vec![1, -1, 2, 0, 0]);
        assert_eq!(a.mask, 4);
        let b =
            parse_puzzle("Given the following sequence with a missing term,\n[1, '?', 9, 13]\n")
                .unwrap();
        assert_eq!(b.terms, vec![1, 0, 9, 13]);
        assert_eq!(b.mask, 1);
        assert!(parse_puzzle("[1, 2, 3]").is_err());
        assert!(parse_puzzle("[1, '?', '?']").is_err());
        assert!(parse_puzzle("[1, 'x', '?']").is_err());
        assert!(parse_puzzle("no list").is_err());
        assert!(parse_puzzle("[1, '?'").is_err());
        assert!(parse_puzzle("['?', 99999999999999999999]").is_err());
    }
}
