//! Checking a parsed pipeline as a whole (stage names, references between
//! stages, task sources, each component's own checks) and describing what a
//! run will do.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;

use super::file::Pipeline;
use super::{ArtifactKind, InputRef, OutputDecl, ValidateContext};
use crate::error::{Error, Result};
use crate::seed::derive_seed;

/// The reference that names the run's starting policy.
pub const POLICY_REF: &str = "policy";

/// What a run will do: the stages in order with their resolved inputs and
/// declared outputs, plus warnings found while checking.
#[derive(Clone, Debug)]
pub struct Plan {
    pub(crate) run_name: String,
    pub(crate) run_dir: PathBuf,
    pub(crate) seed: u64,
    pub(crate) device: String,
    /// One line describing the starting policy, if `[policy]` is set.
    pub policy: Option<String>,
    /// Declared task sources: name and kind.
    pub tasks: Vec<(String, String)>,
    /// The stages, in run order.
    pub stages: Vec<PlannedStage>,
    /// Problems that do not stop the run (e.g. a checkpoint directory that
    /// does not exist on this machine).
    pub warnings: Vec<String>,
}

/// One stage of a [`Plan`].
#[derive(Clone, Debug)]
pub struct PlannedStage {
    /// The stage's name.
    pub name: String,
    /// Its `kind`.
    pub kind: String,
    /// `derive_seed(run seed, stage name)`.
    pub seed: u64,
    /// The artifacts it reads.
    pub inputs: Vec<InputRef>,
    /// The artifacts it declares it produces.
    pub outputs: Vec<OutputDecl>,
    /// Task sources the stage declares it uses.
    pub tasks: Vec<String>,
    /// Filled in by the runner's dry run: whether the stage would run and why.
    pub status: Option<String>,
    /// The stage's estimated peak memory, for training stages.
    pub memory: Option<String>,
}

impl Pipeline {
    /// Warnings for fixed task sets (benchmark files) that an `evaluate`
    /// stage scores while another stage trains on them: such a score
    /// measures memorisation, not the recipe.
    fn scored_training_sets(&self, stages: &[PlannedStage]) -> Vec<String> {
        let mut warnings = Vec::new();
        for (name, config) in &self.tasks {
            if !config.is_fixed_set() {
                continue;
            }
            let users = |evaluating: bool| -> Vec<&str> {
                stages
                    .iter()
                    .filter(|s| (s.kind == EVALUATE_KIND) == evaluating)
                    .filter(|s| s.tasks.iter().any(|t| t == name))
                    .map(|s| s.name.as_str())
                    .collect()
            };
            let (scored, trained) = (users(true), users(false));
            if !scored.is_empty() && !trained.is_empty() {
                warnings.push(format!(
                    "task source `{name}` is a fixed file that stage(s) {} train on and stage(s) {} score: \
                     the scores are on training problems; evaluate on a different file",
                    quoted(&trained),
                    quoted(&scored)
                ));
            }
        }
        warnings
    }

