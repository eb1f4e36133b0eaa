//! Advantage estimators on plain arrays: REINFORCE++ (token-level rewards,
//! optional KL in the reward, discounted returns, batch whitening), GRPO
//! (per-group normalisation) and RLOO (leave-one-out baseline).
//!
//! Token-level inputs are padded batches: one `Vec` per response, all of
//! the same width, with a boolean mask that is true for generated tokens
//! (up to and including the first EOS) and false for padding.
//! `groups[i]` names the prompt group of response `i` (any id; responses
//! of the same prompt share it).
//!
//! Where the references differ, the choice is an option; the defaults
//! follow verl (the framework the paper's scripts use) unless noted.

use std::collections::BTreeMap;

use metaalign_core::{Error, Result};
use serde::{Deserialize, Serialize};

/// How a standard deviation is computed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Variance {
    /// Unbiased, divides by N − 1 (verl's whitening and GRPO, TRL,
    /// OpenRLHF's group_norm).
    #[default]
    Bessel,
    /// Divides by N (OpenRLHF's global REINFORCE++ whitening).
    Population,
}

/// What a group of one response gets, where no baseline exists.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Singleton {
    /// Its raw score (verl: GRPO uses mean 0 and std 1; RLOO leaves it).
    #[default]
    Raw,
    /// Zero: no learning signal without a baseline.
    Zero,
    /// An error (OpenRLHF and TRL reject groups smaller than 2).
    Error,
}

/// Batch whitening of REINFORCE++ returns over every valid token.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Whitening {
    /// Bessel (verl, default) or population (OpenRLHF) variance.
    pub variance: Variance,
    /// Divide by the standard deviation; false keeps only the mean shift
    /// (OpenRLHF's `no_std_norm`).
    pub scale: bool,
    /// Added to the variance before the square root (verl: 1e-8). With the
    /// population variance it is a floor instead, as in OpenRLHF.
    pub eps: f32,
}

impl Default for Whitening {
    fn default() -> Self {
        Self {
            variance: Variance::Bessel,
            scale: true,
            eps: 1e-8,
        }
    }
}

/// REINFORCE++ settings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ReinforcePpOptions {
    /// Discount γ of the returns (1 = undiscounted).
    pub gamma: f32,
    /// Subtract the prompt group's mean score before anything else
    /// (REINFORCE++-baseline).
    pub group_baseline: bool,
    /// Whiten the returns over the whole batch; `None` leaves them raw.
    pub whiten: Option<Whitening>,
}

impl Default for ReinforcePpOptions {
    fn default() -> Self {
        Self {
            gamma: 1.0,
            group_baseline: false,
            whiten: Some(Whitening::default()),
        }
    }
}

/// GRPO settings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GroupNormOptions {
    /// Divide by the group's standard deviation; false is Dr.GRPO's
    /// mean-only baseline.
    pub scale_by_std: bool,
    /// Added to the standard deviation (verl 1e-6, TRL 1e-4, OpenRLHF 1e-9).
    pub eps: f32,
    pub variance: Variance,
    pub singleton: Singleton,
}

impl Default for GroupNormOptions {
    fn default() -> Self {
        Self {
            scale_by_std: true,
            eps: 1e-6,
            variance: Variance::Bessel,
            singleton: Singleton::Raw,
        }
    }
}

/// Token-level advantages and returns of a padded batch.
#[derive(Clone, Debug, PartialEq)]
pub struct TokenAdvantages {
    pub advantages: Vec<Vec<f32>>,
    pub returns: Vec<Vec<f32>>,
}

/// Checks that `rows` has one row per mask row, each of the mask's width.
pub fn check_shape(what: &str, rows: &[Vec<f32>], mask: &[Vec<bool>]) -> Result<()> {
    if rows.len() != mask.len() {
        return Err(Error::Shape(format!(
            "{what}: {} rows but the mask has {}",
            rows.len(),
            mask.len()
        )));
    }
    for (i, (r, m)) in rows.iter().zip(mask).enumerate() {
        if r.len() != m.len() {
            return Err(Error::Shape(format!(
                "{what}: row {i} has {} values but its mask has {}",
                r.len(),
                m.len()
            )));
        }
    }
    Ok(())
}

fn check_scores(scores: &[f32], n: usize, what: &str) -> Result<()> {
    if scores.len() != n {
        return Err(Error::Shape(format!(
            "{what}: {} scores for {n} responses",
            scores.len()
        )));
    }
    if let Some(i) = scores.iter().position(|s| !s.is_finite()) {
        return Err(Error::data(format!(
            "{what}: score of response {i} is not finite ({})",
            scores[i]
        )));
    }
    Ok(())
}

