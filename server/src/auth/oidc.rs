//! Single sign-on with OpenID Connect: the authorization code flow with PKCE.
//!
//! `GET /auth/oidc/login` redirects the browser to the provider with a fresh
//! state, nonce and PKCE challenge (kept in `oidc_logins`, so any server
//! process can finish the flow). `GET /auth/oidc/callback` exchanges the
//! code, verifies the ID token's signature against the provider's JWKS
//! (RS256 or ES256, with `ring`), its issuer, audience, expiry and nonce,
//! creates the user on first sign-in, syncs their groups from a claim, and
//! answers a Palisade session token.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE, URL_SAFE_NO_PAD};
use diesel::sql_types::{Text, Timestamptz};
use diesel_async::RunQueryDsl;
use rand::Rng;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use tokio::sync::RwLock;

use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, HeaderMap, HeaderValue};

use crate::db::Db;
use crate::db::models::membership::{Group, GroupMember};
use crate::db::models::user::User;
use crate::outbound::{FailureClass, Outbound};

/// How long a started sign-in may take before its state is refused.
const LOGIN_TTL_SECS: i64 = 600;
/// How long discovery and keys are reused before being fetched again (a
/// key id the cache lacks triggers a refetch sooner: key rotation).
const METADATA_TTL: Duration = Duration::from_secs(3600);
/// Clock skew tolerated on `exp`/`iat`.
const LEEWAY_SECS: i64 = 60;

/// OpenID Connect settings; sign-on is off unless issuer and client id are set.
#[derive(clap::Args, Clone, Default)]
pub struct OidcConfig {
    /// The provider's issuer URL (its discovery document lives below it).
    #[arg(
        long = "oidc-issuer",
        env = "PALISADE_OIDC_ISSUER",
        value_name = "PALISADE_OIDC_ISSUER"
    )]
    pub issuer: Option<String>,
    /// The client id registered with the provider.
    #[arg(
        long = "oidc-client-id",
        env = "PALISADE_OIDC_CLIENT_ID",
        value_name = "PALISADE_OIDC_CLIENT_ID"
    )]
    pub client_id: Option<String>,
    /// The client secret (confidential clients).
    #[arg(
        long = "oidc-client-secret",
        env = "PALISADE_OIDC_CLIENT_SECRET",
        value_name = "PALISADE_OIDC_CLIENT_SECRET",
        hide_env_values = true
    )]
    pub client_secret: Option<String>,
    /// This server's callback URL as registered with the provider, e.g.
    /// `https://palisade.example.com/auth/oidc/callback`.
    #[arg(
        long = "oidc-redirect-url",
        env = "PALISADE_OIDC_REDIRECT_URL",
        value_name = "PALISADE_OIDC_REDIRECT_URL"
    )]
    pub redirect_url: Option<String>,
    /// Scopes asked for.
    #[arg(
        long = "oidc-scopes",
        env = "PALISADE_OIDC_SCOPES",
        value_name = "PALISADE_OIDC_SCOPES",
        default_value = "openid profile email"
    )]
    pub scopes: String,
    /// The ID-token claim holding the user's groups.
    #[arg(
        long = "oidc-groups-claim",
        env = "PALISADE_OIDC_GROUPS_CLAIM",
        value_name = "PALISADE_OIDC_GROUPS_CLAIM",
        default_value = "groups"
    )]
    pub groups_claim: String,
    /// Which claim values become which Palisade groups, as
    /// `claim-value=group-name` pairs separated by commas. Unset: every
    /// claim value becomes a group of the same name.
    #[arg(
        long = "oidc-group-mapping",
        env = "PALISADE_OIDC_GROUP_MAPPING",
        value_name = "PALISADE_OIDC_GROUP_MAPPING"
    )]
    pub group_mapping: Option<String>,
}

impl std::fmt::Debug for OidcConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OidcConfig")
            .field("issuer", &self.issuer)
            .field("client_id", &self.client_id)
            .field(
                "client_secret",
                &self.client_secret.as_ref().map(|_| "<redacted>"),
            )
            .field("redirect_url", &self.redirect_url)
            .field("scopes", &self.scopes)
            .field("groups_claim", &self.groups_claim)
            .field("group_mapping", &self.group_mapping)
            .finish()
    }
}

