//! Findings over GraphQL: the type, the queries and the edits; the list
//! (filters, order, pages, prefetch) is in `list`.

pub mod duplicates;
pub mod list;
pub mod review;
pub mod triage;

pub use list::{
    FindingConnection, FindingFilterInput, FindingOrder, FindingOrderField, OrderDirection,
    findings_connection, scoped_findings,
};

use async_graphql::{Context, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, NaiveDate, Utc};

use super::connection::PageArgs;
use super::context::{Cx, Readable};
use super::error::{ApiError, ApiResult};
use super::hierarchy::{Engagement, Product, Test};
use super::ids::{self, Kind};
use super::loaders::load_err;
use super::location::FindingLocation;
use super::note::Note;
use super::payload::{DeleteInput, DeletePayload};
use crate::authz::Permission;
use crate::db::models::finding as model;
use crate::db::models::note::NoteParent;
use crate::domain::finding::{self as rules, FindingInput, FindingUpdate, StatusChange};
use crate::domain::severity::Severity;

/// A vulnerability or weakness found by a scanner or a person.
#[derive(Clone)]
pub struct Finding(pub model::Finding);

impl Readable for model::Finding {
    const KIND: Kind = Kind::Finding;
    async fn load(cx: &Cx<'_>, id: i64) -> ApiResult<Option<Self>> {
        cx.loaders().findings.load_one(id).await.map_err(load_err)
    }
    async fn may_read(&self, cx: &Cx<'_>) -> ApiResult<bool> {
        Ok(cx.can_read_product(self.product_id))
    }
}

