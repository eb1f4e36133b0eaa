//! Pieces shared by the fused CPU ops (`fused_layers`, `attention`): access
//! to contiguous CPU storage, matrix products, and the masked-softmax row
//! kernels.
//!
//! `softmax(scale * scores + bias)` over the last dimension is the largest
//! elementwise cost of a training step; composed from candle ops it makes
//! seven passes forward and about twice as many backward, each allocating a
//! tensor of the scores' size. The kernels below do the forward in one pass
//! per row and the backward, `d scores = scale * y * (dy - sum(dy * y))`, in
//! one more.

use candle_core::{CpuStorage, DType, Layout, Result, Tensor};

use super::simd::{self, multiversion};

/// Whether every tensor is f32 on the CPU (the fused kernels' domain).
pub(crate) fn cpu_f32(ts: &[&Tensor]) -> bool {
    ts.iter()
        .all(|t| t.device().is_cpu() && t.dtype() == DType::F32)
}

/// The elements `layout` covers, which must be contiguous.
fn contiguous_part<'a, T>(data: &'a [T], layout: &Layout, what: &str) -> Result<&'a [T]> {
    match layout.contiguous_offsets() {
        Some((start, end)) => Ok(&data[start..end]),
        None => candle_core::bail!("{what}: expected a contiguous tensor"),
    }
}

/// A contiguous f32 tensor's elements; `what` names it in errors.
pub(crate) fn f32_slice<'a>(
    storage: &'a CpuStorage,
    layout: &Layout,
    what: &str,
) -> Result<&'a [f32]> {
    let CpuStorage::F32(data) = storage else {
        candle_core::bail!("{what}: expected f32 storage");
    };
    contiguous_part(data, layout, what)
}

/// A contiguous u32 tensor's elements; `what` names it in errors.
pub(crate) fn u32_slice<'a>(
    storage: &'a CpuStorage,
    layout: &Layout,
    what: &str,
) -> Result<&'a [u32]> {
    let CpuStorage::U32(data) = storage else {
        candle_core::bail!("{what}: expected u32 storage");
    };
    contiguous_part(data, layout, what)
}

/// The thread count gemm calls get, read once: candle's `get_num_threads`
/// parses /proc/cpuinfo on every call when `RAYON_NUM_THREADS` is unset
/// (tens of thousands of opens per second of generation, more system time
/// than the matmuls themselves).
fn gemm_threads() -> usize {
    static THREADS: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *THREADS.get_or_init(candle_core::utils::get_num_threads)
}

/// `dst = lhs · rhs` (or `dst += lhs · rhs` with `accumulate`) with the
/// `gemm` crate candle uses. `dst` is m × n row-major; the operands are
/// given by strides (`rs` between rows, `cs` between columns), so transposes
/// cost nothing. `parallel` spreads the product over candle's thread count;
/// callers that already run blocks in parallel pass `false`.
#[allow(clippy::too_many_arguments)]
pub(crate) fn matmul(
    (m, n, k): (usize, usize, usize),
    dst: &mut [f32],
    lhs: &[f32],
    (lhs_rs, lhs_cs): (usize, usize),
    rhs: &[f32],
    (rhs_rs, rhs_cs): (usize, usize),
    accumulate: bool,
    parallel: bool,
) {
    matmul_strided(
        (m, n, k),
        (dst, n),
        lhs,
        (lhs_rs, lhs_cs),
        rhs,
        (rhs_rs, rhs_cs),
        accumulate,
        parallel,
    );
}

/// [`matmul`] into an m × n block of a larger row-major matrix: `dst`
/// starts at the block's first element and `dst_rs` elements separate its
/// rows.
#[allow(clippy::too_many_arguments)]
pub(crate) fn matmul_strided(
    (m, n, k): (usize, usize, usize),
    (dst, dst_rs): (&mut [f32], usize),
    lhs: &[f32],
    (lhs_rs, lhs_cs): (usize, usize),
    rhs: &[f32],
    (rhs_rs, rhs_cs): (usize, usize),
    accumulate: bool,
    parallel: bool,
) {
    let last = |rows: usize, cols: usize, rs: usize, cs: usize| {
        (rows.max(1) - 1) * rs + (cols.max(1) - 1) * cs
    };
    assert!(
        (m * n == 0 || dst.len() > last(m, n, dst_rs, 1))
            && (m * k == 0 || lhs.len() > last(m, k, lhs_rs, lhs_cs))
            && (k * n == 0 || rhs.len() > last(k, n, rhs_rs, rhs_cs)),
        "matmul operands out of bounds"
    );
    let threads = gemm_threads();
    let parallelism = if parallel && threads > 1 {
        gemm::Parallelism::Rayon(threads)
    } else {
        gemm::Parallelism::None
    };
    // SAFETY: the assertion above keeps every element gemm reads or writes
    // inside the slices.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst.as_mut_ptr(),
            1,
            dst_rs as isize,
            accumulate,
            lhs.as_ptr(),
            lhs_cs as isize,
            lhs_rs as isize,
            rhs.as_ptr(),
            rhs_cs as isize,
            rhs_rs as isize,
            if accumulate { 1.0 } else { 0.0 },
            1.0,
            false,
            false,
            false,
            parallelism,
        );
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
