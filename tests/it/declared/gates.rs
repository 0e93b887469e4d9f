//! The facade's gates on temp crates: the build helper (`dbcheck::build`: watched files, failing
//! and warning findings, strictness), the offline test gate, and the live gate on real PostgreSQL
//! and SQLite databases migrated by sqlx's own migrator — clean, then with a column added by
//! hand, a pending migration and an edited one, each of which must fail it.

use std::path::{Path, PathBuf};

use dbcheck::build::{Builder, Strictness};
use dbcheck::testing::{assert_live_matches, assert_no_offline_drift, live_findings};
use dbcheck_core::Severity;
use dbcheck_tests::{Backend, TestDb, require_db};
use sqlx::Connection;
use sqlx::migrate::Migrator;

const CREATE: &str = "CREATE TABLE ads (\n    id INTEGER PRIMARY KEY,\n    title TEXT NOT NULL,\n    slug TEXT\n);\n";
const INDEX: &str = "CREATE INDEX ads_title_idx ON ads (title);\n";

/// A crate with two migrations and, when given, a declared `schema.sql`.
fn project(dialect: &str, schema_sql: Option<&str>) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let mut manifest = format!(
        "[package]\nname = \"gated\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[package.metadata.dbcheck]\ndialect = \"{dialect}\"\n"
    );
    if let Some(sql) = schema_sql {
        std::fs::write(dir.path().join("schema.sql"), sql).unwrap();
        manifest.push_str("\n[package.metadata.dbcheck.declared]\nschema_sql = \"schema.sql\"\n");
    }
    std::fs::write(dir.path().join("Cargo.toml"), manifest).unwrap();
    let m = dir.path().join("migrations");
    std::fs::create_dir_all(&m).unwrap();
    std::fs::write(m.join("1_create_ads.sql"), CREATE).unwrap();
    std::fs::write(m.join("2_index_titles.sql"), INDEX).unwrap();
    dir
}

fn panic_text(e: Box<dyn std::any::Any + Send>) -> String {
    e.downcast_ref::<String>()
        .cloned()
        .or_else(|| e.downcast_ref::<&str>().map(|s| (*s).to_owned()))
        .unwrap_or_default()
}

/// Run `f` and return its panic message, or `None` when it did not panic.
fn panics(f: impl FnOnce() + std::panic::UnwindSafe) -> Option<String> {
    std::panic::catch_unwind(f).err().map(panic_text)
}

#[test]
fn build_helper_watches_inputs_and_fails_on_mismatch() {
    let ok = project("sqlite", Some(CREATE));
    let report = Builder::new().manifest_dir(ok.path()).check().unwrap();
    assert!(report.failing().is_empty(), "{:?}", report.findings);
    assert!(report.failure_message().is_none());
    let lines = report.cargo_lines();
    let root = ok.path().canonicalize().unwrap_or_else(|_| ok.path().to_path_buf());
    for watched in
        ["migrations", "migrations/1_create_ads.sql", "migrations/2_index_titles.sql", "Cargo.toml", "schema.sql"]
    {
        let hit = lines.iter().any(|l| {
            l.strip_prefix("cargo:rerun-if-changed=")
                .is_some_and(|p| Path::new(p) == ok.path().join(watched) || Path::new(p) == root.join(watched))
        });
        assert!(hit, "{watched} not watched: {lines:#?}");
    }

    let bad = project("sqlite", Some(&CREATE.replace("slug TEXT", "slug TEXT NOT NULL")));
    let report = Builder::new().manifest_dir(bad.path()).check().unwrap();
    let failing = report.failing();
    assert_eq!(failing.len(), 1, "{:?}", report.findings);
    assert_eq!(failing[0].code, "declared-nullability");
    let message = report.failure_message().unwrap();
    assert!(message.contains("schema.sql:4:5"), "{message}");
    assert!(message.contains("migrations/1_create_ads.sql:1"), "{message}");
    // Nothing fails with WarnOnly: the error becomes a cargo warning.
    let report = Builder::new().manifest_dir(bad.path()).strictness(Strictness::WarnOnly).check().unwrap();
    assert!(report.failure_message().is_none());
    assert!(report.cargo_lines().iter().any(|l| l.starts_with("cargo:warning=") && l.contains("declared-nullability")));
}

#[test]
fn strict_builds_fail_on_unmodelled_statements() {
    let dir = project("postgres", None);
    std::fs::write(dir.path().join("migrations/3_function.sql"), "DO $$ BEGIN PERFORM 1; END $$;\n").unwrap();
    let lenient = Builder::new().manifest_dir(dir.path()).check().unwrap();
    assert!(lenient.failing().is_empty());
    let lines = lenient.cargo_lines();
    let warnings: Vec<&String> = lines.iter().filter(|l| l.starts_with("cargo:warning=")).collect();
    assert!(warnings.iter().any(|l| l.contains("static-unmodelled") && l.contains("3_function.sql:1")), "{warnings:?}");
    let strict = Builder::new().manifest_dir(dir.path()).strict(true).check().unwrap();
    assert!(strict.failing().iter().all(|f| f.severity >= Severity::Warning));
    assert!(!strict.failing().is_empty());
}

