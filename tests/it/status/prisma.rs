//! Prisma Migrate: no Rust crate, so `prisma migrate deploy` and `prisma migrate resolve` are
//! emulated step by step as Prisma's schema engine does them: `_prisma_migrations` with Prisma's
//! DDL per dialect; a row inserted with `finished_at` NULL before the script runs; the script
//! (not in a transaction); then `applied_steps_count` + 1 and `finished_at`. A failure writes
//! `logs` and leaves `finished_at` NULL; `resolve --rolled-back` sets `rolled_back_at`.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use dbcheck_core::migrations::{HistoryTool, Layout, checksum, discover_migrations};
use dbcheck_core::status::StatusSummary;
use dbcheck_tests::{Backend, TestDb};

use super::*;

const MIGRATIONS: &[(&str, &str)] = &[
    ("20240101000000_init", "CREATE TABLE users (id INT PRIMARY KEY, name VARCHAR(50));\n"),
    ("20240102000000_posts", "CREATE TABLE posts (id INT PRIMARY KEY, user_id INT);\n"),
    ("20240103000000_tags", "CREATE TABLE tags (id INT PRIMARY KEY);\nCREATE TABLE post_tags (post_id INT);\n"),
    ("20240104000000_audit", "CREATE TABLE audit (id INT PRIMARY KEY);\n"),
    ("20240105000000_user_email", "ALTER TABLE users ADD COLUMN email VARCHAR(100);\n"),
    ("20240106000000_comments", "CREATE TABLE comments (id INT PRIMARY KEY);\n"),
    ("20240107000000_likes", "CREATE TABLE likes (id INT PRIMARY KEY);\nINSERT INTO no_such_table VALUES (1);\n"),
    (
        "20240107500000_reactions",
        "CREATE TABLE reactions (id INT PRIMARY KEY);\nINSERT INTO no_such_table VALUES (2);\n",
    ),
    ("20240108000000_follows", "CREATE TABLE follows (id INT PRIMARY KEY);\n"),
    ("20240109000000_settings", "CREATE TABLE settings (id INT PRIMARY KEY);\n"),
    ("20240110000000_sessions", "CREATE TABLE sessions (id INT PRIMARY KEY);\n"),
];

/// `_prisma_migrations` as Prisma's schema engine creates it.
pub(crate) fn prisma_ddl(backend: Backend) -> &'static str {
    match backend {
        Backend::Postgres => {
            r#"CREATE TABLE "_prisma_migrations" (
    "id"                    VARCHAR(36) PRIMARY KEY NOT NULL,
    "checksum"              VARCHAR(64) NOT NULL,
    "finished_at"           TIMESTAMPTZ,
    "migration_name"        VARCHAR(255) NOT NULL,
    "logs"                  TEXT,
    "rolled_back_at"        TIMESTAMPTZ,
    "started_at"            TIMESTAMPTZ NOT NULL DEFAULT now(),
    "applied_steps_count"   INTEGER NOT NULL DEFAULT 0
)"#
        }
        Backend::Mysql => {
            "CREATE TABLE `_prisma_migrations` (
    `id`                    VARCHAR(36) PRIMARY KEY NOT NULL,
    `checksum`              VARCHAR(64) NOT NULL,
    `finished_at`           DATETIME(3),
    `migration_name`        VARCHAR(255) NOT NULL,
    `logs`                  TEXT,
    `rolled_back_at`        DATETIME(3),
    `started_at`            DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
    `applied_steps_count`   INTEGER UNSIGNED NOT NULL DEFAULT 0
) DEFAULT CHARACTER SET utf8mb4"
        }
        Backend::Sqlite => {
            r#"CREATE TABLE "_prisma_migrations" (
    "id"                    TEXT PRIMARY KEY NOT NULL,
    "checksum"              TEXT NOT NULL,
    "finished_at"           DATETIME,
    "migration_name"        TEXT NOT NULL,
    "logs"                  TEXT,
    "rolled_back_at"        DATETIME,
    "started_at"            DATETIME NOT NULL DEFAULT current_timestamp,
    "applied_steps_count"   INTEGER UNSIGNED NOT NULL DEFAULT 0
)"#
        }
    }
}

/// `chrono::Utc::now()` as Prisma binds it: a timestamp, or on SQLite Unix milliseconds.
fn now(backend: Backend) -> String {
    match backend {
        Backend::Postgres => "clock_timestamp()".to_owned(),
        Backend::Mysql => "UTC_TIMESTAMP(3)".to_owned(),
        Backend::Sqlite => SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis().to_string(),
    }
}

fn new_id() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    format!("00000000-0000-4000-8000-{:012x}", NEXT.fetch_add(1, Ordering::Relaxed))
}

