//! Sweeps: the vanishing ratio of every configuration, and for sweeps over depth,
//! heatmaps of the ratio, the final accuracy and the first update over depth and
//! configuration.

use std::fmt::Write as _;

use vanishing_analysis::{
    ConfigSummary, ExperimentTables, Spread, config_summaries, vanishing_ratios,
};

use crate::charts;
use crate::layer_charts::heatmap;
use crate::page::{Page, escape, slug};
use crate::page_body;
use crate::series::num;
use crate::tutorial::{activation_order, init_order};

/// Depths a sweep must cover to be drawn as heatmaps over depth.
const MIN_DEPTHS: usize = 3;

/// Blue (vanishing) through white (ratio 1) to red (exploding), for log10 ratios.
const DIVERGING: [&str; 5] = ["#2166ac", "#92c5de", "#f7f7f7", "#f4a582", "#b2182b"];
/// Pale to dark green, for accuracies.
pub(crate) const SEQUENTIAL: [&str; 3] = ["#f7fcf5", "#a1d99b", "#238b45"];

/// How a heatmap colours and labels its cells.
#[derive(Clone, Copy)]
struct Colours {
    range: (f64, f64),
    colors: &'static [&'static str],
    /// Decimal places of the cell labels.
    decimals: i32,
}

impl Colours {
    /// Base-10 logarithms of ratios, white at 0.
    fn ratio(range: (f64, f64)) -> Self {
        Self {
            range,
            colors: &DIVERGING,
            decimals: 1,
        }
    }
}

/// The first layer's gradient spread relative to the last layer's, per configuration.
pub(crate) fn ratio(page: &mut Page, experiments: &[&ExperimentTables]) {
    page.heading(3, "ratio", "The vanishing ratio");
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
    if categories.is_empty() {
        page.html("<p>No experiment small enough to list configuration by configuration.</p>");
        return;
    }
    let chart_below = at_init.iter().filter(|&&v| v < 0.1).count();
    let chart = charts::log_bars(
        "Vanishing ratio: std(dLoss/dW) of the first layer / of the last layer",
        "below 1: gradients shrink on their way back to the input",
        "ratio (log)",
        &categories,
        &[("at initialization", at_init), ("after training", at_end)],
    );
    let below = chart_below;
    let height = (120 + 30 * categories.len()).max(300);
    page.html(&format!("<div style=\"--h:{height}px\">"));
    page.chart(
        "ratio-bars",
        &chart,
        "wide tall",
        &format!(
            "{below} of {} configurations start with a first layer receiving under a tenth \
             of the last layer's gradient spread.",
            categories.len()
        ),
    );
    page.html("</div>");
}

/// Whether an experiment sweeps over enough depths to be drawn over depth.
pub(crate) fn is_depth_sweep(e: &ExperimentTables) -> bool {
    let mut depths: Vec<i64> = e.runs.iter().map(|r| r.depth).collect();
    depths.sort_unstable();
    depths.dedup();
    depths.len() >= MIN_DEPTHS
}

