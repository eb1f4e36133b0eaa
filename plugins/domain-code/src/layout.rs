//! How one row of a file becomes a problem: LiveCodeBench's layout, a plain
//! layout, or HumanEval/MBPP's.
//!
//! - `livecodebench`: `question_title`, `question_content`, `starter_code`,
//!   `difficulty` (easy/medium/hard: levels 1-3), `question_id`,
//!   `public_test_cases` and `private_test_cases` (JSON strings of
//!   `[{input, output, testtype}]`; the private ones possibly compressed as
//!   LiveCodeBench publishes them: base64 of zlib of a pickled string),
//!   `metadata` (a JSON string with `func_name` for functional problems).
//! - `plain`: `{"id", "prompt", "tests": [{"input", "output"}], "fn_name"?}`.
//!   Without `fn_name` a test's input is stdin and its output the expected
//!   stdout; with it, `input` is a JSON array of arguments and `output` the
//!   JSON return value.
//! - `humaneval`: `prompt` (a signature and docstring), `test` (code
//!   defining `check(candidate)`), `entry_point`; or MBPP's `text`/`prompt`,
//!   `test_list` (asserts) and `test_setup_code`.

use std::io::Read;

use base64::Engine;
use metaalign_core::Result;
use metaalign_tasks::dataset::{stable_task_id, Record};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::problem::{args_lines, json_text, text_of, Mode, Problem, TestCase};
use crate::KIND;

/// Which of a problem's tests are run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TestSet {
    /// Public and private tests (LiveCodeBench's evaluation).
    #[default]
    All,
    /// Only the public tests (the examples in the statement).
    Public,
}

/// A file's layout (`layout = "…"`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Layout {
    /// Chosen from the first row's fields (see [`Layout::detect`]).
    #[default]
    Auto,
    /// LiveCodeBench's release files: `question_content`, JSON test lists
    /// (private tests possibly zlib + base64 encoded).
    LiveCodeBench,
    /// `question`, `tests` as a list of `{input, output}`.
    Plain,
    /// HumanEval's `prompt`, `test` script and `entry_point`.
    HumanEval,
}

impl Layout {
    /// `livecodebench` with `question_content`, `plain` with `tests`,
    /// else `humaneval`.
    pub fn detect(record: &Record) -> Layout {
        if record.fields.contains_key("question_content") {
            Layout::LiveCodeBench
        } else if record.fields.contains_key("tests") {
            Layout::Plain
        } else {
            Layout::HumanEval
        }
    }
}

/// One problem, read.
#[derive(Clone, Debug, PartialEq)]
pub struct Question {
    /// Stable id (the file's, or a hash of the statement).
    pub id: String,
    /// The problem's title, when the file has one.
    pub title: Option<String>,
    /// The statement (or HumanEval's prompt).
    pub statement: String,
    /// Code to start from (LiveCodeBench's `starter_code`, HumanEval's
    /// prompt).
    pub starter_code: Option<String>,
    /// Difficulty level (LiveCodeBench: easy 1, medium 2, hard 3).
    pub level: u32,
    /// How the program is run and checked.
    pub problem: Problem,
    /// A reference solution, when the file has one.
    pub solution: Option<String>,
}

/// Reads one row in `layout` (not `Auto`), keeping `tests`.
pub fn read_question(record: &Record, layout: Layout, tests: TestSet) -> Result<Question> {
    match layout {
        Layout::LiveCodeBench | Layout::Auto => read_lcb(record, tests),
        Layout::Plain => read_plain(record),
        Layout::HumanEval => read_humaneval(record),
    }
}

fn id_of(record: &Record, fields: &[&str], text: &str) -> Result<String> {
    for f in fields {
        if let Some(id) = record.optional_text(f)? {
            return Ok(id.trim().to_string());
        }
    }
    Ok(stable_task_id(KIND, text))
}

fn solution_of(record: &Record, fields: &[&str]) -> Result<Option<String>> {
    for f in fields {
        if let Some(s) = record.optional_text(f)? {
            return Ok(Some(s));
        }
    }
    Ok(None)
}

fn level_of(difficulty: Option<String>) -> u32 {
    match difficulty.as_deref().map(|d| d.trim().to_ascii_lowercase()) {
        Some(d) if d == "medium" => 2,
        Some(d) if d == "hard" => 3,
        _ => 1,
    }
}

