//! The induction solver: the simplest rule of the declared families that
//! fixes the masked term, the policy for ambiguous puzzles, and the
//! rationales that explain the answer.

use metaalign_core::{Error, Result, Solution, Task};
use serde_json::Value;

use super::ground_truth::{reference_answer, task_sequence};
use super::rules::{self, Complexity, Masked, Op, Rule};

/// Solves a task from its masked sequence, preferring its stored answer
/// where the declared families allow it (see [`solve_masked`]).
pub(super) fn solve_task(task: &Task) -> Result<Solution> {
    let seq = task_sequence(task)?;
    let masked = Masked::new(&seq.terms, seq.mask).ok_or_else(|| {
        Error::data(format!(
            "task {}: the sequence needs 3 to {} terms",
            task.id,
            rules::MAX_TERMS
        ))
    })?;
    let max_size = task
        .ground_truth
        .pointer("/complexity/size")
        .and_then(Value::as_u64)
        .map(|s| s as usize);
    let hint: Option<Rule> = task
        .ground_truth
        .get("rule")
        .and_then(|r| serde_json::from_value(r.clone()).ok());
    let solved = solve_masked(&masked, reference_answer(task), max_size, hint.as_ref())
        .map_err(|e| Error::data(format!("task {}: {e}", task.id)))?;
    Ok(Solution {
        answer: solved.value.to_string(),
        rationale: Some(solved.rationale),
    })
}

/// The rationale of a generated task from its own rule: the rule, how it
/// yields the masked term, and the uniqueness it was checked for.
pub(super) fn rule_rationale(masked: &Masked, rule: &Rule, terms: &[i64]) -> String {
    use std::fmt::Write as _;
    let m = masked.mask();
    let class = rule.complexity();
    let mut text = String::with_capacity(256);
    text.push_str("The sequence is ");
    for (i, x) in terms.iter().enumerate() {
        if i > 0 {
            text.push_str(", ");
        }
        if i == m {
            text.push('?');
        } else {
            let _ = write!(text, "{x}");
        }
    }
    let _ = write!(
        text,
        ". It follows {} ({class}), and every rule of the declared families up to this size that fits the visible terms gives the same missing term. {} So the missing term is {}.",
        rule.describe(),
        derivation(rule, terms, m),
        terms[m]
    );
    text
}

/// How a solver answer relates to the stored answer it was given.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Agreement {
    /// The simplest rules allow one completion: the stored answer.
    Unique,
    /// The simplest rules allow several completions; the stored answer is one.
    AmongSimplest,
    /// The stored answer is no completion of the simplest rules but is
    /// fixed by a more complex rule of the declared families.
    MoreComplex,
    /// No stored answer was given, or no rule gives it: the solver's own
    /// (simplest) completion.
    Own,
}

/// A solved masked sequence.
#[derive(Clone, Debug)]
pub struct Solved {
    /// The answer: the masked term.
    pub value: i64,
    /// The class of the rule that gives `value`.
    pub class: Complexity,
    /// All completions of the simplest size, with their classes.
    pub simplest: Vec<(i64, Complexity)>,
    /// How `value` relates to the stored answer.
    pub agreement: Agreement,
    /// The explanation of `value`.
    pub rationale: String,
}

/// Solves a masked sequence. The answer is the first completion of the
/// simplest size that fixes the mask, except that a `preferred` (stored)
/// answer is returned when it is a completion of the simplest size or, failing
/// that, of some more complex class up to `max_size` (all sizes when
/// `None`) — the policy for puzzles the declared families find ambiguous.
///
/// `hint`, when given (a generated task's own rule), is used in the rationale
/// if it reproduces the sequence with the chosen value at a size no larger
/// than the class found.
pub fn solve_masked(
    masked: &Masked,
    preferred: Option<i64>,
    max_size: Option<usize>,
    hint: Option<&Rule>,
) -> Result<Solved, String> {
    let simplest = masked
        .simplest()
        .ok_or_else(|| "no rule of the declared families fixes the masked term".to_string())?;
    let (mut value, mut class) = simplest[0];
    let mut agreement = Agreement::Own;
    if let Some(p) = preferred {
        if let Some(&(v, c)) = simplest.iter().find(|(v, _)| *v == p) {
            (value, class) = (v, c);
            agreement = if simplest.len() == 1 {
                Agreement::Unique
            } else {
                Agreement::AmongSimplest
            };
        } else if let Some((c, _)) = masked
            .all_determined()
            .into_iter()
            .filter(|(c, _)| max_size.is_none_or(|m| c.size <= m))
            .find(|(_, vals)| vals.contains(&p))
        {
            (value, class) = (p, c);
            agreement = Agreement::MoreComplex;
        }
    }
    let completed = masked_terms_with(masked, value);
    let explained = hint
        .filter(|r| {
            r.complexity().size <= class.size
                && r.terms(completed.len()).as_deref() == Some(&completed[..])
        })
        .cloned()
        .map(|r| (r.complexity(), r))
        .or_else(|| masked.explain(class, value).map(|r| (class, r)));
    let rationale = rationale(masked, class, explained, &simplest, value, agreement);
    Ok(Solved {
        value,
        class,
        simplest,
        agreement,
        rationale,
    })
}

