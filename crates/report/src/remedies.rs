//! "What fixes it": the remedies of a sweep over initialization, normalization, skip
//! connections and optimizer, side by side on the same deep networks. A ranking of what
//! rescues the deepest network of the most affected activation, its gradient-flow
//! profile under every remedy before and after training, and the final accuracy of
//! every activation, depth and remedy per optimizer. Every sentence is computed from
//! the configuration summaries ([`ConfigSummary`]).

use std::fmt::Write as _;

use vanishing_analysis::{ConfigSummary, ExperimentTables, Flow, Moment, Spread};

use crate::charts::PALETTE;
use crate::layer_charts::{Trace, heatmap, lines_over};
use crate::page::{Page, escape, slug};
use crate::page_body;
use crate::series::num;
use crate::sweeps::SEQUENTIAL;
use crate::tutorial::activation_order;
use crate::why::traces_log;

/// The accuracy that counts as learning the task (chance is 0.5).
const LEARNED: f64 = 0.9;

/// What a configuration changes against the plain network: its remedies.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Remedy {
    he_init: bool,
    norm: String,
    residual: bool,
}

impl Remedy {
    fn of(s: &ConfigSummary) -> Self {
        Self {
            he_init: s.init.starts_with("he_"),
            norm: s.norm.clone(),
            residual: s.residual,
        }
    }

    /// The remedies in words, `He init + batch norm + residual`, or `no remedy`.
    fn name(&self) -> String {
        let mut parts = Vec::new();
        if self.he_init {
            parts.push("He init".to_owned());
        }
        if self.norm != "none" {
            parts.push(format!("{} norm", self.norm));
        }
        if self.residual {
            parts.push("residual".to_owned());
        }
        if parts.is_empty() {
            "no remedy".to_owned()
        } else {
            parts.join(" + ")
        }
    }

    fn count(&self) -> usize {
        usize::from(self.he_init) + usize::from(self.norm != "none") + usize::from(self.residual)
    }
}

/// Whether an experiment compares remedies: more than one normalization or skip setting.
pub(crate) fn is_remedy_sweep(e: &ExperimentTables) -> bool {
    let mut kinds: Vec<(&str, bool)> = e
        .runs
        .iter()
        .map(|r| (r.norm.as_str(), r.residual))
        .collect();
    kinds.sort_unstable();
    kinds.dedup();
    kinds.len() > 1
}

/// The section, for every remedy sweep among `experiments`.
pub(crate) fn section(page: &mut Page, experiments: &[&ExperimentTables]) {
    let sweeps: Vec<&ExperimentTables> = experiments
        .iter()
        .copied()
        .filter(|e| is_remedy_sweep(e))
        .collect();
    if sweeps.is_empty() {
        return;
    }
    page.heading(2, "fixes", "What fixes it");
    page.html(
        "<p>The tutorial stops at Glorot's initialization. Since then the field has found \
         several ways to keep the gradient alive in deep networks: an initialization scaled \
         for ReLU (He et al. 2015), normalizing every layer's pre-activations over the \
         minibatch (batch normalization, Ioffe &amp; Szegedy 2015), adding each layer's input \
         to its output so that the gradient has a path around every activation (residual \
         connections, He et al. 2016), and optimizers that rescale small gradients \
         (RMSprop, Adam). Here they are tried alone and together on the same deep networks, \
         with the same data and seeds.</p>",
    );
    for e in sweeps {
        remedy_sweep(page, e);
    }
}

/// Depths of the summaries, ascending.
fn depths(summaries: &[ConfigSummary]) -> Vec<i64> {
    let mut d: Vec<i64> = summaries.iter().map(|s| s.depth).collect();
    d.sort_unstable();
    d.dedup();
    d
}

fn sorted_unique<'a>(values: impl Iterator<Item = &'a str>) -> Vec<&'a str> {
    let mut v: Vec<&str> = values.collect();
    v.sort_unstable();
    v.dedup();
    v
}

fn median(s: Option<Spread>) -> f64 {
    s.map_or(f64::NAN, |s| s.median)
}

