//! The mapping between row structs and polars frames, declared once per table so that a
//! column's name, type and field cannot drift apart between writer and reader.

use std::path::Path;

use polars_core::prelude::{
    Column, DataFrame, DataType, NamedFrom, PlSmallStr, PolarsResult, Series,
};

use crate::AnalysisError;

/// A value type that can fill one column.
pub(crate) trait Cell: Sized + Clone {
    /// The polars type of the column.
    fn dtype() -> DataType;
    /// The column's type in words, for errors.
    const TYPE_NAME: &'static str;
    /// Builds a column.
    fn column(name: &str, values: Vec<Self>) -> Column;
    /// Reads a column whose type has been checked.
    fn read(column: &Column, path: &Path, name: &'static str) -> Result<Vec<Self>, AnalysisError>;
    /// The value of every row of a table written before this column existed, if the
    /// column may be missing.
    fn missing() -> Option<Self> {
        None
    }
}

fn complete<T>(
    values: impl Iterator<Item = Option<T>>,
    path: &Path,
    name: &'static str,
) -> Result<Vec<T>, AnalysisError> {
    values
        .map(|v| {
            v.ok_or_else(|| AnalysisError::Nulls {
                path: path.to_owned(),
                column: name,
            })
        })
        .collect()
}

fn cast_error(
    path: &Path,
    name: &'static str,
) -> impl FnOnce(polars_core::prelude::PolarsError) -> AnalysisError {
    let path = path.to_owned();
    move |e| AnalysisError::Parquet {
        path,
        message: format!("column `{name}`: {e}"),
    }
}

macro_rules! cell {
    ($t:ty, $dtype:expr, $name:literal, $getter:ident, $convert:expr) => {
        impl Cell for $t {
            fn dtype() -> DataType {
                $dtype
            }
            const TYPE_NAME: &'static str = $name;
            fn column(name: &str, values: Vec<Self>) -> Column {
                Column::new(name.into(), values)
            }
            fn read(
                column: &Column,
                path: &Path,
                name: &'static str,
            ) -> Result<Vec<Self>, AnalysisError> {
                let values = column.$getter().map_err(cast_error(path, name))?;
                complete(values.iter().map(|v| v.map($convert)), path, name)
            }
        }
    };
}

cell!(String, DataType::String, "String", str, str::to_owned);
cell!(i64, DataType::Int64, "Int64", i64, |v| v);
cell!(u64, DataType::UInt64, "UInt64", u64, |v| v);
cell!(f64, DataType::Float64, "Float64", f64, |v| v);
cell!(bool, DataType::Boolean, "Boolean", bool, |v| v);

impl Cell for Option<f64> {
    fn dtype() -> DataType {
        DataType::Float64
    }
    const TYPE_NAME: &'static str = "Float64";
    fn column(name: &str, values: Vec<Self>) -> Column {
        Column::new(name.into(), values)
    }
    fn read(column: &Column, path: &Path, name: &'static str) -> Result<Vec<Self>, AnalysisError> {
        Ok(column
            .f64()
            .map_err(cast_error(path, name))?
            .iter()
            .collect())
    }
}

/// A list of numbers a row holds (a sample's features), one list per cell.
impl Cell for Vec<f64> {
    fn dtype() -> DataType {
        DataType::List(Box::new(DataType::Float64))
    }
    const TYPE_NAME: &'static str = "List(Float64)";
    fn column(name: &str, values: Vec<Self>) -> Column {
        let lists: Vec<Series> = values
            .into_iter()
            .map(|v| Series::new(PlSmallStr::EMPTY, v))
            .collect();
        Column::new(name.into(), lists)
    }
    fn read(column: &Column, path: &Path, name: &'static str) -> Result<Vec<Self>, AnalysisError> {
        let lists = column.list().map_err(cast_error(path, name))?;
        let values: Vec<Option<Vec<f64>>> = lists
            .amortized_iter()
            .map(|list| {
                list.and_then(|series| {
                    let floats = series.as_ref().f64().ok()?;
                    floats.iter().collect::<Option<Vec<f64>>>()
                })
            })
            .collect();
        complete(values.into_iter(), path, name)
    }
    /// Tables written before the `features` column existed held two-feature points
    /// only, in `x0` and `x1`; their rows read with no list, as if not kept.
    fn missing() -> Option<Self> {
        Some(Vec::new())
    }
}

/// A table: its file name, its columns, and the conversions both ways.
pub(crate) trait Table: Sized {
    /// The table's name: the folder of its part files inside the experiment's folder
    /// (`runs/part-*.parquet`), and with `.parquet` the single file of the layout before
    /// parts.
    const NAME: &'static str;
    /// Column names, in order.
    const COLUMNS: &'static [&'static str];
    /// Rows to a frame.
    fn to_frame(rows: &[Self]) -> PolarsResult<DataFrame>;
    /// A frame back to rows, checking every column's presence and type.
    fn from_frame(df: &DataFrame, path: &Path) -> Result<Vec<Self>, AnalysisError>;
}

