use std::f64::consts::PI;

use rand::distr::Distribution;
use rand::{Rng, SeedableRng};

use crate::{DataError, Dataset, SeededRng, StandardNormal};

/// Two concentric circles, scikit-learn's `make_circles`.
///
/// The first `n_samples / 2` points (rounded down) lie on the outer circle of radius 1
/// with label 0, the rest on the inner circle of radius `factor` with label 1. On each
/// circle the angles are evenly spaced over `[0, 2 pi)` (not random). If `shuffle` is
/// set the rows are shuffled, and only then is Gaussian noise of standard deviation
/// `noise` added to every coordinate, exactly in scikit-learn's order.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Circles {
    /// Total number of points, at least 2.
    pub n_samples: usize,
    /// Radius of the inner circle relative to the outer one, in `[0, 1)`.
    pub factor: f64,
    /// Standard deviation of the Gaussian noise added to each coordinate, `>= 0`.
    pub noise: f64,
    /// Whether to shuffle the rows (before the noise is drawn).
    pub shuffle: bool,
}

/// Two interleaving half circles, scikit-learn's `make_moons`.
///
/// The first `n_samples / 2` points (rounded down) lie on the upper half circle
/// `(cos t, sin t)` with label 0, the rest on the lower one `(1 - cos t, 0.5 - sin t)`
/// with label 1, for `t` evenly spaced over `[0, pi]` with both ends included. Shuffling
/// and noise follow [`Circles`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Moons {
    /// Total number of points, at least 2.
    pub n_samples: usize,
    /// Standard deviation of the Gaussian noise added to each coordinate, `>= 0`.
    pub noise: f64,
    /// Whether to shuffle the rows (before the noise is drawn).
    pub shuffle: bool,
}

impl Default for Circles {
    /// scikit-learn's defaults: 100 points, factor 0.8, no noise, shuffled.
    fn default() -> Self {
        Self {
            n_samples: 100,
            factor: 0.8,
            noise: 0.0,
            shuffle: true,
        }
    }
}

impl Default for Moons {
    /// scikit-learn's defaults: 100 points, no noise, shuffled.
    fn default() -> Self {
        Self {
            n_samples: 100,
            noise: 0.0,
            shuffle: true,
        }
    }
}

impl Circles {
    /// Checks the parameters without generating anything.
    ///
    /// # Errors
    /// [`DataError::TooFewSamples`], [`DataError::FactorOutOfRange`] or
    /// [`DataError::InvalidNoise`].
    pub fn validate(&self) -> Result<(), DataError> {
        check_samples(self.n_samples)?;
        if !(0.0..1.0).contains(&self.factor) {
            return Err(DataError::FactorOutOfRange {
                factor: self.factor,
            });
        }
        check_noise(self.noise)
    }

    /// Generates the points with the given random number generator.
    ///
    /// # Errors
    /// As [`Circles::validate`].
    pub fn generate<R: Rng + ?Sized>(&self, rng: &mut R) -> Result<Dataset, DataError> {
        self.validate()?;
        let factor = self.factor;
        let data = two_arcs(
            self.n_samples,
            |k| linspace(0.0, 2.0 * PI, k, false),
            |t| [cos(t), sin(t)],
            |t| [factor * cos(t), factor * sin(t)],
        );
        Ok(finish(data, self.shuffle, self.noise, rng))
    }

    /// Generates the points from a seed, with [`SeededRng`].
    ///
    /// # Errors
    /// As [`Circles::validate`].
    pub fn generate_seeded(&self, seed: u64) -> Result<Dataset, DataError> {
        self.generate(&mut SeededRng::seed_from_u64(seed))
    }
}

impl Moons {
    /// Checks the parameters without generating anything.
    ///
    /// # Errors
    /// [`DataError::TooFewSamples`] or [`DataError::InvalidNoise`].
    pub fn validate(&self) -> Result<(), DataError> {
        check_samples(self.n_samples)?;
        check_noise(self.noise)
    }

    /// Generates the points with the given random number generator.
    ///
    /// # Errors
    /// As [`Moons::validate`].
    pub fn generate<R: Rng + ?Sized>(&self, rng: &mut R) -> Result<Dataset, DataError> {
        self.validate()?;
        let data = two_arcs(
            self.n_samples,
            |k| linspace(0.0, PI, k, true),
            |t| [cos(t), sin(t)],
            |t| [1.0 - cos(t), 0.5 - sin(t)],
        );
        Ok(finish(data, self.shuffle, self.noise, rng))
    }

