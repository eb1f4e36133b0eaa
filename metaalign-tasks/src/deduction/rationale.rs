//! A programmatic reasoning trace for a deduction puzzle: propagation
//! (a formula that would become false under one value of a variable forces
//! the other value) and case splits (assuming the wrong value of a variable
//! and deriving a contradiction), then a final check of every formula.
//! Every statement in the trace is true; forcing uses three-valued
//! evaluation, so it needs no truth table and works at any size.

use super::puzzle::DeductionPuzzle;

/// Case splits nest at most this deep inside a refutation.
const REFUTE_DEPTH: usize = 2;

fn tv(b: bool) -> &'static str {
    if b {
        "True"
    } else {
        "False"
    }
}

/// The first formula that is already false under a partial assignment.
fn conflict(p: &DeductionPuzzle, partial: &[Option<bool>]) -> Option<usize> {
    p.formulas
        .iter()
        .position(|f| f.eval_partial(&|v| partial[v as usize]) == Some(false))
}

/// Unit propagation to a fixpoint. Returns `Err(formula)` on a conflict.
fn propagate(
    p: &DeductionPuzzle,
    partial: &mut [Option<bool>],
    out: &mut Vec<String>,
    indent: &str,
) -> Result<(), usize> {
    if let Some(i) = conflict(p, partial) {
        return Err(i);
    }
    loop {
        let mut progress = false;
        for v in 0..partial.len() {
            if partial[v].is_some() {
                continue;
            }
            for value in [true, false] {
                partial[v] = Some(value);
                let bad = conflict(p, partial);
                partial[v] = None;
                if let Some(i) = bad {
                    partial[v] = Some(!value);
                    out.push(format!(
                        "{indent}If {} were {}, formula {} would be false, so {} is {}.",
                        p.names[v],
                        tv(value),
                        i + 1,
                        p.names[v],
                        tv(!value)
                    ));
                    progress = true;
                    if let Some(j) = conflict(p, partial) {
                        return Err(j);
                    }
                    break;
                }
            }
        }
        if !progress {
            return Ok(());
        }
    }
}

/// Tries to show that `partial` cannot be completed; appends the argument
/// to `out` when it succeeds.
fn refute(
    p: &DeductionPuzzle,
    partial: &mut [Option<bool>],
    depth: usize,
    out: &mut Vec<String>,
    indent: &str,
) -> bool {
    let mut lines = Vec::new();
    if let Err(i) = propagate(p, partial, &mut lines, indent) {
        out.extend(lines);
        out.push(format!(
            "{indent}Then formula {} is false: a contradiction.",
            i + 1
        ));
        return true;
    }
    if depth == 0 {
        return false;
    }
    let Some(u) = partial.iter().position(Option::is_none) else {
        return false;
    };
    let deeper = format!("{indent}  ");
    let mut branches = Vec::new();
    for value in [true, false] {
        let mut trial = partial.to_vec();
        trial[u] = Some(value);
        let mut sub = vec![format!("{indent}Case {} = {}:", p.names[u], tv(value))];
        if !refute(p, &mut trial, depth - 1, &mut sub, &deeper) {
            return false;
        }
        branches.extend(sub);
    }
    out.extend(lines);
    out.extend(branches);
    out.push(format!("{indent}Both cases fail."));
    true
}

/// The trace for `solution` (which must satisfy every formula).
pub fn rationale(p: &DeductionPuzzle, solution: &[bool]) -> String {
    let n = p.nvars();
    let mut partial: Vec<Option<bool>> = vec![None; n];
    let mut out = Vec::new();
    out.push(format!(
        "There are {} variables and {} formulas; every formula must be true.",
        n,
        p.formulas.len()
    ));
    loop {
        // On the solution's path propagation never conflicts.
        let _ = propagate(p, &mut partial, &mut out, "");
        let Some(v) = partial.iter().position(Option::is_none) else {
            break;
        };
        let right = solution[v];
        let mut trial = partial.to_vec();
        trial[v] = Some(!right);
        let mut sub = Vec::new();
        if refute(p, &mut trial, REFUTE_DEPTH, &mut sub, "  ") {
            out.push(format!("Suppose {} is {}.", p.names[v], tv(!right)));
            out.extend(sub);
            out.push(format!("So {} is {}.", p.names[v], tv(right)));
        } else {
            out.push(format!(
                "No formula decides {} yet; try {} = {} and check at the end.",
                p.names[v],
                p.names[v],
                tv(right)
            ));
        }
        partial[v] = Some(right);
    }
    let all: Vec<String> = p
        .names
        .iter()
        .zip(solution)
        .map(|(name, b)| format!("{name}={}", tv(*b)))
        .collect();
    out.push(format!(
        "Check: with {}, all {} formulas are true.",
        all.join(", "),
        p.formulas.len()
    ));
    out.join("\n")
}

// ---------------------------------------------------------------------
// Worked steps (`rationale_style = "step"`)
// ---------------------------------------------------------------------

