//! `just bench-lab`: the lab's speed in headless Chromium on this machine.
//!
//! Writes a report (one tiny experiment, so that the page is mostly the lab), opens it
//! in headless Chromium through the test driver and measures, each several times, the
//! median and the fastest of:
//! - the tutorial's run (2-5-5-5-5-1 sigmoid, N(0, 1), RMSprop, 1,000 points, 100
//!   epochs) through `window.vanishing.lab.run`, from the call to the resolved promise
//!   (a fresh worker, the module instantiated, training, every row moved to the page);
//! - a 20-layer, 8-unit sigmoid network with batch normalization and residual
//!   connections, 50 epochs, the same way;
//! - the tutorial's run from the lab's Train button with every chart redrawn live,
//!   against the same run without charts: the charts' cost;
//! - the first screen (the page's own `data-first-screen-ms`), and how many bytes the
//!   lab adds to the page.
//!
//! Prints a table and writes it to `target/bench/lab.txt`. Needs Chromium.

// A benchmark's output is its table.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::fmt::Write as _;
use std::fs;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use vanishing_testkit::browser::{Browser, Page, find_chromium};

const TUTORIAL: &str = r#"name = "bench-tutorial"
seed = 0
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
"#;

const DEEP: &str = r#"name = "bench-deep"
seed = 0
[data]
n_samples = 1000
factor = 0.5
noise = 0.1
[model]
hidden = [8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8]
activation = "sigmoid"
init = "glorot_uniform"
norm = "batch"
residual = true
[optimizer]
kind = "adam"
[train]
epochs = 50
batch_size = 32
"#;

const ROUNDS: usize = 7;

fn vanishing(args: &[&str]) {
    let out = Command::new(env!("CARGO_BIN_EXE_vanishing"))
        .args(args)
        .output()
        .expect("the vanishing binary runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Milliseconds of `lab.run(text)`, and the module's own training time of its run.
fn lab_run(page: &mut Page, text: &str) -> (f64, f64) {
    let script = format!(
        "(async function () {{
           var t = performance.now();
           var tables = await window.vanishing.lab.run({});
           return [performance.now() - t, tables.runs[0].wall_ms];
         }})()",
        serde_json::to_string(text).unwrap()
    );
    let v = page
        .eval_with_timeout(&script, Duration::from_secs(120))
        .unwrap();
    (v[0].as_f64().unwrap(), v[1].as_f64().unwrap())
}

/// Milliseconds of a training started with the lab's button, charts drawn live: from
/// the click to the page's "done", and the module's own training time in the worker.
fn ui_run(page: &mut Page) -> (f64, f64) {
    page.eval("document.getElementById('lab-root').dataset.state = ''")
        .unwrap();
    page.click("#lab-train").unwrap();
    page.wait_for(
        "document.getElementById('lab-root').dataset.state === 'done'",
        Duration::from_secs(120),
    )
    .unwrap();
    let v = page
        .eval("[Number(document.getElementById('lab-root').dataset.ms), Number(document.getElementById('lab-root').dataset.trainMs)]")
        .unwrap();
    (v[0].as_f64().unwrap(), v[1].as_f64().unwrap())
}

/// The experiment file the lab's controls describe now.
fn preset_text(page: &mut Page) -> String {
    page.eval("document.getElementById('lab-editor').value")
        .unwrap()
        .as_str()
        .unwrap()
        .to_owned()
}

fn stats(mut v: Vec<f64>) -> (f64, f64) {
    v.sort_by(f64::total_cmp);
    (v[v.len() / 2], v[0])
}

