//! Benchmark (issue 4): static interpretation of a 300-migration PostgreSQL history against
//! replaying the same history into a shadow PostgreSQL database (no cache) and introspecting it,
//! in the same run. Targets: static ≥ 10× faster than replay, and under 50 ms. It also checks
//! that both give the same schema (in comparison form), so the speed is not bought with errors.
//! Needs `DBCHECK_TEST_POSTGRES_URL` (an admin URL).
//!
//! `cargo run --release -p dbcheck-bench --bin static`

use std::time::{Duration, Instant};

use dbcheck_bench::{best_of, report, write_history};
use dbcheck_core::db::{DatabaseUrl, Dialect, ShadowServer};
use dbcheck_core::diff::introspect_options;
use dbcheck_core::migrations::discover_migrations;
use dbcheck_core::replay::{ReplayOptions, ReplayTarget, replay_migrations};
use dbcheck_core::sql::{interpret_migrations, static_disagreements};

const MIGRATIONS: usize = 300;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let admin = std::env::var("DBCHECK_TEST_POSTGRES_URL")
        .map_err(|_| "set DBCHECK_TEST_POSTGRES_URL to a PostgreSQL admin URL")?;
    let dir = tempfile::tempdir()?;
    write_history(dir.path(), MIGRATIONS)?;
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;

    // Static: discovery (reading the files) plus interpretation, as `schema --static` runs it.
    let (ours_time, ours) = best_of(20, || {
        let discovery = discover_migrations(dir.path(), None)?;
        Ok::<_, Box<dyn std::error::Error>>(interpret_migrations(&discovery, Dialect::Postgres))
    });
    let ours = ours?;
    let discovery = discover_migrations(dir.path(), None)?;
    let (interpret_only, _) = best_of(20, || interpret_migrations(&discovery, Dialect::Postgres));

    // Baseline: replay into a new shadow database, no cache, and introspect.
    let target = ReplayTarget::Server(ShadowServer::new(&DatabaseUrl::parse(&admin)?, Duration::from_secs(60)));
    let options = ReplayOptions { introspect: introspect_options(&[], None), cache: false, ..ReplayOptions::default() };
    let (_, replayed) = best_of(3, || {
        let start = Instant::now();
        rt.block_on(replay_migrations(&discovery, &target, &options)).map(|r| (start.elapsed(), r))
    });
    let (replay_time, replayed) = replayed?;
    if !replayed.complete {
        return Err(format!("replay failed: {:#?}", replayed.findings).into());
    }
    let differences = static_disagreements(&ours, &replayed.schema, &[]);
    if !differences.is_empty() || !ours.unmodelled.is_empty() {
        return Err(format!("static and replay disagree: {differences:#?} {:#?}", ours.unmodelled).into());
    }
    println!(
        "{MIGRATIONS} migrations, {} tables, {} objects; static and replayed schemas agree",
        ours.schema.tables.len(),
        ours.schema.object_count()
    );
    println!(
        "static interpretation: {:.2} ms with discovery, {:.2} ms interpretation only (target < 50 ms)",
        ours_time.as_secs_f64() * 1000.0,
        interpret_only.as_secs_f64() * 1000.0
    );
    report("static interpretation, 300 migrations", ours_time, "replay into PostgreSQL", replay_time, "<= 0.1");
    println!(
        "static is {:.0}x faster than replay (target >= 10x)",
        replay_time.as_secs_f64() / ours_time.as_secs_f64()
    );
    Ok(())
}
