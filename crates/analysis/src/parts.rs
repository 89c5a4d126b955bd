//! Tables as folders of part files, written while a sweep trains.
//!
//! Each table of an experiment is a folder (`runs/`, `history/`, ...) of Parquet parts
//! that share one schema; a part holds every row of a few runs, and the parts of one set
//! of runs carry the same [`PartName`] in every table's folder. A part is written to a
//! hidden temporary file and renamed into place, so no reader ever opens half a file, and
//! the `runs` part is renamed last: a run is stored once its `runs` part exists, and a
//! part in another folder without one (left by a crash between two renames) is ignored
//! by the reader and removed by [`prune`].

use std::collections::{HashMap, HashSet};
use std::fs::{self, File};
use std::io::BufWriter;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use polars_core::prelude::{
    BooleanChunked, DataFrame, NewChunkedArray, PolarsError, StringChunked,
};
use polars_io::SerReader;
use polars_io::parquet::read::ParquetReader;
use polars_io::parquet::write::{ParquetCompression, ParquetWriter};

use crate::AnalysisError;
use crate::schema::{StoredColumns, Table};
use crate::tables::{BoundaryRow, HistogramRow, HistoryRow, MetricRow, PointRow, RunRow};
use crate::write::{
    RunResult, boundary_rows, histogram_rows, history_rows, metric_rows, point_rows, run_rows,
};

/// Every table's name, in the order a part is written: `runs` last, as the commit.
pub const TABLE_NAMES: [&str; 6] = [
    HistoryRow::NAME,
    MetricRow::NAME,
    HistogramRow::NAME,
    PointRow::NAME,
    BoundaryRow::NAME,
    RunRow::NAME,
];

/// Temporary files are hidden and carry this marker, then the writer's tag.
const TEMP_MARKER: &str = ".tmp-";

/// A temporary file this old has no living writer, wherever that writer ran: a part takes
/// well under a second to write.
const TEMP_EXPIRY: Duration = Duration::from_secs(3600);

/// The file name of one part, the same in every table's folder:
/// `part-<first>-<hash>.parquet`, where `first` is the position of the part's first run
/// in its experiment's expansion (so that listing the parts by name lists the runs in
/// about their order) and `hash` is a 64-bit FNV-1a hash of the runs' `config_hash` and
/// seed (so that two writers of different runs never choose the same name, and two
/// writers of the same runs choose the same one).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PartName(String);

impl PartName {
    /// The name of the part holding `runs`, the first of which is run `first` of the
    /// expansion.
    pub fn of(first: usize, runs: &[RunResult]) -> Self {
        Self::from_keys(
            first,
            runs.iter()
                .map(|r| (r.meta.config_hash.as_str(), r.spec.seed)),
        )
    }

    /// The name of a part holding the runs with these `(config_hash, seed)` keys.
    pub fn from_keys<'a>(first: usize, keys: impl IntoIterator<Item = (&'a str, u64)>) -> Self {
        let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
        let mut feed = |bytes: &[u8]| {
            for &b in bytes {
                hash ^= u64::from(b);
                hash = hash.wrapping_mul(0x0100_0000_01b3);
            }
        };
        for (config_hash, seed) in keys {
            feed(config_hash.as_bytes());
            feed(&seed.to_le_bytes());
        }
        Self(format!("part-{first:06}-{hash:016x}.parquet"))
    }

    /// The file name.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The position of the part's first run, as its name gives it.
    fn first(&self) -> usize {
        self.0
            .strip_prefix("part-")
            .and_then(|rest| rest.split('-').next())
            .and_then(|n| n.parse().ok())
            .unwrap_or(0)
    }
}

/// The tag a writer puts into its temporary files' names: who is writing, so that
/// [`prune`] can tell an abandoned temporary file from one being written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WriterTag(pub String);

