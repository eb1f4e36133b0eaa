//! Writing the merged checkpoint: the shard layout is planned up front
//! (names, shapes and the output dtype are known before any maths), so each
//! shard's header is written first and every tensor goes straight to its
//! final offset as soon as it is merged. Nothing waits in a shard buffer:
//! memory stays bounded by the tensors in flight.
//!
//! Shards follow mergekit's rule: tensors are taken in order and a new shard
//! starts when adding one would exceed the shard size (a tensor larger
//! than the limit gets a shard of its own). One shard is written as
//! `model.safetensors`; several as `model-0000i-of-0000N.safetensors` plus
//! `model.safetensors.index.json` (`metadata.total_size`, `weight_map`).

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use serde_json::{json, Map, Value};

use metaalign_core::{Error, Result};

use crate::checkpoint::{INDEX_FILE, SINGLE_FILE};
use crate::dtype::FloatDType;

/// One tensor of the output.
#[derive(Clone, Debug)]
pub struct OutTensor {
    /// Tensor name.
    pub name: String,
    /// Tensor shape, outermost dimension first.
    pub shape: Vec<usize>,
}

struct Slot {
    shard: usize,
    offset: u64,
    len: u64,
}

/// A checkpoint being written into a directory.
pub struct ShardedWriter {
    files: Vec<(PathBuf, File)>,
    slots: Vec<Slot>,
    dtype: FloatDType,
    total_bytes: u64,
}

/// Groups tensor sizes into shards (mergekit's greedy rule).
pub fn plan_shards(sizes: &[u64], max_shard_bytes: u64) -> Vec<Vec<usize>> {
    let mut shards: Vec<Vec<usize>> = vec![Vec::new()];
    let mut current = 0u64;
    for (i, &size) in sizes.iter().enumerate() {
        let last = shards.last_mut().expect("at least one shard");
        if !last.is_empty() && max_shard_bytes > 0 && current + size > max_shard_bytes {
            shards.push(vec![i]);
            current = size;
        } else {
            last.push(i);
            current += size;
        }
    }
    shards
}

/// File name of shard `i` (0-based) of `n`.
pub fn shard_name(i: usize, n: usize) -> String {
    if n == 1 {
        SINGLE_FILE.to_string()
    } else {
        format!("model-{:05}-of-{:05}.safetensors", i + 1, n)
    }
}

impl ShardedWriter {
    /// Creates the shard files in `dir` with their headers.
    pub fn create(
        dir: &Path,
        tensors: &[OutTensor],
        dtype: FloatDType,
        max_shard_bytes: u64,
    ) -> Result<Self> {
        let sizes: Vec<u64> = tensors
            .iter()
            .map(|t| t.shape.iter().product::<usize>() as u64 * dtype.size() as u64)
            .collect();
        let plan = plan_shards(&sizes, max_shard_bytes);
        let n = plan.len();
        let mut slots: Vec<Option<Slot>> = (0..tensors.len()).map(|_| None).collect();
        let mut files = Vec::with_capacity(n);
        let mut weight_map = Map::new();
        let mut total_bytes = 0u64;
        for (s, members) in plan.iter().enumerate() {
            let name = shard_name(s, n);
            let mut header = Map::new();
            header.insert("__metadata__".into(), json!({ "format": "pt" }));
            let mut offset = 0u64;
            let mut local = Vec::with_capacity(members.len());
            for &i in members {
                let t = &tensors[i];
                header.insert(
                    t.name.clone(),
                    json!({
                        "dtype": dtype.header_name(),
                        "shape": t.shape,
                        "data_offsets": [offset, offset + sizes[i]],
                    }),
                );
                local.push((i, offset));
                offset += sizes[i];
                weight_map.insert(t.name.clone(), Value::String(name.clone()));
            }
            let mut header_bytes = serde_json::to_vec(&Value::Object(header))?;
            while header_bytes.len() % 8 != 0 {
                header_bytes.push(b' ');
            }
            let data_start = 8 + header_bytes.len() as u64;
            let path = dir.join(&name);
            let file = File::create(&path).map_err(|e| Error::io(&path, e))?;
            file.set_len(data_start + offset)
                .map_err(|e| Error::io(&path, e))?;
            file.write_all_at(&(header_bytes.len() as u64).to_le_bytes(), 0)
                .and_then(|_| file.write_all_at(&header_bytes, 8))
                .map_err(|e| Error::io(&path, e))?;
            for (i, off) in local {
                slots[i] = Some(Slot {
                    shard: s,
                    offset: data_start + off,
                    len: sizes[i],
                });
            }
            total_bytes += offset;
            files.push((path, file));
        }
        if n > 1 {
            let index = json!({
                "metadata": { "total_size": total_bytes },
                "weight_map": Value::Object(weight_map),
            });
            let path = dir.join(INDEX_FILE);
            std::fs::write(&path, serde_json::to_vec_pretty(&index)?)
                .map_err(|e| Error::io(&path, e))?;
        }
        Ok(Self {
            files,
            slots: slots
                .into_iter()
                .map(|s| s.expect("every tensor planned"))
                .collect(),
            dtype,
            total_bytes,
        })
    }

    /// Bytes of tensor data in all shards.
    pub fn total_bytes(&self) -> u64 {
        self.total_bytes
    }

    /// Writes tensor `index` (its values converted to the output dtype).
    /// Safe to call from several threads for different tensors.
    pub fn write(&self, index: usize, values: &[f32]) -> Result<()> {
        self.write_at(index, 0, values, true)
    }

    /// Writes `values` as elements `elem_offset..` of tensor `index`; with
    /// `whole`, they must cover the entire tensor.
    pub fn write_at(
        &self,
        index: usize,
        elem_offset: usize,
        values: &[f32],
        whole: bool,
    ) -> Result<()> {
        let slot = &self.slots[index];
        let size = self.dtype.size() as u64;
        let start = elem_offset as u64 * size;
        let (path, file) = &self.files[slot.shard];
        let bytes: std::borrow::Cow<[u8]> =
            if self.dtype == FloatDType::F32 && cfg!(target_endian = "little") {
                std::borrow::Cow::Borrowed(bytemuck::cast_slice(values))
            } else {
                std::borrow::Cow::Owned(self.dtype.encode(values))
            };
        let len = bytes.len() as u64;
        if (whole && (start != 0 || len != slot.len)) || start + len > slot.len {
            return Err(Error::Shape(format!(
                "merged tensor #{index}: {len} bytes at offset {start} do not fit its {} bytes",
                slot.len
            )));
        }
        file.write_all_at(&bytes, slot.offset + start)
            .map_err(|e| Error::io(path, e))
    }

    /// Flushes every shard to disk.
    pub fn finish(self) -> Result<()> {
        for (path, file) in &self.files {
            file.sync_all().map_err(|e| Error::io(path, e))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn greedy_shards_like_mergekit() {
        assert_eq!(plan_shards(&[4, 4, 4], 8), vec![vec![0, 1], vec![2]]);
        assert_eq!(plan_shards(&[10, 1], 8), vec![vec![0], vec![1]]);
        assert_eq!(plan_shards(&[1, 10], 8), vec![vec![0], vec![1]]);
        assert_eq!(plan_shards(&[1, 2], 0), vec![vec![0, 1]]);
        assert_eq!(shard_name(0, 1), "model.safetensors");
        assert_eq!(shard_name(1, 3), "model-00002-of-00003.safetensors");
    }
}
