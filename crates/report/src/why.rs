//! "Why it happens": the causes the tables record, drawn as Glorot & Bengio (2010) draw
//! them: the gradient's spread layer by layer beside the variance recursion's
//! prediction, activations saturating over training, distributions at initialization
//! on shared bins, and the size of what the optimizer does with the gradient.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use vanishing_analysis::{ExperimentTables, Flow, HistoryRow, Moment, RunRow, Spread};

use crate::charts::{self, PALETTE, Scale};
use crate::layer_charts::{Trace, lines_over};
use crate::page::{Page, escape, slug};
use crate::page_body;
use crate::series::{Band, Config, configs, epoch_of, num, shared_log};
use crate::sweeps::is_depth_sweep;
use crate::tutorial::{activation_order, init_order};
use crate::{MAX_DETAILED, histograms};

/// An experiment with its configurations and its [`Flow`] index, found once for every
/// question the section asks of it.
struct Indexed<'a> {
    e: &'a ExperimentTables,
    configs: Vec<Config<'a>>,
    flow: Flow<'a>,
}

/// One configuration of a group: its experiment, label and first run.
#[derive(Clone, Copy)]
struct Member<'a> {
    e: &'a ExperimentTables,
    /// The experiment's configurations and index.
    indexed: &'a Indexed<'a>,
    /// This configuration's position among them.
    config: usize,
    label: &'a str,
    run: &'a RunRow,
}

impl Member<'_> {
    fn name(&self) -> String {
        format!("{}, {}", self.run.activation, self.run.init)
    }
}

