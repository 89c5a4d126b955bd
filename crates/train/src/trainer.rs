//! A run alone: [`train`] trains one [`RunSpec`] on its prepared data ([`prepare_data`])
//! as a group of one run in the training loop ([`crate::run_loop`]), computed by the
//! single-network engine ([`Network`]: one [`Mlp`], which also keeps batch
//! normalization's moving statistics for evaluation). Runs side by side
//! ([`crate::train_together`]) go through the same loop on another engine.

use std::time::Duration;

use vanishing_core::{Architecture, LANES, MatRef, Workspace};
use vanishing_data::{Dataset, Split as DataSplit};

use crate::observe::{EVAL_CHUNK, Recorded, STREAM_SPLIT, batch_rows, evaluate, stream};
use crate::run_loop::{Alone, Engine, Run, State, train_runs};
use crate::{Mlp, Precision, RunSpec, Sink, TrainError};

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RunOutcome {
    /// Mean loss on the training rows at the end (or when the run diverged).
    pub final_loss: f64,
    /// Accuracy on the training rows at the end.
    pub final_accuracy: f64,
    /// Loss and accuracy on the test rows at the end, when there is a test split.
    pub final_test: Option<(f64, f64)>,
    /// Whether the loss or a parameter became NaN or infinite, which ended the run.
    pub diverged: bool,
    /// Optimizer steps taken.
    pub steps: u64,
    /// Time spent training and recording, measured in the process.
    pub wall: Duration,
}

/// Generates the run's dataset and divides it into training and test rows.
///
/// # Errors
/// [`TrainError::Data`] for refused data parameters.
pub fn prepare_data(spec: &RunSpec) -> Result<DataSplit, TrainError> {
    let data = spec.data.generate(spec.seed)?;
    let mut split = if spec.test_fraction == 0.0 {
        let n_features = data.n_features;
        DataSplit {
            train: data,
            test: Dataset::empty(n_features),
        }
    } else {
        data.stratified_split(spec.test_fraction, &mut stream(spec.seed, STREAM_SPLIT))?
    };
    if spec.data.standardizes() {
        standardize(&mut split);
    }
    Ok(split)
}

/// Centres every feature on the training rows' mean and divides it by their standard
/// deviation (the population's, as scikit-learn's `StandardScaler`), the test rows by
/// the same numbers, so that nothing of the test rows leaks into training. A feature
/// constant on the training rows is only centred.
fn standardize(split: &mut DataSplit) {
    let d = split.train.n_features;
    let n = split.train.len().max(1) as f64;
    for j in 0..d {
        let train = &split.train;
        let column = || (0..train.len()).map(|i| train.x[i * d + j]);
        let mean = column().sum::<f64>() / n;
        let var = column().map(|v| (v - mean) * (v - mean)).sum::<f64>() / n;
        let scale = if var > 0.0 { var.sqrt() } else { 1.0 };
        for data in [&mut split.train, &mut split.test] {
            for i in 0..data.len() {
                let v = &mut data.x[i * d + j];
                *v = (*v - mean) / scale;
            }
        }
    }
}

/// Trains one run on prepared data, sending every record to `sink`.
///
/// # Errors
/// A [`TrainError`] if the spec is invalid; a run that diverges is not an error (see
/// [`RunOutcome::diverged`]).
pub fn train<S: Sink + ?Sized>(
    spec: &RunSpec,
    data: &DataSplit,
    sink: &mut S,
) -> Result<RunOutcome, TrainError> {
    spec.validate()?;
    let arch = spec.architecture(data.train.n_features)?;
    Ok(match spec.precision {
        Precision::F32 => alone::<f32, S>(spec, data, arch, sink),
        Precision::F64 => alone::<f64, S>(spec, data, arch, sink),
    })
}

