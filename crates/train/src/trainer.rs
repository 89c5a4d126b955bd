use std::time::{Duration, Instant};

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use vanishing_core::{MatRef, Scalar, Workspace};
use vanishing_data::{Dataset, Split as DataSplit};

use crate::record::{
    BoundaryRecord, HistogramRecord, LayerRecord, MetricRecord, Quantity, Split, StatsScratch,
    TensorRecord, Values,
};
use crate::{
    BinEdges, BinScale, DataSpec, Mlp, Precision, RecordPolicy, RunSpec, Sink, TrainError,
};

/// Stream numbers of the run's seed: each kind of random draw has its own, so that
/// changing one part of a configuration does not shift the draws of another.
const STREAM_INIT: u64 = 1;
const STREAM_SPLIT: u64 = 2;
const STREAM_SHUFFLE: u64 = 3;

/// Rows per forward pass when evaluating a whole split.
const EVAL_CHUNK: usize = 4096;

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

fn stream(seed: u64, stream: u64) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(stream);
    rng
}

/// The precisions a run computes in, whose tensors a sink can receive as [`Values`].
trait Recorded: Scalar {
    fn values(values: &[Self]) -> Values<'_>;
}

impl Recorded for f32 {
    fn values(values: &[Self]) -> Values<'_> {
        Values::F32(values)
    }
}

impl Recorded for f64 {
    fn values(values: &[Self]) -> Values<'_> {
        Values::F64(values)
    }
}

/// A split converted once to the training precision, column-major.
struct Rows<T> {
    x: Vec<T>,
    y: Vec<T>,
    n: usize,
    d: usize,
}

impl<T: Scalar> Rows<T> {
    fn new(data: &Dataset) -> Self {
        let (n, d) = (data.len(), data.n_features);
        let x = (0..d)
            .flat_map(|j| (0..n).map(move |i| T::from_f64(data.row(i)[j])))
            .collect();
        let y = data
            .labels
            .iter()
            .map(|&l| T::from_f64(f64::from(l)))
            .collect();
        Self { x, y, n, d }
    }

    fn chunk(&self, start: usize, len: usize, x: &mut [T]) {
        for j in 0..self.d {
            x[j * len..(j + 1) * len]
                .copy_from_slice(&self.x[j * self.n + start..j * self.n + start + len]);
        }
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
    shuffle: ChaCha8Rng,
    scratch: StatsScratch,
    /// A tensor derived at record time (the activation slopes, or a kernel's update).
    derived: Vec<T>,
    /// The parameters before the step that follows a record, to measure its update.
    before: Vec<T>,
    histograms: Option<Histograms>,
    steps_per_epoch: u64,
}

/// The fixed edges of both scales and the counts handed to the sink.
struct Histograms {
    activation: BinEdges,
    log: BinEdges,
    counts: Vec<u64>,
}

impl Histograms {
    fn new(bins: usize) -> Self {
        let activation = BinEdges::with_scale(BinScale::Activation, bins);
        let log = BinEdges::with_scale(BinScale::SymmetricLog, bins);
        let counts = Vec::with_capacity(activation.len().max(log.len()));
        Self {
            activation,
            log,
            counts,
        }
    }

