//! [`TestDb`]: a fresh, uniquely named database on a real server, dropped again on `Drop`.

use std::fmt;
use std::future::Future;
use std::io::Write as _;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use sqlx::{AssertSqlSafe, Connection as _, MySqlConnection, PgConnection, SqliteConnection};

use crate::pg_cluster;

/// Environment variable holding an admin URL for PostgreSQL.
pub const POSTGRES_URL_ENV: &str = "DBCHECK_TEST_POSTGRES_URL";
/// Environment variable holding an admin URL for MySQL/MariaDB.
pub const MYSQL_URL_ENV: &str = "DBCHECK_TEST_MYSQL_URL";

/// How long connecting, creating or dropping a database may take before it counts as a failure.
const TIMEOUT: Duration = Duration::from_secs(60);

/// A database backend the harness can provide.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Backend {
    /// PostgreSQL (server from `DBCHECK_TEST_POSTGRES_URL`, or a throwaway local cluster).
    Postgres,
    /// SQLite (a file in a temporary directory; always available).
    Sqlite,
    /// MySQL or MariaDB (server from `DBCHECK_TEST_MYSQL_URL`).
    Mysql,
}

impl Backend {
    /// All backends.
    pub const ALL: [Backend; 3] = [Backend::Postgres, Backend::Sqlite, Backend::Mysql];
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Backend::Postgres => "PostgreSQL",
            Backend::Sqlite => "SQLite",
            Backend::Mysql => "MySQL",
        })
    }
}

/// A fresh, uniquely named database, dropped (`DROP DATABASE`) when this value is dropped.
///
/// For SQLite it is a file in a temporary directory that is removed on drop.
pub struct TestDb {
    backend: Backend,
    name: String,
    url: String,
    /// Server admin URL used to drop the database (`None` for SQLite).
    admin_url: Option<String>,
    /// Keeps the SQLite file's directory alive.
    _dir: Option<tempfile::TempDir>,
}

impl fmt::Debug for TestDb {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TestDb")
            .field("backend", &self.backend)
            .field("name", &self.name)
            .field("url", &redact(&self.url))
            .finish_non_exhaustive()
    }
}

impl TestDb {
    /// A fresh database of the given backend, or `None` (after a loud `SKIPPED` message) when
    /// that backend is unavailable. Panics instead of skipping when `CI` is set.
    pub async fn new(backend: Backend) -> Option<TestDb> {
        match backend {
            Backend::Postgres => Self::postgres().await,
            Backend::Sqlite => Self::sqlite().await,
            Backend::Mysql => Self::mysql().await,
        }
    }

    /// A fresh PostgreSQL database.
    ///
    /// Uses the server in `DBCHECK_TEST_POSTGRES_URL`; without it, a throwaway cluster started
    /// once per test process with the local `initdb`/`pg_ctl`. Returns `None` (after a loud
    /// `SKIPPED` message) when neither exists; panics instead when `CI` is set, and always panics
    /// when the configured server cannot be used.
    pub async fn postgres() -> Option<TestDb> {
        let admin = match postgres_admin() {
            Ok(admin) => admin,
            Err(why) => return unavailable(Backend::Postgres, &why),
        };
        Some(create_on(Backend::Postgres, admin).await.unwrap_or_else(|e| panic!("{e}")))
    }

    /// A fresh MySQL/MariaDB database on the server in `DBCHECK_TEST_MYSQL_URL`.
    ///
    /// Returns `None` (after a loud `SKIPPED` message) when the variable is unset; panics instead
    /// when `CI` is set, and always panics when the configured server cannot be used.
    pub async fn mysql() -> Option<TestDb> {
        let Some(admin) = env_nonempty(MYSQL_URL_ENV) else {
            return unavailable(
                Backend::Mysql,
                &format!(
                    "no MySQL/MariaDB available (set {MYSQL_URL_ENV}, \
                     e.g. mysql://root@127.0.0.1:3306/mysql)"
                ),
            );
        };
        Some(create_on(Backend::Mysql, admin).await.unwrap_or_else(|e| panic!("{e}")))
    }

