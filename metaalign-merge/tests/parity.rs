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

#[tokio::test]
async fn linear_normalized_is_bit_exact() {
    let (ours, theirs) = merge_case("linear_norm").await;
    assert_eq!(max_abs_diff(&ours, &theirs), 0.0);
}

#[tokio::test]
async fn linear_raw_sum_is_bit_exact() {
    let (ours, theirs) = merge_case("linear_raw").await;
    assert_eq!(max_abs_diff(&ours, &theirs), 0.0);
}

#[tokio::test]
async fn linear_with_filters_and_gradients_matches() {
    let (ours, theirs) = merge_case("linear_filters").await;
    let d = max_abs_diff(&ours, &theirs);
    assert!(d <= 1e-6, "max diff {d}");
}

#[tokio::test]
async fn task_arithmetic_matches() {
    let (ours, theirs) = merge_case("task_arithmetic").await;
    let d = max_abs_diff(&ours, &theirs);
    assert!(d <= 1e-6, "max diff {d}");
}

#[tokio::test]
async fn ties_matches() {
    let (ours, theirs) = merge_case("ties").await;
    let d = max_abs_diff(&ours, &theirs);
    assert!(d <= 1e-6, "max diff {d}");
}

#[tokio::test]
async fn slerp_with_filtered_gradients_matches() {
    let (ours, theirs) = merge_case("slerp").await;
    let d = max_abs_diff(&ours, &theirs);
    assert!(d <= 1e-6, "max diff {d}");
}
