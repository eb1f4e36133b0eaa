//! Rule families, their complexity order, and the exact analysis of a masked
//! sequence: which rules of a family are consistent with the visible terms
//! and what they say the masked term is.
//!
//! Every family is solved from the visible terms instead of by enumerating
//! parameter values: each consecutive pair of visible terms `a → b` pins
//! down the operations that can map `a` to `b` (`+ (b − a)`, `× (b / a)` when
//! that divides exactly, `÷ d` for the divisors whose floor gives `b`), and a
//! cycle slot's candidate set is the intersection over all the pairs that
//! slot covers. The masked term then comes from applying the candidates of
//! the slot before it (or inverting those of the slot after it) and keeping
//! the values the other neighbour confirms. The result is exact: the set of
//! completions over *all* rules of the family, not a sample.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Smallest multiplier / divisor of the `×c` / `÷d` operations.
pub const MIN_FACTOR: i64 = 2;
/// Largest multiplier / divisor of the `×c` / `÷d` operations.
pub const MAX_FACTOR: i64 = 9;
/// Longest sequence the analysis accepts (visible terms plus the mask).
pub const MAX_TERMS: usize = 64;

/// Periods up to this use stack scratch space in the analysis.
const SMALL: usize = 16;

/// Bits 2..=9: one per allowed factor.
const FACTOR_BITS: u16 = 0b11_1111_1100;

/// One step of an operation cycle.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Op {
    /// `x + c` (c may be negative: a subtraction).
    Add(i64),
    /// `x × c`, `MIN_FACTOR ≤ c ≤ MAX_FACTOR`.
    Mul(i64),
    /// `⌊x / d⌋` (rounded towards −∞), `MIN_FACTOR ≤ d ≤ MAX_FACTOR`.
    Div(i64),
}

impl Op {
    /// Applies the operation; `None` on overflow or an invalid divisor.
    pub fn apply(self, x: i64) -> Option<i64> {
        match self {
            Op::Add(c) => x.checked_add(c),
            Op::Mul(c) => x.checked_mul(c),
            Op::Div(d) if d > 0 => Some(x.div_euclid(d)),
            Op::Div(_) => None,
        }
    }

    fn is_add(self) -> bool {
        matches!(self, Op::Add(_))
    }
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Op::Add(c) if c < 0 => write!(f, "-{}", c.unsigned_abs()),
            Op::Add(c) => write!(f, "+{c}"),
            Op::Mul(c) => write!(f, "×{c}"),
            Op::Div(d) => write!(f, "÷{d} (rounded down)"),
        }
    }
}

/// The rule families, in their order of complexity within one size.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Family {
    /// A block of `p` values repeats: `x[i + p] = x[i]` (p = 1: constant).
    Periodic,
    /// A cycle of `p` additions / subtractions: `x[i + 1] = x[i] + c[i mod p]`
    /// (p = 1: arithmetic; p = 2: alternating differences).
    AddCycle,
    /// `p ≥ 2` interleaved arithmetic sequences, each with its own start and
    /// step: `x[r + p·q] = a[r] + d[r]·q`.
    Interleaved,
    /// A cycle of `p` operations among `+c`, `×c`, `÷d` with at least one
    /// multiplication or division (p = 1: geometric).
    OpCycle,
    /// Periodic after a one-term preamble: `x[i + p] = x[i]` for `i ≥ 1`.
    ShiftedPeriodic,
}

impl Family {
    /// All families, simplest first.
    pub const ALL: [Family; 5] = [
        Family::Periodic,
        Family::AddCycle,
        Family::Interleaved,
        Family::OpCycle,
        Family::ShiftedPeriodic,
    ];

    /// The family's name as printed: `periodic`, `add-cycle`, ….
    pub(crate) fn name(self) -> &'static str {
        match self {
            Family::Periodic => "periodic",
            Family::AddCycle => "add-cycle",
            Family::Interleaved => "interleaved",
            Family::OpCycle => "op-cycle",
            Family::ShiftedPeriodic => "shifted-periodic",
        }
    }
}

