//! Progress bars shared by the pipeline runner and the stages.
//!
//! Every bar of the process hangs off one [`MultiProgress`], so the runner's
//! overall bar ("stage 3/9") stays on screen above the bar of the stage in
//! hand (training steps, evaluated responses, merged tensors) instead of the
//! two overwriting each other. Bars draw on stderr and hide themselves when
//! stderr is not a terminal, so logs and CI output stay clean.
//!
//! Log lines must not tear the bars either: binaries route their tracing
//! output through [`LogWriter`], which lifts the bars while a line is written.

use std::io::Write;
use std::sync::OnceLock;

use indicatif::{MultiProgress, ProgressBar, ProgressStyle};

/// The process-wide set of bars.
pub fn multi() -> &'static MultiProgress {
    static MULTI: OnceLock<MultiProgress> = OnceLock::new();
    MULTI.get_or_init(MultiProgress::new)
}

/// A bar of `total` items added below the existing ones, drawn as
/// `{prefix} [=====>   ] pos/len {unit} elapsed {msg}`.
pub fn bar(total: u64, prefix: impl Into<String>, unit: &str) -> ProgressBar {
    let template =
        format!("{{prefix}} [{{bar:30}}] {{pos}}/{{len}} {unit} {{elapsed_precise}} {{msg}}");
    let bar = ProgressBar::new(total).with_style(
        ProgressStyle::with_template(&template)
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    bar.set_prefix(prefix.into());
    multi().add(bar)
}

/// A `std::io::Write` for log output (e.g. `tracing_subscriber::fmt()
/// .with_writer(|| LogWriter)`): writes to stderr with the bars lifted, so a
/// log line never lands in the middle of a bar.
#[derive(Clone, Copy, Debug, Default)]
pub struct LogWriter;

impl Write for LogWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        multi().suspend(|| std::io::stderr().lock().write_all(buf))?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stderr().flush()
    }
}
