//! The plugin registry and the plugin contract.
//!
//! A [`Plugin`] is a value with one required method, [`Plugin::build`],
//! which adds its kinds to a [`Registry`]: per kind, the config type (a
//! typetag implementation of its slot's trait, whose `#[typetag::serde(name
//! = "...")]` is the one place the kind's name is written), a one-line
//! description, and an example *value* that the registry writes as TOML. A
//! task kind brings its verifier (its default generator's) and, optionally,
//! an importer of the paper's released rows.
//!
//! ```ignore
//! struct MyDomain;
//! impl Plugin for MyDomain {
//!     fn build(&self, registry: &mut Registry) {
//!         registry
//!             .add_task("my puzzles", MyTaskConfig::default())
//!             .add_reward("my reward", MyReward { bonus: 0.5 });
//!     }
//! }
//! ```
//!
//! The registry a program runs with is *installed* once ([`install`], or
//! `metaalign::App`), and pipeline parsing, `metaalign list`, verifier
//! lookup and paper import read that one. Libraries and tests that need a
//! few plugins call [`ensure`], which adds plugins not yet installed.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, RwLock};

use serde::Serialize;

pub use crate::config::slots::Slot;
use crate::config::slots::{
    MergeConfig, PolicyConfig, RewardConfig, StageConfig, TaskConfig, TrainerConfig,
};
use crate::error::{Error, Result};
use crate::paper::PaperImporter;
use crate::task::{Ability, TaskGenerator};

/// A set of kinds added to a [`Registry`] together: a domain, a reward, or
/// a group of other plugins (`DefaultPlugins`).
pub trait Plugin: Send + Sync + 'static {
    /// Adds this plugin's kinds (and any plugins it depends on).
    fn build(&self, registry: &mut Registry);

    /// The plugin's identity: a registry adds a plugin of a given name once,
    /// and names it as the origin of its kinds. Defaults to the type's path.
    fn name(&self) -> &str {
        std::any::type_name::<Self>()
    }
}

/// Builds a task kind's default generator.
type SourceFactory = Arc<dyn Fn() -> Result<Arc<dyn TaskGenerator>> + Send + Sync>;

/// One registered kind.
#[derive(Clone)]
pub struct Registration {
    /// The slot it plugs into.
    pub slot: Slot,
    /// The `kind = "..."` name, read from the example value (so it is the
    /// config type's typetag name).
    pub kind: String,
    /// One line for `metaalign list`.
    pub description: String,
    /// The example config as a TOML table body, written from the example
    /// value.
    pub example: String,
    /// The plugin that added it.
    pub origin: String,
    /// The example value as JSON: what [`Registry::check`] compares after a
    /// TOML round trip.
    example_value: serde_json::Value,
    /// Task kinds: their default generator (which knows its verifier).
    default_source: Option<SourceFactory>,
}

impl fmt::Debug for Registration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Registration")
            .field("slot", &self.slot)
            .field("kind", &self.kind)
            .field("description", &self.description)
            .field("origin", &self.origin)
            .finish_non_exhaustive()
    }
}

impl Registration {
    /// The example value as JSON (`{"kind": ..., ...}`).
    pub fn example_value(&self) -> &serde_json::Value {
        &self.example_value
    }
}

/// The kinds a program knows, by slot, and the paper importers by ability.
#[derive(Default)]
pub struct Registry {
    kinds: BTreeMap<(Slot, String), Registration>,
    paper_importers: BTreeMap<Ability, (PaperImporter, String)>,
    plugins: Vec<String>,
    /// The plugin whose `build` is running (the origin of what it adds).
    building: Vec<String>,
    /// Problems found while adding (duplicates, examples that do not
    /// serialize); reported by [`Registry::check`].
    problems: Vec<String>,
}

impl fmt::Debug for Registry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Registry")
            .field("plugins", &self.plugins)
            .field("kinds", &self.kinds.len())
            .finish_non_exhaustive()
    }
}

