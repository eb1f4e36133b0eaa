//! Token selection from one row of logits: greedy, temperature, top-k and
//! top-p (nucleus), with a per-row seeded RNG so a batch samples the same
//! tokens on CPU whatever its composition.

use metaalign_core::seed::{item_rng, Rng};
use rand::Rng as _;

/// Settings for choosing one token.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TokenSampler {
    /// 0 (or below) = greedy.
    pub temperature: f64,
    pub top_p: f64,
    pub top_k: Option<usize>,
}

/// The RNG of prompt `index` of a `generate` call with `seed`.
pub fn row_rng(seed: u64, index: usize) -> Rng {
    item_rng(seed, "policy/sample", index as u64)
}

/// `log_softmax` of one row (f64 accumulation).
pub fn log_softmax(logits: &[f32]) -> Vec<f32> {
    let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let sum: f64 = logits.iter().map(|&l| ((l - max) as f64).exp()).sum();
    let lse = max as f64 + sum.ln();
    logits.iter().map(|&l| (l as f64 - lse) as f32).collect()
}

fn argmax(logits: &[f32]) -> u32 {
    let mut best = 0usize;
    for (i, &l) in logits.iter().enumerate() {
        if l > logits[best] {
            best = i;
        }
    }
    best as u32
}

impl TokenSampler {
    pub fn is_greedy(&self) -> bool {
        self.temperature <= 0.0
    }

    /// Picks a token from one row of logits.
    pub fn sample(&self, logits: &[f32], rng: &mut Rng) -> u32 {
        if self.is_greedy() || logits.len() < 2 {
            return argmax(logits);
        }
        let t = self.temperature as f32;
        let mut idx: Vec<u32> = (0..logits.len() as u32).collect();
        // Sort by logit, highest first (ties by id, for determinism).
        idx.sort_by(|&a, &b| {
            logits[b as usize]
                .partial_cmp(&logits[a as usize])
                .unwrap_or(std::cmp::Ordering::Equal)
                .then(a.cmp(&b))
        });
        if let Some(k) = self.top_k {
            idx.truncate(k.max(1));
        }
        let max = logits[idx[0] as usize] / t;
        let mut probs: Vec<f64> = idx
            .iter()
            .map(|&i| ((logits[i as usize] / t - max) as f64).exp())
            .collect();
        let total: f64 = probs.iter().sum();
        probs.iter_mut().for_each(|p| *p /= total);
        if self.top_p < 1.0 {
            let mut acc = 0.0;
            let mut keep = probs.len();
            for (i, p) in probs.iter().enumerate() {
                acc += p;
                if acc >= self.top_p {
                    keep = i + 1;
                    break;
                }
            }
            probs.truncate(keep);
            idx.truncate(keep);
            let total: f64 = probs.iter().sum();
            probs.iter_mut().for_each(|p| *p /= total);
        }
        let u: f64 = rng.random::<f64>();
        let mut acc = 0.0;
        for (i, p) in probs.iter().enumerate() {
            acc += p;
            if u < acc {
                return idx[i];
            }
        }
        idx[idx.len() - 1]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn greedy_and_topk_one_pick_the_max() {
        let l = [0.1, 2.0, -1.0, 1.9];
        let mut rng = row_rng(1, 0);
        let g = TokenSampler {
            temperature: 0.0,
            top_p: 1.0,
            top_k: None,
        };
        assert_eq!(g.sample(&l, &mut rng), 1);
        let k1 = TokenSampler {
            temperature: 1.0,
            top_p: 1.0,
            top_k: Some(1),
        };
        for _ in 0..20 {
            assert_eq!(k1.sample(&l, &mut rng), 1);
        }
    }

    #[test]
    fn top_p_restricts_to_the_nucleus() {
        // p ~ [0.47, 0.47, 0.06]: top_p 0.5 keeps the first two only.
        let l = [3.0, 3.0, 1.0];
        let s = TokenSampler {
            temperature: 1.0,
            top_p: 0.5,
            top_k: None,
        };
        let mut rng = row_rng(3, 0);
        let mut seen = [0; 3];
        for _ in 0..400 {
            seen[s.sample(&l, &mut rng) as usize] += 1;
        }
        assert_eq!(seen[2], 0);
        assert!(seen[0] > 100 && seen[1] > 100, "{seen:?}");
    }

    #[test]
    fn log_softmax_normalizes() {
        let lp = log_softmax(&[1.0, 2.0, 3.0]);
        let s: f32 = lp.iter().map(|x| x.exp()).sum();
        assert!((s - 1.0).abs() < 1e-6);
    }
}
