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
        None => {
            // No layout recognises anything here: every SQL file is one that no tool would run.
            for e in entries.iter().filter(|e| !e.is_dir && e.name.ends_with(".sql")) {
                scan.ignored(
                    &e.path,
                    "its name matches no migration layout",
                    "name it like `20240101000000_create_users.sql` (sqlx) or `V1__create_users.sql` (refinery/Flyway)",
                );
            }
        }
    }
    scan.check_duplicates();
    if !scan.problems.is_empty() {
        return Err(DiscoveryError::Invalid { dir: dir.to_path_buf(), problems: scan.problems });
    }
    let mut migrations = scan.migrations;
    // Versions decide; repeatables (which share an empty version) go in Flyway's order, by the
    // description it records (`R__a_b.sql` is `a b`), not by the raw file name.
    migrations.sort_by(|a, b| {
        (a.kind == MigrationKind::Repeatable, &a.version, &a.history_key).cmp(&(
            b.kind == MigrationKind::Repeatable,
            &b.version,
            &b.history_key,
        ))
    });
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
                if let Some(first) = downs.insert(v, e.path.clone()) {
                    self.problem(
                        &e.path,
                        format!("duplicate down migration for version {v} (also {})", first.display()),
                    );
                }
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
        // diesel reads metadata.toml with `unwrap_or_default()`: an unreadable or invalid file is
        // silently ignored and the migration runs in a transaction. Say so instead of failing.
        let (reason, location) = match fs::read_to_string(path) {
            Ok(text) => match toml::from_str::<Meta>(&text) {
                Ok(m) => return m.run_in_transaction,
                Err(e) => (
                    format!("invalid TOML: {}", e.message()),
                    e.span().map_or_else(|| Location::file(path), |span| Location::span(path, span)),
                ),
            },
            Err(e) if e.kind() == io::ErrorKind::NotFound => return None,
            Err(e) => (format!("cannot read: {e}"), Location::file(path)),
        };
        self.findings.push(
            Finding::new(
                "migration-metadata-invalid",
                Severity::Warning,
                format!("diesel ignores this metadata.toml ({reason}) and runs the migration in a transaction"),
            )
            .at(location)
            .help("fix the file, e.g. `run_in_transaction = false`"),
        );
        None
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
        // refinery and Flyway both search their locations recursively.
        for e in entries.iter().filter(|e| e.is_dir) {
            match list_dir(&e.path) {
                Ok(sub) => self.versioned(&sub),
                Err(err) => self.problem(&e.path, err.to_string()),
            }
        }
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
                        kind: if parsed.prefix == 'U' { MigrationKind::Unversioned } else { MigrationKind::Versioned },
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Write `bytes` to `dir/rel`, creating parent folders.
    fn write(dir: &Path, rel: &str, bytes: impl AsRef<[u8]>) -> PathBuf {
        let path = dir.join(rel);
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent).unwrap();
        }
        fs::write(&path, bytes).unwrap();
        path
    }

    /// Create `path` so that reading it fails, even as root: `chmod 000` when that blocks reads,
    /// otherwise (root ignores permissions) a dangling symlink.
    #[cfg(unix)]
    fn unreadable(path: &Path) {
        use std::os::unix::fs::PermissionsExt;
        fs::write(path, "SELECT 1;\n").unwrap();
        fs::set_permissions(path, fs::Permissions::from_mode(0o000)).unwrap();
        if fs::read(path).is_ok() {
            fs::remove_file(path).unwrap();
            std::os::unix::fs::symlink(path.with_file_name("target-that-does-not-exist"), path).unwrap();
        }
        assert!(fs::read(path).is_err(), "test setup: {} must be unreadable", path.display());
    }

    fn discover(dir: &Path) -> Discovery {
        match discover_migrations(dir, None) {
            Ok(d) => d,
            Err(e) => panic!("unexpected error: {e}"),
        }
    }

    fn problems(dir: &Path, layout: Option<Layout>) -> Vec<InvalidMigration> {
        match discover_migrations(dir, layout) {
            Err(DiscoveryError::Invalid { dir: d, problems }) => {
                assert_eq!(d, dir);
                problems
            }
            other => panic!("expected Invalid, got {other:?}"),
        }
    }

    /// The problem reported for `path`; fails unless there is exactly one.
    fn problem_for<'a>(problems: &'a [InvalidMigration], path: &Path) -> &'a str {
        let found: Vec<_> = problems.iter().filter(|p| p.path == path).collect();
        assert_eq!(found.len(), 1, "one problem for {}, got {problems:#?}", path.display());
        &found[0].reason
    }

    fn keys(d: &Discovery) -> Vec<&str> {
        d.migrations.iter().map(|m| m.history_key.as_str()).collect()
    }

    fn codes(d: &Discovery) -> Vec<&'static str> {
        d.findings.iter().map(|f| f.code).collect()
    }

    // ---- sqlx ----

    #[test]
    fn sqlx_files_are_detected_and_parsed() {
        let tmp = tempfile::tempdir().unwrap();
        let d = tmp.path();
        let simple = write(d, "20240101000000_create_users.sql", "CREATE TABLE users (id int);\n");
        let up = write(d, "20240102000000_add_user_slug.up.sql", "ALTER TABLE users ADD slug text;\n");
        let down = write(d, "20240102000000_add_user_slug.down.sql", "ALTER TABLE users DROP slug;\n");
        let found = discover(d);
        assert_eq!(found.layout, Some(Layout::Sqlx));
        assert_eq!(found.dir, d);
        assert_eq!(keys(&found), ["20240101000000", "20240102000000"]);
        let [first, second] = found.migrations.as_slice() else { panic!("two migrations") };
        assert_eq!(first.version, Version::Int(20240101000000));
        assert_eq!(first.name, "create users");
        assert_eq!(first.path, simple);
        assert_eq!(first.bytes, b"CREATE TABLE users (id int);\n");
        assert_eq!(first.down_path, None);
        assert_eq!(first.transaction, TransactionMode::Transaction);
        assert_eq!(first.kind, MigrationKind::Versioned);
        assert_eq!(second.name, "add user slug");
        assert_eq!(second.path, up);
        assert_eq!(second.down_path.as_deref(), Some(down.as_path()));
        assert!(found.findings.is_empty(), "{:?}", found.findings);
    }

    #[test]
    fn sqlx_orders_by_integer_version_not_text() {
        let tmp = tempfile::tempdir().unwrap();
        for name in ["10_y.sql", "2_x.sql", "1_z.sql", "0010000_w.sql"] {
            write(tmp.path(), name, "SELECT 1;\n");
        }
        let found = discover(tmp.path());
        assert_eq!(keys(&found), ["1", "2", "10", "10000"]);
        let names: Vec<_> = found.migrations.iter().map(|m| m.name.as_str()).collect();
        assert_eq!(names, ["z", "x", "y", "w"]);
    }

    #[test]
    fn sqlx_no_transaction_only_as_the_very_first_bytes() {
        let tmp = tempfile::tempdir().unwrap();
        let d = tmp.path();
        write(d, "1_a.sql", "-- no-transaction\nCREATE INDEX CONCURRENTLY i ON t (a);\n");
        write(d, "2_b.sql", "\n-- no-transaction\nSELECT 1;\n");
        write(d, "3_c.sql", " -- no-transaction\nSELECT 1;\n");
        write(d, "4_d.sql", "\u{FEFF}-- no-transaction\nSELECT 1;\n");
        write(d, "5_e.up.sql", "-- no-transaction\nSELECT 1;\n");
        let found = discover(d);
        let modes: Vec<_> = found.migrations.iter().map(|m| m.transaction).collect();
        use TransactionMode::{NoTransaction as No, Transaction as Tx};
        assert_eq!(modes, [No, Tx, Tx, Tx, No]);
    }

    #[test]
    fn sqlx_ignores_names_it_would_ignore_and_reports_stray_sql() {
        let tmp = tempfile::tempdir().unwrap();
        let d = tmp.path();
        write(d, "1_a.sql", "SELECT 1;\n");
        let stray = write(d, "schema.sql", "SELECT 1;\n");
        write(d, "README.md", "# migrations\n");
        write(d, "notes_1.txt", "not sql\n");
        write(d, "1_a.sql.bak", "SELECT 1;\n");
        write(d, ".2_hidden.sql", "SELECT 1;\n");
        write(d, "3_folder.sql/ignored.sql", "SELECT 1;\n");
        let found = discover(d);
        assert_eq!(found.layout, Some(Layout::Sqlx));
        assert_eq!(keys(&found), ["1"]);
        assert_eq!(codes(&found), ["migration-file-ignored"]);
        assert_eq!(found.findings[0].severity, Severity::Warning);
        assert_eq!(found.findings[0].location, Some(Location::file(&stray)));
        assert!(found.findings[0].help.is_some());
    }

    #[test]
    fn sqlx_non_integer_version_prefix_is_invalid() {
        let tmp = tempfile::tempdir().unwrap();
        let d = tmp.path();
        write(d, "1_a.sql", "SELECT 1;\n");
        let bad = write(d, "abc_b.sql", "SELECT 1;\n");
        let bad_down = write(d, "v2_c.down.sql", "SELECT 1;\n");
        let huge = write(d, "99999999999999999999_d.sql", "SELECT 1;\n");
        let ps = problems(d, None);
        assert_eq!(ps.len(), 3, "{ps:#?}");
        assert!(problem_for(&ps, &bad).contains("`abc`"));
        assert!(problem_for(&ps, &bad_down).contains("integer"));
        assert!(problem_for(&ps, &huge).contains("integer"));
    }

    #[test]
    fn sqlx_down_without_up_is_an_ignored_file() {
        let tmp = tempfile::tempdir().unwrap();
        let d = tmp.path();
        let orphan = write(d, "1_a.down.sql", "DROP TABLE a;\n");
        write(d, "2_b.sql", "SELECT 1;\n");
        let found = discover(d);
        assert_eq!(keys(&found), ["2"]);
        assert_eq!(codes(&found), ["migration-file-ignored"]);
        assert_eq!(found.findings[0].location, Some(Location::file(&orphan)));
    }

    #[test]
    fn sqlx_duplicate_versions_are_invalid() {
        let tmp = tempfile::tempdir().unwrap();
        let d = tmp.path();
        let a = write(d, "1_a.sql", "SELECT 1;\n");
        let b = write(d, "01_b.sql", "SELECT 2;\n");
        write(d, "2_c.sql", "SELECT 3;\n");
        let ps = problems(d, None);
        assert_eq!(ps.len(), 1, "{ps:#?}");
        assert!(ps[0].reason.contains("duplicate version 1"), "{}", ps[0].reason);
        // One of the pair is the problem's path, the other is named in its reason.
        let (reported, other) = if ps[0].path == a { (&a, &b) } else { (&b, &a) };
        assert_eq!(&ps[0].path, reported);
        assert!(ps[0].reason.contains(&other.display().to_string()), "{}", ps[0].reason);
    }

    #[test]
    fn sqlx_simple_and_reversible_with_one_version_are_duplicates() {
        let tmp = tempfile::tempdir().unwrap();
        write(tmp.path(), "1_a.sql", "SELECT 1;\n");
        write(tmp.path(), "1_a.up.sql", "SELECT 1;\n");
        write(tmp.path(), "1_a.down.sql", "SELECT 1;\n");
        let ps = problems(tmp.path(), None);
        assert_eq!(ps.len(), 1, "{ps:#?}");
        assert!(ps[0].reason.contains("duplicate"));
    }

    #[test]
    fn sqlx_duplicate_down_migrations_are_invalid() {
        let tmp = tempfile::tempdir().unwrap();
        let d = tmp.path();
        write(d, "1_a.up.sql", "SELECT 1;\n");
        write(d, "1_a.down.sql", "SELECT 1;\n");
        write(d, "01_b.down.sql", "SELECT 1;\n");
        let ps = problems(d, None);
        assert_eq!(ps.len(), 1, "{ps:#?}");
        assert!(ps[0].reason.contains("duplicate down migration for version 1"), "{}", ps[0].reason);
    }

    #[test]
    fn sqlx_follows_symlinked_files_like_sqlx() {
        let tmp = tempfile::tempdir().unwrap();
        let shared = tempfile::tempdir().unwrap();
        let target = write(shared.path(), "shared.sql", "SELECT 42;\n");
        #[cfg(unix)]
        std::os::unix::fs::symlink(&target, tmp.path().join("1_linked.sql")).unwrap();
        #[cfg(not(unix))]
        fs::copy(&target, tmp.path().join("1_linked.sql")).unwrap();
        let found = discover(tmp.path());
        assert_eq!(found.migrations[0].bytes, b"SELECT 42;\n");
    }

    // ---- diesel ----

    #[test]
    fn diesel_folders_are_detected_and_parsed() {
        let tmp = tempfile::tempdir().unwrap();
        let d = tmp.path();
        write(d, "00000000000000_diesel_initial_setup/up.sql", "SELECT 0;\n");
        write(d, "00000000000000_diesel_initial_setup/down.sql", "SELECT 0;\n");
        let users = write(d, "2017-09-23-182408_create_users/up.sql", "CREATE TABLE users (id int);\n");
        let users_down = write(d, "2017-09-23-182408_create_users/down.sql", "DROP TABLE users;\n");
        write(d, "20140924113530_y/up.sql", "SELECT 1;\n");
        write(d, "2020-01-01-000000_add things/up.sql", "CREATE INDEX CONCURRENTLY i ON users (id);\n");
        write(d, "2020-01-01-000000_add things/metadata.toml", "run_in_transaction = false\n");
        write(d, "2021-01-01-000000_meta/up.sql", "SELECT 1;\n");
        write(d, "2021-01-01-000000_meta/metadata.toml", "# nothing set\n");
        write(d, ".keep", "");
        write(d, ".hidden/up.sql", "SELECT 1;\n");
        write(d, ".hidden_no_up/readme", "x\n");
        let found = discover(d);
        assert_eq!(found.layout, Some(Layout::Diesel));
        // Byte-wise order of the dash-less version: the plain 2014 version sorts before 2017.
        assert_eq!(
            keys(&found),
            ["00000000000000", "20140924113530", "20170923182408", "20200101000000", "20210101000000"]
        );
        let m = &found.migrations[2];
        assert_eq!(m.version, Version::Text("20170923182408".into()));
        assert_eq!(m.name, "create_users");
        assert_eq!(m.path, users);
        assert_eq!(m.down_path.as_deref(), Some(users_down.as_path()));
        assert_eq!(found.migrations[1].down_path, None);
        assert_eq!(found.migrations[3].name, "add things");
        assert_eq!(found.migrations[3].transaction, TransactionMode::NoTransaction);
        assert_eq!(found.migrations[4].transaction, TransactionMode::Transaction);
        assert!(found.findings.is_empty(), "{:?}", found.findings);
    }

    #[test]
    fn diesel_folder_without_up_sql_is_invalid_and_all_problems_are_listed() {
        let tmp = tempfile::tempdir().unwrap();
        let d = tmp.path();
        write(d, "2020-01-01-000000_ok/up.sql", "SELECT 1;\n");
        let no_up = d.join("2020-01-02-000000_no_up");
        write(d, "2020-01-02-000000_no_up/down.sql", "SELECT 1;\n");
        let bad_utf8 = write(d, "2020-01-03-000000_bad/up.sql", b"SELECT '\xff\xfe';\n");
        let ps = problems(d, None);
        assert_eq!(ps.len(), 2, "{ps:#?}");
        assert!(problem_for(&ps, &no_up).contains("up.sql"));
        assert!(problem_for(&ps, &bad_utf8).contains("UTF-8"));
    }

    #[test]
    fn invalid_diesel_metadata_is_a_warning_like_diesel_ignoring_it() {
        let tmp = tempfile::tempdir().unwrap();
        let d = tmp.path();
        write(d, "2020-01-04-000000_meta/metadata.toml", "run_in_transaction = \"no\"\n");
        write(d, "2020-01-04-000000_meta/up.sql", "SELECT 1;\n");
        let found = discover(d);
        assert_eq!(codes(&found), ["migration-metadata-invalid"]);
        assert_eq!(found.findings[0].severity, Severity::Warning);
        // The span covers the offending value `"no"` (bytes 21..25 of the file).
        let meta = d.join("2020-01-04-000000_meta/metadata.toml");
        assert_eq!(found.findings[0].location, Some(Location::span(meta, 21..25)));
        assert_eq!(found.migrations[0].transaction, TransactionMode::Transaction);
    }

    #[test]
    fn sql_files_that_match_no_layout_are_reported() {
        let tmp = tempfile::tempdir().unwrap();
        write(tmp.path(), "schema.sql", "CREATE TABLE a (id int);\n");
        write(tmp.path(), "README.md", "notes\n");
        let found = discover(tmp.path());
        assert_eq!(found.layout, None);
        assert_eq!(codes(&found), ["migration-file-ignored"]);
        assert!(found.findings[0].message.contains("schema.sql"));
    }

    #[test]
    fn diesel_duplicate_versions_with_and_without_dashes_are_invalid() {
        let tmp = tempfile::tempdir().unwrap();
        let d = tmp.path();
        write(d, "2020-01-01-000000_a/up.sql", "SELECT 1;\n");
        write(d, "20200101000000_b/up.sql", "SELECT 2;\n");
        let ps = problems(d, None);
        assert_eq!(ps.len(), 1, "{ps:#?}");
        assert!(ps[0].reason.contains("duplicate version 20200101000000"), "{}", ps[0].reason);
    }

    #[test]
    fn diesel_reports_stray_sql_and_odd_versions_but_keeps_going() {
        let tmp = tempfile::tempdir().unwrap();
        let d = tmp.path();
        write(d, "2020-01-01-000000_a/up.sql", "SELECT 1;\n");
        let odd = d.join("init_schema");
        write(d, "init_schema/up.sql", "SELECT 1;\n");
        let stray = write(d, "seed.sql", "SELECT 1;\n");
        write(d, "README.md", "x\n");
        let found = discover(d);
        assert_eq!(keys(&found), ["20200101000000", "init"]);
        let mut cs = codes(&found);
        cs.sort_unstable();
        assert_eq!(cs, ["migration-file-ignored", "migration-name-malformed"]);
        let at = |code| found.findings.iter().find(|f| f.code == code).and_then(|f| f.location.clone());
        assert_eq!(at("migration-file-ignored"), Some(Location::file(&stray)));
        assert_eq!(at("migration-name-malformed"), Some(Location::file(&odd)));
    }

    #[test]
    fn diesel_up_sql_that_is_a_folder_is_invalid() {
        let tmp = tempfile::tempdir().unwrap();
        let d = tmp.path();
        write(d, "2020-01-01-000000_a/up.sql", "SELECT 1;\n");
        fs::create_dir_all(d.join("2020-01-02-000000_b/up.sql")).unwrap();
        let ps = problems(d, None);
        assert_eq!(ps.len(), 1, "{ps:#?}");
        assert_eq!(ps[0].path, d.join("2020-01-02-000000_b"));
    }

    // ---- Prisma ----

    #[test]
    fn prisma_folders_are_detected_and_keyed_by_folder_name() {
        let tmp = tempfile::tempdir().unwrap();
        let d = tmp.path();
        write(d, "migration_lock.toml", "provider = \"postgresql\"\n");
        write(d, "20240102000000_add_posts/migration.sql", "CREATE TABLE posts (id int);\n");
        let init = write(d, "20240101000000_init/migration.sql", "CREATE TABLE users (id int);\n");
        write(d, "20240101000000_b/migration.sql", "SELECT 1;\n");
        let found = discover(d);
        assert_eq!(found.layout, Some(Layout::Prisma));
        assert_eq!(keys(&found), ["20240101000000_b", "20240101000000_init", "20240102000000_add_posts"]);
        let m = &found.migrations[1];
        assert_eq!(m.version, Version::Text("20240101000000_init".into()));
        assert_eq!(m.name, "init");
        assert_eq!(m.path, init);
        assert_eq!(m.down_path, None);
        assert_eq!(m.transaction, TransactionMode::Transaction);
        assert!(found.findings.is_empty(), "{:?}", found.findings);
    }

    #[test]
    fn prisma_lock_file_alone_means_prisma_with_no_migrations() {
        let tmp = tempfile::tempdir().unwrap();
        write(tmp.path(), "migration_lock.toml", "provider = \"sqlite\"\n");
        let found = discover(tmp.path());
        assert_eq!(found.layout, Some(Layout::Prisma));
        assert!(found.migrations.is_empty());
    }

    #[test]
    fn prisma_folder_without_migration_sql_is_invalid_and_stray_sql_is_reported() {
        let tmp = tempfile::tempdir().unwrap();
        let d = tmp.path();
        write(d, "migration_lock.toml", "provider = \"postgresql\"\n");
        write(d, "20240101000000_init/migration.sql", "SELECT 1;\n");
        write(d, "20240102000000_empty/README.md", "x\n");
        let ps = problems(d, None);
        assert_eq!(ps.len(), 1, "{ps:#?}");
        assert_eq!(ps[0].path, d.join("20240102000000_empty"));
        assert!(ps[0].reason.contains("migration.sql"));

        fs::remove_dir_all(d.join("20240102000000_empty")).unwrap();
        let stray = write(d, "seed.sql", "SELECT 1;\n");
        let found = discover(d);
        assert_eq!(codes(&found), ["migration-file-ignored"]);
        assert_eq!(found.findings[0].location, Some(Location::file(&stray)));
    }

    // ---- refinery / Flyway ----

    #[test]
    fn versioned_files_are_detected_and_ordered_numerically() {
        let tmp = tempfile::tempdir().unwrap();
        let d = tmp.path();
        for name in ["V1__create.sql", "V1.10__j.sql", "V1.2__b.sql", "V2__d.sql", "V1.2.9__c.sql", "V1_3__e.sql"] {
            write(d, name, "SELECT 1;\n");
        }
        let found = discover(d);
        assert_eq!(found.layout, Some(Layout::Versioned));
        assert_eq!(keys(&found), ["1", "1.2", "1.2.9", "1.3", "1.10", "2"]);
        assert_eq!(found.migrations[0].name, "create");
        assert_eq!(found.migrations[0].version, Version::Dotted(vec![1]));
        assert!(found.migrations.iter().all(|m| m.kind == MigrationKind::Versioned));
        assert!(found.findings.is_empty(), "{:?}", found.findings);
    }

    #[test]
    fn repeatables_come_last_and_u_files_are_kept_as_unversioned() {
        let tmp = tempfile::tempdir().unwrap();
        let d = tmp.path();
        write(d, "V1__create_users.sql", "CREATE TABLE users (id int);\n");
        let undo = write(d, "U1__create_users.sql", "DROP TABLE users;\n");
        let views = write(d, "R__user_views.sql", "CREATE OR REPLACE VIEW v AS SELECT 1;\n");
        write(d, "R__a_func.sql", "CREATE OR REPLACE FUNCTION f() RETURNS int AS 'SELECT 1' LANGUAGE sql;\n");
        let found = discover(d);
        assert_eq!(keys(&found), ["1", "1", "a func", "user views"]);
        let kinds: Vec<_> = found.migrations.iter().map(|m| m.kind).collect();
        // `U1` (Flyway's undo of V1, or a refinery unversioned migration) may share V1's version.
        assert!(kinds[..2].contains(&MigrationKind::Unversioned) && kinds[..2].contains(&MigrationKind::Versioned));
        assert_eq!(kinds[2..], [MigrationKind::Repeatable, MigrationKind::Repeatable]);
        assert!(found.migrations.iter().any(|m| m.path == undo && m.kind == MigrationKind::Unversioned));
        assert_eq!(found.migrations[3].name, "user_views");
        assert_eq!(found.migrations[3].path, views);
        let repeatable: Vec<_> = found.findings.iter().filter(|f| f.code == "migration-repeatable").collect();
        assert_eq!(repeatable.len(), 2);
        assert!(repeatable.iter().all(|f| f.severity == Severity::Info));
        assert_eq!(found.findings.len(), 2);
    }

    #[test]
    fn repeatables_are_ordered_by_their_description() {
        let tmp = tempfile::tempdir().unwrap();
        // Raw names order `aA` before `a_b` ('A' < '_'); Flyway compares descriptions: `a b` < `aA`.
        write(tmp.path(), "R__aA.sql", "SELECT 1;\n");
        write(tmp.path(), "R__a_b.sql", "SELECT 1;\n");
        write(tmp.path(), "R__B.sql", "SELECT 1;\n");
        let found = discover(tmp.path());
        assert_eq!(keys(&found), ["B", "a b", "aA"]);
    }

    #[test]
    fn flyway_sidecar_conf_turns_the_transaction_off() {
        let tmp = tempfile::tempdir().unwrap();
        let d = tmp.path();
        write(d, "V1__a.sql", "SELECT 1;\n");
        write(d, "V1__a.sql.conf", "executeInTransaction=false\n");
        write(d, "V2__b.sql", "SELECT 1;\n");
        write(d, "V2__b.sql.conf", "# comment\n executeInTransaction = FALSE \n");
        write(d, "V3__c.sql", "SELECT 1;\n");
        write(d, "V3__c.sql.conf", "executeInTransaction=true\n");
        write(d, "V4__d.sql", "SELECT 1;\n");
        write(d, "V5__e.sql", "SELECT 1;\n");
        write(d, "V5__e.conf", "executeInTransaction=false\n");
        let found = discover(d);
        let modes: Vec<_> = found.migrations.iter().map(|m| m.transaction).collect();
        use TransactionMode::{NoTransaction as No, Transaction as Tx};
        assert_eq!(modes, [No, No, Tx, Tx, Tx]);
        assert!(found.findings.is_empty(), "{:?}", found.findings);
    }

    #[test]
    fn versioned_malformed_names_are_reported() {
        let tmp = tempfile::tempdir().unwrap();
        let d = tmp.path();
        write(d, "V1__ok.sql", "SELECT 1;\n");
        let single = write(d, "V2_single_underscore.sql", "SELECT 1;\n");
        let letters = write(d, "Vx__letters.sql", "SELECT 1;\n");
        let numbered_r = write(d, "R1__numbered_repeatable.sql", "SELECT 1;\n");
        let bad_version = write(d, "V1.a__bad.sql", "SELECT 1;\n");
        let no_name = write(d, "V3__.sql", "SELECT 1;\n");
        let ps = problems(d, None);
        assert_eq!(ps.len(), 2, "{ps:#?}");
        assert!(problem_for(&ps, &bad_version).contains("1.a"));
        assert!(problem_for(&ps, &no_name).contains("name"));

        fs::remove_file(&bad_version).unwrap();
        fs::remove_file(&no_name).unwrap();
        let found = discover(d);
        assert_eq!(keys(&found), ["1"]);
        let mut ignored: Vec<_> = found
            .findings
            .iter()
            .filter(|f| f.code == "migration-file-ignored")
            .filter_map(|f| f.location.clone())
            .collect();
        ignored.sort_by_key(|l| format!("{l:?}"));
        let mut expected = vec![Location::file(&single), Location::file(&letters), Location::file(&numbered_r)];
        expected.sort_by_key(|l| format!("{l:?}"));
        assert_eq!(ignored, expected);
    }

    #[test]
    fn versioned_migrations_are_found_in_subfolders_like_refinery_and_flyway_do() {
        let tmp = tempfile::tempdir().unwrap();
        let d = tmp.path();
        write(d, "V1__create.sql", "SELECT 1;\n");
        write(d, "2024/V3__later.sql", "SELECT 3;\n");
        write(d, "2024/q1/V2__middle.sql", "SELECT 2;\n");
        write(d, ".hidden/V9__skipped.sql", "SELECT 9;\n");
        let found = discover(d);
        assert_eq!(keys(&found), ["1", "2", "3"]);
        assert!(found.migrations[1].path.ends_with("2024/q1/V2__middle.sql"));
    }

    #[test]
    fn versioned_duplicate_versions_are_invalid() {
        let tmp = tempfile::tempdir().unwrap();
        let d = tmp.path();
        write(d, "V1.1__a.sql", "SELECT 1;\n");
        write(d, "V1_1__b.sql", "SELECT 1;\n");
        write(d, "V2__c.sql", "SELECT 1;\n");
        write(d, "V2.0__d.sql", "SELECT 1;\n");
        write(d, "R__same.sql", "SELECT 1;\n");
        let ps = problems(d, None);
        assert_eq!(ps.len(), 2, "{ps:#?}");
        assert!(ps.iter().any(|p| p.reason.contains("duplicate version 1.1")), "{ps:#?}");
        assert!(ps.iter().any(|p| p.reason.contains("duplicate version 2")), "{ps:#?}");
    }

    #[test]
    fn a_repeatable_and_a_version_with_the_same_key_are_not_duplicates() {
        let tmp = tempfile::tempdir().unwrap();
        write(tmp.path(), "V1__a.sql", "SELECT 1;\n");
        write(tmp.path(), "R__1.sql", "SELECT 1;\n");
        let found = discover(tmp.path());
        assert_eq!(keys(&found), ["1", "1"]);
    }

    // ---- every layout ----

    #[test]
    fn empty_folder_has_no_layout_and_no_migrations() {
        let tmp = tempfile::tempdir().unwrap();
        let found = discover(tmp.path());
        assert_eq!(found.layout, None);
        assert!(found.migrations.is_empty());
        assert!(found.findings.is_empty());

        write(tmp.path(), "README.md", "nothing here\n");
        write(tmp.path(), ".gitkeep", "");
        fs::create_dir(tmp.path().join("empty_dir")).unwrap();
        let found = discover(tmp.path());
        assert_eq!(found.layout, None);
        assert!(found.migrations.is_empty());
    }

    #[test]
    fn missing_folder_is_missing_dir() {
        let tmp = tempfile::tempdir().unwrap();
        let missing = tmp.path().join("migrations");
        match discover_migrations(&missing, None) {
            Err(e @ DiscoveryError::MissingDir { .. }) => {
                let DiscoveryError::MissingDir { path } = &e else { unreachable!() };
                assert_eq!(path, &missing);
                assert!(e.to_string().contains("not found"), "{e}");
            }
            other => panic!("expected MissingDir, got {other:?}"),
        }
        // The same when a layout is configured.
        assert!(matches!(discover_migrations(&missing, Some(Layout::Sqlx)), Err(DiscoveryError::MissingDir { .. })));
    }

    #[test]
    fn a_file_instead_of_a_folder_is_a_read_error() {
        let tmp = tempfile::tempdir().unwrap();
        let file = write(tmp.path(), "migrations", "not a folder");
        match discover_migrations(&file, None) {
            Err(DiscoveryError::ReadDir { path, .. }) => assert_eq!(path, file),
            other => panic!("expected ReadDir, got {other:?}"),
        }
    }

    #[test]
    fn mixed_layouts_are_ambiguous() {
        let tmp = tempfile::tempdir().unwrap();
        let d = tmp.path();
        let sqlx = write(d, "1_a.sql", "SELECT 1;\n");
        write(d, "2020-01-01-000000_b/up.sql", "SELECT 1;\n");
        match discover_migrations(d, None) {
            Err(e @ DiscoveryError::AmbiguousLayout { .. }) => {
                let DiscoveryError::AmbiguousLayout { dir, found } = &e else { unreachable!() };
                assert_eq!(dir, d);
                let layouts: Vec<_> = found.iter().map(|(l, _)| *l).collect();
                assert_eq!(layouts.len(), 2);
                assert!(layouts.contains(&Layout::Sqlx) && layouts.contains(&Layout::Diesel), "{layouts:?}");
                assert!(found.contains(&(Layout::Sqlx, sqlx)));
                let msg = e.to_string();
                assert!(msg.contains("sqlx") && msg.contains("diesel"), "{msg}");
            }
            other => panic!("expected AmbiguousLayout, got {other:?}"),
        }
    }

    #[test]
    fn other_layout_mixes_are_ambiguous_too() {
        let cases: [&[(&str, &str)]; 3] = [
            &[("migration_lock.toml", "provider = \"sqlite\"\n"), ("V1__a.sql", "SELECT 1;\n")],
            &[("20240101000000_init/migration.sql", "SELECT 1;\n"), ("2020-01-01-000000_b/up.sql", "SELECT 1;\n")],
            &[("1_a.sql", "SELECT 1;\n"), ("R__views.sql", "SELECT 1;\n")],
        ];
        for files in cases {
            let tmp = tempfile::tempdir().unwrap();
            for (name, text) in files {
                write(tmp.path(), name, text);
            }
            assert!(
                matches!(discover_migrations(tmp.path(), None), Err(DiscoveryError::AmbiguousLayout { .. })),
                "{files:?}"
            );
        }
    }

    #[test]
    fn a_configured_layout_skips_detection() {
        let tmp = tempfile::tempdir().unwrap();
        let d = tmp.path();
        write(d, "1_a.sql", "SELECT 1;\n");
        write(d, "2020-01-01-000000_b/up.sql", "SELECT 1;\n");
        let sqlx = discover_migrations(d, Some(Layout::Sqlx)).unwrap();
        assert_eq!(sqlx.layout, Some(Layout::Sqlx));
        assert_eq!(keys(&sqlx), ["1"]);
        let diesel = discover_migrations(d, Some(Layout::Diesel)).unwrap();
        assert_eq!(diesel.layout, Some(Layout::Diesel));
        assert_eq!(keys(&diesel), ["20200101000000"]);
        assert_eq!(codes(&diesel), ["migration-file-ignored"]);
    }

    #[test]
    fn non_utf8_sql_is_invalid_in_every_layout() {
        let bad: &[u8] = b"\xff\xfeSELECT 1;\n";
        let cases: [(Option<&str>, &str); 4] = [
            (None, "1_a.sql"),
            (None, "2020-01-01-000000_a/up.sql"),
            (Some("migration_lock.toml"), "20240101000000_a/migration.sql"),
            (None, "V1__a.sql"),
        ];
        for (extra, rel) in cases {
            let tmp = tempfile::tempdir().unwrap();
            if let Some(extra) = extra {
                write(tmp.path(), extra, "");
            }
            let path = write(tmp.path(), rel, bad);
            let ps = problems(tmp.path(), None);
            assert_eq!(ps.len(), 1, "{rel}: {ps:#?}");
            assert_eq!(ps[0].path, path);
            assert!(ps[0].reason.contains("UTF-8") && ps[0].reason.contains("offset 0"), "{}", ps[0].reason);
        }
        // A repeatable too.
        let tmp = tempfile::tempdir().unwrap();
        let path = write(tmp.path(), "R__v.sql", b"SELECT '\xc3';");
        write(tmp.path(), "V1__a.sql", "SELECT 1;\n");
        assert_eq!(problems(tmp.path(), None)[0].path, path);
    }

    #[cfg(unix)]
    #[test]
    fn unreadable_files_are_invalid_not_panics() {
        let tmp = tempfile::tempdir().unwrap();
        let d = tmp.path();
        write(d, "1_a.sql", "SELECT 1;\n");
        let path = d.join("2_b.sql");
        unreadable(&path);
        let ps = problems(d, None);
        assert_eq!(ps.len(), 1, "{ps:#?}");
        assert!(problem_for(&ps, &path).contains("cannot read"));

        let tmp = tempfile::tempdir().unwrap();
        write(tmp.path(), "V1__a.sql", "SELECT 1;\n");
        let path = tmp.path().join("V2__b.sql");
        unreadable(&path);
        assert!(problem_for(&problems(tmp.path(), None), &path).contains("cannot read"));

        // diesel ignores a metadata.toml it cannot read (and runs in a transaction): a warning.
        let tmp = tempfile::tempdir().unwrap();
        write(tmp.path(), "2020-01-01-000000_a/up.sql", "SELECT 1;\n");
        fs::create_dir(tmp.path().join("2020-01-01-000000_a/metadata.toml")).unwrap();
        let found = discover(tmp.path());
        assert_eq!(codes(&found), ["migration-metadata-invalid"]);
        assert!(found.findings[0].message.contains("cannot read"), "{}", found.findings[0].message);
        assert_eq!(found.migrations[0].transaction, TransactionMode::Transaction);
    }

    #[cfg(unix)]
    #[test]
    fn every_problem_is_collected_with_its_path() {
        let tmp = tempfile::tempdir().unwrap();
        let d = tmp.path();
        write(d, "1_fine.sql", "SELECT 1;\n");
        let non_utf8 = write(d, "2_bytes.sql", b"\xff\xfe");
        let unread = d.join("3_unreadable.sql");
        unreadable(&unread);
        let prefix = write(d, "four_bad_prefix.sql", "SELECT 1;\n");
        write(d, "5_a.sql", "SELECT 1;\n");
        write(d, "05_b.sql", "SELECT 1;\n");
        let ps = problems(d, None);
        assert_eq!(ps.len(), 4, "{ps:#?}");
        assert!(problem_for(&ps, &non_utf8).contains("UTF-8"));
        assert!(problem_for(&ps, &unread).contains("cannot read"));
        assert!(problem_for(&ps, &prefix).contains("integer"));
        assert_eq!(ps.iter().filter(|p| p.reason.contains("duplicate version 5")).count(), 1);

        let err = discover_migrations(d, None).unwrap_err().to_string();
        assert!(err.starts_with("4 invalid migration(s)"), "{err}");
        for p in &ps {
            assert!(err.contains(&p.path.display().to_string()), "{err}");
        }
    }

    #[cfg(unix)]
    #[test]
    fn non_utf8_file_names_do_not_panic() {
        use std::ffi::OsStr;
        use std::os::unix::ffi::OsStrExt;
        let tmp = tempfile::tempdir().unwrap();
        write(tmp.path(), "1_a.sql", "SELECT 1;\n");
        let odd = tmp.path().join(OsStr::from_bytes(b"2_\xff.sql"));
        // Some filesystems refuse such names; then there is nothing to test.
        if fs::write(&odd, "SELECT 2;\n").is_ok() {
            let found = discover(tmp.path());
            assert_eq!(keys(&found), ["1", "2"]);
            assert_eq!(found.migrations[1].path, odd);
            assert_eq!(found.migrations[1].bytes, b"SELECT 2;\n");
        }
    }
}
