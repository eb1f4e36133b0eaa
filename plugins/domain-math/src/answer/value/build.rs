//! Conversions the answer parser applies while it reads (latex2sympy2_extended's
//! `convert_*` helpers): numbers, quotients, matrix arithmetic, intervals,
//! relation chains, symbol names, and the checks made on the raw text.

use num_bigint::BigInt;
use num_traits::{Signed, ToPrimitive, Zero};

use super::super::expr::eval::{self, binomial, exact, factorial};
use super::super::expr::{Const, Decimal, Expr, Func, Interval, Limits, Matrix, Rel, SetKind, Q};
use super::lexer::Tok;
use super::{nomatch, PErr, PResult};

/// `a = b = c` split at `=` signs not preceded by `\ < ! >`; the last part
/// when there are more than two.
pub(super) fn last_equation_part(text: &str) -> Option<&str> {
    if text.contains(',') || text.contains(';') {
        return None;
    }
    let b = text.as_bytes();
    let mut parts = Vec::new();
    let mut start = 0;
    for (i, &c) in b.iter().enumerate() {
        if c == b'=' && (i == 0 || !matches!(b[i - 1], b'\\' | b'<' | b'!' | b'>')) {
            parts.push(&text[start..i]);
            start = i + 1;
        }
    }
    parts.push(&text[start..]);
    if parts.len() > 2 {
        parts.last().copied()
    } else {
        None
    }
}

pub(super) fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// Math-Verify's `should_treat_as_complex`: the text mentions the
/// imaginary unit, complex numbers or matrix functions.
pub(super) fn looks_complex(text: &str) -> bool {
    const PLAIN: &[&str] = &[
        "\\mathbb{C}",
        "\\text{i}",
        "\\mathrm{i}",
        "\\det",
        "\\operatorname{tr}",
        "\\operatorname{rank}",
        "\\text{rank}",
        "\\arg{",
        "\\Re{",
        "\\Im{",
        "\\operatorname{Re}",
        "\\operatorname{Im}",
        "\\text{Re}",
        "\\text{Im}",
    ];
    if PLAIN.iter().any(|p| text.contains(p)) {
        return true;
    }
    let chars: Vec<char> = text.chars().collect();
    let word_at = |i: usize| chars.get(i).is_some_and(|&c| is_word_char(c));
    for (i, &c) in chars.iter().enumerate() {
        if c != 'i' {
            continue;
        }
        let before_word = i > 0 && word_at(i - 1);
        let after_word = word_at(i + 1);
        // \bi\b
        if !before_word && !after_word {
            return true;
        }
        // \\i\b and \\imath\b
        if i > 0 && chars[i - 1] == '\\' {
            if !after_word {
                return true;
            }
            let rest: String = chars[i..].iter().take(6).collect();
            if rest.starts_with("imath") && !word_at(i + 5) {
                return true;
            }
        }
    }
    false
}

/// `-?\d{1,3}(,\d{3})+(\.\d+)?` with surrounding whitespace.
pub(super) fn is_comma_number(s: &str) -> bool {
    let s = s.trim();
    let s = s.strip_prefix('-').unwrap_or(s);
    let (int, frac) = match s.find('.') {
        Some(i) => (&s[..i], Some(&s[i + 1..])),
        None => (s, None),
    };
    if let Some(f) = frac {
        if f.is_empty() || !f.bytes().all(|c| c.is_ascii_digit()) {
            return false;
        }
    }
    let groups: Vec<&str> = int.split(',').collect();
    if groups.len() < 2 {
        return false;
    }
    let first = groups[0];
    if first.is_empty() || first.len() > 3 || !first.bytes().all(|c| c.is_ascii_digit()) {
        return false;
    }
    groups[1..]
        .iter()
        .all(|g| g.len() == 3 && g.bytes().all(|c| c.is_ascii_digit()))
}

/// A number as SymPy's `Number(text)` reads it.
pub(super) fn number_expr(text: &str, limits: &Limits) -> PResult<Expr> {
    let t: std::borrow::Cow<str> = if text.contains(',') {
        text.chars()
            .filter(|&c| c != ',')
            .collect::<String>()
            .into()
    } else {
        text.into()
    };
    if t.bytes().all(|c| c.is_ascii_digit()) && !t.is_empty() {
        if t.len() as u64 > limits.max_digits {
            return Err(PErr::Fatal("number has too many digits".into()));
        }
        let n: BigInt = t.parse().map_err(|_| PErr::NoMatch("bad number".into()))?;
        return Ok(Expr::Int(n));
    }
    match Q::parse_decimal(&t, limits.max_digits) {
        Some(q) => Ok(Expr::Float(Box::new(Decimal {
            value: q,
            text: t.into_owned(),
        }))),
        None => Err(PErr::Fatal("number out of range".into())),
    }
}

