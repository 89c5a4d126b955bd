//! An experiment file's top level (name, seeds, sweep) and its expansion into runs: the
//! product of the sweep's values and the seeds, each combination's sections read by the
//! schema.

use std::borrow::Cow;
use std::ops::Range;
use std::path::{Path, PathBuf};

use toml::Spanned;
use toml::de::{DeTable, DeValue};
use vanishing_train::RunSpec;

use crate::doc::{self, ConfigError, Source, Table, Value};
use crate::preflight::{self, Limits, MAX_RUNS, format_count};
use crate::schema::read_template;

/// One experiment file, validated and expanded into its configurations, each run once
/// per seed.
///
/// The runs are not stored one by one: a sweep of a million runs is its configurations
/// and its seeds, and [`Experiment::run`] makes any one of them on demand, so that
/// planning it takes the memory of its configurations, not of its runs.
#[derive(Debug, Clone, PartialEq)]
pub struct Experiment {
    /// Unique name; the folder of its tables.
    pub name: String,
    /// What the experiment shows, in words.
    pub description: String,
    /// The file it came from.
    pub file: PathBuf,
    /// Every configuration of the sweep, in the file's order, each as the run of its
    /// first seed.
    pub configurations: Vec<PlannedRun>,
    /// The seeds every configuration runs with, in order (never empty).
    pub seeds: Vec<u64>,
}

impl Experiment {
    /// How many runs the experiment defines: configurations times seeds.
    #[must_use]
    pub fn run_count(&self) -> usize {
        self.configurations.len() * self.seeds.len()
    }

    /// The configuration of run `i` (its run with the configuration's first seed).
    ///
    /// # Panics
    /// If `i` is not below [`Experiment::run_count`].
    #[must_use]
    pub fn configuration_of(&self, i: usize) -> &PlannedRun {
        &self.configurations[i / self.seeds.len()]
    }

    /// Run `i`, in expansion order: each configuration of the sweep times each seed.
    ///
    /// # Panics
    /// If `i` is not below [`Experiment::run_count`].
    #[must_use]
    pub fn run(&self, i: usize) -> PlannedRun {
        let configuration = self.configuration_of(i);
        PlannedRun {
            label: configuration.label.clone(),
            data_file_at: configuration.data_file_at,
            spec: RunSpec {
                seed: self.seeds[i % self.seeds.len()],
                ..configuration.spec.clone()
            },
        }
    }

    /// Every run, in expansion order, made as it is reached.
    pub fn runs(&self) -> impl ExactSizeIterator<Item = PlannedRun> + '_ {
        (0..self.run_count()).map(|i| self.run(i))
    }

    /// The same experiment with its seeds replaced: every configuration once per seed in
    /// `seeds` (which must not be empty), in the file's order of configurations.
    #[must_use]
    pub fn with_seeds(mut self, seeds: &[u64]) -> Self {
        assert!(
            !seeds.is_empty(),
            "an experiment runs with at least one seed"
        );
        for configuration in &mut self.configurations {
            configuration.spec.seed = seeds[0];
        }
        self.seeds = seeds.to_vec();
        self
    }
}

/// One run of an experiment.
#[derive(Debug, Clone, PartialEq)]
pub struct PlannedRun {
    /// The swept values that tell this configuration apart (the experiment's name when
    /// nothing is swept).
    pub label: String,
    /// What to train.
    pub spec: RunSpec,
    /// Line and column of the `data.path` that names the run's data file, if it has
    /// one: where errors found when the caller reads the file point.
    pub data_file_at: Option<(usize, usize)>,
}

/// The sections a sweep may change.
const SWEEPABLE: [&str; 5] = ["data", "model", "optimizer", "train", "record"];

