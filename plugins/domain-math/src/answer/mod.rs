//! Math answers: extraction, normalisation and equivalence, as
//! HuggingFace Math-Verify 0.9.0 decides them.
//!
//! - [`parse`] finds the answer in a text (`extract`: `\boxed{}`, "final
//!   answer is", "answer:", math spans, plain numbers and expressions,
//!   letters), cleans it (`normalize`) and reads it into an expression
//!   tree (`latex`, `expr`).
//! - [`verify`] decides whether a parsed response equals a parsed gold
//!   answer (`compare`): exact numbers, floats to `float_rounding` places,
//!   expressions, sets, intervals, tuples, matrices, relations.
//! - [`check`] does both for two texts.
//!
//! Everything is total and bounded: any text gives a result, in time
//! roughly linear in its length (hostile text ends as "not parsed").
//! `docs/math-verifier.md` describes the rules and where they differ from
//! Math-Verify's.

mod boxed_start;
mod compare;
mod expr;
mod extract;
mod latex;
mod normalize;
mod pattern;

use std::fmt;

use expr::{Expr, Limits};
use extract::{Found, Targets};
use normalize::TooComplex;
use pattern::Budget;

/// What [`parse`] looks for (Math-Verify's extraction targets).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Extraction {
    /// Math in LaTeX: `\boxed{}`, `$...$`, `\(...\)`, `\[...\]`, ...
    pub latex: bool,
    /// Plain numbers and arithmetic (`1,234.5`, `3/4`, `15%`).
    pub expr: bool,
    /// A multiple-choice letter A-D.
    pub letters: bool,
}

impl Default for Extraction {
    fn default() -> Self {
        Self {
            latex: true,
            expr: true,
            letters: false,
        }
    }
}

impl Extraction {
    /// From Math-Verify's target names: `latex`, `expr`, and `letters`
    /// (or lighteval's `indices`).
    pub fn from_match_types(names: &[&str]) -> Result<Self, String> {
        let mut out = Self {
            latex: false,
            expr: false,
            letters: false,
        };
        for name in names {
            match name.trim().to_ascii_lowercase().as_str() {
                "latex" => out.latex = true,
                "expr" => out.expr = true,
                "letters" | "indices" => out.letters = true,
                other => {
                    return Err(format!(
                        "unknown match type `{other}` (expected latex, expr or letters)"
                    ))
                }
            }
        }
        if !(out.latex || out.expr || out.letters) {
            return Err("no match type given (expected latex, expr or letters)".into());
        }
        Ok(out)
    }
}

/// How [`verify`] compares (Math-Verify's `verify` arguments).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CompareOptions {
    /// Decimal places floats are rounded to before comparing (6).
    pub float_rounding: u32,
    /// Significant digits of numeric evaluation (15).
    pub numeric_precision: u32,
    /// Variables must match by name, and an equation answer must match an
    /// equation (true).
    pub strict: bool,
    /// Compare a relation gold such as `1 < x < 2` with a set prediction
    /// such as `(1, 2)` in both directions (false: only a set prediction).
    pub allow_set_relation_comp: bool,
}

impl Default for CompareOptions {
    fn default() -> Self {
        Self {
            float_rounding: 6,
            numeric_precision: 15,
            strict: true,
            allow_set_relation_comp: false,
        }
    }
}

/// The boxed-answer priority Math-Verify uses by default (after "final
/// answer is"); its own test suite uses 0 (boxes first).
pub const DEFAULT_BOXED_PRIORITY: i32 = 50;

/// Most characters of a text that [`parse`] reads.
pub const MAX_TEXT_CHARS: usize = 1_000_000;

/// Pattern-matching steps one [`parse`] may spend.
const PARSE_STEPS: u64 = 30_000_000;

/// One item of Math-Verify's parse result.
#[derive(Clone, Debug)]
enum Item {
    /// A parsed answer.
    Value(Expr),
    /// An answer that is a string (a lower-cased letter).
    Word(String),
    /// The text the first match found.
    Text(String),
}

/// What [`parse`] found: at most one answer, plus the text of the first
/// match tried (Math-Verify's "first match" fallback, which [`verify`]
/// also compares, as text).
#[derive(Clone, Debug)]
pub struct Parsed {
    items: Vec<Item>,
    shown: Option<String>,
    matched: Option<String>,
    reason: String,
}

