//! `migrate deploy` through the real binary: SIGKILL at random points (seeded), a migration that
//! fails half-way, eight deploys at once, the lock timeout's message, and exit codes.

use std::collections::BTreeMap;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use dbcheck_tests::{TestDb, require_db};
use sqlx::{Connection as _, PgConnection, Row as _};

use crate::project::{TempProject, output_text};

const MIGRATIONS: usize = 30;
const ROWS: i64 = 200;

/// A project with 30 small sqlx migrations, each creating a table and filling it with 200 rows
/// (so a half-applied migration would show as a table with the wrong count or no history row).
fn project(fail_at: Option<usize>) -> TempProject {
    let p = TempProject::new("");
    for i in 1..=MIGRATIONS {
        let mut sql =
            format!("CREATE TABLE t{i} (id INT PRIMARY KEY);\nINSERT INTO t{i} SELECT generate_series(1, {ROWS});\n");
        if fail_at == Some(i) {
            sql.push_str("INSERT INTO t1 VALUES (1);\n");
        }
        p.write(&format!("migrations/{i}_t{i}.sql"), sql);
    }
    p
}

/// A tiny seeded generator (xorshift64*), so a failing run can be replayed from its seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

fn seed() -> u64 {
    std::env::var("DBCHECK_FAULT_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or(0x5eed_dbc4)
}

fn spawn_deploy(p: &TempProject, url: &str, extra: &[&str]) -> Child {
    let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin("cargo-dbcheck"));
    cmd.current_dir(p.path())
        .args(["migrate", "deploy", "--database-url", url, "--message-format", "json"])
        .args(extra)
        .env_remove("DATABASE_URL")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd.spawn().unwrap()
}

/// What the database holds: recorded versions (with their `success` flag) and, per table tN,
/// its row count.
struct Observed {
    recorded: BTreeMap<i64, bool>,
    tables: BTreeMap<usize, i64>,
}

async fn observe(url: &str) -> Observed {
    let mut c = PgConnection::connect(url).await.unwrap();
    // A killed client's server session finishes the statement it was sent (the whole atomic
    // migration batch, commit included) before it notices the closed socket; wait for it to end,
    // as every later reader of the database would.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let busy: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM pg_stat_activity WHERE datname = current_database() \
             AND application_name = 'cargo-dbcheck migrate deploy'",
        )
        .fetch_one(&mut c)
        .await
        .unwrap();
        if busy == 0 {
            break;
        }
        assert!(Instant::now() < deadline, "a killed deploy's session did not end");
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let has_history: bool =
        sqlx::query_scalar("SELECT to_regclass('_sqlx_migrations') IS NOT NULL").fetch_one(&mut c).await.unwrap();
    let mut recorded = BTreeMap::new();
    if has_history {
        for row in sqlx::query("SELECT version, success FROM _sqlx_migrations").fetch_all(&mut c).await.unwrap() {
            recorded.insert(row.get::<i64, _>(0), row.get::<bool, _>(1));
        }
    }
    let mut tables = BTreeMap::new();
    let names: Vec<String> = sqlx::query_scalar(
        "SELECT table_name::text FROM information_schema.tables WHERE table_schema = 'public' AND table_name ~ '^t[0-9]+$'",
    )
    .fetch_all(&mut c)
    .await
    .unwrap();
    for name in names {
        let n: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM {name}")))
            .fetch_one(&mut c)
            .await
            .unwrap();
        tables.insert(name[1..].parse().unwrap(), n);
    }
    c.close().await.unwrap();
    Observed { recorded, tables }
}

/// The invariant after any kill: a migration is recorded as applied exactly when all of it is in
/// the database, and nothing of an unrecorded migration is.
fn assert_truthful(o: &Observed, context: &str) {
    for (v, success) in &o.recorded {
        assert!(*success, "{context}: migration {v} recorded as failed although every migration is transactional");
        assert_eq!(o.tables.get(&(*v as usize)), Some(&ROWS), "{context}: {v} recorded but not fully applied");
    }
    for (t, n) in &o.tables {
        assert!(o.recorded.contains_key(&(*t as i64)), "{context}: t{t} exists ({n} rows) but is not recorded");
    }
    // Applied migrations form a prefix: deploy goes in order.
    let applied: Vec<i64> = o.recorded.keys().copied().collect();
    assert_eq!(applied, (1..=applied.len() as i64).collect::<Vec<_>>(), "{context}: not a prefix");
}

