//! The experiment file's keys, their defaults (Keras' and scikit-learn's), and their
//! conversion into the training crate's specs.

use vanishing_core::{
    Activation, Adam, CoreError, Init, Loss, Norm, Optimizer, RmsProp, RmsPropVariant, Sgd,
};
use vanishing_data::{Circles, Moons, Shapeset};
use vanishing_train::{DataSpec, FileData, ModelSpec, Precision, RecordPolicy, TrainError};

use crate::doc::{ConfigError, Table, Value};

/// Points along each axis of the decision-surface grid, unless a file says otherwise.
const DEFAULT_BOUNDARY_GRID: usize = 41;

/// The widest hidden layer a file may ask for: a hundred times the paper's widest, and
/// already 40 GB of `f32` weights between two such layers.
pub(crate) const MAX_UNITS: usize = 100_000;

/// The deepest network a file may ask for (the deepest studied here has 10 layers).
pub(crate) const MAX_LAYERS: usize = 1_000;

/// Everything of a run but its seed.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct RunTemplate {
    pub(crate) data: DataSpec,
    /// Line and column of `data.path`, for errors about the file found when it is read.
    pub(crate) data_file_at: Option<(usize, usize)>,
    pub(crate) test_fraction: f64,
    pub(crate) model: ModelSpec,
    pub(crate) optimizer: Optimizer,
    pub(crate) epochs: u32,
    pub(crate) batch_size: usize,
    pub(crate) precision: Precision,
    pub(crate) record: RecordPolicy,
    pub(crate) histogram_bins: Option<usize>,
    pub(crate) boundary_grid: usize,
}

/// Reads the `data`, `model`, `optimizer`, `train` and `record` sections of `root`.
pub(crate) fn read_template(root: &Table<'_, '_>) -> Result<RunTemplate, ConfigError> {
    let (data, test_fraction, data_file_at) = read_data(root.table("data")?)?;
    let model = read_model(root.table("model")?, &data)?;
    let optimizer = read_optimizer(root.table("optimizer")?)?;
    let train = root.table("train")?;
    let epochs = train
        .optional("epochs", |v| {
            // Zero epochs train nothing and record the state at initialization only.
            let n = v.u64()?;
            u32::try_from(n)
                .map_err(|_| v.error(format!("expected at most {}, found {n}", u32::MAX)))
        })?
        .unwrap_or(1);
    let batch_size = train
        .optional("batch_size", |v| v.positive())?
        .unwrap_or(32);
    let precision = train
        .optional("precision", |v| {
            v.one_of(
                "precision",
                &[("f32", Precision::F32), ("f64", Precision::F64)],
            )
        })?
        .unwrap_or_default();
    train.finish()?;
    let record_table = root.table("record")?;
    let record = record_table
        .optional("every", |v| {
            if let Ok(n) = v.u64() {
                if n == 0 {
                    return Err(v.error(
                        "expected \"epoch\", \"step\" or a whole number of steps >= 1, found 0",
                    ));
                }
                return Ok(RecordPolicy::Every(n));
            }
            v.one_of(
                "recording policy",
                &[("epoch", RecordPolicy::Epoch), ("step", RecordPolicy::Step)],
            )
        })?
        .unwrap_or(RecordPolicy::Epoch);
    let histogram_bins = record_table.optional("histogram_bins", |v| {
        let n = v.positive()?;
        if n > vanishing_train::MAX_HISTOGRAM_BINS {
            return Err(v.error(format!(
                "expected a number of bins from 1 to {}, found {n}",
                vanishing_train::MAX_HISTOGRAM_BINS
            )));
        }
        Ok(n)
    })?;
    let boundary_grid = record_table
        .optional("boundary_grid", |v| {
            let n = v.u64()?;
            if n == 1 || n > 1000 {
                return Err(v.error(format!(
                    "expected 0 (none) or a number of points from 2 to 1000, found {n}"
                )));
            }
            Ok(n as usize)
        })?
        .unwrap_or(DEFAULT_BOUNDARY_GRID);
    record_table.finish()?;
    Ok(RunTemplate {
        data,
        data_file_at,
        test_fraction,
        model,
        optimizer,
        epochs,
        batch_size,
        precision,
        record,
        histogram_bins,
        boundary_grid,
    })
}