/// Indices of each group, in order of first appearance.
fn group_members<G: Ord + Clone>(groups: &[G]) -> Vec<Vec<usize>> {
    let mut order: Vec<G> = Vec::new();
    let mut members: BTreeMap<G, Vec<usize>> = BTreeMap::new();
    for (i, g) in groups.iter().enumerate() {
        let entry = members.entry(g.clone()).or_default();
        if entry.is_empty() {
            order.push(g.clone());
        }
        entry.push(i);
    }
    order
        .into_iter()
        .map(|g| members.remove(&g).unwrap_or_default())
        .collect()
}

fn mean(xs: impl Iterator<Item = f64>) -> (f64, usize) {
    let (mut s, mut n) = (0.0, 0usize);
    for x in xs {
        s += x;
        n += 1;
    }
    (if n == 0 { 0.0 } else { s / n as f64 }, n)
}

fn std_of(values: &[f64], mu: f64, variance: Variance) -> f64 {
    let n = values.len();
    let ss: f64 = values.iter().map(|v| (v - mu) * (v - mu)).sum();
    let denom = match variance {
        Variance::Bessel => n.saturating_sub(1),
        Variance::Population => n,
    };
    if denom == 0 {
        0.0
    } else {
        (ss / denom as f64).sqrt()
    }
}

/// Subtracts each group's mean score (REINFORCE++-baseline). A group of
/// one gets mean 0, as in verl.
pub fn subtract_group_mean<G: Ord + Clone>(scores: &[f32], groups: &[G]) -> Result<Vec<f32>> {
    check_scores(scores, groups.len(), "group baseline")?;
    let mut out = scores.to_vec();
    for members in group_members(groups) {
        if members.len() < 2 {
            continue;
        }
        let (mu, _) = mean(members.iter().map(|&i| f64::from(scores[i])));
        for &i in &members {
            out[i] = (f64::from(scores[i]) - mu) as f32;
        }
    }
    Ok(out)
}

/// Index of the last valid token of a mask row.
pub fn last_valid(mask: &[bool]) -> Option<usize> {
    mask.iter().rposition(|&m| m)
}

/// Token rewards: the outcome score on the last valid token, minus
/// `beta · kl_t` on every valid token when a KL penalty is given.
pub fn token_rewards(
    scores: &[f32],
    mask: &[Vec<bool>],
    kl_penalty: Option<(&[Vec<f32>], f32)>,
) -> Result<Vec<Vec<f32>>> {
    check_scores(scores, mask.len(), "token rewards")?;
    if let Some((kl, _)) = kl_penalty {
        check_shape("token KL", kl, mask)?;
    }
    let mut out = Vec::with_capacity(mask.len());
    for (i, m) in mask.iter().enumerate() {
        let mut r = vec![0.0f32; m.len()];
        if let Some((kl, beta)) = kl_penalty {
            for t in 0..m.len() {
                if m[t] {
                    r[t] -= beta * kl[i][t];
                }
            }
        }
        if let Some(last) = last_valid(m) {
            r[last] += scores[i];
        }
        out.push(r);
    }
    Ok(out)
}

/// Discounted returns by a reverse scan, `G_t = r_t + γ·m_{t+1}·G_{t+1}`,
/// so nothing after the end of a response leaks back. Masked positions are 0.
pub fn discounted_returns(
    rewards: &[Vec<f32>],
    mask: &[Vec<bool>],
    gamma: f32,
) -> Result<Vec<Vec<f32>>> {
    check_shape("returns", rewards, mask)?;
    Ok(rewards
        .iter()
        .zip(mask)
        .map(|(r, m)| {
            let mut g = vec![0.0f32; r.len()];
            let mut next = 0.0f32;
            for t in (0..r.len()).rev() {
                let carry = if t + 1 < r.len() && m[t + 1] {
                    gamma * next
                } else {
                    0.0
                };
                let value = r[t] + carry;
                g[t] = if m[t] { value } else { 0.0 };
                next = value;
            }
            g
        })
        .collect())
}

