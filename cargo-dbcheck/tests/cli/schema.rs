//! `schema` through the binary: the schema the migrations produce, as SQL and JSON.

use dbcheck_tests::{TestDb, require_db};

use crate::project::{TempProject, output_text};

#[test]
fn schema_prints_sql_and_json_for_sqlite() {
    let p = TempProject::new("").with_sqlx_migrations();
    let out = p.cmd().args(["schema", "--dialect", "sqlite"]).output().unwrap();
    let (stdout, stderr) = output_text(&out);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(stdout.starts_with("CREATE TABLE \"ads\" ("), "{stdout}");
    assert!(stdout.contains("\"slug\" text"), "{stdout}");

    let out = p.cmd().args(["schema", "--dialect", "sqlite", "--format", "json", "-q"]).output().unwrap();
    let schema: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(schema["dialect"], "sqlite");
    assert_eq!(schema["tables"]["ads"]["columns"][2]["name"], "slug");
}

#[tokio::test]
async fn schema_replays_on_the_postgres_server() {
    let db = require_db!(TestDb::postgres().await);
    let p = TempProject::new("[package.metadata.dbcheck]\nreplay_cache = false\n").with_sqlx_migrations();
    let out = p.cmd().args(["schema", "--database-url", db.url()]).output().unwrap();
    let (stdout, stderr) = output_text(&out);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(stdout.contains("CONSTRAINT \"ads_pkey\" PRIMARY KEY (\"id\")"), "{stdout}");
}

#[test]
fn schema_needs_a_dialect_or_a_url() {
    let p = TempProject::new("").with_sqlx_migrations();
    let out = p.cmd().arg("schema").output().unwrap();
    let (_, stderr) = output_text(&out);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr.contains("--dialect sqlite"), "{stderr}");
}
