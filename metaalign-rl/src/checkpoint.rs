//! Hugging Face checkpoint directories: reading `config.json`,
//! `generation_config.json` and (sharded) safetensors into f32 tensors, and
//! writing the same layout atomically (temp dir + rename).

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use candle_core::{DType, Device, Tensor};
use metaalign_core::{Error, Result};
use serde_json::{json, Value};

use crate::model::ModelConfig;

fn ck(path: &Path, message: impl Into<String>) -> Error {
    Error::Checkpoint {
        path: path.to_path_buf(),
        message: message.into(),
    }
}

fn read_json(path: &Path) -> Result<Value> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    serde_json::from_str(&text).map_err(|e| ck(path, format!("invalid JSON: {e}")))
}

/// Reads and validates `config.json`.
pub fn load_config(dir: &Path) -> Result<ModelConfig> {
    if !dir.is_dir() {
        return Err(ck(
            dir,
            "not a directory (expected an HF checkpoint directory)",
        ));
    }
    let path = dir.join("config.json");
    if !path.is_file() {
        return Err(ck(dir, "missing config.json"));
    }
    let mut v = read_json(&path)?;
    // transformers >= 5 writes `rope_parameters` instead of `rope_theta`.
    if let Some(o) = v.as_object_mut() {
        if !o.contains_key("rope_theta") {
            let theta = o
                .get("rope_parameters")
                .and_then(|r| r.get("rope_theta"))
                .cloned();
            if let Some(t) = theta {
                o.insert("rope_theta".into(), t);
            }
        }
    }
    let cfg: ModelConfig =
        serde_json::from_value(v).map_err(|e| ck(&path, format!("invalid model config: {e}")))?;
    cfg.validate().map_err(|m| ck(&path, m))?;
    Ok(cfg)
}

/// `generation_config.json` if present.
pub fn load_generation_config(dir: &Path) -> Result<Option<Value>> {
    let path = dir.join("generation_config.json");
    if path.is_file() {
        Ok(Some(read_json(&path)?))
    } else {
        Ok(None)
    }
}

/// The safetensors files of a checkpoint: the shards named by
/// `model.safetensors.index.json`, else `model.safetensors`, else every
/// `*.safetensors` in the directory.
pub fn weight_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let index = dir.join("model.safetensors.index.json");
    if index.is_file() {
        let v = read_json(&index)?;
        let map = v
            .get("weight_map")
            .and_then(Value::as_object)
            .ok_or_else(|| ck(&index, "no `weight_map` object"))?;
        let mut files: Vec<String> = map
            .values()
            .filter_map(Value::as_str)
            .map(String::from)
            .collect();
        files.sort();
        files.dedup();
        let mut out = Vec::new();
        for f in files {
            let p = dir.join(&f);
            if !p.is_file() {
                return Err(ck(
                    &index,
                    format!("shard `{f}` listed in the index does not exist"),
                ));
            }
            out.push(p);
        }
        return Ok(out);
    }
    let single = dir.join("model.safetensors");
    if single.is_file() {
        return Ok(vec![single]);
    }
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| Error::io(dir, e))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().and_then(|e| e.to_str()) == Some("safetensors"))
        .collect();
    files.sort();
    if files.is_empty() {
        return Err(ck(
            dir,
            "no model.safetensors, model.safetensors.index.json or *.safetensors found",
        ));
    }
    Ok(files)
}

