//! The option letter a response gives.
//!
//! Rules, first match wins:
//! 1. our `<answer>…</answer>` block: a letter (`C`, `(C)`, `C)`, `\boxed{C}`),
//!    an option's exact text, or one letter named in it. When the block
//!    exists it alone decides: text outside it is never read.
//! 2. `ANSWER: X` / `Answer: X` (the last such line that names something);
//! 3. `The answer is (X)` / `the correct answer is X` / `the best option is X`;
//! 4. the last `(X)`;
//! 5. the last standalone capital letter token in range (`A`–`D` for four
//!    options);
//! 6. the exact text of an option ending the last line.
//!
//! A final answer that names two different letters (`ANSWER: B or C`,
//! `<answer>A, C</answer>`, `(A) and (C)` at the end) is never credited:
//! it reads as nothing, with the reason. So is `ANSWER: X` contradicted by
//! a later-rule statement. Total: any text, linear time.

use metaalign_tasks::common::format::extract_answer;

use crate::layout::{index_of, letter, MAX_OPTIONS};

/// Which rule found the letter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rule {
    /// The letter alone in the `<answer>` block.
    AnswerBlock,
    /// An `Answer: X` line.
    AnswerLine,
    /// A statement such as "the answer is (X)".
    Statement,
    /// The last `(X)` of the response.
    LastParen,
    /// The last standalone capital letter that names an option.
    LastLetter,
    /// The full text of one option, quoted as the answer.
    OptionText,
}

impl Rule {
    /// The rule in words, for a verdict's details.
    pub fn describe(self) -> &'static str {
        match self {
            Rule::AnswerBlock => "the <answer> block",
            Rule::AnswerLine => "an `Answer:` line",
            Rule::Statement => "\"the answer is …\"",
            Rule::LastParen => "the last (X)",
            Rule::LastLetter => "the last standalone letter",
            Rule::OptionText => "an option's text",
        }
    }
}

/// A letter, read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Found {
    /// The option's letter (`A`…).
    pub letter: char,
    /// The rule that read it.
    pub rule: Rule,
}

/// What a piece of a response says.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Said {
    Nothing,
    Letter(char),
    /// Names several letters: never credited.
    Several(Vec<char>),
    /// A letter past the last option.
    OutOfRange(char),
}

/// The option letter `response` gives for a question with `count` options
/// (`texts`, when known, are the options in the order shown), or why none.
pub fn extract_choice(response: &str, count: usize, texts: &[String]) -> Result<Found, String> {
    let n = count.clamp(1, MAX_OPTIONS);
    let options: Vec<String> = texts.iter().take(n).map(|t| normalize(t)).collect();
    let found = |letter, rule| Ok(Found { letter, rule });

    if let Some(block) = extract_answer(response) {
        return match read_final(block, n, &options) {
            Said::Letter(c) => found(c, Rule::AnswerBlock),
            Said::Nothing => Err("the <answer> block names no option".into()),
            other => Err(refuse(&other, "the <answer> block", n)),
        };
    }

    let lower = response.to_ascii_lowercase();
    let line = answer_line(response, &lower, n, &options);
    let statement = statement(response, &lower, n, &options);
    match (&line, &statement) {
        (Some(Said::Letter(a)), Some(Said::Letter(b))) if a != b => {
            return Err(format!(
                "the response gives two answers: {a} (`Answer:` line) and {b} (\"the answer is\")"
            ))
        }
        (Some(Said::Letter(_)), Some(other)) if !matches!(other, Said::Letter(_)) => {
            return Err(refuse(other, "the answer statement", n))
        }
        (Some(Said::Letter(c)), _) => return found(*c, Rule::AnswerLine),
        (Some(other), _) => return Err(refuse(other, "the `Answer:` line", n)),
        (None, Some(Said::Letter(c))) => return found(*c, Rule::Statement),
        (None, Some(other)) => return Err(refuse(other, "the answer statement", n)),
        (None, None) => {}
    }

    let bytes = response.as_bytes();
    let last_paren = (0..bytes.len().saturating_sub(2))
        .rev()
        .find(|&i| bytes[i] == b'(' && bytes[i + 2] == b')' && in_range(bytes[i + 1], n));
    if let Some(i) = last_paren {
        return from_region(response, i, i + 1, n, Rule::LastParen);
    }
    if let Some(i) = tokens(response, n).last() {
        return from_region(response, i, i, n, Rule::LastLetter);
    }
    if let Some(c) = option_at_end(response, &options) {
        return found(c, Rule::OptionText);
    }
    Err("no option letter found".into())
}

