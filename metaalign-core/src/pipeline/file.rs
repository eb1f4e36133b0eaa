//! Reading a pipeline file: `[run]`, optional `[policy]`, `[tasks.NAME]`
//! and `[[stages]]`, with errors that name the file, line, column and key.

use std::collections::BTreeMap;
use std::ops::Range;
use std::path::{Path, PathBuf};

use toml::de::{DeTable, DeValue};
use toml::Spanned;

use super::de::{self, KeyPath, Location};
use super::RunSettings;
use crate::config::{PolicyConfig, StageConfig, TaskConfig};
use crate::error::{Error, Result};
use crate::registry::Slot;

/// The top-level sections of a pipeline file.
pub const SECTIONS: [&str; 4] = ["run", "policy", "tasks", "stages"];

/// A parsed pipeline: everything in the file, checked for syntax, unknown
/// keys, types and kinds (not yet for references between stages: see
/// [`Pipeline::plan`](super::Pipeline::plan)).
#[derive(Debug)]
pub struct Pipeline {
    /// `[run]`, with `out_dir` resolved against the file's directory.
    pub settings: RunSettings,
    /// `[policy]`, the run's starting policy (reference `"policy"`).
    pub policy: Option<Box<dyn PolicyConfig>>,
    /// `[tasks.NAME]`, by name.
    pub tasks: BTreeMap<String, Box<dyn TaskConfig>>,
    /// `[[stages]]`, in order.
    pub stages: Vec<StageEntry>,
    /// The file's text (copied into the run directory).
    pub source: String,
    /// The file name used in messages.
    pub origin: String,
    /// The config file's directory: relative paths resolve against it.
    pub base_dir: PathBuf,
    pub(crate) spans: Spans,
}

/// One `[[stages]]` table.
#[derive(Debug)]
pub struct StageEntry {
    /// The stage's `name` (its folder and the prefix of its outputs).
    pub name: String,
    /// The registered stage kind.
    pub kind: String,
    /// The stage's config: its table without `name`.
    pub config: Box<dyn StageConfig>,
    /// 1-based line of the stage's table, for messages.
    pub line: usize,
}

/// Where things are in the source, for messages raised after parsing.
#[derive(Debug, Default, Clone)]
pub(crate) struct Spans {
    pub stage_name: Vec<Range<usize>>,
    /// Every string value inside each stage table: its span, key path and text.
    pub stage_strings: Vec<Vec<(Range<usize>, KeyPath, String)>>,
    pub policy: Option<Range<usize>>,
}

