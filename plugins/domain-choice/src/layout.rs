//! How one row of a multiple-choice file becomes a question with lettered
//! options: GPQA's answer columns (shuffled per question from the run
//! seed) or an explicit list of options with the answer's letter or index.

use metaalign_core::seed::{derive_seed, mix64};
use metaalign_core::Result;
use metaalign_tasks::dataset::{stable_task_id, Record};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::KIND;

/// At most this many options: one letter each, `A` to `Z`.
pub const MAX_OPTIONS: usize = 26;

/// A file's layout (`layout = "…"`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Layout {
    /// Chosen from the first row's fields (see [`Layout::detect`]).
    #[default]
    Auto,
    /// GPQA: `Question`, `Correct Answer`, `Incorrect Answer 1`–`3`,
    /// `Record ID`, `Explanation`.
    Gpqa,
    /// `question`, `choices` (a list), `answer` (a letter or a 0-based
    /// index), `id`.
    Choices,
}

/// Field names of one layout.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fields {
    /// Tried in order: the first present one holds the question.
    pub question: Vec<String>,
    /// Tried in order: the list of options (layout `choices`).
    pub choices: Vec<String>,
    /// The answer's letter or index (layout `choices`).
    pub answer: String,
    /// The correct option's text (layout `gpqa`).
    pub correct: String,
    /// The incorrect options' texts (layout `gpqa`).
    pub incorrect: Vec<String>,
    /// The question's id, when the file has one.
    pub id: Option<String>,
    /// A worked explanation (GPQA's `Explanation`), used as the warm-up rationale.
    pub explanation: Option<String>,
}

fn names(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

impl Layout {
    /// `gpqa` when the row has `Correct Answer`, else `choices`.
    pub fn detect(record: &Record) -> Layout {
        if record.fields.contains_key("Correct Answer") {
            Layout::Gpqa
        } else {
            Layout::Choices
        }
    }

    /// The layout's name in configs and messages.
    pub fn name(self) -> &'static str {
        match self {
            Layout::Auto => "auto",
            Layout::Gpqa => "gpqa",
            Layout::Choices => "choices",
        }
    }

    /// The fields of a layout (`Auto` reads as `Choices`).
    pub fn fields(self) -> Fields {
        match self {
            Layout::Gpqa => Fields {
                question: names(&["Question"]),
                choices: Vec::new(),
                answer: String::new(),
                correct: "Correct Answer".into(),
                incorrect: names(&[
                    "Incorrect Answer 1",
                    "Incorrect Answer 2",
                    "Incorrect Answer 3",
                ]),
                id: Some("Record ID".into()),
                explanation: Some("Explanation".into()),
            },
            Layout::Auto | Layout::Choices => Fields {
                question: names(&["question", "problem"]),
                choices: names(&["choices", "options"]),
                answer: "answer".into(),
                correct: String::new(),
                incorrect: Vec::new(),
                id: Some("id".into()),
                explanation: Some("explanation".into()),
            },
        }
    }
}

/// The letter of option `index` (0 → `A`).
pub fn letter(index: usize) -> char {
    debug_assert!(index < MAX_OPTIONS);
    char::from(b'A' + index as u8)
}

/// The index of letter `c` (`A`/`a` → 0), if it is a letter.
pub fn index_of(c: char) -> Option<usize> {
    c.is_ascii_alphabetic()
        .then(|| (c.to_ascii_uppercase() as u8 - b'A') as usize)
}

/// One question, read: options in the order they are shown.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Question {
    /// Stable id (the file's, or a hash of the question).
    pub id: String,
    /// The question text.
    pub question: String,
    /// The options' texts, in the order shown as A, B, C, ….
    pub choices: Vec<String>,
    /// Index of the correct option in `choices`.
    pub answer: usize,
    /// A worked explanation, when the file has one.
    pub explanation: Option<String>,
}

/// The order GPQA's options are shown in for question `id` under
/// `run_seed`: `order[position]` is the option's index in the file's order
/// (correct answer first, then the incorrect ones). A Fisher–Yates shuffle
/// driven by a SplitMix64 stream seeded with
/// `derive_seed(run_seed, "choice/<id>")`, simple enough to reproduce
/// outside Rust (scripts/write_domain_samples.py does), so responses made
/// elsewhere can be scored.
pub fn shuffled_order(run_seed: u64, id: &str, n: usize) -> Vec<usize> {
    let mut state = derive_seed(run_seed, &format!("choice/{id}"));
    let mut order: Vec<usize> = (0..n).collect();
    for i in (1..n).rev() {
        // mix64 adds the increment itself: this is SplitMix64's next().
        let draw = mix64(state);
        state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        order.swap(i, (draw % (i as u64 + 1)) as usize);
    }
    order
}

