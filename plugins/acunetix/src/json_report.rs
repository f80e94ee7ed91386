//! Acunetix 360 JSON: `{"Generated", "Target": {"Url", ...}, "Vulnerabilities": [...]}`.

use palisade_plugin_sdk::json::{array_at, parse_json_value, str_at, string_at};
use palisade_plugin_sdk::prelude::*;
use palisade_plugin_sdk::sniff::{contains, contains_ignore_ascii_case};
use palisade_plugin_sdk::text::join_non_empty;
use serde_json::Value;

use crate::severity;

/// Says whether a report head is Acunetix 360 JSON.
///
/// Netsparker and Invicti export exactly the same structure ("Generated",
/// "Target" with a "ScanId", "Vulnerabilities"), so the head must also name
/// Acunetix (its request headers say "X-Scanner: Acunetix360", its links point
/// to acunetix.com). An export without findings carries no such mark and
/// cannot be told apart; it is left to the caller's explicit scan type.
pub fn looks_like(head: &[u8]) -> bool {
    let has = |k: &[u8]| contains(head, k);
    palisade_plugin_sdk::json::starts_like_json(head)
        && has(b"\"Generated\"")
        && has(b"\"Target\"")
        && (has(b"\"ScanId\"") || has(b"\"Vulnerabilities\""))
        && contains_ignore_ascii_case(head, b"acunetix")
}

/// Parses an Acunetix 360 JSON report.
pub fn parse(report: &[u8]) -> Result<Vec<Finding>, ParseError> {
    let doc = parse_json_value(report)?;
    let Some(obj) = doc.as_object() else {
        return Err(ParseError::new(
            "not an Acunetix 360 JSON report: expected a JSON object at the top level",
        ));
    };
    let vulns = match obj.get("Vulnerabilities") {
        Some(Value::Array(a)) => a,
        Some(Value::Null) => return Ok(Vec::new()),
        Some(_) => {
            return Err(
                ParseError::new("\"Vulnerabilities\" must be a list").at_path("/Vulnerabilities")
            );
        }
        None => {
            return Err(ParseError::new(
                "not an Acunetix 360 JSON report: there is no \"Vulnerabilities\" list",
            ));
        }
    };
    let target = str_at(&doc, "/Target/Url");
    vulns
        .iter()
        .enumerate()
        .map(|(i, v)| {
            vuln_finding(v, target).map_err(|e| e.at_path(format!("/Vulnerabilities/{i}")))
        })
        .collect()
}

/// Turns Acunetix 360's "16/06/2021 12:30 PM" into "2021-06-16T12:30:00".
pub fn iso_date(s: &str) -> Option<String> {
    let mut parts = s.split_whitespace();
    let date = parts.next()?;
    let time = parts.next()?;
    let ampm = parts.next().map(str::to_ascii_uppercase);
    let mut d = date.split('/').map(|x| x.parse::<u32>().ok());
    let (day, month, year) = (d.next()??, d.next()??, d.next()??);
    let mut t = time.split(':').map(|x| x.parse::<u32>().ok());
    let (mut hour, minute) = (t.next()??, t.next()??);
    match ampm.as_deref() {
        Some("PM") if hour < 12 => hour += 12,
        Some("AM") if hour == 12 => hour = 0,
        _ => {}
    }
    let valid = (1..=31).contains(&day) && (1..=12).contains(&month) && hour < 24 && minute < 60;
    valid.then(|| format!("{year:04}-{month:02}-{day:02}T{hour:02}:{minute:02}:00"))
}

