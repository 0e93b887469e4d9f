//! `cargo dbcheck migrate deploy`: apply pending migrations under a lock, recorded as the
//! project's migration tool records them; `migrate resolve`: audited repairs of the history.

use std::time::Duration;

use clap::{ArgGroup, Args, Subcommand};
use dbcheck_core::config::Project;
use dbcheck_core::db::{ConnectOptions, Dialect, connect};
use dbcheck_core::migrate::{DeployOptions, DeployReport, ResolveAction, ResolveReport, deploy, resolve};
use serde::Serialize;

use super::{DiscoverySummary, ProjectResult, database_url, discover, require_database_url};
use crate::cli::GlobalArgs;
use crate::exit::CliError;
use crate::render::Renderer;

/// `migrate` and its subcommands.
#[derive(Debug, Args)]
pub struct MigrateArgs {
    #[command(subcommand)]
    command: MigrateCommand,
}

#[derive(Debug, Subcommand)]
enum MigrateCommand {
    /// Apply pending migrations in order, each in its own transaction, under a database-level lock; refuses when the history is failed, edited, missing or out of order
    Deploy(DeployArgs),
    /// Mark a failed migration applied or rolled back after a manual repair, or accept an edited migration's new checksum; audited in _dbcheck_audit
    Resolve(ResolveArgs),
    /// Write a new migration, in the project's layout, from the difference between the declared schema (--schema, default schema.sql) and the migrations; destructive steps commented out
    New(NewArgs),
    /// Offline, for pre-commit and CI: compare the migrations with those at a git base (--base, default the upstream or main); edited, deleted, renamed or out-of-order migrations are errors
    Check(CheckArgs),
}

/// `migrate check`.
#[derive(Debug, Args)]
struct CheckArgs {
    /// The git revision to compare with (default: the upstream branch, else main, origin/main, master)
    #[arg(long, value_name = "REF")]
    base: Option<String>,
}

/// `migrate new`.
#[derive(Debug, Args)]
struct NewArgs {
    /// The migration's name (letters, digits, `_`)
    name: String,
    /// The declared schema: a .sql file of CREATE statements (default: schema.sql beside Cargo.toml,
    /// else the #[schema_guard(…, exhaustive)] structs of the crate)
    #[arg(long, value_name = "FILE")]
    schema: Option<std::path::PathBuf>,
}

/// What a `migrate` subcommand did.
#[derive(Debug, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MigrateOutput {
    /// `migrate deploy`.
    Deploy(DeployReport),
    /// `migrate resolve`.
    Resolve(ResolveReport),
    /// `baseline`.
    Baseline(dbcheck_core::migrate::BaselineReport),
    /// `migrate new`.
    New(dbcheck_core::migrate::NewMigration),
    /// `migrate check`.
    Check(dbcheck_core::migrate::GitBaseReport),
}

/// `migrate resolve`.
#[derive(Debug, Args)]
#[command(group(ArgGroup::new("action").required(true).args(["applied", "rolled_back", "accept_checksum"])))]
struct ResolveArgs {
    /// The failed (or pending) migration is in the database now: record it as applied
    #[arg(long, value_name = "NAME")]
    applied: Option<String>,
    /// The failed migration's changes are not in the database: record it as rolled back
    #[arg(long, value_name = "NAME")]
    rolled_back: Option<String>,
    /// Accept the edited migration's new bytes: record their checksum (says when only line endings changed)
    #[arg(long, value_name = "NAME")]
    accept_checksum: Option<String>,
}

/// `migrate deploy`.
#[derive(Debug, Args)]
struct DeployArgs {
    /// Seconds to wait for another deploy's lock before giving up
    #[arg(long, value_name = "SECS", default_value_t = 60.0)]
    lock_timeout: f64,
    /// Apply pending migrations that sort before the latest applied one (merged from an older branch)
    #[arg(long)]
    allow_out_of_order: bool,
    /// Take the lock, check the history and list what would be applied; apply nothing
    #[arg(long)]
    dry_run: bool,
}

/// Run `migrate …` for one project.
pub async fn run(
    project: &Project,
    global: &GlobalArgs,
    args: &MigrateArgs,
    renderer: &Renderer,
) -> Result<ProjectResult, CliError> {
    match &args.command {
        MigrateCommand::Deploy(deploy_args) => run_deploy(project, global, deploy_args, renderer).await,
        MigrateCommand::Resolve(resolve_args) => run_resolve(project, global, resolve_args, renderer).await,
        MigrateCommand::New(new_args) => run_new(project, global, new_args, renderer).await,
        MigrateCommand::Check(check_args) => run_check(project, check_args, renderer),
    }
}

fn run_check(project: &Project, args: &CheckArgs, renderer: &Renderer) -> Result<ProjectResult, CliError> {
    let discovery = discover(project)?;
    let (report, findings) =
        dbcheck_core::migrate::check_against_base(&discovery, args.base.as_deref()).map_err(|e| CliError::Usage {
            message: e.to_string(),
            help: Some("run inside the project's git repository, with the base revision fetched".into()),
        })?;
    let mut all = discovery.findings.clone();
    all.extend(findings);
    let result = ProjectResult {
        project: project.name.clone(),
        command: "migrate check",
        discovery: Some(DiscoverySummary::of(&discovery)),
        findings: all,
        migrate: Some(MigrateOutput::Check(report)),
        config_files: project.config_files.clone(),
        ..ProjectResult::default()
    };
    renderer.project(&result);
    Ok(result)
}

