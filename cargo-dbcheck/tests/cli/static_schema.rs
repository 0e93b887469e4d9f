//! `schema --static` and `check-static` through the binary: the schema interpreted with no
//! database, its provenance, unmodelled statements as warnings, and the oracle's findings.

use dbcheck_tests::{TestDb, require_db};

use crate::project::{TempProject, output_text};

#[test]
fn static_schema_needs_no_database() {
    let p = TempProject::new("").with_sqlx_migrations();
    let out = p.cmd().args(["schema", "--static", "--dialect", "sqlite"]).output().unwrap();
    let (stdout, stderr) = output_text(&out);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(stdout.starts_with("CREATE TABLE \"ads\" ("), "{stdout}");
    assert!(stdout.contains("\"slug\" text"), "{stdout}");

    let out = p.cmd().args(["schema", "--static", "--dialect", "sqlite", "--format", "json", "-q"]).output().unwrap();
    let schema: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(schema["tables"]["ads"]["columns"][2]["name"], "slug");
}

#[test]
fn json_output_carries_provenance_and_unmodelled_statements() {
    let p = TempProject::new("").with_sqlx_migrations();
    p.write(
        "migrations/3_dynamic.sql",
        "-- backfill\nUPDATE ads SET slug = 'x';\nDO $$ BEGIN EXECUTE 'ALTER TABLE ads ADD c int'; END $$;\n",
    );
    let out =
        p.cmd().args(["schema", "--static", "--dialect", "postgres", "--message-format", "json"]).output().unwrap();
    let (stdout, stderr) = output_text(&out);
    // An unmodelled statement is a warning: exit 0 by default.
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    let doc: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let result = &doc["results"][0];
    let origin = &result["schema"]["origins"]["column:ads.slug"];
    assert!(origin["path"].as_str().unwrap().ends_with("2_add_slug.sql"), "{origin}");
    assert_eq!(origin["line"], 1);
    let unmodelled = result["schema"]["unmodelled"].as_array().unwrap();
    assert_eq!(unmodelled.len(), 1, "{unmodelled:?}");
    assert_eq!(unmodelled[0]["line"], 3);
    let finding = &result["findings"][0];
    assert_eq!(finding["code"], "static-unmodelled");
    assert_eq!(finding["severity"], "warning");
    assert_eq!(finding["location"]["line"], 3);

    let out = p.cmd().args(["schema", "--static", "--dialect", "postgres", "--fail-on", "warning"]).output().unwrap();
    let (_, stderr) = output_text(&out);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("3_dynamic.sql:3"), "{stderr}");
    assert!(stderr.contains("DO block"), "{stderr}");
}

#[test]
fn mysql_is_refused_with_a_usage_error() {
    let p = TempProject::new("").with_sqlx_migrations();
    let out = p.cmd().args(["schema", "--static", "--dialect", "mysql"]).output().unwrap();
    let (_, stderr) = output_text(&out);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("PostgreSQL and SQLite"), "{stderr}");
}

#[test]
fn check_static_agrees_on_sqlite_and_reports_a_disagreement() {
    let p = TempProject::new("[package.metadata.dbcheck]\nreplay_cache = false\n").with_sqlx_migrations();
    let out = p.cmd().args(["check-static", "--dialect", "sqlite"]).output().unwrap();
    let (stdout, stderr) = output_text(&out);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(stdout.contains("no difference"), "{stdout}");

    // SQLite rewrites a view's stored text when its table is renamed; the interpreter keeps
    // the text as written, and the oracle says so.
    p.write(
        "migrations/3_view.sql",
        "CREATE VIEW titles AS SELECT title FROM ads;\nALTER TABLE ads RENAME TO adverts;\n",
    );
    let out = p.cmd().args(["check-static", "--dialect", "sqlite", "--message-format", "json"]).output().unwrap();
    let (stdout, stderr) = output_text(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout}\n{stderr}");
    let doc: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let findings = doc["results"][0]["findings"].as_array().unwrap();
    let mismatch = findings.iter().find(|f| f["code"] == "static-mismatch").unwrap();
    assert!(mismatch["message"].as_str().unwrap().contains("view titles"), "{mismatch}");
    assert!(mismatch["location"]["path"].as_str().unwrap().ends_with("3_view.sql"), "{mismatch}");
}

#[tokio::test]
async fn check_static_on_postgres_names_the_statement() {
    let db = require_db!(TestDb::postgres().await);
    let p = TempProject::new("[package.metadata.dbcheck]\nreplay_cache = false\n").with_sqlx_migrations();
    let out = p.cmd().args(["check-static", "--database-url", db.url()]).output().unwrap();
    let (stdout, stderr) = output_text(&out);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");

    // The server rewrites `IN (…)` as `= ANY (ARRAY[…])`, which comparison form does not undo.
    p.write("migrations/3_check.sql", "\nALTER TABLE ads ADD CONSTRAINT ads_kind CHECK (title IN ('a', 'b'));\n");
    let out = p.cmd().args(["check-static", "--database-url", db.url()]).output().unwrap();
    let (stdout, stderr) = output_text(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout}\n{stderr}");
    assert!(stderr.contains("static-mismatch"), "{stderr}");
    assert!(stderr.contains("3_check.sql:2"), "{stderr}");
}
