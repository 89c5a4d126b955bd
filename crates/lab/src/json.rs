//! Rows as JSON objects keyed by their tables' column names.
//!
//! JSON has no NaN, no infinities and, as JavaScript reads it, no integers beyond 2^53,
//! all of which a table can hold (a diverged run's loss, a seed). Such a value is
//! written as a one-key object, `{"$f":"NaN"}` (also `"Infinity"`, `"-Infinity"`) or
//! `{"$u":"18446744073709551615"}` / `{"$i":"..."}`, which the page's reader turns back
//! into a number (or a `BigInt` for the integers); every other number is written in the
//! shortest form that reads back as the same `f64`, so the page sees the very bits the
//! Parquet files hold.

use std::fmt::Write;

use vanishing_analysis::{Cell, Row};

/// The largest integer JavaScript's numbers hold exactly.
const SAFE_INTEGER: u64 = (1 << 53) - 1;

/// Appends `rows` to `out` as a JSON array of objects.
pub(crate) fn push_rows<R: Row>(out: &mut String, rows: &[R]) {
    out.push('[');
    for (i, row) in rows.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        push_row(out, row);
    }
    out.push(']');
}

/// Appends one row as a JSON object.
pub(crate) fn push_row<R: Row>(out: &mut String, row: &R) {
    out.push('{');
    let mut first = true;
    row.cells(&mut |name, cell| {
        if !first {
            out.push(',');
        }
        first = false;
        push_str(out, name);
        out.push(':');
        push_cell(out, cell);
    });
    out.push('}');
}

fn push_cell(out: &mut String, cell: Cell<'_>) {
    match cell {
        Cell::Str(s) => push_str(out, s),
        Cell::I64(v) if v.unsigned_abs() <= SAFE_INTEGER => {
            let _ = write!(out, "{v}");
        }
        Cell::I64(v) => {
            let _ = write!(out, "{{\"$i\":\"{v}\"}}");
        }
        Cell::U64(v) if v <= SAFE_INTEGER => {
            let _ = write!(out, "{v}");
        }
        Cell::U64(v) => {
            let _ = write!(out, "{{\"$u\":\"{v}\"}}");
        }
        Cell::F64(v) | Cell::OptF64(Some(v)) => push_f64(out, v),
        Cell::OptF64(None) => out.push_str("null"),
        Cell::Bool(v) => out.push_str(if v { "true" } else { "false" }),
        Cell::F64s(values) => {
            out.push('[');
            for (i, &v) in values.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                push_f64(out, v);
            }
            out.push(']');
        }
    }
}

/// Appends a number in the shortest form that reads back as `v`, or its marker object.
pub(crate) fn push_f64(out: &mut String, v: f64) {
    if v.is_nan() {
        out.push_str("{\"$f\":\"NaN\"}");
    } else if v.is_infinite() {
        out.push_str(if v > 0.0 {
            "{\"$f\":\"Infinity\"}"
        } else {
            "{\"$f\":\"-Infinity\"}"
        });
    } else if v == 0.0 || (1e-5..1e16).contains(&v.abs()) {
        // Rust's `Display` of a float is the shortest text that parses back to it; it
        // never uses an exponent, which is compact in this range only. A negative zero
        // keeps its sign ("-0"), as JavaScript reads it.
        let _ = write!(out, "{v}");
    } else {
        let _ = write!(out, "{v:e}");
    }
}

/// Appends a JSON string.
pub(crate) fn push_str(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            // The page embeds no JSON in HTML, but `</script>` inside a string is
            // harmless to escape and saves a reader of the text a surprise.
            '<' => out.push_str("\\u003c"),
            c if u32::from(c) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use vanishing_analysis::MetricRow;

    use super::*;

    fn number(v: f64) -> String {
        let mut out = String::new();
        push_f64(&mut out, v);
        out
    }

    #[test]
    fn numbers_read_back_as_the_same_bits() {
        for v in [
            0.0,
            -0.0,
            1.0,
            0.1,
            1.0 / 3.0,
            1e-5,
            9.999_999e-6,
            1e-300,
            5e-324,
            1e16,
            123_456_789.123_456_78,
            f64::MAX,
            f64::MIN_POSITIVE,
            -2.5e-12,
            f64::from(0.1_f32),
        ] {
            let text = number(v);
            let back: f64 = text.parse().unwrap();
            assert_eq!(back.to_bits(), v.to_bits(), "{v} written as {text}");
        }
        assert_eq!(number(f64::NAN), r#"{"$f":"NaN"}"#);
        assert_eq!(number(f64::INFINITY), r#"{"$f":"Infinity"}"#);
        assert_eq!(number(f64::NEG_INFINITY), r#"{"$f":"-Infinity"}"#);
        assert_eq!(number(0.25), "0.25");
        assert_eq!(number(1e-300), "1e-300");
    }

    #[test]
    fn strings_are_escaped() {
        let mut out = String::new();
        push_str(&mut out, "a\"b\\c\nd\u{1}</script>é");
        assert_eq!(out, r#""a\"b\\c\nd\u0001\u003c/script>é""#);
    }

    #[test]
    fn rows_are_objects_keyed_by_column() {
        let rows = [MetricRow {
            run_id: "deep/s7".into(),
            epoch: 2,
            step: 64,
            split: "test".into(),
            loss: f64::NAN,
            accuracy: 0.5,
        }];
        let mut out = String::new();
        push_rows(&mut out, &rows);
        assert_eq!(
            out,
            r#"[{"run_id":"deep/s7","epoch":2,"step":64,"split":"test","loss":{"$f":"NaN"},"accuracy":0.5}]"#
        );
    }

    #[test]
    fn large_integers_are_marked() {
        let mut out = String::new();
        push_cell(&mut out, Cell::U64(u64::MAX));
        push_cell(&mut out, Cell::U64(SAFE_INTEGER));
        push_cell(&mut out, Cell::I64(-(1 << 60)));
        assert_eq!(
            out,
            r#"{"$u":"18446744073709551615"}9007199254740991{"$i":"-1152921504606846976"}"#
        );
    }
}
