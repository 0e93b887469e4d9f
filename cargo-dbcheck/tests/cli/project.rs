//! A temporary Cargo project with a migrations folder, and a handle to run the CLI in it.

use std::path::{Path, PathBuf};

use assert_cmd::Command;

/// A throwaway package: `Cargo.toml`, `src/lib.rs` and whatever the test writes.
pub struct TempProject {
    dir: tempfile::TempDir,
}

impl TempProject {
    /// A package named `app` with `metadata` appended to its manifest (e.g. a
    /// `[package.metadata.dbcheck]` table).
    pub fn new(metadata: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("Cargo.toml"),
            format!("[package]\nname = \"app\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n{metadata}\n"),
        )
        .unwrap();
        std::fs::create_dir_all(dir.path().join("src")).unwrap();
        std::fs::write(dir.path().join("src/lib.rs"), "").unwrap();
        std::fs::create_dir_all(dir.path().join("migrations")).unwrap();
        TempProject { dir }
    }

    /// The project root.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Write `contents` to `rel` (creating folders).
    pub fn write(&self, rel: &str, contents: impl AsRef<[u8]>) -> PathBuf {
        let path = self.dir.path().join(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).unwrap();
        }
        std::fs::write(&path, contents).unwrap();
        path
    }

    /// `cargo-dbcheck` run in the project, with a clean environment for the knobs it reads.
    pub fn cmd(&self) -> Command {
        let mut cmd = Command::cargo_bin("cargo-dbcheck").unwrap();
        cmd.current_dir(self.dir.path())
            .env_remove("DATABASE_URL")
            .env_remove("NO_COLOR")
            .env_remove("CARGO_TERM_COLOR");
        cmd
    }

    /// Two sqlx migrations creating and altering `ads`.
    pub fn with_sqlx_migrations(self) -> Self {
        self.write("migrations/1_create_ads.sql", "CREATE TABLE ads (id INTEGER PRIMARY KEY, title TEXT);\n");
        self.write("migrations/2_add_slug.sql", "ALTER TABLE ads ADD COLUMN slug TEXT;\n");
        self
    }
}

/// Apply the project's migrations to `url` with sqlx's own migrator.
pub async fn sqlx_migrate(dir: &Path, url: &str) {
    use sqlx::Connection as _;
    let migrator = sqlx::migrate::Migrator::new(dir.join("migrations")).await.unwrap();
    if url.starts_with("postgres") {
        let mut c = sqlx::PgConnection::connect(url).await.unwrap();
        migrator.run(&mut c).await.unwrap();
    } else if url.starts_with("mysql") {
        let mut c = sqlx::MySqlConnection::connect(url).await.unwrap();
        migrator.run(&mut c).await.unwrap();
    } else {
        let mut c = sqlx::SqliteConnection::connect(url).await.unwrap();
        migrator.run(&mut c).await.unwrap();
    }
}

/// stdout and stderr of a finished command, as text.
pub fn output_text(out: &std::process::Output) -> (String, String) {
    (String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
}
