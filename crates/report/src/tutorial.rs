//! The tutorial's story: its results beside ours, its networks side by side, and the
//! detail of every experiment (data, weights and gradients over epochs, loss, accuracy,
//! decision surface).

use std::fmt::Write as _;

use vanishing_analysis::{ExperimentTables, accuracy_summary};

use crate::charts::{self, Scale};
use crate::page::{Page, escape, slug};
use crate::series::{
    Band, Config, band_caption, configs, layer_bands, metric_bands, num, shared_linear, shared_log,
};
use crate::{MAX_DETAILED, images, page_body};

/// What the tutorial printed for its configurations (its data had no seed, so these
/// are single runs): experiment name, loss, accuracy, and the accuracy of its manual
/// training loop where it ran one.
pub(crate) const TUTORIAL: [(&str, f64, f64, Option<f64>); 6] = [
    ("shallow-relu", 0.240, 0.973, None),
    ("shallow-sigmoid", 0.693, 0.654, None),
    ("deeper-sigmoid", 0.692, 0.533, None),
    ("deep-sigmoid", 0.665, 0.588, Some(0.652)),
    ("deep-tanh", 0.0129, 0.993, Some(0.994)),
    ("deep-relu", 0.0169, 0.994, Some(0.995)),
];

/// The table of final accuracies beside the tutorial's numbers, and each seed's result.
pub(crate) fn results(page: &mut Page, experiments: &[&ExperimentTables]) {
    page.heading(3, "results", "Results at a glance");
    page.html(
        "<p class=\"note\">Final loss and accuracy on the training data after training, \
         mean &plusmn; standard deviation over seeds, next to what the tutorial printed for \
         the same configuration (one unseeded run each, so expect its numbers inside our \
         spread rather than equal to our mean). Runs that diverged (a loss or weight became \
         NaN or infinite) are counted in their own column and left out of the means, \
         ranges and dots.</p>",
    );
    page.html(
        "<table><thead><tr><th>experiment</th><th>configuration</th><th>seeds</th>\
         <th>accuracy</th><th>min&ndash;max</th><th>loss</th><th>diverged</th>\
         <th>tutorial accuracy</th><th>tutorial loss</th></tr></thead><tbody>",
    );
    let mut categories = Vec::new();
    let mut values = Vec::new();
    // Experiments that only look at initialization trained nothing: their accuracy is
    // that of untrained networks, not a result, so they are named below instead.
    let (trained, untrained): (Vec<&&ExperimentTables>, Vec<&&ExperimentTables>) = experiments
        .iter()
        .partition(|e| e.runs.iter().any(|r| r.epochs > 0));
    for e in trained {
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
            let (accuracy, range, loss) = s.finished.map_or_else(
                || {
                    (
                        "all diverged".to_owned(),
                        "&ndash;".to_owned(),
                        "&ndash;".to_owned(),
                    )
                },
                |f| {
                    (
                        format!("{:.3} &plusmn; {:.3}", f.mean, f.std),
                        format!("{:.3}&ndash;{:.3}", f.min, f.max),
                        format!("{:.4}", f.mean_loss),
                    )
                },
            );
            let _ = write!(
                page_body(page),
                "<tr><td>{}</td><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{accuracy}</td>\
                 <td class=\"num\">{range}</td><td class=\"num\">{loss}</td><td class=\"num\">{}</td>\
                 <td class=\"num\">{tut_acc}</td><td class=\"num\">{tut_loss}</td></tr>",
                escape(&e.name),
                if s.label == e.name {
                    "&ndash;".to_owned()
                } else {
                    escape(&s.label)
                },
                s.runs,
                s.diverged,
            );
            let name = if s.label == e.name {
                e.name.clone()
            } else {
                format!("{}: {}", e.name, s.label)
            };
            // A diverged run's accuracy is that of a broken model: it is counted in
            // the category's name instead of drawn among the others.
            categories.push(if s.diverged > 0 {
                format!("{name} ({} diverged)", s.diverged)
            } else {
                name
            });
            values.push(
                e.runs
                    .iter()
                    .filter(|r| r.label == s.label && !r.diverged)
                    .map(|r| r.final_accuracy)
                    .collect::<Vec<_>>(),
            );
        }
    }
    page.html("</tbody></table>");
    if !untrained.is_empty() {
        let names: Vec<String> = untrained
            .iter()
            .map(|e| format!("<code>{}</code>", escape(&e.name)))
            .collect();
        let _ = write!(
            page_body(page),
            "<p class=\"note\">Not listed: {}, which look at networks at initialization \
             only (no epoch trained).</p>",
            names.join(", ")
        );
    }
    if categories.is_empty() {
        // A chart without categories draws nothing, and ECharts stops painting the
        // page's other charts over it.
        return;
    }
    let many = values.iter().any(|v| v.len() > charts::MAX_DOTS);
    let chart = if many {
        charts::accuracy_boxes(
            "Final training accuracy over seeds",
            "box: middle half of the seeds around the median; whiskers: lowest and highest seed",
            &categories,
            &values,
        )
    } else {
        charts::accuracy_strip(
            "Final training accuracy, one dot per seed",
            "where a configuration lands depends on the seed; the spread is part of the result",
            &categories,
            &values,
        )
    };
    let lowest = values
        .iter()
        .flatten()
        .copied()
        .fold(f64::INFINITY, f64::min);
    let highest = values
        .iter()
        .flatten()
        .copied()
        .fold(f64::NEG_INFINITY, f64::max);
    chart_by_rows(
        page,
        "results-accuracy",
        &chart,
        categories.len(),
        28,
        &format!(
            "{} runs of {} configurations; final accuracies from {} to {}.",
            values.iter().map(Vec::len).sum::<usize>(),
            categories.len(),
            num(lowest),
            num(highest)
        ),
    );
}

