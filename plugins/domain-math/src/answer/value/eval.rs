//! Values of expressions: exact rationals where the arithmetic stays
//! rational and small, otherwise complex double-double numbers with an
//! estimate of the rounding error, at given values of the free symbols.
//!
//! Evaluation is bounded: recursion depth is capped, exact powers and
//! factorials refuse results over the digit cap, and every operation on
//! floats is total (non-finite results are reported, never unwrapped).

use num_bigint::BigInt;
use num_integer::Integer;
use num_traits::{One, Signed, ToPrimitive};

use super::dd::{Cx, DD, EPS};
use super::{Const, Expr, Func, Q};

/// Deepest expression tree evaluated.
const MAX_EVAL_DEPTH: usize = 400;

/// Most terms a bounded operation (factorial, binomial) multiplies.
const MAX_PRODUCT_TERMS: u64 = 5_000;

/// Exact rational value of a constant expression built from rationals,
/// decimals, percentages, `+ - * /`, integer powers, exact roots,
/// `| |`, floor, ceiling, factorial, binomial, Mod, Max and Min.
pub(crate) fn exact(e: &Expr, max_digits: u64) -> Option<Q> {
    exact_d(e, max_digits, 0)
}

fn exact_d(e: &Expr, md: u64, depth: usize) -> Option<Q> {
    if depth > MAX_EVAL_DEPTH {
        return None;
    }
    let d = depth + 1;
    let r = match e {
        Expr::Int(n) => Q::int(n.clone()),
        Expr::Rat(q) => q.clone(),
        Expr::Float(f) => f.value.clone(),
        Expr::Percent(x) => exact_d(x, md, d)?.div(&Q::from_i64(100))?,
        Expr::Add(v) => {
            let mut acc = Q::zero();
            for t in v {
                acc = acc.add(&exact_d(t, md, d)?);
                if acc.digits() > md {
                    return None;
                }
            }
            acc
        }
        Expr::Mul(v) => {
            let mut acc = Q::one();
            for t in v {
                acc = acc.mul(&exact_d(t, md, d)?);
                if acc.digits() > md {
                    return None;
                }
            }
            acc
        }
        Expr::Pow(b, x) => {
            let base = exact_d(b, md, d)?;
            let ex = exact_d(x, md, d)?;
            exact_pow(&base, &ex, md)?
        }
        Expr::Func(f, args) => {
            let vals: Option<Vec<Q>> = args.iter().map(|a| exact_d(a, md, d)).collect();
            let vals = vals?;
            exact_func(*f, &vals, md)?
        }
        _ => return None,
    };
    if r.digits() > md {
        return None;
    }
    Some(r)
}

/// `base^ex` exactly, when rational and within the digit cap.
pub(crate) fn exact_pow(base: &Q, ex: &Q, md: u64) -> Option<Q> {
    if ex.is_integer() {
        let n = ex.numer().to_i64()?;
        if base.is_zero() && n < 0 {
            return None;
        }
        return base.pow(n, md);
    }
    // p/q: exact q-th root then the power; negative bases have complex
    // principal roots
    if base.is_negative() {
        return None;
    }
    let q = ex.denom().to_u32()?;
    if q > 64 {
        return None;
    }
    let root = base.root(q)?;
    let p = ex.numer().to_i64()?;
    if root.is_zero() && p < 0 {
        return None;
    }
    root.pow(p, md)
}

fn exact_func(f: Func, v: &[Q], md: u64) -> Option<Q> {
    match (f, v) {
        (Func::Abs, [x]) => Some(x.abs()),
        (Func::Floor, [x]) => Some(Q::int(x.floor())),
        (Func::Ceil, [x]) => Some(Q::int(x.ceil())),
        (Func::Factorial, [x]) => {
            if !x.is_integer() || x.is_negative() {
                return None;
            }
            factorial(x.numer().to_u64()?, md).map(Q::int)
        }
        (Func::Gamma, [x]) => {
            if !x.is_integer() || !x.is_positive() {
                return None;
            }
            factorial(x.numer().to_u64()? - 1, md).map(Q::int)
        }
        (Func::Binomial, [n, k]) => binomial(n, k, md),
        (Func::Mod, [a, b]) => {
            if b.is_zero() {
                return None;
            }
            let q = a.div(b)?;
            Some(a.sub(&b.mul(&Q::int(q.floor()))))
        }
        (Func::Max, vals) if !vals.is_empty() => vals.iter().max().cloned(),
        (Func::Min, vals) if !vals.is_empty() => vals.iter().min().cloned(),
        _ => None,
    }
}

