//! The value of a parsed answer: a small expression tree shaped like the
//! SymPy objects latex2sympy2_extended builds (unevaluated sums and
//! products, relations, tuples, finite sets, intervals, matrices), so the
//! comparison rules can follow Math-Verify's structure-dependent steps.
//!
//! Numbers are exact (big integers, rationals, decimal literals kept with
//! their exact decimal value); evaluation lives in `value/eval.rs`.

use std::fmt;

use num_bigint::BigInt;
use num_traits::{One, Signed};

#[path = "value/dd.rs"]
pub(crate) mod dd;
#[path = "value/eval.rs"]
pub(crate) mod eval;
#[path = "value/rational.rs"]
pub(crate) mod rational;

pub(crate) use rational::Q;

/// Appended to the names of symbols read from an answer that looks
/// complex (Math-Verify then creates symbols without the `real`
/// assumption, and SymPy keeps them apart from real symbols of the same
/// name). Not shown.
pub(crate) const NONREAL_MARK: char = '\u{2063}';

/// A symbol's name without the non-real mark.
pub(crate) fn plain_name(s: &str) -> &str {
    s.strip_suffix(NONREAL_MARK).unwrap_or(s)
}

/// Caps that keep parsing and comparison bounded on any input.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Limits {
    /// Longest answer text parsed, in bytes.
    pub max_len: usize,
    /// Deepest nesting of groups, sets and operators.
    pub max_depth: usize,
    /// Most tokens, and most nodes in a parsed tree.
    pub max_nodes: usize,
    /// Most decimal digits in an exact number (exact powers, factorials
    /// and literals that would exceed it are evaluated approximately or
    /// refused).
    pub max_digits: u64,
    /// Most elements in a set, tuple or matrix.
    pub max_elems: usize,
    /// Parser steps (attempts) before giving up on ambiguous input.
    pub max_steps: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_len: 20_000,
            max_depth: 120,
            max_nodes: 20_000,
            max_digits: 2_000,
            max_elems: 1_000,
            max_steps: 400_000,
        }
    }
}

/// Named constants (SymPy singletons).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum Const {
    Pi,
    E,
    I,
    EulerGamma,
    Inf,
    NegInf,
    ComplexInf,
    NaN,
}

/// Functions with a known meaning.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum Func {
    Sin,
    Cos,
    Tan,
    Csc,
    Sec,
    Cot,
    Asin,
    Acos,
    Atan,
    Acsc,
    Asec,
    Acot,
    Sinh,
    Cosh,
    Tanh,
    Asinh,
    Acosh,
    Atanh,
    /// `log(x, base)`: two arguments.
    Log,
    Exp,
    Abs,
    Floor,
    Ceil,
    Factorial,
    Binomial,
    Gamma,
    Max,
    Min,
    /// `Mod(a, b)`.
    Mod,
}

impl Func {
    pub fn name(self) -> &'static str {
        match self {
            Func::Sin => "sin",
            Func::Cos => "cos",
            Func::Tan => "tan",
            Func::Csc => "csc",
            Func::Sec => "sec",
            Func::Cot => "cot",
            Func::Asin => "asin",
            Func::Acos => "acos",
            Func::Atan => "atan",
            Func::Acsc => "acsc",
            Func::Asec => "asec",
            Func::Acot => "acot",
            Func::Sinh => "sinh",
            Func::Cosh => "cosh",
            Func::Tanh => "tanh",
            Func::Asinh => "asinh",
            Func::Acosh => "acosh",
            Func::Atanh => "atanh",
            Func::Log => "log",
            Func::Exp => "exp",
            Func::Abs => "Abs",
            Func::Floor => "floor",
            Func::Ceil => "ceiling",
            Func::Factorial => "factorial",
            Func::Binomial => "binomial",
            Func::Gamma => "gamma",
            Func::Max => "Max",
            Func::Min => "Min",
            Func::Mod => "Mod",
        }
    }
}

/// Relation kinds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum Rel {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

