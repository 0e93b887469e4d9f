//! `backup`: one generation — the dump, the history, references and schema from the same
//! snapshot, the files copied after it, and the manifest — written into a temporary folder and
//! renamed into place only when complete.
//!
//! Where the snapshot comes from, per dialect: PostgreSQL exports it and `pg_dump --snapshot`
//! imports it; SQLite's `VACUUM INTO` copy is read afterwards; MySQL/MariaDB's is `mysqldump
//! --single-transaction`'s, and everything else is read from the dump itself, loaded into a
//! scratch database.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::ffi::OsStr;
use std::fs;
use std::os::unix::ffi::OsStrExt as _;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;

use futures_util::TryStreamExt as _;
use serde::Serialize;

use super::copy::{self, CopyJob};
use super::manifest::{FORMAT, MANIFEST, Manifest, ReferenceSummary, RootInfo};
use super::store::{self, TMP_PREFIX};
use super::tools::{
    MysqlConnArgs, MysqlProgram, PgTool, find_mysql_tool, find_pg_tool, libpq_args, mysql_dump_problem, run_tool,
};
use super::{BackupError, BackupSettings, FileEntry, IncludeUploads, Progress};
use crate::db::{
    ConnectOptions, DatabaseUrl, Db, Dialect, IntrospectOptions, RefQuery, SHADOW_PREFIX, ShadowServer, Snapshot,
    connect,
};
use crate::files::FilesEntry;
use crate::files::path::{Resolved, resolve};
use crate::migrations::HistoryTool;
use crate::status::HistoryChoice;

/// Snapshots taken before missing referenced files fail the backup.
const MISSING_ATTEMPTS: u32 = 3;
/// Where a MySQL/MariaDB generation holds its dump.
const MYSQL_DUMP: &str = "db/dump.sql";
/// In a generation being written: the name of the MySQL scratch database while it exists, so a
/// run after a killed one can drop it.
const SCRATCH_MARKER: &str = ".scratch-database";

/// What `backup` needs besides the database URL.
#[derive(Debug, Clone)]
pub struct BackupOptions {
    /// `[backup]`.
    pub settings: BackupSettings,
    /// `[[files]]`.
    pub files: Vec<FilesEntry>,
    /// How to connect.
    pub connect: ConnectOptions,
    /// Namespaces of the schema snapshot (PostgreSQL).
    pub schemas: Vec<String>,
    /// The configured history table, if any.
    pub history: Option<HistoryChoice>,
    /// `backup`, or `safety` (taken by restore; not counted by retention).
    pub kind: String,
    /// Configuration files to keep a copy of.
    pub config_files: Vec<PathBuf>,
    /// `.env` files whose keys go into the env template (values removed).
    pub env_files: Vec<PathBuf>,
    /// Counters for a progress display.
    pub progress: Option<Arc<Progress>>,
    /// Apply retention after writing.
    pub prune: bool,
    /// Files copied at a time.
    pub threads: usize,
    /// Record referenced files that cannot be copied instead of failing (the safety backup of a
    /// restore, which must save whatever is there).
    pub allow_missing: bool,
}

/// What one `backup` did.
#[derive(Debug, Clone, Serialize)]
pub struct BackupOutcome {
    /// The generation id.
    pub id: String,
    /// Its folder.
    pub path: PathBuf,
    /// Files in it.
    pub files: usize,
    /// Bytes in it.
    pub total_bytes: u64,
    /// Upload bytes hard-linked from the previous generation (no second copy).
    pub linked_bytes: u64,
    /// Upload bytes copied.
    pub copied_bytes: u64,
    /// The dump's size.
    pub dump_bytes: u64,
    /// Whether the previous generation's dump was reused (nothing written on the server since).
    pub dump_reused: bool,
    /// The snapshot.
    pub snapshot: Snapshot,
    /// The newest applied migration.
    pub migration_version: Option<String>,
    /// Leftovers of interrupted runs removed first.
    pub cleaned: Vec<String>,
    /// Generations deleted by retention.
    pub pruned: Vec<String>,
}

