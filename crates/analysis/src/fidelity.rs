//! Agreement between vanishing and Keras on the same configurations: the medians over
//! seeds of the first-minibatch gradient spread per layer, and of the final accuracy.

use std::collections::BTreeMap;

use crate::tables::{ExperimentTables, RunRow};

/// The `framework` of runs replayed by the Keras harness.
pub const KERAS: &str = "keras";

/// Largest relative difference of the median gradient std per layer that counts as
/// agreement.
pub const GRADIENT_TOLERANCE: f64 = 0.25;

/// Largest absolute difference of the median final accuracy that counts as agreement.
pub const ACCURACY_TOLERANCE: f64 = 0.05;

/// What a comparison of two medians says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// The medians differ by no more than the tolerance.
    Agrees,
    /// The medians differ by more than the tolerance, and by more than the sampling
    /// noise of that many seeds explains.
    Disagrees,
    /// The medians differ by more than the tolerance, but the seeds are too few to
    /// tell: the sampling noise of the difference is itself above the tolerance.
    Unresolved,
}

impl Verdict {
    fn of(difference: f64, noise: f64, tolerance: f64) -> Self {
        if difference <= tolerance {
            Self::Agrees
        } else if noise <= tolerance {
            Self::Disagrees
        } else {
            Self::Unresolved
        }
    }

    /// The verdict in a word.
    pub fn name(self) -> &'static str {
        match self {
            Self::Agrees => "yes",
            Self::Disagrees => "no",
            Self::Unresolved => "unresolved",
        }
    }
}

/// A median with its distribution-free 95% confidence interval: the order statistics
/// at ranks `n/2 -+ 1.96 sqrt(n)/2` (the normal approximation of the binomial count of
/// values below the median). `None` for no values.
pub fn median_interval(values: &[f64]) -> Option<(f64, f64, f64)> {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let n = sorted.len();
    let median = median(&sorted)?;
    let half_width = 1.96 * (n as f64).sqrt() / 2.0;
    let half = n as f64 / 2.0;
    // 1-based ranks, clamped to the sample.
    let lower = ((half - half_width).round().max(1.0) as usize).min(n);
    let upper = ((half + half_width).round() as usize + 1).clamp(1, n);
    Some((sorted[lower - 1], median, sorted[upper - 1]))
}

/// The sampling noise of the difference of two medians: the half-widths of their 95%
/// intervals combined in quadrature, on the scale `scale` maps values to.
fn noise(a: &[f64], b: &[f64], scale: impl Fn(f64) -> f64) -> f64 {
    let half = |v: &[f64]| {
        median_interval(v).map_or(f64::INFINITY, |(lo, _, hi)| (scale(hi) - scale(lo)) / 2.0)
    };
    half(a).hypot(half(b))
}

/// One configuration's median first-minibatch kernel-gradient std in one layer, in
/// both frameworks.
#[derive(Debug, Clone, PartialEq)]
pub struct GradientAgreement {
    /// The configuration (a run's label).
    pub label: String,
    /// Layer, 1-based from the input side.
    pub layer: i64,
    /// Median over vanishing's runs.
    pub vanishing: f64,
    /// Median over Keras' runs.
    pub keras: f64,
    /// Runs behind each median: vanishing's, Keras'.
    pub runs: (usize, usize),
    /// The relative difference that sampling alone makes likely (95%) at these
    /// numbers of seeds: from the medians' intervals on a log scale.
    pub noise: f64,
}

impl GradientAgreement {
    /// `|vanishing - keras| / keras`.
    pub fn relative_difference(&self) -> f64 {
        (self.vanishing - self.keras).abs() / self.keras
    }

    /// Whether the medians agree within [`GRADIENT_TOLERANCE`].
    pub fn agrees(&self) -> bool {
        self.verdict() == Verdict::Agrees
    }

    /// The comparison's verdict, given the sampling noise.
    pub fn verdict(&self) -> Verdict {
        Verdict::of(self.relative_difference(), self.noise, GRADIENT_TOLERANCE)
    }
}

/// One configuration's median final training accuracy in both frameworks.
#[derive(Debug, Clone, PartialEq)]
pub struct AccuracyAgreement {
    /// The configuration (a run's label).
    pub label: String,
    /// Median over vanishing's runs.
    pub vanishing: f64,
    /// Median over Keras' runs.
    pub keras: f64,
    /// Runs behind each median: vanishing's, Keras'.
    pub runs: (usize, usize),
    /// The absolute difference that sampling alone makes likely (95%) at these
    /// numbers of seeds.
    pub noise: f64,
}

impl AccuracyAgreement {
    /// `vanishing - keras`.
    pub fn difference(&self) -> f64 {
        self.vanishing - self.keras
    }

    /// Whether the medians agree within [`ACCURACY_TOLERANCE`].
    pub fn agrees(&self) -> bool {
        self.verdict() == Verdict::Agrees
    }

