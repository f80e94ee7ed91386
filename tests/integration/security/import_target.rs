//! Import target resolution as an outsider sees it: a product, engagement or
//! test the caller cannot read answers exactly like one that does not exist,
//! no error names what the caller cannot see, and a refused import costs no
//! parsing and no queue space.

use std::time::{Duration, Instant};

use reqwest::multipart::{Form, Part};
use serde_json::{Value, json};

use crate::support::rest::{RestResponse, import_form, rest_import};
use crate::support::{TestDb, TestServer, gid};

const PRODUCT_TYPE: &str = "Secret-Division";
const PRODUCT: &str = "Project-Falcon";
const ENGAGEMENT: &str = "Operation-Night";

fn report() -> Vec<u8> {
    serde_json::to_vec(&json!({"findings": [{
        "title": "sqli",
        "description": "found",
        "severity": "High",
        "date": "2026-11-01",
    }]}))
    .expect("json")
}

/// POSTs a GraphQL upload; (status, raw body).
async fn gql_upload(
    s: &TestServer,
    token: &str,
    query: &str,
    variables: Value,
    file: Vec<u8>,
) -> (u16, String) {
    let form = Form::new()
        .text(
            "operations",
            json!({"query": query, "variables": variables}).to_string(),
        )
        .text("map", json!({"0": ["variables.file"]}).to_string())
        .part("0", Part::bytes(file).file_name("report.json"));
    let r = s
        .anonymous_http
        .post(format!("{}/graphql", s.base))
        .header("authorization", format!("Bearer {token}"))
        .header("accept", "application/graphql-response+json")
        .multipart(form)
        .send()
        .await
        .expect("post");
    (r.status().as_u16(), r.text().await.expect("body"))
}

