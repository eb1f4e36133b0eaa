//! `x · wᵀ` with a frozen bf16 / f16 weight and f32 activations, on the CPU.
//!
//! A frozen base (the weights under a LoRA adapter, or a model that only
//! samples) is kept in half precision: half the memory of f32. The maths
//! stays in f32, two ways:
//! - few rows (decoding): each weight row is widened once into a buffer
//!   that stays in L1 and dotted with every input row; blocks of weight rows
//!   run in parallel. A decoding step reads half the bytes of f32 weights.
//! - many rows (prefill, training): a block of weight rows is widened (in
//!   parallel) into a cache-sized buffer and multiplied by the same GEMM as
//!   the f32 path, straight into the block's columns of the output.
//!
//! The weight never gets a gradient (it is frozen by construction); the
//! backward gives `dx = g · w`, widening column blocks of `w` the same way.

use candle_core::{CpuStorage, CustomOp2, Layout, Result, Shape, Tensor};
use half::slice::HalfFloatSliceExt;
use rayon::prelude::*;

use super::fused::{f32_slice, matmul_strided};
use super::simd;

/// Up to this many input rows, the weight rows are dotted one at a time.
const FEW_ROWS: usize = 16;
/// Weight rows per parallel task on the few-rows path.
const GEMV_BLOCK: usize = 64;
/// Weight elements widened per GEMM block (4 MiB of f32).
const BLOCK_ELEMS: usize = 1 << 20;

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

    /// Widens rows `r0..r0 + out.len() / cols` of the `[_, cols]` matrix
    /// into `out`, in parallel.
    fn widen_rows(&self, r0: usize, cols: usize, out: &mut [f32]) {
        let per_task = (BLOCK_ELEMS / 16 / cols.max(1)).max(1) * cols;
        out.par_chunks_mut(per_task)
            .enumerate()
            .for_each(|(i, chunk)| self.widen(r0 * cols + i * per_task, chunk));
    }
}

/// `yt[j, r] = w[j0 + j] · x[r]` for the weight rows of one block (`yt`
/// holds `rows` values per weight row).
fn dot_rows(yt: &mut [f32], w: &HalfSlice, j0: usize, x: &[f32], rows: usize, inp: usize) {
    #[cfg(target_arch = "x86_64")]
    if simd::has_avx2_fma() && std::arch::is_x86_feature_detected!("f16c") {
        // SAFETY: the CPU has AVX2, FMA and F16C (checked just above); the
        // kernel reads `inp` elements of each weight row of the block and of
        // each input row, which the slices hold (checked by `dot_rows_avx2`).
        unsafe { dot_rows_avx2(yt, w, j0, x, rows, inp) };
        return;
    }
    let mut buf = vec![0f32; inp];
    for (j, out) in yt.chunks_exact_mut(rows).enumerate() {
        w.widen((j0 + j) * inp, &mut buf);
        for (r, o) in out.iter_mut().enumerate() {
            *o = simd::dot(&buf, &x[r * inp..(r + 1) * inp]);
        }
    }
}

