//! Equivalence of a predicted answer to a gold answer, following the
//! steps of Math-Verify's `sympy_expr_eq` in order:
//!
//! 1. non-strict mode renames the prediction's variables to the gold's;
//! 2. assignments (`x = 5`) and equations are unwrapped the way the gold
//!    is written (`x = 5` matches `5`; `2x + z = 1` does not match `1`);
//! 3. a gold relation meets a predicted set as its solution set
//!    (`x \le 3` accepts `(-\infty, 3]`; not the reverse);
//! 4. identical structures are equal;
//! 5. relations: same or flipped relation with equal `lhs - rhs`, or
//!    the same solutions;
//! 6. sets and tuples: intervals by ends, sets as sets of reals or
//!    element by element after sorting, tuples in order;
//! 7. a symbol only matches the same name (or the same letters
//!    multiplied: `\text{abc}` and `abc`);
//! 8. numbers: when one side is a decimal, both are rounded to
//!    `float_rounding` places; otherwise values must agree exactly (high
//!    precision evaluation); expressions with variables must agree at
//!    several pseudo-random points.
//!
//! Total and bounded: recursion depth and evaluation work are capped, and
//! a comparison that cannot be decided is "not equivalent" with a reason.

use std::cmp::Ordering;

use num_bigint::BigInt;
use num_traits::{Signed, Zero};

use super::expr::dd::{Cx, DD};
use super::expr::eval::{self, exact, splitmix, values_close, EvalErr, Val};
use super::expr::{plain_name, Const, Expr, Interval, Rel, Q};
use super::{CompareOptions, Judgement};

#[path = "value/sets.rs"]
mod sets;

/// Deepest nesting of comparisons (sets of tuples of ...).
const MAX_COMPARE_DEPTH: usize = 40;
/// Evaluation work (tree nodes visited) allowed for one comparison.
const WORK_BUDGET: usize = 3_000_000;
/// Points at which expressions with variables are compared.
const POINTS: u64 = 7;
/// Exact numbers above this many digits are compared approximately.
const MAX_DIGITS: u64 = 2_000;

/// Decides whether `pred` is equivalent to `gold`.
pub(crate) fn equivalent(gold: &Expr, pred: &Expr, opts: &CompareOptions) -> Judgement {
    let digits = opts.numeric_precision.clamp(1, 1000) as f64;
    let prec = ((digits + 1.0) * std::f64::consts::LOG2_10)
        .round()
        .max(1.0);
    let mut cx = Ctx {
        opts,
        work: 0,
        reason: String::new(),
        chop: (-(prec + 1.0)).exp2(),
    };
    match expr_eq(&mut cx, gold, pred, 0) {
        Ok(true) => Judgement {
            equal: true,
            reason: if cx.reason.is_empty() {
                "equivalent".to_string()
            } else {
                cx.reason
            },
        },
        Ok(false) => Judgement {
            equal: false,
            reason: if cx.reason.is_empty() {
                "not equivalent".to_string()
            } else {
                format!("not equivalent: {}", cx.reason)
            },
        },
        Err(m) => Judgement {
            equal: false,
            reason: format!("not equivalent: {m}"),
        },
    }
}

/// A comparison that raised (Math-Verify counts it as not equal).
type Cmp = Result<bool, String>;

struct Ctx<'a> {
    opts: &'a CompareOptions,
    work: usize,
    reason: String,
    /// `evalf(n, chop=True)` drops values below 2^-(prec + 1), prec the
    /// binary precision of `n` digits (2^-54 for 15 digits).
    chop: f64,
}

impl Ctx<'_> {
    fn note(&mut self, r: &str) {
        self.reason = r.to_string();
    }

    fn charge(&mut self, n: usize) -> Result<(), String> {
        self.work = self.work.saturating_add(n);
        if self.work > WORK_BUDGET {
            Err("comparison too expensive".into())
        } else {
            Ok(())
        }
    }
}

// ----- structure helpers ----------------------------------------------------

fn is_equation(e: &Expr) -> bool {
    match e {
        Expr::Rel(Rel::Eq, ..) => true,
        Expr::And(v) => !v.is_empty() && v.iter().all(|r| matches!(r, Expr::Rel(Rel::Eq, ..))),
        _ => false,
    }
}

fn is_assignment(e: &Expr) -> bool {
    match e {
        Expr::Rel(Rel::Eq, lhs, _) => lhs.is_only_symbols(),
        Expr::And(v) => {
            !v.is_empty()
                && v.iter().all(|r| matches!(r, Expr::Rel(Rel::Eq, ..)))
                && matches!(&v[0], Expr::Rel(_, lhs, _) if lhs.is_only_symbols())
        }
        _ => false,
    }
}

fn last_relation(e: &Expr) -> &Expr {
    match e {
        Expr::And(v) => v.last().map(last_relation).unwrap_or(e),
        _ => e,
    }
}

fn first_relation(e: &Expr) -> &Expr {
    match e {
        Expr::And(v) => v.first().unwrap_or(e),
        _ => e,
    }
}

fn rel_parts(e: &Expr) -> Option<(Rel, &Expr, &Expr)> {
    match e {
        Expr::Rel(r, a, b) => Some((*r, a, b)),
        _ => None,
    }
}

fn is_percent_of(e: &Expr, pred: &dyn Fn(&Expr) -> bool) -> bool {
    pred(e) || matches!(e, Expr::Percent(x) if pred(x))
}

fn is_float(e: &Expr) -> bool {
    matches!(e, Expr::Float(_))
}

fn is_tuple(e: &Expr) -> bool {
    matches!(e, Expr::Tuple(_))
}

fn is_finite_set(e: &Expr) -> bool {
    matches!(e, Expr::Set(_))
}

/// Elements of a tuple, or the distinct elements of a finite set.
fn elements(e: &Expr) -> Vec<&Expr> {
    match e {
        Expr::Set(v) => Expr::unique(v),
        Expr::Tuple(v) => v.iter().collect(),
        _ => Vec::new(),
    }
}

