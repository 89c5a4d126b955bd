//! Dense-layer kernels over faer views.
//!
//! Every kernel writes into an output the caller provides and takes any strides, so a
//! transposed view costs nothing. Shapes that do not fit are programmer errors and
//! panic at the caller's location.

use faer::linalg::matmul::matmul;
use faer::reborrow::ReborrowMut;
use faer::{Accum, MatMut, MatRef, Par};

use crate::Scalar;

/// `dst = A B` or `dst += A B` (with `accum`), scaled by `alpha`: faer's matrix
/// product, named here so that every product in the core goes through one place.
///
/// # Panics
/// If `dst` is not `A.nrows() x B.ncols()` or the inner dimensions differ.
#[track_caller]
pub fn gemm<T: Scalar>(
    dst: MatMut<'_, T>,
    accum: Accum,
    lhs: MatRef<'_, T>,
    rhs: MatRef<'_, T>,
    alpha: T,
    par: Par,
) {
    assert!(
        dst.nrows() == lhs.nrows() && dst.ncols() == rhs.ncols() && lhs.ncols() == rhs.nrows(),
        "gemm: dst {}x{}, lhs {}x{}, rhs {}x{}",
        dst.nrows(),
        dst.ncols(),
        lhs.nrows(),
        lhs.ncols(),
        rhs.nrows(),
        rhs.ncols()
    );
    matmul(dst, accum, lhs, rhs, alpha, par);
}

/// Forward pass of a dense layer: `Z = A W + 1 b^T`, for a batch `A` of
/// `batch x fan_in`, a kernel `W` of `fan_in x units` and a bias of `units`.
///
/// # Panics
/// If the shapes do not agree.
#[track_caller]
pub fn dense_forward<T: Scalar>(
    mut z: MatMut<'_, T>,
    a: MatRef<'_, T>,
    w: MatRef<'_, T>,
    b: &[T],
    par: Par,
) {
    assert_eq!(b.len(), w.ncols(), "dense_forward: bias length");
    assert_eq!(z.ncols(), w.ncols(), "dense_forward: output columns");
    // Broadcasting the bias first lets the product accumulate onto it in one pass.
    for (j, &bj) in b.iter().enumerate() {
        z.rb_mut().col_mut(j).fill(bj);
    }
    gemm(z, Accum::Add, a, w, T::ONE, par);
}

/// Kernel gradient of a dense layer: `dW = A^T D`, for the layer's input batch `A`
/// (`batch x fan_in`) and the gradient `D` at its pre-activation (`batch x units`).
///
/// # Panics
/// If the shapes do not agree.
#[track_caller]
pub fn weight_grad<T: Scalar>(dw: MatMut<'_, T>, a: MatRef<'_, T>, d: MatRef<'_, T>, par: Par) {
    gemm(dw, Accum::Replace, a.transpose(), d, T::ONE, par);
}

/// Bias gradient of a dense layer: the column sums of `D`.
///
/// # Panics
/// If `db` does not have one entry per column of `d`.
#[track_caller]
pub fn bias_grad<T: Scalar>(db: &mut [T], d: MatRef<'_, T>) {
    assert_eq!(db.len(), d.ncols(), "bias_grad: length");
    for (j, out) in db.iter_mut().enumerate() {
        let col = d.col(j);
        let mut sum = T::ZERO;
        for i in 0..col.nrows() {
            sum += col[i];
        }
        *out = sum;
    }
}

/// Gradient at a dense layer's input: `D_prev = D W^T`, for the gradient `D` at its
/// pre-activation (`batch x units`) and its kernel `W` (`fan_in x units`). The caller
/// multiplies by the previous layer's activation derivative.
///
/// # Panics
/// If the shapes do not agree.
#[track_caller]
pub fn input_grad<T: Scalar>(d_prev: MatMut<'_, T>, d: MatRef<'_, T>, w: MatRef<'_, T>, par: Par) {
    gemm(d_prev, Accum::Replace, d, w.transpose(), T::ONE, par);
}
