//! "Trivy Operator Scan": the custom resources the Trivy Operator writes in a
//! cluster (`apiVersion: aquasecurity.github.io/v1alpha1`), as exported with
//! `kubectl get ... -o json`. See `FORMAT.md` for the layouts and rules.
//!
//! Findings come from what a resource holds, not from its `kind`: any
//! resource with `metadata.labels` yields its `report.vulnerabilities`,
//! `report.checks` and `report.secrets`, and its `status.detailReport` /
//! `status.summaryReport` compliance results. A resource without labels (a
//! kubectl `List` wrapper, an SBOM report without labels, ...) yields nothing.

use palisade_plugin_sdk::deps::serde::de::{
    DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor,
};
use palisade_plugin_sdk::deps::serde::{Deserialize, Deserializer};
use palisade_plugin_sdk::json::{
    FromMap, Items, Key, Loose, MaybeObject, for_each_field, get_str, get_strs, parse_json_borrowed,
};
use palisade_plugin_sdk::markdown::push_field;
use palisade_plugin_sdk::prelude::*;
use palisade_plugin_sdk::sniff::contains;
use serde_json::{Map, Value};
use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;

/// Recognises a Trivy Operator resource head.
pub fn looks_like(head: &[u8]) -> bool {
    palisade_plugin_sdk::json::starts_like_json(head)
        && contains(head, b"aquasecurity.github.io")
        && [
            &b"VulnerabilityReport"[..],
            b"ConfigAuditReport",
            b"ExposedSecretReport",
            b"ClusterComplianceReport",
            b"RbacAssessmentReport",
            b"InfraAssessmentReport",
            b"vulnerabilityreports.",
            b"configauditreports.",
            b"exposedsecretreports.",
            b"clustercompliancereports.",
            b"rbacassessmentreports.",
            b"infraassessmentreports.",
        ]
        .iter()
        .any(|k| contains(head, k))
}

/// The keys of a "resources by kind" export (`{"vulnerabilityreports.aquasecurity.github.io": [...], ...}`)
/// whose presence marks that layout.
const KIND_KEYS: [&str; 9] = [
    "clustercompliancereports.aquasecurity.github.io",
    "clusterconfigauditreports.aquasecurity.github.io",
    "clusterinfraassessmentreports.aquasecurity.github.io",
    "clusterrbacassessmentreports.aquasecurity.github.io",
    "configauditreports.aquasecurity.github.io",
    "exposedsecretreports.aquasecurity.github.io",
    "infraassessmentreports.aquasecurity.github.io",
    "rbacassessmentreports.aquasecurity.github.io",
    "vulnerabilityreports.aquasecurity.github.io",
];

/// Keys of that layout holding SBOMs, which carry no findings.
const SBOM_KEYS: [&str; 2] = [
    "clustersbomreports.aquasecurity.github.io",
    "sbomreports.aquasecurity.github.io",
];

/// Parses one Trivy Operator resource, an array of them, or an object of
/// resource arrays keyed by plural resource name.
pub fn parse(report: &[u8]) -> Result<Vec<Finding>, ParseError> {
    let data: Top<'_> = parse_json_borrowed(report)?;
    let mut out = Vec::new();
    match data {
        Top::Array(items) => {
            for (i, item) in items.into_iter().enumerate() {
                resource(item, &mut out)
                    .map_err(|e| ParseError::new(format!("item {i}: {}", e.message)))?;
            }
        }
        Top::Object(map) if KIND_KEYS.iter().any(|k| map.contains_key(*k)) => {
            for (key, items) in map {
                if SBOM_KEYS.contains(&key.as_ref()) {
                    continue;
                }
                let Entry::List(items) = items else {
                    return Err(ParseError::new(format!(
                        "{key:?}: expected an array of Trivy Operator resources"
                    )));
                };
                for (i, item) in items.into_iter().enumerate() {
                    resource(item, &mut out)
                        .map_err(|e| ParseError::new(format!("{key} item {i}: {}", e.message)))?;
                }
            }
        }
        Top::Object(mut map) => {
            // An array where an object belongs is only ever rejected or
            // ignored, whatever it holds: an empty one stands for it.
            let mut loose = |key: &str| match map.remove(key) {
                None => None,
                Some(Entry::Other(l)) => Some(l),
                Some(Entry::List(_) | Entry::Report(_)) => {
                    Some(Loose::Other(Value::Array(Vec::new())))
                }
            };
            let (metadata, status, spec) = (loose("metadata"), loose("status"), loose("spec"));
            let report = match map.remove("report") {
                Some(Entry::Report(r)) => Some(r),
                _ => None,
            };
            let body = Body {
                metadata,
                report,
                status,
                spec,
            };
            resource(Res::Object(Box::new(body)), &mut out)?;
        }
        Top::Scalar(null) if null.is_null() => {}
        Top::Scalar(_) => resource(Res::NotObject, &mut out)?,
    }
    Ok(out)
}