impl Registry {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// A registry holding `plugin` (and what it adds).
    pub fn with(plugin: &dyn Plugin) -> Self {
        let mut registry = Self::new();
        registry.add_plugin(plugin);
        registry
    }

    /// Adds a plugin's kinds, unless a plugin of the same name was added
    /// before (so groups may share members).
    pub fn add_plugin(&mut self, plugin: &dyn Plugin) -> &mut Self {
        let name = plugin.name().to_string();
        if self.plugins.contains(&name) {
            return self;
        }
        self.plugins.push(name.clone());
        self.building.push(name);
        plugin.build(self);
        self.building.pop();
        self
    }

    /// The names of the plugins added, in order.
    pub fn plugins(&self) -> &[String] {
        &self.plugins
    }

    /// Adds a task kind. Its config must build with its defaults: that
    /// generator's verifier checks task records of this kind.
    pub fn add_task<C: TaskConfig + Default + 'static>(
        &mut self,
        description: &str,
        example: C,
    ) -> &mut Self {
        let source: SourceFactory = Arc::new(|| C::default().build());
        self.add(
            Slot::Task,
            description,
            &example as &dyn TaskConfig,
            Some(source),
        )
    }

    /// Adds a task kind whose tasks can also be imported from the paper's
    /// released rows of `ability`.
    pub fn add_paper_task<C: TaskConfig + Default + 'static>(
        &mut self,
        description: &str,
        example: C,
        ability: Ability,
        importer: PaperImporter,
    ) -> &mut Self {
        self.add_task(description, example);
        let origin = self.origin();
        if let Some((_, first)) = self.paper_importers.get(&ability) {
            self.problems.push(format!(
                "the paper importer of ability `{ability}` is added twice: by `{first}` and by `{origin}`"
            ));
        } else {
            self.paper_importers.insert(ability, (importer, origin));
        }
        self
    }

    /// Adds a reward scheme kind.
    pub fn add_reward<C: RewardConfig + 'static>(
        &mut self,
        description: &str,
        example: C,
    ) -> &mut Self {
        self.add(
            Slot::Reward,
            description,
            &example as &dyn RewardConfig,
            None,
        )
    }

    /// Adds a starting-policy kind.
    pub fn add_policy<C: PolicyConfig + 'static>(
        &mut self,
        description: &str,
        example: C,
    ) -> &mut Self {
        self.add(
            Slot::Policy,
            description,
            &example as &dyn PolicyConfig,
            None,
        )
    }

    /// Adds a trainer kind.
    pub fn add_trainer<C: TrainerConfig + 'static>(
        &mut self,
        description: &str,
        example: C,
    ) -> &mut Self {
        self.add(
            Slot::Trainer,
            description,
            &example as &dyn TrainerConfig,
            None,
        )
    }

    /// Adds a merge strategy kind.
    pub fn add_merge<C: MergeConfig + 'static>(
        &mut self,
        description: &str,
        example: C,
    ) -> &mut Self {
        self.add(Slot::Merge, description, &example as &dyn MergeConfig, None)
    }

    /// Adds a pipeline stage kind.
    pub fn add_stage<C: StageConfig + 'static>(
        &mut self,
        description: &str,
        example: C,
    ) -> &mut Self {
        self.add(Slot::Stage, description, &example as &dyn StageConfig, None)
    }

    fn origin(&self) -> String {
        self.building
            .last()
            .cloned()
            .unwrap_or_else(|| "(added directly)".to_string())
    }

    fn add<T: ?Sized + Serialize>(
        &mut self,
        slot: Slot,
        description: &str,
        example: &T,
        default_source: Option<SourceFactory>,
    ) -> &mut Self {
        let origin = self.origin();
        let (example_value, example_toml) =
            match (serde_json::to_value(example), toml::to_string(example)) {
                (Ok(json), Ok(text)) => (json, text),
                (Err(e), _) => {
                    self.problems.push(format!(
                        "a {slot} kind added by `{origin}`: its example cannot be written: {e}"
                    ));
                    return self;
                }
                (_, Err(e)) => {
                    self.problems.push(format!(
                    "a {slot} kind added by `{origin}`: its example cannot be written as TOML: {e}"
                ));
                    return self;
                }
            };
        let Some(kind) = example_value.get("kind").and_then(|k| k.as_str()) else {
            self.problems.push(format!(
                "a {slot} kind added by `{origin}`: its example has no `kind`"
            ));
            return self;
        };
        let kind = kind.to_string();
        if let Some(first) = self.kinds.get(&(slot, kind.clone())) {
            self.problems.push(format!(
                "{slot} kind `{kind}` is registered twice: by `{}` and by `{origin}`",
                first.origin
            ));
            return self;
        }
        self.kinds.insert(
            (slot, kind.clone()),
            Registration {
                slot,
                kind,
                description: description.to_string(),
                example: example_toml,
                origin,
                example_value,
                default_source,
            },
        );
        self
    }

    /// Every registration of `slot`, sorted by kind.
    pub fn of(&self, slot: Slot) -> impl Iterator<Item = &Registration> {
        self.kinds
            .range((slot, String::new())..)
            .take_while(move |((s, _), _)| *s == slot)
            .map(|(_, reg)| reg)
    }

    /// Every registration, by slot then kind.
    pub fn iter(&self) -> impl Iterator<Item = &Registration> {
        self.kinds.values()
    }

    /// Kind names registered in `slot`, sorted.
    pub fn kinds(&self, slot: Slot) -> Vec<String> {
        self.of(slot).map(|r| r.kind.clone()).collect()
    }

    /// The registration of `kind` in `slot`, if any.
    pub fn find(&self, slot: Slot, kind: &str) -> Option<&Registration> {
        self.kinds.get(&(slot, kind.to_string()))
    }

    /// The default generator of a registered task kind.
    pub fn task_source(&self, kind: &str) -> Result<Arc<dyn TaskGenerator>> {
        let reg = self.find(Slot::Task, kind).ok_or_else(|| {
            Error::config(format!(
                "unknown task kind `{kind}`; known task kinds: {}",
                self.kinds(Slot::Task).join(", ")
            ))
        })?;
        match &reg.default_source {
            Some(build) => build(),
            None => Err(Error::Registry(format!(
                "task kind `{kind}` has no default generator"
            ))),
        }
    }

    /// The importer of the paper's rows of `ability`, if a task kind added one.
    pub fn paper_importer(&self, ability: &Ability) -> Option<PaperImporter> {
        self.paper_importers.get(ability).map(|(f, _)| *f)
    }

    /// Fails on the problems found while adding (a kind registered twice,
    /// naming both plugins; an example that cannot be written) and on any
    /// example that does not survive a TOML round trip.
    pub fn check(&self) -> Result<()> {
        let mut problems = self.problems.clone();
        for reg in self.kinds.values() {
            if let Err(e) = check_example(reg).and_then(|()| self.check_task_kind(reg)) {
                problems.push(match e {
                    Error::Registry(message) => message,
                    other => other.to_string(),
                });
            }
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(Error::Registry(problems.join("\n")))
        }
    }
}

