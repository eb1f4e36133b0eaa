//! Settings of the supervised warm-up trainer (`kind = "sft"`).

use metaalign_core::{Error, Result};

use super::settings::{settings_with_common, CommonSettings};

settings_with_common! {
    /// `kind = "sft"`: supervised warm-up on generated tasks; the target is
    /// `rationale</think><answer>answer</answer>` after the prompt's `<think>`.
    pub struct SftSettings {
        /// Tasks per optimizer step.
        batch_size: usize = 16,
        /// Put the task's rationale inside the think block (else leave it empty).
        rationale: bool = true,
        /// Rationales longer than this many characters are cut (0: no limit).
        max_rationale_chars: usize = 0,
        /// End the target with the chat template's end-of-turn text (`<|im_end|>`
        /// built in, `<|eot_id|>` for Llama-3, ...) so the model learns to stop.
        end_of_turn: bool = true,
    }
    common = CommonSettings {
        steps_per_level: 100,
        ..CommonSettings::default()
    };
}

impl SftSettings {
    /// Checks the common settings and `batch_size`; refuses the RL-only `max_rollouts`.
    pub fn validate(&self) -> Result<()> {
        self.common().validate("sft")?;
        if self.max_rollouts.is_some() {
            return Err(Error::config(
                "trainer `sft`: max_rollouts is an RL budget (sampled responses); use steps_per_level or max_minutes",
            ));
        }
        if self.batch_size == 0 {
            return Err(Error::config(
                "trainer `sft`: batch_size must be at least 1",
            ));
        }
        Ok(())
    }
}
