//! Finding experiment files, validating them together, and running them.

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};
use rayon::prelude::*;
use vanishing_analysis::{
    AccuracySummary, AnalysisError, RunMeta, RunResult, accuracy_summary, run_rows,
    write_experiment,
};
use vanishing_train::{History, TrainError, prepare_data, train};

use crate::config::{self, ConfigError, Experiment, PlannedRun, config_hash, resolved_toml};

/// Input the user must fix: every problem found, one per entry.
#[derive(Debug, thiserror::Error)]
#[error("{}", problems.join("\n"))]
pub struct BadInput {
    /// One message per problem, each naming its file.
    pub problems: Vec<String>,
}

impl BadInput {
    fn one(message: String) -> Self {
        Self {
            problems: vec![message],
        }
    }
}

/// The experiment files named by `paths`: files as given, folders as the `*.toml` files
/// directly inside them, sorted by name.
///
/// # Errors
/// [`BadInput`] for a path that does not exist, or a folder without experiment files.
pub fn collect_files(paths: &[PathBuf]) -> Result<Vec<PathBuf>, BadInput> {
    let mut files = Vec::new();
    let mut problems = Vec::new();
    for path in paths {
        if path.is_dir() {
            let mut found: Vec<PathBuf> = match std::fs::read_dir(path) {
                Ok(entries) => entries
                    .filter_map(Result::ok)
                    .map(|e| e.path())
                    .filter(|p| p.is_file() && p.extension().is_some_and(|e| e == "toml"))
                    .collect(),
                Err(e) => {
                    problems.push(format!("{}: cannot list the folder: {e}", path.display()));
                    continue;
                }
            };
            if found.is_empty() {
                problems.push(format!(
                    "{}: no experiment files (*.toml) in this folder",
                    path.display()
                ));
            }
            found.sort();
            files.extend(found);
        } else if path.exists() {
            files.push(path.clone());
        } else {
            problems.push(format!("{}: no such file or folder", path.display()));
        }
    }
    if problems.is_empty() {
        Ok(files)
    } else {
        Err(BadInput { problems })
    }
}

/// Loads and validates every file, and checks that experiment names are unique.
///
/// # Errors
/// [`BadInput`] listing every refused file.
pub fn load_all(files: &[PathBuf]) -> Result<Vec<Experiment>, BadInput> {
    let results: Vec<Result<Experiment, ConfigError>> =
        files.iter().map(|f| config::load(f)).collect();
    let mut problems: Vec<String> = results
        .iter()
        .filter_map(|r| r.as_ref().err().map(ToString::to_string))
        .collect();
    let experiments: Vec<Experiment> = results.into_iter().filter_map(Result::ok).collect();
    let mut seen: BTreeMap<&str, &Path> = BTreeMap::new();
    for e in &experiments {
        if let Some(first) = seen.insert(&e.name, &e.file) {
            problems.push(format!(
                "{}: experiment name \"{}\" is already used by {}; names must be unique",
                e.file.display(),
                e.name,
                first.display()
            ));
        }
    }
    if problems.is_empty() {
        Ok(experiments)
    } else {
        Err(BadInput { problems })
    }
}

/// How to run.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Folder that receives one subfolder of tables per experiment.
    pub out: PathBuf,
    /// Worker threads (at least 1).
    pub jobs: usize,
    /// Whether to draw a progress bar on standard error.
    pub progress: bool,
}

/// What a finished experiment reports.
#[derive(Debug, Clone)]
pub struct ExperimentReport {
    /// The experiment's name.
    pub name: String,
    /// Where its tables were written.
    pub dir: PathBuf,
    /// Final accuracy per configuration.
    pub summary: Vec<AccuracySummary>,
}

/// Why running failed after the input was accepted.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// A run could not start (should have been caught by validation).
    #[error("{experiment}: {source}")]
    Train {
        /// The experiment.
        experiment: String,
        /// What the trainer said.
        source: TrainError,
    },
    /// Tables could not be written.
    #[error(transparent)]
    Write(#[from] AnalysisError),
    /// The worker threads could not be started.
    #[error("cannot start {jobs} worker threads: {message}")]
    Threads {
        /// Requested threads.
        jobs: usize,
        /// What rayon said.
        message: String,
    },
}

fn run_one(experiment: &Experiment, planned: &PlannedRun) -> Result<RunResult, RunError> {
    let failed = |source| RunError::Train {
        experiment: experiment.name.clone(),
        source,
    };
    let data = prepare_data(&planned.spec).map_err(failed)?;
    let mut history = History::default();
    let outcome = train(&planned.spec, &data, &mut history).map_err(failed)?;
    let config_toml = resolved_toml(&experiment.name, &planned.label, &planned.spec);
    Ok(RunResult {
        meta: RunMeta {
            experiment: experiment.name.clone(),
            description: experiment.description.clone(),
            label: planned.label.clone(),
            config_hash: config_hash(&config_toml),
            config_toml,
            framework: "vanishing".to_owned(),
            framework_version: env!("CARGO_PKG_VERSION").to_owned(),
        },
        spec: planned.spec.clone(),
        outcome,
        history,
        data,
    })
}

