//! The `palisade` command line. `anyhow` stops here: this is the binary's edge.
//!
//! The server, migration, user and token commands are here; `palisade import`
//! is [`import`], `palisade parse` and `palisade plugin ...` are [`plugin`].

pub mod import;
pub mod plugin;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::config::Config;

/// Palisade: vulnerability management with deduplicated findings, a GraphQL
/// API and WebAssembly parser plugins.
#[derive(Debug, Parser)]
#[command(name = "palisade", version, about)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Create and migrate the database if needed, then serve HTTP.
    Serve {
        #[command(flatten)]
        config: Config,
    },
    /// Create the database if needed and apply pending migrations.
    Migrate {
        #[command(flatten)]
        config: Config,
        /// Revert every migration instead (destroys all data).
        #[arg(long)]
        revert_all: bool,
    },
    /// Print the GraphQL schema (SDL); `schema.graphql` is this output.
    Schema,
    /// Upload a report to a running server and follow the import's progress.
    Import(import::ImportArgs),
    /// Manage users directly in the database.
    User {
        #[command(flatten)]
        database: crate::config::DatabaseConfig,
        #[command(subcommand)]
        command: UserCommand,
    },
    /// Manage API tokens directly in the database.
    Token {
        #[command(flatten)]
        database: crate::config::DatabaseConfig,
        #[command(subcommand)]
        command: TokenCommand,
    },
    /// Parse a report through the plugin host and print its findings as JSON.
    Parse {
        #[command(flatten)]
        plugins: crate::plugins::PluginConfig,
        #[command(flatten)]
        args: plugin::ParseArgs,
    },
    /// Inspect, list and scaffold parser plugins.
    Plugin {
        #[command(flatten)]
        plugins: crate::plugins::PluginConfig,
        #[command(flatten)]
        args: plugin::PluginArgs,
    },
}

#[derive(Debug, Subcommand)]
enum UserCommand {
    /// Create a user; the password is asked for (or read from standard input
    /// when it is not a terminal), never passed as a flag.
    Create {
        /// Username.
        name: String,
        /// Make the user a superuser.
        #[arg(long)]
        superuser: bool,
        /// E-mail address.
        #[arg(long)]
        email: Option<String>,
    },
    /// Set a user's password (asked for, or read from standard input) and
    /// end the user's sessions; API tokens keep working.
    Passwd {
        /// Username.
        name: String,
    },
}

#[derive(Debug, Subcommand)]
enum TokenCommand {
    /// Create an API token for a user and print it (it is shown only once).
    Create {
        /// The user the token acts as.
        #[arg(long)]
        user: String,
        /// A label to recognise the token by.
        #[arg(long, default_value = "cli")]
        name: String,
    },
}

/// Reads a password from the terminal without echo, or a line from standard input.
fn read_password(prompt: &str) -> anyhow::Result<String> {
    use std::io::IsTerminal;
    let password = if std::io::stdin().is_terminal() {
        let first = rpassword::prompt_password(prompt)?;
        let again = rpassword::prompt_password("Repeat the password: ")?;
        anyhow::ensure!(first == again, "the passwords differ");
        first
    } else {
        let mut line = String::new();
        std::io::stdin().read_line(&mut line)?;
        line.trim_end_matches(['\r', '\n']).to_owned()
    };
    Ok(password)
}

async fn user_command(
    database: &crate::config::DatabaseConfig,
    command: UserCommand,
) -> anyhow::Result<ExitCode> {
    use crate::db::models::user::{NewUser, User};
    use crate::domain::user::{hash_password, validate_username};
    use anyhow::Context as _;
    crate::db::create_database_if_missing(&database.url).await?;
    crate::db::run_migrations(&database.url).await?;
    let db = crate::db::Db::connect(&database.url, 1).await?;
    let mut conn = db.conn().await?;
    match command {
        UserCommand::Create {
            name,
            superuser,
            email,
        } => {
            validate_username(&name)?;
            anyhow::ensure!(
                User::by_username(&mut conn, &name).await?.is_none(),
                "user `{name}` already exists"
            );
            let password = read_password(&format!("Password for {name}: "))?;
            let hash = hash_password(&password)?;
            User::create(
                &mut conn,
                &NewUser {
                    username: &name,
                    email: email.as_deref().unwrap_or(""),
                    is_superuser: superuser,
                    password_hash: Some(&hash),
                },
            )
            .await
            .context("creating the user")?;
            eprintln!(
                "created user `{name}`{}",
                if superuser { " (superuser)" } else { "" }
            );
        }
        UserCommand::Passwd { name } => {
            let user = User::by_username(&mut conn, &name)
                .await?
                .with_context(|| format!("no user `{name}`"))?;
            let password = read_password(&format!("New password for {name}: "))?;
            let hash = hash_password(&password)?;
            User::set_password(&mut conn, user.id, &hash).await?;
            // Whoever signed in with the old password must not stay signed in.
            let revoked =
                crate::db::models::user::ApiToken::revoke_sessions_of(&mut conn, user.id, None)
                    .await?;
            eprintln!("password of `{name}` changed; {revoked} session(s) ended");
        }
    }
    Ok(ExitCode::SUCCESS)
}

async fn token_command(
    database: &crate::config::DatabaseConfig,
    command: TokenCommand,
) -> anyhow::Result<ExitCode> {
    use crate::db::models::user::{ApiToken, User};
    use anyhow::Context as _;
    use std::io::Write;
    crate::db::create_database_if_missing(&database.url).await?;
    crate::db::run_migrations(&database.url).await?;
    let db = crate::db::Db::connect(&database.url, 1).await?;
    let mut conn = db.conn().await?;
    match command {
        TokenCommand::Create { user, name } => {
            crate::domain::check_len("name", &name, 200, true)?;
            let u = User::by_username(&mut conn, &user)
                .await?
                .with_context(|| format!("no user `{user}`"))?;
            let token = crate::domain::user::generate_token();
            ApiToken::create(
                &mut conn,
                u.id,
                &name,
                "api",
                &token.prefix,
                &token.hash,
                None,
            )
            .await?;
            writeln!(std::io::stdout().lock(), "{}", token.secret)?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Runs the command line and returns the process exit code.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Serve { config } => {
            crate::telemetry::init(&config.log).map_err(anyhow::Error::msg)?;
            crate::app::serve(config).await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Migrate { config, revert_all } => {
            crate::telemetry::init(&config.log).map_err(anyhow::Error::msg)?;
            let url = &config.database.url;
            if revert_all {
                let reverted = crate::db::revert_all_migrations(url).await?;
                eprintln!("reverted {} migration(s)", reverted.len());
            } else {
                crate::db::create_database_if_missing(url).await?;
                let applied = crate::db::run_migrations(url).await?;
                eprintln!(
                    "applied {} migration(s); database is up to date",
                    applied.len()
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Parse { plugins, args } => {
            tokio::task::spawn_blocking(move || args.run(&plugins)).await?
        }
        Command::Plugin { plugins, args } => {
            tokio::task::spawn_blocking(move || args.run(&plugins)).await?
        }
        Command::User { database, command } => user_command(&database, command).await,
        Command::Token { database, command } => token_command(&database, command).await,
        Command::Import(args) => args.run().await,
        Command::Schema => {
            use std::io::Write;
            let mut out = std::io::stdout().lock();
            writeln!(out, "{}", crate::graphql::sdl().trim_end())?;
            Ok(ExitCode::SUCCESS)
        }
    }
}