// The report is read into these typed structs rather than a `Value` tree
// (several times faster: unread fields are skipped without allocating). The
// findings' fields keep `Value`'s view of unexpected types through `Loose`,
// and a repeated key overwrites, as in a `Value` tree. The small parts read
// rarely (metadata, status, spec) stay `Value`s.

/// The top level: an array of resources, an object (one resource, or
/// resource arrays by kind, keys in `Value`'s sorted order), or a scalar.
enum Top<'a> {
    Array(Vec<Res<'a>>),
    Object(BTreeMap<Cow<'a, str>, Entry<'a>>),
    Scalar(Loose<'a>),
}

/// A value of the top-level object.
enum Entry<'a> {
    /// An array, read as resources (the by-kind layout).
    List(Vec<Res<'a>>),
    /// The object under "report" (the one-resource layout).
    Report(Report<'a>),
    /// Anything else.
    Other(Loose<'a>),
}

/// An item of a resource array.
enum Res<'a> {
    Null,
    NotObject,
    Object(Box<Body<'a>>),
}

/// A resource's parts the parser reads.
#[derive(Default)]
struct Body<'a> {
    metadata: Option<Loose<'a>>,
    /// `None` also when "report" is not an object: nothing is read from it then.
    report: Option<Report<'a>>,
    status: Option<Loose<'a>>,
    spec: Option<Loose<'a>>,
}

#[derive(Default)]
struct Report<'a> {
    vulnerabilities: Option<Items<'a, Vuln<'a>>>,
    /// The vulnerabilities, already made findings while they were read: the
    /// resource's labels came before its report (as Trivy Operator writes
    /// them), so no list of vulnerabilities is held. Used instead of
    /// `vulnerabilities` when set.
    early: Option<Early>,
    checks: Option<Items<'a, Check<'a>>>,
    secrets: Option<Items<'a, Secret<'a>>>,
}

palisade_plugin_sdk::loose_object!(Vuln {
    id = "vulnerabilityID",
    severity = "severity",
    resource = "resource",
    installed = "installedVersion",
    fixed = "fixedVersion",
    class = "class",
    package_path = "packagePath",
    target = "target",
    title = "title",
    package_type = "packageType",
    primary_link = "primaryLink",
    score = "score",
    published = "publishedDate",
});

palisade_plugin_sdk::loose_object!(Check {
    id = "checkID",
    severity = "severity",
    category = "category",
    description = "description",
    messages = "messages",
    remediation = "remediation",
    title = "title",
});

palisade_plugin_sdk::loose_object!(Secret {
    title = "title",
    severity = "severity",
    target = "target",
    category = "category",
    matched = "match",
    rule = "ruleID",
});

/// Vulnerabilities read straight into findings (see [`Report::early`]),
/// with what the usual path would have refused, in its order: an entry that
/// is not an object first, then the first vulnerability in error.
struct Early {
    findings: Vec<Finding>,
    not_object: bool,
    error: Option<ParseError>,
}

/// Reads a report; with the resource's context, its vulnerabilities become
/// findings as they are read.
fn read_report<'de, A: MapAccess<'de>>(
    map: A,
    ctx: Option<&Ctx<'_>>,
) -> Result<Report<'de>, A::Error> {
    let mut r = Report::default();
    for_each_field(map, |key, map| {
        match (key, ctx) {
            ("vulnerabilities", Some(ctx)) => match map.next_value_seed(EarlyVulns(ctx))? {
                EarlyRead::Done(early) => {
                    r.early = Some(early);
                    r.vulnerabilities = None;
                }
                EarlyRead::Other(other) => {
                    r.early = None;
                    r.vulnerabilities = Some(Items::Other(other));
                }
            },
            ("vulnerabilities", None) => {
                r.early = None;
                r.vulnerabilities = Some(map.next_value()?);
            }
            ("checks", _) => r.checks = Some(map.next_value()?),
            ("secrets", _) => r.secrets = Some(map.next_value()?),
            _ => return Ok(false),
        }
        Ok(true)
    })?;
    Ok(r)
}

/// What [`EarlyVulns`] read: the findings, or a value that is no list.
enum EarlyRead<'a> {
    Done(Early),
    Other(Loose<'a>),
}

struct EarlyVulns<'c, 'l>(&'c Ctx<'l>);