    /// Checks the pipeline as a whole before anything runs: unique stage
    /// names; every input refers to `policy` (with `[policy]` present) or to
    /// an output of an earlier stage of the same artifact kind; every task
    /// source a stage uses is declared; each policy and stage passes its own
    /// `validate`. Returns the plan with any warnings.
    pub fn plan(&self) -> Result<Plan> {
        let mut warnings = Vec::new();
        let policy = match &self.policy {
            Some(p) => {
                warnings.extend(
                    p.validate()
                        .map_err(|e| Error::config(format!("[policy]: {e}")))?
                        .into_iter()
                        .map(|w| format!("policy: {w}")),
                );
                Some(p.describe())
            }
            None => None,
        };

        let architecture = self
            .policy
            .as_ref()
            .and_then(|p| p.architecture(&self.base_dir));
        // name -> (index, outputs)
        let mut produced: BTreeMap<&str, (usize, Vec<OutputDecl>)> = BTreeMap::new();
        let mut order: Vec<&str> = Vec::new();
        let declared_tasks: Vec<String> = self.tasks.keys().cloned().collect();
        let mut stages = Vec::new();
        for (i, entry) in self.stages.iter().enumerate() {
            let name = entry.name.as_str();
            if let Some((first, _)) = produced.get(name) {
                return Err(self.stage_error(
                    i,
                    &format!(
                        "duplicate stage name `{name}`: stage {} (line {}) already has it; stage names must be unique",
                        first + 1,
                        self.stages[*first].line
                    ),
                ));
            }
            let inputs = entry.config.inputs();
            for input in &inputs {
                self.check_input(i, input, &produced, &order)?;
            }
            let tasks = entry.config.task_sources();
            for task in &tasks {
                if !self.tasks.contains_key(task) {
                    return Err(self.stage_value_error(
                        i,
                        task,
                        &format!(
                            "stage `{name}` uses task source `{task}`, which is not declared; declared task sources: {}",
                            list_or_none(&declared_tasks, "none (add a [tasks.NAME] table)")
                        ),
                    ));
                }
            }
            let ctx = ValidateContext {
                settings: &self.settings,
                task_names: declared_tasks.clone(),
                base_dir: &self.base_dir,
                architecture: architecture.as_ref(),
            };
            let stage_warnings = entry
                .config
                .validate(&ctx)
                .map_err(|e| self.stage_error(i, &format!("stage `{name}`: {e}")))?;
            let memory = entry
                .config
                .memory_plan(&ctx)
                .map_err(|e| self.stage_error(i, &format!("stage `{name}`: {e}")))?;
            warnings.extend(
                stage_warnings
                    .into_iter()
                    .map(|w| format!("stage `{name}`: {w}")),
            );
            let outputs = entry.config.outputs();
            let mut seen = Vec::new();
            for out in &outputs {
                if seen.contains(&out.name.as_str()) {
                    return Err(self.stage_error(
                        i,
                        &format!(
                            "stage `{name}` (kind `{}`) declares output `{}` twice",
                            entry.kind, out.name
                        ),
                    ));
                }
                seen.push(out.name.as_str());
            }
            produced.insert(name, (i, outputs.clone()));
            order.push(name);
            stages.push(PlannedStage {
                name: name.to_string(),
                kind: entry.kind.clone(),
                seed: derive_seed(self.settings.seed, name),
                inputs,
                outputs,
                tasks,
                status: None,
                memory,
            });
        }
        if stages.is_empty() {
            warnings.push("the pipeline has no stages ([[stages]])".to_string());
        }
        warnings.extend(self.scored_training_sets(&stages));
        Ok(Plan {
            run_name: self.settings.name.clone(),
            run_dir: self.run_dir(),
            seed: self.settings.seed,
            device: self.settings.device.clone(),
            policy,
            tasks: self
                .tasks
                .iter()
                .map(|(n, t)| (n.clone(), t.typetag_name().to_string()))
                .collect(),
            stages,
            warnings,
        })
    }

