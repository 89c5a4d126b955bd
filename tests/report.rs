//! End to end: tables from `vanishing run` into `vanishing report`, the page's content
//! and self-containment, `vanishing reproduce`, and refused data folders.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

mod support;

use support::{assert_success, vanishing};

fn experiment(name: &str, activation: &str, seeds: u32) -> String {
    format!(
        r#"name = "{name}"
description = "A small {activation} network."
seeds = {{ count = {seeds}, start = 1 }}
[data]
n_samples = 120
factor = 0.5
noise = 0.1
[model]
hidden = [4, 4]
activation = "{activation}"
init = {{ kind = "normal", std = 1.0 }}
[train]
epochs = 6
[record]
boundary_grid = 9
"#
    )
}

/// Runs two small experiments into `dir/data` and returns the data folder.
fn make_data(dir: &Path) -> PathBuf {
    let experiments = dir.join("experiments");
    fs::create_dir_all(&experiments).unwrap();
    fs::write(
        experiments.join("a.toml"),
        experiment("small-sigmoid", "sigmoid", 2),
    )
    .unwrap();
    fs::write(
        experiments.join("b.toml"),
        experiment("small-tanh", "tanh", 1),
    )
    .unwrap();
    let data = dir.join("data");
    assert_success(&vanishing(&[
        "run",
        experiments.to_str().unwrap(),
        "--out",
        data.to_str().unwrap(),
        "--quiet",
    ]));
    data
}

/// Runs the small experiments and reports on them; returns the data and report folders.
fn make_report(dir: &Path) -> (PathBuf, PathBuf) {
    let data = make_data(dir);
    let out = dir.join("reports");
    assert_success(&vanishing(&[
        "report",
        "--data",
        data.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]));
    (data, out)
}

/// The chart containers of a page, and the ids its script sets options for.
fn chart_ids(html: &str) -> (Vec<String>, Vec<String>) {
    let containers = html
        .match_indices("<div class=\"chart")
        .map(|(i, _)| {
            let rest = &html[i..];
            let start = rest.find("id=\"").unwrap() + 4;
            rest[start..start + rest[start..].find('"').unwrap()].to_owned()
        })
        .collect();
    let script = html
        .rfind("var options = ")
        .map(|i| &html[i..])
        .unwrap_or("");
    let options = script
        .match_indices("\"chart-")
        .map(|(i, _)| script[i + 1..i + 1 + script[i + 1..].find('"').unwrap()].to_owned())
        .filter(|id| id.starts_with("chart-"))
        .collect();
    (containers, options)
}

/// The page with the text inside `<script>` elements removed, leaving the markup that
/// could load anything.
fn without_script_bodies(html: &str) -> String {
    let mut out = String::new();
    let mut rest = html;
    while let Some(open) = rest.find("<script") {
        let body = open + rest[open..].find('>').unwrap() + 1;
        out.push_str(&rest[..body]);
        let close = body + rest[body..].find("</script>").unwrap();
        rest = &rest[close..];
    }
    out.push_str(rest);
    out
}

