//! Flyway: no Rust crate, so `flyway baseline` and `flyway migrate` (with `outOfOrder=true`) are
//! emulated as Flyway does them: `flyway_schema_history` with Flyway's DDL per dialect, one row per
//! migration with the next `installed_rank`, description with underscores as spaces, type `SQL`,
//! the CRC-32 checksum, and `success`; repeatables (`R__`) after the versioned migrations of a run,
//! with a NULL version. A failed migration on a database without transactional DDL keeps its row
//! with `success = false`.

use dbcheck_core::migrations::{HistoryTool, Layout, flyway_checksum};
use dbcheck_core::status::StatusSummary;
use dbcheck_tests::{Backend, TestDb};

use super::*;

const FILES: &[(&str, &str)] = &[
    ("V1__create_users.sql", "CREATE TABLE users (id INT PRIMARY KEY, name VARCHAR(50));\n"),
    ("V1.1__create_roles.sql", "CREATE TABLE roles (id INT PRIMARY KEY);\n"),
    ("V2__create_posts.sql", "CREATE TABLE posts (id INT PRIMARY KEY, user_id INT);\n"),
    ("V3__create_tags.sql", "CREATE TABLE tags (id INT PRIMARY KEY);\nCREATE TABLE post_tags (post_id INT);\n"),
    ("V4__create_audit.sql", "CREATE TABLE audit (id INT PRIMARY KEY);\n"),
    ("V5__add_user_email.sql", "ALTER TABLE users ADD COLUMN email VARCHAR(100);\n"),
    ("V6__create_comments.sql", "CREATE TABLE comments (id INT PRIMARY KEY);\n"),
    ("V7__create_likes.sql", "CREATE TABLE likes (id INT PRIMARY KEY);\nINSERT INTO no_such_table VALUES (1);\n"),
    ("V8__create_follows.sql", "CREATE TABLE follows (id INT PRIMARY KEY);\n"),
    ("V9__create_settings.sql", "CREATE TABLE settings (id INT PRIMARY KEY);\n"),
    ("V10__create_sessions.sql", "CREATE TABLE sessions (id INT PRIMARY KEY);\n"),
    ("R__user_names.sql", "CREATE VIEW user_names AS SELECT name FROM users;\n"),
    ("R__post_ids.sql", "CREATE VIEW post_ids AS SELECT id FROM posts;\n"),
    ("R__tag_ids.sql", "CREATE VIEW tag_ids AS SELECT id FROM tags;\n"),
];

/// `flyway_schema_history` as Flyway creates it.
pub(crate) fn flyway_ddl(backend: Backend) -> &'static str {
    match backend {
        Backend::Postgres => {
            r#"CREATE TABLE "flyway_schema_history" (
    "installed_rank" INT NOT NULL,
    "version" VARCHAR(50),
    "description" VARCHAR(200) NOT NULL,
    "type" VARCHAR(20) NOT NULL,
    "script" VARCHAR(1000) NOT NULL,
    "checksum" INTEGER,
    "installed_by" VARCHAR(100) NOT NULL,
    "installed_on" TIMESTAMP NOT NULL DEFAULT now(),
    "execution_time" INTEGER NOT NULL,
    "success" BOOLEAN NOT NULL
);
ALTER TABLE "flyway_schema_history" ADD CONSTRAINT "flyway_schema_history_pk" PRIMARY KEY ("installed_rank");
CREATE INDEX "flyway_schema_history_s_idx" ON "flyway_schema_history" ("success");"#
        }
        Backend::Mysql => {
            "CREATE TABLE `flyway_schema_history` (
    `installed_rank` INT NOT NULL,
    `version` VARCHAR(50),
    `description` VARCHAR(200) NOT NULL,
    `type` VARCHAR(20) NOT NULL,
    `script` VARCHAR(1000) NOT NULL,
    `checksum` INT,
    `installed_by` VARCHAR(100) NOT NULL,
    `installed_on` TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
    `execution_time` INT NOT NULL,
    `success` BOOL NOT NULL,
    CONSTRAINT `flyway_schema_history_pk` PRIMARY KEY (`installed_rank`)
) ENGINE=InnoDB;
CREATE INDEX `flyway_schema_history_s_idx` ON `flyway_schema_history` (`success`);"
        }
        Backend::Sqlite => {
            r#"CREATE TABLE "flyway_schema_history" (
    "installed_rank" INT NOT NULL PRIMARY KEY,
    "version" VARCHAR(50),
    "description" VARCHAR(200) NOT NULL,
    "type" VARCHAR(20) NOT NULL,
    "script" VARCHAR(1000) NOT NULL,
    "checksum" INT,
    "installed_by" VARCHAR(100) NOT NULL,
    "installed_on" TEXT NOT NULL DEFAULT (strftime('%Y-%m-%d %H:%M:%f','now')),
    "execution_time" INT NOT NULL,
    "success" BOOLEAN NOT NULL
);
CREATE INDEX "flyway_schema_history_s_idx" ON "flyway_schema_history" ("success");"#
        }
    }
}

