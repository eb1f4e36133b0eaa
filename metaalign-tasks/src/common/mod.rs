//! Pieces shared by every task: the response format, chat templates and
//! reward schemes.

pub mod format;
pub mod reward;
pub mod template;

pub use format::{check_format, extract_answer, judge_response, normalize_response, FormatCheck};
pub use reward::{BinaryReward, PaperReward};
pub use template::ChatTemplate;
