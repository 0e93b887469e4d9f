//! `cargo dbcheck files`: file references in the database against the files under each
//! configured root, both directions. Read-only on the database; on disk it writes only the fix
//! files and quarantine moves it is asked for, and never deletes a file.

use std::path::PathBuf;
use std::sync::Arc;

use clap::Args;
use dbcheck_core::config::Project;
use dbcheck_core::db::ConnectOptions;
use dbcheck_core::files::report::DEFAULT_SAMPLES;
use dbcheck_core::files::{
    CheckOptions, FilesError, FilesReport, FixTarget, Progress, check_files, restore_quarantine,
};

use super::{ProjectResult, require_database_url};
use crate::cli::GlobalArgs;
use crate::exit::CliError;
use crate::render::Renderer;

/// Options of `files`.
#[derive(Debug, Args, Clone)]
pub struct FilesArgs {
    /// Write the fix SQL script and the full list of mismatches into DIR (files-fix.sql, files-findings.jsonl); the SQL is never run
    #[arg(long, value_name = "DIR", conflicts_with = "fix_sql")]
    pub fix: Option<PathBuf>,
    /// Write only the fix SQL script, to FILE; it is never run
    #[arg(long, value_name = "FILE")]
    pub fix_sql: Option<PathBuf>,
    /// Move orphan files (not in-flight ones) into DIR with a manifest; undo with --restore-quarantine DIR
    #[arg(long, value_name = "DIR")]
    pub quarantine: Option<PathBuf>,
    /// Move the files listed in DIR's quarantine manifest back where they came from (needs no database)
    #[arg(long, value_name = "DIR", conflicts_with_all = ["fix", "fix_sql", "quarantine"])]
    pub restore_quarantine: Option<PathBuf>,
    /// Look up the missing files in a dbcheck backup generation (an id in the [backup] dir, or its folder) and list them
    #[arg(long, value_name = "GEN")]
    pub restore_from: Option<String>,
    /// With --restore-from: copy the files found back into their roots (verified, never overwriting)
    #[arg(long, requires = "restore_from")]
    pub apply_restore: bool,
}

/// A backup generation: a folder path, or an id in the configured `[backup]` dir.
fn generation_dir(project: &Project, generation: &str) -> Result<PathBuf, CliError> {
    let as_path = PathBuf::from(generation);
    if as_path.is_dir() {
        return Ok(as_path);
    }
    let dir = super::backup::backup_dir(project)?;
    dbcheck_core::backup::store::find(&dir, generation).map_err(|e| CliError::Usage {
        message: e.to_string(),
        help: Some("name a generation `cargo dbcheck backup list` shows, or its folder".into()),
    })
}

/// Map a core error onto the CLI's exit codes: database failures are 3, the rest 2.
fn cli_error(e: FilesError) -> CliError {
    let help = match &e {
        FilesError::NoKey { .. } => {
            Some("set `key = \"column\"` in the [[files]] entry (or the parent table's `key`)".into())
        }
        FilesError::Root { .. } => {
            Some("check `root` in the [[files]] entry; it is relative to the file that sets it".into())
        }
        FilesError::QuarantineOverlaps { .. } => Some("choose a quarantine folder outside every files root".into()),
        _ => None,
    };
    match e {
        FilesError::Db(d) => CliError::Db(d),
        other => {
            let mut message = other.to_string();
            if let Some(source) = std::error::Error::source(&other) {
                message.push_str(&format!(": {source}"));
            }
            CliError::Usage { message, help }
        }
    }
}

/// Run `files` for one project.
pub async fn run(
    project: &Project,
    global: &GlobalArgs,
    args: &FilesArgs,
    renderer: &Renderer,
) -> Result<ProjectResult, CliError> {
    let base = ProjectResult {
        project: project.name.clone(),
        command: "files",
        config_files: project.config_files.clone(),
        migrate: None,
        ..ProjectResult::default()
    };
    if let Some(dir) = &args.restore_quarantine {
        let restore = restore_quarantine(dir, DEFAULT_SAMPLES).map_err(cli_error)?;
        let mut report = FilesReport { restore: Some(restore), ..FilesReport::default() };
        report.build_findings();
        let result = ProjectResult { findings: std::mem::take(&mut report.findings), files: Some(report), ..base };
        renderer.project(&result);
        return Ok(result);
    }
    let entries = &project.settings.files;
    if entries.is_empty() {
        return Err(CliError::Usage {
            message: format!("no [[files]] entries are configured for `{}`", project.name),
            help: Some(
                "add one to [package.metadata.dbcheck] or dbcheck.toml, e.g.\n[[files]]\ntable = \"ad_images\"\n\
                 column = \"file_path\"\nroot = \"apps/web/public/uploads\""
                    .into(),
            ),
        });
    }
    let url = require_database_url(project, global)?;
    let progress = Arc::new(Progress::default());
    let mut opts = CheckOptions::new(ConnectOptions { read_only: true, timeout: project.settings.connect_timeout });
    // --restore-from reads the full list of missing files, which `--fix DIR` writes; without
    // --fix it goes to a temporary folder.
    let list_dir =
        match (&args.restore_from, &args.fix) {
            (Some(_), None) => Some(tempfile::tempdir().map_err(|e| CliError::Usage {
                message: format!("cannot create a temporary folder: {e}"),
                help: None,
            })?),
            _ => None,
        };
    opts.fix = match (&args.fix, &args.fix_sql) {
        _ if list_dir.is_some() => list_dir.as_ref().map(|d| FixTarget::Dir(d.path().to_path_buf())),
        (Some(dir), _) => Some(FixTarget::Dir(dir.clone())),
        (None, Some(file)) => Some(FixTarget::SqlFile(file.clone())),
        (None, None) => None,
    };
    opts.quarantine = args.quarantine.clone();
    opts.progress = Some(progress.clone());
    let display = renderer.files_progress(progress);
    let checked = check_files(&url, entries, &opts).await;
    drop(display);
    let mut report = checked.map_err(cli_error)?;
    if let Some(generation) = &args.restore_from {
        let dir = list_dir.as_ref().map(|d| d.path().to_path_buf()).or_else(|| args.fix.clone());
        let list = dir.map(|d| d.join("files-findings.jsonl")).unwrap_or_default();
        let generation = generation_dir(project, generation)?;
        let found = dbcheck_core::files::restore_from(entries, &list, &generation, args.apply_restore, DEFAULT_SAMPLES)
            .map_err(cli_error)?;
        report.findings.extend(found.findings.iter().cloned());
        report.restore_from = Some(found);
    }
    let result = ProjectResult {
        findings: std::mem::take(&mut report.findings),
        files: Some(report),
        database: Some(url.redacted()),
        ..base
    };
    renderer.project(&result);
    Ok(result)
}
