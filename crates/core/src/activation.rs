use std::fmt;

use crate::Scalar;
use crate::simd::{map, zip_map};

/// An elementwise activation function, with its derivative and its flat region.
///
/// A unit counts as *saturated* when the activation's slope there is below
/// [`SATURATION_THRESHOLD`] times the function's largest slope: for sigmoid that is
/// `|z| > 4.36`, for tanh `|z| > 2.18`, for softsign `|z| > 3.47`, and for ReLU every
/// unit whose input is not positive (its slope is zero). `Linear` is never saturated, and
/// `LeakyRelu` only when its negative slope is below the threshold.
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
}

/// A unit is saturated where the activation's slope is below this fraction of its
/// largest slope (see [`Activation`]).
pub const SATURATION_THRESHOLD: f64 = 0.05;

impl Activation {
    /// Every activation, with Keras' default alpha of 0.2 for the leaky ReLU
    /// (`keras.activations.leaky_relu`).
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
        }
    }

    /// `f(z)`.
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
        }
    }

    /// `f'(z)`, given both the input `z` and the output `a = f(z)` so that each
    /// function uses the cheaper one.
    #[inline(always)]
    pub fn derivative<T: Scalar>(self, z: T, a: T) -> T {
        match self {
            Self::Sigmoid => a * (T::ONE - a),
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
            Self::Sigmoid => 0.25,
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
            Self::Sigmoid | Self::Tanh | Self::Relu | Self::Softsign => true,
        }
    }

    /// `a[i] = f(z[i])` over a whole buffer.
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
        }
    }

    /// `d[i] *= f'(z[i])` over a whole buffer, with `a = f(z)` as stored by the forward
    /// pass: the step from the gradient at a layer's output to its pre-activation.
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
            _ => {
                for ((d, &z), &a) in d.iter_mut().zip(z).zip(a) {
                    *d *= self.derivative(z, a);
                }
            }
        }
    }

    /// `slope[i] = f'(z[i])` over a whole buffer, with `a = f(z)` as stored by the
    /// forward pass: the factors [`Activation::mul_derivative`] multiplies by.
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