/// `n!` when it has at most `md` digits.
pub(crate) fn factorial(n: u64, md: u64) -> Option<BigInt> {
    if n > MAX_PRODUCT_TERMS {
        return None;
    }
    let mut acc = BigInt::one();
    for i in 2..=n {
        acc *= i;
        if acc.bits() * 30103 / 100000 > md {
            return None;
        }
    }
    Some(acc)
}

/// SymPy's `binomial(n, k)` for rational arguments with integer `k`.
pub(crate) fn binomial(n: &Q, k: &Q, md: u64) -> Option<Q> {
    if !k.is_integer() {
        return None;
    }
    let k = k.numer().to_i64()?;
    if k < 0 {
        return Some(Q::zero());
    }
    if n.is_integer() {
        let nn = n.numer();
        if !nn.is_negative() && BigInt::from(k) > *nn {
            return Some(Q::zero());
        }
        // use the smaller of k and n-k for non-negative n
        let k = if !nn.is_negative() {
            let nk = nn - BigInt::from(k);
            match nk.to_i64() {
                Some(nk) if nk < k => nk,
                _ => k,
            }
        } else {
            k
        };
        if k as u64 > MAX_PRODUCT_TERMS {
            return None;
        }
        // estimate the size first: sum of log10 |n - i| / (i + 1)
        let nf = n.to_dd().to_f64();
        let mut digits = 0.0f64;
        for i in 0..k {
            digits += ((nf - i as f64).abs().max(1.0) / (i + 1) as f64).log10();
            if digits > md as f64 {
                return None;
            }
        }
        // exact integer steps: acc * (n - i) is divisible by i + 1
        let mut acc = BigInt::from(1);
        for i in 0..k {
            acc = acc * (nn - BigInt::from(i)) / BigInt::from(i + 1);
        }
        return Some(Q::int(acc));
    }
    if k as u64 > MAX_PRODUCT_TERMS {
        return None;
    }
    let mut acc = Q::one();
    for i in 0..k {
        acc = acc.mul(&n.sub(&Q::from_i64(i))).div(&Q::from_i64(i + 1))?;
        if acc.digits() > md {
            return None;
        }
    }
    Some(acc)
}

/// Greatest common divisor of rationals (SymPy: gcd of numerators over
/// lcm of denominators).
pub(crate) fn gcd_q(a: &Q, b: &Q) -> Q {
    let n = a.numer().gcd(b.numer());
    let d = a.denom().lcm(b.denom());
    Q::new(n, d).unwrap_or_else(Q::zero)
}

pub(crate) fn lcm_q(a: &Q, b: &Q) -> Q {
    if a.is_zero() || b.is_zero() {
        return Q::zero();
    }
    let n = a.numer().lcm(b.numer());
    let d = a.denom().gcd(b.denom());
    Q::new(n.abs(), d).unwrap_or_else(Q::zero)
}

/// A numeric value and an estimate of its absolute error.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Val {
    pub v: Cx,
    pub err: f64,
}

impl Val {
    fn exact(v: Cx) -> Val {
        let m = v.abs_f64();
        Val { v, err: m * EPS }
    }

    pub fn mag(&self) -> f64 {
        self.v.abs_f64()
    }

    pub fn is_finite(&self) -> bool {
        self.v.is_finite() && self.err.is_finite()
    }
}