/// Everything read inside the snapshot.
struct SnapshotData {
    history_table: Option<String>,
    migration_version: Option<String>,
    row_counts: BTreeMap<String, u64>,
    references: ReferenceSummary,
    /// Per root index: the relative paths referenced.
    referenced: Vec<BTreeSet<Vec<u8>>>,
    meta: Vec<FileEntry>,
    /// MySQL: the database's default character set and collation.
    database_charset: Option<(String, String)>,
}

/// Roots, deduplicated in configuration order, with the entries pointing into each.
pub(crate) fn roots_of(files: &[FilesEntry]) -> Vec<RootInfo> {
    let mut roots: Vec<RootInfo> = Vec::new();
    for e in files {
        match roots.iter_mut().find(|r| r.root == e.root) {
            Some(r) => r.entries.push(e.label()),
            None => roots.push(RootInfo { index: roots.len(), root: e.root.clone(), entries: vec![e.label()] }),
        }
    }
    roots
}

fn csv_field(v: &str) -> String {
    if v.contains([',', '"', '\n', '\r']) { format!("\"{}\"", v.replace('"', "\"\"")) } else { v.to_owned() }
}

async fn read_snapshot(
    db: &mut Db,
    opts: &BackupOptions,
    roots: &[RootInfo],
    gen_dir: &Path,
) -> Result<SnapshotData, BackupError> {
    let mut meta = Vec::new();
    // History: the configured table, else every tool's default table that exists (first wins).
    let mut candidates: Vec<(HistoryTool, String)> =
        HistoryTool::ALL.iter().map(|t| (*t, t.default_table().to_owned())).collect();
    if let Some(c) = &opts.history {
        candidates.retain(|(t, _)| *t != c.tool);
        candidates.insert(0, (c.tool, c.table.clone()));
    }
    let existing = db.existing_history_tables(&candidates).await?;
    let (mut history_table, mut migration_version) = (None, None);
    if let Some((tool, table)) = existing.first() {
        let rows = db.read_history(*tool, table).await?;
        migration_version = rows.iter().filter(|r| !r.repeatable).map(|r| r.key.clone()).max_by(|a, b| {
            match (a.parse::<u128>(), b.parse::<u128>()) {
                (Ok(x), Ok(y)) => x.cmp(&y),
                _ => a.cmp(b),
            }
        });
        history_table = Some(table.clone());
        let json = serde_json::to_vec_pretty(&rows).unwrap_or_default();
        meta.push(copy::write_file(gen_dir, "meta/history.json", &json)?);
        let mut csv = String::from("version,name,checksum,applied_at,outcome\n");
        for r in &rows {
            let outcome = serde_json::to_value(r.outcome).ok().and_then(|v| v.as_str().map(str::to_owned));
            csv.push_str(&format!(
                "{},{},{},{},{}\n",
                csv_field(&r.key),
                csv_field(r.name.as_deref().unwrap_or("")),
                csv_field(r.checksum.as_deref().unwrap_or("")),
                csv_field(r.applied_at.as_deref().unwrap_or("")),
                outcome.unwrap_or_default()
            ));
        }
        meta.push(copy::write_file(gen_dir, "meta/history.csv", csv.as_bytes())?);
    }
    // References, in the same snapshot, resolved with the files check's path rules.
    let mut referenced = vec![BTreeSet::new(); roots.len()];
    let mut summary = ReferenceSummary::default();
    let mut row_counts = BTreeMap::new();
    let mut refs_jsonl = Vec::new();
    db.prepare_file_scan().await?;
    for e in &opts.files {
        let c = &e.config;
        // A safety backup saves whatever is there, even a database without the tables yet.
        if opts.allow_missing && !db.table_exists(&c.table).await? {
            continue;
        }
        let root = roots.iter().find(|r| r.root == e.root).map_or(0, |r| r.index);
        let key = match &c.key {
            Some(k) => k.clone(),
            None => db.primary_key(&c.table).await?.unwrap_or_else(|| c.column.clone()),
        };
        let q = RefQuery {
            table: &c.table,
            column: &c.column,
            key: &key,
            filter: c.filter.as_deref(),
            size_column: None,
            sha256_column: None,
        };
        let mut stream = db.file_refs(&q);
        while let Some(row) = stream.try_next().await? {
            summary.references += 1;
            let file = match resolve(
                &row.value,
                c.strip_prefix.as_deref().map(str::as_bytes),
                c.prefix.as_deref().map(|p| p.trim_end_matches('/').as_bytes()),
            ) {
                Resolved::Rel(rel) => {
                    let name = format!("files/{root}/{}", String::from_utf8_lossy(&rel));
                    referenced[root].insert(rel);
                    Some(name)
                }
                Resolved::PrefixMismatch | Resolved::Unsafe(_) => {
                    summary.not_paths += 1;
                    None
                }
            };
            let line = serde_json::json!({
                "entry": e.label(),
                "key": row.key,
                "value": String::from_utf8_lossy(&row.value),
                "file": file,
            });
            refs_jsonl.extend_from_slice(line.to_string().as_bytes());
            refs_jsonl.push(b'\n');
        }
        drop(stream);
        row_counts.insert(c.table.clone(), db.count_rows(&c.table, None).await?);
        if let Some(p) = &c.parent
            && (!opts.allow_missing || db.table_exists(&p.table).await?)
        {
            row_counts.insert(p.table.clone(), db.count_rows(&p.table, None).await?);
        }
    }
    summary.files = referenced.iter().map(|s| s.len() as u64).sum();
    meta.push(copy::write_file(gen_dir, "meta/refs.jsonl", &refs_jsonl)?);
    let schema =
        db.introspect(&IntrospectOptions { schemas: opts.schemas.clone(), exclude_tables: Vec::new() }).await?;
    meta.push(copy::write_file(gen_dir, "meta/schema.json", &serde_json::to_vec_pretty(&schema).unwrap_or_default())?);
    Ok(SnapshotData {
        history_table,
        migration_version,
        row_counts,
        references: summary,
        referenced,
        meta,
        database_charset: None,
    })
}

