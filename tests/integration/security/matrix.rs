//! The role × operation matrix over the whole API.
//!
//! The operations come from `schema.graphql` (every field of the query,
//! mutation and subscription roots); the expected answers come from the
//! permission spec `docs/permissions.json` (DefectDojo's role matrix), not
//! from the server's own copy of it. Every operation runs as: anonymous, a
//! user without any role, each role on the object's product, each role on
//! its product type, each role on another product only, and a superuser. An
//! operation of the schema with no rule here fails the test, so every new
//! operation gets its rows by construction.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::time::Duration;

use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

use crate::support::server::{ADMIN_PASSWORD, GqlResponse};
use crate::support::ws::{self, Ws};
use crate::support::{Gql, TestDb, TestServer, create_user};

const SCHEMA: &str = include_str!("../../../schema.graphql");
/// The specification: DefectDojo's role → permission table.
const SPEC: &str = include_str!("../../../docs/permissions.json");
const ROLES: [&str; 5] = ["Reader", "API_Importer", "Writer", "Maintainer", "Owner"];

/// Root fields of the schema, as (root type, field).
fn schema_operations() -> Vec<(String, String)> {
    let mut ops = Vec::new();
    let mut root: Option<String> = None;
    let mut in_doc = false;
    let mut depth = 0usize;
    for line in SCHEMA.lines() {
        let t = line.trim();
        if t.starts_with("\"\"\"") {
            // A one-line description opens and closes on the same line.
            if !(t.len() > 3 && t.ends_with("\"\"\"")) {
                in_doc = !in_doc;
            }
            continue;
        }
        if in_doc {
            continue;
        }
        if let Some(rest) = t.strip_prefix("type ") {
            let name = rest.split_whitespace().next().unwrap_or("");
            if ["QueryRoot", "MutationRoot", "SubscriptionRoot"].contains(&name) {
                root = Some(name.to_owned());
                depth = 0;
            }
            continue;
        }
        if let Some(r) = &root {
            if t == "}" && depth == 0 {
                root = None;
                continue;
            }
            // Arguments may span lines: only names at the top level count.
            if depth == 0 && !t.is_empty() {
                let name: String = t
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                if !name.is_empty() {
                    ops.push((r.clone(), name));
                }
            }
            depth += t.matches('(').count();
            depth -= t.matches(')').count().min(depth);
        }
    }
    ops
}

/// What the spec grants each role.
struct Spec {
    roles: HashMap<String, HashSet<String>>,
}

impl Spec {
    fn load() -> Spec {
        let v: Value = serde_json::from_str(SPEC).expect("docs/permissions.json");
        let roles = v["role_permissions"]
            .as_object()
            .expect("role_permissions")
            .iter()
            .map(|(role, perms)| {
                let perms = perms
                    .as_array()
                    .expect("list")
                    .iter()
                    .map(|p| p.as_str().expect("name").to_owned())
                    .collect();
                (role.clone(), perms)
            })
            .collect();
        Spec { roles }
    }

    fn has(&self, role: Option<&str>, perm: &str) -> bool {
        role.and_then(|r| self.roles.get(r))
            .is_some_and(|p| p.contains(perm))
    }
}

/// Where an operation's permission is checked.
#[derive(Debug, Clone, Copy)]
enum Scope {
    /// Held globally only (no caller here has a global role).
    Global,
    ProductType,
    Product,
    Group,
}

