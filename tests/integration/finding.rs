//! Findings over GraphQL: filters, sorting, keyset pages, status rules, tags,
//! locations, notes, and a constant number of SQL statements per page.

use serde_json::{Value, json};

use crate::hierarchy::{add_finding, build_tree};
use crate::support::{TestDb, TestServer};

fn titles(v: &Value) -> Vec<String> {
    v["nodes"]
        .as_array()
        .expect("nodes")
        .iter()
        .map(|n| n["title"].as_str().expect("title").to_owned())
        .collect()
}

#[tokio::test]
async fn filters_and_sorting() {
    let db = TestDb::new().await;
    let s = TestServer::start(&db.url).await;
    let gql = s.gql();
    let a = build_tree(&gql, "Alpha").await;
    let b = build_tree(&gql, "Beta").await;
    add_finding(&gql, &a.test, "Log4Shell", "Critical", json!({"vulnerabilityIds": ["cve-2021-44228"], "componentName": "log4j-core", "componentVersion": "2.14.1", "cwe": 502, "tags": ["java"]})).await;
    add_finding(
        &gql,
        &a.test,
        "Weak TLS",
        "Low",
        json!({"date": "2026-01-05"}),
    )
    .await;
    add_finding(
        &gql,
        &a.test,
        "Open redirect",
        "High",
        json!({"filePath": "src/app/redirect.py", "line": 12}),
    )
    .await;
    add_finding(
        &gql,
        &b.test,
        "Debug enabled",
        "High",
        json!({"active": false}),
    )
    .await;

    let q = "query($f: FindingFilterInput, $o: FindingOrder) { findings(filter: $f, orderBy: $o, first: 50) { totalCount nodes { title severity } } }";
    let d = gql
        .ok(
            q,
            json!({"f": {"severity": ["CRITICAL", "HIGH"], "active": true}}),
        )
        .await;
    assert_eq!(d["findings"]["totalCount"], 2);
    let d = gql.ok(q, json!({"f": {"productIds": [b.product]}})).await;
    assert_eq!(titles(&d["findings"]), vec!["Debug enabled"]);
    let d = gql
        .ok(q, json!({"f": {"productTypeIds": [a.product_type]}}))
        .await;
    assert_eq!(d["findings"]["totalCount"], 3);
    let d = gql
        .ok(q, json!({"f": {"vulnerabilityId": "CVE-2021-44228"}}))
        .await;
    assert_eq!(titles(&d["findings"]), vec!["Log4Shell"]);
    let d = gql.ok(q, json!({"f": {"cwe": [502], "componentName": "log4j-core", "componentVersion": "2.14.1", "tags": ["JAVA"]}})).await;
    assert_eq!(titles(&d["findings"]), vec!["Log4Shell"]);
    let d = gql.ok(q, json!({"f": {"filePath": "redirect"}})).await;
    assert_eq!(titles(&d["findings"]), vec!["Open redirect"]);
    let d = gql.ok(q, json!({"f": {"search": "TLS"}})).await;
    assert_eq!(titles(&d["findings"]), vec!["Weak TLS"]);
    let d = gql.ok(q, json!({"f": {"dateTo": "2026-01-31"}})).await;
    assert_eq!(titles(&d["findings"]), vec!["Weak TLS"]);
    let d = gql.ok(q, json!({"o": {"field": "SEVERITY"}})).await;
    let sev: Vec<&str> = d["findings"]["nodes"]
        .as_array()
        .expect("nodes")
        .iter()
        .map(|n| n["severity"].as_str().expect("s"))
        .collect();
    assert_eq!(sev, vec!["CRITICAL", "HIGH", "HIGH", "LOW"]);
    let d = gql
        .ok(q, json!({"o": {"field": "TITLE", "direction": "DESC"}}))
        .await;
    assert_eq!(
        titles(&d["findings"]),
        vec!["Weak TLS", "Open redirect", "Log4Shell", "Debug enabled"]
    );
    // SLA deadlines follow the default configuration (Critical: 7 days).
    let d = gql.ok("query($f: FindingFilterInput) { findings(filter: $f) { nodes { date slaExpirationDate } } }", json!({"f": {"severity": ["CRITICAL"]}})).await;
    let n = &d["findings"]["nodes"][0];
    let date = chrono_day(n["date"].as_str().expect("date"));
    let exp = chrono_day(n["slaExpirationDate"].as_str().expect("sla"));
    assert_eq!(exp - date, 7);
}

