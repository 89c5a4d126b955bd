use std::fmt;

use crate::simd::{map, zip_map};
use crate::{Scalar, softmax};

/// An elementwise activation function, with its derivative and its flat region.
///
/// A unit counts as *saturated* when the activation's slope there is below
/// [`SATURATION_THRESHOLD`] times the function's largest slope: for sigmoid that is
/// `|z| > 4.36`, for tanh `|z| > 2.18`, for softsign `|z| > 3.47`, and for ReLU every
/// unit whose input is not positive (its slope is zero). `Linear` is never saturated, and
/// `LeakyRelu` only when its negative slope is below the threshold.
///
/// `Softmax` is the one activation that is not elementwise: it maps each sample's
/// outputs to probabilities over classes, and it may only be the output layer's
/// activation, under [`crate::Loss::CategoricalCrossEntropy`] (an [`crate::Architecture`]
/// refuses it anywhere else). Its slope, as recorded and as used for saturation, is
/// the diagonal of its Jacobian, `dp_c / dz_c = p_c (1 - p_c)` (largest 1/4); the
/// off-diagonal terms `-p_c p_k` are left out. A softmax unit is thus saturated when
/// its probability is below 1.27% or above 98.73%: the class is all but ruled out or
/// all but certain, and the unit's own logit barely moves it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Activation {
    /// `1 / (1 + e^-z)`.
    Sigmoid,
    /// `tanh z`.
    Tanh,
    /// `max(z, 0)`; its derivative at 0 is taken as 0, as TensorFlow does.
    Relu,
    /// `z` for `z > 0`, `alpha z` otherwise.
    LeakyRelu {
        /// Slope for negative inputs.
        alpha: f64,
    },
    /// `z / (1 + |z|)`.
    Softsign,
    /// The identity.
    Linear,
    /// `e^(z_c) / sum_k e^(z_k)` over a sample's outputs (computed with the largest
    /// logit subtracted first, so that nothing overflows); output layer only.
    Softmax,
}

/// A unit is saturated where the activation's slope is below this fraction of its
/// largest slope (see [`Activation`]).
pub const SATURATION_THRESHOLD: f64 = 0.05;

impl Activation {
    /// Every elementwise activation (those a hidden layer may have), with Keras'
    /// default alpha of 0.2 for the leaky ReLU (`keras.activations.leaky_relu`). The
    /// softmax, an output activation only, is not among them.
    pub const ALL: [Self; 6] = [
        Self::Sigmoid,
        Self::Tanh,
        Self::Relu,
        Self::LeakyRelu { alpha: 0.2 },
        Self::Softsign,
        Self::Linear,
    ];

