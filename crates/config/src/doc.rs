//! A typed walk over a parsed TOML document that keeps every value's position, so that
//! each complaint names the file, line, column and dotted key, and unknown keys are
//! caught with a "did you mean" from the keys the schema knows.

use std::borrow::Cow;
use std::cell::RefCell;
use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

use toml::Spanned;
use toml::de::{DeTable, DeValue};

/// A refused experiment file: where, which key, and what was expected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// The file.
    pub file: PathBuf,
    /// 1-based line and column of the offending text, when there is one.
    pub position: Option<(usize, usize)>,
    /// The dotted key, when the problem is with one.
    pub key: Option<String>,
    /// What is wrong and what was expected.
    pub message: String,
    /// A suggestion, such as a near name.
    pub hint: Option<String>,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let Some((line, column)) = self.position {
            write!(f, ":{line}:{column}")?;
        }
        f.write_str(": ")?;
        if let Some(key) = &self.key {
            write!(f, "`{key}`: ")?;
        }
        f.write_str(&self.message)?;
        if let Some(hint) = &self.hint {
            write!(f, " ({hint})")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigError {}

/// The text of one experiment file, for turning byte offsets into lines and columns.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Source<'a> {
    pub(crate) file: &'a Path,
    pub(crate) text: &'a str,
}

impl Source<'_> {
    pub(crate) fn position(&self, offset: usize) -> (usize, usize) {
        let before = &self.text[..offset.min(self.text.len())];
        let line = before.matches('\n').count() + 1;
        let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        (line, column)
    }

    pub(crate) fn error(
        &self,
        span: Option<Range<usize>>,
        key: Option<&str>,
        message: impl Into<String>,
    ) -> ConfigError {
        ConfigError {
            file: self.file.to_owned(),
            position: span.map(|s| self.position(s.start)),
            key: key.map(str::to_owned),
            message: message.into(),
            hint: None,
        }
    }
}

/// The closest of `candidates` to `given`, if it is close enough to be a likely typo.
pub(crate) fn did_you_mean<'c>(
    given: &str,
    candidates: impl IntoIterator<Item = &'c str>,
) -> Option<&'c str> {
    candidates
        .into_iter()
        .map(|c| (strsim::jaro_winkler(given, c), c))
        .filter(|&(score, _)| score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
}

fn join(prefix: &str, key: &str) -> String {
    if prefix.is_empty() {
        key.to_owned()
    } else {
        format!("{prefix}.{key}")
    }
}

/// One TOML value with its position and dotted key.
#[derive(Clone, Copy)]
pub(crate) struct Value<'a, 'i> {
    pub(crate) source: Source<'a>,
    pub(crate) key: &'a str,
    pub(crate) value: &'a Spanned<DeValue<'i>>,
}

/// One TOML table being read: every key taken is marked, and [`Table::finish`] refuses
/// the keys nobody took.
pub(crate) struct Table<'a, 'i> {
    pub(crate) source: Source<'a>,
    pub(crate) key: String,
    table: &'a DeTable<'i>,
    span: Range<usize>,
    taken: RefCell<Vec<&'static str>>,
}

impl<'a, 'i> Table<'a, 'i> {
    pub(crate) fn new(
        source: Source<'a>,
        key: String,
        table: &'a DeTable<'i>,
        span: Range<usize>,
    ) -> Self {
        Self {
            source,
            key,
            table,
            span,
            taken: RefCell::new(Vec::new()),
        }
    }

    /// The dotted key of an entry of this table.
    pub(crate) fn child_key(&self, name: &str) -> String {
        join(&self.key, name)
    }

    /// The value at `name`, if present; `name` counts as a known key either way.
    pub(crate) fn get(&self, name: &'static str) -> Option<(String, &'a Spanned<DeValue<'i>>)> {
        let mut taken = self.taken.borrow_mut();
        if !taken.contains(&name) {
            taken.push(name);
        }
        drop(taken);
        self.table.get(name).map(|v| (self.child_key(name), v))
    }