/// Whitens `values` over every valid token of the batch; masked positions
/// come back as 0. Fails when too few tokens are valid for the variance.
pub fn masked_whiten(
    values: &[Vec<f32>],
    mask: &[Vec<bool>],
    w: &Whitening,
) -> Result<Vec<Vec<f32>>> {
    check_shape("whitening", values, mask)?;
    let valid = || {
        values.iter().zip(mask).flat_map(|(v, m)| {
            v.iter()
                .zip(m)
                .filter(|(_, &m)| m)
                .map(|(&x, _)| f64::from(x))
        })
    };
    let (mu, n) = mean(valid());
    let min_n = match w.variance {
        Variance::Bessel => 2,
        Variance::Population => 1,
    };
    if n < min_n {
        return Err(Error::data(format!(
            "cannot whiten advantages over {n} valid token(s) ({:?} variance needs at least {min_n})",
            w.variance
        )));
    }
    let ss: f64 = valid().map(|x| (x - mu) * (x - mu)).sum();
    let inv_std = if w.scale {
        let eps = f64::from(w.eps);
        match w.variance {
            Variance::Bessel => 1.0 / (ss / (n - 1) as f64 + eps).sqrt(),
            Variance::Population => 1.0 / (ss / n as f64).max(eps).sqrt(),
        }
    } else {
        1.0
    };
    Ok(values
        .iter()
        .zip(mask)
        .map(|(v, m)| {
            v.iter()
                .zip(m)
                .map(|(&x, &m)| {
                    if m {
                        ((f64::from(x) - mu) * inv_std) as f32
                    } else {
                        0.0
                    }
                })
                .collect()
        })
        .collect())
}

/// REINFORCE++: outcome score on the last valid token (after an optional
/// group-mean baseline), optional per-token KL penalty `beta·kl_t` in the
/// reward, discounted returns, then whitening over all valid tokens of the
/// batch (groups are ignored there, so long responses weigh more).
pub fn reinforce_pp<G: Ord + Clone>(
    scores: &[f32],
    groups: &[G],
    mask: &[Vec<bool>],
    kl_penalty: Option<(&[Vec<f32>], f32)>,
    opts: &ReinforcePpOptions,
) -> Result<TokenAdvantages> {
    if groups.len() != mask.len() {
        return Err(Error::Shape(format!(
            "REINFORCE++: {} group ids for {} responses",
            groups.len(),
            mask.len()
        )));
    }
    let scores = if opts.group_baseline {
        subtract_group_mean(scores, groups)?
    } else {
        scores.to_vec()
    };
    let rewards = token_rewards(&scores, mask, kl_penalty)?;
    let returns = discounted_returns(&rewards, mask, opts.gamma)?;
    let advantages = match &opts.whiten {
        Some(w) => masked_whiten(&returns, mask, w)?,
        None => returns.clone(),
    };
    Ok(TokenAdvantages {
        advantages,
        returns,
    })
}

/// GRPO: `A_i = (s_i − μ_g) / (σ_g + eps)` within each prompt group, or
/// `s_i − μ_g` when `scale_by_std` is false (Dr.GRPO). Equal scores give 0.
pub fn grpo<G: Ord + Clone>(
    scores: &[f32],
    groups: &[G],
    opts: &GroupNormOptions,
) -> Result<Vec<f32>> {
    check_scores(scores, groups.len(), "GRPO")?;
    let mut out = vec![0.0f32; scores.len()];
    for members in group_members(groups) {
        if members.len() == 1 {
            let i = members[0];
            out[i] = singleton(scores[i], opts.singleton, "GRPO")?;
            continue;
        }
        let vals: Vec<f64> = members.iter().map(|&i| f64::from(scores[i])).collect();
        let (mu, _) = mean(vals.iter().copied());
        let denom = if opts.scale_by_std {
            std_of(&vals, mu, opts.variance) + f64::from(opts.eps)
        } else {
            1.0
        };
        for (&i, v) in members.iter().zip(&vals) {
            out[i] = ((v - mu) / denom) as f32;
        }
    }
    Ok(out)
}

/// RLOO: `A_i = s_i − mean of the other scores of its group`
/// (= n/(n−1)·(s_i − μ_g)).
pub fn rloo<G: Ord + Clone>(scores: &[f32], groups: &[G], single: Singleton) -> Result<Vec<f32>> {
    check_scores(scores, groups.len(), "RLOO")?;
    let mut out = vec![0.0f32; scores.len()];
    for members in group_members(groups) {
        let n = members.len();
        if n == 1 {
            out[members[0]] = singleton(scores[members[0]], single, "RLOO")?;
            continue;
        }
        let total: f64 = members.iter().map(|&i| f64::from(scores[i])).sum();
        for &i in &members {
            let s = f64::from(scores[i]);
            out[i] = (s - (total - s) / (n - 1) as f64) as f32;
        }
    }
    Ok(out)
}

