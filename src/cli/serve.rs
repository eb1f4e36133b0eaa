//! `metaalign serve-reward`: our verifiers as an OpenRLHF-compatible remote
//! reward service (see `metaalign::serve`).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use crate::serve::{bind, read_token_file, ServeConfig};
use clap::Args;

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on. The default is loopback only; bind 0.0.0.0
    /// explicitly (with --token-file) to serve a cluster.
    #[arg(long, default_value = "127.0.0.1:5000")]
    pub bind: SocketAddr,
    /// Reward scheme kind: `paper` or `binary` (or a plugin's).
    #[arg(long, default_value = "paper")]
    pub reward: String,
    /// File holding a bearer token required on every request.
    #[arg(long)]
    pub token_file: Option<PathBuf>,
    /// Largest number of queries per request.
    #[arg(long, default_value_t = 8192)]
    pub max_batch: usize,
    /// Largest request body, in MiB.
    #[arg(long, default_value_t = 64)]
    pub max_body_mib: usize,
    /// Scoring threads (default: the number of CPUs).
    #[arg(long)]
    pub workers: Option<usize>,
    /// Policy checkpoint whose chat template (`tokenizer_config.json`'s
    /// `chat_template`) renders task prompts when a query comes without its
    /// prompt (default: the built-in Qwen template).
    #[arg(long, value_name = "DIR")]
    pub model: Option<PathBuf>,
}

pub fn run(args: ServeArgs) -> anyhow::Result<ExitCode> {
    let mut config = ServeConfig {
        bind: args.bind,
        reward: args.reward,
        max_batch: args.max_batch,
        max_body_bytes: args.max_body_mib << 20,
        ..ServeConfig::default()
    };
    if let Some(dir) = &args.model {
        config.template = crate::tasks::common::ChatTemplate::from_checkpoint(dir)?;
    }
    if let Some(w) = args.workers {
        config.workers = w.max(1);
    }
    if let Some(path) = &args.token_file {
        config.token = Some(read_token_file(path)?);
    }
    if config.token.is_none() && !config.bind.ip().is_loopback() {
        tracing::warn!(
            "serving on {} without a token: anyone who can reach it can use it (pass --token-file)",
            config.bind
        );
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let bound = bind(&config).await?;
        // Printed on stdout so scripts can read the port when binding port 0.
        println!("listening on http://{}", bound.addr);
        tracing::info!(
            reward = %config.reward,
            workers = config.workers,
            token = config.token.is_some(),
            "reward service ready: POST /get_reward, GET /health"
        );
        bound
            .serve(async {
                let _ = tokio::signal::ctrl_c().await;
            })
            .await?;
        anyhow::Ok(())
    })?;
    Ok(ExitCode::SUCCESS)
}
