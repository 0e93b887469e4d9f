//! Migration history tables: which tool wrote them, what they are called, and what a row means.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::model::Layout;

/// The tool whose history table records applied migrations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum HistoryTool {
    /// sqlx (`_sqlx_migrations`).
    Sqlx,
    /// diesel (`__diesel_schema_migrations`).
    Diesel,
    /// Prisma Migrate (`_prisma_migrations`).
    Prisma,
    /// refinery (`refinery_schema_history`).
    Refinery,
    /// Flyway (`flyway_schema_history`).
    Flyway,
    /// dbcheck's own table (`_dbcheck_migrations`), for projects with no migration tool.
    Dbcheck,
}

impl HistoryTool {
    /// Every tool, in the order auto-detection probes their tables.
    pub const ALL: [HistoryTool; 6] = [
        HistoryTool::Sqlx,
        HistoryTool::Diesel,
        HistoryTool::Prisma,
        HistoryTool::Refinery,
        HistoryTool::Flyway,
        HistoryTool::Dbcheck,
    ];

    /// Lowercase name, as used in configuration.
    pub fn as_str(self) -> &'static str {
        match self {
            HistoryTool::Sqlx => "sqlx",
            HistoryTool::Diesel => "diesel",
            HistoryTool::Prisma => "prisma",
            HistoryTool::Refinery => "refinery",
            HistoryTool::Flyway => "flyway",
            HistoryTool::Dbcheck => "dbcheck",
        }
    }

    /// The table the tool writes by default.
    pub fn default_table(self) -> &'static str {
        match self {
            HistoryTool::Sqlx => "_sqlx_migrations",
            HistoryTool::Diesel => "__diesel_schema_migrations",
            HistoryTool::Prisma => "_prisma_migrations",
            HistoryTool::Refinery => "refinery_schema_history",
            HistoryTool::Flyway => "flyway_schema_history",
            HistoryTool::Dbcheck => "_dbcheck_migrations",
        }
    }

    /// The tool that reads a layout by default (a `V__` folder could be refinery or Flyway:
    /// refinery, the Rust one, unless the database or the configuration says Flyway).
    pub fn for_layout(layout: Layout) -> HistoryTool {
        match layout {
            Layout::Sqlx => HistoryTool::Sqlx,
            Layout::Diesel => HistoryTool::Diesel,
            Layout::Prisma => HistoryTool::Prisma,
            Layout::Versioned => HistoryTool::Refinery,
        }
    }

    /// Whether the tool can read migrations of `layout` (dbcheck's own table reads any).
    pub fn reads_layout(self, layout: Layout) -> bool {
        match self {
            HistoryTool::Dbcheck => true,
            HistoryTool::Flyway => layout == Layout::Versioned,
            other => HistoryTool::for_layout(layout) == other,
        }
    }

    /// Whether the tool records a checksum at all (diesel does not).
    pub fn records_checksum(self) -> bool {
        self != HistoryTool::Diesel
    }
}

impl fmt::Display for HistoryTool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Outcome a history row records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AppliedOutcome {
    /// Finished successfully.
    Succeeded,
    /// Started and failed, or never finished (a partial application).
    Failed,
    /// Marked rolled back (Prisma `rolled_back_at`, dbcheck `rolled_back_at`).
    RolledBack,
}

/// One row of a history table, normalized across tools.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AppliedMigration {
    /// The identifier the tool recorded (see [`super::Migration::history_key`]).
    pub key: String,
    /// The name or description the tool recorded, when it records one.
    pub name: Option<String>,
    /// The checksum the tool recorded, in the text form [`super::checksum`] produces.
    pub checksum: Option<String>,
    /// When it was applied (or started), as text from the database.
    pub applied_at: Option<String>,
    /// The tool's own apply order (Flyway `installed_rank`), when it keeps one.
    pub rank: Option<i64>,
    /// What happened.
    pub outcome: AppliedOutcome,
    /// Error text or logs the tool recorded.
    pub logs: Option<String>,
    /// True for Flyway repeatable (`R__`) rows, which have no version.
    pub repeatable: bool,
    /// True for a Flyway `BASELINE` row: every version up to it counts as applied.
    pub baseline: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_layout_has_a_default_tool_that_reads_it() {
        for layout in [Layout::Sqlx, Layout::Diesel, Layout::Prisma, Layout::Versioned] {
            assert!(HistoryTool::for_layout(layout).reads_layout(layout));
            assert!(HistoryTool::Dbcheck.reads_layout(layout));
        }
        assert!(HistoryTool::Flyway.reads_layout(Layout::Versioned));
        assert!(!HistoryTool::Flyway.reads_layout(Layout::Sqlx));
        assert!(!HistoryTool::Sqlx.reads_layout(Layout::Diesel));
    }
}
