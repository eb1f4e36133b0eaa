//! Import of mergekit YAML configs (`metaalign merge --mergekit-yaml`).
//!
//! Supported: `models:` lists, or `slices:` with one slice whose sources
//! each cover their model's full layer range; `merge_method` (linear,
//! task_arithmetic, ties, dare_linear, dare_ties, breadcrumbs,
//! breadcrumbs_ties, slerp, model_stock); `base_model`; global, slice and
//! per-source `parameters` (scalars, gradients, `{filter, value}` lists) with
//! mergekit's precedence source > slice > global; `dtype` and `out_dtype`.
//! Model references must be local checkpoint directories.
//!
//! Differences: the maths always runs in f32 (mergekit runs it in `dtype`,
//! so bf16/f16 `dtype` merges may differ in the last bits); tokenizer
//! merging (`tokenizer_source: union`, `tokenizer:`) is not supported: files
//! are copied from the base model (or the first model), with a warning.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use metaalign_core::config::MergeConfig;
use metaalign_core::merge::{MergeInputs, MergeModel, MergeOptions};
use metaalign_core::{Error, Result};

use crate::checkpoint::Checkpoint;
use crate::dtype::FloatDType;
use crate::params::num_layers;

/// Per-model parameter names (may also be given globally as defaults).
const MODEL_KEYS: &[&str] = &["weight", "density", "gamma", "epsilon"];

/// (model reference, its parameters, its slice's parameters)
type Source = (String, Map<String, Value>, Map<String, Value>);

/// A mergekit config translated to ours.
#[derive(Debug)]
pub struct Imported {
    /// The merge method and its options (`merge_method` and the global
    /// method parameters).
    pub method: Box<dyn MergeConfig>,
    /// The models, base, output directory and options.
    pub inputs: MergeInputs,
    /// Settings we ignored or changed, for the user.
    pub warnings: Vec<String>,
}

fn err(msg: impl Into<String>) -> Error {
    Error::config(format!("mergekit YAML: {}", msg.into()))
}

fn as_map(v: Option<&Value>, what: &str) -> Result<Map<String, Value>> {
    match v {
        None | Some(Value::Null) => Ok(Map::new()),
        Some(Value::Object(m)) => Ok(m.clone()),
        Some(other) => Err(err(format!("`{what}` must be a mapping, got {other}"))),
    }
}

fn model_ref(v: &Value, what: &str) -> Result<String> {
    match v {
        Value::String(s) => Ok(s.clone()),
        Value::Object(m) => match m.get("model").or_else(|| m.get("path")) {
            Some(Value::String(s)) => Ok(s.clone()),
            _ => Err(err(format!("`{what}`: unsupported model reference {v}"))),
        },
        _ => Err(err(format!("`{what}`: expected a model path, got {v}"))),
    }
}

fn resolve_path(reference: &str, yaml_dir: &Path) -> Result<PathBuf> {
    if reference.contains('+') && !Path::new(reference).exists() {
        return Err(err(format!(
            "model `{reference}`: LoRA references (model+lora) are not supported; merge the adapter first"
        )));
    }
    let p = PathBuf::from(reference);
    if p.is_dir() {
        return Ok(p);
    }
    let beside = yaml_dir.join(&p);
    if !p.is_absolute() && beside.is_dir() {
        return Ok(beside);
    }
    Err(err(format!(
        "model `{reference}` is not a local checkpoint directory (downloading from the Hugging Face Hub is not supported; download it and give its path)"
    )))
}

