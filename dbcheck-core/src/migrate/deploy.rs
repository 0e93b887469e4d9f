//! `migrate deploy`: apply pending migrations under a database-level lock, refusing to start when
//! `status` says the history cannot be trusted, and recording each one as its tool would.

use std::time::{Duration, Instant};

use serde::Serialize;

use crate::db::{ApplyOutcome, Db, DbError, LockHolder};
use crate::migrations::{Discovery, HistoryTool, Migration};
use crate::report::{Finding, Location, Severity};
use crate::status::{HistoryChoice, MigrationState, migration_status};

/// How to deploy.
#[derive(Debug, Clone)]
pub struct DeployOptions {
    /// Give up waiting for another deploy's lock after this long.
    pub lock_timeout: Duration,
    /// Apply pending migrations that sort before the latest applied one.
    pub allow_out_of_order: bool,
    /// Check and plan only; apply nothing.
    pub dry_run: bool,
}

impl Default for DeployOptions {
    fn default() -> Self {
        DeployOptions { lock_timeout: Duration::from_secs(60), allow_out_of_order: false, dry_run: false }
    }
}

/// One migration this run applied.
#[derive(Debug, Clone, Serialize)]
pub struct DeployedMigration {
    /// The version as its tool records it.
    pub version: String,
    /// Its name.
    pub name: String,
    /// Its file.
    pub path: std::path::PathBuf,
    /// Time spent applying and recording it.
    pub elapsed_ms: u64,
}

/// The migration that failed.
#[derive(Debug, Clone, Serialize)]
pub struct FailedMigration {
    /// The version as its tool records it.
    pub version: String,
    /// Its file.
    pub path: std::path::PathBuf,
    /// The server's error.
    pub error: String,
    /// Whether the database is as it was before the migration.
    pub rolled_back: bool,
}

/// What `migrate deploy` did.
#[derive(Debug, Clone, Serialize)]
pub struct DeployReport {
    /// The tool whose history table records the migrations.
    pub tool: HistoryTool,
    /// The history table.
    pub table: String,
    /// Only checked and planned.
    pub dry_run: bool,
    /// Pending migrations found once the lock was held, in the order they apply.
    pub pending: Vec<String>,
    /// Applied by this run, in order.
    pub applied: Vec<DeployedMigration>,
    /// Found applied by a concurrent deploy when their turn came (SQLite).
    pub already_applied: Vec<String>,
    /// The migration that failed, which stopped the run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failed: Option<FailedMigration>,
    /// Time spent waiting for the deploy lock.
    pub lock_wait_ms: u64,
    /// Pre-flight data checks run against the live data.
    pub preflight_checks: usize,
    /// How many of them found violations (each one an error finding).
    pub preflight_failed: usize,
    /// Refusals, failures and the status findings behind them.
    pub findings: Vec<Finding>,
}

/// Sample rows shown per violated check.
const SAMPLES: usize = 5;

/// Status codes that make a deploy refuse to start.
const BLOCKING: &[&str] =
    &["migration-failed", "migration-edited", "migration-missing", "migration-pending-out-of-order"];

/// Apply every pending migration of `discovery` to `db`, in order, under the deploy lock.
///
/// Refuses (an error finding, nothing applied) when a migration failed earlier, an applied one was
/// edited or deleted, or a pending one sorts before an applied one (unless allowed). Stops at the
/// first failing migration, which is recorded as its tool records failures. `progress` is called
/// before each migration with its index and the number pending.
pub async fn deploy(
    discovery: &Discovery,
    configured: Option<&HistoryChoice>,
    db: &mut Db,
    options: &DeployOptions,
    progress: &mut dyn FnMut(usize, usize, &Migration),
) -> Result<DeployReport, DbError> {
    db.set_application_name("cargo-dbcheck migrate deploy").await?;
    let waited = Instant::now();
    let mut delay = Duration::from_millis(5);
    loop {
        if db.try_deploy_lock().await? {
            break;
        }
        if waited.elapsed() >= options.lock_timeout {
            let holder = db.deploy_lock_holder().await?;
            return Ok(lock_timeout_report(discovery, configured, options, waited.elapsed(), holder.as_ref()));
        }
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(Duration::from_millis(100));
    }
    let lock_wait_ms = u64::try_from(waited.elapsed().as_millis()).unwrap_or(u64::MAX);
    let result = deploy_locked(discovery, configured, db, options, lock_wait_ms, progress).await;
    let released = db.release_deploy_lock().await;
    let report = result?;
    released?;
    Ok(report)
}

fn lock_timeout_report(
    discovery: &Discovery,
    configured: Option<&HistoryChoice>,
    options: &DeployOptions,
    waited: Duration,
    holder: Option<&LockHolder>,
) -> DeployReport {
    let layout_tool = discovery.layout.map_or(HistoryTool::Sqlx, HistoryTool::for_layout);
    let (tool, table) =
        configured.map_or((layout_tool, layout_tool.default_table().to_owned()), |c| (c.tool, c.table.clone()));
    let who = holder.map_or_else(|| "another session".to_owned(), |h| format!("another session ({h})"));
    let finding = Finding::new(
        "deploy-lock-timeout",
        Severity::Error,
        format!("{who} holds the deploy lock; gave up after {:.1} s and applied nothing", waited.as_secs_f64()),
    )
    .help("wait for the other deploy to finish, or raise --lock-timeout; a killed deploy's lock is freed when its connection closes");
    DeployReport {
        tool,
        table,
        dry_run: options.dry_run,
        pending: Vec::new(),
        applied: Vec::new(),
        already_applied: Vec::new(),
        failed: None,
        lock_wait_ms: u64::try_from(waited.as_millis()).unwrap_or(u64::MAX),
        preflight_checks: 0,
        preflight_failed: 0,
        findings: vec![finding],
    }
}

