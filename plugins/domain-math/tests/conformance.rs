//! Conformance with Math-Verify 0.9.0.
//!
//! The fixtures under `tests/fixtures/` are written by
//! `scripts/math_verify_fixtures.py` (see its header):
//!
//! * `math_verify_cases.jsonl`: the gold/prediction pairs of Math-Verify's
//!   own test suite, with the extraction match types and comparison options
//!   each test used, and what 0.9.0 returns for them (`math_verify`).
//! * `math_verify_realistic.jsonl`: generated model responses against
//!   MATH-500-style gold answers; the gold is parsed from `gold_text`
//!   (`\boxed{gold}`, as veRL's reward wraps it), both with the default
//!   extraction, and compared with the default options.
//!
//! Each case is replayed through `answer::parse` + `answer::verify`, and our
//! verdict is compared with Math-Verify's (not with what its test expects:
//! the two agree on every case of 0.9.0's suite). Every disagreement is
//! printed (run with `--nocapture` to see them on success); the tests require
//! at least 98% agreement on each fixture.
//!
//! Suite cases are parsed with the `boxed_match_priority` the test used
//! (`compare_strings` in Math-Verify's tests uses 0, `parse`'s default is
//! 50) through `parse_with_boxed_priority`, and compared with the test's
//! `float_rounding`, `numeric_precision`, `strict` and
//! `allow_set_relation_comp`.

use std::fmt::Write as _;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use metaalign_domain_math::answer::{self, CompareOptions, Extraction};
use serde_json::Value;

const MIN_AGREEMENT: f64 = 0.98;

fn fixture(name: &str) -> Vec<Value> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            serde_json::from_str(l)
                .unwrap_or_else(|e| panic!("{}:{}: bad JSON: {e}", path.display(), i + 1))
        })
        .collect()
}

fn str_field<'a>(case: &'a Value, key: &str) -> &'a str {
    case[key]
        .as_str()
        .unwrap_or_else(|| panic!("case without string `{key}`: {case}"))
}

fn bool_field(case: &Value, key: &str) -> bool {
    case[key]
        .as_bool()
        .unwrap_or_else(|| panic!("case without bool `{key}`: {case}"))
}

fn u32_field(case: &Value, key: &str, default: u32) -> u32 {
    case.get(key)
        .and_then(Value::as_u64)
        .map_or(default, |v| v as u32)
}

/// One replayed case: our verdict (None when we panicked) and our reason.
struct Outcome {
    ours: Option<bool>,
    reason: String,
    elapsed: Duration,
}

fn replay(
    gold: &str,
    pred: &str,
    extraction: &Extraction,
    boxed_priority: i32,
    opts: &CompareOptions,
) -> Outcome {
    let start = Instant::now();
    let result = catch_unwind(AssertUnwindSafe(|| {
        let g = answer::parse_with_boxed_priority(gold, extraction, boxed_priority);
        let p = answer::parse_with_boxed_priority(pred, extraction, boxed_priority);
        let j = answer::verify(&g, &p, opts);
        let reason = format!(
            "{} [gold: {} | pred: {}]",
            j.reason,
            g.shown()
                .map_or_else(|| format!("<none: {}>", g.reason()), str::to_owned),
            p.shown()
                .map_or_else(|| format!("<none: {}>", p.reason()), str::to_owned),
        );
        (j.equal, reason)
    }));
    let elapsed = start.elapsed();
    match result {
        Ok((equal, reason)) => Outcome {
            ours: Some(equal),
            reason,
            elapsed,
        },
        Err(e) => {
            let msg = e
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| e.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "non-string panic".to_owned());
            Outcome {
                ours: None,
                reason: format!("PANIC: {msg}"),
                elapsed,
            }
        }
    }
}

fn clip(s: &str) -> String {
    const MAX: usize = 160;
    let flat = s.replace('\n', "\\n");
    if flat.chars().count() <= MAX {
        flat
    } else {
        let head: String = flat.chars().take(MAX).collect();
        format!("{head}…")
    }
}

struct Tally {
    name: &'static str,
    total: usize,
    agree: usize,
    report: String,
    slowest: (Duration, String),
}

impl Tally {
    fn new(name: &'static str) -> Self {
        Tally {
            name,
            total: 0,
            agree: 0,
            report: String::new(),
            slowest: (Duration::ZERO, String::new()),
        }
    }

    fn record(&mut self, source: &str, gold: &str, pred: &str, theirs: bool, out: Outcome) {
        self.total += 1;
        if out.elapsed > self.slowest.0 {
            self.slowest = (out.elapsed, source.to_owned());
        }
        if out.ours == Some(theirs) {
            self.agree += 1;
            return;
        }
        let ours = out.ours.map_or("panic".to_owned(), |b| b.to_string());
        let _ = writeln!(
            self.report,
            "  {source}\n    gold: {}\n    pred: {}\n    ours: {ours}  math-verify: {theirs}\n    our reason: {}",
            clip(gold),
            clip(pred),
            clip(&out.reason),
        );
    }

