//! `status`: every migration on disk and in the history table, classified, read-only.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Serialize;

use crate::db::{Db, DbError, accept_checksum_sql};
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
///
/// Without a layout (no migrations on disk) nothing tells the tool apart, so the first existing
/// table in [`HistoryTool::ALL`] order is read, and sqlx's when there is none.
pub fn choose_history(
    configured: Option<&HistoryChoice>,
    layout: Option<Layout>,
    existing: &[(HistoryTool, String)],
) -> HistoryChoice {
    if let Some(c) = configured {
        return c.clone();
    }
    // Reading an existing table of any tool beats reporting a missing sqlx table next to a
    // "mixed tools" warning: its rows are then reported as missing on disk, which is the truth.
    let (default, preference) = match layout {
        None => (HistoryTool::Sqlx, HistoryTool::ALL.to_vec()),
        Some(layout) => {
            let default = HistoryTool::for_layout(layout);
            let mut preference = vec![default];
            if layout == Layout::Versioned {
                preference.push(HistoryTool::Flyway);
            }
            preference.push(HistoryTool::Dbcheck);
            (default, preference)
        }
    };
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
    let mut report = classify(discovery, &choice, applied.as_deref(), &others);
    // The statement that accepts a line-ending-only edit depends on the dialect, which only the
    // connected side knows.
    let accepted: Vec<(&Migration, Option<String>)> = discovery
        .migrations
        .iter()
        .filter(|m| {
            report.entries.iter().any(|e| {
                e.path.as_deref() == Some(m.path.as_path())
                    && e.state == MigrationState::Edited { line_endings_only: true }
            })
        })
        .map(|m| (m, accept_checksum_sql(db.dialect(), choice.tool, &choice.table, m)))
        .collect();
    for (m, sql) in accepted {
        if let Some(sql) = sql
            && let Some(f) = report
                .findings
                .iter_mut()
                .find(|f| f.code == "migration-edited" && f.location == Some(Location::file(&m.path)))
        {
            f.fix_sql = Some(sql);
        }
    }
    Ok(report)
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

    // `U<n>__` files are forward migrations for refinery and undo scripts for Flyway.
    let mut unordered = std::collections::BTreeSet::new();
    let mut migrations = Vec::with_capacity(discovery.migrations.len());
    for m in &discovery.migrations {
        if m.kind != MigrationKind::Unversioned {
            migrations.push(m);
        } else if tool == HistoryTool::Refinery {
            unordered.insert(m.history_key.as_str());
            migrations.push(m);
        } else {
            findings.push(
                Finding::new(
                    "migration-undo-ignored",
                    Severity::Info,
                    format!("undo migration {} is not part of the forward history", m.path.display()),
                )
                .at(Location::file(&m.path)),
            );
        }
    }

    let mut entries = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    for m in migrations {
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
            let (code, what) = if repeatable && row.is_some() {
                ("migration-repeatable-pending", "repeatable migration changed; it will be re-applied")
            } else if repeatable {
                ("migration-repeatable-pending", "repeatable migration is not applied")
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

    mark_out_of_order(layout, tool, &mut entries, rows, &unordered, &mut findings);
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
                    "the SQL itself is unchanged: restore the original bytes (`git checkout -- <file>`) and stop git from \
                     rewriting them (`*.sql -text` in .gitattributes, or `core.autocrlf=false`); or accept the new bytes \
                     by recording their checksum with the fix SQL (it changes only the history table)",
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
    unordered: &std::collections::BTreeSet<&str>,
    findings: &mut Vec<Finding>,
) {
    let order: BTreeMap<&str, (i64, &str)> = rows
        .iter()
        .filter(|r| !r.repeatable && !r.baseline && r.outcome == AppliedOutcome::Succeeded)
        .filter_map(|r| apply_order(r).map(|o| (r.key.as_str(), o)))
        .collect();
    // A row whose file is gone was still applied: it counts for the order and for "latest applied".
    let is_applied = |e: &StatusEntry| {
        !e.repeatable
            && matches!(
                e.state,
                MigrationState::Applied | MigrationState::Edited { .. } | MigrationState::MissingOnDisk
            )
    };
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
            // refinery's unversioned (`U`) migrations are meant to run out of order.
            let severity =
                if unordered.contains(entries[i].version.as_str()) { Severity::Info } else { Severity::Warning };
            findings.push(
                Finding::new(
                    "migration-applied-out-of-order",
                    severity,
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
            let severity = if unordered.contains(entries[i].version.as_str()) {
                Severity::Info
            } else if tool == HistoryTool::Flyway {
                Severity::Error
            } else {
                Severity::Warning
            };
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    use crate::migrations::{TransactionMode, checksum};

    fn migration(layout: Layout, key: &str, sql: &str) -> Migration {
        let (version, name) = match layout {
            Layout::Sqlx => (Version::Int(key.parse().unwrap()), format!("m{key}")),
            Layout::Versioned => (Version::dotted(key).unwrap(), format!("m{}", key.replace('.', "_"))),
            Layout::Diesel | Layout::Prisma => (Version::Text(key.into()), format!("m{key}")),
        };
        Migration {
            version,
            history_key: key.into(),
            name,
            path: PathBuf::from(format!("migrations/{key}.sql")),
            bytes: sql.as_bytes().to_vec(),
            down_path: None,
            transaction: TransactionMode::Transaction,
            kind: MigrationKind::Versioned,
        }
    }

    fn repeatable(name: &str, sql: &str) -> Migration {
        Migration {
            version: Version::Dotted(Vec::new()),
            history_key: name.replace('_', " "),
            name: name.into(),
            path: PathBuf::from(format!("migrations/R__{name}.sql")),
            bytes: sql.as_bytes().to_vec(),
            down_path: None,
            transaction: TransactionMode::Transaction,
            kind: MigrationKind::Repeatable,
        }
    }

    fn discovery(layout: Option<Layout>, migrations: Vec<Migration>) -> Discovery {
        Discovery { dir: PathBuf::from("migrations"), layout, migrations, findings: Vec::new() }
    }

    /// A successful history row recording `m` as `tool` would (its checksum, computed from `m`).
    fn row_for(tool: HistoryTool, m: &Migration, applied_at: &str) -> AppliedMigration {
        AppliedMigration {
            key: m.history_key.clone(),
            name: Some(m.name.clone()),
            checksum: checksum(tool, m),
            applied_at: Some(applied_at.into()),
            rank: None,
            outcome: AppliedOutcome::Succeeded,
            logs: None,
            repeatable: m.kind == MigrationKind::Repeatable,
            baseline: false,
        }
    }

    /// A row for a migration that is not on disk.
    fn bare_row(key: &str, applied_at: &str) -> AppliedMigration {
        AppliedMigration {
            key: key.into(),
            name: Some(format!("gone {key}")),
            checksum: Some("00".into()),
            applied_at: Some(applied_at.into()),
            rank: None,
            outcome: AppliedOutcome::Succeeded,
            logs: None,
            repeatable: false,
            baseline: false,
        }
    }

    fn choice(tool: HistoryTool) -> HistoryChoice {
        HistoryChoice { tool, table: tool.default_table().to_owned() }
    }

    fn run(tool: HistoryTool, d: &Discovery, rows: &[AppliedMigration]) -> StatusReport {
        classify(d, &choice(tool), Some(rows), &[])
    }

    fn state(report: &StatusReport, version: &str) -> MigrationState {
        let found: Vec<_> = report.entries.iter().filter(|e| e.version == version).collect();
        assert_eq!(found.len(), 1, "one entry for {version}: {:#?}", report.entries);
        found[0].state
    }

    fn count(report: &StatusReport, code: &str) -> usize {
        report.findings.iter().filter(|f| f.code == code).count()
    }

    fn finding<'a>(report: &'a StatusReport, code: &str) -> &'a Finding {
        let found: Vec<_> = report.findings.iter().filter(|f| f.code == code).collect();
        assert_eq!(found.len(), 1, "one {code}: {:#?}", report.findings);
        found[0]
    }

    fn versions(report: &StatusReport) -> Vec<&str> {
        report.entries.iter().map(|e| e.version.as_str()).collect()
    }

    const PENDING: MigrationState = MigrationState::Pending { out_of_order: false, rolled_back: false };
    const PENDING_OUT_OF_ORDER: MigrationState = MigrationState::Pending { out_of_order: true, rolled_back: false };
    const ROLLED_BACK: MigrationState = MigrationState::Pending { out_of_order: false, rolled_back: true };

    // ---- applied / pending / missing table ----

    #[test]
    fn applied_and_pending() {
        let m1 = migration(Layout::Sqlx, "1", "CREATE TABLE a (id int);\n");
        let m2 = migration(Layout::Sqlx, "2", "CREATE TABLE b (id int);\n");
        let rows = [row_for(HistoryTool::Sqlx, &m1, "2024-01-01 10:00:00")];
        let report = run(HistoryTool::Sqlx, &discovery(Some(Layout::Sqlx), vec![m1, m2]), &rows);
        assert!(report.table_exists);
        assert_eq!(report.tool, HistoryTool::Sqlx);
        assert_eq!(report.table, "_sqlx_migrations");
        assert_eq!(state(&report, "1"), MigrationState::Applied);
        assert_eq!(state(&report, "2"), PENDING);
        let applied = &report.entries[0];
        assert_eq!(applied.applied_at.as_deref(), Some("2024-01-01 10:00:00"));
        assert_eq!(applied.path.as_deref(), Some(Path::new("migrations/1.sql")));
        assert_eq!(applied.name, "m1");
        assert_eq!(report.entries[1].applied_at, None);
        let pending = finding(&report, "migration-pending");
        assert_eq!(pending.severity, Severity::Warning);
        assert_eq!(pending.location, Some(Location::file("migrations/2.sql")));
        assert_eq!(report.findings.len(), 1, "{:#?}", report.findings);
        assert_eq!(report.summary(), StatusSummary { total: 2, applied: 1, pending: 1, ..StatusSummary::default() });
    }

    #[test]
    fn missing_history_table_means_everything_is_pending() {
        let d = discovery(
            Some(Layout::Sqlx),
            vec![migration(Layout::Sqlx, "1", "SELECT 1;\n"), migration(Layout::Sqlx, "2", "SELECT 2;\n")],
        );
        let report = classify(&d, &choice(HistoryTool::Sqlx), None, &[]);
        assert!(!report.table_exists);
        assert!(report.entries.iter().all(|e| e.state == PENDING), "{:#?}", report.entries);
        let missing = finding(&report, "history-table-missing");
        assert_eq!(missing.severity, Severity::Warning);
        assert_eq!(missing.location, Some(Location::database("_sqlx_migrations")));
        assert_eq!(count(&report, "migration-pending"), 2);
        assert_eq!(count(&report, "migration-pending-out-of-order"), 0);
        assert_eq!(count(&report, "checksum-unavailable"), 0);
    }

    #[test]
    fn an_existing_empty_table_is_not_missing() {
        let d = discovery(Some(Layout::Sqlx), vec![migration(Layout::Sqlx, "1", "SELECT 1;\n")]);
        let report = run(HistoryTool::Sqlx, &d, &[]);
        assert!(report.table_exists);
        assert_eq!(count(&report, "history-table-missing"), 0);
        assert_eq!(state(&report, "1"), PENDING);
    }

    #[test]
    fn discovery_findings_are_carried_over() {
        let mut d = discovery(Some(Layout::Sqlx), Vec::new());
        d.findings.push(Finding::new("migration-file-ignored", Severity::Warning, "x"));
        let report = run(HistoryTool::Sqlx, &d, &[]);
        assert_eq!(count(&report, "migration-file-ignored"), 1);
        assert!(report.entries.is_empty());
        assert_eq!(report.summary(), StatusSummary::default());
    }

    // ---- pending out of order ----

    #[test]
    fn pending_below_the_latest_applied_is_out_of_order() {
        let ms: Vec<_> = ["1", "2", "3", "4"].iter().map(|k| migration(Layout::Sqlx, k, "SELECT 1;\n")).collect();
        let rows = [
            row_for(HistoryTool::Sqlx, &ms[0], "2024-01-01 10:00:00"),
            row_for(HistoryTool::Sqlx, &ms[2], "2024-01-02 10:00:00"),
        ];
        let report = run(HistoryTool::Sqlx, &discovery(Some(Layout::Sqlx), ms), &rows);
        assert_eq!(state(&report, "1"), MigrationState::Applied);
        assert_eq!(state(&report, "2"), PENDING_OUT_OF_ORDER);
        assert_eq!(state(&report, "3"), MigrationState::Applied);
        assert_eq!(state(&report, "4"), PENDING);
        let f = finding(&report, "migration-pending-out-of-order");
        assert_eq!(f.severity, Severity::Warning);
        assert_eq!(f.location, Some(Location::file("migrations/2.sql")));
        assert_eq!(report.summary().pending, 2);
    }

    #[test]
    fn integer_versions_compare_numerically_for_out_of_order() {
        // Text order would put "10" before "9" and call 9 out of order.
        let m9 = migration(Layout::Sqlx, "9", "SELECT 9;\n");
        let m10 = migration(Layout::Sqlx, "10", "SELECT 10;\n");
        let rows = [row_for(HistoryTool::Sqlx, &m9, "2024-01-01 10:00:00")];
        let report = run(HistoryTool::Sqlx, &discovery(Some(Layout::Sqlx), vec![m10, m9]), &rows);
        assert_eq!(versions(&report), ["9", "10"]);
        assert_eq!(state(&report, "10"), PENDING);
        assert_eq!(count(&report, "migration-pending-out-of-order"), 0);
    }

    #[test]
    fn flyway_pending_out_of_order_is_an_error() {
        let ms: Vec<_> = ["1", "1.1", "1.10"].iter().map(|k| migration(Layout::Versioned, k, "SELECT 1;\n")).collect();
        let mut rows = vec![row_for(HistoryTool::Flyway, &ms[0], "t"), row_for(HistoryTool::Flyway, &ms[2], "t")];
        rows[0].rank = Some(1);
        rows[1].rank = Some(2);
        let report = run(HistoryTool::Flyway, &discovery(Some(Layout::Versioned), ms), &rows);
        // 1.1 < 1.10 numerically: pending below the latest applied.
        assert_eq!(state(&report, "1.1"), PENDING_OUT_OF_ORDER);
        assert_eq!(finding(&report, "migration-pending-out-of-order").severity, Severity::Error);
        assert_eq!(versions(&report), ["1", "1.1", "1.10"]);
    }

    #[test]
    fn pending_below_an_applied_migration_missing_on_disk_is_out_of_order() {
        let m1 = migration(Layout::Sqlx, "1", "SELECT 1;\n");
        let m2 = migration(Layout::Sqlx, "2", "SELECT 2;\n");
        let rows = [row_for(HistoryTool::Sqlx, &m1, "2024-01-01 10:00:00"), bare_row("3", "2024-01-02 10:00:00")];
        let report = run(HistoryTool::Sqlx, &discovery(Some(Layout::Sqlx), vec![m1, m2]), &rows);
        assert_eq!(state(&report, "2"), PENDING_OUT_OF_ORDER);
        assert_eq!(state(&report, "3"), MigrationState::MissingOnDisk);
    }

    // ---- failed ----

    #[test]
    fn sqlx_failed_rows_are_failed_with_their_logs() {
        let m1 = migration(Layout::Sqlx, "1", "SELECT 1;\n");
        let mut failed = row_for(HistoryTool::Sqlx, &m1, "2024-01-01 10:00:00");
        failed.outcome = AppliedOutcome::Failed;
        failed.logs = Some("  relation \"a\" already exists \n".into());
        let report = run(HistoryTool::Sqlx, &discovery(Some(Layout::Sqlx), vec![m1]), &[failed]);
        assert_eq!(state(&report, "1"), MigrationState::Failed);
        let f = finding(&report, "migration-failed");
        assert_eq!(f.severity, Severity::Error);
        assert_eq!(f.location, Some(Location::file("migrations/1.sql")));
        let help = f.help.as_deref().unwrap_or_default();
        assert!(help.contains("relation \"a\" already exists"), "{help}");
        assert_eq!(report.summary().failed, 1);
        assert_eq!(count(&report, "migration-pending"), 0);
    }

    #[test]
    fn prisma_unfinished_rolled_back_and_retried_rows() {
        let ms: Vec<_> = ["20240101_a", "20240102_b", "20240103_c", "20240104_d"]
            .iter()
            .map(|k| migration(Layout::Prisma, k, "SELECT 1;\n"))
            .collect();
        let row =
            |m: &Migration, at: &str, outcome| AppliedMigration { outcome, ..row_for(HistoryTool::Prisma, m, at) };
        let rows = [
            row(&ms[0], "2024-01-01 00:00:00", AppliedOutcome::Succeeded),
            // finished_at NULL: failed.
            row(&ms[1], "2024-01-02 00:00:00", AppliedOutcome::Failed),
            // Failed, then `migrate resolve --rolled-back`: pending again.
            row(&ms[2], "2024-01-03 00:00:00", AppliedOutcome::RolledBack),
            // Rolled back, then applied again: the success counts.
            row(&ms[3], "2024-01-04 00:00:00", AppliedOutcome::RolledBack),
            row(&ms[3], "2024-01-05 00:00:00", AppliedOutcome::Succeeded),
        ];
        let report = run(HistoryTool::Prisma, &discovery(Some(Layout::Prisma), ms), &rows);
        assert_eq!(state(&report, "20240101_a"), MigrationState::Applied);
        assert_eq!(state(&report, "20240102_b"), MigrationState::Failed);
        // Below the latest applied, but a rollback is not flagged as out of order.
        assert_eq!(state(&report, "20240103_c"), ROLLED_BACK);
        assert_eq!(state(&report, "20240104_d"), MigrationState::Applied);
        assert_eq!(count(&report, "migration-failed"), 1);
        assert_eq!(count(&report, "migration-pending"), 1);
        assert_eq!(count(&report, "migration-pending-out-of-order"), 0);
        assert_eq!(count(&report, "migration-applied-out-of-order"), 0);
        assert_eq!(
            report.summary(),
            StatusSummary { total: 4, applied: 2, pending: 1, failed: 1, ..StatusSummary::default() }
        );
    }

    #[test]
    fn a_failure_after_a_rollback_is_failed_and_a_success_beats_both() {
        let m = migration(Layout::Prisma, "20240101_a", "SELECT 1;\n");
        let row = |at: &str, outcome| AppliedMigration { outcome, ..row_for(HistoryTool::Prisma, &m, at) };
        let d = discovery(Some(Layout::Prisma), vec![m.clone()]);
        let rows = [row("1", AppliedOutcome::RolledBack), row("2", AppliedOutcome::Failed)];
        assert_eq!(state(&run(HistoryTool::Prisma, &d, &rows), "20240101_a"), MigrationState::Failed);
        let rows = [row("1", AppliedOutcome::Succeeded), row("2", AppliedOutcome::Failed)];
        assert_eq!(state(&run(HistoryTool::Prisma, &d, &rows), "20240101_a"), MigrationState::Applied);
    }

    // ---- edited ----

    #[test]
    fn edited_and_line_ending_only_edits() {
        let original = "CREATE TABLE a (id int);\nSELECT 1;\n";
        let recorded = |key| migration(Layout::Sqlx, key, original);
        let d = discovery(
            Some(Layout::Sqlx),
            vec![
                migration(Layout::Sqlx, "1", original),
                migration(Layout::Sqlx, "2", "CREATE TABLE a (id bigint);\nSELECT 1;\n"),
                migration(Layout::Sqlx, "3", "CREATE TABLE a (id int);\r\nSELECT 1;\r\n"),
                migration(Layout::Sqlx, "4", "\u{FEFF}CREATE TABLE a (id int);\nSELECT 1;\n"),
            ],
        );
        let rows: Vec<_> =
            ["1", "2", "3", "4"].iter().map(|k| row_for(HistoryTool::Sqlx, &recorded(k), "2024-01-01")).collect();
        let report = run(HistoryTool::Sqlx, &d, &rows);
        assert_eq!(state(&report, "1"), MigrationState::Applied);
        assert_eq!(state(&report, "2"), MigrationState::Edited { line_endings_only: false });
        assert_eq!(state(&report, "3"), MigrationState::Edited { line_endings_only: true });
        assert_eq!(state(&report, "4"), MigrationState::Edited { line_endings_only: true });
        assert_eq!(count(&report, "migration-edited"), 3);
        assert!(report.findings.iter().filter(|f| f.code == "migration-edited").all(|f| f.severity == Severity::Error));
        assert_eq!(report.summary().edited, 3);
    }

    #[test]
    fn prisma_line_ending_only_edits_are_applied_with_an_info() {
        let original = migration(Layout::Prisma, "20240101_a", "CREATE TABLE a (id int);\n");
        let rows = [row_for(HistoryTool::Prisma, &original, "2024-01-01")];
        let crlf = migration(Layout::Prisma, "20240101_a", "CREATE TABLE a (id int);\r\n");
        let report = run(HistoryTool::Prisma, &discovery(Some(Layout::Prisma), vec![crlf]), &rows);
        assert_eq!(state(&report, "20240101_a"), MigrationState::Applied);
        let f = finding(&report, "migration-line-endings");
        assert_eq!(f.severity, Severity::Info);
        assert_eq!(count(&report, "migration-edited"), 0);

        let edited = migration(Layout::Prisma, "20240101_a", "CREATE TABLE a (id bigint);\n");
        let report = run(HistoryTool::Prisma, &discovery(Some(Layout::Prisma), vec![edited]), &rows);
        assert_eq!(state(&report, "20240101_a"), MigrationState::Edited { line_endings_only: false });
    }

    #[test]
    fn refinery_edits_of_discovered_files_are_detected() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("V1__create_users.sql");
        std::fs::write(&path, "CREATE TABLE users (id int);\n").unwrap();
        let before = crate::migrations::discover_migrations(tmp.path(), None).unwrap();
        let rows = [row_for(HistoryTool::Refinery, &before.migrations[0], "2024-01-01")];
        assert!(rows[0].checksum.is_some(), "refinery records a checksum for V1");
        let report = run(HistoryTool::Refinery, &before, &rows);
        assert_eq!(state(&report, "1"), MigrationState::Applied);

        std::fs::write(&path, "CREATE TABLE users (id bigint);\n").unwrap();
        let after = crate::migrations::discover_migrations(tmp.path(), None).unwrap();
        let report = run(HistoryTool::Refinery, &after, &rows);
        assert_eq!(state(&report, "1"), MigrationState::Edited { line_endings_only: false });
    }

    #[test]
    fn flyway_does_not_see_line_ending_changes() {
        let lf = migration(Layout::Versioned, "1", "SELECT 1;\nSELECT 2;\n");
        let rows = [row_for(HistoryTool::Flyway, &lf, "2024-01-01")];
        let crlf = migration(Layout::Versioned, "1", "SELECT 1;\r\nSELECT 2;\r\n");
        let report = run(HistoryTool::Flyway, &discovery(Some(Layout::Versioned), vec![crlf]), &rows);
        assert_eq!(state(&report, "1"), MigrationState::Applied);
    }

    // ---- missing on disk ----

    #[test]
    fn applied_rows_without_files_are_missing_on_disk() {
        let m1 = migration(Layout::Sqlx, "1", "SELECT 1;\n");
        let m3 = migration(Layout::Sqlx, "3", "SELECT 3;\n");
        let mut failed = bare_row("4", "2024-01-04");
        failed.outcome = AppliedOutcome::Failed;
        let mut rolled_back = bare_row("5", "2024-01-05");
        rolled_back.outcome = AppliedOutcome::RolledBack;
        let rows = [
            row_for(HistoryTool::Sqlx, &m1, "2024-01-01"),
            bare_row("2", "2024-01-02"),
            row_for(HistoryTool::Sqlx, &m3, "2024-01-03"),
            failed,
            rolled_back,
        ];
        let report = run(HistoryTool::Sqlx, &discovery(Some(Layout::Sqlx), vec![m1, m3]), &rows);
        // Sorted by version, the missing row in its place; the rolled-back row is not reported.
        assert_eq!(versions(&report), ["1", "2", "3", "4"]);
        let missing = &report.entries[1];
        assert_eq!(missing.state, MigrationState::MissingOnDisk);
        assert_eq!(missing.path, None);
        assert_eq!(missing.name, "gone 2");
        assert_eq!(missing.applied_at.as_deref(), Some("2024-01-02"));
        let f = finding(&report, "migration-missing");
        assert_eq!(f.severity, Severity::Error);
        assert_eq!(f.location, Some(Location::database("_sqlx_migrations (2)")));
        assert_eq!(state(&report, "4"), MigrationState::Failed);
        assert_eq!(finding(&report, "migration-failed").location, Some(Location::database("_sqlx_migrations (4)")));
        assert_eq!(
            report.summary(),
            StatusSummary { total: 4, applied: 2, failed: 1, missing: 1, ..StatusSummary::default() }
        );
    }

    #[test]
    fn an_empty_folder_with_history_reports_every_row_missing() {
        let rows = [bare_row("1", "2024-01-01"), bare_row("2", "2024-01-02")];
        let report = run(HistoryTool::Sqlx, &discovery(None, Vec::new()), &rows);
        assert_eq!(report.layout, None);
        assert!(report.entries.iter().all(|e| e.state == MigrationState::MissingOnDisk));
        assert_eq!(count(&report, "migration-missing"), 2);
    }

    // ---- applied out of order ----

    #[test]
    fn a_lower_version_applied_later_is_applied_out_of_order() {
        let ms: Vec<_> = ["1", "2", "3"].iter().map(|k| migration(Layout::Sqlx, k, "SELECT 1;\n")).collect();
        let rows = [
            row_for(HistoryTool::Sqlx, &ms[0], "2024-01-01 10:00:00"),
            row_for(HistoryTool::Sqlx, &ms[1], "2024-01-03 10:00:00"),
            row_for(HistoryTool::Sqlx, &ms[2], "2024-01-02 10:00:00"),
        ];
        let report = run(HistoryTool::Sqlx, &discovery(Some(Layout::Sqlx), ms), &rows);
        assert_eq!(state(&report, "1"), MigrationState::Applied);
        assert_eq!(state(&report, "2"), MigrationState::AppliedOutOfOrder);
        assert_eq!(state(&report, "3"), MigrationState::Applied);
        let f = finding(&report, "migration-applied-out-of-order");
        assert_eq!(f.severity, Severity::Warning);
        assert_eq!(f.location, Some(Location::file("migrations/2.sql")));
        assert!(f.message.contains('3'), "{}", f.message);
        assert_eq!(report.summary().out_of_order, 1);
        assert_eq!(report.summary().applied, 2);
    }

    #[test]
    fn every_lower_version_applied_after_a_higher_one_is_flagged() {
        let ms: Vec<_> = ["1", "2", "3"].iter().map(|k| migration(Layout::Sqlx, k, "SELECT 1;\n")).collect();
        let rows = [
            row_for(HistoryTool::Sqlx, &ms[2], "2024-01-01"),
            row_for(HistoryTool::Sqlx, &ms[0], "2024-01-02"),
            row_for(HistoryTool::Sqlx, &ms[1], "2024-01-03"),
        ];
        let report = run(HistoryTool::Sqlx, &discovery(Some(Layout::Sqlx), ms), &rows);
        assert_eq!(state(&report, "1"), MigrationState::AppliedOutOfOrder);
        assert_eq!(state(&report, "2"), MigrationState::AppliedOutOfOrder);
        assert_eq!(state(&report, "3"), MigrationState::Applied);
    }

    #[test]
    fn equal_timestamps_are_not_out_of_order() {
        let ms: Vec<_> = ["1", "2", "3"].iter().map(|k| migration(Layout::Sqlx, k, "SELECT 1;\n")).collect();
        let rows: Vec<_> = ms.iter().rev().map(|m| row_for(HistoryTool::Sqlx, m, "2024-01-01 10:00:00")).collect();
        let report = run(HistoryTool::Sqlx, &discovery(Some(Layout::Sqlx), ms), &rows);
        assert!(report.entries.iter().all(|e| e.state == MigrationState::Applied), "{:#?}", report.entries);
        assert_eq!(count(&report, "migration-applied-out-of-order"), 0);
    }

    #[test]
    fn rows_without_an_apply_time_are_not_out_of_order() {
        let ms: Vec<_> = ["1", "2"].iter().map(|k| migration(Layout::Sqlx, k, "SELECT 1;\n")).collect();
        let mut rows: Vec<_> = ms.iter().map(|m| row_for(HistoryTool::Sqlx, m, "")).collect();
        rows[0].applied_at = None;
        rows[1].applied_at = Some("2024-01-01".into());
        let report = run(HistoryTool::Sqlx, &discovery(Some(Layout::Sqlx), ms), &rows);
        assert_eq!(count(&report, "migration-applied-out-of-order"), 0);
    }

    #[test]
    fn flyway_rank_decides_apply_order_over_timestamps() {
        let ms: Vec<_> = ["1", "2"].iter().map(|k| migration(Layout::Versioned, k, "SELECT 1;\n")).collect();
        let mut v1 = row_for(HistoryTool::Flyway, &ms[0], "2024-01-01");
        let mut v2 = row_for(HistoryTool::Flyway, &ms[1], "2024-01-02");
        // Timestamps say in order; ranks say V2 went first.
        v1.rank = Some(2);
        v2.rank = Some(1);
        let report = run(HistoryTool::Flyway, &discovery(Some(Layout::Versioned), ms.clone()), &[v1, v2]);
        assert_eq!(state(&report, "1"), MigrationState::AppliedOutOfOrder);
        assert_eq!(state(&report, "2"), MigrationState::Applied);

        let mut v1 = row_for(HistoryTool::Flyway, &ms[0], "2024-01-02");
        let mut v2 = row_for(HistoryTool::Flyway, &ms[1], "2024-01-01");
        v1.rank = Some(1);
        v2.rank = Some(2);
        let report = run(HistoryTool::Flyway, &discovery(Some(Layout::Versioned), ms), &[v1, v2]);
        assert_eq!(count(&report, "migration-applied-out-of-order"), 0);
    }

    #[test]
    fn edited_migrations_stay_edited_but_still_count_for_order() {
        let ms: Vec<_> = ["1", "2", "3"].iter().map(|k| migration(Layout::Sqlx, k, "SELECT 1;\n")).collect();
        let mut rows = vec![
            row_for(HistoryTool::Sqlx, &ms[0], "2024-01-03"),
            row_for(HistoryTool::Sqlx, &ms[1], "2024-01-02"),
            row_for(HistoryTool::Sqlx, &ms[2], "2024-01-01"),
        ];
        rows[0].checksum = Some("ab".into());
        rows[2].checksum = Some("cd".into());
        let report = run(HistoryTool::Sqlx, &discovery(Some(Layout::Sqlx), ms), &rows);
        assert_eq!(state(&report, "1"), MigrationState::Edited { line_endings_only: false });
        // 2 came after 3 (edited, but applied).
        assert_eq!(state(&report, "2"), MigrationState::AppliedOutOfOrder);
        assert_eq!(state(&report, "3"), MigrationState::Edited { line_endings_only: false });
    }

    #[test]
    fn a_higher_version_missing_on_disk_still_orders_the_history() {
        let m1 = migration(Layout::Sqlx, "1", "SELECT 1;\n");
        let rows = [row_for(HistoryTool::Sqlx, &m1, "2024-01-02"), bare_row("2", "2024-01-01")];
        let report = run(HistoryTool::Sqlx, &discovery(Some(Layout::Sqlx), vec![m1]), &rows);
        assert_eq!(state(&report, "1"), MigrationState::AppliedOutOfOrder);
        assert_eq!(state(&report, "2"), MigrationState::MissingOnDisk);
    }

    #[test]
    fn failed_rows_do_not_order_the_history() {
        let ms: Vec<_> = ["1", "2"].iter().map(|k| migration(Layout::Sqlx, k, "SELECT 1;\n")).collect();
        let mut failed = row_for(HistoryTool::Sqlx, &ms[1], "2024-01-01");
        failed.outcome = AppliedOutcome::Failed;
        let rows = [row_for(HistoryTool::Sqlx, &ms[0], "2024-01-02"), failed];
        let report = run(HistoryTool::Sqlx, &discovery(Some(Layout::Sqlx), ms), &rows);
        assert_eq!(state(&report, "1"), MigrationState::Applied);
        assert_eq!(state(&report, "2"), MigrationState::Failed);
    }

    // ---- Flyway baseline and repeatables ----

    #[test]
    fn flyway_baseline_counts_lower_versions_as_applied() {
        let ms: Vec<_> =
            ["1", "2", "2.5", "3", "4"].iter().map(|k| migration(Layout::Versioned, k, "SELECT 1;\n")).collect();
        let baseline = AppliedMigration {
            key: "2.5".into(),
            name: Some("<< Flyway Baseline >>".into()),
            checksum: None,
            applied_at: Some("2024-01-01".into()),
            rank: Some(1),
            outcome: AppliedOutcome::Succeeded,
            logs: None,
            repeatable: false,
            baseline: true,
        };
        let mut v3 = row_for(HistoryTool::Flyway, &ms[3], "2024-01-02");
        v3.rank = Some(2);
        let report = run(HistoryTool::Flyway, &discovery(Some(Layout::Versioned), ms), &[baseline, v3]);
        for v in ["1", "2", "2.5", "3"] {
            assert_eq!(state(&report, v), MigrationState::Applied, "{v}");
        }
        assert_eq!(state(&report, "4"), PENDING);
        assert_eq!(count(&report, "migration-pending"), 1);
        assert_eq!(count(&report, "migration-missing"), 0);
        assert_eq!(count(&report, "migration-applied-out-of-order"), 0);
    }

    #[test]
    fn a_baseline_row_without_a_file_is_not_missing() {
        let m = migration(Layout::Versioned, "2", "SELECT 1;\n");
        let baseline = AppliedMigration { baseline: true, checksum: None, ..bare_row("1", "2024-01-01") };
        let report = run(HistoryTool::Flyway, &discovery(Some(Layout::Versioned), vec![m]), &[baseline]);
        assert_eq!(versions(&report), ["2"]);
        assert_eq!(state(&report, "2"), PENDING);
    }

    #[test]
    fn flyway_repeatables_are_pending_when_changed_or_new() {
        let v1 = migration(Layout::Versioned, "1", "CREATE TABLE t (id int);\n");
        let old_view = repeatable("views", "CREATE VIEW v AS SELECT 1;\n");
        let new_view = repeatable("views", "CREATE VIEW v AS SELECT 2;\n");
        let func = repeatable("funcs", "CREATE FUNCTION f() RETURNS int AS 'SELECT 1' LANGUAGE sql;\n");
        let fresh = repeatable("a_new_one", "SELECT 1;\n");
        let mut rows = vec![
            row_for(HistoryTool::Flyway, &v1, "2024-01-01"),
            row_for(HistoryTool::Flyway, &old_view, "2024-01-01"),
            row_for(HistoryTool::Flyway, &func, "2024-01-01"),
            // A repeatable whose file is gone is not "missing": Flyway just stops re-applying it.
            row_for(HistoryTool::Flyway, &repeatable("dropped", "SELECT 1;\n"), "2024-01-01"),
        ];
        for (i, r) in rows.iter_mut().enumerate() {
            r.rank = Some(i64::try_from(i).unwrap() + 1);
        }
        let d = discovery(Some(Layout::Versioned), vec![v1, func, new_view, fresh]);
        let report = run(HistoryTool::Flyway, &d, &rows);
        assert_eq!(versions(&report), ["1", "R", "R", "R"]);
        let by_name = |name: &str| report.entries.iter().find(|e| e.name == name).map(|e| (e.state, e.repeatable));
        assert_eq!(by_name("funcs"), Some((MigrationState::Applied, true)));
        assert_eq!(by_name("views"), Some((PENDING, true)));
        assert_eq!(by_name("a_new_one"), Some((PENDING, true)));
        assert_eq!(count(&report, "migration-repeatable-pending"), 2);
        let message = |path: &str| {
            report
                .findings
                .iter()
                .find(|f| f.location == Some(Location::file(path)))
                .map(|f| f.message.clone())
                .unwrap_or_default()
        };
        assert!(message("migrations/R__views.sql").contains("changed"), "{}", message("migrations/R__views.sql"));
        assert!(message("migrations/R__a_new_one.sql").contains("not applied"));
        assert_eq!(count(&report, "migration-pending"), 0);
        assert_eq!(count(&report, "migration-missing"), 0);
        assert_eq!(count(&report, "migration-pending-out-of-order"), 0);
        // Repeatables sort last, in discovery order.
        let names: Vec<_> = report.entries.iter().map(|e| e.name.as_str()).collect();
        assert_eq!(names, ["m1", "funcs", "views", "a_new_one"]);
    }

    #[test]
    fn the_latest_successful_repeatable_row_counts() {
        let old = repeatable("views", "CREATE VIEW v AS SELECT 1;\n");
        let new = repeatable("views", "CREATE VIEW v AS SELECT 2;\n");
        let mut rows =
            vec![row_for(HistoryTool::Flyway, &old, "2024-01-01"), row_for(HistoryTool::Flyway, &new, "2024-01-02")];
        rows[0].rank = Some(1);
        rows[1].rank = Some(2);
        let report = run(HistoryTool::Flyway, &discovery(Some(Layout::Versioned), vec![new]), &rows);
        assert_eq!(report.entries[0].state, MigrationState::Applied);
    }

    // ---- other tools, diesel ----

    #[test]
    fn other_history_tables_are_mixed_tools() {
        let d = discovery(Some(Layout::Sqlx), vec![migration(Layout::Sqlx, "1", "SELECT 1;\n")]);
        let others = [
            (HistoryTool::Diesel, "__diesel_schema_migrations".to_owned()),
            (HistoryTool::Flyway, "flyway_schema_history".to_owned()),
        ];
        let report = classify(&d, &choice(HistoryTool::Sqlx), Some(&[]), &others);
        assert_eq!(count(&report, "history-mixed-tools"), 2);
        let locations: Vec<_> = report
            .findings
            .iter()
            .filter(|f| f.code == "history-mixed-tools")
            .map(|f| (f.severity, f.location.clone()))
            .collect();
        assert_eq!(
            locations,
            [
                (Severity::Warning, Some(Location::database("__diesel_schema_migrations"))),
                (Severity::Warning, Some(Location::database("flyway_schema_history"))),
            ]
        );
        let report = classify(&d, &choice(HistoryTool::Sqlx), Some(&[]), &[]);
        assert_eq!(count(&report, "history-mixed-tools"), 0);
    }

    #[test]
    fn diesel_records_no_checksum() {
        let ms: Vec<_> =
            ["20200101000000", "20200102000000"].iter().map(|k| migration(Layout::Diesel, k, "SELECT 1;\n")).collect();
        let rows = [row_for(HistoryTool::Diesel, &ms[0], "2024-01-01")];
        assert_eq!(rows[0].checksum, None);
        let report = run(HistoryTool::Diesel, &discovery(Some(Layout::Diesel), ms.clone()), &rows);
        assert_eq!(state(&report, "20200101000000"), MigrationState::Applied);
        assert_eq!(state(&report, "20200102000000"), PENDING);
        let f = finding(&report, "checksum-unavailable");
        assert_eq!(f.severity, Severity::Info);

        // No table or no migrations: nothing to say about checksums.
        let report = classify(&discovery(Some(Layout::Diesel), ms), &choice(HistoryTool::Diesel), None, &[]);
        assert_eq!(count(&report, "checksum-unavailable"), 0);
        let report = run(HistoryTool::Diesel, &discovery(Some(Layout::Diesel), Vec::new()), &rows);
        assert_eq!(count(&report, "checksum-unavailable"), 0);
        // Tools that record checksums never say it.
        let report =
            run(HistoryTool::Sqlx, &discovery(Some(Layout::Sqlx), vec![migration(Layout::Sqlx, "1", "x")]), &[]);
        assert_eq!(count(&report, "checksum-unavailable"), 0);
    }

    #[test]
    fn diesel_versions_order_as_text() {
        let ms: Vec<_> =
            ["20170923182408", "20140924113530"].iter().map(|k| migration(Layout::Diesel, k, "SELECT 1;\n")).collect();
        let rows = [row_for(HistoryTool::Diesel, &ms[0], "2024-01-01")];
        let report = run(HistoryTool::Diesel, &discovery(Some(Layout::Diesel), ms), &rows);
        assert_eq!(versions(&report), ["20140924113530", "20170923182408"]);
        assert_eq!(state(&report, "20140924113530"), PENDING_OUT_OF_ORDER);
    }

    // ---- choose_history ----

    #[test]
    fn choose_history_prefers_configuration_then_the_layouts_tool() {
        let all: Vec<_> = HistoryTool::ALL.iter().map(|t| (*t, t.default_table().to_owned())).collect();
        let configured = HistoryChoice { tool: HistoryTool::Dbcheck, table: "my_history".into() };
        assert_eq!(choose_history(Some(&configured), Some(Layout::Sqlx), &all), configured);
        assert_eq!(choose_history(None, Some(Layout::Sqlx), &all), choice(HistoryTool::Sqlx));
        assert_eq!(choose_history(None, Some(Layout::Diesel), &all), choice(HistoryTool::Diesel));
        assert_eq!(choose_history(None, Some(Layout::Prisma), &all), choice(HistoryTool::Prisma));
        assert_eq!(choose_history(None, Some(Layout::Versioned), &all), choice(HistoryTool::Refinery));
    }

    #[test]
    fn choose_history_falls_back_to_flyway_then_dbcheck_then_the_default() {
        let only = |t: HistoryTool| vec![(t, t.default_table().to_owned())];
        let both = vec![
            (HistoryTool::Dbcheck, "_dbcheck_migrations".to_owned()),
            (HistoryTool::Flyway, "flyway_schema_history".to_owned()),
        ];
        assert_eq!(choose_history(None, Some(Layout::Versioned), &both), choice(HistoryTool::Flyway));
        assert_eq!(
            choose_history(None, Some(Layout::Versioned), &only(HistoryTool::Dbcheck)),
            choice(HistoryTool::Dbcheck)
        );
        assert_eq!(choose_history(None, Some(Layout::Sqlx), &only(HistoryTool::Dbcheck)), choice(HistoryTool::Dbcheck));
        // Flyway does not read sqlx folders, nor diesel prisma's.
        assert_eq!(choose_history(None, Some(Layout::Sqlx), &only(HistoryTool::Flyway)), choice(HistoryTool::Sqlx));
        assert_eq!(choose_history(None, Some(Layout::Prisma), &only(HistoryTool::Diesel)), choice(HistoryTool::Prisma));
        assert_eq!(choose_history(None, Some(Layout::Versioned), &[]), choice(HistoryTool::Refinery));
        // The table name found in the database is kept.
        let renamed = [(HistoryTool::Sqlx, "custom_sqlx".to_owned())];
        assert_eq!(
            choose_history(None, Some(Layout::Sqlx), &renamed),
            HistoryChoice { tool: HistoryTool::Sqlx, table: "custom_sqlx".into() }
        );
    }

    #[test]
    fn choose_history_without_a_layout_reads_whatever_table_exists() {
        let only = |t: HistoryTool| vec![(t, t.default_table().to_owned())];
        assert_eq!(choose_history(None, None, &[]), choice(HistoryTool::Sqlx));
        assert_eq!(choose_history(None, None, &only(HistoryTool::Sqlx)), choice(HistoryTool::Sqlx));
        assert_eq!(choose_history(None, None, &only(HistoryTool::Diesel)), choice(HistoryTool::Diesel));
        assert_eq!(choose_history(None, None, &only(HistoryTool::Flyway)), choice(HistoryTool::Flyway));
    }

    #[test]
    fn labels_name_every_state() {
        assert_eq!(MigrationState::Applied.label(), "applied");
        assert_eq!(PENDING.label(), "pending");
        assert_eq!(PENDING_OUT_OF_ORDER.label(), "pending, out of order");
        assert_eq!(ROLLED_BACK.label(), "pending (rolled back)");
        assert_eq!(MigrationState::Failed.label(), "failed");
        assert_eq!(MigrationState::Edited { line_endings_only: true }.label(), "edited (line endings only)");
        assert_eq!(MigrationState::Edited { line_endings_only: false }.label(), "edited after apply");
        assert_eq!(MigrationState::MissingOnDisk.label(), "missing on disk");
        assert_eq!(MigrationState::AppliedOutOfOrder.label(), "applied out of order");
        let json = serde_json::to_value(PENDING_OUT_OF_ORDER).unwrap();
        assert_eq!(json, serde_json::json!({"state": "pending", "out_of_order": true, "rolled_back": false}));
    }

    #[test]
    fn u_files_are_undo_scripts_for_flyway_and_unordered_migrations_for_refinery() {
        let v1 = migration(Layout::Versioned, "1", "CREATE TABLE a (id int);\n");
        let v3 = migration(Layout::Versioned, "3", "CREATE TABLE c (id int);\n");
        let mut u2 = migration(Layout::Versioned, "2", "CREATE TABLE b (id int);\n");
        u2.kind = MigrationKind::Unversioned;
        let d = discovery(Some(Layout::Versioned), vec![v1.clone(), u2.clone(), v3.clone()]);

        // Flyway: an undo script, not part of the forward history.
        let rows = [row_for(HistoryTool::Flyway, &v1, "2024-01-01"), row_for(HistoryTool::Flyway, &v3, "2024-01-02")];
        let flyway = run(HistoryTool::Flyway, &d, &rows);
        assert_eq!(flyway.entries.len(), 2);
        let undo: Vec<_> = flyway.findings.iter().filter(|f| f.code == "migration-undo-ignored").collect();
        assert_eq!(undo.len(), 1);
        assert_eq!(undo[0].severity, Severity::Info);

        // refinery: a forward migration; pending below the latest applied is expected, so only info.
        let rows =
            [row_for(HistoryTool::Refinery, &v1, "2024-01-01"), row_for(HistoryTool::Refinery, &v3, "2024-01-02")];
        let refinery = run(HistoryTool::Refinery, &d, &rows);
        assert_eq!(state(&refinery, "2"), MigrationState::Pending { out_of_order: true, rolled_back: false });
        let ooo = refinery.findings.iter().find(|f| f.code == "migration-pending-out-of-order").unwrap();
        assert_eq!(ooo.severity, Severity::Info);
        assert!(refinery.findings.iter().all(|f| f.code != "migration-undo-ignored"));
    }
}
