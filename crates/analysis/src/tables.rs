//! The rows of each table, as plain structs: what the writers take apart into columns
//! and the readers put back together. Each table's column list is declared once, here:
//! [`Row`] walks a row's cells by column name without polars (the lab in the page turns
//! rows into objects keyed by column), and with the `parquet` feature the same list
//! declares the polars conversions both ways.

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

/// One row of the `dataset` table: one sample of one run's data. Two-feature data keep
/// every point; wider data (images) keep a sample of each run's rows
/// ([`vanishing_train::dataset_rows`]).
#[derive(Debug, Clone, PartialEq)]
pub struct PointRow {
    /// The run.
    pub run_id: String,
    /// The run's seed.
    pub seed: u64,
    /// `train` or `test`.
    pub split: String,
    /// First feature (the first coordinate of a point of the plane).
    pub x0: f64,
    /// Second feature (its second coordinate).
    pub x1: f64,
    /// Class label.
    pub label: i64,
    /// Every feature of the sample, in order: for a 32x32 image its 1,024 grey levels
    /// row by row, scaled to `[0, 1]`.
    pub features: Vec<f64>,
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

/// One cell of a row, borrowed, with the type of its column.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Cell<'a> {
    /// A `String` column.
    Str(&'a str),
    /// An `Int64` column.
    I64(i64),
    /// A `UInt64` column.
    U64(u64),
    /// A `Float64` column without nulls.
    F64(f64),
    /// A `Float64` column that may hold nulls.
    OptF64(Option<f64>),
    /// A `Boolean` column.
    Bool(bool),
    /// A `List(Float64)` column.
    F64s(&'a [f64]),
}

impl<'a> From<&'a String> for Cell<'a> {
    fn from(v: &'a String) -> Self {
        Self::Str(v)
    }
}

impl From<&i64> for Cell<'_> {
    fn from(v: &i64) -> Self {
        Self::I64(*v)
    }
}

impl From<&u64> for Cell<'_> {
    fn from(v: &u64) -> Self {
        Self::U64(*v)
    }
}

impl From<&f64> for Cell<'_> {
    fn from(v: &f64) -> Self {
        Self::F64(*v)
    }
}

impl From<&Option<f64>> for Cell<'_> {
    fn from(v: &Option<f64>) -> Self {
        Self::OptF64(*v)
    }
}

impl<'a> From<&'a Vec<f64>> for Cell<'a> {
    fn from(v: &'a Vec<f64>) -> Self {
        Self::F64s(v)
    }
}

impl From<&bool> for Cell<'_> {
    fn from(v: &bool) -> Self {
        Self::Bool(*v)
    }
}

/// A row of one of the tables: its table's name, its columns in order, and its cells.
pub trait Row {
    /// The table's name (`runs`, `history`, ...).
    const NAME: &'static str;
    /// Column names, in order.
    const COLUMNS: &'static [&'static str];
    /// Calls `cell` with every column's name and this row's value in it, in column order.
    fn cells(&self, cell: &mut dyn FnMut(&'static str, Cell<'_>));
}

/// Declares a table's columns once: the [`Row`] walk, and with the `parquet` feature the
/// polars conversions (`schema::table!`).
macro_rules! columns {
    ($row:ident, $name:literal, [$($field:ident),* $(,)?]) => {
        impl Row for $row {
            const NAME: &'static str = $name;
            const COLUMNS: &'static [&'static str] = &[$(stringify!($field)),*];
            fn cells(&self, cell: &mut dyn FnMut(&'static str, Cell<'_>)) {
                $(cell(stringify!($field), Cell::from(&self.$field));)*
            }
        }
        #[cfg(feature = "parquet")]
        crate::schema::table!($row, $name, [$($field),*]);
    };
}

columns!(
    RunRow,
    "runs",
    [
        run_id,
        experiment,
        description,
        label,
        seed,
        data,
        n_samples,
        noise,
        activation,
        output,
        init,
        norm,
        residual,
        optimizer,
        learning_rate,
        depth,
        width,
        hidden,
        epochs,
        batch_size,
        record,
        final_loss,
        final_accuracy,
        final_test_loss,
        final_test_accuracy,
        diverged,
        steps,
        wall_ms,
        config_toml,
        config_hash,
        crate_version,
        framework,
        framework_version,
    ]
);

columns!(
    HistoryRow,
    "history",
    [
        run_id,
        epoch,
        step,
        layer,
        layer_name,
        quantity,
        mean,
        std,
        abs_mean,
        l2,
        min,
        max,
        p02,
        p98,
        saturated_frac,
    ]
);

columns!(
    MetricRow,
    "metrics",
    [run_id, epoch, step, split, loss, accuracy]
);

columns!(
    HistogramRow,
    "histograms",
    [run_id, epoch, step, layer, quantity, bin_lo, bin_hi, count]
);

columns!(
    PointRow,
    "dataset",
    [run_id, seed, split, x0, x1, label, features]
);

columns!(BoundaryRow, "boundary", [run_id, x0, x1, probability]);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_follow_the_columns() {
        let row = MetricRow {
            run_id: "a/s1".into(),
            epoch: 3,
            step: 93,
            split: "train".into(),
            loss: 0.25,
            accuracy: 0.5,
        };
        let mut seen = Vec::new();
        row.cells(&mut |name, cell| seen.push((name, format!("{cell:?}"))));
        let names: Vec<&str> = seen.iter().map(|(n, _)| *n).collect();
        assert_eq!(names, MetricRow::COLUMNS);
        assert_eq!(seen[0].1, "Str(\"a/s1\")");
        assert_eq!(seen[2].1, "I64(93)");
        assert_eq!(seen[4].1, "F64(0.25)");
    }
}