/// The generation's entry for a file a tool wrote into it (made 0600 first).
fn tool_written_entry(gen_dir: &Path, rel: &str) -> Result<FileEntry, BackupError> {
    let path = gen_dir.join(rel);
    fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).map_err(BackupError::io("cannot write", &path))?;
    let (size, sha256) = copy::hash_file(&path).map_err(BackupError::io("cannot read", &path))?;
    Ok(FileEntry { path: rel.to_owned(), size, sha256, source_mtime_ns: None })
}

/// `meta/schema.sql` of a PostgreSQL generation: `pg_dump --schema-only` of the same exported
/// snapshot as the dump.
fn pg_schema_sql(
    pg_dump: &PgTool,
    snapshot: &Snapshot,
    url: &DatabaseUrl,
    gen_dir: &Path,
) -> Result<FileEntry, BackupError> {
    let rel = "meta/schema.sql";
    copy::make_dirs(&gen_dir.join("meta"))?;
    let (conn, password) = libpq_args(url);
    let mut cmd = Command::new(&pg_dump.path);
    cmd.arg(format!("--snapshot={}", snapshot.id.clone().unwrap_or_default()))
        .arg("--schema-only")
        .arg("--no-password")
        .arg("-f")
        .arg(gen_dir.join(rel))
        .arg("-d")
        .arg(conn)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    if let Some(p) = password {
        cmd.env("PGPASSWORD", p);
    }
    run_tool(cmd, "pg_dump --schema-only", url)?;
    tool_written_entry(gen_dir, rel)
}

/// `meta/schema.sql` of a MySQL generation: the dump without its data. `mysqldump --add-locks`
/// writes each table's data between a `LOCK TABLES … WRITE;` and an `UNLOCK TABLES;` line, and
/// no data line can start with either (a row line starts with `(` or `INSERT`; newlines inside
/// values are escaped), so those blocks are left out whole.
fn mysql_schema_sql(dump: &Path, gen_dir: &Path) -> Result<FileEntry, BackupError> {
    use std::io::BufRead as _;
    let f = fs::File::open(dump).map_err(BackupError::io("cannot read", dump))?;
    let mut reader = std::io::BufReader::new(f);
    let mut out = Vec::new();
    let mut line = Vec::new();
    let mut in_data = false;
    loop {
        line.clear();
        let n = reader.read_until(b'\n', &mut line).map_err(BackupError::io("cannot read", dump))?;
        if n == 0 {
            break;
        }
        if !in_data && line.starts_with(b"LOCK TABLES ") {
            in_data = true;
        } else if in_data && line.starts_with(b"UNLOCK TABLES;") {
            in_data = false;
        } else if !in_data {
            out.extend_from_slice(&line);
        }
    }
    copy::write_file(gen_dir, "meta/schema.sql", &out)
}

