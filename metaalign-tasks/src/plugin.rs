//! [`TasksPlugin`]: the paper's three meta-ability tasks (with their paper
//! importers), the paper's and the binary reward, and the `generate` stage.

use metaalign_core::{Ability, Plugin, Registry};

use crate::abduction::AbductionConfig;
use crate::dataset::stage::GenerateStage;
use crate::deduction::DeductionConfig;
use crate::induction::InductionConfig;
use crate::{abduction, deduction, induction, BinaryReward, PaperReward};

/// The kinds of `metaalign-tasks`.
#[derive(Clone, Copy, Debug, Default)]
pub struct TasksPlugin;

impl Plugin for TasksPlugin {
    fn build(&self, registry: &mut Registry) {
        registry
            .add_paper_task(
                "Nested propositional satisfiability (¬ ∧ ∨ → ↔ ⊕), unique model, levels 1-5 as in the paper and beyond",
                DeductionConfig::default(),
                Ability::Deduction,
                deduction::from_paper,
            )
            .add_paper_task(
                "Masked-sequence completion with unique answers (arithmetic, geometric, periodic, interleaved, op cycles)",
                InductionConfig::default(),
                Ability::Induction,
                induction::from_paper,
            )
            .add_paper_task(
                "Reverse rule-graph search: which goals do the premises and known atoms entail (levels 1-5 as in the paper and beyond)",
                AbductionConfig::default(),
                Ability::Abduction,
                abduction::from_paper,
            )
            .add_reward(
                "The paper's reward: format +1/-1, answer +2 correct / -1.5 wrong / -2 unparseable",
                PaperReward::default(),
            )
            .add_reward(
                "1 for a correct answer, 0 otherwise (stage C)",
                BinaryReward::default(),
            )
            .add_stage(
                "Writes a dataset of one task source (levels x count) to the stage folder (output `dataset`)",
                GenerateStage {
                    task: "deduction".into(),
                    levels: vec![1, 2],
                    count: 1000,
                    format: "jsonl".into(),
                    split: "train".into(),
                },
            );
    }
}