#[Object]
impl Finding {
    /// Who changed what and when, newest first: the permanent audit trail.
    #[graphql(complexity = "first.unwrap_or(20).max(1) as usize * child_complexity")]
    async fn history(
        &self,
        ctx: &Context<'_>,
        filter: Option<crate::graphql::history::HistoryFilterInput>,
        first: Option<i32>,
        after: Option<String>,
    ) -> ApiResult<crate::graphql::history::HistoryConnection> {
        crate::graphql::history::history_of(ctx, Kind::Finding, self.0.id, filter, first, after)
            .await
    }
    /// Global id.
    pub async fn id(&self) -> ID {
        ids::encode(Kind::Finding, self.0.id)
    }
    /// The risk acceptance it is in.
    async fn risk_acceptance(
        &self,
        ctx: &Context<'_>,
    ) -> ApiResult<Option<crate::graphql::risk::RiskAcceptance>> {
        crate::graphql::risk::of_finding(ctx, self.0.id).await
    }
    /// Attached files, oldest first.
    async fn files(&self, ctx: &Context<'_>) -> ApiResult<Vec<crate::graphql::file::File>> {
        crate::graphql::file::files_of(ctx, crate::db::models::file::FileParent::Finding(self.0.id))
            .await
    }
    /// Custom field values, by field name.
    async fn custom_fields(
        &self,
        ctx: &Context<'_>,
    ) -> ApiResult<Vec<crate::graphql::custom_field::CustomFieldValue>> {
        let cx = Cx::of(ctx)?;
        crate::graphql::custom_field::values_of(&cx, &self.0.custom_fields).await
    }
    /// Short summary.
    async fn title(&self) -> &str {
        &self.0.title
    }
    /// Date found.
    async fn date(&self) -> NaiveDate {
        self.0.date
    }
    /// Severity.
    async fn severity(&self) -> Severity {
        self.0.severity
    }
    /// S0 (Critical) … S4 (Info), for sorting.
    async fn numerical_severity(&self) -> &str {
        &self.0.numerical_severity
    }
    /// Full explanation.
    async fn description(&self) -> &str {
        &self.0.description
    }
    /// How to fix.
    async fn mitigation(&self) -> Option<&str> {
        self.0.mitigation.as_deref()
    }
    /// Consequences.
    async fn impact(&self) -> Option<&str> {
        self.0.impact.as_deref()
    }
    /// Steps to reproduce.
    async fn steps_to_reproduce(&self) -> Option<&str> {
        self.0.steps_to_reproduce.as_deref()
    }
    /// Why this severity.
    async fn severity_justification(&self) -> Option<&str> {
        self.0.severity_justification.as_deref()
    }
    /// References.
    async fn references(&self) -> Option<&str> {
        self.0.references.as_deref()
    }
    /// Request parameter (dynamic findings).
    async fn param(&self) -> Option<&str> {
        self.0.param.as_deref()
    }
    /// Payload (dynamic findings).
    async fn payload(&self) -> Option<&str> {
        self.0.payload.as_deref()
    }
    /// Primary CWE, or null.
    async fn cwe(&self) -> Option<i32> {
        (self.0.cwe != 0).then_some(self.0.cwe)
    }
    /// The first vulnerability id.
    async fn cve(&self) -> Option<&str> {
        self.0.cve.as_deref()
    }
    /// CVE/GHSA/... ids.
    async fn vulnerability_ids(&self, ctx: &Context<'_>) -> ApiResult<Vec<String>> {
        let cx = Cx::of(ctx)?;
        Ok(cx
            .loaders()
            .vulnerability_ids
            .load_one(self.0.id)
            .await
            .map_err(load_err)?
            .unwrap_or_default())
    }
    /// The scanner's id of the kind of issue.
    async fn vuln_id_from_tool(&self) -> Option<&str> {
        self.0.vuln_id_from_tool.as_deref()
    }
    /// The scanner's id of this occurrence.
    async fn unique_id_from_tool(&self) -> Option<&str> {
        self.0.unique_id_from_tool.as_deref()
    }
    /// CVSS v3 vector.
    async fn cvssv3(&self) -> Option<&str> {
        self.0.cvssv3.as_deref()
    }
    /// CVSS v3 score.
    async fn cvssv3_score(&self) -> Option<f32> {
        self.0.cvssv3_score
    }
    /// CVSS v4 vector.
    async fn cvssv4(&self) -> Option<&str> {
        self.0.cvssv4.as_deref()
    }
    /// CVSS v4 score.
    async fn cvssv4_score(&self) -> Option<f32> {
        self.0.cvssv4_score
    }
    /// EPSS probability.
    async fn epss_score(&self) -> Option<f32> {
        self.0.epss_score
    }
    /// EPSS percentile.
    async fn epss_percentile(&self) -> Option<f32> {
        self.0.epss_percentile
    }
    /// Known exploited (KEV).
    async fn known_exploited(&self) -> bool {
        self.0.known_exploited
    }
    /// Still present and needing attention.
    async fn active(&self) -> bool {
        self.0.active
    }
    /// Confirmed by a person.
    async fn verified(&self) -> bool {
        self.0.verified
    }
    /// Not a real issue.
    async fn false_p(&self) -> bool {
        self.0.false_p
    }
    /// Repeats an older finding.
    async fn duplicate(&self) -> bool {
        self.0.duplicate
    }
    /// The original this finding duplicates.
    async fn duplicate_finding(&self, ctx: &Context<'_>) -> ApiResult<Option<Finding>> {
        let cx = Cx::of(ctx)?;
        match self.0.duplicate_finding_id {
            Some(id) => match cx.readable_id(id).await {
                Ok(f) => Ok(Some(Finding(f))),
                Err(ApiError::NotFound(_)) => Ok(None),
                Err(e) => Err(e),
            },
            None => Ok(None),
        }
    }
    /// The duplicates of this finding (its cluster, when it is an original).
    #[graphql(complexity = "first.or(last).unwrap_or(20).max(1) as usize * child_complexity")]
    #[expect(
        clippy::too_many_arguments,
        reason = "GraphQL arguments: a filter, an order and the four connection arguments"
    )]
    async fn duplicates(
        &self,
        ctx: &Context<'_>,
        filter: Option<FindingFilterInput>,
        order_by: Option<FindingOrder>,
        after: Option<String>,
        before: Option<String>,
        first: Option<i32>,
        last: Option<i32>,
    ) -> ApiResult<FindingConnection> {
        let args = PageArgs {
            after,
            before,
            first,
            last,
        };
        scoped_findings(ctx, filter, order_by, args, |f| {
            f.duplicate_of = Some(ids::encode(Kind::Finding, self.0.id));
        })
        .await
    }
    /// The finding group it is in.
    async fn finding_group(
        &self,
        ctx: &Context<'_>,
    ) -> ApiResult<Option<super::finding_group::FindingGroup>> {
        let cx = Cx::of(ctx)?;
        super::finding_group::group_of(&cx, self.0.id).await
    }
    /// Outside the test's scope.
    async fn out_of_scope(&self) -> bool {
        self.0.out_of_scope
    }
    /// Deliberately accepted.
    async fn risk_accepted(&self) -> bool {
        self.0.risk_accepted
    }
    /// A review was requested.
    async fn under_review(&self) -> bool {
        self.0.under_review
    }
    /// Who is asked to review it (while under review).
    #[graphql(complexity = "super::LIST_WEIGHT * child_complexity")]
    async fn reviewers(&self, ctx: &Context<'_>) -> ApiResult<Vec<super::user::User>> {
        let cx = Cx::of(ctx)?;
        let l = cx.loaders();
        let ids = l
            .reviewers
            .load_one(self.0.id)
            .await
            .map_err(load_err)?
            .unwrap_or_default();
        let users = l
            .users
            .load_many(ids.iter().copied())
            .await
            .map_err(load_err)?;
        Ok(ids
            .iter()
            .filter_map(|i| users.get(i).cloned().map(super::user::User))
            .collect())
    }
    /// Who asked for the current (or last) review.
    async fn review_requested_by(&self, ctx: &Context<'_>) -> ApiResult<Option<super::user::User>> {
        let cx = Cx::of(ctx)?;
        let state = cx
            .loaders()
            .review_states
            .load_one(self.0.id)
            .await
            .map_err(load_err)?;
        super::user::User::by_id(ctx, state.and_then(|s| s.review_requested_by_id)).await
    }
    /// When a review last ended.
    async fn last_reviewed(&self) -> Option<DateTime<Utc>> {
        self.0.last_reviewed
    }
    /// Who ended the last review.
    async fn last_reviewed_by(&self, ctx: &Context<'_>) -> ApiResult<Option<super::user::User>> {
        let cx = Cx::of(ctx)?;
        let state = cx
            .loaders()
            .review_states
            .load_one(self.0.id)
            .await
            .map_err(load_err)?;
        super::user::User::by_id(ctx, state.and_then(|s| s.last_reviewed_by_id)).await
    }
    /// Fixed.
    async fn is_mitigated(&self) -> bool {
        self.0.is_mitigated
    }
    /// When it was fixed.
    async fn mitigated(&self) -> Option<DateTime<Utc>> {
        self.0.mitigated
    }
    /// Who closed it (null while open, or for the system or a deleted account).
    async fn mitigated_by(&self, ctx: &Context<'_>) -> ApiResult<Option<super::user::User>> {
        super::user::User::by_id(ctx, self.0.mitigated_by_id).await
    }
    /// The status words joined, as DefectDojo shows them ("Active, Verified").
    async fn status(&self) -> String {
        let f = &self.0;
        let mut parts = Vec::new();
        if f.under_review {
            parts.push("Under Review");
        }
        parts.push(if f.active { "Active" } else { "Inactive" });
        if f.verified {
            parts.push("Verified");
        }
        if f.mitigated.is_some() || f.is_mitigated {
            parts.push("Mitigated");
        }
        if f.false_p {
            parts.push("False Positive");
        }
        if f.out_of_scope {
            parts.push("Out Of Scope");
        }
        if f.duplicate {
            parts.push("Duplicate");
        }
        if f.risk_accepted {
            parts.push("Risk Accepted");
        }
        parts.join(", ")
    }
    /// Last change of a status flag.
    async fn last_status_update(&self) -> DateTime<Utc> {
        self.0.last_status_update
    }
    /// SLA start (defaults to the finding date).
    async fn sla_start_date(&self) -> Option<NaiveDate> {
        self.0.sla_start_date
    }
    /// SLA deadline.
    async fn sla_expiration_date(&self) -> Option<NaiveDate> {
        self.0.sla_expiration_date
    }
    /// Days left until the SLA deadline (negative when breached).
    async fn sla_days_remaining(&self) -> Option<i64> {
        let exp = self.0.sla_expiration_date?;
        let until = match self.0.mitigated {
            Some(m) if self.0.is_mitigated => m.date_naive(),
            _ => Utc::now().date_naive(),
        };
        Some((exp - until).num_days())
    }
    /// Source file.
    async fn file_path(&self) -> Option<&str> {
        self.0.file_path.as_deref()
    }
    /// Line in the file.
    async fn line(&self) -> Option<i32> {
        self.0.line
    }
    /// Vulnerable component.
    async fn component_name(&self) -> Option<&str> {
        self.0.component_name.as_deref()
    }
    /// Component version.
    async fn component_version(&self) -> Option<&str> {
        self.0.component_version.as_deref()
    }
    /// Found by reading code.
    async fn static_finding(&self) -> bool {
        self.0.static_finding
    }
    /// Found by probing a running system.
    async fn dynamic_finding(&self) -> bool {
        self.0.dynamic_finding
    }
    /// Times the scanner saw it.
    async fn nb_occurences(&self) -> Option<i32> {
        self.0.nb_occurences
    }
    /// Whether a fix exists.
    async fn fix_available(&self) -> Option<bool> {
        self.0.fix_available
    }
    /// The fixed version.
    async fn fix_version(&self) -> Option<&str> {
        self.0.fix_version.as_deref()
    }
    /// Planned fix date.
    async fn planned_remediation_date(&self) -> Option<NaiveDate> {
        self.0.planned_remediation_date
    }
    /// Planned fix version.
    async fn planned_remediation_version(&self) -> Option<&str> {
        self.0.planned_remediation_version.as_deref()
    }
    /// Deduplication hash.
    async fn hash_code(&self) -> Option<&str> {
        self.0.hash_code.as_deref()
    }
    /// Service the finding belongs to.
    async fn service(&self) -> Option<&str> {
        self.0.service.as_deref()
    }
    /// Tags.
    async fn tags(&self) -> &[String] {
        &self.0.tags
    }
    /// Created at.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    /// Last changed at.
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
    /// The test.
    async fn test(&self, ctx: &Context<'_>) -> ApiResult<Test> {
        let cx = Cx::of(ctx)?;
        cx.readable_id(self.0.test_id).await.map(Test)
    }
    /// The engagement.
    async fn engagement(&self, ctx: &Context<'_>) -> ApiResult<Engagement> {
        let cx = Cx::of(ctx)?;
        cx.readable_id(self.0.engagement_id).await.map(Engagement)
    }
    /// The product.
    async fn product(&self, ctx: &Context<'_>) -> ApiResult<Product> {
        let cx = Cx::of(ctx)?;
        cx.readable_id(self.0.product_id).await.map(Product)
    }
    /// Where on the network the finding was seen, with each location's status.
    #[graphql(complexity = "super::LIST_WEIGHT * child_complexity")]
    async fn locations(&self, ctx: &Context<'_>) -> ApiResult<Vec<FindingLocation>> {
        let cx = Cx::of(ctx)?;
        let rows = cx
            .loaders()
            .finding_locations
            .load_one(self.0.id)
            .await
            .map_err(load_err)?
            .unwrap_or_default();
        Ok(rows.into_iter().map(FindingLocation).collect())
    }
    /// Notes.
    #[graphql(complexity = "super::LIST_WEIGHT * child_complexity")]
    async fn notes(&self, ctx: &Context<'_>) -> ApiResult<Vec<Note>> {
        let cx = Cx::of(ctx)?;
        super::note::notes_of(&cx, NoteParent::Finding(self.0.id)).await
    }
}

