//! Dataset I/O: JSONL (one task per line) and veRL parquet, plus import of
//! the paper's released parquet files.

pub mod paper;

pub use paper::PaperRecord;
