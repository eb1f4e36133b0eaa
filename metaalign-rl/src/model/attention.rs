//! Fused grouped-query attention for the CPU: `softmax(scale·Q·Kᵀ + bias)·V`
//! as one graph node with its own backward.
//!
//! Composed from candle ops, the attention probabilities [B, H, T, S] — the
//! largest tensors of a training step — appear twice in the graph (scores
//! and probabilities), and candle's backward gives each a freshly zeroed
//! gradient plus an add. Here the forward keeps the probabilities for the
//! backward and nothing of that size enters the graph: one node maps
//! (Q, K, V) to the output, and its backward runs the five products of
//! attention's gradient block by block with the `gemm` crate.
//!
//! Layout: `q` [B, nh, T, hd], `k` and `v` [B, nkv, S, hd], `bias`
//! [B, 1, T, S]. The `nh / nkv` query heads sharing a KV head are
//! contiguous, so each (batch, KV head) block is one product of
//! [rep·T, hd] by [hd, S] (HF's `repeat_kv` order), and the key and value
//! gradients sum over those heads by construction.

use std::sync::{Arc, Mutex};

use candle_core::{CpuStorage, CustomOp1, CustomOp3, Layout, Result, Shape, Storage, Tensor, D};
use rayon::prelude::*;

use super::fused::{
    cpu_f32, f32_slice, matmul, open_lengths, softmax_backward_rows_in_place, softmax_rows,
};

/// `softmax(scale · q·kᵀ + bias) · v` over grouped heads; returns
/// [B, nh, T, hd]. Differentiable in `q`, `k` and `v` (the bias is a
/// constant mask). f32 on the CPU takes the fused op; other devices and
/// dtypes the composed form, which gives the same values (up to rounding).
pub fn attention(q: &Tensor, k: &Tensor, v: &Tensor, bias: &Tensor, scale: f64) -> Result<Tensor> {
    let (b, nh, t, hd) = q.dims4()?;
    let (bk, nkv, s, hdk) = k.dims4()?;
    if bk != b || hdk != hd || nkv == 0 || nh % nkv != 0 || v.dims() != k.dims() {
        candle_core::bail!(
            "attention: q {:?}, k {:?} and v {:?} do not fit",
            q.dims(),
            k.dims(),
            v.dims()
        );
    }
    if bias.dims() != [b, 1, t, s] {
        candle_core::bail!(
            "attention bias has shape {:?}, expected [{b}, 1, {t}, {s}]",
            bias.dims()
        );
    }
    if !cpu_f32(&[q, k, v, bias]) {
        return composed(q, k, v, bias, scale);
    }
    let op = Attention {
        bias: bias.contiguous()?,
        scale: scale as f32,
        probs: Mutex::new(None),
    };
    q.contiguous()?
        .apply_op3(&k.contiguous()?, &v.contiguous()?, op)
}

/// The same attention from candle ops (still over grouped heads, so no KV
/// head is copied).
fn composed(q: &Tensor, k: &Tensor, v: &Tensor, bias: &Tensor, scale: f64) -> Result<Tensor> {
    let (b, nh, t, hd) = q.dims4()?;
    let (_, nkv, s, _) = k.dims4()?;
    let rep = nh / nkv;
    let scores = q
        .contiguous()?
        .reshape((b, nkv, rep * t, hd))?
        .matmul(&k.contiguous()?.t()?)?
        .reshape((b, nh, t, s))?;
    let x = (scores * scale)?.broadcast_add(bias)?;
    // Without a graph to record (sampling, frozen scoring) candle's fused
    // kernel is right on every device; with one, the composed form.
    let p = if x.track_op() {
        candle_nn::ops::softmax(&x, D::Minus1)
    } else {
        candle_nn::ops::softmax_last_dim(&x)
    }?;
    p.reshape((b, nkv, rep * t, s))?
        .matmul(&v.contiguous()?)?
        .reshape((b, nh, t, hd))
}

/// Block sizes of one call.
#[derive(Clone, Copy)]
struct Dims {
    /// Batch, KV heads, query rows per block (rep·T), T, S, head dim.
    b: usize,
    nkv: usize,
    rows: usize,
    t: usize,
    s: usize,
    hd: usize,
}

impl Dims {
    fn of(q: &Layout, k: &Layout) -> Result<Self> {
        let (b, nh, t, hd) = q.shape().dims4()?;
        let (_, nkv, s, _) = k.shape().dims4()?;
        Ok(Dims {
            b,
            nkv,
            rows: nh / nkv.max(1) * t,
            t,
            s,
            hd,
        })
    }
}

/// Runs `f` on this thread's scratch buffer of `len` floats (stale values:
/// `f` overwrites it). Reusing it spares an allocation and a memset per
/// block.
fn with_scratch(len: usize, f: impl FnOnce(&mut [f32])) {
    thread_local! {
        static SCRATCH: std::cell::RefCell<Vec<f32>> = const { std::cell::RefCell::new(Vec::new()) };
    }
    SCRATCH.with(|cell| match cell.try_borrow_mut() {
        Ok(mut buf) => {
            if buf.len() < len {
                buf.resize(len, 0.0);
            }
            f(&mut buf[..len]);
        }
        // Re-entered on this thread (a nested rayon task): a fresh buffer.
        Err(_) => f(&mut vec![0f32; len]),
    });
}

