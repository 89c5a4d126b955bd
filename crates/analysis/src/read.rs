use std::fs::{self, File};
use std::path::{Path, PathBuf};

use polars::prelude::{ChunkCompareEq, ParquetReader, SerReader};

use crate::AnalysisError;
use crate::schema::Table;
use crate::tables::{
    BoundaryRow, ExperimentTables, HistogramRow, HistoryRow, MetricRow, PointRow, RunRow,
};

fn read_table<T: Table>(dir: &Path) -> Result<Vec<T>, AnalysisError> {
    read_table_where(dir, None)
}

/// Reads a table, keeping only the rows whose `step` is `step` when one is given: the
/// rows are dropped in the frame, before any becomes a struct.
fn read_table_where<T: Table>(dir: &Path, step: Option<i64>) -> Result<Vec<T>, AnalysisError> {
    let path = dir.join(T::FILE);
    let parquet_error = |e: polars::prelude::PolarsError| AnalysisError::Parquet {
        path: path.clone(),
        message: e.to_string(),
    };
    let file = File::open(&path).map_err(AnalysisError::io(&path))?;
    let mut frame = ParquetReader::new(file).finish().map_err(parquet_error)?;
    if let Some(step) = step {
        let steps = frame
            .column("step")
            .and_then(|c| c.i64().cloned())
            .map_err(|_| AnalysisError::MissingColumn {
                path: path.clone(),
                column: "step",
            })?;
        frame = frame.filter(&steps.equal(step)).map_err(parquet_error)?;
    }
    T::from_frame(&frame, &path)
}

/// Whether to read `histograms.parquet`, by far the largest table: the report and the
/// Keras comparison do not use it, and holding every histogram row of a reproduction in
/// memory would triple its peak.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Histograms {
    /// Read and check the histograms with the other tables.
    Read,
    /// Keep only the histograms of the state before training (`step = 0`), which is
    /// what the report draws.
    Initial,
    /// Leave them on disk; [`ExperimentTables::histograms`] stays empty.
    Skip,
}

/// Reads every table of the experiment stored in `dir` (a folder written by
/// [`crate::write_experiment`]), checking each column's presence and type.
///
/// # Errors
/// [`AnalysisError`] naming the first file that is missing, unreadable, or does not
/// follow the schema.
pub fn read_experiment(dir: &Path) -> Result<ExperimentTables, AnalysisError> {
    read_experiment_with(dir, Histograms::Read)
}

/// [`read_experiment`], reading the histograms only if asked.
///
/// # Errors
/// As [`read_experiment`].
pub fn read_experiment_with(
    dir: &Path,
    histograms: Histograms,
) -> Result<ExperimentTables, AnalysisError> {
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
        histograms: match histograms {
            Histograms::Read => read_table::<HistogramRow>(dir)?,
            Histograms::Initial => read_table_where::<HistogramRow>(dir, Some(0))?,
            Histograms::Skip => Vec::new(),
        },
        dataset: read_table::<PointRow>(dir)?,
        boundary: read_table::<BoundaryRow>(dir)?,
    })
}

/// The experiment folders under `data_dir` (those holding a `runs.parquet`), sorted by
/// path. A folder without tables of its own groups experiments one level down, as
/// `data/keras/<experiment>/` holds the runs imported from Keras. Hidden folders
/// (staging areas of writes in progress) are skipped.
///
/// # Errors
/// [`AnalysisError::Io`] if a folder cannot be listed, [`AnalysisError::NoTables`] if
/// `data_dir` holds no experiment.
pub fn experiment_dirs(data_dir: &Path) -> Result<Vec<PathBuf>, AnalysisError> {
    let mut dirs = Vec::new();
    for path in visible_subfolders(data_dir)? {
        if path.join(RunRow::FILE).exists() {
            dirs.push(path);
        } else {
            dirs.extend(
                visible_subfolders(&path)?
                    .into_iter()
                    .filter(|p| p.join(RunRow::FILE).exists()),
            );
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

fn visible_subfolders(dir: &Path) -> Result<Vec<PathBuf>, AnalysisError> {
    let mut found = Vec::new();
    for entry in fs::read_dir(dir).map_err(AnalysisError::io(dir))? {
        let entry = entry.map_err(AnalysisError::io(dir))?;
        let hidden = entry.file_name().to_string_lossy().starts_with('.');
        if !hidden && entry.path().is_dir() {
            found.push(entry.path());
        }
    }
    Ok(found)
}

/// Every experiment under `data_dir`, read with [`read_experiment`] and named by its
/// folder's path below `data_dir` (`deep-sigmoid`, `keras/deep-sigmoid`).
///
/// # Errors
/// As [`experiment_dirs`] and [`read_experiment`].
pub fn read_all(data_dir: &Path) -> Result<Vec<ExperimentTables>, AnalysisError> {
    read_all_with(data_dir, Histograms::Read)
}

/// [`read_all`], reading the histograms only if asked.
///
/// # Errors
/// As [`read_all`].
pub fn read_all_with(
    data_dir: &Path,
    histograms: Histograms,
) -> Result<Vec<ExperimentTables>, AnalysisError> {
    experiment_dirs(data_dir)?
        .iter()
        .map(|dir| {
            let mut tables = read_experiment_with(dir, histograms)?;
            // A grouped experiment is named by its path below the data folder.
            if let Ok(relative) = dir.strip_prefix(data_dir) {
                tables.name = relative
                    .components()
                    .map(|c| c.as_os_str().to_string_lossy())
                    .collect::<Vec<_>>()
                    .join("/");
            }
            Ok(tables)
        })
        .collect()
}
