//! Parser plugins through the API: listing, uploads that survive restarts,
//! enable/disable/remove, previews, and a hostile plugin that cannot stall
//! the server.

mod host;

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::support::{TestDb, TestServer, component};

/// POSTs a GraphQL multipart request with one file bound to `$file` (or `$input.file`).
async fn upload(
    s: &TestServer,
    query: &str,
    variables: Value,
    path: &str,
    file_name: &str,
    bytes: Vec<u8>,
) -> Value {
    let form = reqwest::multipart::Form::new()
        .text(
            "operations",
            json!({"query": query, "variables": variables}).to_string(),
        )
        .text("map", json!({"0": [path]}).to_string())
        .part(
            "0",
            reqwest::multipart::Part::bytes(bytes).file_name(file_name.to_owned()),
        );
    s.http
        .post(format!("{}/graphql", s.base))
        .multipart(form)
        .send()
        .await
        .expect("upload")
        .json()
        .await
        .expect("json")
}

const INSTALL: &str = "mutation($file: Upload!) { installParserPlugin(file: $file) { plugin { id name source enabled sha256 scanTypes { name active dedupe { algorithm hashFields } } } } }";
const LIST: &str = "{ parserPlugins { id name source enabled loadError } scanTypes { name pluginId dedupe { algorithm } } }";

#[tokio::test]
async fn builtin_plugins_and_scan_types_are_listed() {
    let db = TestDb::new().await;
    let s = TestServer::start(&db.url).await;
    let d = s.gql().ok(LIST, json!({})).await;
    let plugins = d["parserPlugins"].as_array().expect("list");
    assert!(
        plugins.iter().any(|p| p["id"] == "builtin:generic"
            && p["source"] == "BUILTIN"
            && p["loadError"].is_null()),
        "the generic plugin is built in: {d}"
    );
    let generic = d["scanTypes"]
        .as_array()
        .expect("scan types")
        .iter()
        .find(|t| t["name"] == "Generic Findings Import")
        .expect("Generic Findings Import is importable");
    assert_eq!(generic["pluginId"], "builtin:generic");
}

#[tokio::test]
async fn uploaded_plugins_survive_restarts_and_can_be_disabled_and_removed() {
    let db = TestDb::new().await;
    let mut s = TestServer::start(&db.url).await;
    let d = upload(
        &s,
        INSTALL,
        json!({"file": null}),
        "variables.file",
        "echo.wasm",
        component("echo").to_vec(),
    )
    .await;
    let p = &d["data"]["installParserPlugin"]["plugin"];
    assert_eq!(p["id"], "uploaded:echo", "{d}");
    assert_eq!(p["source"], "UPLOADED");
    assert_eq!(p["scanTypes"][0]["name"], "Echo Test");
    assert_eq!(p["scanTypes"][0]["dedupe"]["algorithm"], "HASH_CODE");
    assert_eq!(db.count("parser_plugins").await, 1);

    // The preview parses through the uploaded plugin.
    let d = upload(
        &s,
        "mutation($file: Upload!) { previewReport(input: {scanType: \"Echo Test\", file: $file}) { scanType plugin findingCount findings { title } } }",
        json!({"file": null}),
        "variables.file",
        "report.txt",
        b"ECHO\nfirst\nsecond\n".to_vec(),
    )
    .await;
    assert_eq!(d["data"]["previewReport"]["plugin"], "echo", "{d}");
    assert!(
        d["data"]["previewReport"]["findingCount"]
            .as_i64()
            .expect("count")
            >= 1,
        "{d}"
    );

    s.stop().await;
    let mut s = TestServer::start(&db.url).await;
    let d = s.gql().ok(LIST, json!({})).await;
    assert!(
        d["parserPlugins"]
            .as_array()
            .expect("list")
            .iter()
            .any(|p| p["id"] == "uploaded:echo" && p["enabled"] == true),
        "upload survives a restart: {d}"
    );

    s.gql().ok("mutation { setParserPluginEnabled(input: {id: \"uploaded:echo\", enabled: false}) { plugin { enabled } } }", json!({})).await;
    s.stop().await;
    let s = TestServer::start(&db.url).await;
    let d = s.gql().ok(LIST, json!({})).await;
    assert!(
        d["parserPlugins"]
            .as_array()
            .expect("list")
            .iter()
            .any(|p| p["id"] == "uploaded:echo" && p["enabled"] == false),
        "disabled state survives: {d}"
    );
    assert!(
        !d["scanTypes"]
            .as_array()
            .expect("types")
            .iter()
            .any(|t| t["name"] == "Echo Test"),
        "a disabled plugin serves nothing"
    );

    s.gql()
        .ok(
            "mutation { removeParserPlugin(input: {id: \"uploaded:echo\"}) { plugin { id } } }",
            json!({}),
        )
        .await;
    assert_eq!(db.count("parser_plugins").await, 0);
    let r = s
        .gql()
        .query(
            "mutation { removeParserPlugin(input: {id: \"uploaded:echo\"}) { plugin { id } } }",
            json!({}),
        )
        .await;
    assert_eq!(r.error_code(), Some("NOT_FOUND"));
}

