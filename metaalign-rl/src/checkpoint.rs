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

/// Loads every parameter named by `cfg` as an f32 tensor on `device`,
/// checking names and shapes. Tensors the architecture does not use
/// (rotary caches, a tied model's `lm_head.weight`) are ignored.
pub fn load_tensors(
    dir: &Path,
    cfg: &ModelConfig,
    device: &Device,
) -> Result<BTreeMap<String, Tensor>> {
    let mut all: HashMap<String, (Tensor, PathBuf)> = HashMap::new();
    for file in weight_files(dir)? {
        let tensors = candle_core::safetensors::load(&file, device).map_err(|e| {
            ck(
                &file,
                format!("corrupt or unreadable safetensors file: {e}"),
            )
        })?;
        for (name, t) in tensors {
            all.insert(name, (t, file.clone()));
        }
    }
    let mut out = BTreeMap::new();
    let mut missing = Vec::new();
    for (name, shape) in cfg.param_shapes() {
        match all.remove(&name) {
            None => missing.push(format!("`{name}` (expected shape {shape:?})")),
            Some((t, file)) => {
                if t.dims() != shape.as_slice() {
                    return Err(ck(
                        &file,
                        format!(
                            "tensor `{name}` has shape {:?}, expected {shape:?} from config.json",
                            t.dims()
                        ),
                    ));
                }
                let t = match t.dtype() {
                    DType::F32 => t,
                    DType::BF16 | DType::F16 | DType::F64 => t
                        .to_dtype(DType::F32)
                        .map_err(|e| ck(&file, format!("converting `{name}` to f32: {e}")))?,
                    other => {
                        return Err(ck(
                            &file,
                            format!("tensor `{name}` has unsupported dtype {other:?}"),
                        ))
                    }
                };
                out.insert(name, t);
            }
        }
    }
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
    let ignored: Vec<&String> = all.keys().filter(|k| *k != "lm_head.weight").collect();
    if !ignored.is_empty() {
        tracing::warn!(dir = %dir.display(), "ignoring {} unused tensor(s), e.g. {}", ignored.len(), ignored[0]);
    }
    Ok(out)
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
