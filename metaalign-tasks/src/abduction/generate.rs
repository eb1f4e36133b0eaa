//! Abduction puzzle generation.
//!
//! Each goal gets a backward chain of premises of the level's depth:
//! `body_0 => goal`, `body_1 => X1` … where each body needs the next chain
//! atom, combined with known atoms (AND), dead ends (OR) and negations.
//! A reachable chain ends in a known atom; an unreachable one is broken at
//! a random link (a dead-end atom, a conjunct that nothing establishes, or
//! a negated condition). Cycles (a later chain atom concluding an earlier
//! one) are added with the level's probability, and distractor premises
//! whose heads stay off every unreachable chain. The labels are then
//! computed exactly (entailment) and must equal the intended ones, and
//! forward chaining must agree with entailment (so every reachable goal
//! has a plain backward proof); otherwise the puzzle is redrawn.

use rand::seq::SliceRandom;
use rand::Rng as _;

use metaalign_core::seed::Rng;

use super::puzzle::{AbductionPuzzle, Atom, Body, Premise};
use super::solve::{analyse, Analysis, GoalStatus};

/// The shape of one level's puzzles (the paper's table for levels 1–5).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LevelSpec {
    /// Least and most premises on each goal's backward chain.
    pub depth: (usize, usize),
    /// Goals per puzzle.
    pub goals: usize,
    /// Least and most distractor premises (off every unreachable chain).
    pub distractors: (usize, usize),
    /// Chance that a chain gets a cycle (a later atom concluding an earlier one).
    pub cycle_prob: f64,
}

impl LevelSpec {
    /// Levels 1–5: (chain depth, goals, distractors, cycle probability) =
    /// (2–3, 1, 3–5, 0.10), (3–4, 2, 5–7, 0.15), (4–5, 2, 7–9, 0.20),
    /// (5–6, 3, 8–10, 0.25), (6–7, 3, 10–12, 0.30). Beyond: one more link,
    /// two more distractors and +0.05 cycle probability (at most 0.5) per
    /// level, and one more goal every two levels (at most 6).
    pub fn for_level(level: u32) -> Self {
        match level {
            0 | 1 => Self {
                depth: (2, 3),
                goals: 1,
                distractors: (3, 5),
                cycle_prob: 0.10,
            },
            2 => Self {
                depth: (3, 4),
                goals: 2,
                distractors: (5, 7),
                cycle_prob: 0.15,
            },
            3 => Self {
                depth: (4, 5),
                goals: 2,
                distractors: (7, 9),
                cycle_prob: 0.20,
            },
            4 => Self {
                depth: (5, 6),
                goals: 3,
                distractors: (8, 10),
                cycle_prob: 0.25,
            },
            5 => Self {
                depth: (6, 7),
                goals: 3,
                distractors: (10, 12),
                cycle_prob: 0.30,
            },
            l => {
                let x = (l - 5) as usize;
                Self {
                    depth: (6 + x, 7 + x),
                    goals: (3 + x / 2).min(6),
                    distractors: (10 + 2 * x, 12 + 2 * x),
                    cycle_prob: (0.30 + 0.05 * x as f64).min(0.5),
                }
            }
        }
    }
}

/// Draws distinct atom names of one or two capital letters.
struct Names {
    used: Vec<bool>,
    names: Vec<String>,
}

impl Names {
    fn new() -> Self {
        Self {
            used: vec![false; 26 + 26 * 26],
            names: Vec::new(),
        }
    }

    fn fresh(&mut self, rng: &mut Rng) -> Atom {
        if self.names.len() * 2 >= self.used.len() {
            // Pool half used (only at very high levels): numbered names.
            self.names.push(format!("Z{}", self.names.len()));
            return self.names.len() - 1;
        }
        loop {
            // One letter a third of the time, as in the paper's data.
            let code = if rng.random_bool(0.3) {
                rng.random_range(0..26)
            } else {
                26 + rng.random_range(0..26 * 26)
            };
            if !self.used[code] {
                return self.take(code);
            }
        }
    }

    fn take(&mut self, code: usize) -> Atom {
        self.used[code] = true;
        let name = if code < 26 {
            ((b'A' + code as u8) as char).to_string()
        } else {
            let c = code - 26;
            format!(
                "{}{}",
                (b'A' + (c / 26) as u8) as char,
                (b'A' + (c % 26) as u8) as char
            )
        };
        self.names.push(name);
        self.names.len() - 1
    }
}

struct Draft<'r> {
    rng: &'r mut Rng,
    names: Names,
    premises: Vec<Premise>,
    known: Vec<Atom>,
    /// Atoms that no premise may conclude (unreachable chains and their
    /// missing pieces).
    protected: Vec<Atom>,
    /// Atoms distractors may conclude or use.
    free_pool: Vec<Atom>,
}

