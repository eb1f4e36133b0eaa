//! Sparsification of task vectors (mergekit's sparsify.py semantics).

use rand::RngCore;

use metaalign_core::seed::Rng;
use metaalign_core::{Error, Result};

/// How a method prunes each task vector.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sparsification {
    /// Keep the top `density` fraction by magnitude (TIES).
    Magnitude,
    /// Keep each element with probability `density` (DARE).
    Random,
    /// Drop the top `gamma` fraction, then the smallest, keeping `density` (breadcrumbs).
    MagnitudeOutliers,
}

/// Scales `masked` back to the L1 norm of `original` (mergekit's
/// `rescale_norm = l1`): no-op when either norm is below 1e-7.
pub fn rescale_l1(original_l1: f64, masked: &mut [f32]) {
    let after: f64 = masked.iter().map(|v| f64::from(v.abs())).sum();
    if original_l1 < 1e-7 || after < 1e-7 {
        return;
    }
    let scale = (original_l1 / after) as f32;
    for v in masked {
        *v *= scale;
    }
}

fn l1(v: &[f32]) -> f64 {
    v.iter().map(|x| f64::from(x.abs())).sum()
}

/// Keeps the `k = ⌊density·n⌋` largest magnitudes. The threshold comes from a
/// selection (O(n)), which gives the same kept set as mergekit's full sort
/// (ties at the threshold are broken by position).
pub fn magnitude(delta: &mut [f32], density: f64, rescale: bool, tensor: &str) -> Result<()> {
    if density >= 1.0 {
        return Ok(());
    }
    let n = delta.len();
    let k = (density * n as f64) as usize;
    if k == 0 {
        return Err(Error::config(format!(
            "density {density} keeps no element of tensor `{tensor}` ({n} elements); raise density"
        )));
    }
    let before = if rescale { l1(delta) } else { 0.0 };
    let mut mags: Vec<f32> = delta.iter().map(|v| v.abs()).collect();
    let (_, &mut threshold, _) = mags.select_nth_unstable_by(n - k, f32::total_cmp);
    drop(mags);
    let greater = delta
        .iter()
        .filter(|v| v.abs().total_cmp(&threshold).is_gt())
        .count();
    let mut equal_left = k - greater;
    for v in delta.iter_mut() {
        match v.abs().total_cmp(&threshold) {
            std::cmp::Ordering::Greater => {}
            std::cmp::Ordering::Equal if equal_left > 0 => equal_left -= 1,
            _ => *v = 0.0,
        }
    }
    if rescale {
        rescale_l1(before, delta);
    }
    Ok(())
}

/// Keeps each element with probability `density` (Bernoulli mask), then
/// (with `rescale`) restores the original L1 norm.
pub fn bernoulli(delta: &mut [f32], density: f64, rescale: bool, rng: &mut Rng) {
    if density >= 1.0 {
        return;
    }
    let before = if rescale { l1(delta) } else { 0.0 };
    let threshold = (density.max(0.0) * 4_294_967_296.0) as u64;
    for v in delta.iter_mut() {
        if u64::from(rng.next_u32()) >= threshold {
            *v = 0.0;
        }
    }
    if rescale {
        rescale_l1(before, delta);
    }
}

/// Breadcrumbs: removes the `gamma` fraction of largest magnitudes and then
/// the smallest ones, so that `density` of the elements remain.
/// Deliberate difference: with ⌊gamma·n⌋ = 0 mergekit's slice `[n_bot:-0]`
/// keeps nothing; we keep the `density` largest.
pub fn magnitude_outliers(delta: &mut [f32], density: f64, gamma: f64, rescale: bool) {
    if density >= 1.0 {
        return;
    }
    let n = delta.len();
    let target = (density * n as f64) as i64;
    let mut n_top = (gamma * n as f64) as i64;
    let mut n_bot = n as i64 - target - n_top;
    if n_bot < 0 {
        n_top += n_bot;
        n_bot = 0;
    }
    let (n_bot, n_top) = (n_bot.max(0) as usize, n_top.max(0) as usize);
    let before = if rescale { l1(delta) } else { 0.0 };
    let mut order: Vec<u32> = (0..n as u32).collect();
    order.sort_unstable_by(|&a, &b| {
        delta[a as usize]
            .abs()
            .total_cmp(&delta[b as usize].abs())
            .then(a.cmp(&b))
    });
    let mut keep = vec![false; n];
    for &i in &order[n_bot.min(n)..n.saturating_sub(n_top).max(n_bot.min(n))] {
        keep[i as usize] = true;
    }
    for (v, k) in delta.iter_mut().zip(keep) {
        if !k {
            *v = 0.0;
        }
    }
    if rescale {
        rescale_l1(before, delta);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn magnitude_keeps_top_k_like_a_full_sort() {
        let mut v: Vec<f32> = (0..101)
            .map(|i| ((i * 37 % 101) as f32 - 50.0) / 7.0)
            .collect();
        let orig = v.clone();
        magnitude(&mut v, 0.3, false, "t").unwrap();
        let k = (0.3f64 * 101.0) as usize;
        let mut sorted: Vec<f32> = orig.iter().map(|x| x.abs()).collect();
        sorted.sort_by(|a, b| b.total_cmp(a));
        let thr = sorted[k - 1];
        assert_eq!(v.iter().filter(|x| **x != 0.0).count(), k);
        for (a, b) in v.iter().zip(&orig) {
            if *a != 0.0 {
                assert_eq!(a, b);
                assert!(b.abs() >= thr);
            }
        }
        assert!(magnitude(&mut [1.0, 2.0], 0.1, false, "tiny")
            .unwrap_err()
            .to_string()
            .contains("tiny"));
    }

    #[test]
    fn outliers_drop_both_ends() {
        let mut v: Vec<f32> = (1..=100).map(|i| i as f32).collect();
        magnitude_outliers(&mut v, 0.5, 0.1, false);
        let kept: Vec<f32> = v.iter().copied().filter(|x| *x != 0.0).collect();
        assert_eq!(kept.len(), 50);
        assert_eq!(kept.first(), Some(&41.0));
        assert_eq!(kept.last(), Some(&90.0));
    }
}