#[test]
fn lint_findings_are_cargo_warnings_unless_strict() {
    let dir = project("postgres", None);
    std::fs::write(dir.path().join("migrations/3_drop_slug.sql"), "ALTER TABLE ads DROP COLUMN slug;\n").unwrap();
    let report = Builder::new().manifest_dir(dir.path()).check().unwrap();
    assert!(report.lint.iter().any(|f| f.code == "drop-column"), "{:?}", report.lint);
    assert!(report.failing().is_empty(), "{:?}", report.failing());
    let lines = report.cargo_lines();
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("cargo:warning=") && l.contains("drop-column") && l.contains("3_drop_slug.sql:1")),
        "{lines:#?}"
    );
    let strict = Builder::new().manifest_dir(dir.path()).strict(true).check().unwrap();
    assert!(strict.failing().iter().any(|f| f.code == "drop-column"));
}

#[test]
fn offline_gate_passes_and_fails() {
    let ok = project("sqlite", Some(CREATE));
    let path = ok.path().to_path_buf();
    assert_eq!(panics(move || assert_no_offline_drift(&path)), None);
    let bad = project("sqlite", Some(&CREATE.replace("title TEXT NOT NULL", "title INTEGER NOT NULL")));
    let path = bad.path().to_path_buf();
    let message = panics(move || assert_no_offline_drift(&path)).expect("a mismatch must fail the gate");
    assert!(message.contains("declared-type") && message.contains("ads.title"), "{message}");
}

/// Apply the crate's migrations with sqlx's own migrator.
async fn migrate(db: &TestDb, dir: &Path) {
    let migrator = Migrator::new(dir.join("migrations").as_path()).await.unwrap();
    match db.backend() {
        Backend::Postgres => {
            let mut c = sqlx::PgConnection::connect(db.url()).await.unwrap();
            migrator.run(&mut c).await.unwrap();
            c.close().await.unwrap();
        }
        Backend::Sqlite => {
            let mut c = sqlx::SqliteConnection::connect(db.url()).await.unwrap();
            migrator.run(&mut c).await.unwrap();
            c.close().await.unwrap();
        }
        Backend::Mysql => unreachable!("the live gate scenarios run on PostgreSQL and SQLite"),
    }
}

/// `assert_live_matches` off the async runtime; its panic message, if any.
async fn gate(dir: PathBuf, url: String) -> Option<String> {
    tokio::task::spawn_blocking(move || panics(move || assert_live_matches(&dir, &url))).await.unwrap()
}

async fn live_scenario(db: &TestDb) {
    let dialect = if db.backend() == Backend::Postgres { "postgres" } else { "sqlite" };
    let dir = project(dialect, None);
    let root = dir.path().to_path_buf();
    migrate(db, &root).await;

    let clean = live_findings(&root, db.url()).await.unwrap();
    assert!(clean.failures(Severity::Error).is_empty(), "{:?}", clean.failures(Severity::Error));
    assert_eq!(gate(root.clone(), db.url().to_owned()).await, None);

    // A column added by hand is drift.
    db.execute("ALTER TABLE ads ADD COLUMN added_by_hand INTEGER").await;
    let report = live_findings(&root, db.url()).await.unwrap();
    let failures = report.failures(Severity::Error);
    assert!(failures.iter().any(|f| f.contains("drift-") && f.contains("added_by_hand")), "{failures:?}");
    let message = gate(root.clone(), db.url().to_owned()).await.expect("drift must fail the live gate");
    assert!(message.contains("added_by_hand"), "{message}");

    // A migration on disk the database has not applied is pending.
    std::fs::write(root.join("migrations/3_add_price.sql"), "ALTER TABLE ads ADD COLUMN price INTEGER;\n").unwrap();
    let failures = live_findings(&root, db.url()).await.unwrap().failures(Severity::Error);
    assert!(failures.iter().any(|f| f == "migration 3 is pending"), "{failures:?}");

    // An applied migration edited afterwards.
    std::fs::write(root.join("migrations/2_index_titles.sql"), format!("{INDEX}-- edited\n")).unwrap();
    let failures = live_findings(&root, db.url()).await.unwrap().failures(Severity::Error);
    assert!(failures.iter().any(|f| f.contains("migration-edited")), "{failures:?}");
    // The password never shows: the URL is printed redacted only.
    let message = gate(root.clone(), db.url().to_owned()).await.unwrap();
    assert!(message.contains(&dbcheck_core::db::redact_url(db.url())), "{message}");
}

#[tokio::test]
async fn live_gate_postgres() {
    let db = require_db!(TestDb::postgres().await);
    live_scenario(&db).await;
}

#[tokio::test]
async fn live_gate_sqlite() {
    let db = require_db!(TestDb::sqlite().await);
    live_scenario(&db).await;
}

#[test]
fn live_gate_without_a_url_skips_loudly_or_fails_under_ci() {
    let dir = project("sqlite", None);
    let manifest = dir.path().join("Cargo.toml");
    let mut text = std::fs::read_to_string(&manifest).unwrap();
    text.push_str("database_url_env = \"DBCHECK_GATE_TEST_URL_THAT_IS_NEVER_SET\"\n");
    std::fs::write(&manifest, text).unwrap();
    let path = dir.path().to_path_buf();
    let result = panics(move || dbcheck::testing::live_gate(&path));
    let ci = std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0");
    match result {
        Some(message) => {
            assert!(ci, "only CI fails without a URL: {message}");
            assert!(message.contains("DBCHECK_GATE_TEST_URL_THAT_IS_NEVER_SET"), "{message}");
        }
        None => assert!(!ci, "under CI a gate without a URL must fail"),
    }
}