impl Draft<'_> {
    fn fresh(&mut self) -> Atom {
        self.names.fresh(self.rng)
    }

    fn known_atom(&mut self) -> Atom {
        if !self.known.is_empty() && self.rng.random_bool(0.4) {
            let i = self.rng.random_range(0..self.known.len());
            return self.known[i];
        }
        let a = self.fresh();
        self.known.push(a);
        a
    }

    /// An atom nothing establishes.
    fn dead_end(&mut self) -> Atom {
        let a = self.fresh();
        self.protected.push(a);
        a
    }

    /// A body that holds once `next` holds.
    fn working_body(&mut self, next: Atom) -> Body {
        let x = Body::Atom(next);
        match self.rng.random_range(0..6) {
            0 | 1 => x,
            2 => {
                let k = Body::Atom(self.known_atom());
                self.shuffle2(x, k, true)
            }
            3 => {
                let z = Body::Atom(self.dead_end());
                let z = if self.rng.random_bool(0.4) {
                    Body::negate(z)
                } else {
                    z
                };
                self.shuffle2(x, z, false)
            }
            4 => {
                let k = Body::Atom(self.known_atom());
                let z = Body::Atom(self.dead_end());
                let alt = self.shuffle2(k, z, false);
                self.shuffle2(x, alt, true)
            }
            _ => {
                let k = Body::Atom(self.known_atom());
                let main = self.shuffle2(x, k, true);
                let z = Body::Atom(self.dead_end());
                let w = Body::Atom(self.known_atom());
                let alt = self.shuffle2(z, w, true);
                self.shuffle2(main, alt, false)
            }
        }
    }

    /// A body that looks like a working one but never holds in every model.
    fn broken_body(&mut self, next: Atom) -> Body {
        let x = Body::Atom(next);
        match self.rng.random_range(0..3) {
            // Needs an atom that nothing establishes.
            0 => {
                let z = Body::Atom(self.dead_end());
                self.shuffle2(x, z, true)
            }
            // Needs the negation of an atom that may well be true.
            1 => {
                let z = Body::negate(Body::Atom(self.dead_end()));
                self.shuffle2(x, z, true)
            }
            // Needs the negation of a known atom.
            _ => {
                let k = Body::negate(Body::Atom(self.known_atom()));
                self.shuffle2(x, k, true)
            }
        }
    }

    fn shuffle2(&mut self, a: Body, b: Body, and: bool) -> Body {
        let (a, b) = if self.rng.random_bool(0.5) {
            (a, b)
        } else {
            (b, a)
        };
        if and {
            Body::and(a, b)
        } else {
            Body::or(a, b)
        }
    }

    /// The chain for one goal; returns its atoms (goal first).
    fn chain(&mut self, goal: Atom, depth: usize, reachable: bool, cycle_prob: f64) -> Vec<Atom> {
        let mut atoms = vec![goal];
        for _ in 0..depth {
            let a = self.fresh();
            atoms.push(a);
        }
        let last = atoms[depth];
        // An unreachable chain breaks at one link (or at its end).
        let break_at = if reachable {
            None
        } else {
            Some(self.rng.random_range(0..=depth))
        };
        for j in 0..depth {
            let body = if break_at == Some(j) {
                self.broken_body(atoms[j + 1])
            } else {
                self.working_body(atoms[j + 1])
            };
            self.premises.push(Premise {
                body,
                head: atoms[j],
            });
        }
        if break_at == Some(depth) {
            // The chain ends in an atom nothing establishes.
            self.protected.push(last);
        } else {
            self.known.push(last);
        }
        if depth >= 2 && self.rng.random_bool(cycle_prob) {
            // A chain atom concludes one above it: circular support that
            // proves nothing on its own.
            let i = self.rng.random_range(0..depth);
            let j = self.rng.random_range(i + 1..=depth);
            self.premises.push(Premise {
                body: Body::Atom(atoms[i]),
                head: atoms[j],
            });
        }
        if !reachable {
            self.protected.extend(atoms.iter().take(depth).copied());
        } else {
            self.free_pool.extend(atoms.iter().skip(1).copied());
        }
        atoms
    }

    fn distractor(&mut self) {
        // Body over a mix of known, free and dead-end atoms.
        let pick = |d: &mut Self| -> Body {
            let r = d.rng.random_range(0..10);
            let a = if r < 4 && !d.known.is_empty() {
                d.known[d.rng.random_range(0..d.known.len())]
            } else if r < 7 && !d.free_pool.is_empty() {
                d.free_pool[d.rng.random_range(0..d.free_pool.len())]
            } else if r < 9 && !d.protected.is_empty() {
                d.protected[d.rng.random_range(0..d.protected.len())]
            } else {
                let a = d.fresh();
                d.free_pool.push(a);
                a
            };
            if d.rng.random_bool(0.2) {
                Body::negate(Body::Atom(a))
            } else {
                Body::Atom(a)
            }
        };
        let body = match self.rng.random_range(0..4) {
            0 => pick(self),
            1 => {
                let a = pick(self);
                let b = pick(self);
                Body::and(a, b)
            }
            2 => {
                let a = pick(self);
                let b = pick(self);
                Body::or(a, b)
            }
            _ => {
                let a = pick(self);
                let b = pick(self);
                let c = pick(self);
                let and1 = self.rng.random_bool(0.5);
                let and2 = self.rng.random_bool(0.5);
                let inner = self.shuffle2(a, b, and1);
                self.shuffle2(inner, c, and2)
            }
        };
        // Heads: a new atom, a known atom or an atom of a reachable chain;
        // never an atom that must stay unestablished.
        let head = if !self.free_pool.is_empty() && self.rng.random_bool(0.5) {
            self.free_pool[self.rng.random_range(0..self.free_pool.len())]
        } else if !self.known.is_empty() && self.rng.random_bool(0.3) {
            self.known[self.rng.random_range(0..self.known.len())]
        } else {
            let a = self.fresh();
            self.free_pool.push(a);
            a
        };
        self.premises.push(Premise { body, head });
    }
}

