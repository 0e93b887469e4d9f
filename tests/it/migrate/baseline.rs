//! `baseline`: refuses a drifted database (nothing recorded) and adopts a matching one, after
//! which sqlx's own migrator and `migrate deploy` agree on what is applied.

use dbcheck_core::db::ShadowServer;
use dbcheck_core::migrate::baseline;
use dbcheck_core::replay::{ReplayOptions, ReplayTarget};

use super::*;

const FILES: &[(&str, &str)] = &[
    ("1_users.sql", "CREATE TABLE users (id INT PRIMARY KEY, name VARCHAR(50) NOT NULL);\n"),
    ("2_ads.sql", "CREATE TABLE ads (id INT PRIMARY KEY, user_id INT REFERENCES users (id), slug VARCHAR(100));\n"),
    ("3_index.sql", "CREATE INDEX ads_slug ON ads (slug);\n"),
];

async fn run_baseline(
    db: &TestDb,
    dir: &Path,
    to: Option<&str>,
) -> (dbcheck_core::migrate::BaselineReport, Vec<&'static str>) {
    let discovery = discover(dir);
    let url = DatabaseUrl::parse(db.url()).unwrap();
    let target = match db.backend() {
        Backend::Sqlite => ReplayTarget::SqliteMemory,
        _ => ReplayTarget::Server(ShadowServer::new(&url, Duration::from_secs(30))),
    };
    let mut conn = connect(&url, &ConnectOptions { read_only: false, ..ConnectOptions::default() }).await.unwrap();
    let (report, findings) =
        baseline(&discovery, to, None, &mut conn, &target, &ReplayOptions::default()).await.unwrap();
    conn.close().await;
    (report, findings.iter().map(|f| f.code).collect())
}

async fn scenario(db: &TestDb) {
    let p = Project::new();
    for (name, sql) in FILES {
        p.write(name, sql);
    }
    // The database was built by hand (or `db push`) from the first two migrations, plus a drift.
    db.execute(FILES[0].1).await;
    db.execute(FILES[1].1).await;
    db.execute("ALTER TABLE users ADD COLUMN nickname VARCHAR(20)").await;

    let (report, codes) = run_baseline(db, p.dir(), Some("2")).await;
    assert_eq!(codes.first(), Some(&"baseline-refused"), "{codes:?}");
    assert!(codes.contains(&"drift-column-extra"), "{codes:?}");
    assert_eq!(report.differences, 1);
    assert!(report.marked.is_empty());
    let mut c = Conn::open(db).await;
    assert!(!c.table_exists("_sqlx_migrations").await, "a refused baseline records nothing");
    c.close().await;
    // Up to 3 it differs more (the index is missing too).
    let (report, _) = run_baseline(db, p.dir(), None).await;
    assert_eq!(report.differences, 2);

    db.execute("ALTER TABLE users DROP COLUMN nickname").await;
    let (report, codes) = run_baseline(db, p.dir(), Some("2")).await;
    assert!(codes.is_empty(), "{codes:?}");
    assert_eq!(report.marked, ["1", "2"]);
    let s = status(db, p.dir()).await;
    let states: Vec<_> = s.entries.iter().map(|e| e.state).collect();
    assert_eq!(states[..2], [MigrationState::Applied, MigrationState::Applied]);
    assert!(matches!(states[2], MigrationState::Pending { .. }));

    // A second baseline refuses: the history exists now.
    let (_, codes) = run_baseline(db, p.dir(), Some("2")).await;
    assert_eq!(codes, ["baseline-refused"]);

    let report = run_deploy(db, p.dir(), None, &DeployOptions::default()).await;
    assert_eq!(report.applied.len(), 1, "{:?}", report.findings);
    sqlx_run(db, p.dir()).await.unwrap();
}

mod adopt {
    use super::*;
    per_backend!(scenario);
}
