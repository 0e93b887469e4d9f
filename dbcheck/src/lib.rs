//! dbcheck: catch schema drift, failed or edited migrations and bad data before users do.
//!
//! This is the crate applications depend on. It re-exports the engine (`dbcheck-core`) and adds
//! one-call helpers for application code, such as a startup gate that refuses to serve when the
//! database's migrations are not where the code expects them.
//!
//! ```no_run
//! # async fn gate() -> Result<(), dbcheck::Error> {
//! let report = dbcheck::migration_status(env!("CARGO_MANIFEST_DIR"), "sqlite:app.db").await?;
//! if dbcheck::max_severity(&report.findings) == Some(dbcheck::Severity::Error) {
//!     panic!("the database does not match the migrations");
//! }
//! # Ok(()) }
//! ```

use std::path::Path;

pub use dbcheck_core::report::max_severity;
pub use dbcheck_core::status::StatusReport;
pub use dbcheck_core::{Finding, Location, Severity, config, db, migrations, report, status};
/// Check a struct against a table of the schema the migrations produce, at compile time
/// (see `docs/schema-guard.md`).
pub use dbcheck_macros::schema_guard;

pub mod build;
pub mod testing;

use dbcheck_core::config::{ConfigError, Selection, load_projects};
use dbcheck_core::db::{ConnectOptions, DatabaseUrl, DbError, connect};
use dbcheck_core::migrations::{DiscoveryError, discover_migrations};

/// Anything that stops a status check.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The package's dbcheck configuration is invalid.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The migrations cannot be read.
    #[error(transparent)]
    Discovery(#[from] DiscoveryError),
    /// The database failed.
    #[error(transparent)]
    Db(#[from] DbError),
}

/// Where every migration of the package at `manifest_dir` (its configured migrations folder,
/// layout and history table) stands on the database at `url`. Read-only.
pub async fn migration_status(manifest_dir: impl AsRef<Path>, url: &str) -> Result<StatusReport, Error> {
    let selection = Selection { manifest_path: Some(manifest_dir.as_ref().join("Cargo.toml")), ..Selection::default() };
    let projects = load_projects(&selection)?;
    let settings = match projects.first() {
        Some(p) => p.settings.clone(),
        None => return Err(Error::Config(ConfigError::Metadata { message: "no package found".into() })),
    };
    let discovery = discover_migrations(&settings.migrations_dir, settings.layout)?;
    let url = DatabaseUrl::parse(url)?;
    let mut db = connect(&url, &ConnectOptions { read_only: true, timeout: settings.connect_timeout }).await?;
    let report = dbcheck_core::status::migration_status(&discovery, settings.history.as_ref(), &mut db).await;
    db.close().await;
    Ok(report?)
}

/// Like [`migration_status`], for an explicit migrations folder with detected layout and history.
pub async fn migration_status_of_dir(dir: impl AsRef<Path>, url: &str) -> Result<StatusReport, Error> {
    let discovery = discover_migrations(dir.as_ref(), None)?;
    let url = DatabaseUrl::parse(url)?;
    let mut db = connect(&url, &ConnectOptions::default()).await?;
    let report = dbcheck_core::status::migration_status(&discovery, None, &mut db).await;
    db.close().await;
    Ok(report?)
}
