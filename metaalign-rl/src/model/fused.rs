//! Fused, differentiable attention softmax for the CPU.
//!
//! `softmax(scale * scores + bias)` over the last dimension is the largest
//! elementwise cost of a training step: the scores are [B, H, T, S], and the
//! composed form (scale, broadcast add, then softmax from max / sub / exp /
//! sum / div) makes seven passes forward and about twice as many backward,
//! each allocating a tensor of that size. candle's own fused softmax has no
//! backward (it silently cuts the graph), so this module supplies one op that
//! does the forward in one pass per row and a backward in one more:
//! `d scores = scale * y * (dy - sum(dy * y))`.
//!
//! Only f32 on the CPU takes the fused path; other devices and dtypes use
//! candle's fused softmax when no gradient is recorded and the composed form
//! when one is, which give the same values (up to rounding).

use candle_core::{CpuStorage, CustomOp2, Layout, Result, Shape, Tensor, D};
use rayon::prelude::*;

use super::simd::{self, multiversion};

/// `softmax(scale * scores + bias)` over the last dimension, differentiable
/// with respect to `scores` (the bias is a constant mask). `scores` is
/// [B, H, T, S] and `bias` [B, 1, T, S] (broadcast over heads); `scores` may
/// also stack several heads along time, [B, G, k·T, S] (grouped-query
/// attention), with row `r` of a block masked by bias row `r mod T`.
pub fn scaled_masked_softmax(scores: &Tensor, bias: &Tensor, scale: f64) -> Result<Tensor> {
    let (b, g, r, s) = scores.dims4()?;
    let t = bias.dim(2).unwrap_or(0);
    if bias.rank() != 4 || t == 0 || r % t != 0 || bias.dims() != [b, 1, t, s] {
        candle_core::bail!(
            "attention bias has shape {:?}, expected [{b}, 1, T, {s}] with T dividing {r}",
            bias.dims()
        );
    }
    let fused = scores.device().is_cpu()
        && scores.dtype() == candle_core::DType::F32
        && bias.dtype() == candle_core::DType::F32;
    if !fused {
        let x = (scores.reshape((b, g * (r / t), t, s))? * scale)?.broadcast_add(bias)?;
        // Without a graph to record (sampling, frozen scoring) candle's fused
        // kernel is right on every device; with one, the composed form.
        let y = if x.track_op() {
            candle_nn::ops::softmax(&x, D::Minus1)
        } else {
            candle_nn::ops::softmax_last_dim(&x)
        }?;
        return y.reshape((b, g, r, s));
    }
    scores.contiguous()?.apply_op2(
        &bias.contiguous()?,
        ScaledMaskedSoftmax {
            scale: scale as f32,
        },
    )
}

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
    /// `out = scale * y * (dy - sum(dy * y))` row by row (rows of `s`).
    fn softmax_backward_rows(out: &mut [f32], y: &[f32], dy: &[f32], s: usize, scale: f32) {
        for ((o, y), dy) in out
            .chunks_exact_mut(s)
            .zip(y.chunks_exact(s))
            .zip(dy.chunks_exact(s))
        {
            let dot = simd::dot(y, dy);
            for ((o, &y), &dy) in o.iter_mut().zip(y).zip(dy) {
                *o = scale * y * (dy - dot);
            }
        }
    }
}

multiversion! {
    /// [`softmax_backward_rows`] with the incoming gradient `dy` replaced
    /// by the result.
    pub(crate) fn softmax_backward_rows_in_place(dy: &mut [f32], y: &[f32], s: usize, scale: f32) {
        for (dy, y) in dy.chunks_exact_mut(s).zip(y.chunks_exact(s)) {
            let dot = simd::dot(y, dy);
            for (dy, &y) in dy.iter_mut().zip(y) {
                *dy = scale * y * (*dy - dot);
            }
        }
    }
}

struct ScaledMaskedSoftmax {
    scale: f32,
}

impl CustomOp2 for ScaledMaskedSoftmax {
    fn name(&self) -> &'static str {
        "scaled-masked-softmax"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let scores = f32_slice(s1, l1, "attention scores")?;
        let bias = f32_slice(s2, l2, "attention bias")?;
        let (b, g, r, s) = l1.shape().dims4()?;
        let t = l2.shape().dims().get(2).copied().unwrap_or(1).max(1);
        let mut out = vec![0f32; scores.len()];
        let scale = self.scale;
        let open = open_lengths(bias, s);
        // One (batch, head group) block of R rows per task; row `i` of a
        // block takes bias row `i mod T` of its batch.
        out.par_chunks_mut(r * s)
            .zip(scores.par_chunks(r * s))
            .enumerate()
            .for_each(|(block, (out, x))| {
                let bias = &bias[(block / g) * t * s..][..t * s];
                softmax_rows(out, x, bias, &open[(block / g) * t..][..t], s, scale)
            });
        debug_assert_eq!(out.len(), b * g * r * s);
        Ok((CpuStorage::F32(out), l1.shape().clone()))
    }

    fn bwd(
        &self,
        _scores: &Tensor,
        _bias: &Tensor,
        res: &Tensor,
        grad_res: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>)> {
        let grad = res.apply_op2_no_bwd(
            &grad_res.contiguous()?,
            &SoftmaxBackward { scale: self.scale },
        )?;
        Ok((Some(grad), None))
    }
}

