//! End to end: experiment files through the `vanishing` binary into Parquet tables, read
//! back with the analysis crate's typed readers.

use std::fs;
use std::path::Path;

use vanishing_analysis::{ExperimentTables, read_all, read_experiment, table_columns};

mod support;

use support::{assert_success, vanishing};

/// The tutorial's deep tanh network on 200 points, 100 epochs, several seeds and a
/// sweep, so that two threads have work to share.
const TUTORIAL: &str = r#"
name = "tutorial-small"
description = "The tutorial's deep network on fewer points."
seeds = { count = 3, start = 7 }

[data]
kind = "circles"
n_samples = 200
factor = 0.5
noise = 0.1

[model]
hidden = [5, 5, 5, 5]
activation = "tanh"
init = { kind = "normal", mean = 0.0, std = 1.0 }

[optimizer]
kind = "rmsprop"

[train]
epochs = 100
batch_size = 32

[record]
every = "epoch"
histogram_bins = 10

[sweep]
"model.activation" = ["tanh", "sigmoid"]
"#;

const EVERY_STEP: &str = r#"
name = "every-step"
[data]
n_samples = 100
[model]
hidden = [3, 3]
activation = "relu"
[optimizer]
kind = "sgd"
learning_rate = 0.1
[train]
epochs = 4
batch_size = 16
[record]
every = "step"
"#;

fn write_experiments(dir: &Path) {
    fs::create_dir_all(dir).unwrap();
    fs::write(dir.join("tutorial.toml"), TUTORIAL).unwrap();
    fs::write(dir.join("every-step.toml"), EVERY_STEP).unwrap();
}

/// Rows of a table with the one column that measures time blanked.
fn without_timing(mut tables: ExperimentTables) -> ExperimentTables {
    for run in &mut tables.runs {
        run.wall_ms = 0.0;
    }
    tables
}

#[test]
fn run_writes_every_table_with_the_documented_schema_and_counts() {
    let tmp = tempfile::tempdir().unwrap();
    let experiments = tmp.path().join("experiments");
    write_experiments(&experiments);
    let out = tmp.path().join("data");
    let output = vanishing(&[
        "run",
        experiments.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--quiet",
    ]);
    assert_success(&output);
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert!(
        stdout.contains("tutorial-small") && stdout.contains("activation=sigmoid"),
        "{stdout}"
    );
    assert!(stdout.contains("7 runs of 2 experiments"), "{stdout}");

    // Every table exists and opens; the readers check each column's name and type.
    let all = read_all(&out).unwrap();
    assert_eq!(
        all.iter().map(|t| t.name.as_str()).collect::<Vec<_>>(),
        ["every-step", "tutorial-small"]
    );
    for (table, _) in table_columns() {
        assert!(
            !support::parts(&out.join("tutorial-small"), table).is_empty(),
            "{table}"
        );
    }

    let tutorial = &all[1];
    assert_eq!(tutorial.runs.len(), 6);
    let labels: Vec<&str> = tutorial.runs.iter().map(|r| r.label.as_str()).collect();
    assert_eq!(
        labels,
        ["activation=tanh"; 3]
            .into_iter()
            .chain(["activation=sigmoid"; 3])
            .collect::<Vec<_>>()
    );
    for run in &tutorial.runs {
        // 100 epochs with the tutorial's policy: 101 weight records and 101 gradient
        // records per layer (before training, after each epoch; first minibatch of
        // each epoch plus a final one).
        for layer in 1..=5 {
            for quantity in [
                "weight",
                "weight_grad",
                "bias",
                "bias_grad",
                "activation",
                "preact_grad",
                "slope",
                "update",
            ] {
                let n = tutorial
                    .history
                    .iter()
                    .filter(|h| {
                        h.run_id == run.run_id && h.layer == layer && h.quantity == quantity
                    })
                    .count();
                // No step follows the final record, so it has no update.
                let expected = if quantity == "update" { 100 } else { 101 };
                assert_eq!(n, expected, "{} layer {layer} {quantity}", run.run_id);
            }
        }
        let metrics: Vec<_> = tutorial
            .metrics
            .iter()
            .filter(|m| m.run_id == run.run_id)
            .collect();
        assert_eq!(metrics.len(), 101);
        assert_eq!(run.steps, 700);
        assert!(!run.diverged);
        assert!(
            run.config_toml.contains(&format!("seed = {}", run.seed)),
            "{}",
            run.config_toml
        );
        assert_eq!(run.config_hash.len(), 16);
        assert_eq!(
            tutorial
                .dataset
                .iter()
                .filter(|p| p.run_id == run.run_id)
                .count(),
            200
        );
    }
    // With 10 bins: activations on 10 linear bins over [-1, 1], 2 a decade for 3
    // decades on either side and 2 overflow bins (24); everything else on 2 bins a
    // decade for 15 decades on either side, a central bin and 2 overflow bins (63).
    let per_layer = 101 * 24 + (101 * 6 + 100) * 63;
    assert_eq!(tutorial.histograms.len(), 6 * 5 * per_layer);
    for h in &tutorial.histograms {
        assert!(h.bin_lo < h.bin_hi, "{h:?}");
    }

    // tanh learns: its training loss falls by more than half in every seed.
    for run in tutorial
        .runs
        .iter()
        .filter(|r| r.label == "activation=tanh")
    {
        let losses: Vec<f64> = tutorial
            .metrics
            .iter()
            .filter(|m| m.run_id == run.run_id && m.split == "train")
            .map(|m| m.loss)
            .collect();
        assert!(
            losses[100] < 0.5 * losses[0],
            "{}: {} -> {}",
            run.run_id,
            losses[0],
            losses[100]
        );
    }

    // Every step: 4 epochs of 7 steps, 28 records plus the final one.
    let every_step = &all[0];
    assert_eq!(every_step.runs[0].label, "every-step");
    let weights = every_step
        .history
        .iter()
        .filter(|h| h.layer == 1 && h.quantity == "weight")
        .count();
    assert_eq!(weights, 29);
    assert!(every_step.histograms.is_empty());
}

#[test]
fn thread_count_does_not_change_the_tables() {
    let tmp = tempfile::tempdir().unwrap();
    let experiments = tmp.path().join("experiments");
    write_experiments(&experiments);
    let mut tables = Vec::new();
    for jobs in ["1", "2"] {
        let out = tmp.path().join(format!("data-{jobs}"));
        let output = vanishing(&[
            "run",
            experiments.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "--jobs",
            jobs,
            "--quiet",
        ]);
        assert_success(&output);
        tables.push(without_timing(
            read_experiment(&out.join("tutorial-small")).unwrap(),
        ));
    }
    assert_eq!(tables[0], tables[1]);
}

#[test]
fn validate_checks_without_writing() {
    let tmp = tempfile::tempdir().unwrap();
    let experiments = tmp.path().join("experiments");
    write_experiments(&experiments);
    let output = vanishing(&["validate", experiments.to_str().unwrap()]);
    assert_success(&output);
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert!(
        stdout.contains("tutorial-small") && stdout.contains("6 runs"),
        "{stdout}"
    );
    assert!(!tmp.path().join("data").exists());
}

#[test]
fn the_shipped_experiments_are_valid() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../experiments");
    let output = vanishing(&["validate", root.to_str().unwrap()]);
    assert_success(&output);
}