    /// A fresh SQLite database file in a temporary directory (always available).
    ///
    /// The file is created right away; its URL carries `?mode=rwc`.
    pub async fn sqlite() -> Option<TestDb> {
        let dir = tempfile::Builder::new()
            .prefix("dbcheck-sqlite-")
            .tempdir()
            .unwrap_or_else(|e| panic!("cannot create a temporary directory for SQLite: {e}"));
        let name = unique_name();
        let path = dir.path().join(format!("{name}.sqlite3"));
        let url = sqlite_url(&path);
        let conn = SqliteConnection::connect(&url)
            .await
            .unwrap_or_else(|e| panic!("cannot create SQLite database {url}: {e}"));
        // Closing only flushes; the file already exists.
        let _ = conn.close().await;
        Some(TestDb { backend: Backend::Sqlite, name, url, admin_url: None, _dir: Some(dir) })
    }

    /// The sqlx URL of this database (`postgres://…`, `mysql://…` or `sqlite://<path>?mode=rwc`).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// This database's backend.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The database name (for SQLite, the file stem).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Runs a (multi-statement) SQL script on this database, panicking with the error on failure.
    ///
    /// The script is sent as-is (`sqlx::raw_sql`), so statements that cannot run inside an
    /// implicit transaction (e.g. PostgreSQL `CREATE INDEX CONCURRENTLY`) must be sent alone.
    pub async fn execute(&self, sql: &str) {
        let script = AssertSqlSafe(sql.to_owned());
        let result = match self.backend {
            Backend::Postgres => run_script::<PgConnection>(&self.url, script).await,
            Backend::Mysql => run_script::<MySqlConnection>(&self.url, script).await,
            Backend::Sqlite => run_script::<SqliteConnection>(&self.url, script).await,
        };
        if let Err(e) = result {
            panic!(
                "SQL script failed on {} database {}: {}\n--- script ---\n{sql}\n--------------",
                self.backend,
                self.name,
                scrub(&e, &self.url)
            );
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        // SQLite: the temporary directory removes itself.
        let Some(admin) = self.admin_url.clone() else {
            return;
        };
        let (backend, name) = (self.backend, self.name.clone());
        let redacted_admin = redact(&admin);
        // `Drop` is synchronous and may run inside a runtime: use a fresh thread with its own.
        let spawned = std::thread::Builder::new().name(format!("drop-{name}")).spawn(move || -> Result<(), String> {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| format!("cannot build a tokio runtime: {e}"))?;
            rt.block_on(with_timeout(drop_database(backend, &admin, &name))).map_err(|e| scrub(&e, &admin))
        });
        let outcome = match spawned {
            Ok(handle) => handle.join().unwrap_or_else(|_| Err("the drop thread panicked".to_owned())),
            Err(e) => Err(format!("cannot spawn the drop thread: {e}")),
        };
        if let Err(e) = outcome {
            loud(&format!(
                "warning: could not drop {} test database {} on {redacted_admin}: {e}",
                self.backend, self.name
            ));
        }
    }
}

/// The admin URL the harness uses for `backend`: the environment variable's value, or for
/// PostgreSQL without it the throwaway cluster's (starting it if needed). `None` for SQLite and
/// for unavailable servers.
pub fn admin_url(backend: Backend) -> Option<String> {
    match backend {
        Backend::Postgres => postgres_admin().ok(),
        Backend::Mysql => env_nonempty(MYSQL_URL_ENV),
        Backend::Sqlite => None,
    }
}

/// `url` with any password (in the user info or a `password=` query parameter) replaced by `***`.
pub fn redact(url: &str) -> String {
    let mut out = url.to_owned();
    if let Some((start, end)) = userinfo_password_span(url) {
        out.replace_range(start..end, "***");
    }
    if let Some(q) = out.find('?') {
        let (head, query) = out.split_at(q + 1);
        let query = query
            .split('&')
            .map(|pair| match pair.split_once('=') {
                Some((key, _)) if key.eq_ignore_ascii_case("password") => format!("{key}=***"),
                _ => pair.to_owned(),
            })
            .collect::<Vec<_>>()
            .join("&");
        out = format!("{head}{query}");
    }
    out
}

