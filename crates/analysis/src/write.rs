#[cfg(feature = "parquet")]
use std::fs;
#[cfg(feature = "parquet")]
use std::path::{Path, PathBuf};

use vanishing_core::{Init, Optimizer, RmsPropVariant};
use vanishing_data::Split as DataSplit;
use vanishing_train::{
    BinEdges, History, LayerRecord, MetricRecord, Quantity, RecordPolicy, RunOutcome, RunSpec,
};

#[cfg(feature = "parquet")]
use crate::AnalysisError;
#[cfg(feature = "parquet")]
use crate::parts::{PartName, write_part};
use crate::tables::{
    BoundaryRow, ExperimentTables, HistogramRow, HistoryRow, MetricRow, PointRow, RunRow,
};

/// What the caller knows about a run that the training crate does not: its identity
/// and its configuration as written.
#[derive(Debug, Clone, PartialEq)]
pub struct RunMeta {
    /// The experiment's name.
    pub experiment: String,
    /// What the experiment shows, in words.
    pub description: String,
    /// The configuration without the seed, shared by a configuration's seeds.
    pub label: String,
    /// The fully resolved configuration, as TOML.
    pub config_toml: String,
    /// A hash of `config_toml`.
    pub config_hash: String,
    /// The framework that trained the run (`vanishing`, `keras`).
    pub framework: String,
    /// That framework's version.
    pub framework_version: String,
}

impl RunMeta {
    /// The identity of a run that vanishing itself trained (`framework` = `vanishing`,
    /// this crate's version), from its experiment, configuration label and resolved
    /// configuration with its hash.
    pub fn vanishing(
        experiment: &str,
        description: &str,
        label: &str,
        config_toml: String,
        config_hash: String,
    ) -> Self {
        Self {
            experiment: experiment.to_owned(),
            description: description.to_owned(),
            label: label.to_owned(),
            config_toml,
            config_hash,
            framework: "vanishing".to_owned(),
            framework_version: env!("CARGO_PKG_VERSION").to_owned(),
        }
    }
}

/// Everything one run produced, ready to be stored.
#[derive(Debug, Clone)]
pub struct RunResult {
    /// Identity and configuration text.
    pub meta: RunMeta,
    /// The run's specification.
    pub spec: RunSpec,
    /// How it ended.
    pub outcome: RunOutcome,
    /// Everything it recorded.
    pub history: History,
    /// The data it trained on.
    pub data: DataSplit,
}

impl RunResult {
    /// The run's identifier within its experiment: `<label>/s<seed>`.
    pub fn run_id(&self) -> String {
        format!("{}/s{}", self.meta.label, self.spec.seed)
    }
}

/// Short text forms of configuration values for the `runs` table.
pub fn describe_init(init: Init) -> String {
    match init {
        Init::Normal { mean, std } | Init::TruncatedNormal { mean, std } => {
            format!("{}({mean}, {std})", init.name())
        }
        Init::Uniform { low, high } => format!("uniform({low}, {high})"),
        other => other.name().to_owned(),
    }
}

/// The optimizer's name with its variant, e.g. `rmsprop(keras2)`.
pub fn describe_optimizer(optimizer: &Optimizer) -> String {
    match optimizer {
        Optimizer::RmsProp(o) => match o.variant {
            RmsPropVariant::Keras2 => "rmsprop(keras2)".to_owned(),
            RmsPropVariant::Keras3 => "rmsprop(keras3)".to_owned(),
        },
        other => other.name().to_owned(),
    }
}

fn describe_record(record: RecordPolicy) -> String {
    match record {
        RecordPolicy::Epoch => "epoch".to_owned(),
        RecordPolicy::Step => "step".to_owned(),
        RecordPolicy::Every(n) => format!("every {n}"),
    }
}

/// The rows of the `runs` table of a set of runs, without writing anything.
pub fn run_rows(runs: &[RunResult]) -> Vec<RunRow> {
    runs.iter().map(run_row).collect()
}

