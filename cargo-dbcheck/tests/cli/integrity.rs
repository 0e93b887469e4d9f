//! `integrity` through the binary: configuration errors, exit codes against thresholds and
//! severities, JSON, `--write-migration` in the project's layout (applied for real on
//! PostgreSQL), and a missing table as a finding rather than a crash.

use std::fs;

use dbcheck_tests::{Backend, TestDb, require_db};

use crate::project::{TempProject, output_text};

const SLUG_RULE: &str =
    "[[package.metadata.dbcheck.integrity.rules]]\ntable = \"ads\"\ncolumn = \"slug\"\nnot_null = true\n";

#[test]
fn bad_integrity_configuration_names_file_and_key() {
    for (toml, needle) in [
        (format!("{SLUG_RULE}not_nul = true\n"), "not_nul"),
        (format!("{SLUG_RULE}max_ratio = 1.5\n"), "integrity.rules.max_ratio"),
        (
            "[[package.metadata.dbcheck.integrity.rules]]\ntable = \"ads\"\ncolumn = \"slug\"\n".to_owned(),
            "sets no check",
        ),
        (
            "[[package.metadata.dbcheck.integrity.rules]]\ntable = \"ads\"\nnot_null = true\n".to_owned(),
            "integrity.rules.column",
        ),
    ] {
        let p = TempProject::new(&toml);
        let out = p.cmd().args(["integrity", "--database-url", "sqlite::memory:"]).output().unwrap();
        let (_, stderr) = output_text(&out);
        assert_eq!(out.status.code(), Some(2), "{toml}\n{stderr}");
        assert!(stderr.contains(needle), "{needle}: {stderr}");
        assert!(stderr.contains("Cargo.toml"), "{stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
}

async fn exit_codes(db: TestDb) {
    db.execute(
        "CREATE TABLE ads (id INTEGER PRIMARY KEY, title VARCHAR(100), slug VARCHAR(100));
         INSERT INTO ads VALUES (1, 'Red Car', 'red-car-1'), (2, 'Blue Car', NULL), (3, 'Boat', 'boat-3'), (4, 'Bike', 'bike-4');",
    )
    .await;
    let run = |p: &TempProject, args: &[&str]| {
        let mut cmd = p.cmd();
        cmd.arg("integrity").args(args).args(["--database-url", db.url()]);
        cmd.output().unwrap()
    };
    // 1 of 4 NULL slugs: an error over the default threshold 0 → exit 1, with the sample.
    let p = TempProject::new(SLUG_RULE);
    let out = run(&p, &[]);
    let (stdout, stderr) = output_text(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout}\n{stderr}");
    assert!(
        stderr.contains("error[integrity-violation]: ads.slug.not_null: 1 violation(s) of 4 row(s) checked (25.0000%)"),
        "{stderr}"
    );
    assert!(stderr.contains("e.g. key 2 value NULL"), "{stderr}");
    assert!(stdout.contains("1 over threshold"), "{stdout}");

    // JSON: the rule with counts and samples.
    let out = run(&p, &["--message-format", "json"]);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let rule = &json["results"][0]["integrity"]["rules"][0];
    assert_eq!(rule["violations"], 1, "{json}");
    assert_eq!(rule["rows_checked"], 4);
    assert_eq!(rule["samples"][0]["key"], "2");

    // Within max_ratio: exit 0. A warning: exit 0, 1 with --fail-on warning.
    let p = TempProject::new(&format!("{SLUG_RULE}max_ratio = 0.25\n"));
    assert_eq!(run(&p, &[]).status.code(), Some(0));
    let p = TempProject::new(&format!("{SLUG_RULE}severity = \"warning\"\n"));
    assert_eq!(run(&p, &[]).status.code(), Some(0));
    assert_eq!(run(&p, &["--fail-on", "warning"]).status.code(), Some(1));

    // A rule on a missing table is a finding (exit 1), not a crash.
    let p = TempProject::new(
        "[[package.metadata.dbcheck.integrity.rules]]\ntable = \"missing\"\ncolumn = \"x\"\nnot_null = true\n",
    );
    let out = run(&p, &[]);
    let (_, stderr) = output_text(&out);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("error[integrity-missing-table]"), "{stderr}");

    // --write-migration: the constraint in sqlx's layout; on PostgreSQL it applies for real
    // once the backfill has run.
    let p = TempProject::new(SLUG_RULE);
    let out = run(&p, &["--write-migration", "migrations"]);
    assert_eq!(out.status.code(), Some(1));
    let files: Vec<_> = fs::read_dir(p.path().join("migrations")).unwrap().map(|e| e.unwrap().path()).collect();
    assert_eq!(files.len(), 1, "{files:?}");
    let name = files[0].file_name().unwrap().to_string_lossy().into_owned();
    assert!(
        name.ends_with("_integrity_constraints.sql") && name.len() == 14 + "_integrity_constraints.sql".len(),
        "{name}"
    );
    let sql = fs::read_to_string(&files[0]).unwrap();
    if db.backend() == Backend::Postgres {
        assert!(sql.contains("NOT VALID;\nALTER TABLE \"ads\" VALIDATE CONSTRAINT"), "{sql}");
        db.execute("UPDATE ads SET slug = 'blue-car-2' WHERE id = 2").await;
        db.execute(&sql).await;
        assert_eq!(run(&p, &[]).status.code(), Some(0));
    }
}

#[tokio::test]
async fn exit_codes_postgres() {
    exit_codes(require_db!(TestDb::postgres().await)).await;
}

#[tokio::test]
async fn exit_codes_sqlite() {
    exit_codes(require_db!(TestDb::sqlite().await)).await;
}
