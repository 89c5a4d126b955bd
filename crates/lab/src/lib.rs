//! The lab: experiment text in, the tables' rows out, for the report's page.
//!
//! [`plan`] reads an experiment file's text with the same parser as `vanishing run`
//! (`vanishing_config::parse`) and answers with a [`Plan`] (how many runs, roughly how
//! long) or the parser's own [`vanishing_config::ConfigError`], wrapped in a
//! [`LabError`]; a file too large for a browser to train in seconds is refused with a
//! [`LabError::TooLarge`]. [`run`] then trains every run as the command line does
//! (consecutive seeds of a configuration side by side, through
//! `vanishing_train::train_together`) and streams what it records to an [`Emit`]
//! callback as JSON messages: rows keyed by the Parquet tables' column names, built by
//! the same functions of `vanishing_analysis` that write those tables, so the page holds
//! the very rows `vanishing run` writes for the file (but `wall_ms`). Module `wasm`
//! exports this to JavaScript when compiled for `wasm32`; the message protocol is
//! written down there. No polars, no files, no clock but the one the page lends.

mod json;
mod sink;
#[cfg(target_arch = "wasm32")]
mod wasm;

use std::path::Path;

use vanishing_analysis::{RunMeta, RunResult, experiment_tables};
use vanishing_config::{
    ConfigError, Experiment, Limits, PlannedRun, config_hash, parse, resolved_toml,
};
use vanishing_train::{RunSpec, TrainError, prepare_data, train_together};

use crate::sink::RunSink;

/// `rows` as the JSON array of objects the lab sends (see the `json` module's rules
/// for numbers JSON cannot carry).
#[must_use]
pub fn rows_json<R: vanishing_analysis::Row>(rows: &[R]) -> String {
    let mut out = String::new();
    json::push_rows(&mut out, rows);
    out
}

/// The name experiment text is known by in messages, as a file would be.
pub const SOURCE_NAME: &str = "lab.toml";

/// The most runs the lab trains from one text: a seed list or sweep of this size
/// trains in seconds in a page for the tutorial's networks.
pub const MAX_RUNS: usize = 64;

/// The most training the lab starts, in seconds as `RunSpec::estimated_seconds`
/// estimates it for native code. The page takes about three to three and a half times
/// that estimate (measured: the tutorial's run is estimated at 25 ms and takes 72-89 ms
/// in the page's worker; natively it takes about 9.5 ms, so the estimate is generous).
pub const MAX_ESTIMATED_SECONDS: f64 = 20.0;

/// The most table rows the lab sends from one text (`RunSpec::estimated_rows`): every
/// row travels to the page as JSON, so a file recording every step with fine
/// histograms would otherwise send hundreds of megabytes for seconds of training.
pub const MAX_ROWS: usize = 2_000_000;

/// Memory the lab lets each run of a text take (a page's WebAssembly memory is at most
/// 4 GiB, and a browser tab gets less).
pub const MEMORY_LIMIT: f64 = 1024.0 * 1024.0 * 1024.0;

/// The lab's answer about a text before training: what it will train.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    /// The validated experiment.
    pub experiment: Experiment,
    /// Estimated seconds of native training, summed over the runs.
    pub estimated_seconds: f64,
    /// Estimated table rows, summed over the runs.
    pub estimated_rows: usize,
}

impl Plan {
    /// The plan as a JSON object: the experiment's name, its runs' count, labels and
    /// seeds, its configurations' count and the estimate.
    #[must_use]
    pub fn to_json(&self) -> String {
        let e = &self.experiment;
        let mut out = String::from("{\"type\":\"plan\",\"experiment\":");
        json::push_str(&mut out, &e.name);
        out.push_str(",\"description\":");
        json::push_str(&mut out, &e.description);
        out.push_str(&format!(
            ",\"runs\":{},\"configurations\":{},\"estimated_rows\":{},\"estimated_seconds\":",
            e.run_count(),
            e.configurations.len(),
            self.estimated_rows
        ));
        json::push_f64(&mut out, self.estimated_seconds);
        out.push_str(",\"run_ids\":[");
        for (i, r) in e.runs().enumerate() {
            if i > 0 {
                out.push(',');
            }
            json::push_str(&mut out, &format!("{}/s{}", r.label, r.spec.seed));
        }
        out.push_str("]}");
        out
    }
}

/// Why the lab will not train a text.
#[derive(Debug, thiserror::Error)]
pub enum LabError {
    /// The text is not a valid experiment file: the command line's own refusal.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The text is valid but asks for more than a page should train.
    #[error(
        "{SOURCE_NAME}: this file defines {runs} runs, about {seconds:.1} s of training \
         and {rows} table rows; the lab trains at most {MAX_RUNS} runs, \
         {MAX_ESTIMATED_SECONDS} s and {MAX_ROWS} rows at once (fewer seeds, epochs, \
         points or records; `vanishing run` trains any size)"
    )]
    TooLarge {
        /// Runs the file defines.
        runs: usize,
        /// Their estimated native training time.
        seconds: f64,
        /// The table rows they would record.
        rows: usize,
    },
    /// Training refused a run's spec (the parser's checks should have caught it).
    #[error("{SOURCE_NAME}: {0}")]
    Train(#[from] TrainError),
}

