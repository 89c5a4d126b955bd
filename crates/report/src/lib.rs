//! The HTML report of vanishing, drawn from the Parquet tables alone.
//!
//! [`write_report`] reads every experiment under a data folder through the analysis
//! crate's typed readers, [`render`] turns the resulting `ExperimentTables` into one
//! self-contained page (charming charts, with the ECharts script embedded so the page
//! opens from disk with no network), and the page is written atomically to
//! `index.html`. The page holds, per experiment and configuration, the tutorial's plots
//! (data, weight and gradient statistics per layer over epochs, loss, accuracy, the
//! decision surface), with multi-seed runs as mean lines in min-max bands, and across
//! experiments the comparisons the tutorial argues from. Failures are [`ReportError`]s.
//! This crate never trains and reads nothing but the tables.

mod agreement;
mod charts;
mod page;
mod series;

use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};

use vanishing_analysis::{
    AnalysisError, ExperimentTables, Histograms, Verdict, accuracy_summary, fidelity,
    final_accuracies, is_keras, keras_pairs, read_all_with, vanishing_ratios,
};

use agreement::TextTable;
pub use agreement::agreement_markdown;
use charts::Scale;
use page::{Page, escape};
use series::{Band, Config, configs, layer_bands, metric_bands};

/// Why a report could not be made.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReportError {
    /// The tables could not be read (missing, empty, truncated, foreign, or missing a
    /// column); the message names the file or folder.
    #[error(transparent)]
    Tables(#[from] AnalysisError),
    /// The report could not be written.
    #[error("{}: {source}", path.display())]
    Write {
        /// The file or folder.
        path: PathBuf,
        /// What the operating system said.
        source: std::io::Error,
    },
}

/// What the tutorial printed for its configurations (its data had no seed, so these
/// are single runs): experiment name, loss, accuracy, and the accuracy of its manual
/// training loop where it ran one.
const TUTORIAL: [(&str, f64, f64, Option<f64>); 6] = [
    ("shallow-relu", 0.240, 0.973, None),
    ("shallow-sigmoid", 0.693, 0.654, None),
    ("deeper-sigmoid", 0.692, 0.533, None),
    ("deep-sigmoid", 0.665, 0.588, Some(0.652)),
    ("deep-tanh", 0.0129, 0.993, Some(0.994)),
    ("deep-relu", 0.0169, 0.994, Some(0.995)),
];

/// Reads every experiment under `data_dir` and writes `out_dir/index.html`, replacing
/// any previous report only once the new one is complete. Returns the page's path.
///
/// # Errors
/// [`ReportError::Tables`] for missing or unreadable tables (the previous report is
/// left as it was), [`ReportError::Write`] if the file cannot be written.
pub fn write_report(data_dir: &Path, out_dir: &Path) -> Result<PathBuf, ReportError> {
    // The report draws no histograms; leaving them on disk keeps its memory small.
    let experiments = read_all_with(data_dir, Histograms::Skip)?;
    let html = render(&experiments);
    let write_error = |path: &Path| {
        let path = path.to_owned();
        move |source| ReportError::Write { path, source }
    };
    fs::create_dir_all(out_dir).map_err(write_error(out_dir))?;
    let target = out_dir.join("index.html");
    let staging = out_dir.join(format!(".index.html.{}.tmp", std::process::id()));
    fs::write(&staging, html).map_err(write_error(&staging))?;
    fs::rename(&staging, &target).map_err(|e| {
        let _ = fs::remove_file(&staging);
        ReportError::Write {
            path: target.clone(),
            source: e,
        }
    })?;
    Ok(target)
}

