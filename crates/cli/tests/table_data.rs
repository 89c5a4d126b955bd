//! Users' data files: good Parquet and CSV tables read into datasets, and every kind of
//! refusal, each checked for naming the file, the column, the row (and for CSV the
//! line) and what was expected.

use std::fs;
use std::path::{Path, PathBuf};

use polars_core::prelude::{Column, DataFrame, DataType};
use polars_io::parquet::write::ParquetWriter;
use tempfile::TempDir;
use vanishing::table_data::{TableDataError, TableRequest, read_table};
use vanishing_train::LoadedTable;

/// The committed CSV fixture: a pandas index, text with a missing marker and a quoted
/// line break, booleans in two spellings, integers, floats, and labels 5, -1, 2.0, 5.
fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/table_data/good.csv")
}

fn read(
    path: &Path,
    label: &str,
    features: Option<&[&str]>,
) -> Result<LoadedTable, TableDataError> {
    let features: Option<Vec<String>> = features.map(|f| f.iter().map(|&s| s.to_owned()).collect());
    read_table(&TableRequest {
        path,
        label,
        features: features.as_deref(),
    })
}

/// The message of the refusal of `path`, checked to name the file and each of `parts`.
#[track_caller]
fn refusal(path: &Path, label: &str, features: Option<&[&str]>, parts: &[&str]) -> String {
    let message = match read(path, label, features) {
        Ok(table) => panic!("{} was accepted: {table:?}", path.display()),
        Err(e) => e.to_string(),
    };
    assert!(
        message.starts_with(&format!("{}: ", path.display())),
        "the message does not start with the file: {message}"
    );
    for part in parts {
        assert!(message.contains(part), "{part:?} is not in: {message}");
    }
    message
}

fn write(dir: &TempDir, name: &str, bytes: impl AsRef<[u8]>) -> PathBuf {
    let path = dir.path().join(name);
    fs::write(&path, bytes).unwrap();
    path
}

fn write_parquet(dir: &TempDir, name: &str, columns: Vec<Column>) -> PathBuf {
    let height = columns.first().map_or(0, Column::len);
    let mut frame = DataFrame::new(height, columns).unwrap();
    let path = dir.path().join(name);
    let mut file = fs::File::create(&path).unwrap();
    ParquetWriter::new(&mut file).finish(&mut frame).unwrap();
    path
}

// ---------------------------------------------------------------------------------
// Good files
// ---------------------------------------------------------------------------------

#[test]
fn csv_defaults_to_every_numeric_column_but_the_label_and_the_index() {
    let table = read(&fixture(), "label", None).unwrap();
    // The unnamed first column is pandas' index and `name` is text: neither is a
    // feature; booleans are 0 and 1.
    assert_eq!(table.feature_names, ["x0", "flag", "count", "x1"]);
    assert_eq!(table.classes, [-1, 2, 5]);
    assert_eq!(table.dataset.labels, [2, 0, 1, 2]);
    assert_eq!(table.dataset.n_features, 4);
    assert_eq!(
        table.dataset.x,
        [
            0.5, 1.0, 3.0, -1.25, //
            1.5, 0.0, 4.0, 0.2, //
            -0.5, 1.0, 10.0, 0.0, //
            2.25, 0.0, -7.0, 1000.0,
        ]
    );
}

#[test]
fn csv_listed_features_come_in_the_listed_order() {
    let table = read(&fixture(), "label", Some(&["x1", "x0"])).unwrap();
    assert_eq!(table.feature_names, ["x1", "x0"]);
    assert_eq!(
        table.dataset.x,
        [-1.25, 0.5, 0.2, 1.5, 0.0, -0.5, 1000.0, 2.25]
    );
    assert_eq!(table.dataset.labels, [2, 0, 1, 2]);
}

