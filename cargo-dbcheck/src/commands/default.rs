//! Bare `cargo dbcheck`: every check the available inputs allow.

use dbcheck_core::config::Project;

use super::{DiscoverySummary, ProjectResult, database_url, discover};
use crate::cli::GlobalArgs;
use crate::exit::CliError;
use crate::render::Renderer;

/// Discovery always; `status` when a database URL is configured.
pub async fn run(project: &Project, global: &GlobalArgs, renderer: &Renderer) -> Result<ProjectResult, CliError> {
    if database_url(project, global)?.is_some() {
        return super::status::run(project, global, renderer).await;
    }
    let discovery = discover(project)?;
    let result = ProjectResult {
        project: project.name.clone(),
        command: "check",
        discovery: Some(DiscoverySummary::of(&discovery)),
        status: None,
        files: None,
        schema: None,
        skipped: vec![format!(
            "status: no database URL (set {} or pass --database-url)",
            project.settings.database_url_env
        )],
        findings: discovery.findings,
        database: None,
        config_files: project.config_files.clone(),
        migrate: None,
        ..ProjectResult::default()
    };
    renderer.project(&result);
    Ok(result)
}
