//! Users' own data files: a Parquet or CSV table turned into a [`Dataset`].
//!
//! [`read_table`] reads the file named by a [`TableRequest`] once, hashes those bytes
//! ([`LoadedTable::content_hash`]) and parses the same bytes, so that the hash always
//! names the data that was trained on. The kind of file is told by its extension, in any
//! case: `.parquet` or `.pq` for Parquet (read by polars), `.csv` for comma-separated
//! values with a header row naming the columns (parsed by csv-core, with the line each
//! record starts on counted here, so that every complaint about a cell can name its line
//! even when quoted cells span several lines).
//!
//! What is read, and how:
//!
//! - **Rows** are numbered from 1, the first row of data being row 1 (a CSV file's
//!   header is not a row); a CSV error also gives the line, the header being line 1.
//! - **Labels** must be integers: a column of integers, of floats whose every value is a
//!   whole number (`3.0`), or of booleans (`false` is 0, `true` is 1). Text labels are
//!   refused rather than guessed at: their order, and so the class indices, would be
//!   arbitrary. The distinct label values, sorted, are [`LoadedTable::classes`], and a
//!   row's class index is the position of its label there (labels `-1` and `1` become
//!   classes 0 and 1).
//! - **Features** are the columns the request lists, in its order, or by default every
//!   numeric column other than the label, in file order. Integers are converted to
//!   `f64` (exactly up to 2^53), and booleans are numeric, 0 or 1: one-hot columns, such
//!   as pandas' `get_dummies` writes, are booleans. Two kinds of column are never
//!   default features: an index that pandas wrote (a CSV column with an empty name, a
//!   Parquet column named `__index_level_0__` and so on), because a row number would
//!   give a model the file's order, which often follows the labels; and a column with no
//!   value at all (empty CSV cells, a Parquet column of nulls).
//! - **CSV cells** are trimmed of surrounding spaces. A cell is a number when Rust
//!   parses it as an `f64` (`1`, `-2.5e3`, `inf`, `NaN`), `true` or `false` in any case
//!   is a boolean, an empty cell or one of pandas' usual markers of a missing value
//!   (`NA`, `N/A`, `n/a`, `null`, `NULL`, `None`, `<NA>`, `#N/A`) is missing, and
//!   anything else is text. A column is numeric when it holds no text; a column of text
//!   only (names, categories) is left out of the default features, but one that mixes
//!   numbers and text is refused, since a stray word in a column of numbers is far more
//!   often a mistake than a design.
//! - **Every value used must be finite and present**: a missing value (an empty or
//!   marked CSV cell, a Parquet null), NaN or an infinity in the label or a feature is
//!   refused, naming its column and row, rather than dropped or filled in.
//!
//! Nothing is standardized here: the training crate does that with the training rows'
//! statistics, after the split.

use std::fmt;
use std::fs;
use std::io::{self, Cursor};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};

use polars_core::prelude::{ArrowDataType, DataType, PolarsResult, Series};
use polars_io::SerReader;
use polars_io::parquet::read::ParquetReader;
use sha2::{Digest, Sha256};
use vanishing_data::Dataset;
use vanishing_train::LoadedTable;

/// Which file to read, and which of its columns to use.
#[derive(Debug, Clone, Copy)]
pub struct TableRequest<'a> {
    /// The file, already resolved against the experiment file's folder.
    pub path: &'a Path,
    /// The column holding the class labels.
    pub label: &'a str,
    /// The feature columns, in the order the dataset gets them; `None` for every
    /// numeric column other than the label, in file order.
    pub features: Option<&'a [String]>,
}

/// Where a value is in a table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cell {
    /// The row, the first row of data being 1.
    pub row: usize,
    /// For a CSV file, the line the row starts on, the header being line 1.
    pub line: Option<u64>,
}

impl fmt::Display for Cell {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "row {}", self.row)?;
        if let Some(line) = self.line {
            write!(f, " (line {line})")?;
        }
        Ok(())
    }
}

/// What a column was asked to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// The column of class labels.
    Label,
    /// A feature column.
    Feature,
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Role::Label => "label column",
            Role::Feature => "feature column",
        })
    }
}

