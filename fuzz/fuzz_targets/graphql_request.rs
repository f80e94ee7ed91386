//! GraphQL request decoding as `POST /graphql` does it: any body under any
//! of the media types is accepted or refused with an error, and what is
//! accepted goes through the server's own pre-execution reads (the
//! operation a GET may run, the field count of the document).
#![no_main]

use async_graphql::http::MultipartOptions;
use libfuzzer_sys::fuzz_target;

#[path = "../../server/src/graphql/document.rs"]
mod document;

const CONTENT_TYPES: [Option<&str>; 5] = [
    Some("application/json"),
    Some("application/graphql+json; charset=utf-8"),
    Some("multipart/form-data; boundary=XyZ"),
    Some("text/plain"),
    None,
];

fuzz_target!(|data: &[u8]| {
    let Some((&selector, body)) = data.split_first() else {
        return;
    };
    let content_type = CONTENT_TYPES[usize::from(selector) % CONTENT_TYPES.len()];
    if document::body_kind(content_type).is_err() {
        return;
    }
    let options = MultipartOptions::default()
        .max_file_size(64 * 1024)
        .max_num_files(16);
    let reader = futures::io::Cursor::new(body.to_vec());
    let Ok(request) = futures::executor::block_on(async_graphql::http::receive_body(
        content_type,
        reader,
        options,
    )) else {
        return;
    };
    let _ = document::operation_type(&request.query, request.operation_name.as_deref());
    if let Ok(doc) = async_graphql::parser::parse_query(&request.query) {
        // Every counted field is at least one character of the document.
        assert!(document::count_fields(&doc) <= request.query.len());
    }
});
