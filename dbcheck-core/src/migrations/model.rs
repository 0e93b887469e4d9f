//! The migration model shared by every layout: versions, transaction modes and discovered files.

use std::cmp::Ordering;
use std::fmt;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// The on-disk layout of a migrations folder, named after the tool that defines it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Layout {
    /// `<version>_<description>.sql`, or reversible `.up.sql` / `.down.sql` pairs.
    Sqlx,
    /// `<version>_<name>/up.sql` + `down.sql` (+ optional `metadata.toml`).
    Diesel,
    /// `<timestamp>_<name>/migration.sql` + `migration_lock.toml`.
    Prisma,
    /// `V<n>__<name>.sql` (refinery and Flyway; Flyway's `R__` repeatables too).
    Versioned,
}

impl Layout {
    /// Lowercase name, as used in configuration.
    pub fn as_str(self) -> &'static str {
        match self {
            Layout::Sqlx => "sqlx",
            Layout::Diesel => "diesel",
            Layout::Prisma => "prisma",
            Layout::Versioned => "versioned",
        }
    }
}

impl fmt::Display for Layout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A migration version, ordered the way its tool orders it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(untagged)]
pub enum Version {
    /// An integer version (sqlx, refinery).
    Int(i64),
    /// A string compared byte-wise (diesel, with dashes removed; Prisma folder names).
    Text(String),
    /// A dotted version compared part by part as numbers (Flyway `1.2.10`).
    Dotted(Vec<u64>),
}

impl Version {
    /// Parse a Flyway-style dotted version (`1`, `1.2`, `2_1` — underscores count as dots).
    pub fn dotted(text: &str) -> Option<Version> {
        text.split(['.', '_'])
            .map(|p| if p.is_empty() { None } else { p.parse::<u64>().ok() })
            .collect::<Option<Vec<_>>>()
            .map(|mut parts| {
                // Flyway treats `1.0` and `1` as the same version.
                while parts.len() > 1 && parts.last() == Some(&0) {
                    parts.pop();
                }
                Version::Dotted(parts)
            })
    }
}

impl PartialOrd for Version {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Version {
    fn cmp(&self, other: &Self) -> Ordering {
        match (self, other) {
            (Version::Int(a), Version::Int(b)) => a.cmp(b),
            (Version::Text(a), Version::Text(b)) => a.as_bytes().cmp(b.as_bytes()),
            (Version::Dotted(a), Version::Dotted(b)) => a.cmp(b),
            // Mixed kinds never occur within one layout; order them by their text for determinism.
            _ => self.to_string().cmp(&other.to_string()),
        }
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Version::Int(v) => write!(f, "{v}"),
            Version::Text(v) => f.write_str(v),
            Version::Dotted(parts) => {
                for (i, p) in parts.iter().enumerate() {
                    if i > 0 {
                        f.write_str(".")?;
                    }
                    write!(f, "{p}")?;
                }
                Ok(())
            }
        }
    }
}

/// Whether a migration runs inside a transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TransactionMode {
    /// In one transaction (every tool's default).
    Transaction,
    /// Outside any transaction (sqlx `-- no-transaction`, diesel `run_in_transaction = false`).
    NoTransaction,
}

/// What kind of migration a file is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MigrationKind {
    /// Applied once, in version order.
    Versioned,
    /// Flyway `R__` repeatable: re-applied whenever its checksum changes; has no version.
    Repeatable,
}

/// One migration found on disk.
#[derive(Debug, Clone, Serialize)]
pub struct Migration {
    /// The version its tool orders and records it by.
    pub version: Version,
    /// The identifier its tool writes into its history table (sqlx: the integer; diesel: the
    /// version without dashes; Prisma: the folder name; refinery/Flyway: the version text).
    pub history_key: String,
    /// Human name (sqlx description, diesel/Prisma folder name after the version, Flyway description).
    pub name: String,
    /// The SQL file that holds the forward migration.
    pub path: PathBuf,
    /// The file's raw bytes, exactly as on disk (checksums are computed over these).
    #[serde(skip)]
    pub bytes: Vec<u8>,
    /// The reverse migration, when the layout has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub down_path: Option<PathBuf>,
    /// Transaction mode.
    pub transaction: TransactionMode,
    /// Versioned or repeatable.
    pub kind: MigrationKind,
}

impl Migration {
    /// The SQL text. Discovery guarantees the bytes are UTF-8; invalid bytes show as U+FFFD.
    pub fn sql(&self) -> std::borrow::Cow<'_, str> {
        String::from_utf8_lossy(&self.bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dotted_versions_compare_numerically() {
        let v = |s| Version::dotted(s).unwrap();
        assert!(v("1.2") < v("1.10"));
        assert!(v("2") > v("1.9.9"));
        assert_eq!(v("1.0"), v("1"));
        assert_eq!(v("2_1"), v("2.1"));
        assert!(Version::dotted("1..2").is_none());
        assert!(Version::dotted("1.a").is_none());
    }

    #[test]
    fn text_versions_compare_bytewise_like_diesel() {
        let a = Version::Text("20170923182408".into());
        let b = Version::Text("20140924113530".into());
        assert!(b < a);
        assert!(Version::Text("10".into()) < Version::Text("9".into()));
    }
}
