//! The products of wide layers in fixed blocks, spread across threads.
//!
//! A layer whose kernel has at least [`BLOCKED_KERNEL`] weights runs its products as
//! faer products over blocks of [`BLOCK`] kernel columns (the forward product) or
//! kernel rows (the backward products), each on one thread (`Par::Seq`). The blocks
//! depend only on the layer's shape; a parallel `Par` only hands halves of them to
//! other threads (`rayon::join`), so a result never depends on the thread count.
//!
//! The input gradient's blocks are rows of the kernel `W` (`fan_in x units`): a block
//! of rows `r` gives the rows `r` of its transpose, `W[r, :] D^T` (each a whole sum over
//! the units, so the blocks need no partial sums). The kernel gradient `A^T D` is
//! computed in blocks of its columns, or, in a training step
//! ([`crate::Workspace::train_step`]), in the same blocks of rows as the input gradient:
//! there each block of the kernel's rows is read for the input gradient, and its
//! gradient computed into a scratch buffer and applied right after, while both are
//! still in the core's cache. A batch of 10 makes these products about as fast as
//! reading the kernel, so one pass over it instead of three (product, gradient, update)
//! is what lets a step cost little more than its products. Every element of the
//! kernel gradient is one sum over the batch whatever the blocks, so both ways give
//! the same bits (a test checks it).

use faer::reborrow::{Reborrow, ReborrowMut};
use faer::{Accum, MatMut, MatRef, Par};

use crate::kernels::{self, gemm};
use crate::optim::KernelSlots;
use crate::{Optimizer, Scalar, threads};

/// Kernels of at least this many weights run in blocks.
pub(crate) const BLOCKED_KERNEL: usize = 1 << 16;

/// Kernel columns (forward) or rows (backward) per block: a block of a 1,000-unit
/// layer's kernel and its gradient (512 KB each in `f32`) stay in a core's cache
/// between the product that reads it and the update that writes it.
pub(crate) const BLOCK: usize = 32;

/// Whether a `fan_in x units` kernel runs in blocks.
pub(crate) fn is_blocked(fan_in: usize, units: usize) -> bool {
    fan_in * units >= BLOCKED_KERNEL
}

/// Where a block of rows splits a range of `n` rows or columns into halves of whole
/// blocks.
fn middle(n: usize) -> usize {
    n.div_ceil(BLOCK) / 2 * BLOCK
}

/// `Z = A W + 1 b^T` in blocks of [`BLOCK`] units, on up to `threads` threads.
pub(crate) fn dense_forward<T: Scalar>(
    mut z: MatMut<'_, T>,
    a: MatRef<'_, T>,
    w: MatRef<'_, T>,
    b: &[T],
    threads: usize,
) {
    let n = z.ncols();
    if threads > 1 && n > BLOCK {
        let mid = middle(n);
        let (z0, z1) = z.split_at_col_mut(mid);
        let (w0, w1) = w.split_at_col(mid);
        let (b0, b1) = b.split_at(mid);
        let half = threads / 2;
        threads::join(
            || dense_forward(z0, a, w0, b0, half),
            || dense_forward(z1, a, w1, b1, threads - half),
        );
        return;
    }
    for start in (0..n).step_by(BLOCK) {
        let len = BLOCK.min(n - start);
        kernels::dense_forward(
            z.rb_mut().subcols_mut(start, len),
            a,
            w.subcols(start, len),
            &b[start..start + len],
            Par::Seq,
        );
    }
}

/// `dW = A^T D` in blocks of [`BLOCK`] units (contiguous columns of `dW`), on up to
/// `threads` threads.
pub(crate) fn weight_grad<T: Scalar>(
    mut dw: MatMut<'_, T>,
    a: MatRef<'_, T>,
    d: MatRef<'_, T>,
    threads: usize,
) {
    let n = dw.ncols();
    if threads > 1 && n > BLOCK {
        let mid = middle(n);
        let (g0, g1) = dw.split_at_col_mut(mid);
        let (d0, d1) = d.split_at_col(mid);
        let half = threads / 2;
        threads::join(
            || weight_grad(g0, a, d0, half),
            || weight_grad(g1, a, d1, threads - half),
        );
        return;
    }
    for start in (0..n).step_by(BLOCK) {
        let len = BLOCK.min(n - start);
        gemm(
            dw.rb_mut().subcols_mut(start, len),
            Accum::Replace,
            a.transpose(),
            d.subcols(start, len),
            T::ONE,
            Par::Seq,
        );
    }
}