    /// Counts `values` on the quantity's edges; returns the edges and the counts.
    fn count<T: Scalar>(&mut self, quantity: Quantity, values: &[T]) -> (&[f64], &[u64]) {
        let edges = match BinScale::of(quantity) {
            BinScale::Activation => &self.activation,
            BinScale::SymmetricLog => &self.log,
        };
        self.counts.clear();
        self.counts.resize(edges.len(), 0);
        edges.count(values, &mut self.counts);
        (edges.edges(), &self.counts)
    }
}

impl<'a, T: Recorded> Trainer<'a, T> {
    fn new(spec: &'a RunSpec, data: &DataSplit) -> Result<Self, TrainError> {
        let train = Rows::<T>::new(&data.train);
        let test = Rows::<T>::new(&data.test);
        let arch = spec.model.architecture(train.d)?;
        let params = arch.init_params(&mut stream(spec.seed, STREAM_INIT));
        let batch = spec.batch_size.min(train.n).max(1);
        let largest_layer = arch
            .shapes()
            .iter()
            .map(|s| s.units.max(s.fan_in))
            .max()
            .unwrap_or(1);
        let largest_tensor = arch
            .shapes()
            .iter()
            .map(|s| s.kernel.len().max(batch * s.units))
            .max()
            .unwrap_or(1);
        let eval_rows = train.n.max(test.n).clamp(1, EVAL_CHUNK);
        let mlp = Mlp::new(arch.clone(), params, spec.optimizer, batch);
        Ok(Self {
            eval: Workspace::new(&arch, eval_rows),
            eval_x: vec![T::ZERO; eval_rows * train.d],
            batch_x: vec![T::ZERO; batch * train.d],
            batch_y: vec![T::ZERO; batch],
            order: (0..train.n).collect(),
            shuffle: stream(spec.seed, STREAM_SHUFFLE),
            scratch: StatsScratch::new(largest_tensor.max(largest_layer)),
            derived: vec![T::ZERO; largest_tensor],
            before: vec![T::ZERO; arch.n_params()],
            histograms: spec.histogram_bins.map(Histograms::new),
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
        self.announce(sink);
        // The metrics of the latest state, which are the final ones unless the run
        // diverged midway through an epoch.
        let mut last_metrics = Some(self.metrics(0, 0, sink));
        'epochs: for epoch in 0..self.spec.epochs {
            self.reshuffle();
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
                    self.before.copy_from_slice(self.mlp.params());
                }
                self.mlp.apply_gradients();
                if records {
                    self.record_update(epoch, step, sink);
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
            self.reshuffle();
            let rows = batch.min(self.train.n);
            let loss = self.gradients_on(0, rows);
            diverged = !loss.is_finite();
            self.record(self.spec.epochs, step, sink);
        }
        if !diverged && self.spec.boundary_grid >= 2 && self.train.d == 2 && self.train.n > 0 {
            self.boundary(sink);
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

    /// Tells the sink how many records the run will send at most.
    fn announce<S: Sink + ?Sized>(&self, sink: &mut S) {
        let epochs = u64::from(self.spec.epochs);
        let total_steps = epochs * self.steps_per_epoch;
        let taken = match self.spec.record {
            RecordPolicy::Epoch => epochs,
            RecordPolicy::Step => total_steps,
            RecordPolicy::Every(n) => total_steps.div_ceil(n.max(1)),
        };
        // Every record covers each quantity of each layer, and one more closes the run;
        // all but that last one are followed by a step, whose update is recorded.
        let n_layers = self.mlp.architecture().layers().len();
        let layers = (taken as usize + 1) * n_layers * Quantity::BEFORE_STEP.len()
            + taken as usize * n_layers;
        let histograms = if self.spec.histogram_bins.is_some() {
            layers
        } else {
            0
        };
        let splits = if self.test.n > 0 { 2 } else { 1 };
        sink.expect(layers, histograms, (self.spec.epochs as usize + 1) * splits);
    }

    fn reshuffle(&mut self) {
        for i in (1..self.order.len()).rev() {
            let j = self.shuffle.random_range(0..=i);
            self.order.swap(i, j);
        }
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

    /// Sends the statistics (and histograms) of every quantity of every layer measured
    /// on the current state, before its step.
    fn record<S: Sink + ?Sized>(&mut self, epoch: u32, step: u64, sink: &mut S) {
        let arch = self.mlp.architecture();
        for (l, (shape, layer)) in arch.shapes().iter().zip(arch.layers()).enumerate() {
            let buffers = self.mlp.workspace().layer_buffers(l);
            let params = self.mlp.params();
            let grads = self.mlp.grads();
            for quantity in Quantity::BEFORE_STEP {
                let (values, saturation) = match quantity {
                    Quantity::Weight => (&params[shape.kernel.clone()], None),
                    Quantity::WeightGrad => (&grads[shape.kernel.clone()], None),
                    Quantity::Bias => (&params[shape.bias.clone()], None),
                    Quantity::BiasGrad => (&grads[shape.bias.clone()], None),
                    Quantity::Activation => (
                        buffers.activation,
                        Some((layer.activation, buffers.preactivation)),
                    ),
                    Quantity::PreactGrad => (buffers.preact_grad, None),
                    Quantity::Slope => {
                        let slope = &mut self.derived[..buffers.activation.len()];
                        layer.activation.derivative_slice(
                            buffers.preactivation,
                            buffers.activation,
                            slope,
                        );
                        (&*slope, None)
                    }
                    Quantity::Update => unreachable!("updates are measured after the step"),
                };
                send(
                    sink,
                    &mut self.scratch,
                    self.histograms.as_mut(),
                    (epoch, step, l, quantity),
                    values,
                    saturation,
                );
            }
        }
    }

    /// Sends the statistics (and histograms) of the update the last step applied to each
    /// kernel, from the parameters saved before it.
    fn record_update<S: Sink + ?Sized>(&mut self, epoch: u32, step: u64, sink: &mut S) {
        let arch = self.mlp.architecture();
        for (l, shape) in arch.shapes().iter().enumerate() {
            let after = &self.mlp.params()[shape.kernel.clone()];
            let before = &self.before[shape.kernel.clone()];
            let update = &mut self.derived[..after.len()];
            for ((u, &a), &b) in update.iter_mut().zip(after).zip(before) {
                *u = a - b;
            }
            send(
                sink,
                &mut self.scratch,
                self.histograms.as_mut(),
                (epoch, step, l, Quantity::Update),
                update,
                None,
            );
        }
    }

    /// Sends the loss and accuracy of every split and returns them (the test split's
    /// if there is one).
    #[allow(clippy::type_complexity)]
    fn metrics<S: Sink + ?Sized>(
        &mut self,
        epoch: u32,
        step: u64,
        sink: &mut S,
    ) -> ((f64, f64), Option<(f64, f64)>) {
        let train = self.evaluate(false);
        sink.metrics(&MetricRecord {
            epoch,
            step,
            split: Split::Train,
            loss: train.0,
            accuracy: train.1,
        });
        let test = (self.test.n > 0).then(|| {
            let test = self.evaluate(true);
            sink.metrics(&MetricRecord {
                epoch,
                step,
                split: Split::Test,
                loss: test.0,
                accuracy: test.1,
            });
            test
        });
        (train, test)
    }

    /// Sends the model's output over a grid around the training data.
    fn boundary<S: Sink + ?Sized>(&mut self, sink: &mut S) {
        let r = self.spec.boundary_grid;
        let n = self.train.n;
        let axis = |j: usize| {
            let column = &self.train.x[j * n..(j + 1) * n];
            let lo = column
                .iter()
                .map(|v| v.to_f64())
                .fold(f64::INFINITY, f64::min);
            let hi = column
                .iter()
                .map(|v| v.to_f64())
                .fold(f64::NEG_INFINITY, f64::max);
            let margin = 0.1 * (hi - lo).max(1e-6);
            (lo - margin, hi + margin)
        };
        let mut record = BoundaryRecord {
            x0: axis(0),
            x1: axis(1),
            resolution: r,
            probability: &[],
        };
        let points: Vec<(f64, f64)> = (0..r * r).map(|k| record.point(k)).collect();
        let mut probability = Vec::with_capacity(r * r);
        let arch = self.mlp.architecture();
        for chunk in points.chunks(self.eval.max_batch()) {
            let len = chunk.len();
            for (i, &(a, b)) in chunk.iter().enumerate() {
                self.eval_x[i] = T::from_f64(a);
                self.eval_x[len + i] = T::from_f64(b);
            }
            let x = MatRef::from_column_major_slice(&self.eval_x[..2 * len], len, 2);
            self.eval.forward(arch, self.mlp.params(), x);
            let out = self.eval.output();
            probability.extend((0..len).map(|i| out[(i, 0)].to_f64()));
        }
        record.probability = &probability;
        sink.boundary(&record);
    }

    /// Mean loss and accuracy of the current parameters over a whole split.
    fn evaluate(&mut self, test: bool) -> (f64, f64) {
        let rows = if test { &self.test } else { &self.train };
        let arch = self.mlp.architecture();
        let (mut loss_sum, mut correct) = (0.0, 0_usize);
        let chunk = self.eval.max_batch();
        for start in (0..rows.n).step_by(chunk) {
            let len = chunk.min(rows.n - start);
            rows.chunk(start, len, &mut self.eval_x[..len * rows.d]);
            let x = MatRef::from_column_major_slice(&self.eval_x[..len * rows.d], len, rows.d);
            self.eval.forward(arch, self.mlp.params(), x);
            let y = &rows.y[start..start + len];
            loss_sum += self.eval.loss(arch, y).to_f64() * len as f64;
            // The single output column, as one slice.
            let out = self.eval.layer_buffers(arch.shapes().len() - 1).activation;
            let half = T::from_f64(0.5);
            correct += out
                .iter()
                .zip(y)
                .filter(|&(&p, &t)| (p > half) == (t > half))
                .count();
        }
        let n = rows.n.max(1) as f64;
        (loss_sum / n, correct as f64 / n)
    }
}

/// Computes the statistics (and the histogram, when enabled) of one tensor and sends
/// them; `at` is the record's epoch, step, 0-based layer and quantity.
fn send<S: Sink + ?Sized, T: Recorded>(
    sink: &mut S,
    scratch: &mut StatsScratch,
    histograms: Option<&mut Histograms>,
    (epoch, step, l, quantity): (u32, u64, usize, Quantity),
    values: &[T],
    saturation: Option<(vanishing_core::Activation, &[T])>,
) {
    let layer = l as u32 + 1;
    if sink.wants_tensors() {
        sink.tensor(&TensorRecord {
            epoch,
            step,
            layer,
            quantity,
            values: T::values(values),
        });
    }
    sink.layer(&LayerRecord {
        epoch,
        step,
        layer,
        quantity,
        stats: scratch.stats(values, saturation),
    });
    if let Some(h) = histograms {
        let (edges, counts) = h.count(quantity, values);
        sink.histogram(&HistogramRecord {
            epoch,
            step,
            layer,
            quantity,
            edges,
            counts,
        });
    }
}