/// `0.97 (0.95–0.98)`: a median with its interquartile range, or `–`.
fn with_range(s: Option<Spread>) -> String {
    s.map_or("&ndash;".to_owned(), |s| {
        format!("{} ({}&ndash;{})", num(s.median), num(s.q1), num(s.q3))
    })
}

/// `10<sup>-3.2</sup>`: a ratio's median as a power of ten, or `–`.
fn power(s: Option<Spread>) -> String {
    match s.map(|s| s.median.log10()) {
        Some(v) if v.is_finite() => format!("10<sup>{}</sup>", exponent(v)),
        _ => "&ndash;".to_owned(),
    }
}

/// A base-10 exponent to one decimal, without a negative zero.
fn exponent(v: f64) -> String {
    let rounded = (v * 10.0).round() / 10.0;
    format!("{:.1}", if rounded == 0.0 { 0.0 } else { rounded })
}

fn remedy_sweep(page: &mut Page, e: &ExperimentTables) {
    let summaries = Flow::new(e).config_summaries();
    let depths = depths(&summaries);
    let Some(&deepest) = depths.last() else {
        return;
    };
    let mut activations = sorted_unique(summaries.iter().map(|s| s.activation.as_str()));
    activations.sort_by_key(|a| activation_order(a));
    // The deep sigmoid network is the tutorial's patient; without one, the first
    // activation in the tutorial's order.
    let Some(&patient) = activations
        .iter()
        .find(|a| **a == "sigmoid")
        .or(activations.first())
    else {
        return;
    };
    let optimizers = sorted_unique(summaries.iter().map(|s| s.optimizer.as_str()));
    let mut remedies: Vec<Remedy> = summaries.iter().map(Remedy::of).collect();
    remedies.sort_by_key(|r| (r.count(), r.clone()));
    remedies.dedup();
    let seeds = summaries
        .iter()
        .filter_map(|s| s.accuracy.map(|a| a.n))
        .max()
        .unwrap_or(0);
    page.heading(
        3,
        &slug(&["fixes", &e.name]),
        &format!("Every remedy on the same deep networks ({})", e.name),
    );
    if let Some(run) = e.runs.first() {
        let baseline_init = summaries
            .iter()
            .find(|s| Remedy::of(s).count() == 0)
            .map_or("the file's", |s| s.init.as_str());
        let _ = write!(
            page_body(page),
            "<p>{}</p><p class=\"note\">Every value is the median over {seeds} seeds (interquartile \
             range in brackets). \"No remedy\" is {} initialization, no normalization and no skip \
             connections; batch normalization sits between every hidden layer's product and its \
             activation, and evaluation uses its moving statistics. The ratio is the standard \
             deviation of the first layer's weight gradient over the output layer's.</p>",
            escape(&run.description),
            escape(baseline_init)
        );
    }
    let deep: Vec<&ConfigSummary> = summaries
        .iter()
        .filter(|s| s.activation == patient && s.depth == deepest)
        .collect();
    summary_sentences(page, &deep, patient, deepest);
    ranking(page, e, &summaries, &deep, &depths, patient);
    profiles(page, e, &deep, &remedies, patient, deepest);
    accuracy_maps(
        page,
        e,
        &summaries,
        &remedies,
        &activations,
        &depths,
        &optimizers,
    );
}

