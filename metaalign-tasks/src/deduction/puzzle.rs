//! A deduction puzzle: named variables and formulas, its ground-truth JSON,
//! answer text and the answer parser.

use serde_json::{json, Value};

use crate::logic::{self, var_index, var_name, Formula, Models, Var};

/// The answer to an unsatisfiable puzzle.
pub const NO_ASSIGNMENT: &str = "No assignment satisfies all the formulas.";

/// Formulas over named variables.
#[derive(Clone, Debug, PartialEq)]
pub struct DeductionPuzzle {
    /// Variable names, by variable number; the answer lists them in this order.
    pub names: Vec<String>,
    /// The formulas, over variables numbered as `names`.
    pub formulas: Vec<Formula>,
}

impl DeductionPuzzle {
    /// A puzzle over the standard names `A`, `B`, … for `nvars` variables.
    pub fn standard(nvars: usize, formulas: Vec<Formula>) -> Self {
        Self {
            names: (0..nvars).map(|v| var_name(v as Var)).collect(),
            formulas,
        }
    }

    /// The number of variables.
    pub(crate) fn nvars(&self) -> usize {
        self.names.len()
    }

    /// Reads formulas in the paper's text format. With `variables` the
    /// names are those, in that order; without, they are the names used in
    /// the formulas, in standard order (`A`…`Z`, `A1`…, then others
    /// alphabetically).
    pub fn from_texts<S: AsRef<str>>(
        formulas: &[S],
        variables: Option<&[String]>,
    ) -> Result<Self, String> {
        if formulas.is_empty() {
            return Err("the puzzle has no formulas".into());
        }
        let names: Vec<String> = match variables {
            Some(v) => v.to_vec(),
            None => {
                let mut seen: Vec<String> = Vec::new();
                for (i, text) in formulas.iter().enumerate() {
                    logic::parse_with(text.as_ref(), &mut |name| {
                        if !seen.iter().any(|s| s == name) {
                            seen.push(name.to_string());
                        }
                        Some(0)
                    })
                    .map_err(|e| format!("formula {}: {e}", i + 1))?;
                }
                seen.sort_by(|a, b| {
                    let ka = var_index(a).map_or((1, 0), |i| (0, i));
                    let kb = var_index(b).map_or((1, 0), |i| (0, i));
                    ka.cmp(&kb).then_with(|| a.cmp(b))
                });
                seen
            }
        };
        if names.len() > usize::from(Var::MAX) {
            return Err(format!("too many variables ({})", names.len()));
        }
        let parsed = formulas
            .iter()
            .enumerate()
            .map(|(i, text)| {
                logic::parse_with(text.as_ref(), &mut |name| {
                    names.iter().position(|n| n == name).map(|p| p as Var)
                })
                .map_err(|e| format!("formula {}: {e}", i + 1))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self {
            names,
            formulas: parsed,
        })
    }

    /// Formula `i` in the paper's text format.
    pub fn formula_text(&self, i: usize) -> String {
        let mut s = String::new();
        self.formulas[i].write(&mut s, &|v: Var| self.names[v as usize].as_str());
        s
    }

    /// Every formula in the paper's text format.
    pub(crate) fn formula_texts(&self) -> Vec<String> {
        (0..self.formulas.len())
            .map(|i| self.formula_text(i))
            .collect()
    }

    /// Exact classification (tables up to 20 variables, SAT above).
    pub fn models(&self) -> Models {
        logic::classify(&self.formulas, self.nvars())
    }

    /// The answer text of an assignment, in the paper's format
    /// (`(1) A is True` lines, each ending in a newline).
    pub fn answer_text(&self, values: &[bool]) -> String {
        use std::fmt::Write;
        let mut s = String::with_capacity(values.len() * 16);
        for (i, (name, v)) in self.names.iter().zip(values).enumerate() {
            let _ = writeln!(
                s,
                "({}) {} is {}",
                i + 1,
                name,
                if *v { "True" } else { "False" }
            );
        }
        s
    }

    /// [`DeductionPuzzle::answer_text`] of the assignment `value`, built
    /// without `fmt` into one exactly sized allocation (the verifier's hot
    /// path).
    pub fn answer_text_with(&self, value: &impl Fn(Var) -> bool) -> String {
        assignment_text(&self.names, |i| value(i as Var))
    }

    /// The ground-truth JSON the verifier reads. `solution` is the reference
    /// model (`None` for an unsatisfiable puzzle).
    pub fn ground_truth(&self, solution: Option<&[bool]>, unique: bool) -> Value {
        let text = match solution {
            Some(v) => self.answer_text(v),
            None => NO_ASSIGNMENT.to_string(),
        };
        self.ground_truth_parts(self.formula_texts(), solution, unique, text)
    }

    /// [`DeductionPuzzle::ground_truth`] from already printed formulas and
    /// answer text.
    pub fn ground_truth_parts(
        &self,
        formulas: Vec<String>,
        solution: Option<&[bool]>,
        unique: bool,
        answer: String,
    ) -> Value {
        json!({
            "formulas": formulas,
            "variables": self.names,
            "satisfiable": solution.is_some(),
            "unique": unique && solution.is_some(),
            "solution": solution,
            "solution_text_format": answer,
        })
    }

    /// Reads a ground truth written by [`DeductionPuzzle::ground_truth`]
    /// (only `formulas` is required). Returns the puzzle and whether it is
    /// satisfiable.
    pub fn from_ground_truth(gt: &Value) -> Result<(Self, bool), String> {
        let formulas = gt
            .get("formulas")
            .and_then(Value::as_array)
            .ok_or("ground truth has no `formulas` list")?;
        let formulas: Vec<&str> = formulas
            .iter()
            .map(|f| f.as_str().ok_or("a formula is not a string"))
            .collect::<Result<_, _>>()?;
        let variables: Option<Vec<String>> = match gt.get("variables") {
            Some(Value::Array(vs)) => Some(
                vs.iter()
                    .map(|v| {
                        v.as_str()
                            .map(str::to_string)
                            .ok_or("a variable name is not a string")
                    })
                    .collect::<Result<_, _>>()?,
            ),
            _ => None,
        };
        let puzzle = Self::from_texts(&formulas, variables.as_deref())?;
        let satisfiable = gt
            .get("satisfiable")
            .and_then(Value::as_bool)
            .unwrap_or(true);
        Ok((puzzle, satisfiable))
    }
}

/// Whether no two names are equal ignoring ASCII case (then an answer's
/// items can be matched to the variable expected next first: see
/// [`parse_answer_hinted`]). Linear for one-letter names (a bit per letter),
/// quadratic otherwise.
pub fn names_distinct<S: AsRef<str>>(names: &[S]) -> bool {
    let mut seen = 0u32;
    for n in names {
        match n.as_ref().as_bytes() {
            [b] if b.is_ascii_alphabetic() => {
                let bit = 1u32 << (b.to_ascii_uppercase() - b'A');
                if seen & bit != 0 {
                    return false;
                }
                seen |= bit;
            }
            _ => {
                return names.iter().enumerate().all(|(i, a)| {
                    names[..i]
                        .iter()
                        .all(|b| !a.as_ref().eq_ignore_ascii_case(b.as_ref()))
                })
            }
        }
    }
    true
}

/// The answer text (`(1) A is True` lines, each ending in a newline) that
/// gives the `i`-th of `names` the value `value(i)`, built without `fmt`
/// into one exactly sized allocation.
pub fn assignment_text<S: AsRef<str>>(names: &[S], value: impl Fn(usize) -> bool) -> String {
    let longest = names.iter().map(|n| n.as_ref().len()).max().unwrap_or(0);
    let mut s = String::with_capacity(names.len() * (longest + 16));
    for (i, name) in names.iter().enumerate() {
        s.push('(');
        let n = i + 1;
        if n < 10 {
            s.push(char::from(b'0' + n as u8));
        } else {
            let mut buf = [0u8; 20];
            let mut at = buf.len();
            let mut n = n;
            while n > 0 {
                at -= 1;
                buf[at] = b'0' + (n % 10) as u8;
                n /= 10;
            }
            for &d in &buf[at..] {
                s.push(char::from(d));
            }
        }
        s.push_str(") ");
        s.push_str(name.as_ref());
        s.push_str(if value(i) {
            " is True\n"
        } else {
            " is False\n"
        });
    }
    s
}

/// The formula lines of a puzzle text: the paper's `  - formula` lines or
/// our `  1. formula` lines.
pub fn formulas_in_text(text: &str) -> Vec<String> {
    text.lines()
        .filter_map(|line| {
            let t = line.trim();
            if let Some(rest) = t.strip_prefix("- ") {
                return Some(rest.trim().to_string());
            }
            let digits = t.bytes().take_while(u8::is_ascii_digit).count();
            if digits > 0 {
                return t[digits..].strip_prefix(". ").map(|r| r.trim().to_string());
            }
            None
        })
        .collect()
}

/// The puzzle of a task and whether it is satisfiable: from its ground
/// truth, or else from the formula lines of its puzzle text.
pub fn task_puzzle(task: &metaalign_core::Task) -> Result<(DeductionPuzzle, bool), String> {
    if task.ground_truth.get("formulas").is_some() {
        return DeductionPuzzle::from_ground_truth(&task.ground_truth);
    }
    puzzle_from_text(task)
}

/// A task's puzzle as the verifier uses it: parsed once, with its
/// formulas' texts printed once (for the verdict's details) and, up to 64
/// variables, compiled to postfix code evaluated on a bit mask.
#[derive(Debug)]
pub struct PreparedPuzzle {
    /// The parsed puzzle.
    pub puzzle: DeductionPuzzle,
    /// Whether some assignment makes every formula true.
    pub satisfiable: bool,
    /// `puzzle.formula_text(i)` for each formula.
    pub formula_texts: Vec<String>,
    /// The formulas in postfix, one after the other (`None` past 64
    /// variables or a stack deeper than 64).
    code: Option<(Vec<Op>, Vec<usize>)>,
    /// No two names are equal ignoring ASCII case, so an answer's item can
    /// be matched to the variable it is expected to name first.
    names_distinct: bool,
    /// The ground truth's `solution` as a bit mask, when it makes every
    /// formula true (checked once here): an answer equal to it is correct
    /// without evaluating anything.
    model_bits: Option<u64>,
}

/// One postfix instruction over a bit stack, packed: bit 0 set for a
/// connective (else a push), bits 1–6 the variable, bit 7 a negation of
/// the pushed value, bits 8–11 the connective's truth table (bit `2l + r`
/// = the value for left `l`, right `r`). Negations are folded into the
/// instruction before them, so there is no `not` instruction.
#[derive(Clone, Copy, Debug)]
struct Op(u16);

impl Op {
    fn push(v: Var, negated: bool) -> Option<Op> {
        (v < 64).then(|| Op((v << 1) | (u16::from(negated) << 7)))
    }