/// Finding queries.
#[derive(Default)]
pub struct FindingQuery;

#[Object]
impl FindingQuery {
    /// Findings matching `filter`, in `orderBy` order (creation order by default).
    #[graphql(complexity = "first.or(last).unwrap_or(20).max(1) as usize * child_complexity")]
    #[expect(
        clippy::too_many_arguments,
        reason = "GraphQL arguments: a filter, an order and the four connection arguments"
    )]
    async fn findings(
        &self,
        ctx: &Context<'_>,
        filter: Option<FindingFilterInput>,
        order_by: Option<FindingOrder>,
        after: Option<String>,
        before: Option<String>,
        first: Option<i32>,
        last: Option<i32>,
    ) -> ApiResult<FindingConnection> {
        let cx = Cx::of(ctx)?;
        findings_connection(
            ctx,
            &cx,
            filter.unwrap_or_default(),
            order_by,
            PageArgs {
                after,
                before,
                first,
                last,
            },
        )
        .await
    }

    /// One finding.
    async fn finding(&self, ctx: &Context<'_>, id: ID) -> ApiResult<Finding> {
        let cx = Cx::of(ctx)?;
        cx.readable(&id).await.map(Finding)
    }
}

/// Input of `createFinding`.
#[derive(InputObject)]
pub struct CreateFindingInput {
    /// The test the finding belongs to.
    pub test: ID,
    /// Short summary.
    pub title: String,
    /// Severity.
    pub severity: Severity,
    /// Full explanation.
    pub description: String,
    /// Date found (default today).
    pub date: Option<NaiveDate>,
    /// How to fix.
    pub mitigation: Option<String>,
    /// Consequences.
    pub impact: Option<String>,
    /// References.
    pub references: Option<String>,
    /// Steps to reproduce.
    pub steps_to_reproduce: Option<String>,
    /// Primary CWE.
    pub cwe: Option<i32>,
    /// CVE/GHSA ids.
    pub vulnerability_ids: Option<Vec<String>>,
    /// CVSS v3 vector.
    pub cvssv3: Option<String>,
    /// CVSS v3 score.
    pub cvssv3_score: Option<f64>,
    /// Source file.
    pub file_path: Option<String>,
    /// Line.
    pub line: Option<i32>,
    /// Component.
    pub component_name: Option<String>,
    /// Component version.
    pub component_version: Option<String>,
    /// Active (default true).
    pub active: Option<bool>,
    /// Verified (default false).
    pub verified: Option<bool>,
    /// Tags.
    pub tags: Option<Vec<String>>,
    /// Service.
    pub service: Option<String>,
}

