//! Pieces shared by every task: the response format, chat templates and
//! reward schemes.

pub mod format;
pub mod reward;
pub mod template;

pub use format::{
    check_format, check_response_format, extract_answer, judge_response, think_opened_by_prompt,
    FormatCheck,
};
pub use reward::{BinaryReward, PaperReward};
pub use template::ChatTemplate;
