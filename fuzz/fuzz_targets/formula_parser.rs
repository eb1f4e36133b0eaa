//! The formula parser is total, and printing what it parsed is stable.
#![no_main]

use libfuzzer_sys::fuzz_target;
use metaalign_tasks::logic;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(f) = logic::parse(text) {
        let printed = f.to_text();
        let again = logic::parse(&printed).expect("printed formula must parse");
        assert_eq!(again, f);
        if f.max_var() < 12 {
            let _ = logic::classify(std::slice::from_ref(&f), usize::from(f.max_var()) + 1);
        }
    }
});
