//! Finding experiment files, validating them together, and running them.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};
use vanishing_analysis::{
    AccuracySummary, AnalysisError, Pruned, RunMeta, RunResult, WriterTag, prune, stored_runs,
    stored_summary,
};
use vanishing_config::{
    ConfigError, Experiment, PlannedRun, config_hash, format_bytes, format_count, format_duration,
    resolved_toml,
};
use vanishing_train::{History, RunSpec, TrainError, prepare_data, train_together};

use crate::input;

use crate::sweep::{self, Shard};
use crate::workers;

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
    let limits = input::machine_limits();
    let results: Vec<Result<Experiment, ConfigError>> =
        files.iter().map(|f| input::load(f, limits)).collect();
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
    /// Which share of the runs to train.
    pub shard: Shard,
    /// Runs trained side by side, one per vector lane (1 trains every run alone; the
    /// results are the same bits either way).
    pub lanes: usize,
}

/// What a finished experiment reports.
#[derive(Debug, Clone)]
pub struct ExperimentReport {
    /// The experiment's name.
    pub name: String,
    /// Where its tables are.
    pub dir: PathBuf,
    /// Final accuracy per configuration, over this shard's stored runs.
    pub summary: Vec<AccuracySummary>,
    /// Runs trained by this command.
    pub trained: usize,
    /// Runs skipped because they were already stored.
    pub skipped: usize,
    /// Runs of the experiment not stored yet (other shards' share).
    pub missing: usize,
    /// Stored runs removed because the file no longer defines them (or another version
    /// of vanishing wrote them).
    pub stale_removed: usize,
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
    /// Tables could not be read or written.
    #[error(transparent)]
    Tables(#[from] AnalysisError),
}

/// Trains consecutive planned runs of one experiment, side by side where they can share
/// vector lanes ([`train_together`]), and gathers what the tables need.
pub(crate) fn run_group(
    experiment: &Experiment,
    planned: &[PlannedRun],
) -> Result<Vec<RunResult>, RunError> {
    let failed = |source| RunError::Train {
        experiment: experiment.name.clone(),
        source,
    };
    let specs: Vec<RunSpec> = planned.iter().map(|p| p.spec.clone()).collect();
    let data = specs
        .iter()
        .map(prepare_data)
        .collect::<Result<Vec<_>, _>>()
        .map_err(failed)?;
    let mut histories = vec![History::default(); specs.len()];
    let outcomes = train_together(&specs, &data, &mut histories).map_err(failed)?;
    let results = planned
        .iter()
        .zip(specs)
        .zip(data)
        .zip(histories.into_iter().zip(outcomes))
        .map(|(((planned, spec), data), (history, outcome))| {
            let config_toml = resolved_toml(&experiment.name, &planned.label, &spec);
            let hash = config_hash(&config_toml);
            RunResult {
                meta: RunMeta::vanishing(
                    &experiment.name,
                    &experiment.description,
                    &planned.label,
                    config_toml,
                    hash,
                ),
                spec,
                outcome,
                history,
                data,
            }
        })
        .collect();
    Ok(results)
}

fn progress_bar(options: &RunOptions, pending: usize, skipped: usize) -> ProgressBar {
    if !(options.progress && std::io::stderr().is_terminal()) {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(pending as u64);
    bar.set_style(
        ProgressStyle::with_template(
            "{elapsed_precise} [{bar:32}] {pos}/{len} runs trained, {prefix} skipped as \
             stored, {msg} to go, ETA {eta}",
        )
        .expect("the progress template is valid")
        .progress_chars("=> "),
    );
    bar.set_prefix(skipped.to_string());
    bar.set_message(pending.to_string());
    bar
}

/// Trains this shard's runs of every experiment that are not stored yet (by this version
/// of vanishing) on up to `options.jobs` threads (fewer when there are fewer groups of
/// runs, or when memory holds fewer runs at once), writing each [`sweep::Batch`] as one
/// part as soon as its last run has trained, so that memory holds only the batches in
/// progress. Then, for every experiment whose runs are all stored, removes what the
/// file no longer defines ([`vanishing_analysis::prune`]) unless another command still
/// writes there. Results do not depend on the number of threads: each run is computed
/// by one thread from its own seed, and the batches depend only on the plan. The
/// experiments' folders must exist ([`prepare_output`] makes and checks them).
///
/// # Errors
/// [`RunError`] if a run cannot start or a table cannot be read or written; parts
/// written before the failure stay, and the same command resumes from them.
pub fn run_all(
    experiments: &[Experiment],
    options: &RunOptions,
) -> Result<(Vec<ExperimentReport>, Duration), RunError> {
    let started = Instant::now();
    // Held from before the plan reads what is stored until training ends, so that no
    // other process prunes a folder this one is adding parts to.
    let mut writing: Vec<Option<File>> = experiments
        .iter()
        .map(|e| lock(&options.out.join(&e.name), Lock::Writing))
        .collect::<Result<_, _>>()?;
    let plans = sweep::plan(experiments, &options.out, options.shard)?;
    let batches = sweep::batches(experiments, &plans);
    let pending: usize = plans.iter().map(|p| p.pending.len()).sum();
    let skipped: usize = plans.iter().map(sweep::ExperimentPlan::skipped).sum();
    // No more threads than groups of runs to train: `--jobs` may be any number.
    let groups: usize = batches
        .iter()
        .map(|b| b.runs.len().div_ceil(options.lanes.max(1)))
        .sum();
    let wanted = (options.jobs.min(groups).max(1), options.lanes);
    let available = input::machine_limits().available_memory;
    let largest = largest_run(experiments, &plans);
    let (jobs, lanes) = fit_in_memory(largest, wanted, available);
    if (jobs, lanes) != wanted {
        note(&format!(
            "training {} at a time instead of {}: the largest run needs about {}, and this \
             machine has {} available",
            jobs * lanes,
            wanted.0 * wanted.1,
            format_bytes(largest),
            format_bytes(available.unwrap_or(0.0)),
        ));
    }
    if let Some(line) = announce_size(experiments, &plans, jobs) {
        note(&line);
    }
    let bar = progress_bar(options, pending, skipped);
    let tag = WriterTag::new(&host_name());
    let trained = workers::train_batches(experiments, &plans, &batches, (jobs, lanes), &tag, &bar);
    // Cleared before any error is printed, so that the message stands on its own line.
    bar.finish_and_clear();
    trained?;

    let mut reports = Vec::with_capacity(experiments.len());
    for ((experiment, plan), writing) in experiments.iter().zip(&plans).zip(&mut writing) {
        drop(writing.take());
        let mut stored = stored_runs(&plan.dir)?;
        let mut stale_removed = 0;
        // Another process still training into this folder (a duplicate command; shards
        // never are, once every run is stored) keeps it from being pruned: the last
        // one to finish prunes.
        if plan.complete(&stored)
            && let Some(_pruning) = lock(&plan.dir, Lock::Pruning)?
        {
            let pruned = prune(&plan.dir, &plan.current(), &abandoned, &tag)?;
            stale_removed = pruned.stale_runs;
            if pruned != Pruned::default() {
                stored = stored_runs(&plan.dir)?;
            }
        }
        let missing = plan.keys.len() - plan.done(&stored);
        reports.push(ExperimentReport {
            name: experiment.name.clone(),
            dir: plan.dir.clone(),
            summary: stored_summary(&plan.my_runs(stored)),
            trained: plan.pending.len(),
            skipped: plan.skipped(),
            missing,
            stale_removed,
        });
    }
    Ok((reports, started.elapsed()))
}

/// A line for the user on standard error, before the progress bar starts: what the
/// command decided on its own (a closed standard error is no reason to stop).
fn note(line: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr().lock(), "{line}");
}

/// The memory of the largest pending run, in bytes ([`RunSpec::estimated_memory`]).
fn largest_run(experiments: &[Experiment], plans: &[sweep::ExperimentPlan]) -> f64 {
    experiments
        .iter()
        .zip(plans)
        .flat_map(|(e, p)| {
            p.pending
                .iter()
                .map(|&i| e.configuration_of(i).spec.estimated_memory().total())
        })
        .fold(0.0, f64::max)
}

/// Threads and lanes that keep the runs in flight (up to `jobs x lanes` at once, each
/// taking at most `largest` bytes) within `available` memory: fewer threads first, then
/// runs alone. Every run fits on its own, as loading the files checked.
fn fit_in_memory(
    largest: f64,
    (jobs, lanes): (usize, usize),
    available: Option<f64>,
) -> (usize, usize) {
    let Some(available) = available else {
        return (jobs, lanes);
    };
    // How many runs fit at once, at least one (every run fits on its own).
    let room = if largest > 0.0 {
        (available / largest).floor().max(1.0)
    } else {
        f64::INFINITY
    };
    if (jobs as f64) * (lanes as f64) <= room {
        return (jobs, lanes);
    }
    // A float-to-integer cast saturates; `room` is at least 1.
    let with_lanes = (room / lanes as f64) as usize;
    if with_lanes >= 1 {
        (with_lanes.min(jobs), lanes)
    } else {
        ((room as usize).min(jobs), 1)
    }
}

/// A sweep larger than this many runs to train, or expected to take longer than
/// [`LARGE_SWEEP_SECONDS`], is announced with its size and a rough time before it starts.
const LARGE_SWEEP_RUNS: usize = 10_000;

/// See [`LARGE_SWEEP_RUNS`].
const LARGE_SWEEP_SECONDS: f64 = 60.0;

/// The line announcing a large sweep: how many runs will train, on how many threads, and
/// about how long that takes ([`RunSpec::estimated_seconds`]); `None` for a small one.
fn announce_size(
    experiments: &[Experiment],
    plans: &[sweep::ExperimentPlan],
    jobs: usize,
) -> Option<String> {
    let pending: usize = plans.iter().map(|p| p.pending.len()).sum();
    let seconds: f64 = experiments
        .iter()
        .zip(plans)
        .flat_map(|(e, p)| {
            p.pending
                .iter()
                .map(|&i| e.configuration_of(i).spec.estimated_seconds())
        })
        .sum::<f64>()
        / jobs.max(1) as f64;
    if pending <= LARGE_SWEEP_RUNS && seconds <= LARGE_SWEEP_SECONDS {
        return None;
    }
    Some(format!(
        "training {} runs on {jobs} threads: about {} by a rough estimate from their sizes",
        format_count(pending as u128),
        format_duration(seconds)
    ))
}

/// The hidden file of an experiment's folder that processes lock (advisory locks, as
/// `flock` takes them) to tell each other what they do there.
const LOCK_FILE: &str = ".lock";

/// What a process locks an experiment's folder for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Lock {
    /// Adding parts: shared with other writers (shards, or a duplicate command), waits
    /// while the folder is being pruned.
    Writing,
    /// Pruning: exclusive, never waited for.
    Pruning,
}