    /// The activation's name, as written in experiment files.
    pub fn name(self) -> &'static str {
        match self {
            Self::Sigmoid => "sigmoid",
            Self::Tanh => "tanh",
            Self::Relu => "relu",
            Self::LeakyRelu { .. } => "leaky_relu",
            Self::Softsign => "softsign",
            Self::Linear => "linear",
            Self::Softmax => "softmax",
        }
    }

    /// Whether the function acts on each value alone: every activation but the
    /// softmax, which normalizes a sample's outputs together. Only elementwise
    /// activations may be used in hidden layers.
    pub fn is_elementwise(self) -> bool {
        self != Self::Softmax
    }

    /// `f(z)`. For the softmax, which needs a sample's every output, this is the softmax
    /// of the single value `z`: 1 (NaN for an input that is NaN or infinite).
    #[inline(always)]
    pub fn apply<T: Scalar>(self, z: T) -> T {
        match self {
            Self::Sigmoid => sigmoid(z),
            Self::Tanh => z.tanh(),
            Self::Relu => z.max(T::ZERO),
            Self::LeakyRelu { alpha } => {
                if z > T::ZERO {
                    z
                } else {
                    T::from_f64(alpha) * z
                }
            }
            Self::Softsign => z / (T::ONE + z.abs()),
            Self::Linear => z,
            Self::Softmax => {
                // The stable form's `e^(z - m) / e^(z - m)` with `m = z`: 1 for a finite
                // input, NaN otherwise.
                if z.is_finite() {
                    T::ONE
                } else {
                    T::from_f64(f64::NAN)
                }
            }
        }
    }

    /// `f'(z)`, given both the input `z` and the output `a = f(z)` so that each
    /// function uses the cheaper one. For the softmax, the diagonal of its Jacobian,
    /// `a (1 - a)` (see [`Activation`]).
    #[inline(always)]
    pub fn derivative<T: Scalar>(self, z: T, a: T) -> T {
        match self {
            Self::Sigmoid | Self::Softmax => a * (T::ONE - a),
            Self::Tanh => T::ONE - a * a,
            Self::Relu => {
                if z > T::ZERO {
                    T::ONE
                } else {
                    T::ZERO
                }
            }
            Self::LeakyRelu { alpha } => {
                if z > T::ZERO {
                    T::ONE
                } else {
                    T::from_f64(alpha)
                }
            }
            Self::Softsign => {
                let s = T::ONE + z.abs();
                T::ONE / (s * s)
            }
            Self::Linear => T::ONE,
        }
    }

    /// The largest slope the function reaches.
    pub fn max_derivative(self) -> f64 {
        match self {
            Self::Sigmoid | Self::Softmax => 0.25,
            Self::LeakyRelu { alpha } => alpha.abs().max(1.0),
            Self::Tanh | Self::Relu | Self::Softsign | Self::Linear => 1.0,
        }
    }

    /// Whether a unit with input `z` and output `a` sits in the flat part of the
    /// function (see [`SATURATION_THRESHOLD`]).
    #[inline(always)]
    pub fn is_saturated<T: Scalar>(self, z: T, a: T) -> bool {
        self.derivative(z, a) < T::from_f64(SATURATION_THRESHOLD * self.max_derivative())
    }

    /// Whether saturation can happen at all for this function, so that a saturated
    /// fraction of zero is a finding rather than a tautology.
    pub fn can_saturate(self) -> bool {
        match self {
            Self::Linear => false,
            Self::LeakyRelu { alpha } => alpha.abs() < SATURATION_THRESHOLD,
            Self::Sigmoid | Self::Tanh | Self::Relu | Self::Softsign | Self::Softmax => true,
        }
    }

    /// `a[i] = f(z[i])` over a whole buffer. For the softmax, the buffer is one
    /// sample's outputs (see [`Activation::apply_rows`] for a batch).
    ///
    /// # Panics
    /// If the slices differ in length.
    #[track_caller]
    pub fn apply_slice<T: Scalar>(self, z: &[T], a: &mut [T]) {
        assert_eq!(z.len(), a.len(), "apply_slice: lengths");
        // One match outside the loop so that each loop body is a straight line the
        // compiler can vectorize.
        match self {
            Self::Sigmoid => map(z, a, sigmoid),
            Self::Tanh => map(z, a, T::tanh),
            Self::Relu => map(z, a, |v| v.max(T::ZERO)),
            Self::LeakyRelu { .. } | Self::Softsign | Self::Linear => map(z, a, |v| self.apply(v)),
            Self::Softmax => softmax::softmax_rows(z, a, 1),
        }
    }

    /// `a = f(z)` over a column-major `rows x units` batch: [`Activation::apply_slice`]
    /// for an elementwise function, and for the softmax each row's (each sample's)
    /// outputs normalized together.
    ///
    /// # Panics
    /// If the slices differ in length, or for the softmax if their length is not a
    /// multiple of `rows`.
    #[track_caller]
    pub fn apply_rows<T: Scalar>(self, z: &[T], a: &mut [T], rows: usize) {
        match self {
            Self::Softmax => softmax::softmax_rows(z, a, rows),
            _ => self.apply_slice(z, a),
        }
    }

    /// `d[i] *= f'(z[i])` over a whole buffer, with `a = f(z)` as stored by the forward
    /// pass: the step from the gradient at a layer's output to its pre-activation.
    ///
    /// For the softmax the buffer is one sample's outputs, and the step is the product
    /// with its whole Jacobian, `d_c <- a_c (d_c - sum_k a_k d_k)`, not the diagonal
    /// slopes alone. A network never takes this step through its softmax: the loss's
    /// gradient at the logits, `(a - y) / batch`, is computed directly.
    ///
    /// # Panics
    /// If the slices differ in length.
    #[track_caller]
    pub fn mul_derivative<T: Scalar>(self, d: &mut [T], z: &[T], a: &[T]) {
        assert!(
            d.len() == z.len() && z.len() == a.len(),
            "mul_derivative: lengths"
        );
        match self {
            Self::Sigmoid => zip_map(d, a, |d, a| d * (a * (T::ONE - a))),
            Self::Tanh => zip_map(d, a, |d, a| d * (T::ONE - a * a)),
            // Multiplying by zero rather than writing zero keeps what `d *= f'(z)` gave:
            // NaN stays NaN, and the sign of zero follows `d`.
            Self::Relu => zip_map(d, z, |d, z| if z > T::ZERO { d } else { d * T::ZERO }),
            Self::Linear => {}
            Self::Softmax => softmax::mul_jacobian(d, a),
            _ => {
                for ((d, &z), &a) in d.iter_mut().zip(z).zip(a) {
                    *d *= self.derivative(z, a);
                }
            }
        }
    }

    /// `slope[i] = f'(z[i])` over a whole buffer, with `a = f(z)` as stored by the
    /// forward pass: the factors [`Activation::mul_derivative`] multiplies by. For the
    /// softmax, the diagonal of its Jacobian, `a (1 - a)`, elementwise (any layout).
    ///
    /// # Panics
    /// If the slices differ in length.
    #[track_caller]
    pub fn derivative_slice<T: Scalar>(self, z: &[T], a: &[T], slope: &mut [T]) {
        assert!(
            slope.len() == z.len() && z.len() == a.len(),
            "derivative_slice: lengths"
        );
        for ((s, &z), &a) in slope.iter_mut().zip(z).zip(a) {
            *s = self.derivative(z, a);
        }
    }
}

