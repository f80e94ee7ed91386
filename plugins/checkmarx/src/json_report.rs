//! The Checkmarx JSON report (CxSAST / AST export, not Checkmarx One's): `{"reportHeader", "executiveSummary",
//! "scanSummary", "scanResults": {"sast": {"languages": [{"queries":
//! [{"queryName", "vulnerabilities": [...]}]}]}, "sca": {"packages": [{"name",
//! "vulnerabilities": [...]}]}, "kics": {"results": [{"name",
//! "vulnerabilities": [...]}]}}}`.

use palisade_plugin_sdk::deps::serde::de::{
    DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor,
};
use palisade_plugin_sdk::deps::serde::{Deserialize, Deserializer};
use palisade_plugin_sdk::json::{
    FromMap, Items, Loose, MaybeObject, for_each_field, parse_json_borrowed, value_to_string,
};
use palisade_plugin_sdk::prelude::*;
use palisade_plugin_sdk::sniff::contains;
use serde_json::Value;
use std::fmt;

/// Says whether `head` is this JSON report. Checkmarx One's "scan results"
/// export ("Checkmarx One Scan", not ours) also has a `reportHeader` and
/// `scanResults`, but lists results in `resultsList` beside keys of its own.
pub fn looks_like(head: &[u8]) -> bool {
    palisade_plugin_sdk::json::starts_like_json(head)
        && contains(head, b"\"scanResults\"")
        && (contains(head, b"\"executiveSummary\"") || contains(head, b"\"scanSummary\""))
        && !CX_ONE_MARKERS.iter().any(|m| contains(head, m))
}

/// Keys of Checkmarx One's scan report ("Checkmarx One Scan", another scan
/// type), which also has `scanResults`: never in a CxSAST JSON report.
const CX_ONE_MARKERS: [&[u8]; 9] = [
    b"\"resultsList\"",
    b"\"reportType\"",
    b"\"reportCreationDate\"",
    b"\"iacScanResults\"",
    b"\"scaScanResults\"",
    b"\"containerScanResults\"",
    b"\"apiSecScanResults\"",
    b"\"scanInformation\"",
    b"\"vulnerabilityDetails\"",
];

/// Parses a Checkmarx JSON report.
pub fn parse(report: &[u8]) -> Result<Vec<Finding>, ParseError> {
    let MaybeObject(top) =
        parse_json_borrowed::<MaybeObject<Top<'_>>>(report).map_err(|mut e| {
            e.message = format!("not a Checkmarx JSON report: {}", e.message);
            e
        })?;
    let Some(results) = top.and_then(|t| t.scan_results).and_then(|r| r.0) else {
        return Err(ParseError::new(
            "not a Checkmarx JSON report: expected an object with \"scanResults\"",
        ));
    };
    let (no_group, no_vuln) = (Group::default(), Vuln::default());
    let mut out = Vec::new();
    if let Some(sast) = &results.sast {
        for lang in sast.items(&no_group) {
            let language = text(&lang.language_name);
            for query in lang.queries.items(&no_group) {
                for vuln in query.vulnerabilities.items(&no_vuln) {
                    out.push(sast_finding(query, vuln, language.as_deref()));
                }
            }
        }
    }
    if let Some(sca) = &results.sca {
        for package in sca.items(&no_group) {
            for vuln in package.vulnerabilities.items(&no_vuln) {
                out.push(sca_finding(package, vuln)?);
            }
        }
    }
    if let Some(kics) = &results.kics {
        for group in kics.items(&no_group) {
            for vuln in group.vulnerabilities.items(&no_vuln) {
                out.push(kics_finding(group, vuln));
            }
        }
    }
    Ok(out)
}

// The report is read into these typed structs rather than a `Value` tree
// (several times faster: unread fields are skipped without allocating).
// Fields keep `Value`'s view of unexpected types through `Loose`, lists
// read like `array_at` (anything but an array is empty, a non-object item
// has no fields), and a repeated key overwrites, as in a `Value` tree.

/// The items of an array as `array_at` lists them: `None` stands for an
/// item that is not an object; anything but an array is no items.
struct Arr<T>(Vec<Option<T>>);

impl<T> Default for Arr<T> {
    fn default() -> Self {
        Arr(Vec::new())
    }
}

