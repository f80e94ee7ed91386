//! Finding groups: made by an import's `groupBy` (and kept stable by
//! reimports), read through `Test.findingGroups`, `Finding.findingGroup` and
//! the finding filters, and made, filled, emptied and deleted by hand with
//! their rules, permissions and events.

use serde_json::{Value, json};

use crate::hierarchy::{add_finding, build_tree};
use crate::support::{TestDb, TestServer, create_user, upload};

const GROUP_FIELDS: &str = "id name findingCount severity status slaExpirationDate creator { username } findings(first: 50) { nodes { title } }";

fn report(findings: &[(&str, &str, Option<&str>)]) -> Vec<u8> {
    let list: Vec<Value> = findings
        .iter()
        .map(|(title, severity, component)| {
            json!({
                "title": title,
                "description": format!("{title} in a dependency"),
                "severity": severity,
                "date": "2026-11-01",
                "component_name": component,
                "unique_id_from_tool": format!("uid-{title}"),
            })
        })
        .collect();
    serde_json::to_vec(&json!({"findings": list})).expect("json")
}

const IMPORT: &str = "mutation($file: Upload!) { importScan(input: {file: $file, scanType: \"Generic Findings Import\", productTypeName: \"Web\", productName: \"Shop\", engagementName: \"CI\", autoCreateContext: true, groupBy: COMPONENT_NAME}) { test { id } } }";
const REIMPORT: &str = "mutation($file: Upload!, $test: ID!) { reimportScan(input: {file: $file, scanType: \"Generic Findings Import\", test: $test, groupBy: COMPONENT_NAME}) { statistics { created } } }";

async fn groups_of(gql: &crate::support::Gql, test: &Value) -> Value {
    gql.ok(
        &format!("query($t: ID!) {{ test(id: $t) {{ findingGroups {{ {GROUP_FIELDS} }} }} }}"),
        json!({"t": test}),
    )
    .await["test"]["findingGroups"]
        .clone()
}

fn titles(group: &Value) -> Vec<String> {
    let mut t: Vec<String> = group["findings"]["nodes"]
        .as_array()
        .expect("nodes")
        .iter()
        .map(|n| n["title"].as_str().expect("title").to_owned())
        .collect();
    t.sort();
    t
}

#[tokio::test]
async fn import_groups_are_readable_and_reimports_keep_membership() {
    let db = TestDb::new().await;
    let s = TestServer::start(&db.url).await;
    let gql = s.gql();
    let first = report(&[
        ("heap overflow", "High", Some("openssl")),
        ("timing leak", "Low", Some("openssl")),
        ("inflate bomb", "Medium", Some("zlib")),
        ("hardcoded key", "Critical", None),
    ]);
    let d = upload(&s, IMPORT, json!({"file": null}), first).await;
    let test = d["importScan"]["test"]["id"].clone();

    let groups = groups_of(&gql, &test).await;
    let names: Vec<&str> = groups
        .as_array()
        .expect("groups")
        .iter()
        .map(|g| g["name"].as_str().expect("name"))
        .collect();
    assert_eq!(names, ["Findings in: openssl", "Findings in: zlib"]);
    let openssl = groups[0].clone();
    assert_eq!(openssl["findingCount"], 2);
    assert_eq!(openssl["severity"], "HIGH", "the most severe member");
    assert_eq!(openssl["status"], "ACTIVE");
    assert_eq!(openssl["creator"]["username"], "admin");
    assert_eq!(titles(&openssl), ["heap overflow", "timing leak"]);

    // Each finding names its group; the ungrouped one names none and is
    // what `inFindingGroup: false` lists.
    let list = gql
        .ok(
            "query($t: [ID!]) { findings(filter: {testIds: $t}, first: 10) { nodes { title findingGroup { name findingCount } } } }",
            json!({"t": [test]}),
        )
        .await;
    for n in list["findings"]["nodes"].as_array().expect("nodes") {
        let expected = match n["title"].as_str() {
            Some("hardcoded key") => Value::Null,
            Some("inflate bomb") => json!({"name": "Findings in: zlib", "findingCount": 1}),
            _ => json!({"name": "Findings in: openssl", "findingCount": 2}),
        };
        assert_eq!(n["findingGroup"], expected, "{n}");
    }
    let ungrouped = gql
        .ok(
            "query($t: [ID!]) { findings(filter: {testIds: $t, inFindingGroup: false}, first: 10) { nodes { title } } }",
            json!({"t": [test]}),
        )
        .await;
    assert_eq!(
        ungrouped["findings"]["nodes"],
        json!([{"title": "hardcoded key"}])
    );
    let by_group = gql
        .ok(
            "query($g: [ID!]) { findings(filter: {findingGroupIds: $g}, first: 10) { totalCount } }",
            json!({"g": [groups[1]["id"]]}),
        )
        .await;
    assert_eq!(by_group["findings"]["totalCount"], 1);

    // A person moves the zlib finding into the openssl group; a reimport of
    // the same findings plus a new zlib one keeps that choice and the group ids.
    let zlib_finding = gql
        .ok(
            "query($g: [ID!]) { findings(filter: {findingGroupIds: $g}, first: 1) { nodes { id } } }",
            json!({"g": [groups[1]["id"]]}),
        )
        .await["findings"]["nodes"][0]["id"]
        .clone();
    gql.ok(
        "mutation($g: ID!, $f: ID!) { addToFindingGroup(input: {group: $g, selection: {ids: [$f]}}) { changed } }",
        json!({"g": openssl["id"], "f": zlib_finding}),
    )
    .await;
    let again = report(&[
        ("heap overflow", "High", Some("openssl")),
        ("timing leak", "Low", Some("openssl")),
        ("inflate bomb", "Medium", Some("zlib")),
        ("hardcoded key", "Critical", None),
        ("crc mismatch", "Low", Some("zlib")),
    ]);
    let d = upload(&s, REIMPORT, json!({"file": null, "test": test}), again).await;
    assert_eq!(d["reimportScan"]["statistics"]["created"], 1);
    let after = groups_of(&gql, &test).await;
    assert_eq!(after[0]["id"], groups[0]["id"]);
    assert_eq!(after[1]["id"], groups[1]["id"]);
    assert_eq!(
        titles(&after[0]),
        ["heap overflow", "inflate bomb", "timing leak"]
    );
    assert_eq!(titles(&after[1]), ["crc mismatch"]);
}

