//! Stages that combine several crates (merge + evaluation).
//!
//! - [`merge_search`]: `kind = "merge_search"`, a merge whose weights are
//!   picked on a validation split from a small grid.

pub mod merge_search;

pub use merge_search::MergeSearchStage;

use std::collections::BTreeMap;

use metaalign_core::{Plugin, Registry};
use metaalign_merge::methods::LinearConfig;
use metaalign_merge::MergePlugin;
use metaalign_rl::RlPlugin;

use merge_search::{Search, SearchModel, Validation};

/// Adds the `merge_search` stage (and the merge and RL kinds it combines).
#[derive(Clone, Copy, Debug, Default)]
pub struct MergeSearchPlugin;

impl Plugin for MergeSearchPlugin {
    fn build(&self, registry: &mut Registry) {
        registry.add_plugin(&MergePlugin).add_plugin(&RlPlugin);
        let model = |from: &str| SearchModel {
            from: from.to_string(),
            name: None,
            params: BTreeMap::new(),
        };
        registry.add_stage(
            "merge with the best weights (and method, given several) of a small grid, scored on a validation split (greedy pass@1)",
            MergeSearchStage {
                models: vec![model("deduction.model"), model("induction.model")],
                base: None,
                method: Some(Box::new(LinearConfig::default())),
                methods: Vec::new(),
                search: Search {
                    grid: vec![vec![1.0, 0.2], vec![1.0, 1.0]],
                    validation: Validation {
                        tasks: vec!["deduction".into(), "induction".into()],
                        count: 20,
                        levels: Some(vec![1]),
                        max_new_tokens: 256,
                        batch_size: 32,
                    },
                },
            },
        );
    }
}
