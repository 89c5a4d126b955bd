use crate::activation::sigmoid;
use crate::simd::lane_sum;
use crate::softmax;
use crate::{Activation, Scalar};

/// A loss over a batch of network outputs, averaged over the batch.
///
/// Binary cross-entropy and the squared error are means over every output of every
/// sample (as Keras computes them for one output unit); categorical cross-entropy is a
/// sum over each sample's classes and a mean over the samples.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Loss {
    /// Binary cross-entropy of a sigmoid output, computed from its logit `z` in the
    /// stable form `max(z, 0) - z y + ln(1 + e^-|z|)`; its gradient at the logit is
    /// `(sigmoid(z) - y) / n`. Keras does the same for a sigmoid output layer even when
    /// asked for probabilities, so the values match it without its clipping.
    BinaryCrossEntropy,
    /// `mean((a - y)^2)` of the output activations `a`.
    MeanSquaredError,
    /// Categorical cross-entropy of a softmax output over `k` classes, computed from
    /// the logits `z` of each sample as TensorFlow's `softmax_cross_entropy_with_logits`
    /// does: with `m = max_c z_c` and `s = sum_c e^(z_c - m)`, the sample's loss is
    /// `sum_c y_c (ln s - (z_c - m))`, which is `logsumexp(z) - sum_c y_c z_c` for a
    /// one-hot `y`, finite however large the logits; the loss is its mean over the
    /// samples (not over samples times classes). The gradient at the logits is
    /// `(softmax(z) - y) / batch`, which assumes that every row of `y` sums to one
    /// (one-hot targets). Keras 3 computes the same from a softmax output even when
    /// asked for probabilities: its softmax keeps its logits, and
    /// `categorical_crossentropy` uses them, so no probability is clipped.
    CategoricalCrossEntropy,
}

impl Loss {
    /// The loss's name, as written in experiment files.
    pub fn name(self) -> &'static str {
        match self {
            Self::BinaryCrossEntropy => "binary_crossentropy",
            Self::MeanSquaredError => "mse",
            Self::CategoricalCrossEntropy => "categorical_crossentropy",
        }
    }

    /// The output activation this loss is defined through, if it needs one: the
    /// sigmoid for binary and the softmax for categorical cross-entropy.
    pub fn expected_output(self) -> Option<Activation> {
        match self {
            Self::BinaryCrossEntropy => Some(Activation::Sigmoid),
            Self::CategoricalCrossEntropy => Some(Activation::Softmax),
            Self::MeanSquaredError => None,
        }
    }

    /// Whether this loss can follow an output layer with the given activation.
    /// Cross-entropy is defined here through the logits of its output activation, so
    /// binary cross-entropy needs a sigmoid and categorical cross-entropy a softmax;
    /// the squared error takes any elementwise activation (not the softmax, which
    /// goes with categorical cross-entropy only).
    pub fn accepts_output(self, output: Activation) -> bool {
        match self.expected_output() {
            Some(expected) => output == expected,
            None => output != Activation::Softmax,
        }
    }

    /// The mean loss over a batch of `rows` samples, from the output layer's
    /// pre-activations `z`, its activations `a = f(z)` and the targets `y`, all
    /// column-major `rows x outputs` slices of the same length.
    ///
    /// # Panics
    /// If the slices differ in length, or (for categorical cross-entropy) their length
    /// is not a multiple of `rows`.
    #[track_caller]
    pub fn value<T: Scalar>(self, rows: usize, z: &[T], a: &[T], y: &[T]) -> T {
        assert!(z.len() == a.len() && a.len() == y.len(), "loss: lengths");
        if z.is_empty() {
            return T::ZERO;
        }
        let n = T::from_f64(self.count(rows, z.len()) as f64);
        self.sum(rows, z, a, y) / n
    }

    /// The mean loss, as [`Loss::value`], and its gradient with respect to the output
    /// layer's pre-activations, written into `d`.
    ///
    /// # Panics
    /// As [`Loss::value`], or if `d` differs in length.
    #[track_caller]
    pub fn value_and_grad<T: Scalar>(
        self,
        output: Activation,
        rows: usize,
        z: &[T],
        a: &[T],
        y: &[T],
        d: &mut [T],
    ) -> T {
        assert!(
            z.len() == a.len() && a.len() == y.len() && y.len() == d.len(),
            "loss: lengths"
        );
        if z.is_empty() {
            return T::ZERO;
        }
        let inv_n = T::ONE / T::from_f64(self.count(rows, z.len()) as f64);
        self.gradient(output, z, a, y, d, inv_n);
        self.sum(rows, z, a, y) * inv_n
    }

    /// The number of terms the loss averages: the samples for categorical
    /// cross-entropy, every output of every sample otherwise.
    #[track_caller]
    fn count(self, rows: usize, len: usize) -> usize {
        match self {
            Self::CategoricalCrossEntropy => {
                assert!(
                    rows > 0 && len.is_multiple_of(rows),
                    "loss: {len} outputs are not {rows} rows"
                );
                rows
            }
            Self::BinaryCrossEntropy | Self::MeanSquaredError => len,
        }
    }

    /// `d[i]`, the gradient of the mean loss at the output's pre-activation `z[i]`,
    /// with `inv_n` one over the number of terms averaged: elementwise (for
    /// categorical cross-entropy given the probabilities `a`), so that networks
    /// computed in lanes share it.
    pub(crate) fn gradient<T: Scalar>(
        self,
        output: Activation,
        z: &[T],
        a: &[T],
        y: &[T],
        d: &mut [T],
        inv_n: T,
    ) {
        match self {
            Self::BinaryCrossEntropy => {
                for ((d, &z), &y) in d.iter_mut().zip(z).zip(y) {
                    *d = (sigmoid(z) - y) * inv_n;
                }
            }
            Self::MeanSquaredError => {
                let two = T::from_f64(2.0);
                for (((d, &z), &a), &y) in d.iter_mut().zip(z).zip(a).zip(y) {
                    *d = two * (a - y) * inv_n * output.derivative(z, a);
                }
            }
            Self::CategoricalCrossEntropy => {
                for ((d, &p), &y) in d.iter_mut().zip(a).zip(y) {
                    *d = (p - y) * inv_n;
                }
            }
        }
    }

    /// One output's term of the loss sum, for the losses that are sums of one term per
    /// output (not categorical cross-entropy, whose terms need a whole sample).
    #[inline(always)]
    pub(crate) fn term<T: Scalar>(self, z: T, a: T, y: T) -> T {
        match self {
            Self::BinaryCrossEntropy => bce_from_logit(z, y),
            Self::MeanSquaredError => {
                let e = a - y;
                e * e
            }
            Self::CategoricalCrossEntropy => {
                unreachable!("categorical cross-entropy has no per-output term")
            }
        }
    }

    /// The summed (not averaged) loss over a batch.
    #[track_caller]
    fn sum<T: Scalar>(self, rows: usize, z: &[T], a: &[T], y: &[T]) -> T {
        // Each loss reads only one of `z` and `a`, passed in both places; the loss is a
        // constant in each arm, so the loop body is a straight line.
        match self {
            Self::BinaryCrossEntropy => {
                lane_sum(z, y, |z, y| Self::BinaryCrossEntropy.term(z, z, y))
            }
            Self::MeanSquaredError => lane_sum(a, y, |a, y| Self::MeanSquaredError.term(a, a, y)),
            Self::CategoricalCrossEntropy => softmax::cross_entropy_sum(z, y, rows),
        }
    }
}