/// The best configuration among `candidates`, by median final accuracy.
fn best<'a>(candidates: &[&'a ConfigSummary]) -> Option<&'a ConfigSummary> {
    candidates
        .iter()
        .copied()
        .filter(|s| median(s.accuracy).is_finite())
        .max_by(|a, b| median(a.accuracy).total_cmp(&median(b.accuracy)))
}
/// What the data says about the deepest patient network, in sentences.
fn summary_sentences(page: &mut Page, deep: &[&ConfigSummary], patient: &str, depth: i64) {
    let mut text = String::new();
    let plain: Vec<&ConfigSummary> = deep
        .iter()
        .copied()
        .filter(|s| Remedy::of(s).count() == 0)
        .collect();
    if let Some(b) = best(&plain) {
        let _ = write!(
            text,
            "Without any remedy, the {depth}-layer {patient} network ends at a median accuracy \
             of {} even with its best optimizer ({}); at initialization its first layer gets \
             {} of the output layer's gradient spread. ",
            num(median(b.accuracy)),
            escape(&b.optimizer),
            power(b.ratio_initial)
        );
    }
    let mut singles: Vec<(String, &ConfigSummary)> = Vec::new();
    let mut single_remedies: Vec<Remedy> = deep
        .iter()
        .map(|s| Remedy::of(s))
        .filter(|r| r.count() == 1)
        .collect();
    single_remedies.sort();
    single_remedies.dedup();
    for r in &single_remedies {
        let of_r: Vec<&ConfigSummary> = deep
            .iter()
            .copied()
            .filter(|s| Remedy::of(s) == *r)
            .collect();
        if let Some(b) = best(&of_r) {
            singles.push((r.name(), b));
        }
    }
    singles.sort_by(|a, b| median(b.1.accuracy).total_cmp(&median(a.1.accuracy)));
    if !singles.is_empty() {
        let list: Vec<String> = singles
            .iter()
            .map(|(name, s)| {
                format!(
                    "{} reaches {} ({})",
                    escape(name),
                    num(median(s.accuracy)),
                    escape(&s.optimizer)
                )
            })
            .collect();
        let _ = write!(text, "Alone, at its best: {}. ", list.join("; "));
    }
    let combined: Vec<&ConfigSummary> = deep
        .iter()
        .copied()
        .filter(|s| Remedy::of(s).count() > 1)
        .collect();
    if let Some(b) = best(&combined) {
        let _ = write!(
            text,
            "The best combination is {} with {}: {}. ",
            escape(&Remedy::of(b).name()),
            escape(&b.optimizer),
            num(median(b.accuracy))
        );
    }
    let learned = deep
        .iter()
        .filter(|s| median(s.accuracy) >= LEARNED)
        .count();
    let _ = write!(
        text,
        "{learned} of its {} configurations reach an accuracy of {LEARNED} or more.",
        deep.len()
    );
    page.html(&format!("<p>{text}</p>"));
}

/// The table ranking every configuration of the deepest patient network.
fn ranking(
    page: &mut Page,
    e: &ExperimentTables,
    summaries: &[ConfigSummary],
    deep: &[&ConfigSummary],
    depths: &[i64],
    patient: &str,
) {
    let deepest = depths.last().copied().unwrap_or(0);
    let shallower: Vec<i64> = depths.iter().copied().filter(|&d| d != deepest).collect();
    let mut rows: Vec<&ConfigSummary> = deep.to_vec();
    rows.sort_by(|a, b| {
        median(b.accuracy)
            .total_cmp(&median(a.accuracy))
            .then_with(|| Remedy::of(a).name().cmp(&Remedy::of(b).name()))
            .then_with(|| a.optimizer.cmp(&b.optimizer))
    });
    let mut html = format!(
        "<table id=\"{}\"><caption>What rescues the {deepest}-layer {} network, best first \
         (final training accuracy; chance is 0.5)</caption><thead><tr><th>rank</th>\
         <th>remedies</th><th>optimizer</th><th>accuracy, {deepest} layers</th>",
        slug(&["fixes", &e.name, "ranking"]),
        escape(patient)
    );
    for d in &shallower {
        let _ = write!(html, "<th>accuracy, {d} layers</th>");
    }
    html.push_str("<th>ratio at init</th><th>ratio after training</th></tr></thead><tbody>");
    for (rank, s) in rows.iter().enumerate() {
        let remedy = Remedy::of(s);
        let _ = write!(
            html,
            "<tr><td class=\"num\">{}</td><td>{}</td><td>{}</td><td class=\"num\">{}</td>",
            rank + 1,
            escape(&remedy.name()),
            escape(&s.optimizer),
            with_range(s.accuracy)
        );
        for &d in &shallower {
            let same = summaries.iter().find(|o| {
                o.depth == d
                    && o.activation == s.activation
                    && o.optimizer == s.optimizer
                    && Remedy::of(o) == remedy
            });
            let _ = write!(
                html,
                "<td class=\"num\">{}</td>",
                with_range(same.and_then(|o| o.accuracy))
            );
        }
        let _ = write!(
            html,
            "<td class=\"num\">{}</td><td class=\"num\">{}</td></tr>",
            power(s.ratio_initial),
            power(s.ratio_final)
        );
    }
    html.push_str("</tbody></table>");
    page.html(&html);
}