impl Rel {
    pub fn symbol(self) -> &'static str {
        match self {
            Rel::Eq => "=",
            Rel::Ne => "!=",
            Rel::Lt => "<",
            Rel::Le => "<=",
            Rel::Gt => ">",
            Rel::Ge => ">=",
        }
    }

    /// The relation read right to left (`a < b` is `b > a`).
    pub fn reversed(self) -> Option<Rel> {
        match self {
            Rel::Eq => Some(Rel::Eq),
            Rel::Lt => Some(Rel::Gt),
            Rel::Gt => Some(Rel::Lt),
            Rel::Le => Some(Rel::Ge),
            Rel::Ge => Some(Rel::Le),
            Rel::Ne => None,
        }
    }
}

/// Named sets.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum SetKind {
    Naturals,
    Integers,
    Rationals,
    Reals,
    Complexes,
    Primes,
    Empty,
}

/// See [`Expr::unique`].
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum QuickKey {
    /// A value; `true` for decimals (a decimal never equals an exact number).
    Num(Q, bool),
    Sym(String),
    Const(Const),
}

/// A decimal literal: its exact value and the text it was written as.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Decimal {
    pub value: Q,
    pub text: String,
}

#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Interval {
    pub lo: Expr,
    pub hi: Expr,
    pub lo_open: bool,
    pub hi_open: bool,
}

#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Matrix {
    pub rows: usize,
    pub cols: usize,
    /// Row-major, `rows * cols` entries.
    pub data: Vec<Expr>,
}

/// A parsed answer.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Expr {
    /// An integer (SymPy `Integer`).
    Int(BigInt),
    /// A non-integer rational (SymPy `Rational`).
    Rat(Q),
    /// A decimal literal (SymPy `Float`).
    Float(Box<Decimal>),
    /// A symbol (names are lower-cased, as latex2sympy2_extended does).
    Sym(String),
    Const(Const),
    /// Unevaluated sum, terms in written order.
    Add(Vec<Expr>),
    /// Unevaluated product, factors in written order.
    Mul(Vec<Expr>),
    Pow(Box<Expr>, Box<Expr>),
    Func(Func, Vec<Expr>),
    /// An undefined function applied to arguments, `f(x)`.
    Undef(String, Vec<Expr>),
    /// `x%`: SymPy's `x*UnevaluatedExpr(1/100)`.
    Percent(Box<Expr>),
    Rel(Rel, Box<Expr>, Box<Expr>),
    /// A chain of relations, `1 < x < 2`, in written order.
    And(Vec<Expr>),
    /// `x \notin S`.
    Not(Box<Expr>),
    Tuple(Vec<Expr>),
    /// A finite set; elements in first-written order, duplicates removed.
    Set(Vec<Expr>),
    Interval(Box<Interval>),
    Union(Vec<Expr>),
    Intersection(Vec<Expr>),
    Complement(Box<Expr>, Box<Expr>),
    SetKind(SetKind),
    Matrix(Box<Matrix>),
}

impl Expr {
    pub fn int(n: i64) -> Expr {
        Expr::Int(BigInt::from(n))
    }

    /// A rational number in SymPy's normal form (an `Int` when whole).
    pub fn rational(q: Q) -> Expr {
        if q.is_integer() {
            Expr::Int(q.numer().clone())
        } else {
            Expr::Rat(q)
        }
    }

    pub fn sym(name: &str) -> Expr {
        Expr::Sym(name.to_string())
    }

    /// `x%` (what Math-Verify builds for a percentage it extracts).
    pub fn percent(x: Expr) -> Expr {
        Expr::Percent(Box::new(x))
    }

    /// Several answers found in one response: Math-Verify puts them in a
    /// finite set, flattening answers that are sets themselves.
    pub fn set_of(items: Vec<Expr>) -> Expr {
        let mut all = Vec::new();
        for item in items {
            match item {
                Expr::Set(v) => all.extend(v),
                other => all.push(other),
            }
        }
        Expr::finite_set(all)
    }

    /// A finite set, elements as written (SymPy keeps the written list,
    /// duplicates included, beside the set itself); empty is `EmptySet`.
    pub fn finite_set(items: Vec<Expr>) -> Expr {
        if items.is_empty() {
            Expr::SetKind(SetKind::Empty)
        } else {
            Expr::Set(items)
        }
    }

