//! JSONL: one serde-serialized [`Task`] per line.

use std::fs::File;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;

use metaalign_core::{Error, Result, Task};

#[derive(serde::Deserialize)]
struct LabelLine {
    label: String,
}

/// Reads tasks, one per non-blank line (a task record, or an object whose
/// `label` field holds one, as `export --format openrlhf` writes); a bad line is an error naming the
/// file and the line number.
pub fn read_jsonl(path: &Path) -> Result<Vec<Task>> {
    let file = File::open(path).map_err(|e| Error::io(path, e))?;
    let mut tasks = Vec::new();
    for (i, line) in BufReader::new(file).lines().enumerate() {
        let line = line.map_err(|e| Error::io(path, e))?;
        if line.trim().is_empty() {
            continue;
        }
        let task: Task = match serde_json::from_str(&line) {
            Ok(t) => t,
            // An OpenRLHF export line: the task record is in `label`.
            Err(e) => match serde_json::from_str::<LabelLine>(&line) {
                Ok(l) => serde_json::from_str(&l.label).map_err(|e| {
                    Error::data(format!(
                        "{}:{}: field `label` is not a task record: {e}",
                        path.display(),
                        i + 1
                    ))
                })?,
                Err(_) => {
                    return Err(Error::data(format!(
                        "{}:{}: not a task record: {e}",
                        path.display(),
                        i + 1
                    )))
                }
            },
        };
        tasks.push(task);
    }
    Ok(tasks)
}

/// Writes tasks one per line (through a temporary file renamed into place).
pub fn write_jsonl(path: &Path, tasks: &[Task]) -> Result<()> {
    metaalign_core::atomic::write_buffered(path, |w| {
        for task in tasks {
            serde_json::to_writer(&mut *w, task)?;
            w.write_all(b"\n").map_err(|e| Error::io(path, e))?;
        }
        Ok(())
    })
}
