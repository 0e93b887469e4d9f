//! The `[[files]]` configuration: which column references which files under which root.

use std::path::PathBuf;

use serde::Deserialize;

use super::path::{PathProblem, check_relative};

/// Default grace period, in seconds, during which an unreferenced file counts as in flight.
pub const DEFAULT_GRACE_SECS: u64 = 3600;

/// One `[[files]]` table: a column whose values name files under a root folder.
///
/// ```toml
/// [[package.metadata.dbcheck.files]]
/// table = "ad_images"
/// column = "file_path"
/// root = "apps/web/public/uploads"
/// strip_prefix = "/uploads/"
/// ignore = ["**/.gitkeep", "thumbs/**"]
/// parent = { table = "ads", column = "ad_id" }
/// ```
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct FilesConfig {
    /// Table holding the references; `schema.table` is accepted.
    pub table: String,
    /// Column holding one file reference per row.
    pub column: String,
    /// Folder the references point into, relative to the file that sets it.
    pub root: PathBuf,
    /// Column that identifies a row in reports and fix SQL (default: the single-column primary key).
    pub key: Option<String>,
    /// Text removed from the start of every stored value (`/uploads/`, `https://cdn.example.com/u/`).
    pub strip_prefix: Option<String>,
    /// Folder under `root` that the (stripped) values are relative to.
    pub prefix: Option<String>,
    /// SQL condition selecting the rows that reference files (`deleted_at IS NULL`).
    #[serde(rename = "where")]
    pub filter: Option<String>,
    /// Globs (relative to `root`) of files that are not uploads and never orphans.
    #[serde(default)]
    pub ignore: Vec<String>,
    /// Seconds during which an unreferenced file counts as in flight, not orphaned (default 3600).
    pub grace_secs: Option<u64>,
    /// What `--fix` writes for rows that reference missing files (default `report`).
    pub on_dangling: Option<OnDangling>,
    /// Column holding each file's size in bytes, when the database stores it.
    pub size_column: Option<String>,
    /// Column holding each file's SHA-256 (hex text, or 32 raw bytes), when the database stores it.
    pub sha256_column: Option<String>,
    /// The table that owns these rows, for finding rows whose parent is gone.
    pub parent: Option<ParentConfig>,
    /// What `--fix` writes for rows whose parent is gone (default `report`).
    pub on_parent_missing: Option<OnParentMissing>,
}

/// `parent = { table = "ads", key = "id", column = "ad_id" }`.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ParentConfig {
    /// The parent table.
    pub table: String,
    /// The parent's key column (default: its single-column primary key).
    pub key: Option<String>,
    /// The column of this table that holds the parent's key.
    pub column: String,
}

/// `on_dangling`: what the fix script does with rows that reference missing files.
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum OnDangling {
    /// Statements are written commented out, for a human to pick.
    #[default]
    Report,
    /// `DELETE` the rows.
    Delete,
    /// `UPDATE … SET column = NULL`.
    Null,
}

/// `on_parent_missing`: what the fix script does with rows whose parent row is gone.
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum OnParentMissing {
    /// Statements are written commented out.
    #[default]
    Report,
    /// `DELETE` the rows.
    Delete,
}

/// A `[[files]]` entry with its root made absolute.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FilesEntry {
    /// Position in the configuration, from 0.
    pub index: usize,
    /// The entry as written.
    pub config: FilesConfig,
    /// `root`, resolved against the folder of the file that set it.
    pub root: PathBuf,
    /// The configuration file that set it.
    pub file: PathBuf,
}

impl FilesEntry {
    /// `table.column`, how reports name the entry.
    pub fn label(&self) -> String {
        format!("{}.{}", self.config.table, self.config.column)
    }

    /// The grace period.
    pub fn grace_secs(&self) -> u64 {
        self.config.grace_secs.unwrap_or(DEFAULT_GRACE_SECS)
    }
}

/// Check one entry's values; `Err((key, reason))` names the offending key.
pub fn validate(config: &FilesConfig) -> Result<(), (&'static str, String)> {
    let ident = |key: &'static str, v: &str| {
        if v.trim().is_empty() { Err((key, "must not be empty".to_owned())) } else { Ok(()) }
    };
    ident("files.table", &config.table)?;
    ident("files.column", &config.column)?;
    if config.root.as_os_str().is_empty() {
        return Err(("files.root", "must not be empty".to_owned()));
    }
    for (key, v) in [("files.key", &config.key), ("files.size_column", &config.size_column)] {
        if let Some(v) = v {
            ident(key, v)?;
        }
    }
    if let Some(v) = &config.sha256_column {
        ident("files.sha256_column", v)?;
    }
    if let Some(p) = &config.parent {
        ident("files.parent.table", &p.table)?;
        ident("files.parent.column", &p.column)?;
        if let Some(k) = &p.key {
            ident("files.parent.key", k)?;
        }
    }
    if config.strip_prefix.as_deref() == Some("") {
        return Err(("files.strip_prefix", "must not be empty (leave it out instead)".to_owned()));
    }
    if let Some(f) = &config.filter {
        ident("files.where", f)?;
    }
    if let Some(prefix) = &config.prefix {
        let trimmed = prefix.trim_end_matches('/');
        match check_relative(trimmed.as_bytes()) {
            Ok(()) => {}
            Err(p) => {
                let why = match p {
                    PathProblem::Invalid => "must be a relative folder such as `ads` (no empty, `.` components)",
                    _ => "must be a relative folder inside `root` (no `..`, absolute paths, backslashes or escapes)",
                };
                return Err(("files.prefix", why.to_owned()));
            }
        }
    }
    for glob in &config.ignore {
        super::ignore::compile_one(glob).map_err(|e| ("files.ignore", format!("has an invalid glob `{glob}`: {e}")))?;
    }
    Ok(())
}