#[derive(Clone, Copy, PartialEq)]
enum DataKind {
    Circles,
    Moons,
    Shapeset,
    Digits,
    File,
}

/// The data, the test fraction, and a data file's position.
type DataSection = (DataSpec, f64, Option<(usize, usize)>);

fn read_data(t: Table<'_, '_>) -> Result<DataSection, ConfigError> {
    let kind = t
        .optional("kind", |v| {
            v.one_of(
                "data kind",
                &[
                    ("circles", DataKind::Circles),
                    ("moons", DataKind::Moons),
                    ("shapeset", DataKind::Shapeset),
                    ("digits", DataKind::Digits),
                    ("file", DataKind::File),
                ],
            )
        })?
        .unwrap_or(DataKind::Circles);
    // Only generators draw a number of samples; the digits and a file have theirs.
    let n_samples = || -> Result<usize, ConfigError> {
        Ok(t.optional("n_samples", |v| {
            let n = v.positive()?;
            if n < 2 {
                return Err(v.error("expected a whole number >= 2 (one sample per class), found 1"));
            }
            Ok(n)
        })?
        .unwrap_or(100))
    };
    // Noise and shuffling are the two plane generators' (scikit-learn's) parameters.
    let noise = || {
        t.optional("noise", |v| {
            v.f64_in(|x| x.is_finite() && x >= 0.0, "a number >= 0")
        })
        .map(|n| n.unwrap_or(0.0))
    };
    let shuffle = || {
        t.optional("shuffle", |v| v.bool())
            .map(|s| s.unwrap_or(true))
    };
    let test_fraction = t
        .optional("test_fraction", |v| {
            v.f64_in(|x| (0.0..1.0).contains(&x), "a number in [0, 1)")
        })?
        .unwrap_or(0.0);
    let mut data_file_at = None;
    let data = match kind {
        DataKind::Circles => {
            let (n_samples, noise, shuffle) = (n_samples()?, noise()?, shuffle()?);
            let factor = t
                .optional("factor", |v| {
                    v.f64_in(|x| (0.0..1.0).contains(&x), "a number in [0, 1)")
                })?
                .unwrap_or(0.8);
            DataSpec::Circles(Circles {
                n_samples,
                factor,
                noise,
                shuffle,
            })
        }
        DataKind::Moons => DataSpec::Moons(Moons {
            n_samples: n_samples()?,
            noise: noise()?,
            shuffle: shuffle()?,
        }),
        DataKind::Shapeset => DataSpec::Shapeset(Shapeset {
            n_samples: n_samples()?,
        }),
        DataKind::Digits => DataSpec::Digits,
        DataKind::File => {
            let path = t.required(
                "path",
                "the data file's path, relative to this file, such as \"points.csv\"",
                |v| {
                    let path = v.str()?;
                    if path.is_empty() {
                        return Err(v.error("expected a path, found an empty string"));
                    }
                    data_file_at = v.error(String::new()).position;
                    Ok(path.to_owned())
                },
            )?;
            let label = t
                .optional("label", |v| v.str().map(str::to_owned))?
                .unwrap_or_else(|| "label".to_owned());
            let features = t.optional("features", |v| {
                let items = v.array()?;
                if items.is_empty() {
                    return Err(v.error(
                        "expected at least one column name; leave `features` out for every numeric column",
                    ));
                }
                items
                    .iter()
                    .map(|item| item.str().map(str::to_owned))
                    .collect::<Result<Vec<_>, _>>()
            })?;
            let standardize = t.optional("standardize", |v| v.bool())?.unwrap_or(false);
            // Written by `resolved_toml`, so that a run's saved configuration runs again
            // only on the same bytes.
            let content_hash = t.optional("content_hash", |v| {
                let hash = v.str()?;
                if hash.len() == 16 && hash.bytes().all(|b| b.is_ascii_hexdigit()) {
                    Ok(hash.to_ascii_lowercase())
                } else {
                    Err(v.error(
                        "expected the 16 hexadecimal digits of a data file's content hash, as a run's config_toml records it",
                    ))
                }
            })?;
            DataSpec::File(FileData {
                path,
                label,
                features,
                standardize,
                content_hash,
                table: None,
            })
        }
    };
    t.finish()?;
    Ok((data, test_fraction, data_file_at))
}