#[test]
fn csv_with_a_byte_order_mark_crlf_lines_and_spaces() {
    let dir = TempDir::new().unwrap();
    let path = write(&dir, "bom.csv", "\u{feff}y , a\r\n 1 , 0.5\r\n\r\n0,-1\r\n");
    let table = read(&path, "y", None).unwrap();
    assert_eq!(table.feature_names, ["a"]);
    assert_eq!(table.dataset.x, [0.5, -1.0]);
    assert_eq!(table.dataset.labels, [1, 0]);
}

#[test]
fn parquet_reads_every_numeric_type_and_skips_text_and_the_index() {
    let dir = TempDir::new().unwrap();
    let path = write_parquet(
        &dir,
        "good.parquet",
        vec![
            Column::new("__index_level_0__".into(), [10i64, 11, 12]),
            Column::new("f64".into(), [0.5f64, -1.5, 2.0]),
            Column::new("name".into(), ["a", "b", "c"]),
            Column::new("f32".into(), [0.25f32, 1.0, -2.0]),
            Column::new("label".into(), [7i64, 3, 7]),
            Column::new("i32".into(), [-3i32, 0, 4]),
            Column::new("u32".into(), [1u32, 2, 3]),
            Column::new("i64".into(), [1i64 << 40, 0, -5]),
            Column::new("u64".into(), [9u64, 8, 7]),
            Column::new("bool".into(), [true, false, true]),
        ],
    );
    let table = read(&path, "label", None).unwrap();
    assert_eq!(
        table.feature_names,
        ["f64", "f32", "i32", "u32", "i64", "u64", "bool"]
    );
    assert_eq!(table.classes, [3, 7]);
    assert_eq!(table.dataset.labels, [1, 0, 1]);
    assert_eq!(
        table.dataset.x,
        [
            0.5,
            0.25,
            -3.0,
            1.0,
            1_099_511_627_776.0,
            9.0,
            1.0, //
            -1.5,
            1.0,
            0.0,
            2.0,
            0.0,
            8.0,
            0.0, //
            2.0,
            -2.0,
            4.0,
            3.0,
            -5.0,
            7.0,
            1.0,
        ]
    );

    let listed = read(&path, "label", Some(&["bool", "f64"])).unwrap();
    assert_eq!(listed.feature_names, ["bool", "f64"]);
    assert_eq!(listed.dataset.x, [1.0, 0.5, 0.0, -1.5, 1.0, 2.0]);
}

#[test]
fn parquet_labels_may_be_whole_floats_or_booleans() {
    let dir = TempDir::new().unwrap();
    let floats = write_parquet(
        &dir,
        "floats.parquet",
        vec![
            Column::new("y".into(), [2.0f64, -1.0, 2.0]),
            Column::new("a".into(), [1.0f64, 2.0, 3.0]),
        ],
    );
    let table = read(&floats, "y", None).unwrap();
    assert_eq!(table.classes, [-1, 2]);
    assert_eq!(table.dataset.labels, [1, 0, 1]);

    let booleans = write_parquet(
        &dir,
        "booleans.parquet",
        vec![
            Column::new("y".into(), [true, false, false]),
            Column::new("a".into(), [1.0f64, 2.0, 3.0]),
        ],
    );
    let table = read(&booleans, "y", None).unwrap();
    assert_eq!(table.classes, [0, 1]);
    assert_eq!(table.dataset.labels, [1, 0, 0]);
}

#[test]
fn labels_keep_every_digit_of_large_integers() {
    let dir = TempDir::new().unwrap();
    // 2^53 + 1 is the first integer an f64 cannot hold.
    let path = write(
        &dir,
        "big.csv",
        "y,a\n9007199254740993,1\n9007199254740992,2\n",
    );
    let table = read(&path, "y", None).unwrap();
    assert_eq!(
        table.classes,
        [9_007_199_254_740_992, 9_007_199_254_740_993]
    );
    assert_eq!(table.dataset.labels, [1, 0]);
}

// ---------------------------------------------------------------------------------
// The content hash
// ---------------------------------------------------------------------------------

