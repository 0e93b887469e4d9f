//! `cargo dbcheck declared` through the binary: diesel `schema.rs` found through `diesel.toml`
//! (with its filters), `schema.sql`, guarded structs in the crate's sources, exit codes, JSON
//! output, and the same check inside bare `cargo dbcheck`.

use crate::project::{TempProject, output_text};

const SCHEMA_RS: &str = "diesel::table! {\n    ads (id) {\n        id -> Integer,\n        title -> Nullable<Text>,\n        slug -> Nullable<Text>,\n    }\n}\n";

fn diesel_project(schema_rs: &str) -> TempProject {
    let p = TempProject::new("[package.metadata.dbcheck]\ndialect = \"sqlite\"\n").with_sqlx_migrations();
    p.write("diesel.toml", "[print_schema]\nfile = \"src/schema.rs\"\n");
    p.write("src/schema.rs", schema_rs);
    p
}

#[test]
fn a_matching_diesel_schema_passes() {
    let p = diesel_project(SCHEMA_RS);
    let out = p.cmd().args(["declared"]).output().unwrap();
    let (stdout, stderr) = output_text(&out);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(!stderr.contains("declared-"), "{stderr}");
}

#[test]
fn mismatches_fail_with_both_locations() {
    let p = diesel_project(&SCHEMA_RS.replace("slug -> Nullable<Text>", "slug -> Integer"));
    let out = p.cmd().args(["declared"]).output().unwrap();
    let (stdout, stderr) = output_text(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout}\n{stderr}");
    assert!(stderr.contains("declared-type"), "{stderr}");
    assert!(stderr.contains("declared-nullability"), "{stderr}");
    assert!(stderr.contains("src/schema.rs:5"), "{stderr}");
    assert!(stderr.contains("migrations/2_add_slug.sql:1"), "{stderr}");

    let out = p.cmd().args(["declared", "--message-format", "json"]).output().unwrap();
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let result = &doc["results"][0];
    assert_eq!(result["command"], "declared");
    assert_eq!(result["declared"]["dialect"], "sqlite");
    assert!(result["declared"]["sources"][0].as_str().unwrap().ends_with("schema.rs"));
    let codes: Vec<&str> = result["findings"].as_array().unwrap().iter().map(|f| f["code"].as_str().unwrap()).collect();
    assert_eq!(codes, ["declared-type", "declared-nullability"]);
    assert_eq!(result["findings"][0]["location"]["line"], 5);
}

#[test]
fn diesel_toml_filters_decide_which_tables_must_be_declared() {
    let p = diesel_project(SCHEMA_RS);
    p.write("migrations/3_audit.sql", "CREATE TABLE audit_log (id INTEGER PRIMARY KEY, what TEXT);\n");
    let out = p.cmd().args(["declared"]).output().unwrap();
    let (_, stderr) = output_text(&out);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("declared-extra-table") && stderr.contains("audit_log"), "{stderr}");
    p.write("diesel.toml", "[print_schema]\nfile = \"src/schema.rs\"\nfilter = { except_tables = [\"^audit_\"] }\n");
    let out = p.cmd().args(["declared"]).output().unwrap();
    let (_, stderr) = output_text(&out);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
}

#[test]
fn schema_sql_and_a_broken_diesel_toml() {
    let p = TempProject::new(
        "[package.metadata.dbcheck]\ndialect = \"sqlite\"\n\n[package.metadata.dbcheck.declared]\nschema_sql = \"db/schema.sql\"\n",
    )
    .with_sqlx_migrations();
    p.write("db/schema.sql", "CREATE TABLE ads (id INTEGER PRIMARY KEY, title TEXT, slug TEXT NOT NULL);\n");
    let out = p.cmd().args(["declared"]).output().unwrap();
    let (_, stderr) = output_text(&out);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("declared-nullability") && stderr.contains("ads.slug"), "{stderr}");

    p.write("diesel.toml", "[print_schema]\nfile = \"src/schema.rs\"\nfilter = { only_tables = [\"(\"] }\n");
    let out = p.cmd().args(["declared"]).output().unwrap();
    let (_, stderr) = output_text(&out);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("diesel.toml"), "{stderr}");
}

#[test]
fn nothing_declared_is_said_and_bare_runs_include_the_check() {
    let p = TempProject::new("[package.metadata.dbcheck]\ndialect = \"sqlite\"\n").with_sqlx_migrations();
    let out = p.cmd().args(["declared"]).output().unwrap();
    let (_, stderr) = output_text(&out);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("skipped: declared sources"), "{stderr}");

    let p = diesel_project(&SCHEMA_RS.replace("title -> Nullable<Text>,\n", ""));
    let out = p.cmd().output().unwrap();
    let (_, stderr) = output_text(&out);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("declared-extra-column") && stderr.contains("ads.title"), "{stderr}");
}

#[test]
fn guarded_structs_are_scanned() {
    let p = TempProject::new("[package.metadata.dbcheck]\ndialect = \"sqlite\"\n").with_sqlx_migrations();
    p.write(
        "src/models.rs",
        "#[dbcheck::schema_guard(table = \"ads\")]\npub struct Ad {\n    pub id: i64,\n    pub headline: String,\n}\n",
    );
    let out = p.cmd().args(["declared", "--message-format", "json"]).output().unwrap();
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let result = &doc["results"][0];
    assert_eq!(result["declared"]["guarded_structs"], 1, "{result}");
    assert_eq!(out.status.code(), Some(1), "{result}");
    let findings = result["findings"].as_array().unwrap();
    assert!(findings.iter().any(|f| f["code"].as_str().unwrap().starts_with("guard-")), "{findings:?}");
}
