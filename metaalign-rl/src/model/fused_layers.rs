//! Fused, differentiable RMSNorm, rotary embedding and SwiGLU for the CPU.
//!
//! Written with candle's tensor ops, each of these is a chain of graph nodes
//! (RMSNorm: square, mean, add, sqrt, two broadcasts, divide, multiply), and
//! candle's backward pays for every node: it computes a gradient for each
//! argument — constants such as the rotary tables included — and adds it
//! into a freshly zeroed tensor. Profiling the ~10M preset's training step
//! put a sixth of it there. Here each layer is one node whose backward
//! computes exactly the gradients needed, in one or two passes.
//!
//! Only f32 tensors on the CPU take the fused path; other devices and dtypes
//! use the composed form, which gives the same values (up to rounding).

use candle_core::{CpuStorage, CustomOp2, CustomOp3, DType, Layout, Result, Shape, Tensor, D};
use rayon::prelude::*;

use super::fused::{cpu_f32, f32_slice, matmul, u32_slice};
use super::simd::{self, multiversion, sigmoid};

/// Rows handled per parallel task: enough work to amortize a rayon task.
fn rows_per_task(width: usize) -> usize {
    (16_384 / width.max(1)).max(1)
}

// ----------------------------------------------------------------- Linear

/// `x · wᵀ (+ b)` over the last dimension of `x` (any leading dimensions),
/// differentiable in `x`, `w` and `b`. `w` is `[out, in]`, `b` `[out]`.
///
/// Composed, this is a reshape, a transpose, a matmul, a broadcast, an add
/// and a reshape — six nodes, each paying a zeroed gradient and an add over
/// activations in the backward. Fused, it is one node: the forward is one
/// GEMM (writing onto the bias rows) and the backward two matmuls and a sum.
pub fn linear(x: &Tensor, w: &Tensor, b: Option<&Tensor>) -> Result<Tensor> {
    let (out, inp) = w.dims2()?;
    let dims = x.dims().to_vec();
    if dims.last() != Some(&inp) || b.is_some_and(|b| b.dims() != [out]) {
        candle_core::bail!(
            "linear: input {:?}, weight {:?} and bias {:?} do not fit",
            dims,
            w.dims(),
            b.map(Tensor::dims)
        );
    }
    if matches!(w.dtype(), DType::BF16 | DType::F16) {
        return linear_half_weight(x, w, b);
    }
    let mut all = vec![x, w];
    all.extend(b);
    if !cpu_f32(&all) {
        let rows: usize = dims[..dims.len() - 1].iter().product();
        let mut y = x.reshape((rows, inp))?.matmul(&w.t()?)?;
        if let Some(b) = b {
            y = y.broadcast_add(b)?;
        }
        let mut out_dims = dims;
        *out_dims.last_mut().expect("checked above") = out;
        return y.reshape(out_dims);
    }
    let (x, w) = (x.contiguous()?, w.contiguous()?);
    match b {
        Some(b) => x.apply_op3(&w, &b.contiguous()?, Linear),
        None => x.apply_op2(&w, Linear),
    }
}

/// [`linear`] with a frozen bf16 / f16 weight: on the CPU with f32
/// activations, [`super::half_linear`]; elsewhere (a GPU) the product runs
/// in the weight's dtype, the activations converted to it and back.
fn linear_half_weight(x: &Tensor, w: &Tensor, b: Option<&Tensor>) -> Result<Tensor> {
    let y = if x.device().is_cpu() && x.dtype() == DType::F32 {
        super::half_linear::half_linear(x, w)?
    } else {
        let dims = x.dims();
        let (out, inp) = w.dims2()?;
        let rows: usize = dims[..dims.len() - 1].iter().product();
        let mut out_dims = dims.to_vec();
        *out_dims.last_mut().expect("checked by the caller") = out;
        x.reshape((rows, inp))?
            .to_dtype(w.dtype())?
            .matmul(&w.t()?)?
            .to_dtype(x.dtype())?
            .reshape(out_dims)?
    };
    match b {
        Some(b) => y.broadcast_add(&b.to_dtype(y.dtype())?),
        None => Ok(y),
    }
}

struct Linear;