/// `status` through the binary agrees with what is in the database.
fn assert_status_agrees(p: &TempProject, url: &str, o: &Observed, context: &str) {
    let out = p.cmd().args(["status", "--database-url", url, "--message-format", "json"]).output().unwrap();
    let (stdout, stderr) = output_text(&out);
    let doc: serde_json::Value = serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}\n{stderr}"));
    let summary = &doc["results"][0]["status"]["summary"];
    assert_eq!(summary["applied"], o.recorded.len(), "{context}: {summary}");
    assert_eq!(summary["failed"], 0, "{context}: {summary}");
    assert_eq!(summary["pending"], MIGRATIONS - o.recorded.len(), "{context}: {summary}");
}

async fn reset(url: &str) {
    let mut c = PgConnection::connect(url).await.unwrap();
    sqlx::raw_sql("DROP SCHEMA public CASCADE; CREATE SCHEMA public;").execute(&mut c).await.unwrap();
    c.close().await.unwrap();
}

/// Kill a deploy after `delay`, or let it finish.
fn kill_after(mut child: Child, delay: Duration) -> Option<std::process::ExitStatus> {
    std::thread::sleep(delay);
    match child.try_wait().unwrap() {
        Some(status) => Some(status),
        None => {
            child.kill().unwrap(); // SIGKILL on Unix
            child.wait().unwrap();
            None
        }
    }
}

/// How long a full deploy of `p` takes on a fresh schema, measured twice (the first run warms up).
async fn full_deploy_time(p: &TempProject, url: &str) -> Duration {
    let mut best = Duration::MAX;
    for _ in 0..2 {
        reset(url).await;
        let start = Instant::now();
        let out = spawn_deploy(p, url, &[]).wait_with_output().unwrap();
        best = best.min(start.elapsed());
        let (stdout, stderr) = output_text(&out);
        assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    }
    best
}

#[tokio::test]
async fn sigkill_at_random_points_never_records_a_half_applied_migration() {
    let db = require_db!(TestDb::postgres().await);
    let url = db.url().to_owned();
    let p = project(None);
    let full = full_deploy_time(&p, &url).await;
    let mut rng = Rng(seed());
    let (mut partial, mut before_any, mut finished) = (0, 0, 0);
    for round in 0..50 {
        reset(&url).await;
        // Part of a run is process start and project discovery; aim the kills past it.
        let span = full.as_micros() as u64;
        let delay = Duration::from_micros(span / 4 + rng.below(span * 3 / 4));
        let context = format!("round {round}, seed {}, kill after {delay:?}", seed());
        let exited = kill_after(spawn_deploy(&p, &url, &[]), delay);
        let o = observe(&url).await;
        assert_truthful(&o, &context);
        match (exited, o.recorded.len()) {
            (Some(_), _) => finished += 1,
            (None, 0) => before_any += 1,
            (None, n) if n < MIGRATIONS => partial += 1,
            _ => {}
        }
        assert_status_agrees(&p, &url, &o, &context);
        // A rerun completes.
        let out = spawn_deploy(&p, &url, &[]).wait_with_output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{context}: {:?}", output_text(&out));
        let o = observe(&url).await;
        assert_truthful(&o, &context);
        assert_eq!(o.recorded.len(), MIGRATIONS, "{context}");
    }
    eprintln!("kills: {partial} mid-deploy, {before_any} before the first migration, {finished} too late");
    assert!(partial >= 10, "only {partial} of 50 kills landed mid-deploy (full run {full:?}); the test proves little");
}

