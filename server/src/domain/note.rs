//! Notes: validation of entries, and the writes (a note on a finding records
//! a `note_added` event in the same transaction).

use diesel_async::{AsyncConnection, AsyncPgConnection};

use super::{DomainError, check_len};
use crate::db::models::finding::Finding;
use crate::db::models::note::{NewNote, Note, NoteParent};
use crate::events::{EventKind, EventScope, Outbox};

/// Longest note accepted, in characters.
pub const MAX_NOTE_CHARS: usize = 100_000;

/// Validates a note entry.
pub fn validate_entry(entry: &str) -> Result<(), DomainError> {
    check_len("entry", entry, MAX_NOTE_CHARS, true)
}

/// A note to add.
#[derive(Debug, Clone, Copy)]
pub struct NoteInput<'a> {
    /// What it is attached to.
    pub parent: NoteParent,
    /// The parent's product.
    pub product_id: i64,
    /// The text.
    pub entry: &'a str,
    /// Only for its author and those who may edit notes.
    pub private: bool,
}

fn not_found(id: i64) -> DomainError {
    DomainError::NotFound {
        kind: "Note",
        id: id.to_string(),
    }
}

/// Adds a note; on a finding (`finding` given) it also records `note_added`.
pub async fn create(
    conn: &mut AsyncPgConnection,
    input: NoteInput<'_>,
    finding: Option<&Finding>,
    author: Option<i64>,
) -> Result<Note, DomainError> {
    validate_entry(input.entry)?;
    let parent = input.parent;
    let new = NewNote {
        entry: input.entry,
        author_id: author,
        private: input.private,
        finding_id: match parent {
            NoteParent::Finding(i) => Some(i),
            _ => None,
        },
        test_id: match parent {
            NoteParent::Test(i) => Some(i),
            _ => None,
        },
        engagement_id: match parent {
            NoteParent::Engagement(i) => Some(i),
            _ => None,
        },
        product_id: input.product_id,
    };
    conn.transaction::<_, DomainError, _>(async |c| {
        let row = Note::create(c, &new).await?;
        if let Some(f) = finding {
            Outbox::record(
                c,
                EventKind::NoteAdded,
                &EventScope::of_finding(f, author),
                Some(f.id),
                &serde_json::json!({"note": {"before": null, "after": row.id}}),
            )
            .await?;
        }
        Ok(row)
    })
    .await
}

/// Replaces a note's text, keeping the old one in its history.
pub async fn update(
    conn: &mut AsyncPgConnection,
    id: i64,
    entry: &str,
    editor: Option<i64>,
) -> Result<Note, DomainError> {
    validate_entry(entry)?;
    conn.transaction::<_, DomainError, _>(async |c| {
        Note::edit(c, id, entry, editor)
            .await?
            .ok_or_else(|| not_found(id))
    })
    .await
}

/// Deletes a note.
pub async fn delete(conn: &mut AsyncPgConnection, id: i64) -> Result<(), DomainError> {
    if Note::delete(conn, id).await? {
        Ok(())
    } else {
        Err(not_found(id))
    }
}
