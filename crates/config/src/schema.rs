//! The experiment file's keys, their defaults (Keras' and scikit-learn's), and their
//! conversion into the training crate's specs.

use vanishing_core::{Activation, Adam, Init, Loss, Norm, Optimizer, RmsProp, RmsPropVariant, Sgd};
use vanishing_data::{Circles, Moons};
use vanishing_train::{DataSpec, ModelSpec, Precision, RecordPolicy};

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
    let (data, test_fraction) = read_data(root.table("data")?)?;
    let model = read_model(root.table("model")?)?;
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
}

fn read_data(t: Table<'_, '_>) -> Result<(DataSpec, f64), ConfigError> {
    let kind = t
        .optional("kind", |v| {
            v.one_of(
                "data kind",
                &[("circles", DataKind::Circles), ("moons", DataKind::Moons)],
            )
        })?
        .unwrap_or(DataKind::Circles);
    let n_samples = t
        .optional("n_samples", |v| {
            let n = v.positive()?;
            if n < 2 {
                return Err(v.error("expected a whole number >= 2 (one sample per class), found 1"));
            }
            Ok(n)
        })?
        .unwrap_or(100);
    let noise = t
        .optional("noise", |v| {
            v.f64_in(|x| x.is_finite() && x >= 0.0, "a number >= 0")
        })?
        .unwrap_or(0.0);
    let shuffle = t.optional("shuffle", |v| v.bool())?.unwrap_or(true);
    let test_fraction = t
        .optional("test_fraction", |v| {
            v.f64_in(|x| (0.0..1.0).contains(&x), "a number in [0, 1)")
        })?
        .unwrap_or(0.0);
    let data = match kind {
        DataKind::Circles => {
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
            n_samples,
            noise,
            shuffle,
        }),
    };
    t.finish()?;
    Ok((data, test_fraction))
}

const ACTIVATIONS: [(&str, Activation); 6] = [
    ("sigmoid", Activation::Sigmoid),
    ("tanh", Activation::Tanh),
    ("relu", Activation::Relu),
    ("leaky_relu", Activation::LeakyRelu { alpha: 0.2 }),
    ("softsign", Activation::Softsign),
    ("linear", Activation::Linear),
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

fn read_model(t: Table<'_, '_>) -> Result<ModelSpec, ConfigError> {
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
    let output_value = t.get("output");
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
                    ("mse", Loss::MeanSquaredError),
                ],
            )
        })?
        .unwrap_or(Loss::BinaryCrossEntropy);
    if !loss.accepts_output(output) {
        let span = output_value.map(|(_, v)| v.span());
        return Err(t.source.error(
            span,
            Some(&t.child_key("output")),
            format!(
                "loss \"{}\" needs a \"sigmoid\" output, found \"{output}\"",
                loss.name()
            ),
        ));
    }
    let norm_value = t.get("norm");
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
    if norm == Norm::Layer
        && let Some(l) = hidden.iter().position(|&units| units == 1)
    {
        let span = norm_value.map(|(_, v)| v.span());
        return Err(t.source.error(
            span,
            Some(&t.child_key("norm")),
            format!(
                "layer normalization of a one-unit layer always outputs its shift, and hidden layer {} has 1 unit; use \"batch\" or wider layers",
                l + 1
            ),
        ));
    }
    let residual_value = t.get("residual");
    let residual = t.optional("residual", |v| v.bool())?.unwrap_or(false);
    if residual && let Some(l) = (1..hidden.len()).find(|&l| hidden[l] != hidden[l - 1]) {
        let span = residual_value.map(|(_, v)| v.span());
        return Err(t.source.error(
            span,
            Some(&t.child_key("residual")),
            format!(
                "a residual layer adds its input to its output, so hidden layers after the first need the width of the layer before; hidden layer {} has {} units after {}",
                l + 1,
                hidden[l],
                hidden[l - 1]
            ),
        ));
    }
    t.finish()?;
    Ok(ModelSpec {
        hidden,
        activation,
        output,
        init,
        loss,
        norm,
        residual,
    })
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