#[tokio::test]
async fn groups_by_hand_follow_their_rules_all_or_nothing() {
    let db = TestDb::new().await;
    let s = TestServer::start(&db.url).await;
    let admin = s.gql();
    let t = build_tree(&admin, "Shop").await;
    let other = build_tree(&admin, "Other").await;
    let a = add_finding(&admin, &t.test, "A", "Medium", json!({})).await;
    let b = add_finding(&admin, &t.test, "B", "Critical", json!({})).await;
    let c = add_finding(&admin, &t.test, "C", "Low", json!({})).await;
    let foreign = add_finding(&admin, &other.test, "X", "Low", json!({})).await;

    const CREATE: &str = "mutation($t: ID!, $n: String!, $f: [ID!]!) { createFindingGroup(input: {test: $t, name: $n, findings: $f}) { findingGroup { id name findingCount severity status } } }";
    let g = admin
        .ok(
            CREATE,
            json!({"t": t.test, "n": " login flow ", "f": [a, b]}),
        )
        .await["createFindingGroup"]["findingGroup"]
        .clone();
    assert_eq!(g["name"], "login flow");
    assert_eq!(
        (
            g["findingCount"].clone(),
            g["severity"].clone(),
            g["status"].clone()
        ),
        (json!(2), json!("CRITICAL"), json!("ACTIVE"))
    );

    // A taken name, an empty name and a finding of another test are refused
    // and change nothing.
    let r = admin
        .query(CREATE, json!({"t": t.test, "n": "login flow", "f": [c]}))
        .await;
    assert_eq!(r.error_code(), Some("BAD_USER_INPUT"), "{}", r.body);
    assert!(r.error_message().contains("name"), "{}", r.body);
    let r = admin
        .query(CREATE, json!({"t": t.test, "n": "  ", "f": []}))
        .await;
    assert_eq!(r.error_code(), Some("BAD_USER_INPUT"), "{}", r.body);
    let r = admin
        .query(
            CREATE,
            json!({"t": t.test, "n": "mixed", "f": [c, foreign]}),
        )
        .await;
    assert_eq!(r.error_code(), Some("BAD_USER_INPUT"), "{}", r.body);
    assert!(r.error_message().contains(&foreign), "{}", r.body);
    const ADD: &str = "mutation($g: ID!, $f: [ID!]!) { addToFindingGroup(input: {group: $g, selection: {ids: $f}}) { changed unchanged changedIds findingGroup { findingCount } } }";
    let r = admin
        .query(ADD, json!({"g": g["id"], "f": [c, foreign]}))
        .await;
    assert_eq!(r.error_code(), Some("BAD_USER_INPUT"), "{}", r.body);
    let client = db.client().await;
    let count = |sql: &'static str| {
        let client = &client;
        async move {
            client
                .query_one(sql, &[])
                .await
                .expect("count")
                .get::<_, i64>(0)
        }
    };
    assert_eq!(
        count("SELECT count(*) FROM finding_group_findings").await,
        2
    );
    assert_eq!(count("SELECT count(*) FROM finding_groups").await, 1);

    // Adding moves a finding out of its old group, once; each move is an event.
    let second = admin
        .ok(CREATE, json!({"t": t.test, "n": "second", "f": [c]}))
        .await["createFindingGroup"]["findingGroup"]["id"]
        .clone();
    let d = admin.ok(ADD, json!({"g": g["id"], "f": [a, c]})).await;
    assert_eq!(d["addToFindingGroup"]["changed"], 1);
    assert_eq!(d["addToFindingGroup"]["unchanged"], 1);
    assert_eq!(d["addToFindingGroup"]["changedIds"], json!([c]));
    assert_eq!(d["addToFindingGroup"]["findingGroup"]["findingCount"], 3);
    let moves = client
        .query(
            "SELECT (changes->'finding_group')::text FROM events WHERE kind = 'updated' \
             AND changes ? 'finding_group' ORDER BY seq",
            &[],
        )
        .await
        .expect("events");
    let moves: Vec<Value> = moves
        .iter()
        .map(|r| serde_json::from_str(r.get(0)).expect("json"))
        .collect();
    let gid = |v: &Value| crate::support::decode_gid(v.as_str().expect("id"));
    assert_eq!(moves.len(), 4, "{moves:?}");
    assert_eq!(
        moves[3],
        json!({"before": gid(&second), "after": gid(&g["id"])})
    );

    // Closing every member makes the group mitigated; removal and deletion
    // leave the findings, ungrouped.
    admin
        .ok(
            "mutation($f: [ID!]!) { closeFindings(input: {selection: {ids: $f}}) { changed } }",
            json!({"f": [a, b, c]}),
        )
        .await;
    let status = admin
        .ok(
            "query($id: ID!) { findingGroup(id: $id) { status } }",
            json!({"id": g["id"]}),
        )
        .await;
    assert_eq!(status["findingGroup"]["status"], "MITIGATED");
    let d = admin
        .ok(
            "mutation($f: [ID!]!) { removeFromFindingGroup(input: {selection: {ids: $f}}) { changed unchanged } }",
            json!({"f": [a, foreign]}),
        )
        .await;
    assert_eq!(
        (
            d["removeFromFindingGroup"]["changed"].clone(),
            d["removeFromFindingGroup"]["unchanged"].clone()
        ),
        (json!(1), json!(1))
    );
    admin
        .ok(
            "mutation($id: ID!) { updateFindingGroup(input: {id: $id, name: \"renamed\"}) { findingGroup { name } } }",
            json!({"id": g["id"]}),
        )
        .await;
    admin
        .ok(
            "mutation($id: ID!) { deleteFindingGroup(input: {id: $id}) { deletedId } }",
            json!({"id": g["id"]}),
        )
        .await;
    assert_eq!(
        count("SELECT count(*) FROM findings WHERE product_id IS NOT NULL").await,
        4
    );
    assert_eq!(
        count("SELECT count(*) FROM finding_group_findings").await,
        0
    );
    assert_eq!(
        count(
            "SELECT count(*) FROM events WHERE changes->'finding_group'->>'after' IS NULL \
             AND changes ? 'finding_group'"
        )
        .await,
        3,
        "one removal, two members of the deleted group"
    );

    // A reader sees groups but may not change them; a stranger's view of a
    // group is a missing one's.
    let reader = create_user(&db, "reader", false).await;
    let stranger = create_user(&db, "stranger", false).await;
    let uid = admin
        .ok("{ users(usernameContains: \"reader\") { id } }", json!({}))
        .await["users"][0]["id"]
        .clone();
    admin
        .ok(
            "mutation($o: ID!, $u: ID!) { setMember(input: {object: $o, user: $u, role: READER}) { role } }",
            json!({"o": t.product, "u": uid}),
        )
        .await;
    let r = s
        .gql_as(&reader)
        .query(
            "mutation($id: ID!) { updateFindingGroup(input: {id: $id, name: \"mine\"}) { findingGroup { name } } }",
            json!({"id": second}),
        )
        .await;
    assert_eq!(r.error_code(), Some("FORBIDDEN"), "{}", r.body);
    let seen = s
        .gql_as(&reader)
        .ok(
            "query($id: ID!) { findingGroup(id: $id) { name } }",
            json!({"id": second}),
        )
        .await;
    assert_eq!(seen["findingGroup"]["name"], "second");
    let hidden = s
        .gql_as(&stranger)
        .query(
            "query($id: ID!) { findingGroup(id: $id) { name } }",
            json!({"id": second}),
        )
        .await;
    let missing = crate::support::gid("FindingGroup", 999_999);
    let absent = s
        .gql_as(&stranger)
        .query(
            "query($id: ID!) { findingGroup(id: $id) { name } }",
            json!({"id": missing}),
        )
        .await;
    assert_eq!(hidden.error_code(), Some("NOT_FOUND"));
    assert_eq!(
        hidden
            .error_message()
            .replace(second.as_str().expect("id"), "X"),
        absent.error_message().replace(&missing, "X")
    );
}
