//! The SQL of `migrate deploy`: the database-level deploy lock, history tables created and written
//! exactly as each tool writes them, and applying one migration with its tool's semantics.

use std::time::{Duration, Instant};

use serde::Serialize;
use sha2::{Digest, Sha256};

use super::{Db, DbError, Dialect};
use crate::migrate::{CheckKind, DataCheck};
use crate::migrations::{HistoryTool, Migration, MigrationKind, TransactionMode, checksum};
use crate::replay::split_statements;

/// The session holding the deploy lock, as the server describes it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct LockHolder {
    /// Server process / connection id.
    pub pid: String,
    /// Database user.
    pub user: Option<String>,
    /// `application_name` (PostgreSQL) or client host (MySQL).
    pub application: Option<String>,
    /// When its session started (PostgreSQL) or how long its current statement has run (MySQL).
    pub since: Option<String>,
}

impl std::fmt::Display for LockHolder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "pid {}", self.pid)?;
        if let Some(u) = &self.user {
            write!(f, ", user {u}")?;
        }
        if let Some(a) = self.application.as_deref().filter(|a| !a.is_empty()) {
            write!(f, ", application `{a}`")?;
        }
        if let Some(s) = &self.since {
            write!(f, ", since {s}")?;
        }
        Ok(())
    }
}

/// How applying one migration ended, when the database itself did not fail us.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApplyOutcome {
    /// Applied and recorded.
    Applied {
        /// Time spent.
        elapsed: Duration,
        /// A bookkeeping statement (the execution time sqlx and dbcheck record after commit) to
        /// pass as the next migration's `prelude`, or to run at the end: riding along in the next
        /// transaction saves a commit per migration.
        deferred: Option<String>,
    },
    /// Another deploy recorded it while this one waited (SQLite, which has no session lock).
    AlreadyApplied,
    /// A statement failed.
    Failed {
        /// The server's message, scrubbed.
        error: String,
        /// Whether everything the migration did was rolled back (a transactional migration on a
        /// dialect with transactional DDL).
        rolled_back: bool,
    },
}

/// The advisory lock key sqlx's own migrator takes on PostgreSQL for `database`, so that an app's
/// `sqlx::migrate!()` and `cargo dbcheck migrate deploy` never run at the same time.
pub fn postgres_lock_key(database: &str) -> i64 {
    0x3d32_ad9e * i64::from(crc32fast::hash(database.as_bytes()))
}

/// The `GET_LOCK` name sqlx's own migrator takes on MySQL for `database`.
pub fn mysql_lock_name(database: &str) -> String {
    format!("{:x}", postgres_lock_key(database))
}

/// Whether a migration runs atomically: in a transaction, on a dialect whose DDL is transactional.
pub fn is_atomic(dialect: Dialect, migration: &Migration) -> bool {
    migration.transaction == TransactionMode::Transaction && dialect != Dialect::Mysql
}