    fn bin(op: logic::BinOp) -> Op {
        let table: u16 = match op {
            logic::BinOp::And => 0b1000,
            logic::BinOp::Or => 0b1110,
            logic::BinOp::Implies => 0b1011,
            logic::BinOp::Iff => 0b1001,
            logic::BinOp::Xor => 0b0110,
        };
        Op(1 | (table << 8))
    }

    /// The same instruction with its result negated.
    fn negated(self) -> Op {
        if self.0 & 1 == 1 {
            Op(self.0 ^ (0b1111 << 8))
        } else {
            Op(self.0 ^ (1 << 7))
        }
    }
}

/// Appends `f` in postfix; returns the stack depth it needs.
fn compile(f: &Formula, out: &mut Vec<Op>) -> Option<usize> {
    Some(match f {
        Formula::Var(v) => {
            out.push(Op::push(*v, false)?);
            1
        }
        Formula::NegVar(v) => {
            out.push(Op::push(*v, true)?);
            1
        }
        Formula::Not(g) => {
            let d = compile(g, out)?;
            let last = out.last_mut()?;
            *last = last.negated();
            d
        }
        Formula::Bin(op, l, r) => {
            let dl = compile(l, out)?;
            let dr = compile(r, out)?;
            out.push(Op::bin(*op));
            dl.max(dr + 1)
        }
    })
}

/// Runs one formula's postfix code under the assignment `bits` (bit `v` =
/// variable `v`), without branches on the instructions. The stack is a
/// `u64` of bits (depth ≤ 64 checked by [`compile`]).
#[inline]
fn run(code: &[Op], bits: u64) -> bool {
    let mut stack = 0u64;
    for &Op(op) in code {
        let op = u64::from(op);
        let pushed = (stack << 1) | (((bits >> ((op >> 1) & 63)) ^ (op >> 7)) & 1);
        let combined = ((stack >> 2) << 1) | ((op >> (8 + (stack & 3))) & 1);
        stack = if op & 1 == 1 { combined } else { pushed };
    }
    stack & 1 == 1
}

impl PreparedPuzzle {
    /// Prepares a puzzle; `solution` is the ground truth's reference model,
    /// if it gives one (it is only used once checked).
    pub fn new((puzzle, satisfiable): (DeductionPuzzle, bool), solution: Option<&Value>) -> Self {
        let formula_texts = puzzle.formula_texts();
        let code = (puzzle.nvars() <= 64)
            .then(|| {
                let mut ops = Vec::new();
                let mut ends = Vec::with_capacity(puzzle.formulas.len());
                for f in &puzzle.formulas {
                    if compile(f, &mut ops)? > 64 {
                        return None;
                    }
                    ends.push(ops.len());
                }
                Some((ops, ends))
            })
            .flatten();
        let names_distinct = names_distinct(&puzzle.names);
        let mut prepared = Self {
            puzzle,
            satisfiable,
            formula_texts,
            code,
            names_distinct,
            model_bits: None,
        };
        let model = solution.and_then(Value::as_array).and_then(|vs| {
            (vs.len() == prepared.puzzle.nvars() && vs.len() <= 64).then_some(())?;
            vs.iter().enumerate().try_fold(0u64, |b, (i, v)| {
                v.as_bool().map(|v| b | (u64::from(v) << i))
            })
        });
        if let Some(bits) = model {
            let value = |v: Var| (bits >> v) & 1 == 1;
            if prepared.code.is_some() && prepared.first_falsified(&value, Some(bits)).is_none() {
                prepared.model_bits = Some(bits);
            }
        }
        prepared
    }

