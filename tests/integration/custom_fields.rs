//! Custom fields: Maintainers define typed fields for their product type
//! (superusers and global Maintainers define global ones), people with edit
//! rights set values on findings, products and engagements, `findings`
//! filters and sorts by them, imports fill them from report keys, and every
//! change is in the object's history.

use serde_json::{Value, json};

use crate::hierarchy::{add_finding, build_tree};
use crate::support::{Gql, TestDb, TestServer, create_user, grant, upload, user_id};

const CREATE: &str = "mutation($i: CreateCustomFieldInput!) { createCustomField(input: $i) { customField { id name kind choices appliesTo importKeys active productType { id } } } }";
const UPDATE: &str = "mutation($i: UpdateCustomFieldInput!) { updateCustomField(input: $i) { customField { id name choices active } } }";
const SET: &str = "mutation($o: ID!, $v: [CustomFieldValueInput!]!) { setCustomFields(input: {object: $o, values: $v}) { customFields { field { name } value } } }";
const VALUES: &str = "query($id: ID!) { node(id: $id) { ... on Finding { customFields { field { name } value } } ... on Product { customFields { field { name } value } } ... on Engagement { customFields { field { name } value } } } }";

async fn create(gql: &Gql, input: Value) -> Value {
    gql.ok(CREATE, json!({"i": input})).await["createCustomField"]["customField"].clone()
}

async fn values(gql: &Gql, id: &str) -> Value {
    gql.ok(VALUES, json!({"id": id})).await["node"]["customFields"].clone()
}

/// `{name: value}` of a `customFields` list.
fn by_name(list: &Value) -> Value {
    let mut out = serde_json::Map::new();
    for v in list.as_array().expect("list") {
        out.insert(
            v["field"]["name"].as_str().expect("name").to_owned(),
            v["value"].clone(),
        );
    }
    Value::Object(out)
}

