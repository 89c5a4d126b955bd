//! The WebAssembly module's interface: plain exported functions over its linear memory,
//! no generated glue (the page's worker is a few lines of JavaScript, kept in
//! `crates/report/src/lab/worker.js`).
//!
//! Protocol, one call at a time:
//! 1. `lab_input(len) -> ptr`: makes room for `len` bytes of UTF-8 experiment text and
//!    returns where the page writes them (the pointer is valid until the next call).
//! 2. `lab_plan() -> status` validates the text; `lab_run() -> status` validates and
//!    trains it. Status 0 means done; 1 means refused, and `lab_output_ptr()` /
//!    `lab_output_len()` then hold the error as a JSON object `{type: "error",
//!    message, line?, column?, key?}` (a successful `lab_plan` leaves the plan there,
//!    `{type: "plan", experiment, runs, configurations, estimated_seconds, run_ids}`).
//! 3. While `lab_run` trains, the module calls the page's `env.lab_emit(ptr, len)` with
//!    each message, a JSON object: first the plan; then `{type: "rows", run, run_id,
//!    history, metrics, recursion?}` at the end of every epoch of every run (the rows
//!    recorded since the previous message of that run; `recursion` once per plain run, Glorot
//!    & Bengio's prediction from its first record); then `{type: "run", run, runs,
//!    histograms, dataset, boundary}` for each run once all are done (runs side by side
//!    finish together). `env.lab_now()` lends the page's clock in milliseconds for
//!    `wall_ms`: the file's training time, streaming included, divided among its runs.
//! 4. A panic (a bug, never bad input) sends `{type: "panic", message}` before the
//!    module traps.
//!
//! Stopping is the page's business: it terminates the worker that runs the module.

// The only unsafe code of this crate: `no_mangle` makes these functions the module's
// exports and `unsafe extern` declares the page's imports. Both callees are declared
// `safe`: they only read the bytes they are given.
#![allow(unsafe_code)]
// The exports are `pub` for the module's sake, not for other crates.
#![allow(unreachable_pub)]

use std::cell::RefCell;

use crate::{Emit, plan, run};

#[link(wasm_import_module = "env")]
unsafe extern "C" {
    /// Receives one message: `len` bytes of UTF-8 JSON at `ptr`.
    safe fn lab_emit(ptr: *const u8, len: usize);
    /// The page's clock, in milliseconds.
    safe fn lab_now() -> f64;
}

thread_local! {
    static INPUT: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
    static OUTPUT: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// Makes room for `len` bytes of input and returns where they go.
#[unsafe(no_mangle)]
pub extern "C" fn lab_input(len: usize) -> *mut u8 {
    INPUT.with_borrow_mut(|input| {
        input.clear();
        input.resize(len, 0);
        input.as_mut_ptr()
    })
}

/// Where the last call's output is.
#[unsafe(no_mangle)]
pub extern "C" fn lab_output_ptr() -> *const u8 {
    OUTPUT.with_borrow(|output| output.as_ptr())
}

/// How long the last call's output is.
#[unsafe(no_mangle)]
pub extern "C" fn lab_output_len() -> usize {
    OUTPUT.with_borrow(Vec::len)
}

fn set_output(text: &str) {
    OUTPUT.with_borrow_mut(|output| {
        output.clear();
        output.extend_from_slice(text.as_bytes());
    });
}

fn input_text() -> String {
    INPUT.with_borrow(|input| String::from_utf8_lossy(input).into_owned())
}

/// Sends a panic's message to the page before the module traps.
fn report_panics() {
    std::panic::set_hook(Box::new(|info| {
        let mut out = String::from("{\"type\":\"panic\",\"message\":");
        crate::json::push_str(&mut out, &info.to_string());
        out.push('}');
        Page.emit(&out);
    }));
}

/// Validates the input; 0 with the plan in the output, or 1 with the error.
#[unsafe(no_mangle)]
pub extern "C" fn lab_plan() -> u32 {
    report_panics();
    match plan(&input_text()) {
        Ok(plan) => {
            set_output(&plan.to_json());
            0
        }
        Err(e) => {
            set_output(&e.to_json());
            1
        }
    }
}

struct Page;

impl Emit for Page {
    fn emit(&self, message: &str) {
        lab_emit(message.as_ptr(), message.len());
    }

    fn now_ms(&self) -> f64 {
        lab_now()
    }
}

/// Validates and trains the input, streaming messages; 0 when done, or 1 with the
/// error in the output.
#[unsafe(no_mangle)]
pub extern "C" fn lab_run() -> u32 {
    report_panics();
    set_output("");
    match run(&input_text(), &Page) {
        Ok(()) => 0,
        Err(e) => {
            set_output(&e.to_json());
            1
        }
    }
}
