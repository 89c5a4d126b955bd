//! The training loop, written once for a run alone and for runs side by side.
//!
//! [`train_runs`] trains a group of runs that share an architecture and a schedule and
//! differ only in their seed: epochs, the reshuffle of every run's rows, minibatch
//! gradients, the divergence checks, the records before a step (and the parameters
//! saved for its update), the step, the update's record after it, the metrics of every
//! epoch, the final record (whose gradient is not applied), the decision surface and
//! the outcomes. It decides everything a run does and sends; an [`Engine`] only
//! computes. Two engines implement it: the single-network engine of [`crate::train`]
//! (one [`crate::Mlp`], a group of one run) and the lane engine of
//! [`crate::train_together`] (up to [`LANES`] runs in one core `LaneWorkspace`). Since
//! both run this same code, a run's records and outcome cannot depend on which engine
//! computed it as long as each engine computes every run with the arithmetic it has
//! alone.

use std::time::Duration;

use rand_chacha::ChaCha8Rng;
use vanishing_core::{Architecture, LANES, Workspace};
use vanishing_data::Split as DataSplit;

use crate::observe::{
    Metrics, Recorded, Recorder, Rows, STREAM_INIT, STREAM_SHUFFLE, Weights, announce, batch_rows,
    boundary, draws_boundary, evaluate, reshuffle, send_metrics, stream,
};
use crate::{RunOutcome, RunSpec, Sink};

/// One run of a group: everything that makes it itself, whichever engine computes it.
pub(crate) struct Run<'a, T> {
    pub(crate) spec: &'a RunSpec,
    pub(crate) train: Rows<T>,
    pub(crate) test: Rows<T>,
    /// The order of the training rows in the current epoch, which an engine gathers
    /// minibatches by.
    pub(crate) order: Vec<usize>,
    shuffle: ChaCha8Rng,
    recorder: Recorder<T>,
    /// Whether the run stopped training because its loss or a parameter became NaN or
    /// infinite.
    stopped: bool,
    /// Whether the loss or a parameter became NaN or infinite, while training or in the
    /// final record.
    diverged: bool,
    /// The metrics of the latest state, which are the final ones unless the run stopped
    /// midway through an epoch.
    last_metrics: Option<Metrics>,
    steps: u64,
}

impl<'a, T: Recorded> Run<'a, T> {
    /// The run of `spec` on its prepared data, with recording buffers for `arch`.
    pub(crate) fn new(spec: &'a RunSpec, data: &DataSplit, arch: &Architecture) -> Self {
        let train = Rows::<T>::new(&data.train, arch.outputs());
        Self {
            order: (0..train.n).collect(),
            shuffle: stream(spec.seed, STREAM_SHUFFLE),
            recorder: Recorder::new(spec, arch, batch_rows(spec, train.n)),
            test: Rows::new(&data.test, arch.outputs()),
            train,
            spec,
            stopped: false,
            diverged: false,
            last_metrics: None,
            steps: 0,
        }
    }

    /// The run's initial parameters, drawn from its own stream.
    pub(crate) fn initial_params(&self, arch: &Architecture) -> Vec<T> {
        arch.init_params(&mut stream(self.spec.seed, STREAM_INIT))
    }
}

/// Run `r`'s state as its last gradients computed it, in the layout of a run alone:
/// what a record reads.
pub(crate) struct State<'e, T> {
    pub(crate) arch: &'e Architecture,
    pub(crate) params: &'e [T],
    pub(crate) grads: &'e [T],
    pub(crate) workspace: &'e Workspace<T>,
}

/// What evaluating one run in the layout of a run alone needs: its weights (those at
/// which it stopped, if it did) and buffers for a whole split's chunks.
pub(crate) struct Alone<'e, T> {
    pub(crate) arch: &'e Architecture,
    pub(crate) weights: Weights<'e, T>,
    pub(crate) eval: &'e mut Workspace<T>,
    pub(crate) eval_x: &'e mut [T],
}

/// The computations of a group's runs, which [`train_runs`] drives. Run `r` is the
/// `r`-th of the runs the loop was given; an engine must compute each with the
/// arithmetic that run has alone. Nothing on the per-step path (`gradients`, `step`,
/// `state`, `params`) may allocate.
pub(crate) trait Engine<T: Recorded> {
    /// The architecture every run trains.
    fn architecture(&self) -> &Architecture;

