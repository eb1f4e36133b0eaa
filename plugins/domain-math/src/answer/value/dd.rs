//! Double-double arithmetic (about 31 significant decimal digits) on real
//! and complex numbers, with the elementary functions the answer checker
//! needs. Plain `f64` cannot tell apart values that agree to 15 digits
//! after cancellation; two words can.
//!
//! Every operation is total: overflow gives infinities, invalid operations
//! give NaN, and callers check `is_finite`.

use num_bigint::{BigInt, Sign};
use num_traits::{FromPrimitive, ToPrimitive, Zero};

/// A real number `hi + lo` with `|lo| <= ulp(hi) / 2`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct DD {
    pub hi: f64,
    pub lo: f64,
}

/// Relative rounding unit of one double-double operation.
pub(crate) const EPS: f64 = 4.93038065763132e-32; // 2^-104

#[inline]
fn two_sum(a: f64, b: f64) -> (f64, f64) {
    let s = a + b;
    let bb = s - a;
    let e = (a - (s - bb)) + (b - bb);
    (s, e)
}

#[inline]
fn quick_two_sum(a: f64, b: f64) -> (f64, f64) {
    let s = a + b;
    let e = b - (s - a);
    (s, e)
}

#[inline]
fn two_prod(a: f64, b: f64) -> (f64, f64) {
    let p = a * b;
    let e = a.mul_add(b, -p);
    (p, e)
}

/// Multiplies by `2^e` without intermediate overflow of the factor.
pub(crate) fn ldexp(mut x: f64, mut e: i64) -> f64 {
    while e > 1000 {
        x *= 2f64.powi(1000);
        e -= 1000;
        if !x.is_finite() || x == 0.0 {
            return x;
        }
    }
    while e < -1000 {
        x *= 2f64.powi(-1000);
        e += 1000;
        if x == 0.0 || !x.is_finite() {
            return x;
        }
    }
    x * 2f64.powi(e as i32)
}

impl DD {
    pub const ZERO: DD = DD { hi: 0.0, lo: 0.0 };
    pub const ONE: DD = DD { hi: 1.0, lo: 0.0 };
    pub const PI: DD = DD {
        hi: std::f64::consts::PI,
        lo: 1.2246467991473532e-16,
    };
    pub const PI2: DD = DD {
        hi: std::f64::consts::FRAC_PI_2,
        lo: 6.123233995736766e-17,
    };
    pub const E: DD = DD {
        hi: std::f64::consts::E,
        lo: 1.4456468917292502e-16,
    };
    pub const LN2: DD = DD {
        hi: std::f64::consts::LN_2,
        lo: 2.3190468138462996e-17,
    };
    pub const EULER: DD = DD {
        hi: 0.5772156649015329,
        lo: -4.942915152430645e-18,
    };
    pub const NAN: DD = DD {
        hi: f64::NAN,
        lo: 0.0,
    };

    pub fn new(x: f64) -> DD {
        DD { hi: x, lo: 0.0 }
    }

    #[inline]
    fn fix(self) -> DD {
        if self.hi.is_finite() {
            if self.lo.is_finite() {
                self
            } else {
                DD::new(self.hi)
            }
        } else {
            DD::new(self.hi)
        }
    }

    pub fn is_finite(self) -> bool {
        self.hi.is_finite() && self.lo.is_finite()
    }

    pub fn to_f64(self) -> f64 {
        self.hi + self.lo
    }

    pub fn abs(self) -> DD {
        if self.hi < 0.0 || (self.hi == 0.0 && self.lo < 0.0) {
            -self
        } else {
            self
        }
    }

    pub fn add(self, b: DD) -> DD {
        let plain = self.hi + b.hi;
        if !plain.is_finite() {
            return DD::new(plain);
        }
        let (s, e) = two_sum(self.hi, b.hi);
        let (t, f) = two_sum(self.lo, b.lo);
        let e = e + t;
        let (s, e) = quick_two_sum(s, e);
        let e = e + f;
        let (s, e) = quick_two_sum(s, e);
        DD { hi: s, lo: e }.fix()
    }

