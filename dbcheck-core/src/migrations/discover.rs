//! Migration discovery: detect a folder's layout and read every migration as its tool would.

use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::model::{Layout, Migration, MigrationKind, TransactionMode, Version};
use crate::report::{Finding, Location, Severity};

/// Everything found in a migrations folder.
#[derive(Debug, Clone, Serialize)]
pub struct Discovery {
    /// The folder that was read.
    pub dir: PathBuf,
    /// Its layout (detected or configured); `None` when the folder holds no migrations at all.
    pub layout: Option<Layout>,
    /// The migrations, in the order their tool applies them.
    pub migrations: Vec<Migration>,
    /// Non-fatal observations: ignored files, repeatable migrations, odd names.
    pub findings: Vec<Finding>,
}

/// One migration file or folder that its tool would refuse.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InvalidMigration {
    /// The offending file or folder.
    pub path: PathBuf,
    /// Why it is refused.
    pub reason: String,
}

/// Migrations that cannot be discovered at all.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DiscoveryError {
    /// The folder does not exist.
    #[error("migrations folder not found: {}", path.display())]
    MissingDir {
        /// The folder that was looked for.
        path: PathBuf,
    },
    /// The folder (or an entry in it) could not be listed.
    #[error("cannot read migrations folder {}", path.display())]
    ReadDir {
        /// The folder.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: io::Error,
    },
    /// The folder mixes the layouts of several tools.
    #[error("migrations folder {} mixes layouts: {}", dir.display(), describe_layouts(found))]
    AmbiguousLayout {
        /// The folder.
        dir: PathBuf,
        /// One example path for each layout seen.
        found: Vec<(Layout, PathBuf)>,
    },
    /// Some migrations are invalid; every one is listed.
    #[error("{} invalid migration(s) in {}:{}", problems.len(), dir.display(), describe_problems(problems))]
    Invalid {
        /// The folder.
        dir: PathBuf,
        /// Each invalid file or folder with the reason.
        problems: Vec<InvalidMigration>,
    },
}

fn describe_layouts(found: &[(Layout, PathBuf)]) -> String {
    found.iter().map(|(l, p)| format!("{l} (e.g. {})", p.display())).collect::<Vec<_>>().join(", ")
}

fn describe_problems(problems: &[InvalidMigration]) -> String {
    problems.iter().map(|p| format!("\n  {}: {}", p.path.display(), p.reason)).collect()
}

/// Read the migrations in `dir`. With `layout = None` the layout is detected from the folder's
/// contents; an empty folder is not an error (it yields no migrations and `layout: None`).
pub fn discover_migrations(dir: &Path, layout: Option<Layout>) -> Result<Discovery, DiscoveryError> {
    let entries = list_dir(dir)?;
    let layout = match layout {
        Some(l) => Some(l),
        None => detect_layout(dir, &entries)?,
    };
    let mut scan = Scan { problems: Vec::new(), findings: Vec::new(), migrations: Vec::new() };
    match layout {
        Some(Layout::Sqlx) => scan.sqlx(&entries),
        Some(Layout::Diesel) => scan.diesel(&entries),
        Some(Layout::Prisma) => scan.prisma(&entries),
        Some(Layout::Versioned) => scan.versioned(&entries),
        None => {}
    }
    scan.check_duplicates();
    if !scan.problems.is_empty() {
        return Err(DiscoveryError::Invalid { dir: dir.to_path_buf(), problems: scan.problems });
    }
    let mut migrations = scan.migrations;
    migrations.sort_by(|a, b| (a.kind as u8, &a.version, &a.name).cmp(&(b.kind as u8, &b.version, &b.name)));
    Ok(Discovery { dir: dir.to_path_buf(), layout, migrations, findings: scan.findings })
}

/// A directory entry: its name (lossy, for matching), path, and whether it is a folder.
struct Entry {
    name: String,
    path: PathBuf,
    is_dir: bool,
}

