//! `migrate deploy` against real databases: interop with sqlx's `Migrator` and diesel's harness
//! (each reads what dbcheck wrote, and dbcheck reads what they wrote), per-tool failure records,
//! refusals, and the deploy lock.
#![expect(clippy::unwrap_used, reason = "scenario helpers fail the test loudly on setup errors")]

use std::path::Path;
use std::time::Duration;

use ::diesel::Connection as _;
use ::sqlx::Connection as _;
use ::sqlx::migrate::Migrator;
use dbcheck_core::db::{ConnectOptions, DatabaseUrl, connect, postgres_lock_key};
use dbcheck_core::migrate::{DeployOptions, DeployReport, deploy};
use dbcheck_core::migrations::HistoryTool;
use dbcheck_core::status::{HistoryChoice, MigrationState};
use dbcheck_tests::{Backend, TestDb};
use diesel_migrations::{FileBasedMigrations, MigrationHarness};

use crate::status::{Conn, Project, discover, per_backend, sqlite_path, status};

mod baseline;
mod preflight;
mod resolve;

/// Deploy `dir` to `db` with `history` (auto-detected when `None`).
async fn run_deploy(db: &TestDb, dir: &Path, history: Option<HistoryTool>, options: &DeployOptions) -> DeployReport {
    let discovery = discover(dir);
    let url = DatabaseUrl::parse(db.url()).unwrap();
    let mut conn = connect(&url, &ConnectOptions { read_only: false, ..ConnectOptions::default() }).await.unwrap();
    let choice = history.map(|tool| HistoryChoice { tool, table: tool.default_table().to_owned() });
    let report = deploy(&discovery, choice.as_ref(), &mut conn, options, &mut |_, _, _| {}).await.unwrap();
    conn.close().await;
    report
}

fn codes(report: &DeployReport) -> Vec<&'static str> {
    report.findings.iter().map(|f| f.code).collect()
}

async fn sqlx_run(db: &TestDb, dir: &Path) -> Result<(), ::sqlx::migrate::MigrateError> {
    let migrator = Migrator::new(dir).await.unwrap();
    match db.backend() {
        Backend::Postgres => migrator.run(&mut ::sqlx::PgConnection::connect(db.url()).await.unwrap()).await,
        Backend::Sqlite => migrator.run(&mut ::sqlx::SqliteConnection::connect(db.url()).await.unwrap()).await,
        Backend::Mysql => migrator.run(&mut ::sqlx::MySqlConnection::connect(db.url()).await.unwrap()).await,
    }
}

/// dbcheck and sqlx's own `Migrator` take turns on one database; each accepts the other's rows.
async fn sqlx_interop(db: &TestDb) {
    let p = Project::new();
    p.write("1_users.sql", "CREATE TABLE users (id INT PRIMARY KEY, name VARCHAR(50));\n");
    p.write("2_posts.sql", "CREATE TABLE posts (id INT PRIMARY KEY);\r\nINSERT INTO posts VALUES (1);\r\n");
    // sqlx applies the first two.
    let day1 = p.stage(&["1_users.sql", "2_posts.sql"]);
    sqlx_run(db, day1.path()).await.unwrap();
    // dbcheck deploys three more, one of them outside a transaction.
    p.write("3_tags.sql", "CREATE TABLE tags (id INT PRIMARY KEY);\n-- a trailing comment");
    p.write("4_index.sql", "-- no-transaction\nCREATE INDEX users_name ON users (name);\n");
    p.write("5_more.sql", "ALTER TABLE users ADD COLUMN email VARCHAR(100);\nUPDATE users SET email = 'x';\n");
    let report = run_deploy(db, p.dir(), None, &DeployOptions::default()).await;
    assert_eq!(report.tool, HistoryTool::Sqlx);
    assert_eq!(report.pending, ["3", "4", "5"], "{:?}", report.findings);
    assert_eq!(report.applied.len(), 3, "{:?}", report.findings);
    assert!(report.findings.is_empty(), "{:?}", report.findings);
    // sqlx validates every applied checksum and finds nothing to do (it fails on a mismatch).
    let mut conn = Conn::open(db).await;
    assert_eq!(conn.count("_sqlx_migrations").await, 5);
    conn.close().await;
    sqlx_run(db, p.dir()).await.unwrap();
    let mut conn = Conn::open(db).await;
    assert_eq!(conn.count("_sqlx_migrations").await, 5, "sqlx re-applied something dbcheck applied");
    conn.close().await;
    // sqlx applies a sixth; dbcheck reads every row as applied and has nothing to do.
    p.write("6_sessions.sql", "CREATE TABLE sessions (id INT PRIMARY KEY);\n");
    sqlx_run(db, p.dir()).await.unwrap();
    let report = run_deploy(db, p.dir(), None, &DeployOptions::default()).await;
    assert!(report.pending.is_empty() && report.findings.is_empty(), "{report:?}");
    let s = status(db, p.dir()).await;
    assert!(s.entries.iter().all(|e| e.state == MigrationState::Applied), "{:?}", s.entries);
    assert_eq!(s.entries.len(), 6);
}

