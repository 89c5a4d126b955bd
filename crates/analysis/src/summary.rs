use std::collections::BTreeMap;

#[cfg(feature = "parquet")]
use crate::parts::StoredRun;
use crate::tables::{ExperimentTables, HistoryRow, RunRow};

/// Final accuracy of one configuration over its seeds, the diverged ones counted apart.
#[derive(Debug, Clone, PartialEq)]
pub struct AccuracySummary {
    /// The configuration (a run's label).
    pub label: String,
    /// Number of runs (seeds).
    pub runs: usize,
    /// Runs that diverged, which [`AccuracySummary::finished`] leaves out: their loss
    /// is not a number and their accuracy that of a broken model.
    pub diverged: usize,
    /// The spread of the runs that did not diverge; `None` when every run diverged.
    pub finished: Option<FinalSpread>,
}

/// Final accuracy and loss over the runs of a configuration that did not diverge.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FinalSpread {
    /// How many runs these are.
    pub runs: usize,
    /// Mean final training accuracy.
    pub mean: f64,
    /// Population standard deviation of the final training accuracy.
    pub std: f64,
    /// Lowest final training accuracy.
    pub min: f64,
    /// Highest final training accuracy.
    pub max: f64,
    /// Mean final training loss.
    pub mean_loss: f64,
}

/// Final accuracy per configuration (mean, std, min, max over seeds), in the order the
/// configurations first appear.
pub fn accuracy_summary(runs: &[RunRow]) -> Vec<AccuracySummary> {
    summarize(
        runs.iter()
            .map(|r| (r.label.as_str(), r.final_accuracy, r.final_loss, r.diverged)),
    )
}

#[cfg(feature = "parquet")]
/// [`accuracy_summary`] of runs as [`crate::stored_runs`] lists them, without reading the
/// rest of the `runs` table.
pub fn stored_summary(runs: &[StoredRun]) -> Vec<AccuracySummary> {
    summarize(
        runs.iter()
            .map(|r| (r.label.as_str(), r.final_accuracy, r.final_loss, r.diverged)),
    )
}

/// Groups `(label, accuracy, loss, diverged)` by label, in order of first appearance.
fn summarize<'a>(runs: impl Iterator<Item = (&'a str, f64, f64, bool)>) -> Vec<AccuracySummary> {
    let mut order: Vec<&str> = Vec::new();
    let mut groups: BTreeMap<&str, Vec<(f64, f64, bool)>> = BTreeMap::new();
    for (label, accuracy, loss, diverged) in runs {
        let entry = groups.entry(label).or_default();
        if entry.is_empty() {
            order.push(label);
        }
        entry.push((accuracy, loss, diverged));
    }
    order
        .into_iter()
        .map(|label| {
            let values = &groups[label];
            let finished: Vec<(f64, f64)> =
                values.iter().filter(|v| !v.2).map(|v| (v.0, v.1)).collect();
            AccuracySummary {
                label: label.to_owned(),
                runs: values.len(),
                diverged: values.len() - finished.len(),
                finished: spread(&finished),
            }
        })
        .collect()
}

/// Mean, spread and range of `(accuracy, loss)` pairs; `None` for none.
fn spread(values: &[(f64, f64)]) -> Option<FinalSpread> {
    if values.is_empty() {
        return None;
    }
    let n = values.len() as f64;
    let mean = values.iter().map(|v| v.0).sum::<f64>() / n;
    let var = values.iter().map(|v| (v.0 - mean).powi(2)).sum::<f64>() / n;
    Some(FinalSpread {
        runs: values.len(),
        mean,
        std: var.sqrt(),
        min: values.iter().map(|v| v.0).fold(f64::INFINITY, f64::min),
        max: values.iter().map(|v| v.0).fold(f64::NEG_INFINITY, f64::max),
        mean_loss: values.iter().map(|v| v.1).sum::<f64>() / n,
    })
}

