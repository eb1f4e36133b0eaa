use std::process::ExitCode;

use metaalign::{App, DefaultPlugins};

fn main() -> ExitCode {
    App::new().add_plugins(DefaultPlugins).run_cli()
}
