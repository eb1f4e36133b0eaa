//! Formulas beyond truth-table size go to a CDCL SAT solver (varisat),
//! through a Tseitin encoding. Uniqueness is "solve, block the model,
//! solve again"; entailment is "premises ∧ ¬goal is unsatisfiable".

use varisat::{ExtendFormula, Lit, Solver};

use super::formula::{BinOp, Formula, Var};

/// An incremental SAT problem over variables `0..nvars` plus the auxiliary
/// variables of the encoding.
pub struct SatProblem {
    solver: Solver<'static>,
    vars: Vec<Lit>,
}

impl SatProblem {
    /// An empty problem over variables `0..nvars`.
    pub(crate) fn new(nvars: usize) -> Self {
        let mut solver = Solver::new();
        let vars = (0..nvars).map(|_| solver.new_lit()).collect();
        Self { solver, vars }
    }

    /// The number of variables, auxiliary ones included.
    pub fn nvars(&self) -> usize {
        self.vars.len()
    }

    fn var_lit(&mut self, v: Var) -> Lit {
        while self.vars.len() <= v as usize {
            let l = self.solver.new_lit();
            self.vars.push(l);
        }
        self.vars[v as usize]
    }

    /// A literal equivalent to `f` (Tseitin).
    pub fn encode(&mut self, f: &Formula) -> Lit {
        match f {
            Formula::Var(v) => self.var_lit(*v),
            Formula::NegVar(v) => !self.var_lit(*v),
            Formula::Not(x) => !self.encode(x),
            Formula::Bin(op, l, r) => {
                let a = self.encode(l);
                let b = self.encode(r);
                let t = self.solver.new_lit();
                let s = &mut self.solver;
                match op {
                    BinOp::And => {
                        s.add_clause(&[!t, a]);
                        s.add_clause(&[!t, b]);
                        s.add_clause(&[t, !a, !b]);
                        t
                    }
                    BinOp::Or | BinOp::Implies => {
                        let a = if *op == BinOp::Implies { !a } else { a };
                        s.add_clause(&[!t, a, b]);
                        s.add_clause(&[t, !a]);
                        s.add_clause(&[t, !b]);
                        t
                    }
                    BinOp::Iff | BinOp::Xor => {
                        s.add_clause(&[!t, !a, b]);
                        s.add_clause(&[!t, a, !b]);
                        s.add_clause(&[t, a, b]);
                        s.add_clause(&[t, !a, !b]);
                        if *op == BinOp::Xor {
                            !t
                        } else {
                            t
                        }
                    }
                }
            }
        }
    }

    /// Requires `f` to hold.
    pub fn assert(&mut self, f: &Formula) {
        match f {
            Formula::Bin(BinOp::And, l, r) => {
                self.assert(l);
                self.assert(r);
            }
            _ => {
                let l = self.encode(f);
                self.solver.add_clause(&[l]);
            }
        }
    }

    /// Excludes one assignment of the problem variables.
    pub fn block(&mut self, values: &[bool]) {
        let clause: Vec<Lit> = values
            .iter()
            .enumerate()
            .map(|(v, &b)| {
                let l = self.var_lit(v as Var);
                if b {
                    !l
                } else {
                    l
                }
            })
            .collect();
        self.solver.add_clause(&clause);
    }

    /// A satisfying assignment of the problem variables, or `None` when
    /// unsatisfiable under the given assumptions (literals `(var, value)`).
    pub fn solve_assuming(&mut self, assumptions: &[(Var, bool)]) -> Option<Vec<bool>> {
        let lits: Vec<Lit> = assumptions
            .iter()
            .map(|&(v, b)| {
                let l = self.var_lit(v);
                if b {
                    l
                } else {
                    !l
                }
            })
            .collect();
        self.solver.assume(&lits);
        // varisat only fails on proof-writing or interruption, neither of
        // which is used here; treat it as "no model found".
        let sat = self.solver.solve().unwrap_or(false);
        if !sat {
            return None;
        }
        let model = self.solver.model()?;
        let mut values = vec![false; self.vars.len()];
        let index: std::collections::HashMap<usize, usize> = self
            .vars
            .iter()
            .enumerate()
            .map(|(i, l)| (l.index(), i))
            .collect();
        for lit in model {
            if let Some(&i) = index.get(&lit.index()) {
                values[i] = lit.is_positive();
            }
        }
        Some(values)
    }

    /// A model of the clauses added so far, or `None` when there is none.
    pub(crate) fn solve(&mut self) -> Option<Vec<bool>> {
        self.solve_assuming(&[])
    }
}

#[cfg(test)]
mod tests {
    use super::super::formula::parse;
    use super::*;

    #[test]
    fn encoding_agrees_with_evaluation() {
        let texts = [
            "((A ⊕ B) ↔ ¬(C))",
            "((A → B) ∧ (B → C))",
            "¬(((A ∨ ¬B) ⊕ (C ∧ D)))",
        ];
        for t in texts {
            let f = parse(t).unwrap();
            for a in 0u32..16 {
                let val = |v: Var| (a >> v) & 1 == 1;
                let mut p = SatProblem::new(4);
                p.assert(&f);
                let assume: Vec<(Var, bool)> = (0..4).map(|v| (v, val(v))).collect();
                assert_eq!(
                    p.solve_assuming(&assume).is_some(),
                    f.eval(&val),
                    "{t} at {a}"
                );
            }
        }
    }

    #[test]
    fn block_and_resolve_counts_models() {
        let f = parse("(A ∨ B)").unwrap();
        let mut p = SatProblem::new(2);
        p.assert(&f);
        let mut n = 0;
        while let Some(m) = p.solve() {
            assert!(f.eval(&|v| m[v as usize]));
            p.block(&m);
            n += 1;
        }
        assert_eq!(n, 3);
    }
}