impl Linear {
    fn forward(
        x: &[f32],
        xl: &Layout,
        w: &[f32],
        wl: &Layout,
        bias: Option<&[f32]>,
    ) -> Result<(CpuStorage, Shape)> {
        let (out, inp) = wl.shape().dims2()?;
        let rows = x.len() / inp.max(1);
        let mut y = match bias {
            Some(b) => {
                let mut y = Vec::with_capacity(rows * out);
                for _ in 0..rows {
                    y.extend_from_slice(b);
                }
                y
            }
            None => vec![0f32; rows * out],
        };
        // y (+)= x · wᵀ, wᵀ read from w with row stride 1, column stride inp.
        matmul(
            (rows, out, inp),
            &mut y,
            x,
            (inp, 1),
            w,
            (1, inp),
            bias.is_some(),
            true,
        );
        let mut dims = xl.shape().dims().to_vec();
        if let Some(last) = dims.last_mut() {
            *last = out;
        }
        Ok((CpuStorage::F32(y), Shape::from(dims)))
    }

    /// `(dx, dw, db)` for the incoming gradient `grad` (shaped like the
    /// output), each only for an argument that tracks gradients: a frozen
    /// weight (a LoRA base) gets no weight-sized gradient.
    fn backward(
        x: &Tensor,
        w: &Tensor,
        b: Option<&Tensor>,
        grad: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        let (out, inp) = w.dims2()?;
        let rows = grad.elem_count() / out.max(1);
        let g = grad.contiguous()?.reshape((rows, out))?;
        let dx = x
            .track_op()
            .then(|| g.matmul(&w.detach())?.reshape(x.dims()))
            .transpose()?;
        let dw = w
            .track_op()
            .then(|| g.t()?.matmul(&x.detach().reshape((rows, inp))?))
            .transpose()?;
        // candle's sum over the first axis walks it with a stride (it was
        // 8% of a training step); this sums the rows in one pass.
        let db = b
            .is_some_and(Tensor::track_op)
            .then(|| g.apply_op1_no_bwd(&SumRows))
            .transpose()?;
        Ok((dx, dw, db))
    }
}

/// Column sums of a [rows, n] matrix: [n].
struct SumRows;

impl candle_core::CustomOp1 for SumRows {
    fn name(&self) -> &'static str {
        "sum-rows"
    }

    fn cpu_fwd(&self, s: &CpuStorage, l: &Layout) -> Result<(CpuStorage, Shape)> {
        let g = f32_slice(s, l, "linear bias gradient")?;
        let n = l.shape().dims().last().copied().unwrap_or(1).max(1);
        let mut acc = vec![0f32; n];
        add_rows(&mut acc, g);
        Ok((CpuStorage::F32(acc), Shape::from(n)))
    }
}

impl CustomOp2 for Linear {
    fn name(&self) -> &'static str {
        "linear"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let x = f32_slice(s1, l1, "linear input")?;
        let w = f32_slice(s2, l2, "linear weight")?;
        Self::forward(x, l1, w, l2, None)
    }

    fn bwd(
        &self,
        x: &Tensor,
        w: &Tensor,
        _res: &Tensor,
        grad: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>)> {
        let (dx, dw, _) = Self::backward(x, w, None, grad)?;
        Ok((dx, dw))
    }
}

impl CustomOp3 for Linear {
    fn name(&self) -> &'static str {
        "linear-with-bias"
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
        let x = f32_slice(s1, l1, "linear input")?;
        let w = f32_slice(s2, l2, "linear weight")?;
        let b = f32_slice(s3, l3, "linear bias")?;
        Self::forward(x, l1, w, l2, Some(b))
    }

    fn bwd(
        &self,
        x: &Tensor,
        w: &Tensor,
        b: &Tensor,
        _res: &Tensor,
        grad: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        Self::backward(x, w, Some(b), grad)
    }
}

// ---------------------------------------------------------------- RMSNorm

// Row kernels: compiled for AVX2 + FMA too (see `simd::multiversion!`).

multiversion! {
    /// `acc += Σ rows of g` (rows of `acc.len()`).
    fn add_rows(acc: &mut [f32], g: &[f32]) {
        for row in g.chunks_exact(acc.len().max(1)) {
            for (a, &v) in acc.iter_mut().zip(row) {
                *a += v;
            }
        }
    }
}

