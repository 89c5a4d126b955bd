//! Helpers shared by the end-to-end tests: running the binary and checking that it
//! succeeded.
#![allow(dead_code)] // Each test file uses its own subset.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Runs the `vanishing` binary with `args`, capturing its output.
pub(crate) fn vanishing(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_vanishing"))
        .args(args)
        .output()
        .expect("the vanishing binary runs")
}

/// Fails with the command's output unless it exited 0.
#[track_caller]
pub(crate) fn assert_success(output: &Output) {
    assert!(
        output.status.success(),
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        output.status.code(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// The part files of one table of one experiment folder, sorted by name.
pub(crate) fn parts(experiment: &Path, table: &str) -> Vec<PathBuf> {
    let mut parts: Vec<PathBuf> = fs::read_dir(experiment.join(table))
        .unwrap_or_else(|e| panic!("{}/{table}: {e}", experiment.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.extension().is_some_and(|x| x == "parquet")
                && !p.file_name().unwrap().to_string_lossy().starts_with('.')
        })
        .collect();
    parts.sort();
    parts
}

/// The first part file of one table of one experiment folder.
#[track_caller]
pub(crate) fn first_part(experiment: &Path, table: &str) -> PathBuf {
    parts(experiment, table)
        .into_iter()
        .next()
        .unwrap_or_else(|| panic!("{}/{table} has no part", experiment.display()))
}

/// The tables with their rows grouped by run in run-id order and the wall times cleared:
/// what two runs of the same sweep must agree on, however their parts were cut.
pub(crate) fn canonical(
    mut tables: vanishing_analysis::ExperimentTables,
) -> vanishing_analysis::ExperimentTables {
    for run in &mut tables.runs {
        run.wall_ms = 0.0;
    }
    tables.runs.sort_by(|a, b| a.run_id.cmp(&b.run_id));
    tables.history.sort_by(|a, b| a.run_id.cmp(&b.run_id));
    tables.metrics.sort_by(|a, b| a.run_id.cmp(&b.run_id));
    tables.histograms.sort_by(|a, b| a.run_id.cmp(&b.run_id));
    tables.dataset.sort_by(|a, b| a.run_id.cmp(&b.run_id));
    tables.boundary.sort_by(|a, b| a.run_id.cmp(&b.run_id));
    tables
}

/// Every file under `dir` with its contents, to show that nothing changed.
pub(crate) fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut files = BTreeMap::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        for entry in fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                files.insert(path.clone(), fs::read(&path).unwrap());
            }
        }
    }
    files
}
