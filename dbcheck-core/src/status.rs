//! `status`: every migration on disk and in the history table, classified, read-only.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Serialize;

use crate::db::{Db, DbError};
use crate::migrations::{
    AppliedMigration, AppliedOutcome, ChecksumMatch, Discovery, HistoryTool, Layout, Migration, MigrationKind, Version,
    compare_checksum,
};
use crate::report::{Finding, Location, Severity};

/// Where a migration stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum MigrationState {
    /// Applied, and the file still matches what was applied.
    Applied,
    /// On disk, not applied.
    Pending {
        /// It sorts before a migration that is already applied (two branches merged).
        out_of_order: bool,
        /// It was applied once and then marked rolled back.
        rolled_back: bool,
    },
    /// Started and failed or never finished: the database may hold part of it.
    Failed,
    /// Applied, but the file changed since.
    Edited {
        /// The change is only line endings (CRLF/LF) or a byte-order mark.
        line_endings_only: bool,
    },
    /// Recorded as applied, but no file on disk has its version.
    MissingOnDisk,
    /// Applied after a migration with a higher version.
    AppliedOutOfOrder,
}

impl MigrationState {
    /// Short human label.
    pub fn label(self) -> &'static str {
        match self {
            MigrationState::Applied => "applied",
            MigrationState::Pending { rolled_back: true, .. } => "pending (rolled back)",
            MigrationState::Pending { out_of_order: true, .. } => "pending, out of order",
            MigrationState::Pending { .. } => "pending",
            MigrationState::Failed => "failed",
            MigrationState::Edited { line_endings_only: true } => "edited (line endings only)",
            MigrationState::Edited { .. } => "edited after apply",
            MigrationState::MissingOnDisk => "missing on disk",
            MigrationState::AppliedOutOfOrder => "applied out of order",
        }
    }
}

/// One line of the status table.
#[derive(Debug, Clone, Serialize)]
pub struct StatusEntry {
    /// The version as its tool writes it.
    pub version: String,
    /// The migration's name.
    pub name: String,
    /// Its file, when it exists on disk.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<PathBuf>,
    /// Where it stands.
    #[serde(flatten)]
    pub state: MigrationState,
    /// When it was applied, as the history table says.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub applied_at: Option<String>,
    /// A Flyway repeatable migration.
    pub repeatable: bool,
}

/// Counts per state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct StatusSummary {
    /// All entries.
    pub total: usize,
    /// Applied and unchanged.
    pub applied: usize,
    /// Not applied yet (including rolled back).
    pub pending: usize,
    /// Failed or partial.
    pub failed: usize,
    /// Applied, then edited.
    pub edited: usize,
    /// Applied, file gone.
    pub missing: usize,
    /// Applied out of order.
    pub out_of_order: usize,
}

/// The result of `status`.
#[derive(Debug, Clone, Serialize)]
pub struct StatusReport {
    /// The tool whose history table was read.
    pub tool: HistoryTool,
    /// The history table's name.
    pub table: String,
    /// Whether that table exists.
    pub table_exists: bool,
    /// The migrations folder.
    pub migrations_dir: PathBuf,
    /// Its layout.
    pub layout: Option<Layout>,
    /// Every migration, in version order (repeatables last).
    pub entries: Vec<StatusEntry>,
    /// Problems, including discovery findings.
    pub findings: Vec<Finding>,
}

impl StatusReport {
    /// Counts per state.
    pub fn summary(&self) -> StatusSummary {
        let mut s = StatusSummary { total: self.entries.len(), ..StatusSummary::default() };
        for e in &self.entries {
            match e.state {
                MigrationState::Applied => s.applied += 1,
                MigrationState::Pending { .. } => s.pending += 1,
                MigrationState::Failed => s.failed += 1,
                MigrationState::Edited { .. } => s.edited += 1,
                MigrationState::MissingOnDisk => s.missing += 1,
                MigrationState::AppliedOutOfOrder => s.out_of_order += 1,
            }
        }
        s
    }
}

/// Which history table a status run reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryChoice {
    /// The tool.
    pub tool: HistoryTool,
    /// Its table name.
    pub table: String,
}

