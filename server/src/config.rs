//! Server configuration: one [`Config`], read from `PALISADE_*` environment
//! variables and command-line flags, validated before anything starts.

use std::net::SocketAddr;

use clap::builder::TypedValueParser as _;
use clap::{Args, ValueEnum};

/// Everything the server and the database subcommands need.
#[derive(Debug, Clone, Args)]
pub struct Config {
    /// Database settings.
    #[command(flatten)]
    pub database: DatabaseConfig,
    /// HTTP listener and request limits.
    #[command(flatten)]
    pub http: HttpConfig,
    /// GraphQL limits.
    #[command(flatten)]
    pub graphql: GraphqlConfig,
    /// Logging.
    #[command(flatten)]
    pub log: LogConfig,
    /// Parser plugins: sources and sandbox limits.
    #[command(flatten)]
    pub plugins: crate::plugins::PluginConfig,
    /// Authentication.
    #[command(flatten)]
    pub auth: AuthConfig,
    /// Imports and deduplication.
    #[command(flatten)]
    pub import: ImportConfig,
    /// The outbox of finding-change events.
    #[command(flatten)]
    pub events: EventsConfig,
    /// Webhook deliveries.
    #[command(flatten)]
    pub webhooks: WebhookConfig,
    /// Calls the server makes on its own (webhooks).
    #[command(flatten)]
    pub outbound: OutboundConfig,
}

/// Outbound HTTP: which internal destinations are let through.
#[derive(Debug, Clone, Args)]
pub struct OutboundConfig {
    /// Internal destinations outbound calls may reach although they are
    /// loopback, private, link-local, ...: comma-separated CIDRs or addresses
    /// (`10.20.0.0/16`, `127.0.0.1`) and host names (`jira.corp.example`,
    /// `*.corp.example`). Empty: only public addresses.
    #[arg(
        long = "outbound-allow",
        env = "PALISADE_OUTBOUND_ALLOW",
        value_name = "PALISADE_OUTBOUND_ALLOW",
        default_value = "",
        value_parser = crate::outbound::AllowList::parse
    )]
    pub allow: crate::outbound::AllowList,
}

/// Webhook deliveries of this process.
#[derive(Debug, Clone, Args)]
pub struct WebhookConfig {
    /// How often idle webhook workers look for due deliveries, in ms.
    #[arg(
        id = "webhook_poll_ms",
        long = "webhook-poll-ms",
        env = "PALISADE_WEBHOOK_POLL_MS",
        value_name = "PALISADE_WEBHOOK_POLL_MS",
        default_value_t = 500,
        value_parser = clap::value_parser!(u64).range(10..)
    )]
    pub poll_ms: u64,

    /// Webhook deliveries in flight at once in this process (one per
    /// webhook at most).
    #[arg(
        id = "webhook_concurrency",
        long = "webhook-concurrency",
        env = "PALISADE_WEBHOOK_CONCURRENCY",
        value_name = "PALISADE_WEBHOOK_CONCURRENCY",
        default_value_t = 16,
        value_parser = clap::value_parser!(u32).range(1..=1000)
    )]
    pub concurrency: u32,
}

/// The outbox of finding-change events.
#[derive(Debug, Clone, Args)]
pub struct EventsConfig {
    /// How long finding-change events are kept for resuming subscribers (and
    /// finished webhook deliveries for the delivery log), in seconds.
    #[arg(
        id = "event_retention_secs",
        long = "event-retention-secs",
        env = "PALISADE_EVENT_RETENTION_SECS",
        value_name = "PALISADE_EVENT_RETENTION_SECS",
        default_value_t = 7 * 24 * 3600,
        value_parser = clap::value_parser!(u64).range(1..)
    )]
    pub retention_secs: u64,
}

