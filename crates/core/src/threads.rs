//! The core's threads, in one place: rayon's pool on targets that have threads, and
//! the calling thread alone on WebAssembly, where rayon cannot start any and faer is
//! built without rayon (so that `Par` has no `Rayon` variant there).

use faer::Par;
#[cfg(not(target_arch = "wasm32"))]
use rayon::prelude::*;

/// The threads `par` offers: one for `Par::Seq`, and always one on WebAssembly.
pub(crate) fn count(par: Par) -> usize {
    match par {
        #[cfg(not(target_arch = "wasm32"))]
        Par::Rayon(threads) => threads.get(),
        _ => 1,
    }
}

/// Runs `a` and `b`, on two threads where the target has threads (`rayon::join`,
/// which allocates nothing).
pub(crate) fn join(a: impl FnOnce() + Send, b: impl FnOnce() + Send) {
    #[cfg(not(target_arch = "wasm32"))]
    rayon::join(a, b);
    #[cfg(target_arch = "wasm32")]
    {
        a();
        b();
    }
}

/// `f` on matching chunks of `chunk` values of `out`, `x` and `y` (all of one length),
/// on the threads of rayon's pool where the target has threads.
pub(crate) fn for_chunks<T: Send + Sync>(
    out: &mut [T],
    x: &[T],
    y: &[T],
    chunk: usize,
    f: impl Fn(&mut [T], &[T], &[T]) + Send + Sync,
) {
    #[cfg(not(target_arch = "wasm32"))]
    out.par_chunks_mut(chunk)
        .zip(x.par_chunks(chunk).zip(y.par_chunks(chunk)))
        .for_each(|(out, (x, y))| f(out, x, y));
    #[cfg(target_arch = "wasm32")]
    for (out, (x, y)) in out
        .chunks_mut(chunk)
        .zip(x.chunks(chunk).zip(y.chunks(chunk)))
    {
        f(out, x, y);
    }
}