    pub fn sub(self, b: DD) -> DD {
        self.add(-b)
    }

    pub fn mul(self, b: DD) -> DD {
        let plain = self.hi * b.hi;
        if !plain.is_finite() {
            return DD::new(plain);
        }
        let (p, e) = two_prod(self.hi, b.hi);
        let e = e + (self.hi * b.lo + self.lo * b.hi);
        let (p, e) = quick_two_sum(p, e);
        DD { hi: p, lo: e }.fix()
    }

    pub fn mul_f(self, b: f64) -> DD {
        self.mul(DD::new(b))
    }

    pub fn div(self, b: DD) -> DD {
        if b.hi == 0.0 {
            return DD::new(self.hi / b.hi);
        }
        let q1 = self.hi / b.hi;
        if !q1.is_finite() {
            return DD::new(q1);
        }
        let r = self.sub(b.mul_f(q1));
        let q2 = r.hi / b.hi;
        let r = r.sub(b.mul_f(q2));
        let q3 = r.hi / b.hi;
        let (q1, q2) = quick_two_sum(q1, q2);
        DD { hi: q1, lo: q2 }.add(DD::new(q3))
    }

    pub fn recip(self) -> DD {
        DD::ONE.div(self)
    }

    pub fn sqr(self) -> DD {
        self.mul(self)
    }

    pub fn ldexp(self, e: i64) -> DD {
        DD {
            hi: ldexp(self.hi, e),
            lo: ldexp(self.lo, e),
        }
        .fix()
    }

    pub fn sqrt(self) -> DD {
        if self.hi == 0.0 {
            return DD::ZERO;
        }
        if self.hi < 0.0 {
            return DD::NAN;
        }
        if !self.hi.is_finite() {
            return self;
        }
        let x = 1.0 / self.hi.sqrt();
        let ax = self.hi * x;
        let ax_dd = DD::new(ax);
        let diff = self.sub(ax_dd.sqr());
        ax_dd.add(DD::new(diff.hi * x * 0.5))
    }

    pub fn floor(self) -> DD {
        let hi = self.hi.floor();
        if hi == self.hi {
            let lo = self.lo.floor();
            let (s, e) = quick_two_sum(hi, lo);
            DD { hi: s, lo: e }
        } else {
            DD::new(hi)
        }
    }

    pub fn ceil(self) -> DD {
        -((-self).floor())
    }

    /// Nearest integer (ties away from zero), as f64 (exact for |x| < 2^53).
    pub fn round_f64(self) -> f64 {
        let f = self.add(DD::new(0.5)).floor();
        f.to_f64()
    }

    pub fn lt(self, b: DD) -> bool {
        self.hi < b.hi || (self.hi == b.hi && self.lo < b.lo)
    }

    pub fn exp(self) -> DD {
        if self.hi > 709.9 {
            return DD::new(f64::INFINITY);
        }
        if self.hi < -745.2 {
            return DD::ZERO;
        }
        if self.hi.is_nan() {
            return DD::NAN;
        }
        if self.hi == 0.0 && self.lo == 0.0 {
            return DD::ONE;
        }
        let k = (self.hi / DD::LN2.hi).round();
        let r = self.sub(DD::LN2.mul_f(k));
        // r in [-ln2/2, ln2/2]; scale down by 2^10 and use a Taylor series
        // for expm1, then square back with (1+s)^2 - 1 = s(s + 2).
        let r = r.ldexp(-10);
        let mut term = r;
        let mut sum = r;
        let mut n = 1.0;
        for _ in 0..30 {
            n += 1.0;
            term = term.mul(r).div(DD::new(n));
            sum = sum.add(term);
            if term.hi.abs() < 1e-36 * sum.hi.abs().max(1e-300) {
                break;
            }
        }
        let mut s = sum;
        for _ in 0..10 {
            s = s.mul(s.add(DD::new(2.0)));
        }
        s.add(DD::ONE).ldexp(k as i64)
    }