/// Elements as written (a finite set's list keeps duplicates).
fn written(e: &Expr) -> Vec<&Expr> {
    match e {
        Expr::Set(v) | Expr::Tuple(v) => v.iter().collect(),
        _ => Vec::new(),
    }
}

/// `lhs - rhs` with SymPy's automatic simplification of trivial cases.
fn difference(a: &Expr, b: &Expr) -> Expr {
    let zero = |e: &Expr| matches!(e, Expr::Int(n) if n.is_zero());
    if zero(b) {
        return a.clone();
    }
    if zero(a) {
        return b.clone().neg();
    }
    if let (Some(x), Some(y)) = (a.as_q(), b.as_q()) {
        return Expr::rational(x.sub(&y));
    }
    Expr::Add(vec![a.clone(), b.clone().neg()])
}

// ----- the comparison ---------------------------------------------------------

fn expr_eq(cx: &mut Ctx, gold: &Expr, pred: &Expr, depth: usize) -> Cmp {
    if depth > MAX_COMPARE_DEPTH {
        return Err("answers nested too deeply".into());
    }
    cx.charge(gold.size() + pred.size())?;
    let mut gold = gold.clone();
    let mut pred = pred.clone();

    // 1. non-strict: the prediction's variables become the gold's
    if !cx.opts.strict {
        let gs = gold.free_symbols();
        let ps = pred.free_symbols();
        if gs.len() == ps.len() && gs != ps {
            let map: Vec<(String, Expr)> = ps
                .into_iter()
                .zip(gs)
                .map(|(p, g)| (p, Expr::Sym(g)))
                .collect();
            pred = pred.subs(&map);
        }
    }

    // 2. assignments and equations
    let gold_assign = is_assignment(&gold);
    let pred_assign = is_assignment(&pred);
    let gold_eq = is_equation(&gold);
    let pred_eq = is_equation(&pred);
    if gold_assign {
        gold = truncate_chain(&gold);
    }
    if pred_assign {
        pred = truncate_chain(&pred);
    }
    if pred_eq && !gold_eq {
        if let Some((_, _, rhs)) = rel_parts(last_relation(&pred)) {
            pred = rhs.clone();
        }
    } else if gold_assign && !pred_eq {
        if let Some((_, _, rhs)) = rel_parts(last_relation(&gold)) {
            gold = rhs.clone();
        }
    }

    // 3. a gold relation against a predicted set: compare solution sets
    if gold.is_relation() && pred.is_set() {
        if let Some(s) = sets::relation_as_set(&unwrap_functions(&gold)) {
            gold = s;
        }
    }

    if cx.opts.allow_set_relation_comp && pred.is_relation() && gold.is_set() {
        if let Some(s) = sets::relation_as_set(&unwrap_functions(&pred)) {
            pred = s;
        }
    }

    // 4. identical structure
    if matches!(gold, Expr::Const(Const::NaN | Const::ComplexInf)) {
        return Err("the gold answer is undefined".into());
    }
    if gold.same(&pred) {
        cx.note("same expression");
        return Ok(true);
    }

    if gold.is_relation() && pred.is_relation() {
        return compare_relations(cx, &gold, &pred, depth);
    }
    if gold.is_set() || is_tuple(&gold) || pred.is_set() || is_tuple(&pred) {
        return compare_sets(cx, &gold, &pred, depth);
    }
    if matches!(gold, Expr::Sym(_)) || matches!(pred, Expr::Sym(_)) {
        let r = compare_symbols(&gold, &pred);
        cx.note(if r { "same name" } else { "different symbols" });
        return Ok(r);
    }
    if numeric_eq(cx, &gold, &pred)? {
        return Ok(true);
    }
    symbolic_eq(cx, &gold, &pred)
}

/// Math-Verify's `unwrap_fcs`: `f(x)` becomes the symbol `f_x`.
fn unwrap_functions(e: &Expr) -> Expr {
    fn go(e: &Expr, depth: usize) -> Expr {
        if depth > MAX_COMPARE_DEPTH * 4 {
            return e.clone();
        }
        match e {
            Expr::Undef(name, args) => {
                let parts: Vec<String> =
                    args.iter().map(|a| go(a, depth + 1).to_string()).collect();
                Expr::Sym(format!("{}_{}", name, parts.join("_")))
            }
            Expr::Rel(r, a, b) => Expr::rel(*r, go(a, depth + 1), go(b, depth + 1)),
            Expr::And(v) => Expr::And(v.iter().map(|x| go(x, depth + 1)).collect()),
            Expr::Add(v) => Expr::Add(v.iter().map(|x| go(x, depth + 1)).collect()),
            Expr::Mul(v) => Expr::Mul(v.iter().map(|x| go(x, depth + 1)).collect()),
            Expr::Pow(a, b) => Expr::pow(go(a, depth + 1), go(b, depth + 1)),
            Expr::Func(f, v) => Expr::Func(*f, v.iter().map(|x| go(x, depth + 1)).collect()),
            other => other.clone(),
        }
    }
    go(e, 0)
}

/// `Eq(first.lhs, last.rhs)` of an assignment chain.
fn truncate_chain(e: &Expr) -> Expr {
    match (rel_parts(first_relation(e)), rel_parts(last_relation(e))) {
        (Some((_, lhs, _)), Some((_, _, rhs))) => Expr::rel(Rel::Eq, lhs.clone(), rhs.clone()),
        _ => e.clone(),
    }
}

