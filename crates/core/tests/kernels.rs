//! The dense kernels against naive triple loops, on shapes that straddle faer's block
//! boundaries, with transposed (row-major) inputs, both accumulation modes, sequential
//! and parallel, in f32 and f64.

use std::num::NonZeroUsize;

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};
use vanishing_core::kernels::{bias_grad, dense_forward, gemm, input_grad, weight_grad};
use vanishing_core::{Accum, MatMut, MatRef, Par, Scalar};

const SIZES: [usize; 9] = [1, 2, 5, 15, 16, 17, 127, 128, 129];

/// A dense matrix in plain storage, viewable column-major or (transposed) row-major.
struct Dense<T> {
    rows: usize,
    cols: usize,
    data: Vec<T>,
    row_major: bool,
}

impl<T: Scalar> Dense<T> {
    fn random(rows: usize, cols: usize, row_major: bool, rng: &mut ChaCha8Rng) -> Self {
        let data = (0..rows * cols)
            .map(|_| {
                let v: f64 = StandardNormal.sample(rng);
                T::from_f64(v)
            })
            .collect();
        Self {
            rows,
            cols,
            data,
            row_major,
        }
    }

    fn get(&self, i: usize, j: usize) -> T {
        if self.row_major {
            self.data[i * self.cols + j]
        } else {
            self.data[i + j * self.rows]
        }
    }

    /// Row-major storage is viewed as the transpose of a column-major matrix, so the
    /// kernels see a non-unit row stride.
    fn view(&self) -> MatRef<'_, T> {
        if self.row_major {
            MatRef::from_column_major_slice(&self.data, self.cols, self.rows).transpose()
        } else {
            MatRef::from_column_major_slice(&self.data, self.rows, self.cols)
        }
    }
}

fn naive_product<T: Scalar>(
    a: impl Fn(usize, usize) -> T,
    b: impl Fn(usize, usize) -> T,
    m: usize,
    k: usize,
    n: usize,
) -> Vec<f64> {
    let mut out = vec![0.0; m * n];
    for j in 0..n {
        for i in 0..m {
            out[i + j * m] = (0..k).map(|p| a(i, p).to_f64() * b(p, j).to_f64()).sum();
        }
    }
    out
}

#[track_caller]
fn assert_close<T: Scalar>(got: &[T], expected: &[f64], k: usize, what: &str) {
    // Each entry is a sum of k products of standard normals; the rounding error of the
    // sum grows like sqrt(k) times the unit roundoff of T.
    let unit = if size_of::<T>() == 4 { 6e-8 } else { 1.2e-16 };
    let tol = 16.0 * unit * (k as f64).sqrt().max(1.0) * 4.0;
    for (idx, (g, e)) in got.iter().zip(expected).enumerate() {
        let err = (g.to_f64() - e).abs() / e.abs().max(1.0);
        assert!(
            err <= tol,
            "{what}: entry {idx}: {} vs {e} (error {err:e}, tolerance {tol:e})",
            g.to_f64()
        );
    }
}

fn pars() -> [Par; 2] {
    [Par::Seq, Par::Rayon(NonZeroUsize::new(2).unwrap())]
}

fn check_gemm<T: Scalar>() {
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    for &m in &SIZES {
        for &k in &[1, 5, 16, 17, 129] {
            for &n in &[1, 2, 15, 128] {
                for (lhs_t, rhs_t) in [(false, false), (true, false), (false, true), (true, true)] {
                    let a = Dense::<T>::random(m, k, lhs_t, &mut rng);
                    let b = Dense::<T>::random(k, n, rhs_t, &mut rng);
                    let start = Dense::<T>::random(m, n, false, &mut rng);
                    let product = naive_product(|i, p| a.get(i, p), |p, j| b.get(p, j), m, k, n);
                    for par in pars() {
                        for accum in [Accum::Replace, Accum::Add] {
                            let mut dst = start.data.clone();
                            let alpha = T::from_f64(0.5);
                            gemm(
                                MatMut::from_column_major_slice_mut(&mut dst, m, n),
                                accum,
                                a.view(),
                                b.view(),
                                alpha,
                                par,
                            );
                            let expected: Vec<f64> = product
                                .iter()
                                .zip(&start.data)
                                .map(|(p, s)| {
                                    0.5 * p + if accum == Accum::Add { s.to_f64() } else { 0.0 }
                                })
                                .collect();
                            assert_close(
                                &dst,
                                &expected,
                                k,
                                &format!("gemm {m}x{k}x{n} t=({lhs_t},{rhs_t}) {accum:?} {par:?}"),
                            );
                        }
                    }
                }
            }
        }
    }
}