/// What an operation demands.
#[derive(Debug, Clone, Copy)]
enum Rule {
    /// Anyone, even without credentials.
    Public,
    /// Any signed-in caller (the answer concerns only their own things).
    SignedIn,
    /// Superusers; FORBIDDEN for everyone else.
    Superuser,
    /// Signed in with a session (from `login`): FORBIDDEN with an API token,
    /// which is what every caller here holds.
    SessionOnly,
    /// Objects only their owner (the admin here) and superusers see.
    OwnerOnly,
    /// Reading one object: NOT_FOUND without the permission.
    Read(&'static str, Scope),
    /// A list: the object is in it exactly when the caller holds the permission.
    Listed(&'static str, Scope),
    /// A change: FORBIDDEN when the object is readable, NOT_FOUND otherwise.
    Write(&'static [&'static str], Scope),
    /// A change whose permission is held in the first scope of an object
    /// readable through the second (a product type's custom field, which
    /// members of its products see).
    WriteVia(&'static [&'static str], Scope, Scope),
    /// A subscription: the change arrives exactly when the caller holds the permission.
    Events(&'static str),
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Outcome {
    Allowed,
    Forbidden,
    NotFound,
    Unauthenticated,
    /// The object is in the list.
    Listed,
    /// The object is not in the list.
    Absent,
    /// The subscribed change arrived.
    Delivered,
    /// Nothing arrived.
    Silent,
    Other(String),
}

/// The operations and their rules; `run` knows how to call each one.
const OPS: &[(&str, Rule)] = &[
    ("node", Rule::Read("Finding_View", Scope::Product)),
    ("nodes", Rule::Listed("Finding_View", Scope::Product)),
    (
        "productTypes",
        Rule::Listed("Product_Type_View", Scope::ProductType),
    ),
    (
        "productType",
        Rule::Read("Product_Type_View", Scope::ProductType),
    ),
    ("products", Rule::Listed("Product_View", Scope::Product)),
    ("product", Rule::Read("Product_View", Scope::Product)),
    (
        "engagements",
        Rule::Listed("Engagement_View", Scope::Product),
    ),
    ("engagement", Rule::Read("Engagement_View", Scope::Product)),
    ("tests", Rule::Listed("Test_View", Scope::Product)),
    ("test", Rule::Read("Test_View", Scope::Product)),
    ("findings", Rule::Listed("Finding_View", Scope::Product)),
    ("finding", Rule::Read("Finding_View", Scope::Product)),
    ("parserPlugins", Rule::SignedIn),
    ("scanTypes", Rule::SignedIn),
    ("me", Rule::SignedIn),
    ("apiTokens", Rule::SignedIn),
    ("users", Rule::Superuser),
    ("groups", Rule::Listed("Group_View", Scope::Group)),
    ("group", Rule::Read("Group_View", Scope::Group)),
    ("job", Rule::OwnerOnly),
    ("dedupeExplain", Rule::Read("Finding_View", Scope::Product)),
    (
        "webhooks",
        Rule::Listed("Product_Configure_Notifications", Scope::Product),
    ),
    (
        "createProductType",
        Rule::Write(&["Product_Type_Add"], Scope::Global),
    ),
    (
        "updateProductType",
        Rule::Write(&["Product_Type_Edit"], Scope::ProductType),
    ),
    (
        "deleteProductType",
        Rule::Write(&["Product_Type_Delete"], Scope::ProductType),
    ),
    (
        "createProduct",
        Rule::Write(&["Product_Type_Add_Product"], Scope::ProductType),
    ),
    (
        "updateProduct",
        Rule::Write(&["Product_Edit"], Scope::Product),
    ),
    (
        "deleteProduct",
        Rule::Write(&["Product_Delete"], Scope::Product),
    ),
    (
        "createEngagement",
        Rule::Write(&["Engagement_Add"], Scope::Product),
    ),
    (
        "updateEngagement",
        Rule::Write(&["Engagement_Edit"], Scope::Product),
    ),
    (
        "deleteEngagement",
        Rule::Write(&["Engagement_Delete"], Scope::Product),
    ),
    ("createTest", Rule::Write(&["Test_Add"], Scope::Product)),
    ("updateTest", Rule::Write(&["Test_Edit"], Scope::Product)),
    ("deleteTest", Rule::Write(&["Test_Delete"], Scope::Product)),
    (
        "createFinding",
        Rule::Write(&["Finding_Add"], Scope::Product),
    ),
    (
        "updateFinding",
        Rule::Write(&["Finding_Edit"], Scope::Product),
    ),
    (
        "deleteFinding",
        Rule::Write(&["Finding_Delete"], Scope::Product),
    ),
    (
        "addFindingLocation",
        Rule::Write(&["Location_Add"], Scope::Product),
    ),
    (
        "removeFindingLocation",
        Rule::Write(&["Finding_Edit"], Scope::Product),
    ),
    (
        "deleteLocation",
        Rule::Write(&["Location_Delete"], Scope::Product),
    ),
    ("createNote", Rule::Write(&["Note_Add"], Scope::Product)),
    ("updateNote", Rule::Write(&["Note_Edit"], Scope::Product)),
    ("deleteNote", Rule::Write(&["Note_Delete"], Scope::Product)),
    (
        "closeFinding",
        Rule::Write(&["Finding_Edit"], Scope::Product),
    ),
    (
        "reopenFinding",
        Rule::Write(&["Finding_Edit"], Scope::Product),
    ),
    (
        "verifyFinding",
        Rule::Write(&["Finding_Edit"], Scope::Product),
    ),
    (
        "markFalsePositive",
        Rule::Write(&["Finding_Edit"], Scope::Product),
    ),
    (
        "markOutOfScope",
        Rule::Write(&["Finding_Edit"], Scope::Product),
    ),
    (
        "closeFindings",
        Rule::Write(&["Finding_Edit"], Scope::Product),
    ),
    (
        "reopenFindings",
        Rule::Write(&["Finding_Edit"], Scope::Product),
    ),
    (
        "verifyFindings",
        Rule::Write(&["Finding_Edit"], Scope::Product),
    ),
    (
        "updateFindings",
        Rule::Write(&["Finding_Edit"], Scope::Product),
    ),
    (
        "deleteFindings",
        Rule::Write(&["Finding_Delete"], Scope::Product),
    ),
    ("addTags", Rule::Write(&["Finding_Edit"], Scope::Product)),
    (
        "findingGroup",
        Rule::Read("Finding_Group_View", Scope::Product),
    ),
    (
        "createFindingGroup",
        Rule::Write(&["Finding_Group_Add"], Scope::Product),
    ),
    (
        "updateFindingGroup",
        Rule::Write(&["Finding_Group_Edit"], Scope::Product),
    ),
    (
        "addToFindingGroup",
        Rule::Write(&["Finding_Group_Edit"], Scope::Product),
    ),
    (
        "removeFromFindingGroup",
        Rule::Write(&["Finding_Group_Edit"], Scope::Product),
    ),
    (
        "deleteFindingGroup",
        Rule::Write(&["Finding_Group_Delete"], Scope::Product),
    ),
    (
        "markDuplicate",
        Rule::Write(&["Finding_Edit"], Scope::Product),
    ),
    (
        "resetDuplicate",
        Rule::Write(&["Finding_Edit"], Scope::Product),
    ),
    (
        "setOriginal",
        Rule::Write(&["Finding_Edit"], Scope::Product),
    ),
    (
        "requestReview",
        Rule::Write(&["Finding_Edit"], Scope::Product),
    ),
    (
        "clearReview",
        Rule::Write(&["Finding_Edit"], Scope::Product),
    ),
    ("noteTypes", Rule::SignedIn),
    ("findingTemplates", Rule::SignedIn),
    ("findingTemplate", Rule::SignedIn),
    ("createFindingTemplate", Rule::Superuser),
    ("updateFindingTemplate", Rule::Superuser),
    ("deleteFindingTemplate", Rule::Superuser),
    (
        "applyTemplate",
        Rule::Write(&["Finding_Edit"], Scope::Product),
    ),
    ("customFields", Rule::Listed("Product_View", Scope::Product)),
    ("customField", Rule::Read("Product_View", Scope::Product)),
    (
        "createCustomField",
        Rule::WriteVia(&["Product_Type_Edit"], Scope::ProductType, Scope::Product),
    ),
    (
        "updateCustomField",
        Rule::WriteVia(&["Product_Type_Edit"], Scope::ProductType, Scope::Product),
    ),
    (
        "deleteCustomField",
        Rule::WriteVia(&["Product_Type_Edit"], Scope::ProductType, Scope::Product),
    ),
    (
        "setCustomFields",
        Rule::Write(&["Finding_Edit"], Scope::Product),
    ),
    (
        "riskAcceptance",
        Rule::Read("Engagement_View", Scope::Product),
    ),
    (
        "createRiskAcceptance",
        Rule::Write(&["Risk_Acceptance"], Scope::Product),
    ),
    (
        "updateRiskAcceptance",
        Rule::Write(&["Risk_Acceptance"], Scope::Product),
    ),
    (
        "addToRiskAcceptance",
        Rule::Write(&["Risk_Acceptance"], Scope::Product),
    ),
    (
        "removeFromRiskAcceptance",
        Rule::Write(&["Risk_Acceptance"], Scope::Product),
    ),
    (
        "expireRiskAcceptance",
        Rule::Write(&["Risk_Acceptance"], Scope::Product),
    ),
    (
        "reinstateRiskAcceptance",
        Rule::Write(&["Risk_Acceptance"], Scope::Product),
    ),
    (
        "deleteRiskAcceptance",
        Rule::Write(&["Risk_Acceptance"], Scope::Product),
    ),
    (
        "acceptRisks",
        Rule::Write(&["Risk_Acceptance"], Scope::Product),
    ),
    (
        "acceptFindingsRisk",
        Rule::Write(&["Risk_Acceptance"], Scope::Product),
    ),
    (
        "unacceptFindingsRisk",
        Rule::Write(&["Risk_Acceptance"], Scope::Product),
    ),
    ("attachFile", Rule::Write(&["Finding_Edit"], Scope::Product)),
    ("deleteFile", Rule::Write(&["Finding_Edit"], Scope::Product)),
    ("createNoteType", Rule::Superuser),
    ("updateNoteType", Rule::Superuser),
    ("removeTags", Rule::Write(&["Finding_Edit"], Scope::Product)),
    ("installParserPlugin", Rule::Superuser),
    ("setParserPluginEnabled", Rule::Superuser),
    ("removeParserPlugin", Rule::Superuser),
    ("previewReport", Rule::SignedIn),
    ("login", Rule::Public),
    ("logout", Rule::SignedIn),
    ("createApiToken", Rule::SessionOnly),
    ("changePassword", Rule::SignedIn),
    ("sessions", Rule::SignedIn),
    ("revokeSession", Rule::OwnerOnly),
    ("setUserActive", Rule::Superuser),
    ("setSuperuser", Rule::Superuser),
    ("revokeApiToken", Rule::OwnerOnly),
    (
        "setMember",
        Rule::Write(&["Product_Manage_Members"], Scope::Product),
    ),
    (
        "removeMember",
        Rule::Write(&["Product_Member_Delete"], Scope::Product),
    ),
    (
        "setGroupRole",
        Rule::Write(&["Product_Group_Add"], Scope::Product),
    ),
    (
        "removeGroupRole",
        Rule::Write(&["Product_Group_Delete"], Scope::Product),
    ),
    ("createGroup", Rule::Superuser),
    ("deleteGroup", Rule::Write(&["Group_Delete"], Scope::Group)),
    (
        "setGroupMember",
        Rule::Write(&["Group_Manage_Members"], Scope::Group),
    ),
    (
        "removeGroupMember",
        Rule::Write(&["Group_Member_Delete"], Scope::Group),
    ),
    ("setGlobalRole", Rule::Superuser),
    (
        "importScan",
        Rule::Write(&["Import_Scan_Result"], Scope::Product),
    ),
    (
        "reimportScan",
        Rule::Write(&["Import_Scan_Result"], Scope::Product),
    ),
    (
        "createWebhook",
        Rule::Write(&["Product_Configure_Notifications"], Scope::Product),
    ),
    (
        "updateWebhook",
        Rule::Read("Product_Configure_Notifications", Scope::Product),
    ),
    (
        "deleteWebhook",
        Rule::Read("Product_Configure_Notifications", Scope::Product),
    ),
    ("findingChanges", Rule::Events("Finding_View")),
    ("findingChangeBatches", Rule::Events("Finding_View")),
];

/// One product with its children, a group, an imported test and a webhook.
#[derive(Debug, Clone)]
struct Place {
    product_type: Value,
    product: Value,
    engagement: Value,
    test: Value,
    finding: Value,
    imported_test: Value,
    group: Value,
    webhook: Value,
    /// A finding group of `test`, holding `finding`.
    finding_group: Value,
}

/// Who calls, and what they hold on the place they call on.
struct Caller {
    label: String,
    token: Option<String>,
    superuser: bool,
    product_role: Option<&'static str>,
    type_role: Option<&'static str>,
    group_role: Option<&'static str>,
    place: Place,
}

impl Caller {
    fn role(&self, scope: Scope) -> Option<&'static str> {
        match scope {
            Scope::Global => None,
            Scope::ProductType => self.type_role,
            Scope::Product => self.product_role,
            Scope::Group => self.group_role,
        }
    }
}

fn view_of(scope: Scope) -> Option<&'static str> {
    match scope {
        Scope::Global => None,
        Scope::ProductType => Some("Product_Type_View"),
        Scope::Product => Some("Product_View"),
        Scope::Group => Some("Group_View"),
    }
}