fn compare_relations(cx: &mut Ctx, gold: &Expr, pred: &Expr, depth: usize) -> Cmp {
    if let (Expr::And(g), Expr::And(p)) = (gold, pred) {
        if g.len() != p.len() {
            return Err("relation chains of different lengths".into());
        }
        for (a, b) in g.iter().zip(p) {
            if !compare_relations(cx, a, b, depth + 1)? {
                return Ok(false);
            }
        }
        cx.note("same relations");
        return Ok(true);
    }
    let (Some((gr, gl, grh)), Some((pr, pl, prh))) = (rel_parts(gold), rel_parts(pred)) else {
        cx.note("a chain of relations against a single relation");
        return Ok(false);
    };
    let scalar = |e: &Expr| !e.is_set() && !is_tuple(e) && !matches!(e, Expr::Matrix(_));
    let all_scalar = scalar(gl) && scalar(grh) && scalar(pl) && scalar(prh);
    if all_scalar && gr == pr {
        let dg = difference(gl, grh);
        let dp = difference(pl, prh);
        if let Ok(true) = expr_eq(cx, &dg, &dp, depth + 1) {
            cx.note("same relation");
            return Ok(true);
        }
    }
    let Some(flipped) = gr.reversed() else {
        // Math-Verify has no reversed form of `!=` and gives up here
        cx.note("different inequations");
        return Ok(false);
    };
    if all_scalar && flipped == pr {
        let dg = difference(gl, grh);
        let dp = difference(prh, pl);
        if let Ok(true) = expr_eq(cx, &dg, &dp, depth + 1) {
            cx.note("same relation, written the other way round");
            return Ok(true);
        }
    }
    if all_scalar && same_solutions(cx, gold, pred)? {
        cx.note("same solutions");
        return Ok(true);
    }
    cx.note("different relations");
    Ok(false)
}

/// Math-Verify's `solve` step. It only succeeds for equations in several
/// variables (solved for one of them: equations with proportional sides
/// agree), and, by accident, for one-variable equations that both have no
/// real solution; inequalities never get past it.
fn same_solutions(cx: &mut Ctx, gold: &Expr, pred: &Expr) -> Cmp {
    let (Some((Rel::Eq, gl, grh)), Some((Rel::Eq, pl, prh))) = (rel_parts(gold), rel_parts(pred))
    else {
        return Ok(false);
    };
    let gs = gold.free_symbols();
    let ps = pred.free_symbols();
    if gs.is_empty() || gs != ps {
        return Ok(false);
    }
    if gs.len() == 1 {
        let none = |e: &Expr| {
            matches!(
                sets::relation_as_set(e),
                Some(Expr::SetKind(super::expr::SetKind::Empty))
            )
        };
        return Ok(none(gold) && none(pred));
    }
    let dg = difference(gl, grh);
    let dp = difference(pl, prh);
    proportional(cx, &dg, &dp, &gs)
}

/// Whether `a / b` is a non-zero constant at every sample point.
fn proportional(cx: &mut Ctx, a: &Expr, b: &Expr, syms: &[String]) -> Cmp {
    let mut ratio: Option<Val> = None;
    let mut valid = 0;
    for k in 0..POINTS {
        cx.charge(a.size() + b.size())?;
        let env = sample_env(syms, k);
        let (Ok(x), Ok(y)) = (eval::eval(a, &env), eval::eval(b, &env)) else {
            continue;
        };
        if !x.is_finite() || !y.is_finite() || y.mag() == 0.0 {
            continue;
        }
        let r = x.v.div(y.v);
        let rm = r.abs_f64();
        let err = rm * (x.err / x.mag().max(1e-300) + y.err / y.mag()) + 1e-300;
        let rv = Val { v: r, err };
        if rm == 0.0 {
            return Ok(false);
        }
        match &ratio {
            None => ratio = Some(rv),
            Some(r0) => {
                if !values_close(r0, &rv) {
                    return Ok(false);
                }
            }
        }
        valid += 1;
    }
    Ok(valid >= 3)
}

fn interval_of(e: &Expr) -> Option<&Interval> {
    match e {
        Expr::Interval(i) => Some(i),
        _ => None,
    }
}

fn compare_sets(cx: &mut Ctx, gold: &Expr, pred: &Expr, depth: usize) -> Cmp {
    let wrap = |e: &Expr| -> Expr {
        if e.is_set() || is_tuple(e) {
            e.clone()
        } else {
            Expr::Set(vec![e.clone()])
        }
    };
    let a = wrap(gold);
    let b = wrap(pred);
    if let (Some(x), Some(y)) = (interval_of(&a), interval_of(&b)) {
        let r = x.lo_open == y.lo_open
            && x.hi_open == y.hi_open
            && expr_eq(cx, &x.lo, &y.lo, depth + 1)?
            && expr_eq(cx, &x.hi, &y.hi, depth + 1)?;
        cx.note(if r {
            "same interval"
        } else {
            "different intervals"
        });
        return Ok(r);
    }
    if a.same(&b) {
        cx.note("same set");
        return Ok(true);
    }
    if a.is_set() && b.is_set() && sets::real_sets_equal(&a, &b) == Some(true) {
        cx.note("same set of numbers");
        return Ok(true);
    }
    let listy = |e: &Expr| is_finite_set(e) || is_tuple(e);
    if listy(&a) && listy(&b) {
        return deep_compare(cx, &a, &b, depth);
    }
    if let (Some(i), true) = (interval_of(&a), listy(&b)) {
        if i.lo_open && i.hi_open && elements(&b).len() == 2 {
            let t = Expr::Tuple(vec![i.lo.clone(), i.hi.clone()]);
            return deep_compare(cx, &t, &b, depth);
        }
    }
    if let (Some(i), true) = (interval_of(&b), listy(&a)) {
        if i.lo_open && i.hi_open && elements(&a).len() == 2 {
            let t = Expr::Tuple(vec![i.lo.clone(), i.hi.clone()]);
            return deep_compare(cx, &a, &t, depth);
        }
    }
    cx.note("different sets");
    Ok(false)
}

/// Element-wise comparison: sets are sorted by value first, tuples keep
/// their order (a predicted set against a gold tuple keeps its written
/// order).
fn deep_compare(cx: &mut Ctx, gold: &Expr, pred: &Expr, depth: usize) -> Cmp {
    let g = elements(gold);
    let p = elements(pred);
    if g.len() != p.len() {
        cx.note("different number of elements");
        return Ok(false);
    }
    let (ga, pa): (Vec<&Expr>, Vec<&Expr>) = if is_finite_set(gold) {
        (sorted(cx, &g)?, sorted(cx, &p)?)
    } else if is_finite_set(pred) {
        // a gold tuple takes the predicted set in its written order
        let w = written(pred);
        if w.len() != g.len() {
            return Err("a repeated element in the predicted set".into());
        }
        (g, w)
    } else {
        (g, p)
    };
    for (x, y) in ga.iter().zip(&pa) {
        if !expr_eq(cx, x, y, depth + 1)? {
            cx.note("elements differ");
            return Ok(false);
        }
    }
    cx.note(if is_finite_set(gold) {
        "same elements"
    } else {
        "same entries in order"
    });
    Ok(true)
}

