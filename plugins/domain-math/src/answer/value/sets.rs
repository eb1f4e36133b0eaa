//! Sets of real numbers in a canonical form (sorted disjoint pieces with
//! numeric ends), and the solution sets of one-variable relations
//! (SymPy's `as_set`) for polynomial relations of degree at most two.

use std::cmp::Ordering;

use crate::answer::expr::dd::DD;
use crate::answer::expr::eval::{self, exact, Val};
use crate::answer::expr::{Const, Expr, Interval, Rel, SetKind, Q};

/// An end of a piece: its value (possibly infinite) and whether the end
/// itself is excluded.
#[derive(Clone, Debug)]
struct End {
    v: Val,
    open: bool,
}

#[derive(Clone, Debug)]
struct Piece {
    lo: End,
    hi: End,
}

fn inf(neg: bool) -> Val {
    let x = if neg {
        f64::NEG_INFINITY
    } else {
        f64::INFINITY
    };
    Val {
        v: crate::answer::expr::dd::Cx::real(DD::new(x)),
        err: 0.0,
    }
}

fn cmp_val(a: &Val, b: &Val) -> Ordering {
    let (x, y) = (a.v.re, b.v.re);
    if !x.is_finite() || !y.is_finite() {
        return x.hi.partial_cmp(&y.hi).unwrap_or(Ordering::Equal);
    }
    if eval::values_close(a, b) {
        return Ordering::Equal;
    }
    if x.lt(y) {
        Ordering::Less
    } else {
        Ordering::Greater
    }
}

fn real_const(e: &Expr) -> Option<Val> {
    if !e.free_symbols().is_empty() {
        return None;
    }
    let v = eval::real_value(e)?;
    if v.v.re.hi.is_nan() {
        return None;
    }
    Some(v)
}

/// A set as sorted, disjoint, non-touching pieces; `None` when it is not
/// a set of reals with numeric ends.
fn canonical(e: &Expr, depth: usize) -> Option<Vec<Piece>> {
    if depth > 50 {
        return None;
    }
    let pieces = match e {
        Expr::Interval(i) => {
            let lo = real_const(&i.lo)?;
            let hi = real_const(&i.hi)?;
            vec![Piece {
                lo: End {
                    v: lo,
                    open: i.lo_open || !lo.v.re.is_finite(),
                },
                hi: End {
                    v: hi,
                    open: i.hi_open || !hi.v.re.is_finite(),
                },
            }]
        }
        Expr::Set(v) => {
            let mut out = Vec::new();
            for x in v {
                let p = real_const(x)?;
                if !p.v.re.is_finite() {
                    return None;
                }
                out.push(Piece {
                    lo: End { v: p, open: false },
                    hi: End { v: p, open: false },
                });
            }
            out
        }
        Expr::SetKind(SetKind::Reals) => vec![Piece {
            lo: End {
                v: inf(true),
                open: true,
            },
            hi: End {
                v: inf(false),
                open: true,
            },
        }],
        Expr::SetKind(SetKind::Empty) => Vec::new(),
        Expr::Union(parts) => {
            let mut out = Vec::new();
            for p in parts {
                out.extend(canonical(p, depth + 1)?);
            }
            out
        }
        Expr::Intersection(parts) => {
            let mut acc = canonical(parts.first()?, depth + 1)?;
            for p in &parts[1..] {
                let b = canonical(p, depth + 1)?;
                acc = intersect(&acc, &b);
            }
            acc
        }
        Expr::Complement(a, b) => {
            let a = canonical(a, depth + 1)?;
            let b = canonical(b, depth + 1)?;
            intersect(&a, &complement(&normalize(b)))
        }
        _ => return None,
    };
    Some(normalize(pieces))
}

fn is_empty_piece(p: &Piece) -> bool {
    match cmp_val(&p.lo.v, &p.hi.v) {
        Ordering::Greater => true,
        Ordering::Equal => p.lo.open || p.hi.open,
        Ordering::Less => false,
    }
}