/// Validates the text of an experiment file and expands it into its runs, refusing runs
/// that would not fit in `limits`; `file` names the text in errors and in
/// [`Experiment::file`] (nothing is read from it).
///
/// # Errors
/// A [`ConfigError`] naming the file, and for problems with a value its line, column
/// and dotted key.
pub fn parse(
    file: impl AsRef<Path>,
    text: &str,
    limits: Limits,
) -> Result<Experiment, ConfigError> {
    let file = file.as_ref();
    let source = Source { file, text };
    let document = DeTable::parse(text).map_err(|e| {
        source.error(
            e.span(),
            None,
            format!("not valid TOML: {}", e.message().trim_end()),
        )
    })?;
    let root = Table::new(source, String::new(), document.get_ref(), document.span());

    let name = root.required("name", "a name for the experiment", read_name)?;
    let description = root
        .optional("description", |v| v.str().map(str::to_owned))?
        .unwrap_or_default();
    let seeds = root.optional("seeds", read_seeds)?;
    // `seed` and `label` let a resolved run configuration (see `resolved_toml`) be run
    // again as an experiment file of its own.
    let seed = root.optional("seed", |v| v.u64())?;
    let fixed_label = root.optional("label", |v| v.str().map(str::to_owned))?;
    let seeds = match (seeds, seed) {
        (Some(_), Some(_)) => {
            return Err(source.error(
                None,
                Some("seed"),
                "give either `seed` or `seeds`, not both",
            ));
        }
        (Some(seeds), None) => seeds,
        (None, Some(seed)) => vec![seed],
        (None, None) => vec![0],
    };
    let sweep = root.optional("sweep", read_sweep)?.unwrap_or_default();
    // The sections are read once per sweep combination below; mark them as known here.
    for section in SWEEPABLE {
        root.get(section);
    }
    let sweep_span = root.get("sweep").map(|(_, v)| v.span());
    root.finish()?;
    // Counted before anything is expanded, so that a sweep of millions of runs is
    // refused at once.
    let lengths = sweep.iter().map(|axis| axis.values.len());
    let count = preflight::run_count(lengths.clone(), seeds.len());
    if count.is_none_or(|n| n > MAX_RUNS) {
        let product: Vec<String> = lengths
            .map(|n| n.to_string())
            .chain([seeds.len().to_string()])
            .collect();
        return Err(source.error(
            sweep_span,
            Some("sweep"),
            format!(
                "these values and seeds make {} runs ({} values and seeds); an experiment \
                 file may define at most {}: sweep fewer values, or split the sweep into \
                 several files",
                count.map_or_else(|| "more than 2^64".to_owned(), |n| format_count(n as u128)),
                product.join(" x "),
                format_count(MAX_RUNS as u128),
            ),
        ));
    }

    let mut configurations = Vec::new();
    for combination in combinations(&sweep) {
        let mut table = document.get_ref().clone();
        let mut label_parts = Vec::new();
        for (axis, &choice) in sweep.iter().zip(&combination) {
            let value = &axis.values[choice];
            substitute(&source, &mut table, axis, value.clone())?;
            label_parts.push(format!(
                "{}={}",
                axis.path.last().map_or("", String::as_str),
                display(value.get_ref())
            ));
        }
        let root = Table::new(source, String::new(), &table, document.span());
        let template = read_template(&root)?;
        let label = if label_parts.is_empty() {
            fixed_label.clone().unwrap_or_else(|| name.clone())
        } else {
            label_parts.join(",")
        };
        // The seed changes no size and no rule: one check per configuration.
        let spec = RunSpec {
            data: template.data,
            test_fraction: template.test_fraction,
            model: template.model,
            optimizer: template.optimizer,
            epochs: template.epochs,
            batch_size: template.batch_size,
            record: template.record,
            histogram_bins: template.histogram_bins,
            boundary_grid: template.boundary_grid,
            precision: template.precision,
            seed: seeds[0],
        };
        // The schema checks each value; this catches what only the whole spec can.
        spec.validate()
            .map_err(|e| source.error(None, None, e.to_string()))?;
        preflight::check_memory(source, &root, &spec, limits)?;
        configurations.push(PlannedRun {
            label,
            data_file_at: template.data_file_at,
            spec,
        });
    }
    Ok(Experiment {
        name,
        description,
        file: file.to_owned(),
        configurations,
        seeds,
    })
}

fn read_name(v: Value<'_, '_>) -> Result<String, ConfigError> {
    let name = v.str()?;
    let valid = !name.is_empty()
        && name.len() <= 100
        && !name.starts_with('.')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if !valid {
        return Err(v.error(format!(
            "\"{name}\" cannot name a folder; use letters, digits, '-', '_' and '.' (not first)"
        )));
    }
    Ok(name.to_owned())
}

