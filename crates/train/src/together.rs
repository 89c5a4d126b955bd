//! Runs that differ only in their seed, trained side by side: one run per vector lane.
//!
//! [`train_together`] groups consecutive runs whose specs are equal but for the seed
//! (and whose data have the same shape) into groups of up to [`LANES`], and trains each
//! group in one [`LaneWorkspace`]: one pass over a layer computes that layer for every
//! run of the group. Each run keeps everything that makes it itself (its data, its
//! initial parameters, its shuffling stream, its recorder and its sink), and the core's
//! lanes compute each run's numbers with the arithmetic it has alone, so every record a
//! sink receives is the one [`crate::train`] sends for that run: which runs share a
//! group changes nothing but the time taken.

use std::time::{Duration, Instant};

use rand_chacha::ChaCha8Rng;
use vanishing_core::{
    Architecture, LANES, LaneLoss, LaneWorkspace, Optimizer, OptimizerState, Workspace, interleave,
    lane_of, lanes_supported,
};
use vanishing_data::Split as DataSplit;

use crate::observe::{
    EVAL_CHUNK, Metrics, Recorded, Recorder, Rows, STREAM_INIT, STREAM_SHUFFLE, Weights, announce,
    batch_rows, boundary, draws_boundary, evaluate, reshuffle, send_metrics, stream,
};
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
        let arch = specs[start]
            .model
            .architecture(data[start].train.n_features)?;
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
                Precision::F32 => Group::<f32>::new(specs, data, arch).run(sinks),
                Precision::F64 => Group::<f64>::new(specs, data, arch).run(sinks),
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

/// One run of a group: what is its own.
struct Lane<'a, T> {
    spec: &'a RunSpec,
    train: Rows<T>,
    test: Rows<T>,
    order: Vec<usize>,
    shuffle: ChaCha8Rng,
    recorder: Recorder<T>,
    /// Whether the loss or a parameter became non-finite (while training, or in the
    /// final record).
    diverged: bool,
    last_metrics: Option<Metrics>,
    steps: u64,
    /// The parameters at which the run stopped training because it diverged, which its
    /// final metrics evaluate; `None` while it trains.
    frozen: Option<Vec<T>>,
}

impl<T> Lane<'_, T> {
    /// Whether the run still trains.
    fn live(&self) -> bool {
        self.frozen.is_none()
    }
}

/// Up to [`LANES`] runs of one architecture and schedule, trained in lockstep.
struct Group<'a, T> {
    spec: &'a RunSpec,
    arch: Architecture,
    lanes: Vec<Lane<'a, T>>,
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
    batch: usize,
    /// Rows per evaluation chunk, as alone.
    eval_chunk: usize,
    steps_per_epoch: u64,
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

impl<'a, T: Recorded> Group<'a, T> {
    fn new(specs: &'a [RunSpec], data: &[DataSplit], arch: Architecture) -> Self {
        let spec = &specs[0];
        let lanes: Vec<Lane<'a, T>> = specs
            .iter()
            .zip(data)
            .map(|(spec, data)| {
                let train = Rows::<T>::new(&data.train);
                Lane {
                    order: (0..train.n).collect(),
                    shuffle: stream(spec.seed, STREAM_SHUFFLE),
                    recorder: Recorder::new(spec, &arch, batch_rows(spec, train.n)),
                    test: Rows::new(&data.test),
                    train,
                    spec,
                    diverged: false,
                    last_metrics: None,
                    steps: 0,
                    frozen: None,
                }
            })
            .collect();
        let (train_n, test_n, d) = (lanes[0].train.n, lanes[0].test.n, lanes[0].train.d);
        let batch = batch_rows(spec, train_n);
        let eval_rows = train_n.max(test_n).clamp(1, EVAL_CHUNK);
        // Blocks keep one pass's order of loss terms only for a single output column.
        let eval_block = if arch.outputs() == 1 {
            EVAL_BLOCK.min(eval_rows)
        } else {
            eval_rows
        };
        let initial: Vec<Vec<T>> = specs
            .iter()
            .map(|spec| arch.init_params(&mut stream(spec.seed, STREAM_INIT)))
            .collect();
        let params = interleaved(initial.iter().map(Vec::as_slice));
        let train_x = interleaved(lanes.iter().map(|l| l.train.x.as_slice()));
        let train_y = interleaved(lanes.iter().map(|l| l.train.y.as_slice()));
        let test_x = interleaved(lanes.iter().map(|l| l.test.x.as_slice()));
        let test_y = interleaved(lanes.iter().map(|l| l.test.y.as_slice()));
        Self {
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
            single_eval_x: vec![T::ZERO; eval_rows * d],
            lane_params: vec![T::ZERO; arch.n_params()],
            lane_grads: vec![T::ZERO; arch.n_params()],
            steps_per_epoch: train_n.div_ceil(batch) as u64,
            batch,
            eval_chunk: eval_rows,
            lanes,
            arch,
            spec,
        }
    }