/// Pick the history table to read: the configured tool if any; otherwise the first tool that reads
/// `layout` and whose table exists (the layout's own tool first, then Flyway for `V__` folders,
/// then dbcheck's table); otherwise the layout's own tool, whose table is then missing.
pub fn choose_history(
    configured: Option<&HistoryChoice>,
    layout: Option<Layout>,
    existing: &[(HistoryTool, String)],
) -> HistoryChoice {
    if let Some(c) = configured {
        return c.clone();
    }
    let layout = layout.unwrap_or(Layout::Sqlx);
    let default = HistoryTool::for_layout(layout);
    let mut preference = vec![default];
    if layout == Layout::Versioned {
        preference.push(HistoryTool::Flyway);
    }
    preference.push(HistoryTool::Dbcheck);
    for tool in preference {
        if let Some((t, table)) = existing.iter().find(|(t, _)| *t == tool) {
            return HistoryChoice { tool: *t, table: table.clone() };
        }
    }
    HistoryChoice { tool: default, table: default.default_table().to_owned() }
}

/// Connect-side of `status`: find the history tables in one catalog query, read the chosen one,
/// and classify every migration. Never writes.
pub async fn migration_status(
    discovery: &Discovery,
    configured: Option<&HistoryChoice>,
    db: &mut Db,
) -> Result<StatusReport, DbError> {
    let mut candidates: Vec<(HistoryTool, String)> =
        HistoryTool::ALL.iter().map(|t| (*t, t.default_table().to_owned())).collect();
    if let Some(c) = configured {
        candidates.retain(|(t, _)| *t != c.tool);
        candidates.insert(0, (c.tool, c.table.clone()));
    }
    let existing = db.existing_history_tables(&candidates).await?;
    let choice = choose_history(configured, discovery.layout, &existing);
    let exists = existing.iter().any(|(t, table)| *t == choice.tool && *table == choice.table);
    let applied = if exists { Some(db.read_history(choice.tool, &choice.table).await?) } else { None };
    let others: Vec<(HistoryTool, String)> = existing.into_iter().filter(|(t, _)| *t != choice.tool).collect();
    Ok(classify(discovery, &choice, applied.as_deref(), &others))
}

/// Pure part of `status`: classify the discovered migrations against history rows (`None` when
/// the history table does not exist). `other_tables` are history tables of other tools.
pub fn classify(
    discovery: &Discovery,
    choice: &HistoryChoice,
    applied: Option<&[AppliedMigration]>,
    other_tables: &[(HistoryTool, String)],
) -> StatusReport {
    let tool = choice.tool;
    let layout = discovery.layout;
    let mut findings = discovery.findings.clone();
    let rows = applied.unwrap_or(&[]);

    if applied.is_none() {
        findings.push(
            Finding::new(
                "history-table-missing",
                Severity::Warning,
                format!("the database has no `{}` table: no migration has been applied by {tool}", choice.table),
            )
            .at(Location::database(&choice.table))
            .help("a new database is expected to have none; an existing one was created by hand or by `db push` and needs a baseline"),
        );
    }
    for (other, table) in other_tables {
        findings.push(
            Finding::new(
                "history-mixed-tools",
                Severity::Warning,
                format!(
                    "the database also has {other}'s history table `{table}`: more than one migration tool writes to it"
                ),
            )
            .at(Location::database(table))
            .help(format!("pick one tool and stick with it; this project's migrations are read as {tool}'s")),
        );
    }
    if applied.is_some() && !tool.records_checksum() && !discovery.migrations.is_empty() {
        findings.push(Finding::new(
            "checksum-unavailable",
            Severity::Info,
            format!("{tool} records no checksums: edits to applied migrations cannot be detected from the database"),
        ));
    }

    // The effective row per key: a success wins over a failure, which wins over a rollback;
    // among equals the latest row wins.
    let mut effective: BTreeMap<(bool, &str), &AppliedMigration> = BTreeMap::new();
    let rank = |o: AppliedOutcome| match o {
        AppliedOutcome::Succeeded => 2,
        AppliedOutcome::Failed => 1,
        AppliedOutcome::RolledBack => 0,
    };
    let mut baseline: Option<Version> = None;
    for row in rows {
        if row.baseline {
            let v = version_from_key(layout, &row.key);
            if baseline.as_ref().is_none_or(|b| v > *b) {
                baseline = Some(v);
            }
            continue;
        }
        let slot = effective.entry((row.repeatable, row.key.as_str())).or_insert(row);
        if rank(row.outcome) >= rank(slot.outcome) {
            *slot = row;
        }
    }

    let mut entries = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    for m in &discovery.migrations {
        let repeatable = m.kind == MigrationKind::Repeatable;
        seen.insert((repeatable, m.history_key.as_str()));
        let row = effective.get(&(repeatable, m.history_key.as_str())).copied();
        let (state, applied_at) = match row {
            None => {
                let baselined = !repeatable && baseline.as_ref().is_some_and(|b| m.version <= *b);
                let state = if baselined { MigrationState::Applied } else { pending(false) };
                (state, None)
            }
            Some(r) => (state_for(tool, m, r, &mut findings), r.applied_at.clone()),
        };
        if let MigrationState::Pending { rolled_back, .. } = state {
            let (code, what) = if repeatable {
                ("migration-repeatable-pending", "repeatable migration changed; it will be re-applied")
            } else {
                ("migration-pending", "migration is not applied")
            };
            let msg = if rolled_back {
                format!("{} was rolled back and is not applied", m.history_key)
            } else {
                format!("{what}: {}", m.history_key)
            };
            findings.push(
                Finding::new(code, Severity::Warning, msg)
                    .at(Location::file(&m.path))
                    .help("apply it with your migration tool's deploy command"),
            );
        }
        entries.push(StatusEntry {
            version: if repeatable { "R".to_owned() } else { m.history_key.clone() },
            name: m.name.clone(),
            path: Some(m.path.clone()),
            state,
            applied_at,
            repeatable,
        });
    }
    for ((repeatable, key), row) in &effective {
        if seen.contains(&(*repeatable, *key)) || *repeatable || row.outcome == AppliedOutcome::RolledBack {
            continue;
        }
        let object = format!("{} ({key})", choice.table);
        let (state, finding) = if row.outcome == AppliedOutcome::Failed {
            (MigrationState::Failed, failed_finding(key, row, Location::database(&object)))
        } else {
            (
                MigrationState::MissingOnDisk,
                Finding::new(
                    "migration-missing",
                    Severity::Error,
                    format!("migration {key} is applied but its file is missing from {}", discovery.dir.display()),
                )
                .at(Location::database(object))
                .help("restore the file from version control: deleting an applied migration breaks every other database's history"),
            )
        };
        findings.push(finding);
        entries.push(StatusEntry {
            version: key.to_string(),
            name: row.name.clone().unwrap_or_default(),
            path: None,
            state,
            applied_at: row.applied_at.clone(),
            repeatable: false,
        });
    }

    mark_out_of_order(layout, tool, &mut entries, rows, &mut findings);
    entries.sort_by(|a, b| {
        (a.repeatable, version_from_key(layout, &a.version)).cmp(&(b.repeatable, version_from_key(layout, &b.version)))
    });
    StatusReport {
        tool,
        table: choice.table.clone(),
        table_exists: applied.is_some(),
        migrations_dir: discovery.dir.clone(),
        layout,
        entries,
        findings,
    }
}