/// Parses a mergekit YAML config. Relative model paths are resolved against
/// the current directory (as mergekit does), then against `yaml_dir`.
pub fn import_yaml(text: &str, yaml_dir: &Path, out: &Path) -> Result<Imported> {
    let doc: Value =
        serde_yaml_ng::from_str(text).map_err(|e| err(format!("invalid YAML: {e}")))?;
    let Value::Object(doc) = doc else {
        return Err(err("the top level must be a mapping"));
    };
    let mut warnings = Vec::new();
    let known_top = [
        "models",
        "slices",
        "modules",
        "merge_method",
        "base_model",
        "parameters",
        "dtype",
        "out_dtype",
        "tokenizer_source",
        "tokenizer",
        "chat_template",
        "name",
    ];
    if let Some(k) = doc.keys().find(|k| !known_top.contains(&k.as_str())) {
        return Err(err(format!(
            "unknown key `{k}` (known: {})",
            known_top.join(", ")
        )));
    }
    let method_name = match doc.get("merge_method") {
        Some(Value::String(s)) => s.clone(),
        _ => return Err(err("`merge_method` is required")),
    };
    if doc.contains_key("modules") {
        return Err(err(
            "`modules` configs are not supported; use `models` or `slices`",
        ));
    }
    let global = as_map(doc.get("parameters"), "parameters")?;
    let mut base_ref = match doc.get("base_model") {
        None | Some(Value::Null) => None,
        Some(v) => Some(model_ref(v, "base_model")?),
    };

    // (reference, per-source parameters, slice parameters)
    let mut sources: Vec<Source> = Vec::new();
    match (doc.get("models"), doc.get("slices")) {
        (Some(_), Some(_)) => return Err(err("give either `models` or `slices`, not both")),
        (Some(Value::Array(models)), None) => {
            for (i, m) in models.iter().enumerate() {
                let entry = as_map(Some(m), &format!("models[{i}]"))?;
                let reference = model_ref(
                    entry
                        .get("model")
                        .ok_or_else(|| err(format!("models[{i}] needs `model`")))?,
                    &format!("models[{i}].model"),
                )?;
                let params = as_map(entry.get("parameters"), &format!("models[{i}].parameters"))?;
                sources.push((reference, params, Map::new()));
            }
        }
        (None, Some(Value::Array(slices))) => {
            if slices.len() != 1 {
                return Err(err(format!(
                    "{} slices given; only a single slice covering every layer is supported",
                    slices.len()
                )));
            }
            let slice = as_map(Some(&slices[0]), "slices[0]")?;
            let slice_params = as_map(slice.get("parameters"), "slices[0].parameters")?;
            if let Some(b) = slice.get("base_model") {
                base_ref = Some(model_ref(b, "slices[0].base_model")?);
            }
            let Some(Value::Array(srcs)) = slice.get("sources") else {
                return Err(err("slices[0] needs a `sources` list"));
            };
            for (i, s) in srcs.iter().enumerate() {
                let entry = as_map(Some(s), &format!("slices[0].sources[{i}]"))?;
                let reference = model_ref(
                    entry
                        .get("model")
                        .ok_or_else(|| err(format!("slices[0].sources[{i}] needs `model`")))?,
                    &format!("slices[0].sources[{i}].model"),
                )?;
                if let Some(range) = entry.get("layer_range") {
                    let path = resolve_path(&reference, yaml_dir)?;
                    let ckpt = Checkpoint::open(&path)?;
                    let layers = num_layers(ckpt.names().iter().map(String::as_str));
                    let full = Value::from(vec![0, layers]);
                    if range != &full {
                        return Err(err(format!(
                            "slices[0].sources[{i}] has layer_range {range}, but only the full range {full} of `{reference}` is supported"
                        )));
                    }
                }
                let params = as_map(
                    entry.get("parameters"),
                    &format!("slices[0].sources[{i}].parameters"),
                )?;
                sources.push((reference, params, slice_params.clone()));
            }
        }
        _ => return Err(err("`models` or `slices` (a list) is required")),
    }
    if sources.is_empty() {
        return Err(err("no input models"));
    }

    // Method-level parameters: global, overridden by the slice.
    let mut method_params = Map::new();
    for (k, v) in global.iter().chain(sources[0].2.iter()) {
        if !MODEL_KEYS.contains(&k.as_str()) {
            method_params.insert(k.clone(), v.clone());
        }
    }
    if method_params.remove("int8_mask").is_some() {
        warnings.push("`int8_mask` only saves memory in mergekit; ignored".into());
    }
    let mut method_value = method_params.clone();
    method_value.insert("kind".into(), Value::String(method_name.clone()));
    let method: Box<dyn MergeConfig> = serde_json::from_value(Value::Object(method_value))
        .map_err(|e| {
            err(format!(
                "merge_method `{method_name}` with parameters {}: {e}",
                Value::Object(method_params.clone())
            ))
        })?;

    let uses_base = method_name != "linear";
    let base_path = base_ref
        .as_deref()
        .map(|r| resolve_path(r, yaml_dir))
        .transpose()?;
    let mut models = Vec::new();
    let mut names: BTreeMap<String, usize> = BTreeMap::new();
    for (reference, params, slice_params) in &sources {
        let path = resolve_path(reference, yaml_dir)?;
        if uses_base {
            if let Some(bp) = &base_path {
                if same(&path, bp) {
                    continue; // the base enters as `base`, not as a task model
                }
            }
        }
        let mut merged = BTreeMap::new();
        for key in MODEL_KEYS {
            let v = params
                .get(*key)
                .or_else(|| slice_params.get(*key))
                .or_else(|| global.get(*key));
            if let Some(v) = v {
                merged.insert(key.to_string(), v.clone());
            }
        }
        if let Some(k) = params.keys().find(|k| !MODEL_KEYS.contains(&k.as_str())) {
            return Err(err(format!(
                "model `{reference}`: unknown per-model parameter `{k}` (known: {})",
                MODEL_KEYS.join(", ")
            )));
        }
        let mut name = Path::new(reference)
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| reference.clone());
        let count = names.entry(name.clone()).or_insert(0);
        *count += 1;
        if *count > 1 {
            name = format!("{name}#{count}");
        }
        models.push(MergeModel {
            name,
            path,
            params: merged,
        });
    }
    // Keep only the per-model keys the method reads (mergekit ignores others).
    let known: Vec<&str> = match method_name.as_str() {
        "linear" | "task_arithmetic" => vec!["weight"],
        "ties" | "dare_linear" | "dare_ties" => vec!["weight", "density"],
        "breadcrumbs" | "breadcrumbs_ties" => vec!["weight", "density", "gamma"],
        _ => vec![],
    };
    for m in &mut models {
        let dropped: Vec<String> = m
            .params
            .keys()
            .filter(|k| !known.contains(&k.as_str()))
            .cloned()
            .collect();
        for k in dropped {
            m.params.remove(&k);
            warnings.push(format!(
                "`{method_name}` does not use `{k}` (model `{}`); ignored",
                m.name
            ));
        }
    }
    let base = base_path.map(|p| {
        let name = Path::new(base_ref.as_deref().unwrap_or("base"))
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "base".into());
        let name = if models.iter().any(|m| m.name == name) {
            format!("{name}#base")
        } else {
            name
        };
        MergeModel::new(name, p)
    });

    let dtype = match doc.get("dtype") {
        Some(Value::String(s)) => Some(s.parse::<FloatDType>()?),
        None | Some(Value::Null) => None,
        Some(v) => return Err(err(format!("`dtype` must be a string, got {v}"))),
    };
    let out_dtype = match doc.get("out_dtype") {
        Some(Value::String(s)) => Some(s.parse::<FloatDType>()?),
        None | Some(Value::Null) => dtype,
        Some(v) => return Err(err(format!("`out_dtype` must be a string, got {v}"))),
    };
    if matches!(dtype, Some(FloatDType::BF16 | FloatDType::F16)) {
        warnings.push(format!(
            "dtype {}: the maths runs in float32 here (mergekit runs it in {0}); last-bit differences are possible",
            dtype.map(|d| d.torch_name()).unwrap_or_default()
        ));
    }
    if let Some(ts) = doc.get("tokenizer_source") {
        if ts != "base" {
            warnings.push(format!(
                "tokenizer_source {ts} is not supported; tokenizer files are copied from the base (or first) model"
            ));
        }
    }
    if doc.contains_key("tokenizer") || doc.contains_key("chat_template") {
        warnings.push(
            "`tokenizer` / `chat_template` are not supported; files are copied unchanged".into(),
        );
    }
    // Config/tokenizer files come from base_model (even for linear), else the first model.
    let copy_from = base.as_ref().map(|b| b.name.clone());
    let (base, copy_files_from, extra_base) = if uses_base {
        (base, copy_from, None)
    } else {
        // linear ignores the base for the maths; its files are still the source.
        (None, None, base)
    };
    let mut inputs = MergeInputs {
        models,
        base,
        out: out.to_path_buf(),
        seed: 0,
        options: MergeOptions {
            out_dtype: out_dtype.map(|d| d.torch_name().to_string()),
            copy_files_from,
            ..MergeOptions::default()
        },
    };
    if let Some(b) = extra_base {
        // linear: copy files from the base model's directory when it is an input
        if let Some(m) = inputs.models.iter().find(|m| same(&m.path, &b.path)) {
            inputs.options.copy_files_from = Some(m.name.clone());
        } else {
            warnings.push(format!(
                "base_model `{}` is not among the linear inputs; config files are copied from the first model",
                b.path.display()
            ));
        }
    }
    if inputs.models.is_empty() {
        return Err(err("no models besides the base model"));
    }
    Ok(Imported {
        method,
        inputs,
        warnings,
    })
}