/// Why a value could not be computed.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum EvalErr {
    /// A free symbol without a value.
    Symbolic,
    /// Division by zero, logarithm of zero, and the like.
    Undefined,
    /// Not a number (a set, a relation, a matrix, ...).
    NotScalar,
    /// Too deep or too large.
    TooBig,
}

/// Values of the free symbols.
pub(crate) type Env = [(String, Cx)];

fn lookup(env: &Env, name: &str) -> Option<Cx> {
    env.iter().find(|(k, _)| k == name).map(|(_, v)| *v)
}

/// Evaluates a scalar expression numerically.
pub(crate) fn eval(e: &Expr, env: &Env) -> Result<Val, EvalErr> {
    eval_d(e, env, 0, false)
}

/// Like [`eval`], with decimals at their binary (53-bit) values, as SymPy
/// stores `Float`s.
pub(crate) fn eval_binary(e: &Expr, env: &Env) -> Result<Val, EvalErr> {
    eval_d(e, env, 0, true)
}

fn f64_of(x: f64) -> f64 {
    if x.is_finite() {
        x
    } else {
        f64::INFINITY
    }
}

fn eval_d(e: &Expr, env: &Env, depth: usize, bin: bool) -> Result<Val, EvalErr> {
    if depth > MAX_EVAL_DEPTH {
        return Err(EvalErr::TooBig);
    }
    let d = depth + 1;
    match e {
        Expr::Int(n) => Ok(Val::exact(Cx::real(DD::from_bigint(n)))),
        Expr::Rat(q) => Ok(Val::exact(Cx::real(q.to_dd()))),
        Expr::Float(f) if bin => {
            let x = f
                .text
                .parse::<f64>()
                .unwrap_or_else(|_| f.value.to_dd().to_f64());
            Ok(Val::exact(Cx::real(DD::new(x))))
        }
        Expr::Float(f) => Ok(Val::exact(Cx::real(f.value.to_dd()))),
        Expr::Sym(s) => lookup(env, s)
            .map(|v| Val { v, err: 0.0 })
            .ok_or(EvalErr::Symbolic),
        Expr::Const(c) => match c {
            Const::Pi => Ok(Val::exact(Cx::real(DD::PI))),
            Const::E => Ok(Val::exact(Cx::real(DD::E))),
            Const::EulerGamma => Ok(Val::exact(Cx::real(DD::EULER))),
            Const::I => Ok(Val { v: Cx::I, err: 0.0 }),
            Const::Inf => Ok(Val {
                v: Cx::real(DD::new(f64::INFINITY)),
                err: 0.0,
            }),
            Const::NegInf => Ok(Val {
                v: Cx::real(DD::new(f64::NEG_INFINITY)),
                err: 0.0,
            }),
            Const::ComplexInf | Const::NaN => Err(EvalErr::Undefined),
        },
        Expr::Percent(x) => {
            let a = eval_d(x, env, d, bin)?;
            let hundred = Cx::real(DD::new(100.0));
            Ok(Val {
                v: a.v.div(hundred),
                err: a.err / 100.0 + a.mag() * EPS / 50.0,
            })
        }
        Expr::Add(v) => {
            let mut acc = Cx::ZERO;
            let mut err = 0.0;
            let mut scale = 0.0;
            for t in v {
                let x = eval_d(t, env, d, bin)?;
                acc = acc.add(x.v);
                err += x.err;
                scale += x.mag();
            }
            Ok(Val {
                v: acc,
                err: f64_of(err + scale * EPS * 2.0),
            })
        }
        Expr::Mul(v) => {
            let mut acc = Cx::ONE;
            let mut rel = 0.0;
            let mut zero_err = 0.0;
            let mut any_zero = false;
            let mut mags: Vec<(f64, f64)> = Vec::with_capacity(v.len());
            for t in v {
                let x = eval_d(t, env, d, bin)?;
                acc = acc.mul(x.v);
                let m = x.mag();
                if m == 0.0 {
                    any_zero = true;
                    zero_err += x.err;
                } else {
                    rel += x.err / m + EPS * 2.0;
                }
                mags.push((m, x.err));
            }
            let err = if any_zero {
                // a zero factor: error is the zero's error times the rest
                let rest: f64 = mags
                    .iter()
                    .filter(|(m, _)| *m != 0.0)
                    .map(|(m, _)| *m)
                    .product();
                zero_err * rest.max(1.0)
            } else {
                acc.abs_f64() * rel
            };
            Ok(Val {
                v: acc,
                err: f64_of(err),
            })
        }
        Expr::Pow(b, x) => {
            let base = eval_d(b, env, d, bin)?;
            // integer exponents: repeated squaring
            if let Some(n) = small_int(x) {
                if base.mag() == 0.0 && n < 0 {
                    return Err(EvalErr::Undefined);
                }
                let r = base.v.powi(n);
                let m = base.mag();
                let rel = if m > 0.0 {
                    (n.unsigned_abs() as f64) * (base.err / m + EPS * 2.0)
                } else {
                    0.0
                };
                let err = if m == 0.0 {
                    base.err
                } else {
                    r.abs_f64() * rel
                };
                return Ok(Val {
                    v: r,
                    err: f64_of(err),
                });
            }
            let ex = eval_d(x, env, d, bin)?;
            let bm = base.mag();
            if bm == 0.0 {
                if ex.v.re.hi > 0.0 {
                    return Ok(Val {
                        v: Cx::ZERO,
                        err: base.err,
                    });
                }
                return Err(EvalErr::Undefined);
            }
            let r = base.v.pow(ex.v);
            let lnb = base.v.ln().abs_f64();
            let rm = r.abs_f64();
            let err = rm * (ex.mag() * base.err / bm + lnb * ex.err + EPS * (4.0 + ex.mag() * lnb));
            Ok(Val {
                v: r,
                err: f64_of(err),
            })
        }
        Expr::Func(f, args) => eval_func(*f, args, env, d, bin),
        Expr::Undef(name, args) => {
            // an unknown function: a fixed pseudo-random function of its
            // (rounded) arguments, so that equal calls give equal values
            let mut h: u64 = 0xcbf2_9ce4_8422_2325;
            for b in name.bytes() {
                h = (h ^ b as u64).wrapping_mul(0x100_0000_01b3);
            }
            for a in args {
                let v = eval_d(a, env, d, bin)?;
                for part in [v.v.re.to_f64(), v.v.im.to_f64()] {
                    let r = if part == 0.0 { 0.0 } else { round_sig(part, 9) };
                    h = (h ^ r.to_bits()).wrapping_mul(0x100_0000_01b3);
                }
            }
            let u = (splitmix(h) >> 11) as f64 / (1u64 << 53) as f64;
            Ok(Val {
                v: Cx::real(DD::new(0.5 + 2.0 * u)),
                err: 0.0,
            })
        }
        _ => Err(EvalErr::NotScalar),
    }
}

