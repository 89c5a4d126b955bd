//! Single-precision `exp`, `ln_1p` and `tanh` written so that a loop over a slice
//! vectorizes.
//!
//! The C library's `expf`, `log1pf` and `tanhf` are correctly rounded or nearly so,
//! but they are opaque calls with branches, one value at a time; in the tutorial's
//! network they took about 70% of a training run. These forms use only arithmetic, bit casts and
//! selects, so the compiler turns a loop over them into vector code, and every value is
//! computed the same way whether it lands in a vector lane or in the scalar tail: the
//! results do not depend on the slice's length or alignment.
//!
//! Accuracy, measured against `f64` references by the tests below over every 17th
//! `f32` in the relevant range: [`exp`] and [`ln_1p`] are within 1 ulp of the correctly
//! rounded result, [`tanh`] within 7 ulp (an absolute error below 4.2e-7: the price of
//! a rational form without an exponential, which cut the tanh network's training step
//! by a fifth; it is also the form TensorFlow itself evaluates). [`exp`] flushes results below `f32::MIN_POSITIVE`
//! (inputs below about -87.34) to zero, an absolute error under 1.2e-38, and returns
//! infinity above 88.37 (where the true value is above 70% of `f32::MAX`); the core
//! only ever calls it on inputs of at most zero. NaN stays NaN and infinities map to
//! their limits.
//!
//! `exp` follows Cephes' `expf`: `e^x = 2^n e^r` with `n = round(x / ln 2)`, `r`
//! reduced in two steps (Cody and Waite) to `|r| <= ln(2) / 2`, and `e^r` from a
//! degree-6 polynomial. `ln_1p` follows musl's `log1pf`: `1 + x` split into `2^k m`
//! with a correction for the rounding of the sum, and `ln m` from a series in
//! `s = (m - 1) / (m + 1)`. `tanh` is Eigen's rational approximation (see [`tanh`]).

/// Adding and subtracting 1.5 * 2^23 rounds an `f32` of magnitude below 2^22 to the
/// nearest integer, and leaves that integer in the low bits of the sum's mantissa.
const ROUNDER: f32 = 12_582_912.0;
/// `ln(f32::MIN_POSITIVE)`: below it `e^x` is not a normal number.
const MIN_INPUT: f32 = -87.336_54;
/// `ln(f32::MAX)`, rounded down so that `2^n` stays finite.
const MAX_INPUT: f32 = 88.376_26;
/// `ln 2` split into a part with few mantissa bits (so `n * LN2_HI` is exact) and the
/// rest.
const LN2_HI: f32 = 0.693_359_4;
const LN2_LO: f32 = -2.121_944_4e-4;

/// `e^x`, within 1 ulp for normal results (see the module's documentation).
#[inline(always)]
pub(crate) fn exp(x: f32) -> f32 {
    // `clamp` passes NaN through unchanged.
    let y = exp_reduced(x.clamp(MIN_INPUT, MAX_INPUT));
    if x < MIN_INPUT {
        0.0
    } else if x > MAX_INPUT {
        f32::INFINITY
    } else {
        y
    }
}

/// `e^-|x|`, as [`exp`] computes it, without the overflow handling it cannot need.
#[inline(always)]
pub(crate) fn exp_neg_abs(x: f32) -> f32 {
    let x = -x.abs();
    // A comparison rather than `max`, so that NaN passes through unchanged.
    let y = exp_reduced(if x < MIN_INPUT { MIN_INPUT } else { x });
    if x < MIN_INPUT { 0.0 } else { y }
}

/// `e^x` for `x` in `[MIN_INPUT, MAX_INPUT]` (or NaN).
#[inline(always)]
fn exp_reduced(xc: f32) -> f32 {
    let t = xc * std::f32::consts::LOG2_E + ROUNDER;
    let n = t - ROUNDER;
    let r = (xc - n * LN2_HI) - n * LN2_LO;
    let p = ((((1.987_569_1e-4 * r + 1.398_199_9e-3) * r + 8.333_452e-3) * r + 4.166_579_6e-2) * r
        + 1.666_666_5e-1)
        * r
        + 0.5;
    let er = p * (r * r) + r + 1.0;
    // The integer n sits in the low bits of t; 2^n is that plus the exponent bias,
    // shifted into the exponent field.
    let n_bits = t.to_bits().wrapping_sub(ROUNDER.to_bits());
    let scale = f32::from_bits(n_bits.wrapping_add(127) << 23);
    er * scale
}