    /// The first formula that the assignment makes false, if any. `value`
    /// gives each variable's value; `bits` is the same assignment as a bit
    /// mask when the puzzle has at most 64 variables.
    pub fn first_falsified(
        &self,
        value: &impl Fn(Var) -> bool,
        bits: Option<u64>,
    ) -> Option<usize> {
        if bits.is_some() && bits == self.model_bits {
            return None;
        }
        if let (Some((ops, ends)), Some(bits)) = (&self.code, bits) {
            let mut start = 0;
            for (i, &end) in ends.iter().enumerate() {
                if !run(&ops[start..end], bits) {
                    return Some(i);
                }
                start = end;
            }
            return None;
        }
        self.puzzle.formulas.iter().position(|f| !f.eval(value))
    }

    /// Whether names can be matched by their expected position first (see
    /// [`parse_answer_into`]).
    pub fn names_distinct(&self) -> bool {
        self.names_distinct
    }
}

/// Slots of the puzzle cache (two-way set associative: a new puzzle
/// replaces the less recently used of its pair).
const SLOTS: usize = 4096;

/// One cached puzzle with the ground-truth texts it was read from.
struct Entry {
    key: u64,
    /// When it was last inserted or found (a per-thread tick).
    used: u64,
    /// The cache's generation when inserted: entries of older ones are
    /// void (see [`clear_puzzle_cache`]).
    generation: u64,
    formulas: Vec<String>,
    variables: Option<Vec<String>>,
    satisfiable: Option<bool>,
    value: std::rc::Rc<PreparedPuzzle>,
}

/// Per-thread cache of [`task_puzzle_cached`]: slots, the tick of its last
/// use, its generation.
type PuzzleCache = (Vec<Option<Entry>>, u64, u64);

thread_local! {
    static CACHE: std::cell::RefCell<PuzzleCache> = const { std::cell::RefCell::new((Vec::new(), 0, 0)) };
}

/// Voids every entry of this thread's cache of prepared puzzles, in O(1)
/// (benchmarks use it to time the first sight of a task).
pub fn clear_puzzle_cache() {
    CACHE.with(|c| {
        let mut c = c.borrow_mut();
        c.2 = c.2.wrapping_add(1);
    });
}

/// String equality without a `memcmp` call for short texts (variable
/// names are one to three bytes).
#[inline]
fn same_text(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    if a.len() <= 16 {
        if let (Some(a0), Some(b0), Some(a1), Some(b1)) = (
            a.first_chunk::<8>(),
            b.first_chunk::<8>(),
            a.last_chunk::<8>(),
            b.last_chunk::<8>(),
        ) {
            return a0 == b0 && a1 == b1;
        }
        return a.iter().zip(b).all(|(x, y)| x == y);
    }
    a == b
}

/// Like [`task_puzzle`], but remembers the puzzles last read on this
/// thread (a two-way set-associative table of 4,096 slots), so verifying
/// many responses to the same task parses its formulas once. Entries are
/// found by an Fx hash of the ground truth's formula and variable texts and `satisfiable` flag, and
/// then compared in full, so a hit is always the same puzzle.
pub fn task_puzzle_cached(
    task: &metaalign_core::Task,
) -> Result<std::rc::Rc<PreparedPuzzle>, String> {
    use std::hash::Hasher;
    use std::rc::Rc;

    use crate::common::FxHasher;
    let uncached = || {
        task_puzzle(task)
            .map(|x| Rc::new(PreparedPuzzle::new(x, task.ground_truth.get("solution"))))
    };
    let Some(gt) = task.ground_truth.as_object() else {
        return uncached();
    };
    // One pass over the keys (as `get` for each of the three would).
    let (mut formulas, mut variables, mut satisfiable) = (None, None, None);
    for (k, v) in gt {
        match k.as_str() {
            "formulas" => formulas = Some(v),
            "variables" => variables = Some(v),
            "satisfiable" => satisfiable = v.as_bool(),
            _ => {}
        }
    }
    let all_strings = |v: &[Value]| v.iter().all(Value::is_string);
    let Some(formulas) = formulas.and_then(Value::as_array) else {
        return uncached();
    };
    let variables = match variables {
        None => None,
        Some(Value::Array(v)) if all_strings(v) => Some(v),
        Some(_) => return uncached(),
    };
    if !all_strings(formulas) {
        return uncached();
    }
    fn owned(v: &[Value]) -> Vec<String> {
        v.iter()
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect()
    }
    // The key reads only a few bytes of each text (its length and its ends):
    // a hit is confirmed by comparing everything anyway.
    let mut h = FxHasher::default();
    let mut sketch = |t: &str| {
        let b = t.as_bytes();
        let (head, tail) = match (b.first_chunk::<8>(), b.last_chunk::<8>()) {
            (Some(h), Some(t)) => (u64::from_le_bytes(*h), u64::from_le_bytes(*t)),
            _ => (b.iter().fold(0u64, |w, &x| (w << 8) | u64::from(x)), 0),
        };
        h.write_usize(b.len());
        h.write_usize(head as usize);
        h.write_usize(tail as usize);
    };
    for f in formulas.iter().filter_map(Value::as_str) {
        sketch(f);
    }
    match variables {
        None => sketch("\u{0}none"),
        Some(vs) => {
            for v in vs.iter().filter_map(Value::as_str) {
                sketch(v);
            }
        }
    }
    h.write_u8(match satisfiable {
        None => 2,
        Some(b) => u8::from(b),
    });
    let key = h.finish();
    let same_texts = |a: &[String], b: &[Value]| {
        a.len() == b.len()
            && a.iter()
                .zip(b)
                .all(|(a, b)| b.as_str().is_some_and(|b| same_text(a, b)))
    };
    let same = |e: &Entry| {
        e.satisfiable == satisfiable
            && same_texts(&e.formulas, formulas)
            && match (&e.variables, variables) {
                (None, None) => true,
                (Some(a), Some(b)) => same_texts(a, b),
                _ => false,
            }
    };
    // Two-way set associative: a puzzle may sit in either slot of its pair;
    // a new one replaces the less recently used.
    let pair = ((key >> 40) as usize % SLOTS) & !1;
    let hit = CACHE.with(|c| {
        let mut c = c.borrow_mut();
        let tick = c.1.wrapping_add(1);
        c.1 = tick;
        let generation = c.2;
        for slot in [pair, pair + 1] {
            if let Some(e) = c.0.get_mut(slot).and_then(Option::as_mut) {
                if e.key == key && e.generation == generation && same(e) {
                    e.used = tick;
                    return Some(e.value.clone());
                }
            }
        }
        None
    });
    if let Some(hit) = hit {
        return Ok(hit);
    }
    let value = uncached()?;
    CACHE.with(|c| {
        let mut c = c.borrow_mut();
        if c.0.len() < SLOTS {
            c.0.resize_with(SLOTS, || None);
        }
        let generation = c.2;
        let used = |e: &Option<Entry>| {
            e.as_ref()
                .filter(|e| e.generation == generation)
                .map_or(0, |e| e.used)
        };
        let slot = if used(&c.0[pair]) <= used(&c.0[pair + 1]) {
            pair
        } else {
            pair + 1
        };
        let used = c.1;
        c.0[slot] = Some(Entry {
            key,
            used,
            generation,
            formulas: owned(formulas),
            variables: variables.map(|v| owned(v)),
            satisfiable,
            value: value.clone(),
        });
    });
    Ok(value)
}

fn puzzle_from_text(task: &metaalign_core::Task) -> Result<(DeductionPuzzle, bool), String> {
    let formulas = formulas_in_text(&task.puzzle);
    DeductionPuzzle::from_texts(&formulas, None)
        .map(|p| (p, true))
        .map_err(|e| {
            format!("no formulas in the ground truth, and the puzzle text gives none usable: {e}")
        })
}

/// What an answer claims.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Claim {
    /// A value for every variable, in the puzzle's order.
    Assignment(Vec<bool>),
    /// "No assignment satisfies all the formulas."
    NoAssignment,
}

