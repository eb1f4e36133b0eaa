//! `metaalign merge`: merge checkpoints from a TOML merge file or a
//! mergekit YAML config.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;

use crate::merge::mergekit::import_yaml;
use crate::merge::spec::parse_size;
use crate::merge::MergeSpec;

#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("source").required(true).args(["config", "mergekit_yaml"])))]
pub struct MergeArgs {
    /// A merge file in TOML (`method = { kind = ... }`, `[[models]]` with `path` and parameters).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// A mergekit YAML config (`models`/`slices`, `merge_method`, ...); model entries must be local paths.
    #[arg(long, value_name = "FILE")]
    pub mergekit_yaml: Option<PathBuf>,
    /// Output checkpoint directory (written to a temp dir beside it, then renamed).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Replace the output directory if it exists.
    #[arg(long)]
    pub force: bool,
    /// Output dtype: float32, bfloat16 or float16 (overrides the config).
    #[arg(long)]
    pub dtype: Option<String>,
    /// Seed for stochastic methods (DARE); overrides the config.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Maximum bytes per output shard, e.g. 5B (default), 500M.
    #[arg(long)]
    pub shard_size: Option<String>,
    /// Worker threads (default: all cores).
    #[arg(long)]
    pub threads: Option<usize>,
    /// Bound on the memory of tensors merged at once, e.g. 1000M (default ~1 GiB).
    #[arg(long)]
    pub max_in_flight: Option<String>,
    /// Hide the progress bar.
    #[arg(long)]
    pub no_progress: bool,
}

pub fn run(args: MergeArgs) -> anyhow::Result<ExitCode> {
    let (method, mut inputs) = if let Some(path) = &args.config {
        let spec = MergeSpec::from_file(path)?;
        let base_dir = path.parent().unwrap_or(Path::new("."));
        let inputs = spec.to_inputs(base_dir, &args.out)?;
        (spec.method, inputs)
    } else {
        let path = args
            .mergekit_yaml
            .as_ref()
            .context("--config or --mergekit-yaml is required")?;
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        let imported = import_yaml(&text, path.parent().unwrap_or(Path::new(".")), &args.out)?;
        for w in &imported.warnings {
            eprintln!("warning: {w}");
        }
        (imported.method, imported.inputs)
    };
    if let Some(d) = &args.dtype {
        d.parse::<crate::merge::FloatDType>()?;
        inputs.options.out_dtype = Some(d.clone());
    }
    if let Some(seed) = args.seed {
        inputs.seed = seed;
    }
    if let Some(s) = &args.shard_size {
        inputs.options.shard_size_bytes = Some(parse_size(s)?);
    }
    if let Some(s) = &args.max_in_flight {
        inputs.options.max_in_flight_bytes = Some(parse_size(s)?);
    }
    if args.threads.is_some() {
        inputs.options.threads = args.threads;
    }
    inputs.options.overwrite = args.force;
    inputs.options.progress = !args.no_progress;

    let merger = method.build()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()?;
    let summary = runtime.block_on(merger.merge(&inputs))?;
    let peak = summary
        .peak_rss_bytes
        .map(|b| format!("{:.1} MB", b as f64 / 1e6))
        .unwrap_or_else(|| "n/a".into());
    println!(
        "merged {} tensors with `{}` ({} models{}) into {}: {:.1} MB written in {:.2} s, peak RSS {peak}",
        summary.tensors,
        merger.kind(),
        inputs.models.len(),
        if inputs.base.is_some() { " + base" } else { "" },
        args.out.display(),
        summary.bytes_written as f64 / 1e6,
        summary.seconds,
    );
    Ok(ExitCode::SUCCESS)
}