fn singleton(score: f32, mode: Singleton, what: &str) -> Result<f32> {
    match mode {
        Singleton::Raw => Ok(score),
        Singleton::Zero => Ok(0.0),
        Singleton::Error => Err(Error::config(format!(
            "{what} needs at least 2 responses per prompt to form a baseline; a group has 1 \
             (set samples_per_prompt >= 2)"
        ))),
    }
}

/// Broadcasts one advantage per response over its valid tokens.
pub fn broadcast(per_seq: &[f32], mask: &[Vec<bool>]) -> Result<Vec<Vec<f32>>> {
    if per_seq.len() != mask.len() {
        return Err(Error::Shape(format!(
            "{} advantages for {} responses",
            per_seq.len(),
            mask.len()
        )));
    }
    Ok(per_seq
        .iter()
        .zip(mask)
        .map(|(&a, m)| m.iter().map(|&m| if m { a } else { 0.0 }).collect())
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_rows(got: &[Vec<f32>], want: &[Vec<f32>], tol: f32) {
        assert_eq!(got.len(), want.len(), "{got:?} vs {want:?}");
        for (g, w) in got.iter().zip(want) {
            assert_eq!(g.len(), w.len(), "{got:?} vs {want:?}");
            for (a, b) in g.iter().zip(w) {
                assert!((a - b).abs() <= tol, "{got:?} vs {want:?}");
            }
        }
    }

    fn assert_vec(got: &[f32], want: &[f32], tol: f32) {
        assert_rows(&[got.to_vec()], &[want.to_vec()], tol);
    }

    fn m(rows: &[&[u8]]) -> Vec<Vec<bool>> {
        rows.iter()
            .map(|r| r.iter().map(|&x| x == 1).collect())
            .collect()
    }

    #[test]
    fn token_rewards_sit_on_the_last_valid_token_with_kl_everywhere_valid() {
        let mask = m(&[&[1, 1, 1, 0], &[1, 1, 0, 0]]);
        let kl = vec![vec![0.1, 0.2, 0.3, 9.0], vec![1.0, -1.0, 9.0, 9.0]];
        let r = token_rewards(&[3.0, -1.0], &mask, Some((&kl, 0.5))).unwrap();
        assert_rows(
            &r,
            &[
                vec![-0.05, -0.1, 3.0 - 0.15, 0.0],
                vec![-0.5, -1.0 + 0.5, 0.0, 0.0],
            ],
            1e-6,
        );
        // A response with no valid token gets nothing (and no panic).
        let r = token_rewards(&[5.0], &m(&[&[0, 0]]), None).unwrap();
        assert_eq!(r, vec![vec![0.0, 0.0]]);
    }

    #[test]
    fn discounted_returns_stop_at_padding() {
        let mask = m(&[&[1, 1, 1, 0], &[1, 0, 0, 0]]);
        let rewards = vec![vec![1.0, 0.0, 2.0, 7.0], vec![4.0, 5.0, 0.0, 0.0]];
        let g = discounted_returns(&rewards, &mask, 0.5).unwrap();
        // row 0: G2 = 2, G1 = 0 + 0.5*2 = 1, G0 = 1 + 0.5*1 = 1.5; pad -> 0
        // row 1: G0 = 4 (the 5 after the end never leaks back)
        assert_rows(
            &g,
            &[vec![1.5, 1.0, 2.0, 0.0], vec![4.0, 0.0, 0.0, 0.0]],
            1e-6,
        );
        let g1 = discounted_returns(&rewards, &mask, 1.0).unwrap();
        assert_rows(
            &g1,
            &[vec![3.0, 2.0, 2.0, 0.0], vec![4.0, 0.0, 0.0, 0.0]],
            1e-6,
        );
    }

    #[test]
    fn reinforce_pp_whitens_over_all_valid_tokens_of_a_padded_batch() {
        // Scores 3 and -1, γ = 1, no KL: returns are the score on every valid
        // token: [3,3,3] and [-1,-1]. N = 5, μ = (9 - 2)/5 = 1.4,
        // Σ(G-μ)² = 3·1.6² + 2·2.4² = 7.68 + 11.52 = 19.2.
        let mask = m(&[&[1, 1, 1, 0], &[1, 1, 0, 0]]);
        let opts = ReinforcePpOptions::default();
        let out = reinforce_pp(&[3.0, -1.0], &[0, 0], &mask, None, &opts).unwrap();
        assert_rows(
            &out.returns,
            &[vec![3.0, 3.0, 3.0, 0.0], vec![-1.0, -1.0, 0.0, 0.0]],
            1e-6,
        );
        // Bessel: σ = sqrt(19.2/4) = 2.19089; A = 1.6/σ = 0.730297, -2.4/σ = -1.095445
        assert_rows(
            &out.advantages,
            &[
                vec![0.730_297, 0.730_297, 0.730_297, 0.0],
                vec![-1.095_445, -1.095_445, 0.0, 0.0],
            ],
            1e-5,
        );
        // Population: σ = sqrt(19.2/5) = 1.959592; A = 0.816497, -1.224745
        let pop = ReinforcePpOptions {
            whiten: Some(Whitening {
                variance: Variance::Population,
                ..Whitening::default()
            }),
            ..ReinforcePpOptions::default()
        };
        let out = reinforce_pp(&[3.0, -1.0], &[0, 0], &mask, None, &pop).unwrap();
        assert_rows(
            &out.advantages,
            &[
                vec![0.816_497, 0.816_497, 0.816_497, 0.0],
                vec![-1.224_745, -1.224_745, 0.0, 0.0],
            ],
            1e-5,
        );
        // Mean shift only.
        let shift = ReinforcePpOptions {
            whiten: Some(Whitening {
                scale: false,
                ..Whitening::default()
            }),
            ..ReinforcePpOptions::default()
        };
        let out = reinforce_pp(&[3.0, -1.0], &[0, 0], &mask, None, &shift).unwrap();
        assert_rows(
            &out.advantages,
            &[vec![1.6, 1.6, 1.6, 0.0], vec![-2.4, -2.4, 0.0, 0.0]],
            1e-5,
        );
    }

    #[test]
    fn reinforce_pp_with_kl_in_reward() {
        // One row of 3 tokens, score 1, β = 1, kl = [0.5, 0, 0.5]:
        // r = [-0.5, 0, 0.5]; G = [0, 0.5, 0.5]; μ = 1/3;
        // Σ(G-μ)² = 1/9 + 2/36 = 1/6; Bessel σ² = 1/12; σ = 0.288675
        let mask = m(&[&[1, 1, 1]]);
        let kl = vec![vec![0.5, 0.0, 0.5]];
        let out = reinforce_pp(
            &[1.0],
            &[0],
            &mask,
            Some((&kl, 1.0)),
            &ReinforcePpOptions::default(),
        )
        .unwrap();
        assert_rows(&out.returns, &[vec![0.0, 0.5, 0.5]], 1e-6);
        let s = (1.0f32 / 12.0 + 1e-8).sqrt();
        assert_rows(
            &out.advantages,
            &[vec![(-1.0 / 3.0) / s, (1.0 / 6.0) / s, (1.0 / 6.0) / s]],
            1e-4,
        );
    }

    #[test]
    fn reinforce_pp_zero_variance_batch_gives_zero_advantages() {
        let mask = m(&[&[1, 1], &[1, 0]]);
        let out = reinforce_pp(
            &[2.0, 2.0],
            &[0, 0],
            &mask,
            None,
            &ReinforcePpOptions::default(),
        )
        .unwrap();
        assert_rows(&out.advantages, &[vec![0.0, 0.0], vec![0.0, 0.0]], 1e-6);
    }

    #[test]
    fn reinforce_pp_baseline_subtracts_group_means() {
        // Groups {0,1} scores 3, -1 (mean 1) and {2} score 5 (alone: mean 0).
        let mask = m(&[&[1], &[1], &[1]]);
        let opts = ReinforcePpOptions {
            group_baseline: true,
            whiten: None,
            ..ReinforcePpOptions::default()
        };
        let out = reinforce_pp(&[3.0, -1.0, 5.0], &["a", "a", "b"], &mask, None, &opts).unwrap();
        assert_rows(&out.advantages, &[vec![2.0], vec![-2.0], vec![5.0]], 1e-6);
    }

    #[test]
    fn whitening_needs_enough_tokens() {
        let err =
            masked_whiten(&[vec![1.0, 0.0]], &m(&[&[1, 0]]), &Whitening::default()).unwrap_err();
        assert!(err.to_string().contains("1 valid token"), "{err}");
        let pop = Whitening {
            variance: Variance::Population,
            ..Whitening::default()
        };
        // Population variance of one token is 0 and the floor keeps it finite.
        let w = masked_whiten(&[vec![1.0, 0.0]], &m(&[&[1, 0]]), &pop).unwrap();
        assert_eq!(w, vec![vec![0.0, 0.0]]);
    }

    #[test]
    fn grpo_normalises_per_group() {
        // Group a: [3, -1, -1, -0.5], μ = 0.125,
        // deviations [2.875, -1.125, -1.125, -0.625], Σd² = 8.265625+1.265625·2+0.390625 = 11.1875
        // Bessel σ = sqrt(11.1875/3) = 1.931105
        let scores = [3.0, -1.0, -1.0, -0.5, 1.0, 1.0];
        let groups = [0, 0, 0, 0, 1, 1];
        let a = grpo(&scores, &groups, &GroupNormOptions::default()).unwrap();
        let s = 1.931_105f32 + 1e-6;
        assert_vec(
            &a,
            &[2.875 / s, -1.125 / s, -1.125 / s, -0.625 / s, 0.0, 0.0],
            1e-5,
        );
        // Dr.GRPO: mean only.
        let dr = GroupNormOptions {
            scale_by_std: false,
            ..GroupNormOptions::default()
        };
        let a = grpo(&scores, &groups, &dr).unwrap();
        assert_vec(&a, &[2.875, -1.125, -1.125, -0.625, 0.0, 0.0], 1e-6);
        // Population std: sqrt(11.1875/4) = 1.672386
        let pop = GroupNormOptions {
            variance: Variance::Population,
            eps: 0.0,
            ..GroupNormOptions::default()
        };
        let a = grpo(&scores[..4], &groups[..4], &pop).unwrap();
        let s = 1.672_386f32;
        assert_vec(&a, &[2.875 / s, -1.125 / s, -1.125 / s, -0.625 / s], 1e-5);
    }

    #[test]
    fn grpo_binary_rewards_and_interleaved_groups() {
        // Group ids need not be contiguous. Group x = [1, 0] (idx 0, 2):
        // μ = .5, Bessel σ = sqrt(.5) = .707107 → ±0.707106 (eps 1e-6).
        let a = grpo(
            &[1.0, 0.0, 0.0, 0.0],
            &["x", "y", "x", "y"],
            &GroupNormOptions::default(),
        )
        .unwrap();
        let v = 0.5 / (0.5f32.sqrt() + 1e-6);
        assert_vec(&a, &[v, 0.0, -v, 0.0], 1e-6);
    }

    #[test]
    fn group_of_one_follows_the_singleton_option() {
        let opts = GroupNormOptions::default();
        assert_eq!(grpo(&[0.7], &[0], &opts).unwrap(), vec![0.7]);
        let zero = GroupNormOptions {
            singleton: Singleton::Zero,
            ..opts.clone()
        };
        assert_eq!(grpo(&[0.7], &[0], &zero).unwrap(), vec![0.0]);
        let strict = GroupNormOptions {
            singleton: Singleton::Error,
            ..opts
        };
        let err = grpo(&[0.7], &[0], &strict).unwrap_err();
        assert!(err.to_string().contains("at least 2"), "{err}");
        assert_eq!(rloo(&[0.7], &[0], Singleton::Raw).unwrap(), vec![0.7]);
        assert_eq!(rloo(&[0.7], &[0], Singleton::Zero).unwrap(), vec![0.0]);
    }

    #[test]
    fn rloo_uses_the_mean_of_the_others() {
        // [3, 0, 0]: 3 - 0 = 3; 0 - 1.5 = -1.5 twice. Second group equal: 0.
        let a = rloo(&[3.0, 0.0, 0.0, 2.0, 2.0], &[1, 1, 1, 2, 2], Singleton::Raw).unwrap();
        assert_vec(&a, &[3.0, -1.5, -1.5, 0.0, 0.0], 1e-6);
        // n/(n-1)·(s - μ): 3/2·(3 - 1) = 3
    }

    #[test]
    fn broadcast_respects_padding_and_shapes_are_checked() {
        let b = broadcast(&[2.0, -1.0], &m(&[&[1, 1, 0], &[1, 0, 0]])).unwrap();
        assert_eq!(b, vec![vec![2.0, 2.0, 0.0], vec![-1.0, 0.0, 0.0]]);
        assert!(broadcast(&[1.0], &m(&[&[1], &[1]])).is_err());
        assert!(grpo(&[1.0, f32::NAN], &[0, 0], &GroupNormOptions::default()).is_err());
        assert!(token_rewards(&[1.0], &m(&[&[1, 1]]), Some((&[vec![0.0]], 1.0))).is_err());
    }
}