#[test]
fn gemm_matches_naive_f64() {
    check_gemm::<f64>();
}

#[test]
fn gemm_matches_naive_f32() {
    check_gemm::<f32>();
}

/// The three dense-layer products and the bias sum against their definitions.
fn check_dense<T: Scalar>() {
    let mut rng = ChaCha8Rng::seed_from_u64(2);
    for &batch in &SIZES {
        for &fan_in in &[1, 2, 5, 17, 128] {
            for &units in &[1, 5, 16, 129] {
                for transposed in [false, true] {
                    let a = Dense::<T>::random(batch, fan_in, transposed, &mut rng);
                    let w = Dense::<T>::random(fan_in, units, transposed, &mut rng);
                    let d = Dense::<T>::random(batch, units, transposed, &mut rng);
                    let b = Dense::<T>::random(units, 1, false, &mut rng).data;
                    for par in pars() {
                        let label = format!(
                            "batch {batch} fan_in {fan_in} units {units} transposed {transposed} {par:?}"
                        );

                        // Z = A W + b, over a buffer that starts dirty.
                        let mut z = vec![T::from_f64(7.0); batch * units];
                        dense_forward(
                            MatMut::from_column_major_slice_mut(&mut z, batch, units),
                            a.view(),
                            w.view(),
                            &b,
                            par,
                        );
                        let mut expected = naive_product(
                            |i, p| a.get(i, p),
                            |p, j| w.get(p, j),
                            batch,
                            fan_in,
                            units,
                        );
                        for j in 0..units {
                            for i in 0..batch {
                                expected[i + j * batch] += b[j].to_f64();
                            }
                        }
                        assert_close(&z, &expected, fan_in + 1, &format!("forward {label}"));

                        // dW = A^T D.
                        let mut dw = vec![T::from_f64(7.0); fan_in * units];
                        weight_grad(
                            MatMut::from_column_major_slice_mut(&mut dw, fan_in, units),
                            a.view(),
                            d.view(),
                            par,
                        );
                        let expected = naive_product(
                            |i, p| a.get(p, i),
                            |p, j| d.get(p, j),
                            fan_in,
                            batch,
                            units,
                        );
                        assert_close(&dw, &expected, batch, &format!("weight_grad {label}"));

                        // D_prev = D W^T.
                        let mut dp = vec![T::from_f64(7.0); batch * fan_in];
                        input_grad(
                            MatMut::from_column_major_slice_mut(&mut dp, batch, fan_in),
                            d.view(),
                            w.view(),
                            par,
                        );
                        let expected = naive_product(
                            |i, p| d.get(i, p),
                            |p, j| w.get(j, p),
                            batch,
                            units,
                            fan_in,
                        );
                        assert_close(&dp, &expected, units, &format!("input_grad {label}"));
                    }

                    // db = column sums of D.
                    let mut db = vec![T::from_f64(7.0); units];
                    bias_grad(&mut db, d.view());
                    let expected: Vec<f64> = (0..units)
                        .map(|j| (0..batch).map(|i| d.get(i, j).to_f64()).sum())
                        .collect();
                    assert_close(&db, &expected, batch, "bias_grad");
                }
            }
        }
    }
}

#[test]
fn dense_kernels_match_naive_f64() {
    check_dense::<f64>();
}

#[test]
fn dense_kernels_match_naive_f32() {
    check_dense::<f32>();
}

#[test]
#[should_panic(expected = "gemm")]
fn mismatched_shapes_panic() {
    let a = [1.0_f64; 6];
    let b = [1.0_f64; 6];
    let mut c = [0.0_f64; 4];
    gemm(
        MatMut::from_column_major_slice_mut(&mut c, 2, 2),
        Accum::Replace,
        MatRef::from_column_major_slice(&a, 2, 3),
        MatRef::from_column_major_slice(&b, 2, 3),
        1.0,
        Par::Seq,
    );
}
