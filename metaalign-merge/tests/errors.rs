//! Bad inputs give clear errors, leave no output behind and never touch
//! the inputs.

mod common;

use std::path::Path;
use std::sync::Arc;

use common::*;
use metaalign_merge::methods::{Linear, TiesConfig};
use metaalign_merge::{run_merge, MergePlan, PlanModel, TensorMerge};

fn plan(
    models: Vec<PlanModel>,
    base: Option<PlanModel>,
    method: Arc<dyn TensorMerge>,
    out: &Path,
) -> MergePlan {
    MergePlan {
        models,
        base,
        method,
        out: out.to_path_buf(),
        seed: 0,
        options: Default::default(),
    }
}

fn linear() -> Arc<dyn TensorMerge> {
    Arc::new(Linear { normalize: true })
}

fn digest(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap())
        .map(|e| {
            (
                e.file_name().to_string_lossy().into_owned(),
                std::fs::read(e.path()).unwrap(),
            )
        })
        .collect();
    files.sort();
    files
}

fn assert_clean(out: &Path) {
    assert!(!out.exists(), "no output directory after a failed merge");
    assert!(
        leftovers(out).is_empty(),
        "temp dirs left: {:?}",
        leftovers(out)
    );
}

#[test]
fn mismatched_shapes_are_named() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    write_checkpoint(&a, &tiny_model(1));
    let mut other = tiny_model(2);
    other.insert(
        "model.layers.1.mlp.up_proj.weight".into(),
        (vec![8, 16], vec![0.0; 128]),
    );
    write_checkpoint(&b, &other);
    let before = (digest(&a), digest(&b));
    let out = tmp.path().join("out");
    let err = run_merge(&plan(
        vec![
            PlanModel::new("a", &a).with_param("weight", 1.0),
            PlanModel::new("b", &b).with_param("weight", 1.0),
        ],
        None,
        linear(),
        &out,
    ))
    .unwrap_err()
    .to_string();
    assert!(err.contains("model.layers.1.mlp.up_proj.weight"), "{err}");
    assert!(err.contains("[16, 8]") && err.contains("[8, 16]"), "{err}");
    assert!(err.contains("`a`") && err.contains("`b`"), "{err}");
    assert_clean(&out);
    assert_eq!(before, (digest(&a), digest(&b)), "inputs untouched");
}

#[test]
fn missing_tensor_is_named() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    write_checkpoint(&a, &tiny_model(1));
    let mut other = tiny_model(2);
    other.remove("model.norm.weight");
    write_checkpoint(&b, &other);
    let out = tmp.path().join("out");
    let err = run_merge(&plan(
        vec![
            PlanModel::new("a", &a).with_param("weight", 1.0),
            PlanModel::new("b", &b).with_param("weight", 1.0),
        ],
        None,
        linear(),
        &out,
    ))
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("model.norm.weight") && err.contains("model `b`"),
        "{err}"
    );
    assert_clean(&out);
    // the other way round: an extra tensor
    let err = run_merge(&plan(
        vec![
            PlanModel::new("b", &b).with_param("weight", 1.0),
            PlanModel::new("a", &a).with_param("weight", 1.0),
        ],
        None,
        linear(),
        &out,
    ))
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("model.norm.weight") && err.contains("lacks"),
        "{err}"
    );
    assert_clean(&out);
}

