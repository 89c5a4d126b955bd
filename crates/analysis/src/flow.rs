//! How the gradient flows through a network: per-layer profiles at the first and last
//! record, the variance recursion of Glorot & Bengio (2010, eq. 13-14) beside the
//! measured layer-to-layer ratios, and one summary row per configuration for sweeps.
//! Every value is a median over a configuration's seeds with its interquartile range.

use std::collections::{BTreeMap, HashMap, HashSet};

use crate::tables::{ExperimentTables, HistoryRow, RunRow};

/// The median and quartiles of a set of values (numpy's default linear interpolation).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Spread {
    /// The median.
    pub median: f64,
    /// The first quartile.
    pub q1: f64,
    /// The third quartile.
    pub q3: f64,
    /// How many values (seeds).
    pub n: usize,
}

impl Spread {
    /// The spread of the finite values among `values`; `None` if there are none.
    pub fn of(values: impl IntoIterator<Item = f64>) -> Option<Self> {
        let mut v: Vec<f64> = values.into_iter().filter(|x| x.is_finite()).collect();
        if v.is_empty() {
            return None;
        }
        v.sort_by(f64::total_cmp);
        let q = |p: f64| {
            let pos = p * (v.len() - 1) as f64;
            let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
            v[lo] + (pos - lo as f64) * (v[hi] - v[lo])
        };
        Some(Self {
            median: q(0.5),
            q1: q(0.25),
            q3: q(0.75),
            n: v.len(),
        })
    }
}

/// Which record of a run a profile is taken at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Moment {
    /// The first record: the state at initialization.
    Initial,
    /// The last record: the trained state.
    Final,
}

/// A value per layer of one configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct LayerPoint {
    /// Layer, 1-based from the input side.
    pub layer: i64,
    /// `hidden1`, ..., `output`.
    pub layer_name: String,
    /// Over the configuration's seeds.
    pub spread: Spread,
}

/// One step of the variance recursion: from layer `layer + 1` down to `layer`.
#[derive(Debug, Clone, PartialEq)]
pub struct RecursionStep {
    /// The lower layer of the pair, 1-based.
    pub layer: i64,
    /// Its name.
    pub layer_name: String,
    /// Measured: `std(dC/ds)` of this layer over that of the layer above.
    pub measured: Spread,
    /// Predicted: `sqrt(n * E[W^2] * E[f'(s)^2])`, with `n` and `W` the units and kernel
    /// of the layer above and `f'(s)` this layer's recorded slopes; `None` without
    /// recorded slopes.
    pub theory: Option<Spread>,
}

/// One configuration of a sweep, summarized: medians over its seeds.
#[derive(Debug, Clone, PartialEq)]
pub struct ConfigSummary {
    /// The configuration (a run's label).
    pub label: String,
    /// Hidden layers.
    pub depth: i64,
    /// Hidden activation.
    pub activation: String,
    /// Kernel initializer.
    pub init: String,
    /// Normalization of the hidden layers (`none`, `batch`, `layer`).
    pub norm: String,
    /// Whether the hidden layers after the first are residual.
    pub residual: bool,
    /// Optimizer.
    pub optimizer: String,
    /// `std(dLoss/dW)` of the first layer over the last layer's, at the first record.
    pub ratio_initial: Option<Spread>,
    /// The same at the last record.
    pub ratio_final: Option<Spread>,
    /// Final training accuracy.
    pub accuracy: Option<Spread>,
    /// `rms(update) / rms(W)` of the first layer at the first record (root mean
    /// squares, `sqrt(mean^2 + std^2)`): how far the first step moved the layer next to
    /// the input, relative to its weights.
    pub first_update: Option<Spread>,
}

/// The rows of one run at one step, by (quantity, layer).
struct Record<'a>(BTreeMap<(&'a str, i64), &'a HistoryRow>);