/// The DDL `tool` runs to create its history table `table` when it is missing.
pub fn history_table_ddl(dialect: Dialect, tool: HistoryTool, table: &str) -> String {
    let t = dialect.quote_ident(table);
    match (tool, dialect) {
        (HistoryTool::Sqlx, Dialect::Postgres) => format!(
            "CREATE TABLE IF NOT EXISTS {t} (\n    version BIGINT PRIMARY KEY,\n    description TEXT NOT NULL,\n    \
             installed_on TIMESTAMPTZ NOT NULL DEFAULT now(),\n    success BOOLEAN NOT NULL,\n    \
             checksum BYTEA NOT NULL,\n    execution_time BIGINT NOT NULL\n)"
        ),
        (HistoryTool::Sqlx, _) => format!(
            "CREATE TABLE IF NOT EXISTS {t} (\n    version BIGINT PRIMARY KEY,\n    description TEXT NOT NULL,\n    \
             installed_on TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,\n    success BOOLEAN NOT NULL,\n    \
             checksum BLOB NOT NULL,\n    execution_time BIGINT NOT NULL\n)"
        ),
        (HistoryTool::Diesel, _) => format!(
            "CREATE TABLE IF NOT EXISTS {t} (version VARCHAR(50) PRIMARY KEY NOT NULL, \
             run_on TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP)"
        ),
        (HistoryTool::Prisma, Dialect::Postgres) => format!(
            "CREATE TABLE IF NOT EXISTS {t} (\n    \"id\" VARCHAR(36) PRIMARY KEY NOT NULL,\n    \
             \"checksum\" VARCHAR(64) NOT NULL,\n    \"finished_at\" TIMESTAMPTZ,\n    \
             \"migration_name\" VARCHAR(255) NOT NULL,\n    \"logs\" TEXT,\n    \"rolled_back_at\" TIMESTAMPTZ,\n    \
             \"started_at\" TIMESTAMPTZ NOT NULL DEFAULT now(),\n    \"applied_steps_count\" INTEGER NOT NULL DEFAULT 0\n)"
        ),
        (HistoryTool::Prisma, Dialect::Mysql) => format!(
            "CREATE TABLE IF NOT EXISTS {t} (\n    `id` VARCHAR(36) PRIMARY KEY NOT NULL,\n    \
             `checksum` VARCHAR(64) NOT NULL,\n    `finished_at` DATETIME(3),\n    \
             `migration_name` VARCHAR(255) NOT NULL,\n    `logs` TEXT,\n    `rolled_back_at` DATETIME(3),\n    \
             `started_at` DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),\n    \
             `applied_steps_count` INTEGER UNSIGNED NOT NULL DEFAULT 0\n) DEFAULT CHARACTER SET utf8mb4"
        ),
        (HistoryTool::Prisma, Dialect::Sqlite) => format!(
            "CREATE TABLE IF NOT EXISTS {t} (\n    \"id\" TEXT PRIMARY KEY NOT NULL,\n    \"checksum\" TEXT NOT NULL,\n    \
             \"finished_at\" DATETIME,\n    \"migration_name\" TEXT NOT NULL,\n    \"logs\" TEXT,\n    \
             \"rolled_back_at\" DATETIME,\n    \"started_at\" DATETIME NOT NULL DEFAULT current_timestamp,\n    \
             \"applied_steps_count\" INTEGER UNSIGNED NOT NULL DEFAULT 0\n)"
        ),
        (HistoryTool::Refinery, _) => format!(
            "CREATE TABLE IF NOT EXISTS {t}(\n    version INT4 PRIMARY KEY,\n    name VARCHAR(255),\n    \
             applied_on VARCHAR(255),\n    checksum VARCHAR(255))"
        ),
        (HistoryTool::Flyway, Dialect::Postgres) => {
            let pk = dialect.quote_ident(&format!("{table}_pk"));
            let idx = dialect.quote_ident(&format!("{table}_s_idx"));
            format!(
                "CREATE TABLE IF NOT EXISTS {t} (\n    \"installed_rank\" INT NOT NULL,\n    \"version\" VARCHAR(50),\n    \
                 \"description\" VARCHAR(200) NOT NULL,\n    \"type\" VARCHAR(20) NOT NULL,\n    \
                 \"script\" VARCHAR(1000) NOT NULL,\n    \"checksum\" INTEGER,\n    \
                 \"installed_by\" VARCHAR(100) NOT NULL,\n    \"installed_on\" TIMESTAMP NOT NULL DEFAULT now(),\n    \
                 \"execution_time\" INTEGER NOT NULL,\n    \"success\" BOOLEAN NOT NULL,\n    \
                 CONSTRAINT {pk} PRIMARY KEY (\"installed_rank\")\n);\n\
                 CREATE INDEX IF NOT EXISTS {idx} ON {t} (\"success\")"
            )
        }
        (HistoryTool::Flyway, Dialect::Mysql) => {
            let pk = dialect.quote_ident(&format!("{table}_pk"));
            format!(
                "CREATE TABLE IF NOT EXISTS {t} (\n    `installed_rank` INT NOT NULL,\n    `version` VARCHAR(50),\n    \
                 `description` VARCHAR(200) NOT NULL,\n    `type` VARCHAR(20) NOT NULL,\n    \
                 `script` VARCHAR(1000) NOT NULL,\n    `checksum` INT,\n    `installed_by` VARCHAR(100) NOT NULL,\n    \
                 `installed_on` TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,\n    `execution_time` INT NOT NULL,\n    \
                 `success` BOOL NOT NULL,\n    CONSTRAINT {pk} PRIMARY KEY (`installed_rank`),\n    \
                 INDEX {} (`success`)\n) ENGINE=InnoDB",
                dialect.quote_ident(&format!("{table}_s_idx"))
            )
        }
        (HistoryTool::Flyway, Dialect::Sqlite) => {
            let idx = dialect.quote_ident(&format!("{table}_s_idx"));
            format!(
                "CREATE TABLE IF NOT EXISTS {t} (\n    \"installed_rank\" INT NOT NULL PRIMARY KEY,\n    \
                 \"version\" VARCHAR(50),\n    \"description\" VARCHAR(200) NOT NULL,\n    \"type\" VARCHAR(20) NOT NULL,\n    \
                 \"script\" VARCHAR(1000) NOT NULL,\n    \"checksum\" INT,\n    \"installed_by\" VARCHAR(100) NOT NULL,\n    \
                 \"installed_on\" TEXT NOT NULL DEFAULT (strftime('%Y-%m-%d %H:%M:%f','now')),\n    \
                 \"execution_time\" INT NOT NULL,\n    \"success\" BOOLEAN NOT NULL\n);\n\
                 CREATE INDEX IF NOT EXISTS {idx} ON {t} (\"success\")"
            )
        }
        (HistoryTool::Dbcheck, _) => super::dbcheck_history_ddl(dialect).replacen("_dbcheck_migrations", &t, 1),
    }
}

/// What a history write needs to know about the migration and the run.
struct Row<'a> {
    dialect: Dialect,
    tool: HistoryTool,
    table: String,
    m: &'a Migration,
    checksum: String,
    /// Prisma's row id for this attempt.
    attempt_id: String,
}

