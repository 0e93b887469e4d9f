//! `cargo dbcheck schema`: the normalized schema the migrations produce (replayed into a
//! throwaway database), as SQL or JSON. Also the pieces `drift` and `diff` share: where replay
//! runs and the result they render.

use std::collections::BTreeMap;
use std::path::PathBuf;

use clap::{Args, ValueEnum};
use dbcheck_core::Finding;
use dbcheck_core::config::Project;
use dbcheck_core::db::{DatabaseUrl, Dialect, ShadowServer};
use dbcheck_core::diff::{Difference, ReplaySummary, Script, create_statements, introspect_options};
use dbcheck_core::migrations::Discovery;
use dbcheck_core::replay::{ReplayError, ReplayOptions, ReplayTarget, replay_migrations};
use dbcheck_core::schema::Schema;
use dbcheck_core::sql::{Origin, Unmodelled, interpret_migrations, unmodelled_findings};
use serde::Serialize;

use super::{ProjectResult, database_url, discover};
use crate::cli::GlobalArgs;
use crate::exit::CliError;
use crate::render::Renderer;

/// `schema` options.
#[derive(Debug, Args, Clone)]
pub struct SchemaArgs {
    /// Output: `sql` (CREATE statements in dependency order) or `json` (the normalized model)
    #[arg(long, value_enum, default_value_t = SchemaFormat::Sql)]
    pub format: SchemaFormat,
    /// Replay into this dialect without a database URL (only `sqlite` needs no server); with
    /// --static, the dialect the migrations are read as
    #[arg(long, value_enum)]
    pub dialect: Option<DialectArg>,
    /// Interpret the migrations statically (pure Rust, no database) instead of replaying them;
    /// statements it cannot interpret are reported as `static-unmodelled` warnings
    #[arg(long = "static")]
    pub static_: bool,
}

/// `--format` of `schema`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SchemaFormat {
    /// CREATE statements
    Sql,
    /// The normalized model as JSON
    Json,
}

/// `--dialect`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DialectArg {
    /// PostgreSQL (replays on the configured server)
    Postgres,
    /// SQLite (replays in memory)
    Sqlite,
    /// MySQL/MariaDB (replays on the configured server)
    Mysql,
}

impl From<Dialect> for DialectArg {
    fn from(d: Dialect) -> Self {
        match d {
            Dialect::Postgres => DialectArg::Postgres,
            Dialect::Sqlite => DialectArg::Sqlite,
            Dialect::Mysql => DialectArg::Mysql,
        }
    }
}

impl DialectArg {
    /// The dialect.
    pub fn dialect(self) -> Dialect {
        match self {
            DialectArg::Postgres => Dialect::Postgres,
            DialectArg::Sqlite => Dialect::Sqlite,
            DialectArg::Mysql => Dialect::Mysql,
        }
    }
}

/// What `drift`, `diff` and `schema` print on stdout in human mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Print {
    /// A summary of the differences.
    #[default]
    Summary,
    /// The summary, then the SQL script.
    Script,
    /// Only the schema as SQL.
    SchemaSql,
    /// Only the schema as JSON.
    SchemaJson,
}

/// The result of `drift`, `diff` or `schema`, rendered by `render.rs`.
#[derive(Debug, Serialize, Default)]
pub struct SchemaOutput {
    /// What was compared: `drift`, `diff` or `schema`.
    pub kind: &'static str,
    /// The first side (`drift`: the database).
    pub from: String,
    /// The second side (`drift`: the migrations).
    pub to: String,
    /// How the migrations' replay went, when they were replayed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replay: Option<ReplaySummary>,
    /// Every difference between the sides.
    pub differences: Vec<Difference>,
    /// SQL turning `from` into `to` (`schema`: creating it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub script: Option<Script>,
    /// The schema itself (`schema`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub schema: Option<Schema>,
    /// Where `drift --fix` wrote its script.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix_file: Option<PathBuf>,
    /// Whether `drift --fix --apply` ran the script.
    pub applied: bool,
    /// Differences left after `--apply` (re-checked).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remaining: Option<usize>,
    /// Static interpretation (`schema --static`, `check-static`): where each object was created
    /// or last changed, by object key (`column:ads.slug`, …).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub origins: Option<BTreeMap<String, Origin>>,
    /// Static interpretation: the statements it did not interpret.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unmodelled: Option<Vec<Unmodelled>>,
    /// What human output prints on stdout.
    #[serde(skip)]
    pub print: Print,
}

/// The result of `command` for one project: its `findings` and schema `output`.
pub fn schema_result(
    project: &Project,
    command: &'static str,
    findings: Vec<Finding>,
    output: SchemaOutput,
) -> ProjectResult {
    ProjectResult {
        project: project.name.clone(),
        command,
        findings,
        schema: Some(output),
        config_files: project.config_files.clone(),
        ..ProjectResult::default()
    }
}

/// What `schema` outputs: `schema`, read from the source labelled `to`, and the SQL creating it.
fn schema_output(to: String, schema: Schema, format: SchemaFormat) -> SchemaOutput {
    SchemaOutput {
        kind: "schema",
        to,
        script: Some(create_statements(&schema)),
        schema: Some(schema),
        print: match format {
            SchemaFormat::Sql => Print::SchemaSql,
            SchemaFormat::Json => Print::SchemaJson,
        },
        ..SchemaOutput::default()
    }
}

/// Map a replay failure onto the CLI's errors.
pub fn replay_error(e: ReplayError) -> CliError {
    match e {
        ReplayError::Db(db) => CliError::Db(db),
        other => {
            let cause = std::error::Error::source(&other).map(|c| format!(": {c}")).unwrap_or_default();
            CliError::Usage { message: format!("{other}{cause}"), help: None }
        }
    }
}