/// Sorts and merges overlapping or touching pieces.
fn normalize(mut v: Vec<Piece>) -> Vec<Piece> {
    v.retain(|p| !is_empty_piece(p));
    v.sort_by(|a, b| cmp_val(&a.lo.v, &b.lo.v).then((a.lo.open as u8).cmp(&(b.lo.open as u8))));
    let mut out: Vec<Piece> = Vec::new();
    for p in v {
        if let Some(last) = out.last_mut() {
            let c = cmp_val(&p.lo.v, &last.hi.v);
            let touches =
                c == Ordering::Less || (c == Ordering::Equal && !(p.lo.open && last.hi.open));
            if touches {
                // extend the last piece
                match cmp_val(&p.hi.v, &last.hi.v) {
                    Ordering::Greater => last.hi = p.hi,
                    Ordering::Equal => last.hi.open = last.hi.open && p.hi.open,
                    Ordering::Less => {}
                }
                continue;
            }
        }
        out.push(p);
    }
    out
}

fn intersect(a: &[Piece], b: &[Piece]) -> Vec<Piece> {
    let mut out = Vec::new();
    for x in a {
        for y in b {
            let lo = match cmp_val(&x.lo.v, &y.lo.v) {
                Ordering::Greater => x.lo.clone(),
                Ordering::Less => y.lo.clone(),
                Ordering::Equal => End {
                    v: x.lo.v,
                    open: x.lo.open || y.lo.open,
                },
            };
            let hi = match cmp_val(&x.hi.v, &y.hi.v) {
                Ordering::Less => x.hi.clone(),
                Ordering::Greater => y.hi.clone(),
                Ordering::Equal => End {
                    v: x.hi.v,
                    open: x.hi.open || y.hi.open,
                },
            };
            let p = Piece { lo, hi };
            if !is_empty_piece(&p) {
                out.push(p);
            }
        }
    }
    normalize(out)
}

/// Complement in the reals of a normalised piece list.
fn complement(v: &[Piece]) -> Vec<Piece> {
    let mut out = Vec::new();
    let mut lo = End {
        v: inf(true),
        open: true,
    };
    for p in v {
        out.push(Piece {
            lo: lo.clone(),
            hi: End {
                v: p.lo.v,
                open: !p.lo.open,
            },
        });
        lo = End {
            v: p.hi.v,
            open: !p.hi.open,
        };
    }
    out.push(Piece {
        lo,
        hi: End {
            v: inf(false),
            open: true,
        },
    });
    // infinite ends are always open
    for p in &mut out {
        if !p.lo.v.v.re.is_finite() {
            p.lo.open = true;
        }
        if !p.hi.v.v.re.is_finite() {
            p.hi.open = true;
        }
    }
    normalize(out)
}

/// Whether two sets of reals are equal (`Some(false)` when they are
/// known to differ, `None` when either is not a numeric set of reals).
pub(crate) fn real_sets_equal(a: &Expr, b: &Expr) -> Option<bool> {
    let x = canonical(a, 0)?;
    let y = canonical(b, 0)?;
    if x.len() != y.len() {
        return Some(false);
    }
    for (p, q) in x.iter().zip(&y) {
        if cmp_val(&p.lo.v, &q.lo.v) != Ordering::Equal
            || cmp_val(&p.hi.v, &q.hi.v) != Ordering::Equal
            || p.lo.open != q.lo.open
            || p.hi.open != q.hi.open
        {
            return Some(false);
        }
    }
    Some(true)
}

// ----- one-variable relations ---------------------------------------------

/// Polynomial in one variable with constant coefficient expressions.
type Poly = Vec<Expr>;

const MAX_DEGREE: usize = 4;

