//! Notes on findings, tests and engagements.

use chrono::{DateTime, Utc};
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use crate::db::schema::{note_history, note_types, notes};

/// A note.
#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = notes, check_for_backend(Pg))]
pub struct Note {
    pub id: i64,
    pub entry: String,
    pub date: DateTime<Utc>,
    pub author_id: Option<i64>,
    pub private: bool,
    pub edited: bool,
    pub editor_id: Option<i64>,
    pub edit_time: Option<DateTime<Utc>>,
    pub note_type_id: Option<i64>,
    pub finding_id: Option<i64>,
    pub test_id: Option<i64>,
    pub engagement_id: Option<i64>,
    pub product_id: i64,
}

/// Insert form of [`Note`].
#[derive(Debug, Insertable)]
#[diesel(table_name = notes)]
pub struct NewNote<'a> {
    pub entry: &'a str,
    pub author_id: Option<i64>,
    pub private: bool,
    pub finding_id: Option<i64>,
    pub test_id: Option<i64>,
    pub engagement_id: Option<i64>,
    pub product_id: i64,
    pub note_type_id: Option<i64>,
}

/// What a note is attached to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NoteParent {
    /// A finding.
    Finding(i64),
    /// A test.
    Test(i64),
    /// An engagement.
    Engagement(i64),
}

/// A note's id and its finding, as a bulk insert returns them.
#[derive(Debug, QueryableByName)]
pub struct FindingNoteRef {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub id: i64,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub finding_id: i64,
}

/// A kind of note ("Review", "Close", ...), defined by an administrator.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = note_types, check_for_backend(Pg))]
pub struct NoteType {
    pub id: i64,
    pub name: String,
    pub description: String,
    pub is_single: bool,
    pub is_active: bool,
    /// Required on close: a finding is closed only with a note of this type.
    pub is_mandatory: bool,
}

/// Insert and update form of [`NoteType`]; `None` keeps a column.
#[derive(Debug, Default, Insertable, AsChangeset)]
#[diesel(table_name = note_types)]
pub struct NoteTypeChanges<'a> {
    pub name: Option<&'a str>,
    pub description: Option<&'a str>,
    pub is_single: Option<bool>,
    pub is_active: Option<bool>,
    pub is_mandatory: Option<bool>,
}

/// One earlier version of a note's text.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = note_history, check_for_backend(Pg))]
pub struct NoteVersion {
    pub id: i64,
    pub note_id: i64,
    /// The text as it was.
    pub data: String,
    /// When it was replaced.
    pub time: DateTime<Utc>,
    /// Who wrote it.
    pub current_editor_id: Option<i64>,
    pub note_type_id: Option<i64>,
}

impl NoteType {
    /// The note type called `name`, if any.
    pub async fn by_name(
        conn: &mut AsyncPgConnection,
        name: &str,
    ) -> QueryResult<Option<NoteType>> {
        note_types::table
            .filter(note_types::name.eq(name))
            .select(NoteType::as_select())
            .first(conn)
            .await
            .optional()
    }

    /// The note types with these ids.
    pub async fn by_ids(conn: &mut AsyncPgConnection, ids: &[i64]) -> QueryResult<Vec<NoteType>> {
        note_types::table
            .filter(note_types::id.eq_any(ids))
            .select(NoteType::as_select())
            .load(conn)
            .await
    }

    /// Every note type, by name.
    pub async fn all(conn: &mut AsyncPgConnection) -> QueryResult<Vec<NoteType>> {
        note_types::table
            .order(note_types::name)
            .select(NoteType::as_select())
            .load(conn)
            .await
    }

    /// The active note types required on close.
    pub async fn mandatory(conn: &mut AsyncPgConnection) -> QueryResult<Vec<NoteType>> {
        note_types::table
            .filter(note_types::is_active.and(note_types::is_mandatory))
            .order(note_types::name)
            .select(NoteType::as_select())
            .load(conn)
            .await
    }

    /// Inserts a note type.
    pub async fn create(
        conn: &mut AsyncPgConnection,
        new: &NoteTypeChanges<'_>,
    ) -> QueryResult<NoteType> {
        diesel::insert_into(note_types::table)
            .values(new)
            .returning(NoteType::as_select())
            .get_result(conn)
            .await
    }

    /// Changes a note type.
    pub async fn update(
        conn: &mut AsyncPgConnection,
        id: i64,
        changes: &NoteTypeChanges<'_>,
    ) -> QueryResult<Option<NoteType>> {
        diesel::update(note_types::table.find(id))
            .set(changes)
            .returning(NoteType::as_select())
            .get_result(conn)
            .await
            .optional()
    }

