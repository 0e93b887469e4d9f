//! The locking lint rules' claims against real servers: PostgreSQL rewrites a table (it gets a
//! new file, `pg_relation_filenode`) exactly when `column-type-rewrite` or `volatile-default`
//! says so, and MariaDB/MySQL refuse `ALGORITHM=INPLACE, LOCK=NONE` exactly when
//! `column-type-rewrite` says the change copies the table.
#![expect(clippy::unwrap_used, reason = "scenario helpers fail the test loudly on setup errors")]

use std::path::PathBuf;

use ::sqlx::{AssertSqlSafe, Connection as _, MySqlConnection, PgConnection};
use dbcheck_core::db::Dialect;
use dbcheck_core::lint::{LintOptions, lint};
use dbcheck_core::migrations::{Discovery, Layout, Migration, MigrationKind, TransactionMode, Version};
use dbcheck_core::report::Location;
use dbcheck_core::sql::statements;
use dbcheck_tests::{TestDb, require_db};

/// The findings of the last of `sqls` (migrations in order; one whose text starts with
/// `-- no-transaction` runs outside a transaction) as (rule, fix SQL).
fn findings(dialect: Dialect, sqls: &[&str]) -> Vec<(&'static str, Option<String>)> {
    let migrations: Vec<Migration> = sqls
        .iter()
        .zip(1i64..)
        .map(|(sql, n)| Migration {
            version: Version::Int(n),
            history_key: n.to_string(),
            name: format!("m{n}"),
            path: PathBuf::from(format!("migrations/{n}_m{n}.sql")),
            bytes: sql.as_bytes().to_vec(),
            down_path: None,
            transaction: if sql.starts_with("-- no-transaction") {
                TransactionMode::NoTransaction
            } else {
                TransactionMode::Transaction
            },
            kind: MigrationKind::Versioned,
        })
        .collect();
    let last = format!("{}_m{}.sql", sqls.len(), sqls.len());
    let discovery =
        Discovery { dir: PathBuf::from("migrations"), layout: Some(Layout::Sqlx), migrations, findings: Vec::new() };
    lint(&discovery, dialect, &LintOptions::default())
        .findings
        .into_iter()
        .filter(|f| matches!(&f.finding.location, Some(Location::File { path, .. }) if path.ends_with(&last)))
        .map(|f| (f.rule, f.finding.fix_sql))
        .collect()
}

/// The rules that fire on `change`, linted as the migration after `history`.
fn rules_on(dialect: Dialect, history: &str, change: &str) -> Vec<&'static str> {
    findings(dialect, &[history, change]).into_iter().map(|(rule, _)| rule).collect()
}

const PG_TABLE: &str = "CREATE TABLE ads (id bigint PRIMARY KEY, price integer, title varchar(100), slug text, \
                        amount numeric(10,2), at timestamp, net cidr, tags varchar(10)[]);\n\
                        CREATE INDEX ads_title_idx ON ads (title);";
const PG_ROWS: &str = "INSERT INTO ads SELECT g, g, 't' || g, 's' || g, g, now(), '10.0.0.0/8', ARRAY['a'] \
                       FROM generate_series(1, 200) g;";

async fn filenode(conn: &mut PgConnection) -> i64 {
    ::sqlx::query_scalar("SELECT pg_relation_filenode('ads')::bigint").fetch_one(conn).await.unwrap()
}

