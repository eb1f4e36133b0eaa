//! RL algorithms as plain functions: advantage estimators (REINFORCE++,
//! GRPO, RLOO), KL estimators, the clipped policy loss and loss
//! aggregation. Array versions are the reference; `tensor` holds the
//! differentiable candle versions the trainers use, tested against them.
//!
//! The veRL-named units (`f64`, exact veRL semantics, parity-tested
//! against veRL's own functions; see `docs/rl-algorithms.md`) live in
//! [`estimators`], [`policy_losses`], [`agg`], [`kl_penalty`], with the
//! JSON evaluator in [`ops`].
//!
//! Semantics follow `shared/reference/algorithms.md` (verl / OpenRLHF /
//! TRL); where those differ the choice is an option, documented on it.

pub mod advantage;
pub mod agg;
pub mod estimators;
pub mod kl;
pub mod kl_penalty;
pub mod loss;
pub mod masked;
pub mod ops;
pub mod policy_losses;
pub mod tensor;

pub use advantage::{
    broadcast, grpo, masked_whiten, reinforce_pp, rloo, GroupNormOptions, ReinforcePpOptions,
    Singleton, TokenAdvantages, Variance, Whitening,
};
pub use kl::KlEstimator;
pub use loss::{aggregate, policy_loss, AggScale, ClipOptions, LossAgg, PolicyLossTokens};

/// The entry of `all` whose veRL name (`name_of`) is `name`, or an error
/// naming `what` was asked for and listing the known names.
pub(crate) fn by_name<T: Copy>(
    all: &[T],
    name_of: fn(T) -> &'static str,
    name: &str,
    what: &str,
) -> metaalign_core::Result<T> {
    all.iter()
        .copied()
        .find(|t| name_of(*t) == name)
        .ok_or_else(|| metaalign_core::Error::Config {
            message: format!(
                "unknown {what} {name:?}; known: {}",
                all.iter()
                    .map(|t| name_of(*t))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        })
}
