//! Project discovery and configuration: which package, which migrations, which database.
//!
//! Settings come from, lowest precedence first: `[workspace.metadata.dbcheck]`, a `dbcheck.toml`
//! at the workspace root, `[package.metadata.dbcheck]`, a `dbcheck.toml` beside the package's
//! `Cargo.toml`. Each key overrides individually; relative paths resolve against the directory
//! of the file that sets them. Unknown keys and wrong types are errors naming file, line and key.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::db::{DatabaseUrl, DbError};
use crate::files::{FilesConfig, FilesEntry};
use crate::migrations::{HistoryTool, Layout};
use crate::report::Severity;
use crate::status::HistoryChoice;

/// Every configuration key. All optional; see [`Settings`] for the defaults.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Migrations folder, relative to the file that sets it.
    pub migrations: Option<PathBuf>,
    /// Layout of the migrations folder: `sqlx`, `diesel`, `prisma` or `versioned` (refinery/Flyway).
    pub layout: Option<Layout>,
    /// Tool whose history table records applied migrations: `sqlx`, `diesel`, `prisma`,
    /// `refinery`, `flyway` or `dbcheck`.
    pub history: Option<HistoryTool>,
    /// Name of the history table, when the tool was configured to use another one.
    pub history_table: Option<String>,
    /// Environment variable holding the database URL (default `DATABASE_URL`).
    pub database_url_env: Option<String>,
    /// Lowest severity that fails a run: `error` (default) or `warning`.
    pub fail_on: Option<FailOn>,
    /// Seconds to wait for a database connection (default 10).
    pub connect_timeout_secs: Option<u64>,
    /// Namespaces whose schema `drift`, `diff` and `schema` compare (PostgreSQL; default `public`).
    pub schemas: Option<Vec<String>>,
    /// Environment variable holding the URL of the server on which replay creates and drops its
    /// throwaway `_dbcheck_shadow_*` databases (default: the database URL's server).
    pub shadow_database_url_env: Option<String>,
    /// Keep the replayed migrations as a cache keyed by their checksums (default true).
    pub replay_cache: Option<bool>,
    /// `[[files]]`: columns that reference files under a root folder (the whole list comes from
    /// the highest-precedence file that sets it).
    pub files: Option<Vec<FilesConfig>>,
    /// `[backup]`: where generations go, how many to keep, what to copy (keys override
    /// individually).
    pub backup: Option<crate::backup::BackupConfig>,
    /// `[integrity]`: declared data rules (the whole section comes from the highest-precedence
    /// file that sets it).
    pub integrity: Option<crate::integrity::IntegrityConfig>,
    /// `[lint]`: rules off/on, severities, PostgreSQL version, table-size thresholds (the whole
    /// section comes from the highest-precedence file that sets it).
    pub lint: Option<crate::lint::LintConfig>,
    /// The dialect the migrations are written in: `postgres`, `sqlite` or `mysql` (offline checks
    /// such as `#[schema_guard]` interpret them in it; default `postgres`).
    pub dialect: Option<crate::db::Dialect>,
    /// `[declared]`: the declared sources checked against the migrations (diesel `schema.rs`, `schema.sql`).
    pub declared: Option<crate::declared::DeclaredConfig>,
}

/// The severities a run can be told to fail on.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum FailOn {
    /// Fail on errors only.
    Error,
    /// Fail on warnings and errors.
    Warning,
}

impl FailOn {
    /// The lowest severity that fails.
    pub fn severity(self) -> Severity {
        match self {
            FailOn::Error => Severity::Error,
            FailOn::Warning => Severity::Warning,
        }
    }
}

/// Configuration with defaults applied and paths made absolute.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The migrations folder (absolute).
    pub migrations_dir: PathBuf,
    /// Layout, or `None` to detect it.
    pub layout: Option<Layout>,
    /// History table, or `None` to detect it.
    pub history: Option<HistoryChoice>,
    /// Environment variable holding the database URL.
    pub database_url_env: String,
    /// Lowest severity that fails a run.
    pub fail_on: Severity,
    /// How long to wait for a connection.
    pub connect_timeout: Duration,
    /// Namespaces the schema commands compare (empty: the dialect's default).
    pub schemas: Vec<String>,
    /// Environment variable with the shadow server's URL, when configured.
    pub shadow_database_url_env: Option<String>,
    /// Whether replays are cached.
    pub replay_cache: bool,
    /// The `[[files]]` entries, roots made absolute.
    pub files: Vec<FilesEntry>,
    /// `[backup]` with defaults applied.
    pub backup: crate::backup::BackupSettings,
    /// The `[integrity]` section, with the file that set it.
    pub integrity: Option<IntegritySettings>,
    /// The `[lint]` section (defaults when absent).
    pub lint: crate::lint::LintConfig,
    /// The configured `dialect` of the migrations, `None` when no layer sets it.
    pub dialect: Option<crate::db::Dialect>,
    /// `[declared]` with paths made absolute.
    pub declared: crate::declared::DeclaredSettings,
}

