//! Pieces shared by the fused CPU ops (`fused_layers`, `attention`): access
//! to contiguous CPU storage and the masked-softmax row kernels.
//!
//! `softmax(scale * scores + bias)` over the last dimension is the largest
//! elementwise cost of a training step; composed from candle ops it makes
//! seven passes forward and about twice as many backward, each allocating a
//! tensor of the scores' size. The kernels below do the forward in one pass
//! per row and the backward, `d scores = scale * y * (dy - sum(dy * y))`, in
//! one more.

use candle_core::{CpuStorage, Layout, Result};

use super::simd::{self, multiversion};

pub(crate) fn f32_slice<'a>(
    storage: &'a CpuStorage,
    layout: &Layout,
    what: &str,
) -> Result<&'a [f32]> {
    let CpuStorage::F32(data) = storage else {
        candle_core::bail!("{what}: expected f32 storage");
    };
    match layout.contiguous_offsets() {
        Some((start, end)) => Ok(&data[start..end]),
        None => candle_core::bail!("{what}: expected a contiguous tensor"),
    }
}

/// Below this, `exp` is smaller than f32's smallest normal number.
const UNDERFLOW: f32 = -87.0;

/// Per bias row (rows of `s`), how many leading entries the softmax must
/// compute: up to the last unmasked one. A fully masked row (padding) keeps
/// all `s`, so it stays a uniform distribution as in the composed form.
pub(crate) fn open_lengths(bias: &[f32], s: usize) -> Vec<usize> {
    bias.chunks_exact(s.max(1))
        .map(|m| {
            m.iter()
                .rposition(|&m| m > MASKED)
                .map_or(s, |last| last + 1)
        })
        .collect()
}

/// Bias entries at or below this are masked positions (the model's masks
/// use −1e9, `MASK_NEG`).
const MASKED: f32 = -1e8;

multiversion! {
    /// `out = softmax(scale * x + mask)` row by row (rows of `s`), the mask
    /// rows cycling through `bias`.
    pub(crate) fn softmax_rows(
        out: &mut [f32],
        x: &[f32],
        bias: &[f32],
        open: &[usize],
        s: usize,
        scale: f32,
    ) {
        for (((y, x), m), &open) in out
            .chunks_exact_mut(s)
            .zip(x.chunks_exact(s))
            .zip(bias.chunks_exact(s).cycle())
            .zip(open.iter().cycle())
        {
            // A causal mask hides the tail of each row: those entries are
            // exactly 0, so only the head is computed.
            let open = open.min(s);
            let (y, tail) = y.split_at_mut(open);
            tail.fill(0.0);
            let (x, m) = (&x[..open], &m[..open]);
            for ((y, &x), &m) in y.iter_mut().zip(x).zip(m) {
                *y = x * scale + m;
            }
            let max = simd::max(y);
            for y in y.iter_mut() {
                // Masked entries sit 1e9 below the max: exactly 0.
                let d = *y - max;
                *y = if d < UNDERFLOW { 0.0 } else { simd::exp(d) };
            }
            let inv = 1.0 / simd::sum(y);
            for y in y.iter_mut() {
                *y *= inv;
            }
        }
    }
}

multiversion! {
    /// The softmax's backward row by row (rows of `s`), in place: `dy`
    /// becomes `scale * y * (dy - sum(dy * y))` for the softmax output `y`.
    pub(crate) fn softmax_backward_rows_in_place(dy: &mut [f32], y: &[f32], s: usize, scale: f32) {
        for (dy, y) in dy.chunks_exact_mut(s).zip(y.chunks_exact(s)) {
            let dot = simd::dot(y, dy);
            for (dy, &y) in dy.iter_mut().zip(y) {
                *dy = scale * y * (*dy - dot);
            }
        }
    }
}