    /// The distinct elements of a finite set, in first-written order.
    pub fn unique(items: &[Expr]) -> Vec<&Expr> {
        let mut seen: std::collections::HashSet<QuickKey> = std::collections::HashSet::new();
        let mut others: Vec<&Expr> = Vec::new();
        let mut out: Vec<&Expr> = Vec::with_capacity(items.len());
        for it in items {
            match it.quick_key() {
                // numbers and symbols: hashed, so long lists stay linear
                Some(k) => {
                    if seen.insert(k) {
                        out.push(it);
                    }
                }
                None => {
                    if !others.iter().any(|o| o.same(it)) {
                        others.push(it);
                        out.push(it);
                    }
                }
            }
        }
        out
    }

    /// A hashable identity for atoms whose structural equality is plain
    /// value equality.
    fn quick_key(&self) -> Option<QuickKey> {
        match self {
            Expr::Int(n) => Some(QuickKey::Num(Q::int(n.clone()), false)),
            Expr::Rat(q) => Some(QuickKey::Num(q.clone(), false)),
            Expr::Float(d) => Some(QuickKey::Num(d.value.clone(), true)),
            Expr::Sym(s) => Some(QuickKey::Sym(s.clone())),
            Expr::Const(c) => Some(QuickKey::Const(*c)),
            _ => None,
        }
    }

    /// The rational value of an `Int` or `Rat` node.
    pub fn as_q(&self) -> Option<Q> {
        match self {
            Expr::Int(n) => Some(Q::int(n.clone())),
            Expr::Rat(q) => Some(q.clone()),
            _ => None,
        }
    }

    pub fn is_int(&self) -> bool {
        matches!(self, Expr::Int(_))
    }

    /// SymPy `Number`: integers, rationals, floats and the infinities.
    pub fn is_number_atom(&self) -> bool {
        matches!(
            self,
            Expr::Int(_)
                | Expr::Rat(_)
                | Expr::Float(_)
                | Expr::Const(Const::Inf | Const::NegInf | Const::ComplexInf | Const::NaN)
        )
    }

    pub fn is_relation(&self) -> bool {
        match self {
            Expr::Rel(..) => true,
            Expr::And(v) => !v.is_empty() && v.iter().all(|r| matches!(r, Expr::Rel(..))),
            _ => false,
        }
    }

    /// A SymPy `Set` (tuples and matrices are not).
    pub fn is_set(&self) -> bool {
        matches!(
            self,
            Expr::Set(_)
                | Expr::Interval(_)
                | Expr::Union(_)
                | Expr::Intersection(_)
                | Expr::Complement(..)
                | Expr::SetKind(_)
        )
    }

    /// Negation as latex2sympy2_extended writes it: numbers are negated,
    /// anything else becomes `-1 * x` (flattened into a product).
    pub fn neg(self) -> Expr {
        match self {
            Expr::Int(n) => Expr::Int(-n),
            Expr::Rat(q) => Expr::Rat(q.neg()),
            Expr::Float(d) => Expr::Float(Box::new(Decimal {
                value: d.value.neg(),
                text: if let Some(t) = d.text.strip_prefix('-') {
                    t.to_string()
                } else {
                    format!("-{}", d.text)
                },
            })),
            Expr::Const(Const::Inf) => Expr::Const(Const::NegInf),
            Expr::Const(Const::NegInf) => Expr::Const(Const::Inf),
            Expr::Const(c @ (Const::ComplexInf | Const::NaN)) => Expr::Const(c),
            other => Expr::mul_flat(Expr::int(-1), other),
        }
    }

    /// `Mul(lh, rh)` flattening nested products, as `mul_flat` does
    /// (reuses the left product's storage: long products stay linear).
    pub fn mul_flat(lh: Expr, rh: Expr) -> Expr {
        let mut args = match lh {
            Expr::Mul(v) => v,
            o => vec![o],
        };
        match rh {
            Expr::Mul(v) => args.extend(v),
            o => args.push(o),
        }
        Expr::Mul(args)
    }

    /// `Add(lh, rh)` flattening nested sums, as `add_flat` does.
    pub fn add_flat(lh: Expr, rh: Expr) -> Expr {
        let mut args = match lh {
            Expr::Add(v) => v,
            o => vec![o],
        };
        match rh {
            Expr::Add(v) => args.extend(v),
            o => args.push(o),
        }
        Expr::Add(args)
    }

    pub fn pow(base: Expr, exp: Expr) -> Expr {
        Expr::Pow(Box::new(base), Box::new(exp))
    }

    pub fn rel(r: Rel, a: Expr, b: Expr) -> Expr {
        Expr::Rel(r, Box::new(a), Box::new(b))
    }

