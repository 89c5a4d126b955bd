//! What parsing an experiment file leaves to its caller: reading the file from disk, and
//! measuring the memory this machine can give a run.

use std::fs;
use std::path::Path;

use vanishing_config::{ConfigError, Experiment, Limits, parse};

/// Reads, validates and expands one experiment file, refusing runs that would not fit
/// in `limits`.
///
/// # Errors
/// A [`ConfigError`] naming the file: one that cannot be read, or what
/// [`vanishing_config::parse`] refuses in its text.
pub(crate) fn load(file: &Path, limits: Limits) -> Result<Experiment, ConfigError> {
    let text = fs::read_to_string(file).map_err(|e| ConfigError {
        file: file.to_owned(),
        position: None,
        key: None,
        message: format!("cannot read the file: {e}"),
        hint: None,
    })?;
    parse(file, &text, limits)
}

/// The memory this machine has available now (Linux' `MemAvailable`); unknown
/// elsewhere, where only the documented limits apply.
pub(crate) fn machine_limits() -> Limits {
    let available_memory = fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|info| mem_available(&info));
    Limits { available_memory }
}

/// `MemAvailable` of a `/proc/meminfo` text, in bytes.
fn mem_available(info: &str) -> Option<f64> {
    let line = info.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn available_memory_is_read_from_meminfo() {
        let info = "MemTotal:       24000000 kB\nMemFree:  100 kB\nMemAvailable:   23000000 kB\n";
        assert_eq!(mem_available(info), Some(23_000_000.0 * 1024.0));
        assert_eq!(mem_available("MemTotal: 5 kB\n"), None);
    }
}
