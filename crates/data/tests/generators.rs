//! Geometry and reproducibility of the generators, checked against scikit-learn's
//! algorithm: how the samples are split between the classes, where the noise-free points
//! lie, how their angles are spaced, what seeds do, and the documented order of every
//! random draw, replayed on the same stream.

use std::f64::consts::{LN_2, PI};

use rand::distr::Distribution;
use rand::{RngExt, SeedableRng};
use vanishing_data::{
    Circles, DataError, Dataset, Moons, SHAPESET_SIDE, SeededRng, Shapeset, StandardNormal,
};

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

// The documented order of the random draws, replayed.
//
// Each test below draws from a stream seeded like the generator's, in the order the
// generator documents, and compares the result with the generator's to the last bit:
// any change in that order (noise before the shuffle, one draw before another)
// consumes the stream differently and changes the bits.

/// The rows of `n` points with noise `noise` and shuffling as asked, rebuilt from the
/// noise-free, unshuffled points: the rows shuffled first (if asked), by
/// [`Dataset::shuffle`], then `noise * z` added to every coordinate in row-major order,
/// each `z` a fresh [`StandardNormal`] draw.
fn replay_shuffle_then_noise(clean: &Dataset, noise: f64, shuffle: bool, seed: u64) -> Dataset {
    let mut rng = SeededRng::seed_from_u64(seed);
    let mut data = clean.clone();
    if shuffle {
        data.shuffle(&mut rng);
    }
    for v in &mut data.x {
        let z: f64 = StandardNormal.sample(&mut rng);
        *v += noise * z;
    }
    data
}

#[track_caller]
fn assert_same_bits(got: &Dataset, expected: &Dataset) {
    assert_eq!(got.labels, expected.labels);
    assert_eq!(got.n_features, expected.n_features);
    let bits = |d: &Dataset| d.x.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
    assert_eq!(bits(got), bits(expected));
}

#[test]
fn circles_shuffle_first_then_add_noise() {
    for (n, seed) in [(2, 0), (7, 1), (100, 2), (1001, 3)] {
        // Noise-free and unshuffled, a circle set draws nothing.
        let clean = circles(n, 0.3, 0.0, false).generate_seeded(99).unwrap();
        for shuffle in [true, false] {
            let got = circles(n, 0.3, 0.2, shuffle).generate_seeded(seed).unwrap();
            let expected = replay_shuffle_then_noise(&clean, 0.2, shuffle, seed);
            assert_same_bits(&got, &expected);
        }
        // Without noise only the shuffle draws: the same permutation.
        let got = circles(n, 0.3, 0.0, true).generate_seeded(seed).unwrap();
        let mut expected = clean.clone();
        expected.shuffle(&mut SeededRng::seed_from_u64(seed));
        assert_same_bits(&got, &expected);
    }
}

#[test]
fn moons_shuffle_first_then_add_noise() {
    for (n, seed) in [(2, 0), (7, 1), (100, 2), (1001, 3)] {
        let clean = moons(n, 0.0, false).generate_seeded(99).unwrap();
        for shuffle in [true, false] {
            let got = moons(n, 0.15, shuffle).generate_seeded(seed).unwrap();
            let expected = replay_shuffle_then_noise(&clean, 0.15, shuffle, seed);
            assert_same_bits(&got, &expected);
        }
        let got = moons(n, 0.0, true).generate_seeded(seed).unwrap();
        let mut expected = clean.clone();
        expected.shuffle(&mut SeededRng::seed_from_u64(seed));
        assert_same_bits(&got, &expected);
    }
}

#[test]
fn shuffle_is_a_fisher_yates_pass_from_the_last_row_down() {
    // Row i holds (i, -i) and label i % 3; the pass swaps row i with a row j drawn from
    // 0..=i, for i from the last row down to 1.
    let n = 50;
    let mut data = Dataset {
        x: (0..n).flat_map(|i| [i as f64, -(i as f64)]).collect(),
        labels: (0..n).map(|i| i % 3).collect(),
        n_features: 2,
    };
    data.shuffle(&mut SeededRng::seed_from_u64(17));
    let mut rng = SeededRng::seed_from_u64(17);
    let mut order: Vec<usize> = (0..n as usize).collect();
    for i in (1..order.len()).rev() {
        let j = rng.random_range(0..=i);
        order.swap(i, j);
    }
    let expected = Dataset {
        x: order
            .iter()
            .flat_map(|&i| [i as f64, -(i as f64)])
            .collect(),
        labels: order.iter().map(|&i| i as u32 % 3).collect(),
        n_features: 2,
    };
    assert_same_bits(&data, &expected);
}

/// Shapeset's geometry, transcribed from the original's `polygongen.py` for this test,
/// with the operations in the original's order, so that the vertices are the
/// generator's to the last bit.
struct ShapesetReplica {
    angles: Vec<f64>,
    rotations: Vec<[f64; 2]>,
    shapes: Vec<Vec<[f64; 2]>>,
    area_ratios: Vec<f64>,
}

