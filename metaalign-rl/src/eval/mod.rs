//! Evaluation: held-out test sets, metrics over verdicts, reports and charts.
//!
//! - [`metrics`]: pure functions (greedy pass@1, avg@k, unbiased pass@k,
//!   oracle ensemble, format-ok rate, mean length) over [`TaskResult`]s;
//! - [`heldout`]: per-source, per-level test and validation sets drawn from
//!   seed streams disjoint from training;
//! - [`offline`]: responses generated elsewhere scored into the same results;
//! - [`report`]: `report.json` rows and `report.md` tables in the paper's shape;
//! - [`compare`]: paired differences between models with standard errors;
//! - [`claims`]: which comparisons a stage reports (the paper's three claims);
//! - [`summary`]: the claims in words and the comparisons table of `report.md`;
//! - [`charts`]: PNG accuracy bars and training curves.

pub mod charts;
pub mod claims;
pub mod compare;
pub mod heldout;
pub mod metrics;
pub mod offline;
pub mod report;
pub mod summary;

pub use claims::{Claims, CompareSpec, DomainClaim};
pub use compare::Comparison;
pub use heldout::{heldout_tasks, split_seed, Split};
pub use metrics::{Metrics, SampleResult, TaskResult};
pub use report::{EvalSettings, Report, ReportRow, TableMetric, TableSpec, ORACLE};
pub mod run;
pub mod stage;

pub use run::{build_sets, evaluate_policy, EvalOptions, EvalSet};
pub use stage::EvaluateStage;