fn round_sig(x: f64, digits: i32) -> f64 {
    if x == 0.0 || !x.is_finite() {
        return x;
    }
    let p = 10f64.powi(digits - 1 - x.abs().log10().floor() as i32);
    if !p.is_finite() || p == 0.0 {
        return x;
    }
    (x * p).round() / p
}

pub(crate) fn splitmix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// An integer exponent small enough for repeated squaring.
fn small_int(e: &Expr) -> Option<i64> {
    match e {
        Expr::Int(n) => n.to_i64().filter(|v| v.unsigned_abs() <= 1 << 20),
        _ => None,
    }
}

fn real_arg(v: &Val) -> Option<DD> {
    if v.v.is_real() {
        Some(v.v.re)
    } else {
        None
    }
}

fn eval_func(f: Func, args: &[Expr], env: &Env, d: usize, bin: bool) -> Result<Val, EvalErr> {
    let vals: Result<Vec<Val>, EvalErr> = args.iter().map(|a| eval_d(a, env, d, bin)).collect();
    let vals = vals?;
    let one = |g: &dyn Fn(Cx) -> Cx, dg: &dyn Fn(Cx) -> Cx| -> Result<Val, EvalErr> {
        let [x] = vals.as_slice() else {
            return Err(EvalErr::NotScalar);
        };
        let r = g(x.v);
        if !r.is_finite() {
            return Err(EvalErr::Undefined);
        }
        let slope = dg(x.v).abs_f64();
        let err = slope * x.err + r.abs_f64() * EPS * (4.0 + x.mag());
        Ok(Val {
            v: r,
            err: f64_of(err),
        })
    };
    let recip = |z: Cx| z.recip();
    match f {
        Func::Sin => one(&|z| z.sin(), &|z| z.cos()),
        Func::Cos => one(&|z| z.cos(), &|z| z.sin()),
        Func::Tan => one(&|z| z.tan(), &|z| recip(z.cos().mul(z.cos()))),
        Func::Csc => one(&|z| recip(z.sin()), &|z| z.cos().div(z.sin().mul(z.sin()))),
        Func::Sec => one(&|z| recip(z.cos()), &|z| z.sin().div(z.cos().mul(z.cos()))),
        Func::Cot => one(&|z| z.cos().div(z.sin()), &|z| recip(z.sin().mul(z.sin()))),
        Func::Asin => one(&|z| z.asin(), &|z| recip(Cx::ONE.sub(z.mul(z)).sqrt())),
        Func::Acos => one(&|z| z.acos(), &|z| recip(Cx::ONE.sub(z.mul(z)).sqrt())),
        Func::Atan => one(&|z| z.atan(), &|z| recip(Cx::ONE.add(z.mul(z)))),
        Func::Acsc => one(&|z| recip(z).asin(), &|z| recip(z.mul(z))),
        Func::Asec => one(&|z| recip(z).acos(), &|z| recip(z.mul(z))),
        Func::Acot => one(&|z| recip(z).atan(), &|z| recip(Cx::ONE.add(z.mul(z)))),
        Func::Sinh => one(&|z| z.sinh(), &|z| z.cosh()),
        Func::Cosh => one(&|z| z.cosh(), &|z| z.sinh()),
        Func::Tanh => one(&|z| z.tanh(), &|z| recip(z.cosh().mul(z.cosh()))),
        Func::Asinh => one(&|z| z.asinh(), &|z| recip(z.mul(z).add(Cx::ONE).sqrt())),
        Func::Acosh => one(&|z| z.acosh(), &|z| recip(z.mul(z).sub(Cx::ONE).sqrt())),
        Func::Atanh => one(&|z| z.atanh(), &|z| recip(Cx::ONE.sub(z.mul(z)))),
        Func::Exp => one(&|z| z.exp(), &|z| z.exp()),
        Func::Abs => {
            let [x] = vals.as_slice() else {
                return Err(EvalErr::NotScalar);
            };
            Ok(Val {
                v: Cx::real(x.v.abs()),
                err: x.err + x.mag() * EPS * 2.0,
            })
        }
        Func::Log => {
            let (x, base) = match vals.as_slice() {
                [x] => (*x, Val::exact(Cx::real(DD::E))),
                [x, b] => (*x, *b),
                _ => return Err(EvalErr::NotScalar),
            };
            if x.mag() == 0.0 || base.mag() == 0.0 {
                return Err(EvalErr::Undefined);
            }
            let lx = x.v.ln();
            let lb = base.v.ln();
            if lb.abs_f64() == 0.0 {
                return Err(EvalErr::Undefined);
            }
            let r = lx.div(lb);
            if !r.is_finite() {
                return Err(EvalErr::Undefined);
            }
            let lbm = lb.abs_f64();
            let err = (x.err / x.mag() + r.abs_f64() * base.err / base.mag()) / lbm
                + r.abs_f64() * EPS * 8.0
                + EPS * (lx.abs_f64() / lbm);
            Ok(Val {
                v: r,
                err: f64_of(err),
            })
        }
        Func::Floor | Func::Ceil => {
            let [x] = vals.as_slice() else {
                return Err(EvalErr::NotScalar);
            };
            let Some(r) = real_arg(x) else {
                return Err(EvalErr::Undefined);
            };
            let v = if f == Func::Floor {
                r.floor()
            } else {
                r.ceil()
            };
            Ok(Val {
                v: Cx::real(v),
                err: 0.0,
            })
        }
        Func::Factorial => {
            let [x] = vals.as_slice() else {
                return Err(EvalErr::NotScalar);
            };
            gamma_val(x.v.add(Cx::ONE), x.err)
        }
        Func::Gamma => {
            let [x] = vals.as_slice() else {
                return Err(EvalErr::NotScalar);
            };
            gamma_val(x.v, x.err)
        }
        Func::Binomial => {
            let [n, k] = vals.as_slice() else {
                return Err(EvalErr::NotScalar);
            };
            // integer k: falling product
            if let (Some(kr), true) = (real_arg(k), k.err == 0.0 || k.v.re.floor() == k.v.re) {
                let kf = kr.to_f64();
                if kf == kf.trunc() && kf.abs() <= MAX_PRODUCT_TERMS as f64 {
                    if kf < 0.0 {
                        return Ok(Val {
                            v: Cx::ZERO,
                            err: 0.0,
                        });
                    }
                    let mut acc = Cx::ONE;
                    let mut rel = 0.0;
                    for i in 0..kf as i64 {
                        let t = n.v.sub(Cx::real(DD::new(i as f64)));
                        let tm = t.abs_f64();
                        if tm > 0.0 {
                            rel += n.err / tm + EPS * 4.0;
                        }
                        acc = acc.mul(t).div(Cx::real(DD::new((i + 1) as f64)));
                    }
                    return Ok(Val {
                        err: f64_of(acc.abs_f64() * rel),
                        v: acc,
                    });
                }
            }
            let a = gamma_val(n.v.add(Cx::ONE), n.err)?;
            let b = gamma_val(k.v.add(Cx::ONE), k.err)?;
            let c = gamma_val(n.v.sub(k.v).add(Cx::ONE), n.err + k.err)?;
            let r = a.v.div(b.v.mul(c.v));
            let rel = a.err / a.mag().max(1e-300)
                + b.err / b.mag().max(1e-300)
                + c.err / c.mag().max(1e-300);
            Ok(Val {
                err: f64_of(r.abs_f64() * rel),
                v: r,
            })
        }
        Func::Max | Func::Min => {
            let mut best: Option<Val> = None;
            for v in &vals {
                let Some(r) = real_arg(v) else {
                    return Err(EvalErr::Undefined);
                };
                best = match best {
                    None => Some(*v),
                    Some(b) => {
                        let take = if f == Func::Max {
                            b.v.re.lt(r)
                        } else {
                            r.lt(b.v.re)
                        };
                        Some(if take { *v } else { b })
                    }
                };
            }
            best.ok_or(EvalErr::NotScalar)
        }
        Func::Mod => {
            let [a, b] = vals.as_slice() else {
                return Err(EvalErr::NotScalar);
            };
            let (Some(ar), Some(br)) = (real_arg(a), real_arg(b)) else {
                return Err(EvalErr::Undefined);
            };
            if br.hi == 0.0 {
                return Err(EvalErr::Undefined);
            }
            let q = ar.div(br).floor();
            let r = ar.sub(br.mul(q));
            Ok(Val {
                v: Cx::real(r),
                err: a.err + b.err * q.to_f64().abs() + a.mag() * EPS * 4.0,
            })
        }
    }
}

