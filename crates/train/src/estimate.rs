//! What a run will cost, told from its spec alone, before anything is allocated: the
//! table rows it produces, the memory it holds at its peak, and a rough time.
//!
//! Every count is a floating-point number so that absurd specs (a trillion samples, a
//! layer of a million units) give an absurd estimate instead of an overflow: these
//! estimates exist precisely to refuse such specs before they are tried.

use crate::{BinEdges, Precision, Quantity, RecordPolicy, RunSpec};

/// Bytes a table row takes while a run's records wait in memory for their part to be
/// written: the record itself plus the column buffers and the Parquet writer built from
/// it. Measured: one tutorial-sized run recording every step for 300 epochs (387,000
/// rows) peaked at 231 MB resident, a 1-epoch run of the same shape at 28 MB, so about
/// 525 bytes a row; rounded up.
const BYTES_PER_ROW: f64 = 550.0;

/// Bytes per generated sample and feature: the dataset's `f64`, its training or test
/// copy, and the trainer's column-major copy in the run's precision (at most 8 bytes);
/// its label, twice, and its targets come on top.
const BYTES_PER_FEATURE: f64 = 3.0 * 8.0;

/// Copies of the parameter vector a run holds: the parameters, their gradients, up to
/// two optimizer slots, and the copy saved before a recorded step.
const PARAMETER_COPIES: f64 = 5.0;

/// Rows evaluated at once (the trainer's evaluation chunk).
const EVAL_ROWS: f64 = crate::observe::EVAL_CHUNK as f64;

/// The peak memory of one run, in bytes, by what holds it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MemoryEstimate {
    /// Parameters, gradients, optimizer slots and the recorder's saved copy.
    pub parameters: f64,
    /// Every layer's buffers for a minibatch and for an evaluation chunk.
    pub activations: f64,
    /// The generated points, their copies and their table rows.
    pub data: f64,
    /// The recorded statistics, histograms, metrics and decision surface, until they
    /// are written.
    pub records: f64,
}

impl MemoryEstimate {
    /// All of it.
    pub fn total(&self) -> f64 {
        self.parameters + self.activations + self.data + self.records
    }
}

/// What a spec's sizes come to, in floating point.
struct Sizes {
    n_samples: f64,
    features: f64,
    /// Rows of the dataset table: the samples kept of the dataset.
    dataset_rows: f64,
    train_rows: f64,
    test_rows: f64,
    batch: f64,
    /// Weights and biases of every layer.
    parameters: f64,
    /// Units of every layer, the output's included.
    units: f64,
    layers: f64,
    steps: f64,
    records: f64,
}

impl Sizes {
    fn of(spec: &RunSpec) -> Self {
        // A data file not read yet counts as empty: the command line reads it before
        // it asks for estimates.
        let n_samples = spec.data.n_samples().unwrap_or(0) as f64;
        let features = spec.data.features().unwrap_or(2);
        let outputs = spec.model.output_units(spec.data.classes().unwrap_or(2));
        let dataset_rows = crate::dataset_rows(spec.data.n_samples().unwrap_or(0), features) as f64;
        let test_rows = (n_samples * spec.test_fraction).ceil();
        let train_rows = (n_samples - test_rows).max(1.0);
        let batch = (spec.batch_size.max(1) as f64).min(train_rows);
        let mut fan_in = features as f64;
        let mut parameters = 0.0;
        let mut units = 0.0;
        for &width in spec.model.hidden.iter().chain(&[outputs]) {
            let width = width as f64;
            parameters += (fan_in + 1.0) * width;
            units += width;
            fan_in = width;
        }
        let epochs = f64::from(spec.epochs);
        let steps = epochs * (train_rows / batch).ceil();
        let records = match spec.record {
            RecordPolicy::Epoch => epochs,
            RecordPolicy::Step => steps,
            RecordPolicy::Every(n) => (steps / n.max(1) as f64).ceil(),
        } + 1.0;
        Self {
            n_samples,
            features: features as f64,
            dataset_rows,
            train_rows,
            test_rows,
            batch,
            parameters,
            units,
            layers: spec.model.hidden.len() as f64 + 1.0,
            steps,
            records,
        }
    }

