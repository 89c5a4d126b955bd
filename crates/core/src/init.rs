use rand::distr::Distribution;
use rand::{Rng, RngExt};
// rand_distr's normal distribution calls the platform's `exp` and `ln`; this one draws
// the same values with platform-independent math (see its documentation).
use vanishing_data::StandardNormal;

use crate::{CoreError, Scalar};

/// The standard deviation of a standard normal truncated to `[-2, 2]`. Keras divides by
/// it so that its truncated initializers keep the variance they promise.
pub const TRUNCATED_NORMAL_STD: f64 = 0.879_625_661_034_239_8;

/// How a layer's kernel is initialized, following Keras' initializers. Biases always
/// start at zero, as in Keras' `Dense`.
///
/// `fan_in` is the number of inputs of the layer and `fan_out` its number of units.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Init {
    /// All zeros.
    Zeros,
    /// `N(mean, std^2)`; Keras' `RandomNormal` (whose default std is 0.05; the tutorial
    /// uses 1.0).
    Normal {
        /// Mean of the distribution.
        mean: f64,
        /// Standard deviation, `>= 0`.
        std: f64,
    },
    /// `U[low, high)`; Keras' `RandomUniform`.
    Uniform {
        /// Lower bound.
        low: f64,
        /// Upper bound, greater than `low`.
        high: f64,
    },
    /// `N(mean, std^2)` with draws beyond two standard deviations drawn again; Keras'
    /// `TruncatedNormal`.
    TruncatedNormal {
        /// Mean of the distribution before truncation.
        mean: f64,
        /// Standard deviation before truncation, `>= 0`.
        std: f64,
    },
    /// `U[-l, l]` with `l = sqrt(6 / (fan_in + fan_out))` (Glorot & Bengio's
    /// "normalized" initialization, Keras' default).
    GlorotUniform,
    /// Truncated normal with std `sqrt(2 / (fan_in + fan_out)) / 0.8796`.
    GlorotNormal,
    /// Truncated normal with std `sqrt(2 / fan_in) / 0.8796` (He et al., 2015).
    HeNormal,
    /// `U[-l, l]` with `l = sqrt(6 / fan_in)`.
    HeUniform,
    /// Truncated normal with std `sqrt(1 / fan_in) / 0.8796`.
    LecunNormal,
    /// `U[-l, l]` with `l = sqrt(3 / fan_in)`.
    LecunUniform,
    /// `U[-1/sqrt(fan_in), 1/sqrt(fan_in)]`: the "standard" initialization that Glorot &
    /// Bengio (2010) compare against.
    Standard,
}

/// What an initializer draws from, once the layer's fans are known.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum InitDistribution {
    /// A constant.
    Constant(f64),
    /// `N(mean, std^2)`.
    Normal {
        /// Mean.
        mean: f64,
        /// Standard deviation.
        std: f64,
    },
    /// `N(mean, std^2)`, redrawn beyond two standard deviations.
    TruncatedNormal {
        /// Mean before truncation.
        mean: f64,
        /// Standard deviation before truncation.
        std: f64,
    },
    /// `U[low, high)`.
    Uniform {
        /// Lower bound.
        low: f64,
        /// Upper bound.
        high: f64,
    },
}

impl Init {
    /// The initializer's name, as written in experiment files.
    pub fn name(self) -> &'static str {
        match self {
            Self::Zeros => "zeros",
            Self::Normal { .. } => "normal",
            Self::Uniform { .. } => "uniform",
            Self::TruncatedNormal { .. } => "truncated_normal",
            Self::GlorotUniform => "glorot_uniform",
            Self::GlorotNormal => "glorot_normal",
            Self::HeNormal => "he_normal",
            Self::HeUniform => "he_uniform",
            Self::LecunNormal => "lecun_normal",
            Self::LecunUniform => "lecun_uniform",
            Self::Standard => "standard",
        }
    }

    /// Checks the parameters of the explicit distributions.
    ///
    /// # Errors
    /// [`CoreError::InvalidParameter`] for a negative or non-finite std or mean, or
    /// uniform bounds that are not finite and increasing.
    pub fn validate(&self) -> Result<(), CoreError> {
        let bad = |name: &'static str, value: f64, expected: &'static str| {
            Err(CoreError::InvalidParameter {
                owner: "init",
                name,
                value,
                expected,
            })
        };
        match *self {
            Self::Normal { mean, std } | Self::TruncatedNormal { mean, std } => {
                if !mean.is_finite() {
                    return bad("mean", mean, "a finite number");
                }
                if !(std.is_finite() && std >= 0.0) {
                    return bad("std", std, "a finite number >= 0");
                }
            }
            Self::Uniform { low, high } => {
                if !low.is_finite() {
                    return bad("low", low, "a finite number");
                }
                if !(high.is_finite() && high > low) {
                    return bad("high", high, "a finite number greater than low");
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// The distribution this initializer draws from for a layer with the given fans.
    pub fn distribution(self, fan_in: usize, fan_out: usize) -> InitDistribution {
        let fan_in = fan_in.max(1) as f64;
        let fan_out = fan_out.max(1) as f64;
        let symmetric = |limit: f64| InitDistribution::Uniform {
            low: -limit,
            high: limit,
        };
        let truncated = |std: f64| InitDistribution::TruncatedNormal {
            mean: 0.0,
            std: std / TRUNCATED_NORMAL_STD,
        };
        match self {
            Self::Zeros => InitDistribution::Constant(0.0),
            Self::Normal { mean, std } => InitDistribution::Normal { mean, std },
            Self::Uniform { low, high } => InitDistribution::Uniform { low, high },
            Self::TruncatedNormal { mean, std } => InitDistribution::TruncatedNormal { mean, std },
            Self::GlorotUniform => symmetric((6.0 / (fan_in + fan_out)).sqrt()),
            Self::GlorotNormal => truncated((2.0 / (fan_in + fan_out)).sqrt()),
            Self::HeNormal => truncated((2.0 / fan_in).sqrt()),
            Self::HeUniform => symmetric((6.0 / fan_in).sqrt()),
            Self::LecunNormal => truncated((1.0 / fan_in).sqrt()),
            Self::LecunUniform => symmetric((3.0 / fan_in).sqrt()),
            Self::Standard => symmetric(1.0 / fan_in.sqrt()),
        }
    }

    /// Fills a kernel of a layer with `fan_in` inputs and `fan_out` units with draws
    /// from this initializer. Values are drawn in `f64` and rounded to `T`.
    pub fn fill<T: Scalar, R: Rng + ?Sized>(
        self,
        out: &mut [T],
        fan_in: usize,
        fan_out: usize,
        rng: &mut R,
    ) {
        let dist = self.distribution(fan_in, fan_out);
        for v in out.iter_mut() {
            *v = T::from_f64(dist.sample(rng));
        }
    }
}

impl InitDistribution {
    /// One draw.
    pub fn sample<R: Rng + ?Sized>(self, rng: &mut R) -> f64 {
        match self {
            Self::Constant(c) => c,
            Self::Normal { mean, std } => {
                let z: f64 = StandardNormal.sample(rng);
                mean + std * z
            }
            Self::TruncatedNormal { mean, std } => loop {
                let z: f64 = StandardNormal.sample(rng);
                if z.abs() <= 2.0 {
                    break mean + std * z;
                }
            },
            Self::Uniform { low, high } => low + (high - low) * rng.random::<f64>(),
        }
    }
}