impl<'de> DeserializeSeed<'de> for EarlyVulns<'_, '_> {
    type Value = EarlyRead<'de>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for EarlyVulns<'_, '_> {
    type Value = EarlyRead<'de>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut early = Early {
            findings: Vec::new(),
            not_object: false,
            error: None,
        };
        while let Some(MaybeObject(item)) = seq.next_element::<MaybeObject<Vuln<'de>>>()? {
            match item {
                None => early.not_object = true,
                // After the first error the rest is only read.
                Some(_) if early.error.is_some() => {}
                Some(v) => match vulnerability(self.0, &v) {
                    Ok(f) => early.findings.push(f),
                    Err(e) => early.error = Some(e),
                },
            }
        }
        Ok(EarlyRead::Done(early))
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        Value::deserialize(
            palisade_plugin_sdk::deps::serde::de::value::MapAccessDeserializer::new(map),
        )
        .map(|v| EarlyRead::Other(Loose::Other(v)))
    }
    palisade_plugin_sdk::visit_scalars_as_loose!(EarlyRead::Other);
}

/// A resource's `report`, read as [`MaybeObject`] reads it (anything but an
/// object is skipped and reads as `None`), with the context when known.
struct ReportSeed<'c, 'l>(Option<&'c Ctx<'l>>);

impl<'de> DeserializeSeed<'de> for ReportSeed<'_, '_> {
    type Value = Option<Report<'de>>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for ReportSeed<'_, '_> {
    type Value = Option<Report<'de>>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        read_report(map, self.0).map(Some)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(None)
    }
    palisade_plugin_sdk::visit_scalars_as_loose!(|_| None);
}

impl<'de> FromMap<'de> for Report<'de> {
    fn from_map<A: MapAccess<'de>>(map: A) -> Result<Self, A::Error> {
        read_report(map, None)
    }
}

impl<'de> FromMap<'de> for Body<'de> {
    fn from_map<A: MapAccess<'de>>(map: A) -> Result<Self, A::Error> {
        let mut b = Body::default();
        for_each_field(map, |key, map| {
            match key {
                "metadata" => b.metadata = Some(map.next_value()?),
                "report" => {
                    // A repeated "metadata" after the report keeps the labels
                    // the report was read with.
                    let ctx = ctx_of(&b.metadata);
                    b.report = map.next_value_seed(ReportSeed(ctx.as_ref()))?;
                }
                "status" => b.status = Some(map.next_value()?),
                "spec" => b.spec = Some(map.next_value()?),
                _ => return Ok(false),
            }
            Ok(true)
        })?;
        Ok(b)
    }
}

impl<'de> Deserialize<'de> for Res<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Res<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                Body::from_map(map).map(|b| Res::Object(Box::new(b)))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(Res::NotObject)
            }
            fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
                Ok(Res::NotObject)
            }
            fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
                Ok(Res::NotObject)
            }
            fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
                Ok(Res::NotObject)
            }
            fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
                Ok(Res::NotObject)
            }
            fn visit_str<E>(self, _: &str) -> Result<Self::Value, E> {
                Ok(Res::NotObject)
            }
            fn visit_unit<E>(self) -> Result<Self::Value, E> {
                Ok(Res::Null)
            }
        }
        d.deserialize_any(V)
    }
}

/// Reads a top-level value: arrays as resources, "report" typed (with the
/// resource's context when its metadata came first).
struct EntrySeed<'k, 'c, 'l>(&'k str, Option<&'c Ctx<'l>>);

impl<'de> DeserializeSeed<'de> for EntrySeed<'_, '_, '_> {
    type Value = Entry<'de>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        struct V<'k, 'c, 'l>(&'k str, Option<&'c Ctx<'l>>);
        impl<'de> Visitor<'de> for V<'_, '_, '_> {
            type Value = Entry<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut items = Vec::new();
                while let Some(item) = seq.next_element::<Res<'de>>()? {
                    items.push(item);
                }
                Ok(Entry::List(items))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                if self.0 == "report" {
                    read_report(map, self.1).map(Entry::Report)
                } else {
                    Value::deserialize(
                        palisade_plugin_sdk::deps::serde::de::value::MapAccessDeserializer::new(
                            map,
                        ),
                    )
                    .map(|v| Entry::Other(Loose::Other(v)))
                }
            }
            palisade_plugin_sdk::visit_scalars_as_loose!(Entry::Other);
        }
        d.deserialize_any(V(self.0, self.1))
    }
}

impl<'de> Deserialize<'de> for Top<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Top<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut items = Vec::new();
                while let Some(item) = seq.next_element::<Res<'de>>()? {
                    items.push(item);
                }
                Ok(Top::Array(items))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut entries = BTreeMap::new();
                while let Some(Key(key)) = map.next_key::<Key<'de>>()? {
                    let entry = if key == "report" {
                        let metadata = match entries.get("metadata") {
                            Some(Entry::Other(l)) => Some(l.clone()),
                            _ => None,
                        };
                        let ctx = ctx_of(&metadata);
                        map.next_value_seed(EntrySeed(&key, ctx.as_ref()))?
                    } else {
                        map.next_value_seed(EntrySeed(&key, None))?
                    };
                    entries.insert(key, entry);
                }
                Ok(Top::Object(entries))
            }
            palisade_plugin_sdk::visit_scalars_as_loose!(Top::Scalar);
        }
        d.deserialize_any(V)
    }
}