/// Gamma of a value: exact products for small positive integers and
/// half-integers, a Lanczos approximation (about 14 digits) otherwise.
fn gamma_val(z: Cx, zerr: f64) -> Result<Val, EvalErr> {
    if z.is_real() {
        let x = z.re;
        let xf = x.to_f64();
        if x.lo == 0.0 && xf == xf.trunc() {
            if xf <= 0.0 {
                return Err(EvalErr::Undefined);
            }
            if xf <= 171.0 {
                let mut acc = DD::ONE;
                let mut i = 2.0;
                while i < xf {
                    acc = acc.mul_f(i);
                    i += 1.0;
                }
                return Ok(Val {
                    v: Cx::real(acc),
                    err: acc.to_f64().abs() * (EPS * xf + zerr * (xf.ln() + 1.0)),
                });
            }
            return Err(EvalErr::TooBig);
        }
        if x.lo == 0.0 && (xf - 0.5) == (xf - 0.5).trunc() && xf > 0.0 && xf < 171.0 {
            // Gamma(n + 1/2) = sqrt(pi) (2n)! / (4^n n!)
            let mut acc = DD::PI.sqrt();
            let mut t = 0.5;
            while t < xf {
                acc = acc.mul_f(t);
                t += 1.0;
            }
            return Ok(Val {
                v: Cx::real(acc),
                err: acc.to_f64().abs() * (EPS * xf * 2.0 + zerr * (xf.ln().abs() + 1.0)),
            });
        }
        if xf.is_finite() {
            let g = lanczos_gamma(xf);
            if g.is_finite() {
                return Ok(Val {
                    v: Cx::real(DD::new(g)),
                    err: g.abs() * (1e-13 + zerr * (xf.abs().ln() + 2.0)),
                });
            }
        }
        return Err(EvalErr::Undefined);
    }
    Err(EvalErr::Undefined)
}

