//! Notes: validation of entries.

use super::{DomainError, check_len};

/// Longest note accepted, in characters.
pub const MAX_NOTE_CHARS: usize = 100_000;

/// Validates a note entry.
pub fn validate_entry(entry: &str) -> Result<(), DomainError> {
    check_len("entry", entry, MAX_NOTE_CHARS, true)
}
