//! The `vanishing` command line: experiment files in, Parquet tables out.
//!
//! [`config::load`] reads one TOML file into an [`config::Experiment`]: it checks every
//! key against the schema (reporting file, line, column and key in a
//! [`config::ConfigError`]) and expands `[sweep]` and `seeds` into [`config::PlannedRun`]s
//! of the training crate's `RunSpec`, refusing within [`config::Limits`] (at most
//! [`config::MAX_RUNS`] runs, counted before expansion; no run beyond the machine's
//! memory) what could not run. [`runner::collect_files`] finds the files,
//! [`runner::load_all`] validates all of them before anything trains, and
//! [`runner::run_all`] plans the sweep against what the output folder already stores
//! ([`sweep::plan`]: this [`sweep::Shard`]'s runs, minus those stored, grouped into
//! [`sweep::Batch`]es) under a shared lock of each experiment's folder, trains the rest
//! on worker threads that write each batch as one
//! part of every table through the analysis crate as soon as it is complete, removes
//! what an edited file no longer defines, and returns per-configuration summaries;
//! [`sweep::status`] tells what is done and missing. This
//! crate holds no numerics; it is the only one that reads TOML or the environment.

pub mod config;
pub mod keras;
pub mod runner;
pub mod sweep;
mod workers;