/// A rule's complexity: its *size* first, then its family, compared
/// lexicographically. The size of a periodic rule or a cycle is its period
/// `p` (a cycle has `p + 1` integer parameters: the start and `p` steps);
/// `m` interleaved arithmetic sequences have `2m` parameters, as many as a
/// cycle of `2m − 1` steps, so their size is `2m − 1` (3, 5, 7, …). So
/// `(1, add-cycle)` (arithmetic) < `(1, op-cycle)` (geometric) <
/// `(2, periodic)` < `(2, add-cycle)` < `(2, op-cycle)` < `(3, periodic)` <
/// `(3, add-cycle)` < `(3, interleaved)` (two sequences) < ….
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Complexity {
    /// The period, or `2m − 1` for `m` interleaved sequences.
    pub size: usize,
    /// The rule family.
    pub family: Family,
}

impl Complexity {
    /// The class of `family` at `size`.
    pub(crate) fn new(size: usize, family: Family) -> Self {
        Self { size, family }
    }

    /// The class of `m` interleaved arithmetic sequences (size `2m − 1`).
    pub fn interleaved(m: usize) -> Self {
        Self::new((2 * m).saturating_sub(1), Family::Interleaved)
    }

    /// Every complexity up to and including `max`, simplest first.
    pub fn up_to(max: Complexity) -> impl Iterator<Item = Complexity> {
        (1..=max.size)
            .flat_map(|p| Family::ALL.into_iter().map(move |f| Complexity::new(p, f)))
            .filter(|c| c.is_valid())
            .take_while(move |c| *c <= max)
    }

    /// Interleaving needs at least two sequences (odd sizes from 3).
    pub fn is_valid(self) -> bool {
        self.size >= 1
            && (self.family != Family::Interleaved || (self.size >= 3 && self.size % 2 == 1))
    }

    /// The period (periodic, cycles) or number of sequences (interleaved).
    pub fn period(self) -> usize {
        if self.family == Family::Interleaved {
            self.size.div_ceil(2)
        } else {
            self.size
        }
    }
}

impl fmt::Display for Complexity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.family == Family::Interleaved {
            write!(
                f,
                "{} interleaved sequences, size {}",
                self.period(),
                self.size
            )
        } else {
            write!(f, "{} with period {}", self.family.name(), self.size)
        }
    }
}

/// A concrete rule: what generates a sequence.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "family", rename_all = "snake_case")]
pub enum Rule {
    /// `block` repeats from term `offset` on (offset 0: periodic; 1: shifted
    /// periodic with `first` as the preamble).
    Periodic {
        /// Where the block starts repeating (0 or 1).
        offset: usize,
        /// The preamble term, when `offset` is 1.
        first: Option<i64>,
        /// The repeating values.
        block: Vec<i64>,
    },
    /// Start at `start`, then apply `ops[0], ops[1], …` cyclically. A `None`
    /// op is a step no visible pair constrains (any operation fits there).
    Cycle {
        /// The first term.
        start: i64,
        /// The steps, applied in turn.
        ops: Vec<Option<Op>>,
    },
    /// Sequence `r` (terms r, r+m, …) starts at `starts[r]` and steps by `steps[r]`.
    Interleaved {
        /// Each sequence's first term.
        starts: Vec<i64>,
        /// Each sequence's constant difference.
        steps: Vec<i64>,
    },
}

impl Rule {
    /// The rule's complexity class.
    pub(crate) fn complexity(&self) -> Complexity {
        match self {
            Rule::Periodic { offset, block, .. } => Complexity::new(
                block.len(),
                if *offset == 0 {
                    Family::Periodic
                } else {
                    Family::ShiftedPeriodic
                },
            ),
            Rule::Cycle { ops, .. } => Complexity::new(
                ops.len(),
                if ops.iter().flatten().all(|o| o.is_add()) {
                    Family::AddCycle
                } else {
                    Family::OpCycle
                },
            ),
            Rule::Interleaved { starts, .. } => Complexity::interleaved(starts.len()),
        }
    }