/// The bias's f32 data (contiguous, made so by [`attention`]).
fn with_bias<R>(bias: &Tensor, f: impl FnOnce(&[f32]) -> Result<R>) -> Result<R> {
    let (storage, layout) = bias.storage_and_layout();
    let Storage::Cpu(cpu) = &*storage else {
        candle_core::bail!("attention: the bias is not on the CPU");
    };
    f(f32_slice(cpu, layout, "attention bias")?)
}

struct Attention {
    bias: Tensor,
    scale: f32,
    /// The probabilities [B, nkv, rep·T, S], kept by the forward for the
    /// backward.
    probs: Mutex<Option<Arc<Vec<f32>>>>,
}

impl CustomOp3 for Attention {
    fn name(&self) -> &'static str {
        "grouped-attention"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
        s3: &CpuStorage,
        l3: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let q = f32_slice(s1, l1, "attention q")?;
        let k = f32_slice(s2, l2, "attention k")?;
        let v = f32_slice(s3, l3, "attention v")?;
        let d = Dims::of(l1, l2)?;
        let (rows, s, hd) = (d.rows, d.s, d.hd);
        let mut probs = vec![0f32; d.b * d.nkv * rows * s];
        let mut out = vec![0f32; q.len()];
        with_bias(&self.bias, |bias| {
            let open = open_lengths(bias, s);
            out.par_chunks_mut(rows * hd)
                .zip(probs.par_chunks_mut(rows * s))
                .enumerate()
                .for_each(|(block, (y, p))| {
                    let (kv, qb) = (block * s * hd, block * rows * hd);
                    let (k, v) = (&k[kv..][..s * hd], &v[kv..][..s * hd]);
                    with_scratch(rows * s, |scores| {
                        // scores = Q · Kᵀ
                        matmul(
                            (rows, s, hd),
                            scores,
                            &q[qb..][..rows * hd],
                            (hd, 1),
                            k,
                            (1, hd),
                            false,
                            false,
                        );
                        let row = (block / d.nkv) * d.t;
                        let bias = &bias[row * s..][..d.t * s];
                        softmax_rows(p, scores, bias, &open[row..][..d.t], s, self.scale);
                    });
                    // y = P · V
                    matmul((rows, hd, s), y, p, (s, 1), v, (hd, 1), false, false);
                });
            Ok(())
        })?;
        *self.probs.lock().unwrap_or_else(|e| e.into_inner()) = Some(Arc::new(probs));
        Ok((CpuStorage::F32(out), l1.shape().clone()))
    }

    fn bwd(
        &self,
        q: &Tensor,
        k: &Tensor,
        v: &Tensor,
        _res: &Tensor,
        grad: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        let probs = self
            .probs
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
            .ok_or_else(|| candle_core::Error::Msg("attention backward before forward".into()))?;
        let all = grad.contiguous()?.apply_op1_no_bwd(&AttentionBackward {
            q: q.clone(),
            k: k.clone(),
            v: v.clone(),
            probs,
            scale: self.scale,
        })?;
        let (nq, nk) = (q.elem_count(), k.elem_count());
        let dq = all.narrow(0, 0, nq)?.reshape(q.dims())?;
        let dk = all.narrow(0, nq, nk)?.reshape(k.dims())?;
        let dv = all.narrow(0, nq + nk, nk)?.reshape(v.dims())?;
        Ok((Some(dq), Some(dk), Some(dv)))
    }
}

/// The gradients of [`Attention`] for the incoming gradient of its output,
/// flattened one after the other: dQ, dK, dV.
struct AttentionBackward {
    q: Tensor,
    k: Tensor,
    v: Tensor,
    probs: Arc<Vec<f32>>,
    scale: f32,
}