/// The spread of the back-propagated gradient per layer of the deepest patient network,
/// one line per remedy, at initialization and after training with the optimizer that
/// did best for it, on one shared log axis.
fn profiles(
    page: &mut Page,
    e: &ExperimentTables,
    deep: &[&ConfigSummary],
    remedies: &[Remedy],
    patient: &str,
    depth: i64,
) {
    let Some(best_overall) = best(deep) else {
        return;
    };
    let optimizer = best_overall.optimizer.as_str();
    let flow = Flow::new(e);
    let members: Vec<(&Remedy, &ConfigSummary)> = remedies
        .iter()
        .filter_map(|r| {
            deep.iter()
                .find(|s| s.optimizer == optimizer && Remedy::of(s) == *r)
                .map(|s| (r, *s))
        })
        .collect();
    let layers: Vec<String> = members
        .iter()
        .map(|(_, s)| {
            flow.layer_profile(&s.label, "preact_grad", Moment::Initial, |r| r.std)
                .into_iter()
                .map(|p| p.layer_name)
                .collect::<Vec<_>>()
        })
        .max_by_key(Vec::len)
        .unwrap_or_default();
    // One colour per initialization and normalization, dashed with residual
    // connections: a remedy's line and its residual twin share a colour.
    let mut bases: Vec<(bool, &str)> = Vec::new();
    for (r, _) in &members {
        if !bases.contains(&(r.he_init, r.norm.as_str())) {
            bases.push((r.he_init, r.norm.as_str()));
        }
    }
    let colour = |r: &Remedy| {
        let i = bases
            .iter()
            .position(|&(he, norm)| he == r.he_init && norm == r.norm)
            .unwrap_or(0);
        PALETTE[i % PALETTE.len()]
    };
    let moments = [
        (Moment::Initial, "at initialization"),
        (Moment::Final, "after training"),
    ];
    let per_moment: Vec<Vec<Trace>> = moments
        .iter()
        .map(|&(moment, _)| {
            members
                .iter()
                .map(|(r, s)| {
                    let profile = flow.layer_profile(&s.label, "preact_grad", moment, |r| r.std);
                    Trace {
                        name: r.name(),
                        color: colour(r),
                        dashed: r.residual,
                        points: layers
                            .iter()
                            .map(|l| {
                                profile
                                    .iter()
                                    .find(|p| p.layer_name == *l)
                                    .map(|p| (p.spread.median, p.spread.q1, p.spread.q3))
                            })
                            .collect(),
                    }
                })
                .collect()
        })
        .collect();
    let all: Vec<&[Trace]> = per_moment.iter().map(Vec::as_slice).collect();
    let scale = traces_log(&all);
    page.html(&format!(
        "<p class=\"note\">The spread of dC/ds, the gradient at each layer's pre-activation, \
         layer by layer for the {depth}-layer {} network under every remedy (training with {}, \
         the optimizer of its best configuration). A line falling towards the input side \
         (left) is a vanishing gradient; dashed lines have residual connections.</p>",
        escape(patient),
        escape(optimizer)
    ));
    // Twelve remedies need the page's width for their legend, and twenty layers for
    // their labels: one chart per row, layers by number.
    let numbers: Vec<String> = layers
        .iter()
        .map(|l| l.strip_prefix("hidden").unwrap_or(l).to_owned())
        .collect();
    for ((_, when), traces) in moments.iter().zip(&per_moment) {
        let chart = lines_over(
            &format!("std of dC/ds per layer, {when}"),
            &format!("{depth} hidden layers, {patient}, {optimizer}"),
            "hidden layer (input side left)",
            &numbers,
            "std of dC/ds (log)",
            scale,
            traces,
        );
        page.chart(
            &slug(&["fixes", &e.name, "flow", when]),
            &chart,
            "wide",
            &profile_caption(traces, when),
        );
    }
}

