//! `files` against real PostgreSQL, SQLite and MariaDB databases and real temporary folders.
//!
//! `classes` builds one uploads folder with every class of mismatch and hostile value next to a
//! sentinel folder outside the root, and asserts each class separately; it then writes and runs
//! the fix script, and quarantines and restores orphans. `scale` plants a few hundred mismatches
//! among 200,000 rows and files and wants exact counts.
#![expect(clippy::unwrap_used, reason = "scenario helpers fail the test loudly on setup errors")]

mod classes;
mod scale;

use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use dbcheck_core::db::{ConnectOptions, DatabaseUrl};
use dbcheck_core::files::{CheckOptions, Class, ClassReport, FilesConfig, FilesEntry, FilesReport, check_files};
use dbcheck_tests::{Backend, TestDb};

pub(crate) use dbcheck_tests::per_backend;

/// A `[[files]]` entry with everything optional left out.
pub(crate) fn entry(index: usize, table: &str, column: &str, root: &Path) -> FilesEntry {
    FilesEntry {
        index,
        config: FilesConfig {
            table: table.into(),
            column: column.into(),
            root: root.to_path_buf(),
            ..FilesConfig::default()
        },
        root: root.to_path_buf(),
        file: root.join("dbcheck.toml"),
    }
}

/// Run the check with `opts` tweaked by `tweak`, failing the test after 60 s (a hang would mean
/// something opened a FIFO).
pub(crate) async fn check(db: &TestDb, entries: &[FilesEntry], tweak: impl FnOnce(&mut CheckOptions)) -> FilesReport {
    let url = DatabaseUrl::parse(db.url()).unwrap();
    let mut opts = CheckOptions::new(ConnectOptions::default());
    tweak(&mut opts);
    tokio::time::timeout(Duration::from_secs(60), check_files(&url, entries, &opts))
        .await
        .expect("the check hung (did something open a FIFO?)")
        .unwrap_or_else(|e| panic!("check failed: {e}"))
}

/// The count of `class` in `classes` and its samples (row keys, or paths for files), sorted.
pub(crate) fn class(classes: &[ClassReport], class: Class) -> (u64, Vec<String>) {
    classes.iter().find(|c| c.class == class).map_or((0, Vec::new()), |c| {
        let mut samples: Vec<String> =
            c.samples.iter().map(|s| s.key.clone().unwrap_or_else(|| s.value.clone())).collect();
        samples.sort();
        (c.count, samples)
    })
}

/// A string literal for `backend`.
pub(crate) fn lit(backend: Backend, s: &str) -> String {
    match backend {
        Backend::Mysql => format!("'{}'", s.replace('\\', "\\\\").replace('\'', "''")),
        _ => format!("'{}'", s.replace('\'', "''")),
    }
}

/// Set a file's access and modification times.
pub(crate) fn set_times(path: &Path, accessed: SystemTime, modified: SystemTime) {
    let f = fs::File::options().write(true).open(path).unwrap();
    f.set_times(fs::FileTimes::new().set_accessed(accessed).set_modified(modified)).unwrap();
}

/// Write `contents` to `root/rel`, creating folders.
pub(crate) fn write(root: &Path, rel: &str, contents: &[u8]) -> PathBuf {
    let p = root.join(rel);
    fs::create_dir_all(p.parent().unwrap()).unwrap();
    fs::write(&p, contents).unwrap();
    p
}

pub(crate) fn mkfifo(path: &Path) {
    let status = std::process::Command::new("mkfifo").arg(path).status().unwrap();
    assert!(status.success(), "mkfifo {}", path.display());
}
