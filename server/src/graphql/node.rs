//! The `Node` interface and `node`/`nodes` lookups by global id.

use async_graphql::{Context, ID, Interface, Object};

use super::context::Cx;
use super::error::{ApiError, ApiResult};
use super::finding::Finding;
use super::finding_group::FindingGroup;
use super::hierarchy::{Engagement, Product, ProductType, Test};
use super::ids::{self, Kind};
use super::location::Location;
use super::note::Note;

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
    /// Finding group.
    FindingGroup(FindingGroup),
    /// Location.
    Location(Location),
    /// Note.
    Note(Note),
    /// Risk acceptance.
    RiskAcceptance(super::risk::RiskAcceptance),
}

/// Resolves a global id to a readable node.
pub async fn load_node(cx: &Cx<'_>, id: &ID) -> ApiResult<Node> {
    let (kind, n) = ids::decode_any(id)?;
    Ok(match kind {
        Kind::ProductType => Node::ProductType(ProductType(cx.readable_id(n).await?)),
        Kind::Product => Node::Product(Product(cx.readable_id(n).await?)),
        Kind::Engagement => Node::Engagement(Engagement(cx.readable_id(n).await?)),
        Kind::Test => Node::Test(Test(cx.readable_id(n).await?)),
        Kind::Finding => Node::Finding(Finding(cx.readable_id(n).await?)),
        Kind::FindingGroup => Node::FindingGroup(FindingGroup(cx.readable_id(n).await?)),
        Kind::Location => Node::Location(Location(cx.readable_id(n).await?)),
        Kind::Note => Node::Note(Note(cx.readable_id(n).await?)),
        Kind::RiskAcceptance => {
            Node::RiskAcceptance(super::risk::RiskAcceptance(cx.readable_id(n).await?))
        }
        Kind::User
        | Kind::NoteType
        | Kind::FindingTemplate
        | Kind::CustomField
        | Kind::File
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
