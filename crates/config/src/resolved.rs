//! The fully resolved configuration of a run, as TOML: every default filled in, so that
//! the text alone reproduces the run.

use sha2::{Digest, Sha256};
use toml::{Table, Value};
use vanishing_core::{Activation, Init, Optimizer, RmsPropVariant};
use vanishing_train::{DataSpec, Precision, RecordPolicy, RunSpec};

fn table(entries: impl IntoIterator<Item = (&'static str, Value)>) -> Value {
    Value::Table(
        entries
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect(),
    )
}

fn int(v: impl TryInto<i64>) -> Value {
    Value::Integer(toml_int(v))
}

/// A count as a TOML integer, whose range stops at `i64::MAX`.
fn toml_int(v: impl TryInto<i64>) -> i64 {
    v.try_into().unwrap_or(i64::MAX)
}

fn activation(a: Activation) -> Value {
    match a {
        Activation::LeakyRelu { alpha } => {
            table([("kind", "leaky_relu".into()), ("alpha", alpha.into())])
        }
        other => other.name().into(),
    }
}

fn init(i: Init) -> Value {
    match i {
        Init::Normal { mean, std } | Init::TruncatedNormal { mean, std } => table([
            ("kind", i.name().into()),
            ("mean", mean.into()),
            ("std", std.into()),
        ]),
        Init::Uniform { low, high } => table([
            ("kind", "uniform".into()),
            ("low", low.into()),
            ("high", high.into()),
        ]),
        other => other.name().into(),
    }
}

fn optimizer(o: &Optimizer) -> Value {
    match *o {
        Optimizer::Sgd(s) => table([
            ("kind", "sgd".into()),
            ("learning_rate", s.learning_rate.into()),
            ("momentum", s.momentum.into()),
            ("nesterov", s.nesterov.into()),
        ]),
        Optimizer::RmsProp(r) => table([
            ("kind", "rmsprop".into()),
            ("learning_rate", r.learning_rate.into()),
            ("rho", r.rho.into()),
            ("momentum", r.momentum.into()),
            ("epsilon", r.epsilon.into()),
            ("centered", r.centered.into()),
            (
                "variant",
                match r.variant {
                    RmsPropVariant::Keras2 => "keras2",
                    RmsPropVariant::Keras3 => "keras3",
                }
                .into(),
            ),
        ]),
        Optimizer::Adam(a) => table([
            ("kind", "adam".into()),
            ("learning_rate", a.learning_rate.into()),
            ("beta_1", a.beta_1.into()),
            ("beta_2", a.beta_2.into()),
            ("epsilon", a.epsilon.into()),
        ]),
    }
}

/// The run's complete configuration as TOML text, in the experiment file's format
/// (with a single `seed` instead of `seeds`, and no sweep).
pub fn resolved_toml(experiment: &str, label: &str, spec: &RunSpec) -> String {
    let data = match &spec.data {
        DataSpec::Circles(c) => table([
            ("kind", "circles".into()),
            ("n_samples", int(c.n_samples)),
            ("factor", c.factor.into()),
            ("noise", c.noise.into()),
            ("shuffle", c.shuffle.into()),
            ("test_fraction", spec.test_fraction.into()),
        ]),
        DataSpec::Moons(m) => table([
            ("kind", "moons".into()),
            ("n_samples", int(m.n_samples)),
            ("noise", m.noise.into()),
            ("shuffle", m.shuffle.into()),
            ("test_fraction", spec.test_fraction.into()),
        ]),
        DataSpec::Shapeset(s) => table([
            ("kind", "shapeset".into()),
            ("n_samples", int(s.n_samples)),
            ("test_fraction", spec.test_fraction.into()),
        ]),
        DataSpec::Digits => table([
            ("kind", "digits".into()),
            ("test_fraction", spec.test_fraction.into()),
        ]),
        // The file's content hash makes a changed file a changed run (and hash).
        DataSpec::File(f) => table(
            [
                ("kind", "file".into()),
                ("path", f.path.as_str().into()),
                ("label", f.label.as_str().into()),
            ]
            .into_iter()
            .chain(f.features.as_ref().map(|names| {
                (
                    "features",
                    Value::Array(names.iter().map(|n| n.as_str().into()).collect()),
                )
            }))
            .chain([
                ("standardize", f.standardize.into()),
                ("test_fraction", spec.test_fraction.into()),
            ])
            .chain(
                f.table
                    .as_ref()
                    .map(|t| t.content_hash.as_str())
                    .or(f.content_hash.as_deref())
                    .map(|hash| ("content_hash", hash.into())),
            ),
        ),
    };
    // Normalization and skip connections are written only when asked for, so that the
    // resolved text (and hash) of every plain network is what it was before they
    // existed, and earlier results stay valid.
    let norm = spec
        .model
        .norm
        .is_some()
        .then(|| ("norm", spec.model.norm.name().into()));
    let residual = spec.model.residual.then(|| ("residual", true.into()));
    let model = table(
        [
            (
                "hidden",
                Value::Array(spec.model.hidden.iter().map(|&h| int(h)).collect()),
            ),
            ("activation", activation(spec.model.activation)),
            ("output", activation(spec.model.output)),
            ("init", init(spec.model.init)),
            ("loss", spec.model.loss.name().into()),
        ]
        .into_iter()
        .chain(norm)
        .chain(residual),
    );
    let train = table([
        ("epochs", int(spec.epochs)),
        ("batch_size", int(spec.batch_size)),
        (
            "precision",
            match spec.precision {
                Precision::F32 => "f32",
                Precision::F64 => "f64",
            }
            .into(),
        ),
    ]);
    let every = match spec.record {
        RecordPolicy::Epoch => "epoch".into(),
        RecordPolicy::Step => "step".into(),
        RecordPolicy::Every(n) => int(n),
    };
    let mut record = vec![("every", every), ("boundary_grid", int(spec.boundary_grid))];
    if let Some(bins) = spec.histogram_bins {
        record.push(("histogram_bins", int(bins)));
    }
    let root: Table = [
        ("name", experiment.into()),
        ("label", label.into()),
        ("seed", int(spec.seed)),
        ("data", data),
        ("model", model),
        ("optimizer", optimizer(&spec.optimizer)),
        ("train", train),
        ("record", table(record)),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    root.to_string()
}

/// The first 16 hex digits of the SHA-256 of a resolved configuration: equal for
/// equal configurations, whatever file they came from.
pub fn config_hash(config_toml: &str) -> String {
    short_hex(Sha256::digest(config_toml.as_bytes()).as_slice())
}

/// The first 16 hex digits of a digest.
fn short_hex(digest: &[u8]) -> String {
    digest.iter().take(8).map(|b| format!("{b:02x}")).collect()
}

/// The [`config_hash`] of one configuration's run for any seed, without writing its
/// [`resolved_toml`] again: the text is written once, and the hash of what precedes
/// the seed's value is taken once, so that each seed costs only the rest of the hash.
/// A sweep of a million runs is keyed in a second or two this way rather than a minute.
#[derive(Debug, Clone)]
pub struct SeedHasher {
    /// The hash state after the text up to the seed's value.
    prefix: Sha256,
    /// The text after the seed's value.
    suffix: String,
}

impl SeedHasher {
    /// The hasher of `spec`'s configuration (its own seed does not matter).
    #[must_use]
    pub fn new(experiment: &str, label: &str, spec: &RunSpec) -> Self {
        let spec = RunSpec {
            seed: 0,
            ..spec.clone()
        };
        let text = resolved_toml(experiment, label, &spec);
        // The seed is a top-level key written before any table, on a line of its own;
        // the name and label before it are quoted strings, in which a line break is
        // escaped, so the first line that starts with it is the seed's.
        let marker = "\nseed = 0\n";
        let at = text
            .find(marker)
            .expect("a resolved configuration has a top-level seed line");
        let value_at = at + "\nseed = ".len();
        let mut prefix = Sha256::new();
        prefix.update(&text.as_bytes()[..value_at]);
        Self {
            prefix,
            suffix: text[value_at + 1..].to_owned(),
        }
    }

    /// The [`config_hash`] of the configuration's run with `seed`.
    #[must_use]
    pub fn hash(&self, seed: u64) -> String {
        let mut hasher = self.prefix.clone();
        // As `resolved_toml` writes it.
        hasher.update(toml_int(seed).to_string().as_bytes());
        hasher.update(self.suffix.as_bytes());
        short_hex(hasher.finalize().as_slice())
    }
}