/// A layer's kernel, as the backward pass reads it or as a training step updates it.
pub(crate) enum Kernel<'a, T> {
    /// Read only (a backward pass, which writes the kernel gradient apart, with
    /// [`weight_grad`]).
    Read(MatRef<'a, T>),
    /// Read for the input gradient, then updated by the optimizer from its gradient,
    /// which each block computes into a scratch buffer (a training step).
    Update {
        /// The kernel.
        w: MatMut<'a, T>,
        /// Its optimizer slots.
        slots: KernelSlots<'a, T>,
        /// The optimizer.
        optimizer: &'a Optimizer,
        /// The step's iteration count (from `Optimizer::begin_step`).
        iterations: u64,
        /// One buffer of at least `BLOCK x units` values per thread that may run
        /// blocks, for a block's gradient until its update.
        scratch: &'a mut [Vec<T>],
    },
}

/// One layer's backward products over a range of kernel rows.
pub(crate) struct Backward<'a, T> {
    /// The layer's input `A` (`batch x rows`).
    pub(crate) a: MatRef<'a, T>,
    /// The gradient at the layer's product `D` (`batch x units`).
    pub(crate) d: MatRef<'a, T>,
    /// The kernel's rows.
    pub(crate) kernel: Kernel<'a, T>,
    /// The input gradient's transpose `W D^T` (`rows x batch`, column-major: faer
    /// writes it twice as fast as `D W^T` in the layer's `batch x rows` layout), if the
    /// layer has a layer below.
    pub(crate) dx_t: Option<MatMut<'a, T>>,
}

impl<'a, T: Scalar> Backward<'a, T> {
    /// The first `row` kernel rows and the rest; scratch buffers are shared out
    /// between the halves.
    fn split(self, row: usize) -> (Self, Self) {
        let (a0, a1) = self.a.split_at_col(row);
        let (k0, k1) = match self.kernel {
            Kernel::Read(w) => {
                let (w0, w1) = w.split_at_row(row);
                (Kernel::Read(w0), Kernel::Read(w1))
            }
            Kernel::Update {
                w,
                slots,
                optimizer,
                iterations,
                scratch,
            } => {
                let (w0, w1) = w.split_at_row_mut(row);
                let (s0, s1) = slots.split_at_row(row);
                let (b0, b1) = scratch.split_at_mut(scratch.len() / 2);
                (
                    Kernel::Update {
                        w: w0,
                        slots: s0,
                        optimizer,
                        iterations,
                        scratch: b0,
                    },
                    Kernel::Update {
                        w: w1,
                        slots: s1,
                        optimizer,
                        iterations,
                        scratch: b1,
                    },
                )
            }
        };
        let (dx0, dx1) = match self.dx_t {
            Some(dx) => {
                let (top, bottom) = dx.split_at_row_mut(row);
                (Some(top), Some(bottom))
            }
            None => (None, None),
        };
        (
            Self {
                a: a0,
                d: self.d,
                kernel: k0,
                dx_t: dx0,
            },
            Self {
                a: a1,
                d: self.d,
                kernel: k1,
                dx_t: dx1,
            },
        )
    }

    /// Runs the blocks of these rows on up to `threads` threads (at most one per
    /// scratch buffer).
    pub(crate) fn run(self, threads: usize) {
        let rows = self.a.ncols();
        let threads = match &self.kernel {
            Kernel::Read(_) => threads,
            Kernel::Update { scratch, .. } => threads.min(scratch.len()),
        };
        if threads > 1 && rows > BLOCK {
            let (top, bottom) = self.split(middle(rows));
            let half = threads / 2;
            threads::join(|| top.run(half), || bottom.run(threads - half));
            return;
        }
        self.run_blocks();
    }

    /// Every block of these rows, in order, on the calling thread.
    fn run_blocks(mut self) {
        let rows = self.a.ncols();
        let units = self.d.ncols();
        for start in (0..rows).step_by(BLOCK) {
            let len = BLOCK.min(rows - start);
            let w = match &self.kernel {
                Kernel::Read(w) => w.subrows(start, len),
                Kernel::Update { w, .. } => w.rb().subrows(start, len),
            };
            if let Some(dx) = &mut self.dx_t {
                gemm(
                    dx.rb_mut().subrows_mut(start, len),
                    Accum::Replace,
                    w,
                    self.d.transpose(),
                    T::ONE,
                    Par::Seq,
                );
            }
            if let Kernel::Update {
                w,
                slots,
                optimizer,
                iterations,
                scratch,
            } = &mut self.kernel
            {
                let mut g =
                    MatMut::from_column_major_slice_mut(&mut scratch[0][..len * units], len, units);
                gemm(
                    g.rb_mut(),
                    Accum::Replace,
                    self.a.subcols(start, len).transpose(),
                    self.d,
                    T::ONE,
                    Par::Seq,
                );
                optimizer.update_block(
                    *iterations,
                    w.rb_mut().subrows_mut(start, len),
                    g.rb(),
                    slots.subrows(start, len),
                );
            }
        }
    }
}
