//! Checking a merge plan before any work: per-model parameters parse, the
//! method gets what it needs (model count, base, parameter names), input
//! names are distinct, the output location is usable, and every checkpoint
//! opens and agrees with the first on tensor names, shapes and float
//! dtypes. The result, [`Validated`], says what the output will be.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use metaalign_core::merge::MergeModel;
use metaalign_core::{Error, Result};

use crate::checkpoint::Checkpoint;
use crate::dtype::FloatDType;
use crate::engine::plan::MergePlan;
use crate::method::BaseUse;
use crate::params::{num_layers, ParamValue};
use crate::writer::OutTensor;

/// A plan checked against its inputs: what the scheduler and the writer
/// work from.
pub(crate) struct Validated {
    /// The opened checkpoints: the models in plan order, then the base.
    pub(crate) ckpts: Vec<Checkpoint>,
    /// Each model's per-model parameters, parsed (in plan order).
    pub(crate) params: Vec<BTreeMap<String, ParamValue>>,
    /// The output tensors, in the first model's storage order.
    pub(crate) tensors: Vec<OutTensor>,
    /// The layer count implied by the tensor names (for gradients).
    pub(crate) layers: usize,
    /// The dtype the output is written in.
    pub(crate) out_dtype: FloatDType,
    /// The checkpoint directory whose config and tokenizer files are copied.
    pub(crate) copy_from: PathBuf,
}

/// Checks `plan` and opens its inputs. Nothing is written.
pub(crate) fn validate(plan: &MergePlan) -> Result<Validated> {
    let params = parse_params(plan)?;
    check_method(plan)?;
    check_output(plan)?;
    let ckpts = open_and_check(plan)?;
    let reference = &ckpts[0];
    let tensors: Vec<OutTensor> = reference
        .names()
        .iter()
        .map(|n| OutTensor {
            name: n.clone(),
            shape: reference.entry(n).expect("listed").shape.clone(),
        })
        .collect();
    let layers = num_layers(tensors.iter().map(|t| t.name.as_str()));
    let out_dtype = match &plan.options.out_dtype {
        Some(s) => s.parse::<FloatDType>()?,
        None => {
            let first = reference.entry(&tensors[0].name).expect("listed");
            match FloatDType::from_safetensors(first.dtype) {
                Some(FloatDType::F64) | None => FloatDType::F32,
                Some(d) => d,
            }
        }
    };
    // An adapter input's config and tokenizer files are its base's.
    let copy_from = ckpts[copy_source(plan)?].model_files_dir().to_path_buf();
    Ok(Validated {
        ckpts,
        params,
        tensors,
        layers,
        out_dtype,
        copy_from,
    })
}

/// Parses every input's per-model parameters (the base's too, so that a
/// malformed one is reported); returns the models'.
fn parse_params(plan: &MergePlan) -> Result<Vec<BTreeMap<String, ParamValue>>> {
    let parse = |m: &MergeModel| -> Result<BTreeMap<String, ParamValue>> {
        m.params
            .iter()
            .map(|(k, v)| {
                Ok((
                    k.clone(),
                    ParamValue::from_json(v, &format!("model `{}` parameter `{k}`", m.name))?,
                ))
            })
            .collect()
    };
    let models = plan.models.iter().map(parse).collect::<Result<_>>()?;
    plan.base.as_ref().map(parse).transpose()?;
    Ok(models)
}

/// Checks the plan against the method's needs (counts, base, parameter
/// names) and that input names are distinct.
fn check_method(plan: &MergePlan) -> Result<()> {
    let method = plan.method.as_ref();
    method.check(plan.models.len(), plan.base.is_some())?;
    if method.base_use() == BaseUse::Required && plan.base.is_none() {
        return Err(Error::config(format!(
            "`{}` needs a base model (`base = ...`)",
            method.kind()
        )));
    }
    let mut names = BTreeSet::new();
    for m in plan.inputs() {
        if !names.insert(m.name.as_str()) {
            return Err(Error::config(format!(
                "model name `{}` is used twice; give each input a distinct name",
                m.name
            )));
        }
    }
    let known = method.model_params();
    for m in &plan.models {
        if let Some(key) = m.params.keys().find(|k| !known.contains(&k.as_str())) {
            return Err(Error::config(format!(
                "model `{}`: `{}` does not take per-model parameter `{key}` (known: {})",
                m.name,
                method.kind(),
                if known.is_empty() {
                    "none".to_string()
                } else {
                    known.join(", ")
                }
            )));
        }
    }
    Ok(())
}

