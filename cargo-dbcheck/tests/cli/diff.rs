//! `diff --from X --to Y` through the binary: migrations, database URLs and schema files.

use dbcheck_tests::{TestDb, require_db};

use crate::project::{TempProject, output_text, sqlx_migrate};

#[tokio::test]
async fn diff_between_migrations_and_a_database_prints_the_script() {
    let db = require_db!(TestDb::sqlite().await);
    let p = TempProject::new("").with_sqlx_migrations();
    sqlx_migrate(p.path(), db.url()).await;
    db.execute("CREATE TABLE scratch (id INTEGER)").await;
    let out = p.cmd().args(["diff", "--from", db.url(), "--to", "migrations", "--script"]).output().unwrap();
    let (stdout, stderr) = output_text(&out);
    // Differences are warnings: `diff` reports, `--fail-on warning` gates.
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(stderr.contains("warning[diff-only-in-from]"), "{stderr}");
    assert!(stdout.contains("DROP TABLE \"scratch\";"), "{stdout}");
    let out =
        p.cmd().args(["diff", "--from", "migrations", "--to", db.url(), "--fail-on", "warning"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{:?}", output_text(&out));
}

#[test]
fn diff_between_a_schema_file_and_the_migrations() {
    let p = TempProject::new("").with_sqlx_migrations();
    p.write("schema.sql", "CREATE TABLE ads (id INTEGER PRIMARY KEY, title TEXT, slug TEXT);\n");
    let out =
        p.cmd().args(["diff", "--from", "schema.sql", "--to", "migrations", "--dialect", "sqlite"]).output().unwrap();
    let (stdout, stderr) = output_text(&out);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(stdout.contains("no difference"), "{stdout}");

    p.write("schema.sql", "CREATE TABLE ads (id INTEGER PRIMARY KEY, title TEXT NOT NULL, slug TEXT);\n");
    let out = p
        .cmd()
        .args(["diff", "--from", "migrations", "--to", "schema.sql", "--dialect", "sqlite", "--message-format", "json"])
        .output()
        .unwrap();
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let d = &doc["results"][0]["schema"]["differences"][0];
    assert_eq!(d["object"], "ads.title");
    assert_eq!(d["aspect"], "nullable");
}

#[test]
fn diff_rejects_an_unknown_source() {
    let p = TempProject::new("").with_sqlx_migrations();
    let out = p
        .cmd()
        .args(["diff", "--from", "nothing-here.sql", "--to", "migrations", "--dialect", "sqlite"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{:?}", output_text(&out));
}