/// Comparable configurations: single-configuration experiments of the same shape,
/// data and optimizer together, and every small sweep on its own.
fn groups<'a>(experiments: &'a [Indexed<'a>]) -> Vec<(String, Vec<Member<'a>>)> {
    let mut groups: Vec<(String, Vec<Member<'a>>)> = Vec::new();
    for indexed in experiments {
        let e = indexed.e;
        let cs = &indexed.configs;
        if cs.len() > MAX_DETAILED || is_depth_sweep(e) {
            continue;
        }
        let members: Vec<Member<'a>> = cs
            .iter()
            .enumerate()
            .map(|(config, c)| Member {
                e,
                indexed,
                config,
                label: c.label,
                run: c.runs[0],
            })
            .collect();
        if members.len() > 1 {
            groups.push((e.name.clone(), members));
            continue;
        }
        let run = members[0].run;
        let key = format!(
            "{} hidden units, {}, batch {}",
            run.hidden, run.optimizer, run.batch_size
        );
        match groups.iter_mut().find(|g| g.0 == key) {
            Some(g) => g.1.push(members[0]),
            None => groups.push((key, members)),
        }
    }
    for (_, members) in &mut groups {
        members.sort_by_key(|m| {
            (
                activation_order(&m.run.activation),
                init_order(&m.run.init),
                m.e.name.clone(),
            )
        });
    }
    groups
}

fn trace(name: String, i: usize, dashed: bool, values: Vec<Option<Spread>>) -> Trace {
    Trace {
        name,
        color: PALETTE[i % PALETTE.len()],
        dashed,
        points: values
            .into_iter()
            .map(|s| s.map(|s| (s.median, s.q1, s.q3)))
            .collect(),
    }
}

/// A log scale spanning every value (and quartile) of the traces, in whole decades.
pub(crate) fn traces_log(traces: &[&[Trace]]) -> Scale {
    let bands: Vec<Vec<Band>> = traces
        .iter()
        .map(|ts| {
            ts.iter()
                .map(|t| Band {
                    name: t.name.clone(),
                    points: t
                        .points
                        .iter()
                        .flatten()
                        .map(|p| (0.0, p.0, p.1, p.2))
                        .collect(),
                })
                .collect()
        })
        .collect();
    shared_log(&bands)
}

/// Layer names of the member with the most layers.
fn layer_names(members: &[Member<'_>], quantity: &str) -> Vec<String> {
    members
        .iter()
        .map(|m| {
            m.indexed
                .flow
                .layer_profile(m.label, quantity, Moment::Initial, |r| r.std)
                .into_iter()
                .map(|p| p.layer_name)
                .collect::<Vec<_>>()
        })
        .max_by_key(Vec::len)
        .unwrap_or_default()
}

/// The whole section.
pub(crate) fn section(page: &mut Page, experiments: &[&ExperimentTables]) {
    page.heading(2, "why", "Why it happens");
    page.html(
        "<p>The charts above show the symptom: the first layers' gradients are small and \
         they barely learn. The tables record the causes too. Going back through a layer, \
         the gradient is multiplied by that layer's weights and by the slope of its \
         activation function; where the slope is small (a sigmoid's is at most 1/4, and \
         near 0 where the unit saturates) or the weights are small, the gradient shrinks \
         layer after layer. Every value below is a median over seeds; bands span the \
         middle half of the seeds (first to third quartile).</p>",
    );
    let indexed: Vec<Indexed<'_>> = experiments
        .iter()
        .map(|&e| Indexed {
            e,
            configs: configs(e),
            flow: Flow::new(e),
        })
        .collect();
    let groups = groups(&indexed);
    flow(page, &groups);
    recursion(page, &groups);
    let deep: Vec<Member<'_>> = groups
        .iter()
        .flat_map(|g| g.1.iter().copied())
        .filter(|m| m.indexed.configs.len() == 1 && m.run.depth >= 4 && m.run.epochs > 0)
        .collect();
    saturation(page, &deep);
    histograms::section(page, experiments);
    updates(page, &deep);
}

fn flow(page: &mut Page, groups: &[(String, Vec<Member<'_>>)]) {
    page.heading(3, "flow", "Gradient flow through the layers");
    page.html(
        "<p class=\"note\">Each line is one configuration: the spread (standard deviation) \
         of the back-propagated gradient dC/ds at each layer's pre-activation, and of the \
         weight gradient dLoss/dW, layer by layer with the input on the left. A line \
         falling to the left is a vanishing gradient, rising to the left an exploding one, \
         flat a healthy flow. Charts of one quantity share their axis.</p>",
    );
    for (title, members) in groups {
        let _ = write!(page_body(page), "<h4>{}</h4>", escape(title));
        let trained = members.iter().all(|m| m.run.epochs > 0);
        let moments: &[(Moment, &str)] = if trained {
            &[
                (Moment::Initial, "at initialization"),
                (Moment::Final, "after training"),
            ]
        } else {
            &[(Moment::Initial, "at initialization")]
        };
        page.html("<div class=\"grid\">");
        for (quantity, what) in [("preact_grad", "dC/ds"), ("weight_grad", "dLoss/dW")] {
            let layers = layer_names(members, quantity);
            let per_moment: Vec<Vec<Trace>> = moments
                .iter()
                .map(|&(moment, _)| {
                    members
                        .iter()
                        .enumerate()
                        .map(|(i, m)| {
                            let profile =
                                m.indexed
                                    .flow
                                    .layer_profile(m.label, quantity, moment, |r| r.std);
                            let values = layers
                                .iter()
                                .map(|l| {
                                    profile
                                        .iter()
                                        .find(|p| p.layer_name == *l)
                                        .map(|p| p.spread)
                                })
                                .collect();
                            trace(m.name(), i, false, values)
                        })
                        .collect()
                })
                .collect();
            let all: Vec<&[Trace]> = per_moment.iter().map(Vec::as_slice).collect();
            let scale = traces_log(&all);
            for ((_, when), traces) in moments.iter().zip(&per_moment) {
                let chart = lines_over(
                    &format!("std of {what} per layer, {when}"),
                    title,
                    "layer (input side left)",
                    &layers,
                    &format!("std of {what} (log)"),
                    scale,
                    traces,
                );
                page.chart(
                    &slug(&["flow", title, quantity, when]),
                    &chart,
                    "",
                    &flow_caption(what, traces),
                );
            }
        }
        page.html("</div>");
    }
}

/// "From the output to hidden1, dC/ds shrinks 120-fold for sigmoid, normal(0, 1) and
/// grows 1.3-fold for ...": the first and last layer's medians of the extreme lines.
fn flow_caption(what: &str, traces: &[Trace]) -> String {
    let change = |t: &Trace| {
        let first = t.points.first().copied().flatten()?.0;
        let last = t.points.last().copied().flatten()?.0;
        Some((first / last, t.name.clone()))
    };
    let mut changes: Vec<(f64, String)> = traces.iter().filter_map(change).collect();
    changes.sort_by(|a, b| a.0.total_cmp(&b.0));
    let say = |(r, name): &(f64, String)| {
        if *r < 1.0 {
            format!("shrinks {}-fold for {name}", num(1.0 / r))
        } else {
            format!("grows {}-fold for {name}", num(*r))
        }
    };
    match (changes.first(), changes.last()) {
        (Some(a), Some(b)) if changes.len() > 1 => {
            format!(
                "From the last layer to the first, {what} {} and {}.",
                say(a),
                say(b)
            )
        }
        (Some(a), _) => format!("From the last layer to the first, {what} {}.", say(a)),
        _ => "No gradients recorded.".to_owned(),
    }
}

/// The geometric mean of the medians of the steps between hidden layers (every step
/// when there is only one hidden layer).
fn per_layer_factor(values: &[(i64, f64)], depth: i64) -> Option<f64> {
    let hidden: Vec<f64> = values
        .iter()
        .filter(|(l, v)| (*l < depth || depth < 2) && v.is_finite() && *v > 0.0)
        .map(|(_, v)| v.ln())
        .collect();
    (!hidden.is_empty()).then(|| (hidden.iter().sum::<f64>() / hidden.len() as f64).exp())
}

fn recursion(page: &mut Page, groups: &[(String, Vec<Member<'_>>)]) {
    page.heading(3, "recursion", "Theory beside measurement");
    page.html(
        "<p class=\"note\">Glorot &amp; Bengio's variance recursion (their eq. 13-14, in the \
         linear regime): going down one layer, the variance of dC/ds is multiplied by the \
         number of units above, times the mean square of the weights above, times the mean \
         squared slope of this layer's activation. The dashed line is that prediction, \
         computed from each run's own recorded weights and slopes at initialization; the \
         solid line is the measured ratio std(dC/ds) of a layer over that of the layer \
         above. Below 1, the gradient shrinks on its way to the input.</p>",
    );
    for (title, members) in groups
        .iter()
        .filter(|g| g.1.iter().any(|m| m.run.depth >= 2))
    {
        let _ = write!(page_body(page), "<h4>{}</h4>", escape(title));
        let steps: Vec<_> = members
            .iter()
            .map(|m| m.indexed.flow.variance_recursion(m.label))
            .collect();
        let traces: Vec<Vec<Trace>> = steps
            .iter()
            .map(|s| {
                vec![
                    trace(
                        "measured".into(),
                        0,
                        false,
                        s.iter().map(|x| Some(x.measured)).collect(),
                    ),
                    trace(
                        "theory".into(),
                        3,
                        true,
                        s.iter().map(|x| x.theory).collect(),
                    ),
                ]
            })
            .collect();
        let all: Vec<&[Trace]> = traces.iter().map(Vec::as_slice).collect();
        let scale = traces_log(&all);
        page.html("<div class=\"grid three\">");
        for ((m, s), ts) in members.iter().zip(&steps).zip(&traces) {
            let layers: Vec<String> = s.iter().map(|x| x.layer_name.clone()).collect();
            let measured: Vec<(i64, f64)> =
                s.iter().map(|x| (x.layer, x.measured.median)).collect();
            let theory: Vec<(i64, f64)> = s
                .iter()
                .filter_map(|x| Some((x.layer, x.theory?.median)))
                .collect();
            let caption = match (
                per_layer_factor(&measured, m.run.depth),
                per_layer_factor(&theory, m.run.depth),
            ) {
                (Some(f), Some(t)) => {
                    let verb = |v: f64| if v < 1.0 { "divides" } else { "multiplies" };
                    let by = |v: f64| if v < 1.0 { 1.0 / v } else { v };
                    format!(
                        "Each {} layer {} the gradient's spread by {} (theory {} it by {}).",
                        m.run.activation,
                        verb(f),
                        num(by(f)),
                        verb(t),
                        num(by(t))
                    )
                }
                (Some(f), None) => format!(
                    "Measured factor per layer {}; no slopes were recorded for the theory.",
                    num(f)
                ),
                _ => "No back-propagated gradients recorded.".to_owned(),
            };
            let chart = lines_over(
                &m.name(),
                "ratio of std(dC/ds) to the layer above, at initialization",
                "lower layer of the pair",
                &layers,
                "ratio (log)",
                scale,
                ts,
            );
            page.chart(
                &slug(&["recursion", title, &m.name()]),
                &chart,
                "",
                &caption,
            );
        }
        page.html("</div>");
    }
}

/// Per layer and step, the mean over a configuration's seeds of `stat` of `quantity`.
fn seed_means(
    config: &Config<'_>,
    quantity: &str,
    stat: impl Fn(&HistoryRow) -> Option<f64>,
) -> BTreeMap<(i64, i64), f64> {
    let mut sums: BTreeMap<(i64, i64), (f64, usize)> = BTreeMap::new();
    for row in config.history().filter(|r| r.quantity == quantity) {
        if let Some(v) = stat(row) {
            let e = sums.entry((row.layer, row.step)).or_default();
            e.0 += v;
            e.1 += 1;
        }
    }
    sums.into_iter()
        .map(|(k, (s, n))| (k, s / n as f64))
        .collect()
}

fn the_config<'a>(m: &Member<'a>) -> &'a Config<'a> {
    &m.indexed.configs[m.config]
}

fn steps_of(values: &BTreeMap<(i64, i64), f64>) -> Vec<i64> {
    let mut steps: Vec<i64> = values.keys().map(|k| k.1).collect();
    steps.sort_unstable();
    steps.dedup();
    steps
}

fn epoch_label(run: &RunRow, step: i64) -> String {
    charts::sig(epoch_of(run, step)).to_string()
}

fn saturation(page: &mut Page, deep: &[Member<'_>]) {
    page.heading(3, "saturation", "Saturation over training");
    page.html(
        "<p class=\"note\">As in Glorot &amp; Bengio's Fig. 2 and 3: per hidden layer, the \
         mean activation over the minibatch (solid, with a band of one standard deviation \
         either side) and its 98th percentile (dashed) over training, and the fraction of \
         units in the flat part of the function (slope below 5% of its largest). Means over \
         seeds.</p>",
    );
    for m in deep {
        let config = the_config(m);
        let mean = seed_means(config, "activation", |r| Some(r.mean));
        let std = seed_means(config, "activation", |r| Some(r.std));
        let p98 = seed_means(config, "activation", |r| Some(r.p98));
        let saturated = seed_means(config, "activation", |r| r.saturated_frac);
        let steps = steps_of(&mean);
        let labels: Vec<String> = steps.iter().map(|&s| epoch_label(m.run, s)).collect();
        let depth = m.run.depth;
        let mut traces = Vec::new();
        let mut sat_traces = Vec::new();
        for layer in 1..=depth {
            let at = |map: &BTreeMap<(i64, i64), f64>, s: i64| map.get(&(layer, s)).copied();
            let points = steps
                .iter()
                .map(|&s| {
                    let (mu, sd) = (at(&mean, s)?, at(&std, s)?);
                    Some((mu, mu - sd, mu + sd))
                })
                .collect();
            let i = (layer - 1) as usize;
            let color = PALETTE[i % PALETTE.len()];
            traces.push(Trace {
                name: format!("hidden{layer}"),
                color,
                dashed: false,
                points,
            });
            traces.push(Trace {
                name: format!("hidden{layer} p98"),
                color,
                dashed: true,
                points: steps
                    .iter()
                    .map(|&s| at(&p98, s).map(|v| (v, v, v)))
                    .collect(),
            });
            sat_traces.push(Trace {
                name: format!("hidden{layer}"),
                color,
                dashed: false,
                points: steps
                    .iter()
                    .map(|&s| at(&saturated, s).map(|v| (v, v, v)))
                    .collect(),
            });
        }
        let top = |map: &BTreeMap<(i64, i64), f64>| -> Vec<(i64, f64)> {
            steps
                .iter()
                .filter_map(|&s| Some((s, *map.get(&(depth, s))?)))
                .collect()
        };
        let top_mean = top(&mean);
        let caption = saturation_caption(m, &top_mean, &top(&saturated));
        let _ = write!(
            page_body(page),
            "<h4>{}</h4><p class=\"note\">{}</p>",
            escape(&m.e.name),
            escape(&m.run.description)
        );
        page.html("<div class=\"grid\">");
        // The function's whole range, so that a layer near a flat end looks it.
        let range = match m.run.activation.as_str() {
            "sigmoid" => Scale::Fixed(0.0, 1.0),
            "tanh" | "softsign" => Scale::Fixed(-1.0, 1.0),
            _ => Scale::Linear,
        };
        let chart = lines_over(
            "Activation per hidden layer: mean, std band, 98th percentile",
            &m.name(),
            "epoch",
            &labels,
            "activation",
            range,
            &traces,
        );
        page.chart(
            &slug(&["saturation", &m.e.name, "activation"]),
            &chart,
            "",
            &caption,
        );
        let chart = lines_over(
            "Saturated fraction per hidden layer",
            &m.name(),
            "epoch",
            &labels,
            "fraction of units",
            Scale::Fixed(0.0, 1.0),
            &sat_traces,
        );
        let peak = top(&saturated).iter().map(|v| v.1).fold(0.0, f64::max);
        page.chart(
            &slug(&["saturation", &m.e.name, "fraction"]),
            &chart,
            "",
            &format!(
                "At most {}% of the top hidden layer's units are saturated at any record.",
                num(100.0 * peak)
            ),
        );
        page.html("</div>");
    }
}

/// Whether the top hidden layer was driven towards a flat end of its function, in
/// numbers: Glorot & Bengio saw a sigmoid network's top hidden layer pushed to 0 early
/// in training and escaping slowly.
fn saturation_caption(m: &Member<'_>, mean: &[(i64, f64)], saturated: &[(i64, f64)]) -> String {
    let (Some(first), Some(last)) = (mean.first(), mean.last()) else {
        return "No activations recorded.".to_owned();
    };
    let (low_step, low) = mean
        .iter()
        .copied()
        .fold((first.0, first.1), |a, b| if b.1 < a.1 { b } else { a });
    let peak = saturated.iter().map(|v| v.1).fold(0.0, f64::max);
    let top = format!("hidden{}", m.run.depth);
    let verdict = if m.run.activation == "sigmoid" {
        if low < 0.1 || peak > 0.5 {
            "is driven towards 0, as in the paper's Fig. 2"
        } else if low < first.1 - 0.1 {
            "moves towards 0 without being driven into saturation"
        } else {
            "stays near its starting value, without saturating"
        }
    } else if peak > 0.5 {
        "saturates"
    } else {
        "does not saturate"
    };
    format!(
        "The top hidden layer ({top}) {verdict}: mean activation {} at the start, {} at \
         its lowest (epoch {}), {} at the end; saturated fraction at most {}.",
        num(first.1),
        num(low),
        epoch_label(m.run, low_step),
        num(last.1),
        num(peak)
    )
}

fn updates(page: &mut Page, deep: &[Member<'_>]) {
    page.heading(3, "updates", "What the optimizer does with tiny gradients");
    page.html(
        "<p class=\"note\">The size of each step relative to the weights it changes: \
         rms(update) / rms(W) per layer over training (root mean squares), where the update is the change the \
         optimizer applied to the kernel (the weights after the step minus those before). \
         Plain SGD moves each weight by the learning rate times its gradient, so a layer \
         with a vanishing gradient barely moves; RMSprop divides by a running root mean \
         square of the gradient, so its first steps move every weight by about the same \
         amount (lr / sqrt(1 - rho) = 3.2e-3 with Keras' defaults) however small the \
         gradient. That is why the tutorial's deep sigmoid network, trained with RMSprop, \
         still learns a little. Lines are means over seeds, bands the lowest to highest \
         seed; the charts share their axis.</p>",
    );
    let bands: Vec<Vec<Band>> = deep
        .iter()
        .map(|m| {
            let config = the_config(m);
            let update = seed_ratio(config);
            let mut layers: BTreeMap<i64, Vec<(f64, f64, f64, f64)>> = BTreeMap::new();
            for ((layer, step), values) in update {
                let n = values.len() as f64;
                let mean = values.iter().sum::<f64>() / n;
                let lo = values.iter().copied().fold(f64::INFINITY, f64::min);
                let hi = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                let x = epoch_of(m.run, step);
                layers.entry(layer).or_default().push((x, mean, lo, hi));
            }
            layers
                .into_iter()
                .map(|(layer, points)| Band {
                    name: if layer > m.run.depth {
                        "output".to_owned()
                    } else {
                        format!("hidden{layer}")
                    },
                    points,
                })
                .collect()
        })
        .collect();
    let scale = shared_log(&bands);
    page.html("<div class=\"grid\">");
    for (m, b) in deep.iter().zip(&bands) {
        let first = |name: &str| {
            b.iter()
                .find(|x| x.name == name)
                .and_then(|x| x.points.first())
                .map(|p| p.1)
        };
        let caption = match (first("hidden1"), first("output")) {
            (Some(a), Some(o)) => format!(
                "{}: the first step moves hidden1's weights by {} of their size, the output layer's by {}.",
                m.run.optimizer,
                num(a),
                num(o)
            ),
            _ => "No updates recorded.".to_owned(),
        };
        let chart = charts::bands_over_epochs(
            &format!("Update / weight per layer: {}", m.e.name),
            &format!("{}, {}", m.name(), m.run.optimizer),
            "rms(update) / rms(W) (log)",
            scale,
            b,
        );
        page.chart(&slug(&["updates", &m.e.name]), &chart, "", &caption);
    }
    page.html("</div>");
}

/// The root mean square of a recorded tensor. An update's spread alone can mislead:
/// RMSprop's first step moves every weight of a layer by nearly the same amount, so
/// its standard deviation is near zero while its size is not.
fn rms(r: &HistoryRow) -> f64 {
    (r.mean * r.mean + r.std * r.std).sqrt()
}

/// Per layer and step, each seed's rms(update) / rms(W).
fn seed_ratio(config: &Config<'_>) -> BTreeMap<(i64, i64), Vec<f64>> {
    let mut weights: BTreeMap<(&str, i64, i64), f64> = BTreeMap::new();
    for r in config.history().filter(|r| r.quantity == "weight") {
        weights.insert((&r.run_id, r.layer, r.step), rms(r));
    }
    let mut out: BTreeMap<(i64, i64), Vec<f64>> = BTreeMap::new();
    for r in config.history().filter(|r| r.quantity == "update") {
        if let Some(w) = weights.get(&(r.run_id.as_str(), r.layer, r.step)) {
            out.entry((r.layer, r.step)).or_default().push(rms(r) / w);
        }
    }
    out
}
