//! `backup`, `backup list|verify` and `restore` through the binary: the crash test (SIGKILL at
//! seeded random points), exit codes and refusals, JSON, and configuration errors.

use std::path::Path;
use std::time::{Duration, Instant};

use dbcheck_tests::{TestDb, require_db};
use serde_json::Value;

use crate::project::{TempProject, output_text, sqlx_migrate};

const CONFIG: &str = "[[package.metadata.dbcheck.files]]\ntable = \"ad_images\"\ncolumn = \"file_path\"\nroot = \"uploads\"\n\n\
                      [package.metadata.dbcheck.backup]\ndir = \"backups\"\nkeep = 50\n";

/// A project on SQLite with `n` ads, each with one image file of `size` bytes, migrated by sqlx.
async fn project(db: &TestDb, n: usize, size: usize) -> TempProject {
    let p = TempProject::new(CONFIG);
    p.write("migrations/1_ads.sql", "CREATE TABLE ads (id INTEGER PRIMARY KEY, title TEXT NOT NULL);\n");
    p.write(
        "migrations/2_images.sql",
        "CREATE TABLE ad_images (id INTEGER PRIMARY KEY, ad_id INTEGER NOT NULL REFERENCES ads(id), file_path TEXT NOT NULL);\n",
    );
    sqlx_migrate(p.path(), db.url()).await;
    let mut sql = String::new();
    for i in 0..n {
        let rel = format!("ads/{}/{i}.jpg", i % 10);
        let bytes: Vec<u8> = (0..size).map(|k| ((k * 31 + i * 7) % 251) as u8).collect();
        p.write(&format!("uploads/{rel}"), bytes);
        sql.push_str(&format!("INSERT INTO ads VALUES ({i}, 'ad'); INSERT INTO ad_images VALUES ({i}, {i}, '{rel}');"));
    }
    db.execute(&sql).await;
    p
}

fn json(out: &std::process::Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)))
}

fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> =
        std::fs::read_dir(dir).unwrap().flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect();
    v.sort();
    v
}

/// xorshift, so every trial's kill point is reproducible from its seed.
fn next(seed: &mut u64) -> u64 {
    *seed ^= *seed << 13;
    *seed ^= *seed >> 7;
    *seed ^= *seed << 17;
    *seed
}

