//! The Rust side of the Keras fidelity harness: the run plan handed to the Python
//! harness, and the import of what it recorded into the project's own tables.
//!
//! The harness records raw tensors, not statistics, so that [`Stats::of`] computes the
//! statistics of both frameworks with the same code, and the import writes them through
//! the same [`write_experiment`] as `vanishing run`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use vanishing_analysis::{Histograms, RunMeta, RunResult, read_all_with, write_experiment};
use vanishing_config::{Experiment, Limits, config_hash, parse, resolved_toml};
use vanishing_data::{Dataset, Split as DataSplit};
use vanishing_train::{History, LayerRecord, MetricRecord, Quantity, RunOutcome, Split, Stats};

use crate::runner::BadInput;

/// The value of the `framework` column for imported runs.
pub const FRAMEWORK: &str = "keras";

/// One run of the plan, as the harness reads it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlanItem {
    /// The experiment's name.
    pub experiment: String,
    /// What the experiment shows, carried through to the imported tables.
    pub description: String,
    /// The run's identifier, `<label>/s<seed>`.
    pub run_id: String,
    /// The fully resolved configuration of the run: an experiment file of one run.
    pub config_toml: String,
}

/// The plan of every run of `experiments`, as JSON.
pub fn plan(experiments: &[Experiment]) -> String {
    let items: Vec<PlanItem> = experiments
        .iter()
        .flat_map(|e| {
            e.runs().map(|r| PlanItem {
                experiment: e.name.clone(),
                description: e.description.clone(),
                run_id: format!("{}/s{}", r.label, r.spec.seed),
                config_toml: resolved_toml(&e.name, &r.label, &r.spec),
            })
        })
        .collect();
    let mut json = serde_json::to_string_pretty(&items).expect("a plan serializes to JSON");
    json.push('\n');
    json
}

/// The points one split trained or was evaluated on.
#[derive(Debug, Deserialize)]
struct Points {
    x: Vec<Vec<f64>>,
    labels: Vec<u32>,
}

/// One recorded tensor.
#[derive(Debug, Deserialize)]
struct RecordedTensor {
    epoch: u32,
    step: u64,
    layer: u32,
    quantity: String,
    /// Non-finite values (of a diverging run) come as null, which JSON has instead.
    values: Vec<Option<f64>>,
}

/// Loss and accuracy on one split.
#[derive(Debug, Deserialize)]
struct RecordedMetric {
    epoch: u32,
    step: u64,
    split: String,
    loss: Option<f64>,
    accuracy: f64,
}

/// Everything the harness wrote for one run.
#[derive(Debug, Deserialize)]
struct KerasRun {
    experiment: String,
    description: String,
    run_id: String,
    config_toml: String,
    versions: BTreeMap<String, String>,
    wall_ms: f64,
    diverged: bool,
    steps: u64,
    final_loss: Option<f64>,
    final_accuracy: f64,
    final_test_loss: Option<f64>,
    final_test_accuracy: Option<f64>,
    train: Points,
    test: Points,
    layers: Vec<RecordedTensor>,
    metrics: Vec<RecordedMetric>,
}

/// What the import wrote.
#[derive(Debug, Clone, PartialEq)]
pub struct Imported {
    /// The experiment's name.
    pub experiment: String,
    /// Its folder of tables.
    pub dir: PathBuf,
    /// Runs imported.
    pub runs: usize,
}

/// The run files under `dir`: `*.json` directly inside it or one folder down, sorted so
/// that runs keep the plan's order.
fn run_files(dir: &Path) -> Result<Vec<PathBuf>, BadInput> {
    let listing = |d: &Path| -> Result<Vec<PathBuf>, BadInput> {
        std::fs::read_dir(d)
            .map_err(|e| crate::runner::bad_path(d, &format!("cannot list the folder: {e}")))
            .map(|entries| entries.filter_map(Result::ok).map(|e| e.path()).collect())
    };
    let mut files = Vec::new();
    for path in listing(dir)? {
        if path.is_dir() {
            files.extend(listing(&path)?);
        } else {
            files.push(path);
        }
    }
    files.retain(|p| p.extension().is_some_and(|e| e == "json"));
    files.sort();
    if files.is_empty() {
        return Err(crate::runner::bad_path(
            dir,
            "no run files (*.json) from the Keras harness here or one folder down",
        ));
    }
    Ok(files)
}

fn dataset(points: Points, file: &Path, which: &str) -> Result<Dataset, String> {
    let n_features = points.x.first().map_or(2, Vec::len);
    if points.x.len() != points.labels.len() || points.x.iter().any(|r| r.len() != n_features) {
        return Err(format!(
            "{}: `{which}` needs one label per point and points of equal length",
            file.display()
        ));
    }
    Ok(Dataset {
        x: points.x.into_iter().flatten().collect(),
        labels: points.labels,
        n_features,
    })
}

fn quantity(name: &str) -> Option<Quantity> {
    Quantity::ALL.into_iter().find(|q| q.name() == name)
}

