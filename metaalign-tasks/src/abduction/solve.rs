//! Exact reachability: a goal is reachable iff the premises and the known
//! atoms entail it (it is true in every model).
//!
//! Method: forward chaining with three-valued bodies derives atoms that are
//! true in every model (sound). For a goal not derived that way, only the
//! premises whose heads lie in the goal's backward cone matter (every atom
//! outside the cone can be made true, which satisfies every other premise),
//! and derived atoms are constants; the remaining free atoms of the cone
//! are decided by a bit-parallel truth table, or by the SAT solver when
//! there are more than 20 of them.

use super::puzzle::{AbductionPuzzle, Atom, Body};
use crate::logic::table::{column, TruthTable, MAX_TABLE_VARS};
use crate::logic::{BinOp, Formula, SatProblem};

/// Why an atom holds in every model.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Support {
    Known,
    /// Derived by this premise (whose body holds with earlier atoms).
    Premise(usize),
}

/// The status of one goal.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GoalStatus {
    /// Derived by forward chaining.
    Derived,
    /// Entailed, but only by case analysis over these free atoms.
    ByCases(Vec<Atom>),
    /// Not entailed: making these atoms false (and all others true)
    /// satisfies every premise and known atom while the goal is false.
    Unreachable { false_atoms: Vec<Atom> },
}

impl GoalStatus {
    pub fn reachable(&self) -> bool {
        !matches!(self, GoalStatus::Unreachable { .. })
    }
}

/// Forward chaining and per-goal status.
pub struct Analysis {
    /// Per atom: why it holds in every model, if forward chaining shows it.
    pub support: Vec<Option<Support>>,
    pub goals: Vec<GoalStatus>,
}

impl Analysis {
    pub fn labels(&self) -> Vec<bool> {
        self.goals.iter().map(GoalStatus::reachable).collect()
    }
}

/// Forward chaining to a fixpoint.
pub fn forward_chain(p: &AbductionPuzzle) -> Vec<Option<Support>> {
    let mut support: Vec<Option<Support>> = vec![None; p.atoms.len()];
    for &k in &p.known {
        support[k] = Some(Support::Known);
    }
    loop {
        let mut progress = false;
        for (i, prem) in p.premises.iter().enumerate() {
            if support[prem.head].is_some() {
                continue;
            }
            let holds = prem.body.eval3(&|a| support[a].is_some().then_some(true));
            if holds == Some(true) {
                support[prem.head] = Some(Support::Premise(i));
                progress = true;
            }
        }
        if !progress {
            return support;
        }
    }
}

/// Atoms in the backward cone of `goal` and the premises with heads there.
fn cone(p: &AbductionPuzzle, goal: Atom) -> (Vec<bool>, Vec<usize>) {
    let mut in_cone = vec![false; p.atoms.len()];
    in_cone[goal] = true;
    let mut stack = vec![goal];
    let mut by_head: Vec<Vec<usize>> = vec![Vec::new(); p.atoms.len()];
    for (i, prem) in p.premises.iter().enumerate() {
        by_head[prem.head].push(i);
    }
    let mut premises = Vec::new();
    while let Some(a) = stack.pop() {
        for &i in &by_head[a] {
            premises.push(i);
            p.premises[i].body.for_each_atom(&mut |b| {
                if !in_cone[b] {
                    in_cone[b] = true;
                    stack.push(b);
                }
            });
        }
    }
    premises.sort_unstable();
    (in_cone, premises)
}

/// A body as a formula (`var` numbers the atoms).
pub fn body_formula(b: &Body, var: &impl Fn(Atom) -> u16) -> Formula {
    match b {
        Body::Atom(a) => Formula::Var(var(*a)),
        Body::Not(x) => Formula::negate(body_formula(x, var)),
        Body::And(l, r) => Formula::bin(BinOp::And, body_formula(l, var), body_formula(r, var)),
        Body::Or(l, r) => Formula::bin(BinOp::Or, body_formula(l, var), body_formula(r, var)),
    }
}

