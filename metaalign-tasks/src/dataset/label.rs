//! Reward labels: what a remote trainer sends with each rollout so the
//! reward service knows what to check it against.
//!
//! Two forms are accepted:
//! - a full task record, as `metaalign export` writes it (the `label`
//!   column of a veRL export, or OpenRLHF's label key);
//! - a short label naming the task kind and the gold answer, for
//!   benchmark data that never went through metaalign:
//!   `{"kind": "math", "answer": "\\frac{3}{4}"}` or
//!   `{"kind": "choice", "answer": "B", "choices": ["..", ..]}`. Every
//!   field of a short label is kept as the task's ground truth, so a
//!   verifier finds the same keys it finds in tasks it loads itself.

use metaalign_core::{Ability, Level, Task};
use serde_json::Value;

/// The task a label describes, or why it is not one.
pub fn task_from_label(label: &str) -> std::result::Result<Task, String> {
    let value: Value = serde_json::from_str(label).map_err(|e| format!("not JSON: {e}"))?;
    let Value::Object(fields) = &value else {
        return Err("a label must be a JSON object".into());
    };
    if fields.contains_key("prompt") {
        return serde_json::from_value(value).map_err(|e| format!("not a task record: {e}"));
    }
    let kind = match fields.get("kind") {
        Some(Value::String(k)) if !k.trim().is_empty() => k.trim().to_string(),
        Some(_) => return Err("`kind` must be a non-empty string".into()),
        None => {
            return Err(
                "neither a task record (no `prompt`) nor a short label (no `kind`): \
                 expected {\"kind\": \"math\", \"answer\": \"...\"}"
                    .into(),
            )
        }
    };
    let answer = match fields.get("answer") {
        Some(Value::String(a)) if !a.trim().is_empty() => a.clone(),
        // Benchmarks store integer answers as numbers (AIME) or indices.
        Some(Value::Number(n)) => n.to_string(),
        Some(Value::String(_)) => return Err("`answer` is empty".into()),
        Some(_) => return Err("`answer` must be a string or a number".into()),
        None => return Err(format!("short label of kind `{kind}` has no `answer`")),
    };
    let id = match fields.get("id") {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => "label".to_string(),
    };
    let mut ground_truth = value.clone();
    if let Value::Object(gt) = &mut ground_truth {
        gt.insert("answer".into(), Value::String(answer.clone()));
    }
    Ok(Task {
        id,
        ability: Ability::Domain(kind.clone()),
        kind,
        level: Level(1),
        puzzle: String::new(),
        prompt: Vec::new(),
        // No prompt travels with a short label: the response is judged as
        // it stands (it must open its own <think> for the format check).
        templated: true,
        answer,
        ground_truth,
        rationale: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_labels_carry_kind_and_answer() {
        let t = task_from_label(r#"{"kind":"math","answer":"\\frac{3}{4}"}"#).unwrap();
        assert_eq!(t.kind, "math");
        assert_eq!(t.answer, "\\frac{3}{4}");
        assert_eq!(t.ground_truth["answer"], "\\frac{3}{4}");
        let t = task_from_label(r#"{"kind":"math","answer":204,"id":7}"#).unwrap();
        assert_eq!((t.answer.as_str(), t.id.as_str()), ("204", "7"));
        let t = task_from_label(r#"{"kind":"choice","answer":"B","choices":["x","y"]}"#).unwrap();
        assert_eq!(t.ground_truth["choices"][1], "y");
    }

    #[test]
    fn bad_labels_say_what_is_wrong() {
        for (label, needle) in [
            ("nope", "not JSON"),
            ("[1]", "JSON object"),
            ("{}", "no `kind`"),
            (r#"{"kind":"math"}"#, "no `answer`"),
            (r#"{"kind":"math","answer":"  "}"#, "empty"),
            (r#"{"kind":"math","answer":[1]}"#, "string or a number"),
            (r#"{"kind":3,"answer":"1"}"#, "`kind`"),
            (r#"{"prompt":"x"}"#, "not a task record"),
        ] {
            let err = task_from_label(label).unwrap_err();
            assert!(err.contains(needle), "{label}: {err}");
        }
    }
}