/// "At initialization, the first layer's dC/ds is 10^-13.2 times the output layer's with
/// no remedy and 10^0.4 times with batch norm": the extremes among the traces.
fn profile_caption(traces: &[Trace], when: &str) -> String {
    let change = |t: &Trace| {
        let first = t.points.first().copied().flatten()?.0;
        let last = t.points.last().copied().flatten()?.0;
        let v = (first / last).log10();
        v.is_finite().then_some(v)
    };
    let mut changes: Vec<(f64, &str)> = traces
        .iter()
        .filter_map(|t| change(t).map(|c| (c, t.name.as_str())))
        .collect();
    changes.sort_by(|a, b| a.0.total_cmp(&b.0));
    let when = capitalized(when);
    match (changes.first(), changes.last()) {
        (Some(most), Some(least)) if changes.len() > 1 => format!(
            "{when}, the first layer's dC/ds is 10^{} times the output layer's with {}, and \
             10^{} times with {}.",
            exponent(most.0),
            most.1,
            exponent(least.0),
            least.1
        ),
        _ => format!("{when}: no back-propagated gradients recorded."),
    }
}

fn capitalized(text: &str) -> String {
    let mut chars = text.chars();
    chars
        .next()
        .map_or_else(String::new, |c| c.to_uppercase().chain(chars).collect())
}

/// One heatmap per optimizer: remedies down, activation and depth along.
#[allow(clippy::too_many_arguments)]
fn accuracy_maps(
    page: &mut Page,
    e: &ExperimentTables,
    summaries: &[ConfigSummary],
    remedies: &[Remedy],
    activations: &[&str],
    depths: &[i64],
    optimizers: &[&str],
) {
    let columns: Vec<(&str, i64)> = activations
        .iter()
        .flat_map(|&a| depths.iter().map(move |&d| (a, d)))
        .collect();
    let xs: Vec<String> = columns.iter().map(|(a, d)| format!("{a}, {d}")).collect();
    let ys: Vec<String> = remedies.iter().map(Remedy::name).collect();
    let height = (180 + 30 * ys.len()).max(360);
    page.html(
        "<p class=\"note\">Final training accuracy of every activation and depth under every \
         remedy, one map per optimizer, on one colour scale.</p>",
    );
    for o in optimizers {
        let cells: Vec<(usize, usize, f64)> = summaries
            .iter()
            .filter(|s| s.optimizer == *o)
            .filter_map(|s| {
                let x = columns
                    .iter()
                    .position(|&(a, d)| a == s.activation && d == s.depth)?;
                let y = remedies.iter().position(|r| *r == Remedy::of(s))?;
                let v = median(s.accuracy);
                v.is_finite().then_some((x, y, v))
            })
            .collect();
        let learned = cells.iter().filter(|c| c.2 >= LEARNED).count();
        let chart = heatmap(
            &format!("Final training accuracy with {o}"),
            "median over seeds; chance is 0.5",
            "activation, hidden layers",
            &xs,
            &ys,
            &cells,
            (0.4, 1.0),
            &SEQUENTIAL,
            2,
        );
        page.html(&format!("<div style=\"--h:{height}px\">"));
        page.chart(
            &slug(&["fixes", &e.name, "accuracy", o]),
            &chart,
            "wide tall",
            &format!(
                "With {o}, {learned} of {} configurations reach an accuracy of {LEARNED} or more.",
                cells.len()
            ),
        );
        page.html("</div>");
    }
}

#[cfg(test)]
mod tests {
    use vanishing_analysis::{HistoryRow, RunRow};

    use super::*;

