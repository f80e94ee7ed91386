//! Imports through the real server: DefectDojo's REST endpoints as a CI step
//! calls them, and the GraphQL mutations, with their permissions, errors and
//! background jobs.

mod engine;

use std::time::{Duration, Instant};

use reqwest::multipart::{Form, Part};
use serde_json::{Value, json};

use crate::support::{TestDb, TestServer};

/// A Generic Findings Import report with findings titled `titles`.
fn report(titles: &[&str]) -> Vec<u8> {
    let findings: Vec<Value> = titles
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let severity = ["Critical", "High", "Medium", "Low"][i % 4];
            json!({
                "title": t,
                "description": format!("{t} found by the scanner"),
                "severity": severity,
                "date": "2026-11-01",
                "cwe": 79,
                "file_path": format!("src/{t}.rs"),
                "line": 10 + i,
                "unique_id_from_tool": format!("uid-{t}"),
            })
        })
        .collect();
    serde_json::to_vec(&json!({"findings": findings})).expect("json")
}

fn form(fields: &[(&str, &str)], file: Option<Vec<u8>>) -> Form {
    let mut f = Form::new();
    for (k, v) in fields {
        f = f.text((*k).to_owned(), (*v).to_owned());
    }
    if let Some(bytes) = file {
        f = f.part("file", Part::bytes(bytes).file_name("report.json"));
    }
    f
}

