//! Bare `cargo dbcheck` and `cargo dbcheck validate`: every check the inputs allow, in one run.
//!
//! Offline checks always run: migration discovery, the declared sources against the migrations
//! (`declared`), `lint` of the migrations new since the git base and, inside a git repository with a base, the git-base checks. With a database URL the live checks run too: `status`, `drift`,
//! `integrity` (declared rules when configured, derived rules always) and `files` (when
//! `[[files]]` is configured). `validate` is the pre-deploy gate: live checks are required, and
//! when backups are configured the newest generation must be young enough and verify.

use std::time::Duration;

use clap::Args;
use dbcheck_core::config::Project;
use dbcheck_core::{Finding, Location, Severity};

use super::{DiscoverySummary, ProjectResult, database_url, discover, require_database_url};
use crate::cli::GlobalArgs;
use crate::exit::CliError;
use crate::render::Renderer;

/// `validate` options.
#[derive(Debug, Args, Clone)]
pub struct ValidateArgs {
    /// With [backup] configured: the newest backup generation must be younger than this many hours
    #[arg(long, value_name = "HOURS", default_value_t = 24)]
    pub max_backup_age: u64,
}

/// Default arguments of a command's option struct, as if given no flags.
fn defaults<T: clap::Args + clap::FromArgMatches>() -> Result<T, CliError> {
    let usage = |e: clap::Error| CliError::Usage { message: e.to_string(), help: None };
    let matches = T::augment_args(clap::Command::new("dbcheck").no_binary_name(true))
        .try_get_matches_from(std::iter::empty::<&str>())
        .map_err(usage)?;
    T::from_arg_matches(&matches).map_err(usage)
}

/// Bare `cargo dbcheck`: offline checks, and live ones when a database URL is configured.
pub async fn run(project: &Project, global: &GlobalArgs, renderer: &Renderer) -> Result<Vec<ProjectResult>, CliError> {
    run_checks(project, global, renderer, None).await
}

/// `cargo dbcheck validate`: every check, live ones required, plus backup freshness.
pub async fn validate(
    project: &Project,
    global: &GlobalArgs,
    args: &ValidateArgs,
    renderer: &Renderer,
) -> Result<Vec<ProjectResult>, CliError> {
    // Fail before running anything when the live checks cannot run.
    require_database_url(project, global)?;
    run_checks(project, global, renderer, Some(args)).await
}

async fn run_checks(
    project: &Project,
    global: &GlobalArgs,
    renderer: &Renderer,
    validate: Option<&ValidateArgs>,
) -> Result<Vec<ProjectResult>, CliError> {
    let discovery = discover(project)?;
    let mut offline = ProjectResult {
        project: project.name.clone(),
        command: if validate.is_some() { "validate" } else { "check" },
        discovery: Some(DiscoverySummary::of(&discovery)),
        findings: discovery.findings.clone(),
        config_files: project.config_files.clone(),
        ..ProjectResult::default()
    };
    match dbcheck_core::migrate::check_against_base(&discovery, None) {
        Ok((_, findings)) => offline.findings.extend(findings),
        Err(e) => offline.skipped.push(format!("git-base checks: {e}")),
    }
    // Declared sources (diesel schema.rs, schema.sql, #[schema_guard] structs) vs the migrations.
    let mut code_refs = None;
    match super::declared::offline_dialect(project, global, None)? {
        dbcheck_core::db::Dialect::Mysql => offline.skipped.push(
            "declared sources: static interpretation reads PostgreSQL and SQLite migrations, not MySQL".to_owned(),
        ),
        dialect => {
            let (checked, _) = super::declared::check(project, &discovery, dialect)?;
            if checked.sources.is_empty() && checked.guarded_structs == 0 {
                offline.skipped.push(super::declared::NOTHING_DECLARED.to_owned());
            }
            offline.findings.extend(checked.findings);
            code_refs = Some(checked.code_refs);
        }
    }
    // Lint of the migrations new since the git base (all of them outside a repository), with
    // the code references the declared check has already scanned the Rust sources for.
    let lint_args = super::lint::LintArgs::default();
    match super::lint::lint_project(project, global, &lint_args, true, code_refs).await {
        Ok((_, report, output, skipped)) => {
            offline.findings.extend(report.plain_findings());
            offline.skipped.extend(skipped.into_iter().filter(|s| !s.starts_with("data-aware")));
            offline.lint = Some(output);
        }
        Err(e) => offline.skipped.push(format!("lint: {e}")),
    }
    let url = database_url(project, global)?;
    if url.is_none() {
        offline.skipped.push(format!(
            "status, drift, integrity, files: no database URL (set {} or pass --database-url)",
            project.settings.database_url_env
        ));
    } else if project.settings.files.is_empty() {
        offline.skipped.push("files: no [[files]] configured".to_owned());
    }
    if let Some(args) = validate {
        if project.settings.backup.dir.is_some() {
            offline.findings.extend(backup_freshness(project, args.max_backup_age).await);
        } else {
            offline.skipped.push("backup freshness: no [backup] dir configured".to_owned());
        }
    }
    renderer.project(&offline);
    let mut results = vec![offline];
    if url.is_none() {
        return Ok(results);
    }
    results.push(super::status::run(project, global, renderer).await?);
    results.push(super::drift::run(project, global, &defaults()?, renderer).await?);
    results.push(super::integrity::run(project, global, &defaults()?, renderer).await?);
    if !project.settings.files.is_empty() {
        results.push(super::files::run(project, global, &defaults()?, renderer).await?);
    }
    Ok(results)
}

/// The newest backup generation must exist, be younger than `max_hours` and verify.
async fn backup_freshness(project: &Project, max_hours: u64) -> Vec<Finding> {
    let Some(dir) = project.settings.backup.dir.clone() else { return Vec::new() };
    let at = Location::file(&dir);
    let newest = dbcheck_core::backup::store::generations(&dir).into_iter().rev().find(|(_, m)| m.kind != "safety");
    let Some((path, manifest)) = newest else {
        return vec![
            Finding::new("backup-stale", Severity::Error, format!("no backup generation in {}", dir.display()))
                .at(at)
                .help("take one with `cargo dbcheck backup` before deploying"),
        ];
    };
    let age = chrono::DateTime::parse_from_rfc3339(&manifest.created_at)
        .ok()
        .and_then(|t| (chrono::Utc::now() - t.with_timezone(&chrono::Utc)).to_std().ok());
    let mut findings = Vec::new();
    match age {
        Some(age) if age <= Duration::from_secs(max_hours.saturating_mul(3600)) => {}
        Some(age) => findings.push(
            Finding::new(
                "backup-stale",
                Severity::Error,
                format!(
                    "the newest backup generation {} is {} hours old (limit {max_hours})",
                    manifest.id,
                    age.as_secs() / 3600
                ),
            )
            .at(Location::file(&path))
            .help("take a fresh one with `cargo dbcheck backup` before deploying"),
        ),
        None => findings.push(
            Finding::new(
                "backup-stale",
                Severity::Error,
                format!("the newest backup generation {} has no readable creation time", manifest.id),
            )
            .at(Location::file(&path)),
        ),
    }
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    let report =
        dbcheck_core::backup::verify_generation(&path, project.settings.backup.pg_bin_dir.as_deref(), threads).await;
    findings.extend(report.findings);
    findings
}