async fn run_new(
    project: &Project,
    global: &GlobalArgs,
    args: &NewArgs,
    renderer: &Renderer,
) -> Result<ProjectResult, CliError> {
    use dbcheck_core::migrate::{migration_text, next_version, write_new_migration};
    use dbcheck_core::migrations::{Discovery, Migration, MigrationKind, TransactionMode, Version};
    use dbcheck_core::replay::{ReplayOptions, replay_migrations};

    if args.name.is_empty() || !args.name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
        return Err(CliError::Usage {
            message: format!("invalid migration name `{}`: use letters, digits and `_`", args.name),
            help: Some("e.g. `cargo dbcheck migrate new add_slug_to_ads`".into()),
        });
    }
    let discovery = discover(project)?;
    let Some(layout) = project.settings.layout.or(discovery.layout) else {
        return Err(CliError::Usage {
            message: "the migrations folder has no migrations, so its layout is unknown".into(),
            help: Some("set `layout` in [package.metadata.dbcheck] or dbcheck.toml".into()),
        });
    };
    let url = database_url(project, global)?;
    let dialect = url.as_ref().map_or(project.settings.dialect.unwrap_or(Dialect::Sqlite), |u| u.dialect());
    let target = super::schema::replay_target(project, dialect, url.as_ref())?;
    let options = super::schema::replay_options(project, &target);
    let replay = replay_migrations(&discovery, &target, &options).await.map_err(super::schema::replay_error)?;
    let mut findings = replay.findings.clone();
    // The declared schema: --schema, else schema.sql beside Cargo.toml, else the guarded structs
    // marked `exhaustive` (each fully defines its table).
    let schema_file = args.schema.clone().or_else(|| Some(project.root.join("schema.sql")).filter(|p| p.is_file()));
    let (declared, declared_schema, declared_complete) = match schema_file {
        Some(declared) => {
            let bytes = std::fs::read(&declared).map_err(|e| CliError::Usage {
                message: format!("cannot read the declared schema {}: {e}", declared.display()),
                help: Some(
                    "pass --schema FILE, a .sql file of CREATE statements describing the schema you want".into(),
                ),
            })?;
            let declared_discovery = Discovery {
                dir: declared.parent().map(std::path::Path::to_path_buf).unwrap_or_default(),
                layout: None,
                migrations: vec![Migration {
                    version: Version::Int(0),
                    history_key: "0".into(),
                    name: "declared schema".into(),
                    path: declared.clone(),
                    bytes,
                    down_path: None,
                    transaction: TransactionMode::Transaction,
                    kind: MigrationKind::Versioned,
                }],
                findings: Vec::new(),
            };
            let declared_replay =
                replay_migrations(&declared_discovery, &target, &ReplayOptions { cache: false, ..options.clone() })
                    .await
                    .map_err(super::schema::replay_error)?;
            findings.extend(declared_replay.findings.iter().cloned());
            (declared, declared_replay.schema, declared_replay.complete)
        }
        None => {
            let scanned = dbcheck_core::guard::scan_sources(&project.root)
                .map_err(|e| CliError::Usage { message: e.to_string(), help: None })?;
            let structs: Vec<_> = scanned.iter().filter_map(|s| s.guarded.as_ref().ok()).collect();
            let exhaustive: Vec<_> = structs.iter().copied().filter(|g| g.options.exhaustive.is_some()).collect();
            if exhaustive.is_empty() {
                return Err(CliError::Usage {
                    message: format!(
                        "no declared schema: {} does not exist and no #[schema_guard(…, exhaustive)] struct fully defines a table",
                        project.root.join("schema.sql").display()
                    ),
                    help: Some(
                        "pass --schema FILE (CREATE statements of the schema you want), or mark guarded structs `exhaustive`"
                            .into(),
                    ),
                });
            }
            let (schema, skipped) = dbcheck_core::guard::declared_schema(&exhaustive, &replay.schema, dialect);
            for why in skipped {
                findings.push(dbcheck_core::Finding::new(
                    "migrate-new-struct-skipped",
                    dbcheck_core::Severity::Warning,
                    why,
                ));
            }
            (project.root.join("src (exhaustive #[schema_guard] structs)"), schema, true)
        }
    };
    let mut report =
        dbcheck_core::migrate::NewMigration { version: String::new(), files: Vec::new(), steps: 0, destructive: 0 };
    if replay.complete && declared_complete {
        let script = dbcheck_core::diff::migration_script(&replay.schema, &declared_schema);
        report.steps = script.steps.len();
        report.destructive = script.steps.iter().filter(|s| s.destructive).count();
        if script.is_empty() {
            findings.push(dbcheck_core::Finding::new(
                "migrate-new-no-changes",
                dbcheck_core::Severity::Info,
                format!("the migrations already produce {}: nothing written", declared.display()),
            ));
        } else {
            let now = dbcheck_core::migrate::utc_version_now();
            report.version = next_version(&discovery, layout, &now);
            let text = migration_text(&script, &declared);
            report.files = write_new_migration(&discovery.dir, layout, &report.version, &args.name, &text)
                .map_err(|e| CliError::Usage { message: format!("{e}: {}", e.source), help: None })?;
            if report.destructive > 0 {
                findings.push(
                    dbcheck_core::Finding::new(
                        "migrate-new-destructive",
                        dbcheck_core::Severity::Warning,
                        format!(
                            "{} destructive step(s) written commented out in the new migration",
                            report.destructive
                        ),
                    )
                    .at(dbcheck_core::Location::file(&report.files[0]))
                    .help("they drop or rewrite data: back it up or migrate it first, then uncomment them"),
                );
            }
            // The new migration is reviewed like any other: lint it against the history before it.
            let lint_args = super::lint::LintArgs {
                files: report.files.iter().take(1).cloned().collect(),
                offline: true,
                dialect: Some(super::schema::DialectArg::from(dialect)),
                ..super::lint::LintArgs::default()
            };
            let (_, linted, _, _) = super::lint::lint_project(project, global, &lint_args, false, None).await?;
            findings.extend(linted.plain_findings());
        }
    }
    let result = ProjectResult {
        project: project.name.clone(),
        command: "migrate new",
        discovery: Some(DiscoverySummary::of(&discovery)),
        findings,
        migrate: Some(MigrateOutput::New(report)),
        database: url.as_ref().map(|u| u.redacted()),
        config_files: project.config_files.clone(),
        ..ProjectResult::default()
    };
    renderer.project(&result);
    Ok(result)
}