/// Sort key: numbers by value, other expressions by their value at a fixed
/// point, tuples and intervals by their entries, the rest by their text.
#[derive(Clone, Debug)]
enum Key {
    Num(f64, f64),
    Seq(u8, Vec<Key>),
    Text(String),
}

fn key_cmp(a: &Key, b: &Key) -> Ordering {
    match (a, b) {
        (Key::Num(x, y), Key::Num(u, v)) => x.total_cmp(u).then(y.total_cmp(v)),
        (Key::Num(..), _) => Ordering::Less,
        (_, Key::Num(..)) => Ordering::Greater,
        (Key::Seq(r, x), Key::Seq(s, y)) => r.cmp(s).then_with(|| {
            for (p, q) in x.iter().zip(y) {
                let c = key_cmp(p, q);
                if c != Ordering::Equal {
                    return c;
                }
            }
            x.len().cmp(&y.len())
        }),
        (Key::Seq(..), _) => Ordering::Less,
        (_, Key::Seq(..)) => Ordering::Greater,
        (Key::Text(x), Key::Text(y)) => x.cmp(y),
    }
}

fn sort_key(cx: &mut Ctx, e: &Expr, depth: usize) -> Result<Key, String> {
    cx.charge(e.size())?;
    if depth > MAX_COMPARE_DEPTH {
        return Err("answers nested too deeply".into());
    }
    // assignments sort by their value
    let e = if is_assignment(e) {
        match rel_parts(last_relation(e)) {
            Some((_, _, rhs)) => rhs,
            None => e,
        }
    } else {
        e
    };
    match e {
        Expr::Tuple(v) => {
            let ks: Result<Vec<Key>, String> =
                v.iter().map(|x| sort_key(cx, x, depth + 1)).collect();
            return Ok(Key::Seq(0, ks?));
        }
        Expr::Interval(i) => {
            let ks = vec![
                sort_key(cx, &i.lo, depth + 1)?,
                sort_key(cx, &i.hi, depth + 1)?,
            ];
            return Ok(Key::Seq(1, ks));
        }
        _ => {}
    }
    let syms = e.free_symbols();
    let env = sample_env(&syms, 0);
    match eval::eval(e, &env) {
        Ok(v) if !v.v.re.hi.is_nan() && !v.v.im.hi.is_nan() => {
            let re = v.v.re.to_f64();
            let im = v.v.im.to_f64();
            // round away noise so that equal values tie
            Ok(Key::Num(round_key(re), round_key(im)))
        }
        _ => Ok(Key::Text(e.to_string())),
    }
}

fn round_key(x: f64) -> f64 {
    if !x.is_finite() || x == 0.0 {
        return x;
    }
    let m = x.abs().log10().floor() as i32;
    let p = 10f64.powi(9 - m);
    if !p.is_finite() || p == 0.0 {
        return x;
    }
    (x * p).round() / p
}

fn sorted<'e>(cx: &mut Ctx, v: &[&'e Expr]) -> Result<Vec<&'e Expr>, String> {
    let mut keyed: Vec<(Key, &Expr)> = Vec::with_capacity(v.len());
    for &e in v {
        keyed.push((sort_key(cx, e, 0)?, e));
    }
    keyed.sort_by(|a, b| key_cmp(&a.0, &b.0));
    Ok(keyed.into_iter().map(|(_, e)| e).collect())
}

/// Symbols against symbols or products of letters (`\text{abc}` = `abc`),
/// and the letter `e` against Euler's number.
fn compare_symbols(gold: &Expr, pred: &Expr) -> bool {
    let is_e_name = |e: &Expr| matches!(e, Expr::Sym(s) if plain_name(s).to_lowercase() == "e");
    let is_euler = |e: &Expr| matches!(e, Expr::Const(Const::E));
    if (is_e_name(gold) && is_euler(pred)) || (is_e_name(pred) && is_euler(gold)) {
        return true;
    }
    let letters = |v: &[Expr]| -> Option<String> {
        let mut s = String::new();
        for a in v {
            match a {
                Expr::Sym(n) => s.push_str(plain_name(n)),
                Expr::Const(Const::E) => s.push('e'),
                _ => return None,
            }
        }
        Some(s)
    };
    if let (Expr::Sym(g), Expr::Mul(v)) = (gold, pred) {
        if let Some(s) = letters(v) {
            return plain_name(g).to_lowercase() == s.to_lowercase();
        }
    }
    if let (Expr::Sym(p), Expr::Mul(v)) = (pred, gold) {
        if let Some(s) = letters(v) {
            return plain_name(p).to_lowercase() == s.to_lowercase();
        }
    }
    if let (Expr::Sym(g), Expr::Sym(p)) = (gold, pred) {
        let norm = |s: &str| {
            let s = plain_name(s);
            if s.chars().count() > 1 {
                s.to_lowercase()
            } else {
                s.to_string()
            }
        };
        return norm(g) == norm(p);
    }
    gold.to_string() == pred.to_string()
}

// ----- numbers -----------------------------------------------------------------

fn is_number_or_pct(e: &Expr) -> bool {
    is_percent_of(e, &|x| x.is_number_atom())
}

fn is_float_or_pct(e: &Expr) -> bool {
    is_percent_of(e, &is_float)
}

fn is_int_or_pct(e: &Expr) -> bool {
    is_percent_of(e, &Expr::is_int)
}

