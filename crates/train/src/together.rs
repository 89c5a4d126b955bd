//! Runs that differ only in their seed, trained side by side: one run per vector lane.
//!
//! [`train_together`] groups consecutive runs whose specs are equal but for the seed
//! (and whose data have the same shape) into groups of up to [`LANES`], and trains each
//! group in the training loop ([`crate::run_loop`]) that trains a run alone, computed
//! by the lane engine ([`Lanes`]): one [`LaneWorkspace`], where one pass over a layer
//! computes that layer for every run of the group. Each run keeps everything that makes
//! it itself (its data, its initial parameters, its shuffling stream, its recorder and
//! its sink), and the core's lanes compute each run's numbers with the arithmetic it
//! has alone, so every record a sink receives is the one [`crate::train`] sends for that
//! run: which runs share a group changes nothing but the time taken.

use vanishing_core::{
    Architecture, LANES, LaneLoss, LaneWorkspace, Optimizer, OptimizerState, Workspace, interleave,
    lane_of, lanes_supported,
};
use vanishing_data::Split as DataSplit;

use crate::observe::{EVAL_CHUNK, Recorded, Weights, batch_rows};
use crate::run_loop::{Alone, Engine, Run, State, train_runs};
use crate::{Precision, RunOutcome, RunSpec, Sink, TrainError, train};

/// Trains every run of `specs` on its prepared data, sending its records to its sink,
/// and returns the outcomes in order: [`crate::train`] for each run, with runs that can
/// share vector lanes trained together (their records and outcomes are the same bits as
/// alone, except [`RunOutcome::wall`], which is the group's time divided among its runs).
///
/// Runs share a group when they are consecutive, their specs differ only in the seed,
/// their splits have the same sizes and every layer of their network is small enough
/// for the core's own loops ([`vanishing_core::lanes_supported`]).
///
/// # Errors
/// The first run's [`TrainError`] whose spec is invalid; nothing is trained then.
///
/// # Panics
/// If `specs`, `data` and `sinks` differ in length.
pub fn train_together<S: Sink>(
    specs: &[RunSpec],
    data: &[DataSplit],
    sinks: &mut [S],
) -> Result<Vec<RunOutcome>, TrainError> {
    assert!(
        specs.len() == data.len() && data.len() == sinks.len(),
        "train_together: one spec, split and sink per run"
    );
    for spec in specs {
        spec.validate()?;
    }
    let mut outcomes = Vec::with_capacity(specs.len());
    let mut start = 0;
    while start < specs.len() {
        let mut end = start + 1;
        while end < specs.len() && end - start < LANES && shares_lanes(specs, data, start, end) {
            end += 1;
        }
        let arch = specs[start].architecture(data[start].train.n_features)?;
        let (specs, data, sinks) = (
            &specs[start..end],
            &data[start..end],
            &mut sinks[start..end],
        );
        if end - start == 1 || !lanes_supported(&arch) {
            for ((spec, data), sink) in specs.iter().zip(data).zip(sinks.iter_mut()) {
                outcomes.push(train(spec, data, sink)?);
            }
        } else {
            outcomes.extend(match specs[0].precision {
                Precision::F32 => side_by_side::<f32, S>(specs, data, arch, sinks),
                Precision::F64 => side_by_side::<f64, S>(specs, data, arch, sinks),
            });
        }
        start = end;
    }
    Ok(outcomes)
}

/// Whether run `j` can share the lanes of the group that run `i` opens.
fn shares_lanes(specs: &[RunSpec], data: &[DataSplit], i: usize, j: usize) -> bool {
    let (a, b) = (&specs[i], &specs[j]);
    let same_but_seed = RunSpec {
        seed: a.seed,
        ..b.clone()
    } == *a;
    let (x, y) = (&data[i], &data[j]);
    same_but_seed
        && x.train.len() == y.train.len()
        && x.test.len() == y.test.len()
        && x.train.n_features == y.train.n_features
}

/// Trains a group of runs of `arch` in the training loop, side by side in vector lanes.
fn side_by_side<T: Recorded, S: Sink>(
    specs: &[RunSpec],
    data: &[DataSplit],
    arch: Architecture,
    sinks: &mut [S],
) -> Vec<RunOutcome> {
    let mut runs: Vec<Run<'_, T>> = specs
        .iter()
        .zip(data)
        .map(|(spec, data)| Run::new(spec, data, &arch))
        .collect();
    let mut lanes = Lanes::new(arch, &runs);
    let mut sinks: Vec<&mut S> = sinks.iter_mut().collect();
    train_runs(&mut lanes, &mut runs, &mut sinks)
}

