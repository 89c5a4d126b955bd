use std::fmt::{Debug, Display};
use std::iter::Sum;
use std::ops::{Add, AddAssign, Div, DivAssign, Mul, MulAssign, Neg, Sub, SubAssign};

use faer::traits::RealField;

/// The floating-point types the core computes in: `f32` (the default, as Keras) and
/// `f64` (for gradient checks).
///
/// It names exactly the operations the kernels need, so that the numeric code reads as
/// ordinary arithmetic, and it carries faer's `RealField` so that every `Scalar` can go
/// through faer's matrix multiplication.
pub trait Scalar:
    RealField
    + Copy
    + Default
    + Debug
    + Display
    + PartialOrd
    + Send
    + Sync
    + Sum
    + Add<Output = Self>
    + Sub<Output = Self>
    + Mul<Output = Self>
    + Div<Output = Self>
    + Neg<Output = Self>
    + AddAssign
    + SubAssign
    + MulAssign
    + DivAssign
    + 'static
{
    /// Zero.
    const ZERO: Self;
    /// One.
    const ONE: Self;
    /// Converts from `f64`, rounding to the nearest representable value.
    fn from_f64(v: f64) -> Self;
    /// Converts to `f64` exactly.
    fn to_f64(self) -> f64;
    /// `e^self`, in a vectorizable form within 1 ulp that flushes results below
    /// `MIN_POSITIVE` to zero (see `fast_math`).
    fn exp(self) -> Self;
    /// `e^-|self|`, in `(0, 1]`: the exponential the logistic function and the
    /// cross-entropy need, cheaper than [`Scalar::exp`] because it cannot overflow.
    fn exp_neg_abs(self) -> Self;
    /// `ln(1 + self)`, accurate for small `self`: for `f64` the `libm` crate's (a port
    /// of musl's, the same code on every platform); for `f32` a vectorizable form
    /// within 1 ulp (see `fast_math`).
    fn ln_1p(self) -> Self;
    /// Hyperbolic tangent, in a vectorizable form within 7 ulp for `f32` and 2 ulp of
    /// the C library's for `f64` (see `fast_math`).
    fn tanh(self) -> Self;
    /// Square root.
    fn sqrt(self) -> Self;
    /// Absolute value.
    fn abs(self) -> Self;
    /// `self^n` for an integer `n`.
    fn powi(self, n: i32) -> Self;
    /// The larger of two values (the other one if either is NaN, `other` if they are
    /// equal, so that `x.max(0.0)` is `0.0` for `x = -0.0` on every platform).
    fn max(self, other: Self) -> Self;
    /// The smaller of two values (the other one if either is NaN, `other` if they are
    /// equal).
    fn min(self, other: Self) -> Self;
    /// Whether the value is neither infinite nor NaN.
    fn is_finite(self) -> bool;
}

macro_rules! impl_scalar {
    ($t:ty, $exp:path, $exp_neg_abs:path, $ln_1p:path, $tanh:path) => {
        impl Scalar for $t {
            const ZERO: Self = 0.0;
            const ONE: Self = 1.0;
            #[inline(always)]
            fn from_f64(v: f64) -> Self {
                v as $t
            }
            #[inline(always)]
            fn to_f64(self) -> f64 {
                self as f64
            }
            #[inline(always)]
            fn exp(self) -> Self {
                $exp(self)
            }
            #[inline(always)]
            fn exp_neg_abs(self) -> Self {
                $exp_neg_abs(self)
            }
            #[inline(always)]
            fn ln_1p(self) -> Self {
                $ln_1p(self)
            }
            #[inline(always)]
            fn tanh(self) -> Self {
                $tanh(self)
            }
            #[inline(always)]
            fn sqrt(self) -> Self {
                <$t>::sqrt(self)
            }
            #[inline(always)]
            fn abs(self) -> Self {
                <$t>::abs(self)
            }
            #[inline(always)]
            fn powi(self, n: i32) -> Self {
                <$t>::powi(self, n)
            }
            // Comparisons rather than the standard `max` and `min`, which may return
            // either zero of `+0` and `-0`, and do not promise the same one on every
            // platform: these return `other` unless `self` is strictly larger
            // (smaller) or `other` is NaN.
            #[inline(always)]
            fn max(self, other: Self) -> Self {
                if self > other || other.is_nan() {
                    self
                } else {
                    other
                }
            }
            #[inline(always)]
            fn min(self, other: Self) -> Self {
                if self < other || other.is_nan() {
                    self
                } else {
                    other
                }
            }
            #[inline(always)]
            fn is_finite(self) -> bool {
                <$t>::is_finite(self)
            }
        }
    };
}

// The C library's exp, tanh and log1p, called one value at a time, dominated the run
// time. f64 takes log1p, which only the loss calls, from the pure-Rust libm rather
// than from the C library, whose bits differ between platforms (glibc natively, a port
// of musl in WebAssembly).
impl_scalar!(
    f32,
    crate::fast_math::exp,
    crate::fast_math::exp_neg_abs,
    crate::fast_math::ln_1p,
    crate::fast_math::tanh
);
impl_scalar!(
    f64,
    crate::fast_math::double::exp,
    crate::fast_math::double::exp_neg_abs,
    libm::log1p,
    crate::fast_math::double::tanh
);

#[cfg(test)]
mod tests {
    use super::Scalar;

    /// Zeros of either sign and NaN give the same answer on every platform.
    #[test]
    fn max_and_min_are_fixed_at_zeros_and_nan() {
        fn check<T: Scalar>() {
            let (zero, neg_zero, one, nan) = (T::ZERO, -T::ZERO, T::ONE, T::ZERO / T::ZERO);
            let bits = |v: T| v.to_f64().to_bits();
            assert_eq!(bits(neg_zero.max(zero)), bits(zero));
            assert_eq!(bits(zero.max(neg_zero)), bits(neg_zero));
            assert_eq!(bits(neg_zero.min(zero)), bits(zero));
            assert_eq!(bits(one.max(nan)), bits(one));
            assert_eq!(bits(nan.max(one)), bits(one));
            assert_eq!(bits(one.min(nan)), bits(one));
            assert_eq!(bits(nan.min(-one)), bits(-one));
            assert_eq!(bits((-one).max(zero)), bits(zero));
            assert_eq!(bits(one.min(zero)), bits(zero));
        }
        check::<f32>();
        check::<f64>();
    }
}