fn rationale(
    masked: &Masked,
    class: Complexity,
    explained: Option<(Complexity, Rule)>,
    simplest: &[(i64, Complexity)],
    value: i64,
    agreement: Agreement,
) -> String {
    let visible: Vec<String> = masked
        .visible()
        .iter()
        .map(|v| v.map_or("?".to_string(), |x| x.to_string()))
        .collect();
    let m = masked.mask();
    let mut text = format!("The sequence is {}.", visible.join(", "));
    let lead = if agreement == Agreement::MoreComplex {
        "A rule that fits the visible terms"
    } else {
        "The simplest rule that fits the visible terms"
    };
    match explained {
        Some((class, rule)) => {
            text.push_str(&format!(" {lead} is {} ({class}).", rule.describe()));
            let terms = masked_terms_with(masked, value);
            text.push_str(&format!(" {}", derivation(&rule, &terms, m)));
        }
        None => text.push_str(&format!(
            " {lead} ({class}) gives {value} at the question mark."
        )),
    }
    let others: Vec<String> = simplest
        .iter()
        .filter(|(v, _)| *v != value)
        .map(|(v, c)| format!("{v} ({c})"))
        .collect();
    if !others.is_empty() {
        let note = if agreement == Agreement::MoreComplex {
            "Simpler rules would give"
        } else {
            "Rules of the same size also allow"
        };
        text.push_str(&format!(" ({note} {}.)", others.join(", ")));
    }
    text.push_str(&format!(" So the missing term is {value}."));
    text
}

fn masked_terms_with(masked: &Masked, value: i64) -> Vec<i64> {
    masked
        .visible()
        .iter()
        .map(|v| v.unwrap_or(value))
        .collect()
}

/// How the rule yields the masked term.
fn derivation(rule: &Rule, terms: &[i64], m: usize) -> String {
    let pos = m + 1;
    match rule {
        Rule::Cycle { ops, .. } => {
            if m > 0 {
                if let Some(op) = ops[(m - 1) % ops.len()] {
                    return format!(
                        "Term {pos} comes from term {m} ({}) by the step {op}: {} {} = {}.",
                        terms[m - 1],
                        terms[m - 1],
                        op_symbol(op),
                        terms[m]
                    );
                }
            }
            match ops[m % ops.len()] {
                Some(op) => format!(
                    "Term {} ({}) comes from term {pos} by the step {op}, so term {pos} is {}.",
                    pos + 1,
                    terms.get(m + 1).copied().unwrap_or_default(),
                    terms[m]
                ),
                None => format!("Term {pos} is {}.", terms[m]),
            }
        }
        Rule::Periodic { offset, block, .. } => {
            let p = block.len();
            format!(
                "Term {pos} is at position {} of the repeating block, so it is {}.",
                (m - (*offset).min(m)) % p + 1,
                terms[m]
            )
        }
        Rule::Interleaved { starts, steps } => {
            let k = starts.len();
            let r = m % k;
            let q = m / k;
            format!(
                "Term {pos} is item {} of sequence {}: {} + {q}×({}) = {}.",
                q + 1,
                r + 1,
                starts[r],
                steps[r],
                terms[m]
            )
        }
    }
}

/// The one step that yields the masked term `terms[m]`, as an equation:
/// `81 × 3 = 243` (from the term before it), `? + 2 = 7, so ? = 5` (from
/// the term after it, when the mask is first), `period 2: 4`.
pub(super) fn worked_step(rule: &Rule, terms: &[i64], m: usize) -> String {
    let value = terms[m];
    match rule {
        Rule::Cycle { ops, .. } => {
            if m > 0 {
                if let Some(op) = ops[(m - 1) % ops.len()] {
                    return format!("{} {} = {value}", terms[m - 1], op_symbol(op));
                }
            }
            match (ops[m % ops.len()], terms.get(m + 1)) {
                (Some(op), Some(next)) => format!("? {} = {next}, so ? = {value}", op_symbol(op)),
                _ => value.to_string(),
            }
        }
        Rule::Periodic { block, .. } => format!("period {}: {value}", block.len()),
        Rule::Interleaved { starts, steps } => {
            let k = starts.len();
            let step = op_symbol(Op::Add(steps[m % k]));
            match (m.checked_sub(k), terms.get(m + k)) {
                (Some(before), _) => format!("{} {step} = {value}", terms[before]),
                (None, Some(next)) => format!("? {step} = {next}, so ? = {value}"),
                (None, None) => value.to_string(),
            }
        }
    }
}

fn op_symbol(op: Op) -> String {
    match op {
        Op::Add(c) if c < 0 => format!("- {}", c.unsigned_abs()),
        Op::Add(c) => format!("+ {c}"),
        Op::Mul(c) => format!("× {c}"),
        Op::Div(d) => format!("÷ {d}"),
    }
}
