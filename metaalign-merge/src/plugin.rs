//! [`MergePlugin`]: the built-in merge strategies and the `merge` stage.

use std::collections::BTreeMap;

use metaalign_core::{Plugin, Registry};

use crate::methods::{
    BreadcrumbsConfig, BreadcrumbsTiesConfig, DareLinearConfig, DareTiesConfig, LinearConfig,
    ModelStockConfig, SlerpConfig, TaskArithmeticConfig, TiesConfig,
};
use crate::params::ParamValue;
use crate::spec::{MergeStageConfig, StageModel};

/// The kinds of `metaalign-merge`.
#[derive(Clone, Copy, Debug, Default)]
pub struct MergePlugin;

impl Plugin for MergePlugin {
    fn build(&self, registry: &mut Registry) {
        registry
            .add_merge(
                "weighted average Σwᵢθᵢ/Σwᵢ (bit-exact with mergekit); normalize = false for the raw sum",
                LinearConfig::default(),
            )
            .add_merge(TaskArithmeticConfig::DESCRIPTION, TaskArithmeticConfig::default())
            .add_merge(TiesConfig::DESCRIPTION, TiesConfig::default())
            .add_merge(DareLinearConfig::DESCRIPTION, DareLinearConfig::default())
            .add_merge(DareTiesConfig::DESCRIPTION, DareTiesConfig::default())
            .add_merge(BreadcrumbsConfig::DESCRIPTION, BreadcrumbsConfig::default())
            .add_merge(
                BreadcrumbsTiesConfig::DESCRIPTION,
                BreadcrumbsTiesConfig::default(),
            )
            .add_merge(
                "spherical interpolation between the base (t = 0) and one model (t = 1), lerp when near-parallel",
                SlerpConfig {
                    t: ParamValue::Gradient(vec![0.0, 0.5, 1.0]),
                },
            )
            .add_merge(
                "Model Stock: base plus ≥ 2 models, ratio from the mean cosine of their offsets",
                ModelStockConfig::default(),
            )
            .add_stage(
                "merge earlier stages' models (linear, ties, dare, slerp, ...) into `model`",
                MergeStageConfig {
                    models: vec![
                        StageModel::weighted("deduction.model", 1.0),
                        StageModel::weighted("induction.model", 0.2),
                    ],
                    base: None,
                    method: Box::new(LinearConfig::default()),
                    dtype: None,
                    shard_size: None,
                    copy_files_from: None,
                    threads: None,
                    max_in_flight: None,
                },
            );
    }
}

impl StageModel {
    /// `{ from = "<from>", weight = <weight> }`.
    pub(crate) fn weighted(from: &str, weight: f64) -> Self {
        Self {
            from: from.to_string(),
            name: None,
            params: BTreeMap::from([("weight".to_string(), serde_json::json!(weight))]),
        }
    }
}
