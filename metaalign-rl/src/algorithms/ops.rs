//! The JSON face of the algorithm units: one object in, one object out,
//! with the op schemas of `docs/rl-algorithms.md` (veRL's argument names).
//! The `rl_math` example and the veRL parity test both go through
//! [`evaluate`].

use metaalign_core::{Error, Result};
use serde_json::{json, Map, Value};

use super::agg::{agg_loss, AggMode};
use super::estimators::{AdvantageInput, Estimator};
use super::kl_penalty::KlPenalty;
use super::masked::{check_same_shape, Rows};
use super::policy_losses::{ClipRatios, LossMode, PolicyLossInput};

fn bad(message: String) -> Error {
    Error::Config { message }
}

fn obj(v: &Value) -> Result<&Map<String, Value>> {
    v.as_object()
        .ok_or_else(|| bad("input must be a JSON object".into()))
}

fn field<'a>(o: &'a Map<String, Value>, key: &str) -> Result<&'a Value> {
    o.get(key)
        .ok_or_else(|| bad(format!("missing field {key:?}")))
}

fn string(o: &Map<String, Value>, key: &str) -> Result<String> {
    field(o, key)?
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| bad(format!("field {key:?} must be a string")))
}

fn number(v: &Value, what: &str) -> Result<f64> {
    match v {
        Value::Number(n) => n
            .as_f64()
            .ok_or_else(|| bad(format!("{what}: {n} is not a finite number"))),
        Value::Bool(b) => Ok(if *b { 1.0 } else { 0.0 }),
        other => Err(bad(format!("{what}: expected a number, got {other}"))),
    }
}

fn opt_number(o: &Map<String, Value>, key: &str) -> Result<Option<f64>> {
    match o.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => number(v, key).map(Some),
    }
}

fn opt_bool(o: &Map<String, Value>, key: &str, default: bool) -> Result<bool> {
    match o.get(key) {
        None | Some(Value::Null) => Ok(default),
        Some(Value::Bool(b)) => Ok(*b),
        Some(other) => Err(bad(format!(
            "field {key:?} must be true or false, got {other}"
        ))),
    }
}

fn vector(v: &Value, what: &str) -> Result<Vec<f64>> {
    v.as_array()
        .ok_or_else(|| bad(format!("{what} must be an array")))?
        .iter()
        .enumerate()
        .map(|(i, x)| number(x, &format!("{what}[{i}]")))
        .collect()
}

/// A required `(bs, len)` batch (numbers; booleans read as 1/0 for masks).
fn rows(o: &Map<String, Value>, key: &str) -> Result<Rows> {
    let rows: Rows = field(o, key)?
        .as_array()
        .ok_or_else(|| bad(format!("field {key:?} must be an array of rows")))?
        .iter()
        .enumerate()
        .map(|(i, r)| vector(r, &format!("{key}[{i}]")))
        .collect::<Result<_>>()?;
    super::masked::check_rect(key, &rows)?;
    Ok(rows)
}

fn index(o: &Map<String, Value>, bs: usize) -> Result<Vec<String>> {
    match o.get("index") {
        // Group estimators are meaningless without groups: require them.
        None | Some(Value::Null) => {
            Err(bad("missing field \"index\" (group id per response)".into()))
        }
        Some(Value::Array(a)) => {
            if a.len() != bs {
                return Err(Error::Shape(format!(
                    "index has {} entries for {bs} responses",
                    a.len()
                )));
            }
            a.iter()
                .enumerate()
                .map(|(i, v)| match v {
                    Value::String(s) => Ok(s.clone()),
                    Value::Number(n) => Ok(n.to_string()),
                    other => Err(bad(format!(
                        "index[{i}] must be a string or number, got {other}"
                    ))),
                })
                .collect()
        }
        Some(other) => Err(bad(format!(
            "field \"index\" must be an array, got {other}"
        ))),
    }
}