#[test]
fn corrupt_header_is_a_clear_error() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    write_checkpoint(&a, &tiny_model(1));
    write_checkpoint(&b, &tiny_model(2));
    // a plausible length prefix followed by broken JSON
    let file = b.join("model.safetensors");
    let mut bytes = std::fs::read(&file).unwrap();
    bytes[8..16].copy_from_slice(b"{\"oops\":");
    std::fs::write(&file, &bytes).unwrap();
    let out = tmp.path().join("out");
    let err = run_merge(&plan(
        vec![
            PlanModel::new("a", &a).with_param("weight", 1.0),
            PlanModel::new("b", &b).with_param("weight", 1.0),
        ],
        None,
        linear(),
        &out,
    ))
    .unwrap_err()
    .to_string();
    assert!(err.contains("corrupt safetensors header"), "{err}");
    assert!(
        err.contains("model `b`") && err.contains("model.safetensors"),
        "{err}"
    );
    assert_clean(&out);
    // a truncated file
    std::fs::write(&file, [1u8, 2, 3]).unwrap();
    let err = run_merge(&plan(
        vec![
            PlanModel::new("a", &a).with_param("weight", 1.0),
            PlanModel::new("b", &b).with_param("weight", 1.0),
        ],
        None,
        linear(),
        &out,
    ))
    .unwrap_err()
    .to_string();
    assert!(err.contains("corrupt safetensors header"), "{err}");
    assert_clean(&out);
}

#[test]
fn a_failure_during_the_merge_leaves_no_output_and_keeps_an_existing_one() {
    let tmp = tempfile::tempdir().unwrap();
    let (base, a) = (tmp.path().join("base"), tmp.path().join("a"));
    write_checkpoint(&base, &tiny_model(1));
    write_checkpoint(&a, &tiny_model(2));
    let out = tmp.path().join("out");
    // density 0.1 keeps no element of the 8-element norm tensor: TIES refuses
    let ties: Arc<dyn TensorMerge> = Arc::new(TiesConfig::default().method());
    let models = vec![PlanModel::new("a", &a)
        .with_param("weight", 1.0)
        .with_param("density", 0.1)];
    let err = run_merge(&plan(
        models.clone(),
        Some(PlanModel::new("base", &base)),
        ties.clone(),
        &out,
    ))
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("model.norm.weight") && err.contains("density"),
        "{err}"
    );
    assert_clean(&out);

    // with overwrite, a failed merge leaves the previous output as it was
    std::fs::create_dir(&out).unwrap();
    std::fs::write(out.join("marker"), "old").unwrap();
    let mut p = plan(models, Some(PlanModel::new("base", &base)), ties, &out);
    p.options.overwrite = true;
    assert!(run_merge(&p).is_err());
    assert_eq!(std::fs::read_to_string(out.join("marker")).unwrap(), "old");
    assert!(leftovers(&out).is_empty());
}

#[test]
fn configuration_mistakes_are_named() {
    let tmp = tempfile::tempdir().unwrap();
    let a = tmp.path().join("a");
    write_checkpoint(&a, &tiny_model(1));
    let out = tmp.path().join("out");
    // missing weight
    let err = run_merge(&plan(vec![PlanModel::new("a", &a)], None, linear(), &out))
        .unwrap_err()
        .to_string();
    assert!(err.contains("model `a` has no `weight`"), "{err}");
    // unknown per-model parameter
    let err = run_merge(&plan(
        vec![PlanModel::new("a", &a).with_param("wieght", 1.0)],
        None,
        linear(),
        &out,
    ))
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("wieght") && err.contains("known: weight"),
        "{err}"
    );
    // task methods need a base
    let ta: Arc<dyn TensorMerge> =
        Arc::new(metaalign_merge::methods::TaskArithmeticConfig::default().method());
    let err = run_merge(&plan(
        vec![PlanModel::new("a", &a).with_param("weight", 1.0)],
        None,
        ta,
        &out,
    ))
    .unwrap_err()
    .to_string();
    assert!(err.contains("base"), "{err}");
    // writing into an input is refused
    let err = run_merge(&plan(
        vec![PlanModel::new("a", &a).with_param("weight", 1.0)],
        None,
        linear(),
        &a,
    ))
    .unwrap_err()
    .to_string();
    assert!(err.contains("is input model `a`"), "{err}");
    // not a checkpoint
    let err = run_merge(&plan(
        vec![PlanModel::new("x", tmp.path().join("nope")).with_param("weight", 1.0)],
        None,
        linear(),
        &out,
    ))
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("model `x`") && err.contains("not a directory"),
        "{err}"
    );
    assert_clean(&out);
}