#[test]
fn the_hash_is_the_sha256_of_the_bytes_and_any_changed_byte_changes_it() {
    let table = read(&fixture(), "label", None).unwrap();
    // `sha256sum good.csv`, first 16 hex digits: the hash depends on the bytes alone.
    assert_eq!(table.content_hash, "a227793190c58818");
    // The label and features chosen are not the file's content.
    let other = read(&fixture(), "count", Some(&["x0"])).unwrap();
    assert_eq!(other.content_hash, table.content_hash);

    let dir = TempDir::new().unwrap();
    let mut bytes = fs::read(fixture()).unwrap();
    let at = bytes.windows(4).position(|w| w == b"2.25").unwrap();
    bytes[at] = b'3';
    let changed = write(&dir, "changed.csv", &bytes);
    let table_changed = read(&changed, "label", None).unwrap();
    assert_eq!(table_changed.dataset.x[12..13], [3.25]);
    assert_ne!(table_changed.content_hash, table.content_hash);
    assert_eq!(table_changed.content_hash.len(), 16);
}

#[test]
fn a_parquet_file_hashes_the_same_every_time_and_differs_when_a_byte_does() {
    let dir = TempDir::new().unwrap();
    let columns = || {
        vec![
            Column::new("y".into(), [0i64, 1, 0]),
            Column::new("a".into(), [1.0f64, 2.0, 3.0]),
        ]
    };
    let path = write_parquet(&dir, "a.parquet", columns());
    let first = read(&path, "y", None).unwrap();
    let second = read(&path, "y", None).unwrap();
    assert_eq!(first.content_hash, second.content_hash);
    assert!(first.content_hash.bytes().all(|b| b.is_ascii_hexdigit()));

    let changed = write_parquet(
        &dir,
        "b.parquet",
        vec![
            Column::new("y".into(), [0i64, 1, 0]),
            Column::new("a".into(), [1.0f64, 2.0, 4.0]),
        ],
    );
    assert_ne!(
        read(&changed, "y", None).unwrap().content_hash,
        first.content_hash
    );
}

// ---------------------------------------------------------------------------------
// Refusals: the file
// ---------------------------------------------------------------------------------

#[test]
fn unknown_extensions_are_refused_naming_both_kinds() {
    let dir = TempDir::new().unwrap();
    let txt = write(&dir, "data.txt", "y,a\n0,1\n1,2\n");
    refusal(
        &txt,
        "y",
        None,
        &["`.txt`", "`.parquet` or `.pq`", "`.csv`"],
    );
    let bare = write(&dir, "data", "y,a\n0,1\n1,2\n");
    refusal(&bare, "y", None, &["no extension", "Parquet", "CSV"]);
}

#[test]
fn extensions_are_read_in_any_case_and_pq_is_parquet() {
    let dir = TempDir::new().unwrap();
    let upper = write(&dir, "DATA.CSV", "y,a\n0,1\n1,2\n");
    assert_eq!(read(&upper, "y", None).unwrap().dataset.x, [1.0, 2.0]);
    let pq = write_parquet(
        &dir,
        "data.pq",
        vec![
            Column::new("y".into(), [0i64, 1]),
            Column::new("a".into(), [1.0f64, 2.0]),
        ],
    );
    assert_eq!(read(&pq, "y", None).unwrap().dataset.x, [1.0, 2.0]);
}

#[test]
fn a_missing_file_is_named_as_resolved() {
    let dir = TempDir::new().unwrap();
    let path = dir.path().join("nowhere/data.csv");
    refusal(
        &path,
        "y",
        None,
        &["cannot read the data file", "no such file"],
    );
}

#[test]
fn a_file_that_is_not_parquet_is_refused() {
    let dir = TempDir::new().unwrap();
    let garbage = write(&dir, "garbage.parquet", "y,a\n0,1\n");
    refusal(&garbage, "y", None, &["not a valid Parquet file"]);

    let whole = write_parquet(
        &dir,
        "whole.parquet",
        vec![
            Column::new("y".into(), [0i64, 1, 0, 1]),
            Column::new("a".into(), [1.0f64, 2.0, 3.0, 4.0]),
        ],
    );
    let bytes = fs::read(&whole).unwrap();
    let truncated = write(&dir, "truncated.parquet", &bytes[..bytes.len() / 2]);
    refusal(&truncated, "y", None, &["not a valid Parquet file"]);
    let headless = write(&dir, "headless.parquet", &bytes[bytes.len() / 2..]);
    refusal(&headless, "y", None, &["not a valid Parquet file"]);
}