/// The report page for the given experiments.
pub fn render(all: &[ExperimentTables]) -> String {
    let pairs = keras_pairs(all);
    // Experiments replayed in Keras are the material of the comparison, and appear in
    // its section only; so do the Keras runs themselves.
    let experiments: Vec<&ExperimentTables> = all
        .iter()
        .filter(|e| !is_keras(e) && !pairs.iter().any(|(v, _)| std::ptr::eq(*v, *e)))
        .collect();
    let mut page = Page::default();
    page.html(INTRO);
    page.html("<nav><h2>Contents</h2><ul>");
    // With nothing but compared experiments, the overview sections would be empty.
    let overview = !experiments.is_empty();
    if overview {
        page.html("<li><a href=\"#results\">Results at a glance</a></li>");
        page.html(
            "<li><a href=\"#side-by-side\">Activations and initializations side by side</a></li>",
        );
        page.html("<li><a href=\"#ratio\">The vanishing ratio</a></li>");
    }
    if !pairs.is_empty() {
        page.html("<li><a href=\"#keras\">Keras vs vanishing</a></li>");
    }
    for e in &experiments {
        let _ = write!(
            page_body(&mut page),
            "<li><a href=\"#exp-{0}\">{0}</a></li>",
            escape(&e.name)
        );
    }
    page.html("</ul></nav>");
    if overview {
        results(&mut page, &experiments);
        side_by_side(&mut page, &experiments);
        ratio(&mut page, &experiments);
    }
    if !pairs.is_empty() {
        keras_section(&mut page, &pairs);
    }
    for &e in &experiments {
        experiment(&mut page, e);
    }
    page.finish("vanishing: the vanishing gradient, reproduced")
}

/// A writer that appends to the page's HTML.
fn page_body(page: &mut Page) -> PageWriter<'_> {
    PageWriter(page)
}

struct PageWriter<'a>(&'a mut Page);

impl std::fmt::Write for PageWriter<'_> {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        self.0.html(s);
        Ok(())
    }
}

const INTRO: &str = r#"
<h1>The vanishing gradient, reproduced</h1>
<p>Every network here classifies points of two concentric circles (scikit-learn's
<code>make_circles</code>). The experiments retrace a well-known tutorial: a small network
with a ReLU or a sigmoid hidden layer, then a deeper one with four hidden layers of five
units whose weights all start from a normal distribution with standard deviation 1,
trained with sigmoid, tanh and ReLU activations, and finally the same networks started
from Glorot's initialization instead.</p>
<p><b>How to read the charts.</b> Layers are numbered from the input: <code>hidden1</code>
is next to the data, <code>output</code> is the last layer. "Weight" charts show the mean
and standard deviation of each layer's weights after every epoch (epoch 0 is before
training). "Gradient" charts show the same statistics of the gradient of the loss with
respect to each layer's weights, taken on the first minibatch of every epoch before the
update. When the gradient's standard deviation in the first layers sits orders of
magnitude below the output layer's (note the logarithmic axis), the first layers barely
learn: that is the vanishing gradient. Where an experiment ran several seeds, a line is
the mean over seeds and the shaded band spans the lowest to the highest seed.</p>
"#;

/// The table of final accuracies beside the tutorial's numbers, and each seed's result.
fn results(page: &mut Page, experiments: &[&ExperimentTables]) {
    page.html("<h2 id=\"results\">Results at a glance</h2>");
    page.html(
        "<p class=\"note\">Final loss and accuracy on the training data after training, \
         mean &plusmn; standard deviation over seeds, next to what the tutorial printed for \
         the same configuration (one unseeded run each, so expect its numbers inside our \
         spread rather than equal to our mean).</p>",
    );
    page.html(
        "<table><thead><tr><th>experiment</th><th>configuration</th><th>seeds</th>\
         <th>accuracy</th><th>min&ndash;max</th><th>loss</th><th>diverged</th>\
         <th>tutorial accuracy</th><th>tutorial loss</th></tr></thead><tbody>",
    );
    let mut categories = Vec::new();
    let mut values = Vec::new();
    for e in experiments {
        for s in accuracy_summary(&e.runs) {
            let reference = TUTORIAL.iter().find(|t| t.0 == e.name && s.label == e.name);
            let (tut_acc, tut_loss) = match reference {
                Some((_, loss, acc, manual)) => (
                    match manual {
                        Some(m) => format!("{acc:.3} (manual loop {m:.3})"),
                        None => format!("{acc:.3}"),
                    },
                    format!("{loss}"),
                ),
                None => ("&ndash;".to_owned(), "&ndash;".to_owned()),
            };
            let _ = write!(
                page_body(page),
                "<tr><td>{}</td><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{:.3} &plusmn; {:.3}</td>\
                 <td class=\"num\">{:.3}&ndash;{:.3}</td><td class=\"num\">{:.4}</td><td class=\"num\">{}</td>\
                 <td class=\"num\">{tut_acc}</td><td class=\"num\">{tut_loss}</td></tr>",
                escape(&e.name),
                if s.label == e.name {
                    "&ndash;".to_owned()
                } else {
                    escape(&s.label)
                },
                s.runs,
                s.mean,
                s.std,
                s.min,
                s.max,
                s.mean_loss,
                s.diverged,
            );
            categories.push(if s.label == e.name {
                e.name.clone()
            } else {
                format!("{}: {}", e.name, s.label)
            });
            values.push(
                e.runs
                    .iter()
                    .filter(|r| r.label == s.label)
                    .map(|r| r.final_accuracy)
                    .collect::<Vec<_>>(),
            );
        }
    }
    page.html("</tbody></table>");
    let chart = charts::accuracy_strip(
        "Final training accuracy, one dot per seed",
        "where a configuration lands depends on the seed; the spread is part of the result",
        &categories,
        &values,
    );
    chart_by_rows(page, &chart, categories.len(), 28);
}

