//! dbcheck's own history table (`_dbcheck_migrations`, from `dbcheck_history_ddl`), for a
//! project of plain `<version>_<name>.sql` files and no migration tool. Rows are written as the
//! table's documentation describes: inserted with `success = false` before the SQL runs, then
//! `finished_at`, `execution_ms` and `success = true`; a failure keeps `finished_at` NULL and
//! stores the server's error in `logs`; a rollback sets `rolled_back_at`.

use dbcheck_core::db::{Dialect, dbcheck_history_ddl};
use dbcheck_core::migrations::{HistoryTool, Layout, checksum, discover_migrations};
use dbcheck_core::status::StatusSummary;
use dbcheck_tests::{Backend, TestDb};

use super::*;

const FILES: &[(&str, &str)] = &[
    ("1_create_users.sql", "CREATE TABLE users (id INT PRIMARY KEY, name VARCHAR(50));\n"),
    ("2_create_posts.sql", "CREATE TABLE posts (id INT PRIMARY KEY, user_id INT);\n"),
    ("3_create_tags.sql", "CREATE TABLE tags (id INT PRIMARY KEY);\nCREATE TABLE post_tags (post_id INT);\n"),
    ("4_create_audit.sql", "CREATE TABLE audit (id INT PRIMARY KEY);\n"),
    ("5_add_user_email.sql", "ALTER TABLE users ADD COLUMN email VARCHAR(100);\n"),
    ("6_create_comments.sql", "CREATE TABLE comments (id INT PRIMARY KEY);\n"),
    ("7_create_likes.sql", "CREATE TABLE likes (id INT PRIMARY KEY);\nINSERT INTO no_such_table VALUES (1);\n"),
    ("8_create_reactions.sql", "CREATE TABLE reactions (id INT PRIMARY KEY);\n"),
    ("9_create_follows.sql", "CREATE TABLE follows (id INT PRIMARY KEY);\n"),
    ("10_create_settings.sql", "CREATE TABLE settings (id INT PRIMARY KEY);\n"),
    ("11_create_sessions.sql", "CREATE TABLE sessions (id INT PRIMARY KEY);\n"),
];

pub(crate) fn dialect(backend: Backend) -> Dialect {
    match backend {
        Backend::Postgres => Dialect::Postgres,
        Backend::Sqlite => Dialect::Sqlite,
        Backend::Mysql => Dialect::Mysql,
    }
}

/// Applies `files` in order, recording each in `_dbcheck_migrations`; stops at the first failure.
async fn apply(db: &TestDb, project: &Project, files: &[&str]) -> Result<(), String> {
    let discovery = discover_migrations(project.dir(), Some(Layout::Sqlx)).unwrap();
    let mut conn = Conn::open(db).await;
    conn.exec(dbcheck_history_ddl(dialect(db.backend()))).await;
    for file in files {
        let m = discovery.migrations.iter().find(|m| m.path.ends_with(file)).unwrap();
        let sum = checksum(HistoryTool::Dbcheck, m).unwrap();
        let (version, name) = (&m.history_key, conn.literal(&m.name));
        conn.exec(&format!(
            "INSERT INTO _dbcheck_migrations (version, name, checksum) VALUES ('{version}', {name}, '{sum}')"
        ))
        .await;
        if let Err(e) = conn.run_script(&m.sql()).await {
            let logs = conn.literal(&e);
            conn.exec(&format!("UPDATE _dbcheck_migrations SET logs = {logs} WHERE version = '{version}'")).await;
            conn.close().await;
            return Err(e);
        }
        let now = conn.now();
        conn.exec(&format!(
            "UPDATE _dbcheck_migrations SET finished_at = {now}, execution_ms = 2, success = TRUE WHERE version = '{version}'"
        ))
        .await;
    }
    conn.close().await;
    Ok(())
}

async fn scenario(db: &TestDb) {
    let project = Project::new();
    for (name, sql) in FILES {
        project.write(name, sql);
    }
    let f = |v: usize| FILES[v - 1].0;

    // Day 1: 1-4, 6 and 10.
    apply(db, &project, &[f(1), f(2), f(3), f(4), f(6), f(10)]).await.unwrap();
    // Day 2: 5 arrives from a long-lived branch.
    tick(db.backend(), false).await;
    apply(db, &project, &[f(5)]).await.unwrap();
    // Day 3: 8 is applied and rolled back; 7 fails halfway.
    tick(db.backend(), false).await;
    apply(db, &project, &[f(8)]).await.unwrap();
    let mut conn = Conn::open(db).await;
    conn.exec("DROP TABLE reactions").await;
    let now = conn.now();
    conn.exec(&format!("UPDATE _dbcheck_migrations SET rolled_back_at = {now} WHERE version = '8'")).await;
    conn.close().await;
    let err = apply(db, &project, &[f(7)]).await.unwrap_err();
    assert!(err.contains("no_such_table"), "{err}");
    // Later: 9 and 11 are merged; 2 is edited, 3 gets CRLF, 4 is deleted.
    project.edit(f(2), "user_id INT", "user_id BIGINT");
    project.convert_to_crlf(f(3));
    project.remove(f(4));

    let expected = Expected {
        tool: HistoryTool::Dbcheck,
        layout: Layout::Sqlx,
        states: &[
            ("1", APPLIED),
            ("2", EDITED),
            ("3", EDITED_LINE_ENDINGS),
            ("4", MISSING),
            ("5", APPLIED_OUT_OF_ORDER),
            ("6", APPLIED),
            ("7", FAILED),
            ("8", ROLLED_BACK),
            ("9", PENDING_OUT_OF_ORDER),
            ("10", APPLIED),
            ("11", PENDING),
        ],
        summary: StatusSummary { total: 11, applied: 3, pending: 3, failed: 1, edited: 2, missing: 1, out_of_order: 1 },
        findings: &[
            "migration-applied-out-of-order",
            "migration-edited",
            "migration-failed",
            "migration-missing",
            "migration-pending",
            "migration-pending-out-of-order",
        ],
    };
    let report = assert_status(db, project.dir(), &expected).await;
    let failed = report.findings.iter().find(|f| f.code == "migration-failed").unwrap();
    assert!(failed.help.as_deref().is_some_and(|h| h.contains("no_such_table")), "{failed:?}");
}

per_backend!(scenario);
