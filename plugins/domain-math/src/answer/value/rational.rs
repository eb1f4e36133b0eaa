//! Exact rationals over big integers (always normalised: positive
//! denominator, lowest terms), with the few operations the checker needs.

use std::cmp::Ordering;
use std::fmt;

use num_bigint::{BigInt, Sign};
use num_integer::Integer;
use num_traits::{One, Signed, ToPrimitive, Zero};

use super::dd::DD;

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) struct Q {
    n: BigInt,
    d: BigInt,
}

impl Q {
    /// `n / d`; `None` when `d` is zero.
    pub fn new(n: BigInt, d: BigInt) -> Option<Q> {
        if d.is_zero() {
            return None;
        }
        if d.is_one() {
            // Integers are most values; skip the gcd.
            return Some(Q { n, d });
        }
        let g = n.gcd(&d);
        let (mut n, mut d) = if g.is_one() || g.is_zero() {
            (n, d)
        } else {
            (n / &g, d / &g)
        };
        if d.sign() == Sign::Minus {
            n = -n;
            d = -d;
        }
        Some(Q { n, d })
    }

    pub fn int(n: BigInt) -> Q {
        Q {
            n,
            d: BigInt::one(),
        }
    }

    pub fn from_i64(n: i64) -> Q {
        Q::int(BigInt::from(n))
    }

    pub fn zero() -> Q {
        Q::from_i64(0)
    }

    pub fn one() -> Q {
        Q::from_i64(1)
    }

    pub fn numer(&self) -> &BigInt {
        &self.n
    }

    pub fn denom(&self) -> &BigInt {
        &self.d
    }

    pub fn is_integer(&self) -> bool {
        self.d.is_one()
    }

    pub fn is_zero(&self) -> bool {
        self.n.is_zero()
    }

    pub fn is_negative(&self) -> bool {
        self.n.sign() == Sign::Minus
    }

    pub fn is_positive(&self) -> bool {
        self.n.sign() == Sign::Plus
    }

    /// Total number of decimal digits (approximate, from bit lengths).
    pub fn digits(&self) -> u64 {
        (self.n.bits() + self.d.bits()) * 30103 / 100000 + 1
    }

    pub fn add(&self, b: &Q) -> Q {
        if self.d == b.d {
            return Q::new(&self.n + &b.n, self.d.clone()).unwrap_or_else(Q::zero);
        }
        Q::new(&self.n * &b.d + &b.n * &self.d, &self.d * &b.d).unwrap_or_else(Q::zero)
    }

    pub fn sub(&self, b: &Q) -> Q {
        self.add(&b.neg())
    }

    pub fn neg(&self) -> Q {
        Q {
            n: -self.n.clone(),
            d: self.d.clone(),
        }
    }

    pub fn abs(&self) -> Q {
        Q {
            n: self.n.abs(),
            d: self.d.clone(),
        }
    }

    pub fn mul(&self, b: &Q) -> Q {
        Q::new(&self.n * &b.n, &self.d * &b.d).unwrap_or_else(Q::zero)
    }

    pub fn div(&self, b: &Q) -> Option<Q> {
        Q::new(&self.n * &b.d, &self.d * &b.n)
    }

    pub fn recip(&self) -> Option<Q> {
        Q::new(self.d.clone(), self.n.clone())
    }

    /// `self^e` when the result stays under `max_digits` digits.
    pub fn pow(&self, e: i64, max_digits: u64) -> Option<Q> {
        if e == 0 {
            return Some(Q::one());
        }
        let base = if e < 0 { self.recip()? } else { self.clone() };
        let e = e.unsigned_abs();
        let est = (base.n.bits().max(1) + base.d.bits()) as u128 * e as u128 * 30103 / 100000;
        let trivial = base.n.abs().is_one() && base.d.is_one();
        if !trivial && est > max_digits as u128 {
            return None;
        }
        let e32 = u32::try_from(e).ok().or(if trivial {
            Some(2 - (e % 2) as u32)
        } else {
            None
        })?;
        Some(Q {
            n: num_traits::pow::Pow::pow(&base.n, e32),
            d: num_traits::pow::Pow::pow(&base.d, e32),
        })
    }

    pub fn floor(&self) -> BigInt {
        self.n.div_floor(&self.d)
    }

    pub fn ceil(&self) -> BigInt {
        -((-&self.n).div_floor(&self.d))
    }

    pub fn to_i64(&self) -> Option<i64> {
        if self.is_integer() {
            self.n.to_i64()
        } else {
            None
        }
    }

