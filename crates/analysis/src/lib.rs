//! The Parquet tables of vanishing, and the queries over them.
//!
//! Runs come in as [`RunResult`]s (a [`RunMeta`] from the caller plus the training
//! crate's spec, outcome, `History` and data) and become rows ([`RunRow`],
//! [`HistoryRow`], [`MetricRow`], [`HistogramRow`], [`PointRow`], [`BoundaryRow`]), then
//! polars frames. Each table of an experiment is a folder of part files: [`write_part`]
//! writes a batch of runs as one part of every table under one [`PartName`], atomically
//! and `runs` last, so that a sweep streams its results while it trains;
//! [`stored_runs`] lists what is stored ([`StoredRun`]s), [`prune`] removes what an
//! experiment no longer defines, and [`write_experiment`] writes a whole experiment at
//! once. [`read_experiment`] and [`read_all`] read each folder of parts back as one table
//! into [`ExperimentTables`], checking every column's presence and type (the `_with`
//! forms read only a [`Selection`], such as the [`Histograms`] at initialization), and
//! [`accuracy_summary`] and [`vanishing_ratios`] answer the questions the report asks,
//! with [`layer_profile`], [`variance_recursion`] and [`config_summaries`] for how the
//! gradient flows (medians over seeds as [`Spread`]s; a [`Flow`] answers them all from
//! one pass over an experiment); [`keras_pairs`] and [`fidelity`] set runs imported from
//! Keras (`framework` = [`KERAS`]) beside vanishing's own and measure their agreement as
//! a [`Fidelity`]. Every failure is an [`AnalysisError`] naming its file. This is the
//! only crate that links polars; a polars `DataFrame` never leaves it, and it renders
//! nothing. Without its default `parquet` feature it is the rows alone: each row type
//! walks its cells by column name ([`Row`], [`Cell`]), [`experiment_tables`] builds an
//! experiment's tables in memory, and the queries work on them, with no polars and no
//! files (the lab in the report builds on that in WebAssembly).

mod error;
mod fidelity;
mod flow;
#[cfg(feature = "parquet")]
mod parts;
#[cfg(feature = "parquet")]
mod read;
#[cfg(feature = "parquet")]
mod schema;
mod summary;
mod tables;
mod write;

pub use error::AnalysisError;
pub use fidelity::{
    ACCURACY_TOLERANCE, AccuracyAgreement, Fidelity, GRADIENT_TOLERANCE, GradientAgreement, KERAS,
    Verdict, fidelity, final_accuracies, initial_gradient_std, is_keras, keras_pairs, median,
    median_interval,
};
pub use flow::{
    ConfigSummary, Flow, LayerPoint, Moment, RecursionStep, Spread, config_summaries,
    layer_profile, variance_recursion,
};
#[cfg(feature = "parquet")]
pub use parts::{
    PartName, Pruned, StoredRun, TABLE_NAMES, WriterTag, prune, stored_runs, write_part,
    write_part_tagged,
};
#[cfg(feature = "parquet")]
pub use read::{
    Histograms, Selection, experiment_dirs, read_all, read_all_with, read_experiment,
    read_experiment_with,
};
#[cfg(feature = "parquet")]
pub use summary::stored_summary;
pub use summary::{
    AccuracySummary, FinalSpread, VanishingRatio, accuracy_summary, vanishing_ratios,
};
pub use tables::{
    BoundaryRow, Cell, ExperimentTables, HistogramRow, HistoryRow, MetricRow, PointRow, Row, RunRow,
};
#[cfg(feature = "parquet")]
pub use write::write_experiment;
pub use write::{
    RunMeta, RunResult, describe_init, describe_optimizer, experiment_tables, history_row,
    metric_row, run_rows,
};

/// The names of each table's columns, in order: the user-facing contract.
pub fn table_columns() -> [(&'static str, &'static [&'static str]); 6] {
    [
        (RunRow::NAME, RunRow::COLUMNS),
        (HistoryRow::NAME, HistoryRow::COLUMNS),
        (MetricRow::NAME, MetricRow::COLUMNS),
        (HistogramRow::NAME, HistogramRow::COLUMNS),
        (PointRow::NAME, PointRow::COLUMNS),
        (BoundaryRow::NAME, BoundaryRow::COLUMNS),
    ]
}