/// `seeds = [1, 2, 3]` or `seeds = { count = 10, start = 0 }`.
fn read_seeds(v: Value<'_, '_>) -> Result<Vec<u64>, ConfigError> {
    if v.is_table() {
        let t = v.table()?;
        let count = t.required("count", "the number of seeds", |c| {
            let n = c.positive()?;
            if n > MAX_RUNS {
                return Err(c.error(format!(
                    "expected at most {} seeds (the most runs a file may define), found {}",
                    format_count(MAX_RUNS as u128),
                    format_count(n as u128)
                )));
            }
            Ok(n)
        })?;
        let start = t.optional("start", |s| s.u64())?.unwrap_or(0);
        t.finish()?;
        let count = count as u64;
        return (0..count)
            .map(|i| {
                start
                    .checked_add(i)
                    .ok_or_else(|| v.error("seeds overflow a 64-bit number"))
            })
            .collect();
    }
    let items = v.array()?;
    if items.is_empty() {
        return Err(v.error("expected at least one seed, found an empty array"));
    }
    let seeds: Vec<u64> = items.iter().map(Value::u64).collect::<Result<_, _>>()?;
    for (i, s) in seeds.iter().enumerate() {
        if seeds[..i].contains(s) {
            return Err(v.error(format!("seed {s} is listed twice")));
        }
    }
    Ok(seeds)
}

/// One swept key and its values.
#[derive(Debug, Clone)]
struct Axis<'i> {
    path: Vec<String>,
    key_span: Range<usize>,
    values: Vec<Spanned<DeValue<'i>>>,
}

/// `[sweep]`: dotted keys (quoted, `"model.activation" = [...]`, or nested) mapped to
/// non-empty arrays of values.
fn read_sweep<'i>(v: Value<'_, 'i>) -> Result<Vec<Axis<'i>>, ConfigError> {
    let table = v
        .value
        .get_ref()
        .as_table()
        .ok_or_else(|| v.error("expected a table of dotted keys and arrays of values"))?;
    let mut axes = Vec::new();
    flatten_sweep(v, table, &[], &mut axes)?;
    Ok(axes)
}

fn flatten_sweep<'i>(
    v: Value<'_, 'i>,
    table: &DeTable<'i>,
    prefix: &[String],
    axes: &mut Vec<Axis<'i>>,
) -> Result<(), ConfigError> {
    for (key, value) in table {
        let mut path = prefix.to_vec();
        path.extend(key.get_ref().split('.').map(str::to_owned));
        let dotted = path.join(".");
        let here = |message: String| {
            v.source
                .error(Some(key.span()), Some(&format!("sweep.{dotted}")), message)
        };
        match value.get_ref() {
            DeValue::Table(inner) => flatten_sweep(v, inner, &path, axes)?,
            DeValue::Array(values) => {
                if !SWEEPABLE.contains(&path[0].as_str()) || path.len() < 2 {
                    let mut err = here(format!(
                        "cannot sweep over `{dotted}`; a sweep key names a setting inside {}",
                        SWEEPABLE.map(|s| format!("[{s}]")).join(", ")
                    ));
                    err.hint = doc::did_you_mean(&path[0], SWEEPABLE)
                        .map(|s| format!("did you mean `{s}.…`?"));
                    return Err(err);
                }
                if values.is_empty() {
                    return Err(here(
                        "expected at least one value to sweep over, found an empty array".into(),
                    ));
                }
                if axes.iter().any(|a: &Axis<'_>| a.path == path) {
                    return Err(here(format!("`{dotted}` is swept twice")));
                }
                axes.push(Axis {
                    path,
                    key_span: key.span(),
                    values: values.iter().cloned().collect(),
                });
            }
            other => {
                return Err(here(format!(
                    "expected an array of values to sweep over, found {}",
                    doc::describe(other)
                )));
            }
        }
    }
    Ok(())
}