#[tokio::test]
async fn postgres_rewrites_exactly_when_the_rules_say_so() {
    let db = require_db!(TestDb::postgres().await);
    let mut conn = PgConnection::connect(db.url()).await.unwrap();
    let cases = [
        ("column-type-rewrite", "ALTER TABLE ads ALTER COLUMN price TYPE bigint;"),
        ("column-type-rewrite", "ALTER TABLE ads ALTER COLUMN price TYPE int4;"),
        ("column-type-rewrite", "ALTER TABLE ads ALTER COLUMN title TYPE varchar(200);"),
        ("column-type-rewrite", "ALTER TABLE ads ALTER COLUMN title TYPE varchar(50);"),
        ("column-type-rewrite", "ALTER TABLE ads ALTER COLUMN title TYPE text;"),
        ("column-type-rewrite", "ALTER TABLE ads ALTER COLUMN title TYPE varchar;"),
        ("column-type-rewrite", "ALTER TABLE ads ALTER COLUMN slug TYPE varchar(20);"),
        ("column-type-rewrite", "ALTER TABLE ads ALTER COLUMN slug TYPE character varying;"),
        ("column-type-rewrite", "ALTER TABLE ads ALTER COLUMN amount TYPE numeric(12,2);"),
        ("column-type-rewrite", "ALTER TABLE ads ALTER COLUMN amount TYPE numeric(12,3);"),
        ("column-type-rewrite", "ALTER TABLE ads ALTER COLUMN amount TYPE numeric(8,2);"),
        ("column-type-rewrite", "ALTER TABLE ads ALTER COLUMN amount TYPE numeric;"),
        ("column-type-rewrite", "ALTER TABLE ads ALTER COLUMN at TYPE timestamptz;"),
        ("column-type-rewrite", "ALTER TABLE ads ALTER COLUMN at TYPE timestamp(3);"),
        ("column-type-rewrite", "ALTER TABLE ads ALTER COLUMN net TYPE inet;"),
        ("column-type-rewrite", "ALTER TABLE ads ALTER COLUMN title TYPE text USING upper(title);"),
        ("column-type-rewrite", "ALTER TABLE ads ALTER COLUMN price TYPE text;"),
        ("column-type-rewrite", "ALTER TABLE ads ALTER COLUMN tags TYPE text[];"),
        ("column-type-rewrite", "ALTER TABLE ads ALTER COLUMN tags TYPE varchar(20)[];"),
        ("column-type-rewrite", "ALTER TABLE ads ALTER COLUMN title TYPE text USING title::text;"),
        ("volatile-default", "ALTER TABLE ads ADD COLUMN token uuid DEFAULT gen_random_uuid();"),
        ("volatile-default", "ALTER TABLE ads ADD COLUMN r float8 NOT NULL DEFAULT random();"),
        ("volatile-default", "ALTER TABLE ads ADD COLUMN ct timestamptz DEFAULT clock_timestamp();"),
        ("volatile-default", "ALTER TABLE ads ADD COLUMN n bigserial;"),
        ("volatile-default", "ALTER TABLE ads ADD COLUMN i bigint GENERATED ALWAYS AS IDENTITY;"),
        ("volatile-default", "ALTER TABLE ads ADD COLUMN d integer GENERATED ALWAYS AS (price * 2) STORED;"),
        ("volatile-default", "ALTER TABLE ads ADD COLUMN at2 timestamptz NOT NULL DEFAULT now();"),
        ("volatile-default", "ALTER TABLE ads ADD COLUMN c integer NOT NULL DEFAULT 0;"),
        ("volatile-default", "ALTER TABLE ads ADD COLUMN s text DEFAULT 'random()';"),
        ("volatile-default", "ALTER TABLE ads ADD COLUMN e text;"),
    ];
    let mut rewrites = 0;
    for (rule, change) in cases {
        let setup = format!("DROP TABLE IF EXISTS ads;\n{PG_TABLE}\n{PG_ROWS}");
        ::sqlx::raw_sql(AssertSqlSafe(setup)).execute(&mut conn).await.unwrap();
        let before = filenode(&mut conn).await;
        // Outside UTC, timestamp → timestamptz rewrites (the rule always assumes so).
        let run = format!("SET TimeZone = 'Europe/Paris';\n{change}");
        ::sqlx::raw_sql(AssertSqlSafe(run)).execute(&mut conn).await.unwrap();
        let rewritten = filenode(&mut conn).await != before;
        rewrites += usize::from(rewritten);
        let flagged = rules_on(Dialect::Postgres, PG_TABLE, change).contains(&rule);
        assert_eq!(flagged, rewritten, "{change}: {rule} said rewrite = {flagged}, PostgreSQL did {rewritten}");
    }
    assert!(rewrites >= 10, "the scenario lost its rewriting cases ({rewrites})");
}

