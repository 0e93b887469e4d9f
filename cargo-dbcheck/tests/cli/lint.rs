//! `cargo dbcheck lint` end to end. Every rule has a fixture folder `tests/cli/lint/<rule-id>/`
//! with `ok/` and `err/` sqlx migration folders (optionally a `dialect` file): `err` must raise
//! the rule, `ok` must not, and the rendered diagnostic of `err` is kept as `err.snap`
//! (rendered with `-v`, so `info` rules show too; regenerate with `UPDATE_EXPECT=1 cargo test -p cargo-dbcheck --test cli lint::`).

use std::path::{Path, PathBuf};

use crate::project::{TempProject, output_text};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cli/lint")
}

/// Copy the files under `from` into the project at `rel`.
fn copy_tree(p: &TempProject, from: &Path, rel: &str) {
    for entry in std::fs::read_dir(from).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let target = if rel.is_empty() { name } else { format!("{rel}/{name}") };
        if path.is_dir() {
            copy_tree(p, &path, &target);
        } else {
            p.write(&target, std::fs::read(&path).unwrap());
        }
    }
}

/// A temp project whose migrations are the `.sql` files of `dir`, linted as `dialect`; the files
/// under the rule's optional `code/` folder (Rust sources, `diesel.toml`) go to the project root.
fn project_from(dir: &Path, dialect: &str) -> TempProject {
    let p = TempProject::new(&format!("[package.metadata.dbcheck]\ndialect = \"{dialect}\"\n"));
    if let Some(code) = dir.parent().map(|d| d.join("code")).filter(|c| c.is_dir()) {
        copy_tree(&p, &code, "");
    }
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        p.write(&format!("migrations/{name}"), std::fs::read(&path).unwrap());
    }
    p
}

fn lint_json(p: &TempProject) -> serde_json::Value {
    let out = p.cmd().args(["dbcheck", "lint", "--offline", "--message-format", "json"]).output().unwrap();
    let (stdout, stderr) = output_text(&out);
    serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {stdout}\n{stderr}"))
}

fn codes(json: &serde_json::Value) -> Vec<String> {
    json["results"][0]["findings"].as_array().unwrap().iter().map(|f| f["code"].as_str().unwrap().to_owned()).collect()
}

#[test]
fn every_rule_has_fixtures_that_pass_and_fail_with_a_stable_diagnostic() {
    let mut checked = 0;
    for rule in dbcheck_core::lint::all_rules() {
        let id = rule.meta().id;
        let dir = fixtures().join(id);
        assert!(dir.join("ok").is_dir() && dir.join("err").is_dir(), "fixtures missing for {id}: {}", dir.display());
        let dialect = std::fs::read_to_string(dir.join("dialect"))
            .map_or_else(|_| "postgres".to_owned(), |d| d.trim().to_owned());
        let ok = codes(&lint_json(&project_from(&dir.join("ok"), &dialect)));
        assert!(!ok.iter().any(|c| c == id), "{id}: the ok fixture raised it: {ok:?}");
        let err_project = project_from(&dir.join("err"), &dialect);
        let err = codes(&lint_json(&err_project));
        assert!(err.iter().any(|c| c == id), "{id}: the err fixture did not raise it: {err:?}");
        let out = err_project.cmd().args(["dbcheck", "lint", "--offline", "--color", "never", "-v"]).output().unwrap();
        let (_, stderr) = output_text(&out);
        let root = err_project.path().to_string_lossy().into_owned();
        let shown = stderr.replace(&root, "$PROJECT");
        expect_test::expect_file![dir.join("err.snap")].assert_eq(&shown);
        checked += 1;
    }
    assert!(checked >= 1);
}

/// Bare `cargo dbcheck` lints the migrations new since the git base against the code references
/// its declared check read: a new migration dropping a column that a guarded struct reads is
/// `code-uses-dropped`, at the struct's field; the committed migrations are not linted.
#[test]
fn bare_run_lints_new_migrations_against_the_code() {
    use crate::hook::{git, repo};
    let p = repo();
    p.write(
        "src/lib.rs",
        "#[dbcheck::schema_guard(table = \"ads\")]\npub struct Ad {\n    pub id: i32,\n    pub title: Option<String>,\n    \
         pub slug: Option<String>,\n}\n",
    );
    assert!(git(&p, &["add", "-A"]).status.success());
    assert!(git(&p, &["commit", "-qm", "the ad struct"]).status.success());
    p.write("migrations/3_drop_slug.sql", "ALTER TABLE ads DROP COLUMN slug;\n");
    let out = p.cmd().args(["dbcheck", "--message-format", "json"]).output().unwrap();
    let (stdout, stderr) = output_text(&out);
    let json: serde_json::Value =
        serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {stdout}\n{stderr}"));
    let findings = json["results"][0]["findings"].as_array().unwrap();
    let dropped: Vec<&serde_json::Value> = findings.iter().filter(|f| f["code"] == "code-uses-dropped").collect();
    assert_eq!(dropped.len(), 1, "{findings:#?}");
    let text = dropped[0].to_string();
    assert!(text.contains("3_drop_slug.sql") && text.contains("slug") && text.contains("src/lib.rs"), "{text}");
    // The struct's table and its three fields, read once by the declared check.
    assert_eq!(json["results"][0]["lint"]["code_refs"], 4, "{:#}", json["results"][0]["lint"]);
}

/// `lint --fix` rewrites column types in the migrations new since the git base only, then lints
/// them again; a committed migration with the same problem is left as it is. Without a git base
/// it refuses: it cannot tell which migrations no database has applied yet.
#[test]
fn fix_rewrites_only_new_migrations_and_needs_a_base() {
    use crate::hook::{git, repo};
    let p = repo();
    let committed = "CREATE TABLE tags (id bigint PRIMARY KEY, name varchar(40));\n";
    p.write("migrations/3_tags.sql", committed);
    assert!(git(&p, &["add", "-A"]).status.success());
    assert!(git(&p, &["commit", "-qm", "tags"]).status.success());
    p.write(
        "migrations/4_events.sql",
        "CREATE TABLE events (id bigint PRIMARY KEY, tag_id integer REFERENCES tags (id), at timestamp NOT NULL, \
         code char(2));\n",
    );
    let out = p.cmd().args(["dbcheck", "lint", "--fix", "--offline", "--message-format", "json"]).output().unwrap();
    let (stdout, stderr) = output_text(&out);
    let json: serde_json::Value =
        serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {stdout}\n{stderr}"));
    let read = |rel: &str| std::fs::read_to_string(p.path().join(rel)).unwrap();
    assert_eq!(
        read("migrations/4_events.sql"),
        "CREATE TABLE events (id bigint PRIMARY KEY, tag_id bigint REFERENCES tags (id), at timestamptz NOT NULL, \
         code text CHECK (char_length(code) <= 2));\n"
    );
    assert_eq!(read("migrations/3_tags.sql"), committed, "a committed migration is never rewritten");
    let lint = &json["results"][0]["lint"];
    assert_eq!(lint["fixed"]["fixes"], 3, "{lint:#}");
    assert_eq!(lint["fixed"]["files"].as_array().map(Vec::len), Some(1), "{lint:#}");
    let left: Vec<String> = codes(&json).into_iter().filter(|c| c.starts_with("prefer-") || c == "ban-char").collect();
    assert!(left.is_empty(), "linted again after the fix: {left:?}");

    let outside = TempProject::new("").with_sqlx_migrations();
    let out = outside.cmd().args(["dbcheck", "lint", "--fix", "--offline"]).output().unwrap();
    let (_, stderr) = output_text(&out);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("no git base"), "{stderr}");
}