impl Pipeline {
    /// Reads and parses a pipeline file. Relative paths in it resolve
    /// against the file's directory.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        let base_dir = path
            .parent()
            .map(|p| {
                if p.as_os_str().is_empty() {
                    PathBuf::from(".")
                } else {
                    p.to_path_buf()
                }
            })
            .unwrap_or_else(|| PathBuf::from("."));
        let base_dir = std::path::absolute(&base_dir).map_err(|e| Error::io(&base_dir, e))?;
        Self::parse(&text, &path.display().to_string(), &base_dir)
    }

    /// Parses pipeline text. `origin` names it in messages; `base_dir` is
    /// where relative paths resolve.
    pub fn parse(text: &str, origin: &str, base_dir: &Path) -> Result<Self> {
        let doc = DeTable::parse(text)
            .map_err(|e| Error::config(super::describe_toml_error(text, origin, &e)))?;
        let fail = |message: &str, loc: &Location| -> Error {
            Error::config(locate(text, origin, message, loc))
        };
        let at = |span: Range<usize>, path: KeyPath| Location { span, path };
        let _base = BaseDirGuard::set(base_dir);

        for (key, _) in doc.get_ref().iter() {
            if !SECTIONS.contains(&key.get_ref().as_ref()) {
                return Err(fail(
                    &format!(
                        "unknown key `{}` at the top level; expected one of {}",
                        key.get_ref(),
                        SECTIONS.map(|s| format!("`{s}`")).join(", ")
                    ),
                    &at(key.span(), KeyPath::default().key(key.get_ref())),
                ));
            }
        }

        let root = doc.get_ref();
        let Some(run) = root.get("run") else {
            return Err(fail(
                "missing section `[run]` (it needs at least `name = \"...\"`)",
                &at(0..0, KeyPath::default()),
            ));
        };
        let mut settings: RunSettings = de::from_value(run, KeyPath::default().key("run"))
            .map_err(|(m, loc)| fail(&m, &loc))?;
        if let Err(problem) = check_name(&settings.name) {
            let span = table_key_span(run, "name").unwrap_or(run.span());
            return Err(fail(
                &format!("run name `{}` {problem}", settings.name),
                &at(span, KeyPath::default().key("run").key("name")),
            ));
        }
        if let Err(e) = settings.holdout.validate() {
            let span = table_key_span(run, "holdout").unwrap_or(run.span());
            return Err(fail(
                &e.to_string(),
                &at(span, KeyPath::default().key("run").key("holdout")),
            ));
        }
        if settings.out_dir.is_relative() {
            settings.out_dir = base_dir.join(&settings.out_dir);
        }

        let mut spans = Spans::default();
        let policy = match root.get("policy") {
            None => None,
            Some(value) => {
                let path = KeyPath::default().key("policy");
                check_kind(value, Slot::Policy, &path).map_err(|(m, loc)| fail(&m, &loc))?;
                spans.policy = Some(value.span());
                Some(
                    de::from_value::<Box<dyn PolicyConfig>>(value, path)
                        .map_err(|(m, loc)| fail(&m, &loc))?,
                )
            }
        };

        let mut tasks = BTreeMap::new();
        if let Some(value) = root.get("tasks") {
            let path = KeyPath::default().key("tasks");
            let DeValue::Table(table) = value.get_ref() else {
                return Err(fail(
                    "`tasks` must be a table of task sources (`[tasks.NAME]` with `kind = ...`)",
                    &at(value.span(), path),
                ));
            };
            let mut entries: Vec<_> = table.iter().collect();
            entries.sort_by_key(|(k, _)| k.span().start);
            for (name, value) in entries {
                let path = path.key(name.get_ref());
                if let Err(problem) = check_name(name.get_ref()) {
                    return Err(fail(
                        &format!("task source name `{}` {problem}", name.get_ref()),
                        &at(name.span(), path),
                    ));
                }
                check_kind(value, Slot::Task, &path).map_err(|(m, loc)| fail(&m, &loc))?;
                let config = de::from_value::<Box<dyn TaskConfig>>(value, path)
                    .map_err(|(m, loc)| fail(&m, &loc))?;
                tasks.insert(name.get_ref().to_string(), config);
            }
        }

        let mut stages = Vec::new();
        if let Some(value) = root.get("stages") {
            let path = KeyPath::default().key("stages");
            let DeValue::Array(items) = value.get_ref() else {
                return Err(fail(
                    "`stages` must be an array of tables (`[[stages]]`)",
                    &at(value.span(), path),
                ));
            };
            for (i, item) in items.iter().enumerate() {
                let path = path.index(i);
                let DeValue::Table(table) = item.get_ref() else {
                    return Err(fail(
                        "each stage must be a table (`[[stages]]` with `name` and `kind`)",
                        &at(item.span(), path),
                    ));
                };
                let Some(name_value) = table.get("name") else {
                    return Err(fail(
                        &format!("stage {} has no `name`", i + 1),
                        &at(item.span(), path),
                    ));
                };
                let DeValue::String(name) = name_value.get_ref() else {
                    return Err(fail(
                        "a stage's `name` must be a string",
                        &at(name_value.span(), path.key("name")),
                    ));
                };
                let name = name.to_string();
                if let Err(problem) = check_name(&name) {
                    return Err(fail(
                        &format!("stage name `{name}` {problem}"),
                        &at(name_value.span(), path.key("name")),
                    ));
                }
                if name == "policy" {
                    return Err(fail(
                        "a stage cannot be called `policy`: that name refers to the run's starting policy",
                        &at(name_value.span(), path.key("name")),
                    ));
                }
                let kind =
                    check_kind(item, Slot::Stage, &path).map_err(|(m, loc)| fail(&m, &loc))?;
                // The stage config sees every key but `name`.
                let mut rest = table.clone();
                rest.remove("name");
                let rest = Spanned::new(item.span(), DeValue::Table(rest));
                let config = de::from_value::<Box<dyn StageConfig>>(&rest, path.clone())
                    .map_err(|(m, loc)| fail(&m, &loc))?;
                spans.stage_name.push(name_value.span());
                let mut strings = Vec::new();
                collect_strings(item, &path, &mut strings);
                spans.stage_strings.push(strings);
                stages.push(StageEntry {
                    name,
                    kind,
                    config,
                    line: super::line_col(text, item.span().start).0,
                });
            }
        }

        Ok(Pipeline {
            settings,
            policy,
            tasks,
            stages,
            source: text.to_string(),
            origin: origin.to_string(),
            base_dir: base_dir.to_path_buf(),
            spans,
        })
    }

    /// The run directory, `<out_dir>/<run name>/`.
    pub fn run_dir(&self) -> PathBuf {
        self.settings.out_dir.join(&self.settings.name)
    }

    /// A message positioned at a stage's `name`, for errors found after
    /// parsing (duplicate names, unknown references).
    pub(crate) fn stage_error(&self, index: usize, message: &str) -> Error {
        let span = self.spans.stage_name.get(index).cloned().unwrap_or(0..0);
        let path = KeyPath::default().key("stages").index(index).key("name");
        Error::config(locate(
            &self.source,
            &self.origin,
            message,
            &Location { span, path },
        ))
    }

    /// A message positioned at the string `value` (a reference or a task
    /// source name) inside a stage's table, naming its key; at the stage's
    /// `name` when no such string is found (a stage kind that builds the
    /// reference differently).
    pub(crate) fn stage_value_error(&self, index: usize, value: &str, message: &str) -> Error {
        let found = self
            .spans
            .stage_strings
            .get(index)
            .and_then(|strings| strings.iter().find(|(_, _, text)| text == value));
        match found {
            Some((span, path, _)) => Error::config(locate(
                &self.source,
                &self.origin,
                message,
                &Location {
                    span: span.clone(),
                    path: path.clone(),
                },
            )),
            None => self.stage_error(index, message),
        }
    }
}

