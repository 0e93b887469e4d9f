//! `cargo dbcheck status`: where every migration stands against the live database. Read-only.

use dbcheck_core::config::Project;
use dbcheck_core::status::migration_status;

use super::{DiscoverySummary, ProjectResult, connect_read_only, discover, require_database_url};
use crate::cli::GlobalArgs;
use crate::exit::CliError;
use crate::render::Renderer;

/// Run `status` for one project.
pub async fn run(project: &Project, global: &GlobalArgs, renderer: &Renderer) -> Result<ProjectResult, CliError> {
    let discovery = discover(project)?;
    let url = require_database_url(project, global)?;
    let mut db = connect_read_only(project, &url).await?;
    let report = migration_status(&discovery, project.settings.history.as_ref(), &mut db).await;
    db.close().await;
    let report = report?;
    let result = ProjectResult {
        project: project.name.clone(),
        command: "status",
        discovery: Some(DiscoverySummary::of(&discovery)),
        findings: report.findings.clone(),
        status: Some(report),
        files: None,
        schema: None,
        skipped: Vec::new(),
        database: Some(url.redacted()),
        config_files: project.config_files.clone(),
        migrate: None,
        ..ProjectResult::default()
    };
    renderer.project(&result);
    Ok(result)
}