impl CustomOp1 for AttentionBackward {
    fn name(&self) -> &'static str {
        "grouped-attention-backward"
    }

    fn cpu_fwd(&self, s: &CpuStorage, l: &Layout) -> Result<(CpuStorage, Shape)> {
        let dy = f32_slice(s, l, "attention gradient")?;
        let (qs, ql) = self.q.storage_and_layout();
        let (ks, kl) = self.k.storage_and_layout();
        let (vs, vl) = self.v.storage_and_layout();
        let (Storage::Cpu(qs), Storage::Cpu(ks), Storage::Cpu(vs)) = (&*qs, &*ks, &*vs) else {
            candle_core::bail!("attention backward: inputs are not on the CPU");
        };
        let q = f32_slice(qs, ql, "attention q")?;
        let k = f32_slice(ks, kl, "attention k")?;
        let v = f32_slice(vs, vl, "attention v")?;
        let d = Dims::of(ql, kl)?;
        let (rows, s, hd) = (d.rows, d.s, d.hd);
        if dy.len() != q.len() || self.probs.len() != d.b * d.nkv * rows * s {
            candle_core::bail!("attention backward: gradient or saved probabilities mis-sized");
        }
        let mut all = vec![0f32; q.len() + 2 * k.len()];
        let (dq, dkv) = all.split_at_mut(q.len());
        let (dk, dv) = dkv.split_at_mut(k.len());
        dq.par_chunks_mut(rows * hd)
            .zip(dk.par_chunks_mut(s * hd))
            .zip(dv.par_chunks_mut(s * hd))
            .zip(self.probs.par_chunks(rows * s))
            .enumerate()
            .for_each(|(block, (((dq, dk), dv), p))| {
                let (kv, qb) = (block * s * hd, block * rows * hd);
                let (k, v) = (&k[kv..][..s * hd], &v[kv..][..s * hd]);
                let (q, dy) = (&q[qb..][..rows * hd], &dy[qb..][..rows * hd]);
                // dV = Pᵀ · dY
                matmul((s, hd, rows), dv, p, (1, s), dy, (hd, 1), false, false);
                // dP = dY · Vᵀ, then dS = scale · P ⊙ (dP − rowsum(dP ⊙ P))
                with_scratch(rows * s, |ds| {
                    matmul((rows, s, hd), ds, dy, (hd, 1), v, (1, hd), false, false);
                    softmax_backward_rows_in_place(ds, p, s, self.scale);
                    // dQ = dS · K, dK = dSᵀ · Q
                    matmul((rows, hd, s), dq, ds, (s, 1), k, (hd, 1), false, false);
                    matmul((s, hd, rows), dk, ds, (1, s), q, (hd, 1), false, false);
                });
            });
        Ok((CpuStorage::F32(all), Shape::from(q.len() + 2 * k.len())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::{DType, Device, Var};

    fn max_diff(a: &Tensor, b: &Tensor) -> f32 {
        (a - b)
            .and_then(|d| d.abs()?.flatten_all()?.max(0)?.to_scalar::<f32>())
            .unwrap()
    }

    #[test]
    fn matches_the_composed_form_forward_and_backward() -> Result<()> {
        let dev = Device::Cpu;
        let (b, nh, nkv, t, hd) = (2, 6, 2, 5, 4);
        let var = |dims: (usize, usize, usize, usize)| -> Result<Var> {
            Var::from_tensor(&Tensor::randn(0f32, 1.0, dims, &dev)?)
        };
        let (q, k, v) = (
            var((b, nh, t, hd))?,
            var((b, nkv, t, hd))?,
            var((b, nkv, t, hd))?,
        );
        // The second row is left-padded by two positions.
        let mask: Vec<Vec<u8>> = vec![vec![1, 1, 1, 1, 1], vec![0, 0, 1, 1, 1]];
        let (_, bias) = super::super::positions_and_bias(&mask, &dev)?;
        let scale = 0.5;
        let fused = attention(&q, &k, &v, &bias, scale)?;
        let reference = composed(&q, &k, &v, &bias, scale)?;
        let diff = max_diff(&fused, &reference);
        assert!(diff < 1e-5, "forward differs by {diff}");
        // Off the fused op's domain (here f64) `attention` is the composed
        // form. Compared on the unpadded first row: padding rows are fully
        // masked, uniform in f32 but not in f64 (the -1e9 mask no longer
        // swallows the scores), and no loss reads them.
        let f64s = |t: &Tensor| t.to_dtype(DType::F64);
        let wide = attention(&f64s(&q)?, &f64s(&k)?, &f64s(&v)?, &f64s(&bias)?, scale)?;
        let diff = max_diff(
            &wide.to_dtype(DType::F32)?.narrow(0, 0, 1)?,
            &reference.narrow(0, 0, 1)?,
        );
        assert!(diff < 1e-5, "f64 fallback differs by {diff}");
        let upstream = Tensor::randn(0f32, 1.0, fused.dims(), &dev)?;
        let gf = (fused * &upstream)?.sum_all()?.backward()?;
        let gr = (reference * &upstream)?.sum_all()?.backward()?;
        for (name, x) in [("q", &q), ("k", &k), ("v", &v)] {
            let diff = max_diff(
                gf.get(x).expect("fused grad"),
                gr.get(x).expect("reference grad"),
            );
            assert!(diff < 1e-4, "gradient of {name} differs by {diff}");
        }
        Ok(())
    }

    #[test]
    fn mismatched_shapes_are_refused() {
        let dev = Device::Cpu;
        let z = |d: (usize, usize, usize, usize)| {
            Tensor::zeros(d, candle_core::DType::F32, &dev).unwrap()
        };
        let e = attention(
            &z((1, 3, 2, 4)),
            &z((1, 2, 2, 4)),
            &z((1, 2, 2, 4)),
            &z((1, 1, 2, 2)),
            1.0,
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("do not fit"), "{e}");
        let e = attention(
            &z((1, 2, 2, 4)),
            &z((1, 2, 2, 4)),
            &z((1, 2, 2, 4)),
            &z((1, 1, 2, 3)),
            1.0,
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("attention bias"), "{e}");
    }
}