/// `ln(1 + x)`, within 1 ulp (see the module's documentation).
#[inline(always)]
pub(crate) fn ln_1p(x: f32) -> f32 {
    const SQRT_HALF_BITS: u32 = 0x3f35_04f3;
    const LN2_HI: f32 = 6.931_381e-1;
    const LN2_LO: f32 = 9.058_001e-6;
    // Write 1 + x = 2^k m with m in [sqrt(1/2), sqrt(2)), recovering the part of x
    // that rounding 1 + x lost as the correction c ~ ln(1 + x) - ln(1 + x rounded).
    let u = 1.0 + x;
    let iu = u.to_bits().wrapping_add(0x3f80_0000 - SQRT_HALF_BITS);
    let k = (iu >> 23) as i32 - 0x7f;
    let c = (if k >= 2 { 1.0 - (u - x) } else { x - (u - 1.0) }) / u;
    let c = if k < 25 { c } else { 0.0 };
    let m = f32::from_bits((iu & 0x007f_ffff) + SQRT_HALF_BITS);
    // Near zero x itself is the reduced argument, exactly.
    let near_zero = (-0.292_893_2..0.414_213_57).contains(&x);
    let (f, c, k) = if near_zero {
        (x, 0.0, 0.0)
    } else {
        (m - 1.0, c, k as f32)
    };
    // ln(1 + f) = 2 atanh(s) with s = f / (2 + f), as an odd series in s.
    let s = f / (2.0 + f);
    let z = s * s;
    let w = z * z;
    let r = z * (0.666_666_6 + w * 0.284_987_87) + w * (0.400_009_72 + w * 0.242_790_79);
    let hfsq = 0.5 * f * f;
    let y = s * (hfsq + r) + (k * LN2_LO + c) - hfsq + f + k * LN2_HI;
    if x.is_nan() || x < -1.0 {
        f32::NAN
    } else if x <= -1.0 {
        f32::NEG_INFINITY
    } else if x.is_infinite() {
        x
    } else {
        y
    }
}

/// `tanh x` (see the module's documentation for its accuracy): Eigen's rational
/// approximation, the one TensorFlow evaluates on processors, an odd polynomial of
/// degree 13 over an even one of degree 6 on inputs clamped to +-7.905 (where tanh is
/// 1 in `f32`), and `x` itself below 0.0004.
#[inline(always)]
pub(crate) fn tanh(x: f32) -> f32 {
    const CLAMP: f32 = 7.905_311;
    let xc = x.clamp(-CLAMP, CLAMP);
    let x2 = xc * xc;
    let p = (((((-2.760_768_5e-16 * x2 + 2.000_188e-13) * x2 - 8.604_672e-11) * x2
        + 5.122_297e-8)
        * x2
        + 1.485_722_4e-5)
        * x2
        + 6.372_619_3e-4)
        * x2
        + 4.893_524_6e-3;
    let q = ((1.198_258_4e-6 * x2 + 1.185_347_1e-4) * x2 + 2.268_434_6e-3) * x2 + 4.893_525e-3;
    let y = xc * p / q;
    if x.abs() < 0.0004 { x } else { y }
}

/// The same two functions in double precision, used by the `f64` networks (the wide
/// benchmark's, the gradient checks'). The method is that of Cephes' `exp` and `tanh`:
/// `e^r` as `1 + 2 r P(r^2) / (Q(r^2) - r P(r^2))`, and `tanh` near zero as
/// `x + x^3 P(x^2) / Q(x^2)`. Measured against the C library's (itself within an ulp
/// of the exact values) on the sample the tests draw: `exp` within 1 ulp of it, `tanh`
/// within 2.
pub(crate) mod double {
    /// 1.5 * 2^52: adding and subtracting it rounds to an integer, as [`super::ROUNDER`].
    const ROUNDER: f64 = 6_755_399_441_055_744.0;
    /// `ln(f64::MIN_POSITIVE)`.
    const MIN_INPUT: f64 = -708.396_418_532_264_1;
    /// Rounded down from `ln(f64::MAX)` so that `2^n` stays finite.
    const MAX_INPUT: f64 = 709.089_565_712_824;
    const LN2_HI: f64 = 6.931_457_519_531_25e-1;
    const LN2_LO: f64 = 1.428_606_820_309_417_2e-6;

    /// `e^x` in double precision (see the module's documentation).
    #[inline(always)]
    pub(crate) fn exp(x: f64) -> f64 {
        let y = exp_reduced(x.clamp(MIN_INPUT, MAX_INPUT));
        if x < MIN_INPUT {
            0.0
        } else if x > MAX_INPUT {
            f64::INFINITY
        } else {
            y
        }
    }

