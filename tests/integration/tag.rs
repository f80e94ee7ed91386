//! Tag edits on findings and other nodes: each records its change, and
//! concurrent edits of one object all survive.

use serde_json::{Value, json};

use crate::hierarchy::{add_finding, build_tree};
use crate::support::{Gql, TestDb, TestServer};

const ADD: &str =
    "mutation($id: ID!, $t: [String!]!) { addTags(input: {id: $id, tags: $t}) { tags } }";
const REMOVE: &str =
    "mutation($id: ID!, $t: [String!]!) { removeTags(input: {id: $id, tags: $t}) { tags } }";

async fn tags_of(gql: &Gql, id: &str) -> Vec<String> {
    let d = gql
        .ok(
            "query($id: ID!) { node(id: $id) { ... on Finding { tags } ... on Product { tags } } }",
            json!({"id": id}),
        )
        .await;
    d["node"]["tags"]
        .as_array()
        .expect("tags")
        .iter()
        .map(|t| t.as_str().expect("tag").to_owned())
        .collect()
}

async fn events_of(db: &TestDb, title: &str, kind: &str) -> Vec<Value> {
    let c = db.client().await;
    c.query(
        "SELECT e.changes::text FROM events e JOIN findings f ON f.id = e.finding_id \
         WHERE f.title = $1 AND e.kind = $2 ORDER BY e.seq",
        &[&title, &kind],
    )
    .await
    .expect("events")
    .iter()
    .map(|r| serde_json::from_str(r.get::<_, &str>(0)).expect("json"))
    .collect()
}

#[tokio::test]
async fn finding_tag_edits_record_an_event() {
    let db = TestDb::new().await;
    let s = TestServer::start(&db.url).await;
    let gql = s.gql();
    let tree = build_tree(&gql, "Tagged").await;
    let f = add_finding(
        &gql,
        &tree.test,
        "Tagged finding",
        "High",
        json!({"tags": ["a"]}),
    )
    .await;

    let d = gql.ok(ADD, json!({"id": f, "t": ["B", "a"]})).await;
    assert_eq!(d["addTags"]["tags"], json!(["a", "b"]));
    let d = gql.ok(REMOVE, json!({"id": f, "t": ["a"]})).await;
    assert_eq!(d["removeTags"]["tags"], json!(["b"]));
    // Removing what is not there changes nothing and records nothing.
    gql.ok(REMOVE, json!({"id": f, "t": ["zz"]})).await;

    let events = events_of(&db, "Tagged finding", "updated").await;
    assert_eq!(
        events,
        vec![
            json!({"tags": {"before": ["a"], "after": ["a", "b"]}}),
            json!({"tags": {"before": ["a", "b"], "after": ["b"]}}),
        ]
    );
}

#[tokio::test]
async fn concurrent_tag_edits_both_survive() {
    let db = TestDb::new().await;
    let s = TestServer::start(&db.url).await;
    let gql = s.gql();
    let tree = build_tree(&gql, "Racy").await;
    let f = add_finding(&gql, &tree.test, "Racy finding", "Low", json!({})).await;

    // Pairs of edits sent at once; a read-modify-write without a lock loses
    // one of a pair now and then, so several rounds make it show.
    let rounds = 12;
    for i in 0..rounds {
        let (a, b) = (format!("a{i}"), format!("b{i}"));
        let (x, y) = tokio::join!(
            gql.ok(ADD, json!({"id": f, "t": [a]})),
            gql.ok(ADD, json!({"id": f, "t": [b]})),
        );
        assert!(x["addTags"]["tags"].is_array() && y["addTags"]["tags"].is_array());
    }
    let tags = tags_of(&gql, &f).await;
    for i in 0..rounds {
        assert!(tags.contains(&format!("a{i}")), "a{i} lost: {tags:?}");
        assert!(tags.contains(&format!("b{i}")), "b{i} lost: {tags:?}");
    }
    assert_eq!(tags.len(), 2 * rounds);
    // Each edit changed something, so each recorded its own event.
    assert_eq!(
        events_of(&db, "Racy finding", "updated").await.len(),
        2 * rounds
    );

    // A concurrent add and remove on a product keep each other too.
    let (x, y) = tokio::join!(
        gql.ok(ADD, json!({"id": tree.product, "t": ["new"]})),
        gql.ok(REMOVE, json!({"id": tree.product, "t": ["pci"]})),
    );
    assert!(x["addTags"]["tags"].is_array() && y["removeTags"]["tags"].is_array());
    assert_eq!(tags_of(&gql, &tree.product).await, vec!["web", "new"]);
}
