//! Geometry and reproducibility of the generators, checked against scikit-learn's
//! algorithm: how the samples are split between the classes, where the noise-free points
//! lie, how their angles are spaced, and what seeds do.

use std::f64::consts::PI;

use vanishing_data::{Circles, DataError, Dataset, Moons};

fn circles(n_samples: usize, factor: f64, noise: f64, shuffle: bool) -> Circles {
    Circles {
        n_samples,
        factor,
        noise,
        shuffle,
    }
}

fn moons(n_samples: usize, noise: f64, shuffle: bool) -> Moons {
    Moons {
        n_samples,
        noise,
        shuffle,
    }
}

/// Angles of the rows with the given label, in row order, in `[0, 2 pi)`.
fn angles(data: &Dataset, label: u32, center: [f64; 2], flip_y: bool) -> Vec<f64> {
    (0..data.len())
        .filter(|&i| data.labels[i] == label)
        .map(|i| {
            let p = data.row(i);
            let dy = if flip_y {
                center[1] - p[1]
            } else {
                p[1] - center[1]
            };
            (dy.atan2(p[0] - center[0])).rem_euclid(2.0 * PI)
        })
        .collect()
}

#[track_caller]
fn assert_evenly_spaced(angles: &[f64], start: f64, step: f64) {
    for (i, a) in angles.iter().enumerate() {
        let expected = start + i as f64 * step;
        assert!(
            (a - expected).abs() < 1e-12 || (a - expected).abs() > 2.0 * PI - 1e-12,
            "angle {i} is {a}, expected {expected}"
        );
    }
}

#[test]
fn circles_split_labels_as_scikit_learn() {
    // n_out = n / 2 points of class 0, the rest (one more when n is odd) of class 1.
    for (n, expected) in [
        (2, [1, 1]),
        (3, [1, 2]),
        (100, [50, 50]),
        (1000, [500, 500]),
        (1001, [500, 501]),
    ] {
        let data = circles(n, 0.5, 0.1, true).generate_seeded(7).unwrap();
        assert_eq!(data.len(), n);
        assert_eq!(data.x.len(), 2 * n);
        assert_eq!(data.class_counts(), expected, "n = {n}");
    }
}

#[test]
fn noise_free_circles_lie_on_two_radii_with_even_angles() {
    for n in [2, 5, 10, 101, 1000] {
        let data = circles(n, 0.5, 0.0, false).generate_seeded(1).unwrap();
        for i in 0..n {
            let r = data.row(i)[0].hypot(data.row(i)[1]);
            let expected = if data.labels[i] == 0 { 1.0 } else { 0.5 };
            assert!((r - expected).abs() < 1e-12, "row {i}: radius {r}");
        }
        // Unshuffled, the angles on each circle run from 0 in steps of 2 pi / count
        // (numpy's linspace without the endpoint).
        let outer = angles(&data, 0, [0.0, 0.0], false);
        let inner = angles(&data, 1, [0.0, 0.0], false);
        assert_evenly_spaced(&outer, 0.0, 2.0 * PI / outer.len() as f64);
        assert_evenly_spaced(&inner, 0.0, 2.0 * PI / inner.len() as f64);
        // Unshuffled, class 0 comes first.
        assert!(data.labels.windows(2).all(|w| w[0] <= w[1]));
    }
}

#[test]
fn noise_free_moons_follow_the_two_half_circles() {
    for n in [2, 5, 10, 101, 1000] {
        let data = moons(n, 0.0, false).generate_seeded(1).unwrap();
        let outer = angles(&data, 0, [0.0, 0.0], false);
        // The lower moon is (1 - cos t, 0.5 - sin t): centred on (1, 0.5), mirrored.
        let inner: Vec<f64> = (0..n)
            .filter(|&i| data.labels[i] == 1)
            .map(|i| {
                let p = data.row(i);
                (0.5 - p[1]).atan2(1.0 - p[0]).rem_euclid(2.0 * PI)
            })
            .collect();
        for i in 0..n {
            let p = data.row(i);
            let r = if data.labels[i] == 0 {
                p[0].hypot(p[1])
            } else {
                (1.0 - p[0]).hypot(0.5 - p[1])
            };
            assert!((r - 1.0).abs() < 1e-12, "row {i}: radius {r}");
        }
        // numpy's linspace(0, pi, k) includes both ends.
        let step = |k: usize| if k > 1 { PI / (k - 1) as f64 } else { 0.0 };
        assert_evenly_spaced(&outer, 0.0, step(outer.len()));
        assert_evenly_spaced(&inner, 0.0, step(inner.len()));
        if n >= 4 {
            assert!((outer.last().unwrap() - PI).abs() < 1e-12);
        }
    }
}

