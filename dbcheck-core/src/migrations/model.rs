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

impl Version {
    /// A stable rank per variant, to break ties between different kinds that print alike.
    fn kind_rank(&self) -> u8 {
        match self {
            Version::Int(_) => 0,
            Version::Text(_) => 1,
            Version::Dotted(_) => 2,
        }
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
            // Mixed kinds never occur within one layout; order them by their text for determinism,
            // then by kind, so that `Ord` agrees with `Eq` (`Int(1)` and `Dotted([1])` print alike).
            _ => self.to_string().cmp(&other.to_string()).then_with(|| self.kind_rank().cmp(&other.kind_rank())),
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
    /// `U<n>__`: refinery runs it as a forward migration whatever its order ("unversioned");
    /// Flyway treats it as an undo script outside the forward history. `status` decides per tool.
    Unversioned,
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

    fn migration(bytes: &[u8]) -> Migration {
        Migration {
            version: Version::Int(1),
            history_key: "1".into(),
            name: "a".into(),
            path: "1_a.sql".into(),
            bytes: bytes.to_vec(),
            down_path: None,
            transaction: TransactionMode::Transaction,
            kind: MigrationKind::Versioned,
        }
    }

    #[test]
    fn dotted_versions_compare_numerically() {
        let v = |s| Version::dotted(s).unwrap();
        assert!(v("1.2") < v("1.10"));
        assert!(v("2") > v("1.9.9"));
        assert!(v("1.2.9") < v("1.2.10"));
        assert!(v("1") < v("1.1"));
        assert_eq!(v("1.0"), v("1"));
        assert_eq!(v("1.0.0"), v("1"));
        assert_eq!(v("0"), v("0.0"));
        assert_eq!(v("2_1"), v("2.1"));
        assert_eq!(v("001.02"), v("1.2"));
        assert!(Version::dotted("1..2").is_none());
        assert!(Version::dotted("1.a").is_none());
        assert!(Version::dotted("").is_none());
        assert!(Version::dotted("1.").is_none());
        assert!(Version::dotted(".1").is_none());
        assert!(Version::dotted("-1").is_none());
        assert!(Version::dotted("99999999999999999999999").is_none(), "overflow is not a version");
    }

    #[test]
    fn dotted_versions_display_without_trailing_zeros() {
        let v = |s| Version::dotted(s).unwrap().to_string();
        assert_eq!(v("1.2.10"), "1.2.10");
        assert_eq!(v("1_2"), "1.2");
        assert_eq!(v("1.0"), "1");
        assert_eq!(v("0"), "0");
        assert_eq!(v("007"), "7");
        assert_eq!(Version::Dotted(Vec::new()).to_string(), "");
    }

    #[test]
    fn text_versions_compare_bytewise_like_diesel() {
        let a = Version::Text("20170923182408".into());
        let b = Version::Text("20140924113530".into());
        assert!(b < a);
        assert!(Version::Text("10".into()) < Version::Text("9".into()));
        assert!(Version::Text("2020_a".into()) < Version::Text("2020_b".into()));
        assert_eq!(Version::Text("x".into()).to_string(), "x");
    }

    #[test]
    fn int_versions_compare_as_integers() {
        assert!(Version::Int(2) < Version::Int(10));
        assert!(Version::Int(-1) < Version::Int(0));
        assert_eq!(Version::Int(20240101000000).to_string(), "20240101000000");
        let mut vs = vec![Version::Int(10), Version::Int(2), Version::Int(1)];
        vs.sort();
        assert_eq!(vs, [Version::Int(1), Version::Int(2), Version::Int(10)]);
    }

    #[test]
    fn mixed_kinds_order_consistently_with_equality() {
        let int = Version::Int(1);
        let dotted = Version::Dotted(vec![1]);
        let text = Version::Text("1".into());
        assert_ne!(int, dotted);
        assert_ne!(int.cmp(&dotted), Ordering::Equal, "Ord must agree with Eq");
        assert_ne!(text.cmp(&int), Ordering::Equal);
        assert_eq!(int.cmp(&dotted), dotted.cmp(&int).reverse(), "antisymmetric");
        assert!(Version::Int(1) < Version::Text("2".into()));
    }

    #[test]
    fn layouts_have_lowercase_names_in_display_and_serde() {
        for (layout, name) in [
            (Layout::Sqlx, "sqlx"),
            (Layout::Diesel, "diesel"),
            (Layout::Prisma, "prisma"),
            (Layout::Versioned, "versioned"),
        ] {
            assert_eq!(layout.as_str(), name);
            assert_eq!(layout.to_string(), name);
            assert_eq!(serde_json::to_value(layout).unwrap(), name);
            assert_eq!(serde_json::from_value::<Layout>(name.into()).unwrap(), layout);
        }
        assert!(serde_json::from_value::<Layout>("Sqlx".into()).is_err());
    }

    #[test]
    fn versions_serialize_untagged() {
        assert_eq!(serde_json::to_value(Version::Int(3)).unwrap(), 3);
        assert_eq!(serde_json::to_value(Version::Text("2020".into())).unwrap(), "2020");
        assert_eq!(serde_json::to_value(Version::Dotted(vec![1, 2])).unwrap(), serde_json::json!([1, 2]));
    }

    #[test]
    fn migration_serializes_without_bytes_or_missing_down_path() {
        let json = serde_json::to_value(migration(b"SELECT 1;")).unwrap();
        assert!(json.get("bytes").is_none());
        assert!(json.get("down_path").is_none());
        assert_eq!(json["transaction"], "transaction");
        assert_eq!(json["kind"], "versioned");
        assert_eq!(serde_json::to_value(TransactionMode::NoTransaction).unwrap(), "no_transaction");
        assert_eq!(serde_json::to_value(MigrationKind::Repeatable).unwrap(), "repeatable");
    }

    #[test]
    fn sql_is_the_text_and_never_panics_on_bad_bytes() {
        assert_eq!(migration(b"SELECT 1;").sql(), "SELECT 1;");
        assert_eq!(migration(b"\xff\xfeA").sql(), "\u{FFFD}\u{FFFD}A");
    }
}
