//! Bit-parallel truth tables: one bit per assignment, 64 assignments per
//! `u64` word. Assignment number `a` gives variable `v` the value of bit
//! `v` of `a`. Practical up to about 20 variables (2^20 bits = 128 KiB).

use super::formula::{Formula, Var};

/// Above this many variables, use the SAT solver instead of tables.
pub const MAX_TABLE_VARS: usize = 20;

/// The values of variables 0–5 within one 64-assignment word.
const LOW_PATTERNS: [u64; 6] = [
    0xAAAA_AAAA_AAAA_AAAA,
    0xCCCC_CCCC_CCCC_CCCC,
    0xF0F0_F0F0_F0F0_F0F0,
    0xFF00_FF00_FF00_FF00,
    0xFFFF_0000_FFFF_0000,
    0xFFFF_FFFF_0000_0000,
];

/// Variable `v`'s column in word `w` of a table.
#[inline]
pub fn column(v: Var, w: usize) -> u64 {
    let v = v as usize;
    if v < 6 {
        LOW_PATTERNS[v]
    } else if (w >> (v - 6)) & 1 == 1 {
        !0
    } else {
        0
    }
}

/// A set of assignments over `nvars` variables.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TruthTable {
    nvars: usize,
    words: Vec<u64>,
}

impl TruthTable {
    fn n_words(nvars: usize) -> usize {
        if nvars <= 6 {
            1
        } else {
            1 << (nvars - 6)
        }
    }

    /// Bits that stand for real assignments in the (single) word of a table
    /// with fewer than 6 variables.
    fn valid_mask(nvars: usize) -> u64 {
        if nvars >= 6 {
            !0
        } else {
            (1u64 << (1 << nvars)) - 1
        }
    }

    /// Every assignment.
    pub fn all(nvars: usize) -> Self {
        assert!(
            nvars <= MAX_TABLE_VARS + 4,
            "truth table over {nvars} variables"
        );
        let mut words = vec![!0u64; Self::n_words(nvars)];
        words[0] &= Self::valid_mask(nvars);
        Self { nvars, words }
    }

    /// The assignments that satisfy `f` (variables of `f` must be < nvars).
    pub fn of(f: &Formula, nvars: usize) -> Self {
        let mask = Self::valid_mask(nvars);
        let words = (0..Self::n_words(nvars))
            .map(|w| f.eval_word(&|v| column(v, w)) & mask)
            .collect();
        Self { nvars, words }
    }

    /// `self ∧ f`, in place; returns the number of assignments left.
    pub fn and_formula(&mut self, f: &Formula) -> u64 {
        let mut count = 0;
        for (w, word) in self.words.iter_mut().enumerate() {
            if *word != 0 {
                *word &= f.eval_word(&|v| column(v, w));
                count += u64::from(word.count_ones());
            }
        }
        count
    }

    /// `|self ∧ f|` without changing `self`; stops counting above `limit`.
    pub fn count_with(&self, f: &Formula, limit: u64) -> u64 {
        let mut count = 0;
        for (w, word) in self.words.iter().enumerate() {
            if *word != 0 {
                count += u64::from((word & f.eval_word(&|v| column(v, w))).count_ones());
                if count > limit {
                    return count;
                }
            }
        }
        count
    }

    /// `self ∧ g`, where `g(w)` gives word `w` of another table.
    pub fn and_with(&mut self, g: impl Fn(usize) -> u64) {
        let mask = Self::valid_mask(self.nvars);
        for (w, word) in self.words.iter_mut().enumerate() {
            if *word != 0 {
                *word &= g(w) & mask;
            }
        }
    }

    /// `self ∧ other` (both over the same variables).
    pub fn and(&mut self, other: &TruthTable) {
        for (a, b) in self.words.iter_mut().zip(&other.words) {
            *a &= b;
        }
    }

    /// The number of variables.
    pub fn nvars(&self) -> usize {
        self.nvars
    }

    /// How many assignments are in the table.
    pub(crate) fn count(&self) -> u64 {
        self.words.iter().map(|w| u64::from(w.count_ones())).sum()
    }

    /// Whether no assignment is in the table.
    pub fn is_empty(&self) -> bool {
        self.words.iter().all(|w| *w == 0)
    }

    /// Whether `assignment` (bit `i` = variable `i`) is in the table.
    pub fn contains(&self, assignment: u64) -> bool {
        let w = (assignment / 64) as usize;
        w < self.words.len() && (self.words[w] >> (assignment % 64)) & 1 == 1
    }

    /// The assignments in the table, smallest first.
    pub fn iter(&self) -> impl Iterator<Item = u64> + '_ {
        self.words.iter().enumerate().flat_map(|(w, &word)| {
            let mut bits = word;
            std::iter::from_fn(move || {
                if bits == 0 {
                    return None;
                }
                let b = bits.trailing_zeros();
                bits &= bits - 1;
                Some(w as u64 * 64 + u64::from(b))
            })
        })
    }

    /// The first assignment, if any.
    pub fn first(&self) -> Option<u64> {
        self.iter().next()
    }

    /// Whether every assignment in the table gives variable `v` the value
    /// `value` (vacuously true for an empty table).
    pub fn forces(&self, v: Var, value: bool) -> bool {
        self.words.iter().enumerate().all(|(w, word)| {
            let col = column(v, w);
            let bad = if value { !col } else { col };
            word & bad == 0
        })
    }

    /// Keeps only the assignments where `v` has `value`.
    pub fn restrict(&mut self, v: Var, value: bool) {
        for (w, word) in self.words.iter_mut().enumerate() {
            let col = column(v, w);
            *word &= if value { col } else { !col };
        }
    }
}

/// An assignment number as a vector of values.
pub fn assignment_values(a: u64, nvars: usize) -> Vec<bool> {
    (0..nvars).map(|v| (a >> v) & 1 == 1).collect()
}

/// A vector of values as an assignment number.
pub fn assignment_number(values: &[bool]) -> u64 {
    values
        .iter()
        .enumerate()
        .fold(0, |acc, (v, &b)| acc | (u64::from(b) << v))
}

#[cfg(test)]
mod tests {
    use super::super::formula::parse;
    use super::*;

    #[test]
    fn table_matches_pointwise_evaluation() {
        for (text, nvars) in [("((A ∧ ¬C) ⊕ (B ↔ D))", 4), ("((A → H) ∧ ¬(J))", 10)] {
            let f = parse(text).unwrap();
            let t = TruthTable::of(&f, nvars);
            let mut n = 0;
            for a in 0..(1u64 << nvars) {
                let expect = f.eval(&|v| (a >> v) & 1 == 1);
                assert_eq!(t.contains(a), expect, "{text} at {a}");
                n += u64::from(expect);
            }
            assert_eq!(t.count(), n);
            assert_eq!(t.iter().count() as u64, n);
        }
        assert_eq!(TruthTable::all(3).count(), 8);
        assert_eq!(TruthTable::all(12).count(), 4096);
    }

    #[test]
    fn forcing_and_restriction() {
        let f = parse("(A ∧ (B ∨ C))").unwrap();
        let mut t = TruthTable::of(&f, 3);
        assert!(t.forces(0, true));
        assert!(!t.forces(1, true));
        t.restrict(1, false);
        assert!(t.forces(2, true));
        assert_eq!(t.count(), 1);
        assert_eq!(
            assignment_values(t.first().unwrap(), 3),
            vec![true, false, true]
        );
    }
}