const ACTIVATIONS: [(&str, Activation); 7] = [
    ("sigmoid", Activation::Sigmoid),
    ("tanh", Activation::Tanh),
    ("relu", Activation::Relu),
    ("leaky_relu", Activation::LeakyRelu { alpha: 0.2 }),
    ("softsign", Activation::Softsign),
    ("linear", Activation::Linear),
    ("softmax", Activation::Softmax),
];

/// An activation: a name, or `{ kind = "leaky_relu", alpha = 0.1 }`.
fn read_activation(v: Value<'_, '_>) -> Result<Activation, ConfigError> {
    if !v.is_table() {
        return v.one_of("activation", &ACTIVATIONS);
    }
    let t = v.table()?;
    let kind = t.required("kind", "an activation name", |k| {
        k.one_of("activation", &ACTIVATIONS)
    })?;
    let activation = match kind {
        Activation::LeakyRelu { alpha } => Activation::LeakyRelu {
            alpha: t
                .optional("alpha", |a| a.f64_in(f64::is_finite, "a finite number"))?
                .unwrap_or(alpha),
        },
        other => other,
    };
    t.finish()?;
    Ok(activation)
}

#[derive(Clone, Copy, PartialEq)]
enum InitKind {
    Normal,
    Uniform,
    TruncatedNormal,
    Fixed(Init),
}

const INITS: [(&str, InitKind); 11] = [
    ("normal", InitKind::Normal),
    ("uniform", InitKind::Uniform),
    ("truncated_normal", InitKind::TruncatedNormal),
    ("glorot_uniform", InitKind::Fixed(Init::GlorotUniform)),
    ("glorot_normal", InitKind::Fixed(Init::GlorotNormal)),
    ("he_normal", InitKind::Fixed(Init::HeNormal)),
    ("he_uniform", InitKind::Fixed(Init::HeUniform)),
    ("lecun_normal", InitKind::Fixed(Init::LecunNormal)),
    ("lecun_uniform", InitKind::Fixed(Init::LecunUniform)),
    ("standard", InitKind::Fixed(Init::Standard)),
    ("zeros", InitKind::Fixed(Init::Zeros)),
];

/// An initializer: a name (with Keras' default parameters) or a table such as
/// `{ kind = "normal", mean = 0.0, std = 1.0 }`.
fn read_init(v: Value<'_, '_>) -> Result<Init, ConfigError> {
    // Keras' defaults: RandomNormal(0, 0.05), RandomUniform(-0.05, 0.05),
    // TruncatedNormal(0, 0.05).
    let with_defaults = |kind| match kind {
        InitKind::Normal => Init::Normal {
            mean: 0.0,
            std: 0.05,
        },
        InitKind::Uniform => Init::Uniform {
            low: -0.05,
            high: 0.05,
        },
        InitKind::TruncatedNormal => Init::TruncatedNormal {
            mean: 0.0,
            std: 0.05,
        },
        InitKind::Fixed(init) => init,
    };
    if !v.is_table() {
        return Ok(with_defaults(v.one_of("initializer", &INITS)?));
    }
    let t = v.table()?;
    let kind = t.required("kind", "an initializer name", |k| {
        k.one_of("initializer", &INITS)
    })?;
    let std = || {
        t.optional("std", |s| {
            s.f64_in(|x| x.is_finite() && x >= 0.0, "a number >= 0")
        })
    };
    let mean = || t.optional("mean", |m| m.f64_in(f64::is_finite, "a finite number"));
    let init = match with_defaults(kind) {
        Init::Normal { mean: m, std: s } => Init::Normal {
            mean: mean()?.unwrap_or(m),
            std: std()?.unwrap_or(s),
        },
        Init::TruncatedNormal { mean: m, std: s } => Init::TruncatedNormal {
            mean: mean()?.unwrap_or(m),
            std: std()?.unwrap_or(s),
        },
        Init::Uniform { low, high } => {
            let low = t
                .optional("low", |l| l.f64_in(f64::is_finite, "a finite number"))?
                .unwrap_or(low);
            let high = t
                .optional("high", |h| {
                    h.f64_in(|x| x.is_finite() && x > low, "a finite number above `low`")
                })?
                .unwrap_or(high);
            if high <= low {
                return Err(v.error(format!("`low` ({low}) must be below `high` ({high})")));
            }
            Init::Uniform { low, high }
        }
        fixed => fixed,
    };
    t.finish()?;
    Ok(init)
}