pub(super) fn is_number(e: &Expr) -> bool {
    e.is_number_atom()
}

pub(super) fn is_matrix(e: &Expr) -> bool {
    matches!(e, Expr::Matrix(_))
}

/// latex2sympy2_extended's `as_unary_minus`: rationals are negated, the rest
/// is `-1 * x` (not flattened).
pub(super) fn as_unary_minus(e: Expr) -> Expr {
    match e {
        Expr::Int(n) => Expr::Int(-n),
        Expr::Rat(q) => Expr::Rat(q.neg()),
        other => Expr::Mul(vec![Expr::int(-1), other]),
    }
}

/// `sympy.Rational(a, b)` for integers.
pub(super) fn int_ratio(a: &BigInt, b: &BigInt) -> Expr {
    if b.is_zero() {
        if a.is_zero() {
            Expr::Const(Const::NaN)
        } else {
            Expr::Const(Const::ComplexInf)
        }
    } else {
        match Q::new(a.clone(), b.clone()) {
            Some(q) => Expr::rational(q),
            None => Expr::Const(Const::NaN),
        }
    }
}

/// `a / b` as latex2sympy2_extended writes a division.
pub(super) fn divide(a: Expr, b: Expr) -> PResult<Expr> {
    if is_matrix(&a) || is_matrix(&b) {
        if let (Expr::Matrix(m), false) = (&a, is_matrix(&b)) {
            return Ok(mat_scale(m, Expr::pow(b, Expr::int(-1))));
        }
        return nomatch("matrix division");
    }
    if let (Expr::Int(x), Expr::Int(y)) = (&a, &b) {
        return Ok(int_ratio(x, y));
    }
    Ok(Expr::Mul(vec![a, Expr::pow(b, Expr::int(-1))]))
}

pub(super) fn mat_scale(m: &Matrix, k: Expr) -> Expr {
    Expr::Matrix(Box::new(Matrix {
        rows: m.rows,
        cols: m.cols,
        data: m
            .data
            .iter()
            .map(|x| Expr::mul_flat(k.clone(), x.clone()))
            .collect(),
    }))
}

pub(super) fn mat_mul(a: Expr, b: Expr) -> PResult<Expr> {
    match (a, b) {
        (Expr::Matrix(x), Expr::Matrix(y)) => {
            if x.cols != y.rows {
                return nomatch("matrix shapes do not match");
            }
            let mut data = Vec::with_capacity(x.rows * y.cols);
            for i in 0..x.rows {
                for j in 0..y.cols {
                    let terms: Vec<Expr> = (0..x.cols)
                        .map(|k| {
                            Expr::Mul(vec![
                                x.data[i * x.cols + k].clone(),
                                y.data[k * y.cols + j].clone(),
                            ])
                        })
                        .collect();
                    data.push(Expr::Add(terms));
                }
            }
            Ok(Expr::Matrix(Box::new(Matrix {
                rows: x.rows,
                cols: y.cols,
                data,
            })))
        }
        (Expr::Matrix(x), k) | (k, Expr::Matrix(x)) => Ok(mat_scale(&x, k)),
        (a, b) => Ok(Expr::mul_flat(a, b)),
    }
}

pub(super) fn mat_add(a: Expr, b: Expr) -> PResult<Expr> {
    match (a, b) {
        (Expr::Matrix(x), Expr::Matrix(y)) => {
            if x.rows != y.rows || x.cols != y.cols {
                return nomatch("matrix shapes do not match");
            }
            let data = x
                .data
                .into_iter()
                .zip(y.data)
                .map(|(p, q)| Expr::add_flat(p, q))
                .collect();
            Ok(Expr::Matrix(Box::new(Matrix {
                rows: x.rows,
                cols: x.cols,
                data,
            })))
        }
        _ => nomatch("matrix plus scalar"),
    }
}

