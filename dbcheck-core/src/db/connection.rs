//! Opening connections per dialect and running text-returning queries over them.

use std::str::FromStr;
use std::time::Duration;

use sqlx::mysql::{MySqlConnectOptions, MySqlConnection, MySqlDatabaseError};
use sqlx::postgres::{PgConnectOptions, PgConnection};
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection};
use sqlx::{AssertSqlSafe, ConnectOptions as _, Connection as _};

use super::{DatabaseUrl, DbError, Dialect};

/// How to open a connection.
#[derive(Debug, Clone)]
pub struct ConnectOptions {
    /// Refuse writes at the session level (and never create a SQLite file).
    pub read_only: bool,
    /// Give up connecting after this long.
    pub timeout: Duration,
}

impl Default for ConnectOptions {
    fn default() -> Self {
        ConnectOptions { read_only: true, timeout: Duration::from_secs(10) }
    }
}

pub(super) enum Conn {
    Postgres(PgConnection),
    Sqlite(SqliteConnection),
    Mysql(MySqlConnection),
}

/// An open connection to one database.
pub struct Db {
    url: DatabaseUrl,
    pub(super) conn: Conn,
    /// SQLite's deploy lock: an exclusively locked file beside the database, held for a whole
    /// `migrate deploy` run (released on close, or by the OS when the process dies).
    pub(super) deploy_lock_file: Option<std::fs::File>,
}

impl std::fmt::Debug for Db {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Db").field("url", &self.url).finish_non_exhaustive()
    }
}

/// Connect to `url`, classifying failures as unreachable / authentication / missing database.
pub async fn connect(url: &DatabaseUrl, options: &ConnectOptions) -> Result<Db, DbError> {
    let attempt = async {
        Ok::<Conn, sqlx::Error>(match url.dialect() {
            Dialect::Postgres => {
                let mut opts = PgConnectOptions::from_str(url.expose())?;
                if options.read_only {
                    opts = opts.options([("default_transaction_read_only", "on")]);
                }
                Conn::Postgres(opts.connect().await?)
            }
            Dialect::Mysql => {
                let opts = MySqlConnectOptions::from_str(url.expose())?;
                let mut conn = opts.connect().await?;
                if options.read_only {
                    sqlx::raw_sql("SET SESSION TRANSACTION READ ONLY").execute(&mut conn).await?;
                }
                Conn::Mysql(conn)
            }
            Dialect::Sqlite => {
                // REGEXP (Rust regex syntax) for integrity's `regex` rules; SQLite has none built in.
                let mut opts = SqliteConnectOptions::from_str(url.expose())?.with_regexp();
                if options.read_only {
                    opts = opts.read_only(true).create_if_missing(false);
                }
                let file = opts.get_filename();
                let in_memory = file.as_os_str().is_empty() || file.to_string_lossy().contains(":memory:");
                if !in_memory && !opts.get_filename().exists() && options.read_only {
                    return Err(sqlx::Error::Database(Box::new(MissingSqliteFile)));
                }
                Conn::Sqlite(opts.connect().await?)
            }
        })
    };
    let conn = match tokio::time::timeout(options.timeout, attempt).await {
        Ok(Ok(conn)) => conn,
        Ok(Err(e)) => return Err(classify(url, e)),
        Err(_) => {
            return Err(DbError::Unreachable {
                url: url.redacted(),
                reason: format!("no answer within {} s", options.timeout.as_secs()),
            });
        }
    };
    Ok(Db { url: url.clone(), conn, deploy_lock_file: None })
}

/// Stand-in database error for "the SQLite file does not exist", so `classify` sees one shape.
#[derive(Debug)]
struct MissingSqliteFile;

impl std::fmt::Display for MissingSqliteFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SQLite database file does not exist")
    }
}

impl std::error::Error for MissingSqliteFile {}

impl sqlx::error::DatabaseError for MissingSqliteFile {
    fn message(&self) -> &str {
        "SQLite database file does not exist"
    }
    fn code(&self) -> Option<std::borrow::Cow<'_, str>> {
        Some("dbcheck-missing-file".into())
    }
    fn as_error(&self) -> &(dyn std::error::Error + Send + Sync + 'static) {
        self
    }
    fn as_error_mut(&mut self) -> &mut (dyn std::error::Error + Send + Sync + 'static) {
        self
    }
    fn into_error(self: Box<Self>) -> Box<dyn std::error::Error + Send + Sync + 'static> {
        self
    }
    fn kind(&self) -> sqlx::error::ErrorKind {
        sqlx::error::ErrorKind::Other
    }
}

/// The server's own message for a database error (without sqlx's prefix), else the error text.
fn server_message(err: &sqlx::Error) -> String {
    match err {
        sqlx::Error::Database(db) => db.message().to_owned(),
        other => other.to_string(),
    }
}

