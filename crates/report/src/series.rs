//! Per-configuration time series drawn from the history and metrics tables: one line
//! per layer (or split), aggregated over a configuration's seeds as mean, min and max.

use std::collections::{BTreeMap, HashMap};

use vanishing_analysis::{ExperimentTables, HistoryRow, MetricRow, RunRow};

use crate::charts::Scale;

/// The runs of one configuration (one label) of an experiment.
#[derive(Debug, Clone)]
pub(crate) struct Config<'a> {
    /// The label shared by the runs.
    pub(crate) label: &'a str,
    /// The runs, one per seed.
    pub(crate) runs: Vec<&'a RunRow>,
    /// How many of them diverged. Their rows are left out of `history` and `metrics`,
    /// so that every mean over seeds is one over runs that trained to the end (a
    /// diverged run's last records hold infinities or numbers without meaning).
    pub(crate) diverged: usize,
    /// The history rows of the runs that did not diverge, as the stretches of
    /// consecutive rows of one run that the table stores them in.
    history: Vec<&'a [HistoryRow]>,
    /// Their metric rows, likewise.
    metrics: Vec<&'a [MetricRow]>,
}

impl<'a> Config<'a> {
    /// A name for headings: the experiment's name when nothing was swept.
    pub(crate) fn title(&self, experiment: &str) -> String {
        if self.label == experiment {
            experiment.to_owned()
        } else {
            format!("{experiment}: {}", self.label)
        }
    }

    /// The history rows of this configuration's runs.
    pub(crate) fn history(&self) -> impl Iterator<Item = &'a HistoryRow> + '_ {
        self.history.iter().copied().flatten()
    }

    /// The metric rows of this configuration's runs.
    pub(crate) fn metrics(&self) -> impl Iterator<Item = &'a MetricRow> + '_ {
        self.metrics.iter().copied().flatten()
    }
}

/// The configurations of an experiment, in the order they first appear.
pub(crate) fn configs(tables: &ExperimentTables) -> Vec<Config<'_>> {
    let mut configs: Vec<Config<'_>> = Vec::new();
    let mut index: HashMap<&str, usize> = HashMap::new();
    let mut config_of: HashMap<&str, usize> = HashMap::new();
    for run in &tables.runs {
        let i = *index.entry(&run.label).or_insert_with(|| {
            configs.push(Config {
                label: &run.label,
                runs: Vec::new(),
                diverged: 0,
                history: Vec::new(),
                metrics: Vec::new(),
            });
            configs.len() - 1
        });
        configs[i].runs.push(run);
        if run.diverged {
            configs[i].diverged += 1;
        } else {
            config_of.insert(&run.run_id, i);
        }
    }
    // A table's rows come in stretches of one run, as they are stored, so each run id is
    // looked up once per stretch rather than once per row, and every later pass over a
    // configuration's rows touches only its own: a sweep of thousands of runs stays
    // linear.
    for rows in tables.history.chunk_by(|a, b| a.run_id == b.run_id) {
        if let Some(&i) = config_of.get(rows[0].run_id.as_str()) {
            configs[i].history.push(rows);
        }
    }
    for rows in tables.metrics.chunk_by(|a, b| a.run_id == b.run_id) {
        if let Some(&i) = config_of.get(rows[0].run_id.as_str()) {
            configs[i].metrics.push(rows);
        }
    }
    configs
}

/// `(x, mean, min, max)`: one point of a [`Band`].
pub(crate) type Point = (f64, f64, f64, f64);

/// One aggregated line: at each x, the mean, minimum and maximum over seeds.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Band {
    /// Legend name (a layer name, or a split).
    pub(crate) name: String,
    /// `(x, mean, min, max)`, sorted by x.
    pub(crate) points: Vec<Point>,
}

/// Progress through training in epochs, from a record's step: exact epochs for records
/// on epoch boundaries, fractions in between.
pub(crate) fn epoch_of(run: &RunRow, step: i64) -> f64 {
    if run.steps > 0 {
        step as f64 * run.epochs as f64 / run.steps as f64
    } else {
        0.0
    }
}

fn aggregate(name: String, samples: BTreeMap<i64, Vec<f64>>, x_of: impl Fn(i64) -> f64) -> Band {
    let points = samples
        .into_iter()
        .map(|(step, values)| {
            let n = values.len() as f64;
            let mean = values.iter().sum::<f64>() / n;
            let min = values.iter().copied().fold(f64::INFINITY, f64::min);
            let max = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            (x_of(step), mean, min, max)
        })
        .collect();
    Band { name, points }
}

/// One band per layer of `stat` of `quantity`, over the configuration's seeds.
pub(crate) fn layer_bands(
    config: &Config<'_>,
    quantity: &str,
    stat: impl Fn(&HistoryRow) -> f64,
) -> Vec<Band> {
    let Some(first) = config.runs.first() else {
        return Vec::new();
    };
    let mut layers: BTreeMap<i64, (String, BTreeMap<i64, Vec<f64>>)> = BTreeMap::new();
    for row in config.history().filter(|r| r.quantity == quantity) {
        let entry = layers
            .entry(row.layer)
            .or_insert_with(|| (row.layer_name.clone(), BTreeMap::new()));
        entry.1.entry(row.step).or_default().push(stat(row));
    }
    layers
        .into_values()
        .map(|(name, samples)| aggregate(name, samples, |s| epoch_of(first, s)))
        .collect()
}