fn expected(rule: Rule, c: &Caller, spec: &Spec) -> Outcome {
    if c.token.is_none() {
        return match rule {
            Rule::Public => Outcome::Allowed,
            _ => Outcome::Unauthenticated,
        };
    }
    if c.superuser {
        return match rule {
            Rule::SessionOnly => Outcome::Forbidden,
            Rule::Listed(..) => Outcome::Listed,
            Rule::Events(_) => Outcome::Delivered,
            _ => Outcome::Allowed,
        };
    }
    match rule {
        Rule::Public | Rule::SignedIn => Outcome::Allowed,
        Rule::Superuser | Rule::SessionOnly => Outcome::Forbidden,
        Rule::OwnerOnly => Outcome::NotFound,
        Rule::Read(p, s) => {
            if spec.has(c.role(s), p) {
                Outcome::Allowed
            } else {
                Outcome::NotFound
            }
        }
        Rule::Listed(p, s) => {
            if spec.has(c.role(s), p) {
                Outcome::Listed
            } else {
                Outcome::Absent
            }
        }
        Rule::Write(perms, s) => {
            let role = c.role(s);
            if perms.iter().all(|p| spec.has(role, p)) {
                Outcome::Allowed
            } else if view_of(s).is_none_or(|v| spec.has(role, v)) {
                Outcome::Forbidden
            } else {
                Outcome::NotFound
            }
        }
        Rule::WriteVia(perms, s, seen) => {
            if perms.iter().all(|p| spec.has(c.role(s), p)) {
                Outcome::Allowed
            } else if view_of(seen).is_none_or(|v| spec.has(c.role(seen), v)) {
                Outcome::Forbidden
            } else {
                Outcome::NotFound
            }
        }
        Rule::Events(p) => {
            if spec.has(c.product_role, p) {
                Outcome::Delivered
            } else {
                Outcome::Silent
            }
        }
    }
}

fn classify(r: &GqlResponse) -> Outcome {
    match r.error_code() {
        None => Outcome::Allowed,
        Some("FORBIDDEN") => Outcome::Forbidden,
        Some("NOT_FOUND") => Outcome::NotFound,
        Some("UNAUTHENTICATED") => Outcome::Unauthenticated,
        Some(other) => Outcome::Other(format!("{other}: {}", r.body)),
    }
}

/// Like [`classify`], for calls whose input the guard never reads: a
/// refusal of the input itself means the caller got past the guard.
fn classify_past_guard(r: &GqlResponse) -> Outcome {
    match r.error_code() {
        Some("BAD_USER_INPUT") => Outcome::Allowed,
        _ => classify(r),
    }
}

/// `Listed`/`Absent` by whether `id` is among the ids `pick` finds.
fn listed(r: &GqlResponse, id: &Value, pick: impl Fn(&Value) -> Vec<Value>) -> Outcome {
    match classify(r) {
        Outcome::Allowed => {
            if pick(&r.body["data"]).contains(id) {
                Outcome::Listed
            } else {
                Outcome::Absent
            }
        }
        other => other,
    }
}

fn ids_at(v: &Value) -> Vec<Value> {
    v.as_array()
        .map(|a| a.iter().map(|n| n["id"].clone()).collect())
        .unwrap_or_default()
}

fn edge_ids(v: &Value) -> Vec<Value> {
    v["edges"]
        .as_array()
        .map(|a| a.iter().map(|e| e["node"]["id"].clone()).collect())
        .unwrap_or_default()
}

async fn data_at(admin: &Gql, query: &str, vars: Value, path: &[&str]) -> Value {
    let d = admin.ok(query, vars).await;
    let mut v = &d;
    for p in path {
        v = &v[p];
    }
    assert!(!v.is_null(), "nothing at {path:?} in {d}");
    v.clone()
}

fn gql_role(role: &str) -> &'static str {
    match role {
        "Reader" => "READER",
        "API_Importer" => "API_IMPORTER",
        "Writer" => "WRITER",
        "Maintainer" => "MAINTAINER",
        "Owner" => "OWNER",
        other => panic!("unknown role {other}"),
    }
}

fn generic_report(title: &str) -> Vec<u8> {
    serde_json::to_vec(&json!({"findings": [
        {"title": title, "description": "d", "severity": "High", "date": "2026-11-01"}
    ]}))
    .expect("json")
}

/// Everything the runs share.
struct World {
    server: TestServer,
    admin: Gql,
    /// A user the membership operations add and remove.
    target: Value,
    job: Value,
}

impl World {
    async fn product_type(&self, name: &str) -> Value {
        data_at(
            &self.admin,
            "mutation($n: String!) { createProductType(input: {name: $n}) { productType { id } } }",
            json!({"n": name}),
            &["createProductType", "productType", "id"],
        )
        .await
    }

    async fn product(&self, pt: &Value) -> Value {
        data_at(
            &self.admin,
            "mutation($pt: ID!, $n: String!) { createProduct(input: {productType: $pt, name: $n, description: \"d\"}) { product { id } } }",
            json!({"pt": pt, "n": format!("p {}", uuid::Uuid::new_v4())}),
            &["createProduct", "product", "id"],
        )
        .await
    }

    async fn engagement(&self, product: &Value) -> Value {
        data_at(
            &self.admin,
            "mutation($p: ID!) { createEngagement(input: {product: $p, name: \"e\"}) { engagement { id } } }",
            json!({"p": product}),
            &["createEngagement", "engagement", "id"],
        )
        .await
    }

    async fn test(&self, engagement: &Value) -> Value {
        data_at(
            &self.admin,
            "mutation($e: ID!) { createTest(input: {engagement: $e, testType: \"Manual Code Review\"}) { test { id } } }",
            json!({"e": engagement}),
            &["createTest", "test", "id"],
        )
        .await
    }

    async fn finding(&self, test: &Value) -> Value {
        data_at(
            &self.admin,
            "mutation($t: ID!) { createFinding(input: {test: $t, title: \"f\", severity: HIGH, description: \"d\"}) { finding { id } } }",
            json!({"t": test}),
            &["createFinding", "finding", "id"],
        )
        .await
    }

    async fn group(&self) -> Value {
        data_at(
            &self.admin,
            "mutation($n: String!) { createGroup(input: {name: $n}) { id } }",
            json!({"n": format!("g {}", uuid::Uuid::new_v4())}),
            &["createGroup", "id"],
        )
        .await
    }

    async fn webhook(&self, product: &Value) -> Value {
        data_at(
            &self.admin,
            "mutation($p: ID!) { createWebhook(input: {name: \"w\", url: \"http://127.0.0.1:9/hook\", product: $p}) { webhook { id } } }",
            json!({"p": product}),
            &["createWebhook", "webhook", "id"],
        )
        .await
    }

    async fn note(&self, finding: &Value) -> Value {
        data_at(
            &self.admin,
            "mutation($p: ID!) { createNote(input: {parent: $p, entry: \"n\"}) { note { id } } }",
            json!({"p": finding}),
            &["createNote", "note", "id"],
        )
        .await
    }

    async fn location(&self, finding: &Value) -> Value {
        data_at(
            &self.admin,
            "mutation($f: ID!, $u: String!) { addFindingLocation(input: {finding: $f, url: $u}) { location { id } } }",
            json!({"f": finding, "u": format!("https://{}.example.com/", uuid::Uuid::new_v4().simple())}),
            &["addFindingLocation", "location", "id"],
        )
        .await
    }

    async fn set_member(&self, object: &Value, user: &Value, role: &str) {
        self.admin
            .ok(
                "mutation($o: ID!, $u: ID!, $r: Role!) { setMember(input: {object: $o, user: $u, role: $r}) { role } }",
                json!({"o": object, "u": user, "r": gql_role(role)}),
            )
            .await;
    }

    async fn set_group_member(&self, group: &Value, user: &Value, role: &str) {
        self.admin
            .ok(
                "mutation($g: ID!, $u: ID!, $r: Role!) { setGroupMember(input: {group: $g, user: $u, role: $r}) { role } }",
                json!({"g": group, "u": user, "r": gql_role(role)}),
            )
            .await;
    }

