//! Experiment files of vanishing: the text of one TOML file in, the runs it defines out.
//!
//! [`parse`] reads the text into a tree that keeps every value's position, walks it
//! against the schema (Keras' and scikit-learn's defaults), and expands `[sweep]` and
//! `seeds` into an [`Experiment`]: its configurations and seeds, from which
//! [`Experiment::run`] makes any [`PlannedRun`] (a label and the training crate's
//! `RunSpec`) on demand, so that a sweep of a million runs takes the memory of its
//! configurations. Anything refused is one [`ConfigError`] naming the file, line,
//! column and dotted key, what was expected and, for a near name, a "did you mean"; the
//! network's rules are the core's own, reported at the key that asked for the refused
//! part. Before expanding, the run count is checked against [`MAX_RUNS`], and each
//! configuration's estimated memory against [`Limits`], plain data the caller measures.
//! [`resolved_toml`] writes a run's complete configuration, which parses again as the
//! same run, and [`config_hash`] names a run by it ([`SeedHasher`] gives every seed's
//! hash of one configuration at the cost of one text). The crate reads no file, environment,
//! clock or terminal, so that the command line and a WebAssembly module accept exactly
//! the same texts with the same messages.

mod doc;
mod experiment;
mod preflight;
mod resolved;
mod schema;

pub use crate::{
    doc::ConfigError,
    experiment::{Experiment, PlannedRun, parse},
    preflight::{Limits, MAX_RUNS, format_bytes, format_count, format_duration},
    resolved::{SeedHasher, config_hash, resolved_toml},
};