    /// Applies `read` to the value at `name`, if present.
    pub(crate) fn optional<T>(
        &self,
        name: &'static str,
        read: impl FnOnce(Value<'_, 'i>) -> Result<T, ConfigError>,
    ) -> Result<Option<T>, ConfigError> {
        match self.get(name) {
            Some((key, value)) => read(Value {
                source: self.source,
                key: &key,
                value,
            })
            .map(Some),
            None => Ok(None),
        }
    }

    /// Applies `read` to the value at `name`, or refuses a missing key.
    pub(crate) fn required<T>(
        &self,
        name: &'static str,
        expected: &str,
        read: impl FnOnce(Value<'_, 'i>) -> Result<T, ConfigError>,
    ) -> Result<T, ConfigError> {
        self.optional(name, read)?.ok_or_else(|| {
            // A misspelling of the missing key is the likelier story: report that.
            let misspelt = self
                .table
                .iter()
                .find(|(key, _)| did_you_mean(key.get_ref(), [name]).is_some());
            if let Some((key, _)) = misspelt {
                let mut err = self.source.error(
                    Some(key.span()),
                    Some(&self.child_key(key.get_ref())),
                    format!("unknown key; `{}` is missing", self.child_key(name)),
                );
                err.hint = Some(format!("did you mean `{name}`?"));
                return err;
            }
            self.source.error(
                Some(self.span.clone()),
                Some(&self.child_key(name)),
                format!("missing key; expected {expected}"),
            )
        })
    }

    /// The sub-table at `name` (an empty one if absent).
    pub(crate) fn table(&self, name: &'static str) -> Result<Table<'a, 'i>, ConfigError> {
        match self.get(name) {
            Some((key, value)) => match value.get_ref().as_table() {
                Some(table) => Ok(Table::new(self.source, key, table, value.span())),
                None => Err(Value {
                    source: self.source,
                    key: &key,
                    value,
                }
                .wrong_type("a table")),
            },
            None => Ok(Table::new(
                self.source,
                self.child_key(name),
                empty_table(),
                self.span.clone(),
            )),
        }
    }

    /// An error about the entry `name` of this table, at its value when present (else
    /// at the table), keyed by its dotted key.
    pub(crate) fn error_at(&self, name: &'static str, message: impl Into<String>) -> ConfigError {
        let span = self.get(name).map(|(_, v)| v.span());
        self.source.error(
            Some(span.unwrap_or_else(|| self.span.clone())),
            Some(&self.child_key(name)),
            message,
        )
    }

    /// An error about this table as a whole, at its position.
    pub(crate) fn error(&self, message: impl Into<String>) -> ConfigError {
        self.source
            .error(Some(self.span.clone()), Some(&self.key), message)
    }

    /// Refuses every key that was not taken, suggesting the nearest known key.
    pub(crate) fn finish(self) -> Result<(), ConfigError> {
        let taken = self.taken.borrow();
        for (key, _) in self.table {
            if !taken.contains(&key.get_ref().as_ref()) {
                let mut err = self.source.error(
                    Some(key.span()),
                    Some(&self.child_key(key.get_ref())),
                    format!("unknown key; expected one of: {}", taken.join(", ")),
                );
                err.hint = did_you_mean(key.get_ref(), taken.iter().copied())
                    .map(|m| format!("did you mean `{m}`?"));
                return Err(err);
            }
        }
        Ok(())
    }
}

fn empty_table() -> &'static DeTable<'static> {
    static EMPTY: std::sync::OnceLock<DeTable<'static>> = std::sync::OnceLock::new();
    EMPTY.get_or_init(DeTable::new)
}

impl<'a, 'i> Value<'a, 'i> {
    pub(crate) fn error(&self, message: impl Into<String>) -> ConfigError {
        self.source
            .error(Some(self.value.span()), Some(self.key), message)
    }

    fn wrong_type(&self, expected: &str) -> ConfigError {
        self.error(format!(
            "expected {expected}, found {}",
            describe(self.value.get_ref())
        ))
    }