    async fn user(&self, db: &TestDb, name: &str) -> (String, Value) {
        let token = create_user(db, name, false).await;
        let d = self
            .admin
            .ok(
                "query($u: String) { users(usernameContains: $u) { id username } }",
                json!({"u": name}),
            )
            .await;
        let id = d["users"]
            .as_array()
            .expect("users")
            .iter()
            .find(|u| u["username"] == name)
            .expect("user")["id"]
            .clone();
        (token, id)
    }

    /// Imports a one-finding generic report into `engagement`; the test's id.
    async fn imported_test(&self, engagement: &Value) -> Value {
        let d = upload(
            &self.admin,
            "mutation($f: Upload!, $e: ID!) { importScan(input: {file: $f, scanType: \"Generic Findings Import\", engagement: $e}) { test { id } } }",
            json!({"e": engagement}),
            generic_report("imported"),
        )
        .await;
        d.data()["importScan"]["test"]["id"].clone()
    }

    async fn place(&self, pt: &Value) -> Place {
        let product = self.product(pt).await;
        let engagement = self.engagement(&product).await;
        let test = self.test(&engagement).await;
        let finding = self.finding(&test).await;
        let imported_test = self.imported_test(&engagement).await;
        let group = self.group().await;
        let webhook = self.webhook(&product).await;
        let finding_group = self.finding_group(&test, &[&finding]).await;
        Place {
            product_type: pt.clone(),
            product,
            engagement,
            test,
            finding,
            imported_test,
            group,
            webhook,
            finding_group,
        }
    }

    async fn finding_group(&self, test: &Value, findings: &[&Value]) -> Value {
        data_at(
            &self.admin,
            "mutation($t: ID!, $n: String!, $f: [ID!]!) { createFindingGroup(input: {test: $t, name: $n, findings: $f}) { findingGroup { id } } }",
            json!({"t": test, "n": format!("fg {}", uuid::Uuid::new_v4()), "f": findings}),
            &["createFindingGroup", "findingGroup", "id"],
        )
        .await
    }

    async fn template(&self) -> Value {
        data_at(
            &self.admin,
            "mutation($t: String!) { createFindingTemplate(input: {title: $t, severity: LOW, mitigation: \"upgrade\"}) { findingTemplate { id } } }",
            json!({"t": uuid::Uuid::new_v4().to_string()}),
            &["createFindingTemplate", "findingTemplate", "id"],
        )
        .await
    }

    /// A fresh risk acceptance of `engagement` holding a fresh finding of
    /// `test`; expired first when `expired`.
    async fn risk_acceptance(
        &self,
        engagement: &Value,
        test: &Value,
        expired: bool,
    ) -> (Value, Value) {
        let finding = self.finding(test).await;
        let ra = data_at(
            &self.admin,
            "mutation($e: ID!, $f: ID!) { createRiskAcceptance(input: {engagement: $e, name: \"accepted\", findings: [$f]}) { riskAcceptance { id } } }",
            json!({"e": engagement, "f": finding}),
            &["createRiskAcceptance", "riskAcceptance", "id"],
        )
        .await;
        if expired {
            self.admin
                .ok(
                    "mutation($id: ID!) { expireRiskAcceptance(input: {id: $id}) { changed } }",
                    json!({"id": ra}),
                )
                .await;
        }
        (ra, finding)
    }

    /// A fresh file attached to `finding`.
    async fn file(&self, finding: &Value) -> Value {
        let r = upload(
            &self.admin,
            "mutation($f: Upload!, $o: ID!) { attachFile(input: {object: $o, file: $f}) { file { id } } }",
            json!({"o": finding}),
            b"evidence".to_vec(),
        )
        .await;
        r.data()["attachFile"]["file"]["id"].clone()
    }

    /// A fresh text custom field of `product_type` for findings.
    async fn custom_field(&self, product_type: &Value) -> Value {
        data_at(
            &self.admin,
            "mutation($n: String!, $pt: ID!) { createCustomField(input: {name: $n, kind: TEXT, appliesTo: [FINDING], productType: $pt}) { customField { id } } }",
            json!({"n": uuid::Uuid::new_v4().to_string(), "pt": product_type}),
            &["createCustomField", "customField", "id"],
        )
        .await
    }

    /// Two fresh findings of `test`, the second a duplicate of the first.
    async fn duplicate_pair(&self, test: &Value) -> (Value, Value) {
        let original = self.finding(test).await;
        let duplicate = self.finding(test).await;
        self.admin
            .ok(
                "mutation($d: ID!, $o: ID!) { markDuplicate(input: {id: $d, original: $o}) { finding { id } } }",
                json!({"d": duplicate, "o": original}),
            )
            .await;
        (original, duplicate)
    }
}

/// A GraphQL multipart request (the spec's `operations` / `map` / file
/// parts) with one file bound to the variable `f`.
async fn upload(g: &Gql, query: &str, mut vars: Value, file: Vec<u8>) -> GqlResponse {
    vars["f"] = Value::Null;
    let form = reqwest::multipart::Form::new()
        .text(
            "operations",
            json!({"query": query, "variables": vars}).to_string(),
        )
        .text("map", json!({"0": ["variables.f"]}).to_string())
        .part(
            "0",
            reqwest::multipart::Part::bytes(file).file_name("report.json"),
        );
    g.multipart(form).await
}