fn poly_add(a: Poly, b: Poly) -> Poly {
    let n = a.len().max(b.len());
    let mut out = Vec::with_capacity(n);
    let mut ai = a.into_iter();
    let mut bi = b.into_iter();
    for _ in 0..n {
        match (ai.next(), bi.next()) {
            (Some(x), Some(y)) => out.push(Expr::Add(vec![x, y])),
            (Some(x), None) | (None, Some(x)) => out.push(x),
            (None, None) => {}
        }
    }
    out
}

fn poly_mul(a: &Poly, b: &Poly) -> Option<Poly> {
    if a.len() + b.len() > MAX_DEGREE + 2 {
        return None;
    }
    let mut out: Vec<Vec<Expr>> = vec![Vec::new(); a.len() + b.len() - 1];
    for (i, x) in a.iter().enumerate() {
        for (j, y) in b.iter().enumerate() {
            out[i + j].push(Expr::Mul(vec![x.clone(), y.clone()]));
        }
    }
    Some(out.into_iter().map(Expr::Add).collect())
}

fn to_poly(e: &Expr, x: &str, depth: usize) -> Option<Poly> {
    if depth > 60 || e.size() > 400 {
        return None;
    }
    if !e.free_symbols().iter().any(|s| s == x) {
        if !e.free_symbols().is_empty() {
            return None;
        }
        return Some(vec![e.clone()]);
    }
    match e {
        Expr::Sym(s) if s == x => Some(vec![Expr::int(0), Expr::int(1)]),
        Expr::Add(v) => {
            let mut acc: Poly = vec![Expr::int(0)];
            for t in v {
                acc = poly_add(acc, to_poly(t, x, depth + 1)?);
            }
            Some(acc)
        }
        Expr::Mul(v) => {
            let mut acc: Poly = vec![Expr::int(1)];
            for t in v {
                acc = poly_mul(&acc, &to_poly(t, x, depth + 1)?)?;
            }
            Some(acc)
        }
        Expr::Pow(b, n) => {
            let k = match &**n {
                Expr::Int(k) => num_traits::ToPrimitive::to_usize(k)?,
                _ => return None,
            };
            if k > MAX_DEGREE {
                return None;
            }
            let base = to_poly(b, x, depth + 1)?;
            let mut acc: Poly = vec![Expr::int(1)];
            for _ in 0..k {
                acc = poly_mul(&acc, &base)?;
            }
            Some(acc)
        }
        Expr::Percent(inner) => {
            let p = to_poly(inner, x, depth + 1)?;
            poly_mul(&p, &vec![Expr::rational(Q::new(1.into(), 100.into())?)])
        }
        _ => None,
    }
}

/// A constant expression, folded to a rational when exact.
fn fold(e: Expr) -> Expr {
    match exact(&e, 400) {
        Some(q) if !e.has_float() => Expr::rational(q),
        _ => e,
    }
}

/// Sign of a constant: -1, 0, 1 (`None` if not real).
fn sign(e: &Expr) -> Option<i32> {
    if let Some(q) = exact(e, 400) {
        return Some(if q.is_zero() {
            0
        } else if q.is_negative() {
            -1
        } else {
            1
        });
    }
    let v = eval::real_value(e)?;
    if !v.v.re.is_finite() {
        return None;
    }
    if v.v.re.to_f64().abs() <= 64.0 * v.err {
        return Some(0);
    }
    Some(if v.v.re.hi < 0.0 { -1 } else { 1 })
}

