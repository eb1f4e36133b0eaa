use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use metaalign_core::pipeline::{
    Artifact, ArtifactKind, InputRef, OutputDecl, StageContext, StageOutputs, ValidateContext,
};
use metaalign_core::{
    Error, Level, Result, RewardConfig, StageConfig, TaskGenerator, TrainInputs, TrainerConfig,
};
use serde::{Deserialize, Serialize};

use crate::trainer::{GrpoConfig, Layout, ReinforcePpConfig, SftConfig};

fn default_sft_trainer() -> Box<dyn TrainerConfig> {
    Box::new(SftConfig::default())
}
fn default_align_trainer() -> Box<dyn TrainerConfig> {
    Box::new(ReinforcePpConfig::default())
}
fn default_domain_trainer() -> Box<dyn TrainerConfig> {
    Box::new(GrpoConfig::default())
}
fn default_paper_reward() -> Box<dyn RewardConfig> {
    Box::new(metaalign_tasks::PaperReward::default())
}
fn default_binary_reward() -> Box<dyn RewardConfig> {
    Box::new(metaalign_tasks::BinaryReward::default())
}
fn level_one() -> Vec<u32> {
    vec![1]
}
fn levels_one_two() -> Vec<u32> {
    vec![1, 2]
}

/// What the three stage kinds share once their fields are read.
struct Plan<'a> {
    kind: &'static str,
    from: &'a str,
    tasks: Vec<String>,
    levels: &'a [u32],
    trainer: &'a dyn TrainerConfig,
    reward: Option<&'a dyn RewardConfig>,
    /// Trainer kinds this stage accepts (empty: any).
    trainers: &'static [&'static str],
}

impl Plan<'_> {
    /// The trainer's memory plan for the run's architecture, refused when
    /// it does not fit the memory the run may use.
    fn memory(&self, ctx: &ValidateContext) -> Result<Option<String>> {
        let Some(architecture) = ctx.architecture else {
            return Ok(None);
        };
        let Some(plan) = self.trainer.memory_plan(architecture)? else {
            return Ok(None);
        };
        crate::memory::check_fits(&plan, ctx.settings.memory_limit_gb, &ctx.settings.device)?;
        Ok(Some(plan.to_string()))
    }

    fn check(&self, task_names: &[String]) -> Result<()> {
        let kind = self.kind;
        if self.tasks.is_empty() {
            return Err(Error::config(format!("{kind}: no task source given")));
        }
        for t in &self.tasks {
            if !task_names.contains(t) {
                return Err(Error::config(format!(
                    "{kind}: task source `{t}` is not declared in [tasks] (declared: {})",
                    task_names.join(", ")
                )));
            }
        }
        if self.levels.contains(&0) {
            return Err(Error::config(format!("{kind}: levels start at 1")));
        }
        let trainer = self.trainer.build()?;
        if !self.trainers.is_empty() && !self.trainers.contains(&trainer.kind()) {
            return Err(Error::config(format!(
                "{kind}: trainer kind `{}` does not fit this stage (use {})",
                trainer.kind(),
                self.trainers.join(" or ")
            )));
        }
        if let Some(r) = self.reward {
            r.build()?;
        }
        Ok(())
    }

    async fn run(&self, ctx: StageContext) -> Result<StageOutputs> {
        self.check(&ctx.tasks.keys().cloned().collect::<Vec<_>>())?;
        let trainer = self.trainer.build()?;
        let reward = match self.reward {
            Some(r) => r.build()?,
            None => Arc::new(metaalign_tasks::PaperReward::default()),
        };
        let start = ctx.input(self.from)?.path.clone();
        let mut tasks: BTreeMap<String, Arc<dyn TaskGenerator>> = BTreeMap::new();
        for name in &self.tasks {
            tasks.insert(name.clone(), ctx.task(name)?.clone());
        }
        let inputs = TrainInputs {
            start,
            tasks,
            levels: self.levels.iter().map(|&l| Level(l)).collect(),
            reward,
            out_dir: ctx.dir.clone(),
            seed: ctx.seed,
            holdout: ctx.settings.holdout,
            device: ctx.settings.device.clone(),
            metrics: ctx.metrics.clone(),
            cancel: ctx.cancel.clone(),
        };
        let out = trainer.train(inputs).await?;
        let mut outputs = StageOutputs::default();
        outputs.artifacts.insert(
            "model".into(),
            Artifact {
                kind: ArtifactKind::Model,
                path: out.checkpoint.clone(),
            },
        );
        outputs.report = Some(summary(
            &ctx,
            trainer.kind(),
            &self.tasks,
            out.steps,
            &out.plots,
        ));
        Ok(outputs)
    }
}