fn read_model(t: Table<'_, '_>, data: &DataSpec) -> Result<ModelSpec, ConfigError> {
    let hidden = t.required(
        "hidden",
        "an array of hidden-layer sizes, such as [5, 5, 5, 5]",
        |v| {
            let items = v.array()?;
            if items.is_empty() {
                return Err(v.error("expected at least one hidden layer, found an empty array"));
            }
            if items.len() > MAX_LAYERS {
                return Err(v.error(format!(
                    "expected at most {MAX_LAYERS} hidden layers, found {}",
                    items.len()
                )));
            }
            items
                .iter()
                .map(|item| {
                    let units = item.positive()?;
                    if units > MAX_UNITS {
                        return Err(item.error(format!(
                            "expected at most {MAX_UNITS} units in a layer, found {units}"
                        )));
                    }
                    Ok(units)
                })
                .collect::<Result<Vec<_>, _>>()
        },
    )?;
    let activation = t.required(
        "activation",
        "an activation name such as \"sigmoid\"",
        read_activation,
    )?;
    let output = t
        .optional("output", read_activation)?
        .unwrap_or(Activation::Sigmoid);
    let init = t
        .optional("init", read_init)?
        .unwrap_or(Init::GlorotUniform);
    let loss = t
        .optional("loss", |v| {
            v.one_of(
                "loss",
                &[
                    ("binary_crossentropy", Loss::BinaryCrossEntropy),
                    ("categorical_crossentropy", Loss::CategoricalCrossEntropy),
                    ("mse", Loss::MeanSquaredError),
                ],
            )
        })?
        // A softmax's cross-entropy is over its classes, as Keras' pairing of the two.
        .unwrap_or(if output == Activation::Softmax {
            Loss::CategoricalCrossEntropy
        } else {
            Loss::BinaryCrossEntropy
        });
    let norm = t
        .optional("norm", |v| {
            v.one_of(
                "normalization",
                &[
                    ("none", Norm::None),
                    ("batch", Norm::Batch),
                    ("layer", Norm::Layer),
                ],
            )
        })?
        .unwrap_or_default();
    let residual = t.optional("residual", |v| v.bool())?.unwrap_or(false);
    let model = ModelSpec {
        hidden,
        activation,
        output,
        init,
        loss,
        norm,
        residual,
    };
    check_architecture(&t, &model, data)?;
    t.finish()?;
    Ok(model)
}

