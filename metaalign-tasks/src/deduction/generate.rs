//! Puzzle generation, steered to the wanted number of models.
//!
//! Up to [`GEN_TABLE_VARS`] variables the generator keeps the set of models
//! of the formulas chosen so far as a bit-parallel truth table: each new
//! formula is the best of a few random candidates (the one that leaves the
//! fewest models), so a unique model is reached in a handful of formulas
//! instead of by blind retries. Above that it works counterexample-guided
//! with the SAT solver: it asks for a second model, scores candidates by how
//! many known counter-models (and random assignments) they exclude, adds
//! the best, and repeats until the solver proves the model unique.

use rand::Rng as _;
use rand::RngCore;

use metaalign_core::seed::Rng;

use crate::logic::table::TruthTable;
use crate::logic::{BinOp, Formula, SatProblem, Var};

/// Table-based generation up to this many variables (2^16 assignments).
pub const GEN_TABLE_VARS: usize = 16;

/// The shape of one level's puzzles.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LevelSpec {
    /// Variables per puzzle.
    pub variables: usize,
    /// Nesting depth of each formula (a literal is depth 0).
    pub max_depth: usize,
    /// Fewest formulas per puzzle.
    pub min_formulas: usize,
    /// Most formulas per puzzle.
    pub max_formulas: usize,
    /// Most literals in one formula.
    pub max_leaves: usize,
}

impl LevelSpec {
    /// Levels 1–5 follow the paper: (variables, depth) = (4,1), (6,2),
    /// (8,3), (10,4), (12,5) with 3–6 formulas. Beyond level 5: two more
    /// variables and one more level of nesting per level (formulas grow
    /// deeper but not exponentially wider: at most 32 + 8·(L−5) literals),
    /// and up to 6 + 3·(L−5) formulas; level 19 has 40 variables.
    pub fn for_level(level: u32) -> Self {
        let l = level.max(1) as usize;
        if l <= 5 {
            Self {
                variables: 2 + 2 * l,
                max_depth: l,
                min_formulas: 3,
                max_formulas: 6,
                max_leaves: 1 << l,
            }
        } else {
            Self {
                variables: 2 + 2 * l,
                max_depth: l,
                min_formulas: 3,
                max_formulas: 6 + 3 * (l - 5),
                max_leaves: 32 + 8 * (l - 5),
            }
        }
    }
}

/// What kind of puzzle to make.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    /// Exactly one model.
    Unique,
    /// At least one model.
    Satisfiable,
    /// No model.
    Unsatisfiable,
}

/// A random formula of exactly depth `depth` (when the leaf budget allows)
/// with at most `leaves` literals.
pub fn random_formula(rng: &mut Rng, nvars: usize, depth: usize, leaves: usize) -> Formula {
    if depth == 0 {
        let v = rng.random_range(0..nvars) as Var;
        return if rng.random_bool(0.5) {
            Formula::NegVar(v)
        } else {
            Formula::Var(v)
        };
    }
    if leaves <= 1 || rng.random_bool(0.17) {
        return Formula::negate(random_formula(rng, nvars, depth - 1, leaves));
    }
    let op = BinOp::ALL[rng.random_range(0..BinOp::ALL.len())];
    if depth < 30 && leaves >= 1 << depth {
        // Full budget (the paper's levels): both sides equally deep.
        let a = random_formula(rng, nvars, depth - 1, leaves / 2);
        let b = random_formula(rng, nvars, depth - 1, leaves / 2);
        return Formula::bin(op, a, b);
    }
    // Limited budget (deep levels): one side carries the depth, the other
    // gets a random share of the literals and whatever depth that allows.
    let small = rng.random_range(1..=(leaves / 2).max(1));
    let deep = leaves - small;
    let shallow_depth = ((usize::BITS - small.leading_zeros()) as usize - 1).min(depth - 1);
    let a = random_formula(rng, nvars, depth - 1, deep.max(1));
    let b = random_formula(rng, nvars, shallow_depth, small);
    if rng.random_bool(0.5) {
        Formula::bin(op, a, b)
    } else {
        Formula::bin(op, b, a)
    }
}

/// Candidates tried per formula slot.
fn candidates_per_slot(spec: &LevelSpec) -> usize {
    match spec.variables {
        0..=4 => 3,
        5..=6 => 6,
        7..=8 => 12,
        _ => 24,
    }
}