#[tokio::test]
async fn definitions_belong_to_maintainers_of_their_scope() {
    let db = TestDb::new().await;
    let s = TestServer::start(&db.url).await;
    let admin = s.gql();
    let t = build_tree(&admin, "Shop").await;
    let other = build_tree(&admin, "Bank").await;
    let maint = create_user(&db, "maint", false).await;
    let writer = create_user(&db, "writer", false).await;
    grant(
        &admin,
        &t.product_type,
        &user_id(&admin, "maint").await,
        "MAINTAINER",
    )
    .await;
    grant(
        &admin,
        &t.product,
        &user_id(&admin, "writer").await,
        "WRITER",
    )
    .await;
    let maint = s.gql_as(&maint);
    let writer = s.gql_as(&writer);

    // A Maintainer of the product type defines its fields.
    let team = create(
        &maint,
        json!({"name": " Team ", "kind": "SINGLE_CHOICE", "choices": ["Red", "Blue"],
               "appliesTo": ["FINDING", "PRODUCT"], "productType": t.product_type}),
    )
    .await;
    assert_eq!(team["name"], "Team");
    assert_eq!(team["choices"], json!(["Red", "Blue"]));
    assert_eq!(team["appliesTo"], json!(["FINDING", "PRODUCT"]));
    assert_eq!(team["productType"]["id"], t.product_type.as_str());
    // Not globally, and not in another product type (which it cannot see).
    let r = maint
        .query(
            CREATE,
            json!({"i": {"name": "G", "kind": "TEXT", "appliesTo": ["FINDING"]}}),
        )
        .await;
    assert_eq!(r.error_code(), Some("FORBIDDEN"), "{}", r.body);
    let r = maint
        .query(
            CREATE,
            json!({"i": {"name": "G", "kind": "TEXT", "appliesTo": ["FINDING"], "productType": other.product_type}}),
        )
        .await;
    assert_eq!(r.error_code(), Some("NOT_FOUND"), "{}", r.body);
    assert!(!r.body.to_string().contains("Bank"), "{}", r.body);
    // A Writer of a product reads the type's fields but does not define them.
    let r = writer
        .query(
            CREATE,
            json!({"i": {"name": "W", "kind": "TEXT", "appliesTo": ["FINDING"], "productType": t.product_type}}),
        )
        .await;
    assert_eq!(r.error_code(), Some("FORBIDDEN"), "{}", r.body);
    let seen = writer
        .ok("{ customFields { name productType { id } } }", json!({}))
        .await;
    assert_eq!(
        seen["customFields"],
        json!([{"name": "Team", "productType": null}])
    );

    // Bad definitions name what is wrong and create nothing.
    for (bad, field) in [
        (
            json!({"name": "C", "kind": "SINGLE_CHOICE", "appliesTo": ["FINDING"]}),
            "choices",
        ),
        (
            json!({"name": "C", "kind": "NUMBER", "choices": ["1"], "appliesTo": ["FINDING"]}),
            "choices",
        ),
        (
            json!({"name": "C", "kind": "MULTI_CHOICE", "choices": ["a", "A"], "appliesTo": ["FINDING"]}),
            "choices",
        ),
        (
            json!({"name": "C", "kind": "TEXT", "appliesTo": []}),
            "appliesTo",
        ),
        (
            json!({"name": "C", "kind": "TEXT", "appliesTo": ["PRODUCT"], "importKeys": ["k"]}),
            "importKeys",
        ),
        (
            json!({"name": "", "kind": "TEXT", "appliesTo": ["FINDING"]}),
            "name",
        ),
    ] {
        let r = admin.query(CREATE, json!({"i": bad})).await;
        assert_eq!(r.error_code(), Some("BAD_USER_INPUT"), "{}", r.body);
        assert!(r.error_message().contains(field), "{field}: {}", r.body);
    }
    // A global name clashes with a product type's field of the same name.
    let r = admin
        .query(
            CREATE,
            json!({"i": {"name": "team", "kind": "TEXT", "appliesTo": ["FINDING"]}}),
        )
        .await;
    assert_eq!(r.error_code(), Some("BAD_USER_INPUT"), "{}", r.body);
    let listed = admin
        .ok(
            "{ customFields(includeInactive: true) { name } }",
            json!({}),
        )
        .await;
    assert_eq!(listed["customFields"], json!([{"name": "Team"}]));

    // Updates: a rename, then a choice that no value uses can go.
    let u = maint
        .ok(
            UPDATE,
            json!({"i": {"id": team["id"], "name": "Owning team", "choices": ["Red", "Blue", "Green"]}}),
        )
        .await;
    assert_eq!(u["updateCustomField"]["customField"]["name"], "Owning team");
    let u = maint
        .ok(
            UPDATE,
            json!({"i": {"id": team["id"], "choices": ["Red", "Blue"]}}),
        )
        .await;
    assert_eq!(
        u["updateCustomField"]["customField"]["choices"],
        json!(["Red", "Blue"])
    );
    let r = writer
        .query(UPDATE, json!({"i": {"id": team["id"], "name": "x"}}))
        .await;
    assert_eq!(r.error_code(), Some("FORBIDDEN"), "{}", r.body);
}