    /// Children, for generic traversals.
    pub fn children(&self) -> Vec<&Expr> {
        match self {
            Expr::Int(_)
            | Expr::Rat(_)
            | Expr::Float(_)
            | Expr::Sym(_)
            | Expr::Const(_)
            | Expr::SetKind(_) => Vec::new(),
            Expr::Add(v)
            | Expr::Mul(v)
            | Expr::Func(_, v)
            | Expr::Undef(_, v)
            | Expr::And(v)
            | Expr::Tuple(v)
            | Expr::Set(v)
            | Expr::Union(v)
            | Expr::Intersection(v) => v.iter().collect(),
            Expr::Pow(a, b) | Expr::Rel(_, a, b) | Expr::Complement(a, b) => vec![a, b],
            Expr::Percent(a) | Expr::Not(a) => vec![a],
            Expr::Interval(i) => vec![&i.lo, &i.hi],
            Expr::Matrix(m) => m.data.iter().collect(),
        }
    }

    /// Number of nodes (bounded walk with an explicit stack).
    pub fn size(&self) -> usize {
        let mut n = 0usize;
        let mut stack = vec![self];
        while let Some(e) = stack.pop() {
            n += 1;
            stack.extend(e.children());
        }
        n
    }

    /// Free symbol names, sorted and deduplicated. Undefined function
    /// names are not symbols (their arguments may hold some).
    pub fn free_symbols(&self) -> Vec<String> {
        let mut out = Vec::new();
        let mut stack = vec![self];
        while let Some(e) = stack.pop() {
            if let Expr::Sym(s) = e {
                out.push(s.clone());
            }
            stack.extend(e.children());
        }
        out.sort();
        out.dedup();
        out
    }

    pub fn has_float(&self) -> bool {
        let mut stack = vec![self];
        while let Some(e) = stack.pop() {
            if matches!(e, Expr::Float(_)) {
                return true;
            }
            stack.extend(e.children());
        }
        false
    }

    /// Whether any node satisfies `pred`.
    pub fn any(&self, pred: &dyn Fn(&Expr) -> bool) -> bool {
        let mut stack = vec![self];
        while let Some(e) = stack.pop() {
            if pred(e) {
                return true;
            }
            stack.extend(e.children());
        }
        false
    }

