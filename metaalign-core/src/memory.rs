//! "Will this fit?": a training stage's estimated peak memory, by part,
//! computed from the model's architecture and the trainer's settings before
//! anything runs (`metaalign run --dry-run` prints it per stage).

use std::fmt;

/// Bytes in a GiB.
pub const GIB: f64 = (1u64 << 30) as f64;

/// A training stage's estimated peak memory.
#[derive(Clone, Debug, PartialEq)]
pub struct MemoryPlan {
    /// The parts alive at the peak, in bytes, in display order.
    pub parts: Vec<(String, u64)>,
    /// The estimated peak (the sum of `parts`).
    pub peak: u64,
    /// What the estimate assumes (prompt lengths, ...), in words.
    pub assumes: String,
    /// The settings that lower the peak, in words, for the refusal message.
    pub knobs: String,
}

impl MemoryPlan {
    /// A plan from its parts.
    pub fn new(parts: Vec<(String, u64)>, assumes: String, knobs: String) -> Self {
        let peak = parts.iter().map(|(_, b)| b).sum();
        Self {
            parts,
            peak,
            assumes,
            knobs,
        }
    }
}

impl fmt::Display for MemoryPlan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "≈ {} peak (", human(self.peak))?;
        let shown: Vec<String> = self
            .parts
            .iter()
            .filter(|(_, b)| *b > 0)
            .map(|(name, b)| format!("{name} {}", human(*b)))
            .collect();
        write!(f, "{}; {})", shown.join(", "), self.assumes)
    }
}

/// Physical memory of this machine in bytes (`MemTotal` of
/// `/proc/meminfo`), when it can be read.
pub fn physical_memory() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = text.lines().find(|l| l.starts_with("MemTotal:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// Peak resident set size of this process (`VmHWM`), Linux only.
pub fn peak_rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// `bytes` as MiB below a GiB, GiB above.
pub fn human(bytes: u64) -> String {
    if (bytes as f64) < GIB {
        format!("{:.0} MiB", bytes as f64 / (1u64 << 20) as f64)
    } else {
        format!("{:.2} GiB", bytes as f64 / GIB)
    }
}
