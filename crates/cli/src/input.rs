//! What parsing an experiment file leaves to its caller: reading the file from disk,
//! reading the data files its runs name, and measuring the memory this machine can give
//! a run.

use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use vanishing_config::{ConfigError, Experiment, Limits, PlannedRun, parse};
use vanishing_train::{DataSpec, LoadedTable};

use crate::table_data::{TableRequest, read_table};

/// Reads, validates and expands one experiment file, refusing runs that would not fit
/// in `limits`.
///
/// # Errors
/// A [`ConfigError`] naming the file: one that cannot be read, what
/// [`vanishing_config::parse`] refuses in its text, or a data file of its runs that
/// cannot be read or does not suit the run (pointing at that run's `data.path`).
pub(crate) fn load(file: &Path, limits: Limits) -> Result<Experiment, ConfigError> {
    let text = fs::read_to_string(file).map_err(|e| ConfigError {
        file: file.to_owned(),
        position: None,
        key: None,
        message: format!("cannot read the file: {e}"),
        hint: None,
    })?;
    let mut experiment = parse(file, &text, limits)?;
    read_data_files(&mut experiment)?;
    Ok(experiment)
}

/// What a data file is read as: the same file with the same columns is read once, however
/// many runs of a sweep share it.
type TableKey = (PathBuf, String, Option<Vec<String>>);

/// Reads the data file of every run that names one, relative to the experiment file's
/// folder, and checks each such run again now that its features and classes are known
/// (a single output unit for three classes is refused here, before anything trains).
fn read_data_files(experiment: &mut Experiment) -> Result<(), ConfigError> {
    let folder = experiment
        .file
        .parent()
        .map_or_else(PathBuf::new, Path::to_path_buf);
    let mut tables: HashMap<TableKey, Arc<LoadedTable>> = HashMap::new();
    for run in &mut experiment.configurations {
        let at = run.data_file_at;
        let file = experiment.file.clone();
        let error = |message: String| ConfigError {
            file: file.clone(),
            position: at,
            key: Some("data.path".to_owned()),
            message,
            hint: None,
        };
        let DataSpec::File(data) = &mut run.spec.data else {
            continue;
        };
        if data.table.is_none() {
            let path = folder.join(&data.path);
            let key = (path, data.label.clone(), data.features.clone());
            let table = match tables.get(&key) {
                Some(t) => Arc::clone(t),
                None => {
                    let table = Arc::new(
                        read_table(&TableRequest {
                            path: &key.0,
                            label: &key.1,
                            features: key.2.as_deref(),
                        })
                        .map_err(|e| error(e.to_string()))?,
                    );
                    tables.insert(key, Arc::clone(&table));
                    table
                }
            };
            if let Some(recorded) = &data.content_hash
                && *recorded != table.content_hash
            {
                return Err(error(format!(
                    "the data file `{}` is not the one this configuration was recorded with: \
                     its content hash is {}, the configuration's `data.content_hash` is \
                     {recorded}; restore that file, or delete the `content_hash` line to \
                     train on the file as it is now",
                    data.path, table.content_hash
                )));
            }
            data.table = Some(table);
        }
        check_run(run).map_err(error)?;
    }
    Ok(())
}

/// The checks of a run that need its data's features and classes.
fn check_run(run: &PlannedRun) -> Result<(), String> {
    run.spec.validate().map_err(|e| e.to_string())?;
    let inputs = run.spec.data.features().unwrap_or(2);
    run.spec.architecture(inputs).map(drop).map_err(|e| {
        format!(
            "{e} (run `{}`, data file `{}`)",
            run.label,
            match &run.spec.data {
                DataSpec::File(f) => f.path.as_str(),
                _ => "",
            }
        )
    })
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