    /// Replaces symbols by name.
    pub fn subs(&self, map: &[(String, Expr)]) -> Expr {
        self.map_syms(&|name| map.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()))
    }

    fn map_syms(&self, f: &dyn Fn(&str) -> Option<Expr>) -> Expr {
        let m = |v: &Vec<Expr>| v.iter().map(|e| e.map_syms(f)).collect::<Vec<_>>();
        match self {
            Expr::Sym(s) => f(s).unwrap_or_else(|| self.clone()),
            Expr::Int(_) | Expr::Rat(_) | Expr::Float(_) | Expr::Const(_) | Expr::SetKind(_) => {
                self.clone()
            }
            Expr::Add(v) => Expr::Add(m(v)),
            Expr::Mul(v) => Expr::Mul(m(v)),
            Expr::Func(k, v) => Expr::Func(*k, m(v)),
            Expr::Undef(n, v) => Expr::Undef(n.clone(), m(v)),
            Expr::And(v) => Expr::And(m(v)),
            Expr::Tuple(v) => Expr::Tuple(m(v)),
            Expr::Set(v) => Expr::Set(m(v)),
            Expr::Union(v) => Expr::Union(m(v)),
            Expr::Intersection(v) => Expr::Intersection(m(v)),
            Expr::Pow(a, b) => Expr::Pow(Box::new(a.map_syms(f)), Box::new(b.map_syms(f))),
            Expr::Rel(r, a, b) => Expr::Rel(*r, Box::new(a.map_syms(f)), Box::new(b.map_syms(f))),
            Expr::Complement(a, b) => {
                Expr::Complement(Box::new(a.map_syms(f)), Box::new(b.map_syms(f)))
            }
            Expr::Percent(a) => Expr::Percent(Box::new(a.map_syms(f))),
            Expr::Not(a) => Expr::Not(Box::new(a.map_syms(f))),
            Expr::Interval(i) => Expr::Interval(Box::new(Interval {
                lo: i.lo.map_syms(f),
                hi: i.hi.map_syms(f),
                lo_open: i.lo_open,
                hi_open: i.hi_open,
            })),
            Expr::Matrix(mx) => Expr::Matrix(Box::new(Matrix {
                rows: mx.rows,
                cols: mx.cols,
                data: m(&mx.data),
            })),
        }
    }

    /// Structural equality (SymPy `==`): finite sets ignore order, floats
    /// compare by value; everything else must match node for node.
    pub fn same(&self, other: &Expr) -> bool {
        match (self, other) {
            (Expr::Float(a), Expr::Float(b)) => a.value == b.value,
            (Expr::Set(a), Expr::Set(b))
            | (Expr::Union(a), Expr::Union(b))
            | (Expr::Intersection(a), Expr::Intersection(b)) => {
                // same elements in the same order: one pass
                if a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.same(y)) {
                    return true;
                }
                // as sets: as many distinct elements, each of `a` in `b`
                let ua = Expr::unique(a);
                let ub = Expr::unique(b);
                if ua.len() != ub.len() {
                    return false;
                }
                let keyed: std::collections::HashSet<QuickKey> =
                    ub.iter().filter_map(|y| y.quick_key()).collect();
                let rest: Vec<&&Expr> = ub.iter().filter(|y| y.quick_key().is_none()).collect();
                ua.iter().all(|x| match x.quick_key() {
                    Some(k) => keyed.contains(&k),
                    None => rest.iter().any(|y| x.same(y)),
                })
            }
            (Expr::Add(a), Expr::Add(b))
            | (Expr::Mul(a), Expr::Mul(b))
            | (Expr::And(a), Expr::And(b))
            | (Expr::Tuple(a), Expr::Tuple(b)) => {
                a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.same(y))
            }
            (Expr::Func(f, a), Expr::Func(g, b)) => {
                f == g && a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.same(y))
            }
            (Expr::Undef(f, a), Expr::Undef(g, b)) => {
                f == g && a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.same(y))
            }
            (Expr::Pow(a, b), Expr::Pow(c, d))
            | (Expr::Complement(a, b), Expr::Complement(c, d)) => a.same(c) && b.same(d),
            (Expr::Rel(r, a, b), Expr::Rel(s, c, d)) => r == s && a.same(c) && b.same(d),
            (Expr::Percent(a), Expr::Percent(b)) | (Expr::Not(a), Expr::Not(b)) => a.same(b),
            (Expr::Interval(a), Expr::Interval(b)) => {
                a.lo_open == b.lo_open
                    && a.hi_open == b.hi_open
                    && a.lo.same(&b.lo)
                    && a.hi.same(&b.hi)
            }
            (Expr::Matrix(a), Expr::Matrix(b)) => {
                a.rows == b.rows
                    && a.cols == b.cols
                    && a.data.iter().zip(&b.data).all(|(x, y)| x.same(y))
            }
            _ => self == other,
        }
    }

    /// latex2sympy2_extended's `is_expr_of_only_symbols`: a symbol, or a
    /// node whose arguments are all only symbols (`ab`, `x+y`, `f(x)`,
    /// `(a, b)`), or `1/s`.
    pub fn is_only_symbols(&self) -> bool {
        self.only_symbols_depth(0)
    }

    fn only_symbols_depth(&self, depth: usize) -> bool {
        if depth > 200 {
            return false;
        }
        match self {
            Expr::Sym(_) => true,
            Expr::Pow(b, e) if matches!(**e, Expr::Int(ref n) if *n == BigInt::from(-1)) => {
                matches!(**b, Expr::Sym(_))
                    || b.children().iter().all(|c| c.only_symbols_depth(depth + 1))
            }
            _ => {
                let ch = self.children();
                match self {
                    // SymPy atoms without arguments
                    Expr::Int(_)
                    | Expr::Rat(_)
                    | Expr::Float(_)
                    | Expr::Const(_)
                    | Expr::SetKind(_) => false,
                    // a percentage holds the number 1/100
                    Expr::Percent(_) => false,
                    _ => !ch.is_empty() && ch.iter().all(|c| c.only_symbols_depth(depth + 1)),
                }
            }
        }
    }
}

