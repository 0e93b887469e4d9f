//! `files` at 1,000,000 rows and 1,000,000 files against the shell pipeline that does the same
//! comparison: `find … | sort` and `psql -c "\copy (select …) to stdout" | sort`, then `comm`.
//!
//! Needs PostgreSQL (`DBCHECK_TEST_POSTGRES_URL`, or `initdb` for a throwaway cluster), `psql`,
//! GNU `find`/`sort`/`comm`, `/usr/bin/time` for peak RSS, and a release build of the CLI:
//!
//! ```text
//! cargo build --release -p cargo-dbcheck && cargo run --release -p dbcheck-bench --bin files
//! ```
//!
//! Targets: dbcheck's wall time ≤ 1.5 × the pipeline's, peak RSS ≤ 256 MB. `DBCHECK_BENCH_FILES`
//! overrides the size; `DBCHECK_BENCH_DIR` the folder the files are created in (default: the
//! system temp folder).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use dbcheck_bench::{best_of, report};
use dbcheck_tests::TestDb;

fn rel(i: usize) -> String {
    format!("d{:04}/f{i:07}.jpg", i / 1000)
}

/// Rows whose file is missing, and files no row references: 1,000 each per million.
fn missing(i: usize) -> bool {
    i % 1000 == 17
}
fn orphan(i: usize) -> bool {
    i % 1000 == 503
}

fn create_files(root: &Path, n: usize) {
    let threads = std::thread::available_parallelism().map_or(2, |p| p.get()).max(2);
    let dirs = n.div_ceil(1000);
    std::thread::scope(|s| {
        for t in 0..threads {
            s.spawn(move || {
                for d in (t..dirs).step_by(threads) {
                    let dir = root.join(format!("d{d:04}"));
                    std::fs::create_dir_all(&dir).expect("create a folder");
                    for i in (d * 1000..((d + 1) * 1000).min(n)).filter(|&i| !missing(i)) {
                        std::fs::File::create(root.join(rel(i))).expect("create a file");
                    }
                }
            });
        }
    });
}

async fn insert_rows(db: &TestDb, n: usize) {
    db.execute("CREATE TABLE ad_images (id BIGINT PRIMARY KEY, file_path TEXT NOT NULL)").await;
    let mut sql = String::new();
    let mut rows = 0;
    for i in (0..n).filter(|&i| !orphan(i)) {
        if rows == 0 {
            sql.push_str("INSERT INTO ad_images (id, file_path) VALUES ");
        } else {
            sql.push(',');
        }
        let _ = write!(sql, "({}, '{}')", i + 1, rel(i));
        rows += 1;
        if rows == 10_000 {
            sql.push(';');
            db.execute(&sql).await;
            sql.clear();
            rows = 0;
        }
    }
    if rows > 0 {
        db.execute(&sql).await;
    }
    db.execute("ANALYZE ad_images").await;
}

/// Run `cmd` under `/usr/bin/time -f %M`; returns stdout and the peak RSS in KiB.
fn run_measured(cmd: &[&str]) -> (String, u64) {
    let out = Command::new("/usr/bin/time").arg("-f").arg("%M").args(cmd).output().expect("run /usr/bin/time");
    let stderr = String::from_utf8_lossy(&out.stderr);
    let rss = stderr
        .lines()
        .last()
        .and_then(|l| l.trim().parse::<u64>().ok())
        .unwrap_or_else(|| panic!("no peak RSS from /usr/bin/time (exit {:?}):\n{stderr}", out.status.code()));
    (String::from_utf8_lossy(&out.stdout).into_owned(), rss)
}

