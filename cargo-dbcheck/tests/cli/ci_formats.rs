//! CI formats: GitHub annotations line by line, SARIF validated against the 2.1.0 schema, JUnit
//! parsed by a JUnit parser.

use dbcheck_tests::{TestDb, require_db};
use serde_json::Value;

use crate::project::{TempProject, output_text, sqlx_migrate};

/// A diesel project whose second migration has an invalid metadata.toml (a finding with a span)
/// next to a stray SQL file (a file-level finding).
fn project_with_findings() -> TempProject {
    let p = TempProject::new("");
    p.write("migrations/2024-01-01-000000_create_ads/up.sql", "CREATE TABLE ads (id INTEGER PRIMARY KEY);\n");
    p.write("migrations/2024-01-02-000000_index ads/up.sql", "CREATE INDEX ads_id ON ads (id);\n");
    p.write("migrations/2024-01-02-000000_index ads/metadata.toml", "run_in_transaction = flase\n");
    p.write("migrations/notes.sql", "-- scratch\n");
    p
}

#[test]
fn github_annotations_point_at_file_and_line() {
    let p = project_with_findings();
    let out = p.cmd().args(["--message-format", "github"]).output().unwrap();
    let (stdout, _) = output_text(&out);
    assert_eq!(out.status.code(), Some(0));
    let annotations: Vec<&str> = stdout.lines().filter(|l| l.starts_with("::")).collect();
    assert_eq!(annotations.len(), 2, "{stdout}");
    assert_eq!(
        annotations[0],
        "::warning file=migrations/2024-01-02-000000_index ads/metadata.toml,line=1,col=22,endLine=1,endColumn=27,\
         title=dbcheck migration-metadata-invalid (app)::diesel ignores this metadata.toml (invalid TOML: invalid \
         boolean, expected `false`) and runs the migration in a transaction%0A%0Ahelp: fix the file, e.g. \
         `run_in_transaction = false`"
    );
    assert!(
        annotations[1].starts_with("::warning file=migrations/notes.sql,title=dbcheck migration-file-ignored (app)::"),
        "{}",
        annotations[1]
    );
    // The human summary is still printed for the job log.
    assert!(stdout.contains("2 migration(s) in"), "{stdout}");
}

#[test]
fn github_format_is_the_default_inside_github_actions() {
    let p = project_with_findings();
    let out = p.cmd().env("GITHUB_ACTIONS", "true").output().unwrap();
    assert!(output_text(&out).0.lines().any(|l| l.starts_with("::warning file=")));
    let out = p.cmd().env("GITHUB_ACTIONS", "true").args(["--message-format", "short"]).output().unwrap();
    assert!(!output_text(&out).0.contains("::warning"));
}

fn sarif_validator() -> jsonschema::Validator {
    let mut schema: Value = serde_json::from_str(include_str!("../fixtures/sarif-schema-2.1.0.json")).unwrap();
    // The published schema's `language` patterns have an unescaped `]`, which ECMA-262 regexes
    // (what draft-07's `format: regex` means) reject; escape it, keeping its meaning.
    fn escape_language_patterns(v: &mut Value) -> usize {
        match v {
            Value::Object(map) => {
                let mut n = 0;
                if map.get("pattern").is_some_and(|p| p == "^[a-zA-Z]{2}|^[a-zA-Z]{2}-[a-zA-Z]{2}]?$") {
                    map.insert("pattern".into(), Value::from(r"^[a-zA-Z]{2}|^[a-zA-Z]{2}-[a-zA-Z]{2}\]?$"));
                    n += 1;
                }
                n + map.values_mut().map(escape_language_patterns).sum::<usize>()
            }
            Value::Array(items) => items.iter_mut().map(escape_language_patterns).sum(),
            _ => 0,
        }
    }
    assert!(escape_language_patterns(&mut schema) > 0);
    jsonschema::validator_for(&schema).unwrap()
}

fn assert_valid_sarif(doc: &Value) {
    let validator = sarif_validator();
    let errors: Vec<String> = validator.iter_errors(doc).map(|e| format!("{e} at {}", e.instance_path())).collect();
    assert!(errors.is_empty(), "invalid SARIF: {errors:#?}\n{doc:#}");
}