/// Real roots of a polynomial of degree <= 2, sorted, as expressions.
fn real_roots(p: &[Expr]) -> Option<Vec<Expr>> {
    let mut c: Vec<Expr> = p.iter().cloned().map(fold).collect();
    while c.len() > 1 && sign(c.last()?)? == 0 {
        c.pop();
    }
    match c.len() {
        1 => Some(Vec::new()),
        2 => {
            // c0 + c1 x = 0
            let r = fold(Expr::Mul(vec![
                Expr::int(-1),
                c[0].clone(),
                Expr::pow(c[1].clone(), Expr::int(-1)),
            ]));
            Some(vec![r])
        }
        3 => {
            let (a, b, k) = (c[2].clone(), c[1].clone(), c[0].clone());
            let disc = fold(Expr::Add(vec![
                Expr::pow(b.clone(), Expr::int(2)),
                Expr::Mul(vec![Expr::int(-4), a.clone(), k]),
            ]));
            let two_a = Expr::Mul(vec![Expr::int(2), a]);
            match sign(&disc)? {
                -1 => Some(Vec::new()),
                0 => Some(vec![fold(Expr::Mul(vec![
                    Expr::int(-1),
                    b,
                    Expr::pow(two_a, Expr::int(-1)),
                ]))]),
                _ => {
                    let sq = match exact(&disc, 400).and_then(|q| q.root(2)) {
                        Some(r) => Expr::rational(r),
                        None => Expr::pow(disc, Expr::rational(Q::new(1.into(), 2.into())?)),
                    };
                    let r1 = fold(Expr::Mul(vec![
                        Expr::Add(vec![Expr::Mul(vec![Expr::int(-1), b.clone()]), sq.clone()]),
                        Expr::pow(two_a.clone(), Expr::int(-1)),
                    ]));
                    let r2 = fold(Expr::Mul(vec![
                        Expr::Add(vec![
                            Expr::Mul(vec![Expr::int(-1), b]),
                            Expr::Mul(vec![Expr::int(-1), sq]),
                        ]),
                        Expr::pow(two_a, Expr::int(-1)),
                    ]));
                    let mut v = vec![r1, r2];
                    v.sort_by(|x, y| eval::compare_real(x, y, 400).unwrap_or(Ordering::Equal));
                    Some(v)
                }
            }
        }
        _ => None,
    }
}

fn holds(rel: Rel, s: i32) -> bool {
    match rel {
        Rel::Eq => s == 0,
        Rel::Ne => s != 0,
        Rel::Lt => s < 0,
        Rel::Le => s <= 0,
        Rel::Gt => s > 0,
        Rel::Ge => s >= 0,
    }
}

fn poly_sign_at(p: &[Expr], x: f64) -> Option<i32> {
    let mut acc = DD::ZERO;
    let xv = DD::new(x);
    for c in p.iter().rev() {
        let cv = eval::real_value(c)?;
        acc = acc.mul(xv).add(cv.v.re);
    }
    if !acc.is_finite() {
        return None;
    }
    Some(if acc.hi > 0.0 {
        1
    } else if acc.hi < 0.0 {
        -1
    } else {
        0
    })
}

/// Solution set in the reals of `lhs rel rhs` in the single variable `x`.
fn relation_set(rel: Rel, lhs: &Expr, rhs: &Expr, x: &str) -> Option<Expr> {
    // `-oo < x`, `x < oo`: true or false for every real x
    let inf_sign = |e: &Expr| match e {
        Expr::Const(Const::Inf) => Some(1),
        Expr::Const(Const::NegInf) => Some(-1),
        _ => None,
    };
    if let Some(s) = inf_sign(lhs).or_else(|| inf_sign(rhs).map(|v| -v)) {
        if inf_sign(lhs).is_some() && inf_sign(rhs).is_some() {
            return None;
        }
        // sign of lhs - rhs is s
        return Some(if holds(rel, s) {
            Expr::SetKind(SetKind::Reals)
        } else {
            Expr::SetKind(SetKind::Empty)
        });
    }
    let d = Expr::Add(vec![
        lhs.clone(),
        Expr::Mul(vec![Expr::int(-1), rhs.clone()]),
    ]);
    if d.any(&|e| matches!(e, Expr::Func(crate::answer::expr::Func::Abs, _))) {
        return abs_relation_set(rel, &d, x);
    }
    poly_relation_set(rel, &d, x)
}