/// Why a data file was refused. Each message names the file and is complete on its own.
#[derive(Debug, thiserror::Error)]
pub enum TableDataError {
    /// The file's name ends in neither `.parquet`, `.pq` nor `.csv`.
    #[error(
        "{}: {}; expected a Parquet file (`.parquet` or `.pq`) or a CSV file with a header row (`.csv`)",
        path.display(),
        match extension {
            Some(e) => format!("unknown kind of data file `.{e}`"),
            None => "the file name has no extension to tell its kind".to_owned(),
        }
    )]
    UnknownFormat {
        /// The file.
        path: PathBuf,
        /// Its extension, if it has one.
        extension: Option<String>,
    },
    /// The file could not be read (missing, a folder, no permission).
    #[error("{}: cannot read the data file: {reason}", path.display())]
    Unreadable {
        /// The file, as resolved against the experiment's folder.
        path: PathBuf,
        /// What the operating system said.
        reason: String,
    },
    /// The bytes are not a Parquet file polars can read.
    #[error("{}: not a valid Parquet file: {reason}", path.display())]
    InvalidParquet {
        /// The file.
        path: PathBuf,
        /// What polars said.
        reason: String,
    },
    /// The bytes are not a CSV table with a header row.
    #[error("{}: not a valid CSV file: {reason}", path.display())]
    InvalidCsv {
        /// The file.
        path: PathBuf,
        /// What is wrong, with the line where there is one.
        reason: String,
    },
    /// A column asked for is not in the file.
    #[error(
        "{}: no column `{column}` for the {role}; the file's columns are {}{}",
        path.display(),
        name_list(columns),
        hint.as_ref().map_or_else(String::new, |h| format!(" ({h})"))
    )]
    MissingColumn {
        /// The file.
        path: PathBuf,
        /// What the column was asked to be.
        role: Role,
        /// The name asked for.
        column: String,
        /// The file's columns.
        columns: Vec<String>,
        /// A near name, or a likely reason the name is not found.
        hint: Option<String>,
    },
    /// A column to be used has a name several columns of a CSV header share.
    #[error(
        "{}: {count} columns are named `{column}`; expected one, so that the {role} is unambiguous",
        path.display()
    )]
    DuplicateColumn {
        /// The file.
        path: PathBuf,
        /// What the column was asked to be.
        role: Role,
        /// The shared name.
        column: String,
        /// How many columns have it.
        count: usize,
    },
    /// The label column is listed among the features too.
    #[error(
        "{}: `{column}` is the label column and cannot also be a feature",
        path.display()
    )]
    LabelAsFeature {
        /// The file.
        path: PathBuf,
        /// The label column.
        column: String,
    },
    /// A feature column is listed twice.
    #[error("{}: feature column `{column}` is listed twice", path.display())]
    RepeatedFeature {
        /// The file.
        path: PathBuf,
        /// The column.
        column: String,
    },
    /// The features list is empty.
    #[error(
        "{}: the list of feature columns is empty; expected at least one column",
        path.display()
    )]
    EmptyFeatureList {
        /// The file.
        path: PathBuf,
    },
    /// A column to be used holds something other than numbers.
    #[error("{}: {role} `{column}` holds {found}; expected {}", path.display(), expected(*role))]
    NotNumeric {
        /// The file.
        path: PathBuf,
        /// What the column was asked to be.
        role: Role,
        /// The column.
        column: String,
        /// What it holds: its type, or for CSV its first cell that is not a number.
        found: String,
    },
    /// A Parquet column holds numbers of a type this build of polars does not read.
    #[error(
        "{}: {role} `{column}` holds {found}, which vanishing does not read; store it as 32- or 64-bit integers or floats",
        path.display()
    )]
    UnsupportedType {
        /// The file.
        path: PathBuf,
        /// What the column was asked to be (a feature also when it would have been
        /// one by default).
        role: Role,
        /// The column.
        column: String,
        /// The column's type.
        found: String,
    },
    /// A CSV column that would be a feature by default holds numbers and text.
    #[error(
        "{}: column `{column}` holds numbers, but {at} holds {value}, which is not a number; \
         correct the cell, or list the feature columns to leave this one out",
        path.display()
    )]
    MixedColumn {
        /// The file.
        path: PathBuf,
        /// The column.
        column: String,
        /// Its first cell that is not a number.
        at: Cell,
        /// That cell, quoted.
        value: String,
    },
    /// A value the dataset needs is missing.
    #[error(
        "{}: {role} `{column}`, {at}: missing value ({found}); expected {}",
        path.display(),
        expected(*role)
    )]
    MissingValue {
        /// The file.
        path: PathBuf,
        /// What the column is.
        role: Role,
        /// The column.
        column: String,
        /// The first missing value.
        at: Cell,
        /// How it was missing: an empty cell, a marker such as `NA`, a null.
        found: String,
    },
    /// A value the dataset needs is NaN or infinite.
    #[error(
        "{}: {role} `{column}`, {at}: {value} is not a finite number; expected {}",
        path.display(),
        expected(*role)
    )]
    NonFinite {
        /// The file.
        path: PathBuf,
        /// What the column is.
        role: Role,
        /// The column.
        column: String,
        /// The first such value.
        at: Cell,
        /// The value, as written in a CSV file or printed from a Parquet one.
        value: String,
    },
    /// A label is not a whole number (a fraction, text, or beyond 64-bit integers).
    #[error(
        "{}: label column `{column}`, {at}: {value} is not an integer; expected integer class labels \
         (map text or fractional labels to integers first)",
        path.display()
    )]
    LabelNotInteger {
        /// The file.
        path: PathBuf,
        /// The label column.
        column: String,
        /// The first such label.
        at: Cell,
        /// The label, as written in a CSV file or printed from a Parquet one.
        value: String,
    },
    /// Every row has the same label, which leaves nothing to classify.
    #[error(
        "{}: label column `{column}` holds a single class ({value} in all {rows} rows); expected at least two distinct labels",
        path.display()
    )]
    OneClass {
        /// The file.
        path: PathBuf,
        /// The label column.
        column: String,
        /// The only label.
        value: i64,
        /// How many rows have it.
        rows: usize,
    },
    /// More distinct labels than class indices can number.
    #[error(
        "{}: label column `{column}` holds {count} distinct labels; at most {} classes are possible",
        path.display(),
        u32::MAX
    )]
    TooManyClasses {
        /// The file.
        path: PathBuf,
        /// The label column.
        column: String,
        /// How many distinct labels.
        count: usize,
    },
    /// No column is left to be a feature.
    #[error(
        "{}: no feature columns: {}; expected at least one numeric column besides the label `{label}`",
        path.display(),
        if skipped.is_empty() {
            "the file has no other column".to_owned()
        } else {
            format!("none of the others is numeric ({})", described_list(skipped))
        }
    )]
    NoFeatures {
        /// The file.
        path: PathBuf,
        /// The label column.
        label: String,
        /// The other columns, each with what it holds.
        skipped: Vec<(String, String)>,
    },
    /// The table has a header but no rows.
    #[error("{}: the table has no rows of data; expected at least one", path.display())]
    NoRows {
        /// The file.
        path: PathBuf,
    },
}

/// What a column of the given role must hold, for the messages.
fn expected(role: Role) -> &'static str {
    match role {
        Role::Label => "integer class labels",
        Role::Feature => "finite numbers",
    }
}