    /// The first `n` terms, or `None` on overflow or an unconstrained step.
    pub fn terms(&self, n: usize) -> Option<Vec<i64>> {
        let mut out = Vec::with_capacity(n);
        match self {
            Rule::Periodic {
                offset,
                first,
                block,
            } => {
                if block.is_empty() {
                    return None;
                }
                for i in 0..n {
                    if i < *offset {
                        out.push((*first)?);
                    } else {
                        out.push(block[(i - offset) % block.len()]);
                    }
                }
            }
            Rule::Cycle { start, ops } => {
                if ops.is_empty() {
                    return None;
                }
                let mut x = *start;
                for i in 0..n {
                    if i > 0 {
                        x = ops[(i - 1) % ops.len()]?.apply(x)?;
                    }
                    out.push(x);
                }
            }
            Rule::Interleaved { starts, steps } => {
                let m = starts.len();
                if m == 0 || steps.len() != m {
                    return None;
                }
                for i in 0..n {
                    let q = i64::try_from(i / m).ok()?;
                    out.push(starts[i % m].checked_add(steps[i % m].checked_mul(q)?)?);
                }
            }
        }
        Some(out)
    }

    /// A one-line description for rationales.
    pub fn describe(&self) -> String {
        match self {
            Rule::Periodic {
                offset: 0, block, ..
            } if block.len() == 1 => format!("every term equals {}", block[0]),
            Rule::Periodic { offset, block, .. } => {
                let b = join(block.iter());
                if *offset == 0 {
                    format!("the block {b} repeats (period {})", block.len())
                } else {
                    format!(
                        "after the first term, the block {b} repeats (period {})",
                        block.len()
                    )
                }
            }
            Rule::Cycle { ops, .. } if ops.len() == 1 => match ops[0] {
                Some(Op::Add(c)) => format!(
                    "an arithmetic sequence: each term is the previous one {}",
                    Op::Add(c)
                ),
                Some(Op::Mul(c)) => format!(
                    "a geometric sequence: each term is the previous one {}",
                    Op::Mul(c)
                ),
                Some(op) => format!("each term is the previous one {op}"),
                None => "an unconstrained step".to_string(),
            },
            Rule::Cycle { ops, .. } => format!(
                "the steps repeat every {} terms: {}",
                ops.len(),
                join(ops.iter().map(|o| match o {
                    Some(op) => op.to_string(),
                    None => "(any)".to_string(),
                }))
            ),
            Rule::Interleaved { starts, steps } => {
                let m = starts.len();
                let parts: Vec<String> = (0..m)
                    .map(|r| {
                        format!(
                            "terms {}, {}, … start at {} and step {}",
                            r + 1,
                            r + 1 + m,
                            starts[r],
                            Op::Add(steps[r])
                        )
                    })
                    .collect();
                format!("{m} interleaved arithmetic sequences: {}", parts.join("; "))
            }
        }
    }
}

fn join<T: fmt::Display>(items: impl Iterator<Item = T>) -> String {
    items.map(|x| x.to_string()).collect::<Vec<_>>().join(", ")
}

/// The operations still possible for one cycle slot.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct SlotSet {
    /// At least one visible pair constrains this slot.
    seen: bool,
    /// `None`: no addition fits; `Some(c)`: only `+c` (meaningful when `seen`).
    add: Option<i64>,
    /// Bit `c` set: `×c` fits.
    mul: u16,
    /// Bit `d` set: `÷d` fits.
    div: u16,
}

impl SlotSet {
    /// No constraint yet (with or without multiplications / divisions).
    fn open(ops: bool) -> Self {
        let bits = if ops { FACTOR_BITS } else { 0 };
        Self {
            seen: false,
            add: Some(0),
            mul: bits,
            div: bits,
        }
    }

    /// The operations that map `a` to `b`.
    fn observe(a: i64, b: i64) -> Self {
        let add = b.checked_sub(a);
        let mul = if a == 0 {
            if b == 0 {
                FACTOR_BITS
            } else {
                0
            }
        } else {
            match (b.checked_rem(a), b.checked_div(a)) {
                (Some(0), Some(q)) if (MIN_FACTOR..=MAX_FACTOR).contains(&q) => 1 << q,
                _ => 0,
            }
        };
        // ⌊a/d⌋ = b needs b between ⌊a/9⌋ and ⌊a/2⌋.
        let mut div = 0u16;
        if b <= a.div_euclid(MIN_FACTOR) && b >= a.div_euclid(MAX_FACTOR) {
            for d in MIN_FACTOR..=MAX_FACTOR {
                if a.div_euclid(d) == b {
                    div |= 1 << d;
                }
            }
        }
        Self {
            seen: true,
            add,
            mul,
            div,
        }
    }