impl<T> Arr<T> {
    /// The items, a non-object one as `none` (an item without fields).
    fn items<'s>(&'s self, none: &'s T) -> impl Iterator<Item = &'s T> {
        self.0.iter().map(move |i| i.as_ref().unwrap_or(none))
    }

    fn first_last<'s>(&'s self, none: &'s T) -> (Option<&'s T>, Option<&'s T>) {
        let pick = |i: Option<&'s Option<T>>| i.map(|i| i.as_ref().unwrap_or(none));
        (pick(self.0.first()), pick(self.0.last()))
    }
}

impl<'de, T: FromMap<'de>> Deserialize<'de> for Arr<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(match Items::<'de, T>::deserialize(d)? {
            Items::List(items) => Arr(items),
            Items::Other(_) => Arr::default(),
        })
    }
}

/// The top level's "scanResults" (`None` inside when it is not an object).
#[derive(Default)]
struct Top<'a> {
    scan_results: Option<MaybeObject<Results<'a>>>,
}

/// Each engine's list (`None` only when the engine's key is missing).
#[derive(Default)]
struct Results<'a> {
    sast: Option<Arr<Group<'a>>>,
    sca: Option<Arr<Group<'a>>>,
    kics: Option<Arr<Group<'a>>>,
}

/// A SAST language (`languageName`, `queries`), a SAST query (`queryName`,
/// `description`, `vulnerabilities`), an SCA package or a KICS result
/// group (`name`, `vulnerabilities`).
#[derive(Default)]
struct Group<'a> {
    name: Option<Loose<'a>>,
    language_name: Option<Loose<'a>>,
    query_name: Option<Loose<'a>>,
    description: Option<Loose<'a>>,
    queries: Arr<Group<'a>>,
    vulnerabilities: Arr<Vuln<'a>>,
}

/// A vulnerability of any engine.
#[derive(Default)]
struct Vuln<'a> {
    group_name: Option<Loose<'a>>,
    state: Option<Loose<'a>>,
    status: Option<Loose<'a>>,
    compliance: Option<Loose<'a>>,
    severity: Option<Loose<'a>>,
    cwe_id: Option<Loose<'a>>,
    cwe: Option<Loose<'a>>,
    cve_id: Option<Loose<'a>>,
    id: Option<Loose<'a>>,
    similarity_id: Option<Loose<'a>>,
    first_found: Option<Loose<'a>>,
    description: Option<Loose<'a>>,
    risk_level: Option<Loose<'a>>,
    query_name: Option<Loose<'a>>,
    issue_type: Option<Loose<'a>>,
    category: Option<Loose<'a>>,
    expected: Option<Loose<'a>>,
    actual: Option<Loose<'a>>,
    file_name: Option<Loose<'a>>,
    line: Option<Loose<'a>>,
    nodes: Arr<Node<'a>>,
}

palisade_plugin_sdk::loose_object!(Node {
    file_name = "fileName",
    line = "line",
    full_name = "fullName",
});

impl<'de> FromMap<'de> for Top<'de> {
    fn from_map<A: MapAccess<'de>>(map: A) -> Result<Self, A::Error> {
        let mut t = Top::default();
        for_each_field(map, |key, map| {
            if key != "scanResults" {
                return Ok(false);
            }
            t.scan_results = Some(map.next_value()?);
            Ok(true)
        })?;
        Ok(t)
    }
}

impl<'de> FromMap<'de> for Results<'de> {
    fn from_map<A: MapAccess<'de>>(map: A) -> Result<Self, A::Error> {
        let mut r = Results::default();
        for_each_field(map, |key, map| {
            let (slot, list) = match key {
                "sast" => (&mut r.sast, "languages"),
                "sca" => (&mut r.sca, "packages"),
                "kics" => (&mut r.kics, "results"),
                _ => return Ok(false),
            };
            *slot = Some(map.next_value_seed(PartSeed(list))?);
            Ok(true)
        })?;
        Ok(r)
    }
}

