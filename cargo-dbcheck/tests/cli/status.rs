//! `status` through the binary: exit codes per state, on every backend.

use dbcheck_tests::{TestDb, require_db};

use crate::project::{TempProject, output_text, sqlx_migrate};

async fn clean_then_edited(db: TestDb) {
    let p = TempProject::new("").with_sqlx_migrations();
    sqlx_migrate(p.path(), db.url()).await;

    let out = p.cmd().args(["status", "--database-url", db.url()]).output().unwrap();
    let (stdout, stderr) = output_text(&out);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(stdout.contains("2 migration(s): 2 applied"), "{stdout}");

    // A new pending migration is a warning: exit 0 by default, 1 with --fail-on warning.
    p.write("migrations/3_add_price.sql", "ALTER TABLE ads ADD COLUMN price INTEGER;\n");
    let out = p.cmd().args(["status", "--database-url", db.url()]).output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(output_text(&out).0.contains("1 pending"));
    let out = p.cmd().args(["status", "--fail-on", "warning", "--database-url", db.url()]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));

    // Editing an applied migration is an error: exit 1, and the diagnostic names the file.
    p.write("migrations/2_add_slug.sql", "ALTER TABLE ads ADD COLUMN slug VARCHAR(200);\n");
    let out = p.cmd().args(["status", "--database-url", db.url()]).output().unwrap();
    let (stdout, stderr) = output_text(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout}\n{stderr}");
    assert!(stderr.contains("migration-edited"), "{stderr}");
    assert!(stderr.contains("2_add_slug.sql"), "{stderr}");
    assert!(stdout.contains("edited after apply"), "{stdout}");
}

#[tokio::test]
async fn status_exit_codes_on_postgres() {
    clean_then_edited(require_db!(TestDb::postgres().await)).await;
}

#[tokio::test]
async fn status_exit_codes_on_sqlite() {
    clean_then_edited(require_db!(TestDb::sqlite().await)).await;
}

#[tokio::test]
async fn status_exit_codes_on_mysql() {
    clean_then_edited(require_db!(TestDb::mysql().await)).await;
}

#[tokio::test]
async fn status_reads_the_url_from_the_configured_env_var_and_dotenv() {
    let db = require_db!(TestDb::sqlite().await);
    let p = TempProject::new("[package.metadata.dbcheck]\ndatabase_url_env = \"APP_DB\"\n").with_sqlx_migrations();
    sqlx_migrate(p.path(), db.url()).await;

    let out = p.cmd().arg("status").env("APP_DB", db.url()).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{:?}", output_text(&out));

    p.write(".env", format!("APP_DB={}\n", db.url()));
    let out = p.cmd().arg("status").output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{:?}", output_text(&out));

    // Bare `cargo dbcheck` runs status when a URL is configured.
    let out = p.cmd().output().unwrap();
    assert!(output_text(&out).0.contains("2 applied"), "{:?}", output_text(&out));
}

#[tokio::test]
async fn status_never_writes_and_never_creates_a_sqlite_file() {
    let p = TempProject::new("").with_sqlx_migrations();
    let missing = p.path().join("nothing-here.db");
    let out = p.cmd().args(["status", "--database-url", &format!("sqlite:{}", missing.display())]).output().unwrap();
    assert_eq!(out.status.code(), Some(3), "{:?}", output_text(&out));
    assert!(!missing.exists(), "status created the SQLite file");
    assert!(output_text(&out).1.contains("does not exist"));
}

/// A CRLF-only edit is reported as such, with fix SQL that, once run, makes status clean again.
async fn line_endings_only_edit_can_be_accepted(db: TestDb) {
    let p = TempProject::new("").with_sqlx_migrations();
    sqlx_migrate(p.path(), db.url()).await;
    p.write("migrations/2_add_slug.sql", "ALTER TABLE ads ADD COLUMN slug TEXT;\r\n");

    let out = p.cmd().args(["status", "--message-format", "json", "--database-url", db.url()]).output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{:?}", output_text(&out));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let entry = &doc["results"][0]["status"]["entries"][1];
    assert_eq!(entry["state"], "edited");
    assert_eq!(entry["line_endings_only"], true);
    let finding =
        doc["results"][0]["findings"].as_array().unwrap().iter().find(|f| f["code"] == "migration-edited").unwrap();
    assert!(finding["message"].as_str().unwrap().contains("line endings"));
    let fix = finding["fix_sql"].as_str().unwrap();
    assert!(fix.starts_with("UPDATE"), "{fix}");

    db.execute(fix).await;
    let out = p.cmd().args(["status", "--database-url", db.url()]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{:?}", output_text(&out));
    assert!(output_text(&out).0.contains("2 applied"));
}

#[tokio::test]
async fn line_endings_fix_sql_on_postgres() {
    line_endings_only_edit_can_be_accepted(require_db!(TestDb::postgres().await)).await;
}

#[tokio::test]
async fn line_endings_fix_sql_on_sqlite() {
    line_endings_only_edit_can_be_accepted(require_db!(TestDb::sqlite().await)).await;
}

#[tokio::test]
async fn line_endings_fix_sql_on_mysql() {
    line_endings_only_edit_can_be_accepted(require_db!(TestDb::mysql().await)).await;
}
