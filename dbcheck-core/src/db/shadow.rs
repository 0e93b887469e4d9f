//! Throwaway databases for replay: created and dropped on a server (PostgreSQL, MySQL), or held
//! in memory (SQLite); and the PostgreSQL template databases that cache a replay.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::{ConnectOptions, DatabaseUrl, Db, DbError, Dialect, connect};

/// Prefix of every throwaway database dbcheck creates.
pub const SHADOW_PREFIX: &str = "_dbcheck_shadow_";
/// Prefix of the template databases that cache a replay.
pub const TEMPLATE_PREFIX: &str = "_dbcheck_tpl_";

/// A server on which dbcheck may create and drop its own databases.
#[derive(Debug, Clone)]
pub struct ShadowServer {
    base: DatabaseUrl,
    timeout: Duration,
}

/// A throwaway database: its URL, and its name on the server (`None` for in-memory SQLite).
#[derive(Debug)]
pub struct ShadowDb {
    /// Where to connect.
    pub url: DatabaseUrl,
    /// Its name on the server, for dropping or renaming it.
    pub name: Option<String>,
}

fn unique_suffix() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
    format!("{}_{n}_{:08x}", std::process::id(), (nanos & 0xffff_ffff) as u32)
}

impl ShadowServer {
    /// The server behind `base` (any database on it that the user may connect to).
    pub fn new(base: &DatabaseUrl, timeout: Duration) -> Self {
        ShadowServer { base: base.clone(), timeout }
    }

    /// The server's dialect.
    pub fn dialect(&self) -> Dialect {
        self.base.dialect()
    }

    fn options(&self) -> ConnectOptions {
        ConnectOptions { read_only: false, timeout: self.timeout }
    }

    /// `base` pointing at database `name`.
    pub fn url_of(&self, name: &str) -> Result<DatabaseUrl, DbError> {
        let mut url = url::Url::parse(self.base.expose())
            .map_err(|e| DbError::InvalidUrl { url: self.base.redacted(), reason: e.to_string() })?;
        url.set_path(&format!("/{name}"));
        DatabaseUrl::parse(url.as_str())
    }

    /// Connect writable to the database `name` on this server.
    pub async fn connect_to(&self, name: &str) -> Result<Db, DbError> {
        connect(&self.url_of(name)?, &self.options()).await
    }

    async fn admin(&self) -> Result<Db, DbError> {
        connect(&self.base, &self.options()).await
    }

    /// Create a fresh, uniquely named empty database (`_dbcheck_shadow_…`), optionally as a copy
    /// of the template database `template` (PostgreSQL `CREATE DATABASE … TEMPLATE`).
    pub async fn create(&self, template: Option<&str>) -> Result<ShadowDb, DbError> {
        let name = format!("{SHADOW_PREFIX}{}", unique_suffix());
        let d = self.dialect();
        let sql = match (d, template) {
            (Dialect::Postgres, Some(t)) => {
                format!("CREATE DATABASE {} TEMPLATE {}", d.quote_ident(&name), d.quote_ident(t))
            }
            _ => format!("CREATE DATABASE {}", d.quote_ident(&name)),
        };
        let mut admin = self.admin().await?;
        let created = admin.execute(&sql, "creating the shadow database for replay").await;
        admin.close().await;
        created?;
        Ok(ShadowDb { url: self.url_of(&name)?, name: Some(name) })
    }

    /// Drop database `name` (ending other sessions on PostgreSQL).
    pub async fn drop_database(&self, name: &str) -> Result<(), DbError> {
        let d = self.dialect();
        let sql = match d {
            Dialect::Postgres => format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", d.quote_ident(name)),
            _ => format!("DROP DATABASE IF EXISTS {}", d.quote_ident(name)),
        };
        let mut admin = self.admin().await?;
        let dropped = admin.execute(&sql, "dropping a shadow database").await;
        admin.close().await;
        dropped
    }

