//! The induction answer parser and verifier never panic; a parsed answer
//! prints back to text that parses to the same integer.
#![no_main]

use libfuzzer_sys::fuzz_target;
use metaalign_core::{Level, Task, TaskGenerator};
use metaalign_tasks::induction::{parse_answer, InductionGenerator};
use std::sync::OnceLock;

fn task() -> &'static (InductionGenerator, Task) {
    static TASK: OnceLock<(InductionGenerator, Task)> = OnceLock::new();
    TASK.get_or_init(|| {
        let g = InductionGenerator::default();
        let mut rng = metaalign_core::seed::item_rng(1, "fuzz", 0);
        let t = g.generate(Level(3), 0, &mut rng).expect("generate");
        (g, t)
    })
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Ok(v) = parse_answer(&text) {
        assert_eq!(parse_answer(&v.to_string()), Ok(v));
    }
    let (g, t) = task();
    let _ = g.verifier().verify(t, &text);
    let _ = g
        .verifier()
        .verify(t, &format!("<think></think><answer>{text}</answer>"));
});