const MY_TABLE: &str = "CREATE TABLE ads (id bigint PRIMARY KEY, price int, title varchar(20), big varchar(100), \
                        state enum('a','b')) DEFAULT CHARSET=utf8mb4;";

#[tokio::test]
async fn mysql_copies_exactly_when_the_rule_says_so() {
    let db = require_db!(TestDb::mysql().await);
    let mut conn = MySqlConnection::connect(db.url()).await.unwrap();
    let cases = [
        ("ALTER TABLE ads MODIFY title varchar(60);", false),
        ("ALTER TABLE ads MODIFY big varchar(300);", false),
        ("ALTER TABLE ads MODIFY title varchar(20) NOT NULL;", false),
        ("ALTER TABLE ads MODIFY state enum('a','b','c');", false),
        ("ALTER TABLE ads CHANGE price price int NOT NULL;", false),
        ("ALTER TABLE ads MODIFY title varchar(10);", true),
        ("ALTER TABLE ads MODIFY price bigint;", true),
        ("ALTER TABLE ads MODIFY price int unsigned;", true),
        ("ALTER TABLE ads MODIFY state enum('c','a','b');", true),
        ("ALTER TABLE ads MODIFY title text;", true),
        // Not checked here: varchar(20) → varchar(100) crosses utf8mb4's 255-byte length prefix,
        // which MySQL copies and MariaDB does in place; the rule follows MySQL.
    ];
    for (change, copies) in cases {
        let setup = format!("DROP TABLE IF EXISTS ads;\n{MY_TABLE}\nINSERT INTO ads VALUES (1, 1, 'x', 'y', 'a');");
        ::sqlx::raw_sql(AssertSqlSafe(setup)).execute(&mut conn).await.unwrap();
        let online = format!("{}, ALGORITHM=INPLACE, LOCK=NONE", change.trim_end_matches(';'));
        let refused = ::sqlx::raw_sql(AssertSqlSafe(online)).execute(&mut conn).await.is_err();
        assert_eq!(refused, copies, "{change}: the server's answer changed");
        let flagged = rules_on(Dialect::Mysql, MY_TABLE, change).contains(&"column-type-rewrite");
        assert_eq!(
            flagged, refused,
            "{change}: column-type-rewrite said copy = {flagged}, the server refused in place = {refused}"
        );
    }
}

/// A fix split into the migrations it asks for: a new one at each "in a later / the next
/// migration" line; a part that says it runs outside a transaction gets sqlx's marker.
fn fix_migrations(fix: &str) -> Vec<String> {
    let mut parts = vec![String::new()];
    for line in fix.lines() {
        let l = line.to_ascii_lowercase();
        if l.starts_with("-- in a later migration") || l.starts_with("-- then, in the next migration") {
            parts.push(String::new());
            continue;
        }
        if let Some(part) = parts.last_mut() {
            part.push_str(line);
            part.push('\n');
        }
    }
    parts
        .into_iter()
        .filter(|p| p.lines().any(|l| !l.trim().is_empty() && !l.trim_start().starts_with("--")))
        .map(|p| if p.contains("outside a transaction") { format!("-- no-transaction\n{p}") } else { p })
        .collect()
}