/// The reason a statement is not credited.
fn refuse(said: &Said, place: &str, n: usize) -> String {
    match said {
        Said::Several(letters) => {
            let list: Vec<String> = letters.iter().map(char::to_string).collect();
            format!("{place} names several options: {}", list.join(", "))
        }
        Said::OutOfRange(c) => format!(
            "{place} names option {c}, but there are only {n} (A to {})",
            letter(n - 1)
        ),
        _ => format!("{place} names no option"),
    }
}

/// The letter at `at` (inside the sentence starting before `start`),
/// unless that sentence, read to the end of the response, names another.
fn from_region(
    response: &str,
    start: usize,
    at: usize,
    n: usize,
    rule: Rule,
) -> Result<Found, String> {
    let region = &response[sentence_start(response, start)..];
    let named = mentions(region, n);
    if named.len() > 1 {
        return Err(refuse(&Said::Several(named), "the final sentence", n));
    }
    Ok(Found {
        letter: char::from(response.as_bytes()[at]),
        rule,
    })
}

fn in_range(b: u8, n: usize) -> bool {
    b.is_ascii_uppercase() && usize::from(b - b'A') < n
}

/// Words after a capital `A` or `I` that make it a letter, not the English
/// article or pronoun (`A is right`, `A or C`, but `A larger mass`).
const AFTER_LETTER: &[&str] = &[
    "is", "or", "and", "as", "was", "seems", "would", "should", "must", "looks", "appears", "fits",
    "matches", "nor",
];

/// Byte offsets of the standalone capital letters in range: not part of a
/// word, a LaTeX command, a subscript or power, or an `A = …` variable.
fn tokens(text: &str, n: usize) -> impl Iterator<Item = usize> + '_ {
    let b = text.as_bytes();
    let word = |x: u8| x.is_ascii_alphanumeric() || x == b'_';
    (0..b.len()).filter(move |&i| {
        if !in_range(b[i], n) {
            return false;
        }
        if i > 0 && (word(b[i - 1]) || matches!(b[i - 1], b'\\' | b'^' | b'\'')) {
            return false;
        }
        let next = b.get(i + 1).copied();
        match next {
            Some(x) if word(x) || matches!(x, b'^' | b'\'') => return false,
            Some(b'-' | b'.') if b.get(i + 2).is_some_and(|&y| y.is_ascii_alphanumeric()) => {
                return false
            }
            _ => {}
        }
        let rest = &b[i + 1..];
        let skip = rest.iter().take_while(|&&x| x == b' ').count();
        let parenthesized = i > 0 && b[i - 1] == b'(';
        if !parenthesized && rest.get(skip) == Some(&b'=') && rest.get(skip + 1) != Some(&b'=') {
            return false;
        }
        if matches!(b[i], b'A' | b'I') && skip == 1 {
            let w: Vec<u8> = rest[1..]
                .iter()
                .take_while(|x| x.is_ascii_alphabetic())
                .copied()
                .collect();
            if w.first().is_some_and(u8::is_ascii_lowercase)
                && !AFTER_LETTER.iter().any(|a| a.as_bytes() == w.as_slice())
            {
                return false;
            }
        }
        true
    })
}

/// The distinct letters `text` names, in alphabetical order.
fn mentions(text: &str, n: usize) -> Vec<char> {
    let mut seen = [false; MAX_OPTIONS];
    for i in tokens(text, n) {
        seen[usize::from(text.as_bytes()[i] - b'A')] = true;
    }
    (0..n).filter(|&i| seen[i]).map(letter).collect()
}

/// Where the sentence holding byte `at` starts.
fn sentence_start(text: &str, at: usize) -> usize {
    let head = &text[..at];
    ["\n", ". ", "! ", "? "]
        .iter()
        .filter_map(|sep| head.rfind(sep).map(|i| i + sep.len()))
        .max()
        .unwrap_or(0)
}