impl Registry {
    /// A task kind's default generator must build, and the kind it writes
    /// on its tasks must be registered (its own name, or the kind it wraps,
    /// as `short_prompt` writes `induction`), or verifying those tasks fails
    /// later.
    fn check_task_kind(&self, reg: &Registration) -> Result<()> {
        let Some(build) = &reg.default_source else {
            return Ok(());
        };
        let generator = build().map_err(|e| {
            Error::Registry(format!(
                "task kind `{}` ({}): its default config does not build: {e}",
                reg.kind, reg.origin
            ))
        })?;
        let written = generator.kind();
        if written != reg.kind && self.find(Slot::Task, written).is_none() {
            return Err(Error::Registry(format!(
                "task kind `{}` ({}): its generator's `kind()` says `{written}`, which is not a registered task kind",
                reg.kind, reg.origin
            )));
        }
        Ok(())
    }
}

/// Checks that a registration's example, written as TOML, parses back into
/// its slot's trait object with the registered kind and the same value.
pub fn check_example(reg: &Registration) -> Result<()> {
    let origin = format!(
        "example of {} kind `{}` ({})",
        reg.slot, reg.kind, reg.origin
    );
    let parsed = parse_slot_toml(reg.slot, &reg.example, &origin)?;
    if parsed != reg.example_value {
        return Err(Error::Registry(format!(
            "{origin}: changes in a TOML round trip:\n  value:  {}\n  parsed: {parsed}\n  written TOML:\n{}",
            reg.example_value, reg.example
        )));
    }
    Ok(())
}

