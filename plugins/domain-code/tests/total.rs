//! The text-handling parts of the checker are total: any response, any
//! output, any expected value gives an answer, never a panic.

use metaalign_domain_code::check::{compare_stdout, parse_decimal};
use metaalign_domain_code::extract::{extract_program, Block};
use metaalign_domain_code::layout::decompress;
use metaalign_domain_code::pyvalue::{from_json, from_tagged, py_eq};
use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn extraction_is_total(s in ".{0,300}", fence in prop::sample::select(vec!["```", "```python\n", "\n```\n", "```cpp\n"])) {
        let text = format!("{s}{fence}{s}{fence}");
        let _ = extract_program(&text, Block::Last);
        let _ = extract_program(&text, Block::First);
    }

    #[test]
    fn comparisons_are_total(a in "[0-9eE.+\\-_ \\na-zA-Z\u{1c}\u{a0}]{0,40}", b in "[0-9eE.+\\-_ \\nInfa]{0,40}") {
        let _ = compare_stdout(&a, &b);
        for w in a.split_whitespace() {
            let _ = parse_decimal(w);
        }
    }

    #[test]
    fn json_is_total(s in "[\\[\\]{}\",:0-9eE.+\\-a-zA-Z\\\\u ]{0,60}") {
        if let Ok(v) = from_json(&s) {
            let _ = py_eq(&v, &v);
            let _ = v.show();
        }
        if let Ok(v) = serde_json::from_str::<serde_json::Value>(&s) {
            let _ = from_tagged(&v);
        }
        let _ = decompress(&s);
    }
}
