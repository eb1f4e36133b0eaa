//! The abduction verifier: reads the goal labels in an answer and compares
//! them with the ground truth's.

use metaalign_core::{format_compact, CompactString, Outcome, Task, Verdict, Verifier};

use super::ground_truth::goals_and_labels;
use super::puzzle::{parse_labels, parse_labels_into};
use crate::common::judge_response;

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
