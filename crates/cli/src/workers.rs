//! Training batches of runs on worker threads and writing each batch as one part the
//! moment its last run has trained.
//!
//! Workers take groups of up to `lanes` consecutive runs of a batch (trained side by
//! side in vector lanes where they can be) in plan order from one shared counter, so the
//! runs in flight are always the next few of the plan and at most `jobs + 1` batches are
//! partly trained at any moment: memory is bounded by the batches in progress, whatever
//! the sweep's size. The groups depend only on the plan, and a run's results do not
//! depend on its group.
//! The worker that completes a batch writes it, so writing runs on every worker in turn
//! rather than on one thread at the end.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use indicatif::ProgressBar;
use vanishing_analysis::{PartName, RunResult, WriterTag, write_part_tagged};
use vanishing_config::Experiment;

use crate::runner::{RunError, run_group};
use crate::sweep::{Batch, ExperimentPlan};

/// A batch being trained: a slot per run, filled as runs finish.
///
/// The slots exist only while the batch is in flight (made by its first finished group,
/// freed when its last one hands the batch over), so that a sweep of a million runs
/// does not hold a slot for every run it has yet to train.
struct Slots {
    /// How many runs the batch has.
    len: usize,
    results: Mutex<Vec<Option<RunResult>>>,
}

impl Slots {
    fn new(len: usize) -> Self {
        Self {
            len,
            results: Mutex::new(Vec::new()),
        }
    }

    /// Stores the results of consecutive slots from `first`; returns the whole batch,
    /// in order, if they were the last.
    fn fill(&self, first: usize, group: Vec<RunResult>) -> Option<Vec<RunResult>> {
        let mut results = self
            .results
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if results.is_empty() {
            results.resize_with(self.len, || None);
        }
        for (slot, result) in results[first..].iter_mut().zip(group) {
            *slot = Some(result);
        }
        if results.iter().all(Option::is_some) {
            Some(
                std::mem::take(&mut *results)
                    .into_iter()
                    .flatten()
                    .collect(),
            )
        } else {
            None
        }
    }
}

/// Trains every batch on `jobs` threads, in groups of up to `lanes` runs side by side,
/// writing each as one part of its experiment's
/// tables. Stops taking new runs at the first failure and returns it; the parts written
/// until then stay.
///
/// # Errors
/// The first [`RunError`]: a run that could not start, or a part that could not be
/// written.
pub(crate) fn train_batches(
    experiments: &[Experiment],
    plans: &[ExperimentPlan],
    batches: &[Batch],
    (jobs, lanes): (usize, usize),
    tag: &WriterTag,
    bar: &ProgressBar,
) -> Result<(), RunError> {
    let lanes = lanes.max(1);
    let queue: Vec<(usize, usize, usize)> = batches
        .iter()
        .enumerate()
        .flat_map(|(b, batch)| {
            let n = batch.runs.len();
            (0..n)
                .step_by(lanes)
                .map(move |k| (b, k, (k + lanes).min(n)))
        })
        .collect();
    let total: usize = batches.iter().map(|b| b.runs.len()).sum();
    let slots: Vec<Slots> = batches.iter().map(|b| Slots::new(b.runs.len())).collect();
    let next = AtomicUsize::new(0);
    let done = AtomicUsize::new(0);
    let stop = AtomicBool::new(false);
    let failure: Mutex<Option<RunError>> = Mutex::new(None);
    let fail = |e: RunError| {
        stop.store(true, Ordering::SeqCst);
        let mut failure = failure
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        failure.get_or_insert(e);
    };
    let work = || {
        while !stop.load(Ordering::SeqCst) {
            let i = next.fetch_add(1, Ordering::SeqCst);
            let Some(&(b, first, end)) = queue.get(i) else {
                break;
            };
            let batch = &batches[b];
            let experiment = &experiments[batch.experiment];
            let planned: Vec<_> = batch.runs[first..end]
                .iter()
                .map(|&r| experiment.run(r))
                .collect();
            let group = match run_group(experiment, &planned) {
                Ok(group) => group,
                Err(e) => {
                    fail(e);
                    break;
                }
            };
            let finished = done.fetch_add(group.len(), Ordering::SeqCst) + group.len();
            bar.set_message((total - finished).to_string());
            bar.inc(group.len() as u64);
            if let Some(runs) = slots[b].fill(first, group) {
                let name = PartName::of(batch.runs[0], &runs);
                let dir = &plans[batch.experiment].dir;
                if let Err(e) = write_part_tagged(dir, &name, &runs, tag) {
                    fail(e.into());
                    break;
                }
            }
        }
    };
    std::thread::scope(|scope| {
        for _ in 1..jobs.max(1) {
            scope.spawn(work);
        }
        work();
    });
    match failure
        .into_inner()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
    {
        Some(e) => Err(e),
        None => Ok(()),
    }
}
