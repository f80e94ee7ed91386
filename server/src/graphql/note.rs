//! Notes over GraphQL.

use async_graphql::{Context, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, Utc};

use super::context::{Cx, Readable};
use super::error::{ApiError, ApiResult};
use super::ids::{self, Kind};
use super::payload::{DeleteInput, DeletePayload};
use crate::authz::Permission;
use crate::db::models::finding::Finding as FindingRow;
use crate::db::models::hierarchy::{Engagement, Test};
use crate::db::models::note::{self as model, NoteParent};
use crate::domain::note::{self as rules, NoteInput, NoteTypeInput};

/// A comment on a finding, test or engagement.
#[derive(Clone)]
pub struct Note(pub model::Note);

#[Object]
impl Note {
    /// Global id.
    pub async fn id(&self) -> ID {
        ids::encode(Kind::Note, self.0.id)
    }
    /// The text.
    async fn entry(&self) -> &str {
        &self.0.entry
    }
    /// Written at.
    async fn date(&self) -> DateTime<Utc> {
        self.0.date
    }
    /// Only visible to its author, superusers and the product's Maintainers
    /// and Owners.
    async fn private(&self) -> bool {
        self.0.private
    }
    /// Changed after writing.
    async fn edited(&self) -> bool {
        self.0.edited
    }
    /// Last edit.
    async fn edit_time(&self) -> Option<DateTime<Utc>> {
        self.0.edit_time
    }
    /// Who wrote it (null for the system or a deleted account).
    async fn author(&self, ctx: &Context<'_>) -> ApiResult<Option<super::user::User>> {
        super::user::User::by_id(ctx, self.0.author_id).await
    }
    /// Its note type's name, if it has one.
    async fn note_type(&self, ctx: &Context<'_>) -> ApiResult<Option<String>> {
        let Some(id) = self.0.note_type_id else {
            return Ok(None);
        };
        let cx = Cx::of(ctx)?;
        let kind = cx
            .loaders()
            .note_types
            .load_one(id)
            .await
            .map_err(super::loaders::load_err)?;
        Ok(kind.map(|t| t.name))
    }
    /// Earlier versions of the text, oldest first.
    #[graphql(complexity = "super::LIST_WEIGHT * child_complexity")]
    async fn history(&self, ctx: &Context<'_>) -> ApiResult<Vec<NoteVersion>> {
        let cx = Cx::of(ctx)?;
        Ok(cx
            .loaders()
            .note_history
            .load_one(self.0.id)
            .await
            .map_err(super::loaders::load_err)?
            .unwrap_or_default()
            .into_iter()
            .map(NoteVersion)
            .collect())
    }
}

/// A kind of note, defined by superusers.
#[derive(Clone)]
pub struct NoteType(pub model::NoteType);

#[Object]
impl NoteType {
    /// Global id.
    async fn id(&self) -> ID {
        ids::encode(Kind::NoteType, self.0.id)
    }
    /// Unique name (what `noteType` inputs take).
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// What it is for.
    async fn description(&self) -> &str {
        &self.0.description
    }
    /// At most one note of this type per finding.
    async fn is_single(&self) -> bool {
        self.0.is_single
    }
    /// New notes may take it.
    async fn is_active(&self) -> bool {
        self.0.is_active
    }
    /// A finding is closed only with a note of this type (on it already, or
    /// given with the closing action).
    async fn required_on_close(&self) -> bool {
        self.0.is_mandatory
    }
}

/// An earlier version of a note's text.
pub struct NoteVersion(pub model::NoteVersion);

#[Object]
impl NoteVersion {
    /// The text as it was.
    async fn entry(&self) -> &str {
        &self.0.data
    }
    /// When it was replaced.
    async fn replaced_at(&self) -> DateTime<Utc> {
        self.0.time
    }
    /// Who wrote this version (null for the system or a deleted account).
    async fn author(&self, ctx: &Context<'_>) -> ApiResult<Option<super::user::User>> {
        super::user::User::by_id(ctx, self.0.current_editor_id).await
    }
}