    fn meet(self, other: SlotSet) -> SlotSet {
        let add = match (self.seen, other.seen) {
            (false, _) => other.add,
            (_, false) => self.add,
            _ => match (self.add, other.add) {
                (Some(a), Some(b)) if a == b => Some(a),
                _ => None,
            },
        };
        SlotSet {
            seen: self.seen || other.seen,
            add,
            mul: self.mul & other.mul,
            div: self.div & other.div,
        }
    }

    fn is_empty(self) -> bool {
        self.seen && self.add.is_none() && self.mul == 0 && self.div == 0
    }

    /// The candidate operations, additions first, then ×, then ÷ by size.
    fn ops(self) -> impl Iterator<Item = Op> {
        let add = self.add.filter(|_| self.seen).map(Op::Add);
        add.into_iter()
            .chain(
                (MIN_FACTOR..=MAX_FACTOR)
                    .filter(move |c| self.mul & (1 << c) != 0)
                    .map(Op::Mul),
            )
            .chain(
                (MIN_FACTOR..=MAX_FACTOR)
                    .filter(move |d| self.div & (1 << d) != 0)
                    .map(Op::Div),
            )
    }
}

/// How a family explains the visible terms.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    /// No rule of the family fits the visible terms.
    Inconsistent,
    /// Some rules fit and every one of them fixes the masked term; the
    /// values are in the output buffer (at least one, no duplicates).
    Determined,
    /// Some rule fits while leaving the masked term free (infinitely many
    /// completions).
    Underdetermined,
}

/// A sequence with one masked term, ready for analysis.
#[derive(Clone, Debug)]
pub struct Masked {
    terms: Vec<i64>,
    mask: usize,
    /// `obs[i]`: operations mapping term i to term i+1 (meaningless for the
    /// two pairs that touch the mask).
    obs: Vec<SlotSet>,
}

impl Masked {
    /// `terms[mask]` is ignored. Needs at least 3 terms and at most
    /// [`MAX_TERMS`].
    pub fn new(terms: &[i64], mask: usize) -> Option<Self> {
        if terms.len() < 3 || terms.len() > MAX_TERMS || mask >= terms.len() {
            return None;
        }
        let obs = terms
            .windows(2)
            .map(|w| SlotSet::observe(w[0], w[1]))
            .collect();
        Some(Self {
            terms: terms.to_vec(),
            mask,
            obs,
        })
    }

    /// The number of terms, the mask included.
    pub(crate) fn len(&self) -> usize {
        self.terms.len()
    }

    /// Whether there are no terms (never, for a built sequence).
    pub fn is_empty(&self) -> bool {
        self.terms.is_empty()
    }

    /// The position of the masked term (0-based).
    pub(crate) fn mask(&self) -> usize {
        self.mask
    }

    /// The visible terms with `None` at the mask.
    pub fn visible(&self) -> Vec<Option<i64>> {
        (0..self.len())
            .map(|i| (i != self.mask).then_some(self.terms[i]))
            .collect()
    }

    /// Largest size worth trying: beyond it every family leaves the mask free.
    pub fn max_period(&self) -> usize {
        self.len() - 1
    }

    fn touches_mask(&self, pair: usize) -> bool {
        pair + 1 == self.mask || pair == self.mask
    }

    /// The completions of the masked term under all rules of one
    /// complexity class. `out` is cleared and receives the values.
    pub fn completions(&self, c: Complexity, out: &mut Vec<i64>) -> Status {
        out.clear();
        if !c.is_valid() {
            return Status::Inconsistent;
        }
        match c.family {
            Family::Periodic => self.periodic(c.period(), 0, out),
            Family::ShiftedPeriodic => self.periodic(c.period(), 1, out),
            Family::AddCycle => self.cycle(c.period(), false, out),
            Family::OpCycle => self.cycle(c.period(), true, out),
            Family::Interleaved => self.interleaved(c.period(), out),
        }
    }