multiversion! {
    fn rms_norm_rows(out: &mut [f32], x: &[f32], w: &[f32], eps: f32) {
        let n = w.len().max(1);
        for (y, x) in out.chunks_exact_mut(n).zip(x.chunks_exact(n)) {
            let r = inv_rms(x, eps);
            for ((y, &x), &w) in y.iter_mut().zip(x).zip(w) {
                *y = x * r * w;
            }
        }
    }
}

multiversion! {
    fn rms_norm_grad_input_rows(out: &mut [f32], x: &[f32], w: &[f32], g: &[f32], eps: f32) {
        let n = w.len().max(1);
        for ((dx, x), g) in out
            .chunks_exact_mut(n)
            .zip(x.chunks_exact(n))
            .zip(g.chunks_exact(n))
        {
            let r = inv_rms(x, eps);
            // dx holds g·w for a moment.
            for ((dx, &g), &w) in dx.iter_mut().zip(g).zip(w) {
                *dx = g * w;
            }
            let c = r * r * r * simd::dot(x, dx) / n as f32;
            for (dx, &x) in dx.iter_mut().zip(x) {
                *dx = r * *dx - x * c;
            }
        }
    }
}

multiversion! {
    fn rms_norm_grad_weight_rows(acc: &mut [f32], x: &[f32], g: &[f32], eps: f32) {
        let n = acc.len().max(1);
        for (x, g) in x.chunks_exact(n).zip(g.chunks_exact(n)) {
            let r = inv_rms(x, eps);
            for ((a, &x), &g) in acc.iter_mut().zip(x).zip(g) {
                *a += g * x * r;
            }
        }
    }
}

/// `x / sqrt(mean(x², last dim) + eps) * w`, differentiable in `x` and `w`.
pub fn rms_norm(x: &Tensor, w: &Tensor, eps: f64) -> Result<Tensor> {
    if !cpu_f32(&[x, w]) {
        let ms = x.sqr()?.mean_keepdim(D::Minus1)?;
        let denom = (ms + eps)?.sqrt()?;
        return x.broadcast_div(&denom)?.broadcast_mul(w);
    }
    let n = x.dim(D::Minus1)?;
    if w.dims() != [n] {
        candle_core::bail!("rms_norm: weight has shape {:?}, expected [{n}]", w.dims());
    }
    x.contiguous()?
        .apply_op2(&w.contiguous()?, RmsNorm { eps: eps as f32 })
}

/// `1 / sqrt(mean(x²) + eps)` of one row.
#[inline(always)]
fn inv_rms(x: &[f32], eps: f32) -> f32 {
    1.0 / (simd::dot(x, x) / x.len() as f32 + eps).sqrt()
}

struct RmsNorm {
    eps: f32,
}

impl CustomOp2 for RmsNorm {
    fn name(&self) -> &'static str {
        "rms-norm"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let x = f32_slice(s1, l1, "rms_norm input")?;
        let w = f32_slice(s2, l2, "rms_norm weight")?;
        let n = w.len().max(1);
        let mut out = vec![0f32; x.len()];
        let chunk = n * rows_per_task(n);
        out.par_chunks_mut(chunk)
            .zip(x.par_chunks(chunk))
            .for_each(|(out, x)| rms_norm_rows(out, x, w, self.eps));
        Ok((CpuStorage::F32(out), l1.shape().clone()))
    }

    fn bwd(
        &self,
        x: &Tensor,
        w: &Tensor,
        _res: &Tensor,
        grad: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>)> {
        let grad = grad.contiguous()?;
        let dx = x.apply_op3_no_bwd(w, &grad, &RmsNormGradInput { eps: self.eps })?;
        let dw = x.apply_op2_no_bwd(&grad, &RmsNormGradWeight { eps: self.eps })?;
        Ok((Some(dx), Some(dw)))
    }
}

/// `dx = r·w·g − x·r³·Σ(g·w·x)/n` row by row (`r` the row's inverse RMS).
struct RmsNormGradInput {
    eps: f32,
}

