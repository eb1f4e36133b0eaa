//! A `metaalign`-compatible binary with the built-in kinds and this crate's.
//! `cargo run` lists the kinds and runs `pipeline.toml`; with arguments it is
//! the whole `metaalign` command line (`cargo run -- verify ...`).

use std::process::ExitCode;

use digit_sum_plugin::DigitSumPlugin;
use metaalign::{App, DefaultPlugins};

fn app() -> App {
    App::new().add_plugins(DefaultPlugins).add_plugin(DigitSumPlugin)
}

fn main() -> ExitCode {
    if std::env::args().len() > 1 {
        return app().run_cli();
    }
    let pipeline = concat!(env!("CARGO_MANIFEST_DIR"), "/pipeline.toml");
    match app().run_cli_from(["digit-sum", "list"]) {
        ExitCode::SUCCESS => app().run_cli_from(["digit-sum", "run", pipeline]),
        failed => failed,
    }
}
