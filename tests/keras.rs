//! End to end: the Rust side of the Keras comparison. The run plan handed to the
//! harness, the import of the harness' run files into the project's tables, and the
//! report and agreement table built from both frameworks' runs.
//!
//! The run files under `tests/data/keras/runs/` were written by `keras/harness.py` (with
//! the versions in `keras/requirements.txt`) from the plan of `tests/data/keras/tiny.toml`;
//! CI does not run Keras, so they stand in for its output here.

use std::fs;
use std::path::{Path, PathBuf};

use vanishing_analysis::{KERAS, read_experiment};

mod support;

use support::{assert_success, vanishing};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/data/keras")
}

fn arg(path: &Path) -> &str {
    path.to_str().expect("test paths are UTF-8")
}

fn plan(seeds: Option<&str>) -> Vec<serde_json::Value> {
    let toml = fixtures().join("tiny.toml");
    let mut args = vec!["keras", "plan", arg(&toml)];
    if let Some(n) = seeds {
        args.extend(["--seeds", n]);
    }
    let output = vanishing(&args);
    assert_success(&output);
    serde_json::from_slice(&output.stdout).expect("the plan is JSON")
}

fn run_file(n: usize) -> serde_json::Value {
    let path = fixtures().join(format!("runs/tiny/run-{n:06}.json"));
    serde_json::from_str(&fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn plan_lists_every_run_with_its_resolved_configuration() {
    let items = plan(Some("3"));
    let ids: Vec<&str> = items
        .iter()
        .map(|i| i["run_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["tiny/s0", "tiny/s1", "tiny/s2"]);
    let config = items[2]["config_toml"].as_str().unwrap();
    assert!(config.contains("seed = 2\n"), "{config}");
    assert!(config.contains("variant = \"keras3\""), "{config}");
    assert_eq!(items[0]["experiment"], "tiny");
    assert!(
        items[0]["description"]
            .as_str()
            .unwrap()
            .starts_with("A network")
    );
}

#[test]
fn the_fixture_was_made_from_the_current_plan() {
    // If the resolved configuration's format changes, the import refuses old run files;
    // regenerate them with the harness (see this file's header).
    for (n, item) in plan(None).iter().enumerate() {
        assert_eq!(run_file(n)["config_toml"], item["config_toml"], "run {n}");
    }
}

/// Trains the fixture's experiment with vanishing into `data`.
fn run_tiny(data: &Path) {
    let toml = fixtures().join("tiny.toml");
    assert_success(&vanishing(&["run", "-q", "--out", arg(data), arg(&toml)]));
}

/// Population standard deviation, as numpy's default.
fn std(values: &[f64]) -> f64 {
    let mean = values.iter().sum::<f64>() / values.len() as f64;
    (values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / values.len() as f64).sqrt()
}

#[test]
fn import_writes_keras_runs_in_the_project_schema() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("keras");
    let output = vanishing(&[
        "keras",
        "import",
        arg(&fixtures().join("runs")),
        "--out",
        arg(&out),
    ]);
    assert_success(&output);
    assert!(String::from_utf8_lossy(&output.stdout).contains("tiny: 2 runs"));

    let tables = read_experiment(&out.join("tiny")).unwrap();
    assert_eq!(tables.runs.len(), 2);
    let run = &tables.runs[0];
    assert_eq!(
        (run.framework.as_str(), run.run_id.as_str()),
        (KERAS, "tiny/s0")
    );
    assert!(
        run.framework_version.contains("tensorflow 2."),
        "{}",
        run.framework_version
    );
    assert_eq!(run.optimizer, "rmsprop(keras3)");
    let raw = run_file(0);
    assert!((run.final_accuracy - raw["final_accuracy"].as_f64().unwrap()).abs() < 1e-12);

    // Statistics are computed on import, from the raw tensors the harness recorded.
    let recorded = raw["layers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["step"] == 0 && t["layer"] == 1 && t["quantity"] == "weight_grad")
        .unwrap();
    let values: Vec<f64> = recorded["values"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    assert_eq!(values.len(), 2 * 3);
    let row = tables
        .history
        .iter()
        .find(|r| {
            r.run_id == "tiny/s0" && r.step == 0 && r.layer == 1 && r.quantity == "weight_grad"
        })
        .unwrap();
    assert!(
        (row.std - std(&values)).abs() < 1e-15,
        "{} vs {}",
        row.std,
        std(&values)
    );
    assert_eq!(row.layer_name, "hidden1");
    // 40 points, a quarter held out; 2 epochs of 30 rows in batches of 8: 3 records (two
    // epoch openings and the final one) of 4 quantities in 2 layers per run.
    let points = |split: &str| {
        tables
            .dataset
            .iter()
            .filter(|p| p.run_id == "tiny/s0" && p.split == split)
            .count()
    };
    assert_eq!((points("train"), points("test")), (30, 10));
    let records = tables
        .history
        .iter()
        .filter(|r| r.run_id == "tiny/s0")
        .count();
    assert_eq!(records, 3 * 4 * 2);
    let steps: Vec<i64> = tables
        .history
        .iter()
        .filter(|r| r.run_id == "tiny/s0" && r.layer == 1 && r.quantity == "weight")
        .map(|r| r.step)
        .collect();
    assert_eq!(steps, [0, 4, 8]);
    let metrics = tables
        .metrics
        .iter()
        .filter(|m| m.run_id == "tiny/s1")
        .count();
    assert_eq!(metrics, 3 * 2, "epochs 0..=2 on the train and test splits");
}

#[test]
fn report_and_comparison_set_keras_beside_vanishing() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let reports = dir.path().join("reports");
    run_tiny(&data);
    assert_success(&vanishing(&[
        "keras",
        "import",
        arg(&fixtures().join("runs")),
        "--out",
        arg(&data.join("keras")),
    ]));

    let compare = vanishing(&["keras", "compare", "--data", arg(&data)]);
    assert_success(&compare);
    let table = String::from_utf8_lossy(&compare.stdout);
    assert!(table.starts_with("## tiny\n"), "{table}");
    for row in ["| tiny | 1 |", "| tiny | 2 |"] {
        assert!(table.contains(row), "no gradient row `{row}` in:\n{table}");
    }
    assert!(table.contains("| 2 / 2 |"), "{table}");
    // The closing count covers every verdict: two layers and one accuracy.
    let counts: Vec<usize> = table
        .lines()
        .last()
        .unwrap()
        .split_whitespace()
        .filter_map(|w| w.parse().ok())
        .collect();
    assert_eq!(counts.iter().sum::<usize>(), 3, "{table}");
    // Every row of a Markdown table has its header's number of cells.
    for block in table.split("\n\n").filter(|b| b.starts_with('|')) {
        let cells: Vec<usize> = block.lines().map(|l| l.matches('|').count()).collect();
        assert!(
            cells.iter().all(|&c| c == cells[0]),
            "ragged table:\n{block}"
        );
    }

    assert_success(&vanishing(&[
        "report",
        "--data",
        arg(&data),
        "--out",
        arg(&reports),
    ]));
    let html = fs::read_to_string(reports.join("index.html")).unwrap();
    assert!(html.contains("<h2 id=\"keras\">Keras vs vanishing <a class=\"anchor\""));
    assert!(html.contains("keras 3."), "the Keras versions are named");
    // The same agreement tables as the Markdown, drawn as HTML.
    assert!(html.contains("<th>sampling noise</th>"));
    assert!(html.contains("<td>tiny</td><td class=\"num\">1</td>"));
    // The compared experiment appears in the comparison only, not as a section of its
    // own, and with nothing else to show the overview sections are left out.
    assert!(!html.contains("id=\"exp-tiny\""));
    assert!(!html.contains("id=\"results\""));
    assert!(!html.contains("id=\"why\""));
}

#[test]
fn comparison_needs_keras_runs() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    run_tiny(&data);
    let output = vanishing(&["keras", "compare", "--data", arg(&data)]);
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("no experiment imported from Keras"));
}

#[test]
fn import_refuses_bad_run_files_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let runs = dir.path().join("runs");
    fs::create_dir_all(runs.join("tiny")).unwrap();
    let good = fs::read_to_string(fixtures().join("runs/tiny/run-000000.json")).unwrap();
    fs::write(runs.join("tiny/run-000000.json"), &good[..good.len() / 2]).unwrap();
    let renamed = good.replace("\"run_id\": \"tiny/s0\"", "\"run_id\": \"tiny/s9\"");
    fs::write(runs.join("tiny/run-000001.json"), renamed).unwrap();
    let other_seed = good.replace("seed = 0\\n", "seed = 5\\n");
    fs::write(runs.join("tiny/run-000002.json"), other_seed).unwrap();
    let out = dir.path().join("keras");

    let output = vanishing(&["keras", "import", arg(&runs), "--out", arg(&out)]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("run-000000.json: not a run file of the harness"),
        "{stderr}"
    );
    assert!(
        stderr.contains("run-000001.json: run id \"tiny/s9\" does not match"),
        "{stderr}"
    );
    // A configuration edited by hand is no longer as vanishing resolves it.
    assert!(
        stderr.contains(
            "run-000002.json: run id \"tiny/s0\" does not match its configuration's \"tiny/s5\""
        ),
        "{stderr}"
    );
    assert!(!out.exists(), "nothing is written when a file is refused");
}