/// Input of `updateFinding`; omitted fields keep their value.
#[derive(InputObject)]
pub struct UpdateFindingInput {
    /// The finding.
    pub id: ID,
    /// New title.
    pub title: Option<String>,
    /// New severity.
    pub severity: Option<Severity>,
    /// New description.
    pub description: Option<String>,
    /// New date.
    pub date: Option<NaiveDate>,
    /// New mitigation.
    pub mitigation: Option<String>,
    /// New impact.
    pub impact: Option<String>,
    /// New references.
    pub references: Option<String>,
    /// New CWE.
    pub cwe: Option<i32>,
    /// New vulnerability ids (replacing).
    pub vulnerability_ids: Option<Vec<String>>,
    /// New component.
    pub component_name: Option<String>,
    /// New component version.
    pub component_version: Option<String>,
    /// New file path.
    pub file_path: Option<String>,
    /// New line.
    pub line: Option<i32>,
    /// New planned fix date.
    pub planned_remediation_date: Option<NaiveDate>,
    /// Active.
    pub active: Option<bool>,
    /// Verified.
    pub verified: Option<bool>,
    /// False positive.
    pub false_p: Option<bool>,
    /// Out of scope.
    pub out_of_scope: Option<bool>,
    /// Risk accepted (simple acceptance).
    pub risk_accepted: Option<bool>,
    /// Mitigated.
    pub is_mitigated: Option<bool>,
    /// New tags (replacing).
    pub tags: Option<Vec<String>>,
}