fn run_row(run: &RunResult) -> RunRow {
    let spec = &run.spec;
    let n_samples = spec.data.n_samples().unwrap_or(0);
    let noise = match &spec.data {
        vanishing_train::DataSpec::Circles(c) => c.noise,
        vanishing_train::DataSpec::Moons(m) => m.noise,
        _ => 0.0,
    };
    let hidden = &spec.model.hidden;
    RunRow {
        run_id: run.run_id(),
        experiment: run.meta.experiment.clone(),
        description: run.meta.description.clone(),
        label: run.meta.label.clone(),
        seed: spec.seed,
        data: spec.data.kind().to_owned(),
        n_samples: n_samples as i64,
        noise,
        activation: spec.model.activation.to_string(),
        output: spec.model.output.to_string(),
        init: describe_init(spec.model.init),
        norm: spec.model.norm.name().to_owned(),
        residual: spec.model.residual,
        optimizer: describe_optimizer(&spec.optimizer),
        learning_rate: spec.optimizer.learning_rate(),
        depth: hidden.len() as i64,
        width: hidden.iter().copied().max().unwrap_or(0) as i64,
        hidden: hidden
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("-"),
        epochs: i64::from(spec.epochs),
        batch_size: spec.batch_size as i64,
        record: describe_record(spec.record),
        final_loss: run.outcome.final_loss,
        final_accuracy: run.outcome.final_accuracy,
        final_test_loss: run.outcome.final_test.map(|t| t.0),
        final_test_accuracy: run.outcome.final_test.map(|t| t.1),
        diverged: run.outcome.diverged,
        steps: run.outcome.steps as i64,
        wall_ms: run.outcome.wall.as_secs_f64() * 1e3,
        config_toml: run.meta.config_toml.clone(),
        config_hash: run.meta.config_hash.clone(),
        crate_version: env!("CARGO_PKG_VERSION").to_owned(),
        framework: run.meta.framework.clone(),
        framework_version: run.meta.framework_version.clone(),
    }
}

/// The rows of the `history` table of a set of runs, in run order.
pub(crate) fn history_rows(runs: &[RunResult]) -> Vec<HistoryRow> {
    let mut history = Vec::new();
    for run in runs {
        let run_id = run.run_id();
        history.reserve(run.history.layers.len());
        history.extend(
            run.history
                .layers
                .iter()
                .map(|r| history_row(&run_id, &run.spec, r)),
        );
    }
    history
}

/// One record's row of the `history` table, for run `run_id` trained from `spec`.
pub fn history_row(run_id: &str, spec: &RunSpec, record: &LayerRecord) -> HistoryRow {
    let s = record.stats;
    HistoryRow {
        run_id: run_id.to_owned(),
        epoch: i64::from(record.epoch),
        step: record.step as i64,
        layer: i64::from(record.layer),
        layer_name: spec.model.layer_name(record.layer as usize),
        quantity: record.quantity.name().to_owned(),
        mean: s.mean,
        std: s.std,
        abs_mean: s.abs_mean,
        l2: s.l2,
        min: s.min,
        max: s.max,
        p02: s.p02,
        p98: s.p98,
        saturated_frac: s.saturated_frac,
    }
}

/// The rows of the `metrics` table of a set of runs, in run order.
pub(crate) fn metric_rows(runs: &[RunResult]) -> Vec<MetricRow> {
    let mut metrics = Vec::new();
    for run in runs {
        let run_id = run.run_id();
        metrics.extend(run.history.metrics.iter().map(|m| metric_row(&run_id, m)));
    }
    metrics
}

/// One record's row of the `metrics` table, for run `run_id`.
pub fn metric_row(run_id: &str, record: &MetricRecord) -> MetricRow {
    MetricRow {
        run_id: run_id.to_owned(),
        epoch: i64::from(record.epoch),
        step: record.step as i64,
        split: record.split.name().to_owned(),
        loss: record.loss,
        accuracy: record.accuracy,
    }
}

/// Every table of the runs of experiment `name`, in memory: the rows its files would
/// hold, in the same order.
pub fn experiment_tables(name: &str, runs: &[RunResult]) -> ExperimentTables {
    ExperimentTables {
        name: name.to_owned(),
        runs: run_rows(runs),
        history: history_rows(runs),
        metrics: metric_rows(runs),
        histograms: histogram_rows(runs),
        dataset: point_rows(runs),
        boundary: boundary_rows(runs),
    }
}

/// The rows of the `histograms` table of a set of runs, in run order: one row per bin.
pub(crate) fn histogram_rows(runs: &[RunResult]) -> Vec<HistogramRow> {
    let mut histograms = Vec::new();
    for run in runs {
        if run.history.histograms.is_empty() {
            continue;
        }
        let run_id = run.run_id();
        // Every histogram of a quantity has the same edges, computed once.
        let bins = run.spec.histogram_bins.unwrap_or(1);
        let edges: Vec<(Quantity, BinEdges)> = Quantity::ALL
            .into_iter()
            .map(|q| (q, BinEdges::new(q, bins)))
            .collect();
        for h in &run.history.histograms {
            let edges = edges
                .iter()
                .find(|(q, _)| *q == h.quantity)
                .map(|(_, e)| e.edges())
                .unwrap_or_default();
            for ((&count, &bin_lo), &bin_hi) in h.counts.iter().zip(edges).zip(&edges[1..]) {
                histograms.push(HistogramRow {
                    run_id: run_id.clone(),
                    epoch: i64::from(h.epoch),
                    step: h.step as i64,
                    layer: i64::from(h.layer),
                    quantity: h.quantity.name().to_owned(),
                    bin_lo,
                    bin_hi,
                    count: count as i64,
                });
            }
        }
    }
    histograms
}

