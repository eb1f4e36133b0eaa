//! The streaming merge engine: validates the inputs, plans the output,
//! merges tensor by tensor in parallel under a memory budget, writes
//! shards as it goes, copies config/tokenizer files and renames a temp dir
//! into place at the end.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Instant;

use indicatif::{ProgressBar, ProgressStyle};

use metaalign_core::merge::{MergeInputs, MergeOptions, MergeSummary};
use metaalign_core::{Error, Result};

use crate::checkpoint::Checkpoint;
use crate::dtype::FloatDType;
use crate::method::{BaseUse, ModelParams, TensorContext, TensorMerge};
use crate::params::{layer_position, num_layers, ParamValue};
use crate::writer::{OutTensor, ShardedWriter};

/// Default shard size: mergekit's "5B" (bytes).
pub const DEFAULT_SHARD_BYTES: u64 = 5_000_000_000;
/// Default bound on the memory of tensors merged at once.
pub const DEFAULT_IN_FLIGHT_BYTES: u64 = 1 << 30;
/// Elementwise methods process large tensors in chunks of this many elements.
pub const CHUNK_ELEMENTS: usize = 1 << 22;

/// Files copied from the source model next to the merged weights.
pub const COPIED_FILES: &[&str] = &[
    "config.json",
    "generation_config.json",
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "added_tokens.json",
    "vocab.json",
    "merges.txt",
    "tokenizer.model",
    "chat_template.jinja",
];

/// One input of a plan.
#[derive(Clone, Debug, PartialEq)]
pub struct PlanModel {
    pub name: String,
    pub path: PathBuf,
    pub params: BTreeMap<String, ParamValue>,
}

impl PlanModel {
    pub fn new(name: impl Into<String>, path: impl Into<PathBuf>) -> Self {
        Self {
            name: name.into(),
            path: path.into(),
            params: BTreeMap::new(),
        }
    }

    pub fn with_param(mut self, key: &str, value: impl Into<ParamValue>) -> Self {
        self.params.insert(key.to_string(), value.into());
        self
    }
}

/// Everything a merge needs.
#[derive(Clone, Debug)]
pub struct MergePlan {
    pub models: Vec<PlanModel>,
    pub base: Option<PlanModel>,
    pub method: Arc<dyn TensorMerge>,
    pub out: PathBuf,
    pub seed: u64,
    pub options: MergeOptions,
}

impl MergePlan {
    /// From the core contract's inputs (JSON parameters parsed and checked).
    pub fn from_inputs(method: Arc<dyn TensorMerge>, inputs: &MergeInputs) -> Result<Self> {
        let convert = |m: &metaalign_core::merge::MergeModel| -> Result<PlanModel> {
            let params = m
                .params
                .iter()
                .map(|(k, v)| {
                    Ok((
                        k.clone(),
                        ParamValue::from_json(v, &format!("model `{}` parameter `{k}`", m.name))?,
                    ))
                })
                .collect::<Result<_>>()?;
            Ok(PlanModel {
                name: m.name.clone(),
                path: m.path.clone(),
                params,
            })
        };
        Ok(Self {
            models: inputs.models.iter().map(convert).collect::<Result<_>>()?,
            base: inputs.base.as_ref().map(convert).transpose()?,
            method,
            out: inputs.out.clone(),
            seed: inputs.seed,
            options: inputs.options.clone(),
        })
    }
}