/// A full-width chart whose height grows with its number of category rows.
fn chart_by_rows(page: &mut Page, chart: &charming::Chart, rows: usize, row_height: usize) {
    let height = (120 + row_height * rows).max(300);
    page.html(&format!("<div style=\"--h:{height}px\">"));
    page.chart(chart, "wide tall");
    page.html("</div>");
}

/// Configurations of single-configuration experiments that differ only in activation
/// and initialization, drawn as small multiples with shared axes.
fn side_by_side(page: &mut Page, experiments: &[&ExperimentTables]) {
    page.html("<h2 id=\"side-by-side\">Activations and initializations side by side</h2>");
    page.html(
        "<p class=\"note\">Each row compares networks that differ only in their activation \
         (and, between rows, their initialization). The y axes are shared within a group, \
         so heights compare directly.</p>",
    );
    // Group experiments with one configuration by everything but activation and init.
    let mut groups: Vec<(String, Vec<(&ExperimentTables, Config<'_>)>)> = Vec::new();
    for e in experiments {
        let cs = configs(e);
        let [config] = cs.as_slice() else {
            continue;
        };
        let Some(run) = config.runs.first() else {
            continue;
        };
        let key = format!(
            "{} hidden units, {} data, {}, {} epochs, batch {}",
            run.hidden, run.data, run.optimizer, run.epochs, run.batch_size
        );
        match groups.iter_mut().find(|g| g.0 == key) {
            Some(g) => g.1.push((e, config.clone())),
            None => groups.push((key, vec![(e, config.clone())])),
        }
    }
    let mut drawn = 0;
    for (key, mut members) in groups.into_iter().filter(|g| g.1.len() >= 2) {
        members.sort_by_key(|(e, c)| {
            let run = c.runs[0];
            (
                init_order(&run.init),
                activation_order(&run.activation),
                e.name.clone(),
            )
        });
        let _ = write!(page_body(page), "<h3>{}</h3>", escape(&key));
        for (quantity, stat, y_name, what) in [
            (
                "weight_grad",
                Stat::Std,
                "std of dLoss/dW (log)",
                "Gradient std per layer",
            ),
            ("weight", Stat::Std, "std of W", "Weight std per layer"),
        ] {
            let all: Vec<Vec<Band>> = members
                .iter()
                .map(|(e, c)| layer_bands(e, c, quantity, |r| stat.of(r)))
                .collect();
            let scale = if quantity == "weight_grad" {
                shared_log(&all)
            } else {
                shared_linear(&all)
            };
            page.html("<div class=\"grid three\">");
            for ((e, c), bands) in members.iter().zip(&all) {
                let run = c.runs[0];
                let chart = charts::bands_over_epochs(
                    &format!("{what}: {}", e.name),
                    &format!("{}, init {}", run.activation, run.init),
                    y_name,
                    scale,
                    bands,
                );
                page.chart(&chart, "");
            }
            page.html("</div>");
        }
        drawn += 1;
    }
    if drawn == 0 {
        page.html("<p>No two experiments differ only in activation or initialization.</p>");
    }
}

fn activation_order(name: &str) -> usize {
    ["sigmoid", "tanh", "relu"]
        .iter()
        .position(|a| *a == name)
        .unwrap_or(9)
}

fn init_order(name: &str) -> usize {
    usize::from(!name.starts_with("normal"))
}

#[derive(Clone, Copy)]
enum Stat {
    Mean,
    Std,
}

impl Stat {
    fn of(self, row: &vanishing_analysis::HistoryRow) -> f64 {
        match self {
            Self::Mean => row.mean,
            Self::Std => row.std,
        }
    }
}

/// The smallest and largest value (mean, min or max) of every band that `keep` accepts.
fn value_range(all: &[Vec<Band>], keep: impl Fn(f64) -> bool) -> (f64, f64) {
    all.iter()
        .flatten()
        .flat_map(|b| &b.points)
        .flat_map(|p| [p.1, p.2, p.3])
        .filter(|&v| keep(v))
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
            (lo.min(v), hi.max(v))
        })
}

