//! A programming problem as the verifier checks it: how the program is
//! run (stdin, a function, or a test script) and its tests. Stored as a
//! task's ground truth, so exports and reward labels carry everything.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// How a program is run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// A program reading stdin and writing stdout.
    Stdin,
    /// A function (or a method of `class Solution`) called with arguments.
    Functional,
    /// HumanEval/MBPP: the program, then test code that raises on failure.
    Script,
}

/// One test: for `stdin`, the program's input and expected output; for
/// `functional`, the arguments as JSON values one per line (LiveCodeBench's
/// form) and the expected return value as JSON; for `script`, unused.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TestCase {
    /// Standard input, or the arguments one JSON value per line.
    pub input: String,
    /// Expected standard output, or the expected return value as JSON.
    pub output: String,
}

/// The checkable part of a problem.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Problem {
    /// How a program is called: stdin, a function, or a test script.
    pub mode: Mode,
    /// The tests, in the file's order.
    pub tests: Vec<TestCase>,
    /// The function (or method of `Solution`) of functional problems.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fn_name: Option<String>,
    /// The test code of script problems.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub test_code: Option<String>,
    /// The function `check(candidate)` is called with (HumanEval).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entry_point: Option<String>,
    /// Code put before a program that does not define `entry_point`
    /// (HumanEval's prompt: the signature the model completes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefix_code: Option<String>,
    /// How many of the tests (the first ones) are public.
    #[serde(default)]
    pub public: usize,
}

impl Problem {
    /// The program to run for a response's code (HumanEval completions
    /// get the prompt's signature in front).
    pub fn program(&self, code: &str) -> String {
        match (&self.prefix_code, &self.entry_point) {
            (Some(prefix), Some(entry)) if !code.contains(&format!("def {entry}")) => {
                format!("{prefix}\n{code}")
            }
            _ => code.to_string(),
        }
    }

    /// The problem in a task's ground truth: our own form (`mode`,
    /// `tests`), or a reward label's `answer` holding veRL/APPS-style
    /// tests (`{"inputs": [...], "outputs": [...], "fn_name"?}`), a list of
    /// LiveCodeBench test cases, or our form as a JSON string.
    pub fn from_ground_truth(gt: &Value) -> Result<Problem, String> {
        if gt.get("tests").is_some() && gt.get("mode").is_some() {
            return serde_json::from_value(gt.clone())
                .map_err(|e| format!("the task's tests cannot be read: {e}"));
        }
        let answer = match gt.get("answer") {
            Some(Value::String(s)) => serde_json::from_str::<Value>(s)
                .map_err(|e| format!("the label's `answer` is not JSON tests: {e}"))?,
            Some(v @ (Value::Object(_) | Value::Array(_))) => v.clone(),
            _ => return Err("the task has no tests (no `tests`, no JSON `answer`)".into()),
        };
        let fn_name = gt
            .get("fn_name")
            .and_then(Value::as_str)
            .map(str::to_string);
        from_label_value(&answer, fn_name)
    }
}

/// A JSON value as text the way Python's `json.dumps` would write it for
/// our purposes (strings stay strings).
pub fn json_text(v: &Value) -> String {
    v.to_string()
}

fn from_label_value(v: &Value, fn_name: Option<String>) -> Result<Problem, String> {
    match v {
        Value::Object(o) if o.contains_key("mode") && o.contains_key("tests") => {
            serde_json::from_value(v.clone()).map_err(|e| format!("bad tests: {e}"))
        }
        Value::Object(o) if o.contains_key("inputs") => {
            let fn_name = o
                .get("fn_name")
                .and_then(Value::as_str)
                .map(str::to_string)
                .or(fn_name);
            let (Some(Value::Array(ins)), Some(Value::Array(outs))) =
                (o.get("inputs"), o.get("outputs"))
            else {
                return Err("`inputs` and `outputs` must be lists".into());
            };
            if ins.len() != outs.len() {
                return Err(format!("{} inputs but {} outputs", ins.len(), outs.len()));
            }
            let mut tests = Vec::with_capacity(ins.len());
            for (i, o) in ins.iter().zip(outs) {
                tests.push(match &fn_name {
                    None => TestCase {
                        input: text_of(i),
                        output: text_of(o),
                    },
                    Some(_) => TestCase {
                        input: args_lines(i),
                        output: json_text(o),
                    },
                });
            }
            let mode = if fn_name.is_some() {
                Mode::Functional
            } else {
                Mode::Stdin
            };
            Ok(Problem {
                mode,
                public: 0,
                tests,
                fn_name,
                test_code: None,
                entry_point: None,
                prefix_code: None,
            })
        }
        Value::Array(cases) => {
            let mut tests = Vec::new();
            let mut functional = false;
            for c in cases {
                let (Some(i), Some(o)) = (c.get("input"), c.get("output")) else {
                    return Err("a test case needs `input` and `output`".into());
                };
                functional |= c.get("testtype").and_then(Value::as_str) == Some("functional");
                tests.push(TestCase {
                    input: text_of(i),
                    output: text_of(o),
                });
            }
            if functional && fn_name.is_none() {
                return Err("functional tests need `fn_name` in the label".into());
            }
            Ok(Problem {
                mode: if functional {
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
            })
        }
        _ => Err("expected {\"inputs\": [...], \"outputs\": [...]} or a list of test cases".into()),
    }
}

/// A string as it is; anything else as JSON text.
pub fn text_of(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => json_text(other),
    }
}

/// Arguments as LiveCodeBench's functional input: one JSON value per line.
/// A list is the argument list; a string is taken as already in that form.
pub fn args_lines(v: &Value) -> String {
    match v {
        Value::Array(args) => args.iter().map(json_text).collect::<Vec<_>>().join("\n"),
        Value::String(s) => s.clone(),
        other => json_text(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn labels_in_apps_form() {
        let gt = json!({"kind": "code", "answer": "{\"inputs\": [\"1 2\\n\"], \"outputs\": [\"3\\n\"]}"});
        let p = Problem::from_ground_truth(&gt).unwrap();
        assert_eq!(p.mode, Mode::Stdin);
        assert_eq!(p.tests[0].input, "1 2\n");
        let gt = json!({"answer": {"inputs": [[[1, 2], 3]], "outputs": [[0, 1]], "fn_name": "f"}});
        let p = Problem::from_ground_truth(&gt).unwrap();
        assert_eq!(p.mode, Mode::Functional);
        assert_eq!(p.tests[0].input, "[1,2]\n3");
        assert_eq!(p.tests[0].output, "[0,1]");
        assert!(Problem::from_ground_truth(&json!({"answer": "nope"})).is_err());
        assert!(Problem::from_ground_truth(&json!({})).is_err());
    }

    #[test]
    fn humaneval_prefix() {
        let p = Problem {
            mode: Mode::Script,
            tests: vec![],
            fn_name: None,
            test_code: Some("assert f(1) == 2".into()),
            entry_point: Some("f".into()),
            prefix_code: Some("def f(x):\n".into()),
            public: 0,
        };
        assert_eq!(
            p.program("    return x + 1"),
            "def f(x):\n\n    return x + 1"
        );
        assert_eq!(p.program("def f(x): return x+1"), "def f(x): return x+1");
    }
}