/// Whether the caller may see `note` (its product being readable): a
/// private note is for its author, superusers and those who may delete notes
/// on its product (`Note_Delete`: the product's Maintainers and Owners), not
/// for Writers, Readers and API importers.
async fn may_see(cx: &Cx<'_>, note: &model::Note) -> ApiResult<bool> {
    if !note.private || cx.is_superuser() || note.author_id == Some(cx.principal().user_id) {
        return Ok(true);
    }
    let object = cx.product_object(note.product_id).await?;
    Ok(cx.can(Permission::Note_Delete, object))
}

/// The notes of a parent the caller may see, through the request's loader.
pub async fn notes_of(cx: &Cx<'_>, parent: NoteParent) -> ApiResult<Vec<Note>> {
    let rows = cx
        .loaders()
        .notes
        .load_one(parent)
        .await
        .map_err(super::loaders::load_err)?
        .unwrap_or_default();
    let mut out = Vec::with_capacity(rows.len());
    for n in rows {
        if may_see(cx, &n).await? {
            out.push(Note(n));
        }
    }
    Ok(out)
}

/// A note is readable with its product, and a private one only by those
/// [`may_see`] allows.
impl Readable for model::Note {
    const KIND: Kind = Kind::Note;
    async fn load(cx: &Cx<'_>, id: i64) -> ApiResult<Option<Self>> {
        cx.loaders()
            .notes_by_id
            .load_one(id)
            .await
            .map_err(super::loaders::load_err)
    }
    async fn may_read(&self, cx: &Cx<'_>) -> ApiResult<bool> {
        Ok(cx.can_read_product(self.product_id) && may_see(cx, self).await?)
    }
}

/// Input of `createNote`.
#[derive(InputObject)]
pub struct CreateNoteInput {
    /// A finding, test or engagement id.
    pub parent: ID,
    /// The text.
    pub entry: String,
    /// Only visible to its author, superusers and the product's Maintainers
    /// and Owners.
    pub private: Option<bool>,
    /// The name of an active note type.
    pub note_type: Option<String>,
}

/// Input of `updateNote`.
#[derive(InputObject)]
pub struct UpdateNoteInput {
    /// The note.
    pub id: ID,
    /// The new text (the old one is kept in the history).
    pub entry: String,
}

/// Result of a note mutation.
#[derive(SimpleObject)]
pub struct NotePayload {
    /// The note as it is now.
    pub note: Note,
}

/// Input of `createNoteType`.
#[derive(InputObject)]
pub struct CreateNoteTypeInput {
    /// Unique name.
    pub name: String,
    /// What it is for.
    #[graphql(default)]
    pub description: String,
    /// At most one note of this type per finding.
    #[graphql(default)]
    pub is_single: bool,
    /// Required on close.
    #[graphql(default)]
    pub required_on_close: bool,
}

/// Input of `updateNoteType`; omitted fields keep their value.
#[derive(InputObject)]
pub struct UpdateNoteTypeInput {
    /// The note type.
    pub id: ID,
    /// New name.
    pub name: Option<String>,
    /// New description.
    pub description: Option<String>,
    /// At most one note of this type per finding.
    pub is_single: Option<bool>,
    /// False deactivates it: notes keep it, new notes cannot take it.
    pub is_active: Option<bool>,
    /// Required on close.
    pub required_on_close: Option<bool>,
}

/// Result of a note type mutation.
#[derive(SimpleObject)]
pub struct NoteTypePayload {
    /// The note type as it is now.
    pub note_type: NoteType,
}

/// Note type queries.
#[derive(Default)]
pub struct NoteQuery;

#[Object]
impl NoteQuery {
    /// The note types, by name (inactive ones only when asked).
    async fn note_types(
        &self,
        ctx: &Context<'_>,
        #[graphql(default)] include_inactive: bool,
    ) -> ApiResult<Vec<NoteType>> {
        let cx = Cx::of(ctx)?;
        let rows = model::NoteType::all(&mut *cx.conn().await?).await?;
        Ok(rows
            .into_iter()
            .filter(|t| include_inactive || t.is_active)
            .map(NoteType)
            .collect())
    }
}