#[test]
fn shuffling_permutes_rows_and_keeps_labels_with_points() {
    let plain = circles(200, 0.3, 0.0, false).generate_seeded(3).unwrap();
    let shuffled = circles(200, 0.3, 0.0, true).generate_seeded(3).unwrap();
    assert_ne!(plain.labels, shuffled.labels, "shuffle changed nothing");
    // Every shuffled row is a row of the unshuffled set with the same label.
    let key = |d: &Dataset, i: usize| (d.row(i)[0].to_bits(), d.row(i)[1].to_bits(), d.labels[i]);
    let mut a: Vec<_> = (0..200).map(|i| key(&plain, i)).collect();
    let mut b: Vec<_> = (0..200).map(|i| key(&shuffled, i)).collect();
    a.sort_unstable();
    b.sort_unstable();
    assert_eq!(a, b);
}

#[test]
fn noise_has_the_requested_spread() {
    let n = 20_000;
    let clean = circles(n, 0.5, 0.0, false).generate_seeded(5).unwrap();
    let noisy = circles(n, 0.5, 0.1, false).generate_seeded(5).unwrap();
    let diffs: Vec<f64> = noisy.x.iter().zip(&clean.x).map(|(a, b)| a - b).collect();
    let mean = diffs.iter().sum::<f64>() / diffs.len() as f64;
    let var = diffs.iter().map(|d| (d - mean).powi(2)).sum::<f64>() / diffs.len() as f64;
    // 40,000 draws: the standard error of the mean is 0.1 / 200 = 5e-4, and that of the
    // standard deviation about 0.1 / 283 = 3.5e-4.
    assert!(mean.abs() < 2.5e-3, "noise mean {mean}");
    assert!((var.sqrt() - 0.1).abs() < 2e-3, "noise std {}", var.sqrt());
}

#[test]
fn same_seed_same_data_other_seed_other_data() {
    let c = circles(1000, 0.5, 0.1, true);
    assert_eq!(
        c.generate_seeded(42).unwrap(),
        c.generate_seeded(42).unwrap()
    );
    assert_ne!(
        c.generate_seeded(42).unwrap(),
        c.generate_seeded(43).unwrap()
    );
    let m = moons(1000, 0.1, true);
    assert_eq!(
        m.generate_seeded(42).unwrap(),
        m.generate_seeded(42).unwrap()
    );
    assert_ne!(
        m.generate_seeded(42).unwrap(),
        m.generate_seeded(43).unwrap()
    );
}

#[test]
fn invalid_parameters_are_typed_errors() {
    let cases: [(Result<Dataset, DataError>, DataError); 8] = [
        (
            circles(1, 0.5, 0.1, true).generate_seeded(0),
            DataError::TooFewSamples { n_samples: 1 },
        ),
        (
            circles(0, 0.5, 0.1, true).generate_seeded(0),
            DataError::TooFewSamples { n_samples: 0 },
        ),
        (
            circles(10, 1.0, 0.1, true).generate_seeded(0),
            DataError::FactorOutOfRange { factor: 1.0 },
        ),
        (
            circles(10, -0.1, 0.1, true).generate_seeded(0),
            DataError::FactorOutOfRange { factor: -0.1 },
        ),
        (
            circles(10, 0.5, -0.1, true).generate_seeded(0),
            DataError::InvalidNoise { noise: -0.1 },
        ),
        (
            moons(10, f64::INFINITY, true).generate_seeded(0),
            DataError::InvalidNoise {
                noise: f64::INFINITY,
            },
        ),
        (
            moons(1, 0.1, true).generate_seeded(0),
            DataError::TooFewSamples { n_samples: 1 },
        ),
        (
            moons(10, -1.0, true).generate_seeded(0),
            DataError::InvalidNoise { noise: -1.0 },
        ),
    ];
    for (got, expected) in cases {
        assert_eq!(got.unwrap_err(), expected);
    }
    // NaN never compares equal, so it is checked by kind.
    assert!(matches!(
        circles(10, f64::NAN, 0.1, true).generate_seeded(0),
        Err(DataError::FactorOutOfRange { .. })
    ));
    assert!(matches!(
        moons(10, f64::NAN, true).generate_seeded(0),
        Err(DataError::InvalidNoise { .. })
    ));
    // The message names the value.
    let message = circles(10, 0.5, -0.25, true)
        .generate_seeded(0)
        .unwrap_err()
        .to_string();
    assert!(message.contains("-0.25"), "{message}");
}
