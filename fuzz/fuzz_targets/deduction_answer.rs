//! The deduction answer parser and verifier never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use metaalign_core::{Level, Task, TaskGenerator};
use metaalign_tasks::deduction::{parse_answer, DeductionGenerator};
use std::sync::OnceLock;

fn task() -> &'static (DeductionGenerator, Task) {
    static TASK: OnceLock<(DeductionGenerator, Task)> = OnceLock::new();
    TASK.get_or_init(|| {
        let g = DeductionGenerator::default();
        let mut rng = metaalign_core::seed::item_rng(1, "fuzz", 0);
        let t = g.generate(Level(2), 0, &mut rng).expect("generate");
        (g, t)
    })
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let (g, t) = task();
    let names: Vec<String> = (0..6).map(|v| metaalign_tasks::logic::var_name(v)).collect();
    let _ = parse_answer(&text, &names);
    let _ = g.verifier().verify(t, &text);
    let _ = g.verifier().verify(t, &format!("<think></think><answer>{text}</answer>"));
});