impl CustomOp3 for RmsNormGradInput {
    fn name(&self) -> &'static str {
        "rms-norm-grad-input"
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
        let x = f32_slice(s1, l1, "rms_norm input")?;
        let w = f32_slice(s2, l2, "rms_norm weight")?;
        let g = f32_slice(s3, l3, "rms_norm gradient")?;
        let n = w.len().max(1);
        let mut out = vec![0f32; x.len()];
        let chunk = n * rows_per_task(n);
        out.par_chunks_mut(chunk)
            .zip(x.par_chunks(chunk).zip(g.par_chunks(chunk)))
            .for_each(|(out, (x, g))| rms_norm_grad_input_rows(out, x, w, g, self.eps));
        Ok((CpuStorage::F32(out), l1.shape().clone()))
    }
}

/// `dw = Σ_rows g·x·r`.
struct RmsNormGradWeight {
    eps: f32,
}

impl CustomOp2 for RmsNormGradWeight {
    fn name(&self) -> &'static str {
        "rms-norm-grad-weight"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let x = f32_slice(s1, l1, "rms_norm input")?;
        let g = f32_slice(s2, l2, "rms_norm gradient")?;
        let n = l1.shape().dims().last().copied().unwrap_or(1).max(1);
        let chunk = n * rows_per_task(n);
        let dw = x
            .par_chunks(chunk)
            .zip(g.par_chunks(chunk))
            .map(|(x, g)| {
                let mut acc = vec![0f32; n];
                rms_norm_grad_weight_rows(&mut acc, x, g, self.eps);
                acc
            })
            .reduce(
                || vec![0f32; n],
                |mut a, b| {
                    a.iter_mut().zip(&b).for_each(|(a, b)| *a += b);
                    a
                },
            );
        Ok((CpuStorage::F32(dw), Shape::from(n)))
    }
}

// ------------------------------------------------------- rotary embedding

/// Rotary embedding in the rotate-half form (Qwen2 / Llama), fused with the
/// head transpose: `x` is [B, T, H, D] (as the projections produce it),
/// `cos` and `sin` are [B, T, D/2] (per-row positions); returns
/// [B, H, T, D], contiguous. Differentiable in `x` only.
pub fn rope_transposed(x: &Tensor, cos: &Tensor, sin: &Tensor) -> Result<Tensor> {
    let (b, t, _h, d) = x.dims4()?;
    if d % 2 != 0 || cos.dims() != [b, t, d / 2] || sin.dims() != cos.dims() {
        candle_core::bail!(
            "rope: x {:?} needs cos and sin of shape [{b}, {t}, {}], got {:?} and {:?}",
            x.dims(),
            d / 2,
            cos.dims(),
            sin.dims()
        );
    }
    if !cpu_f32(&[x, cos, sin]) {
        let x = x.transpose(1, 2)?;
        let cos = Tensor::cat(&[cos, cos], D::Minus1)?.unsqueeze(1)?;
        let sin = Tensor::cat(&[sin, sin], D::Minus1)?.unsqueeze(1)?;
        let x1 = x.narrow(D::Minus1, 0, d / 2)?;
        let x2 = x.narrow(D::Minus1, d / 2, d / 2)?;
        let rotated = Tensor::cat(&[&x2.neg()?, &x1], D::Minus1)?;
        return (x.broadcast_mul(&cos)? + rotated.broadcast_mul(&sin)?)?.contiguous();
    }
    x.contiguous()?.apply_op3(
        &cos.contiguous()?,
        &sin.contiguous()?,
        Rope { inverse: false },
    )
}

/// Rotates each `D`-vector by its angles: forward (`[B, T, H, D]` in,
/// `[B, H, T, D]` out) or, with `inverse`, the backward's rotation by the
/// opposite angles (`[B, H, T, D]` in, `[B, T, H, D]` out) — a rotation's
/// gradient is the inverse rotation of the incoming gradient.
struct Rope {
    inverse: bool,
}