mod sqlx_migrator {
    use super::*;
    per_backend!(sqlx_interop);
}

/// dbcheck and diesel's `MigrationHarness` take turns; diesel sees dbcheck's rows as applied.
async fn diesel_interop(db: &TestDb) {
    let p = Project::new();
    let folders = ["2020-01-01-000000_users", "2020-02-01-000000_posts", "2020-03-01-000000_idx"];
    p.write(&format!("{}/up.sql", folders[0]), "CREATE TABLE users (id INT PRIMARY KEY, name TEXT);\n");
    p.write(&format!("{}/up.sql", folders[1]), "CREATE TABLE posts (id INT PRIMARY KEY);\n");
    p.write(&format!("{}/up.sql", folders[2]), "CREATE INDEX users_name ON users (name);\n");
    p.write(&format!("{}/metadata.toml", folders[2]), "run_in_transaction = false\n");
    for f in folders {
        p.write(&format!("{f}/down.sql"), "SELECT 1;\n");
    }
    let report = run_deploy(db, p.dir(), None, &DeployOptions::default()).await;
    assert_eq!(report.tool, HistoryTool::Diesel);
    assert_eq!(report.applied.len(), 3, "{:?}", report.findings);

    // diesel lists dbcheck's three rows as applied and finds nothing pending.
    assert_eq!(diesel_run(db, p.dir(), 3), 0, "diesel found something pending after dbcheck deployed");
    // diesel applies a fourth; dbcheck has nothing to do.
    p.write("2020-04-01-000000_tags/up.sql", "CREATE TABLE tags (id INT PRIMARY KEY);\n");
    p.write("2020-04-01-000000_tags/down.sql", "DROP TABLE tags;\n");
    let applied_by_diesel = diesel_run(db, p.dir(), 3);
    assert_eq!(applied_by_diesel, 1);
    let report = run_deploy(db, p.dir(), None, &DeployOptions::default()).await;
    assert!(report.pending.is_empty() && report.findings.is_empty(), "{report:?}");
}

/// diesel's harness on `dir`: checks it lists `applied` applied migrations, then runs the
/// pending ones and returns how many it ran.
fn diesel_run(db: &TestDb, dir: &Path, applied: usize) -> usize {
    let source = FileBasedMigrations::from_path(dir).unwrap();
    match db.backend() {
        Backend::Postgres => {
            let mut c = ::diesel::PgConnection::establish(db.url()).unwrap();
            assert_eq!(c.applied_migrations().unwrap().len(), applied);
            c.run_pending_migrations(source).unwrap().len()
        }
        _ => {
            let path = sqlite_path(db.url());
            let mut c = ::diesel::SqliteConnection::establish(path.to_str().unwrap()).unwrap();
            assert_eq!(c.applied_migrations().unwrap().len(), applied);
            c.run_pending_migrations(source).unwrap().len()
        }
    }
}

mod diesel_harness {
    use super::*;

    #[tokio::test]
    async fn postgres() {
        let db = dbcheck_tests::require_db!(TestDb::postgres().await);
        diesel_interop(&db).await;
    }

    #[tokio::test]
    async fn sqlite() {
        let db = dbcheck_tests::require_db!(TestDb::sqlite().await);
        diesel_interop(&db).await;
    }
}

