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
            let version = match &migration.version {
                Version::Int(v) => i32::try_from(*v).ok()?,
                _ => return None,
            };
            Some(refinery_checksum(&migration.name, version, &String::from_utf8_lossy(bytes)).to_string())
        }
        HistoryTool::Flyway => Some(flyway_checksum(bytes).to_string()),
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
    if migration.kind == MigrationKind::Versioned
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
