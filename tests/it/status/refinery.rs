//! refinery: `refinery_schema_history` written by refinery's own `Runner` (tokio-postgres driver)
//! on PostgreSQL. On SQLite and MariaDB the table is written as refinery's drivers write it: its
//! DDL, the migration's SQL, then a row with the RFC 3339 `applied_on` and the SipHash checksum.
//!
//! refinery never applies a `V` migration below the latest applied one and records nothing for a
//! failed migration, so its scenario has no applied-out-of-order `V` file and its failure shows
//! as pending. Its `U` ("unversioned") migrations are applied out of order; see
//! `unversioned_migration_applied_out_of_order`.

use std::path::Path;

use dbcheck_core::migrations::{HistoryTool, Layout, checksum, refinery_checksum};
use dbcheck_core::status::StatusSummary;
use dbcheck_tests::{Backend, TestDb};

use super::*;

const FILES: &[(&str, &str)] = &[
    ("V1__create_users.sql", "CREATE TABLE users (id INT PRIMARY KEY, name VARCHAR(50));\n"),
    ("V2__create_posts.sql", "CREATE TABLE posts (id INT PRIMARY KEY, user_id INT);\n"),
    ("V3__create_tags.sql", "CREATE TABLE tags (id INT PRIMARY KEY);\nCREATE TABLE post_tags (post_id INT);\n"),
    ("V4__create_audit.sql", "CREATE TABLE audit (id INT PRIMARY KEY);\n"),
    ("V6__create_comments.sql", "CREATE TABLE comments (id INT PRIMARY KEY);\n"),
    ("V8__create_follows.sql", "CREATE TABLE follows (id INT PRIMARY KEY);\n"),
    ("V9__create_settings.sql", "CREATE TABLE settings (id INT PRIMARY KEY);\n"),
    ("V10__create_likes.sql", "CREATE TABLE likes (id INT PRIMARY KEY);\nINSERT INTO no_such_table VALUES (1);\n"),
    ("V11__create_sessions.sql", "CREATE TABLE sessions (id INT PRIMARY KEY);\n"),
];

/// `(version, name)` of a `V<n>__<name>.sql` / `U<n>__<name>.sql` file, as refinery parses it.
fn parse(file: &str) -> (i32, &str) {
    let stem = file.strip_suffix(".sql").unwrap();
    let (version, name) = stem[1..].split_once("__").unwrap();
    (version.parse().unwrap(), name)
}

/// `refinery_core::Runner::run_async` over the files of `stage`, on PostgreSQL.
async fn run_refinery(db: &TestDb, stage: &Path, files: &[&str]) -> Result<(), String> {
    let migrations: Vec<refinery_core::Migration> = files
        .iter()
        .map(|f| refinery_core::Migration::unapplied(f, &std::fs::read_to_string(stage.join(f)).unwrap()).unwrap())
        .collect();
    let (mut client, connection) = tokio_postgres::connect(db.url(), tokio_postgres::NoTls).await.unwrap();
    let task = tokio::spawn(connection);
    let result =
        refinery_core::Runner::new(&migrations).run_async(&mut client).await.map(drop).map_err(|e| error_chain(&e));
    drop(client);
    let _ = task.await;
    result
}

/// An error and all its sources: refinery's own message leaves out the server's.
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(&format!(": {s}"));
        source = s.source();
    }
    text
}

/// refinery's drivers on SQLite and MariaDB: per migration its SQL, then its row.
async fn run_emulated(db: &TestDb, project: &Project, files: &[&str]) -> Result<(), String> {
    let mut conn = Conn::open(db).await;
    conn.exec(
        "CREATE TABLE IF NOT EXISTS refinery_schema_history(
             version INT4 PRIMARY KEY,
             name VARCHAR(255),
             applied_on VARCHAR(255),
             checksum VARCHAR(255))",
    )
    .await;
    let rfc3339_now = match db.backend() {
        Backend::Mysql => "DATE_FORMAT(UTC_TIMESTAMP(6), '%Y-%m-%dT%H:%i:%s.%fZ')",
        _ => "strftime('%Y-%m-%dT%H:%M:%fZ', 'now')",
    };
    for file in files {
        let sql = project.read(file);
        let (version, name) = parse(file);
        conn.run_script(&sql).await?;
        let sum = refinery_checksum(name, version, &sql);
        conn.exec(&format!(
            "INSERT INTO refinery_schema_history (version, name, applied_on, checksum) \
             VALUES ({version}, '{name}', {rfc3339_now}, '{sum}')"
        ))
        .await;
    }
    conn.close().await;
    Ok(())
}

async fn apply(db: &TestDb, project: &Project, all: &[&str], new: &[&str]) -> Result<(), String> {
    if db.backend() == Backend::Postgres {
        let stage = project.stage(all);
        run_refinery(db, stage.path(), all).await
    } else {
        run_emulated(db, project, new).await
    }
}

