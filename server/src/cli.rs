//! The `palisade` command line. `anyhow` stops here: this is the binary's edge.

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
    /// Parse a report through the plugin host and print its findings as JSON.
    Parse {
        #[command(flatten)]
        plugins: crate::plugins::PluginConfig,
        #[command(flatten)]
        args: crate::plugins::cli::ParseArgs,
    },
    /// Inspect, list and scaffold parser plugins.
    Plugin {
        #[command(flatten)]
        plugins: crate::plugins::PluginConfig,
        #[command(flatten)]
        args: crate::plugins::cli::PluginArgs,
    },
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
        Command::Schema => {
            use std::io::Write;
            let mut out = std::io::stdout().lock();
            writeln!(out, "{}", crate::graphql::sdl().trim_end())?;
            Ok(ExitCode::SUCCESS)
        }
    }
}
