//! Drift built for real: each kind of hand change on a live database that the migrations built,
//! and `drift` must report exactly it; applying the fix script must bring drift back to zero.

use std::collections::BTreeSet;

use dbcheck_core::diff::{compare, detect_drift, introspect_options};
use dbcheck_core::replay::{Replay, ReplayOptions};

use super::*;

/// The migrations every drift scenario starts from, per backend.
fn migrations(backend: Backend) -> Vec<(&'static str, &'static str)> {
    match backend {
        Backend::Postgres => vec![
            (
                "1_users.sql",
                "CREATE TABLE users (id bigserial PRIMARY KEY, email text NOT NULL);\n\
                 CREATE UNIQUE INDEX users_email_key ON users (email);\n",
            ),
            (
                "2_ads.sql",
                "CREATE TABLE ads (id bigserial PRIMARY KEY, user_id bigint NOT NULL REFERENCES users (id), \
                 title text NOT NULL, slug text, price numeric(10, 2) CONSTRAINT ads_price_check CHECK (price >= 0), \
                 created_at timestamptz NOT NULL DEFAULT now());\n\
                 CREATE INDEX ads_user_idx ON ads (user_id);\nCREATE UNIQUE INDEX ads_slug_key ON ads (slug);\n\
                 CREATE TABLE tags (id serial PRIMARY KEY, name text);\n",
            ),
            (
                "3_constraints.sql",
                "ALTER TABLE ads ADD CONSTRAINT ads_slug_not_empty CHECK (slug <> '') NOT VALID;\n\
                 ALTER TABLE ads VALIDATE CONSTRAINT ads_slug_not_empty;\n",
            ),
        ],
        Backend::Sqlite => vec![
            (
                "1_users.sql",
                "CREATE TABLE users (id INTEGER PRIMARY KEY AUTOINCREMENT, email TEXT NOT NULL);\nCREATE UNIQUE INDEX users_email_key ON users (email);\n",
            ),
            (
                "2_ads.sql",
                "CREATE TABLE ads (id INTEGER PRIMARY KEY AUTOINCREMENT, user_id INTEGER NOT NULL REFERENCES users (id), \
                 title TEXT NOT NULL, slug TEXT, price NUMERIC(10, 2) CONSTRAINT ads_price_check CHECK (price >= 0), \
                 created_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP);\n\
                 CREATE INDEX ads_user_idx ON ads (user_id);\nCREATE TABLE tags (id INTEGER PRIMARY KEY, name TEXT);\n",
            ),
        ],
        Backend::Mysql => vec![
            (
                "1_users.sql",
                "CREATE TABLE users (id bigint AUTO_INCREMENT PRIMARY KEY, email varchar(200) NOT NULL);\nCREATE UNIQUE INDEX users_email_key ON users (email);\n",
            ),
            (
                "2_ads.sql",
                "CREATE TABLE ads (id bigint AUTO_INCREMENT PRIMARY KEY, user_id bigint NOT NULL, title varchar(200) NOT NULL, \
                 price numeric(10, 2), created_at timestamp NOT NULL DEFAULT CURRENT_TIMESTAMP, \
                 CONSTRAINT ads_price_check CHECK (price >= 0), CONSTRAINT ads_user_fk FOREIGN KEY (user_id) REFERENCES users (id));\n\
                 CREATE INDEX ads_user_idx ON ads (user_id);\nCREATE TABLE tags (id integer PRIMARY KEY, name varchar(50));\n",
            ),
        ],
    }
}

/// One drift scenario: the hand change, what `drift` must report, and data clean-up the fix needs.
struct Scenario {
    name: &'static str,
    change: &'static str,
    codes: &'static [&'static str],
    before_fix: Option<&'static str>,
}

const fn s(name: &'static str, change: &'static str, codes: &'static [&'static str]) -> Scenario {
    Scenario { name, change, codes, before_fix: None }
}

