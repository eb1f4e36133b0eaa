//! A reasoning-domain plugin for stage C (domain RL): generated multi-step
//! arithmetic word problems with integer answers.
//!
//! Registered as the task kind `arithmetic`:
//!
//! ```toml
//! [tasks.arithmetic]
//! kind = "arithmetic"
//! max_level = 5      # level L has L operations; operands grow with L
//! rationale = true   # attach the worked steps as a warm-up chain of thought
//! ```
//!
//! A response is right when its `<answer>` holds the number, written plain
//! (`<answer>42</answer>`, `-3`, `1,250`, `42.0`) or boxed
//! (`<answer>\boxed{42}</answer>`). The verifier is total.
//!
//! The crate uses the public API only (`metaalign-core` traits and
//! registry, `metaalign-tasks` response-format helpers): copy it to start a
//! new domain.
#![warn(missing_docs)]

use std::sync::Arc;

use metaalign_core::seed::Rng;
use metaalign_core::{
    format_compact, Ability, CompactString, Error, Level, Outcome, Result, Solution, Task,
    TaskConfig, TaskGenerator, ToCompactString, Verdict, Verifier,
};
use metaalign_core::{Plugin, Registry};
use metaalign_tasks::common::judge_response;
use rand::Rng as _;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

/// The registered kind.
pub const KIND: &str = "arithmetic";

/// Adds the `arithmetic` task kind.
#[derive(Clone, Copy, Debug, Default)]
pub struct ArithmeticPlugin;

impl Plugin for ArithmeticPlugin {
    fn build(&self, registry: &mut Registry) {
        registry.add_task(
            "plugin domain: multi-step arithmetic word problems (level = number of steps), integer answers, plain or \\boxed{}",
            ArithmeticConfig::default(),
        );
    }
}

/// `[tasks.NAME] kind = "arithmetic"`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ArithmeticConfig {
    /// Highest level offered (level L = L operations), 1–12.
    pub max_level: u32,
    /// Attach the worked steps to each task.
    pub rationale: bool,
}

impl Default for ArithmeticConfig {
    fn default() -> Self {
        Self {
            max_level: 5,
            rationale: true,
        }
    }
}

#[typetag::serde(name = "arithmetic")]
impl TaskConfig for ArithmeticConfig {
    fn build(&self) -> Result<Arc<dyn TaskGenerator>> {
        if !(1..=12).contains(&self.max_level) {
            return Err(Error::config(format!(
                "arithmetic: `max_level` must be between 1 and 12, got {}",
                self.max_level
            )));
        }
        Ok(Arc::new(ArithmeticGenerator {
            config: self.clone(),
        }))
    }
}

/// One operation of a problem.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Op {
    /// Gain `operand` more.
    Add,
    /// Give `operand` away.
    Sub,
    /// Multiply by `operand`.
    Mul,
    /// Split equally into `operand` parts and keep one.
    Div,
}

impl Op {
    /// The value after this step; `None` on overflow or an uneven split.
    pub fn apply(self, value: i64, operand: i64) -> Option<i64> {
        match self {
            Op::Add => value.checked_add(operand),
            Op::Sub => value.checked_sub(operand),
            Op::Mul => value.checked_mul(operand),
            Op::Div => (operand != 0 && value % operand == 0).then(|| value / operand),
        }
    }

    fn symbol(self) -> &'static str {
        match self {
            Op::Add => "+",
            Op::Sub => "-",
            Op::Mul => "*",
            Op::Div => "/",
        }
    }
}

/// A problem's structure: the ground truth the verifier and solver read.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Problem {
    /// Who owns the items ("Ava").
    pub name: String,
    /// What is counted ("apples").
    pub item: String,
    /// How many there are at first.
    pub start: i64,
    /// The operations, in order, with their operands.
    pub steps: Vec<(Op, i64)>,
}

impl Problem {
    /// Evaluates the steps in order; `None` on an invalid step.
    pub fn evaluate(&self) -> Option<i64> {
        self.steps
            .iter()
            .try_fold(self.start, |v, &(op, x)| op.apply(v, x))
    }