#[tokio::test]
async fn sigkill_around_a_migration_that_fails_half_way() {
    let db = require_db!(TestDb::postgres().await);
    let url = db.url().to_owned();
    let fail_at = 16;
    let p = project(Some(fail_at));
    // A full run stops at the failing migration: exit 1, the 15 before it applied, nothing of it.
    reset(&url).await;
    let start = Instant::now();
    let out = spawn_deploy(&p, &url, &[]).wait_with_output().unwrap();
    let full = start.elapsed();
    let (stdout, _) = output_text(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("deploy-migration-failed"), "{stdout}");
    let o = observe(&url).await;
    assert_truthful(&o, "full run");
    assert_eq!(o.recorded.len(), fail_at - 1);

    let mut rng = Rng(seed() ^ 0xfa11);
    for round in 0..50 {
        reset(&url).await;
        let span = full.as_micros() as u64;
        let delay = Duration::from_micros(span / 4 + rng.below(span * 3 / 4));
        let context = format!("round {round}, seed {}, kill after {delay:?}", seed());
        kill_after(spawn_deploy(&p, &url, &[]), delay);
        let o = observe(&url).await;
        assert_truthful(&o, &context);
        assert!(o.recorded.len() < fail_at, "{context}");
        assert_status_agrees(&p, &url, &o, &context);
        let out = spawn_deploy(&p, &url, &[]).wait_with_output().unwrap();
        assert_eq!(out.status.code(), Some(1), "{context}");
        let o = observe(&url).await;
        assert_truthful(&o, &context);
        assert_eq!(o.recorded.len(), fail_at - 1, "{context}");
    }
}

#[tokio::test]
async fn eight_concurrent_deploys_apply_each_migration_once() {
    let db = require_db!(TestDb::postgres().await);
    let url = db.url().to_owned();
    let p = project(None);
    let children: Vec<Child> = (0..8).map(|_| spawn_deploy(&p, &url, &[])).collect();
    let mut applied_total = 0;
    for child in children {
        let out = child.wait_with_output().unwrap();
        let (stdout, stderr) = output_text(&out);
        assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
        let doc: serde_json::Value = serde_json::from_str(&stdout).unwrap();
        applied_total += doc["results"][0]["migrate"]["deploy"]["applied"].as_array().unwrap().len();
    }
    assert_eq!(applied_total, MIGRATIONS, "every migration applied exactly once across the 8 processes");
    let o = observe(&url).await;
    assert_truthful(&o, "after 8 concurrent deploys");
    assert_eq!(o.recorded.len(), MIGRATIONS);
}

#[tokio::test]
async fn a_held_lock_times_out_with_the_documented_message() {
    let db = require_db!(TestDb::postgres().await);
    let p = project(None);
    let mut holder = PgConnection::connect(db.url()).await.unwrap();
    sqlx::raw_sql("SET application_name = 'release-42'").execute(&mut holder).await.unwrap();
    let key = 0x3d32_ad9e_i64 * i64::from(crc32(db.name().as_bytes()));
    sqlx::query("SELECT pg_advisory_lock($1)").bind(key).execute(&mut holder).await.unwrap();
    let out =
        p.cmd().args(["migrate", "deploy", "--lock-timeout", "0.3", "--database-url", db.url()]).output().unwrap();
    let (stdout, stderr) = output_text(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout}\n{stderr}");
    assert!(stderr.contains("deploy-lock-timeout"), "{stderr}");
    assert!(stderr.contains("holds the deploy lock") && stderr.contains("release-42"), "{stderr}");
    assert!(stdout.contains("nothing applied"), "{stdout}");
    holder.close().await.unwrap();
    let out = p.cmd().args(["migrate", "deploy", "--database-url", db.url()]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{:?}", output_text(&out));
}

#[test]
fn a_negative_lock_timeout_is_a_usage_error() {
    let p = project(None);
    let out =
        p.cmd().args(["migrate", "deploy", "--lock-timeout=-1", "--database-url", "sqlite::memory:"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{:?}", output_text(&out));
    assert!(output_text(&out).1.contains("--lock-timeout"));
}

/// CRC-32 (IEEE), bit by bit: the lock key is computed independently of the code under test.
fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 { (crc >> 1) ^ 0xEDB8_8320 } else { crc >> 1 };
        }
    }
    !crc
}

