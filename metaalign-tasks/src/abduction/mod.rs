//! Abduction: reverse rule-graph search.
//!
//! Premises `(body) => head` with AND / OR / NOT in the body, known atoms,
//! and goals. A goal is reachable iff the premises and known atoms entail
//! it (it is true in every model); labels are computed exactly. Answers are
//! `(i) G is reachable` / `(i) G is unreachable` lines, one per goal.

pub mod generate;
pub mod puzzle;
pub mod solve;

use std::sync::Arc;

use metaalign_core::{
    format_compact, seed::Rng, Ability, ChatMessage, CompactString, Error, Level, Outcome, Result,
    Solution, Task, TaskConfig, TaskGenerator, Verdict, Verifier,
};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::common::{judge_response, RationaleStyle};
use crate::dataset::PaperRecord;
pub use generate::LevelSpec;
pub use puzzle::{
    parse_labels, parse_labels_into, parse_puzzle_text, AbductionPuzzle, Body, Premise,
};
pub use solve::{analyse, Analysis, GoalStatus};

/// The registered kind name.
pub const KIND: &str = "abduction";

/// `[tasks.NAME] kind = "abduction"`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AbductionConfig {
    /// Highest level offered (levels beyond 5 lengthen the chains and add
    /// goals, distractors and cycles).
    pub max_level: u32,
    /// Attach the backward proof of each goal as a rationale.
    pub rationale: bool,
    /// `"full"` (sentences, default) or `"step"` (one compact line per
    /// goal, `(1) G: G<2 C<1 yes`; see [`solve::step_rationale`]).
    pub rationale_style: RationaleStyle,
}

impl Default for AbductionConfig {
    fn default() -> Self {
        Self {
            max_level: 10,
            rationale: true,
            rationale_style: RationaleStyle::Full,
        }
    }
}

#[typetag::serde(name = "abduction")]
impl TaskConfig for AbductionConfig {
    fn build(&self) -> Result<Arc<dyn TaskGenerator>> {
        if !(1..=20).contains(&self.max_level) {
            return Err(Error::config(format!(
                "abduction: max_level must be between 1 and 20, got {}",
                self.max_level
            )));
        }
        Ok(Arc::new(AbductionGenerator::new(self.clone())))
    }
}

/// Generator, solver and verifier of abduction tasks.
#[derive(Clone, Debug, Default)]
pub struct AbductionGenerator {
    pub config: AbductionConfig,
}

const SYSTEM_PROMPT: &str = "You are a careful logician. First reason step by step inside <think> </think>, then give only the final answer inside <answer> </answer>, i.e. <think> reasoning </think><answer> answer </answer>.";

/// The ground-truth JSON the verifier reads.
pub fn ground_truth(p: &AbductionPuzzle, labels: &[bool]) -> Value {
    json!({
        "premises": p.premise_texts(),
        "known_atoms": p.known_names(),
        "goals": p.goal_names(),
        "reachable": labels,
        "solution_text_format": p.answer_text(labels),
    })
}

/// Goal names and labels from a ground truth (labels from `reachable`, or
/// else read from `solution_text_format`).
fn goals_and_labels(gt: &Value) -> std::result::Result<(Vec<String>, Vec<bool>), String> {
    let goals: Vec<String> = gt
        .get("goals")
        .and_then(Value::as_array)
        .ok_or("ground truth has no `goals` list")?
        .iter()
        .map(|g| {
            g.as_str()
                .map(str::to_string)
                .ok_or("a goal is not a string")
        })
        .collect::<std::result::Result<_, _>>()?;
    let labels = match gt.get("reachable").and_then(Value::as_array) {
        Some(ls) => ls
            .iter()
            .map(|l| l.as_bool().ok_or("a label is not a boolean"))
            .collect::<std::result::Result<Vec<_>, _>>()?,
        None => {
            let text = gt
                .get("solution_text_format")
                .and_then(Value::as_str)
                .ok_or("ground truth has neither `reachable` nor `solution_text_format`")?;
            parse_labels(text, &goals)?
        }
    };
    if labels.len() != goals.len() {
        return Err(format!("{} goals but {} labels", goals.len(), labels.len()));
    }
    Ok((goals, labels))
}

