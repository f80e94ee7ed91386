//! URL locations over GraphQL, and adding/removing them on findings.

use async_graphql::{Context, Enum, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, Utc};

use super::context::{Cx, Readable};
use super::error::{ApiError, ApiResult};
use super::finding::Finding;
use super::ids::{self, Kind};
use super::payload::{DeleteInput, DeletePayload};
use crate::authz::Permission;
use crate::db::models::finding::Finding as FindingRow;
use crate::db::models::location as model;
use crate::domain::location::UrlParts;

/// A network location (URL) findings were seen at.
#[derive(Clone)]
pub struct Location(pub model::Location);

/// A location as linked to one finding.
#[derive(Clone)]
pub struct FindingLocation(pub model::FindingLocation);

/// Status of a location on one finding.
#[derive(Enum, Clone, Copy, PartialEq, Eq, Debug)]
pub enum LocationStatus {
    /// Still present.
    Active,
    /// Fixed.
    Mitigated,
    /// Not real.
    FalsePositive,
    /// Accepted.
    RiskAccepted,
    /// Out of scope.
    OutOfScope,
}

impl LocationStatus {
    fn parse(s: &str) -> LocationStatus {
        match s {
            "Mitigated" => LocationStatus::Mitigated,
            "FalsePositive" => LocationStatus::FalsePositive,
            "RiskAccepted" => LocationStatus::RiskAccepted,
            "OutOfScope" => LocationStatus::OutOfScope,
            _ => LocationStatus::Active,
        }
    }
}

impl Location {
    /// Whether the caller reads every product referencing this location. A
    /// location is shared by URL, so its tags and creation time may come
    /// from products the caller cannot see: only then are they shown.
    async fn shows_shared(&self, ctx: &Context<'_>) -> ApiResult<bool> {
        let cx = Cx::of(ctx)?;
        if cx.readable_products().is_none() {
            return Ok(true);
        }
        let mut conn = cx.conn().await?;
        let products = model::Location::product_ids(&mut conn, self.0.id).await?;
        Ok(products.iter().all(|p| cx.can_read_product(*p)))
    }
}

#[Object]
impl Location {
    /// Global id.
    pub async fn id(&self) -> ID {
        ids::encode(Kind::Location, self.0.id)
    }
    /// The canonical URL.
    async fn url(&self) -> &str {
        &self.0.location_value
    }
    /// Scheme.
    async fn protocol(&self) -> Option<&str> {
        Some(self.0.protocol.as_str()).filter(|s| !s.is_empty())
    }
    /// Host.
    async fn host(&self) -> &str {
        &self.0.host
    }
    /// Port, when not the scheme's default.
    async fn port(&self) -> Option<i32> {
        self.0.port
    }
    /// Path.
    async fn path(&self) -> Option<&str> {
        Some(self.0.path.as_str()).filter(|s| !s.is_empty())
    }
    /// Query.
    async fn query(&self) -> Option<&str> {
        Some(self.0.query.as_str()).filter(|s| !s.is_empty())
    }
    /// Fragment.
    async fn fragment(&self) -> Option<&str> {
        Some(self.0.fragment.as_str()).filter(|s| !s.is_empty())
    }
    /// Tags (empty unless the caller reads every product the location
    /// belongs to).
    async fn tags(&self, ctx: &Context<'_>) -> ApiResult<&[String]> {
        Ok(if self.shows_shared(ctx).await? {
            &self.0.tags
        } else {
            &[]
        })
    }
    /// Created at (null unless the caller reads every product the location
    /// belongs to: an earlier time would tell another product holds it).
    async fn created_at(&self, ctx: &Context<'_>) -> ApiResult<Option<DateTime<Utc>>> {
        Ok(self.shows_shared(ctx).await?.then_some(self.0.created_at))
    }
}

#[Object]
impl FindingLocation {
    /// The location.
    async fn location(&self) -> Location {
        Location(self.0.location.clone())
    }
    /// Its status on this finding.
    async fn status(&self) -> LocationStatus {
        LocationStatus::parse(&self.0.status)
    }
}

