//! The HTML report of vanishing, drawn from the Parquet tables alone.
//!
//! [`write_report`] reads every experiment under a data folder through the analysis
//! crate's typed readers, [`render`] turns the resulting `ExperimentTables` into one
//! self-contained page (charming charts, with the ECharts script embedded so the page
//! opens from disk with no network), and the page is written atomically to
//! `index.html`. The page tells the story in order: the tutorial's results and
//! comparisons (`tutorial`), then why the gradient vanishes (`why`: gradient flow per
//! layer beside Glorot & Bengio's variance recursion, saturation over training,
//! histograms at initialization on shared bins, update sizes), then what fixes it
//! (`remedies`: He initialization, batch normalization, residual connections and
//! optimizers ranked on deep networks), then the paper's own setting (`paper`: sample
//! images of Shapeset-3x2 and the digits, drawn by `images`, and Table 1's test errors
//! beside the paper's), then the lab (`lab`: readers train networks of
//! their own in the page, on the core compiled to WebAssembly), then the sweeps
//! (`sweeps`: vanishing ratios and heatmaps over depth), the Keras comparison and every
//! experiment in detail. Every figure has a stable anchor and a caption computed from
//! the data, and charts are drawn lazily as they scroll into view. Failures are
//! [`ReportError`]s. This crate never trains and reads nothing but the tables.

mod agreement;
mod charts;
mod histograms;
mod images;
mod keras;
mod lab;
mod layer_charts;
mod page;
mod paper;
mod remedies;
mod series;
mod sweeps;
mod tutorial;
mod why;

use std::fs;
use std::path::{Path, PathBuf};

use vanishing_analysis::{
    AnalysisError, ExperimentTables, Histograms, Selection, is_keras, keras_pairs, read_all_with,
};

pub use agreement::agreement_markdown;
use page::Page;
use series::configs;

/// Experiments with more configurations than this are summarized (heatmaps over
/// depth, summary tables) rather than drawn configuration by configuration.
pub(crate) const MAX_DETAILED: usize = 12;

/// Why a report could not be made.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReportError {
    /// The tables could not be read (missing, empty, truncated, foreign, or missing a
    /// column); the message names the file or folder.
    #[error(transparent)]
    Tables(#[from] AnalysisError),
    /// The report's folder could not be created: input to fix (another `--out`).
    #[error("{}: cannot create the report's folder: {source}", path.display())]
    Folder {
        /// The folder.
        path: PathBuf,
        /// What the operating system said.
        source: std::io::Error,
    },
    /// The report could not be written.
    #[error("{}: {source}", path.display())]
    Write {
        /// The file or folder.
        path: PathBuf,
        /// What the operating system said.
        source: std::io::Error,
    },
}

/// The quantities whose history the report draws or computes from.
const DRAWN_QUANTITIES: [&str; 6] = [
    "weight",
    "weight_grad",
    "activation",
    "preact_grad",
    "slope",
    "update",
];

/// Reads every experiment under `data_dir` and writes `out_dir/index.html`, replacing
/// any previous report only once the new one is complete. Returns the page's path.
///
/// # Errors
/// [`ReportError::Tables`] for missing or unreadable tables (the previous report is
/// left as it was), [`ReportError::Write`] if the file cannot be written.
pub fn write_report(data_dir: &Path, out_dir: &Path) -> Result<PathBuf, ReportError> {
    // Before the tables are read, which takes a while for a large sweep.
    fs::create_dir_all(out_dir).map_err(|source| ReportError::Folder {
        path: out_dir.to_owned(),
        source,
    })?;
    // The report draws histograms at initialization only, never a bias or its gradient,
    // and the data and decision surface of one run per configuration; leaving the rest
    // on disk keeps a sweep of thousands of runs small in memory and quick to read.
    let experiments = read_all_with(
        data_dir,
        Selection {
            histograms: Histograms::Initial,
            quantities: Some(&DRAWN_QUANTITIES),
            first_run_points: true,
        },
    )?;
    let html = render(&experiments);
    let write_error = |path: &Path| {
        let path = path.to_owned();
        move |source| ReportError::Write { path, source }
    };
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
    let small: Vec<&ExperimentTables> = experiments
        .iter()
        .copied()
        .filter(|e| configs(e).len() <= MAX_DETAILED)
        .collect();
    let mut page = Page::default();
    page.front(INTRO);
    if !experiments.is_empty() {
        page.heading(2, "tutorial", "The tutorial's story");
        tutorial::results(&mut page, &small);
        tutorial::side_by_side(&mut page, &small);
        why::section(&mut page, &experiments);
        remedies::section(&mut page, &experiments);
        paper::section(&mut page, &experiments);
    }
    // The lab needs no tables: a page of no experiments still has it.
    lab::section(&mut page);
    if !experiments.is_empty() {
        page.heading(2, "sweeps", "Sweeps");
        sweeps::ratio(&mut page, &small);
        for e in experiments.iter().filter(|e| sweeps::is_depth_sweep(e)) {
            sweeps::depth_sweep(&mut page, e);
        }
    }
    if !pairs.is_empty() {
        keras::keras_section(&mut page, &pairs);
    }
    if !experiments.is_empty() {
        page.heading(2, "details", "Every experiment in detail");
        for &e in &experiments {
            tutorial::experiment(&mut page, e);
        }
    }
    page.finish("vanishing: the vanishing gradient, reproduced and explained")
}

