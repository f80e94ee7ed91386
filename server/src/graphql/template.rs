//! Finding templates over GraphQL. Everyone signed in reads them; superusers
//! write them; applying one is an edit of the finding (`Finding_Edit`).

use async_graphql::{Context, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, Utc};

use super::context::Cx;
use super::error::{ApiError, ApiResult};
use super::finding::{Finding, FindingPayload};
use super::ids::{self, Kind};
use super::payload::{DeleteInput, DeletePayload};
use crate::authz::Permission;
use crate::db::models::finding as finding_model;
use crate::db::models::template as model;
use crate::domain::severity::Severity;
use crate::domain::template::{self as rules, TemplateInput};

/// Most templates one list returns.
const MAX_TEMPLATES: i64 = 500;

/// A reusable write-up applied to findings.
pub struct FindingTemplate(pub model::FindingTemplate);

#[Object]
impl FindingTemplate {
    /// Global id.
    async fn id(&self) -> ID {
        ids::encode(Kind::FindingTemplate, self.0.id)
    }
    /// Title (unique).
    async fn title(&self) -> &str {
        &self.0.title
    }
    /// CWE.
    async fn cwe(&self) -> Option<i32> {
        self.0.cwe
    }
    /// Severity.
    async fn severity(&self) -> Option<Severity> {
        self.0
            .severity
            .as_deref()
            .and_then(|s| Severity::from_stored(s).ok())
    }
    /// Description.
    async fn description(&self) -> Option<&str> {
        self.0.description.as_deref()
    }
    /// Mitigation.
    async fn mitigation(&self) -> Option<&str> {
        self.0.mitigation.as_deref()
    }
    /// Impact.
    async fn impact(&self) -> Option<&str> {
        self.0.impact.as_deref()
    }
    /// References.
    async fn references(&self) -> Option<&str> {
        self.0.references.as_deref()
    }
    /// CVE/GHSA/... ids.
    async fn vulnerability_ids(&self) -> &[String] {
        &self.0.vulnerability_ids
    }
    /// Tags added to the findings it is applied to.
    async fn tags(&self) -> &[String] {
        &self.0.tags
    }
    /// Last applied.
    async fn last_used(&self) -> Option<DateTime<Utc>> {
        self.0.last_used
    }
    /// Created at.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}

/// Template queries.
#[derive(Default)]
pub struct TemplateQuery;

#[Object]
impl TemplateQuery {
    /// Templates by title (at most 500), those whose title contains `search`
    /// when given.
    async fn finding_templates(
        &self,
        ctx: &Context<'_>,
        search: Option<String>,
    ) -> ApiResult<Vec<FindingTemplate>> {
        let cx = Cx::of(ctx)?;
        if let Some(s) = &search {
            crate::domain::check_len("search", s, 500, false)?;
        }
        let search = search.filter(|s| !s.trim().is_empty());
        let rows =
            model::FindingTemplate::list(&mut *cx.conn().await?, search.as_deref(), MAX_TEMPLATES)
                .await?;
        Ok(rows.into_iter().map(FindingTemplate).collect())
    }

