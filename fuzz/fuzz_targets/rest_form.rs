//! The REST import form (`POST /api/v2/import-scan/`): any multipart body,
//! split into reads at any points, is read within its limits or refused
//! with an error; every field decoder answers a value or a field error.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../../server/src/rest/form.rs"]
mod form;

const LIMIT: u64 = 4096;

const FIELDS: [&str; 8] = [
    "scan_type",
    "active",
    "verified",
    "scan_date",
    "engagement",
    "test",
    "close_old_findings",
    "engagement_end_date",
];

fuzz_target!(|data: &[u8]| {
    let Some((&selector, body)) = data.split_first() else {
        return;
    };
    // The low bits choose where the body is cut into reads.
    let step = usize::from(selector % 64) + 1;
    let chunks: Vec<Result<bytes::Bytes, std::io::Error>> = body
        .chunks(step)
        .map(|c| Ok(bytes::Bytes::copy_from_slice(c)))
        .collect();
    let content_type = if selector & 64 == 0 {
        "multipart/form-data; boundary=XyZ"
    } else {
        "multipart/form-data; boundary=\"quoted boundary\""
    };
    let read = form::read(Some(content_type), futures::stream::iter(chunks), LIMIT);
    let Ok(form) = futures::executor::block_on(read) else {
        return;
    };
    for name in FIELDS {
        let _ = form.string(name);
        let _ = form.bool(name, false);
        let _ = form.opt_bool(name);
        let _ = form.id(name);
        let _ = form.date(name);
    }
    let _ = form.tags();
    if let Some((file, _)) = &form.file {
        let len = std::fs::metadata(file.path()).map(|m| m.len()).unwrap_or(0);
        assert!(len <= LIMIT, "a report over the limit was accepted");
    }
});
