//! `drift` through the binary: exit codes, the fix script, `--apply`, the replay cache, failures.

use dbcheck_tests::{Backend, TestDb, require_db};

use crate::project::{TempProject, output_text, sqlx_migrate};

/// Metadata that keeps PostgreSQL test runs from leaving cached replays on the server.
const NO_CACHE: &str = "[package.metadata.dbcheck]\nreplay_cache = false\n";

async fn count(url: &str, sql: &str) -> i64 {
    use sqlx::Connection as _;
    let sql = sqlx::AssertSqlSafe(sql.to_owned());
    if url.starts_with("postgres") {
        let mut c = sqlx::PgConnection::connect(url).await.unwrap();
        sqlx::query_scalar(sql).fetch_one(&mut c).await.unwrap()
    } else if url.starts_with("mysql") {
        let mut c = sqlx::MySqlConnection::connect(url).await.unwrap();
        sqlx::query_scalar(sql).fetch_one(&mut c).await.unwrap()
    } else {
        let mut c = sqlx::SqliteConnection::connect(url).await.unwrap();
        sqlx::query_scalar(sql).fetch_one(&mut c).await.unwrap()
    }
}

/// Clean → hand change → reported (exit 1) → `--fix` writes and never runs → `--apply` refuses
/// without a terminal or `--yes` → `--apply --yes` repairs and records → clean.
async fn drift_lifecycle(db: TestDb) {
    let p = TempProject::new(NO_CACHE).with_sqlx_migrations();
    sqlx_migrate(p.path(), db.url()).await;
    let drift = |extra: &[&str]| {
        let mut cmd = p.cmd();
        cmd.args(["drift", "--database-url", db.url()]).args(extra);
        cmd.output().unwrap()
    };
    let out = drift(&[]);
    let (stdout, stderr) = output_text(&out);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(stdout.contains("no drift"), "{stdout}");

    db.execute("ALTER TABLE ads ADD COLUMN hack INTEGER").await;
    let out = drift(&[]);
    let (stdout, stderr) = output_text(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout}\n{stderr}");
    assert!(stderr.contains("error[drift-column-extra]"), "{stderr}");
    assert!(
        stderr
            .contains("column `ads.hack` exists in the database but in no migration: changed by hand or by `db push`"),
        "{stderr}"
    );
    assert!(stdout.contains("- column ads.hack"), "{stdout}");

    let fix = p.path().join("fix.sql");
    let fix_arg = fix.to_str().unwrap();
    let out = drift(&["--fix", fix_arg]);
    assert_eq!(out.status.code(), Some(1), "{:?}", output_text(&out));
    let script = std::fs::read_to_string(&fix).unwrap();
    assert!(script.contains("DROP COLUMN"), "{script}");
    assert!(script.contains("-- destructive"), "{script}");
    assert_eq!(drift(&[]).status.code(), Some(1), "--fix alone must not touch the database");

    let out = drift(&["--fix", fix_arg, "--apply"]);
    assert_eq!(out.status.code(), Some(2), "no terminal, no --yes: {:?}", output_text(&out));
    assert_eq!(drift(&[]).status.code(), Some(1), "a refused --apply must not touch the database");

    let out = drift(&["--fix", fix_arg, "--apply", "--yes", "-v"]);
    let (stdout, stderr) = output_text(&out);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(stderr.contains("drift-fix-applied"), "{stderr}");
    assert_eq!(count(db.url(), "SELECT count(*) FROM _dbcheck_drift_fixes").await, 1);
    let out = drift(&[]);
    assert_eq!(out.status.code(), Some(0), "{:?}", output_text(&out));
}

#[tokio::test]
async fn drift_lifecycle_on_postgres() {
    drift_lifecycle(require_db!(TestDb::postgres().await)).await;
}

#[tokio::test]
async fn drift_lifecycle_on_sqlite() {
    drift_lifecycle(require_db!(TestDb::sqlite().await)).await;
}

#[tokio::test]
async fn drift_lifecycle_on_mysql() {
    drift_lifecycle(require_db!(TestDb::mysql().await)).await;
}

#[tokio::test]
async fn drift_json_names_object_aspect_and_both_sides() {
    let db = require_db!(TestDb::postgres().await);
    let p = TempProject::new(NO_CACHE).with_sqlx_migrations();
    sqlx_migrate(p.path(), db.url()).await;
    db.execute("ALTER TABLE ads ALTER COLUMN title SET NOT NULL").await;
    let out = p.cmd().args(["drift", "--message-format", "json", "--database-url", db.url()]).output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{:?}", output_text(&out));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let r = &doc["results"][0];
    assert_eq!(r["command"], "drift");
    let d = &r["schema"]["differences"][0];
    assert_eq!(d["object"], "ads.title");
    assert_eq!(d["aspect"], "nullable");
    assert_eq!(d["from"], "not null");
    assert_eq!(d["to"], "nullable");
    assert_eq!(r["findings"][0]["code"], "drift-column-changed");
    assert_eq!(r["schema"]["script"]["steps"][0]["sql"], "ALTER TABLE \"ads\" ALTER COLUMN \"title\" DROP NOT NULL");
    assert_eq!(r["schema"]["replay"]["cache"]["kind"], "miss");
}