/// A migration that fails half-way: rolled back where the dialect allows, recorded with the
/// server's error in dbcheck's table, and deployed once fixed.
async fn failure_recorded(db: &TestDb) {
    let p = Project::new();
    p.write("1_users.sql", "CREATE TABLE users (id INT PRIMARY KEY);\n");
    p.write("2_broken.sql", "CREATE TABLE half (id INT PRIMARY KEY);\nINSERT INTO no_such_table VALUES (1);\n");
    p.write("3_later.sql", "CREATE TABLE later (id INT PRIMARY KEY);\n");
    let report = run_deploy(db, p.dir(), Some(HistoryTool::Dbcheck), &DeployOptions::default()).await;
    assert_eq!(report.applied.len(), 1);
    let failed = report.failed.as_ref().unwrap();
    assert_eq!(failed.version, "2");
    assert!(failed.error.contains("no_such_table"), "{}", failed.error);
    assert_eq!(codes(&report), ["deploy-migration-failed"]);
    let atomic = db.backend() != Backend::Mysql;
    assert_eq!(failed.rolled_back, atomic);
    let mut c = Conn::open(db).await;
    assert_eq!(c.table_exists("half").await, !atomic, "rolled back exactly when the dialect can");
    assert!(!c.table_exists("later").await, "deploy stops at the failure");
    c.close().await;

    let discovery = discover(p.dir());
    let url = DatabaseUrl::parse(db.url()).unwrap();
    let mut conn = connect(&url, &ConnectOptions::default()).await.unwrap();
    let choice = HistoryChoice { tool: HistoryTool::Dbcheck, table: "_dbcheck_migrations".into() };
    let s = dbcheck_core::status::migration_status(&discovery, Some(&choice), &mut conn).await.unwrap();
    let rows = conn.read_history(HistoryTool::Dbcheck, "_dbcheck_migrations").await.unwrap();
    conn.close().await;
    let row = rows.iter().find(|r| r.key == "2").unwrap();
    assert!(row.logs.as_deref().unwrap_or("").contains("no_such_table"), "{row:?}");
    let state = s.entries.iter().find(|e| e.version == "2").unwrap().state;
    if atomic {
        assert_eq!(state, MigrationState::Pending { out_of_order: false, rolled_back: true });
        // Fixed, it deploys; the rolled-back record is replaced by the applied one.
        p.write("2_broken.sql", "CREATE TABLE half (id INT PRIMARY KEY);\n");
        let report = run_deploy(db, p.dir(), Some(HistoryTool::Dbcheck), &DeployOptions::default()).await;
        assert_eq!(report.applied.len(), 2, "{:?}", report.findings);
    } else {
        // Half applied: deploy refuses until someone repairs it.
        assert_eq!(state, MigrationState::Failed);
        let report = run_deploy(db, p.dir(), Some(HistoryTool::Dbcheck), &DeployOptions::default()).await;
        assert_eq!(codes(&report), ["deploy-refused", "migration-failed"]);
        assert!(report.applied.is_empty());
    }
}

mod failure {
    use super::*;
    per_backend!(failure_recorded);
}

/// Edited, deleted and out-of-order histories stop the deploy before anything is applied.
async fn refusals(db: &TestDb) {
    let p = Project::new();
    p.write("1_a.sql", "CREATE TABLE a (id INT PRIMARY KEY);\n");
    p.write("3_c.sql", "CREATE TABLE c (id INT PRIMARY KEY);\n");
    run_deploy(db, p.dir(), None, &DeployOptions::default()).await;
    p.write("2_b.sql", "CREATE TABLE b (id INT PRIMARY KEY);\n");
    p.write("4_d.sql", "CREATE TABLE d (id INT PRIMARY KEY);\n");
    let report = run_deploy(db, p.dir(), None, &DeployOptions::default()).await;
    assert_eq!(codes(&report), ["deploy-refused", "migration-pending-out-of-order"]);
    assert!(report.applied.is_empty());
    let mut c = Conn::open(db).await;
    assert!(!c.table_exists("d").await, "nothing applied after a refusal");
    c.close().await;
    let dry = DeployOptions { dry_run: true, allow_out_of_order: true, ..DeployOptions::default() };
    let report = run_deploy(db, p.dir(), None, &dry).await;
    assert_eq!(report.pending, ["2", "4"]);
    assert!(report.applied.is_empty());
    let allowed = DeployOptions { allow_out_of_order: true, ..DeployOptions::default() };
    let report = run_deploy(db, p.dir(), None, &allowed).await;
    assert_eq!(report.applied.len(), 2, "{:?}", report.findings);

    p.edit("1_a.sql", "INT PRIMARY KEY", "BIGINT PRIMARY KEY");
    p.remove("3_c.sql");
    p.write("5_e.sql", "CREATE TABLE e (id INT PRIMARY KEY);\n");
    let report = run_deploy(db, p.dir(), None, &DeployOptions::default()).await;
    let mut got = codes(&report);
    got.sort_unstable();
    assert_eq!(got, ["deploy-refused", "migration-edited", "migration-missing"]);
    let mut c = Conn::open(db).await;
    assert!(!c.table_exists("e").await);
    c.close().await;
}