impl Row<'_> {
    fn lit(&self, v: &str) -> String {
        self.dialect.quote_literal(v)
    }

    fn now(&self) -> &'static str {
        match self.dialect {
            Dialect::Postgres => "clock_timestamp()",
            Dialect::Sqlite => "strftime('%Y-%m-%d %H:%M:%f', 'now')",
            Dialect::Mysql => "CURRENT_TIMESTAMP(6)",
        }
    }

    /// Prisma binds `Utc::now()`: a timestamp, and on SQLite Unix milliseconds.
    fn prisma_now(&self) -> &'static str {
        match self.dialect {
            Dialect::Postgres => "clock_timestamp()",
            Dialect::Sqlite => "CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)",
            Dialect::Mysql => "CURRENT_TIMESTAMP(3)",
        }
    }

    fn current_user(&self) -> &'static str {
        match self.dialect {
            Dialect::Postgres => "current_user",
            Dialect::Sqlite => "''",
            Dialect::Mysql => "CURRENT_USER()",
        }
    }

    fn sqlx_bytes(&self) -> String {
        let sum = &self.checksum;
        match self.dialect {
            Dialect::Postgres => format!("decode('{sum}', 'hex')"),
            Dialect::Sqlite => format!("X'{sum}'"),
            Dialect::Mysql => format!("UNHEX('{sum}')"),
        }
    }

    fn key(&self) -> String {
        self.lit(&self.m.history_key)
    }

    /// Flyway's `description`: the file's description with underscores as spaces.
    fn flyway_description(&self) -> String {
        self.m.name.replace('_', " ")
    }

    fn flyway_insert(&self, success: bool, elapsed_ms: i64) -> String {
        let t = &self.table;
        let version = if self.m.kind == MigrationKind::Repeatable { "NULL".to_owned() } else { self.key() };
        let script = self.m.path.file_name().map(|f| f.to_string_lossy().into_owned()).unwrap_or_default();
        let rank = match self.dialect {
            // MySQL cannot read the table it inserts into in the same statement's subquery.
            Dialect::Mysql => format!("(SELECT r FROM (SELECT COALESCE(MAX(installed_rank), 0) + 1 AS r FROM {t}) x)"),
            _ => format!("(SELECT COALESCE(MAX(installed_rank), 0) + 1 FROM {t})"),
        };
        format!(
            "INSERT INTO {t} (installed_rank, version, description, type, script, checksum, installed_by, \
             execution_time, success) VALUES ({rank}, {version}, {}, 'SQL', {}, {}, {}, {elapsed_ms}, {})",
            self.lit(&self.flyway_description()),
            self.lit(&script),
            self.checksum,
            self.current_user(),
            if success { "TRUE" } else { "FALSE" },
        )
    }

    /// The statement(s) recording success inside the migration's own transaction.
    fn success_in_tx(&self) -> String {
        let t = &self.table;
        let key = self.key();
        match self.tool {
            HistoryTool::Sqlx => format!(
                "INSERT INTO {t} (version, description, success, checksum, execution_time) VALUES ({}, {}, TRUE, {}, -1)",
                self.m.history_key,
                self.lit(&self.m.name),
                self.sqlx_bytes()
            ),
            HistoryTool::Diesel => format!("INSERT INTO {t} (version) VALUES ({key})"),
            HistoryTool::Prisma => format!(
                "INSERT INTO {t} (id, checksum, finished_at, migration_name, logs, rolled_back_at, started_at, \
                 applied_steps_count) VALUES ({}, {}, {now}, {key}, NULL, NULL, {now}, 1)",
                self.lit(&self.attempt_id),
                self.lit(&self.checksum),
                now = self.prisma_now()
            ),
            HistoryTool::Refinery => format!(
                "INSERT INTO {t} (version, name, applied_on, checksum) VALUES ({}, {}, {}, {})",
                self.m.history_key,
                self.lit(&self.m.name),
                rfc3339_now(self.dialect),
                self.lit(&self.checksum)
            ),
            HistoryTool::Flyway => self.flyway_insert(true, 0),
            HistoryTool::Dbcheck => format!(
                "DELETE FROM {t} WHERE version = {key} AND rolled_back_at IS NOT NULL;\n\
                 INSERT INTO {t} (version, name, checksum, finished_at, execution_ms, success, applied_by) \
                 VALUES ({key}, {}, {}, {}, 0, TRUE, {})",
                self.lit(&self.m.name),
                self.lit(&self.checksum),
                self.now(),
                self.current_user()
            ),
        }
    }

    /// After commit: what only the elapsed time can fill in.
    fn after_commit(&self, elapsed: Duration) -> Option<String> {
        let t = &self.table;
        match self.tool {
            HistoryTool::Sqlx => Some(format!(
                "UPDATE {t} SET execution_time = {} WHERE version = {}",
                i64::try_from(elapsed.as_nanos()).unwrap_or(i64::MAX),
                self.m.history_key
            )),
            HistoryTool::Dbcheck => Some(format!(
                "UPDATE {t} SET execution_ms = {} WHERE version = {}",
                i64::try_from(elapsed.as_millis()).unwrap_or(i64::MAX),
                self.key()
            )),
            _ => None,
        }
    }

    /// Before a non-atomic migration: a row that says "started, not finished", so that a crash
    /// half-way leaves a record of a partial application (for tools that can express one).
    fn started(&self) -> Option<String> {
        let t = &self.table;
        let key = self.key();
        match self.tool {
            HistoryTool::Sqlx => Some(format!(
                "INSERT INTO {t} (version, description, success, checksum, execution_time) VALUES ({}, {}, FALSE, {}, -1)",
                self.m.history_key,
                self.lit(&self.m.name),
                self.sqlx_bytes()
            )),
            HistoryTool::Prisma => Some(format!(
                "INSERT INTO {t} (id, checksum, finished_at, migration_name, logs, rolled_back_at, started_at, \
                 applied_steps_count) VALUES ({}, {}, NULL, {key}, NULL, NULL, {}, 0)",
                self.lit(&self.attempt_id),
                self.lit(&self.checksum),
                self.prisma_now()
            )),
            HistoryTool::Dbcheck => Some(format!(
                "DELETE FROM {t} WHERE version = {key} AND rolled_back_at IS NOT NULL;\n\
                 INSERT INTO {t} (version, name, checksum, success, applied_by) VALUES ({key}, {}, {}, FALSE, {})",
                self.lit(&self.m.name),
                self.lit(&self.checksum),
                self.current_user()
            )),
            HistoryTool::Diesel | HistoryTool::Refinery | HistoryTool::Flyway => None,
        }
    }

    /// After a non-atomic migration succeeded.
    fn finished(&self, elapsed: Duration) -> String {
        let t = &self.table;
        let key = self.key();
        let ms = i64::try_from(elapsed.as_millis()).unwrap_or(i64::MAX);
        match self.tool {
            HistoryTool::Sqlx => format!(
                "UPDATE {t} SET success = TRUE, execution_time = {} WHERE version = {}",
                i64::try_from(elapsed.as_nanos()).unwrap_or(i64::MAX),
                self.m.history_key
            ),
            HistoryTool::Prisma => format!(
                "UPDATE {t} SET finished_at = {}, applied_steps_count = 1 WHERE id = {}",
                self.prisma_now(),
                self.lit(&self.attempt_id)
            ),
            HistoryTool::Dbcheck => format!(
                "UPDATE {t} SET success = TRUE, finished_at = {}, execution_ms = {ms} WHERE version = {key}",
                self.now()
            ),
            HistoryTool::Flyway => self.flyway_insert(true, ms),
            HistoryTool::Diesel | HistoryTool::Refinery => self.success_in_tx(),
        }
    }

    /// After a migration failed: the record that says so, with the server's error, for the tools
    /// that keep one. `rolled_back` says whether the database is as it was before the migration.
    fn failed(&self, error: &str, rolled_back: bool) -> Option<String> {
        let t = &self.table;
        let key = self.key();
        let logs = self.lit(error);
        match (self.tool, rolled_back) {
            (HistoryTool::Dbcheck, true) => Some(format!(
                "DELETE FROM {t} WHERE version = {key} AND rolled_back_at IS NOT NULL;\n\
                 INSERT INTO {t} (version, name, checksum, success, logs, rolled_back_at, applied_by) \
                 VALUES ({key}, {}, {}, FALSE, {logs}, {}, {})",
                self.lit(&self.m.name),
                self.lit(&self.checksum),
                self.now(),
                self.current_user()
            )),
            (HistoryTool::Dbcheck, false) => Some(format!("UPDATE {t} SET logs = {logs} WHERE version = {key}")),
            // Prisma reads a rolled-back attempt as "apply again", exactly what the database needs.
            (HistoryTool::Prisma, true) => Some(format!(
                "INSERT INTO {t} (id, checksum, finished_at, migration_name, logs, rolled_back_at, started_at, \
                 applied_steps_count) VALUES ({}, {}, NULL, {key}, {logs}, {now}, {now}, 0)",
                self.lit(&self.attempt_id),
                self.lit(&self.checksum),
                now = self.prisma_now()
            )),
            (HistoryTool::Prisma, false) => {
                Some(format!("UPDATE {t} SET logs = {logs} WHERE id = {}", self.lit(&self.attempt_id)))
            }
            // Flyway records a failure only where it could not roll it back.
            (HistoryTool::Flyway, false) => Some(self.flyway_insert(false, 0)),
            _ => None,
        }
    }
}