    /// The word problem.
    pub fn text(&self) -> String {
        let (n, it) = (&self.name, &self.item);
        let mut s = format!("{n} has {} {it}.", self.start);
        for (i, &(op, x)) in self.steps.iter().enumerate() {
            let who = if i % 2 == 0 { "Then they" } else { "Next they" };
            let sentence = match op {
                Op::Add => format!(" {who} get {x} more."),
                Op::Sub => format!(" {who} give away {x}."),
                Op::Mul => match x {
                    2 => format!(" {who} double them."),
                    3 => format!(" {who} triple them."),
                    _ => format!(" {who} multiply them by {x}."),
                },
                Op::Div => format!(" {who} split them equally into {x} groups and keep one group."),
            };
            s.push_str(&sentence);
        }
        s.push_str(&format!(" How many {it} does {n} have now?"));
        s
    }

    /// The worked steps, one equation per line.
    pub fn rationale(&self) -> String {
        let mut v = self.start;
        let mut lines = Vec::new();
        for &(op, x) in &self.steps {
            let next = op.apply(v, x).unwrap_or(v);
            lines.push(format!("{v} {} {x} = {next}", op.symbol()));
            v = next;
        }
        lines.join("\n")
    }
}

const NAMES: [&str; 8] = ["Ann", "Bo", "Cy", "Dee", "Eli", "Fay", "Gus", "Ivy"];
const ITEMS: [&str; 8] = [
    "apples", "coins", "books", "pens", "cards", "shells", "stamps", "eggs",
];
const SYSTEM_PROMPT: &str =
    "Solve the problem. Think inside <think> </think>, then give the number inside <answer> </answer>.";

/// Generator, solver and verifier of arithmetic problems.
#[derive(Clone, Debug, Default)]
pub struct ArithmeticGenerator {
    /// The settings it was built from.
    pub config: ArithmeticConfig,
}

impl ArithmeticGenerator {
    /// Draws one problem of `level` operations. Values stay in 0..=999
    /// (no negative counts; division is exact).
    pub fn problem(level: Level, rng: &mut Rng) -> Problem {
        let l = i64::from(level.0.max(1));
        let max_operand = 4 + 5 * l;
        let name = NAMES[rng.random_range(0..NAMES.len())].to_string();
        let item = ITEMS[rng.random_range(0..ITEMS.len())].to_string();
        let start = rng.random_range(2..=(6 + 4 * l));
        let mut value = start;
        let mut steps = Vec::new();
        while (steps.len() as i64) < l {
            let op = match rng.random_range(0..10) {
                0..=3 => Op::Add,
                4..=6 => Op::Sub,
                7..=8 => Op::Mul,
                _ => Op::Div,
            };
            let x = match op {
                Op::Add => rng.random_range(1..=max_operand),
                Op::Sub if value >= 1 => rng.random_range(1..=value.min(max_operand)),
                Op::Mul if l >= 2 && value * 3 <= 999 => rng.random_range(2..=3),
                Op::Div => {
                    let divisors: Vec<i64> =
                        (2..=5).filter(|d| value % d == 0 && value >= *d).collect();
                    if divisors.is_empty() {
                        continue;
                    }
                    divisors[rng.random_range(0..divisors.len())]
                }
                _ => continue,
            };
            match op.apply(value, x) {
                Some(v) if (0..=999).contains(&v) => {
                    value = v;
                    steps.push((op, x));
                }
                _ => continue,
            }
        }
        Problem {
            name,
            item,
            start,
            steps,
        }
    }

    fn problem_of(task: &Task) -> Result<Problem> {
        serde_json::from_value(
            task.ground_truth
                .get("problem")
                .cloned()
                .unwrap_or(Value::Null),
        )
        .map_err(|e| {
            Error::data(format!(
                "task `{}`: bad arithmetic ground truth: {e}",
                task.id
            ))
        })
    }
}

impl TaskGenerator for ArithmeticGenerator {
    fn kind(&self) -> &str {
        KIND
    }

    fn ability(&self) -> Ability {
        Ability::Domain(KIND.to_string())
    }

    fn levels(&self) -> Vec<Level> {
        (1..=self.config.max_level).map(Level).collect()
    }

    fn generate(&self, level: Level, index: u64, rng: &mut Rng) -> Result<Task> {
        if level.0 == 0 || level.0 > self.config.max_level {
            return Err(Error::config(format!(
                "arithmetic: level {level} is outside 1..={}",
                self.config.max_level
            )));
        }
        let problem = Self::problem(level, rng);
        let answer = problem
            .evaluate()
            .ok_or_else(|| Error::data("arithmetic: generated an invalid problem"))?;
        let solution = Solution {
            answer: answer.to_string(),
            rationale: self.config.rationale.then(|| problem.rationale()),
        };
        let ground_truth = json!({ "answer": answer, "problem": problem });
        Ok(Task::generated(
            self,
            level,
            index,
            SYSTEM_PROMPT,
            problem.text(),
            solution,
            ground_truth,
        ))
    }

