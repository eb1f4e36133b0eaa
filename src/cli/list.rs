//! `metaalign list`: every registered kind, grouped by slot.

use std::process::ExitCode;

use clap::Args;

#[derive(Debug, Args)]
pub struct ListArgs {
    /// Also print each kind's example config.
    #[arg(long)]
    pub examples: bool,
}

pub fn run(args: ListArgs) -> anyhow::Result<ExitCode> {
    let registry = metaalign_core::registry::all()?;
    for (slot, regs) in registry {
        println!("{slot}:");
        for reg in regs {
            println!("  {:<18} {}", reg.kind, reg.description);
            if args.examples {
                for line in reg.example.lines() {
                    println!("      {line}");
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
