//! Per-tensor parameters, with mergekit's semantics.
//!
//! A parameter (a model's `weight`, `density`, a method's `t` or `lambda`)
//! is one of:
//! - a scalar: `weight = 0.5`;
//! - a gradient over layers: `t = [0.0, 0.5, 1.0]`, interpolated linearly at
//!   `t = layer / (num_layers - 1)`; tensors outside the layers
//!   (embeddings, final norm, lm_head) use `t = 0`;
//! - a list of `{ filter, value }`: the first entry whose `filter` is a
//!   substring of the tensor name wins; an entry without a filter, or with
//!   `filter = "*"`, matches every tensor. Values nest (a filter entry may
//!   hold a gradient).

use serde::{Deserialize, Serialize};

use metaalign_core::{Error, Result};

/// A parameter value: scalar, gradient over layers, or filtered list.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ParamValue {
    /// The same value for every tensor.
    Scalar(f64),
    /// Values spread evenly from the first layer to the last, interpolated
    /// linearly; tensors outside the layers take the first value.
    Gradient(Vec<f64>),
    /// `{ filter, value }` entries; the first whose filter matches wins.
    Filtered(Vec<FilteredValue>),
}

/// One `{ filter, value }` entry of a filtered parameter.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FilteredValue {
    /// Substring of the tensor names the entry applies to; none or `"*"`
    /// matches every tensor.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) filter: Option<String>,
    /// The value for matching tensors.
    pub(crate) value: ParamValue,
}

impl From<f64> for ParamValue {
    fn from(v: f64) -> Self {
        ParamValue::Scalar(v)
    }
}

impl ParamValue {
    /// Parses a JSON value (from a TOML/YAML config or a `MergeModel`),
    /// naming `what` in the error.
    pub fn from_json(value: &serde_json::Value, what: &str) -> Result<Self> {
        let parsed: ParamValue = serde_json::from_value(value.clone()).map_err(|_| {
            Error::config(format!(
                "{what}: expected a number, a list of numbers (a gradient over layers) \
                 or a list of {{ filter, value }} entries, got {value}"
            ))
        })?;
        parsed.check(what)?;
        Ok(parsed)
    }

    fn check(&self, what: &str) -> Result<()> {
        match self {
            ParamValue::Scalar(v) if !v.is_finite() => {
                Err(Error::config(format!("{what}: {v} is not a finite number")))
            }
            ParamValue::Gradient(g) if g.is_empty() => Err(Error::config(format!(
                "{what}: a gradient needs at least one value"
            ))),
            ParamValue::Gradient(g) if g.iter().any(|v| !v.is_finite()) => Err(Error::config(
                format!("{what}: gradient values must be finite"),
            )),
            ParamValue::Filtered(entries) => entries.iter().try_for_each(|e| e.value.check(what)),
            _ => Ok(()),
        }
    }

    /// The value for a tensor named `tensor` at layer position `t` in [0, 1];
    /// `None` when no filter entry matches.
    pub fn resolve(&self, tensor: &str, t: f64) -> Option<f64> {
        match self {
            ParamValue::Scalar(v) => Some(*v),
            ParamValue::Gradient(g) => {
                // mergekit: scaled = t (len-1); i0 = int(scaled); lerp to i0+1.
                let scaled = t * (g.len() - 1) as f64;
                let i0 = (scaled as usize).min(g.len() - 1);
                let i1 = (i0 + 1).min(g.len() - 1);
                let frac = scaled - i0 as f64;
                Some((1.0 - frac) * g[i0] + frac * g[i1])
            }
            ParamValue::Filtered(entries) => {
                entries.iter().find_map(|e| match e.filter.as_deref() {
                    None | Some("*") => Some(e.value.resolve(tensor, t)),
                    Some(f) if tensor.contains(f) => Some(e.value.resolve(tensor, t)),
                    _ => None,
                })?
            }
        }
    }
}