impl WriterTag {
    /// A tag for this process: the caller's host name and the process id.
    pub fn new(host: &str) -> Self {
        let host: String = host
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
            .collect();
        Self(format!("{host}.{}", std::process::id()))
    }
}

fn parquet_error(path: &Path) -> impl Fn(PolarsError) -> AnalysisError + '_ {
    move |e| AnalysisError::Parquet {
        path: path.to_owned(),
        message: e.to_string(),
    }
}

fn write_error(path: &Path) -> impl Fn(PolarsError) -> AnalysisError + '_ {
    move |e| {
        // polars wraps the system's reason in its own words; the reason is what a
        // user can act on.
        let message = e.to_string();
        let reason = message
            .rsplit_once("IO error: ")
            .map_or(message.as_str(), |(_, reason)| reason)
            .to_owned();
        AnalysisError::Write {
            path: path.to_owned(),
            reason,
        }
    }
}

/// Writes `frame` to `path` through a hidden temporary file beside it, synced before it
/// is renamed into place.
fn write_frame_atomically(
    path: &Path,
    frame: &mut DataFrame,
    tag: &WriterTag,
) -> Result<(), AnalysisError> {
    let name = path
        .file_name()
        .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
    let temp = path.with_file_name(format!(".{name}{TEMP_MARKER}{}", tag.0));
    let written = (|| {
        let file = File::create(&temp).map_err(AnalysisError::io(&temp))?;
        let mut writer = BufWriter::new(file);
        ParquetWriter::new(&mut writer)
            .with_compression(ParquetCompression::Zstd(None))
            .finish(frame)
            .map_err(write_error(path))?;
        let file = writer.into_inner().map_err(|e| AnalysisError::Io {
            path: temp.clone(),
            source: e.into_error(),
        })?;
        file.sync_all().map_err(AnalysisError::io(&temp))?;
        fs::rename(&temp, path).map_err(AnalysisError::io(path))
    })();
    if written.is_err() {
        let _ = fs::remove_file(&temp);
    }
    written
}

fn write_rows<T: Table>(
    dir: &Path,
    name: &PartName,
    rows: &[T],
    tag: &WriterTag,
) -> Result<(), AnalysisError> {
    let folder = dir.join(T::NAME);
    fs::create_dir_all(&folder).map_err(AnalysisError::io(&folder))?;
    let path = folder.join(name.as_str());
    let mut frame = T::to_frame(rows).map_err(parquet_error(&path))?;
    write_frame_atomically(&path, &mut frame, tag)
}

/// Writes one part of every table of the experiment in `dir` (created if needed): the
/// rows of `runs`, under `name`, each table's rows built and dropped in turn so that only
/// one table's rows are held at a time, `runs` last.
///
/// # Errors
/// [`AnalysisError`] naming the file that could not be written; parts renamed into place
/// before the failure stay, and without their `runs` part they are not read.
pub fn write_part(dir: &Path, name: &PartName, runs: &[RunResult]) -> Result<(), AnalysisError> {
    write_part_tagged(dir, name, runs, &WriterTag::new("local"))
}

/// [`write_part`] with the writer's tag in the temporary files' names.
///
/// # Errors
/// As [`write_part`].
pub fn write_part_tagged(
    dir: &Path,
    name: &PartName,
    runs: &[RunResult],
    tag: &WriterTag,
) -> Result<(), AnalysisError> {
    let written = (|| {
        write_rows(dir, name, &history_rows(runs), tag)?;
        write_rows(dir, name, &metric_rows(runs), tag)?;
        write_rows(dir, name, &histogram_rows(runs), tag)?;
        write_rows(dir, name, &point_rows(runs), tag)?;
        write_rows(dir, name, &boundary_rows(runs), tag)?;
        write_rows(dir, name, &run_rows(runs), tag)
    })();
    // Without its `runs` part a part is not read, but a reader globbing one table's
    // folder (DuckDB's `history/*.parquet`) would still see the tables already renamed
    // into place: take them back, unless another writer committed this very part
    // meanwhile (two processes training the same runs write identical names).
    if written.is_err() && !dir.join(RunRow::NAME).join(name.as_str()).exists() {
        for table in TABLE_NAMES {
            let _ = fs::remove_file(dir.join(table).join(name.as_str()));
        }
    }
    written
}