/// A log scale spanning every positive value of every band, in whole decades.
fn shared_log(all: &[Vec<Band>]) -> Scale {
    let (lo, hi) = value_range(all, |v| v.is_finite() && v > 0.0);
    if lo.is_finite() && hi.is_finite() {
        Scale::LogFixed(
            10f64.powf(lo.log10().floor()),
            10f64.powf(hi.log10().ceil()),
        )
    } else {
        Scale::Log
    }
}

/// A linear scale spanning every value of every band, with a little room.
fn shared_linear(all: &[Vec<Band>]) -> Scale {
    let (lo, hi) = value_range(all, f64::is_finite);
    if lo.is_finite() && hi > lo {
        let pad = 0.05 * (hi - lo);
        Scale::Fixed(
            ((lo - pad) * 100.0).floor() / 100.0,
            ((hi + pad) * 100.0).ceil() / 100.0,
        )
    } else {
        Scale::Linear
    }
}

/// The first layer's gradient spread relative to the last layer's, per configuration.
fn ratio(page: &mut Page, experiments: &[&ExperimentTables]) {
    page.html("<h2 id=\"ratio\">The vanishing ratio</h2>");
    page.html(
        "<p class=\"note\">The standard deviation of the first layer's weight gradient divided \
         by the last layer's, at initialization and at the end of training (geometric mean \
         over seeds). Far below 1, the layers near the input receive almost no signal.</p>",
    );
    let mut categories = Vec::new();
    let mut at_init = Vec::new();
    let mut at_end = Vec::new();
    for e in experiments {
        for r in vanishing_ratios(e) {
            categories.push(if r.label == e.name {
                e.name.clone()
            } else {
                format!("{}: {}", e.name, r.label)
            });
            at_init.push(r.at_init);
            at_end.push(r.at_end);
        }
    }
    let chart = charts::log_bars(
        "Vanishing ratio: std(dLoss/dW) of the first layer / of the last layer",
        "below 1: gradients shrink on their way back to the input",
        "ratio (log)",
        &categories,
        &[("at initialization", at_init), ("after training", at_end)],
    );
    page.chart(&chart, "wide tall");
}

/// A table of text cells as HTML: numbers right-aligned, a disagreement in bold.
fn html_table(page: &mut Page, table: &TextTable) {
    page.html("<table><thead><tr>");
    for h in table.headers {
        let _ = write!(page_body(page), "<th>{}</th>", escape(h));
    }
    page.html("</tr></thead><tbody>");
    for (row, verdict) in table.rows.iter().zip(&table.verdicts) {
        page.html("<tr>");
        for (i, cell) in row.iter().enumerate() {
            let cell = escape(cell);
            if i == 0 {
                let _ = write!(page_body(page), "<td>{cell}</td>");
            } else if i + 1 == row.len() {
                let bold = *verdict == Verdict::Disagrees;
                let (open, close) = if bold { ("<b>", "</b>") } else { ("", "") };
                let _ = write!(page_body(page), "<td>{open}{cell}{close}</td>");
            } else {
                let _ = write!(page_body(page), "<td class=\"num\">{cell}</td>");
            }
        }
        page.html("</tr>");
    }
    page.html("</tbody></table>");
}