#[tokio::test]
async fn sigkill_at_random_points_never_leaves_a_listed_or_restorable_incomplete_generation() {
    let db = require_db!(TestDb::sqlite().await);
    let p = project(&db, 200, 48 * 1024).await;
    let url = db.url().to_owned();
    let dir = p.path().join("backups");
    let run = |args: &[&str]| p.cmd().args(args).args(["--database-url", &url]).output().unwrap();
    let out = run(&["backup"]);
    assert_eq!(out.status.code(), Some(0), "{}", output_text(&out).1);
    // Later runs hard-link the unchanged files, so they are what the kill points must cover.
    let t = Instant::now();
    let out = run(&["backup"]);
    let full = t.elapsed();
    assert_eq!(out.status.code(), Some(0), "{}", output_text(&out).1);
    let first = names(&dir).into_iter().find(|n| !n.starts_with('.')).unwrap();
    eprintln!("a full backup takes {full:?}");
    let mut seed = 0x5eed_u64;
    let mut killed = 0;
    for trial in 0..20 {
        let delay = Duration::from_micros(next(&mut seed) % (full.as_micros() as u64 * 11 / 10).max(1));
        let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("cargo-dbcheck"))
            .current_dir(p.path())
            .args(["backup", "--database-url", &url])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(delay);
        if child.try_wait().unwrap().is_none() {
            child.kill().unwrap();
            killed += 1;
        }
        child.wait().unwrap();
        // Whatever is visible as a generation is complete: it verifies.
        let listed = json(&run(&["backup", "list", "--message-format", "json"]));
        let gens = listed["results"][0]["backup"]["list"]["generations"].as_array().unwrap().clone();
        let visible: Vec<String> = names(&dir).into_iter().filter(|n| !n.starts_with('.')).collect();
        assert_eq!(gens.len(), visible.len(), "trial {trial}: every visible folder is a listed generation");
        assert!(listed["results"][0]["findings"].as_array().unwrap().is_empty(), "trial {trial}: {listed}");
        for g in &gens {
            assert_eq!(g["manifest_ok"], true, "trial {trial}: {g}");
        }
        // A leftover temporary folder is not a generation anyone can restore.
        if let Some(tmp) = names(&dir).into_iter().find(|n| n.starts_with(".tmp-")) {
            let out = run(&["restore", &tmp]);
            assert_eq!(out.status.code(), Some(2), "trial {trial}");
            assert!(output_text(&out).1.contains("no backup generation"), "trial {trial}");
        }
    }
    assert!(killed >= 10, "most trials killed a running backup ({killed})");
    // Every generation, the first one included, still verifies.
    for g in names(&dir).into_iter().filter(|n| !n.starts_with('.')) {
        let out = run(&["backup", "verify", &g]);
        assert_eq!(out.status.code(), Some(0), "{g}: {}", output_text(&out).1);
    }
    assert!(names(&dir).contains(&first));
    // The next run cleans what the killed ones left.
    let out = run(&["backup", "--message-format", "json"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(names(&dir).iter().all(|n| !n.starts_with(".tmp-") && n != ".lock"), "{:?}", names(&dir));
}

#[tokio::test]
async fn verify_and_restore_refuse_a_damaged_generation_with_exit_1() {
    let db = require_db!(TestDb::sqlite().await);
    let p = project(&db, 5, 100).await;
    let url = db.url().to_owned();
    let out = p.cmd().args(["backup", "--message-format", "json", "--database-url", &url]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", output_text(&out).1);
    let doc = json(&out);
    let created = &doc["results"][0]["backup"]["created"];
    let id = created["id"].as_str().unwrap().to_owned();
    assert_eq!(
        created["files"].as_u64().unwrap() as usize,
        std::fs::read_dir(p.path().join("backups").join(&id).join("meta")).unwrap().count() + 1 + 5
    );
    let victim = p.path().join("backups").join(&id).join("files/0/ads/3/3.jpg");
    std::fs::write(&victim, "tampered").unwrap();
    let out = p.cmd().args(["backup", "verify", "latest", "--message-format", "json"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let codes: Vec<String> = json(&out)["results"][0]["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["code"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(codes, ["backup-file-size"]);
    std::fs::remove_file(p.path().join("uploads/ads/1/1.jpg")).unwrap();
    let out = p.cmd().args(["restore", &id, "--database-url", &url]).output().unwrap();
    let (_, stderr) = output_text(&out);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("backup-file-size") && stderr.contains("nothing was restored"), "{stderr}");
    assert!(!p.path().join("uploads/ads/1/1.jpg").exists(), "restore touched nothing");
    assert_eq!(names(&p.path().join("backups")).iter().filter(|n| !n.starts_with('.')).count(), 1, "no safety backup");
}

#[tokio::test]
async fn restore_refuses_a_backup_newer_than_the_code_unless_forced() {
    let db = require_db!(TestDb::sqlite().await);
    let p = project(&db, 3, 10).await;
    let url = db.url().to_owned();
    let out = p.cmd().args(["backup", "--database-url", &url]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", output_text(&out).1);
    std::fs::remove_file(p.path().join("migrations/2_images.sql")).unwrap();
    let out = p.cmd().args(["restore", "latest", "--database-url", &url]).output().unwrap();
    let (_, stderr) = output_text(&out);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("newer than the code") && stderr.contains("--force"), "{stderr}");
    let out = p.cmd().args(["restore", "latest", "--force", "--database-url", &url]).output().unwrap();
    let (stdout, stderr) = output_text(&out);
    assert!(stdout.contains("restored") && stdout.contains("safety backup"), "{stdout}\n{stderr}");
}

#[test]
fn backup_without_a_directory_names_the_key() {
    let p = TempProject::new("");
    let out = p.cmd().args(["backup", "--database-url", "sqlite::memory:"]).output().unwrap();
    let (_, stderr) = output_text(&out);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("no backup directory") && stderr.contains("[backup]"), "{stderr}");
    let p = TempProject::new("[package.metadata.dbcheck.backup]\ndir = \"b\"\nkeep = 0\n");
    let out = p.cmd().args(["backup", "list"]).output().unwrap();
    let (_, stderr) = output_text(&out);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("backup.keep"), "{stderr}");
}

/// The whole cycle on MariaDB/MySQL through the binary: the sqlx history read from the dump's
/// snapshot (`meta/history.csv`), `meta/schema.sql`, verify, and a restore whose post-checks
/// (`status`, `drift`, `files`) find nothing wrong.
#[tokio::test]
async fn mysql_backup_verify_restore_through_the_binary() {
    let db = require_db!(TestDb::mysql().await);
    let p = project(&db, 4, 64).await;
    let url = db.url().to_owned();
    let out = p.cmd().args(["backup", "--message-format", "json", "--database-url", &url]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", output_text(&out).1);
    let id = json(&out)["results"][0]["backup"]["created"]["id"].as_str().unwrap().to_owned();
    let g = p.path().join("backups").join(&id);
    let history = std::fs::read_to_string(g.join("meta/history.csv")).unwrap();
    let versions: Vec<&str> = history.lines().skip(1).map(|l| l.split(',').next().unwrap()).collect();
    assert_eq!(versions, ["1", "2"], "{history}");
    let manifest: Value = serde_json::from_slice(&std::fs::read(g.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["dialect"], "mysql");
    assert_eq!(manifest["dump_path"], "db/dump.sql");
    assert_eq!(manifest["migration_version"], "2");
    assert!(manifest["tools"]["mysqldump"].as_str().is_some_and(|v| !v.is_empty()), "{manifest}");
    assert!(std::fs::read_to_string(g.join("meta/schema.sql")).unwrap().contains("CREATE TABLE `ad_images`"));
    let out = p.cmd().args(["backup", "verify", "latest"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", output_text(&out).1);

    db.execute("DELETE FROM ad_images WHERE id < 2").await;
    std::fs::remove_file(p.path().join("uploads/ads/0/0.jpg")).unwrap();
    let out = p.cmd().args(["restore", &id, "--database-url", &url]).output().unwrap();
    let (stdout, stderr) = output_text(&out);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(stdout.contains("RENAME TABLE") && stdout.contains("safety backup"), "{stdout}");
    assert!(p.path().join("uploads/ads/0/0.jpg").is_file());
    use sqlx::Connection as _;
    let mut c = sqlx::MySqlConnection::connect(&url).await.unwrap();
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM ad_images").fetch_one(&mut c).await.unwrap();
    assert_eq!(n, 4);
}
