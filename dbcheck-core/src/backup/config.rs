//! The `[backup]` configuration: where generations go, how many to keep, what to copy.

use std::path::PathBuf;

use serde::Deserialize;

/// Generations kept by default.
pub const DEFAULT_KEEP: usize = 7;

/// The `[backup]` table.
///
/// ```toml
/// [package.metadata.dbcheck.backup]
/// dir = "../backups"
/// keep = 7
/// include_uploads = "referenced"
/// jobs = 4
/// ```
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct BackupConfig {
    /// Folder holding the generations, relative to the file that sets it.
    pub dir: Option<PathBuf>,
    /// Generations to keep (default 7, at least 1).
    pub keep: Option<usize>,
    /// `referenced` (default): the files the database references; `all`: every file under each root.
    pub include_uploads: Option<IncludeUploads>,
    /// PostgreSQL: dump with `pg_dump -Fd -j N` when greater than 1 (default 1: `-Fc`).
    pub jobs: Option<u32>,
    /// Folder with `pg_dump`/`pg_restore`, relative to the file that sets it (default:
    /// `/usr/lib/postgresql/<major>/bin`, then `PATH`).
    pub pg_bin_dir: Option<PathBuf>,
    /// Folder with `mysqldump`/`mysql` (or `mariadb-dump`/`mariadb`), relative to the file that
    /// sets it (default: `PATH`).
    pub mysql_bin_dir: Option<PathBuf>,
}

/// `include_uploads`.
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum IncludeUploads {
    /// The files the database references.
    #[default]
    Referenced,
    /// Every file under each root.
    All,
}

/// `[backup]` with defaults applied and paths made absolute.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupSettings {
    /// The backup directory, when configured.
    pub dir: Option<PathBuf>,
    /// Generations to keep.
    pub keep: usize,
    /// What to copy.
    pub include_uploads: IncludeUploads,
    /// `pg_dump -j` (1: custom format).
    pub jobs: u32,
    /// Where `pg_dump` lives, when configured.
    pub pg_bin_dir: Option<PathBuf>,
    /// Where `mysqldump`/`mysql` live, when configured.
    pub mysql_bin_dir: Option<PathBuf>,
}

impl Default for BackupSettings {
    fn default() -> Self {
        BackupSettings {
            dir: None,
            keep: DEFAULT_KEEP,
            include_uploads: IncludeUploads::Referenced,
            jobs: 1,
            pg_bin_dir: None,
            mysql_bin_dir: None,
        }
    }
}

impl BackupSettings {
    /// Apply one configuration layer on top, paths resolved against `base`;
    /// `Err((key, reason))` names a bad value.
    pub fn apply(&mut self, c: &BackupConfig, base: &std::path::Path) -> Result<(), (&'static str, String)> {
        if let Some(d) = &c.dir {
            if d.as_os_str().is_empty() {
                return Err(("backup.dir", "must not be empty".into()));
            }
            self.dir = Some(base.join(d));
        }
        if let Some(k) = c.keep {
            if k == 0 {
                return Err(("backup.keep", "must be at least 1".into()));
            }
            self.keep = k;
        }
        if let Some(i) = c.include_uploads {
            self.include_uploads = i;
        }
        if let Some(j) = c.jobs {
            if j == 0 {
                return Err(("backup.jobs", "must be at least 1".into()));
            }
            self.jobs = j;
        }
        if let Some(p) = &c.pg_bin_dir {
            self.pg_bin_dir = Some(base.join(p));
        }
        if let Some(p) = &c.mysql_bin_dir {
            self.mysql_bin_dir = Some(base.join(p));
        }
        Ok(())
    }
}
