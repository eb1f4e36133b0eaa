//! Gradient (activation) checkpointing per decoder layer.
//!
//! A checkpointed layer runs its forward pass without recording a graph,
//! so none of its activations are kept; the graph keeps only the layer's
//! input. The backward pass runs the layer again from that input, this
//! time recording, and back-propagates through it: the input's gradient
//! goes on down the outer graph, the gradients of the layer's trainable
//! tensors (LoRA `A` / `B`, or every weight) are set aside and added to
//! the outer [`candle_core::backprop::GradStore`] by [`backward`]. Memory:
//! one layer's activations instead of every layer's, for a second forward
//! pass of each layer.
//!
//! The link between the two graphs is one op (`Rejoin`) whose value is the
//! precomputed output and whose backward is the recomputation.

use std::cell::RefCell;

use candle_core::backprop::GradStore;
use candle_core::{CpuStorage, CustomOp2, Layout, Result, Shape, Tensor, Var};

thread_local! {
    /// Gradients of trainable tensors found while recomputing layers,
    /// waiting for [`backward`] to add them to its store. Backward passes
    /// run on the calling thread, so a thread-local keeps runs apart.
    static SET_ASIDE: RefCell<Vec<(Tensor, Tensor)>> = const { RefCell::new(Vec::new()) };
    /// Layers recomputed on this thread so far.
    static RECOMPUTED: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

/// How many layer recomputations backward passes on this thread have run
/// (a diagnostic: tests use it to see that checkpointing is on).
pub fn recomputed_layers() -> u64 {
    RECOMPUTED.with(std::cell::Cell::get)
}

/// One decoder layer as a function of its input.
pub type LayerFn = std::sync::Arc<dyn Fn(&Tensor) -> Result<Tensor> + Send + Sync>;

/// `loss.backward()`, with the gradients that checkpointed layers set
/// aside added in. Every backward pass of a training step goes through it.
pub fn backward(loss: &Tensor) -> Result<GradStore> {
    SET_ASIDE.with(|s| s.borrow_mut().clear());
    let mut grads = loss.backward()?;
    let set_aside = SET_ASIDE.with(|s| std::mem::take(&mut *s.borrow_mut()));
    for (tensor, grad) in set_aside {
        let sum = match grads.remove(&tensor) {
            Some(g) => (g + grad)?,
            None => grad,
        };
        grads.insert(&tensor, sum);
    }
    Ok(grads)
}

/// Runs `layer` on `x` checkpointed: the value of `layer(x)`, with a
/// backward pass that recomputes it. `trainable` are the layer's tensors
/// that want gradients (`Var`s); `layer` must build its graph from them
/// when given a tracking input.
pub fn checkpointed(x: &Tensor, trainable: Vec<Tensor>, layer: LayerFn) -> Result<Tensor> {
    // The recorded ops (the weights are Vars) hold this layer's
    // intermediate tensors only until the output is detached.
    let out = layer(&x.detach())?.detach();
    // The first layer's input may not track (a frozen embedding): the op
    // needs a tracking argument to be part of the graph.
    let x = if x.track_op() {
        x.clone()
    } else {
        Var::from_tensor(x)?.as_tensor().clone()
    };
    x.apply_op2(&out, Rejoin { trainable, layer })
}

/// Forward: the precomputed output; backward: the recomputation.
struct Rejoin {
    trainable: Vec<Tensor>,
    layer: LayerFn,
}

fn pass_cpu(s2: &CpuStorage, l2: &Layout) -> Result<(CpuStorage, Shape)> {
    let out = match (s2, l2.contiguous_offsets()) {
        (CpuStorage::F32(d), Some((a, b))) => CpuStorage::F32(d[a..b].to_vec()),
        _ => candle_core::bail!("checkpointed layer: expected a contiguous f32 output"),
    };
    Ok((out, l2.shape().clone()))
}

impl CustomOp2 for Rejoin {
    fn name(&self) -> &'static str {
        "checkpointed-layer"
    }

    fn cpu_fwd(
        &self,
        _s1: &CpuStorage,
        _l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        pass_cpu(s2, l2)
    }

    #[cfg(feature = "cuda")]
    fn cuda_fwd(
        &self,
        _s1: &candle_core::CudaStorage,
        _l1: &Layout,
        s2: &candle_core::CudaStorage,
        l2: &Layout,
    ) -> Result<(candle_core::CudaStorage, Shape)> {
        use candle_core::backend::BackendStorage;
        if !l2.is_contiguous() || l2.start_offset() != 0 {
            candle_core::bail!("checkpointed layer: expected a contiguous output");
        }
        Ok((s2.try_clone(l2)?, l2.shape().clone()))
    }

    fn bwd(
        &self,
        x: &Tensor,
        _out: &Tensor,
        _res: &Tensor,
        grad: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>)> {
        RECOMPUTED.with(|c| c.set(c.get() + 1));
        let input = Var::from_tensor(&x.detach())?;
        let y = (self.layer)(input.as_tensor())?;
        let grads = (y * grad.detach())?.sum_all()?.backward()?;
        SET_ASIDE.with(|s| {
            let mut s = s.borrow_mut();
            for t in &self.trainable {
                if let Some(g) = grads.get(t) {
                    s.push((t.clone(), g.clone()));
                }
            }
        });
        Ok((grads.get(input.as_tensor()).cloned(), None))
    }
}
