//! Reading HF checkpoint directories: single or sharded safetensors,
//! memory-mapped, one tensor at a time. A PEFT LoRA adapter folder reads
//! as its base with the adapter folded in (see [`crate::peft`]).

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::ops::Range;
use std::path::{Path, PathBuf};

use memmap2::{Advice, Mmap, UncheckedAdvice};
use safetensors::{Dtype, SafeTensors};
use serde::Deserialize;

use metaalign_core::{Error, Result};

use crate::dtype::FloatDType;
use crate::peft::{self, AdapterFile};

/// Name of the single-file checkpoint.
pub const SINGLE_FILE: &str = "model.safetensors";
/// Name of the shard index.
pub const INDEX_FILE: &str = "model.safetensors.index.json";

struct Shard {
    path: PathBuf,
    mmap: Mmap,
}

/// Where one tensor lives.
#[derive(Clone, Debug)]
pub struct TensorEntry {
    /// The stored dtype.
    pub dtype: Dtype,
    /// The shape, outermost dimension first.
    pub shape: Vec<usize>,
    shard: usize,
    /// Absolute byte range inside the shard file.
    start: usize,
    end: usize,
}

impl TensorEntry {
    /// Number of elements.
    pub(crate) fn numel(&self) -> usize {
        self.shape.iter().product()
    }
}

/// An opened (memory-mapped) checkpoint directory.
pub struct Checkpoint {
    /// The checkpoint directory.
    pub(crate) dir: PathBuf,
    shards: Vec<Shard>,
    tensors: HashMap<String, TensorEntry>,
    /// Tensor names in storage order (shard, then offset).
    order: Vec<String>,
    /// Where `config.json` and the tokenizer files are: `dir`, or an
    /// adapter's base.
    model_files: PathBuf,
    /// The LoRA updates folded into this (base) checkpoint's tensors.
    lora: Option<Box<LoraOverlay>>,
}

/// A PEFT adapter over a checkpoint: per adapted weight, its `A` `[r, in]`
/// and `B` `[out, r]` tensors in the adapter file, and the scale.
struct LoraOverlay {
    adapter: Checkpoint,
    /// Weight name (`model.layers.0.self_attn.q_proj.weight`) → (A, B) names.
    modules: HashMap<String, (String, String)>,
    scale: f32,
}

#[derive(Deserialize)]
struct IndexFile {
    weight_map: BTreeMap<String, String>,
}

fn ckpt_err(path: &Path, message: impl Into<String>) -> Error {
    Error::Checkpoint {
        path: path.to_path_buf(),
        message: message.into(),
    }
}

impl std::fmt::Debug for Checkpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Checkpoint")
            .field("dir", &self.dir)
            .field("shards", &self.shards.len())
            .field("tensors", &self.tensors.len())
            .finish()
    }
}

impl Checkpoint {
    /// Opens `dir`: `model.safetensors.index.json` + its shards, or
    /// `model.safetensors`, or else every `*.safetensors` file in it; or a
    /// PEFT LoRA adapter folder, read as its base (`base_model_name_or_path`)
    /// with `W + scale · B A` on the adapted weights.
    pub fn open(dir: &Path) -> Result<Self> {
        if !dir.is_dir() {
            return Err(ckpt_err(
                dir,
                "is not a directory (expected an HF checkpoint directory)",
            ));
        }
        if peft::is_adapter_dir(dir) {
            return Self::open_adapter(dir);
        }
        let index_path = dir.join(INDEX_FILE);
        let (files, index): (Vec<String>, Option<BTreeMap<String, String>>) = if index_path
            .is_file()
        {
            let text =
                std::fs::read_to_string(&index_path).map_err(|e| Error::io(&index_path, e))?;
            let index: IndexFile = serde_json::from_str(&text)
                .map_err(|e| ckpt_err(&index_path, format!("invalid shard index: {e}")))?;
            let mut files: Vec<String> = index.weight_map.values().cloned().collect();
            files.sort();
            files.dedup();
            (files, Some(index.weight_map))
        } else if dir.join(SINGLE_FILE).is_file() {
            (vec![SINGLE_FILE.to_string()], None)
        } else {
            let mut files: Vec<String> = std::fs::read_dir(dir)
                .map_err(|e| Error::io(dir, e))?
                .filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.ends_with(".safetensors"))
                .collect();
            files.sort();
            if files.is_empty() {
                let hint = if dir.join("pytorch_model.bin").exists() {
                    " (only safetensors checkpoints are supported; convert pytorch_model.bin first)"
                } else {
                    ""
                };
                return Err(ckpt_err(dir, format!("no safetensors files found{hint}")));
            }
            (files, None)
        };

