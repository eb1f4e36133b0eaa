//! The math answer verifier is total: extraction, parsing and comparison of
//! any gold/response pair return (never panic, never hang).
#![no_main]

use libfuzzer_sys::fuzz_target;
use metaalign_domain_math::answer::{self, CompareOptions, Extraction};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    // Gold before the first NUL, response after it (all of it when none).
    let (gold, response) = match text.find('\0') {
        Some(i) => (&text[..i], &text[i + 1..]),
        None => ("", &text[..]),
    };
    let opts = CompareOptions::default();
    let _ = answer::check(gold, response, &opts);

    let letters = Extraction::from_match_types(&["latex", "expr", "letters"])
        .expect("known match types");
    let g = answer::parse(gold, &letters);
    let p = answer::parse(response, &letters);
    let _ = (g.is_empty(), g.shown(), g.reason(), p.shown(), p.reason());
    let _ = answer::verify(&g, &p, &opts);
});