/// Strips a list marker: `(3)`, `3.`, `3)`, `-`, `*`, `•`.
fn strip_marker(s: &str) -> &str {
    let s = s.trim_start();
    if let Some(rest) = s.strip_prefix('(') {
        if let Some(close) = rest.find(')') {
            if rest[..close].trim().bytes().all(|b| b.is_ascii_digit()) {
                return rest[close + 1..].trim_start();
            }
        }
        return s;
    }
    let digits = s.bytes().take_while(u8::is_ascii_digit).count();
    if digits > 0 {
        let rest = &s[digits..];
        if let Some(r) = rest.strip_prefix('.').or_else(|| rest.strip_prefix(')')) {
            return r.trim_start();
        }
        return s;
    }
    for m in ['-', '*', '•'] {
        if let Some(r) = s.strip_prefix(m) {
            return r.trim_start();
        }
    }
    s
}

/// Reads one `NAME is VALUE` item (also `NAME = VALUE`, `NAME: VALUE`).
fn parse_item(item: &str) -> Option<(&str, bool)> {
    if item.is_ascii() {
        return parse_item_ascii(item);
    }
    parse_item_str(item)
}

/// [`parse_item_str`] on ASCII text, byte by byte.
fn parse_item_ascii(item: &str) -> Option<(&str, bool)> {
    use crate::common::items;
    let (name, rest) = items::name_and_rest(item.as_bytes())?;
    let rest = match items::after_is(rest) {
        Some(after) => after,
        None if rest.get(..2).is_some_and(|w| w.eq_ignore_ascii_case(b"is")) => return None,
        None => rest
            .strip_prefix(b"=")
            .or_else(|| rest.strip_prefix(b":"))?,
    };
    let value = items::trim_end(items::trim_start(rest));
    let value = if value.eq_ignore_ascii_case(b"true") {
        true
    } else if value.eq_ignore_ascii_case(b"false") {
        false
    } else {
        return None;
    };
    Some((item.get(name)?, value))
}

