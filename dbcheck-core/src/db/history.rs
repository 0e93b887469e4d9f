//! Reading migration history tables, per tool and per dialect, with one catalog query to find them.

use super::{Db, DbError, Dialect};
use crate::migrations::{AppliedMigration, AppliedOutcome, HistoryTool, Migration, Version, checksum};

/// DDL of dbcheck's own history table (`_dbcheck_migrations`) for `dialect`.
///
/// Columns: `version` (primary key, the migration's history key), `name`, `checksum` (SHA-256 hex
/// of the file's bytes), `started_at`, `finished_at` (NULL while running or after a crash),
/// `execution_ms`, `success`, `logs` (the server's error for failures), `rolled_back_at` and
/// `applied_by` (database user and host that applied it).
pub fn dbcheck_history_ddl(dialect: Dialect) -> &'static str {
    match dialect {
        Dialect::Postgres => {
            "CREATE TABLE IF NOT EXISTS _dbcheck_migrations (
    version TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    checksum TEXT NOT NULL,
    started_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    finished_at TIMESTAMPTZ,
    execution_ms BIGINT,
    success BOOLEAN NOT NULL DEFAULT FALSE,
    logs TEXT,
    rolled_back_at TIMESTAMPTZ,
    applied_by TEXT NOT NULL DEFAULT current_user
)"
        }
        Dialect::Sqlite => {
            "CREATE TABLE IF NOT EXISTS _dbcheck_migrations (
    version TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    checksum TEXT NOT NULL,
    started_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%d %H:%M:%f', 'now')),
    finished_at TEXT,
    execution_ms INTEGER,
    success BOOLEAN NOT NULL DEFAULT FALSE,
    logs TEXT,
    rolled_back_at TEXT,
    applied_by TEXT NOT NULL DEFAULT ''
)"
        }
        Dialect::Mysql => {
            "CREATE TABLE IF NOT EXISTS _dbcheck_migrations (
    version VARCHAR(191) PRIMARY KEY,
    name VARCHAR(255) NOT NULL,
    checksum VARCHAR(128) NOT NULL,
    started_at TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
    finished_at TIMESTAMP(6) NULL,
    execution_ms BIGINT NULL,
    success BOOLEAN NOT NULL DEFAULT FALSE,
    logs TEXT NULL,
    rolled_back_at TIMESTAMP(6) NULL,
    applied_by VARCHAR(255) NOT NULL DEFAULT ''
)"
        }
    }
}

/// The `UPDATE` that records `migration`'s current checksum in `tool`'s history `table`, as the
/// tool itself would have written it; `None` for tools without checksums (diesel).
pub fn accept_checksum_sql(dialect: Dialect, tool: HistoryTool, table: &str, migration: &Migration) -> Option<String> {
    let sum = checksum(tool, migration)?;
    let t = dialect.quote_ident(table);
    let key = dialect.quote_literal(&migration.history_key);
    Some(match tool {
        HistoryTool::Sqlx => {
            let bytes = match dialect {
                Dialect::Postgres => format!("decode('{sum}', 'hex')"),
                Dialect::Sqlite => format!("X'{sum}'"),
                Dialect::Mysql => format!("UNHEX('{sum}')"),
            };
            format!("UPDATE {t} SET checksum = {bytes} WHERE version = {};", migration.history_key)
        }
        HistoryTool::Prisma => {
            format!("UPDATE {t} SET checksum = '{sum}' WHERE migration_name = {key} AND rolled_back_at IS NULL;")
        }
        HistoryTool::Refinery => {
            format!("UPDATE {t} SET checksum = '{sum}' WHERE version = {};", migration.history_key)
        }
        HistoryTool::Flyway => format!("UPDATE {t} SET checksum = {sum} WHERE version = {key};"),
        HistoryTool::Dbcheck => format!("UPDATE {t} SET checksum = '{sum}' WHERE version = {key};"),
        HistoryTool::Diesel => return None,
    })
}

/// `expr` as text in `dialect`.
fn text(dialect: Dialect, expr: &str) -> String {
    match dialect {
        Dialect::Postgres => format!("({expr})::text"),
        Dialect::Sqlite => format!("CAST({expr} AS TEXT)"),
        Dialect::Mysql => format!("CAST({expr} AS CHAR)"),
    }
}

/// A binary column as lowercase hex in `dialect`.
fn hex(dialect: Dialect, expr: &str) -> String {
    match dialect {
        Dialect::Postgres => format!("encode({expr}, 'hex')"),
        Dialect::Sqlite => format!("lower(hex({expr}))"),
        Dialect::Mysql => format!("LOWER(HEX({expr}))"),
    }
}

fn truthy(v: Option<&str>) -> bool {
    matches!(v.map(str::trim), Some("t" | "true" | "1" | "TRUE"))
}

