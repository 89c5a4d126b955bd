//! Dense-layer kernels over faer views.
//!
//! Every kernel writes into an output the caller provides and takes any strides, so a
//! transposed view costs nothing. Shapes that do not fit are programmer errors and
//! panic at the caller's location.
//!
//! Products go through faer, except where a layer's kernel is small (at most
//! [`SMALL_KERNEL`] weights) and the operands read along the batch are stored column
//! by column: there faer's per-call setup costs more than the arithmetic, and the dense
//! kernels run the register-blocked loops of [`loops`] instead (the `kernels` benchmark
//! measures both). The loops add in a fixed order, so their results depend neither on
//! the processor's vector width nor on the thread count, and they are the same bits on
//! every platform. faer's products are not: faer dispatches on its own (pulp's switch,
//! [`crate::set_simd`], does not reach it) and uses fused multiply-adds where the
//! processor has them, so a network with a kernel above [`SMALL_KERNEL`] weights
//! computes bits that depend on the processor; [`faer_products`] tells whether a run
//! used faer at all.

use std::cell::Cell;

use faer::linalg::matmul::matmul;
use faer::reborrow::ReborrowMut;
use faer::{Accum, MatMut, MatRef, Par};

use crate::Scalar;

/// Largest kernel (`fan_in x units` weights) for which the dense kernels use
/// [`loops`] rather than faer. On the project's machine the `kernels` benchmark has the
/// loops 1.8x faster than faer for a 5 x 5 kernel at 32 rows and 1.6x at 1,000 rows,
/// about even at 8 x 8 (1.05x), and slower at 16 x 16. The threshold takes in 8 x 8,
/// where speed does not decide, because the loops give the same bits on every
/// instruction set and faer's products do not: networks of up to eight units a layer
/// (the remedies' sweep, the lab's presets) then train in the report's page to the
/// command line's last bit, and side by side in lanes.
pub const SMALL_KERNEL: usize = 64;

/// Whether a product with a `kernel_rows x kernel_cols` kernel goes through [`loops`]:
/// the kernel is small and the operands read along the batch are column-major.
fn use_loops<T>(kernel_rows: usize, kernel_cols: usize, batch_operands: &[MatRef<'_, T>]) -> bool {
    kernel_rows * kernel_cols <= SMALL_KERNEL && batch_operands.iter().all(|m| m.row_stride() == 1)
}

thread_local! {
    /// Products this thread has handed to faer (see [`faer_products`]).
    static FAER_PRODUCTS: Cell<u64> = const { Cell::new(0) };
}

/// How many matrix products the calling thread has handed to faer so far.
///
/// faer chooses its own instruction set, and its products use fused multiply-adds
/// where the processor has them, so only a network whose every product runs on
/// [`loops`] computes the same bits on every processor and platform. Tests read this
/// count around a run to check that it never left the loops. It is counted per
/// thread, so that runs on other threads do not disturb it; a run computes on one.
pub fn faer_products() -> u64 {
    FAER_PRODUCTS.with(Cell::get)
}

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
    FAER_PRODUCTS.with(|n| n.set(n.get() + 1));
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
    if z.row_stride() == 1 && use_loops(w.nrows(), w.ncols(), &[a]) {
        loops::dense_forward(z, a, w, b);
        return;
    }
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
    if use_loops(dw.nrows(), dw.ncols(), &[a, d]) {
        loops::weight_grad(dw, a, d);
        return;
    }
    gemm(dw, Accum::Replace, a.transpose(), d, T::ONE, par);
}