/// MySQL/MariaDB: `mysqldump --single-transaction` of the database, then the dump loaded into a
/// scratch database from which the history, references, row counts and schema are read — so they
/// describe exactly the dump's snapshot.
async fn mysql_generation(
    url: &DatabaseUrl,
    opts: &BackupOptions,
    roots: &[RootInfo],
    tmp: &Path,
    tools: &mut BTreeMap<String, String>,
    db: &mut Db,
) -> Result<(Snapshot, SnapshotData), BackupError> {
    let snapshot = db.begin_snapshot().await?;
    let loose = db.mysql_nontransactional_tables().await?;
    if !loose.is_empty() {
        return Err(BackupError::Invalid(format!(
            "mysqldump --single-transaction reads only InnoDB tables from its snapshot; these tables would not be consistent with the rest: {}",
            loose.join(", ")
        )));
    }
    let bin_dir = opts.settings.mysql_bin_dir.as_deref();
    let dump_tool = find_mysql_tool(MysqlProgram::Dump, &snapshot.server_version, bin_dir)?;
    let client = find_mysql_tool(MysqlProgram::Client, &snapshot.server_version, bin_dir)?;
    tools.insert("mysqldump".to_owned(), dump_tool.version.clone());
    tools.insert("mysql".to_owned(), client.version.clone());
    let conn = MysqlConnArgs::from_url(url, dump_tool.mariadb)?;
    let charset = db.mysql_database_charset(&conn.database).await?;
    let dump = tmp.join(MYSQL_DUMP);
    let mut cmd = conn.command(&dump_tool.path);
    cmd.args([
        "--single-transaction",
        "--quick",
        "--routines",
        "--events",
        "--triggers",
        "--add-locks",
        "--hex-blob",
        "--no-tablespaces",
        "--default-character-set=utf8mb4",
    ])
    .arg(format!("--result-file={}", dump.display()))
    .arg(&conn.database)
    .stdin(Stdio::null())
    .stdout(Stdio::null())
    .stderr(Stdio::piped());
    run_tool(cmd, "mysqldump", url)?;
    if let Some(problem) = mysql_dump_problem(&dump) {
        return Err(BackupError::Tool {
            tool: "mysqldump".into(),
            message: format!("the dump is incomplete: {problem}"),
        });
    }
    // Everything else comes from the dump itself, loaded into a scratch database.
    let server = ShadowServer::new(url, opts.connect.timeout);
    let scratch = server.create(None).await?;
    let name = scratch.name.clone().unwrap_or_default();
    let marker = tmp.join(SCRATCH_MARKER);
    let read = async {
        fs::write(&marker, &name).map_err(BackupError::io("cannot write", &marker))?;
        let load = MysqlConnArgs::from_url(&scratch.url, client.mariadb)?.load_command(&client.path, &dump)?;
        run_tool(load, "mysql (loading the dump into a scratch database)", url)?;
        let mut scratch_db =
            connect(&scratch.url, &ConnectOptions { read_only: true, timeout: opts.connect.timeout }).await?;
        let data = read_snapshot(&mut scratch_db, opts, roots, tmp).await;
        scratch_db.close().await;
        data
    }
    .await;
    let dropped = server.drop_database(&name).await;
    if dropped.is_ok() {
        let _ = fs::remove_file(&marker);
    }
    let mut data = read?;
    dropped?;
    data.meta.push(mysql_schema_sql(&dump, tmp)?);
    data.database_charset = charset;
    Ok((snapshot, data))
}

