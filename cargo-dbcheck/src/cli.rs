//! Argument parsing, global options and dispatch to the commands.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};
use dbcheck_core::Severity;
use dbcheck_core::config::{Project, Selection, load_projects};

use crate::commands;
use crate::exit::{self, CliError};
use crate::render::Renderer;

/// Invoked as `cargo dbcheck …`, cargo passes `dbcheck` as the first argument.
#[derive(Debug, Parser)]
#[command(name = "cargo", bin_name = "cargo", styles = clap::builder::styling::Styles::styled())]
enum CargoCli {
    /// Catch schema drift, failed or edited migrations, and database problems before users do
    #[command(name = "dbcheck", version)]
    Dbcheck(Cli),
}

/// Catch schema drift, failed or edited migrations, and database problems before users do.
#[derive(Debug, Parser)]
#[command(
    name = "cargo-dbcheck",
    version,
    after_help = "Without a command, runs every check the available inputs allow: migration discovery always, \
                  `status` when a database URL is configured.\n\nExit codes: 0 clean, 1 findings at or above \
                  --fail-on, 2 usage or configuration error, 3 database unreachable, 101 internal error."
)]
pub struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    global: GlobalArgs,
}

/// Options every command takes.
#[derive(Debug, Args, Clone)]
pub struct GlobalArgs {
    /// Path to Cargo.toml
    #[arg(long, global = true, value_name = "PATH")]
    pub manifest_path: Option<PathBuf>,
    /// Package to check (repeatable)
    #[arg(short, long, global = true, value_name = "SPEC")]
    pub package: Vec<String>,
    /// Check every workspace member that has dbcheck configuration
    #[arg(long, global = true)]
    pub workspace: bool,
    /// Database URL (overrides the configured environment variable and .env)
    #[arg(long, global = true, value_name = "URL", hide_env_values = true)]
    pub database_url: Option<String>,
    /// Coloring
    #[arg(long, global = true, value_enum, value_name = "WHEN")]
    pub color: Option<ColorChoice>,
    /// Output format [default: human; github when GITHUB_ACTIONS=true]
    #[arg(long, global = true, value_enum, value_name = "FMT")]
    pub message_format: Option<MessageFormat>,
    /// Lowest severity that makes the run fail (overrides `fail_on` in the configuration)
    #[arg(long, global = true, value_enum, value_name = "SEVERITY")]
    pub fail_on: Option<FailOnArg>,
    /// Print less: only problems
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
    /// Print more: informational findings and where configuration came from
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Write Prometheus text-format metrics of this run to FILE (atomically; for node_exporter's textfile collector)
    #[arg(long, global = true, value_name = "FILE")]
    pub metrics: Option<PathBuf>,
    /// POST a JSON summary (Slack-compatible `text`) to URL when the run fails
    #[arg(long, global = true, value_name = "URL", hide_env_values = true)]
    pub notify: Option<String>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Show every migration as applied, pending, failed, edited, missing on disk or out of order (read-only)
    Status,
    /// Compare file references in the database with the files under each [[files]] root, both directions
    Files(commands::files::FilesArgs),
    /// Check the [integrity] data rules against live data (one scan per table) and report NOT VALID constraints, INVALID indexes and missing foreign keys
    Integrity(commands::integrity::IntegrityArgs),
    /// Compare the live database with the schema the migrations produce (replayed in a throwaway database); --fix writes the SQL that repairs it
    Drift(commands::drift::DriftArgs),
    /// Compare any two of: the migrations, a database URL, a schema .sql file; --script prints the SQL from one to the other
    Diff(commands::diff::DiffArgs),
    /// Print the normalized schema the migrations produce, as SQL or JSON (--static: interpreted from the files, no database)
    Schema(commands::schema::SchemaArgs),
    /// Compare the schema interpreted statically from the migrations with their replay in a throwaway database; every disagreement is a finding
    CheckStatic(commands::check_static::CheckStaticArgs),
    /// Compare the declared schema (diesel schema.rs, schema.sql, #[schema_guard] structs) with the migrations' static schema, offline
    Declared(commands::declared::DeclaredArgs),
    /// Lint migrations for locking, destructive and data-dependent operations, with the safe alternative (docs/lint.md)
    Lint(commands::lint::LintArgs),
    /// Write a backup generation (database dump + referenced files from one snapshot); `backup list`, `backup verify GEN`
    Backup(commands::backup::BackupArgs),
    /// Restore a verified backup generation (database and files), after a safety backup; then check the result
    Restore(commands::restore::RestoreArgs),
    /// Apply pending migrations safely: `migrate deploy` (pre-flight data checks, a lock, one transaction each, recorded as your migration tool records them)
    Migrate(commands::migrate::MigrateArgs),
    /// Adopt a database without migration history: verify its schema equals the migrations' (up to --to), then record them as applied
    Baseline(commands::baseline::BaselineArgs),
    /// The pre-deploy gate: every check (status, drift, integrity, files, git-base, backup freshness); a database URL is required
    Validate(commands::default::ValidateArgs),
    /// Install or remove a git pre-commit hook that runs the offline migration checks
    Hook(commands::hook::HookArgs),
}

/// `--color`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    /// Color when writing to a terminal and NO_COLOR is unset
    Auto,
    /// Always color
    Always,
    /// Never color
    Never,
}