/// The `[integrity]` section as loaded.
#[derive(Debug, Clone)]
pub struct IntegritySettings {
    /// The rules and options.
    pub config: crate::integrity::IntegrityConfig,
    /// The file that set it.
    pub file: PathBuf,
    /// `schema`, made absolute.
    pub schema_file: Option<PathBuf>,
}

/// Failures finding or reading the project's configuration.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// `cargo metadata` failed (no Cargo.toml, invalid manifest, …).
    #[error("cannot read the Cargo workspace: {message}")]
    Metadata {
        /// Cargo's message.
        message: String,
    },
    /// A configuration file could not be read.
    #[error("cannot read {}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A configuration file is not valid TOML or has an unknown key or a wrong type.
    #[error("invalid dbcheck configuration in {}: {message}", path.display())]
    Parse {
        /// The file.
        path: PathBuf,
        /// The parser's message, with line, column and key.
        message: String,
    },
    /// A key has a value that parses but makes no sense.
    #[error("invalid dbcheck configuration in {}: `{key}` {reason}", path.display())]
    Invalid {
        /// The file.
        path: PathBuf,
        /// The key.
        key: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// `-p NAME` names no workspace member.
    #[error("package `{name}` is not a member of the workspace (members: {})", available.join(", "))]
    UnknownPackage {
        /// The requested name.
        name: String,
        /// The members.
        available: Vec<String>,
    },
    /// Several packages are configured and none was selected.
    #[error("several packages have dbcheck configuration ({}): choose one with -p or use --workspace", candidates.join(", "))]
    AmbiguousPackage {
        /// The configured packages.
        candidates: Vec<String>,
    },
    /// The environment variable or `.env` file holds an unusable URL.
    #[error("{source} (from {origin})")]
    DatabaseUrl {
        /// Where the URL came from.
        origin: String,
        /// What is wrong with it.
        #[source]
        source: DbError,
    },
}

/// Which packages to check.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    /// `--manifest-path`.
    pub manifest_path: Option<PathBuf>,
    /// `-p/--package` (repeatable).
    pub packages: Vec<String>,
    /// `--workspace`.
    pub workspace: bool,
}

/// One project to check: a package (or the workspace root) with its settings.
#[derive(Debug, Clone)]
pub struct Project {
    /// Package name (or the workspace root's directory name).
    pub name: String,
    /// Directory of its `Cargo.toml`.
    pub root: PathBuf,
    /// The workspace root.
    pub workspace_root: PathBuf,
    /// Settings after merging every source.
    pub settings: Settings,
    /// The files that contributed configuration, lowest precedence first.
    pub config_files: Vec<PathBuf>,
}

#[derive(Deserialize, Default)]
struct Manifest {
    #[serde(default)]
    package: Option<MetadataHolder>,
    #[serde(default)]
    workspace: Option<MetadataHolder>,
}

#[derive(Deserialize, Default)]
struct MetadataHolder {
    #[serde(default)]
    metadata: Option<MetadataTable>,
}

#[derive(Deserialize, Default)]
struct MetadataTable {
    #[serde(default)]
    dbcheck: Option<Config>,
}

/// A configuration source with the directory its relative paths resolve against.
#[derive(Clone)]
struct Layer {
    file: PathBuf,
    dir: PathBuf,
    config: Config,
}