/// Peak resident set size of this process (`VmHWM`), Linux only.
pub fn peak_rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// Checks the plan against the method's needs (counts, base, parameter names).
fn check_plan(plan: &MergePlan) -> Result<()> {
    let method = plan.method.as_ref();
    method.check(plan.models.len(), plan.base.is_some())?;
    if method.base_use() == BaseUse::Required && plan.base.is_none() {
        return Err(Error::config(format!(
            "`{}` needs a base model (`base = ...`)",
            method.kind()
        )));
    }
    let mut names = BTreeSet::new();
    for m in plan.models.iter().chain(plan.base.iter()) {
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

/// Opens every input and checks that they agree on tensor names, shapes and
/// (floating-point) dtypes. Returns the checkpoints (models, then base).
fn open_and_validate(plan: &MergePlan) -> Result<Vec<Checkpoint>> {
    let mut ckpts = Vec::new();
    let all: Vec<&PlanModel> = plan.models.iter().chain(plan.base.iter()).collect();
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

/// Removes a directory on drop unless disarmed.
struct TempDir {
    path: PathBuf,
    armed: bool,
}

impl Drop for TempDir {
    fn drop(&mut self) {
        if self.armed {
            let _ = std::fs::remove_dir_all(&self.path);
        }
    }
}

fn same_dir(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

/// A byte budget shared by the workers.
struct Budget {
    left: Mutex<u64>,
    cv: Condvar,
}

impl Budget {
    fn acquire(&self, n: u64) {
        let mut left = self.left.lock().unwrap_or_else(|p| p.into_inner());
        while *left < n {
            left = self.cv.wait(left).unwrap_or_else(|p| p.into_inner());
        }
        *left -= n;
    }

    fn release(&self, n: u64) {
        let mut left = self.left.lock().unwrap_or_else(|p| p.into_inner());
        *left += n;
        self.cv.notify_all();
    }
}

/// Runs a merge plan end to end. On error nothing is left at `plan.out`
/// (and an existing output is untouched); inputs are only ever read.
pub fn run_merge(plan: &MergePlan) -> Result<MergeSummary> {
    let started = Instant::now();
    check_plan(plan)?;

    // Output location checks before any work.
    let out = &plan.out;
    for m in plan.models.iter().chain(plan.base.iter()) {
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

    let ckpts = open_and_validate(plan)?;
    let reference = &ckpts[0];
    let names: Vec<String> = reference.names().to_vec();
    let layers = num_layers(names.iter().map(String::as_str));

    let out_dtype = match &plan.options.out_dtype {
        Some(s) => s.parse::<FloatDType>()?,
        None => {
            let first = reference.entry(&names[0]).expect("listed");
            match FloatDType::from_safetensors(first.dtype) {
                Some(FloatDType::F64) | None => FloatDType::F32,
                Some(d) => d,
            }
        }
    };
    let shard_bytes = plan.options.shard_size_bytes.unwrap_or(DEFAULT_SHARD_BYTES);
    let budget_total = plan
        .options
        .max_in_flight_bytes
        .unwrap_or(DEFAULT_IN_FLIGHT_BYTES)
        .max(1);

    // Temp dir next to the output.
    let file_name = out
        .file_name()
        .ok_or_else(|| Error::config(format!("invalid output path {}", out.display())))?
        .to_string_lossy()
        .into_owned();
    let parent = match out.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    std::fs::create_dir_all(&parent).map_err(|e| Error::io(&parent, e))?;
    let tmp_path = parent.join(format!(".{file_name}.merge-tmp-{}", std::process::id()));
    if tmp_path.exists() {
        std::fs::remove_dir_all(&tmp_path).map_err(|e| Error::io(&tmp_path, e))?;
    }
    std::fs::create_dir(&tmp_path).map_err(|e| Error::io(&tmp_path, e))?;
    let mut tmp = TempDir {
        path: tmp_path.clone(),
        armed: true,
    };

    let out_tensors: Vec<OutTensor> = names
        .iter()
        .map(|n| OutTensor {
            name: n.clone(),
            shape: reference.entry(n).expect("listed").shape.clone(),
        })
        .collect();
    let writer = ShardedWriter::create(&tmp_path, &out_tensors, out_dtype, shard_bytes)?;

    let progress = if plan.options.progress {
        let bar = ProgressBar::new(names.len() as u64);
        bar.set_style(
            ProgressStyle::with_template(
                "{spinner} merging [{bar:40}] {pos}/{len} tensors {elapsed_precise} eta {eta}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
        );
        metaalign_core::progress::multi().add(bar)
    } else {
        ProgressBar::hidden()
    };

    let threads = plan
        .options
        .threads
        .unwrap_or_else(rayon::current_num_threads)
        .max(1);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .map_err(|e| Error::wrap("could not start merge threads", e))?;
    let budget = Budget {
        left: Mutex::new(budget_total),
        cv: Condvar::new(),
    };
    let next = AtomicUsize::new(0);
    let failed = AtomicBool::new(false);
    let first_error: Mutex<Option<(usize, Error)>> = Mutex::new(None);
    let num_models = plan.models.len();
    let method = plan.method.as_ref();

    let merge_one = |i: usize| -> Result<()> {
        let name = &names[i];
        let shape = &out_tensors[i].shape;
        let numel: usize = shape.iter().product();
        let position = layer_position(name, layers);
        let params: Vec<ModelParams> = plan
            .models
            .iter()
            .map(|m| ModelParams {
                model: m.name.clone(),
                values: m
                    .params
                    .iter()
                    .filter_map(|(k, v)| v.resolve(name, position.t).map(|x| (k.clone(), x)))
                    .collect(),
            })
            .collect();
        for c in &ckpts {
            c.prefetch(name);
        }
        let chunk = if method.elementwise() {
            CHUNK_ELEMENTS
        } else {
            numel.max(1)
        };
        let mut start = 0;
        loop {
            let end = (start + chunk).min(numel);
            let inputs: Vec<Cow<'_, [f32]>> = ckpts
                .iter()
                .map(|c| c.read_f32_range(name, start..end))
                .collect::<Result<_>>()?;
            let slices: Vec<&[f32]> = inputs[..num_models].iter().map(|c| c.as_ref()).collect();
            let base = plan.base.as_ref().map(|_| inputs[num_models].as_ref());
            let ctx = TensorContext {
                name,
                shape,
                position,
                range: start..end,
                seed: plan.seed,
            };
            let part = method.merge_tensor(&ctx, &slices, &params, base)?;
            if part.len() != end - start {
                return Err(Error::Shape(format!(
                    "method `{}` returned {} values for tensor `{name}` (elements {start}..{end}), expected {}",
                    method.kind(),
                    part.len(),
                    end - start
                )));
            }
            drop(slices);
            drop(inputs);
            for c in &ckpts {
                c.release(name, start..end);
            }
            writer.write_at(i, start, &part, start == 0 && end == numel)?;
            start = end;
            if start >= numel {
                break;
            }
        }
        Ok(())
    };

    pool.scope(|s| {
        for _ in 0..threads {
            s.spawn(|_| loop {
                if failed.load(Ordering::SeqCst) {
                    break;
                }
                let i = next.fetch_add(1, Ordering::SeqCst);
                if i >= names.len() {
                    break;
                }
                let numel: usize = out_tensors[i].shape.iter().product();
                let work = if method.elementwise() {
                    numel.min(CHUNK_ELEMENTS)
                } else {
                    numel
                };
                let cost = (work as u64 * 4 * (ckpts.len() as u64 + 1)
                    + method.working_bytes(work, num_models))
                .min(budget_total);
                budget.acquire(cost);
                let result = merge_one(i);
                budget.release(cost);
                if let Err(e) = result {
                    failed.store(true, Ordering::SeqCst);
                    let mut slot = first_error.lock().unwrap_or_else(|p| p.into_inner());
                    if slot.as_ref().is_none_or(|(j, _)| i < *j) {
                        *slot = Some((i, e));
                    }
                    break;
                }
                progress.inc(1);
            });
        }
    });
    progress.finish_and_clear();
    if let Some((_, e)) = first_error.into_inner().unwrap_or_else(|p| p.into_inner()) {
        return Err(e);
    }
    let bytes_written = writer.total_bytes();
    writer.finish()?;

    // Config and tokenizer files.
    let source_name = plan
        .options
        .copy_files_from
        .clone()
        .or_else(|| plan.base.as_ref().map(|b| b.name.clone()))
        .unwrap_or_else(|| plan.models[0].name.clone());
    let source = plan
        .models
        .iter()
        .chain(plan.base.iter())
        .find(|m| m.name == source_name)
        .ok_or_else(|| {
            Error::config(format!(
                "copy_files_from names `{source_name}`, which is not an input model"
            ))
        })?;
    copy_model_files(&source.path, &tmp_path, out_dtype)?;
    let provenance = serde_json::json!({
        "method": method.kind(),
        "models": plan.models.iter().map(|m| serde_json::json!({
            "name": m.name, "path": m.path, "params": m.params,
        })).collect::<Vec<_>>(),
        "base": plan.base.as_ref().map(|b| serde_json::json!({"name": b.name, "path": b.path})),
        "out_dtype": out_dtype.torch_name(),
        "seed": plan.seed,
    });
    let prov_path = tmp_path.join("metaalign_merge.json");
    std::fs::write(&prov_path, serde_json::to_vec_pretty(&provenance)?)
        .map_err(|e| Error::io(&prov_path, e))?;

    // Move into place.
    metaalign_core::atomic::move_dir_into_place(&tmp_path, out)?;
    tmp.armed = false;

    Ok(MergeSummary {
        tensors: names.len(),
        bytes_written,
        seconds: started.elapsed().as_secs_f64(),
        peak_rss_bytes: peak_rss_bytes(),
    })
}

/// Copies config/tokenizer files; `config.json` gets the output dtype.
fn copy_model_files(src: &Path, dst: &Path, dtype: FloatDType) -> Result<()> {
    for file in COPIED_FILES {
        let from = src.join(file);
        if !from.is_file() {
            continue;
        }
        let to = dst.join(file);
        if *file == "config.json" {
            let text = std::fs::read_to_string(&from).map_err(|e| Error::io(&from, e))?;
            match serde_json::from_str::<serde_json::Value>(&text) {
                Ok(serde_json::Value::Object(mut map)) => {
                    map.insert("torch_dtype".into(), dtype.torch_name().into());
                    if map.contains_key("dtype") {
                        map.insert("dtype".into(), dtype.torch_name().into());
                    }
                    std::fs::write(&to, serde_json::to_vec_pretty(&map)?)
                        .map_err(|e| Error::io(&to, e))?;
                }
                _ => {
                    return Err(Error::Checkpoint {
                        path: from,
                        message: "config.json is not a JSON object".into(),
                    })
                }
            }
        } else {
            std::fs::copy(&from, &to).map_err(|e| Error::io(&from, e))?;
        }
    }
    Ok(())
}
