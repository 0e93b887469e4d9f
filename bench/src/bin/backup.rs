//! `backup` on a 1 GB PostgreSQL database and 20,000 files (2 GB) against the two commands it
//! replaces run one after the other: `pg_dump -Fc` and `cp -a` of the uploads. Then 1 % of the
//! files are rewritten and a second backup is taken, which hard-links the unchanged files.
//!
//! Needs PostgreSQL (`DBCHECK_TEST_POSTGRES_URL`, or `initdb` for a throwaway cluster) and
//! `pg_dump` of the server's major version:
//!
//! ```text
//! cargo run --release -p dbcheck-bench --bin backup
//! ```
//!
//! Targets: first backup ≤ 1.15 × (`pg_dump -Fc` + `cp -a`); second backup ≤ 0.25 × the first.
//! `DBCHECK_BENCH_DB_MB`, `DBCHECK_BENCH_FILES` and `DBCHECK_BENCH_FILE_KB` override the sizes;
//! `DBCHECK_BENCH_DIR` the folder everything is created in (default: the system temp folder).
#![expect(clippy::unwrap_used, reason = "a benchmark fails loudly on setup errors")]

use std::io::Write as _;
use std::path::Path;
use std::process::Command;
use std::time::Instant;

use dbcheck_bench::report;
use dbcheck_core::backup::{BackupOptions, BackupSettings, create_backup};
use dbcheck_core::db::{ConnectOptions, DatabaseUrl};
use dbcheck_core::files::{FilesConfig, FilesEntry};
use dbcheck_tests::TestDb;

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn rel(i: usize) -> String {
    format!("ads/{:03}/img{i:06}.jpg", i / 100)
}

/// Write `n` files of `kb` KiB: slices of one random-looking buffer, each with a unique header.
fn create_files(root: &Path, n: usize, kb: usize, salt: u64) {
    let mut buf = vec![0u8; (kb * 1024) * 2];
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15 ^ salt;
    for b in buf.iter_mut() {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        *b = x as u8;
    }
    let threads = std::thread::available_parallelism().map_or(2, |p| p.get()).max(2);
    std::thread::scope(|s| {
        for t in 0..threads {
            let buf = &buf;
            s.spawn(move || {
                for i in (t..n).step_by(threads) {
                    let path = root.join(rel(i));
                    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
                    let mut f = std::fs::File::create(&path).unwrap();
                    let off = (i * 7919) % (kb * 1024);
                    f.write_all(format!("{i}:{salt}\n").as_bytes()).unwrap();
                    f.write_all(&buf[off..off + kb * 1024 - 32]).unwrap();
                }
            });
        }
    });
}

fn du(path: &Path) -> String {
    let out = Command::new("du").arg("-sh").arg(path).output().unwrap();
    String::from_utf8_lossy(&out.stdout).split_whitespace().next().unwrap_or("?").to_owned()
}

