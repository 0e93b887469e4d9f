//! `status` against real PostgreSQL, SQLite and MariaDB databases.
//!
//! One module per migration tool. Each builds a scenario for real on a fresh database: it writes a
//! migrations folder, applies migrations with the tool itself where a Rust crate exists (sqlx's
//! `Migrator`, diesel's `MigrationHarness`, refinery's `Runner`) or writes the history exactly as
//! the tool does where none does (Prisma, Flyway, diesel on MariaDB, dbcheck's own table), and
//! then edits, converts or deletes files the way people do. Every scenario puts all the states it
//! can into one database, and then `migration_status` must report the states written by hand in
//! the scenario, the summary counts and the finding codes — without writing to the database.
//!
//! Each `(tool, backend)` pair is one test, named `status::<tool>::<backend>`.
#![expect(clippy::unwrap_used, reason = "scenario helpers fail the test loudly on setup errors")]

mod dbcheck_table;
mod diesel;
mod flyway;
mod general;
mod prisma;
mod refinery;
mod sqlx;

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use ::sqlx::{AssertSqlSafe, Connection as _, MySqlConnection, PgConnection, SqliteConnection};
use dbcheck_core::db::{ConnectOptions, DatabaseUrl, connect};
use dbcheck_core::migrations::{Discovery, HistoryTool, Layout, discover_migrations};
use dbcheck_core::status::{MigrationState, StatusReport, StatusSummary, migration_status};
use dbcheck_tests::{Backend, TestDb};

/// Applied, and the file matches.
pub(crate) const APPLIED: MigrationState = MigrationState::Applied;
/// Not applied, after every applied migration.
pub(crate) const PENDING: MigrationState = MigrationState::Pending { out_of_order: false, rolled_back: false };
/// Not applied, sorting before an applied migration.
pub(crate) const PENDING_OUT_OF_ORDER: MigrationState =
    MigrationState::Pending { out_of_order: true, rolled_back: false };
/// Applied once, then marked rolled back.
pub(crate) const ROLLED_BACK: MigrationState = MigrationState::Pending { out_of_order: false, rolled_back: true };
/// Started and failed or never finished.
pub(crate) const FAILED: MigrationState = MigrationState::Failed;
/// Applied, then its SQL changed.
pub(crate) const EDITED: MigrationState = MigrationState::Edited { line_endings_only: false };
/// Applied, then only its line endings changed.
pub(crate) const EDITED_LINE_ENDINGS: MigrationState = MigrationState::Edited { line_endings_only: true };
/// Applied, file deleted.
pub(crate) const MISSING: MigrationState = MigrationState::MissingOnDisk;
/// Applied after a higher version.
pub(crate) const APPLIED_OUT_OF_ORDER: MigrationState = MigrationState::AppliedOutOfOrder;

pub(crate) use dbcheck_tests::per_backend;

/// What `status` must report for a scenario, written by hand.
pub(crate) struct Expected<'a> {
    /// The tool whose history table must be read.
    pub tool: HistoryTool,
    /// The layout discovery must detect.
    pub layout: Layout,
    /// Every entry, in report order: the version (`R__<name>` for a repeatable) and its state.
    pub states: &'a [(&'a str, MigrationState)],
    /// The summary counts.
    pub summary: StatusSummary,
    /// Every distinct finding code.
    pub findings: &'a [&'a str],
}

/// Runs `status` on `dir` against `db` and checks it against `expected`; also checks that the
/// history table has exactly as many rows afterwards as before.
pub(crate) async fn assert_status(db: &TestDb, dir: &Path, expected: &Expected<'_>) -> StatusReport {
    let table = expected.tool.default_table();
    let before = Conn::open(db).await.count(table).await;
    let report = status(db, dir).await;
    let after = Conn::open(db).await.count(table).await;
    assert_eq!(before, after, "status changed the number of rows in {table}");

    assert_eq!(report.tool, expected.tool, "history tool");
    assert_eq!(report.table, table);
    assert!(report.table_exists, "{table} should exist");
    assert_eq!(report.layout, Some(expected.layout));

    let actual: Vec<(String, MigrationState)> = report.entries.iter().map(|e| (entry_key(e), e.state)).collect();
    let wanted: Vec<(String, MigrationState)> = expected.states.iter().map(|(k, s)| ((*k).to_owned(), *s)).collect();
    assert!(actual == wanted, "{} states on {}:\n{}", expected.tool, db.backend(), side_by_side(&wanted, &actual));
    assert_eq!(report.summary(), expected.summary, "summary on {}", db.backend());
    assert_eq!(finding_codes(&report), expected.findings.iter().copied().collect::<BTreeSet<_>>(), "finding codes");
    report
}