/// How many names a message lists before it counts the rest: a wide table's every
/// column would bury the message.
const LISTED_NAMES: usize = 20;

/// A column's name for a list in a message, where an empty name would be invisible.
fn shown_name(name: &str) -> String {
    if name.is_empty() {
        "(unnamed)".to_owned()
    } else {
        format!("`{name}`")
    }
}

fn name_list(names: &[String]) -> String {
    if names.is_empty() {
        return "none".to_owned();
    }
    let mut out: Vec<String> = names
        .iter()
        .take(LISTED_NAMES)
        .map(|n| shown_name(n))
        .collect();
    if names.len() > LISTED_NAMES {
        out.push(format!("and {} more", names.len() - LISTED_NAMES));
    }
    out.join(", ")
}

fn described_list(columns: &[(String, String)]) -> String {
    let mut out: Vec<String> = columns
        .iter()
        .take(LISTED_NAMES)
        .map(|(name, what)| format!("{}: {what}", shown_name(name)))
        .collect();
    if columns.len() > LISTED_NAMES {
        out.push(format!("and {} more", columns.len() - LISTED_NAMES));
    }
    out.join(", ")
}

/// A cell's text for a message: quoted, escaped, and cut short, since a cell may be
/// arbitrarily long.
fn quoted(text: &str) -> String {
    const LONGEST: usize = 40;
    if text.chars().count() <= LONGEST {
        format!("{text:?}")
    } else {
        let head: String = text.chars().take(LONGEST).collect();
        format!("{head:?}...")
    }
}

/// Reads the table a request names and checks it, as the module's documentation says.
///
/// # Errors
/// A [`TableDataError`] naming the file and, for a problem with a value, its column and
/// row (and line, for CSV).
pub fn read_table(req: &TableRequest) -> Result<LoadedTable, TableDataError> {
    let format = Format::of(req.path)?;
    let bytes = fs::read(req.path).map_err(|e| TableDataError::Unreadable {
        path: req.path.to_owned(),
        reason: io_reason(&e),
    })?;
    let content_hash = content_hash(&bytes);
    let parsed = match format {
        Format::Parquet => read_parquet(req, &bytes)?,
        Format::Csv => read_csv(req, &bytes)?,
    };
    let path = req.path;
    let n_rows = parsed.labels.len();
    let mut classes = parsed.labels.clone();
    classes.sort_unstable();
    classes.dedup();
    match classes[..] {
        [] => {
            return Err(TableDataError::NoRows {
                path: path.to_owned(),
            });
        }
        [value] => {
            return Err(TableDataError::OneClass {
                path: path.to_owned(),
                column: req.label.to_owned(),
                value,
                rows: n_rows,
            });
        }
        _ => {}
    }
    if u32::try_from(classes.len()).is_err() {
        return Err(TableDataError::TooManyClasses {
            path: path.to_owned(),
            column: req.label.to_owned(),
            count: classes.len(),
        });
    }
    let labels = parsed
        .labels
        .iter()
        .map(|label| {
            // Every label is among the classes and their count fits a `u32` (both
            // checked above), so neither fallback is ever taken.
            let index = classes.binary_search(label).unwrap_or(0);
            u32::try_from(index).unwrap_or(u32::MAX)
        })
        .collect();
    Ok(LoadedTable {
        dataset: Dataset {
            x: parsed.x,
            labels,
            n_features: parsed.feature_names.len(),
        },
        feature_names: parsed.feature_names,
        classes,
        content_hash,
    })
}

/// The first 16 hex digits of the SHA-256 of `bytes`.
fn content_hash(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .take(8)
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn io_reason(e: &io::Error) -> String {
    match e.kind() {
        io::ErrorKind::NotFound => "no such file".to_owned(),
        io::ErrorKind::PermissionDenied => "permission denied".to_owned(),
        _ => e.to_string(),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Parquet,
    Csv,
}

impl Format {
    fn of(path: &Path) -> Result<Self, TableDataError> {
        let extension = path
            .extension()
            .map(|e| e.to_string_lossy().to_ascii_lowercase());
        match extension.as_deref() {
            Some("parquet" | "pq") => Ok(Self::Parquet),
            Some("csv") => Ok(Self::Csv),
            _ => Err(TableDataError::UnknownFormat {
                path: path.to_owned(),
                extension: path.extension().map(|e| e.to_string_lossy().into_owned()),
            }),
        }
    }
}

/// A table's columns as the request picks them: the row-major features, and the labels
/// as written.
struct Parsed {
    feature_names: Vec<String>,
    x: Vec<f64>,
    labels: Vec<i64>,
}

/// What a column holds, as far as choosing it goes.
#[derive(Debug, Clone, PartialEq)]
enum Kind {
    /// Numbers or booleans.
    Numeric,
    /// No value at all.
    Empty,
    /// Numbers of a type that is not read (Parquet only), described.
    Unsupported(String),
    /// Something other than numbers, described.
    Other(String),
}

/// Whether a column is an index pandas wrote along with the data: unnamed in CSV,
/// `__index_level_<n>__` in Parquet.
fn is_pandas_index(name: &str) -> bool {
    name.is_empty()
        || name
            .strip_prefix("__index_level_")
            .and_then(|rest| rest.strip_suffix("__"))
            .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

/// The closest of `names` to `given`, if it is close enough to be a likely typo.
fn near_name<'n>(given: &str, names: &'n [String]) -> Option<&'n str> {
    if let Some(same) = names.iter().find(|n| n.eq_ignore_ascii_case(given)) {
        return Some(same);
    }
    names
        .iter()
        .map(|n| (strsim::jaro_winkler(given, n), n.as_str()))
        .filter(|&(score, _)| score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, n)| n)
}