impl OidcConfig {
    /// Whether single sign-on is configured.
    pub fn enabled(&self) -> bool {
        self.issuer.is_some() && self.client_id.is_some()
    }

    /// The claim value → group name pairs; `None` maps every value to itself.
    pub fn mapping(&self) -> Result<Option<BTreeMap<String, String>>, OidcError> {
        let Some(text) = &self.group_mapping else {
            return Ok(None);
        };
        let mut map = BTreeMap::new();
        for pair in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (claim, group) = pair.split_once('=').ok_or_else(|| {
                OidcError::Config(format!(
                    "PALISADE_OIDC_GROUP_MAPPING: `{pair}` is not `claim-value=group-name`"
                ))
            })?;
            map.insert(claim.trim().to_owned(), group.trim().to_owned());
        }
        Ok(Some(map))
    }
}

/// Why single sign-on failed.
#[derive(Debug, thiserror::Error)]
pub enum OidcError {
    /// Sign-on is not configured.
    #[error("single sign-on is not configured (PALISADE_OIDC_ISSUER, PALISADE_OIDC_CLIENT_ID)")]
    Disabled,
    /// The configuration is invalid.
    #[error("{0}")]
    Config(String),
    /// The provider could not be reached or answered nonsense.
    #[error("identity provider: {0}")]
    Provider(String),
    /// The callback is not one this server started, or it is too old.
    #[error("unknown or expired sign-in state; start again")]
    State,
    /// The provider reported an error on the callback.
    #[error("the identity provider refused the sign-in: {0}")]
    Refused(String),
    /// The ID token failed verification.
    #[error("invalid ID token: {0}")]
    Token(String),
    /// The database failed.
    #[error(transparent)]
    Db(#[from] crate::db::DbError),
}

impl From<diesel::result::Error> for OidcError {
    fn from(e: diesel::result::Error) -> Self {
        OidcError::Db(crate::db::DbError::Query(e))
    }
}

impl From<FailureClass> for OidcError {
    fn from(class: FailureClass) -> Self {
        OidcError::Provider(class.to_string())
    }
}

#[derive(Debug, Clone, Deserialize)]
struct Discovery {
    issuer: String,
    authorization_endpoint: String,
    token_endpoint: String,
    jwks_uri: String,
}

#[derive(Debug, Clone, Deserialize)]
struct Jwk {
    kty: String,
    kid: Option<String>,
    alg: Option<String>,
    n: Option<String>,
    e: Option<String>,
    crv: Option<String>,
    x: Option<String>,
    y: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
struct Jwks {
    keys: Vec<Jwk>,
}

struct Metadata {
    discovery: Discovery,
    keys: Vec<Jwk>,
    fetched: Instant,
}

/// The sign-on client: configuration, HTTP client and cached provider metadata.
#[derive(Clone)]
pub struct Oidc {
    config: Arc<OidcConfig>,
    http: Outbound,
    metadata: Arc<RwLock<Option<Metadata>>>,
}

/// What the callback yields.
#[derive(Debug, Clone)]
pub struct SignedIn {
    /// The Palisade user.
    pub user: User,
    /// Whether the user was created by this sign-in.
    pub created: bool,
    /// The groups the user is now in through the claim.
    pub groups: Vec<String>,
}

fn random_token(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::rng().fill(buf.as_mut_slice());
    URL_SAFE_NO_PAD.encode(buf)
}

fn b64(s: &str) -> Result<Vec<u8>, OidcError> {
    // Providers differ on padding; accept both.
    URL_SAFE_NO_PAD
        .decode(s.trim_end_matches('='))
        .or_else(|_| URL_SAFE.decode(s))
        .map_err(|_| OidcError::Token("bad base64url".to_owned()))
}

#[derive(diesel::QueryableByName)]
struct LoginRow {
    #[diesel(sql_type = Text)]
    nonce: String,
    #[diesel(sql_type = Text)]
    code_verifier: String,
    #[diesel(sql_type = Timestamptz)]
    created_at: chrono::DateTime<chrono::Utc>,
}

impl Oidc {
    /// A client for `config`.
    ///
    /// Calls go through `outbound` (the server's guarded client), with the
    /// configured issuer's host let through: the operator chose it, and
    /// on-premises providers usually live on internal addresses. Endpoints
    /// the discovery document names on other hosts get the ordinary rules.
    pub fn new(config: OidcConfig, outbound: &Outbound) -> Result<Oidc, OidcError> {
        config.mapping()?;
        let http = match &config.issuer {
            Some(issuer) => outbound
                .trusting(issuer)
                .map_err(|e| OidcError::Config(format!("PALISADE_OIDC_ISSUER: {e}")))?,
            None => outbound.clone(),
        };
        Ok(Oidc {
            config: Arc::new(config),
            http,
            metadata: Arc::default(),
        })
    }