impl CustomOp3 for Rope {
    fn name(&self) -> &'static str {
        if self.inverse {
            "rope-backward"
        } else {
            "rope"
        }
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
        let x = f32_slice(s1, l1, "rope input")?;
        let cos = f32_slice(s2, l2, "rope cos")?;
        let sin = f32_slice(s3, l3, "rope sin")?;
        let (b, d1, d2, d) = l1.shape().dims4()?;
        // The time axis: the input is [B, T, H, D] or, inverse, [B, H, T, D].
        let t = if self.inverse { d2 } else { d1 };
        let half = d / 2;
        let sign = if self.inverse { -1.0f32 } else { 1.0 };
        let mut out = vec![0f32; x.len()];
        // One output block per (batch, leading index): the output's
        // [B, d2, d1, D] layout, i.e. the input's middle axes swapped.
        out.par_chunks_mut(d1 * d)
            .enumerate()
            .for_each(|(block, out)| {
                let (bi, j) = (block / d2, block % d2);
                for (i, y) in out.chunks_exact_mut(d).enumerate() {
                    let src = &x[((bi * d1 + i) * d2 + j) * d..][..d];
                    let ti = if self.inverse { j } else { i };
                    let angle = (bi * t + ti) * half;
                    let (c, s) = (&cos[angle..][..half], &sin[angle..][..half]);
                    let (x1, x2) = src.split_at(half);
                    let (y1, y2) = y.split_at_mut(half);
                    for k in 0..half.min(y1.len()).min(y2.len()).min(x2.len()) {
                        let sk = sign * s[k];
                        y1[k] = x1[k] * c[k] - x2[k] * sk;
                        y2[k] = x2[k] * c[k] + x1[k] * sk;
                    }
                }
            });
        Ok((CpuStorage::F32(out), Shape::from((b, d2, d1, d))))
    }

    fn bwd(
        &self,
        _x: &Tensor,
        cos: &Tensor,
        sin: &Tensor,
        _res: &Tensor,
        grad: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        let dx = grad
            .contiguous()?
            .apply_op3_no_bwd(cos, sin, &Rope { inverse: true })?;
        Ok((Some(dx), None, None))
    }
}

// ----------------------------------------------------------------- SwiGLU

multiversion! {
    fn swiglu_slice(out: &mut [f32], g: &[f32], u: &[f32]) {
        for ((y, &g), &u) in out.iter_mut().zip(g).zip(u) {
            *y = g * sigmoid(g) * u;
        }
    }
}

multiversion! {
    fn swiglu_backward_slice(dg: &mut [f32], du: &mut [f32], g: &[f32], u: &[f32], dy: &[f32]) {
        let n = g
            .len()
            .min(u.len())
            .min(dy.len())
            .min(dg.len())
            .min(du.len());
        let (dg, du, g, u, dy) = (&mut dg[..n], &mut du[..n], &g[..n], &u[..n], &dy[..n]);
        for i in 0..n {
            let s = sigmoid(g[i]);
            dg[i] = dy[i] * u[i] * s * (1.0 + g[i] * (1.0 - s));
            du[i] = dy[i] * g[i] * s;
        }
    }
}

/// `silu(gate) * up`, differentiable in both.
pub fn swiglu(gate: &Tensor, up: &Tensor) -> Result<Tensor> {
    if !cpu_f32(&[gate, up]) || gate.dims() != up.dims() {
        return gate.silu()? * up;
    }
    gate.contiguous()?.apply_op2(&up.contiguous()?, SwiGlu)
}

struct SwiGlu;

impl CustomOp2 for SwiGlu {
    fn name(&self) -> &'static str {
        "swiglu"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let g = f32_slice(s1, l1, "swiglu gate")?;
        let u = f32_slice(s2, l2, "swiglu up")?;
        let mut out = vec![0f32; g.len()];
        const CHUNK: usize = 16_384;
        out.par_chunks_mut(CHUNK)
            .zip(g.par_chunks(CHUNK).zip(u.par_chunks(CHUNK)))
            .for_each(|(out, (g, u))| swiglu_slice(out, g, u));
        Ok((CpuStorage::F32(out), l1.shape().clone()))
    }

    fn bwd(
        &self,
        gate: &Tensor,
        up: &Tensor,
        _res: &Tensor,
        grad: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>)> {
        // Both gradients in one pass, stacked along a new leading axis.
        let both = gate.apply_op3_no_bwd(up, &grad.contiguous()?, &SwiGluBackward)?;
        Ok((Some(both.get(0)?), Some(both.get(1)?)))
    }
}

