//! `restore`: a verified generation back into the configured database and files roots, after a
//! safety backup of what is there now.
//!
//! PostgreSQL: the dump is restored into a new database `<name>_dbcheck_restore`, which is then
//! swapped in by two renames (the old database is dropped only after the swap). MySQL/MariaDB (no
//! database rename): the dump is loaded into a new database `<name>_dbcheck_restore`, then one
//! `RENAME TABLE` statement moves every table of the target into `<name>_dbcheck_old` and every
//! restored table into the target, all or nothing; views, triggers, routines and events, which
//! belong to one database, are recreated in the target from their definitions. SQLite: the copy is written beside the target
//! and renamed over it. Files are written into the configured roots only, each through a
//! temporary file and a rename.

use std::fs;
use std::os::unix::ffi::OsStrExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde::Serialize;

use super::copy::{self, hash_file};
use super::create::{BackupOptions, create_backup, roots_of};
use super::tools::{MysqlConnArgs, MysqlProgram, check_output, find_mysql_tool, find_pg_tool, libpq_args, run_tool};
use super::verify::VerifyReport;
use super::{BackupError, Manifest};
use crate::db::{ConnectOptions, DatabaseUrl, Db, Dialect, MysqlObject, MysqlObjectKind, ShadowServer, connect};
use crate::files::path::check_relative;

/// What `restore` needs.
#[derive(Debug, Clone)]
pub struct RestoreOptions {
    /// Options of the safety backup (and `[backup]`, `[[files]]`, connection settings).
    pub backup: BackupOptions,
    /// Restore despite other connections or a backup newer than the code.
    pub force: bool,
    /// Versions of the migrations on disk, when known.
    pub code_versions: Option<Vec<String>>,
}

/// What `restore` did.
#[derive(Debug, Clone, Serialize)]
pub struct RestoreOutcome {
    /// The generation restored.
    pub id: String,
    /// The safety backup taken first, when there was something to save.
    pub safety_backup: Option<String>,
    /// How the database was restored.
    pub database_mode: String,
    /// Files written into the roots.
    pub files_written: usize,
    /// Files already identical, left alone.
    pub files_unchanged: usize,
    /// How to get the previous state back.
    pub recovery: String,
}

fn versions_cmp(a: &str, b: &str) -> std::cmp::Ordering {
    match (a.parse::<u128>(), b.parse::<u128>()) {
        (Ok(x), Ok(y)) => x.cmp(&y),
        _ => a.cmp(b),
    }
}

/// Applied versions recorded in the generation's history.
fn backup_versions(gen_dir: &Path) -> Vec<String> {
    let Ok(bytes) = fs::read(gen_dir.join("meta/history.json")) else { return Vec::new() };
    let rows: Vec<serde_json::Value> = serde_json::from_slice(&bytes).unwrap_or_default();
    rows.iter()
        .filter(|r| !r.get("repeatable").and_then(|v| v.as_bool()).unwrap_or(false))
        .filter_map(|r| r.get("key").and_then(|k| k.as_str()).map(str::to_owned))
        .collect()
}

fn pg_name(url: &DatabaseUrl) -> Result<String, BackupError> {
    let u = url::Url::parse(url.expose()).map_err(|e| BackupError::Invalid(format!("invalid database URL: {e}")))?;
    let name = u.path().trim_start_matches('/').to_owned();
    if name.is_empty() {
        return Err(BackupError::Invalid("the database URL names no database".into()));
    }
    Ok(percent_encoding::percent_decode_str(&name).decode_utf8_lossy().into_owned())
}

/// Seconds a MySQL table swap waits for the locks of sessions still using the tables.
const MYSQL_SWAP_LOCK_WAIT_S: u64 = 30;

