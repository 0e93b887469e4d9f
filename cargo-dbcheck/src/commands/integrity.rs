//! `cargo dbcheck integrity`: the declared data rules of `[integrity]` against live data (one
//! aggregate scan per table, in a read-only transaction) and the derived rules; optionally the
//! constraint migration that keeps the rules true. Never writes to the database.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use clap::Args;
use dbcheck_core::config::Project;
use dbcheck_core::db::Dialect;
use dbcheck_core::integrity::migration::{timestamp_now, write_migration};
use dbcheck_core::integrity::{IntegrityError, IntegrityOptions, Progress, check};
use dbcheck_core::migrations::Layout;
use dbcheck_core::schema::Schema;

use super::{ProjectResult, connect_read_only, require_database_url};
use crate::cli::GlobalArgs;
use crate::exit::CliError;
use crate::render::Renderer;

/// Options of `integrity`.
#[derive(Debug, Args, Clone)]
pub struct IntegrityArgs {
    /// Scan only this percentage of each table's pages for the counting rules (PostgreSQL TABLESAMPLE SYSTEM; counts are then estimates)
    #[arg(long, value_name = "PERCENT", value_parser = parse_percent)]
    pub sample_percent: Option<f64>,
    /// Sample rows shown per rule that found something (overrides integrity.samples)
    #[arg(long, value_name = "N")]
    pub samples: Option<usize>,
    /// Write the constraint migration for every rule that found violations into DIR, in the project's migration layout
    #[arg(long, value_name = "DIR")]
    pub write_migration: Option<PathBuf>,
    /// Skip the derived rules (NOT VALID constraints, INVALID indexes, missing foreign keys, declared constraints)
    #[arg(long)]
    pub no_derived: bool,
}

fn parse_percent(s: &str) -> Result<f64, String> {
    let p: f64 = s.parse().map_err(|_| format!("`{s}` is not a number"))?;
    if p > 0.0 && p <= 100.0 { Ok(p) } else { Err("must be more than 0 and at most 100".into()) }
}

/// Run `integrity` for one project.
pub async fn run(
    project: &Project,
    global: &GlobalArgs,
    args: &IntegrityArgs,
    renderer: &Renderer,
) -> Result<ProjectResult, CliError> {
    let base = ProjectResult {
        project: project.name.clone(),
        command: "integrity",
        config_files: project.config_files.clone(),
        ..ProjectResult::default()
    };
    let url = require_database_url(project, global)?;
    if args.sample_percent.is_some() && url.dialect() != Dialect::Postgres {
        return Err(CliError::Usage {
            message: format!("--sample-percent needs PostgreSQL (TABLESAMPLE); this database is {}", url.dialect()),
            help: Some("leave it out: the scan reads every row".into()),
        });
    }
    let mut findings = Vec::new();
    let declared = match project.settings.integrity.as_ref().and_then(|s| s.schema_file.as_deref()) {
        Some(path) if !args.no_derived => Some(declared_schema(project, path, &url, &mut findings).await?),
        _ => None,
    };
    // Guarded structs' plain fields: columns the code reads as never NULL.
    let code_not_null = if args.no_derived {
        Vec::new()
    } else {
        match dbcheck_core::guard::scan_sources(&project.root) {
            Ok(structs) => dbcheck_core::guard::non_null_refs(&structs),
            Err(e) => {
                findings.push(dbcheck_core::Finding::new(
                    "integrity-code-unreadable",
                    dbcheck_core::Severity::Warning,
                    format!("guarded structs not read: {e}"),
                ));
                Vec::new()
            }
        }
    };
    let progress = Arc::new(Progress::default());
    let options = IntegrityOptions {
        sample_percent: args.sample_percent,
        samples: args.samples,
        declared,
        code_not_null,
        no_derived: args.no_derived,
        progress: Some(progress.clone()),
    };
    let mut db = connect_read_only(project, &url).await?;
    let display = renderer.integrity_progress(progress);
    let checked = check(project, &mut db, &options).await;
    drop(display);
    db.close().await;
    let mut report = checked.map_err(|e| match e {
        IntegrityError::Db(d) => CliError::Db(d),
        other => CliError::Usage { message: other.to_string(), help: None },
    })?;
    if let Some(dir) = &args.write_migration {
        let layout = migration_layout(project);
        let timestamp = timestamp_now();
        report.migration_files = write_migration(&report, dir, layout, &timestamp)
            .map_err(|e| CliError::Usage { message: format!("{e}: {}", e.source), help: None })?;
    }
    findings.append(&mut report.findings);
    let result = ProjectResult { findings, integrity: Some(report), database: Some(url.redacted()), ..base };
    renderer.project(&result);
    Ok(result)
}

/// The configured layout, else the detected one, else sqlx's.
fn migration_layout(project: &Project) -> Layout {
    project.settings.layout.unwrap_or_else(|| {
        dbcheck_core::migrations::discover_migrations(&project.settings.migrations_dir, None)
            .ok()
            .and_then(|d| d.layout)
            .unwrap_or(Layout::Sqlx)
    })
}

/// `integrity.schema` applied to a throwaway database and introspected.
async fn declared_schema(
    project: &Project,
    path: &Path,
    url: &dbcheck_core::db::DatabaseUrl,
    findings: &mut Vec<dbcheck_core::Finding>,
) -> Result<Schema, CliError> {
    let bytes = std::fs::read(path).map_err(|e| CliError::Usage {
        message: format!("cannot read integrity.schema {}: {e}", path.display()),
        help: Some("`schema` in [integrity] is relative to the file that sets it".into()),
    })?;
    super::diff::replay_sql_file(project, path, bytes, url.dialect(), Some(url), findings).await
}
