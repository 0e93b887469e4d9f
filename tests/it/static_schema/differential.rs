//! Differential tests: static interpretation vs replay for the reference histories, the diff
//! fixtures and a generated 300-migration history, on PostgreSQL and SQLite.

use std::fs;

use dbcheck_core::db::ShadowServer;
use dbcheck_core::migrations::discover_migrations;
use dbcheck_core::replay::{ReplayOptions, ReplayTarget, replay_migrations};
use dbcheck_core::sql::interpret_migrations;

use super::*;

/// Static vs replay for the migrations in `dir`; returns the unmodelled statements as
/// `(file name, line, reason)`.
async fn history(db: &TestDb, dir: &Path) -> Vec<(String, usize, String)> {
    let discovery = discover_migrations(dir, None).unwrap();
    let target = match db.backend() {
        Backend::Sqlite => ReplayTarget::SqliteMemory,
        _ => ReplayTarget::Server(ShadowServer::new(&DatabaseUrl::parse(db.url()).unwrap(), Duration::from_secs(30))),
    };
    let replay = replay_migrations(&discovery, &target, &ReplayOptions::default()).await.unwrap();
    assert!(replay.complete, "{:#?}", replay.findings);
    let ours = interpret_migrations(&discovery, dialect(db.backend()));
    let diffs = disagreements(&ours.schema, &replay.schema, &[]);
    assert!(
        diffs.is_empty(),
        "static and replayed schemas differ for {}:\n{diffs:#?}\n--- static ---\n{}",
        dir.display(),
        serde_json::to_string_pretty(&ours.schema).unwrap()
    );
    ours.unmodelled
        .into_iter()
        .map(|u| (u.path.file_name().unwrap().to_string_lossy().into_owned(), u.line, u.reason))
        .collect()
}

#[tokio::test]
async fn reference_history_postgres() {
    let db = require_db!(TestDb::postgres().await);
    let unmodelled = history(&db, &workspace().join("migrations")).await;
    assert_eq!(unmodelled, []);
    // Provenance: the slug became NOT NULL in the constraints migration.
    let discovery = discover_migrations(&workspace().join("migrations"), None).unwrap();
    let ours = interpret_migrations(&discovery, Dialect::Postgres);
    let origin = ours.origin("column:ads.slug").unwrap();
    assert!(origin.path.ends_with("20241213090000_add_data_integrity_constraints.sql"), "{origin:?}");
    assert_eq!(origin.line, 3);
    let origin = ours.origin("index:ads.ads_category_created_idx").unwrap();
    assert!(origin.path.ends_with("20241216080000_index_ads_by_category.sql"));
    assert_eq!(origin.line, 4);
}

#[tokio::test]
async fn reference_history_sqlite() {
    let db = require_db!(TestDb::sqlite().await);
    let unmodelled = history(&db, &workspace().join("examples/marketplace/migrations_sqlite")).await;
    assert_eq!(unmodelled, []);
}

#[tokio::test]
async fn generated_history_postgres() {
    let db = require_db!(TestDb::postgres().await);
    let dir = generated_history(Backend::Postgres, 300);
    let unmodelled = history(&db, dir.path()).await;
    // Every 50th migration runs a DO block: listed, not guessed.
    let expected: Vec<(String, usize, String)> = (0..300)
        .filter(|i| i % 6 == 5 && i % 50 == 49)
        .map(|i| {
            (
                format!("{}_step_{i}.sql", 20240101000000u64 + i as u64),
                2,
                "a DO block runs procedural code the interpreter does not execute".to_owned(),
            )
        })
        .collect();
    assert_eq!(unmodelled, expected);
}

#[tokio::test]
async fn generated_history_sqlite() {
    let db = require_db!(TestDb::sqlite().await);
    let dir = generated_history(Backend::Sqlite, 300);
    let unmodelled = history(&db, dir.path()).await;
    assert_eq!(unmodelled, []);
}

