//! Reward schemes turn a verdict into a scalar reward.

use crate::verdict::Verdict;

/// A reward scheme (`paper`, `binary`, or a plugin's). Given the verdict
/// and the raw response (for length-aware schemes), returns the reward.
pub trait RewardScheme: Send + Sync {
    /// The scheme's name (`"paper"`).
    fn name(&self) -> &str;

    /// The reward for one response and its verdict.
    fn reward(&self, verdict: &Verdict, response: &str) -> f64;
}