    /// The configuration.
    pub fn config(&self) -> &OidcConfig {
        &self.config
    }

    fn issuer(&self) -> Result<&str, OidcError> {
        match (&self.config.issuer, &self.config.client_id) {
            (Some(i), Some(_)) => Ok(i.trim_end_matches('/')),
            _ => Err(OidcError::Disabled),
        }
    }

    fn client_id(&self) -> Result<&str, OidcError> {
        self.config.client_id.as_deref().ok_or(OidcError::Disabled)
    }

    fn redirect_url(&self) -> Result<&str, OidcError> {
        self.config.redirect_url.as_deref().ok_or_else(|| {
            OidcError::Config("PALISADE_OIDC_REDIRECT_URL is required for sign-on".to_owned())
        })
    }

    async fn fetch_metadata(&self) -> Result<Metadata, OidcError> {
        let issuer = self.issuer()?;
        let url = format!("{issuer}/.well-known/openid-configuration");
        let discovery: Discovery = self.get_json(&url, "discovery").await?;
        if discovery.issuer.trim_end_matches('/') != issuer {
            return Err(OidcError::Provider(format!(
                "discovery names issuer `{}`, configured `{issuer}`",
                discovery.issuer
            )));
        }
        let jwks: Jwks = self.get_json(&discovery.jwks_uri, "JWKS").await?;
        Ok(Metadata {
            discovery,
            keys: jwks.keys,
            fetched: Instant::now(),
        })
    }

    /// GETs a JSON document from the provider.
    async fn get_json<T: serde::de::DeserializeOwned>(
        &self,
        url: &str,
        what: &str,
    ) -> Result<T, OidcError> {
        let mut headers = HeaderMap::new();
        headers.insert(ACCEPT, HeaderValue::from_static("application/json"));
        let resp = self
            .http
            .send(reqwest::Method::GET, url, headers, Vec::new())
            .await?;
        if !resp.status.is_success() {
            return Err(OidcError::Provider(format!(
                "{what} answered {}",
                resp.status
            )));
        }
        serde_json::from_slice(&resp.body)
            .map_err(|e| OidcError::Provider(format!("{what} is not the expected JSON: {e}")))
    }

    /// Discovery and keys, cached; `refresh` forces a fetch.
    async fn metadata(&self, refresh: bool) -> Result<(Discovery, Vec<Jwk>), OidcError> {
        if !refresh
            && let Some(m) = self.metadata.read().await.as_ref()
            && m.fetched.elapsed() < METADATA_TTL
        {
            return Ok((m.discovery.clone(), m.keys.clone()));
        }
        let m = self.fetch_metadata().await?;
        let out = (m.discovery.clone(), m.keys.clone());
        *self.metadata.write().await = Some(m);
        Ok(out)
    }

    /// Starts a sign-in: stores state, nonce and verifier, and returns the
    /// provider URL to send the browser to and the state (which the caller
    /// binds to the browser).
    pub async fn begin(&self, db: &Db) -> Result<(String, String), OidcError> {
        let (discovery, _) = self.metadata(false).await?;
        let state = random_token(24);
        let nonce = random_token(24);
        let verifier = random_token(48);
        let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
        let mut conn = db.conn().await?;
        diesel::sql_query(
            "DELETE FROM oidc_logins WHERE created_at < now() - make_interval(secs => $1)",
        )
        .bind::<diesel::sql_types::Double, _>(LOGIN_TTL_SECS as f64)
        .execute(&mut conn)
        .await?;
        diesel::sql_query(
            "INSERT INTO oidc_logins (state, nonce, code_verifier) VALUES ($1, $2, $3)",
        )
        .bind::<Text, _>(&state)
        .bind::<Text, _>(&nonce)
        .bind::<Text, _>(&verifier)
        .execute(&mut conn)
        .await?;
        let mut url = url::Url::parse(&discovery.authorization_endpoint)
            .map_err(|e| OidcError::Provider(format!("authorization endpoint: {e}")))?;
        url.query_pairs_mut()
            .append_pair("response_type", "code")
            .append_pair("client_id", self.client_id()?)
            .append_pair("redirect_uri", self.redirect_url()?)
            .append_pair("scope", &self.config.scopes)
            .append_pair("state", &state)
            .append_pair("nonce", &nonce)
            .append_pair("code_challenge", &challenge)
            .append_pair("code_challenge_method", "S256");
        Ok((url.into(), state))
    }

