//! Built-in merge strategies, each a registered `Merge` kind whose config
//! (`method = { kind = "...", ... }`) builds a [`MethodMerger`].

use serde::{Deserialize, Serialize};

use metaalign_core::config::MergeConfig;
use metaalign_core::merge::Merger;
use metaalign_core::Result;

use crate::merger::MethodMerger;
use crate::params::ParamValue;

pub mod gta;
pub mod linear;
pub mod model_stock;
pub mod slerp;
pub mod sparsify;

pub use gta::TaskArithmeticFamily;
pub use linear::Linear;
use model_stock::ModelStock;
use slerp::Slerp;
pub use sparsify::Sparsification;

fn yes() -> bool {
    true
}

fn no() -> bool {
    false
}

fn one() -> ParamValue {
    ParamValue::Scalar(1.0)
}

/// `linear`: weighted average (per-model `weight`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LinearConfig {
    /// Divide by the sum of the weights (mergekit default: true).
    #[serde(default = "yes")]
    pub normalize: bool,
}

impl Default for LinearConfig {
    fn default() -> Self {
        Self { normalize: true }
    }
}

#[typetag::serde(name = "linear")]
impl MergeConfig for LinearConfig {
    fn build(&self) -> Result<Box<dyn Merger>> {
        Ok(Box::new(MethodMerger::new(Linear {
            normalize: self.normalize,
        })))
    }
}

macro_rules! task_arithmetic_kind {
    ($config:ident, $kind:literal, $sparsification:expr, $consensus:expr,
     normalize: $normalize:literal = $ndef:literal, rescale: $rescale:literal = $rdef:literal,
     $desc:literal) => {
        #[doc = concat!("`", $kind, "`: ", $desc)]
        #[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
        #[serde(deny_unknown_fields)]
        pub struct $config {
            /// Divide the mixed task vector by the (masked) sum of weights.
            #[serde(default = $ndef)]
            pub normalize: bool,
            /// Rescale sparsified task vectors to their original L1 norm.
            #[serde(default = $rdef)]
            pub rescale: bool,
            /// Scale of the mixed task vector (scalar, gradient or filtered list).
            #[serde(default = "one")]
            pub lambda: ParamValue,
        }

        impl Default for $config {
            fn default() -> Self {
                Self {
                    normalize: $normalize,
                    rescale: $rescale,
                    lambda: one(),
                }
            }
        }

        impl $config {
            /// One line for `metaalign list`.
            pub const DESCRIPTION: &'static str = $desc;

            /// The per-tensor method this config describes.
            pub fn method(&self) -> TaskArithmeticFamily {
                TaskArithmeticFamily {
                    kind: $kind,
                    sparsification: $sparsification,
                    consensus: $consensus,
                    normalize: self.normalize,
                    rescale: self.rescale,
                    lambda: self.lambda.clone(),
                }
            }
        }

        #[typetag::serde(name = $kind)]
        impl MergeConfig for $config {
            fn build(&self) -> Result<Box<dyn Merger>> {
                Ok(Box::new(MethodMerger::new(self.method())))
            }
        }
    };
}

task_arithmetic_kind!(TaskArithmeticConfig, "task_arithmetic", None, false,
            normalize: false = "no", rescale: false = "no",
            "base + λ·Σwᵢ(θᵢ − base) (per-model `weight`; base required)");

task_arithmetic_kind!(TiesConfig, "ties", Some(Sparsification::Magnitude), true,
            normalize: true = "yes", rescale: false = "no",
            "TIES: trim task vectors to the top `density` magnitudes, elect signs, disjoint mean (per-model `weight`, `density`)");

task_arithmetic_kind!(DareLinearConfig, "dare_linear", Some(Sparsification::Random), false,
            normalize: false = "no", rescale: true = "yes",
            "DARE: seeded random drop of task-vector entries (keep `density`), L1 rescale, weighted sum");

task_arithmetic_kind!(DareTiesConfig, "dare_ties", Some(Sparsification::Random), true,
            normalize: false = "no", rescale: true = "yes",
            "DARE + TIES sign consensus: seeded random drop, L1 rescale, sign election");

task_arithmetic_kind!(BreadcrumbsConfig, "breadcrumbs", Some(Sparsification::MagnitudeOutliers), false,
            normalize: false = "no", rescale: false = "no",
            "Model Breadcrumbs: drop the top `gamma` and the smallest entries of each task vector (keep `density`)");

task_arithmetic_kind!(BreadcrumbsTiesConfig, "breadcrumbs_ties", Some(Sparsification::MagnitudeOutliers), true,
            normalize: false = "no", rescale: false = "no",
            "Model Breadcrumbs with TIES sign consensus");

/// `slerp`: spherical interpolation between `base` (t = 0) and one model (t = 1).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlerpConfig {
    /// Interpolation factor: scalar, gradient over layers or filtered list.
    pub t: ParamValue,
}

#[typetag::serde(name = "slerp")]
impl MergeConfig for SlerpConfig {
    fn build(&self) -> Result<Box<dyn Merger>> {
        Ok(Box::new(MethodMerger::new(Slerp { t: self.t.clone() })))
    }
}

/// `model_stock`: base plus ≥ 2 models, interpolation from their offsets' angle.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelStockConfig {
    /// Compute the angle per row instead of per tensor.
    #[serde(default)]
    pub filter_wise: bool,
}

#[typetag::serde(name = "model_stock")]
impl MergeConfig for ModelStockConfig {
    fn build(&self) -> Result<Box<dyn Merger>> {
        Ok(Box::new(MethodMerger::new(ModelStock {
            filter_wise: self.filter_wise,
        })))
    }
}
