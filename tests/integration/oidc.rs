//! Single sign-on against a small OpenID Connect provider started by the
//! test: a real HTTP server on loopback serving discovery, JWKS, an
//! authorization endpoint and a token endpoint that checks PKCE, with keys
//! made here (RSA from a throwaway test key, ECDSA generated per run).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::{Form, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Json, Redirect, Response};
use axum::routing::{get, post};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use ring::rand::SystemRandom;
use ring::signature::{self, EcdsaKeyPair, KeyPair, RsaKeyPair};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::support::{TestDb, TestServer};

const CLIENT_ID: &str = "palisade";
const CLIENT_SECRET: &str = "provider-secret";

/// What the provider signs with.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Alg {
    Rs256,
    Es256,
}

pub(crate) struct ProviderState {
    pub(crate) issuer: String,
    rsa: RsaKeyPair,
    ec: EcdsaKeyPair,
    alg: Mutex<Alg>,
    /// Claims the next ID token carries (besides the protocol ones).
    pub(crate) claims: Mutex<Value>,
    /// Extra claim overrides, to forge bad tokens.
    overrides: Mutex<Value>,
    /// code → (challenge, nonce)
    codes: Mutex<HashMap<String, (String, String)>>,
    /// Whether to swap the payload after signing (a forgery).
    tamper: Mutex<bool>,
    /// Token requests seen (form bodies), for assertions.
    token_requests: Mutex<Vec<HashMap<String, String>>>,
    /// Where discovery says the keys are, when not at the issuer.
    pub(crate) jwks_origin: Mutex<Option<String>>,
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

impl ProviderState {
    fn sign(&self, claims: &Value) -> String {
        let alg = *self.alg.lock().expect("lock");
        let (name, kid) = match alg {
            Alg::Rs256 => ("RS256", "rsa-1"),
            Alg::Es256 => ("ES256", "ec-1"),
        };
        let header = json!({"alg": name, "kid": kid, "typ": "JWT"});
        let input = format!(
            "{}.{}",
            b64(header.to_string().as_bytes()),
            b64(claims.to_string().as_bytes())
        );
        let rng = SystemRandom::new();
        let sig = match alg {
            Alg::Rs256 => {
                let mut out = vec![0; self.rsa.public().modulus_len()];
                self.rsa
                    .sign(
                        &signature::RSA_PKCS1_SHA256,
                        &rng,
                        input.as_bytes(),
                        &mut out,
                    )
                    .expect("rsa sign");
                out
            }
            Alg::Es256 => self
                .ec
                .sign(&rng, input.as_bytes())
                .expect("ec sign")
                .as_ref()
                .to_vec(),
        };
        format!("{input}.{}", b64(&sig))
    }