/// A writer that appends to the page's HTML.
pub(crate) fn page_body(page: &mut Page) -> PageWriter<'_> {
    PageWriter(page)
}

/// Appends formatted text to a page.
pub(crate) struct PageWriter<'a>(&'a mut Page);

impl std::fmt::Write for PageWriter<'_> {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        self.0.html(s);
        Ok(())
    }
}

const INTRO: &str = r##"
<h1>The vanishing gradient, reproduced and explained</h1>
<p>Most networks here classify points of two concentric circles (scikit-learn's
<code>make_circles</code>). The experiments retrace a well-known tutorial: a small network
with a ReLU or a sigmoid hidden layer, then a deeper one with four hidden layers of five
units whose weights all start from a normal distribution with standard deviation 1,
trained with sigmoid, tanh and ReLU activations, and finally the same networks started
from Glorot's initialization instead. Then it measures why the gradient vanishes, as
Glorot &amp; Bengio (2010) did, tries the remedies found since (He initialization,
batch normalization, residual connections, adaptive optimizers) on deeper networks,
sweeps depth, activation, initialization and optimizer, and finally goes back to the
paper's own setting: 32x32 images of its Shapeset-3x2 and handwritten digits, with a
softmax over the classes.</p>
<p><b><a href="#lab">Train your own network in the lab</a></b>: pick a depth, an
activation, an initializer, normalization, skip connections and an optimizer, and watch
the gradient flow while it trains, right in this page.</p>
<p><b>How to read the charts.</b> Layers are numbered from the input: <code>hidden1</code>
is next to the data, <code>output</code> is the last layer. "Weight" charts show the mean
and standard deviation of each layer's weights after every epoch (epoch 0 is before
training). "Gradient" charts show the same statistics of the gradient of the loss with
respect to each layer's weights, taken on the first minibatch of every epoch before the
update. When the gradient's standard deviation in the first layers sits orders of
magnitude below the output layer's (note the logarithmic axis), the first layers barely
learn: that is the vanishing gradient. Where an experiment ran several seeds, a line is
the mean over seeds and the shaded band spans the lowest to the highest seed.</p>
"##;

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
        // The lab's seven charts are drawn by its own script (module `lab`).
        let containers = html.matches("<div class=\"chart").count() - 7;
        assert_eq!(
            html.matches("<div class=\"chart\" id=\"lab-chart-").count(),
            7
        );
        // Results strip, gradient flow (two quantities before and after training), ratio
        // bars, and 7 charts for the one configuration (no decision surface was
        // recorded, so a note stands in for it).
        assert_eq!(containers, 1 + 4 + 1 + 7);
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

    #[test]
    fn many_seeds_are_summarized_not_drawn_one_by_one() {
        let few: Vec<u64> = (0..charts::MAX_DOTS as u64).collect();
        let html = render(&[tables("few", &few)]);
        assert!(html.contains("one dot per seed") && !html.contains("\"type\":\"boxplot\""));
        let many: Vec<u64> = (0..=charts::MAX_DOTS as u64).collect();
        let html = render(&[tables("many", &many)]);
        assert!(html.contains("\"type\":\"boxplot\"") && !html.contains("one dot per seed"));
        // One box of five numbers, not a dot per seed.
        let option = &html[html.find("\"type\":\"boxplot\"").unwrap()..];
        let data = &option[option.find("\"data\":[[").unwrap() + 8..];
        let first_box = &data[..data.find(']').unwrap()];
        assert_eq!(first_box.split(',').count(), 5, "{first_box}");
        assert!(
            !data[data.find(']').unwrap() + 1..].starts_with(",["),
            "one box"
        );
    }
}
