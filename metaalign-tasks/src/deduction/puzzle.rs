//! A deduction puzzle: named variables and formulas, its ground-truth JSON,
//! answer text and the answer parser.

use serde_json::{json, Value};

use crate::logic::{self, var_index, var_name, Formula, Models, Var};

/// The answer to an unsatisfiable puzzle.
pub const NO_ASSIGNMENT: &str = "No assignment satisfies all the formulas.";

/// Formulas over named variables.
#[derive(Clone, Debug, PartialEq)]
pub struct DeductionPuzzle {
    /// Variable names, by variable number; the answer lists them in this order.
    pub names: Vec<String>,
    pub formulas: Vec<Formula>,
}

impl DeductionPuzzle {
    /// A puzzle over the standard names `A`, `B`, … for `nvars` variables.
    pub fn standard(nvars: usize, formulas: Vec<Formula>) -> Self {
        Self {
            names: (0..nvars).map(|v| var_name(v as Var)).collect(),
            formulas,
        }
    }

    pub fn nvars(&self) -> usize {
        self.names.len()
    }

    /// Reads formulas in the paper's text format. With `variables` the
    /// names are those, in that order; without, they are the names used in
    /// the formulas, in standard order (`A`…`Z`, `A1`…, then others
    /// alphabetically).
    pub fn from_texts<S: AsRef<str>>(
        formulas: &[S],
        variables: Option<&[String]>,
    ) -> Result<Self, String> {
        if formulas.is_empty() {
            return Err("the puzzle has no formulas".into());
        }
        let names: Vec<String> = match variables {
            Some(v) => v.to_vec(),
            None => {
                let mut seen: Vec<String> = Vec::new();
                for (i, text) in formulas.iter().enumerate() {
                    logic::parse_with(text.as_ref(), &mut |name| {
                        if !seen.iter().any(|s| s == name) {
                            seen.push(name.to_string());
                        }
                        Some(0)
                    })
                    .map_err(|e| format!("formula {}: {e}", i + 1))?;
                }
                seen.sort_by(|a, b| {
                    let ka = var_index(a).map_or((1, 0), |i| (0, i));
                    let kb = var_index(b).map_or((1, 0), |i| (0, i));
                    ka.cmp(&kb).then_with(|| a.cmp(b))
                });
                seen
            }
        };
        if names.len() > usize::from(Var::MAX) {
            return Err(format!("too many variables ({})", names.len()));
        }
        let parsed = formulas
            .iter()
            .enumerate()
            .map(|(i, text)| {
                logic::parse_with(text.as_ref(), &mut |name| {
                    names.iter().position(|n| n == name).map(|p| p as Var)
                })
                .map_err(|e| format!("formula {}: {e}", i + 1))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self {
            names,
            formulas: parsed,
        })
    }

    /// Formula `i` in the paper's text format.
    pub fn formula_text(&self, i: usize) -> String {
        let mut s = String::new();
        self.formulas[i].write(&mut s, &|v: Var| self.names[v as usize].as_str());
        s
    }

    pub fn formula_texts(&self) -> Vec<String> {
        (0..self.formulas.len())
            .map(|i| self.formula_text(i))
            .collect()
    }

    /// Exact classification (tables up to 20 variables, SAT above).
    pub fn models(&self) -> Models {
        logic::classify(&self.formulas, self.nvars())
    }

    /// The answer text of an assignment, in the paper's format
    /// (`(1) A is True` lines, each ending in a newline).
    pub fn answer_text(&self, values: &[bool]) -> String {
        use std::fmt::Write;
        let mut s = String::with_capacity(values.len() * 16);
        for (i, (name, v)) in self.names.iter().zip(values).enumerate() {
            let _ = writeln!(
                s,
                "({}) {} is {}",
                i + 1,
                name,
                if *v { "True" } else { "False" }
            );
        }
        s
    }

    /// The ground-truth JSON the verifier reads. `solution` is the reference
    /// model (`None` for an unsatisfiable puzzle).
    pub fn ground_truth(&self, solution: Option<&[bool]>, unique: bool) -> Value {
        let text = match solution {
            Some(v) => self.answer_text(v),
            None => NO_ASSIGNMENT.to_string(),
        };
        self.ground_truth_parts(self.formula_texts(), solution, unique, text)
    }

    /// [`DeductionPuzzle::ground_truth`] from already printed formulas and
    /// answer text.
    pub fn ground_truth_parts(
        &self,
        formulas: Vec<String>,
        solution: Option<&[bool]>,
        unique: bool,
        answer: String,
    ) -> Value {
        json!({
            "formulas": formulas,
            "variables": self.names,
            "satisfiable": solution.is_some(),
            "unique": unique && solution.is_some(),
            "solution": solution,
            "solution_text_format": answer,
        })
    }

    /// Reads a ground truth written by [`DeductionPuzzle::ground_truth`]
    /// (only `formulas` is required). Returns the puzzle and whether it is
    /// satisfiable.
    pub fn from_ground_truth(gt: &Value) -> Result<(Self, bool), String> {
        let formulas = gt
            .get("formulas")
            .and_then(Value::as_array)
            .ok_or("ground truth has no `formulas` list")?;
        let formulas: Vec<&str> = formulas
            .iter()
            .map(|f| f.as_str().ok_or("a formula is not a string"))
            .collect::<Result<_, _>>()?;
        let variables: Option<Vec<String>> = match gt.get("variables") {
            Some(Value::Array(vs)) => Some(
                vs.iter()
                    .map(|v| {
                        v.as_str()
                            .map(str::to_string)
                            .ok_or("a variable name is not a string")
                    })
                    .collect::<Result<_, _>>()?,
            ),
            _ => None,
        };
        let puzzle = Self::from_texts(&formulas, variables.as_deref())?;
        let satisfiable = gt
            .get("satisfiable")
            .and_then(Value::as_bool)
            .unwrap_or(true);
        Ok((puzzle, satisfiable))
    }
}

/// The formula lines of a puzzle text: the paper's `  - formula` lines or
/// our `  1. formula` lines.
pub fn formulas_in_text(text: &str) -> Vec<String> {
    text.lines()
        .filter_map(|line| {
            let t = line.trim();
            if let Some(rest) = t.strip_prefix("- ") {
                return Some(rest.trim().to_string());
            }
            let digits = t.bytes().take_while(u8::is_ascii_digit).count();
            if digits > 0 {
                return t[digits..].strip_prefix(". ").map(|r| r.trim().to_string());
            }
            None
        })
        .collect()
}

/// The puzzle of a task and whether it is satisfiable: from its ground
/// truth, or else from the formula lines of its puzzle text.
pub fn task_puzzle(task: &metaalign_core::Task) -> Result<(DeductionPuzzle, bool), String> {
    if task.ground_truth.get("formulas").is_some() {
        return DeductionPuzzle::from_ground_truth(&task.ground_truth);
    }
    puzzle_from_text(task)
}

/// Like [`task_puzzle`], but remembers the puzzles last read on this
/// thread, so verifying many responses to the same task parses its
/// formulas once. Entries are found by a hash of the formula and variable
/// texts and then compared in full, so a hit is always the same puzzle.
pub fn task_puzzle_cached(
    task: &metaalign_core::Task,
) -> Result<std::rc::Rc<(DeductionPuzzle, bool)>, String> {
    use std::cell::RefCell;
    use std::collections::HashMap;
    use std::hash::{Hash, Hasher};
    use std::rc::Rc;
    const CAPACITY: usize = 4096;
    struct Entry {
        formulas: Vec<String>,
        variables: Option<Vec<String>>,
        satisfiable: Option<bool>,
        value: Rc<(DeductionPuzzle, bool)>,
    }
    thread_local! {
        static CACHE: RefCell<HashMap<u64, Entry>> = RefCell::new(HashMap::new());
    }
    let gt = &task.ground_truth;
    fn strings(v: Option<&Value>) -> Option<Vec<&str>> {
        v?.as_array()?.iter().map(Value::as_str).collect()
    }
    let Some(formulas) = strings(gt.get("formulas")) else {
        return task_puzzle(task).map(Rc::new);
    };
    let variables = match gt.get("variables") {
        None => None,
        Some(v) => match strings(Some(v)) {
            Some(v) => Some(v),
            None => return task_puzzle(task).map(Rc::new),
        },
    };
    // Small puzzles parse faster than a cache lookup costs.
    if formulas.iter().map(|f| f.len()).sum::<usize>() < 256 {
        return task_puzzle(task).map(Rc::new);
    }
    let satisfiable = gt.get("satisfiable").and_then(Value::as_bool);
    let mut h = std::collections::hash_map::DefaultHasher::new();
    formulas.hash(&mut h);
    variables.hash(&mut h);
    satisfiable.hash(&mut h);
    let key = h.finish();
    let same = |e: &Entry| {
        e.satisfiable == satisfiable
            && e.formulas
                .iter()
                .map(String::as_str)
                .eq(formulas.iter().copied())
            && match (&e.variables, &variables) {
                (None, None) => true,
                (Some(a), Some(b)) => a.iter().map(String::as_str).eq(b.iter().copied()),
                _ => false,
            }
    };
    let hit = CACHE.with(|c| {
        c.borrow()
            .get(&key)
            .filter(|e| same(e))
            .map(|e| e.value.clone())
    });
    if let Some(hit) = hit {
        return Ok(hit);
    }
    let value = Rc::new(task_puzzle(task)?);
    CACHE.with(|c| {
        let mut c = c.borrow_mut();
        if c.len() >= CAPACITY {
            c.clear();
        }
        c.insert(
            key,
            Entry {
                formulas: formulas.iter().map(|s| s.to_string()).collect(),
                variables: variables.map(|v| v.iter().map(|s| s.to_string()).collect()),
                satisfiable,
                value: value.clone(),
            },
        );
    });
    Ok(value)
}

fn puzzle_from_text(task: &metaalign_core::Task) -> Result<(DeductionPuzzle, bool), String> {
    let formulas = formulas_in_text(&task.puzzle);
    DeductionPuzzle::from_texts(&formulas, None)
        .map(|p| (p, true))
        .map_err(|e| {
            format!("no formulas in the ground truth, and the puzzle text gives none usable: {e}")
        })
}

/// What an answer claims.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Claim {
    Assignment(Vec<bool>),
    NoAssignment,
}

