//! The program a response gives: a fenced code block.
//!
//! LiveCodeBench's `extract_code` takes the text between the last two
//! lines that contain a fence (```` ``` ````), whatever the language. We
//! read blocks the same way (a line with a fence opens a block, the next
//! line with a fence closes it) and take the last block by default, or the
//! first (`block = "first"`, LiveCodeBench's option for models that repeat
//! the starter code after their answer). A block tagged with another
//! language (`cpp`, `java`, ...) is a wrong answer with a reason; an
//! untagged block, `python`, `py`, `python3` or `Python` counts as Python.

use serde::{Deserialize, Serialize};

/// Which fenced block is the answer.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Block {
    /// The last complete fenced block (LiveCodeBench's choice).
    #[default]
    Last,
    /// The first complete fenced block.
    First,
}

/// Why no program was read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NoProgram {
    /// No complete fenced block.
    NoBlock,
    /// The chosen block is in another language.
    OtherLanguage(String),
    /// The chosen block is empty.
    Empty,
}

impl NoProgram {
    /// The reason in words, for a verdict's details.
    pub fn describe(&self) -> String {
        match self {
            NoProgram::NoBlock => "no fenced code block (```python ... ```) in the response".into(),
            NoProgram::OtherLanguage(l) => {
                format!("the code block is in `{l}`, not Python")
            }
            NoProgram::Empty => "the code block is empty".into(),
        }
    }
}

/// One fenced block: its info string (language) and body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fenced<'a> {
    /// The info string after the opening fence (`python`, or empty).
    pub lang: &'a str,
    /// The code between the fences.
    pub body: String,
}

/// The fenced blocks of a response, in order (an unclosed last fence is
/// not a block).
pub fn blocks(response: &str) -> Vec<Fenced<'_>> {
    let mut out = Vec::new();
    let mut open: Option<(&str, Vec<&str>)> = None;
    for line in response.split('\n') {
        match line.find("```") {
            Some(at) => match open.take() {
                None => {
                    let info = line[at + 3..].trim();
                    let lang = info
                        .split(|c: char| c.is_whitespace() || c == '{')
                        .next()
                        .unwrap_or("");
                    open = Some((lang, Vec::new()));
                }
                Some((lang, lines)) => out.push(Fenced {
                    lang,
                    body: lines.join("\n"),
                }),
            },
            None => {
                if let Some((_, lines)) = open.as_mut() {
                    lines.push(line);
                }
            }
        }
    }
    out
}

/// True for the info strings read as Python.
pub fn is_python(lang: &str) -> bool {
    matches!(
        lang.to_ascii_lowercase().as_str(),
        "" | "python" | "py" | "python3" | "py3"
    )
}

/// The program of a response.
pub fn extract_program(response: &str, which: Block) -> Result<String, NoProgram> {
    let found = blocks(response);
    let block = match which {
        Block::Last => found.last(),
        Block::First => found.first(),
    }
    .ok_or(NoProgram::NoBlock)?;
    if !is_python(block.lang) {
        return Err(NoProgram::OtherLanguage(
            block.lang.chars().take(20).collect(),
        ));
    }
    if block.body.trim().is_empty() {
        return Err(NoProgram::Empty);
    }
    Ok(block.body.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn last_block_by_default() {
        let r = "Try\n```python\nprint(1)\n```\nbetter:\n```python\nprint(2)\n```\n";
        assert_eq!(extract_program(r, Block::Last).unwrap(), "print(2)");
        assert_eq!(extract_program(r, Block::First).unwrap(), "print(1)");
    }

    #[test]
    fn other_languages_and_missing_blocks() {
        assert_eq!(
            extract_program("```cpp\nint main(){}\n```", Block::Last),
            Err(NoProgram::OtherLanguage("cpp".into()))
        );
        assert_eq!(
            extract_program("print(1)", Block::Last),
            Err(NoProgram::NoBlock)
        );
        assert_eq!(
            extract_program("```python\nprint(1)", Block::Last),
            Err(NoProgram::NoBlock)
        );
        assert_eq!(
            extract_program("```\n\n```", Block::Last),
            Err(NoProgram::Empty)
        );
        assert_eq!(
            extract_program("```\nx=1\n```", Block::Last).unwrap(),
            "x=1"
        );
        assert_eq!(
            extract_program("```Python3\nx=1\n```", Block::Last).unwrap(),
            "x=1"
        );
    }
}