/// The lane engine: up to [`LANES`] runs of one architecture and schedule, computed in
/// lockstep. Lanes without a run compute a copy of the first, whose results nobody
/// reads.
struct Lanes<T> {
    arch: Architecture,
    /// How many lanes hold a run.
    runs: usize,
    optimizer: Optimizer,
    state: OptimizerState<T>,
    /// Every lane's parameters and gradients, interleaved.
    params: Vec<T>,
    grads: Vec<T>,
    work: LaneWorkspace<T>,
    eval: LaneWorkspace<T>,
    /// Every lane's training and test splits, interleaved.
    train_x: Vec<T>,
    train_y: Vec<T>,
    test_x: Vec<T>,
    test_y: Vec<T>,
    batch_x: Vec<T>,
    batch_y: Vec<T>,
    eval_x: Vec<T>,
    /// One lane's state in the layout of a run alone, for its records.
    single: Workspace<T>,
    single_eval: Workspace<T>,
    single_eval_x: Vec<T>,
    lane_params: Vec<T>,
    lane_grads: Vec<T>,
    /// Rows per evaluation chunk, as alone.
    eval_chunk: usize,
    /// The parameters at which each run stopped training because it diverged, which its
    /// final metrics evaluate (the optimizer keeps stepping its lane); `None` while it
    /// trains.
    frozen: Vec<Option<Vec<T>>>,
}

/// Rows per block of an evaluation: a multiple of eight, so that the loss terms of a
/// block start a round of partial sums (see [`LaneLoss`]).
const EVAL_BLOCK: usize = 64;

/// `values(lane)` of every lane, interleaved.
fn interleaved<'v, T: Copy + Default + 'v>(lanes: impl Iterator<Item = &'v [T]>) -> Vec<T> {
    let refs: Vec<&[T]> = lanes.collect();
    let mut out = vec![T::default(); refs[0].len() * LANES];
    interleave(&refs, &mut out);
    out
}

impl<T: Recorded> Lanes<T> {
    fn new(arch: Architecture, runs: &[Run<'_, T>]) -> Self {
        let spec = runs[0].spec;
        let (train_n, test_n, d) = (runs[0].train.n, runs[0].test.n, runs[0].train.d);
        let batch = batch_rows(spec, train_n);
        let eval_rows = train_n.max(test_n).clamp(1, EVAL_CHUNK);
        // Blocks keep one pass's order of loss terms only for a single output column.
        let eval_block = if arch.outputs() == 1 {
            EVAL_BLOCK.min(eval_rows)
        } else {
            eval_rows
        };
        let initial: Vec<Vec<T>> = runs.iter().map(|run| run.initial_params(&arch)).collect();
        let params = interleaved(initial.iter().map(Vec::as_slice));
        let train_x = interleaved(runs.iter().map(|run| run.train.x.as_slice()));
        let train_y = interleaved(runs.iter().map(|run| run.train.y.as_slice()));
        let test_x = interleaved(runs.iter().map(|run| run.test.x.as_slice()));
        let test_y = interleaved(runs.iter().map(|run| run.test.y.as_slice()));
        Self {
            runs: runs.len(),
            optimizer: spec.optimizer,
            state: spec.optimizer.init_state(arch.n_params() * LANES),
            grads: vec![T::ZERO; params.len()],
            params,
            work: LaneWorkspace::new(&arch, batch),
            eval: LaneWorkspace::new(&arch, eval_block),
            train_x,
            train_y,
            test_x,
            test_y,
            batch_x: vec![T::ZERO; batch * d * LANES],
            batch_y: vec![T::ZERO; batch * LANES],
            eval_x: vec![T::ZERO; eval_block * d * LANES],
            single: Workspace::new(&arch, batch),
            single_eval: Workspace::new(&arch, eval_rows),
            single_eval_x: vec![T::ZERO; eval_rows * (d + runs[0].train.k)],
            lane_params: vec![T::ZERO; arch.n_params()],
            lane_grads: vec![T::ZERO; arch.n_params()],
            eval_chunk: eval_rows,
            frozen: vec![None; runs.len()],
            arch,
        }
    }
}

impl<T: Recorded> Engine<T> for Lanes<T> {
    fn architecture(&self) -> &Architecture {
        &self.arch
    }

