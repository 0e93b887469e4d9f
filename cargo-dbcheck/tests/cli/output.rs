//! Output conventions: help, cargo invocation, JSON schema, short lines, color.

use dbcheck_tests::{TestDb, require_db};
use serde_json::Value;

use crate::project::{TempProject, output_text, sqlx_migrate};

#[test]
fn help_lists_only_working_commands() {
    let p = TempProject::new("");
    let out = p.cmd().arg("--help").output().unwrap();
    let (stdout, _) = output_text(&out);
    let commands: Vec<&str> = stdout
        .split("Commands:")
        .nth(1)
        .unwrap()
        .split("Options:")
        .next()
        .unwrap()
        .lines()
        .filter_map(|l| l.strip_prefix("  ").filter(|l| !l.starts_with(' ')).and_then(|l| l.split_whitespace().next()))
        .collect();
    assert_eq!(
        commands,
        [
            "status",
            "files",
            "integrity",
            "drift",
            "diff",
            "schema",
            "check-static",
            "declared",
            "lint",
            "backup",
            "restore",
            "migrate",
            "baseline",
            "validate",
            "hook",
            "help"
        ]
    );
    assert!(stdout.contains("Exit codes"));
}

#[test]
fn works_as_a_cargo_subcommand() {
    let p = TempProject::new("").with_sqlx_migrations();
    // cargo runs `cargo-dbcheck dbcheck <args>`.
    let out = p.cmd().args(["dbcheck", "--message-format", "short"]).output().unwrap();
    let (stdout, stderr) = output_text(&out);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stdout.starts_with("app: 2 migration(s) in"), "{stdout}");
    let out = p.cmd().args(["dbcheck", "--help"]).output().unwrap();
    assert!(output_text(&out).0.contains("Usage: cargo dbcheck"));
}

#[tokio::test]
async fn json_output_is_one_versioned_document_with_redacted_url() {
    let db = require_db!(TestDb::postgres().await);
    let p = TempProject::new("").with_sqlx_migrations();
    sqlx_migrate(p.path(), db.url()).await;
    p.write("migrations/3_add_price.sql", "ALTER TABLE ads ADD COLUMN price INTEGER;\n");
    // A password that the trust-auth test server ignores, to prove it is redacted.
    let url = db.url().replacen("postgres://postgres@", "postgres://postgres:Sh0uld-Not-Show@", 1);
    let out = p.cmd().args(["status", "--message-format", "json", "--database-url", &url]).output().unwrap();
    let (stdout, stderr) = output_text(&out);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(!stdout.contains("Sh0uld-Not-Show"));
    let doc: Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!(doc["schema_version"], 1);
    assert_eq!(doc["failed"], false);
    let result = &doc["results"][0];
    assert_eq!(result["command"], "status");
    assert!(result["database"].as_str().unwrap().contains(":***@"));
    let status = &result["status"];
    assert_eq!(status["tool"], "sqlx");
    assert_eq!(status["table_exists"], true);
    assert_eq!(status["summary"]["applied"], 2);
    assert_eq!(status["summary"]["pending"], 1);
    let states: Vec<&str> =
        status["entries"].as_array().unwrap().iter().map(|e| e["state"].as_str().unwrap()).collect();
    assert_eq!(states, ["applied", "applied", "pending"]);
    let finding = result["findings"].as_array().unwrap().iter().find(|f| f["code"] == "migration-pending").unwrap();
    assert_eq!(finding["severity"], "warning");
    assert_eq!(finding["location"]["kind"], "file");
    assert!(finding["location"]["path"].as_str().unwrap().ends_with("3_add_price.sql"));
}

#[test]
fn short_format_is_one_line_per_finding() {
    let p = TempProject::new("").with_sqlx_migrations();
    p.write("migrations/notes.sql", "-- not a migration\n");
    let out = p.cmd().args(["--message-format", "short"]).output().unwrap();
    let (_, stderr) = output_text(&out);
    let line = stderr.lines().find(|l| l.contains("migration-file-ignored")).unwrap();
    assert!(line.contains("notes.sql:1:1: warning[migration-file-ignored]: "), "{line}");
}

#[test]
fn color_follows_flag_and_environment() {
    let p = TempProject::new("").with_sqlx_migrations();
    p.write("migrations/notes.sql", "-- not a migration\n");
    let colored = |out: std::process::Output| output_text(&out).1.contains("\x1b[");
    assert!(colored(p.cmd().args(["--color", "always"]).output().unwrap()));
    assert!(!colored(p.cmd().args(["--color", "never"]).output().unwrap()));
    assert!(colored(p.cmd().env("CARGO_TERM_COLOR", "always").output().unwrap()));
    // auto: not a terminal here, so no color; NO_COLOR also turns it off.
    assert!(!colored(p.cmd().output().unwrap()));
    assert!(!colored(p.cmd().env("NO_COLOR", "1").output().unwrap()));
}

#[test]
fn quiet_prints_only_problems() {
    let p = TempProject::new("").with_sqlx_migrations();
    let out = p.cmd().arg("-q").output().unwrap();
    let (stdout, stderr) = output_text(&out);
    assert_eq!(out.status.code(), Some(0));
    assert!(stdout.is_empty() && stderr.is_empty(), "{stdout}{stderr}");
}

/// A finding that points into a file: the human diagnostic shows the source line and marks the
/// span; short and JSON give its line and column.
#[test]
fn findings_with_spans_show_the_source() {
    let p = TempProject::new("");
    p.write("migrations/2024-01-01-000000_create_ads/up.sql", "CREATE TABLE ads (id INTEGER PRIMARY KEY);\n");
    p.write("migrations/2024-01-02-000000_index_ads/up.sql", "CREATE INDEX ads_id ON ads (id);\n");
    p.write(
        "migrations/2024-01-02-000000_index_ads/metadata.toml",
        "# index without locking\nrun_in_transaction = flase\n",
    );

    let out = p.cmd().args(["--color", "never"]).output().unwrap();
    let (_, stderr) = output_text(&out);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("migration-metadata-invalid"), "{stderr}");
    assert!(stderr.contains("metadata.toml:2:22"), "{stderr}");
    assert!(stderr.contains("run_in_transaction = flase"), "{stderr}");
    assert!(stderr.contains("help: fix the file"), "{stderr}");

    let out = p.cmd().args(["--message-format", "short"]).output().unwrap();
    let (_, stderr) = output_text(&out);
    assert!(stderr.contains("metadata.toml:2:22: warning[migration-metadata-invalid]"), "{stderr}");

    let out = p.cmd().args(["--message-format", "json"]).output().unwrap();
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    let loc = &doc["results"][0]["findings"][0]["location"];
    assert_eq!((loc["line"].as_u64(), loc["column"].as_u64()), (Some(2), Some(22)), "{doc}");
}