async fn run_resolve(
    project: &Project,
    global: &GlobalArgs,
    args: &ResolveArgs,
    renderer: &Renderer,
) -> Result<ProjectResult, CliError> {
    let (action, name) = match (&args.applied, &args.rolled_back, &args.accept_checksum) {
        (Some(n), _, _) => (ResolveAction::Applied, n),
        (_, Some(n), _) => (ResolveAction::RolledBack, n),
        (_, _, Some(n)) => (ResolveAction::AcceptChecksum, n),
        _ => {
            return Err(CliError::Usage {
                message: "`migrate resolve` needs one of --applied, --rolled-back or --accept-checksum".into(),
                help: None,
            });
        }
    };
    let discovery = discover(project)?;
    let url = require_database_url(project, global)?;
    let options = ConnectOptions { read_only: false, timeout: project.settings.connect_timeout };
    let mut db = connect(&url, &options).await?;
    let outcome = resolve(&discovery, project.settings.history.as_ref(), &mut db, action, name).await;
    db.close().await;
    let (findings, migrate) = match outcome? {
        Ok(report) => (Vec::new(), Some(MigrateOutput::Resolve(report))),
        Err(finding) => (vec![finding], None),
    };
    let result = ProjectResult {
        project: project.name.clone(),
        command: "migrate resolve",
        discovery: Some(DiscoverySummary::of(&discovery)),
        findings,
        migrate,
        database: Some(url.redacted()),
        config_files: project.config_files.clone(),
        ..ProjectResult::default()
    };
    renderer.project(&result);
    Ok(result)
}

async fn run_deploy(
    project: &Project,
    global: &GlobalArgs,
    args: &DeployArgs,
    renderer: &Renderer,
) -> Result<ProjectResult, CliError> {
    if !(args.lock_timeout.is_finite() && args.lock_timeout >= 0.0) {
        return Err(CliError::Usage {
            message: format!("invalid --lock-timeout {}: expected seconds, 0 or more", args.lock_timeout),
            help: None,
        });
    }
    let discovery = discover(project)?;
    let url = require_database_url(project, global)?;
    let options = ConnectOptions { read_only: false, timeout: project.settings.connect_timeout };
    let mut db = connect(&url, &options).await?;
    let deploy_options = DeployOptions {
        lock_timeout: Duration::from_secs_f64(args.lock_timeout),
        allow_out_of_order: args.allow_out_of_order,
        dry_run: args.dry_run,
    };
    let progress = renderer.deploy_progress();
    let mut on_step = |i: usize, total: usize, m: &dbcheck_core::migrations::Migration| {
        if let Some(p) = &progress {
            p.step(i, total, &m.history_key);
        }
    };
    let report = deploy(&discovery, project.settings.history.as_ref(), &mut db, &deploy_options, &mut on_step).await;
    drop(progress);
    db.close().await;
    let report = report?;
    let result = ProjectResult {
        project: project.name.clone(),
        command: "migrate deploy",
        discovery: Some(DiscoverySummary::of(&discovery)),
        findings: report.findings.clone(),
        migrate: Some(MigrateOutput::Deploy(report)),
        database: Some(url.redacted()),
        config_files: project.config_files.clone(),
        ..ProjectResult::default()
    };
    renderer.project(&result);
    Ok(result)
}