/// `-(y ln p + (1 - y) ln(1 - p))` for `p = sigmoid(z)`, without forming `p`.
#[inline(always)]
fn bce_from_logit<T: Scalar>(z: T, y: T) -> T {
    z.max(T::ZERO) - z * y + z.exp_neg_abs().ln_1p()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cross_entropy_is_finite_at_extreme_logits() {
        let z = [100.0_f32, -100.0, 100.0, -100.0, 0.0];
        let y = [1.0_f32, 0.0, 0.0, 1.0, 1.0];
        let a: Vec<f32> = z.iter().map(|&z| sigmoid(z)).collect();
        let mut d = [0.0_f32; 5];
        let loss =
            Loss::BinaryCrossEntropy.value_and_grad(Activation::Sigmoid, 5, &z, &a, &y, &mut d);
        // Two right and confident (0), two wrong by a logit of 100 (100 each), one at
        // ln 2: (200 + ln 2) / 5.
        let expected = (200.0 + std::f32::consts::LN_2) / 5.0;
        assert!((loss - expected).abs() < 1e-4, "{loss} vs {expected}");
        assert!(d.iter().all(|g| g.is_finite()));
        assert!((d[2] - 0.2).abs() < 1e-6 && (d[3] + 0.2).abs() < 1e-6);
        assert!((loss - Loss::BinaryCrossEntropy.value(5, &z, &a, &y)).abs() < 1e-6);
    }

    #[test]
    fn mse_gradient_includes_the_output_slope() {
        let z = [0.3_f64, -1.2];
        let a: Vec<f64> = z.iter().map(|&z| z.tanh()).collect();
        let y = [1.0, 0.0];
        let mut d = [0.0; 2];
        let loss = Loss::MeanSquaredError.value_and_grad(Activation::Tanh, 2, &z, &a, &y, &mut d);
        let expected_loss = ((a[0] - 1.0).powi(2) + a[1].powi(2)) / 2.0;
        assert!((loss - expected_loss).abs() < 1e-15);
        for i in 0..2 {
            let expected = (a[i] - y[i]) * (1.0 - a[i] * a[i]);
            assert!((d[i] - expected).abs() < 1e-15);
        }
    }
}
