//! `metaalign list`: every installed kind, grouped by slot.

use std::process::ExitCode;

use clap::Args;
use metaalign_core::Slot;

#[derive(Debug, Args)]
pub struct ListArgs {
    /// Also print each kind's example config.
    #[arg(long)]
    pub examples: bool,
}

pub fn run(args: ListArgs) -> anyhow::Result<ExitCode> {
    let registry = metaalign_core::registry::installed();
    for slot in Slot::ALL {
        let mut regs = registry.of(slot).peekable();
        if regs.peek().is_none() {
            continue;
        }
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