/// One object as the replica placed it.
struct ReplicaObject {
    shape: usize,
    points: Vec<[f64; 2]>,
    scale: [f64; 2],
    position: [f64; 2],
}

impl ShapesetReplica {
    fn new() -> Self {
        let step = 2.0 * PI / 255.0;
        let angles: Vec<f64> = (0..255).map(|k| k as f64 * step).collect();
        let rotations = angles
            .iter()
            .map(|&a| [libm::cos(a), libm::sin(a)])
            .collect();
        let shapes = [3, 4, 20]
            .iter()
            .map(|&n| {
                let nf = n as f64;
                (0..n)
                    .map(|t| {
                        let turn = t as f64 / nf + 1.0 / (2.0 * nf) + 1.0 / 4.0;
                        let angle = turn * PI * 2.0;
                        [0.5 * libm::cos(angle), 0.5 * libm::sin(angle)]
                    })
                    .collect()
            })
            .collect();
        let area_ratios = [3.0_f64, 4.0, 20.0]
            .iter()
            .map(|&n| n * libm::sin(2.0 * PI / n) / (2.0 * PI))
            .collect();
        Self {
            angles,
            rotations,
            shapes,
            area_ratios,
        }
    }

    /// `p` times `[[c, s], [-s, c]]`.
    fn rotate(p: [f64; 2], [c, s]: [f64; 2]) -> [f64; 2] {
        [p[0] * c + p[1] * -s, p[0] * s + p[1] * c]
    }

    fn uniform(rng: &mut SeededRng, low: f64, high: f64) -> f64 {
        let u: f64 = rng.random();
        low + (high - low) * u
    }

    /// Draws an object of type `shape` as documented: pre-rotation and rotation steps
    /// once, then scales and translation per attempt until the overlap test passes or
    /// the image's rejection count exceeds 50.
    fn place(
        &self,
        rng: &mut SeededRng,
        shape: usize,
        earlier: &[ReplicaObject],
        rejections: &mut u32,
    ) -> ReplicaObject {
        let n = self.shapes[shape].len() as u32;
        let mut pre = rng.random_range(0..255 / n);
        if pre > 254 / (2 * n) {
            pre = (255 - 254 / n + pre).min(254);
        }
        let turn = rng.random_range(0..254_u32);
        loop {
            let mut s = [
                Self::uniform(rng, 0.2, 0.8) * 32.0,
                Self::uniform(rng, 0.2, 0.8) * 32.0,
            ];
            if s[1] > s[0] {
                s.swap(0, 1);
            }
            #[allow(clippy::float_cmp)] // The original's exact comparison.
            let r2 = if pre == 0 {
                self.rotations[0]
            } else if s[0] == s[1] {
                self.rotations[(255 - pre) as usize]
            } else {
                let a = -libm::atan(s[1] / s[0] * libm::tan(self.angles[pre as usize]));
                [libm::cos(a), libm::sin(a)]
            };
            let mut points: Vec<[f64; 2]> = self.shapes[shape]
                .iter()
                .map(|&p| {
                    let p = Self::rotate(p, self.rotations[pre as usize]);
                    let p = [p[0] * s[0], p[1] * s[1]];
                    Self::rotate(Self::rotate(p, r2), self.rotations[turn as usize])
                })
                .collect();
            let mut t = [0.0; 2];
            for (axis, t) in t.iter_mut().enumerate() {
                let max = points.iter().map(|p| p[axis]).fold(f64::MIN, f64::max);
                let min = points.iter().map(|p| p[axis]).fold(f64::MAX, f64::min);
                let (max_pts, min_pts) = ((max + 1.0) / 32.0, (min - 1.0) / 32.0);
                *t = Self::uniform(rng, 0.0_f64.max(-min_pts), 1.0_f64.min(1.0 - max_pts)) * 32.0;
            }
            for p in &mut points {
                *p = [p[0] + t[0], p[1] + t[1]];
            }
            let object = ReplicaObject {
                shape,
                points,
                scale: s,
                position: [f64::from(t[0] as i32), f64::from(t[1] as i32)],
            };
            let rejected =
                *rejections <= 50 && earlier.iter().any(|old| self.overlaps(old, &object, t));
            if !rejected {
                return object;
            }
            *rejections += 1;
        }
    }