async fn scenario(db: &TestDb) {
    let project = Project::new();
    for (name, sql) in FILES {
        project.write(name, sql);
    }
    let f = |i: usize| FILES[i].0;

    // Day 1: V1-V4, V6 and V9.
    let day1 = [f(0), f(1), f(2), f(3), f(4), f(6)];
    apply(db, &project, &day1, &day1).await.unwrap();
    // Day 2: V10 fails; refinery records nothing for it.
    let day2 = [f(0), f(1), f(2), f(3), f(4), f(6), f(7)];
    let err = apply(db, &project, &day2, &[f(7)]).await.unwrap_err();
    assert!(err.contains("no_such_table"), "{err}");
    // Later: V8 and V11 are merged; V2 is edited, V3 gets CRLF, V4 is deleted.
    project.edit(f(1), "user_id INT", "user_id BIGINT");
    project.convert_to_crlf(f(2));
    project.remove(f(3));

    let expected = Expected {
        tool: HistoryTool::Refinery,
        layout: Layout::Versioned,
        states: &[
            ("1", APPLIED),
            ("2", EDITED),
            ("3", EDITED_LINE_ENDINGS),
            ("4", MISSING),
            ("6", APPLIED),
            ("8", PENDING_OUT_OF_ORDER),
            ("9", APPLIED),
            ("10", PENDING),
            ("11", PENDING),
        ],
        summary: StatusSummary { total: 9, applied: 3, pending: 3, failed: 0, edited: 2, missing: 1, out_of_order: 0 },
        findings: &["migration-edited", "migration-missing", "migration-pending", "migration-pending-out-of-order"],
    };
    assert_status(db, project.dir(), &expected).await;
}

per_backend!(scenario);

/// refinery applies `U<n>__` ("unversioned") migrations whatever the latest applied version is:
/// here `U2` after `V3`. dbcheck must read `U2__add_email.sql` as that applied migration.
#[tokio::test]
async fn unversioned_migration_applied_out_of_order() {
    let db = dbcheck_tests::require_db!(TestDb::postgres().await);
    let project = Project::new();
    project.write("V1__create_users.sql", "CREATE TABLE users (id INT PRIMARY KEY);\n");
    project.write("U2__add_email.sql", "ALTER TABLE users ADD COLUMN email VARCHAR(100);\n");
    project.write("V3__create_posts.sql", "CREATE TABLE posts (id INT PRIMARY KEY);\n");
    let day1 = project.stage(&["V1__create_users.sql", "V3__create_posts.sql"]);
    run_refinery(&db, day1.path(), &["V1__create_users.sql", "V3__create_posts.sql"]).await.unwrap();
    let all = ["V1__create_users.sql", "U2__add_email.sql", "V3__create_posts.sql"];
    run_refinery(&db, project.dir(), &all).await.unwrap();
    assert_eq!(Conn::open(&db).await.count("refinery_schema_history").await, 3);

    let expected = Expected {
        tool: HistoryTool::Refinery,
        layout: Layout::Versioned,
        states: &[("1", APPLIED), ("2", APPLIED_OUT_OF_ORDER), ("3", APPLIED)],
        summary: StatusSummary { total: 3, applied: 2, out_of_order: 1, ..StatusSummary::default() },
        findings: &["migration-applied-out-of-order"],
    };
    assert_status(&db, project.dir(), &expected).await;
}

const ORACLE_FILES: &[(&str, &str)] = &[
    ("V1__create_users.sql", "CREATE TABLE users (id INT PRIMARY KEY);\n"),
    ("V2__crlf_and_unicode.sql", "-- café ☕\r\nCREATE TABLE b (name TEXT DEFAULT 'é');\r\n"),
    ("V10__empty.sql", ""),
    ("V2147483647__max_version.sql", "SELECT 1;"),
];

/// refinery is the oracle for its own checksum: `refinery_checksum` must agree with
/// `refinery_core::Migration::checksum`.
#[test]
fn checksum_function_matches_refinery_itself() {
    for (file, sql) in ORACLE_FILES {
        let theirs = refinery_core::Migration::unapplied(file, sql).unwrap();
        let (version, name) = parse(file);
        assert_eq!(theirs.name(), name);
        assert_eq!(refinery_checksum(name, version, sql), theirs.checksum(), "{file}");
    }
}

/// … and so must the checksum dbcheck computes for the migrations it discovers.
#[test]
fn discovered_checksums_match_refinery_itself() {
    let project = Project::new();
    for (file, sql) in ORACLE_FILES {
        project.write(file, sql);
    }
    let discovery = discover(project.dir());
    assert_eq!(discovery.migrations.len(), ORACLE_FILES.len());
    for (file, sql) in ORACLE_FILES {
        let theirs = refinery_core::Migration::unapplied(file, sql).unwrap();
        let ours = discovery.migrations.iter().find(|m| m.path.ends_with(file)).unwrap();
        assert_eq!(checksum(HistoryTool::Refinery, ours), Some(theirs.checksum().to_string()), "{file}");
    }
}
