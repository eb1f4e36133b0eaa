//! The abduction puzzle-text parser is total; what it reads prints back to
//! text that reads to the same puzzle, and analysing it never panics.
#![no_main]

use libfuzzer_sys::fuzz_target;
use metaalign_tasks::abduction::{analyse, parse_puzzle_text};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Ok(p) = parse_puzzle_text(&text) {
        let printed = p.text();
        let again = parse_puzzle_text(&printed).expect("printed puzzle must parse");
        assert_eq!(again.text(), printed);
        if p.atoms.len() <= 64 {
            let _ = analyse(&p);
        }
    }
});
