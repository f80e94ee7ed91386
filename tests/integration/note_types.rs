//! Note types made by superusers, honoured by the actions: a type required
//! on close must be on the finding or come with the closing action, a
//! single-note type is taken once per finding, an inactive type is refused;
//! and a note's earlier versions are readable.

use serde_json::{Value, json};

use crate::hierarchy::{add_finding, build_tree};
use crate::support::{TestDb, TestServer, create_user};

const CREATE_TYPE: &str = "mutation($i: CreateNoteTypeInput!) { createNoteType(input: $i) { noteType { id name requiredOnClose isSingle isActive } } }";
const CLOSE: &str =
    "mutation($i: CloseFindingInput!) { closeFinding(input: $i) { finding { active } } }";

#[tokio::test]
async fn note_types_are_honoured_by_the_actions() {
    let db = TestDb::new().await;
    let s = TestServer::start(&db.url).await;
    let admin = s.gql();
    let t = build_tree(&admin, "Shop").await;
    let a = add_finding(&admin, &t.test, "A", "High", json!({})).await;
    let b = add_finding(&admin, &t.test, "B", "High", json!({})).await;
    let c = add_finding(&admin, &t.test, "C", "High", json!({})).await;

    // Only superusers define note types; names are unique.
    let user = create_user(&db, "someone", false).await;
    let r = s
        .gql_as(&user)
        .query(CREATE_TYPE, json!({"i": {"name": "Mine"}}))
        .await;
    assert_eq!(r.error_code(), Some("FORBIDDEN"), "{}", r.body);
    let closure = admin
        .ok(
            CREATE_TYPE,
            json!({"i": {"name": "Closure", "requiredOnClose": true}}),
        )
        .await["createNoteType"]["noteType"]
        .clone();
    assert_eq!(closure["requiredOnClose"], true);
    let verdict = admin
        .ok(
            CREATE_TYPE,
            json!({"i": {"name": "Verdict", "isSingle": true}}),
        )
        .await["createNoteType"]["noteType"]
        .clone();
    let r = admin
        .query(CREATE_TYPE, json!({"i": {"name": "Closure"}}))
        .await;
    assert_eq!(r.error_code(), Some("BAD_USER_INPUT"), "{}", r.body);
    let listed = s
        .gql_as(&user)
        .ok("{ noteTypes { name } }", json!({}))
        .await;
    assert_eq!(
        listed["noteTypes"],
        json!([{"name": "Closure"}, {"name": "Verdict"}])
    );

    // Closing without a Closure note is refused, naming the type; with one
    // (given now, or already on the finding) it goes through.
    let r = admin.query(CLOSE, json!({"i": {"id": a}})).await;
    assert_eq!(r.error_code(), Some("BAD_USER_INPUT"), "{}", r.body);
    assert!(r.error_message().contains("Closure"), "{}", r.body);
    let d = admin
        .ok(
            CLOSE,
            json!({"i": {"id": a, "note": {"entry": "patched", "noteType": "Closure"}}}),
        )
        .await;
    assert_eq!(d["closeFinding"]["finding"]["active"], false);
    admin
        .ok(
            "mutation($p: ID!) { createNote(input: {parent: $p, entry: \"fixed upstream\", noteType: \"Closure\"}) { note { id } } }",
            json!({"p": b}),
        )
        .await;
    // A bulk close fails whole when one finding lacks the note, naming it.
    let r = admin
        .query(
            "mutation($f: [ID!]!) { closeFindings(input: {selection: {ids: $f}}) { changed } }",
            json!({"f": [b, c]}),
        )
        .await;
    assert_eq!(r.error_code(), Some("BAD_USER_INPUT"), "{}", r.body);
    assert!(r.error_message().contains(&c), "{}", r.body);
    assert!(!r.error_message().contains(&b), "{}", r.body);
    admin.ok(CLOSE, json!({"i": {"id": b}})).await;

    // A single-note type is taken once per finding.
    admin
        .ok(
            "mutation($p: ID!) { createNote(input: {parent: $p, entry: \"real\", noteType: \"Verdict\"}) { note { id } } }",
            json!({"p": c}),
        )
        .await;
    let r = admin
        .query(
            "mutation($p: ID!) { createNote(input: {parent: $p, entry: \"again\", noteType: \"Verdict\"}) { note { id } } }",
            json!({"p": c}),
        )
        .await;
    assert_eq!(r.error_code(), Some("BAD_USER_INPUT"), "{}", r.body);

    // Deactivated: no longer listed, offered or required.
    admin
        .ok(
            "mutation($id: ID!) { updateNoteType(input: {id: $id, isActive: false}) { noteType { isActive } } }",
            json!({"id": closure["id"]}),
        )
        .await;
    let listed = admin.ok("{ noteTypes { name } }", json!({})).await;
    assert_eq!(listed["noteTypes"], json!([{"name": "Verdict"}]));
    let all = admin
        .ok("{ noteTypes(includeInactive: true) { name } }", json!({}))
        .await;
    assert_eq!(all["noteTypes"].as_array().map(Vec::len), Some(2));
    let r = admin
        .query(
            CLOSE,
            json!({"i": {"id": c, "note": {"entry": "x", "noteType": "Closure"}}}),
        )
        .await;
    assert!(r.error_message().contains("not active"), "{}", r.body);
    admin.ok(CLOSE, json!({"i": {"id": c}})).await;
    assert!(verdict["id"].is_string());
}

#[tokio::test]
async fn a_note_keeps_its_earlier_versions() {
    let db = TestDb::new().await;
    let s = TestServer::start(&db.url).await;
    let admin = s.gql();
    let t = build_tree(&admin, "Shop").await;
    let f = add_finding(&admin, &t.test, "A", "High", json!({})).await;
    let note = admin
        .ok(
            "mutation($p: ID!) { createNote(input: {parent: $p, entry: \"first\"}) { note { id } } }",
            json!({"p": f}),
        )
        .await["createNote"]["note"]["id"]
        .clone();
    for text in ["second", "third"] {
        admin
            .ok(
                "mutation($id: ID!, $e: String!) { updateNote(input: {id: $id, entry: $e}) { note { id } } }",
                json!({"id": note, "e": text}),
            )
            .await;
    }
    let d = admin
        .ok(
            "query($id: ID!) { node(id: $id) { ... on Note { entry edited history { entry author { username } replacedAt } } } }",
            json!({"id": note}),
        )
        .await;
    let n = &d["node"];
    assert_eq!(n["entry"], "third");
    assert_eq!(n["edited"], true);
    let versions: Vec<(Value, Value)> = n["history"]
        .as_array()
        .expect("history")
        .iter()
        .map(|v| (v["entry"].clone(), v["author"]["username"].clone()))
        .collect();
    assert_eq!(
        versions,
        vec![
            (json!("first"), json!("admin")),
            (json!("second"), json!("admin"))
        ]
    );
}