/// `scale * y * (dy - sum(dy * y))` row by row, for the softmax output `y`
/// and its incoming gradient `dy`.
struct SoftmaxBackward {
    scale: f32,
}

impl CustomOp2 for SoftmaxBackward {
    fn name(&self) -> &'static str {
        "scaled-masked-softmax-backward"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let y = f32_slice(s1, l1, "softmax output")?;
        let dy = f32_slice(s2, l2, "softmax gradient")?;
        if y.len() != dy.len() {
            candle_core::bail!(
                "softmax backward: {} outputs, {} gradients",
                y.len(),
                dy.len()
            );
        }
        let s = l1.shape().dims().last().copied().unwrap_or(1).max(1);
        let mut out = vec![0f32; y.len()];
        let scale = self.scale;
        let block = s * 256;
        out.par_chunks_mut(block)
            .zip(y.par_chunks(block).zip(dy.par_chunks(block)))
            .for_each(|(out, (y, dy))| softmax_backward_rows(out, y, dy, s, scale));
        Ok((CpuStorage::F32(out), l1.shape().clone()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::{Device, Var};

    fn composed(scores: &Tensor, bias: &Tensor, scale: f64) -> Result<Tensor> {
        let x = (scores * scale)?.broadcast_add(bias)?;
        candle_nn::ops::softmax(&x, D::Minus1)
    }

    /// Values and gradients equal the composed (autograd) form, with padding
    /// rows that are fully masked.
    #[test]
    fn matches_the_composed_form_forward_and_backward() -> Result<()> {
        let dev = Device::Cpu;
        let (b, h, t) = (2, 3, 5);
        let scores = Var::from_tensor(&Tensor::randn(0f32, 2.0, (b, h, t, t), &dev)?)?;
        let mask: Vec<Vec<u8>> = vec![vec![1, 1, 1, 1, 1], vec![0, 0, 1, 1, 1]];
        let (_, bias) = super::super::positions_and_bias(&mask, &dev)?;
        let upstream = Tensor::randn(0f32, 1.0, (b, h, t, t), &dev)?;
        let scale = 0.25;

        let fused = scaled_masked_softmax(scores.as_tensor(), &bias, scale)?;
        let reference = composed(scores.as_tensor(), &bias, scale)?;
        let diff = (&fused - &reference)?
            .abs()?
            .max_all()?
            .to_scalar::<f32>()?;
        assert!(diff < 1e-6, "forward differs by {diff}");

        let g_fused = (fused * &upstream)?.sum_all()?.backward()?;
        let g_ref = (reference * &upstream)?.sum_all()?.backward()?;
        let (a, r) = (
            g_fused.get(&scores).expect("fused grad"),
            g_ref.get(&scores).expect("reference grad"),
        );
        let diff = (a - r)?.abs()?.max_all()?.to_scalar::<f32>()?;
        assert!(diff < 1e-5, "gradient differs by {diff}");
        Ok(())
    }

    /// Heads stacked along time (grouped-query attention) read the bias row
    /// of their own position.
    #[test]
    fn grouped_layout_matches_per_head_softmax() -> Result<()> {
        let dev = Device::Cpu;
        let (b, g, rep, t) = (2, 2, 3, 5);
        let scores = Tensor::randn(0f32, 2.0, (b, g, rep * t, t), &dev)?;
        let mask: Vec<Vec<u8>> = vec![vec![1, 1, 1, 1, 1], vec![0, 0, 1, 1, 1]];
        let (_, bias) = super::super::positions_and_bias(&mask, &dev)?;
        let grouped = scaled_masked_softmax(&scores, &bias, 0.5)?;
        let per_head = composed(&scores.reshape((b, g * rep, t, t))?, &bias, 0.5)?.reshape((
            b,
            g,
            rep * t,
            t,
        ))?;
        let diff = (grouped - per_head)?
            .abs()?
            .flatten_all()?
            .max(0)?
            .to_scalar::<f32>()?;
        assert!(diff < 1e-6, "grouped layout differs by {diff}");
        Ok(())
    }

    #[test]
    fn rejects_a_bias_of_the_wrong_shape() {
        let dev = Device::Cpu;
        let scores = Tensor::zeros((1, 2, 3, 3), candle_core::DType::F32, &dev).unwrap();
        let bias = Tensor::zeros((1, 1, 3, 4), candle_core::DType::F32, &dev).unwrap();
        let err = scaled_masked_softmax(&scores, &bias, 1.0).unwrap_err();
        assert!(err.to_string().contains("attention bias"), "{err}");
    }
}
