//! What holds for every tool: a fresh database has no history and everything is pending; a
//! second tool's history table is reported; status never creates a SQLite file.

use std::collections::BTreeSet;

use dbcheck_core::db::{ConnectOptions, DatabaseUrl, DbError, connect};
use dbcheck_core::migrations::{HistoryTool, Layout, checksum};
use dbcheck_core::status::StatusSummary;
use dbcheck_tests::TestDb;

use super::*;

/// Two migrations in one layout: the files and the versions their tool records.
type LayoutCase = (Layout, &'static [(&'static str, &'static str)], [&'static str; 2]);

const LAYOUTS: &[LayoutCase] = &[
    (
        Layout::Sqlx,
        &[("1_create_a.sql", "CREATE TABLE a (id INT);\n"), ("2_create_b.sql", "CREATE TABLE b (id INT);\n")],
        ["1", "2"],
    ),
    (
        Layout::Diesel,
        &[
            ("2024-01-01-000000_create_a/up.sql", "CREATE TABLE a (id INT);\n"),
            ("2024-01-02-000000_create_b/up.sql", "CREATE TABLE b (id INT);\n"),
        ],
        ["20240101000000", "20240102000000"],
    ),
    (
        Layout::Prisma,
        &[
            ("migration_lock.toml", "provider = \"postgresql\"\n"),
            ("20240101000000_create_a/migration.sql", "CREATE TABLE a (id INT);\n"),
            ("20240102000000_create_b/migration.sql", "CREATE TABLE b (id INT);\n"),
        ],
        ["20240101000000_create_a", "20240102000000_create_b"],
    ),
    (
        Layout::Versioned,
        &[("V1__create_a.sql", "CREATE TABLE a (id INT);\n"), ("V2__create_b.sql", "CREATE TABLE b (id INT);\n")],
        ["1", "2"],
    ),
];

/// A database no tool has touched: no history table, every migration pending, nothing created.
async fn fresh_database(db: &TestDb) {
    for (layout, files, versions) in LAYOUTS {
        let project = Project::new();
        for (name, text) in *files {
            project.write(name, text);
        }
        let report = status(db, project.dir()).await;
        let tool = HistoryTool::for_layout(*layout);
        assert_eq!(report.layout, Some(*layout));
        assert_eq!((report.tool, report.table.as_str()), (tool, tool.default_table()));
        assert!(!report.table_exists, "{layout}: {} should not exist", report.table);
        let states: Vec<_> = report.entries.iter().map(|e| (e.version.as_str(), e.state)).collect();
        assert_eq!(states, [(versions[0], PENDING), (versions[1], PENDING)], "{layout}");
        assert_eq!(report.summary(), StatusSummary { total: 2, pending: 2, ..StatusSummary::default() });
        assert_eq!(finding_codes(&report), BTreeSet::from(["history-table-missing", "migration-pending"]), "{layout}");
    }
    // Read-only: not even the history table was created.
    let mut conn = Conn::open(db).await;
    for tool in HistoryTool::ALL {
        assert!(!conn.table_exists(tool.default_table()).await, "status created {}", tool.default_table());
    }
    conn.close().await;
}

/// sqlx's table plus Flyway's and diesel's: the project's tool is read, the others are reported.
async fn mixed_tools(db: &TestDb) {
    let project = Project::new();
    for (name, text) in LAYOUTS[0].1 {
        project.write(name, text);
    }
    super::sqlx::migrate(db, project.dir()).await.unwrap();
    let mut conn = Conn::open(db).await;
    conn.exec(super::flyway::flyway_ddl(db.backend())).await;
    conn.exec("CREATE TABLE __diesel_schema_migrations (version VARCHAR(50) PRIMARY KEY NOT NULL, run_on TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP)").await;
    conn.close().await;

    let expected = Expected {
        tool: HistoryTool::Sqlx,
        layout: Layout::Sqlx,
        states: &[("1", APPLIED), ("2", APPLIED)],
        summary: StatusSummary { total: 2, applied: 2, ..StatusSummary::default() },
        findings: &["history-mixed-tools"],
    };
    let report = assert_status(db, project.dir(), &expected).await;
    let mut reported: Vec<String> = report
        .findings
        .iter()
        .filter(|f| f.code == "history-mixed-tools")
        .map(|f| match &f.location {
            Some(dbcheck_core::Location::Database { object }) => object.clone(),
            other => panic!("unexpected location {other:?}"),
        })
        .collect();
    reported.sort();
    assert_eq!(reported, ["__diesel_schema_migrations", "flyway_schema_history"]);
}

mod fresh {
    super::per_backend!(super::fresh_database);
}

mod mixed {
    super::per_backend!(super::mixed_tools);
}

/// `status` opens SQLite read-only: a URL naming a file that does not exist is an error, and the
/// file is not created — not even with sqlx's `?mode=rwc`.
#[tokio::test]
async fn sqlite_file_is_never_created() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.db");
    for url in [
        format!("sqlite://{}", path.display()),
        format!("sqlite:{}", path.display()),
        format!("sqlite://{}?mode=rwc", path.display()),
    ] {
        let parsed = DatabaseUrl::parse(&url).unwrap();
        let err = connect(&parsed, &ConnectOptions::default()).await.unwrap_err();
        assert!(matches!(err, DbError::DatabaseMissing { .. }), "{url}: {err:?}");
        assert!(!path.exists(), "{url} created {}", path.display());
    }
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0, "no journal or WAL files either");
}

/// The SHA-256 the Prisma and dbcheck emulations write, against `sha256sum`.
#[test]
fn sha256_checksums_match_sha256sum() {
    let project = Project::new();
    project.write("20240101000000_init/migration.sql", "CREATE TABLE users (id INT PRIMARY KEY);\n");
    let discovery = discover(project.dir());
    let expected = "89b16e88b9e33579f13a916aefafbe1a65eff9b216a129c3672f32f982c0d456";
    assert_eq!(checksum(HistoryTool::Prisma, &discovery.migrations[0]).unwrap(), expected);
    assert_eq!(checksum(HistoryTool::Dbcheck, &discovery.migrations[0]).unwrap(), expected);
}