    /// Finishes a sign-in from the callback's `code` and `state`.
    pub async fn complete(&self, db: &Db, code: &str, state: &str) -> Result<SignedIn, OidcError> {
        let login: LoginRow = {
            let mut conn = db.conn().await?;
            // One use only: the row goes whether or not the rest succeeds.
            diesel::sql_query(
                "DELETE FROM oidc_logins WHERE state = $1 RETURNING nonce, code_verifier, created_at",
            )
            .bind::<Text, _>(state)
            .get_result(&mut conn)
            .await
            .map_err(|e| match e {
                diesel::result::Error::NotFound => OidcError::State,
                e => e.into(),
            })?
        };
        if (chrono::Utc::now() - login.created_at).num_seconds() > LOGIN_TTL_SECS {
            return Err(OidcError::State);
        }
        let (discovery, _) = self.metadata(false).await?;
        let form = [
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", self.redirect_url()?),
            ("code_verifier", login.code_verifier.as_str()),
            ("client_id", self.client_id()?),
        ];
        let body = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(form)
            .finish()
            .into_bytes();
        let mut headers = HeaderMap::new();
        headers.insert(
            CONTENT_TYPE,
            HeaderValue::from_static("application/x-www-form-urlencoded"),
        );
        headers.insert(ACCEPT, HeaderValue::from_static("application/json"));
        if let Some(secret) = &self.config.client_secret {
            let credentials = STANDARD.encode(format!("{}:{secret}", self.client_id()?));
            let mut value = HeaderValue::from_str(&format!("Basic {credentials}"))
                .map_err(|_| OidcError::Config("client credentials are not header-safe".into()))?;
            value.set_sensitive(true);
            headers.insert(AUTHORIZATION, value);
        }
        let resp = self
            .http
            .send(
                reqwest::Method::POST,
                &discovery.token_endpoint,
                headers,
                body,
            )
            .await?;
        if !resp.status.is_success() {
            let body: serde_json::Value = serde_json::from_slice(&resp.body).unwrap_or_default();
            return Err(OidcError::Refused(format!(
                "token endpoint answered {}: {}",
                resp.status,
                body["error"].as_str().unwrap_or("no error code")
            )));
        }
        let tokens: serde_json::Value = serde_json::from_slice(&resp.body)
            .map_err(|e| OidcError::Provider(format!("token response is not JSON: {e}")))?;
        let id_token = tokens["id_token"]
            .as_str()
            .ok_or_else(|| OidcError::Provider("token response has no id_token".to_owned()))?;
        let claims = self.verify(id_token, &login.nonce).await?;
        self.sign_in(db, &claims).await
    }