    /// The comparison's verdict, given the sampling noise.
    pub fn verdict(&self) -> Verdict {
        Verdict::of(self.difference().abs(), self.noise, ACCURACY_TOLERANCE)
    }
}

/// The comparison of one experiment run by both frameworks.
#[derive(Debug, Clone, PartialEq)]
pub struct Fidelity {
    /// The experiment's name.
    pub experiment: String,
    /// Per configuration and layer, in the order configurations appear.
    pub gradients: Vec<GradientAgreement>,
    /// Per configuration, in the order configurations appear.
    pub accuracy: Vec<AccuracyAgreement>,
}

impl Fidelity {
    /// Every verdict, gradients first.
    pub fn verdicts(&self) -> impl Iterator<Item = Verdict> + '_ {
        self.gradients
            .iter()
            .map(GradientAgreement::verdict)
            .chain(self.accuracy.iter().map(AccuracyAgreement::verdict))
    }
}

/// Whether an experiment's runs were trained by Keras.
pub fn is_keras(tables: &ExperimentTables) -> bool {
    tables.runs.first().is_some_and(|r| r.framework == KERAS)
}

/// Each experiment imported from Keras with the vanishing experiment of the same name,
/// in the order of `all`; Keras experiments without a counterpart are left out.
pub fn keras_pairs(all: &[ExperimentTables]) -> Vec<(&ExperimentTables, &ExperimentTables)> {
    all.iter()
        .filter(|k| is_keras(k))
        .filter_map(|keras| {
            let name = &keras.runs[0].experiment;
            all.iter()
                .find(|v| !is_keras(v) && v.runs.first().is_some_and(|r| &r.experiment == name))
                .map(|vanishing| (vanishing, keras))
        })
        .collect()
}

/// The median of values (the mean of the middle two for an even count); `None` for
/// none.
pub fn median(values: &[f64]) -> Option<f64> {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let n = sorted.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => Some(sorted[n / 2]),
        _ => Some((sorted[n / 2 - 1] + sorted[n / 2]) / 2.0),
    }
}

/// Labels in the order they first appear among the runs.
fn labels(runs: &[RunRow]) -> Vec<&str> {
    let mut order: Vec<&str> = Vec::new();
    for run in runs {
        if !order.contains(&run.label.as_str()) {
            order.push(&run.label);
        }
    }
    order
}

/// Each run's kernel-gradient std per layer at initialization (the record at step 0,
/// the first minibatch before any update), grouped by configuration and layer.
pub fn initial_gradient_std(tables: &ExperimentTables) -> BTreeMap<(&str, i64), Vec<f64>> {
    let label_of: BTreeMap<&str, &str> = tables
        .runs
        .iter()
        .map(|r| (r.run_id.as_str(), r.label.as_str()))
        .collect();
    let mut groups: BTreeMap<(&str, i64), Vec<f64>> = BTreeMap::new();
    for row in &tables.history {
        if row.step != 0 || row.quantity != "weight_grad" {
            continue;
        }
        if let Some(label) = label_of.get(row.run_id.as_str()) {
            groups.entry((label, row.layer)).or_default().push(row.std);
        }
    }
    groups
}

/// Final training accuracy of each run, grouped by configuration.
pub fn final_accuracies(tables: &ExperimentTables) -> BTreeMap<&str, Vec<f64>> {
    let mut groups: BTreeMap<&str, Vec<f64>> = BTreeMap::new();
    for run in &tables.runs {
        groups
            .entry(run.label.as_str())
            .or_default()
            .push(run.final_accuracy);
    }
    groups
}