async fn deploy_locked(
    discovery: &Discovery,
    configured: Option<&HistoryChoice>,
    db: &mut Db,
    options: &DeployOptions,
    lock_wait_ms: u64,
    progress: &mut dyn FnMut(usize, usize, &Migration),
) -> Result<DeployReport, DbError> {
    // Read the history only now: a deploy that waited for the lock sees what the holder applied.
    let status = migration_status(discovery, configured, db).await?;
    let mut report = DeployReport {
        tool: status.tool,
        table: status.table.clone(),
        dry_run: options.dry_run,
        pending: Vec::new(),
        applied: Vec::new(),
        already_applied: Vec::new(),
        failed: None,
        lock_wait_ms,
        preflight_checks: 0,
        preflight_failed: 0,
        findings: Vec::new(),
    };
    let blocking: Vec<Finding> = status
        .findings
        .iter()
        .filter(|f| BLOCKING.contains(&f.code))
        .filter(|f| !(options.allow_out_of_order && f.code == "migration-pending-out-of-order"))
        .cloned()
        .map(|mut f| {
            f.severity = Severity::Error;
            f
        })
        .collect();
    if !blocking.is_empty() {
        let n = blocking.len();
        report.findings.push(
            Finding::new(
                "deploy-refused",
                Severity::Error,
                format!("refusing to deploy: {n} problem{} in the migration history; nothing was applied", plural(n)),
            )
            .at(Location::database(&status.table))
            .help("fix the problems below first (restore edited or deleted files from version control; a failed migration needs a manual look); pass --allow-out-of-order to apply a migration merged from an older branch"),
        );
        report.findings.extend(blocking);
        return Ok(report);
    }
    let pending: Vec<&Migration> = status
        .entries
        .iter()
        .filter(|e| matches!(e.state, MigrationState::Pending { .. }))
        .filter_map(|e| discovery.migrations.iter().find(|m| e.path.as_deref() == Some(m.path.as_path())))
        .collect();
    report.pending = pending.iter().map(|m| m.history_key.clone()).collect();
    // Pre-flight: every statement that can fail on existing rows, checked against them first.
    let plan = crate::migrate::plan_preflight(&pending, db.dialect());
    for u in &plan.unchecked {
        report.findings.push(
            Finding::new(
                "preflight-unchecked",
                Severity::Info,
                format!("data not checked before deploy: {}", u.reason),
            )
            .at(Location::span(&u.path, u.span.clone())),
        );
    }
    for check in &plan.checks {
        report.preflight_checks += 1;
        match db.preflight_check(check, SAMPLES).await? {
            Ok(found) if found.violations > 0 => {
                report.preflight_failed += 1;
                report.findings.push(super::preflight::violation_finding(db.dialect(), check, &found));
            }
            Ok(_) => {}
            Err(reason) => report.findings.push(
                Finding::new(
                    "preflight-unchecked",
                    Severity::Info,
                    format!("data not checked before deploy: the check on `{}` failed: {reason}", check.table_sql()),
                )
                .at(Location::span(&check.path, check.span.clone())),
            ),
        }
    }
    if report.preflight_failed > 0 {
        let n = report.preflight_failed;
        report.findings.insert(
            0,
            Finding::new(
                "deploy-refused",
                Severity::Error,
                format!(
                    "refusing to deploy: {n} pending statement{} would fail on existing data; nothing was applied",
                    plural(n)
                ),
            )
            .at(Location::database(&status.table))
            .help("clean up the data (or change the migration as each finding suggests), then deploy again"),
        );
        return Ok(report);
    }
    if options.dry_run || pending.is_empty() {
        return Ok(report);
    }
    if !status.table_exists {
        db.ensure_history_table(status.tool, &status.table).await?;
    }
    let total = pending.len();
    let mut deferred: Option<String> = None;
    for (i, m) in pending.into_iter().enumerate() {
        progress(i, total, m);
        match db.apply_migration(status.tool, &status.table, m, deferred.take().as_deref()).await? {
            ApplyOutcome::Applied { elapsed, deferred: next } => {
                deferred = next;
                report.applied.push(DeployedMigration {
                    version: m.history_key.clone(),
                    name: m.name.clone(),
                    path: m.path.clone(),
                    elapsed_ms: u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX),
                });
            }
            ApplyOutcome::AlreadyApplied => report.already_applied.push(m.history_key.clone()),
            ApplyOutcome::Failed { error, rolled_back } => {
                let state = if rolled_back {
                    "it was rolled back: the database is as it was before it"
                } else {
                    "it was not rolled back: the statements before the failing one stay applied"
                };
                let help = if rolled_back {
                    "fix the migration (or the data it trips over) and deploy again".to_owned()
                } else {
                    format!(
                        "repair the database by hand, then mark the migration in `{}`; deploy refuses to continue until then",
                        status.table
                    )
                };
                report.findings.push(
                    Finding::new(
                        "deploy-migration-failed",
                        Severity::Error,
                        format!("migration {} failed: {error}; {state}", m.history_key),
                    )
                    .at(Location::file(&m.path))
                    .help(help),
                );
                report.failed =
                    Some(FailedMigration { version: m.history_key.clone(), path: m.path.clone(), error, rolled_back });
                break;
            }
        }
    }
    if let Some(last) = deferred {
        db.execute(&last, "recording the execution time").await?;
    }
    Ok(report)
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}
