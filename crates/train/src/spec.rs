use vanishing_core::{Activation, Architecture, CoreError, Init, LayerSpec, Loss, Norm, Optimizer};
use vanishing_data::{Circles, DataError, Moons};

/// Which dataset a run trains on.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum DataSpec {
    /// scikit-learn's `make_circles`.
    Circles(Circles),
    /// scikit-learn's `make_moons`.
    Moons(Moons),
}

impl DataSpec {
    /// The generator's name, as written in experiment files.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Circles(_) => "circles",
            Self::Moons(_) => "moons",
        }
    }
}

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
    /// Activation of the single output unit.
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
    /// The validated core architecture for inputs of `inputs` features.
    ///
    /// # Errors
    /// As [`Architecture::new`].
    pub fn architecture(&self, inputs: usize) -> Result<Architecture, CoreError> {
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
        layers.push(LayerSpec::dense(1, self.output, self.init));
        Architecture::new(inputs, layers, self.loss)
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
    /// Checks every part of the spec without training.
    ///
    /// # Errors
    /// The first [`TrainError`] found.
    pub fn validate(&self) -> Result<(), TrainError> {
        match self.data {
            DataSpec::Circles(c) => c.validate()?,
            DataSpec::Moons(m) => m.validate()?,
        }
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
        self.model.architecture(2)?;
        self.optimizer.validate()?;
        Ok(())
    }
}