    fn check_input(
        &self,
        index: usize,
        input: &InputRef,
        produced: &BTreeMap<&str, (usize, Vec<OutputDecl>)>,
        order: &[&str],
    ) -> Result<()> {
        let stage = &self.stages[index].name;
        let what = format!(
            "stage `{stage}` input `{}` refers to `{}`",
            input.role, input.reference
        );
        let available = || {
            let mut refs = Vec::new();
            if self.policy.is_some() {
                refs.push(format!("{POLICY_REF} (model)"));
            }
            for name in order {
                for out in &produced[name].1 {
                    refs.push(format!("{name}.{} ({})", out.name, kind_name(out.kind)));
                }
            }
            list_or_none(&refs, "none")
        };
        if input.reference == POLICY_REF {
            if self.policy.is_none() {
                return Err(self.stage_value_error(
                    index,
                    &input.reference,
                    &format!(
                        "{what}, but the file has no [policy] section; available: {}",
                        available()
                    ),
                ));
            }
            if input.kind != ArtifactKind::Model {
                return Err(self.stage_value_error(
                    index,
                    &input.reference,
                    &format!(
                        "{what}, which is a model, but this input needs a {}",
                        kind_name(input.kind)
                    ),
                ));
            }
            return Ok(());
        }
        let Some((producer, output)) = input.reference.split_once('.') else {
            return Err(self.stage_value_error(
                index,
                &input.reference,
                &format!(
                    "{what}: a reference is `{POLICY_REF}` or `<stage>.<output>`; available: {}",
                    available()
                ),
            ));
        };
        let Some((_, outputs)) = produced.get(producer) else {
            let later = self.stages[index..].iter().any(|s| s.name == producer);
            let why = if later {
                format!("stage `{producer}` comes later (stages run in file order)")
            } else {
                format!("there is no earlier stage `{producer}`")
            };
            return Err(self.stage_value_error(
                index,
                &input.reference,
                &format!("{what}, but {why}; available: {}", available()),
            ));
        };
        let Some(decl) = outputs.iter().find(|o| o.name == output) else {
            let names: Vec<String> = outputs.iter().map(|o| o.name.clone()).collect();
            return Err(self.stage_value_error(
                index,
                &input.reference,
                &format!(
                    "{what}, but stage `{producer}` has no output `{output}` (its outputs: {}); available: {}",
                    list_or_none(&names, "none"),
                    available()
                ),
            ));
        };
        if decl.kind != input.kind {
            return Err(self.stage_value_error(
                index,
                &input.reference,
                &format!(
                    "{what}, which is a {}, but this input needs a {}",
                    kind_name(decl.kind),
                    kind_name(input.kind)
                ),
            ));
        }
        Ok(())
    }
}

pub(crate) fn kind_name(kind: ArtifactKind) -> &'static str {
    match kind {
        ArtifactKind::Model => "model",
        ArtifactKind::Dataset => "dataset",
        ArtifactKind::File => "file",
    }
}

fn list_or_none(items: &[String], none: &str) -> String {
    if items.is_empty() {
        none.to_string()
    } else {
        items.join(", ")
    }
}

impl fmt::Display for Plan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "run `{}` -> {} (seed {}, device {})",
            self.run_name,
            self.run_dir.display(),
            self.seed,
            self.device
        )?;
        match &self.policy {
            Some(p) => writeln!(f, "policy: {p}")?,
            None => writeln!(f, "policy: none ([policy] not set)")?,
        }
        if self.tasks.is_empty() {
            writeln!(f, "task sources: none")?;
        } else {
            writeln!(f, "task sources:")?;
            for (name, kind) in &self.tasks {
                writeln!(f, "  {name} (kind {kind})")?;
            }
        }
        writeln!(f, "stages:")?;
        for (i, s) in self.stages.iter().enumerate() {
            writeln!(
                f,
                "  {}. {} (kind {}, seed {:#018x})",
                i + 1,
                s.name,
                s.kind,
                s.seed
            )?;
            if s.inputs.is_empty() {
                writeln!(f, "       inputs:  none")?;
            }
            for input in &s.inputs {
                writeln!(
                    f,
                    "       input:   {} <- {} ({})",
                    input.role,
                    input.reference,
                    kind_name(input.kind)
                )?;
            }
            if !s.tasks.is_empty() {
                writeln!(f, "       tasks:   {}", s.tasks.join(", "))?;
            }
            if s.outputs.is_empty() {
                writeln!(f, "       outputs: none")?;
            }
            for out in &s.outputs {
                writeln!(
                    f,
                    "       output:  {}.{} ({}) in {}/",
                    s.name,
                    out.name,
                    kind_name(out.kind),
                    self.run_dir.join(&s.name).display()
                )?;
            }
            if let Some(memory) = &s.memory {
                writeln!(f, "       memory:  {memory}")?;
            }
            if let Some(status) = &s.status {
                writeln!(f, "       status:  {status}")?;
            }
        }
        if !self.warnings.is_empty() {
            writeln!(f, "warnings:")?;
            for w in &self.warnings {
                writeln!(f, "  - {w}")?;
            }
        }
        Ok(())
    }
}

/// The stage kind that scores task sets rather than training on them.
const EVALUATE_KIND: &str = "evaluate";

fn quoted(names: &[&str]) -> String {
    names
        .iter()
        .map(|n| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(", ")
}
