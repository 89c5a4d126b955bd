use std::path::PathBuf;

use thiserror::Error;

/// Why tables could not be written or read. Every variant names the file.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum AnalysisError {
    /// A file or folder could not be created, renamed, read or removed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// What the operating system said.
        source: std::io::Error,
    },
    /// polars could not parse the file (truncated, not Parquet, ...).
    #[error("{}: not a readable Parquet table: {message}", path.display())]
    Parquet {
        /// The file.
        path: PathBuf,
        /// What polars said.
        message: String,
    },
    /// polars could not write the file (a full disk, a file-size limit, ...).
    #[error("{}: cannot write the table: {reason}", path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// Why, as the operating system said it when it did.
        reason: String,
    },
    /// A table lacks a column of the schema.
    #[error("{}: missing column `{column}`", path.display())]
    MissingColumn {
        /// The file.
        path: PathBuf,
        /// The column.
        column: &'static str,
    },
    /// A column has another type than the schema's.
    #[error("{}: column `{column}` has type {found}, expected {expected}", path.display())]
    WrongType {
        /// The file.
        path: PathBuf,
        /// The column.
        column: &'static str,
        /// The schema's type.
        expected: &'static str,
        /// The file's type.
        found: String,
    },
    /// A column that must be complete has nulls.
    #[error("{}: column `{column}` has missing values", path.display())]
    Nulls {
        /// The file.
        path: PathBuf,
        /// The column.
        column: &'static str,
    },
    /// A folder holds no experiment tables.
    #[error("{}: no experiment tables found (expected a runs/ folder of parts and its siblings)", path.display())]
    NoTables {
        /// The folder.
        path: PathBuf,
    },
}

impl AnalysisError {
    #[cfg(feature = "parquet")]
    pub(crate) fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> Self {
        let path = path.into();
        move |source| Self::Io { path, source }
    }
}