/// Runs `op` as `c`; the admin makes what a destructive call consumes.
async fn run(op: &str, w: &World, c: &Caller) -> Outcome {
    let g = match &c.token {
        Some(t) => w.server.gql_as(t),
        None => w.server.anonymous(),
    };
    let p = &c.place;
    let q = |query: &'static str, vars: Value| {
        let g = g.clone();
        async move { classify(&g.query(query, vars).await) }
    };
    match op {
        "node" => q("query($id: ID!) { node(id: $id) { id } }", json!({"id": p.finding})).await,
        "nodes" => {
            let r = g
                .query("query($ids: [ID!]!) { nodes(ids: $ids) { id } }", json!({"ids": [p.finding]}))
                .await;
            listed(&r, &p.finding, |d| ids_at(&d["nodes"]))
        }
        "productTypes" => {
            let r = g.query("{ productTypes(first: 100) { edges { node { id } } } }", json!({})).await;
            listed(&r, &p.product_type, |d| edge_ids(&d["productTypes"]))
        }
        "productType" => {
            q("query($id: ID!) { productType(id: $id) { id } }", json!({"id": p.product_type})).await
        }
        "products" => {
            let r = g
                .query("query($pt: ID) { products(productType: $pt, first: 100) { edges { node { id } } } }", json!({"pt": p.product_type}))
                .await;
            listed(&r, &p.product, |d| edge_ids(&d["products"]))
        }
        "product" => q("query($id: ID!) { product(id: $id) { id } }", json!({"id": p.product})).await,
        "engagements" => {
            let r = g
                .query("query($p: ID) { engagements(product: $p, first: 100) { edges { node { id } } } }", json!({"p": p.product}))
                .await;
            listed(&r, &p.engagement, |d| edge_ids(&d["engagements"]))
        }
        "engagement" => {
            q("query($id: ID!) { engagement(id: $id) { id } }", json!({"id": p.engagement})).await
        }
        "tests" => {
            let r = g
                .query("query($e: ID) { tests(engagement: $e, first: 100) { edges { node { id } } } }", json!({"e": p.engagement}))
                .await;
            listed(&r, &p.test, |d| edge_ids(&d["tests"]))
        }
        "test" => q("query($id: ID!) { test(id: $id) { id } }", json!({"id": p.test})).await,
        "findings" => {
            let r = g
                .query("query($p: [ID!]) { findings(filter: {productIds: $p}, first: 100) { edges { node { id } } } }", json!({"p": [p.product]}))
                .await;
            listed(&r, &p.finding, |d| edge_ids(&d["findings"]))
        }
        "finding" => q("query($id: ID!) { finding(id: $id) { id } }", json!({"id": p.finding})).await,
        "parserPlugins" => q("{ parserPlugins { id } }", json!({})).await,
        "scanTypes" => q("{ scanTypes { name } }", json!({})).await,
        "me" => q("{ me { id } }", json!({})).await,
        "apiTokens" => q("{ apiTokens { id } }", json!({})).await,
        "users" => q("{ users { id } }", json!({})).await,
        "groups" => {
            let r = g.query("{ groups { id } }", json!({})).await;
            listed(&r, &p.group, |d| ids_at(&d["groups"]))
        }
        "group" => q("query($id: ID!) { group(id: $id) { id } }", json!({"id": p.group})).await,
        "job" => q("query($id: ID!) { job(id: $id) { id } }", json!({"id": w.job})).await,
        "dedupeExplain" => {
            q("query($id: ID!) { dedupeExplain(finding: $id) }", json!({"id": p.finding})).await
        }
        "webhooks" => {
            let r = g.query("{ webhooks { id } }", json!({})).await;
            listed(&r, &p.webhook, |d| ids_at(&d["webhooks"]))
        }
        "createProductType" => {
            q("mutation($n: String!) { createProductType(input: {name: $n}) { productType { id } } }", json!({"n": uuid::Uuid::new_v4().to_string()})).await
        }
        "updateProductType" => {
            q("mutation($id: ID!) { updateProductType(input: {id: $id, description: \"x\"}) { productType { id } } }", json!({"id": p.product_type})).await
        }
        "deleteProductType" => {
            let fresh = w.product_type(&uuid::Uuid::new_v4().to_string()).await;
            if let (Some(role), Some(uid)) = (c.type_role, caller_id(w, c).await) {
                w.set_member(&fresh, &uid, role).await;
            }
            q("mutation($id: ID!) { deleteProductType(input: {id: $id}) { deletedId } }", json!({"id": fresh})).await
        }
        "createProduct" => {
            q("mutation($pt: ID!, $n: String!) { createProduct(input: {productType: $pt, name: $n, description: \"d\"}) { product { id } } }", json!({"pt": p.product_type, "n": uuid::Uuid::new_v4().to_string()})).await
        }
        "updateProduct" => {
            q("mutation($id: ID!) { updateProduct(input: {id: $id, description: \"changed\"}) { product { id } } }", json!({"id": p.product})).await
        }
        "deleteProduct" => {
            let fresh = w.product(&p.product_type).await;
            if let (Some(role), None, Some(uid)) = (c.product_role, c.type_role, caller_id(w, c).await) {
                w.set_member(&fresh, &uid, role).await;
            }
            q("mutation($id: ID!) { deleteProduct(input: {id: $id}) { deletedId } }", json!({"id": fresh})).await
        }
        "createEngagement" => {
            q("mutation($p: ID!) { createEngagement(input: {product: $p, name: \"new\"}) { engagement { id } } }", json!({"p": p.product})).await
        }
        "updateEngagement" => {
            q("mutation($id: ID!) { updateEngagement(input: {id: $id, description: \"x\"}) { engagement { id } } }", json!({"id": p.engagement})).await
        }
        "deleteEngagement" => {
            let fresh = w.engagement(&p.product).await;
            q("mutation($id: ID!) { deleteEngagement(input: {id: $id}) { deletedId } }", json!({"id": fresh})).await
        }
        "createTest" => {
            q("mutation($e: ID!) { createTest(input: {engagement: $e, testType: \"Manual Code Review\"}) { test { id } } }", json!({"e": p.engagement})).await
        }
        "updateTest" => {
            q("mutation($id: ID!) { updateTest(input: {id: $id, description: \"x\"}) { test { id } } }", json!({"id": p.test})).await
        }
        "deleteTest" => {
            let fresh = w.test(&p.engagement).await;
            q("mutation($id: ID!) { deleteTest(input: {id: $id}) { deletedId } }", json!({"id": fresh})).await
        }
        "createFinding" => {
            q("mutation($t: ID!) { createFinding(input: {test: $t, title: \"by hand\", severity: LOW, description: \"d\"}) { finding { id } } }", json!({"t": p.test})).await
        }
        "updateFinding" => {
            q("mutation($id: ID!) { updateFinding(input: {id: $id, mitigation: \"patch\"}) { finding { id } } }", json!({"id": p.finding})).await
        }
        "deleteFinding" => {
            let fresh = w.finding(&p.test).await;
            q("mutation($id: ID!) { deleteFinding(input: {id: $id}) { deletedId } }", json!({"id": fresh})).await
        }
        "addFindingLocation" => {
            q("mutation($f: ID!, $u: String!) { addFindingLocation(input: {finding: $f, url: $u}) { location { id } } }", json!({"f": p.finding, "u": format!("https://{}.example.org/", uuid::Uuid::new_v4().simple())})).await
        }
        "removeFindingLocation" => {
            let l = w.location(&p.finding).await;
            q("mutation($f: ID!, $l: ID!) { removeFindingLocation(input: {finding: $f, location: $l}) { location { id } } }", json!({"f": p.finding, "l": l})).await
        }
        "deleteLocation" => {
            let l = w.location(&p.finding).await;
            q("mutation($id: ID!) { deleteLocation(input: {id: $id}) { deletedId } }", json!({"id": l})).await
        }
        "createNote" => {
            q("mutation($p: ID!) { createNote(input: {parent: $p, entry: \"seen\"}) { note { id } } }", json!({"p": p.finding})).await
        }
        "updateNote" => {
            let n = w.note(&p.finding).await;
            q("mutation($id: ID!) { updateNote(input: {id: $id, entry: \"edited\"}) { note { id } } }", json!({"id": n})).await
        }
        "deleteNote" => {
            let n = w.note(&p.finding).await;
            q("mutation($id: ID!) { deleteNote(input: {id: $id}) { deletedId } }", json!({"id": n})).await
        }
        "closeFinding" | "reopenFinding" | "verifyFinding" | "markFalsePositive"
        | "markOutOfScope" => {
            // A fresh finding each time: one call's status change must not
            // decide the next one's answer.
            let fresh = w.finding(&p.test).await;
            classify(&g.query(&format!("mutation($id: ID!) {{ {op}(input: {{id: $id}}) {{ finding {{ id }} }} }}"), json!({"id": fresh})).await)
        }
        "updateFindings" => {
            let fresh = w.finding(&p.test).await;
            classify(&g.query("mutation($id: ID!) { updateFindings(input: {selection: {ids: [$id]}, patch: {addTags: [\"bulk\"]}}) { changed } }", json!({"id": fresh})).await)
        }
        "deleteFindings" => {
            let fresh = w.finding(&p.test).await;
            classify(&g.query("mutation($id: ID!) { deleteFindings(input: {selection: {ids: [$id]}}) { deleted } }", json!({"id": fresh})).await)
        }
        "closeFindings" | "reopenFindings" | "verifyFindings" => {
            let fresh = w.finding(&p.test).await;
            classify(&g.query(&format!("mutation($id: ID!) {{ {op}(input: {{selection: {{ids: [$id]}}}}) {{ changed }} }}"), json!({"id": fresh})).await)
        }
        "findingGroup" => {
            q("query($id: ID!) { findingGroup(id: $id) { id } }", json!({"id": p.finding_group})).await
        }
        "createFindingGroup" => {
            q("mutation($t: ID!, $n: String!) { createFindingGroup(input: {test: $t, name: $n}) { findingGroup { id } } }", json!({"t": p.test, "n": uuid::Uuid::new_v4().to_string()})).await
        }
        "updateFindingGroup" => {
            q("mutation($id: ID!, $n: String!) { updateFindingGroup(input: {id: $id, name: $n}) { findingGroup { id } } }", json!({"id": p.finding_group, "n": uuid::Uuid::new_v4().to_string()})).await
        }
        "addToFindingGroup" => {
            let fresh = w.finding(&p.test).await;
            q("mutation($g: ID!, $f: ID!) { addToFindingGroup(input: {group: $g, selection: {ids: [$f]}}) { changed } }", json!({"g": p.finding_group, "f": fresh})).await
        }
        "removeFromFindingGroup" => {
            let fresh = w.finding(&p.test).await;
            w.finding_group(&p.test, &[&fresh]).await;
            q("mutation($f: ID!) { removeFromFindingGroup(input: {selection: {ids: [$f]}}) { changed } }", json!({"f": fresh})).await
        }
        "deleteFindingGroup" => {
            let fresh = w.finding_group(&p.test, &[]).await;
            q("mutation($id: ID!) { deleteFindingGroup(input: {id: $id}) { deletedId } }", json!({"id": fresh})).await
        }
        "markDuplicate" => {
            let fresh = w.finding(&p.test).await;
            q("mutation($d: ID!, $o: ID!) { markDuplicate(input: {id: $d, original: $o}) { finding { id } } }", json!({"d": fresh, "o": p.finding})).await
        }
        "resetDuplicate" => {
            let (_, duplicate) = w.duplicate_pair(&p.test).await;
            q("mutation($id: ID!) { resetDuplicate(input: {id: $id}) { finding { id } } }", json!({"id": duplicate})).await
        }
        "setOriginal" => {
            let (original, duplicate) = w.duplicate_pair(&p.test).await;
            q("mutation($id: ID!, $n: ID!) { setOriginal(input: {id: $id, newOriginal: $n}) { finding { id } } }", json!({"id": original, "n": duplicate})).await
        }
        "findingTemplates" => q("{ findingTemplates { id } }", json!({})).await,
        "findingTemplate" => {
            let t = w.template().await;
            q("query($id: ID!) { findingTemplate(id: $id) { id } }", json!({"id": t})).await
        }
        "createFindingTemplate" => {
            q("mutation($t: String!) { createFindingTemplate(input: {title: $t}) { findingTemplate { id } } }", json!({"t": uuid::Uuid::new_v4().to_string()})).await
        }
        "updateFindingTemplate" => {
            let t = w.template().await;
            q("mutation($id: ID!, $t: String!) { updateFindingTemplate(input: {id: $id, fields: {title: $t}}) { findingTemplate { id } } }", json!({"id": t, "t": uuid::Uuid::new_v4().to_string()})).await
        }
        "deleteFindingTemplate" => {
            let t = w.template().await;
            q("mutation($id: ID!) { deleteFindingTemplate(input: {id: $id}) { deletedId } }", json!({"id": t})).await
        }
        "applyTemplate" => {
            let t = w.template().await;
            let fresh = w.finding(&p.test).await;
            q("mutation($f: ID!, $t: ID!) { applyTemplate(input: {finding: $f, template: $t}) { finding { id } } }", json!({"f": fresh, "t": t})).await
        }
        "customFields" => {
            let field = w.custom_field(&p.product_type).await;
            let r = g.query("{ customFields { id } }", json!({})).await;
            listed(&r, &field, |d| ids_at(&d["customFields"]))
        }
        "customField" => {
            let field = w.custom_field(&p.product_type).await;
            q("query($id: ID!) { customField(id: $id) { id } }", json!({"id": field})).await
        }
        "createCustomField" => {
            q("mutation($n: String!, $pt: ID!) { createCustomField(input: {name: $n, kind: NUMBER, appliesTo: [FINDING], productType: $pt}) { customField { id } } }", json!({"n": uuid::Uuid::new_v4().to_string(), "pt": p.product_type})).await
        }
        "updateCustomField" => {
            let field = w.custom_field(&p.product_type).await;
            q("mutation($id: ID!) { updateCustomField(input: {id: $id, description: \"why\"}) { customField { id } } }", json!({"id": field})).await
        }
        "deleteCustomField" => {
            let field = w.custom_field(&p.product_type).await;
            q("mutation($id: ID!) { deleteCustomField(input: {id: $id}) { deletedId } }", json!({"id": field})).await
        }
        "setCustomFields" => {
            let field = w.custom_field(&p.product_type).await;
            q("mutation($o: ID!, $f: ID!) { setCustomFields(input: {object: $o, values: [{field: $f, value: \"v\"}]}) { customFields { value } } }", json!({"o": p.finding, "f": field})).await
        }
        "riskAcceptance" => {
            let (ra, _) = w.risk_acceptance(&p.engagement, &p.test, false).await;
            q("query($id: ID!) { riskAcceptance(id: $id) { id } }", json!({"id": ra})).await
        }
        "createRiskAcceptance" => {
            let f = w.finding(&p.test).await;
            q("mutation($e: ID!, $f: ID!) { createRiskAcceptance(input: {engagement: $e, name: \"mine\", findings: [$f]}) { changed } }", json!({"e": p.engagement, "f": f})).await
        }
        "updateRiskAcceptance" => {
            let (ra, _) = w.risk_acceptance(&p.engagement, &p.test, false).await;
            q("mutation($id: ID!) { updateRiskAcceptance(input: {id: $id, decisionDetails: \"why\"}) { changed } }", json!({"id": ra})).await
        }
        "addToRiskAcceptance" => {
            let (ra, _) = w.risk_acceptance(&p.engagement, &p.test, false).await;
            let f = w.finding(&p.test).await;
            q("mutation($id: ID!, $f: ID!) { addToRiskAcceptance(input: {id: $id, findings: [$f]}) { changed } }", json!({"id": ra, "f": f})).await
        }
        "removeFromRiskAcceptance" => {
            let (ra, f) = w.risk_acceptance(&p.engagement, &p.test, false).await;
            q("mutation($id: ID!, $f: ID!) { removeFromRiskAcceptance(input: {id: $id, findings: [$f]}) { changed } }", json!({"id": ra, "f": f})).await
        }
        "expireRiskAcceptance" => {
            let (ra, _) = w.risk_acceptance(&p.engagement, &p.test, false).await;
            q("mutation($id: ID!) { expireRiskAcceptance(input: {id: $id}) { changed } }", json!({"id": ra})).await
        }
        "reinstateRiskAcceptance" => {
            let (ra, _) = w.risk_acceptance(&p.engagement, &p.test, true).await;
            q("mutation($id: ID!) { reinstateRiskAcceptance(input: {id: $id}) { changed } }", json!({"id": ra})).await
        }
        "deleteRiskAcceptance" => {
            let (ra, _) = w.risk_acceptance(&p.engagement, &p.test, false).await;
            q("mutation($id: ID!) { deleteRiskAcceptance(input: {id: $id}) { changed } }", json!({"id": ra})).await
        }
        "acceptRisks" => {
            q("mutation($e: ID!) { acceptRisks(input: {engagement: $e, risks: [{vulnerabilityId: \"CVE-2026-0001\", justification: \"j\", acceptedBy: \"CISO\"}]}) { id } }", json!({"e": p.engagement})).await
        }
        "acceptFindingsRisk" | "unacceptFindingsRisk" => {
            w.admin
                .ok("mutation($id: ID!) { updateProduct(input: {id: $id, enableSimpleRiskAcceptance: true}) { product { id } } }", json!({"id": p.product}))
                .await;
            let f = w.finding(&p.test).await;
            let query = format!("mutation($f: ID!) {{ {op}(input: {{selection: {{ids: [$f]}}}}) {{ changed }} }}");
            classify(&g.query(&query, json!({"f": f})).await)
        }
        "attachFile" => {
            classify(&upload(&g, "mutation($f: Upload!, $o: ID!) { attachFile(input: {object: $o, file: $f}) { file { id } } }", json!({"o": p.finding}), b"evidence".to_vec()).await)
        }
        "deleteFile" => {
            let file = w.file(&p.finding).await;
            q("mutation($id: ID!) { deleteFile(input: {id: $id}) { deletedId } }", json!({"id": file})).await
        }
        "noteTypes" => q("{ noteTypes { id name } }", json!({})).await,
        "createNoteType" => {
            q("mutation($n: String!) { createNoteType(input: {name: $n}) { noteType { id } } }", json!({"n": format!("t {}", &uuid::Uuid::new_v4().simple().to_string()[..8])})).await
        }
        "updateNoteType" => {
            let made = data_at(
                &w.admin,
                "mutation($n: String!) { createNoteType(input: {name: $n}) { noteType { id } } }",
                json!({"n": format!("t {}", &uuid::Uuid::new_v4().simple().to_string()[..8])}),
                &["createNoteType", "noteType", "id"],
            )
            .await;
            q("mutation($id: ID!) { updateNoteType(input: {id: $id, description: \"x\"}) { noteType { id } } }", json!({"id": made})).await
        }
        "requestReview" => {
            let fresh = w.finding(&p.test).await;
            let admin = w.admin.ok("{ me { id } }", json!({})).await["me"]["id"].clone();
            q("mutation($id: ID!, $u: ID!) { requestReview(input: {id: $id, reviewers: [$u], note: {entry: \"look\"}}) { finding { id } } }", json!({"id": fresh, "u": admin})).await
        }
        "clearReview" => {
            // The caller is the reviewer wherever they can read the finding,
            // so only the permission decides.
            let fresh = w.finding(&p.test).await;
            const ASK: &str = "mutation($id: ID!, $u: ID!) { requestReview(input: {id: $id, reviewers: [$u], note: {entry: \"look\"}}) { finding { id } } }";
            let admin = w.admin.ok("{ me { id } }", json!({})).await["me"]["id"].clone();
            let asked = match caller_id(w, c).await {
                Some(uid) => w.admin.query(ASK, json!({"id": fresh, "u": uid})).await.error_code().is_none(),
                None => false,
            };
            if !asked {
                w.admin.ok(ASK, json!({"id": fresh, "u": admin})).await;
            }
            q("mutation($id: ID!) { clearReview(input: {id: $id, note: {entry: \"done\"}}) { finding { id } } }", json!({"id": fresh})).await
        }
        "addTags" => {
            q("mutation($id: ID!) { addTags(input: {id: $id, tags: [\"triaged\"]}) { tags } }", json!({"id": p.finding})).await
        }
        "removeTags" => {
            q("mutation($id: ID!) { removeTags(input: {id: $id, tags: [\"triaged\"]}) { tags } }", json!({"id": p.finding})).await
        }
        "installParserPlugin" => {
            // Not a component: a superuser is refused for the file, the rest for who they are.
            let r = upload(&g, "mutation($f: Upload!) { installParserPlugin(file: $f) { plugin { id } } }", json!({}), b"not wasm".to_vec()).await;
            classify_past_guard(&r)
        }
        "setParserPluginEnabled" => {
            q("mutation { setParserPluginEnabled(input: {id: \"builtin:generic\", enabled: true}) { plugin { id } } }", json!({})).await
        }
        "removeParserPlugin" => {
            // A plugin that is not there: past the guard, the answer names the missing plugin.
            let r = g
                .query(
                    "mutation { removeParserPlugin(input: {id: \"uploaded:no-such-plugin\"}) { plugin { id } } }",
                    json!({}),
                )
                .await;
            match classify_past_guard(&r) {
                Outcome::NotFound => Outcome::Allowed,
                other => other,
            }
        }
        "previewReport" => {
            classify(&upload(&g, "mutation($f: Upload!) { previewReport(input: {file: $f, scanType: \"Generic Findings Import\"}) { findings { title } } }", json!({}), generic_report("preview")).await)
        }
        "login" => {
            q("mutation($p: String!) { login(username: \"admin\", password: $p) { token } }", json!({"p": ADMIN_PASSWORD})).await
        }
        "logout" => {
            // The callers hold API tokens: logout names the token kind it needs.
            classify_past_guard(&g.query("mutation { logout }", json!({})).await)
        }
        "createApiToken" => {
            q("mutation { createApiToken(input: {name: \"extra\"}) { apiToken { id } } }", json!({})).await
        }
        "changePassword" => {
            // The callers have no password: past the guard, that is the answer.
            classify_past_guard(
                &g.query(
                    "mutation { changePassword(current: \"x\", new: \"a long enough new password\") { __typename } }",
                    json!({}),
                )
                .await,
            )
        }
        "sessions" => q("{ sessions { id } }", json!({})).await,
        "revokeSession" => {
            let token = w.server.login("admin", ADMIN_PASSWORD).await.expect("admin signs in");
            let d = w.server.gql_as(&token).ok("{ sessions { id current } }", json!({})).await;
            let id = d["sessions"]
                .as_array()
                .expect("sessions")
                .iter()
                .find(|s| s["current"] == true)
                .expect("the current session")["id"]
                .clone();
            q("mutation($id: ID!) { revokeSession(id: $id) { id } }", json!({"id": id})).await
        }
        "setUserActive" => {
            q("mutation($u: ID!) { setUserActive(user: $u, active: true) { id } }", json!({"u": w.target})).await
        }
        "setSuperuser" => {
            q("mutation($u: ID!) { setSuperuser(user: $u, superuser: false) { id } }", json!({"u": w.target})).await
        }
        "revokeApiToken" => {
            let id = data_at(&w.admin, "mutation { createApiToken(input: {name: \"admin's\"}) { apiToken { id } } }", json!({}), &["createApiToken", "apiToken", "id"]).await;
            q("mutation($id: ID!) { revokeApiToken(id: $id) { id } }", json!({"id": id})).await
        }
        "setMember" => {
            q("mutation($o: ID!, $u: ID!) { setMember(input: {object: $o, user: $u, role: READER}) { role } }", json!({"o": p.product, "u": w.target})).await
        }
        "removeMember" => {
            w.set_member(&p.product, &w.target, "Reader").await;
            q("mutation($o: ID!, $u: ID!) { removeMember(input: {object: $o, user: $u}) }", json!({"o": p.product, "u": w.target})).await
        }
        "setGroupRole" => {
            let r = q("mutation($o: ID!, $g: ID!) { setGroupRole(input: {object: $o, group: $g, role: READER}) { role } }", json!({"o": p.product, "g": p.group})).await;
            remove_group_role(w, p).await;
            r
        }
        "removeGroupRole" => {
            w.admin
                .ok("mutation($o: ID!, $g: ID!) { setGroupRole(input: {object: $o, group: $g, role: READER}) { role } }", json!({"o": p.product, "g": p.group}))
                .await;
            let r = q("mutation($o: ID!, $g: ID!) { removeGroupRole(input: {object: $o, group: $g}) }", json!({"o": p.product, "g": p.group})).await;
            remove_group_role(w, p).await;
            r
        }
        "createGroup" => {
            q("mutation($n: String!) { createGroup(input: {name: $n}) { id } }", json!({"n": uuid::Uuid::new_v4().to_string()})).await
        }
        "deleteGroup" => {
            let fresh = w.group().await;
            if let (Some(role), Some(uid)) = (c.group_role, caller_id(w, c).await) {
                w.set_group_member(&fresh, &uid, role).await;
            }
            q("mutation($id: ID!) { deleteGroup(input: {id: $id}) { deletedId } }", json!({"id": fresh})).await
        }
        "setGroupMember" => {
            q("mutation($g: ID!, $u: ID!) { setGroupMember(input: {group: $g, user: $u, role: READER}) { role } }", json!({"g": p.group, "u": w.target})).await
        }
        "removeGroupMember" => {
            w.set_group_member(&p.group, &w.target, "Reader").await;
            q("mutation($g: ID!, $u: ID!) { removeGroupMember(input: {group: $g, user: $u}) }", json!({"g": p.group, "u": w.target})).await
        }
        "setGlobalRole" => {
            q("mutation($u: ID!) { setGlobalRole(input: {user: $u, role: null}) }", json!({"u": w.target})).await
        }
        "importScan" => {
            classify(&upload(&g, "mutation($f: Upload!, $e: ID!) { importScan(input: {file: $f, scanType: \"Generic Findings Import\", engagement: $e}) { test { id } } }", json!({"e": p.engagement}), generic_report("matrix")).await)
        }
        "reimportScan" => {
            classify(&upload(&g, "mutation($f: Upload!, $t: ID!) { reimportScan(input: {file: $f, scanType: \"Generic Findings Import\", test: $t}) { test { id } } }", json!({"t": p.imported_test}), generic_report("imported")).await)
        }
        "createWebhook" => {
            q("mutation($p: ID!) { createWebhook(input: {name: \"mine\", url: \"http://127.0.0.1:9/mine\", product: $p}) { webhook { id } } }", json!({"p": p.product})).await
        }
        "updateWebhook" => {
            q("mutation($id: ID!) { updateWebhook(input: {id: $id, kinds: []}) { webhook { id } } }", json!({"id": p.webhook})).await
        }
        "deleteWebhook" => {
            let fresh = w.webhook(&p.product).await;
            q("mutation($id: ID!) { deleteWebhook(input: {id: $id}) { deletedId } }", json!({"id": fresh})).await
        }
        other => Outcome::Other(format!("no runner for `{other}`")),
    }
}