/// One move of the worked steps: formula `formula` (0-based) forces
/// variable `var` to `value` given the values before it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Forced {
    /// The forcing formula (0-based).
    pub formula: usize,
    /// The forced variable's number.
    pub var: usize,
    /// The value it is forced to.
    pub value: bool,
}

/// Reads the formulas in order, again and again, writing down each value a
/// formula forces given the values so far, until a pass forces nothing.
/// `Err(formula)` when a formula becomes false.
fn force_in_formula_order(
    p: &DeductionPuzzle,
    partial: &mut [Option<bool>],
    out: &mut Vec<Forced>,
) -> Result<(), usize> {
    loop {
        let mut progress = false;
        for (i, f) in p.formulas.iter().enumerate() {
            let mut vars = Vec::new();
            f.for_each_var(&mut |v| {
                if !vars.contains(&(v as usize)) {
                    vars.push(v as usize);
                }
            });
            for v in vars {
                if partial[v].is_some() {
                    continue;
                }
                for value in [true, false] {
                    partial[v] = Some(!value);
                    let breaks = f.eval_partial(&|x| partial[x as usize]) == Some(false);
                    partial[v] = None;
                    if breaks {
                        partial[v] = Some(value);
                        out.push(Forced {
                            formula: i,
                            var: v,
                            value,
                        });
                        progress = true;
                        break;
                    }
                }
            }
            if f.eval_partial(&|x| partial[x as usize]) == Some(false) {
                return Err(i);
            }
        }
        if !progress {
            return Ok(());
        }
    }
}

fn tf(b: bool) -> char {
    if b {
        'T'
    } else {
        'F'
    }
}

fn push_forced(p: &DeductionPuzzle, steps: &[Forced], out: &mut Vec<String>) {
    out.extend(
        steps
            .iter()
            .map(|s| format!("{}:{}={}", s.formula + 1, p.names[s.var], tf(s.value))),
    );
}