/// The position of the column named `name`, or the error that names the file's columns.
fn find_column(
    path: &Path,
    names: &[String],
    name: &str,
    role: Role,
    why_not: Option<String>,
) -> Result<usize, TableDataError> {
    let found: Vec<usize> = (0..names.len()).filter(|&i| names[i] == name).collect();
    match found[..] {
        [i] => Ok(i),
        [] => Err(TableDataError::MissingColumn {
            path: path.to_owned(),
            role,
            column: name.to_owned(),
            columns: names.to_vec(),
            hint: near_name(name, names)
                .map(|n| format!("did you mean `{n}`?"))
                .or(why_not),
        }),
        _ => Err(TableDataError::DuplicateColumn {
            path: path.to_owned(),
            role,
            column: name.to_owned(),
            count: found.len(),
        }),
    }
}

/// The columns a request names: the label's position, and the requested features'
/// positions, or `None` for the default.
fn requested_columns(
    req: &TableRequest,
    names: &[String],
    why_not: Option<&str>,
) -> Result<(usize, Option<Vec<usize>>), TableDataError> {
    let path = req.path;
    let hint = || why_not.map(str::to_owned);
    let label = find_column(path, names, req.label, Role::Label, hint())?;
    let Some(list) = req.features else {
        return Ok((label, None));
    };
    if list.is_empty() {
        return Err(TableDataError::EmptyFeatureList {
            path: path.to_owned(),
        });
    }
    let mut features = Vec::with_capacity(list.len());
    for (i, name) in list.iter().enumerate() {
        if name == req.label {
            return Err(TableDataError::LabelAsFeature {
                path: path.to_owned(),
                column: name.clone(),
            });
        }
        if list[..i].contains(name) {
            return Err(TableDataError::RepeatedFeature {
                path: path.to_owned(),
                column: name.clone(),
            });
        }
        features.push(find_column(path, names, name, Role::Feature, hint())?);
    }
    Ok((label, Some(features)))
}

/// The feature columns to use, given every column's kind: the requested ones, which must
/// be numeric, or every numeric column but the label and pandas' index.
fn choose_features(
    req: &TableRequest,
    names: &[String],
    kinds: &[Kind],
    label: usize,
    requested: Option<Vec<usize>>,
) -> Result<Vec<usize>, TableDataError> {
    let path = req.path;
    if let Some(requested) = requested {
        for &j in &requested {
            match &kinds[j] {
                // A requested column without values is refused at its first row, as a
                // missing value, by the reader.
                Kind::Numeric | Kind::Empty => {}
                Kind::Unsupported(found) => {
                    return Err(TableDataError::UnsupportedType {
                        path: path.to_owned(),
                        role: Role::Feature,
                        column: names[j].clone(),
                        found: found.clone(),
                    });
                }
                Kind::Other(found) => {
                    return Err(TableDataError::NotNumeric {
                        path: path.to_owned(),
                        role: Role::Feature,
                        column: names[j].clone(),
                        found: found.clone(),
                    });
                }
            }
        }
        return Ok(requested);
    }
    let mut features = Vec::new();
    let mut skipped = Vec::new();
    for (j, name) in names.iter().enumerate() {
        if j == label {
            continue;
        }
        if is_pandas_index(name) {
            skipped.push((name.clone(), "an index pandas wrote".to_owned()));
            continue;
        }
        match &kinds[j] {
            Kind::Numeric => features.push(j),
            Kind::Empty => skipped.push((name.clone(), "no values".to_owned())),
            Kind::Other(found) => skipped.push((name.clone(), found.clone())),
            // A numeric column is meant to be a feature; leaving it out silently would
            // train on less than the user thinks.
            Kind::Unsupported(found) => {
                return Err(TableDataError::UnsupportedType {
                    path: path.to_owned(),
                    role: Role::Feature,
                    column: name.clone(),
                    found: found.clone(),
                });
            }
        }
    }
    if features.is_empty() {
        return Err(TableDataError::NoFeatures {
            path: path.to_owned(),
            label: req.label.to_owned(),
            skipped,
        });
    }
    // A CSV header may repeat a name; a feature must be nameable on its own.
    for &j in &features {
        let count = names.iter().filter(|n| **n == names[j]).count();
        if count > 1 {
            return Err(TableDataError::DuplicateColumn {
                path: path.to_owned(),
                role: Role::Feature,
                column: names[j].clone(),
                count,
            });
        }
    }
    Ok(features)
}

/// A number as a file stores it, before it becomes a feature or a label.
#[derive(Debug, Clone, Copy)]
enum Num {
    Int(i64),
    UInt(u64),
    Float(f64),
}

impl Num {
    fn to_f64(self) -> f64 {
        match self {
            // Integers beyond 2^53 are rounded to the nearest `f64`, as any float
            // conversion does; features that large lose nothing a network could use.
            Num::Int(v) => v as f64,
            Num::UInt(v) => v as f64,
            Num::Float(v) => v,
        }
    }
}

/// The label a number stands for: `Ok(Some)` for a whole number, `Ok(None)` for a
/// fraction or one beyond 64-bit integers, `Err(())` for NaN or an infinity.
fn whole(n: Num) -> Result<Option<i64>, ()> {
    match n {
        Num::Int(v) => Ok(Some(v)),
        Num::UInt(v) => Ok(i64::try_from(v).ok()),
        Num::Float(v) if !v.is_finite() => Err(()),
        // 2^63 is the first float beyond `i64`; every float below it and at least -2^63
        // with no fraction converts exactly.
        Num::Float(v) if v.fract() == 0.0 && (-(2f64.powi(63))..2f64.powi(63)).contains(&v) => {
            Ok(Some(v as i64))
        }
        Num::Float(_) => Ok(None),
    }
}

// ---------------------------------------------------------------------------------
// Parquet
// ---------------------------------------------------------------------------------