fn rfc3339_now(dialect: Dialect) -> &'static str {
    match dialect {
        Dialect::Postgres => "to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')",
        Dialect::Sqlite => "strftime('%Y-%m-%dT%H:%M:%fZ', 'now')",
        Dialect::Mysql => "DATE_FORMAT(UTC_TIMESTAMP(6), '%Y-%m-%dT%H:%i:%s.%fZ')",
    }
}

/// A random-enough UUID (v4 layout) for Prisma's row id, without a UUID dependency.
fn attempt_id(m: &Migration) -> String {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    let mut h = Sha256::new();
    h.update(m.history_key.as_bytes());
    h.update(nanos.to_le_bytes());
    h.update(std::process::id().to_le_bytes());
    let mut b: [u8; 16] = [0; 16];
    b.copy_from_slice(&h.finalize()[..16]);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let x = hex::encode(b);
    format!("{}-{}-{}-{}-{}", &x[0..8], &x[8..12], &x[12..16], &x[16..20], &x[20..32])
}

impl Db {
    /// Name this session for `pg_stat_activity`, so a waiting deploy can say who holds the lock.
    pub async fn set_application_name(&mut self, name: &str) -> Result<(), DbError> {
        if self.dialect() == Dialect::Postgres {
            let sql = format!("SET application_name = {}", Dialect::Postgres.quote_literal(name));
            self.execute(&sql, "naming the session").await?;
        }
        Ok(())
    }

    async fn current_database(&mut self) -> Result<String, DbError> {
        let sql = match self.dialect() {
            Dialect::Postgres => "SELECT current_database()::text",
            Dialect::Mysql => "SELECT CAST(DATABASE() AS CHAR)",
            Dialect::Sqlite => return Ok(String::new()),
        };
        let rows = self.text_rows(sql.to_owned(), "reading the database name").await?;
        Ok(rows.into_iter().next().and_then(|mut r| r.pop().flatten()).unwrap_or_default())
    }

    /// Try once to take the deploy lock (the same one sqlx's migrator takes): a PostgreSQL
    /// session advisory lock or a MySQL `GET_LOCK`, both released when the session ends, even
    /// when the process is killed. SQLite has no session lock: the lock is an exclusive OS file
    /// lock on `<database>.dbcheck-deploy.lock`, held for the whole run and released by the OS
    /// when the process dies (each migration also runs under `BEGIN IMMEDIATE`, re-checking the
    /// history, so tools that ignore the file still never apply a migration twice). An in-memory
    /// database needs no lock.
    pub async fn try_deploy_lock(&mut self) -> Result<bool, DbError> {
        if self.dialect() == Dialect::Sqlite {
            return self.try_sqlite_deploy_lock().await;
        }
        let database = self.current_database().await?;
        let sql = match self.dialect() {
            Dialect::Postgres => format!("SELECT pg_try_advisory_lock({})::text", postgres_lock_key(&database)),
            Dialect::Mysql => format!(
                "SELECT CAST(GET_LOCK({}, 0) AS CHAR)",
                Dialect::Mysql.quote_literal(&mysql_lock_name(&database))
            ),
            Dialect::Sqlite => return Ok(true),
        };
        let rows = self.text_rows(sql, "taking the deploy lock").await?;
        let v = rows.into_iter().next().and_then(|mut r| r.pop().flatten()).unwrap_or_default();
        Ok(matches!(v.as_str(), "true" | "t" | "1"))
    }

    /// The main database file of a SQLite connection (`None` in memory).
    async fn sqlite_main_file(&mut self) -> Result<Option<std::path::PathBuf>, DbError> {
        let rows = self
            .text_rows(
                "SELECT file FROM pragma_database_list WHERE name = 'main'".to_owned(),
                "finding the database file",
            )
            .await?;
        Ok(rows.into_iter().next().and_then(|mut r| r.pop().flatten()).filter(|f| !f.is_empty()).map(Into::into))
    }

    fn sqlite_lock_error(&self, path: &std::path::Path, e: &std::io::Error) -> DbError {
        DbError::Query {
            url: self.url().redacted(),
            context: format!("taking the deploy lock file {}", path.display()),
            reason: e.to_string(),
        }
    }

    async fn try_sqlite_deploy_lock(&mut self) -> Result<bool, DbError> {
        if self.deploy_lock_file.is_some() {
            return Ok(true);
        }
        let Some(db_file) = self.sqlite_main_file().await? else { return Ok(true) };
        let path = sqlite_lock_path(&db_file);
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .read(true)
            .write(true)
            .open(&path)
            .map_err(|e| self.sqlite_lock_error(&path, &e))?;
        match file.try_lock() {
            Ok(()) => {
                use std::io::Write as _;
                let holder = format!(
                    "{}\n{}\n{}\n",
                    std::process::id(),
                    std::env::var("USER").unwrap_or_default(),
                    chrono::Utc::now().format("%Y-%m-%d %H:%M:%S UTC")
                );
                let written =
                    file.set_len(0).and_then(|()| file.write_all(holder.as_bytes())).and_then(|()| file.flush());
                written.map_err(|e| self.sqlite_lock_error(&path, &e))?;
                self.deploy_lock_file = Some(file);
                Ok(true)
            }
            Err(std::fs::TryLockError::WouldBlock) => Ok(false),
            Err(std::fs::TryLockError::Error(e)) => Err(self.sqlite_lock_error(&path, &e)),
        }
    }