/// The experiments run by both frameworks: medians side by side, with the verdict.
fn keras_section(page: &mut Page, pairs: &[(&ExperimentTables, &ExperimentTables)]) {
    page.html("<h2 id=\"keras\">Keras vs vanishing</h2>");
    page.html(
        "<p class=\"note\">The same configurations trained by Keras itself (through the \
         project's Keras harness, on scikit-learn's data generators) and by vanishing, over \
         many seeds each. The seeds do not give the same numbers in both (their random \
         generators differ), so the comparison is of distributions. Where the medians differ \
         by more than the tolerance while the sampling noise exceeds it too, the verdict is \
         \"unresolved\": more seeds are needed.</p>",
    );
    for (vanishing, keras) in pairs {
        let f = fidelity(vanishing, keras);
        let _ = write!(
            page_body(page),
            "<h3>{}</h3><p class=\"note\">vanishing {} against {}.</p><p class=\"note\">{}.</p>",
            escape(&f.experiment),
            escape(&vanishing.runs[0].framework_version),
            escape(&keras.runs[0].framework_version),
            escape(&agreement::gradient_caption()),
        );
        html_table(page, &agreement::gradient_table(&f));
        if !f.gradients.is_empty() {
            let categories: Vec<String> = f
                .gradients
                .iter()
                .map(|g| format!("{} · layer {}", g.label, g.layer))
                .collect();
            let chart = charts::log_dots(
                "Kernel-gradient std at initialization, median over seeds",
                "first minibatch, before any update; layer 1 is next to the input",
                "std of dLoss/dW (log)",
                &categories,
                &[
                    (
                        "vanishing",
                        f.gradients.iter().map(|g| g.vanishing).collect(),
                    ),
                    ("Keras", f.gradients.iter().map(|g| g.keras).collect()),
                ],
            );
            chart_by_rows(page, &chart, categories.len(), 22);
        }
        let _ = write!(
            page_body(page),
            "<p class=\"note\">{}.</p>",
            escape(&agreement::accuracy_caption())
        );
        html_table(page, &agreement::accuracy_table(&f));
        let (ours, theirs) = (final_accuracies(vanishing), final_accuracies(keras));
        let mut categories = Vec::new();
        let mut values = Vec::new();
        for a in &f.accuracy {
            for (framework, runs) in [("vanishing", &ours), ("Keras", &theirs)] {
                categories.push(format!("{} · {framework}", a.label));
                values.push(runs.get(a.label.as_str()).cloned().unwrap_or_default());
            }
        }
        if !categories.is_empty() {
            let chart = charts::accuracy_strip(
                "Final training accuracy, one dot per seed, both frameworks",
                "each configuration twice: trained by vanishing, then by Keras",
                &categories,
                &values,
            );
            chart_by_rows(page, &chart, categories.len(), 28);
        }
    }
}

/// Every configuration of one experiment: the tutorial's plots.
fn experiment(page: &mut Page, e: &ExperimentTables) {
    let _ = write!(
        page_body(page),
        "<h2 id=\"exp-{0}\">{0}</h2>",
        escape(&e.name)
    );
    if let Some(run) = e.runs.first().filter(|r| !r.description.is_empty()) {
        let _ = write!(page_body(page), "<p>{}</p>", escape(&run.description));
    }
    let all = configs(e);
    if all.len() > 1 {
        sweep_multiples(page, e, &all);
    }
    for c in &all {
        configuration(page, e, c);
    }
}