        let mut shards = Vec::with_capacity(files.len());
        let mut tensors = HashMap::new();
        let mut order = Vec::new();
        for (shard_idx, file_name) in files.iter().enumerate() {
            let path = dir.join(file_name);
            let file = File::open(&path).map_err(|e| Error::io(&path, e))?;
            // SAFETY: the file is opened read-only; like every mmap-based
            // loader we assume it is not modified while the merge runs.
            let mmap = unsafe { Mmap::map(&file) }.map_err(|e| Error::io(&path, e))?;
            let (header_len, metadata) = SafeTensors::read_metadata(&mmap)
                .map_err(|e| ckpt_err(&path, format!("corrupt safetensors header: {e}")))?;
            let data_start = 8 + header_len;
            for name in metadata.offset_keys() {
                let Some(info) = metadata.info(&name) else {
                    continue;
                };
                if let Some(index) = &index {
                    match index.get(&name) {
                        Some(f) if f == file_name => {}
                        _ => continue, // listed elsewhere (or not at all) in the index
                    }
                }
                if tensors.contains_key(&name) {
                    return Err(ckpt_err(
                        &path,
                        format!("tensor `{name}` appears in more than one shard"),
                    ));
                }
                tensors.insert(
                    name.clone(),
                    TensorEntry {
                        dtype: info.dtype,
                        shape: info.shape.clone(),
                        shard: shard_idx,
                        start: data_start + info.data_offsets.0,
                        end: data_start + info.data_offsets.1,
                    },
                );
                order.push(name);
            }
            shards.push(Shard { path, mmap });
        }
        if let Some(index) = &index {
            if let Some((name, file)) = index.iter().find(|(n, _)| !tensors.contains_key(*n)) {
                return Err(ckpt_err(
                    &dir.join(file),
                    format!("tensor `{name}` is listed in {INDEX_FILE} but missing from the shard"),
                ));
            }
        }
        Ok(Self {
            dir: dir.to_path_buf(),
            shards,
            tensors,
            order,
            model_files: dir.to_path_buf(),
            lora: None,
        })
    }

    /// Opens one safetensors file of `dir` on its own.
    fn open_file(dir: &Path, file_name: &str) -> Result<Self> {
        let path = dir.join(file_name);
        let file = File::open(&path).map_err(|e| Error::io(&path, e))?;
        // SAFETY: read-only mapping of a file not modified while we read.
        let mmap = unsafe { Mmap::map(&file) }.map_err(|e| Error::io(&path, e))?;
        let (header_len, metadata) = SafeTensors::read_metadata(&mmap)
            .map_err(|e| ckpt_err(&path, format!("corrupt safetensors header: {e}")))?;
        let data_start = 8 + header_len;
        let mut tensors = HashMap::new();
        let mut order = Vec::new();
        for name in metadata.offset_keys() {
            let Some(info) = metadata.info(&name) else {
                continue;
            };
            tensors.insert(
                name.clone(),
                TensorEntry {
                    dtype: info.dtype,
                    shape: info.shape.clone(),
                    shard: 0,
                    start: data_start + info.data_offsets.0,
                    end: data_start + info.data_offsets.1,
                },
            );
            order.push(name);
        }
        Ok(Self {
            dir: dir.to_path_buf(),
            shards: vec![Shard { path, mmap }],
            tensors,
            order,
            model_files: dir.to_path_buf(),
            lora: None,
        })
    }

    /// An adapter folder as its base with the adapter folded in; checks
    /// that every A / B pair fits the weight it updates.
    fn open_adapter(dir: &Path) -> Result<Self> {
        let config = AdapterFile::read(dir)?;
        if peft::is_adapter_dir(&config.base) {
            return Err(ckpt_err(
                dir,
                format!(
                    "the adapter's base {} is itself an adapter; merge it first \
                     (`metaalign model merge-adapter`)",
                    config.base.display()
                ),
            ));
        }
        let mut base = Self::open(&config.base)
            .map_err(|e| ckpt_err(dir, format!("the adapter's base: {e}")))?;
        let adapter = Self::open_file(dir, peft::WEIGHTS_FILE)?;
        let weights = dir.join(peft::WEIGHTS_FILE);
        let mut halves: BTreeMap<String, (Option<String>, Option<String>)> = BTreeMap::new();
        for name in adapter.names() {
            let Some((module, half)) = peft::split_tensor_name(name) else {
                return Err(ckpt_err(
                    &weights,
                    format!("tensor `{name}` is not a LoRA A or B weight"),
                ));
            };
            let slot = halves.entry(module.to_string()).or_default();
            if half == 'A' {
                slot.0 = Some(name.clone());
            } else {
                slot.1 = Some(name.clone());
            }
        }
        if halves.is_empty() {
            return Err(ckpt_err(&weights, "no LoRA tensors"));
        }
        let mut modules = HashMap::new();
        for (module, pair) in halves {
            let (Some(a), Some(b)) = pair else {
                return Err(ckpt_err(
                    &weights,
                    format!("module `{module}` has only one of lora_A / lora_B"),
                ));
            };
            let weight = format!("{module}.weight");
            let Some(w) = base.entry(&weight) else {
                return Err(ckpt_err(
                    &weights,
                    format!("module `{module}` has no weight `{weight}` in the base"),
                ));
            };
            let (ea, eb) = (&adapter.tensors[&a], &adapter.tensors[&b]);
            let fits = match (w.shape.as_slice(), ea.shape.as_slice(), eb.shape.as_slice()) {
                ([out, inp], [ra, ia], [ob, rb]) => ia == inp && ob == out && ra == rb,
                _ => false,
            };
            if !fits
                || FloatDType::from_safetensors(ea.dtype).is_none()
                || FloatDType::from_safetensors(eb.dtype).is_none()
            {
                return Err(ckpt_err(
                    &weights,
                    format!(
                        "module `{module}`: A {:?} ({:?}) and B {:?} ({:?}) do not fit the weight {:?}",
                        ea.shape, ea.dtype, eb.shape, eb.dtype, w.shape
                    ),
                ));
            }
            modules.insert(weight, (a, b));
        }
        base.dir = dir.to_path_buf();
        base.lora = Some(Box::new(LoraOverlay {
            adapter,
            modules,
            scale: config.scale() as f32,
        }));
        Ok(base)
    }

    /// The folder holding `config.json` and the tokenizer files: the
    /// checkpoint's own, or an adapter's base.
    pub fn model_files_dir(&self) -> &Path {
        &self.model_files
    }

    /// Tensor names in storage order.
    pub fn names(&self) -> &[String] {
        &self.order
    }

    /// Where tensor `name` lives (dtype, shape), if the checkpoint has it.
    pub fn entry(&self, name: &str) -> Option<&TensorEntry> {
        self.tensors.get(name)
    }

    /// True when the checkpoint has no tensors.
    pub(crate) fn is_empty(&self) -> bool {
        self.order.is_empty()
    }

    fn bytes(&self, entry: &TensorEntry) -> &[u8] {
        &self.shards[entry.shard].mmap[entry.start..entry.end]
    }

    /// The tensor as f32: borrowed straight from the mapping when it is
    /// stored as aligned f32, converted otherwise.
    pub fn read_f32(&self, name: &str) -> Result<Cow<'_, [f32]>> {
        let numel = self.entry(name).map_or(0, |e| e.numel());
        self.read_f32_range(name, 0..numel)
    }

    /// Elements `range` of the flattened tensor as f32 (see [`Self::read_f32`]).
    pub fn read_f32_range(&self, name: &str, range: Range<usize>) -> Result<Cow<'_, [f32]>> {
        let entry = self
            .tensors
            .get(name)
            .ok_or_else(|| ckpt_err(&self.dir, format!("has no tensor `{name}`")))?;
        let dtype = FloatDType::from_safetensors(entry.dtype).ok_or_else(|| {
            ckpt_err(
                &self.shards[entry.shard].path,
                format!(
                    "tensor `{name}` has dtype {:?}, which cannot be merged",
                    entry.dtype
                ),
            )
        })?;
        if range.start > range.end || range.end > entry.numel() {
            return Err(ckpt_err(
                &self.dir,
                format!(
                    "elements {range:?} are out of bounds for tensor `{name}` ({} elements)",
                    entry.numel()
                ),
            ));
        }
        let size = dtype.size();
        let bytes = &self.bytes(entry)[range.start * size..range.end * size];
        let lora = self
            .lora
            .as_ref()
            .and_then(|l| Some((l, l.modules.get(name)?)));
        if lora.is_none() && dtype == FloatDType::F32 && cfg!(target_endian = "little") {
            if let Ok(slice) = bytemuck::try_cast_slice::<u8, f32>(bytes) {
                return Ok(Cow::Borrowed(slice));
            }
        }
        let mut out = vec![0f32; range.len()];
        dtype.decode_into(bytes, &mut out);
        if let Some((l, (a, b))) = lora {
            let a = l.adapter.read_f32(a)?;
            let b = l.adapter.read_f32(b)?;
            add_low_rank(&mut out, range.start, entry.shape[1], &a, &b, l.scale);
        }
        Ok(Cow::Owned(out))
    }

    /// Hints the kernel that a tensor is about to be read.
    pub fn prefetch(&self, name: &str) {
        if let Some(e) = self.tensors.get(name) {
            let (off, len) = page_range(e.start, e.end, false);
            if len > 0 {
                let _ = self.shards[e.shard]
                    .mmap
                    .advise_range(Advice::WillNeed, off, len);
            }
        }
    }

    /// Drops the resident pages of a tensor from this process (they stay in
    /// the page cache), so that reading a model does not grow our RSS.
    /// Call only when no slice of the tensor is alive.
    pub fn release(&self, name: &str, range: Range<usize>) {
        if let Some(e) = self.tensors.get(name) {
            let size = FloatDType::from_safetensors(e.dtype).map_or(1, |d| d.size());
            let (off, len) = page_range(
                e.start + range.start * size,
                (e.start + range.end * size).min(e.end),
                true,
            );
            if len > 0 {
                // SAFETY: read-only shared file mapping: MADV_DONTNEED only
                // drops our page-table entries; later reads fault the same
                // file contents back in. No slice of this range is alive.
                let _ = unsafe {
                    self.shards[e.shard].mmap.unchecked_advise_range(
                        UncheckedAdvice::DontNeed,
                        off,
                        len,
                    )
                };
            }
        }
    }
}

