//! Real-database test harness for dbcheck: [`TestDb`] hands each test a fresh, uniquely named
//! PostgreSQL, MySQL/MariaDB or SQLite database and drops it again afterwards.
//!
//! Servers come from `DBCHECK_TEST_POSTGRES_URL` and `DBCHECK_TEST_MYSQL_URL` (admin URLs such as
//! `postgres://postgres@127.0.0.1:5432/postgres` and `mysql://root@127.0.0.1:3306/mysql`).
//! Without `DBCHECK_TEST_POSTGRES_URL`, a throwaway PostgreSQL cluster is started once per test
//! process if `initdb` is installed. An unavailable backend makes the test skip loudly — except
//! when `CI` is set, where skipping is a failure. A configured but unusable server always fails.
//!
//! ```no_run
//! use dbcheck_tests::{TestDb, require_db};
//!
//! #[tokio::test]
//! async fn creates_a_table() {
//!     let db = require_db!(TestDb::postgres().await);
//!     db.execute("CREATE TABLE t (id int PRIMARY KEY)").await;
//!     // … run the CLI against db.url() …
//! }
//! ```

mod pg_cluster;
mod testdb;

pub use testdb::{Backend, MYSQL_URL_ENV, POSTGRES_URL_ENV, TestDb, admin_url, redact};

/// Unwraps an `Option<TestDb>`, returning from the enclosing test when the database is
/// unavailable (the harness has already printed a `SKIPPED` line, or panicked in CI).
///
/// `require_db!(expr)` returns `()`; `require_db!(expr, value)` returns `value`, e.g. `Ok(())`.
#[macro_export]
macro_rules! require_db {
    ($e:expr) => {
        match $e {
            Some(db) => db,
            None => return,
        }
    };
    ($e:expr, $ret:expr) => {
        match $e {
            Some(db) => db,
            None => return $ret,
        }
    };
}