/// Import settings.
#[derive(Debug, Clone, Args)]
pub struct ImportConfig {
    /// Background import workers in this process (0: this process only
    /// queues; another one runs the jobs).
    #[arg(
        long = "import-workers",
        env = "PALISADE_IMPORT_WORKERS",
        value_name = "PALISADE_IMPORT_WORKERS",
        default_value_t = 2
    )]
    pub workers: usize,

    /// Per-scan-type deduplication overrides as JSON, e.g.
    /// `{"Trivy Scan": {"algorithm": "hash_code", "hash_fields": ["title", "component_name"]}}`
    /// (algorithms: hash_code, unique_id_from_tool,
    /// unique_id_from_tool_or_hash_code, legacy).
    #[arg(
        long = "dedupe-overrides",
        env = "PALISADE_DEDUPE_OVERRIDES",
        value_name = "PALISADE_DEDUPE_OVERRIDES",
        value_parser = parse_dedupe_overrides
    )]
    pub dedupe_overrides: Option<DedupeOverrides>,

    /// Background imports one user may have queued or running at once.
    #[arg(
        long = "import-max-queued-jobs-per-user",
        env = "PALISADE_IMPORT_MAX_QUEUED_JOBS_PER_USER",
        value_name = "PALISADE_IMPORT_MAX_QUEUED_JOBS_PER_USER",
        default_value_t = 10,
        value_parser = clap::value_parser!(u64).range(1..)
    )]
    pub max_queued_jobs_per_user: u64,

    /// Report bytes one user may have queued or running at once, e.g.
    /// `1073741824` or `1GiB`.
    #[arg(
        long = "import-max-queued-bytes-per-user",
        env = "PALISADE_IMPORT_MAX_QUEUED_BYTES_PER_USER",
        value_name = "PALISADE_IMPORT_MAX_QUEUED_BYTES_PER_USER",
        default_value = "1GiB",
        value_parser = parse_positive_bytes
    )]
    pub max_queued_bytes_per_user: u64,
}

/// Parsed `PALISADE_DEDUPE_OVERRIDES`.
#[derive(Debug, Clone, Default)]
pub struct DedupeOverrides(pub std::collections::HashMap<String, crate::import::DedupeOverride>);

fn parse_dedupe_overrides(text: &str) -> Result<DedupeOverrides, String> {
    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Entry {
        algorithm: Option<String>,
        hash_fields: Option<Vec<String>>,
        allows_null_cwe: Option<bool>,
    }
    let map: std::collections::HashMap<String, Entry> =
        serde_json::from_str(text).map_err(|e| format!("not a JSON object of overrides: {e}"))?;
    let mut out = std::collections::HashMap::new();
    for (scan_type, e) in map {
        let algorithm = match e.algorithm.as_deref() {
            None => None,
            Some(a) => Some(
                crate::import::parse_algorithm(a)
                    .ok_or_else(|| format!("{scan_type}: unknown algorithm `{a}`"))?,
            ),
        };
        if let Some(fields) = &e.hash_fields
            && let Some(bad) = fields
                .iter()
                .find(|f| !crate::import::ALLOWED_HASH_FIELDS.contains(&f.as_str()))
        {
            return Err(format!("{scan_type}: `{bad}` cannot be a hash field"));
        }
        out.insert(
            scan_type,
            crate::import::DedupeOverride {
                algorithm,
                hash_fields: e.hash_fields,
                allows_null_cwe: e.allows_null_cwe,
            },
        );
    }
    Ok(DedupeOverrides(out))
}

impl ImportConfig {
    /// The per-user limits of the background import queue.
    pub fn queue_caps(&self) -> crate::import::QueueCaps {
        crate::import::QueueCaps {
            max_jobs: self.max_queued_jobs_per_user,
            max_bytes: self.max_queued_bytes_per_user,
        }
    }

    /// The engine's deduplication settings.
    pub fn dedupe_settings(&self) -> crate::import::DedupeSettings {
        crate::import::DedupeSettings {
            overrides: self
                .dedupe_overrides
                .clone()
                .map(|o| o.0)
                .unwrap_or_default(),
            ..Default::default()
        }
    }
}

