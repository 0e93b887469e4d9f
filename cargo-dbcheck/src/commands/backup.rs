//! `cargo dbcheck backup` (write a generation), `backup list`, `backup verify GEN`: the
//! database and its files from the same instant (see docs/backup.md).

use std::sync::Arc;

use clap::{Args, Subcommand};
use dbcheck_core::backup::store::{self, Listing};
use dbcheck_core::backup::{
    BackupError, BackupOptions, BackupOutcome, Progress, RestoreOutcome, VerifyReport, create_backup, list_generations,
    verify_generation,
};
use dbcheck_core::config::Project;
use dbcheck_core::db::ConnectOptions;
use serde::Serialize;

use super::{ProjectResult, require_database_url};
use crate::cli::GlobalArgs;
use crate::exit::CliError;
use crate::render::Renderer;

/// Files copied or hashed at a time.
pub const THREADS: usize = 4;

/// `backup` options.
#[derive(Debug, Args, Clone)]
pub struct BackupArgs {
    /// Without an action: write a new generation into the [backup] dir, then apply retention
    #[command(subcommand)]
    pub action: Option<BackupAction>,
    /// Do not delete old generations after writing this one
    #[arg(long)]
    pub no_prune: bool,
}

/// `backup list | verify`.
#[derive(Debug, Subcommand, Clone)]
pub enum BackupAction {
    /// List the generations with their sizes, and warn when backups grow more than 50 % a month
    List,
    /// Check a generation: manifest checksum, every file's SHA-256, missing/extra files, the dump, the file-reference invariant
    Verify {
        /// Generation id (as `backup list` shows it), or `latest`
        generation: String,
    },
}

/// What `backup`, `backup list`, `backup verify` and `restore` report.
#[derive(Debug, Default, Serialize)]
pub struct BackupOutput {
    /// `create`, `list`, `verify` or `restore`.
    pub action: &'static str,
    /// The generation written.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created: Option<BackupOutcome>,
    /// The generations.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub list: Option<Listing>,
    /// The verification.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verify: Option<VerifyReport>,
    /// The restore.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub restore: Option<RestoreOutcome>,
}

/// Map a core error onto the exit codes: database failures are 3, everything else 2.
pub fn cli_error(e: BackupError) -> CliError {
    let help = match &e {
        BackupError::NoDir => Some("set `dir` under [backup] in [package.metadata.dbcheck] or dbcheck.toml".into()),
        BackupError::MissingFiles { .. } => Some(
            "`cargo dbcheck files` lists every dangling reference; a backup that cannot hold every referenced file is refused"
                .into(),
        ),
        BackupError::FileChanged { .. } => {
            Some("something keeps rewriting that file; run the backup again when uploads are quiet".into())
        }
        BackupError::Tool { tool, .. } if tool.starts_with("pg_") => Some(
            "install the PostgreSQL client of the server's major version (apt install postgresql-client-<major>) or set `pg_bin_dir` under [backup]"
                .into(),
        ),
        BackupError::Tool { tool, .. } if tool.starts_with("mysql") => Some(
            "install the MySQL/MariaDB client of the server's flavour and major version (apt install mariadb-client / mysql-client) or set `mysql_bin_dir` under [backup]"
                .into(),
        ),
        BackupError::Locked { .. } => Some("wait for it to finish".into()),
        BackupError::UnknownGeneration { .. } => Some("`cargo dbcheck backup list` shows the generations".into()),
        BackupError::NotVerified { .. } => Some("restore another generation (`cargo dbcheck backup list`)".into()),
        BackupError::NewerThanCode { .. } => {
            Some("deploy the code with those migrations first, or pass --force to restore anyway".into())
        }
        BackupError::InUse { .. } => Some("stop the application first, or pass --force to disconnect it".into()),
        _ => None,
    };
    match e {
        BackupError::Db(d) => CliError::Db(d),
        other => {
            let mut message = other.to_string();
            let mut source = std::error::Error::source(&other);
            while let Some(s) = source {
                message.push_str(&format!(": {s}"));
                source = s.source();
            }
            CliError::Usage { message, help }
        }
    }
}

/// The backup directory, or the usage error naming the key.
pub fn backup_dir(project: &Project) -> Result<std::path::PathBuf, CliError> {
    project.settings.backup.dir.clone().ok_or_else(|| cli_error(BackupError::NoDir))
}

/// The `.env` files whose keys the env template lists.
fn env_files(project: &Project) -> Vec<std::path::PathBuf> {
    let mut v = vec![project.root.join(".env")];
    if project.workspace_root != project.root {
        v.push(project.workspace_root.join(".env"));
    }
    v.into_iter().filter(|p| p.is_file()).collect()
}

/// Options of a backup of `project`.
pub fn backup_options(project: &Project, progress: Option<Arc<Progress>>, prune: bool) -> BackupOptions {
    BackupOptions {
        settings: project.settings.backup.clone(),
        files: project.settings.files.clone(),
        connect: ConnectOptions { read_only: true, timeout: project.settings.connect_timeout },
        schemas: project.settings.schemas.clone(),
        history: project.settings.history.clone(),
        kind: "backup".into(),
        config_files: project.config_files.clone(),
        env_files: env_files(project),
        progress,
        prune,
        threads: THREADS,
        allow_missing: false,
    }
}

/// Resolve `latest` to the newest generation's id.
pub fn resolve_generation(dir: &std::path::Path, id: &str) -> Result<std::path::PathBuf, CliError> {
    if id == "latest" {
        return store::generations(dir)
            .into_iter()
            .rev()
            .find(|(_, m)| m.kind == "backup")
            .map(|(p, _)| p)
            .ok_or_else(|| cli_error(BackupError::UnknownGeneration { id: id.to_owned(), dir: dir.to_path_buf() }));
    }
    store::find(dir, id).map_err(cli_error)
}

/// Run `backup` for one project.
pub async fn run(
    project: &Project,
    global: &GlobalArgs,
    args: &BackupArgs,
    renderer: &Renderer,
) -> Result<ProjectResult, CliError> {
    let dir = backup_dir(project)?;
    let base = ProjectResult {
        project: project.name.clone(),
        command: "backup",
        config_files: project.config_files.clone(),
        ..ProjectResult::default()
    };
    let result = match &args.action {
        Some(BackupAction::List) => {
            let listing = list_generations(&dir);
            ProjectResult {
                findings: listing.findings.clone(),
                backup: Some(BackupOutput { action: "list", list: Some(listing), ..BackupOutput::default() }),
                ..base
            }
        }
        Some(BackupAction::Verify { generation }) => {
            let path = resolve_generation(&dir, generation)?;
            let spinner = renderer.backup_progress(None, "verifying");
            let report = verify_generation(&path, project.settings.backup.pg_bin_dir.as_deref(), THREADS).await;
            drop(spinner);
            ProjectResult {
                findings: report.findings.clone(),
                backup: Some(BackupOutput { action: "verify", verify: Some(report), ..BackupOutput::default() }),
                ..base
            }
        }
        None => {
            let url = require_database_url(project, global)?;
            let progress = Arc::new(Progress::default());
            let bar = renderer.backup_progress(Some(progress.clone()), "backing up");
            let created = create_backup(&url, &backup_options(project, Some(progress), !args.no_prune)).await;
            drop(bar);
            let created = created.map_err(cli_error)?;
            ProjectResult {
                database: Some(url.redacted()),
                backup: Some(BackupOutput { action: "create", created: Some(created), ..BackupOutput::default() }),
                ..base
            }
        }
    };
    renderer.project(&result);
    Ok(result)
}