fn is_abs(e: &Expr) -> bool {
    matches!(e, Expr::Func(crate::answer::expr::Func::Abs, _))
}

/// Arguments of the absolute values in `e` (outermost ones).
fn abs_args(e: &Expr, out: &mut Vec<Expr>, depth: usize) -> Option<()> {
    if depth > 60 {
        return None;
    }
    if let Expr::Func(crate::answer::expr::Func::Abs, v) = e {
        let g = v.first()?;
        if g.any(&is_abs) {
            return None;
        }
        out.push(g.clone());
        return Some(());
    }
    for c in e.children() {
        abs_args(c, out, depth + 1)?;
    }
    Some(())
}

/// `e` with each `|g|` replaced by `g` or `-g` as `g` is signed at `x = m`.
fn drop_abs(e: &Expr, x: &str, m: f64) -> Option<Expr> {
    let env = [(x.to_string(), crate::answer::expr::dd::Cx::real(DD::new(m)))];
    let pick = |g: &Expr| -> Option<Expr> {
        let v = eval::eval(g, &env).ok()?;
        if !v.v.is_real() {
            return None;
        }
        Some(if v.v.re.hi < 0.0 {
            Expr::Mul(vec![Expr::int(-1), g.clone()])
        } else {
            g.clone()
        })
    };
    fn go(e: &Expr, pick: &dyn Fn(&Expr) -> Option<Expr>, depth: usize) -> Option<Expr> {
        if depth > 60 {
            return None;
        }
        Some(match e {
            Expr::Func(crate::answer::expr::Func::Abs, v) => pick(v.first()?)?,
            Expr::Add(v) => Expr::Add(
                v.iter()
                    .map(|c| go(c, pick, depth + 1))
                    .collect::<Option<_>>()?,
            ),
            Expr::Mul(v) => Expr::Mul(
                v.iter()
                    .map(|c| go(c, pick, depth + 1))
                    .collect::<Option<_>>()?,
            ),
            Expr::Pow(b, p) => Expr::pow(go(b, pick, depth + 1)?, (**p).clone()),
            Expr::Percent(a) => Expr::Percent(Box::new(go(a, pick, depth + 1)?)),
            other if other.any(&is_abs) => return None,
            other => other.clone(),
        })
    }
    go(e, &pick, 0)
}

/// Relations with absolute values of polynomials: solved piece by piece
/// between the zeros of the absolute values' arguments.
fn abs_relation_set(rel: Rel, d: &Expr, x: &str) -> Option<Expr> {
    let mut args = Vec::new();
    abs_args(d, &mut args, 0)?;
    let mut breaks: Vec<Expr> = Vec::new();
    for g in &args {
        let p = to_poly(g, x, 0)?;
        breaks.extend(real_roots(&p)?);
    }
    let mut keyed: Vec<(f64, Expr)> = Vec::new();
    for b in breaks {
        let v = eval::real_value(&b)?.v.re.to_f64();
        if !v.is_finite() {
            return None;
        }
        if !keyed
            .iter()
            .any(|(w, _)| (w - v).abs() <= 1e-12 * (1.0 + v.abs()))
        {
            keyed.push((v, b));
        }
    }
    keyed.sort_by(|a, b| a.0.total_cmp(&b.0));
    let n = keyed.len();
    let mut ends: Vec<Expr> = keyed.iter().map(|(_, e)| e.clone()).collect();
    let mut pieces: Vec<Piece> = Vec::new();
    for gap in 0..=n {
        let (lo, hi) = (
            if gap == 0 {
                f64::NEG_INFINITY
            } else {
                keyed[gap - 1].0
            },
            if gap == n {
                f64::INFINITY
            } else {
                keyed[gap].0
            },
        );
        let m = match (lo.is_finite(), hi.is_finite()) {
            (true, true) => (lo + hi) / 2.0,
            (true, false) => lo + 1.0 + lo.abs(),
            (false, true) => hi - 1.0 - hi.abs(),
            (false, false) => 0.0,
        };
        let di = drop_abs(d, x, m)?;
        let si = poly_relation_set(rel, &di, x)?;
        collect_ends(&si, &mut ends);
        let region = vec![Piece {
            lo: End {
                v: if gap == 0 {
                    inf(true)
                } else {
                    eval::real_value(&keyed[gap - 1].1)?
                },
                open: true,
            },
            hi: End {
                v: if gap == n {
                    inf(false)
                } else {
                    eval::real_value(&keyed[gap].1)?
                },
                open: true,
            },
        }];
        pieces.extend(intersect(&canonical(&si, 0)?, &region));
    }
    // the break points themselves
    for (_, b) in &keyed {
        let bv = eval::real_value(b)?;
        let env = [(x.to_string(), bv.v)];
        let v = eval::eval(d, &env).ok()?;
        if !v.v.is_real() {
            continue;
        }
        let s = if v.v.re.to_f64().abs() <= 64.0 * v.err + 1e-25 {
            0
        } else if v.v.re.hi < 0.0 {
            -1
        } else {
            1
        };
        if holds(rel, s) {
            pieces.push(Piece {
                lo: End { v: bv, open: false },
                hi: End { v: bv, open: false },
            });
        }
    }
    pieces_to_expr(normalize(pieces), &ends)
}