/// A generated history of `n` sqlx migrations cycling through the statement kinds the
/// interpreter supports (the same shape as the benchmark's).
pub(crate) fn generated_history(backend: Backend, n: usize) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let pg = backend == Backend::Postgres;
    for i in 0..n {
        let t = i - i % 6;
        let sql = match i % 6 {
            0 if t >= 6 => format!(
                "CREATE TABLE t{t} (id integer PRIMARY KEY, name varchar(100) NOT NULL, parent_id integer REFERENCES t{} (id), \
                 price numeric(10, 2) DEFAULT 0 CHECK (price >= 0), created_at timestamp DEFAULT CURRENT_TIMESTAMP);\n",
                t - 6
            ),
            0 => format!(
                "CREATE TABLE t{t} (id integer PRIMARY KEY, name varchar(100) NOT NULL, parent_id integer, \
                 price numeric(10, 2) DEFAULT 0 CHECK (price >= 0), created_at timestamp DEFAULT CURRENT_TIMESTAMP);\n"
            ),
            1 => format!("ALTER TABLE t{t} ADD COLUMN note text;\nINSERT INTO t{t} (id, name) VALUES (1, 'x');\n"),
            2 => format!(
                "CREATE INDEX t{t}_name_idx ON t{t} (name);\nCREATE UNIQUE INDEX t{t}_lower_uq ON t{t} (lower(name)) WHERE price > 0;\n"
            ),
            3 if pg => format!(
                "ALTER TABLE t{t} ADD CONSTRAINT t{t}_name_check CHECK (name <> '') NOT VALID;\n\
                 ALTER TABLE t{t} VALIDATE CONSTRAINT t{t}_name_check;\nALTER TABLE t{t} ALTER COLUMN note SET DEFAULT 'n/a';\n"
            ),
            3 => format!("ALTER TABLE t{t} RENAME COLUMN note TO remark;\n"),
            4 if pg => format!(
                "ALTER TABLE t{t} RENAME COLUMN note TO remark;\nALTER TABLE t{t} ALTER COLUMN price TYPE numeric(12, 2);\n\
                 UPDATE t{t} SET remark = 'n/a' WHERE remark IS NULL;\nALTER TABLE t{t} ALTER COLUMN remark SET NOT NULL;\n"
            ),
            4 => format!("DROP INDEX t{t}_name_idx;\nALTER TABLE t{t} ADD COLUMN flag boolean NOT NULL DEFAULT 0;\n"),
            _ if pg && i % 50 == 49 => {
                format!(
                    "-- dynamic SQL the interpreter cannot follow\nDO $$ BEGIN PERFORM 1; END $$;\nDROP INDEX t{t}_name_idx;\n"
                )
            }
            _ if pg => format!("DROP INDEX t{t}_name_idx;\nALTER TABLE t{t} DROP COLUMN created_at;\n"),
            _ => format!("ALTER TABLE t{t} DROP COLUMN created_at;\n"),
        };
        fs::write(dir.path().join(format!("{}_step_{i}.sql", 20240101000000u64 + i as u64)), sql).unwrap();
    }
    dir
}