/// Determinant by cofactor expansion (small matrices only).
pub(super) fn determinant(m: &Matrix) -> PResult<Expr> {
    if m.rows != m.cols || m.rows == 0 {
        return nomatch("determinant of a non-square matrix");
    }
    if m.rows > 5 {
        return nomatch("determinant too large");
    }
    fn det(rows: &[usize], cols: &[usize], m: &Matrix) -> Expr {
        if rows.len() == 1 {
            return m.data[rows[0] * m.cols + cols[0]].clone();
        }
        let mut terms = Vec::new();
        for (j, &c) in cols.iter().enumerate() {
            let sub_cols: Vec<usize> = cols.iter().copied().filter(|&x| x != c).collect();
            let minor = det(&rows[1..], &sub_cols, m);
            let entry = m.data[rows[0] * m.cols + c].clone();
            let mut t = Expr::Mul(vec![entry, minor]);
            if j % 2 == 1 {
                t = Expr::Mul(vec![Expr::int(-1), t]);
            }
            terms.push(t);
        }
        Expr::Add(terms)
    }
    let rows: Vec<usize> = (0..m.rows).collect();
    let d = det(&rows, &rows, m);
    let md = 2000;
    match exact(&d, md) {
        Some(q) => Ok(Expr::rational(q)),
        None => Ok(d),
    }
}

/// One step of the right fold of an implicit product: `res * acc`, with
/// the mixed-number rule (`2 \frac{1}{2}` is 5/2, `2 3` is 5).
pub(super) fn fold_factor(res: Expr, acc: Expr) -> PResult<Expr> {
    if is_matrix(&res) || is_matrix(&acc) {
        return mat_mul(res, acc);
    }
    if let (Expr::Int(n), Some(r)) = (&res, acc.as_q()) {
        if r.is_positive() {
            let nq = Q::int(n.clone()).mul(&Q::int(r.denom().clone()));
            let p = Q::int(r.numer().clone());
            let num = if n.is_negative() {
                nq.sub(&p)
            } else {
                nq.add(&p)
            };
            if let Some(q) = num.div(&Q::int(r.denom().clone())) {
                return Ok(Expr::rational(q));
            }
        }
    }
    Ok(Expr::mul_flat(res, acc))
}

/// The name an accent command gives its symbol.
pub(super) fn accent_text(cmd: &str, body: &str) -> String {
    let name = cmd.trim();
    let text: String = body.chars().filter(|&c| c != ' ').collect();
    let name = match name {
        "bar" | "overline" => "bar",
        "vec" | "overrightarrow" => "vec",
        "tilde" | "widetilde" => "tilde",
        n if n.contains("text") || n.contains("mbox") => {
            return text.chars().filter(|&c| c != '(' && c != ')').collect();
        }
        n if n.contains("math") => "math",
        n => n,
    };
    format!("{name}{{{text}}}")
}

/// `get_symbol`: Greek names, `pi` and Euler's gamma, lower case.
pub(super) fn symbol_for(text: &str, sub: &str, tok: &Option<Tok>) -> Expr {
    let raw = format!("{}{}", text.trim(), sub);
    let letter = match tok {
        Some(Tok::Greek(name)) if sub.is_empty() => name.to_string(),
        _ => raw.strip_prefix('\\').map(|s| s.to_string()).unwrap_or(raw),
    };
    let singleton = |s: &str| match s {
        "pi" => Some(Expr::Const(Const::Pi)),
        "gamma" | "Gamma" => Some(Expr::Const(Const::EulerGamma)),
        _ => None,
    };
    if let Some(c) = singleton(&letter) {
        return c;
    }
    let lower = letter.to_lowercase();
    if let Some(c) = singleton(&lower) {
        return c;
    }
    Expr::Sym(lower)
}

/// `Rel(lh, rh)` continuing a chain `a < b < c` as latex2sympy2_extended
/// does: the new relation starts from the previous right-hand side.
pub(super) fn chain_relation(lhs: Expr, rel: Rel, rhs: Expr) -> Expr {
    match lhs {
        Expr::And(mut v) => {
            let prev = match v.last() {
                Some(Expr::Rel(_, _, r)) => (**r).clone(),
                _ => Expr::int(0),
            };
            v.push(Expr::rel(rel, prev, rhs));
            Expr::And(v)
        }
        Expr::Rel(r, a, b) => {
            let prev = (*b).clone();
            Expr::And(vec![Expr::Rel(r, a, b), Expr::rel(rel, prev, rhs)])
        }
        other => Expr::rel(rel, other, rhs),
    }
}

