//! `--write-migration DIR`: the constraint SQL of every rule that found violations, as a new
//! migration in the project's layout. Statements that cannot run in a transaction (PostgreSQL
//! `CREATE UNIQUE INDEX CONCURRENTLY`) go into a second migration marked to run without one
//! where the tool supports that (sqlx `-- no-transaction`, diesel `run_in_transaction = false`);
//! for Prisma and refinery/Flyway they are written without `CONCURRENTLY`.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use super::IntegrityReport;
use crate::migrations::Layout;

/// Failures writing the migration.
#[derive(Debug, thiserror::Error)]
#[error("cannot write the integrity migration {}", path.display())]
pub struct MigrationWriteError {
    /// The file or folder.
    pub path: PathBuf,
    /// The I/O error.
    #[source]
    pub source: io::Error,
}

fn write(path: &Path, text: &str) -> Result<(), MigrationWriteError> {
    let err = |source| MigrationWriteError { path: path.to_path_buf(), source };
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent).map_err(err)?;
    }
    // Written beside the target and renamed, so a crash never leaves half a migration.
    let tmp = path.with_extension("sql.tmp");
    fs::write(&tmp, text).map_err(err)?;
    fs::rename(&tmp, path).map_err(err)
}

/// Write the migration(s) into `dir` with version `timestamp` (`YYYYMMDDHHMMSS`); returns the
/// files written, none when no rule has constraint SQL.
pub fn write_migration(
    report: &IntegrityReport,
    dir: &Path,
    layout: Layout,
    timestamp: &str,
) -> Result<Vec<PathBuf>, MigrationWriteError> {
    let mut tx = String::new();
    let mut no_tx = String::new();
    let mut down = String::new();
    for r in &report.rules {
        let Some(sql) = &r.constraint_sql else { continue };
        let sql = if r.no_transaction && matches!(layout, Layout::Prisma | Layout::Versioned) {
            sql.replace(" CONCURRENTLY", "")
        } else {
            sql.clone()
        };
        let target =
            if r.no_transaction && matches!(layout, Layout::Sqlx | Layout::Diesel) { &mut no_tx } else { &mut tx };
        target.push_str(&format!(
            "-- {}: {} violation(s) when generated; repair them first\n{sql}\n",
            r.id, r.violations
        ));
        if let Some(d) = &r.drop_sql {
            down.push_str(d);
        }
    }
    let mut written = Vec::new();
    let header =
        "-- Written by `cargo dbcheck integrity --write-migration`: constraints that keep the checked rules true.\n\n";
    let parts = [("integrity_constraints", tx, false), ("integrity_unique_indexes", no_tx, true)];
    for (n, (name, body, concurrent)) in parts.into_iter().enumerate() {
        if body.is_empty() {
            continue;
        }
        // The second migration sorts after the first.
        let version = if n == 0 {
            timestamp.to_owned()
        } else {
            format!("{}{n}", &timestamp[..timestamp.len().saturating_sub(1)])
        };
        let text = format!("{header}{body}");
        match layout {
            Layout::Sqlx => {
                let path = dir.join(format!("{version}_{name}.sql"));
                let text = if concurrent { format!("-- no-transaction\n{text}") } else { text };
                write(&path, &text)?;
                written.push(path);
            }
            Layout::Diesel => {
                let v = diesel_version(&version);
                let folder = dir.join(format!("{v}_{name}"));
                let up = folder.join("up.sql");
                write(&up, &text)?;
                let down_path = folder.join("down.sql");
                write(&down_path, if n == 0 { &down } else { "" })?;
                written.extend([up, down_path]);
                if concurrent {
                    let meta = folder.join("metadata.toml");
                    write(&meta, "run_in_transaction = false\n")?;
                    written.push(meta);
                }
            }
            Layout::Prisma => {
                let path = dir.join(format!("{version}_{name}")).join("migration.sql");
                write(&path, &text)?;
                written.push(path);
            }
            Layout::Versioned => {
                let path = dir.join(format!("V{version}__{name}.sql"));
                write(&path, &text)?;
                written.push(path);
            }
        }
    }
    Ok(written)
}

/// The current UTC time as a migration version, `YYYYMMDDHHMMSS`.
pub fn timestamp_now() -> String {
    chrono::Utc::now().format("%Y%m%d%H%M%S").to_string()
}

/// `20240102030405` → `2024-01-02-030405`.
fn diesel_version(v: &str) -> String {
    if v.len() == 14 && v.bytes().all(|b| b.is_ascii_digit()) {
        format!("{}-{}-{}-{}", &v[..4], &v[4..6], &v[6..8], &v[8..])
    } else {
        v.to_owned()
    }
}