/// Binding strength used to decide where parentheses go when printing.
fn prec(e: &Expr) -> u8 {
    match e {
        Expr::Add(_) => 1,
        Expr::Mul(_) => 2,
        Expr::Int(n) if n.is_negative() => 2,
        Expr::Rat(_) => 2,
        Expr::Float(d) if d.value.is_negative() => 2,
        Expr::Pow(..) => 3,
        Expr::Percent(_) => 3,
        Expr::Rel(..) | Expr::And(_) | Expr::Not(_) => 0,
        Expr::Union(_) | Expr::Intersection(_) | Expr::Complement(..) => 0,
        _ => 4,
    }
}

fn write_wrapped(f: &mut fmt::Formatter<'_>, e: &Expr, min: u8) -> fmt::Result {
    if prec(e) < min {
        write!(f, "({e})")
    } else {
        write!(f, "{e}")
    }
}

fn write_list(f: &mut fmt::Formatter<'_>, v: &[Expr], sep: &str) -> fmt::Result {
    for (i, e) in v.iter().enumerate() {
        if i > 0 {
            f.write_str(sep)?;
        }
        write!(f, "{e}")?;
    }
    Ok(())
}

/// `-1 * x` factors print as a leading minus.
fn negated_term(e: &Expr) -> Option<Expr> {
    match e {
        Expr::Mul(v) if v.len() >= 2 && matches!(&v[0], Expr::Int(n) if *n == BigInt::from(-1)) => {
            if v.len() == 2 {
                Some(v[1].clone())
            } else {
                Some(Expr::Mul(v[1..].to_vec()))
            }
        }
        Expr::Int(n) if n.is_negative() => Some(Expr::Int(-n.clone())),
        Expr::Rat(q) if q.is_negative() => Some(Expr::Rat(q.neg())),
        _ => None,
    }
}

