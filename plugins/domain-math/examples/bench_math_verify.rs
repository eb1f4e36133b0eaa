//! Throughput of the math answer verifier, to set beside Math-Verify 0.9.0's
//! (`scripts/math_verify_bench.sh` runs both; `scripts/math_verify_bench.py`
//! is the Python side).
//!
//! ```sh
//! cargo run --release -p metaalign-domain-math --example bench_math_verify [-- MIN_RESPONSES]
//! ```
//!
//! Corpus: the responses of `tests/fixtures/math_verify_realistic.jsonl`,
//! repeated (in file order) until there are at least MIN_RESPONSES (default
//! 2000). Each response is timed on one thread as `parse(gold_text)` +
//! `parse(response)` + `verify` with the default extraction and options,
//! the work Math-Verify's `verify(parse(gold), parse(response))` does.
//!
//! Then adversarial inputs, each checked as a response against `\boxed{5}`
//! (the per-response cost) and against itself as gold (two parses), several
//! times; the worst time of each is printed.
//!
//! The last line is `RESULT responses_per_sec=<x>` for the script.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use metaalign_domain_math::answer::{self, CompareOptions, Extraction};

fn load_corpus(min: usize) -> Vec<(String, String)> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/math_verify_realistic.jsonl");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    let base: Vec<(String, String)> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).expect("fixture line");
            (
                v["gold_text"].as_str().expect("gold_text").to_owned(),
                v["response"].as_str().expect("response").to_owned(),
            )
        })
        .collect();
    assert!(!base.is_empty(), "empty fixture");
    let mut out = Vec::with_capacity(min + base.len());
    while out.len() < min {
        out.extend(base.iter().cloned());
    }
    out
}

fn one(gold: &str, response: &str, ex: &Extraction, opts: &CompareOptions) -> bool {
    let g = answer::parse(gold, ex);
    let p = answer::parse(response, ex);
    answer::verify(&g, &p, opts).equal
}

fn percentile(sorted: &[Duration], q: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * q).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn us(d: Duration) -> String {
    format!("{:.1} µs", d.as_secs_f64() * 1e6)
}

fn adversarial() -> Vec<(&'static str, String)> {
    let mut v = Vec::new();
    v.push(("\\boxed{10^{10^{10}}}", "\\boxed{10^{10^{10}}}".to_owned()));

    let sentence =
        "We compute $2 \\cdot 7 = 14$ and then $14 + 6 = 20$, so \\frac{3}{4} of it is 15. ";
    let mut big = String::new();
    while big.len() < 100_000 {
        big.push_str(sentence);
    }
    big.push_str("The final answer is $\\boxed{5}$.");
    v.push(("100 kB response", big));

    v.push((
        "10,000 nested braces",
        format!("\\boxed{{{}1{}}}", "{".repeat(10_000), "}".repeat(10_000)),
    ));

    let terms: Vec<String> = (1..=1000).map(|i| i.to_string()).collect();
    v.push((
        "1,000-term sum",
        format!("\\boxed{{{}}}", terms.join(" + ")),
    ));

    v.push(("\\boxed{9^{9^{9^9}}}", "\\boxed{9^{9^{9^9}}}".to_owned()));

    let frac = format!("{}1{}", "\\frac{".repeat(10_000), "}{2}".repeat(10_000));
    v.push(("10,000 nested \\frac", format!("\\boxed{{{frac}}}")));

    v.push(("1 MB line of $", "$".repeat(1_000_000)));
    v
}

fn main() {
    let min: usize = std::env::args()
        .nth(1)
        .map(|s| s.parse().expect("MIN_RESPONSES must be a number"))
        .unwrap_or(2000);
    let ex = Extraction::default();
    let opts = CompareOptions::default();
    // BENCH_ONLY=<part of a name> times one adversarial input 200 times
    // and nothing else (for a profiler).
    if let Ok(only) = std::env::var("BENCH_ONLY") {
        for (name, input) in adversarial().into_iter().filter(|(n, _)| n.contains(&only)) {
            let t = Instant::now();
            for _ in 0..200 {
                std::hint::black_box(one("\\boxed{5}", &input, &ex, &opts));
            }
            println!(
                "  {name}: mean {:.3} ms",
                t.elapsed().as_secs_f64() * 1e3 / 200.0
            );
        }
        return;
    }
    let corpus = load_corpus(min);

    // Warm-up: one pass over the distinct responses.
    let distinct = corpus.len().min(400);
    for (g, r) in &corpus[..distinct] {
        std::hint::black_box(one(g, r, &ex, &opts));
    }

    let mut times = Vec::with_capacity(corpus.len());
    let mut equal = 0usize;
    let start = Instant::now();
    for (g, r) in &corpus {
        let t = Instant::now();
        equal += usize::from(std::hint::black_box(one(g, r, &ex, &opts)));
        times.push(t.elapsed());
    }
    let total = start.elapsed();
    times.sort_unstable();
    let rps = corpus.len() as f64 / total.as_secs_f64();
    println!("metaalign-domain-math answer verifier (one thread)");
    println!(
        "  corpus: {} responses ({} verified equal), total {:.3} s",
        corpus.len(),
        equal,
        total.as_secs_f64()
    );
    println!("  throughput: {rps:.0} responses/s");
    println!(
        "  per response: p50 {}  p99 {}  max {}",
        us(percentile(&times, 0.5)),
        us(percentile(&times, 0.99)),
        us(*times.last().expect("non-empty"))
    );

    println!("adversarial inputs (worst of 3 runs): as a response checked against \\boxed{{5}}; as both gold and response");
    for (name, input) in adversarial() {
        let (mut as_response, mut as_both) = (Duration::ZERO, Duration::ZERO);
        let mut verdicts = (false, false);
        for _ in 0..3 {
            let t = Instant::now();
            verdicts.0 = std::hint::black_box(one("\\boxed{5}", &input, &ex, &opts));
            as_response = as_response.max(t.elapsed());
            let t = Instant::now();
            verdicts.1 = std::hint::black_box(one(&input, &input, &ex, &opts));
            as_both = as_both.max(t.elapsed());
        }
        println!(
            "  {name:<24} ({:>9} bytes): response {:>9.3} ms  both {:>9.3} ms  (=5: {}, =itself: {})",
            input.len(),
            as_response.as_secs_f64() * 1e3,
            as_both.as_secs_f64() * 1e3,
            verdicts.0,
            verdicts.1
        );
    }
    println!("RESULT responses_per_sec={rps:.1}");
}
