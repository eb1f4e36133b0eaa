//! metaalign-tasks: the three meta-ability tasks of the paper (deduction,
//! induction, abduction) with exact solvers, well-posed generators and total
//! verifiers; reward schemes; prompt templates; dataset I/O.

#![warn(missing_docs)]

pub mod abduction;
pub mod common;
pub mod dataset;
pub mod deduction;
pub mod generate;
pub mod induction;
pub mod logic;
pub mod plugin;

pub use common::{check_format, extract_answer, BinaryReward, ChatTemplate, PaperReward};
pub use plugin::TasksPlugin;