    pub fn ln(self) -> DD {
        if self.hi <= 0.0 || self.hi.is_nan() {
            if self.hi == 0.0 {
                return DD::new(f64::NEG_INFINITY);
            }
            return DD::NAN;
        }
        if self.hi.is_infinite() {
            return self;
        }
        let mut x = DD::new(self.hi.ln());
        for _ in 0..2 {
            // x + a e^{-x} - 1
            x = x.add(self.mul((-x).exp())).sub(DD::ONE);
        }
        x
    }

    /// sin and cos of a reduced argument |t| <= pi/4 by Taylor series.
    fn sincos_taylor(t: DD) -> (DD, DD) {
        let t2 = t.sqr();
        // sin
        let mut term = t;
        let mut s = t;
        let mut k = 1.0;
        for _ in 0..40 {
            term = -(term.mul(t2).div(DD::new((k + 1.0) * (k + 2.0))));
            k += 2.0;
            s = s.add(term);
            if term.hi.abs() < 1e-36 {
                break;
            }
        }
        let mut term = DD::ONE;
        let mut c = DD::ONE;
        let mut k = 0.0;
        for _ in 0..40 {
            term = -(term.mul(t2).div(DD::new((k + 1.0) * (k + 2.0))));
            k += 2.0;
            c = c.add(term);
            if term.hi.abs() < 1e-36 {
                break;
            }
        }
        (s, c)
    }

    pub fn sincos(self) -> (DD, DD) {
        if !self.is_finite() {
            return (DD::NAN, DD::NAN);
        }
        if self.hi.abs() > 1e15 {
            // No meaningful digits survive the reduction.
            let (s, c) = self.hi.sin_cos();
            return (DD::new(s), DD::new(c));
        }
        let k = (self.hi / DD::PI2.hi).round();
        let t = self.sub(DD::PI2.mul_f(k));
        let (s, c) = DD::sincos_taylor(t);
        let q = (k as i64).rem_euclid(4);
        match q {
            0 => (s, c),
            1 => (c, -s),
            2 => (-s, -c),
            _ => (-c, s),
        }
    }

    pub fn sin(self) -> DD {
        self.sincos().0
    }

    pub fn cos(self) -> DD {
        self.sincos().1
    }

    pub fn atan2(y: DD, x: DD) -> DD {
        if x.hi == 0.0 && y.hi == 0.0 {
            return DD::ZERO;
        }
        if !x.is_finite() || !y.is_finite() {
            return DD::new(y.hi.atan2(x.hi));
        }
        if x.hi == 0.0 {
            return if y.hi > 0.0 { DD::PI2 } else { -DD::PI2 };
        }
        if y.hi == 0.0 {
            return if x.hi > 0.0 { DD::ZERO } else { DD::PI };
        }
        let r = x.sqr().add(y.sqr()).sqrt();
        let xx = x.div(r);
        let yy = y.div(r);
        let mut z = DD::new(y.hi.atan2(x.hi));
        for _ in 0..2 {
            let (sz, cz) = z.sincos();
            if xx.hi.abs() > yy.hi.abs() {
                z = z.add(yy.sub(sz).div(cz));
            } else {
                z = z.sub(xx.sub(cz).div(sz));
            }
        }
        z
    }

    pub fn atan(self) -> DD {
        DD::atan2(self, DD::ONE)
    }

    /// e^x - 1 with full relative accuracy near 0.
    pub fn expm1(self) -> DD {
        if self.hi.abs() < 0.5 {
            let mut term = self;
            let mut sum = self;
            let mut n = 1.0;
            for _ in 0..60 {
                n += 1.0;
                term = term.mul(self).div(DD::new(n));
                sum = sum.add(term);
                if term.hi.abs() < 1e-36 * sum.hi.abs().max(1e-300) {
                    break;
                }
            }
            sum
        } else {
            self.exp().sub(DD::ONE)
        }
    }

