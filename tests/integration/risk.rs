//! Risk acceptance: full acceptances take an engagement's findings out of
//! the open list until they are removed, expire or the acceptance is
//! deleted; `acceptRisks` accepts by vulnerability id; simple acceptance
//! toggles the flag where the product allows it; reimports keep accepted
//! findings accepted. Bad input changes nothing, and every change is an
//! event of the finding and an entry in the acceptance's history.

use reqwest::multipart::{Form, Part};
use serde_json::{Value, json};

use crate::hierarchy::{add_finding, build_tree};
use crate::support::{Gql, TestDb, TestServer, create_user, grant, upload, user_id};

const STATE: &str = "id active riskAccepted isMitigated slaStartDate riskAcceptance { id name }";
const CREATE: &str = "mutation($i: CreateRiskAcceptanceInput!) { createRiskAcceptance(input: $i) { changed unchanged changedIds riskAcceptance { id name isExpired findingCount expirationDate decision recommendation owner { username } } } }";

async fn state(gql: &Gql, id: &str) -> Value {
    gql.ok(
        &format!("query($id: ID!) {{ node(id: $id) {{ ... on Finding {{ {STATE} }} }} }}"),
        json!({"id": id}),
    )
    .await["node"]
        .clone()
}

async fn engagement_of(gql: &Gql, test: &str) -> String {
    gql.ok(
        "query($id: ID!) { node(id: $id) { ... on Test { engagement { id } } } }",
        json!({"id": test}),
    )
    .await["node"]["engagement"]["id"]
        .as_str()
        .expect("engagement")
        .to_owned()
}

async fn open_titles(gql: &Gql, product: &str) -> Vec<String> {
    let d = gql
        .ok(
            "query($p: ID!) { findings(filter: {productIds: [$p], active: true}, orderBy: {field: TITLE}) { nodes { title } } }",
            json!({"p": product}),
        )
        .await;
    d["findings"]["nodes"]
        .as_array()
        .expect("nodes")
        .iter()
        .map(|n| n["title"].as_str().expect("title").to_owned())
        .collect()
}