impl<'a> Record<'a> {
    fn get(&self, quantity: &str, layer: i64) -> Option<&'a HistoryRow> {
        self.0.get(&(quantity, layer)).copied()
    }

    fn layers(&self) -> i64 {
        self.0.keys().map(|k| k.1).max().unwrap_or(0)
    }
}

/// The first and last record of every run, by run id.
struct Records<'a>(BTreeMap<&'a str, (Record<'a>, Record<'a>)>);

impl<'a> Records<'a> {
    /// The first and last record of every run of configuration `label` (of every run
    /// without one). History rows come in runs of consecutive rows of one run, as the
    /// tables store them, so each run id is looked up once per stretch, not once per row;
    /// rows of one run spread over several stretches are gathered all the same.
    fn of(tables: &'a ExperimentTables, label: Option<&str>) -> Self {
        let wanted: Option<HashSet<&str>> =
            label.map(|label| runs_of(tables, label).map(|r| r.run_id.as_str()).collect());
        let stretches: Vec<&[HistoryRow]> = tables
            .history
            .chunk_by(|a, b| a.run_id == b.run_id)
            .filter(|rows| {
                wanted
                    .as_ref()
                    .is_none_or(|w| w.contains(rows[0].run_id.as_str()))
            })
            .collect();
        let mut steps: HashMap<&str, (i64, i64)> = HashMap::new();
        for rows in &stretches {
            let (lo, hi) = rows.iter().fold((i64::MAX, i64::MIN), |(lo, hi), r| {
                (lo.min(r.step), hi.max(r.step))
            });
            let e = steps.entry(&rows[0].run_id).or_insert((lo, hi));
            *e = (e.0.min(lo), e.1.max(hi));
        }
        let mut out: BTreeMap<&str, (Record<'_>, Record<'_>)> = BTreeMap::new();
        for rows in &stretches {
            let id = rows[0].run_id.as_str();
            let (first, last) = steps[id];
            let (a, b) = out
                .entry(id)
                .or_insert_with(|| (Record(BTreeMap::new()), Record(BTreeMap::new())));
            for r in *rows {
                if r.step == first {
                    a.0.insert((&r.quantity, r.layer), r);
                }
                if r.step == last {
                    b.0.insert((&r.quantity, r.layer), r);
                }
            }
        }
        Self(out)
    }

    fn at(&self, run_id: &str, moment: Moment) -> Option<&Record<'a>> {
        self.0.get(run_id).map(|(first, last)| match moment {
            Moment::Initial => first,
            Moment::Final => last,
        })
    }
}

fn runs_of<'a>(tables: &'a ExperimentTables, label: &'a str) -> impl Iterator<Item = &'a RunRow> {
    tables.runs.iter().filter(move |r| r.label == label)
}

/// The second moment `mean^2 + std^2` of a recorded tensor.
fn mean_square(row: &HistoryRow) -> f64 {
    row.mean * row.mean + row.std * row.std
}

/// Units of every layer of `run` from its `hidden` column (`5-5-5`), the output's
/// included: one output unit, or after a softmax one per class (the classes the
/// `dataset` rows of its configuration hold: a reader may keep the rows of one seed
/// only, and every seed of a configuration has the same classes).
fn units(tables: &ExperimentTables, run: &RunRow) -> Vec<f64> {
    let outputs = if run.output == "softmax" {
        let configuration: Vec<&str> = tables
            .runs
            .iter()
            .filter(|r| r.label == run.label)
            .map(|r| r.run_id.as_str())
            .collect();
        let top = tables
            .dataset
            .iter()
            .filter(|p| configuration.contains(&p.run_id.as_str()))
            .map(|p| p.label)
            .max()
            .unwrap_or(0);
        (top + 1) as f64
    } else {
        1.0
    };
    run.hidden
        .split('-')
        .filter_map(|u| u.parse::<f64>().ok())
        .chain([outputs])
        .collect()
}

