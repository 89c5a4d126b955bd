use std::time::{Duration, Instant};

use vanishing_core::{MatRef, Workspace};
use vanishing_data::{Dataset, Split as DataSplit};

use crate::observe::{
    EVAL_CHUNK, Metrics, Recorded, Recorder, Rows, STREAM_INIT, STREAM_SHUFFLE, STREAM_SPLIT,
    announce, batch_rows, boundary, draws_boundary, evaluate, reshuffle, send_metrics, stream,
};
use crate::{DataSpec, Mlp, Precision, RunSpec, Sink, TrainError};

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
    let data = match spec.data {
        DataSpec::Circles(c) => c.generate_seeded(spec.seed)?,
        DataSpec::Moons(m) => m.generate_seeded(spec.seed)?,
    };
    if spec.test_fraction == 0.0 {
        let n_features = data.n_features;
        return Ok(DataSplit {
            train: data,
            test: Dataset::empty(n_features),
        });
    }
    Ok(data.stratified_split(spec.test_fraction, &mut stream(spec.seed, STREAM_SPLIT))?)
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
    match spec.precision {
        Precision::F32 => Trainer::<f32>::new(spec, data)?.run(sink),
        Precision::F64 => Trainer::<f64>::new(spec, data)?.run(sink),
    }
}

struct Trainer<'a, T> {
    spec: &'a RunSpec,
    mlp: Mlp<T>,
    train: Rows<T>,
    test: Rows<T>,
    eval: Workspace<T>,
    eval_x: Vec<T>,
    batch_x: Vec<T>,
    batch_y: Vec<T>,
    order: Vec<usize>,
    shuffle: rand_chacha::ChaCha8Rng,
    recorder: Recorder<T>,
    steps_per_epoch: u64,
}

impl<'a, T: Recorded> Trainer<'a, T> {
    fn new(spec: &'a RunSpec, data: &DataSplit) -> Result<Self, TrainError> {
        let train = Rows::<T>::new(&data.train);
        let test = Rows::<T>::new(&data.test);
        let arch = spec.model.architecture(train.d)?;
        let params = arch.init_params(&mut stream(spec.seed, STREAM_INIT));
        let batch = batch_rows(spec, train.n);
        let eval_rows = train.n.max(test.n).clamp(1, EVAL_CHUNK);
        let mlp = Mlp::new(arch.clone(), params, spec.optimizer, batch);
        Ok(Self {
            eval: Workspace::new(&arch, eval_rows),
            eval_x: vec![T::ZERO; eval_rows * train.d],
            batch_x: vec![T::ZERO; batch * train.d],
            batch_y: vec![T::ZERO; batch],
            order: (0..train.n).collect(),
            shuffle: stream(spec.seed, STREAM_SHUFFLE),
            recorder: Recorder::new(spec, &arch, batch),
            steps_per_epoch: train.n.div_ceil(batch) as u64,
            spec,
            mlp,
            train,
            test,
        })
    }

    fn run<S: Sink + ?Sized>(mut self, sink: &mut S) -> Result<RunOutcome, TrainError> {
        let started = Instant::now();
        let batch = self.batch_x.len() / self.train.d;
        let mut step: u64 = 0;
        let mut diverged = false;
        announce(
            self.spec,
            self.mlp.architecture(),
            self.steps_per_epoch,
            self.test.n > 0,
            sink,
        );
        // The metrics of the latest state, which are the final ones unless the run
        // diverged midway through an epoch.
        let mut last_metrics = Some(self.metrics(0, 0, sink));
        'epochs: for epoch in 0..self.spec.epochs {
            reshuffle(&mut self.order, &mut self.shuffle);
            for start in (0..self.train.n).step_by(batch) {
                let rows = batch.min(self.train.n - start);
                let loss = self.gradients_on(start, rows);
                if !loss.is_finite() {
                    diverged = true;
                    last_metrics = None;
                    break 'epochs;
                }
                let records = self.spec.record.records(step, self.steps_per_epoch);
                if records {
                    self.record(epoch, step, sink);
                    self.recorder.save_before(self.mlp.params());
                }
                self.mlp.apply_gradients();
                if records {
                    let arch = self.mlp.architecture();
                    self.recorder
                        .record_update(arch, self.mlp.params(), epoch, step, sink);
                }
                step += 1;
            }
            if !self.mlp.params_finite() {
                diverged = true;
                last_metrics = None;
                break;
            }
            last_metrics = Some(self.metrics(epoch + 1, step, sink));
        }
        if !diverged {
            // The final record: the trained parameters, with the gradient of the
            // minibatch that would open the next epoch (not applied).
            reshuffle(&mut self.order, &mut self.shuffle);
            let rows = batch.min(self.train.n);
            let loss = self.gradients_on(0, rows);
            diverged = !loss.is_finite();
            self.record(self.spec.epochs, step, sink);
        }
        if !diverged && draws_boundary(self.spec, &self.train) {
            let arch = self.mlp.architecture();
            boundary(
                self.spec,
                arch,
                self.mlp.weights(),
                &self.train,
                &mut self.eval,
                &mut self.eval_x,
                sink,
            );
        }
        // Evaluating a wide network over every row costs more than a step: the last
        // metrics already hold the final state's numbers.
        let ((final_loss, final_accuracy), final_test) = match last_metrics {
            Some(m) => m,
            None => (
                self.evaluate(false),
                (self.test.n > 0).then(|| self.evaluate(true)),
            ),
        };
        Ok(RunOutcome {
            final_loss,
            final_accuracy,
            final_test,
            diverged,
            steps: step,
            wall: started.elapsed(),
        })
    }

    /// Gathers the minibatch of `rows` rows at position `start` of the current order
    /// and computes its gradients. Returns its loss.
    fn gradients_on(&mut self, start: usize, rows: usize) -> T {
        let d = self.train.d;
        for (r, &i) in self.order[start..start + rows].iter().enumerate() {
            for j in 0..d {
                self.batch_x[j * rows + r] = self.train.x[j * self.train.n + i];
            }
            self.batch_y[r] = self.train.y[i];
        }
        let x = MatRef::from_column_major_slice(&self.batch_x[..rows * d], rows, d);
        self.mlp.compute_gradients(x, &self.batch_y[..rows])
    }

    /// Records the current state, before its step.
    fn record<S: Sink + ?Sized>(&mut self, epoch: u32, step: u64, sink: &mut S) {
        let mlp = &self.mlp;
        self.recorder.record(
            mlp.architecture(),
            mlp.params(),
            mlp.grads(),
            mlp.workspace(),
            epoch,
            step,
            sink,
        );
    }

    /// Sends the loss and accuracy of every split and returns them.
    fn metrics<S: Sink + ?Sized>(&mut self, epoch: u32, step: u64, sink: &mut S) -> Metrics {
        let train = self.evaluate(false);
        let test = (self.test.n > 0).then(|| self.evaluate(true));
        send_metrics(epoch, step, (train, test), sink)
    }

    /// Mean loss and accuracy of the current parameters over a whole split.
    fn evaluate(&mut self, test: bool) -> (f64, f64) {
        let rows = if test { &self.test } else { &self.train };
        evaluate(
            self.mlp.architecture(),
            self.mlp.weights(),
            rows,
            &mut self.eval,
            &mut self.eval_x,
        )
    }
}
