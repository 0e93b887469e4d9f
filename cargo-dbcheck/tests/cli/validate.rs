//! `validate` (the pre-deploy gate) and bare `cargo dbcheck`: exit codes per situation on a real
//! database — clean, drift, pending, failed integrity, stale or missing backup.

use dbcheck_tests::{TestDb, require_db};
use serde_json::Value;

use crate::project::{TempProject, output_text, sqlx_migrate};

const CONFIG: &str = "[[package.metadata.dbcheck.integrity.rules]]\ntable = \"ads\"\ncolumn = \"title\"\nnot_null = true\n\n\
                      [package.metadata.dbcheck.backup]\ndir = \"backups\"\n";

/// A migrated SQLite project with integrity rules and a backup directory.
async fn project(db: &TestDb) -> TempProject {
    let p = TempProject::new(CONFIG).with_sqlx_migrations();
    sqlx_migrate(p.path(), db.url()).await;
    db.execute("INSERT INTO ads (id, title) VALUES (1, 'bike');").await;
    p
}

fn validate(p: &TempProject, db: &TestDb, extra: &[&str]) -> (Option<i32>, Vec<String>) {
    let out = p
        .cmd()
        .args(["validate", "--message-format", "json", "--database-url", db.url()])
        .args(extra)
        .output()
        .unwrap();
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {:?}", output_text(&out)));
    let codes = doc["results"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|r| r["findings"].as_array().unwrap().iter())
        .filter(|f| f["severity"] != "info")
        .map(|f| f["code"].as_str().unwrap().to_owned())
        .collect();
    (out.status.code(), codes)
}

#[tokio::test]
async fn validate_exit_codes_per_situation() {
    let db = require_db!(TestDb::sqlite().await);
    let p = project(&db).await;

    // No backup yet: the gate fails on the missing backup alone.
    let (code, codes) = validate(&p, &db, &[]);
    assert_eq!((code, codes.clone()), (Some(1), vec!["backup-stale".to_owned()]), "{codes:?}");

    // A fresh, verified backup: clean.
    let out = p.cmd().args(["backup", "--database-url", db.url()]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{:?}", output_text(&out));
    let (code, codes) = validate(&p, &db, &[]);
    assert_eq!((code, codes.clone()), (Some(0), Vec::<String>::new()), "{codes:?}");

    // Stale: the same backup is older than a zero-hour limit.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let (code, codes) = validate(&p, &db, &["--max-backup-age", "0"]);
    assert_eq!((code, codes.clone()), (Some(1), vec!["backup-stale".to_owned()]), "{codes:?}");

    // Pending: reported as a warning (it is what the deploy will apply), a failure with
    // --fail-on warning, and not counted as drift.
    p.write("migrations/3_add_price.sql", "ALTER TABLE ads ADD COLUMN price INTEGER;\n");
    let (code, codes) = validate(&p, &db, &[]);
    assert_eq!((code, codes.clone()), (Some(0), vec!["migration-pending".to_owned()]), "{codes:?}");
    let (code, _) = validate(&p, &db, &["--fail-on", "warning"]);
    assert_eq!(code, Some(1));
    std::fs::remove_file(p.path().join("migrations/3_add_price.sql")).unwrap();

    // Failed integrity: a NULL title.
    db.execute("INSERT INTO ads (id, title) VALUES (2, NULL);").await;
    let (code, codes) = validate(&p, &db, &[]);
    assert_eq!(code, Some(1), "{codes:?}");
    assert!(codes.iter().any(|c| c.starts_with("integrity-")), "{codes:?}");
    db.execute("DELETE FROM ads WHERE id = 2;").await;

    // Drift: a column added by hand.
    db.execute("ALTER TABLE ads ADD COLUMN form_template TEXT;").await;
    let (code, codes) = validate(&p, &db, &[]);
    assert_eq!((code, codes.clone()), (Some(1), vec!["drift-column-extra".to_owned()]), "{codes:?}");
}

#[test]
fn validate_requires_a_database_url() {
    let p = TempProject::new("").with_sqlx_migrations();
    let out = p.cmd().arg("validate").output().unwrap();
    let (_, stderr) = output_text(&out);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("no database URL"), "{stderr}");
}

#[tokio::test]
async fn bare_run_says_what_it_skipped_and_runs_live_checks_with_a_url() {
    let p = TempProject::new("").with_sqlx_migrations();
    let out = p.cmd().output().unwrap();
    let (_, stderr) = output_text(&out);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("skipped: status, drift, integrity, files: no database URL"), "{stderr}");

    let db = require_db!(TestDb::sqlite().await);
    sqlx_migrate(p.path(), db.url()).await;
    let out = p.cmd().args(["--message-format", "json", "--database-url", db.url()]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{:?}", output_text(&out));
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    let commands: Vec<&str> =
        doc["results"].as_array().unwrap().iter().map(|r| r["command"].as_str().unwrap()).collect();
    assert_eq!(commands, ["check", "status", "drift", "integrity"]);
}
