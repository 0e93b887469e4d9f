//! `manifest.json`: what a generation holds, every file's size and SHA-256, and the manifest's own
//! checksum (SHA-256 of the manifest serialized with an empty `checksum`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use crate::db::Snapshot;

/// The manifest's file name inside a generation.
pub const MANIFEST: &str = "manifest.json";
/// Version of the manifest format.
pub const FORMAT: u32 = 1;

/// One file of a generation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileEntry {
    /// Path inside the generation, `/`-separated.
    pub path: String,
    /// Size in bytes.
    pub size: u64,
    /// SHA-256, lowercase hex.
    pub sha256: String,
    /// The source file's modification time (ns since the epoch) when copied, for uploads; lets
    /// the next generation hard-link unchanged files.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_mtime_ns: Option<i128>,
}

/// One files root of the generation: `files/<index>/…` holds its files.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RootInfo {
    /// Position (the folder name under `files/`).
    pub index: usize,
    /// The root folder as configured when the backup was taken.
    pub root: PathBuf,
    /// The `[[files]]` entries (`table.column`) pointing into it.
    pub entries: Vec<String>,
}

/// Counts of the references read in the snapshot.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReferenceSummary {
    /// Non-NULL references read.
    pub references: u64,
    /// Distinct files they name.
    pub files: u64,
    /// Values that are not safe relative paths or lack `strip_prefix` (not files; never opened).
    pub not_paths: u64,
}

/// What a generation holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// Manifest format version.
    pub format: u32,
    /// The generation id (its folder name).
    pub id: String,
    /// `backup`, or `safety` for the one `restore` takes first.
    pub kind: String,
    /// When the generation was completed (UTC, RFC 3339); generations are ordered by it.
    pub created_at: String,
    /// `postgres`, `sqlite` or `mysql`.
    pub dialect: String,
    /// The database, redacted.
    pub database: String,
    /// The snapshot everything in the database part comes from.
    pub snapshot: Snapshot,
    /// The dump: `custom` (`pg_dump -Fc`), `directory` (`-Fd`), `sqlite` (a database file) or
    /// `mysql` (`mysqldump` SQL text).
    pub dump_format: String,
    /// Path of the dump inside the generation (a folder for `directory`).
    pub dump_path: String,
    /// The history table read, and the newest version applied in it.
    pub history_table: Option<String>,
    /// The newest applied migration version.
    pub migration_version: Option<String>,
    /// Rows of every `[[files]]` table (and parent table), in the snapshot.
    pub row_counts: BTreeMap<String, u64>,
    /// The references read in the snapshot.
    pub references: ReferenceSummary,
    /// `referenced` or `all`.
    pub include_uploads: super::IncludeUploads,
    /// The files roots.
    pub roots: Vec<RootInfo>,
    /// Tool versions (dbcheck, pg_dump, …).
    pub tools: BTreeMap<String, String>,
    /// Every file except the manifest, sorted by path.
    pub files: Vec<FileEntry>,
    /// Referenced files that did not exist when a safety backup was taken (`files/<root>/<path>`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub missing_at_source: Vec<String>,
    /// MySQL: the backed-up database's default character set and collation (a single-database
    /// dump does not carry them); a database the restore creates gets them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub database_charset: Option<(String, String)>,
    /// SHA-256 of this manifest serialized with `checksum` empty.
    pub checksum: String,
}

impl Manifest {
    /// The checksum this manifest should carry.
    pub fn compute_checksum(&self) -> String {
        let mut copy = self.clone();
        copy.checksum = String::new();
        let bytes = serde_json::to_vec(&copy).unwrap_or_default();
        hex::encode(Sha256::digest(&bytes))
    }

    /// Total bytes of the generation's files.
    pub fn total_bytes(&self) -> u64 {
        self.files.iter().map(|f| f.size).sum()
    }

    /// The manifest as written to disk (pretty JSON with a trailing newline).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut v = serde_json::to_vec_pretty(self).unwrap_or_default();
        v.push(b'\n');
        v
    }

    /// Read `<gen>/manifest.json`: `Ok(None)` when it is missing, `Err(reason)` when it is not a
    /// manifest.
    pub fn read(generation: &Path) -> Result<Option<Manifest>, String> {
        match std::fs::read(generation.join(MANIFEST)) {
            Ok(bytes) => serde_json::from_slice(&bytes).map(Some).map_err(|e| e.to_string()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Manifest {
        Manifest {
            format: FORMAT,
            id: "g".into(),
            kind: "backup".into(),
            created_at: "2026-01-01T00:00:00Z".into(),
            dialect: "sqlite".into(),
            database: "sqlite://x".into(),
            snapshot: Snapshot {
                id: None,
                lsn: None,
                time: String::new(),
                server_version: String::new(),
                server_major: None,
                reuse_key: None,
            },
            dump_format: "sqlite".into(),
            dump_path: "db/database.sqlite".into(),
            history_table: None,
            migration_version: Some("2".into()),
            row_counts: BTreeMap::new(),
            references: ReferenceSummary::default(),
            include_uploads: super::super::IncludeUploads::Referenced,
            roots: Vec::new(),
            tools: BTreeMap::new(),
            files: vec![FileEntry { path: "a".into(), size: 1, sha256: "00".into(), source_mtime_ns: None }],
            missing_at_source: Vec::new(),
            database_charset: None,
            checksum: String::new(),
        }
    }

    #[test]
    fn checksum_covers_every_field_but_itself() {
        let mut m = sample();
        m.checksum = m.compute_checksum();
        let parsed: Manifest = serde_json::from_slice(&m.to_bytes()).unwrap();
        assert_eq!(parsed.compute_checksum(), m.checksum);
        let mut edited = parsed.clone();
        edited.files[0].size = 2;
        assert_ne!(edited.compute_checksum(), m.checksum);
        let mut edited = parsed;
        edited.migration_version = Some("3".into());
        assert_ne!(edited.compute_checksum(), m.checksum);
    }
}