/// Result of a finding mutation.
#[derive(SimpleObject)]
pub struct FindingPayload {
    /// The finding as it is now.
    pub finding: Finding,
}

/// Finding mutations.
#[derive(Default)]
pub struct FindingMutation;

#[Object]
impl FindingMutation {
    /// Creates a finding by hand.
    async fn create_finding(
        &self,
        ctx: &Context<'_>,
        input: CreateFindingInput,
    ) -> ApiResult<FindingPayload> {
        let cx = Cx::of(ctx)?;
        let test: crate::db::models::hierarchy::Test = cx.readable(&input.test).await?;
        cx.require_product(Permission::Finding_Add, test.product_id)
            .await?;
        let input = FindingInput {
            title: input.title,
            severity: Some(input.severity),
            description: input.description,
            date: input.date,
            mitigation: input.mitigation,
            impact: input.impact,
            references: input.references,
            steps_to_reproduce: input.steps_to_reproduce,
            cwe: input.cwe,
            vulnerability_ids: input.vulnerability_ids.unwrap_or_default(),
            cvssv3: input.cvssv3,
            cvssv3_score: input.cvssv3_score,
            file_path: input.file_path,
            line: input.line,
            component_name: input.component_name,
            component_version: input.component_version,
            has_locations: false,
            active: input.active,
            verified: input.verified,
            tags: input.tags.unwrap_or_default(),
            service: input.service,
        };
        let mut conn = cx.conn().await?;
        let row = rules::create(
            &mut conn,
            &test,
            input,
            cx.actor_id(),
            Utc::now().date_naive(),
        )
        .await?;
        Ok(FindingPayload {
            finding: Finding(row),
        })
    }

