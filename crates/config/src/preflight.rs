//! Refusing what cannot run before anything is allocated: sweeps beyond a documented
//! number of runs, and runs whose estimated memory exceeds what the machine has.
//!
//! Both checks work on counts alone (the sweep's axis lengths, a run's
//! [`RunSpec::estimated_memory`]), so that a file asking for a trillion points or fifty
//! million runs is answered at once with the key to change, instead of aborting on a
//! failed allocation or expanding for minutes.

use vanishing_train::{RecordPolicy, RunSpec};

use crate::doc::{ConfigError, Source, Table};

/// The most runs one experiment file may define (every configuration times every seed).
///
/// What bounds it is the memory of planning: an experiment is its configurations and
/// seeds, but every process that trains a share of it (each SLURM task too) keys every
/// run to find what is stored, about 125 bytes a run. At this cap that is about 1.2 GB
/// and 9 s on the 2-core machine of docs/performance.md; ten million tutorial runs are
/// also about 2 TB of tables. A file that asks for more is almost certainly a mistake,
/// and a real sweep of that size is better split into several files.
pub const MAX_RUNS: usize = 10_000_000;

/// What the machine that will train can give a run. Plain data: the caller measures it
/// (the command line reads the operating system's figure; a browser knows its own), so
/// that parsing reads nothing but the text it is given.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Limits {
    /// Bytes of memory available, when known.
    pub available_memory: Option<f64>,
}

impl Limits {
    /// No machine limit (the documented limits still apply).
    pub const NONE: Self = Self {
        available_memory: None,
    };
}

/// Bytes in decimal units, two or three significant digits: "320 GB", "1.6 MB".
pub fn format_bytes(bytes: f64) -> String {
    const UNITS: [&str; 7] = ["bytes", "kB", "MB", "GB", "TB", "PB", "EB"];
    let mut value = bytes;
    let mut unit = 0;
    while value >= 1000.0 && unit + 1 < UNITS.len() {
        value /= 1000.0;
        unit += 1;
    }
    if unit == UNITS.len() - 1 && value >= 1000.0 {
        return format!("{bytes:.1e} bytes");
    }
    if value < 10.0 && unit > 0 {
        format!("{value:.1} {}", UNITS[unit])
    } else {
        format!("{value:.0} {}", UNITS[unit])
    }
}

/// A count with thousands separated: "50,000,000".
pub fn format_count(n: u128) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A duration in the largest unit that keeps it readable: "40 s", "12 min", "3.5 h",
/// "9 days".
pub fn format_duration(seconds: f64) -> String {
    if seconds < 100.0 {
        format!("{seconds:.0} s")
    } else if seconds < 6000.0 {
        format!("{:.0} min", seconds / 60.0)
    } else if seconds < 3.6e5 {
        format!("{:.1} h", seconds / 3600.0)
    } else {
        format!("{:.0} days", seconds / 86400.0)
    }
}

/// How many runs a sweep of axes of `lengths` values times `seeds` seeds defines, or
/// `None` beyond `usize`.
pub(crate) fn run_count(lengths: impl IntoIterator<Item = usize>, seeds: usize) -> Option<usize> {
    lengths
        .into_iter()
        .try_fold(seeds, |count, length| count.checked_mul(length))
}

/// Refuses a run of `spec` that would not fit in `limits`' memory, naming the key that
/// asks for most of it, at its position in `root` (the value's own position, which
/// points into `[sweep]` when the value is swept).
pub(crate) fn check_memory(
    source: Source<'_>,
    root: &Table<'_, '_>,
    spec: &RunSpec,
    limits: Limits,
) -> Result<(), ConfigError> {
    let Some(available) = limits.available_memory else {
        return Ok(());
    };
    let memory = spec.estimated_memory();
    let total = memory.total();
    if total <= available {
        return Ok(());
    }
    let (records_section, records_key) = records_key(spec);
    let parts = [
        (memory.parameters + memory.activations, "model", "hidden"),
        (memory.data, "data", "n_samples"),
        (memory.records, records_section, records_key),
    ];
    let (_, section, key) = parts
        .into_iter()
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .expect("three parts");
    let span = root
        .table(section)
        .ok()
        .and_then(|t| t.get(key).map(|(_, v)| v.span()));
    Err(source.error(
        span,
        Some(&format!("{section}.{key}")),
        format!(
            "one run needs about {} of memory (parameters {}, layer buffers {}, data {}, \
             records {}); this machine has {} available",
            format_bytes(total),
            format_bytes(memory.parameters),
            format_bytes(memory.activations),
            format_bytes(memory.data),
            format_bytes(memory.records),
            format_bytes(available),
        ),
    ))
}

/// The key that sets how many records a run keeps: the histogram bins when there are
/// histograms, else how often it records.
fn records_key(spec: &RunSpec) -> (&'static str, &'static str) {
    if spec.histogram_bins.is_some() {
        ("record", "histogram_bins")
    } else if spec.record == RecordPolicy::Epoch {
        ("train", "epochs")
    } else {
        ("record", "every")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_read_as_a_person_would_write_them() {
        for (bytes, text) in [
            (0.0, "0 bytes"),
            (999.0, "999 bytes"),
            (1_600.0, "1.6 kB"),
            (23.4e9, "23 GB"),
            (3.2e11, "320 GB"),
            (1.6e12, "1.6 TB"),
            (5e30, "5.0e30 bytes"),
        ] {
            assert_eq!(format_bytes(bytes), text, "{bytes}");
        }
    }

    #[test]
    fn counts_and_durations_read_as_a_person_would_write_them() {
        for (n, text) in [
            (0_u128, "0"),
            (999, "999"),
            (1000, "1,000"),
            (50_000_000, "50,000,000"),
        ] {
            assert_eq!(format_count(n), text);
        }
        for (seconds, text) in [
            (40.0, "40 s"),
            (720.0, "12 min"),
            (12_600.0, "3.5 h"),
            (777_600.0, "9 days"),
        ] {
            assert_eq!(format_duration(seconds), text);
        }
    }

    #[test]
    fn run_counts_multiply_and_refuse_overflow() {
        assert_eq!(run_count([3, 4], 5), Some(60));
        assert_eq!(run_count([], 7), Some(7));
        assert_eq!(run_count([usize::MAX, 2], 1), None);
    }
}
