//! The REST import endpoints (`/api/v2/import-scan/`, `/api/v2/reimport-scan/`)
//! as a client sends them: a multipart form with text fields and a `file`.

use reqwest::multipart::{Form, Part};
use serde_json::Value;

use super::TestServer;

/// `POST /api/v2/import-scan/`.
pub const IMPORT: &str = "/api/v2/import-scan/";

/// A multipart import form: `fields` as text parts, `report` as the `file`
/// part named `file_name`.
pub fn import_form<V: AsRef<str>>(fields: &[(&str, V)], report: Vec<u8>, file_name: &str) -> Form {
    let mut form = Form::new();
    for (k, v) in fields {
        form = form.text((*k).to_owned(), v.as_ref().to_owned());
    }
    form.part("file", Part::bytes(report).file_name(file_name.to_owned()))
}

/// The answer to a REST import: status and raw body.
pub struct RestResponse {
    /// The HTTP status.
    pub status: u16,
    /// The body as sent.
    pub body: String,
}

impl RestResponse {
    /// The body as JSON (`Null` when it is not JSON).
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or(Value::Null)
    }

    /// Status and JSON body, for a `let (status, body) = ..` at the call site.
    pub fn status_and_json(&self) -> (u16, Value) {
        (self.status, self.json())
    }
}

/// POSTs `form` to `path` (e.g. [`IMPORT`]) with `Token <token>`
/// credentials, or as the admin when `token` is `None`.
pub async fn rest_import(
    s: &TestServer,
    path: &str,
    token: Option<&str>,
    form: Form,
) -> RestResponse {
    let request = match token {
        Some(token) => s
            .anonymous_http
            .post(format!("{}{path}", s.base))
            .header("authorization", format!("Token {token}")),
        None => s.http.post(format!("{}{path}", s.base)),
    };
    let r = request.multipart(form).send().await.expect("REST import");
    RestResponse {
        status: r.status().as_u16(),
        body: r.text().await.expect("body"),
    }
}
