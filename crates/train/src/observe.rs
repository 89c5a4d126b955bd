//! What a run sends to its sink, computed the same way whether the run trains alone
//! ([`crate::train`]) or beside others in vector lanes ([`crate::train_together`]):
//! the training data in the training precision ([`Rows`]), the per-layer records of a
//! state ([`Recorder`]), the expected record counts, the metrics, the evaluation of a
//! parameter vector over a split and the decision surface.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use vanishing_core::{Architecture, MatRef, Scalar, Workspace};
use vanishing_data::Dataset;

use crate::record::{
    BoundaryRecord, HistogramRecord, LayerRecord, MetricRecord, Quantity, Split, StatsScratch,
    TensorRecord, Values,
};
use crate::{BinEdges, BinScale, RecordPolicy, RunSpec, Sink};

/// Stream numbers of the run's seed: each kind of random draw has its own, so that
/// changing one part of a configuration does not shift the draws of another.
pub(crate) const STREAM_INIT: u64 = 1;
pub(crate) const STREAM_SPLIT: u64 = 2;
pub(crate) const STREAM_SHUFFLE: u64 = 3;

/// Rows per forward pass when evaluating a whole split.
pub(crate) const EVAL_CHUNK: usize = 4096;

/// The random stream `stream` of `seed`.
pub(crate) fn stream(seed: u64, stream: u64) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(stream);
    rng
}

/// The precisions a run computes in, whose tensors a sink can receive as [`Values`].
pub(crate) trait Recorded: Scalar {
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
pub(crate) struct Rows<T> {
    pub(crate) x: Vec<T>,
    /// The targets, column-major `n x k`: the label itself for a single output unit
    /// (`k = 1`), one-hot over the classes for a softmax of `k` units.
    pub(crate) y: Vec<T>,
    pub(crate) n: usize,
    pub(crate) d: usize,
    pub(crate) k: usize,
}

impl<T: Scalar> Rows<T> {
    /// The rows of `data` with targets for `outputs` output units.
    pub(crate) fn new(data: &Dataset, outputs: usize) -> Self {
        let (n, d) = (data.len(), data.n_features);
        let x = (0..d)
            .flat_map(|j| (0..n).map(move |i| T::from_f64(data.row(i)[j])))
            .collect();
        let y = if outputs == 1 {
            data.labels
                .iter()
                .map(|&l| T::from_f64(f64::from(l)))
                .collect()
        } else {
            (0..outputs)
                .flat_map(|c| {
                    data.labels
                        .iter()
                        .map(move |&l| if l as usize == c { T::ONE } else { T::ZERO })
                })
                .collect()
        };
        Self {
            x,
            y,
            n,
            d,
            k: outputs,
        }
    }

    /// Copies rows `start..start + len` into `x` and their targets into `y`, both
    /// column-major.
    pub(crate) fn chunk(&self, start: usize, len: usize, x: &mut [T], y: &mut [T]) {
        for j in 0..self.d {
            x[j * len..(j + 1) * len]
                .copy_from_slice(&self.x[j * self.n + start..j * self.n + start + len]);
        }
        for c in 0..self.k {
            y[c * len..(c + 1) * len]
                .copy_from_slice(&self.y[c * self.n + start..c * self.n + start + len]);
        }
    }

