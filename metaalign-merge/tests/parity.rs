//! Parity with mergekit 0.1.5: the fixtures (made by
//! scripts/mergekit_fixtures.py) hold small random checkpoints, the mergekit
//! YAML configs and mergekit's outputs. We import the same YAML, merge, and
//! compare every tensor.

mod common;

use common::*;

async fn merge_case(case: &str) -> (Tensors, Tensors) {
    let dir = fixtures();
    let yaml = std::fs::read_to_string(dir.join(format!("{case}.yml"))).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let imported = metaalign_merge::mergekit::import_yaml(&yaml, &dir, &out).unwrap();
    let merger = imported.method.build().unwrap();
    let summary = merger.merge(&imported.inputs).await.unwrap();
    assert!(summary.tensors > 0);
    assert!(out.join("config.json").is_file(), "config.json copied");
    (load(&out), load(&dir.join("expected").join(case)))
}

/// Merges `case` and asserts max |ours − mergekit| <= tol (printed with --nocapture).
async fn check(case: &str, tol: f32) {
    let (ours, theirs) = merge_case(case).await;
    let d = max_abs_diff(&ours, &theirs);
    eprintln!("{case}: max abs diff vs mergekit {d:e}");
    assert!(d <= tol, "{case}: max diff {d} > {tol}");
}

#[tokio::test]
async fn linear_normalized_is_bit_exact() {
    check("linear_norm", 0.0).await;
}

#[tokio::test]
async fn linear_raw_sum_is_bit_exact() {
    check("linear_raw", 0.0).await;
}

#[tokio::test]
async fn linear_with_filters_and_gradients_matches() {
    check("linear_filters", 1e-6).await;
}

#[tokio::test]
async fn task_arithmetic_matches() {
    check("task_arithmetic", 1e-6).await;
}

#[tokio::test]
async fn ties_matches() {
    check("ties", 1e-6).await;
}

#[tokio::test]
async fn slerp_with_filtered_gradients_matches() {
    check("slerp", 1e-6).await;
}

#[tokio::test]
async fn breadcrumbs_matches() {
    check("breadcrumbs", 1e-6).await;
}

#[tokio::test]
async fn breadcrumbs_ties_matches() {
    check("breadcrumbs_ties", 1e-6).await;
}

#[tokio::test]
async fn model_stock_matches() {
    check("model_stock", 1e-6).await;
}

#[tokio::test]
async fn model_stock_filter_wise_matches() {
    check("model_stock_filter_wise", 1e-6).await;
}

/// The merges differ from their inputs (so the comparisons above are not vacuous).
#[tokio::test]
async fn merges_change_the_weights() {
    let dir = fixtures();
    let a = load(&dir.join("inputs/model_a"));
    let base = load(&dir.join("inputs/base"));
    for case in [
        "linear_norm",
        "task_arithmetic",
        "ties",
        "slerp",
        "breadcrumbs",
        "model_stock",
    ] {
        let out = load(&dir.join("expected").join(case));
        assert!(max_abs_diff(&out, &a) > 1e-4, "{case} equals model_a");
        assert!(max_abs_diff(&out, &base) > 1e-4, "{case} equals base");
    }
}