/// Reads an engine's part: the list under its key when it is an object.
struct PartSeed(&'static str);

impl<'de> DeserializeSeed<'de> for PartSeed {
    type Value = Arr<Group<'de>>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        struct V(&'static str);
        impl<'de> Visitor<'de> for V {
            type Value = Arr<Group<'de>>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                let mut list = Arr::default();
                for_each_field(map, |key, map| {
                    if key != self.0 {
                        return Ok(false);
                    }
                    list = map.next_value()?;
                    Ok(true)
                })?;
                Ok(list)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(Arr::default())
            }
            fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
                Ok(Arr::default())
            }
            fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
                Ok(Arr::default())
            }
            fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
                Ok(Arr::default())
            }
            fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
                Ok(Arr::default())
            }
            fn visit_str<E>(self, _: &str) -> Result<Self::Value, E> {
                Ok(Arr::default())
            }
            fn visit_unit<E>(self) -> Result<Self::Value, E> {
                Ok(Arr::default())
            }
        }
        d.deserialize_any(V(self.0))
    }
}

impl<'de> FromMap<'de> for Group<'de> {
    fn from_map<A: MapAccess<'de>>(map: A) -> Result<Self, A::Error> {
        let mut g = Group::default();
        for_each_field(map, |key, map| {
            match key {
                "name" => g.name = Some(map.next_value()?),
                "languageName" => g.language_name = Some(map.next_value()?),
                "queryName" => g.query_name = Some(map.next_value()?),
                "description" => g.description = Some(map.next_value()?),
                "queries" => g.queries = map.next_value()?,
                "vulnerabilities" => g.vulnerabilities = map.next_value()?,
                _ => return Ok(false),
            }
            Ok(true)
        })?;
        Ok(g)
    }
}

impl<'de> FromMap<'de> for Vuln<'de> {
    fn from_map<A: MapAccess<'de>>(map: A) -> Result<Self, A::Error> {
        let mut v = Vuln::default();
        for_each_field(map, |key, map| {
            let slot = match key {
                "nodes" => {
                    v.nodes = map.next_value()?;
                    return Ok(true);
                }
                "groupName" => &mut v.group_name,
                "state" => &mut v.state,
                "status" => &mut v.status,
                "compliance" => &mut v.compliance,
                "severity" => &mut v.severity,
                "cweId" => &mut v.cwe_id,
                "cwe" => &mut v.cwe,
                "cveId" => &mut v.cve_id,
                "id" => &mut v.id,
                "similarityId" => &mut v.similarity_id,
                "firstFoundDate" => &mut v.first_found,
                "description" => &mut v.description,
                "riskLevel" => &mut v.risk_level,
                "queryName" => &mut v.query_name,
                "issueType" => &mut v.issue_type,
                "category" => &mut v.category,
                "expectedValue" => &mut v.expected,
                "actualValue" => &mut v.actual,
                "fileName" => &mut v.file_name,
                "line" => &mut v.line,
                _ => return Ok(false),
            };
            *slot = Some(map.next_value()?);
            Ok(true)
        })?;
        Ok(v)
    }
}

/// `string_at`: a string trimmed, a number or boolean printed; `None` when
/// missing, null, blank, an array or an object.
fn text(field: &Option<Loose<'_>>) -> Option<String> {
    match field.as_ref()? {
        Loose::Str(s) => Some(s.trim()).filter(|t| !t.is_empty()).map(str::to_owned),
        Loose::Other(v) => value_to_string(v),
    }
}

/// `Value::as_str`.
fn as_str<'f>(field: &'f Option<Loose<'_>>) -> Option<&'f str> {
    field.as_ref().and_then(Loose::as_str)
}

/// `Value::as_u64`.
fn as_u64(field: &Option<Loose<'_>>) -> Option<u64> {
    match field {
        Some(Loose::Other(v)) => v.as_u64(),
        _ => None,
    }
}

/// A date from "2022-05-06T10:47:54Z" or `{"seconds": 1651835169}`.
fn date_of(v: &Option<Loose<'_>>) -> Option<String> {
    match v.as_ref()? {
        Loose::Str(s) => palisade_plugin_sdk::text::iso_date(s).map(str::to_owned),
        Loose::Other(Value::Object(o)) => {
            let secs = o.get("seconds")?.as_i64()?;
            Some(civil_date(secs.div_euclid(86_400)))
        }
        _ => None,
    }
}

