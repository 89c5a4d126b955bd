//! The stratified train/test split: sizes, class shares, disjointness, determinism.

use rand::SeedableRng;
use vanishing_data::{Circles, DataError, Dataset, SeededRng};

fn data(n: usize) -> Dataset {
    Circles {
        n_samples: n,
        factor: 0.5,
        noise: 0.1,
        shuffle: true,
    }
    .generate_seeded(11)
    .unwrap()
}

fn split(d: &Dataset, fraction: f64, seed: u64) -> Result<vanishing_data::Split, DataError> {
    d.stratified_split(fraction, &mut SeededRng::seed_from_u64(seed))
}

#[test]
fn sizes_and_class_shares() {
    // (rows, fraction, test rows, test rows per class)
    for (n, fraction, n_test, per_class) in [
        (1000, 0.2, 200, vec![100, 100]),
        (1000, 0.25, 250, vec![125, 125]),
        (101, 0.1, 11, vec![5, 6]),
        (10, 0.0, 0, vec![0, 0]),
        (1000, 0.999, 999, vec![500, 499]),
    ] {
        let d = data(n);
        let s = split(&d, fraction, 1).unwrap();
        assert_eq!(s.test.len(), n_test, "n={n} fraction={fraction}");
        assert_eq!(s.train.len(), n - n_test);
        let mut counts = s.test.class_counts();
        counts.resize(2, 0);
        assert_eq!(counts, per_class, "n={n} fraction={fraction}");
    }
}

#[test]
fn parts_are_disjoint_and_cover_the_data() {
    let d = data(500);
    let s = split(&d, 0.3, 9).unwrap();
    let key = |d: &Dataset, i: usize| (d.row(i)[0].to_bits(), d.row(i)[1].to_bits(), d.labels[i]);
    let mut all: Vec<_> = (0..d.len()).map(|i| key(&d, i)).collect();
    let mut parts: Vec<_> = (0..s.train.len())
        .map(|i| key(&s.train, i))
        .chain((0..s.test.len()).map(|i| key(&s.test, i)))
        .collect();
    all.sort_unstable();
    parts.sort_unstable();
    assert_eq!(all, parts);
}

#[test]
fn seeded_and_shuffled() {
    let d = data(400);
    assert_eq!(split(&d, 0.25, 3).unwrap(), split(&d, 0.25, 3).unwrap());
    assert_ne!(split(&d, 0.25, 3).unwrap(), split(&d, 0.25, 4).unwrap());
    // Neither part is ordered by class.
    let s = split(&d, 0.25, 3).unwrap();
    assert!(!s.train.labels.windows(2).all(|w| w[0] <= w[1]));
    assert!(!s.test.labels.windows(2).all(|w| w[0] <= w[1]));
}

#[test]
fn bad_fractions_are_refused() {
    let d = data(10);
    for fraction in [1.0, 1.5, -0.1, f64::NAN] {
        assert!(
            matches!(
                split(&d, fraction, 0),
                Err(DataError::TestFractionOutOfRange { .. })
            ),
            "{fraction}"
        );
    }
    // 0.95 of 10 rows rounds up to all 10.
    assert_eq!(
        split(&d, 0.95, 0).unwrap_err(),
        DataError::EmptyTrainingSet {
            fraction: 0.95,
            n_samples: 10
        }
    );
}