/// For a sweep: the gradient spread of every configuration on shared axes.
fn sweep_multiples(page: &mut Page, e: &ExperimentTables, all: &[Config<'_>]) {
    let bands: Vec<Vec<Band>> = all
        .iter()
        .map(|c| layer_bands(e, c, "weight_grad", |r| r.std))
        .collect();
    let scale = shared_log(&bands);
    page.html("<h3>Gradient std per layer, every configuration on one scale</h3><div class=\"grid three\">");
    for (c, b) in all.iter().zip(&bands) {
        let chart =
            charts::bands_over_epochs(c.label, &seeds_note(c), "std of dLoss/dW (log)", scale, b);
        page.chart(&chart, "");
    }
    page.html("</div>");
}

fn seeds_note(c: &Config<'_>) -> String {
    match c.runs.len() {
        1 => format!("seed {}", c.runs[0].seed),
        n => format!("{n} seeds: mean line, min-max band"),
    }
}

/// The tutorial's plots for one configuration.
fn configuration(page: &mut Page, e: &ExperimentTables, c: &Config<'_>) {
    let run = c.runs[0];
    let heading = c.title(&e.name);
    let _ = write!(
        page_body(page),
        "<h3>{}</h3><p class=\"note\">{} hidden layers ({}), {} activation, {} initialization, {}, \
         {} epochs in batches of {}; {}.</p>",
        escape(&heading),
        run.depth,
        escape(&run.hidden),
        escape(&run.activation),
        escape(&run.init),
        escape(&run.optimizer),
        run.epochs,
        run.batch_size,
        escape(&seeds_note(c)),
    );
    let note = seeds_note(c);
    page.html("<div class=\"grid\">");
    let points: Vec<_> = e
        .dataset
        .iter()
        .filter(|p| p.run_id == run.run_id && p.split == "train")
        .collect();
    page.chart(
        &charts::scatter(
            "Training data",
            &format!("seed {}, {} points", run.seed, points.len()),
            &points,
        ),
        "square",
    );
    let grid: Vec<_> = e
        .boundary
        .iter()
        .filter(|b| b.run_id == run.run_id)
        .collect();
    if grid.is_empty() {
        page.html(
            "<div class=\"placeholder note\">No decision surface was recorded for this run.</div>",
        );
    } else {
        page.chart(
            &charts::decision_surface(
                "Decision surface after training",
                &format!("predicted probability of class 1, seed {}", run.seed),
                &grid,
                &points,
            ),
            "square",
        );
    }
    let plots: [(&str, Stat, &str, &str, Scale); 4] = [
        (
            "weight",
            Stat::Mean,
            "Mean weight per layer",
            "mean of W",
            Scale::Linear,
        ),
        (
            "weight",
            Stat::Std,
            "Weight std per layer",
            "std of W",
            Scale::Linear,
        ),
        (
            "weight_grad",
            Stat::Mean,
            "Mean gradient per layer",
            "mean of dLoss/dW",
            Scale::Linear,
        ),
        (
            "weight_grad",
            Stat::Std,
            "Gradient std per layer (log)",
            "std of dLoss/dW",
            Scale::Log,
        ),
    ];
    for (quantity, stat, text, y_name, scale) in plots {
        let bands = layer_bands(e, c, quantity, |r| stat.of(r));
        page.chart(
            &charts::bands_over_epochs(text, &note, y_name, scale, &bands),
            "",
        );
    }
    let loss = metric_bands(e, c, false);
    page.chart(
        &charts::bands_over_epochs(
            "Loss",
            &format!("binary cross-entropy; {note}"),
            "loss",
            Scale::Linear,
            &loss,
        ),
        "",
    );
    let accuracy = metric_bands(e, c, true);
    page.chart(
        &charts::bands_over_epochs(
            "Accuracy",
            &note,
            "accuracy",
            Scale::Fixed(0.4, 1.0),
            &accuracy,
        ),
        "",
    );
    page.html("</div>");
}

#[cfg(test)]
mod tests {
    use vanishing_analysis::{HistoryRow, MetricRow, RunRow};

    use super::*;

    fn tables(name: &str, seeds: &[u64]) -> ExperimentTables {
        let runs: Vec<RunRow> = seeds
            .iter()
            .map(|&seed| RunRow {
                run_id: format!("{name}/s{seed}"),
                experiment: name.to_owned(),
                label: name.to_owned(),
                description: "A <test> & more.".to_owned(),
                seed,
                hidden: "3".to_owned(),
                depth: 1,
                epochs: 2,
                steps: 4,
                final_accuracy: 0.5 + 0.1 * seed as f64,
                ..RunRow::default()
            })
            .collect();
        let mut history = Vec::new();
        let mut metrics = Vec::new();
        for run in &runs {
            for step in [0, 2, 4] {
                for layer in 1..=2 {
                    history.push(HistoryRow {
                        run_id: run.run_id.clone(),
                        epoch: step / 2,
                        step,
                        layer,
                        layer_name: if layer == 2 {
                            "output".into()
                        } else {
                            "hidden1".into()
                        },
                        quantity: "weight_grad".into(),
                        std: 0.1 * layer as f64,
                        ..HistoryRow::default()
                    });
                }
                metrics.push(MetricRow {
                    run_id: run.run_id.clone(),
                    epoch: step / 2,
                    step,
                    split: "train".into(),
                    loss: 0.7,
                    accuracy: 0.5,
                });
            }
        }
        ExperimentTables {
            name: name.to_owned(),
            runs,
            history,
            metrics,
            ..ExperimentTables::default()
        }
    }

    #[test]
    fn every_chart_has_a_container_and_text_is_escaped() {
        let experiments = [tables("one", &[1, 2])];
        let html = render(&experiments);
        let containers = html.matches("<div class=\"chart").count();
        // Results strip, ratio bars, and 7 charts for the one configuration (no
        // decision surface was recorded, so a note stands in for it).
        assert_eq!(containers, 9);
        let options = html[html.rfind("var options = ").unwrap()..]
            .matches("\"chart-")
            .count();
        assert_eq!(options, containers);
        assert!(html.contains("No decision surface was recorded"));
        assert!(html.contains("A &lt;test&gt; &amp; more."));
        assert!(!html.contains("A <test>"));
        // The ratio of the first layer's std to the last's is 0.1 / 0.2.
        assert!(html.contains("\"at initialization\""), "no ratio series");
    }
}