#[test]
fn a_csv_row_with_another_number_of_fields_is_refused_with_its_line() {
    let dir = TempDir::new().unwrap();
    let path = write(&dir, "ragged.csv", "y,a,b\n0,1,2\n1,2\n");
    refusal(
        &path,
        "y",
        None,
        &[
            "not a valid CSV file",
            "row 2 (line 3)",
            "has 2 fields",
            "header has 3",
        ],
    );
}

#[test]
fn an_empty_csv_file_is_refused() {
    let dir = TempDir::new().unwrap();
    let empty = write(&dir, "empty.csv", "");
    refusal(
        &empty,
        "y",
        None,
        &["not a valid CSV file", "empty", "header row"],
    );
    let blank = write(&dir, "blank.csv", ",,\n1,2,3\n");
    refusal(&blank, "y", None, &["names no column", "header row"]);
}

// ---------------------------------------------------------------------------------
// Refusals: columns
// ---------------------------------------------------------------------------------

#[test]
fn a_missing_label_column_lists_the_columns_and_a_near_name() {
    refusal(
        &fixture(),
        "lable",
        None,
        &[
            "no column `lable` for the label column",
            "`x0`, `name`, `flag`",
            "did you mean `label`?",
        ],
    );
    let dir = TempDir::new().unwrap();
    let path = write_parquet(
        &dir,
        "t.parquet",
        vec![
            Column::new("species".into(), [0i64, 1]),
            Column::new("width".into(), [1.0f64, 2.0]),
        ],
    );
    refusal(
        &path,
        "Species",
        None,
        &[
            "no column `Species`",
            "`species`, `width`",
            "did you mean `species`?",
        ],
    );
}

#[test]
fn a_csv_without_a_header_or_with_semicolons_says_so() {
    let dir = TempDir::new().unwrap();
    let headless = write(&dir, "headless.csv", "0,1.5,2\n1,2.5,3\n");
    refusal(
        &headless,
        "y",
        None,
        &["no column `y`", "lack a header row"],
    );
    let semicolons = write(&dir, "semi.csv", "y;a;b\n0;1;2\n");
    refusal(
        &semicolons,
        "y",
        None,
        &["no column `y`", "`y;a;b`", "semicolons"],
    );
}

#[test]
fn a_missing_feature_column_lists_the_columns_and_a_near_name() {
    refusal(
        &fixture(),
        "label",
        Some(&["x0", "cuont"]),
        &[
            "no column `cuont` for the feature column",
            "(unnamed), `x0`, `name`, `flag`, `count`, `x1`, `label`",
            "did you mean `count`?",
        ],
    );
    let dir = TempDir::new().unwrap();
    let path = write_parquet(
        &dir,
        "t.parquet",
        vec![
            Column::new("y".into(), [0i64, 1]),
            Column::new("width".into(), [1.0f64, 2.0]),
        ],
    );
    refusal(
        &path,
        "y",
        Some(&["widht"]),
        &[
            "no column `widht` for the feature column",
            "did you mean `width`?",
        ],
    );
}

#[test]
fn a_listed_feature_that_is_not_numeric_is_refused_with_what_it_holds() {
    refusal(
        &fixture(),
        "label",
        Some(&["x0", "name"]),
        &[
            "feature column `name` holds text",
            "\"alpha\" in row 1 (line 2)",
            "expected finite numbers",
        ],
    );
    let dir = TempDir::new().unwrap();
    let path = write_parquet(
        &dir,
        "t.parquet",
        vec![
            Column::new("y".into(), [0i64, 1]),
            Column::new("city".into(), ["Oslo", "Lima"]),
        ],
    );
    refusal(
        &path,
        "y",
        Some(&["city"]),
        &[
            "feature column `city` holds text",
            "expected finite numbers",
        ],
    );
}