/// Strips a list marker: `(3)`, `3.`, `3)`, `-`, `*`, `•`.
fn strip_marker(s: &str) -> &str {
    let s = s.trim_start();
    if let Some(rest) = s.strip_prefix('(') {
        if let Some(close) = rest.find(')') {
            if rest[..close].trim().bytes().all(|b| b.is_ascii_digit()) {
                return rest[close + 1..].trim_start();
            }
        }
        return s;
    }
    let digits = s.bytes().take_while(u8::is_ascii_digit).count();
    if digits > 0 {
        let rest = &s[digits..];
        if let Some(r) = rest.strip_prefix('.').or_else(|| rest.strip_prefix(')')) {
            return r.trim_start();
        }
        return s;
    }
    for m in ['-', '*', '•'] {
        if let Some(r) = s.strip_prefix(m) {
            return r.trim_start();
        }
    }
    s
}

/// Reads one `NAME is VALUE` item (also `NAME = VALUE`, `NAME: VALUE`).
fn parse_item(item: &str) -> Option<(&str, bool)> {
    let s = strip_marker(item).trim_end();
    let s = s.trim_end_matches(['.', ',', ';']).trim_end();
    let name_len = s
        .bytes()
        .take_while(|b| b.is_ascii_alphanumeric() || *b == b'_')
        .count();
    if name_len == 0 {
        return None;
    }
    let name = &s[..name_len];
    let rest = s[name_len..].trim_start();
    let rest = if rest.get(..2).is_some_and(|w| w.eq_ignore_ascii_case("is")) {
        let after = &rest[2..];
        if !after.starts_with(char::is_whitespace) {
            return None;
        }
        after
    } else {
        rest.strip_prefix('=').or_else(|| rest.strip_prefix(':'))?
    };
    let value = rest.trim();
    if value.eq_ignore_ascii_case("true") {
        Some((name, true))
    } else if value.eq_ignore_ascii_case("false") {
        Some((name, false))
    } else {
        None
    }
}