/// A fixture pair for one dialect: `(case, which, sql)`.
fn fixtures(backend: Backend) -> Vec<(String, &'static str, String)> {
    let d = match backend {
        Backend::Postgres => "postgres",
        Backend::Sqlite => "sqlite",
        Backend::Mysql => "mysql",
    };
    let mut dirs: Vec<PathBuf> = fs::read_dir(workspace().join("tests/cases"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    let mut out = Vec::new();
    for dir in dirs {
        if let Ok(only) = fs::read_to_string(dir.join("dialects"))
            && !only.lines().any(|l| l.trim() == d)
        {
            continue;
        }
        let base = if dir.join(d).join("a.sql").is_file() { dir.join(d) } else { dir.clone() };
        let name = dir.file_name().unwrap().to_string_lossy().into_owned();
        for which in ["a", "b"] {
            if let Ok(sql) = fs::read_to_string(base.join(format!("{which}.sql"))) {
                out.push((name.clone(), which, sql));
            }
        }
    }
    out
}

async fn fixtures_on(backend: Backend) {
    let namespaces: Vec<String> =
        if backend == Backend::Postgres { vec!["public".into(), "audit".into()] } else { Vec::new() };
    let all = fixtures(backend);
    assert!(all.len() >= 80, "too few fixtures for {backend}: {}", all.len());
    let mut failures = Vec::new();
    let mut unmodelled = Vec::new();
    let mut pg: Option<(TestDb, Db)> = None;
    for (case, which, sql) in &all {
        let replayed = match backend {
            Backend::Postgres => {
                if pg.is_none() {
                    let db = require_db!(TestDb::postgres().await);
                    let conn = open(&db).await;
                    pg = Some((db, conn));
                }
                let (_, conn) = pg.as_mut().unwrap();
                reset_postgres(conn).await;
                if !sql.trim().is_empty() {
                    conn.execute(sql, "applying a fixture").await.unwrap();
                }
                introspect(conn, &namespaces).await
            }
            _ => {
                let db = require_db!(TestDb::new(backend).await);
                let mut conn = open(&db).await;
                if !sql.trim().is_empty() {
                    conn.execute(sql, "applying a fixture").await.unwrap();
                }
                let s = introspect(&mut conn, &namespaces).await;
                conn.close().await;
                s
            }
        };
        let ours = interpret(backend, &format!("{case}/{which}.sql"), sql);
        unmodelled.extend(ours.unmodelled.iter().map(|u| format!("{case}/{which}.sql:{}: {}", u.line, u.reason)));
        let diffs = disagreements(&ours.schema, &replayed, &namespaces);
        if !diffs.is_empty() {
            failures.push(format!("{case}/{which}.sql: {diffs:#?}"));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} fixtures differ on {backend}:\n{}",
        failures.len(),
        all.len(),
        failures.join("\n")
    );
    assert_eq!(unmodelled, Vec::<String>::new());
}

#[tokio::test]
async fn fixtures_postgres() {
    fixtures_on(Backend::Postgres).await;
}

#[tokio::test]
async fn fixtures_sqlite() {
    fixtures_on(Backend::Sqlite).await;
}

/// Statement forms the fixtures and the generator do not reach, on PostgreSQL.
const KITCHEN_SINK_POSTGRES: &str = r#"
\set ON_ERROR_STOP on
CREATE SCHEMA audit;
CREATE TYPE status AS ENUM ('new', 'done');
ALTER TYPE status RENAME TO state;
ALTER TYPE state ADD VALUE IF NOT EXISTS 'new';
CREATE TABLE "Accounts" (id bigint GENERATED ALWAYS AS IDENTITY, email text, st state DEFAULT 'new', PRIMARY KEY (id));
CREATE TABLE orders (
    id integer NOT NULL,
    account_id bigint,
    total numeric(10, 2) NOT NULL DEFAULT -1,
    doubled numeric GENERATED ALWAYS AS (total * 2) STORED,
    note varchar,
    CONSTRAINT orders_total CHECK (total <> 0),
    FOREIGN KEY (account_id) REFERENCES "Accounts" ON DELETE SET NULL DEFERRABLE INITIALLY DEFERRED
);
ALTER TABLE orders ALTER COLUMN id ADD GENERATED BY DEFAULT AS IDENTITY;
ALTER TABLE orders ADD PRIMARY KEY (id), ADD CONSTRAINT orders_note_uq UNIQUE (note);
ALTER INDEX orders_note_uq RENAME TO orders_note_key2;
ALTER TABLE orders RENAME CONSTRAINT orders_total TO orders_total_nonzero;
ALTER TABLE orders ALTER COLUMN note TYPE text, ALTER COLUMN note SET DEFAULT 'n';
CREATE INDEX CONCURRENTLY orders_total_idx ON orders USING btree (total DESC NULLS LAST, (lower(note))) INCLUDE (id) WHERE total > 0;
CREATE INDEX ON orders (account_id);
CREATE SEQUENCE audit.numbers AS integer START 10;
ALTER SEQUENCE audit.numbers INCREMENT BY 3 MAXVALUE 1000 CYCLE;
CREATE TABLE moved (id serial PRIMARY KEY, at timestamp(3) with time zone DEFAULT CURRENT_TIMESTAMP);
ALTER TABLE moved SET SCHEMA audit;
CREATE MATERIALIZED VIEW order_totals AS SELECT account_id, sum(total) AS total FROM orders GROUP BY account_id;
CREATE VIEW big_orders AS SELECT * FROM orders WHERE total > 100;
ALTER VIEW big_orders RENAME TO large_orders;
CREATE OR REPLACE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $body$ BEGIN NEW.note := 'x'; RETURN NEW; END; $body$;
CREATE TRIGGER orders_touch BEFORE UPDATE ON orders FOR EACH ROW EXECUTE FUNCTION touch();
CREATE TABLE doomed (id int PRIMARY KEY);
CREATE TABLE pointing (id int, d int REFERENCES doomed);
DROP TABLE doomed CASCADE;
COMMENT ON TABLE orders IS 'orders';
GRANT SELECT ON orders TO PUBLIC;
"#;

/// Statement forms the fixtures and the generator do not reach, on SQLite.
const KITCHEN_SINK_SQLITE: &str = r#"
CREATE TABLE accounts (id INTEGER PRIMARY KEY AUTOINCREMENT, email TEXT COLLATE NOCASE UNIQUE ON CONFLICT IGNORE);
CREATE TABLE IF NOT EXISTS accounts (x int);
CREATE TABLE "orders" (
    id INTEGER NOT NULL,
    account_id INT CONSTRAINT orders_account REFERENCES accounts (id) ON UPDATE CASCADE,
    total REAL DEFAULT (0.5) CHECK (total >= 0),
    doubled REAL AS (total * 2),
    created TEXT DEFAULT CURRENT_TIMESTAMP,
    PRIMARY KEY (id DESC),
    CONSTRAINT orders_pair UNIQUE (account_id, created)
);
CREATE INDEX orders_total_idx ON orders (total DESC, lower(created)) WHERE total > 0;
CREATE VIEW IF NOT EXISTS big AS SELECT * FROM orders WHERE total > 100;
CREATE TRIGGER orders_ai AFTER INSERT ON orders BEGIN UPDATE orders SET total = 1 WHERE id = NEW.id; END;
ALTER TABLE orders ADD COLUMN note TEXT NOT NULL DEFAULT 'n';
ALTER TABLE orders RENAME COLUMN note TO remark;
DROP TRIGGER IF EXISTS nope;
PRAGMA foreign_keys = ON;
"#;

async fn kitchen_sink(backend: Backend, sql: &str) {
    let db = require_db!(TestDb::new(backend).await);
    let mut conn = open(&db).await;
    let namespaces: Vec<String> =
        if backend == Backend::Postgres { vec!["public".into(), "audit".into()] } else { Vec::new() };
    // psql meta-commands are psql's business, not the server's.
    let server_sql: String = sql.lines().filter(|l| !l.starts_with('\\')).collect::<Vec<_>>().join("\n");
    for st in dbcheck_core::sql::statements(&server_sql, dialect(backend)) {
        conn.execute(st.text, "applying the kitchen sink").await.unwrap();
    }
    let replayed = introspect(&mut conn, &namespaces).await;
    conn.close().await;
    // The comparison below is only as strong as what the database holds: check it holds it all.
    let expected: &[&str] = match backend {
        Backend::Postgres => &["Accounts", "audit.moved", "orders", "pointing"],
        _ => &["accounts", "orders"],
    };
    assert_eq!(replayed.tables.keys().collect::<Vec<_>>(), expected);
    assert_eq!(replayed.tables["orders"].indexes.len(), if backend == Backend::Postgres { 2 } else { 1 });
    assert_eq!(replayed.triggers.len(), 1);
    assert!(replayed.tables["orders"].columns.iter().any(|c| c.generated.is_some()));
    let ours = interpret(backend, "sink.sql", sql);
    assert_eq!(ours.unmodelled, []);
    let diffs = disagreements(&ours.schema, &replayed, &namespaces);
    assert!(
        diffs.is_empty(),
        "{diffs:#?}\n--- static ---\n{}\n--- replayed ---\n{}",
        serde_json::to_string_pretty(&ours.schema).unwrap(),
        serde_json::to_string_pretty(&replayed).unwrap()
    );
}

#[tokio::test]
async fn kitchen_sink_postgres() {
    kitchen_sink(Backend::Postgres, KITCHEN_SINK_POSTGRES).await;
}

#[tokio::test]
async fn kitchen_sink_sqlite() {
    kitchen_sink(Backend::Sqlite, KITCHEN_SINK_SQLITE).await;
}