/// Authentication settings.
#[derive(Clone, Args)]
pub struct AuthConfig {
    /// Password of the `admin` superuser created on a database without users
    /// (a random one is generated and logged once when unset).
    #[arg(
        long = "admin-password",
        env = "PALISADE_ADMIN_PASSWORD",
        value_name = "PALISADE_ADMIN_PASSWORD",
        hide_env_values = true
    )]
    pub admin_password: Option<String>,

    /// How long a session token from `login` stays valid, in seconds.
    #[arg(
        long = "session-ttl",
        env = "PALISADE_SESSION_TTL_SECS",
        value_name = "PALISADE_SESSION_TTL_SECS",
        default_value_t = 12 * 3600,
        value_parser = clap::value_parser!(u64).range(60..)
    )]
    pub session_ttl_secs: u64,

    /// Sign-in attempts allowed per client address within
    /// [`AuthConfig::login_window_secs`] (further ones are refused), and per
    /// username before its attempts are spaced out by growing delays.
    #[arg(
        long = "login-max-failures",
        env = "PALISADE_LOGIN_MAX_FAILURES",
        value_name = "PALISADE_LOGIN_MAX_FAILURES",
        default_value_t = 5,
        value_parser = clap::value_parser!(u32).range(1..)
    )]
    pub login_max_failures: u32,

    /// The window, in seconds, over which sign-in failures are counted.
    #[arg(
        long = "login-window",
        env = "PALISADE_LOGIN_WINDOW_SECS",
        value_name = "PALISADE_LOGIN_WINDOW_SECS",
        default_value_t = 900,
        value_parser = clap::value_parser!(u64).range(1..)
    )]
    pub login_window_secs: u64,

    /// Once a username's failures fill its budget, its next attempt waits
    /// this long, in seconds; each further failure doubles the wait (up to
    /// [`AuthConfig::login_max_delay_secs`]). A correct password in an
    /// allowed attempt always signs in.
    #[arg(
        long = "login-delay",
        env = "PALISADE_LOGIN_DELAY_SECS",
        value_name = "PALISADE_LOGIN_DELAY_SECS",
        default_value_t = 2,
        value_parser = clap::value_parser!(u64).range(1..=86_400)
    )]
    pub login_delay_secs: u64,

    /// The longest wait between a throttled username's attempts, in seconds.
    #[arg(
        long = "login-max-delay",
        env = "PALISADE_LOGIN_MAX_DELAY_SECS",
        value_name = "PALISADE_LOGIN_MAX_DELAY_SECS",
        default_value_t = 300,
        value_parser = clap::value_parser!(u64).range(1..=86_400)
    )]
    pub login_max_delay_secs: u64,

    /// Password verifications (argon2, about 19 MiB and tens of ms of CPU
    /// each) run at once; sign-ins beyond these and the queue are refused.
    #[arg(
        long = "login-verify-concurrency",
        env = "PALISADE_LOGIN_VERIFY_CONCURRENCY",
        value_name = "PALISADE_LOGIN_VERIFY_CONCURRENCY",
        default_value_t = 4,
        value_parser = clap::value_parser!(u32).range(1..=1024)
    )]
    pub login_verify_concurrency: u32,

    /// Sign-ins allowed to wait for a verification slot; more are refused
    /// with RATE_LIMITED at once.
    #[arg(
        long = "login-verify-queue",
        env = "PALISADE_LOGIN_VERIFY_QUEUE",
        value_name = "PALISADE_LOGIN_VERIFY_QUEUE",
        default_value_t = 32,
        value_parser = clap::value_parser!(u32).range(0..=100_000)
    )]
    pub login_verify_queue: u32,

    /// Reverse proxies (comma-separated addresses or CIDR blocks) whose
    /// `X-Forwarded-For` names the client; unset: the TCP peer is the client.
    #[arg(
        long = "trusted-proxies",
        env = "PALISADE_TRUSTED_PROXIES",
        value_name = "PALISADE_TRUSTED_PROXIES",
        value_parser = crate::auth::client::TrustedProxies::parse
    )]
    pub trusted_proxies: Option<crate::auth::client::TrustedProxies>,

    /// The longest lifetime of a new API token, in days: a longer or missing
    /// expiry is refused. Unset: no limit.
    #[arg(
        long = "api-token-max-lifetime-days",
        env = "PALISADE_API_TOKEN_MAX_LIFETIME_DAYS",
        value_name = "PALISADE_API_TOKEN_MAX_LIFETIME_DAYS",
        value_parser = clap::value_parser!(u32).range(1..=36_500)
    )]
    pub api_token_max_lifetime_days: Option<u32>,

    /// Single sign-on with OpenID Connect.
    #[command(flatten)]
    pub oidc: crate::auth::oidc::OidcConfig,
}