/// One heatmap per optimizer (or one for all, for values at initialization, which the
/// optimizer cannot change): depth along, activation and initialization down.
pub(crate) fn depth_sweep(page: &mut Page, e: &ExperimentTables) {
    let summaries = config_summaries(e);
    let mut depths: Vec<i64> = summaries.iter().map(|s| s.depth).collect();
    depths.sort_unstable();
    depths.dedup();
    let mut rows: Vec<(String, String)> = summaries
        .iter()
        .map(|s| (s.activation.clone(), s.init.clone()))
        .collect();
    rows.sort_by_key(|(a, i)| (activation_order(a), init_order(i), a.clone(), i.clone()));
    rows.dedup();
    let mut optimizers: Vec<&str> = summaries.iter().map(|s| s.optimizer.as_str()).collect();
    optimizers.sort_unstable();
    optimizers.dedup();
    page.heading(
        3,
        &slug(&["depth", &e.name]),
        &format!("Over depth: {}", e.name),
    );
    if let Some(run) = e.runs.first() {
        let _ = write!(
            page_body(page),
            "<p>{}</p><p class=\"note\">Each cell is the median over {} seeds. The ratio is \
             the standard deviation of the first layer's weight gradient over the output \
             layer's, shown as its base-10 logarithm: 0 means no loss on the way back, -2 a \
             hundredfold loss. Empty cells have no finite value: every seed diverged, or a \
             gradient was exactly zero (dead ReLU units).</p>",
            escape(&run.description),
            summaries
                .first()
                .and_then(|s| s.accuracy.map(|a| a.n))
                .unwrap_or(0)
        );
    }
    let xs: Vec<String> = depths.iter().map(ToString::to_string).collect();
    let ys: Vec<String> = rows.iter().map(|(a, i)| format!("{a}, {i}")).collect();
    let cells = |keep: &dyn Fn(&ConfigSummary) -> bool,
                 value: &dyn Fn(&ConfigSummary) -> Option<Spread>,
                 log: bool| {
        summaries
            .iter()
            .filter(|s| keep(s))
            .filter_map(|s| {
                let x = depths.iter().position(|&d| d == s.depth)?;
                let y = rows
                    .iter()
                    .position(|(a, i)| *a == s.activation && *i == s.init)?;
                let v = value(s)?.median;
                let v = if log { v.log10() } else { v };
                v.is_finite().then_some((x, y, v))
            })
            .collect::<Vec<_>>()
    };
    let ratio_range = |all: &[Vec<(usize, usize, f64)>]| {
        let m = all
            .iter()
            .flatten()
            .map(|c| c.2.abs())
            .fold(1.0_f64, f64::max)
            .ceil();
        (-m, m)
    };
    let height = (160 + 26 * ys.len()).max(360);
    let draw = |page: &mut Page,
                anchor: String,
                title: &str,
                sub: &str,
                cells: &[(usize, usize, f64)],
                colours: Colours,
                caption: String| {
        let chart = heatmap(
            title,
            sub,
            "hidden layers",
            &xs,
            &ys,
            cells,
            colours.range,
            colours.colors,
            colours.decimals,
        );
        page.html(&format!("<div style=\"--h:{height}px\">"));
        page.chart(&anchor, &chart, "wide tall", &caption);
        page.html("</div>");
    };
    // At initialization, every optimizer sees the same network: one map.
    let first = optimizers.first().copied().unwrap_or("");
    let init = cells(&|s| s.optimizer == first, &|s| s.ratio_initial, true);
    let finals: Vec<Vec<(usize, usize, f64)>> = optimizers
        .iter()
        .map(|o| cells(&|s| s.optimizer == *o, &|s| s.ratio_final, true))
        .collect();
    let mut all = finals.clone();
    all.push(init.clone());
    let range = ratio_range(&all);
    let deepest = |cs: &[(usize, usize, f64)]| {
        cs.iter()
            .filter(|c| c.0 + 1 == xs.len())
            .map(|c| c.2)
            .fold(f64::INFINITY, f64::min)
    };
    draw(
        page,
        slug(&["depth", &e.name, "ratio-initial"]),
        "Vanishing ratio at initialization (log10)",
        "std(dLoss/dW) of the first layer over the output layer's, before training",
        &init,
        Colours::ratio(range),
        format!(
            "At {} hidden layers the smallest ratio is 10^{}.",
            xs.last().cloned().unwrap_or_default(),
            num(deepest(&init))
        ),
    );
    for (o, cs) in optimizers.iter().zip(&finals) {
        draw(
            page,
            slug(&["depth", &e.name, "ratio-final", o]),
            &format!("Vanishing ratio after training with {o} (log10)"),
            "the same ratio at the last record",
            cs,
            Colours::ratio(range),
            format!(
                "After training with {o}, the smallest ratio at the greatest depth is 10^{}.",
                num(deepest(cs))
            ),
        );
    }
    for o in &optimizers {
        let cs = cells(&|s| s.optimizer == *o, &|s| s.accuracy, false);
        let learned = cs.iter().filter(|c| c.2 >= 0.9).count();
        draw(
            page,
            slug(&["depth", &e.name, "accuracy", o]),
            &format!("Final training accuracy with {o}"),
            "median over seeds; chance is 0.5",
            &cs,
            Colours {
                range: (0.4, 1.0),
                colors: &SEQUENTIAL,
                decimals: 2,
            },
            format!(
                "With {o}, {learned} of {} configurations reach an accuracy of 0.9 or more.",
                cs.len()
            ),
        );
    }
    let updates: Vec<Vec<(usize, usize, f64)>> = optimizers
        .iter()
        .map(|o| cells(&|s| s.optimizer == *o, &|s| s.first_update, true))
        .collect();
    let lo = updates
        .iter()
        .flatten()
        .map(|c| c.2)
        .fold(f64::INFINITY, f64::min)
        .floor();
    let hi = updates
        .iter()
        .flatten()
        .map(|c| c.2)
        .fold(f64::NEG_INFINITY, f64::max)
        .ceil();
    for (o, cs) in optimizers.iter().zip(&updates) {
        let median = Spread::of(cs.iter().map(|c| c.2)).map_or(f64::NAN, |s| s.median);
        draw(
            page,
            slug(&["depth", &e.name, "first-update", o]),
            &format!("First step with {o}: the first layer's update over its weights (log10)"),
            "rms(update) / rms(W) of the layer next to the input, at the first step",
            cs,
            Colours {
                range: (lo, hi),
                colors: &SEQUENTIAL,
                decimals: 1,
            },
            format!(
                "With {o} the first step moves the first layer's weights by a median 10^{} of their size.",
                num(median)
            ),
        );
    }
}
