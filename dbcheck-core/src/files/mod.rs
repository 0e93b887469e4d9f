//! `files`: database file references against the uploads folder, in both directions, at any
//! scale.
//!
//! For every root folder, the references of all `[[files]]` entries pointing into it are streamed
//! from the database in byte order and merged with a byte-ordered walk of the folder
//! ([`walk`]); one pass finds missing files, orphans, size and hash mismatches, shared files and
//! unsafe values. Memory is bounded by the largest single directory. Findings are one per class
//! with counts and samples ([`report`]); full lists go to files (`--fix`), never to memory.
//!
//! **Boundary:** `files` reads the database (read-only session) and the folder; the only writes
//! are the fix files it is asked for and quarantine moves. It never deletes a file and never runs
//! the SQL it writes.

mod check;
pub mod config;
pub mod fix;
pub mod ignore;
pub mod path;
pub mod quarantine;
pub mod report;
pub mod restore_from;
pub mod walk;

use std::path::PathBuf;
use std::sync::atomic::AtomicU64;

pub use check::{CheckOptions, check_files};
pub use config::{FilesConfig, FilesEntry, OnDangling, OnParentMissing, ParentConfig};
pub use fix::FixTarget;
pub use quarantine::restore_quarantine;
pub use report::{Class, ClassReport, EntryReport, FilesReport, RootReport, Sample};
pub use restore_from::{RestoreFromReport, restore_from};

use crate::db::DbError;

/// Counters a progress display may read while a check runs (updated with relaxed atomics).
#[derive(Debug, Default)]
pub struct Progress {
    /// Database rows read so far.
    pub rows: AtomicU64,
    /// Filesystem entries walked so far.
    pub files: AtomicU64,
}

/// Failures that stop a `files` run (mismatches are findings, not errors).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FilesError {
    /// The database failed (or returned rows out of byte order).
    #[error(transparent)]
    Db(#[from] DbError),
    /// A configured root folder does not exist or cannot be read.
    #[error("cannot read the files root {} (configured for {entry})", root.display())]
    Root {
        /// The root as configured (absolute).
        root: PathBuf,
        /// The `table.column` that configured it.
        entry: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// No key column was configured and none could be found.
    #[error("`{table}` has no single-column primary key to name rows by")]
    NoKey {
        /// The table.
        table: String,
    },
    /// A fix or quarantine file could not be written.
    #[error("cannot write {}", path.display())]
    Write {
        /// The file or folder.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A file could not be read.
    #[error("cannot read {}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The quarantine folder is inside a root (or contains one).
    #[error("the quarantine folder {} overlaps the files root {}", dir.display(), root.display())]
    QuarantineOverlaps {
        /// The quarantine folder.
        dir: PathBuf,
        /// The root.
        root: PathBuf,
    },
    /// A quarantine manifest line cannot be read.
    #[error("invalid quarantine manifest {} line {line}: {reason}", path.display())]
    Manifest {
        /// The manifest.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// What is wrong.
        reason: String,
    },
}
