//! Finding templates: reusable write-ups a person applies to a finding.
//!
//! Applying a template overwrites the finding's title and every text, CWE,
//! severity and vulnerability-id list the template has (a field the template
//! leaves empty keeps the finding's value) and adds the template's tags; it
//! is an ordinary edit, so the SLA deadline follows the severity and the
//! change is one `updated`-style event.

use chrono::{DateTime, Utc};
use diesel_async::{AsyncConnection, AsyncPgConnection};

use super::finding::{self, FindingUpdate};
use super::note::MAX_NOTE_CHARS;
use super::severity::Severity;
use super::{DomainError, check_len, normalize_tags};
use crate::db::models::finding::Finding;
use crate::db::models::template::{FindingTemplate, TemplateFields};

/// A template as a person writes it.
#[derive(Debug, Clone, Default)]
pub struct TemplateInput {
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
    pub vulnerability_ids: Vec<String>,
    /// Tags.
    pub tags: Vec<String>,
}

fn invalid(field: &str, message: &str) -> DomainError {
    DomainError::Invalid {
        field: field.to_owned(),
        message: message.to_owned(),
    }
}

impl TemplateInput {
    fn fields(self) -> Result<TemplateFields, DomainError> {
        let title = self.title.trim().to_owned();
        check_len("title", &title, 1000, true)?;
        if self.cwe.is_some_and(|c| c < 0) {
            return Err(invalid("cwe", "must not be negative"));
        }
        for (name, text) in [
            ("description", &self.description),
            ("mitigation", &self.mitigation),
            ("impact", &self.impact),
            ("references", &self.references),
        ] {
            if let Some(t) = text {
                check_len(name, t, MAX_NOTE_CHARS, false)?;
            }
        }
        let mut ids: Vec<String> = Vec::new();
        for v in &self.vulnerability_ids {
            let v = v.trim();
            check_len("vulnerabilityIds", v, 100, false)?;
            if !v.is_empty() && !ids.iter().any(|i| i == v) {
                ids.push(v.to_owned());
            }
        }
        let keep = |t: Option<String>| t.filter(|t| !t.trim().is_empty());
        Ok(TemplateFields {
            title,
            cwe: self.cwe.filter(|c| *c > 0),
            severity: self.severity.map(|s| s.as_str().to_owned()),
            description: keep(self.description),
            mitigation: keep(self.mitigation),
            impact: keep(self.impact),
            references: keep(self.references),
            vulnerability_ids: ids,
            tags: normalize_tags(&self.tags)?,
        })
    }
}

fn title_taken(e: diesel::result::Error) -> DomainError {
    match DomainError::from(e) {
        DomainError::Conflict(_) => invalid("title", "a template with this title exists"),
        other => other,
    }
}

fn not_found(id: i64) -> DomainError {
    DomainError::NotFound {
        kind: "FindingTemplate",
        id: id.to_string(),
    }
}

/// Creates a template.
pub async fn create(
    conn: &mut AsyncPgConnection,
    input: TemplateInput,
    creator: Option<i64>,
) -> Result<FindingTemplate, DomainError> {
    let fields = input.fields()?;
    FindingTemplate::create(conn, &fields, creator)
        .await
        .map_err(title_taken)
}

/// Replaces template `id`.
pub async fn update(
    conn: &mut AsyncPgConnection,
    id: i64,
    input: TemplateInput,
) -> Result<FindingTemplate, DomainError> {
    let fields = input.fields()?;
    FindingTemplate::update(conn, id, &fields)
        .await
        .map_err(title_taken)?
        .ok_or_else(|| not_found(id))
}

/// Deletes template `id`.
pub async fn delete(conn: &mut AsyncPgConnection, id: i64) -> Result<(), DomainError> {
    if FindingTemplate::delete(conn, id).await? {
        Ok(())
    } else {
        Err(not_found(id))
    }
}

/// Applies template `template` to finding `finding` (the caller may edit it).
pub async fn apply(
    conn: &mut AsyncPgConnection,
    finding_row: &Finding,
    template: i64,
    actor: Option<i64>,
    now: DateTime<Utc>,
) -> Result<Finding, DomainError> {
    conn.transaction::<_, DomainError, _>(async |c| {
        let t = FindingTemplate::find(c, template)
            .await?
            .ok_or_else(|| not_found(template))?;
        let severity = match t.severity.as_deref() {
            Some(s) => {
                Some(Severity::from_stored(s).map_err(|e| invalid("severity", &e.to_string()))?)
            }
            None => None,
        };
        let mut tags = finding_row.tags.clone();
        for tag in &t.tags {
            if !tags.contains(tag) {
                tags.push(tag.clone());
            }
        }
        let update = FindingUpdate {
            title: Some(t.title.clone()),
            severity,
            description: t.description.clone(),
            mitigation: t.mitigation.clone(),
            impact: t.impact.clone(),
            references: t.references.clone(),
            cwe: t.cwe,
            vulnerability_ids: (!t.vulnerability_ids.is_empty())
                .then(|| t.vulnerability_ids.clone()),
            tags: (tags != finding_row.tags).then_some(tags),
            ..FindingUpdate::default()
        };
        let row = finding::update(c, finding_row.id, update, actor, now).await?;
        FindingTemplate::mark_used(c, t.id).await?;
        Ok(row)
    })
    .await
}