/// One band per split of a metric (`loss` or `accuracy`), over the configuration's
/// seeds.
pub(crate) fn metric_bands(config: &Config<'_>, accuracy: bool) -> Vec<Band> {
    let Some(first) = config.runs.first() else {
        return Vec::new();
    };
    let mut splits: BTreeMap<&str, BTreeMap<i64, Vec<f64>>> = BTreeMap::new();
    for row in config.metrics() {
        let value = if accuracy { row.accuracy } else { row.loss };
        splits
            .entry(&row.split)
            .or_default()
            .entry(row.step)
            .or_default()
            .push(value);
    }
    // "train" before "test".
    let mut bands: Vec<Band> = splits
        .into_iter()
        .map(|(split, samples)| aggregate(split.to_owned(), samples, |s| epoch_of(first, s)))
        .collect();
    bands.sort_by_key(|b| b.name != "train");
    bands
}

/// The smallest and largest value (mean, min or max) of every band that `keep` accepts.
pub(crate) fn value_range(all: &[Vec<Band>], keep: impl Fn(f64) -> bool) -> (f64, f64) {
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
pub(crate) fn shared_log(all: &[Vec<Band>]) -> Scale {
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
pub(crate) fn shared_linear(all: &[Vec<Band>]) -> Scale {
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

/// A number with three significant digits, in scientific notation when small or
/// large: what a caption needs.
pub(crate) fn num(v: f64) -> String {
    if !v.is_finite() {
        return "n/a".to_owned();
    }
    if v == 0.0 {
        return "0".to_owned();
    }
    let magnitude = v.abs().log10().floor();
    if (-2.0..4.0).contains(&magnitude) {
        let decimals = (2.0 - magnitude).max(0.0) as usize;
        format!("{v:.decimals$}")
    } else {
        format!("{v:.2e}")
    }
}

/// A caption from the lines of a chart: where the first and the last line start and
/// end (for per-layer charts, the layer next to the input and the output layer).
pub(crate) fn band_caption(bands: &[Band]) -> String {
    let ends = |b: &Band| {
        let first = b.points.first()?;
        let last = b.points.last()?;
        Some(format!(
            "{} {} \u{2192} {}",
            b.name,
            num(first.1),
            num(last.1)
        ))
    };
    let mut parts: Vec<String> = bands.first().and_then(ends).into_iter().collect();
    if bands.len() > 1 {
        parts.extend(bands.last().and_then(ends));
    }
    let span = bands
        .first()
        .and_then(|b| Some((b.points.first()?.0, b.points.last()?.0)));
    match span {
        Some((a, b)) if !parts.is_empty() => {
            format!(
                "{} (epoch {} \u{2192} {}).",
                parts.join("; "),
                num(a),
                num(b)
            )
        }
        _ => "No records to draw.".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn history(run_id: &str, step: i64, layer: i64, std: f64) -> HistoryRow {
        HistoryRow {
            run_id: run_id.to_owned(),
            epoch: step / 10,
            step,
            layer,
            layer_name: format!("hidden{layer}"),
            quantity: "weight_grad".to_owned(),
            std,
            ..HistoryRow::default()
        }
    }

    fn run(run_id: &str, label: &str) -> RunRow {
        RunRow {
            run_id: run_id.to_owned(),
            label: label.to_owned(),
            epochs: 2,
            steps: 20,
            ..RunRow::default()
        }
    }

    #[test]
    fn bands_aggregate_seeds_per_layer_and_step() {
        let tables = ExperimentTables {
            runs: vec![run("a/s1", "a"), run("a/s2", "a"), run("b/s1", "b")],
            history: vec![
                history("a/s1", 0, 1, 1.0),
                history("a/s2", 0, 1, 3.0),
                history("a/s1", 10, 1, 2.0),
                history("a/s2", 10, 1, 2.0),
                history("a/s1", 0, 2, 5.0),
                history("b/s1", 0, 1, 100.0),
            ],
            ..ExperimentTables::default()
        };
        let configs = configs(&tables);
        assert_eq!(
            configs.iter().map(|c| c.label).collect::<Vec<_>>(),
            ["a", "b"]
        );
        let bands = layer_bands(&configs[0], "weight_grad", |r| r.std);
        assert_eq!(bands.len(), 2);
        assert_eq!(bands[0].name, "hidden1");
        // Step 10 of 20 over 2 epochs is epoch 1.
        assert_eq!(
            bands[0].points,
            vec![(0.0, 2.0, 1.0, 3.0), (1.0, 2.0, 2.0, 2.0)]
        );
        // Layer 2 has one seed at one step: no spread.
        assert_eq!(bands[1].points, vec![(0.0, 5.0, 5.0, 5.0)]);
    }
    #[test]
    fn a_diverged_run_is_counted_but_left_out_of_the_bands() {
        let diverged = RunRow {
            diverged: true,
            ..run("a/s2", "a")
        };
        let tables = ExperimentTables {
            runs: vec![run("a/s1", "a"), diverged],
            history: vec![
                history("a/s1", 0, 1, 1.0),
                history("a/s2", 0, 1, f64::INFINITY),
            ],
            ..ExperimentTables::default()
        };
        let configs = configs(&tables);
        assert_eq!((configs[0].runs.len(), configs[0].diverged), (2, 1));
        let bands = layer_bands(&configs[0], "weight_grad", |r| r.std);
        assert_eq!(bands[0].points, vec![(0.0, 1.0, 1.0, 1.0)]);
    }
}