fn parse_item_str(item: &str) -> Option<(&str, bool)> {
    let s = strip_marker(item).trim_end();
    let s = s.trim_end_matches(['.', ',', ';']).trim_end();
    let name_len = s
        .bytes()
        .take_while(|b| b.is_ascii_alphanumeric() || *b == b'_')
        .count();
    if name_len == 0 {
        return None;
    }
    let name = &s[..name_len];
    let rest = s[name_len..].trim_start();
    let rest = if rest.get(..2).is_some_and(|w| w.eq_ignore_ascii_case("is")) {
        let after = &rest[2..];
        if !after.starts_with(char::is_whitespace) {
            return None;
        }
        after
    } else {
        rest.strip_prefix('=').or_else(|| rest.strip_prefix(':'))?
    };
    let value = rest.trim();
    if value.eq_ignore_ascii_case("true") {
        Some((name, true))
    } else if value.eq_ignore_ascii_case("false") {
        Some((name, false))
    } else {
        None
    }
}

/// Whether an answer without any `X is True/False` item says the formulas
/// have no model ("no assignment", "unsatisfiable", ...).
fn claims_no_assignment(text: &str) -> bool {
    let lower = text.to_lowercase();
    [
        "no assignment",
        "unsatisfiable",
        "no satisfying",
        "no solution",
    ]
    .iter()
    .any(|p| lower.contains(p))
}

