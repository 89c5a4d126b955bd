//! Planning a sweep over what is already stored: which runs this process owns (its
//! [`Shard`]), which of them are done, and how the rest are grouped into parts.
//!
//! A run is identified by its `config_hash` and seed. The runs of every experiment,
//! concatenated in file order, are dealt to shards round-robin by position, so that N
//! shards, each started with only its index and N, take disjoint shares that together are
//! the whole sweep, and differ in size by at most one run. Within a shard, an
//! experiment's runs not yet stored are grouped into [`Batch`]es of consecutive runs,
//! each written as one part once all of its runs have trained; the grouping depends only
//! on the plan, so the same command writes the same parts whatever the thread count.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use vanishing_analysis::{AnalysisError, StoredRun, stored_runs};
use vanishing_config::{Experiment, SeedHasher};

use crate::runner::BadInput;

/// A part holds at most about this many table rows, so that a batch waiting for its last
/// run and a part being written stay small (29 runs of the tutorial network).
pub const ROWS_PER_PART: usize = 200_000;

/// A part holds at most this many runs, however small.
pub const RUNS_PER_PART: usize = 256;

/// Which share of the runs this process trains: those whose position `g` in the
/// concatenated expansion has `g % count == index`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    /// This shard's index, from 0.
    pub index: usize,
    /// The number of shards.
    pub count: usize,
}

impl Shard {
    /// The whole sweep, in one process.
    pub const WHOLE: Self = Self { index: 0, count: 1 };

    /// Parses `I/N` (I from 0), or `slurm` for the index and count of a SLURM job array
    /// read through `var` (`SLURM_ARRAY_TASK_ID` minus `SLURM_ARRAY_TASK_MIN`, and
    /// `SLURM_ARRAY_TASK_COUNT`).
    ///
    /// # Errors
    /// [`BadInput`] naming `--shard` and what was expected.
    pub fn parse(text: &str, var: impl Fn(&str) -> Option<String>) -> Result<Self, BadInput> {
        let refuse = |message: String| BadInput {
            problems: vec![format!("--shard {text}: {message}")],
        };
        if text == "slurm" {
            let read = |name: &str| -> Result<Option<usize>, BadInput> {
                match var(name) {
                    None => Ok(None),
                    Some(value) => value.trim().parse().map(Some).map_err(|_| {
                        refuse(format!("{name} is \"{value}\", expected a whole number"))
                    }),
                }
            };
            let (Some(id), Some(count)) = (
                read("SLURM_ARRAY_TASK_ID")?,
                read("SLURM_ARRAY_TASK_COUNT")?,
            ) else {
                return Err(refuse(
                    "SLURM_ARRAY_TASK_ID and SLURM_ARRAY_TASK_COUNT are not set; run it as a \
                     task of a job array (sbatch --array=0-<N-1>)"
                        .to_owned(),
                ));
            };
            let min = read("SLURM_ARRAY_TASK_MIN")?.unwrap_or(0);
            let index = id.checked_sub(min).ok_or_else(|| {
                refuse(format!(
                    "SLURM_ARRAY_TASK_ID {id} is below SLURM_ARRAY_TASK_MIN {min}"
                ))
            })?;
            return Self::new(index, count).map_err(refuse);
        }
        let Some((i, n)) = text.split_once('/') else {
            return Err(refuse(
                "expected I/N (shard I of N, I from 0), or slurm".to_owned(),
            ));
        };
        let number = |part: &str, what: &str| {
            part.trim()
                .parse::<usize>()
                .map_err(|_| refuse(format!("{what} \"{part}\" is not a whole number")))
        };
        Self::new(number(i, "the index")?, number(n, "the count")?).map_err(refuse)
    }

    fn new(index: usize, count: usize) -> Result<Self, String> {
        if count == 0 {
            Err("the number of shards must be at least 1".to_owned())
        } else if index >= count {
            Err(format!(
                "the index must be below the number of shards (0 to {})",
                count - 1
            ))
        } else {
            Ok(Self { index, count })
        }
    }

    /// Whether the run at position `g` of the concatenated expansion is this shard's.
    pub fn takes(self, g: usize) -> bool {
        g % self.count == self.index
    }

    /// Whether this is the whole sweep.
    pub fn is_whole(self) -> bool {
        self.count == 1
    }
}

impl std::fmt::Display for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// A run's identity in the tables: its `config_hash` and seed.
pub type RunKey = (String, u64);

/// The key of every run of `experiment`, in expansion order: one resolved text per
/// configuration, not per run.
pub fn run_keys(experiment: &Experiment) -> Vec<RunKey> {
    let mut keys = Vec::with_capacity(experiment.run_count());
    for configuration in &experiment.configurations {
        let hasher = SeedHasher::new(&experiment.name, &configuration.label, &configuration.spec);
        keys.extend(
            experiment
                .seeds
                .iter()
                .map(|&seed| (hasher.hash(seed), seed)),
        );
    }
    keys
}

/// Runs of one experiment trained together and written as one part.
#[derive(Debug, Clone)]
pub struct Batch {
    /// The experiment, by position in the plan.
    pub experiment: usize,
    /// The runs, by position in the experiment's expansion.
    pub runs: Vec<usize>,
}

