use std::sync::Arc;

use vanishing_core::{Activation, Architecture, CoreError, Init, LayerSpec, Loss, Norm, Optimizer};
use vanishing_data::{Circles, DataError, Dataset, Digits, Moons, Shapeset};

/// Which dataset a run trains on.
#[derive(Debug, Clone, PartialEq)]
pub enum DataSpec {
    /// scikit-learn's `make_circles`.
    Circles(Circles),
    /// scikit-learn's `make_moons`.
    Moons(Moons),
    /// Glorot & Bengio's Shapeset-3x2: 32x32 grey images of one or two shapes, nine
    /// classes.
    Shapeset(Shapeset),
    /// The UCI 8x8 handwritten digits, all 1,797 of them, ten classes.
    Digits,
    /// A table of the user's own, read by the caller (this crate does no IO).
    File(FileData),
}

/// A data file as an experiment names it, and its content once the caller has read it.
#[derive(Debug, Clone, PartialEq)]
pub struct FileData {
    /// The path as written in the experiment file (relative to that file).
    pub path: String,
    /// The column holding the class labels.
    pub label: String,
    /// The feature columns, or `None` for every other numeric column.
    pub features: Option<Vec<String>>,
    /// Whether every feature is standardized with the training rows' mean and standard
    /// deviation (the test rows with the same numbers, so nothing leaks from them).
    pub standardize: bool,
    /// The content hash a resolved run configuration recorded for the file (its
    /// `content_hash`), which the file must still have when it is read again; `None`
    /// in experiment files, which take the file as it is.
    pub content_hash: Option<String>,
    /// The table, once read; `None` where no file system is at hand (the lab), which
    /// makes the run refuse to start.
    pub table: Option<Arc<LoadedTable>>,
}

/// A user's table, read and checked.
#[derive(Debug, Clone, PartialEq)]
pub struct LoadedTable {
    /// The rows, with labels mapped to `0..k` (in the order of `classes`).
    pub dataset: Dataset,
    /// The feature columns' names, in the dataset's column order.
    pub feature_names: Vec<String>,
    /// The label values the classes stand for, sorted.
    pub classes: Vec<i64>,
    /// The first 16 hex digits of the SHA-256 of the file's bytes: part of every run's
    /// configuration, so that a changed file is a changed run.
    pub content_hash: String,
}

impl DataSpec {
    /// The data's kind, as written in experiment files.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Circles(_) => "circles",
            Self::Moons(_) => "moons",
            Self::Shapeset(_) => "shapeset",
            Self::Digits => "digits",
            Self::File(_) => "file",
        }
    }

    /// Input features of each sample; `None` for a file not read yet.
    pub fn features(&self) -> Option<usize> {
        match self {
            Self::Circles(_) | Self::Moons(_) => Some(2),
            Self::Shapeset(_) => {
                Some(vanishing_data::SHAPESET_SIDE * vanishing_data::SHAPESET_SIDE)
            }
            Self::Digits => Some(vanishing_data::DIGITS_SIDE * vanishing_data::DIGITS_SIDE),
            Self::File(f) => f.table.as_ref().map(|t| t.dataset.n_features),
        }
    }

    /// Number of classes; `None` for a file not read yet.
    pub fn classes(&self) -> Option<usize> {
        match self {
            Self::Circles(_) | Self::Moons(_) => Some(2),
            Self::Shapeset(_) => Some(vanishing_data::SHAPESET_CLASSES.len()),
            Self::Digits => Some(10),
            Self::File(f) => f.table.as_ref().map(|t| t.classes.len()),
        }
    }

    /// Number of samples; `None` for a file not read yet.
    pub fn n_samples(&self) -> Option<usize> {
        match self {
            Self::Circles(c) => Some(c.n_samples),
            Self::Moons(m) => Some(m.n_samples),
            Self::Shapeset(s) => Some(s.n_samples),
            Self::Digits => Some(Digits::N_SAMPLES),
            Self::File(f) => f.table.as_ref().map(|t| t.dataset.len()),
        }
    }

    /// The dataset, generated from `seed` or as read.
    ///
    /// # Errors
    /// [`TrainError::Data`] for refused parameters, [`TrainError::FileNotRead`] for a
    /// file nobody has read.
    pub fn generate(&self, seed: u64) -> Result<Dataset, TrainError> {
        Ok(match self {
            Self::Circles(c) => c.generate_seeded(seed)?,
            Self::Moons(m) => m.generate_seeded(seed)?,
            Self::Shapeset(s) => s.generate_seeded(seed)?,
            Self::Digits => Digits::load(),
            Self::File(f) => match &f.table {
                Some(t) => t.dataset.clone(),
                None => {
                    return Err(TrainError::FileNotRead {
                        path: f.path.clone(),
                    });
                }
            },
        })
    }

    /// Whether every feature is standardized on the training rows.
    pub fn standardizes(&self) -> bool {
        matches!(self, Self::File(f) if f.standardize)
    }

    /// Checks the parameters.
    ///
    /// # Errors
    /// The generator's [`DataError`].
    pub fn validate(&self) -> Result<(), DataError> {
        match self {
            Self::Circles(c) => c.validate(),
            Self::Moons(m) => m.validate(),
            Self::Shapeset(s) => s.validate(),
            Self::Digits | Self::File(_) => Ok(()),
        }
    }
}