/// Every combination of one value per axis, the last axis varying fastest, one at a
/// time (the sweep is never held whole).
fn combinations<'s>(axes: &'s [Axis<'_>]) -> impl Iterator<Item = Vec<usize>> + 's {
    let lengths: Vec<usize> = axes.iter().map(|a| a.values.len()).collect();
    let mut next = Some(vec![0; axes.len()]);
    std::iter::from_fn(move || {
        let current = next.take()?;
        let mut following = current.clone();
        // Count up in mixed radix, the last digit fastest; done when every digit wraps.
        for axis in (0..following.len()).rev() {
            following[axis] += 1;
            if following[axis] < lengths[axis] {
                next = Some(following);
                break;
            }
            following[axis] = 0;
        }
        Some(current)
    })
}

/// Puts `value` at the axis' path in `table`, creating tables on the way. The value
/// keeps its own position, so an error about it points into the sweep.
fn substitute<'i>(
    source: &Source<'_>,
    table: &mut DeTable<'i>,
    axis: &Axis<'i>,
    value: Spanned<DeValue<'i>>,
) -> Result<(), ConfigError> {
    let (last, parents) = axis
        .path
        .split_last()
        .expect("a sweep path has at least two segments");
    let mut here = table;
    for (depth, segment) in parents.iter().enumerate() {
        let key = Spanned::new(axis.key_span.clone(), Cow::Owned(segment.clone()));
        let entry = here
            .entry(key)
            .or_insert_with(|| Spanned::new(axis.key_span.clone(), DeValue::Table(DeTable::new())));
        let DeValue::Table(inner) = entry.get_mut() else {
            let dotted = axis.path[..=depth].join(".");
            return Err(source.error(
                Some(axis.key_span.clone()),
                Some(&format!("sweep.{}", axis.path.join("."))),
                format!("cannot sweep inside `{dotted}`, which is not a table"),
            ));
        };
        here = inner;
    }
    here.insert(
        Spanned::new(axis.key_span.clone(), Cow::Owned(last.clone())),
        value,
    );
    Ok(())
}

