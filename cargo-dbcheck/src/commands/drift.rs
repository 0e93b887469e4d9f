//! `cargo dbcheck drift`: the live database against the schema the migrations produce.
//! `--fix FILE` writes a reviewable script and never runs it; `--fix FILE --apply` runs it in a
//! transaction after showing it and asking (or `--yes`), records it, and checks again.

use std::path::PathBuf;

use clap::Args;
use dbcheck_core::config::Project;
use dbcheck_core::db::{ConnectOptions, connect};
use dbcheck_core::diff::{DriftError, compare, diff_schemas};
use dbcheck_core::migrations::Discovery;
use dbcheck_core::status::{MigrationState, StatusEntry, StatusReport, migration_status};
use dbcheck_core::{Finding, Severity};

use super::schema::{Print, SchemaOutput, replay_error, replay_options, replay_target};
use super::{DiscoverySummary, ProjectResult, connect_read_only, discover, require_database_url};
use crate::cli::GlobalArgs;
use crate::exit::CliError;
use crate::render::Renderer;

/// `drift` options.
#[derive(Debug, Args, Clone)]
pub struct DriftArgs {
    /// Write the SQL that brings the database back to the migrations' schema to FILE (never runs it)
    #[arg(long, value_name = "FILE")]
    pub fix: Option<PathBuf>,
    /// With --fix: run the script in a transaction after showing it and asking, and record it
    #[arg(long, requires = "fix")]
    pub apply: bool,
    /// With --apply: do not ask
    #[arg(long, short = 'y', requires = "apply")]
    pub yes: bool,
}

/// The discovery reduced to the migrations the history records as applied (or failed, edited,
/// out of order: they ran), and a note naming the pending ones left out.
fn applied_only(discovery: &Discovery, status: &StatusReport) -> (Discovery, Option<Finding>) {
    let pending: Vec<&StatusEntry> =
        status.entries.iter().filter(|e| matches!(e.state, MigrationState::Pending { .. })).collect();
    if pending.is_empty() {
        return (discovery.clone(), None);
    }
    let mut reference = discovery.clone();
    reference.migrations.retain(|m| !pending.iter().any(|e| e.path.as_deref() == Some(m.path.as_path())));
    let names: Vec<&str> = pending.iter().map(|e| e.version.as_str()).collect();
    let note = Finding::new(
        "drift-pending-excluded",
        Severity::Info,
        format!(
            "{} pending migration(s) left out of the comparison ({}): their objects are pending, not drift",
            pending.len(),
            names.join(", ")
        ),
    )
    .help("deploy them (`cargo dbcheck migrate deploy`), then run drift again to compare against every migration");
    (reference, Some(note))
}

fn drift_error(e: DriftError) -> CliError {
    match e {
        DriftError::Replay(r) => replay_error(r),
        DriftError::Db(d) => CliError::Db(d),
        other => CliError::Usage { message: other.to_string(), help: None },
    }
}