/// Compares the configurations that both experiments ran.
pub fn fidelity(vanishing: &ExperimentTables, keras: &ExperimentTables) -> Fidelity {
    let (v_grads, k_grads) = (initial_gradient_std(vanishing), initial_gradient_std(keras));
    let (v_acc, k_acc) = (final_accuracies(vanishing), final_accuracies(keras));
    let mut gradients = Vec::new();
    let mut accuracy = Vec::new();
    for label in labels(&vanishing.runs) {
        if let (Some(v), Some(k)) = (v_acc.get(label), k_acc.get(label))
            && let (Some(vm), Some(km)) = (median(v), median(k))
        {
            accuracy.push(AccuracyAgreement {
                label: label.to_owned(),
                vanishing: vm,
                keras: km,
                runs: (v.len(), k.len()),
                noise: noise(v, k, |x| x),
            });
        }
        for (&(_, layer), v) in v_grads.range((label, i64::MIN)..=(label, i64::MAX)) {
            if let Some(k) = k_grads.get(&(label, layer))
                && let (Some(vm), Some(km)) = (median(v), median(k))
            {
                gradients.push(GradientAgreement {
                    label: label.to_owned(),
                    layer,
                    vanishing: vm,
                    keras: km,
                    runs: (v.len(), k.len()),
                    noise: noise(v, k, f64::ln).exp_m1(),
                });
            }
        }
    }
    Fidelity {
        experiment: vanishing
            .runs
            .first()
            .map_or_else(String::new, |r| r.experiment.clone()),
        gradients,
        accuracy,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tables::HistoryRow;

    fn tables(framework: &str, runs: &[(&str, f64, &[f64])]) -> ExperimentTables {
        let mut t = ExperimentTables::default();
        for (i, &(label, accuracy, grads)) in runs.iter().enumerate() {
            let run_id = format!("{label}/s{i}");
            t.runs.push(RunRow {
                run_id: run_id.clone(),
                experiment: "e".to_owned(),
                label: label.to_owned(),
                final_accuracy: accuracy,
                framework: framework.to_owned(),
                ..RunRow::default()
            });
            for (layer, &std) in grads.iter().enumerate() {
                for (step, scale) in [(0, 1.0), (31, 100.0)] {
                    t.history.push(HistoryRow {
                        run_id: run_id.clone(),
                        epoch: i64::from(step > 0),
                        step,
                        layer: layer as i64 + 1,
                        quantity: "weight_grad".to_owned(),
                        std: std * scale,
                        ..HistoryRow::default()
                    });
                }
            }
        }
        t
    }

    #[test]
    fn medians_take_the_middle() {
        assert_eq!(median(&[]), None);
        assert_eq!(median(&[3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), Some(2.5));
    }

    #[test]
    fn median_intervals_narrow_with_more_seeds() {
        let few: Vec<f64> = (0..20).map(f64::from).collect();
        let many: Vec<f64> = (0..2000).map(|i| f64::from(i) / 100.0).collect();
        // Ranks 6 and 15 of 20 (1-based): values 5 and 14, as the binomial gives.
        assert_eq!(median_interval(&few), Some((5.0, 9.5, 14.0)));
        let (lo, m, hi) = median_interval(&many).unwrap();
        assert!((m - 9.995).abs() < 1e-12);
        // About 1.96 * sqrt(2000) = 88 ranks of 0.01 wide.
        assert!(
            (0.8..1.0).contains(&(hi - lo)) && lo < m && m < hi,
            "{lo} {hi}"
        );
        assert_eq!(median_interval(&[2.0]), Some((2.0, 2.0, 2.0)));
        assert_eq!(median_interval(&[]), None);
        // A clear difference with many seeds is a disagreement, not noise.
        let shifted: Vec<f64> = many.iter().map(|v| v + 5.0).collect();
        assert!(noise(&many, &shifted, |x| x) < 1.0);
        assert_eq!(Verdict::of(5.0, 0.3, 1.0), Verdict::Disagrees);
    }

    #[test]
    fn compares_medians_at_initialization_per_layer() {
        let v = tables(
            "vanishing",
            &[
                ("a", 0.9, &[1.0, 10.0]),
                ("a", 0.7, &[3.0, 30.0]),
                ("a", 0.8, &[2.0, 20.0]),
                ("b", 0.5, &[1.0, 1.0]),
            ],
        );
        let k = tables(
            KERAS,
            &[
                ("a", 0.6, &[2.4, 20.0]),
                ("a", 0.8, &[2.6, 20.0]),
                ("c", 0.5, &[1.0, 1.0]),
            ],
        );
        let f = fidelity(&v, &k);
        // Only configuration `a` ran in both; the step-31 records are not the init.
        assert_eq!(f.accuracy.len(), 1);
        assert!((f.accuracy[0].vanishing - 0.8).abs() < 1e-12);
        assert!((f.accuracy[0].keras - 0.7).abs() < 1e-12);
        assert!(!f.accuracy[0].agrees());
        // Two and three seeds cannot tell 0.1 apart.
        assert_eq!(f.accuracy[0].verdict(), Verdict::Unresolved);
        assert_eq!(f.gradients.len(), 2);
        assert_eq!((f.gradients[0].layer, f.gradients[0].runs), (1, (3, 2)));
        assert!((f.gradients[0].vanishing - 2.0).abs() < 1e-12);
        assert!((f.gradients[0].keras - 2.5).abs() < 1e-12);
        assert!((f.gradients[0].relative_difference() - 0.2).abs() < 1e-12);
        assert!(f.gradients[0].agrees() && f.gradients[1].agrees());
        assert_eq!(
            f.verdicts().collect::<Vec<_>>(),
            [Verdict::Agrees, Verdict::Agrees, Verdict::Unresolved]
        );
    }

    #[test]
    fn pairs_keras_experiments_with_their_vanishing_twin() {
        let v = tables("vanishing", &[("a", 0.9, &[1.0])]);
        let k = tables(KERAS, &[("a", 0.9, &[1.0])]);
        let mut other = tables("vanishing", &[("a", 0.9, &[1.0])]);
        other.runs[0].experiment = "other".to_owned();
        let all = [other, k, v];
        let pairs = keras_pairs(&all);
        assert_eq!(pairs.len(), 1);
        assert!(std::ptr::eq(pairs[0].0, &all[2]) && std::ptr::eq(pairs[0].1, &all[1]));
    }
}