fn list_dir(dir: &Path) -> Result<Vec<Entry>, DiscoveryError> {
    let read = fs::read_dir(dir).map_err(|source| {
        if source.kind() == io::ErrorKind::NotFound {
            DiscoveryError::MissingDir { path: dir.to_path_buf() }
        } else {
            DiscoveryError::ReadDir { path: dir.to_path_buf(), source }
        }
    })?;
    let mut entries = Vec::new();
    for entry in read {
        let entry = entry.map_err(|source| DiscoveryError::ReadDir { path: dir.to_path_buf(), source })?;
        let path = entry.path();
        // Follow symlinks the way the tools do (they call `metadata`, not `symlink_metadata`).
        let is_dir = fs::metadata(&path).map(|m| m.is_dir()).unwrap_or(false);
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') {
            continue;
        }
        entries.push(Entry { name, path, is_dir });
    }
    entries.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(entries)
}

fn detect_layout(dir: &Path, entries: &[Entry]) -> Result<Option<Layout>, DiscoveryError> {
    let mut found: BTreeMap<&'static str, (Layout, PathBuf)> = BTreeMap::new();
    for e in entries {
        let vote = if e.is_dir {
            if e.path.join("migration.sql").is_file() {
                Some(Layout::Prisma)
            } else if e.path.join("up.sql").is_file() {
                Some(Layout::Diesel)
            } else {
                None
            }
        } else if e.name == "migration_lock.toml" {
            Some(Layout::Prisma)
        } else if parse_versioned_name(&e.name).is_some() {
            Some(Layout::Versioned)
        } else if e.name.ends_with(".sql") && sqlx_version_prefix(&e.name).is_some_and(|v| v.parse::<i64>().is_ok()) {
            Some(Layout::Sqlx)
        } else {
            None
        };
        if let Some(layout) = vote {
            found.entry(layout.as_str()).or_insert((layout, e.path.clone()));
        }
    }
    let mut found: Vec<_> = found.into_values().collect();
    match found.len() {
        0 => Ok(None),
        1 => Ok(found.pop().map(|(l, _)| l)),
        _ => Err(DiscoveryError::AmbiguousLayout { dir: dir.to_path_buf(), found }),
    }
}

/// `<version>` of `<version>_<rest>`, when there is an underscore.
fn sqlx_version_prefix(name: &str) -> Option<&str> {
    name.split_once('_').map(|(v, _)| v)
}

/// A parsed `V1__name.sql` / `R__name.sql` / `U1__name.sql` file name.
struct VersionedName<'a> {
    prefix: char,
    version: &'a str,
    name: &'a str,
}

fn parse_versioned_name(file: &str) -> Option<VersionedName<'_>> {
    let stem = file.strip_suffix(".sql")?;
    let mut chars = stem.chars();
    let prefix = chars.next()?;
    if !matches!(prefix, 'V' | 'R' | 'U') {
        return None;
    }
    let (version, name) = chars.as_str().split_once("__")?;
    if prefix == 'R' && !version.is_empty() {
        return None;
    }
    if prefix != 'R' && (version.is_empty() || !version.starts_with(|c: char| c.is_ascii_digit())) {
        return None;
    }
    Some(VersionedName { prefix, version, name })
}

struct Scan {
    problems: Vec<InvalidMigration>,
    findings: Vec<Finding>,
    migrations: Vec<Migration>,
}

impl Scan {
    fn problem(&mut self, path: &Path, reason: impl Into<String>) {
        self.problems.push(InvalidMigration { path: path.to_path_buf(), reason: reason.into() });
    }

    fn ignored(&mut self, path: &Path, why: &str, help: &str) {
        self.findings.push(
            Finding::new(
                "migration-file-ignored",
                Severity::Warning,
                format!("{} is not a migration: {why}", path.display()),
            )
            .at(Location::file(path))
            .help(help),
        );
    }

    /// Read a migration file; unreadable and non-UTF-8 files are problems (every tool refuses them).
    fn read_sql(&mut self, path: &Path) -> Option<Vec<u8>> {
        match fs::read(path) {
            Ok(bytes) => match std::str::from_utf8(&bytes) {
                Ok(_) => Some(bytes),
                Err(e) => {
                    self.problem(path, format!("not valid UTF-8 (invalid byte at offset {})", e.valid_up_to()));
                    None
                }
            },
            Err(e) => {
                self.problem(path, format!("cannot read: {e}"));
                None
            }
        }
    }