#[tokio::test]
async fn postgres_runs_the_fixes_and_they_satisfy_their_rules() {
    let db = require_db!(TestDb::postgres().await);
    let mut conn = PgConnection::connect(db.url()).await.unwrap();
    let history = "CREATE TABLE users (id bigint PRIMARY KEY);\n\
                   CREATE TABLE ads (id bigint NOT NULL, user_id bigint, slug text, price integer);\n\
                   CREATE INDEX ads_slug_idx ON ads (slug);";
    let rows = "INSERT INTO users SELECT g FROM generate_series(1, 50) g;\n\
                INSERT INTO ads SELECT g, g, 's' || g, g FROM generate_series(1, 50) g;";
    let cases = [
        ("concurrently-in-transaction", "CREATE INDEX CONCURRENTLY ads_price_idx ON ads (price);"),
        ("require-concurrent-index-drop", "DROP INDEX ads_slug_idx;"),
        ("volatile-default", "ALTER TABLE ads ADD COLUMN token uuid NOT NULL DEFAULT gen_random_uuid();"),
        ("volatile-default", "ALTER TABLE ads ADD COLUMN n bigserial;"),
        ("set-not-null-without-check", "ALTER TABLE ads ALTER COLUMN slug SET NOT NULL;"),
        ("constraint-missing-not-valid", "ALTER TABLE ads ADD FOREIGN KEY (user_id) REFERENCES users (id);"),
        ("constraint-missing-not-valid", "ALTER TABLE ads ADD CHECK (price >= 0);"),
        ("constraint-missing-not-valid", "ALTER TABLE ads ADD COLUMN owner_id bigint REFERENCES users;"),
        (
            "validate-in-same-transaction",
            "ALTER TABLE ads ADD CONSTRAINT ads_price_ok CHECK (price >= 0) NOT VALID;\n\
             ALTER TABLE ads VALIDATE CONSTRAINT ads_price_ok;",
        ),
        ("unique-without-index", "ALTER TABLE ads ADD CONSTRAINT ads_slug_key UNIQUE (slug);"),
        ("unique-without-index", "ALTER TABLE ads ADD PRIMARY KEY (id);"),
        ("require-timeouts", "ALTER TABLE ads ADD COLUMN note text;"),
    ];
    for (rule, change) in cases {
        let found = findings(Dialect::Postgres, &[history, change]);
        let fix = found.iter().find(|(r, _)| *r == rule).and_then(|(_, fix)| fix.clone());
        let fix = fix.unwrap_or_else(|| panic!("{rule} gave no fix for {change}: {found:?}"));
        let mut parts = fix_migrations(&fix);
        if rule == "validate-in-same-transaction" {
            // The fix moves the VALIDATE: the ADD stays where it was.
            parts.insert(0, change.lines().next().unwrap().to_owned());
        }
        if rule == "require-timeouts" {
            // The fix goes before the statement.
            parts = vec![format!("{fix}\n{change}")];
        }
        // The fixed migrations run on PostgreSQL, one transaction each unless marked otherwise …
        let setup = format!("DROP TABLE IF EXISTS ads;\nDROP TABLE IF EXISTS users;\n{history}\n{rows}");
        ::sqlx::raw_sql(AssertSqlSafe(setup)).execute(&mut conn).await.unwrap();
        for part in &parts {
            let result = if part.starts_with("-- no-transaction") {
                let mut last = Ok(Default::default());
                for st in statements(part, Dialect::Postgres) {
                    last = ::sqlx::raw_sql(AssertSqlSafe(st.text.to_owned())).execute(&mut conn).await;
                    if last.is_err() {
                        break;
                    }
                }
                last
            } else {
                ::sqlx::raw_sql(AssertSqlSafe(part.clone())).execute(&mut conn).await
            };
            if let Err(e) = result {
                panic!("{rule}: the fix for {change} fails on PostgreSQL: {e}\n{part}");
            }
        }
        // … and linted after the same history, none of them raises the rule again.
        let mut sqls = vec![history];
        for part in &parts {
            sqls.push(part);
            let again = rules_of(&findings(Dialect::Postgres, &sqls));
            assert!(!again.contains(&rule), "{rule}: its fix for {change} raises it again: {part}");
        }
    }
}

fn rules_of(found: &[(&'static str, Option<String>)]) -> Vec<&'static str> {
    found.iter().map(|(r, _)| *r).collect()
}