/// Longest final-answer segment read: a final answer is short, and the
/// bound keeps many "answer is" phrases in a long response linear.
const SEGMENT_MAX: usize = 256;

/// The text from `start` to the end of its line or sentence (at most
/// [`SEGMENT_MAX`] bytes).
fn segment(text: &str, start: usize) -> &str {
    let rest = &text[start..];
    let cap = (0..=rest.len().min(SEGMENT_MAX))
        .rev()
        .find(|&i| rest.is_char_boundary(i))
        .unwrap_or(0);
    let rest = &rest[..cap];
    let end = ["\n", ". ", ".\t", "; ", "! ", "? "]
        .iter()
        .filter_map(|sep| rest.find(sep))
        .min()
        .unwrap_or(rest.len());
    &rest[..end]
}

/// Markup a final answer is wrapped in removed (`$`, `**`, backticks,
/// braces, LaTeX command names), whitespace collapsed, trailing dots cut.
fn clean(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '$' | '*' | '`' | '{' | '}' => {}
            '\\' => {
                while chars.peek().is_some_and(char::is_ascii_alphabetic) {
                    chars.next();
                }
            }
            c if c.is_whitespace() => {
                if !out.ends_with(' ') && !out.is_empty() {
                    out.push(' ');
                }
            }
            c => out.push(c),
        }
    }
    let t = out.trim().trim_end_matches(['.', ' ']);
    t.to_string()
}

/// An option text as compared: cleaned, lower case.
fn normalize(text: &str) -> String {
    clean(text).to_lowercase()
}

/// `X`, `(X)`, `[X]`, `X)`, `X.`, `X:` at the start of `s`: the letter
/// and the rest.
fn letter_form(s: &str) -> Option<(u8, &str)> {
    let b = s.as_bytes();
    let (c, after) = match b {
        [open @ (b'(' | b'['), c, close, ..]
            if c.is_ascii_alphabetic() && (*close == b')' && *open == b'(' || *close == b']') =>
        {
            (*c, 3)
        }
        [c, b')' | b'.' | b':', ..] if c.is_ascii_alphabetic() => (*c, 2),
        [c, ..] if c.is_ascii_alphabetic() => (*c, 1),
        _ => return None,
    };
    let rest = &s[after..];
    // `Bo…` is a word, not a letter.
    if after == 1
        && rest
            .as_bytes()
            .first()
            .is_some_and(u8::is_ascii_alphanumeric)
    {
        return None;
    }
    Some((c, rest))
}

/// What a final answer (a block's content, the rest of an `Answer:` line
/// or of "the answer is") says.
fn read_final(text: &str, n: usize, options: &[String]) -> Said {
    let mut s = clean(text);
    // "Option (C)", "choice: B", "letter C".
    for _ in 0..2 {
        let lower = s.to_ascii_lowercase();
        if let Some(word) = ["option", "choice", "letter", "answer"]
            .iter()
            .find(|w| lower.starts_with(*w))
        {
            let rest = &s[word.len()..];
            if rest.starts_with([' ', ':']) {
                s = rest.trim_start_matches([' ', ':']).to_string();
            }
        }
    }
    let lower = s.to_ascii_lowercase();
    if lower.starts_with("not ") || lower.starts_with("none") {
        return Said::Nothing;
    }
    if let Some((c, rest)) = letter_form(&s) {
        let rest = rest.trim();
        let upper = c.to_ascii_uppercase();
        if rest.is_empty() {
            return if in_range(upper, n) {
                Said::Letter(char::from(upper))
            } else {
                Said::OutOfRange(char::from(upper))
            };
        }
        let i = index_of(char::from(upper)).unwrap_or(usize::MAX);
        if !rest.is_empty() && options.get(i).is_some_and(|o| *o == normalize(rest)) {
            return Said::Letter(char::from(upper));
        }
    }
    let norm = normalize(&s);
    let matching: Vec<usize> = (0..options.len()).filter(|&i| options[i] == norm).collect();
    if let [i] = matching[..] {
        return Said::Letter(letter(i));
    }
    match mentions(&s, n).as_slice() {
        [] => Said::Nothing,
        [c] => Said::Letter(*c),
        several => Said::Several(several.to_vec()),
    }
}

