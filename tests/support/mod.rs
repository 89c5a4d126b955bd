//! Helpers shared by the end-to-end tests: running the binary and checking that it
//! succeeded.
#![allow(dead_code)] // Each test file uses its own subset.

use std::process::{Command, Output};

/// Runs the `vanishing` binary with `args`, capturing its output.
pub(crate) fn vanishing(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_vanishing"))
        .args(args)
        .output()
        .expect("the vanishing binary runs")
}

/// Fails with the command's output unless it exited 0.
#[track_caller]
pub(crate) fn assert_success(output: &Output) {
    assert!(
        output.status.success(),
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        output.status.code(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}