#[test]
fn sarif_is_valid_and_has_one_rule_per_code() {
    let p = project_with_findings();
    let out = p.cmd().args(["--message-format", "sarif"]).output().unwrap();
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_valid_sarif(&doc);
    // The validator does reject what SARIF forbids.
    let mut bad = doc.clone();
    bad["runs"][0]["results"][0]["level"] = Value::from("fatal");
    assert!(!sarif_validator().is_valid(&bad));
    let run = &doc["runs"][0];
    let rules: Vec<&str> =
        run["tool"]["driver"]["rules"].as_array().unwrap().iter().map(|r| r["id"].as_str().unwrap()).collect();
    assert_eq!(rules, ["migration-file-ignored", "migration-metadata-invalid"]);
    let results = run["results"].as_array().unwrap();
    assert_eq!(results.len(), 2);
    let meta = results.iter().find(|r| r["ruleId"] == "migration-metadata-invalid").unwrap();
    assert_eq!(meta["level"], "warning");
    assert_eq!(meta["ruleIndex"], 1);
    let loc = &meta["locations"][0]["physicalLocation"];
    assert_eq!(loc["artifactLocation"]["uri"], "migrations/2024-01-02-000000_index%20ads/metadata.toml");
    assert_eq!(loc["region"]["startLine"], 1);
    assert_eq!(loc["region"]["startColumn"], 22);
}

#[test]
fn sarif_for_a_stopped_run_is_still_valid() {
    let p = TempProject::new("[package.metadata.dbcheck]\nmigratons = \"x\"\n");
    let out = p.cmd().args(["--message-format", "sarif"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_valid_sarif(&doc);
    assert_eq!(doc["runs"][0]["invocations"][0]["executionSuccessful"], false);
}

#[tokio::test]
async fn sarif_database_findings_use_logical_locations() {
    let db = require_db!(TestDb::sqlite().await);
    let p = TempProject::new("").with_sqlx_migrations();
    sqlx_migrate(p.path(), db.url()).await;
    std::fs::remove_file(p.path().join("migrations/2_add_slug.sql")).unwrap();
    let out = p.cmd().args(["status", "--message-format", "sarif", "--database-url", db.url()]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_valid_sarif(&doc);
    let missing =
        doc["runs"][0]["results"].as_array().unwrap().iter().find(|r| r["ruleId"] == "migration-missing").unwrap();
    assert_eq!(missing["level"], "error");
    assert_eq!(missing["locations"][0]["logicalLocations"][0]["fullyQualifiedName"], "_sqlx_migrations (2)");
}

#[tokio::test]
async fn junit_has_one_case_per_check_and_failures_carry_the_message() {
    let db = require_db!(TestDb::sqlite().await);
    let p = TempProject::new("").with_sqlx_migrations();
    sqlx_migrate(p.path(), db.url()).await;
    p.write("migrations/2_add_slug.sql", "ALTER TABLE ads ADD COLUMN slug VARCHAR(10);\n");
    let out = p.cmd().args(["status", "--message-format", "junit", "--database-url", db.url()]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let suites = junit_parser::from_reader(std::io::Cursor::new(out.stdout)).unwrap();
    assert_eq!(suites.suites.len(), 1);
    let suite = &suites.suites[0];
    assert_eq!(suite.name, "app");
    assert_eq!(suite.cases.len(), 1);
    let case = &suite.cases[0];
    assert_eq!(case.original_name, "status");
    assert_eq!(case.classname.as_deref(), Some("dbcheck.app"));
    match &case.status {
        junit_parser::TestStatus::Failure(f) => {
            assert_eq!(f.failure_type, "migration-edited");
            assert!(f.message.contains("was edited after it was applied"), "{}", f.message);
            assert!(f.text.contains("2_add_slug.sql"), "{}", f.text);
        }
        other => panic!("expected a failure, got {other:?}"),
    }

    // Clean again: the same check passes.
    p.write("migrations/2_add_slug.sql", "ALTER TABLE ads ADD COLUMN slug TEXT;\n");
    let out = p.cmd().args(["status", "--message-format", "junit", "--database-url", db.url()]).output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let suites = junit_parser::from_reader(std::io::Cursor::new(out.stdout)).unwrap();
    assert!(suites.suites[0].cases[0].status.is_success());
}