    /// Generates the points from a seed, with [`SeededRng`].
    ///
    /// # Errors
    /// As [`Moons::validate`].
    pub fn generate_seeded(&self, seed: u64) -> Result<Dataset, DataError> {
        self.generate(&mut SeededRng::seed_from_u64(seed))
    }
}

/// The cosine and sine of the pure-Rust `libm` crate rather than the C library's, whose
/// last bits differ between platforms (glibc natively, a port of musl in WebAssembly):
/// a seed names the same points everywhere.
fn cos(t: f64) -> f64 {
    libm::cos(t)
}

/// The sine, as [`cos`].
fn sin(t: f64) -> f64 {
    libm::sin(t)
}

fn check_samples(n_samples: usize) -> Result<(), DataError> {
    if n_samples < 2 {
        return Err(DataError::TooFewSamples { n_samples });
    }
    Ok(())
}

fn check_noise(noise: f64) -> Result<(), DataError> {
    if !(noise.is_finite() && noise >= 0.0) {
        return Err(DataError::InvalidNoise { noise });
    }
    Ok(())
}

/// The noise-free, unshuffled points of a two-class generator: `n / 2` points of class
/// 0 on the first arc, then the rest of class 1 on the second, with the angles of each
/// arc given by `angles(count)`.
fn two_arcs(
    n_samples: usize,
    angles: impl Fn(usize) -> Vec<f64>,
    outer: impl Fn(f64) -> [f64; 2],
    inner: impl Fn(f64) -> [f64; 2],
) -> Dataset {
    let n_out = n_samples / 2;
    let n_in = n_samples - n_out;
    let mut data = Dataset {
        x: Vec::with_capacity(2 * n_samples),
        labels: Vec::with_capacity(n_samples),
        n_features: 2,
    };
    for (label, count, point) in [
        (0, n_out, &outer as &dyn Fn(f64) -> [f64; 2]),
        (1, n_in, &inner),
    ] {
        for t in angles(count) {
            data.x.extend_from_slice(&point(t));
            data.labels.push(label);
        }
    }
    data
}

/// Shuffles (optionally), then adds noise: scikit-learn draws the permutation first.
fn finish<R: Rng + ?Sized>(mut data: Dataset, shuffle: bool, noise: f64, rng: &mut R) -> Dataset {
    if shuffle {
        data.shuffle(rng);
    }
    if noise > 0.0 {
        for v in &mut data.x {
            let z: f64 = StandardNormal.sample(rng);
            *v += noise * z;
        }
    }
    data
}

/// numpy's `linspace(start, stop, num, endpoint)`: `num` evenly spaced values, the
/// step being `(stop - start) / (num - 1)` with the endpoint and `/ num` without.
fn linspace(start: f64, stop: f64, num: usize, endpoint: bool) -> Vec<f64> {
    let div = if endpoint { num.saturating_sub(1) } else { num };
    if div == 0 {
        return vec![start; num];
    }
    let step = (stop - start) / div as f64;
    let mut out: Vec<f64> = (0..num).map(|i| start + i as f64 * step).collect();
    if endpoint && num > 1 {
        out[num - 1] = stop;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::linspace;

    #[track_caller]
    fn check(start: f64, stop: f64, num: usize, endpoint: bool, expected: &[f64]) {
        let got = linspace(start, stop, num, endpoint);
        assert_eq!(got.len(), expected.len());
        for (g, e) in got.iter().zip(expected) {
            assert!((g - e).abs() < 1e-15, "{got:?} vs {expected:?}");
        }
    }

    #[test]
    fn linspace_matches_numpy() {
        check(0.0, 1.0, 5, true, &[0.0, 0.25, 0.5, 0.75, 1.0]);
        check(0.0, 1.0, 4, false, &[0.0, 0.25, 0.5, 0.75]);
        check(0.0, 1.0, 1, true, &[0.0]);
        check(0.0, 1.0, 1, false, &[0.0]);
        check(0.0, 1.0, 0, true, &[]);
        check(2.0, 3.0, 2, true, &[2.0, 3.0]);
    }
}