/// Byte range of the password in `scheme://user:password@host…`, if there is one.
fn userinfo_password_span(url: &str) -> Option<(usize, usize)> {
    let auth_start = url.find("://")? + 3;
    let rest = &url[auth_start..];
    // The user info ends at the last `@` before the query/fragment, so that unencoded `@` or `/`
    // in a password are still covered.
    let before_query = rest.find(['?', '#']).unwrap_or(rest.len());
    let at = rest[..before_query].rfind('@')?;
    let colon = rest[..at].find(':')?;
    Some((auth_start + colon + 1, auth_start + at))
}

/// `message` with `url`'s password (raw and percent-decoded) and the URL itself redacted.
fn scrub(message: &str, url: &str) -> String {
    let mut out = message.replace(url, &redact(url));
    if let Some((start, end)) = userinfo_password_span(url) {
        let raw = &url[start..end];
        // Very short passwords would garble the message; sqlx does not print them anyway.
        for secret in [raw.to_owned(), percent_decode(raw)] {
            if secret.len() >= 4 {
                out = out.replace(&secret, "***");
            }
        }
    }
    out
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(b)) => {
                out.push(b);
                i += 3;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A new database name: `dbcheck_t_<pid>_<counter>_<time-derived hex>`, valid unquoted in both
/// PostgreSQL and MySQL and well under their 63/64-byte limits.
pub(crate) fn unique_name() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
    format!("dbcheck_t_{}_{n}_{:08x}", std::process::id(), (nanos & 0xffff_ffff) as u32)
}

/// Whether the value of `CI` forbids skipping (set, non-empty, not `0`/`false`).
pub(crate) fn ci_forbids_skip(ci: Option<&str>) -> bool {
    match ci.map(str::trim) {
        None | Some("") | Some("0") => false,
        Some(v) => !v.eq_ignore_ascii_case("false"),
    }
}

fn env_nonempty(key: &str) -> Option<String> {
    std::env::var(key).ok().filter(|v| !v.trim().is_empty())
}

/// The PostgreSQL admin URL: from the environment, else the throwaway cluster.
fn postgres_admin() -> Result<String, String> {
    if let Some(url) = env_nonempty(POSTGRES_URL_ENV) {
        return Ok(url);
    }
    pg_cluster::throwaway().map(|cluster| cluster.admin_url.clone()).map_err(|why| {
        format!(
            "no PostgreSQL available (set {POSTGRES_URL_ENV}, \
                 e.g. postgres://postgres@127.0.0.1:5432/postgres, or install PostgreSQL so that \
                 `initdb` can start a throwaway cluster): {why}"
        )
    })
}

/// Writes straight to the process's stderr, bypassing libtest's output capture, so that the
/// message shows even for passing tests.
pub(crate) fn loud(message: &str) {
    let _ = writeln!(std::io::stderr().lock(), "{message}");
}

/// Skips (returning `None` after a loud message) or, in CI, panics.
fn unavailable(backend: Backend, why: &str) -> Option<TestDb> {
    let who = std::thread::current()
        .name()
        .filter(|n| *n != "main" && !n.starts_with("tokio-runtime"))
        .map(|n| format!("{n} ({backend})"))
        .unwrap_or_else(|| backend.to_string());
    if ci_forbids_skip(std::env::var("CI").ok().as_deref()) {
        panic!("{who}: {why}\n(`CI` is set: skipping a database test is forbidden in CI)");
    }
    loud(&format!("SKIPPED {who}: {why}"));
    None
}

async fn with_timeout<T>(fut: impl Future<Output = Result<T, String>>) -> Result<T, String> {
    tokio::time::timeout(TIMEOUT, fut).await.unwrap_or_else(|_| Err(format!("timed out after {}s", TIMEOUT.as_secs())))
}

async fn connect<C: sqlx::Connection>(url: &str) -> Result<C, String> {
    with_timeout(async { C::connect(url).await.map_err(|e| e.to_string()) }).await
}

