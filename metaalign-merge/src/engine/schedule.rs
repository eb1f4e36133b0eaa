//! Which tensors are merged when, and in how much memory: a fixed number of
//! workers take the tensors in storage order; each first reserves the
//! tensor's working memory from a shared byte budget, so the tensors in
//! flight stay under `max_in_flight_bytes`; element-wise methods go through
//! large tensors in chunks. After a failure no new tensor starts, and the
//! error of the lowest-numbered failed tensor is returned.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex};

use indicatif::{ProgressBar, ProgressStyle};

use metaalign_core::merge::MergeOptions;
use metaalign_core::{Error, Result};

use crate::method::TensorMerge;
use crate::writer::OutTensor;

/// Default bound on the memory of tensors merged at once.
pub const DEFAULT_IN_FLIGHT_BYTES: u64 = 1 << 30;
/// Elementwise methods process large tensors in chunks of this many elements.
pub const CHUNK_ELEMENTS: usize = 1 << 22;

/// Elements per method call for a tensor of `numel` elements.
pub(crate) fn chunk_len(method: &dyn TensorMerge, numel: usize) -> usize {
    if method.elementwise() {
        CHUNK_ELEMENTS
    } else {
        numel.max(1)
    }
}

/// Bytes reserved while merging a tensor of `numel` elements: its
/// `num_inputs` f32 inputs plus the f32 result (one chunk's worth for
/// element-wise methods) and the method's own working memory.
fn cost(method: &dyn TensorMerge, numel: usize, num_inputs: usize, num_models: usize) -> u64 {
    let work = if method.elementwise() {
        numel.min(CHUNK_ELEMENTS)
    } else {
        numel
    };
    work as u64 * 4 * (num_inputs as u64 + 1) + method.working_bytes(work, num_models)
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

/// What the scheduler needs to know about a merge.
pub(crate) struct Work<'a> {
    /// The method (element-wise or not, its working memory).
    pub(crate) method: &'a dyn TensorMerge,
    /// The tensors to merge, in order.
    pub(crate) tensors: &'a [OutTensor],
    /// Inputs read per tensor (models plus base).
    pub(crate) num_inputs: usize,
    /// Models merged (without the base).
    pub(crate) num_models: usize,
    /// Threads, memory bound and progress bar settings.
    pub(crate) options: &'a MergeOptions,
}

/// Runs `merge(i)` for every tensor `i` of `work` on a pool of workers
/// under the memory budget, with a progress bar when asked.
pub(crate) fn run(work: &Work<'_>, merge: impl Fn(usize) -> Result<()> + Sync) -> Result<()> {
    let budget_total = work
        .options
        .max_in_flight_bytes
        .unwrap_or(DEFAULT_IN_FLIGHT_BYTES)
        .max(1);
    let progress = progress_bar(work.options.progress, work.tensors.len());
    let threads = work
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

    pool.scope(|s| {
        for _ in 0..threads {
            s.spawn(|_| loop {
                if failed.load(Ordering::SeqCst) {
                    break;
                }
                let i = next.fetch_add(1, Ordering::SeqCst);
                if i >= work.tensors.len() {
                    break;
                }
                let numel: usize = work.tensors[i].shape.iter().product();
                let cost =
                    cost(work.method, numel, work.num_inputs, work.num_models).min(budget_total);
                budget.acquire(cost);
                let result = merge(i);
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
    match first_error.into_inner().unwrap_or_else(|p| p.into_inner()) {
        Some((_, e)) => Err(e),
        None => Ok(()),
    }
}

/// A bar over `tensors` tensors on metaalign's shared progress display, or a
/// hidden one.
fn progress_bar(show: bool, tensors: usize) -> ProgressBar {
    if !show {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(tensors as u64);
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner} merging [{bar:40}] {pos}/{len} tensors {elapsed_precise} eta {eta}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> "),
    );
    metaalign_core::progress::multi().add(bar)
}
