//! Test gates: `cargo test` fails on drift. Offline, always: the declared sources (diesel
//! `schema.rs`, `schema.sql`, `#[schema_guard]` structs) against the schema the migrations
//! produce. Live, when a database URL is given or configured: the database's migration history
//! (pending, edited, failed, missing on disk, out of order) and its schema against the migrations'
//! (replayed in a throwaway database, the way `cargo dbcheck drift` does).
//!
//! [`drift_tests!`](crate::drift_tests) writes both tests for a crate:
//!
//! ```no_run
//! // tests/dbcheck.rs
//! dbcheck::drift_tests!();
//! ```
//!
//! The live test reads the URL from the crate's configured variable (`database_url_env`, default
//! `DATABASE_URL`, also from `.env`). When none is set it prints a loud `SKIPPED` line, and it
//! fails when the `CI` environment variable is set (to anything but `false` or `0`): a gate that
//! cannot run in CI must not pass there. It never silently passes.

use std::fmt::Write as _;
use std::path::Path;

use dbcheck_core::config::{ConfigError, Project, load_project_at};
use dbcheck_core::db::{ConnectOptions, DatabaseUrl, DbError, Dialect, ShadowServer, connect};
use dbcheck_core::declared::{DeclaredError, check_declared};
use dbcheck_core::diff::{compare, introspect_options};
use dbcheck_core::migrations::{DiscoveryError, discover_migrations};
use dbcheck_core::replay::{ReplayError, ReplayOptions, ReplayTarget, replay_migrations};
use dbcheck_core::sql::{interpret_migrations, unmodelled_findings};
use dbcheck_core::status::{MigrationState, StatusReport, migration_status};
use dbcheck_core::{Finding, Severity};