/// A full-width chart whose height grows with its number of category rows.
pub(crate) fn chart_by_rows(
    page: &mut Page,
    anchor: &str,
    chart: &charming::Chart,
    rows: usize,
    row_height: usize,
    caption: &str,
) {
    let height = (120 + row_height * rows).max(300);
    page.html(&format!("<div style=\"--h:{height}px\">"));
    page.chart(anchor, chart, "wide tall", caption);
    page.html("</div>");
}

/// Configurations of single-configuration experiments that differ only in activation
/// and initialization, drawn as small multiples with shared axes.
pub(crate) fn side_by_side(page: &mut Page, experiments: &[&ExperimentTables]) {
    page.heading(
        3,
        "side-by-side",
        "Activations and initializations side by side",
    );
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
                .map(|(_, c)| layer_bands(c, quantity, |r| stat.of(r)))
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
                page.chart(
                    &slug(&["side", &e.name, quantity]),
                    &chart,
                    "",
                    &band_caption(bands),
                );
            }
            page.html("</div>");
        }
        drawn += 1;
    }
    if drawn == 0 {
        page.html("<p>No two experiments differ only in activation or initialization.</p>");
    }
}

pub(crate) fn activation_order(name: &str) -> usize {
    ["sigmoid", "tanh", "relu"]
        .iter()
        .position(|a| *a == name)
        .unwrap_or(9)
}

pub(crate) fn init_order(name: &str) -> usize {
    usize::from(!name.starts_with("normal"))
}

#[derive(Clone, Copy)]
pub(crate) enum Stat {
    Mean,
    Std,
}

impl Stat {
    pub(crate) fn of(self, row: &vanishing_analysis::HistoryRow) -> f64 {
        match self {
            Self::Mean => row.mean,
            Self::Std => row.std,
        }
    }
}

/// Every configuration of one experiment: the tutorial's plots, for experiments that
/// trained and have few enough configurations to draw each; larger sweeps are
/// summarized where they are analysed.
pub(crate) fn experiment(page: &mut Page, e: &ExperimentTables) {
    page.heading(3, &format!("exp-{}", slug(&[&e.name])), &e.name);
    if let Some(run) = e.runs.first().filter(|r| !r.description.is_empty()) {
        let _ = write!(page_body(page), "<p>{}</p>", escape(&run.description));
    }
    let all = configs(e);
    let trained = e.runs.iter().any(|r| r.epochs > 0);
    if all.len() > MAX_DETAILED || !trained {
        let _ = write!(
            page_body(page),
            "<p class=\"note\">{} runs in {} configurations{}: summarized in the sections \
             above; the tables under <code>data/{}/</code> hold every record.</p>",
            e.runs.len(),
            all.len(),
            if trained { "" } else { ", none trained" },
            escape(&e.name)
        );
        return;
    }
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
        .map(|c| layer_bands(c, "weight_grad", |r| r.std))
        .collect();
    let scale = shared_log(&bands);
    page.html("<h3>Gradient std per layer, every configuration on one scale</h3><div class=\"grid three\">");
    for (c, b) in all.iter().zip(&bands) {
        let chart =
            charts::bands_over_epochs(c.label, &seeds_note(c), "std of dLoss/dW (log)", scale, b);
        page.chart(
            &slug(&["sweep", &e.name, c.label, "grad-std"]),
            &chart,
            "",
            &band_caption(b),
        );
    }
    page.html("</div>");
}

