//! `addTags` and `removeTags` on any taggable node (product, engagement,
//! test, finding, location). The edits run in the domain, which locks the
//! row so concurrent edits never overwrite each other.

use async_graphql::{Context, ID, InputObject, Object, SimpleObject};

use super::context::Cx;
use super::error::{ApiError, ApiResult};
use super::finding::Finding;
use super::hierarchy::{Engagement, Product, Test};
use super::ids::{self, Kind};
use super::location::{Location, require_on_location};
use super::node::Node;
use crate::authz::Permission;
use crate::db::models::finding::Finding as FindingRow;
use crate::db::models::hierarchy as rows;
use crate::db::models::location::Location as LocationRow;
use crate::domain::tag::{self as rules, TagEdit};

/// Input of `addTags` and `removeTags`.
#[derive(InputObject)]
pub struct TagsInput {
    /// A product, engagement, test, finding or location.
    pub id: ID,
    /// Tags (lower-cased; no spaces or commas).
    pub tags: Vec<String>,
}

/// Result of a tag mutation.
#[derive(SimpleObject)]
pub struct TagsPayload {
    /// The object.
    pub node: Node,
    /// Its tags now.
    pub tags: Vec<String>,
}

/// Tag mutations.
#[derive(Default)]
pub struct TagMutation;

async fn edit_tags(cx: &Cx<'_>, input: TagsInput, add: bool) -> ApiResult<TagsPayload> {
    let (kind, id) = ids::decode_any(&input.id)?;
    let edit = TagEdit::new(add, &input.tags)?;
    let (node, tags) = match kind {
        Kind::Product => {
            let p: rows::Product = cx.readable_id(id).await?;
            cx.require_product(Permission::Product_Edit, p.id).await?;
            let row = rules::edit_product_tags(&mut *cx.conn().await?, id, &edit).await?;
            let tags = row.tags.clone();
            (Node::Product(Product(row)), tags)
        }
        Kind::Engagement => {
            let e: rows::Engagement = cx.readable_id(id).await?;
            cx.require_product(Permission::Engagement_Edit, e.product_id)
                .await?;
            let row = rules::edit_engagement_tags(&mut *cx.conn().await?, id, &edit).await?;
            let tags = row.tags.clone();
            (Node::Engagement(Engagement(row)), tags)
        }
        Kind::Test => {
            let t: rows::Test = cx.readable_id(id).await?;
            cx.require_product(Permission::Test_Edit, t.product_id)
                .await?;
            let row = rules::edit_test_tags(&mut *cx.conn().await?, id, &edit).await?;
            let tags = row.tags.clone();
            (Node::Test(Test(row)), tags)
        }
        Kind::Finding => {
            let f: FindingRow = cx.readable_id(id).await?;
            cx.require_product(Permission::Finding_Edit, f.product_id)
                .await?;
            let row =
                crate::domain::finding::edit_tags(&mut *cx.conn().await?, id, &edit, cx.actor_id())
                    .await?;
            let tags = row.tags.clone();
            (Node::Finding(Finding(row)), tags)
        }
        Kind::Location => {
            cx.readable_id::<LocationRow>(id).await?;
            require_on_location(cx, id, Permission::Location_Edit).await?;
            let row = rules::edit_location_tags(&mut *cx.conn().await?, id, &edit).await?;
            let tags = row.tags.clone();
            (Node::Location(Location(row)), tags)
        }
        other => {
            return Err(ApiError::invalid(
                "id",
                format!("a {} has no tags", other.name()),
            ));
        }
    };
    Ok(TagsPayload { node, tags })
}

#[Object]
impl TagMutation {
    /// Adds tags to a product, engagement, test, finding or location.
    async fn add_tags(&self, ctx: &Context<'_>, input: TagsInput) -> ApiResult<TagsPayload> {
        let cx = Cx::of(ctx)?;
        edit_tags(&cx, input, true).await
    }

    /// Removes tags from a product, engagement, test, finding or location.
    async fn remove_tags(&self, ctx: &Context<'_>, input: TagsInput) -> ApiResult<TagsPayload> {
        let cx = Cx::of(ctx)?;
        edit_tags(&cx, input, false).await
    }
}