fn pending(out_of_order: bool) -> MigrationState {
    MigrationState::Pending { out_of_order, rolled_back: false }
}

fn failed_finding(key: &str, row: &AppliedMigration, location: Location) -> Finding {
    let mut help =
        "fix the database by hand (the migration may be partly applied), then mark it rolled back or applied"
            .to_owned();
    if let Some(logs) = row.logs.as_deref().filter(|l| !l.trim().is_empty()) {
        help = format!("the tool recorded: {}\n{help}", logs.trim());
    }
    Finding::new("migration-failed", Severity::Error, format!("migration {key} failed or did not finish"))
        .at(location)
        .help(help)
}

fn state_for(tool: HistoryTool, m: &Migration, row: &AppliedMigration, findings: &mut Vec<Finding>) -> MigrationState {
    match row.outcome {
        AppliedOutcome::RolledBack => return MigrationState::Pending { out_of_order: false, rolled_back: true },
        AppliedOutcome::Failed => {
            findings.push(failed_finding(&m.history_key, row, Location::file(&m.path)));
            return MigrationState::Failed;
        }
        AppliedOutcome::Succeeded => {}
    }
    match compare_checksum(tool, m, row.checksum.as_deref()) {
        ChecksumMatch::Same | ChecksumMatch::Unknown => MigrationState::Applied,
        ChecksumMatch::Different if m.kind == MigrationKind::Repeatable => pending(false),
        ChecksumMatch::LineEndingsOnly if tool == HistoryTool::Prisma => {
            findings.push(
                Finding::new(
                    "migration-line-endings",
                    Severity::Info,
                    format!(
                        "migration {} differs from what was applied only in line endings; Prisma accepts that",
                        m.history_key
                    ),
                )
                .at(Location::file(&m.path)),
            );
            MigrationState::Applied
        }
        ChecksumMatch::LineEndingsOnly => {
            findings.push(
                Finding::new(
                    "migration-edited",
                    Severity::Error,
                    format!(
                        "migration {} differs from what was applied only in line endings or a byte-order mark; {tool} still sees a different checksum",
                        m.history_key
                    ),
                )
                .at(Location::file(&m.path))
                .help(
                    "restore the original bytes (`git checkout -- <file>`) and stop git from rewriting them: add `*.sql -text` \
                     to .gitattributes (or set `core.autocrlf=false`); the SQL itself is unchanged",
                ),
            );
            MigrationState::Edited { line_endings_only: true }
        }
        ChecksumMatch::Different => {
            findings.push(
                Finding::new(
                    "migration-edited",
                    Severity::Error,
                    format!("migration {} was edited after it was applied (checksum differs)", m.history_key),
                )
                .at(Location::file(&m.path))
                .help(
                    "don't edit applied migrations: restore the applied version from version control and put the change in a new migration",
                ),
            );
            MigrationState::Edited { line_endings_only: false }
        }
    }
}