async fn run_script<C>(url: &str, script: AssertSqlSafe<String>) -> Result<(), String>
where
    C: sqlx::Connection,
    for<'c> &'c mut C: sqlx::Executor<'c, Database = C::Database>,
{
    run_on(connect::<C>(url).await?, script).await
}

async fn run_on<C>(mut conn: C, script: AssertSqlSafe<String>) -> Result<(), String>
where
    C: sqlx::Connection,
    for<'c> &'c mut C: sqlx::Executor<'c, Database = C::Database>,
{
    sqlx::raw_sql(script).execute(&mut conn).await.map_err(|e| e.to_string())?;
    conn.close().await.map_err(|e| e.to_string())
}

/// Creates a fresh database on the server behind `admin` (PostgreSQL or MySQL).
pub(crate) async fn create_on(backend: Backend, admin: String) -> Result<TestDb, String> {
    let name = unique_name();
    let fail = |what: &str, e: String| {
        format!(
            "{backend} test database server at {} is configured but unusable: {what}: {}",
            redact(&admin),
            scrub(&e, &admin)
        )
    };
    let url = database_url(&admin, &name).map_err(|e| fail("bad URL", e))?;
    let create = match backend {
        Backend::Postgres => format!("CREATE DATABASE \"{name}\""),
        Backend::Mysql => format!("CREATE DATABASE `{name}`"),
        Backend::Sqlite => return Err("create_on is only for server backends".to_owned()),
    };
    match backend {
        Backend::Postgres => {
            let conn = connect::<PgConnection>(&admin).await.map_err(|e| fail("cannot connect", e))?;
            run_on(conn, AssertSqlSafe(create)).await
        }
        _ => {
            let conn = connect::<MySqlConnection>(&admin).await.map_err(|e| fail("cannot connect", e))?;
            run_on(conn, AssertSqlSafe(create)).await
        }
    }
    .map_err(|e| fail("CREATE DATABASE failed", e))?;
    Ok(TestDb { backend, name, url, admin_url: Some(admin), _dir: None })
}

async fn drop_database(backend: Backend, admin: &str, name: &str) -> Result<(), String> {
    match backend {
        Backend::Postgres => {
            let sql = format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)");
            run_script::<PgConnection>(admin, AssertSqlSafe(sql)).await
        }
        Backend::Mysql => {
            let mut conn = connect::<MySqlConnection>(admin).await?;
            // A leftover connection holding a metadata lock would make DROP DATABASE wait:
            // end the sessions still using the database first (best effort).
            let ids: Vec<u64> =
                sqlx::query_scalar("SELECT CAST(ID AS UNSIGNED) FROM information_schema.PROCESSLIST WHERE DB = ?")
                    .bind(name)
                    .fetch_all(&mut conn)
                    .await
                    .unwrap_or_default();
            for id in ids {
                let kill = format!("KILL CONNECTION {id}");
                let _ = sqlx::raw_sql(AssertSqlSafe(kill)).execute(&mut conn).await;
            }
            let sql = format!("DROP DATABASE IF EXISTS `{name}`");
            sqlx::raw_sql(AssertSqlSafe(sql)).execute(&mut conn).await.map_err(|e| e.to_string())?;
            conn.close().await.map_err(|e| e.to_string())
        }
        Backend::Sqlite => Ok(()),
    }
}

/// `admin` with its database (the path) replaced by `name`.
fn database_url(admin: &str, name: &str) -> Result<String, String> {
    let mut url = url::Url::parse(admin).map_err(|e| e.to_string())?;
    if url.cannot_be_a_base() {
        return Err("not a server URL".to_owned());
    }
    url.set_path(&format!("/{name}"));
    Ok(url.into())
}

/// `sqlite://<path>?mode=rwc`, percent-encoding the characters sqlx would misread.
fn sqlite_url(path: &Path) -> String {
    let mut encoded = String::new();
    for c in path.to_string_lossy().chars() {
        match c {
            '%' | '?' | '#' | ' ' => encoded.push_str(&format!("%{:02X}", c as u32)),
            c => encoded.push(c),
        }
    }
    format!("sqlite://{encoded}?mode=rwc")
}