fn main() {
    let Some(chromium) = find_chromium() else {
        eprintln!("bench-lab needs Chromium (Debian's `chromium`); none was found");
        std::process::exit(2);
    };
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    fs::create_dir_all(dir.join("experiments")).unwrap();
    fs::write(
        dir.join("experiments/tiny.toml"),
        "name = \"tiny\"\n[model]\nhidden = [3]\nactivation = \"tanh\"\n",
    )
    .unwrap();
    let (experiments, data, reports) = (
        dir.join("experiments"),
        dir.join("data"),
        dir.join("reports"),
    );
    vanishing(&[
        "run",
        experiments.to_str().unwrap(),
        "--out",
        data.to_str().unwrap(),
        "-q",
    ]);
    vanishing(&[
        "report",
        "--data",
        data.to_str().unwrap(),
        "--out",
        reports.to_str().unwrap(),
    ]);
    let report = reports.join("index.html");
    let browser = Browser::launch(&chromium).unwrap();
    let mut page = browser.page().unwrap();
    page.set_viewport(1280, 900).unwrap();
    page.goto(&format!("file://{}", report.display())).unwrap();
    page.wait_for(
        "document.getElementById('lab-status').textContent.indexOf('Ready') === 0",
        Duration::from_secs(30),
    )
    .unwrap();
    let first_screen = page
        .eval("Number(document.body.getAttribute('data-first-screen-ms'))")
        .unwrap();
    let lab_bytes = page
        .eval(
            "['lab-module', 'lab-worker', 'lab-charts'].reduce(function (n, id) {
               return n + document.getElementById(id).outerHTML.length; }, 0)
             + Array.from(document.scripts).filter(function (s) { return s.textContent.indexOf('vanishing.lab') >= 0 && !s.id; })
                 .reduce(function (n, s) { return n + s.outerHTML.length; }, 0)
             + document.getElementById('lab-root').outerHTML.length",
        )
        .unwrap();
    let page_bytes = Path::new(&report).metadata().unwrap().len();

    let mut out = String::new();
    let _ = writeln!(
        out,
        "lab in headless Chromium, {ROUNDS} rounds each after one warm-up (median, fastest)"
    );
    for (name, text) in [
        ("tutorial run, 2-5-5-5-5-1 sigmoid, 100 epochs", TUTORIAL),
        ("20 x 8 sigmoid, batch norm + residual, 50 epochs", DEEP),
    ] {
        lab_run(&mut page, text);
        let (total, training): (Vec<f64>, Vec<f64>) =
            (0..ROUNDS).map(|_| lab_run(&mut page, text)).unzip();
        let (t, t_min) = stats(total);
        let (w, w_min) = stats(training);
        let _ = writeln!(
            out,
            "{name}: lab.run {t:.0} ms ({t_min:.0}), of which training and recording {w:.0} ms ({w_min:.0})"
        );
    }
    // The same tutorial run from the button, every chart redrawn as its rows arrive.
    page.click("[data-preset=tutorial]").unwrap();
    let _ = ui_run(&mut page);
    let (with_charts, trained_with): (Vec<f64>, Vec<f64>) =
        (0..ROUNDS).map(|_| ui_run(&mut page)).unzip();
    let (without, trained_without): (Vec<f64>, Vec<f64>) =
        (0..ROUNDS).map(|_| lab_run(&mut page, TUTORIAL)).unzip();
    let ((c, c_min), (n, n_min)) = (stats(with_charts), stats(without));
    let ((tc, tc_min), (tn, tn_min)) = (stats(trained_with), stats(trained_without));
    let _ = writeln!(
        out,
        "tutorial run, training in the worker: {tc:.0} ms ({tc_min:.0}) with charts redrawn live, {tn:.0} ms ({tn_min:.0}) without: {:.2}x",
        tc / tn
    );
    // The 20-layer preset trains long enough for several live redraws.
    page.click("[data-preset=batchnorm]").unwrap();
    let _ = ui_run(&mut page);
    let (_, deep_with): (Vec<f64>, Vec<f64>) = (0..ROUNDS).map(|_| ui_run(&mut page)).unzip();
    let deep = preset_text(&mut page);
    let (_, deep_without): (Vec<f64>, Vec<f64>) =
        (0..ROUNDS).map(|_| lab_run(&mut page, &deep)).unzip();
    let ((dc, dc_min), (dn, dn_min)) = (stats(deep_with), stats(deep_without));
    let _ = writeln!(
        out,
        "20 x 8 batch-norm preset, training in the worker: {dc:.0} ms ({dc_min:.0}) with charts redrawn live, {dn:.0} ms ({dn_min:.0}) without: {:.2}x",
        dc / dn
    );
    let _ = writeln!(
        out,
        "tutorial run from the Train button to the last chart: {c:.0} ms ({c_min:.0}), against {n:.0} ms ({n_min:.0}) for lab.run without charts: {:.2}x",
        c / n
    );
    let _ = writeln!(
        out,
        "first screen: {} ms; the lab adds {:.2} MB to a page of {:.2} MB",
        first_screen,
        lab_bytes.as_f64().unwrap() / 1e6,
        page_bytes as f64 / 1e6
    );
    assert_eq!(page.errors().unwrap(), Vec::<String>::new());
    print!("{out}");
    let target = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/bench");
    fs::create_dir_all(&target).unwrap();
    fs::write(target.join("lab.txt"), out).unwrap();
}
