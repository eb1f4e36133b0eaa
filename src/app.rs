//! [`App`]: the builder that turns plugins into a program — a registry for a
//! library user, or a whole `metaalign`-compatible command line for a crate
//! that adds its own kinds — and [`DefaultPlugins`], every kind this
//! repository ships.
//!
//! ```no_run
//! use metaalign::{App, DefaultPlugins};
//! # struct MyDomain;
//! # impl metaalign::core::Plugin for MyDomain {
//! #     fn build(&self, _: &mut metaalign::core::Registry) {}
//! # }
//! fn main() -> std::process::ExitCode {
//!     App::new().add_plugins(DefaultPlugins).add_plugin(MyDomain).run_cli()
//! }
//! ```

use std::ffi::OsString;
use std::process::ExitCode;

use clap::Parser;
use metaalign_core::{Plugin, Registry, Result};

/// Every kind this repository ships: the tasks, rewards and `generate`
/// stage (`TasksPlugin`), trainers, policies and training / evaluation
/// stages (`RlPlugin`), merge strategies and the `merge` stage
/// (`MergePlugin`), `merge_search`, and the example plugins (`arithmetic`,
/// `math`, `choice`, `code` domains, `length_penalty` reward, `median`
/// merge).
#[derive(Clone, Copy, Debug, Default)]
pub struct DefaultPlugins;

impl Plugin for DefaultPlugins {
    fn build(&self, registry: &mut Registry) {
        registry
            .add_plugin(&metaalign_tasks::TasksPlugin)
            .add_plugin(&metaalign_rl::RlPlugin)
            .add_plugin(&metaalign_merge::MergePlugin)
            .add_plugin(&crate::stages::MergeSearchPlugin)
            .add_plugin(&metaalign_domain_arithmetic::ArithmeticPlugin)
            .add_plugin(&metaalign_domain_math::MathPlugin)
            .add_plugin(&metaalign_domain_choice::ChoicePlugin)
            .add_plugin(&metaalign_domain_code::CodePlugin)
            .add_plugin(&metaalign_plugin_reward_length::LengthPenaltyPlugin)
            .add_plugin(&metaalign_merge_median::MedianPlugin);
    }
}

/// Collects plugins into a [`Registry`], then installs it and runs the
/// command line ([`App::run_cli`]) or hands it to a library user
/// ([`App::install`]).
#[derive(Debug, Default)]
pub struct App {
    registry: Registry,
}

impl App {
    /// An app with no kinds; add [`DefaultPlugins`] for the built-ins.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a plugin's kinds (a plugin already added is skipped).
    pub fn add_plugin(mut self, plugin: impl Plugin) -> Self {
        self.registry.add_plugin(&plugin);
        self
    }

    /// Adds a group of plugins, such as [`DefaultPlugins`] (a group is a
    /// plugin that adds others).
    pub fn add_plugins(self, group: impl Plugin) -> Self {
        self.add_plugin(group)
    }

    /// The kinds added so far.
    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// Checks the registry (no kind added twice, every example round-trips)
    /// and makes it the one pipelines, `list`, verifiers and paper import
    /// use in this process.
    pub fn install(self) -> Result<()> {
        metaalign_core::registry::install(self.registry)
    }

    /// Installs the registry and runs the `metaalign` command line on the
    /// process arguments: every subcommand, with this app's kinds.
    pub fn run_cli(self) -> ExitCode {
        self.run_cli_from(std::env::args_os())
    }

    /// [`App::run_cli`] on the given arguments (the first is the program name).
    pub fn run_cli_from<I, T>(self, args: I) -> ExitCode
    where
        I: IntoIterator<Item = T>,
        T: Into<OsString> + Clone,
    {
        let cli = match crate::cli::Cli::try_parse_from(args) {
            Ok(cli) => cli,
            Err(e) => {
                let _ = e.print();
                return if e.use_stderr() {
                    ExitCode::from(2)
                } else {
                    ExitCode::SUCCESS
                };
            }
        };
        let filter = tracing_subscriber::EnvFilter::try_new(&cli.log)
            .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
        // A second app in one process keeps the first subscriber.
        let _ = tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_writer(|| metaalign_core::progress::LogWriter)
            .try_init();
        // Two plugins adding the same kind is a start-up error.
        if let Err(err) = self.install() {
            eprintln!("error: {err}");
            return ExitCode::FAILURE;
        }
        match cli.run() {
            Ok(code) => code,
            Err(err) => {
                eprintln!("error: {err:#}");
                ExitCode::FAILURE
            }
        }
    }
}

/// Installs [`DefaultPlugins`] into this process's registry, keeping what
/// is installed already (for tests and library code that read pipelines
/// without building an [`App`]).
pub fn install_default_plugins() -> Result<()> {
    metaalign_core::registry::ensure(&DefaultPlugins)
}
