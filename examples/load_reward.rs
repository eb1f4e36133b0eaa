//! Load test of the reward service (`metaalign serve-reward`).
//!
//! Starts the service in-process on a loopback port (or targets `--addr`),
//! then drives it with concurrent clients posting batches of real tasks'
//! responses (correct, wrong and badly formatted), one request in ten
//! malformed on purpose. Prints throughput (responses scored per second),
//! p50/p99 latency, and the 5xx / dropped-connection counts.
//!
//! ```text
//! cargo run --release --example load_reward -- --clients 64 --seconds 30 --batch 64
//! ```

use std::net::SocketAddr;
use std::time::Duration;

use metaalign::core::config::default_task_source;
use metaalign::serve::load::{run_load, LoadConfig, Payloads};
use metaalign::serve::{bind, ServeConfig};
use metaalign::tasks::generate::generate_tasks;
use metaalign::Level;

struct Args {
    clients: usize,
    seconds: f64,
    batch: usize,
    malformed_every: usize,
    workers: usize,
    addr: Option<SocketAddr>,
    token: Option<String>,
}

fn parse() -> Result<Args, String> {
    let mut a = Args {
        clients: 64,
        seconds: 30.0,
        batch: 64,
        malformed_every: 10,
        workers: std::thread::available_parallelism().map_or(2, |n| n.get()),
        addr: None,
        token: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or(format!("{flag} needs a value"));
        let num = |v: String| {
            v.parse::<f64>()
                .map_err(|_| format!("{flag}: not a number: {v}"))
        };
        match flag.as_str() {
            "--clients" => a.clients = num(value()?)? as usize,
            "--seconds" => a.seconds = num(value()?)?,
            "--batch" => a.batch = num(value()?)? as usize,
            "--malformed-every" => a.malformed_every = num(value()?)? as usize,
            "--workers" => a.workers = num(value()?)? as usize,
            "--addr" => a.addr = Some(value()?.parse().map_err(|e| format!("--addr: {e}"))?),
            "--token-file" => {
                a.token = Some(
                    metaalign::serve::read_token_file(std::path::Path::new(&value()?))
                        .map_err(|e| e.to_string())?,
                )
            }
            "-h" | "--help" => {
                return Err("usage: load_reward [--clients N] [--seconds S] [--batch N] [--malformed-every N] [--workers N] [--addr HOST:PORT] [--token-file FILE]".into())
            }
            other => return Err(format!("unknown flag {other}")),
        }
    }
    Ok(a)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    metaalign::install_default_plugins()?;
    let args = parse()?;
    // A realistic mix: every task kind, levels 1-5.
    let mut tasks = Vec::new();
    for kind in ["deduction", "induction", "abduction"] {
        let g = default_task_source(kind)?;
        for level in 1..=5 {
            tasks.extend(generate_tasks(g.as_ref(), Level(level), 20, 1)?);
        }
    }
    let payloads = Payloads::build(&tasks, args.batch, 64)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let (addr, _stop) = match args.addr {
            Some(addr) => (addr, None),
            None => {
                let bound = bind(&ServeConfig {
                    bind: "127.0.0.1:0".parse()?,
                    workers: args.workers,
                    token: args.token.clone(),
                    ..ServeConfig::default()
                })
                .await?;
                let (addr, stop, _h) = bound.spawn();
                (addr, Some(stop))
            }
        };
        println!(
            "load test: {} clients, {:.0} s, batches of {}, 1 request in {} malformed, {} scoring workers, service at {addr}",
            args.clients, args.seconds, args.batch, args.malformed_every, args.workers
        );
        let report = run_load(
            LoadConfig {
                addr,
                token: args.token,
                clients: args.clients,
                duration: Duration::from_secs_f64(args.seconds),
                malformed_every: args.malformed_every,
            },
            payloads,
        )
        .await?;
        println!("{report}");
        Ok::<_, Box<dyn std::error::Error>>(())
    })
}