/// Finds a column and checks its type.
fn typed_column<'a, T: Cell>(
    df: &'a DataFrame,
    path: &Path,
    name: &'static str,
) -> Result<&'a Column, AnalysisError> {
    let column = df.column(name).map_err(|_| AnalysisError::MissingColumn {
        path: path.to_owned(),
        column: name,
    })?;
    if column.dtype() != &T::dtype() {
        return Err(AnalysisError::WrongType {
            path: path.to_owned(),
            column: name,
            expected: T::TYPE_NAME,
            found: column.dtype().to_string(),
        });
    }
    Ok(column)
}

/// Reads one column into values of the field's type.
pub(crate) fn read_column<T: Cell>(
    df: &DataFrame,
    path: &Path,
    name: &'static str,
) -> Result<Vec<T>, AnalysisError> {
    if df.column(name).is_err()
        && let Some(value) = T::missing()
    {
        return Ok(vec![value; df.height()]);
    }
    T::read(typed_column::<T>(df, path, name)?, path, name)
}

/// Implements [`Table`] for a row struct from its column list. Every name is written
/// in full, because `tables.rs` expands it (see its `columns!`).
macro_rules! table {
    ($row:ident, $name:literal, [$($field:ident),* $(,)?]) => {
        impl $crate::schema::Table for $row {
            const NAME: &'static str = $name;
            const COLUMNS: &'static [&'static str] = &[$(stringify!($field)),*];

            fn to_frame(
                rows: &[Self],
            ) -> polars_core::prelude::PolarsResult<polars_core::prelude::DataFrame> {
                polars_core::prelude::DataFrame::new(
                    rows.len(),
                    vec![$($crate::schema::Cell::column(stringify!($field), rows.iter().map(|r| r.$field.clone()).collect())),*],
                )
            }

            fn from_frame(
                df: &polars_core::prelude::DataFrame,
                path: &::std::path::Path,
            ) -> Result<Vec<Self>, $crate::AnalysisError> {
                $(let mut $field = $crate::schema::read_column(df, path, stringify!($field))?.into_iter();)*
                let mut rows = Vec::with_capacity(df.height());
                for _ in 0..df.height() {
                    // Every column has the frame's height, so none runs out first.
                    rows.push(Self { $($field: $field.next().expect("column shorter than its frame")),* });
                }
                Ok(rows)
            }
        }
    };
}
pub(crate) use table;

/// The columns of `runs` that resuming and the final summary need, read without the
/// others (`config_toml` alone is most of the table).
#[derive(Debug, Clone)]
pub(crate) struct StoredColumns {
    pub(crate) run_id: String,
    pub(crate) label: String,
    pub(crate) config_hash: String,
    pub(crate) seed: u64,
    pub(crate) final_accuracy: f64,
    pub(crate) final_loss: f64,
    pub(crate) diverged: bool,
    pub(crate) crate_version: String,
}

table!(
    StoredColumns,
    "runs",
    [
        run_id,
        label,
        config_hash,
        seed,
        final_accuracy,
        final_loss,
        diverged,
        crate_version,
    ]
);