/// [`de::locate`] with the installed registry's kinds.
fn locate(text: &str, origin: &str, message: &str, loc: &Location) -> String {
    de::locate(text, origin, message, loc, &crate::registry::kinds)
}

/// Names become folder names and reference prefixes: keep them simple.
fn check_name(name: &str) -> std::result::Result<(), &'static str> {
    if name.is_empty() {
        return Err("is empty");
    }
    if name.starts_with('.') {
        return Err("must not start with `.`");
    }
    if !name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        return Err("may only contain letters, digits, `_` and `-`");
    }
    Ok(())
}

/// Collects every string value (with its span and key path) inside a value.
fn collect_strings(
    value: &Spanned<DeValue<'_>>,
    path: &KeyPath,
    out: &mut Vec<(Range<usize>, KeyPath, String)>,
) {
    match value.get_ref() {
        DeValue::String(s) => out.push((value.span(), path.clone(), s.to_string())),
        DeValue::Table(t) => {
            let mut entries: Vec<_> = t.iter().collect();
            entries.sort_by_key(|(k, _)| k.span().start);
            for (k, v) in entries {
                collect_strings(v, &path.key(k.get_ref()), out);
            }
        }
        DeValue::Array(a) => {
            for (i, v) in a.iter().enumerate() {
                collect_strings(v, &path.index(i), out);
            }
        }
        _ => {}
    }
}

fn table_key_span(value: &Spanned<DeValue<'_>>, key: &str) -> Option<Range<usize>> {
    match value.get_ref() {
        DeValue::Table(t) => t.get(key).map(|v| v.span()),
        _ => None,
    }
}