/// A product of the admin's, with one imported test: (product, engagement, test) ids.
async fn foreign_product(s: &TestServer) -> (i64, i64, i64) {
    let admin = s.admin_token.clone().expect("admin");
    let RestResponse { status, body } = rest_import(
        s,
        "/api/v2/import-scan/",
        Some(&admin),
        import_form(
            &[
                ("scan_type", "Generic Findings Import".to_owned()),
                ("product_type_name", PRODUCT_TYPE.to_owned()),
                ("product_name", PRODUCT.to_owned()),
                ("engagement_name", ENGAGEMENT.to_owned()),
                ("auto_create_context", "true".to_owned()),
            ],
            report(),
            "report.json",
        ),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let v: Value = serde_json::from_str(&body).expect("json");
    let id = |k: &str| v[k].as_i64().expect("id");
    (id("product_id"), id("engagement_id"), id("test_id"))
}

const SCAN: (&str, &str) = ("scan_type", "Generic Findings Import");

/// One REST probe: its label, the endpoint and the form fields.
type RestCase = (&'static str, &'static str, Vec<(&'static str, String)>);

/// Every way of naming the target an outsider might try: (label, status, body).
async fn probes(
    s: &TestServer,
    token: &str,
    engagement: i64,
    test: i64,
) -> Vec<(&'static str, u16, String)> {
    let scan = (SCAN.0, SCAN.1.to_owned());
    let t = test.to_string();
    let e = engagement.to_string();
    let rest_cases: Vec<RestCase> = vec![
        (
            "reimport test id",
            "/api/v2/reimport-scan/",
            vec![scan.clone(), ("test", t.clone())],
        ),
        (
            "queued reimport test id",
            "/api/v2/reimport-scan/",
            vec![
                scan.clone(),
                ("test", t.clone()),
                ("async", "true".to_owned()),
            ],
        ),
        (
            "reimport test id + wrong product name",
            "/api/v2/reimport-scan/",
            vec![
                scan.clone(),
                ("test", t.clone()),
                ("product_name", "x".to_owned()),
            ],
        ),
        (
            "import engagement id + wrong product name",
            "/api/v2/import-scan/",
            vec![
                scan.clone(),
                ("engagement", e.clone()),
                ("product_name", "x".to_owned()),
            ],
        ),
        (
            "queued import engagement id + wrong product type name",
            "/api/v2/import-scan/",
            vec![
                scan.clone(),
                ("engagement", e.clone()),
                ("product_type_name", "x".to_owned()),
                ("async", "true".to_owned()),
            ],
        ),
        (
            "reimport engagement id + wrong engagement name",
            "/api/v2/reimport-scan/",
            vec![
                scan.clone(),
                ("engagement", e.clone()),
                ("engagement_name", "x".to_owned()),
            ],
        ),
        (
            "import product name",
            "/api/v2/import-scan/",
            vec![
                scan.clone(),
                ("product_name", PRODUCT.to_owned()),
                ("engagement_name", "e".to_owned()),
            ],
        ),
        (
            "auto-create import product name + wrong product type name",
            "/api/v2/import-scan/",
            vec![
                scan.clone(),
                ("product_name", PRODUCT.to_owned()),
                ("product_type_name", "x".to_owned()),
                ("engagement_name", "e".to_owned()),
                ("auto_create_context", "true".to_owned()),
            ],
        ),
    ];
    let mut out = Vec::new();
    for (label, path, fields) in rest_cases {
        let RestResponse { status, body } = rest_import(
            s,
            path,
            Some(token),
            import_form(&fields, report(), "report.json"),
        )
        .await;
        out.push((label, status, body));
    }
    let (status, body) = gql_upload(
        s,
        token,
        "mutation($file: Upload!, $p: String) { importScan(input: {file: $file, scanType: \"Generic Findings Import\", productName: $p, productTypeName: \"x\", engagementName: \"e\", autoCreateContext: true}) { test { id } } }",
        json!({"file": null, "p": PRODUCT}),
        report(),
    )
    .await;
    out.push(("graphql importScan product name", status, body));
    let (status, body) = gql_upload(
        s,
        token,
        "mutation($file: Upload!, $t: ID) { reimportScan(input: {file: $file, scanType: \"Generic Findings Import\", test: $t}) { test { id } } }",
        json!({"file": null, "t": gid("Test", test)}),
        report(),
    )
    .await;
    out.push(("graphql reimportScan test id", status, body));
    let (status, body) = gql_upload(
        s,
        token,
        "mutation($file: Upload!, $e: ID) { importScan(input: {file: $file, scanType: \"Generic Findings Import\", engagement: $e, productName: \"x\", productTypeName: \"x\"}) { test { id } } }",
        json!({"file": null, "e": gid("Engagement", engagement)}),
        report(),
    )
    .await;
    out.push(("graphql importScan engagement id", status, body));
    out
}

#[tokio::test]
async fn import_targets_of_unreadable_products_answer_exactly_like_missing_ones() {
    let db = TestDb::new().await;
    // The statement count would be a side channel of its own; it is a test-only setting.
    let s =
        TestServer::start_with(&db.url, &[("PALISADE_GRAPHQL_EXPOSE_QUERY_COUNT", "false")]).await;
    let (product, engagement, test) = foreign_product(&s).await;
    let nobody = crate::support::create_user(&db, "nobody", false).await;

    let foreign = probes(&s, &nobody, engagement, test).await;
    for (label, status, body) in &foreign {
        for secret in [PRODUCT_TYPE, ENGAGEMENT] {
            assert!(
                !body.contains(secret),
                "{label}: `{secret}` leaked to a caller without roles: {body}"
            );
        }
        assert!(
            *status >= 400 || body.contains("\"errors\""),
            "{label}: a caller without roles was let in: {body}"
        );
    }
    assert_eq!(db.count("jobs").await, 0, "refused imports were queued");

    // The same requests once the objects are really gone.
    s.gql()
        .ok(
            "mutation($id: ID!) { deleteProduct(input: {id: $id}) { deletedId } }",
            json!({"id": gid("Product", product)}),
        )
        .await;
    let missing = probes(&s, &nobody, engagement, test).await;
    for ((label, fs, fb), (_, ms, mb)) in foreign.iter().zip(&missing) {
        assert_eq!(
            (fs, fb),
            (ms, mb),
            "{label}: an unreadable target answers differently from a missing one"
        );
    }
    assert_eq!(db.count("jobs").await, 0, "refused imports were queued");
}

#[tokio::test]
async fn a_refused_import_is_not_parsed() {
    let db = TestDb::new().await;
    let s = TestServer::start(&db.url).await;
    let (_, engagement, test) = foreign_product(&s).await;
    let nobody = crate::support::create_user(&db, "nobody", false).await;
    // Not a report at all: parsing it would fail with a report error.
    let garbage = b"\x00 this is not a scan report".to_vec();
    for (path, fields) in [
        (
            "/api/v2/reimport-scan/",
            vec![(SCAN.0, SCAN.1.to_owned()), ("test", test.to_string())],
        ),
        (
            "/api/v2/import-scan/",
            vec![
                (SCAN.0, SCAN.1.to_owned()),
                ("engagement", engagement.to_string()),
            ],
        ),
    ] {
        let RestResponse { status, body } = rest_import(
            &s,
            path,
            Some(&nobody),
            import_form(&fields, garbage.clone(), "report.json"),
        )
        .await;
        assert!(
            !body.contains("\"file\""),
            "{path}: the report was parsed before the target was authorized: {status} {body}"
        );
        assert!(body.contains("not found"), "{path}: {status} {body}");
    }
}

#[tokio::test]
async fn a_queued_import_is_authorized_when_queued_and_again_before_parsing() {
    let db = TestDb::new().await;
    // This server only queues: jobs wait until a worker is started below.
    let s = TestServer::start_with(&db.url, &[("PALISADE_IMPORT_WORKERS", "0")]).await;
    let (product, _, test) = foreign_product(&s).await;

    // Without any role, nothing is queued.
    let nobody = crate::support::create_user(&db, "nobody", false).await;
    let RestResponse { status, body } = rest_import(
        &s,
        "/api/v2/import-scan/",
        Some(&nobody),
        import_form(
            &[
                (SCAN.0, SCAN.1.to_owned()),
                ("product_type_name", "New-Type".to_owned()),
                ("product_name", "New-Product".to_owned()),
                ("engagement_name", "e".to_owned()),
                ("auto_create_context", "true".to_owned()),
                ("async", "true".to_owned()),
            ],
            report(),
            "report.json",
        ),
    )
    .await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(db.count("jobs").await, 0, "a refused import was queued");

    // A writer queues a reimport, then loses the role before it runs.
    let writer = crate::support::create_user(&db, "writer", false).await;
    let admin = s.gql();
    let users = admin
        .ok("{ users(usernameContains: \"writer\") { id } }", json!({}))
        .await;
    let user = users["users"][0]["id"].clone();
    let object = json!(gid("Product", product));
    admin
        .ok(
            "mutation($o: ID!, $u: ID!) { setMember(input: {object: $o, user: $u, role: WRITER}) { role } }",
            json!({"o": object, "u": user}),
        )
        .await;
    let RestResponse { status, body } = rest_import(
        &s,
        "/api/v2/reimport-scan/",
        Some(&writer),
        import_form(
            &[
                (SCAN.0, SCAN.1.to_owned()),
                ("test", test.to_string()),
                ("async", "true".to_owned()),
            ],
            b"\x00 this is not a scan report".to_vec(),
            "report.json",
        ),
    )
    .await;
    assert_eq!(status, 202, "{body}");
    let job: Value = serde_json::from_str(&body).expect("json");
    let job_id = job["job_id"].as_i64().expect("job id");
    admin
        .ok(
            "mutation($o: ID!, $u: ID!) { removeMember(input: {object: $o, user: $u}) }",
            json!({"o": object, "u": user}),
        )
        .await;

    // A worker process picks the job up.
    let worker = TestServer::start_with(&db.url, &[("PALISADE_IMPORT_WORKERS", "1")]).await;
    let c = db.client().await;
    let start = Instant::now();
    let (state, last_error) = loop {
        let row = c
            .query_one(
                "SELECT status, coalesce(last_error, '') FROM jobs WHERE id = $1",
                &[&job_id],
            )
            .await
            .expect("job row");
        let state: String = row.get(0);
        if state == "failed" || state == "succeeded" {
            break (state, row.get::<_, String>(1));
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "the job did not finish"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    drop(worker);
    assert_eq!(state, "failed");
    let lower = last_error.to_lowercase();
    assert!(
        !lower.contains("pars") && !lower.contains("report"),
        "the worker parsed the report of a user who may no longer import: {last_error}"
    );
}