/// Bias gradient of a dense layer: the column sums of `D`.
///
/// # Panics
/// If `db` does not have one entry per column of `d`.
#[track_caller]
pub fn bias_grad<T: Scalar>(db: &mut [T], d: MatRef<'_, T>) {
    assert_eq!(db.len(), d.ncols(), "bias_grad: length");
    if let Some(d) = d.try_as_col_major() {
        /// Every column's sum in eight interleaved partial sums (rather than one chain
        /// of dependent additions), under one dispatch.
        struct ColumnSums<'a, T> {
            db: &'a mut [T],
            d: MatRef<'a, T, usize, usize, faer::ContiguousFwd>,
        }
        impl<T: Scalar> pulp::WithSimd for ColumnSums<'_, T> {
            type Output = ();
            #[inline(always)]
            fn with_simd<S: pulp::Simd>(self, _: S) {
                for (j, out) in self.db.iter_mut().enumerate() {
                    let col = self.d.col(j).as_slice();
                    *out = crate::simd::lane_sum_inline(col, col, |v, _| v);
                }
            }
        }
        crate::simd::simd_arch().dispatch(ColumnSums { db, d });
        return;
    }
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
    if d_prev.row_stride() == 1 && use_loops(w.nrows(), w.ncols(), &[d]) {
        loops::input_grad(d_prev, d, w);
        return;
    }
    gemm(d_prev, Accum::Replace, d, w.transpose(), T::ONE, par);
}

/// Register-blocked loop forms of the dense kernels, which [`dense_forward`],
/// [`weight_grad`] and [`input_grad`] use for kernels of at most [`SMALL_KERNEL`]
/// weights. They are public so that tests and benchmarks can hold them against faer
/// at any shape.
///
/// The batch runs in blocks of [`loops::ROWS`] rows whose partial sums stay in one
/// vector register each; every operand read along the batch must be stored column by
/// column (unit row stride). Each output is a sum in a fixed order, so a block and the
/// scalar tail compute the same values, and the code is compiled for AVX2 where the
/// processor has it (detected at run time) without changing any result.
pub mod loops {
    use faer::reborrow::{Reborrow, ReborrowMut};
    use faer::{MatMut, MatRef};
    use pulp::{Simd, WithSimd};

    use crate::Scalar;
    use crate::simd::simd_arch;

    /// Rows per block: one AVX2 register of `f32`.
    pub const ROWS: usize = 8;