    pub(crate) fn str(&self) -> Result<&'a str, ConfigError> {
        self.value
            .get_ref()
            .as_str()
            .ok_or_else(|| self.wrong_type("a string"))
    }

    pub(crate) fn bool(&self) -> Result<bool, ConfigError> {
        self.value
            .get_ref()
            .as_bool()
            .ok_or_else(|| self.wrong_type("true or false"))
    }

    /// A number; integers are accepted where a float is expected.
    pub(crate) fn f64(&self) -> Result<f64, ConfigError> {
        match self.value.get_ref() {
            DeValue::Float(f) => f.as_str().parse().map_err(|_| self.wrong_type("a number")),
            DeValue::Integer(i) => i64::from_str_radix(i.as_str(), i.radix())
                .map(|v| v as f64)
                .map_err(|_| self.wrong_type("a number")),
            _ => Err(self.wrong_type("a number")),
        }
    }

    /// A non-negative integer.
    pub(crate) fn u64(&self) -> Result<u64, ConfigError> {
        match self.value.get_ref() {
            DeValue::Integer(i) => u64::from_str_radix(i.as_str(), i.radix())
                .map_err(|_| self.error(format!("expected a whole number >= 0, found {i}"))),
            _ => Err(self.wrong_type("a whole number")),
        }
    }

    /// A positive integer that fits in `usize`.
    pub(crate) fn positive(&self) -> Result<usize, ConfigError> {
        let v = self.u64()?;
        if v == 0 {
            return Err(self.error("expected a whole number >= 1, found 0"));
        }
        usize::try_from(v).map_err(|_| self.error(format!("{v} is too large")))
    }

    /// A number within `range`, described in words as `expected`.
    pub(crate) fn f64_in(
        &self,
        ok: impl Fn(f64) -> bool,
        expected: &str,
    ) -> Result<f64, ConfigError> {
        let v = self.f64()?;
        if !ok(v) {
            return Err(self.error(format!("expected {expected}, found {v}")));
        }
        Ok(v)
    }

    pub(crate) fn array(&self) -> Result<Vec<Value<'a, 'i>>, ConfigError> {
        let array = self
            .value
            .get_ref()
            .as_array()
            .ok_or_else(|| self.wrong_type("an array"))?;
        Ok(array
            .iter()
            .map(|value| Value {
                source: self.source,
                key: self.key,
                value,
            })
            .collect())
    }

    pub(crate) fn is_table(&self) -> bool {
        self.value.get_ref().is_table()
    }

    pub(crate) fn table(&self) -> Result<Table<'a, 'i>, ConfigError> {
        let table = self
            .value
            .get_ref()
            .as_table()
            .ok_or_else(|| self.wrong_type("a table"))?;
        Ok(Table::new(
            self.source,
            self.key.to_owned(),
            table,
            self.value.span(),
        ))
    }

    /// One of the `names`, with a "did you mean" for a near miss.
    pub(crate) fn one_of<T: Copy>(
        &self,
        what: &str,
        names: &[(&str, T)],
    ) -> Result<T, ConfigError> {
        let given = self.str()?;
        if let Some(&(_, v)) = names.iter().find(|(n, _)| *n == given) {
            return Ok(v);
        }
        let list: Vec<&str> = names.iter().map(|(n, _)| *n).collect();
        let mut err = self.error(format!(
            "unknown {what} \"{given}\"; expected one of: {}",
            list.join(", ")
        ));
        err.hint =
            did_you_mean(given, list.iter().copied()).map(|m| format!("did you mean \"{m}\"?"));
        Err(err)
    }
}

/// A value's type in words, for messages.
pub(crate) fn describe(value: &DeValue<'_>) -> Cow<'static, str> {
    match value {
        DeValue::String(s) => format!("the string \"{s}\"").into(),
        DeValue::Integer(i) => format!("the integer {i}").into(),
        DeValue::Float(f) => format!("the number {}", f.as_str()).into(),
        DeValue::Boolean(b) => format!("{b}").into(),
        DeValue::Datetime(_) => "a date".into(),
        DeValue::Array(_) => "an array".into(),
        DeValue::Table(_) => "a table".into(),
    }
}