/// Anything that keeps a gate from running (as opposed to drift, which is findings).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum GateError {
    /// The package's dbcheck configuration is invalid.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The migrations cannot be read.
    #[error(transparent)]
    Discovery(#[from] DiscoveryError),
    /// A declared source cannot be read.
    #[error(transparent)]
    Declared(#[from] DeclaredError),
    /// The database failed.
    #[error(transparent)]
    Db(#[from] DbError),
    /// The migrations could not be replayed in a throwaway database.
    #[error(transparent)]
    Replay(#[from] ReplayError),
    /// Static interpretation does not read this dialect.
    #[error("static interpretation reads PostgreSQL and SQLite migrations, not {0}")]
    Dialect(Dialect),
}

/// The dialect the offline checks interpret the migrations in: the configured `dialect`, else
/// PostgreSQL (as the `#[schema_guard]` macro does).
fn offline_dialect(project: &Project) -> Result<Dialect, GateError> {
    match project.settings.dialect.unwrap_or(Dialect::Postgres) {
        Dialect::Mysql => Err(GateError::Dialect(Dialect::Mysql)),
        d => Ok(d),
    }
}

/// Every offline finding for the crate at `manifest_dir`: discovery problems, each declared
/// source's mismatches, the guarded structs' mismatches, and the statements static interpretation
/// skipped (warnings).
pub fn offline_findings(manifest_dir: impl AsRef<Path>) -> Result<Vec<Finding>, GateError> {
    let root = manifest_dir.as_ref();
    let project = load_project_at(root)?;
    let dialect = offline_dialect(&project)?;
    let discovery = discover_migrations(&project.settings.migrations_dir, project.settings.layout)?;
    let ours = interpret_migrations(&discovery, dialect);
    let mut findings = discovery.findings.clone();
    let checked = check_declared(&project.root, &project.settings.declared, &ours, dialect, true)?;
    findings.extend(checked.findings);
    findings.extend(unmodelled_findings(&ours));
    Ok(findings)
}

/// Panic, listing them, when the offline findings of the crate at `manifest_dir` reach its
/// `fail_on` severity (errors by default) — or when the check cannot run.
pub fn assert_no_offline_drift(manifest_dir: impl AsRef<Path>) {
    let root = manifest_dir.as_ref();
    let fail_on = load_project_at(root).map(|p| p.settings.fail_on).unwrap_or(Severity::Error);
    match offline_findings(root) {
        Ok(findings) => {
            let failing: Vec<&Finding> = findings.iter().filter(|f| f.severity >= fail_on).collect();
            if !failing.is_empty() {
                panic!(
                    "dbcheck: the declared schema does not match the migrations ({} finding(s)):\n{}",
                    failing.len(),
                    render(root, &failing)
                );
            }
        }
        Err(e) => panic!("dbcheck: the offline drift check could not run for {}: {e}", root.display()),
    }
}

/// What the live gate found.
#[derive(Debug)]
pub struct LiveReport {
    /// Where every migration stands on the database.
    pub status: StatusReport,
    /// The status problems and the schema drift, in that order.
    pub findings: Vec<Finding>,
    /// Migrations on disk the database has not applied.
    pub pending: Vec<String>,
}

impl LiveReport {
    /// What fails the gate: every pending migration, status findings of warning or worse
    /// (edited, failed, missing on disk, out of order, no history table), drift findings at
    /// `fail_on` or worse.
    pub fn failures(&self, fail_on: Severity) -> Vec<String> {
        let mut out: Vec<String> = self.pending.iter().map(|v| format!("migration {v} is pending")).collect();
        let status_codes: Vec<&str> = self.status.findings.iter().map(|f| f.code).collect();
        for f in &self.findings {
            let floor = if status_codes.contains(&f.code) { Severity::Warning.min(fail_on) } else { fail_on };
            if f.severity >= floor {
                out.push(format!("{}[{}]: {}", f.severity, f.code, f.message));
            }
        }
        out
    }
}

/// The throwaway database replay uses for `url`'s dialect: in-memory SQLite, else the configured
/// shadow server or `url`'s own server.
fn replay_target(project: &Project, url: &DatabaseUrl) -> Result<ReplayTarget, GateError> {
    if url.dialect() == Dialect::Sqlite {
        return Ok(ReplayTarget::SqliteMemory);
    }
    let base = project.shadow_database_url()?.unwrap_or_else(|| url.clone());
    Ok(ReplayTarget::Server(ShadowServer::new(&base, project.settings.connect_timeout)))
}

/// The live gate's findings for the crate at `manifest_dir` against the database at `url`
/// (read-only): its migration status, and its schema compared with the applied migrations'
/// replay (pending migrations are reported as pending, not as drift).
pub async fn live_findings(manifest_dir: impl AsRef<Path>, url: &str) -> Result<LiveReport, GateError> {
    let project = load_project_at(manifest_dir.as_ref())?;
    let discovery = discover_migrations(&project.settings.migrations_dir, project.settings.layout)?;
    let url = DatabaseUrl::parse(url)?;
    let options = ConnectOptions { read_only: true, timeout: project.settings.connect_timeout };
    let mut db = connect(&url, &options).await?;
    let status = match migration_status(&discovery, project.settings.history.as_ref(), &mut db).await {
        Ok(s) => s,
        Err(e) => {
            db.close().await;
            return Err(e.into());
        }
    };
    let pending: Vec<String> = status
        .entries
        .iter()
        .filter(|e| matches!(e.state, MigrationState::Pending { .. }))
        .map(|e| e.version.clone())
        .collect();
    // Compare with the migrations the history records: pending ones are not drift.
    let mut reference = discovery.clone();
    if status.table_exists {
        reference.migrations.retain(|m| {
            !status.entries.iter().any(|e| {
                matches!(e.state, MigrationState::Pending { .. }) && e.path.as_deref() == Some(m.path.as_path())
            })
        });
    }
    let target = match replay_target(&project, &url) {
        Ok(t) => t,
        Err(e) => {
            db.close().await;
            return Err(e);
        }
    };
    let history_table =
        project.settings.history.as_ref().map(|h| h.table.clone()).unwrap_or_else(|| status.table.clone());
    let replay_options = ReplayOptions {
        introspect: introspect_options(&project.settings.schemas, Some(&history_table)),
        cache: project.settings.replay_cache,
        cache_dir: Some(project.workspace_root.join("target/dbcheck/replay")),
        owner: format!("{} {}", project.settings.migrations_dir.display(), url.redacted()),
    };
    let replay = match replay_migrations(&reference, &target, &replay_options).await {
        Ok(r) => r,
        Err(e) => {
            db.close().await;
            return Err(e.into());
        }
    };
    let actual = db.introspect(&replay_options.introspect).await;
    db.close().await;
    let drift = compare(replay, actual?);
    let mut findings = status.findings.clone();
    findings.extend(drift.findings);
    Ok(LiveReport { status, findings, pending })
}

/// Panic, listing what is wrong, unless the database at `url` has every migration of the crate at
/// `manifest_dir` applied unedited and its schema matches them (see [`LiveReport::failures`]).
/// Runs its own async runtime: call it from a plain `#[test]`, or use [`live_findings`] in an
/// async test.
pub fn assert_live_matches(manifest_dir: impl AsRef<Path>, url: &str) {
    let root = manifest_dir.as_ref();
    let fail_on = load_project_at(root).map(|p| p.settings.fail_on).unwrap_or(Severity::Error);
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => panic!("dbcheck: cannot start an async runtime for the live gate: {e}"),
    };
    let redacted = dbcheck_core::db::redact_url(url);
    let report = match runtime.block_on(live_findings(root, url)) {
        Ok(r) => r,
        Err(e) => panic!("dbcheck: the live drift check could not run against {redacted}: {e}"),
    };
    let failures = report.failures(fail_on);
    if !failures.is_empty() {
        let mut text = String::new();
        for f in &failures {
            let _ = writeln!(text, "  {f}");
        }
        panic!(
            "dbcheck: the database {redacted} does not match the migrations of {} ({} problem(s)):\n{text}\
             run `cargo dbcheck status` and `cargo dbcheck drift` against it for details",
            root.display(),
            failures.len()
        );
    }
}

/// Whether the `CI` environment variable says this is a CI run.
fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0")
}

/// The live gate with the URL from the crate's configuration (`database_url_env`, default
/// `DATABASE_URL`, from the environment or a `.env` file). Without one: a loud `SKIPPED` line on
/// stderr, and a panic when `CI` is set.
pub fn live_gate(manifest_dir: impl AsRef<Path>) {
    let root = manifest_dir.as_ref();
    let project = match load_project_at(root) {
        Ok(p) => p,
        Err(e) => panic!("dbcheck: cannot read the configuration of {}: {e}", root.display()),
    };
    let url = match project.database_url(None) {
        Ok(u) => u,
        Err(e) => panic!("dbcheck: invalid database URL for {}: {e}", root.display()),
    };
    let Some(url) = url else {
        let var = &project.settings.database_url_env;
        if in_ci() {
            panic!("dbcheck: live drift gate: {var} is not set, and CI is: set {var} to the test database's URL");
        }
        eprintln!(
            "SKIPPED dbcheck live drift gate for {}: {var} is not set (set it, or a .env entry, to check a test database; \
             under CI this fails)",
            project.name
        );
        return;
    };
    // The URL may carry a password: only its redacted form is ever printed.
    assert_live_matches(root, url.expose());
}

/// Findings as lines: `severity[code]: message (file:line)` with help underneath.
fn render(root: &Path, findings: &[&Finding]) -> String {
    let mut out = String::new();
    for f in findings {
        let _ = write!(out, "  {}[{}]: {}", f.severity, f.code, f.message);
        if let Some(at) = crate::build::location_text(root, f) {
            let _ = write!(out, " ({at})");
        }
        out.push('\n');
        if let Some(help) = &f.help {
            let _ = writeln!(out, "      help: {help}");
        }
    }
    out
}

/// Generate the drift tests of the calling crate: `dbcheck_offline_drift` (always runs) and
/// `dbcheck_live_drift` (against the configured database URL; a loud skip without one, a failure
/// without one under `CI`). `drift_tests!(database_url = EXPR)` runs the live test against the
/// URL `EXPR` evaluates to instead (a `&str` or `String`; for a test database the test sets up).
#[macro_export]
macro_rules! drift_tests {
    () => {
        #[test]
        fn dbcheck_offline_drift() {
            $crate::testing::assert_no_offline_drift(env!("CARGO_MANIFEST_DIR"));
        }

        #[test]
        fn dbcheck_live_drift() {
            $crate::testing::live_gate(env!("CARGO_MANIFEST_DIR"));
        }
    };
    (database_url = $url:expr $(,)?) => {
        #[test]
        fn dbcheck_offline_drift() {
            $crate::testing::assert_no_offline_drift(env!("CARGO_MANIFEST_DIR"));
        }

        #[test]
        fn dbcheck_live_drift() {
            let url: ::std::string::String = ::std::convert::Into::into($url);
            $crate::testing::assert_live_matches(env!("CARGO_MANIFEST_DIR"), &url);
        }
    };
}
