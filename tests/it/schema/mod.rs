//! The schema engine against real databases: introspection, replay, diff round trips over the
//! fixture pairs in `tests/cases/`, and drift built for real.
#![expect(clippy::unwrap_used, reason = "scenario helpers fail the test loudly on setup errors")]

mod drift;
mod replay;
mod roundtrip;

use std::path::{Path, PathBuf};
use std::time::Duration;

use dbcheck_core::db::{ConnectOptions, DatabaseUrl, Db, IntrospectOptions, ShadowServer, connect};
use dbcheck_core::migrations::discover_migrations;
use dbcheck_core::replay::{Replay, ReplayOptions, ReplayTarget, replay_migrations};
use dbcheck_core::schema::Schema;
use dbcheck_tests::{Backend, TestDb};

/// The workspace root.
pub(crate) fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

/// A writable connection to `db`.
pub(crate) async fn open(db: &TestDb) -> Db {
    let url = DatabaseUrl::parse(db.url()).unwrap();
    connect(&url, &ConnectOptions { read_only: false, timeout: Duration::from_secs(30) }).await.unwrap()
}

/// The schema of `db`.
pub(crate) async fn introspect(db: &TestDb) -> Schema {
    let mut conn = open(db).await;
    let s = conn.introspect(&IntrospectOptions::default()).await.unwrap();
    conn.close().await;
    s
}

/// Where a replay for `db`'s backend goes: in memory for SQLite, a shadow database on its server.
pub(crate) fn target_for(db: &TestDb) -> ReplayTarget {
    match db.backend() {
        Backend::Sqlite => ReplayTarget::SqliteMemory,
        _ => ReplayTarget::Server(ShadowServer::new(&DatabaseUrl::parse(db.url()).unwrap(), Duration::from_secs(30))),
    }
}

/// Replay the migrations in `dir` for `db`'s backend, without the cache.
pub(crate) async fn replay_dir(db: &TestDb, dir: &Path) -> Replay {
    let discovery = discover_migrations(dir, None).unwrap();
    replay_migrations(&discovery, &target_for(db), &ReplayOptions::default()).await.unwrap()
}
