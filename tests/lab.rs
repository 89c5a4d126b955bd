//! End to end, in headless Chromium: the report's lab trains experiment files in the
//! page and gives the rows `vanishing run` writes for them, to the last bit; and a
//! person can use it: presets, controls, train, stop, pin, a link that reopens a
//! configuration, a malformed file shown with its line and column, a phone's width.
//!
//! Skipped, loudly, where no Chromium is installed, unless VANISHING_REQUIRE_BROWSER=1.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::Value;
use vanishing_analysis::{ExperimentTables, read_experiment};
use vanishing_lab::rows_json;
use vanishing_testkit::browser::{Page, browser_or_skip};

mod support;

use support::{assert_success, vanishing};

/// Experiment files the page must train exactly as the command line does: sigmoid,
/// tanh and softsign networks, both precisions, histograms, every-step records, layer
/// normalization, seeds side by side and a small sweep. Every layer here has at
/// most 32 weights (the core's own loops); layers above that go through faer, whose
/// products part from the page's in the last bits (docs/lab.md, "Same numbers": an
/// open item, to be bounded and tested).
const FILES: [(&str, &str); 3] = [
    (
        "lab-sigmoid",
        r#"name = "lab-sigmoid"
seeds = [7]
[data]
n_samples = 1000
factor = 0.5
noise = 0.1
[model]
hidden = [5, 5, 5, 5]
activation = "sigmoid"
init = { kind = "normal", mean = 0.0, std = 1.0 }
[optimizer]
kind = "rmsprop"
[train]
epochs = 100
batch_size = 32
[record]
histogram_bins = 10
"#,
    ),
    (
        "lab-tanh-f64",
        r#"name = "lab-tanh-f64"
seeds = [1, 2, 3]
[data]
n_samples = 300
noise = 0.1
factor = 0.5
test_fraction = 0.2
[model]
hidden = [5, 5, 5, 5]
activation = "tanh"
init = "glorot_uniform"
[optimizer]
kind = "adam"
[train]
epochs = 20
precision = "f64"
[record]
every = "step"
"#,
    ),
    (
        "lab-sweep",
        r#"name = "lab-sweep"
seeds = [4]
[data]
n_samples = 200
factor = 0.5
noise = 0.1
[model]
hidden = [5, 5, 5]
activation = "sigmoid"
[optimizer]
kind = "rmsprop"
[train]
epochs = 8
precision = "f64"
[sweep]
"model.activation" = ["sigmoid", "tanh", "softsign"]
"model.norm" = ["none", "layer"]
"#,
    ),
];

/// Trains every file with the command line and writes the report; returns the data
/// folder and the page.
fn make_report(dir: &Path) -> (PathBuf, PathBuf) {
    let experiments = dir.join("experiments");
    fs::create_dir_all(&experiments).unwrap();
    for (name, text) in FILES {
        fs::write(experiments.join(format!("{name}.toml")), text).unwrap();
    }
    let data = dir.join("data");
    assert_success(&vanishing(&[
        "run",
        experiments.to_str().unwrap(),
        "--out",
        data.to_str().unwrap(),
        "--quiet",
    ]));
    let reports = dir.join("reports");
    assert_success(&vanishing(&[
        "report",
        "--data",
        data.to_str().unwrap(),
        "--out",
        reports.to_str().unwrap(),
    ]));
    (data, reports.join("index.html"))
}

/// The page's answer for `text` as JSON, with the numbers JSON cannot carry written as
/// the lab writes them (crates/lab/src/json.rs), so that both sides compare as text.
fn lab_run(page: &mut Page, text: &str) -> Value {
    let script = format!(
        "window.vanishing.lab.run({}).then(function (t) {{
           return JSON.stringify(t, function (k, v) {{
             if (typeof v === 'number' && !isFinite(v)) {{ return {{ $f: String(v) }}; }}
             if (typeof v === 'bigint') {{ return v < 0n ? {{ $i: String(v) }} : {{ $u: String(v) }}; }}
             return v;
           }});
         }})",
        serde_json::to_string(text).unwrap()
    );
    let answer = page
        .eval_with_timeout(&script, Duration::from_secs(120))
        .unwrap_or_else(|e| panic!("the lab refused or failed: {e}"));
    serde_json::from_str(answer.as_str().unwrap()).unwrap()
}

fn rows(json: &str) -> Vec<Value> {
    serde_json::from_str::<Value>(json)
        .unwrap()
        .as_array()
        .unwrap()
        .clone()
}

fn without_wall(rows: &[Value]) -> Vec<Value> {
    rows.iter()
        .cloned()
        .map(|mut r| {
            r.as_object_mut().unwrap().remove("wall_ms");
            r
        })
        .collect()
}

/// Rows in run order (stable within a run): the command line writes a sweep's runs in
/// parts as they finish, the page in the file's order.
fn by_run(rows: &[Value]) -> Vec<Value> {
    let mut rows = rows.to_vec();
    rows.sort_by(|a, b| a["run_id"].as_str().cmp(&b["run_id"].as_str()));
    rows
}

/// The first row where two tables part, for a readable failure.
#[track_caller]
fn assert_same_rows(what: &str, page: &[Value], cli: &[Value]) {
    let (page, cli) = (by_run(page), by_run(cli));
    for (i, (p, c)) in page.iter().zip(&cli).enumerate() {
        assert_eq!(p, c, "{what}: row {i} differs (page, then command line)");
    }
    assert_eq!(page.len(), cli.len(), "{what}: row counts differ");
}

fn compare(name: &str, page: &Value, tables: &ExperimentTables) {
    assert_same_rows(
        &format!("{name} runs"),
        &without_wall(page["runs"].as_array().unwrap()),
        &without_wall(&rows(&rows_json(&tables.runs))),
    );
    for (table, json) in [
        ("history", rows_json(&tables.history)),
        ("metrics", rows_json(&tables.metrics)),
        ("histograms", rows_json(&tables.histograms)),
        ("dataset", rows_json(&tables.dataset)),
        ("boundary", rows_json(&tables.boundary)),
    ] {
        assert_same_rows(
            &format!("{name} {table}"),
            page[table].as_array().unwrap(),
            &rows(&json),
        );
    }
}

#[test]
fn the_page_trains_the_command_lines_numbers() {
    let Some(browser) = browser_or_skip("the_page_trains_the_command_lines_numbers") else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let (data, report) = make_report(tmp.path());
    let mut page = browser.page().unwrap();
    page.goto(&format!("file://{}", report.display())).unwrap();
    page.wait_for(
        "window.vanishing && window.vanishing.lab",
        Duration::from_secs(20),
    )
    .unwrap();
    for (name, text) in FILES {
        let tables = read_experiment(&data.join(name)).unwrap();
        let answer = lab_run(&mut page, text);
        compare(name, &answer, &tables);
    }
    // Bad input is refused with the parser's message, line and column.
    let refused = page
        .eval(
            "window.vanishing.lab.run('name = \"x\"\\n[model]\\nhidden = [5, 5]\\nactivation = \"sigmoyd\"\\n')
               .then(function () { return 'trained'; },
                     function (e) { return [e.message, e.line, e.column, e.key]; })",
        )
        .unwrap();
    assert_eq!(refused[1], 4, "{refused}");
    assert_eq!(refused[2], 14, "{refused}");
    assert_eq!(refused[3], "model.activation", "{refused}");
    assert!(
        refused[0].as_str().unwrap().starts_with("lab.toml:4:14:"),
        "{refused}"
    );
    assert_eq!(page.errors().unwrap(), Vec::<String>::new());
}
