//! The database boundary: connections per dialect, and every SQL statement dbcheck issues.

mod backup;
mod connection;
mod files;
mod fix;
mod history;
mod integrity;
mod introspect;
mod lint;
mod migrate;
mod shadow;
mod url;

pub use backup::{MysqlObject, MysqlObjectKind, Snapshot};
pub use connection::{ConnectOptions, Db, connect};
pub use files::{
    ParentQuery, RefQuery, RefRow, RowFix, file_refs_sql, fix_rows_sql, parent_missing_sql, parent_still_missing_sql,
    quote_table,
};
pub use history::{accept_checksum_sql, dbcheck_history_ddl};
pub use integrity::{
    CountCheck, CountRule, FixInput, SampleRow, TableCounts, TableSql, backfill_sql, constraint_name, constraint_sql,
    drop_constraint_sql,
};
pub use introspect::{FIX_LOG_TABLE, IntrospectOptions};
pub use migrate::{
    AUDIT_TABLE, ApplyOutcome, LockHolder, PreflightCount, ResolveSql, history_table_ddl, is_atomic, mysql_lock_name,
    postgres_lock_key,
};
pub use shadow::{SHADOW_PREFIX, ShadowDb, ShadowServer};
pub use url::{DatabaseUrl, Dialect, redact_url};

/// Failures talking to a database. Messages never contain a password.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DbError {
    /// The URL is malformed or names an unsupported database.
    #[error("invalid database URL {url}: {reason}")]
    InvalidUrl {
        /// The URL, redacted.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The server could not be reached (refused, DNS, timeout, TLS).
    #[error("cannot reach database at {url}: {reason}")]
    Unreachable {
        /// The URL, redacted.
        url: String,
        /// The driver's explanation, scrubbed of secrets.
        reason: String,
    },
    /// The server refused the credentials.
    #[error("authentication failed for {url}: {reason}")]
    AuthFailed {
        /// The URL, redacted.
        url: String,
        /// The server's explanation, scrubbed of secrets.
        reason: String,
    },
    /// The server is up but the database does not exist (or the SQLite file is missing).
    #[error("database does not exist: {url}")]
    DatabaseMissing {
        /// The URL, redacted.
        url: String,
    },
    /// A query failed.
    #[error("query failed on {url} ({context}): {reason}")]
    Query {
        /// The URL, redacted.
        url: String,
        /// What dbcheck was doing.
        context: String,
        /// The server's explanation, scrubbed of secrets.
        reason: String,
    },
}