/// A generated puzzle: formulas over `0..nvars` and, unless unsatisfiable,
/// a model (the unique one for [`Target::Unique`]).
pub struct Generated {
    /// The formulas.
    pub formulas: Vec<Formula>,
    /// A model (value by variable number), `None` when there is none.
    pub model: Option<Vec<bool>>,
}

/// Makes one puzzle; retries internally until it succeeds.
pub fn generate(spec: &LevelSpec, target: Target, rng: &mut Rng) -> Generated {
    loop {
        let found = if spec.variables <= GEN_TABLE_VARS {
            attempt_table(spec, target, rng)
        } else {
            attempt_sat(spec, target, rng)
        };
        if let Some(g) = found {
            return g;
        }
    }
}

fn attempt_table(spec: &LevelSpec, target: Target, rng: &mut Rng) -> Option<Generated> {
    let n = spec.variables;
    let model = rng.next_u64() & ((1u64 << n) - 1);
    let is_true_at_model = |f: &Formula| f.eval(&|v| (model >> v) & 1 == 1);
    let mut table = TruthTable::all(n);
    let mut formulas = Vec::with_capacity(spec.max_formulas);
    let per_slot = candidates_per_slot(spec);
    // Satisfiable puzzles need no steering: a random number of formulas
    // true at the model. The others add formulas until the model count
    // reaches its target (1, or 0 for unsatisfiable puzzles).
    let floor = match target {
        Target::Unique => 1,
        Target::Unsatisfiable => 0,
        Target::Satisfiable => 0,
    };
    let sat_count = rng.random_range(spec.min_formulas..=spec.max_formulas);
    let mut count = table.count();
    for slot in 0..spec.max_formulas {
        // Before the minimum number of formulas, prefer formulas that do
        // not finish the job yet, so that every formula contributes.
        let early = slot + 1 < spec.min_formulas;
        let tries = if target == Target::Satisfiable {
            1
        } else {
            per_slot
        };
        // Best candidate so far: (finishes too early, models left, formula).
        let mut best: Option<(bool, u64, Formula)> = None;
        let mut attempts = 0;
        let mut found = 0;
        while found < tries && attempts < tries * 16 {
            attempts += 1;
            let f = random_formula(rng, n, spec.max_depth, spec.max_leaves);
            if target != Target::Unsatisfiable && !is_true_at_model(&f) {
                continue;
            }
            found += 1;
            let c = table.count_with(&f, u64::MAX);
            let key = (early && c <= floor, c);
            if best.as_ref().is_none_or(|b| key < (b.0, b.1)) {
                best = Some((key.0, key.1, f));
            }
        }
        let (_, c, f) = best?;
        table.and_formula(&f);
        formulas.push(f);
        count = c;
        let done = match target {
            Target::Satisfiable => formulas.len() >= sat_count,
            _ => count <= floor && !early,
        };
        if done {
            break;
        }
    }
    let ok = match target {
        Target::Unique => count == 1,
        Target::Satisfiable => count >= 1,
        Target::Unsatisfiable => count == 0,
    };
    if !ok {
        return None;
    }
    let model = (target != Target::Unsatisfiable)
        .then(|| (0..n).map(|v| (model >> v) & 1 == 1).collect::<Vec<bool>>());
    Some(Generated { formulas, model })
}

/// 64 assignments packed as columns (bit `j` of `cols[v]` = variable `v`
/// in assignment `j`).
struct Pack {
    cols: Vec<u64>,
    len: usize,
}

impl Pack {
    fn new(n: usize) -> Self {
        Self {
            cols: vec![0; n],
            len: 0,
        }
    }

    fn push(&mut self, values: &[bool]) {
        let j = self.len % 64;
        for (c, &b) in self.cols.iter_mut().zip(values) {
            *c = (*c & !(1u64 << j)) | (u64::from(b) << j);
        }
        self.len += 1;
    }

    fn mask(&self) -> u64 {
        if self.len >= 64 {
            !0
        } else {
            (1u64 << self.len) - 1
        }
    }

    /// How many of the packed assignments `f` makes false.
    fn falsified(&self, f: &Formula) -> u32 {
        (!f.eval_word(&|v| self.cols[v as usize]) & self.mask()).count_ones()
    }
}