/// Generates `postgres`, `sqlite` and `mysql` tests that run `$scenario(&TestDb)` on a fresh
/// database of each backend (each skipping loudly, or failing under `CI`, when unavailable).
#[macro_export]
macro_rules! per_backend {
    ($scenario:path) => {
        #[tokio::test]
        async fn postgres() {
            let db = dbcheck_tests::require_db!(dbcheck_tests::TestDb::postgres().await);
            $scenario(&db).await;
        }

        #[tokio::test]
        async fn sqlite() {
            let db = dbcheck_tests::require_db!(dbcheck_tests::TestDb::sqlite().await);
            $scenario(&db).await;
        }

        #[tokio::test]
        async fn mysql() {
            let db = dbcheck_tests::require_db!(dbcheck_tests::TestDb::mysql().await);
            $scenario(&db).await;
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;
    use sqlx::Connection as _;

    async fn pg_count(admin: &str, names: &[&str]) -> i64 {
        let mut conn = sqlx::PgConnection::connect(admin).await.unwrap();
        let mut n = 0;
        for name in names {
            let c: i64 = sqlx::query_scalar("SELECT count(*) FROM pg_database WHERE datname = $1")
                .bind(*name)
                .fetch_one(&mut conn)
                .await
                .unwrap();
            n += c;
        }
        n
    }

    async fn mysql_count(admin: &str, names: &[&str]) -> i64 {
        let mut conn = sqlx::MySqlConnection::connect(admin).await.unwrap();
        let mut n = 0;
        for name in names {
            let c: i64 = sqlx::query_scalar("SELECT count(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?")
                .bind(*name)
                .fetch_one(&mut conn)
                .await
                .unwrap();
            n += c;
        }
        n
    }

    async fn check_postgres_pair(a: TestDb, b: TestDb, admin: &str) {
        assert_eq!(a.backend(), Backend::Postgres);
        assert_ne!(a.name(), b.name());
        assert_ne!(a.url(), b.url());
        let names = [a.name().to_owned(), b.name().to_owned()];
        let names = [names[0].as_str(), names[1].as_str()];
        assert_eq!(pg_count(admin, &names).await, 2);

        a.execute("CREATE TABLE t (x int); INSERT INTO t VALUES (1), (2);").await;
        let mut conn = sqlx::PgConnection::connect(a.url()).await.unwrap();
        let sum: i64 = sqlx::query_scalar("SELECT sum(x) FROM t").fetch_one(&mut conn).await.unwrap();
        assert_eq!(sum, 3);
        let current: String = sqlx::query_scalar("SELECT current_database()").fetch_one(&mut conn).await.unwrap();
        assert_eq!(current, a.name());
        // Left open on purpose: dropping must succeed despite the open connection (FORCE).

        drop(a);
        drop(b);
        assert_eq!(pg_count(admin, &names).await, 0);
        assert!(conn.ping().await.is_err(), "connection survived DROP");
    }

    #[tokio::test]
    async fn postgres_databases_are_distinct_and_dropped() {
        let a = require_db!(TestDb::postgres().await);
        let b = require_db!(TestDb::postgres().await);
        let admin = admin_url(Backend::Postgres).unwrap();
        check_postgres_pair(a, b, &admin).await;
    }

    /// Exercises the throwaway cluster even when `DBCHECK_TEST_POSTGRES_URL` is set.
    #[tokio::test]
    #[ignore = "starts a throwaway PostgreSQL cluster with initdb; run with --ignored"]
    async fn throwaway_cluster_serves_databases() {
        let admin = pg_cluster::throwaway().unwrap().admin_url.clone();
        let a = testdb::create_on(Backend::Postgres, admin.clone()).await.unwrap();
        let b = testdb::create_on(Backend::Postgres, admin.clone()).await.unwrap();
        let mut conn = sqlx::PgConnection::connect(&admin).await.unwrap();
        let version: String = sqlx::query_scalar("SHOW server_version").fetch_one(&mut conn).await.unwrap();
        testdb::loud(&format!("throwaway cluster {admin}: PostgreSQL {version}"));
        check_postgres_pair(a, b, &admin).await;
    }

    #[tokio::test]
    async fn mysql_databases_are_distinct_and_dropped() {
        let a = require_db!(TestDb::mysql().await);
        let b = require_db!(TestDb::mysql().await);
        let admin = admin_url(Backend::Mysql).unwrap();
        assert_eq!(a.backend(), Backend::Mysql);
        assert_ne!(a.name(), b.name());
        let names = [a.name().to_owned(), b.name().to_owned()];
        let names = [names[0].as_str(), names[1].as_str()];
        assert_eq!(mysql_count(&admin, &names).await, 2);

        // Multi-statement script.
        a.execute("CREATE TABLE t (x int); INSERT INTO t VALUES (1), (2);").await;
        let mut conn = sqlx::MySqlConnection::connect(a.url()).await.unwrap();
        let sum: i64 = sqlx::query_scalar("SELECT CAST(sum(x) AS SIGNED) FROM t").fetch_one(&mut conn).await.unwrap();
        assert_eq!(sum, 3);
        let current: String = sqlx::query_scalar("SELECT DATABASE()").fetch_one(&mut conn).await.unwrap();
        assert_eq!(current, a.name());
        // An open transaction holding a metadata lock must not block the drop.
        sqlx::raw_sql("BEGIN; SELECT * FROM t;").execute(&mut conn).await.unwrap();

        drop(a);
        drop(b);
        assert_eq!(mysql_count(&admin, &names).await, 0);
    }

    #[tokio::test]
    async fn sqlite_url_opens() {
        let db = require_db!(TestDb::sqlite().await);
        assert_eq!(db.backend(), Backend::Sqlite);
        assert!(db.url().starts_with("sqlite://"), "{}", db.url());
        assert!(db.url().ends_with("?mode=rwc"), "{}", db.url());
        let path = std::path::PathBuf::from(db.url().trim_start_matches("sqlite://").trim_end_matches("?mode=rwc"));
        assert!(path.is_file(), "{} does not exist", path.display());
        db.execute("CREATE TABLE t (x integer); INSERT INTO t VALUES (1), (2);").await;
        let mut conn = sqlx::SqliteConnection::connect(db.url()).await.unwrap();
        let sum: i64 = sqlx::query_scalar("SELECT sum(x) FROM t").fetch_one(&mut conn).await.unwrap();
        assert_eq!(sum, 3);
        conn.close().await.unwrap();
        let other = TestDb::sqlite().await.unwrap();
        assert_ne!(other.url(), db.url());
        drop(db);
        assert!(!path.exists(), "{} survived the drop", path.display());
    }

    #[tokio::test]
    #[should_panic(expected = "SQL script failed on SQLite database")]
    async fn execute_panics_with_the_error() {
        let db = TestDb::sqlite().await.unwrap();
        db.execute("CREATE TABLE t (x integer); SELEC 1;").await;
    }

    #[tokio::test]
    #[should_panic(expected = "is configured but unusable")]
    async fn configured_but_broken_server_fails() {
        // Port 1 on localhost: nothing listens there.
        let _ = testdb::create_on(Backend::Postgres, "postgres://u:hunter22@127.0.0.1:1/postgres".to_owned())
            .await
            .map_err(|e| {
                assert!(!e.contains("hunter22"), "password leaked: {e}");
                assert!(e.contains("postgres://u:***@127.0.0.1:1/postgres"), "{e}");
                e
            })
            .unwrap_or_else(|e| panic!("{e}"));
    }

    #[test]
    fn redaction_hides_passwords() {
        assert_eq!(redact("postgres://user:s3cret@db.example:5432/app"), "postgres://user:***@db.example:5432/app");
        assert_eq!(redact("mysql://root@127.0.0.1:3306/mysql"), "mysql://root@127.0.0.1:3306/mysql");
        assert_eq!(redact("mysql://root:@h/db"), "mysql://root:***@h/db");
        // Unencoded `@` and `/` in the password.
        assert_eq!(
            redact("postgres://u:p@ss/w0rd@host/db?sslmode=disable"),
            "postgres://u:***@host/db?sslmode=disable"
        );
        assert_eq!(
            redact("postgres://u@host/db?sslmode=disable&password=xyz"),
            "postgres://u@host/db?sslmode=disable&password=***"
        );
        assert_eq!(redact("sqlite:///tmp/x.db?mode=rwc"), "sqlite:///tmp/x.db?mode=rwc");
        assert_eq!(redact("not a url"), "not a url");
    }

    #[test]
    fn unique_names_are_valid_identifiers() {
        let a = testdb::unique_name();
        let b = testdb::unique_name();
        assert_ne!(a, b);
        for name in [a, b] {
            assert!(name.starts_with(&format!("dbcheck_t_{}_", std::process::id())));
            assert!(name.len() <= 63, "{name}");
            assert!(name.bytes().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'_'), "{name}");
        }
    }

    #[test]
    fn ci_variable_forbids_skipping() {
        for (value, forbids) in [
            (None, false),
            (Some(""), false),
            (Some("0"), false),
            (Some("false"), false),
            (Some("FALSE"), false),
            (Some("true"), true),
            (Some("1"), true),
            (Some("yes"), true),
        ] {
            assert_eq!(testdb::ci_forbids_skip(value), forbids, "{value:?}");
        }
    }
}