    /// The session that holds the deploy lock, when the server says.
    pub async fn deploy_lock_holder(&mut self) -> Result<Option<LockHolder>, DbError> {
        if self.dialect() == Dialect::Sqlite {
            let Some(db_file) = self.sqlite_main_file().await? else { return Ok(None) };
            let text = std::fs::read_to_string(sqlite_lock_path(&db_file)).unwrap_or_default();
            let mut lines = text.lines().map(str::to_owned);
            return Ok(lines.next().filter(|p| !p.is_empty()).map(|pid| LockHolder {
                pid,
                user: lines.next().filter(|u| !u.is_empty()),
                application: Some("cargo dbcheck migrate deploy".to_owned()),
                since: lines.next(),
            }));
        }
        let database = self.current_database().await?;
        let sql = match self.dialect() {
            Dialect::Postgres => {
                let key = postgres_lock_key(&database);
                // A bigint advisory key is stored as (classid = high half, objid = low half, objsubid = 1).
                let hi = ((key >> 32) & 0xffff_ffff) as u32;
                let lo = (key & 0xffff_ffff) as u32;
                format!(
                    "SELECT a.pid::text, a.usename::text, a.application_name::text, \
                     to_char(a.backend_start, 'YYYY-MM-DD HH24:MI:SS TZ') \
                     FROM pg_catalog.pg_locks l JOIN pg_catalog.pg_stat_activity a ON a.pid = l.pid \
                     WHERE l.locktype = 'advisory' AND l.granted AND l.classid = {hi}::oid AND l.objid = {lo}::oid \
                     AND l.objsubid = 1 AND l.database = (SELECT oid FROM pg_catalog.pg_database WHERE datname = current_database())"
                )
            }
            Dialect::Mysql => format!(
                "SELECT CAST(p.ID AS CHAR), CAST(p.USER AS CHAR), CAST(p.HOST AS CHAR), CONCAT(CAST(p.TIME AS CHAR), ' s') \
                 FROM information_schema.PROCESSLIST p WHERE p.ID = IS_USED_LOCK({})",
                Dialect::Mysql.quote_literal(&mysql_lock_name(&database))
            ),
            Dialect::Sqlite => return Ok(None),
        };
        let rows = self.text_rows(sql, "finding who holds the deploy lock").await?;
        Ok(rows.into_iter().next().map(|mut r| {
            r.resize(4, None);
            LockHolder {
                pid: r[0].take().unwrap_or_default(),
                user: r[1].take(),
                application: r[2].take(),
                since: r[3].take(),
            }
        }))
    }

    /// Release the deploy lock (ending the session releases it too).
    pub async fn release_deploy_lock(&mut self) -> Result<(), DbError> {
        if self.dialect() == Dialect::Sqlite {
            // Dropping the file releases the OS lock; the file stays (removing it could race
            // with a deployer that opened it and is about to lock it).
            self.deploy_lock_file = None;
            return Ok(());
        }
        let database = self.current_database().await?;
        let sql = match self.dialect() {
            Dialect::Postgres => format!("SELECT pg_advisory_unlock({})", postgres_lock_key(&database)),
            Dialect::Mysql => {
                format!("SELECT RELEASE_LOCK({})", Dialect::Mysql.quote_literal(&mysql_lock_name(&database)))
            }
            Dialect::Sqlite => return Ok(()),
        };
        self.execute(&sql, "releasing the deploy lock").await
    }

    /// Create `tool`'s history table `table` the way the tool does, when it is missing.
    pub async fn ensure_history_table(&mut self, tool: HistoryTool, table: &str) -> Result<(), DbError> {
        let ddl = history_table_ddl(self.dialect(), tool, table);
        self.execute(&ddl, &format!("creating history table {table}")).await
    }

    /// Whether `tool`'s history already records `migration` as applied (used under SQLite's
    /// per-migration write lock, where no session lock serializes deploys).
    async fn recorded(&mut self, tool: HistoryTool, table: &str, m: &Migration) -> Result<bool, DbError> {
        let rows = self.read_history(tool, table).await?;
        Ok(rows.iter().any(|r| {
            r.key == m.history_key
                && r.repeatable == (m.kind == MigrationKind::Repeatable)
                && r.outcome != crate::migrations::AppliedOutcome::RolledBack
                && (m.kind != MigrationKind::Repeatable || r.checksum == checksum(tool, m))
        }))
    }

    /// Apply one migration and record it in `tool`'s table `table` exactly as the tool would;
    /// `prelude` is the previous migration's deferred bookkeeping statement.
    ///
    /// Atomic migrations (a transaction on PostgreSQL or SQLite) run as one round trip: `BEGIN`,
    /// the migration, the history row, `COMMIT` — so a crash at any point leaves either all of it
    /// or none of it. Others (no-transaction migrations, anything on MySQL, whose DDL commits
    /// implicitly) write a "started" row first where the tool can express one, then run statement
    /// by statement, then mark it finished. A failure is recorded as the tool records failures.
    pub async fn apply_migration(
        &mut self,
        tool: HistoryTool,
        table: &str,
        m: &Migration,
        prelude: Option<&str>,
    ) -> Result<ApplyOutcome, DbError> {
        let dialect = self.dialect();
        let row = Row {
            dialect,
            tool,
            table: dialect.quote_ident(table),
            m,
            checksum: checksum(tool, m).unwrap_or_default(),
            attempt_id: attempt_id(m),
        };
        let sql = m.sql();
        let context = format!("applying migration {}", m.path.display());
        let start = Instant::now();
        if is_atomic(dialect, m) {
            let script = if dialect == Dialect::Sqlite {
                self.execute("BEGIN IMMEDIATE", "taking SQLite's write lock").await?;
                if self.recorded(tool, table, m).await? {
                    self.execute("ROLLBACK", "releasing SQLite's write lock").await?;
                    if let Some(prelude) = prelude {
                        self.execute(prelude, "recording the execution time").await?;
                    }
                    return Ok(ApplyOutcome::AlreadyApplied);
                }
                format!("{};\n{sql}\n;\n{};\nCOMMIT", prelude.unwrap_or(""), row.success_in_tx())
            } else {
                format!("BEGIN;\n{};\n{sql}\n;\n{};\nCOMMIT", prelude.unwrap_or(""), row.success_in_tx())
            };
            if let Err(e) = self.execute(&script, &context).await {
                // The failed script leaves the transaction open and aborted; end it.
                let _ = self.execute("ROLLBACK", "rolling back a failed migration").await;
                if let Some(prelude) = prelude {
                    self.execute(prelude, "recording the execution time").await?;
                }
                let error = reason(e);
                if let Some(record) = row.failed(&error, true) {
                    self.execute(&record, "recording a failed migration").await?;
                }
                return Ok(ApplyOutcome::Failed { error, rolled_back: true });
            }
            let elapsed = start.elapsed();
            return Ok(ApplyOutcome::Applied { elapsed, deferred: row.after_commit(elapsed) });
        }
        if let Some(prelude) = prelude {
            self.execute(prelude, "recording the execution time").await?;
        }
        if let Some(started) = row.started() {
            self.execute(&started, "recording a started migration").await?;
        }
        for range in split_statements(&sql, dialect) {
            if let Err(e) = self.execute(&sql[range], &context).await {
                let error = reason(e);
                if let Some(record) = row.failed(&error, false) {
                    self.execute(&record, "recording a failed migration").await?;
                }
                return Ok(ApplyOutcome::Failed { error, rolled_back: false });
            }
        }
        let elapsed = start.elapsed();
        self.execute(&row.finished(elapsed), "recording a finished migration").await?;
        Ok(ApplyOutcome::Applied { elapsed, deferred: None })
    }
}