/// `[dgate, dup]` with `dgate = dy·u·σ(g)·(1 + g·(1 − σ(g)))` and
/// `dup = dy·g·σ(g)`.
struct SwiGluBackward;

impl CustomOp3 for SwiGluBackward {
    fn name(&self) -> &'static str {
        "swiglu-backward"
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
        let g = f32_slice(s1, l1, "swiglu gate")?;
        let u = f32_slice(s2, l2, "swiglu up")?;
        let dy = f32_slice(s3, l3, "swiglu gradient")?;
        let n = g.len();
        let mut out = vec![0f32; 2 * n];
        let (dg, du) = out.split_at_mut(n);
        const CHUNK: usize = 16_384;
        dg.par_chunks_mut(CHUNK)
            .zip(du.par_chunks_mut(CHUNK))
            .zip(g.par_chunks(CHUNK).zip(u.par_chunks(CHUNK)))
            .zip(dy.par_chunks(CHUNK))
            .for_each(|(((dg, du), (g, u)), dy)| swiglu_backward_slice(dg, du, g, u, dy));
        let mut dims = vec![2];
        dims.extend_from_slice(l1.shape().dims());
        Ok((CpuStorage::F32(out), Shape::from(dims)))
    }
}

// ------------------------------------------------------ token log-probs

/// `log_softmax(logits)[target]` over the last dimension: `logits`
/// [..., V] (f32), `targets` [...] (u32); returns [...]. Differentiable in
/// `logits`. Composed, this is a log-softmax (six nodes over [..., V]) and
/// a gather whose backward scatters into a zeroed [..., V] tensor; fused,
/// one node whose backward is `g · (onehot(target) − softmax)`.
pub fn token_logprobs(logits: &Tensor, targets: &Tensor) -> Result<Tensor> {
    let v = logits.dim(candle_core::D::Minus1)?;
    let lead = &logits.dims()[..logits.rank() - 1];
    if targets.dims() != lead || targets.dtype() != DType::U32 {
        candle_core::bail!(
            "token_logprobs: logits {:?} need u32 targets of shape {lead:?}, got {:?} {:?}",
            logits.dims(),
            targets.dtype(),
            targets.dims()
        );
    }
    if !cpu_f32(&[logits]) || !targets.device().is_cpu() || v == 0 {
        let lsm = candle_nn::ops::log_softmax(logits, D::Minus1)?;
        return lsm
            .gather(&targets.unsqueeze(D::Minus1)?, D::Minus1)?
            .squeeze(D::Minus1);
    }
    logits
        .contiguous()?
        .apply_op2(&targets.contiguous()?, TokenLogprobs)
}

/// A target id past the vocabulary: an error, not a panic.
fn check_targets(targets: &[u32], v: usize) -> Result<()> {
    match targets.iter().find(|&&t| t as usize >= v) {
        Some(t) => candle_core::bail!("token_logprobs: target id {t} outside a vocabulary of {v}"),
        None => Ok(()),
    }
}

multiversion! {
    /// Per row of `v` logits: `x[target] − log Σ exp(x)`.
    fn logprob_rows(out: &mut [f32], x: &[f32], targets: &[u32], v: usize) {
        for ((o, x), &t) in out.iter_mut().zip(x.chunks_exact(v)).zip(targets) {
            let max = simd::max(x);
            let sum = simd::sum_map(x, |x| simd::exp(x - max));
            *o = x[t as usize] - max - sum.ln();
        }
    }
}

multiversion! {
    /// Per row: `dx = g · (onehot(target) − softmax(x))`.
    fn logprob_grad_rows(dx: &mut [f32], x: &[f32], targets: &[u32], g: &[f32], v: usize) {
        for (((dx, x), &t), &g) in dx.chunks_exact_mut(v).zip(x.chunks_exact(v)).zip(targets).zip(g) {
            let max = simd::max(x);
            for (d, &x) in dx.iter_mut().zip(x) {
                *d = simd::exp(x - max);
            }
            let scale = -g / simd::sum(dx);
            for d in dx.iter_mut() {
                *d *= scale;
            }
            dx[t as usize] += g;
        }
    }
}