/// Reads one row with `fields`; GPQA options are shuffled from `run_seed`
/// when `shuffle` is set. Every problem names the file and line.
pub fn read_question(
    record: &Record,
    layout: Layout,
    fields: &Fields,
    run_seed: u64,
    shuffle: bool,
) -> Result<Question> {
    let question = match fields
        .question
        .iter()
        .find(|f| record.fields.contains_key(f.as_str()))
    {
        Some(f) => record.text(f)?.trim().to_string(),
        None => return Err(record.missing(&fields.question.join("` or `"))),
    };
    let id = match &fields.id {
        Some(f) => record.optional_text(f)?.map(|s| s.trim().to_string()),
        None => None,
    }
    .unwrap_or_else(|| stable_task_id(KIND, &question));
    let explanation = match &fields.explanation {
        Some(f) => record.optional_text(f)?.map(|s| s.trim().to_string()),
        None => None,
    };
    let (choices, answer) = match layout {
        Layout::Gpqa => {
            let mut texts = vec![record.text(&fields.correct)?.trim().to_string()];
            for f in &fields.incorrect {
                texts.push(record.text(f)?.trim().to_string());
            }
            check_options(record, &texts)?;
            if shuffle {
                let order = shuffled_order(run_seed, &id, texts.len());
                let answer = order.iter().position(|&o| o == 0).unwrap_or(0);
                (
                    order.into_iter().map(|o| texts[o].clone()).collect(),
                    answer,
                )
            } else {
                (texts, 0)
            }
        }
        Layout::Auto | Layout::Choices => {
            let texts = read_options(record, &fields.choices)?;
            check_options(record, &texts)?;
            let answer = read_answer(record, &fields.answer, texts.len())?;
            (texts, answer)
        }
    };
    Ok(Question {
        id,
        question,
        choices,
        answer,
        explanation,
    })
}

/// The list of options (texts; numbers written out).
fn read_options(record: &Record, names: &[String]) -> Result<Vec<String>> {
    let Some(field) = names
        .iter()
        .find(|f| record.fields.contains_key(f.as_str()))
    else {
        return Err(record.missing(&names.join("` or `")));
    };
    let Some(Value::Array(items)) = record.fields.get(field.as_str()) else {
        return Err(record.error(format_args!("field `{field}` should be a list of options")));
    };
    items
        .iter()
        .enumerate()
        .map(|(i, item)| match item {
            Value::String(s) if !s.trim().is_empty() => Ok(s.trim().to_string()),
            Value::Number(n) => Ok(n.to_string()),
            _ => Err(record.error(format_args!(
                "field `{field}`: option {} should be non-empty text",
                i + 1
            ))),
        })
        .collect()
}

/// At least two options, at most [`MAX_OPTIONS`], no two the same.
fn check_options(record: &Record, texts: &[String]) -> Result<()> {
    if texts.len() < 2 {
        return Err(record.error(format_args!(
            "a question needs at least 2 options, found {}",
            texts.len()
        )));
    }
    if texts.len() > MAX_OPTIONS {
        return Err(record.error(format_args!(
            "at most {MAX_OPTIONS} options (A to Z), found {}",
            texts.len()
        )));
    }
    for (i, t) in texts.iter().enumerate() {
        if let Some(j) = texts[..i].iter().position(|u| u == t) {
            return Err(record.error(format_args!(
                "options ({}) and ({}) are the same: `{t}`",
                letter(j),
                letter(i)
            )));
        }
    }
    Ok(())
}

/// The answer: a letter (`B`, `b`, `(B)`) or a 0-based index (a number).
fn read_answer(record: &Record, field: &str, n: usize) -> Result<usize> {
    let last = letter(n - 1);
    let index = match record.fields.get(field) {
        None | Some(Value::Null) => return Err(record.missing(field)),
        Some(Value::Number(num)) => match num.as_u64() {
            Some(i) if (i as usize) < n => i as usize,
            _ => {
                return Err(record.error(format_args!(
                    "field `{field}` = {num} is not an option index (0 to {})",
                    n - 1
                )))
            }
        },
        Some(Value::String(s)) => {
            let t = s.trim();
            if t.is_empty() {
                return Err(record.error(format_args!("field `{field}` is empty")));
            }
            let bare = t
                .strip_prefix('(')
                .and_then(|r| r.strip_suffix(')'))
                .unwrap_or(t);
            let mut chars = bare.chars();
            match (chars.next().and_then(index_of), chars.next()) {
                (Some(i), None) if i < n => i,
                (Some(_), None) => {
                    return Err(record.error(format_args!(
                        "field `{field}` = `{t}` is out of range: {n} options, A to {last}"
                    )))
                }
                _ => {
                    return Err(record.error(format_args!(
                        "field `{field}` = `{t}` is not a letter A to {last} (or a 0-based index as a number)"
                    )))
                }
            }
        }
        Some(_) => {
            return Err(record.error(format_args!(
                "field `{field}` should be a letter or a 0-based index"
            )))
        }
    };
    Ok(index)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn letters_and_order() {
        assert_eq!(letter(0), 'A');
        assert_eq!(letter(25), 'Z');
        assert_eq!(index_of('c'), Some(2));
        assert_eq!(index_of('3'), None);
        let order = shuffled_order(0, "rec1", 4);
        let mut sorted = order.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, vec![0, 1, 2, 3]);
        assert_eq!(shuffled_order(5, "x", 1), vec![0]);
    }
}
