use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};

use polars::prelude::{ChunkCompareEq, DataFrame};

use crate::AnalysisError;
use crate::parts::{PartName, committed_parts, has_parts, owned_rows, owners, read_frame};
use crate::schema::Table;
use crate::tables::{
    BoundaryRow, ExperimentTables, HistogramRow, HistoryRow, MetricRow, PointRow, RunRow,
};

/// Where an experiment's tables are: folders of parts, with the part each run's rows are
/// read from, or the single files of the layout before parts.
enum Layout {
    Parts {
        parts: Vec<PartName>,
        owner: HashMap<String, PartName>,
    },
    Files,
}

impl Layout {
    fn of(dir: &Path) -> Result<Self, AnalysisError> {
        if has_parts(dir) {
            let (parts, owner) = owners(dir)?;
            Ok(Self::Parts { parts, owner })
        } else {
            Ok(Self::Files)
        }
    }
}

/// Keeps the rows whose `step` is `step`, in the frame, before any becomes a struct.
fn at_step(frame: DataFrame, step: i64, path: &Path) -> Result<DataFrame, AnalysisError> {
    let steps = frame
        .column("step")
        .and_then(|c| c.i64().cloned())
        .map_err(|_| AnalysisError::MissingColumn {
            path: path.to_owned(),
            column: "step",
        })?;
    frame
        .filter(&steps.equal(step))
        .map_err(|e| AnalysisError::Parquet {
            path: path.to_owned(),
            message: e.to_string(),
        })
}

/// Reads a table, all its parts as one, keeping only the rows whose `step` is `step`
/// when one is given. Of a run stored in two parts, only the first part's rows are kept;
/// parts without a `runs` part are not read.
fn read_table<T: Table>(
    dir: &Path,
    layout: &Layout,
    step: Option<i64>,
) -> Result<Vec<T>, AnalysisError> {
    let read = |path: &Path| -> Result<DataFrame, AnalysisError> {
        let frame = read_frame(path, None)?;
        match step {
            Some(step) => at_step(frame, step, path),
            None => Ok(frame),
        }
    };
    match layout {
        Layout::Files => {
            let path = dir.join(format!("{}.parquet", T::NAME));
            T::from_frame(&read(&path)?, &path)
        }
        Layout::Parts { parts, owner } => {
            let mut rows = Vec::new();
            for part in parts {
                let path = dir.join(T::NAME).join(part.as_str());
                let mut frame = read(&path)?;
                if let Some(owned) = owned_rows(&frame, part, owner, &path)? {
                    frame = owned;
                }
                rows.extend(T::from_frame(&frame, &path)?);
            }
            Ok(rows)
        }
    }
}

/// Whether `dir` holds an experiment: a `runs/` folder with at least one part, or the
/// `runs.parquet` of the layout before parts.
fn holds_experiment(dir: &Path) -> Result<bool, AnalysisError> {
    if has_parts(dir) {
        Ok(!committed_parts(dir)?.is_empty())
    } else {
        Ok(dir.join(format!("{}.parquet", RunRow::NAME)).is_file())
    }
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
/// [`crate::write_experiment`] or filled part by part by [`crate::write_part`]), each
/// table's parts as one table, checking each column's presence and type.
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
    if !holds_experiment(dir)? {
        return Err(AnalysisError::NoTables {
            path: dir.to_owned(),
        });
    }
    let layout = Layout::of(dir)?;
    Ok(ExperimentTables {
        name: dir
            .file_name()
            .map_or_else(String::new, |n| n.to_string_lossy().into_owned()),
        runs: read_table(dir, &layout, None)?,
        history: read_table::<HistoryRow>(dir, &layout, None)?,
        metrics: read_table::<MetricRow>(dir, &layout, None)?,
        histograms: match histograms {
            Histograms::Read => read_table::<HistogramRow>(dir, &layout, None)?,
            Histograms::Initial => read_table::<HistogramRow>(dir, &layout, Some(0))?,
            Histograms::Skip => Vec::new(),
        },
        dataset: read_table::<PointRow>(dir, &layout, None)?,
        boundary: read_table::<BoundaryRow>(dir, &layout, None)?,
    })
}

/// The experiment folders under `data_dir` (those holding a committed `runs` part, or a
/// `runs.parquet` of the layout before parts), sorted by path. A folder whose `runs/`
/// holds no part yet (a sweep that has not finished its first part) is not listed. A folder without tables of its own groups experiments one level down, as
/// `data/keras/<experiment>/` holds the runs imported from Keras. Hidden folders
/// (staging areas of writes in progress) are skipped.
///
/// # Errors
/// [`AnalysisError::Io`] if a folder cannot be listed, [`AnalysisError::NoTables`] if
/// `data_dir` holds no experiment.
pub fn experiment_dirs(data_dir: &Path) -> Result<Vec<PathBuf>, AnalysisError> {
    let mut dirs = Vec::new();
    for path in visible_subfolders(data_dir)? {
        if holds_experiment(&path)? {
            dirs.push(path);
        } else if !has_parts(&path) {
            for inner in visible_subfolders(&path)? {
                if holds_experiment(&inner)? {
                    dirs.push(inner);
                }
            }
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