/// MySQL: load the dump into a new database `fresh` (dropped first if a previous restore left
/// it), with the backed-up database's character set, and take its triggers, routines and events
/// out (returned, to be recreated in the target after the swap: `RENAME TABLE` cannot move a
/// table with triggers to another database, and an event must not run against `fresh`). A dump
/// the server refuses drops `fresh` again and stops the restore.
async fn mysql_load_fresh(
    admin: &mut Db,
    url: &DatabaseUrl,
    manifest: &Manifest,
    fresh: &str,
    dump: &Path,
    bin_dir: Option<&Path>,
) -> Result<Vec<MysqlObject>, BackupError> {
    let server_version = admin.begin_snapshot().await?.server_version;
    let client = find_mysql_tool(MysqlProgram::Client, &server_version, bin_dir)?;
    let charset = manifest.database_charset.clone();
    admin.drop_database_if_exists(fresh).await?;
    admin.mysql_create_database(fresh, charset.as_ref()).await?;
    let fresh_url = ShadowServer::new(url, std::time::Duration::from_secs(10)).url_of(fresh)?;
    let loaded = MysqlConnArgs::from_url(&fresh_url, client.mariadb)
        .and_then(|args| args.load_command(&client.path, dump))
        .and_then(|cmd| run_tool(cmd, "mysql", url));
    if let Err(e) = loaded {
        admin.drop_database_if_exists(fresh).await?;
        return Err(e);
    }
    let objects = match admin.mysql_objects(fresh).await {
        Ok(objects) => objects,
        Err(e) => {
            admin.drop_database_if_exists(fresh).await?;
            return Err(e.into());
        }
    };
    if let Err(e) = admin.mysql_drop_objects(fresh, &objects).await {
        admin.drop_database_if_exists(fresh).await?;
        return Err(e.into());
    }
    Ok(objects)
}

/// A connection to the server's maintenance database `maintenance`, whether the target database
/// exists, and a refusal when other sessions use it (unless `force`).
async fn server_admin(
    url: &DatabaseUrl,
    maintenance: &str,
    writable: &ConnectOptions,
    force: bool,
) -> Result<(bool, crate::db::Db), BackupError> {
    let name = pg_name(url)?;
    let server = ShadowServer::new(url, writable.timeout);
    let mut admin = connect(&server.url_of(maintenance)?, writable).await?;
    let exists = admin.database_exists(&name).await?;
    if exists {
        let n = admin.other_connections(&name).await?;
        if n > 0 && !force {
            return Err(BackupError::InUse { database: url.redacted(), count: n });
        }
    }
    Ok((exists, admin))
}

/// Just before the swap: end the other sessions on `name` when forced, else refuse (dropping the
/// prepared `fresh`) when a session connected since the first check.
async fn claim_target(
    admin: &mut Db,
    url: &DatabaseUrl,
    name: &str,
    fresh: &str,
    force: bool,
) -> Result<(), BackupError> {
    if force {
        admin.terminate_connections(name).await?;
        return Ok(());
    }
    let n = admin.other_connections(name).await?;
    if n > 0 {
        admin.drop_database_if_exists(fresh).await?;
        return Err(BackupError::InUse { database: url.redacted(), count: n });
    }
    Ok(())
}

fn sqlite_path(url: &DatabaseUrl) -> PathBuf {
    let raw = url.expose();
    let rest = raw.strip_prefix("sqlite://").or_else(|| raw.strip_prefix("sqlite:")).unwrap_or(raw);
    PathBuf::from(rest.split('?').next().unwrap_or(rest))
}

fn short(name: &str, suffix: &str) -> String {
    let mut base = name.to_owned();
    while base.len() + suffix.len() > 63 {
        base.pop();
    }
    format!("{base}{suffix}")
}