/// Converts one harness file into a run of the project's tables, checking it against
/// the configuration it names.
fn convert(file: &Path, run: KerasRun) -> Result<RunResult, String> {
    let at = |message: String| format!("{}: {message}", file.display());
    let experiment = parse(file, &run.config_toml, Limits::NONE)
        .map_err(|e| at(format!("its `config_toml` is refused: {e}")))?;
    if experiment.run_count() != 1 {
        return Err(at(
            "its `config_toml` must describe exactly one run".to_owned()
        ));
    }
    let planned = experiment.run(0);
    if experiment.name != run.experiment {
        return Err(at(format!(
            "names experiment \"{}\" but its configuration is \"{}\"",
            run.experiment, experiment.name
        )));
    }
    let config_toml = resolved_toml(&experiment.name, &planned.label, &planned.spec);
    if config_toml != run.config_toml {
        return Err(at(
            "its configuration is not as this version of vanishing resolves it; make the plan \
             again with `vanishing keras plan` and rerun the harness"
                .to_owned(),
        ));
    }
    let mut layers = Vec::with_capacity(run.layers.len());
    for t in &run.layers {
        let quantity = quantity(&t.quantity)
            .ok_or_else(|| at(format!("unknown quantity \"{}\"", t.quantity)))?;
        let values: Vec<f64> = t.values.iter().map(|v| v.unwrap_or(f64::NAN)).collect();
        let stats = Stats::of(&values).ok_or_else(|| {
            at(format!(
                "layer {} {} at step {} holds no values",
                t.layer, t.quantity, t.step
            ))
        })?;
        layers.push(LayerRecord {
            epoch: t.epoch,
            step: t.step,
            layer: t.layer,
            quantity,
            stats,
        });
    }
    let mut metrics = Vec::with_capacity(run.metrics.len());
    for m in &run.metrics {
        let split = match m.split.as_str() {
            "train" => Split::Train,
            "test" => Split::Test,
            other => return Err(at(format!("unknown split \"{other}\""))),
        };
        metrics.push(MetricRecord {
            epoch: m.epoch,
            step: m.step,
            split,
            // JSON has no NaN; the harness writes a non-finite loss as null.
            loss: m.loss.unwrap_or(f64::NAN),
            accuracy: m.accuracy,
        });
    }
    let data = DataSplit {
        train: dataset(run.train, file, "train")?,
        test: dataset(run.test, file, "test")?,
    };
    let framework_version = run
        .versions
        .iter()
        .map(|(name, version)| format!("{name} {version}"))
        .collect::<Vec<_>>()
        .join(", ");
    let result = RunResult {
        meta: RunMeta {
            experiment: experiment.name,
            description: run.description,
            label: planned.label,
            config_hash: config_hash(&config_toml),
            config_toml,
            framework: FRAMEWORK.to_owned(),
            framework_version,
        },
        spec: planned.spec,
        outcome: RunOutcome {
            final_loss: run.final_loss.unwrap_or(f64::NAN),
            final_accuracy: run.final_accuracy,
            final_test: run.final_test_loss.zip(run.final_test_accuracy),
            diverged: run.diverged,
            steps: run.steps,
            wall: Duration::from_secs_f64(run.wall_ms.max(0.0) / 1e3),
        },
        history: History {
            layers,
            metrics,
            ..History::default()
        },
        data,
    };
    if result.run_id() != run.run_id {
        return Err(at(format!(
            "run id \"{}\" does not match its configuration's \"{}\"",
            run.run_id,
            result.run_id()
        )));
    }
    Ok(result)
}

/// Reads every run file the harness wrote under `dir` and writes one folder of tables
/// per experiment under `out` (by convention `data/keras`). Every file is checked before
/// anything is written.
///
/// # Errors
/// [`BadInput`] listing every unreadable or inconsistent file; the import's
/// [`anyhow::Error`] if a table cannot be written.
pub fn import(dir: &Path, out: &Path) -> anyhow::Result<Vec<Imported>> {
    let files = run_files(dir)?;
    let mut problems = Vec::new();
    let mut experiments: BTreeMap<String, Vec<RunResult>> = BTreeMap::new();
    for file in &files {
        let parsed = std::fs::read_to_string(file)
            .map_err(|e| format!("{}: cannot read: {e}", file.display()))
            .and_then(|text| {
                serde_json::from_str::<KerasRun>(&text)
                    .map_err(|e| format!("{}: not a run file of the harness: {e}", file.display()))
            })
            .and_then(|run| convert(file, run));
        match parsed {
            Ok(run) => experiments
                .entry(run.meta.experiment.clone())
                .or_default()
                .push(run),
            Err(problem) => problems.push(problem),
        }
    }
    for runs in experiments.values() {
        let mut ids: Vec<String> = runs.iter().map(RunResult::run_id).collect();
        ids.sort();
        if let Some(w) = ids.windows(2).find(|w| w[0] == w[1]) {
            problems.push(format!(
                "{}: run {} appears twice in experiment {}",
                dir.display(),
                w[0],
                runs[0].meta.experiment
            ));
        }
    }
    if !problems.is_empty() {
        return Err(BadInput { problems }.into());
    }
    let mut imported = Vec::new();
    for (experiment, runs) in &experiments {
        imported.push(Imported {
            experiment: experiment.clone(),
            dir: write_experiment(out, experiment, runs)?,
            runs: runs.len(),
        });
    }
    Ok(imported)
}

/// The agreement of every experiment found in both frameworks under `data`, as
/// Markdown (the report's tables): per experiment, the median first-minibatch
/// kernel-gradient std per layer and the median final accuracy, with their verdicts.
///
/// # Errors
/// [`BadInput`] if the tables cannot be read or no experiment has a Keras twin.
pub fn compare(data: &Path) -> Result<String, BadInput> {
    let all = read_all_with(data, Histograms::Skip).map_err(|e| BadInput {
        problems: vec![e.to_string()],
    })?;
    vanishing_report::agreement_markdown(&all).ok_or_else(|| {
        crate::runner::bad_path(
            data,
            "no experiment imported from Keras with a vanishing twin; run `just compare-keras`",
        )
    })
}