fn scenarios(backend: Backend) -> Vec<Scenario> {
    match backend {
        Backend::Postgres => vec![
            s("extra table", "CREATE TABLE scratch (id int)", &["drift-table-extra"]),
            s("missing table", "DROP TABLE tags", &["drift-table-missing"]),
            s("extra column", "ALTER TABLE ads ADD COLUMN views int", &["drift-column-extra"]),
            s("missing column", "ALTER TABLE ads DROP COLUMN created_at", &["drift-column-missing"]),
            s("extra index", "CREATE INDEX ads_title_idx ON ads (title)", &["drift-index-extra"]),
            s("missing index", "DROP INDEX ads_user_idx", &["drift-index-missing"]),
            s(
                "extra constraint",
                "ALTER TABLE tags ADD CONSTRAINT tags_name_check CHECK (name <> '')",
                &["drift-constraint-extra"],
            ),
            s("missing constraint", "ALTER TABLE ads DROP CONSTRAINT ads_user_id_fkey", &["drift-constraint-missing"]),
            s("changed type", "ALTER TABLE ads ALTER COLUMN price TYPE numeric(12, 2)", &["drift-column-changed"]),
            s("changed nullability", "ALTER TABLE ads ALTER COLUMN title DROP NOT NULL", &["drift-column-changed"]),
            s(
                "changed default",
                "ALTER TABLE ads ALTER COLUMN created_at SET DEFAULT '2000-01-01'",
                &["drift-column-changed"],
            ),
            s(
                "not valid left behind",
                "ALTER TABLE ads DROP CONSTRAINT ads_slug_not_empty; ALTER TABLE ads ADD CONSTRAINT ads_slug_not_empty CHECK (slug <> '') NOT VALID",
                &["drift-constraint-not-valid"],
            ),
            Scenario {
                name: "invalid index",
                // A failed CREATE INDEX CONCURRENTLY leaves an INVALID index behind (see below).
                change: "",
                codes: &["drift-index-invalid"],
                before_fix: Some("DELETE FROM ads WHERE id = 2"),
            },
        ],
        Backend::Sqlite => vec![
            s("extra table", "CREATE TABLE scratch (id int)", &["drift-table-extra"]),
            s("missing table", "DROP TABLE tags", &["drift-table-missing"]),
            s("extra column", "ALTER TABLE ads ADD COLUMN views INTEGER", &["drift-column-extra"]),
            s("missing column", "ALTER TABLE ads DROP COLUMN slug", &["drift-column-missing"]),
            s("extra index", "CREATE INDEX ads_title_idx ON ads (title)", &["drift-index-extra"]),
            s("missing index", "DROP INDEX ads_user_idx", &["drift-index-missing"]),
            s(
                "changed type, nullability and default (a hand rebuild)",
                "CREATE TABLE tags_new (id INTEGER PRIMARY KEY, name VARCHAR(20) NOT NULL DEFAULT 'x'); \
                 INSERT INTO tags_new SELECT id, coalesce(name, 'x') FROM tags; DROP TABLE tags; ALTER TABLE tags_new RENAME TO tags",
                // One finding per aspect: type, nullability, default.
                &["drift-column-changed", "drift-column-changed", "drift-column-changed"],
            ),
            s(
                "missing constraint (a hand rebuild)",
                "PRAGMA foreign_keys = OFF; CREATE TABLE ads_new (id INTEGER PRIMARY KEY AUTOINCREMENT, user_id INTEGER NOT NULL REFERENCES users (id), \
                 title TEXT NOT NULL, slug TEXT, price NUMERIC(10, 2), created_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP); \
                 INSERT INTO ads_new SELECT * FROM ads; DROP TABLE ads; ALTER TABLE ads_new RENAME TO ads; \
                 CREATE INDEX ads_user_idx ON ads (user_id)",
                &["drift-constraint-missing"],
            ),
        ],
        Backend::Mysql => vec![
            s("extra table", "CREATE TABLE scratch (id int)", &["drift-table-extra"]),
            s("missing table", "DROP TABLE tags", &["drift-table-missing"]),
            s("extra column", "ALTER TABLE ads ADD COLUMN views int", &["drift-column-extra"]),
            s("missing column", "ALTER TABLE ads DROP COLUMN title", &["drift-column-missing"]),
            s("extra index", "CREATE INDEX ads_title_idx ON ads (title)", &["drift-index-extra"]),
            s("missing index", "DROP INDEX users_email_key ON users", &["drift-index-missing"]),
            s(
                "extra constraint",
                "ALTER TABLE tags ADD CONSTRAINT tags_name_check CHECK (name <> '')",
                &["drift-constraint-extra"],
            ),
            s("missing constraint", "ALTER TABLE ads DROP CONSTRAINT ads_price_check", &["drift-constraint-missing"]),
            s("changed type", "ALTER TABLE ads MODIFY COLUMN price numeric(12, 2)", &["drift-column-changed"]),
            s(
                "changed nullability",
                "ALTER TABLE tags MODIFY COLUMN name varchar(50) NOT NULL",
                &["drift-column-changed"],
            ),
            s("changed default", "ALTER TABLE tags ALTER COLUMN name SET DEFAULT 'x'", &["drift-column-changed"]),
        ],
    }
}