/// A generated puzzle with its exact analysis.
pub struct Generated {
    /// The puzzle.
    pub puzzle: AbductionPuzzle,
    /// Its exact analysis, whose labels are the intended ones.
    pub analysis: Analysis,
}

/// Makes one puzzle; redraws until the exact labels are the intended ones.
pub fn generate(spec: &LevelSpec, rng: &mut Rng) -> Generated {
    loop {
        if let Some(g) = attempt(spec, rng) {
            return g;
        }
    }
}

fn attempt(spec: &LevelSpec, rng: &mut Rng) -> Option<Generated> {
    let n_goals = spec.goals.max(1);
    // Intended labels: both kinds present when there are two goals or more.
    let mut intended: Vec<bool> = (0..n_goals).map(|_| rng.random_bool(0.5)).collect();
    if n_goals >= 2 {
        intended[0] = true;
        intended[1] = false;
        intended.shuffle(rng);
    }
    let mut d = Draft {
        rng,
        names: Names::new(),
        premises: Vec::new(),
        known: Vec::new(),
        protected: Vec::new(),
        free_pool: Vec::new(),
    };
    let mut goals = Vec::with_capacity(n_goals);
    for &reachable in &intended {
        let goal = d.fresh();
        goals.push(goal);
        let depth = d.rng.random_range(spec.depth.0..=spec.depth.1);
        d.chain(goal, depth, reachable, spec.cycle_prob);
    }
    // Known atoms that lead nowhere, as in the paper's puzzles.
    for _ in 0..d.rng.random_range(1..=3) {
        let a = d.fresh();
        d.known.push(a);
    }
    let n_distractors = d.rng.random_range(spec.distractors.0..=spec.distractors.1);
    for _ in 0..n_distractors {
        d.distractor();
    }
    let Draft {
        rng,
        names,
        mut premises,
        mut known,
        ..
    } = d;
    premises.shuffle(rng);
    known.sort_unstable();
    known.dedup();
    known.shuffle(rng);
    let puzzle = AbductionPuzzle {
        atoms: names.names,
        premises,
        known,
        goals,
    };
    let analysis = analyse(&puzzle);
    let labels = analysis.labels();
    if labels != intended {
        return None;
    }
    // Every reachable goal must have a plain forward-chaining proof.
    if analysis
        .goals
        .iter()
        .any(|g| matches!(g, GoalStatus::ByCases(_)))
    {
        return None;
    }
    Some(Generated { puzzle, analysis })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn levels_follow_the_paper_table() {
        assert_eq!(LevelSpec::for_level(1).depth, (2, 3));
        assert_eq!(LevelSpec::for_level(5).distractors, (10, 12));
        assert_eq!(LevelSpec::for_level(4).goals, 3);
        assert!(LevelSpec::for_level(9).depth.0 > 7);
    }

    #[test]
    fn generated_labels_are_exact_and_mixed() {
        let mut rng = Rng::seed_from_u64(11);
        for level in 1..=7 {
            let spec = LevelSpec::for_level(level);
            for _ in 0..20 {
                let g = generate(&spec, &mut rng);
                let labels = g.analysis.labels();
                assert_eq!(labels.len(), spec.goals);
                if spec.goals >= 2 {
                    assert!(labels.contains(&true) && labels.contains(&false));
                }
                // Independent check with the generic entailment engine.
                let p = &g.puzzle;
                let mut fs: Vec<crate::logic::Formula> = Vec::new();
                let var = |a: Atom| a as u16;
                for prem in &p.premises {
                    fs.push(crate::logic::Formula::bin(
                        crate::logic::BinOp::Implies,
                        super::super::solve::body_formula(&prem.body, &var),
                        crate::logic::Formula::Var(prem.head as u16),
                    ));
                }
                for &k in &p.known {
                    fs.push(crate::logic::Formula::Var(k as u16));
                }
                for (&goal, &label) in p.goals.iter().zip(&labels) {
                    let e = crate::logic::entails(
                        &fs,
                        &crate::logic::Formula::Var(goal as u16),
                        p.atoms.len(),
                    );
                    assert_eq!(e, label, "level {level}: {}", p.text());
                }
            }
        }
    }
}
