//! The multipart form of the DefectDojo-compatible import endpoints: read
//! from the raw body with bounded memory (the report spools to a temporary
//! file, text fields are capped) and decoded with Django REST framework's
//! spellings.
//!
//! It depends on nothing of the server, so the fuzz target `rest_form`
//! compiles this file as it is and drives it with arbitrary bodies.

use std::collections::HashMap;
use std::io::Write;

use chrono::NaiveDate;

/// The largest text field of a form: every field DefectDojo defines is a
/// short value, so anything bigger is a mistake or an attempt to fill memory.
pub const MAX_TEXT_FIELD_BYTES: usize = 64 * 1024;

/// The most text all fields of one form may hold together.
pub const MAX_TEXT_BYTES: usize = 1024 * 1024;

/// The form as received: text fields (repeatable) and the report on disk.
#[derive(Debug)]
pub struct Form {
    fields: HashMap<String, Vec<String>>,
    /// The uploaded report and the name the client gave it.
    pub file: Option<(tempfile::NamedTempFile, String)>,
}

/// A field whose value is refused, in DRF's words.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct FieldError {
    /// The form field (or `non_field_errors`).
    pub field: String,
    /// What is wrong with it.
    pub message: String,
}

impl FieldError {
    fn new(field: &str, message: impl Into<String>) -> FieldError {
        FieldError {
            field: field.to_owned(),
            message: message.into(),
        }
    }
}

