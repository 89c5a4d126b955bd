use std::collections::{HashMap, HashSet};
use std::fs;
use std::path::{Path, PathBuf};

use polars_core::prelude::{ChunkCompareEq, DataFrame};
use rayon::prelude::*;

use crate::AnalysisError;
use crate::parts::{PartName, committed_parts, has_parts, keep_where, owners, read_frame};
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

/// Which rows of a table to keep, decided in the frame before any becomes a struct.
#[derive(Clone, Copy)]
enum Keep<'a> {
    All,
    /// Rows whose `step` is this.
    Step(i64),
    /// Rows whose `quantity` is one of these.
    Quantities(&'a [&'a str]),
    /// Rows of these runs.
    Runs(&'a HashSet<String>),
    /// Rows of the runs whose rows are read from `part` (see [`owners`]).
    Owned {
        part: &'a PartName,
        owner: &'a HashMap<String, PartName>,
    },
}

impl Keep<'_> {
    fn apply(self, frame: DataFrame, path: &Path) -> Result<DataFrame, AnalysisError> {
        match self {
            Keep::All => Ok(frame),
            Keep::Step(step) => {
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
            Keep::Quantities(quantities) => {
                keep_where(frame, "quantity", path, |q| quantities.contains(&q))
            }
            Keep::Runs(ids) => keep_where(frame, "run_id", path, |id| ids.contains(id)),
            Keep::Owned { part, owner } => {
                keep_where(frame, "run_id", path, |id| owner.get(id) == Some(part))
            }
        }
    }
}

/// Reads a table, all its parts as one (read in parallel, kept in the parts' order),
/// keeping the rows `keep` accepts. Of a run stored in two parts, only the first part's
/// rows are kept; parts without a `runs` part are not read.
fn read_table<T: Table + Send>(
    dir: &Path,
    layout: &Layout,
    keep: Keep<'_>,
) -> Result<Vec<T>, AnalysisError> {
    let read = |path: &Path| -> Result<DataFrame, AnalysisError> {
        keep.apply(read_frame(path, None)?, path)
    };
    match layout {
        Layout::Files => {
            let path = dir.join(format!("{}.parquet", T::NAME));
            T::from_frame(&read(&path)?, &path)
        }
        Layout::Parts { parts, owner } => {
            let chunks: Vec<Vec<T>> = parts
                .par_iter()
                .map(|part| {
                    let path = dir.join(T::NAME).join(part.as_str());
                    let frame = Keep::Owned { part, owner }.apply(read(&path)?, &path)?;
                    T::from_frame(&frame, &path)
                })
                .collect::<Result<_, _>>()?;
            let mut rows = Vec::with_capacity(chunks.iter().map(Vec::len).sum());
            for chunk in chunks {
                rows.extend(chunk);
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

/// Whether to read the `histograms` table, by far the largest table: the report and the
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

/// What to read of an experiment besides its runs and metrics. A sweep of thousands of
/// runs holds millions of history rows; a reader that needs a few quantities, or the
/// data of one run per configuration, can leave the rest on disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Selection {
    /// Which histograms.
    pub histograms: Histograms,
    /// The quantities whose history rows to read, or `None` for all.
    pub quantities: Option<&'static [&'static str]>,
    /// Whether to read the data points and decision surfaces of only the first run of
    /// each configuration (label), in the runs table's order, rather than of every run.
    pub first_run_points: bool,
}

impl From<Histograms> for Selection {
    /// Every history row and every point, with `histograms` as given.
    fn from(histograms: Histograms) -> Self {
        Self {
            histograms,
            quantities: None,
            first_run_points: false,
        }
    }
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

/// [`read_experiment`], reading only the [`Selection`] (or the [`Histograms`]) asked.
///
/// # Errors
/// As [`read_experiment`].
pub fn read_experiment_with(
    dir: &Path,
    selection: impl Into<Selection>,
) -> Result<ExperimentTables, AnalysisError> {
    let selection = selection.into();
    if !holds_experiment(dir)? {
        return Err(AnalysisError::NoTables {
            path: dir.to_owned(),
        });
    }
    let layout = Layout::of(dir)?;
    let runs: Vec<RunRow> = read_table(dir, &layout, Keep::All)?;
    let first_runs: HashSet<String>;
    let points = if selection.first_run_points {
        let mut labels = HashSet::new();
        first_runs = runs
            .iter()
            .filter(|r| labels.insert(r.label.as_str()))
            .map(|r| r.run_id.clone())
            .collect();
        Keep::Runs(&first_runs)
    } else {
        Keep::All
    };
    Ok(ExperimentTables {
        name: dir
            .file_name()
            .map_or_else(String::new, |n| n.to_string_lossy().into_owned()),
        history: read_table::<HistoryRow>(
            dir,
            &layout,
            selection.quantities.map_or(Keep::All, Keep::Quantities),
        )?,
        metrics: read_table::<MetricRow>(dir, &layout, Keep::All)?,
        histograms: match selection.histograms {
            Histograms::Read => read_table::<HistogramRow>(dir, &layout, Keep::All)?,
            Histograms::Initial => read_table::<HistogramRow>(dir, &layout, Keep::Step(0))?,
            Histograms::Skip => Vec::new(),
        },
        dataset: read_table::<PointRow>(dir, &layout, points)?,
        boundary: read_table::<BoundaryRow>(dir, &layout, points)?,
        runs,
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

/// [`read_all`], reading only the [`Selection`] (or the [`Histograms`]) asked.
///
/// # Errors
/// As [`read_all`].
pub fn read_all_with(
    data_dir: &Path,
    selection: impl Into<Selection>,
) -> Result<Vec<ExperimentTables>, AnalysisError> {
    let selection = selection.into();
    experiment_dirs(data_dir)?
        .iter()
        .map(|dir| {
            let mut tables = read_experiment_with(dir, selection)?;
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