    pub fn to_dd(&self) -> DD {
        if self.d.is_one() {
            DD::from_bigint(&self.n)
        } else {
            DD::from_ratio(&self.n, &self.d)
        }
    }

    /// Exact `k`-th root when it is rational.
    pub fn root(&self, k: u32) -> Option<Q> {
        if k == 0 {
            return None;
        }
        if k == 1 {
            return Some(self.clone());
        }
        if self.is_negative() {
            if k & 1 == 0 {
                return None;
            }
            return self.neg().root(k).map(|r| r.neg());
        }
        let rn = exact_root(&self.n, k)?;
        let rd = exact_root(&self.d, k)?;
        Q::new(rn, rd)
    }

    /// Parses a decimal literal such as `12`, `0.5`, `.25`, `1.5E-3`.
    pub fn parse_decimal(text: &str, max_digits: u64) -> Option<Q> {
        let (mant, exp) = match text.find(['E', 'e']) {
            Some(i) => (&text[..i], text[i + 1..].parse::<i64>().ok()?),
            None => (text, 0),
        };
        let (ip, fp) = match mant.find('.') {
            Some(i) => (&mant[..i], &mant[i + 1..]),
            None => (mant, ""),
        };
        if ip.is_empty() && fp.is_empty() {
            return None;
        }
        if !ip.bytes().all(|b| b.is_ascii_digit()) || !fp.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let digits = format!("{ip}{fp}");
        let digits = if digits.is_empty() { "0" } else { &digits };
        let n: BigInt = digits.parse().ok()?;
        let scale = exp.checked_sub(fp.len() as i64)?;
        if scale.unsigned_abs() > max_digits {
            return None;
        }
        let ten = Q::from_i64(10);
        let p = ten.pow(scale, max_digits.saturating_add(digits.len() as u64))?;
        Some(Q::int(n).mul(&p))
    }
}

/// Exact integer `k`-th root of a non-negative integer, if any.
fn exact_root(n: &BigInt, k: u32) -> Option<BigInt> {
    if n.is_zero() || n.is_one() {
        return Some(n.clone());
    }
    if n.sign() == Sign::Minus {
        return None;
    }
    let r = n.nth_root(k);
    if num_traits::pow::Pow::pow(&r, k) == *n {
        Some(r)
    } else {
        None
    }
}

impl PartialOrd for Q {
    fn partial_cmp(&self, other: &Q) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Q {
    fn cmp(&self, other: &Q) -> Ordering {
        (&self.n * &other.d).cmp(&(&other.n * &self.d))
    }
}

impl fmt::Display for Q {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.d.is_one() {
            write!(f, "{}", self.n)
        } else {
            write!(f, "{}/{}", self.n, self.d)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_and_computes() {
        let a = Q::new(BigInt::from(4), BigInt::from(-6)).unwrap();
        assert_eq!(a.to_string(), "-2/3");
        assert_eq!(a.mul(&Q::from_i64(3)).to_string(), "-2");
        assert_eq!(
            Q::from_i64(2).pow(100, 1000).unwrap().to_string(),
            "1267650600228229401496703205376"
        );
        assert!(Q::from_i64(10).pow(10_000_000, 1000).is_none());
        assert_eq!(Q::from_i64(1).pow(i64::MAX, 10).unwrap(), Q::one());
        assert_eq!(Q::from_i64(-1).pow(i64::MAX, 10).unwrap(), Q::from_i64(-1));
        assert_eq!(
            Q::new(BigInt::from(4), BigInt::from(9))
                .unwrap()
                .root(2)
                .unwrap()
                .to_string(),
            "2/3"
        );
        assert_eq!(Q::from_i64(-8).root(3).unwrap().to_string(), "-2");
        assert!(Q::from_i64(2).root(2).is_none());
        assert_eq!(
            Q::parse_decimal("1.5E-3", 100).unwrap().to_string(),
            "3/2000"
        );
        assert_eq!(Q::parse_decimal(".25", 100).unwrap().to_string(), "1/4");
        assert!(Q::parse_decimal("1E99999999", 100).is_none());
        assert_eq!(
            Q::from_i64(-7).div(&Q::from_i64(2)).unwrap().floor(),
            BigInt::from(-4)
        );
        assert_eq!(
            Q::from_i64(-7).div(&Q::from_i64(2)).unwrap().ceil(),
            BigInt::from(-3)
        );
    }
}
