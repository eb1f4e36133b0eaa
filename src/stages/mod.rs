//! Stages that combine several crates (merge + evaluation).
//!
//! - [`merge_search`]: `kind = "merge_search"`, a merge whose weights are
//!   picked on a validation split from a small grid.

pub mod merge_search;

pub use merge_search::MergeSearchStage;