async fn post(s: &TestServer, path: &str, token: Option<&str>, form: Form) -> (u16, Value) {
    let mut req = s
        .anonymous_http
        .post(format!("{}{path}", s.base))
        .multipart(form);
    if let Some(t) = token {
        req = req.header("authorization", format!("Token {t}"));
    }
    let r = req.send().await.expect("post");
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

const CONTEXT: &[(&str, &str)] = &[
    ("scan_type", "Generic Findings Import"),
    ("product_type_name", "Web"),
    ("product_name", "Shop"),
    ("engagement_name", "CI"),
    ("auto_create_context", "true"),
];

#[tokio::test]
async fn a_defectdojo_ci_step_imports_and_reimports_unchanged() {
    let db = TestDb::new().await;
    let s = TestServer::start(&db.url).await;
    let token = s.admin_token.clone().expect("admin");
    let mut fields = CONTEXT.to_vec();
    fields.extend([
        ("minimum_severity", "Low"),
        ("tags", "ci,nightly"),
        ("version", "1.2.3"),
        ("commit_hash", "abc123"),
        ("some_future_field", "ignored as DefectDojo does"),
    ]);
    let (status, body) = post(
        &s,
        "/api/v2/import-scan/",
        Some(&token),
        form(&fields, Some(report(&["sqli", "xss", "rce"]))),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    for key in [
        "test",
        "test_id",
        "engagement_id",
        "product_id",
        "product_type_id",
    ] {
        assert!(body[key].is_i64(), "{key} in {body}");
    }
    assert_eq!(body["scan_type"], "Generic Findings Import");
    assert_eq!(body["statistics"]["after"]["total"]["total"], 3, "{body}");
    assert_eq!(body["statistics"]["after"]["critical"]["active"], 1);
    assert_eq!(body["deduplication_complete"], true);
    let test_id = body["test_id"].as_i64().expect("test id");

    // The nightly run: one finding fixed, one new.
    let (status, body) = post(
        &s,
        "/api/v2/reimport-scan/",
        Some(&token),
        form(
            &[
                ("scan_type", "Generic Findings Import"),
                ("test", &test_id.to_string()),
            ],
            Some(report(&["sqli", "xss", "ssrf"])),
        ),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["test_id"], test_id);
    let delta = &body["statistics"]["delta"];
    let total = |k: &str| delta[k]["total"].as_i64().unwrap_or(0);
    assert_eq!(
        (total("created"), total("closed"), total("untouched")),
        (1, 1, 2),
        "{body}"
    );

    // The history is queryable with per-finding actions.
    let d = s
        .gql()
        .ok(
            "{ tests { edges { node { tags version testImports { importType actions(first: 10) { action finding { title } } } } } } }",
            json!({}),
        )
        .await;
    let node = &d["tests"]["edges"][0]["node"];
    assert_eq!(node["tags"], json!(["ci", "nightly"]));
    let imports = node["testImports"].as_array().expect("history");
    assert_eq!(imports.len(), 2);
    assert_eq!(imports[0]["importType"], "reimport");
    let mut actions: Vec<(String, String)> = imports[0]["actions"]
        .as_array()
        .expect("actions")
        .iter()
        .map(|a| {
            (
                a["finding"]["title"].as_str().unwrap_or("").to_owned(),
                a["action"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect();
    actions.sort();
    assert_eq!(
        actions,
        vec![
            ("rce".to_owned(), "CLOSED".to_owned()),
            ("sqli".to_owned(), "UNTOUCHED".to_owned()),
            ("ssrf".to_owned(), "CREATED".to_owned()),
            ("xss".to_owned(), "UNTOUCHED".to_owned()),
        ]
    );
}

#[tokio::test]
async fn bad_requests_get_defectdojo_style_errors_and_store_nothing() {
    let db = TestDb::new().await;
    let s = TestServer::start_with(&db.url, &[("PALISADE_MAX_UPLOAD_BYTES", "20000")]).await;
    let token = s.admin_token.clone().expect("admin");
    let path = "/api/v2/import-scan/";
    let (status, body) = post(&s, path, None, form(CONTEXT, Some(report(&["a"])))).await;
    assert_eq!(status, 401);
    assert_eq!(
        body["detail"],
        "Authentication credentials were not provided."
    );
    let (status, body) = post(
        &s,
        path,
        Some("pal_nope"),
        form(CONTEXT, Some(report(&["a"]))),
    )
    .await;
    assert_eq!(status, 401);
    assert_eq!(body["detail"], "Invalid token.");

    let mut bad_bool = CONTEXT.to_vec();
    bad_bool.push(("active", "maybe"));
    let (status, body) = post(
        &s,
        path,
        Some(&token),
        form(&bad_bool, Some(report(&["a"]))),
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(body["active"][0], "Must be a valid boolean.");

    let (status, body) = post(&s, path, Some(&token), form(CONTEXT, None)).await;
    assert_eq!(status, 400);
    assert_eq!(body["file"][0], "No file was submitted.");

    let mut api_config = CONTEXT.to_vec();
    api_config.push(("api_scan_configuration", "5"));
    let (status, body) = post(
        &s,
        path,
        Some(&token),
        form(&api_config, Some(report(&["a"]))),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(
        body["api_scan_configuration"][0],
        "Invalid pk \"5\" - object does not exist."
    );

    let mut unknown = CONTEXT.to_vec();
    unknown[0] = ("scan_type", "Nonexistent Scanner");
    let (status, body) = post(&s, path, Some(&token), form(&unknown, Some(report(&["a"])))).await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body["scan_type"][0]
            .as_str()
            .unwrap_or("")
            .contains("Nonexistent Scanner")
    );

    // No scan type and a report with no sign of its format: not recognised,
    // and the message says which field names the scan type.
    let (status, body) = post(
        &s,
        path,
        Some(&token),
        form(&CONTEXT[1..], Some(b"{\"results\": []}".to_vec())),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    let message = body["scan_type"][0].as_str().unwrap_or("");
    assert!(
        message.contains("not recognised") && message.contains("`scan_type`"),
        "{body}"
    );

    let (status, body) = post(
        &s,
        path,
        Some(&token),
        form(CONTEXT, Some(b"{\"findings\": [".to_vec())),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert!(body["file"][0].as_str().is_some(), "{body}");

    let big: Vec<&str> = (0..400)
        .map(|_| "padding-title-to-make-the-report-large")
        .collect();
    let (status, _) = post(&s, path, Some(&token), form(CONTEXT, Some(report(&big)))).await;
    assert_eq!(status, 413);

    for table in [
        "product_types",
        "products",
        "engagements",
        "tests",
        "findings",
        "test_imports",
    ] {
        assert_eq!(db.count(table).await, 0, "{table} must stay empty");
    }
}

#[tokio::test]
async fn importing_needs_import_scan_result_on_the_product() {
    let db = TestDb::new().await;
    let s = TestServer::start(&db.url).await;
    let admin = s.admin_token.clone().expect("admin");
    let (status, body) = post(
        &s,
        "/api/v2/import-scan/",
        Some(&admin),
        form(CONTEXT, Some(report(&["a"]))),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let product = body["product_id"].as_i64().expect("product");
    let product_gid = palisade_id("Product", product);

    let gql = s.gql();
    let mut tokens = Vec::new();
    for (name, role) in [("reader", "READER"), ("importer", "API_IMPORTER")] {
        let token = crate::support::create_user(&db, name, false).await;
        let users = gql
            .ok(
                "query($u: String) { users(usernameContains: $u) { id } }",
                json!({"u": name}),
            )
            .await;
        gql.ok(
            "mutation($o: ID!, $u: ID!, $r: Role!) { setMember(input: {object: $o, user: $u, role: $r}) { role } }",
            json!({"o": product_gid, "u": users["users"][0]["id"], "r": role}),
        )
        .await;
        tokens.push(token);
    }
    let stranger = crate::support::create_user(&db, "stranger", false).await;
    let before = db.count("findings").await;

    let (status, body) = post(
        &s,
        "/api/v2/import-scan/",
        Some(&tokens[0]),
        form(CONTEXT, Some(report(&["b"]))),
    )
    .await;
    assert_eq!(status, 403, "a Reader may not import: {body}");
    assert!(
        body["detail"]
            .as_str()
            .unwrap_or("")
            .contains("Import_Scan_Result")
    );
    let (status, body) = post(
        &s,
        "/api/v2/import-scan/",
        Some(&stranger),
        form(CONTEXT, Some(report(&["b"]))),
    )
    .await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(
        db.count("findings").await,
        before,
        "refused imports store nothing"
    );

    let (status, body) = post(
        &s,
        "/api/v2/import-scan/",
        Some(&tokens[1]),
        form(CONTEXT, Some(report(&["b"]))),
    )
    .await;
    assert_eq!(status, 201, "an API_Importer may: {body}");
    // But may not create a product elsewhere.
    let mut elsewhere = CONTEXT.to_vec();
    elsewhere[2] = ("product_name", "Brand new");
    let (status, body) = post(
        &s,
        "/api/v2/import-scan/",
        Some(&tokens[1]),
        form(&elsewhere, Some(report(&["c"]))),
    )
    .await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(db.count("products").await, 1);
}

fn palisade_id(kind: &str, id: i64) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("{kind}:{id}"))
}

async fn gql_upload(s: &TestServer, query: &str, variables: Value, file: Vec<u8>) -> Value {
    let form = Form::new()
        .text(
            "operations",
            json!({"query": query, "variables": variables}).to_string(),
        )
        .text("map", json!({"0": ["variables.file"]}).to_string())
        .part("0", Part::bytes(file).file_name("report.json"));
    s.http
        .post(format!("{}/graphql", s.base))
        .multipart(form)
        .send()
        .await
        .expect("post")
        .json()
        .await
        .expect("json")
}

const IMPORT: &str = "mutation($file: Upload!, $async: Boolean) { importScan(input: {file: $file, scanType: \"Generic Findings Import\", productTypeName: \"Web\", productName: \"Shop\", engagementName: \"CI\", autoCreateContext: true, async: $async}) { scanType statistics { created duplicates } test { id findingCount } job { id state } } }";

#[tokio::test]
async fn graphql_imports_in_the_foreground_and_in_the_background() {
    let db = TestDb::new().await;
    let s = TestServer::start(&db.url).await;
    let v = gql_upload(
        &s,
        IMPORT,
        json!({"file": null, "async": false}),
        report(&["a", "b"]),
    )
    .await;
    assert!(v.get("errors").is_none(), "{v}");
    let p = &v["data"]["importScan"];
    assert_eq!(p["statistics"]["created"], 2);
    assert_eq!(p["test"]["findingCount"], 2);
    assert_eq!(p["job"], Value::Null);

    // Without scanType, a report no plugin recognises is refused with a hint.
    let undetected = IMPORT.replace("scanType: \"Generic Findings Import\", ", "");
    let v = gql_upload(
        &s,
        &undetected,
        json!({"file": null, "async": false}),
        b"[]".to_vec(),
    )
    .await;
    let message = v["errors"][0]["message"].as_str().unwrap_or("");
    assert!(
        message.contains("not recognised") && message.contains("`scanType`"),
        "{v}"
    );

    // An API scan configuration cannot exist here: named, refused, nothing stored.
    let with_config = IMPORT.replace(
        "async: $async}",
        "async: $async, apiScanConfiguration: \"7\"}",
    );
    let v = gql_upload(
        &s,
        &with_config,
        json!({"file": null, "async": false}),
        report(&["c"]),
    )
    .await;
    assert_eq!(
        v["errors"][0]["extensions"]["code"], "BAD_USER_INPUT",
        "{v}"
    );
    assert!(
        v["errors"][0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("apiScanConfiguration")),
        "{v}"
    );
    assert_eq!(db.count("findings").await, 2);

    // The same report again, in the background: every finding is a duplicate.
    let v = gql_upload(
        &s,
        IMPORT,
        json!({"file": null, "async": true}),
        report(&["a", "b"]),
    )
    .await;
    assert!(v.get("errors").is_none(), "{v}");
    let job = v["data"]["importScan"]["job"]["id"].clone();
    assert!(job.is_string(), "{v}");
    let deadline = Instant::now() + Duration::from_secs(60);
    let done = loop {
        let d = s
            .gql()
            .ok(
                "query($id: ID!) { job(id: $id) { state progressDone progressTotal lastError statistics { created duplicates } test { id } } }",
                json!({"id": job}),
            )
            .await;
        match d["job"]["state"].as_str() {
            Some("SUCCEEDED") => break d,
            Some("FAILED") => panic!("job failed: {d}"),
            _ => {
                assert!(Instant::now() < deadline, "job did not finish: {d}");
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    };
    assert_eq!(done["job"]["statistics"]["duplicates"], 2, "{done}");
    assert_eq!(done["job"]["progressDone"], done["job"]["progressTotal"]);

    // Why is it a duplicate?
    let d = s
        .gql()
        .ok(
            "{ findings(filter: {duplicate: true}) { nodes { id duplicateFinding { id } } } }",
            json!({}),
        )
        .await;
    let dup = &d["findings"]["nodes"][0];
    let explained = s
        .gql()
        .ok(
            "query($f: ID!) { dedupeExplain(finding: $f) }",
            json!({"f": dup["id"]}),
        )
        .await;
    let e = &explained["dedupeExplain"];
    assert!(e["algorithm"].is_string(), "{e}");
    assert!(e["computed_hash"].is_string(), "{e}");
    assert_eq!(
        palisade_id("Finding", e["original_finding_id"].as_i64().unwrap_or(-1)),
        dup["duplicateFinding"]["id"].as_str().unwrap_or(""),
        "{e}"
    );

    // Someone else cannot see the job.
    let token = crate::support::create_user(&db, "other", false).await;
    let r = s
        .gql_as(&token)
        .query(
            "query($id: ID!) { job(id: $id) { state } }",
            json!({"id": job}),
        )
        .await;
    assert_eq!(r.error_code(), Some("NOT_FOUND"));
}

#[tokio::test]
async fn the_import_command_uploads_and_follows_the_job() {
    let db = TestDb::new().await;
    let s = TestServer::start(&db.url).await;
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("report.json");
    std::fs::write(&path, report(&["one", "two", "three"])).expect("write");
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_palisade-under-test"))
        .arg("import")
        .arg(&path)
        .args(["--server", &s.base])
        .args(["--scan-type", "Generic Findings Import"])
        .args([
            "--product-type-name",
            "Web",
            "--product-name",
            "Shop",
            "--engagement-name",
            "CI",
        ])
        .arg("--auto-create-context")
        .args(["--field", "tags=cli"])
        .env("PALISADE_TOKEN", s.admin_token.clone().expect("admin"))
        .output()
        .await
        .expect("run");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("3/3 findings"),
        "progress is shown: {stderr}"
    );
    let result: Value = serde_json::from_slice(&out.stdout).expect("json result");
    assert_eq!(result["statistics"]["created"], 3, "{result}");
    assert_eq!(db.count("findings").await, 3);

    // A bad token fails with the server's reason and a non-zero exit.
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_palisade-under-test"))
        .arg("import")
        .arg(&path)
        .args(["--server", &s.base, "--token", "pal_wrong"])
        .output()
        .await
        .expect("run");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("Invalid token"));
}

/// A parser that spends its CPU budget is the server's limit at work, not a
/// bad `file` field: the REST answer is a 422 that says "timeout", and
/// nothing is stored.
#[tokio::test]
async fn a_plugin_timeout_is_answered_as_a_timeout_not_a_bad_file() {
    let db = TestDb::new().await;
    let s = TestServer::start_with(&db.url, &[("PALISADE_PLUGIN_CPU_TIMEOUT", "1")]).await;
    let token = s.admin_token.clone().expect("admin");
    let scan_type = crate::support::components::install(&s, "endless-loop", "loop.wasm").await;
    let mut fields = CONTEXT.to_vec();
    fields[0] = ("scan_type", scan_type.as_str());
    let (status, body) = post(
        &s,
        "/api/v2/import-scan/",
        Some(&token),
        form(&fields, Some(b"spin".to_vec())),
    )
    .await;
    assert_eq!(status, 422, "{body}");
    assert!(body.get("file").is_none(), "{body}");
    let detail = body["detail"].as_str().unwrap_or("");
    assert!(detail.contains("timeout"), "{body}");
    assert_eq!(db.count("findings").await, 0);
    assert_eq!(db.count("tests").await, 0);
}
