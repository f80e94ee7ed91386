//! Reading CSV reports with a header row; cells are addressed by column name.
//!
//! ```
//! use palisade_plugin_sdk::ParseError;
//! use palisade_plugin_sdk::csv::read_csv;
//!
//! fn titles(report: &[u8]) -> Result<Vec<String>, ParseError> {
//!     let table = read_csv(report)?;
//!     table.require_columns(&["Title", "Severity"])?;
//!     // `get` is case-insensitive and trimmed, and `None` for a blank cell.
//!     Ok(table.rows().filter_map(|row| row.get("title")).map(str::to_owned).collect())
//! }
//!
//! let report = b"Title,Severity\nSQL injection,High\n  ,Low\n";
//! assert_eq!(titles(report).unwrap(), ["SQL injection"]);
//! assert!(titles(b"Name\nx\n").is_err());
//! ```

use std::collections::HashMap;

use crate::ParseError;

/// How to read a CSV report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CsvOptions {
    /// Field delimiter, `b','` by default.
    pub delimiter: u8,
    /// Accept rows whose field count differs from the header's (missing cells read as absent).
    pub flexible: bool,
    /// Ignore spaces around header names (default). When false, " Url" and
    /// "Url" are different columns, as in tools that match headers exactly.
    pub trim_headers: bool,
}

impl Default for CsvOptions {
    fn default() -> Self {
        CsvOptions {
            delimiter: b',',
            flexible: false,
            trim_headers: true,
        }
    }
}

/// A CSV report: its header row and data rows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CsvTable {
    headers: Vec<String>,
    index: HashMap<String, usize>,
    rows: Vec<(u64, Vec<String>)>,
    trim_names: bool,
}

/// One data row of a [`CsvTable`], addressable by column name.
#[derive(Debug, Clone, Copy)]
pub struct CsvRow<'a> {
    table: &'a CsvTable,
    line: u64,
    cells: &'a [String],
}

/// Reads a CSV report with a header row, using the default [`CsvOptions`].
pub fn read_csv(bytes: &[u8]) -> Result<CsvTable, ParseError> {
    read_csv_with(bytes, &CsvOptions::default())
}

/// Reads a CSV report with a header row.
///
/// A UTF-8 byte-order mark is skipped; invalid UTF-8, a missing header row
/// and (unless `flexible`) rows with a different number of fields than the
/// header are errors naming the line.
pub fn read_csv_with(bytes: &[u8], options: &CsvOptions) -> Result<CsvTable, ParseError> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let mut reader = ::csv::ReaderBuilder::new()
        .delimiter(options.delimiter)
        .flexible(options.flexible)
        .has_headers(true)
        .from_reader(bytes);
    let headers: Vec<String> = reader
        .headers()
        .map_err(|e| csv_error(&e))?
        .iter()
        .map(|h| {
            if options.trim_headers {
                h.trim().to_owned()
            } else {
                h.to_owned()
            }
        })
        .collect();
    if headers.iter().all(|h| h.trim().is_empty()) {
        return Err(ParseError::new(
            "the CSV report is empty: expected a header row naming the columns",
        ));
    }
    let mut index = HashMap::new();
    for (i, h) in headers.iter().enumerate() {
        index.entry(h.to_lowercase()).or_insert(i);
    }
    let trim_names = options.trim_headers;
    let mut rows = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| csv_error(&e))?;
        let line = record.position().map_or(0, ::csv::Position::line);
        rows.push((line, record.iter().map(str::to_owned).collect()));
    }
    Ok(CsvTable {
        headers,
        index,
        rows,
        trim_names,
    })
}

fn csv_error(e: &::csv::Error) -> ParseError {
    use ::csv::ErrorKind;
    let (message, line) = match e.kind() {
        ErrorKind::UnequalLengths {
            pos,
            expected_len,
            len,
        } => (
            format!(
                "CSV row has {len} fields but the header has {expected_len}; \
                 check quoting and delimiters"
            ),
            pos.as_ref().map(::csv::Position::line),
        ),
        ErrorKind::Utf8 { pos, err } => (
            format!(
                "the CSV report is not valid UTF-8 text (field {}); re-export it as UTF-8",
                err.field() + 1
            ),
            pos.as_ref().map(::csv::Position::line),
        ),
        other => (format!("invalid CSV: {other:?}"), None),
    };
    let err = ParseError::new(message);
    match line {
        Some(l) => {
            let mut err = err;
            err.location = Some(crate::ReportLocation {
                line: Some(u32::try_from(l).unwrap_or(u32::MAX)),
                ..Default::default()
            });
            err
        }
        None => err,
    }
}

impl CsvTable {
    /// The header names as written (trimmed unless `trim_headers` was off).
    pub fn headers(&self) -> &[String] {
        &self.headers
    }

    /// Says whether a column exists (name compared case-insensitively, and trimmed unless `trim_headers` was off).
    pub fn has_column(&self, name: &str) -> bool {
        self.column_index(name).is_some()
    }

    /// The position of a column (name compared case-insensitively, and trimmed unless `trim_headers` was off).
    pub fn column_index(&self, name: &str) -> Option<usize> {
        let name = if self.trim_names { name.trim() } else { name };
        self.index.get(&name.to_lowercase()).copied()
    }

