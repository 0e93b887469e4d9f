//! `baseline`: adopt an existing database that has no migration history — but only after
//! verifying that its schema equals the schema the migrations up to the chosen version produce
//! (replayed into a throwaway database and diffed). Then the history table is created and those
//! migrations are recorded as applied, exactly as their tool would record them.

use serde::Serialize;

use crate::db::{Db, DbError};
use crate::diff::compare;
use crate::migrations::{Discovery, HistoryTool, MigrationKind};
use crate::replay::{ReplayError, ReplayOptions, ReplayTarget, replay_migrations};
use crate::report::{Finding, Location, Severity};
use crate::status::{HistoryChoice, migration_status};

/// What `baseline` did or would have done.
#[derive(Debug, Clone, Serialize)]
pub struct BaselineReport {
    /// The history tool.
    pub tool: HistoryTool,
    /// Its table.
    pub table: String,
    /// The newest version included.
    pub to: Option<String>,
    /// Migrations recorded as applied (empty when refused).
    pub marked: Vec<String>,
    /// Differences between the live schema and the migrations' schema.
    pub differences: usize,
}

/// Failures that stop `baseline` (a mismatch is a finding, not an error).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BaselineError {
    /// Replaying the migrations failed.
    #[error(transparent)]
    Replay(#[from] ReplayError),
    /// The database failed us.
    #[error(transparent)]
    Db(#[from] DbError),
}

/// Verify `live` against the migrations of `discovery` up to `to` (all when `None`), and when
/// they match and the history table is missing or empty, record them as applied.
pub async fn baseline(
    discovery: &Discovery,
    to: Option<&str>,
    configured: Option<&HistoryChoice>,
    live: &mut Db,
    target: &ReplayTarget,
    options: &ReplayOptions,
) -> Result<(BaselineReport, Vec<Finding>), BaselineError> {
    let mut prefix = discovery.clone();
    prefix.migrations.retain(|m| m.kind == MigrationKind::Versioned);
    if let Some(to) = to {
        let Some(last) = prefix.migrations.iter().position(|m| m.history_key == to) else {
            let status = migration_status(discovery, configured, live).await?;
            let report = BaselineReport {
                tool: status.tool,
                table: status.table.clone(),
                to: Some(to.to_owned()),
                marked: Vec::new(),
                differences: 0,
            };
            let f = Finding::new("baseline-refused", Severity::Error, format!("no migration with version {to}"))
                .help("pass --to with a version as `cargo dbcheck status` lists it");
            return Ok((report, vec![f]));
        };
        prefix.migrations.truncate(last + 1);
    }
    let status = migration_status(&prefix, configured, live).await?;
    let mut report = BaselineReport {
        tool: status.tool,
        table: status.table.clone(),
        to: prefix.migrations.last().map(|m| m.history_key.clone()),
        marked: Vec::new(),
        differences: 0,
    };
    let applied_rows = if status.table_exists { live.read_history(status.tool, &status.table).await?.len() } else { 0 };
    if applied_rows > 0 {
        let f = Finding::new(
            "baseline-refused",
            Severity::Error,
            format!(
                "`{}` already records {applied_rows} migration(s): this database is not new to {}",
                status.table, status.tool
            ),
        )
        .at(Location::database(&status.table))
        .help("baseline adopts a database without history; use `cargo dbcheck status` and `migrate resolve` instead");
        return Ok((report, vec![f]));
    }
    let replay = replay_migrations(&prefix, target, options).await?;
    let actual = live.introspect(&options.introspect).await?;
    let drift = compare(replay, actual);
    report.differences = drift.differences.len();
    if !drift.replay.complete || !drift.differences.is_empty() {
        let mut findings = vec![
            Finding::new(
                "baseline-refused",
                Severity::Error,
                if drift.replay.complete {
                    format!(
                        "the database does not match the migrations up to {}: {} difference(s); nothing was recorded",
                        report.to.as_deref().unwrap_or("the first"),
                        drift.differences.len()
                    )
                } else {
                    "the migrations do not replay cleanly; nothing was recorded".to_owned()
                },
            )
            .help("bring the database to the migrations' schema first (`cargo dbcheck drift --fix`), or baseline at the version it matches (--to)"),
        ];
        findings.extend(drift.findings);
        return Ok((report, findings));
    }
    let migrations: Vec<_> = prefix.migrations.iter().collect();
    live.record_applied(status.tool, &status.table, &migrations).await?;
    report.marked = migrations.iter().map(|m| m.history_key.clone()).collect();
    Ok((report, Vec::new()))
}