#[tokio::main]
async fn main() {
    let db_mb = env_usize("DBCHECK_BENCH_DB_MB", 1024);
    let n = env_usize("DBCHECK_BENCH_FILES", 20_000);
    let kb = env_usize("DBCHECK_BENCH_FILE_KB", 100);
    let Some(db) = TestDb::postgres().await else {
        eprintln!("SKIPPED: no PostgreSQL");
        return;
    };
    let base = std::env::var_os("DBCHECK_BENCH_DIR").map_or_else(std::env::temp_dir, Into::into);
    let work = tempfile::tempdir_in(base).unwrap();
    let uploads = work.path().join("uploads");
    // About 1 KB of incompressible-ish text per row: 30 md5s of random numbers.
    let rows = db_mb * 1024;
    let t = Instant::now();
    db.execute(
        "CREATE TABLE ads (id bigint PRIMARY KEY, title text NOT NULL, body text NOT NULL); \
         CREATE TABLE ad_images (id bigint PRIMARY KEY, ad_id bigint NOT NULL REFERENCES ads(id), file_path text NOT NULL)",
    )
    .await;
    let md5s: Vec<String> = (0..30).map(|_| "md5(random()::text)".to_owned()).collect();
    db.execute(&format!(
        "INSERT INTO ads SELECT i, 'ad ' || i, concat({}) FROM generate_series(1, {rows}) i",
        md5s.join(", ")
    ))
    .await;
    db.execute(&format!(
        "INSERT INTO ad_images SELECT i, i + 1, 'ads/' || lpad((i / 100)::text, 3, '0') || '/img' || lpad(i::text, 6, '0') || '.jpg' \
         FROM generate_series(0, {}) i",
        n - 1
    ))
    .await;
    db.execute("VACUUM ANALYZE").await;
    create_files(&uploads, n, kb, 1);
    println!("setup: {rows} rows, {n} files of {kb} KiB in {:.1} s", t.elapsed().as_secs_f64());
    let _ = Command::new("sync").status();

    let url = DatabaseUrl::parse(db.url()).unwrap();
    let pg_dump = dbcheck_core::backup::tools::find_pg_tool("pg_dump", 15, None)
        .or_else(|_| dbcheck_core::backup::tools::find_pg_tool("pg_dump", 16, None))
        .unwrap();
    // Baseline: pg_dump -Fc, then cp -a.
    let t = Instant::now();
    let st = Command::new(&pg_dump.path)
        .arg("-Fc")
        .arg("-f")
        .arg(work.path().join("base.pgdump"))
        .arg("-d")
        .arg(db.url())
        .status()
        .unwrap();
    assert!(st.success());
    let dump_time = t.elapsed();
    let t2 = Instant::now();
    let st = Command::new("cp").arg("-a").arg(&uploads).arg(work.path().join("base-uploads")).status().unwrap();
    assert!(st.success());
    let _ = Command::new("sync").status();
    let cp_time = t2.elapsed();
    let baseline = t.elapsed();
    println!("baseline: pg_dump -Fc {:.2} s, cp -a {:.2} s (+ sync)", dump_time.as_secs_f64(), cp_time.as_secs_f64());
    std::fs::remove_dir_all(work.path().join("base-uploads")).unwrap();

    let entry = FilesEntry {
        index: 0,
        config: FilesConfig {
            table: "ad_images".into(),
            column: "file_path".into(),
            root: uploads.clone(),
            ..FilesConfig::default()
        },
        root: uploads.clone(),
        file: work.path().join("dbcheck.toml"),
    };
    let opts = BackupOptions {
        settings: BackupSettings { dir: Some(work.path().join("backups")), ..BackupSettings::default() },
        files: vec![entry],
        connect: ConnectOptions { read_only: true, timeout: std::time::Duration::from_secs(10) },
        schemas: Vec::new(),
        history: None,
        kind: "backup".into(),
        config_files: Vec::new(),
        env_files: Vec::new(),
        progress: None,
        prune: true,
        threads: env_usize("DBCHECK_BENCH_THREADS", 4),
        allow_missing: false,
    };
    // When the files are all copied (read from the progress counters), to tell the phases apart.
    let progress = std::sync::Arc::new(dbcheck_core::backup::Progress::default());
    let mut opts = opts;
    opts.progress = Some(progress.clone());
    let t = Instant::now();
    let watcher = {
        let progress = progress.clone();
        std::thread::spawn(move || {
            use std::sync::atomic::Ordering::Relaxed;
            loop {
                let total = progress.bytes_total.load(Relaxed);
                if total > 0 && progress.bytes_done.load(Relaxed) >= total {
                    return t.elapsed();
                }
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
        })
    };
    let first = create_backup(&url, &opts).await.unwrap();
    let first_time = t.elapsed();
    println!("first backup: files copied after {:.2} s", watcher.join().unwrap().as_secs_f64());
    println!(
        "first backup: {:.2} s, {} files, dump {} MB, copied {} MB",
        first_time.as_secs_f64(),
        first.files,
        first.dump_bytes / 1_000_000,
        first.copied_bytes / 1_000_000
    );
    report("backup (first)", first_time, "pg_dump -Fc + cp -a", baseline, "≤ 1.15");

    // 1 % of the files change.
    for i in (0..n).step_by(100) {
        let mut f = std::fs::OpenOptions::new().append(true).open(uploads.join(rel(i))).unwrap();
        f.write_all(b"changed").unwrap();
    }
    let t = Instant::now();
    let second = create_backup(&url, &opts).await.unwrap();
    let second_time = t.elapsed();
    println!(
        "second backup: {:.2} s, dump reused: {}, copied {} MB, hard-linked {} MB; backups folder {}",
        second_time.as_secs_f64(),
        second.dump_reused,
        second.copied_bytes / 1_000_000,
        second.linked_bytes / 1_000_000,
        du(&work.path().join("backups"))
    );
    report("backup (second, 1 % changed)", second_time, "first backup", first_time, "≤ 0.25");

    // For the record: when the database changed too, the dump cannot be reused.
    db.execute("UPDATE ads SET title = 'changed' WHERE id = 1").await;
    let t = Instant::now();
    let third = create_backup(&url, &opts).await.unwrap();
    let third_time = t.elapsed();
    println!(
        "third backup (one row and no file changed): {:.2} s, dump reused: {}",
        third_time.as_secs_f64(),
        third.dump_reused
    );
    report("backup (database changed, files unchanged)", third_time, "first backup", first_time, "informational");
}
