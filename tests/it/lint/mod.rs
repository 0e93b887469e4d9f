//! `constraint-on-existing-data` against real databases: offline the finding is information; with a
//! database, `lint::data::count_violations` matches it to the pre-flight check of its statement and
//! reports the exact number of violating live rows (every check of the statement) as an error, or
//! information when none violate.
#![expect(clippy::unwrap_used, reason = "scenario helpers fail the test loudly on setup errors")]

use std::path::Path;

use dbcheck_core::Severity;
use dbcheck_core::db::{ConnectOptions, DatabaseUrl, Dialect, connect};
use dbcheck_core::lint::{LintFinding, LintOptions, LintReport, data, lint};
use dbcheck_core::migrations::{Layout, discover_migrations};
use dbcheck_tests::{TestDb, require_db};

const SCHEMA: &str = "CREATE TABLE ads (id INT PRIMARY KEY, slug VARCHAR(100), price INT);\n";

/// Rows that violate: `price > 0` (ids 2 and 3), `slug NOT NULL` (ids 3 and 5), and one duplicate
/// slug pair ('a': ids 1 and 2; NULLs are not duplicates).
const DIRTY: &str = "INSERT INTO ads (id, slug, price) VALUES \
    (1, 'a', 10), (2, 'a', -5), (3, NULL, 0), (4, 'c', NULL), (5, NULL, 7)";

const CLEAN: &str = "UPDATE ads SET price = 1 WHERE price <= 0; \
    UPDATE ads SET slug = 'slug-' || id WHERE slug IS NULL OR id = 2";

/// Lint `dir` as `dialect` and count the violations behind the data rule's findings in `db`.
async fn lint_with_data(db: &TestDb, dir: &Path, dialect: Dialect) -> LintReport {
    let discovery = discover_migrations(dir, Some(Layout::Sqlx)).unwrap();
    let mut report = lint(&discovery, dialect, &LintOptions::default());
    let url = DatabaseUrl::parse(db.url()).unwrap();
    let mut conn = connect(&url, &ConnectOptions::default()).await.unwrap();
    data::count_violations(&mut conn, &discovery, &mut report).await.unwrap();
    conn.close().await;
    report
}

/// The data rule's findings whose statement starts with `sql`.
fn finding<'r>(report: &'r LintReport, dir: &Path, sql: &str) -> &'r LintFinding {
    let text = std::fs::read_to_string(dir.join("2_constraints.sql")).unwrap();
    report
        .findings
        .iter()
        .find(|f| f.rule == data::DATA_RULE && text.get(f.statement.clone()).is_some_and(|s| s.starts_with(sql)))
        .unwrap_or_else(|| panic!("no {} finding for {sql}: {:#?}", data::DATA_RULE, report.findings))
}

fn project(constraints: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("1_create_ads.sql"), SCHEMA).unwrap();
    std::fs::write(dir.path().join("2_constraints.sql"), constraints).unwrap();
    dir
}

#[tokio::test]
async fn postgres_counts_violating_rows_per_constraint() {
    let db = require_db!(TestDb::postgres().await);
    let p = project(
        "ALTER TABLE ads ADD CONSTRAINT ads_price_positive CHECK (price > 0);\n\
         ALTER TABLE ads ALTER COLUMN slug SET NOT NULL;\n\
         CREATE UNIQUE INDEX ads_slug_key ON ads (slug);\n",
    );
    let dir = p.path();

    // Offline: information, no counts.
    let offline =
        lint(&discover_migrations(dir, Some(Layout::Sqlx)).unwrap(), Dialect::Postgres, &LintOptions::default());
    let check = offline.findings.iter().filter(|f| f.rule == data::DATA_RULE).collect::<Vec<_>>();
    assert_eq!(check.len(), 3, "{check:#?}");
    assert!(check.iter().all(|f| f.finding.severity == Severity::Info));

    db.execute(SCHEMA).await;
    db.execute(DIRTY).await;
    let report = lint_with_data(&db, dir, Dialect::Postgres).await;
    for (sql, told) in [
        ("ALTER TABLE ads ADD CONSTRAINT", "would fail on 2 live rows"),
        ("ALTER TABLE ads ALTER COLUMN slug", "would fail on 2 live rows"),
        ("CREATE UNIQUE", "would fail on 1 duplicate groups (2 rows)"),
    ] {
        let f = finding(&report, dir, sql);
        assert_eq!(f.finding.severity, Severity::Error, "{sql}: {}", f.finding.message);
        assert!(f.finding.message.contains(told), "{sql}: {}", f.finding.message);
    }
    assert!(finding(&report, dir, "ALTER TABLE ads ADD CONSTRAINT").finding.message.contains("id=2"));

    db.execute(CLEAN).await;
    let report = lint_with_data(&db, dir, Dialect::Postgres).await;
    for sql in ["ALTER TABLE ads ADD CONSTRAINT", "ALTER TABLE ads ALTER COLUMN slug", "CREATE UNIQUE"] {
        let f = finding(&report, dir, sql);
        assert_eq!(f.finding.severity, Severity::Info, "{sql}: {}", f.finding.message);
        assert!(f.finding.message.ends_with("no live row violates it today"), "{sql}: {}", f.finding.message);
    }
}

#[tokio::test]
async fn sqlite_counts_duplicates_behind_a_unique_index() {
    let db = require_db!(TestDb::sqlite().await);
    let p = project("CREATE UNIQUE INDEX ads_slug_key ON ads (slug);\n");
    let dir = p.path();
    db.execute(SCHEMA).await;
    db.execute(DIRTY).await;
    let report = lint_with_data(&db, dir, Dialect::Sqlite).await;
    let f = finding(&report, dir, "CREATE UNIQUE");
    assert_eq!(f.finding.severity, Severity::Error, "{}", f.finding.message);
    assert!(f.finding.message.contains("would fail on 1 duplicate groups (2 rows)"), "{}", f.finding.message);

    db.execute("DELETE FROM ads WHERE id = 2").await;
    let report = lint_with_data(&db, dir, Dialect::Sqlite).await;
    let f = finding(&report, dir, "CREATE UNIQUE");
    assert_eq!(f.finding.severity, Severity::Info, "{}", f.finding.message);
}

#[tokio::test]
async fn mysql_counts_rows_behind_a_check_and_a_unique_index() {
    let db = require_db!(TestDb::mysql().await);
    let p = project(
        "ALTER TABLE ads ADD CONSTRAINT ads_price_positive CHECK (price > 0);\n\
         CREATE UNIQUE INDEX ads_slug_key ON ads (slug);\n\
         ALTER TABLE ads MODIFY slug VARCHAR(100) NOT NULL;\n",
    );
    let dir = p.path();
    db.execute(SCHEMA).await;
    db.execute(DIRTY).await;
    let report = lint_with_data(&db, dir, Dialect::Mysql).await;
    for (sql, told) in [
        ("ALTER TABLE ads ADD CONSTRAINT", "would fail on 2 live rows"),
        ("CREATE UNIQUE", "would fail on 1 duplicate groups (2 rows)"),
        // MODIFY plans a length check and a NULL check: the NULLs must not hide behind the lengths.
        ("ALTER TABLE ads MODIFY", "would fail on 2 live rows (preflight-null-values)"),
    ] {
        let f = finding(&report, dir, sql);
        assert_eq!(f.finding.severity, Severity::Error, "{sql}: {}", f.finding.message);
        assert!(f.finding.message.contains(told), "{sql}: {}", f.finding.message);
    }
}