fn read_toml(path: &Path) -> Result<Option<String>, ConfigError> {
    match fs::read_to_string(path) {
        Ok(t) => Ok(Some(t)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(ConfigError::Read { path: path.to_path_buf(), source }),
    }
}

fn parse_err(path: &Path, e: toml::de::Error) -> ConfigError {
    ConfigError::Parse { path: path.to_path_buf(), message: e.to_string().trim_end().to_owned() }
}

/// The `[package|workspace].metadata.dbcheck` tables of one manifest.
fn manifest_layers(manifest: &Path) -> Result<(Option<Config>, Option<Config>), ConfigError> {
    let Some(text) = read_toml(manifest)? else { return Ok((None, None)) };
    let m: Manifest = toml::from_str(&text).map_err(|e| parse_err(manifest, e))?;
    let pick = |h: Option<MetadataHolder>| h.and_then(|h| h.metadata).and_then(|m| m.dbcheck);
    Ok((pick(m.package), pick(m.workspace)))
}

fn file_layer(dir: &Path) -> Result<Option<Layer>, ConfigError> {
    let file = dir.join("dbcheck.toml");
    let Some(text) = read_toml(&file)? else { return Ok(None) };
    let config: Config = toml::from_str(&text).map_err(|e| parse_err(&file, e))?;
    Ok(Some(Layer { file, dir: dir.to_path_buf(), config }))
}

/// Find the workspace with `cargo metadata` and return the projects `selection` asks for.
pub fn load_projects(selection: &Selection) -> Result<Vec<Project>, ConfigError> {
    let mut cmd = cargo_metadata::MetadataCommand::new();
    cmd.no_deps();
    if let Some(p) = &selection.manifest_path {
        cmd.manifest_path(p);
    }
    let meta = cmd.exec().map_err(|e| ConfigError::Metadata { message: e.to_string().trim_end().to_owned() })?;
    let ws_root = meta.workspace_root.clone().into_std_path_buf();
    let ws_manifest = ws_root.join("Cargo.toml");
    let (_, ws_meta) = manifest_layers(&ws_manifest)?;
    let ws_meta = ws_meta.map(|config| Layer { file: ws_manifest.clone(), dir: ws_root.clone(), config });
    let ws_file = file_layer(&ws_root)?;

    let members: Vec<&cargo_metadata::Package> = meta.workspace_packages();
    let mut chosen: Vec<&cargo_metadata::Package> = Vec::new();
    for name in &selection.packages {
        match members.iter().find(|p| p.name.as_str() == name) {
            Some(p) => chosen.push(p),
            None => {
                return Err(ConfigError::UnknownPackage {
                    name: name.clone(),
                    available: members.iter().map(|p| p.name.to_string()).collect(),
                });
            }
        }
    }
    let dir_of = |p: &cargo_metadata::Package| p.manifest_path.parent().map(|d| d.as_std_path().to_path_buf());
    let configured = |p: &cargo_metadata::Package| {
        p.metadata.get("dbcheck").is_some() || dir_of(p).is_some_and(|d| d.join("dbcheck.toml").is_file())
    };
    if chosen.is_empty() && selection.workspace {
        chosen = members.iter().copied().filter(|p| configured(p)).collect();
    } else if chosen.is_empty() {
        let cwd = std::env::current_dir().ok();
        let manifest = selection.manifest_path.as_ref().map(|m| m.canonicalize().unwrap_or_else(|_| m.clone()));
        // An explicit member manifest, else the configured member holding the current directory,
        // else the root package, else the only configured member.
        let by_manifest = members.iter().copied().find(|p| Some(p.manifest_path.as_std_path()) == manifest.as_deref());
        let by_cwd = members.iter().copied().find(|p| {
            manifest.is_none()
                && configured(p)
                && dir_of(p).is_some_and(|d| d != ws_root && cwd.as_ref().is_some_and(|c| c.starts_with(&d)))
        });
        let root_pkg = members.iter().copied().find(|p| dir_of(p).as_deref() == Some(ws_root.as_path()));
        if let Some(p) = by_manifest.or(by_cwd).or(root_pkg) {
            chosen.push(p);
        } else if ws_meta.is_none() && ws_file.is_none() {
            let all: Vec<_> = members.iter().copied().filter(|p| configured(p)).collect();
            if all.len() > 1 {
                return Err(ConfigError::AmbiguousPackage {
                    candidates: all.iter().map(|p| p.name.to_string()).collect(),
                });
            }
            chosen = all;
        }
    }

    if chosen.is_empty() {
        // A virtual workspace configured at its root: the root is the project.
        let name = ws_root.file_name().map_or_else(|| "workspace".to_owned(), |n| n.to_string_lossy().into_owned());
        let layers = ws_meta.into_iter().chain(ws_file).collect();
        return Ok(vec![build_project(name, ws_root.clone(), ws_root, layers)?]);
    }
    let mut projects = Vec::new();
    for p in chosen {
        let manifest = p.manifest_path.clone().into_std_path_buf();
        let root = manifest.parent().map_or_else(|| ws_root.clone(), Path::to_path_buf);
        let pkg_meta =
            manifest_layers(&manifest)?.0.map(|config| Layer { file: manifest.clone(), dir: root.clone(), config });
        let mut layers: Vec<Layer> = ws_meta.iter().cloned().collect();
        if root == ws_root {
            layers.extend(pkg_meta);
            layers.extend(ws_file.iter().cloned());
        } else {
            layers.extend(ws_file.iter().cloned());
            layers.extend(pkg_meta);
            layers.extend(file_layer(&root)?);
        }
        projects.push(build_project(p.name.to_string(), root, ws_root.clone(), layers)?);
    }
    Ok(projects)
}

/// The names a manifest gives its package and whether it declares a workspace; the dbcheck keys
/// themselves are read by [`manifest_layers`] only.
#[derive(Deserialize, Default)]
struct ManifestShape {
    #[serde(default)]
    package: Option<PackageShape>,
    #[serde(default)]
    workspace: Option<toml::Table>,
}

#[derive(Deserialize, Default)]
struct PackageShape {
    #[serde(default)]
    name: Option<String>,
    /// `package.workspace`: the path of the workspace root, when it is not an ancestor.
    #[serde(default)]
    workspace: Option<PathBuf>,
}

fn manifest_shape(manifest: &Path) -> Result<Option<ManifestShape>, ConfigError> {
    let Some(text) = read_toml(manifest)? else { return Ok(None) };
    toml::from_str(&text).map(Some).map_err(|e| parse_err(manifest, e))
}

/// The project of the package whose `Cargo.toml` is in `manifest_dir`, found by reading files only
/// (no `cargo metadata` subprocess): the workspace root is the package itself when its manifest
/// has `[workspace]`, else `package.workspace`, else the nearest ancestor whose `Cargo.toml` has
/// `[workspace]`. The layers and their validation are the ones [`load_projects`] uses. This is the
/// path of the proc macro and build scripts, which run inside cargo and must be fast.
pub fn load_project_at(manifest_dir: &Path) -> Result<Project, ConfigError> {
    let root = manifest_dir.to_path_buf();
    let manifest = root.join("Cargo.toml");
    let shape = manifest_shape(&manifest)?.unwrap_or_default();
    let package = shape.package.unwrap_or_default();
    let ws_root = if shape.workspace.is_some() {
        root.clone()
    } else if let Some(ws) = &package.workspace {
        root.join(ws)
    } else {
        let mut found = None;
        for dir in root.ancestors().skip(1) {
            let candidate = dir.join("Cargo.toml");
            if candidate.is_file() && manifest_shape(&candidate)?.is_some_and(|m| m.workspace.is_some()) {
                found = Some(dir.to_path_buf());
                break;
            }
        }
        found.unwrap_or_else(|| root.clone())
    };
    let ws_manifest = ws_root.join("Cargo.toml");
    let ws_meta = manifest_layers(&ws_manifest)?.1.map(|config| Layer {
        file: ws_manifest.clone(),
        dir: ws_root.clone(),
        config,
    });
    let ws_file = file_layer(&ws_root)?;
    let pkg_meta =
        manifest_layers(&manifest)?.0.map(|config| Layer { file: manifest.clone(), dir: root.clone(), config });
    let mut layers: Vec<Layer> = ws_meta.into_iter().collect();
    if root == ws_root {
        layers.extend(pkg_meta);
        layers.extend(ws_file);
    } else {
        layers.extend(ws_file);
        layers.extend(pkg_meta);
        layers.extend(file_layer(&root)?);
    }
    let name = package.name.unwrap_or_else(|| {
        root.file_name().map_or_else(|| "workspace".to_owned(), |n| n.to_string_lossy().into_owned())
    });
    build_project(name, root, ws_root, layers)
}

/// Merge `layers` (lowest precedence first) into settings for the project at `root`.
fn build_project(
    name: String,
    root: PathBuf,
    workspace_root: PathBuf,
    layers: Vec<Layer>,
) -> Result<Project, ConfigError> {
    let mut migrations: Option<PathBuf> = None;
    let mut layout = None;
    let mut history: Option<(HistoryTool, PathBuf)> = None;
    let mut history_table: Option<(String, PathBuf)> = None;
    let mut url_env = None;
    let mut fail_on = None;
    let mut timeout = None;
    let mut schemas: Option<Vec<String>> = None;
    let mut shadow_env: Option<String> = None;
    let mut replay_cache = None;
    let mut files: Option<Vec<FilesEntry>> = None;
    let mut backup = crate::backup::BackupSettings::default();
    let mut integrity: Option<IntegritySettings> = None;
    let mut lint = crate::lint::LintConfig::default();
    let mut dialect = None;
    let mut declared = crate::declared::DeclaredSettings::default();
    for l in &layers {
        let c = &l.config;
        dialect = c.dialect.or(dialect);
        if let Some(m) = &c.migrations {
            migrations = Some(l.dir.join(m));
        }
        layout = c.layout.or(layout);
        if let Some(h) = c.history {
            history = Some((h, l.file.clone()));
        }
        if let Some(t) = &c.history_table {
            if t.trim().is_empty() {
                return Err(ConfigError::Invalid {
                    path: l.file.clone(),
                    key: "history_table",
                    reason: "must not be empty".into(),
                });
            }
            history_table = Some((t.clone(), l.file.clone()));
        }
        if let Some(e) = &c.database_url_env {
            if e.trim().is_empty() || e.contains('=') {
                return Err(ConfigError::Invalid {
                    path: l.file.clone(),
                    key: "database_url_env",
                    reason: "must be an environment variable name".into(),
                });
            }
            url_env = Some(e.clone());
        }
        fail_on = c.fail_on.or(fail_on);
        if let Some(t) = c.connect_timeout_secs {
            if t == 0 {
                return Err(ConfigError::Invalid {
                    path: l.file.clone(),
                    key: "connect_timeout_secs",
                    reason: "must be at least 1".into(),
                });
            }
            timeout = Some(t);
        }
        if let Some(list) = &c.schemas {
            if list.is_empty() || list.iter().any(|n| n.trim().is_empty()) {
                return Err(ConfigError::Invalid {
                    path: l.file.clone(),
                    key: "schemas",
                    reason: "must list at least one non-empty schema name".into(),
                });
            }
            schemas = Some(list.clone());
        }
        if let Some(e) = &c.shadow_database_url_env {
            if e.trim().is_empty() || e.contains('=') {
                return Err(ConfigError::Invalid {
                    path: l.file.clone(),
                    key: "shadow_database_url_env",
                    reason: "must be an environment variable name".into(),
                });
            }
            shadow_env = Some(e.clone());
        }
        replay_cache = c.replay_cache.or(replay_cache);
        if let Some(list) = &c.files {
            let mut entries = Vec::with_capacity(list.len());
            for (index, config) in list.iter().enumerate() {
                crate::files::config::validate(config).map_err(|(key, reason)| ConfigError::Invalid {
                    path: l.file.clone(),
                    key,
                    reason,
                })?;
                let root = l.dir.join(&config.root);
                entries.push(FilesEntry { index, config: config.clone(), root, file: l.file.clone() });
            }
            files = Some(entries);
        }
        if let Some(b) = &c.backup {
            backup.apply(b, &l.dir).map_err(|(key, reason)| ConfigError::Invalid {
                path: l.file.clone(),
                key,
                reason,
            })?;
        }
        if let Some(d) = &c.declared {
            declared.apply(d, &l.dir).map_err(|(key, reason)| ConfigError::Invalid {
                path: l.file.clone(),
                key,
                reason,
            })?;
        }
        if let Some(config) = &c.lint {
            crate::lint::config::validate(config).map_err(|(key, reason)| ConfigError::Invalid {
                path: l.file.clone(),
                key,
                reason,
            })?;
            lint = config.clone();
        }
        if let Some(config) = &c.integrity {
            crate::integrity::config::validate(config).map_err(|(key, reason)| ConfigError::Invalid {
                path: l.file.clone(),
                key,
                reason,
            })?;
            let schema_file = config.schema.as_ref().map(|s| l.dir.join(s));
            integrity = Some(IntegritySettings { config: config.clone(), file: l.file.clone(), schema_file });
        }
    }
    let history = match (history, history_table) {
        (Some((tool, _)), table) => {
            Some(HistoryChoice { tool, table: table.map_or_else(|| tool.default_table().to_owned(), |(t, _)| t) })
        }
        (None, Some((_, file))) => {
            return Err(ConfigError::Invalid {
                path: file,
                key: "history_table",
                reason: "needs `history` too (which tool writes that table?)".into(),
            });
        }
        (None, None) => None,
    };
    let migrations_dir = migrations.unwrap_or_else(|| default_migrations_dir(&root));
    Ok(Project {
        name,
        root,
        workspace_root,
        settings: Settings {
            migrations_dir,
            layout,
            history,
            database_url_env: url_env.unwrap_or_else(|| "DATABASE_URL".to_owned()),
            fail_on: fail_on.unwrap_or(FailOn::Error).severity(),
            connect_timeout: Duration::from_secs(timeout.unwrap_or(10)),
            schemas: schemas.unwrap_or_default(),
            shadow_database_url_env: shadow_env,
            replay_cache: replay_cache.unwrap_or(true),
            files: files.unwrap_or_default(),
            backup,
            integrity,
            lint,
            dialect,
            declared,
        },
        config_files: layers.into_iter().map(|l| l.file).collect(),
    })
}

/// The first conventional migrations folder that exists under `root`: diesel.toml's
/// `migrations_directory.dir`, then `migrations`, `prisma/migrations`, `db/migrations`,
/// `src/main/resources/db/migration`; `migrations` when none exists.
fn default_migrations_dir(root: &Path) -> PathBuf {
    #[derive(Deserialize)]
    struct DieselToml {
        migrations_directory: Option<DieselDir>,
    }
    #[derive(Deserialize)]
    struct DieselDir {
        dir: PathBuf,
    }
    if let Ok(text) = fs::read_to_string(root.join("diesel.toml"))
        && let Ok(DieselToml { migrations_directory: Some(d) }) = toml::from_str(&text)
    {
        return root.join(d.dir);
    }
    ["migrations", "prisma/migrations", "db/migrations", "src/main/resources/db/migration"]
        .iter()
        .map(|d| root.join(d))
        .find(|d| d.is_dir())
        .unwrap_or_else(|| root.join("migrations"))
}

impl Project {
    /// The database URL: `cli` (from `--database-url`) first, then the configured environment
    /// variable, then that variable in a `.env` file in the project root or the workspace root.
    /// `Ok(None)` when no source provides one.
    pub fn database_url(&self, cli: Option<&str>) -> Result<Option<DatabaseUrl>, ConfigError> {
        let var = &self.settings.database_url_env;
        let (raw, origin) = if let Some(u) = cli {
            (u.to_owned(), "--database-url".to_owned())
        } else if let Some(u) = std::env::var(var).ok().filter(|v| !v.trim().is_empty()) {
            (u, format!("environment variable {var}"))
        } else {
            let mut found = None;
            for dir in [&self.root, &self.workspace_root] {
                let file = dir.join(".env");
                if let Some(v) = dotenv_value(&file, var) {
                    found = Some((v, format!("{var} in {}", file.display())));
                    break;
                }
            }
            match found {
                Some(f) => f,
                None => return Ok(None),
            }
        };
        DatabaseUrl::parse(&raw).map(Some).map_err(|source| ConfigError::DatabaseUrl { origin, source })
    }
}

impl Project {
    /// The shadow server's URL from `shadow_database_url_env` (the environment, then `.env`);
    /// `Ok(None)` when the key is not set. A set key whose variable is missing is an error.
    pub fn shadow_database_url(&self) -> Result<Option<DatabaseUrl>, ConfigError> {
        let Some(var) = &self.settings.shadow_database_url_env else { return Ok(None) };
        let from_env = std::env::var(var).ok().filter(|v| !v.trim().is_empty());
        let found = from_env.map(|v| (v, format!("environment variable {var}"))).or_else(|| {
            [&self.root, &self.workspace_root].into_iter().find_map(|dir| {
                let file = dir.join(".env");
                dotenv_value(&file, var).map(|v| (v, format!("{var} in {}", file.display())))
            })
        });
        let Some((raw, origin)) = found else {
            return Err(ConfigError::DatabaseUrl {
                origin: format!("shadow_database_url_env = {var:?}"),
                source: DbError::InvalidUrl { url: String::new(), reason: format!("{var} is not set") },
            });
        };
        DatabaseUrl::parse(&raw).map(Some).map_err(|source| ConfigError::DatabaseUrl { origin, source })
    }
}

/// `var` from the `.env` file at `path`, without touching the process environment.
fn dotenv_value(path: &Path, var: &str) -> Option<String> {
    let iter = dotenvy::from_path_iter(path).ok()?;
    let values: BTreeMap<String, String> = iter.filter_map(Result::ok).collect();
    values.get(var).cloned().filter(|v| !v.trim().is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_keys_are_errors_that_name_the_key_and_line() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("dbcheck.toml");
        fs::write(&f, "layout = \"sqlx\"\nmigratons = \"db\"\n").unwrap();
        let err = file_layer(dir.path()).err().unwrap().to_string();
        assert!(err.contains("migratons"), "{err}");
        assert!(err.contains("line 2"), "{err}");
        assert!(err.contains("dbcheck.toml"), "{err}");
    }

    #[test]
    fn wrong_types_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("dbcheck.toml"), "connect_timeout_secs = \"ten\"\n").unwrap();
        let err = file_layer(dir.path()).err().unwrap().to_string();
        assert!(err.contains("connect_timeout_secs"), "{err}");
        fs::write(dir.path().join("dbcheck.toml"), "layout = \"liquibase\"\n").unwrap();
        let err = file_layer(dir.path()).err().unwrap().to_string();
        assert!(err.contains("liquibase"), "{err}");
    }

    #[test]
    fn later_layers_override_and_paths_resolve_against_their_file() {
        let ws = Layer {
            file: "/ws/Cargo.toml".into(),
            dir: "/ws".into(),
            config: Config { migrations: Some("db".into()), fail_on: Some(FailOn::Warning), ..Config::default() },
        };
        let pkg = Layer {
            file: "/ws/app/Cargo.toml".into(),
            dir: "/ws/app".into(),
            config: Config {
                migrations: Some("sql".into()),
                history: Some(HistoryTool::Refinery),
                ..Config::default()
            },
        };
        let p = build_project("app".into(), "/ws/app".into(), "/ws".into(), vec![ws, pkg]).unwrap();
        assert_eq!(p.settings.migrations_dir, PathBuf::from("/ws/app/sql"));
        assert_eq!(p.settings.fail_on, Severity::Warning);
        assert_eq!(p.settings.history.unwrap().table, "refinery_schema_history");
    }

    #[test]
    fn files_entries_resolve_roots_against_their_file_and_are_validated() {
        let dir = tempfile::tempdir().unwrap();
        let text = "[[files]]\ntable = \"ad_images\"\ncolumn = \"file_path\"\nroot = \"public/uploads\"\n\
                    where = \"deleted_at IS NULL\"\nparent = { table = \"ads\", column = \"ad_id\" }\n";
        fs::write(dir.path().join("dbcheck.toml"), text).unwrap();
        let layer = file_layer(dir.path()).unwrap().unwrap();
        let ws = Layer {
            file: "/ws/Cargo.toml".into(),
            dir: "/ws".into(),
            config: Config { files: Some(Vec::new()), ..Config::default() },
        };
        let p = build_project("p".into(), dir.path().into(), "/ws".into(), vec![ws, layer.clone()]).unwrap();
        let files = &p.settings.files;
        assert_eq!(files.len(), 1, "the highest-precedence list replaces lower ones");
        assert_eq!(files[0].root, dir.path().join("public/uploads"));
        assert_eq!(files[0].config.filter.as_deref(), Some("deleted_at IS NULL"));
        assert_eq!(files[0].config.parent.as_ref().unwrap().column, "ad_id");

        let mut bad = layer;
        bad.config.files.as_mut().unwrap()[0].strip_prefix = Some(String::new());
        let err = build_project("p".into(), dir.path().into(), "/ws".into(), vec![bad]).err().unwrap().to_string();
        assert!(err.contains("files.strip_prefix") && err.contains("dbcheck.toml"), "{err}");

        fs::write(
            dir.path().join("dbcheck.toml"),
            "[[files]]\ntable = \"t\"\ncolumn = \"c\"\nroot = \"u\"\nroot_dir = 1\n",
        )
        .unwrap();
        let err = file_layer(dir.path()).err().unwrap().to_string();
        assert!(err.contains("root_dir"), "{err}");
    }

    #[test]
    fn history_table_without_history_is_rejected() {
        let l = Layer {
            file: "/p/dbcheck.toml".into(),
            dir: "/p".into(),
            config: Config { history_table: Some("my_history".into()), ..Config::default() },
        };
        let err = build_project("p".into(), "/p".into(), "/p".into(), vec![l]).err().unwrap().to_string();
        assert!(err.contains("history_table"), "{err}");
    }

    #[test]
    fn dotenv_is_read_without_touching_the_environment() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join(".env"), "OTHER=1\nDBCHECK_UNIT_URL=sqlite:x.db\n").unwrap();
        assert_eq!(dotenv_value(&dir.path().join(".env"), "DBCHECK_UNIT_URL").as_deref(), Some("sqlite:x.db"));
        assert!(std::env::var("DBCHECK_UNIT_URL").is_err());
    }

    /// A workspace with two configured members `a` and `b` and workspace-level defaults.
    fn workspace() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        let w = |rel: &str, text: &str| {
            let path = dir.path().join(rel);
            fs::create_dir_all(path.parent().unwrap()).unwrap();
            fs::write(path, text).unwrap();
        };
        w(
            "Cargo.toml",
            "[workspace]\nmembers = [\"a\", \"b\"]\n\n[workspace.metadata.dbcheck]\nfail_on = \"warning\"\n",
        );
        for m in ["a", "b"] {
            w(
                &format!("{m}/Cargo.toml"),
                &format!(
                    "[package]\nname = \"{m}\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[package.metadata.dbcheck]\nmigrations = \"sql\"\n"
                ),
            );
            w(&format!("{m}/src/lib.rs"), "");
        }
        w("b/dbcheck.toml", "history = \"dbcheck\"\n");
        dir
    }

    #[test]
    fn workspace_members_are_selected_like_cargo_does() {
        let ws = workspace();
        let root = ws.path().canonicalize().unwrap();
        let manifest = Some(root.join("Cargo.toml"));

        // -p picks members; layers merge workspace defaults, package metadata and dbcheck.toml.
        let sel = Selection { manifest_path: manifest.clone(), packages: vec!["b".into()], workspace: false };
        let b = load_projects(&sel).unwrap();
        assert_eq!(b.len(), 1);
        assert_eq!(b[0].name, "b");
        assert_eq!(b[0].settings.migrations_dir, root.join("b/sql"));
        assert_eq!(b[0].settings.fail_on, Severity::Warning);
        assert_eq!(b[0].settings.history.as_ref().unwrap().tool, HistoryTool::Dbcheck);
        assert_eq!(
            b[0].config_files,
            [root.join("Cargo.toml"), root.join("b/Cargo.toml"), root.join("b/dbcheck.toml")]
        );

        // --workspace: every configured member.
        let sel = Selection { manifest_path: manifest.clone(), packages: vec![], workspace: true };
        let names: Vec<String> = load_projects(&sel).unwrap().into_iter().map(|p| p.name).collect();
        assert_eq!(names, ["a", "b"]);

        // A member's manifest selects that member.
        let sel = Selection { manifest_path: Some(root.join("a/Cargo.toml")), ..Selection::default() };
        assert_eq!(load_projects(&sel).unwrap()[0].name, "a");

        // The root manifest of a workspace configured at its root: the root itself is the project.
        let sel = Selection { manifest_path: manifest.clone(), ..Selection::default() };
        let root_project = load_projects(&sel).unwrap();
        assert_eq!(root_project[0].root, root);

        let sel = Selection { manifest_path: manifest, packages: vec!["c".into()], workspace: false };
        assert!(matches!(load_projects(&sel), Err(ConfigError::UnknownPackage { .. })));
    }

    #[test]
    fn loading_one_package_by_reading_files_agrees_with_cargo_metadata() {
        let ws = workspace();
        let root = ws.path().canonicalize().unwrap();
        fs::write(root.join("b/dbcheck.toml"), "history = \"dbcheck\"\ndialect = \"sqlite\"\n").unwrap();
        let sel =
            Selection { manifest_path: Some(root.join("Cargo.toml")), packages: vec!["b".into()], workspace: false };
        let by_metadata = load_projects(&sel).unwrap().remove(0);
        let by_files = load_project_at(&root.join("b")).unwrap();
        assert_eq!(by_files.name, "b");
        assert_eq!(by_files.workspace_root, root);
        assert_eq!(by_files.config_files, by_metadata.config_files);
        assert_eq!(by_files.settings.migrations_dir, by_metadata.settings.migrations_dir);
        assert_eq!(by_files.settings.fail_on, Severity::Warning);
        assert_eq!(by_files.settings.dialect, Some(crate::db::Dialect::Sqlite));
        assert_eq!(by_metadata.settings.dialect, Some(crate::db::Dialect::Sqlite));
        assert_eq!(load_project_at(&root.join("a")).unwrap().settings.dialect, None);
        fs::write(root.join("a/dbcheck.toml"), "dialect = \"oracle\"\n").unwrap();
        let err = load_project_at(&root.join("a")).err().unwrap().to_string();
        assert!(err.contains("oracle") && err.contains("dbcheck.toml"), "{err}");
    }

    #[test]
    fn several_configured_members_and_no_choice_is_an_error() {
        let ws = workspace();
        let root = ws.path().canonicalize().unwrap();
        // Without workspace-level configuration nothing says which member is meant.
        fs::write(root.join("Cargo.toml"), "[workspace]\nmembers = [\"a\", \"b\"]\n").unwrap();
        let sel = Selection { manifest_path: Some(root.join("Cargo.toml")), ..Selection::default() };
        match load_projects(&sel) {
            Err(ConfigError::AmbiguousPackage { candidates }) => assert_eq!(candidates, ["a", "b"]),
            other => panic!("expected AmbiguousPackage, got {other:?}"),
        }
    }
}