    pub fn sinh(self) -> DD {
        let m = self.expm1();
        let mm = (-self).expm1();
        m.sub(mm).mul_f(0.5)
    }

    pub fn cosh(self) -> DD {
        let e = self.exp();
        e.add(e.recip()).mul_f(0.5)
    }

    /// Converts a big integer to the nearest double-double (relative error
    /// about 2^-106, exponent range of f64).
    pub fn from_bigint(n: &BigInt) -> DD {
        let bits = n.bits();
        if bits <= 53 {
            return DD::new(n.to_f64().unwrap_or(f64::NAN));
        }
        let shift = bits.saturating_sub(110);
        let m: BigInt = n >> shift;
        let hi = m.to_f64().unwrap_or(f64::NAN);
        let hi_int = BigInt::from_f64(hi).unwrap_or_default();
        let lo = (&m - hi_int).to_f64().unwrap_or(0.0);
        let (h, l) = quick_two_sum(hi, lo);
        DD { hi: h, lo: l }.ldexp(shift as i64)
    }

    /// `n / d` to double-double accuracy; `d` nonzero.
    pub fn from_ratio(n: &BigInt, d: &BigInt) -> DD {
        if d.is_zero() {
            return DD::NAN;
        }
        if n.is_zero() {
            return DD::ZERO;
        }
        let neg = (n.sign() == Sign::Minus) != (d.sign() == Sign::Minus);
        let n = n.magnitude();
        let d = d.magnitude();
        let nb = n.bits() as i64;
        let db = d.bits() as i64;
        // scale so that the integer quotient has about 115 bits
        let k = 115 - (nb - db);
        let q = if k >= 0 {
            (n << (k as u64)) / d
        } else {
            n / (d << ((-k) as u64))
        };
        let v = DD::from_bigint(&BigInt::from(q)).ldexp(-k);
        if neg {
            -v
        } else {
            v
        }
    }
}

impl std::ops::Neg for DD {
    type Output = DD;
    fn neg(self) -> DD {
        DD {
            hi: -self.hi,
            lo: -self.lo,
        }
    }
}

/// A complex double-double.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Cx {
    pub re: DD,
    pub im: DD,
}

impl Cx {
    pub const ZERO: Cx = Cx {
        re: DD::ZERO,
        im: DD::ZERO,
    };
    pub const ONE: Cx = Cx {
        re: DD::ONE,
        im: DD::ZERO,
    };
    pub const I: Cx = Cx {
        re: DD::ZERO,
        im: DD::ONE,
    };

    pub fn real(x: DD) -> Cx {
        Cx {
            re: x,
            im: DD::ZERO,
        }
    }

    pub fn new(re: DD, im: DD) -> Cx {
        Cx { re, im }
    }

    pub fn nan() -> Cx {
        Cx::real(DD::NAN)
    }

    pub fn is_finite(self) -> bool {
        self.re.is_finite() && self.im.is_finite()
    }

    pub fn is_real(self) -> bool {
        self.im.hi == 0.0 && self.im.lo == 0.0
    }

    pub fn abs_f64(self) -> f64 {
        self.re.to_f64().hypot(self.im.to_f64())
    }

    pub fn abs(self) -> DD {
        if self.is_real() {
            return self.re.abs();
        }
        if self.re.hi == 0.0 && self.re.lo == 0.0 {
            return self.im.abs();
        }
        // scale to avoid overflow in the squares
        let m = self.re.hi.abs().max(self.im.hi.abs());
        if !(1e-150..=1e150).contains(&m) {
            let e = m.log2().round() as i64;
            let a = self.re.ldexp(-e);
            let b = self.im.ldexp(-e);
            return a.sqr().add(b.sqr()).sqrt().ldexp(e);
        }
        self.re.sqr().add(self.im.sqr()).sqrt()
    }