/// Days since 1970-01-01 to "YYYY-MM-DD" (proleptic Gregorian calendar).
fn civil_date(days: i64) -> String {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

/// Checkmarx triage states.
fn status(f: &mut Finding, vuln: &Vuln<'_>) {
    let state = as_str(&vuln.state).unwrap_or_default();
    let not_exploitable = state.eq_ignore_ascii_case("Not exploitable");
    f.false_p = Some(not_exploitable);
    f.active = Some(!not_exploitable);
    f.verified = Some(matches!(state, "Confirmed" | "Urgent"));
}

fn sast_finding(query: &Group<'_>, vuln: &Vuln<'_>, language: Option<&str>) -> Finding {
    let name = text(&query.query_name)
        .map(|n| n.replace('_', " "))
        .unwrap_or_else(|| "Checkmarx SAST finding".to_owned());
    let no_node = Node::default();
    let (source, sink) = vuln.nodes.first_last(&no_node);
    let mut description = text(&query.description).unwrap_or_default();
    let mut line = |label: &str, value: Option<String>| {
        if let Some(v) = value {
            description.push_str(&format!("\n**{label}:** {v}"));
        }
    };
    line("Query", Some(name.clone()));
    line("Language", language.map(str::to_owned));
    line("Group", text(&vuln.group_name));
    line("State", text(&vuln.state));
    line("Status", text(&vuln.status));
    let node_text = |n: &Node<'_>| {
        format!(
            "{} line {} ({})",
            text(&n.file_name).unwrap_or_default(),
            text(&n.line).unwrap_or_default(),
            text(&n.full_name).unwrap_or_default()
        )
    };
    line("Source", source.map(node_text));
    line("Sink", sink.map(node_text));
    let compliance: Vec<String> = match &vuln.compliance {
        Some(Loose::Other(Value::Array(items))) => {
            items.iter().filter_map(value_to_string).collect()
        }
        _ => Vec::new(),
    };
    if !compliance.is_empty() {
        line("Compliance", Some(compliance.join(", ")));
    }
    let mut f = Finding {
        title: truncate_chars(&name, 511).to_owned(),
        severity: severity_or_info(as_str(&vuln.severity)),
        description: clean_string(description),
        cwe: text(&vuln.cwe_id).and_then(|c| parse_cwe(&c)),
        file_path: sink.and_then(|n| text(&n.file_name)),
        line: sink
            .and_then(|n| as_u64(&n.line))
            .and_then(|l| u32::try_from(l).ok())
            .filter(|l| *l > 0),
        unique_id_from_tool: unique_id(vuln),
        static_finding: Some(true),
        dynamic_finding: Some(false),
        date: date_of(&vuln.first_found),
        tags: vec!["sast".to_owned()],
        ..Finding::default()
    };
    status(&mut f, vuln);
    f
}

/// The unique id: the vulnerability's `id`, else its `similarityId` as text
/// ("None" when that is missing too, as the reference writes it).
fn unique_id(vuln: &Vuln<'_>) -> Option<String> {
    if let Some(id) = text(&vuln.id).filter(|s| !s.trim().is_empty()) {
        return Some(id);
    }
    let similarity = match &vuln.similarity_id {
        None | Some(Loose::Other(Value::Null)) => "None".to_owned(),
        Some(Loose::Str(s)) => s.clone().into_owned(),
        Some(Loose::Other(other)) => other.to_string(),
    };
    non_empty_str(&similarity)
}

/// The component of an SCA package named "Ecosystem-name-version", as the
/// reference splits it: the last two dash-separated parts are the name and
/// the version (so "Npm-jquery-ui-1.10.4" is "ui" 1.10.4).
fn component(package: &str) -> Result<(String, String), ParseError> {
    let mut parts = package.rsplit('-');
    let version = parts.next().unwrap_or_default();
    let name = parts.next().ok_or_else(|| {
        ParseError::new(format!(
            "SCA package name {package:?} is not \"Ecosystem-name-version\""
        ))
    })?;
    Ok((name.to_owned(), version.to_owned()))
}

