//! `x · wᵀ` with a frozen bf16 / f16 weight and f32 activations, on the CPU.
//!
//! A frozen base (the weights under a LoRA adapter, or a model that only
//! samples) is kept in half precision: half the memory of f32. The maths
//! stays in f32: the weight is widened a block of rows at a time into a
//! buffer that stays in cache, and the block's product runs in the same
//! GEMM as the f32 path. Blocks run in parallel and each writes its own
//! rows of `yᵀ`, so no thread shares an output. Decoding, where a step
//! reads every weight once, moves half the bytes of f32 weights.
//!
//! The weight never gets a gradient (it is frozen by construction); the
//! backward gives `dx = g · w`, widening column blocks of `w` the same way.

use candle_core::{CpuStorage, CustomOp2, Layout, Result, Shape, Tensor};
use half::slice::HalfFloatSliceExt;
use rayon::prelude::*;

use super::fused::{f32_slice, matmul};

/// Weight elements widened per block: 128 KiB of f32, cache-resident.
const BLOCK_ELEMS: usize = 32 * 1024;

/// A contiguous bf16 / f16 weight's elements, widened on demand.
enum HalfSlice<'a> {
    Bf16(&'a [half::bf16]),
    F16(&'a [half::f16]),
}

impl<'a> HalfSlice<'a> {
    fn new(storage: &'a CpuStorage, layout: &Layout) -> Result<Self> {
        let Some((start, end)) = layout.contiguous_offsets() else {
            candle_core::bail!("half linear: expected a contiguous weight");
        };
        Ok(match storage {
            CpuStorage::BF16(d) => HalfSlice::Bf16(&d[start..end]),
            CpuStorage::F16(d) => HalfSlice::F16(&d[start..end]),
            _ => candle_core::bail!("half linear: expected a bf16 or f16 weight"),
        })
    }

    /// Widens elements `start..start + out.len()` into `out`.
    fn widen(&self, start: usize, out: &mut [f32]) {
        let end = start + out.len();
        match self {
            HalfSlice::Bf16(d) => d[start..end].convert_to_f32_slice(out),
            HalfSlice::F16(d) => d[start..end].convert_to_f32_slice(out),
        }
    }
}

/// `out[j, i] = src[i, j]` for `src` `[rows, cols]`.
fn transpose(src: &[f32], rows: usize, cols: usize) -> Vec<f32> {
    let mut out = vec![0f32; src.len()];
    if rows == 1 || cols == 1 {
        out.copy_from_slice(src);
        return out;
    }
    const T: usize = 32;
    out.par_chunks_mut(T * rows)
        .enumerate()
        .for_each(|(cb, dst)| {
            let c0 = cb * T;
            let c1 = (c0 + T).min(cols);
            for r in 0..rows {
                for c in c0..c1 {
                    dst[(c - c0) * rows + r] = src[r * cols + c];
                }
            }
        });
    out
}

/// `x · wᵀ` over the last dimension of `x` (f32, any leading dimensions),
/// `w` a frozen bf16 / f16 `[out, in]` weight on the CPU.
pub(crate) fn half_linear(x: &Tensor, w: &Tensor) -> Result<Tensor> {
    x.contiguous()?.apply_op2(&w.contiguous()?, HalfLinear)
}

struct HalfLinear;

impl CustomOp2 for HalfLinear {
    fn name(&self) -> &'static str {
        "half-linear"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let x = f32_slice(s1, l1, "half linear input")?;
        let w = HalfSlice::new(s2, l2)?;
        let (out, inp) = l2.shape().dims2()?;
        let rows = x.len() / inp.max(1);
        let mut dims = l1.shape().dims().to_vec();
        if let Some(last) = dims.last_mut() {
            *last = out;
        }
        if rows == 0 || out == 0 {
            return Ok((CpuStorage::F32(vec![0f32; rows * out]), Shape::from(dims)));
        }
        // yᵀ [out, rows], a block of weight rows at a time.
        let block = (BLOCK_ELEMS / inp.max(1)).clamp(1, out.max(1));
        let mut yt = vec![0f32; out * rows];
        yt.par_chunks_mut(block * rows)
            .enumerate()
            .for_each(|(bi, dst)| {
                let o0 = bi * block;
                let n = dst.len() / rows.max(1);
                let mut wf = vec![0f32; n * inp];
                w.widen(o0 * inp, &mut wf);
                // yᵀ[o0.., :] = w[o0.., :] · xᵀ
                matmul(
                    (n, rows, inp),
                    dst,
                    &wf,
                    (inp, 1),
                    x,
                    (1, inp),
                    false,
                    false,
                );
            });
        let y = transpose(&yt, out, rows);
        Ok((CpuStorage::F32(y), Shape::from(dims)))
    }

    fn bwd(
        &self,
        x: &Tensor,
        w: &Tensor,
        _res: &Tensor,
        grad: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>)> {
        if w.track_op() {
            candle_core::bail!(
                "a bf16 / f16 weight is frozen and cannot be trained; train an adapter, or load the weights in f32"
            );
        }
        let dx = x
            .track_op()
            .then(|| {
                grad.contiguous()?
                    .apply_op2_no_bwd(w, &HalfLinearInputGrad)?
                    .reshape(x.dims())
            })
            .transpose()?;
        Ok((dx, None))
    }
}

