//! Distributions at initialization, as Glorot & Bengio's Fig. 6-8 draw them: per
//! configuration the normalized histograms of activations, back-propagated gradients
//! and weight gradients, one line per layer, on the fixed bins every run shares, with
//! both axes shared by the charts of a quantity.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use vanishing_analysis::{ExperimentTables, Flow, HistogramRow, Moment};

use crate::charts::{PALETTE, Scale};
use crate::layer_charts::{Trace, lines_over};
use crate::page::{Page, escape, slug};
use crate::page_body;
use crate::series::{configs, num};
use crate::tutorial::{activation_order, init_order};

/// `(bin_lo, bin_hi, fraction of values)` of one bin.
type Bin = (f64, f64, f64);

/// A configuration's bins per layer.
type Pooled = BTreeMap<i64, Vec<Bin>>;

/// Pooled over seeds and normalized per layer: the fraction of values in each bin, at
/// the first record, for one configuration and quantity; layers by number.
fn pooled(
    e: &ExperimentTables,
    label: &str,
    quantity: &str,
) -> BTreeMap<i64, Vec<(f64, f64, f64)>> {
    let mut by_layer: BTreeMap<i64, Vec<&HistogramRow>> = BTreeMap::new();
    for h in e.histograms.iter().filter(|h| {
        h.quantity == quantity
            && h.step == 0
            && e.runs
                .iter()
                .any(|r| r.run_id == h.run_id && r.label == label)
    }) {
        by_layer.entry(h.layer).or_default().push(h);
    }
    by_layer
        .into_iter()
        .map(|(layer, rows)| {
            // Keyed by the edge's bits, which identify a bin across seeds (but do not
            // order negative edges), then sorted by the edge itself.
            let mut bins: BTreeMap<u64, Bin> = BTreeMap::new();
            for h in rows {
                let e = bins
                    .entry(h.bin_lo.to_bits())
                    .or_insert((h.bin_lo, h.bin_hi, 0.0));
                e.2 += h.count as f64;
            }
            let mut bins: Vec<Bin> = bins.into_values().collect();
            bins.sort_by(|a, b| a.0.total_cmp(&b.0));
            let total: f64 = bins.iter().map(|b| b.2).sum();
            for b in &mut bins {
                b.2 /= total.max(1.0);
            }
            (layer, bins)
        })
        .collect()
}

/// A bin's label: its edge nearest zero, shown only at halves inside `[-1, 1]` on the
/// activations' linear bins, and at every other whole decade on logarithmic bins.
fn bin_label(lo: f64, hi: f64, linear_inside: bool) -> String {
    let linear = linear_inside && (-1.0..1.0).contains(&lo);
    // Linear bins are labelled by their left edge, logarithmic ones by the edge nearer
    // zero, so that each round value labels exactly one bin.
    let edge = if linear || lo >= 0.0 { lo } else { hi };
    if !edge.is_finite() {
        return String::new();
    }
    if edge == 0.0 || (lo < 0.0 && hi > 0.0) {
        return "0".to_owned();
    }
    if linear {
        // The multiple of 0.5 inside the bin, if any.
        let half = (lo * 2.0).ceil() / 2.0;
        return if half < hi {
            format!("{}", half + 0.0)
        } else {
            String::new()
        };
    }
    let decade = edge.abs().log10();
    // Every other decade: a gradient axis spans ten or more.
    if (decade - decade.round()).abs() > 1e-9 || (decade.round() as i32) % 2 != 0 {
        return String::new();
    }
    let sign = if edge < 0.0 { "-" } else { "" };
    match decade.round() as i32 {
        d @ 0..=3 => format!("{sign}{}", 10i32.pow(d as u32)),
        d => format!("{sign}1e{d}"),
    }
}

/// Keeps at most nine labels (every k-th, and always "0"), so that a third of the
/// page's width can hold them.
fn thin(mut labels: Vec<String>) -> Vec<String> {
    let shown: Vec<usize> = (0..labels.len())
        .filter(|&i| !labels[i].is_empty())
        .collect();
    let every = shown.len().div_ceil(9).max(1);
    for (k, &i) in shown.iter().enumerate() {
        if k % every != 0 && labels[i] != "0" {
            labels[i].clear();
        }
    }
    labels
}

