//! The output side of a merge. Everything is written into a temporary
//! directory beside the output, `.<name>.merge-tmp-<pid>`: the shard files,
//! laid out up front so that each tensor is streamed to its place as soon
//! as it is merged; then the config and tokenizer files, and the
//! provenance file `metaalign_merge.json`. Last, the directory is moved into
//! place with [`metaalign_core::atomic::move_dir_into_place`]. A merge that
//! fails (or panics) removes the temporary directory, so nothing is left at
//! the output and an existing output is untouched.

use std::path::{Path, PathBuf};

use metaalign_core::{Error, Result};

use crate::dtype::FloatDType;
use crate::engine::plan::MergePlan;
use crate::engine::validate::Validated;
use crate::writer::ShardedWriter;

/// Default shard size: mergekit's "5B" (bytes).
pub const DEFAULT_SHARD_BYTES: u64 = 5_000_000_000;

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

/// A merged checkpoint being written beside its final place.
pub(crate) struct Output {
    writer: ShardedWriter,
    tmp: TempDir,
}

impl Output {
    /// Creates the temporary directory beside `plan.out` and the shard
    /// files for `valid`'s tensors in it.
    pub(crate) fn create(plan: &MergePlan, valid: &Validated) -> Result<Self> {
        let out = &plan.out;
        let shard_bytes = plan.options.shard_size_bytes.unwrap_or(DEFAULT_SHARD_BYTES);
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
        let tmp = TempDir {
            path: tmp_path,
            armed: true,
        };
        let writer =
            ShardedWriter::create(&tmp.path, &valid.tensors, valid.out_dtype, shard_bytes)?;
        Ok(Self { writer, tmp })
    }

    /// Where merged tensors are written (from several threads at once).
    pub(crate) fn writer(&self) -> &ShardedWriter {
        &self.writer
    }

    /// Flushes the shards, adds the config, tokenizer and provenance files
    /// and moves the directory into place. Returns the bytes of tensor data
    /// written.
    pub(crate) fn finish(self, plan: &MergePlan, valid: &Validated) -> Result<u64> {
        let Output { writer, mut tmp } = self;
        let bytes_written = writer.total_bytes();
        writer.finish()?;
        copy_model_files(&valid.copy_from, &tmp.path, valid.out_dtype)?;
        write_provenance(plan, valid, &tmp.path)?;
        metaalign_core::atomic::move_dir_into_place(&tmp.path, &plan.out)?;
        tmp.armed = false;
        Ok(bytes_written)
    }
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

/// Writes `metaalign_merge.json`: the method, the inputs with their parsed
/// parameters, the output dtype and the seed.
fn write_provenance(plan: &MergePlan, valid: &Validated, dir: &Path) -> Result<()> {
    let provenance = serde_json::json!({
        "method": plan.method.kind(),
        "models": plan.models.iter().zip(&valid.params).map(|(m, params)| serde_json::json!({
            "name": m.name, "path": m.path, "params": params,
        })).collect::<Vec<_>>(),
        "base": plan.base.as_ref().map(|b| serde_json::json!({"name": b.name, "path": b.path})),
        "out_dtype": valid.out_dtype.torch_name(),
        "seed": plan.seed,
    });
    let path = dir.join("metaalign_merge.json");
    std::fs::write(&path, serde_json::to_vec_pretty(&provenance)?).map_err(|e| Error::io(&path, e))
}