/// The lock file beside a SQLite database file.
fn sqlite_lock_path(db_file: &std::path::Path) -> std::path::PathBuf {
    let mut name = db_file.as_os_str().to_owned();
    name.push(".dbcheck-deploy.lock");
    name.into()
}

/// The server's message inside a query error.
fn reason(e: DbError) -> String {
    match e {
        DbError::Query { reason, .. } => reason,
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lock_keys_match_sqlx() {
        // sqlx: 0x3d32ad9e * crc32("postgres") as i64; crc32("postgres") = 0x...
        let crc = i64::from(crc32fast::hash(b"postgres"));
        assert_eq!(postgres_lock_key("postgres"), 0x3d32ad9e * crc);
        assert_eq!(mysql_lock_name("postgres"), format!("{:x}", 0x3d32ad9e * crc));
    }

    #[test]
    fn prisma_ids_look_like_uuids() {
        let m = Migration {
            version: crate::migrations::Version::Int(1),
            history_key: "1".into(),
            name: "a".into(),
            path: "1_a.sql".into(),
            bytes: Vec::new(),
            down_path: None,
            transaction: TransactionMode::Transaction,
            kind: MigrationKind::Versioned,
        };
        let id = attempt_id(&m);
        assert_eq!(id.len(), 36);
        assert_eq!(id.as_bytes()[14], b'4');
        assert_ne!(id, attempt_id(&m));
    }

    #[test]
    fn dbcheck_table_ddl_uses_the_configured_name() {
        let ddl = history_table_ddl(Dialect::Postgres, HistoryTool::Dbcheck, "my_history");
        assert!(ddl.starts_with("CREATE TABLE IF NOT EXISTS \"my_history\""), "{ddl}");
    }
}

/// What one pre-flight check found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PreflightCount {
    /// Violating rows (duplicate groups for uniqueness).
    pub violations: u64,
    /// Rows involved (for uniqueness: rows in duplicate groups; otherwise equal to `violations`).
    pub rows: u64,
    /// A few violating rows by primary key (`id=3`), or duplicate keys with their counts.
    pub samples: Vec<String>,
}

fn text_expr(d: Dialect, expr: &str) -> String {
    match d {
        Dialect::Postgres => format!("CAST({expr} AS text)"),
        Dialect::Sqlite => format!("CAST({expr} AS TEXT)"),
        Dialect::Mysql => format!("CAST({expr} AS CHAR)"),
    }
}

/// `WHERE` condition (over alias `c`) selecting the rows that violate `kind`, for kinds checked
/// row by row.
fn violation_condition(d: Dialect, kind: &CheckKind) -> Option<String> {
    let length = match d {
        Dialect::Postgres => "char_length",
        Dialect::Sqlite => "length",
        Dialect::Mysql => "CHAR_LENGTH",
    };
    Some(match kind {
        CheckKind::NotNull { column } => format!("c.{column} IS NULL"),
        CheckKind::NonEmpty { .. } => "1 = 1".to_owned(),
        CheckKind::Check { expr } => format!("NOT ({expr})"),
        CheckKind::MaxLength { column, max } => format!("{length}(c.{column}) > {max}"),
        CheckKind::IntRange { column, min, max, .. } => format!("(c.{column} < {min} OR c.{column} > {max})"),
        CheckKind::ForeignKey { columns, parent, parent_columns } => {
            let present = columns.iter().map(|col| format!("c.{col} IS NOT NULL")).collect::<Vec<_>>().join(" AND ");
            let join = columns
                .iter()
                .zip(parent_columns)
                .map(|(col, pcol)| format!("p.{pcol} = c.{col}"))
                .collect::<Vec<_>>()
                .join(" AND ");
            format!("{present} AND NOT EXISTS (SELECT 1 FROM {} p WHERE {join})", parent.join("."))
        }
        CheckKind::Unique { .. } => return None,
    })
}

impl Db {
    /// The primary-key columns of `check`'s table, quoted, for sample keys (empty when none).
    async fn primary_key_columns(&mut self, check: &DataCheck) -> Result<Vec<String>, DbError> {
        let d = self.dialect();
        let sql = match d {
            Dialect::Postgres => format!(
                "SELECT a.attname::text FROM pg_catalog.pg_index i JOIN pg_catalog.pg_attribute a \
                 ON a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey) \
                 WHERE i.indisprimary AND i.indrelid = CAST({} AS regclass) ORDER BY array_position(i.indkey, a.attnum)",
                d.quote_literal(&check.table_sql())
            ),
            Dialect::Sqlite => format!(
                "SELECT name FROM pragma_table_info({}) WHERE pk > 0 ORDER BY pk",
                d.quote_literal(check.table_name())
            ),
            Dialect::Mysql => format!(
                "SELECT CAST(COLUMN_NAME AS CHAR) FROM information_schema.KEY_COLUMN_USAGE \
                 WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = {} AND CONSTRAINT_NAME = 'PRIMARY' ORDER BY ORDINAL_POSITION",
                d.quote_literal(check.table_name())
            ),
        };
        let rows = self.text_rows(sql, "reading a primary key for pre-flight samples").await?;
        Ok(rows.into_iter().filter_map(|mut r| r.pop().flatten()).map(|c| d.quote_ident(&c)).collect())
    }

