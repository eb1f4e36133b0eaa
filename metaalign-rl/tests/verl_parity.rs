//! Every case in `tests/fixtures/verl_parity.jsonl` (inputs with the outputs
//! of veRL's own `core_algos.py`, written by `scripts/verl_parity_fixtures.py`)
//! goes through `algorithms::ops::evaluate`, the code path of the `rl_math`
//! example, and must match within 1e-6 (absolute, or relative above 1).

use std::collections::BTreeSet;

use metaalign_rl::algorithms::ops::evaluate;
use serde_json::Value;

const TOL: f64 = 1e-6;

fn fixtures() -> Vec<Value> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/verl_parity.jsonl"
    );
    std::fs::read_to_string(path)
        .expect("read fixtures")
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).expect("fixture line is JSON"))
        .collect()
}

fn compare(case: &str, path: &str, got: &Value, want: &Value, errors: &mut Vec<String>) {
    match (got, want) {
        (Value::Array(g), Value::Array(w)) => {
            if g.len() != w.len() {
                errors.push(format!(
                    "{case}: {path} has {} items, want {}",
                    g.len(),
                    w.len()
                ));
                return;
            }
            for (i, (g, w)) in g.iter().zip(w).enumerate() {
                compare(case, &format!("{path}[{i}]"), g, w, errors);
            }
        }
        (Value::Object(g), Value::Object(w)) => {
            for (k, w) in w {
                match g.get(k) {
                    Some(g) => compare(case, &format!("{path}.{k}"), g, w, errors),
                    None => errors.push(format!("{case}: missing {path}.{k}")),
                }
            }
        }
        _ => {
            let (g, w) = (got.as_f64(), want.as_f64());
            match (g, w) {
                (Some(g), Some(w)) if (g - w).abs() <= TOL * w.abs().max(1.0) => {}
                _ => errors.push(format!("{case}: {path} = {got}, veRL {want}")),
            }
        }
    }
}

#[test]
fn every_fixture_matches_verl() {
    let cases = fixtures();
    assert!(cases.len() >= 30, "only {} fixtures", cases.len());
    let mut errors = Vec::new();
    for case in &cases {
        let name = case["name"].as_str().unwrap_or("?");
        match evaluate(&case["input"]) {
            Ok(out) => compare(name, "", &out, &case["expected"], &mut errors),
            Err(e) => errors.push(format!("{name}: error {e}")),
        }
    }
    assert!(
        errors.is_empty(),
        "{} mismatches:\n{}",
        errors.len(),
        errors.join("\n")
    );
}

#[test]
fn fixtures_cover_every_name() {
    let cases = fixtures();
    let mut seen = BTreeSet::new();
    for c in &cases {
        let i = &c["input"];
        for key in ["estimator", "loss_mode", "kl_penalty", "loss_agg_mode"] {
            if let Some(v) = i[key].as_str() {
                seen.insert(format!("{key}={v}"));
            }
        }
    }
    let want = [
        "estimator=grpo",
        "estimator=rloo",
        "estimator=reinforce_plus_plus",
        "estimator=reinforce_plus_plus_baseline",
        "estimator=remax",
        "estimator=opo",
        "estimator=gpg",
        "estimator=grpo_passk",
        "loss_mode=vanilla",
        "loss_mode=gspo",
        "loss_mode=cispo",
        "loss_mode=gpg",
        "kl_penalty=kl",
        "kl_penalty=k1",
        "kl_penalty=abs",
        "kl_penalty=mse",
        "kl_penalty=k2",
        "kl_penalty=low_var_kl",
        "kl_penalty=k3",
        "loss_agg_mode=token-mean",
        "loss_agg_mode=seq-mean-token-sum",
        "loss_agg_mode=seq-mean-token-mean",
        "loss_agg_mode=seq-mean-token-sum-norm",
    ];
    for w in want {
        assert!(seen.contains(w), "no fixture for {w}");
    }
}

fn err(input: &str) -> String {
    let v: Value = serde_json::from_str(input).unwrap();
    evaluate(&v).expect_err("should fail").to_string()
}

#[test]
fn bad_inputs_are_clear_errors() {
    assert!(err(r#"{"op":"nope"}"#).contains("unknown op"));
    assert!(err(r#"{"estimator":"grpo"}"#).contains("missing field \"op\""));
    let e = err(
        r#"{"op":"advantage","estimator":"ppo2","token_level_rewards":[[1]],"response_mask":[[1]],"index":["a"]}"#,
    );
    assert!(e.contains("unknown advantage estimator"), "{e}");
    let e = err(
        r#"{"op":"advantage","estimator":"grpo","token_level_rewards":[[1,0],[1]],"response_mask":[[1,1],[1,1]],"index":["a","a"]}"#,
    );
    assert!(e.contains("ragged"), "{e}");
    let e = err(
        r#"{"op":"advantage","estimator":"grpo","token_level_rewards":[[1,0],[1,0]],"response_mask":[[1,1,1],[1,1,1]],"index":["a","a"]}"#,
    );
    assert!(e.contains("response_mask"), "{e}");
    let e = err(
        r#"{"op":"advantage","estimator":"grpo","token_level_rewards":[[1,0],[1,0]],"response_mask":[[1,1],[1,1]]}"#,
    );
    assert!(e.contains("index"), "{e}");
    let e = err(
        r#"{"op":"advantage","estimator":"remax","token_level_rewards":[[1,0]],"response_mask":[[1,1]]}"#,
    );
    assert!(e.contains("reward_baselines"), "{e}");
    let e = err(r#"{"op":"kl","kl_penalty":"full","logprob":[[0]],"ref_logprob":[[0]]}"#);
    assert!(e.contains("unknown kl_penalty"), "{e}");
    let e = err(r#"{"op":"agg_loss","loss_mat":[[1]],"loss_mask":[[1]],"loss_agg_mode":"mean"}"#);
    assert!(e.contains("unknown loss_agg_mode"), "{e}");
    let e = err(
        r#"{"op":"policy_loss","loss_mode":"vanilla","old_log_prob":[[0]],"log_prob":[[0]],"advantages":[[1]],"response_mask":[[1]],"clip_ratio_c":0.5}"#,
    );
    assert!(e.contains("clip_ratio_c"), "{e}");
    let e = err(
        r#"{"op":"policy_loss","loss_mode":"vanilla","old_log_prob":[[0]],"log_prob":[[0]],"advantages":[[1]]}"#,
    );
    assert!(e.contains("response_mask"), "{e}");
}