/// Rebuilds a set with expression ends from numeric pieces, taking each
/// end from `ends` (the roots and break points it came from).
fn pieces_to_expr(pieces: Vec<Piece>, ends: &[Expr]) -> Option<Expr> {
    let find = |v: &Val| -> Option<Expr> {
        if !v.v.re.is_finite() {
            return Some(Expr::Const(if v.v.re.hi < 0.0 {
                Const::NegInf
            } else {
                Const::Inf
            }));
        }
        ends.iter()
            .find(|e| eval::real_value(e).is_some_and(|w| eval::values_close(&w, v)))
            .cloned()
    };
    let mut parts = Vec::new();
    for p in pieces {
        let lo = find(&p.lo.v)?;
        let hi = find(&p.hi.v)?;
        if cmp_val(&p.lo.v, &p.hi.v) == Ordering::Equal {
            parts.push(Expr::Set(vec![lo]));
        } else {
            parts.push(Expr::Interval(Box::new(Interval {
                lo,
                hi,
                lo_open: p.lo.open,
                hi_open: p.hi.open,
            })));
        }
    }
    Some(simplify_union(parts))
}

/// Solution set of the polynomial relation `d rel 0`.
fn poly_relation_set(rel: Rel, d: &Expr, x: &str) -> Option<Expr> {
    let p = to_poly(d, x, 0)?;
    let roots = real_roots(&p)?;
    let vals: Option<Vec<f64>> = roots
        .iter()
        .map(|r| eval::real_value(r).map(|v| v.v.re.to_f64()))
        .collect();
    let vals = vals?;
    if vals.iter().any(|v| !v.is_finite()) {
        return None;
    }
    // test points between and around the roots
    let mut parts: Vec<Expr> = Vec::new();
    let n = roots.len();
    let gap_point = |i: usize| -> f64 {
        // i-th gap: (-inf, r0), (r0, r1), ..., (r_{n-1}, inf)
        if n == 0 {
            0.0
        } else if i == 0 {
            vals[0] - 1.0 - vals[0].abs()
        } else if i == n {
            vals[n - 1] + 1.0 + vals[n - 1].abs()
        } else {
            (vals[i - 1] + vals[i]) / 2.0
        }
    };
    for gap in 0..=n {
        let s = poly_sign_at(&p, gap_point(gap))?;
        if holds(rel, s) {
            let lo = if gap == 0 {
                Expr::Const(Const::NegInf)
            } else {
                roots[gap - 1].clone()
            };
            let hi = if gap == n {
                Expr::Const(Const::Inf)
            } else {
                roots[gap].clone()
            };
            parts.push(Expr::Interval(Box::new(Interval {
                lo,
                hi,
                lo_open: true,
                hi_open: true,
            })));
        }
    }
    if holds(rel, 0) {
        for r in &roots {
            parts.push(Expr::Set(vec![r.clone()]));
        }
    }
    Some(simplify_union(parts))
}