/// One Flyway history row.
async fn record(
    conn: &mut Conn,
    version: Option<&str>,
    description: &str,
    kind: &str,
    script: &str,
    checksum: Option<i32>,
    success: bool,
) {
    let rank: i64 = match conn {
        Conn::Postgres(c) => {
            ::sqlx::query_scalar(
                "SELECT CAST(COALESCE(MAX(installed_rank), 0) + 1 AS BIGINT) FROM flyway_schema_history",
            )
            .fetch_one(c)
            .await
        }
        Conn::Sqlite(c) => {
            ::sqlx::query_scalar("SELECT COALESCE(MAX(installed_rank), 0) + 1 FROM flyway_schema_history")
                .fetch_one(c)
                .await
        }
        Conn::Mysql(c) => {
            ::sqlx::query_scalar(
                "SELECT CAST(COALESCE(MAX(installed_rank), 0) + 1 AS SIGNED) FROM flyway_schema_history",
            )
            .fetch_one(c)
            .await
        }
    }
    .unwrap();
    let version = version.map_or_else(|| "NULL".to_owned(), |v| format!("'{v}'"));
    let checksum = checksum.map_or_else(|| "NULL".to_owned(), |c| c.to_string());
    let success = if success { "TRUE" } else { "FALSE" };
    conn.exec(&format!(
        "INSERT INTO flyway_schema_history \
         (installed_rank, version, description, type, script, checksum, installed_by, execution_time, success) \
         VALUES ({rank}, {version}, {}, '{kind}', {}, {checksum}, 'dbcheck', 3, {success})",
        conn.literal(description),
        conn.literal(script)
    ))
    .await;
}

/// `flyway migrate -outOfOrder=true` over `files` (versioned first, then repeatables, each in
/// Flyway's order), stopping at the first failure.
async fn migrate(db: &TestDb, project: &Project, files: &[&str]) -> Result<(), String> {
    let mut conn = Conn::open(db).await;
    for file in files {
        let sql = project.read(file);
        let stem = file.strip_suffix(".sql").unwrap();
        let (version, description) = stem[1..].split_once("__").unwrap();
        let version = (!version.is_empty()).then_some(version);
        let description = description.replace('_', " ");
        let checksum = Some(flyway_checksum(sql.as_bytes()));
        if let Err(e) = conn.run_script(&sql).await {
            record(&mut conn, version, &description, "SQL", file, checksum, false).await;
            conn.close().await;
            return Err(e);
        }
        record(&mut conn, version, &description, "SQL", file, checksum, true).await;
    }
    conn.close().await;
    Ok(())
}

async fn scenario(db: &TestDb) {
    let project = Project::new();
    for (name, sql) in FILES {
        project.write(name, sql);
    }
    let f = |i: usize| FILES[i].0;

    // The database predates Flyway: V1's schema exists and `flyway baseline` records version 1.
    let mut conn = Conn::open(db).await;
    conn.exec(&project.read(f(0))).await;
    conn.exec(flyway_ddl(db.backend())).await;
    record(&mut conn, Some("1"), "<< Flyway Baseline >>", "BASELINE", "<< Flyway Baseline >>", None, true).await;
    conn.close().await;
    // Run 1: V1.1-V4, V6, V9, then the repeatables user_names and post_ids.
    migrate(db, &project, &[f(1), f(2), f(3), f(4), f(6), f(9), f(11), f(12)]).await.unwrap();
    // Run 2 (outOfOrder): V5 arrives from a long-lived branch.
    migrate(db, &project, &[f(5)]).await.unwrap();
    // Run 3 (outOfOrder): V7 fails halfway.
    let err = migrate(db, &project, &[f(7)]).await.unwrap_err();
    assert!(err.contains("no_such_table"), "{err}");
    // Later: V8, V10 and R__tag_ids are merged; V2 is edited, V3 gets CRLF, V4 is deleted, and
    // the repeatable post_ids changes.
    project.edit(f(2), "user_id INT", "user_id BIGINT");
    project.convert_to_crlf(f(3));
    project.remove(f(4));
    project.edit(f(12), "SELECT id", "SELECT id, user_id");

    // Flyway's checksum ignores line endings, so V3 still counts as applied; a changed
    // repeatable is pending (Flyway re-applies it), not edited.
    let expected = Expected {
        tool: HistoryTool::Flyway,
        layout: Layout::Versioned,
        states: &[
            ("1", APPLIED),
            ("1.1", APPLIED),
            ("2", EDITED),
            ("3", APPLIED),
            ("4", MISSING),
            ("5", APPLIED_OUT_OF_ORDER),
            ("6", APPLIED),
            ("7", FAILED),
            ("8", PENDING_OUT_OF_ORDER),
            ("9", APPLIED),
            ("10", PENDING),
            ("R__post_ids", PENDING),
            ("R__tag_ids", PENDING),
            ("R__user_names", APPLIED),
        ],
        summary: StatusSummary { total: 14, applied: 6, pending: 4, failed: 1, edited: 1, missing: 1, out_of_order: 1 },
        findings: &[
            "migration-applied-out-of-order",
            "migration-edited",
            "migration-failed",
            "migration-missing",
            "migration-pending",
            "migration-pending-out-of-order",
            "migration-repeatable",
            "migration-repeatable-pending",
        ],
    };
    let report = assert_status(db, project.dir(), &expected).await;
    // Flyway refuses to migrate past a pending out-of-order migration unless told to: an error.
    let ooo = report.findings.iter().find(|f| f.code == "migration-pending-out-of-order").unwrap();
    assert_eq!(ooo.severity, dbcheck_core::Severity::Error);
}

per_backend!(scenario);

/// The Flyway checksums the emulation writes, against values computed outside Rust (Python's
/// `zlib.crc32` fed line by line, as Flyway's `ChecksumCalculator` does).
#[test]
fn checksum_matches_values_computed_outside() {
    assert_eq!(
        flyway_checksum(b"CREATE TABLE users (id INT PRIMARY KEY);\r\nINSERT INTO users VALUES (1);\n"),
        -989759898
    );
    assert_eq!(flyway_checksum("\u{feff}CREATE VIEW v AS SELECT 1;\n-- été\n".as_bytes()), 1563207462);
}