fn seeds_note(c: &Config<'_>) -> String {
    let drawn = c.runs.len() - c.diverged;
    let lines = match (drawn, c.runs.iter().find(|r| !r.diverged)) {
        (1, Some(run)) => format!("seed {}", run.seed),
        (0, _) | (_, None) => "nothing to draw".to_owned(),
        (n, _) => format!("{n} seeds: mean line, min-max band"),
    };
    match c.diverged {
        0 => lines,
        d if drawn == 0 => format!("every seed diverged ({d}); {lines}"),
        d => format!("{lines}; {d} diverged, left out"),
    }
}

/// The tutorial's plots for one configuration.
fn configuration(page: &mut Page, e: &ExperimentTables, c: &Config<'_>) {
    let run = c.runs[0];
    let heading = c.title(&e.name);
    let _ = write!(
        page_body(page),
        "<h4>{}</h4><p class=\"note\">{} hidden layers ({}), {} activation, {} initialization, {}, \
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
    let base = slug(&[&e.name, if c.label == e.name { "" } else { c.label }]);
    data_figure(page, &base, run, &points);
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
        let above = grid.iter().filter(|b| b.probability > 0.5).count();
        page.chart(
            &format!("{base}-surface"),
            &charts::decision_surface(
                "Decision surface after training",
                &format!("predicted probability of class 1, seed {}", run.seed),
                &grid,
                &points,
            ),
            "square",
            &format!(
                "The model predicts class 1 on {} of {} grid points; final accuracy {}.",
                above,
                grid.len(),
                num(run.final_accuracy)
            ),
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
        let bands = layer_bands(c, quantity, |r| stat.of(r));
        page.chart(
            &format!("{base}-{}", slug(&[text])),
            &charts::bands_over_epochs(text, &note, y_name, scale, &bands),
            "",
            &band_caption(&bands),
        );
    }
    let loss = metric_bands(c, false);
    page.chart(
        &format!("{base}-loss"),
        &charts::bands_over_epochs(
            "Loss",
            &format!("{}; {note}", loss_name(run)),
            "loss",
            Scale::Linear,
            &loss,
        ),
        "",
        &band_caption(&loss),
    );
    let accuracy = metric_bands(c, true);
    page.chart(
        &format!("{base}-accuracy"),
        &charts::bands_over_epochs(
            "Accuracy",
            &note,
            "accuracy",
            accuracy_scale(run),
            &accuracy,
        ),
        "",
        &band_caption(&accuracy),
    );
    page.html("</div>");
}

/// The data a run trained on: its points on the plane, a grid of its images, or for
/// other data a sentence saying what they are.
fn data_figure(
    page: &mut Page,
    base: &str,
    run: &vanishing_analysis::RunRow,
    points: &[&vanishing_analysis::PointRow],
) {
    // Tables written before the `features` column held points of the plane only.
    let features = points.first().map_or(2, |p| {
        if p.features.is_empty() {
            2
        } else {
            p.features.len()
        }
    });
    if let Some(side) = images::image_side(&run.data, features) {
        let _ = write!(
            page_body(page),
            "<figure class=\"samples\" id=\"{base}-data\">{}<figcaption>The first {} of the \
             {} training images kept in the tables (seed {}), {side}x{side} pixels, with their \
             classes.</figcaption></figure>",
            images::grid(&run.data, side, points),
            points.len().min(images::GRID_IMAGES),
            points.len(),
            run.seed,
        );
        return;
    }
    if features != 2 {
        let _ = write!(
            page_body(page),
            "<div class=\"placeholder note\">{} samples of {features} features \
             ({}): not drawn.</div>",
            run.n_samples,
            escape(&run.data),
        );
        return;
    }
    let class1 = points.iter().filter(|p| p.label == 1).count();
    page.chart(
        &format!("{base}-data"),
        &charts::scatter(
            "Training data",
            &format!("seed {}, {} points", run.seed, points.len()),
            points,
        ),
        "square",
        &format!(
            "{} points, {} of class 1, seed {}.",
            points.len(),
            class1,
            run.seed
        ),
    );
}

/// The loss a run minimized, in words, from its resolved configuration.
pub(crate) fn loss_name(run: &vanishing_analysis::RunRow) -> &'static str {
    let loss = run
        .config_toml
        .lines()
        .find_map(|l| l.strip_prefix("loss = "))
        .map(|v| v.trim().trim_matches('"'));
    match loss {
        Some("mse") => "mean squared error",
        Some("categorical_crossentropy") => "categorical cross-entropy",
        _ => "binary cross-entropy",
    }
}

/// The accuracy axis of a run: from 0.4 for a yes/no answer (chance is about a half),
/// from 0 for several classes, where chance is far lower.
pub(crate) fn accuracy_scale(run: &vanishing_analysis::RunRow) -> Scale {
    if run.output == "softmax" {
        Scale::Fixed(0.0, 1.0)
    } else {
        Scale::Fixed(0.4, 1.0)
    }
}
