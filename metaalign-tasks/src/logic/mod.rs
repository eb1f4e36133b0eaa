//! The propositional engine shared by deduction and abduction: formulas
//! and their text form ([`formula`]), bit-parallel truth tables for up to
//! [`table::MAX_TABLE_VARS`] variables ([`table`]), and a SAT solver with a
//! Tseitin encoding above that ([`sat`]).

pub mod formula;
pub mod sat;
pub mod table;

pub use formula::{parse, parse_with, var_index, var_name, BinOp, Formula, ParseError, Var};
pub use sat::SatProblem;
pub use table::{TruthTable, MAX_TABLE_VARS};

/// How many assignments satisfy a set of formulas (0, 1, or more).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Models {
    /// No assignment satisfies them.
    Unsat,
    /// Exactly this one does.
    Unique(Vec<bool>),
    /// Two distinct models (there may be more).
    Multiple(Vec<bool>, Vec<bool>),
}

/// Classifies the conjunction of `formulas` over variables `0..nvars`,
/// exactly: truth tables up to [`MAX_TABLE_VARS`] variables, SAT above.
pub fn classify(formulas: &[Formula], nvars: usize) -> Models {
    if nvars <= MAX_TABLE_VARS {
        let mut t = TruthTable::all(nvars);
        for f in formulas {
            if t.and_formula(f) == 0 {
                return Models::Unsat;
            }
        }
        let mut it = t.iter();
        match (it.next(), it.next()) {
            (None, _) => Models::Unsat,
            (Some(a), None) => Models::Unique(table::assignment_values(a, nvars)),
            (Some(a), Some(b)) => Models::Multiple(
                table::assignment_values(a, nvars),
                table::assignment_values(b, nvars),
            ),
        }
    } else {
        let mut p = SatProblem::new(nvars);
        for f in formulas {
            p.assert(f);
        }
        match p.solve() {
            None => Models::Unsat,
            Some(first) => {
                let first: Vec<bool> = first[..nvars].to_vec();
                p.block(&first);
                match p.solve() {
                    None => Models::Unique(first),
                    Some(second) => Models::Multiple(first, second[..nvars].to_vec()),
                }
            }
        }
    }
}

/// Whether every model of `premises` satisfies `goal` (over `0..nvars`).
pub fn entails(premises: &[Formula], goal: &Formula, nvars: usize) -> bool {
    if nvars <= MAX_TABLE_VARS {
        let mut t = TruthTable::all(nvars);
        for f in premises {
            if t.and_formula(f) == 0 {
                return true;
            }
        }
        t.and_formula(&Formula::negate(goal.clone())) == 0
    } else {
        let mut p = SatProblem::new(nvars);
        for f in premises {
            p.assert(f);
        }
        p.assert(&Formula::negate(goal.clone()));
        p.solve().is_none()
    }
}

/// The index of the first formula that `values` makes false, if any.
pub fn first_falsified(formulas: &[Formula], values: &[bool]) -> Option<usize> {
    let value = |v: Var| values.get(v as usize).copied().unwrap_or(false);
    formulas.iter().position(|f| !f.eval(&value))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_all(texts: &[&str]) -> Vec<Formula> {
        texts.iter().map(|t| parse(t).unwrap()).collect()
    }

    #[test]
    fn classify_small_and_large_agree() {
        let fs = parse_all(&["(A ∨ B)", "(A ⊕ B)", "¬(B)"]);
        assert_eq!(classify(&fs, 2), Models::Unique(vec![true, false]));
        // Same formulas with 24 variables (22 unconstrained) go to SAT.
        assert!(matches!(classify(&fs, 24), Models::Multiple(..)));
        let mut chain: Vec<Formula> = (0..23)
            .map(|v| Formula::bin(BinOp::Iff, Formula::Var(v), Formula::Var(v + 1)))
            .collect();
        chain.push(Formula::Var(0));
        assert_eq!(classify(&chain, 24), Models::Unique(vec![true; 24]));
        chain.push(Formula::NegVar(23));
        assert_eq!(classify(&chain, 24), Models::Unsat);
        assert_eq!(classify(&parse_all(&["(A ∧ ¬A)"]), 1), Models::Unsat);
    }

    #[test]
    fn entailment() {
        let premises = parse_all(&["(A → B)", "(B → C)", "A"]);
        assert!(entails(&premises, &parse("C").unwrap(), 3));
        assert!(!entails(&premises, &parse("D").unwrap(), 4));
        assert!(entails(&premises, &parse("C").unwrap(), 30));
        assert!(!entails(&premises, &parse("D").unwrap(), 30));
    }
}
