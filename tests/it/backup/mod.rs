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
use sqlx::Connection as _;

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

/// A scenario's temporary work folder with `uploads/` (the files root, created) and `backups/`
/// (the backup folder, left for the first backup to create).
pub(crate) struct Scenario {
    pub(crate) work: tempfile::TempDir,
    pub(crate) uploads: PathBuf,
    pub(crate) dir: PathBuf,
}

impl Scenario {
    /// The folders, and on `db` the schema with ads `1..=ads`, each with its file.
    pub(crate) async fn new(db: &TestDb, ads: usize) -> Scenario {
        let work = tempfile::tempdir().unwrap();
        let uploads = work.path().join("uploads");
        let dir = work.path().join("backups");
        std::fs::create_dir_all(&uploads).unwrap();
        db.execute(SCHEMA).await;
        for i in 1..=ads {
            add_ad(db, &uploads, i).await;
        }
        Scenario { work, uploads, dir }
    }

    /// Backup options for these folders, keeping 7 generations.
    pub(crate) fn options(&self) -> BackupOptions {
        options(&self.dir, &self.uploads, 7)
    }

    /// A new empty folder `name` in the work folder, e.g. the files root of a restore.
    pub(crate) fn folder(&self, name: &str) -> PathBuf {
        let folder = self.work.path().join(name);
        std::fs::create_dir_all(&folder).unwrap();
        folder
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
pub(crate) async fn restore(dir: &Path, id: &str, target: &str, uploads: &Path, force: bool) -> Result<String, String> {
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
) -> Result<String, String> {
    let report = verify(dir, id).await;
    let mut backup = backup;
    backup.files = vec![entry(uploads)];
    let opts = RestoreOptions { backup, force, code_versions: None };
    let url = DatabaseUrl::parse(target).unwrap();
    restore_generation(&url, &report, &opts).await.map(|o| o.database_mode).map_err(|e| e.to_string())
}

/// Take a backup, panicking with the error.
pub(crate) async fn backup(url: &str, opts: &BackupOptions) -> String {
    let url = DatabaseUrl::parse(url).unwrap();
    create_backup(&url, opts).await.unwrap().id
}

/// File references of `ad_images` (via sqlx, independent of dbcheck).
pub(crate) async fn references(url: &str) -> Vec<String> {
    Client::connect(url).await.strings("SELECT file_path FROM ad_images ORDER BY id").await
}

/// With the application connected, `restore` refuses and leaves the database as it is; forced, it
/// restores.
pub(crate) async fn restore_waits_for_the_application(db: &TestDb) {
    let s = Scenario::new(db, 1).await;
    let id = backup(db.url(), &s.options()).await;
    db.execute("DELETE FROM ad_images").await;
    let app = Client::connect(db.url()).await;
    let err = restore(&s.dir, &id, db.url(), &s.uploads, false).await.unwrap_err();
    assert!(err.contains("1 other connection"), "{err}");
    assert!(references(db.url()).await.is_empty(), "nothing restored");
    restore(&s.dir, &id, db.url(), &s.uploads, true).await.unwrap();
    assert_eq!(references(db.url()).await, ["ads/1/1.jpg"]);
    drop(app);
}

/// A plain sqlx connection to a scenario database, as an application holds one; it sends SQL text
/// only (no parameters), so one statement serves every backend.
pub(crate) enum Client {
    Sqlite(sqlx::SqliteConnection),
    Mysql(sqlx::MySqlConnection),
    Postgres(sqlx::PgConnection),
}

impl Client {
    /// Connects to `url`, choosing the driver by its scheme.
    pub(crate) async fn connect(url: &str) -> Client {
        if url.starts_with("sqlite") {
            Client::Sqlite(sqlx::SqliteConnection::connect(url).await.unwrap())
        } else if url.starts_with("mysql") {
            Client::Mysql(sqlx::MySqlConnection::connect(url).await.unwrap())
        } else {
            Client::Postgres(sqlx::PgConnection::connect(url).await.unwrap())
        }
    }

    /// Runs a script of one or more statements.
    pub(crate) async fn execute(&mut self, sql: &str) {
        let sql = sqlx::AssertSqlSafe(sql.to_owned());
        match self {
            Client::Sqlite(c) => sqlx::raw_sql(sql).execute(c).await.map(drop),
            Client::Mysql(c) => sqlx::raw_sql(sql).execute(c).await.map(drop),
            Client::Postgres(c) => sqlx::raw_sql(sql).execute(c).await.map(drop),
        }
        .unwrap();
    }

    /// The first column, as text, of every row `sql` returns.
    pub(crate) async fn strings(&mut self, sql: &str) -> Vec<String> {
        let sql = sqlx::AssertSqlSafe(sql.to_owned());
        match self {
            Client::Sqlite(c) => sqlx::query_scalar(sql).fetch_all(c).await,
            Client::Mysql(c) => sqlx::query_scalar(sql).fetch_all(c).await,
            Client::Postgres(c) => sqlx::query_scalar(sql).fetch_all(c).await,
        }
        .unwrap()
    }
}