impl fmt::Display for Activation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::LeakyRelu { alpha } => write!(f, "leaky_relu({alpha})"),
            other => f.write_str(other.name()),
        }
    }
}

/// The logistic function, evaluated without overflow for inputs of either sign.
#[inline(always)]
pub fn sigmoid<T: Scalar>(z: T) -> T {
    // Both branches share e^-|z| and 1 / (1 + e^-|z|), so the choice is a select that
    // leaves a loop over a slice vectorizable, with a single division.
    let e = z.exp_neg_abs();
    let s = T::ONE / (T::ONE + e);
    if z >= T::ZERO { s } else { e * s }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Central-difference slope of `f` at `z`.
    fn numeric_slope(act: Activation, z: f64) -> f64 {
        let h = 1e-6;
        (act.apply(z + h) - act.apply(z - h)) / (2.0 * h)
    }

    #[test]
    fn derivative_matches_finite_differences() {
        let acts = Activation::ALL
            .into_iter()
            .chain([Activation::LeakyRelu { alpha: 0.01 }]);
        for act in acts {
            for z in [-7.3, -2.0, -0.4, 0.3, 1.1, 5.0] {
                let a = act.apply(z);
                let analytic = act.derivative(z, a);
                let numeric = numeric_slope(act, z);
                assert!(
                    (analytic - numeric).abs() < 1e-8,
                    "{act} at {z}: {analytic} vs {numeric}"
                );
            }
        }
    }

    /// The slopes recorded for a layer are the factors the backward pass multiplies
    /// by, and match finite differences of the function.
    #[test]
    fn derivative_slice_is_the_backward_factor() {
        let z: Vec<f64> = (-40..=40).map(|i| f64::from(i) * 0.17).collect();
        let acts = Activation::ALL
            .into_iter()
            .chain([Activation::LeakyRelu { alpha: 0.01 }]);
        for act in acts {
            let a: Vec<f64> = z.iter().map(|&z| act.apply(z)).collect();
            let mut slope = vec![0.0; z.len()];
            act.derivative_slice(&z, &a, &mut slope);
            let mut factor = vec![1.0; z.len()];
            act.mul_derivative(&mut factor, &z, &a);
            for (i, (&s, &f)) in slope.iter().zip(&factor).enumerate() {
                assert_eq!(s.to_bits(), f.to_bits(), "{act} at {}", z[i]);
                if z[i] != 0.0 {
                    let numeric = numeric_slope(act, z[i]);
                    assert!(
                        (s - numeric).abs() < 1e-8,
                        "{act} at {}: {s} vs {numeric}",
                        z[i]
                    );
                }
            }
        }
    }

    #[test]
    fn relu_derivative_at_zero_is_zero() {
        assert!(Activation::Relu.derivative(0.0_f64, 0.0).abs() < f64::MIN_POSITIVE);
    }

    /// The f32 logistic against the f64 one, over every 17th `f32` in [-87, 40] (below,
    /// the result underflows; above, it is 1).
    #[test]
    fn sigmoid_f32_is_within_three_ulp() {
        let key = |v: f32| {
            let b = v.to_bits() as i32;
            if b < 0 { i32::MIN - b } else { b }
        };
        let positive = (0..=40.0_f32.to_bits()).step_by(17).map(f32::from_bits);
        let negative = (0..=87.0_f32.to_bits())
            .step_by(17)
            .map(|b| -f32::from_bits(b));
        let mut worst = (0, 0.0);
        for z in positive.chain(negative) {
            let exact = sigmoid(f64::from(z)) as f32;
            let err = key(sigmoid(z)).abs_diff(key(exact));
            if err > worst.0 {
                worst = (err, z);
            }
        }
        assert!(worst.0 <= 3, "sigmoid: {} ulp at {}", worst.0, worst.1);
    }

    #[test]
    fn sigmoid_is_stable_at_extremes() {
        for z in [-1000.0_f32, -100.0, 100.0, 1000.0] {
            let s = sigmoid(z);
            assert!(s.is_finite() && (0.0..=1.0).contains(&s), "{z}: {s}");
        }
        assert!((sigmoid(0.0_f64) - 0.5).abs() < 1e-16);
    }

    #[test]
    fn saturation_boundaries() {
        // (activation, input just inside the linear part, input just inside the flat part)
        let cases = [
            (Activation::Sigmoid, 4.3, 4.4),
            (Activation::Tanh, 2.17, 2.19),
            (Activation::Softsign, 3.47, 3.48),
            (Activation::Relu, 1e-9, 0.0),
        ];
        for (act, inside, flat) in cases {
            for sign in [1.0, -1.0] {
                let (zi, zf) = if act == Activation::Relu {
                    (inside, -flat)
                } else {
                    (sign * inside, sign * flat)
                };
                assert!(!act.is_saturated(zi, act.apply(zi)), "{act} at {zi}");
                assert!(act.is_saturated(zf, act.apply(zf)), "{act} at {zf}");
            }
        }
        assert!(!Activation::Linear.is_saturated(1e9, 1e9));
        assert!(!Activation::Linear.can_saturate());
        assert!(!Activation::LeakyRelu { alpha: 0.2 }.is_saturated(-5.0, -1.0));
        assert!(Activation::LeakyRelu { alpha: 0.01 }.is_saturated(-5.0, -0.05));
    }

    /// The softmax's recorded slope is the diagonal of its Jacobian, `p (1 - p)`, at
    /// most 1/4; a unit is saturated where that is below 5% of 1/4, at probabilities
    /// below 1.27% or above 98.73%.
    #[test]
    fn softmax_slope_is_the_jacobian_diagonal() {
        let act = Activation::Softmax;
        assert!((act.max_derivative() - 0.25).abs() < f64::EPSILON);
        assert!(act.can_saturate());
        // Three classes; the slope of class c at logits z against a finite difference
        // of p_c in z_c alone.
        let z = [0.4_f64, -1.3, 2.2];
        let mut p = [0.0; 3];
        act.apply_slice(&z, &mut p);
        let mut slope = [0.0; 3];
        act.derivative_slice(&z, &p, &mut slope);
        for c in 0..3 {
            let h = 1e-6;
            let at = |offset: f64| {
                let mut zz = z;
                zz[c] += offset;
                let mut pp = [0.0; 3];
                act.apply_slice(&zz, &mut pp);
                pp[c]
            };
            let numeric = (at(h) - at(-h)) / (2.0 * h);
            assert!(
                (slope[c] - numeric).abs() < 1e-9,
                "{c}: {} vs {numeric}",
                slope[c]
            );
            assert_eq!(slope[c].to_bits(), (p[c] * (1.0 - p[c])).to_bits());
        }
        // (probability, saturated)
        for (p, saturated) in [
            (0.5, false),
            (0.013, false),
            (0.987, false),
            (0.0126, true),
            (0.9875, true),
            (0.0, true),
            (1.0, true),
        ] {
            assert_eq!(act.is_saturated(0.0_f64, p), saturated, "p = {p}");
        }
    }

    #[test]
    fn softmax_of_one_sample_and_of_rows() {
        let act = Activation::Softmax;
        assert!((act.apply(3.7_f64) - 1.0).abs() < f64::EPSILON);
        assert!(act.apply(f64::NAN).is_nan());
        // Two samples of three classes, column-major; the second is the first shifted,
        // so both rows have the same probabilities.
        let z = [1.0_f64, 11.0, -0.5, 9.5, 0.25, 10.25];
        let mut a = [0.0; 6];
        act.apply_rows(&z, &mut a, 2);
        let mut one = [0.0; 3];
        act.apply_slice(&[1.0, -0.5, 0.25], &mut one);
        for c in 0..3 {
            assert!((a[2 * c] - one[c]).abs() < 1e-15);
            assert!((a[2 * c + 1] - one[c]).abs() < 1e-15);
        }
        // Elementwise functions ignore the rows.
        let mut t = [0.0; 6];
        Activation::Tanh.apply_rows(&z, &mut t, 2);
        assert_eq!(t[1].to_bits(), 11.0_f64.tanh().to_bits());
        // The backward step of one sample is the product with the whole Jacobian: the
        // gradient of sum_c g_c p_c, which is zero for a constant g (the probabilities
        // sum to one whatever z is).
        let mut d = [2.0; 3];
        act.mul_derivative(&mut d, &[1.0, -0.5, 0.25], &one);
        assert!(d.iter().all(|v| v.abs() < 1e-15), "{d:?}");
    }

    #[test]
    fn slice_forms_agree_with_scalar_forms() {
        let z: Vec<f64> = (-20..=20).map(|i| f64::from(i) * 0.37).collect();
        for act in Activation::ALL {
            let mut a = vec![0.0; z.len()];
            act.apply_slice(&z, &mut a);
            let mut d = vec![1.5; z.len()];
            act.mul_derivative(&mut d, &z, &a);
            for i in 0..z.len() {
                assert!((a[i] - act.apply(z[i])).abs() < 1e-15);
                assert!((d[i] - 1.5 * act.derivative(z[i], a[i])).abs() < 1e-15);
            }
        }
    }
}