/// Reads one vulnerability.
fn vuln_finding(v: &Value, target: Option<&str>) -> Result<Finding, ParseError> {
    let name =
        string_at(v, "/Name").ok_or_else(|| ParseError::new("a vulnerability has no \"Name\""))?;
    let word = string_at(v, "/Severity").unwrap_or_default();
    let severity = severity(&word).ok_or_else(|| {
        ParseError::new(format!(
            "the vulnerability {name:?} has an unknown \"Severity\" {word:?} \
             (expected Critical, High, Medium, Low, Information or BestPractice)"
        ))
    })?;
    let url = str_at(v, "/Url").or(target);
    let endpoints = url.and_then(endpoint_from_url).into_iter().collect();

    let cwes: Vec<u32> = str_at(v, "/Classification/Cwe")
        .map(|c| c.split([',', ' ']).filter_map(parse_cwe).collect())
        .unwrap_or_default();
    let cvss = [
        "/Classification/Cvss31/Vector",
        "/Classification/Cvss/Vector",
    ]
    .iter()
    .find_map(|p| str_at(v, p).and_then(|s| cvss3_from_str(s).ok()));
    let state = str_at(v, "/State").unwrap_or("");
    let false_p = state
        .split(',')
        .any(|s| s.trim().eq_ignore_ascii_case("FalsePositive"));
    let accepted = state
        .split(',')
        .any(|s| s.trim().eq_ignore_ascii_case("AcceptedRisk"));

    let extra: Vec<String> = array_at(v, "/ExtraInformation")
        .iter()
        .filter_map(|e| {
            Some(format!(
                "- {}: {}",
                str_at(e, "/Name")?,
                str_at(e, "/Value").unwrap_or("")
            ))
        })
        .collect();
    let known: Vec<String> = array_at(v, "/KnownVulnerabilities")
        .iter()
        .filter_map(|k| {
            str_at(k, "/Title")
                .or_else(|| k.as_str())
                .map(|t| format!("- {t}"))
        })
        .take(50)
        .collect();
    let description = join_non_empty(
        [
            str_at(v, "/Description").map(html_to_text),
            (!extra.is_empty()).then(|| extra.join("\n")),
            (!known.is_empty()).then(|| {
                format!(
                    "Known vulnerabilities of this version:\n{}",
                    known.join("\n")
                )
            }),
            str_at(v, "/ProofOfConcept").map(html_to_text),
        ]
        .into_iter()
        .flatten(),
        "\n\n",
    )
    .unwrap_or_else(|| name.clone());
    let mitigation = join_non_empty(
        ["/RemedialProcedure", "/RemedialActions"]
            .iter()
            .filter_map(|p| str_at(v, p).map(html_to_text)),
        "\n\n",
    );
    let references = join_non_empty(
        [
            str_at(v, "/LookupId")
                .map(|id| format!("https://online.acunetix360.com/issues/detail/{id}")),
            str_at(v, "/ExternalReferences").map(html_to_text),
            str_at(v, "/RemedyReferences").map(html_to_text),
        ]
        .into_iter()
        .flatten(),
        "\n\n",
    );
    let steps = str_at(v, "/HttpRequest/Content")
        .map(|r| format!("Request:\n{}", truncate_chars(r, 20_000)));
    let tags = array_at(v, "/Tags")
        .iter()
        .filter_map(|t| string_at(t, ""))
        .collect();

    Ok(Finding {
        title: truncate_chars(&name, 511).to_owned(),
        severity,
        description,
        mitigation,
        impact: str_at(v, "/Impact").map(html_to_text),
        references,
        cwe: cwes.first().copied(),
        extra_cwes: cwes.iter().skip(1).copied().collect(),
        cvssv3: cvss.as_ref().map(palisade_plugin_sdk::Cvss3::vector),
        cvssv3_score: cvss.as_ref().map(palisade_plugin_sdk::Cvss3::base_score),
        static_finding: Some(false),
        dynamic_finding: Some(true),
        endpoints,
        steps_to_reproduce: steps,
        date: str_at(v, "/FirstSeenDate").and_then(iso_date),
        tags,
        false_p: false_p.then_some(true),
        risk_accepted: accepted.then_some(true),
        active: (false_p || accepted).then_some(false),
        ..Finding::default()
    })
}
