//! Helpers that let the fused CPU kernels' loops vectorize: an `exp` with
//! no branches and no libm call, eight-lane reductions, and [`multiversion!`],
//! which compiles a kernel for AVX2 + FMA as well, picked at run time (the
//! build itself targets plain x86-64, so loops are otherwise 4 floats wide at
//! most).

/// `e^x` for f32, within 2 ulp of `f32::exp` on [-87, 88] (checked by a
/// test), written so LLVM can vectorize loops that call it: range reduction
/// `x = k·ln2 + r` with |r| ≤ ln2/2, a degree-7 polynomial for `e^r`, and
/// `2^k` built from the exponent bits. Inputs are clamped to [-87, 88], so
/// it never returns 0 or infinity (callers mask underflow themselves).
#[inline(always)]
pub fn exp(x: f32) -> f32 {
    const LOG2E: f32 = std::f32::consts::LOG2_E;
    // ln 2 split in two so that k·LN2_HI is exact.
    const LN2_HI: f32 = 0.693_359_4;
    const LN2_LO: f32 = -2.121_944_4e-4;
    // Adding then subtracting 1.5·2^23 rounds to the nearest integer.
    const ROUND: f32 = 12_582_912.0;
    let x = x.clamp(-87.0, 88.0);
    let k = (x * LOG2E + ROUND) - ROUND;
    let r = x - k * LN2_HI - k * LN2_LO;
    // Taylor coefficients 1/n! for n = 7 … 0 (Horner form).
    let mut p = 1.0 / 5040.0;
    p = p * r + 1.0 / 720.0;
    p = p * r + 1.0 / 120.0;
    p = p * r + 1.0 / 24.0;
    p = p * r + 1.0 / 6.0;
    p = p * r + 0.5;
    p = p * r + 1.0;
    p = p * r + 1.0;
    // 2^k from its exponent bits, without a float-to-int conversion (which
    // would not vectorize): adding 2^23 puts the integer k + 127 (in
    // [40, 215] after the clamp) in the low mantissa bits.
    let biased = (k + (127.0 + 8_388_608.0)).to_bits() & 0xff;
    p * f32::from_bits(biased << 23)
}

/// `1 / (1 + e^-x)` with [`exp`].
#[inline(always)]
pub fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + exp(-x))
}

/// Lanes of the reductions below: eight independent partial results, so the
/// loop vectorizes (a single running f32 sum cannot be reordered).
const LANES: usize = 8;

/// Reduces `f(i)` over `0..n` with `op`, in eight interleaved lanes.
#[inline(always)]
fn reduce(n: usize, init: f32, f: impl Fn(usize) -> f32, op: impl Fn(f32, f32) -> f32) -> f32 {
    let mut acc = [init; LANES];
    let whole = n / LANES * LANES;
    for base in (0..whole).step_by(LANES) {
        for (lane, a) in acc.iter_mut().enumerate() {
            *a = op(*a, f(base + lane));
        }
    }
    let mut total = acc.into_iter().fold(init, &op);
    for i in whole..n {
        total = op(total, f(i));
    }
    total
}

/// Sum of `x`.
#[inline(always)]
pub fn sum(x: &[f32]) -> f32 {
    reduce(x.len(), 0.0, |i| x[i], |a, b| a + b)
}

/// Sum of `f(x)` over `x`.
#[inline(always)]
pub fn sum_map(x: &[f32], f: impl Fn(f32) -> f32) -> f32 {
    reduce(x.len(), 0.0, |i| f(x[i]), |a, b| a + b)
}

/// Dot product of `a` and `b` (over the shorter length).
#[inline(always)]
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    let n = a.len().min(b.len());
    let (a, b) = (&a[..n], &b[..n]);
    reduce(n, 0.0, |i| a[i] * b[i], |x, y| x + y)
}

/// Largest element of `x` (−∞ when empty).
#[inline(always)]
pub fn max(x: &[f32]) -> f32 {
    // A plain comparison (NaN-oblivious), which vectorizes, unlike `f32::max`.
    reduce(
        x.len(),
        f32::NEG_INFINITY,
        |i| x[i],
        |a, b| if b > a { b } else { a },
    )
}

/// Whether the CPU has AVX2 and FMA (detected once, then cached by std).
#[inline(always)]
pub fn has_avx2_fma() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// Defines a kernel function compiled twice — for AVX2 + FMA, used when the
/// CPU has them, and for the build's baseline — so its loops vectorize 8
/// floats wide on most x86-64 machines while the binary still runs on any.
macro_rules! multiversion {
    ($(#[$meta:meta])* $vis:vis fn $name:ident($($arg:ident: $ty:ty),* $(,)?) $body:block) => {
        $(#[$meta])*
        $vis fn $name($($arg: $ty),*) {
            #[cfg(target_arch = "x86_64")]
            {
                #[target_feature(enable = "avx2,fma")]
                unsafe fn avx2($($arg: $ty),*) $body
                if $crate::model::simd::has_avx2_fma() {
                    // SAFETY: the CPU has AVX2 and FMA (checked just above).
                    return unsafe { avx2($($arg),*) };
                }
            }
            $body
        }
    };
}
pub(crate) use multiversion;

#[cfg(test)]
mod tests {
    use super::*;

    fn ulps(a: f32, b: f32) -> u32 {
        (a.to_bits() as i64 - b.to_bits() as i64).unsigned_abs() as u32
    }

    #[test]
    fn exp_is_within_two_ulp_of_libm() {
        let mut worst = 0;
        let mut x = -87.0f32;
        while x <= 88.0 {
            worst = worst.max(ulps(exp(x), x.exp()));
            x += 0.001_37;
        }
        assert!(worst <= 2, "worst error {worst} ulp");
        assert_eq!(exp(0.0), 1.0);
        // Clamped, never 0 or infinity.
        assert!(exp(-1e9) > 0.0 && exp(1e9).is_finite());
        assert!((sigmoid(0.0) - 0.5).abs() < 1e-7);
    }

    #[test]
    fn reductions_match_sequential_ones() {
        let v: Vec<f32> = (0..37).map(|i| (i as f32 * 0.7).sin()).collect();
        let w: Vec<f32> = (0..37).map(|i| (i as f32 * 0.3).cos()).collect();
        assert!((sum(&v) - v.iter().sum::<f32>()).abs() < 1e-5);
        let d: f32 = v.iter().zip(&w).map(|(a, b)| a * b).sum();
        assert!((dot(&v, &w) - d).abs() < 1e-5);
        assert_eq!(max(&v), v.iter().copied().fold(f32::NEG_INFINITY, f32::max));
        assert_eq!(max(&[]), f32::NEG_INFINITY);
        assert_eq!(sum(&[]), 0.0);
    }

    multiversion! {
        fn exp_all(out: &mut [f32], x: &[f32]) {
            for (o, &x) in out.iter_mut().zip(x) {
                *o = exp(x);
            }
        }
    }

    #[test]
    fn multiversioned_kernels_agree_with_the_scalar_code() {
        let v: Vec<f32> = (0..100).map(|i| i as f32 * 0.1 - 5.0).collect();
        let mut out = vec![0f32; v.len()];
        exp_all(&mut out, &v);
        for (o, x) in out.iter().zip(&v) {
            assert_eq!(*o, exp(*x));
        }
    }
}