    fn jwks(&self) -> Value {
        let rsa: ring::rsa::PublicKeyComponents<Vec<u8>> = self.rsa.public().into();
        let (n, e) = (&rsa.n, &rsa.e);
        let point = self.ec.public_key().as_ref();
        json!({"keys": [
            {"kty": "RSA", "kid": "rsa-1", "alg": "RS256", "use": "sig", "n": b64(n), "e": b64(e)},
            {"kty": "EC", "kid": "ec-1", "crv": "P-256", "use": "sig", "x": b64(&point[1..33]), "y": b64(&point[33..65])},
        ]})
    }
}

pub(crate) type Shared = Arc<ProviderState>;

async fn discovery(State(p): State<Shared>) -> Json<Value> {
    Json(json!({
        "issuer": p.issuer,
        "authorization_endpoint": format!("{}/authorize", p.issuer),
        "token_endpoint": format!("{}/token", p.issuer),
        "jwks_uri": format!(
            "{}/jwks",
            p.jwks_origin.lock().expect("lock").as_deref().unwrap_or(&p.issuer)
        ),
        "response_types_supported": ["code"],
        "code_challenge_methods_supported": ["S256"],
    }))
}

async fn jwks(State(p): State<Shared>) -> Json<Value> {
    Json(p.jwks())
}

/// Stands in for the provider's login page: the user "signs in" at once.
async fn authorize(State(p): State<Shared>, Query(q): Query<HashMap<String, String>>) -> Response {
    assert_eq!(q.get("response_type").map(String::as_str), Some("code"));
    assert_eq!(q.get("client_id").map(String::as_str), Some(CLIENT_ID));
    assert_eq!(
        q.get("code_challenge_method").map(String::as_str),
        Some("S256")
    );
    let code = format!("code-{}", uuid::Uuid::new_v4());
    p.codes.lock().expect("lock").insert(
        code.clone(),
        (q["code_challenge"].clone(), q["nonce"].clone()),
    );
    Redirect::to(&format!(
        "{}?code={code}&state={}",
        q["redirect_uri"], q["state"]
    ))
    .into_response()
}

async fn token(
    State(p): State<Shared>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    p.token_requests.lock().expect("lock").push(form.clone());
    let expected_auth = format!(
        "Basic {}",
        STANDARD.encode(format!("{CLIENT_ID}:{CLIENT_SECRET}"))
    );
    if headers.get("authorization").and_then(|v| v.to_str().ok()) != Some(expected_auth.as_str()) {
        return (
            StatusCode::UNAUTHORIZED,
            Json(json!({"error": "invalid_client"})),
        )
            .into_response();
    }
    let Some((challenge, nonce)) = p
        .codes
        .lock()
        .expect("lock")
        .remove(form.get("code").map(String::as_str).unwrap_or(""))
    else {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({"error": "invalid_grant"})),
        )
            .into_response();
    };
    let verifier = form.get("code_verifier").cloned().unwrap_or_default();
    if b64(&Sha256::digest(verifier.as_bytes())) != challenge {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({"error": "invalid_grant", "error_description": "PKCE"})),
        )
            .into_response();
    }
    let now = chrono::Utc::now().timestamp();
    let mut claims = json!({
        "iss": p.issuer,
        "aud": CLIENT_ID,
        "iat": now,
        "exp": now + 300,
        "nonce": nonce,
    });
    for (k, v) in p.claims.lock().expect("lock").as_object().expect("claims") {
        claims[k] = v.clone();
    }
    for (k, v) in p
        .overrides
        .lock()
        .expect("lock")
        .as_object()
        .expect("overrides")
    {
        claims[k] = v.clone();
    }
    let mut id_token = p.sign(&claims);
    if *p.tamper.lock().expect("lock") {
        claims["sub"] = json!("someone-else");
        let parts: Vec<&str> = id_token.split('.').collect();
        id_token = format!(
            "{}.{}.{}",
            parts[0],
            b64(claims.to_string().as_bytes()),
            parts[2]
        );
    }
    Json(json!({"access_token": "at", "token_type": "Bearer", "id_token": id_token}))
        .into_response()
}

pub(crate) struct Provider {
    pub(crate) state: Shared,
}

pub(crate) async fn start_provider() -> Provider {
    start_provider_named("127.0.0.1").await
}

/// A provider on 127.0.0.1 whose issuer URL names it as `host`.
pub(crate) async fn start_provider_named(host: &str) -> Provider {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let issuer = format!("http://{host}:{port}");
    let der = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/keys/test-rsa-key.der"
    ))
    .expect("test key");
    let rng = SystemRandom::new();
    let ec_doc = EcdsaKeyPair::generate_pkcs8(&signature::ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
        .expect("ec key");
    let state = Arc::new(ProviderState {
        issuer,
        rsa: RsaKeyPair::from_der(&der).expect("rsa key"),
        ec: EcdsaKeyPair::from_pkcs8(
            &signature::ECDSA_P256_SHA256_FIXED_SIGNING,
            ec_doc.as_ref(),
            &rng,
        )
        .expect("ec key"),
        alg: Mutex::new(Alg::Rs256),
        claims: Mutex::new(json!({})),
        overrides: Mutex::new(json!({})),
        codes: Mutex::default(),
        tamper: Mutex::new(false),
        token_requests: Mutex::default(),
        jwks_origin: Mutex::default(),
    });
    let app = axum::Router::new()
        .route("/.well-known/openid-configuration", get(discovery))
        .route("/jwks", get(jwks))
        .route("/authorize", get(authorize))
        .route("/token", post(token))
        .with_state(state.clone());
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Provider { state }
}

pub(crate) async fn palisade_with(
    db: &TestDb,
    provider: &Provider,
    mapping: Option<&str>,
) -> TestServer {
    palisade_with_env(db, provider, mapping, &[]).await
}

