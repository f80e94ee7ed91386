//! Splitting CSV text into records exactly as Python's `csv.reader` does with
//! its default dialect (`"` quotes, doubled quotes inside quoted fields, no
//! strict mode), for parsers whose reference reads reports that way.
//!
//! Unlike the `csv` crate, an empty line is an empty record (`[]`), which some
//! reference parsers turn into a finding; a quote in the middle of an unquoted
//! field is kept literally; text after a closing quote is appended to the
//! field; an unterminated quoted field ends at the end of the input.

/// Python's default `csv.field_size_limit()`: a longer field makes its reader fail.
pub const PY_FIELD_LIMIT: usize = 131_072;

/// The first field longer than [`PY_FIELD_LIMIT`] characters, as (record index,
/// field index), for parsers whose reference reads with the default limit.
pub fn field_over_limit(records: &[Vec<String>]) -> Option<(usize, usize)> {
    records.iter().enumerate().find_map(|(r, rec)| {
        rec.iter()
            .position(|f| f.len() > PY_FIELD_LIMIT && f.chars().count() > PY_FIELD_LIMIT)
            .map(|i| (r, i))
    })
}

/// The records of `text`, each a list of fields, as Python's `csv.reader`
/// with `delimiter` would return them.
pub fn py_csv_records(text: &str, delimiter: char) -> Vec<Vec<String>> {
    #[derive(PartialEq)]
    enum State {
        StartRecord,
        StartField,
        InField,
        InQuoted,
        QuoteInQuoted,
    }
    let mut records = Vec::new();
    let mut record: Vec<String> = Vec::new();
    let mut field = String::new();
    let mut state = State::StartRecord;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        let newline = c == '\n' || c == '\r';
        if newline && c == '\r' && chars.peek() == Some(&'\n') && state != State::InQuoted {
            // "\r\n" ends a line once.
            chars.next();
        }
        match state {
            State::StartRecord | State::StartField if newline => {
                if state == State::StartField {
                    record.push(std::mem::take(&mut field));
                }
                records.push(std::mem::take(&mut record));
                state = State::StartRecord;
            }
            State::StartRecord | State::StartField => {
                if c == '"' {
                    state = State::InQuoted;
                } else if c == delimiter {
                    record.push(String::new());
                    state = State::StartField;
                } else {
                    field.push(c);
                    state = State::InField;
                }
            }
            State::InField => {
                if newline {
                    record.push(std::mem::take(&mut field));
                    records.push(std::mem::take(&mut record));
                    state = State::StartRecord;
                } else if c == delimiter {
                    record.push(std::mem::take(&mut field));
                    state = State::StartField;
                } else {
                    field.push(c);
                }
            }
            State::InQuoted => {
                if c == '"' {
                    state = State::QuoteInQuoted;
                } else {
                    field.push(c);
                }
            }
            State::QuoteInQuoted => {
                if c == '"' {
                    field.push('"');
                    state = State::InQuoted;
                } else if c == delimiter {
                    record.push(std::mem::take(&mut field));
                    state = State::StartField;
                } else if newline {
                    record.push(std::mem::take(&mut field));
                    records.push(std::mem::take(&mut record));
                    state = State::StartRecord;
                } else {
                    field.push(c);
                    state = State::InField;
                }
            }
        }
    }
    if state != State::StartRecord {
        record.push(field);
        records.push(record);
    }
    records
}

#[cfg(test)]
mod tests {
    use super::*;

    fn recs(text: &str) -> Vec<Vec<String>> {
        py_csv_records(text, ',')
    }

    #[test]
    fn empty_lines_are_empty_records() {
        assert_eq!(
            recs("a,b\n\n1,2\n"),
            vec![vec!["a", "b"], vec![], vec!["1", "2"]]
        );
        assert_eq!(recs("a\r\n\r\nb"), vec![vec!["a"], vec![], vec!["b"]]);
        assert!(recs("").is_empty());
    }

    #[test]
    fn quoting_like_python() {
        assert_eq!(
            recs("\"x,y\",\"he said \"\"hi\"\"\",\"multi\nline\"\n"),
            vec![vec!["x,y", "he said \"hi\"", "multi\nline"]]
        );
        assert_eq!(recs("a\"b,\"c\"d\n"), vec![vec!["a\"b", "cd"]]);
        assert_eq!(recs("a,\n"), vec![vec!["a", ""]]);
        assert_eq!(recs("\"open"), vec![vec!["open"]]);
        assert_eq!(py_csv_records("a;b", ';'), vec![vec!["a", "b"]]);
    }

    #[test]
    fn field_limit() {
        let ok = vec![vec!["x".repeat(PY_FIELD_LIMIT)]];
        assert_eq!(field_over_limit(&ok), None);
        let long = vec![vec![], vec!["a".to_owned(), "x".repeat(PY_FIELD_LIMIT + 1)]];
        assert_eq!(field_over_limit(&long), Some((1, 1)));
    }
}