async fn remove_group_role(w: &World, p: &Place) {
    // Whatever the caller did, the group holds no role on the product after.
    let _ = w
        .admin
        .query(
            "mutation($o: ID!, $g: ID!) { removeGroupRole(input: {object: $o, group: $g}) }",
            json!({"o": p.product, "g": p.group}),
        )
        .await;
}

/// The caller's user id (anonymous and superuser callers need none).
async fn caller_id(w: &World, c: &Caller) -> Option<Value> {
    let token = c.token.as_ref()?;
    let d = w.server.gql_as(token).ok("{ me { id } }", json!({})).await;
    Some(d["me"]["id"].clone())
}

/// Opens a subscription; `Err` carries the refusal as an outcome.
async fn subscribe(
    base: &str,
    token: Option<&str>,
    op: &str,
    product: &Value,
) -> Result<Ws, Outcome> {
    let mut ws = ws::open(base).await;
    let payload = match token {
        Some(t) => json!({"Authorization": format!("Bearer {t}")}),
        None => json!({}),
    };
    ws.send(Message::Text(
        json!({"type": "connection_init", "payload": payload})
            .to_string()
            .into(),
    ))
    .await
    .expect("init");
    let query =
        format!("subscription($p: [ID!]) {{ {op}(filter: {{products: $p}}) {{ __typename }} }}");
    ws.send(Message::Text(
        json!({"id": "1", "type": "subscribe", "payload": {"query": query, "variables": {"p": [product]}}})
            .to_string()
            .into(),
    ))
    .await
    .map_err(|_| Outcome::Unauthenticated)?;
    // The acknowledgement, or the refusal.
    match tokio::time::timeout(Duration::from_secs(5), ws.next()).await {
        Ok(Some(Ok(Message::Text(t)))) => {
            let v: Value = serde_json::from_str(&t).unwrap_or(Value::Null);
            if v["type"] == "connection_ack" {
                Ok(ws)
            } else if v["type"] == "error" || v["type"] == "connection_error" {
                Err(Outcome::Unauthenticated)
            } else {
                Err(Outcome::Other(format!("unexpected {v}")))
            }
        }
        // A connection without credentials is closed (4401/4403).
        Ok(Some(Ok(Message::Close(_)))) | Ok(None) | Ok(Some(Err(_))) => {
            Err(Outcome::Unauthenticated)
        }
        other => Err(Outcome::Other(format!("no acknowledgement: {other:?}"))),
    }
}

