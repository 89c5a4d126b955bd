//! Normalization of a layer's pre-activation, as Keras' `BatchNormalization` and
//! `LayerNormalization` compute it.
//!
//! A normalized layer computes `U = A W + b`, then `X = (U - mean) / sqrt(var + eps)`
//! and `Z = gamma X + beta`, and applies its
//! activation to `Z`. Batch normalization takes `mean` and `var` of every unit over the
//! batch while training and the moving statistics while evaluating; layer normalization
//! takes them of every row over the layer's units, the same way in both modes.
//! Every buffer is a column-major `rows x units` slice, as in the workspace.

use crate::Scalar;

/// Keras' `BatchNormalization` default momentum of the moving statistics.
pub const BATCH_NORM_MOMENTUM: f64 = 0.99;

/// Keras' default `epsilon` of both `BatchNormalization` and `LayerNormalization`,
/// added to the variance before its square root.
pub const NORM_EPSILON: f64 = 1e-3;

/// How a layer's pre-activation is normalized before its activation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Norm {
    /// No normalization: `Z = A W + b`.
    #[default]
    None,
    /// Batch normalization (Ioffe & Szegedy 2015) placed before the activation: every
    /// unit normalized over the batch while training, over moving statistics while
    /// evaluating.
    Batch,
    /// Layer normalization (Ba, Kiros & Hinton 2016): every example's pre-activations
    /// normalized over the layer's units.
    Layer,
}

impl Norm {
    /// The name used in configuration files and tables.
    pub fn name(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Batch => "batch",
            Self::Layer => "layer",
        }
    }

    /// Whether the layer has a learned scale and shift after its product.
    pub fn is_some(self) -> bool {
        self != Self::None
    }
}

/// Mean and inverse standard deviation of every column of `u` (`rows x units`), as
/// TensorFlow's `moments`: the mean, then the mean of the squared deviations from it
/// (the biased variance). Writes the variances into `var` and `1 / sqrt(var + eps)`
/// into `inv_std`.
pub(crate) fn column_moments<T: Scalar>(
    u: &[T],
    rows: usize,
    mean: &mut [T],
    var: &mut [T],
    inv_std: &mut [T],
) {
    let n = T::from_f64(rows as f64);
    let eps = T::from_f64(NORM_EPSILON);
    for (j, col) in u.chunks_exact(rows).enumerate() {
        let m = col.iter().fold(T::ZERO, |s, &v| s + v) / n;
        let v = col.iter().fold(T::ZERO, |s, &x| s + (x - m) * (x - m)) / n;
        mean[j] = m;
        var[j] = v;
        inv_std[j] = T::ONE / (v + eps).sqrt();
    }
}

/// Mean and inverse standard deviation of every row of `u` (`rows x units`), over the
/// row's `units` values, as [`column_moments`] does for columns.
pub(crate) fn row_moments<T: Scalar>(u: &[T], rows: usize, mean: &mut [T], inv_std: &mut [T]) {
    let units = u.len() / rows.max(1);
    let n = T::from_f64(units as f64);
    let eps = T::from_f64(NORM_EPSILON);
    let (mean, inv_std) = (&mut mean[..rows], &mut inv_std[..rows]);
    mean.fill(T::ZERO);
    for col in u.chunks_exact(rows) {
        for (m, &v) in mean.iter_mut().zip(col) {
            *m += v;
        }
    }
    for m in mean.iter_mut() {
        *m /= n;
    }
    // The squared deviations are summed in `inv_std` before it becomes 1 / sqrt.
    inv_std.fill(T::ZERO);
    for col in u.chunks_exact(rows) {
        for ((s, &m), &v) in inv_std.iter_mut().zip(mean.iter()).zip(col) {
            *s += (v - m) * (v - m);
        }
    }
    for s in inv_std.iter_mut() {
        *s = T::ONE / (*s / n + eps).sqrt();
    }
}

