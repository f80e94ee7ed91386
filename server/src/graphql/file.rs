//! Files attached to findings, tests and engagements: `attachFile` stores
//! an upload in PostgreSQL, `Finding.files` (and `Test.files`,
//! `Engagement.files`) list them, `GET /files/{id}` downloads one. Reading
//! follows the object's read rule; attaching and removing are edits of the
//! object (`Finding_Edit`, `Test_Edit`, `Engagement_Edit`).

use std::io::Read;
use std::sync::Arc;

use async_graphql::{Context, ID, InputObject, Object, SimpleObject, Upload};
use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

use super::context::Cx;
use super::error::{ApiError, ApiResult};
use super::ids::{self, Kind};
use super::loaders::load_err;
use super::payload::{DeleteInput, DeletePayload};
use super::user::User;
use crate::authz::Permission;
use crate::config::Config;
use crate::db::models::file::{FileParent, NewFile, StoredFile};

/// A file attached to a finding, test or engagement.
pub struct File(pub StoredFile);

#[Object]
impl File {
    /// Global id.
    async fn id(&self) -> ID {
        ids::encode(Kind::File, self.0.id)
    }
    /// File name, as uploaded (without directories).
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// Media type the uploader gave.
    async fn content_type(&self) -> &str {
        &self.0.content_type
    }
    /// Size in bytes.
    async fn size(&self) -> i64 {
        self.0.size
    }
    /// SHA-256 of the content, hex.
    async fn sha256(&self) -> &str {
        &self.0.sha256
    }
    /// Who attached it.
    async fn uploaded_by(&self, ctx: &Context<'_>) -> ApiResult<Option<User>> {
        User::by_id(ctx, self.0.uploaded_by_id).await
    }
    /// Attached at.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    /// Where to download it (`GET`, with the same credentials as the API).
    async fn url(&self) -> String {
        download_path(self.0.id)
    }
}

/// The download path of file `id`.
pub fn download_path(id: i64) -> String {
    format!("/files/{}", ids::encode(Kind::File, id).0)
}

/// The files of `parent`, oldest first.
pub async fn files_of(ctx: &Context<'_>, parent: FileParent) -> ApiResult<Vec<File>> {
    let cx = Cx::of(ctx)?;
    let rows = cx
        .loaders()
        .files
        .load_one(parent)
        .await
        .map_err(load_err)?
        .unwrap_or_default();
    Ok(rows.into_iter().map(File).collect())
}

/// Input of `attachFile`.
#[derive(InputObject)]
pub struct AttachFileInput {
    /// A finding, test or engagement.
    pub object: ID,
    /// The file (a multipart upload).
    pub file: Upload,
    /// The name to keep instead of the upload's file name.
    pub name: Option<String>,
}

/// Result of `attachFile`.
#[derive(SimpleObject)]
pub struct AttachFilePayload {
    /// The stored file.
    pub file: File,
}

/// A file name without directories or control characters, at most 255
/// characters; `None` when nothing is left.
pub fn clean_name(raw: &str) -> Option<String> {
    let base = raw.rsplit(['/', '\\']).next().unwrap_or(raw);
    let name: String = base.chars().filter(|c| !c.is_control()).take(255).collect();
    let name = name.trim().to_owned();
    (!name.is_empty() && name != "." && name != "..").then_some(name)
}

/// The readable parent of a file, with its product and the permission that
/// changing its files takes.
async fn parent_of(cx: &Cx<'_>, id: &ID) -> ApiResult<(FileParent, i64, Permission)> {
    let (kind, _) = ids::decode_any(id)?;
    Ok(match kind {
        Kind::Finding => {
            let f: crate::db::models::finding::Finding = cx.readable(id).await?;
            (
                FileParent::Finding(f.id),
                f.product_id,
                Permission::Finding_Edit,
            )
        }
        Kind::Test => {
            let t: crate::db::models::hierarchy::Test = cx.readable(id).await?;
            (FileParent::Test(t.id), t.product_id, Permission::Test_Edit)
        }
        Kind::Engagement => {
            let e: crate::db::models::hierarchy::Engagement = cx.readable(id).await?;
            (
                FileParent::Engagement(e.id),
                e.product_id,
                Permission::Engagement_Edit,
            )
        }
        Kind::RiskAcceptance => {
            let r: crate::db::models::risk::RiskAcceptance = cx.readable(id).await?;
            (
                FileParent::RiskAcceptance(r.id),
                r.product_id,
                Permission::Risk_Acceptance,
            )
        }
        _ => {
            return Err(ApiError::invalid(
                "object",
                "files are attached to findings, tests, engagements and risk acceptances",
            ));
        }
    })
}