/// Waits for the first `next` of subscription 1.
async fn first_event(ws: &mut Ws, wait: Duration) -> Outcome {
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        match tokio::time::timeout_at(deadline, ws.next()).await {
            Err(_) => return Outcome::Silent,
            Ok(Some(Ok(Message::Text(t)))) => {
                let v: Value = serde_json::from_str(&t).unwrap_or(Value::Null);
                let code = v["payload"]["errors"][0]["extensions"]["code"].as_str();
                match v["type"].as_str() {
                    Some("next") if v["payload"].get("errors").is_none() => {
                        return Outcome::Delivered;
                    }
                    Some("next") if code == Some("UNAUTHENTICATED") => {
                        return Outcome::Unauthenticated;
                    }
                    Some("next") | Some("error") => {
                        return Outcome::Other(format!("{v}"));
                    }
                    _ => {}
                }
            }
            Ok(Some(Ok(_))) => {}
            Ok(_) => return Outcome::Other("connection closed".to_owned()),
        }
    }
}

#[tokio::test]
async fn every_operation_of_the_schema_answers_every_caller_as_the_spec_says() {
    let spec = Spec::load();
    let schema_ops = schema_operations();
    let names: BTreeSet<&str> = schema_ops.iter().map(|(_, n)| n.as_str()).collect();
    assert!(
        names.len() >= 69 && names.contains("login") && names.contains("findingChanges"),
        "the schema reader found {names:?}"
    );
    let ruled: BTreeSet<&str> = OPS.iter().map(|(n, _)| *n).collect();
    let unruled: Vec<&&str> = names.difference(&ruled).collect();
    assert!(
        unruled.is_empty(),
        "operations of schema.graphql without rows in the matrix: {unruled:?}"
    );
    let stale: Vec<&&str> = ruled.difference(&names).collect();
    assert!(
        stale.is_empty(),
        "rows for operations the schema no longer has: {stale:?}"
    );

    let db = TestDb::new().await;
    let server =
        TestServer::start_with(&db.url, &[("PALISADE_OUTBOUND_ALLOW", "127.0.0.1/32")]).await;
    let admin = server.gql();
    let mut w = World {
        server,
        admin,
        target: Value::Null,
        job: Value::Null,
    };
    w.target = w.user(&db, "target").await.1;
    // A job of the admin's: only its creator and superusers may see it.
    let pt_a = w.product_type("A").await;
    let pt_b = w.product_type("B").await;
    let foreign = w.place(&pt_b).await;
    let r = upload(
        &w.admin,
        "mutation($f: Upload!, $e: ID!) { importScan(input: {file: $f, scanType: \"Generic Findings Import\", engagement: $e, async: true}) { job { id } } }",
        json!({"e": foreign.engagement}),
        generic_report("queued"),
    )
    .await;
    w.job = r.data()["importScan"]["job"]["id"].clone();
    assert!(w.job.is_string(), "{}", r.body);

    let mut callers = Vec::new();
    for role in ROLES {
        let own = w.place(&pt_a).await;
        let (token, uid) = w.user(&db, &format!("prod_{role}")).await;
        w.set_member(&own.product, &uid, role).await;
        w.set_group_member(&own.group, &uid, role).await;
        callers.push(Caller {
            label: format!("{role} on the product"),
            token: Some(token.clone()),
            superuser: false,
            product_role: Some(role),
            type_role: None,
            group_role: Some(role),
            place: own,
        });
        callers.push(Caller {
            label: format!("{role} of another product"),
            token: Some(token),
            superuser: false,
            product_role: None,
            type_role: None,
            group_role: None,
            place: foreign.clone(),
        });
        let pt = w.product_type(&format!("type {role}")).await;
        let inherited = w.place(&pt).await;
        let (token, uid) = w.user(&db, &format!("pt_{role}")).await;
        w.set_member(&pt, &uid, role).await;
        w.set_group_member(&inherited.group, &uid, role).await;
        callers.push(Caller {
            label: format!("{role} on the product type"),
            token: Some(token),
            superuser: false,
            product_role: Some(role),
            type_role: Some(role),
            group_role: Some(role),
            place: inherited,
        });
    }
    callers.push(Caller {
        label: "no role".to_owned(),
        token: Some(w.user(&db, "nobody").await.0),
        superuser: false,
        product_role: None,
        type_role: None,
        group_role: None,
        place: foreign.clone(),
    });
    callers.push(Caller {
        label: "anonymous".to_owned(),
        token: None,
        superuser: false,
        product_role: None,
        type_role: None,
        group_role: None,
        place: foreign.clone(),
    });
    callers.push(Caller {
        label: "superuser".to_owned(),
        token: Some(create_user(&db, "root", true).await),
        superuser: true,
        product_role: None,
        type_role: None,
        group_role: None,
        place: w.place(&pt_a).await,
    });

    let mut failures = Vec::new();
    let mut checked: HashMap<&str, usize> = HashMap::new();
    let subscriptions: Vec<&(&str, Rule)> = OPS
        .iter()
        .filter(|(_, r)| matches!(r, Rule::Events(_)))
        .collect();
    for c in &callers {
        for (op, rule) in OPS {
            if matches!(rule, Rule::Events(_)) {
                continue;
            }
            let want = expected(*rule, c, &spec);
            let got = run(op, &w, c).await;
            *checked.entry(op).or_default() += 1;
            if got != want {
                failures.push(format!(
                    "{} / {op}: expected {want:?}, got {got:?}",
                    c.label
                ));
            }
        }
    }

    // Subscriptions: every caller subscribes to its place's product, then
    // one change per place is made; each caller waits for it.
    for (op, rule) in &subscriptions {
        let mut open = Vec::new();
        for c in &callers {
            let s = subscribe(&w.server.base, c.token.as_deref(), op, &c.place.product).await;
            open.push((c, s));
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
        let places: BTreeSet<String> = callers
            .iter()
            .map(|c| c.place.finding.to_string())
            .collect();
        for f in &places {
            let id: Value = serde_json::from_str(f).expect("id");
            w.admin
                .ok(
                    "mutation($id: ID!, $t: String!) { updateFinding(input: {id: $id, title: $t}) { finding { id } } }",
                    json!({"id": id, "t": format!("changed for {op}")}),
                )
                .await;
        }
        let waits = open.into_iter().map(|(c, s)| async move {
            let got = match s {
                Ok(mut ws) => first_event(&mut ws, Duration::from_secs(3)).await,
                Err(o) => o,
            };
            (c, got)
        });
        for (c, got) in futures::future::join_all(waits).await {
            let want = expected(*rule, c, &spec);
            *checked.entry(op).or_default() += 1;
            if got != want {
                failures.push(format!(
                    "{} / {op}: expected {want:?}, got {got:?}",
                    c.label
                ));
            }
        }
    }

    for name in &names {
        assert_eq!(
            checked.get(name).copied().unwrap_or(0),
            callers.len(),
            "`{name}` did not run for every caller"
        );
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases answered against the spec:\n{}",
        failures.len(),
        checked.values().sum::<usize>(),
        failures.join("\n")
    );
}