/// `dx = g · w` for `g` `[.., out]` (f32) and the half weight `[out, in]`.
struct HalfLinearInputGrad;

impl CustomOp2 for HalfLinearInputGrad {
    fn name(&self) -> &'static str {
        "half-linear-input-grad"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let g = f32_slice(s1, l1, "half linear gradient")?;
        let w = HalfSlice::new(s2, l2)?;
        let (out, inp) = l2.shape().dims2()?;
        let rows = g.len() / out.max(1);
        let mut dims = l1.shape().dims().to_vec();
        if let Some(last) = dims.last_mut() {
            *last = inp;
        }
        if rows == 0 || inp == 0 {
            return Ok((CpuStorage::F32(vec![0f32; rows * inp]), Shape::from(dims)));
        }
        // dxᵀ [in, rows], a block of weight columns at a time.
        let block = (BLOCK_ELEMS / out.max(1)).clamp(1, inp.max(1));
        let mut dxt = vec![0f32; inp * rows];
        dxt.par_chunks_mut(block * rows)
            .enumerate()
            .for_each(|(bi, dst)| {
                let i0 = bi * block;
                let n = dst.len() / rows.max(1);
                // w[:, i0..i0 + n] widened, [out, n].
                let mut wf = vec![0f32; out * n];
                for (o, row) in wf.chunks_exact_mut(n).enumerate() {
                    w.widen(o * inp + i0, row);
                }
                // dxᵀ[i0.., :] = w[:, i0..]ᵀ · gᵀ
                matmul((n, rows, out), dst, &wf, (1, n), g, (1, out), false, false);
            });
        let dx = transpose(&dxt, inp, rows);
        Ok((CpuStorage::F32(dx), Shape::from(dims)))
    }
}

#[cfg(test)]
mod tests {
    use candle_core::{DType, Device, Var};

    use super::*;

    fn close(a: &Tensor, b: &Tensor) -> f32 {
        (a - b)
            .unwrap()
            .abs()
            .unwrap()
            .flatten_all()
            .unwrap()
            .max(0)
            .unwrap()
            .to_scalar::<f32>()
            .unwrap()
    }

    /// Same values and input gradient as the f32 product of the widened
    /// weight, for shapes that leave partial blocks.
    #[test]
    fn equals_the_f32_product_of_the_widened_weight() {
        let dev = Device::Cpu;
        for dtype in [DType::BF16, DType::F16] {
            for (rows, out, inp) in [(1, 7, 5), (3, 300, 130), (37, 1100, 40)] {
                let w = Tensor::randn(0f32, 0.5, (out, inp), &dev)
                    .unwrap()
                    .to_dtype(dtype)
                    .unwrap();
                let wf = w.to_dtype(DType::F32).unwrap();
                let x = Var::from_tensor(&Tensor::randn(0f32, 1.0, (rows, 2, inp), &dev).unwrap())
                    .unwrap();
                let y = half_linear(x.as_tensor(), &w).unwrap();
                let want = x.as_tensor().broadcast_matmul(&wf.t().unwrap()).unwrap();
                assert_eq!(y.dims(), want.dims());
                assert!(close(&y, &want) < 1e-4, "{dtype:?} {rows}x{out}x{inp}");
                let probe = Tensor::randn(0f32, 1.0, y.dims(), &dev).unwrap();
                let grads = (y * &probe).unwrap().sum_all().unwrap().backward().unwrap();
                let dx = grads.get(x.as_tensor()).unwrap();
                let want_dx = probe.broadcast_matmul(&wf).unwrap();
                assert!(
                    close(dx, &want_dx) < 1e-4,
                    "dx {dtype:?} {rows}x{out}x{inp}"
                );
            }
        }
    }

    #[test]
    fn a_trainable_half_weight_is_refused() {
        let dev = Device::Cpu;
        let w = Var::from_tensor(
            &Tensor::ones((4, 3), DType::F32, &dev)
                .unwrap()
                .to_dtype(DType::BF16)
                .unwrap(),
        )
        .unwrap();
        let x = Tensor::ones((2, 3), DType::F32, &dev).unwrap();
        let y = half_linear(&x, w.as_tensor()).unwrap();
        let e = y.sum_all().unwrap().backward().unwrap_err().to_string();
        assert!(e.contains("frozen"), "{e}");
    }
}