    /// `e^-|x|` in double precision, as [`exp`] computes it.
    #[inline(always)]
    pub(crate) fn exp_neg_abs(x: f64) -> f64 {
        let x = -x.abs();
        let y = exp_reduced(if x < MIN_INPUT { MIN_INPUT } else { x });
        if x < MIN_INPUT { 0.0 } else { y }
    }

    /// `e^x` for `x` in `[MIN_INPUT, MAX_INPUT]` (or NaN).
    #[inline(always)]
    fn exp_reduced(xc: f64) -> f64 {
        let t = xc * std::f64::consts::LOG2_E + ROUNDER;
        let n = t - ROUNDER;
        let r = (xc - n * LN2_HI) - n * LN2_LO;
        let rr = r * r;
        let p = r * ((1.261_771_930_748_105_9e-4 * rr + 3.029_944_077_074_419_6e-2) * rr + 1.0);
        let q = ((3.001_985_051_386_644_5e-6 * rr + 2.524_483_403_496_841e-3) * rr
            + 2.272_655_482_081_550_3e-1)
            * rr
            + 2.0;
        let er = 1.0 + 2.0 * (p / (q - p));
        let n_bits = t.to_bits().wrapping_sub(ROUNDER.to_bits());
        er * f64::from_bits(n_bits.wrapping_add(1023) << 52)
    }