/// A location is readable through any product it belongs to.
impl Readable for model::Location {
    const KIND: Kind = Kind::Location;
    async fn load(cx: &Cx<'_>, id: i64) -> ApiResult<Option<Self>> {
        cx.loaders()
            .locations
            .load_one(id)
            .await
            .map_err(super::loaders::load_err)
    }
    async fn may_read(&self, cx: &Cx<'_>) -> ApiResult<bool> {
        if cx.readable_products().is_none() {
            return Ok(true);
        }
        let mut conn = cx.conn().await?;
        let products = model::Location::product_ids(&mut conn, self.id).await?;
        Ok(products.iter().any(|p| cx.can_read_product(*p)))
    }
}

/// `FORBIDDEN` unless the caller holds `permission` on every product the
/// location belongs to: a location is shared, so changing it changes every
/// product's view of it.
pub async fn require_on_location(
    cx: &Cx<'_>,
    id: i64,
    permission: crate::authz::Permission,
) -> ApiResult<()> {
    let mut conn = cx.conn().await?;
    let products = model::Location::product_ids(&mut conn, id).await?;
    drop(conn);
    for p in products {
        cx.require_product(permission, p).await?;
    }
    Ok(())
}

/// Input of `addFindingLocation`.
#[derive(InputObject)]
pub struct AddFindingLocationInput {
    /// The finding.
    pub finding: ID,
    /// A URL or host[:port].
    pub url: String,
}

/// Input of `removeFindingLocation`.
#[derive(InputObject)]
pub struct RemoveFindingLocationInput {
    /// The finding.
    pub finding: ID,
    /// The location.
    pub location: ID,
}

/// Result of a finding-location mutation.
#[derive(SimpleObject)]
pub struct FindingLocationPayload {
    /// The finding.
    pub finding: Finding,
    /// The location.
    pub location: Location,
}

/// Location mutations.
#[derive(Default)]
pub struct LocationMutation;

#[Object]
impl LocationMutation {
    /// Adds a URL location to a finding (creating the location when new).
    async fn add_finding_location(
        &self,
        ctx: &Context<'_>,
        input: AddFindingLocationInput,
    ) -> ApiResult<FindingLocationPayload> {
        let cx = Cx::of(ctx)?;
        let finding: FindingRow = cx.readable(&input.finding).await?;
        cx.require_product(Permission::Location_Add, finding.product_id)
            .await?;
        let parts = UrlParts::parse(&input.url)?;
        let mut conn = cx.conn().await?;
        let mut rows = model::Location::upsert_many(&mut conn, &[parts.to_new()]).await?;
        let location = rows
            .pop()
            .ok_or_else(|| ApiError::Internal("location upsert returned nothing".to_owned()))?;
        model::Location::link(
            &mut conn,
            location.id,
            finding.id,
            finding.product_id,
            "Active",
        )
        .await?;
        Ok(FindingLocationPayload {
            finding: Finding(finding),
            location: Location(location),
        })
    }

    /// Removes a location from a finding.
    async fn remove_finding_location(
        &self,
        ctx: &Context<'_>,
        input: RemoveFindingLocationInput,
    ) -> ApiResult<FindingLocationPayload> {
        let cx = Cx::of(ctx)?;
        let finding: FindingRow = cx.readable(&input.finding).await?;
        let location: model::Location = cx.readable(&input.location).await?;
        cx.require_product(Permission::Finding_Edit, finding.product_id)
            .await?;
        let mut conn = cx.conn().await?;
        if !model::Location::unlink(&mut conn, location.id, finding.id).await? {
            return Err(ApiError::NotFound(format!(
                "Location {} on finding {}",
                input.location.0, input.finding.0
            )));
        }
        Ok(FindingLocationPayload {
            finding: Finding(finding),
            location: Location(location),
        })
    }

    /// Deletes a location and its links to findings.
    async fn delete_location(
        &self,
        ctx: &Context<'_>,
        input: DeleteInput,
    ) -> ApiResult<DeletePayload> {
        let cx = Cx::of(ctx)?;
        let id = cx.readable::<model::Location>(&input.id).await?.id;
        require_on_location(&cx, id, Permission::Location_Delete).await?;
        let mut conn = cx.conn().await?;
        if !model::Location::delete(&mut conn, id).await? {
            return Err(ApiError::NotFound(format!("Location {}", input.id.0)));
        }
        Ok(DeletePayload::of(input))
    }
}
