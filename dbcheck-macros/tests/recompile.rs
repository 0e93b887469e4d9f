//! Editing a migration recompiles the guarded code: a temp crate with a path dependency on the
//! workspace's `dbcheck` crate and one `#[dbcheck::schema_guard]` struct goes from a green
//! `cargo build` to a red one with the expected message when a migration makes a column
//! nullable, and back to green when the edit is undone. The temp crate shares the workspace's
//! target directory (and copies its `Cargo.lock` and dev profile), so dependencies are not
//! rebuilt once warm.
#![expect(clippy::unwrap_used, reason = "test code")]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

const CREATE: &str =
    "CREATE TABLE ads (\n    id INTEGER PRIMARY KEY,\n    title TEXT NOT NULL,\n    slug TEXT NOT NULL\n);\n";

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

/// `cargo build` in `dir`: success, and stderr.
fn build(dir: &Path) -> (bool, String) {
    let target = std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| workspace_root().join("target"), PathBuf::from);
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let start = Instant::now();
    let out = Command::new(cargo)
        .args(["build", "--offline", "--message-format", "short"])
        .current_dir(dir)
        .env("CARGO_TARGET_DIR", target)
        .env_remove("DBCHECK_MANIFEST_DIR")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let compiled: Vec<&str> = stderr.lines().filter(|l| l.contains("Compiling")).map(str::trim).collect();
    eprintln!("cargo build: {:?} in {:.1} s ({compiled:?})", out.status, start.elapsed().as_secs_f64());
    (out.status.success(), stderr)
}

#[test]
fn editing_a_migration_turns_the_build_red_and_back() {
    let ws = workspace_root();
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let dbcheck = ws.join("dbcheck");
    let profile = "[profile.dev.package.\"*\"]\ndebug = false\n\n[profile.dev]\ndebug = \"line-tables-only\"\n";
    std::fs::write(
        root.join("Cargo.toml"),
        format!(
            "[package]\nname = \"guard-recompile\"\nversion = \"0.1.0\"\nedition = \"2024\"\npublish = false\n\n\
             [dependencies]\ndbcheck = {{ path = {:?} }}\n\n[package.metadata.dbcheck]\ndialect = \"sqlite\"\n\n\
             [workspace]\n\n{profile}",
            dbcheck.to_str().unwrap()
        ),
    )
    .unwrap();
    std::fs::copy(ws.join("Cargo.lock"), root.join("Cargo.lock")).unwrap();
    std::fs::create_dir_all(root.join("migrations")).unwrap();
    std::fs::create_dir_all(root.join("src")).unwrap();
    let migration = root.join("migrations/0001_create_ads.sql");
    std::fs::write(&migration, CREATE).unwrap();
    std::fs::write(
        root.join("src/lib.rs"),
        "#[dbcheck::schema_guard(table = \"ads\")]\npub struct Ad {\n    pub id: i64,\n    pub title: String,\n    pub slug: String,\n}\n",
    )
    .unwrap();

    let (ok, stderr) = build(root);
    assert!(ok, "the guarded crate should build:\n{stderr}");

    // The migration now lets slug be NULL: the struct's `slug: String` is the crash in waiting.
    let start = Instant::now();
    std::fs::write(&migration, CREATE.replace("slug TEXT NOT NULL", "slug TEXT")).unwrap();
    let (ok, stderr) = build(root);
    assert!(!ok, "the build should fail after the migration changed:\n{stderr}");
    let expected = "`ads.slug` is nullable since migrations/0001_create_ads.sql:4; make the field `Option<String>` \
                    or add a migration that sets NOT NULL";
    assert!(stderr.contains(expected), "{stderr}");
    assert!(stderr.contains("src/lib.rs:5:15"), "the error is on the field's type:\n{stderr}");

    std::fs::write(&migration, CREATE).unwrap();
    let (ok, stderr) = build(root);
    assert!(ok, "the build should be green again:\n{stderr}");
    // Not asserted: on a shared machine the time includes waits for cargo's target-dir lock.
    eprintln!("red and back to green in {:.1} s", start.elapsed().as_secs_f64());
}