/// A markdown section: steps, the last steps' mean metrics, the plots.
fn summary(
    ctx: &StageContext,
    trainer: &str,
    tasks: &[String],
    steps: u64,
    plots: &[std::path::PathBuf],
) -> String {
    let records = Layout::new(&ctx.dir).read_steps().unwrap_or_default();
    let tail: Vec<&serde_json::Value> = records.iter().rev().take(10).collect();
    let mean = |k: &str| -> Option<f64> {
        let v: Vec<f64> = tail.iter().filter_map(|r| r.get(k)?.as_f64()).collect();
        (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64)
    };
    let mut s = format!(
        "### {} ({trainer})\n\nTasks: {}. Steps: {steps}.\n\n",
        ctx.stage,
        tasks.join(", ")
    );
    let keys = [
        "reward",
        "accuracy",
        "format_ok",
        "response_length",
        "zero_spread_groups",
        "entropy",
        "kl",
        "clip_frac",
        "loss",
    ];
    let cells: Vec<(String, String)> = keys
        .iter()
        .filter_map(|k| mean(k).map(|v| (k.to_string(), format!("{v:.4}"))))
        .collect();
    if !cells.is_empty() {
        s.push_str(&format!(
            "Mean of the last {} steps:\n\n| {} |\n|{}|\n| {} |\n\n",
            tail.len(),
            cells
                .iter()
                .map(|c| c.0.as_str())
                .collect::<Vec<_>>()
                .join(" | "),
            cells.iter().map(|_| "---").collect::<Vec<_>>().join("|"),
            cells
                .iter()
                .map(|c| c.1.as_str())
                .collect::<Vec<_>>()
                .join(" | ")
        ));
    }
    for p in plots {
        let rel = p.strip_prefix(&ctx.run_dir).unwrap_or(p);
        s.push_str(&format!("![{}]({})\n", ctx.stage, rel.display()));
    }
    s
}

/// `kind = "sft"`: supervised warm-up on generated tasks.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SftStage {
    /// The model to start from (`"policy"` or `"<stage>.model"`).
    pub from: String,
    /// Task sources (`[tasks.NAME]`), mixed round robin.
    pub tasks: Vec<String>,
    /// Curriculum levels (default `[1]`).
    #[serde(default = "level_one")]
    pub levels: Vec<u32>,
    /// Trainer settings (default `{ kind = "sft" }`).
    #[serde(default = "default_sft_trainer")]
    pub trainer: Box<dyn TrainerConfig>,
}

impl SftStage {
    fn plan(&self) -> Plan<'_> {
        Plan {
            kind: "sft",
            from: &self.from,
            tasks: self.tasks.clone(),
            levels: &self.levels,
            trainer: self.trainer.as_ref(),
            reward: None,
            trainers: &["sft"],
        }
    }
}

#[typetag::serde(name = "sft")]
#[async_trait]
impl StageConfig for SftStage {
    fn inputs(&self) -> Vec<InputRef> {
        vec![InputRef::model("from", self.from.clone())]
    }
    fn outputs(&self) -> Vec<OutputDecl> {
        vec![OutputDecl::new("model", ArtifactKind::Model)]
    }
    fn task_sources(&self) -> Vec<String> {
        self.tasks.clone()
    }
    fn validate(&self, ctx: &ValidateContext) -> Result<Vec<String>> {
        self.plan().check(&ctx.task_names)?;
        Ok(Vec::new())
    }
    async fn run(&self, ctx: StageContext) -> Result<StageOutputs> {
        self.plan().run(ctx).await
    }
    fn memory_plan(&self, ctx: &ValidateContext) -> Result<Option<String>> {
        self.plan().memory(ctx)
    }
}