#[test]
fn report_holds_every_chart_and_needs_no_network() {
    let tmp = tempfile::tempdir().unwrap();
    let data = make_data(tmp.path());
    let out = tmp.path().join("reports");
    let output = vanishing(&[
        "report",
        "--data",
        data.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_success(&output);
    let page = out.join("index.html");
    assert_eq!(
        String::from_utf8(output.stdout).unwrap().trim(),
        page.display().to_string()
    );
    let html = fs::read_to_string(&page).unwrap();

    // Self-contained: ECharts is embedded, nothing is fetched.
    assert!(html.contains("echarts"), "no ECharts in the page");
    assert!(
        html.len() > 500_000,
        "the embedded script is missing ({} bytes)",
        html.len()
    );
    let markup = without_script_bodies(&html);
    for fetch in ["src=", "<link", "href=\"http", "@import"] {
        assert!(!markup.contains(fetch), "the page loads something: {fetch}");
    }

    // Every container has an option and every option a container; the lab's containers
    // are drawn by the lab's own script, from frames of their own.
    let (containers, options) = chart_ids(&html);
    let (lab, containers): (Vec<String>, Vec<String>) = containers
        .into_iter()
        .partition(|id| id.starts_with("lab-chart-"));
    assert_eq!(containers, options);
    assert_eq!(lab.len(), 7, "{lab:?}");
    for id in &lab {
        let name = id.strip_prefix("lab-chart-").unwrap();
        assert!(
            html.contains(&format!("\"{name}\":{{")),
            "no frame for {id}"
        );
    }
    // Results strip, side-by-side (2 experiments x 2 quantities), gradient flow (dC/ds
    // and dLoss/dW, before and after training, for the group of both experiments), the
    // variance recursion (one chart per experiment: two hidden layers make a pair), the
    // ratio bars, and per configuration 8 charts (data, surface, 4 weight and gradient
    // plots, loss, accuracy).
    assert_eq!(
        containers.len(),
        1 + 4 + 4 + 2 + 1 + 2 * 8,
        "{containers:?}"
    );

    // The sections and the content a reader needs.
    for text in [
        "How to read the charts",
        "The tutorial's story",
        "Results at a glance",
        "Why it happens",
        "Gradient flow through the layers",
        "Theory beside measurement",
        "Each sigmoid layer divides the gradient's spread by",
        "The vanishing ratio",
        "id=\"flow-4-4-hidden-units-rmsprop-keras2-batch-32-preact-grad-at-initialization\"",
        "<figcaption>From the last layer to the first, dC/ds",
        "id=\"exp-small-sigmoid\"",
        "id=\"exp-small-tanh\"",
        "A small sigmoid network.",
        "Gradient std per layer",
        "Decision surface after training",
        "hidden1",
        "min-max band",
    ] {
        assert!(html.contains(text), "the page lacks {text:?}");
    }
    // No stray script end inside the chart data: the charts' script runs to its last
    // statement before its element closes.
    let script = &html[html.rfind("var options = ").unwrap()..];
    let script = &script[..script.find("</script>").unwrap()];
    assert!(
        script.contains("c.resize()"),
        "the charts' script was cut short"
    );
}

#[test]
fn reproduce_runs_then_reports() {
    let tmp = tempfile::tempdir().unwrap();
    let experiments = tmp.path().join("experiments");
    fs::create_dir_all(&experiments).unwrap();
    fs::write(
        experiments.join("a.toml"),
        experiment("small-relu", "relu", 1),
    )
    .unwrap();
    let data = tmp.path().join("data");
    let out = tmp.path().join("reports");
    let output = vanishing(&[
        "reproduce",
        experiments.to_str().unwrap(),
        "--data",
        data.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--quiet",
    ]);
    assert_success(&output);
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert!(
        stdout.contains(&format!("report: {}", out.join("index.html").display())),
        "{stdout}"
    );
    assert!(!support::parts(&data.join("small-relu"), "runs").is_empty());
    assert!(out.join("index.html").is_file());
}

/// Refused data: exit code 2, a message naming the file or folder, and the previous
/// report left exactly as it was.
#[track_caller]
fn check_refused(damage: impl FnOnce(&Path), expected: &str) {
    let tmp = tempfile::tempdir().unwrap();
    let (data, out) = make_report(tmp.path());
    let before = fs::read(out.join("index.html")).unwrap();
    damage(&data);
    let output = vanishing(&[
        "report",
        "--data",
        data.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "stderr:\n{stderr}");
    assert!(
        stderr.contains(expected),
        "expected {expected:?} in:\n{stderr}"
    );
    assert_eq!(
        fs::read(out.join("index.html")).unwrap(),
        before,
        "the previous report changed"
    );
    let leftovers: Vec<_> = fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(leftovers.len(), 1, "{leftovers:?}");
}

#[test]
fn a_missing_data_folder_is_refused() {
    check_refused(|data| fs::remove_dir_all(data).unwrap(), "data");
}

#[test]
fn an_empty_data_folder_is_refused() {
    check_refused(
        |data| {
            fs::remove_dir_all(data).unwrap();
            fs::create_dir(data).unwrap();
        },
        "no experiment tables found",
    );
}

#[test]
fn a_truncated_table_is_refused() {
    check_refused(
        |data| {
            let file = support::first_part(&data.join("small-tanh"), "history");
            let bytes = fs::read(&file).unwrap();
            fs::write(&file, &bytes[..bytes.len() / 3]).unwrap();
        },
        "small-tanh/history/part-",
    );
}

#[test]
fn a_foreign_file_is_refused() {
    check_refused(
        |data| {
            fs::write(
                support::first_part(&data.join("small-tanh"), "metrics"),
                "run_id,epoch\nx,0\n",
            )
            .unwrap();
        },
        "small-tanh/metrics/part-",
    );
}

#[test]
fn a_table_missing_a_column_is_refused() {
    // The boundary table of another experiment stands in for the runs table: a real
    // Parquet file without the runs table's columns.
    check_refused(
        |data| {
            fs::copy(
                support::first_part(&data.join("small-sigmoid"), "boundary"),
                support::first_part(&data.join("small-tanh"), "runs"),
            )
            .map(drop)
            .unwrap();
        },
        "missing column",
    );
}

/// A Chromium to drive: `VANISHING_CHROMIUM`, or the first of the usual names on PATH.
fn find_chromium() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("VANISHING_CHROMIUM") {
        return Some(path.into());
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .flat_map(|dir| {
            ["chromium", "chromium-browser", "google-chrome"].map(|name| dir.join(name))
        })
        .find(|candidate| candidate.is_file())
}

/// Opens the report in headless Chromium and checks, in the DOM after the scripts ran,
/// that every chart container holds a rendered ECharts chart and that no script error
/// was raised. Without Chromium the test says so loudly and passes, unless
/// `VANISHING_REQUIRE_BROWSER=1` (as CI sets), which makes a missing browser a failure.
#[test]
#[allow(clippy::print_stderr)] // A skipped browser test must be visible.
fn every_chart_renders_in_a_real_browser() {
    let Some(chromium) = find_chromium() else {
        assert!(
            std::env::var("VANISHING_REQUIRE_BROWSER").as_deref() != Ok("1"),
            "VANISHING_REQUIRE_BROWSER=1 but no Chromium was found (install Debian's `chromium`)"
        );
        eprintln!("\n*** SKIPPED every_chart_renders_in_a_real_browser: no Chromium on PATH ***\n");
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let data = make_data(tmp.path());
    // Over 3,000 dots in one chart (the accuracy strip) used to switch ECharts to
    // progressive rendering, which never finishes under headless virtual time. The
    // histograms at initialization and the heatmaps over depth need experiments of
    // their own.
    let many = tmp.path().join("many-seeds.toml");
    fs::write(
        &many,
        "name = \"many-seeds\"\nseeds = { count = 3100 }\n[data]\nn_samples = 8\n\
         [model]\nhidden = [2]\nactivation = \"tanh\"\n[record]\nboundary_grid = 2\n",
    )
    .unwrap();
    let histograms = tmp.path().join("at-init.toml");
    fs::write(
        &histograms,
        "name = \"at-init\"\nseeds = { count = 2 }\n[data]\nn_samples = 40\n\
         [model]\nhidden = [16, 16, 16]\nactivation = \"tanh\"\n[train]\nepochs = 0\n\
         [record]\nhistogram_bins = 20\nboundary_grid = 0\n\
         [sweep]\n\"model.init\" = [\"standard\", \"glorot_uniform\"]\n",
    )
    .unwrap();
    let depth = tmp.path().join("depth.toml");
    fs::write(
        &depth,
        "name = \"depth\"\n[data]\nn_samples = 40\n[model]\nhidden = [3]\n\
         activation = \"tanh\"\n[train]\nepochs = 2\n[record]\nevery = 1000\n\
         boundary_grid = 0\n[sweep]\n\"model.hidden\" = [[3], [3, 3], [3, 3, 3]]\n\
         \"model.activation\" = [\"sigmoid\", \"relu\"]\n\
         \"optimizer.kind\" = [\"sgd\", \"rmsprop\"]\n",
    )
    .unwrap();
    let (data, out) = (data.to_str().unwrap(), tmp.path().join("reports"));
    for file in [&many, &histograms, &depth] {
        assert_success(&vanishing(&[
            "run",
            "-q",
            "--out",
            data,
            file.to_str().unwrap(),
        ]));
    }
    assert_success(&vanishing(&[
        "report",
        "--data",
        data,
        "--out",
        out.to_str().unwrap(),
    ]));
    let page = out.join("index.html");
    let html = fs::read_to_string(&page).unwrap();
    for section in [
        "id=\"histograms\"",
        "id=\"depth-depth\"",
        "id=\"recursion\"",
    ] {
        assert!(html.contains(section), "the page lacks {section}");
    }

    // The first screen: charts are drawn lazily, so opening the page is quick however
    // many it holds.
    let (first, _) = dump_dom(&chromium, tmp.path(), &page, "", "first");
    let first_ms: u64 = attribute(&first, "data-first-screen-ms")
        .expect("the page timed its first screen")
        .parse()
        .unwrap();
    assert!(first_ms < 2000, "the first screen took {first_ms} ms");
    let drawn = first.matches("_echarts_instance_").count();
    let (containers, _) = chart_ids(&html);
    assert!(
        drawn < containers.len(),
        "all {drawn} charts were drawn up front"
    );

    // Then the whole page, walked through a screen at a time as a reader scrolls.
    let (dom, elapsed) = dump_dom(&chromium, tmp.path(), &page, "?walk", "walk");
    assert_eq!(
        attribute(&dom, "data-walked").as_deref(),
        Some("1"),
        "the walk did not reach the end of the page"
    );
    #[allow(clippy::print_stderr)]
    {
        eprintln!(
            "first screen {first_ms} ms (page clock), {} charts reached in {elapsed:.1?}",
            containers.len()
        );
    }
    assert_every_chart_rendered(&dom, &containers);
}

/// Every chart container of the page holds an initialised ECharts chart with a canvas
/// in the rendered `dom`, and the page's error box is empty.
#[track_caller]
fn assert_every_chart_rendered(dom: &str, containers: &[String]) {
    assert!(!containers.is_empty());
    for id in containers {
        let start = dom
            .find(&format!("id=\"{id}\""))
            .unwrap_or_else(|| panic!("{id} is not in the rendered page"));
        let open_tag_start = dom[..start].rfind('<').unwrap();
        let open_tag = &dom[open_tag_start..start + dom[start..].find('>').unwrap()];
        assert!(
            open_tag.contains("_echarts_instance_"),
            "{id} was not initialised: {open_tag}"
        );
        let next = dom[start..]
            .find("class=\"chart")
            .map_or(dom.len(), |i| start + i);
        assert!(dom[start..next].contains("<canvas"), "{id} holds no canvas");
    }
    // The page's error handler writes script errors into this element.
    let errors_at = dom
        .find("id=\"script-errors\"")
        .expect("the error box is in the page");
    let errors_end = errors_at + dom[errors_at..].find("</pre>").unwrap();
    let errors = &dom[errors_at + dom[errors_at..].find('>').unwrap() + 1..errors_end];
    assert!(errors.trim().is_empty(), "script errors: {errors}");
}

/// The number that follows `prefix` in `html` (up to the next space or parenthesis).
fn number_after(html: &str, prefix: &str) -> f64 {
    let start = html
        .find(prefix)
        .unwrap_or_else(|| panic!("the page lacks {prefix:?}"))
        + prefix.len();
    let end = start + html[start..].find([' ', ')', '<']).unwrap();
    html[start..end]
        .trim_end_matches('.')
        .parse()
        .unwrap_or_else(|e| panic!("{prefix:?} is followed by {:?}: {e}", &html[start..end]))
}

/// The shipped experiments, one seed each, make a report with every section of the
/// explanation, whose computed sentences say what theory predicts, and which renders
/// in a browser from top to bottom.
#[test]
fn the_shipped_experiments_explain_the_problem() {
    let tmp = tempfile::tempdir().unwrap();
    let experiments = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../experiments");
    let (data, out) = (tmp.path().join("data"), tmp.path().join("reports"));
    assert_success(&vanishing(&[
        "run",
        "-q",
        "--seeds",
        "1",
        experiments.to_str().unwrap(),
        "--out",
        data.to_str().unwrap(),
    ]));
    assert_success(&vanishing(&[
        "report",
        "--data",
        data.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]));
    let page = out.join("index.html");
    let html = fs::read_to_string(&page).unwrap();
    for anchor in [
        "tutorial",
        "results",
        "side-by-side",
        "why",
        "flow",
        "recursion",
        "saturation",
        "histograms",
        "updates",
        "sweeps",
        "ratio",
        "depth-depth-sweep",
        "details",
        // One figure of each kind, for the experiments that call for it.
        "flow-paper-init-preact-grad-at-initialization",
        "recursion-paper-init-tanh-standard",
        "saturation-deep-sigmoid-activation",
        "saturation-paper-train-activation",
        "histogram-paper-init-activation-tanh-init-standard-preact-grad",
        "updates-deep-sigmoid-sgd",
        "depth-depth-sweep-ratio-initial",
        "depth-depth-sweep-accuracy-sgd",
        "depth-depth-sweep-first-update-rmsprop-keras2",
        "fixes",
        "fixes-remedies",
        "fixes-remedies-ranking",
        "fixes-remedies-flow-at-initialization",
        "fixes-remedies-flow-after-training",
        "fixes-remedies-accuracy-adam",
        "fixes-remedies-accuracy-sgd",
    ] {
        assert!(
            html.contains(&format!("id=\"{anchor}\"")),
            "the page lacks #{anchor}"
        );
    }
    // At Glorot & Bengio's scale the recursion holds: a tanh layer with the standard
    // initialization divides the gradient's spread by about sqrt(3), a sigmoid layer by
    // about 7 (slope 1/4 at zero), and the normalized initialization keeps tanh near 1.
    for (config, low, high) in [
        ("tanh, standard", 1.5, 2.1),
        ("sigmoid, standard", 5.5, 9.0),
        ("tanh, glorot_uniform", 0.9, 1.15),
    ] {
        let at = html
            .find(&format!(
                "id=\"recursion-paper-init-{}\"",
                config.replace(", ", "-").replace('_', "-")
            ))
            .unwrap();
        let caption = &html[at..];
        let activation = config.split(',').next().unwrap();
        let measured = number_after(
            caption,
            &format!("Each {activation} layer divides the gradient's spread by "),
        );
        let theory = number_after(caption, "(theory divides it by ");
        assert!(
            (low..high).contains(&measured),
            "{config}: measured {measured}"
        );
        assert!(
            (measured / theory - 1.0).abs() < 0.1,
            "{config}: {measured} vs theory {theory}"
        );
    }
    // What fixes it: the plain 20-layer sigmoid network stays at chance with its first
    // layer cut off from the gradient, and batch normalization alone rescues it.
    let fixes = &html[html.find("id=\"fixes-remedies\"").unwrap()..];
    let plain = number_after(
        fixes,
        "Without any remedy, the 20-layer sigmoid network ends at a median accuracy of ",
    );
    assert!(
        plain < 0.6,
        "the plain deep sigmoid network learned: {plain}"
    );
    let ratio = number_after(fixes, "at initialization its first layer gets 10<sup>");
    assert!(
        ratio < -6.0,
        "the plain network's gradient ratio is 10^{ratio}"
    );
    let batch_norm = number_after(fixes, "batch norm reaches ");
    assert!(
        batch_norm > 0.8,
        "batch normalization alone reached {batch_norm}"
    );
    let Some(chromium) = find_chromium() else {
        assert!(
            std::env::var("VANISHING_REQUIRE_BROWSER").as_deref() != Ok("1"),
            "VANISHING_REQUIRE_BROWSER=1 but no Chromium was found"
        );
        return;
    };
    let (dom, _) = dump_dom(&chromium, tmp.path(), &page, "?walk", "shipped");
    assert_eq!(attribute(&dom, "data-walked").as_deref(), Some("1"));
    let (containers, _) = chart_ids(&html);
    assert!(containers.len() > 150, "only {} charts", containers.len());
    assert_every_chart_rendered(&dom, &containers);
}

/// The value of the first `name="..."` attribute in `dom`.
fn attribute(dom: &str, name: &str) -> Option<String> {
    let start = dom.find(&format!("{name}=\""))? + name.len() + 2;
    Some(dom[start..start + dom[start..].find('"')?].to_owned())
}

/// Opens `page` (with `query` appended to its URL) in headless Chromium and returns the
/// DOM after the scripts ran, and how long the browser took. The browser gets a
/// deadline: a page whose scripts never settle must fail the test, not hang it.
fn dump_dom(
    chromium: &Path,
    dir: &Path,
    page: &Path,
    query: &str,
    name: &str,
) -> (String, std::time::Duration) {
    let profile = dir.join(format!("chromium-profile-{name}"));
    let dom_file = dir.join(format!("dom-{name}.html"));
    let started = std::time::Instant::now();
    let mut child = Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--no-first-run",
            "--disable-sync",
            "--window-size=1280,900",
            "--virtual-time-budget=30000",
            "--dump-dom",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(format!("file://{}{query}", page.display()))
        .stdout(fs::File::create(&dom_file).unwrap())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("Chromium starts");
    let deadline = started + std::time::Duration::from_secs(180);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("Chromium did not finish rendering the report within 180 s");
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    };
    assert!(status.success(), "Chromium failed: {status}");
    (fs::read_to_string(&dom_file).unwrap(), started.elapsed())
}