    /// Edits a finding; status flags are normalised (a false positive is
    /// closed and unverified, reactivation clears the closing flags, ...).
    async fn update_finding(
        &self,
        ctx: &Context<'_>,
        input: UpdateFindingInput,
    ) -> ApiResult<FindingPayload> {
        let cx = Cx::of(ctx)?;
        let existing: model::Finding = cx.readable(&input.id).await?;
        cx.require_product(Permission::Finding_Edit, existing.product_id)
            .await?;
        if input.risk_accepted.is_some() {
            // Accepting a risk is its own permission (Writers and up).
            cx.require_product(Permission::Risk_Acceptance, existing.product_id)
                .await?;
        }
        let update = FindingUpdate {
            title: input.title,
            severity: input.severity,
            description: input.description,
            date: input.date,
            mitigation: input.mitigation,
            impact: input.impact,
            references: input.references,
            cwe: input.cwe,
            vulnerability_ids: input.vulnerability_ids,
            component_name: input.component_name,
            component_version: input.component_version,
            file_path: input.file_path,
            line: input.line,
            planned_remediation_date: input.planned_remediation_date,
            status: StatusChange {
                active: input.active,
                verified: input.verified,
                false_p: input.false_p,
                out_of_scope: input.out_of_scope,
                risk_accepted: input.risk_accepted,
                is_mitigated: input.is_mitigated,
            },
            tags: input.tags,
        };
        let mut conn = cx.conn().await?;
        let row = rules::update(&mut conn, existing.id, update, cx.actor_id(), Utc::now()).await?;
        Ok(FindingPayload {
            finding: Finding(row),
        })
    }

    /// Deletes a finding; its duplicates move to the oldest of them.
    async fn delete_finding(
        &self,
        ctx: &Context<'_>,
        input: DeleteInput,
    ) -> ApiResult<DeletePayload> {
        let cx = Cx::of(ctx)?;
        let existing: model::Finding = cx.readable(&input.id).await?;
        cx.require_product(Permission::Finding_Delete, existing.product_id)
            .await?;
        let mut conn = cx.conn().await?;
        rules::delete(&mut conn, existing.id, cx.actor_id()).await?;
        Ok(DeletePayload::of(input))
    }
}