#[test]
fn a_csv_column_of_numbers_with_a_word_is_refused_by_default() {
    let dir = TempDir::new().unwrap();
    let path = write(&dir, "mixed.csv", "y,a,b\n0,1,2\n1,oops,3\n");
    refusal(
        &path,
        "y",
        None,
        &[
            "column `a` holds numbers",
            "row 2 (line 3) holds \"oops\"",
            "not a number",
            "list the feature columns",
        ],
    );
    // Listed without it, the file is fine.
    assert_eq!(
        read(&path, "y", Some(&["b"])).unwrap().dataset.x,
        [2.0, 3.0]
    );
}

#[test]
fn the_label_cannot_be_a_feature_nor_a_feature_listed_twice() {
    refusal(
        &fixture(),
        "label",
        Some(&["x0", "label"]),
        &["`label` is the label column and cannot also be a feature"],
    );
    refusal(
        &fixture(),
        "label",
        Some(&["x0", "x1", "x0"]),
        &["feature column `x0` is listed twice"],
    );
    refusal(
        &fixture(),
        "label",
        Some(&[]),
        &["list of feature columns is empty"],
    );
}

#[test]
fn a_used_name_shared_by_two_csv_columns_is_refused() {
    let dir = TempDir::new().unwrap();
    let path = write(&dir, "twice.csv", "y,a,a,b\n0,1,2,3\n1,2,3,4\n");
    refusal(
        &path,
        "y",
        None,
        &["2 columns are named `a`", "feature column"],
    );
    refusal(
        &path,
        "a",
        None,
        &["2 columns are named `a`", "label column"],
    );
    // Unused, the shared name is harmless.
    assert_eq!(
        read(&path, "y", Some(&["b"])).unwrap().dataset.x,
        [3.0, 4.0]
    );
}

#[test]
fn no_feature_column_left_is_refused_listing_what_the_others_hold() {
    let dir = TempDir::new().unwrap();
    let path = write(&dir, "text.csv", ",y,name,nothing\n0,0,a,\n1,1,b,NA\n");
    refusal(
        &path,
        "y",
        None,
        &[
            "no feature columns",
            "`name`: text",
            "`nothing`: no values",
            "(unnamed): an index pandas wrote",
            "at least one numeric column besides the label `y`",
        ],
    );
    let only_label = write_parquet(
        &dir,
        "label.parquet",
        vec![Column::new("y".into(), [0i64, 1])],
    );
    refusal(
        &only_label,
        "y",
        None,
        &["no feature columns", "the file has no other column"],
    );
}

// ---------------------------------------------------------------------------------
// Refusals: values
// ---------------------------------------------------------------------------------

#[test]
fn a_missing_csv_value_names_column_row_and_line() {
    let dir = TempDir::new().unwrap();
    // The quoted line break makes the third row start on line 5.
    let path = write(
        &dir,
        "missing.csv",
        "y,a,note\n0,1,\"one\nline more\"\n1,2,x\n0,,y\n",
    );
    refusal(
        &path,
        "y",
        None,
        &[
            "feature column `a`, row 3 (line 5): missing value (an empty cell)",
            "expected finite numbers",
        ],
    );
    let marked = write(&dir, "marked.csv", "y,a\n0,1\n\n1,NA\n");
    refusal(
        &marked,
        "y",
        None,
        &["feature column `a`, row 2 (line 4): missing value (the cell says `NA`)"],
    );
    let label = write(&dir, "label.csv", "y,a\n0,1\n,2\n");
    refusal(
        &label,
        "y",
        None,
        &[
            "label column `y`, row 2 (line 3): missing value (an empty cell)",
            "expected integer class labels",
        ],
    );
    // A listed column with no value at all is missing at its first row.
    let empty = write(&dir, "empty.csv", "y,a,b\n0,1,\n1,2,\n");
    refusal(
        &empty,
        "y",
        Some(&["a", "b"]),
        &["feature column `b`, row 1 (line 2): missing value"],
    );
}

