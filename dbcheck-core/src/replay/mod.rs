//! Replay: apply the migrations, in order and with each tool's transaction semantics, to a
//! throwaway database, and introspect the result — the ground truth of "the schema the migrations
//! produce". SQLite replays in memory; PostgreSQL and MySQL in a shadow database created and
//! dropped on a server. A cache keyed by the migrations' checksums makes repeat runs cheap:
//! PostgreSQL keeps the replayed database as a template (and a run whose migrations extend a
//! cached prefix starts from a `CREATE DATABASE … TEMPLATE` copy of it); SQLite keeps a file.

mod split;

use std::path::{Path, PathBuf};

use serde::Serialize;
use sha2::{Digest, Sha256};

pub use split::split_statements;

use crate::db::{ConnectOptions, DatabaseUrl, Db, DbError, Dialect, IntrospectOptions, ShadowServer, connect};
use crate::migrations::{Discovery, Migration, MigrationKind, TransactionMode};
use crate::report::{Finding, Location, Severity};
use crate::schema::Schema;

/// Where to replay.
#[derive(Debug, Clone)]
pub enum ReplayTarget {
    /// An in-memory SQLite database.
    SqliteMemory,
    /// A shadow database on this server.
    Server(ShadowServer),
}

impl ReplayTarget {
    /// The dialect replayed into.
    pub fn dialect(&self) -> Dialect {
        match self {
            ReplayTarget::SqliteMemory => Dialect::Sqlite,
            ReplayTarget::Server(s) => s.dialect(),
        }
    }
}

/// How to replay.
#[derive(Debug, Clone, Default)]
pub struct ReplayOptions {
    /// What to introspect afterwards.
    pub introspect: IntrospectOptions,
    /// Use and fill the replay cache.
    pub cache: bool,
    /// Folder for SQLite cache files (`target/dbcheck/replay`); no SQLite cache without it.
    pub cache_dir: Option<PathBuf>,
    /// Who owns cache entries (a project identity): storing a new entry drops the owner's older ones.
    pub owner: String,
}

/// How the cache served a replay.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "migrations")]
pub enum CacheUse {
    /// Nothing cached: every migration was applied.
    Miss,
    /// The whole result came from the cache; nothing was applied.
    Hit,
    /// A copy of the cached replay of the first N migrations was extended.
    Prefix(usize),
}

/// The outcome of a replay.
#[derive(Debug, Clone, Serialize)]
pub struct Replay {
    /// The schema the migrations produced (as far as they applied).
    pub schema: Schema,
    /// `replay-failed` when a migration failed; replay stops there.
    pub findings: Vec<Finding>,
    /// How many migrations were applied in this run.
    pub applied: usize,
    /// Whether every migration applied.
    pub complete: bool,
    /// How the cache served it.
    pub cache: CacheUse,
}