/// What a Parquet column's type holds, for choosing features and for messages.
fn parquet_kind(dtype: &ArrowDataType) -> Kind {
    use ArrowDataType as A;
    let unsupported = |what: &str| Kind::Unsupported(format!("{what} ({dtype:?})"));
    let other = |what: &str| Kind::Other(format!("{what} ({dtype:?})"));
    match dtype {
        A::Boolean | A::Int32 | A::Int64 | A::UInt32 | A::UInt64 | A::Float32 | A::Float64 => {
            Kind::Numeric
        }
        A::Null => Kind::Empty,
        // polars is built without these types (each adds to every kernel's compile
        // time); they are refused by name rather than left for polars to fail on.
        A::Int8 | A::UInt8 => unsupported("8-bit integers"),
        A::Int16 | A::UInt16 => unsupported("16-bit integers"),
        A::Int128 | A::UInt128 => unsupported("128-bit integers"),
        A::Float16 => unsupported("16-bit floats"),
        A::Decimal(..) | A::Decimal32(..) | A::Decimal64(..) | A::Decimal256(..) => {
            unsupported("decimals")
        }
        A::Utf8 | A::LargeUtf8 | A::Utf8View => other("text"),
        A::Dictionary(..) => other("categories"),
        A::Binary | A::LargeBinary | A::BinaryView | A::FixedSizeBinary(_) => other("bytes"),
        A::Date32 | A::Date64 => other("dates"),
        A::Timestamp(..) => other("timestamps"),
        A::Time32(_) | A::Time64(_) => other("times of day"),
        A::Duration(_) | A::Interval(_) => other("durations"),
        A::List(_) | A::LargeList(_) | A::FixedSizeList(..) => other("lists"),
        A::Struct(_) | A::Map(..) | A::Union(_) => other("nested values"),
        A::Extension(_) | A::Unknown => other("values of another type"),
    }
}

/// Runs a polars call on the file, turning its errors, and its panics, into
/// [`TableDataError::InvalidParquet`].
///
/// polars' Parquet decoder checks much of a file's structure with assertions, so a
/// damaged file can panic it; a user's file must not end the program that way. The
/// panic hook still prints the assertion, which is then followed by this error.
fn shielded<T>(path: &Path, f: impl FnOnce() -> PolarsResult<T>) -> Result<T, TableDataError> {
    let invalid = |reason: String| TableDataError::InvalidParquet {
        path: path.to_owned(),
        reason,
    };
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(e)) => Err(invalid(e.to_string())),
        Err(panic) => {
            let what = panic
                .downcast_ref::<String>()
                .map(String::as_str)
                .or_else(|| panic.downcast_ref::<&str>().copied())
                .unwrap_or("no message");
            Err(invalid(format!("the Parquet decoder failed: {what}")))
        }
    }
}

fn read_parquet(req: &TableRequest, bytes: &[u8]) -> Result<Parsed, TableDataError> {
    let path = req.path;
    let mut reader = ParquetReader::new(Cursor::new(bytes));
    let schema = shielded(path, || reader.schema())?;
    let n_rows = shielded(path, || reader.num_rows())?;
    let names: Vec<String> = schema.iter().map(|(name, _)| name.to_string()).collect();
    let kinds: Vec<Kind> = schema
        .iter()
        .map(|(_, field)| parquet_kind(&field.dtype))
        .collect();
    let (label, requested) = requested_columns(req, &names, None)?;
    match &kinds[label] {
        Kind::Numeric | Kind::Empty => {}
        Kind::Unsupported(found) => {
            return Err(TableDataError::UnsupportedType {
                path: path.to_owned(),
                role: Role::Label,
                column: names[label].clone(),
                found: found.clone(),
            });
        }
        Kind::Other(found) => {
            return Err(TableDataError::NotNumeric {
                path: path.to_owned(),
                role: Role::Label,
                column: names[label].clone(),
                found: found.clone(),
            });
        }
    }
    let features = choose_features(req, &names, &kinds, label, requested)?;
    if n_rows == 0 {
        return Err(TableDataError::NoRows {
            path: path.to_owned(),
        });
    }
    // A column of nulls is missing at its first row; nothing needs reading to say so.
    if let Some(&j) = std::iter::once(&label)
        .chain(&features)
        .find(|&&j| kinds[j] == Kind::Empty)
    {
        return Err(TableDataError::MissingValue {
            path: path.to_owned(),
            role: if j == label {
                Role::Label
            } else {
                Role::Feature
            },
            column: names[j].clone(),
            at: Cell { row: 1, line: None },
            found: "null".to_owned(),
        });
    }

    let mut wanted = vec![names[label].clone()];
    wanted.extend(features.iter().map(|&j| names[j].clone()));
    let frame = shielded(path, || reader.with_columns(Some(wanted)).finish())?;
    let n_rows = frame.height();
    let column = |name: &str| {
        shielded(path, || {
            frame
                .column(name)
                .map(|c| c.as_materialized_series().clone())
        })
    };

    let label_name = &names[label];
    let label_series = column(label_name)?;
    let mut labels = Vec::with_capacity(n_rows);
    for_each_number(path, &label_series, |row, value| {
        let at = Cell {
            row: row + 1,
            line: None,
        };
        let Some(n) = value else {
            return Err(missing(path, Role::Label, label_name, at, "null"));
        };
        match whole(n) {
            Ok(Some(v)) => {
                labels.push(v);
                Ok(())
            }
            Ok(None) => Err(TableDataError::LabelNotInteger {
                path: path.to_owned(),
                column: label_name.clone(),
                at,
                value: printed(n),
            }),
            Err(()) => Err(non_finite(path, Role::Label, label_name, at, printed(n))),
        }
    })?;

    let d = features.len();
    let mut x = vec![0.0; n_rows * d];
    for (k, &j) in features.iter().enumerate() {
        let name = &names[j];
        let series = column(name)?;
        for_each_number(path, &series, |row, value| {
            let at = Cell {
                row: row + 1,
                line: None,
            };
            let Some(n) = value else {
                return Err(missing(path, Role::Feature, name, at, "null"));
            };
            let v = n.to_f64();
            if !v.is_finite() {
                return Err(non_finite(path, Role::Feature, name, at, printed(n)));
            }
            x[row * d + k] = v;
            Ok(())
        })?;
    }
    Ok(Parsed {
        feature_names: features.iter().map(|&j| names[j].clone()).collect(),
        x,
        labels,
    })
}

