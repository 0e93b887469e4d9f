//! The SQL behind `backup` and `restore`: the exported snapshot (PostgreSQL `pg_export_snapshot()`
//! in a `REPEATABLE READ READ ONLY` transaction), row counts read inside it, SQLite `VACUUM INTO`
//! and `integrity_check`, and the server-side steps of a restore (connections, create, rename).

use std::path::Path;

use super::{Db, DbError, Dialect, quote_table};

/// What identifies the instant a backup was taken.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Snapshot {
    /// The exported snapshot id (PostgreSQL), which `pg_dump --snapshot` imports.
    pub id: Option<String>,
    /// The WAL position at the snapshot (PostgreSQL).
    pub lsn: Option<String>,
    /// The server's clock at the snapshot.
    pub time: String,
    /// The server's version string.
    pub server_version: String,
    /// The server's major version (PostgreSQL), for picking the matching `pg_dump`.
    pub server_major: Option<u32>,
    /// PostgreSQL: `<system identifier>/<database oid>`, absent when the database has unlogged
    /// tables (whose changes write no WAL). With an unchanged LSN it means nothing changed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reuse_key: Option<String>,
}

impl Db {
    /// Open the backup's snapshot. PostgreSQL: start a `REPEATABLE READ READ ONLY` transaction and
    /// export its snapshot; every later query on this connection reads the same instant until
    /// [`Db::end_snapshot`]. SQLite: a read transaction (the copy itself is made by
    /// [`Db::sqlite_vacuum_into`], which is a snapshot on its own).
    pub async fn begin_snapshot(&mut self) -> Result<Snapshot, DbError> {
        match self.dialect() {
            Dialect::Postgres => {
                self.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", "starting the backup snapshot").await?;
                let rows = self
                    .text_rows(
                        "SELECT pg_export_snapshot(), \
                         (CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn() ELSE pg_current_wal_lsn() END)::text, \
                         to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'), \
                         current_setting('server_version'), current_setting('server_version_num'), \
                         CASE WHEN EXISTS (SELECT 1 FROM pg_catalog.pg_class WHERE relpersistence = 'u') THEN NULL \
                         ELSE (SELECT system_identifier::text FROM pg_control_system()) || '/' || \
                         (SELECT oid::text FROM pg_catalog.pg_database WHERE datname = current_database()) END"
                            .to_owned(),
                        "exporting the backup snapshot",
                    )
                    .await?;
                let row = rows.into_iter().next().unwrap_or_default();
                let get = |i: usize| row.get(i).cloned().flatten();
                let num: Option<u32> = get(4).and_then(|n| n.parse().ok());
                Ok(Snapshot {
                    id: get(0),
                    lsn: get(1),
                    time: get(2).unwrap_or_default(),
                    server_version: get(3).unwrap_or_default(),
                    server_major: num.map(|n| n / 10000),
                    reuse_key: get(5),
                })
            }
            Dialect::Sqlite => {
                let rows = self
                    .text_rows(
                        "SELECT sqlite_version(), strftime('%Y-%m-%dT%H:%M:%fZ', 'now')".to_owned(),
                        "reading the SQLite version",
                    )
                    .await?;
                let row = rows.into_iter().next().unwrap_or_default();
                Ok(Snapshot {
                    id: None,
                    lsn: None,
                    time: row.get(1).cloned().flatten().unwrap_or_default(),
                    server_version: format!("SQLite {}", row.first().cloned().flatten().unwrap_or_default()),
                    server_major: None,
                    reuse_key: None,
                })
            }
            Dialect::Mysql => Err(DbError::Query {
                url: self.url().redacted(),
                context: "starting the backup snapshot".to_owned(),
                reason: "backups of MySQL/MariaDB databases are not supported".to_owned(),
            }),
        }
    }

    /// End the snapshot transaction (PostgreSQL); nothing to do elsewhere.
    pub async fn end_snapshot(&mut self) -> Result<(), DbError> {
        match self.dialect() {
            Dialect::Postgres => self.execute("COMMIT", "ending the backup snapshot").await,
            _ => Ok(()),
        }
    }

    /// How many rows of `table` (with the optional `filter`) there are, in the current snapshot.
    pub async fn count_rows(&mut self, table: &str, filter: Option<&str>) -> Result<u64, DbError> {
        let d = self.dialect();
        let cond = filter.map(|f| format!(" WHERE ({f})")).unwrap_or_default();
        let t = quote_table(d, table);
        let sql = match d {
            Dialect::Postgres => format!("SELECT count(*)::text FROM {t}{cond}"),
            Dialect::Sqlite => format!("SELECT CAST(count(*) AS TEXT) FROM {t}{cond}"),
            Dialect::Mysql => format!("SELECT CAST(count(*) AS CHAR) FROM {t}{cond}"),
        };
        let rows = self.text_rows(sql, &format!("counting the rows of {table}")).await?;
        Ok(rows.first().and_then(|r| r.first()).cloned().flatten().and_then(|n| n.parse().ok()).unwrap_or(0))
    }