/// Rows of a dataset of `n_samples` samples of `features` features that the `dataset`
/// table keeps for each seed: every point of two-feature data (the scatter plot shows
/// them all), and of wider data such as images the first [`DATASET_SAMPLE_ROWS`] in
/// generation order, a sample of the seed's data rather than every pixel of every run.
pub fn dataset_rows(n_samples: usize, features: usize) -> usize {
    if features <= 2 {
        n_samples
    } else {
        n_samples.min(DATASET_SAMPLE_ROWS)
    }
}

/// The most rows of data wider than two features that the `dataset` table keeps per
/// seed (see [`dataset_rows`]).
pub const DATASET_SAMPLE_ROWS: usize = 1000;

/// The floating-point type a run computes in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Precision {
    /// Single precision, as Keras.
    #[default]
    F32,
    /// Double precision.
    F64,
}

/// When the trainer records per-layer statistics.
///
/// A record at step `s` (the number of updates applied so far) holds the parameters of
/// that state and the gradients, activations and pre-activation gradients of the
/// minibatch about to be applied to it, before the update. Whatever the policy, a final
/// record is taken after the last update, with the gradient of the minibatch that would
/// open the next epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordPolicy {
    /// The tutorial's policy: at the first minibatch of every epoch (so the parameters
    /// are those before training and at the end of every epoch) plus the final record.
    /// 100 epochs give 101 records per layer and quantity.
    Epoch,
    /// At every step.
    Step,
    /// At every `n`-th step, starting with the first.
    Every(u64),
}

impl RecordPolicy {
    /// Whether a record is taken at step `step`, with `steps_per_epoch` steps an epoch.
    pub fn records(self, step: u64, steps_per_epoch: u64) -> bool {
        match self {
            Self::Epoch => step.is_multiple_of(steps_per_epoch.max(1)),
            Self::Step => true,
            Self::Every(n) => step.is_multiple_of(n.max(1)),
        }
    }
}

/// The shape of the network: hidden layers and the output layer.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelSpec {
    /// Units of each hidden layer, from the input side.
    pub hidden: Vec<usize>,
    /// Activation of every hidden layer.
    pub activation: Activation,
    /// Activation of the output layer: one unit for a yes/no answer (sigmoid, or any
    /// other with `mse`), one unit per class for [`Activation::Softmax`].
    pub output: Activation,
    /// Initializer of every kernel, the output layer's included (as the tutorial does).
    pub init: Init,
    /// The loss.
    pub loss: Loss,
    /// Normalization of every hidden layer's pre-activation (the output layer is never
    /// normalized).
    pub norm: Norm,
    /// Whether every hidden layer after the first adds its input to its activation
    /// (`x + f(z)`); the first maps the inputs to the hidden width and stays plain.
    pub residual: bool,
}

impl ModelSpec {
    /// Units of the output layer for data of `classes` classes: one per class after a
    /// softmax, otherwise a single yes/no unit.
    pub fn output_units(&self, classes: usize) -> usize {
        if self.output == Activation::Softmax {
            classes
        } else {
            1
        }
    }

    /// The validated core architecture for inputs of `inputs` features and data of
    /// `classes` classes.
    ///
    /// # Errors
    /// As [`Architecture::new`], and [`TrainError::BinaryOutput`] for a single output
    /// unit asked to tell more than two classes apart.
    pub fn architecture(&self, inputs: usize, classes: usize) -> Result<Architecture, TrainError> {
        if self.output != Activation::Softmax && classes > 2 {
            return Err(TrainError::BinaryOutput { classes });
        }
        let mut layers: Vec<LayerSpec> = self
            .hidden
            .iter()
            .enumerate()
            .map(|(l, &units)| LayerSpec {
                norm: self.norm,
                residual: self.residual && l > 0,
                ..LayerSpec::dense(units, self.activation, self.init)
            })
            .collect();
        layers.push(LayerSpec::dense(
            self.output_units(classes),
            self.output,
            self.init,
        ));
        Ok(Architecture::new(inputs, layers, self.loss)?)
    }