impl Parsed {
    fn nothing(reason: impl Into<String>) -> Self {
        Self {
            items: Vec::new(),
            shown: None,
            matched: None,
            reason: reason.into(),
        }
    }

    /// Nothing was found (not even a text to compare).
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Whether an answer was read (not only matched as text).
    pub fn has_value(&self) -> bool {
        self.items
            .iter()
            .any(|i| matches!(i, Item::Value(_) | Item::Word(_)))
    }

    /// The extracted answer: its canonical form when it was read, else
    /// the text that was matched.
    pub fn shown(&self) -> Option<&str> {
        self.shown.as_deref()
    }

    /// The text of the first match (after normalisation), if any.
    pub fn matched(&self) -> Option<&str> {
        self.matched.as_deref()
    }

    /// Why nothing (or only text) was extracted; what was found otherwise.
    pub fn reason(&self) -> &str {
        &self.reason
    }
}

impl fmt::Display for Parsed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.shown {
            Some(s) => f.write_str(s),
            None => write!(f, "(nothing: {})", self.reason),
        }
    }
}

/// Finds and reads the answer of `text`, boxes at the default priority.
pub fn parse(text: &str, extraction: &Extraction) -> Parsed {
    parse_with_boxed_priority(text, extraction, DEFAULT_BOXED_PRIORITY)
}

/// [`parse`] with the priority of boxed answers (Math-Verify's
/// `boxed_match_priority`: 0 tries boxes before everything, 50 after
/// "final answer is ... I hope"; negative turns boxes off).
pub fn parse_with_boxed_priority(
    text: &str,
    extraction: &Extraction,
    boxed_priority: i32,
) -> Parsed {
    let targets = Targets {
        latex: extraction.latex,
        expr: extraction.expr,
        letters: extraction.letters,
        boxed_priority,
    };
    if !(targets.latex || targets.expr || targets.letters) {
        return Parsed::nothing("nothing to look for (no extraction target)");
    }
    let chars: Vec<char> = text.chars().take(MAX_TEXT_CHARS + 1).collect();
    if chars.len() > MAX_TEXT_CHARS {
        return Parsed::nothing(format!("text longer than {MAX_TEXT_CHARS} characters"));
    }
    match find_answer(text, &chars, &targets) {
        Ok(p) => p,
        Err(TooComplex) => Parsed::nothing("text too complex to search (step budget spent)"),
    }
}

fn find_answer(raw: &str, text: &[char], targets: &Targets) -> Result<Parsed, TooComplex> {
    let mut budget = Budget::new(PARSE_STEPS);
    let limits = Limits::default();
    let mut first_text: Option<String> = None;
    let mut tried = 0usize;
    let mut last_error = String::new();
    for priority in extract::priorities(targets) {
        for cand in extract::candidates(raw, text, targets, priority, &mut budget)? {
            tried += 1;
            if let Found::Number { text, .. } = &cand.found {
                if !python_accepts_number(text) {
                    // SymPy raises on it, and Math-Verify's parse then
                    // returns nothing at all.
                    return Ok(Parsed::nothing(format!(
                        "the number `{text}` aborts the search (Math-Verify's parse fails on it)"
                    )));
                }
            }
            let read = read(&cand.found, &limits, &mut budget)?;
            if first_text.is_none() && !read.text.is_empty() {
                first_text = Some(read.text.clone());
            }
            match read.value {
                Ok(value) => {
                    let shown = match &value {
                        Item::Value(e) => e.to_string(),
                        Item::Word(_) | Item::Text(_) => read.text.clone(),
                    };
                    let mut items = vec![value];
                    items.extend(first_text.clone().map(Item::Text));
                    return Ok(Parsed {
                        items,
                        shown: Some(shown),
                        matched: first_text,
                        reason: format!("read `{}`", clip(&read.text)),
                    });
                }
                Err(e) => last_error = format!("`{}`: {e}", clip(&read.text)),
            }
        }
    }
    let reason = if tried == 0 {
        "no answer found".to_string()
    } else {
        format!("{tried} candidate(s) found, none readable (last {last_error})")
    };
    Ok(Parsed {
        items: first_text.clone().map(Item::Text).into_iter().collect(),
        shown: first_text.clone(),
        matched: first_text,
        reason,
    })
}

/// Python refuses to read integers longer than this (`int` conversion
/// limit of CPython 3.11+).
const PY_INT_MAX_DIGITS: usize = 4300;

