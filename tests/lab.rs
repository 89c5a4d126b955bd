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
/// tanh, ReLU and softsign networks, both precisions, histograms, every-step records,
/// batch and layer normalization, skip connections, seeds side by side and a small
/// sweep. Every layer has at most eight units, so every product goes through the
/// core's own loops (see docs/lab.md, "Same numbers", for wider layers).
const FILES: [(&str, &str); 5] = [
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
        "lab-relu-seeds",
        r#"name = "lab-relu-seeds"
seeds = { count = 9, start = 0 }
[data]
kind = "moons"
n_samples = 200
noise = 0.2
[model]
hidden = [8, 8, 8]
activation = "relu"
init = "he_normal"
[optimizer]
kind = "sgd"
learning_rate = 0.05
[train]
epochs = 15
"#,
    ),
    (
        "lab-norm-residual",
        r#"name = "lab-norm-residual"
seeds = [0]
[data]
n_samples = 400
factor = 0.5
noise = 0.1
[model]
hidden = [8, 8, 8, 8, 8, 8]
activation = "sigmoid"
init = "glorot_uniform"
norm = "batch"
residual = true
[optimizer]
kind = "adam"
[train]
epochs = 10
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
hidden = [6, 6, 6]
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

/// Files whose layers are wide enough for faer's products (above 64 weights a kernel),
/// which do not add in the same order on every instruction set: the page's numbers
/// part from the command line's in the last bits, and the parting grows as training
/// goes on. Each is checked against a bound: the largest relative difference of the
/// recorded spreads (`std`, `abs_mean`, `l2`) and of the loss, and the largest
/// difference of accuracy, measured on this machine and documented in docs/lab.md.
const WIDE: [(&str, &str, [f64; 3]); 4] = [
    (
        "lab-wide-f32",
        r#"name = "lab-wide-f32"
seed = 3
[data]
n_samples = 400
factor = 0.5
noise = 0.1
[model]
hidden = [32, 32, 32]
activation = "tanh"
init = "glorot_uniform"
[optimizer]
kind = "sgd"
learning_rate = 0.1
[train]
epochs = 5
"#,
        // Measured here: 5.8e-5, 8.6e-8, 0.
        [5e-4, 1e-6, 0.0025],
    ),
    (
        "lab-wide-f64",
        r#"name = "lab-wide-f64"
seed = 3
[data]
n_samples = 400
factor = 0.5
noise = 0.1
[model]
hidden = [32, 32, 32]
activation = "tanh"
init = "glorot_uniform"
[optimizer]
kind = "sgd"
learning_rate = 0.1
[train]
epochs = 5
precision = "f64"
"#,
        // Measured here: 7.2e-14, 0, 0.
        [1e-12, 1e-14, 0.0],
    ),
    (
        "lab-digits-f64",
        r#"name = "lab-digits-f64"
seed = 2
[data]
kind = "digits"
test_fraction = 0.25
[model]
hidden = [16, 16]
activation = "tanh"
init = "glorot_uniform"
output = "softmax"
[optimizer]
kind = "sgd"
learning_rate = 0.05
[train]
epochs = 3
precision = "f64"
"#,
        // Measured here: 5.9e-16, 1.8e-16, 0.
        [1e-13, 1e-14, 0.0],
    ),
    (
        "lab-shapeset-f32",
        r#"name = "lab-shapeset-f32"
seed = 5
[data]
kind = "shapeset"
n_samples = 300
test_fraction = 0.2
[model]
hidden = [12, 12]
activation = "softsign"
init = "glorot_uniform"
output = "softmax"
[optimizer]
kind = "adam"
[train]
epochs = 2
batch_size = 10
"#,
        // Measured here: 1.2e-5, 2.3e-7, 0 (one image of the 240 in a split
        // changing its class would be 0.0042).
        [2e-4, 2e-6, 0.005],
    ),
];

/// The largest relative difference of the spreads and of the loss, and the largest
/// difference of accuracy, between the page's rows and the command line's.
fn largest_differences(page: &Value, tables: &ExperimentTables) -> [f64; 3] {
    let relative = |a: f64, b: f64| {
        // Equal values (zeros included) part by nothing, exactly.
        if a.to_bits() == b.to_bits() {
            0.0
        } else {
            (a - b).abs() / a.abs().max(b.abs())
        }
    };
    let mut out = [0.0_f64; 3];
    let history = by_run(page["history"].as_array().unwrap());
    let cli = by_run(&rows(&rows_json(&tables.history)));
    assert_eq!(history.len(), cli.len());
    for (p, c) in history.iter().zip(&cli) {
        for key in ["std", "abs_mean", "l2"] {
            out[0] = out[0].max(relative(p[key].as_f64().unwrap(), c[key].as_f64().unwrap()));
        }
    }
    let metrics = by_run(page["metrics"].as_array().unwrap());
    let cli = by_run(&rows(&rows_json(&tables.metrics)));
    assert_eq!(metrics.len(), cli.len());
    for (p, c) in metrics.iter().zip(&cli) {
        out[1] = out[1].max(relative(
            p["loss"].as_f64().unwrap(),
            c["loss"].as_f64().unwrap(),
        ));
        out[2] =
            out[2].max((p["accuracy"].as_f64().unwrap() - c["accuracy"].as_f64().unwrap()).abs());
    }
    out
}

/// Trains every file with the command line and writes the report; returns the data
/// folder and the page.
fn make_report(dir: &Path) -> (PathBuf, PathBuf) {
    let experiments = dir.join("experiments");
    fs::create_dir_all(&experiments).unwrap();
    for (name, text) in FILES.into_iter().chain(WIDE.map(|(n, t, _)| (n, t))) {
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
    for (name, text, bounds) in WIDE {
        let tables = read_experiment(&data.join(name)).unwrap();
        let answer = lab_run(&mut page, text);
        let found = largest_differences(&answer, &tables);
        #[allow(clippy::print_stderr)]
        {
            eprintln!("{name}: largest differences {found:?} (bounds {bounds:?})");
        }
        for ((what, found), bound) in ["spreads", "loss", "accuracy"]
            .iter()
            .zip(found)
            .zip(bounds)
        {
            assert!(
                found <= bound,
                "{name}: {what} part by {found:e}, beyond {bound:e}"
            );
        }
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
    // A data file is refused where the file names it: the page has no file system.
    let refused = page
        .eval(
            "window.vanishing.lab.run('name = \"x\"\\n[data]\\nkind = \"file\"\\npath = \"points.csv\"\\n[model]\\nhidden = [5]\\nactivation = \"tanh\"\\n')
               .then(function () { return 'trained'; },
                     function (e) { return [e.message, e.line, e.column, e.key]; })",
        )
        .unwrap();
    assert_eq!(refused[1], 4, "{refused}");
    assert_eq!(refused[3], "data.path", "{refused}");
    assert!(
        refused[0]
            .as_str()
            .unwrap()
            .contains("cannot read a data file"),
        "{refused}"
    );
    assert_eq!(page.errors().unwrap(), Vec::<String>::new());
}

/// Every chart of the lab has been drawn with at least `min_series` series.
fn series_counts(page: &mut Page) -> Value {
    page.eval(
        "Array.from(document.querySelectorAll('[id^=lab-chart-]')).map(function (el) {
           var chart = echarts.getInstanceByDom(el);
           return [el.id, chart ? (chart.getOption().series || []).length : -1];
         })",
    )
    .unwrap()
}

/// Waits until the lab has checked its file and says it is ready to train.
fn wait_until_ready(page: &mut Page) {
    page.wait_for(
        "document.getElementById('lab-status').textContent.indexOf('Ready') === 0",
        Duration::from_secs(20),
    )
    .unwrap();
}

fn wait_for_state(page: &mut Page, states: &str, seconds: u64) {
    page.wait_for(
        &format!(
            "[{states}].indexOf(document.getElementById('lab-root').dataset.state) >= 0"
        ),
        Duration::from_secs(seconds),
    )
    .unwrap_or_else(|e| {
        let status = page
            .eval("document.getElementById('lab-status').textContent + ' | ' + document.getElementById('lab-problem').textContent")
            .unwrap();
        panic!("the lab did not reach {states}: {e}; it says {status}")
    });
}

/// With VANISHING_SCREENSHOTS set to a folder, scrolls `element` to the top of the
/// window and saves what a reader sees there as `name`: pictures to look at, not to
/// compare.
fn shoot(page: &mut Page, element: &str, name: &str) {
    if let Ok(dir) = std::env::var("VANISHING_SCREENSHOTS") {
        page.eval(&format!("{element}.scrollIntoView(); true"))
            .unwrap();
        // Let the scroll and any chart drawn into view settle.
        std::thread::sleep(Duration::from_millis(400));
        // A picture that cannot be taken is reported, not a failure of the test
        // (headless Chromium sometimes gives no frame for a tall page in time).
        if let Err(e) = page.screenshot(Path::new(&dir).join(name)) {
            #[allow(clippy::print_stderr)]
            {
                eprintln!("screenshot {name}: {e}");
            }
        }
    }
}

#[test]
fn a_student_uses_the_lab() {
    let Some(browser) = browser_or_skip("a_student_uses_the_lab") else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let (_, report) = make_report(tmp.path());
    let url = format!("file://{}", report.display());
    let mut page = browser.page().unwrap();
    page.set_viewport(1280, 900).unwrap();
    page.goto(&url).unwrap();
    wait_until_ready(&mut page);

    // Opening the page leaves its address alone (a link to a section stays one).
    assert_eq!(page.eval("location.hash").unwrap(), "");
    let mut section = browser.new_page().unwrap();
    section.goto(&format!("{url}#tutorial")).unwrap();
    wait_until_ready(&mut section);
    assert_eq!(section.eval("location.hash").unwrap(), "#tutorial");
    // A link asking for an absurd network gets the controls' largest, at once.
    section
        .goto(&format!("{url}#lab?depth=100000000&noise=abc"))
        .unwrap();
    wait_until_ready(&mut section);
    let clamped = section
        .eval("[document.querySelector('[name=depth]').value, document.querySelector('[name=noise]').value]")
        .unwrap();
    assert_eq!(clamped, serde_json::json!(["40", "0.1"]));
    assert_eq!(section.errors().unwrap(), Vec::<String>::new());
    page.bring_to_front().unwrap();

    // A preset, then two controls: the file follows, and so does the address.
    page.click("[data-preset=tutorial]").unwrap();
    page.set_value("[name=depth]", "6").unwrap();
    page.set_value("[name=activation]", "tanh").unwrap();
    let file = page
        .eval("document.getElementById('lab-editor').value")
        .unwrap();
    let file = file.as_str().unwrap();
    assert!(file.contains("hidden = [5, 5, 5, 5, 5, 5]"), "{file}");
    assert!(file.contains("activation = \"tanh\""), "{file}");
    let hash = page.eval("location.hash").unwrap();
    assert!(
        hash.as_str().unwrap().contains("depth=6")
            && hash.as_str().unwrap().contains("activation=tanh"),
        "{hash}"
    );

    // Train: every chart is drawn, the status says how it ended.
    page.click("#lab-train").unwrap();
    wait_for_state(&mut page, "'done'", 60);
    for pair in series_counts(&mut page).as_array().unwrap() {
        assert!(pair[1].as_i64().unwrap() > 0, "an empty chart: {pair}");
    }
    let status = page
        .eval("document.getElementById('lab-status').textContent")
        .unwrap();
    assert!(status.as_str().unwrap().starts_with("Done in"), "{status}");

    // Pin it, train another: the pinned run stays on the charts under the new one.
    let before = series_counts(&mut page);
    page.click("#lab-pin").unwrap();
    page.click("[data-preset=relu_he]").unwrap();
    page.click("#lab-train").unwrap();
    wait_for_state(&mut page, "'done'", 60);
    let after = series_counts(&mut page);
    let loss = |counts: &Value| {
        counts
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p[0] == "lab-chart-loss")
            .unwrap()[1]
            .as_i64()
            .unwrap()
    };
    assert!(loss(&after) > loss(&before), "{before} then {after}");
    shoot(
        &mut page,
        "document.getElementById('lab-root')",
        "lab-desktop-controls.png",
    );
    shoot(
        &mut page,
        "document.getElementById('lab-chart-loss')",
        "lab-desktop-charts.png",
    );
    shoot(
        &mut page,
        "document.getElementById('lab-chart-updates')",
        "lab-desktop-charts-2.png",
    );
    let pins = page
        .eval("document.getElementById('lab-pins').textContent")
        .unwrap();
    assert!(pins.as_str().unwrap().contains("tanh"), "{pins}");

    // A long training stops at once.
    page.set_value("[name=epochs]", "3000").unwrap();
    page.click("#lab-train").unwrap();
    page.wait_for(
        "document.getElementById('lab-status').textContent.indexOf('Training: epoch') === 0",
        Duration::from_secs(30),
    )
    .unwrap();
    page.click("#lab-stop").unwrap();
    wait_for_state(&mut page, "'stopped'", 5);
    assert_eq!(
        page.eval("document.getElementById('lab-train').disabled")
            .unwrap(),
        false
    );

    // The paper's kind of data: digits train with a softmax over ten classes like any
    // other data, the file says so, and the address keeps the choice.
    page.click("[data-preset=tutorial]").unwrap();
    page.set_value("[name=data]", "digits").unwrap();
    page.set_value("[name=activation]", "tanh").unwrap();
    page.set_value("[name=epochs]", "10").unwrap();
    let file = page
        .eval("document.getElementById('lab-editor').value")
        .unwrap();
    let file = file.as_str().unwrap();
    assert!(
        file.contains("kind = \"digits\"") && file.contains("output = \"softmax\""),
        "{file}"
    );
    assert!(!file.contains("noise"), "{file}");
    let greyed = page
        .eval("[document.querySelector('[name=n_samples]').disabled, document.querySelector('[name=noise]').disabled]")
        .unwrap();
    assert_eq!(greyed, serde_json::json!([true, true]));
    let hash = page.eval("location.hash").unwrap();
    assert!(hash.as_str().unwrap().contains("data=digits"), "{hash}");
    page.click("#lab-train").unwrap();
    wait_for_state(&mut page, "'done'", 120);
    let status = page
        .eval("document.getElementById('lab-status').textContent")
        .unwrap();
    assert!(status.as_str().unwrap().starts_with("Done in"), "{status}");
    shoot(
        &mut page,
        "document.getElementById('lab-root')",
        "lab-digits.png",
    );

    // A diverging run is shown as diverged.
    page.click("[data-preset=tutorial]").unwrap();
    page.set_value("[name=optimizer]", "sgd").unwrap();
    page.set_value("[name=learning_rate]", "1e30").unwrap();
    page.set_value("[name=activation]", "relu").unwrap();
    page.click("#lab-train").unwrap();
    wait_for_state(&mut page, "'diverged'", 60);

    // A malformed file: its line and column beside the editor, nothing trains.
    page.set_value(
        "#lab-editor",
        "name = \"x\"\n[model]\nhidden = [5, 5]\nactivation = \"sigmoyd\"\n",
    )
    .unwrap();
    page.wait_for(
        "!document.getElementById('lab-problem').hidden",
        Duration::from_secs(10),
    )
    .unwrap();
    let problem = page
        .eval("document.getElementById('lab-problem').textContent")
        .unwrap();
    assert!(
        problem.as_str().unwrap().starts_with("lab.toml:4:14:"),
        "{problem}"
    );
    page.click("#lab-train").unwrap();
    wait_for_state(&mut page, "'refused'", 10);

    // A link reopens a configuration.
    page.click("[data-preset=batchnorm]").unwrap();
    page.set_value("[name=seed]", "11").unwrap();
    let link = page.eval("location.href").unwrap();
    let mut other = browser.new_page().unwrap();
    other.goto(link.as_str().unwrap()).unwrap();
    wait_until_ready(&mut other);
    let reopened = other
        .eval("[document.querySelector('[name=depth]').value, document.querySelector('[name=norm]').value, document.querySelector('[name=seed]').value]")
        .unwrap();
    assert_eq!(reopened, serde_json::json!(["20", "batch", "11"]));

    // A phone: the page does not scroll sideways.
    page.bring_to_front().unwrap();
    page.set_viewport(360, 740).unwrap();
    page.reload().unwrap();
    wait_until_ready(&mut page);
    let width = page.eval("document.documentElement.scrollWidth").unwrap();
    assert!(
        width.as_i64().unwrap() <= 360,
        "the page is {width} px wide at 360 px"
    );
    shoot(
        &mut page,
        "document.getElementById('lab-root')",
        "lab-360-controls.png",
    );
    page.click("#lab-train").unwrap();
    wait_for_state(&mut page, "'done'", 60);
    let width = page.eval("document.documentElement.scrollWidth").unwrap();
    assert!(
        width.as_i64().unwrap() <= 360,
        "after training, the page is {width} px wide at 360 px"
    );
    shoot(
        &mut page,
        "document.getElementById('lab-chart-loss')",
        "lab-360-charts.png",
    );
    shoot(
        &mut page,
        "document.getElementById('lab-chart-profile')",
        "lab-360-profile.png",
    );
    shoot(
        &mut page,
        "document.getElementById('lab-chart-surface')",
        "lab-360-surface.png",
    );
    shoot(
        &mut page,
        "document.querySelector('h1')",
        "page-360-top.png",
    );
    assert_eq!(page.errors().unwrap(), Vec::<String>::new());
    assert_eq!(other.errors().unwrap(), Vec::<String>::new());
}