/// The committed parts of an experiment: the `*.parquet` files of its `runs/` folder,
/// sorted by name. Hidden files (temporary ones) are not parts.
pub(crate) fn committed_parts(dir: &Path) -> Result<Vec<PartName>, AnalysisError> {
    parts_in(&dir.join(RunRow::NAME))
}

fn parts_in(folder: &Path) -> Result<Vec<PartName>, AnalysisError> {
    let mut parts = Vec::new();
    let entries = match fs::read_dir(folder) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(parts),
        Err(e) => return Err(AnalysisError::io(folder)(e)),
    };
    for entry in entries {
        let entry = entry.map_err(AnalysisError::io(folder))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if !name.starts_with('.') && name.ends_with(".parquet") {
            parts.push(PartName(name));
        }
    }
    parts.sort();
    Ok(parts)
}

/// Whether `dir` holds an experiment in the layout of parts (a `runs/` folder).
pub(crate) fn has_parts(dir: &Path) -> bool {
    dir.join(RunRow::NAME).is_dir()
}

/// Reads one part file, projected to `columns` if given.
pub(crate) fn read_frame(
    path: &Path,
    columns: Option<&[&str]>,
) -> Result<DataFrame, AnalysisError> {
    let file = File::open(path).map_err(AnalysisError::io(path))?;
    ParquetReader::new(file)
        .with_columns(columns.map(|c| c.iter().map(|&s| s.to_owned()).collect()))
        .finish()
        .map_err(parquet_error(path))
}

/// A run as the `runs` table lists it: its identity, what the final summary prints, and
/// the part that holds it.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredRun {
    /// `<label>/s<seed>`.
    pub run_id: String,
    /// The configuration without the seed.
    pub label: String,
    /// The hash of the run's resolved configuration.
    pub config_hash: String,
    /// The seed.
    pub seed: u64,
    /// Final training accuracy.
    pub final_accuracy: f64,
    /// Final training loss.
    pub final_loss: f64,
    /// Whether the run diverged.
    pub diverged: bool,
    /// The version of vanishing that wrote it.
    pub crate_version: String,
    /// The part holding the run.
    pub part: PartName,
}

fn stored_in(dir: &Path, part: &PartName) -> Result<Vec<StoredRun>, AnalysisError> {
    let path = dir.join(RunRow::NAME).join(part.as_str());
    let frame = read_frame(&path, Some(StoredColumns::COLUMNS))?;
    let rows = StoredColumns::from_frame(&frame, &path)?;
    Ok(rows
        .into_iter()
        .map(|r| StoredRun {
            run_id: r.run_id,
            label: r.label,
            config_hash: r.config_hash,
            seed: r.seed,
            final_accuracy: r.final_accuracy,
            final_loss: r.final_loss,
            diverged: r.diverged,
            crate_version: r.crate_version,
            part: part.clone(),
        })
        .collect())
}

/// The runs stored in the experiment folder `dir`, each once (a run, as its
/// `config_hash` and seed identify it, found in two parts, which only an interrupted
/// [`prune`] or two writers of the same runs leave, counts in the first by name), in the
/// order of the parts' names. Runs of an edited file's earlier version are listed too,
/// until [`prune`] removes them, even where they share a `run_id` with a current run. Reads only the few columns it returns. An experiment folder
/// that does not exist holds no runs.
///
/// # Errors
/// [`AnalysisError`] naming a `runs` part that cannot be read.
pub fn stored_runs(dir: &Path) -> Result<Vec<StoredRun>, AnalysisError> {
    let mut seen = HashSet::new();
    let mut runs = Vec::new();
    for part in committed_parts(dir)? {
        for run in stored_in(dir, &part)? {
            if seen.insert((run.config_hash.clone(), run.seed)) {
                runs.push(run);
            }
        }
    }
    Ok(runs)
}

