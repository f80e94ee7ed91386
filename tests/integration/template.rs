//! Finding templates: superusers write them, everyone signed in reads them,
//! and applying one edits a finding like a person would (the SLA deadline
//! follows the severity, one event records the change).

use serde_json::json;

use crate::hierarchy::{add_finding, build_tree};
use crate::support::{TestDb, TestServer, create_user};

const CREATE: &str = "mutation($i: FindingTemplateFields!) { createFindingTemplate(input: $i) { findingTemplate { id title severity cwe vulnerabilityIds tags } } }";

#[tokio::test]
async fn templates_are_written_by_superusers_and_applied_as_edits() {
    let db = TestDb::new().await;
    let s = TestServer::start(&db.url).await;
    let admin = s.gql();
    let t = build_tree(&admin, "Shop").await;
    let f = add_finding(
        &admin,
        &t.test,
        "scanner says xss",
        "Low",
        json!({"tags": ["web"], "date": "2026-12-01"}),
    )
    .await;

    let user = create_user(&db, "someone", false).await;
    let r = s
        .gql_as(&user)
        .query(CREATE, json!({"i": {"title": "Mine"}}))
        .await;
    assert_eq!(r.error_code(), Some("FORBIDDEN"), "{}", r.body);
    let tpl = admin
        .ok(
            CREATE,
            json!({"i": {"title": " Reflected XSS ", "severity": "HIGH", "cwe": 79,
                "description": "Input is echoed unescaped.", "mitigation": "Encode output.",
                "vulnerabilityIds": ["CVE-2026-1", " CVE-2026-1 "], "tags": ["OWASP-A03"]}}),
        )
        .await["createFindingTemplate"]["findingTemplate"]
        .clone();
    assert_eq!(tpl["title"], "Reflected XSS");
    assert_eq!(tpl["vulnerabilityIds"], json!(["CVE-2026-1"]));
    assert_eq!(tpl["tags"], json!(["owasp-a03"]));
    // Bad input names the field and stores nothing.
    for (bad, field) in [
        (json!({"title": "Reflected XSS"}), "title"),
        (json!({"title": ""}), "title"),
        (json!({"title": "x", "cwe": -1}), "cwe"),
    ] {
        let r = admin.query(CREATE, json!({"i": bad})).await;
        assert_eq!(r.error_code(), Some("BAD_USER_INPUT"), "{}", r.body);
        assert!(r.error_message().contains(field), "{}", r.body);
    }
    let listed = s
        .gql_as(&user)
        .ok("{ findingTemplates(search: \"xss\") { title } }", json!({}))
        .await;
    assert_eq!(
        listed["findingTemplates"],
        json!([{"title": "Reflected XSS"}])
    );

    // Applied: the template's fields replace the finding's, its tags join
    // them, and the deadline moves with the severity (High: 30 days).
    let d = admin
        .ok(
            "mutation($f: ID!, $t: ID!) { applyTemplate(input: {finding: $f, template: $t}) { finding { title severity cwe description mitigation vulnerabilityIds tags slaExpirationDate } } }",
            json!({"f": f, "t": tpl["id"]}),
        )
        .await;
    let got = &d["applyTemplate"]["finding"];
    assert_eq!(got["title"], "Reflected XSS");
    assert_eq!(got["severity"], "HIGH");
    assert_eq!(got["cwe"], 79);
    assert_eq!(got["mitigation"], "Encode output.");
    assert_eq!(got["vulnerabilityIds"], json!(["CVE-2026-1"]));
    assert_eq!(got["tags"], json!(["web", "owasp-a03"]));
    assert_eq!(got["slaExpirationDate"], "2026-12-31");
    let used = admin
        .ok(
            "query($id: ID!) { findingTemplate(id: $id) { lastUsed } }",
            json!({"id": tpl["id"]}),
        )
        .await;
    assert!(used["findingTemplate"]["lastUsed"].is_string());
    let kinds: Vec<String> = db
        .client()
        .await
        .query(
            "SELECT kind FROM events WHERE kind <> 'created' ORDER BY seq",
            &[],
        )
        .await
        .expect("events")
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(kinds, ["severity_changed"]);

    // A reader may see the finding but not apply a template to it.
    let uid = admin
        .ok("{ users(usernameContains: \"someone\") { id } }", json!({}))
        .await["users"][0]["id"]
        .clone();
    admin
        .ok(
            "mutation($o: ID!, $u: ID!) { setMember(input: {object: $o, user: $u, role: READER}) { role } }",
            json!({"o": t.product, "u": uid}),
        )
        .await;
    let r = s
        .gql_as(&user)
        .query(
            "mutation($f: ID!, $t: ID!) { applyTemplate(input: {finding: $f, template: $t}) { finding { id } } }",
            json!({"f": f, "t": tpl["id"]}),
        )
        .await;
    assert_eq!(r.error_code(), Some("FORBIDDEN"), "{}", r.body);

    admin
        .ok(
            "mutation($id: ID!) { deleteFindingTemplate(input: {id: $id}) { deletedId } }",
            json!({"id": tpl["id"]}),
        )
        .await;
    let none = admin.ok("{ findingTemplates { id } }", json!({})).await;
    assert_eq!(none["findingTemplates"], json!([]));
}