/// Math-Verify's numeric step.
fn numeric_eq(cx: &mut Ctx, a: &Expr, b: &Expr) -> Cmp {
    if let (Expr::Matrix(x), Expr::Matrix(y)) = (a, b) {
        if x.rows != y.rows || x.cols != y.cols {
            cx.note("matrices of different shapes");
            return Ok(false);
        }
        for (p, q) in x.data.iter().zip(&y.data) {
            if !(numeric_eq(cx, p, q)? || symbolic_eq(cx, p, q)?) {
                cx.note("matrix entries differ");
                return Ok(false);
            }
        }
        cx.note("same matrix entries");
        return Ok(true);
    }
    if matches!(a, Expr::Matrix(_)) || matches!(b, Expr::Matrix(_)) {
        return Ok(false);
    }
    if is_number_or_pct(a) || is_number_or_pct(b) {
        if is_float_or_pct(a) || is_float_or_pct(b) {
            let fr = cx.opts.float_rounding;
            let (Some(ra), Some(rb)) = (rounded(cx, a, fr)?, rounded(cx, b, fr)?) else {
                return Ok(false);
            };
            let r = ra == rb;
            if r {
                cx.note(&format!("equal after rounding to {fr} decimal places"));
            }
            return Ok(r);
        }
        if is_int_or_pct(a) && is_int_or_pct(b) {
            let unwrap = |e: &Expr| -> Option<BigInt> {
                match e {
                    Expr::Int(n) => Some(n.clone()),
                    Expr::Percent(x) => match &**x {
                        Expr::Int(n) => Some(n.clone()),
                        _ => None,
                    },
                    _ => None,
                }
            };
            let r = unwrap(a) == unwrap(b);
            if r {
                cx.note("same integer (a percentage counts as its number)");
            }
            return Ok(r);
        }
        // doit(a) == doit(b): infinities equal themselves
        return values_equal(cx, a, b, false, true);
    }
    // (a - b).evalf(15, chop=True) == 0
    values_equal(cx, a, b, true, false)
}

/// Rounded value of a number as SymPy's `round(n)` gives it: the value at
/// 15 significant digits rounded half to even; integers stay integers
/// (and never equal a rounded float).
#[derive(Debug, PartialEq)]
enum Rounded {
    Int(BigInt),
    Dec(BigInt, BigInt, u32),
    Inf(i8),
}

fn rounded(cx: &mut Ctx, e: &Expr, places: u32) -> Result<Option<Rounded>, String> {
    cx.charge(e.size())?;
    if !e.free_symbols().is_empty()
        || e.any(&|x| {
            x.is_relation() || x.is_set() || matches!(x, Expr::Matrix(_) | Expr::Tuple(_))
        })
    {
        return Ok(None);
    }
    let integer_typed = eval::is_integer_valued_exact(e, MAX_DIGITS);
    if let Some(q) = exact(e, MAX_DIGITS) {
        if integer_typed && q.is_integer() {
            return Ok(Some(Rounded::Int(q.numer().clone())));
        }
        let dps = if e.has_float() {
            15
        } else {
            15.max(mag10_q(&q) + places as i64)
        };
        return Ok(round_q(&q, places, dps).map(|(re, n)| Rounded::Dec(re, n, places)));
    }
    let Ok(v) = eval::eval(e, &[]) else {
        return Ok(None);
    };
    if !v.v.is_finite() {
        if v.v.is_real() && v.v.re.hi.is_infinite() {
            return Ok(Some(Rounded::Inf(if v.v.re.hi > 0.0 { 1 } else { -1 })));
        }
        return Ok(None);
    }
    if integer_typed {
        let r = v.v.re.round_f64();
        return Ok(Some(Rounded::Int(BigInt::from(r as i64))));
    }
    let re = round_dd(v.v.re, places, e.has_float());
    let im = if v.v.is_real() {
        Some(BigInt::zero())
    } else {
        round_dd(v.v.im, places, e.has_float())
    };
    match (re, im) {
        (Some(r), Some(i)) => Ok(Some(Rounded::Dec(r, i, places))),
        _ => Ok(None),
    }
}

/// floor(log10 |q|) + 1 (SymPy's `_mag`).
fn mag10_q(q: &Q) -> i64 {
    if q.is_zero() {
        return 0;
    }
    let v = q.abs().to_dd().to_f64();
    if v.is_finite() && v > 0.0 {
        v.log10().floor() as i64 + 1
    } else {
        (q.numer().abs().to_string().len() as i64) - (q.denom().to_string().len() as i64) + 1
    }
}

/// Rounds `x` (real) to `places` decimals after first rounding it to `dps`
/// significant digits, half to even; returns the scaled integer
/// (value * 10^places) and a zero imaginary part.
fn round_q(q: &Q, places: u32, dps: i64) -> Option<(BigInt, BigInt)> {
    let mag = mag10_q(q);
    // scale to dps significant digits
    let shift = dps - mag;
    if shift.unsigned_abs() > 4000 {
        return None;
    }
    let scaled = q.mul(&pow10(shift)?);
    let n = round_half_even(&scaled);
    // now n * 10^-shift; round to `places` decimals
    let drop = shift - places as i64;
    let r = if drop > 0 {
        let d = pow10(drop)?;
        round_half_even(&Q::int(n).div(&d)?)
    } else {
        let m = pow10(-drop)?;
        Q::int(n).mul(&m).numer().clone()
    };
    Some((r, BigInt::zero()))
}

fn round_dd(x: DD, places: u32, has_float: bool) -> Option<BigInt> {
    if x.hi == 0.0 {
        return Some(BigInt::zero());
    }
    let mag = x.abs().to_f64().log10().floor() as i64 + 1;
    let dps = if has_float {
        15
    } else {
        15.max(mag + places as i64)
    };
    let shift = dps - mag;
    if !(-300..=300).contains(&shift) || dps > 30 {
        // beyond double-double digits: round the f64 value
        let p = 10f64.powi(places as i32);
        let v = (x.to_f64() * p).round_ties_even();
        return if v.is_finite() && v.abs() < 9e15 {
            Some(BigInt::from(v as i64))
        } else {
            None
        };
    }
    let scaled = x.mul(pow10_dd(shift));
    let n = scaled.round_f64();
    if !n.is_finite() || n.abs() > 1e30 {
        return None;
    }
    // n has at most ~17 digits; continue exactly
    let nq = Q::int(BigInt::from(n as i128));
    let drop = shift - places as i64;
    if drop > 0 {
        Some(round_half_even(&nq.div(&pow10(drop)?)?))
    } else {
        Some(nq.mul(&pow10(-drop)?).numer().clone())
    }
}