/// Run `drift` for one project.
pub async fn run(
    project: &Project,
    global: &GlobalArgs,
    args: &DriftArgs,
    renderer: &Renderer,
) -> Result<ProjectResult, CliError> {
    let discovery = discover(project)?;
    let url = require_database_url(project, global)?;
    let mut live = connect_read_only(project, &url).await?;
    // Migrations not applied yet are pending, not drift: compare the database with the schema of
    // the migrations its history records. Without a history table (a database built by hand or by
    // `db push`) every migration is the reference.
    let status = migration_status(&discovery, project.settings.history.as_ref(), &mut live).await;
    let (reference, pending_note) = match status {
        Ok(status) if status.table_exists => applied_only(&discovery, &status),
        Ok(_) => (discovery.clone(), None),
        Err(e) => {
            live.close().await;
            return Err(e.into());
        }
    };
    let target = replay_target(project, url.dialect(), Some(&url))?;
    let options = replay_options(project, &target);
    let replay = dbcheck_core::replay::replay_migrations(&reference, &target, &options).await.map_err(replay_error);
    let replay = match replay {
        Ok(r) => r,
        Err(e) => {
            live.close().await;
            return Err(e);
        }
    };
    let actual = live.introspect(&options.introspect).await.map_err(|e| drift_error(DriftError::Db(e)));
    live.close().await;
    let report = compare(replay, actual?);

    let mut findings = discovery.findings.clone();
    findings.extend(pending_note);
    findings.extend(report.findings.iter().cloned());
    let mut output = SchemaOutput {
        kind: "drift",
        from: format!("database {}", url.redacted()),
        to: format!("migrations in {}", project.settings.migrations_dir.display()),
        replay: Some(report.replay.clone()),
        differences: report.differences.clone(),
        script: (!report.fix.is_empty()).then(|| report.fix.clone()),
        print: Print::Summary,
        ..SchemaOutput::default()
    };

    if let Some(file) = &args.fix
        && report.replay.complete
    {
        let text = fix_file_text(&url.redacted(), &report.fix);
        std::fs::write(file, &text).map_err(|e| CliError::Usage {
            message: format!("cannot write the fix script {}: {e}", file.display()),
            help: None,
        })?;
        output.fix_file = Some(file.clone());
        if args.apply && !report.fix.is_empty() {
            if !args.yes
                && !renderer.confirm(
                    &text,
                    &format!("apply these {} statement(s) to {}?", report.fix.steps.len(), url.redacted()),
                )
            {
                return Err(CliError::Usage {
                    message: "the fix was not applied".into(),
                    help: Some("answer `y` at the prompt, or pass --yes (the script was written for review)".into()),
                });
            }
            let options_rw = ConnectOptions { read_only: false, timeout: project.settings.connect_timeout };
            let mut db = connect(&url, &options_rw).await?;
            let statements: Vec<String> = report.fix.steps.iter().map(|s| s.sql.clone()).collect();
            let applied = db.apply_fix(&statements, &text).await;
            let after = match &applied {
                Ok(()) => Some(db.introspect(&options.introspect).await),
                Err(_) => None,
            };
            db.close().await;
            applied?;
            output.applied = true;
            // Check again: what the script did not fix is still drift.
            let after = after.transpose()?.unwrap_or_else(|| report.actual.clone());
            let left = diff_schemas(&after, &report.expected);
            output.remaining = Some(left.len());
            findings = discovery.findings.clone();
            findings.extend(left.iter().map(dbcheck_core::diff::drift_finding));
            findings.push(
                Finding::new(
                    "drift-fix-applied",
                    Severity::Info,
                    format!(
                        "applied {} statement(s) to {}; recorded in {}",
                        statements.len(),
                        url.redacted(),
                        dbcheck_core::db::FIX_LOG_TABLE
                    ),
                )
                .help(format!("the script is in {}", file.display())),
            );
            output.differences = left;
        }
    }
    let mut skipped = Vec::new();
    if args.fix.is_some() && !report.replay.complete {
        skipped.push("fix script: the migrations do not replay, so there is no schema to fix towards".to_owned());
    }
    let result = ProjectResult {
        skipped,
        discovery: Some(DiscoverySummary::of(&discovery)),
        database: Some(url.redacted()),
        ..super::schema::schema_result(project, "drift", findings, output)
    };
    renderer.project(&result);
    Ok(result)
}

/// The fix script as written to disk: a header saying what it is, then the statements.
fn fix_file_text(database: &str, script: &dbcheck_core::diff::Script) -> String {
    let mut text = format!(
        "-- Generated by `cargo dbcheck drift --fix`: brings {database}\n-- back to the schema the migrations produce. Review it before running it.\n"
    );
    if script.is_empty() {
        text.push_str("-- No drift: nothing to do.\n");
        return text;
    }
    if script.is_destructive() {
        text.push_str("-- WARNING: some statements drop or rewrite data (marked below).\n");
    }
    text.push('\n');
    text.push_str(&script.to_sql());
    text
}