    /// True when every rule of size ≤ `max_size` (any family) that fits
    /// the visible terms fixes the masked term to `answer`.
    pub fn is_unique(&self, max_size: usize, answer: i64) -> bool {
        let mut buf = Vec::with_capacity(8);
        // Largest sizes first: a competing completion is most often found
        // there, so rejected draws are rejected early.
        (1..=max_size)
            .rev()
            .flat_map(|size| {
                Family::ALL
                    .into_iter()
                    .map(move |f| Complexity::new(size, f))
            })
            .filter(|c| c.is_valid())
            .all(|c| match self.completions(c, &mut buf) {
                Status::Inconsistent => true,
                Status::Determined => buf.iter().all(|&v| v == answer),
                Status::Underdetermined => false,
            })
    }

    /// The completions at the smallest size where some class fixes the
    /// masked term: each distinct value with the simplest class giving it,
    /// in complexity order (within a class: additions before ×, before ÷).
    /// Classes that leave the term free are skipped.
    pub fn simplest(&self) -> Option<Vec<(i64, Complexity)>> {
        let mut buf = Vec::with_capacity(8);
        let max = Complexity::new(self.max_period(), Family::ShiftedPeriodic);
        let mut out: Vec<(i64, Complexity)> = Vec::new();
        for c in Complexity::up_to(max) {
            if let Some((_, first)) = out.first() {
                if c.size > first.size {
                    break;
                }
            }
            if self.completions(c, &mut buf) == Status::Determined {
                for &v in &buf {
                    if !out.iter().any(|(x, _)| *x == v) {
                        out.push((v, c));
                    }
                }
            }
        }
        (!out.is_empty()).then_some(out)
    }

    /// Every completion given by some class that fixes the masked term, up
    /// to the largest useful period (each class's values, simplest first).
    pub fn all_determined(&self) -> Vec<(Complexity, Vec<i64>)> {
        let mut out = Vec::new();
        let mut buf = Vec::with_capacity(8);
        let max = Complexity::new(self.max_period(), Family::ShiftedPeriodic);
        for c in Complexity::up_to(max) {
            if self.completions(c, &mut buf) == Status::Determined {
                out.push((c, buf.clone()));
            }
        }
        out
    }

    fn periodic(&self, p: usize, offset: usize, out: &mut Vec<i64>) -> Status {
        let mut small = [None; SMALL];
        let mut big;
        let vals: &mut [Option<i64>] = if p <= SMALL {
            &mut small[..p]
        } else {
            big = vec![None; p];
            &mut big
        };
        for (i, &x) in self.terms.iter().enumerate().skip(offset) {
            if i == self.mask {
                continue;
            }
            let r = (i - offset) % p;
            match vals[r] {
                Some(v) if v != x => return Status::Inconsistent,
                _ => vals[r] = Some(x),
            }
        }
        if self.mask < offset {
            return Status::Underdetermined;
        }
        match vals[(self.mask - offset) % p] {
            Some(v) => {
                out.push(v);
                Status::Determined
            }
            None => Status::Underdetermined,
        }
    }

    /// Candidate sets of the `k` slots from the pairs that avoid the mask.
    fn slots(&self, k: usize, slots: &mut [SlotSet]) -> bool {
        for (i, o) in self.obs.iter().enumerate() {
            if self.touches_mask(i) {
                continue;
            }
            let s = &mut slots[i % k];
            *s = s.meet(*o);
            if s.is_empty() {
                return false;
            }
        }
        true
    }