/// Trains every run of every experiment on `options.jobs` threads, then writes each
/// experiment's tables. Results do not depend on the number of threads: each run is
/// computed by one thread from its own seed, and results are stored in run order.
///
/// # Errors
/// [`RunError`] if a run cannot start or a table cannot be written; experiments
/// written before the failure stay written, the others are untouched.
pub fn run_all(
    experiments: &[Experiment],
    options: &RunOptions,
) -> Result<(Vec<ExperimentReport>, Duration), RunError> {
    let started = Instant::now();
    let jobs: Vec<(usize, &PlannedRun)> = experiments
        .iter()
        .enumerate()
        .flat_map(|(i, e)| e.runs.iter().map(move |r| (i, r)))
        .collect();
    let bar = if options.progress && std::io::stderr().is_terminal() {
        let bar = ProgressBar::new(jobs.len() as u64);
        bar.set_style(
            ProgressStyle::with_template(
                "{elapsed_precise} [{bar:32}] {pos}/{len} runs, ETA {eta}",
            )
            .expect("the progress template is valid")
            .progress_chars("=> "),
        );
        bar
    } else {
        ProgressBar::hidden()
    };
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(options.jobs.max(1))
        .build()
        .map_err(|e| RunError::Threads {
            jobs: options.jobs,
            message: e.to_string(),
        })?;
    let results: Vec<Result<RunResult, RunError>> = pool.install(|| {
        jobs.par_iter()
            .map(|&(i, planned)| {
                let result = run_one(&experiments[i], planned);
                bar.inc(1);
                result
            })
            .collect()
    });
    bar.finish_and_clear();

    let mut per_experiment: Vec<Vec<RunResult>> = experiments.iter().map(|_| Vec::new()).collect();
    for ((i, _), result) in jobs.iter().zip(results) {
        per_experiment[*i].push(result?);
    }
    let mut reports = Vec::with_capacity(experiments.len());
    for (experiment, runs) in experiments.iter().zip(per_experiment) {
        let dir = write_experiment(&options.out, &experiment.name, &runs)?;
        reports.push(ExperimentReport {
            name: experiment.name.clone(),
            dir,
            summary: accuracy_summary(&run_rows(&runs)),
        });
    }
    Ok((reports, started.elapsed()))
}

/// The summary table printed at the end of `vanishing run`.
pub fn format_summary(reports: &[ExperimentReport], elapsed: Duration) -> String {
    let mut rows = vec![[
        "experiment".to_owned(),
        "configuration".to_owned(),
        "runs".to_owned(),
        "accuracy (mean ± std)".to_owned(),
        "min–max".to_owned(),
        "loss".to_owned(),
        "diverged".to_owned(),
    ]];
    for report in reports {
        for s in &report.summary {
            rows.push([
                report.name.clone(),
                if s.label == report.name {
                    "-".to_owned()
                } else {
                    s.label.clone()
                },
                s.runs.to_string(),
                format!("{:.3} ± {:.3}", s.mean, s.std),
                format!("{:.3}–{:.3}", s.min, s.max),
                format!("{:.4}", s.mean_loss),
                s.diverged.to_string(),
            ]);
        }
    }
    let widths: Vec<usize> = (0..7)
        .map(|c| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0))
        .collect();
    let mut out = String::new();
    for row in &rows {
        let cells: Vec<String> = row
            .iter()
            .zip(&widths)
            .map(|(cell, &w)| format!("{cell}{}", " ".repeat(w - cell.chars().count())))
            .collect();
        out.push_str(cells.join("  ").trim_end());
        out.push('\n');
    }
    let runs: usize = reports
        .iter()
        .flat_map(|r| &r.summary)
        .map(|s| s.runs)
        .sum();
    out.push_str(&format!(
        "{runs} runs of {} experiments in {:.2} s\n",
        reports.len(),
        elapsed.as_secs_f64()
    ));
    out
}

/// Checks files without running them: a line per experiment.
///
/// # Errors
/// [`BadInput`] listing every refused file.
pub fn validate(paths: &[PathBuf]) -> Result<String, BadInput> {
    let files = collect_files(paths)?;
    let experiments = load_all(&files)?;
    Ok(experiments
        .iter()
        .map(|e| {
            format!(
                "ok  {} ({}): {} runs\n",
                e.name,
                e.file.display(),
                e.runs.len()
            )
        })
        .collect())
}

/// A bad-input error about one path, for the binary's own checks.
pub fn bad_path(path: &Path, message: &str) -> BadInput {
    BadInput::one(format!("{}: {message}", path.display()))
}