/// A string field trimmed, `None` when missing, not a string or blank (as `get_str`).
fn gs<'i>(field: &'i Option<Loose<'_>>) -> Option<&'i str> {
    field
        .as_ref()
        .and_then(Loose::as_str)
        .map(str::trim)
        .filter(|t| !t.is_empty())
}

/// A typed list field that must be an array of objects when present and not null.
fn items<'i, T>(field: &'i Option<Items<'_, T>>, key: &str) -> Result<Vec<&'i T>, ParseError> {
    match field {
        None => Ok(Vec::new()),
        Some(Items::Other(l)) if l.is_null() => Ok(Vec::new()),
        Some(Items::Other(_)) => Err(ParseError::new(format!("\"{key}\" is not an array"))),
        Some(Items::List(list)) => list
            .iter()
            .map(|i| {
                i.as_ref().ok_or_else(|| {
                    ParseError::new(format!("\"{key}\" holds an entry that is not an object"))
                })
            })
            .collect(),
    }
}

/// The severity words Trivy writes; anything else is an error, as for the
/// reference. `what` names the item in that error.
fn trivy_severity(
    word: Option<&str>,
    what: impl FnOnce() -> String,
) -> Result<Severity, ParseError> {
    match word {
        Some("CRITICAL") => Ok(Severity::Critical),
        Some("HIGH") => Ok(Severity::High),
        Some("MEDIUM") => Ok(Severity::Medium),
        Some("LOW") => Ok(Severity::Low),
        Some("UNKNOWN") => Ok(Severity::Info),
        other => Err(ParseError::new(format!(
            "{}: unknown severity {}: expected CRITICAL, HIGH, MEDIUM, LOW or UNKNOWN",
            what(),
            other.map_or_else(|| "(missing)".to_owned(), |s| format!("{s:?}"))
        ))),
    }
}

/// The string of a `Value` field, as `trivy_severity` reads it.
fn value_str<'v>(v: &'v Value, key: &str) -> Option<&'v str> {
    v.get(key).and_then(Value::as_str)
}

/// A list field that must be an array of objects when present and not null.
fn objects<'a>(v: &'a Value, key: &str) -> Result<Option<&'a [Value]>, ParseError> {
    match v.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Array(items)) => {
            if items.iter().any(|i| !i.is_object()) {
                return Err(ParseError::new(format!(
                    "\"{key}\" holds an entry that is not an object"
                )));
            }
            Ok(Some(items))
        }
        Some(_) => Err(ParseError::new(format!("\"{key}\" is not an array"))),
    }
}

fn object<'a>(
    v: &'a Option<Loose<'_>>,
    key: &str,
) -> Result<Option<&'a Map<String, Value>>, ParseError> {
    match v {
        None | Some(Loose::Other(Value::Null)) => Ok(None),
        Some(Loose::Other(Value::Object(m))) => Ok(Some(m)),
        Some(_) => Err(ParseError::new(format!("\"{key}\" is not an object"))),
    }
}

/// A label, or "" when missing.
fn label<'a>(labels: &'a Map<String, Value>, key: &str) -> &'a str {
    labels.get(key).and_then(Value::as_str).unwrap_or("")
}

/// The context of a resource's findings from its metadata: `None` when
/// there is no `metadata` object with a `labels` object (the resource then
/// yields nothing, or an error said by [`resource`]).
fn ctx_of<'m>(metadata: &'m Option<Loose<'_>>) -> Option<Ctx<'m>> {
    let Some(Loose::Other(Value::Object(metadata))) = metadata else {
        return None;
    };
    let Some(Value::Object(labels)) = metadata.get("labels") else {
        return None;
    };
    let namespace = label(labels, "trivy-operator.resource.namespace");
    let kind = label(labels, "trivy-operator.resource.kind");
    let name = label(labels, "trivy-operator.resource.name");
    let container = label(labels, "trivy-operator.container.name");
    let mut service = format!("{namespace}/{kind}/{name}");
    if !container.is_empty() {
        service.push('/');
        service.push_str(container);
    }
    Some(Ctx {
        namespace,
        kind,
        name,
        container,
        service,
    })
}