#[tokio::test]
async fn values_are_typed_filtered_sorted_and_kept_in_history() {
    let db = TestDb::new().await;
    let s = TestServer::start(&db.url).await;
    let admin = s.gql();
    let t = build_tree(&admin, "Shop").await;
    let other = build_tree(&admin, "Bank").await;
    let team = create(
        &admin,
        json!({"name": "Team", "kind": "SINGLE_CHOICE", "choices": ["Red", "Blue"],
               "appliesTo": ["FINDING", "PRODUCT", "ENGAGEMENT"], "productType": t.product_type}),
    )
    .await;
    let effort = create(
        &admin,
        json!({"name": "Effort", "kind": "NUMBER", "appliesTo": ["FINDING"]}),
    )
    .await;
    let due = create(
        &admin,
        json!({"name": "Due", "kind": "DATE", "appliesTo": ["FINDING"]}),
    )
    .await;
    let labels = create(
        &admin,
        json!({"name": "Labels", "kind": "MULTI_CHOICE", "choices": ["pci", "gdpr", "sox"], "appliesTo": ["FINDING"]}),
    )
    .await;
    let note = create(
        &admin,
        json!({"name": "Note", "kind": "TEXT", "appliesTo": ["FINDING"]}),
    )
    .await;
    let bank_only = create(
        &admin,
        json!({"name": "Branch", "kind": "TEXT", "appliesTo": ["FINDING"], "productType": other.product_type}),
    )
    .await;
    let f1 = add_finding(&admin, &t.test, "one", "High", json!({})).await;
    let f2 = add_finding(&admin, &t.test, "two", "High", json!({})).await;
    let f3 = add_finding(&admin, &t.test, "three", "High", json!({})).await;

    let set = |o: &str, v: Value| {
        let o = o.to_owned();
        let admin = &admin;
        async move { admin.query(SET, json!({"o": o, "v": v})).await }
    };
    let r = set(
        &f1,
        json!([{"field": team["id"], "value": "blue"}, {"field": effort["id"], "value": 8},
               {"field": due["id"], "value": "2027-01-31"}, {"field": labels["id"], "value": ["sox", "pci"]},
               {"field": note["id"], "value": "Talk to ops"}]),
    )
    .await;
    assert!(r.body.get("errors").is_none(), "{}", r.body);
    assert_eq!(
        by_name(&r.data()["setCustomFields"]["customFields"]),
        json!({"Due": "2027-01-31", "Effort": 8, "Labels": ["pci", "sox"], "Note": "Talk to ops", "Team": "Blue"})
    );
    set(
        &f2,
        json!([{"field": effort["id"], "value": 2.5}, {"field": labels["id"], "value": ["gdpr"]}]),
    )
    .await;

    // Wrong types, unknown choices, fields of another product type and other
    // kinds of id fail the whole call: nothing of it lands.
    for (bad, code, names) in [
        (
            json!([{"field": effort["id"], "value": 1}, {"field": team["id"], "value": "Green"}]),
            "BAD_USER_INPUT",
            "Team",
        ),
        (
            json!([{"field": note["id"], "value": "x"}, {"field": effort["id"], "value": "8"}]),
            "BAD_USER_INPUT",
            "Effort",
        ),
        (
            json!([{"field": due["id"], "value": "31/01/2027"}]),
            "BAD_USER_INPUT",
            "Due",
        ),
        (
            json!([{"field": labels["id"], "value": "pci"}]),
            "BAD_USER_INPUT",
            "Labels",
        ),
        (
            json!([{"field": bank_only["id"], "value": "x"}]),
            "NOT_FOUND",
            "CustomField",
        ),
        (
            json!([{"field": t.product, "value": "x"}]),
            "BAD_USER_INPUT",
            "not of a CustomField",
        ),
    ] {
        let r = set(&f3, bad).await;
        assert_eq!(r.error_code(), Some(code), "{}", r.body);
        assert!(r.error_message().contains(names), "{names}: {}", r.body);
        assert!(!r.body.to_string().contains("Branch"), "{}", r.body);
    }
    assert_eq!(values(&admin, &f3).await, json!([]));

    // Filters: equality (a choice among multiple ones too), ranges, text, presence.
    let ids = |q: Value| {
        let admin = &admin;
        async move {
            let d = admin
                .ok(
                    "query($f: FindingFilterInput, $o: FindingOrder) { findings(filter: $f, orderBy: $o) { nodes { title } } }",
                    q,
                )
                .await;
            d["findings"]["nodes"]
                .as_array()
                .expect("nodes")
                .iter()
                .map(|n| n["title"].as_str().expect("title").to_owned())
                .collect::<Vec<_>>()
        }
    };
    let cond = |c: Value| json!({"f": {"customFields": [c]}});
    assert_eq!(
        ids(cond(json!({"field": team["id"], "equals": "Blue"}))).await,
        ["one"]
    );
    assert_eq!(
        ids(cond(json!({"field": labels["id"], "equals": "pci"}))).await,
        ["one"]
    );
    assert_eq!(
        ids(cond(json!({"field": labels["id"], "equals": "gdpr"}))).await,
        ["two"]
    );
    assert_eq!(
        ids(cond(json!({"field": effort["id"], "min": 3}))).await,
        ["one"]
    );
    assert_eq!(
        ids(cond(json!({"field": effort["id"], "max": 8, "min": 2}))).await,
        ["one", "two"]
    );
    assert_eq!(
        ids(cond(json!({"field": effort["id"], "equals": 2.5}))).await,
        ["two"]
    );
    assert_eq!(
        ids(cond(json!({"field": due["id"], "max": "2027-02-01"}))).await,
        ["one"]
    );
    assert_eq!(
        ids(cond(json!({"field": note["id"], "contains": "OPS"}))).await,
        ["one"]
    );
    assert_eq!(
        ids(cond(json!({"field": effort["id"], "isSet": false}))).await,
        ["three"]
    );
    let r = admin
        .query(
            "query($f: FindingFilterInput) { findings(filter: $f) { totalCount } }",
            cond(json!({"field": effort["id"]})),
        )
        .await;
    assert_eq!(r.error_code(), Some("BAD_USER_INPUT"), "{}", r.body);

    // Sorting by a field: values in order, findings without one last, and
    // the cursor carries on where the page ended.
    let order =
        |dir: &str| json!({"field": "CUSTOM_FIELD", "customField": effort["id"], "direction": dir});
    assert_eq!(
        ids(json!({"o": order("ASC")})).await,
        ["two", "one", "three"]
    );
    assert_eq!(
        ids(json!({"o": order("DESC")})).await,
        ["three", "one", "two"]
    );
    let page = admin
        .ok(
            "query($o: FindingOrder) { findings(orderBy: $o, first: 1) { nodes { title } pageInfo { endCursor } } }",
            json!({"o": order("ASC")}),
        )
        .await;
    let next = admin
        .ok(
            "query($o: FindingOrder, $a: String) { findings(orderBy: $o, first: 5, after: $a) { nodes { title } } }",
            json!({"o": order("ASC"), "a": page["findings"]["pageInfo"]["endCursor"]}),
        )
        .await;
    assert_eq!(
        next["findings"]["nodes"],
        json!([{"title": "one"}, {"title": "three"}])
    );
    let r = admin
        .query(
            "{ findings(orderBy: {field: CUSTOM_FIELD}) { totalCount } }",
            json!({}),
        )
        .await;
    assert_eq!(r.error_code(), Some("BAD_USER_INPUT"), "{}", r.body);

    // Clearing one value keeps the others; the finding's history has both changes.
    set(&f1, json!([{"field": note["id"], "value": null}])).await;
    let now = by_name(&values(&admin, &f1).await);
    assert!(now.get("Note").is_none() && now["Effort"] == 8, "{now}");
    let h = admin
        .ok(
            "query($id: ID!) { node(id: $id) { ... on Finding { history { nodes { action changes } } } } }",
            json!({"id": f1}),
        )
        .await;
    let entries = h["node"]["history"]["nodes"]
        .as_array()
        .expect("history")
        .clone();
    let custom: Vec<&Value> = entries
        .iter()
        .filter(|e| e["changes"].get("custom_fields").is_some())
        .collect();
    assert_eq!(custom.len(), 2, "{entries:?}");
    let note_key = crate::support::decode_gid(note["id"].as_str().expect("id")).to_string();
    assert_eq!(
        custom[0]["changes"]["custom_fields"]["after"].get(&note_key),
        None
    );
    assert_eq!(
        custom[0]["changes"]["custom_fields"]["before"][&note_key],
        "Talk to ops"
    );

    // Products and engagements carry values too, with their own history.
    let r = set(&t.product, json!([{"field": team["id"], "value": "Red"}])).await;
    assert_eq!(
        by_name(&r.data()["setCustomFields"]["customFields"]),
        json!({"Team": "Red"})
    );
    let r = set(&t.product, json!([{"field": effort["id"], "value": 1}])).await;
    assert_eq!(r.error_code(), Some("NOT_FOUND"), "{}", r.body);
    let h = admin
        .ok(
            "query($id: ID!) { node(id: $id) { ... on Product { history(filter: {actions: [\"updated\"]}) { nodes { changes } } } } }",
            json!({"id": t.product}),
        )
        .await;
    let team_key = crate::support::decode_gid(team["id"].as_str().expect("id")).to_string();
    assert_eq!(
        h["node"]["history"]["nodes"][0]["changes"]["custom_fields"]["after"][&team_key],
        "Red"
    );
    let eng = admin
        .ok(
            "query($id: ID!) { node(id: $id) { ... on Test { engagement { id } } } }",
            json!({"id": t.test}),
        )
        .await["node"]["engagement"]["id"]
        .as_str()
        .expect("engagement")
        .to_owned();
    set(&eng, json!([{"field": team["id"], "value": "Blue"}])).await;
    assert_eq!(
        by_name(&values(&admin, &eng).await),
        json!({"Team": "Blue"})
    );

    // A choice in use cannot be removed; an inactive field cannot be set;
    // deleting a field removes its values everywhere.
    let r = admin
        .query(UPDATE, json!({"i": {"id": team["id"], "choices": ["Red"]}}))
        .await;
    assert_eq!(r.error_code(), Some("BAD_USER_INPUT"), "{}", r.body);
    assert!(r.error_message().contains("Blue"), "{}", r.body);
    admin
        .ok(UPDATE, json!({"i": {"id": effort["id"], "active": false}}))
        .await;
    let r = set(&f3, json!([{"field": effort["id"], "value": 1}])).await;
    assert_eq!(r.error_code(), Some("BAD_USER_INPUT"), "{}", r.body);
    assert!(r.error_message().contains("inactive"), "{}", r.body);
    admin
        .ok(
            "mutation($id: ID!) { deleteCustomField(input: {id: $id}) { deletedId } }",
            json!({"id": team["id"]}),
        )
        .await;
    assert_eq!(values(&admin, &t.product).await, json!([]));
    assert_eq!(values(&admin, &eng).await, json!([]));
    let left = by_name(&values(&admin, &f1).await);
    assert!(left.get("Team").is_none() && left["Effort"] == 8, "{left}");
}