    fn gradients(&mut self, runs: &[Run<'_, T>], start: usize, rows: usize) -> [T; LANES] {
        let (n, d) = (runs[0].train.n, runs[0].train.d);
        for r in 0..LANES {
            let source = if r < self.runs { r } else { 0 };
            let order = &runs[source].order[start..start + rows];
            for (b, &i) in order.iter().enumerate() {
                for j in 0..d {
                    self.batch_x[(j * rows + b) * LANES + r] =
                        self.train_x[(j * n + i) * LANES + source];
                }
                self.batch_y[b * LANES + r] = self.train_y[i * LANES + source];
            }
        }
        let (x, y) = (
            &self.batch_x[..rows * d * LANES],
            &self.batch_y[..rows * LANES],
        );
        self.work.forward(&self.arch, &self.params, x, rows);
        self.work
            .backward(&self.arch, &self.params, x, y, &mut self.grads)
    }

    fn step(&mut self) {
        self.optimizer
            .step(&mut self.state, &mut self.params, &self.grads);
    }

    fn state(&mut self, r: usize) -> State<'_, T> {
        self.single.load_lane(&self.work, r);
        lane_of(&self.params, r, &mut self.lane_params);
        lane_of(&self.grads, r, &mut self.lane_grads);
        State {
            arch: &self.arch,
            params: &self.lane_params,
            grads: &self.lane_grads,
            workspace: &self.single,
        }
    }

    fn params(&mut self, r: usize) -> (&Architecture, &[T]) {
        lane_of(&self.params, r, &mut self.lane_params);
        (&self.arch, &self.lane_params)
    }

    fn finite(&self, r: usize) -> bool {
        self.params
            .chunks_exact(LANES)
            .all(|lanes| lanes[r].is_finite())
    }

    fn stop(&mut self, r: usize) {
        let mut frozen = vec![T::ZERO; self.arch.n_params()];
        lane_of(&self.params, r, &mut frozen);
        self.frozen[r] = Some(frozen);
    }

    /// Every lane's mean loss and accuracy over a whole split, in the chunks
    /// [`crate::train`] evaluates a run in; each chunk is computed in blocks of
    /// [`EVAL_BLOCK`] rows (which keep the lanes' buffers in the cache) whose loss terms
    /// add up as the chunk's one pass would.
    fn evaluate(&mut self, runs: &[Run<'_, T>], test: bool) -> [(f64, f64); LANES] {
        let run = &runs[0];
        let (x, y, n, d) = if test {
            (&self.test_x, &self.test_y, run.test.n, run.test.d)
        } else {
            (&self.train_x, &self.train_y, run.train.n, run.train.d)
        };
        let mut loss_sum = [0.0; LANES];
        let mut correct = [0_usize; LANES];
        let last = self.arch.shapes().len() - 1;
        let half = T::from_f64(0.5);
        let block = self.eval.max_rows();
        for start in (0..n).step_by(self.eval_chunk) {
            let len = self.eval_chunk.min(n - start);
            let mut sums = LaneLoss::new();
            for first in (start..start + len).step_by(block) {
                let rows = block.min(start + len - first);
                for j in 0..d {
                    self.eval_x[j * rows * LANES..(j + 1) * rows * LANES].copy_from_slice(
                        &x[(j * n + first) * LANES..(j * n + first + rows) * LANES],
                    );
                }
                let xs = &self.eval_x[..rows * d * LANES];
                self.eval.forward(&self.arch, &self.params, xs, rows);
                let ys = &y[first * LANES..(first + rows) * LANES];
                self.eval.add_loss(&self.arch, ys, &mut sums);
                let out = &self.eval.layer_buffers(last).activation[..rows * LANES];
                for (o, t) in out.chunks_exact(LANES).zip(ys.chunks_exact(LANES)) {
                    for r in 0..LANES {
                        correct[r] += usize::from((o[r] > half) == (t[r] > half));
                    }
                }
            }
            for (sum, loss) in loss_sum.iter_mut().zip(sums.mean()) {
                *sum += loss.to_f64() * len as f64;
            }
        }
        let n = n.max(1) as f64;
        std::array::from_fn(|r| (loss_sum[r] / n, correct[r] as f64 / n))
    }

    fn alone(&mut self, r: usize) -> Alone<'_, T> {
        let params = match &self.frozen[r] {
            Some(frozen) => frozen,
            None => {
                lane_of(&self.params, r, &mut self.lane_params);
                &self.lane_params
            }
        };
        Alone {
            arch: &self.arch,
            weights: Weights::plain(params),
            eval: &mut self.single_eval,
            eval_x: &mut self.single_eval_x,
        }
    }
}