fn resource(r: Res<'_>, out: &mut Vec<Finding>) -> Result<(), ParseError> {
    let r = match r {
        Res::Null => return Ok(()),
        Res::Object(body) => *body,
        Res::NotObject => {
            return Err(ParseError::new(
                "not a Trivy Operator resource: expected a JSON object",
            ));
        }
    };
    // Without labels the reference takes nothing from a resource, not even
    // its compliance status.
    let Some(metadata) = object(&r.metadata, "metadata")? else {
        return Ok(());
    };
    let Some(labels) = metadata.get("labels").filter(|l| !l.is_null()) else {
        return Ok(());
    };
    if !labels.is_object() {
        return Err(ParseError::new("\"metadata.labels\" is not an object"));
    }
    let Some(ctx) = ctx_of(&r.metadata) else {
        return Ok(());
    };
    if let Some(body) = r.report {
        match body.early {
            Some(early) => {
                if early.not_object {
                    return Err(ParseError::new(
                        "\"vulnerabilities\" holds an entry that is not an object",
                    ));
                }
                if let Some(e) = early.error {
                    return Err(e);
                }
                if out.is_empty() {
                    // The usual single resource: no copy of its findings.
                    *out = early.findings;
                } else {
                    out.extend(early.findings);
                }
            }
            None => {
                for v in items(&body.vulnerabilities, "vulnerabilities")? {
                    out.push(vulnerability(&ctx, v)?);
                }
            }
        }
        for c in items(&body.checks, "checks")? {
            out.push(check(&ctx, c)?);
        }
        for s in items(&body.secrets, "secrets")? {
            out.push(secret_finding(&ctx, s)?);
        }
    }
    if let Some(Loose::Other(status)) = object(&r.status, "status")?.and(r.status.as_ref()) {
        if let Some(detail) = status.get("detailReport").filter(|d| !d.is_null()) {
            compliance_detail(detail, out)?;
        }
        if let Some(summary) = status.get("summaryReport").filter(|d| !d.is_null()) {
            let fails = status
                .get("summary")
                .filter(|s| s.is_object())
                .ok_or_else(|| ParseError::new("a summaryReport without \"status.summary\""))?;
            if int_of(fails.get("failCount"))? > 0 {
                let controls = match &r.spec {
                    Some(Loose::Other(spec)) => spec.pointer("/compliance/controls"),
                    _ => None,
                }
                .and_then(Value::as_array)
                .ok_or_else(|| {
                    ParseError::new("a summaryReport without \"spec.compliance.controls\"")
                })?;
                compliance_summary(controls, summary, out)?;
            }
        }
    }
    Ok(())
}

/// A count written as a number or a numeric string; missing is 0.
fn int_of(v: Option<&Value>) -> Result<i64, ParseError> {
    match v {
        None => Ok(0),
        Some(Value::Number(n)) => n
            .as_i64()
            .or_else(|| n.as_f64().map(|f| f.trunc() as i64))
            .ok_or_else(|| ParseError::new(format!("count {n} is not a number"))),
        Some(Value::String(s)) => s
            .trim()
            .parse()
            .map_err(|_| ParseError::new(format!("count {s:?} is not a number"))),
        Some(other) => Err(ParseError::new(format!("count {other} is not a number"))),
    }
}

struct Ctx<'a> {
    namespace: &'a str,
    kind: &'a str,
    name: &'a str,
    container: &'a str,
    service: String,
}

impl Ctx<'_> {
    fn push_workload(&self, description: &mut String) {
        for (label, value) in [
            ("Container", self.container),
            ("Resource kind", self.kind),
            ("Resource name", self.name),
            ("Namespace", self.namespace),
        ] {
            push_field(description, label, Some(value).filter(|v| !v.is_empty()));
        }
    }
}

/// Aqua's ids for a check or vulnerability: Kubernetes checks ("KSV014",
/// "KCV0001") become "AVD-KSV-0014", kube-hunter ids ("KHV2") "KHV002";
/// anything else (CVE, GHSA, AVD-DS-...) is kept.
pub fn uniform_id(id: &str) -> Result<String, ParseError> {
    // Nearly every id is a CVE: kept as it is, without a lower-case copy.
    if id
        .as_bytes()
        .windows(3)
        .any(|w| w.eq_ignore_ascii_case(b"cve"))
    {
        return Ok(id.to_owned());
    }
    let lower = id.to_ascii_lowercase();
    let split = |s: &str| -> Option<(String, String)> {
        let letters = s
            .find(|c: char| !(c.is_ascii_alphabetic() || c == '-' || c == '_'))
            .unwrap_or(s.len());
        let digits = s[letters..]
            .find(|c: char| !c.is_ascii_digit())
            .map_or(s.len(), |e| letters + e);
        (letters > 0 && digits > letters)
            .then(|| (s[..letters].to_owned(), s[letters..digits].to_owned()))
    };
    let bad = || ParseError::new(format!("check id {id:?} is not letters followed by digits"));
    if lower.contains("khv") {
        let (_, number) = split(id).ok_or_else(bad)?;
        let (category, _) = split(&lower).ok_or_else(bad)?;
        return Ok(format!("{}{number:0>3}", category.to_ascii_uppercase()));
    }
    if lower.contains("ksv") || lower.contains("kcv") {
        let (_, number) = split(id).ok_or_else(bad)?;
        let (category, _) = split(&lower.replace(['_', '-'], "")).ok_or_else(bad)?;
        let category = category.replace("avd", "").to_ascii_uppercase();
        return Ok(format!("AVD-{category}-{number:0>4}"));
    }
    Ok(id.to_owned())
}