    /// Whether `table` (`schema.table` accepted) exists.
    pub async fn table_exists(&mut self, table: &str) -> Result<bool, DbError> {
        let d = self.dialect();
        let sql = match d {
            Dialect::Postgres => format!(
                "SELECT to_regclass({})::text WHERE to_regclass({0}) IS NOT NULL",
                d.quote_literal(&quote_table(d, table))
            ),
            Dialect::Sqlite => format!(
                "SELECT name FROM sqlite_master WHERE type IN ('table', 'view') AND name = {}",
                d.quote_literal(table)
            ),
            Dialect::Mysql => format!(
                "SELECT CAST(table_name AS CHAR) FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name = {}",
                d.quote_literal(table)
            ),
        };
        Ok(!self.text_rows(sql, &format!("looking up the table {table}")).await?.is_empty())
    }

    /// Copy this SQLite database into `path` as one consistent snapshot (`VACUUM INTO`).
    pub async fn sqlite_vacuum_into(&mut self, path: &Path) -> Result<(), DbError> {
        let target = Dialect::Sqlite.quote_literal(&path.to_string_lossy());
        self.execute(&format!("VACUUM INTO {target}"), "copying the SQLite database (VACUUM INTO)").await
    }

    /// `PRAGMA integrity_check` (SQLite): the problems it reports, empty when the file is sound.
    pub async fn sqlite_integrity_check(&mut self) -> Result<Vec<String>, DbError> {
        let rows = self.text_rows("PRAGMA integrity_check".to_owned(), "checking the SQLite copy").await?;
        let lines: Vec<String> = rows.into_iter().filter_map(|r| r.into_iter().next().flatten()).collect();
        Ok(if lines.len() == 1 && lines[0] == "ok" { Vec::new() } else { lines })
    }

    /// Sessions connected to database `name` other than this one (PostgreSQL).
    pub async fn other_connections(&mut self, name: &str) -> Result<u64, DbError> {
        let sql = format!(
            "SELECT count(*)::text FROM pg_stat_activity WHERE datname = {} AND pid <> pg_backend_pid()",
            Dialect::Postgres.quote_literal(name)
        );
        let rows = self.text_rows(sql, "counting the connections to the database").await?;
        Ok(rows.first().and_then(|r| r.first()).cloned().flatten().and_then(|n| n.parse().ok()).unwrap_or(0))
    }

    /// End every other session on database `name` (PostgreSQL; `restore --force`).
    pub async fn terminate_connections(&mut self, name: &str) -> Result<(), DbError> {
        let sql = format!(
            "SELECT pg_terminate_backend(pid)::text FROM pg_stat_activity WHERE datname = {} AND pid <> pg_backend_pid()",
            Dialect::Postgres.quote_literal(name)
        );
        self.text_rows(sql, "ending the other connections to the database").await.map(drop)
    }

    /// Whether database `name` exists on this server (PostgreSQL).
    pub async fn database_exists(&mut self, name: &str) -> Result<bool, DbError> {
        let sql =
            format!("SELECT datname::text FROM pg_database WHERE datname = {}", Dialect::Postgres.quote_literal(name));
        Ok(!self.text_rows(sql, "looking up the database").await?.is_empty())
    }

    /// `CREATE DATABASE name` (PostgreSQL).
    pub async fn create_database(&mut self, name: &str) -> Result<(), DbError> {
        let sql = format!("CREATE DATABASE {}", Dialect::Postgres.quote_ident(name));
        self.execute(&sql, "creating the database to restore into").await
    }

    /// `DROP DATABASE IF EXISTS name` (PostgreSQL).
    pub async fn drop_database_if_exists(&mut self, name: &str) -> Result<(), DbError> {
        let sql = format!("DROP DATABASE IF EXISTS {}", Dialect::Postgres.quote_ident(name));
        self.execute(&sql, "dropping a database").await
    }

    /// `ALTER DATABASE from RENAME TO to` (PostgreSQL).
    pub async fn rename_database(&mut self, from: &str, to: &str) -> Result<(), DbError> {
        let d = Dialect::Postgres;
        let sql = format!("ALTER DATABASE {} RENAME TO {}", d.quote_ident(from), d.quote_ident(to));
        self.execute(&sql, "swapping the restored database in").await
    }

    /// Try to take SQLite's exclusive lock and release it at once: fails while another process
    /// reads or writes the file.
    pub async fn sqlite_try_exclusive(&mut self) -> Result<(), DbError> {
        self.execute("BEGIN EXCLUSIVE", "checking that no one else uses the SQLite database").await?;
        self.execute("ROLLBACK", "checking that no one else uses the SQLite database").await
    }
}