    /// One run of a configuration, with a first and a last record of the first and
    /// output layers' weight gradients (`first` and `last` are the first layer's
    /// spread at each; the output layer's is 1).
    fn run(label: &str, remedy: (&str, &str, bool), optimizer: &str, accuracy: f64) -> RunRow {
        RunRow {
            run_id: format!("{label}/s0"),
            experiment: "remedies".to_owned(),
            label: label.to_owned(),
            activation: "sigmoid".to_owned(),
            init: remedy.0.to_owned(),
            norm: remedy.1.to_owned(),
            residual: remedy.2,
            optimizer: optimizer.to_owned(),
            depth: 20,
            final_accuracy: accuracy,
            ..RunRow::default()
        }
    }

    fn record(run: &RunRow, step: i64, first: f64) -> Vec<HistoryRow> {
        [(1, "hidden1", first), (2, "output", 1.0)]
            .into_iter()
            .map(|(layer, name, std)| HistoryRow {
                run_id: run.run_id.clone(),
                step,
                layer,
                layer_name: name.to_owned(),
                quantity: "weight_grad".to_owned(),
                std,
                ..HistoryRow::default()
            })
            .collect()
    }

    fn page_of(runs: Vec<RunRow>) -> String {
        let history = runs
            .iter()
            .flat_map(|r| {
                let first = if r.norm == "none" { 1e-9 } else { 0.5 };
                [record(r, 0, first), record(r, 10, first * 2.0)].concat()
            })
            .collect();
        let e = ExperimentTables {
            name: "remedies".to_owned(),
            runs,
            history,
            metrics: Vec::new(),
            histograms: Vec::new(),
            dataset: Vec::new(),
            boundary: Vec::new(),
        };
        let mut page = Page::default();
        section(&mut page, &[&e]);
        page.finish("test")
    }

    #[test]
    fn remedies_are_named_and_ranked_from_the_data() {
        let glorot = "glorot_uniform";
        let html = page_of(vec![
            run("plain-sgd", (glorot, "none", false), "sgd", 0.5),
            run("plain-adam", (glorot, "none", false), "adam", 0.52),
            run("bn-adam", (glorot, "batch", false), "adam", 0.97),
            run("he-adam", ("he_normal", "none", false), "adam", 0.55),
            run("all-adam", ("he_normal", "batch", true), "adam", 0.99),
        ]);
        // The best optimizer of the plain network, its ratio 1e-9 as a power of ten.
        assert!(
            html.contains(
                "Without any remedy, the 20-layer sigmoid network ends at a median accuracy of \
                 0.520 even with its best optimizer (adam); at initialization its first layer \
                 gets 10<sup>-9.0</sup> of the output layer's gradient spread."
            ),
            "{html}"
        );
        assert!(html.contains(
            "Alone, at its best: batch norm reaches 0.970 (adam); He init reaches 0.550 (adam)."
        ));
        assert!(
            html.contains(
                "The best combination is He init + batch norm + residual with adam: 0.990."
            )
        );
        assert!(html.contains("2 of its 5 configurations reach an accuracy of 0.9 or more."));
        // Ranked best first: the combination, batch norm, He init, then the plain ones.
        let order: Vec<usize> = [
            "He init + batch norm + residual</td>",
            "batch norm</td>",
            "He init</td>",
            "no remedy</td><td>adam",
            "no remedy</td><td>sgd",
        ]
        .iter()
        .map(|cell| html.find(cell).unwrap_or_else(|| panic!("no {cell}")))
        .collect();
        assert!(order.windows(2).all(|w| w[0] < w[1]), "{order:?}");
        // After training the first layer's spread doubled: 2e-9 is 10^-8.7.
        assert!(html.contains("10<sup>-8.7</sup>"));
    }

    #[test]
    fn experiments_without_remedies_get_no_section() {
        let html = page_of(vec![run(
            "plain",
            ("glorot_uniform", "none", false),
            "sgd",
            0.5,
        )]);
        assert!(!html.contains("id=\"fixes\""));
    }
}
