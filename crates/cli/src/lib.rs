//! The `vanishing` command line: experiment files in, Parquet tables out.
//!
//! [`runner::collect_files`] finds the experiment files, and [`runner::load_all`] reads
//! each and hands its text to [`vanishing_config::parse`] with this machine's available
//! memory as the [`vanishing_config::Limits`], validating all of them (every refusal a
//! [`vanishing_config::ConfigError`] with file, line, column and key) before anything
//! trains; then
//! [`runner::run_all`] plans the sweep against what the output folder already stores
//! ([`sweep::plan`]: this [`sweep::Shard`]'s runs, minus those stored, grouped into
//! [`sweep::Batch`]es) under a shared lock of each experiment's folder, trains the rest
//! on worker threads that write each batch as one
//! part of every table through the analysis crate as soon as it is complete, removes
//! what an edited file no longer defines, and returns per-configuration summaries;
//! [`sweep::status`] tells what is done and missing. This
//! crate holds no numerics; it is the only one that reads experiment files from disk or
//! the environment.

mod input;
pub mod keras;
pub mod runner;
pub mod sweep;
pub mod table_data;
mod workers;
