//! `migrate resolve`: audited repairs of a failed or edited history, read back by `status`, by
//! sqlx's own `Migrator`, and by a later deploy.

use dbcheck_core::migrate::{ResolveAction, resolve};

use super::*;

async fn run_resolve(
    db: &TestDb,
    dir: &Path,
    history: Option<HistoryTool>,
    action: ResolveAction,
    name: &str,
) -> Result<dbcheck_core::migrate::ResolveReport, dbcheck_core::Finding> {
    let discovery = discover(dir);
    let url = DatabaseUrl::parse(db.url()).unwrap();
    let mut conn = connect(&url, &ConnectOptions { read_only: false, ..ConnectOptions::default() }).await.unwrap();
    let choice = history.map(|tool| HistoryChoice { tool, table: tool.default_table().to_owned() });
    let out = resolve(&discovery, choice.as_ref(), &mut conn, action, name).await.unwrap();
    conn.close().await;
    out
}

fn state_of(s: &dbcheck_core::status::StatusReport, version: &str) -> MigrationState {
    s.entries.iter().find(|e| e.version == version).unwrap().state
}

/// A half-applied no-transaction migration in dbcheck's table: deploy refuses, the operator
/// repairs by hand and marks it rolled back, and the fixed migration deploys.
async fn rolled_back_after_manual_repair(db: &TestDb) {
    let p = Project::new();
    p.write("1_a.sql", "CREATE TABLE a (id INT PRIMARY KEY);\n");
    p.write("2_b.sql", "-- no-transaction\nCREATE TABLE half (id INT);\nINSERT INTO no_such_table VALUES (1);\n");
    let tool = Some(HistoryTool::Dbcheck);
    let report = run_deploy(db, p.dir(), tool, &DeployOptions::default()).await;
    assert!(report.failed.as_ref().is_some_and(|f| !f.rolled_back));
    let refused = run_resolve(db, p.dir(), tool, ResolveAction::RolledBack, "1").await.unwrap_err();
    assert_eq!(refused.code, "resolve-refused");
    assert!(refused.message.contains("is applied"), "{}", refused.message);

    db.execute("DROP TABLE half").await;
    let r = run_resolve(db, p.dir(), tool, ResolveAction::RolledBack, "2_b").await.unwrap();
    assert_eq!(r.version, "2");
    let discovery = discover(p.dir());
    let url = DatabaseUrl::parse(db.url()).unwrap();
    let mut conn = connect(&url, &ConnectOptions::default()).await.unwrap();
    let choice = HistoryChoice { tool: HistoryTool::Dbcheck, table: "_dbcheck_migrations".into() };
    let s = dbcheck_core::status::migration_status(&discovery, Some(&choice), &mut conn).await.unwrap();
    conn.close().await;
    assert_eq!(state_of(&s, "2"), MigrationState::Pending { out_of_order: false, rolled_back: true });

    p.write("2_b.sql", "-- no-transaction\nCREATE TABLE half (id INT);\n");
    let report = run_deploy(db, p.dir(), tool, &DeployOptions::default()).await;
    assert_eq!(report.applied.len(), 1, "{:?}", report.findings);
    let mut c = Conn::open(db).await;
    assert_eq!(c.count("_dbcheck_audit").await, 1, "one audit row per resolve");
    c.close().await;
}

/// sqlx: an edited migration's new checksum accepted (line endings only, said so), and a failed
/// no-transaction migration marked applied after the operator finished it by hand; sqlx's own
/// migrator agrees with both.
async fn sqlx_accept_and_applied(db: &TestDb) {
    let p = Project::new();
    p.write("1_a.sql", "CREATE TABLE a (id INT PRIMARY KEY);\nINSERT INTO a VALUES (1);\n");
    sqlx_run(db, p.dir()).await.unwrap();
    std::fs::write(p.path("1_a.sql"), "CREATE TABLE a (id INT PRIMARY KEY);\r\nINSERT INTO a VALUES (1);\r\n").unwrap();
    assert!(sqlx_run(db, p.dir()).await.is_err(), "sqlx refuses the edited file");
    let r = run_resolve(db, p.dir(), None, ResolveAction::AcceptChecksum, "1").await.unwrap();
    assert!(r.line_endings_only);
    assert_ne!(r.old_checksum, r.new_checksum);
    assert_eq!(state_of(&status(db, p.dir()).await, "1"), MigrationState::Applied);
    sqlx_run(db, p.dir()).await.unwrap();

    p.write("2_b.sql", "-- no-transaction\nCREATE TABLE b (id INT);\nINSERT INTO no_such_table VALUES (1);\n");
    let report = run_deploy(db, p.dir(), None, &DeployOptions::default()).await;
    assert!(report.failed.is_some());
    assert_eq!(state_of(&status(db, p.dir()).await, "2"), MigrationState::Failed);
    let r = run_resolve(db, p.dir(), None, ResolveAction::Applied, "2_b.sql").await.unwrap();
    assert_eq!(r.action, ResolveAction::Applied);
    assert_eq!(state_of(&status(db, p.dir()).await, "2"), MigrationState::Applied);
    sqlx_run(db, p.dir()).await.unwrap();
    let mut c = Conn::open(db).await;
    assert_eq!(c.count("_dbcheck_audit").await, 2);
    assert_eq!(c.count("_sqlx_migrations").await, 2);
    c.close().await;
}

mod rolled_back {
    use super::*;
    per_backend!(rolled_back_after_manual_repair);
}

mod sqlx_resolve {
    use super::*;
    per_backend!(sqlx_accept_and_applied);
}