fn goal_status(p: &AbductionPuzzle, support: &[Option<Support>], goal: Atom) -> GoalStatus {
    if support[goal].is_some() {
        return GoalStatus::Derived;
    }
    let (in_cone, premises) = cone(p, goal);
    // Free atoms: in the cone and not derived. Index them 0..k.
    let mut free_index = vec![usize::MAX; p.atoms.len()];
    let mut free = Vec::new();
    for a in 0..p.atoms.len() {
        if in_cone[a] && support[a].is_none() {
            free_index[a] = free.len();
            free.push(a);
        }
    }
    let k = free.len();
    if k <= MAX_TABLE_VARS {
        // models ∧= (¬body ∨ head) for each cone premise; ∧= ¬goal.
        let col = |a: Atom, w: usize| {
            if support[a].is_some() {
                !0
            } else {
                column(free_index[a] as u16, w)
            }
        };
        let mut t = TruthTable::all(k);
        for &i in &premises {
            let prem = &p.premises[i];
            let f = PremiseWord { prem, col: &col };
            t.and_with(|w| f.eval(w));
        }
        t.and_with(|w| !col(goal, w));
        match t.first() {
            None => GoalStatus::ByCases(free),
            Some(a) => GoalStatus::Unreachable {
                false_atoms: free
                    .iter()
                    .enumerate()
                    .filter(|(j, _)| (a >> j) & 1 == 0)
                    .map(|(_, &atom)| atom)
                    .collect(),
            },
        }
    } else {
        let var = |a: Atom| -> u16 { a as u16 };
        let mut sat = SatProblem::new(p.atoms.len());
        for &i in &premises {
            let prem = &p.premises[i];
            sat.assert(&Formula::bin(
                BinOp::Implies,
                body_formula(&prem.body, &var),
                Formula::Var(prem.head as u16),
            ));
        }
        for (a, s) in support.iter().enumerate() {
            if s.is_some() && in_cone[a] {
                sat.assert(&Formula::Var(a as u16));
            }
        }
        sat.assert(&Formula::NegVar(goal as u16));
        match sat.solve() {
            None => GoalStatus::ByCases(free),
            Some(m) => GoalStatus::Unreachable {
                false_atoms: free.into_iter().filter(|&a| !m[a]).collect(),
            },
        }
    }
}

struct PremiseWord<'a, C> {
    prem: &'a super::puzzle::Premise,
    col: &'a C,
}

impl<C: Fn(Atom, usize) -> u64> PremiseWord<'_, C> {
    fn eval(&self, w: usize) -> u64 {
        !self.prem.body.eval_word(&|a| (self.col)(a, w)) | (self.col)(self.prem.head, w)
    }
}

/// Analyses every goal exactly.
pub fn analyse(p: &AbductionPuzzle) -> Analysis {
    let support = forward_chain(p);
    let goals = p
        .goals
        .iter()
        .map(|&g| goal_status(p, &support, g))
        .collect();
    Analysis { support, goals }
}