/// The values of a string column, or the error naming the file that lacks it.
pub(crate) fn strings(
    frame: &DataFrame,
    column: &'static str,
    path: &Path,
) -> Result<StringChunked, AnalysisError> {
    frame
        .column(column)
        .and_then(|c| c.str().cloned())
        .map_err(|_| AnalysisError::MissingColumn {
            path: path.to_owned(),
            column,
        })
}

/// The rows of `frame` whose string `column` is a value `keep` accepts (a null never is);
/// the frame itself, uncopied, when every row is kept.
pub(crate) fn keep_where(
    frame: DataFrame,
    column: &'static str,
    path: &Path,
    keep: impl Fn(&str) -> bool,
) -> Result<DataFrame, AnalysisError> {
    let mask: Vec<bool> = strings(&frame, column, path)?
        .iter()
        .map(|v| v.is_some_and(&keep))
        .collect();
    if mask.iter().all(|&k| k) {
        return Ok(frame);
    }
    frame
        .filter(&BooleanChunked::from_slice("keep".into(), &mask))
        .map_err(parquet_error(path))
}

/// Which part each run id's rows are read from: the first part by name that lists it.
pub(crate) fn owners(
    dir: &Path,
) -> Result<(Vec<PartName>, HashMap<String, PartName>), AnalysisError> {
    let parts = committed_parts(dir)?;
    let mut owner = HashMap::new();
    for part in &parts {
        let path = dir.join(RunRow::NAME).join(part.as_str());
        let frame = read_frame(&path, Some(&["run_id"]))?;
        for id in strings(&frame, "run_id", &path)?.iter().flatten() {
            owner.entry(id.to_owned()).or_insert_with(|| part.clone());
        }
    }
    Ok((parts, owner))
}

/// What [`prune`] removed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Pruned {
    /// Stored runs that the experiment no longer defines (or stored twice).
    pub stale_runs: usize,
    /// Files removed: parts of stale runs, parts without a `runs` part, abandoned
    /// temporary files and tables of the layout before parts.
    pub files_removed: usize,
}

fn remove(path: &Path, removed: &mut usize) -> Result<(), AnalysisError> {
    match fs::remove_file(path) {
        Ok(()) => {
            *removed += 1;
            Ok(())
        }
        // Another process pruning the same folder got there first.
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(AnalysisError::io(path)(e)),
    }
}