fn lanczos_gamma(x: f64) -> f64 {
    const G: f64 = 7.0;
    const C: [f64; 9] = [
        0.999_999_999_999_809_9,
        676.520_368_121_885_1,
        -1_259.139_216_722_402_8,
        771.323_428_777_653_1,
        -176.615_029_162_140_6,
        12.507_343_278_686_905,
        -0.138_571_095_265_720_12,
        9.984_369_578_019_572e-6,
        1.505_632_735_149_311_6e-7,
    ];
    if x < 0.5 {
        let s = (std::f64::consts::PI * x).sin();
        if s == 0.0 {
            return f64::NAN;
        }
        return std::f64::consts::PI / (s * lanczos_gamma(1.0 - x));
    }
    let x = x - 1.0;
    let mut a = C[0];
    let t = x + G + 0.5;
    for (i, c) in C.iter().enumerate().skip(1) {
        a += c / (x + i as f64);
    }
    (2.0 * std::f64::consts::PI).sqrt() * t.powf(x + 0.5) * (-t).exp() * a
}

/// Whether two values agree within their error estimates.
pub(crate) fn values_close(a: &Val, b: &Val) -> bool {
    if !a.v.is_finite() || !b.v.is_finite() {
        // infinities: equal when both are the same infinity
        let ok = |x: &Cx| !x.re.hi.is_nan() && !x.im.hi.is_nan();
        return ok(&a.v)
            && ok(&b.v)
            && a.v.re.hi == b.v.re.hi
            && a.v.im.hi == b.v.im.hi
            && (a.v.re.hi.is_infinite() || a.v.im.hi.is_infinite());
    }
    let diff = a.v.sub(b.v).abs_f64();
    let tol = 64.0 * (a.err + b.err) + 1e-300;
    diff <= tol
}