/// The rows of the `boundary` table of a set of runs, in run order.
pub(crate) fn boundary_rows(runs: &[RunResult]) -> Vec<BoundaryRow> {
    let mut boundary = Vec::new();
    for run in runs {
        let run_id = run.run_id();
        if let Some(grid) = &run.history.boundary {
            let grid = grid.as_record();
            for (k, &probability) in grid.probability.iter().enumerate() {
                let (x0, x1) = grid.point(k);
                boundary.push(BoundaryRow {
                    run_id: run_id.clone(),
                    x0,
                    x1,
                    probability,
                });
            }
        }
    }
    boundary
}

/// The rows of the `dataset` table of a set of runs, in run order: training rows, then test
/// rows. Data of more than two features keep a sample
/// ([`vanishing_train::dataset_rows`]): the first rows of each split, the two in
/// proportion to their sizes (both splits are shuffled, and stratified alike, so these
/// are a random sample with the data's class shares).
pub(crate) fn point_rows(runs: &[RunResult]) -> Vec<PointRow> {
    let mut dataset = Vec::new();
    for run in runs {
        let run_id = run.run_id();
        let (train, test) = (&run.data.train, &run.data.test);
        let total = train.len() + test.len();
        let keep = vanishing_train::dataset_rows(total, train.n_features);
        let keep_train = (keep * train.len()).div_ceil(total.max(1)).min(train.len());
        let keep_test = (keep - keep_train).min(test.len());
        for (split, data, rows) in [("train", train, keep_train), ("test", test, keep_test)] {
            for i in 0..rows {
                let p = data.row(i);
                dataset.push(PointRow {
                    run_id: run_id.clone(),
                    seed: run.spec.seed,
                    split: split.to_owned(),
                    x0: p.first().copied().unwrap_or(0.0),
                    x1: p.get(1).copied().unwrap_or(0.0),
                    label: i64::from(data.labels[i]),
                    features: p.to_vec(),
                });
            }
        }
    }
    dataset
}

#[cfg(feature = "parquet")]
/// Writes every table of one experiment into `out/<experiment>/` as one part each,
/// replacing what was there as a whole: the part is written into a staging folder beside
/// it, which then takes the old folder's place. If anything fails, the old folder is left
/// as it was. `vanishing run` streams parts instead (see [`write_part`]); this is for
/// results that arrive together, such as an import.
///
/// # Errors
/// [`AnalysisError`] naming the file that could not be written.
pub fn write_experiment(
    out: &Path,
    experiment: &str,
    runs: &[RunResult],
) -> Result<PathBuf, AnalysisError> {
    let target = out.join(experiment);
    let parent = target.parent().unwrap_or(out).to_owned();
    fs::create_dir_all(&parent).map_err(AnalysisError::io(&parent))?;
    let leaf = target.file_name().map_or_else(
        || experiment.to_owned(),
        |n| n.to_string_lossy().into_owned(),
    );
    let staging = parent.join(format!(".{leaf}.staging-{}", std::process::id()));
    let retired = parent.join(format!(".{leaf}.old-{}", std::process::id()));
    if staging.exists() {
        fs::remove_dir_all(&staging).map_err(AnalysisError::io(&staging))?;
    }
    fs::create_dir(&staging).map_err(AnalysisError::io(&staging))?;
    let written = write_part(&staging, &PartName::of(0, runs), runs);
    if let Err(e) = written {
        let _ = fs::remove_dir_all(&staging);
        return Err(e);
    }
    if target.exists() {
        fs::rename(&target, &retired).map_err(AnalysisError::io(&target))?;
        if let Err(e) = fs::rename(&staging, &target) {
            // Put the old results back rather than leave nothing.
            let _ = fs::rename(&retired, &target);
            let _ = fs::remove_dir_all(&staging);
            return Err(AnalysisError::Io {
                path: target,
                source: e,
            });
        }
        fs::remove_dir_all(&retired).map_err(AnalysisError::io(&retired))?;
    } else {
        fs::rename(&staging, &target).map_err(AnalysisError::io(&target))?;
    }
    Ok(target)
}