/// The worked steps for `solution` (which must satisfy every formula), in
/// a compact notation a tiny model can imitate, e.g.
/// `1:A=T 2:D=F 4:C=F 5:B=T`: formula 1 forces A to True, then formula 2
/// forces D to False, and so on, reading the formulas in order. When no
/// formula forces anything, the first open variable's wrong value is tried
/// and refuted the same way, `[B=F 2:C=T 3:X] B=T` (formula 3 would be
/// false), or, when one reading does not refute it, the answer's value is
/// written as a guess, `B=T?`, which the formulas confirm at the end.
pub fn step_rationale(p: &DeductionPuzzle, solution: &[bool]) -> String {
    let mut partial: Vec<Option<bool>> = vec![None; p.nvars()];
    let mut out = Vec::new();
    loop {
        let mut steps = Vec::new();
        // On the solution's path no formula becomes false.
        let _ = force_in_formula_order(p, &mut partial, &mut steps);
        push_forced(p, &steps, &mut out);
        let Some(v) = partial.iter().position(Option::is_none) else {
            break;
        };
        let right = solution[v];
        let mut trial = partial.clone();
        trial[v] = Some(!right);
        let mut trial_steps = Vec::new();
        let name = &p.names[v];
        match force_in_formula_order(p, &mut trial, &mut trial_steps) {
            Err(bad) => {
                let mut inner = vec![format!("[{name}={}", tf(!right))];
                push_forced(p, &trial_steps, &mut inner);
                inner.push(format!("{}:X]", bad + 1));
                out.push(inner.join(" "));
                out.push(format!("{name}={}", tf(right)));
            }
            Ok(()) => out.push(format!("{name}={}?", tf(right))),
        }
        partial[v] = Some(right);
    }
    out.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trace_propagates_and_splits() {
        let p =
            DeductionPuzzle::from_texts(&["¬(A)", "(A ∨ B)", "(C ⊕ B)", "(D ↔ ¬C)"], None).unwrap();
        let r = rationale(&p, &[false, true, false, true]);
        assert!(
            r.contains("If A were True, formula 1 would be false, so A is False."),
            "{r}"
        );
        assert!(r.contains("so B is True"), "{r}");
        assert!(
            r.ends_with("Check: with A=False, B=True, C=False, D=True, all 4 formulas are true."),
            "{r}"
        );
        // A puzzle that needs a case split: exactly-one over A, B with A ∨ ¬B.
        let q = DeductionPuzzle::from_texts(&["(A ⊕ B)", "(A ∨ ¬B)"], None).unwrap();
        let r = rationale(&q, &[true, false]);
        assert!(r.contains("Check:"), "{r}");
    }

    #[test]
    fn worked_steps_follow_the_formulas_in_order() {
        let p = DeductionPuzzle::from_texts(
            &["(A ∧ A)", "¬(D)", "(¬B ⊕ B)", "(¬D ⊕ C)", "(B ∧ A)"],
            None,
        )
        .unwrap();
        assert_eq!(
            step_rationale(&p, &[true, true, false, false]),
            "1:A=T 2:D=F 4:C=F 5:B=T"
        );
        // Nothing forces A or B until one is tried: A=F breaks formula 2.
        let q = DeductionPuzzle::from_texts(&["(A ⊕ B)", "(A ∨ ¬B)"], None).unwrap();
        assert_eq!(
            step_rationale(&q, &[true, false]),
            "[A=F 1:B=T 2:X] A=T 1:B=F"
        );
    }

    /// Replays worked steps on `p`: every forced value is forced by its
    /// formula given the values before it, every refutation ends in a
    /// false formula, and the values at the end are `solution`.
    fn replay(p: &DeductionPuzzle, steps: &str, solution: &[bool]) -> Result<(), String> {
        let var = |name: &str| {
            p.names
                .iter()
                .position(|n| n == name)
                .ok_or(format!("unknown variable {name}"))
        };
        let value = |v: &str| match v {
            "T" => Ok(true),
            "F" => Ok(false),
            _ => Err(format!("bad value {v}")),
        };
        let forced = |partial: &mut Vec<Option<bool>>, tok: &str| -> Result<(), String> {
            let (f, rest) = tok.split_once(':').ok_or(format!("bad step {tok}"))?;
            let (name, val) = rest.split_once('=').ok_or(format!("bad step {tok}"))?;
            let i: usize = f.parse::<usize>().map_err(|e| e.to_string())? - 1;
            let (v, val) = (var(name)?, value(val)?);
            if partial[v].is_some() {
                return Err(format!("{tok}: {name} already has a value"));
            }
            partial[v] = Some(!val);
            let breaks = p.formulas[i].eval_partial(&|x| partial[x as usize]) == Some(false);
            partial[v] = Some(val);
            breaks
                .then_some(())
                .ok_or(format!("{tok}: formula {} does not force it", i + 1))
        };
        let mut partial: Vec<Option<bool>> = vec![None; p.nvars()];
        let mut toks = steps.split(' ').peekable();
        while let Some(tok) = toks.next() {
            if let Some(head) = tok.strip_prefix('[') {
                let (name, val) = head.split_once('=').ok_or(format!("bad trial {tok}"))?;
                let (v, val) = (var(name)?, value(val)?);
                let mut trial = partial.clone();
                trial[v] = Some(val);
                loop {
                    let t = toks.next().ok_or("unclosed trial")?;
                    if let Some(end) = t.strip_suffix(":X]") {
                        let i: usize = end.parse::<usize>().map_err(|e| e.to_string())? - 1;
                        if p.formulas[i].eval_partial(&|x| trial[x as usize]) != Some(false) {
                            return Err(format!("{t}: formula {} is not false", i + 1));
                        }
                        break;
                    }
                    forced(&mut trial, t)?;
                }
                let next = toks.next().ok_or("no value after a trial")?;
                let (n2, v2) = next.split_once('=').ok_or(format!("bad step {next}"))?;
                if var(n2)? != v || value(v2)? == val {
                    return Err(format!("{next} does not follow the refuted trial"));
                }
                partial[v] = Some(!val);
            } else if let Some(guess) = tok.strip_suffix('?') {
                let (name, val) = guess.split_once('=').ok_or(format!("bad guess {tok}"))?;
                partial[var(name)?] = Some(value(val)?);
            } else {
                forced(&mut partial, tok)?;
            }
        }
        let got: Option<Vec<bool>> = partial.into_iter().collect();
        (got.as_deref() == Some(solution))
            .then_some(())
            .ok_or(format!("steps end in {got:?}, not the solution"))
    }

    #[test]
    fn every_worked_step_of_generated_puzzles_is_true() {
        use crate::deduction::{DeductionConfig, DeductionGenerator};
        use metaalign_core::{seed::Rng, Level, TaskGenerator};
        use rand::SeedableRng;
        let g = DeductionGenerator::new(DeductionConfig {
            rationale_style: crate::common::RationaleStyle::Step,
            ..Default::default()
        });
        let (mut guesses, mut trials) = (0, 0);
        let mut per_level = Vec::new();
        for level in 1..=6 {
            let before = (guesses, trials);
            for index in 0..60 {
                let mut rng = Rng::seed_from_u64(level * 1000 + index);
                let t = g.generate(Level(level as u32), index, &mut rng).unwrap();
                let (p, _) = super::super::task_puzzle(&t).unwrap();
                let solution: Vec<bool> = t.ground_truth["solution"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|b| b.as_bool().unwrap())
                    .collect();
                let steps = t.rationale.clone().unwrap();
                replay(&p, &steps, &solution)
                    .unwrap_or_else(|e| panic!("{e}\n{steps}\n{}", t.puzzle));
                guesses += steps.matches('?').count();
                trials += steps.matches('[').count();
            }
            per_level.push((level, trials - before.1, guesses - before.0));
        }
        // Most values are forced; refutations and guesses are the exception.
        println!("(level, refutations, guesses) per 60 puzzles: {per_level:?}");
        assert!(guesses < 360, "{guesses} guesses");
    }
}