    /// Statistics rows: one per record, layer and quantity.
    fn stat_rows(&self) -> f64 {
        self.records * self.layers * Quantity::ALL.len() as f64
    }
}

impl RunSpec {
    /// About how many rows the run adds to the tables (per-layer statistics, histogram
    /// bins, metrics, data points and decision-surface points), from the spec alone: for
    /// sizing batches of runs before any trains. Exact up to the rounding of the test
    /// split, and an upper bound for a run that diverges; saturates rather than
    /// overflows.
    pub fn estimated_rows(&self) -> usize {
        // A float-to-integer cast saturates.
        self.estimated_rows_f64() as usize
    }

    fn estimated_rows_f64(&self) -> f64 {
        let sizes = Sizes::of(self);
        self.record_rows(&sizes) + sizes.dataset_rows
    }

    /// Rows of the statistics, histograms, metrics and decision surface (every table
    /// but the dataset's).
    fn record_rows(&self, sizes: &Sizes) -> f64 {
        let stats = sizes.stat_rows();
        let bins = self.histogram_bins.map_or(0.0, |b| {
            let edges = Quantity::ALL
                .into_iter()
                .map(|q| BinEdges::new(q, b).len())
                .max()
                .unwrap_or(0);
            stats * edges as f64
        });
        let splits = if sizes.test_rows > 0.0 { 2.0 } else { 1.0 };
        let metrics = (f64::from(self.epochs) + 1.0) * splits;
        let grid = self.boundary_grid as f64;
        stats + bins + metrics + grid * grid
    }

    /// The most memory the run holds at once, from the spec alone.
    pub fn estimated_memory(&self) -> MemoryEstimate {
        let sizes = Sizes::of(self);
        let scalar = match self.precision {
            Precision::F32 => 4.0,
            Precision::F64 => 8.0,
        };
        let eval_rows = sizes.train_rows.max(sizes.test_rows).min(EVAL_ROWS);
        // Pre-activations, activations and their gradients, for a minibatch and for
        // an evaluation chunk; the recorder derives one more layer-sized buffer, a
        // normalized layer keeps its normalized product and that product's gradient,
        // and a residual layer its output and the output's gradient.
        let per_unit = 4.0
            + if self.model.norm.is_some() { 2.0 } else { 0.0 }
            + if self.model.residual { 2.0 } else { 0.0 };
        let activations = per_unit * sizes.units * (sizes.batch + eval_rows) * scalar;
        MemoryEstimate {
            parameters: PARAMETER_COPIES * sizes.parameters * scalar,
            activations,
            data: sizes.n_samples * (sizes.features * BYTES_PER_FEATURE + 32.0)
                + sizes.dataset_rows * (BYTES_PER_ROW + sizes.features * 8.0),
            records: self.record_rows(&sizes) * BYTES_PER_ROW,
        }
    }

    /// A rough time for the run on one core, in seconds, to tell before a large sweep
    /// starts about how long it will take. It counts the multiply-adds of every step
    /// (forward, backward, update) and of the evaluation after every epoch, the steps
    /// and evaluations themselves (each costs a fixed overhead that dominates for tiny
    /// networks) and the table rows, each at a rate fitted on a 2-core AMD EPYC (2026).
    /// Checked there with `vanishing run`: 12,000 small runs (4 x 5 units, 200 points,
    /// 20 epochs) on 2 threads estimated 24 s, took 21.6 s; one run of the paper's
    /// 5 x 1000 tanh network (2 epochs, batch 10) estimated 3.6 s, took 3.7 s; the
    /// tutorial's run comes to 25 ms, measured 15-30 ms. Other machines differ by
    /// their speed: good to a factor of about two, no better.
    pub fn estimated_seconds(&self) -> f64 {
        const SECONDS_PER_MULTIPLY_ADD: f64 = 0.1e-9;
        const SECONDS_PER_STEP: f64 = 4e-6;
        const SECONDS_PER_ROW: f64 = 1e-6;
        const SECONDS_PER_RUN: f64 = 0.5e-3;
        let sizes = Sizes::of(self);
        let evaluations = f64::from(self.epochs) + 1.0;
        let multiply_adds = sizes.steps * sizes.batch * 3.0 * sizes.parameters
            + evaluations * (sizes.train_rows + sizes.test_rows) * sizes.parameters;
        multiply_adds * SECONDS_PER_MULTIPLY_ADD
            + (sizes.steps + evaluations) * SECONDS_PER_STEP
            + self.estimated_rows_f64() * SECONDS_PER_ROW
            + SECONDS_PER_RUN
    }
}