    pub fn add(self, b: Cx) -> Cx {
        Cx::new(self.re.add(b.re), self.im.add(b.im))
    }

    pub fn sub(self, b: Cx) -> Cx {
        Cx::new(self.re.sub(b.re), self.im.sub(b.im))
    }

    pub fn mul(self, b: Cx) -> Cx {
        if self.is_real() && b.is_real() {
            return Cx::real(self.re.mul(b.re));
        }
        Cx::new(
            self.re.mul(b.re).sub(self.im.mul(b.im)),
            self.re.mul(b.im).add(self.im.mul(b.re)),
        )
    }

    pub fn scale(self, k: DD) -> Cx {
        Cx::new(self.re.mul(k), self.im.mul(k))
    }

    pub fn div(self, b: Cx) -> Cx {
        if b.is_real() {
            if self.is_real() {
                return Cx::real(self.re.div(b.re));
            }
            return Cx::new(self.re.div(b.re), self.im.div(b.re));
        }
        let d = b.re.sqr().add(b.im.sqr());
        let n = self.mul(Cx::new(b.re, -b.im));
        Cx::new(n.re.div(d), n.im.div(d))
    }

    pub fn recip(self) -> Cx {
        Cx::ONE.div(self)
    }

    pub fn exp(self) -> Cx {
        if self.is_real() {
            return Cx::real(self.re.exp());
        }
        let m = self.re.exp();
        let (s, c) = self.im.sincos();
        Cx::new(m.mul(c), m.mul(s))
    }

    /// Principal logarithm.
    pub fn ln(self) -> Cx {
        if self.is_real() && self.re.hi > 0.0 {
            return Cx::real(self.re.ln());
        }
        let r = self.abs();
        Cx::new(r.ln(), DD::atan2(self.im, self.re))
    }

    /// Principal square root.
    pub fn sqrt(self) -> Cx {
        if self.is_real() {
            if self.re.hi >= 0.0 {
                return Cx::real(self.re.sqrt());
            }
            return Cx::new(DD::ZERO, (-self.re).sqrt());
        }
        let r = self.abs();
        if self.re.hi >= 0.0 {
            let a = r.add(self.re).mul_f(0.5).sqrt();
            Cx::new(a, self.im.div(a.mul_f(2.0)))
        } else {
            let mut b = r.sub(self.re).mul_f(0.5).sqrt();
            if self.im.hi < 0.0 {
                b = -b;
            }
            Cx::new(self.im.div(b.mul_f(2.0)), b)
        }
    }

    /// Integer power by repeated squaring.
    pub fn powi(self, n: i64) -> Cx {
        if n == 0 {
            return Cx::ONE;
        }
        let mut base = if n < 0 { self.recip() } else { self };
        let mut e = n.unsigned_abs();
        let mut acc = Cx::ONE;
        while e > 0 {
            if e & 1 == 1 {
                acc = acc.mul(base);
            }
            e >>= 1;
            if e > 0 {
                base = base.mul(base);
            }
        }
        acc
    }

    /// Principal power `self^w`.
    pub fn pow(self, w: Cx) -> Cx {
        if w.is_real() {
            let wr = w.re;
            if wr.lo == 0.0 && wr.hi == wr.hi.trunc() && wr.hi.abs() <= 1e6 {
                return self.powi(wr.hi as i64);
            }
            if self.is_real() && self.re.hi > 0.0 {
                return Cx::real(wr.mul(self.re.ln()).exp());
            }
            if wr.hi == 0.5 && wr.lo == 0.0 {
                return self.sqrt();
            }
        }
        if self.re.hi == 0.0 && self.re.lo == 0.0 && self.im.hi == 0.0 && self.im.lo == 0.0 {
            if w.re.hi > 0.0 {
                return Cx::ZERO;
            }
            return Cx::nan();
        }
        w.mul(self.ln()).exp()
    }

