//! diesel: `__diesel_schema_migrations` written by diesel's own `MigrationHarness` on PostgreSQL
//! and SQLite. diesel's MySQL backend is not compiled in here, so on MariaDB the table is written
//! the way diesel writes it: its DDL, the migration's SQL, then an insert of the version.

use std::path::Path;

use ::diesel::Connection as _;
use dbcheck_core::migrations::{HistoryTool, Layout};
use dbcheck_core::status::StatusSummary;
use dbcheck_tests::{Backend, TestDb};
use diesel_migrations::{FileBasedMigrations, MigrationHarness};

use super::*;

/// Migration folders: dashed and plain versions mixed, one name with a space.
const MIGRATIONS: &[(&str, &str)] = &[
    ("20140924113530_create_accounts", "CREATE TABLE accounts (id INT PRIMARY KEY);\n"),
    ("2015-01-01-000000_create_users", "CREATE TABLE users (id INT PRIMARY KEY, name VARCHAR(50));\n"),
    (
        "2015-06-01-000000_create_posts",
        "CREATE TABLE posts (id INT PRIMARY KEY);\nCREATE TABLE post_tags (post_id INT);\n",
    ),
    ("2016-01-01-000000_create_audit", "CREATE TABLE audit (id INT PRIMARY KEY);\n"),
    ("2017-01-01-000000_add_user_email", "ALTER TABLE users ADD COLUMN email VARCHAR(100);\n"),
    ("2017-09-23-182408_create comments", "CREATE TABLE comments (id INT PRIMARY KEY);\n"),
    ("2018-01-01-000000_create_follows", "CREATE TABLE follows (id INT PRIMARY KEY);\n"),
    ("2019-01-01-000000_create_settings", "CREATE TABLE settings (id INT PRIMARY KEY);\n"),
    (
        "2020-01-01-000000_create_likes",
        "CREATE TABLE likes (id INT PRIMARY KEY);\nINSERT INTO no_such_table VALUES (1);\n",
    ),
    ("2021-01-01-000000_create_sessions", "CREATE TABLE sessions (id INT PRIMARY KEY);\n"),
];

const DIESEL_DDL: &str = "CREATE TABLE IF NOT EXISTS __diesel_schema_migrations (\
    version VARCHAR(50) PRIMARY KEY NOT NULL, \
    run_on TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP)";

/// Runs the pending migrations of `stage` the way `diesel migration run` does.
fn run_pending(db: &TestDb, stage: &Path) -> Result<(), String> {
    let source = FileBasedMigrations::from_path(stage).unwrap();
    let result = match db.backend() {
        Backend::Postgres => {
            let mut conn = ::diesel::PgConnection::establish(db.url()).unwrap();
            conn.run_pending_migrations(source).map(drop)
        }
        Backend::Sqlite => {
            let path = sqlite_path(db.url());
            let mut conn = ::diesel::SqliteConnection::establish(path.to_str().unwrap()).unwrap();
            conn.run_pending_migrations(source).map(drop)
        }
        Backend::Mysql => unreachable!("diesel's mysql backend is emulated"),
    };
    result.map_err(|e| e.to_string())
}

/// diesel on MariaDB, as `MigrationHarness::run_migration` does it: the SQL, then the version.
/// MariaDB cannot roll DDL back, so a failure leaves the statements before it and no row.
async fn run_emulated(db: &TestDb, project: &Project, folders: &[&str]) -> Result<(), String> {
    let mut conn = Conn::open(db).await;
    conn.exec(DIESEL_DDL).await;
    for folder in folders {
        conn.run_script(&project.read(&format!("{folder}/up.sql"))).await?;
        let version = folder.split('_').next().unwrap().replace('-', "");
        conn.exec(&format!("INSERT INTO __diesel_schema_migrations (version) VALUES ('{version}')")).await;
    }
    conn.close().await;
    Ok(())
}

async fn apply(db: &TestDb, project: &Project, all: &[&str], new: &[&str]) -> Result<(), String> {
    if db.backend() == Backend::Mysql {
        run_emulated(db, project, new).await
    } else {
        let stage = project.stage(all);
        run_pending(db, stage.path())
    }
}

async fn scenario(db: &TestDb) {
    let project = Project::new();
    for (folder, up) in MIGRATIONS {
        project.write(&format!("{folder}/up.sql"), up);
        project.write(&format!("{folder}/down.sql"), "SELECT 1;\n");
    }
    project.write(&format!("{}/metadata.toml", MIGRATIONS[8].0), "run_in_transaction = false\n");
    let m = |i: usize| MIGRATIONS[i].0;

    // Day 1: everything up to 2019 except 2017-01-01 and 2018.
    let day1 = [m(0), m(1), m(2), m(3), m(5), m(7)];
    apply(db, &project, &day1, &day1).await.unwrap();
    // Day 2: 2017-01-01 arrives from a long-lived branch and runs after 2019.
    tick(db.backend(), true).await;
    let day2 = [m(0), m(1), m(2), m(3), m(4), m(5), m(7)];
    apply(db, &project, &day2, &[m(4)]).await.unwrap();
    // Day 3: 2020 fails; diesel records nothing for a failed migration.
    let day3 = [m(0), m(1), m(2), m(3), m(4), m(5), m(7), m(8)];
    let err = apply(db, &project, &day3, &[m(8)]).await.unwrap_err();
    assert!(err.contains("no_such_table"), "{err}");
    // Later: 2018 and 2021 are merged, 2015-01-01 is edited, 2015-06-01 gets CRLF, 2016 is deleted.
    project.edit(&format!("{}/up.sql", m(1)), "VARCHAR(50)", "VARCHAR(80)");
    project.convert_to_crlf(&format!("{}/up.sql", m(2)));
    project.remove(m(3));

    // diesel records no checksum: edited files look applied (with a `checksum-unavailable`
    // note), and a failed migration looks pending.
    let expected = Expected {
        tool: HistoryTool::Diesel,
        layout: Layout::Diesel,
        states: &[
            ("20140924113530", APPLIED),
            ("20150101000000", APPLIED),
            ("20150601000000", APPLIED),
            ("20160101000000", MISSING),
            ("20170101000000", APPLIED_OUT_OF_ORDER),
            ("20170923182408", APPLIED),
            ("20180101000000", PENDING_OUT_OF_ORDER),
            ("20190101000000", APPLIED),
            ("20200101000000", PENDING),
            ("20210101000000", PENDING),
        ],
        summary: StatusSummary { total: 10, applied: 5, pending: 3, failed: 0, edited: 0, missing: 1, out_of_order: 1 },
        findings: &[
            "checksum-unavailable",
            "migration-applied-out-of-order",
            "migration-missing",
            "migration-pending",
            "migration-pending-out-of-order",
        ],
    };
    let report = assert_status(db, project.dir(), &expected).await;
    let comments = report.entries.iter().find(|e| e.version == "20170923182408").unwrap();
    assert_eq!(comments.name, "create comments");
}

per_backend!(scenario);