/// Where a tensor sits in the layer stack.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LayerPosition {
    /// Layer index for tensors inside the repeated blocks.
    pub layer: Option<usize>,
    /// Position for gradients: `layer / (num_layers - 1)` (1 when there is
    /// a single layer, as mergekit), 0 outside the layers.
    pub t: f64,
}

/// The layer index in names like `model.layers.12.mlp...`, `transformer.h.3...`,
/// `blocks.7...`.
pub fn layer_index(name: &str) -> Option<usize> {
    let parts: Vec<&str> = name.split('.').collect();
    parts.windows(2).find_map(|w| match w[0] {
        "layers" | "h" | "blocks" | "layer" => w[1].parse().ok(),
        _ => None,
    })
}

/// Layer count implied by a set of tensor names (max index + 1).
pub fn num_layers<'a>(names: impl IntoIterator<Item = &'a str>) -> usize {
    names
        .into_iter()
        .filter_map(layer_index)
        .max()
        .map_or(0, |m| m + 1)
}

/// The gradient position of a tensor given the model's layer count.
pub fn layer_position(name: &str, num_layers: usize) -> LayerPosition {
    match layer_index(name) {
        Some(layer) => LayerPosition {
            layer: Some(layer),
            t: if num_layers > 1 {
                layer as f64 / (num_layers - 1) as f64
            } else {
                1.0
            },
        },
        None => LayerPosition {
            layer: None,
            t: 0.0,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> ParamValue {
        #[derive(Deserialize)]
        struct W {
            v: ParamValue,
        }
        toml::from_str::<W>(s).unwrap().v
    }

    #[test]
    fn scalar_gradient_and_filters_resolve_like_mergekit() {
        assert_eq!(parse("v = 1").resolve("x", 0.3), Some(1.0));
        let g = parse("v = [0.0, 0.5, 1.0]");
        assert_eq!(g.resolve("x", 0.0), Some(0.0));
        assert_eq!(g.resolve("x", 0.25), Some(0.25));
        assert_eq!(g.resolve("x", 1.0), Some(1.0));
        let f = parse(
            r#"v = [{ filter = "self_attn", value = 0.1 }, { filter = "mlp", value = [0.0, 1.0] }, { value = 0.7 }]"#,
        );
        assert_eq!(
            f.resolve("model.layers.0.self_attn.q_proj.weight", 0.5),
            Some(0.1)
        );
        assert_eq!(
            f.resolve("model.layers.1.mlp.up_proj.weight", 0.5),
            Some(0.5)
        );
        assert_eq!(f.resolve("model.norm.weight", 0.0), Some(0.7));
        let no_fallback = parse(r#"v = [{ filter = "mlp", value = 1.0 }]"#);
        assert_eq!(no_fallback.resolve("model.norm.weight", 0.0), None);
        let star = parse(r#"v = [{ filter = "*", value = 2.0 }]"#);
        assert_eq!(star.resolve("anything", 0.0), Some(2.0));
    }

    #[test]
    fn layer_positions() {
        let names = [
            "model.embed_tokens.weight",
            "model.layers.0.a",
            "model.layers.3.b",
        ];
        assert_eq!(num_layers(names), 4);
        assert_eq!(layer_position("model.layers.3.b", 4).t, 1.0);
        assert_eq!(layer_position("model.layers.1.b", 4).layer, Some(1));
        assert_eq!(layer_position("lm_head.weight", 4).t, 0.0);
        assert_eq!(layer_position("model.layers.0.a", 1).t, 1.0);
    }

    #[test]
    fn bad_values_are_named() {
        let err = ParamValue::from_json(&serde_json::json!("x"), "model `a` weight").unwrap_err();
        assert!(err.to_string().contains("model `a` weight"), "{err}");
        assert!(ParamValue::from_json(&serde_json::json!([]), "w").is_err());
        // integers (the paper's `weight: 1`) are numbers too
        assert_eq!(
            ParamValue::from_json(&serde_json::json!(1), "w").unwrap(),
            ParamValue::Scalar(1.0)
        );
    }
}
