//! The stage-state protocol, one implementation for the starting policy
//! (under the name `policy`) and for every stage.
//!
//! Each has a marker, `.metaalign/<name>.json` in the run directory, saying
//! how often it started, the key its folder was started for and, once it
//! finished, that run's key, fingerprint, outputs and duration. From the
//! marker and the key it has now, a stage is up to date (skipped, its
//! outputs restored), resumes in its folder (started for the same key but
//! unfinished), or starts over in a cleared folder.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::hash::fingerprint;
use super::StageOutputs;
use crate::atomic::write_atomic;
use crate::error::{Error, Result};

/// The folder (inside the run directory) holding the runner's markers.
const STATE_DIR: &str = ".metaalign";

/// The marker file's contents.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
struct StageState {
    /// Incremented each time the stage starts.
    generation: u64,
    /// The key of the last start (the folder belongs to it).
    started: Option<String>,
    completed: Option<Completed>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
struct Completed {
    key: String,
    /// Changes each time the stage actually runs; consumers hash it.
    fingerprint: String,
    /// Artifact paths relative to the run directory where possible.
    outputs: StageOutputs,
    duration_s: f64,
}

/// A finished run whose key still matches and whose outputs all exist.
pub(crate) struct UpToDate {
    /// The fingerprint that run recorded.
    pub(crate) fingerprint: String,
    /// Its outputs, with absolute paths.
    pub(crate) outputs: StageOutputs,
    /// How long that run took.
    pub(crate) duration: Duration,
}

/// What starting a stage does with its folder.
pub(crate) enum Folder {
    /// No folder yet: it is created.
    New,
    /// A folder of another key (or a forced stage's): it is cleared.
    Clear,
    /// A folder started for the same key: the stage resumes in it.
    Resume,
}

/// One stage's marker, read for the key the stage has in this invocation.
pub(crate) struct Marker {
    run_dir: PathBuf,
    name: String,
    key: String,
    forced: bool,
    state: StageState,
}

impl Marker {
    /// Reads the marker of `name` (an empty one when there is none).
    /// A `forced` stage is never up to date and starts in a cleared folder.
    pub(crate) fn load(run_dir: &Path, name: &str, key: String, forced: bool) -> Result<Self> {
        let path = state_path(run_dir, name);
        let state = match std::fs::read_to_string(&path) {
            Ok(text) => serde_json::from_str(&text).map_err(|e| {
                Error::data(format!(
                    "{}: unreadable stage marker ({e}); delete it to re-run the stage",
                    path.display()
                ))
            })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => StageState::default(),
            Err(e) => return Err(Error::io(path, e)),
        };
        Ok(Self {
            run_dir: run_dir.to_path_buf(),
            name: name.to_string(),
            key,
            forced,
            state,
        })
    }

    /// The stage's folder, `<run dir>/<name>/`.
    pub(crate) fn dir(&self) -> PathBuf {
        self.run_dir.join(&self.name)
    }

    /// Whether the stage is up to date; `Err(reason)` says why it must run.
    pub(crate) fn check(&self) -> std::result::Result<UpToDate, String> {
        if self.forced {
            return Err("forced".into());
        }
        let Some(done) = &self.state.completed else {
            // Mirrors `start`: an unfinished folder is kept only for the same key.
            return Err(match self.state.started.as_deref() {
                Some(started) if started == self.key => {
                    "unfinished: resumes from its folder".into()
                }
                Some(_) => "unfinished, and its config or inputs changed: starts over".into(),
                None => "never ran".into(),
            });
        };
        if done.key != self.key {
            return Err("config or inputs changed".into());
        }
        let outputs = absolutize(&done.outputs, &self.run_dir);
        if let Some((name, _)) = outputs.artifacts.iter().find(|(_, a)| !a.path.exists()) {
            return Err(format!("output `{name}` is missing"));
        }
        Ok(UpToDate {
            fingerprint: done.fingerprint.clone(),
            outputs,
            duration: Duration::from_secs_f64(done.duration_s.max(0.0)),
        })
    }

    /// The fingerprint the stage has after this invocation: the recorded
    /// one when it is up to date, else the one its next run records.
    pub(crate) fn fingerprint(&self) -> String {
        match self.check() {
            Ok(done) => done.fingerprint,
            Err(_) => fingerprint(&self.key, self.state.generation + 1),
        }
    }

    /// What [`Marker::start`] will do with the folder.
    pub(crate) fn folder(&self) -> Folder {
        if !self.dir().exists() {
            Folder::New
        } else if self.keeps_folder() {
            Folder::Resume
        } else {
            Folder::Clear
        }
    }

    fn keeps_folder(&self) -> bool {
        !self.forced && self.state.started.as_deref() == Some(self.key.as_str())
    }

    /// Starts a run: clears the folder unless it resumes (see
    /// [`Marker::folder`]), creates it, and records the start. Returns the
    /// folder.
    pub(crate) fn start(&mut self) -> Result<PathBuf> {
        let dir = self.dir();
        if !self.keeps_folder() && dir.exists() {
            std::fs::remove_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
        }
        std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
        self.state.generation += 1;
        self.state.started = Some(self.key.clone());
        self.state.completed = None;
        self.save()?;
        Ok(dir)
    }

    /// Records the started run as finished with `outputs` and returns its
    /// fingerprint.
    pub(crate) fn finish(&mut self, outputs: &StageOutputs, duration: Duration) -> Result<String> {
        let fp = fingerprint(&self.key, self.state.generation);
        self.state.completed = Some(Completed {
            key: self.key.clone(),
            fingerprint: fp.clone(),
            outputs: relativize(outputs, &self.run_dir),
            duration_s: duration.as_secs_f64(),
        });
        self.save()?;
        Ok(fp)
    }

    /// Writes the marker atomically, so a crash leaves the old or the new one.
    fn save(&self) -> Result<()> {
        let dir = self.run_dir.join(STATE_DIR);
        std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
        write_atomic(
            &state_path(&self.run_dir, &self.name),
            serde_json::to_string_pretty(&self.state)?.as_bytes(),
        )
    }
}

fn state_path(run_dir: &Path, name: &str) -> PathBuf {
    run_dir.join(STATE_DIR).join(format!("{name}.json"))
}

/// Makes artifact paths relative to the run directory (so a moved run
/// directory still resolves).
fn relativize(outputs: &StageOutputs, run_dir: &Path) -> StageOutputs {
    let mut out = outputs.clone();
    for a in out.artifacts.values_mut() {
        if let Ok(rel) = a.path.strip_prefix(run_dir) {
            a.path = rel.to_path_buf();
        }
    }
    out
}

/// Makes relative artifact paths absolute again, under the run directory.
fn absolutize(outputs: &StageOutputs, run_dir: &Path) -> StageOutputs {
    let mut out = outputs.clone();
    for a in out.artifacts.values_mut() {
        if a.path.is_relative() {
            a.path = run_dir.join(&a.path);
        }
    }
    out
}
