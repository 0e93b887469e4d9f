//! Static interpretation against its oracle: for the reference histories, every fixture of
//! `tests/cases/`, a generated 300-migration history and seeded random DDL sequences, the schema
//! computed with no database equals the one replay produces on real PostgreSQL and SQLite
//! (compared in the documented comparison form, `dbcheck_core::sql::comparable`), and the
//! statements it could not interpret are exactly the expected ones.
#![expect(clippy::unwrap_used, reason = "scenario helpers fail the test loudly on setup errors")]

mod differential;
mod property;

use std::path::{Path, PathBuf};
use std::time::Duration;

use dbcheck_core::db::{ConnectOptions, DatabaseUrl, Db, Dialect, IntrospectOptions, connect};
use dbcheck_core::diff::{Difference, diff_schemas};
use dbcheck_core::schema::Schema;
use dbcheck_core::sql::{Interpreter, StaticSchema, comparable, restrict_namespaces};
use dbcheck_tests::{Backend, TestDb, require_db};

/// The workspace root.
fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

fn dialect(backend: Backend) -> Dialect {
    match backend {
        Backend::Postgres => Dialect::Postgres,
        Backend::Sqlite => Dialect::Sqlite,
        Backend::Mysql => Dialect::Mysql,
    }
}

/// A writable connection to `db`.
async fn open(db: &TestDb) -> Db {
    let url = DatabaseUrl::parse(db.url()).unwrap();
    connect(&url, &ConnectOptions { read_only: false, timeout: Duration::from_secs(30) }).await.unwrap()
}

/// Interpret one script as one migration file named `name`.
fn interpret(backend: Backend, name: &str, sql: &str) -> StaticSchema {
    let mut i = Interpreter::new(dialect(backend));
    i.apply_file(Path::new(name), sql);
    i.finish()
}

/// Every difference between the static schema and the replayed one, in comparison form.
fn disagreements(static_schema: &Schema, replayed: &Schema, namespaces: &[String]) -> Vec<Difference> {
    let ours = comparable(&restrict_namespaces(static_schema, namespaces));
    diff_schemas(&ours, &comparable(replayed))
}

/// Introspect with `namespaces` (PostgreSQL; ignored elsewhere).
async fn introspect(conn: &mut Db, namespaces: &[String]) -> Schema {
    let options = IntrospectOptions { schemas: namespaces.to_vec(), ..IntrospectOptions::default() };
    conn.introspect(&options).await.unwrap()
}

/// Reset a PostgreSQL database to an empty `public` (much cheaper than a new database).
async fn reset_postgres(conn: &mut Db) {
    conn.execute(
        "DROP SCHEMA public CASCADE; DROP SCHEMA IF EXISTS audit CASCADE; CREATE SCHEMA public;",
        "resetting the test database",
    )
    .await
    .unwrap();
}
