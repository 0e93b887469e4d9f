//! Migrations on disk and in history tables: discovery per layout, tool checksums, history rows.

mod checksum;
mod discover;
mod history;
mod model;

pub use checksum::{ChecksumMatch, checksum, compare_checksum, flyway_checksum, refinery_checksum};
pub use discover::{Discovery, DiscoveryError, InvalidMigration, discover_migrations};
pub use history::{AppliedMigration, AppliedOutcome, HistoryTool};
pub use model::{Layout, Migration, MigrationKind, TransactionMode, Version};