    /// Which of `names` exist as databases on the server (one catalog query).
    pub async fn existing(&self, names: &[String]) -> Result<Vec<String>, DbError> {
        if names.is_empty() {
            return Ok(Vec::new());
        }
        let d = self.dialect();
        let list = names.iter().map(|n| d.quote_literal(n)).collect::<Vec<_>>().join(", ");
        let sql = match d {
            Dialect::Postgres => format!("SELECT datname::text FROM pg_catalog.pg_database WHERE datname IN ({list})"),
            _ => format!(
                "SELECT CAST(SCHEMA_NAME AS CHAR) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME IN ({list})"
            ),
        };
        let mut admin = self.admin().await?;
        let rows = admin.text_rows(sql, "looking for cached replays").await;
        admin.close().await;
        Ok(rows?.into_iter().filter_map(|mut r| r.pop().flatten()).collect())
    }

    /// Keep the shadow database `name` as the template `template` for `owner` (PostgreSQL):
    /// rename it and tag it with `owner`, then drop `owner`'s older templates. Another run that
    /// stored the same template first wins; ours is then dropped.
    pub async fn keep_as_template(&self, name: &str, template: &str, owner: &str) -> Result<(), DbError> {
        let d = self.dialect();
        if d != Dialect::Postgres {
            return self.drop_database(name).await;
        }
        let mut admin = self.admin().await?;
        let renamed = admin
            .execute(
                &format!("ALTER DATABASE {} RENAME TO {}", d.quote_ident(name), d.quote_ident(template)),
                "caching the replay",
            )
            .await;
        if renamed.is_err() {
            admin.close().await;
            return self.drop_database(name).await;
        }
        let result = async {
            admin
                .execute(
                    &format!("COMMENT ON DATABASE {} IS {}", d.quote_ident(template), d.quote_literal(owner)),
                    "tagging the cached replay",
                )
                .await?;
            let stale = admin
                .text_rows(
                    format!(
                        "SELECT datname::text FROM pg_catalog.pg_database WHERE datname LIKE '{}%' \
                         AND datname <> {} AND shobj_description(oid, 'pg_database') = {}",
                        TEMPLATE_PREFIX.replace('_', "\\_"),
                        d.quote_literal(template),
                        d.quote_literal(owner)
                    ),
                    "looking for stale cached replays",
                )
                .await?;
            for name in stale.into_iter().filter_map(|mut r| r.pop().flatten()) {
                let _ = admin
                    .execute(
                        &format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", d.quote_ident(&name)),
                        "dropping a stale cached replay",
                    )
                    .await;
            }
            Ok(())
        }
        .await;
        admin.close().await;
        result
    }
}

impl Db {
    /// Start a transaction.
    pub async fn begin(&mut self, context: &str) -> Result<(), DbError> {
        self.execute("BEGIN", context).await
    }

    /// Commit the transaction.
    pub async fn commit(&mut self, context: &str) -> Result<(), DbError> {
        self.execute("COMMIT", context).await
    }

    /// Roll the transaction back.
    pub async fn rollback(&mut self, context: &str) -> Result<(), DbError> {
        self.execute("ROLLBACK", context).await
    }

    /// Session settings for a throwaway database: it needs no durability, so PostgreSQL skips the
    /// flush at every commit.
    pub async fn prepare_throwaway(&mut self) -> Result<(), DbError> {
        match self.dialect() {
            Dialect::Postgres => self.execute("SET synchronous_commit = off", "preparing the shadow database").await,
            _ => Ok(()),
        }
    }

    /// Write this (in-memory) SQLite database to the file `path` (`VACUUM INTO`).
    pub async fn sqlite_save_to(&mut self, path: &std::path::Path) -> Result<(), DbError> {
        // An in-memory connection opens every plain file name it is given in memory too; a
        // `file:` URI with `mode=rwc` reaches the disk.
        let mut uri = String::from("file:");
        for c in path.to_string_lossy().chars() {
            match c {
                '%' | '?' | '#' | ' ' => uri.push_str(&format!("%{:02X}", c as u32)),
                c => uri.push(c),
            }
        }
        uri.push_str("?mode=rwc");
        let target = Dialect::Sqlite.quote_literal(&uri);
        self.execute(&format!("VACUUM INTO {target}"), "caching the replay").await
    }
}
