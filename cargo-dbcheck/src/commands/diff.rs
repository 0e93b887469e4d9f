//! `cargo dbcheck diff --from X --to Y`: differences between any two of the migrations (replayed),
//! a database URL, or a schema `.sql` file (applied to a throwaway database); `--script` prints the
//! SQL that turns X into Y.

use std::path::{Path, PathBuf};

use clap::Args;
use dbcheck_core::config::Project;
use dbcheck_core::db::{DatabaseUrl, Dialect};
use dbcheck_core::diff::{ReplaySummary, diff_finding, diff_schemas, migration_script};
use dbcheck_core::migrations::{Discovery, Migration, MigrationKind, TransactionMode, Version};
use dbcheck_core::replay::{ReplayOptions, replay_migrations};
use dbcheck_core::schema::Schema;

use super::schema::{
    DialectArg, Print, SchemaOutput, replay_error, replay_options, replay_project, replay_target, schema_result,
};
use super::{ProjectResult, connect_read_only, database_url, discover};
use crate::cli::GlobalArgs;
use crate::exit::CliError;
use crate::render::Renderer;

/// `diff` options.
#[derive(Debug, Args, Clone)]
pub struct DiffArgs {
    /// First side: `migrations`, a database URL, or a schema .sql file
    #[arg(long, value_name = "SOURCE")]
    pub from: String,
    /// Second side: `migrations`, a database URL, or a schema .sql file
    #[arg(long, value_name = "SOURCE")]
    pub to: String,
    /// Print the SQL that turns --from into --to
    #[arg(long)]
    pub script: bool,
    /// Dialect of .sql files and migrations when no side is a database URL and none is configured
    #[arg(long, value_enum)]
    pub dialect: Option<DialectArg>,
}

enum Source {
    Migrations,
    Url(DatabaseUrl),
    File(PathBuf),
}

fn parse_source(text: &str) -> Result<Source, CliError> {
    if text == "migrations" {
        return Ok(Source::Migrations);
    }
    let lower = text.to_ascii_lowercase();
    if ["postgres://", "postgresql://", "mysql://", "mariadb://", "sqlite:"].iter().any(|p| lower.starts_with(p)) {
        return Ok(Source::Url(DatabaseUrl::parse(text)?));
    }
    let path = PathBuf::from(text);
    if path.is_file() {
        return Ok(Source::File(path));
    }
    Err(CliError::Usage {
        message: format!(
            "`{}` is neither `migrations`, a database URL, nor an existing .sql file",
            dbcheck_core::db::redact_url(text)
        ),
        help: Some(
            "examples: --from migrations --to postgres://localhost/app, --from schema.sql --to migrations".into(),
        ),
    })
}

fn label(source: &Source) -> String {
    match source {
        Source::Migrations => "the migrations".into(),
        Source::Url(u) => format!("database {}", u.redacted()),
        Source::File(p) => format!("{}", p.display()),
    }
}

/// Run `diff` for one project.
pub async fn run(
    project: &Project,
    global: &GlobalArgs,
    args: &DiffArgs,
    renderer: &Renderer,
) -> Result<ProjectResult, CliError> {
    let from = parse_source(&args.from)?;
    let to = parse_source(&args.to)?;
    let configured = database_url(project, global)?;
    let url_side = [&from, &to].into_iter().find_map(|s| match s {
        Source::Url(u) => Some(u.clone()),
        _ => None,
    });
    let dialect = match (args.dialect, &url_side, &configured) {
        (Some(d), _, _) => d.dialect(),
        (None, Some(u), _) | (None, None, Some(u)) => u.dialect(),
        (None, None, None) => {
            return Err(CliError::Usage {
                message: "no side is a database URL and none is configured: which dialect?".into(),
                help: Some("pass --dialect sqlite, or --database-url for a PostgreSQL or MySQL server".into()),
            });
        }
    };
    let server = url_side.or(configured);
    let mut findings = Vec::new();
    let mut replay = None;
    let mut schemas = Vec::new();
    for source in [&from, &to] {
        let schema = match source {
            Source::Migrations => {
                let discovery = discover(project)?;
                findings.extend(discovery.findings.iter().cloned());
                let r = replay_project(project, &discovery, dialect, server.as_ref()).await?;
                findings.extend(r.findings.iter().cloned());
                replay = Some(ReplaySummary::of(&r));
                r.schema
            }
            Source::Url(u) => {
                let mut db = connect_read_only(project, u).await?;
                let options = replay_options(project, &dbcheck_core::replay::ReplayTarget::SqliteMemory);
                let s = db.introspect(&options.introspect).await;
                db.close().await;
                s?
            }
            Source::File(path) => schema_of_file(project, path, dialect, server.as_ref(), &mut findings).await?,
        };
        schemas.push(schema);
    }
    let (a, b): (&Schema, &Schema) = (&schemas[0], &schemas[1]);
    let (from_label, to_label) = (label(&from), label(&to));
    let differences = diff_schemas(a, b);
    findings.extend(
        differences.iter().map(|d| diff_finding(d, &format!("--from ({from_label})"), &format!("--to ({to_label})"))),
    );
    let output = SchemaOutput {
        kind: "diff",
        from: from_label,
        to: to_label,
        replay,
        differences,
        script: Some(migration_script(a, b)),
        print: if args.script { Print::Script } else { Print::Summary },
        ..SchemaOutput::default()
    };
    let result = schema_result(project, "diff", findings, output);
    renderer.project(&result);
    Ok(result)
}

/// A schema `.sql` file applied to a throwaway database, as one migration, and introspected.
async fn schema_of_file(
    project: &Project,
    path: &Path,
    dialect: Dialect,
    server: Option<&DatabaseUrl>,
    findings: &mut Vec<dbcheck_core::Finding>,
) -> Result<Schema, CliError> {
    let bytes = std::fs::read(path)
        .map_err(|e| CliError::Usage { message: format!("cannot read {}: {e}", path.display()), help: None })?;
    replay_sql_file(project, path, bytes, dialect, server, findings).await
}

/// The SQL `bytes` read from `path`, replayed as one migration into a throwaway database (on
/// `server` when given) and introspected; replay findings go to `findings`.
pub(crate) async fn replay_sql_file(
    project: &Project,
    path: &Path,
    bytes: Vec<u8>,
    dialect: Dialect,
    server: Option<&DatabaseUrl>,
    findings: &mut Vec<dbcheck_core::Finding>,
) -> Result<Schema, CliError> {
    let migration = Migration {
        version: Version::Int(0),
        history_key: "0".into(),
        name: path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default(),
        path: path.to_path_buf(),
        bytes,
        down_path: None,
        transaction: TransactionMode::Transaction,
        kind: MigrationKind::Versioned,
    };
    let discovery = Discovery {
        dir: path.parent().map(Path::to_path_buf).unwrap_or_default(),
        layout: None,
        migrations: vec![migration],
        findings: Vec::new(),
    };
    let target = replay_target(project, dialect, server)?;
    let options = ReplayOptions { cache: false, ..replay_options(project, &target) };
    let r = replay_migrations(&discovery, &target, &options).await.map_err(replay_error)?;
    findings.extend(r.findings.iter().cloned());
    Ok(r.schema)
}