struct TokenLogprobs;

impl CustomOp2 for TokenLogprobs {
    fn name(&self) -> &'static str {
        "token-logprobs"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let x = f32_slice(s1, l1, "logits")?;
        let targets = u32_slice(s2, l2, "targets")?;
        let v = l1.shape().dims().last().copied().unwrap_or(1).max(1);
        check_targets(targets, v)?;
        let mut out = vec![0f32; targets.len()];
        const ROWS: usize = 64;
        out.par_chunks_mut(ROWS)
            .zip(x.par_chunks(ROWS * v).zip(targets.par_chunks(ROWS)))
            .for_each(|(out, (x, t))| logprob_rows(out, x, t, v));
        Ok((CpuStorage::F32(out), l2.shape().clone()))
    }

    fn bwd(
        &self,
        logits: &Tensor,
        targets: &Tensor,
        _res: &Tensor,
        grad: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>)> {
        let dx = logits.apply_op3_no_bwd(targets, &grad.contiguous()?, &TokenLogprobsGrad)?;
        Ok((Some(dx), None))
    }
}

struct TokenLogprobsGrad;

impl CustomOp3 for TokenLogprobsGrad {
    fn name(&self) -> &'static str {
        "token-logprobs-grad"
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
        let x = f32_slice(s1, l1, "logits")?;
        let targets = u32_slice(s2, l2, "targets")?;
        let g = f32_slice(s3, l3, "log-prob gradient")?;
        let v = l1.shape().dims().last().copied().unwrap_or(1).max(1);
        check_targets(targets, v)?;
        let mut dx = vec![0f32; x.len()];
        const ROWS: usize = 64;
        dx.par_chunks_mut(ROWS * v)
            .zip(x.par_chunks(ROWS * v))
            .zip(targets.par_chunks(ROWS).zip(g.par_chunks(ROWS)))
            .for_each(|((dx, x), (t, g))| logprob_grad_rows(dx, x, t, g, v));
        Ok((CpuStorage::F32(dx), l1.shape().clone()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::{Device, Var};

    fn max_diff(a: &Tensor, b: &Tensor) -> f32 {
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

    /// Runs `fused` and `composed` on the same variables, then backward
    /// through `sum(out * upstream)`; asserts values and every variable's
    /// gradient agree.
    fn check(
        vars: &[Var],
        fused: impl Fn(&[Tensor]) -> Result<Tensor>,
        composed: impl Fn(&[Tensor]) -> Result<Tensor>,
        tol: f32,
    ) -> Result<()> {
        let ts: Vec<Tensor> = vars.iter().map(|v| v.as_tensor().clone()).collect();
        let (a, r) = (fused(&ts)?, composed(&ts)?);
        assert_eq!(a.dims(), r.dims());
        let diff = max_diff(&a, &r);
        assert!(diff < tol, "forward differs by {diff}");
        let upstream = Tensor::randn(0f32, 1.0, a.dims(), &Device::Cpu)?;
        let ga = (a * &upstream)?.sum_all()?.backward()?;
        let gr = (r * &upstream)?.sum_all()?.backward()?;
        for (i, v) in vars.iter().enumerate() {
            let (x, y) = (
                ga.get(v).expect("fused grad"),
                gr.get(v).expect("composed grad"),
            );
            let diff = max_diff(x, y);
            assert!(
                diff < tol * 10.0,
                "gradient of argument {i} differs by {diff}"
            );
        }
        Ok(())
    }

    fn var(dims: &[usize]) -> Result<Var> {
        Var::from_tensor(&Tensor::randn(0f32, 1.0, dims, &Device::Cpu)?)
    }

    #[test]
    fn rms_norm_matches_the_composed_form() -> Result<()> {
        let vars = [var(&[3, 5, 16])?, var(&[16])?];
        check(
            &vars,
            |t| rms_norm(&t[0], &t[1], 1e-6),
            |t| {
                let ms = t[0].sqr()?.mean_keepdim(D::Minus1)?;
                t[0].broadcast_div(&(ms + 1e-6)?.sqrt()?)?
                    .broadcast_mul(&t[1])
            },
            1e-5,
        )
    }

    #[test]
    fn rope_matches_the_composed_form() -> Result<()> {
        let (b, t, h, d) = (2, 5, 3, 8);
        let vars = [var(&[b, t, h, d])?];
        let angles = Tensor::randn(0f32, 3.0, (b, t, d / 2), &Device::Cpu)?;
        let (cos, sin) = (angles.cos()?, angles.sin()?);
        check(
            &vars,
            |ts| rope_transposed(&ts[0], &cos, &sin),
            |ts| {
                let x = ts[0].transpose(1, 2)?;
                let c = Tensor::cat(&[&cos, &cos], D::Minus1)?.unsqueeze(1)?;
                let s = Tensor::cat(&[&sin, &sin], D::Minus1)?.unsqueeze(1)?;
                let x1 = x.narrow(D::Minus1, 0, d / 2)?;
                let x2 = x.narrow(D::Minus1, d / 2, d / 2)?;
                let rotated = Tensor::cat(&[&x2.neg()?, &x1], D::Minus1)?;
                x.broadcast_mul(&c)? + rotated.broadcast_mul(&s)?
            },
            1e-5,
        )
    }

    #[test]
    fn swiglu_matches_the_composed_form() -> Result<()> {
        let vars = [var(&[4, 7, 12])?, var(&[4, 7, 12])?];
        check(
            &vars,
            |t| swiglu(&t[0], &t[1]),
            |t| t[0].silu()? * &t[1],
            1e-5,
        )
    }

    #[test]
    fn linear_matches_the_composed_form() -> Result<()> {
        let composed = |t: &[Tensor], bias: bool| -> Result<Tensor> {
            let x2 = t[0].reshape((6, 5))?;
            let mut y = x2.matmul(&t[1].t()?)?;
            if bias {
                y = y.broadcast_add(&t[2])?;
            }
            y.reshape((2, 3, 4))
        };
        let vars = [var(&[2, 3, 5])?, var(&[4, 5])?, var(&[4])?];
        check(
            &vars,
            |t| linear(&t[0], &t[1], Some(&t[2])),
            |t| composed(t, true),
            1e-5,
        )?;
        let vars = [var(&[2, 3, 5])?, var(&[4, 5])?];
        check(
            &vars,
            |t| linear(&t[0], &t[1], None),
            |t| composed(t, false),
            1e-5,
        )
    }

    #[test]
    fn token_logprobs_match_the_composed_form() -> Result<()> {
        let vars = [var(&[2, 3, 7])?];
        let targets = Tensor::new(&[[0u32, 6, 3], [2, 2, 5]], &Device::Cpu)?;
        check(
            &vars,
            |t| token_logprobs(&t[0], &targets),
            |t| {
                let lsm = candle_nn::ops::log_softmax(&t[0], D::Minus1)?;
                lsm.gather(&targets.unsqueeze(2)?, 2)?.squeeze(2)
            },
            1e-5,
        )?;
        let bad = Tensor::new(&[[0u32, 7, 3], [2, 2, 5]], &Device::Cpu)?;
        let e = token_logprobs(vars[0].as_tensor(), &bad)
            .unwrap_err()
            .to_string();
        assert!(e.contains("target id 7"), "{e}");
        Ok(())
    }

    #[test]
    fn shapes_are_checked() {
        let x = Tensor::zeros((2, 4), DType::F32, &Device::Cpu).unwrap();
        let w = Tensor::zeros(3, DType::F32, &Device::Cpu).unwrap();
        let e = rms_norm(&x, &w, 1e-6).unwrap_err().to_string();
        assert!(e.contains("rms_norm: weight"), "{e}");
        let x = Tensor::zeros((1, 2, 1, 4), DType::F32, &Device::Cpu).unwrap();
        let c = Tensor::zeros((1, 3, 2), DType::F32, &Device::Cpu).unwrap();
        let e = rope_transposed(&x, &c, &c).unwrap_err().to_string();
        assert!(e.contains("rope"), "{e}");
        let w = Tensor::zeros((3, 5), DType::F32, &Device::Cpu).unwrap();
        let e = linear(&x, &w, None).unwrap_err().to_string();
        assert!(e.contains("linear: input"), "{e}");
    }
}
