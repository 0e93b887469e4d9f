//! `cargo dbcheck restore GEN`: verify the generation (refuse on any problem), refuse a backup
//! from newer code or a database in use unless `--force`, take a safety backup, restore the
//! database and the files, then check the result with `status`, `drift`, `files` and
//! `integrity`.

use clap::Args;
use dbcheck_core::backup::{RestoreOptions, restore_generation, verify_generation};
use dbcheck_core::config::Project;
use dbcheck_core::migrations::MigrationKind;

use super::backup::{BackupOutput, THREADS, backup_dir, backup_options, cli_error, resolve_generation};
use super::{ProjectResult, discover, require_database_url};
use crate::cli::GlobalArgs;
use crate::exit::CliError;
use crate::render::Renderer;

/// `restore` options.
#[derive(Debug, Args, Clone)]
pub struct RestoreArgs {
    /// Generation id (as `backup list` shows it), or `latest`
    pub generation: String,
    /// Restore even if the database has other connections (they are ended) or the backup is newer than the migrations
    #[arg(long)]
    pub force: bool,
}

/// Parse the defaults of a command's options, as if it were run with no flags.
fn default_args<T: clap::Args + clap::FromArgMatches>() -> Option<T> {
    let cmd = T::augment_args(clap::Command::new("dbcheck"));
    cmd.try_get_matches_from(["dbcheck"]).ok().and_then(|m| T::from_arg_matches(&m).ok())
}

/// Run `restore` for one project.
pub async fn run(
    project: &Project,
    global: &GlobalArgs,
    args: &RestoreArgs,
    renderer: &Renderer,
) -> Result<ProjectResult, CliError> {
    let dir = backup_dir(project)?;
    let url = require_database_url(project, global)?;
    let base = ProjectResult {
        project: project.name.clone(),
        command: "restore",
        database: Some(url.redacted()),
        config_files: project.config_files.clone(),
        ..ProjectResult::default()
    };
    let path = resolve_generation(&dir, &args.generation)?;
    let spinner = renderer.backup_progress(None, "verifying");
    let report = verify_generation(&path, project.settings.backup.pg_bin_dir.as_deref(), THREADS).await;
    drop(spinner);
    if !report.ok() {
        // Nothing is touched: the findings say what is wrong with the generation.
        let result = ProjectResult {
            findings: report.findings.clone(),
            skipped: vec![format!("restore: generation `{}` does not verify; nothing was restored", report.id)],
            backup: Some(BackupOutput { action: "restore", verify: Some(report), ..BackupOutput::default() }),
            ..base
        };
        renderer.project(&result);
        return Ok(result);
    }
    let code_versions = discover(project).ok().map(|d| {
        d.migrations
            .iter()
            .filter(|m| !matches!(m.kind, MigrationKind::Repeatable))
            .map(|m| m.history_key.clone())
            .collect::<Vec<_>>()
    });
    let opts = RestoreOptions { backup: backup_options(project, None, false), force: args.force, code_versions };
    let spinner = renderer.backup_progress(None, "restoring");
    let restored = restore_generation(&url, &report, &opts).await;
    drop(spinner);
    let restored = restored.map_err(cli_error)?;
    let mut result = ProjectResult {
        findings: report.findings.clone(),
        backup: Some(BackupOutput {
            action: "restore",
            verify: Some(report),
            restore: Some(restored),
            ..BackupOutput::default()
        }),
        ..base
    };
    renderer.project(&result);
    // The restored state, checked the way a deploy would be.
    let mut checks: Vec<Result<ProjectResult, CliError>> = vec![super::status::run(project, global, renderer).await];
    match default_args::<super::drift::DriftArgs>() {
        Some(a) => checks.push(super::drift::run(project, global, &a, renderer).await),
        None => result.skipped.push("drift: cannot build its default options".into()),
    }
    if !project.settings.files.is_empty()
        && let Some(a) = default_args::<super::files::FilesArgs>()
    {
        checks.push(super::files::run(project, global, &a, renderer).await);
    }
    if project.settings.integrity.is_some() {
        if let Some(a) = default_args::<super::integrity::IntegrityArgs>() {
            checks.push(super::integrity::run(project, global, &a, renderer).await);
        }
    } else {
        result.skipped.push("integrity: no [integrity] rules configured".into());
    }
    for c in checks {
        match c {
            Ok(r) => result.findings.extend(r.findings),
            Err(e) => result.skipped.push(format!("{}: {e}", "post-restore check")),
        }
    }
    Ok(result)
}