/// Estimators that group responses by `index`.
fn needs_index(e: Estimator) -> bool {
    !matches!(e, Estimator::ReinforcePlusPlus | Estimator::Remax)
}

/// Evaluates one op object (`advantage`, `policy_loss`, `kl`, `agg_loss`).
pub fn evaluate(input: &Value) -> Result<Value> {
    let o = obj(input)?;
    let op = string(o, "op")?;
    match op.as_str() {
        "advantage" => advantage(o),
        "policy_loss" => policy_loss(o),
        "kl" => kl(o),
        "agg_loss" => {
            let loss_mat = rows(o, "loss_mat")?;
            let loss_mask = rows(o, "loss_mask")?;
            let mode = AggMode::from_name(&string(o, "loss_agg_mode")?)?;
            Ok(json!({ "loss": agg_loss(&loss_mat, &loss_mask, mode)? }))
        }
        other => Err(bad(format!(
            "unknown op {other:?}; known: advantage, policy_loss, kl, agg_loss"
        ))),
    }
}

fn advantage(o: &Map<String, Value>) -> Result<Value> {
    let estimator = Estimator::from_name(&string(o, "estimator")?)?;
    let rewards = rows(o, "token_level_rewards")?;
    let mask = rows(o, "response_mask")?;
    check_same_shape("token_level_rewards", &rewards, "response_mask", &mask)?;
    let idx = if needs_index(estimator) {
        index(o, rewards.len())?
    } else {
        match o.get("index") {
            Some(Value::Array(_)) => index(o, rewards.len())?,
            _ => (0..rewards.len()).map(|i| i.to_string()).collect(),
        }
    };
    let baselines = match o.get("reward_baselines") {
        None | Some(Value::Null) => None,
        Some(v) => Some(vector(v, "reward_baselines")?),
    };
    let out = estimator.compute(&AdvantageInput {
        token_level_rewards: &rewards,
        response_mask: &mask,
        index: &idx,
        epsilon: opt_number(o, "epsilon")?.unwrap_or(1e-6),
        norm_adv_by_std_in_grpo: opt_bool(o, "norm_adv_by_std_in_grpo", true)?,
        gamma: opt_number(o, "gamma")?.unwrap_or(1.0),
        reward_baselines: baselines.as_deref(),
    })?;
    Ok(json!({ "advantages": out.advantages, "returns": out.returns }))
}

fn policy_loss(o: &Map<String, Value>) -> Result<Value> {
    let mode = LossMode::from_name(&string(o, "loss_mode")?)?;
    let old = rows(o, "old_log_prob")?;
    let new = rows(o, "log_prob")?;
    let adv = rows(o, "advantages")?;
    let mask = rows(o, "response_mask")?;
    let agg = match o.get("loss_agg_mode") {
        None | Some(Value::Null) => AggMode::TokenMean,
        Some(_) => AggMode::from_name(&string(o, "loss_agg_mode")?)?,
    };
    let clip = ClipRatios::new(
        opt_number(o, "clip_ratio")?,
        opt_number(o, "clip_ratio_low")?,
        opt_number(o, "clip_ratio_high")?,
        opt_number(o, "clip_ratio_c")?,
    );
    let out = mode.compute(&PolicyLossInput {
        old_log_prob: &old,
        log_prob: &new,
        advantages: &adv,
        response_mask: &mask,
        loss_agg_mode: agg,
        clip,
    })?;
    Ok(json!({
        "pg_loss": out.pg_loss,
        "pg_clipfrac": out.pg_clipfrac,
        "ppo_kl": out.ppo_kl,
        "pg_clipfrac_lower": out.pg_clipfrac_lower,
    }))
}

fn kl(o: &Map<String, Value>) -> Result<Value> {
    let est = KlPenalty::from_name(&string(o, "kl_penalty")?)?;
    let logprob = rows(o, "logprob")?;
    let ref_logprob = rows(o, "ref_logprob")?;
    Ok(json!({ "kl": est.values(&logprob, &ref_logprob)? }))
}