    fn sqlx(&mut self, entries: &[Entry]) {
        // sqlx pairs `.up.sql` with `.down.sql` by version.
        let mut downs: BTreeMap<i64, PathBuf> = BTreeMap::new();
        let mut ups: Vec<(i64, String, PathBuf)> = Vec::new();
        for e in entries.iter().filter(|e| !e.is_dir) {
            let Some((version, rest)) = e.name.split_once('_') else {
                if e.name.ends_with(".sql") {
                    self.ignored(
                        &e.path,
                        "sqlx needs `<VERSION>_<DESCRIPTION>.sql`",
                        "rename it, e.g. `20240101000000_create_users.sql`",
                    );
                }
                continue;
            };
            if !rest.ends_with(".sql") {
                continue;
            }
            let Ok(v) = version.parse::<i64>() else {
                self.problem(&e.path, format!("sqlx needs an integer version prefix, found `{version}`"));
                continue;
            };
            if rest.ends_with(".down.sql") {
                downs.insert(v, e.path.clone());
            } else {
                let desc = rest.strip_suffix(".up.sql").or_else(|| rest.strip_suffix(".sql")).unwrap_or(rest);
                ups.push((v, desc.replace('_', " "), e.path.clone()));
            }
        }
        for (v, desc, path) in ups {
            let Some(bytes) = self.read_sql(&path) else { continue };
            let transaction = if bytes.starts_with(b"-- no-transaction") {
                TransactionMode::NoTransaction
            } else {
                TransactionMode::Transaction
            };
            self.migrations.push(Migration {
                version: Version::Int(v),
                history_key: v.to_string(),
                name: desc,
                down_path: downs.remove(&v),
                path,
                bytes,
                transaction,
                kind: MigrationKind::Versioned,
            });
        }
        for (v, path) in downs {
            self.ignored(
                &path,
                &format!("down migration without an up migration for version {v}"),
                "add the matching `.up.sql` file or delete this one",
            );
        }
    }

    fn diesel(&mut self, entries: &[Entry]) {
        for e in entries {
            if !e.is_dir {
                if e.name.ends_with(".sql") {
                    self.ignored(
                        &e.path,
                        "diesel reads only `<version>_<name>/up.sql` folders",
                        "move it into a migration folder",
                    );
                }
                continue;
            }
            let up = e.path.join("up.sql");
            if !up.is_file() {
                self.problem(&e.path, "diesel migration folder without `up.sql`");
                continue;
            }
            // diesel: the version is everything before the first `_`, with dashes removed.
            let raw_version = e.name.split('_').next().unwrap_or(&e.name);
            let version = raw_version.replace('-', "");
            if version.is_empty() || !version.bytes().all(|b| b.is_ascii_digit()) {
                self.findings.push(
                    Finding::new(
                        "migration-name-malformed",
                        Severity::Warning,
                        format!("diesel migration `{}` has a non-numeric version `{raw_version}`", e.name),
                    )
                    .at(Location::file(&e.path))
                    .help("diesel orders versions as text; name folders `YYYY-MM-DD-HHMMSS_name` so they sort by time"),
                );
            }
            let name = e.name.split_once('_').map_or("", |(_, n)| n).to_owned();
            let transaction = match self.diesel_metadata(&e.path.join("metadata.toml")) {
                Some(false) => TransactionMode::NoTransaction,
                _ => TransactionMode::Transaction,
            };
            let Some(bytes) = self.read_sql(&up) else { continue };
            let down = e.path.join("down.sql");
            self.migrations.push(Migration {
                version: Version::Text(version.clone()),
                history_key: version,
                name,
                path: up,
                bytes,
                down_path: down.is_file().then_some(down),
                transaction,
                kind: MigrationKind::Versioned,
            });
        }
    }