    /// (finding, note type) pairs: which of these findings already carry a
    /// note of which of these types.
    pub async fn present_on(
        conn: &mut AsyncPgConnection,
        finding_ids: &[i64],
        type_ids: &[i64],
    ) -> QueryResult<Vec<(Option<i64>, Option<i64>)>> {
        notes::table
            .filter(notes::finding_id.eq_any(finding_ids))
            .filter(notes::note_type_id.eq_any(type_ids))
            .select((notes::finding_id, notes::note_type_id))
            .distinct()
            .load(conn)
            .await
    }
}

impl NoteVersion {
    /// The earlier versions of these notes, oldest first.
    pub async fn for_notes(
        conn: &mut AsyncPgConnection,
        note_ids: &[i64],
    ) -> QueryResult<Vec<NoteVersion>> {
        note_history::table
            .filter(note_history::note_id.eq_any(note_ids))
            .order(note_history::id)
            .select(NoteVersion::as_select())
            .load(conn)
            .await
    }
}

impl Note {
    /// Inserts a note.
    pub async fn create(conn: &mut AsyncPgConnection, new: &NewNote<'_>) -> QueryResult<Note> {
        diesel::insert_into(notes::table)
            .values(new)
            .returning(Note::as_select())
            .get_result(conn)
            .await
    }

    /// Adds the same note to many findings, given as (finding, product), in
    /// one statement.
    pub async fn create_on_findings(
        conn: &mut AsyncPgConnection,
        entry: &str,
        author_id: Option<i64>,
        private: bool,
        note_type_id: Option<i64>,
        findings: &[(i64, i64)],
    ) -> QueryResult<Vec<FindingNoteRef>> {
        use diesel::sql_types::{Array, BigInt, Bool, Nullable, Text};
        let (ids, products): (Vec<i64>, Vec<i64>) = findings.iter().copied().unzip();
        diesel::sql_query(
            "INSERT INTO notes (entry, author_id, private, note_type_id, finding_id, product_id) \
             SELECT $1, $2, $3, $4, x.f, x.p FROM unnest($5, $6) AS x(f, p) \
             RETURNING id, finding_id",
        )
        .bind::<Text, _>(entry)
        .bind::<Nullable<BigInt>, _>(author_id)
        .bind::<Bool, _>(private)
        .bind::<Nullable<BigInt>, _>(note_type_id)
        .bind::<Array<BigInt>, _>(ids)
        .bind::<Array<BigInt>, _>(products)
        .load(conn)
        .await
    }

    /// Notes with these ids.
    pub async fn by_ids(conn: &mut AsyncPgConnection, ids: &[i64]) -> QueryResult<Vec<Note>> {
        notes::table
            .filter(notes::id.eq_any(ids.to_vec()))
            .select(Note::as_select())
            .load(conn)
            .await
    }

    /// The notes of many parents of one kind, oldest first.
    pub async fn for_parents(
        conn: &mut AsyncPgConnection,
        parents: &[NoteParent],
    ) -> QueryResult<Vec<Note>> {
        let mut f = Vec::new();
        let mut t = Vec::new();
        let mut e = Vec::new();
        for p in parents {
            match p {
                NoteParent::Finding(id) => f.push(*id),
                NoteParent::Test(id) => t.push(*id),
                NoteParent::Engagement(id) => e.push(*id),
            }
        }
        notes::table
            .filter(
                notes::finding_id
                    .eq_any(f)
                    .or(notes::test_id.eq_any(t))
                    .or(notes::engagement_id.eq_any(e)),
            )
            .order(notes::id)
            .select(Note::as_select())
            .load(conn)
            .await
    }

    /// Edits the entry, keeping the previous text in the history.
    pub async fn edit(
        conn: &mut AsyncPgConnection,
        id: i64,
        entry: &str,
        editor: Option<i64>,
    ) -> QueryResult<Option<Note>> {
        let Some(old) = notes::table
            .find(id)
            .select(Note::as_select())
            .first(conn)
            .await
            .optional()?
        else {
            return Ok(None);
        };
        diesel::insert_into(note_history::table)
            .values((
                note_history::note_id.eq(id),
                note_history::data.eq(&old.entry),
                note_history::current_editor_id.eq(old.editor_id.or(old.author_id)),
                note_history::note_type_id.eq(old.note_type_id),
            ))
            .execute(conn)
            .await?;
        diesel::update(notes::table.find(id))
            .set((
                notes::entry.eq(entry),
                notes::edited.eq(true),
                notes::editor_id.eq(editor),
                notes::edit_time.eq(diesel::dsl::now),
            ))
            .returning(Note::as_select())
            .get_result(conn)
            .await
            .optional()
    }

    /// Deletes a note.
    pub async fn delete(conn: &mut AsyncPgConnection, id: i64) -> QueryResult<bool> {
        Ok(diesel::delete(notes::table.find(id)).execute(conn).await? > 0)
    }
}