/// `convert_elements_to_set_or_tuple`.
pub(super) fn to_set_or_tuple(elems: Vec<Vec<Expr>>) -> PResult<Expr> {
    if elems.len() == 1 {
        let mut inner = elems.into_iter().next().unwrap_or_default();
        if inner.len() == 1 {
            return Ok(inner.pop().unwrap_or(Expr::int(0)));
        }
        return Ok(Expr::finite_set(inner));
    }
    if elems.iter().all(|e| e.len() == 1) {
        return Ok(Expr::finite_set(elems.into_iter().flatten().collect()));
    }
    Ok(Expr::finite_set(
        elems.into_iter().map(Expr::Tuple).collect(),
    ))
}

pub(super) fn tuple_to_set(e: Expr) -> Expr {
    match e {
        Expr::Tuple(v) => Expr::finite_set(v),
        o => o,
    }
}

/// `convert_number` for inputs like `1,000,000` and `0,111`.
pub(super) fn convert_comma_number(src: &str, limits: &Limits) -> PResult<Expr> {
    let s = src.trim();
    if s.starts_with('0') && s.contains(',') {
        let t = s.replacen(',', ".", 1);
        if t.contains(',') {
            return nomatch("bad number");
        }
        return number_expr(&t, limits);
    }
    let t: String = s.chars().filter(|&c| c != ',' && c != ' ').collect();
    let neg = t.starts_with('-');
    let body = t.trim_start_matches('-');
    let e = number_expr(body, limits)?;
    Ok(if neg { e.neg() } else { e })
}

/// `Interval(lo, hi)` as latex2sympy2_extended and SymPy build it: an
/// empty open interval `(a, a)` or reversed ends give a tuple, `[a, a]` is
/// `{a}`, infinite ends are open.
pub(super) fn make_interval(
    lo: Expr,
    hi: Expr,
    left_open: bool,
    right_open: bool,
    limits: &Limits,
) -> PResult<Expr> {
    let md = limits.max_digits;
    let cmp = eval::compare_real(&hi, &lo, md);
    use std::cmp::Ordering::*;
    if let Some(c) = cmp {
        if (left_open && right_open && c != Greater) || (!left_open && !right_open && c == Less) {
            return Ok(Expr::Tuple(vec![lo, hi]));
        }
    }
    // non-real constant ends are rejected by SymPy
    for e in [&lo, &hi] {
        if e.free_symbols().is_empty() {
            if let Ok(v) = eval::eval(e, &[]) {
                if !v.v.is_real() {
                    return nomatch("non-real interval");
                }
            }
        }
    }
    let left_open = left_open || matches!(lo, Expr::Const(Const::NegInf | Const::Inf));
    let right_open = right_open || matches!(hi, Expr::Const(Const::Inf | Const::NegInf));
    match cmp {
        Some(Less) => return Ok(Expr::SetKind(SetKind::Empty)),
        Some(Equal) => {
            if left_open || right_open {
                return Ok(Expr::SetKind(SetKind::Empty));
            }
            return Ok(Expr::finite_set(vec![lo]));
        }
        _ => {}
    }
    Ok(Expr::Interval(Box::new(Interval {
        lo,
        hi,
        lo_open: left_open,
        hi_open: right_open,
    })))
}

pub(super) fn make_binomial(n: Expr, k: Expr, limits: &Limits) -> PResult<Expr> {
    if let (Some(a), Some(b)) = (exact(&n, limits.max_digits), exact(&k, limits.max_digits)) {
        if !n.has_float() && !k.has_float() {
            if let Some(v) = binomial(&a, &b, limits.max_digits) {
                return Ok(Expr::rational(v));
            }
        }
    }
    Ok(Expr::Func(Func::Binomial, vec![n, k]))
}

pub(super) fn make_gamma(arg: Expr, limits: &Limits) -> Expr {
    if let Some(q) = exact(&arg, limits.max_digits) {
        if !arg.has_float() && q.is_integer() && q.is_positive() {
            if let Some(n) = q.numer().to_u64() {
                if let Some(f) = factorial(n - 1, limits.max_digits) {
                    return Expr::Int(f);
                }
            }
        }
    }
    Expr::Func(Func::Gamma, vec![arg])
}

/// `sympy.exp(arg)`: `exp(1)` is E, `exp(0)` is 1.
pub(super) fn make_exp(arg: Expr) -> Expr {
    match &arg {
        Expr::Int(n) if *n == BigInt::from(1) => Expr::Const(Const::E),
        Expr::Int(n) if n.is_zero() => Expr::int(1),
        _ => Expr::Func(Func::Exp, vec![arg]),
    }
}