/// The puzzle of a task: from its ground truth, else from its puzzle text.
pub fn task_puzzle(task: &Task) -> std::result::Result<AbductionPuzzle, String> {
    let gt = &task.ground_truth;
    let list = |key: &str| -> Option<Vec<String>> {
        gt.get(key)?
            .as_array()?
            .iter()
            .map(|v| v.as_str().map(str::to_string))
            .collect()
    };
    match (list("premises"), list("known_atoms"), list("goals")) {
        (Some(p), Some(k), Some(g)) => {
            AbductionPuzzle::from_parts(&p, &k, &g).map_err(|e| e.message)
        }
        _ => parse_puzzle_text(&task.puzzle).map_err(|e| e.message),
    }
}

impl AbductionGenerator {
    pub fn new(config: AbductionConfig) -> Self {
        Self { config }
    }

    fn user_prompt(p: &AbductionPuzzle) -> String {
        format!(
            "Each premise `(condition) => conclusion` says that the conclusion is true whenever the condition is; \
             conditions combine atoms with AND, OR and NOT. The known atoms are true. A goal is reachable if it \
             must be true whenever all the premises hold and the known atoms are true, and unreachable otherwise.\n\n\
             {}\n\n\
             Work backwards from each goal: find the premises that conclude it, what their conditions require, \
             and whether the known atoms establish that. In the answer, write one line per goal, in the order listed, \
             for example:\n<answer>\n(1) A is reachable\n(2) B is unreachable\n...\n</answer>",
            p.text()
        )
    }

    /// The rationale in the configured style.
    fn rationale_of(&self, p: &AbductionPuzzle, analysis: &Analysis) -> String {
        match self.config.rationale_style {
            RationaleStyle::Full => solve::rationale(p, analysis),
            RationaleStyle::Step => solve::step_rationale(p, analysis),
        }
    }

    /// Builds the task for a puzzle and its exact analysis.
    pub fn make_task(
        &self,
        level: Level,
        id: String,
        p: &AbductionPuzzle,
        analysis: &Analysis,
    ) -> Task {
        let labels = analysis.labels();
        Task {
            id,
            kind: KIND.into(),
            ability: Ability::Abduction,
            level,
            puzzle: p.text(),
            prompt: vec![
                ChatMessage::new("system", SYSTEM_PROMPT),
                ChatMessage::new("user", Self::user_prompt(p)),
            ],
            templated: false,
            answer: p.answer_text(&labels),
            ground_truth: ground_truth(p, &labels),
            rationale: self
                .config
                .rationale
                .then(|| self.rationale_of(p, analysis)),
        }
    }
}

impl TaskGenerator for AbductionGenerator {
    fn kind(&self) -> &str {
        KIND
    }

    fn ability(&self) -> Ability {
        Ability::Abduction
    }

    fn levels(&self) -> Vec<Level> {
        (1..=self.config.max_level).map(Level).collect()
    }

    fn generate(&self, level: Level, index: u64, rng: &mut Rng) -> Result<Task> {
        if level.0 == 0 || level.0 > self.config.max_level {
            return Err(Error::config(format!(
                "abduction has levels 1 to {}, not {level}",
                self.config.max_level
            )));
        }
        let g = generate::generate(&LevelSpec::for_level(level.0), rng);
        Ok(self.make_task(
            level,
            format!("abduction-L{}-{index}", level.0),
            &g.puzzle,
            &g.analysis,
        ))
    }

    fn verifier(&self) -> Arc<dyn Verifier> {
        Arc::new(AbductionVerifier)
    }

    fn solve(&self, task: &Task) -> Result<Solution> {
        let p = task_puzzle(task).map_err(|e| Error::data(format!("task {}: {e}", task.id)))?;
        let analysis = analyse(&p);
        Ok(Solution {
            answer: p.answer_text(&analysis.labels()),
            rationale: Some(self.rationale_of(&p, &analysis)),
        })
    }
}

/// Checks abduction responses: correct iff every goal is labelled as the
/// ground truth says. Total: never panics.
#[derive(Clone, Copy, Debug, Default)]
pub struct AbductionVerifier;

