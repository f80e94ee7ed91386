//! The `Node` interface and `node`/`nodes` lookups by global id, plus tag
//! edits on any taggable node.

use async_graphql::{Context, ID, InputObject, Interface, Object, SimpleObject};

use super::context::Cx;
use super::error::{ApiError, ApiResult};
use super::finding::{Finding, readable_finding};
use super::hierarchy::{
    Engagement, Product, ProductType, Test, readable_engagement, readable_product,
    readable_product_type, readable_test,
};
use super::ids::{self, Kind};
use super::location::{Location, readable_location};
use super::note::{Note, readable_note};
use crate::authz::Permission;
use crate::db::models::finding::{Finding as FindingRow, FindingChanges};
use crate::db::models::hierarchy::{
    Engagement as EngagementRow, EngagementChanges, Product as ProductRow, ProductChanges,
    Test as TestRow, TestChanges,
};
use crate::db::models::location::Location as LocationRow;
use crate::domain::normalize_tags;

/// An object with a global id.
#[derive(Interface)]
#[expect(
    clippy::large_enum_variant,
    reason = "short-lived per resolved field; boxing would not pay off"
)]
#[graphql(field(name = "id", ty = "ID", desc = "Global id."))]
pub enum Node {
    /// Product type.
    ProductType(ProductType),
    /// Product.
    Product(Product),
    /// Engagement.
    Engagement(Engagement),
    /// Test.
    Test(Test),
    /// Finding.
    Finding(Finding),
    /// Location.
    Location(Location),
    /// Note.
    Note(Note),
}

/// Resolves a global id to a readable node.
pub async fn load_node(cx: &Cx<'_>, id: &ID) -> ApiResult<Node> {
    let (kind, n) = ids::decode_any(id)?;
    Ok(match kind {
        Kind::ProductType => Node::ProductType(ProductType(readable_product_type(cx, n).await?)),
        Kind::Product => Node::Product(Product(readable_product(cx, n).await?)),
        Kind::Engagement => Node::Engagement(Engagement(readable_engagement(cx, n).await?)),
        Kind::Test => Node::Test(Test(readable_test(cx, n).await?)),
        Kind::Finding => Node::Finding(Finding(readable_finding(cx, n).await?)),
        Kind::Location => Node::Location(Location(readable_location(cx, n).await?)),
        Kind::Note => Node::Note(Note(readable_note(cx, n).await?)),
        Kind::User
        | Kind::ApiToken
        | Kind::Session
        | Kind::Group
        | Kind::Job
        | Kind::TestImport
        | Kind::Webhook => {
            return Err(ApiError::NotFound(format!("Node {}", id.0)));
        }
    })
}

/// Largest `nodes(ids:)` list.
pub const MAX_NODES: usize = 100;

/// `node` and `nodes`.
#[derive(Default)]
pub struct NodeQuery;

#[Object]
impl NodeQuery {
    /// The object with this global id.
    async fn node(&self, ctx: &Context<'_>, id: ID) -> ApiResult<Node> {
        let cx = Cx::of(ctx)?;
        load_node(&cx, &id).await
    }

    /// The objects with these global ids, in order; missing or unreadable ones are null.
    #[graphql(complexity = "ids.len().max(1) * child_complexity")]
    async fn nodes(&self, ctx: &Context<'_>, ids: Vec<ID>) -> ApiResult<Vec<Option<Node>>> {
        let cx = Cx::of(ctx)?;
        if ids.len() > MAX_NODES {
            return Err(ApiError::invalid(
                "ids",
                format!("{} ids given; at most {MAX_NODES} are allowed", ids.len()),
            ));
        }
        let futures = ids.iter().map(|id| load_node(&cx, id));
        let results = futures::future::join_all(futures).await;
        results
            .into_iter()
            .map(|r| match r {
                Ok(n) => Ok(Some(n)),
                Err(ApiError::NotFound(_)) => Ok(None),
                Err(e) => Err(e),
            })
            .collect()
    }
}

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
    let requested = normalize_tags(&input.tags)?;
    let merge = |current: &[String]| -> Vec<String> {
        let mut out: Vec<String> = current.to_vec();
        if add {
            for t in &requested {
                if !out.contains(t) {
                    out.push(t.clone());
                }
            }
        } else {
            out.retain(|t| !requested.contains(t));
        }
        out
    };
    let missing = || ApiError::NotFound(input.id.0.clone());
    match kind {
        Kind::Product => {
            let p = readable_product(cx, id).await?;
            cx.require_product(Permission::Product_Edit, p.id).await?;
            let tags = merge(&p.tags);
            let mut conn = cx.conn().await?;
            let row: ProductRow = ProductRow::update(
                &mut conn,
                id,
                &ProductChanges {
                    tags: Some(tags.clone()),
                    ..Default::default()
                },
            )
            .await?
            .ok_or_else(missing)?;
            Ok(TagsPayload {
                node: Node::Product(Product(row)),
                tags,
            })
        }
        Kind::Engagement => {
            let e = readable_engagement(cx, id).await?;
            cx.require_product(Permission::Engagement_Edit, e.product_id)
                .await?;
            let tags = merge(&e.tags);
            let mut conn = cx.conn().await?;
            let row: EngagementRow = EngagementRow::update(
                &mut conn,
                id,
                &EngagementChanges {
                    tags: Some(tags.clone()),
                    ..Default::default()
                },
            )
            .await?
            .ok_or_else(missing)?;
            Ok(TagsPayload {
                node: Node::Engagement(Engagement(row)),
                tags,
            })
        }
        Kind::Test => {
            let t = readable_test(cx, id).await?;
            cx.require_product(Permission::Test_Edit, t.product_id)
                .await?;
            let tags = merge(&t.tags);
            let mut conn = cx.conn().await?;
            let row: TestRow = TestRow::update(
                &mut conn,
                id,
                &TestChanges {
                    tags: Some(tags.clone()),
                    ..Default::default()
                },
            )
            .await?
            .ok_or_else(missing)?;
            Ok(TagsPayload {
                node: Node::Test(Test(row)),
                tags,
            })
        }
        Kind::Finding => {
            let f = readable_finding(cx, id).await?;
            cx.require_product(Permission::Finding_Edit, f.product_id)
                .await?;
            let tags = merge(&f.tags);
            let mut conn = cx.conn().await?;
            let row: FindingRow = FindingRow::update(
                &mut conn,
                id,
                &FindingChanges {
                    tags: Some(tags.clone()),
                    ..Default::default()
                },
            )
            .await?
            .ok_or_else(missing)?;
            Ok(TagsPayload {
                node: Node::Finding(Finding(row)),
                tags,
            })
        }
        Kind::Location => {
            let l = readable_location(cx, id).await?;
            super::location::require_on_location(cx, id, Permission::Location_Edit).await?;
            let tags = merge(&l.tags);
            let mut conn = cx.conn().await?;
            let row: LocationRow = LocationRow::set_tags(&mut conn, id, &tags)
                .await?
                .ok_or_else(missing)?;
            Ok(TagsPayload {
                node: Node::Location(Location(row)),
                tags,
            })
        }
        other => Err(ApiError::invalid(
            "id",
            format!("a {} has no tags", other.name()),
        )),
    }
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
