//! The schema a crate's migrations produce, found the way the CLI finds it (the package's dbcheck
//! configuration, read from files with [`load_project_at`]), plus the files it came from so the
//! macro can make the compiler track them and a cache can tell when they change.

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use super::GuardError;
use crate::config::load_project_at;
use crate::db::Dialect;
use crate::migrations::discover_migrations;
use crate::sql::{StaticSchema, TokenKind, interpret_migrations, tokenize};

/// Environment variable that, when set, replaces `CARGO_MANIFEST_DIR` as the crate root the macro
/// reads configuration and migrations from. For harnesses such as trybuild, which compile test
/// files inside a generated crate under `target/`.
pub const MANIFEST_DIR_ENV: &str = "DBCHECK_MANIFEST_DIR";

/// Where a guard's schema comes from: the crate root and the attribute's overrides.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SchemaSource {
    /// The crate root (directory of its `Cargo.toml`).
    pub root: PathBuf,
    /// `migrations = "..."`, relative to `root`.
    pub migrations: Option<PathBuf>,
    /// `dialect = "..."`.
    pub dialect: Option<Dialect>,
}

/// A loaded schema with what it depends on.
#[derive(Debug, Clone)]
pub struct GuardSchema {
    /// The dialect the migrations were interpreted in.
    pub dialect: Dialect,
    /// The migrations folder.
    pub migrations_dir: PathBuf,
    /// The interpreted schema; origins' paths are relative to the crate root where possible.
    pub schema: StaticSchema,
    /// Every file the result depends on: configuration files and migration files (absolute).
    pub files: Vec<PathBuf>,
    /// [`fingerprint`] of the inputs when loaded.
    pub fingerprint: Vec<(PathBuf, Option<SystemTime>, u64)>,
}

/// Configuration files, migrations folder and dialect for `source`.
fn resolve(
    source: &SchemaSource,
) -> Result<(Vec<PathBuf>, PathBuf, Option<crate::migrations::Layout>, Dialect), GuardError> {
    let project = load_project_at(&source.root)?;
    let dir = match &source.migrations {
        Some(m) => source.root.join(m),
        None => project.settings.migrations_dir.clone(),
    };
    let dialect = source.dialect.or(project.settings.dialect).unwrap_or(Dialect::Postgres);
    Ok((project.config_files, dir, project.settings.layout, dialect))
}

fn stamp(path: &Path) -> (PathBuf, Option<SystemTime>, u64) {
    let meta = std::fs::metadata(path).ok();
    (path.to_path_buf(), meta.as_ref().and_then(|m| m.modified().ok()), meta.map_or(0, |m| m.len()))
}

/// Modification times and sizes of the configuration files, the migrations folder and every
/// file under it: equal fingerprints mean the loaded schema is still current.
pub fn fingerprint(source: &SchemaSource) -> Result<Vec<(PathBuf, Option<SystemTime>, u64)>, GuardError> {
    let (config_files, dir, _, _) = resolve(source)?;
    let mut out: Vec<_> = config_files.iter().map(|f| stamp(f)).collect();
    out.push(stamp(&source.root.join("Cargo.toml")));
    let mut stack = vec![dir];
    while let Some(d) = stack.pop() {
        out.push(stamp(&d));
        let Ok(entries) = std::fs::read_dir(&d) else { continue };
        let mut paths: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
        paths.sort();
        for p in paths {
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(stamp(&p));
            }
        }
    }
    Ok(out)
}

/// Load the configuration, discover the migrations and interpret them.
pub fn load_schema(source: &SchemaSource) -> Result<GuardSchema, GuardError> {
    let fingerprint = fingerprint(source)?;
    let (config_files, dir, layout, dialect) = resolve(source)?;
    let discovery = discover_migrations(&dir, layout)?;
    let mut schema = interpret_migrations(&discovery, dialect);
    column_lines(&mut schema, &discovery);
    let relative = |p: &mut PathBuf| {
        if let Ok(r) = p.strip_prefix(&source.root) {
            *p = r.to_path_buf();
        }
    };
    for origin in schema.origins.values_mut() {
        relative(&mut origin.path);
    }
    for u in &mut schema.unmodelled {
        relative(&mut u.path);
    }
    let mut files = config_files;
    for m in &discovery.migrations {
        files.push(m.path.clone());
        files.extend(m.down_path.clone());
    }
    files.sort();
    files.dedup();
    Ok(GuardSchema { dialect, migrations_dir: dir, schema, files, fingerprint })
}

/// Narrow each column's origin line from its statement's first line to the line of the column's
/// own definition (`slug text` inside a `CREATE TABLE`, `ADD COLUMN slug`, `ALTER COLUMN slug`).
fn column_lines(schema: &mut StaticSchema, discovery: &crate::migrations::Discovery) {
    let texts: std::collections::HashMap<&Path, std::borrow::Cow<'_, str>> =
        discovery.migrations.iter().map(|m| (m.path.as_path(), m.sql())).collect();
    for (key, origin) in schema.origins.iter_mut() {
        let Some(column) = key.strip_prefix("column:").and_then(|k| k.rsplit_once('.')).map(|(_, c)| c) else {
            continue;
        };
        let Some(text) = texts.get(origin.path.as_path()) else { continue };
        let Some(statement) = text.get(origin.span.clone()) else { continue };
        let tokens = tokenize(statement);
        let found = tokens.windows(2).find(|w| {
            let name = match w[1].kind {
                TokenKind::Word => w[1].text.eq_ignore_ascii_case(column),
                TokenKind::Quoted => w[1].text == column,
                _ => false,
            };
            name && (w[0].is_punct("(") || w[0].is_punct(",") || w[0].is("column") || w[0].is("add"))
        });
        if let Some(w) = found {
            let at = origin.span.start + w[1].start;
            origin.line = 1 + text.as_bytes()[..at.min(text.len())].iter().filter(|&&b| b == b'\n').count();
        }
    }
}
