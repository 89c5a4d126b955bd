//! The `vanishing` command line: experiment files in, Parquet tables out.
//!
//! [`config::load`] reads one TOML file into an [`config::Experiment`]: it checks every
//! key against the schema (reporting file, line, column and key in a
//! [`config::ConfigError`]) and expands `[sweep]` and `seeds` into [`config::PlannedRun`]s
//! of the training crate's `RunSpec`. [`runner::collect_files`] finds the files,
//! [`runner::load_all`] validates all of them before anything trains, and
//! [`runner::run_all`] trains every run in parallel, writes one folder of tables per
//! experiment through the analysis crate, and returns per-configuration summaries. This
//! crate holds no numerics; it is the only one that reads TOML or the environment.

pub mod config;
pub mod keras;
pub mod runner;