impl std::fmt::Debug for AuthConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthConfig")
            .field(
                "admin_password",
                &self.admin_password.as_ref().map(|_| "<redacted>"),
            )
            .field("session_ttl_secs", &self.session_ttl_secs)
            .field("login_max_failures", &self.login_max_failures)
            .field("login_window_secs", &self.login_window_secs)
            .field("login_delay_secs", &self.login_delay_secs)
            .field("login_max_delay_secs", &self.login_max_delay_secs)
            .field("login_verify_concurrency", &self.login_verify_concurrency)
            .field("login_verify_queue", &self.login_verify_queue)
            .field("trusted_proxies", &self.trusted_proxies)
            .field(
                "api_token_max_lifetime_days",
                &self.api_token_max_lifetime_days,
            )
            .field("oidc", &self.oidc)
            .finish()
    }
}

/// Where PostgreSQL is and how many connections to keep.
#[derive(Debug, Clone, Args)]
pub struct DatabaseConfig {
    /// PostgreSQL URL. The database is created when it does not exist.
    #[arg(
        long = "database-url",
        env = "PALISADE_DATABASE_URL",
        value_name = "PALISADE_DATABASE_URL",
        default_value = "postgres://postgres@127.0.0.1:5432/palisade"
    )]
    pub url: String,
    /// Maximum connections in the pool.
    #[arg(long = "database-pool-size", env = "PALISADE_DATABASE_POOL_SIZE", value_name = "PALISADE_DATABASE_POOL_SIZE", default_value_t = 16,
          value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub pool_size: u32,
    /// Longest a statement of a request may run, in milliseconds (0: no
    /// limit). Imports and migrations run without it.
    #[arg(
        long = "database-statement-timeout-ms",
        env = "PALISADE_DATABASE_STATEMENT_TIMEOUT_MS",
        value_name = "PALISADE_DATABASE_STATEMENT_TIMEOUT_MS",
        default_value_t = 30_000,
        value_parser = clap::value_parser!(u64).range(0..=2_147_483_647)
    )]
    pub statement_timeout_ms: u64,
}

/// The HTTP side.
#[derive(Debug, Clone, Args)]
pub struct HttpConfig {
    /// Address and port to listen on.
    #[arg(
        long = "listen",
        env = "PALISADE_LISTEN",
        value_name = "PALISADE_LISTEN",
        default_value = "127.0.0.1:8080"
    )]
    pub listen: SocketAddr,
    /// Largest accepted request body (uploads included), in bytes.
    #[arg(long = "max-upload-bytes", env = "PALISADE_MAX_UPLOAD_BYTES", value_name = "PALISADE_MAX_UPLOAD_BYTES", default_value_t = 512 * 1024 * 1024)]
    pub max_upload_bytes: u64,
    /// Largest file `attachFile` stores, in bytes.
    #[arg(long = "max-attachment-bytes", env = "PALISADE_MAX_ATTACHMENT_BYTES", value_name = "PALISADE_MAX_ATTACHMENT_BYTES", default_value_t = 25 * 1024 * 1024)]
    pub max_attachment_bytes: u64,
    /// Seconds to wait for requests in flight on shutdown.
    #[arg(
        long = "shutdown-grace-seconds",
        env = "PALISADE_SHUTDOWN_GRACE_SECONDS",
        value_name = "PALISADE_SHUTDOWN_GRACE_SECONDS",
        default_value_t = 20
    )]
    pub shutdown_grace_seconds: u64,
}