/// Normalizes `x` in place (it holds `U` on entry and `X` on return) with per-column
/// statistics, and writes `Z = gamma X + beta`.
pub(crate) fn normalize_columns<T: Scalar>(
    x: &mut [T],
    rows: usize,
    mean: &[T],
    inv_std: &[T],
    gamma: &[T],
    beta: &[T],
    z: &mut [T],
) {
    for (j, (xc, zc)) in x
        .chunks_exact_mut(rows)
        .zip(z.chunks_exact_mut(rows))
        .enumerate()
    {
        let (m, s, g, b) = (mean[j], inv_std[j], gamma[j], beta[j]);
        for (xv, zv) in xc.iter_mut().zip(zc) {
            *xv = (*xv - m) * s;
            *zv = g * *xv + b;
        }
    }
}

/// [`normalize_columns`] with per-row statistics (layer normalization).
pub(crate) fn normalize_rows<T: Scalar>(
    x: &mut [T],
    rows: usize,
    mean: &[T],
    inv_std: &[T],
    gamma: &[T],
    beta: &[T],
    z: &mut [T],
) {
    for (j, (xc, zc)) in x
        .chunks_exact_mut(rows)
        .zip(z.chunks_exact_mut(rows))
        .enumerate()
    {
        let (g, b) = (gamma[j], beta[j]);
        for (((xv, zv), &m), &s) in xc.iter_mut().zip(zc).zip(mean).zip(inv_std) {
            *xv = (*xv - m) * s;
            *zv = g * *xv + b;
        }
    }
}

/// Moves the moving statistics towards one batch's, as Keras does on every training
/// step: `moving = moving * momentum + batch * (1 - momentum)`.
pub(crate) fn update_moving<T: Scalar>(moving: &mut [T], batch: &[T]) {
    let momentum = T::from_f64(BATCH_NORM_MOMENTUM);
    let rest = T::from_f64(1.0 - BATCH_NORM_MOMENTUM);
    for (m, &b) in moving.iter_mut().zip(batch) {
        *m = *m * momentum + b * rest;
    }
}

/// Gradients of `gamma` and `beta` from `D = dLoss/dZ` and the normalized `X`:
/// `dgamma_j = sum_i D_ij X_ij`, `dbeta_j = sum_i D_ij`.
pub(crate) fn scale_shift_grad<T: Scalar>(
    d: &[T],
    x: &[T],
    rows: usize,
    dgamma: &mut [T],
    dbeta: &mut [T],
) {
    for (j, (dc, xc)) in d.chunks_exact(rows).zip(x.chunks_exact(rows)).enumerate() {
        let (mut g, mut b) = (T::ZERO, T::ZERO);
        for (&dv, &xv) in dc.iter().zip(xc) {
            g += dv * xv;
            b += dv;
        }
        dgamma[j] = g;
        dbeta[j] = b;
    }
}

/// Batch normalization's gradient at `U` while training, per column over `n` rows:
/// `dU = gamma inv_std / n (n D - sum D - X sum D X)`, where the two sums are the
/// column's `dbeta` and `dgamma` from [`scale_shift_grad`].
#[allow(clippy::too_many_arguments)] // The formula's own operands, all borrowed.
pub(crate) fn column_input_grad<T: Scalar>(
    d: &[T],
    x: &[T],
    rows: usize,
    gamma: &[T],
    inv_std: &[T],
    dgamma: &[T],
    dbeta: &[T],
    du: &mut [T],
) {
    let n = T::from_f64(rows as f64);
    for (j, ((dc, xc), uc)) in d
        .chunks_exact(rows)
        .zip(x.chunks_exact(rows))
        .zip(du.chunks_exact_mut(rows))
        .enumerate()
    {
        let k = gamma[j] * inv_std[j] / n;
        for ((&dv, &xv), u) in dc.iter().zip(xc).zip(uc) {
            *u = k * (n * dv - dbeta[j] - xv * dgamma[j]);
        }
    }
}