fn pow10(e: i64) -> Option<Q> {
    Q::from_i64(10).pow(e, 10_000)
}

fn pow10_dd(e: i64) -> DD {
    let mut acc = DD::ONE;
    let ten = DD::new(10.0);
    let mut k = e.unsigned_abs();
    let mut base = if e < 0 { DD::ONE.div(ten) } else { ten };
    while k > 0 {
        if k & 1 == 1 {
            acc = acc.mul(base);
        }
        base = base.mul(base);
        k >>= 1;
    }
    acc
}

fn round_half_even(q: &Q) -> BigInt {
    let fl = q.floor();
    let frac = q.sub(&Q::int(fl.clone()));
    let half = Q::new(BigInt::from(1), BigInt::from(2)).unwrap_or_else(Q::zero);
    match frac.cmp(&half) {
        Ordering::Less => fl,
        Ordering::Greater => fl + 1,
        Ordering::Equal => {
            if (&fl % 2u32).is_zero() {
                fl
            } else {
                fl + 1
            }
        }
    }
}

/// Exact or high-precision equality of two scalar values. `chop` adds
/// Math-Verify's `evalf(chop=True)` rule: constant differences below about
/// 2^-54 in absolute value count as zero. `inf_ok`: equal infinities are
/// equal (SymPy's `==`, not a difference).
fn values_equal(cx: &mut Ctx, a: &Expr, b: &Expr, chop: bool, inf_ok: bool) -> Cmp {
    let non_scalar = |e: &Expr| {
        e.is_relation()
            || e.is_set()
            || matches!(
                e,
                Expr::Tuple(_) | Expr::Matrix(_) | Expr::Not(_) | Expr::And(_)
            )
    };
    if non_scalar(a) || non_scalar(b) {
        return Ok(false);
    }
    if !a.free_symbols().is_empty() || !b.free_symbols().is_empty() {
        return Ok(false);
    }
    cx.charge(a.size() + b.size())?;
    let (fa, fb) = (a.has_float(), b.has_float());
    if fa || fb {
        // SymPy computes with decimals as 53-bit binary floats
        if !chop && inf_ok && fa != fb {
            // doit(a) == doit(b): a Float never equals an exact number
            return Ok(false);
        }
        let (Ok(va), Ok(vb)) = (eval::eval_binary(a, &[]), eval::eval_binary(b, &[])) else {
            return Ok(false);
        };
        if !va.is_finite() || !vb.is_finite() {
            return Ok(inf_ok && values_close(&va, &vb));
        }
        if chop && va.v.sub(vb.v).abs_f64() < cx.chop {
            cx.note("values differ by less than 2^-54");
            return Ok(true);
        }
        let f64s = |v: &Val| (v.v.re.to_f64(), v.v.im.to_f64());
        let r = f64s(&va) == f64s(&vb);
        if r {
            cx.note("same value in double precision");
        }
        return Ok(r);
    }
    if let (Some(x), Some(y)) = (exact(a, MAX_DIGITS), exact(b, MAX_DIGITS)) {
        let r = x == y;
        if r {
            cx.note("same value");
        } else if chop {
            let d = x.sub(&y).abs();
            if d.to_dd().to_f64() < cx.chop {
                cx.note("values differ by less than 2^-54");
                return Ok(true);
            }
        }
        return Ok(r);
    }
    let (va, vb) = match (eval::eval(a, &[]), eval::eval(b, &[])) {
        (Ok(x), Ok(y)) => (x, y),
        _ => return Ok(false),
    };
    if !inf_ok && (!va.is_finite() || !vb.is_finite()) {
        // oo - oo is undefined
        return Ok(false);
    }
    if values_close(&va, &vb) {
        cx.note("same value (checked to 30 digits)");
        return Ok(true);
    }
    if chop && va.is_finite() && vb.is_finite() && va.v.sub(vb.v).abs_f64() < cx.chop {
        cx.note("values differ by less than 2^-54");
        return Ok(true);
    }
    Ok(false)
}

/// Math-Verify's symbolic step (`simplify(a - b) == 0`): for constants,
/// exact or high-precision equality; with variables, equality at several
/// pseudo-random points.
fn symbolic_eq(cx: &mut Ctx, a: &Expr, b: &Expr) -> Cmp {
    if let (Expr::Matrix(x), Expr::Matrix(y)) = (a, b) {
        if x.rows != y.rows || x.cols != y.cols {
            return Ok(false);
        }
        for (p, q) in x.data.iter().zip(&y.data) {
            if !symbolic_eq(cx, p, q)? {
                return Ok(false);
            }
        }
        return Ok(true);
    }
    let non_scalar = |e: &Expr| {
        e.is_relation()
            || e.is_set()
            || matches!(
                e,
                Expr::Tuple(_) | Expr::Matrix(_) | Expr::Not(_) | Expr::And(_)
            )
    };
    if non_scalar(a) || non_scalar(b) {
        return Ok(false);
    }
    let mut syms = a.free_symbols();
    syms.extend(b.free_symbols());
    syms.sort();
    syms.dedup();
    if syms.is_empty() {
        let r = values_equal(cx, a, b, false, false)?;
        if !r {
            cx.note("different values");
        }
        return Ok(r);
    }
    // SymPy keeps `x^{2.0}` apart from `x^2`
    if float_power(a) != float_power(b) {
        cx.note("a decimal exponent on a variable");
        return Ok(false);
    }
    let mut valid = 0;
    for k in 0..POINTS {
        cx.charge(a.size() + b.size())?;
        let env = sample_env(&syms, k);
        let (x, y) = match (eval::eval(a, &env), eval::eval(b, &env)) {
            (Ok(x), Ok(y)) => (x, y),
            (Err(EvalErr::NotScalar), _) | (_, Err(EvalErr::NotScalar)) => return Ok(false),
            _ => continue,
        };
        if !x.is_finite() || !y.is_finite() {
            continue;
        }
        if !values_close(&x, &y) {
            cx.note("expressions differ");
            return Ok(false);
        }
        valid += 1;
    }
    let r = valid >= 3;
    cx.note(if r {
        "same expression values at sample points"
    } else {
        "expressions could not be evaluated"
    });
    Ok(r)
}