    pub fn sin(self) -> Cx {
        if self.is_real() {
            return Cx::real(self.re.sin());
        }
        let (s, c) = self.re.sincos();
        Cx::new(s.mul(self.im.cosh()), c.mul(self.im.sinh()))
    }

    pub fn cos(self) -> Cx {
        if self.is_real() {
            return Cx::real(self.re.cos());
        }
        let (s, c) = self.re.sincos();
        Cx::new(c.mul(self.im.cosh()), -(s.mul(self.im.sinh())))
    }

    pub fn tan(self) -> Cx {
        self.sin().div(self.cos())
    }

    pub fn sinh(self) -> Cx {
        if self.is_real() {
            return Cx::real(self.re.sinh());
        }
        // sinh z = -i sin(iz)
        let iz = Cx::new(-self.im, self.re);
        let s = iz.sin();
        Cx::new(s.im, -s.re)
    }

    pub fn cosh(self) -> Cx {
        if self.is_real() {
            return Cx::real(self.re.cosh());
        }
        Cx::new(-self.im, self.re).cos()
    }

    pub fn tanh(self) -> Cx {
        self.sinh().div(self.cosh())
    }

    /// asin z = -i ln(iz + sqrt(1 - z^2))
    pub fn asin(self) -> Cx {
        if self.is_real() && self.re.abs().hi <= 1.0 {
            let x = self.re;
            let c = DD::ONE.sub(x.sqr()).sqrt();
            return Cx::real(DD::atan2(x, c));
        }
        let iz = Cx::new(-self.im, self.re);
        let w = iz.add(Cx::ONE.sub(self.mul(self)).sqrt()).ln();
        Cx::new(w.im, -w.re)
    }

    /// acos z = pi/2 - asin z
    pub fn acos(self) -> Cx {
        if self.is_real() && self.re.abs().hi <= 1.0 {
            let x = self.re;
            let s = DD::ONE.sub(x.sqr()).sqrt();
            return Cx::real(DD::atan2(s, x));
        }
        Cx::real(DD::PI2).sub(self.asin())
    }

    /// atan z = (i/2) (ln(1 - iz) - ln(1 + iz))
    pub fn atan(self) -> Cx {
        if self.is_real() {
            return Cx::real(self.re.atan());
        }
        let iz = Cx::new(-self.im, self.re);
        let a = Cx::ONE.sub(iz).ln();
        let b = Cx::ONE.add(iz).ln();
        let d = a.sub(b);
        // (i/2) d
        Cx::new(-d.im.mul_f(0.5), d.re.mul_f(0.5))
    }

    /// asinh z = ln(z + sqrt(z^2 + 1))
    pub fn asinh(self) -> Cx {
        if self.is_real() {
            let x = self.re;
            let ax = x.abs();
            let v = ax.add(ax.sqr().add(DD::ONE).sqrt()).ln();
            return Cx::real(if x.hi < 0.0 { -v } else { v });
        }
        self.add(self.mul(self).add(Cx::ONE).sqrt()).ln()
    }

    /// acosh z = ln(z + sqrt(z + 1) sqrt(z - 1))
    pub fn acosh(self) -> Cx {
        let a = self.add(Cx::ONE).sqrt();
        let b = self.sub(Cx::ONE).sqrt();
        self.add(a.mul(b)).ln()
    }

    /// atanh z = (ln(1 + z) - ln(1 - z)) / 2
    pub fn atanh(self) -> Cx {
        let a = Cx::ONE.add(self).ln();
        let b = Cx::ONE.sub(self).ln();
        a.sub(b).scale(DD::new(0.5))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: DD, hi: f64, lo: f64) -> bool {
        let d = a.sub(DD { hi, lo });
        d.hi.abs() <= 1e-30 * hi.abs().max(1e-300)
    }