/// Layer normalization's gradient at `U`, per row over its `m` units, with
/// `G = gamma D` the gradient at `X`: `dU = inv_std / m (m G - sum G - X sum G X)`.
/// `sums` needs two scratch values per row.
pub(crate) fn row_input_grad<T: Scalar>(
    d: &[T],
    x: &[T],
    rows: usize,
    gamma: &[T],
    inv_std: &[T],
    sums: &mut [T],
    du: &mut [T],
) {
    let units = d.len() / rows.max(1);
    let m = T::from_f64(units as f64);
    let (sum_g, sum_gx) = sums[..2 * rows].split_at_mut(rows);
    sum_g.fill(T::ZERO);
    sum_gx.fill(T::ZERO);
    for (j, (dc, xc)) in d.chunks_exact(rows).zip(x.chunks_exact(rows)).enumerate() {
        for (i, (&dv, &xv)) in dc.iter().zip(xc).enumerate() {
            let g = gamma[j] * dv;
            sum_g[i] += g;
            sum_gx[i] += g * xv;
        }
    }
    for (j, ((dc, xc), uc)) in d
        .chunks_exact(rows)
        .zip(x.chunks_exact(rows))
        .zip(du.chunks_exact_mut(rows))
        .enumerate()
    {
        for (i, ((&dv, &xv), u)) in dc.iter().zip(xc).zip(uc).enumerate() {
            let g = gamma[j] * dv;
            *u = inv_std[i] / m * (m * g - sum_g[i] - xv * sum_gx[i]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[allow(clippy::float_cmp)] // Means and variances of small integers are exact.
    fn column_statistics_match_hand_computed_values() {
        // Column 0 is 1, 2, 3, 6 (mean 3, biased variance (4 + 1 + 0 + 9) / 4 = 3.5);
        // column 1 is constant 5 (variance 0, so 1 / sqrt(eps)).
        let u = [1.0, 2.0, 3.0, 6.0, 5.0, 5.0, 5.0, 5.0];
        let (mut mean, mut var, mut inv) = ([0.0; 2], [0.0; 2], [0.0; 2]);
        column_moments(&u, 4, &mut mean, &mut var, &mut inv);
        assert_eq!(mean, [3.0, 5.0]);
        assert_eq!(var, [3.5, 0.0]);
        assert!((inv[0] - 1.0 / 3.501_f64.sqrt()).abs() < 1e-15);
        assert!((inv[1] - 1.0 / 1e-3_f64.sqrt()).abs() < 1e-12);
        let mut x = u;
        let mut z = [0.0; 8];
        normalize_columns(&mut x, 4, &mean, &inv, &[2.0, 1.0], &[0.5, -1.0], &mut z);
        let expected_x0 = -2.0 / 3.501_f64.sqrt();
        assert!((x[0] - expected_x0).abs() < 1e-15);
        assert!((z[0] - (2.0 * expected_x0 + 0.5)).abs() < 1e-15);
        // A constant column normalizes to 0 and leaves only the shift.
        assert_eq!(&z[4..], &[-1.0; 4]);
    }

    #[test]
    #[allow(clippy::float_cmp)] // Means and variances of small integers are exact.
    fn row_statistics_match_hand_computed_values() {
        // Two rows of three units: row 0 is 1, 4, 7 (mean 4, variance 6), row 1 is
        // 0, 0, 3 (mean 1, variance (1 + 1 + 4) / 3 = 2).
        let u = [1.0, 0.0, 4.0, 0.0, 7.0, 3.0];
        let (mut mean, mut inv) = ([0.0; 2], [0.0; 2]);
        row_moments(&u, 2, &mut mean, &mut inv);
        assert_eq!(mean, [4.0, 1.0]);
        assert!((inv[0] - 1.0 / 6.001_f64.sqrt()).abs() < 1e-15);
        assert!((inv[1] - 1.0 / 2.001_f64.sqrt()).abs() < 1e-15);
    }

    #[test]
    fn moving_statistics_follow_keras_momentum() {
        let mut moving = [0.0, 1.0];
        update_moving(&mut moving, &[2.0, 3.0]);
        assert!((moving[0] - 0.02).abs() < 1e-15);
        assert!((moving[1] - (0.99 + 0.03)).abs() < 1e-15);
    }
}