/// [`palisade_with`], plus more settings.
pub(crate) async fn palisade_with_env(
    db: &TestDb,
    provider: &Provider,
    mapping: Option<&str>,
    extra: &[(&str, &str)],
) -> TestServer {
    // The callback URL must name the server's own port, known only once it
    // runs: point it at a fixed path and let the test follow redirects by hand.
    let mut env = vec![
        ("PALISADE_OIDC_ISSUER", provider.state.issuer.clone()),
        ("PALISADE_OIDC_CLIENT_ID", CLIENT_ID.to_owned()),
        ("PALISADE_OIDC_CLIENT_SECRET", CLIENT_SECRET.to_owned()),
        (
            "PALISADE_OIDC_REDIRECT_URL",
            "http://palisade.test/auth/oidc/callback".to_owned(),
        ),
    ];
    if let Some(m) = mapping {
        env.push(("PALISADE_OIDC_GROUP_MAPPING", m.to_owned()));
    }
    let mut env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    env.extend_from_slice(extra);
    TestServer::start_with(&db.url, &env).await
}

/// Runs the browser's part: Palisade → provider → Palisade's callback.
/// A refusal at the first step (Palisade could not reach the provider) is
/// returned as it is.
pub(crate) async fn sign_in(s: &TestServer) -> (u16, Value) {
    let no_redirects = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let r = no_redirects
        .get(format!("{}/auth/oidc/login", s.base))
        .send()
        .await
        .expect("login");
    if r.status() != 302 {
        let status = r.status().as_u16();
        return (status, r.json().await.expect("json"));
    }
    let to_provider = r.headers()["location"]
        .to_str()
        .expect("location")
        .to_owned();
    // The browser keeps the cookie that binds the sign-in to it.
    let cookie = r.headers()["set-cookie"]
        .to_str()
        .expect("cookie")
        .split(';')
        .next()
        .unwrap_or("")
        .to_owned();
    let r = no_redirects
        .get(&to_provider)
        .send()
        .await
        .expect("authorize");
    assert_eq!(r.status(), 303);
    let back = url::Url::parse(r.headers()["location"].to_str().expect("location")).expect("url");
    assert_eq!(back.path(), "/auth/oidc/callback");
    let r = no_redirects
        .get(format!(
            "{}/auth/oidc/callback?{}",
            s.base,
            back.query().unwrap_or("")
        ))
        .header("cookie", cookie)
        .send()
        .await
        .expect("callback");
    let status = r.status().as_u16();
    (status, r.json().await.expect("json"))
}

#[tokio::test]
async fn first_sign_in_creates_the_user_and_maps_groups() {
    let provider = start_provider().await;
    let db = TestDb::new().await;
    let s = palisade_with(&db, &provider, None).await;
    *provider.state.claims.lock().expect("lock") = json!({
        "sub": "u-123", "preferred_username": "ada", "email": "ada@example.com",
        "given_name": "Ada", "family_name": "Lovelace", "groups": ["appsec", "dev"],
    });
    let (status, body) = sign_in(&s).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["username"], "ada");
    assert_eq!(body["created"], true);
    assert_eq!(body["groups"], json!(["appsec", "dev"]));
    // PKCE: the verifier was sent and matched the challenge.
    let reqs = provider.state.token_requests.lock().expect("lock").clone();
    assert_eq!(reqs.len(), 1);
    assert_eq!(reqs[0]["grant_type"], "authorization_code");
    assert!(reqs[0]["code_verifier"].len() >= 43);

    let token = body["token"].as_str().expect("token");
    let me = s
        .gql_as(token)
        .ok(
            "{ me { username email firstName lastName isSuperuser } groups { name } }",
            json!({}),
        )
        .await;
    assert_eq!(
        me["me"],
        json!({"username": "ada", "email": "ada@example.com", "firstName": "Ada", "lastName": "Lovelace", "isSuperuser": false})
    );
    assert_eq!(me["groups"], json!([{"name": "appsec"}, {"name": "dev"}]));

    // A group role on a product type now reaches the new user.
    let admin = s.gql();
    let pt = admin
        .ok(
            "mutation { createProductType(input: {name: \"web\"}) { productType { id } } }",
            json!({}),
        )
        .await["createProductType"]["productType"]["id"]
        .clone();
    let group = admin.ok("{ groups { id name } }", json!({})).await["groups"]
        .as_array()
        .expect("groups")
        .iter()
        .find(|g| g["name"] == "appsec")
        .expect("appsec")["id"]
        .clone();
    admin.ok("mutation($o: ID!, $g: ID!) { setGroupRole(input: {object: $o, group: $g, role: READER}) { role } }", json!({"o": pt, "g": group})).await;
    let d = s
        .gql_as(token)
        .ok("{ productTypes { edges { node { name } } } }", json!({}))
        .await;
    assert_eq!(d["productTypes"]["edges"][0]["node"]["name"], "web");

    // Next sign-in: same user, groups follow the claim.
    *provider.state.claims.lock().expect("lock") =
        json!({"sub": "u-123", "preferred_username": "ada", "groups": ["dev"]});
    let (status, body) = sign_in(&s).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["created"], false);
    assert_eq!(body["groups"], json!(["dev"]));
    let d = s
        .gql_as(body["token"].as_str().expect("token"))
        .ok("{ groups { name } productTypes { totalCount } }", json!({}))
        .await;
    assert_eq!(d["groups"], json!([{"name": "dev"}]));
    assert_eq!(
        d["productTypes"]["totalCount"], 0,
        "leaving appsec ended the role"
    );
    assert_eq!(db.count("users").await, 2, "admin and ada");
}

