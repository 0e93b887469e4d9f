//! Benchmark (issue 8): 10 counting integrity rules on a 5-million-row PostgreSQL table, run by
//! `integrity::check_config` (one aggregate scan), against one `SELECT count(*)` over the same
//! table and against the same 10 rules run as 10 separate `count(*) … WHERE` queries, in the
//! same run. Targets: ≤ 1.3× the `count(*)`, and ≥ 5× faster than the 10 queries. Measured with
//! warm caches, then (when the server's data directory is readable) with the table's pages evicted
//! from the OS page cache before every scan (`dd iflag=nocache`), as for a table larger than memory.
//! Needs `DBCHECK_TEST_POSTGRES_URL` (an admin URL); the table lives in a throwaway database.
//!
//! `cargo run --release -p dbcheck-bench --bin integrity [ROWS]`

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use dbcheck_bench::{best_of, report, with_scratch_postgres};
use dbcheck_core::db::{ConnectOptions, DatabaseUrl, connect};
use dbcheck_core::integrity::{IntegrityConfig, IntegrityOptions, check_config};

const RULES: &str = r#"
[[rules]]
table = "ads"
column = "slug"
not_null = true
not_empty = true

[[rules]]
table = "ads"
column = "title"
not_null = true

[[rules]]
table = "ads"
column = "price"
range = [0, 100000]

[[rules]]
table = "ads"
column = "status"
accepted_values = ["draft", "live", "sold"]

[[rules]]
table = "ads"
column = "qty"
min = 0

[[rules]]
table = "ads"
column = "category_id"
not_null = true

[[rules]]
table = "ads"
name = "ads.qty_bounded"
check = "qty <= 1000"

[[rules]]
table = "ads"
column = "price"
max_ratio = 0.001
not_null = true
"#;

/// The 10 rules above as separate queries, with the same conditions dbcheck generates.
const SEPARATE: [&str; 10] = [
    "slug IS NULL",
    "(slug)::text COLLATE \"C\" < '!' AND TRIM((slug)::text) = ''",
    "title IS NULL",
    "price < 0",
    "price > 100000",
    "status <> 'draft' AND status <> 'live' AND status <> 'sold'",
    "qty < 0",
    "category_id IS NULL",
    "NOT (qty <= 1000)",
    "price IS NULL",
];

const COUNT: &str = "SELECT count(*) FROM ads";

