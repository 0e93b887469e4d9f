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
    opts.fix = match (&args.fix, &args.fix_sql) {
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
    let result = ProjectResult {
        findings: std::mem::take(&mut report.findings),
        files: Some(report),
        database: Some(url.redacted()),
        ..base
    };
    renderer.project(&result);
    Ok(result)
}
