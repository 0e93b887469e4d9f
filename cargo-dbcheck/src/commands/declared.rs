//! `cargo dbcheck declared`: the declared sources — diesel `schema.rs` (with `diesel.toml`'s
//! filters), a declarative `schema.sql`, `#[schema_guard]` structs found in the crate's sources —
//! compared offline with the schema the migrations produce (static interpretation, no database).
//! Each mismatch names the declared item and the migration behind the column.

use std::path::PathBuf;

use clap::Args;
use dbcheck_core::config::Project;
use dbcheck_core::db::Dialect;
use dbcheck_core::declared::{DeclaredCheck, check_declared};
use dbcheck_core::migrations::Discovery;
use dbcheck_core::sql::{interpret_migrations, unmodelled_findings};
use serde::Serialize;

use super::schema::{DialectArg, static_dialect};
use super::{DiscoverySummary, ProjectResult, database_url, discover};
use crate::cli::GlobalArgs;
use crate::exit::CliError;
use crate::render::Renderer;

/// `declared` options.
#[derive(Debug, Args, Clone, Default)]
pub struct DeclaredArgs {
    /// The dialect of the migrations, when neither `dialect` in the configuration nor the database URL says it (default postgres)
    #[arg(long, value_enum)]
    pub dialect: Option<DialectArg>,
}

/// What `declared` compared.
#[derive(Debug, Serialize)]
pub struct DeclaredOutput {
    /// The dialect the migrations were interpreted in.
    pub dialect: Dialect,
    /// The declared files compared (diesel `schema.rs`, `schema.sql`).
    pub sources: Vec<PathBuf>,
    /// How many `#[schema_guard]` structs were found and checked.
    pub guarded_structs: usize,
    /// Statements of the migrations the static interpreter could not read.
    pub unmodelled: usize,
}

impl DeclaredOutput {
    /// One line: what was compared with how many migrations.
    pub fn summary(&self, migrations: usize) -> String {
        let cwd = std::env::current_dir().ok();
        let mut parts: Vec<String> = self
            .sources
            .iter()
            .map(|p| cwd.as_ref().and_then(|c| p.strip_prefix(c).ok()).unwrap_or(p).display().to_string())
            .collect();
        if self.guarded_structs > 0 {
            parts.push(format!("{} #[schema_guard] struct(s)", self.guarded_structs));
        }
        if parts.is_empty() {
            return format!("nothing declared to compare with {migrations} migration(s)");
        }
        format!("compared {} with {migrations} migration(s) ({})", parts.join(", "), self.dialect.as_str())
    }
}

/// The dialect of the offline checks: `--dialect`, the configured `dialect`, the database URL's,
/// else PostgreSQL (the guard macro's default too).
pub fn offline_dialect(project: &Project, global: &GlobalArgs, arg: Option<DialectArg>) -> Result<Dialect, CliError> {
    if let Some(d) = arg {
        return Ok(d.dialect());
    }
    if let Some(d) = project.settings.dialect {
        return Ok(d);
    }
    Ok(database_url(project, global)?.map_or(Dialect::Postgres, |u| u.dialect()))
}

/// The declared-source check of one project: findings (mismatches, unreadable sources, the
/// statements the interpreter skipped when anything was compared) and what was compared.
pub fn check(project: &Project, discovery: &Discovery, dialect: Dialect) -> Result<(DeclaredCheck, usize), CliError> {
    let dialect = static_dialect(dialect)?;
    let ours = interpret_migrations(discovery, dialect);
    let mut result = check_declared(&project.root, &project.settings.declared, &ours, dialect, true)
        .map_err(|e| CliError::Usage { message: e.to_string(), help: Some(help_for(&e)) })?;
    if !result.sources.is_empty() || result.guarded_structs > 0 {
        // A statement the interpreter skipped may explain a mismatch: say which.
        result.findings.extend(unmodelled_findings(&ours));
    }
    Ok((result, ours.unmodelled.len()))
}

fn help_for(e: &dbcheck_core::declared::DeclaredError) -> String {
    match e {
        dbcheck_core::declared::DeclaredError::DieselToml { .. } => {
            "fix diesel.toml's [print_schema] section (diesel CLI reads the same keys)".to_owned()
        }
        _ => "check `declared.diesel_schema` / `declared.schema_sql` in the configuration and diesel.toml's `print_schema.file`"
            .to_owned(),
    }
}

/// What the bare command and `validate` note when a project declares nothing.
pub const NOTHING_DECLARED: &str =
    "declared sources: no diesel schema.rs, schema.sql or #[schema_guard] struct (see docs/declared.md)";

/// Run `declared` for one project.
pub async fn run(
    project: &Project,
    global: &GlobalArgs,
    args: &DeclaredArgs,
    renderer: &Renderer,
) -> Result<ProjectResult, CliError> {
    let discovery = discover(project)?;
    let dialect = offline_dialect(project, global, args.dialect)?;
    let (checked, unmodelled) = check(project, &discovery, dialect)?;
    let mut findings = discovery.findings.clone();
    findings.extend(checked.findings);
    let nothing = checked.sources.is_empty() && checked.guarded_structs == 0;
    let result = ProjectResult {
        project: project.name.clone(),
        command: "declared",
        discovery: Some(DiscoverySummary::of(&discovery)),
        declared: Some(DeclaredOutput {
            dialect,
            sources: checked.sources,
            guarded_structs: checked.guarded_structs,
            unmodelled,
        }),
        skipped: if nothing { vec![NOTHING_DECLARED.to_owned()] } else { Vec::new() },
        findings,
        config_files: project.config_files.clone(),
        ..ProjectResult::default()
    };
    renderer.project(&result);
    Ok(result)
}