#[tokio::test]
async fn full_acceptances_take_findings_out_of_the_open_list_and_back() {
    let db = TestDb::new().await;
    let s = TestServer::start(&db.url).await;
    let admin = s.gql();
    let t = build_tree(&admin, "Shop").await;
    let other = build_tree(&admin, "Bank").await;
    let eng = engagement_of(&admin, &t.test).await;
    let f1 = add_finding(&admin, &t.test, "a-xss", "High", json!({})).await;
    let f2 = add_finding(&admin, &t.test, "b-sqli", "Critical", json!({})).await;
    let f3 = add_finding(&admin, &t.test, "c-csrf", "Medium", json!({})).await;
    let foreign = add_finding(&admin, &other.test, "elsewhere", "Low", json!({})).await;
    let writer = create_user(&db, "writer", false).await;
    let reader = create_user(&db, "reader", false).await;
    create_user(&db, "stranger", false).await;
    grant(
        &admin,
        &t.product,
        &user_id(&admin, "writer").await,
        "WRITER",
    )
    .await;
    grant(
        &admin,
        &t.product,
        &user_id(&admin, "reader").await,
        "READER",
    )
    .await;
    let writer = s.gql_as(&writer);
    let reader = s.gql_as(&reader);
    let input = |findings: Vec<&str>, extra: Value| {
        let mut i = json!({"engagement": eng, "name": "Legacy login, replaced in Q3", "findings": findings,
                           "decisionDetails": "compensating WAF rule", "acceptedBy": "CISO",
                           "expirationDate": "2099-01-01T00:00:00Z", "restartSlaExpired": true});
        if let (Some(o), Some(e)) = (i.as_object_mut(), extra.as_object()) {
            for (k, v) in e {
                o.insert(k.clone(), v.clone());
            }
        }
        json!({"i": i})
    };

    // Readers may not accept risks; bad input lands nothing.
    let r = reader.query(CREATE, input(vec![&f1], json!({}))).await;
    assert_eq!(r.error_code(), Some("FORBIDDEN"), "{}", r.body);
    for (extra, findings, names) in [
        (
            json!({"expirationDate": "2020-01-01T00:00:00Z"}),
            vec![f1.as_str()],
            "expirationDate",
        ),
        (json!({"name": " "}), vec![f1.as_str()], "name"),
        (
            json!({"owner": user_id(&admin, "stranger").await}),
            vec![f1.as_str()],
            "owner",
        ),
    ] {
        let r = writer.query(CREATE, input(findings, extra)).await;
        assert_eq!(r.error_code(), Some("BAD_USER_INPUT"), "{}", r.body);
        assert!(r.error_message().contains(names), "{names}: {}", r.body);
    }
    // A finding of another product: unknown to the Writer, refused for
    // the admin, who sees it is outside the engagement.
    let both = input(vec![f1.as_str(), foreign.as_str()], json!({}));
    let r = writer.query(CREATE, both.clone()).await;
    assert_eq!(r.error_code(), Some("NOT_FOUND"), "{}", r.body);
    let r = admin.query(CREATE, both).await;
    assert_eq!(r.error_code(), Some("BAD_USER_INPUT"), "{}", r.body);
    assert!(
        r.error_message().contains("its own engagement"),
        "{}",
        r.body
    );
    assert!(r.error_message().contains(&foreign), "{}", r.body);
    let none = admin
        .ok(
            "query($id: ID!) { node(id: $id) { ... on Engagement { riskAcceptances { id } } } }",
            json!({"id": eng}),
        )
        .await;
    assert_eq!(none["node"]["riskAcceptances"], json!([]));
    assert_eq!(
        open_titles(&admin, &t.product).await,
        ["a-xss", "b-sqli", "c-csrf"]
    );

    // Accepted: out of the open list, linked to the acceptance.
    let d = writer.ok(CREATE, input(vec![&f1, &f2], json!({}))).await;
    let ra = d["createRiskAcceptance"]["riskAcceptance"].clone();
    assert_eq!(d["createRiskAcceptance"]["changed"], 2);
    assert_eq!(ra["findingCount"], 2);
    assert_eq!(ra["isExpired"], false);
    assert_eq!(ra["decision"], "ACCEPT");
    assert_eq!(ra["recommendation"], "FIX");
    assert_eq!(ra["owner"]["username"], "writer");
    let ra_id = ra["id"].as_str().expect("id").to_owned();
    assert_eq!(open_titles(&admin, &t.product).await, ["c-csrf"]);
    let s1 = state(&admin, &f1).await;
    assert_eq!(
        (s1["active"].clone(), s1["riskAccepted"].clone()),
        (json!(false), json!(true))
    );
    assert_eq!(s1["riskAcceptance"]["id"], ra_id.as_str());
    let listed = admin
        .ok(
            "query($id: ID!) { riskAcceptance(id: $id) { findings { nodes { title } } } }",
            json!({"id": ra_id}),
        )
        .await;
    assert_eq!(
        listed["riskAcceptance"]["findings"]["nodes"],
        json!([{"title": "a-xss"}, {"title": "b-sqli"}])
    );
    let h = admin
        .ok(
            "query($id: ID!) { node(id: $id) { ... on Finding { history { nodes { action changes } } } } }",
            json!({"id": f1}),
        )
        .await;
    let first = h["node"]["history"]["nodes"][0].clone();
    assert_eq!(first["action"], "risk_accepted", "{h}");
    assert_eq!(first["changes"]["risk_accepted"]["after"], true);
    assert!(
        first["changes"]["risk_acceptance"]["after"].is_number(),
        "{first}"
    );

    // Adding one more; removing one reopens it.
    let members =
        "mutation($id: ID!, $f: [ID!]!) { OP(input: {id: $id, findings: $f}) { changed } }";
    writer
        .ok(
            &members.replace("OP", "addToRiskAcceptance"),
            json!({"id": ra_id, "f": [f3]}),
        )
        .await;
    assert_eq!(open_titles(&admin, &t.product).await, Vec::<String>::new());
    writer
        .ok(
            &members.replace("OP", "removeFromRiskAcceptance"),
            json!({"id": ra_id, "f": [f2]}),
        )
        .await;
    let s2 = state(&admin, &f2).await;
    assert_eq!(
        (
            s2["active"].clone(),
            s2["riskAccepted"].clone(),
            s2["riskAcceptance"].clone()
        ),
        (json!(true), json!(false), Value::Null)
    );
    let r = writer
        .query(
            &members.replace("OP", "removeFromRiskAcceptance"),
            json!({"id": ra_id, "f": [f2]}),
        )
        .await;
    assert_eq!(r.error_code(), Some("BAD_USER_INPUT"), "{}", r.body);

    // Expiry reopens the findings and restarts their SLA today; they stay
    // listed on the acceptance, which can be reinstated.
    let expire = "mutation($id: ID!) { expireRiskAcceptance(input: {id: $id}) { changed riskAcceptance { isExpired expirationDateHandled } } }";
    let d = writer.ok(expire, json!({"id": ra_id})).await;
    assert_eq!(d["expireRiskAcceptance"]["changed"], 2);
    assert_eq!(
        d["expireRiskAcceptance"]["riskAcceptance"]["isExpired"],
        true
    );
    assert_eq!(
        open_titles(&admin, &t.product).await,
        ["a-xss", "b-sqli", "c-csrf"]
    );
    let today = chrono::Utc::now().date_naive().to_string();
    let s1 = state(&admin, &f1).await;
    assert_eq!(s1["slaStartDate"], today.as_str());
    assert_eq!(s1["riskAcceptance"]["id"], ra_id.as_str());
    let h = admin
        .ok(
            "query($id: ID!) { node(id: $id) { ... on Finding { history(first: 1) { nodes { action } } } } }",
            json!({"id": f3}),
        )
        .await;
    assert_eq!(h["node"]["history"]["nodes"][0]["action"], "risk_expired");
    let r = writer.query(expire, json!({"id": ra_id})).await;
    assert_eq!(r.error_code(), Some("BAD_USER_INPUT"), "{}", r.body);
    let d = writer
        .ok(
            "mutation($id: ID!) { reinstateRiskAcceptance(input: {id: $id}) { changed riskAcceptance { isExpired expirationDate } } }",
            json!({"id": ra_id}),
        )
        .await;
    assert_eq!(d["reinstateRiskAcceptance"]["changed"], 2);
    assert_eq!(
        d["reinstateRiskAcceptance"]["riskAcceptance"]["isExpired"],
        false
    );
    assert_eq!(open_titles(&admin, &t.product).await, ["b-sqli"]);

    // The proof is a file on the acceptance; its history has every change.
    let form = Form::new()
        .text(
            "operations",
            json!({"query": "mutation($o: ID!, $file: Upload!) { attachFile(input: {object: $o, file: $file}) { file { name } } }",
                   "variables": {"o": ra_id, "file": null}})
            .to_string(),
        )
        .text("map", json!({"0": ["variables.file"]}).to_string())
        .part("0", Part::bytes(b"signed by the CISO".to_vec()).file_name("approval.txt"));
    let v: Value = s
        .http
        .post(format!("{}/graphql", s.base))
        .multipart(form)
        .send()
        .await
        .expect("post")
        .json()
        .await
        .expect("json");
    assert!(v.get("errors").is_none(), "{v}");
    let d = admin
        .ok(
            "query($id: ID!) { riskAcceptance(id: $id) { files { name } history { nodes { action } } } }",
            json!({"id": ra_id}),
        )
        .await;
    assert_eq!(
        d["riskAcceptance"]["files"],
        json!([{"name": "approval.txt"}])
    );
    let actions: Vec<&str> = d["riskAcceptance"]["history"]["nodes"]
        .as_array()
        .expect("history")
        .iter()
        .map(|n| n["action"].as_str().expect("action"))
        .collect();
    assert_eq!(actions, ["file_added", "updated", "updated", "created"]);

    // Deleting unaccepts what it held; the acceptance is gone.
    writer
        .ok(
            "mutation($id: ID!) { deleteRiskAcceptance(input: {id: $id}) { changed } }",
            json!({"id": ra_id}),
        )
        .await;
    assert_eq!(
        open_titles(&admin, &t.product).await,
        ["a-xss", "b-sqli", "c-csrf"]
    );
    let r = admin
        .query(
            "query($id: ID!) { riskAcceptance(id: $id) { id } }",
            json!({"id": ra_id}),
        )
        .await;
    assert_eq!(r.error_code(), Some("NOT_FOUND"), "{}", r.body);

    // A product without full acceptance refuses it.
    admin
        .ok(
            "mutation($id: ID!) { updateProduct(input: {id: $id, enableFullRiskAcceptance: false}) { product { id } } }",
            json!({"id": t.product}),
        )
        .await;
    let r = writer.query(CREATE, input(vec![&f1], json!({}))).await;
    assert_eq!(r.error_code(), Some("BAD_USER_INPUT"), "{}", r.body);
    assert!(
        r.error_message().contains("enableFullRiskAcceptance"),
        "{}",
        r.body
    );
}