/// Parses a config table of `slot` into its trait object, as
/// [`crate::config::from_toml_str`] does, and returns the object serialized
/// as JSON (what [`check_example`] compares).
fn parse_slot_toml(slot: Slot, text: &str, origin: &str) -> Result<serde_json::Value> {
    fn json<T: serde::de::DeserializeOwned + Serialize>(
        text: &str,
        origin: &str,
    ) -> Result<serde_json::Value> {
        let value: T = crate::pipeline::de::parse_toml(text, origin, &kinds)?;
        Ok(serde_json::to_value(value)?)
    }
    match slot {
        Slot::Task => json::<Box<dyn TaskConfig>>(text, origin),
        Slot::Reward => json::<Box<dyn RewardConfig>>(text, origin),
        Slot::Policy => json::<Box<dyn PolicyConfig>>(text, origin),
        Slot::Trainer => json::<Box<dyn TrainerConfig>>(text, origin),
        Slot::Merge => json::<Box<dyn MergeConfig>>(text, origin),
        Slot::Stage => json::<Box<dyn StageConfig>>(text, origin),
    }
}

static INSTALLED: RwLock<Option<Arc<Registry>>> = RwLock::new(None);

/// Makes `registry` the one this process runs with, after [`Registry::check`].
pub fn install(registry: Registry) -> Result<()> {
    registry.check()?;
    *INSTALLED.write().unwrap_or_else(|e| e.into_inner()) = Some(Arc::new(registry));
    Ok(())
}

/// Adds `plugin` to the installed registry unless it is there already
/// (idempotent; safe from parallel tests).
pub fn ensure(plugin: &dyn Plugin) -> Result<()> {
    let mut slot = INSTALLED.write().unwrap_or_else(|e| e.into_inner());
    if let Some(current) = slot.as_ref() {
        if current.plugins.iter().any(|p| p == plugin.name()) {
            return Ok(());
        }
    }
    let mut registry = Registry::new();
    if let Some(current) = slot.as_ref() {
        for name in &current.plugins {
            registry.plugins.push(name.clone());
        }
        registry.kinds = current.kinds.clone();
        registry.paper_importers = current.paper_importers.clone();
    }
    registry.add_plugin(plugin);
    registry.check()?;
    *slot = Some(Arc::new(registry));
    Ok(())
}

/// The installed registry (empty when nothing was installed).
pub fn installed() -> Arc<Registry> {
    INSTALLED
        .read()
        .unwrap_or_else(|e| e.into_inner())
        .clone()
        .unwrap_or_default()
}

/// Kind names of `slot` in the installed registry, sorted.
pub fn kinds(slot: Slot) -> Vec<String> {
    installed().kinds(slot)
}

/// The installed registration of `kind` in `slot`, if any.
pub fn find(slot: Slot, kind: &str) -> Option<Registration> {
    installed().find(slot, kind).cloned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_registry_checks_and_knows_nothing() {
        let r = Registry::new();
        r.check().unwrap();
        assert!(r.kinds(Slot::Task).is_empty());
        assert!(r.task_source("x").is_err());
    }
}