/// Refuses a network the core would refuse, with the core's own words, at the key that
/// asked for the refused part (its value's position, which points into `[sweep]` when
/// the value is swept). The rules themselves live in the core's `Architecture::new`
/// alone, so that a file can never describe a network that training then refuses, and
/// the two cannot drift apart. A data file's features and classes are not known before
/// the command line reads it, which checks the network again then; here it counts as
/// two features and two classes.
fn check_architecture(
    t: &Table<'_, '_>,
    model: &ModelSpec,
    data: &DataSpec,
) -> Result<(), ConfigError> {
    let inputs = data.features().unwrap_or(2);
    let classes = data.classes().unwrap_or(2);
    if !addressable(inputs, &model.hidden, model.output_units(classes)) {
        return Err(t.error_at(
            "hidden",
            "these layers have more parameters than this platform can address",
        ));
    }
    let Err(error) = model.architecture(inputs, classes) else {
        return Ok(());
    };
    let error = match error {
        TrainError::Model(error) => error,
        TrainError::BinaryOutput { .. } => return Err(t.error_at("output", error.to_string())),
        other => return Err(t.error(other.to_string())),
    };
    // The core's own words, without the training crate's prefix.
    let message = error.to_string();
    Err(match error {
        CoreError::LossOutputMismatch { .. } => t.error_at("output", message),
        CoreError::ResidualWidth { inputs, .. } => {
            let mut err = t.error_at("residual", message);
            // The core numbers layers from the input side, from 1, as the file does:
            // its layer `l` is the `l`-th entry of `hidden`.
            err.hint = Some(format!(
                "every hidden layer after the first needs {inputs} units here, or set `residual = false`"
            ));
            err
        }
        CoreError::ResidualOutput { .. } => t.error_at("residual", message),
        CoreError::LayerNormOneUnit { .. } => {
            let mut err = t.error_at("norm", message);
            err.hint = Some("use \"batch\" or wider layers".to_owned());
            err
        }
        CoreError::NoUnits { .. } => t.error_at("hidden", message),
        CoreError::SoftmaxHidden { .. } => t.error_at("activation", message),
        CoreError::SoftmaxLoss { .. } => t.error_at("loss", message),
        CoreError::SoftmaxOneUnit { .. } => t.error_at("output", message),
        // The schema's checks of each value come first and refuse the rest (a slope or
        // an initializer out of range) with the range expected, at the value; should
        // the core ever refuse more, the message still names the section.
        _ => t.error(message),
    })
}

/// Whether the core can lay out the parameters of these layers in memory: it computes
/// offsets in `usize`, which on a 32-bit target such as WebAssembly two layers of
/// 100,000 units already overflow. On 64-bit targets the documented limits keep every
/// layout far below the bound.
fn addressable(inputs: usize, hidden: &[usize], outputs: usize) -> bool {
    let mut fan_in = inputs;
    let mut total: usize = 0;
    for &units in hidden.iter().chain([&outputs]) {
        // Kernel, bias, and a normalized layer's scale and shift: (fan_in + 3) x units
        // bounds a layer's share of the layout.
        let layer = fan_in.checked_add(3).and_then(|f| f.checked_mul(units));
        match layer.and_then(|l| total.checked_add(l)) {
            Some(sum) => total = sum,
            None => return false,
        }
        fan_in = units;
    }
    true
}

#[derive(Clone, Copy, PartialEq)]
enum OptimizerKind {
    Sgd,
    RmsProp,
    Adam,
}

fn unit(v: Value<'_, '_>) -> Result<f64, ConfigError> {
    v.f64_in(|x| (0.0..1.0).contains(&x), "a number in [0, 1)")
}

fn non_negative(v: Value<'_, '_>) -> Result<f64, ConfigError> {
    v.f64_in(|x| x.is_finite() && x >= 0.0, "a number >= 0")
}