fn sca_finding(package: &Group<'_>, vuln: &Vuln<'_>) -> Result<Finding, ParseError> {
    let package_name = text(&package.name).unwrap_or_default();
    let (name, version) = component(&package_name)?;
    let id = text(&vuln.cve_id);
    let title = format!("{name}:{version} | {}", id.as_deref().unwrap_or("None"));
    let mut description = text(&vuln.description).unwrap_or_else(|| title.clone());
    description.push_str(&format!("\n\n**Package:** {package_name}"));
    if let Some(r) = text(&vuln.risk_level) {
        description.push_str(&format!("\n**Risk level:** {r}"));
    }
    let mut f = Finding {
        title: truncate_chars(&title, 511).to_owned(),
        severity: severity_or_info(as_str(&vuln.severity)),
        description: clean_string(description),
        cwe: text(&vuln.cwe).and_then(|c| parse_cwe(&c)),
        vulnerability_ids: id.into_iter().collect(),
        component_name: non_empty_str(&name),
        component_version: non_empty_str(&version),
        unique_id_from_tool: unique_id(vuln),
        static_finding: Some(true),
        dynamic_finding: Some(false),
        date: date_of(&vuln.first_found),
        tags: vec!["sca".to_owned()],
        ..Finding::default()
    };
    status(&mut f, vuln);
    Ok(f)
}

fn kics_finding(group: &Group<'_>, vuln: &Vuln<'_>) -> Finding {
    let group_name = text(&group.name);
    let query = text(&vuln.query_name).unwrap_or_else(|| "KICS finding".to_owned());
    let title = match &group_name {
        Some(g) => format!("{g} | {query}"),
        None => query,
    };
    let mut description = text(&vuln.description).unwrap_or_else(|| title.clone());
    for (field, label) in [
        (&vuln.issue_type, "Issue type"),
        (&vuln.category, "Category"),
        (&vuln.expected, "Expected"),
        (&vuln.actual, "Actual"),
    ] {
        if let Some(v) = text(field).filter(|s| !s.trim().is_empty()) {
            description.push_str(&format!("\n**{label}:** {v}"));
        }
    }
    let mut f = Finding {
        title: truncate_chars(&title, 511).to_owned(),
        severity: severity_or_info(as_str(&vuln.severity)),
        description: clean_string(description),
        file_path: text(&vuln.file_name).filter(|s| !s.trim().is_empty()),
        line: as_u64(&vuln.line)
            .and_then(|l| u32::try_from(l).ok())
            .filter(|l| *l > 0),
        unique_id_from_tool: unique_id(vuln),
        static_finding: Some(true),
        dynamic_finding: Some(false),
        date: date_of(&vuln.first_found),
        tags: ["kics".to_owned()].into_iter().chain(group_name).collect(),
        ..Finding::default()
    };
    status(&mut f, vuln);
    f
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn components_are_the_last_two_dash_parts() {
        let c = |p: &str| component(p).unwrap();
        assert_eq!(
            c("Npm-jquery-ui-1.10.4"),
            ("ui".to_owned(), "1.10.4".to_owned())
        );
        assert_eq!(
            c("Npm-lodash-4.17.4"),
            ("lodash".to_owned(), "4.17.4".to_owned())
        );
        assert!(component("odd").is_err());
    }

    #[test]
    fn odd_types_read_as_before() {
        let f = parse(
            br#"{"scanResults":{"sast":{"languages":[{"queries":[{"queryName":"Q_x","vulnerabilities":[
                {"nodes":[1,{"fileName":"f","line":"4"}],"cweId":79,"similarityId":{"b":1,"a":2},"severity":5},
                {"similarityId":12,"state":"Confirmed","nodes":[{"line":7}]}, 3]}]}, 4]}}}"#,
        )
        .unwrap();
        assert_eq!(f.len(), 3);
        assert_eq!(f[0].cwe, Some(79));
        assert_eq!(
            f[0].unique_id_from_tool.as_deref(),
            Some(r#"{"a":2,"b":1}"#)
        );
        // A line in a string is no line; a number is.
        assert_eq!((f[0].file_path.as_deref(), f[0].line), (Some("f"), None));
        assert_eq!(
            (f[1].line, f[1].unique_id_from_tool.as_deref()),
            (Some(7), Some("12"))
        );
        assert_eq!(f[2].unique_id_from_tool.as_deref(), Some("None"));
        assert!(parse(br#"{"scanResults":[]}"#).is_err());
        assert!(
            parse(
                br#"{"scanResults":{"sca":{"packages":[{"name":"odd","vulnerabilities":[{}]}]}}}"#
            )
            .is_err()
        );
    }

    #[test]
    fn dates() {
        assert_eq!(civil_date(0), "1970-01-01");
        assert_eq!(
            date_of(&Some(Loose::Other(
                serde_json::json!({"seconds": 1651835169})
            )))
            .as_deref(),
            Some("2022-05-06")
        );
    }
}
