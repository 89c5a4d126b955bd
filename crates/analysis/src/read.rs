use std::fs::{self, File};
use std::path::{Path, PathBuf};

use polars::prelude::{ParquetReader, SerReader};

use crate::AnalysisError;
use crate::schema::Table;
use crate::tables::{
    BoundaryRow, ExperimentTables, HistogramRow, HistoryRow, MetricRow, PointRow, RunRow,
};

fn read_table<T: Table>(dir: &Path) -> Result<Vec<T>, AnalysisError> {
    let path = dir.join(T::FILE);
    let file = File::open(&path).map_err(AnalysisError::io(&path))?;
    let frame = ParquetReader::new(file)
        .finish()
        .map_err(|e| AnalysisError::Parquet {
            path: path.clone(),
            message: e.to_string(),
        })?;
    T::from_frame(&frame, &path)
}

/// Reads every table of the experiment stored in `dir` (a folder written by
/// [`crate::write_experiment`]), checking each column's presence and type.
///
/// # Errors
/// [`AnalysisError`] naming the first file that is missing, unreadable, or does not
/// follow the schema.
pub fn read_experiment(dir: &Path) -> Result<ExperimentTables, AnalysisError> {
    if !dir.join(RunRow::FILE).exists() {
        return Err(AnalysisError::NoTables {
            path: dir.to_owned(),
        });
    }
    Ok(ExperimentTables {
        name: dir
            .file_name()
            .map_or_else(String::new, |n| n.to_string_lossy().into_owned()),
        runs: read_table(dir)?,
        history: read_table::<HistoryRow>(dir)?,
        metrics: read_table::<MetricRow>(dir)?,
        histograms: read_table::<HistogramRow>(dir)?,
        dataset: read_table::<PointRow>(dir)?,
        boundary: read_table::<BoundaryRow>(dir)?,
    })
}

/// The experiment folders under `data_dir` (those holding a `runs.parquet`), sorted by
/// name. Hidden folders (staging areas of writes in progress) are skipped.
///
/// # Errors
/// [`AnalysisError::Io`] if the folder cannot be listed, [`AnalysisError::NoTables`] if
/// it holds no experiment.
pub fn experiment_dirs(data_dir: &Path) -> Result<Vec<PathBuf>, AnalysisError> {
    let entries = fs::read_dir(data_dir).map_err(AnalysisError::io(data_dir))?;
    let mut dirs = Vec::new();
    for entry in entries {
        let entry = entry.map_err(AnalysisError::io(data_dir))?;
        let path = entry.path();
        let hidden = entry.file_name().to_string_lossy().starts_with('.');
        if !hidden && path.is_dir() && path.join(RunRow::FILE).exists() {
            dirs.push(path);
        }
    }
    if dirs.is_empty() {
        return Err(AnalysisError::NoTables {
            path: data_dir.to_owned(),
        });
    }
    dirs.sort();
    Ok(dirs)
}

/// Every experiment under `data_dir`, read with [`read_experiment`].
///
/// # Errors
/// As [`experiment_dirs`] and [`read_experiment`].
pub fn read_all(data_dir: &Path) -> Result<Vec<ExperimentTables>, AnalysisError> {
    experiment_dirs(data_dir)?
        .iter()
        .map(|d| read_experiment(d))
        .collect()
}
