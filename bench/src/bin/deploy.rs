//! Benchmark (issue 6): deploying 100 small sqlx migrations to an empty PostgreSQL database with
//! `migrate deploy` (discovery, lock, status, apply, history rows) against sqlx's own `Migrator`
//! (`Migrator::new` + `run`, which is what `sqlx migrate run` does) on the same folder, each on a
//! fresh database every round. Target: dbcheck ≤ 1.0× sqlx. Needs `DBCHECK_TEST_POSTGRES_URL`.
//!
//! `cargo run --release -p dbcheck-bench --bin deploy`

use std::time::Duration;

use dbcheck_bench::report;
use dbcheck_core::db::{ConnectOptions, DatabaseUrl, ShadowServer, connect};
use dbcheck_core::migrate::{DeployOptions, deploy};
use dbcheck_core::migrations::discover_migrations;
use sqlx::Connection as _;

const MIGRATIONS: usize = 100;
const ROUNDS: usize = 7;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let admin = std::env::var("DBCHECK_TEST_POSTGRES_URL")
        .map_err(|_| "set DBCHECK_TEST_POSTGRES_URL to a PostgreSQL admin URL")?;
    let dir = tempfile::tempdir()?;
    for i in 1..=MIGRATIONS {
        std::fs::write(
            dir.path().join(format!("{i}_step_{i}.sql")),
            format!(
                "CREATE TABLE t{i} (id BIGINT PRIMARY KEY, name TEXT NOT NULL);\nCREATE INDEX t{i}_name ON t{i} (name);\n"
            ),
        )?;
    }
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let server = ShadowServer::new(&DatabaseUrl::parse(&admin)?, Duration::from_secs(30));
    let (mut ours, mut theirs) = (Duration::MAX, Duration::MAX);
    // Interleaved rounds, each on a fresh database, so both see the same server conditions.
    for _ in 0..ROUNDS {
        let db = rt.block_on(server.create(None))?;
        let start = std::time::Instant::now();
        let applied = rt.block_on(async {
            let discovery = discover_migrations(dir.path(), None)?;
            let mut conn =
                connect(&db.url, &ConnectOptions { read_only: false, timeout: Duration::from_secs(30) }).await?;
            let report = deploy(&discovery, None, &mut conn, &DeployOptions::default(), &mut |_, _, _| {}).await?;
            conn.close().await;
            Ok::<_, Box<dyn std::error::Error>>(report.applied.len())
        })?;
        ours = ours.min(start.elapsed());
        assert_eq!(applied, MIGRATIONS, "dbcheck applied {applied}");
        rt.block_on(server.drop_database(db.name.as_deref().unwrap_or_default()))?;

        let db = rt.block_on(server.create(None))?;
        let start = std::time::Instant::now();
        rt.block_on(async {
            let migrator = sqlx::migrate::Migrator::new(dir.path()).await?;
            let mut conn = sqlx::PgConnection::connect(db.url.expose()).await?;
            migrator.run(&mut conn).await?;
            conn.close().await?;
            Ok::<_, Box<dyn std::error::Error>>(())
        })?;
        theirs = theirs.min(start.elapsed());
        rt.block_on(server.drop_database(db.name.as_deref().unwrap_or_default()))?;
    }
    report(&format!("deploy {MIGRATIONS} migrations"), ours, "sqlx Migrator::run", theirs, "<= 1.0");
    Ok(())
}