    fn cycle(&self, k: usize, ops: bool, out: &mut Vec<i64>) -> Status {
        // Fixed-size scratch for the usual small periods (no allocation, no
        // large memset), a vector beyond.
        let mut small = [SlotSet::open(ops); SMALL];
        let mut big;
        let slots: &mut [SlotSet] = if k <= SMALL {
            &mut small[..k]
        } else {
            big = vec![SlotSet::open(ops); k];
            &mut big
        };
        if !self.slots(k, slots) {
            return Status::Inconsistent;
        }
        let slots: &[SlotSet] = slots;
        let n = self.len();
        let m = self.mask;
        let left = (m > 0).then(|| ((m - 1) % k, self.terms[m - 1]));
        let right = (m + 1 < n).then(|| (m % k, self.terms[m + 1]));
        let accept = |x: i64| -> bool {
            match (left, right) {
                (Some((ls, a)), Some((rs, b))) if ls == rs => !slots[ls]
                    .meet(SlotSet::observe(a, x))
                    .meet(SlotSet::observe(x, b))
                    .is_empty(),
                _ => {
                    left.is_none_or(|(ls, a)| !slots[ls].meet(SlotSet::observe(a, x)).is_empty())
                        && right.is_none_or(|(rs, b)| {
                            !slots[rs].meet(SlotSet::observe(x, b)).is_empty()
                        })
                }
            }
        };
        let push = |x: i64, out: &mut Vec<i64>| {
            if accept(x) && !out.contains(&x) {
                out.push(x);
            }
        };
        match (left, right) {
            (Some((ls, a)), _) if slots[ls].seen => {
                for op in slots[ls].ops() {
                    if let Some(x) = op.apply(a) {
                        push(x, out);
                    }
                }
            }
            (_, Some((rs, b))) if slots[rs].seen => {
                for op in slots[rs].ops() {
                    match op {
                        Op::Add(c) => {
                            if let Some(x) = b.checked_sub(c) {
                                push(x, out);
                            }
                        }
                        Op::Mul(c) => {
                            if b % c == 0 {
                                push(b / c, out);
                            }
                        }
                        Op::Div(d) => {
                            // ⌊x/d⌋ = b  ⇔  d·b ≤ x < d·b + d
                            if let Some(lo) = b.checked_mul(d) {
                                for x in lo..lo.saturating_add(d) {
                                    push(x, out);
                                }
                            }
                        }
                    }
                }
            }
            // Both neighbouring steps are free: any value fits (when the
            // rest is consistent, which `slots` established).
            _ => return Status::Underdetermined,
        }
        if out.is_empty() {
            Status::Inconsistent
        } else {
            Status::Determined
        }
    }

    fn interleaved(&self, m: usize, out: &mut Vec<i64>) -> Status {
        let n = self.len();
        let target = self.mask % m;
        let mut target_line: Option<(i128, i128)> = None;
        let mut target_free = false;
        for r in 0..m {
            // (q, value) of the visible terms of sequence r.
            let mut first: Option<(i128, i128)> = None;
            let mut line: Option<(i128, i128)> = None; // (start, step)
            let mut i = r;
            while i < n {
                if i != self.mask {
                    let q = (i / m) as i128;
                    let v = i128::from(self.terms[i]);
                    match (first, line) {
                        (None, _) => first = Some((q, v)),
                        (Some((q1, v1)), None) => {
                            let dq = q - q1;
                            let dv = v - v1;
                            if dv % dq != 0 {
                                return Status::Inconsistent;
                            }
                            let d = dv / dq;
                            line = Some((v1 - d * q1, d));
                        }
                        (_, Some((a, d))) => {
                            if a + d * q != v {
                                return Status::Inconsistent;
                            }
                        }
                    }
                }
                i += m;
            }
            if r == target {
                match line {
                    Some(l) => target_line = Some(l),
                    None => target_free = true,
                }
            }
        }
        if target_free {
            return Status::Underdetermined;
        }
        let Some((a, d)) = target_line else {
            return Status::Underdetermined;
        };
        let v = a + d * (self.mask / m) as i128;
        match i64::try_from(v) {
            Ok(v) => {
                out.push(v);
                Status::Determined
            }
            Err(_) => Status::Inconsistent,
        }
    }

