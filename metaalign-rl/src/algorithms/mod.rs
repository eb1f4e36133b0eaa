//! RL algorithms as plain functions under veRL's names (`f64`, exact veRL
//! semantics, parity-tested against veRL's own functions; see
//! `docs/rl-algorithms.md`): advantage [`estimators`], [`policy_losses`],
//! loss aggregation ([`agg`]) and KL penalties ([`kl_penalty`]), with the
//! JSON evaluator in [`ops`]. The trainer computes advantages with the
//! estimators directly; [`tensor`] holds the differentiable candle
//! versions of the losses it backpropagates, tested against the units.
//!
//! Semantics follow `shared/reference/algorithms.md` (verl / OpenRLHF /
//! TRL); where those differ the choice is an option, documented on it.

pub mod agg;
pub mod estimators;
pub mod kl;
pub mod kl_penalty;
pub mod loss;
pub mod masked;
pub mod ops;
pub mod policy_losses;
pub mod tensor;

pub use agg::AggMode;
pub use estimators::Estimator;
pub use kl::KlEstimator;
pub use loss::{AggScale, ClipOptions};
pub use policy_losses::LossMode;

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