    /// Run one pre-flight check against the live data, read-only, returning at most `limit`
    /// samples. `Ok(Err(reason))` when the check itself could not run (e.g. the table does not
    /// exist yet), with the server's message.
    pub async fn preflight_check(
        &mut self,
        check: &DataCheck,
        limit: usize,
    ) -> Result<Result<PreflightCount, String>, DbError> {
        let begin = match self.dialect() {
            Dialect::Postgres => "BEGIN READ ONLY; SET LOCAL statement_timeout = '60s'",
            Dialect::Mysql => "START TRANSACTION READ ONLY",
            Dialect::Sqlite => "BEGIN",
        };
        self.execute(begin, "starting a read-only pre-flight transaction").await?;
        let result = self.preflight_queries(check, limit).await;
        self.execute("ROLLBACK", "ending the pre-flight transaction").await?;
        Ok(result.map_err(reason))
    }

    async fn preflight_queries(&mut self, check: &DataCheck, limit: usize) -> Result<PreflightCount, DbError> {
        let d = self.dialect();
        let t = check.table_sql();
        let context = "running a pre-flight data check";
        let first_number = |rows: &[Vec<Option<String>>], i: usize| -> u64 {
            rows.first()
                .and_then(|r| r.get(i))
                .and_then(|v| v.as_deref())
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(0)
        };
        if let CheckKind::Unique { columns, predicate } = &check.kind {
            let mut filter: Vec<String> = columns.iter().map(|c| format!("{c} IS NOT NULL")).collect();
            if let Some(p) = predicate {
                filter.push(format!("({p})"));
            }
            let cols = columns.join(", ");
            let from = format!("FROM {t} WHERE {} GROUP BY {cols} HAVING COUNT(*) > 1", filter.join(" AND "));
            let sql = format!(
                "SELECT {}, {} FROM (SELECT COUNT(*) AS n {from}) d",
                text_expr(d, "COUNT(*)"),
                text_expr(d, "COALESCE(SUM(n), 0)")
            );
            let rows = self.text_rows(sql, context).await?;
            let (groups, in_groups) = (first_number(&rows, 0), first_number(&rows, 1));
            let mut samples = Vec::new();
            if groups > 0 {
                let keys = columns.iter().map(|c| text_expr(d, c)).collect::<Vec<_>>().join(", ");
                let sql =
                    format!("SELECT {keys}, {} {from} ORDER BY COUNT(*) DESC LIMIT {limit}", text_expr(d, "COUNT(*)"));
                for mut r in self.text_rows(sql, context).await? {
                    let n = r.pop().flatten().unwrap_or_default();
                    let key = columns
                        .iter()
                        .zip(r)
                        .map(|(c, v)| format!("{c}={}", v.unwrap_or_else(|| "NULL".into())))
                        .collect::<Vec<_>>()
                        .join(", ");
                    samples.push(format!("{key} ({n} rows)"));
                }
            }
            return Ok(PreflightCount { violations: groups, rows: in_groups, samples });
        }
        let Some(condition) = violation_condition(d, &check.kind) else {
            return Ok(PreflightCount { violations: 0, rows: 0, samples: Vec::new() });
        };
        let sql = format!("SELECT {} FROM {t} c WHERE {condition}", text_expr(d, "COUNT(*)"));
        let rows = self.text_rows(sql, context).await?;
        let count = first_number(&rows, 0);
        let mut samples = Vec::new();
        if count > 0 {
            let mut keys = self.primary_key_columns(check).await?;
            if keys.is_empty() {
                keys = match &check.kind {
                    CheckKind::ForeignKey { columns, .. } => columns.clone(),
                    CheckKind::MaxLength { column, .. } | CheckKind::IntRange { column, .. } => vec![column.clone()],
                    _ => Vec::new(),
                };
            }
            if !keys.is_empty() {
                let select = keys.iter().map(|k| text_expr(d, &format!("c.{k}"))).collect::<Vec<_>>().join(", ");
                let order = keys.iter().map(|k| format!("c.{k}")).collect::<Vec<_>>().join(", ");
                let sql = format!("SELECT {select} FROM {t} c WHERE {condition} ORDER BY {order} LIMIT {limit}");
                for r in self.text_rows(sql, context).await? {
                    samples.push(
                        keys.iter()
                            .zip(r)
                            .map(|(k, v)| {
                                format!("{}={}", k.trim_matches(['"', '`']), v.unwrap_or_else(|| "NULL".into()))
                            })
                            .collect::<Vec<_>>()
                            .join(", "),
                    );
                }
            }
        }
        Ok(PreflightCount { violations: count, rows: count, samples })
    }
}

/// dbcheck's audit table: every `migrate resolve`, with who, when and the checksums.
pub const AUDIT_TABLE: &str = "_dbcheck_audit";

fn audit_ddl(d: Dialect) -> &'static str {
    match d {
        Dialect::Postgres => {
            "CREATE TABLE IF NOT EXISTS _dbcheck_audit (
    id BIGSERIAL PRIMARY KEY,
    at TIMESTAMPTZ NOT NULL DEFAULT now(),
    db_user TEXT NOT NULL DEFAULT current_user,
    os_user TEXT NOT NULL,
    action TEXT NOT NULL,
    history_table TEXT NOT NULL,
    version TEXT NOT NULL,
    old_checksum TEXT,
    new_checksum TEXT,
    detail TEXT NOT NULL
)"
        }
        Dialect::Sqlite => {
            "CREATE TABLE IF NOT EXISTS _dbcheck_audit (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%d %H:%M:%f', 'now')),
    db_user TEXT NOT NULL DEFAULT '',
    os_user TEXT NOT NULL,
    action TEXT NOT NULL,
    history_table TEXT NOT NULL,
    version TEXT NOT NULL,
    old_checksum TEXT,
    new_checksum TEXT,
    detail TEXT NOT NULL
)"
        }
        Dialect::Mysql => {
            "CREATE TABLE IF NOT EXISTS _dbcheck_audit (
    id BIGINT AUTO_INCREMENT PRIMARY KEY,
    at TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
    db_user VARCHAR(255) NOT NULL DEFAULT '',
    os_user VARCHAR(255) NOT NULL,
    action VARCHAR(32) NOT NULL,
    history_table VARCHAR(255) NOT NULL,
    version VARCHAR(191) NOT NULL,
    old_checksum VARCHAR(128) NULL,
    new_checksum VARCHAR(128) NULL,
    detail TEXT NOT NULL
)"
        }
    }
}