/// The first and last record of every run of an experiment, found in one pass over its
/// history: the index behind [`layer_profile`], [`variance_recursion`] and
/// [`config_summaries`]. A caller asking many of these questions of one experiment
/// builds it once and asks it, instead of letting each function find the records again.
pub struct Flow<'a> {
    tables: &'a ExperimentTables,
    records: Records<'a>,
}

impl<'a> Flow<'a> {
    /// Indexes `tables`.
    pub fn new(tables: &'a ExperimentTables) -> Self {
        Self {
            tables,
            records: Records::of(tables, None),
        }
    }

    /// [`layer_profile`] of the indexed experiment.
    pub fn layer_profile(
        &self,
        label: &str,
        quantity: &str,
        moment: Moment,
        stat: fn(&HistoryRow) -> f64,
    ) -> Vec<LayerPoint> {
        profile(self.tables, &self.records, label, quantity, moment, stat)
    }

    /// [`variance_recursion`] of the indexed experiment.
    pub fn variance_recursion(&self, label: &str) -> Vec<RecursionStep> {
        recursion(self.tables, &self.records, label)
    }

    /// [`config_summaries`] of the indexed experiment.
    pub fn config_summaries(&self) -> Vec<ConfigSummary> {
        summaries(self.tables, &self.records)
    }
}

/// `stat` of `quantity` per layer of configuration `label`, at the first or last
/// record, as median and quartiles over its seeds.
pub fn layer_profile(
    tables: &ExperimentTables,
    label: &str,
    quantity: &str,
    moment: Moment,
    stat: fn(&HistoryRow) -> f64,
) -> Vec<LayerPoint> {
    let records = Records::of(tables, Some(label));
    profile(tables, &records, label, quantity, moment, stat)
}

fn profile(
    tables: &ExperimentTables,
    records: &Records<'_>,
    label: &str,
    quantity: &str,
    moment: Moment,
    stat: fn(&HistoryRow) -> f64,
) -> Vec<LayerPoint> {
    let mut by_layer: BTreeMap<i64, (String, Vec<f64>)> = BTreeMap::new();
    for run in runs_of(tables, label) {
        let Some(record) = records.at(&run.run_id, moment) else {
            continue;
        };
        for layer in 1..=record.layers() {
            if let Some(row) = record.get(quantity, layer) {
                let e = by_layer
                    .entry(layer)
                    .or_insert_with(|| (row.layer_name.clone(), Vec::new()));
                e.1.push(stat(row));
            }
        }
    }
    by_layer
        .into_iter()
        .filter_map(|(layer, (layer_name, values))| {
            Some(LayerPoint {
                layer,
                layer_name,
                spread: Spread::of(values)?,
            })
        })
        .collect()
}

/// The variance recursion at initialization for configuration `label`: for each pair
/// of adjacent layers, the measured ratio of the back-propagated gradient's spread and
/// the ratio Glorot & Bengio's eq. 13-14 predict from the same run's recorded weights
/// and slopes, each as median and quartiles over seeds.
pub fn variance_recursion(tables: &ExperimentTables, label: &str) -> Vec<RecursionStep> {
    recursion(tables, &Records::of(tables, Some(label)), label)
}

fn recursion(tables: &ExperimentTables, records: &Records<'_>, label: &str) -> Vec<RecursionStep> {
    let mut steps: BTreeMap<i64, (String, Vec<f64>, Vec<f64>)> = BTreeMap::new();
    for run in runs_of(tables, label) {
        let Some(record) = records.at(&run.run_id, Moment::Initial) else {
            continue;
        };
        let units = units(tables, run);
        for layer in 1..record.layers() {
            let (Some(here), Some(above)) = (
                record.get("preact_grad", layer),
                record.get("preact_grad", layer + 1),
            ) else {
                continue;
            };
            let e = steps
                .entry(layer)
                .or_insert_with(|| (here.layer_name.clone(), Vec::new(), Vec::new()));
            e.1.push(here.std / above.std);
            let n_above = units.get(layer as usize).copied();
            if let (Some(n), Some(w), Some(slope)) = (
                n_above,
                record.get("weight", layer + 1),
                record.get("slope", layer),
            ) {
                e.2.push((n * mean_square(w) * mean_square(slope)).sqrt());
            }
        }
    }
    steps
        .into_iter()
        .filter_map(|(layer, (layer_name, measured, theory))| {
            Some(RecursionStep {
                layer,
                layer_name,
                measured: Spread::of(measured)?,
                theory: Spread::of(theory),
            })
        })
        .collect()
}