/// Locks `dir` (which exists) for `kind`; `None` when pruning would have to wait for a
/// writer. The lock lasts as long as the returned file.
fn lock(dir: &Path, kind: Lock) -> Result<Option<File>, RunError> {
    let path = dir.join(LOCK_FILE);
    let io = |source| {
        RunError::Tables(AnalysisError::Io {
            path: path.clone(),
            source,
        })
    };
    let file = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(io)?;
    match kind {
        Lock::Writing => file.lock_shared().map(|()| Some(file)).map_err(io),
        Lock::Pruning => match file.try_lock() {
            Ok(()) => Ok(Some(file)),
            Err(std::fs::TryLockError::WouldBlock) => Ok(None),
            Err(std::fs::TryLockError::Error(e)) => Err(io(e)),
        },
    }
}

/// This machine's name, for the tags of temporary files.
fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "unknown".to_owned())
}

/// Whether the writer of a temporary file tagged `host.pid` is gone: it ran on this
/// machine and no process of that id lives (as `/proc` tells, where there is one).
/// Writers on other machines are never presumed gone; their files expire with age.
fn abandoned(tag: &str) -> bool {
    let ours = WriterTag::new(&host_name()).0;
    let (Some((host, _)), Some((our_host, _))) = (tag.rsplit_once('.'), ours.rsplit_once('.'))
    else {
        return false;
    };
    let Some(pid) = tag
        .rsplit_once('.')
        .and_then(|(_, p)| p.parse::<u32>().ok())
    else {
        return false;
    };
    let proc = Path::new("/proc");
    host == our_host
        && pid != std::process::id()
        && proc.join("self").exists()
        && !proc.join(pid.to_string()).exists()
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
                s.finished.map_or_else(
                    || "– (all diverged)".to_owned(),
                    |f| format!("{:.3} ± {:.3}", f.mean, f.std),
                ),
                s.finished
                    .map_or_else(|| "–".to_owned(), |f| format!("{:.3}–{:.3}", f.min, f.max)),
                s.finished
                    .map_or_else(|| "–".to_owned(), |f| format!("{:.4}", f.mean_loss)),
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
    let total = |f: fn(&ExperimentReport) -> usize| reports.iter().map(f).sum::<usize>();
    let diverged: usize = reports
        .iter()
        .flat_map(|r| &r.summary)
        .map(|s| s.diverged)
        .sum();
    if diverged > 0 {
        out.push_str(&format!(
            "{} diverged (a loss or parameter became NaN or infinite); accuracy and loss \
             above are over the runs that did not\n",
            if diverged == 1 {
                "1 run".to_owned()
            } else {
                format!("{diverged} runs")
            }
        ));
    }
    out.push_str(&format!(
        "{runs} runs of {} experiments: {} trained in {:.2} s, {} skipped as already stored\n",
        reports.len(),
        total(|r| r.trained),
        elapsed.as_secs_f64(),
        total(|r| r.skipped),
    ));
    let stale = total(|r| r.stale_removed);
    if stale > 0 {
        let names: Vec<&str> = reports
            .iter()
            .filter(|r| r.stale_removed > 0)
            .map(|r| r.name.as_str())
            .collect();
        out.push_str(&format!(
            "{stale} stale runs removed (no longer defined by their files, or written by \
             another version of vanishing): {}\n",
            names.join(", ")
        ));
    }
    let missing = total(|r| r.missing);
    if missing > 0 {
        out.push_str(&format!(
            "{missing} runs of these experiments are not stored yet (other shards' share); \
             `vanishing status` tells which\n"
        ));
    }
    if let Some(first) = reports.first() {
        let folder = first.dir.parent().unwrap_or(&first.dir);
        out.push_str(&format!(
            "tables: {}/<experiment>/<table>/part-*.parquet\n",
            folder.display()
        ));
    }
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
                format_count(e.run_count() as u128)
            )
        })
        .collect())
}