    /// Name of layer `layer` (1-based from the input side): `hidden1`, `hidden2`, ...,
    /// then `output`.
    pub fn layer_name(&self, layer: usize) -> String {
        if layer > self.hidden.len() {
            "output".to_owned()
        } else {
            format!("hidden{layer}")
        }
    }
}

/// Everything that defines one training run. Equal specs give identical records.
#[derive(Debug, Clone, PartialEq)]
pub struct RunSpec {
    /// The dataset.
    pub data: DataSpec,
    /// Fraction of the data held out as a stratified test split (0 for none).
    pub test_fraction: f64,
    /// The network.
    pub model: ModelSpec,
    /// The optimizer.
    pub optimizer: Optimizer,
    /// Number of passes over the training data.
    pub epochs: u32,
    /// Rows per minibatch; the last minibatch of an epoch takes the remainder.
    pub batch_size: usize,
    /// When to record per-layer statistics.
    pub record: RecordPolicy,
    /// Number of histogram bins per record, or `None` for no histograms.
    pub histogram_bins: Option<usize>,
    /// Points along each axis of the decision-surface grid computed after training,
    /// or 0 for none. Needs two-feature data.
    pub boundary_grid: usize,
    /// The floating-point type to compute in.
    pub precision: Precision,
    /// The seed of every random draw of the run: data, initialization, split and
    /// minibatch order each use their own stream of it.
    pub seed: u64,
}

/// Why a run could not start.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum TrainError {
    /// The data parameters were refused.
    #[error("data: {0}")]
    Data(#[from] DataError),
    /// The network or optimizer was refused.
    #[error("model: {0}")]
    Model(#[from] CoreError),
    /// A single output unit cannot tell more than two classes apart.
    #[error(
        "the data have {classes} classes, but a single output unit answers yes or no: use output = \"softmax\""
    )]
    BinaryOutput {
        /// Classes in the data.
        classes: usize,
    },
    /// The run's data file was never read (where there is no file system, as in the
    /// lab).
    #[error("the data file `{path}` has not been read: only the command line reads data files")]
    FileNotRead {
        /// The path as written.
        path: String,
    },
    /// A schedule parameter was refused.
    #[error("train: {name} must be {expected}, got {value}")]
    Schedule {
        /// The parameter's name.
        name: &'static str,
        /// What was expected, in words.
        expected: &'static str,
        /// The value given.
        value: String,
    },
}

impl RunSpec {
    /// The run's network for inputs of `inputs` features.
    ///
    /// # Errors
    /// As [`ModelSpec::architecture`].
    pub fn architecture(&self, inputs: usize) -> Result<Architecture, TrainError> {
        self.model
            .architecture(inputs, self.data.classes().unwrap_or(2))
    }

    /// Checks every part of the spec without training.
    ///
    /// # Errors
    /// The first [`TrainError`] found.
    pub fn validate(&self) -> Result<(), TrainError> {
        self.data.validate()?;
        let schedule = |name, expected, value: String| {
            Err(TrainError::Schedule {
                name,
                expected,
                value,
            })
        };
        if !(0.0..1.0).contains(&self.test_fraction) {
            return schedule(
                "test_fraction",
                "a number in [0, 1)",
                self.test_fraction.to_string(),
            );
        }
        if self.batch_size == 0 {
            return schedule("batch_size", "at least 1", "0".to_owned());
        }
        if self.record == RecordPolicy::Every(0) {
            return schedule("record.every", "at least 1", "0".to_owned());
        }
        if self.boundary_grid == 1 {
            return schedule(
                "record.boundary_grid",
                "0 (none) or at least 2",
                "1".to_owned(),
            );
        }
        if let Some(bins) = self.histogram_bins
            && !(1..=crate::MAX_HISTOGRAM_BINS).contains(&bins)
        {
            return schedule(
                "record.histogram_bins",
                "a number of bins from 1 to 1000",
                bins.to_string(),
            );
        }
        if self.model.hidden.is_empty() {
            return schedule(
                "model.hidden",
                "a list of at least one layer size",
                "[]".to_owned(),
            );
        }
        self.architecture(self.data.features().unwrap_or(2))?;
        self.optimizer.validate()?;
        Ok(())
    }
}
