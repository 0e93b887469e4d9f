//! Git-base checks (`migrate check --base REF`): compare the migrations on disk with those at a
//! base revision, offline, with the `git` CLI. A migration that exists at the base and was edited
//! or deleted is an error ("don't edit applied migrations; create a new one"); a new migration
//! that sorts before the newest one at the base is an error (two branches merged); a renamed file
//! (same bytes, new name) is reported as a rename.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde::Serialize;

use crate::migrations::{ChecksumMatch, Discovery, HistoryTool, discover_migrations};
use crate::report::{Finding, Location, Severity};

/// What was compared.
#[derive(Debug, Clone, Serialize)]
pub struct GitBaseReport {
    /// The base as given or chosen (`@{upstream}`, `main`, …).
    pub base: String,
    /// Its commit.
    pub commit: String,
    /// Migrations at the base.
    pub at_base: usize,
    /// Migrations on disk.
    pub on_disk: usize,
}

/// Failures running git.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum GitBaseError {
    /// git failed (not installed, not a repository, unknown revision).
    #[error("git {args} failed in {}: {message}", dir.display())]
    Git {
        /// The arguments.
        args: String,
        /// Where it ran.
        dir: PathBuf,
        /// git's message.
        message: String,
    },
    /// No base given and none of `@{upstream}`, `main`, `origin/main`, `master` exists.
    #[error("no base revision: pass --base REF (no upstream, `main`, `origin/main` or `master` found)")]
    NoBase,
    /// The base's migrations could not be materialized or read.
    #[error("cannot read the migrations at {base}: {message}")]
    Base {
        /// The base.
        base: String,
        /// What failed.
        message: String,
    },
}

/// A scratch folder removed when dropped.
struct Stage(PathBuf);

impl Drop for Stage {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn git(dir: &Path, args: &[&str]) -> Result<Vec<u8>, GitBaseError> {
    let out = Command::new("git").args(args).current_dir(dir).output().map_err(|e| GitBaseError::Git {
        args: args.join(" "),
        dir: dir.to_path_buf(),
        message: e.to_string(),
    })?;
    if !out.status.success() {
        return Err(GitBaseError::Git {
            args: args.join(" "),
            dir: dir.to_path_buf(),
            message: String::from_utf8_lossy(&out.stderr).trim().to_owned(),
        });
    }
    Ok(out.stdout)
}

fn resolve_base(dir: &Path, base: Option<&str>) -> Result<(String, String), GitBaseError> {
    let candidates: Vec<&str> = match base {
        Some(b) => vec![b],
        None => vec!["@{upstream}", "main", "origin/main", "master"],
    };
    for c in &candidates {
        let spec = format!("{c}^{{commit}}");
        match git(dir, &["rev-parse", "--verify", "--quiet", &spec]) {
            Ok(out) => return Ok(((*c).to_owned(), String::from_utf8_lossy(&out).trim().to_owned())),
            Err(e) if base.is_some() => return Err(e),
            Err(_) => {}
        }
    }
    Err(GitBaseError::NoBase)
}

/// Compare `discovery` (the working tree) with the same folder at `base` (or the default base).
pub fn check_against_base(
    discovery: &Discovery,
    base: Option<&str>,
) -> Result<(GitBaseReport, Vec<Finding>), GitBaseError> {
    let (report, at_base) = migrations_at_base(discovery, base)?;
    let findings = compare(&at_base, discovery, &report.base);
    Ok((report, findings))
}

/// The migrations of `discovery`'s folder as they were at `base` (or the default base), read from
/// git into a scratch folder that is removed again (the returned discovery holds their bytes).
pub fn migrations_at_base(
    discovery: &Discovery,
    base: Option<&str>,
) -> Result<(GitBaseReport, Discovery), GitBaseError> {
    let dir = &discovery.dir;
    let (base, commit) = resolve_base(dir, base)?;
    let top = PathBuf::from(String::from_utf8_lossy(&git(dir, &["rev-parse", "--show-toplevel"])?).trim());
    let canonical = dir.canonicalize().unwrap_or_else(|_| dir.clone());
    let top = top.canonicalize().unwrap_or(top);
    let rel = canonical.strip_prefix(&top).map_err(|_| GitBaseError::Base {
        base: base.clone(),
        message: format!("{} is outside the repository {}", dir.display(), top.display()),
    })?;
    let rel_text = rel.to_string_lossy().replace('\\', "/");
    let listing = git(&top, &["ls-tree", "-r", "-z", "--name-only", &commit, "--", &rel_text])?;
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    let stage = Stage(std::env::temp_dir().join(format!("dbcheck-base-{}-{nanos}", std::process::id())));
    let base_dir = stage.0.join("migrations");
    std::fs::create_dir_all(&base_dir)
        .map_err(|e| GitBaseError::Base { base: base.clone(), message: e.to_string() })?;
    for path in listing.split(|b| *b == 0).filter(|p| !p.is_empty()) {
        let path = String::from_utf8_lossy(path).into_owned();
        let inner = path.strip_prefix(&rel_text).unwrap_or(&path).trim_start_matches('/');
        let bytes = git(&top, &["show", &format!("{commit}:{path}")])?;
        let target = base_dir.join(inner);
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent)
                .map_err(|e| GitBaseError::Base { base: base.clone(), message: e.to_string() })?;
        }
        std::fs::write(&target, bytes)
            .map_err(|e| GitBaseError::Base { base: base.clone(), message: e.to_string() })?;
    }
    let at_base = if listing.is_empty() {
        Discovery { dir: base_dir.clone(), layout: discovery.layout, migrations: Vec::new(), findings: Vec::new() }
    } else {
        discover_migrations(&base_dir, discovery.layout)
            .map_err(|e| GitBaseError::Base { base: base.clone(), message: e.to_string() })?
    };
    let report = GitBaseReport {
        base: base.clone(),
        commit,
        at_base: at_base.migrations.len(),
        on_disk: discovery.migrations.len(),
    };
    Ok((report, at_base))
}

