//! `backup`, `backup verify` and `restore` against real PostgreSQL, MariaDB/MySQL and SQLite
//! databases and real folders: round trips into fresh databases and folders, a continuous writer
//! during backups, every kind of corruption with its own finding code, retention with hard links,
//! and MySQL's password handling, table swap and refusals.
#![expect(clippy::unwrap_used, reason = "scenario helpers fail the test loudly on setup errors")]

mod corruption;
mod mysql;
mod roundtrip;
mod writer;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use dbcheck_core::backup::{
    BackupOptions, BackupSettings, RestoreOptions, VerifyReport, create_backup, restore_generation, verify_generation,
};
use dbcheck_core::db::{ConnectOptions, DatabaseUrl};
use dbcheck_core::files::{FilesConfig, FilesEntry};
use dbcheck_tests::TestDb;
use sha2::{Digest as _, Sha256};

/// The schema of the scenarios: ads with image rows that reference files.
pub(crate) const SCHEMA: &str = "CREATE TABLE ads (id INTEGER PRIMARY KEY, title TEXT NOT NULL); \
     CREATE TABLE ad_images (id INTEGER PRIMARY KEY, ad_id INTEGER NOT NULL, file_path TEXT NOT NULL)";

/// `ad_images.file_path` under `root`.
pub(crate) fn entry(root: &Path) -> FilesEntry {
    FilesEntry {
        index: 0,
        config: FilesConfig {
            table: "ad_images".into(),
            column: "file_path".into(),
            root: root.to_path_buf(),
            ..FilesConfig::default()
        },
        root: root.to_path_buf(),
        file: root.join("dbcheck.toml"),
    }
}

/// Backup options writing into `dir`, with the files of `uploads`.
pub(crate) fn options(dir: &Path, uploads: &Path, keep: usize) -> BackupOptions {
    BackupOptions {
        settings: BackupSettings { dir: Some(dir.to_path_buf()), keep, ..BackupSettings::default() },
        files: vec![entry(uploads)],
        connect: ConnectOptions { read_only: true, timeout: std::time::Duration::from_secs(10) },
        schemas: Vec::new(),
        history: None,
        kind: "backup".into(),
        config_files: Vec::new(),
        env_files: Vec::new(),
        progress: None,
        prune: true,
        threads: 2,
        allow_missing: false,
    }
}

/// Insert ad `i` with one image whose file is written first.
pub(crate) async fn add_ad(db: &TestDb, uploads: &Path, i: usize) {
    let rel = format!("ads/{}/{i}.jpg", i % 7);
    let path = uploads.join(&rel);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, format!("image {i} {}", "x".repeat(i % 50))).unwrap();
    db.execute(&format!(
        "INSERT INTO ads (id, title) VALUES ({i}, 'ad {i}'); INSERT INTO ad_images (id, ad_id, file_path) VALUES ({i}, {i}, '{rel}')"
    ))
    .await;
}

/// SHA-256 of every file under `root`, by relative path.
pub(crate) fn tree(root: &Path) -> BTreeMap<String, String> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, String>) {
        let Ok(read) = std::fs::read_dir(dir) else { return };
        for e in read.flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(root, &p, out);
            } else {
                let rel = p.strip_prefix(root).unwrap().to_string_lossy().into_owned();
                out.insert(rel, hex::encode(Sha256::digest(std::fs::read(&p).unwrap())));
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(root, root, &mut out);
    out
}

/// The generation folder of `id`.
pub(crate) fn gen_dir(dir: &Path, id: &str) -> PathBuf {
    dir.join(id)
}

/// Verify a generation.
pub(crate) async fn verify(dir: &Path, id: &str) -> VerifyReport {
    verify_generation(&gen_dir(dir, id), None, 2).await
}

/// Restore `id` into `target` (a database URL) and the files root `uploads`.
pub(crate) async fn restore(dir: &Path, id: &str, target: &str, uploads: &Path, force: bool) -> Result<(), String> {
    restore_with(dir, id, target, uploads, force, options(dir, uploads, 7)).await
}

/// Restore `id` with the given backup options (jobs, tool folders, …).
pub(crate) async fn restore_with(
    dir: &Path,
    id: &str,
    target: &str,
    uploads: &Path,
    force: bool,
    backup: BackupOptions,
) -> Result<(), String> {
    let report = verify(dir, id).await;
    let mut backup = backup;
    backup.files = vec![entry(uploads)];
    let opts = RestoreOptions { backup, force, code_versions: None };
    let url = DatabaseUrl::parse(target).unwrap();
    restore_generation(&url, &report, &opts).await.map(drop).map_err(|e| e.to_string())
}

/// Take a backup, panicking with the error.
pub(crate) async fn backup(url: &str, opts: &BackupOptions) -> String {
    let url = DatabaseUrl::parse(url).unwrap();
    create_backup(&url, opts).await.unwrap().id
}

/// File references of `ad_images` (via sqlx, independent of dbcheck).
pub(crate) async fn references(url: &str) -> Vec<String> {
    use sqlx::Connection as _;
    if url.starts_with("sqlite") {
        let mut c = sqlx::SqliteConnection::connect(url).await.unwrap();
        sqlx::query_scalar("SELECT file_path FROM ad_images ORDER BY id").fetch_all(&mut c).await.unwrap()
    } else if url.starts_with("mysql") {
        let mut c = sqlx::MySqlConnection::connect(url).await.unwrap();
        sqlx::query_scalar("SELECT file_path FROM ad_images ORDER BY id").fetch_all(&mut c).await.unwrap()
    } else {
        let mut c = sqlx::PgConnection::connect(url).await.unwrap();
        sqlx::query_scalar("SELECT file_path FROM ad_images ORDER BY id").fetch_all(&mut c).await.unwrap()
    }
}