    /// Verifies an ID token and returns its claims.
    async fn verify(&self, token: &str, nonce: &str) -> Result<serde_json::Value, OidcError> {
        let mut parts = token.split('.');
        let (Some(h), Some(p), Some(s), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(OidcError::Token("not a compact JWS".to_owned()));
        };
        let header: serde_json::Value = serde_json::from_slice(&b64(h)?)
            .map_err(|_| OidcError::Token("header is not JSON".to_owned()))?;
        let alg = header["alg"].as_str().unwrap_or("");
        let kid = header["kid"].as_str();
        let signature = b64(s)?;
        let signed = &token.as_bytes()[..h.len() + 1 + p.len()];
        let (_, keys) = self.metadata(false).await?;
        let key = match find_key(&keys, kid, alg) {
            Some(k) => k,
            None => {
                // An unknown key id: the provider may have rotated its keys.
                let (_, keys) = self.metadata(true).await?;
                find_key(&keys, kid, alg)
                    .ok_or_else(|| OidcError::Token(format!("no key for kid {kid:?} and {alg}")))?
            }
        };
        verify_signature(&key, alg, signed, &signature)?;
        let claims: serde_json::Value = serde_json::from_slice(&b64(p)?)
            .map_err(|_| OidcError::Token("payload is not JSON".to_owned()))?;
        let issuer = self.issuer()?;
        if claims["iss"].as_str().map(|i| i.trim_end_matches('/')) != Some(issuer) {
            return Err(OidcError::Token("wrong issuer".to_owned()));
        }
        let client_id = self.client_id()?;
        let aud_ok = match &claims["aud"] {
            serde_json::Value::String(a) => a == client_id,
            serde_json::Value::Array(a) => a.iter().any(|x| x.as_str() == Some(client_id)),
            _ => false,
        };
        if !aud_ok {
            return Err(OidcError::Token("not issued for this client".to_owned()));
        }
        let now = chrono::Utc::now().timestamp();
        match claims["exp"].as_i64() {
            Some(exp) if exp + LEEWAY_SECS > now => {}
            _ => return Err(OidcError::Token("expired".to_owned())),
        }
        if claims["nonce"].as_str() != Some(nonce) {
            return Err(OidcError::Token(
                "nonce mismatch (replayed token?)".to_owned(),
            ));
        }
        if claims["sub"].as_str().is_none_or(str::is_empty) {
            return Err(OidcError::Token("no subject".to_owned()));
        }
        Ok(claims)
    }

