//! veRL parquet: the layout of the paper's released data
//! (`data_source`, `prompt`, `ability`, `reward_model`, `extra_info`, plus
//! the task-specific columns of each ability, with the same Arrow types),
//! extended with a `label` column holding the task record as JSON — what
//! the reward service (`metaalign serve-reward`) and our readers use.
//!
//! `extra_info` carries the label too (`{index, split, label}`): veRL hands
//! only `data_source`, the response, `ground_truth` and `extra_info` to a
//! custom reward function, so that is where
//! `integrations/verl/metaalign_reward.py` finds it.

use std::path::Path;
use std::sync::Arc;

use arrow_schema::{DataType, Field, Fields, Schema, SchemaRef};
use metaalign_core::{Ability, Error, Result, Task};
use serde_json::{json, Map, Value};

use super::parquet::{read_rows, write_rows};

/// The column holding the task record JSON.
pub const LABEL_COLUMN: &str = "label";

fn utf8(name: &str) -> Field {
    Field::new(name, DataType::Utf8, true)
}

fn int64(name: &str) -> Field {
    Field::new(name, DataType::Int64, true)
}

fn list_of(name: &str, item: DataType) -> Field {
    Field::new(
        name,
        DataType::List(Arc::new(Field::new("element", item, true))),
        true,
    )
}

fn structure(name: &str, fields: Vec<Field>) -> Field {
    Field::new(name, DataType::Struct(Fields::from(fields)), true)
}

fn common_tail() -> Vec<Field> {
    let prompt = list_of(
        "prompt",
        DataType::Struct(Fields::from(vec![utf8("content"), utf8("role")])),
    );
    let reward_model = structure(
        "reward_model",
        vec![
            structure(
                "ground_truth",
                vec![
                    utf8("solution_text_format"),
                    list_of("statements", DataType::Null),
                ],
            ),
            utf8("style"),
        ],
    );
    let extra_info = structure(
        "extra_info",
        vec![int64("index"), utf8("split"), utf8(LABEL_COLUMN)],
    );
    vec![
        utf8("data_source"),
        prompt,
        utf8("ability"),
        reward_model,
        extra_info,
        utf8(LABEL_COLUMN),
    ]
}

/// The export schema for tasks of an ability: the paper's columns for that
/// ability in the paper's order and types, then `label`.
pub fn schema_for(ability: &Ability) -> SchemaRef {
    let mut fields = match ability {
        Ability::Deduction => vec![
            int64("index"),
            utf8("mode"),
            Field::new("valid", DataType::Boolean, true),
            utf8("puzzle_text"),
            utf8("solution_text"),
            structure(
                "puzzle_spec",
                vec![list_of("formulas", DataType::Utf8), utf8("mode")],
            ),
        ],
        Ability::Induction => vec![
            utf8("problem_id"),
            int64("difficulty"),
            utf8("puzzle_text"),
            int64("solution_text"),
        ],
        Ability::Abduction | Ability::Domain(_) => vec![
            utf8("problem_id"),
            int64("difficulty"),
            utf8("puzzle_text"),
            utf8("solution_text"),
        ],
    };
    match ability {
        Ability::Induction => {
            // Paper order: ..., solution_text, ability, complete_sequence, data_source, ...
            fields.push(utf8("ability"));
            fields.push(list_of("complete_sequence", DataType::Int64));
            let tail = common_tail().into_iter().filter(|f| f.name() != "ability");
            fields.extend(tail);
        }
        _ => fields.extend(common_tail()),
    }
    Arc::new(Schema::new(fields))
}

/// `data_source` of our exports (veRL's `reward_fn_key`).
pub fn data_source(task: &Task) -> String {
    format!("metaalign_{}", task.kind)
}

/// The first of `keys` present in the task's ground truth.
fn gt<'a>(task: &'a Task, keys: &[&str]) -> Option<&'a Value> {
    keys.iter()
        .find_map(|k| task.ground_truth.get(*k))
        .filter(|v| !v.is_null())
}