/// Note mutations.
#[derive(Default)]
pub struct NoteMutation;

#[Object]
impl NoteMutation {
    /// Adds a note to a finding, test or engagement.
    async fn create_note(
        &self,
        ctx: &Context<'_>,
        input: CreateNoteInput,
    ) -> ApiResult<NotePayload> {
        let cx = Cx::of(ctx)?;
        let (kind, id) = ids::decode_any(&input.parent)?;
        let mut finding = None;
        let (parent, product_id) = match kind {
            Kind::Finding => {
                let f: FindingRow = cx.readable_id(id).await?;
                let product_id = f.product_id;
                finding = Some(f);
                (NoteParent::Finding(id), product_id)
            }
            Kind::Test => (
                NoteParent::Test(id),
                cx.readable_id::<Test>(id).await?.product_id,
            ),
            Kind::Engagement => (
                NoteParent::Engagement(id),
                cx.readable_id::<Engagement>(id).await?.product_id,
            ),
            other => {
                return Err(ApiError::invalid(
                    "parent",
                    format!(
                        "notes attach to findings, tests and engagements, not to a {}",
                        other.name()
                    ),
                ));
            }
        };
        cx.require_product(Permission::Note_Add, product_id).await?;
        let note = NoteInput {
            parent,
            product_id,
            entry: &input.entry,
            private: input.private.unwrap_or(false),
            note_type: input.note_type.as_deref(),
        };
        let mut conn = cx.conn().await?;
        let row = rules::create(&mut conn, note, finding.as_ref(), cx.actor_id()).await?;
        Ok(NotePayload { note: Note(row) })
    }

    /// Edits a note.
    async fn update_note(
        &self,
        ctx: &Context<'_>,
        input: UpdateNoteInput,
    ) -> ApiResult<NotePayload> {
        let cx = Cx::of(ctx)?;
        let note: model::Note = cx.readable(&input.id).await?;
        cx.require_product(Permission::Note_Edit, note.product_id)
            .await?;
        let mut conn = cx.conn().await?;
        let row = rules::update(&mut conn, note.id, &input.entry, cx.actor_id()).await?;
        Ok(NotePayload { note: Note(row) })
    }

    /// Creates a note type (superusers).
    async fn create_note_type(
        &self,
        ctx: &Context<'_>,
        input: CreateNoteTypeInput,
    ) -> ApiResult<NoteTypePayload> {
        let cx = Cx::of(ctx)?;
        cx.require_superuser("note types")?;
        let row = rules::create_type(
            &mut *cx.conn().await?,
            &NoteTypeInput {
                name: Some(input.name),
                description: Some(input.description),
                is_single: Some(input.is_single),
                is_active: Some(true),
                is_mandatory: Some(input.required_on_close),
            },
        )
        .await?;
        Ok(NoteTypePayload {
            note_type: NoteType(row),
        })
    }

    /// Changes or deactivates a note type (superusers).
    async fn update_note_type(
        &self,
        ctx: &Context<'_>,
        input: UpdateNoteTypeInput,
    ) -> ApiResult<NoteTypePayload> {
        let cx = Cx::of(ctx)?;
        cx.require_superuser("note types")?;
        let id = ids::decode(&input.id, Kind::NoteType)?;
        let row = rules::update_type(
            &mut *cx.conn().await?,
            id,
            &NoteTypeInput {
                name: input.name,
                description: input.description,
                is_single: input.is_single,
                is_active: input.is_active,
                is_mandatory: input.required_on_close,
            },
        )
        .await?;
        Ok(NoteTypePayload {
            note_type: NoteType(row),
        })
    }

    /// Deletes a note.
    async fn delete_note(&self, ctx: &Context<'_>, input: DeleteInput) -> ApiResult<DeletePayload> {
        let cx = Cx::of(ctx)?;
        let note: model::Note = cx.readable(&input.id).await?;
        cx.require_product(Permission::Note_Delete, note.product_id)
            .await?;
        let mut conn = cx.conn().await?;
        rules::delete(&mut conn, note.id).await?;
        Ok(DeletePayload::of(input))
    }
}
