//! `migrate resolve`: mark a failed migration applied or rolled back after a manual repair, or
//! accept an edited migration's new checksum — in the tool's own history table, as the tool would
//! record it, together with an audit row (who, when, old and new checksum) in one transaction.

use serde::Serialize;

use crate::db::{Db, DbError, ResolveSql};
use crate::migrations::{ChecksumMatch, Discovery, HistoryTool, Migration, checksum, compare_checksum};
use crate::report::{Finding, Location, Severity};
use crate::status::{HistoryChoice, MigrationState, migration_status};

/// What to record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ResolveAction {
    /// The failed (or pending) migration is in the database now: record it as applied.
    Applied,
    /// The failed migration's changes are not in the database: record it as rolled back.
    RolledBack,
    /// The edited migration's new bytes are accepted: record their checksum.
    AcceptChecksum,
}

impl ResolveAction {
    /// The audit table's `action` value and the flag's name.
    pub fn as_str(self) -> &'static str {
        match self {
            ResolveAction::Applied => "applied",
            ResolveAction::RolledBack => "rolled-back",
            ResolveAction::AcceptChecksum => "accept-checksum",
        }
    }
}

/// What `migrate resolve` recorded.
#[derive(Debug, Clone, Serialize)]
pub struct ResolveReport {
    /// The history tool.
    pub tool: HistoryTool,
    /// Its table.
    pub table: String,
    /// The migration's version as its tool records it.
    pub version: String,
    /// What was recorded.
    pub action: ResolveAction,
    /// The checksum recorded before.
    pub old_checksum: Option<String>,
    /// The checksum recorded now.
    pub new_checksum: Option<String>,
    /// `--accept-checksum`: the edit changed only line endings or a byte-order mark.
    pub line_endings_only: bool,
    /// Who (operating-system user), as written to the audit table.
    pub actor: String,
    /// The audit table.
    pub audit_table: &'static str,
}

/// Resolve migration `name` (its version, or its file or folder name) with `action`. A request
/// that does not fit the migration's state is refused with a `resolve-refused` finding and writes
/// nothing.
pub async fn resolve(
    discovery: &Discovery,
    configured: Option<&HistoryChoice>,
    db: &mut Db,
    action: ResolveAction,
    name: &str,
) -> Result<Result<ResolveReport, Finding>, DbError> {
    let status = migration_status(discovery, configured, db).await?;
    let refuse = |msg: String, help: &str| {
        Finding::new("resolve-refused", Severity::Error, msg).at(Location::database(&status.table)).help(help)
    };
    let migration = discovery.migrations.iter().find(|m| matches_name(m, name));
    let entry = status.entries.iter().find(|e| match migration {
        Some(m) => e.path.as_deref() == Some(m.path.as_path()),
        None => e.path.is_none() && e.version == name,
    });
    let Some(entry) = entry else {
        return Ok(Err(refuse(
            format!("no migration `{name}` on disk or in `{}`", status.table),
            "name the migration by its version or its file/folder name, as `cargo dbcheck status` lists it",
        )));
    };
    let fits = match (action, entry.state) {
        (ResolveAction::Applied, MigrationState::Failed | MigrationState::Pending { .. }) => migration.is_some(),
        (ResolveAction::RolledBack, MigrationState::Failed) => true,
        (ResolveAction::AcceptChecksum, MigrationState::Edited { .. }) => migration.is_some(),
        _ => false,
    };
    if !fits {
        return Ok(Err(refuse(
            format!(
                "migration {} is {}; `--{}` applies to {}",
                entry.version,
                entry.state.label(),
                action.as_str(),
                match action {
                    ResolveAction::Applied => "a failed or pending migration whose file is on disk",
                    ResolveAction::RolledBack => "a failed migration",
                    ResolveAction::AcceptChecksum => "an applied migration whose file was edited",
                }
            ),
            "check `cargo dbcheck status` first",
        )));
    }
    let rows = db.read_history(status.tool, &status.table).await?;
    let old_checksum =
        rows.iter().rev().find(|r| r.key == entry.version && !r.repeatable).and_then(|r| r.checksum.clone());
    let line_endings_only = match (action, migration) {
        (ResolveAction::AcceptChecksum, Some(m)) => {
            compare_checksum(status.tool, m, old_checksum.as_deref()) == ChecksumMatch::LineEndingsOnly
        }
        _ => false,
    };
    let new_checksum = match action {
        ResolveAction::RolledBack => old_checksum.clone(),
        _ => migration.and_then(|m| checksum(status.tool, m)),
    };
    let actor = std::env::var("USER").or_else(|_| std::env::var("USERNAME")).unwrap_or_default();
    let request = ResolveSql {
        tool: status.tool,
        table: &status.table,
        key: &entry.version,
        migration,
        action: action.as_str(),
        old_checksum: old_checksum.as_deref(),
        new_checksum: new_checksum.as_deref(),
        detail: if line_endings_only { "line endings only" } else { "" },
        actor: &actor,
    };
    db.resolve_migration(&request).await?;
    Ok(Ok(ResolveReport {
        tool: status.tool,
        table: status.table.clone(),
        version: entry.version.clone(),
        action,
        old_checksum,
        new_checksum,
        line_endings_only,
        actor,
        audit_table: crate::db::AUDIT_TABLE,
    }))
}

fn matches_name(m: &Migration, name: &str) -> bool {
    let file = m.path.file_name().map(|f| f.to_string_lossy().into_owned()).unwrap_or_default();
    let stem = file.strip_suffix(".sql").unwrap_or(&file);
    let folder = m.path.parent().and_then(|p| p.file_name()).map(|f| f.to_string_lossy().into_owned());
    let in_folder = matches!(file.as_str(), "up.sql" | "migration.sql");
    m.history_key == name || stem == name || file == name || (in_folder && folder.as_deref() == Some(name))
}
