//! The softmax over a sample's outputs and the categorical cross-entropy from its
//! logits, as TensorFlow computes them (`tf.nn.softmax`,
//! `tf.nn.softmax_cross_entropy_with_logits`): each sample's logits are shifted by their
//! largest, so that no exponential overflows.
//!
//! The outputs of a batch are a column-major `rows x classes` matrix, so one sample's
//! outputs are `rows` apart. Every loop here runs sample by sample and, within a
//! sample, class by class: a fixed order of additions, the same on every processor
//! (the classes of the paper's networks number ten at most, too few for vector lanes to
//! pay). The exponentials are the crate's own (`Scalar::exp_neg_abs`, of shifted logits
//! that are never positive), not the C library's.

use crate::Scalar;

/// The classes of a `rows x classes` buffer of `len` values.
#[track_caller]
fn classes(len: usize, rows: usize) -> usize {
    assert!(
        rows > 0 && len.is_multiple_of(rows),
        "softmax: {len} values are not {rows} rows"
    );
    len / rows
}

/// The largest logit of sample `i`. NaN logits are passed over here (`Scalar::max`
/// keeps the other operand) and come back through their own shifted value.
#[inline(always)]
fn row_max<T: Scalar>(z: &[T], i: usize, rows: usize, classes: usize) -> T {
    let mut m = z[i];
    for c in 1..classes {
        m = z[i + c * rows].max(m);
    }
    m
}

/// `a = softmax(z)` for every row of the column-major `rows x classes` matrix `z`:
/// `a_c = e^(z_c - m) / sum_k e^(z_k - m)` with `m` the row's largest logit, the sum
/// taken in class order.
///
/// # Panics
/// If the slices differ in length or their length is not a multiple of `rows`.
#[track_caller]
pub(crate) fn softmax_rows<T: Scalar>(z: &[T], a: &mut [T], rows: usize) {
    assert_eq!(z.len(), a.len(), "softmax: lengths");
    if z.is_empty() {
        return;
    }
    let k = classes(z.len(), rows);
    for i in 0..rows {
        let m = row_max(z, i, rows, k);
        let mut s = T::ZERO;
        for c in 0..k {
            let e = (z[i + c * rows] - m).exp_neg_abs();
            a[i + c * rows] = e;
            s += e;
        }
        for c in 0..k {
            a[i + c * rows] /= s;
        }
    }
}

/// The summed categorical cross-entropy of the logits `z` against the targets `y`
/// (both column-major `rows x classes`): per sample `sum_c y_c (ln s - (z_c - m))`
/// with `m` the largest logit and `s = sum_c e^(z_c - m)` in `[1, classes]`, summed
/// over the samples in order.
///
/// # Panics
/// If the slices differ in length or their length is not a multiple of `rows`.
#[track_caller]
pub(crate) fn cross_entropy_sum<T: Scalar>(z: &[T], y: &[T], rows: usize) -> T {
    assert_eq!(z.len(), y.len(), "cross-entropy: lengths");
    if z.is_empty() {
        return T::ZERO;
    }
    let k = classes(z.len(), rows);
    let mut total = T::ZERO;
    for i in 0..rows {
        let m = row_max(z, i, rows, k);
        let mut s = T::ZERO;
        for c in 0..k {
            s += (z[i + c * rows] - m).exp_neg_abs();
        }
        // `s - 1` is exact (`s >= 1`: the largest logit adds `e^0`), and `ln_1p` is the
        // crate's platform-independent logarithm.
        let ln_s = (s - T::ONE).ln_1p();
        let mut sample = T::ZERO;
        for c in 0..k {
            sample += y[i + c * rows] * (ln_s - (z[i + c * rows] - m));
        }
        total += sample;
    }
    total
}

/// `d <- J^T d` for one sample's softmax outputs `p` (a plain slice of its classes),
/// `J` the softmax's Jacobian `dp_c / dz_k = p_c (delta_ck - p_k)`: `d_c <- p_c (d_c -
/// sum_k p_k d_k)`, the sum in class order.
///
/// # Panics
/// If the slices differ in length.
#[track_caller]
pub(crate) fn mul_jacobian<T: Scalar>(d: &mut [T], p: &[T]) {
    assert_eq!(d.len(), p.len(), "softmax jacobian: lengths");
    let mut dot = T::ZERO;
    for (&d, &p) in d.iter().zip(p) {
        dot += p * d;
    }
    for (d, &p) in d.iter_mut().zip(p) {
        *d = p * (*d - dot);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_are_strided_by_the_batch() {
        // Two samples, three classes, column-major: sample 0 is (1, 2, 3), sample 1 is
        // (0, 0, 0).
        let z = [1.0_f64, 0.0, 2.0, 0.0, 3.0, 0.0];
        let mut a = [0.0; 6];
        softmax_rows(&z, &mut a, 2);
        let e = [1.0_f64.exp(), 2.0_f64.exp(), 3.0_f64.exp()];
        let s: f64 = e.iter().sum();
        for c in 0..3 {
            assert!((a[2 * c] - e[c] / s).abs() < 1e-15);
            assert!((a[2 * c + 1] - 1.0 / 3.0).abs() < 1e-15);
        }
    }

    #[test]
    fn extreme_logits_stay_finite() {
        let z = [100.0_f32, -100.0, -100.0, 100.0, 0.0, 0.0];
        let y = [0.0_f32, 0.0, 1.0, 1.0, 0.0, 0.0];
        let mut a = [0.0; 6];
        softmax_rows(&z, &mut a, 2);
        assert!(a.iter().all(|p| p.is_finite() && (0.0..=1.0).contains(p)));
        // Sample 0: (100, -100, 0) labelled 1: 100 - (-100) + ln(1 + e^-100 + e^-200)
        // = 200. Sample 1: (-100, 100, 0) labelled 1: ln(1 + ...) = 0.
        let total = cross_entropy_sum(&z, &y, 2);
        assert!((total - 200.0).abs() < 1e-4, "{total}");
    }

    #[test]
    fn jacobian_product_matches_finite_differences() {
        let z = [0.3_f64, -1.2, 2.0, 0.5];
        let g = [0.7_f64, -0.1, 0.25, 1.5];
        let mut p = [0.0; 4];
        softmax_rows(&z, &mut p, 1);
        let mut d = g;
        mul_jacobian(&mut d, &p);
        // d_k = sum_c g_c dp_c/dz_k, by central differences.
        let h = 1e-6;
        for k in 0..4 {
            let at = |offset: f64| {
                let mut zz = z;
                zz[k] += offset;
                let mut pp = [0.0; 4];
                softmax_rows(&zz, &mut pp, 1);
                pp.iter().zip(&g).map(|(p, g)| p * g).sum::<f64>()
            };
            let numeric = (at(h) - at(-h)) / (2.0 * h);
            assert!((d[k] - numeric).abs() < 1e-9, "{k}: {} vs {numeric}", d[k]);
        }
    }
}
