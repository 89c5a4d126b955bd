//! Elementwise loops compiled for the best instruction set the processor has.
//!
//! pulp detects the processor's features once and runs a [`WithSimd`] value's method
//! inside a function compiled for them (AVX2 and FMA on x86-64 where available). The
//! loops live in those methods rather than in closures handed to pulp, because the
//! compiler may keep such a closure out of line, compiled for the baseline target.
//! Rust never fuses a multiply and an add on its own, so every version of a loop does
//! the same arithmetic and produces the same bits.
//!
//! Every dispatch in the core (and in the recording statistics of `vanishing-train`)
//! goes through [`simd_arch`], which [`set_simd`] can pin to pulp's scalar path: the
//! code a WebAssembly build without vector instructions runs, so that a native test
//! can check that both compute the same bits.

use std::sync::atomic::{AtomicBool, Ordering};

use pulp::{Arch, Simd, WithSimd};

use crate::Scalar;

/// Which instruction sets the core's own loops may use (see [`set_simd`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SimdLevel {
    /// The widest the processor offers, detected at run time: AVX2 on x86-64 where
    /// the processor has it.
    #[default]
    Detected,
    /// pulp's scalar path only, compiled for the baseline target: what a WebAssembly
    /// build without vector instructions runs.
    Scalar,
}

/// Whether [`set_simd`] pinned the loops to the scalar path. It is one switch for the
/// whole process rather than one per thread, so that it also reaches the threads a
/// sweep trains on; since no result depends on it, flipping it while runs are in
/// flight changes only which code computes them.
static FORCE_SCALAR: AtomicBool = AtomicBool::new(false);

/// Chooses the instruction sets of the core's loops for the whole process, from now
/// on. The default, [`SimdLevel::Detected`], is the fastest; [`SimdLevel::Scalar`]
/// exists to show that the results do not depend on the choice. Matrix products that
/// go through faer (kernels above [`crate::kernels::SMALL_KERNEL`] weights) keep
/// faer's own dispatch.
pub fn set_simd(level: SimdLevel) {
    FORCE_SCALAR.store(level == SimdLevel::Scalar, Ordering::Relaxed);
}

/// The level [`set_simd`] last chose.
pub fn simd_level() -> SimdLevel {
    if FORCE_SCALAR.load(Ordering::Relaxed) {
        SimdLevel::Scalar
    } else {
        SimdLevel::Detected
    }
}

/// The pulp dispatcher every loop of the core runs under: the processor's best
/// instruction set, or the scalar path after `set_simd(SimdLevel::Scalar)`.
#[inline(always)]
pub fn simd_arch() -> Arch {
    if FORCE_SCALAR.load(Ordering::Relaxed) {
        Arch::Scalar
    } else {
        Arch::new()
    }
}

/// `a[i] = f(z[i])`.
#[inline(always)]
pub(crate) fn map<T: Scalar>(z: &[T], a: &mut [T], f: impl Fn(T) -> T) {
    struct Map<'a, T, F> {
        z: &'a [T],
        a: &'a mut [T],
        f: F,
    }
    impl<T: Scalar, F: Fn(T) -> T> WithSimd for Map<'_, T, F> {
        type Output = ();
        #[inline(always)]
        fn with_simd<S: Simd>(self, _: S) {
            for (a, &z) in self.a.iter_mut().zip(self.z) {
                *a = (self.f)(z);
            }
        }
    }
    simd_arch().dispatch(Map { z, a, f });
}

/// `d[i] = f(d[i], x[i])`.
#[inline(always)]
pub(crate) fn zip_map<T: Scalar>(d: &mut [T], x: &[T], f: impl Fn(T, T) -> T) {
    struct ZipMap<'a, T, F> {
        d: &'a mut [T],
        x: &'a [T],
        f: F,
    }
    impl<T: Scalar, F: Fn(T, T) -> T> WithSimd for ZipMap<'_, T, F> {
        type Output = ();
        #[inline(always)]
        fn with_simd<S: Simd>(self, _: S) {
            for (d, &x) in self.d.iter_mut().zip(self.x) {
                *d = (self.f)(*d, x);
            }
        }
    }
    simd_arch().dispatch(ZipMap { d, x, f });
}

/// The sum of `term(u[i], v[i])`, added in eight interleaved partial sums combined
/// pairwise: a fixed order (so a fixed result) that fits in vector registers.
#[inline(always)]
pub(crate) fn lane_sum<T: Scalar>(u: &[T], v: &[T], term: impl Fn(T, T) -> T) -> T {
    struct LaneSum<'a, T, F> {
        u: &'a [T],
        v: &'a [T],
        term: F,
    }
    impl<T: Scalar, F: Fn(T, T) -> T> WithSimd for LaneSum<'_, T, F> {
        type Output = T;
        #[inline(always)]
        fn with_simd<S: Simd>(self, _: S) -> T {
            lane_sum_inline(self.u, self.v, self.term)
        }
    }
    simd_arch().dispatch(LaneSum { u, v, term })
}

/// [`lane_sum`] without its own dispatch, for loops that already run inside one.
#[inline(always)]
pub(crate) fn lane_sum_inline<T: Scalar>(u: &[T], v: &[T], term: impl Fn(T, T) -> T) -> T {
    const LANES: usize = 8;
    let mut acc = [T::ZERO; LANES];
    let (uc, vc) = (u.chunks_exact(LANES), v.chunks_exact(LANES));
    let (ur, vr) = (uc.remainder(), vc.remainder());
    for (uc, vc) in uc.zip(vc) {
        for l in 0..LANES {
            acc[l] += term(uc[l], vc[l]);
        }
    }
    for (acc, (&u, &v)) in acc.iter_mut().zip(ur.iter().zip(vr)) {
        *acc += term(u, v);
    }
    ((acc[0] + acc[4]) + (acc[2] + acc[6])) + ((acc[1] + acc[5]) + (acc[3] + acc[7]))
}