/// Loads every parameter named by `cfg` on `device`, checking names and
/// shapes: in f32, or with the matrices (projections, embeddings) in the
/// half precision `matrices` asks for (norms and biases stay f32). Tensors
/// the architecture does not use (rotary caches, a tied model's
/// `lm_head.weight`) are ignored.
///
/// Each f32 tensor is read from the memory-mapped file straight into a
/// `Var` (one copy, converted from bf16 / f16 / f64 on the way), so loading
/// never holds the weights twice: a plain tensor turned into a `Var` later
/// would be copied, and the allocator would keep the freed first copy.
pub fn load_tensors(
    dir: &Path,
    cfg: &ModelConfig,
    device: &Device,
    matrices: BaseDtype,
) -> Result<BTreeMap<String, Tensor>> {
    let wanted: BTreeMap<String, Vec<usize>> = cfg.param_shapes().into_iter().collect();
    let mut out = BTreeMap::new();
    let mut ignored = Vec::new();
    for file in weight_files(dir)? {
        let corrupt = |e: String| {
            ck(
                &file,
                format!("corrupt or unreadable safetensors file: {e}"),
            )
        };
        // SAFETY: the file is only read, and a checkpoint folder is not
        // rewritten while a run loads it (writers replace folders whole).
        let mapped = unsafe { candle_core::safetensors::MmapedSafetensors::new(&file) }
            .map_err(|e| corrupt(e.to_string()))?;
        for (name, view) in mapped.tensors() {
            let Some(shape) = wanted.get(&name) else {
                ignored.push(name);
                continue;
            };
            if view.shape() != shape.as_slice() {
                return Err(ck(
                    &file,
                    format!(
                        "tensor `{name}` has shape {:?}, expected {shape:?} from config.json",
                        view.shape()
                    ),
                ));
            }
            let unsupported = || {
                ck(
                    &file,
                    format!("tensor `{name}` has unsupported dtype {:?}", view.dtype()),
                )
            };
            let read = |e: candle_core::Error| ck(&file, format!("reading `{name}`: {e}"));
            let stored = view.dtype();
            let tensor = match matrices.keep(stored).filter(|_| shape.len() == 2) {
                Some(DType::BF16) => {
                    let v = narrowed(stored, view.data(), half::bf16::from_f32)
                        .ok_or_else(unsupported)?;
                    Tensor::from_vec(v, shape.as_slice(), device).map_err(read)?
                }
                Some(DType::F16) => {
                    let v = narrowed(stored, view.data(), half::f16::from_f32)
                        .ok_or_else(unsupported)?;
                    Tensor::from_vec(v, shape.as_slice(), device).map_err(read)?
                }
                _ => {
                    let values = f32_values(stored, view.data()).ok_or_else(unsupported)?;
                    candle_core::Var::from_vec(values, shape.as_slice(), device)
                        .map_err(read)?
                        .as_tensor()
                        .clone()
                }
            };
            // Copied: the mapped pages need not stay resident.
            release_pages(view.data());
            out.insert(name, tensor);
        }
    }
    let missing: Vec<String> = wanted
        .iter()
        .filter(|(name, _)| !out.contains_key(*name))
        .map(|(name, shape)| format!("`{name}` (expected shape {shape:?})"))
        .collect();
    if !missing.is_empty() {
        let n = missing.len();
        let shown: Vec<String> = missing.into_iter().take(8).collect();
        return Err(ck(
            dir,
            format!(
                "{n} tensor(s) missing from the safetensors files: {}{}",
                shown.join(", "),
                if n > 8 { ", ..." } else { "" }
            ),
        ));
    }
    let ignored: Vec<&String> = ignored.iter().filter(|k| *k != "lm_head.weight").collect();
    if !ignored.is_empty() {
        tracing::warn!(dir = %dir.display(), "ignoring {} unused tensor(s), e.g. {}", ignored.len(), ignored[0]);
    }
    Ok(out)
}

/// Drops this process's resident pages of a read-only file mapping (the
/// kernel's page cache keeps them), so that loading a checkpoint does not
/// hold the file in RSS beside the copy made of it.
fn release_pages(bytes: &[u8]) {
    const PAGE: usize = 4096;
    let start = bytes.as_ptr() as usize;
    let (first, last) = (
        start.div_ceil(PAGE) * PAGE,
        (start + bytes.len()) / PAGE * PAGE,
    );
    if last > first {
        // SAFETY: the range lies inside a shared, read-only file mapping that
        // stays mapped; MADV_DONTNEED only drops page-table entries, and a
        // later read faults the same file contents back in. Nothing writes
        // to the mapping.
        unsafe {
            libc::madvise(
                first as *mut libc::c_void,
                last - first,
                libc::MADV_DONTNEED,
            );
        }
    }
}

