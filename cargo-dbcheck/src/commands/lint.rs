//! `cargo dbcheck lint`: the migration linter (docs/lint.md). Offline by default; with a database
//! URL it reads table sizes (severity follows the table's size) and counts the live rows a new
//! constraint would reject. `--base REF` lints only migrations added or changed since a git base.

use std::collections::BTreeSet;
use std::path::PathBuf;

use clap::Args;
use dbcheck_core::config::Project;
use dbcheck_core::db::Dialect;
use dbcheck_core::declared::CodeRef;
use dbcheck_core::lint::{LintOptions, LintReport, TableSizes, lint};
use dbcheck_core::migrations::Discovery;
use serde::Serialize;

use super::schema::DialectArg;
use super::{ProjectResult, connect_read_only, database_url, discover};
use crate::cli::GlobalArgs;
use crate::exit::CliError;
use crate::render::Renderer;

/// `lint` options.
#[derive(Debug, Args, Clone, Default)]
pub struct LintArgs {
    /// Lint only the migrations added or changed since this git revision (others still shape the
    /// schema the rules see)
    #[arg(long, value_name = "REF")]
    pub base: Option<String>,
    /// The dialect of the migrations (default: the `dialect` setting, else the database URL's, else postgres)
    #[arg(long, value_enum)]
    pub dialect: Option<DialectArg>,
    /// Do not connect even when a database URL is configured (no sizes, no row counts)
    #[arg(long)]
    pub offline: bool,
    /// Rewrite the migrations new since the git base (or the FILEs given) where a rule has an
    /// in-place fix (column types: DL401–DL405), then lint them again
    #[arg(long)]
    pub fix: bool,
    /// Lint only these migration files
    #[arg(value_name = "FILE")]
    pub files: Vec<PathBuf>,
}

/// What `lint` looked at, for JSON output.
#[derive(Debug, Serialize)]
pub struct LintOutput {
    /// Files linted.
    pub files: usize,
    /// Statements linted.
    pub statements: usize,
    /// Migrations read for history only.
    pub skipped: usize,
    /// The git base, when `--base` was given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub base: Option<String>,
    /// Where Rust code uses tables and columns (guarded structs, diesel `schema.rs`).
    pub code_refs: usize,
    /// Whether table sizes and row counts came from a live database.
    pub data_aware: bool,
    /// With `--fix`: the in-place fixes written, and the files they changed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fixed: Option<FixedOutput>,
}

/// What `lint --fix` rewrote.
#[derive(Debug, Serialize)]
pub struct FixedOutput {
    /// Fixes written.
    pub fixes: usize,
    /// Files rewritten, as discovered.
    pub files: Vec<PathBuf>,
}

impl LintOutput {
    /// One line: what was linted and what it found.
    pub fn summary(&self, findings: &[dbcheck_core::Finding]) -> String {
        use dbcheck_core::Severity;
        let count = |s: Severity| findings.iter().filter(|f| f.severity == s).count();
        let base = self.base.as_ref().map(|b| format!(" new since {b}")).unwrap_or_default();
        let history =
            if self.skipped > 0 { format!(" ({} earlier read for history only)", self.skipped) } else { String::new() };
        let data = if self.data_aware { ", data-aware" } else { "" };
        let fixed = self
            .fixed
            .as_ref()
            .map(|f| format!("fixed {} finding(s) in {} file(s); then ", f.fixes, f.files.len()))
            .unwrap_or_default();
        format!(
            "{fixed}{} migration file(s){base}, {} statement(s) linted{history}{data}: {} error(s), {} warning(s), {} info",
            self.files,
            self.statements,
            count(Severity::Error),
            count(Severity::Warning),
            count(Severity::Info)
        )
    }
}

/// The dialect the migrations are written in.
pub fn migrations_dialect(
    project: &Project,
    global: &GlobalArgs,
    arg: Option<DialectArg>,
) -> Result<Dialect, CliError> {
    if let Some(d) = arg {
        return Ok(d.dialect());
    }
    if let Some(d) = project.settings.dialect {
        return Ok(d);
    }
    Ok(database_url(project, global)?.map_or(Dialect::Postgres, |u| u.dialect()))
}

