//! The abduction answer parser and verifier never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use metaalign_core::{Level, Task, TaskGenerator};
use metaalign_tasks::abduction::{parse_labels, AbductionGenerator};
use std::sync::OnceLock;

fn task() -> &'static (AbductionGenerator, Task) {
    static TASK: OnceLock<(AbductionGenerator, Task)> = OnceLock::new();
    TASK.get_or_init(|| {
        let g = AbductionGenerator::default();
        let mut rng = metaalign_core::seed::item_rng(1, "fuzz", 0);
        let t = g.generate(Level(4), 0, &mut rng).expect("generate");
        (g, t)
    })
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let (g, t) = task();
    let goals: Vec<String> = t.ground_truth["goals"]
        .as_array()
        .map(|a| a.iter().filter_map(|v| v.as_str().map(str::to_string)).collect())
        .unwrap_or_default();
    let _ = parse_labels(&text, &goals);
    let _ = g.verifier().verify(t, &text);
    let _ = g.verifier().verify(t, &format!("<think></think><answer>{text}</answer>"));
});