/// Merges adjacent pieces into intervals written with expression ends.
fn simplify_union(parts: Vec<Expr>) -> Expr {
    // collect (lo, hi, lo_open, hi_open) and merge touching ones
    let mut segs: Vec<(Expr, Expr, bool, bool)> = parts
        .into_iter()
        .map(|p| match p {
            Expr::Interval(i) => (i.lo, i.hi, i.lo_open, i.hi_open),
            Expr::Set(v) => {
                let x = v.into_iter().next().unwrap_or(Expr::int(0));
                (x.clone(), x, false, false)
            }
            other => (other.clone(), other, false, false),
        })
        .collect();
    segs.sort_by(|a, b| {
        eval::compare_real(&a.0, &b.0, 400)
            .unwrap_or(Ordering::Equal)
            .then((a.2 as u8).cmp(&(b.2 as u8)))
    });
    let mut out: Vec<(Expr, Expr, bool, bool)> = Vec::new();
    for s in segs {
        if let Some(last) = out.last_mut() {
            if eval::compare_real(&last.1, &s.0, 400) == Some(Ordering::Equal) && !(last.3 && s.2) {
                if eval::compare_real(&s.1, &last.1, 400) == Some(Ordering::Greater) {
                    last.1 = s.1;
                    last.3 = s.3;
                } else {
                    last.3 = last.3 && s.3;
                }
                continue;
            }
        }
        out.push(s);
    }
    let pieces: Vec<Expr> = out
        .into_iter()
        .map(|(lo, hi, lo_open, hi_open)| {
            if eval::compare_real(&lo, &hi, 400) == Some(Ordering::Equal) {
                Expr::Set(vec![lo])
            } else {
                let lo_inf = matches!(lo, Expr::Const(Const::NegInf));
                let hi_inf = matches!(hi, Expr::Const(Const::Inf));
                if lo_inf && hi_inf {
                    return Expr::SetKind(SetKind::Reals);
                }
                Expr::Interval(Box::new(Interval {
                    lo,
                    hi,
                    lo_open,
                    hi_open,
                }))
            }
        })
        .collect();
    // single points merge into one finite set
    let (points, others): (Vec<Expr>, Vec<Expr>) =
        pieces.into_iter().partition(|p| matches!(p, Expr::Set(_)));
    let mut all = others;
    if !points.is_empty() {
        let elems: Vec<Expr> = points
            .into_iter()
            .flat_map(|p| match p {
                Expr::Set(v) => v,
                o => vec![o],
            })
            .collect();
        all.push(Expr::finite_set(elems));
    }
    match all.len() {
        0 => Expr::SetKind(SetKind::Empty),
        1 => all.pop().unwrap_or(Expr::SetKind(SetKind::Empty)),
        _ => Expr::Union(all),
    }
}

/// SymPy's `as_set` for a relation or a chain of relations in one
/// variable; `None` when it cannot be computed here.
pub(crate) fn relation_as_set(e: &Expr) -> Option<Expr> {
    let syms = e.free_symbols();
    if syms.len() != 1 {
        return None;
    }
    let x = &syms[0];
    match e {
        Expr::Rel(r, a, b) => relation_set(*r, a, b, x),
        Expr::And(v) => {
            let sets: Option<Vec<Expr>> = v
                .iter()
                .map(|r| match r {
                    Expr::Rel(k, a, b) => {
                        let s = r.free_symbols();
                        if s.is_empty() {
                            None
                        } else {
                            relation_set(*k, a, b, x)
                        }
                    }
                    _ => None,
                })
                .collect();
            let sets = sets?;
            // intersect numerically, then rebuild with expression ends
            let mut acc = canonical(sets.first()?, 0)?;
            for s in &sets[1..] {
                acc = intersect(&acc, &canonical(s, 0)?);
            }
            // ends of the result are ends of some input piece
            let mut ends: Vec<Expr> = Vec::new();
            for s in &sets {
                collect_ends(s, &mut ends);
            }
            pieces_to_expr(acc, &ends)
        }
        _ => None,
    }
}

