//! `cargo dbcheck check-static`: the oracle of static interpretation. Interprets the migrations
//! with no database, replays them into a throwaway one, and reports every disagreement
//! (`static-mismatch`) and every statement the interpreter skipped (`static-unmodelled`).

use clap::Args;
use dbcheck_core::config::Project;
use dbcheck_core::diff::ReplaySummary;
use dbcheck_core::sql::{interpret_migrations, mismatch_findings, static_disagreements, unmodelled_findings};

use super::schema::{DialectArg, Print, SchemaOutput, dialect_for, replay_project, schema_result, static_dialect};
use super::{ProjectResult, discover};
use crate::cli::GlobalArgs;
use crate::exit::CliError;
use crate::render::Renderer;

/// `check-static` options.
#[derive(Debug, Args, Clone)]
pub struct CheckStaticArgs {
    /// The dialect of the migrations, when no database URL says it (`sqlite` needs no server)
    #[arg(long, value_enum)]
    pub dialect: Option<DialectArg>,
}

/// Run `check-static` for one project.
pub async fn run(
    project: &Project,
    global: &GlobalArgs,
    args: &CheckStaticArgs,
    renderer: &Renderer,
) -> Result<ProjectResult, CliError> {
    let discovery = discover(project)?;
    let (dialect, url) = dialect_for(project, global, args.dialect)?;
    let dialect = static_dialect(dialect)?;
    let ours = interpret_migrations(&discovery, dialect);
    let replay = replay_project(project, &discovery, dialect, url.as_ref()).await?;
    let mut findings = discovery.findings.clone();
    findings.extend(replay.findings.iter().cloned());
    // A replay that stopped early is not a ground truth to compare with.
    let replay_complete = replay.complete;
    let differences = if replay_complete {
        static_disagreements(&ours, &replay.schema, &project.settings.schemas)
    } else {
        Vec::new()
    };
    findings.extend(mismatch_findings(&ours, &differences));
    findings.extend(unmodelled_findings(&ours));
    let output = SchemaOutput {
        kind: "check-static",
        from: "static interpretation".to_owned(),
        to: if replay_complete { "replay" } else { "replay (incomplete: nothing compared)" }.to_owned(),
        replay: Some(ReplaySummary::of(&replay)),
        differences,
        unmodelled: Some(ours.unmodelled),
        print: Print::Summary,
        ..SchemaOutput::default()
    };
    let skipped = if replay_complete {
        Vec::new()
    } else {
        vec!["comparison with replay: a migration failed during replay (see replay-failed)".to_owned()]
    };
    let result = ProjectResult { skipped, ..schema_result(project, "check-static", findings, output) };
    renderer.project(&result);
    Ok(result)
}