fn classify(url: &DatabaseUrl, err: sqlx::Error) -> DbError {
    let reason = url.scrub(&err.to_string());
    let redacted = url.redacted();
    match &err {
        sqlx::Error::Database(db) => {
            let code = db.code().map(|c| c.into_owned()).unwrap_or_default();
            let mysql_number = db.try_downcast_ref::<MySqlDatabaseError>().map(|e| e.number());
            match (code.as_str(), mysql_number) {
                ("28P01" | "28000", _) | (_, Some(1044 | 1045 | 1698)) => DbError::AuthFailed { url: redacted, reason },
                ("3D000" | "dbcheck-missing-file", _) | (_, Some(1049)) => DbError::DatabaseMissing { url: redacted },
                // SQLITE_CANTOPEN
                ("14", _) => DbError::DatabaseMissing { url: redacted },
                _ => DbError::Unreachable { url: redacted, reason },
            }
        }
        sqlx::Error::Configuration(_) => DbError::InvalidUrl { url: redacted, reason },
        _ => DbError::Unreachable { url: redacted, reason },
    }
}

impl Db {
    /// The dialect of this connection.
    pub fn dialect(&self) -> Dialect {
        self.url.dialect()
    }

    /// The URL this connection was opened from.
    pub fn url(&self) -> &DatabaseUrl {
        &self.url
    }

    /// Run `sql` and return every column of every row as optional text. Callers cast in SQL so
    /// that one decoder serves all dialects.
    pub(crate) async fn text_rows(&mut self, sql: String, context: &str) -> Result<Vec<Vec<Option<String>>>, DbError> {
        let sql = AssertSqlSafe(sql);
        let result = match &mut self.conn {
            Conn::Postgres(c) => sqlx::query(sql).fetch_all(c).await.and_then(text_cells),
            Conn::Sqlite(c) => sqlx::query(sql).fetch_all(c).await.and_then(text_cells),
            Conn::Mysql(c) => sqlx::query(sql).fetch_all(c).await.and_then(text_cells),
        };
        result.map_err(|e| self.query_error(context, &e))
    }

    /// [`Db::text_rows`] over the simple (text) protocol, for statements a server will not
    /// prepare (MySQL's `SHOW CREATE TRIGGER`, say), whose columns the caller cannot cast: a
    /// cell that is not text (a `Created` timestamp) reads as `None`.
    pub(crate) async fn text_rows_unprepared(
        &mut self,
        sql: String,
        context: &str,
    ) -> Result<Vec<Vec<Option<String>>>, DbError> {
        let sql = AssertSqlSafe(sql);
        let result = match &mut self.conn {
            Conn::Postgres(c) => sqlx::raw_sql(sql).fetch_all(c).await.map(text_cells_or_none),
            Conn::Sqlite(c) => sqlx::raw_sql(sql).fetch_all(c).await.map(text_cells_or_none),
            Conn::Mysql(c) => sqlx::raw_sql(sql).fetch_all(c).await.map(text_cells_or_none),
        };
        result.map_err(|e| self.query_error(context, &e))
    }

    fn query_error(&self, context: &str, e: &sqlx::Error) -> DbError {
        DbError::Query { url: self.url.redacted(), context: context.to_owned(), reason: self.url.scrub(&e.to_string()) }
    }

    /// Run `sql` (one statement or a script of several) and discard any rows. Errors carry the
    /// server's message, scrubbed of secrets.
    pub async fn execute(&mut self, sql: &str, context: &str) -> Result<(), DbError> {
        let sql = AssertSqlSafe(sql.to_owned());
        let result = match &mut self.conn {
            Conn::Postgres(c) => sqlx::raw_sql(sql).execute(c).await.map(drop),
            Conn::Sqlite(c) => sqlx::raw_sql(sql).execute(c).await.map(drop),
            Conn::Mysql(c) => sqlx::raw_sql(sql).execute(c).await.map(drop),
        };
        result.map_err(|e| DbError::Query {
            url: self.url.redacted(),
            context: context.to_owned(),
            reason: self.url.scrub(&server_message(&e)),
        })
    }

    /// Close the connection cleanly.
    pub async fn close(self) {
        let _ = match self.conn {
            Conn::Postgres(c) => c.close().await,
            Conn::Sqlite(c) => c.close().await,
            Conn::Mysql(c) => c.close().await,
        };
    }
}

/// Every cell of `rows` as text (`None` for SQL NULL).
fn text_cells<R: sqlx::Row>(rows: Vec<R>) -> Result<Vec<Vec<Option<String>>>, sqlx::Error>
where
    for<'r> Option<String>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    usize: sqlx::ColumnIndex<R>,
{
    rows.iter().map(|row| (0..row.len()).map(|i| row.try_get::<Option<String>, _>(i)).collect()).collect()
}

/// Every cell of `rows` as text; `None` for SQL NULL and for cells that are not text.
fn text_cells_or_none<R: sqlx::Row>(rows: Vec<R>) -> Vec<Vec<Option<String>>>
where
    for<'r> Option<String>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    usize: sqlx::ColumnIndex<R>,
{
    rows.iter()
        .map(|row| (0..row.len()).map(|i| row.try_get::<Option<String>, _>(i).ok().flatten()).collect())
        .collect()
}