fn chrono_day(s: &str) -> i64 {
    // Days since the epoch, enough to compare two ISO dates.
    let parts: Vec<i64> = s.split('-').map(|p| p.parse().expect("num")).collect();
    let (y, m, d) = (parts[0], parts[1], parts[2]);
    let a = (14 - m) / 12;
    let y2 = y + 4800 - a;
    let m2 = m + 12 * a - 3;
    d + (153 * m2 + 2) / 5 + 365 * y2 + y2 / 4 - y2 / 100 + y2 / 400 - 32045
}

#[tokio::test]
async fn keyset_pages_walk_forward_and_backward() {
    let db = TestDb::new().await;
    let s = TestServer::start(&db.url).await;
    let gql = s.gql();
    let t = build_tree(&gql, "Pages").await;
    for i in 0..7 {
        let sev = ["Critical", "High", "Medium"][i % 3];
        add_finding(&gql, &t.test, &format!("F{i}"), sev, json!({})).await;
    }
    let q = "query($a: String, $b: String, $f: Int, $l: Int, $o: FindingOrder) { findings(after: $a, before: $b, first: $f, last: $l, orderBy: $o) { totalCount pageInfo { hasNextPage hasPreviousPage startCursor endCursor } nodes { title } } }";
    let mut seen = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let d = gql
            .ok(q, json!({"a": after, "f": 3, "o": {"field": "SEVERITY"}}))
            .await;
        let c = &d["findings"];
        assert_eq!(c["totalCount"], 7);
        seen.extend(titles(c));
        if !c["pageInfo"]["hasNextPage"].as_bool().expect("bool") {
            break;
        }
        after = c["pageInfo"]["endCursor"].as_str().map(str::to_owned);
    }
    assert_eq!(
        seen,
        vec!["F0", "F3", "F6", "F1", "F4", "F2", "F5"],
        "severity order, then creation order"
    );
    // The last two, then the two before them.
    let d = gql.ok(q, json!({"l": 2, "o": {"field": "SEVERITY"}})).await;
    assert_eq!(titles(&d["findings"]), vec!["F2", "F5"]);
    assert_eq!(d["findings"]["pageInfo"]["hasPreviousPage"], true);
    let before = d["findings"]["pageInfo"]["startCursor"]
        .as_str()
        .expect("cursor")
        .to_owned();
    let d = gql
        .ok(q, json!({"l": 2, "b": before, "o": {"field": "SEVERITY"}}))
        .await;
    assert_eq!(titles(&d["findings"]), vec!["F1", "F4"]);
    // A cursor that is not ours.
    let r = gql.query(q, json!({"a": "bm9wZQ", "f": 2})).await;
    assert_eq!(r.error_code(), Some("BAD_USER_INPUT"));
}

