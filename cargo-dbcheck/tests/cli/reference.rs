//! The repository's own reference migrations: applied by sqlx's migrator, every one is `applied`.

use std::path::Path;

use dbcheck_tests::{TestDb, require_db};
use serde_json::Value;

use crate::project::output_text;

fn workspace_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap()
}

fn status_json(args: &[&str]) -> (Option<i32>, Value) {
    let out = assert_cmd::Command::cargo_bin("cargo-dbcheck")
        .unwrap()
        .current_dir(workspace_root())
        .env_remove("DATABASE_URL")
        .args(["status", "--message-format", "json"])
        .args(args)
        .output()
        .unwrap();
    let (stdout, stderr) = output_text(&out);
    (out.status.code(), serde_json::from_str(stdout.trim()).unwrap_or_else(|e| panic!("{e}: {stdout}\n{stderr}")))
}

#[tokio::test]
async fn reference_postgres_history_is_all_applied() {
    use sqlx::Connection as _;
    let db = require_db!(TestDb::postgres().await);
    let migrator = sqlx::migrate::Migrator::new(workspace_root().join("migrations")).await.unwrap();
    let mut conn = sqlx::PgConnection::connect(db.url()).await.unwrap();
    migrator.run(&mut conn).await.unwrap();
    let count = migrator.iter().count();
    assert!(count >= 8, "the reference history has {count} migrations");

    let manifest = workspace_root().join("Cargo.toml");
    let (code, doc) = status_json(&["--manifest-path", manifest.to_str().unwrap(), "--database-url", db.url()]);
    assert_eq!(code, Some(0), "{doc}");
    let summary = &doc["results"][0]["status"]["summary"];
    assert_eq!(summary["applied"].as_u64(), Some(count as u64), "{doc}");
    assert_eq!(summary["total"].as_u64(), Some(count as u64), "{doc}");
}

#[tokio::test]
async fn marketplace_sqlite_history_is_all_applied() {
    use sqlx::Connection as _;
    let db = require_db!(TestDb::sqlite().await);
    let dir = workspace_root().join("examples/marketplace/migrations_sqlite");
    let migrator = sqlx::migrate::Migrator::new(dir).await.unwrap();
    let mut conn = sqlx::SqliteConnection::connect(db.url()).await.unwrap();
    migrator.run(&mut conn).await.unwrap();
    let count = migrator.iter().count() as u64;

    let (code, doc) = status_json(&["-p", "marketplace", "--database-url", db.url()]);
    assert_eq!(code, Some(0), "{doc}");
    assert_eq!(doc["results"][0]["project"], "marketplace");
    assert_eq!(doc["results"][0]["status"]["summary"]["applied"].as_u64(), Some(count), "{doc}");
}
