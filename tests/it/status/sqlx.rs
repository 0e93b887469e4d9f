//! sqlx: `_sqlx_migrations` written by sqlx's own `Migrator`.

use ::sqlx::migrate::{MigrateError, Migrator};
use dbcheck_core::migrations::{HistoryTool, Layout, checksum};
use dbcheck_core::status::StatusSummary;
use dbcheck_tests::{Backend, TestDb};

use super::*;

const FILES: &[(&str, &str)] = &[
    ("1_create_users.sql", "CREATE TABLE users (id INT PRIMARY KEY, name VARCHAR(50));\n"),
    ("2_create_posts.sql", "CREATE TABLE posts (id INT PRIMARY KEY, user_id INT);\n"),
    (
        "3_create_tags.sql",
        "CREATE TABLE tags (id INT PRIMARY KEY);\nCREATE TABLE post_tags (post_id INT, tag_id INT);\n",
    ),
    ("4_create_audit.sql", "CREATE TABLE audit (id INT PRIMARY KEY);\n"),
    ("5_add_user_email.sql", "ALTER TABLE users ADD COLUMN email VARCHAR(100);\n"),
    ("6_create_comments.sql", "CREATE TABLE comments (id INT PRIMARY KEY, post_id INT);\n"),
    ("7_create_likes.sql", "CREATE TABLE likes (id INT PRIMARY KEY);\nINSERT INTO no_such_table VALUES (1);\n"),
    ("8_create_follows.sql", "CREATE TABLE follows (id INT PRIMARY KEY);\n"),
    ("9_create_settings.sql", "CREATE TABLE settings (id INT PRIMARY KEY);\n"),
    ("10_create_sessions.sql", "CREATE TABLE sessions (id INT PRIMARY KEY);\n"),
];

/// Applies the migrations in `stage` with sqlx's migrator.
pub(crate) async fn migrate(db: &TestDb, stage: &std::path::Path) -> Result<(), MigrateError> {
    let migrator = Migrator::new(stage).await.unwrap();
    match Conn::open(db).await {
        Conn::Postgres(mut c) => migrator.run(&mut c).await,
        Conn::Sqlite(mut c) => migrator.run(&mut c).await,
        Conn::Mysql(mut c) => migrator.run(&mut c).await,
    }
}

/// The checksum sqlx itself computes for migration `version` in `dir`.
async fn sqlx_checksum(dir: &std::path::Path, version: i64) -> Vec<u8> {
    let migrator = Migrator::new(dir).await.unwrap();
    migrator.iter().find(|m| m.version == version).unwrap().checksum.to_vec()
}

async fn scenario(db: &TestDb) {
    let project = Project::new();
    for (name, sql) in FILES {
        project.write(name, sql);
    }
    let names = |versions: &[usize]| versions.iter().map(|v| FILES[v - 1].0).collect::<Vec<_>>();

    // Day 1: 1-4, 6 and 9 are deployed.
    let day1 = project.stage(&names(&[1, 2, 3, 4, 6, 9]));
    migrate(db, day1.path()).await.unwrap();
    // Day 2: 5 is merged from an old branch and deployed after 6 and 9.
    tick(db.backend(), true).await;
    let day2 = project.stage(&names(&[1, 2, 3, 4, 5, 6, 9]));
    migrate(db, day2.path()).await.unwrap();
    // Day 3: 7 fails halfway.
    let day3 = project.stage(&names(&[1, 2, 3, 4, 5, 6, 7, 9]));
    if db.backend() == Backend::Mysql {
        // For real: MySQL commits sqlx's `success = FALSE` row together with the CREATE TABLE.
        let err = migrate(db, day3.path()).await.unwrap_err();
        assert!(matches!(err, MigrateError::ExecuteMigration(_, 7)), "{err}");
    } else {
        // sqlx <= 0.6 wrote the row first with `success = FALSE`, and a crashed
        // `-- no-transaction` migration still leaves it so: its first statement ran, the rest did not.
        let checksum = hex(&sqlx_checksum(day3.path(), 7).await);
        let literal = if db.backend() == Backend::Postgres {
            format!("decode('{checksum}', 'hex')")
        } else {
            format!("X'{checksum}'")
        };
        let mut conn = Conn::open(db).await;
        conn.exec("CREATE TABLE likes (id INT PRIMARY KEY)").await;
        conn.exec(&format!(
            "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
             VALUES (7, 'create likes', FALSE, {literal}, -1)"
        ))
        .await;
        conn.close().await;
    }
    // Later: 8 and 10 are merged, 2 is edited, 3 gets CRLF line endings, 4 is deleted.
    project.edit(FILES[1].0, "user_id INT", "user_id BIGINT");
    project.convert_to_crlf(FILES[2].0);
    project.remove(FILES[3].0);

    let expected = Expected {
        tool: HistoryTool::Sqlx,
        layout: Layout::Sqlx,
        states: &[
            ("1", APPLIED),
            ("2", EDITED),
            ("3", EDITED_LINE_ENDINGS),
            ("4", MISSING),
            ("5", APPLIED_OUT_OF_ORDER),
            ("6", APPLIED),
            ("7", FAILED),
            ("8", PENDING_OUT_OF_ORDER),
            ("9", APPLIED),
            ("10", PENDING),
        ],
        summary: StatusSummary { total: 10, applied: 3, pending: 2, failed: 1, edited: 2, missing: 1, out_of_order: 1 },
        findings: &[
            "migration-applied-out-of-order",
            "migration-edited",
            "migration-failed",
            "migration-missing",
            "migration-pending",
            "migration-pending-out-of-order",
        ],
    };
    assert_status(db, project.dir(), &expected).await;
}

per_backend!(scenario);

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// sqlx is the oracle for its own checksum: dbcheck must compute the same bytes.
#[tokio::test]
async fn checksums_match_sqlx_itself() {
    let project = Project::new();
    project.write("1_lf.sql", "CREATE TABLE a (id INT);\nSELECT 1;\n");
    project.write("2_crlf.sql", "CREATE TABLE b (id INT);\r\nSELECT 1;\r\n");
    project.write("3_bom_and_unicode.sql", "\u{feff}-- café\nCREATE TABLE c (name TEXT DEFAULT 'é');\n");
    project.write("4_empty.sql", "");
    project.write("5_no_tx.sql", "-- no-transaction\nCREATE INDEX i ON a (id);\n");
    let discovery = discover(project.dir());
    assert_eq!(discovery.migrations.len(), 5);
    let migrator = Migrator::new(project.dir()).await.unwrap();
    for m in &discovery.migrations {
        let theirs = migrator.iter().find(|s| s.version.to_string() == m.history_key).unwrap();
        assert_eq!(checksum(HistoryTool::Sqlx, m).unwrap(), hex(&theirs.checksum), "{}", m.path.display());
        assert_eq!(m.name, theirs.description, "description of {}", m.path.display());
    }
}