#[tokio::test]
async fn status_changes_are_normalised() {
    let db = TestDb::new().await;
    let s = TestServer::start(&db.url).await;
    let gql = s.gql();
    let t = build_tree(&gql, "Status").await;
    let f = add_finding(
        &gql,
        &t.test,
        "Hardcoded secret",
        "High",
        json!({"verified": true}),
    )
    .await;
    let m = "mutation($i: UpdateFindingInput!) { updateFinding(input: $i) { finding { active verified falseP isMitigated mitigated status } } }";
    let d = gql.ok(m, json!({"i": {"id": f, "falseP": true}})).await;
    let x = &d["updateFinding"]["finding"];
    assert_eq!(
        (
            x["active"].clone(),
            x["verified"].clone(),
            x["isMitigated"].clone()
        ),
        (json!(false), json!(false), json!(true))
    );
    assert!(x["mitigated"].is_string(), "mitigation is stamped");
    assert_eq!(x["status"], "Inactive, Mitigated, False Positive");
    let d = gql.ok(m, json!({"i": {"id": f, "active": true}})).await;
    let x = &d["updateFinding"]["finding"];
    assert_eq!(
        (
            x["active"].clone(),
            x["falseP"].clone(),
            x["isMitigated"].clone(),
            x["mitigated"].clone()
        ),
        (json!(true), json!(false), json!(false), Value::Null)
    );
    let r = gql
        .query(m, json!({"i": {"id": f, "falseP": true, "verified": true}}))
        .await;
    assert_eq!(r.error_code(), Some("BAD_USER_INPUT"));
    let r = gql
        .query(
            m,
            json!({"i": {"id": f, "riskAccepted": true, "active": true}}),
        )
        .await;
    assert_eq!(r.error_code(), Some("BAD_USER_INPUT"));
    // Severity change moves the SLA deadline and the sort key.
    let d = gql
        .ok("mutation($id: ID!) { updateFinding(input: {id: $id, severity: CRITICAL}) { finding { severity numericalSeverity date slaExpirationDate } } }", json!({"id": f}))
        .await;
    let x = &d["updateFinding"]["finding"];
    assert_eq!(x["numericalSeverity"], "S0");
    assert_eq!(
        chrono_day(x["slaExpirationDate"].as_str().expect("sla"))
            - chrono_day(x["date"].as_str().expect("date")),
        7
    );
}

#[tokio::test]
async fn tags_locations_and_notes() {
    let db = TestDb::new().await;
    let s = TestServer::start(&db.url).await;
    let gql = s.gql();
    let t = build_tree(&gql, "Web").await;
    let f = add_finding(&gql, &t.test, "Reflected XSS", "Medium", json!({})).await;
    let d = gql.ok("mutation($id: ID!) { addTags(input: {id: $id, tags: [\"Triage\", \"xss\"]}) { tags } }", json!({"id": f})).await;
    assert_eq!(d["addTags"]["tags"], json!(["triage", "xss"]));
    let d = gql.ok("mutation($id: ID!) { removeTags(input: {id: $id, tags: [\"triage\"]}) { tags node { id } } }", json!({"id": f})).await;
    assert_eq!(d["removeTags"]["tags"], json!(["xss"]));
    let r = gql
        .query(
            "mutation($id: ID!) { addTags(input: {id: $id, tags: [\"two words\"]}) { tags } }",
            json!({"id": f}),
        )
        .await;
    assert_eq!(r.error_code(), Some("BAD_USER_INPUT"));

    let d = gql
        .ok("mutation($id: ID!) { addFindingLocation(input: {finding: $id, url: \"HTTPS://Shop.example.com:443/search?q=1\"}) { location { id url host port } } }", json!({"id": f}))
        .await;
    let loc = &d["addFindingLocation"]["location"];
    assert_eq!(loc["url"], "https://shop.example.com/search?q=1");
    assert_eq!(loc["port"], Value::Null);
    let loc_id = loc["id"].as_str().expect("id").to_owned();
    // The same URL again is the same location.
    let d = gql
        .ok("mutation($id: ID!) { addFindingLocation(input: {finding: $id, url: \"https://shop.example.com/search?q=1\"}) { location { id } } }", json!({"id": f}))
        .await;
    assert_eq!(d["addFindingLocation"]["location"]["id"], loc_id.as_str());
    let r = gql.query("mutation($id: ID!) { addFindingLocation(input: {finding: $id, url: \"http://\"}) { location { id } } }", json!({"id": f})).await;
    assert_eq!(r.error_code(), Some("BAD_USER_INPUT"));

    let d = gql.ok("mutation($id: ID!) { createNote(input: {parent: $id, entry: \"first\"}) { note { id entry } } }", json!({"id": f})).await;
    let note = d["createNote"]["note"]["id"]
        .as_str()
        .expect("id")
        .to_owned();
    gql.ok("mutation($id: ID!) { updateNote(input: {id: $id, entry: \"second\"}) { note { edited } } }", json!({"id": note})).await;
    let d = gql.ok("query($id: ID!) { finding(id: $id) { tags locations { status location { host } } notes { entry edited } } }", json!({"id": f})).await;
    let x = &d["finding"];
    assert_eq!(x["locations"][0]["status"], "ACTIVE");
    assert_eq!(x["locations"][0]["location"]["host"], "shop.example.com");
    assert_eq!(x["notes"][0]["entry"], "second");
    assert_eq!(x["notes"][0]["edited"], true);
    assert_eq!(
        db.count("note_history").await,
        1,
        "the previous text is kept"
    );
    let r = gql
        .query(
            "mutation($id: ID!) { createNote(input: {parent: $id, entry: \"x\"}) { note { id } } }",
            json!({"id": t.product}),
        )
        .await;
    assert_eq!(r.error_code(), Some("BAD_USER_INPUT"));

    gql.ok("mutation($f: ID!, $l: ID!) { removeFindingLocation(input: {finding: $f, location: $l}) { finding { id } } }", json!({"f": f, "l": loc_id})).await;
    gql.ok(
        "mutation($id: ID!) { deleteFinding(input: {id: $id}) { deletedId } }",
        json!({"id": f}),
    )
    .await;
    assert_eq!(db.count("findings").await, 0);
    assert_eq!(db.count("notes").await, 0);
}