    /// Creates or updates the user of `claims` and syncs their groups.
    async fn sign_in(&self, db: &Db, claims: &serde_json::Value) -> Result<SignedIn, OidcError> {
        let issuer = self.issuer()?;
        let sub = claims["sub"].as_str().unwrap_or_default();
        let subject = format!("{issuer}|{sub}");
        let str_claim = |k: &str| claims[k].as_str().unwrap_or("").trim().to_owned();
        let email = str_claim("email");
        let wanted = [
            str_claim("preferred_username"),
            email.clone(),
            sub.to_owned(),
        ]
        .into_iter()
        .find(|n| !n.is_empty() && crate::domain::user::validate_username(n).is_ok())
        .unwrap_or_else(|| format!("oidc-{}", &hex::encode(Sha256::digest(sub))[..12]));
        let mut conn = db.conn().await?;
        let (user, created) = match User::by_oidc_subject(&mut conn, &subject).await? {
            Some(u) => (u, false),
            None => {
                // Never take over a local account that happens to share the name.
                let username = if User::by_username(&mut conn, &wanted).await?.is_some() {
                    format!(
                        "{wanted}-{}",
                        &hex::encode(Sha256::digest(subject.as_bytes()))[..6]
                    )
                } else {
                    wanted
                };
                let u = User::create_oidc(
                    &mut conn,
                    &username,
                    &email,
                    &str_claim("given_name"),
                    &str_claim("family_name"),
                    &subject,
                )
                .await?;
                (u, true)
            }
        };
        if !user.is_active {
            return Err(OidcError::Refused("the account is deactivated".to_owned()));
        }
        let claimed: BTreeSet<String> = match &claims[self.config.groups_claim.as_str()] {
            serde_json::Value::Array(a) => a
                .iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect(),
            serde_json::Value::String(s) => std::iter::once(s.clone()).collect(),
            _ => BTreeSet::new(),
        };
        let mapping = self.config.mapping()?;
        let wanted_groups: BTreeSet<String> = claimed
            .iter()
            .filter_map(|c| match &mapping {
                None => Some(c.clone()),
                Some(m) => m.get(c).cloned(),
            })
            .collect();
        // Sync. A claim only ever reaches a group made for sign-on
        // (`social_provider = 'oidc'`) or one an operator mapped a claim to:
        // a group managed by hand holds roles granted by hand, and anyone who
        // can name a group at the provider must not inherit them.
        let mapped: BTreeSet<&str> = mapping
            .iter()
            .flat_map(|m| m.values().map(String::as_str))
            .collect();
        let synced = |g: &Group| {
            g.social_provider.as_deref() == Some("oidc") || mapped.contains(g.name.as_str())
        };
        let member_of = Group::ids_of_member(&mut conn, user.id).await?;
        let current = Group::list(&mut conn, Some(&member_of)).await?;
        for g in &current {
            if synced(g) && !wanted_groups.contains(&g.name) {
                GroupMember::remove(&mut conn, user.id, g.id).await?;
            }
        }
        let mut joined = Vec::with_capacity(wanted_groups.len());
        for name in &wanted_groups {
            let group = match Group::by_name(&mut conn, name).await? {
                Some(g) if synced(&g) => g,
                Some(_) => {
                    tracing::warn!(
                        group = %name,
                        "a sign-on group claim names a locally managed group; not joined \
                         (map the claim with PALISADE_OIDC_GROUP_MAPPING to allow it)"
                    );
                    continue;
                }
                None => {
                    Group::create(
                        &mut conn,
                        name,
                        "synchronised from single sign-on",
                        Some("oidc"),
                    )
                    .await?
                }
            };
            if !current.iter().any(|c| c.id == group.id) {
                GroupMember::set(
                    &mut conn,
                    user.id,
                    group.id,
                    crate::authz::Role::Reader.id(),
                )
                .await?;
            }
            joined.push(name.clone());
        }
        Ok(SignedIn {
            user,
            created,
            groups: joined,
        })
    }
}

fn find_key(keys: &[Jwk], kid: Option<&str>, alg: &str) -> Option<Jwk> {
    let kty = match alg {
        "RS256" => "RSA",
        "ES256" => "EC",
        _ => return None,
    };
    keys.iter()
        .filter(|k| k.kty == kty)
        .filter(|k| k.alg.as_deref().is_none_or(|a| a == alg))
        .find(|k| kid.is_none() || k.kid.as_deref() == kid)
        .cloned()
}

fn verify_signature(
    key: &Jwk,
    alg: &str,
    signed: &[u8],
    signature: &[u8],
) -> Result<(), OidcError> {
    use ring::signature;
    let bad = || OidcError::Token("signature does not verify".to_owned());
    let field = |v: &Option<String>, name: &str| {
        v.as_deref()
            .ok_or_else(|| OidcError::Token(format!("key lacks `{name}`")))
            .and_then(b64)
    };
    match alg {
        "RS256" => {
            let n = field(&key.n, "n")?;
            let e = field(&key.e, "e")?;
            signature::RsaPublicKeyComponents { n: &n, e: &e }
                .verify(&signature::RSA_PKCS1_2048_8192_SHA256, signed, signature)
                .map_err(|_| bad())
        }
        "ES256" => {
            if key.crv.as_deref() != Some("P-256") {
                return Err(OidcError::Token("ES256 needs a P-256 key".to_owned()));
            }
            let mut point = vec![4u8];
            point.extend(field(&key.x, "x")?);
            point.extend(field(&key.y, "y")?);
            signature::UnparsedPublicKey::new(&signature::ECDSA_P256_SHA256_FIXED, point)
                .verify(signed, signature)
                .map_err(|_| bad())
        }
        other => Err(OidcError::Token(format!("unsupported algorithm `{other}`"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn group_mapping_parses_pairs_and_names_bad_ones() {
        let c = OidcConfig {
            group_mapping: Some("sec-team=Security, devs = Developers".to_owned()),
            ..Default::default()
        };
        let m = c.mapping().expect("ok").expect("some");
        assert_eq!(m["sec-team"], "Security");
        assert_eq!(m["devs"], "Developers");
        let c = OidcConfig {
            group_mapping: Some("oops".to_owned()),
            ..Default::default()
        };
        let err = c.mapping().expect_err("bad").to_string();
        assert!(err.contains("PALISADE_OIDC_GROUP_MAPPING") && err.contains("oops"));
    }

    #[test]
    fn keys_are_chosen_by_algorithm_and_id() {
        let key = |kty: &str, kid: &str| Jwk {
            kty: kty.to_owned(),
            kid: Some(kid.to_owned()),
            alg: None,
            n: None,
            e: None,
            crv: None,
            x: None,
            y: None,
        };
        let keys = vec![key("RSA", "a"), key("EC", "b"), key("RSA", "c")];
        assert_eq!(
            find_key(&keys, Some("c"), "RS256")
                .and_then(|k| k.kid)
                .as_deref(),
            Some("c")
        );
        assert!(find_key(&keys, Some("b"), "RS256").is_none());
        assert!(
            find_key(&keys, Some("a"), "HS256").is_none(),
            "symmetric algorithms are refused"
        );
    }
}
