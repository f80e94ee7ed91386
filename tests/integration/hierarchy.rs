//! The hierarchy over GraphQL: create, read, update, delete with cascades,
//! `node`/`nodes`, and bad input that changes nothing.

use serde_json::{Value, json};

use crate::support::{Gql, TestDb, TestServer};

/// Ids of a freshly built product type → product → engagement → test.
pub struct Tree {
    pub product_type: String,
    pub product: String,
    pub test: String,
}

pub async fn build_tree(gql: &Gql, name: &str) -> Tree {
    let pt = gql
        .ok("mutation($n: String!) { createProductType(input: {name: $n, description: \"team\"}) { productType { id name } } }", json!({"n": format!("{name} type")}))
        .await;
    let pt = pt["createProductType"]["productType"]["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let p = gql
        .ok("mutation($n: String!, $pt: ID!) { createProduct(input: {name: $n, description: \"app\", productType: $pt, businessCriticality: \"high\", tags: [\"PCI\", \"web\"]}) { product { id tags businessCriticality } } }", json!({"n": name, "pt": pt}))
        .await;
    assert_eq!(p["createProduct"]["product"]["tags"], json!(["pci", "web"]));
    let p = p["createProduct"]["product"]["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let e = gql
        .ok("mutation($p: ID!) { createEngagement(input: {product: $p, name: \"CI\", engagementType: \"CI/CD\", status: \"In Progress\"}) { engagement { id status engagementType } } }", json!({"p": p}))
        .await;
    let e = e["createEngagement"]["engagement"]["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let t = gql
        .ok("mutation($e: ID!) { createTest(input: {engagement: $e, testType: \"Manual Code Review\", title: \"review\"}) { test { id testType { name } } } }", json!({"e": e}))
        .await;
    assert_eq!(
        t["createTest"]["test"]["testType"]["name"],
        "Manual Code Review"
    );
    let t = t["createTest"]["test"]["id"]
        .as_str()
        .expect("id")
        .to_owned();
    Tree {
        product_type: pt,
        product: p,
        test: t,
    }
}

pub async fn add_finding(
    gql: &Gql,
    test: &str,
    title: &str,
    severity: &str,
    extra: Value,
) -> String {
    let mut input = json!({"test": test, "title": title, "severity": severity.to_uppercase(), "description": format!("{title} description")});
    if let (Some(obj), Some(more)) = (input.as_object_mut(), extra.as_object()) {
        for (k, v) in more {
            obj.insert(k.clone(), v.clone());
        }
    }
    let r = gql
        .ok(
            "mutation($i: CreateFindingInput!) { createFinding(input: $i) { finding { id } } }",
            json!({"i": input}),
        )
        .await;
    r["createFinding"]["finding"]["id"]
        .as_str()
        .expect("id")
        .to_owned()
}

#[tokio::test]
async fn hierarchy_round_trip_with_nested_reads() {
    let db = TestDb::new().await;
    let s = TestServer::start(&db.url).await;
    let gql = s.gql();
    let tree = build_tree(&gql, "Shop").await;
    let data = gql
        .ok(
            "query($id: ID!) { test(id: $id) { title findingCount engagement { name status product { name engagementCount productType { name productCount } } } } }",
            json!({"id": tree.test}),
        )
        .await;
    let t = &data["test"];
    assert_eq!(t["title"], "review");
    assert_eq!(t["engagement"]["status"], "In Progress");
    assert_eq!(t["engagement"]["product"]["name"], "Shop");
    assert_eq!(t["engagement"]["product"]["engagementCount"], 1);
    assert_eq!(t["engagement"]["product"]["productType"]["productCount"], 1);

    let data = gql
        .ok(
            "{ products(tags: [\"PCI\"]) { totalCount nodes { name } } }",
            json!({}),
        )
        .await;
    assert_eq!(data["products"]["totalCount"], 1);

    let data = gql
        .ok("mutation($id: ID!) { updateProduct(input: {id: $id, description: \"shop front\", lifecycle: \"production\"}) { product { description lifecycle name } } }", json!({"id": tree.product}))
        .await;
    assert_eq!(data["updateProduct"]["product"]["lifecycle"], "production");
    assert_eq!(
        data["updateProduct"]["product"]["name"], "Shop",
        "omitted fields keep their value"
    );
}

#[tokio::test]
async fn node_and_nodes_resolve_global_ids() {
    let db = TestDb::new().await;
    let s = TestServer::start(&db.url).await;
    let gql = s.gql();
    let tree = build_tree(&gql, "Api").await;
    let f = add_finding(&gql, &tree.test, "SQL injection", "High", json!({})).await;
    let data = gql
        .ok(
            "query($a: ID!, $b: ID!) { node(id: $a) { __typename id ... on Finding { title } } nodes(ids: [$a, $b]) { __typename ... on Product { name } } }",
            json!({"a": f, "b": tree.product}),
        )
        .await;
    assert_eq!(data["node"]["__typename"], "Finding");
    assert_eq!(data["node"]["id"], f.as_str());
    assert_eq!(data["nodes"][1]["name"], "Api");
    // A well-formed id of a missing object: NOT_FOUND for node, null in nodes.
    let missing = palisade::graphql::ids::encode(palisade::graphql::ids::Kind::Finding, 999_999).0;
    let r = gql
        .query(
            "query($a: ID!) { node(id: $a) { id } }",
            json!({"a": missing}),
        )
        .await;
    assert_eq!(r.error_code(), Some("NOT_FOUND"));
    let d = gql
        .ok(
            "query($a: ID!) { nodes(ids: [$a]) { id } }",
            json!({"a": missing}),
        )
        .await;
    assert_eq!(d["nodes"], json!([null]));
}

#[tokio::test]
async fn delete_cascades_to_children() {
    let db = TestDb::new().await;
    let s = TestServer::start(&db.url).await;
    let gql = s.gql();
    let tree = build_tree(&gql, "Legacy").await;
    let f = add_finding(
        &gql,
        &tree.test,
        "XSS",
        "Medium",
        json!({"vulnerabilityIds": ["CVE-2024-1234"]}),
    )
    .await;
    gql.ok(
        "mutation($f: ID!) { createNote(input: {parent: $f, entry: \"seen\"}) { note { id } } }",
        json!({"f": f}),
    )
    .await;
    assert_eq!(db.count("findings").await, 1);
    let d = gql
        .ok(
            "mutation($id: ID!) { deleteProductType(input: {id: $id}) { deletedId } }",
            json!({"id": tree.product_type}),
        )
        .await;
    assert_eq!(
        d["deleteProductType"]["deletedId"],
        tree.product_type.as_str()
    );
    for table in [
        "products",
        "engagements",
        "tests",
        "findings",
        "notes",
        "finding_vulnerability_ids",
    ] {
        assert_eq!(
            db.count(table).await,
            0,
            "{table} must be emptied by the cascade"
        );
    }
    let r = gql
        .query(
            "query($id: ID!) { product(id: $id) { id } }",
            json!({"id": tree.product}),
        )
        .await;
    assert_eq!(r.error_code(), Some("NOT_FOUND"));
}

#[tokio::test]
async fn bad_input_gets_clear_errors_and_changes_nothing() {
    let db = TestDb::new().await;
    let s = TestServer::start(&db.url).await;
    let gql = s.gql();
    let tree = build_tree(&gql, "Strict").await;
    let before = db.count("products").await;

    // Unknown id (well-formed, missing).
    let ghost =
        palisade::graphql::ids::encode(palisade::graphql::ids::Kind::ProductType, 424_242).0;
    let r = gql
        .query("mutation($pt: ID!) { createProduct(input: {name: \"x\", description: \"d\", productType: $pt}) { product { id } } }", json!({"pt": ghost}))
        .await;
    assert_eq!(r.error_code(), Some("NOT_FOUND"));
    // Malformed id.
    let r = gql
        .query("{ product(id: \"%%%\") { id } }", json!({}))
        .await;
    assert_eq!(r.error_code(), Some("BAD_USER_INPUT"));
    // Id of the wrong type.
    let r = gql
        .query(
            "query($id: ID!) { product(id: $id) { id } }",
            json!({"id": tree.test}),
        )
        .await;
    assert_eq!(r.error_code(), Some("BAD_USER_INPUT"));
    assert!(r.error_message().contains("not of a Product"));
    // Invalid choice.
    let r = gql
        .query("mutation($pt: ID!) { createProduct(input: {name: \"x\", description: \"d\", productType: $pt, platform: \"mainframe\"}) { product { id } } }", json!({"pt": tree.product_type}))
        .await;
    assert_eq!(r.error_code(), Some("BAD_USER_INPUT"));
    assert!(
        r.error_message().contains("platform"),
        "{}",
        r.error_message()
    );
    // Invalid enum value (GraphQL validation).
    let r = gql
        .query("mutation($t: ID!) { createFinding(input: {test: $t, title: \"t\", description: \"d\", severity: Severe}) { finding { id } } }", json!({"t": tree.test}))
        .await;
    assert!(r.error_message().contains("Severe"), "{}", r.body);
    // Over-long string.
    let long = "n".repeat(300);
    let r = gql
        .query("mutation($pt: ID!, $n: String!) { createProduct(input: {name: $n, description: \"d\", productType: $pt}) { product { id } } }", json!({"pt": tree.product_type, "n": long}))
        .await;
    assert_eq!(r.error_code(), Some("BAD_USER_INPUT"));
    assert!(
        r.error_message().contains("name") && r.error_message().contains("255"),
        "{}",
        r.error_message()
    );
    // Duplicate unique name.
    let r = gql
        .query("mutation($pt: ID!) { createProduct(input: {name: \"Strict\", description: \"d\", productType: $pt}) { product { id } } }", json!({"pt": tree.product_type}))
        .await;
    assert_eq!(r.error_code(), Some("BAD_USER_INPUT"));
    // Engagement ending before it starts.
    let r = gql
        .query("mutation($p: ID!) { createEngagement(input: {product: $p, targetStart: \"2026-05-02\", targetEnd: \"2026-05-01\"}) { engagement { id } } }", json!({"p": tree.product}))
        .await;
    assert_eq!(r.error_code(), Some("BAD_USER_INPUT"));
    assert_eq!(db.count("products").await, before);
    assert_eq!(db.count("engagements").await, 1);
}

#[tokio::test]
async fn page_size_and_depth_limits_are_enforced() {
    let db = TestDb::new().await;
    let s = TestServer::start(&db.url).await;
    let gql = s.gql();
    let r = gql
        .query("{ findings(first: 101) { totalCount } }", json!({}))
        .await;
    assert_eq!(r.error_code(), Some("BAD_USER_INPUT"));
    assert!(r.error_message().contains("maximum page size of 100"));
    let r = gql
        .query("{ findings(first: 1, last: 1) { totalCount } }", json!({}))
        .await;
    assert_eq!(r.error_code(), Some("BAD_USER_INPUT"));
    // 17 levels of nesting is over the default depth limit of 15.
    let deep = "{ findings(first: 1) { nodes { test { engagement { product { productType { products(first: 1) { nodes { engagements(first: 1) { nodes { tests(first: 1) { nodes { findings(first: 1) { nodes { test { engagement { id } } } } } } } } } } } } } } } } }";
    let r = gql.query(deep, json!({})).await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(
        r.error_message().to_lowercase().contains("nested too deep")
            || r.error_message().to_lowercase().contains("depth"),
        "{}",
        r.body
    );
}