fn report(effort: &str) -> Vec<u8> {
    serde_json::to_vec(&json!({"findings": [
        {"title": "Weak TLS", "severity": "Medium", "description": "d",
         "effort_for_fixing": effort, "publish_date": "2026-11-02", "scanner_confidence": 2},
        {"title": "Old jQuery", "severity": "Low", "description": "d", "effort_for_fixing": "Huge"},
    ]}))
    .expect("json")
}

#[tokio::test]
async fn imports_fill_fields_from_report_keys() {
    let db = TestDb::new().await;
    let s = TestServer::start(&db.url).await;
    let admin = s.gql();
    let effort = create(
        &admin,
        json!({"name": "Effort", "kind": "SINGLE_CHOICE", "choices": ["Low", "Medium", "High"],
               "appliesTo": ["FINDING"], "importKeys": ["effort", "effort_for_fixing"]}),
    )
    .await;
    create(
        &admin,
        json!({"name": "Published", "kind": "DATE", "appliesTo": ["FINDING"], "importKeys": ["publish_date"]}),
    )
    .await;
    create(
        &admin,
        json!({"name": "Confidence", "kind": "NUMBER", "appliesTo": ["FINDING"], "importKeys": ["scanner_confidence"]}),
    )
    .await;
    let import = "mutation($file: Upload!) { importScan(input: {file: $file, scanType: \"Generic Findings Import\", productTypeName: \"Web\", productName: \"Shop\", engagementName: \"CI\", autoCreateContext: true}) { test { id } } }";
    let d = upload(&s, import, json!({"file": null}), report("medium")).await;
    let test = d["importScan"]["test"]["id"]
        .as_str()
        .expect("test")
        .to_owned();
    let findings = |filter: Value| {
        let admin = &admin;
        async move {
            admin
                .ok(
                    "query($f: FindingFilterInput) { findings(filter: $f, orderBy: {field: TITLE}) { nodes { id title customFields { field { name } value } } } }",
                    json!({"f": filter}),
                )
                .await["findings"]["nodes"]
                .clone()
        }
    };
    let got = findings(json!({})).await;
    // A value that fits no choice ("Huge") is left out; the report's text
    // stays in the finding's raw data.
    assert_eq!(got[0]["title"], "Old jQuery");
    assert_eq!(got[0]["customFields"], json!([]));
    assert_eq!(
        by_name(&got[1]["customFields"]),
        json!({"Confidence": 2, "Effort": "Medium", "Published": "2026-11-02"})
    );
    let weak = got[1]["id"].as_str().expect("id").to_owned();

    // A reimport refreshes the values of the findings it matches, as an
    // update in their history.
    let reimport = "mutation($file: Upload!, $test: ID!) { reimportScan(input: {file: $file, scanType: \"Generic Findings Import\", test: $test}) { statistics { created } } }";
    upload(
        &s,
        reimport,
        json!({"file": null, "test": test}),
        report("High"),
    )
    .await;
    let got = findings(json!({"customFields": [{"field": effort["id"], "equals": "High"}]})).await;
    assert_eq!(got.as_array().map(Vec::len), Some(1), "{got}");
    assert_eq!(got[0]["id"], weak.as_str());
    let h = admin
        .ok(
            "query($id: ID!) { node(id: $id) { ... on Finding { history { nodes { action changes } } } } }",
            json!({"id": weak}),
        )
        .await;
    let key = crate::support::decode_gid(effort["id"].as_str().expect("id")).to_string();
    let entry = h["node"]["history"]["nodes"]
        .as_array()
        .expect("history")
        .iter()
        .find(|e| e["changes"].get("custom_fields").is_some())
        .cloned()
        .expect("custom field change");
    assert_eq!(entry["changes"]["custom_fields"]["before"][&key], "Medium");
    assert_eq!(entry["changes"]["custom_fields"]["after"][&key], "High");
}
