//! One row of the paper's released data (veRL parquet layout), before it is
//! turned into a [`metaalign_core::Task`] by the task module of its ability
//! (`deduction::from_paper`, `induction::from_paper`, `abduction::from_paper`).

use std::path::Path;

pub use metaalign_core::paper::PaperRecord;
use metaalign_core::{Error, Result};
use serde_json::Value;

/// Where a paper file sits: `<Ability>/<level>/<split>.parquet`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PaperFileInfo {
    /// The ability folder's name (`Deduction`), if the layout has one.
    pub ability_folder: Option<String>,
    /// The level from the folder name, if it is a number.
    pub level: Option<u32>,
    /// `train` / `test` from the file stem.
    pub split: String,
}

impl PaperFileInfo {
    /// Reads the ability folder, level and split from a file's path.
    pub(crate) fn of(path: &Path) -> Self {
        let parent = path.parent();
        let level = parent
            .and_then(Path::file_name)
            .and_then(|n| n.to_str())
            .and_then(|n| n.parse::<u32>().ok());
        let ability_folder = parent
            .and_then(Path::parent)
            .and_then(Path::file_name)
            .and_then(|n| n.to_str())
            .map(str::to_string);
        let split = path
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or("data")
            .to_string();
        PaperFileInfo {
            ability_folder,
            level,
            split,
        }
    }
}

/// Reads every row of a paper-layout parquet file. The level comes from the
/// folder name, else from a `difficulty` column; a row with neither is an
/// error.
pub fn read_paper_records(path: &Path) -> Result<Vec<PaperRecord>> {
    let info = PaperFileInfo::of(path);
    let rows = super::parquet::read_rows(path)?;
    rows.into_iter()
        .enumerate()
        .map(|(i, row)| {
            let level = match info.level {
                Some(l) => l,
                None => row
                    .get("difficulty")
                    .and_then(Value::as_u64)
                    .and_then(|d| u32::try_from(d).ok())
                    .ok_or_else(|| {
                        Error::data(format!(
                            "{}: row {i}: no level (the file is not in a `<Ability>/<level>/` folder and has no `difficulty` column)",
                            path.display()
                        ))
                    })?,
            };
            PaperRecord::from_row(row, level, i)
                .map_err(|e| Error::data(format!("{}: {e}", path.display())))
        })
        .collect()
}
