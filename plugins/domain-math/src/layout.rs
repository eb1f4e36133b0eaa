//! The published layouts of math benchmark files, and how one row becomes
//! a problem: which field holds the problem, the gold answer, the worked
//! solution, the id, the level and the subject.

use metaalign_core::Result;
use metaalign_tasks::dataset::Record;
use serde::{Deserialize, Serialize};

/// A benchmark file's layout (`preset = "…"`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Preset {
    /// Chosen from the first row's fields (see [`Preset::detect`]).
    #[default]
    Auto,
    /// MATH-500 / MATH: `problem`, `answer`, `solution`, `level`, `subject`, `unique_id`.
    Math500,
    /// AIME: `problem` (or `question`), `answer`, `id`.
    Aime,
    /// AMC: `problem`, `answer` (often a float such as `142.0`), `id`.
    Amc,
    /// OlympiadBench: `question`, `final_answer` (a list), `solution`, `subfield`, `id`.
    Olympiadbench,
    /// Minerva math: `problem`, `solution` whose last `\boxed{}` is the answer.
    Minerva,
}

/// Field names of one layout; `None` where the layout has no such field.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fields {
    /// Tried in order: the first present one holds the problem.
    pub problem: Vec<String>,
    /// The gold answer; `None` = the last `\boxed{}` of the solution.
    pub answer: Option<String>,
    /// The worked solution.
    pub solution: Option<String>,
    /// The problem's id.
    pub id: Option<String>,
    /// The difficulty level (a number, or text such as `Level 3`).
    pub level: Option<String>,
    /// The subject (`Algebra`, …).
    pub subject: Option<String>,
}

fn names(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

fn some(name: &str) -> Option<String> {
    Some(name.to_string())
}

impl Preset {
    /// The layout a row's fields suggest: `final_answer` → OlympiadBench;
    /// `unique_id` or `level` → MATH-500; `answer` → AIME (problem/question
    /// + answer + id); a `solution` alone → Minerva.
    pub fn detect(record: &Record) -> Preset {
        let has = |f: &str| record.fields.contains_key(f);
        if has("final_answer") {
            Preset::Olympiadbench
        } else if has("unique_id") || has("level") {
            Preset::Math500
        } else if has("answer") {
            Preset::Aime
        } else if has("solution") {
            Preset::Minerva
        } else {
            Preset::Math500
        }
    }

    /// The fields of a layout (`Auto` must be resolved first).
    pub fn fields(self) -> Fields {
        match self {
            Preset::Auto | Preset::Math500 => Fields {
                problem: names(&["problem"]),
                answer: some("answer"),
                solution: some("solution"),
                id: some("unique_id"),
                level: some("level"),
                subject: some("subject"),
            },
            Preset::Aime | Preset::Amc => Fields {
                problem: names(&["problem", "question"]),
                answer: some("answer"),
                solution: some("solution"),
                id: some("id"),
                level: None,
                subject: None,
            },
            Preset::Olympiadbench => Fields {
                problem: names(&["question"]),
                answer: some("final_answer"),
                solution: some("solution"),
                id: some("id"),
                level: None,
                subject: some("subfield"),
            },
            Preset::Minerva => Fields {
                problem: names(&["problem", "question"]),
                answer: None,
                solution: some("solution"),
                id: some("id"),
                level: None,
                subject: some("type"),
            },
        }
    }
}

/// One row, read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Row {
    /// The problem statement.
    pub problem: String,
    /// Gold answer text as the file has it (several answers joined by `, `).
    pub answer: String,
    /// The worked solution, when the file has one.
    pub solution: Option<String>,
    /// The file's id for the problem.
    pub id: Option<String>,
    /// The difficulty level, when the file gives one.
    pub level: Option<u32>,
    /// The subject, when the file gives one.
    pub subject: Option<String>,
}