mod refused {
    use super::*;
    per_backend!(refusals);
}

/// Prisma's table, created and written as Prisma does; status agrees afterwards.
async fn prisma_rows(db: &TestDb) {
    let p = Project::new();
    p.write("migration_lock.toml", "provider = \"postgresql\"\n");
    p.write("20240101000000_init/migration.sql", "CREATE TABLE users (id INT PRIMARY KEY);\n");
    p.write("20240102000000_posts/migration.sql", "CREATE TABLE posts (id INT PRIMARY KEY);\n");
    let report = run_deploy(db, p.dir(), None, &DeployOptions::default()).await;
    assert_eq!(report.tool, HistoryTool::Prisma);
    assert_eq!(report.applied.len(), 2, "{:?}", report.findings);
    let s = status(db, p.dir()).await;
    assert!(s.entries.iter().all(|e| e.state == MigrationState::Applied), "{:?}", s.entries);
    assert!(s.findings.is_empty(), "{:?}", s.findings);
}

mod prisma {
    use super::*;
    per_backend!(prisma_rows);
}

/// A deploy that cannot get the lock gives up after the timeout and names the holder.
#[tokio::test]
async fn lock_timeout_names_the_holder_on_postgres() {
    let db = dbcheck_tests::require_db!(TestDb::postgres().await);
    let p = Project::new();
    p.write("1_a.sql", "CREATE TABLE a (id INT PRIMARY KEY);\n");
    let mut holder = ::sqlx::PgConnection::connect(db.url()).await.unwrap();
    ::sqlx::raw_sql("SET application_name = 'nightly-batch'").execute(&mut holder).await.unwrap();
    ::sqlx::query("SELECT pg_advisory_lock($1)").bind(postgres_lock_key(db.name())).execute(&mut holder).await.unwrap();
    let options = DeployOptions { lock_timeout: Duration::from_millis(200), ..DeployOptions::default() };
    let report = run_deploy(&db, p.dir(), None, &options).await;
    assert_eq!(codes(&report), ["deploy-lock-timeout"]);
    let msg = &report.findings[0].message;
    assert!(msg.contains("nightly-batch") && msg.contains("user postgres"), "{msg}");
    assert!(report.applied.is_empty());
    holder.close().await.unwrap();
    let report = run_deploy(&db, p.dir(), None, &DeployOptions::default()).await;
    assert_eq!(report.applied.len(), 1);
}

/// SQLite: the whole run holds an exclusive lock on `<database>.dbcheck-deploy.lock`; a second
/// deploy waits, gives up after the timeout naming the holder's process, and succeeds once the
/// lock is free. A killed holder's lock is freed by the OS (the handle is dropped here).
#[tokio::test]
async fn lock_timeout_names_the_holder_on_sqlite() {
    let db = dbcheck_tests::require_db!(TestDb::sqlite().await);
    let p = Project::new();
    p.write("1_a.sql", "CREATE TABLE a (id INT PRIMARY KEY);\n");
    let file = db.url().strip_prefix("sqlite:").unwrap().split('?').next().unwrap().trim_start_matches("//");
    let lock_path = format!("{}.dbcheck-deploy.lock", std::fs::canonicalize(file).unwrap().display());
    let holder = std::fs::OpenOptions::new().create(true).truncate(false).write(true).open(&lock_path).unwrap();
    holder.lock().unwrap();
    std::fs::write(&lock_path, "4242\nnightly\n2026-01-01 00:00:00 UTC\n").unwrap();
    let options = DeployOptions { lock_timeout: Duration::from_millis(300), ..DeployOptions::default() };
    let report = run_deploy(&db, p.dir(), None, &options).await;
    assert_eq!(codes(&report), ["deploy-lock-timeout"]);
    assert!(report.findings[0].message.contains("4242"), "{}", report.findings[0].message);
    assert!(report.applied.is_empty());
    drop(holder);
    let report = run_deploy(&db, p.dir(), None, &DeployOptions::default()).await;
    assert_eq!(report.applied.len(), 1, "{:?}", report.findings);
    // Released after the run: a third deploy takes it at once and finds nothing to do.
    let report = run_deploy(&db, p.dir(), None, &options).await;
    assert!(report.findings.iter().all(|f| f.code != "deploy-lock-timeout"), "{:?}", report.findings);
}