/// `--message-format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum MessageFormat {
    /// Tables and diagnostics with source snippets
    Human,
    /// One line per finding: `path:line:col: severity[code]: message`
    Short,
    /// One JSON document on stdout (schema in docs/json-output.md)
    Json,
    /// Human output plus GitHub Actions workflow commands that annotate the diff at file:line
    Github,
    /// A SARIF 2.1.0 log on stdout, one rule per finding code (code scanning upload)
    Sarif,
    /// A JUnit XML report on stdout, one test case per check and package
    Junit,
}

impl GlobalArgs {
    /// The output format: `--message-format`, else `github` inside GitHub Actions, else `human`.
    pub fn format(&self) -> MessageFormat {
        self.message_format.unwrap_or_else(|| {
            if std::env::var("GITHUB_ACTIONS").is_ok_and(|v| v == "true") {
                MessageFormat::Github
            } else {
                MessageFormat::Human
            }
        })
    }
}

/// `--fail-on`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FailOnArg {
    /// Fail on errors only
    Error,
    /// Fail on warnings too
    Warning,
}

/// Parse arguments (both `cargo dbcheck …` and `cargo-dbcheck …`), run, and map to an exit code.
pub fn main() -> ExitCode {
    let mut args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    let cli = if args.get(1).is_some_and(|a| a == "dbcheck") {
        let CargoCli::Dbcheck(cli) = CargoCli::parse_from(&args);
        cli
    } else {
        if args.is_empty() {
            args.push("cargo-dbcheck".into());
        }
        Cli::parse_from(&args)
    };
    let renderer = Renderer::new(&cli.global, use_color(cli.global.color));
    let code = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(rt) => rt.block_on(run(cli, &renderer)),
        Err(e) => Err(CliError::Usage { message: format!("cannot start the async runtime: {e}"), help: None }),
    };
    match code {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            renderer.error(&e);
            ExitCode::from(e.exit_code())
        }
    }
}

/// `--color`, else `CARGO_TERM_COLOR`, else auto: color only on a terminal without `NO_COLOR`.
fn use_color(choice: Option<ColorChoice>) -> bool {
    let choice = choice.or_else(|| match std::env::var("CARGO_TERM_COLOR").ok()?.as_str() {
        "always" => Some(ColorChoice::Always),
        "never" => Some(ColorChoice::Never),
        _ => None,
    });
    match choice.unwrap_or(ColorChoice::Auto) {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()) && std::io::stderr().is_terminal()
        }
    }
}

async fn run(cli: Cli, renderer: &Renderer) -> Result<u8, CliError> {
    let selection = Selection {
        manifest_path: cli.global.manifest_path.clone(),
        packages: cli.global.package.clone(),
        workspace: cli.global.workspace,
    };
    let projects = load_projects(&selection)?;
    let mut outcome = commands::Outcome::default();
    for project in &projects {
        let fail_on = fail_on(&cli.global, project);
        let results = match cli.command {
            Some(Command::Status) => vec![commands::status::run(project, &cli.global, renderer).await?],
            Some(Command::Files(ref args)) => vec![commands::files::run(project, &cli.global, args, renderer).await?],
            Some(Command::Integrity(ref args)) => {
                vec![commands::integrity::run(project, &cli.global, args, renderer).await?]
            }
            Some(Command::Drift(ref args)) => vec![commands::drift::run(project, &cli.global, args, renderer).await?],
            Some(Command::Diff(ref args)) => vec![commands::diff::run(project, &cli.global, args, renderer).await?],
            Some(Command::Schema(ref args)) => vec![commands::schema::run(project, &cli.global, args, renderer).await?],
            Some(Command::CheckStatic(ref args)) => {
                vec![commands::check_static::run(project, &cli.global, args, renderer).await?]
            }
            Some(Command::Declared(ref args)) => {
                vec![commands::declared::run(project, &cli.global, args, renderer).await?]
            }
            Some(Command::Lint(ref args)) => vec![commands::lint::run(project, &cli.global, args, renderer).await?],
            Some(Command::Backup(ref args)) => vec![commands::backup::run(project, &cli.global, args, renderer).await?],
            Some(Command::Restore(ref args)) => {
                vec![commands::restore::run(project, &cli.global, args, renderer).await?]
            }
            Some(Command::Migrate(ref args)) => {
                vec![commands::migrate::run(project, &cli.global, args, renderer).await?]
            }
            Some(Command::Baseline(ref args)) => {
                vec![commands::baseline::run(project, &cli.global, args, renderer).await?]
            }
            Some(Command::Hook(ref args)) => vec![commands::hook::run(project, args, renderer)?],
            Some(Command::Validate(ref args)) => {
                commands::default::validate(project, &cli.global, args, renderer).await?
            }
            None => commands::default::run(project, &cli.global, renderer).await?,
        };
        for result in results {
            outcome.merge(result, fail_on);
        }
    }
    renderer.finish(&outcome);
    if let Some(path) = &cli.global.metrics {
        crate::monitor::write_atomically(path, &crate::monitor::metrics(&outcome, std::time::SystemTime::now()))?;
    }
    if let Some(url) = &cli.global.notify {
        crate::monitor::notify(url, &outcome)?;
    }
    Ok(if outcome.failed { exit::FINDINGS } else { exit::SUCCESS })
}

fn fail_on(global: &GlobalArgs, project: &Project) -> Severity {
    match global.fail_on {
        Some(FailOnArg::Error) => Severity::Error,
        Some(FailOnArg::Warning) => Severity::Warning,
        None => project.settings.fail_on,
    }
}