    /// One template.
    async fn finding_template(&self, ctx: &Context<'_>, id: ID) -> ApiResult<FindingTemplate> {
        let cx = Cx::of(ctx)?;
        let n = ids::decode(&id, Kind::FindingTemplate)?;
        model::FindingTemplate::find(&mut *cx.conn().await?, n)
            .await?
            .map(FindingTemplate)
            .ok_or_else(|| ApiError::NotFound(format!("FindingTemplate {}", id.0)))
    }
}

/// A template's fields (`updateFindingTemplate` replaces them all).
#[derive(InputObject)]
pub struct FindingTemplateFields {
    /// Unique title.
    pub title: String,
    /// CWE.
    pub cwe: Option<i32>,
    /// Severity.
    pub severity: Option<Severity>,
    /// Description.
    pub description: Option<String>,
    /// Mitigation.
    pub mitigation: Option<String>,
    /// Impact.
    pub impact: Option<String>,
    /// References.
    pub references: Option<String>,
    /// CVE/GHSA/... ids.
    #[graphql(default)]
    pub vulnerability_ids: Vec<String>,
    /// Tags.
    #[graphql(default)]
    pub tags: Vec<String>,
}

impl From<FindingTemplateFields> for TemplateInput {
    fn from(f: FindingTemplateFields) -> Self {
        TemplateInput {
            title: f.title,
            cwe: f.cwe,
            severity: f.severity,
            description: f.description,
            mitigation: f.mitigation,
            impact: f.impact,
            references: f.references,
            vulnerability_ids: f.vulnerability_ids,
            tags: f.tags,
        }
    }
}

/// Input of `updateFindingTemplate`.
#[derive(InputObject)]
pub struct UpdateFindingTemplateInput {
    /// The template.
    pub id: ID,
    /// Its new fields.
    pub fields: FindingTemplateFields,
}

/// Input of `applyTemplate`.
#[derive(InputObject)]
pub struct ApplyTemplateInput {
    /// The finding.
    pub finding: ID,
    /// The template.
    pub template: ID,
}

/// Result of a template mutation.
#[derive(SimpleObject)]
pub struct FindingTemplatePayload {
    /// The template as it is now.
    pub finding_template: FindingTemplate,
}

/// Template mutations.
#[derive(Default)]
pub struct TemplateMutation;

#[Object]
impl TemplateMutation {
    /// Creates a template (superusers).
    async fn create_finding_template(
        &self,
        ctx: &Context<'_>,
        input: FindingTemplateFields,
    ) -> ApiResult<FindingTemplatePayload> {
        let cx = Cx::of(ctx)?;
        cx.require_superuser("finding templates")?;
        let row = rules::create(&mut *cx.conn().await?, input.into(), cx.actor_id()).await?;
        Ok(FindingTemplatePayload {
            finding_template: FindingTemplate(row),
        })
    }

    /// Replaces a template's fields (superusers).
    async fn update_finding_template(
        &self,
        ctx: &Context<'_>,
        input: UpdateFindingTemplateInput,
    ) -> ApiResult<FindingTemplatePayload> {
        let cx = Cx::of(ctx)?;
        cx.require_superuser("finding templates")?;
        let id = ids::decode(&input.id, Kind::FindingTemplate)?;
        let row = rules::update(&mut *cx.conn().await?, id, input.fields.into()).await?;
        Ok(FindingTemplatePayload {
            finding_template: FindingTemplate(row),
        })
    }

    /// Deletes a template (superusers).
    async fn delete_finding_template(
        &self,
        ctx: &Context<'_>,
        input: DeleteInput,
    ) -> ApiResult<DeletePayload> {
        let cx = Cx::of(ctx)?;
        cx.require_superuser("finding templates")?;
        let id = ids::decode(&input.id, Kind::FindingTemplate)?;
        rules::delete(&mut *cx.conn().await?, id).await?;
        Ok(DeletePayload::of(input))
    }

    /// Applies a template to a finding: its title, texts, CWE, severity and
    /// vulnerability ids replace the finding's (empty ones leave them), its
    /// tags are added.
    async fn apply_template(
        &self,
        ctx: &Context<'_>,
        input: ApplyTemplateInput,
    ) -> ApiResult<FindingPayload> {
        let cx = Cx::of(ctx)?;
        let finding: finding_model::Finding = cx.readable(&input.finding).await?;
        cx.require_product(Permission::Finding_Edit, finding.product_id)
            .await?;
        let template = ids::decode(&input.template, Kind::FindingTemplate)?;
        let row = rules::apply(
            &mut *cx.conn().await?,
            &finding,
            template,
            cx.actor_id(),
            Utc::now(),
        )
        .await?;
        Ok(FindingPayload {
            finding: Finding(row),
        })
    }
}