/// The pure comparison of the migrations at the base with those on disk.
pub fn compare(at_base: &Discovery, now: &Discovery, base: &str) -> Vec<Finding> {
    let mut findings = Vec::new();
    let mut renamed_to = std::collections::BTreeSet::new();
    for old in &at_base.migrations {
        let shown = old.path.strip_prefix(&at_base.dir).unwrap_or(&old.path).display().to_string();
        match now.migrations.iter().find(|m| m.history_key == old.history_key && m.kind == old.kind) {
            Some(cur) if cur.bytes == old.bytes => {}
            Some(cur) => {
                let recorded = crate::migrations::checksum(HistoryTool::Sqlx, old);
                let only_endings = crate::migrations::compare_checksum(HistoryTool::Sqlx, cur, recorded.as_deref())
                    == ChecksumMatch::LineEndingsOnly;
                let (severity, what) = if only_endings {
                    (Severity::Warning, "changed line endings (or a byte-order mark) since")
                } else {
                    (Severity::Error, "was edited since")
                };
                findings.push(
                    Finding::new("migration-edited-since-base", severity, format!("migration {} {what} {base}", old.history_key))
                        .at(Location::file(&cur.path))
                        .help("don't edit migrations that may be applied somewhere; restore it and put the change in a new migration"),
                );
            }
            None => {
                if let Some(cur) = now.migrations.iter().find(|m| m.bytes == old.bytes) {
                    renamed_to.insert(cur.path.clone());
                    findings.push(
                        Finding::new(
                            "migration-renamed-since-base",
                            Severity::Error,
                            format!("migration {shown} was renamed to {} since {base}", cur.path.display()),
                        )
                        .at(Location::file(&cur.path))
                        .help("a rename changes the version its tool records: databases that applied the old name will apply it again; restore the old name"),
                    );
                } else {
                    findings.push(
                        Finding::new(
                            "migration-deleted-since-base",
                            Severity::Error,
                            format!("migration {shown} exists at {base} but was deleted"),
                        )
                        .at(Location::file(now.dir.join(&shown)))
                        .help("restore it from version control: databases that applied it lose track of their history"),
                    );
                }
            }
        }
    }
    let newest = at_base
        .migrations
        .iter()
        .filter(|m| m.kind == crate::migrations::MigrationKind::Versioned)
        .map(|m| &m.version)
        .max();
    if let Some(newest) = newest {
        for cur in &now.migrations {
            let is_new = !at_base.migrations.iter().any(|m| m.history_key == cur.history_key && m.kind == cur.kind);
            if is_new
                && !renamed_to.contains(&cur.path)
                && cur.kind == crate::migrations::MigrationKind::Versioned
                && cur.version < *newest
            {
                findings.push(
                    Finding::new(
                        "migration-sorts-before-base",
                        Severity::Error,
                        format!("new migration {} sorts before {newest}, the newest at {base}", cur.history_key),
                    )
                    .at(Location::file(&cur.path))
                    .help("two branches added migrations: give this one a version after the newest at the base"),
                );
            }
        }
    }
    findings
}