#[tokio::test]
async fn risks_are_accepted_by_vulnerability_id_or_simply_and_survive_reimports() {
    let db = TestDb::new().await;
    let s = TestServer::start(&db.url).await;
    let admin = s.gql();
    let report = serde_json::to_vec(&json!({"findings": [
        {"title": "openssl", "severity": "High", "description": "d", "vulnerability_ids": ["CVE-2026-0001"]},
        {"title": "libxml", "severity": "High", "description": "d", "vulnerability_ids": ["CVE-2026-0001"]},
        {"title": "zlib", "severity": "Low", "description": "d", "vulnerability_ids": ["CVE-2026-0002"]},
    ]}))
    .expect("json");
    let import = "mutation($file: Upload!) { importScan(input: {file: $file, scanType: \"Generic Findings Import\", productTypeName: \"Web\", productName: \"Shop\", engagementName: \"CI\", autoCreateContext: true}) { test { id engagement { id product { id } } } } }";
    let d = upload(&s, import, json!({"file": null}), report.clone()).await;
    let test = d["importScan"]["test"]["id"]
        .as_str()
        .expect("test")
        .to_owned();
    let product = d["importScan"]["test"]["engagement"]["product"]["id"]
        .as_str()
        .expect("product")
        .to_owned();
    let engagement = d["importScan"]["test"]["engagement"]["id"]
        .as_str()
        .expect("engagement")
        .to_owned();
    let by_title = |title: &str| {
        let admin = &admin;
        let product = product.clone();
        let title = title.to_owned();
        async move {
            let d = admin
                .ok(
                    &format!("query($p: ID!) {{ findings(filter: {{productIds: [$p]}}, orderBy: {{field: TITLE}}) {{ nodes {{ title {STATE} }} }} }}"),
                    json!({"p": product}),
                )
                .await;
            d["findings"]["nodes"]
                .as_array()
                .expect("nodes")
                .iter()
                .find(|n| n["title"] == title.as_str())
                .cloned()
                .expect("finding")
        }
    };

    // acceptRisks: one acceptance per vulnerability id, of the open findings carrying it.
    let d = admin
        .ok(
            "mutation($e: ID!) { acceptRisks(input: {engagement: $e, risks: [{vulnerabilityId: \"CVE-2026-0001\", justification: \"not reachable\", acceptedBy: \"AppSec lead\"}]}) { name findingCount decisionDetails acceptedBy } }",
            json!({"e": engagement}),
        )
        .await;
    assert_eq!(
        d["acceptRisks"],
        json!([{"name": "CVE-2026-0001", "findingCount": 2, "decisionDetails": "not reachable", "acceptedBy": "AppSec lead"}])
    );
    assert_eq!(by_title("libxml").await["riskAccepted"], true);
    assert_eq!(by_title("zlib").await["riskAccepted"], false);

    // Simple acceptance needs the product's switch; then it is a flag only.
    let zlib = by_title("zlib").await["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let simple =
        "mutation($f: ID!) { acceptFindingsRisk(input: {selection: {ids: [$f]}}) { changed } }";
    let r = admin.query(simple, json!({"f": zlib})).await;
    assert_eq!(r.error_code(), Some("BAD_USER_INPUT"), "{}", r.body);
    assert!(
        r.error_message().contains("enableSimpleRiskAcceptance"),
        "{}",
        r.body
    );
    assert!(r.error_message().contains(&zlib), "{}", r.body);
    admin
        .ok(
            "mutation($id: ID!) { updateProduct(input: {id: $id, enableSimpleRiskAcceptance: true}) { product { id } } }",
            json!({"id": product}),
        )
        .await;
    assert_eq!(
        admin.ok(simple, json!({"f": zlib})).await["acceptFindingsRisk"]["changed"],
        1
    );
    let z = by_title("zlib").await;
    assert_eq!(
        (
            z["active"].clone(),
            z["riskAccepted"].clone(),
            z["riskAcceptance"].clone()
        ),
        (json!(false), json!(true), Value::Null)
    );

    // A reimport of the same report leaves accepted findings accepted.
    let reimport = "mutation($file: Upload!, $test: ID!) { reimportScan(input: {file: $file, scanType: \"Generic Findings Import\", test: $test}) { statistics { created } } }";
    upload(&s, reimport, json!({"file": null, "test": test}), report).await;
    for title in ["openssl", "libxml", "zlib"] {
        let f = by_title(title).await;
        assert_eq!(
            (f["active"].clone(), f["riskAccepted"].clone()),
            (json!(false), json!(true)),
            "{title}: {f}"
        );
    }

    // Taking acceptance back works for simple and full alike.
    let openssl = by_title("openssl").await["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let d = admin
        .ok(
            "mutation($a: ID!, $b: ID!) { unacceptFindingsRisk(input: {selection: {ids: [$a, $b]}}) { changed } }",
            json!({"a": zlib, "b": openssl}),
        )
        .await;
    assert_eq!(d["unacceptFindingsRisk"]["changed"], 2);
    let o = by_title("openssl").await;
    assert_eq!(
        (
            o["active"].clone(),
            o["riskAccepted"].clone(),
            o["riskAcceptance"].clone()
        ),
        (json!(true), json!(false), Value::Null)
    );
    assert_eq!(by_title("libxml").await["riskAccepted"], true);
}