/// Lint one project without printing (for bare `cargo dbcheck`, `validate` and the hook).
///
/// With `default_base` and no `--base`, only migrations new since the default git base
/// (upstream, `main`, …) are linted, and none when there is no base. `scanned_refs` are the
/// code references a caller has already read from the Rust sources (else they are scanned here).
pub async fn lint_project(
    project: &Project,
    global: &GlobalArgs,
    args: &LintArgs,
    default_base: bool,
    scanned_refs: Option<Vec<CodeRef>>,
) -> Result<(Discovery, LintReport, LintOutput, Vec<String>), CliError> {
    let discovery = discover(project)?;
    let dialect = migrations_dialect(project, global, args.dialect)?;
    let mut skipped = Vec::new();
    let mut only: Option<BTreeSet<PathBuf>> = None;
    let mut base_used = args.base.clone();
    let at_base = match &args.base {
        Some(base) => {
            Some(dbcheck_core::migrate::migrations_at_base(&discovery, Some(base)).map_err(|e| CliError::Usage {
                message: e.to_string(),
                help: Some("run inside the project's git repository, with the base revision fetched".into()),
            })?)
        }
        None if default_base => match dbcheck_core::migrate::migrations_at_base(&discovery, None) {
            Ok(found) => Some(found),
            Err(e) => {
                // Without a base there is no telling new migrations from long-applied ones.
                skipped.push(format!("lint: no git base to tell new migrations from applied ones ({e}); run `cargo dbcheck lint` to lint them all"));
                only = Some(BTreeSet::new());
                None
            }
        },
        None => None,
    };
    if let Some((report, at_base)) = at_base {
        base_used = Some(report.base);
        only = Some(
            discovery
                .migrations
                .iter()
                .filter(|m| !at_base.migrations.iter().any(|b| b.history_key == m.history_key && b.bytes == m.bytes))
                .map(|m| m.path.clone())
                .collect(),
        );
    }
    if !args.files.is_empty() {
        let wanted: BTreeSet<PathBuf> = args.files.iter().filter_map(|f| f.canonicalize().ok()).collect();
        let picked: BTreeSet<PathBuf> = discovery
            .migrations
            .iter()
            .filter(|m| m.path.canonicalize().is_ok_and(|p| wanted.contains(&p)))
            .map(|m| m.path.clone())
            .collect();
        only = Some(match only {
            Some(o) => o.intersection(&picked).cloned().collect(),
            None => picked,
        });
    }
    let code_refs = match scanned_refs {
        Some(refs) => relative_refs(project, refs),
        None => {
            let (refs, problems) = code_refs(project, dialect);
            skipped.extend(problems);
            refs
        }
    };
    let mut options = LintOptions { config: project.settings.lint.clone(), only, code_refs, sizes: None };
    let url = if args.offline { None } else { database_url(project, global)? };
    let url = url.filter(|u| u.dialect() == dialect);
    let mut db = match &url {
        Some(u) => Some(connect_read_only(project, u).await?),
        None if args.offline => None,
        None => {
            skipped.push("data-aware checks: no database URL (sizes and violating rows not read)".to_owned());
            None
        }
    };
    if let Some(db) = db.as_mut() {
        options.sizes = Some(TableSizes { rows: db.table_row_estimates().await? });
    }
    let mut report = lint(&discovery, dialect, &options);
    if let Some(mut db) = db {
        dbcheck_core::lint::data::count_violations(&mut db, &discovery, &mut report).await?;
        db.close().await;
    }
    let output = LintOutput {
        files: report.files,
        statements: report.statements,
        skipped: report.skipped,
        base: base_used,
        code_refs: options.code_refs.len(),
        data_aware: options.sizes.is_some(),
        fixed: None,
    };
    Ok((discovery, report, output, skipped))
}

/// Where the project's Rust code uses tables and columns, and why some sources could not be read.
pub fn code_refs(project: &Project, dialect: Dialect) -> (Vec<CodeRef>, Vec<String>) {
    let mut refs = Vec::new();
    let mut problems = Vec::new();
    match dbcheck_core::guard::scan_sources(&project.root) {
        Ok(structs) => refs.extend(dbcheck_core::guard::code_refs(&structs)),
        Err(e) => problems.push(format!("code-aware lint of #[schema_guard] structs: {e}")),
    }
    match dbcheck_core::declared::load_declared(&project.root, &project.settings.declared, dialect) {
        Ok(declared) => {
            for d in declared.iter().filter(|d| d.kind == dbcheck_core::declared::SourceKind::Diesel) {
                refs.extend(dbcheck_core::declared::diesel::code_refs(d));
            }
        }
        Err(e) => problems.push(format!("code-aware lint of diesel schema.rs: {e}")),
    }
    (relative_refs(project, refs), problems)
}

/// Code references with paths relative to the project's root, as lint findings show them.
fn relative_refs(project: &Project, mut refs: Vec<CodeRef>) -> Vec<CodeRef> {
    for r in &mut refs {
        if let Ok(rel) = r.path.strip_prefix(&project.root) {
            r.path = rel.to_path_buf();
        }
    }
    refs
}

/// `lint --fix`: lint the migrations that are not applied anywhere yet (new since the git base, by
/// default the upstream branch or `main`, or the files named), write the in-place fixes the
/// findings offer, and lint again for the report.
async fn fix(
    project: &Project,
    global: &GlobalArgs,
    args: &LintArgs,
) -> Result<(Discovery, LintReport, LintOutput, Vec<String>), CliError> {
    let default_base = args.base.is_none() && args.files.is_empty();
    let (_, first, output, _) = lint_project(project, global, args, default_base, None).await?;
    if output.base.is_none() && args.files.is_empty() {
        return Err(CliError::Usage {
            message: "--fix rewrites only migrations that no database has applied yet, and there is no git base to \
                      tell which those are"
                .into(),
            help: Some(
                "run it inside the git repository (with an upstream or `main`), pass --base REF, or name the files"
                    .into(),
            ),
        });
    }
    let edits: Vec<dbcheck_core::lint::Edit> = first.findings.into_iter().filter_map(|f| f.edit).collect();
    let applied = dbcheck_core::lint::fix::apply_edits(&project.root, &edits)
        .map_err(|e| CliError::Usage { message: e.to_string(), help: None })?;
    let (discovery, report, mut output, mut skipped) = lint_project(project, global, args, default_base, None).await?;
    skipped.extend(applied.skipped.iter().map(|s| format!("fix not applied at {s}")));
    output.fixed = Some(FixedOutput { fixes: applied.applied, files: applied.files });
    Ok((discovery, report, output, skipped))
}

/// Run `lint` for one project.
pub async fn run(
    project: &Project,
    global: &GlobalArgs,
    args: &LintArgs,
    renderer: &Renderer,
) -> Result<ProjectResult, CliError> {
    let (discovery, report, output, skipped) = if args.fix {
        fix(project, global, args).await?
    } else {
        lint_project(project, global, args, false, None).await?
    };
    let mut findings = discovery.findings.clone();
    findings.extend(report.plain_findings());
    let result = ProjectResult {
        project: project.name.clone(),
        command: "lint",
        lint: Some(output),
        skipped,
        findings,
        config_files: project.config_files.clone(),
        ..ProjectResult::default()
    };
    renderer.project(&result);
    Ok(result)
}