/// Adds `scale · (B A)[e]` to `out[e - start]` for the flattened elements
/// `start..start + out.len()` of an `[out, cols]` weight; `a` is `[r, cols]`,
/// `b` `[out, r]`.
fn add_low_rank(out: &mut [f32], start: usize, cols: usize, a: &[f32], b: &[f32], scale: f32) {
    let r = a.len() / cols.max(1);
    let end = start + out.len();
    let mut e = start;
    while e < end {
        let (row, c0) = (e / cols, e % cols);
        let c1 = cols.min(c0 + (end - e));
        let dst = &mut out[e - start..e - start + (c1 - c0)];
        for k in 0..r {
            let coef = scale * b[row * r + k];
            for (d, x) in dst.iter_mut().zip(&a[k * cols + c0..k * cols + c1]) {
                *d += coef * x;
            }
        }
        e += c1 - c0;
    }
}

/// Page-aligned range for madvise: `inner` keeps only whole pages inside
/// [start, end), otherwise the covering range.
fn page_range(start: usize, end: usize, inner: bool) -> (usize, usize) {
    const PAGE: usize = 4096;
    let (s, e) = if inner {
        (start.div_ceil(PAGE) * PAGE, end / PAGE * PAGE)
    } else {
        (start / PAGE * PAGE, end)
    };
    if e > s {
        (s, e - s)
    } else {
        (s, 0)
    }
}
