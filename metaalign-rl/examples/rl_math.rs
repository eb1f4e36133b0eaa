//! Evaluates metaalign's RL algorithm units on one JSON object:
//!
//! ```text
//! cargo run -p metaalign-rl --example rl_math -- IN.json OUT.json
//! ```
//!
//! `IN.json` holds one op (`advantage`, `policy_loss`, `kl`, `agg_loss`) in
//! the schema of `docs/rl-algorithms.md` (veRL's argument names); `OUT.json`
//! receives the result. `-` reads stdin / writes stdout. Errors go to stderr
//! with exit status 1.

use std::io::{Read, Write};

use metaalign_rl::algorithms::ops::evaluate;

fn run() -> Result<(), String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [input, output] = args.as_slice() else {
        return Err("usage: rl_math IN.json OUT.json   (\"-\" for stdin/stdout)".into());
    };
    let text = if input == "-" {
        let mut s = String::new();
        std::io::stdin()
            .read_to_string(&mut s)
            .map_err(|e| format!("reading stdin: {e}"))?;
        s
    } else {
        std::fs::read_to_string(input).map_err(|e| format!("reading {input}: {e}"))?
    };
    let value: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| format!("{input} is not valid JSON: {e}"))?;
    let result = evaluate(&value).map_err(|e| format!("{input}: {e}"))?;
    let mut out = serde_json::to_string(&result).map_err(|e| e.to_string())?;
    out.push('\n');
    if output == "-" {
        std::io::stdout()
            .write_all(out.as_bytes())
            .map_err(|e| format!("writing stdout: {e}"))?;
    } else {
        std::fs::write(output, out).map_err(|e| format!("writing {output}: {e}"))?;
    }
    Ok(())
}

fn main() {
    if let Err(e) = run() {
        eprintln!("rl_math: {e}");
        std::process::exit(1);
    }
}