fn read_lcb(record: &Record, which: TestSet) -> Result<Question> {
    let statement = record.text("question_content")?.trim().to_string();
    let id = id_of(record, &["question_id", "id"], &statement)?;
    let starter = record
        .optional_text("starter_code")
        .ok()
        .flatten()
        .filter(|s| !s.trim().is_empty());
    let fn_name = match record.fields.get("metadata") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if s.trim().is_empty() => None,
        Some(Value::String(s)) => {
            let meta: Value = serde_json::from_str(s)
                .map_err(|e| record.error(format_args!("field `metadata` is not JSON: {e}")))?;
            meta.get("func_name")
                .and_then(Value::as_str)
                .map(str::to_string)
        }
        Some(Value::Object(m)) => m
            .get("func_name")
            .and_then(Value::as_str)
            .map(str::to_string),
        Some(_) => return Err(record.error("field `metadata` should be a JSON string")),
    };
    let public = lcb_cases(record, "public_test_cases", true)?;
    let private = match which {
        TestSet::All => lcb_cases(record, "private_test_cases", false)?,
        TestSet::Public => Vec::new(),
    };
    let functional = public.iter().chain(&private).any(|(_, f)| *f);
    if functional && fn_name.is_none() {
        return Err(record.error("functional test cases need `metadata` with `func_name`"));
    }
    let public_n = public.len();
    let tests: Vec<TestCase> = public.into_iter().chain(private).map(|(t, _)| t).collect();
    if tests.is_empty() {
        return Err(record.error("the problem has no test cases"));
    }
    Ok(Question {
        id,
        title: record
            .optional_text("question_title")?
            .map(|t| t.trim().to_string()),
        statement,
        starter_code: starter,
        level: level_of(record.optional_text("difficulty")?),
        problem: Problem {
            mode: if functional {
                Mode::Functional
            } else {
                Mode::Stdin
            },
            tests,
            fn_name: if functional { fn_name } else { None },
            test_code: None,
            entry_point: None,
            prefix_code: None,
            public: public_n,
        },
        solution: solution_of(record, &["solution", "reference_solution"])?,
    })
}

/// LiveCodeBench test cases: a JSON string (or list) of `{input, output,
/// testtype}`, or the compressed form (base64 of zlib of a pickled JSON
/// string). Each case with whether it is functional.
fn lcb_cases(record: &Record, field: &str, required: bool) -> Result<Vec<(TestCase, bool)>> {
    let list = match record.fields.get(field) {
        None | Some(Value::Null) if !required => return Ok(Vec::new()),
        None | Some(Value::Null) => return Err(record.missing(field)),
        Some(Value::Array(items)) => items.clone(),
        Some(Value::String(s)) => {
            let text = s.trim();
            let json = if text.starts_with('[') || text.is_empty() {
                text.to_string()
            } else {
                decompress(text).map_err(|e| record.error(format_args!("field `{field}`: {e}")))?
            };
            if json.is_empty() {
                return Ok(Vec::new());
            }
            match serde_json::from_str::<Value>(&json) {
                Ok(Value::Array(items)) => items,
                Ok(_) => {
                    return Err(record.error(format_args!("field `{field}` should be a JSON list")))
                }
                Err(e) => {
                    return Err(record.error(format_args!("field `{field}` is not JSON: {e}")))
                }
            }
        }
        Some(_) => {
            return Err(record.error(format_args!(
                "field `{field}` should be a JSON string of test cases"
            )))
        }
    };
    let mut out = Vec::with_capacity(list.len());
    for (i, case) in list.iter().enumerate() {
        let get = |k: &str| case.get(k).filter(|v| !v.is_null());
        let (Some(input), Some(output)) = (get("input"), get("output")) else {
            return Err(record.error(format_args!(
                "field `{field}`: test {} needs `input` and `output`",
                i + 1
            )));
        };
        let functional = match get("testtype").and_then(Value::as_str) {
            None | Some("stdin") => false,
            Some("functional") => true,
            Some(other) => {
                return Err(record.error(format_args!(
                    "field `{field}`: test {}: testtype `{other}` is neither stdin nor functional",
                    i + 1
                )))
            }
        };
        out.push((
            TestCase {
                input: text_of(input),
                output: text_of(output),
            },
            functional,
        ));
    }
    Ok(out)
}

/// LiveCodeBench's compressed test cases:
/// `json.loads(pickle.loads(zlib.decompress(base64.b64decode(s))))`.
pub fn decompress(text: &str) -> std::result::Result<String, String> {
    let raw = base64::engine::general_purpose::STANDARD
        .decode(text.as_bytes())
        .map_err(|e| format!("neither JSON nor base64: {e}"))?;
    let mut inflated = Vec::new();
    flate2::read::ZlibDecoder::new(raw.as_slice())
        .take(1 << 30)
        .read_to_end(&mut inflated)
        .map_err(|e| format!("base64 but not zlib data: {e}"))?;
    let value: serde_pickle::Value =
        serde_pickle::value_from_slice(&inflated, serde_pickle::DeOptions::new())
            .map_err(|e| format!("zlib data but not a pickle: {e}"))?;
    match value {
        serde_pickle::Value::String(s) => Ok(s),
        serde_pickle::Value::Bytes(b) => {
            String::from_utf8(b).map_err(|_| "the pickled bytes are not UTF-8".to_string())
        }
        _ => Err("the pickle does not hold a string".into()),
    }
}