/// `status` with the options the CLI uses: read-only, tool auto-detected.
pub(crate) async fn status(db: &TestDb, dir: &Path) -> StatusReport {
    let discovery = discover(dir);
    let url = DatabaseUrl::parse(db.url()).unwrap();
    let mut conn = connect(&url, &ConnectOptions::default()).await.unwrap();
    let report = migration_status(&discovery, None, &mut conn).await.unwrap();
    conn.close().await;
    report
}

pub(crate) fn discover(dir: &Path) -> Discovery {
    discover_migrations(dir, None).unwrap_or_else(|e| panic!("discovery failed: {e}"))
}

pub(crate) fn finding_codes(report: &StatusReport) -> BTreeSet<&'static str> {
    report.findings.iter().map(|f| f.code).collect()
}

fn entry_key(e: &dbcheck_core::status::StatusEntry) -> String {
    if e.repeatable { format!("R__{}", e.name) } else { e.version.clone() }
}

fn side_by_side(wanted: &[(String, MigrationState)], actual: &[(String, MigrationState)]) -> String {
    let rows = wanted.len().max(actual.len());
    let cell = |list: &[(String, MigrationState)], i: usize| {
        list.get(i).map_or_else(String::new, |(k, s)| format!("{k}: {}", s.label()))
    };
    let mut out = format!("{:<50} | actual\n", "expected");
    for i in 0..rows {
        let (w, a) = (cell(wanted, i), cell(actual, i));
        let mark = if w == a { ' ' } else { '!' };
        out.push_str(&format!("{mark} {w:<48} | {a}\n"));
    }
    out
}

/// A project's migrations folder in a temporary directory.
pub(crate) struct Project {
    _root: tempfile::TempDir,
    dir: PathBuf,
}

impl Project {
    pub(crate) fn new() -> Project {
        let root = tempfile::Builder::new().prefix("dbcheck-status-").tempdir().unwrap();
        let dir = root.path().join("migrations");
        fs::create_dir(&dir).unwrap();
        Project { _root: root, dir }
    }

    /// The migrations folder.
    pub(crate) fn dir(&self) -> &Path {
        &self.dir
    }

    pub(crate) fn path(&self, rel: &str) -> PathBuf {
        self.dir.join(rel)
    }

    /// Write `rel` (creating its folder), with LF line endings as written.
    pub(crate) fn write(&self, rel: &str, contents: &str) {
        let path = self.path(rel);
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent).unwrap();
        }
        fs::write(path, contents).unwrap();
    }

    pub(crate) fn read(&self, rel: &str) -> String {
        fs::read_to_string(self.path(rel)).unwrap()
    }

    /// Change the SQL of an applied migration.
    pub(crate) fn edit(&self, rel: &str, from: &str, to: &str) {
        let text = self.read(rel);
        assert!(text.contains(from), "{rel} does not contain {from:?}");
        fs::write(self.path(rel), text.replacen(from, to, 1)).unwrap();
    }

    /// Convert a file to CRLF line endings, as git's `core.autocrlf` does on checkout.
    pub(crate) fn convert_to_crlf(&self, rel: &str) {
        let text = self.read(rel);
        assert!(text.contains('\n') && !text.contains('\r'), "{rel} should be multi-line LF text");
        fs::write(self.path(rel), text.replace('\n', "\r\n")).unwrap();
    }

    /// Delete a migration file or folder.
    pub(crate) fn remove(&self, rel: &str) {
        let path = self.path(rel);
        if path.is_dir() { fs::remove_dir_all(path) } else { fs::remove_file(path) }.unwrap();
    }

    /// A separate folder holding copies of only `entries` (files or migration folders): what the
    /// migrations folder looked like on an earlier day, before the other files were merged.
    pub(crate) fn stage(&self, entries: &[&str]) -> tempfile::TempDir {
        let stage = tempfile::Builder::new().prefix("dbcheck-stage-").tempdir().unwrap();
        for entry in entries {
            copy_recursively(&self.path(entry), &stage.path().join(entry));
        }
        stage
    }
}

fn copy_recursively(from: &Path, to: &Path) {
    if from.is_dir() {
        fs::create_dir_all(to).unwrap();
        for entry in fs::read_dir(from).unwrap() {
            let entry = entry.unwrap();
            copy_recursively(&entry.path(), &to.join(entry.file_name()));
        }
    } else {
        fs::copy(from, to).unwrap_or_else(|e| panic!("copy {}: {e}", from.display()));
    }
}

/// Waits until the database clock has moved past the timestamps already written. History tables
/// on SQLite and MariaDB often keep whole seconds, and a migration applied out of order must get
/// a later timestamp than the higher versions applied before it.
pub(crate) async fn tick(backend: Backend, whole_seconds: bool) {
    let pause = if whole_seconds && backend != Backend::Postgres { 1100 } else { 20 };
    tokio::time::sleep(Duration::from_millis(pause)).await;
}

/// A plain connection for building scenarios (not dbcheck's: that one is read-only).
pub(crate) enum Conn {
    Postgres(PgConnection),
    Sqlite(SqliteConnection),
    Mysql(MySqlConnection),
}