/// The section, for every experiment that recorded histograms.
pub(crate) fn section(page: &mut Page, experiments: &[&ExperimentTables]) {
    let with: Vec<&ExperimentTables> = experiments
        .iter()
        .copied()
        .filter(|e| e.histograms.iter().any(|h| h.step == 0))
        .collect();
    if with.is_empty() {
        return;
    }
    page.heading(3, "histograms", "Distributions at initialization");
    page.html(
        "<p class=\"note\">As in Glorot &amp; Bengio's Fig. 6-8: the normalized histograms of \
         each hidden layer's activations, back-propagated gradients dC/ds and weight \
         gradients before any update, pooled over seeds, one line per layer. Every run and \
         layer of a quantity is counted on the same bins (linear over [-1, 1] for \
         activations, logarithmic in magnitude on both sides of zero for gradients), and \
         the charts of a quantity share both axes, so a narrower distribution looks \
         narrower. A layer whose gradients shrink moves its mass towards the middle of a \
         gradient chart.</p>",
    );
    for e in with {
        let _ = write!(page_body(page), "<h4>{}</h4>", escape(&e.name));
        let flow = Flow::new(e);
        let mut cs = configs(e);
        cs.sort_by_key(|c| {
            (
                activation_order(&c.runs[0].activation),
                c.runs[0].activation.clone(),
                init_order(&c.runs[0].init),
            )
        });
        for (quantity, what) in [
            ("activation", "activations"),
            ("preact_grad", "dC/ds"),
            ("weight_grad", "dLoss/dW"),
        ] {
            let all: Vec<Pooled> = cs.iter().map(|c| pooled(e, c.label, quantity)).collect();
            // The shared window: every bin that any chart of this quantity fills.
            let edges: Vec<(f64, f64)> = all
                .iter()
                .flat_map(|m| m.values())
                .next()
                .map(|bins| bins.iter().map(|b| (b.0, b.1)).collect())
                .unwrap_or_default();
            let used = |i: usize| {
                all.iter()
                    .flat_map(|m| m.values())
                    .any(|bins| bins.get(i).is_some_and(|b| b.2 > 0.0))
            };
            let (Some(lo), Some(hi)) = (
                (0..edges.len()).find(|&i| used(i)),
                (0..edges.len()).rev().find(|&i| used(i)),
            ) else {
                continue;
            };
            let y_max = all
                .iter()
                .flat_map(|m| m.values())
                .flat_map(|bins| bins.iter().map(|b| b.2))
                .fold(0.0, f64::max);
            let y_max = (y_max * 10.0).ceil() / 10.0;
            let labels = thin(
                edges[lo..=hi]
                    .iter()
                    .map(|&(a, b)| bin_label(a, b, quantity == "activation"))
                    .collect(),
            );
            // One column per initialization, so that each row sets the standard
            // initialization beside the normalized one.
            let mut inits: Vec<&str> = cs.iter().map(|c| c.runs[0].init.as_str()).collect();
            inits.sort_unstable();
            inits.dedup();
            page.html(if inits.len() == 2 {
                "<div class=\"grid\">"
            } else {
                "<div class=\"grid three\">"
            });
            for (c, m) in cs.iter().zip(&all) {
                let run = c.runs[0];
                let depth = run.depth;
                let traces: Vec<Trace> = m
                    .iter()
                    .filter(|(layer, _)| **layer <= depth)
                    .map(|(layer, bins)| Trace {
                        name: format!("hidden{layer}"),
                        color: PALETTE[(*layer as usize - 1) % PALETTE.len()],
                        dashed: false,
                        points: bins[lo..=hi]
                            .iter()
                            .map(|b| Some((b.2, b.2, b.2)))
                            .collect(),
                    })
                    .collect();
                let profile = flow.layer_profile(c.label, quantity, Moment::Initial, |r| r.std);
                let std_of = |l: i64| {
                    profile
                        .iter()
                        .find(|p| p.layer == l)
                        .map(|p| p.spread.median)
                };
                let caption = match (std_of(1), std_of(depth)) {
                    (Some(a), Some(b)) => format!(
                        "std of {what}: hidden1 {}, hidden{depth} {} (median over seeds).",
                        num(a),
                        num(b)
                    ),
                    _ => format!("{what} of {} layers.", traces.len()),
                };
                let chart = lines_over(
                    &format!("{what}: {}, {}", run.activation, run.init),
                    "normalized histogram at initialization",
                    if quantity == "activation" {
                        "value"
                    } else {
                        "value (log magnitude, both signs)"
                    },
                    &labels,
                    "fraction of values",
                    Scale::Fixed(0.0, y_max.max(0.1)),
                    &traces,
                );
                page.chart(
                    &slug(&["histogram", &e.name, c.label, quantity]),
                    &chart,
                    "",
                    &caption,
                );
            }
            page.html("</div>");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::bin_label;

    #[test]
    fn bins_are_labelled_at_round_edges() {
        for (lo, hi, linear, label) in [
            (-0.48, -0.44, true, ""),
            (0.48, 0.52, true, "0.5"),
            (-0.52, -0.48, true, "-0.5"),
            (-0.04, 0.0, true, ""),
            (0.0, 0.04, true, "0"),
            (-1.0, -0.96, true, "-1"),
            (1.0, 1.7783, true, "1"),
            (10.0, 17.78, true, ""),
            (100.0, 177.8, true, "100"),
            (1e-4, 1.778e-4, false, "1e-4"),
            (1e-5, 1.778e-5, false, ""),
            (-1.778e-2, -1e-2, false, "-1e-2"),
            (-1e-3, -5.6e-4, false, ""),
            (-1e-12, 1e-12, false, "0"),
            (f64::NEG_INFINITY, -1e3, false, ""),
        ] {
            assert_eq!(bin_label(lo, hi, linear), label, "[{lo}, {hi})");
        }
    }
}