/// One [`ConfigSummary`] per configuration of an experiment, in the order the
/// configurations first appear.
pub fn config_summaries(tables: &ExperimentTables) -> Vec<ConfigSummary> {
    summaries(tables, &Records::of(tables, None))
}

fn summaries(tables: &ExperimentTables, records: &Records<'_>) -> Vec<ConfigSummary> {
    let mut labels: Vec<&str> = Vec::new();
    for run in &tables.runs {
        if !labels.contains(&run.label.as_str()) {
            labels.push(&run.label);
        }
    }
    let ratio = |record: &Record<'_>| {
        let last = record.layers();
        Some(record.get("weight_grad", 1)?.std / record.get("weight_grad", last)?.std)
    };
    labels
        .into_iter()
        .map(|label| {
            let runs: Vec<&RunRow> = runs_of(tables, label).collect();
            let at = |moment| {
                runs.iter()
                    .filter_map(move |r| records.at(&r.run_id, moment))
                    .collect::<Vec<_>>()
            };
            let first = runs[0];
            ConfigSummary {
                label: label.to_owned(),
                depth: first.depth,
                activation: first.activation.clone(),
                init: first.init.clone(),
                norm: first.norm.clone(),
                residual: first.residual,
                optimizer: first.optimizer.clone(),
                ratio_initial: Spread::of(at(Moment::Initial).into_iter().filter_map(ratio)),
                ratio_final: Spread::of(at(Moment::Final).into_iter().filter_map(ratio)),
                accuracy: Spread::of(
                    runs.iter()
                        .filter(|r| !r.diverged)
                        .map(|r| r.final_accuracy),
                ),
                first_update: Spread::of(at(Moment::Initial).into_iter().filter_map(|r| {
                    let rms = |row: &HistoryRow| mean_square(row).sqrt();
                    Some(rms(r.get("update", 1)?) / rms(r.get("weight", 1)?))
                })),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(run: &str, step: i64, layer: i64, quantity: &str, mean: f64, std: f64) -> HistoryRow {
        HistoryRow {
            run_id: run.to_owned(),
            step,
            layer,
            layer_name: format!("l{layer}"),
            quantity: quantity.to_owned(),
            mean,
            std,
            ..HistoryRow::default()
        }
    }

    #[test]
    fn spread_interpolates_like_numpy() {
        // numpy.percentile([1, 2, 4, 8], [25, 50, 75]) = [1.75, 3.0, 5.0]
        let s = Spread::of([8.0, 1.0, f64::NAN, 4.0, 2.0]).unwrap();
        let bits = |v: f64| v.to_bits();
        assert_eq!(
            (bits(s.q1), bits(s.median), bits(s.q3), s.n),
            (bits(1.75), bits(3.0), bits(5.0), 4)
        );
        assert_eq!(Spread::of([]), None);
    }

    /// A two-layer network (3 hidden units, 1 output) with hand-picked statistics:
    /// the prediction is sqrt(1 * (0.1^2 + 0.5^2) * (0.2^2 + 0.1^2)) for the only pair.
    #[test]
    fn recursion_follows_the_formula() {
        let run = RunRow {
            run_id: "a/s0".into(),
            label: "a".into(),
            hidden: "3".into(),
            depth: 1,
            final_accuracy: 0.75,
            ..RunRow::default()
        };
        let mut history = Vec::new();
        for (step, scale) in [(0, 1.0), (10, 2.0)] {
            history.extend([
                row("a/s0", step, 1, "preact_grad", 0.0, 0.01 * scale),
                row("a/s0", step, 2, "preact_grad", 0.0, 0.04),
                row("a/s0", step, 2, "weight", 0.1, 0.5),
                row("a/s0", step, 1, "slope", 0.2, 0.1),
                row("a/s0", step, 1, "weight", 0.0, 1.0),
                row("a/s0", step, 1, "weight_grad", 0.0, 0.003 * scale),
                row("a/s0", step, 2, "weight_grad", 0.0, 0.03),
                row("a/s0", step, 1, "update", 0.0, 0.002),
            ]);
        }
        let tables = ExperimentTables {
            runs: vec![run],
            history,
            ..ExperimentTables::default()
        };
        let steps = variance_recursion(&tables, "a");
        assert_eq!(steps.len(), 1);
        assert!((steps[0].measured.median - 0.25).abs() < 1e-15);
        let expected = (0.26_f64 * 0.05).sqrt();
        assert!((steps[0].theory.unwrap().median - expected).abs() < 1e-15);

        let profile = layer_profile(&tables, "a", "preact_grad", Moment::Final, |r| r.std);
        assert_eq!(profile.len(), 2);
        assert!((profile[0].spread.median - 0.02).abs() < 1e-15);

        let [summary] = config_summaries(&tables).try_into().unwrap();
        assert!((summary.ratio_initial.unwrap().median - 0.1).abs() < 1e-15);
        assert!((summary.ratio_final.unwrap().median - 0.2).abs() < 1e-15);
        // rms(update) = 0.002, rms(W) = 1.
        assert!((summary.first_update.unwrap().median - 0.002).abs() < 1e-15);
        assert_eq!(
            summary.accuracy.unwrap().median.to_bits(),
            0.75_f64.to_bits()
        );
    }

    /// A softmax over 4 classes: the pair below the output counts 4 units above it,
    /// for the seed whose dataset rows are kept and for the seed whose rows are not.
    #[test]
    fn a_softmax_counts_one_output_unit_per_class_for_every_seed() {
        let run = |seed: u64| RunRow {
            run_id: format!("a/s{seed}"),
            label: "a".into(),
            seed,
            hidden: "3".into(),
            depth: 1,
            output: "softmax".into(),
            ..RunRow::default()
        };
        let mut history = Vec::new();
        for id in ["a/s0", "a/s1"] {
            history.extend([
                row(id, 0, 1, "preact_grad", 0.0, 0.01),
                row(id, 0, 2, "preact_grad", 0.0, 0.04),
                row(id, 0, 2, "weight", 0.1, 0.5),
                row(id, 0, 1, "slope", 0.2, 0.1),
            ]);
        }
        let dataset = (0..8)
            .map(|i| crate::tables::PointRow {
                run_id: "a/s0".into(),
                seed: 0,
                split: "train".into(),
                x0: 0.0,
                x1: 0.0,
                label: i % 4,
                features: Vec::new(),
            })
            .collect();
        let tables = ExperimentTables {
            runs: vec![run(0), run(1)],
            history,
            dataset,
            ..ExperimentTables::default()
        };
        let steps = variance_recursion(&tables, "a");
        let theory = steps[0].theory.unwrap();
        // sqrt(4 * (0.1^2 + 0.5^2) * (0.2^2 + 0.1^2)) for both seeds.
        let expected = (4.0 * 0.26_f64 * 0.05).sqrt();
        assert_eq!(theory.n, 2);
        assert!((theory.q1 - expected).abs() < 1e-15, "{theory:?}");
        assert!((theory.q3 - expected).abs() < 1e-15, "{theory:?}");
    }
}
