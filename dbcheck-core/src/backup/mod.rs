//! `backup`, `backup verify`, `restore`: the database and its files from the same instant, as
//! generations that are complete or absent.
//!
//! A generation is written into `<dir>/.tmp-<id>`, fsynced and renamed to `<dir>/<id>` only when
//! complete ([`create`]); its `manifest.json` lists every file with size and SHA-256 and carries
//! its own checksum ([`manifest`]). Files unchanged since the previous generation are hard links
//! to it. [`verify`] turns every kind of corruption into its own finding; [`restore`] refuses
//! anything that does not verify. Stored file references are resolved with
//! [`crate::files::path`], so a stored value is never trusted as a path.

pub mod config;
mod copy;
pub mod create;
pub mod manifest;
pub mod restore;
pub mod store;
pub mod tools;
pub mod verify;

use std::path::PathBuf;
use std::sync::atomic::AtomicU64;

pub use config::{BackupConfig, BackupSettings, IncludeUploads};
pub use create::{BackupOptions, BackupOutcome, create_backup};
pub use manifest::{FileEntry, Manifest};
pub use restore::{RestoreOptions, RestoreOutcome, restore_generation};
pub use store::{GenerationInfo, Listing, list_generations};
pub use verify::{VerifyReport, verify_generation};

use crate::db::DbError;

/// Counters a progress display may read while a backup or restore runs (relaxed atomics).
#[derive(Debug, Default)]
pub struct Progress {
    /// Bytes of files to copy (known once the references are read).
    pub bytes_total: AtomicU64,
    /// Bytes copied or linked so far.
    pub bytes_done: AtomicU64,
    /// Files copied or linked so far.
    pub files_done: AtomicU64,
}

/// Failures that stop a backup, verify or restore (corruption found by verify is a finding).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BackupError {
    /// The database failed.
    #[error(transparent)]
    Db(#[from] DbError),
    /// No backup directory is configured.
    #[error("no backup directory is configured")]
    NoDir,
    /// A file or folder could not be read or written.
    #[error("{action} {}", path.display())]
    Io {
        /// What was being done (`cannot write`, `cannot read`, …).
        action: &'static str,
        /// The file or folder.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// An external tool (`pg_dump`, `pg_restore`) is missing, the wrong version, or failed.
    #[error("{tool}: {message}")]
    Tool {
        /// The tool.
        tool: String,
        /// What went wrong, including the tool's own message (scrubbed of secrets).
        message: String,
    },
    /// A referenced file does not exist (or is not a regular file inside its root).
    #[error("the database references {count} file(s) that cannot be backed up, e.g. {example}")]
    MissingFiles {
        /// How many.
        count: usize,
        /// The first one, with the reason.
        example: String,
    },
    /// A file kept changing while it was copied.
    #[error("{} changed while it was copied ({attempts} attempts)", path.display())]
    FileChanged {
        /// The source file.
        path: PathBuf,
        /// How many times it was read.
        attempts: u32,
    },
    /// Another backup holds the lock of the backup directory.
    #[error("another backup (process {pid}) is writing into {}", dir.display())]
    Locked {
        /// The backup directory.
        dir: PathBuf,
        /// The process holding the lock.
        pid: u32,
    },
    /// No generation has that id.
    #[error("no backup generation `{id}` in {}", dir.display())]
    UnknownGeneration {
        /// The id asked for.
        id: String,
        /// The backup directory.
        dir: PathBuf,
    },
    /// The generation did not verify; restore refuses it.
    #[error("generation `{id}` does not verify ({problems} problem(s)); nothing was restored")]
    NotVerified {
        /// The generation.
        id: String,
        /// How many findings.
        problems: usize,
    },
    /// The backup holds migrations the code does not have.
    #[error(
        "generation `{id}` was taken at migration {backup_version}, newer than the code's migrations ({code_version})"
    )]
    NewerThanCode {
        /// The generation.
        id: String,
        /// The newest applied migration in the backup.
        backup_version: String,
        /// The newest migration on disk.
        code_version: String,
    },
    /// The database has other connections.
    #[error("the database {database} has {count} other connection(s)")]
    InUse {
        /// The database, redacted.
        database: String,
        /// How many.
        count: u64,
    },
    /// The configuration does not fit the generation or the request.
    #[error("{0}")]
    Invalid(String),
}

impl BackupError {
    pub(crate) fn io(action: &'static str, path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> BackupError {
        let path = path.into();
        move |source| BackupError::Io { action, path, source }
    }
}