/// Parses an answer: one `(i) NAME is True|False` item per variable, one
/// per line (or separated by `,` / `;`), case-insensitive and tolerant of
/// spacing; other lines are ignored. Every variable must be assigned
/// exactly once, else the answer is unparseable (`Err` says why). An answer
/// with no assignment that says "no assignment" / "unsatisfiable" claims
/// the puzzle has no model.
pub fn parse_answer(text: &str, names: &[String]) -> Result<Claim, String> {
    let mut values: Vec<Option<bool>> = vec![None; names.len()];
    let mut any = false;
    for line in text.lines() {
        for item in line.split([',', ';']) {
            let Some((name, value)) = parse_item(item) else {
                continue;
            };
            let Some(v) = names.iter().position(|n| n.eq_ignore_ascii_case(name)) else {
                // A name shaped like a variable (`D`, `A1`) that the puzzle
                // lacks is a wrong answer format; other words ("This is
                // true") are prose and ignored.
                if var_index(&name.to_ascii_uppercase()).is_some() {
                    return Err(format!("`{name}` is not a variable of this puzzle"));
                }
                continue;
            };
            if values[v].is_some() {
                return Err(format!("{} is assigned more than once", names[v]));
            }
            values[v] = Some(value);
            any = true;
        }
    }
    if !any {
        let lower = text.to_lowercase();
        if [
            "no assignment",
            "unsatisfiable",
            "no satisfying",
            "no solution",
        ]
        .iter()
        .any(|p| lower.contains(p))
        {
            return Ok(Claim::NoAssignment);
        }
        return Err("no `(i) X is True/False` lines found".into());
    }
    let missing: Vec<&str> = names
        .iter()
        .zip(&values)
        .filter(|(_, v)| v.is_none())
        .map(|(n, _)| n.as_str())
        .collect();
    if !missing.is_empty() {
        return Err(format!("no value given for {}", missing.join(", ")));
    }
    Ok(Claim::Assignment(
        values.into_iter().map(|v| v == Some(true)).collect(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(n: usize) -> Vec<String> {
        (0..n).map(|v| var_name(v as Var)).collect()
    }

    #[test]
    fn answers_parse_tolerantly() {
        let n = names(3);
        let want = Claim::Assignment(vec![true, false, true]);
        for text in [
            "(1) A is True\n(2) B is False\n(3) C is True\n",
            "  (1)A   is   true\n(2) b IS false.\n 3. C is TRUE",
            "A is True, B is False, C is True",
            "Reasoning first.\n- A = true\n- B: false\n- C is true\nThis is true.",
        ] {
            assert_eq!(parse_answer(text, &n), Ok(want.clone()), "{text:?}");
        }
        assert!(parse_answer("(1) A is True\n(2) B is False", &n)
            .unwrap_err()
            .contains("no value given for C"));
        assert!(
            parse_answer("A is True\nA is False\nB is True\nC is True", &n)
                .unwrap_err()
                .contains("more than once")
        );
        assert!(
            parse_answer("A is True\nB is True\nC is True\nD is True", &n)
                .unwrap_err()
                .contains("not a variable")
        );
        assert!(parse_answer("", &n).is_err());
        // Multi-byte text right after a name (found by proptest).
        assert!(parse_answer("Aㄦ is True", &n).is_err());
        assert!(parse_answer("A is maybe", &n).is_err());
        assert_eq!(
            parse_answer("No assignment works.", &n),
            Ok(Claim::NoAssignment)
        );
    }

    #[test]
    fn formulas_are_found_in_puzzle_texts() {
        let paper = "Below are some nested formulas:\n  - ¬(¬B)\n  - (A ∧ C)\nPlease list the truth value of each variable\n";
        assert_eq!(formulas_in_text(paper), ["¬(¬B)", "(A ∧ C)"]);
        let ours = "Variables: A, B\nFormulas:\n  1. (A ∨ B)\n  2. ¬A\n";
        assert_eq!(formulas_in_text(ours), ["(A ∨ B)", "¬A"]);
    }

    #[test]
    fn texts_round_trip_with_derived_names() {
        let texts = ["((¬C ⊕ ¬F) ↔ (E → ¬C))", "¬(¬B)", "(A ∧ D)"];
        let p = DeductionPuzzle::from_texts(&texts, None).unwrap();
        assert_eq!(p.names, names(6));
        assert_eq!(p.formula_texts(), texts);
        let gt = p.ground_truth(Some(&[true; 6]), false);
        let (q, sat) = DeductionPuzzle::from_ground_truth(&gt).unwrap();
        assert_eq!(q, p);
        assert!(sat);
        assert!(DeductionPuzzle::from_texts(&["(A ∧"], None).is_err());
        assert!(DeductionPuzzle::from_texts::<&str>(&[], None).is_err());
    }
}