/// One `migrate resolve` request, for [`Db::resolve_migration`].
#[derive(Debug)]
pub struct ResolveSql<'a> {
    /// The history tool.
    pub tool: HistoryTool,
    /// Its table.
    pub table: &'a str,
    /// The version as the tool records it.
    pub key: &'a str,
    /// The file, when on disk (required for `applied` and `accept-checksum`).
    pub migration: Option<&'a Migration>,
    /// `applied`, `rolled-back` or `accept-checksum`.
    pub action: &'a str,
    /// For the audit row.
    pub old_checksum: Option<&'a str>,
    /// For the audit row.
    pub new_checksum: Option<&'a str>,
    /// For the audit row.
    pub detail: &'a str,
    /// Operating-system user, for the audit row.
    pub actor: &'a str,
}

impl Db {
    /// Record a `migrate resolve` in the history table as the tool would, and its audit row, in
    /// one transaction (the audit table is created first when missing).
    pub async fn resolve_migration(&mut self, r: &ResolveSql<'_>) -> Result<(), DbError> {
        let d = self.dialect();
        let t = d.quote_ident(r.table);
        let k = d.quote_literal(r.key);
        let now = match d {
            Dialect::Postgres => "now()",
            Dialect::Sqlite => "strftime('%Y-%m-%d %H:%M:%f', 'now')",
            Dialect::Mysql => "CURRENT_TIMESTAMP(6)",
        };
        let row = r.migration.map(|m| Row {
            dialect: d,
            tool: r.tool,
            table: t.clone(),
            m,
            checksum: checksum(r.tool, m).unwrap_or_default(),
            attempt_id: attempt_id(m),
        });
        let missing = || DbError::Query {
            url: self.url().redacted(),
            context: "resolving a migration".into(),
            reason: format!("`{}` needs the migration's file", r.action),
        };
        let statements: Vec<String> = match r.action {
            "applied" => {
                let row = row.as_ref().ok_or_else(missing)?;
                let before = match r.tool {
                    HistoryTool::Dbcheck => Some(format!("DELETE FROM {t} WHERE version = {k}")),
                    HistoryTool::Sqlx => Some(format!("DELETE FROM {t} WHERE version = {}", r.key)),
                    HistoryTool::Prisma => Some(format!(
                        "UPDATE {t} SET rolled_back_at = {} WHERE migration_name = {k} AND finished_at IS NULL AND rolled_back_at IS NULL",
                        row.prisma_now()
                    )),
                    HistoryTool::Flyway => Some(format!("DELETE FROM {t} WHERE version = {k} AND success = FALSE")),
                    HistoryTool::Diesel | HistoryTool::Refinery => None,
                };
                before.into_iter().chain([row.success_in_tx()]).collect()
            }
            "rolled-back" => vec![match r.tool {
                HistoryTool::Dbcheck => format!("UPDATE {t} SET rolled_back_at = {now} WHERE version = {k}"),
                HistoryTool::Prisma => format!(
                    "UPDATE {t} SET rolled_back_at = {now} WHERE migration_name = {k} AND finished_at IS NULL AND rolled_back_at IS NULL"
                ),
                // sqlx and Flyway have no "rolled back": the failed row goes, as `flyway repair` does.
                HistoryTool::Sqlx => format!("DELETE FROM {t} WHERE version = {} AND success = FALSE", r.key),
                HistoryTool::Flyway => format!("DELETE FROM {t} WHERE version = {k} AND success = FALSE"),
                HistoryTool::Diesel | HistoryTool::Refinery => return Err(missing()),
            }],
            _ => {
                let m = r.migration.ok_or_else(missing)?;
                vec![super::accept_checksum_sql(d, r.tool, r.table, m).ok_or_else(missing)?]
            }
        };
        let opt = |v: Option<&str>| v.map_or_else(|| "NULL".to_owned(), |v| d.quote_literal(v));
        let db_user = match d {
            Dialect::Postgres => "current_user",
            Dialect::Sqlite => "''",
            Dialect::Mysql => "CURRENT_USER()",
        };
        let audit = format!(
            "INSERT INTO {AUDIT_TABLE} (db_user, os_user, action, history_table, version, old_checksum, new_checksum, detail) \
             VALUES ({db_user}, {}, {}, {}, {k}, {}, {}, {})",
            d.quote_literal(r.actor),
            d.quote_literal(r.action),
            d.quote_literal(r.table),
            opt(r.old_checksum),
            opt(r.new_checksum),
            d.quote_literal(r.detail)
        );
        self.execute(audit_ddl(d), "creating the audit table").await?;
        let begin = if d == Dialect::Sqlite { "BEGIN IMMEDIATE" } else { "BEGIN" };
        let body = statements.iter().map(|s| s.trim().trim_end_matches(';')).collect::<Vec<_>>().join(";\n");
        let script = format!("{begin};\n{body};\n{audit};\nCOMMIT");
        if let Err(e) = self.execute(&script, "resolving a migration").await {
            let _ = self.execute("ROLLBACK", "rolling back a failed resolve").await;
            return Err(e);
        }
        Ok(())
    }
}

impl Db {
    /// Create `tool`'s history table when missing and record `migrations` as applied without
    /// running them (`baseline`), in one transaction, each row as the tool writes it.
    pub async fn record_applied(
        &mut self,
        tool: HistoryTool,
        table: &str,
        migrations: &[&Migration],
    ) -> Result<(), DbError> {
        let d = self.dialect();
        self.ensure_history_table(tool, table).await?;
        let rows: Vec<String> = migrations
            .iter()
            .map(|m| {
                let row = Row {
                    dialect: d,
                    tool,
                    table: d.quote_ident(table),
                    m,
                    checksum: checksum(tool, m).unwrap_or_default(),
                    attempt_id: attempt_id(m),
                };
                row.success_in_tx().trim().trim_end_matches(';').to_owned()
            })
            .collect();
        let begin = if d == Dialect::Sqlite { "BEGIN IMMEDIATE" } else { "BEGIN" };
        let script = format!("{begin};\n{};\nCOMMIT", rows.join(";\n"));
        if let Err(e) = self.execute(&script, "recording the baseline").await {
            let _ = self.execute("ROLLBACK", "rolling back a failed baseline").await;
            return Err(e);
        }
        Ok(())
    }
}