/// `prisma migrate deploy` for the given folders (already in order), stopping at the first failure.
pub(crate) async fn deploy(db: &TestDb, project: &Project, folders: &[&str]) -> Result<(), String> {
    let discovery = discover_migrations(project.dir(), Some(Layout::Prisma)).unwrap();
    let mut conn = Conn::open(db).await;
    if !conn.table_exists("_prisma_migrations").await {
        conn.exec(prisma_ddl(db.backend())).await;
    }
    for folder in folders {
        let migration = discovery.migrations.iter().find(|m| m.history_key == *folder).unwrap();
        let sum = checksum(HistoryTool::Prisma, migration).unwrap();
        let id = new_id();
        let b = db.backend();
        conn.exec(&format!(
            "INSERT INTO _prisma_migrations (id, checksum, started_at, migration_name) \
             VALUES ('{id}', '{sum}', {}, '{folder}')",
            now(b)
        ))
        .await;
        if let Err(e) = conn.run_script(&migration.sql()).await {
            let logs = format!(
                "Database error:\n{e}\n\n   0: schema_core::commands::apply_migrations::Applying migration\n           with migration_name=\"{folder}\""
            );
            conn.exec(&format!("UPDATE _prisma_migrations SET logs = {} WHERE id = '{id}'", conn.literal(&logs))).await;
            conn.close().await;
            return Err(e);
        }
        conn.exec(&format!(
            "UPDATE _prisma_migrations SET applied_steps_count = applied_steps_count + 1 WHERE id = '{id}'"
        ))
        .await;
        conn.exec(&format!("UPDATE _prisma_migrations SET finished_at = {} WHERE id = '{id}'", now(b))).await;
    }
    conn.close().await;
    Ok(())
}

/// `prisma migrate resolve --rolled-back <folder>`.
async fn resolve_rolled_back(db: &TestDb, folder: &str) {
    let mut conn = Conn::open(db).await;
    conn.exec(&format!(
        "UPDATE _prisma_migrations SET rolled_back_at = {} \
         WHERE migration_name = '{folder}' AND finished_at IS NULL AND rolled_back_at IS NULL",
        now(db.backend())
    ))
    .await;
    conn.close().await;
}

async fn scenario(db: &TestDb) {
    let project = Project::new();
    let provider = match db.backend() {
        Backend::Postgres => "postgresql",
        Backend::Sqlite => "sqlite",
        Backend::Mysql => "mysql",
    };
    project.write("migration_lock.toml", &format!("provider = \"{provider}\"\n"));
    for (folder, sql) in MIGRATIONS {
        project.write(&format!("{folder}/migration.sql"), sql);
    }
    let m = |i: usize| MIGRATIONS[i].0;

    // Day 1: init … audit, comments and settings are deployed.
    deploy(db, &project, &[m(0), m(1), m(2), m(3), m(5), m(9)]).await.unwrap();
    // Day 2: user_email, from an old branch, is deployed after comments and settings.
    tick(db.backend(), false).await;
    deploy(db, &project, &[m(4)]).await.unwrap();
    // Day 3: reactions fails and is resolved as rolled back.
    tick(db.backend(), false).await;
    deploy(db, &project, &[m(7)]).await.unwrap_err();
    resolve_rolled_back(db, m(7)).await;
    // Day 4: likes fails (deploy stops there, before retrying reactions).
    tick(db.backend(), false).await;
    deploy(db, &project, &[m(6), m(7)]).await.unwrap_err();
    // Later: follows and sessions are merged; posts is edited, tags gets CRLF, audit is deleted.
    project.edit(&format!("{}/migration.sql", m(1)), "user_id INT", "user_id BIGINT");
    project.convert_to_crlf(&format!("{}/migration.sql", m(2)));
    project.remove(m(3));

    // Prisma compares checksums ignoring line endings, so the CRLF file still counts as applied.
    let expected = Expected {
        tool: HistoryTool::Prisma,
        layout: Layout::Prisma,
        states: &[
            ("20240101000000_init", APPLIED),
            ("20240102000000_posts", EDITED),
            ("20240103000000_tags", APPLIED),
            ("20240104000000_audit", MISSING),
            ("20240105000000_user_email", APPLIED_OUT_OF_ORDER),
            ("20240106000000_comments", APPLIED),
            ("20240107000000_likes", FAILED),
            ("20240107500000_reactions", ROLLED_BACK),
            ("20240108000000_follows", PENDING_OUT_OF_ORDER),
            ("20240109000000_settings", APPLIED),
            ("20240110000000_sessions", PENDING),
        ],
        summary: StatusSummary { total: 11, applied: 4, pending: 3, failed: 1, edited: 1, missing: 1, out_of_order: 1 },
        findings: &[
            "migration-applied-out-of-order",
            "migration-edited",
            "migration-failed",
            "migration-line-endings",
            "migration-missing",
            "migration-pending",
            "migration-pending-out-of-order",
        ],
    };
    let report = assert_status(db, project.dir(), &expected).await;
    // The failure's logs reach the finding's help text.
    let failed = report.findings.iter().find(|f| f.code == "migration-failed").unwrap();
    assert!(failed.help.as_deref().is_some_and(|h| h.contains("no_such_table")), "{failed:?}");
    // The partial migration really is partial: its first statement ran.
    assert!(Conn::open(db).await.table_exists("likes").await);
}

per_backend!(scenario);