impl fmt::Display for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Expr::Int(n) => write!(f, "{n}"),
            Expr::Rat(q) => write!(f, "{q}"),
            Expr::Float(d) => f.write_str(&d.text),
            Expr::Sym(s) => f.write_str(plain_name(s)),
            Expr::Const(c) => f.write_str(match c {
                Const::Pi => "pi",
                Const::E => "E",
                Const::I => "I",
                Const::EulerGamma => "EulerGamma",
                Const::Inf => "oo",
                Const::NegInf => "-oo",
                Const::ComplexInf => "zoo",
                Const::NaN => "nan",
            }),
            Expr::Add(v) => {
                for (i, t) in v.iter().enumerate() {
                    match (i, negated_term(t)) {
                        (0, Some(pos)) => {
                            f.write_str("-")?;
                            write_wrapped(f, &pos, 2)?;
                        }
                        (0, None) => write_wrapped(f, t, 1)?,
                        (_, Some(pos)) => {
                            f.write_str(" - ")?;
                            write_wrapped(f, &pos, 2)?;
                        }
                        (_, None) => {
                            f.write_str(" + ")?;
                            write_wrapped(f, t, 2)?;
                        }
                    }
                }
                Ok(())
            }
            Expr::Mul(v) => {
                if let Some(pos) = negated_term(self) {
                    f.write_str("-")?;
                    return write_wrapped(f, &pos, 3);
                }
                let mut first = true;
                for t in v {
                    if let Expr::Pow(b, e) = t {
                        if matches!(**e, Expr::Int(ref n) if *n == BigInt::from(-1)) {
                            if first {
                                f.write_str("1")?;
                            }
                            f.write_str("/")?;
                            write_wrapped(f, b, 3)?;
                            first = false;
                            continue;
                        }
                    }
                    if !first {
                        f.write_str("*")?;
                    }
                    write_wrapped(f, t, 3)?;
                    first = false;
                }
                Ok(())
            }
            Expr::Pow(b, e) => {
                if let Some(q) = e.as_q() {
                    if *q.numer() == BigInt::one() && *q.denom() == BigInt::from(2) {
                        return write!(f, "sqrt({b})");
                    }
                    if q.is_integer() && *q.numer() == BigInt::from(-1) {
                        f.write_str("1/")?;
                        return write_wrapped(f, b, 4);
                    }
                }
                write_wrapped(f, b, 4)?;
                f.write_str("^")?;
                write_wrapped(f, e, 4)
            }
            Expr::Func(Func::Abs, v) if v.len() == 1 => write!(f, "|{}|", v[0]),
            Expr::Func(Func::Factorial, v) if v.len() == 1 => {
                write_wrapped(f, &v[0], 4)?;
                f.write_str("!")
            }
            Expr::Func(k, v) => {
                write!(f, "{}(", k.name())?;
                write_list(f, v, ", ")?;
                f.write_str(")")
            }
            Expr::Undef(n, v) => {
                write!(f, "{n}(")?;
                write_list(f, v, ", ")?;
                f.write_str(")")
            }
            Expr::Percent(x) => {
                write_wrapped(f, x, 4)?;
                f.write_str("%")
            }
            Expr::Rel(r, a, b) => write!(f, "{a} {} {b}", r.symbol()),
            Expr::And(v) => {
                // print a chain compactly: a < b < c
                let chain = v.windows(2).all(|w| match (&w[0], &w[1]) {
                    (Expr::Rel(_, _, b), Expr::Rel(_, c, _)) => b.same(c),
                    _ => false,
                });
                if chain {
                    for (i, r) in v.iter().enumerate() {
                        if let Expr::Rel(k, a, b) = r {
                            if i == 0 {
                                write!(f, "{a}")?;
                            }
                            write!(f, " {} {b}", k.symbol())?;
                        }
                    }
                    Ok(())
                } else {
                    write_list(f, v, " and ")
                }
            }
            Expr::Not(x) => write!(f, "not ({x})"),
            Expr::Tuple(v) => {
                f.write_str("(")?;
                write_list(f, v, ", ")?;
                if v.len() == 1 {
                    f.write_str(",")?;
                }
                f.write_str(")")
            }
            Expr::Set(v) => {
                f.write_str("{")?;
                for (i, e) in Expr::unique(v).into_iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{e}")?;
                }
                f.write_str("}")
            }
            Expr::Interval(i) => write!(
                f,
                "{}{}, {}{}",
                if i.lo_open { "(" } else { "[" },
                i.lo,
                i.hi,
                if i.hi_open { ")" } else { "]" }
            ),
            Expr::Union(v) => write_list(f, v, " U "),
            Expr::Intersection(v) => write_list(f, v, " n "),
            Expr::Complement(a, b) => write!(f, "{a} \\ {b}"),
            Expr::SetKind(k) => f.write_str(match k {
                SetKind::Naturals => "Naturals",
                SetKind::Integers => "Integers",
                SetKind::Rationals => "Rationals",
                SetKind::Reals => "Reals",
                SetKind::Complexes => "Complexes",
                SetKind::Primes => "Primes",
                SetKind::Empty => "EmptySet",
            }),
            Expr::Matrix(m) => {
                f.write_str("[")?;
                for r in 0..m.rows {
                    if r > 0 {
                        f.write_str(", ")?;
                    }
                    f.write_str("[")?;
                    let row = m.data.get(r * m.cols..(r + 1) * m.cols).unwrap_or(&[]);
                    write_list(f, row, ", ")?;
                    f.write_str("]")?;
                }
                f.write_str("]")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_is_readable() {
        let x = Expr::sym("x");
        let e = Expr::Add(vec![Expr::Mul(vec![Expr::int(2), x.clone()]), Expr::int(1)]);
        assert_eq!(e.to_string(), "2*x + 1");
        let e = Expr::Add(vec![x.clone(), Expr::int(-3)]);
        assert_eq!(e.to_string(), "x - 3");
        let e = Expr::pow(
            Expr::int(2),
            Expr::Rat(Q::new(BigInt::from(1), BigInt::from(2)).unwrap()),
        );
        assert_eq!(e.to_string(), "sqrt(2)");
        assert_eq!(Expr::percent(Expr::int(50)).to_string(), "50%");
        assert_eq!(
            Expr::set_of(vec![Expr::int(1), Expr::int(1), Expr::int(2)]).to_string(),
            "{1, 2}"
        );
    }

    #[test]
    fn only_symbols_follows_latex2sympy() {
        assert!(Expr::sym("x").is_only_symbols());
        assert!(Expr::Mul(vec![Expr::sym("a"), Expr::sym("b")]).is_only_symbols());
        assert!(Expr::Undef("f".into(), vec![Expr::sym("x")]).is_only_symbols());
        assert!(!Expr::pow(Expr::sym("x"), Expr::int(2)).is_only_symbols());
        assert!(!Expr::int(3).is_only_symbols());
    }
}
