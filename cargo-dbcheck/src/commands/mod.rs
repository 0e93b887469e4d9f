//! One module per command; each returns a [`ProjectResult`] and never prints.

pub mod backup;
pub mod baseline;
pub mod check_static;
pub mod declared;
pub mod default;
pub mod diff;
pub mod drift;
pub mod files;
pub mod hook;
pub mod integrity;
pub mod lint;
pub mod migrate;
pub mod restore;
pub mod schema;
pub mod status;

use dbcheck_core::config::Project;
use dbcheck_core::db::{ConnectOptions, DatabaseUrl, Db, connect};
use dbcheck_core::migrations::{Discovery, discover_migrations};
use dbcheck_core::status::StatusReport;
use dbcheck_core::{Finding, Severity};
use serde::Serialize;

use crate::cli::GlobalArgs;
use crate::exit::CliError;

/// What a command found for one project.
#[derive(Debug, Default, Serialize)]
pub struct ProjectResult {
    /// Package (or workspace) name.
    pub project: String,
    /// The command that ran.
    pub command: &'static str,
    /// Discovered migrations, when the command lists them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub discovery: Option<DiscoverySummary>,
    /// The status report, when the command computed one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<StatusReport>,
    /// The database ↔ files comparison, when the command ran one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub files: Option<dbcheck_core::files::FilesReport>,
    /// The schema comparison of `drift` and `diff`, or the schema of `schema`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub schema: Option<schema::SchemaOutput>,
    /// What `backup`, `backup list`, `backup verify` or `restore` did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub backup: Option<backup::BackupOutput>,
    /// What `migrate deploy` or `migrate resolve` did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub migrate: Option<migrate::MigrateOutput>,
    /// What `integrity` found.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub integrity: Option<dbcheck_core::integrity::IntegrityReport>,
    /// What `declared` compared.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub declared: Option<declared::DeclaredOutput>,
    /// What `lint` looked at.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lint: Option<lint::LintOutput>,
    /// Checks not run, with the reason.
    pub skipped: Vec<String>,
    /// Every finding, in the order found.
    pub findings: Vec<Finding>,
    /// The database the command talked to, redacted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub database: Option<String>,
    /// The files configuration came from, lowest precedence first.
    pub config_files: Vec<std::path::PathBuf>,
}

/// Migrations found, without their contents.
#[derive(Debug, Serialize)]
pub struct DiscoverySummary {
    /// The migrations folder.
    pub dir: std::path::PathBuf,
    /// Its layout.
    pub layout: Option<dbcheck_core::migrations::Layout>,
    /// How many migrations.
    pub count: usize,
    /// The newest version.
    pub latest: Option<String>,
}

impl DiscoverySummary {
    fn of(d: &Discovery) -> Self {
        DiscoverySummary {
            dir: d.dir.clone(),
            layout: d.layout,
            count: d.migrations.len(),
            latest: d
                .migrations
                .iter()
                .rev()
                .find(|m| !matches!(m.kind, dbcheck_core::migrations::MigrationKind::Repeatable))
                .map(|m| m.history_key.clone()),
        }
    }
}

/// Results of a whole run.
#[derive(Debug, Default)]
pub struct Outcome {
    /// Per project, in order.
    pub results: Vec<ProjectResult>,
    /// Whether any finding reached its project's failing severity.
    pub failed: bool,
    /// The failing severity each result was judged against (parallel to `results`).
    pub fail_on: Vec<Severity>,
}

impl Outcome {
    /// Add one project's result, judged against `fail_on`.
    pub fn merge(&mut self, result: ProjectResult, fail_on: Severity) {
        self.failed |= result.findings.iter().any(|f| f.severity >= fail_on);
        self.results.push(result);
        self.fail_on.push(fail_on);
    }
}

/// Discover the project's migrations with its configured layout.
pub fn discover(project: &Project) -> Result<Discovery, CliError> {
    Ok(discover_migrations(&project.settings.migrations_dir, project.settings.layout)?)
}

/// The database URL, or `None` when nothing configures one.
pub fn database_url(project: &Project, global: &GlobalArgs) -> Result<Option<DatabaseUrl>, CliError> {
    Ok(project.database_url(global.database_url.as_deref())?)
}

/// The database URL, or a usage error (exit 2) that says where to set one: for commands that
/// need a live database.
pub fn require_database_url(project: &Project, global: &GlobalArgs) -> Result<DatabaseUrl, CliError> {
    database_url(project, global)?.ok_or_else(|| CliError::Usage {
        message: format!("no database URL for `{}`", project.name),
        help: Some(format!(
            "set {} (in the environment or a .env file), pass --database-url, or set `database_url_env` in the configuration",
            project.settings.database_url_env
        )),
    })
}

/// Open a read-only connection.
pub async fn connect_read_only(project: &Project, url: &DatabaseUrl) -> Result<Db, CliError> {
    let options = ConnectOptions { read_only: true, timeout: project.settings.connect_timeout };
    Ok(connect(url, &options).await?)
}