/// Where to replay for `dialect`: in memory for SQLite; otherwise a shadow database on the server
/// of `shadow_database_url_env`, else on `server`'s.
pub fn replay_target(
    project: &Project,
    dialect: Dialect,
    server: Option<&DatabaseUrl>,
) -> Result<ReplayTarget, CliError> {
    if dialect == Dialect::Sqlite {
        return Ok(ReplayTarget::SqliteMemory);
    }
    let shadow = project.shadow_database_url()?;
    let base = match (&shadow, server) {
        (Some(s), _) => s.clone(),
        (None, Some(u)) if u.dialect() == dialect => u.clone(),
        _ => {
            return Err(CliError::Usage {
                message: format!("replaying {dialect} migrations needs a {dialect} server"),
                help: Some(
                    "pass --database-url, set the database URL variable, or set `shadow_database_url_env` to a server \
                     where dbcheck may create and drop `_dbcheck_shadow_*` databases"
                        .into(),
                ),
            });
        }
    };
    if base.dialect() != dialect {
        return Err(CliError::Usage {
            message: format!("the shadow server is {} but the migrations are replayed as {dialect}", base.dialect()),
            help: None,
        });
    }
    Ok(ReplayTarget::Server(ShadowServer::new(&base, project.settings.connect_timeout)))
}

/// Replay options for a project: its schemas, history table and cache.
pub fn replay_options(project: &Project, target: &ReplayTarget) -> ReplayOptions {
    let table = project.settings.history.as_ref().map(|h| h.table.as_str());
    let server = match target {
        ReplayTarget::SqliteMemory => "sqlite".to_owned(),
        ReplayTarget::Server(s) => s.url_of("_").map(|u| u.redacted()).unwrap_or_default(),
    };
    ReplayOptions {
        introspect: introspect_options(&project.settings.schemas, table),
        cache: project.settings.replay_cache,
        cache_dir: Some(project.workspace_root.join("target/dbcheck/replay")),
        owner: format!("{} {server}", project.settings.migrations_dir.display()),
    }
}

/// Replay the project's migrations for `dialect`.
pub async fn replay_project(
    project: &Project,
    discovery: &Discovery,
    dialect: Dialect,
    server: Option<&DatabaseUrl>,
) -> Result<dbcheck_core::replay::Replay, CliError> {
    let target = replay_target(project, dialect, server)?;
    let options = replay_options(project, &target);
    replay_migrations(discovery, &target, &options).await.map_err(replay_error)
}

/// The dialect to replay as: `--dialect`, else the database URL's.
pub fn dialect_for(
    project: &Project,
    global: &GlobalArgs,
    arg: Option<DialectArg>,
) -> Result<(Dialect, Option<DatabaseUrl>), CliError> {
    let url = database_url(project, global)?;
    match (arg, &url) {
        (Some(d), _) => Ok((d.dialect(), url)),
        (None, Some(u)) => Ok((u.dialect(), url.clone())),
        (None, None) => Err(CliError::Usage {
            message: format!("no database URL for `{}`: which dialect are the migrations written in?", project.name),
            help: Some(format!(
                "pass --dialect sqlite (replays in memory), or --database-url / {} for a PostgreSQL or MySQL server",
                project.settings.database_url_env
            )),
        }),
    }
}

/// Run `schema` for one project.
pub async fn run(
    project: &Project,
    global: &GlobalArgs,
    args: &SchemaArgs,
    renderer: &Renderer,
) -> Result<ProjectResult, CliError> {
    let discovery = discover(project)?;
    let (dialect, url) = dialect_for(project, global, args.dialect)?;
    if args.static_ {
        return run_static(project, &discovery, dialect, args, renderer);
    }
    let replay = replay_project(project, &discovery, dialect, url.as_ref()).await?;
    let mut findings = discovery.findings.clone();
    findings.extend(replay.findings.iter().cloned());
    let summary = ReplaySummary::of(&replay);
    let to = format!("migrations in {}", project.settings.migrations_dir.display());
    let output = SchemaOutput { replay: Some(summary), ..schema_output(to, replay.schema, args.format) };
    let result = schema_result(project, "schema", findings, output);
    renderer.project(&result);
    Ok(result)
}

/// Static interpretation supports PostgreSQL and SQLite.
pub fn static_dialect(dialect: Dialect) -> Result<Dialect, CliError> {
    match dialect {
        Dialect::Postgres | Dialect::Sqlite => Ok(dialect),
        Dialect::Mysql => Err(CliError::Usage {
            message: "static interpretation reads PostgreSQL and SQLite migrations, not MySQL".into(),
            help: Some("run `cargo dbcheck schema` without --static to replay the migrations on the server".into()),
        }),
    }
}

/// `schema --static`: the schema interpreted from the files, no database involved.
fn run_static(
    project: &Project,
    discovery: &Discovery,
    dialect: Dialect,
    args: &SchemaArgs,
    renderer: &Renderer,
) -> Result<ProjectResult, CliError> {
    let dialect = static_dialect(dialect)?;
    let ours = interpret_migrations(discovery, dialect);
    let mut findings = discovery.findings.clone();
    findings.extend(unmodelled_findings(&ours));
    let to = format!("migrations in {} (static)", project.settings.migrations_dir.display());
    let output = SchemaOutput {
        origins: Some(ours.origins),
        unmodelled: Some(ours.unmodelled),
        ..schema_output(to, ours.schema, args.format)
    };
    let result = schema_result(project, "schema", findings, output);
    renderer.project(&result);
    Ok(result)
}