/// Whether a power of an expression with variables has a decimal exponent.
fn float_power(e: &Expr) -> bool {
    e.any(&|x| matches!(x, Expr::Pow(b, p) if p.has_float() && !b.free_symbols().is_empty()))
}

/// Values of the symbols at sample point `k` (deterministic; mixed signs,
/// magnitudes between 0.3 and 2.7, away from small integers).
fn sample_env(syms: &[String], k: u64) -> Vec<(String, Cx)> {
    syms.iter()
        .map(|s| {
            let mut h: u64 = 0x51_7cc1_b727_220a ^ k.wrapping_mul(0x9e37_79b9);
            for b in s.bytes() {
                h = splitmix(h ^ b as u64);
            }
            let u = (splitmix(h) >> 11) as f64 / (1u64 << 53) as f64;
            let mut v = 0.3 + 2.4 * u;
            // avoid values too close to integers and halves
            let frac = (v * 2.0).fract();
            if !(0.1..=0.9).contains(&frac) {
                v += 0.17;
            }
            let negative = k >= 2 && (splitmix(h ^ 0xabcd) & 1) == 1;
            let v = if negative { -v } else { v };
            (s.clone(), Cx::real(DD::new(v)))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::super::expr::Limits;
    use super::super::latex::parse;
    use super::*;

    fn opts(strict: bool) -> CompareOptions {
        CompareOptions {
            strict,
            ..CompareOptions::default()
        }
    }

    fn check(gold: &str, pred: &str, strict: bool) -> Judgement {
        let l = Limits::default();
        let g = parse(gold, &l).unwrap_or_else(|e| panic!("gold `{gold}`: {e}"));
        let p = parse(pred, &l).unwrap_or_else(|e| panic!("pred `{pred}`: {e}"));
        equivalent(&g, &p, &opts(strict))
    }

    fn yes(gold: &str, pred: &str) {
        let j = check(gold, pred, true);
        assert!(
            j.equal,
            "`{gold}` vs `{pred}` should be equal: {}",
            j.reason
        );
    }

    fn no(gold: &str, pred: &str) {
        let j = check(gold, pred, true);
        assert!(!j.equal, "`{gold}` vs `{pred}` should differ: {}", j.reason);
    }

    #[test]
    fn numbers() {
        yes("\\frac{1}{2}", "0.5");
        yes("0.5", "\\frac{1}{2}");
        yes("\\frac{1}{3}", "0.333333");
        yes("\\frac{1}{3}", "0.3333333");
        no("\\frac{1}{3}", "0.33");
        yes("1267650600228229401496703205376", "2^{100}");
        no("1267650600228229401496703205377", "2^{100}");
        yes("\\pi", "3.141593");
        no("\\pi", "3.14");
        yes("\\sqrt{2}", "1.414214");
        no("2", "2.0000001");
        yes("2.0", "2.0000001");
        yes("1,000,000", "1000000");
        yes("-\\frac{1}{2}", "-0.5");
        yes("2\\frac{1}{2}", "\\frac{5}{2}");
        yes("\\frac{\\sqrt{2}}{2}", "\\frac{1}{\\sqrt{2}}");
        yes("2\\sqrt{2}", "\\sqrt{8}");
        yes("5!", "120");
        yes("\\binom{5}{2}", "10");
        yes("\\log_2 8", "3");
        no("\\sqrt[3]{-8}", "-2");
        yes("\\infty", "2\\infty");
        no("\\infty", "-\\infty");
    }

    /// Quirks of SymPy's number handling that Math-Verify inherits.
    #[test]
    fn sympy_number_quirks() {
        // decimals are 53-bit binary floats: 1.12 * 10^11 is not an integer
        no("1.12\\times 10^{11}", "112000000000");
        yes("1.5\\times 10^{3}", "1500");
        // evalf(chop=True) drops differences below 2^-54 only
        yes("10^{-20}", "2\\cdot 10^{-20}");
        no("10^{-16}", "7\\cdot 10^{-18}");
        // oo - oo is undefined, but oo == 2*oo
        no("\\infty^2", "2\\infty");
        // an Integer never equals a rounded Float
        no("2", "2.0000001");
        yes("-\\infty < x \\le 3", "(-\\infty, 3]");
    }

    #[test]
    fn percentages() {
        yes("50\\%", "0.5");
        yes("50\\%", "50");
        yes("50\\%", "\\frac{1}{2}");
        no("0.5\\%", "0.5");
    }

    #[test]
    fn expressions_with_variables() {
        yes("x+1", "1+x");
        yes("(x+1)^2", "x^2+2x+1");
        no("(x+1)^2", "x^2+2x+2");
        yes("\\frac{x^2-1}{x-1}", "x+1");
        yes("\\sqrt{x^2}", "|x|");
        no("\\sqrt{x^2}", "x");
        yes("\\sin^2 x + \\cos^2 x", "1");
        no("x+1", "y+1");
        assert!(check("x+1", "y+1", false).equal);
        yes("\\frac{x}{2}", "0.5x");
        no("x^2", "x^{2.0}");
        yes("X+1", "x+1");
    }

    #[test]
    fn symbols_and_text() {
        yes("\\text{(C)}", "C");
        yes("\\text{C}", "c");
        no("\\text{(C)}", "D");
        yes("\\text{Yes}", "\\text{yes}");
        yes("\\text{abc}", "abc");
        yes("\\text{e}", "e");
        no("x", "\\frac{2x}{2}");
    }

    #[test]
    fn equations_and_assignments() {
        yes("x=5", "5");
        yes("5", "x=5");
        no("x=5", "y=5");
        assert!(check("x=5", "y=5", false).equal);
        yes("y=2x+1", "2x+1");
        no("2x+z=1", "1");
        yes("1", "2x+z=1");
        yes("y=2x+1", "2x+1=y");
        yes("y=2x+1", "2y=4x+2");
        no("3x=6", "x=2");
        yes("x=2", "2=x");
        no("x^2=4", "x=2");
    }

    #[test]
    fn relations_and_intervals() {
        yes("x\\le 3", "(-\\infty,3]");
        no("(-\\infty,3]", "x\\le 3");
        yes("x<3", "3>x");
        no("x>2", "2x>4");
        yes("1<x<2", "(1,2)");
        yes("x^2>4", "(-\\infty,-2)\\cup(2,\\infty)");
        yes("|x|>1", "(-\\infty,-1)\\cup(1,\\infty)");
        yes("[0,1)", "[0,1)");
        no("[0,1)", "[0,1]");
        no("(0,9)", "[0,9)");
        yes(
            "(-\\infty,-1)\\cup(1,\\infty)",
            "(1,\\infty)\\cup(-\\infty,-1)",
        );
        yes(
            "(-\\infty,-1)\\cup(1,\\infty)",
            "\\mathbb{R}\\setminus[-1,1]",
        );
        yes("x \\in [1,2]", "[1,2]");
    }

    #[test]
    fn sets_and_tuples() {
        yes("\\{1,2\\}", "\\{2,1\\}");
        yes("1,2", "\\{1,2\\}");
        yes("\\{1,2\\}", "(2,1)");
        no("(2,1)", "\\{1,2\\}");
        yes("(1,2)", "(1,2)");
        no("(1,2)", "(2,1)");
        yes("(1,2)", "1,2");
        no("(1,2,3)", "\\{1,2,3,3\\}");
        yes("\\pm 2", "\\{-2,2\\}");
        yes("5", "\\{5\\}");
        yes("x=1, y=2", "(1,2)");
        yes("\\{1/3, 2\\}", "\\{2, 0.333333\\}");
        yes("(1,2),(3,4)", "(3,4),(1,2)");
    }

    #[test]
    fn matrices_and_complex_numbers() {
        yes(
            "\\begin{pmatrix}1&2\\\\3&4\\end{pmatrix}",
            "\\begin{bmatrix}1&2\\\\3&4\\end{bmatrix}",
        );
        no(
            "\\begin{pmatrix}1&2\\\\3&4\\end{pmatrix}",
            "\\begin{pmatrix}1&3\\\\2&4\\end{pmatrix}",
        );
        yes(
            "\\begin{pmatrix}1&3\\\\2&4\\end{pmatrix}",
            "\\begin{pmatrix}1&2\\\\3&4\\end{pmatrix}^T",
        );
        yes("3+2I", "2I+3");
        yes("3+2i", "2i+3");
        no("3+2i", "3 + 2 i");
    }

    #[test]
    fn undefined_answers_are_not_equal() {
        no("\\frac{1}{0}", "\\frac{1}{0}");
        no("\\frac{0}{0}", "\\frac{0}{0}");
    }

    #[test]
    fn hostile_values_are_fast() {
        let cases = [
            ("10^{10^{10}}", "10^{10^{10}}"),
            ("10^{10^{10}}", "10^{10^{10}}+1"),
            ("2^{2^{2^{2^{2}}}}", "2^{65536}"),
            ("100000!", "100000!+1"),
            ("(10^{100})!", "1"),
            ("\\binom{10^{9}}{5000}", "1"),
            ("x^{10^{10}}", "x^{10^{10}}+1"),
            ("\\sqrt[10^{10}]{2}", "1"),
        ];
        for (g, p) in cases {
            let start = std::time::Instant::now();
            let j = check(g, p, true);
            assert!(
                start.elapsed().as_millis() < 200,
                "slow on `{g}` vs `{p}`: {:?}",
                start.elapsed()
            );
            let _ = j;
        }
        assert!(check("10^{10^{10}}", "10^{10^{10}}", true).equal);
        assert!(!check("10^{10^{10}}", "10^{10^{10}}+1", true).equal);
    }

    /// Inputs nested as deep as the parser allows must not overflow a
    /// small (1 MiB) thread stack while parsing, comparing and printing.
    #[test]
    fn deep_nesting_fits_small_stacks() {
        let handle = std::thread::Builder::new()
            .stack_size(1 << 20)
            .spawn(|| {
                let l = Limits::default();
                let o = CompareOptions::default();
                for n in [5usize, 10, 20, 40, 60, 100, 200, 400] {
                    let inputs = [
                        "(".repeat(n) + "x+1" + &")".repeat(n),
                        "\\frac{".repeat(n) + "1" + &"}{x}".repeat(n),
                        "\\{".repeat(n) + "1" + &"\\}".repeat(n),
                        "f(".repeat(n) + "x" + &")".repeat(n),
                        "\\sqrt{".repeat(n) + "2" + &"}".repeat(n),
                        "2^{".repeat(n) + "x" + &"}".repeat(n),
                        "[".repeat(n) + "1,2" + &")".repeat(n),
                        "|".repeat(n) + "x" + &"|".repeat(n),
                        "-(".repeat(n) + "x" + &")".repeat(n),
                        "\\sin(".repeat(n) + "x" + &")".repeat(n),
                        "x".to_string() + &"^2".repeat(n),
                        "x".to_string() + &"/2".repeat(n),
                    ];
                    for s in &inputs {
                        if let Ok(e) = parse(s, &l) {
                            let _ = equivalent(&e, &e, &o);
                            let _ = equivalent(&e, &Expr::int(1), &o);
                            let _ = e.to_string();
                        }
                    }
                }
            })
            .expect("spawn");
        assert!(handle.join().is_ok());
    }

    #[test]
    fn long_sums_compare() {
        let terms: Vec<String> = (1..=1000).map(|i| format!("{i}x")).collect();
        let g = terms.join("+");
        let start = std::time::Instant::now();
        yes(&g, "500500x");
        assert!(start.elapsed().as_secs() < 5);
    }
}