/// File mutations.
#[derive(Default)]
pub struct FileMutation;

#[Object]
impl FileMutation {
    /// Attaches an uploaded file to a finding, test or engagement; files
    /// larger than `PALISADE_MAX_ATTACHMENT_BYTES` are refused.
    async fn attach_file(
        &self,
        ctx: &Context<'_>,
        input: AttachFileInput,
    ) -> ApiResult<AttachFilePayload> {
        let cx = Cx::of(ctx)?;
        let (parent, product_id, permission) = parent_of(&cx, &input.object).await?;
        cx.require_product(permission, product_id).await?;
        let limit = ctx
            .data::<Arc<Config>>()
            .map_err(|_| ApiError::Internal("configuration missing".into()))?
            .http
            .max_attachment_bytes;
        let value = input
            .file
            .value(ctx)
            .map_err(|e| ApiError::invalid("file", format!("cannot read the upload: {e}")))?;
        let name = match &input.name {
            Some(n) => clean_name(n)
                .ok_or_else(|| ApiError::invalid("name", "is empty or not a file name"))?,
            None => clean_name(&value.filename).unwrap_or_else(|| "file".to_owned()),
        };
        let content_type = value
            .content_type
            .clone()
            .filter(|t| !t.trim().is_empty() && t.len() <= 200 && t.is_ascii())
            .unwrap_or_else(|| "application/octet-stream".to_owned());
        let size = value
            .size()
            .map_err(|e| ApiError::invalid("file", format!("cannot read the upload: {e}")))?;
        if size > limit {
            return Err(ApiError::invalid(
                "file",
                format!(
                    "is {size} bytes; at most {limit} are accepted (PALISADE_MAX_ATTACHMENT_BYTES)"
                ),
            ));
        }
        if size == 0 {
            return Err(ApiError::invalid("file", "is empty"));
        }
        let content = tokio::task::spawn_blocking(move || {
            let mut buf = Vec::new();
            value
                .into_read()
                .take(limit + 1)
                .read_to_end(&mut buf)
                .map(|_| buf)
        })
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?
        .map_err(|e| ApiError::invalid("file", format!("cannot read the upload: {e}")))?;
        if content.len() as u64 > limit {
            return Err(ApiError::invalid(
                "file",
                format!("is larger than {limit} bytes (PALISADE_MAX_ATTACHMENT_BYTES)"),
            ));
        }
        let sha256 = hex::encode(Sha256::digest(&content));
        let row = StoredFile::create(
            &mut *cx.conn().await?,
            &NewFile {
                parent,
                product_id,
                name: &name,
                content_type: &content_type,
                sha256: &sha256,
                content: &content,
                uploaded_by_id: cx.actor_id(),
            },
        )
        .await?;
        Ok(AttachFilePayload { file: File(row) })
    }

    /// Removes a file.
    async fn delete_file(&self, ctx: &Context<'_>, input: DeleteInput) -> ApiResult<DeletePayload> {
        let cx = Cx::of(ctx)?;
        let n = ids::decode(&input.id, Kind::File)?;
        let missing = || ApiError::NotFound(format!("File {}", input.id.0));
        let mut conn = cx.conn().await?;
        let file = StoredFile::find(&mut conn, n).await?.ok_or_else(missing)?;
        if !cx.can_read_product(file.product_id) {
            return Err(missing());
        }
        let permission = match file.parent() {
            Some(FileParent::Finding(_)) => Permission::Finding_Edit,
            Some(FileParent::Test(_)) => Permission::Test_Edit,
            Some(FileParent::RiskAcceptance(_)) => Permission::Risk_Acceptance,
            _ => Permission::Engagement_Edit,
        };
        cx.require_product(permission, file.product_id).await?;
        StoredFile::delete(&mut conn, n).await?;
        Ok(DeletePayload::of(input))
    }
}
