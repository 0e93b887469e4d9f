//! `migrate new NAME`: a new migration, in the project's layout, holding the SQL that turns the
//! migrations' schema into the declared one; destructive steps are written commented out, with
//! the reason, for a human to review.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::diff::Script;
use crate::migrations::{Discovery, Layout, Version};

/// What `migrate new` wrote.
#[derive(Debug, Clone, Serialize)]
pub struct NewMigration {
    /// The version given to it.
    pub version: String,
    /// The files written (none when there was nothing to change).
    pub files: Vec<PathBuf>,
    /// Statements written.
    pub steps: usize,
    /// Of which destructive (commented out).
    pub destructive: usize,
}

/// Failure writing the migration.
#[derive(Debug, thiserror::Error)]
#[error("cannot write the new migration {}", path.display())]
pub struct NewMigrationError {
    /// The file or folder.
    pub path: PathBuf,
    /// The I/O error.
    #[source]
    pub source: io::Error,
}

/// The migration's text: every step, destructive ones commented out with why.
pub fn migration_text(script: &Script, declared: &Path) -> String {
    let mut out = format!(
        "-- Written by `cargo dbcheck migrate new` from the difference between the migrations and {}.\n\
         -- Review it before applying.\n\n",
        declared.display()
    );
    for step in &script.steps {
        let sql = step.sql.trim_end().trim_end_matches(';');
        if step.destructive {
            out.push_str(
                "-- DESTRUCTIVE: this drops or rewrites data that cannot be recovered. It is commented out:\n\
                 -- back the data up or migrate it first (expand/contract), then uncomment.\n",
            );
            for line in sql.lines() {
                out.push_str("-- ");
                out.push_str(line);
                out.push('\n');
            }
            out.push_str("-- ;\n\n");
        } else {
            out.push_str(sql);
            out.push_str(";\n\n");
        }
    }
    out
}

/// The next version in the project's style: sqlx/`V__` folders numbered 1, 2, 3 continue the
/// sequence; otherwise (and for diesel and Prisma) the UTC timestamp `now` (`YYYYMMDDHHMMSS`).
pub fn next_version(discovery: &Discovery, layout: Layout, now: &str) -> String {
    let newest = discovery.migrations.iter().map(|m| &m.version).max();
    match (layout, newest) {
        (Layout::Sqlx | Layout::Versioned, Some(Version::Int(v))) if *v < 1_000_000 => (v + 1).to_string(),
        (Layout::Sqlx | Layout::Versioned, Some(Version::Dotted(parts)))
            if parts.len() == 1 && parts[0] < 1_000_000 =>
        {
            (parts[0] + 1).to_string()
        }
        _ => now.to_owned(),
    }
}

/// The current UTC time as a migration version, `YYYYMMDDHHMMSS`.
pub fn utc_version_now() -> String {
    chrono::Utc::now().format("%Y%m%d%H%M%S").to_string()
}

/// Write `text` as migration `name` with `version` into `dir`, in `layout`.
pub fn write_new_migration(
    dir: &Path,
    layout: Layout,
    version: &str,
    name: &str,
    text: &str,
) -> Result<Vec<PathBuf>, NewMigrationError> {
    let write = |path: &Path, text: &str| {
        let err = |source| NewMigrationError { path: path.to_path_buf(), source };
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent).map_err(err)?;
        }
        if path.exists() {
            return Err(err(io::Error::new(io::ErrorKind::AlreadyExists, "a migration with this name exists")));
        }
        let tmp = path.with_extension("sql.tmp");
        fs::write(&tmp, text).map_err(err)?;
        fs::rename(&tmp, path).map_err(err)
    };
    let mut files = Vec::new();
    match layout {
        Layout::Sqlx => {
            let path = dir.join(format!("{version}_{name}.sql"));
            write(&path, text)?;
            files.push(path);
        }
        Layout::Diesel => {
            let v = if version.len() == 14 && version.bytes().all(|b| b.is_ascii_digit()) {
                format!("{}-{}-{}-{}", &version[..4], &version[4..6], &version[6..8], &version[8..])
            } else {
                version.to_owned()
            };
            let folder = dir.join(format!("{v}_{name}"));
            let up = folder.join("up.sql");
            write(&up, text)?;
            let down = folder.join("down.sql");
            write(&down, "-- Written by `cargo dbcheck migrate new`: write the reverse of up.sql here.\n")?;
            files.extend([up, down]);
        }
        Layout::Prisma => {
            let path = dir.join(format!("{version}_{name}")).join("migration.sql");
            write(&path, text)?;
            files.push(path);
        }
        Layout::Versioned => {
            let path = dir.join(format!("V{version}__{name}.sql"));
            write(&path, text)?;
            files.push(path);
        }
    }
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diff::Step;

    #[test]
    fn destructive_steps_are_commented_out_with_the_reason() {
        let script = Script {
            dialect: None,
            steps: vec![
                Step { sql: "ALTER TABLE ads ADD COLUMN slug text".into(), destructive: false },
                Step { sql: "ALTER TABLE ads DROP COLUMN legacy;".into(), destructive: true },
            ],
        };
        let text = migration_text(&script, Path::new("schema.sql"));
        assert!(text.contains("\nALTER TABLE ads ADD COLUMN slug text;\n"), "{text}");
        assert!(text.contains("-- DESTRUCTIVE"), "{text}");
        assert!(text.contains("-- ALTER TABLE ads DROP COLUMN legacy\n"), "{text}");
        assert!(!text.lines().any(|l| l.starts_with("ALTER TABLE ads DROP")), "{text}");
    }

    #[test]
    fn versions_continue_the_projects_style() {
        let mut d =
            Discovery { dir: PathBuf::new(), layout: Some(Layout::Sqlx), migrations: Vec::new(), findings: Vec::new() };
        assert_eq!(next_version(&d, Layout::Sqlx, "20260101000000"), "20260101000000");
        d.migrations.push(crate::migrations::Migration {
            version: Version::Int(7),
            history_key: "7".into(),
            name: "x".into(),
            path: "7_x.sql".into(),
            bytes: Vec::new(),
            down_path: None,
            transaction: crate::migrations::TransactionMode::Transaction,
            kind: crate::migrations::MigrationKind::Versioned,
        });
        assert_eq!(next_version(&d, Layout::Sqlx, "20260101000000"), "8");
        assert_eq!(next_version(&d, Layout::Diesel, "20260101000000"), "20260101000000");
    }
}
