//! Evaluation: held-out test sets, metrics over verdicts, reports and charts.
//!
//! - [`metrics`]: pure functions (greedy pass@1, avg@k, unbiased pass@k,
//!   oracle ensemble, format-ok rate, mean length) over [`TaskResult`]s;
//! - [`heldout`]: per-source, per-level test and validation sets drawn from
//!   seed streams disjoint from training;
//! - [`offline`]: responses generated elsewhere scored into the same results;
//! - [`report`]: `report.json` rows and `report.md` tables in the paper's shape;
//! - [`charts`]: PNG accuracy bars and training curves.

pub mod charts;
pub mod heldout;
pub mod metrics;
pub mod offline;
pub mod report;

pub use heldout::{heldout_tasks, split_seed, Split};
pub use metrics::{Metrics, SampleResult, TaskResult};
pub use report::{EvalSettings, Report, ReportRow, TableMetric, TableSpec, ORACLE};
pub mod run;
pub mod stage;

pub use run::{build_sets, evaluate_policy, EvalOptions, EvalSet};
pub use stage::EvaluateStage;
