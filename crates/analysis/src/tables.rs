//! The rows of each table, as plain structs: what the writers take apart into columns
//! and the readers put back together.

/// One row of the `runs` table: one run's configuration and outcome.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RunRow {
    /// Unique within the experiment: `<label>/s<seed>`.
    pub run_id: String,
    /// The experiment's name.
    pub experiment: String,
    /// What the experiment shows, in the words of its file.
    pub description: String,
    /// The configuration without the seed (the swept values), shared by the seeds of
    /// one configuration; the experiment's name when nothing is swept.
    pub label: String,
    /// The run's seed.
    pub seed: u64,
    /// Dataset generator (`circles`, `moons`).
    pub data: String,
    /// Number of generated points.
    pub n_samples: i64,
    /// Noise standard deviation of the generator.
    pub noise: f64,
    /// Hidden-layer activation.
    pub activation: String,
    /// Output activation.
    pub output: String,
    /// Kernel initializer, with its parameters (`normal(0, 1)`, `glorot_uniform`).
    pub init: String,
    /// Normalization of the hidden layers' pre-activations (`none`, `batch`, `layer`).
    pub norm: String,
    /// Whether the hidden layers after the first add their input to their output.
    pub residual: bool,
    /// Optimizer, with its variant where it has one (`rmsprop(keras2)`, `adam`).
    pub optimizer: String,
    /// Learning rate.
    pub learning_rate: f64,
    /// Number of hidden layers.
    pub depth: i64,
    /// Largest hidden layer.
    pub width: i64,
    /// Hidden layer sizes, `5-5-5-5`.
    pub hidden: String,
    /// Epochs.
    pub epochs: i64,
    /// Minibatch size.
    pub batch_size: i64,
    /// Recording policy (`epoch`, `step`, `every 10`).
    pub record: String,
    /// Mean loss on the training rows at the end.
    pub final_loss: f64,
    /// Accuracy on the training rows at the end.
    pub final_accuracy: f64,
    /// Mean loss on the test rows at the end, if there is a test split.
    pub final_test_loss: Option<f64>,
    /// Accuracy on the test rows at the end, if there is a test split.
    pub final_test_accuracy: Option<f64>,
    /// Whether the run diverged (NaN or infinite loss or parameters).
    pub diverged: bool,
    /// Optimizer steps taken.
    pub steps: i64,
    /// Wall time of training and recording in milliseconds: the one column that
    /// differs between two otherwise identical runs.
    pub wall_ms: f64,
    /// The fully resolved run configuration, as TOML.
    pub config_toml: String,
    /// A hash of `config_toml`.
    pub config_hash: String,
    /// Version of vanishing that wrote the tables.
    pub crate_version: String,
    /// The framework that trained the run: `vanishing`, or `keras` for runs replayed
    /// by the Keras harness and imported.
    pub framework: String,
    /// That framework's version (for Keras, the Keras and TensorFlow versions).
    pub framework_version: String,
}

/// One row of the `history` table: statistics of one quantity of one layer at one step.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct HistoryRow {
    /// The run.
    pub run_id: String,
    /// Completed epochs when recorded.
    pub epoch: i64,
    /// Completed optimizer steps when recorded.
    pub step: i64,
    /// Layer, 1-based from the input side.
    pub layer: i64,
    /// `hidden1`, ..., `output`.
    pub layer_name: String,
    /// `weight`, `weight_grad`, `bias`, `bias_grad`, `activation` or `preact_grad`.
    pub quantity: String,
    /// Mean.
    pub mean: f64,
    /// Population standard deviation.
    pub std: f64,
    /// Mean absolute value.
    pub abs_mean: f64,
    /// Euclidean norm.
    pub l2: f64,
    /// Minimum.
    pub min: f64,
    /// Maximum.
    pub max: f64,
    /// 2nd percentile.
    pub p02: f64,
    /// 98th percentile.
    pub p98: f64,
    /// Fraction of saturated units (activations of saturating functions only).
    pub saturated_frac: Option<f64>,
}

/// One row of the `metrics` table.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricRow {
    /// The run.
    pub run_id: String,
    /// Completed epochs.
    pub epoch: i64,
    /// Completed optimizer steps.
    pub step: i64,
    /// `train` or `test`.
    pub split: String,
    /// Mean loss.
    pub loss: f64,
    /// Accuracy.
    pub accuracy: f64,
}

/// One row of the `histograms` table: one bin.
#[derive(Debug, Clone, PartialEq)]
pub struct HistogramRow {
    /// The run.
    pub run_id: String,
    /// Completed epochs when recorded.
    pub epoch: i64,
    /// Completed optimizer steps when recorded.
    pub step: i64,
    /// Layer, 1-based from the input side.
    pub layer: i64,
    /// The quantity's name.
    pub quantity: String,
    /// Lower edge of the bin.
    pub bin_lo: f64,
    /// Upper edge of the bin.
    pub bin_hi: f64,
    /// Values in the bin.
    pub count: i64,
}

/// One row of the `dataset` table: one generated point of one run.
#[derive(Debug, Clone, PartialEq)]
pub struct PointRow {
    /// The run.
    pub run_id: String,
    /// The run's seed.
    pub seed: u64,
    /// `train` or `test`.
    pub split: String,
    /// First coordinate.
    pub x0: f64,
    /// Second coordinate.
    pub x1: f64,
    /// Class label.
    pub label: i64,
}

/// One row of the `boundary` table: the trained model's output at one point of a grid
/// over the input plane.
#[derive(Debug, Clone, PartialEq)]
pub struct BoundaryRow {
    /// The run.
    pub run_id: String,
    /// First coordinate.
    pub x0: f64,
    /// Second coordinate.
    pub x1: f64,
    /// The model's output there (the predicted probability of class 1).
    pub probability: f64,
}

/// Every table of one experiment, as read back from `data/<experiment>/`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ExperimentTables {
    /// The experiment's name (its folder's name).
    pub name: String,
    /// The `runs` table.
    pub runs: Vec<RunRow>,
    /// The `history` table.
    pub history: Vec<HistoryRow>,
    /// The `metrics` table.
    pub metrics: Vec<MetricRow>,
    /// The `histograms` table.
    pub histograms: Vec<HistogramRow>,
    /// The `dataset` table.
    pub dataset: Vec<PointRow>,
    /// The `boundary` table.
    pub boundary: Vec<BoundaryRow>,
}
