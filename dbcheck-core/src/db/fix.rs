//! Applying a reviewed fix script to a live database, in one transaction, and recording it.

use sha2::{Digest, Sha256};

use super::{Db, DbError, Dialect, FIX_LOG_TABLE};

/// DDL of the table that records every fix script dbcheck applied.
fn fix_log_ddl(dialect: Dialect) -> String {
    let t = dialect.quote_ident(FIX_LOG_TABLE);
    match dialect {
        Dialect::Postgres => format!(
            "CREATE TABLE IF NOT EXISTS {t} (applied_at TIMESTAMPTZ NOT NULL DEFAULT now(), checksum TEXT NOT NULL, \
             statements INTEGER NOT NULL, script TEXT NOT NULL, applied_by TEXT NOT NULL DEFAULT current_user)"
        ),
        Dialect::Sqlite => format!(
            "CREATE TABLE IF NOT EXISTS {t} (applied_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%d %H:%M:%f', 'now')), \
             checksum TEXT NOT NULL, statements INTEGER NOT NULL, script TEXT NOT NULL, applied_by TEXT NOT NULL DEFAULT '')"
        ),
        Dialect::Mysql => format!(
            "CREATE TABLE IF NOT EXISTS {t} (applied_at TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6), \
             checksum VARCHAR(64) NOT NULL, statements INTEGER NOT NULL, script LONGTEXT NOT NULL, \
             applied_by VARCHAR(255) NOT NULL DEFAULT '')"
        ),
    }
}

impl Db {
    /// Run `statements` in one transaction and record the script (`script`, its SHA-256 and the
    /// statement count) in `_dbcheck_drift_fixes`. On failure everything is rolled back (MySQL
    /// commits DDL implicitly, so there a failure can leave earlier statements applied).
    pub async fn apply_fix(&mut self, statements: &[String], script: &str) -> Result<(), DbError> {
        let d = self.dialect();
        let checksum = hex::encode(Sha256::digest(script.as_bytes()));
        self.execute(&fix_log_ddl(d), "creating the fix log table").await?;
        self.execute("BEGIN", "starting the fix transaction").await?;
        let run = async {
            for s in statements {
                self.execute(s, "applying the fix").await?;
            }
            let user = match d {
                Dialect::Postgres => "current_user",
                Dialect::Sqlite => "''",
                Dialect::Mysql => "CURRENT_USER()",
            };
            let record = format!(
                "INSERT INTO {} (checksum, statements, script, applied_by) VALUES ({}, {}, {}, {user})",
                d.quote_ident(FIX_LOG_TABLE),
                d.quote_literal(&checksum),
                statements.len(),
                d.quote_literal(script)
            );
            self.execute(&record, "recording the fix").await?;
            self.execute("COMMIT", "committing the fix").await
        }
        .await;
        if run.is_err() {
            let _ = self.execute("ROLLBACK", "rolling back the fix").await;
        }
        run
    }
}
