//! Dataset I/O: JSONL (one task per line) and veRL parquet, plus import of
//! the paper's released parquet files.
//!
//! [`read_tasks`] accepts all three and tells them apart by extension and
//! schema: `.jsonl` / `.json` is our JSONL; a `.parquet` with a `label`
//! column is one of our exports (the task records are read from it); any
//! other `.parquet` is imported as the paper's data, each row turned into a
//! task by the `from_paper` of its ability.

pub mod arrow_json;
pub mod export;
pub mod jsonl;
pub mod label;
pub mod paper;
pub mod parquet;
pub mod records;
pub mod score;
pub mod stage;
pub mod task_list;
pub mod verl;

use std::path::{Path, PathBuf};

use metaalign_core::{Ability, Error, Result, Task};

pub use jsonl::{read_jsonl, write_jsonl};
pub use label::task_from_label;
pub use paper::{read_paper_records, PaperFileInfo, PaperRecord};
pub use records::{read_records, records_from_jsonl, Location, Record};
pub use task_list::{stable_task_id, TaskList};
pub use verl::{read_verl, write_verl, LABEL_COLUMN};

/// A dataset file format, from the file name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DataFormat {
    /// One JSON record per line (`.jsonl`).
    Jsonl,
    /// Apache Parquet (`.parquet`).
    Parquet,
}

impl DataFormat {
    /// `.jsonl` / `.json` -> JSONL, `.parquet` -> parquet.
    pub fn from_path(path: &Path) -> Result<Self> {
        match path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            Some("jsonl") | Some("json") => Ok(DataFormat::Jsonl),
            Some("parquet") => Ok(DataFormat::Parquet),
            _ => Err(Error::data(format!(
                "{}: unknown dataset format (expected a .jsonl or .parquet file name)",
                path.display()
            ))),
        }
    }
}

/// Reads tasks from our JSONL, our parquet, or the paper's parquet.
pub fn read_tasks(path: &Path) -> Result<Vec<Task>> {
    match DataFormat::from_path(path)? {
        DataFormat::Jsonl => read_jsonl(path),
        DataFormat::Parquet => {
            if parquet::column_names(path)?
                .iter()
                .any(|c| c == LABEL_COLUMN)
            {
                read_verl(path)
            } else {
                read_paper_tasks(path)
            }
        }
    }
}

/// Writes tasks in the format the file name says (veRL parquet files hold
/// one ability; `split` goes to `extra_info.split`).
pub fn write_tasks(path: &Path, tasks: &[Task], split: &str) -> Result<()> {
    match DataFormat::from_path(path)? {
        DataFormat::Jsonl => write_jsonl(path, tasks),
        DataFormat::Parquet => write_verl(path, tasks, split),
    }
}

/// The stable id of a paper row: `<ability>-L<level>-<split>-<index>`, with
/// the split and index from `extra_info` (falling back to the file stem and
/// the row number). Unique within a file of the paper's layout.
pub fn paper_task_id(record: &PaperRecord, ability: &Ability, file_split: &str) -> String {
    format!(
        "{}-L{}-{}-{}",
        ability.as_str(),
        record.level,
        record.split(file_split),
        record.index()
    )
}

/// Turns one paper record into a task with the `from_paper` of its ability,
/// and gives it its stable id.
pub fn task_from_paper(record: &PaperRecord, ability: &Ability, file_split: &str) -> Result<Task> {
    let importer = paper_importer(ability)
        .ok_or_else(|| Error::data(format!("no importer for paper rows of ability `{ability}` (no installed plugin adds one; the paper's three come with `TasksPlugin`)")))?;
    let mut task = importer(record)?;
    task.id = paper_task_id(record, ability, file_split);
    Ok(task)
}

/// The paper importer a task kind of the installed registry added for
/// `ability` (`TasksPlugin` adds the paper's three).
fn paper_importer(ability: &Ability) -> Option<metaalign_core::PaperImporter> {
    metaalign_core::registry::installed().paper_importer(ability)
}

/// Reads a paper-layout parquet file as tasks (rows in file order).
pub fn read_paper_tasks(path: &Path) -> Result<Vec<Task>> {
    use rayon::prelude::*;
    let info = PaperFileInfo::of(path);
    let records = read_paper_records(path)?;
    records
        .par_iter()
        .map(|rec| {
            let ability = rec
                .detect_ability(info.ability_folder.as_deref())
                .ok_or_else(|| {
                    Error::data(format!(
                        "{}: row {}: cannot tell the ability (not under a Deduction/Induction/Abduction folder, and no task-specific columns)",
                        path.display(),
                        rec.row
                    ))
                })?;
            task_from_paper(rec, &ability, &info.split).map_err(|e| {
                Error::data(format!("{}: row {}: {e}", path.display(), rec.row))
            })
        })
        .collect()
}

/// Every `*.parquet` file under `dir`, sorted (for the paper's layout).
pub fn parquet_files_under(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).map_err(|e| Error::io(&d, e))? {
            let entry = entry.map_err(|e| Error::io(&d, e))?;
            let p = entry.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|e| e == "parquet") {
                out.push(p);
            }
        }
    }
    out.sort();
    Ok(out)
}

#[cfg(test)]
mod tests;