fn attempt_sat(spec: &LevelSpec, target: Target, rng: &mut Rng) -> Option<Generated> {
    let n = spec.variables;
    let model: Vec<bool> = (0..n).map(|_| rng.random_bool(0.5)).collect();
    let at_model = |f: &Formula| f.eval(&|v| model[v as usize]);
    let per_slot = 24;
    let mut sat = SatProblem::new(n);
    if target != Target::Unsatisfiable {
        sat.block(&model);
    }
    let mut formulas: Vec<Formula> = Vec::new();
    // Counter-models found so far, and random assignments, as 64-wide packs.
    let mut counter = Pack::new(n);
    let mut random = Pack::new(n);
    for c in random.cols.iter_mut() {
        *c = rng.next_u64();
    }
    random.len = 64;
    let k_min = rng.random_range(spec.min_formulas..=spec.max_formulas.min(spec.min_formulas + 3));
    loop {
        if formulas.len() >= k_min {
            match sat.solve() {
                None => {
                    // Unique (model blocked, nothing else) or unsatisfiable.
                    return match target {
                        Target::Unique | Target::Satisfiable => Some(Generated {
                            formulas,
                            model: Some(model),
                        }),
                        Target::Unsatisfiable => Some(Generated {
                            formulas,
                            model: None,
                        }),
                    };
                }
                Some(other) => {
                    if target == Target::Satisfiable {
                        return Some(Generated {
                            formulas,
                            model: Some(model),
                        });
                    }
                    counter.push(&other[..n]);
                }
            }
        }
        if formulas.len() >= spec.max_formulas {
            return None;
        }
        let mut best: Option<(u32, Formula)> = None;
        let mut attempts = 0;
        while attempts < per_slot * 8 {
            attempts += 1;
            let f = random_formula(rng, n, spec.max_depth, spec.max_leaves);
            if target != Target::Unsatisfiable && !at_model(&f) {
                continue;
            }
            // Excluding the counter-models matters most; random assignments
            // break ties towards formulas that cut the space broadly.
            let score = counter.falsified(&f) * 64 + random.falsified(&f);
            if best.as_ref().is_none_or(|b| score > b.0) {
                best = Some((score, f));
            }
            if attempts >= per_slot && best.is_some() {
                break;
            }
        }
        let (_, f) = best?;
        sat.assert(&f);
        formulas.push(f);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::logic::{classify, Models};
    use rand::SeedableRng;

    #[test]
    fn levels_match_the_paper() {
        for (l, v, d) in [(1, 4, 1), (2, 6, 2), (3, 8, 3), (4, 10, 4), (5, 12, 5)] {
            let s = LevelSpec::for_level(l);
            assert_eq!(
                (s.variables, s.max_depth, s.min_formulas, s.max_formulas),
                (v, d, 3, 6)
            );
        }
        assert_eq!(LevelSpec::for_level(19).variables, 40);
    }

    #[test]
    fn random_formulas_have_the_requested_depth() {
        let mut rng = Rng::seed_from_u64(1);
        for d in 1..=8 {
            let leaves = LevelSpec::for_level(d as u32).max_leaves;
            for _ in 0..50 {
                let f = random_formula(&mut rng, 10, d, leaves);
                assert_eq!(f.depth(), d, "{f}");
                let mut literals = 0;
                f.for_each_var(&mut |_| literals += 1);
                assert!(literals <= leaves, "{f}");
            }
        }
    }

    #[test]
    fn generated_puzzles_have_the_wanted_models() {
        let mut rng = Rng::seed_from_u64(2);
        for level in [1, 2, 3, 5, 9] {
            let spec = LevelSpec::for_level(level);
            for _ in 0..3 {
                let g = generate(&spec, Target::Unique, &mut rng);
                assert!(
                    g.formulas.len() >= spec.min_formulas && g.formulas.len() <= spec.max_formulas
                );
                assert_eq!(
                    classify(&g.formulas, spec.variables),
                    Models::Unique(g.model.unwrap())
                );
                let g = generate(&spec, Target::Unsatisfiable, &mut rng);
                assert_eq!(classify(&g.formulas, spec.variables), Models::Unsat);
                let g = generate(&spec, Target::Satisfiable, &mut rng);
                let m = g.model.unwrap();
                assert!(g.formulas.iter().all(|f| f.eval(&|v| m[v as usize])));
            }
        }
    }
}
