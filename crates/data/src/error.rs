use thiserror::Error;

/// Why a generator or a split refused its parameters.
///
/// Each variant carries the offending value so that a caller can name it in a message
/// without re-deriving it.
#[derive(Debug, Clone, PartialEq, Error)]
#[non_exhaustive]
pub enum DataError {
    /// A generator needs at least two samples, one per class.
    #[error("n_samples must be at least 2 (one per class), got {n_samples}")]
    TooFewSamples {
        /// The requested number of samples.
        n_samples: usize,
    },
    /// A generator without a per-class minimum needs at least one sample.
    #[error("n_samples must be at least 1, got 0")]
    NoSamples,
    /// More samples than this platform can address the features of.
    #[error("n_samples must be at most {max} on this platform, got {n_samples}")]
    TooManySamples {
        /// The requested number of samples.
        n_samples: usize,
        /// The largest number this platform allows.
        max: usize,
    },
    /// The inner circle's scale must lie in `[0, 1)`, as scikit-learn requires.
    #[error("factor must be in [0, 1), got {factor}")]
    FactorOutOfRange {
        /// The requested scale of the inner circle.
        factor: f64,
    },
    /// Noise is a standard deviation and cannot be negative (or not a number).
    #[error("noise must be a finite number >= 0, got {noise}")]
    InvalidNoise {
        /// The requested noise standard deviation.
        noise: f64,
    },
    /// The test fraction must lie in `[0, 1)`.
    #[error("test fraction must be in [0, 1), got {fraction}")]
    TestFractionOutOfRange {
        /// The requested test fraction.
        fraction: f64,
    },
    /// The requested split would leave the training part empty.
    #[error("a test fraction of {fraction} leaves no training rows out of {n_samples}")]
    EmptyTrainingSet {
        /// The requested test fraction.
        fraction: f64,
        /// The number of rows that were to be split.
        n_samples: usize,
    },
}