#[test]
fn a_null_parquet_value_names_column_and_row() {
    let dir = TempDir::new().unwrap();
    let path = write_parquet(
        &dir,
        "nulls.parquet",
        vec![
            Column::new("y".into(), [0i64, 1, 0]),
            Column::new("a".into(), [Some(1.0f64), Some(2.0), None]),
        ],
    );
    refusal(
        &path,
        "y",
        None,
        &[
            "feature column `a`, row 3: missing value (null)",
            "expected finite numbers",
        ],
    );
    let label = write_parquet(
        &dir,
        "null_label.parquet",
        vec![
            Column::new("y".into(), [Some(0i64), None, Some(1)]),
            Column::new("a".into(), [1.0f64, 2.0, 3.0]),
        ],
    );
    refusal(
        &label,
        "y",
        None,
        &[
            "label column `y`, row 2: missing value (null)",
            "expected integer class labels",
        ],
    );
    let all_null = write_parquet(
        &dir,
        "all_null.parquet",
        vec![
            Column::new("y".into(), [0i64, 1]),
            Column::new("a".into(), [1.0f64, 2.0]),
            Column::full_null("b".into(), 2, &DataType::Null),
        ],
    );
    // Left out by default; listed, missing at its first row.
    assert_eq!(read(&all_null, "y", None).unwrap().feature_names, ["a"]);
    refusal(
        &all_null,
        "y",
        Some(&["a", "b"]),
        &["feature column `b`, row 1: missing value (null)"],
    );
}

#[test]
fn non_finite_values_name_column_row_and_line() {
    let dir = TempDir::new().unwrap();
    for (cell, shown) in [
        ("NaN", "\"NaN\""),
        ("-inf", "\"-inf\""),
        ("1e999", "\"1e999\""),
    ] {
        let path = write(&dir, "nan.csv", format!("y,a\n0,1\n1,{cell}\n"));
        refusal(
            &path,
            "y",
            None,
            &[
                &format!("feature column `a`, row 2 (line 3): {shown} is not a finite number"),
                "expected finite numbers",
            ],
        );
    }
    // Of a missing value and a NaN in one column, the earlier is named.
    let both = write(&dir, "both.csv", "y,a\n0,nan\n1,\n");
    refusal(
        &both,
        "y",
        None,
        &["row 1 (line 2): \"nan\" is not a finite number"],
    );

    let path = write_parquet(
        &dir,
        "nan.parquet",
        vec![
            Column::new("y".into(), [0i64, 1, 0]),
            Column::new("a".into(), [1.0f64, f64::INFINITY, f64::NAN]),
        ],
    );
    refusal(
        &path,
        "y",
        None,
        &["feature column `a`, row 2: inf is not a finite number"],
    );
    let label = write_parquet(
        &dir,
        "nan_label.parquet",
        vec![
            Column::new("y".into(), [0.0f64, f64::NAN]),
            Column::new("a".into(), [1.0f64, 2.0]),
        ],
    );
    refusal(
        &label,
        "y",
        None,
        &[
            "label column `y`, row 2: NaN is not a finite number",
            "integer class labels",
        ],
    );
}

#[test]
fn labels_that_are_not_integers_name_row_line_and_value() {
    let dir = TempDir::new().unwrap();
    let fraction = write(&dir, "fraction.csv", "y,a\n0,1\n1.5,2\n");
    refusal(
        &fraction,
        "y",
        None,
        &[
            "label column `y`, row 2 (line 3): \"1.5\" is not an integer",
            "expected integer class labels",
        ],
    );
    let word = write(&dir, "word.csv", "a,y\n1,dog\n2,cat\n");
    refusal(
        &word,
        "y",
        None,
        &[
            "label column `y`, row 1 (line 2): \"dog\" is not an integer",
            "map text",
        ],
    );
    let huge = write(&dir, "huge.csv", "y,a\n0,1\n1e30,2\n");
    refusal(
        &huge,
        "y",
        None,
        &["row 2 (line 3): \"1e30\" is not an integer"],
    );

    let parquet = write_parquet(
        &dir,
        "fraction.parquet",
        vec![
            Column::new("y".into(), [0.0f64, 0.5]),
            Column::new("a".into(), [1.0f64, 2.0]),
        ],
    );
    refusal(
        &parquet,
        "y",
        None,
        &[
            "label column `y`, row 2: 0.5 is not an integer",
            "expected integer class labels",
        ],
    );
    let text = write_parquet(
        &dir,
        "text.parquet",
        vec![
            Column::new("y".into(), ["cat", "dog"]),
            Column::new("a".into(), [1.0f64, 2.0]),
        ],
    );
    refusal(
        &text,
        "y",
        None,
        &[
            "label column `y` holds text",
            "expected integer class labels",
        ],
    );
}