    /// Gathers every run's minibatch of `rows` rows at position `start` of its order
    /// and computes its gradients; returns every run's mean loss (entries past the
    /// group's runs mean nothing).
    fn gradients(&mut self, runs: &[Run<'_, T>], start: usize, rows: usize) -> [T; LANES];

    /// When the engine can, a whole step of every run whose gradients are not recorded
    /// (gradients and [`Engine::step`] at once, with the same bits; a run whose loss is
    /// not finite keeps its parameters): every run's mean loss. `None` leaves the step
    /// to [`Engine::gradients`] and [`Engine::step`].
    fn train_step(
        &mut self,
        _runs: &[Run<'_, T>],
        _start: usize,
        _rows: usize,
    ) -> Option<[T; LANES]> {
        None
    }

    /// Applies every run's last gradients. A stopped run's parameters may change too:
    /// the engine keeps those it stopped at (see [`Engine::stop`]).
    fn step(&mut self);

    /// Run `r`'s parameters, gradients and buffers of the last [`Engine::gradients`].
    fn state(&mut self, r: usize) -> State<'_, T>;

    /// Run `r`'s parameters now, with the architecture.
    fn params(&mut self, r: usize) -> (&Architecture, &[T]);

    /// Whether every parameter of run `r` is finite.
    fn finite(&self, r: usize) -> bool;

    /// Keeps run `r`'s current parameters as the ones it ended with: it diverged.
    fn stop(&mut self, r: usize);

    /// Every run's mean loss and accuracy over its whole training or test split
    /// (entries past the group's runs mean nothing).
    fn evaluate(&mut self, runs: &[Run<'_, T>], test: bool) -> [(f64, f64); LANES];

    /// Run `r` for an evaluation as alone: its weights, or those it stopped at.
    fn alone(&mut self, r: usize) -> Alone<'_, T>;
}

/// Trains `runs` (one sink each, in order) on `engine` and returns their outcomes;
/// every run's [`RunOutcome::wall`] is the group's time divided among its runs.
pub(crate) fn train_runs<T: Recorded, E: Engine<T>, S: Sink + ?Sized>(
    engine: &mut E,
    runs: &mut [Run<'_, T>],
    sinks: &mut [&mut S],
) -> Vec<RunOutcome> {
    let started = Stopwatch::start();
    let spec = runs[0].spec;
    let (train_n, has_test) = (runs[0].train.n, runs[0].test.n > 0);
    let batch = batch_rows(spec, train_n);
    let steps_per_epoch = train_n.div_ceil(batch) as u64;
    for (run, sink) in runs.iter().zip(sinks.iter_mut()) {
        let arch = engine.architecture();
        announce(run.spec, arch, steps_per_epoch, has_test, &mut **sink);
    }
    metrics(engine, runs, sinks, 0, 0);
    let mut step: u64 = 0;
    'epochs: for epoch in 0..spec.epochs {
        for run in runs.iter_mut().filter(|run| !run.stopped) {
            reshuffle(&mut run.order, &mut run.shuffle);
        }
        for start in (0..train_n).step_by(batch) {
            let rows = batch.min(train_n - start);
            let records = spec.record.records(step, steps_per_epoch);
            // A step nobody records may be taken whole (see `Engine::train_step`).
            let taken = if records {
                None
            } else {
                engine.train_step(runs, start, rows)
            };
            let losses = taken.unwrap_or_else(|| engine.gradients(runs, start, rows));
            for (r, loss) in losses.iter().enumerate().take(runs.len()) {
                if !runs[r].stopped && !loss.is_finite() {
                    stop(engine, runs, r, step);
                }
            }
            if runs.iter().all(|run| run.stopped) {
                break 'epochs;
            }
            if taken.is_some() {
                step += 1;
                continue;
            }
            if records {
                record(engine, runs, sinks, (epoch, step), true);
            }
            engine.step();
            if records {
                let live = runs.iter_mut().zip(sinks.iter_mut()).enumerate();
                for (r, (run, sink)) in live.filter(|(_, (run, _))| !run.stopped) {
                    let (arch, params) = engine.params(r);
                    run.recorder
                        .record_update(arch, params, epoch, step, &mut **sink);
                }
            }
            step += 1;
        }
        for r in 0..runs.len() {
            if !runs[r].stopped && !engine.finite(r) {
                stop(engine, runs, r, step);
            }
        }
        if runs.iter().all(|run| run.stopped) {
            break;
        }
        metrics(engine, runs, sinks, epoch + 1, step);
    }
    if runs.iter().any(|run| !run.stopped) {
        // The final record: the trained parameters, with the gradient of the minibatch
        // that would open the next epoch (not applied).
        for run in runs.iter_mut().filter(|run| !run.stopped) {
            run.steps = step;
            reshuffle(&mut run.order, &mut run.shuffle);
        }
        let losses = engine.gradients(runs, 0, batch.min(train_n));
        for (run, loss) in runs.iter_mut().zip(losses) {
            run.diverged |= !run.stopped && !loss.is_finite();
        }
        record(engine, runs, sinks, (spec.epochs, step), false);
    }
    for (r, (run, sink)) in runs.iter().zip(sinks.iter_mut()).enumerate() {
        if !run.diverged && draws_boundary(run.spec, &run.train) {
            let alone = engine.alone(r);
            boundary(
                run.spec,
                alone.arch,
                alone.weights,
                &run.train,
                alone.eval,
                alone.eval_x,
                &mut **sink,
            );
        }
    }
    let wall = started.elapsed() / runs.len() as u32;
    (0..runs.len())
        .map(|r| outcome(engine, &runs[r], r, wall))
        .collect()
}

/// Ends run `r`'s training at `step`: it diverged there.
fn stop<T: Recorded, E: Engine<T>>(engine: &mut E, runs: &mut [Run<'_, T>], r: usize, step: u64) {
    engine.stop(r);
    let run = &mut runs[r];
    run.stopped = true;
    run.diverged = true;
    run.steps = step;
}

/// Records every training run's state before its step (and keeps its parameters to
/// measure the step's update, when `before_step`).
fn record<T: Recorded, E: Engine<T>, S: Sink + ?Sized>(
    engine: &mut E,
    runs: &mut [Run<'_, T>],
    sinks: &mut [&mut S],
    (epoch, step): (u32, u64),
    before_step: bool,
) {
    let live = runs.iter_mut().zip(sinks.iter_mut()).enumerate();
    for (r, (run, sink)) in live.filter(|(_, (run, _))| !run.stopped) {
        let state = engine.state(r);
        run.recorder.record(
            state.arch,
            state.params,
            state.grads,
            state.workspace,
            epoch,
            step,
            &mut **sink,
        );
        if before_step {
            run.recorder.save_before(state.params);
        }
    }
}

/// Evaluates every run on both splits and sends each training run its metrics.
fn metrics<T: Recorded, E: Engine<T>, S: Sink + ?Sized>(
    engine: &mut E,
    runs: &mut [Run<'_, T>],
    sinks: &mut [&mut S],
    epoch: u32,
    step: u64,
) {
    let train = engine.evaluate(runs, false);
    let test = (runs[0].test.n > 0).then(|| engine.evaluate(runs, true));
    let live = runs.iter_mut().zip(sinks.iter_mut()).enumerate();
    for (r, (run, sink)) in live.filter(|(_, (run, _))| !run.stopped) {
        let metrics = (train[r], test.map(|t| t[r]));
        run.last_metrics = Some(send_metrics(epoch, step, metrics, &mut **sink));
    }
}

/// Run `r`'s outcome: its latest metrics, or, for a run that stopped because it
/// diverged, the parameters it stopped at evaluated as alone.
fn outcome<T: Recorded, E: Engine<T>>(
    engine: &mut E,
    run: &Run<'_, T>,
    r: usize,
    wall: Duration,
) -> RunOutcome {
    // Evaluating a wide network over every row costs more than a step: the last metrics
    // already hold the final state's numbers, unless the run stopped midway.
    let ((final_loss, final_accuracy), final_test) = if run.stopped {
        let alone = engine.alone(r);
        let train = evaluate(
            alone.arch,
            alone.weights,
            &run.train,
            alone.eval,
            alone.eval_x,
        );
        let test = (run.test.n > 0).then(|| {
            evaluate(
                alone.arch,
                alone.weights,
                &run.test,
                alone.eval,
                alone.eval_x,
            )
        });
        (train, test)
    } else {
        run.last_metrics
            .expect("every run is evaluated before its first step")
    };
    RunOutcome {
        final_loss,
        final_accuracy,
        final_test,
        diverged: run.diverged,
        steps: run.steps,
        wall,
    }
}

/// Wall time where the platform has a clock. WebAssembly in a page has none that the
/// standard library can read (`Instant::now` panics there), so a run's time is zero
/// and the lab measures it with the page's clock instead.
struct Stopwatch {
    #[cfg(not(target_arch = "wasm32"))]
    started: std::time::Instant,
}

impl Stopwatch {
    fn start() -> Self {
        Self {
            #[cfg(not(target_arch = "wasm32"))]
            started: std::time::Instant::now(),
        }
    }

    fn elapsed(&self) -> Duration {
        #[cfg(not(target_arch = "wasm32"))]
        return self.started.elapsed();
        #[cfg(target_arch = "wasm32")]
        return Duration::ZERO;
    }
}