impl Db {
    /// Which of `candidates` (tool, table name) exist as tables, in one catalog query.
    pub async fn existing_history_tables(
        &mut self,
        candidates: &[(HistoryTool, String)],
    ) -> Result<Vec<(HistoryTool, String)>, DbError> {
        if candidates.is_empty() {
            return Ok(Vec::new());
        }
        let d = self.dialect();
        let names = candidates.iter().map(|(_, t)| d.quote_literal(t)).collect::<Vec<_>>().join(", ");
        let sql = match d {
            Dialect::Postgres => format!(
                "SELECT c.relname::text FROM pg_catalog.pg_class c \
                 JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
                 WHERE c.relkind IN ('r', 'p') AND n.nspname = ANY (current_schemas(false)) \
                 AND c.relname IN ({names})"
            ),
            Dialect::Sqlite => format!("SELECT name FROM sqlite_master WHERE type = 'table' AND name IN ({names})"),
            Dialect::Mysql => format!(
                "SELECT CAST(table_name AS CHAR) FROM information_schema.tables \
                 WHERE table_schema = DATABASE() AND table_name IN ({names})"
            ),
        };
        let found: Vec<String> = self
            .text_rows(sql, "looking for migration history tables")
            .await?
            .into_iter()
            .filter_map(|mut r| r.pop().flatten())
            .collect();
        Ok(candidates.iter().filter(|(_, t)| found.iter().any(|f| f == t)).cloned().collect())
    }

    /// Every row of `tool`'s history table `table`, normalized.
    pub async fn read_history(&mut self, tool: HistoryTool, table: &str) -> Result<Vec<AppliedMigration>, DbError> {
        let d = self.dialect();
        let col = |c: &str| text(d, &d.quote_ident(c));
        // The columns each tool's table has, read as text in this order, and the row order.
        let (cols, order): (Vec<String>, &str) = match tool {
            HistoryTool::Sqlx => (
                vec![col("version"), col("description"), hex(d, "checksum"), col("installed_on"), col("success")],
                "version",
            ),
            HistoryTool::Diesel => (vec![col("version"), col("run_on")], "version"),
            HistoryTool::Prisma => (
                ["migration_name", "checksum", "started_at", "finished_at", "rolled_back_at", "logs"].map(col).into(),
                "started_at",
            ),
            HistoryTool::Refinery => (["version", "name", "checksum", "applied_on"].map(col).into(), "version"),
            HistoryTool::Flyway => (
                ["installed_rank", "version", "description", "type", "checksum", "installed_on", "success"]
                    .map(col)
                    .into(),
                "installed_rank",
            ),
            HistoryTool::Dbcheck => (
                ["version", "name", "checksum", "started_at", "finished_at", "success", "logs", "rolled_back_at"]
                    .map(col)
                    .into(),
                "started_at, version",
            ),
        };
        let sql = format!("SELECT {} FROM {} ORDER BY {order}", cols.join(", "), d.quote_ident(table));
        let rows = self.text_rows(sql, &format!("reading {tool} history table {table}")).await?;
        Ok(rows.into_iter().filter_map(|r| applied_row(tool, r)).collect())
    }
}

/// One history row (the columns [`Db::read_history`] selects for `tool`), normalized; `None`
/// for rows that record no migration (Flyway's schema-creation and deleted-by-repair rows).
fn applied_row(tool: HistoryTool, mut r: Vec<Option<String>>) -> Option<AppliedMigration> {
    let mut m = AppliedMigration {
        key: String::new(),
        name: None,
        checksum: None,
        applied_at: None,
        rank: None,
        outcome: AppliedOutcome::Succeeded,
        logs: None,
        repeatable: false,
        baseline: false,
    };
    let mut key = r[0].take();
    match tool {
        HistoryTool::Sqlx => {
            m.name = r[1].take();
            m.checksum = r[2].take();
            m.applied_at = r[3].take();
            if !truthy(r[4].as_deref()) {
                m.outcome = AppliedOutcome::Failed;
            }
        }
        HistoryTool::Diesel => m.applied_at = r[1].take(),
        HistoryTool::Prisma => {
            m.checksum = r[1].take();
            m.applied_at = r[2].take();
            m.outcome = if r[4].is_some() {
                AppliedOutcome::RolledBack
            } else if r[3].is_none() {
                AppliedOutcome::Failed
            } else {
                AppliedOutcome::Succeeded
            };
            m.logs = r[5].take();
        }
        HistoryTool::Refinery => {
            m.name = r[1].take();
            m.checksum = r[2].take();
            m.applied_at = r[3].take();
        }
        HistoryTool::Flyway => {
            let kind = r[3].take().unwrap_or_default();
            // SCHEMA marks schema creation and DELETE marks a row removed by `repair`.
            if matches!(kind.as_str(), "SCHEMA" | "DELETE") {
                return None;
            }
            // The first column is Flyway's `installed_rank`, not a key.
            m.rank = key.as_deref().and_then(|v| v.trim().parse().ok());
            let version = r[1].take();
            let description = r[2].take();
            m.repeatable = version.is_none();
            key = match &version {
                Some(v) => Some(Version::dotted(v).map_or_else(|| v.clone(), |v| v.to_string())),
                None => description.clone(),
            };
            m.name = description;
            m.checksum = r[4].take();
            m.applied_at = r[5].take();
            m.baseline = kind == "BASELINE";
            if !truthy(r[6].as_deref()) {
                m.outcome = AppliedOutcome::Failed;
            }
        }
        HistoryTool::Dbcheck => {
            m.name = r[1].take();
            m.checksum = r[2].take();
            m.applied_at = r[3].take();
            m.outcome = if r[7].is_some() {
                AppliedOutcome::RolledBack
            } else if r[4].is_none() || !truthy(r[5].as_deref()) {
                AppliedOutcome::Failed
            } else {
                AppliedOutcome::Succeeded
            };
            m.logs = r[6].take();
        }
    }
    m.key = key.unwrap_or_default();
    Some(m)
}