fn cli_binary() -> PathBuf {
    let exe = std::env::current_exe().expect("current exe");
    let dir = exe.parent().expect("target/release");
    let bin = dir.join("cargo-dbcheck");
    assert!(bin.is_file(), "{} is missing: run `cargo build --release -p cargo-dbcheck` first", bin.display());
    bin
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let n: usize = std::env::var("DBCHECK_BENCH_FILES").ok().and_then(|v| v.parse().ok()).unwrap_or(1_000_000);
    let cli = cli_binary();
    let Some(db) = TestDb::postgres().await else {
        eprintln!("no PostgreSQL: set DBCHECK_TEST_POSTGRES_URL");
        std::process::exit(2);
    };
    let base = std::env::var_os("DBCHECK_BENCH_DIR").map_or_else(std::env::temp_dir, PathBuf::from);
    let dir = tempfile::Builder::new().prefix("dbcheck-bench-files-").tempdir_in(base).expect("temp dir");
    let root = dir.path().join("uploads");
    let t = Instant::now();
    create_files(&root, n);
    println!("created {n} files (minus {} planted missing) in {:.1} s", n / 1000, t.elapsed().as_secs_f64());
    let t = Instant::now();
    insert_rows(&db, n).await;
    println!("inserted {} rows in {:.1} s", n - n / 1000, t.elapsed().as_secs_f64());

    let project = dir.path().join("project");
    std::fs::create_dir_all(project.join("src")).expect("project");
    std::fs::write(project.join("src/lib.rs"), "").expect("lib.rs");
    std::fs::write(
        project.join("Cargo.toml"),
        format!(
            "[package]\nname = \"bench\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n\
             [[package.metadata.dbcheck.files]]\ntable = \"ad_images\"\ncolumn = \"file_path\"\nroot = {:?}\nkey = \"id\"\ngrace_secs = 0\n",
            root.display().to_string()
        ),
    )
    .expect("Cargo.toml");

    let url = db.url().to_owned();
    let manifest = project.join("Cargo.toml");
    let dbcheck_cmd = [
        cli.to_str().expect("utf-8 path"),
        "files",
        "--manifest-path",
        manifest.to_str().expect("utf-8 path"),
        "--database-url",
        &url,
        "--message-format",
        "json",
    ];
    let pipeline = format!(
        "comm -3 <(cd {root} && find . -type f -printf '%P\\n' | LC_ALL=C sort) \
         <(psql -X -q -A -t {url} -c '\\copy (select file_path from ad_images) to stdout' | LC_ALL=C sort) | wc -l",
        root = root.display(),
    );
    let shell_cmd = ["bash", "-c", pipeline.as_str()];

    // Warm the page cache and the database's buffers once for both sides.
    let _ = run_measured(&shell_cmd);
    let _ = run_measured(&dbcheck_cmd);

    let mut peak = 0u64;
    let (ours, json) = best_of(3, || {
        let (out, rss) = run_measured(&dbcheck_cmd);
        peak = peak.max(rss);
        out
    });
    let (shell, lines) = best_of(3, || run_measured(&shell_cmd).0);

    // Both must find the same planted mismatches.
    let doc: serde_json::Value = serde_json::from_str(&json).expect("dbcheck JSON");
    let files = &doc["results"][0]["files"];
    let count = |classes: &serde_json::Value, code: &str| {
        classes
            .as_array()
            .into_iter()
            .flatten()
            .find(|c| c["code"] == code)
            .map_or(0, |c| c["count"].as_u64().unwrap_or(0))
    };
    let dangling = count(&files["entries"][0]["classes"], "file-missing");
    let orphans = count(&files["roots"][0]["classes"], "file-orphan");
    let comm_lines: u64 = lines.trim().parse().expect("wc -l");
    println!("dbcheck: {dangling} missing, {orphans} orphans; comm: {comm_lines} lines");
    assert_eq!(dangling + orphans, comm_lines, "dbcheck and the shell pipeline disagree");
    assert_eq!((dangling, orphans), ((n / 1000) as u64, (n / 1000) as u64));

    report(
        &format!("files {n} rows x {n} files"),
        ours,
        "shell pipeline (find|sort, psql \\copy|sort, comm)",
        shell,
        "<= 1.5",
    );
    println!("peak RSS: dbcheck {:.1} MB (target <= 256 MB)", peak as f64 / 1024.0);
    let t = Instant::now();
    drop(dir);
    println!("cleaned up in {:.1} s", t.elapsed().as_secs_f64());
}