    /// Gathers the rows `order` into a minibatch: features into `x`, targets into `y`,
    /// both column-major.
    pub(crate) fn gather(&self, order: &[usize], x: &mut [T], y: &mut [T]) {
        let rows = order.len();
        for (r, &i) in order.iter().enumerate() {
            for j in 0..self.d {
                x[j * rows + r] = self.x[j * self.n + i];
            }
            for c in 0..self.k {
                y[c * rows + r] = self.y[c * self.n + i];
            }
        }
    }
}

/// Minibatches of the run: the spec's size, or the whole split if that is smaller.
pub(crate) fn batch_rows(spec: &RunSpec, train_rows: usize) -> usize {
    spec.batch_size.min(train_rows).max(1)
}

/// Shuffles `order` in place with the run's shuffling stream (Fisher-Yates).
pub(crate) fn reshuffle(order: &mut [usize], rng: &mut ChaCha8Rng) {
    use rand::RngExt;
    for i in (1..order.len()).rev() {
        let j = rng.random_range(0..=i);
        order.swap(i, j);
    }
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

/// Turns one run's states into per-layer records, with the buffers it needs allocated
/// once.
pub(crate) struct Recorder<T> {
    scratch: StatsScratch,
    /// A tensor derived at record time (the activation slopes, or a kernel's update).
    derived: Vec<T>,
    /// The parameters before the step that follows a record, to measure its update.
    before: Vec<T>,
    histograms: Option<Histograms>,
}

impl<T: Recorded> Recorder<T> {
    /// Buffers for records of `arch` on minibatches of up to `batch` rows.
    pub(crate) fn new(spec: &RunSpec, arch: &Architecture, batch: usize) -> Self {
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
        Self {
            scratch: StatsScratch::new(largest_tensor.max(largest_layer)),
            derived: vec![T::ZERO; largest_tensor],
            before: vec![T::ZERO; arch.n_params()],
            histograms: spec.histogram_bins.map(Histograms::new),
        }
    }

    /// Sends the statistics (and histograms) of every quantity of every layer measured
    /// on a state before its step: its parameters, gradients and the buffers of the
    /// pass that computed them.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn record<S: Sink + ?Sized>(
        &mut self,
        arch: &Architecture,
        params: &[T],
        grads: &[T],
        workspace: &Workspace<T>,
        epoch: u32,
        step: u64,
        sink: &mut S,
    ) {
        for (l, (shape, layer)) in arch.shapes().iter().zip(arch.layers()).enumerate() {
            let buffers = workspace.layer_buffers(l);
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

    /// Keeps the parameters before a recorded step, for [`Recorder::record_update`].
    pub(crate) fn save_before(&mut self, params: &[T]) {
        self.before.copy_from_slice(params);
    }

    /// Sends the statistics (and histograms) of the update the last step applied to each
    /// kernel, from the parameters saved before it.
    pub(crate) fn record_update<S: Sink + ?Sized>(
        &mut self,
        arch: &Architecture,
        params: &[T],
        epoch: u32,
        step: u64,
        sink: &mut S,
    ) {
        for (l, shape) in arch.shapes().iter().enumerate() {
            let after = &params[shape.kernel.clone()];
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
}

/// Tells the sink how many records the run will send at most.
pub(crate) fn announce<S: Sink + ?Sized>(
    spec: &RunSpec,
    arch: &Architecture,
    steps_per_epoch: u64,
    has_test: bool,
    sink: &mut S,
) {
    let epochs = u64::from(spec.epochs);
    let total_steps = epochs * steps_per_epoch;
    let taken = match spec.record {
        RecordPolicy::Epoch => epochs,
        RecordPolicy::Step => total_steps,
        RecordPolicy::Every(n) => total_steps.div_ceil(n.max(1)),
    };
    // Every record covers each quantity of each layer, and one more closes the run;
    // all but that last one are followed by a step, whose update is recorded.
    let n_layers = arch.layers().len();
    let layers =
        (taken as usize + 1) * n_layers * Quantity::BEFORE_STEP.len() + taken as usize * n_layers;
    let histograms = if spec.histogram_bins.is_some() {
        layers
    } else {
        0
    };
    let splits = if has_test { 2 } else { 1 };
    sink.expect(layers, histograms, (spec.epochs as usize + 1) * splits);
}

/// Loss and accuracy of the training split and, if there is one, the test split.
pub(crate) type Metrics = ((f64, f64), Option<(f64, f64)>);

/// Sends one state's metrics and returns them.
pub(crate) fn send_metrics<S: Sink + ?Sized>(
    epoch: u32,
    step: u64,
    (train, test): Metrics,
    sink: &mut S,
) -> Metrics {
    let mut one = |split, (loss, accuracy)| {
        sink.metrics(&MetricRecord {
            epoch,
            step,
            split,
            loss,
            accuracy,
        });
    };
    one(Split::Train, train);
    if let Some(test) = test {
        one(Split::Test, test);
    }
    (train, test)
}

/// What evaluation reads of a network: its parameters and the moving statistics of
/// its batch-normalized layers (empty without any).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Weights<'a, T> {
    pub(crate) params: &'a [T],
    pub(crate) moving: &'a [T],
}

impl<'a, T> Weights<'a, T> {
    /// The parameters of a network without moving statistics.
    pub(crate) fn plain(params: &'a [T]) -> Self {
        Self {
            params,
            moving: &[],
        }
    }
}

/// Mean loss and accuracy of `weights` over a whole split, in evaluation mode, through
/// `eval` (whose batch size sets the chunk) and the input buffer `eval_x`.
pub(crate) fn evaluate<T: Scalar>(
    arch: &Architecture,
    weights: Weights<'_, T>,
    rows: &Rows<T>,
    eval: &mut Workspace<T>,
    eval_x: &mut [T],
) -> (f64, f64) {
    let (mut loss_sum, mut correct) = (0.0, 0_usize);
    let chunk = eval.max_batch();
    // The buffer holds the inputs of a chunk, then its targets.
    let (eval_x, eval_y) = eval_x.split_at_mut(chunk * rows.d);
    for start in (0..rows.n).step_by(chunk) {
        let len = chunk.min(rows.n - start);
        rows.chunk(
            start,
            len,
            &mut eval_x[..len * rows.d],
            &mut eval_y[..len * rows.k],
        );
        let x = MatRef::from_column_major_slice(&eval_x[..len * rows.d], len, rows.d);
        eval.infer(arch, weights.params, weights.moving, x);
        let y = &eval_y[..len * rows.k];
        loss_sum += eval.loss(arch, y).to_f64() * len as f64;
        let out = eval.layer_buffers(arch.shapes().len() - 1).activation;
        correct += count_correct(&out[..len * rows.k], y, len);
    }
    let n = rows.n.max(1) as f64;
    (loss_sum / n, correct as f64 / n)
}

/// How many of `len` samples the outputs `out` classify as their targets `y` do (both
/// column-major `len x k`): for a single output, whether it falls on the side of one
/// half its target is on; for several, whether the largest output (the first of equal
/// ones, as numpy's `argmax`) is the target's class.
pub(crate) fn count_correct<T: Scalar>(out: &[T], y: &[T], len: usize) -> usize {
    if out.len() == len {
        let half = T::from_f64(0.5);
        return out
            .iter()
            .zip(y)
            .filter(|&(&p, &t)| (p > half) == (t > half))
            .count();
    }
    let k = out.len() / len.max(1);
    let argmax = |values: &[T], i: usize| {
        (1..k).fold(0, |best, c| {
            if values[c * len + i] > values[best * len + i] {
                c
            } else {
                best
            }
        })
    };
    (0..len).filter(|&i| argmax(out, i) == argmax(y, i)).count()
}

/// Sends the output of `weights` (in evaluation mode) over a grid around the training
/// data.
pub(crate) fn boundary<T: Scalar, S: Sink + ?Sized>(
    spec: &RunSpec,
    arch: &Architecture,
    weights: Weights<'_, T>,
    train: &Rows<T>,
    eval: &mut Workspace<T>,
    eval_x: &mut [T],
    sink: &mut S,
) {
    let r = spec.boundary_grid;
    let n = train.n;
    let axis = |j: usize| {
        let column = &train.x[j * n..(j + 1) * n];
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
    for chunk in points.chunks(eval.max_batch()) {
        let len = chunk.len();
        for (i, &(a, b)) in chunk.iter().enumerate() {
            eval_x[i] = T::from_f64(a);
            eval_x[len + i] = T::from_f64(b);
        }
        let x = MatRef::from_column_major_slice(&eval_x[..2 * len], len, 2);
        eval.infer(arch, weights.params, weights.moving, x);
        let out = eval.output();
        probability.extend((0..len).map(|i| out[(i, 0)].to_f64()));
    }
    record.probability = &probability;
    sink.boundary(&record);
}

/// Whether the run draws its decision surface after training.
pub(crate) fn draws_boundary<T>(spec: &RunSpec, train: &Rows<T>) -> bool {
    spec.boundary_grid >= 2 && train.d == 2 && train.k == 1 && train.n > 0
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

#[cfg(test)]
mod tests {
    use super::count_correct;

    #[test]
    fn accuracy_is_the_arg_max_for_several_outputs_and_the_half_for_one() {
        // Three samples, three classes, column-major: sample 0 says class 2, sample 1
        // class 0, sample 2 ties between classes 0 and 1 (the first wins, as argmax).
        let out = [0.1, 0.7, 0.4, 0.2, 0.2, 0.4, 0.7, 0.1, 0.2];
        let targets = |classes: [usize; 3]| {
            let mut y = [0.0; 9];
            for (i, c) in classes.into_iter().enumerate() {
                y[c * 3 + i] = 1.0;
            }
            y
        };
        assert_eq!(count_correct(&out, &targets([2, 0, 0]), 3), 3);
        assert_eq!(count_correct(&out, &targets([2, 0, 1]), 3), 2);
        assert_eq!(count_correct(&out, &targets([0, 1, 2]), 3), 0);
        // One output: right where it falls on its target's side of one half.
        assert_eq!(count_correct(&[0.9_f64, 0.2, 0.6], &[1.0, 1.0, 0.0], 3), 1);
    }
}
