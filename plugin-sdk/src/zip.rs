//! Reads the entries of a zip archive (stored or deflated) from its central
//! directory: some tools export reports zipped (SonarQube issue exports, for one).

use crate::ParseError;

/// Most a zipped report may expand to in total (a zip bomb fails fast).
pub const MAX_EXPANDED: usize = 256 * 1024 * 1024;

fn u16_at(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes([*b.get(at)?, *b.get(at + 1)?]))
}

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes([
        *b.get(at)?,
        *b.get(at + 1)?,
        *b.get(at + 2)?,
        *b.get(at + 3)?,
    ]))
}

fn truncated() -> ParseError {
    ParseError::new("the zip archive is truncated or damaged")
}

/// Says whether `bytes` start like a zip archive.
pub fn is_zip(bytes: &[u8]) -> bool {
    bytes.starts_with(b"PK\x03\x04") || bytes.starts_with(b"PK\x05\x06")
}

/// The (name, contents) of every file in the archive, in directory order.
pub fn entries(bytes: &[u8]) -> Result<Vec<(String, Vec<u8>)>, ParseError> {
    // The end-of-central-directory record is in the last 64 KiB + 22 bytes.
    let from = bytes.len().saturating_sub(65_557);
    let eocd = (from..bytes.len().saturating_sub(21))
        .rev()
        .find(|&i| bytes[i..].starts_with(b"PK\x05\x06"))
        .ok_or_else(|| ParseError::new("not a zip archive: no end of central directory"))?;
    let count = usize::from(u16_at(bytes, eocd + 10).ok_or_else(truncated)?);
    let mut at = u32_at(bytes, eocd + 16).ok_or_else(truncated)? as usize;
    let mut out = Vec::new();
    let mut total = 0usize;
    for _ in 0..count {
        if !bytes
            .get(at..)
            .is_some_and(|b| b.starts_with(b"PK\x01\x02"))
        {
            return Err(truncated());
        }
        let method = u16_at(bytes, at + 10).ok_or_else(truncated)?;
        let csize = u32_at(bytes, at + 20).ok_or_else(truncated)? as usize;
        let usize_ = u32_at(bytes, at + 24).ok_or_else(truncated)? as usize;
        let nlen = usize::from(u16_at(bytes, at + 28).ok_or_else(truncated)?);
        let xlen = usize::from(u16_at(bytes, at + 30).ok_or_else(truncated)?);
        let clen = usize::from(u16_at(bytes, at + 32).ok_or_else(truncated)?);
        let local = u32_at(bytes, at + 42).ok_or_else(truncated)? as usize;
        let name = bytes.get(at + 46..at + 46 + nlen).ok_or_else(truncated)?;
        let name = String::from_utf8_lossy(name).into_owned();
        at += 46 + nlen + xlen + clen;
        if name.ends_with('/') {
            continue;
        }
        if !bytes
            .get(local..)
            .is_some_and(|b| b.starts_with(b"PK\x03\x04"))
        {
            return Err(truncated());
        }
        let lnlen = usize::from(u16_at(bytes, local + 26).ok_or_else(truncated)?);
        let lxlen = usize::from(u16_at(bytes, local + 28).ok_or_else(truncated)?);
        let start = local + 30 + lnlen + lxlen;
        let data = bytes.get(start..start + csize).ok_or_else(truncated)?;
        let contents = match method {
            0 => data.to_vec(),
            8 => crate::inflate::inflate(data, MAX_EXPANDED.saturating_sub(total))?,
            m => {
                return Err(ParseError::new(format!(
                    "zip entry {name:?} uses compression method {m}; only stored and deflated entries are read"
                )));
            }
        };
        if contents.len() != usize_ {
            return Err(ParseError::new(format!(
                "zip entry {name:?} is damaged (size mismatch)"
            )));
        }
        total += contents.len();
        out.push((name, contents));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A folder, a stored JSON file and a deflated text file (made with Python's zipfile).
    const ARCHIVE: &str = "504b030414000000000000002100000000000000000000000000040000006469722f\
        504b0304140000000000c87d795dafac1b5607000000070000000a0000006469722f612e6a736f6e7b2261223a317d\
        504b0304140000000800c87d795de3513d8d0a0000001700000005000000622e747874cb48cdc9c957c8402701\
        504b01021403140000000000000021000000000000000000000000000400000000000000000000008001000000006469722f\
        504b01021403140000000000c87d795dafac1b5607000000070000000a00000000000000000000008001220000006469722f612e6a736f6e\
        504b01021403140000000800c87d795de3513d8d0a00000017000000050000000000000000000000800151000000622e747874\
        504b050600000000030003009d0000007e0000000000";

    fn archive() -> Vec<u8> {
        (0..ARCHIVE.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&ARCHIVE[i..i + 2], 16).unwrap())
            .collect()
    }

    #[test]
    fn reads_stored_and_deflated_entries_and_skips_folders() {
        let zip = archive();
        assert!(is_zip(&zip));
        let entries = entries(&zip).unwrap();
        let names: Vec<&str> = entries.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["dir/a.json", "b.txt"]);
        assert_eq!(entries[0].1, b"{\"a\":1}");
        assert_eq!(entries[1].1, b"hello hello hello hello");
    }

    #[test]
    fn truncated_or_foreign_bytes_are_errors() {
        let zip = archive();
        assert!(!is_zip(b"{\"a\":1}"));
        assert!(entries(b"{\"a\":1}").is_err());
        for cut in [10, 60, 120, zip.len() - 30, zip.len() - 1] {
            assert!(entries(&zip[..cut]).is_err(), "cut at {cut}");
        }
        let mut damaged = zip;
        // The stored file's directory entry (after the folder's 50 bytes) names an unknown method.
        damaged[0x7e + 50 + 10] = 9;
        assert!(entries(&damaged).is_err());
    }
}