/// [`dot_rows`] with the widening in registers: eight weights are loaded,
/// widened and multiplied into up to four input rows' accumulators at
/// once, so the widened row is never written to memory.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn dot_rows_avx2(
    yt: &mut [f32],
    w: &HalfSlice,
    j0: usize,
    x: &[f32],
    rows: usize,
    inp: usize,
) {
    use std::arch::x86_64::*;
    let (bits, bf16) = match w {
        HalfSlice::Bf16(d) => (d.as_ptr() as *const u16, true),
        HalfSlice::F16(d) => (d.as_ptr() as *const u16, false),
    };
    let len = match w {
        HalfSlice::Bf16(d) => d.len(),
        HalfSlice::F16(d) => d.len(),
    };
    let nj = yt.len() / rows.max(1);
    assert!(
        (j0 + nj) * inp <= len && rows * inp <= x.len(),
        "dot_rows out of bounds"
    );
    let widen8 = |p: *const u16| -> __m256 {
        let h = _mm_loadu_si128(p as *const __m128i);
        if bf16 {
            _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16))
        } else {
            _mm256_cvtph_ps(h)
        }
    };
    let widen1 = |b: u16| -> f32 {
        if bf16 {
            f32::from_bits(u32::from(b) << 16)
        } else {
            half::f16::from_bits(b).to_f32()
        }
    };
    let hsum = |v: __m256| -> f32 {
        let s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
        let s = _mm_add_ps(s, _mm_movehl_ps(s, s));
        let s = _mm_add_ss(s, _mm_shuffle_ps(s, s, 1));
        _mm_cvtss_f32(s)
    };
    let whole = inp / 8 * 8;
    for j in 0..nj {
        let wrow = bits.add((j0 + j) * inp);
        let mut r0 = 0;
        while r0 < rows {
            let g = (rows - r0).min(4);
            let xr = |r: usize| x.as_ptr().add((r0 + r.min(g - 1)) * inp);
            let (x0, x1, x2, x3) = (xr(0), xr(1), xr(2), xr(3));
            let mut acc = [_mm256_setzero_ps(); 4];
            let mut k = 0;
            while k < whole {
                let wv = widen8(wrow.add(k));
                acc[0] = _mm256_fmadd_ps(wv, _mm256_loadu_ps(x0.add(k)), acc[0]);
                acc[1] = _mm256_fmadd_ps(wv, _mm256_loadu_ps(x1.add(k)), acc[1]);
                acc[2] = _mm256_fmadd_ps(wv, _mm256_loadu_ps(x2.add(k)), acc[2]);
                acc[3] = _mm256_fmadd_ps(wv, _mm256_loadu_ps(x3.add(k)), acc[3]);
                k += 8;
            }
            for (r, a) in acc.iter().enumerate().take(g) {
                let mut sum = hsum(*a);
                let xrow = xr(r);
                for k in whole..inp {
                    sum += widen1(*wrow.add(k)) * *xrow.add(k);
                }
                yt[j * rows + r0 + r] = sum;
            }
            r0 += g;
        }
    }
}

/// `out[j, i] = src[i, j]` for `src` `[rows, cols]` with few rows.
fn transpose(src: &[f32], rows: usize, cols: usize) -> Vec<f32> {
    let mut out = vec![0f32; src.len()];
    for (j, dst) in out.chunks_exact_mut(rows.max(1)).enumerate().take(cols) {
        for (i, d) in dst.iter_mut().enumerate() {
            *d = src[i * cols + j];
        }
    }
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
        let y = if rows <= FEW_ROWS {
            // yᵀ [out, rows], blocks of weight rows in parallel.
            let mut yt = vec![0f32; out * rows];
            yt.par_chunks_mut(GEMV_BLOCK * rows)
                .enumerate()
                .for_each(|(bi, dst)| dot_rows(dst, &w, bi * GEMV_BLOCK, x, rows, inp));
            transpose(&yt, out, rows)
        } else {
            let mut y = vec![0f32; rows * out];
            let block = (BLOCK_ELEMS / inp.max(1)).clamp(1, out);
            let mut wf = vec![0f32; block * inp];
            for o0 in (0..out).step_by(block) {
                let n = block.min(out - o0);
                let wf = &mut wf[..n * inp];
                w.widen_rows(o0, inp, wf);
                // y[:, o0..o0 + n] = x · w[o0.., :]ᵀ
                matmul_strided(
                    (rows, n, inp),
                    (&mut y[o0..], out),
                    x,
                    (inp, 1),
                    wf,
                    (1, inp),
                    false,
                    true,
                );
            }
            y
        };
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
        let mut dx = vec![0f32; rows * inp];
        let block = (BLOCK_ELEMS / out.max(1)).clamp(1, inp);
        let mut wf = vec![0f32; out * block];
        for i0 in (0..inp).step_by(block) {
            let n = block.min(inp - i0);
            // w[:, i0..i0 + n] widened, [out, n].
            let wf = &mut wf[..out * n];
            wf.par_chunks_mut(n * 64)
                .enumerate()
                .for_each(|(c, chunk)| {
                    for (o, row) in chunk.chunks_exact_mut(n).enumerate() {
                        w.widen((c * 64 + o) * inp + i0, row);
                    }
                });
            // dx[:, i0..i0 + n] = g · w[:, i0..i0 + n]
            matmul_strided(
                (rows, n, out),
                (&mut dx[i0..], inp),
                g,
                (out, 1),
                wf,
                (n, 1),
                false,
                true,
            );
        }
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
            for (rows, out, inp) in [(1, 7, 5), (3, 300, 130), (37, 1100, 40), (20, 300, 5000)] {
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
