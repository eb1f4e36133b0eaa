//! Benchmark files as records: JSONL, a JSON array, or parquet, each row a
//! JSON object with where it came from, so a problem with one row names the
//! file and the line (JSONL), the item (JSON array) or the row (parquet).

use std::fmt;
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};

use metaalign_core::{Error, Result};
use serde_json::{Map, Value};

/// Where a record sits in its file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Location {
    /// The file.
    pub path: PathBuf,
    /// 1-based line (JSONL), item (JSON array) or row (parquet).
    pub number: usize,
    /// What `number` counts: `line`, `item` or `row`.
    pub unit: &'static str,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.unit {
            "line" => write!(f, "{}:{}", self.path.display(), self.number),
            unit => write!(f, "{} {unit} {}", self.path.display(), self.number),
        }
    }
}

/// One row of a benchmark file.
#[derive(Clone, Debug, PartialEq)]
pub struct Record {
    /// Where the row sits in its file.
    pub at: Location,
    /// The row's fields by name.
    pub fields: Map<String, Value>,
}

impl Record {
    /// An error naming this record's place.
    pub fn error(&self, message: impl fmt::Display) -> Error {
        Error::data(format!("{}: {message}", self.at))
    }

    /// A field that must be present and non-empty, as text: strings as
    /// they are, numbers written out (AIME answers are sometimes ints).
    pub fn text(&self, field: &str) -> Result<String> {
        match self.optional_text(field)? {
            Some(s) => Ok(s),
            None => Err(self.missing(field)),
        }
    }

    /// A field that may be absent or null; present but empty is an error.
    pub fn optional_text(&self, field: &str) -> Result<Option<String>> {
        let text = match self.fields.get(field) {
            None | Some(Value::Null) => return Ok(None),
            Some(Value::String(s)) => s.clone(),
            Some(Value::Number(n)) => n.to_string(),
            Some(Value::Bool(b)) => b.to_string(),
            Some(other) => {
                return Err(self.error(format_args!(
                    "field `{field}` should be text, found {}",
                    kind_of(other)
                )))
            }
        };
        if text.trim().is_empty() {
            return Err(self.error(format_args!("field `{field}` is empty")));
        }
        Ok(Some(text))
    }

    /// The error for a missing field, listing the fields the row has.
    pub fn missing(&self, field: &str) -> Error {
        let mut have: Vec<&str> = self.fields.keys().map(String::as_str).collect();
        have.sort_unstable();
        self.error(format_args!(
            "missing field `{field}` (the row has: {})",
            have.join(", ")
        ))
    }
}

fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

/// Reads every row of a `.jsonl`, `.json` (an array of objects, or JSONL
/// under a `.json` name) or `.parquet` file. A row that is not an object is
/// an error naming its place.
pub fn read_records(path: &Path) -> Result<Vec<Record>> {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    match ext.as_deref() {
        Some("parquet") => Ok(super::parquet::read_rows(path)?
            .into_iter()
            .enumerate()
            .map(|(i, fields)| Record {
                at: Location {
                    path: path.to_path_buf(),
                    number: i + 1,
                    unit: "row",
                },
                fields,
            })
            .collect()),
        Some("json") | Some("jsonl") => read_json_records(path),
        _ => Err(Error::data(format!(
            "{}: unknown benchmark file format (expected .jsonl, .json or .parquet)",
            path.display()
        ))),
    }
}

fn read_json_records(path: &Path) -> Result<Vec<Record>> {
    let file = File::open(path).map_err(|e| Error::io(path, e))?;
    let mut reader = BufReader::new(file);
    // A JSON array starts with `[` (after whitespace); anything else is JSONL.
    let starts_array = loop {
        let buf = reader.fill_buf().map_err(|e| Error::io(path, e))?;
        match buf.iter().position(|b| !b.is_ascii_whitespace()) {
            Some(i) => break buf[i] == b'[',
            None if buf.is_empty() => break false,
            None => {
                let n = buf.len();
                reader.consume(n);
            }
        }
    };
    let at = |number, unit| Location {
        path: path.to_path_buf(),
        number,
        unit,
    };
    if starts_array {
        let items: Vec<Value> = serde_json::from_reader(reader)
            .map_err(|e| Error::data(format!("{}: not a JSON array: {e}", path.display())))?;
        return items
            .into_iter()
            .enumerate()
            .map(|(i, v)| record_of(v, at(i + 1, "item")))
            .collect();
    }
    let mut out = Vec::new();
    for (i, line) in reader.lines().enumerate() {
        let line = line.map_err(|e| Error::io(path, e))?;
        out.extend(jsonl_record(&line, at(i + 1, "line"))?);
    }
    Ok(out)
}

/// The records of JSONL text held in memory (a sample compiled into a
/// plugin), placed as lines of `origin`.
pub fn records_from_jsonl(origin: &Path, text: &str) -> Result<Vec<Record>> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let place = Location {
            path: origin.to_path_buf(),
            number: i + 1,
            unit: "line",
        };
        out.extend(jsonl_record(line, place)?);
    }
    Ok(out)
}

/// One JSONL line: nothing when blank, else an object.
fn jsonl_record(line: &str, place: Location) -> Result<Option<Record>> {
    if line.trim().is_empty() {
        return Ok(None);
    }
    let value: Value =
        serde_json::from_str(line).map_err(|e| Error::data(format!("{place}: not JSON: {e}")))?;
    record_of(value, place).map(Some)
}

fn record_of(value: Value, place: Location) -> Result<Record> {
    match value {
        Value::Object(fields) => Ok(Record { at: place, fields }),
        other => Err(Error::data(format!(
            "{place}: expected a JSON object, found {}",
            kind_of(&other)
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jsonl_array_and_bad_rows_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let jsonl = dir.path().join("a.jsonl");
        std::fs::write(&jsonl, "{\"q\": \"x\", \"n\": 3}\n\n{\"q\": \"\"}\n").unwrap();
        let rows = read_records(&jsonl).unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].text("n").unwrap(), "3");
        assert_eq!(rows[1].at.number, 3);
        let e = rows[1].text("q").unwrap_err().to_string();
        assert!(e.contains("a.jsonl:3") && e.contains("`q` is empty"), "{e}");
        let e = rows[0].text("answer").unwrap_err().to_string();
        assert!(
            e.contains("missing field `answer`") && e.contains("n, q"),
            "{e}"
        );

        let array = dir.path().join("b.json");
        std::fs::write(&array, " [ {\"q\": \"x\"}, 5 ]").unwrap();
        let e = read_records(&array).unwrap_err().to_string();
        assert!(e.contains("b.json item 2") && e.contains("a number"), "{e}");

        let bad = dir.path().join("c.jsonl");
        std::fs::write(&bad, "{\"q\": 1}\n{oops\n").unwrap();
        let e = read_records(&bad).unwrap_err().to_string();
        assert!(e.contains("c.jsonl:2"), "{e}");
        let e = read_records(&dir.path().join("d.csv"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("unknown benchmark file format"), "{e}");
    }
}