    /// The original's overlap heuristic, lines 220-235 of `polygongen.py`.
    fn overlaps(&self, old: &ReplicaObject, new: &ReplicaObject, t: [f64; 2]) -> bool {
        let v = [t[0] - old.position[0], t[1] - old.position[1]];
        let d = (v[0] * v[0] + v[1] * v[1]).sqrt();
        let max = |values: Vec<f64>| values.into_iter().fold(f64::MIN, f64::max);
        let proj1 = max(old
            .points
            .iter()
            .map(|p| ((p[0] - old.position[0]) * v[0] + (p[1] - old.position[1]) * v[1]) / d)
            .collect());
        let proj2 = max(new
            .points
            .iter()
            .map(|p| ((p[0] - t[0]) * -v[0] + (p[1] - t[1]) * -v[1]) / d)
            .collect());
        let proj = proj1 + proj2;
        // `proj >= d` in the original, false for the NaN of coinciding centres.
        if proj < d || proj.is_nan() {
            return false;
        }
        let factor = 1.0 - libm::exp(-(proj - d) / (d / LN_2));
        new.scale[0] * new.scale[1] * self.area_ratios[new.shape] * factor
            / (old.scale[0] * old.scale[1] * self.area_ratios[old.shape])
            > 0.5
    }
}

/// The class of the shape types drawn, in the original's numbering.
fn shapeset_class(types: &[usize]) -> u32 {
    match types {
        [t] => *t as u32,
        [a, b] if a == b => 6 + *a as u32,
        [a, b] => match (a.min(b), a.max(b)) {
            (0, 1) => 3,
            (1, 2) => 4,
            _ => 5,
        },
        _ => unreachable!("one or two objects"),
    }
}

#[test]
fn shapeset_draws_in_the_documented_order() {
    // Replays the documented draws of every image of several streams: the labels, the
    // background, the objects' greys and the extent of the painted pixels (the
    // truncated vertices' bounding box) must all come out as the generator's.
    let replica = ShapesetReplica::new();
    let (mut images, mut pairs, mut rejected) = (0, 0, 0);
    for seed in 0..40 {
        let n = 25;
        let data = Shapeset { n_samples: n }.generate_seeded(seed).unwrap();
        let mut rng = SeededRng::seed_from_u64(seed);
        for i in 0..n {
            let light_shapes = rng.random::<f64>() > 0.5;
            let (shade_range, background_range) = if light_shapes {
                (140..=255_u32, 0..=114_u32)
            } else {
                (0..=114, 140..=255)
            };
            let mut n_objects = rng.random_range(1..=2_u32) as usize;
            let background = rng.random_range(background_range);
            let mut objects: Vec<ReplicaObject> = Vec::new();
            let mut shades = Vec::new();
            let mut rejections = 0;
            while objects.len() < n_objects {
                let shape = rng.random_range(0..3_u32) as usize;
                let object = replica.place(&mut rng, shape, &objects, &mut rejections);
                if rejections >= 50 {
                    n_objects = objects.len();
                } else {
                    objects.push(object);
                    shades.push(rng.random_range(shade_range.clone()));
                }
            }
            rejected += rejections;
            pairs += usize::from(objects.len() == 2);
            images += 1;

            let types: Vec<usize> = objects.iter().map(|o| o.shape).collect();
            assert_eq!(
                data.labels[i],
                shapeset_class(&types),
                "seed {seed} image {i}"
            );
            let pixels: Vec<u32> = data
                .row(i)
                .iter()
                .map(|v| (v * 255.0).round() as u32)
                .collect();
            assert_eq!(pixels[0], background, "seed {seed} image {i}");
            // The last object drawn shows; an earlier one may be hidden.
            let shown: Vec<u32> = pixels
                .iter()
                .copied()
                .filter(|&g| g != background)
                .collect();
            assert!(
                shown.contains(shades.last().unwrap()),
                "seed {seed} image {i}"
            );
            assert!(
                shown.iter().all(|g| shades.contains(g)),
                "seed {seed} image {i}"
            );
            // The painted pixels span the truncated vertices of all objects.
            let (mut low, mut high) = ([i32::MAX; 2], [i32::MIN; 2]);
            for p in objects.iter().flat_map(|o| &o.points) {
                for axis in 0..2 {
                    low[axis] = low[axis].min(p[axis] as i32);
                    high[axis] = high[axis].max(p[axis] as i32);
                }
            }
            let (mut got_low, mut got_high) = ([i32::MAX; 2], [i32::MIN; 2]);
            for (k, &g) in pixels.iter().enumerate() {
                if g != background {
                    let xy = [(k % SHAPESET_SIDE) as i32, (k / SHAPESET_SIDE) as i32];
                    for axis in 0..2 {
                        got_low[axis] = got_low[axis].min(xy[axis]);
                        got_high[axis] = got_high[axis].max(xy[axis]);
                    }
                }
            }
            assert_eq!((got_low, got_high), (low, high), "seed {seed} image {i}");
        }
    }
    // The streams exercised both object counts and the rejection loop.
    assert!(
        pairs > 400 && images - pairs > 400,
        "{pairs} pairs of {images}"
    );
    assert!(rejected > 300, "only {rejected} rejections");
}