#[test]
fn a_single_class_is_refused() {
    let dir = TempDir::new().unwrap();
    let path = write(&dir, "one.csv", "y,a\n3,1\n3.0,2\n");
    refusal(
        &path,
        "y",
        None,
        &[
            "label column `y` holds a single class (3 in all 2 rows)",
            "at least two",
        ],
    );
}

#[test]
fn a_table_without_rows_is_refused() {
    let dir = TempDir::new().unwrap();
    let csv = write(&dir, "header.csv", "y,a\n");
    refusal(&csv, "y", None, &["no rows of data"]);
    let parquet = write_parquet(
        &dir,
        "empty.parquet",
        vec![
            Column::new("y".into(), Vec::<i64>::new()),
            Column::new("a".into(), Vec::<f64>::new()),
        ],
    );
    refusal(&parquet, "y", None, &["no rows of data"]);
}

#[test]
fn a_long_cell_is_cut_short_in_the_message() {
    let dir = TempDir::new().unwrap();
    let long = "w".repeat(10_000);
    let path = write(&dir, "long.csv", format!("y,a\n{long},1\n0,2\n"));
    let message = refusal(&path, "y", None, &["is not an integer"]);
    assert!(message.len() < 400, "{message}");
}

/// Reads `bytes` with each byte damaged in turn, and returns how many reads gave a
/// table and how many an error; a panic that escaped or a hang would fail the test.
fn damage_each_byte(dir: &TempDir, name: &str, bytes: &[u8], features: &[&str]) -> [usize; 2] {
    let mut outcomes = [0; 2];
    for at in 0..bytes.len() {
        let mut damaged = bytes.to_vec();
        damaged[at] ^= 0x5a;
        let path = write(dir, name, &damaged);
        match read(&path, "y", Some(features)) {
            Ok(_) => outcomes[0] += 1,
            Err(e) => {
                let message = e.to_string();
                assert!(
                    message.starts_with(&format!("{}: ", path.display())),
                    "byte {at}: {message}"
                );
                outcomes[1] += 1;
            }
        }
    }
    outcomes
}

#[test]
fn every_damaged_byte_of_a_file_gives_a_table_or_an_error() {
    // polars' Parquet decoder panics on some damaged files (failed assertions, slices
    // out of range); the reader turns those panics into errors.
    let dir = TempDir::new().unwrap();
    let good = write_parquet(
        &dir,
        "good.parquet",
        vec![
            Column::new("y".into(), [0i64, 1, 0, 1]),
            Column::new("a".into(), [Some(1.0f64), Some(2.0), None, Some(4.0)]),
            Column::new("b".into(), [1i32, 2, 3, 4]),
        ],
    );
    let bytes = fs::read(&good).unwrap();
    let [tables, errors] = damage_each_byte(&dir, "damaged.parquet", &bytes, &["b"]);
    assert!(tables > 0 && errors > 0, "{tables} tables, {errors} errors");

    let bytes = b"y,a,b\n0,1.5,\"x\ny\"\n1,-2,z\n";
    let [tables, errors] = damage_each_byte(&dir, "damaged.csv", bytes, &["a"]);
    assert!(tables > 0 && errors > 0, "{tables} tables, {errors} errors");
}
