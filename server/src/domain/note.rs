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
    /// Only for its author, superusers and the product's Maintainers and Owners.
    pub private: bool,
    /// The name of an active note type.
    pub note_type: Option<&'a str>,
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
        note_type_id: None,
    };
    let note_type = input.note_type.map(|name| super::triage::ActionNote {
        entry: input.entry.to_owned(),
        note_type: Some(name.to_owned()),
        private: input.private,
    });
    if let Some(n) = &note_type {
        n.validate()?;
    }
    conn.transaction::<_, DomainError, _>(async |c| {
        let mut new = new;
        if let Some(n) = &note_type {
            let t = n.note_type(c).await?;
            if let Some(f) = finding {
                super::triage::check_single(c, t.as_ref(), &[f.id]).await?;
            }
            new.note_type_id = t.map(|t| t.id);
        }
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

/// What a superuser sets on a note type; `None` keeps a value (a new type
/// needs a name).
#[derive(Debug, Clone, Default)]
pub struct NoteTypeInput {
    /// Unique name.
    pub name: Option<String>,
    /// What it is for.
    pub description: Option<String>,
    /// At most one note of this type per finding.
    pub is_single: Option<bool>,
    /// Offered for new notes.
    pub is_active: Option<bool>,
    /// Required on close.
    pub is_mandatory: Option<bool>,
}

impl NoteTypeInput {
    fn changes(&self) -> Result<crate::db::models::note::NoteTypeChanges<'_>, DomainError> {
        if let Some(n) = &self.name {
            check_len("name", n.trim(), 100, true)?;
        }
        if let Some(d) = &self.description {
            check_len("description", d, 200, false)?;
        }
        Ok(crate::db::models::note::NoteTypeChanges {
            name: self.name.as_deref().map(str::trim),
            description: self.description.as_deref(),
            is_single: self.is_single,
            is_active: self.is_active,
            is_mandatory: self.is_mandatory,
        })
    }
}

fn name_taken(e: diesel::result::Error) -> DomainError {
    match DomainError::from(e) {
        DomainError::Conflict(_) => DomainError::Invalid {
            field: "name".to_owned(),
            message: "a note type of this name exists".to_owned(),
        },
        other => other,
    }
}

/// Creates a note type.
pub async fn create_type(
    conn: &mut AsyncPgConnection,
    input: &NoteTypeInput,
) -> Result<crate::db::models::note::NoteType, DomainError> {
    if input.name.is_none() {
        return Err(DomainError::Invalid {
            field: "name".to_owned(),
            message: "must not be empty".to_owned(),
        });
    }
    let changes = input.changes()?;
    crate::db::models::note::NoteType::create(conn, &changes)
        .await
        .map_err(name_taken)
}

/// Changes note type `id` (deactivate it with `is_active: false`: notes
/// keep it, new notes cannot take it).
pub async fn update_type(
    conn: &mut AsyncPgConnection,
    id: i64,
    input: &NoteTypeInput,
) -> Result<crate::db::models::note::NoteType, DomainError> {
    let changes = input.changes()?;
    if changes.name.is_none()
        && changes.description.is_none()
        && changes.is_single.is_none()
        && changes.is_active.is_none()
        && changes.is_mandatory.is_none()
    {
        return Err(DomainError::Invalid {
            field: "input".to_owned(),
            message: "names no change".to_owned(),
        });
    }
    crate::db::models::note::NoteType::update(conn, id, &changes)
        .await
        .map_err(name_taken)?
        .ok_or_else(|| DomainError::NotFound {
            kind: "NoteType",
            id: id.to_string(),
        })
}