    fn ratio(&self) -> f64 {
        if self.total == 0 {
            0.0
        } else {
            self.agree as f64 / self.total as f64
        }
    }

    fn finish(&self) {
        println!(
            "{}: {}/{} agree with Math-Verify 0.9.0 ({:.2}%), {} disagreements; slowest case {:?} ({})",
            self.name,
            self.agree,
            self.total,
            100.0 * self.ratio(),
            self.total - self.agree,
            self.slowest.0,
            self.slowest.1,
        );
        if !self.report.is_empty() {
            println!("{} disagreements:\n{}", self.name, self.report);
        }
        assert!(
            self.ratio() >= MIN_AGREEMENT,
            "{}: agreement {:.2}% < {:.0}% (disagreements listed above)",
            self.name,
            100.0 * self.ratio(),
            100.0 * MIN_AGREEMENT
        );
    }
}

#[test]
fn fixtures_are_present_and_well_formed() {
    let cases = fixture("math_verify_cases.jsonl");
    assert!(cases.len() >= 200, "only {} suite cases", cases.len());
    for c in &cases {
        str_field(c, "source");
        str_field(c, "gold");
        str_field(c, "pred");
        bool_field(c, "expected");
        bool_field(c, "math_verify");
        bool_field(c, "strict");
        assert!(c["float_rounding"].is_u64(), "{c}");
        let types: Vec<&str> = c["match_types"]
            .as_array()
            .expect("match_types")
            .iter()
            .map(|v| v.as_str().expect("match type"))
            .collect();
        Extraction::from_match_types(&types).unwrap_or_else(|e| panic!("{types:?}: {e}"));
    }
    let real = fixture("math_verify_realistic.jsonl");
    assert!(real.len() >= 250, "only {} realistic cases", real.len());
    for c in &real {
        let gold = str_field(c, "gold");
        assert_eq!(str_field(c, "gold_text"), format!("\\boxed{{{gold}}}"));
        str_field(c, "response");
        bool_field(c, "math_verify");
    }
    // Both verdicts occur, so agreement is not trivially reachable.
    for (name, set) in [("suite", &cases), ("realistic", &real)] {
        let yes = set.iter().filter(|c| c["math_verify"] == true).count();
        assert!(
            yes > 0 && yes < set.len(),
            "{name}: {yes}/{} true",
            set.len()
        );
    }
}

#[test]
fn conforms_on_math_verify_test_suite() {
    let mut tally = Tally::new("math-verify test suite");
    let mut own_failures = 0;
    for c in fixture("math_verify_cases.jsonl") {
        if c["expected"] != c["math_verify"] {
            own_failures += 1;
        }
        let types: Vec<&str> = c["match_types"]
            .as_array()
            .expect("match_types")
            .iter()
            .map(|v| v.as_str().expect("match type"))
            .collect();
        let extraction = Extraction::from_match_types(&types).expect("match types");
        let opts = CompareOptions {
            float_rounding: u32_field(&c, "float_rounding", 6),
            numeric_precision: u32_field(&c, "numeric_precision", 15),
            strict: c.get("strict").and_then(Value::as_bool).unwrap_or(true),
            allow_set_relation_comp: c
                .get("allow_set_relation_comp")
                .and_then(Value::as_bool)
                .unwrap_or(false),
        };
        let boxed_priority = c
            .get("boxed_match_priority")
            .and_then(Value::as_i64)
            .map_or(answer::DEFAULT_BOXED_PRIORITY, |v| v as i32);
        let (gold, pred) = (str_field(&c, "gold"), str_field(&c, "pred"));
        let out = replay(gold, pred, &extraction, boxed_priority, &opts);
        tally.record(
            str_field(&c, "source"),
            gold,
            pred,
            bool_field(&c, "math_verify"),
            out,
        );
    }
    println!("math-verify 0.9.0 fails {own_failures} of its own test cases");
    tally.finish();
}

#[test]
fn conforms_on_realistic_responses() {
    let mut tally = Tally::new("realistic responses");
    let extraction = Extraction::default();
    let opts = CompareOptions::default();
    for c in fixture("math_verify_realistic.jsonl") {
        let source = format!(
            "realistic #{} ({})",
            c["id"],
            c["category"].as_str().unwrap_or("?")
        );
        let (gold, response) = (str_field(&c, "gold_text"), str_field(&c, "response"));
        let out = replay(
            gold,
            response,
            &extraction,
            answer::DEFAULT_BOXED_PRIORITY,
            &opts,
        );
        tally.record(&source, gold, response, bool_field(&c, "math_verify"), out);
    }
    tally.finish();
}