#[tokio::test]
async fn resolve_needs_one_action_and_refuses_what_does_not_fit() {
    let db = require_db!(TestDb::sqlite().await);
    let p = TempProject::new("").with_sqlx_migrations();
    let out = p.cmd().args(["migrate", "resolve", "--database-url", db.url()]).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{:?}", output_text(&out));
    let out = p.cmd().args(["migrate", "deploy", "--database-url", db.url()]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{:?}", output_text(&out));
    let out = p.cmd().args(["migrate", "resolve", "--rolled-back", "1", "--database-url", db.url()]).output().unwrap();
    let (stdout, stderr) = output_text(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout}\n{stderr}");
    assert!(stderr.contains("resolve-refused"), "{stderr}");
    p.write("migrations/2_add_slug.sql", "ALTER TABLE ads ADD COLUMN slug TEXT;\r\n");
    let out = p.cmd().args(["status", "--database-url", db.url()]).output().unwrap();
    assert_eq!(out.status.code(), Some(1), "edited: {:?}", output_text(&out));
    let args = ["migrate", "resolve", "--accept-checksum", "2", "--database-url", db.url()];
    let out = p.cmd().args(args).output().unwrap();
    let (stdout, stderr) = output_text(&out);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(stdout.contains("new checksum accepted (line endings only)"), "{stdout}");
    let out = p.cmd().args(["status", "--database-url", db.url()]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{:?}", output_text(&out));
}

#[tokio::test]
async fn baseline_refuses_a_drifted_database_and_adopts_a_matching_one() {
    let db = require_db!(TestDb::sqlite().await);
    let p = TempProject::new("").with_sqlx_migrations();
    db.execute("CREATE TABLE ads (id INTEGER PRIMARY KEY, title TEXT, price INTEGER)").await;
    let out = p.cmd().args(["baseline", "--to", "1", "--database-url", db.url()]).output().unwrap();
    let (stdout, stderr) = output_text(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout}\n{stderr}");
    assert!(stderr.contains("baseline-refused") && stderr.contains("drift-column-extra"), "{stderr}");
    assert!(stdout.contains("nothing recorded (1 difference(s)"), "{stdout}");

    db.execute("ALTER TABLE ads DROP COLUMN price").await;
    let out = p.cmd().args(["baseline", "--to", "1", "--database-url", db.url()]).output().unwrap();
    let (stdout, stderr) = output_text(&out);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(stdout.contains("1 migration(s) recorded as applied"), "{stdout}");
    let out = p.cmd().args(["migrate", "deploy", "--database-url", db.url()]).output().unwrap();
    let (stdout, stderr) = output_text(&out);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(stdout.contains("1 of 1 pending migration(s) applied"), "{stdout}");
}

#[test]
fn migrate_new_writes_the_difference_and_comments_out_destructive_steps() {
    let p = TempProject::new("").with_sqlx_migrations();
    p.write(
        "schema.sql",
        "CREATE TABLE ads (id INTEGER PRIMARY KEY, title TEXT, slug TEXT, price INTEGER);\n\
         CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT NOT NULL);\n",
    );
    let out = p.cmd().args(["migrate", "new", "add_users"]).output().unwrap();
    let (stdout, stderr) = output_text(&out);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    let text = std::fs::read_to_string(p.path().join("migrations/3_add_users.sql")).unwrap();
    assert!(text.contains("CREATE TABLE") && text.contains("users") && text.contains("price"), "{text}");
    assert!(!text.contains("DESTRUCTIVE"), "{text}");
    // The migrations now produce the declared schema: a second run has nothing to write.
    let out = p.cmd().args(["migrate", "new", "again", "-v"]).output().unwrap();
    let (stdout, stderr) = output_text(&out);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(stdout.contains("nothing written"), "{stdout}");
    assert!(!p.path().join("migrations/4_again.sql").exists());

    // Dropping a column is destructive: written commented out, with a warning.
    p.write("schema.sql", "CREATE TABLE ads (id INTEGER PRIMARY KEY, title TEXT, price INTEGER);\nCREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT NOT NULL);\n");
    let out = p.cmd().args(["migrate", "new", "drop_slug"]).output().unwrap();
    let (stdout, stderr) = output_text(&out);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(stderr.contains("migrate-new-destructive"), "{stderr}");
    let text = std::fs::read_to_string(p.path().join("migrations/4_drop_slug.sql")).unwrap();
    assert!(text.contains("-- DESTRUCTIVE"), "{text}");
    let uncommented: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty() && !l.starts_with("--")).collect();
    assert!(uncommented.is_empty(), "every step of a rebuild that drops data stays commented: {uncommented:?}");

    let out = p.cmd().args(["migrate", "new", "bad name"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn migrate_check_compares_with_the_git_base() {
    let p = TempProject::new("").with_sqlx_migrations();
    let git = |args: &[&str]| {
        let out = std::process::Command::new("git")
            .args(["-c", "user.name=t", "-c", "user.email=t@example.invalid", "-c", "init.defaultBranch=main"])
            .args(args)
            .current_dir(p.path())
            .output()
            .unwrap();
        assert!(out.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    };
    git(&["init", "-q"]);
    git(&["add", "-A"]);
    git(&["commit", "-q", "-m", "base"]);
    let check = |expect: i32| {
        let out = p.cmd().args(["migrate", "check", "--base", "main"]).output().unwrap();
        let (stdout, stderr) = output_text(&out);
        assert_eq!(out.status.code(), Some(expect), "{stdout}\n{stderr}");
        stderr
    };
    check(0);
    // Without --base, main is found by default.
    let out = p.cmd().args(["migrate", "check"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{:?}", output_text(&out));

    p.write("migrations/3_add_price.sql", "ALTER TABLE ads ADD COLUMN price INTEGER;\n");
    check(0);
    p.write("migrations/2_add_slug.sql", "ALTER TABLE ads ADD COLUMN slug VARCHAR(10);\n");
    assert!(check(1).contains("migration-edited-since-base"));
    p.write("migrations/2_add_slug.sql", "ALTER TABLE ads ADD COLUMN slug TEXT;\r\n");
    let stderr = check(0);
    assert!(stderr.contains("line endings"), "a line-ending-only edit is a warning: {stderr}");
    p.write("migrations/2_add_slug.sql", "ALTER TABLE ads ADD COLUMN slug TEXT;\n");

    std::fs::rename(p.path().join("migrations/2_add_slug.sql"), p.path().join("migrations/4_add_slug.sql")).unwrap();
    let stderr = check(1);
    assert!(stderr.contains("migration-renamed-since-base") && stderr.contains("4_add_slug.sql"), "{stderr}");
    std::fs::remove_file(p.path().join("migrations/4_add_slug.sql")).unwrap();
    assert!(check(1).contains("migration-deleted-since-base"));
    p.write("migrations/2_add_slug.sql", "ALTER TABLE ads ADD COLUMN slug TEXT;\n");

    // main moves on with 5; this branch's 3 and 4 now sort before it.
    p.write("migrations/5_tags.sql", "CREATE TABLE tags (id INTEGER PRIMARY KEY);\n");
    git(&["add", "migrations/5_tags.sql"]);
    git(&["commit", "-q", "-m", "five"]);
    let stderr = check(1);
    assert!(
        stderr.contains("migration-sorts-before-base") && stderr.contains("new migration 3 sorts before 5"),
        "{stderr}"
    );

    let out = p.cmd().args(["migrate", "check", "--base", "no-such-ref"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{:?}", output_text(&out));
}

#[test]
fn migrate_new_from_exhaustive_guarded_structs() {
    let p = TempProject::new("[package.metadata.dbcheck]\ndialect = \"sqlite\"\n").with_sqlx_migrations();
    // No schema.sql and no exhaustive struct: nothing declares a schema.
    let out = p.cmd().args(["migrate", "new", "nothing"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{:?}", output_text(&out));
    p.write(
        "src/lib.rs",
        "use dbcheck::schema_guard;\n\
         #[schema_guard(table = \"ads\", exhaustive)]\n\
         pub struct Ad { pub id: i64, pub title: Option<String>, pub slug: Option<String>, pub price: Option<i64> }\n\
         #[schema_guard(table = \"users\", exhaustive)]\n\
         pub struct User { pub id: i64, pub email: String, pub born: Option<chrono::NaiveDate> }\n\
         #[schema_guard(table = \"ads\")]\n\
         pub struct AdTitle { pub title: Option<String> }\n",
    );
    let out = p.cmd().args(["migrate", "new", "from_structs"]).output().unwrap();
    let (stdout, stderr) = output_text(&out);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    let text = std::fs::read_to_string(p.path().join("migrations/3_from_structs.sql")).unwrap();
    assert!(text.contains("users") && text.contains("email") && text.contains("born"), "{text}");
    assert!(text.contains("price"), "{text}");
    assert!(text.contains("exhaustive #[schema_guard] structs"), "{text}");
    // Applied, the migrations now give what the structs declare: nothing more to write.
    let out = p.cmd().args(["migrate", "new", "again", "-v"]).output().unwrap();
    let (stdout, stderr) = output_text(&out);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(stdout.contains("nothing written"), "{stdout}\n{stderr}");
}