/// Skips spaces and `*` (markdown bold around `**Answer:**`).
fn skip_markup(b: &[u8], mut i: usize) -> usize {
    while i < b.len() && matches!(b[i], b' ' | b'*' | b'\t') {
        i += 1;
    }
    i
}

/// The last `Answer: X` that says something.
fn answer_line(response: &str, lower: &str, n: usize, options: &[String]) -> Option<Said> {
    let b = lower.as_bytes();
    let starts: Vec<usize> = lower
        .match_indices("answer")
        .filter(|(i, _)| *i == 0 || !b[i - 1].is_ascii_alphanumeric())
        .filter_map(|(i, w)| {
            let j = skip_markup(b, i + w.len());
            (b.get(j) == Some(&b':')).then(|| skip_markup(b, j + 1))
        })
        .collect();
    first_said(response, starts.into_iter().rev(), n, options)
}

/// The last "the answer is X" (or "option is", "would be", …) that says something.
fn statement(response: &str, lower: &str, n: usize, options: &[String]) -> Option<Said> {
    const VERBS: &[&str] = &["is", "would be", "should be", "must be", "will be", "="];
    const FILLER: &[&str] = &[
        "therefore",
        "thus",
        "clearly",
        "option",
        "choice",
        "letter",
        "indeed",
        "then",
    ];
    let b = lower.as_bytes();
    let mut starts = Vec::new();
    for noun in ["answer", "option", "choice"] {
        for (i, w) in lower.match_indices(noun) {
            if i > 0 && b[i - 1].is_ascii_alphanumeric() {
                continue;
            }
            let mut j = skip_markup(b, i + w.len());
            let Some(verb) = VERBS.iter().find(|v| lower[j..].starts_with(*v)) else {
                continue;
            };
            j += verb.len();
            if b.get(j).is_some_and(u8::is_ascii_alphanumeric) {
                continue; // "answer isn't", "option issue"
            }
            j = skip_markup(b, j);
            if b.get(j) == Some(&b':') {
                j = skip_markup(b, j + 1);
            }
            // Filler words, then the answer ("is therefore option (B)").
            let mut moved = true;
            while moved {
                moved = false;
                for f in FILLER {
                    if lower[j..].starts_with(f)
                        && !b.get(j + f.len()).is_some_and(u8::is_ascii_alphanumeric)
                    {
                        j = skip_markup(b, j + f.len());
                        j = j + usize::from(b.get(j) == Some(&b',') || b.get(j) == Some(&b':'));
                        j = skip_markup(b, j);
                        moved = true;
                    }
                }
            }
            starts.push(j);
        }
    }
    starts.sort_unstable();
    first_said(response, starts.into_iter().rev(), n, options)
}

/// The first start, of `starts`, whose segment says something.
fn first_said(
    response: &str,
    starts: impl Iterator<Item = usize>,
    n: usize,
    options: &[String],
) -> Option<Said> {
    starts
        .filter(|&s| s <= response.len())
        .map(|s| read_final(segment(response, s), n, options))
        .find(|said| *said != Said::Nothing)
}

/// The option whose exact text ends the last non-empty line, when the
/// line names no other option.
fn option_at_end(response: &str, options: &[String]) -> Option<char> {
    let line = response.lines().rev().find(|l| !l.trim().is_empty())?;
    let line = normalize(line);
    let bounded = |at: usize, len: usize| {
        let before = line[..at].chars().next_back();
        let after = line[at + len..].chars().next();
        !before.is_some_and(char::is_alphanumeric) && !after.is_some_and(char::is_alphanumeric)
    };
    let named: Vec<usize> = (0..options.len())
        .filter(|&i| {
            !options[i].is_empty()
                && line
                    .match_indices(options[i].as_str())
                    .any(|(at, o)| bounded(at, o.len()))
        })
        .collect();
    match named[..] {
        [i] if line.ends_with(options[i].as_str()) => Some(letter(i)),
        _ => None,
    }
}