#[tokio::test]
async fn invalid_uploads_are_refused_and_store_nothing() {
    let db = TestDb::new().await;
    let s = TestServer::start(&db.url).await;
    for (name, bytes) in [
        ("garbage.wasm", b"definitely not wasm".to_vec()),
        ("wrong-version.wasm", component("wrong-version").to_vec()),
        ("custom-import.wasm", component("custom-import").to_vec()),
    ] {
        let d = upload(
            &s,
            INSTALL,
            json!({"file": null}),
            "variables.file",
            name,
            bytes,
        )
        .await;
        assert_eq!(
            d["errors"][0]["extensions"]["code"], "BAD_USER_INPUT",
            "{name}: {d}"
        );
        assert!(
            d["errors"][0]["message"].as_str().unwrap_or("").len() > 20,
            "{name} needs a clear message: {d}"
        );
    }
    assert_eq!(db.count("parser_plugins").await, 0);
}

#[tokio::test]
async fn a_hostile_plugin_cannot_stall_the_server() {
    let db = TestDb::new().await;
    let s = TestServer::start_with(&db.url, &[("PALISADE_PLUGIN_CPU_TIMEOUT", "3")]).await;
    let d = upload(
        &s,
        INSTALL,
        json!({"file": null}),
        "variables.file",
        "loop.wasm",
        component("endless-loop").to_vec(),
    )
    .await;
    assert!(d.get("errors").is_none(), "{d}");
    let scan_type = d["data"]["installParserPlugin"]["plugin"]["scanTypes"][0]["name"]
        .as_str()
        .expect("scan type")
        .to_owned();

    let started = Instant::now();
    let preview = {
        let s_base = s.base.clone();
        let http = s.http.clone();
        tokio::spawn(async move {
            let form = reqwest::multipart::Form::new()
                .text("operations", json!({"query": "mutation($t: String, $file: Upload!) { previewReport(input: {scanType: $t, file: $file}) { findingCount } }", "variables": {"t": scan_type, "file": null}}).to_string())
                .text("map", json!({"0": ["variables.file"]}).to_string())
                .part("0", reqwest::multipart::Part::bytes(b"spin".to_vec()).file_name("r.txt"));
            let v: Value = http
                .post(format!("{s_base}/graphql"))
                .multipart(form)
                .send()
                .await
                .expect("send")
                .json()
                .await
                .expect("json");
            (v, Instant::now())
        })
    };
    // While the plugin spins, other requests are answered promptly.
    tokio::time::sleep(Duration::from_millis(500)).await;
    for _ in 0..5 {
        let t = Instant::now();
        s.gql()
            .ok("{ productTypes { totalCount } }", json!({}))
            .await;
        assert!(
            t.elapsed() < Duration::from_secs(1),
            "a query took {:?} while a plugin spun",
            t.elapsed()
        );
    }
    let (v, done) = preview.await.expect("preview task");
    assert!(
        done.duration_since(started) >= Duration::from_secs(2),
        "the loop ran until its budget"
    );
    let msg = v["errors"][0]["message"].as_str().unwrap_or("");
    assert!(
        msg.contains("endless-loop") && (msg.contains("time") || msg.contains("CPU")),
        "a clear timeout error: {v}"
    );
    assert_eq!(
        v["errors"][0]["extensions"]["code"], "PARSER_LIMIT",
        "the server's limit, not a bad file: {v}"
    );
}