fn read_optimizer(t: Table<'_, '_>) -> Result<Optimizer, ConfigError> {
    let kind = t
        .optional("kind", |v| {
            v.one_of(
                "optimizer",
                &[
                    ("sgd", OptimizerKind::Sgd),
                    ("rmsprop", OptimizerKind::RmsProp),
                    ("adam", OptimizerKind::Adam),
                ],
            )
        })?
        .unwrap_or(OptimizerKind::RmsProp);
    let learning_rate = t.optional("learning_rate", |v| {
        v.f64_in(|x| x.is_finite() && x > 0.0, "a number > 0")
    })?;
    let optimizer = match kind {
        OptimizerKind::Sgd => {
            let d = Sgd::default();
            Optimizer::Sgd(Sgd {
                learning_rate: learning_rate.unwrap_or(d.learning_rate),
                momentum: t.optional("momentum", unit)?.unwrap_or(d.momentum),
                nesterov: t.optional("nesterov", |v| v.bool())?.unwrap_or(d.nesterov),
            })
        }
        OptimizerKind::RmsProp => {
            let d = RmsProp::default();
            Optimizer::RmsProp(RmsProp {
                learning_rate: learning_rate.unwrap_or(d.learning_rate),
                rho: t.optional("rho", unit)?.unwrap_or(d.rho),
                momentum: t.optional("momentum", unit)?.unwrap_or(d.momentum),
                epsilon: t.optional("epsilon", non_negative)?.unwrap_or(d.epsilon),
                centered: t.optional("centered", |v| v.bool())?.unwrap_or(d.centered),
                variant: t
                    .optional("variant", |v| {
                        v.one_of(
                            "RMSprop variant",
                            &[
                                ("keras2", RmsPropVariant::Keras2),
                                ("keras3", RmsPropVariant::Keras3),
                            ],
                        )
                    })?
                    .unwrap_or(d.variant),
            })
        }
        OptimizerKind::Adam => {
            let d = Adam::default();
            Optimizer::Adam(Adam {
                learning_rate: learning_rate.unwrap_or(d.learning_rate),
                beta_1: t.optional("beta_1", unit)?.unwrap_or(d.beta_1),
                beta_2: t.optional("beta_2", unit)?.unwrap_or(d.beta_2),
                epsilon: t.optional("epsilon", non_negative)?.unwrap_or(d.epsilon),
            })
        }
    };
    t.finish()?;
    Ok(optimizer)
}

#[cfg(test)]
mod tests {
    use vanishing_core::{Activation, CoreError, Loss};

    use crate::{ConfigError, Limits, parse};

    fn refusal(text: &str) -> ConfigError {
        parse("e.toml", text, Limits::NONE).unwrap_err()
    }

    #[test]
    fn the_core_refuses_networks_at_the_key_that_asked() {
        let err = refusal(
            "name = \"e\"\n[model]\nhidden = [5, 5, 3]\nactivation = \"tanh\"\nresidual = true\n",
        );
        assert_eq!(err.position, Some((5, 12)));
        assert_eq!(err.key.as_deref(), Some("model.residual"));
        let core = CoreError::ResidualWidth {
            layer: 3,
            inputs: 5,
            units: 3,
        };
        assert_eq!(err.message, core.to_string(), "the core's words");

        let err = refusal(
            "name = \"e\"\n[model]\nhidden = [5]\nactivation = \"tanh\"\noutput = \"tanh\"\n",
        );
        assert_eq!(
            (err.position, err.key.as_deref()),
            (Some((5, 10)), Some("model.output"))
        );
        let core = CoreError::LossOutputMismatch {
            loss: Loss::BinaryCrossEntropy,
            output: Activation::Tanh,
            expected: Activation::Sigmoid,
        };
        assert_eq!(err.message, core.to_string());
    }

    #[test]
    fn a_swept_value_the_core_refuses_is_pointed_at_in_the_sweep() {
        let err = refusal(
            "name = \"e\"\n[model]\nhidden = [5, 1]\nactivation = \"tanh\"\n[sweep]\n\"model.norm\" = [\"batch\", \"layer\"]\n",
        );
        assert_eq!(err.position, Some((6, 26)), "{err}");
        assert_eq!(err.key.as_deref(), Some("model.norm"));
        assert_eq!(
            err.message,
            CoreError::LayerNormOneUnit { layer: 2 }.to_string()
        );
        assert_eq!(err.hint.as_deref(), Some("use \"batch\" or wider layers"));
    }

    #[test]
    fn layouts_beyond_the_address_space_are_refused() {
        use super::{MAX_LAYERS, MAX_UNITS, addressable};
        assert!(!addressable(2, &[usize::MAX / 2, 3], 1));
        #[cfg(target_pointer_width = "64")]
        assert!(
            addressable(2, &[MAX_UNITS; MAX_LAYERS], 1),
            "the documented limits keep every layout addressable"
        );
        #[cfg(target_pointer_width = "32")]
        assert!(!addressable(&[MAX_UNITS, MAX_UNITS]));
    }
}