/// The "vanishing ratio" of one configuration: the standard deviation of the first
/// layer's kernel gradient divided by the last layer's, at initialization (the first
/// record) and at the end (the last record), averaged over seeds as a geometric mean
/// (ratios spread over orders of magnitude).
#[derive(Debug, Clone, PartialEq)]
pub struct VanishingRatio {
    /// The configuration (a run's label).
    pub label: String,
    /// Number of runs that had both records.
    pub runs: usize,
    /// Ratio at the first record.
    pub at_init: f64,
    /// Ratio at the last record.
    pub at_end: f64,
}

/// The first-over-last kernel-gradient std of one run, at its first and last record.
fn run_ratios(grads: &[&HistoryRow]) -> Option<(f64, f64)> {
    let last_layer = grads.iter().map(|r| r.layer).max()?;
    let first_step = grads.iter().map(|r| r.step).min()?;
    let last_step = grads.iter().map(|r| r.step).max()?;
    let std_at = |layer, step| {
        grads
            .iter()
            .find(|r| r.layer == layer && r.step == step)
            .map(|r| r.std)
    };
    let ratio = |step| match (std_at(1, step), std_at(last_layer, step)) {
        (Some(first), Some(last)) if last > 0.0 => Some(first / last),
        _ => None,
    };
    Some((ratio(first_step)?, ratio(last_step)?))
}

/// The vanishing ratio of every configuration, in the order configurations first
/// appear.
pub fn vanishing_ratios(tables: &ExperimentTables) -> Vec<VanishingRatio> {
    let mut grads_by_run: BTreeMap<&str, Vec<&HistoryRow>> = BTreeMap::new();
    for r in tables
        .history
        .iter()
        .filter(|r| r.quantity == "weight_grad")
    {
        grads_by_run.entry(&r.run_id).or_default().push(r);
    }
    let mut order: Vec<&str> = Vec::new();
    let mut groups: BTreeMap<&str, Vec<(f64, f64)>> = BTreeMap::new();
    for run in &tables.runs {
        let Some(ratios) = grads_by_run
            .get(run.run_id.as_str())
            .and_then(|g| run_ratios(g))
        else {
            continue;
        };
        let entry = groups.entry(&run.label).or_default();
        if entry.is_empty() {
            order.push(&run.label);
        }
        entry.push(ratios);
    }
    let geometric_mean = |values: &[(f64, f64)], pick: fn(&(f64, f64)) -> f64| {
        (values.iter().map(|v| pick(v).ln()).sum::<f64>() / values.len() as f64).exp()
    };
    order
        .into_iter()
        .map(|label| {
            let values = &groups[label];
            VanishingRatio {
                label: label.to_owned(),
                runs: values.len(),
                at_init: geometric_mean(values, |v| v.0),
                at_end: geometric_mean(values, |v| v.1),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diverged_runs_are_counted_apart_and_left_out_of_the_means() {
        let runs = [
            ("a", 0.9, 0.2, false),
            ("a", f64::NAN, f64::NAN, true),
            ("a", 0.7, 0.4, false),
            ("b", 0.5, f64::INFINITY, true),
        ];
        let summary = summarize(runs.into_iter());
        assert_eq!(summary.len(), 2);
        let a = &summary[0];
        assert_eq!((a.label.as_str(), a.runs, a.diverged), ("a", 3, 1));
        let f = a.finished.expect("two runs finished");
        // Over 0.9 and 0.7 only: mean 0.8, population std 0.1, loss (0.2 + 0.4) / 2.
        assert_eq!(f.runs, 2);
        assert!((f.mean - 0.8).abs() < 1e-12 && (f.std - 0.1).abs() < 1e-12);
        assert_eq!((f.min, f.max), (0.7, 0.9));
        assert!((f.mean_loss - 0.3).abs() < 1e-12);
        let b = &summary[1];
        assert_eq!((b.runs, b.diverged, b.finished), (1, 1, None));
    }
}