impl AbductionVerifier {
    /// Judges an answer text (what is inside `<answer>`).
    pub fn judge(task: &Task, answer: &str) -> (Outcome, Option<CompactString>, CompactString) {
        // Fast path, without allocating: up to 16 goals, given with their
        // `reachable` labels in the ground truth.
        const MAX: usize = 16;
        // One pass over the keys (as `get` for both would).
        let (mut goals, mut reach) = (None, None);
        for (k, v) in task.ground_truth.as_object().into_iter().flatten() {
            match k.as_str() {
                "goals" => goals = v.as_array(),
                "reachable" => reach = v.as_array(),
                _ => {}
            }
        }
        if let (Some(goals), Some(reach)) = (goals, reach) {
            let n = goals.len();
            let mut names = [""; MAX];
            let mut truth = [false; MAX];
            let ok = n <= MAX
                && reach.len() == n
                && goals.iter().zip(reach).enumerate().all(|(i, (g, r))| {
                    match (g.as_str(), r.as_bool()) {
                        (Some(g), Some(r)) => {
                            names[i] = g;
                            truth[i] = r;
                            true
                        }
                        _ => false,
                    }
                });
            if ok {
                let mut labels = [None; MAX];
                return match parse_labels_into(answer, &names[..n], &mut labels[..n]) {
                    Err(e) => (Outcome::Unparseable, None, e.into()),
                    Ok(()) => {
                        let labels: [bool; MAX] = labels.map(|l| l == Some(true));
                        Self::outcome(&names[..n], &labels[..n], &truth[..n])
                    }
                };
            }
        }
        let (goals, truth) = match goals_and_labels(&task.ground_truth) {
            Ok(x) => x,
            Err(e) => {
                return (
                    Outcome::Unparseable,
                    None,
                    format_compact!("task ground truth is invalid: {e}"),
                )
            }
        };
        match parse_labels(answer, &goals) {
            Err(e) => (Outcome::Unparseable, None, e.into()),
            Ok(labels) => Self::outcome(&goals, &labels, &truth),
        }
    }

    /// The verdict on parsed labels: the parsed answer in the canonical
    /// `(i) G is reachable` form and the mislabelled goals.
    fn outcome<S: AsRef<str>>(
        goals: &[S],
        labels: &[bool],
        truth: &[bool],
    ) -> (Outcome, Option<CompactString>, CompactString) {
        let mut buf = [0u8; 20];
        let len: usize = goals
            .iter()
            .enumerate()
            .map(|(i, g)| decimal(i + 1, &mut buf).len() + g.as_ref().len() + 17)
            .sum();
        let mut parsed = String::with_capacity(len);
        for (i, (g, &r)) in goals.iter().zip(labels).enumerate() {
            if i > 0 {
                parsed.push('\n');
            }
            push_item(&mut parsed, i, g.as_ref());
            parsed.push_str(if r {
                " is reachable"
            } else {
                " is unreachable"
            });
        }
        let parsed = CompactString::from(parsed);
        let mut wrong = String::new();
        for (i, (g, _)) in goals
            .iter()
            .zip(labels.iter().zip(truth))
            .enumerate()
            .filter(|(_, (_, (a, b)))| a != b)
        {
            wrong.push_str(if wrong.is_empty() {
                "mislabelled: "
            } else {
                ", "
            });
            push_item(&mut wrong, i, g.as_ref());
        }
        let wrong = CompactString::from(wrong);
        if wrong.is_empty() {
            (
                Outcome::Correct,
                Some(parsed),
                CompactString::const_new("every goal labelled correctly"),
            )
        } else {
            (Outcome::Wrong, Some(parsed), wrong)
        }
    }
}

/// Appends `(i+1) name`, without `fmt`.
fn push_item(out: &mut String, i: usize, name: &str) {
    out.push('(');
    out.push_str(decimal(i + 1, &mut [0u8; 20]));
    out.push_str(") ");
    out.push_str(name);
}