#[cfg(test)]
mod tests {
    use vanishing_core::{Activation, Init, Loss, Optimizer, RmsProp};
    use vanishing_data::Circles;

    use super::*;
    use crate::{DataSpec, ModelSpec};

    #[track_caller]
    fn assert_close(found: f64, expected: f64) {
        assert!(
            (found - expected).abs() <= 1e-12 * expected.abs(),
            "{found} != {expected}"
        );
    }

    fn tutorial() -> RunSpec {
        RunSpec {
            data: DataSpec::Circles(Circles {
                n_samples: 1000,
                factor: 0.5,
                noise: 0.1,
                shuffle: true,
            }),
            test_fraction: 0.0,
            model: ModelSpec {
                hidden: vec![5, 5, 5, 5],
                activation: Activation::Sigmoid,
                output: Activation::Sigmoid,
                init: Init::Normal {
                    mean: 0.0,
                    std: 1.0,
                },
                loss: Loss::BinaryCrossEntropy,
                norm: vanishing_core::Norm::None,
                residual: false,
            },
            optimizer: Optimizer::RmsProp(RmsProp::default()),
            epochs: 100,
            batch_size: 32,
            record: RecordPolicy::Epoch,
            histogram_bins: None,
            boundary_grid: 41,
            precision: Precision::F32,
            seed: 0,
        }
    }

    #[test]
    fn the_tutorial_runs_sizes_are_counted_by_hand() {
        let spec = tutorial();
        // 101 records x 5 layers x 8 quantities, 101 metric rows, 1000 points, 41^2 grid.
        let stats = 101 * 5 * Quantity::ALL.len();
        assert_eq!(spec.estimated_rows(), stats + 101 + 1000 + 41 * 41);
        let memory = spec.estimated_memory();
        // Weights and biases: 3*5 + 3 * (6*5) + 6*1 = 111.
        assert_close(memory.parameters, 5.0 * 111.0 * 4.0);
        // 21 units, a minibatch of 32 and an evaluation chunk of all 1000 points.
        assert_close(memory.activations, 4.0 * 21.0 * (32.0 + 1000.0) * 4.0);
        // Two features a point, then the dataset table's rows of them.
        assert_close(
            memory.data,
            1000.0 * (2.0 * BYTES_PER_FEATURE + 32.0) + 1000.0 * (BYTES_PER_ROW + 2.0 * 8.0),
        );
        let record_rows = spec.estimated_rows() - 1000;
        assert_close(memory.records, record_rows as f64 * BYTES_PER_ROW);
        // 100 epochs of 32 steps, each counted as a full minibatch of 32, and 101
        // evaluations of 1000 points; 3,200 steps and 101 evaluations; the rows.
        let multiply_adds = 100.0 * 32.0 * 32.0 * 3.0 * 111.0 + 101.0 * 1000.0 * 111.0;
        let seconds = multiply_adds * 0.1e-9
            + (3200.0 + 101.0) * 4e-6
            + spec.estimated_rows() as f64 * 1e-6
            + 0.5e-3;
        assert!((spec.estimated_seconds() - seconds).abs() < 1e-12);
        assert!((0.015..0.035).contains(&seconds), "{seconds}");
    }

    #[test]
    fn absurd_sizes_give_absurd_estimates_instead_of_overflowing() {
        let mut spec = tutorial();
        spec.model.hidden = vec![200_000, 200_000];
        spec.epochs = u32::MAX;
        spec.record = RecordPolicy::Step;
        spec.batch_size = 1;
        spec.data = DataSpec::Circles(Circles {
            n_samples: usize::MAX,
            factor: 0.5,
            noise: 0.1,
            shuffle: true,
        });
        let memory = spec.estimated_memory();
        assert!(memory.parameters > 1.6e11 && memory.total().is_finite());
        assert_eq!(spec.estimated_rows(), usize::MAX);
        assert!(spec.estimated_seconds() > 1e20);
    }
}
