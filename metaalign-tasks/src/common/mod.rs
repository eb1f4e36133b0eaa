//! Pieces shared by every task: the response format, chat templates and
//! reward schemes.

pub mod format;
pub mod items;
pub mod jinja;
pub mod reward;
pub mod template;

pub use format::{
    check_format, check_response_format, extract_answer, judge_answer, judge_response,
    think_opened_by_prompt, FormatCheck,
};
pub use jinja::JinjaTemplate;
pub use reward::{BinaryReward, PaperReward};
pub use template::ChatTemplate;

use serde::{Deserialize, Serialize};

/// What a generated task's rationale (its think block in `sft`) holds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RationaleStyle {
    /// The whole argument in sentences (the paper's style).
    #[default]
    Full,
    /// Only the worked steps, in a compact notation: short enough for a
    /// tiny model to sample cheaply, yet it splits the answer into small
    /// checkable moves that every puzzle of the task shares (induction:
    /// `81 × 3 = 243`; deduction: the forced assignments; abduction: the
    /// backward chain of each goal).
    Step,
}

/// Appends `n` in decimal, without `fmt` (verifiers build their texts on
/// the hot path).
pub fn push_decimal(out: &mut metaalign_core::CompactString, mut n: usize) {
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    loop {
        at -= 1;
        digits[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    for &d in &digits[at..] {
        out.push(char::from(d));
    }
}

/// A fast, non-cryptographic hash (the Fx hash of rustc), for the
/// verifiers' per-thread caches: a hit is always confirmed by comparing
/// the full key, so collisions cost time, never correctness.
#[derive(Clone, Copy, Default)]
pub struct FxHasher(u64);

impl FxHasher {
    const K: u64 = 0x517c_c1b7_2722_0a95;

    /// The multiply is off the dependency chain (a variant of Fx), so
    /// many words hash in parallel; [`Hasher::finish`] mixes once more.
    #[inline]
    fn add(&mut self, word: u64) {
        self.0 = self.0.rotate_left(5) ^ word.wrapping_mul(Self::K);
    }
}

use std::hash::Hasher;

impl Hasher for FxHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut w = [0u8; 8];
            w.copy_from_slice(c);
            self.add(u64::from_le_bytes(w));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut w = [0u8; 8];
            w[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(w) ^ ((rest.len() as u64) << 59));
        }
    }

    #[inline]
    fn write_u8(&mut self, i: u8) {
        self.add(u64::from(i));
    }

    #[inline]
    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }

    #[inline]
    fn write_u64(&mut self, i: u64) {
        self.add(i);
    }

    #[inline]
    fn finish(&self) -> u64 {
        (self.0 ^ (self.0 >> 29)).wrapping_mul(Self::K)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn decimals() {
        for n in [0usize, 7, 10, 99, 123_456, usize::MAX] {
            let mut s = metaalign_core::CompactString::default();
            super::push_decimal(&mut s, n);
            assert_eq!(s, n.to_string());
        }
    }
}
