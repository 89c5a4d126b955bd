use crate::activation::sigmoid;
use crate::simd::lane_sum;
use crate::{Activation, Scalar};

/// A loss over a batch of network outputs, averaged over every output of every sample.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Loss {
    /// Binary cross-entropy of a sigmoid output, computed from its logit `z` in the
    /// stable form `max(z, 0) - z y + ln(1 + e^-|z|)`; its gradient at the logit is
    /// `(sigmoid(z) - y) / n`. Keras does the same for a sigmoid output layer even when
    /// asked for probabilities, so the values match it without its clipping.
    BinaryCrossEntropy,
    /// `mean((a - y)^2)` of the output activations `a`.
    MeanSquaredError,
}

impl Loss {
    /// The loss's name, as written in experiment files.
    pub fn name(self) -> &'static str {
        match self {
            Self::BinaryCrossEntropy => "binary_crossentropy",
            Self::MeanSquaredError => "mse",
        }
    }

    /// Whether this loss can follow an output layer with the given activation.
    /// Cross-entropy is defined here through the sigmoid's logit, so it needs a sigmoid.
    pub fn accepts_output(self, output: Activation) -> bool {
        match self {
            Self::BinaryCrossEntropy => output == Activation::Sigmoid,
            Self::MeanSquaredError => true,
        }
    }

    /// The mean loss over the batch, from the output layer's pre-activations `z`, its
    /// activations `a = f(z)` and the targets `y`, all of the same length.
    ///
    /// # Panics
    /// If the slices differ in length.
    #[track_caller]
    pub fn value<T: Scalar>(self, z: &[T], a: &[T], y: &[T]) -> T {
        assert!(z.len() == a.len() && a.len() == y.len(), "loss: lengths");
        if z.is_empty() {
            return T::ZERO;
        }
        let n = T::from_f64(z.len() as f64);
        self.sum(z, a, y) / n
    }

    /// The mean loss, as [`Loss::value`], and its gradient with respect to the output
    /// layer's pre-activations, written into `d`.
    ///
    /// # Panics
    /// If the slices differ in length.
    #[track_caller]
    pub fn value_and_grad<T: Scalar>(
        self,
        output: Activation,
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
        let inv_n = T::ONE / T::from_f64(z.len() as f64);
        self.gradient(output, z, a, y, d, inv_n);
        self.sum(z, a, y) * inv_n
    }

    /// `d[i]`, the gradient of the mean loss at the output's pre-activation `z[i]`,
    /// with `inv_n` one over the number of outputs averaged: elementwise, so that
    /// networks computed in lanes share it.
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
        }
    }

    /// One output's term of the loss sum.
    #[inline(always)]
    pub(crate) fn term<T: Scalar>(self, z: T, a: T, y: T) -> T {
        match self {
            Self::BinaryCrossEntropy => bce_from_logit(z, y),
            Self::MeanSquaredError => {
                let e = a - y;
                e * e
            }
        }
    }

    /// The summed (not averaged) loss over a batch.
    fn sum<T: Scalar>(self, z: &[T], a: &[T], y: &[T]) -> T {
        // Each loss reads only one of `z` and `a`, passed in both places; the loss is a
        // constant in each arm, so the loop body is a straight line.
        match self {
            Self::BinaryCrossEntropy => {
                lane_sum(z, y, |z, y| Self::BinaryCrossEntropy.term(z, z, y))
            }
            Self::MeanSquaredError => lane_sum(a, y, |a, y| Self::MeanSquaredError.term(a, a, y)),
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
        let loss = Loss::BinaryCrossEntropy.value_and_grad(Activation::Sigmoid, &z, &a, &y, &mut d);
        // Two right and confident (0), two wrong by a logit of 100 (100 each), one at
        // ln 2: (200 + ln 2) / 5.
        let expected = (200.0 + std::f32::consts::LN_2) / 5.0;
        assert!((loss - expected).abs() < 1e-4, "{loss} vs {expected}");
        assert!(d.iter().all(|g| g.is_finite()));
        assert!((d[2] - 0.2).abs() < 1e-6 && (d[3] + 0.2).abs() < 1e-6);
        assert!((loss - Loss::BinaryCrossEntropy.value(&z, &a, &y)).abs() < 1e-6);
    }

    #[test]
    fn mse_gradient_includes_the_output_slope() {
        let z = [0.3_f64, -1.2];
        let a: Vec<f64> = z.iter().map(|&z| z.tanh()).collect();
        let y = [1.0, 0.0];
        let mut d = [0.0; 2];
        let loss = Loss::MeanSquaredError.value_and_grad(Activation::Tanh, &z, &a, &y, &mut d);
        let expected_loss = ((a[0] - 1.0).powi(2) + a[1].powi(2)) / 2.0;
        assert!((loss - expected_loss).abs() < 1e-15);
        for i in 0..2 {
            let expected = (a[i] - y[i]) * (1.0 - a[i] * a[i]);
            assert!((d[i] - expected).abs() < 1e-15);
        }
    }
}