/// Drop the MySQL scratch databases that killed runs left, as named by the markers in their
/// `.tmp-*` folders (only names dbcheck gives scratch databases; best effort: the folders are
/// removed next either way).
async fn drop_scratch_leftovers(url: &DatabaseUrl, dir: &Path, timeout: std::time::Duration) {
    if url.dialect() != Dialect::Mysql {
        return;
    }
    let Ok(read) = fs::read_dir(dir) else { return };
    let server = ShadowServer::new(url, timeout);
    for e in read.flatten() {
        if !e.file_name().to_string_lossy().starts_with(TMP_PREFIX) {
            continue;
        }
        let Ok(name) = fs::read_to_string(e.path().join(SCRATCH_MARKER)) else { continue };
        let name = name.trim();
        let ours = name
            .strip_prefix(SHADOW_PREFIX)
            .is_some_and(|rest| !rest.is_empty() && rest.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'));
        if ours {
            let _ = server.drop_database(name).await;
        }
    }
}

/// Every regular file under `root`, as relative paths (never following symlinks).
fn walk_all(root: &Path, rel: &mut Vec<u8>, out: &mut BTreeSet<Vec<u8>>) -> Result<(), BackupError> {
    let dir = if rel.is_empty() { root.to_path_buf() } else { root.join(OsStr::from_bytes(rel)) };
    let read = fs::read_dir(&dir).map_err(BackupError::io("cannot read", &dir))?;
    for e in read {
        let e = e.map_err(BackupError::io("cannot read", &dir))?;
        let ft = e.file_type().map_err(BackupError::io("cannot read", e.path()))?;
        let len = rel.len();
        if !rel.is_empty() {
            rel.push(b'/');
        }
        rel.extend_from_slice(e.file_name().as_bytes());
        if ft.is_dir() {
            walk_all(root, rel, out)?;
        } else if ft.is_file() {
            out.insert(rel.clone());
        }
        rel.truncate(len);
    }
    Ok(())
}

/// Copy jobs for every root; a path whose folder resolves outside its root (a symlinked folder)
/// is unusable, never opened.
fn jobs_for(
    roots: &[RootInfo],
    wanted: &[BTreeSet<Vec<u8>>],
) -> Result<(Vec<CopyJob>, Vec<copy::Unusable>), BackupError> {
    let mut jobs = Vec::new();
    let mut unusable = Vec::new();
    for r in roots {
        let canon_root = fs::canonicalize(&r.root).map_err(BackupError::io("cannot read the files root", &r.root))?;
        let mut parents: HashMap<PathBuf, bool> = HashMap::new();
        for rel in &wanted[r.index] {
            let src = r.root.join(OsStr::from_bytes(rel));
            let Ok(rel_text) = std::str::from_utf8(rel) else {
                unusable.push(copy::Unusable { src, reason: "the file name is not UTF-8".into() });
                continue;
            };
            let parent = src.parent().map(Path::to_path_buf).unwrap_or_default();
            let inside = *parents
                .entry(parent.clone())
                .or_insert_with(|| fs::canonicalize(&parent).is_ok_and(|p| p.starts_with(&canon_root)));
            if !inside {
                unusable.push(copy::Unusable { src, reason: "its folder is missing or leads outside the root".into() });
                continue;
            }
            jobs.push(CopyJob { src, rel: format!("files/{}/{rel_text}", r.index) });
        }
    }
    Ok((jobs, unusable))
}

/// The keys of `.env` files with the values removed.
fn env_template(files: &[PathBuf]) -> String {
    let mut out = String::from("# keys of the project's .env files; values removed by dbcheck backup\n");
    for f in files {
        let Ok(text) = fs::read_to_string(f) else { continue };
        out.push_str(&format!("# from {}\n", f.display()));
        for line in text.lines() {
            let t = line.trim_start();
            if t.starts_with('#') || t.is_empty() {
                continue;
            }
            if let Some((k, _)) = t.split_once('=') {
                out.push_str(k.trim_end());
                out.push_str("=\n");
            }
        }
    }
    out
}

/// Make every file under `dir` 0600 and every folder 0700.
fn tighten(dir: &Path) -> Result<(), BackupError> {
    let meta = fs::symlink_metadata(dir).map_err(BackupError::io("cannot read", dir))?;
    if meta.is_dir() {
        fs::set_permissions(dir, fs::Permissions::from_mode(0o700)).map_err(BackupError::io("cannot write", dir))?;
        for e in fs::read_dir(dir).map_err(BackupError::io("cannot read", dir))? {
            tighten(&e.map_err(BackupError::io("cannot read", dir))?.path())?;
        }
    } else {
        fs::set_permissions(dir, fs::Permissions::from_mode(0o600)).map_err(BackupError::io("cannot write", dir))?;
    }
    Ok(())
}

/// Write one generation of the database at `url` and its files. On any failure the temporary
/// folder is removed and no generation appears.
pub async fn create_backup(url: &DatabaseUrl, opts: &BackupOptions) -> Result<BackupOutcome, BackupError> {
    let dir = opts.settings.dir.clone().ok_or(BackupError::NoDir)?;
    let _lock = store::lock(&dir)?;
    drop_scratch_leftovers(url, &dir, opts.connect.timeout).await;
    let cleaned = store::clean_leftovers(&dir)?;
    // A referenced file deleted between the snapshot and its copy cannot be saved; a fresh
    // snapshot no longer references it. Files that are missing every time are dangling.
    let mut attempt = 0;
    let result = loop {
        attempt += 1;
        let id = store::new_id(&dir);
        let tmp = dir.join(format!("{TMP_PREFIX}{id}"));
        copy::make_dirs(&tmp.join("db"))?;
        let result = write_generation(url, opts, &dir, &id, &tmp).await;
        if result.is_err() {
            let _ = fs::remove_dir_all(&tmp);
        }
        match result {
            Err(BackupError::MissingFiles { .. }) if attempt < MISSING_ATTEMPTS => continue,
            other => break other,
        }
    };
    match result {
        Ok(mut outcome) => {
            outcome.cleaned = cleaned;
            if opts.prune {
                outcome.pruned = store::prune(&dir, opts.settings.keep)?;
            }
            Ok(outcome)
        }
        Err(e) => Err(e),
    }
}

async fn write_generation(
    url: &DatabaseUrl,
    opts: &BackupOptions,
    dir: &Path,
    id: &str,
    tmp: &Path,
) -> Result<BackupOutcome, BackupError> {
    let progress = opts.progress.clone().unwrap_or_default();
    let roots = roots_of(&opts.files);
    let prev_manifest = store::generations(dir).into_iter().rev().find(|(_, m)| m.compute_checksum() == m.checksum);
    let previous = prev_manifest.as_ref().map(|(p, m)| {
        // Only files of roots that are the same folder as today's are candidates for links.
        let same_root = |path: &str| {
            m.roots.iter().any(|r| {
                path.starts_with(&format!("files/{}/", r.index))
                    && roots.get(r.index).is_some_and(|now| now.root == r.root)
            })
        };
        let map: HashMap<String, FileEntry> =
            m.files.iter().filter(|f| same_root(&f.path)).map(|f| (f.path.clone(), f.clone())).collect();
        (p.clone(), map)
    });
    let mut reused_dump: Option<Vec<FileEntry>> = None;
    let mut tools = BTreeMap::new();
    tools.insert("dbcheck".to_owned(), env!("CARGO_PKG_VERSION").to_owned());
    let mut db = connect(url, &opts.connect).await?;
    let (snapshot, data, dump_format, dump_path, mut child) = match url.dialect() {
        Dialect::Postgres => {
            let snapshot = db.begin_snapshot().await?;
            let major = snapshot.server_major.unwrap_or(0);
            let pg_dump = find_pg_tool("pg_dump", major, opts.settings.pg_bin_dir.as_deref())?;
            tools.insert("pg_dump".to_owned(), pg_dump.version.clone());
            let (conn, password) = libpq_args(url);
            let (format, rel) =
                if opts.settings.jobs > 1 { ("directory", "db/dump.dir") } else { ("custom", "db/dump.pgdump") };
            // Nothing was written anywhere on the server since the previous generation (same
            // server and database, same WAL position, no unlogged tables): its dump is this
            // snapshot's dump too, and is hard-linked instead of dumped again.
            if let Some((prev_dir, m)) = prev_manifest.as_ref().filter(|(_, m)| {
                m.dialect == "postgres"
                    && m.dump_format == format
                    && snapshot.reuse_key.is_some()
                    && m.snapshot.reuse_key == snapshot.reuse_key
                    && snapshot.lsn.is_some()
                    && m.snapshot.lsn == snapshot.lsn
            }) {
                let entries: Vec<FileEntry> = m.files.iter().filter(|f| f.path.starts_with("db/")).cloned().collect();
                for f in &entries {
                    let dst = tmp.join(&f.path);
                    if let Some(parent) = dst.parent() {
                        copy::make_dirs(parent)?;
                    }
                    fs::hard_link(prev_dir.join(&f.path), &dst).map_err(BackupError::io("cannot link", &dst))?;
                }
                if let Some(v) = m.tools.get("pg_dump") {
                    tools.insert("pg_dump".to_owned(), v.clone());
                }
                reused_dump = Some(entries);
                let mut data = read_snapshot(&mut db, opts, &roots, tmp).await?;
                data.meta.push(pg_schema_sql(&pg_dump, &snapshot, url, tmp)?);
                (snapshot, data, m.dump_format.clone(), m.dump_path.clone(), None)
            } else {
                let mut cmd = Command::new(&pg_dump.path);
                cmd.arg(format!("--snapshot={}", snapshot.id.clone().unwrap_or_default()))
                    .arg("--no-password")
                    .arg("-f")
                    .arg(tmp.join(rel))
                    .arg("-d")
                    .arg(conn)
                    .stdin(Stdio::null())
                    .stdout(Stdio::null())
                    .stderr(Stdio::piped());
                if opts.settings.jobs > 1 {
                    cmd.arg("-Fd").arg("-j").arg(opts.settings.jobs.to_string());
                } else {
                    cmd.arg("-Fc");
                }
                if let Some(p) = password {
                    cmd.env("PGPASSWORD", p);
                }
                let child =
                    cmd.spawn().map_err(|e| BackupError::Tool { tool: "pg_dump".into(), message: e.to_string() })?;
                let read = match read_snapshot(&mut db, opts, &roots, tmp).await {
                    Ok(mut d) => pg_schema_sql(&pg_dump, &snapshot, url, tmp).map(|e| {
                        d.meta.push(e);
                        d
                    }),
                    Err(e) => Err(e),
                };
                let data = match read {
                    Ok(d) => d,
                    Err(e) => {
                        let mut child = child;
                        let _ = child.kill();
                        let _ = child.wait();
                        return Err(e);
                    }
                };
                (snapshot, data, format.to_owned(), rel.to_owned(), Some(child))
            }
        }
        Dialect::Sqlite => {
            let rel = "db/database.sqlite";
            let file = tmp.join(rel);
            db.sqlite_vacuum_into(&file).await?;
            db.close().await;
            fs::File::open(&file).and_then(|f| f.sync_all()).map_err(BackupError::io("cannot flush", &file))?;
            let copy_url = DatabaseUrl::parse(&format!("sqlite://{}", file.display()))?;
            db = connect(&copy_url, &ConnectOptions { read_only: true, timeout: opts.connect.timeout }).await?;
            let problems = db.sqlite_integrity_check().await?;
            if !problems.is_empty() {
                return Err(BackupError::Invalid(format!(
                    "the SQLite copy fails integrity_check: {}",
                    problems.join("; ")
                )));
            }
            let snapshot = db.begin_snapshot().await?;
            let mut data = read_snapshot(&mut db, opts, &roots, tmp).await?;
            let schema_sql = db.sqlite_schema_sql().await?;
            data.meta.push(copy::write_file(tmp, "meta/schema.sql", schema_sql.as_bytes())?);
            (snapshot, data, "sqlite".to_owned(), rel.to_owned(), None)
        }
        Dialect::Mysql => {
            let (snapshot, data) = mysql_generation(url, opts, &roots, tmp, &mut tools, &mut db).await?;
            (snapshot, data, "mysql".to_owned(), MYSQL_DUMP.to_owned(), None)
        }
    };
    // The files: copied after the snapshot (for PostgreSQL, while pg_dump runs).
    let mut wanted = data.referenced.clone();
    if opts.settings.include_uploads == IncludeUploads::All {
        for r in &roots {
            let mut rel = Vec::new();
            walk_all(&r.root, &mut rel, &mut wanted[r.index])?;
        }
    }
    let copy_result = (|| {
        let (jobs, mut unusable) = jobs_for(&roots, &wanted)?;
        progress.bytes_total.store(
            jobs.iter().filter_map(|j| fs::symlink_metadata(&j.src).ok()).map(|m| m.len()).sum(),
            std::sync::atomic::Ordering::Relaxed,
        );
        let prev = previous.as_ref().map(|(p, m)| (p.as_path(), m));
        let (entries, more) = copy::copy_all(&jobs, tmp, prev, &progress, opts.threads)?;
        unusable.extend(more);
        if opts.allow_missing {
            return Ok((entries, unusable));
        }
        if let Some(first) = unusable.first() {
            return Err(BackupError::MissingFiles {
                count: unusable.len(),
                example: format!("{} ({})", first.src.display(), first.reason),
            });
        }
        Ok((entries, Vec::new()))
    })();
    if let Some(mut child) = child.take() {
        if copy_result.is_err() {
            // The generation is lost anyway: do not wait for the dump.
            let _ = child.kill();
        }
        let out = child.wait_with_output();
        let finished = out.map_err(|e| BackupError::Tool { tool: "pg_dump".into(), message: e.to_string() });
        db.end_snapshot().await?;
        db.close().await;
        let finished = finished?;
        if copy_result.is_ok() {
            super::tools::check_output(&finished, "pg_dump", url)?;
        }
    } else {
        db.close().await;
    }
    let (uploads, unusable) = copy_result?;
    let missing_at_source: Vec<String> = unusable
        .iter()
        .filter_map(|u| {
            roots.iter().find_map(|r| {
                u.src.strip_prefix(&r.root).ok().map(|rel| format!("files/{}/{}", r.index, rel.to_string_lossy()))
            })
        })
        .collect();
    // Configuration, tool versions and the env template.
    let mut meta = data.meta;
    for (i, f) in opts.config_files.iter().enumerate() {
        if let Ok(bytes) = fs::read(f) {
            let name = f.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            meta.push(copy::write_file(tmp, &format!("meta/config/{i}-{name}"), &bytes)?);
        }
    }
    meta.push(copy::write_file(tmp, "meta/versions.json", &serde_json::to_vec_pretty(&tools).unwrap_or_default())?);
    meta.push(copy::write_file(tmp, "meta/env.template", env_template(&opts.env_files).as_bytes())?);
    let dump_reused = reused_dump.is_some();
    let dump_entries = match reused_dump {
        Some(entries) => entries,
        None => {
            tighten(&tmp.join("db"))?;
            let mut entries = Vec::new();
            copy::hash_tree(tmp, "db", &mut entries)?;
            entries
        }
    };
    let dump_bytes = dump_entries.iter().map(|f| f.size).sum();
    let linked_bytes = uploads
        .iter()
        .filter(|f| {
            previous.as_ref().is_some_and(|(_, m)| {
                m.get(&f.path).is_some_and(|p| p.sha256 == f.sha256 && p.source_mtime_ns == f.source_mtime_ns)
            })
        })
        .map(|f| f.size)
        .sum::<u64>();
    let upload_bytes: u64 = uploads.iter().map(|f| f.size).sum();
    let mut files: Vec<FileEntry> = meta.into_iter().chain(dump_entries).chain(uploads).collect();
    files.sort_by(|a, b| a.path.cmp(&b.path));
    let mut manifest = Manifest {
        format: FORMAT,
        id: id.to_owned(),
        kind: opts.kind.clone(),
        created_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        dialect: url.dialect().as_str().to_owned(),
        database: url.redacted(),
        snapshot: snapshot.clone(),
        dump_format,
        dump_path,
        history_table: data.history_table,
        migration_version: data.migration_version.clone(),
        row_counts: data.row_counts,
        references: data.references,
        include_uploads: opts.settings.include_uploads,
        roots,
        tools,
        files,
        missing_at_source,
        database_charset: data.database_charset,
        checksum: String::new(),
    };
    manifest.checksum = manifest.compute_checksum();
    let manifest_entry = copy::write_file(tmp, MANIFEST, &manifest.to_bytes())?;
    drop(manifest_entry);
    copy::sync_tree(tmp)?;
    let final_dir = dir.join(id);
    fs::rename(tmp, &final_dir).map_err(BackupError::io("cannot rename into place", &final_dir))?;
    copy::sync_dir(dir)?;
    Ok(BackupOutcome {
        id: id.to_owned(),
        path: final_dir,
        files: manifest.files.len(),
        total_bytes: manifest.total_bytes(),
        linked_bytes,
        copied_bytes: upload_bytes - linked_bytes,
        dump_bytes,
        dump_reused,
        snapshot,
        migration_version: data.migration_version,
        cleaned: Vec::new(),
        pruned: Vec::new(),
    })
}
