//! Exit codes (documented in the README) and the typed edge error that maps onto them.

use dbcheck_core::config::ConfigError;
use dbcheck_core::db::DbError;
use dbcheck_core::migrations::DiscoveryError;

/// Every check passed (findings below the failing severity only).
pub const SUCCESS: u8 = 0;
/// At least one finding at or above the failing severity (`--fail-on`, default `error`).
pub const FINDINGS: u8 = 1;
/// Usage or configuration error: bad flags, bad config, unreadable or invalid migrations.
pub const USAGE: u8 = 2;
/// The database could not be reached, refused the login, does not exist, or failed a query.
pub const DATABASE: u8 = 3;
/// A bug in dbcheck (a panic). Rust's own panic exit code; listed here to document it.
#[expect(dead_code, reason = "documents the code the Rust runtime uses for panics")]
pub const INTERNAL: u8 = 101;

/// Everything that stops a command before it can report findings.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// Configuration or project discovery failed.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The migrations folder cannot be read as migrations.
    #[error(transparent)]
    Discovery(#[from] DiscoveryError),
    /// The database failed us.
    #[error(transparent)]
    Db(#[from] DbError),
    /// The command line asks for something impossible.
    #[error("{message}")]
    Usage {
        /// What is wrong.
        message: String,
        /// What to do.
        help: Option<String>,
    },
}

impl CliError {
    /// The documented exit code for this error.
    pub fn exit_code(&self) -> u8 {
        match self {
            CliError::Config(ConfigError::DatabaseUrl { source: DbError::InvalidUrl { .. }, .. }) => USAGE,
            CliError::Config(_) | CliError::Discovery(_) | CliError::Usage { .. } => USAGE,
            CliError::Db(DbError::InvalidUrl { .. }) => USAGE,
            CliError::Db(_) => DATABASE,
        }
    }

    /// A remedy to print under the error, when there is an obvious one.
    pub fn help(&self) -> Option<String> {
        match self {
            CliError::Usage { help, .. } => help.clone(),
            CliError::Db(DbError::Unreachable { .. }) => {
                Some("check that the server runs and that host and port in the URL are right".into())
            }
            CliError::Db(DbError::AuthFailed { .. }) => {
                Some("check the user and password in the URL (they are never printed)".into())
            }
            CliError::Db(DbError::DatabaseMissing { .. }) => {
                Some("create the database first, or point the URL at an existing one".into())
            }
            CliError::Discovery(DiscoveryError::AmbiguousLayout { .. }) => {
                Some("set `layout` in [package.metadata.dbcheck] or dbcheck.toml, or move the strays out".into())
            }
            CliError::Discovery(DiscoveryError::MissingDir { .. }) => {
                Some("set `migrations = \"path\"` in [package.metadata.dbcheck] or dbcheck.toml".into())
            }
            _ => None,
        }
    }
}