/// One experiment's share of the sweep.
#[derive(Debug)]
pub struct ExperimentPlan {
    /// Its tables' folder.
    pub dir: PathBuf,
    /// The key of every run the file defines, in expansion order.
    pub keys: Vec<RunKey>,
    /// This shard's runs, by position in the expansion.
    pub mine: Vec<usize>,
    /// This shard's runs to train, by position in the expansion.
    pub pending: Vec<usize>,
}

/// The version of vanishing whose stored runs count as done; runs written by another
/// version are trained again, and then removed as stale.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

impl ExperimentPlan {
    /// Whether a stored run is one the file defines, written by this version: a current
    /// run, which resuming skips and pruning keeps.
    pub fn current(&self) -> impl Fn(&StoredRun) -> bool + '_ {
        let defined: HashSet<(&str, u64)> =
            self.keys.iter().map(|(h, s)| (h.as_str(), *s)).collect();
        move |run| {
            run.crate_version == VERSION && defined.contains(&(run.config_hash.as_str(), run.seed))
        }
    }

    /// How many of the file's runs are among the current runs of `stored`.
    pub fn done(&self, stored: &[StoredRun]) -> usize {
        let current = self.current();
        stored.iter().filter(|r| current(r)).count()
    }

    /// How many of this shard's runs were already stored when the plan was made.
    pub fn skipped(&self) -> usize {
        self.mine.len() - self.pending.len()
    }

    /// Whether every run the file defines is among the current runs of `stored`.
    pub fn complete(&self, stored: &[StoredRun]) -> bool {
        self.done(stored) == self.keys.len()
    }

    /// This shard's current runs among `stored`, in their stored order.
    pub fn my_runs(&self, stored: Vec<StoredRun>) -> Vec<StoredRun> {
        let mine: HashSet<(&str, u64)> = self
            .mine
            .iter()
            .map(|&i| (self.keys[i].0.as_str(), self.keys[i].1))
            .collect();
        let current = self.current();
        stored
            .into_iter()
            .filter(|r| current(r) && mine.contains(&(r.config_hash.as_str(), r.seed)))
            .collect()
    }
}

/// Plans every experiment for `shard` against what `out` already stores.
///
/// # Errors
/// [`AnalysisError`] naming a stored `runs` part that cannot be read.
pub fn plan(
    experiments: &[Experiment],
    out: &Path,
    shard: Shard,
) -> Result<Vec<ExperimentPlan>, AnalysisError> {
    let mut position = 0;
    let mut plans = Vec::with_capacity(experiments.len());
    for experiment in experiments {
        let dir = out.join(&experiment.name);
        let keys = run_keys(experiment);
        let mine: Vec<usize> = (0..keys.len())
            .filter(|i| shard.takes(position + i))
            .collect();
        position += keys.len();
        let stored: HashSet<RunKey> = stored_runs(&dir)?
            .into_iter()
            .filter(|r| r.crate_version == VERSION)
            .map(|r| (r.config_hash, r.seed))
            .collect();
        let pending: Vec<usize> = mine
            .iter()
            .copied()
            .filter(|&i| !stored.contains(&keys[i]))
            .collect();
        plans.push(ExperimentPlan {
            dir,
            keys,
            mine,
            pending,
        });
    }
    Ok(plans)
}

/// Groups each experiment's pending runs into batches of consecutive runs of at most
/// [`ROWS_PER_PART`] estimated rows (a run larger than that alone) and [`RUNS_PER_PART`]
/// runs, in plan order.
pub fn batches(experiments: &[Experiment], plans: &[ExperimentPlan]) -> Vec<Batch> {
    let mut batches = Vec::new();
    for (e, plan) in plans.iter().enumerate() {
        let mut current = Batch {
            experiment: e,
            runs: Vec::new(),
        };
        let mut rows = 0;
        for &i in &plan.pending {
            let size = experiments[e].configuration_of(i).spec.estimated_rows();
            if !current.runs.is_empty()
                && (rows + size > ROWS_PER_PART || current.runs.len() == RUNS_PER_PART)
            {
                batches.push(std::mem::replace(
                    &mut current,
                    Batch {
                        experiment: e,
                        runs: Vec::new(),
                    },
                ));
                rows = 0;
            }
            rows += size;
            current.runs.push(i);
        }
        if !current.runs.is_empty() {
            batches.push(current);
        }
    }
    batches
}

/// One experiment's state in the output folder, for `vanishing status`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Status {
    /// The experiment's name.
    pub name: String,
    /// Runs the file defines (for the shard asked about).
    pub defined: usize,
    /// Of those, runs stored.
    pub done: usize,
    /// Stored runs that the file no longer defines, or that another version of vanishing
    /// wrote (removed when the experiment next completes).
    pub stale: usize,
}

