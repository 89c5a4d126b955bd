//! Training runs with per-layer recording.
//!
//! A [`RunSpec`] describes one run: its data ([`DataSpec`]), network ([`ModelSpec`]),
//! optimizer, schedule, [`RecordPolicy`] and seed. [`prepare_data`] generates its
//! dataset (or takes a [`LoadedTable`] the caller read, standardized on the training
//! rows when asked); [`train`] builds an [`Mlp`] from the numeric core, runs the minibatch loop
//! (reshuffled every epoch from the run's seed) and sends what it observes to a
//! [`Sink`]: per-layer [`Stats`] of every [`Quantity`] as [`LayerRecord`]s, optional
//! [`HistogramRecord`]s on fixed [`BinEdges`] shared by every run, loss and accuracy as [`MetricRecord`]s, and the trained model's
//! decision surface as a [`BoundaryRecord`]. [`History`] is the
//! sink that keeps everything in memory. [`train_together`] trains several runs that
//! differ only in their seed side by side in the core's vector lanes, through the same
//! training loop as [`train`] and with the arithmetic each run has alone, so each run's
//! records are the bits [`train`] sends it alone. A spec also tells, before anything is allocated,
//! what its run will cost: [`RunSpec::estimated_rows`], [`RunSpec::estimated_memory`]
//! (a [`MemoryEstimate`]) and [`RunSpec::estimated_seconds`]. The crate knows nothing of
//! files, tables, HTML or TOML: records are plain structs.

mod bins;
mod estimate;
mod mlp;
mod observe;
mod record;
mod run_loop;
mod spec;
mod together;
mod trainer;

pub use bins::{BinEdges, BinScale, MAX_HISTOGRAM_BINS};
pub use estimate::MemoryEstimate;
pub use mlp::Mlp;
pub use record::{
    BoundaryRecord, HistogramRecord, History, LayerRecord, MetricRecord, OwnedBoundary,
    OwnedHistogram, Quantity, Sink, Split, Stats, TensorRecord, Values,
};
pub use spec::{
    DATASET_SAMPLE_ROWS, DataSpec, FileData, LoadedTable, ModelSpec, Precision, RecordPolicy,
    RunSpec, TrainError, dataset_rows,
};
pub use together::train_together;
pub use trainer::{RunOutcome, prepare_data, train};