    /// `tanh x` in double precision (see the module's documentation).
    #[inline(always)]
    pub(crate) fn tanh(x: f64) -> f64 {
        let ax = x.abs();
        let z = x * x;
        let p = (-9.643_991_794_250_523e-1 * z - 9.928_772_310_019_186e1) * z
            - 1.614_687_684_417_084_5e3;
        let q = ((z + 1.128_116_784_916_329_3e2) * z + 2.235_488_390_601_004_6e3) * z
            + 4.844_063_053_251_255e3;
        let near_zero = x + x * z * (p / q);
        let e = exp(-2.0 * ax);
        // 1 - 2e / (1 + e) rather than (1 - e) / (1 + e): the rounding errors land on
        // the smaller term.
        let far = (1.0 - 2.0 * e / (1.0 + e)).copysign(x);
        if ax < 0.625 { near_zero } else { far }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Distance in units in the last place between `got` and the correctly rounded
    /// `f32` of `exact`.
    fn ulps(got: f32, exact: f64) -> u32 {
        let want = exact as f32;
        let key = |v: f32| {
            let b = v.to_bits() as i32;
            if b < 0 { i32::MIN - b } else { b }
        };
        key(got).abs_diff(key(want))
    }

    /// Every 17th `f32` is checked: about 4 x 10^8 values over the three ranges.
    const STRIDE: u32 = 17;

    /// Every `stride`-th `f32` between `lo` and `hi` (by bit pattern, both signs).
    fn sweep(lo: f32, hi: f32, stride: u32) -> impl Iterator<Item = f32> {
        let positive = (0..=hi.to_bits())
            .step_by(stride as usize)
            .map(f32::from_bits);
        let negative = (0..=(-lo).to_bits())
            .step_by(stride as usize)
            .map(|b| -f32::from_bits(b));
        positive
            .chain(negative)
            .filter(move |v| (lo..=hi).contains(v))
    }

    /// The largest error of `f` against `reference` over a sweep, and where it is.
    fn worst(
        inputs: impl Iterator<Item = f32>,
        f: fn(f32) -> f32,
        reference: fn(f64) -> f64,
    ) -> (u32, f32) {
        inputs
            .map(|x| (ulps(f(x), reference(f64::from(x))), x))
            .fold((0, 0.0), |w, e| if e.0 > w.0 { e } else { w })
    }

    type Case = (&'static str, f32, f32, fn(f32) -> f32, fn(f64) -> f64, u32);

    #[test]
    fn within_stated_ulps() {
        // (name, lowest input, highest input, function, f64 reference, bound in ulps)
        let cases: [Case; 3] = [
            ("exp", MIN_INPUT, MAX_INPUT, exp, f64::exp, 1),
            ("tanh", -12.0, 12.0, tanh, f64::tanh, 7),
            ("ln_1p", -0.999, 1e30, ln_1p, f64::ln_1p, 1),
        ];
        for (name, lo, hi, f, reference, bound) in cases {
            let (err, at) = worst(sweep(lo, hi, STRIDE), f, reference);
            assert!(err <= bound, "{name}: {err} ulp at {at}");
        }
    }

    /// Distance in ulps between two doubles.
    fn ulps_f64(got: f64, want: f64) -> u64 {
        let key = |v: f64| {
            let b = v.to_bits() as i64;
            if b < 0 { i64::MIN - b } else { b }
        };
        key(got).abs_diff(key(want))
    }

    type DoubleCase = (&'static str, f64, fn(f64) -> f64, fn(f64) -> f64, u64);

    /// Double precision against the C library on 2 x 10^6 inputs per function, drawn
    /// uniformly over the bit patterns of the range (so every binade is covered).
    #[test]
    fn double_within_one_ulp_of_the_c_library() {
        let mut state = 0x9e37_79b9_7f4a_7c15_u64;
        let mut draw = |hi: f64| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let magnitude = f64::from_bits(state % hi.to_bits());
            if state & (1 << 63) == 0 {
                magnitude
            } else {
                -magnitude
            }
        };
        // (name, largest magnitude, function, reference, largest error in ulps)
        let cases: [DoubleCase; 2] = [
            ("exp", 708.0, double::exp, f64::exp, 1),
            ("tanh", 30.0, double::tanh, f64::tanh, 2),
        ];
        for (name, hi, f, reference, bound) in cases {
            for _ in 0..2_000_000 {
                let x = draw(hi);
                let err = ulps_f64(f(x), reference(x));
                assert!(err <= bound, "{name}: {err} ulp at {x}");
            }
        }
        assert!(double::exp(f64::NAN).is_nan() && double::tanh(f64::NAN).is_nan());
        assert_eq!(double::exp(-800.0).to_bits(), 0.0_f64.to_bits());
        assert_eq!(double::exp(800.0).to_bits(), f64::INFINITY.to_bits());
        assert_eq!(double::tanh(-40.0).to_bits(), (-1.0_f64).to_bits());
    }

    /// The overflow-free form gives the general form's bits, NaN and infinities included.
    #[test]
    fn exp_neg_abs_is_exp_of_minus_the_magnitude() {
        let inputs = sweep(-100.0, 100.0, 1001).chain([f32::INFINITY, f32::NEG_INFINITY, 0.0]);
        for x in inputs {
            assert_eq!(exp_neg_abs(x).to_bits(), exp(-x.abs()).to_bits(), "{x}");
            let x = f64::from(x) * 7.3;
            let (got, want) = (double::exp_neg_abs(x), double::exp(-x.abs()));
            assert_eq!(got.to_bits(), want.to_bits(), "{x}");
        }
        assert!(exp_neg_abs(f32::NAN).is_nan() && double::exp_neg_abs(f64::NAN).is_nan());
    }

    #[test]
    fn special_values() {
        assert!(exp(f32::NAN).is_nan() && tanh(f32::NAN).is_nan() && ln_1p(f32::NAN).is_nan());
        assert!(ln_1p(-2.0).is_nan());
        assert_eq!(ln_1p(-1.0).to_bits(), f32::NEG_INFINITY.to_bits());
        assert_eq!(ln_1p(f32::INFINITY).to_bits(), f32::INFINITY.to_bits());
        assert_eq!(ln_1p(0.0).to_bits(), 0.0_f32.to_bits());
        assert_eq!(ln_1p(1e-30).to_bits(), 1e-30_f32.to_bits());
        assert_eq!(exp(f32::NEG_INFINITY).to_bits(), 0.0_f32.to_bits());
        assert_eq!(exp(-100.0).to_bits(), 0.0_f32.to_bits());
        assert_eq!(exp(f32::INFINITY).to_bits(), f32::INFINITY.to_bits());
        assert_eq!(exp(100.0).to_bits(), f32::INFINITY.to_bits());
        assert_eq!(exp(0.0).to_bits(), 1.0_f32.to_bits());
        assert_eq!(tanh(f32::INFINITY).to_bits(), 1.0_f32.to_bits());
        assert_eq!(tanh(f32::NEG_INFINITY).to_bits(), (-1.0_f32).to_bits());
        assert_eq!(tanh(0.0).to_bits(), 0.0_f32.to_bits());
        assert_eq!(tanh(1e-30).to_bits(), 1e-30_f32.to_bits());
        assert_eq!(tanh(40.0).to_bits(), 1.0_f32.to_bits());
        assert_eq!(tanh(-40.0).to_bits(), (-1.0_f32).to_bits());
    }
}