fn same(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixtures() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/mergekit")
    }

    fn import(yaml: &str) -> Result<Imported> {
        import_yaml(yaml, &fixtures(), Path::new("/tmp/unused-out"))
    }

    #[test]
    fn global_parameters_fill_models_and_the_base_is_separated() {
        let imp = import(
            "models:\n  - model: ./inputs/base\n  - model: ./inputs/model_a\n    parameters: {density: 0.4}\n  - model: ./inputs/model_b\n    parameters: {weight: 0.3}\n\
             merge_method: ties\nbase_model: ./inputs/base\nparameters: {weight: 1.0, density: 0.7, normalize: false, int8_mask: true}\nout_dtype: bfloat16\n",
        )
        .unwrap();
        let m = &imp.inputs.models;
        assert_eq!(m.len(), 2, "base is not a task model");
        assert_eq!(m[0].params["weight"], serde_json::json!(1.0));
        assert_eq!(m[0].params["density"], serde_json::json!(0.4));
        assert_eq!(m[1].params["weight"], serde_json::json!(0.3));
        assert_eq!(m[1].params["density"], serde_json::json!(0.7));
        assert!(imp.inputs.base.is_some());
        assert_eq!(imp.inputs.options.out_dtype.as_deref(), Some("bfloat16"));
        assert!(imp.warnings.iter().any(|w| w.contains("int8_mask")));
        let cfg = serde_json::to_value(&imp.method).unwrap();
        assert_eq!(cfg["kind"], "ties");
        assert_eq!(cfg["normalize"], false);
    }

    #[test]
    fn unsupported_inputs_are_named() {
        let e = import("models: []\nmerge_method: linear\nfoo: 1\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("unknown key `foo`"), "{e}");
        let e = import("models:\n  - model: meta-llama/Llama-3-8B\n    parameters: {weight: 1}\nmerge_method: linear\n")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("meta-llama/Llama-3-8B") && e.contains("local"),
            "{e}"
        );
        let e = import(
            "slices:\n  - sources:\n      - model: ./inputs/model_a\n        layer_range: [0, 2]\nmerge_method: linear\n",
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("layer_range") && e.contains("[0,3]"), "{e}");
        let e = import("models:\n  - model: ./inputs/model_a\nmerge_method: frankenmerge\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("frankenmerge"), "{e}");
        let e = import("models:\n  - model: ./inputs/model_a\n    parameters: {wieght: 1}\nmerge_method: linear\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("wieght"), "{e}");
        let e = import("merge_method: linear\n").unwrap_err().to_string();
        assert!(e.contains("`models` or `slices`"), "{e}");
    }
}