/// Trains one run of `arch` in the training loop, as a group of one.
fn alone<T: Recorded, S: Sink + ?Sized>(
    spec: &RunSpec,
    data: &DataSplit,
    arch: Architecture,
    sink: &mut S,
) -> RunOutcome {
    let mut runs = [Run::<T>::new(spec, data, &arch)];
    let mut network = Network::new(arch, &runs[0]);
    train_runs(&mut network, &mut runs, &mut [sink])[0]
}

/// The single-network engine: one run's network and the buffers that feed it.
struct Network<T> {
    mlp: Mlp<T>,
    eval: Workspace<T>,
    eval_x: Vec<T>,
    batch_x: Vec<T>,
    batch_y: Vec<T>,
}

impl<T: Recorded> Network<T> {
    fn new(arch: Architecture, run: &Run<'_, T>) -> Self {
        let (train, test) = (&run.train, &run.test);
        let batch = batch_rows(run.spec, train.n);
        let eval_rows = train.n.max(test.n).clamp(1, EVAL_CHUNK);
        let params = run.initial_params(&arch);
        Self {
            eval: Workspace::new(&arch, eval_rows),
            // An evaluation chunk's inputs, then its targets.
            eval_x: vec![T::ZERO; eval_rows * (train.d + train.k)],
            batch_x: vec![T::ZERO; batch * train.d],
            batch_y: vec![T::ZERO; batch * train.k],
            mlp: Mlp::new(arch, params, run.spec.optimizer, batch),
        }
    }
}

/// Run `r` can only be 0: the engine computes one run. Since the loop stops training as
/// soon as its only run stops, the network's parameters then stay those it stopped at.
impl<T: Recorded> Engine<T> for Network<T> {
    fn architecture(&self) -> &Architecture {
        self.mlp.architecture()
    }

    fn gradients(&mut self, runs: &[Run<'_, T>], start: usize, rows: usize) -> [T; LANES] {
        let run = &runs[0];
        let (d, k) = (run.train.d, run.train.k);
        let (x, y) = (&mut self.batch_x[..rows * d], &mut self.batch_y[..rows * k]);
        run.train.gather(&run.order[start..start + rows], x, y);
        let x = MatRef::from_column_major_slice(x, rows, d);
        [self.mlp.compute_gradients(x, y); LANES]
    }

    fn train_step(&mut self, runs: &[Run<'_, T>], start: usize, rows: usize) -> Option<[T; LANES]> {
        let run = &runs[0];
        let (d, k) = (run.train.d, run.train.k);
        let (x, y) = (&mut self.batch_x[..rows * d], &mut self.batch_y[..rows * k]);
        run.train.gather(&run.order[start..start + rows], x, y);
        let x = MatRef::from_column_major_slice(x, rows, d);
        Some([self.mlp.train_step(x, y); LANES])
    }

    fn step(&mut self) {
        self.mlp.apply_gradients();
    }

    fn state(&mut self, _: usize) -> State<'_, T> {
        let mlp = &self.mlp;
        State {
            arch: mlp.architecture(),
            params: mlp.params(),
            grads: mlp.grads(),
            workspace: mlp.workspace(),
        }
    }

    fn params(&mut self, _: usize) -> (&Architecture, &[T]) {
        (self.mlp.architecture(), self.mlp.params())
    }

    fn finite(&self, _: usize) -> bool {
        self.mlp.params_finite()
    }

    fn stop(&mut self, _: usize) {}

    fn evaluate(&mut self, runs: &[Run<'_, T>], test: bool) -> [(f64, f64); LANES] {
        let run = &runs[0];
        let rows = if test { &run.test } else { &run.train };
        let alone = self.alone(0);
        let metrics = evaluate(alone.arch, alone.weights, rows, alone.eval, alone.eval_x);
        [metrics; LANES]
    }

    fn alone(&mut self, _: usize) -> Alone<'_, T> {
        Alone {
            arch: self.mlp.architecture(),
            weights: self.mlp.weights(),
            eval: &mut self.eval,
            eval_x: &mut self.eval_x,
        }
    }
}
