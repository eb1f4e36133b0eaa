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
}