/// `kind = "align"` (stage A): one specialist trained with RL on one
/// meta-ability, level by level.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlignStage {
    /// The model to start from (`"policy"` or `"<stage>.model"`).
    pub from: String,
    /// The task source (`[tasks.NAME]`) of the ability.
    pub task: String,
    /// Curriculum levels in order (default `[1, 2]`, as the paper).
    #[serde(default = "levels_one_two")]
    pub levels: Vec<u32>,
    /// Default `{ kind = "reinforce_pp" }`.
    #[serde(default = "default_align_trainer")]
    pub trainer: Box<dyn TrainerConfig>,
    /// Default `{ kind = "paper" }`.
    #[serde(default = "default_paper_reward")]
    pub reward: Box<dyn RewardConfig>,
}

impl AlignStage {
    fn plan(&self) -> Plan<'_> {
        Plan {
            kind: "align",
            from: &self.from,
            tasks: vec![self.task.clone()],
            levels: &self.levels,
            trainer: self.trainer.as_ref(),
            reward: Some(self.reward.as_ref()),
            trainers: &[],
        }
    }
}

#[typetag::serde(name = "align")]
#[async_trait]
impl StageConfig for AlignStage {
    fn inputs(&self) -> Vec<InputRef> {
        vec![InputRef::model("from", self.from.clone())]
    }
    fn outputs(&self) -> Vec<OutputDecl> {
        vec![OutputDecl::new("model", ArtifactKind::Model)]
    }
    fn task_sources(&self) -> Vec<String> {
        vec![self.task.clone()]
    }
    fn validate(&self, ctx: &ValidateContext) -> Result<Vec<String>> {
        self.plan().check(&ctx.task_names)?;
        Ok(Vec::new())
    }
    async fn run(&self, ctx: StageContext) -> Result<StageOutputs> {
        self.plan().run(ctx).await
    }
    fn memory_plan(&self, ctx: &ValidateContext) -> Result<Option<String>> {
        self.plan().memory(ctx)
    }
}

/// `kind = "domain_rl"` (stage C): RL on a downstream domain from the
/// merged model.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DomainRlStage {
    /// The model to start from (`"policy"` or `"<stage>.model"`).
    pub from: String,
    /// Task sources of the domain, mixed round robin.
    pub tasks: Vec<String>,
    /// Curriculum levels (default: the lowest level of each source).
    #[serde(default)]
    pub levels: Vec<u32>,
    /// Default `{ kind = "grpo" }`.
    #[serde(default = "default_domain_trainer")]
    pub trainer: Box<dyn TrainerConfig>,
    /// Default `{ kind = "binary" }`.
    #[serde(default = "default_binary_reward")]
    pub reward: Box<dyn RewardConfig>,
}

impl DomainRlStage {
    fn plan(&self) -> Plan<'_> {
        Plan {
            kind: "domain_rl",
            from: &self.from,
            tasks: self.tasks.clone(),
            levels: &self.levels,
            trainer: self.trainer.as_ref(),
            reward: Some(self.reward.as_ref()),
            trainers: &[],
        }
    }
}

#[typetag::serde(name = "domain_rl")]
#[async_trait]
impl StageConfig for DomainRlStage {
    fn inputs(&self) -> Vec<InputRef> {
        vec![InputRef::model("from", self.from.clone())]
    }
    fn outputs(&self) -> Vec<OutputDecl> {
        vec![OutputDecl::new("model", ArtifactKind::Model)]
    }
    fn task_sources(&self) -> Vec<String> {
        self.tasks.clone()
    }
    fn validate(&self, ctx: &ValidateContext) -> Result<Vec<String>> {
        self.plan().check(&ctx.task_names)?;
        Ok(Vec::new())
    }
    async fn run(&self, ctx: StageContext) -> Result<StageOutputs> {
        self.plan().run(ctx).await
    }
    fn memory_plan(&self, ctx: &ValidateContext) -> Result<Option<String>> {
        self.plan().memory(ctx)
    }
}