    /// `out[i] = start + sum_p col(p)[i] * coef(p)` for every row `i`, added in the
    /// order of `p`.
    #[inline(always)]
    fn combine<'a, T: Scalar>(
        out: &mut [T],
        start: T,
        terms: usize,
        col: impl Fn(usize) -> &'a [T],
        coef: impl Fn(usize) -> T,
    ) {
        let rows = out.len();
        let full = rows / ROWS * ROWS;
        let mut i = 0;
        while i < full {
            let mut acc = [start; ROWS];
            for p in 0..terms {
                let x: &[T; ROWS] = col(p)[i..i + ROWS]
                    .try_into()
                    .unwrap_or_else(|_| unreachable!());
                let c = coef(p);
                for r in 0..ROWS {
                    acc[r] += x[r] * c;
                }
            }
            out[i..i + ROWS].copy_from_slice(&acc);
            i += ROWS;
        }
        for (i, o) in out.iter_mut().enumerate().skip(full) {
            let mut acc = start;
            for p in 0..terms {
                acc += col(p)[i] * coef(p);
            }
            *o = acc;
        }
    }

    /// Runs `$body` with the constant `$k` equal to `$n` when `$n` is 1 to 8, so that
    /// the loops over that many terms unroll and their operands stay in registers.
    macro_rules! with_terms {
        ($n:expr, $k:ident => $body:expr) => {
            with_terms!(@arms $n, $k, $body, 1 2 3 4 5 6 7 8)
        };
        (@arms $n:expr, $k:ident, $body:expr, $($count:literal)*) => {
            match $n {
                $($count => {
                    const $k: usize = $count;
                    $body
                })*
                _ => {}
            }
        };
    }

    /// [`combine`] for a number of terms known when compiling, with the columns and
    /// coefficients gathered beforehand. The additions happen in the same order, so the
    /// results are the same.
    #[inline(always)]
    fn combine_fixed<T: Scalar, const K: usize>(
        out: &mut [T],
        start: T,
        cols: &[&[T]; K],
        coef: &[T; K],
    ) {
        let rows = out.len();
        let full = rows / ROWS * ROWS;
        let mut i = 0;
        while i < full {
            let mut acc = [start; ROWS];
            for p in 0..K {
                let x: &[T; ROWS] = cols[p][i..i + ROWS]
                    .try_into()
                    .unwrap_or_else(|_| unreachable!());
                for r in 0..ROWS {
                    acc[r] += x[r] * coef[p];
                }
            }
            out[i..i + ROWS].copy_from_slice(&acc);
            i += ROWS;
        }
        for (i, o) in out.iter_mut().enumerate().skip(full) {
            let mut acc = start;
            for p in 0..K {
                acc += cols[p][i] * coef[p];
            }
            *o = acc;
        }
    }

    /// The contiguous column `j` of a column-major view.
    #[inline(always)]
    fn column<T>(m: MatRef<'_, T>, j: usize) -> &[T] {
        m.col(j)
            .try_as_col_major()
            .unwrap_or_else(|| unreachable!())
            .as_slice()
    }

    /// The forward kernel for a fan-in of `K`.
    #[inline(always)]
    fn forward_fixed<T: Scalar, const K: usize>(
        mut z: MatMut<'_, T>,
        a: MatRef<'_, T>,
        w: MatRef<'_, T>,
        b: &[T],
    ) {
        let cols: [&[T]; K] = std::array::from_fn(|p| column(a, p));
        for (j, &bj) in b.iter().enumerate() {
            let coef: [T; K] = std::array::from_fn(|p| w[(p, j)]);
            let out = z.rb_mut().col_mut(j).try_as_col_major_mut();
            let out = out.unwrap_or_else(|| unreachable!()).as_slice_mut();
            combine_fixed(out, bj, &cols, &coef);
        }
    }

    /// The input-gradient kernel for `K` units.
    #[inline(always)]
    fn input_grad_fixed<T: Scalar, const K: usize>(
        mut d_prev: MatMut<'_, T>,
        d: MatRef<'_, T>,
        w: MatRef<'_, T>,
    ) {
        let cols: [&[T]; K] = std::array::from_fn(|j| column(d, j));
        for p in 0..d_prev.ncols() {
            let coef: [T; K] = std::array::from_fn(|j| w[(p, j)]);
            let out = d_prev.rb_mut().col_mut(p).try_as_col_major_mut();
            let out = out.unwrap_or_else(|| unreachable!()).as_slice_mut();
            combine_fixed(out, T::ZERO, &cols, &coef);
        }
    }

    /// The dot product of two columns: [`ROWS`] interleaved partial sums, combined
    /// pairwise.
    #[inline(always)]
    fn dot<T: Scalar>(x: &[T], y: &[T]) -> T {
        let mut acc = [T::ZERO; ROWS];
        let (xc, yc) = (x.chunks_exact(ROWS), y.chunks_exact(ROWS));
        let (xr, yr) = (xc.remainder(), yc.remainder());
        for (xc, yc) in xc.zip(yc) {
            for r in 0..ROWS {
                acc[r] += xc[r] * yc[r];
            }
        }
        for (acc, (&x, &y)) in acc.iter_mut().zip(xr.iter().zip(yr)) {
            *acc += x * y;
        }
        ((acc[0] + acc[4]) + (acc[2] + acc[6])) + ((acc[1] + acc[5]) + (acc[3] + acc[7]))
    }

    /// Checks that `m` is column-major, naming it in the panic otherwise.
    #[track_caller]
    fn column_major<T>(m: MatRef<'_, T>, what: &str) {
        assert!(
            m.row_stride() == 1,
            "loops: {what} must be stored column by column"
        );
    }

    /// The three kernels' arguments. Each runs through [`WithSimd`], whose method pulp
    /// compiles for the best instruction set the processor has (AVX2 where available,
    /// detected at run time); a closure would be kept out of line, in baseline code.
    enum Kernel<'a, T> {
        Forward {
            z: MatMut<'a, T>,
            a: MatRef<'a, T>,
            w: MatRef<'a, T>,
            b: &'a [T],
        },
        WeightGrad {
            dw: MatMut<'a, T>,
            a: MatRef<'a, T>,
            d: MatRef<'a, T>,
        },
        InputGrad {
            d_prev: MatMut<'a, T>,
            d: MatRef<'a, T>,
            w: MatRef<'a, T>,
        },
    }

    impl<T: Scalar> WithSimd for Kernel<'_, T> {
        type Output = ();

        #[inline(always)]
        fn with_simd<S: Simd>(self, _: S) {
            match self {
                Self::Forward { mut z, a, w, b } => {
                    let fan_in = a.ncols();
                    with_terms!(fan_in, K => return forward_fixed::<T, K>(z, a, w, b));
                    for (j, &bj) in b.iter().enumerate() {
                        let out = z.rb_mut().col_mut(j).try_as_col_major_mut();
                        let out = out.unwrap_or_else(|| unreachable!()).as_slice_mut();
                        combine(
                            out,
                            bj,
                            fan_in,
                            |p| {
                                a.col(p)
                                    .try_as_col_major()
                                    .unwrap_or_else(|| unreachable!())
                                    .as_slice()
                            },
                            |p| w[(p, j)],
                        );
                    }
                }
                Self::WeightGrad { mut dw, a, d } => {
                    for j in 0..dw.ncols() {
                        let dj = d
                            .col(j)
                            .try_as_col_major()
                            .unwrap_or_else(|| unreachable!());
                        for p in 0..dw.nrows() {
                            let ap = a
                                .col(p)
                                .try_as_col_major()
                                .unwrap_or_else(|| unreachable!());
                            dw[(p, j)] = dot(ap.as_slice(), dj.as_slice());
                        }
                    }
                }
                Self::InputGrad { mut d_prev, d, w } => {
                    let units = w.ncols();
                    with_terms!(units, K => return input_grad_fixed::<T, K>(d_prev, d, w));
                    // Column p of the result sums D's columns weighted by row p of W.
                    for p in 0..d_prev.ncols() {
                        let out = d_prev.rb_mut().col_mut(p).try_as_col_major_mut();
                        let out = out.unwrap_or_else(|| unreachable!()).as_slice_mut();
                        combine(
                            out,
                            T::ZERO,
                            units,
                            |j| {
                                d.col(j)
                                    .try_as_col_major()
                                    .unwrap_or_else(|| unreachable!())
                                    .as_slice()
                            },
                            |j| w[(p, j)],
                        );
                    }
                }
            }
        }
    }

    /// [`super::dense_forward`] as loops: `Z = A W + 1 b^T`.
    ///
    /// # Panics
    /// If the shapes do not agree or `z` or `a` is not column-major.
    #[track_caller]
    pub fn dense_forward<T: Scalar>(z: MatMut<'_, T>, a: MatRef<'_, T>, w: MatRef<'_, T>, b: &[T]) {
        assert!(
            z.nrows() == a.nrows()
                && a.ncols() == w.nrows()
                && z.ncols() == w.ncols()
                && b.len() == w.ncols(),
            "loops::dense_forward: shapes"
        );
        column_major(z.rb(), "z");
        column_major(a, "a");
        simd_arch().dispatch(Kernel::Forward { z, a, w, b });
    }

    /// [`super::weight_grad`] as loops: `dW = A^T D`, each entry one dot product of two
    /// columns.
    ///
    /// # Panics
    /// If the shapes do not agree or `a` or `d` is not column-major.
    #[track_caller]
    pub fn weight_grad<T: Scalar>(dw: MatMut<'_, T>, a: MatRef<'_, T>, d: MatRef<'_, T>) {
        assert!(
            dw.nrows() == a.ncols() && dw.ncols() == d.ncols() && a.nrows() == d.nrows(),
            "loops::weight_grad: shapes"
        );
        column_major(a, "a");
        column_major(d, "d");
        simd_arch().dispatch(Kernel::WeightGrad { dw, a, d });
    }

    /// [`super::input_grad`] as loops: `D_prev = D W^T`.
    ///
    /// # Panics
    /// If the shapes do not agree or `d_prev` or `d` is not column-major.
    #[track_caller]
    pub fn input_grad<T: Scalar>(d_prev: MatMut<'_, T>, d: MatRef<'_, T>, w: MatRef<'_, T>) {
        assert!(
            d_prev.nrows() == d.nrows() && d_prev.ncols() == w.nrows() && d.ncols() == w.ncols(),
            "loops::input_grad: shapes"
        );
        column_major(d_prev.rb(), "d_prev");
        column_major(d, "d");
        simd_arch().dispatch(Kernel::InputGrad { d_prev, d, w });
    }
}