/// The state of every experiment's runs in `out`, for `shard`.
///
/// # Errors
/// [`AnalysisError`] naming a stored `runs` part that cannot be read.
pub fn status(
    experiments: &[Experiment],
    out: &Path,
    shard: Shard,
) -> Result<Vec<Status>, AnalysisError> {
    let plans = plan(experiments, out, shard)?;
    let mut statuses = Vec::with_capacity(plans.len());
    for (experiment, plan) in experiments.iter().zip(&plans) {
        let stored = stored_runs(&plan.dir)?;
        let stale = stored.len() - plan.done(&stored);
        statuses.push(Status {
            name: experiment.name.clone(),
            defined: plan.mine.len(),
            done: plan.skipped(),
            stale: if shard.is_whole() { stale } else { 0 },
        });
    }
    Ok(statuses)
}

/// The table `vanishing status` prints.
pub fn format_status(statuses: &[Status], out: &Path, shard: Shard) -> String {
    let mut text = String::new();
    if !shard.is_whole() {
        text.push_str(&format!("shard {shard}\n"));
    }
    let width = statuses
        .iter()
        .map(|s| s.name.chars().count())
        .max()
        .unwrap_or(0)
        .max("experiment".len());
    text.push_str(&format!(
        "{:width$}  {:>7}  {:>7}  {:>7}  {:>5}\n",
        "experiment", "defined", "done", "missing", "stale"
    ));
    for s in statuses {
        text.push_str(&format!(
            "{:width$}  {:>7}  {:>7}  {:>7}  {:>5}\n",
            s.name,
            s.defined,
            s.done,
            s.defined - s.done,
            s.stale
        ));
    }
    let (defined, done): (usize, usize) = statuses
        .iter()
        .fold((0, 0), |(d, k), s| (d + s.defined, k + s.done));
    text.push_str(&format!(
        "{done} of {defined} runs done, {} missing, in {}\n",
        defined - done,
        out.display()
    ));
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let pairs: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        move |name| {
            pairs
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        }
    }

    #[test]
    fn shards_parse_from_text_and_from_slurm() {
        let none = env(&[]);
        assert_eq!(
            Shard::parse("2/5", &none).unwrap(),
            Shard { index: 2, count: 5 }
        );
        assert_eq!(Shard::parse("0/1", &none).unwrap(), Shard::WHOLE);
        let slurm = env(&[
            ("SLURM_ARRAY_TASK_ID", "7"),
            ("SLURM_ARRAY_TASK_MIN", "4"),
            ("SLURM_ARRAY_TASK_COUNT", "6"),
        ]);
        assert_eq!(
            Shard::parse("slurm", &slurm).unwrap(),
            Shard { index: 3, count: 6 }
        );
        for (text, expected) in [
            ("5/5", "below the number of shards (0 to 4)"),
            ("0/0", "at least 1"),
            ("a/2", "the index \"a\" is not a whole number"),
            ("3", "expected I/N"),
            (
                "slurm",
                "SLURM_ARRAY_TASK_ID and SLURM_ARRAY_TASK_COUNT are not set",
            ),
        ] {
            let err = Shard::parse(text, &none).unwrap_err().to_string();
            assert!(
                err.starts_with(&format!("--shard {text}: ")) && err.contains(expected),
                "{text}: {err}"
            );
        }
    }

    #[test]
    fn only_defined_runs_of_this_version_are_current() {
        let plan = ExperimentPlan {
            dir: PathBuf::new(),
            keys: vec![
                ("aa".to_owned(), 0),
                ("aa".to_owned(), 1),
                ("bb".to_owned(), 0),
            ],
            mine: vec![0, 2],
            pending: Vec::new(),
        };
        let stored = |hash: &str, seed, version: &str| StoredRun {
            run_id: format!("{hash}/s{seed}"),
            label: hash.to_owned(),
            config_hash: hash.to_owned(),
            seed,
            final_accuracy: 1.0,
            final_loss: 0.0,
            diverged: false,
            crate_version: version.to_owned(),
            part: vanishing_analysis::PartName::from_keys(0, []),
        };
        let runs = vec![
            stored("aa", 0, VERSION),
            stored("aa", 1, "0.0.0-older"),
            stored("bb", 0, VERSION),
            stored("cc", 0, VERSION),
        ];
        let current = plan.current();
        let flags: Vec<bool> = runs.iter().map(&current).collect();
        assert_eq!(flags, [true, false, true, false]);
        assert_eq!(plan.done(&runs), 2);
        assert!(!plan.complete(&runs), "seed 1 of aa is another version's");
        let mine: Vec<String> = plan.my_runs(runs).into_iter().map(|r| r.run_id).collect();
        assert_eq!(mine, ["aa/s0", "bb/s0"]);
    }

    #[test]
    fn shards_deal_positions_round_robin_into_a_partition() {
        let shards: Vec<Shard> = (0..3).map(|index| Shard { index, count: 3 }).collect();
        for g in 0..10 {
            let owners: Vec<usize> = shards
                .iter()
                .filter(|s| s.takes(g))
                .map(|s| s.index)
                .collect();
            assert_eq!(owners, [g % 3]);
        }
        let sizes: Vec<usize> = shards
            .iter()
            .map(|s| (0..10).filter(|&g| s.takes(g)).count())
            .collect();
        assert_eq!(sizes, [4, 3, 3]);
    }
}