#[tokio::test]
async fn es256_keys_mapping_and_no_takeover_of_local_accounts() {
    let provider = start_provider().await;
    let db = TestDb::new().await;
    let s = palisade_with(&db, &provider, Some("sec-team=Security")).await;
    *provider.state.alg.lock().expect("lock") = Alg::Es256;
    // "admin" exists locally: a provider user of that name gets another one.
    *provider.state.claims.lock().expect("lock") =
        json!({"sub": "x-9", "preferred_username": "admin", "groups": ["sec-team", "unmapped"]});
    let (status, body) = sign_in(&s).await;
    assert_eq!(status, 200, "{body}");
    let name = body["username"].as_str().expect("name");
    assert!(name.starts_with("admin-") && name != "admin", "{name}");
    assert_eq!(body["groups"], json!(["Security"]));
    let me = s
        .gql_as(body["token"].as_str().expect("token"))
        .ok("{ me { isSuperuser } }", json!({}))
        .await;
    assert_eq!(me["me"]["isSuperuser"], false);
}

#[tokio::test]
async fn forged_expired_or_replayed_tokens_are_refused() {
    let provider = start_provider().await;
    let db = TestDb::new().await;
    let s = palisade_with(&db, &provider, None).await;
    *provider.state.claims.lock().expect("lock") =
        json!({"sub": "eve", "preferred_username": "eve"});
    for (what, overrides) in [
        ("wrong audience", json!({"aud": "someone-else"})),
        ("wrong issuer", json!({"iss": "http://evil.example"})),
        (
            "expired",
            json!({"exp": chrono::Utc::now().timestamp() - 3600}),
        ),
        ("wrong nonce", json!({"nonce": "replayed"})),
    ] {
        *provider.state.overrides.lock().expect("lock") = overrides;
        let (status, body) = sign_in(&s).await;
        assert_eq!(status, 401, "{what}: {body}");
        assert!(
            body["error"]
                .as_str()
                .unwrap_or("")
                .contains("invalid ID token"),
            "{what}: {body}"
        );
    }
    *provider.state.overrides.lock().expect("lock") = json!({});
    // A token whose payload was changed after signing.
    *provider.state.tamper.lock().expect("lock") = true;
    let (status, body) = sign_in(&s).await;
    assert_eq!(status, 401, "{body}");
    assert!(
        body["error"].as_str().unwrap_or("").contains("signature"),
        "{body}"
    );
    *provider.state.tamper.lock().expect("lock") = false;
    let (status, body) = sign_in(&s).await;
    assert_eq!(status, 200, "the untampered token verifies: {body}");
    assert_eq!(
        db.count("users").await,
        2,
        "only the valid sign-in created a user"
    );

    // A callback with a state nobody issued.
    let r = reqwest::get(format!(
        "{}/auth/oidc/callback?code=x&state=made-up",
        s.base
    ))
    .await
    .expect("get");
    assert_eq!(r.status(), 401);
    // The provider reporting an error.
    let r = reqwest::get(format!(
        "{}/auth/oidc/callback?error=access_denied&state=x",
        s.base
    ))
    .await
    .expect("get");
    assert_eq!(r.status(), 401);
    let body: Value = r.json().await.expect("json");
    assert!(
        body["error"]
            .as_str()
            .unwrap_or("")
            .contains("access_denied")
    );
}

#[tokio::test]
async fn sign_on_is_off_unless_configured() {
    let db = TestDb::new().await;
    let s = TestServer::start(&db.url).await;
    let r = reqwest::get(format!("{}/auth/oidc/login", s.base))
        .await
        .expect("get");
    assert_eq!(r.status(), 404);
}
