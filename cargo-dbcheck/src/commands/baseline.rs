//! `cargo dbcheck baseline [--to VERSION]`: adopt a database without migration history, after
//! verifying that its schema equals what the migrations up to VERSION produce.

use clap::Args;
use dbcheck_core::config::Project;
use dbcheck_core::db::{ConnectOptions, connect};
use dbcheck_core::migrate::{BaselineError, baseline};

use super::migrate::MigrateOutput;
use super::require_database_url;
use super::schema::{replay_error, replay_options, replay_target};
use super::{DiscoverySummary, ProjectResult, discover};
use crate::cli::GlobalArgs;
use crate::exit::CliError;
use crate::render::Renderer;

/// `baseline` options.
#[derive(Debug, Args, Clone)]
pub struct BaselineArgs {
    /// The newest migration the database already contains (default: all of them)
    #[arg(long, value_name = "VERSION")]
    pub to: Option<String>,
}

/// Run `baseline` for one project.
pub async fn run(
    project: &Project,
    global: &GlobalArgs,
    args: &BaselineArgs,
    renderer: &Renderer,
) -> Result<ProjectResult, CliError> {
    let discovery = discover(project)?;
    let url = require_database_url(project, global)?;
    let target = replay_target(project, url.dialect(), Some(&url))?;
    let options = replay_options(project, &target);
    let connect_options = ConnectOptions { read_only: false, timeout: project.settings.connect_timeout };
    let mut db = connect(&url, &connect_options).await?;
    let outcome =
        baseline(&discovery, args.to.as_deref(), project.settings.history.as_ref(), &mut db, &target, &options).await;
    db.close().await;
    let (report, findings) = outcome.map_err(|e| match e {
        BaselineError::Replay(r) => replay_error(r),
        BaselineError::Db(d) => CliError::Db(d),
        other => CliError::Usage { message: other.to_string(), help: None },
    })?;
    let result = ProjectResult {
        project: project.name.clone(),
        command: "baseline",
        discovery: Some(DiscoverySummary::of(&discovery)),
        findings,
        migrate: Some(MigrateOutput::Baseline(report)),
        database: Some(url.redacted()),
        config_files: project.config_files.clone(),
        ..ProjectResult::default()
    };
    renderer.project(&result);
    Ok(result)
}