/// `n` in decimal, written into `buf`.
fn decimal(mut n: usize, buf: &mut [u8; 20]) -> &str {
    let mut at = buf.len();
    loop {
        at -= 1;
        buf[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    std::str::from_utf8(&buf[at..]).unwrap_or("")
}

impl Verifier for AbductionVerifier {
    fn verify(&self, task: &Task, response: &str) -> Verdict {
        judge_response(task, response, |answer| Self::judge(task, answer))
    }
}

/// Imports one row of the paper's abduction data, keeping its prompt text
/// (already templated) and ground-truth answer.
pub fn from_paper(record: &PaperRecord) -> Result<Task> {
    let where_ = format!(
        "paper abduction row {} (level {})",
        record.row, record.level
    );
    let text = record
        .puzzle_text
        .as_deref()
        .ok_or_else(|| Error::data(format!("{where_}: no puzzle_text")))?;
    let p = parse_puzzle_text(text).map_err(|e| Error::data(format!("{where_}: {e}")))?;
    let gt_text = record
        .ground_truth
        .get("solution_text_format")
        .and_then(Value::as_str)
        .or(record.solution_text.as_deref())
        .ok_or_else(|| Error::data(format!("{where_}: no ground_truth.solution_text_format")))?;
    let labels = parse_labels(gt_text, &p.goal_names())
        .map_err(|e| Error::data(format!("{where_}: ground truth unreadable: {e}")))?;
    let mut gt = ground_truth(&p, &labels);
    if let (Value::Object(map), Value::Object(orig)) = (&mut gt, &record.ground_truth) {
        for (k, v) in orig {
            map.insert(k.clone(), v.clone());
        }
    }
    let split = record
        .extra_info
        .get("split")
        .and_then(Value::as_str)
        .unwrap_or("data");
    let index = record
        .extra_info
        .get("index")
        .and_then(Value::as_u64)
        .unwrap_or(record.row as u64);
    Ok(Task {
        id: format!("abduction-L{}-{split}-{index}", record.level),
        kind: KIND.into(),
        ability: Ability::Abduction,
        level: Level(record.level),
        puzzle: text.to_string(),
        prompt: record.prompt.clone(),
        templated: true,
        answer: gt_text.to_string(),
        ground_truth: gt,
        rationale: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn wrap(answer: &str) -> String {
        format!("<think>reasoning</think><answer>{answer}</answer>")
    }

    #[test]
    fn generated_tasks_verify_and_solve() {
        let g = AbductionGenerator::default();
        let v = g.verifier();
        for level in 1..=6 {
            let mut rng = Rng::seed_from_u64(level as u64);
            let t = g.generate(Level(level), 0, &mut rng).unwrap();
            assert!(v.verify(&t, &wrap(&t.answer)).is_correct(), "{}", t.answer);
            assert_eq!(g.solve(&t).unwrap().answer, t.answer);
            // Solving from the puzzle text alone gives the same answer.
            let mut bare = t.clone();
            bare.ground_truth =
                json!({"goals": t.ground_truth["goals"], "reachable": t.ground_truth["reachable"]});
            assert_eq!(g.solve(&bare).unwrap().answer, t.answer);
            assert!(t.rationale.as_deref().unwrap().contains("Goal (1)"));
        }
    }

    #[test]
    fn wrong_and_unparseable() {
        let g = AbductionGenerator::default();
        let v = g.verifier();
        let mut rng = Rng::seed_from_u64(4);
        let t = g.generate(Level(3), 0, &mut rng).unwrap();
        let flipped = if t.answer.contains(" is unreachable") {
            t.answer.replacen(" is unreachable", " is reachable", 1)
        } else {
            t.answer.replacen(" is reachable", " is unreachable", 1)
        };
        assert_eq!(v.verify(&t, &wrap(&flipped)).outcome, Outcome::Wrong);
        let first_only = t.answer.lines().next().unwrap().to_string();
        assert_eq!(
            v.verify(&t, &wrap(&first_only)).outcome,
            Outcome::Unparseable
        );
        assert_eq!(v.verify(&t, "").outcome, Outcome::Unparseable);
        let mut broken = t.clone();
        broken.ground_truth = json!({});
        assert_eq!(
            v.verify(&broken, &wrap(&t.answer)).outcome,
            Outcome::Unparseable
        );
    }
}