/// Parses an answer: one `(i) NAME is True|False` item per variable, one
/// per line (or separated by `,` / `;`), case-insensitive and tolerant of
/// spacing; other lines are ignored. Every variable must be assigned
/// exactly once, else the answer is unparseable (`Err` says why). An answer
/// with no assignment that says "no assignment" / "unsatisfiable" claims
/// the puzzle has no model.
pub fn parse_answer(text: &str, names: &[String]) -> Result<Claim, String> {
    let mut values: Vec<Option<bool>> = vec![None; names.len()];
    if parse_answer_into(text, names, &mut values)? {
        Ok(Claim::Assignment(
            values.into_iter().map(|v| v == Some(true)).collect(),
        ))
    } else {
        Ok(Claim::NoAssignment)
    }
}

/// [`parse_answer`] into a caller's buffer (`values.len() == names.len()`,
/// all `None`), so the verifier can parse without allocating: `Ok(true)`
/// when `values` then holds a full assignment, `Ok(false)` when the answer
/// claims there is none.
pub fn parse_answer_into(
    text: &str,
    names: &[String],
    values: &mut [Option<bool>],
) -> Result<bool, String> {
    parse_answer_hinted(text, names, values, false)
}

/// [`parse_answer_into`]; with `names_distinct` (no two names equal
/// ignoring ASCII case) each item is first matched against the variable
/// after the previous item's, as answers list them in order — the same
/// variable a scan from the start finds, since only one name matches.
pub fn parse_answer_hinted<S: AsRef<str>>(
    text: &str,
    names: &[S],
    values: &mut [Option<bool>],
    names_distinct: bool,
) -> Result<bool, String> {
    debug_assert_eq!(values.len(), names.len());
    let mut any = false;
    let mut expect = 0;
    // Items are the pieces between line breaks, `,` and `;` (the same
    // pieces as `text.lines()` split at `,`/`;`: a `\r` before a line
    // break is trimmed by `parse_item` anyway).
    let ascii = text.is_ascii();
    crate::common::items::for_each_item(text, |item| {
        // The canonical line of the variable expected next is read at once
        // (as `parse_item` would read it).
        let canonical = names_distinct
            .then(|| names.get(expect))
            .flatten()
            .and_then(|n| {
                crate::common::items::canonical_item(
                    item,
                    expect,
                    n.as_ref(),
                    &[("True", true), ("False", false)],
                )
                .map(|v| (n.as_ref(), v))
            });
        let parsed = if canonical.is_some() {
            canonical
        } else if ascii {
            parse_item_ascii(item)
        } else {
            parse_item(item)
        };
        let Some((name, value)) = parsed else {
            return Ok(());
        };
        let hinted = names_distinct
            && names
                .get(expect)
                .is_some_and(|n| n.as_ref().eq_ignore_ascii_case(name));
        let found = if hinted {
            Some(expect)
        } else {
            names
                .iter()
                .position(|n| n.as_ref().eq_ignore_ascii_case(name))
        };
        let Some(v) = found else {
            // A name shaped like a variable (`D`, `A1`) that the puzzle
            // lacks is a wrong answer format; other words ("This is
            // true") are prose and ignored.
            if var_index(&name.to_ascii_uppercase()).is_some() {
                return Err(format!("`{name}` is not a variable of this puzzle"));
            }
            return Ok(());
        };
        let Some(slot) = values.get_mut(v) else {
            return Ok(());
        };
        if slot.is_some() {
            return Err(format!("{} is assigned more than once", names[v].as_ref()));
        }
        *slot = Some(value);
        expect = v + 1;
        any = true;
        Ok(())
    })?;
    if !any {
        if claims_no_assignment(text) {
            return Ok(false);
        }
        return Err("no `(i) X is True/False` lines found".into());
    }
    if values.iter().any(Option::is_none) {
        let missing: Vec<&str> = names
            .iter()
            .zip(values.iter())
            .filter(|(_, v)| v.is_none())
            .map(|(n, _)| n.as_ref())
            .collect();
        return Err(format!("no value given for {}", missing.join(", ")));
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(n: usize) -> Vec<String> {
        (0..n).map(|v| var_name(v as Var)).collect()
    }

    #[test]
    fn answers_parse_tolerantly() {
        let n = names(3);
        let want = Claim::Assignment(vec![true, false, true]);
        for text in [
            "(1) A is True\n(2) B is False\n(3) C is True\n",
            "  (1)A   is   true\n(2) b IS false.\n 3. C is TRUE",
            "A is True, B is False, C is True",
            "Reasoning first.\n- A = true\n- B: false\n- C is true\nThis is true.",
        ] {
            assert_eq!(parse_answer(text, &n), Ok(want.clone()), "{text:?}");
        }
        assert!(parse_answer("(1) A is True\n(2) B is False", &n)
            .unwrap_err()
            .contains("no value given for C"));
        assert!(
            parse_answer("A is True\nA is False\nB is True\nC is True", &n)
                .unwrap_err()
                .contains("more than once")
        );
        assert!(
            parse_answer("A is True\nB is True\nC is True\nD is True", &n)
                .unwrap_err()
                .contains("not a variable")
        );
        assert!(parse_answer("", &n).is_err());
        // Multi-byte text right after a name (found by proptest).
        assert!(parse_answer("Aㄦ is True", &n).is_err());
        assert!(parse_answer("A is maybe", &n).is_err());
        assert_eq!(
            parse_answer("No assignment works.", &n),
            Ok(Claim::NoAssignment)
        );
    }

    /// The reference reading of an answer: `text.lines()` split at `,`/`;`
    /// and each name looked up from the first variable.
    fn naive_parse(text: &str, names: &[String]) -> Result<Claim, String> {
        let mut values: Vec<Option<bool>> = vec![None; names.len()];
        let mut any = false;
        for line in text.lines() {
            for item in line.split([',', ';']) {
                let Some((name, value)) = parse_item_str(item) else {
                    continue;
                };
                let Some(v) = names.iter().position(|n| n.eq_ignore_ascii_case(name)) else {
                    if var_index(&name.to_ascii_uppercase()).is_some() {
                        return Err(format!("`{name}` is not a variable of this puzzle"));
                    }
                    continue;
                };
                if values[v].is_some() {
                    return Err(format!("{} is assigned more than once", names[v]));
                }
                values[v] = Some(value);
                any = true;
            }
        }
        if !any {
            if claims_no_assignment(text) {
                return Ok(Claim::NoAssignment);
            }
            return Err("no `(i) X is True/False` lines found".into());
        }
        let missing: Vec<&str> = names
            .iter()
            .zip(&values)
            .filter(|(_, v)| v.is_none())
            .map(|(n, _)| n.as_str())
            .collect();
        if !missing.is_empty() {
            return Err(format!("no value given for {}", missing.join(", ")));
        }
        Ok(Claim::Assignment(
            values.into_iter().map(|v| v == Some(true)).collect(),
        ))
    }

    proptest::proptest! {
        /// The byte-scanning parser, hinted or not, reads every text as
        /// the reference reading does.
        #[test]
        fn fast_answer_parsing_matches_the_reference(
            parts in proptest::collection::vec(
                proptest::sample::select(vec![
                    "(1) ", "(2)", "3. ", "- ", "A", "b", "C", "D", "a", " is ", "IS", " = ", ":",
                    "True", "false", "TRUE", ".", ",", ";", "\n", "\r\n", " ", "\u{a0}", "é",
                    "no assignment", "x",
                ]),
                0..24,
            ),
            dup in proptest::bool::ANY,
        ) {
            let text: String = parts.concat();
            let mut names = names(3);
            if dup {
                names.push("a".into());
            }
            let want = naive_parse(&text, &names);
            proptest::prop_assert_eq!(parse_answer(&text, &names), want.clone());
            let distinct = !dup;
            let mut values = vec![None; names.len()];
            let got = parse_answer_hinted(&text, &names, &mut values, distinct).map(|full| {
                if full {
                    Claim::Assignment(values.iter().map(|v| *v == Some(true)).collect())
                } else {
                    Claim::NoAssignment
                }
            });
            proptest::prop_assert_eq!(got, want);
        }

        /// The byte-level item reader agrees with the `str` one on ASCII.
        #[test]
        fn ascii_items_read_as_str_items(item in "[ \t\r\x0b\x0c(]{0,2}[0-9 ]{0,2}[).*-]?[ ]{0,2}[A-Za-z_0-9]{0,3}[ \t]{0,2}(is|IS|i|=|:)?[ \t\x0b]{0,2}(True|false|TRUE|tru|x)?[ .,;\t]{0,3}") {
            proptest::prop_assert_eq!(parse_item_ascii(&item), parse_item_str(&item));
        }

        /// The compiled formulas (and the stored model's shortcut) find the
        /// same first false formula as the formula trees.
        #[test]
        fn compiled_formulas_match_the_trees(seed in 0u64..10_000, level in 1u32..=5, bits in 0u64..4096) {
            use rand::SeedableRng;
            let g = crate::deduction::DeductionGenerator::default();
            let mut rng = metaalign_core::seed::Rng::seed_from_u64(seed);
            let t = metaalign_core::TaskGenerator::generate(&g, metaalign_core::Level(level), 0, &mut rng).unwrap();
            let prepared = PreparedPuzzle::new(task_puzzle(&t).unwrap(), t.ground_truth.get("solution"));
            let n = prepared.puzzle.nvars();
            let bits = bits & ((1u64 << n) - 1);
            let value = |v: Var| (bits >> v) & 1 == 1;
            let want = prepared.puzzle.formulas.iter().position(|f| !f.eval(&value));
            proptest::prop_assert_eq!(prepared.first_falsified(&value, Some(bits)), want);
            proptest::prop_assert_eq!(prepared.first_falsified(&value, None), want);
            proptest::prop_assert!(prepared.model_bits.is_some());
        }
    }

    /// Canonical lines (read without the general reader) give what the
    /// general reader gives, whatever the variable names.
    #[test]
    fn canonical_lines_read_as_the_general_reader() {
        for list in [
            ["A", "B", "C"],
            ["x_1", "B-2", "é"],
            ["is", "1A", ""],
            ["A", "a", "B"],
        ] {
            let names: Vec<String> = list.iter().map(|s| s.to_string()).collect();
            let distinct = names
                .iter()
                .enumerate()
                .all(|(i, a)| names[..i].iter().all(|b| !a.eq_ignore_ascii_case(b)));
            for vals in [[true, false, true], [false, false, true]] {
                let text: String = names
                    .iter()
                    .zip(vals)
                    .enumerate()
                    .map(|(i, (n, v))| {
                        format!("({}) {n} is {}\n", i + 1, if v { "True" } else { "False" })
                    })
                    .collect();
                let mut values = vec![None; names.len()];
                let got = parse_answer_hinted(&text, &names, &mut values, distinct).map(|full| {
                    if full {
                        Claim::Assignment(values.iter().map(|v| *v == Some(true)).collect())
                    } else {
                        Claim::NoAssignment
                    }
                });
                assert_eq!(got, naive_parse(&text, &names), "{text:?}");
            }
        }
    }

    #[test]
    fn formulas_are_found_in_puzzle_texts() {
        let paper = "Below are some nested formulas:\n  - ¬(¬B)\n  - (A ∧ C)\nPlease list the truth value of each variable\n";
        assert_eq!(formulas_in_text(paper), ["¬(¬B)", "(A ∧ C)"]);
        let ours = "Variables: A, B\nFormulas:\n  1. (A ∨ B)\n  2. ¬A\n";
        assert_eq!(formulas_in_text(ours), ["(A ∨ B)", "¬A"]);
    }

    #[test]
    fn texts_round_trip_with_derived_names() {
        let texts = ["((¬C ⊕ ¬F) ↔ (E → ¬C))", "¬(¬B)", "(A ∧ D)"];
        let p = DeductionPuzzle::from_texts(&texts, None).unwrap();
        assert_eq!(p.names, names(6));
        assert_eq!(p.formula_texts(), texts);
        let gt = p.ground_truth(Some(&[true; 6]), false);
        let (q, sat) = DeductionPuzzle::from_ground_truth(&gt).unwrap();
        assert_eq!(q, p);
        assert!(sat);
        assert!(DeductionPuzzle::from_texts(&["(A ∧"], None).is_err());
        assert!(DeductionPuzzle::from_texts::<&str>(&[], None).is_err());
    }
}
