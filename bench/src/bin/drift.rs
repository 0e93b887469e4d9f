//! Benchmark (issue 3b): a full `drift` (replay into a shadow database + introspection of both
//! sides + diff) on a 300-migration history, against sqlx's own migrator applying the same
//! migrations to an empty database; then a second `drift` with unchanged migrations, served by
//! the template cache. Targets: first ≤ 1.2× sqlx, second ≤ 0.2× the first.
//! Needs `DBCHECK_TEST_POSTGRES_URL` (an admin URL).
//!
//! `cargo run --release -p dbcheck-bench --bin drift`

use std::path::Path;
use std::time::Duration;

use dbcheck_bench::{best_of, report};
use dbcheck_core::db::{ConnectOptions, DatabaseUrl, ShadowServer, connect};
use dbcheck_core::diff::{DriftReport, compare, introspect_options};
use dbcheck_core::migrations::discover_migrations;
use dbcheck_core::replay::{CacheUse, ReplayOptions, ReplayTarget, replay_migrations};
use sqlx::Connection as _;

const MIGRATIONS: usize = 300;

/// 300 sqlx migrations: tables with foreign keys, added columns with data, indexes, constraints.
fn write_history(dir: &Path) -> std::io::Result<()> {
    for i in 0..MIGRATIONS {
        let sql = match i % 4 {
            0 if i >= 4 => format!(
                "CREATE TABLE t{i} (id bigserial PRIMARY KEY, parent_id bigint REFERENCES t{} (id), name text NOT NULL, \
                 created_at timestamptz NOT NULL DEFAULT now());\n",
                i - 4
            ),
            0 => format!(
                "CREATE TABLE t{i} (id bigserial PRIMARY KEY, parent_id bigint, name text NOT NULL, created_at timestamptz NOT NULL DEFAULT now());\n"
            ),
            1 => format!(
                "ALTER TABLE t{} ADD COLUMN slug text;\nINSERT INTO t{} (name, slug) VALUES ('a', 'a-1'), ('b', 'b-2');\n",
                i - 1,
                i - 1
            ),
            2 => format!("CREATE UNIQUE INDEX t{}_slug_key ON t{} (slug);\n", i - 2, i - 2),
            _ => format!(
                "ALTER TABLE t{} ADD CONSTRAINT t{}_name_check CHECK (name <> '') NOT VALID;\nALTER TABLE t{} VALIDATE CONSTRAINT t{}_name_check;\n",
                i - 3,
                i - 3,
                i - 3,
                i - 3
            ),
        };
        std::fs::write(dir.join(format!("{}_step_{i}.sql", 20240101000000u64 + i as u64)), sql)?;
    }
    Ok(())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let admin = std::env::var("DBCHECK_TEST_POSTGRES_URL")
        .map_err(|_| "set DBCHECK_TEST_POSTGRES_URL to a PostgreSQL admin URL")?;
    let dir = tempfile::tempdir()?;
    write_history(dir.path())?;
    let discovery = discover_migrations(dir.path(), None)?;
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let server = ShadowServer::new(&DatabaseUrl::parse(&admin)?, Duration::from_secs(60));
    let mut created: Vec<String> = Vec::new();

    // Baseline: sqlx's migrator applying the history to an empty database (a new one per run).
    let migrator = rt.block_on(sqlx::migrate::Migrator::new(dir.path()))?;
    let mut live = None;
    let (baseline, ok) = best_of(3, || {
        rt.block_on(async {
            let db = server.create(None).await?;
            created.push(db.name.clone().unwrap_or_default());
            let mut conn = sqlx::PgConnection::connect(db.url.expose()).await?;
            let start = std::time::Instant::now();
            migrator.run(&mut conn).await?;
            let took = start.elapsed();
            conn.close().await?;
            live = Some(db.url.clone());
            Ok::<_, Box<dyn std::error::Error>>(took)
        })
    });
    // `best_of` timed database creation too; keep only the migrator's own time.
    let _ = baseline;
    let baseline = ok?;
    let live = live.ok_or("no live database")?;

    let target = ReplayTarget::Server(server.clone());
    let owner = format!("dbcheck-bench drift {}", std::process::id());
    let options =
        ReplayOptions { introspect: introspect_options(&[], None), cache: true, owner: owner.clone(), cache_dir: None };
    let drift = || -> Result<DriftReport, Box<dyn std::error::Error>> {
        rt.block_on(async {
            let replay = replay_migrations(&discovery, &target, &options).await?;
            let mut db = connect(&live, &ConnectOptions::default()).await?;
            let actual = db.introspect(&options.introspect).await;
            db.close().await;
            Ok(compare(replay, actual?))
        })
    };
    let drop_templates = || -> Result<(), Box<dyn std::error::Error>> {
        rt.block_on(async {
            let mut c = sqlx::PgConnection::connect(&admin).await?;
            let names: Vec<String> = sqlx::query_scalar(
                "SELECT datname::text FROM pg_database WHERE shobj_description(oid, 'pg_database') = $1",
            )
            .bind(&owner)
            .fetch_all(&mut c)
            .await?;
            c.close().await?;
            for n in names {
                server.drop_database(&n).await?;
            }
            Ok(())
        })
    };
    // First run: nothing cached (the template of the previous run is dropped before each).
    let (first, report1) = best_of(3, || {
        drop_templates().and_then(|()| {
            let start = std::time::Instant::now();
            drift().map(|r| (start.elapsed(), r))
        })
    });
    let _ = first;
    let (first, report1) = report1?;
    assert_eq!(report1.replay.cache, CacheUse::Miss);
    assert!(report1.replay.complete && report1.findings.is_empty(), "{:#?}", report1.findings);
    let (second, report2) = best_of(5, drift);
    let report2 = report2?;
    assert_eq!(report2.replay.cache, CacheUse::Hit);
    assert!(report2.findings.is_empty());
    println!("{} migrations, {} tables, no drift", MIGRATIONS, report1.expected.tables.len());
    report("drift, 300 migrations (first run)", first, "sqlx migrate run", baseline, "<= 1.2");
    report("drift, unchanged migrations (template cache)", second, "first drift run", first, "<= 0.2");

    drop_templates()?;
    rt.block_on(async {
        for n in &created {
            server.drop_database(n).await?;
        }
        Ok::<_, dbcheck_core::db::DbError>(())
    })?;
    Ok(())
}