impl LabError {
    /// The error as a JSON object: its whole message, and where the parser found the
    /// problem (line, column, key), when it did.
    #[must_use]
    pub fn to_json(&self) -> String {
        let mut out = String::from("{\"type\":\"error\",\"message\":");
        json::push_str(&mut out, &self.to_string());
        if let Self::Config(e) = self {
            if let Some((line, column)) = e.position {
                out.push_str(&format!(",\"line\":{line},\"column\":{column}"));
            }
            if let Some(key) = &e.key {
                out.push_str(",\"key\":");
                json::push_str(&mut out, key);
            }
        }
        out.push('}');
        out
    }
}

/// Receives the lab's messages, each one JSON object (see module `wasm` for their
/// kinds).
pub trait Emit {
    /// Receives one message.
    fn emit(&self, message: &str);
    /// Milliseconds since some fixed moment, for the `wall_ms` column (the whole file's
    /// training, rows streamed included, divided among its runs); the page lends its
    /// clock (`performance.now()`), and WebAssembly has none of its own.
    fn now_ms(&self) -> f64 {
        0.0
    }
}

/// Validates `text` and says what it would train.
///
/// # Errors
/// The parser's [`ConfigError`], or [`LabError::TooLarge`].
pub fn plan(text: &str) -> Result<Plan, LabError> {
    let limits = Limits {
        available_memory: Some(MEMORY_LIMIT),
    };
    let experiment = parse(Path::new(SOURCE_NAME), text, limits)?;
    // The page has no file system: a data file is refused where the file names it.
    if let Some(run) = experiment
        .configurations
        .iter()
        .find(|r| matches!(r.spec.data, vanishing_train::DataSpec::File(_)))
    {
        return Err(LabError::Config(ConfigError {
            file: Path::new(SOURCE_NAME).to_owned(),
            position: run.data_file_at,
            key: Some("data.path".to_owned()),
            message: "the lab has no file system, so it cannot read a data file: \
                      `vanishing run` trains on files of your own"
                .to_owned(),
            hint: Some(
                "here, use kind = \"shapeset\", \"digits\", \"circles\" or \"moons\"".to_owned(),
            ),
        }));
    }
    let runs = experiment.run_count();
    let spec = |i: usize| &experiment.configuration_of(i).spec;
    let estimated_seconds = (0..runs).map(|i| spec(i).estimated_seconds()).sum();
    let estimated_rows = (0..runs)
        .map(|i| spec(i).estimated_rows())
        .fold(0_usize, usize::saturating_add);
    if runs > MAX_RUNS || estimated_seconds > MAX_ESTIMATED_SECONDS || estimated_rows > MAX_ROWS {
        return Err(LabError::TooLarge {
            runs,
            seconds: estimated_seconds,
            rows: estimated_rows,
        });
    }
    Ok(Plan {
        experiment,
        estimated_seconds,
        estimated_rows,
    })
}

/// Trains every run `text` defines, sending the plan, then each run's rows while it
/// trains, then, once every run is done, each run's remaining rows and its summary rows
/// (runs trained side by side finish together), to `emit`.
///
/// # Errors
/// As [`plan`]; nothing is emitted then.
pub fn run(text: &str, emit: &dyn Emit) -> Result<(), LabError> {
    let plan = plan(text)?;
    emit.emit(&plan.to_json());
    let experiment = &plan.experiment;
    // The command line trains a batch's runs in groups of consecutive runs; the lab
    // hands every run to `train_together` at once, which forms the same groups (seeds
    // of one configuration, eight at a time) and so computes the same bits.
    let planned_runs: Vec<PlannedRun> = experiment.runs().collect();
    let specs: Vec<RunSpec> = planned_runs.iter().map(|r| r.spec.clone()).collect();
    let data = specs
        .iter()
        .map(prepare_data)
        .collect::<Result<Vec<_>, _>>()?;
    let mut sinks: Vec<RunSink<'_>> = planned_runs
        .iter()
        .enumerate()
        .map(|(index, planned)| RunSink::new(index, planned, emit))
        .collect();
    let started = emit.now_ms();
    let outcomes = train_together(&specs, &data, &mut sinks)?;
    let wall_ms = (emit.now_ms() - started) / specs.len().max(1) as f64;
    for (((planned, spec), data), (sink, mut outcome)) in planned_runs
        .iter()
        .zip(specs)
        .zip(data)
        .zip(sinks.into_iter().zip(outcomes))
    {
        outcome.wall = std::time::Duration::from_secs_f64(wall_ms.max(0.0) / 1e3);
        let config_toml = resolved_toml(&experiment.name, &planned.label, &spec);
        let hash = config_hash(&config_toml);
        let index = sink.index;
        let result = RunResult {
            meta: RunMeta::vanishing(
                &experiment.name,
                &experiment.description,
                &planned.label,
                config_toml,
                hash,
            ),
            spec,
            outcome,
            history: sink.finish(),
            data,
        };
        let tables = experiment_tables(&experiment.name, std::slice::from_ref(&result));
        let mut out = format!("{{\"type\":\"run\",\"run\":{index},\"runs\":");
        json::push_rows(&mut out, &tables.runs);
        out.push_str(",\"histograms\":");
        json::push_rows(&mut out, &tables.histograms);
        out.push_str(",\"dataset\":");
        json::push_rows(&mut out, &tables.dataset);
        out.push_str(",\"boundary\":");
        json::push_rows(&mut out, &tables.boundary);
        out.push('}');
        emit.emit(&out);
    }
    Ok(())
}