/// Whether SymPy reads an extracted number: a negative integer with a
/// leading zero (`-03`) is a syntax error, and an integer of more than
/// 4300 digits exceeds Python's conversion limit; decimals are fine.
fn python_accepts_number(text: &str) -> bool {
    let digits = text.strip_prefix('-').unwrap_or(text);
    text.contains('.')
        || (digits.len() <= PY_INT_MAX_DIGITS
            && (!digits.starts_with('0') || digits.bytes().all(|b| b == b'0')))
}

fn clip(s: &str) -> String {
    const MAX: usize = 80;
    if s.chars().count() <= MAX {
        s.to_string()
    } else {
        let head: String = s.chars().take(MAX).collect();
        format!("{head}...")
    }
}

/// Brace nesting past this many times the parser's depth cap is refused
/// before normalisation (normalising can remove a few levels, never this
/// many), so a pathological answer costs one pass over its text.
const EARLY_BRACE_DEPTH_FACTOR: usize = 4;

/// The deepest `{` nesting of `text`.
fn brace_depth(text: &str) -> usize {
    let (mut depth, mut deepest) = (0usize, 0usize);
    for b in text.bytes() {
        match b {
            b'{' => {
                depth += 1;
                deepest = deepest.max(depth);
            }
            b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    deepest
}

/// A candidate read: its value (or why not) and its text.
struct Read {
    value: Result<Item, String>,
    text: String,
}

fn read(found: &Found, limits: &Limits, budget: &mut Budget) -> Result<Read, TooComplex> {
    Ok(match found {
        Found::Latex(spans) => {
            let mut values = Vec::with_capacity(spans.len());
            let mut texts = Vec::with_capacity(spans.len());
            for span in spans {
                if brace_depth(&span.text) > EARLY_BRACE_DEPTH_FACTOR * limits.max_depth {
                    // Far past what parsing allows: not worth normalising.
                    values.push(Err(format!(
                        "answer nested more than {} braces deep",
                        EARLY_BRACE_DEPTH_FACTOR * limits.max_depth
                    )));
                    texts.push(span.text.clone());
                    continue;
                }
                let text = normalize::normalize(&span.text, span.boxes, budget)?;
                let value = latex::parse(&text, limits).and_then(|e| percent_of(e, span.percent));
                values.push(value);
                texts.push(text);
            }
            if values.len() > 1 && values.iter().all(|v| v.is_ok()) {
                let all = values.into_iter().filter_map(Result::ok).collect();
                Read {
                    value: Ok(Item::Value(Expr::set_of(all))),
                    text: texts.join(" and "),
                }
            } else {
                Read {
                    value: values.swap_remove(0).map(Item::Value),
                    text: texts.swap_remove(0),
                }
            }
        }
        Found::Number { text, percent } => Read {
            value: latex::parse(text, limits)
                .map(|e| Item::Value(if *percent { Expr::percent(e) } else { e })),
            text: text.clone(),
        },
        Found::Expr(text) => Read {
            value: match extract::python_arithmetic(text) {
                Some(latex) => latex::parse(&latex, limits).map(Item::Value),
                None => Err("not a well-formed expression".into()),
            },
            text: text.clone(),
        },
        Found::Letter(c) => Read {
            value: Ok(Item::Word(c.to_lowercase().collect())),
            text: c.to_string(),
        },
    })
}

/// `e%` when `percent`. SymPy cannot scale a relation, so Math-Verify
/// drops such a candidate (`$x = 3$%`).
fn percent_of(e: Expr, percent: bool) -> Result<Expr, String> {
    match (percent, &e) {
        (false, _) => Ok(e),
        (true, Expr::Rel(..)) => Err("a percentage of a relation".into()),
        (true, _) => Ok(Expr::percent(e)),
    }
}

/// The decision of [`verify`] and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Judgement {
    /// The answers are equivalent.
    pub equal: bool,
    /// Which rule decided, in words.
    pub reason: String,
}

/// Python's `str.strip()`.
fn py_strip(s: &str) -> &str {
    s.trim_matches(pattern::is_space)
}

/// Whether `pred` gives the answer `gold` gives: true when any item of one
/// equals any item of the other (answers by value, texts as strings).
pub fn verify(gold: &Parsed, pred: &Parsed, opts: &CompareOptions) -> Judgement {
    if gold.items.is_empty() {
        return Judgement {
            equal: false,
            reason: format!("no gold answer ({})", gold.reason),
        };
    }
    if pred.items.is_empty() {
        return Judgement {
            equal: false,
            reason: format!("no answer ({})", pred.reason),
        };
    }
    let mut why_not = Vec::new();
    for g in &gold.items {
        for p in &pred.items {
            match (g, p) {
                (Item::Value(g), Item::Value(p)) => {
                    let j = compare::equivalent(g, p, opts);
                    if j.equal {
                        return j;
                    }
                    why_not.push(j.reason);
                }
                (Item::Text(g) | Item::Word(g), Item::Text(p) | Item::Word(p)) => {
                    let (g, p) = (py_strip(g), py_strip(p));
                    if !g.is_empty() && g == p {
                        return Judgement {
                            equal: true,
                            reason: format!("same text `{}`", clip(g)),
                        };
                    }
                }
                _ => {}
            }
        }
    }
    let reason = match why_not.first() {
        Some(r) => r.clone(),
        None => format!(
            "`{}` differs from `{}`",
            clip(pred.shown().unwrap_or("")),
            clip(gold.shown().unwrap_or(""))
        ),
    };
    Judgement {
        equal: false,
        reason,
    }
}

/// Parses both texts with the default extraction and verifies.
pub fn check(gold: &str, response: &str, opts: &CompareOptions) -> Judgement {
    let extraction = Extraction::default();
    verify(
        &parse(gold, &extraction),
        &parse(response, &extraction),
        opts,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn yes(gold: &str, pred: &str) -> bool {
        check(gold, pred, &CompareOptions::default()).equal
    }

    #[test]
    fn match_types() {
        let e = Extraction::from_match_types(&["latex", "expr"]).unwrap();
        assert_eq!(e, Extraction::default());
        let e = Extraction::from_match_types(&["indices"]).unwrap();
        assert!(e.letters && !e.latex && !e.expr);
        assert!(Extraction::from_match_types(&["nope"]).is_err());
        assert!(Extraction::from_match_types(&[]).is_err());
    }

    #[test]
    fn parse_reports() {
        let p = parse("The answer is $\\frac{3}{4}$.", &Extraction::default());
        assert!(p.has_value());
        assert_eq!(p.matched(), Some("\\frac{3}{4}"));
        let p = parse("no numbers here", &Extraction::default());
        assert!(p.is_empty());
        assert_eq!(p.reason(), "no answer found");
    }

    #[test]
    fn end_to_end() {
        assert!(yes(
            "\\boxed{\\frac{3}{4}}",
            "so the answer is $\\boxed{0.75}$."
        ));
        assert!(yes("$7425000$", "7,425,000"));
        assert!(!yes("$5$", "The answer is $6$."));
        assert!(yes("$10\\%$", "$10\\%$"));
        // Percentages, as Math-Verify 0.9.0 decides them.
        assert!(yes("$10\\%$", "$10$"));
        assert!(yes("$10\\%$", "$0.1$"));
        assert!(yes("$0.1$", "$10\\%$"));
        assert!(!yes("$12.5\\%$", "$12.5$"));
        assert!(yes("$12.5\\%$", "$0.125$"));
        // Floats at six places; assignments unwrap both ways.
        assert!(yes("$1/3$", "0.333333"));
        assert!(!yes("$1/3$", "0.33333"));
        assert!(yes("$x=5$", "$5$"));
        assert!(yes("$5$", "$x=5$"));
    }

    #[test]
    fn negative_numbers_with_leading_zeros_abort() {
        let e = Extraction::default();
        assert!(parse("x is -03", &e).is_empty());
        assert!(parse("x is -03.5", &e).has_value());
        assert!(parse("so -0 ok", &e).has_value());
        assert!(parse("x is 007", &e).has_value());
        assert!(parse(&format!("x is {}", "1".repeat(4301)), &e).is_empty());
        // Only when reached: a box found first wins.
        assert_eq!(parse("x = -03 and $\\boxed{5}$", &e).shown(), Some("5"));
    }

    #[test]
    fn letters_compare_as_text() {
        let e = Extraction::from_match_types(&["letters"]).unwrap();
        let g = parse("B", &e);
        let p = parse("The answer is **B**.", &e);
        assert!(verify(&g, &p, &CompareOptions::default()).equal);
        let p = parse("The answer is C.", &e);
        assert!(!verify(&g, &p, &CompareOptions::default()).equal);
    }

    /// A long, ordinary chain of thought ending in a box.
    fn long_response(bytes: usize) -> String {
        let step =
            "We compute $2 \\cdot 7 = 14$ and then $14 + 6 = 20$, so the running total is 20. ";
        let mut s = String::new();
        while s.len() < bytes {
            s.push_str(step);
        }
        s.push_str("Therefore the final answer is $\\boxed{20}$.");
        s
    }

    #[test]
    #[ignore]
    fn profile_long_response() {
        let t = long_response(100_000);
        for _ in 0..5 {
            let start = std::time::Instant::now();
            let p = parse(&t, &Extraction::default());
            eprintln!("{:?} {}", start.elapsed(), p);
        }
    }

    #[test]
    fn hostile_texts_end_quickly() {
        let texts = [
            long_response(100_000),
            "{".repeat(10_000) + "\\boxed{" + &"{".repeat(10_000) + "1" + &"}".repeat(10_001),
            "\\boxed{10^{10^{10}}}".to_string(),
            "\\boxed{".repeat(10_000),
            "$".repeat(100_000),
            "answer: ".repeat(12_000),
            "1 + ".repeat(25_000),
            "\\frac{".repeat(5_000) + "1" + &"}{2}".repeat(5_000),
        ];
        for t in texts {
            let start = std::time::Instant::now();
            let p = parse(&t, &Extraction::default());
            let _ = verify(&p, &p, &CompareOptions::default());
            let took = start.elapsed();
            let shown: String = p.to_string().chars().take(40).collect();
            eprintln!("{:>8} bytes {:?}: {took:?} -> {shown}", t.len(), &t[..12]);
            // Generous: debug builds on a shared machine.
            assert!(took.as_secs() < 20, "slow on {}", &t[..20]);
        }
        let p = parse(&long_response(100_000), &Extraction::default());
        assert_eq!(p.shown(), Some("20"));
    }

    /// Differential run against Math-Verify (see docs/math-verifier.md):
    /// `MV_DIFF_IN` names a JSONL file of texts, or of `[gold, pred]`
    /// pairs; `MV_DIFF_OUT` receives `{matched, has_value, value}` or
    /// `{equal}` per line. `MV_DIFF_TYPES` (e.g. `latex,expr`) and
    /// `MV_DIFF_PRIORITY` set the extraction.
    #[test]
    #[ignore]
    fn differential_dump() {
        let (Ok(input), Ok(output)) = (std::env::var("MV_DIFF_IN"), std::env::var("MV_DIFF_OUT"))
        else {
            return;
        };
        let types = std::env::var("MV_DIFF_TYPES").unwrap_or_else(|_| "latex,expr".into());
        let types: Vec<&str> = types.split(',').collect();
        let e = Extraction::from_match_types(&types).unwrap();
        let prio = std::env::var("MV_DIFF_PRIORITY")
            .ok()
            .and_then(|p| p.parse().ok())
            .unwrap_or(DEFAULT_BOXED_PRIORITY);
        let text = std::fs::read_to_string(input).unwrap();
        let mut out = String::new();
        for line in text.lines() {
            let v: serde_json::Value = serde_json::from_str(line).unwrap();
            let row = match v {
                serde_json::Value::Array(pair) => {
                    let g = parse_with_boxed_priority(pair[0].as_str().unwrap(), &e, prio);
                    let p = parse_with_boxed_priority(pair[1].as_str().unwrap(), &e, prio);
                    let j = verify(&g, &p, &CompareOptions::default());
                    serde_json::json!({"equal": j.equal, "reason": j.reason})
                }
                v => {
                    let p = parse_with_boxed_priority(v.as_str().unwrap(), &e, prio);
                    serde_json::json!({
                        "matched": p.matched(),
                        "has_value": p.has_value(),
                        "value": if p.has_value() { p.shown() } else { None },
                    })
                }
            };
            out.push_str(&row.to_string());
            out.push('\n');
        }
        std::fs::write(output, out).unwrap();
    }

    proptest::proptest! {
        #[test]
        fn never_panics(s in "\\PC{0,200}") {
            let p = parse(&s, &Extraction::default());
            let _ = verify(&p, &p, &CompareOptions::default());
        }

        #[test]
        fn never_panics_on_math_like(s in "[\\\\{}$()\\[\\]0-9a-z,.=+^_ %-]{0,120}") {
            let e = Extraction { latex: true, expr: true, letters: true };
            let g = parse(&s, &e);
            let p = parse(&format!("\\boxed{{{s}}}"), &e);
            let _ = verify(&g, &p, &CompareOptions::default());
        }
    }
}