/// Creates every experiment's folder under `out` and checks that files can be written
/// there, before anything trains: an output folder that cannot be created or written is
/// input to fix, told once, not a failure found after the first batch has trained.
///
/// # Errors
/// [`BadInput`] naming the folder and the system's reason.
pub fn prepare_output(out: &Path, experiments: &[Experiment]) -> Result<(), BadInput> {
    if out.exists() && !out.is_dir() {
        return Err(bad_path(out, "the output must be a folder"));
    }
    for experiment in experiments {
        let dir = out.join(&experiment.name);
        std::fs::create_dir_all(&dir).map_err(|e| {
            BadInput::one(format!(
                "{}: cannot create the output folder: {e}",
                dir.display()
            ))
        })?;
        // A hidden name, which readers of the tables never take for a part.
        let probe = dir.join(format!(".write-check-{}", std::process::id()));
        let written = std::fs::write(&probe, b"");
        let _ = std::fs::remove_file(&probe);
        written.map_err(|e| {
            BadInput::one(format!(
                "{}: cannot write into the output folder: {e}",
                dir.display()
            ))
        })?;
    }
    Ok(())
}

/// A bad-input error about one path, for the binary's own checks.
pub fn bad_path(path: &Path, message: &str) -> BadInput {
    BadInput::one(format!("{}: {message}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_largest_run_is_the_largest_pending_one() {
        let text = "name = \"m\"\nseeds = { count = 3 }\n[model]\nhidden = [300]\nactivation = \"tanh\"\n[sweep]\n\"train.epochs\" = [1, 50]\n";
        let e = vanishing_config::parse("m.toml", text, vanishing_config::Limits::NONE).unwrap();
        let plan = |pending: Vec<usize>| sweep::ExperimentPlan {
            dir: PathBuf::new(),
            keys: Vec::new(),
            mine: (0..6).collect(),
            pending,
        };
        let memory = |i: usize| e.configuration_of(i).spec.estimated_memory().total();
        assert!(memory(3) > memory(0), "50 epochs keep more records than 1");
        let largest = |pending| largest_run(std::slice::from_ref(&e), &[plan(pending)]);
        assert!((largest(vec![0, 1, 4]) - memory(4)).abs() < 1e-6);
        assert!(
            (largest(vec![0, 2]) - memory(0)).abs() < 1e-6,
            "stored runs do not count"
        );
    }

    #[test]
    fn runs_in_flight_are_cut_to_what_memory_holds() {
        let run = 1e6;
        let fit = |available| fit_in_memory(run, (2, 8), available);
        assert_eq!(fit(None), (2, 8), "unknown memory: as asked");
        assert_eq!(fit(Some(16.0 * run)), (2, 8));
        assert_eq!(fit(Some(15.0 * run)), (1, 8), "one thread of eight lanes");
        assert_eq!(fit(Some(7.0 * run)), (2, 1), "two threads of runs alone");
        assert_eq!(fit(Some(1.5 * run)), (1, 1));
        assert_eq!(fit(Some(0.5 * run)), (1, 1), "never fewer than one");
    }
}