/// Makes the experiment folder `dir` hold exactly the runs that `keep` accepts, each once
/// (by `config_hash` and seed): a part whose runs are all kept stays as it is, one with none kept
/// is removed (its `runs` part first, so that it stops counting before its rows go), and
/// one with some kept is rewritten under a new name without the others (every table
/// first, the old `runs` part removed last). Then removes the parts that have no `runs`
/// part, the temporary files that `abandoned` says no living writer owns (or older than
/// an hour), and the single-file tables of the layout before parts. Meant for an
/// experiment whose runs are all stored, when no writer is adding parts.
///
/// # Errors
/// [`AnalysisError`] naming a file that cannot be read, written or removed.
pub fn prune(
    dir: &Path,
    keep: &dyn Fn(&StoredRun) -> bool,
    abandoned: &dyn Fn(&str) -> bool,
    tag: &WriterTag,
) -> Result<Pruned, AnalysisError> {
    let mut pruned = Pruned::default();
    let mut seen = HashSet::new();
    for part in committed_parts(dir)? {
        let runs = match stored_in(dir, &part) {
            Ok(runs) => runs,
            // Removed meanwhile by another process pruning the same folder.
            Err(AnalysisError::Io { source, .. })
                if source.kind() == std::io::ErrorKind::NotFound =>
            {
                continue;
            }
            Err(e) => return Err(e),
        };
        let kept: Vec<&StoredRun> = runs
            .iter()
            .filter(|r| keep(r) && seen.insert((r.config_hash.clone(), r.seed)))
            .collect();
        if kept.len() == runs.len() {
            continue;
        }
        pruned.stale_runs += runs.len() - kept.len();
        if !kept.is_empty() {
            let renamed = PartName::from_keys(
                part.first(),
                kept.iter().map(|r| (r.config_hash.as_str(), r.seed)),
            );
            let ids: HashSet<&str> = kept.iter().map(|r| r.run_id.as_str()).collect();
            for table in TABLE_NAMES {
                let path = dir.join(table).join(part.as_str());
                let mut frame = keep_where(read_frame(&path, None)?, "run_id", &path, |id| {
                    ids.contains(id)
                })?;
                write_frame_atomically(&dir.join(table).join(renamed.as_str()), &mut frame, tag)?;
            }
        }
        // The `runs` part first: from then on the others are orphans, never read.
        remove(
            &dir.join(RunRow::NAME).join(part.as_str()),
            &mut pruned.files_removed,
        )?;
        for table in &TABLE_NAMES[..TABLE_NAMES.len() - 1] {
            remove(
                &dir.join(table).join(part.as_str()),
                &mut pruned.files_removed,
            )?;
        }
    }
    let committed: HashSet<PartName> = committed_parts(dir)?.into_iter().collect();
    let now = SystemTime::now();
    for table in TABLE_NAMES {
        let folder = dir.join(table);
        for part in parts_in(&folder)? {
            if !committed.contains(&part) {
                remove(&folder.join(part.as_str()), &mut pruned.files_removed)?;
            }
        }
        for temp in temporary_files(&folder)? {
            let writer = temp
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .and_then(|n| n.split(TEMP_MARKER).nth(1).map(str::to_owned))
                .unwrap_or_default();
            let old = fs::metadata(&temp)
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| now.duration_since(t).ok())
                .is_some_and(|age| age > TEMP_EXPIRY);
            if old || abandoned(&writer) {
                remove(&temp, &mut pruned.files_removed)?;
            }
        }
        remove(
            &dir.join(format!("{table}.parquet")),
            &mut pruned.files_removed,
        )?;
    }
    Ok(pruned)
}

fn temporary_files(folder: &Path) -> Result<Vec<PathBuf>, AnalysisError> {
    let entries = match fs::read_dir(folder) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(AnalysisError::io(folder)(e)),
    };
    let mut found = Vec::new();
    for entry in entries {
        let entry = entry.map_err(AnalysisError::io(folder))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') && name.contains(TEMP_MARKER) {
            found.push(entry.path());
        }
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn part_names_depend_on_the_runs_and_sort_by_position() {
        let a = PartName::from_keys(3, [("abc", 1)]);
        assert_eq!(a, PartName::from_keys(3, [("abc", 1)]));
        assert_ne!(a, PartName::from_keys(3, [("abc", 2)]));
        assert_ne!(a, PartName::from_keys(3, [("abd", 1)]));
        assert!(a.as_str().starts_with("part-000003-") && a.as_str().ends_with(".parquet"));
        assert_eq!(a.first(), 3);
        assert!(PartName::from_keys(20, [("x", 0)]) > PartName::from_keys(3, [("x", 0)]));
        // FNV-1a 64 of nothing is its offset basis.
        assert_eq!(
            PartName::from_keys(0, []).as_str(),
            "part-000000-cbf29ce484222325.parquet"
        );
    }

    #[test]
    fn writer_tags_name_the_host_and_process_without_separators() {
        let tag = WriterTag::new("node-1.cluster/x");
        assert_eq!(tag.0, format!("node_1_cluster_x.{}", std::process::id()));
    }
}
