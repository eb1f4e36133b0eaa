//! A metaalign plugin from outside the repository: the `digit_sum` task kind
//! (generator, solver, verifier) and the `scaled` reward.

use std::sync::Arc;

use metaalign::prelude::*;
use rand::Rng as _;
use serde::{Deserialize, Serialize};

/// `kind = "digit_sum"`: "What is the sum of the digits of 4821?" (level L: L + 1
/// digits), with the worked sum `4+8+2+1 = 15` as the rationale.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DigitSum {}

#[typetag::serde(name = "digit_sum")]
impl TaskConfig for DigitSum {
    fn build(&self) -> Result<Arc<dyn TaskGenerator>> {
        Ok(Arc::new(self.clone()))
    }
}

const SYSTEM: &str = "Think inside <think> </think>, then give the sum inside <answer> </answer>.";

fn worked_sum(number: &str) -> Solution {
    let digits: Vec<u32> = number.chars().filter_map(|c| c.to_digit(10)).collect();
    let terms: Vec<String> = digits.iter().map(u32::to_string).collect();
    let sum: u32 = digits.iter().sum();
    Solution { answer: sum.to_string(), rationale: Some(format!("{} = {sum}", terms.join("+"))) }
}

impl TaskGenerator for DigitSum {
    fn kind(&self) -> &str {
        "digit_sum"
    }
    fn ability(&self) -> Ability {
        Ability::Domain("digit_sum".into())
    }
    fn levels(&self) -> Vec<Level> {
        (1..=8).map(Level).collect()
    }
    fn generate(&self, level: Level, index: u64, rng: &mut Rng) -> Result<Task> {
        if !(1..=8).contains(&level.0) {
            return Err(Error::config(format!("digit_sum: level {level} is outside 1..=8")));
        }
        let number = rng.random_range(10u64.pow(level.0)..10u64.pow(level.0 + 1)).to_string();
        let puzzle = format!("What is the sum of the digits of {number}?");
        let truth = serde_json::json!({ "number": number });
        Ok(Task::generated(self, level, index, SYSTEM, puzzle, worked_sum(&number), truth))
    }
    fn verifier(&self) -> Arc<dyn Verifier> {
        Arc::new(self.clone())
    }
    fn solve(&self, task: &Task) -> Result<Solution> {
        let number = task.ground_truth["number"].as_str();
        number.map(worked_sum).ok_or_else(|| Error::data(format!("{}: no `number`", task.id)))
    }
}

impl Verifier for DigitSum {
    fn verify(&self, task: &Task, response: &str) -> Verdict {
        let expected = self.solve(task).map(|s| s.answer).unwrap_or_default();
        judge_answer(task, response, &expected, |a| a.parse::<u64>().ok().map(|n| n.to_string()))
    }
}

/// `kind = "scaled"`: `scale` for a correct answer, 0 otherwise.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scaled {
    pub scale: f64,
}

#[typetag::serde(name = "scaled")]
impl RewardConfig for Scaled {
    fn build(&self) -> Result<Arc<dyn RewardScheme>> {
        Ok(Arc::new(self.clone()))
    }
}

impl RewardScheme for Scaled {
    fn name(&self) -> &str {
        "scaled"
    }
    fn reward(&self, verdict: &Verdict, _response: &str) -> f64 {
        self.scale * f64::from(u8::from(verdict.is_correct()))
    }
}

/// Adds `digit_sum` and `scaled`.
pub struct DigitSumPlugin;

impl Plugin for DigitSumPlugin {
    fn build(&self, registry: &mut Registry) {
        registry
            .add_task("digits to add up (external plugin)", DigitSum {})
            .add_reward("scale for a correct answer (external plugin)", Scaled { scale: 2.0 });
    }
}