/// With the cache on, a second run with unchanged migrations is served from the template database.
#[tokio::test]
async fn drift_reuses_the_cached_replay_on_postgres() {
    let db = require_db!(TestDb::postgres().await);
    let p = TempProject::new("").with_sqlx_migrations();
    sqlx_migrate(p.path(), db.url()).await;
    let run = || {
        let out = p.cmd().args(["drift", "--message-format", "json", "--database-url", db.url()]).output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{:?}", output_text(&out));
        let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        doc["results"][0]["schema"]["replay"]["cache"]["kind"].as_str().unwrap().to_owned()
    };
    assert_eq!(run(), "miss");
    assert_eq!(run(), "hit");
    // Drop the template this project left (tagged with its migrations folder).
    let admin = dbcheck_tests::admin_url(Backend::Postgres).unwrap();
    let pattern = format!("{}%", p.path().join("migrations").display());
    use sqlx::Connection as _;
    let mut c = sqlx::PgConnection::connect(&admin).await.unwrap();
    let names: Vec<String> =
        sqlx::query_scalar("SELECT datname::text FROM pg_database WHERE shobj_description(oid, 'pg_database') LIKE $1")
            .bind(&pattern)
            .fetch_all(&mut c)
            .await
            .unwrap();
    assert_eq!(names.len(), 1, "{names:?}");
    for n in names {
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!("DROP DATABASE \"{n}\" WITH (FORCE)")))
            .execute(&mut c)
            .await
            .unwrap();
    }
}

#[tokio::test]
async fn a_migration_that_fails_to_replay_is_reported_with_file_and_line() {
    // A database with no history table is compared with every migration, so the broken one is
    // replayed (against a migrated database it would be pending, and left out).
    let db = require_db!(TestDb::sqlite().await);
    let p = TempProject::new("").with_sqlx_migrations();
    p.write("migrations/3_broken.sql", "-- oops\nALTER TABLE nowhere ADD COLUMN x INTEGER;\n");
    let out = p.cmd().args(["drift", "--message-format", "short", "--database-url", db.url()]).output().unwrap();
    let (stdout, stderr) = output_text(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout}\n{stderr}");
    assert!(stderr.contains("3_broken.sql:2:1: error[replay-failed]"), "{stderr}");
    assert!(stderr.contains("nowhere"), "{stderr}");
}

#[test]
fn drift_without_a_database_url_is_a_usage_error() {
    let p = TempProject::new("").with_sqlx_migrations();
    let out = p.cmd().arg("drift").output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{:?}", output_text(&out));
}

#[test]
fn drift_never_prints_a_password() {
    let p = TempProject::new("").with_sqlx_migrations();
    let out = p.cmd().args(["drift", "--database-url", "postgres://app:hunter22@127.0.0.1:1/app"]).output().unwrap();
    let (stdout, stderr) = output_text(&out);
    assert_eq!(out.status.code(), Some(3), "{stdout}\n{stderr}");
    assert!(!stdout.contains("hunter22") && !stderr.contains("hunter22"), "{stdout}\n{stderr}");
    assert!(stderr.contains("app:***@"), "{stderr}");
}

/// Pending migrations are not drift: a database one migration behind is clean (with a note that
/// names the pending one); a database with no history table is compared with every migration.
#[tokio::test]
async fn pending_migrations_are_not_reported_as_drift() {
    let db = require_db!(TestDb::sqlite().await);
    let p = TempProject::new(NO_CACHE).with_sqlx_migrations();
    sqlx_migrate(p.path(), db.url()).await;
    p.write("migrations/3_add_price.sql", "ALTER TABLE ads ADD COLUMN price INTEGER;\n");

    let out = p.cmd().args(["drift", "--message-format", "json", "--database-url", db.url()]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{:?}", output_text(&out));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let findings = doc["results"][0]["findings"].as_array().unwrap();
    let note = findings.iter().find(|f| f["code"] == "drift-pending-excluded").unwrap();
    assert!(note["message"].as_str().unwrap().contains("(3)"), "{note}");
    assert!(findings.iter().all(|f| !f["code"].as_str().unwrap().starts_with("drift-column")), "{findings:?}");

    // The same schema built by hand, with no history table: the missing column is drift.
    let hand = require_db!(TestDb::sqlite().await);
    hand.execute("CREATE TABLE ads (id INTEGER PRIMARY KEY, title TEXT); ALTER TABLE ads ADD COLUMN slug TEXT;").await;
    let out = p.cmd().args(["drift", "--message-format", "json", "--database-url", hand.url()]).output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{:?}", output_text(&out));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let codes: Vec<&str> =
        doc["results"][0]["findings"].as_array().unwrap().iter().map(|f| f["code"].as_str().unwrap()).collect();
    assert!(codes.contains(&"drift-column-missing"), "{codes:?}");
}
