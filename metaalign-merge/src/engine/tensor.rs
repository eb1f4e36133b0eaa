//! Merging one tensor: each model's parameters are resolved for it, the
//! inputs are read as f32 chunk by chunk, the method merges each chunk, and
//! the result goes straight to its place in the output shards.

use std::borrow::Cow;

use metaalign_core::{Error, Result};

use crate::engine::plan::MergePlan;
use crate::engine::schedule::chunk_len;
use crate::engine::validate::Validated;
use crate::method::{ModelParams, TensorContext};
use crate::params::layer_position;
use crate::writer::ShardedWriter;

/// Merges tensor `i` of `valid` and writes it with `writer`.
pub(crate) fn merge_tensor(
    plan: &MergePlan,
    valid: &Validated,
    writer: &ShardedWriter,
    i: usize,
) -> Result<()> {
    let method = plan.method.as_ref();
    let num_models = plan.models.len();
    let ckpts = &valid.ckpts;
    let name = &valid.tensors[i].name;
    let shape = &valid.tensors[i].shape;
    let numel: usize = shape.iter().product();
    let position = layer_position(name, valid.layers);
    let params: Vec<ModelParams> = plan
        .models
        .iter()
        .zip(&valid.params)
        .map(|(m, values)| ModelParams {
            model: m.name.clone(),
            values: values
                .iter()
                .filter_map(|(k, v)| v.resolve(name, position.t).map(|x| (k.clone(), x)))
                .collect(),
        })
        .collect();
    for c in ckpts {
        c.prefetch(name);
    }
    let chunk = chunk_len(method, numel);
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
        for c in ckpts {
            c.release(name, start..end);
        }
        writer.write_at(i, start, &part, start == 0 && end == numel)?;
        start = end;
        if start >= numel {
            break;
        }
    }
    Ok(())
}
