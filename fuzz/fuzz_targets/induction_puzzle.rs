//! The induction puzzle-text parser is total; what it reads prints back
//! (in our layout) to text that reads to the same sequence, and the exact
//! analysis and solver never panic on it.
#![no_main]

use libfuzzer_sys::fuzz_target;
use metaalign_tasks::induction::{parse_puzzle, puzzle_text, solve_masked, Masked};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Ok(seq) = parse_puzzle(&text) {
        let visible: Vec<Option<i64>> = seq
            .terms
            .iter()
            .enumerate()
            .map(|(i, &v)| (i != seq.mask).then_some(v))
            .collect();
        let again = parse_puzzle(&puzzle_text(&visible)).expect("printed puzzle parses");
        assert_eq!(again, seq);
        if let Some(m) = Masked::new(&seq.terms, seq.mask) {
            let _ = m.all_determined();
            let _ = solve_masked(&m, Some(seq.terms[0]), None, None);
        }
    }
});