fn text(field: &Option<Loose<'_>>) -> Option<String> {
    gs(field).map(str::to_owned)
}

fn vulnerability(ctx: &Ctx<'_>, v: &Vuln<'_>) -> Result<Finding, ParseError> {
    // A missing id reads as "0" (and is kept as one); null means none.
    let id = match &v.id {
        None => Some("0"),
        Some(x) => x.as_str().filter(|s| !s.is_empty()),
    };
    let severity = trivy_severity(v.severity.as_ref().and_then(Loose::as_str), || {
        format!("vulnerability {id:?}")
    })?;
    let pkg = gs(&v.resource);
    let version = gs(&v.installed);
    let fixed = gs(&v.fixed);
    let class = gs(&v.class);
    // Only package findings have a path: the package's own, else the scanned target.
    let file_path = if matches!(class, Some("os-pkgs" | "lang-pkgs")) {
        text(&v.package_path).or_else(|| text(&v.target))
    } else {
        None
    };
    let title = [id, pkg, version]
        .map(|part| part.unwrap_or("None"))
        .join(" ");
    let mut description = String::with_capacity(256);
    if let Some(t) = gs(&v.title) {
        description.push_str(t);
        description.push_str("\n\n");
    }
    push_field(&mut description, "Fixed version", fixed);
    push_field(&mut description, "Target", gs(&v.target));
    ctx.push_workload(&mut description);
    let tags = [Some(ctx.namespace), gs(&v.package_type), class]
        .into_iter()
        .flatten()
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
        .collect();
    Ok(Finding {
        title,
        severity,
        description: clean_string(description),
        mitigation: fixed.map(str::to_owned),
        references: text(&v.primary_link),
        vulnerability_ids: id.map(uniform_id).transpose()?.into_iter().collect(),
        cvssv3_score: match &v.score {
            Some(Loose::Other(x)) => x.as_f64().map(|x| x as f32),
            _ => None,
        },
        file_path,
        component_name: pkg.map(str::to_owned),
        component_version: version.map(str::to_owned),
        fix_available: Some(fixed.is_some()),
        fix_version: fixed.map(str::to_owned),
        date: gs(&v.published)
            .and_then(palisade_plugin_sdk::text::iso_date)
            .map(str::to_owned),
        service: Some(ctx.service.clone()),
        tags,
        static_finding: Some(true),
        dynamic_finding: Some(false),
        ..Finding::default()
    })
}

fn check(ctx: &Ctx<'_>, c: &Check<'_>) -> Result<Finding, ParseError> {
    let id = gs(&c.id).filter(|i| *i != "0");
    let severity = trivy_severity(c.severity.as_ref().and_then(Loose::as_str), || {
        format!("check {id:?}")
    })?;
    let category = gs(&c.category);
    let mut description = String::with_capacity(256);
    if let Some(d) = gs(&c.description) {
        description.push_str(d);
        description.push_str("\n\n");
    }
    push_field(&mut description, "Category", category);
    ctx.push_workload(&mut description);
    let messages = match &c.messages {
        Some(Loose::Other(Value::Array(m))) => palisade_plugin_sdk::text::join_non_empty(
            m.iter()
                .filter_map(Value::as_str)
                .map(str::trim)
                .filter(|t| !t.is_empty()),
            "\n",
        ),
        _ => None,
    };
    let mitigation = palisade_plugin_sdk::text::join_non_empty(
        [gs(&c.remediation), messages.as_deref()]
            .into_iter()
            .flatten(),
        "\n\n",
    );
    let tags = [Some(ctx.namespace), category]
        .into_iter()
        .flatten()
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
        .collect();
    Ok(Finding {
        title: format!("{} - {}", id.unwrap_or("0"), gs(&c.title).unwrap_or("None")),
        severity,
        description: clean_string(description),
        mitigation,
        references: id.map(|i| {
            format!(
                "https://avd.aquasec.com/misconfig/kubernetes/{}",
                i.to_lowercase()
            )
        }),
        vulnerability_ids: id.map(uniform_id).transpose()?.into_iter().collect(),
        service: Some(ctx.service.clone()),
        tags,
        fix_available: Some(true),
        static_finding: Some(true),
        dynamic_finding: Some(false),
        ..Finding::default()
    })
}