/// The output must not be an input, nor exist unless it may be replaced.
fn check_output(plan: &MergePlan) -> Result<()> {
    let out = &plan.out;
    for m in plan.inputs() {
        if same_dir(out, &m.path) {
            return Err(Error::config(format!(
                "the output directory {} is input model `{}`; choose another output",
                out.display(),
                m.name
            )));
        }
    }
    if out.exists() && !plan.options.overwrite {
        return Err(Error::config(format!(
            "output directory {} already exists (use --force / overwrite to replace it)",
            out.display()
        )));
    }
    Ok(())
}

fn same_dir(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

/// Opens every input and checks that they agree on tensor names, shapes and
/// (floating-point) dtypes. Returns the checkpoints (models, then base).
fn open_and_check(plan: &MergePlan) -> Result<Vec<Checkpoint>> {
    let all: Vec<&MergeModel> = plan.inputs().collect();
    let mut ckpts = Vec::new();
    for m in &all {
        let ckpt = Checkpoint::open(&m.path).map_err(|e| {
            Error::config(format!("model `{}` ({}): {e}", m.name, m.path.display()))
        })?;
        ckpts.push(ckpt);
    }
    let reference = &ckpts[0];
    let ref_name = &all[0].name;
    if reference.is_empty() {
        return Err(Error::config(format!(
            "model `{ref_name}` ({}) has no tensors",
            reference.dir.display()
        )));
    }
    for (m, ckpt) in all.iter().zip(&ckpts) {
        for name in ckpt.names() {
            let e = ckpt.entry(name).expect("listed");
            if FloatDType::from_safetensors(e.dtype).is_none() {
                return Err(Error::Shape(format!(
                    "tensor `{name}` of model `{}` has dtype {:?}; only float32/bfloat16/float16/float64 tensors can be merged",
                    m.name, e.dtype
                )));
            }
        }
    }
    for (m, ckpt) in all.iter().zip(&ckpts).skip(1) {
        for name in reference.names() {
            let r = reference.entry(name).expect("listed");
            let Some(e) = ckpt.entry(name) else {
                return Err(Error::Shape(format!(
                    "model `{}` ({}) has no tensor `{name}`, which model `{ref_name}` has",
                    m.name,
                    m.path.display()
                )));
            };
            if e.shape != r.shape {
                return Err(Error::Shape(format!(
                    "tensor `{name}`: model `{ref_name}` has shape {:?} but model `{}` has shape {:?}",
                    r.shape, m.name, e.shape
                )));
            }
        }
        if let Some(extra) = ckpt.names().iter().find(|n| reference.entry(n).is_none()) {
            return Err(Error::Shape(format!(
                "model `{}` ({}) has tensor `{extra}`, which model `{ref_name}` lacks",
                m.name,
                m.path.display()
            )));
        }
    }
    Ok(ckpts)
}

/// The input whose config and tokenizer files are copied (its index among
/// the inputs): `copy_files_from`, else the base, else the first model.
fn copy_source(plan: &MergePlan) -> Result<usize> {
    let source_name = plan
        .options
        .copy_files_from
        .clone()
        .or_else(|| plan.base.as_ref().map(|b| b.name.clone()))
        .unwrap_or_else(|| plan.models[0].name.clone());
    plan.inputs()
        .position(|m| m.name == source_name)
        .ok_or_else(|| {
            Error::config(format!(
                "copy_files_from names `{source_name}`, which is not an input model"
            ))
        })
}