/// Why the form could not be read.
#[derive(Debug, thiserror::Error)]
pub enum FormError {
    /// The body is not `multipart/form-data` with a boundary.
    #[error("the request is not multipart/form-data with a boundary")]
    NotMultipart,
    /// The body or the report is over the upload limit.
    #[error("the upload is over the limit")]
    TooLarge,
    /// The multipart encoding is broken.
    #[error("{0}")]
    Malformed(String),
    /// A text field is refused.
    #[error(transparent)]
    Field(#[from] FieldError),
    /// The report could not be written to a temporary file.
    #[error("cannot spool the upload: {0}")]
    Spool(#[from] std::io::Error),
}

fn from_multer(e: multer::Error) -> FormError {
    match e {
        multer::Error::StreamSizeExceeded { .. } | multer::Error::FieldSizeExceeded { .. } => {
            FormError::TooLarge
        }
        // The body stream failed; the server's own stream says why only
        // when the limit was crossed, which the size checks report first.
        e => FormError::Malformed(e.to_string()),
    }
}

/// Reads a `multipart/form-data` body whose `Content-Type` is
/// `content_type`: the `file` part (at most `limit` bytes) to a temporary
/// file, every other part as text.
pub async fn read<S, O, E>(
    content_type: Option<&str>,
    body: S,
    limit: u64,
) -> Result<Form, FormError>
where
    S: futures::Stream<Item = Result<O, E>> + Send + 'static,
    O: Into<bytes::Bytes> + 'static,
    E: Into<Box<dyn std::error::Error + Send + Sync>> + 'static,
{
    let boundary = content_type
        .and_then(|c| multer::parse_boundary(c).ok())
        .ok_or(FormError::NotMultipart)?;
    // Room for the report, the text fields and the part headers around them.
    let whole = limit
        .saturating_add(MAX_TEXT_BYTES as u64)
        .saturating_add(64 * 1024);
    let constraints =
        multer::Constraints::new().size_limit(multer::SizeLimit::new().whole_stream(whole));
    let mut multipart = multer::Multipart::with_constraints(body, boundary, constraints);
    let mut form = Form {
        fields: HashMap::new(),
        file: None,
    };
    let mut text_total = 0usize;
    while let Some(mut field) = multipart.next_field().await.map_err(from_multer)? {
        let name = field.name().unwrap_or("").to_owned();
        if name == "file" {
            let file_name = field.file_name().unwrap_or("report").to_owned();
            let mut tmp = tempfile::NamedTempFile::new()?;
            let mut written: u64 = 0;
            while let Some(chunk) = field.chunk().await.map_err(from_multer)? {
                written += chunk.len() as u64;
                if written > limit {
                    return Err(FormError::TooLarge);
                }
                tmp.write_all(&chunk)?;
            }
            form.file = Some((tmp, file_name));
            continue;
        }
        let mut bytes = Vec::new();
        while let Some(chunk) = field.chunk().await.map_err(from_multer)? {
            if bytes.len() + chunk.len() > MAX_TEXT_FIELD_BYTES {
                return Err(FieldError::new(
                    &name,
                    format!("Ensure this field has no more than {MAX_TEXT_FIELD_BYTES} bytes."),
                )
                .into());
            }
            bytes.extend_from_slice(&chunk);
        }
        text_total += bytes.len();
        if text_total > MAX_TEXT_BYTES {
            return Err(FieldError::new(
                "non_field_errors",
                format!("The form's text fields exceed {MAX_TEXT_BYTES} bytes in total."),
            )
            .into());
        }
        let text = String::from_utf8(bytes)
            .map_err(|_| FieldError::new(&name, "The value is not valid UTF-8 text."))?;
        form.fields.entry(name).or_default().push(text);
    }
    Ok(form)
}

impl Form {
    /// The last value of `name`, trimmed; blank counts as absent (as DRF).
    pub fn text(&self, name: &str) -> Option<&str> {
        self.fields
            .get(name)
            .and_then(|v| v.last())
            .map(|s| s.trim())
            .filter(|s| !s.is_empty())
    }

    /// [`Form::text`], owned.
    pub fn string(&self, name: &str) -> Option<String> {
        self.text(name).map(str::to_owned)
    }

    /// Django REST framework's boolean spellings.
    pub fn bool(&self, name: &str, default: bool) -> Result<bool, FieldError> {
        match self.text(name) {
            None => Ok(default),
            Some(v) => match v.to_ascii_lowercase().as_str() {
                "true" | "1" | "yes" | "on" | "t" | "y" => Ok(true),
                "false" | "0" | "no" | "off" | "f" | "n" => Ok(false),
                _ => Err(FieldError::new(name, "Must be a valid boolean.")),
            },
        }
    }

    /// A boolean that may be left unset.
    pub fn opt_bool(&self, name: &str) -> Result<Option<bool>, FieldError> {
        if self.text(name).is_none() {
            return Ok(None);
        }
        self.bool(name, false).map(Some)
    }

    /// A primary key.
    pub fn id(&self, name: &str) -> Result<Option<i64>, FieldError> {
        match self.text(name) {
            None => Ok(None),
            Some(v) => v
                .parse::<i64>()
                .map(Some)
                .map_err(|_| FieldError::new(name, "A valid integer is required.")),
        }
    }

    /// A `YYYY-MM-DD` date.
    pub fn date(&self, name: &str) -> Result<Option<NaiveDate>, FieldError> {
        match self.text(name) {
            None => Ok(None),
            Some(v) => NaiveDate::parse_from_str(v, "%Y-%m-%d")
                .map(Some)
                .map_err(|_| {
                    FieldError::new(
                        name,
                        "Date has wrong format. Use one of these formats instead: YYYY-MM-DD.",
                    )
                }),
        }
    }

    /// Tags arrive repeated or comma-separated.
    pub fn tags(&self) -> Vec<String> {
        self.fields
            .get("tags")
            .into_iter()
            .flatten()
            .flat_map(|v| v.split(','))
            .map(|t| t.trim().to_owned())
            .filter(|t| !t.is_empty())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(parts: &[(&str, Option<&str>, &[u8])]) -> Vec<u8> {
        let mut out = Vec::new();
        for (name, file, data) in parts {
            out.extend_from_slice(b"--XyZ\r\n");
            match file {
                Some(f) => out.extend_from_slice(
                    format!(
                        "Content-Disposition: form-data; name=\"{name}\"; filename=\"{f}\"\r\n\r\n"
                    )
                    .as_bytes(),
                ),
                None => out.extend_from_slice(
                    format!("Content-Disposition: form-data; name=\"{name}\"\r\n\r\n").as_bytes(),
                ),
            }
            out.extend_from_slice(data);
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(b"--XyZ--\r\n");
        out
    }

    async fn read_body(bytes: Vec<u8>, limit: u64) -> Result<Form, FormError> {
        let stream = futures::stream::iter([Ok::<_, std::io::Error>(bytes::Bytes::from(bytes))]);
        read(Some("multipart/form-data; boundary=XyZ"), stream, limit).await
    }

    #[tokio::test]
    async fn fields_file_and_drf_spellings() {
        let form = read_body(
            body(&[
                ("tags", None, b"a, b"),
                ("tags", None, b"c"),
                ("active", None, b"Yes"),
                ("verified", None, b" "),
                ("scan_date", None, b"2026-12-07"),
                ("engagement", None, b"42"),
                ("file", Some("r.json"), b"{}"),
            ]),
            1024,
        )
        .await
        .expect("form");
        assert_eq!(form.tags(), ["a", "b", "c"]);
        assert_eq!(form.opt_bool("active"), Ok(Some(true)));
        assert_eq!(form.opt_bool("verified"), Ok(None), "blank is unset");
        assert_eq!(
            form.date("scan_date"),
            Ok(NaiveDate::from_ymd_opt(2026, 12, 7))
        );
        assert_eq!(form.id("engagement"), Ok(Some(42)));
        let (file, name) = form.file.as_ref().expect("file");
        assert_eq!(name, "r.json");
        assert_eq!(std::fs::read(file.path()).expect("spooled"), b"{}");
    }

    #[tokio::test]
    async fn bad_values_name_their_field() {
        let form = read_body(
            body(&[
                ("active", None, b"maybe"),
                ("scan_date", None, b"07/12/2026"),
            ]),
            1024,
        )
        .await
        .expect("form");
        assert_eq!(form.bool("active", false).expect_err("bad").field, "active");
        assert_eq!(form.date("scan_date").expect_err("bad").field, "scan_date");
        let err = read_body(body(&[("title", None, &[0xff, 0xfe])]), 1024)
            .await
            .expect_err("not UTF-8");
        assert!(matches!(err, FormError::Field(FieldError { ref field, .. }) if field == "title"));
    }

    #[tokio::test]
    async fn sizes_are_bounded() {
        let big = vec![b'x'; 2048];
        assert!(matches!(
            read_body(body(&[("file", Some("r"), &big)]), 1024).await,
            Err(FormError::TooLarge)
        ));
        let long = vec![b'x'; MAX_TEXT_FIELD_BYTES + 1];
        assert!(matches!(
            read_body(body(&[("version", None, &long)]), 1024).await,
            Err(FormError::Field(FieldError { ref field, .. })) if field == "version"
        ));
    }

    #[tokio::test]
    async fn broken_bodies_are_errors_not_panics() {
        let stream =
            futures::stream::iter([Ok::<_, std::io::Error>(bytes::Bytes::from_static(b"{}"))]);
        assert!(matches!(
            read(Some("application/json"), stream, 10).await,
            Err(FormError::NotMultipart)
        ));
        assert!(matches!(
            read_body(
                b"--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nunterminated".to_vec(),
                10
            )
            .await,
            Err(FormError::Malformed(_))
        ));
    }
}