fn read_plain(record: &Record) -> Result<Question> {
    let statement = match record.optional_text("prompt")? {
        Some(p) => p,
        None => record.text("question")?,
    }
    .trim()
    .to_string();
    let id = id_of(record, &["id"], &statement)?;
    let fn_name = record
        .optional_text("fn_name")?
        .map(|s| s.trim().to_string());
    let Some(Value::Array(items)) = record.fields.get("tests") else {
        return Err(record.error("field `tests` should be a list of {\"input\", \"output\"}"));
    };
    let mut tests = Vec::with_capacity(items.len());
    for (i, t) in items.iter().enumerate() {
        let (Some(input), Some(output)) = (t.get("input"), t.get("output")) else {
            return Err(record.error(format_args!(
                "field `tests`: test {} needs `input` and `output`",
                i + 1
            )));
        };
        tests.push(match fn_name {
            None => {
                if !input.is_string() || !output.is_string() {
                    return Err(record.error(format_args!(
                        "field `tests`: test {}: without `fn_name`, `input` and `output` are stdin and stdout text",
                        i + 1
                    )));
                }
                TestCase {
                    input: text_of(input),
                    output: text_of(output),
                }
            }
            Some(_) => {
                if !input.is_array() {
                    return Err(record.error(format_args!(
                        "field `tests`: test {}: with `fn_name`, `input` is a JSON array of arguments",
                        i + 1
                    )));
                }
                TestCase {
                    input: args_lines(input),
                    output: json_text(output),
                }
            }
        });
    }
    if tests.is_empty() {
        return Err(record.error("field `tests` is empty"));
    }
    Ok(Question {
        id,
        title: None,
        statement,
        starter_code: record.optional_text("starter_code")?,
        level: level_of(record.optional_text("difficulty")?),
        problem: Problem {
            mode: if fn_name.is_some() {
                Mode::Functional
            } else {
                Mode::Stdin
            },
            public: 0,
            tests,
            fn_name,
            test_code: None,
            entry_point: None,
            prefix_code: None,
        },
        solution: solution_of(record, &["solution"])?,
    })
}

fn read_humaneval(record: &Record) -> Result<Question> {
    let statement = match record.optional_text("prompt")? {
        Some(p) => p,
        None => record.text("text")?,
    };
    let id = id_of(record, &["task_id", "id"], &statement)?;
    let entry_point = record
        .optional_text("entry_point")?
        .map(|s| s.trim().to_string());
    let test_code = match record.optional_text("test")? {
        Some(t) => t,
        None => match record.fields.get("test_list") {
            Some(Value::Array(items)) if !items.is_empty() => {
                // MBPP leaves `test_setup_code` empty on most rows.
                let mut code = match record.fields.get("test_setup_code") {
                    Some(Value::String(s)) => s.clone(),
                    _ => String::new(),
                };
                for (i, item) in items.iter().enumerate() {
                    let Value::String(line) = item else {
                        return Err(record.error(format_args!(
                            "field `test_list`: item {} should be a string",
                            i + 1
                        )));
                    };
                    code.push('\n');
                    code.push_str(line);
                }
                code
            }
            _ => return Err(record.missing("test` or `test_list")),
        },
    };
    // HumanEval's prompt is code (a signature to complete); MBPP's text is
    // prose.
    let prompt_is_code = entry_point
        .as_ref()
        .is_some_and(|e| statement.contains(&format!("def {e}")));
    Ok(Question {
        id,
        title: None,
        starter_code: prompt_is_code.then(|| statement.clone()),
        statement,
        level: 1,
        problem: Problem {
            mode: Mode::Script,
            tests: vec![TestCase {
                input: String::new(),
                output: String::new(),
            }],
            fn_name: None,
            prefix_code: None,
            test_code: Some(test_code),
            entry_point,
            public: 0,
        },
        solution: solution_of(record, &["canonical_solution", "code", "solution"])?,
    })
    .map(|mut q| {
        if q.starter_code.is_some() {
            q.problem.prefix_code = q.starter_code.clone();
        }
        q
    })
}
