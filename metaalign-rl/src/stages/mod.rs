//! Training stage kinds: `sft` (supervised warm-up), `align` (stage A: one
//! specialist per meta-ability, REINFORCE++ and the paper's reward by
//! default) and `domain_rl` (stage C: GRPO and a binary reward by default).
//! Each runs a trainer into its stage folder and outputs `model`.

mod training;

pub use training::{AlignStage, DomainRlStage, SftStage};
