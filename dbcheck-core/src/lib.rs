//! The engine behind dbcheck: it finds a project's migrations, reads migration history tables and
//! tells where every migration stands. It never prints; it returns values and [`Finding`]s that
//! the CLI, the proc macro and the build/test helpers render in their own medium.
//!
//! ```
//! use dbcheck_core::migrations::{discover_migrations, Layout};
//!
//! let dir = tempfile::tempdir()?;
//! std::fs::write(dir.path().join("20240101000000_create_users.sql"), "CREATE TABLE users (id INT);\n")?;
//! std::fs::write(dir.path().join("20240102000000_add_slug.sql"), "ALTER TABLE users ADD slug TEXT;\n")?;
//!
//! let found = discover_migrations(dir.path(), None)?;
//! assert_eq!(found.layout, Some(Layout::Sqlx));
//! assert_eq!(found.migrations[1].name, "add slug");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![deny(missing_docs)]

pub mod backup;
pub mod config;
pub mod db;
pub mod declared;
pub mod diff;
pub mod files;
pub mod guard;
pub mod integrity;
pub mod lint;
pub mod migrate;
pub mod migrations;
pub mod replay;
pub mod report;
pub mod schema;
pub mod source;
pub mod sql;
pub mod status;

pub use report::{Finding, Location, Severity};