    /// Trains the group as [`crate::train`] trains each of its runs.
    fn run<S: Sink>(mut self, sinks: &mut [S]) -> Vec<RunOutcome> {
        let started = Instant::now();
        let (train_n, has_test) = (self.lanes[0].train.n, self.lanes[0].test.n > 0);
        for (lane, sink) in self.lanes.iter().zip(sinks.iter_mut()) {
            announce(lane.spec, &self.arch, self.steps_per_epoch, has_test, sink);
        }
        self.metrics(0, 0, sinks);
        let mut step: u64 = 0;
        'epochs: for epoch in 0..self.spec.epochs {
            for lane in self.lanes.iter_mut().filter(|l| l.live()) {
                reshuffle(&mut lane.order, &mut lane.shuffle);
            }
            for start in (0..train_n).step_by(self.batch) {
                let rows = self.batch.min(train_n - start);
                let losses = self.gradients_on(start, rows);
                for (r, loss) in losses.iter().enumerate().take(self.lanes.len()) {
                    if self.lanes[r].live() && !loss.is_finite() {
                        self.stop(r, step);
                    }
                }
                if self.lanes.iter().all(|l| !l.live()) {
                    break 'epochs;
                }
                let records = self.spec.record.records(step, self.steps_per_epoch);
                if records {
                    self.record(epoch, step, sinks, true);
                }
                self.optimizer
                    .step(&mut self.state, &mut self.params, &self.grads);
                if records {
                    let lanes = self.lanes.iter_mut().zip(sinks.iter_mut());
                    for (r, (lane, sink)) in lanes.enumerate() {
                        if lane.live() {
                            lane_of(&self.params, r, &mut self.lane_params);
                            let params = &self.lane_params;
                            lane.recorder
                                .record_update(&self.arch, params, epoch, step, sink);
                        }
                    }
                }
                step += 1;
            }
            for r in 0..self.lanes.len() {
                if self.lanes[r].live() && !self.lane_finite(r) {
                    self.stop(r, step);
                }
            }
            if self.lanes.iter().all(|l| !l.live()) {
                break;
            }
            self.metrics(epoch + 1, step, sinks);
        }
        if self.lanes.iter().any(|l| l.live()) {
            // The final record: the trained parameters, with the gradient of the
            // minibatch that would open the next epoch (not applied).
            for lane in self.lanes.iter_mut().filter(|l| l.live()) {
                lane.steps = step;
                reshuffle(&mut lane.order, &mut lane.shuffle);
            }
            let losses = self.gradients_on(0, self.batch.min(train_n));
            for (lane, loss) in self.lanes.iter_mut().zip(losses) {
                lane.diverged |= lane.live() && !loss.is_finite();
            }
            self.record(self.spec.epochs, step, sinks, false);
        }
        for (r, (lane, sink)) in self.lanes.iter().zip(sinks.iter_mut()).enumerate() {
            if !lane.diverged && draws_boundary(lane.spec, &lane.train) {
                lane_of(&self.params, r, &mut self.lane_params);
                boundary(
                    lane.spec,
                    &self.arch,
                    Weights::plain(&self.lane_params),
                    &lane.train,
                    &mut self.single_eval,
                    &mut self.single_eval_x,
                    sink,
                );
            }
        }
        let wall = started.elapsed() / self.lanes.len() as u32;
        let lanes = std::mem::take(&mut self.lanes);
        lanes
            .into_iter()
            .map(|lane| self.outcome(&lane, wall))
            .collect()
    }

    /// Ends lane `r`'s training at `step`: it diverged there.
    fn stop(&mut self, r: usize, step: u64) {
        let mut frozen = vec![T::ZERO; self.arch.n_params()];
        lane_of(&self.params, r, &mut frozen);
        let lane = &mut self.lanes[r];
        lane.diverged = true;
        lane.steps = step;
        lane.frozen = Some(frozen);
    }

    /// Whether every parameter of lane `r` is finite.
    fn lane_finite(&self, r: usize) -> bool {
        self.params
            .chunks_exact(LANES)
            .all(|lanes| lanes[r].is_finite())
    }

    /// Gathers every lane's minibatch of `rows` rows at position `start` of its own
    /// order and computes every lane's gradients; returns every lane's loss. Lanes
    /// without a run repeat the first.
    fn gradients_on(&mut self, start: usize, rows: usize) -> [T; LANES] {
        let (n, d) = (self.lanes[0].train.n, self.lanes[0].train.d);
        for r in 0..LANES {
            let source = if r < self.lanes.len() { r } else { 0 };
            let order = &self.lanes[source].order[start..start + rows];
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

    /// Records every live lane's state before its step (and keeps its parameters to
    /// measure the step's update, when `before_step`).
    fn record<S: Sink>(&mut self, epoch: u32, step: u64, sinks: &mut [S], before_step: bool) {
        for (r, (lane, sink)) in self.lanes.iter_mut().zip(sinks.iter_mut()).enumerate() {
            if !lane.live() {
                continue;
            }
            self.single.load_lane(&self.work, r);
            lane_of(&self.params, r, &mut self.lane_params);
            lane_of(&self.grads, r, &mut self.lane_grads);
            lane.recorder.record(
                &self.arch,
                &self.lane_params,
                &self.lane_grads,
                &self.single,
                epoch,
                step,
                sink,
            );
            if before_step {
                lane.recorder.save_before(&self.lane_params);
            }
        }
    }

    /// Evaluates every lane on both splits and sends each live lane its metrics.
    fn metrics<S: Sink>(&mut self, epoch: u32, step: u64, sinks: &mut [S]) {
        let train = self.evaluate(false);
        let test = (self.lanes[0].test.n > 0).then(|| self.evaluate(true));
        for (r, (lane, sink)) in self.lanes.iter_mut().zip(sinks.iter_mut()).enumerate() {
            if lane.live() {
                let metrics = (train[r], test.map(|t| t[r]));
                lane.last_metrics = Some(send_metrics(epoch, step, metrics, sink));
            }
        }
    }

    /// Every lane's mean loss and accuracy over a whole split, in the chunks
    /// [`crate::train`] evaluates a run in; each chunk is computed in blocks of
    /// [`EVAL_BLOCK`] rows (which keep the lanes' buffers in the cache) whose loss terms
    /// add up as the chunk's one pass would.
    fn evaluate(&mut self, test: bool) -> [(f64, f64); LANES] {
        let lane = &self.lanes[0];
        let (x, y, n, d) = if test {
            (&self.test_x, &self.test_y, lane.test.n, lane.test.d)
        } else {
            (&self.train_x, &self.train_y, lane.train.n, lane.train.d)
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

    /// A lane's outcome: its latest metrics, or, for a run that stopped because it
    /// diverged, its parameters then evaluated as alone.
    fn outcome(&mut self, lane: &Lane<'a, T>, wall: Duration) -> RunOutcome {
        let ((final_loss, final_accuracy), final_test) = match &lane.frozen {
            None => lane
                .last_metrics
                .expect("every lane is evaluated before its first step"),
            Some(params) => {
                let mut split = |rows: &Rows<T>| {
                    evaluate(
                        &self.arch,
                        Weights::plain(params),
                        rows,
                        &mut self.single_eval,
                        &mut self.single_eval_x,
                    )
                };
                let train = split(&lane.train);
                (train, (lane.test.n > 0).then(|| split(&lane.test)))
            }
        };
        RunOutcome {
            final_loss,
            final_accuracy,
            final_test,
            diverged: lane.diverged,
            steps: lane.steps,
            wall,
        }
    }
}