/// Order key of a history row: the tool's rank when it has one, else the applied-at text (the
/// timestamps of one table share one format, so their text order is their time order).
fn apply_order(row: &AppliedMigration) -> Option<(i64, &str)> {
    match (row.rank, row.applied_at.as_deref()) {
        (Some(r), _) => Some((r, "")),
        (None, Some(t)) => Some((0, t)),
        (None, None) => None,
    }
}

fn mark_out_of_order(
    layout: Option<Layout>,
    tool: HistoryTool,
    entries: &mut [StatusEntry],
    rows: &[AppliedMigration],
    findings: &mut Vec<Finding>,
) {
    let order: BTreeMap<&str, (i64, &str)> = rows
        .iter()
        .filter(|r| !r.repeatable && !r.baseline && r.outcome == AppliedOutcome::Succeeded)
        .filter_map(|r| apply_order(r).map(|o| (r.key.as_str(), o)))
        .collect();
    let is_applied =
        |e: &StatusEntry| !e.repeatable && matches!(e.state, MigrationState::Applied | MigrationState::Edited { .. });
    let max_applied = entries.iter().filter(|e| is_applied(e)).map(|e| version_from_key(layout, &e.version)).max();

    // Walk versions from highest to lowest, tracking the earliest apply time among higher versions:
    // a migration applied strictly later than some higher version was applied out of order.
    let mut idx: Vec<usize> = (0..entries.len()).filter(|&i| !entries[i].repeatable).collect();
    idx.sort_by_key(|&i| std::cmp::Reverse(version_from_key(layout, &entries[i].version)));
    let mut earliest_higher: Option<((i64, &str), String)> = None;
    for i in idx {
        let applied = is_applied(&entries[i]);
        let own = order.get(entries[i].version.as_str()).copied();
        if let (true, Some(own), Some((earliest, higher))) = (applied, own, &earliest_higher)
            && *earliest < own
            && entries[i].state == MigrationState::Applied
        {
            entries[i].state = MigrationState::AppliedOutOfOrder;
            findings.push(
                Finding::new(
                    "migration-applied-out-of-order",
                    Severity::Warning,
                    format!("migration {} was applied after the later migration {higher}", entries[i].version),
                )
                .at(entries[i].path.clone().map_or_else(|| Location::database(&entries[i].version), Location::file))
                .help(
                    "the database's history differs from a fresh replay; check that both orders give the same schema",
                ),
            );
        }
        if let (true, Some(own)) = (applied, own)
            && earliest_higher.as_ref().is_none_or(|(e, _)| own < *e)
        {
            earliest_higher = Some((own, entries[i].version.clone()));
        }
        if let (MigrationState::Pending { rolled_back: false, .. }, Some(max)) = (entries[i].state, &max_applied)
            && version_from_key(layout, &entries[i].version) < *max
        {
            entries[i].state = pending(true);
            let severity = if tool == HistoryTool::Flyway { Severity::Error } else { Severity::Warning };
            findings.push(
                Finding::new(
                    "migration-pending-out-of-order",
                    severity,
                    format!("pending migration {} sorts before the latest applied migration {max}", entries[i].version),
                )
                .at(entries[i].path.clone().map_or_else(|| Location::database(&entries[i].version), Location::file))
                .help("it was probably merged from another branch: give it a version after the latest applied one, or confirm that applying it out of order is safe"),
            );
        }
    }
}

/// A history key as an orderable version for `layout`.
fn version_from_key(layout: Option<Layout>, key: &str) -> Version {
    match layout {
        Some(Layout::Sqlx) | None => key.parse().map(Version::Int).unwrap_or_else(|_| Version::Text(key.to_owned())),
        Some(Layout::Versioned) => Version::dotted(key).unwrap_or_else(|| Version::Text(key.to_owned())),
        Some(Layout::Diesel | Layout::Prisma) => Version::Text(key.to_owned()),
    }
}