/// Restore the verified generation `report` into the database at `url` and the configured roots.
pub async fn restore_generation(
    url: &DatabaseUrl,
    report: &VerifyReport,
    opts: &RestoreOptions,
) -> Result<RestoreOutcome, BackupError> {
    let manifest: &Manifest = match (&report.manifest, report.ok()) {
        (Some(m), true) => m,
        _ => return Err(BackupError::NotVerified { id: report.id.clone(), problems: report.findings.len() }),
    };
    let gen_dir = &report.path;
    if manifest.dialect != url.dialect().as_str() {
        return Err(BackupError::Invalid(format!(
            "generation `{}` holds a {} database; the target is {}",
            manifest.id,
            manifest.dialect,
            url.dialect().as_str()
        )));
    }
    // Refuse a backup from newer code.
    if let Some(code) = &opts.code_versions
        && !opts.force
    {
        let newer: Vec<String> = backup_versions(gen_dir).into_iter().filter(|v| !code.contains(v)).collect();
        if let Some(v) = newer.iter().max_by(|a, b| versions_cmp(a, b)) {
            return Err(BackupError::NewerThanCode {
                id: manifest.id.clone(),
                backup_version: v.clone(),
                code_version: code.iter().max_by(|a, b| versions_cmp(a, b)).cloned().unwrap_or_else(|| "none".into()),
            });
        }
    }
    // The files must map onto today's roots.
    let roots = roots_of(&opts.backup.files);
    for r in &manifest.roots {
        if roots.get(r.index).is_none() {
            return Err(BackupError::Invalid(format!(
                "the generation has files for root #{} ({}), which the [[files]] configuration no longer has",
                r.index,
                r.root.display()
            )));
        }
    }
    let timeout = opts.backup.connect.timeout;
    let writable = ConnectOptions { read_only: false, timeout };
    // Connections, and whether there is anything to save first.
    let mut new_objects = Vec::new();
    let (exists, admin) = match url.dialect() {
        Dialect::Postgres => {
            let (exists, admin) = server_admin(url, "postgres", &writable, opts.force).await?;
            (exists, Some(admin))
        }
        Dialect::Sqlite => {
            let path = sqlite_path(url);
            let exists = path.exists();
            if exists && !opts.force {
                let mut db = connect(url, &writable).await?;
                let locked = db.sqlite_try_exclusive().await;
                db.close().await;
                if locked.is_err() {
                    return Err(BackupError::InUse { database: url.redacted(), count: 1 });
                }
            }
            (exists, None)
        }
        Dialect::Mysql => {
            let name = pg_name(url)?;
            let (exists, mut admin) = server_admin(url, "information_schema", &writable, opts.force).await?;
            // The dump goes into the new database before anything else: a dump the server
            // refuses stops the restore before the safety backup.
            let dump = gen_dir.join(&manifest.dump_path);
            let fresh = short(&name, "_dbcheck_restore");
            new_objects = mysql_load_fresh(
                &mut admin,
                url,
                manifest,
                &fresh,
                &dump,
                opts.backup.settings.mysql_bin_dir.as_deref(),
            )
            .await?;
            (exists, Some(admin))
        }
    };
    // The safety backup.
    let safety = if exists {
        let mut o = opts.backup.clone();
        o.kind = "safety".into();
        o.prune = false;
        o.allow_missing = true;
        o.progress = None;
        Some(create_backup(url, &o).await?.id)
    } else {
        None
    };
    let dir = opts.backup.settings.dir.clone().unwrap_or_default();
    let recovery = match &safety {
        Some(id) => format!(
            "the state before this restore is the safety backup `{id}` in {}: `cargo dbcheck restore {id} --force`",
            dir.display()
        ),
        None => "the target was empty; there was nothing to save".to_owned(),
    };
    // The database.
    let dump = gen_dir.join(&manifest.dump_path);
    let database_mode = match url.dialect() {
        Dialect::Postgres => {
            let mut admin = admin.ok_or_else(|| BackupError::Invalid("no admin connection".into()))?;
            let name = pg_name(url)?;
            let fresh = short(&name, "_dbcheck_restore");
            let old = short(&name, "_dbcheck_old");
            admin.drop_database_if_exists(&fresh).await?;
            admin.create_database(&fresh).await?;
            let server = ShadowServer::new(url, timeout);
            let fresh_url = server.url_of(&fresh)?;
            let tool = find_pg_tool(
                "pg_restore",
                manifest.snapshot.server_major.unwrap_or(0),
                opts.backup.settings.pg_bin_dir.as_deref(),
            )?;
            let (conn, password) = libpq_args(&fresh_url);
            let mut cmd = Command::new(&tool.path);
            cmd.arg("--exit-on-error").arg("--no-password").arg("-d").arg(conn).arg(&dump);
            cmd.arg("-j").arg(opts.backup.settings.jobs.max(1).to_string());
            cmd.stdin(Stdio::null()).stdout(Stdio::null());
            if let Some(p) = password {
                cmd.env("PGPASSWORD", p);
            }
            let out = cmd.output().map_err(|e| BackupError::Tool { tool: "pg_restore".into(), message: e.to_string() });
            if let Err(e) = out.and_then(|o| check_output(&o, "pg_restore", url)) {
                admin.drop_database_if_exists(&fresh).await?;
                return Err(e);
            }
            if exists {
                claim_target(&mut admin, url, &name, &fresh, opts.force).await?;
                admin.drop_database_if_exists(&old).await?;
                admin.rename_database(&name, &old).await?;
                admin.rename_database(&fresh, &name).await?;
                admin.drop_database_if_exists(&old).await?;
            } else {
                admin.rename_database(&fresh, &name).await?;
            }
            admin.close().await;
            format!(
                "restored into a new database `{fresh}`, then swapped in as `{name}` (the previous one was dropped after the swap)"
            )
        }
        Dialect::Mysql => {
            let mut admin = admin.ok_or_else(|| BackupError::Invalid("no admin connection".into()))?;
            let name = pg_name(url)?;
            let fresh = short(&name, "_dbcheck_restore");
            let old = short(&name, "_dbcheck_old");
            if exists {
                claim_target(&mut admin, url, &name, &fresh, opts.force).await?;
                let charset = admin.mysql_database_charset(&name).await?;
                admin.drop_database_if_exists(&old).await?;
                admin.mysql_create_database(&old, charset.as_ref()).await?;
            } else {
                let charset = admin.mysql_database_charset(&fresh).await?;
                admin.mysql_create_database(&name, charset.as_ref()).await?;
            }
            // Views cannot change database: they are recreated from their definitions. Tables and
            // views share one namespace, so the target's views go first (and come back if the
            // swap fails).
            let new_views = admin.mysql_views(&fresh).await?;
            let old_views = if exists { admin.mysql_views(&name).await? } else { Vec::new() };
            let old_names: Vec<String> = old_views.iter().map(|(v, _)| v.clone()).collect();
            // Likewise triggers, which also pin their table to its database: the target's go
            // before the swap (and come back if it fails), its routines and events after it.
            let old_objects = if exists { admin.mysql_objects(&name).await? } else { Vec::new() };
            let (old_triggers, old_others): (Vec<MysqlObject>, Vec<MysqlObject>) =
                old_objects.into_iter().partition(|o| o.kind == MysqlObjectKind::Trigger);
            admin.mysql_replace_views(&name, &old_names, &[]).await?;
            admin.mysql_drop_objects(&name, &old_triggers).await?;
            // One statement: every table moves, or none does.
            if let Err(e) = admin.mysql_swap_tables(&name, &fresh, &old, MYSQL_SWAP_LOCK_WAIT_S).await {
                let _ = admin.mysql_create_objects(&name, &old_triggers).await;
                let _ = admin.mysql_replace_views(&name, &[], &old_views).await;
                admin.drop_database_if_exists(&fresh).await?;
                admin.drop_database_if_exists(&old).await?;
                return Err(e.into());
            }
            admin.drop_database_if_exists(&old).await?;
            admin.mysql_drop_objects(&name, &old_others).await?;
            let mut failed = admin.mysql_replace_views(&name, &[], &new_views).await?;
            failed.extend(admin.mysql_create_objects(&name, &new_objects).await?);
            admin.drop_database_if_exists(&fresh).await?;
            admin.close().await;
            if !failed.is_empty() {
                return Err(BackupError::Invalid(format!(
                    "the tables were restored, but {} view(s), trigger(s), routine(s) or event(s) could not be created ({}); the files were not restored; {recovery}",
                    failed.len(),
                    failed.join("; ")
                )));
            }
            format!(
                "loaded into a new database `{fresh}`, then its tables swapped into `{name}` by one RENAME TABLE and its {} view(s) and {} trigger(s), routine(s) and event(s) recreated there (the previous ones were dropped after the swap)",
                new_views.len(),
                new_objects.len()
            )
        }
        Dialect::Sqlite => {
            let target = sqlite_path(url);
            let tmp = PathBuf::from(format!("{}.dbcheck-restore", target.display()));
            fs::copy(&dump, &tmp).map_err(BackupError::io("cannot write", &tmp))?;
            fs::File::open(&tmp).and_then(|f| f.sync_all()).map_err(BackupError::io("cannot flush", &tmp))?;
            for suffix in ["-wal", "-shm", "-journal"] {
                let _ = fs::remove_file(format!("{}{suffix}", target.display()));
            }
            fs::rename(&tmp, &target).map_err(BackupError::io("cannot write", &target))?;
            if let Some(parent) = target.parent().filter(|p| !p.as_os_str().is_empty()) {
                copy::sync_dir(parent)?;
            }
            format!("copied beside the target and renamed over {}", target.display())
        }
    };
    // The files, only inside the configured roots.
    let (mut written, mut unchanged) = (0, 0);
    for f in manifest.files.iter().filter(|f| f.path.starts_with("files/")) {
        let rest = &f.path["files/".len()..];
        let Some((index, rel)) = rest.split_once('/') else { continue };
        let Some(root) = index.parse::<usize>().ok().and_then(|i| roots.get(i)) else { continue };
        if check_relative(rel.as_bytes()).is_err() {
            return Err(BackupError::Invalid(format!("the manifest names an unsafe path `{}`", f.path)));
        }
        let dest = root.root.join(std::ffi::OsStr::from_bytes(rel.as_bytes()));
        let parent = dest.parent().map(Path::to_path_buf).unwrap_or_else(|| root.root.clone());
        copy::make_dirs(&parent)?;
        let canon_root = fs::canonicalize(&root.root).map_err(BackupError::io("cannot read", &root.root))?;
        let canon_parent = fs::canonicalize(&parent).map_err(BackupError::io("cannot read", &parent))?;
        if !canon_parent.starts_with(&canon_root) {
            return Err(BackupError::Invalid(format!(
                "{} leads outside the files root {} (a symlinked folder); nothing written there",
                dest.display(),
                root.root.display()
            )));
        }
        if fs::symlink_metadata(&dest).is_ok_and(|m| m.is_file())
            && hash_file(&dest).is_ok_and(|(size, sha)| size == f.size && sha == f.sha256)
        {
            unchanged += 1;
            continue;
        }
        let name = dest.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let tmp = parent.join(format!(".{name}.dbcheck-restore"));
        fs::copy(gen_dir.join(&f.path), &tmp).map_err(BackupError::io("cannot write", &tmp))?;
        fs::set_permissions(&tmp, <fs::Permissions as std::os::unix::fs::PermissionsExt>::from_mode(0o644))
            .map_err(BackupError::io("cannot write", &tmp))?;
        fs::rename(&tmp, &dest).map_err(BackupError::io("cannot write", &dest))?;
        written += 1;
    }
    Ok(RestoreOutcome {
        id: manifest.id.clone(),
        safety_backup: safety,
        database_mode,
        files_written: written,
        files_unchanged: unchanged,
        recovery,
    })
}
