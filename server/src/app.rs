//! The application: shared state and the server's lifecycle (boot, serve,
//! shutdown). The routes are in [`crate::router`].

use std::sync::Arc;
use std::time::Duration;

use crate::auth::login::LoginLimiter;
use crate::authz::Authz;
use crate::config::Config;
use crate::db::{self, Db};
use crate::graphql::{self, AppSchema};
use crate::plugins::PluginRegistry;

/// State shared by every request handler.
#[derive(Clone)]
pub struct AppState {
    /// The database.
    pub db: Db,
    /// The GraphQL schema.
    pub schema: AppSchema,
    /// The configuration.
    pub config: Arc<Config>,
    /// The parser plugins.
    pub plugins: PluginRegistry,
    /// The access-control policy, kept in step with the database.
    pub authz: Authz,
    /// Single sign-on, when configured.
    pub oidc: Option<crate::auth::oidc::Oidc>,
    /// Deduplication settings of imports.
    pub dedupe: Arc<crate::import::DedupeSettings>,
    /// The import engine (the REST endpoints and the job workers share it).
    pub importer: crate::import::Importer,
}

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The database failed.
    #[error(transparent)]
    Db(#[from] db::DbError),
    /// The plugin host failed.
    #[error("plugin host: {0}")]
    Plugins(#[from] crate::plugins::PluginError),
    /// The access-control policy could not be loaded.
    #[error("access control: {0}")]
    Authz(#[from] crate::authz::AuthzError),
    /// Single sign-on is misconfigured.
    #[error("single sign-on: {0}")]
    Oidc(#[from] crate::auth::oidc::OidcError),
    /// The outbound HTTP client could not be built.
    #[error(transparent)]
    Outbound(#[from] crate::outbound::BuildError),
}

impl AppState {
    /// Connects to the database, loads the parser plugins (built-in, directory
    /// and uploaded ones) and builds the schema.
    pub async fn new(config: Config) -> Result<AppState, StartError> {
        let db = Db::connect_with_timeout(
            &config.database.url,
            config.database.pool_size,
            config.database.statement_timeout_ms,
        )
        .await?;
        let plugin_config = config.plugins.clone();
        let plugins = tokio::task::spawn_blocking(move || PluginRegistry::new(plugin_config))
            .await
            .map_err(|e| {
                crate::plugins::PluginError::Internal(format!("plugin loader failed: {e}"))
            })??;
        let uploaded = crate::plugins::load_uploaded(&db, &plugins).await?;
        if plugins.config().plugin_dir.is_some() {
            plugins.watch_directory()?;
        }
        let summaries = plugins.summaries();
        let failed = summaries.iter().filter(|s| s.load_error.is_some()).count();
        tracing::info!(
            plugins.loaded = summaries.len() - failed,
            plugins.failed = failed,
            plugins.uploaded = uploaded,
            scan_types = plugins.known_scan_types().len(),
            "parser plugins ready"
        );
        for s in summaries.iter().filter(|s| s.load_error.is_some()) {
            tracing::warn!(plugin.id = %s.id, error = s.load_error.as_deref().unwrap_or(""), "parser plugin failed to load");
        }
        let authz = Authz::start(&config.database.url, db.clone()).await?;
        let limiter = LoginLimiter::from_config(&config.auth);
        let config = Arc::new(config);
        let dedupe = Arc::new(config.import.dedupe_settings());
        let events = crate::events::EventBus::start(&config.database.url, db.clone()).await?;
        let outbound = crate::outbound::Outbound::new(crate::outbound::Policy::new(
            config.outbound.allow.clone(),
        ))?;
        let oidc = if config.auth.oidc.enabled() {
            Some(crate::auth::oidc::Oidc::new(
                config.auth.oidc.clone(),
                &outbound,
            )?)
        } else {
            None
        };
        crate::webhooks::start(
            db.clone(),
            &events,
            authz.clone(),
            outbound,
            crate::webhooks::DeliveryConfig {
                poll: Duration::from_millis(config.webhooks.poll_ms),
                concurrency: usize::try_from(config.webhooks.concurrency).unwrap_or(1),
            },
        );
        crate::events::start_pruner(
            db.clone(),
            Duration::from_secs(config.events.retention_secs),
        );
        let importer = crate::import::Importer::new(db.clone(), plugins.clone(), dedupe.clone());
        let schema = graphql::build_schema(
            &config,
            plugins.clone(),
            limiter,
            dedupe.clone(),
            events,
            importer.clone(),
        );
        Ok(AppState {
            db,
            schema,
            config,
            plugins,
            authz,
            oidc,
            dedupe,
            importer,
        })
    }
}

/// Creates the `admin` superuser on a database that has no user yet.
async fn bootstrap_admin(config: &Config) -> anyhow::Result<()> {
    use crate::db::models::user::{NewUser, User};
    let db = Db::connect(&config.database.url, 1).await?;
    let mut conn = db.conn().await?;
    if User::any(&mut conn).await? {
        return Ok(());
    }
    let (password, generated) = match &config.auth.admin_password {
        Some(p) => (p.clone(), false),
        None => (crate::domain::user::random_password(), true),
    };
    let hash = crate::domain::user::hash_password(&password)
        .map_err(|e| anyhow::anyhow!("PALISADE_ADMIN_PASSWORD: {e}"))?;
    User::create(
        &mut conn,
        &NewUser {
            username: "admin",
            email: "",
            is_superuser: true,
            password_hash: Some(&hash),
        },
    )
    .await?;
    if generated {
        // The one time this secret is shown: the operator needs it to sign in.
        tracing::warn!(user = "admin", password = %password, "created the admin superuser with a generated password; change it with `palisade user passwd admin`");
    } else {
        tracing::info!(
            user = "admin",
            "created the admin superuser with PALISADE_ADMIN_PASSWORD"
        );
    }
    Ok(())
}

/// Waits for SIGTERM or Ctrl-C.
pub async fn wait_for_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}

/// Waits for SIGTERM or Ctrl-C and says so in the log.
pub async fn shutdown_signal() {
    wait_for_signal().await;
    tracing::info!("shutdown requested; finishing requests in flight");
}

/// Starts this process's background import workers, unless configured off.
fn start_import_workers(state: &AppState) -> Option<crate::import::WorkerHandle> {
    let n = state.config.import.workers;
    if n == 0 {
        return None;
    }
    let authz = state.authz.clone();
    let guards: crate::import::GuardFactory = Arc::new(move |user: Option<i64>| {
        // Jobs always carry their creator; one without is refused by a guard
        // that answers for nobody.
        Box::new(crate::authz::AuthzGuard {
            authz: authz.clone(),
            subject: crate::authz::Subject::user(user.unwrap_or(0)),
        }) as Box<dyn crate::import::ImportGuard>
    });
    Some(crate::import::spawn_workers(
        state.importer.clone(),
        guards,
        crate::import::WorkerConfig {
            workers: n,
            ..Default::default()
        },
    ))
}

/// Prepares the database and serves until a shutdown signal.
pub async fn serve(config: Config) -> anyhow::Result<()> {
    use anyhow::Context as _;
    let created = db::create_database_if_missing(&config.database.url).await?;
    if created {
        tracing::info!(database = %db::redact_url(&config.database.url), "created the database");
    }
    let applied = db::run_migrations(&config.database.url).await?;
    if !applied.is_empty() {
        tracing::info!(migrations = ?applied, "applied migrations");
    }
    bootstrap_admin(&config).await?;
    let listen = config.http.listen;
    let grace = Duration::from_secs(config.http.shutdown_grace_seconds);
    let state = AppState::new(config).await?;
    let workers = start_import_workers(&state);
    let app = crate::router::router(state);
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("cannot listen on {listen} (PALISADE_LISTEN)"))?;
    let local = listener.local_addr()?;
    tracing::info!(address = %local, "Palisade is listening; GraphiQL at http://{local}/graphql");
    let server = axum::serve(
        listener,
        app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown_signal());
    // Requests in flight get a grace period; a stuck one does not block exit forever.
    let (done_tx, done_rx) = tokio::sync::oneshot::channel::<()>();
    let watchdog = tokio::spawn(async move {
        wait_for_signal().await;
        tokio::select! {
            _ = tokio::time::sleep(grace) => {
                tracing::warn!(grace_s = grace.as_secs(), "grace period over; exiting with requests in flight");
                std::process::exit(0);
            }
            _ = done_rx => {},
        }
    });
    server.await?;
    if let Some(w) = workers {
        w.shutdown().await;
    }
    let _ = done_tx.send(());
    watchdog.abort();
    tracing::info!("stopped");
    Ok(())
}
