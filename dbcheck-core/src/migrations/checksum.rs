//! Checksums exactly as each migration tool computes them, and line-ending/BOM-only edit detection.

use std::hash::{Hash, Hasher};

use sha2::{Digest, Sha256, Sha384};
use siphasher::sip::SipHasher13;

use super::history::HistoryTool;
use super::model::{Migration, MigrationKind, Version};

const BOM: &[u8] = b"\xEF\xBB\xBF";

/// The checksum `tool` would record for `migration`, in the text form dbcheck reads back from
/// that tool's history table; `None` for tools that record none (diesel).
///
/// - sqlx: SHA-384 of the raw bytes, lowercase hex (the table stores the bytes);
/// - Prisma: SHA-256 of the raw bytes, lowercase hex;
/// - refinery: SipHash-1-3 over name, version (`i32`) and SQL as Rust's `Hash` feeds them, decimal;
/// - Flyway: CRC-32 over the UTF-8 bytes of each line without its terminator (BOM dropped), as a
///   signed 32-bit decimal;
/// - dbcheck: SHA-256 of the raw bytes, lowercase hex.
pub fn checksum(tool: HistoryTool, migration: &Migration) -> Option<String> {
    checksum_of(tool, migration, &migration.bytes)
}

fn checksum_of(tool: HistoryTool, migration: &Migration, bytes: &[u8]) -> Option<String> {
    match tool {
        HistoryTool::Sqlx => Some(hex::encode(Sha384::digest(bytes))),
        HistoryTool::Prisma | HistoryTool::Dbcheck => Some(hex::encode(Sha256::digest(bytes))),
        HistoryTool::Diesel => None,
        HistoryTool::Refinery => {
            let version = refinery_version(&migration.version)?;
            Some(refinery_checksum(&migration.name, version, &String::from_utf8_lossy(bytes)).to_string())
        }
        HistoryTool::Flyway => Some(flyway_checksum(bytes).to_string()),
    }
}

/// The `i32` refinery records for `version`. Discovery reads `V<n>__` files as dotted versions (the
/// layout is shared with Flyway), so a single-part dotted version is refinery's integer too.
fn refinery_version(version: &Version) -> Option<i32> {
    match version {
        Version::Int(v) => i32::try_from(*v).ok(),
        Version::Dotted(parts) => match parts.as_slice() {
            [v] => i32::try_from(*v).ok(),
            _ => None,
        },
        Version::Text(_) => None,
    }
}

/// refinery's checksum: `SipHasher13::new()` fed with `name`, `version` and `sql` through `Hash`.
pub fn refinery_checksum(name: &str, version: i32, sql: &str) -> u64 {
    let mut hasher = SipHasher13::new();
    name.hash(&mut hasher);
    version.hash(&mut hasher);
    sql.hash(&mut hasher);
    hasher.finish()
}

/// Flyway's checksum: CRC-32 over every line's bytes without line terminators (`\n`, `\r\n` or
/// `\r`), with a leading BOM removed, returned as Java's signed `int`.
pub fn flyway_checksum(bytes: &[u8]) -> i32 {
    let bytes = bytes.strip_prefix(BOM).unwrap_or(bytes);
    let mut crc = crc32fast::Hasher::new();
    let mut start = 0;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\n' => {
                crc.update(&bytes[start..i]);
                start = i + 1;
            }
            b'\r' => {
                crc.update(&bytes[start..i]);
                if bytes.get(i + 1) == Some(&b'\n') {
                    i += 1;
                }
                start = i + 1;
            }
            _ => {}
        }
        i += 1;
    }
    crc.update(&bytes[start..]);
    // Java stores the unsigned CRC in an `int`: reinterpret the bits.
    crc.finalize() as i32
}

/// How a migration file relates to the checksum its tool recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChecksumMatch {
    /// Same checksum.
    Same,
    /// Differs only in line endings (CRLF vs LF) and/or a byte-order mark.
    LineEndingsOnly,
    /// The content changed.
    Different,
    /// The tool records no checksum, or none was recorded.
    Unknown,
}