/// Limits that keep one GraphQL request from hogging the server.
#[derive(Debug, Clone, Args)]
pub struct GraphqlConfig {
    /// Deepest selection set accepted.
    #[arg(
        long = "graphql-max-depth",
        env = "PALISADE_GRAPHQL_MAX_DEPTH",
        value_name = "PALISADE_GRAPHQL_MAX_DEPTH",
        default_value_t = 15
    )]
    pub max_depth: usize,
    /// Largest query complexity accepted (connections count `first` times their fields).
    #[arg(
        long = "graphql-max-complexity",
        env = "PALISADE_GRAPHQL_MAX_COMPLEXITY",
        value_name = "PALISADE_GRAPHQL_MAX_COMPLEXITY",
        default_value_t = 50_000
    )]
    pub max_complexity: usize,
    /// Largest `first`/`last` on a connection.
    #[arg(long = "graphql-max-page-size", env = "PALISADE_GRAPHQL_MAX_PAGE_SIZE", value_name = "PALISADE_GRAPHQL_MAX_PAGE_SIZE", default_value_t = 100,
          value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub max_page_size: u32,
    /// Report the number of SQL statements a request ran in its response
    /// `extensions.sqlStatements` (for tests and profiling).
    #[arg(long = "graphql-expose-query-count", env = "PALISADE_GRAPHQL_EXPOSE_QUERY_COUNT", value_name = "PALISADE_GRAPHQL_EXPOSE_QUERY_COUNT", default_value_t = false, action = clap::ArgAction::Set)]
    pub expose_query_count: bool,
    /// How often an open WebSocket connection's token is checked again, in
    /// seconds: a revoked token ends its subscriptions within this time.
    #[arg(long = "ws-reauth-secs", env = "PALISADE_WS_REAUTH_SECS", value_name = "PALISADE_WS_REAUTH_SECS", default_value_t = 30,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub ws_reauth_secs: u64,
    /// Largest JSON request body on `POST /graphql`, e.g. `1048576` or
    /// `1MiB` (multipart uploads are bounded by `PALISADE_MAX_UPLOAD_BYTES`
    /// and accepted only with valid credentials).
    #[arg(
        long = "graphql-max-body-bytes",
        env = "PALISADE_GRAPHQL_MAX_BODY_BYTES",
        value_name = "PALISADE_GRAPHQL_MAX_BODY_BYTES",
        default_value = "1MiB",
        value_parser = parse_positive_bytes
    )]
    pub max_body_bytes: u64,
    /// Most field selections (aliases included) in one document.
    #[arg(long = "graphql-max-fields", env = "PALISADE_GRAPHQL_MAX_FIELDS", value_name = "PALISADE_GRAPHQL_MAX_FIELDS", default_value_t = 1000,
          value_parser = clap::value_parser!(u64).range(1..=1_000_000).map(|v| v as usize))]
    pub max_fields: usize,
    /// Most directives on one field.
    #[arg(long = "graphql-max-directives", env = "PALISADE_GRAPHQL_MAX_DIRECTIVES", value_name = "PALISADE_GRAPHQL_MAX_DIRECTIVES", default_value_t = 10,
          value_parser = clap::value_parser!(u64).range(1..=1000).map(|v| v as usize))]
    pub max_directives: usize,
    /// Deepest nesting of selection sets the parser output may have
    /// (checked before validation; `PALISADE_GRAPHQL_MAX_DEPTH` is the
    /// limit on executed fields).
    #[arg(long = "graphql-max-recursive-depth", env = "PALISADE_GRAPHQL_MAX_RECURSIVE_DEPTH", value_name = "PALISADE_GRAPHQL_MAX_RECURSIVE_DEPTH", default_value_t = 32,
          value_parser = clap::value_parser!(u64).range(1..=256).map(|v| v as usize))]
    pub max_recursive_depth: usize,
    /// Subscriptions one WebSocket connection may hold at once.
    #[arg(long = "ws-max-subscriptions-per-connection", env = "PALISADE_WS_MAX_SUBSCRIPTIONS_PER_CONNECTION", value_name = "PALISADE_WS_MAX_SUBSCRIPTIONS_PER_CONNECTION", default_value_t = 50,
          value_parser = clap::value_parser!(u64).range(1..=100_000).map(|v| v as usize))]
    pub ws_max_subscriptions_per_connection: usize,
    /// Subscriptions one user may hold at once over all connections (all
    /// anonymous connections share one count).
    #[arg(long = "ws-max-subscriptions-per-user", env = "PALISADE_WS_MAX_SUBSCRIPTIONS_PER_USER", value_name = "PALISADE_WS_MAX_SUBSCRIPTIONS_PER_USER", default_value_t = 200,
          value_parser = clap::value_parser!(u64).range(1..=1_000_000).map(|v| v as usize))]
    pub ws_max_subscriptions_per_user: usize,
}