/// Seeds `n` findings into the newest test, each with two vulnerability ids,
/// tags and a location.
async fn seed(db: &TestDb, n: i64) {
    let c = db.client().await;
    c.batch_execute(&format!(
        "INSERT INTO findings (test_id, engagement_id, product_id, title, severity, numerical_severity, description, tags)
         SELECT t.id, t.engagement_id, t.product_id, 'seeded ' || g, 'High', 'S1', 'd', ARRAY['a','b']
         FROM tests t, generate_series(1, {n}) g WHERE t.id = (SELECT max(id) FROM tests);
         INSERT INTO finding_vulnerability_ids (finding_id, position, vulnerability_id)
         SELECT f.id, p, 'CVE-2026-' || (f.id * 10 + p) FROM findings f, generate_series(0, 1) p;
         INSERT INTO locations (location_value, identity_hash, host) VALUES ('seed.example', repeat('a', 64), 'seed.example');
         INSERT INTO location_finding_refs (location_id, finding_id) SELECT l.id, f.id FROM locations l, findings f;"
    ))
    .await
    .expect("seed");
}

#[tokio::test]
async fn a_page_with_nested_parents_runs_a_constant_number_of_statements() {
    let db = TestDb::new().await;
    let s = TestServer::start(&db.url).await;
    let gql = s.gql();
    let t = build_tree(&gql, "Counted").await;
    let _ = &t;
    seed(&db, 100).await;
    let q = "query($n: Int) { findings(first: $n) { nodes { id title tags vulnerabilityIds duplicateFinding { id } locations { location { host } } test { title engagement { name product { name productType { name } } } } } } }";
    let small = gql.query(q, json!({"n": 10})).await;
    let large = gql.query(q, json!({"n": 100})).await;
    assert_eq!(
        large.data()["findings"]["nodes"]
            .as_array()
            .expect("nodes")
            .len(),
        100
    );
    assert_eq!(
        large.data()["findings"]["nodes"][0]["vulnerabilityIds"]
            .as_array()
            .expect("ids")
            .len(),
        2
    );
    assert_eq!(
        small.sql_statements(),
        large.sql_statements(),
        "statement count must not depend on the page size"
    );
    assert!(
        large.sql_statements() <= 8,
        "one statement per relation level, got {}",
        large.sql_statements()
    );
}
