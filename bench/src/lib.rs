//! Shared pieces of dbcheck's benchmarks: timing and ratio reporting. Each benchmark is a binary
//! in `src/bin/`, run with `cargo run --release -p dbcheck-bench --bin <name>`.

use std::error::Error;
use std::time::{Duration, Instant};

use dbcheck_core::db::{ConnectOptions, DatabaseUrl, ShadowServer, connect};

/// Run `f` `runs` times and return the fastest wall-clock time (the least noisy estimate).
pub fn best_of<T>(runs: usize, mut f: impl FnMut() -> T) -> (Duration, T) {
    let timed = |f: &mut dyn FnMut() -> T| {
        let start = Instant::now();
        let out = f();
        (start.elapsed(), out)
    };
    let mut best = timed(&mut f);
    for _ in 1..runs {
        let next = timed(&mut f);
        if next.0 < best.0 {
            best = next;
        }
    }
    best
}

/// Print one comparison line: `name: ours vs baseline = ratio (target)`.
pub fn report(name: &str, ours: Duration, baseline_name: &str, baseline: Duration, target: &str) {
    let ratio = ours.as_secs_f64() / baseline.as_secs_f64().max(f64::MIN_POSITIVE);
    println!(
        "{name}: dbcheck {:.3} s, {baseline_name} {:.3} s, ratio {ratio:.2} (target {target})",
        ours.as_secs_f64(),
        baseline.as_secs_f64()
    );
}

/// A throwaway PostgreSQL database on the server `DBCHECK_TEST_POSTGRES_URL` names (an admin URL),
/// created with `setup_sql` run in it: `run` gets the runtime and the database's URL, and the
/// database is dropped afterwards, whatever `run` returned.
pub fn with_scratch_postgres(
    setup_sql: &str,
    run: impl FnOnce(&tokio::runtime::Runtime, &DatabaseUrl) -> Result<(), Box<dyn Error>>,
) -> Result<(), Box<dyn Error>> {
    let admin = std::env::var("DBCHECK_TEST_POSTGRES_URL")
        .map_err(|_| "set DBCHECK_TEST_POSTGRES_URL to a PostgreSQL admin URL")?;
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let server = ShadowServer::new(&DatabaseUrl::parse(&admin)?, Duration::from_secs(30));
    let scratch = rt.block_on(server.create(None))?;
    let setup = rt.block_on(async {
        let mut db =
            connect(&scratch.url, &ConnectOptions { read_only: false, timeout: Duration::from_secs(30) }).await?;
        let r = db.execute(setup_sql, "setting up the benchmark database").await;
        db.close().await;
        r
    });
    let result = setup.map_err(Box::<dyn Error>::from).and_then(|()| run(&rt, &scratch.url));
    rt.block_on(server.drop_database(scratch.name.as_deref().unwrap_or_default()))?;
    result
}

/// `n` sqlx migrations in `dir` (the history of the static and guard benchmarks): tables with keys,
/// defaults, checks and foreign keys; added, renamed and retyped columns; plain, unique,
/// expression and partial indexes; NOT VALID + VALIDATE; data. Every fifth creates a table `t{k}`
/// (id, parent_id, name, price, created_at; later slug, renamed to handle).
pub fn write_history(dir: &std::path::Path, n: usize) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    for i in 0..n {
        let t = i - i % 5;
        let sql = match i % 5 {
            0 => {
                let parent =
                    if t >= 5 { format!(" REFERENCES t{} (id) ON DELETE CASCADE", t - 5) } else { String::new() };
                format!(
                    "-- table {t}\nCREATE TABLE t{t} (\n    id bigserial PRIMARY KEY,\n    parent_id bigint{parent},\n    \
                     name text NOT NULL,\n    price numeric(10, 2) DEFAULT 0 CHECK (price >= 0),\n    \
                     created_at timestamptz NOT NULL DEFAULT now()\n);\n"
                )
            }
            1 => format!(
                "ALTER TABLE t{t} ADD COLUMN slug text;\nINSERT INTO t{t} (name, slug) VALUES ('a', 'a-1'), ('b', 'b-2');\n"
            ),
            2 => format!(
                "CREATE UNIQUE INDEX t{t}_slug_key ON t{t} (slug);\nCREATE INDEX t{t}_lower_name_idx ON t{t} (lower(name)) WHERE price > 0;\n"
            ),
            3 => format!(
                "ALTER TABLE t{t} ADD CONSTRAINT t{t}_name_check CHECK (name <> '') NOT VALID;\n\
                 ALTER TABLE t{t} VALIDATE CONSTRAINT t{t}_name_check;\n"
            ),
            _ => format!(
                "ALTER TABLE t{t} RENAME COLUMN slug TO handle;\nALTER TABLE t{t} ALTER COLUMN price TYPE numeric(12, 2);\n\
                 UPDATE t{t} SET handle = name WHERE handle IS NULL;\nALTER TABLE t{t} ALTER COLUMN handle SET NOT NULL;\n"
            ),
        };
        std::fs::write(dir.join(format!("{}_step_{i}.sql", 20240101000000u64 + i as u64)), sql)?;
    }
    Ok(())
}
