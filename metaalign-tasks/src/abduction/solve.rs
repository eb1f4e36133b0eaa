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
    /// A known atom.
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
    Unreachable {
        /// The atoms made false in that model.
        false_atoms: Vec<Atom>,
    },
}

impl GoalStatus {
    pub(crate) fn reachable(&self) -> bool {
        !matches!(self, GoalStatus::Unreachable { .. })
    }
}

/// Forward chaining and per-goal status.
pub struct Analysis {
    /// Per atom: why it holds in every model, if forward chaining shows it.
    pub support: Vec<Option<Support>>,
    /// Per goal, in the puzzle's goal order: how it is or is not entailed.
    pub goals: Vec<GoalStatus>,
}

impl Analysis {
    pub(crate) fn labels(&self) -> Vec<bool> {
        self.goals.iter().map(GoalStatus::reachable).collect()
    }
}

/// Forward chaining to a fixpoint.
pub fn forward_chain(p: &AbductionPuzzle) -> Vec<Option<Support>> {
    forward_chain_ranked(p).0
}

/// [`forward_chain`], with each atom's rank: 0 for known atoms, then the
/// order in which chaining derived them (`usize::MAX` when never).
pub fn forward_chain_ranked(p: &AbductionPuzzle) -> (Vec<Option<Support>>, Vec<usize>) {
    let mut support: Vec<Option<Support>> = vec![None; p.atoms.len()];
    let mut rank = vec![usize::MAX; p.atoms.len()];
    for &k in &p.known {
        support[k] = Some(Support::Known);
        rank[k] = 0;
    }
    let mut next = 1;
    loop {
        let mut progress = false;
        for (i, prem) in p.premises.iter().enumerate() {
            if support[prem.head].is_some() {
                continue;
            }
            let holds = prem.body.eval3(&|a| support[a].is_some().then_some(true));
            if holds == Some(true) {
                support[prem.head] = Some(Support::Premise(i));
                rank[prem.head] = next;
                next += 1;
                progress = true;
            }
        }
        if !progress {
            return (support, rank);
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

// ---------------------------------------------------------------------
// Worked steps (`rationale_style = "step"`)
// ---------------------------------------------------------------------

/// Why `body` does not hold in every model: a literal of it that forward
/// chaining leaves unsupported (`X`), or a negation of a supported atom
/// (`!X`). None when the body holds.
fn blocker(b: &Body, support: &[Option<Support>], names: &[String]) -> Option<String> {
    let holds = |b: &Body| b.eval3(&|a| support[a].is_some().then_some(true)) == Some(true);
    if holds(b) {
        return None;
    }
    match b {
        Body::Atom(a) => Some(names[*a].clone()),
        Body::Not(x) => match &**x {
            Body::Atom(a) if support[*a].is_some() => Some(format!("!{}", names[*a])),
            _ => blocker_of_negation(x, names),
        },
        Body::And(l, r) => {
            if holds(l) {
                blocker(r, support, names)
            } else {
                blocker(l, support, names)
            }
        }
        Body::Or(l, _) => blocker(l, support, names),
    }
}

/// A negated sub-body that forward chaining cannot decide: its first atom.
fn blocker_of_negation(x: &Body, names: &[String]) -> Option<String> {
    let mut first = None;
    x.for_each_atom(&mut |a| {
        if first.is_none() {
            first = Some(format!("!{}", names[a]));
        }
    });
    first
}

/// The derived atoms behind `atom`, goal first: `G<2 C<1` (G by premise 2,
/// whose condition needs C, which premise 1 gives from known atoms).
fn chain(
    p: &AbductionPuzzle,
    (support, rank): (&[Option<Support>], &[usize]),
    atom: Atom,
    seen: &mut Vec<bool>,
    out: &mut Vec<String>,
) {
    if seen[atom] {
        return;
    }
    seen[atom] = true;
    if let Some(Support::Premise(i)) = support[atom] {
        out.push(format!("{}<{}", p.atoms[atom], i + 1));
        // What the premise needed when chaining used it: atoms derived
        // before this one (not the atom itself, as in `(X OR Y) => X`).
        let earlier: Vec<Option<Support>> = (0..support.len())
            .map(|a| support[a].filter(|_| rank[a] < rank[atom]))
            .collect();
        let mut needed = Vec::new();
        body_support(&p.premises[i].body, &earlier, &mut needed);
        for a in needed {
            chain(p, (support, rank), a, seen, out);
        }
    }
}

/// The worked steps of each goal, one line per goal, in a compact notation
/// a tiny model can imitate:
/// - `(1) G: G<2 C<1 yes`: the backward chain (G follows by premise 2,
///   which needs C, which premise 1 gives from the known atoms);
/// - `(1) H: cases yes`: entailed only case by case;
/// - `(1) Z: 6?O 7?!K no`: each premise concluding Z, with what blocks it
///   (O not established; K known, so NOT K fails); `none no` when no
///   premise concludes Z.
pub fn step_rationale(p: &AbductionPuzzle, analysis: &Analysis) -> String {
    let support = &analysis.support;
    let (_, rank) = forward_chain_ranked(p);
    let mut lines = Vec::new();
    for (gi, (&goal, status)) in p.goals.iter().zip(&analysis.goals).enumerate() {
        let mut parts = vec![format!("({}) {}:", gi + 1, p.atoms[goal])];
        match status {
            GoalStatus::Derived => {
                if support[goal] == Some(Support::Known) {
                    parts.push("known".into());
                } else {
                    let mut seen = vec![false; p.atoms.len()];
                    chain(p, (support, &rank), goal, &mut seen, &mut parts);
                }
                parts.push("yes".into());
            }
            GoalStatus::ByCases(_) => parts.extend(["cases".into(), "yes".into()]),
            GoalStatus::Unreachable { .. } => {
                let concluding: Vec<usize> = (0..p.premises.len())
                    .filter(|&i| p.premises[i].head == goal)
                    .collect();
                if concluding.is_empty() {
                    parts.push("none".into());
                }
                for i in concluding {
                    let why = blocker(&p.premises[i].body, support, &p.atoms).unwrap_or_default();
                    parts.push(format!("{}?{why}", i + 1));
                }
                parts.push("no".into());
            }
        }
        lines.push(parts.join(" "));
    }
    lines.join("\n")
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

    /// Replays a goal's worked-step line on `p`: chains derive each atom
    /// from its premise with known and earlier-listed atoms, blockers name
    /// premises that conclude the goal and really fail, and the verdict
    /// word is the goal's label.
    fn replay(p: &AbductionPuzzle, line: &str, goal: Atom, reachable: bool) -> Result<(), String> {
        let atom = |n: &str| {
            p.atoms
                .iter()
                .position(|a| a == n)
                .ok_or(format!("unknown atom {n}"))
        };
        let mut words: Vec<&str> = line.split(' ').collect();
        let verdict = words.pop().ok_or("empty line")?;
        if (verdict == "yes") != reachable || !matches!(verdict, "yes" | "no") {
            return Err(format!(
                "verdict {verdict} for a goal reachable={reachable}"
            ));
        }
        let head = format!("{}:", p.atoms[goal]);
        if words.get(1) != Some(&head.as_str()) {
            return Err(format!("line does not name goal {head}"));
        }
        let steps = &words[2..];
        if let Some(first) = steps.first().filter(|w| w.contains('<')) {
            // A chain: check from the known atoms upwards (reverse order).
            if !first.starts_with(&head[..head.len() - 1]) {
                return Err(format!("chain starts at {first}, not the goal"));
            }
            let mut holds: Vec<bool> = vec![false; p.atoms.len()];
            for &k in &p.known {
                holds[k] = true;
            }
            let mut pending: Vec<(Atom, usize)> = steps
                .iter()
                .map(|w| {
                    let (a, i) = w.split_once('<').ok_or(format!("bad step {w}"))?;
                    Ok((atom(a)?, i.parse::<usize>().map_err(|e| e.to_string())? - 1))
                })
                .collect::<Result<_, String>>()?;
            // Each step must hold once the steps it needs hold.
            while !pending.is_empty() {
                let before = pending.len();
                pending.retain(|&(a, i)| {
                    let pr = &p.premises[i];
                    let ok =
                        pr.head == a && pr.body.eval3(&|x| holds[x].then_some(true)) == Some(true);
                    if ok {
                        holds[a] = true;
                    }
                    !ok
                });
                if pending.len() == before {
                    return Err(format!("steps {pending:?} do not follow"));
                }
            }
            return holds[goal]
                .then_some(())
                .ok_or("chain does not reach the goal".into());
        }
        for w in steps {
            match *w {
                "none" => {
                    if p.premises.iter().any(|pr| pr.head == goal) {
                        return Err("`none` but a premise concludes the goal".into());
                    }
                }
                "cases" | "known" => {}
                _ => {
                    let (i, _) = w.split_once('?').ok_or(format!("bad step {w}"))?;
                    let i = i.parse::<usize>().map_err(|e| e.to_string())? - 1;
                    if p.premises[i].head != goal {
                        return Err(format!("premise {} does not conclude the goal", i + 1));
                    }
                }
            }
        }
        Ok(())
    }

    #[test]
    fn every_worked_step_of_generated_puzzles_is_true() {
        use crate::abduction::{AbductionConfig, AbductionGenerator};
        use metaalign_core::{seed::Rng, Level, TaskGenerator};
        use rand::SeedableRng;
        let g = AbductionGenerator::new(AbductionConfig {
            rationale_style: crate::common::RationaleStyle::Step,
            ..Default::default()
        });
        for level in 1..=6u32 {
            for index in 0..60 {
                let mut rng = Rng::seed_from_u64(u64::from(level) * 1000 + index);
                let t = g.generate(Level(level), index, &mut rng).unwrap();
                let p = parse_puzzle_text(&t.puzzle).unwrap();
                let labels: Vec<bool> = t.ground_truth["reachable"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|b| b.as_bool().unwrap())
                    .collect();
                let steps = t.rationale.clone().unwrap();
                let lines: Vec<&str> = steps.lines().collect();
                assert_eq!(lines.len(), p.goals.len(), "{steps}");
                for ((line, &goal), &label) in lines.iter().zip(&p.goals).zip(&labels) {
                    replay(&p, line, goal, label)
                        .unwrap_or_else(|e| panic!("{e}\n{line}\n{}", t.puzzle));
                }
            }
        }
    }
}
