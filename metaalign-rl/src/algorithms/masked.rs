//! Masked reductions on plain `f64` batches with veRL's exact semantics
//! (`verl/utils/torch_functional.py`): rows are responses, columns are
//! token positions, masks are `0.0`/`1.0` (any non-zero counts as valid
//! and is used as a weight, as in veRL).

use metaalign_core::{Error, Result};

/// A padded batch: one row per response, all rows the same width.
pub type Rows = Vec<Vec<f64>>;

/// Width of a rectangular batch; an error names `what` when rows differ.
pub fn check_rect(what: &str, rows: &[Vec<f64>]) -> Result<usize> {
    let width = rows.first().map_or(0, Vec::len);
    for (i, row) in rows.iter().enumerate() {
        if row.len() != width {
            return Err(Error::Shape(format!(
                "{what}: row {i} has {} columns, row 0 has {width} (ragged batch)",
                row.len()
            )));
        }
    }
    Ok(width)
}

/// Checks that `b` has exactly the shape of `a` (both rectangular).
pub fn check_same_shape(a_name: &str, a: &[Vec<f64>], b_name: &str, b: &[Vec<f64>]) -> Result<()> {
    let wa = check_rect(a_name, a)?;
    let wb = check_rect(b_name, b)?;
    if a.len() != b.len() || (!a.is_empty() && wa != wb) {
        return Err(Error::Shape(format!(
            "{b_name} is {}x{wb} but {a_name} is {}x{wa}",
            b.len(),
            a.len()
        )));
    }
    Ok(())
}

/// Sum of `values * mask` over valid positions (veRL `masked_sum`).
pub fn masked_sum(values: &[Vec<f64>], mask: &[Vec<f64>]) -> f64 {
    values
        .iter()
        .zip(mask)
        .flat_map(|(v, m)| v.iter().zip(m))
        .map(|(&v, &m)| if m != 0.0 { v * m } else { 0.0 })
        .sum()
}

/// Sum of the mask.
pub fn mask_sum(mask: &[Vec<f64>]) -> f64 {
    mask.iter().flatten().sum()
}

/// veRL `masked_mean`: `masked_sum / (mask.sum() + 1e-8)`.
pub fn masked_mean(values: &[Vec<f64>], mask: &[Vec<f64>]) -> f64 {
    masked_sum(values, mask) / (mask_sum(mask) + 1e-8)
}

/// veRL `masked_var` (unbiased): errors when the mask selects fewer than
/// two tokens, as veRL does.
pub fn masked_var(values: &[Vec<f64>], mask: &[Vec<f64>]) -> Result<f64> {
    let mean = masked_mean(values, mask);
    let centered: Rows = values
        .iter()
        .map(|r| r.iter().map(|v| (v - mean) * (v - mean)).collect())
        .collect();
    let var = masked_mean(&centered, mask);
    let n = mask_sum(mask);
    if n == 0.0 {
        return Err(Error::Shape(
            "masked_var: at least one element in the mask has to be 1".into(),
        ));
    }
    if n == 1.0 {
        return Err(Error::Shape(
            "masked_var: the mask selects a single element (division by zero)".into(),
        ));
    }
    Ok(var * (n / (n - 1.0)))
}

/// veRL `masked_whiten` (shift_mean = true): `(v - mean) / sqrt(var + 1e-8)`
/// applied to every position, valid or not.
pub fn masked_whiten(values: &[Vec<f64>], mask: &[Vec<f64>]) -> Result<Rows> {
    let mean = masked_mean(values, mask);
    let var = masked_var(values, mask)?;
    let inv = 1.0 / (var + 1e-8).sqrt();
    Ok(values
        .iter()
        .map(|r| r.iter().map(|v| (v - mean) * inv).collect())
        .collect())
}

/// Per-row sums.
pub fn row_sums(rows: &[Vec<f64>]) -> Vec<f64> {
    rows.iter().map(|r| r.iter().sum()).collect()
}

/// `per_seq[i] * mask[i][t]` (a scalar per response spread over its tokens).
pub fn broadcast(per_seq: &[f64], mask: &[Vec<f64>]) -> Rows {
    per_seq
        .iter()
        .zip(mask)
        .map(|(s, m)| m.iter().map(|m| s * m).collect())
        .collect()
}

/// Elementwise product.
pub fn mul(a: &[Vec<f64>], b: &[Vec<f64>]) -> Rows {
    a.iter()
        .zip(b)
        .map(|(x, y)| x.iter().zip(y).map(|(x, y)| x * y).collect())
        .collect()
}

/// Elementwise map of two batches.
pub fn zip_map(a: &[Vec<f64>], b: &[Vec<f64>], f: impl Fn(f64, f64) -> f64) -> Rows {
    a.iter()
        .zip(b)
        .map(|(x, y)| x.iter().zip(y).map(|(&x, &y)| f(x, y)).collect())
        .collect()
}