/// Little-endian tensor bytes as f32 values; `None` for non-float dtypes.
fn f32_values(dtype: safetensors::Dtype, bytes: &[u8]) -> Option<Vec<f32>> {
    let dtype = metaalign_merge::FloatDType::from_safetensors(dtype)?;
    let mut out = vec![0f32; bytes.len() / dtype.size()];
    dtype.decode_into(bytes, &mut out);
    Some(out)
}

/// The in-memory dtype of a frozen model's matrices (the base under an
/// adapter, or a model that only samples and scores). The maths runs in
/// f32 either way; half precision halves the weights' memory.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BaseDtype {
    /// Widen everything to f32 (exact; twice the memory of half).
    #[default]
    F32,
    /// bfloat16, converted from the stored dtype when needed.
    Bf16,
    /// IEEE half precision, converted from the stored dtype when needed.
    F16,
    /// As the checkpoint stores them: bf16 / f16 stay so, others are f32.
    Stored,
}

impl BaseDtype {
    /// The half dtype a matrix stored as `stored` is kept in; `None`: f32.
    fn keep(self, stored: safetensors::Dtype) -> Option<DType> {
        match (self, stored) {
            (BaseDtype::F32, _) => None,
            (BaseDtype::Bf16, _) | (BaseDtype::Stored, safetensors::Dtype::BF16) => {
                Some(DType::BF16)
            }
            (BaseDtype::F16, _) | (BaseDtype::Stored, safetensors::Dtype::F16) => Some(DType::F16),
            (BaseDtype::Stored, _) => None,
        }
    }

    /// Whether every matrix stays f32 whatever the checkpoint stores.
    pub fn is_f32(self) -> bool {
        self == BaseDtype::F32
    }

    /// Whether this is `Stored` (the trainers' default).
    pub fn is_stored(&self) -> bool {
        *self == BaseDtype::Stored
    }

    /// The name in configs.
    pub fn name(self) -> &'static str {
        match self {
            BaseDtype::F32 => "f32",
            BaseDtype::Bf16 => "bf16",
            BaseDtype::F16 => "f16",
            BaseDtype::Stored => "stored",
        }
    }
}

/// Tensor bytes converted element by element to a half dtype (no f32
/// copy of the whole tensor); `None` for non-float dtypes.
fn narrowed<T>(dtype: safetensors::Dtype, bytes: &[u8], from_f32: fn(f32) -> T) -> Option<Vec<T>> {
    let dtype = metaalign_merge::FloatDType::from_safetensors(dtype)?;
    let mut one = [0f32];
    Some(
        bytes
            .chunks_exact(dtype.size())
            .map(|c| {
                dtype.decode_into(c, &mut one);
                from_f32(one[0])
            })
            .collect(),
    )
}

/// On-disk dtype for saved weights.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SaveDtype {
    /// 32-bit float (the master weights as they are).
    #[default]
    F32,
    /// bfloat16 (half the size of f32, same exponent range).
    Bf16,
    /// IEEE half precision (f16).
    F16,
}

impl SaveDtype {
    fn torch_name(self) -> &'static str {
        match self {
            SaveDtype::F32 => "float32",
            SaveDtype::Bf16 => "bfloat16",
            SaveDtype::F16 => "float16",
        }
    }
}