/// The files of table `ads` (every 1 GB segment), when this process can read them.
async fn relation_files(url: &DatabaseUrl) -> Result<Option<Vec<PathBuf>>, Box<dyn std::error::Error>> {
    use sqlx::Connection as _;
    let mut c = sqlx::PgConnection::connect(url.expose()).await?;
    let first: String =
        sqlx::query_scalar("SELECT current_setting('data_directory') || '/' || pg_relation_filepath('ads')")
            .fetch_one(&mut c)
            .await?;
    c.close().await?;
    let first = PathBuf::from(first);
    if std::fs::File::open(&first).is_err() {
        return Ok(None);
    }
    let mut files = vec![first.clone()];
    for segment in 1.. {
        let next = PathBuf::from(format!("{}.{segment}", first.display()));
        if !next.exists() {
            break;
        }
        files.push(next);
    }
    Ok(Some(files))
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let rows: u64 = std::env::args().nth(1).map(|a| a.parse()).transpose()?.unwrap_or(5_000_000);
    let table = format!(
        "CREATE UNLOGGED TABLE ads (id bigint PRIMARY KEY, title text, slug text, price integer, qty integer, \
         status text, category_id integer);
         INSERT INTO ads SELECT g, 'Title ' || g, 'title-' || g, g % 5000, g % 100,
           (ARRAY['draft', 'live', 'sold'])[g % 3 + 1], g % 40 FROM generate_series(1, {rows}) g;
         UPDATE ads SET slug = NULL WHERE id % 100000 = 0;"
    );
    with_scratch_postgres(&table, |rt, url| {
        rt.block_on(async {
            let writable = ConnectOptions { read_only: false, timeout: Duration::from_secs(30) };
            let mut db = connect(url, &writable).await?;
            // Not in the setup script: VACUUM cannot run inside its implicit transaction.
            db.execute("VACUUM ANALYZE ads", "vacuuming the benchmark table").await?;
            db.close().await;
            Ok::<_, dbcheck_core::db::DbError>(())
        })?;
        let config: IntegrityConfig = toml::from_str(RULES)?;
        let rule_count = config.rules.iter().map(|r| {
            usize::from(r.not_null)
                + usize::from(r.not_empty)
                + usize::from(r.range.is_some()) * 2
                + usize::from(r.accepted_values.is_some())
                + usize::from(r.min.is_some())
                + usize::from(r.check.is_some())
        });
        assert_eq!(rule_count.sum::<usize>(), 10);
        let run_sql = |sql: &str| {
            rt.block_on(async {
                let mut db = connect(url, &ConnectOptions::default()).await?;
                let r = db.execute(sql, "benchmark query").await;
                db.close().await;
                r
            })
        };
        let run_ours = |samples: Option<usize>| {
            rt.block_on(async {
                let mut db = connect(url, &ConnectOptions::default()).await.map_err(|e| e.to_string())?;
                let options = IntegrityOptions { no_derived: true, samples, ..IntegrityOptions::default() };
                let r = check_config(&mut db, &config, &[], &options).await;
                db.close().await;
                r.map_err(|e| e.to_string())
            })
        };
        let run_separate = |before_each: &dyn Fn()| {
            rt.block_on(async {
                let mut db = connect(url, &ConnectOptions::default()).await?;
                let mut spent = Duration::ZERO;
                for cond in SEPARATE {
                    before_each();
                    let start = Instant::now();
                    db.execute(&format!("SELECT count(*) FROM ads WHERE {cond}"), "benchmark rule").await?;
                    spent += start.elapsed();
                }
                db.close().await;
                Ok::<_, dbcheck_core::db::DbError>(spent)
            })
        };
        // Warm the cache once so that every contender reads from memory alike.
        run_sql(COUNT)?;
        let (count, r) = best_of(5, || run_sql(COUNT));
        r?;
        let (ours, r) = best_of(5, || run_ours(None));
        let r = r?;
        assert_eq!(r.query_count(), 2, "one aggregate scan, one sample query (the NULL slugs)");
        assert_eq!(r.rules.iter().find(|x| x.id == "ads.slug.not_null").map(|x| x.violations), Some(rows / 100_000));
        // The same run with `--samples 0`: the aggregate scan alone (plus introspection and the
        // transaction), without the one sample query for the rule that found NULL slugs.
        let (scan_only, r) = best_of(5, || run_ours(Some(0)));
        assert_eq!(r?.query_count(), 1);
        let separate = (0..3).map(|_| run_separate(&|| ())).collect::<Result<Vec<_>, _>>()?;
        let separate = separate.into_iter().min().unwrap_or_default();
        println!("{rows} rows, 10 counting rules, warm cache");
        report("integrity (10 rules, one scan + samples)", ours, "SELECT count(*)", count, "<= 1.3");
        report("integrity --samples 0 (the scan alone)", scan_only, "SELECT count(*)", count, "<= 1.3");
        report("10 separate queries", separate, "integrity", ours, ">= 5");

        // Cold: the table's pages evicted from the OS page cache before every scan, as for a table
        // larger than memory (needs read access to the server's data directory).
        let files = rt.block_on(relation_files(url))?;
        let Some(files) = files else {
            println!("cold cache: skipped (the server's data directory is not readable here)");
            return Ok(());
        };
        let evict = || {
            for f in &files {
                let status = Command::new("dd")
                    .arg(format!("if={}", f.display()))
                    .args(["iflag=nocache", "count=0", "status=none"])
                    .status();
                assert!(status.is_ok_and(|s| s.success()), "dd could not evict {}", f.display());
            }
        };
        let cold = |run: &dyn Fn() -> Result<(), String>| -> Result<Duration, String> {
            let mut best = Duration::MAX;
            for _ in 0..3 {
                evict();
                let start = Instant::now();
                run()?;
                best = best.min(start.elapsed());
            }
            Ok(best)
        };
        let count_cold = cold(&|| run_sql(COUNT).map_err(|e| e.to_string()))?;
        let ours_cold = cold(&|| run_ours(None).map(drop))?;
        let scan_cold = cold(&|| run_ours(Some(0)).map(drop))?;
        let separate_cold = (0..3).map(|_| run_separate(&evict)).collect::<Result<Vec<_>, _>>()?;
        let separate_cold = separate_cold.into_iter().min().unwrap_or_default();
        println!("cold cache (the table's {} file(s) evicted before every scan)", files.len());
        report("integrity (10 rules, one scan + samples)", ours_cold, "SELECT count(*)", count_cold, "<= 1.3");
        report("integrity --samples 0 (the scan alone)", scan_cold, "SELECT count(*)", count_cold, "<= 1.3");
        report("10 separate queries", separate_cold, "integrity", ours_cold, ">= 5");
        Ok(())
    })
}