    fn verifier(&self) -> Arc<dyn Verifier> {
        Arc::new(ArithmeticVerifier)
    }

    fn solve(&self, task: &Task) -> Result<Solution> {
        let problem = Self::problem_of(task)?;
        let answer = problem.evaluate().ok_or_else(|| {
            Error::data(format!("task `{}`: its steps cannot be evaluated", task.id))
        })?;
        Ok(Solution {
            answer: answer.to_string(),
            rationale: Some(problem.rationale()),
        })
    }
}

/// Reads a number from an answer: `\boxed{N}` (the last one) or the whole
/// answer as a plain number. Thousands separators (`1,250`), a leading `+`,
/// a trailing `.` and an integral decimal (`42.0`) are accepted.
pub fn parse_number(answer: &str) -> std::result::Result<i64, String> {
    let mut text = answer.trim();
    if let Some(start) = text.rfind("\\boxed{") {
        let inner = &text[start + "\\boxed{".len()..];
        let Some(end) = inner.find('}') else {
            return Err("unclosed \\boxed{".into());
        };
        text = inner[..end].trim();
    }
    let text = text.strip_prefix('$').unwrap_or(text);
    let text = text.strip_suffix('$').unwrap_or(text).trim();
    let text = text.strip_suffix('.').unwrap_or(text).trim();
    let text = text.strip_prefix('+').unwrap_or(text);
    if text.is_empty() {
        return Err("empty answer".into());
    }
    let cleaned: String = text.chars().filter(|&c| c != ',' && c != '_').collect();
    if text.contains(',') {
        // commas only as thousands separators: groups of three digits
        let groups: Vec<&str> = text.trim_start_matches('-').split(',').collect();
        if groups.len() > 1 && groups[1..].iter().any(|g| g.len() != 3) {
            return Err(format!("`{text}` is not a number"));
        }
    }
    if let Ok(n) = cleaned.parse::<i64>() {
        return Ok(n);
    }
    match cleaned.split_once('.') {
        Some((int, frac))
            if !int.is_empty() && !frac.is_empty() && frac.chars().all(|c| c == '0') =>
        {
            int.parse::<i64>()
                .map_err(|_| format!("`{text}` is not a number"))
        }
        Some((_, frac)) if frac.chars().all(|c| c.is_ascii_digit()) && !frac.is_empty() => {
            Err(format!("`{text}` is not an integer"))
        }
        _ => Err(format!("`{text}` is not a number")),
    }
}

/// Checks arithmetic answers (total: never panics).
#[derive(Clone, Copy, Debug, Default)]
pub struct ArithmeticVerifier;

impl Verifier for ArithmeticVerifier {
    fn verify(&self, task: &Task, response: &str) -> Verdict {
        let expected = task
            .ground_truth
            .get("answer")
            .and_then(Value::as_i64)
            .or_else(|| task.answer.trim().parse().ok());
        judge_response(task, response, |answer| {
            let Some(expected) = expected else {
                return (
                    Outcome::Unparseable,
                    None,
                    format_compact!("task `{}` has no numeric reference answer", task.id),
                );
            };
            match parse_number(answer) {
                Ok(n) if n == expected => (
                    Outcome::Correct,
                    Some(n.to_compact_string()),
                    CompactString::const_new("correct"),
                ),
                Ok(n) => (
                    Outcome::Wrong,
                    Some(n.to_compact_string()),
                    format_compact!("answered {n}, expected {expected}"),
                ),
                Err(why) => (Outcome::Unparseable, None, why.into()),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_plain_and_boxed_numbers() {
        assert_eq!(parse_number("42"), Ok(42));
        assert_eq!(parse_number(" \\boxed{42} "), Ok(42));
        assert_eq!(parse_number("The answer is \\boxed{ 1,250 }"), Ok(1250));
        assert_eq!(parse_number("-3"), Ok(-3));
        assert_eq!(parse_number("+7."), Ok(7));
        assert_eq!(parse_number("42.0"), Ok(42));
        assert_eq!(parse_number("$17$"), Ok(17));
        assert!(parse_number("4.5").is_err());
        assert!(parse_number("forty-two").is_err());
        assert!(parse_number("1,25").is_err());
        assert!(parse_number("\\boxed{42").is_err());
        assert!(parse_number("").is_err());
    }
}