    /// Fails with a message listing every missing column.
    pub fn require_columns(&self, names: &[&str]) -> Result<(), ParseError> {
        let missing: Vec<&str> = names
            .iter()
            .copied()
            .filter(|n| !self.has_column(n))
            .collect();
        if missing.is_empty() {
            Ok(())
        } else {
            Err(ParseError::new(format!(
                "the CSV report lacks the column(s) {}; found: {}",
                missing.join(", "),
                self.headers.join(", ")
            ))
            .at(1, 1))
        }
    }

    /// The number of data rows.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// Says whether there are no data rows.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// The data rows in file order.
    pub fn rows(&self) -> impl ExactSizeIterator<Item = CsvRow<'_>> {
        self.rows.iter().map(move |(line, cells)| CsvRow {
            table: self,
            line: *line,
            cells,
        })
    }
}

impl<'a> CsvRow<'a> {
    /// The 1-based line of the file where the row starts.
    pub fn line(&self) -> u64 {
        self.line
    }

    /// The cell in column `name` as written (no trimming); `None` when there is no such column or cell.
    pub fn raw(&self, name: &str) -> Option<&'a str> {
        let i = self.table.column_index(name)?;
        self.cells.get(i).map(String::as_str)
    }

    /// The trimmed cell in column `name`; `None` when the column is missing or the cell is blank.
    pub fn get(&self, name: &str) -> Option<&'a str> {
        self.raw(name).map(str::trim).filter(|s| !s.is_empty())
    }

    /// The first non-blank cell among several column name spellings.
    pub fn get_any(&self, names: &[&str]) -> Option<&'a str> {
        names.iter().find_map(|n| self.get(n))
    }

    /// The cells in column order.
    pub fn cells(&self) -> &'a [String] {
        self.cells
    }

    /// A [`ParseError`] located at this row, for bad cell values.
    pub fn error(&self, message: impl Into<String>) -> ParseError {
        let mut e = ParseError::new(message);
        e.location = Some(crate::ReportLocation {
            line: Some(u32::try_from(self.line).unwrap_or(u32::MAX)),
            ..Default::default()
        });
        e
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_by_header_case_insensitively() {
        let data = b"\xEF\xBB\xBFTitle, Severity ,Description\n\
                     XSS,High,\"multi\nline, quoted\"\n\
                     SQLi, critical ,\n";
        let t = read_csv(data).unwrap();
        assert_eq!(t.headers(), ["Title", "Severity", "Description"]);
        assert_eq!(t.len(), 2);
        let rows: Vec<_> = t.rows().collect();
        assert_eq!(rows[0].get("title"), Some("XSS"));
        assert_eq!(rows[0].get("DESCRIPTION"), Some("multi\nline, quoted"));
        assert_eq!(rows[0].line(), 2);
        assert_eq!(rows[1].get("severity"), Some("critical"));
        assert_eq!(rows[1].raw("severity"), Some(" critical "));
        assert_eq!(rows[1].get("description"), None);
        assert_eq!(rows[1].line(), 4);
        assert_eq!(rows[1].get("nope"), None);
        assert_eq!(rows[1].get_any(&["nope", "Title"]), Some("SQLi"));
        assert!(t.has_column(" SEVERITY "));
    }

    #[test]
    fn ragged_rows_are_errors_with_line() {
        let e = read_csv(b"a,b,c\n1,2,3\n4,5\n").unwrap_err();
        assert!(e.message.contains("2 fields but the header has 3"), "{e}");
        assert_eq!(e.location.unwrap().line, Some(3));
        let flexible = CsvOptions {
            flexible: true,
            ..CsvOptions::default()
        };
        let t = read_csv_with(b"a,b,c\n4,5\n", &flexible).unwrap();
        let row = t.rows().next().unwrap();
        assert_eq!(row.get("b"), Some("5"));
        assert_eq!(row.get("c"), None);
    }

    #[test]
    fn invalid_utf8_and_empty() {
        let e = read_csv(b"a,b\n1,\xff\n").unwrap_err();
        assert!(e.message.contains("UTF-8"), "{e}");
        assert_eq!(e.location.unwrap().line, Some(2));
        let e = read_csv(b"").unwrap_err();
        assert!(e.message.contains("empty"), "{e}");
        let t = read_csv(b"a,b\n").unwrap();
        assert!(t.is_empty());
    }

    #[test]
    fn required_columns_and_delimiter() {
        let t = read_csv(b"Title,Date\nx,y\n").unwrap();
        let e = t
            .require_columns(&["title", "Severity", "CWE"])
            .unwrap_err();
        assert!(e.message.contains("Severity, CWE"), "{e}");
        assert!(t.require_columns(&["TITLE", "date"]).is_ok());
        let semi = CsvOptions {
            delimiter: b';',
            ..CsvOptions::default()
        };
        let t = read_csv_with(b"a;b\n1;2\n", &semi).unwrap();
        assert_eq!(t.rows().next().unwrap().get("B"), Some("2"));
        let row = t.rows().next().unwrap();
        assert_eq!(row.error("bad").location.unwrap().line, Some(2));
        let exact = CsvOptions {
            trim_headers: false,
            ..CsvOptions::default()
        };
        let t = read_csv_with(b"Title, Url\nx,http://h\n", &exact).unwrap();
        assert!(!t.has_column("Url"));
        assert!(t.has_column(" url"));
        assert_eq!(t.headers(), ["Title", " Url"]);
        assert_eq!(row.cells(), ["1", "2"]);
    }
}