fn secret_finding(ctx: &Ctx<'_>, s: &Secret<'_>) -> Result<Finding, ParseError> {
    let title = gs(&s.title);
    let severity = trivy_severity(s.severity.as_ref().and_then(Loose::as_str), || {
        format!("secret {title:?}")
    })?;
    let target = gs(&s.target);
    let mut description = String::with_capacity(256);
    if let Some(t) = title {
        description.push_str(t);
        description.push_str("\n\n");
    }
    push_field(&mut description, "Category", gs(&s.category));
    push_field(&mut description, "Match", gs(&s.matched));
    push_field(&mut description, "Rule", gs(&s.rule));
    ctx.push_workload(&mut description);
    Ok(Finding {
        title: format!(
            "Secret detected in {} - {}",
            target.unwrap_or(""),
            title.unwrap_or("None")
        ),
        severity,
        description: clean_string(description),
        references: text(&s.rule),
        file_path: target.map(str::to_owned),
        service: Some(ctx.service.clone()),
        tags: Some(ctx.namespace)
            .filter(|n| !n.is_empty())
            .map(str::to_owned)
            .into_iter()
            .collect(),
        fix_available: Some(true),
        static_finding: Some(true),
        dynamic_finding: Some(false),
        ..Finding::default()
    })
}

/// `status.detailReport` (ClusterComplianceReport with detail, or the older
/// compliance reports): one finding per check that explicitly failed.
fn compliance_detail(detail: &Value, out: &mut Vec<Finding>) -> Result<(), ParseError> {
    let results = objects(detail, "results")?
        .ok_or_else(|| ParseError::new("a detailReport without \"results\""))?;
    for result in results {
        let checks = objects(result, "checks")?
            .ok_or_else(|| ParseError::new("a detailReport result without \"checks\""))?;
        for c in checks {
            // The reference writes the report's description for every check,
            // and fails when it is not text.
            if !detail.get("description").is_some_and(Value::is_string) {
                return Err(ParseError::new("a detailReport without a \"description\""));
            }
            if c.get("success") != Some(&Value::Bool(false)) {
                continue;
            }
            let result_id = get_str(result, "id").unwrap_or("");
            let check_id = get_str(c, "checkID").unwrap_or("");
            let target = get_str(c, "target").unwrap_or("");
            // A check without its own severity inherits its control's.
            let severity = match c.get("severity").and_then(Value::as_str) {
                Some(s) if !s.is_empty() => {
                    trivy_severity(value_str(c, "severity"), || check_id.to_owned())?
                }
                _ => trivy_severity(value_str(result, "severity"), || result_id.to_owned())?,
            };
            let mut description = String::new();
            push_field(
                &mut description,
                "Benchmark",
                get_str(detail, "description"),
            );
            push_field(&mut description, "Control", Some(result_id));
            push_field(&mut description, "Control name", get_str(result, "name"));
            push_field(
                &mut description,
                "Control description",
                get_str(result, "description"),
            );
            push_field(&mut description, "Category", get_str(c, "category"));
            push_field(&mut description, "Check", get_str(c, "title"));
            push_field(
                &mut description,
                "Check description",
                get_str(c, "description"),
            );
            push_field(
                &mut description,
                "Target",
                Some(target).filter(|t| !t.is_empty()),
            );
            let messages = palisade_plugin_sdk::text::join_non_empty(get_strs(c, "messages"), "\n");
            push_field(&mut description, "Messages", messages.as_deref());
            out.push(Finding {
                title: format!("{result_id} {check_id} {target}"),
                severity,
                description: clean_string(description),
                mitigation: get_str(c, "remediation").map(str::to_owned),
                vulnerability_ids: Some(check_id)
                    .filter(|i| !i.is_empty())
                    .map(uniform_id)
                    .transpose()?
                    .into_iter()
                    .collect(),
                fix_available: Some(true),
                static_finding: Some(false),
                dynamic_finding: Some(true),
                ..Finding::default()
            });
        }
    }
    Ok(())
}