/// Reads one row with `fields`, naming the file and line of any problem.
pub fn read_row(record: &Record, fields: &Fields) -> Result<Row> {
    let problem = match fields
        .problem
        .iter()
        .find(|f| record.fields.contains_key(f.as_str()))
    {
        Some(f) => record.text(f)?,
        None => {
            return Err(record.missing(&fields.problem.join("` or `")));
        }
    };
    let solution = match &fields.solution {
        Some(f) => text_or_list(record, f)?,
        None => None,
    };
    let answer = match &fields.answer {
        Some(f) => text_or_list(record, f)?.ok_or_else(|| record.missing(f))?,
        None => {
            let Some(solution) = &solution else {
                return Err(record.missing(fields.solution.as_deref().unwrap_or("solution")));
            };
            last_boxed(solution)
                .map(str::to_string)
                .ok_or_else(|| record.error("the solution has no \\boxed{…} answer"))?
        }
    };
    if answer.trim().is_empty() {
        return Err(record.error("the answer is empty"));
    }
    let level = match &fields.level {
        Some(f) => match record.optional_text(f)? {
            // "Level 3", "3", 3
            Some(text) => Some(parse_level(&text).ok_or_else(|| {
                record.error(format_args!(
                    "field `{f}` = `{text}` is not a level (1, 2, … or \"Level 3\")"
                ))
            })?),
            None => None,
        },
        None => None,
    };
    let id = match &fields.id {
        Some(f) => record.optional_text(f)?,
        None => None,
    };
    let subject = match &fields.subject {
        Some(f) => text_or_list(record, f)?,
        None => None,
    };
    Ok(Row {
        problem,
        answer,
        solution,
        id,
        level,
        subject,
    })
}

/// A text field, or a list of texts joined by `, ` (OlympiadBench's
/// `final_answer` and `solution` are lists).
fn text_or_list(record: &Record, field: &str) -> Result<Option<String>> {
    match record.fields.get(field) {
        Some(serde_json::Value::Array(items)) => {
            let mut parts = Vec::with_capacity(items.len());
            for item in items {
                match item {
                    serde_json::Value::String(s) if !s.trim().is_empty() => {
                        parts.push(s.trim().to_string())
                    }
                    serde_json::Value::Number(n) => parts.push(n.to_string()),
                    _ => {
                        return Err(record.error(format_args!(
                            "field `{field}` should be a list of non-empty texts"
                        )))
                    }
                }
            }
            if parts.is_empty() {
                return Err(record.error(format_args!("field `{field}` is an empty list")));
            }
            Ok(Some(parts.join(", ")))
        }
        _ => record.optional_text(field),
    }
}

/// The level number in `3` or `Level 3`; `None` otherwise.
fn parse_level(text: &str) -> Option<u32> {
    let t = text.trim();
    let t = t
        .strip_prefix("Level")
        .or_else(|| t.strip_prefix("level"))
        .unwrap_or(t)
        .trim();
    // Some MATH rows say "Level ?"; a float like 3.0 comes from parquet.
    let t = t.strip_suffix(".0").unwrap_or(t);
    t.parse::<u32>().ok().filter(|&l| l >= 1)
}

/// The content of the last `\boxed{…}` (or `\fbox{…}`) of `text`, braces
/// balanced; `None` when there is none or it is unclosed.
pub fn last_boxed(text: &str) -> Option<&str> {
    let start = ["\\boxed{", "\\fbox{"]
        .iter()
        .filter_map(|m| text.rfind(m).map(|i| i + m.len()))
        .max()?;
    let mut depth = 1usize;
    for (i, c) in text[start..].char_indices() {
        match c {
            '{' => depth += 1,
            '}' => {
                depth -= 1;
                if depth == 0 {
                    return Some(text[start..start + i].trim());
                }
            }
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_and_boxes() {
        assert_eq!(parse_level("Level 3"), Some(3));
        assert_eq!(parse_level("4"), Some(4));
        assert_eq!(parse_level("2.0"), Some(2));
        assert_eq!(parse_level("Level ?"), None);
        assert_eq!(parse_level("0"), None);
        assert_eq!(
            last_boxed("so \\boxed{1} and \\boxed{\\frac{1}{2}}."),
            Some("\\frac{1}{2}")
        );
        assert_eq!(last_boxed("\\fbox{ 7 }"), Some("7"));
        assert_eq!(last_boxed("\\boxed{\\frac{1}{2}"), None);
        assert_eq!(last_boxed("none"), None);
    }
}