/// The real value of a constant expression, if it has one.
pub(crate) fn real_value(e: &Expr) -> Option<Val> {
    let v = eval(e, &[]).ok()?;
    if v.v.is_real() {
        Some(v)
    } else {
        None
    }
}

/// Compares two constant real expressions: `Some(ordering)` when their
/// values are separated by more than the rounding error (or exactly equal
/// as rationals).
pub(crate) fn compare_real(a: &Expr, b: &Expr, md: u64) -> Option<std::cmp::Ordering> {
    if let (Some(x), Some(y)) = (exact(a, md), exact(b, md)) {
        return Some(x.cmp(&y));
    }
    let x = real_value(a)?;
    let y = real_value(b)?;
    if !x.v.re.is_finite() || !y.v.re.is_finite() {
        let (p, q) = (x.v.re.hi, y.v.re.hi);
        if p.is_nan() || q.is_nan() {
            return None;
        }
        return p.partial_cmp(&q);
    }
    if values_close(&x, &y) {
        return Some(std::cmp::Ordering::Equal);
    }
    if x.v.re.lt(y.v.re) {
        Some(std::cmp::Ordering::Less)
    } else {
        Some(std::cmp::Ordering::Greater)
    }
}

/// Whether `e` is a SymPy integer after `doit()`: an exact expression (no
/// decimals) whose value is an integer.
pub(crate) fn is_integer_valued_exact(e: &Expr, md: u64) -> bool {
    if e.has_float() {
        return false;
    }
    if let Some(q) = exact(e, md) {
        return q.is_integer();
    }
    match real_value(e) {
        Some(v) if v.v.re.is_finite() => {
            let r = v.v.re.round_f64();
            (v.v.re.sub(DD::new(r))).to_f64().abs() <= 64.0 * v.err + 1e-300 && r.abs() < 9e15
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(n: i64, d: i64) -> Expr {
        Expr::rational(Q::new(BigInt::from(n), BigInt::from(d)).unwrap())
    }

    #[test]
    fn exact_arithmetic() {
        let e = Expr::Add(vec![q(1, 2), q(1, 3)]);
        assert_eq!(exact(&e, 100).unwrap().to_string(), "5/6");
        let e = Expr::pow(Expr::int(4), q(1, 2));
        assert_eq!(exact(&e, 100).unwrap().to_string(), "2");
        let e = Expr::pow(Expr::int(2), q(1, 2));
        assert!(exact(&e, 100).is_none());
        let e = Expr::pow(Expr::int(10), Expr::pow(Expr::int(10), Expr::int(10)));
        assert!(exact(&e, 2000).is_none());
        let e = Expr::Func(Func::Factorial, vec![Expr::int(20)]);
        assert_eq!(exact(&e, 100).unwrap().to_string(), "2432902008176640000");
        let e = Expr::Func(Func::Factorial, vec![Expr::int(100_000)]);
        assert!(exact(&e, 2000).is_none());
    }

    #[test]
    fn numeric_values() {
        // sqrt(2)*sqrt(2) == 2 within error
        let s2 = Expr::pow(Expr::int(2), q(1, 2));
        let a = eval(&Expr::Mul(vec![s2.clone(), s2]), &[]).unwrap();
        let b = eval(&Expr::int(2), &[]).unwrap();
        assert!(values_close(&a, &b));
        // pi vs 355/113 differ
        let a = eval(&Expr::Const(Const::Pi), &[]).unwrap();
        let b = eval(&q(355, 113), &[]).unwrap();
        assert!(!values_close(&a, &b));
        // sin(pi/6) = 1/2
        let e = Expr::Func(
            Func::Sin,
            vec![Expr::Mul(vec![Expr::Const(Const::Pi), q(1, 6)])],
        );
        assert!(values_close(
            &eval(&e, &[]).unwrap(),
            &eval(&q(1, 2), &[]).unwrap()
        ));
        // log_2 8 = 3
        let e = Expr::Func(Func::Log, vec![Expr::int(8), Expr::int(2)]);
        assert!(values_close(
            &eval(&e, &[]).unwrap(),
            &eval(&Expr::int(3), &[]).unwrap()
        ));
        // (-8)^(1/3) is the principal (complex) root, not -2
        let e = Expr::pow(Expr::int(-8), q(1, 3));
        assert!(!values_close(
            &eval(&e, &[]).unwrap(),
            &eval(&Expr::int(-2), &[]).unwrap()
        ));
        // 10^(10^10) overflows without panicking
        let e = Expr::pow(Expr::int(10), Expr::pow(Expr::int(10), Expr::int(10)));
        let v = eval(&e, &[]).unwrap();
        assert!(!v.v.is_finite());
    }
}