/// `status.summaryReport` of a ClusterComplianceReport: one finding per
/// control with failures, its check ids taken from the spec's control list.
fn compliance_summary(
    controls: &[Value],
    summary: &Value,
    out: &mut Vec<Finding>,
) -> Result<(), ParseError> {
    let checks = objects(summary, "controlCheck")?
        .ok_or_else(|| ParseError::new("a summaryReport without \"controlCheck\""))?;
    for control in checks {
        let fails = int_of(control.get("totalFail"))?;
        if fails <= 0 {
            continue;
        }
        let id = get_str(control, "id").unwrap_or("");
        let mut ids = Vec::new();
        let mut description = String::new();
        for spec in controls.iter().filter(|c| get_str(c, "id") == Some(id)) {
            if !spec.get("description").is_some_and(Value::is_string) {
                return Err(ParseError::new(format!(
                    "compliance control {id:?} has no \"description\""
                )));
            }
            ids.extend(
                spec.get("checks")
                    .and_then(Value::as_array)
                    .map_or(&[][..], Vec::as_slice)
                    .iter()
                    .filter_map(|x| get_str(x, "id").map(str::to_owned)),
            );
            push_field(
                &mut description,
                "Description",
                get_str(spec, "description"),
            );
        }
        push_field(&mut description, "Control", Some(id));
        push_field(&mut description, "Name", get_str(control, "name"));
        push_field(&mut description, "Failures", Some(&fails.to_string()));
        out.push(Finding {
            title: format!("TrivyClusterCompliance {id} totalFail: {fails}"),
            severity: trivy_severity(value_str(control, "severity"), || id.to_owned())?,
            description: clean_string(description),
            vulnerability_ids: ids,
            fix_available: Some(true),
            static_finding: Some(false),
            dynamic_finding: Some(true),
            ..Finding::default()
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::uniform_id;

    #[test]
    fn odd_types_read_as_before() {
        let one = |vulns: &str| {
            super::parse(
                format!(
                    r#"{{"metadata":{{"labels":{{}}}},"report":{{"vulnerabilities":{vulns}}}}}"#
                )
                .as_bytes(),
            )
        };
        // A numeric id is no id, a score in a string no score; a repeated key keeps the last.
        let f = one(
            r#"[{"vulnerabilityID":5,"severity":"LOW","score":"5","resource":"a","resource":"b"}]"#,
        )
        .unwrap();
        assert_eq!(f[0].title, "None b None");
        assert_eq!((f[0].vulnerability_ids.len(), f[0].cvssv3_score), (0, None));
        let f = one(r#"[{"severity":"LOW","score":7}]"#).unwrap();
        assert_eq!(
            (f[0].title.as_str(), f[0].cvssv3_score),
            ("0 None None", Some(7.0))
        );
        let e = one(r#"[{"severity":5}]"#).unwrap_err();
        assert!(e.message.contains("unknown severity (missing)"), "{e}");
        assert!(one(r#"[{"severity":"LOW"}, 1]"#).is_err());
        assert!(one(r#"{"a":1}"#).is_err());
        assert!(one("null").unwrap().is_empty());
    }

    #[test]
    fn the_report_reads_the_same_before_or_after_its_labels() {
        let labels = r#""metadata":{"labels":{"trivy-operator.resource.namespace":"ns","trivy-operator.resource.kind":"Pod","trivy-operator.resource.name":"p"}}"#;
        let vulns = r#""report":{"vulnerabilities":[{"vulnerabilityID":"CVE-2024-1","severity":"HIGH","resource":"curl","installedVersion":"1","title":"t"},{"vulnerabilityID":"CVE-2024-2","severity":"LOW"}]}"#;
        let both = |body: String| {
            // One resource, and the same inside an array of resources.
            let one = super::parse(format!("{{{body}}}").as_bytes());
            let listed = super::parse(format!("[{{{body}}}]").as_bytes());
            assert_eq!(
                one.as_ref().map_err(|e| format!("item 0: {}", e.message)),
                listed.as_ref().map_err(|e| e.message.clone())
            );
            one
        };
        let early = both(format!("{labels},{vulns}")).unwrap();
        let late = both(format!("{vulns},{labels}")).unwrap();
        assert_eq!(early, late);
        assert_eq!(early.len(), 2);
        assert_eq!(early[0].service.as_deref(), Some("ns/Pod/p"));
        assert_eq!(early[0].title, "CVE-2024-1 curl 1");

        // The same refusals in the same order: an entry that is no object
        // before a bad vulnerability, whichever comes first.
        for bad in [
            r#"[{"severity":"WRONG"}, 1]"#,
            r#"[1, {"severity":"WRONG"}]"#,
            r#"[{"severity":"WRONG"}]"#,
            r#""x""#,
        ] {
            let vulns = format!(r#""report":{{"vulnerabilities":{bad}}}"#);
            let early = both(format!("{labels},{vulns}")).unwrap_err();
            let late = both(format!("{vulns},{labels}")).unwrap_err();
            assert_eq!(early.message, late.message, "{bad}");
        }
    }

    #[test]
    fn uniform_ids() {
        let u = |s: &str| uniform_id(s).unwrap();
        assert_eq!(u("KSV014"), "AVD-KSV-0014");
        assert_eq!(u("KSV110"), "AVD-KSV-0110");
        assert_eq!(u("AVD-KSV-0001"), "AVD-KSV-0001");
        assert_eq!(u("KCV0048"), "AVD-KCV-0048");
        assert_eq!(u("KHV2"), "KHV002");
        assert_eq!(u("CVE-2020-1"), "CVE-2020-1");
        assert_eq!(u("GHSA-xxxx"), "GHSA-xxxx");
        assert_eq!(u("custom"), "custom");
        assert!(uniform_id("123ksv").is_err());
    }
}