/// Compare `migration` with the checksum `recorded` by `tool`.
pub fn compare_checksum(tool: HistoryTool, migration: &Migration, recorded: Option<&str>) -> ChecksumMatch {
    let Some(recorded) = recorded else { return ChecksumMatch::Unknown };
    let Some(current) = checksum(tool, migration) else { return ChecksumMatch::Unknown };
    if current.eq_ignore_ascii_case(recorded) {
        return ChecksumMatch::Same;
    }
    if migration.kind != MigrationKind::Repeatable
        && line_ending_variants(&migration.bytes)
            .into_iter()
            .filter_map(|v| checksum_of(tool, migration, &v))
            .any(|c| c.eq_ignore_ascii_case(recorded))
    {
        return ChecksumMatch::LineEndingsOnly;
    }
    ChecksumMatch::Different
}

/// The same text with LF and CRLF line endings, each with and without a BOM.
fn line_ending_variants(bytes: &[u8]) -> Vec<Vec<u8>> {
    let body = bytes.strip_prefix(BOM).unwrap_or(bytes);
    let mut lf = Vec::with_capacity(body.len());
    let mut i = 0;
    while i < body.len() {
        if body[i] == b'\r' && body.get(i + 1) == Some(&b'\n') {
            i += 1;
            continue;
        }
        lf.push(body[i]);
        i += 1;
    }
    let mut crlf = Vec::with_capacity(lf.len() + lf.len() / 16);
    for &b in &lf {
        if b == b'\n' {
            crlf.push(b'\r');
        }
        crlf.push(b);
    }
    let with_bom = |v: &[u8]| [BOM, v].concat();
    vec![with_bom(&lf), with_bom(&crlf), lf, crlf]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::migrations::model::TransactionMode;

    fn migration(name: &str, version: Version, bytes: &[u8]) -> Migration {
        Migration {
            history_key: version.to_string(),
            version,
            name: name.into(),
            path: "m.sql".into(),
            bytes: bytes.to_vec(),
            down_path: None,
            transaction: TransactionMode::Transaction,
            kind: MigrationKind::Versioned,
        }
    }

    // Expected values below were computed outside Rust: `sha384sum`, `sha256sum` and Python's
    // `zlib.crc32` fed line by line.
    #[test]
    fn sqlx_checksum_is_sha384_of_raw_bytes() {
        let m = migration("a", Version::Int(1), b"SELECT 1;\n");
        assert_eq!(
            checksum(HistoryTool::Sqlx, &m).unwrap(),
            "24454095d8d7876ca8e842f34296ca645c83e0f7b50f048c99db4b2ff4da659267afc4ef3e994f3d74e18c741165d931"
        );
    }

    #[test]
    fn prisma_and_dbcheck_checksums_are_sha256_hex() {
        let m = migration("a", Version::Text("1_a".into()), b"SELECT 1;\n");
        let expected = "b4e0497804e46e0a0b0b8c31975b062152d551bac49c3c2e80932567b4085dcd";
        assert_eq!(checksum(HistoryTool::Prisma, &m).unwrap(), expected);
        assert_eq!(checksum(HistoryTool::Dbcheck, &m).unwrap(), expected);
        assert_eq!(checksum(HistoryTool::Diesel, &m), None);
    }

    #[test]
    fn flyway_checksum_ignores_line_endings_and_bom() {
        assert_eq!(flyway_checksum(b"CREATE TABLE t (id int);\r\nINSERT INTO t VALUES (1);\n"), 169406234);
        assert_eq!(flyway_checksum(b"\xEF\xBB\xBFCREATE TABLE t (id int);\nINSERT INTO t VALUES (1);"), 169406234);
        assert_eq!(flyway_checksum(b"select 1"), 245801405);
    }

    // Expected refinery values come from an independent SipHash-1-3 in Python fed what Rust's
    // `Hash` writes: the name's bytes + 0xff, the version as 4 little-endian bytes, the SQL + 0xff.
    #[test]
    fn refinery_checksum_is_siphash13_of_name_version_and_sql() {
        assert_eq!(refinery_checksum("create_users", 1, "CREATE TABLE users (id int);\n"), 12099350966378232070);
        assert_eq!(refinery_checksum("add_slug", 2, "ALTER TABLE users ADD slug text;\n"), 14930192459317343668);
    }

    #[test]
    fn refinery_checksum_works_for_versions_as_discovery_produces_them() {
        let sql = b"CREATE TABLE users (id int);\n";
        let expected = "12099350966378232070";
        // `V1__create_users.sql` is discovered with a dotted version.
        let dotted = migration("create_users", Version::dotted("1").unwrap(), sql);
        assert_eq!(checksum(HistoryTool::Refinery, &dotted).as_deref(), Some(expected));
        let int = migration("create_users", Version::Int(1), sql);
        assert_eq!(checksum(HistoryTool::Refinery, &int).as_deref(), Some(expected));
        // The name is part of the hash.
        let renamed = migration("create_people", Version::Int(1), sql);
        assert_ne!(checksum(HistoryTool::Refinery, &renamed).as_deref(), Some(expected));
        // refinery has no dotted or out-of-range versions: no checksum rather than a wrong one.
        assert_eq!(checksum(HistoryTool::Refinery, &migration("x", Version::dotted("1.2").unwrap(), sql)), None);
        assert_eq!(checksum(HistoryTool::Refinery, &migration("x", Version::Int(20240101000000), sql)), None);
        assert_eq!(checksum(HistoryTool::Refinery, &migration("x", Version::Text("1".into()), sql)), None);
    }

    #[test]
    fn refinery_edits_are_detected() {
        let original = migration("create_users", Version::dotted("1").unwrap(), b"CREATE TABLE users (id int);\n");
        let recorded = checksum(HistoryTool::Refinery, &original).unwrap();
        let edited = migration("create_users", Version::dotted("1").unwrap(), b"CREATE TABLE users (id bigint);\n");
        let crlf = migration("create_users", Version::dotted("1").unwrap(), b"CREATE TABLE users (id int);\r\n");
        assert_eq!(compare_checksum(HistoryTool::Refinery, &original, Some(&recorded)), ChecksumMatch::Same);
        assert_eq!(compare_checksum(HistoryTool::Refinery, &edited, Some(&recorded)), ChecksumMatch::Different);
        assert_eq!(compare_checksum(HistoryTool::Refinery, &crlf, Some(&recorded)), ChecksumMatch::LineEndingsOnly);
    }

    #[test]
    fn flyway_checksum_splits_lines_like_java_readline() {
        // Lone CR, CRLF and LF all end a line; the terminators are not hashed.
        assert_eq!(flyway_checksum(b"a\rb\r\nc\n"), 891568578);
        assert_eq!(flyway_checksum(b"a\nb\nc"), 891568578);
        assert_eq!(flyway_checksum(b"SELECT 2;\n"), 798974111);
        assert_eq!(flyway_checksum(b""), 0);
        assert_eq!(flyway_checksum(b"\xEF\xBB\xBF"), 0);
    }

    #[test]
    fn flyway_checksum_is_signed_like_a_java_int() {
        assert_eq!(flyway_checksum(b"SELECT 8;\n"), -714045419);
        let m = migration("x", Version::Int(1), b"SELECT 8;\n");
        assert_eq!(checksum(HistoryTool::Flyway, &m).as_deref(), Some("-714045419"));
    }

    #[test]
    fn flyway_sees_line_ending_changes_as_no_change() {
        let lf = migration("a", Version::dotted("1").unwrap(), b"SELECT 1;\nSELECT 2;\n");
        let crlf_bom = migration("a", Version::dotted("1").unwrap(), b"\xEF\xBB\xBFSELECT 1;\r\nSELECT 2;\r\n");
        let recorded = checksum(HistoryTool::Flyway, &lf).unwrap();
        assert_eq!(compare_checksum(HistoryTool::Flyway, &crlf_bom, Some(&recorded)), ChecksumMatch::Same);
        let edited = migration("a", Version::dotted("1").unwrap(), b"SELECT 1;\nSELECT 3;\n");
        assert_eq!(compare_checksum(HistoryTool::Flyway, &edited, Some(&recorded)), ChecksumMatch::Different);
    }

    #[test]
    fn recorded_checksums_compare_case_insensitively() {
        let m = migration("a", Version::Int(1), b"SELECT 1;\n");
        let upper = checksum(HistoryTool::Sqlx, &m).unwrap().to_ascii_uppercase();
        assert_eq!(compare_checksum(HistoryTool::Sqlx, &m, Some(&upper)), ChecksumMatch::Same);
    }

    #[test]
    fn no_recorded_checksum_or_no_tool_checksum_is_unknown() {
        let m = migration("a", Version::Int(1), b"SELECT 1;\n");
        assert_eq!(compare_checksum(HistoryTool::Sqlx, &m, None), ChecksumMatch::Unknown);
        assert_eq!(compare_checksum(HistoryTool::Diesel, &m, Some("abc")), ChecksumMatch::Unknown);
        assert!(!HistoryTool::Diesel.records_checksum());
    }

    #[test]
    fn prisma_line_ending_variants_are_recognised() {
        let lf = migration("a", Version::Text("20240101_a".into()), b"CREATE TABLE a (id int);\n");
        let recorded = checksum(HistoryTool::Prisma, &lf).unwrap();
        let crlf = migration("a", Version::Text("20240101_a".into()), b"CREATE TABLE a (id int);\r\n");
        let bom_crlf = migration("a", Version::Text("20240101_a".into()), b"\xEF\xBB\xBFCREATE TABLE a (id int);\r\n");
        assert_eq!(compare_checksum(HistoryTool::Prisma, &crlf, Some(&recorded)), ChecksumMatch::LineEndingsOnly);
        assert_eq!(compare_checksum(HistoryTool::Prisma, &bom_crlf, Some(&recorded)), ChecksumMatch::LineEndingsOnly);
        // Recorded with BOM + CRLF, file now plain LF.
        let recorded_bom = checksum(HistoryTool::Prisma, &bom_crlf).unwrap();
        assert_eq!(compare_checksum(HistoryTool::Prisma, &lf, Some(&recorded_bom)), ChecksumMatch::LineEndingsOnly);
    }

    #[test]
    fn repeatables_never_report_line_endings_only() {
        let mut original = migration("v", Version::Dotted(Vec::new()), b"CREATE VIEW v AS SELECT 1;\n");
        original.kind = MigrationKind::Repeatable;
        let recorded = checksum(HistoryTool::Dbcheck, &original).unwrap();
        let mut crlf = original.clone();
        crlf.bytes = b"CREATE VIEW v AS SELECT 1;\r\n".to_vec();
        assert_eq!(compare_checksum(HistoryTool::Dbcheck, &crlf, Some(&recorded)), ChecksumMatch::Different);
    }

    #[test]
    fn line_ending_only_edits_are_told_apart_from_real_edits() {
        let original = migration("a", Version::Int(1), b"CREATE TABLE a (id int);\nSELECT 1;\n");
        let recorded = checksum(HistoryTool::Sqlx, &original).unwrap();
        let crlf = migration("a", Version::Int(1), b"CREATE TABLE a (id int);\r\nSELECT 1;\r\n");
        let bom = migration("a", Version::Int(1), b"\xEF\xBB\xBFCREATE TABLE a (id int);\nSELECT 1;\n");
        let edited = migration("a", Version::Int(1), b"CREATE TABLE a (id bigint);\nSELECT 1;\n");
        assert_eq!(compare_checksum(HistoryTool::Sqlx, &original, Some(&recorded)), ChecksumMatch::Same);
        assert_eq!(compare_checksum(HistoryTool::Sqlx, &crlf, Some(&recorded)), ChecksumMatch::LineEndingsOnly);
        assert_eq!(compare_checksum(HistoryTool::Sqlx, &bom, Some(&recorded)), ChecksumMatch::LineEndingsOnly);
        assert_eq!(compare_checksum(HistoryTool::Sqlx, &edited, Some(&recorded)), ChecksumMatch::Different);
        assert_eq!(compare_checksum(HistoryTool::Diesel, &edited, None), ChecksumMatch::Unknown);
        // Recorded from CRLF, now LF: also line endings only.
        let recorded_crlf = checksum(HistoryTool::Sqlx, &crlf).unwrap();
        assert_eq!(
            compare_checksum(HistoryTool::Sqlx, &original, Some(&recorded_crlf)),
            ChecksumMatch::LineEndingsOnly
        );
    }
}