    #[test]
    fn constants_and_basic_functions() {
        // mpmath references (hi, lo)
        assert!(close(
            DD::new(2.0).sqrt(),
            std::f64::consts::SQRT_2,
            -9.667293313452913e-17
        ));
        assert!(close(DD::ONE.exp(), DD::E.hi, DD::E.lo));
        assert!(close(DD::new(2.0).ln(), DD::LN2.hi, DD::LN2.lo));
        assert!(close(DD::ONE.atan().mul_f(4.0), DD::PI.hi, DD::PI.lo));
        let (s, c) = DD::PI.div(DD::new(6.0)).sincos();
        assert!(close(s, 0.5, 0.0) || s.sub(DD::new(0.5)).hi.abs() < 1e-30);
        assert!(c.sqr().sub(DD::new(0.75)).hi.abs() < 1e-30);
        assert!(DD::new(10.0).exp().ln().sub(DD::new(10.0)).hi.abs() < 1e-29);
    }

    fn q(n: i64, d: i64) -> DD {
        DD::from_ratio(&BigInt::from(n), &BigInt::from(d))
    }

    fn rel_close(a: DD, hi: f64, lo: f64, tol: f64) -> bool {
        let d = a.sub(DD { hi, lo });
        d.hi.abs() <= tol * hi.abs()
    }

    #[test]
    fn functions_match_mpmath_to_thirty_digits() {
        let t = 1e-29;
        assert!(rel_close(
            q(37, 10).exp(),
            40.44730436006739,
            -1.2974113491768697e-15,
            t
        ));
        assert!(rel_close(
            q(3, 10).ln(),
            -1.203972804325936,
            -9.568195493682166e-17,
            t
        ));
        assert!(rel_close(
            DD::new(100.0).sin(),
            -0.5063656411097588,
            -3.050947053792115e-18,
            t
        ));
        assert!(rel_close(
            DD::new(1e5).cos(),
            -0.9993608074382124,
            -2.3447088905187402e-17,
            1e-27
        ));
        assert!(rel_close(
            q(7, 10).atan(),
            0.6107259643892086,
            5.22235594193475e-17,
            t
        ));
        assert!(rel_close(
            Cx::real(q(3, 10)).asin().re,
            0.3046926540153975,
            -1.583144043021605e-17,
            t
        ));
        assert!(rel_close(
            q(1, 1000).sinh(),
            0.001000000166666675,
            -5.653412071989394e-20,
            t
        ));
        let cbrt = Cx::real(DD::new(2.0)).pow(Cx::real(q(1, 3))).re;
        assert!(rel_close(
            cbrt,
            1.2599210498948732,
            -2.589933375300507e-17,
            t
        ));
        assert!(rel_close(
            DD::new(-50.0).exp(),
            1.9287498479639178e-22,
            -3.7546101071240096e-39,
            t
        ));
        assert!(rel_close(
            DD::new(1e10).ln(),
            23.025850929940457,
            -3.94399383981999e-16,
            t
        ));
    }

    #[test]
    fn ratio_conversion() {
        let one_third = DD::from_ratio(&BigInt::from(1), &BigInt::from(3));
        assert!(one_third.mul_f(3.0).sub(DD::ONE).hi.abs() < 1e-31);
        let big: BigInt = BigInt::from(10).pow(40) + 7;
        let v = DD::from_bigint(&big);
        assert!((v.hi - 1e40).abs() / 1e40 < 1e-15);
    }

    #[test]
    fn complex_roots_are_principal() {
        let r = Cx::real(DD::new(-8.0)).pow(Cx::real(DD::new(1.0).div(DD::new(3.0))));
        assert!((r.re.to_f64() - 1.0).abs() < 1e-25);
        assert!((r.im.to_f64() - 3f64.sqrt()).abs() < 1e-15);
        let s = Cx::real(DD::new(-4.0)).sqrt();
        assert_eq!(s.re.to_f64(), 0.0);
        assert_eq!(s.im.to_f64(), 2.0);
    }
}