    /// `run_in_transaction` from a diesel `metadata.toml`, if the file exists.
    fn diesel_metadata(&mut self, path: &Path) -> Option<bool> {
        #[derive(serde::Deserialize)]
        struct Meta {
            run_in_transaction: Option<bool>,
        }
        let text = match fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return None,
            Err(e) => {
                self.problem(path, format!("cannot read: {e}"));
                return None;
            }
        };
        match toml::from_str::<Meta>(&text) {
            Ok(m) => m.run_in_transaction,
            Err(e) => {
                self.problem(path, format!("invalid metadata.toml: {}", e.message()));
                None
            }
        }
    }

    fn prisma(&mut self, entries: &[Entry]) {
        for e in entries {
            if !e.is_dir {
                if e.name.ends_with(".sql") {
                    self.ignored(
                        &e.path,
                        "Prisma reads only `<timestamp>_<name>/migration.sql`",
                        "move it into a migration folder",
                    );
                }
                continue;
            }
            let sql = e.path.join("migration.sql");
            if !sql.is_file() {
                self.problem(&e.path, "Prisma migration folder without `migration.sql`");
                continue;
            }
            let Some(bytes) = self.read_sql(&sql) else { continue };
            let name = e.name.split_once('_').map_or("", |(_, n)| n).to_owned();
            self.migrations.push(Migration {
                version: Version::Text(e.name.clone()),
                history_key: e.name.clone(),
                name,
                path: sql,
                bytes,
                down_path: None,
                transaction: TransactionMode::Transaction,
                kind: MigrationKind::Versioned,
            });
        }
    }

    fn versioned(&mut self, entries: &[Entry]) {
        for e in entries.iter().filter(|e| !e.is_dir) {
            let Some(parsed) = parse_versioned_name(&e.name) else {
                if e.name.ends_with(".sql") {
                    self.ignored(
                        &e.path,
                        "expected `V<version>__<name>.sql` or `R__<name>.sql`",
                        "rename it, e.g. `V3__add_slug.sql` (two underscores)",
                    );
                }
                continue;
            };
            if parsed.name.is_empty() {
                self.problem(&e.path, "empty migration name after `__`");
                continue;
            }
            let transaction = if flyway_no_transaction(&e.path) {
                TransactionMode::NoTransaction
            } else {
                TransactionMode::Transaction
            };
            match parsed.prefix {
                'U' => self.findings.push(
                    Finding::new(
                        "migration-undo-ignored",
                        Severity::Info,
                        format!("undo migration {} is not part of the forward history", e.name),
                    )
                    .at(Location::file(&e.path)),
                ),
                'R' => {
                    let Some(bytes) = self.read_sql(&e.path) else { continue };
                    self.findings.push(
                        Finding::new(
                            "migration-repeatable",
                            Severity::Info,
                            format!(
                                "repeatable migration `{}` is re-applied by Flyway whenever it changes",
                                parsed.name
                            ),
                        )
                        .at(Location::file(&e.path)),
                    );
                    self.migrations.push(Migration {
                        version: Version::Dotted(Vec::new()),
                        history_key: parsed.name.replace('_', " "),
                        name: parsed.name.to_owned(),
                        path: e.path.clone(),
                        bytes,
                        down_path: None,
                        transaction,
                        kind: MigrationKind::Repeatable,
                    });
                }
                _ => {
                    let Some(version) = Version::dotted(parsed.version) else {
                        self.problem(&e.path, format!("version `{}` is not numbers separated by dots", parsed.version));
                        continue;
                    };
                    let Some(bytes) = self.read_sql(&e.path) else { continue };
                    self.migrations.push(Migration {
                        history_key: version.to_string(),
                        version,
                        name: parsed.name.to_owned(),
                        path: e.path.clone(),
                        bytes,
                        down_path: None,
                        transaction,
                        kind: MigrationKind::Versioned,
                    });
                }
            }
        }
    }

    fn check_duplicates(&mut self) {
        let mut seen: BTreeMap<(u8, String), PathBuf> = BTreeMap::new();
        let mut dups = Vec::new();
        for m in &self.migrations {
            if let Some(first) = seen.insert((m.kind as u8, m.history_key.clone()), m.path.clone()) {
                dups.push(InvalidMigration {
                    path: m.path.clone(),
                    reason: format!("duplicate version {} (also {})", m.history_key, first.display()),
                });
            }
        }
        self.problems.extend(dups);
    }
}

/// Flyway's per-script config (`V1__x.sql.conf`) can turn the transaction off.
fn flyway_no_transaction(path: &Path) -> bool {
    let mut conf = path.as_os_str().to_owned();
    conf.push(".conf");
    fs::read_to_string(PathBuf::from(conf)).is_ok_and(|text| {
        text.lines().any(|l| {
            l.split_once('=')
                .is_some_and(|(k, v)| k.trim() == "executeInTransaction" && v.trim().eq_ignore_ascii_case("false"))
        })
    })
}