impl Conn {
    pub(crate) async fn open(db: &TestDb) -> Conn {
        let url = db.url();
        match db.backend() {
            Backend::Postgres => Conn::Postgres(PgConnection::connect(url).await.unwrap()),
            Backend::Sqlite => Conn::Sqlite(SqliteConnection::connect(url).await.unwrap()),
            Backend::Mysql => Conn::Mysql(MySqlConnection::connect(url).await.unwrap()),
        }
    }

    pub(crate) fn backend(&self) -> Backend {
        match self {
            Conn::Postgres(_) => Backend::Postgres,
            Conn::Sqlite(_) => Backend::Sqlite,
            Conn::Mysql(_) => Backend::Mysql,
        }
    }

    /// Runs a script, returning the server's error instead of panicking.
    pub(crate) async fn try_exec(&mut self, sql: &str) -> Result<(), String> {
        let sql = AssertSqlSafe(sql.to_owned());
        let result = match self {
            Conn::Postgres(c) => ::sqlx::raw_sql(sql).execute(c).await.map(drop),
            Conn::Sqlite(c) => ::sqlx::raw_sql(sql).execute(c).await.map(drop),
            Conn::Mysql(c) => ::sqlx::raw_sql(sql).execute(c).await.map(drop),
        };
        result.map_err(|e| e.to_string())
    }

    pub(crate) async fn exec(&mut self, sql: &str) {
        if let Err(e) = self.try_exec(sql).await {
            panic!("{e}\n--- script ---\n{sql}");
        }
    }

    /// Runs a migration script one statement at a time, outside any transaction, stopping at
    /// the first error: what a tool without transactional DDL (or with none requested) leaves
    /// behind is the statements before the failing one.
    pub(crate) async fn run_script(&mut self, sql: &str) -> Result<(), String> {
        for statement in sql.split(';').map(str::trim).filter(|s| !s.is_empty()) {
            self.try_exec(statement).await?;
        }
        Ok(())
    }

    pub(crate) async fn count(&mut self, table: &str) -> i64 {
        let sql = AssertSqlSafe(format!("SELECT COUNT(*) FROM {table}"));
        match self {
            Conn::Postgres(c) => ::sqlx::query_scalar(sql).fetch_one(c).await,
            Conn::Sqlite(c) => ::sqlx::query_scalar(sql).fetch_one(c).await,
            Conn::Mysql(c) => ::sqlx::query_scalar(sql).fetch_one(c).await,
        }
        .unwrap_or_else(|e| panic!("counting rows of {table}: {e}"))
    }

    /// Whether a table exists in the current database/schema.
    pub(crate) async fn table_exists(&mut self, table: &str) -> bool {
        let sql = match self.backend() {
            Backend::Postgres => {
                format!("SELECT COUNT(*) FROM pg_tables WHERE schemaname = 'public' AND tablename = '{table}'")
            }
            Backend::Sqlite => format!("SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = '{table}'"),
            Backend::Mysql => format!(
                "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name = '{table}'"
            ),
        };
        let sql = AssertSqlSafe(sql);
        let n: i64 = match self {
            Conn::Postgres(c) => ::sqlx::query_scalar(sql).fetch_one(c).await,
            Conn::Sqlite(c) => ::sqlx::query_scalar(sql).fetch_one(c).await,
            Conn::Mysql(c) => ::sqlx::query_scalar(sql).fetch_one(c).await,
        }
        .unwrap();
        n > 0
    }

    /// The current time as the tools write it into text or timestamp columns: a SQL expression.
    pub(crate) fn now(&self) -> &'static str {
        match self.backend() {
            Backend::Postgres => "clock_timestamp()",
            Backend::Sqlite => "strftime('%Y-%m-%d %H:%M:%f', 'now')",
            Backend::Mysql => "CURRENT_TIMESTAMP(6)",
        }
    }

    /// A string literal.
    pub(crate) fn literal(&self, value: &str) -> String {
        let escaped = value.replace('\'', "''");
        match self.backend() {
            Backend::Mysql => format!("'{}'", escaped.replace('\\', "\\\\")),
            _ => format!("'{escaped}'"),
        }
    }

    pub(crate) async fn close(self) {
        let _ = match self {
            Conn::Postgres(c) => c.close().await,
            Conn::Sqlite(c) => c.close().await,
            Conn::Mysql(c) => c.close().await,
        };
    }
}

/// The file path behind a `sqlite://<path>?mode=rwc` URL, as tools that want a plain path need it.
pub(crate) fn sqlite_path(url: &str) -> PathBuf {
    let rest = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:")).unwrap();
    let encoded = rest.split('?').next().unwrap();
    let bytes = encoded.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let Some(b) = encoded.get(i + 1..i + 3).and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    PathBuf::from(String::from_utf8(out).unwrap())
}