fn names(p: &AbductionPuzzle, atoms: &[Atom]) -> String {
    atoms
        .iter()
        .map(|&a| p.atoms[a].as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Atoms whose truth makes `body` hold under forward chaining.
fn body_support(b: &Body, support: &[Option<Support>], out: &mut Vec<Atom>) {
    match b {
        Body::Atom(a) => {
            if !out.contains(a) {
                out.push(*a);
            }
        }
        Body::Not(_) => {}
        Body::And(l, r) => {
            body_support(l, support, out);
            body_support(r, support, out);
        }
        Body::Or(l, r) => {
            if l.eval3(&|a| support[a].is_some().then_some(true)) == Some(true) {
                body_support(l, support, out);
            } else {
                body_support(r, support, out);
            }
        }
    }
}

fn explain_derived(
    p: &AbductionPuzzle,
    support: &[Option<Support>],
    atom: Atom,
    indent: usize,
    done: &mut Vec<bool>,
    out: &mut Vec<String>,
) {
    let pad = "  ".repeat(indent);
    let name = &p.atoms[atom];
    if done[atom] {
        out.push(format!("{pad}{name} holds (shown above)."));
        return;
    }
    done[atom] = true;
    match support[atom] {
        Some(Support::Known) => out.push(format!("{pad}{name} is a known atom.")),
        Some(Support::Premise(i)) => {
            let mut needed = Vec::new();
            body_support(&p.premises[i].body, support, &mut needed);
            out.push(format!(
                "{pad}{name} follows from premise {} `{}` once {} hold{}.",
                i + 1,
                p.premise_text(i),
                names(p, &needed),
                if needed.len() == 1 { "s" } else { "" }
            ));
            for a in needed {
                explain_derived(p, support, a, indent + 1, done, out);
            }
        }
        None => out.push(format!("{pad}{name} is not established.")),
    }
}

/// The backward proof of each goal.
pub fn rationale(p: &AbductionPuzzle, analysis: &Analysis) -> String {
    let mut out = Vec::new();
    for (gi, (&goal, status)) in p.goals.iter().zip(&analysis.goals).enumerate() {
        let name = &p.atoms[goal];
        out.push(format!("Goal ({}) {name}:", gi + 1));
        match status {
            GoalStatus::Derived => {
                let mut done = vec![false; p.atoms.len()];
                explain_derived(p, &analysis.support, goal, 1, &mut done, &mut out);
                out.push(format!("  So {name} is reachable."));
            }
            GoalStatus::ByCases(free) => {
                out.push(format!(
                    "  No chain of premises derives {name} directly, but every assignment to {} that satisfies all premises and known atoms makes {name} true (checked case by case), so {name} is reachable.",
                    names(p, free)
                ));
            }
            GoalStatus::Unreachable { false_atoms } => {
                let concluding: Vec<usize> = p
                    .premises
                    .iter()
                    .enumerate()
                    .filter(|(_, pr)| pr.head == goal)
                    .map(|(i, _)| i)
                    .collect();
                if concluding.is_empty() {
                    out.push(format!(
                        "  {name} is not a known atom and no premise concludes it."
                    ));
                } else {
                    for i in concluding {
                        let mut missing = Vec::new();
                        p.premises[i].body.for_each_atom(&mut |a| {
                            if analysis.support[a].is_none() && !missing.contains(&a) {
                                missing.push(a);
                            }
                        });
                        out.push(format!(
                            "  Premise {} `{}` would need {}, which the known atoms do not establish.",
                            i + 1,
                            p.premise_text(i),
                            if missing.is_empty() {
                                "its condition".to_string()
                            } else {
                                format!("facts about {}", names(p, &missing))
                            }
                        ));
                    }
                }
                out.push(format!(
                    "  Making {} false and every other atom true satisfies every premise and known atom while {name} is false, so {name} is unreachable.",
                    names(p, false_atoms)
                ));
            }
        }
    }
    out.join("\n")
}

#[cfg(test)]
mod tests {
    use super::super::puzzle::parse_puzzle_text;
    use super::*;

    #[test]
    fn chains_cases_and_countermodels() {
        let p = parse_puzzle_text(
            "premises: ['((A AND B)) => C', '(C) => G', '((X OR (NOT X))) => H', '((NOT K)) => U', '(U) => U']\nknown_atoms: ['A', 'B', 'K']\ngoals: ['G', 'H', 'U', 'Z']",
        )
        .unwrap();
        let a = analyse(&p);
        assert_eq!(a.labels(), [true, true, false, false]);
        assert_eq!(a.goals[0], GoalStatus::Derived);
        assert!(matches!(a.goals[1], GoalStatus::ByCases(_)));
        let r = rationale(&p, &a);
        assert!(r.contains("G follows from premise 2"), "{r}");
        assert!(r.contains("C follows from premise 1"), "{r}");
        assert!(r.contains("no premise concludes it"), "{r}");
        assert!(r.contains("so U is unreachable"), "{r}");
    }

    #[test]
    fn sat_path_agrees_with_tables() {
        // A chain of 30 unknown atoms, each implying the next, plus a known
        // start: the goal at the end is derived; a goal behind an OR with a
        // 25-atom unknown cone is decided by SAT.
        let mut premises: Vec<String> = (0..30).map(|i| format!("(P{i}) => P{}", i + 1)).collect();
        premises.extend((0..25).map(|i| format!("((Q{i} OR Q{})) => Q{i}", i + 1)));
        premises.push("((Q0 AND (NOT Q0))) => Z".into());
        premises.push("((Q0 OR (NOT Q0))) => Y".into());
        let text = format!(
            "premises: [{}]\nknown_atoms: ['P0']\ngoals: ['P30', 'Q0', 'Z', 'Y']",
            premises
                .iter()
                .map(|s| format!("'{s}'"))
                .collect::<Vec<_>>()
                .join(", ")
        );
        let p = parse_puzzle_text(&text).unwrap();
        let a = analyse(&p);
        assert_eq!(a.labels(), [true, false, false, true]);
    }
}