    /// A rule of class `c` that fits the visible terms and gives `value` at
    /// the mask (for rationales). `None` when no such rule exists.
    pub fn explain(&self, c: Complexity, value: i64) -> Option<Rule> {
        let mut terms = self.terms.clone();
        terms[self.mask] = value;
        let n = terms.len();
        let rule = match c.family {
            Family::Periodic | Family::ShiftedPeriodic => {
                let offset = usize::from(c.family == Family::ShiftedPeriodic);
                if n < offset + c.period() {
                    return None;
                }
                Rule::Periodic {
                    offset,
                    first: (offset == 1).then_some(terms[0]),
                    block: terms[offset..offset + c.period()].to_vec(),
                }
            }
            Family::AddCycle | Family::OpCycle => {
                let k = c.period();
                let ops = c.family == Family::OpCycle;
                let mut slots = vec![SlotSet::open(ops); k];
                for (i, w) in terms.windows(2).enumerate() {
                    slots[i % k] = slots[i % k].meet(SlotSet::observe(w[0], w[1]));
                }
                Rule::Cycle {
                    start: terms[0],
                    ops: slots
                        .iter()
                        .map(|s| {
                            // The op with the smallest parameter reads best
                            // (8 → 32 is ×4 rather than +24); ties go to +.
                            if s.seen {
                                s.ops().min_by_key(|op| match *op {
                                    Op::Add(c) => c.unsigned_abs(),
                                    Op::Mul(c) | Op::Div(c) => c.unsigned_abs(),
                                })
                            } else {
                                None
                            }
                        })
                        .collect(),
                }
            }
            Family::Interleaved => {
                let m = c.period();
                if n < 2 * m {
                    return None;
                }
                let starts = terms[..m].to_vec();
                let steps = (0..m)
                    .map(|r| terms[r + m].checked_sub(terms[r]))
                    .collect::<Option<Vec<_>>>()?;
                Rule::Interleaved { starts, steps }
            }
        };
        // Only rules that really reproduce the sequence are returned.
        let produced = match &rule {
            Rule::Cycle { start, ops } => {
                let mut x = *start;
                let mut ok = true;
                for i in 1..n {
                    match ops[(i - 1) % ops.len()] {
                        Some(op) => match op.apply(x) {
                            Some(y) if y == terms[i] => x = y,
                            _ => {
                                ok = false;
                                break;
                            }
                        },
                        None => x = terms[i],
                    }
                }
                ok
            }
            other => other.terms(n).as_deref() == Some(&terms[..]),
        };
        produced.then_some(rule)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn done(terms: &[i64], mask: usize, c: Complexity) -> (Status, Vec<i64>) {
        let m = Masked::new(terms, mask).unwrap();
        let mut out = Vec::new();
        let s = m.completions(c, &mut out);
        (s, out)
    }

    const AR: Complexity = Complexity {
        size: 1,
        family: Family::AddCycle,
    };
    const GEO: Complexity = Complexity {
        size: 1,
        family: Family::OpCycle,
    };

    #[test]
    fn complexity_order() {
        let all: Vec<_> = Complexity::up_to(Complexity::new(2, Family::AddCycle)).collect();
        assert_eq!(
            all,
            vec![
                Complexity::new(1, Family::Periodic),
                Complexity::new(1, Family::AddCycle),
                Complexity::new(1, Family::OpCycle),
                Complexity::new(1, Family::ShiftedPeriodic),
                Complexity::new(2, Family::Periodic),
                Complexity::new(2, Family::AddCycle),
            ]
        );
    }

    #[test]
    fn arithmetic_end_and_middle() {
        assert_eq!(
            done(&[2, 4, 6, 8, 0], 4, AR),
            (Status::Determined, vec![10])
        );
        assert_eq!(
            done(&[1, 0, 9, 13, 17], 1, AR),
            (Status::Determined, vec![5])
        );
        assert_eq!(done(&[0, 5, 9, 13], 0, AR), (Status::Determined, vec![1]));
        assert_eq!(done(&[1, 2, 4, 8, 0], 4, AR).0, Status::Inconsistent);
    }

    #[test]
    fn geometric() {
        assert_eq!(
            done(&[3, 9, 27, 81, 0], 4, GEO),
            (Status::Determined, vec![243])
        );
        // 2 → 4 alone: +2 or ×2 (or an op cycle with +2) — both fit.
        let (s, v) = done(&[2, 4, 0], 2, GEO);
        assert_eq!(s, Status::Determined);
        assert_eq!(v, vec![6, 8]);
        // Geometric with the mask inside: 2, ?, 8 → 4 (×2); +3 gives 5 then 5→8 = +3 too.
        let (s, v) = done(&[2, 0, 8, 16], 1, GEO);
        assert_eq!((s, v), (Status::Determined, vec![4]));
    }

    #[test]
    fn periodic_and_shifted() {
        let p2 = Complexity::new(2, Family::Periodic);
        assert_eq!(done(&[4, 3, 4, 3, 0], 4, p2), (Status::Determined, vec![4]));
        assert_eq!(done(&[4, 3, 5, 3, 0], 4, p2).0, Status::Inconsistent);
        let s2 = Complexity::new(2, Family::ShiftedPeriodic);
        assert_eq!(
            done(&[2, 1, 4, 1, 4, 1, 0], 6, s2),
            (Status::Determined, vec![4])
        );
        // The preamble term itself is free.
        assert_eq!(done(&[0, 1, 4, 1, 4, 1], 0, s2).0, Status::Underdetermined);
    }

    #[test]
    fn add_cycles_and_op_cycles() {
        let c2 = Complexity::new(2, Family::AddCycle);
        assert_eq!(
            done(&[1, -1, 2, 0, 0], 4, c2),
            (Status::Determined, vec![3])
        );
        let o3 = Complexity::new(3, Family::OpCycle);
        // +1, ×4, ×3 repeating from 3.
        assert_eq!(
            done(&[3, 4, 16, 48, 49, 196, 588, 589, 0], 8, o3),
            (Status::Determined, vec![2356])
        );
        // Division cycle ÷2, ×3 from 4.
        let o2 = Complexity::new(2, Family::OpCycle);
        assert_eq!(
            done(&[4, 2, 6, 3, 9, 4, 12, 0], 7, o2),
            (Status::Determined, vec![6])
        );
        // Mask in the middle of a ÷ step: ⌊x/2⌋ = 3 has two preimages, but ×3 pins it.
        assert_eq!(
            done(&[4, 2, 6, 3, 0, 4, 12, 6], 4, o2),
            (Status::Determined, vec![9])
        );
    }

    #[test]
    fn cycle_with_unseen_step_is_underdetermined() {
        // Period 4 on 5 terms: the step into the mask is never seen.
        let c4 = Complexity::new(4, Family::AddCycle);
        assert_eq!(done(&[1, 2, 4, 7, 0], 4, c4).0, Status::Underdetermined);
    }

    #[test]
    fn interleaved_sequences() {
        let i2 = Complexity::interleaved(2);
        assert_eq!(i2, Complexity::new(3, Family::Interleaved));
        // 1, 10, 2, 20, 3, 30, ?
        assert_eq!(
            done(&[1, 10, 2, 20, 3, 30, 0], 6, i2),
            (Status::Determined, vec![4])
        );
        assert_eq!(
            done(&[1, 10, 2, 20, 3, 31, 4, 0], 7, i2).0,
            Status::Inconsistent
        );
        // The masked sequence has a single visible term: free.
        assert_eq!(done(&[1, 10, 2, 0], 3, i2).0, Status::Underdetermined);
    }

    #[test]
    fn uniqueness_and_simplest() {
        let m = Masked::new(&[2, 4, 6, 8, 0], 4).unwrap();
        assert!(m.is_unique(1, 10));
        assert!(!m.is_unique(1, 11));
        assert_eq!(m.simplest(), Some(vec![(10, AR)]));
        // 2, 4, ? : arithmetic says 6, geometric 8, "constant after the
        // first term" 4: not unique at size 1.
        let m = Masked::new(&[2, 4, 0], 2).unwrap();
        assert!(!m.is_unique(1, 6));
        assert!(!m.is_unique(1, 8));
        let shifted = Complexity::new(1, Family::ShiftedPeriodic);
        assert_eq!(m.simplest(), Some(vec![(6, AR), (8, GEO), (4, shifted)]));
    }

    #[test]
    fn overflow_is_safe() {
        let big = i64::MAX - 1;
        let m = Masked::new(&[big, i64::MAX, i64::MIN, 0], 3).unwrap();
        let _ = m.all_determined();
        let m = Masked::new(&[i64::MIN, -1, i64::MAX, 0, i64::MIN], 3).unwrap();
        let _ = m.all_determined();
        let m = Masked::new(&[0, i64::MIN, i64::MAX, -1, 0], 0).unwrap();
        let _ = m.all_determined();
    }

    #[test]
    fn explain_reproduces() {
        let m = Masked::new(&[3, 4, 16, 48, 49, 196, 588, 589, 0], 8).unwrap();
        let (v, c) = m.simplest().unwrap()[0];
        let rule = m.explain(c, v).unwrap();
        assert_eq!(rule.complexity(), c);
        assert_eq!(
            rule.terms(9).unwrap(),
            vec![3, 4, 16, 48, 49, 196, 588, 589, 2356]
        );
        assert!(
            rule.describe().contains("+1, ×4, ×3"),
            "{}",
            rule.describe()
        );
    }
}