/// A Parquet value as a message shows it.
fn printed(n: Num) -> String {
    match n {
        Num::Int(v) => v.to_string(),
        Num::UInt(v) => v.to_string(),
        Num::Float(v) => format!("{v:?}"),
    }
}

fn missing(path: &Path, role: Role, column: &str, at: Cell, found: &str) -> TableDataError {
    TableDataError::MissingValue {
        path: path.to_owned(),
        role,
        column: column.to_owned(),
        at,
        found: found.to_owned(),
    }
}

fn non_finite(path: &Path, role: Role, column: &str, at: Cell, value: String) -> TableDataError {
    TableDataError::NonFinite {
        path: path.to_owned(),
        role,
        column: column.to_owned(),
        at,
        value,
    }
}

/// Calls `f` with each row's index (from 0) and value, `None` for a null, stopping at
/// its first error. Booleans are the integers 0 and 1.
fn for_each_number(
    path: &Path,
    series: &Series,
    mut f: impl FnMut(usize, Option<Num>) -> Result<(), TableDataError>,
) -> Result<(), TableDataError> {
    // Only types `parquet_kind` calls numeric reach here, and each is matched with its
    // own accessor, so the accessors' type errors cannot occur; they are passed on
    // rather than unwrapped all the same.
    macro_rules! each {
        ($accessor:ident, $to_num:expr) => {{
            let values = shielded(path, || series.$accessor())?;
            for (row, value) in values.iter().enumerate() {
                f(row, value.map($to_num))?;
            }
        }};
    }
    match series.dtype() {
        DataType::Boolean => each!(bool, |b: bool| Num::Int(i64::from(b))),
        DataType::Int32 => each!(i32, |v: i32| Num::Int(i64::from(v))),
        DataType::Int64 => each!(i64, Num::Int),
        DataType::UInt32 => each!(u32, |v: u32| Num::Int(i64::from(v))),
        DataType::UInt64 => each!(u64, Num::UInt),
        DataType::Float32 => each!(f32, |v: f32| Num::Float(f64::from(v))),
        DataType::Float64 => each!(f64, Num::Float),
        other => {
            return Err(TableDataError::InvalidParquet {
                path: path.to_owned(),
                reason: format!(
                    "column `{}` was read as {other}, not the numbers its schema promised",
                    series.name()
                ),
            });
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------
// CSV
// ---------------------------------------------------------------------------------

/// Cells pandas and R write for a missing value (an empty cell is missing too).
const MISSING_MARKERS: [&str; 8] = ["NA", "N/A", "n/a", "null", "NULL", "None", "<NA>", "#N/A"];

/// What a CSV cell holds.
#[derive(Debug, Clone, Copy, PartialEq)]
enum CsvValue<'a> {
    /// Empty or a marker of a missing value.
    Missing(&'a str),
    /// A number, or a boolean as 0 or 1; with the text, for messages.
    Number(f64, &'a str),
    /// Anything else (cells that are not UTF-8 are text).
    Text(&'a [u8]),
}

fn csv_value(cell: &[u8]) -> CsvValue<'_> {
    let Ok(text) = std::str::from_utf8(cell) else {
        return CsvValue::Text(cell);
    };
    if text.is_empty() || MISSING_MARKERS.contains(&text) {
        return CsvValue::Missing(text);
    }
    if text.eq_ignore_ascii_case("true") {
        return CsvValue::Number(1.0, text);
    }
    if text.eq_ignore_ascii_case("false") {
        return CsvValue::Number(0.0, text);
    }
    match text.parse::<f64>() {
        Ok(v) => CsvValue::Number(v, text),
        Err(_) => CsvValue::Text(cell),
    }
}

fn missing_found(marker: &str) -> String {
    if marker.is_empty() {
        "an empty cell".to_owned()
    } else {
        format!("the cell says `{marker}`")
    }
}

/// One candidate feature column of a CSV file, gathered in a single pass: its values,
/// and the first cell of each kind a check may need to name.
#[derive(Default)]
struct CsvColumn {
    values: Vec<f64>,
    numbers: usize,
    first_text: Option<(Cell, String)>,
    first_missing: Option<(Cell, String)>,
    first_non_finite: Option<(Cell, String)>,
}

impl CsvColumn {
    fn push(&mut self, cell: &[u8], at: Cell) {
        let value = match csv_value(cell) {
            CsvValue::Number(v, text) => {
                self.numbers += 1;
                if !v.is_finite() && self.first_non_finite.is_none() {
                    self.first_non_finite = Some((at, quoted(text)));
                }
                v
            }
            CsvValue::Missing(marker) => {
                if self.first_missing.is_none() {
                    self.first_missing = Some((at, missing_found(marker)));
                }
                f64::NAN
            }
            CsvValue::Text(bytes) => {
                if self.first_text.is_none() {
                    self.first_text = Some((at, quoted(&String::from_utf8_lossy(bytes))));
                }
                f64::NAN
            }
        };
        self.values.push(value);
    }

    fn kind(&self) -> Kind {
        match (&self.first_text, self.numbers) {
            (None, 0) => Kind::Empty,
            (None, _) => Kind::Numeric,
            (Some((at, value)), _) => Kind::Other(format!("text ({value} in {at})")),
        }
    }
}

/// Why no header names the column: a file separated by something else than commas, or
/// a file without a header row. `None` when nothing suggests either.
fn header_doubt(names: &[String]) -> Option<String> {
    if let [only] = names {
        for (separator, what) in [(';', "semicolons"), ('\t', "tabs")] {
            if only.contains(separator) {
                return Some(format!(
                    "the header is a single column holding {what}: columns must be separated by commas"
                ));
            }
        }
    }
    if names.iter().all(|n| n.parse::<f64>().is_ok()) {
        return Some(
            "the first line holds only numbers: the file seems to lack a header row".to_owned(),
        );
    }
    None
}

/// The records of a CSV file in memory, parsed by csv-core (RFC 4180 quoting; a UTF-8
/// byte-order mark and blank lines skipped), each with the line it starts on.
struct CsvRecords<'a> {
    parser: csv_core::Reader,
    /// The bytes not parsed yet.
    rest: &'a [u8],
    /// The line `rest` starts on.
    line: u64,
    /// The current record's fields, unquoted, end to end.
    fields: Vec<u8>,
    /// Where each of the current record's fields ends in `fields`.
    ends: Vec<usize>,
    /// How many fields the current record has.
    len: usize,
}

impl<'a> CsvRecords<'a> {
    fn new(bytes: &'a [u8]) -> Self {
        Self {
            parser: csv_core::Reader::new(),
            rest: bytes,
            line: 1,
            fields: vec![0; 1024],
            ends: vec![0; 64],
            len: 0,
        }
    }

    /// Parses the next record, returning the line it starts on, or `None` at the end.
    fn next_record(&mut self) -> Option<u64> {
        let newlines = |bytes: &[u8]| bytes.iter().filter(|&&b| b == b'\n').count() as u64;
        // The parser skips blank lines before a record; the record starts after them.
        let blank = self
            .rest
            .iter()
            .take_while(|&&b| b == b'\n' || b == b'\r')
            .count();
        let start = self.line + newlines(&self.rest[..blank]);
        let (mut out, mut end) = (0, 0);
        loop {
            let (result, nin, nout, nend) =
                self.parser
                    .read_record(self.rest, &mut self.fields[out..], &mut self.ends[end..]);
            self.line += newlines(&self.rest[..nin]);
            self.rest = &self.rest[nin..];
            out += nout;
            end += nend;
            match result {
                // With `rest` now empty, the next call tells the parser the input ended,
                // and it answers with the last record or the end.
                csv_core::ReadRecordResult::InputEmpty => {}
                csv_core::ReadRecordResult::OutputFull => {
                    self.fields.resize(self.fields.len() * 2, 0);
                }
                csv_core::ReadRecordResult::OutputEndsFull => {
                    self.ends.resize(self.ends.len() * 2, 0);
                }
                csv_core::ReadRecordResult::Record => {
                    self.len = end;
                    return Some(start);
                }
                csv_core::ReadRecordResult::End => return None,
            }
        }
    }

    /// Field `i` of the current record, trimmed of surrounding ASCII spaces.
    fn field(&self, i: usize) -> &[u8] {
        let from = if i == 0 { 0 } else { self.ends[i - 1] };
        self.fields[from..self.ends[i]].trim_ascii()
    }
}

fn read_csv(req: &TableRequest, bytes: &[u8]) -> Result<Parsed, TableDataError> {
    let path = req.path;
    let mut records = CsvRecords::new(bytes);
    let names: Vec<String> = match records.next_record() {
        Some(_) => (0..records.len)
            .map(|i| String::from_utf8_lossy(records.field(i)).into_owned())
            .collect(),
        None => Vec::new(),
    };
    if names.iter().all(String::is_empty) {
        return Err(TableDataError::InvalidCsv {
            path: path.to_owned(),
            reason: if bytes.iter().all(u8::is_ascii_whitespace) {
                "the file is empty; expected a header row naming the columns".to_owned()
            } else {
                "the first line names no column; expected a header row naming the columns"
                    .to_owned()
            },
        });
    }

    // The label and any requested feature can be found in the header before any row
    // is read; which columns are numeric takes the whole file.
    let doubt = header_doubt(&names);
    let (label, requested) = requested_columns(req, &names, doubt.as_deref())?;
    let candidates: Vec<usize> = match &requested {
        Some(list) => list.clone(),
        None => (0..names.len())
            .filter(|&j| j != label && !is_pandas_index(&names[j]))
            .collect(),
    };
    let mut columns: Vec<CsvColumn> = candidates.iter().map(|_| CsvColumn::default()).collect();
    let mut labels = Vec::new();
    let label_name = &names[label];
    while let Some(line) = records.next_record() {
        let at = Cell {
            row: labels.len() + 1,
            line: Some(line),
        };
        if records.len != names.len() {
            return Err(TableDataError::InvalidCsv {
                path: path.to_owned(),
                reason: format!(
                    "{at} has {} fields, but the header has {}",
                    records.len,
                    names.len()
                ),
            });
        }
        labels.push(csv_label(path, label_name, records.field(label), at)?);
        for (column, &j) in columns.iter_mut().zip(&candidates) {
            column.push(records.field(j), at);
        }
    }
    if labels.is_empty() {
        return Err(TableDataError::NoRows {
            path: path.to_owned(),
        });
    }

    let mut kinds = vec![Kind::Empty; names.len()];
    for (column, &j) in columns.iter().zip(&candidates) {
        kinds[j] = column.kind();
        // A column of numbers with a stray word is refused rather than silently left
        // out of the default features.
        if requested.is_none()
            && column.numbers > 0
            && let Some((at, value)) = &column.first_text
        {
            return Err(TableDataError::MixedColumn {
                path: path.to_owned(),
                column: names[j].clone(),
                at: *at,
                value: value.clone(),
            });
        }
    }
    let features = choose_features(req, &names, &kinds, label, requested)?;

    let d = features.len();
    let n_rows = labels.len();
    let mut x = vec![0.0; n_rows * d];
    for (k, &j) in features.iter().enumerate() {
        // Every feature is a candidate (the requested columns, or numeric ones among
        // every column but the label and the index), so the search always succeeds.
        let Some(c) = candidates.iter().position(|&c| c == j) else {
            continue;
        };
        let column = &columns[c];
        let name = &names[j];
        // Of a column's missing and non-finite values, the earlier is named.
        let row = |found: &Option<(Cell, String)>| found.as_ref().map_or(usize::MAX, |f| f.0.row);
        if let Some((at, found)) = &column.first_missing
            && row(&column.first_missing) < row(&column.first_non_finite)
        {
            return Err(missing(path, Role::Feature, name, *at, found));
        }
        if let Some((at, value)) = &column.first_non_finite {
            return Err(non_finite(path, Role::Feature, name, *at, value.clone()));
        }
        for (row, &v) in column.values.iter().enumerate() {
            x[row * d + k] = v;
        }
    }
    Ok(Parsed {
        feature_names: features.iter().map(|&j| names[j].clone()).collect(),
        x,
        labels,
    })
}

/// The label a CSV cell holds.
fn csv_label(path: &Path, column: &str, cell: &[u8], at: Cell) -> Result<i64, TableDataError> {
    let not_integer = |value: String| TableDataError::LabelNotInteger {
        path: path.to_owned(),
        column: column.to_owned(),
        at,
        value,
    };
    match csv_value(cell) {
        CsvValue::Missing(marker) => Err(missing(
            path,
            Role::Label,
            column,
            at,
            &missing_found(marker),
        )),
        CsvValue::Text(bytes) => Err(not_integer(quoted(&String::from_utf8_lossy(bytes)))),
        CsvValue::Number(v, text) => {
            // Integers are parsed as such, so that labels beyond 2^53 keep every digit.
            if let Ok(v) = text.parse::<i64>() {
                return Ok(v);
            }
            match whole(Num::Float(v)) {
                Ok(Some(v)) => Ok(v),
                Ok(None) => Err(not_integer(quoted(text))),
                Err(()) => Err(non_finite(path, Role::Label, column, at, quoted(text))),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parquet_kinds_split_numbers_from_the_rest() {
        assert_eq!(parquet_kind(&ArrowDataType::Float32), Kind::Numeric);
        assert_eq!(parquet_kind(&ArrowDataType::Boolean), Kind::Numeric);
        assert_eq!(parquet_kind(&ArrowDataType::Null), Kind::Empty);
        let Kind::Unsupported(found) = parquet_kind(&ArrowDataType::Int8) else {
            panic!("Int8 is numeric but unread");
        };
        assert!(found.contains("8-bit integers"), "{found}");
        let Kind::Other(found) = parquet_kind(&ArrowDataType::Utf8View) else {
            panic!("text is not numeric");
        };
        assert!(found.contains("text"), "{found}");
    }

    #[test]
    fn pandas_index_names() {
        assert!(is_pandas_index(""));
        assert!(is_pandas_index("__index_level_0__"));
        assert!(is_pandas_index("__index_level_12__"));
        assert!(!is_pandas_index("__index_level___"));
        assert!(!is_pandas_index("__index_level_x__"));
        assert!(!is_pandas_index("index"));
    }

    #[test]
    fn csv_cells() {
        assert_eq!(csv_value(b""), CsvValue::Missing(""));
        assert_eq!(csv_value(b"NA"), CsvValue::Missing("NA"));
        assert_eq!(csv_value(b"TRUE"), CsvValue::Number(1.0, "TRUE"));
        assert_eq!(csv_value(b"false"), CsvValue::Number(0.0, "false"));
        assert_eq!(csv_value(b"-2.5e1"), CsvValue::Number(-25.0, "-2.5e1"));
        assert!(matches!(csv_value(b"inf"), CsvValue::Number(v, _) if v.is_infinite()));
        assert_eq!(csv_value(b"cat"), CsvValue::Text(b"cat"));
        assert_eq!(csv_value(b"\xff"), CsvValue::Text(b"\xff"));
    }

    #[test]
    fn whole_numbers() {
        assert_eq!(whole(Num::Float(3.0)), Ok(Some(3)));
        assert_eq!(whole(Num::Float(-0.0)), Ok(Some(0)));
        assert_eq!(whole(Num::Float(1.5)), Ok(None));
        assert_eq!(whole(Num::Float(2f64.powi(63))), Ok(None));
        assert_eq!(whole(Num::Float(-(2f64.powi(63)))), Ok(Some(i64::MIN)));
        assert_eq!(whole(Num::Float(f64::NAN)), Err(()));
        assert_eq!(whole(Num::UInt(u64::MAX)), Ok(None));
        assert_eq!(whole(Num::UInt(7)), Ok(Some(7)));
    }

    #[test]
    fn long_cells_are_cut_in_messages() {
        assert_eq!(quoted("cat"), "\"cat\"");
        let long = "x".repeat(100);
        assert_eq!(quoted(&long), format!("\"{}\"...", "x".repeat(40)));
    }

    #[test]
    fn near_names() {
        let names = vec!["species".to_owned(), "petal_width".to_owned()];
        assert_eq!(near_name("specie", &names), Some("species"));
        assert_eq!(near_name("Species", &names), Some("species"));
        assert_eq!(near_name("zzz", &names), None);
    }
}