/// A swept value as it reads in a label: `tanh`, `5-5-5`, `normal(std=1)`.
fn display(value: &DeValue<'_>) -> String {
    match value {
        DeValue::String(s) => s.to_string(),
        DeValue::Integer(i) => i.to_string(),
        DeValue::Float(f) => f.as_str().to_owned(),
        DeValue::Boolean(b) => b.to_string(),
        DeValue::Datetime(d) => d.to_string(),
        DeValue::Array(items) => items
            .iter()
            .map(|v| display(v.get_ref()))
            .collect::<Vec<_>>()
            .join("-"),
        DeValue::Table(t) => {
            let kind = t.get("kind").map(|k| display(k.get_ref()));
            let params: Vec<String> = t
                .iter()
                .filter(|(k, _)| k.get_ref() != "kind")
                .map(|(k, v)| format!("{}={}", k.get_ref(), display(v.get_ref())))
                .collect();
            match kind {
                Some(kind) if params.is_empty() => kind,
                Some(kind) => format!("{kind}({})", params.join(",")),
                None => format!("({})", params.join(",")),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::fs;

    use super::*;
    use crate::{SeedHasher, config_hash, resolved_toml};

    fn load_text(text: &str) -> Result<Experiment, ConfigError> {
        parse(Path::new("e.toml"), text, Limits::NONE)
    }

    #[test]
    fn seeds_can_be_replaced_per_configuration() {
        let text =
            format!("seeds = [7, 8]\n{BASE}[sweep]\n\"model.activation\" = [\"tanh\", \"relu\"]\n");
        let e = load_text(&text).unwrap().with_seeds(&[0, 1, 2]);
        let all: Vec<PlannedRun> = e.runs().collect();
        let runs: Vec<(&str, u64)> = all
            .iter()
            .map(|r| (r.label.as_str(), r.spec.seed))
            .collect();
        assert_eq!(
            runs,
            [
                ("activation=tanh", 0),
                ("activation=tanh", 1),
                ("activation=tanh", 2),
                ("activation=relu", 0),
                ("activation=relu", 1),
                ("activation=relu", 2),
            ]
        );
        assert_eq!(
            e.run(5).spec.model.activation,
            vanishing_core::Activation::Relu
        );
    }

    const BASE: &str = "name = \"e\"\n[model]\nhidden = [4, 3]\nactivation = \"tanh\"\n";

    #[test]
    fn defaults_follow_keras_and_scikit_learn() {
        let e = load_text(BASE).unwrap();
        assert_eq!(e.run_count(), 1);
        let run = e.run(0);
        let spec = &run.spec;
        assert_eq!(run.label, "e");
        assert_eq!(spec.seed, 0);
        assert_eq!(
            spec.data,
            vanishing_train::DataSpec::Circles(vanishing_data::Circles::default())
        );
        assert_eq!(spec.model.init, vanishing_core::Init::GlorotUniform);
        assert_eq!(spec.model.output, vanishing_core::Activation::Sigmoid);
        assert_eq!(
            spec.optimizer,
            vanishing_core::Optimizer::RmsProp(vanishing_core::RmsProp::default())
        );
        assert_eq!((spec.epochs, spec.batch_size), (1, 32));
        assert_eq!(spec.record, vanishing_train::RecordPolicy::Epoch);
    }

    #[test]
    fn sweeps_and_seeds_expand_in_order() {
        let text = format!(
            "seeds = {{ count = 2, start = 5 }}\n{BASE}[sweep]\n\"model.activation\" = [\"relu\", \"sigmoid\"]\n\"optimizer.learning_rate\" = [0.1, 0.01, 0.001]\n"
        );
        let e = load_text(&text).unwrap();
        assert_eq!(e.run_count(), 12);
        let first: Vec<(String, u64)> = e
            .runs()
            .take(3)
            .map(|r| (r.label.clone(), r.spec.seed))
            .collect();
        assert_eq!(
            first,
            [
                ("activation=relu,learning_rate=0.1".to_owned(), 5),
                ("activation=relu,learning_rate=0.1".to_owned(), 6),
                ("activation=relu,learning_rate=0.01".to_owned(), 5),
            ]
        );
        assert!((e.run(11).spec.optimizer.learning_rate() - 0.001).abs() < 1e-15);
        assert_eq!(
            e.run(11).spec.model.activation,
            vanishing_core::Activation::Sigmoid
        );
    }

    #[test]
    fn nested_sweep_tables_and_table_values() {
        let text = format!(
            "{BASE}[sweep.model]\ninit = [{{ kind = \"normal\", std = 1.0 }}, \"he_normal\"]\nhidden = [[5], [5, 5]]\n"
        );
        let e = load_text(&text).unwrap();
        let labels: Vec<String> = e.runs().map(|r| r.label).collect();
        assert_eq!(
            labels,
            [
                "init=normal(std=1.0),hidden=5",
                "init=normal(std=1.0),hidden=5-5",
                "init=he_normal,hidden=5",
                "init=he_normal,hidden=5-5"
            ]
        );
    }

    /// Every experiment file shipped in `experiments/`.
    fn shipped_experiments() -> Vec<Experiment> {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../experiments");
        fs::read_dir(root)
            .unwrap()
            .map(|entry| entry.unwrap().path())
            .filter(|path| path.extension().is_some_and(|e| e == "toml"))
            .map(|path| {
                let text = fs::read_to_string(&path).unwrap();
                parse(&path, &text, Limits::NONE).unwrap()
            })
            .collect()
    }

    #[test]
    fn resolved_configurations_run_again_as_the_same_run() {
        let mut checked = 0;
        for experiment in shipped_experiments() {
            for run in experiment.runs() {
                let text = resolved_toml(&experiment.name, &run.label, &run.spec);
                let again = load_text(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
                assert_eq!(again.run_count(), 1);
                let again_run = again.run(0);
                assert_eq!(again_run, run, "{text}");
                assert_eq!(
                    resolved_toml(&again.name, &again_run.label, &again_run.spec),
                    text
                );
                checked += 1;
            }
        }
        assert!(checked >= 100, "only {checked} runs checked");
    }

    #[test]
    fn seed_hashers_give_each_runs_config_hash() {
        let mut checked = 0;
        let seeds = [0, 1, 9, 10, 123_456_789, i64::MAX as u64, u64::MAX];
        for experiment in shipped_experiments() {
            let experiment = experiment.with_seeds(&seeds);
            let hashers: Vec<SeedHasher> = experiment
                .configurations
                .iter()
                .map(|c| SeedHasher::new(&experiment.name, &c.label, &c.spec))
                .collect();
            for (i, run) in experiment.runs().enumerate() {
                let expected = config_hash(&resolved_toml(&experiment.name, &run.label, &run.spec));
                let hasher = &hashers[i / experiment.seeds.len()];
                assert_eq!(hasher.hash(run.spec.seed), expected, "{}", run.label);
                checked += 1;
            }
        }
        assert!(checked >= 500, "only {checked} runs checked");
    }

    #[test]
    fn seed_and_seeds_conflict() {
        let err = load_text(&format!("seed = 1\nseeds = [2]\n{BASE}")).unwrap_err();
        assert!(
            err.to_string().contains("either `seed` or `seeds`"),
            "{err}"
        );
        let err = load_text(&format!("seeds = [2, 2]\n{BASE}")).unwrap_err();
        assert!(err.to_string().contains("seed 2 is listed twice"), "{err}");
    }
}