fn collect_ends(e: &Expr, out: &mut Vec<Expr>) {
    match e {
        Expr::Interval(i) => {
            out.push(i.lo.clone());
            out.push(i.hi.clone());
        }
        Expr::Set(v) => out.extend(v.iter().cloned()),
        Expr::Union(v) => v.iter().for_each(|x| collect_ends(x, out)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn iv(lo: Expr, hi: Expr, lo_open: bool, hi_open: bool) -> Expr {
        Expr::Interval(Box::new(Interval {
            lo,
            hi,
            lo_open,
            hi_open,
        }))
    }

    #[test]
    fn canonical_sets() {
        let a = Expr::Union(vec![
            iv(Expr::int(1), Expr::int(2), false, true),
            iv(Expr::int(2), Expr::int(3), false, false),
        ]);
        let b = iv(Expr::int(1), Expr::int(3), false, false);
        assert_eq!(real_sets_equal(&a, &b), Some(true));
        let c = Expr::Complement(
            Box::new(Expr::SetKind(SetKind::Reals)),
            Box::new(Expr::Set(vec![Expr::int(1)])),
        );
        let d = Expr::Union(vec![
            iv(Expr::Const(Const::NegInf), Expr::int(1), true, true),
            iv(Expr::int(1), Expr::Const(Const::Inf), true, true),
        ]);
        assert_eq!(real_sets_equal(&c, &d), Some(true));
        assert_eq!(real_sets_equal(&b, &d), Some(false));
    }

    #[test]
    fn relations_as_sets() {
        let x = Expr::sym("x");
        // x <= 3
        let s = relation_as_set(&Expr::rel(Rel::Le, x.clone(), Expr::int(3))).unwrap();
        assert_eq!(s.to_string(), "(-oo, 3]");
        // x^2 > 4
        let s = relation_as_set(&Expr::rel(
            Rel::Gt,
            Expr::pow(x.clone(), Expr::int(2)),
            Expr::int(4),
        ))
        .unwrap();
        assert_eq!(s.to_string(), "(-oo, -2) U (2, oo)");
        // 1 < x <= 2
        let s = relation_as_set(&Expr::And(vec![
            Expr::rel(Rel::Lt, Expr::int(1), x.clone()),
            Expr::rel(Rel::Le, x.clone(), Expr::int(2)),
        ]))
        .unwrap();
        assert_eq!(s.to_string(), "(1, 2]");
        // x != 3
        let s = relation_as_set(&Expr::rel(Rel::Ne, x.clone(), Expr::int(3))).unwrap();
        assert_eq!(s.to_string(), "(-oo, 3) U (3, oo)");
        // |x| > 1
        let ax = Expr::Func(crate::answer::expr::Func::Abs, vec![x.clone()]);
        let s = relation_as_set(&Expr::rel(Rel::Gt, ax.clone(), Expr::int(1))).unwrap();
        assert_eq!(s.to_string(), "(-oo, -1) U (1, oo)");
        // 1 <= |x| <= 3/2
        let s = relation_as_set(&Expr::And(vec![
            Expr::rel(Rel::Le, Expr::int(1), ax.clone()),
            Expr::rel(
                Rel::Le,
                ax,
                Expr::rational(Q::new(3.into(), 2.into()).unwrap()),
            ),
        ]))
        .unwrap();
        assert_eq!(s.to_string(), "[-3/2, -1] U [1, 3/2]");
    }
}
