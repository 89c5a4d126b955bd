use rand::{Rng, RngExt};

use crate::DataError;

/// Points and their class labels, one row per sample.
///
/// `x` is row-major: the features of sample `i` are
/// `x[i * n_features..(i + 1) * n_features]`, and `labels[i]` is its class.
#[derive(Debug, Clone, PartialEq)]
pub struct Dataset {
    /// Row-major feature matrix of `labels.len()` rows and `n_features` columns.
    pub x: Vec<f64>,
    /// Class label of each row.
    pub labels: Vec<u32>,
    /// Number of feature columns.
    pub n_features: usize,
}

/// A dataset divided into disjoint training and test rows.
#[derive(Debug, Clone, PartialEq)]
pub struct Split {
    /// Rows used to fit a model.
    pub train: Dataset,
    /// Held-out rows; empty when the test fraction is zero.
    pub test: Dataset,
}

impl Dataset {
    /// An empty dataset with `n_features` columns.
    pub fn empty(n_features: usize) -> Self {
        Self {
            x: Vec::new(),
            labels: Vec::new(),
            n_features,
        }
    }

    /// Number of samples (rows).
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// Whether the dataset has no rows.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// The features of row `i`.
    ///
    /// # Panics
    /// If `i` is out of bounds.
    #[track_caller]
    pub fn row(&self, i: usize) -> &[f64] {
        &self.x[i * self.n_features..(i + 1) * self.n_features]
    }

    /// Number of rows of each class, indexed by label (`counts[c]` rows have label `c`).
    pub fn class_counts(&self) -> Vec<usize> {
        let n_classes = self.labels.iter().max().map_or(0, |&m| m as usize + 1);
        let mut counts = vec![0; n_classes];
        for &label in &self.labels {
            counts[label as usize] += 1;
        }
        counts
    }

    /// A new dataset holding the given rows, in the given order.
    ///
    /// # Panics
    /// If an index is out of bounds.
    #[track_caller]
    pub fn select(&self, rows: &[usize]) -> Self {
        let mut out = Self {
            x: Vec::with_capacity(rows.len() * self.n_features),
            labels: Vec::with_capacity(rows.len()),
            n_features: self.n_features,
        };
        for &i in rows {
            out.x.extend_from_slice(self.row(i));
            out.labels.push(self.labels[i]);
        }
        out
    }

    /// Shuffles the rows in place with a Fisher-Yates pass, keeping each row's label
    /// with it.
    pub fn shuffle<R: Rng + ?Sized>(&mut self, rng: &mut R) {
        let d = self.n_features;
        for i in (1..self.len()).rev() {
            let j = rng.random_range(0..=i);
            if i != j {
                self.labels.swap(i, j);
                for k in 0..d {
                    self.x.swap(i * d + k, j * d + k);
                }
            }
        }
    }

    /// Splits the rows into training and test parts, keeping each class's share in both
    /// (a stratified shuffle split, as scikit-learn's `train_test_split(stratify=y)`).
    ///
    /// The test part gets `ceil(fraction * len)` rows. They are allotted to the classes
    /// in proportion to the class sizes, rounding down and then handing the remaining
    /// rows to the classes with the largest remainders (ties to the larger class, then
    /// to the lower label). Within each class the rows are drawn at random; both parts
    /// are then shuffled, so neither is ordered by class.
    ///
    /// # Errors
    /// [`DataError::TestFractionOutOfRange`] unless `0 <= fraction < 1`, and
    /// [`DataError::EmptyTrainingSet`] if rounding would leave no training row.
    pub fn stratified_split<R: Rng + ?Sized>(
        &self,
        fraction: f64,
        rng: &mut R,
    ) -> Result<Split, DataError> {
        if !(0.0..1.0).contains(&fraction) {
            return Err(DataError::TestFractionOutOfRange { fraction });
        }
        let n = self.len();
        let n_test = (fraction * n as f64).ceil() as usize;
        if n_test >= n {
            return Err(DataError::EmptyTrainingSet {
                fraction,
                n_samples: n,
            });
        }
        let counts = self.class_counts();
        let quotas = allot(&counts, n_test, n);

        // Rows of each class, in dataset order, then shuffled within the class.
        let mut by_class: Vec<Vec<usize>> = counts.iter().map(|&c| Vec::with_capacity(c)).collect();
        for (i, &label) in self.labels.iter().enumerate() {
            by_class[label as usize].push(i);
        }
        let mut train_rows = Vec::with_capacity(n - n_test);
        let mut test_rows = Vec::with_capacity(n_test);
        for (rows, &quota) in by_class.iter_mut().zip(&quotas) {
            shuffle_slice(rows, rng);
            test_rows.extend_from_slice(&rows[..quota]);
            train_rows.extend_from_slice(&rows[quota..]);
        }
        shuffle_slice(&mut train_rows, rng);
        shuffle_slice(&mut test_rows, rng);
        Ok(Split {
            train: self.select(&train_rows),
            test: self.select(&test_rows),
        })
    }
}

/// Divides `total` test rows among classes of the given sizes (out of `n` rows) in
/// proportion to their size, by the largest-remainder method.
fn allot(counts: &[usize], total: usize, n: usize) -> Vec<usize> {
    let mut quotas: Vec<usize> = counts.iter().map(|&c| c * total / n).collect();
    let mut remaining = total - quotas.iter().sum::<usize>();
    // Remainders are compared exactly as integers (c * total mod n).
    let mut order: Vec<usize> = (0..counts.len()).collect();
    order.sort_by(|&a, &b| {
        let ra = counts[a] * total % n;
        let rb = counts[b] * total % n;
        rb.cmp(&ra).then(counts[b].cmp(&counts[a])).then(a.cmp(&b))
    });
    for &class in order.iter().cycle() {
        if remaining == 0 {
            break;
        }
        if quotas[class] < counts[class] {
            quotas[class] += 1;
            remaining -= 1;
        }
    }
    quotas
}

fn shuffle_slice<T, R: Rng + ?Sized>(items: &mut [T], rng: &mut R) {
    for i in (1..items.len()).rev() {
        let j = rng.random_range(0..=i);
        items.swap(i, j);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allot_is_proportional_and_exact() {
        // 500/500 split, 200 test rows: 100 each.
        assert_eq!(allot(&[500, 500], 200, 1000), vec![100, 100]);
        // 3/7 with 5 test rows: 1.5 and 3.5; the tie in remainders goes to the larger class.
        assert_eq!(allot(&[3, 7], 5, 10), vec![1, 4]);
        // Totals always match.
        for total in 0..20 {
            assert_eq!(allot(&[7, 6, 7], total, 20).iter().sum::<usize>(), total);
        }
    }
}