fn parse_positive_bytes(text: &str) -> Result<u64, String> {
    match crate::plugins::parse_bytes(text)? {
        0 => Err("must be more than 0 bytes".to_owned()),
        n => Ok(n),
    }
}

/// Log output.
#[derive(Debug, Clone, Args)]
pub struct LogConfig {
    /// `human` (default) or `json`.
    #[arg(long = "log-format", env = "PALISADE_LOG_FORMAT", value_name = "PALISADE_LOG_FORMAT", value_enum, default_value_t = LogFormat::Human)]
    pub format: LogFormat,
    /// tracing filter, e.g. `info,palisade=debug`.
    #[arg(
        long = "log",
        env = "PALISADE_LOG",
        value_name = "PALISADE_LOG",
        default_value = "info"
    )]
    pub filter: String,
}

/// Log output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Readable lines.
    Human,
    /// One JSON object per line.
    Json,
}

impl Config {
    /// A configuration for tests and tools: defaults, with the given database.
    pub fn for_database(url: &str) -> Self {
        Config {
            database: DatabaseConfig {
                url: url.to_owned(),
                pool_size: 8,
                statement_timeout_ms: 30_000,
            },
            http: HttpConfig {
                listen: SocketAddr::from(([127, 0, 0, 1], 0)),
                max_upload_bytes: 512 * 1024 * 1024,
                max_attachment_bytes: 25 * 1024 * 1024,
                shutdown_grace_seconds: 5,
            },
            graphql: GraphqlConfig {
                max_depth: 15,
                max_complexity: 50_000,
                max_page_size: 100,
                expose_query_count: true,
                ws_reauth_secs: 30,
                max_body_bytes: 1024 * 1024,
                max_fields: 1000,
                max_directives: 10,
                max_recursive_depth: 32,
                ws_max_subscriptions_per_connection: 50,
                ws_max_subscriptions_per_user: 200,
            },
            log: LogConfig {
                format: LogFormat::Human,
                filter: "info".to_owned(),
            },
            plugins: crate::plugins::PluginConfig::default(),
            import: ImportConfig {
                workers: 2,
                dedupe_overrides: None,
                max_queued_jobs_per_user: 10,
                max_queued_bytes_per_user: 1024 * 1024 * 1024,
            },
            events: EventsConfig {
                retention_secs: 7 * 24 * 3600,
            },
            webhooks: WebhookConfig {
                poll_ms: 500,
                concurrency: 16,
            },
            outbound: OutboundConfig {
                allow: crate::outbound::AllowList::default(),
            },
            auth: AuthConfig {
                admin_password: None,
                session_ttl_secs: 12 * 3600,
                login_max_failures: 5,
                login_window_secs: 900,
                login_delay_secs: 2,
                login_max_delay_secs: 300,
                login_verify_concurrency: 4,
                login_verify_queue: 32,
                trusted_proxies: None,
                api_token_max_lifetime_days: None,
                oidc: crate::auth::oidc::OidcConfig {
                    scopes: "openid profile email".to_owned(),
                    groups_claim: "groups".to_owned(),
                    ..Default::default()
                },
            },
        }
    }
}