/// Checks that a slot table has `kind = "<registered kind>"` and returns it.
fn check_kind(
    value: &Spanned<DeValue<'_>>,
    slot: Slot,
    path: &KeyPath,
) -> std::result::Result<String, (String, Location)> {
    let DeValue::Table(table) = value.get_ref() else {
        return Err((
            format!("expected a table with `kind = \"...\"` (a {slot} config)"),
            Location {
                span: value.span(),
                path: path.clone(),
            },
        ));
    };
    let Some(kind) = table.get("kind") else {
        return Err((
            format!(
                "missing field `kind`; known {slot} kinds: {}",
                crate::registry::kinds(slot).join(", ")
            ),
            Location {
                span: value.span(),
                path: path.clone(),
            },
        ));
    };
    let loc = Location {
        span: kind.span(),
        path: path.key("kind"),
    };
    let DeValue::String(name) = kind.get_ref() else {
        return Err(("`kind` must be a string".to_string(), loc));
    };
    if crate::registry::find(slot, name).is_none() {
        return Err((
            de::unknown_kind_message(slot, name, &crate::registry::kinds(slot)),
            loc,
        ));
    }
    Ok(name.to_string())
}

thread_local! {
    static BASE_DIR: std::cell::RefCell<Option<PathBuf>> = const { std::cell::RefCell::new(None) };
}

/// Sets the directory that [`paths`] resolves against while a pipeline file
/// is being deserialized on this thread.
struct BaseDirGuard(Option<PathBuf>);

impl BaseDirGuard {
    fn set(dir: &Path) -> Self {
        BaseDirGuard(BASE_DIR.with(|b| b.replace(Some(dir.to_path_buf()))))
    }
}

impl Drop for BaseDirGuard {
    fn drop(&mut self) {
        let previous = self.0.take();
        BASE_DIR.with(|b| *b.borrow_mut() = previous);
    }
}

/// Resolves `path` against the directory of the pipeline file being read
/// (when called while one is being read and `path` is relative).
pub fn resolve_config_path(path: PathBuf) -> PathBuf {
    if path.is_absolute() {
        return path;
    }
    BASE_DIR.with(|b| match b.borrow().as_ref() {
        Some(base) => base.join(&path),
        None => path,
    })
}

/// Serde helpers for path fields of configs: relative paths in a pipeline
/// file resolve against the file's directory.
///
/// ```
/// # use std::path::PathBuf;
/// #[derive(serde::Serialize, serde::Deserialize)]
/// struct MyConfig {
///     #[serde(with = "metaalign_core::pipeline::paths")]
///     data: PathBuf,
///     #[serde(default, with = "metaalign_core::pipeline::paths::option")]
///     extra: Option<PathBuf>,
/// }
/// ```
pub mod paths {
    use std::path::{Path, PathBuf};

    use serde::{Deserialize, Deserializer, Serializer};

    /// Writes the path as given.
    pub fn serialize<S: Serializer>(path: &Path, s: S) -> Result<S::Ok, S::Error> {
        serde::Serialize::serialize(path, s)
    }

    /// Reads a path; a relative one resolves against the folder of the
    /// pipeline file being read ([`super::resolve_config_path`]).
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<PathBuf, D::Error> {
        PathBuf::deserialize(d).map(super::resolve_config_path)
    }

    /// The same for `Option<PathBuf>` (use with `#[serde(default)]`).
    pub mod option {
        use std::path::PathBuf;

        use serde::{Deserialize, Deserializer, Serializer};

        /// Writes the path, if any, as given.
        pub fn serialize<S: Serializer>(path: &Option<PathBuf>, s: S) -> Result<S::Ok, S::Error> {
            match path {
                Some(p) => s.serialize_some(p),
                None => s.serialize_none(),
            }
        }

        /// Reads an optional path, resolved like [`super::deserialize`].
        pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<PathBuf>, D::Error> {
            Option::<PathBuf>::deserialize(d).map(|p| p.map(super::super::resolve_config_path))
        }
    }
}