/// One export row for a task (`index` is its position in the file).
pub fn task_row(task: &Task, index: usize, split: &str) -> Result<Map<String, Value>> {
    let label = serde_json::to_string(task)?;
    let mut row = Map::new();
    row.insert("data_source".into(), data_source(task).into());
    row.insert(
        "prompt".into(),
        serde_json::to_value(&task.prompt).map_err(Error::from)?,
    );
    row.insert("ability".into(), task.ability.as_str().into());
    row.insert(
        "reward_model".into(),
        json!({
            "style": "rule",
            "ground_truth": {"solution_text_format": task.answer, "statements": []},
        }),
    );
    row.insert(
        "extra_info".into(),
        json!({"index": index as i64, "split": split, "label": label}),
    );
    row.insert("puzzle_text".into(), task.puzzle.clone().into());
    match task.ability {
        Ability::Deduction => {
            row.insert("index".into(), (index as i64).into());
            row.insert("mode".into(), "nested".into());
            let valid = gt(task, &["satisfiable"]).and_then(Value::as_bool);
            row.insert("valid".into(), valid.unwrap_or(true).into());
            row.insert("solution_text".into(), task.answer.clone().into());
            let formulas = gt(task, &["formulas"]).cloned().unwrap_or(Value::Null);
            row.insert(
                "puzzle_spec".into(),
                json!({"formulas": formulas, "mode": "nested"}),
            );
        }
        Ability::Induction => {
            row.insert("problem_id".into(), task.id.clone().into());
            row.insert("difficulty".into(), i64::from(task.level.0).into());
            let answer = task.answer.trim().parse::<i64>().map_err(|_| {
                Error::data(format!(
                    "task {}: induction answer `{}` is not a 64-bit integer",
                    task.id, task.answer
                ))
            })?;
            row.insert("solution_text".into(), answer.into());
            let seq = gt(task, &["complete_sequence", "sequence", "full_sequence"])
                .filter(|v| v.as_array().is_some_and(|a| a.iter().all(Value::is_i64)))
                .cloned()
                .unwrap_or(Value::Null);
            row.insert("complete_sequence".into(), seq);
        }
        _ => {
            row.insert("problem_id".into(), task.id.clone().into());
            row.insert("difficulty".into(), i64::from(task.level.0).into());
            row.insert("solution_text".into(), task.answer.clone().into());
        }
    }
    row.insert(LABEL_COLUMN.into(), label.into());
    Ok(row)
}

/// Writes tasks (all of one ability) as a veRL parquet file.
pub fn write_verl(path: &Path, tasks: &[Task], split: &str) -> Result<()> {
    let ability = match tasks.first() {
        Some(t) => t.ability.clone(),
        None => Ability::Domain("empty".into()),
    };
    if let Some(other) = tasks.iter().find(|t| t.ability != ability) {
        return Err(Error::data(format!(
            "{}: a veRL parquet file holds one ability, but task {} is {} and task {} is {}",
            path.display(),
            tasks[0].id,
            ability,
            other.id,
            other.ability
        )));
    }
    let rows = tasks
        .iter()
        .enumerate()
        .map(|(i, t)| task_row(t, i, split))
        .collect::<Result<Vec<_>>>()?;
    write_rows(path, schema_for(&ability), &rows)
}

/// Reads the tasks of one of our veRL files from its `label` column.
pub fn read_verl(path: &Path) -> Result<Vec<Task>> {
    let rows = read_rows(path)?;
    rows.iter()
        .enumerate()
        .map(|(i, row)| match row.get(LABEL_COLUMN) {
            Some(Value::String(label)) => serde_json::from_str::<Task>(label).map_err(|e| {
                Error::data(format!(
                    "{}: row {i}: column `label` is not a task record: {e}",
                    path.display()
                ))
            }),
            _ => Err(Error::data(format!(
                "{}: row {i}: column `label` is empty",
                path.display()
            ))),
        })
        .collect()
}