fn write_migrations(backend: Backend) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (name, sql) in migrations(backend) {
        std::fs::write(dir.path().join(name), sql).unwrap();
    }
    dir
}

async fn build_live(backend: Backend) -> Option<TestDb> {
    let db = TestDb::new(backend).await?;
    for (_, sql) in migrations(backend) {
        db.execute(sql).await;
    }
    Some(db)
}

async fn every_kind_of_drift(backend: Backend) {
    let dir = write_migrations(backend);
    // The end-to-end path once: replay + introspect + compare on a database without drift.
    let Some(clean) = build_live(backend).await else { return };
    let discovery = discover_migrations(dir.path(), None).unwrap();
    let options = ReplayOptions { introspect: introspect_options(&[], None), ..ReplayOptions::default() };
    let mut conn = open(&clean).await;
    let report = detect_drift(&discovery, &mut conn, &target_for(&clean), &options).await.unwrap();
    conn.close().await;
    assert!(report.replay.complete);
    assert!(report.findings.is_empty(), "a database built by the migrations drifts: {:#?}", report.findings);
    assert!(report.fix.is_empty());
    let replay: Replay = replay_dir(&clean, dir.path()).await;

    let mut failures = Vec::new();
    for sc in scenarios(backend) {
        let db = build_live(backend).await.unwrap();
        if sc.name == "invalid index" {
            db.execute("INSERT INTO users (email) VALUES ('a@x'); INSERT INTO ads (user_id, title, slug) VALUES (1, 'a', 'same'), (1, 'b', 'same2'); DROP INDEX ads_slug_key; UPDATE ads SET slug = 'same'").await;
            let mut conn = open(&db).await;
            let failed = conn.execute("CREATE UNIQUE INDEX CONCURRENTLY ads_slug_key ON ads (slug)", "breaking").await;
            conn.close().await;
            assert!(failed.is_err(), "the concurrent build should fail on duplicates");
        } else {
            db.execute(sc.change).await;
        }
        let actual = introspect(&db).await;
        let report = compare(replay.clone(), actual);
        let codes: BTreeSet<&str> = report.findings.iter().map(|f| f.code).collect();
        let wanted: BTreeSet<&str> = sc.codes.iter().copied().collect();
        if codes != wanted || report.findings.len() != sc.codes.len() {
            failures.push(format!("{}: expected {wanted:?}, got {:#?}", sc.name, report.findings));
            continue;
        }
        if let Some(sql) = sc.before_fix {
            db.execute(sql).await;
        }
        let statements: Vec<String> = report.fix.steps.iter().map(|s| s.sql.clone()).collect();
        let mut conn = open(&db).await;
        let applied = conn.apply_fix(&statements, &report.fix.to_sql()).await;
        conn.close().await;
        if let Err(e) = applied {
            failures.push(format!("{}: the fix failed: {e}\n{}", sc.name, report.fix.to_sql()));
            continue;
        }
        let after = compare(replay.clone(), introspect(&db).await);
        if !after.findings.is_empty() {
            failures.push(format!("{}: drift after the fix: {:#?}\n{}", sc.name, after.findings, report.fix.to_sql()));
        }
    }
    assert!(failures.is_empty(), "{backend}:\n{}", failures.join("\n\n"));
}

#[tokio::test]
async fn postgres() {
    every_kind_of_drift(Backend::Postgres).await;
}

#[tokio::test]
async fn sqlite() {
    every_kind_of_drift(Backend::Sqlite).await;
}

#[tokio::test]
async fn mysql() {
    every_kind_of_drift(Backend::Mysql).await;
}
