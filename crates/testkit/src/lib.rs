//! Test support shared by the workspace's crates; used only as a dev-dependency.
//!
//! The principal type is [`CountingAllocator`], a global allocator that forwards to the
//! system allocator and counts the allocations each thread makes. A test binary installs
//! it with `#[global_allocator]` and reads [`allocations`] before and after the code
//! under test, which is how the "a training step allocates nothing" promise is checked.
//!
//! The module [`browser`] drives headless Chromium over the Chrome DevTools Protocol
//! (a WebSocket to a browser on the loopback interface), so that end-to-end tests can
//! load the report, click, type, resize, evaluate scripts and collect the page's errors
//! as a person using it would meet them.

pub mod browser;

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

/// Counts allocations per thread and forwards everything to [`System`].
///
/// Counting per thread keeps the test harness's other threads out of the count.
#[derive(Debug, Clone, Copy, Default)]
pub struct CountingAllocator;

thread_local! {
    static ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
}

fn count() {
    // `try_with` because the allocator also serves threads whose thread-local storage
    // is being torn down.
    let _ = ALLOCATIONS.try_with(|c| c.set(c.get() + 1));
}

// SAFETY: every call is forwarded unchanged to the system allocator.
#[allow(unsafe_code)] // A global allocator cannot be written without it.
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count();
        // SAFETY: forwarded with the caller's guarantees.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        count();
        // SAFETY: forwarded with the caller's guarantees.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count();
        // SAFETY: forwarded with the caller's guarantees.
        unsafe { System.realloc(ptr, layout, new_size) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded with the caller's guarantees.
        unsafe { System.dealloc(ptr, layout) }
    }
}

/// Allocations (including reallocations) made so far by the current thread, if a
/// [`CountingAllocator`] is the global allocator; always 0 otherwise.
pub fn allocations() -> u64 {
    ALLOCATIONS.with(Cell::get)
}