/// Failures that stop a replay (a failing migration is a finding, not an error).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReplayError {
    /// The shadow database could not be created, used or dropped.
    #[error(transparent)]
    Db(#[from] DbError),
    /// The SQLite cache folder could not be written.
    #[error("cannot write the replay cache in {}", path.display())]
    Cache {
        /// The folder.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
}

/// The migrations replay applies, in order: versioned then repeatable (undo files are not forward
/// migrations).
pub fn replayed_migrations(discovery: &Discovery) -> Vec<&Migration> {
    discovery.migrations.iter().filter(|m| m.kind != MigrationKind::Unversioned).collect()
}

/// Rolling cache keys: `keys[i]` identifies the state after the first `i` migrations.
fn cache_keys(dialect: Dialect, migrations: &[&Migration]) -> Vec<String> {
    let mut key = Sha256::digest(format!("dbcheck-replay-1 {} {}", env!("CARGO_PKG_VERSION"), dialect).as_bytes());
    let mut keys = vec![hex::encode(key)];
    for m in migrations {
        let mut h = Sha256::new();
        h.update(key);
        h.update(Sha256::digest(&m.bytes));
        h.update([u8::from(m.transaction == TransactionMode::Transaction)]);
        key = h.finalize();
        keys.push(hex::encode(key));
    }
    keys
}

fn template_name(key: &str) -> String {
    format!("_dbcheck_tpl_{}", &key[..24])
}

/// Replay `discovery`'s migrations into a throwaway database on `target` and introspect it.
pub async fn replay_migrations(
    discovery: &Discovery,
    target: &ReplayTarget,
    options: &ReplayOptions,
) -> Result<Replay, ReplayError> {
    let migrations = replayed_migrations(discovery);
    let keys = cache_keys(target.dialect(), &migrations);
    match target {
        ReplayTarget::SqliteMemory => replay_sqlite(&migrations, &keys, options).await,
        ReplayTarget::Server(server) => replay_server(server, &migrations, &keys, options).await,
    }
}

async fn replay_sqlite(
    migrations: &[&Migration],
    keys: &[String],
    options: &ReplayOptions,
) -> Result<Replay, ReplayError> {
    let dir = options.cache_dir.as_ref().filter(|_| options.cache).map(|d| d.join(sanitize(&options.owner)));
    let last = keys.last().map(String::as_str).unwrap_or("");
    let cached = dir.as_ref().map(|d| d.join(format!("{}.sqlite3", &last[..24.min(last.len())])));
    if let Some(file) = cached.as_ref().filter(|f| f.is_file()) {
        let url = DatabaseUrl::parse(&format!("sqlite://{}?mode=ro", encode_path(file)))?;
        let mut db = connect(&url, &ConnectOptions::default()).await?;
        let schema = db.introspect(&options.introspect).await;
        db.close().await;
        return Ok(Replay { schema: schema?, findings: Vec::new(), applied: 0, complete: true, cache: CacheUse::Hit });
    }
    let url = DatabaseUrl::parse("sqlite::memory:")?;
    let mut db = connect(&url, &ConnectOptions { read_only: false, ..ConnectOptions::default() }).await?;
    let (applied, findings) = apply_all(&mut db, migrations).await;
    let complete = findings.is_empty();
    let schema = db.introspect(&options.introspect).await;
    if complete && let (Some(dir), Some(file)) = (&dir, &cached) {
        let stored = store_sqlite(&mut db, dir, file).await;
        if let Err(e) = stored {
            db.close().await;
            return Err(e);
        }
    }
    db.close().await;
    Ok(Replay { schema: schema?, findings, applied, complete, cache: CacheUse::Miss })
}

async fn store_sqlite(db: &mut Db, dir: &Path, file: &Path) -> Result<(), ReplayError> {
    let io = |source| ReplayError::Cache { path: dir.to_path_buf(), source };
    std::fs::create_dir_all(dir).map_err(io)?;
    // Only the newest replay of a project is worth keeping.
    for entry in std::fs::read_dir(dir).map_err(io)?.flatten() {
        let _ = std::fs::remove_file(entry.path());
    }
    // Write beside and rename, so a concurrent reader never sees half a file.
    let tmp = file.with_extension(format!("tmp{}", std::process::id()));
    db.sqlite_save_to(&tmp).await?;
    std::fs::rename(&tmp, file).map_err(io)
}

/// A path as it may appear in a `sqlite://` URL (the characters sqlx would misread encoded).
fn encode_path(path: &Path) -> String {
    let mut out = String::new();
    for c in path.to_string_lossy().chars() {
        match c {
            '%' | '?' | '#' | ' ' => out.push_str(&format!("%{:02X}", c as u32)),
            c => out.push(c),
        }
    }
    out
}

fn sanitize(owner: &str) -> String {
    let digest = Sha256::digest(owner.as_bytes());
    hex::encode(&digest[..8])
}

async fn replay_server(
    server: &ShadowServer,
    migrations: &[&Migration],
    keys: &[String],
    options: &ReplayOptions,
) -> Result<Replay, ReplayError> {
    let use_templates = options.cache && server.dialect() == Dialect::Postgres;
    let mut start_from = 0;
    let mut template = None;
    if use_templates {
        let names: Vec<String> = keys.iter().map(|k| template_name(k)).collect();
        let existing = server.existing(&names).await?;
        if let Some(i) = (0..names.len()).rev().find(|i| existing.contains(&names[*i])) {
            if i == migrations.len() {
                let mut db = server.connect_to(&names[i]).await?;
                let schema = db.introspect(&options.introspect).await;
                db.close().await;
                return Ok(Replay {
                    schema: schema?,
                    findings: Vec::new(),
                    applied: 0,
                    complete: true,
                    cache: CacheUse::Hit,
                });
            }
            start_from = i;
            template = Some(names[i].clone());
        }
    }
    let shadow = match server.create(template.as_deref()).await {
        Ok(shadow) => shadow,
        // A template in use by another session cannot be copied: replay everything instead.
        Err(_) if template.is_some() => {
            template = None;
            start_from = 0;
            server.create(None).await?
        }
        Err(e) => return Err(e.into()),
    };
    let name = shadow.name.clone().unwrap_or_default();
    let outcome = async {
        let mut db = server.connect_to(&name).await?;
        db.prepare_throwaway().await?;
        let (applied, findings) = apply_all(&mut db, &migrations[start_from..]).await;
        let schema = db.introspect(&options.introspect).await;
        db.close().await;
        Ok::<_, DbError>((schema?, applied, findings))
    }
    .await;
    let (schema, applied, findings) = match outcome {
        Ok(o) => o,
        Err(e) => {
            let _ = server.drop_database(&name).await;
            return Err(e.into());
        }
    };
    let complete = findings.is_empty();
    if use_templates && complete {
        let last = keys.last().map(|k| template_name(k)).unwrap_or_default();
        server.keep_as_template(&name, &last, &options.owner).await?;
    } else {
        server.drop_database(&name).await?;
    }
    let cache = if template.is_some() { CacheUse::Prefix(start_from) } else { CacheUse::Miss };
    Ok(Replay { schema, findings, applied, complete, cache })
}

/// Apply `migrations` in order; stop at the first failure, which becomes the one finding.
async fn apply_all(db: &mut Db, migrations: &[&Migration]) -> (usize, Vec<Finding>) {
    let mut applied = 0;
    for m in migrations {
        if let Some(f) = apply_migration(db, m).await {
            return (applied, vec![f]);
        }
        applied += 1;
    }
    (applied, Vec::new())
}

/// Apply one migration statement by statement, in a transaction unless it opts out.
async fn apply_migration(db: &mut Db, m: &Migration) -> Option<Finding> {
    let sql = m.sql();
    let in_tx = m.transaction == TransactionMode::Transaction;
    if in_tx && let Err(e) = db.begin("starting a migration's transaction").await {
        return Some(failure(m, None, &sql, &e));
    }
    for range in split_statements(&sql, db.dialect()) {
        if let Err(e) = db.execute(&sql[range.clone()], "replaying a migration").await {
            if in_tx {
                let _ = db.rollback("rolling back a failed migration").await;
            }
            return Some(failure(m, Some(range), &sql, &e));
        }
    }
    if in_tx && let Err(e) = db.commit("committing a migration").await {
        return Some(failure(m, None, &sql, &e));
    }
    None
}

fn failure(m: &Migration, span: Option<std::ops::Range<usize>>, sql: &str, e: &DbError) -> Finding {
    let reason = match e {
        DbError::Query { reason, .. } => reason.clone(),
        other => other.to_string(),
    };
    let statement = span.as_ref().map(|s| sql[s.clone()].to_owned());
    let location = match span {
        Some(s) => Location::span(&m.path, s),
        None => Location::file(&m.path),
    };
    let mut help = "the migration does not apply to an empty database in order: fix it, or the migration before it; \
                    every database built from these migrations would fail the same way"
        .to_owned();
    if let Some(st) = statement {
        let short: String = st.chars().take(200).collect();
        help.push_str(&format!("\nstatement: {short}"));
    }
    Finding::new(
        "replay-failed",
        Severity::Error,
        format!("migration {} ({}) failed during replay: {}", m.history_key, m.name, reason.trim()),
    )
    .at(location)
    .help(help)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cache_keys_roll_over_every_migration() {
        let m = |bytes: &[u8]| Migration {
            version: crate::migrations::Version::Int(1),
            history_key: "1".into(),
            name: "a".into(),
            path: "1_a.sql".into(),
            bytes: bytes.to_vec(),
            down_path: None,
            transaction: TransactionMode::Transaction,
            kind: MigrationKind::Versioned,
        };
        let (a, b, c) = (m(b"CREATE TABLE a (x int);"), m(b"CREATE TABLE b (x int);"), m(b"CREATE TABLE c (x int);"));
        let k1 = cache_keys(Dialect::Postgres, &[&a, &b]);
        let k2 = cache_keys(Dialect::Postgres, &[&a, &c]);
        assert_eq!(k1.len(), 3);
        assert_eq!(k1[..2], k2[..2], "a shared prefix shares keys");
        assert_ne!(k1[2], k2[2]);
        assert_ne!(cache_keys(Dialect::Sqlite, &[&a])[1], cache_keys(Dialect::Postgres, &[&a])[1]);
        assert!(template_name(&k1[2]).len() < 63);
    }
}