/// Writes named tensors to one safetensors file with `{"format": "pt"}`
/// metadata.
pub fn write_safetensors(
    path: &Path,
    tensors: &[(String, Tensor)],
    dtype: SaveDtype,
) -> Result<()> {
    let mut bufs: Vec<(String, safetensors::Dtype, Vec<usize>, Vec<u8>)> =
        Vec::with_capacity(tensors.len());
    for (name, t) in tensors {
        let cerr = |e: candle_core::Error| Error::msg(format!("reading tensor `{name}`: {e}"));
        let flat = t.flatten_all().map_err(cerr)?;
        let (st, bytes) = match dtype {
            SaveDtype::F32 => {
                let v = flat
                    .to_dtype(DType::F32)
                    .map_err(cerr)?
                    .to_vec1::<f32>()
                    .map_err(cerr)?;
                (
                    safetensors::Dtype::F32,
                    v.iter().flat_map(|x| x.to_le_bytes()).collect::<Vec<u8>>(),
                )
            }
            SaveDtype::Bf16 => {
                let v = flat
                    .to_dtype(DType::BF16)
                    .map_err(cerr)?
                    .to_vec1::<half::bf16>()
                    .map_err(cerr)?;
                (
                    safetensors::Dtype::BF16,
                    v.iter().flat_map(|x| x.to_le_bytes()).collect(),
                )
            }
            SaveDtype::F16 => {
                let v = flat
                    .to_dtype(DType::F16)
                    .map_err(cerr)?
                    .to_vec1::<half::f16>()
                    .map_err(cerr)?;
                (
                    safetensors::Dtype::F16,
                    v.iter().flat_map(|x| x.to_le_bytes()).collect(),
                )
            }
        };
        bufs.push((name.clone(), st, t.dims().to_vec(), bytes));
    }
    let views: Vec<(String, safetensors::tensor::TensorView<'_>)> = bufs
        .iter()
        .map(|(n, dt, shape, bytes)| {
            safetensors::tensor::TensorView::new(*dt, shape.clone(), bytes)
                .map(|v| (n.clone(), v))
                .map_err(|e| Error::msg(format!("tensor `{n}`: {e}")))
        })
        .collect::<Result<_>>()?;
    let mut meta = HashMap::new();
    meta.insert("format".to_string(), "pt".to_string());
    safetensors::tensor::serialize_to_file(views, Some(meta), path)
        .map_err(|e| Error::msg(format!("writing {}: {e}", path.display())))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        // The safetensors crate creates the file 0600; checkpoints are shared.
        let _ = std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o644));
    }
    Ok(())
}

/// Runs `write` on a fresh temporary directory beside `dir`, then renames it
/// into place (replacing an existing `dir`), so a crash never leaves half a
/// checkpoint at `dir`.
pub fn write_atomically(dir: &Path, write: impl FnOnce(&Path) -> Result<()>) -> Result<()> {
    metaalign_core::atomic::replace_dir(dir, write)
}

/// Writes `config.json` (with `torch_dtype` set to the saved dtype).
pub fn write_config(dir: &Path, cfg: &ModelConfig, dtype: SaveDtype) -> Result<()> {
    let mut cfg = cfg.clone();
    cfg.torch_dtype = Some(dtype.torch_name().into());
    let path = dir.join("config.json");
    std::fs::write(&path, serde_json::to_string_pretty(&cfg)?).map_err(|e| Error::io(&path, e))
}

/// The generation config we write: EOS ids, pad id, and sampling defaults
/// when `base` (a loaded generation_config.json) has none.
pub fn generation_config(base: Option<&Value>, eos: &[u32], pad: u32, bos: Option<u32>) -> Value {
    let mut v = base.cloned().unwrap_or_else(|| json!({}));
    if let Some(o) = v.as_object_mut() {
        if !o.contains_key("eos_token_id") {
            o.insert(
                "eos_token_id".into(),
                if eos.len() == 1 {
                    json!(eos[0])
                } else {
                    json!(eos)
                },
            );
        }
        o.entry("pad_token_id").or_insert(json!(pad));
        if let Some(b) = bos {
            o.entry("bos_token_id").or_insert(json!(b));
        }
        o.entry("transformers_version").or_insert(json!("4.45.0"));
    }
    v
}

/// Writes `generation_config.json`.
pub fn write_generation_config(dir: &Path, v: &Value) -> Result<()> {
    let path = dir.join("generation_config.json");
    std::fs::write(&path, serde_json::to_string_pretty(v)?).map_err(|e| Error::io(&path, e))
}
