//! Declared sources: what the code says the schema is — `#[schema_guard]` structs, diesel
//! `schema.rs` and an optional declarative `schema.sql` — and the places where code uses tables
//! and columns, so migrations can be checked against the code that reads them.

use std::ops::Range;
use std::path::{Path, PathBuf};

use serde::Serialize;

/// One use of a table (and optionally a column) by Rust code: a guarded struct's field, a diesel
/// `table!` column. Lint's code-aware rules and the declared-schema comparison speak this type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CodeRef {
    /// The table, as the migrations name it (`ads`, or `schema.table` outside the default namespace).
    pub table: String,
    /// The column, or `None` when the whole table is used.
    pub column: Option<String>,
    /// The Rust source file.
    pub path: PathBuf,
    /// 1-based line of the item.
    pub line: usize,
    /// Byte range of the item in the file.
    pub span: Range<usize>,
    /// What uses it, for messages: `struct Ad, field slug` or `diesel table ads, column slug`.
    pub item: String,
}

mod compare;
mod config;
pub mod diesel;
pub mod schema_sql;

pub use compare::compare_declared;
pub use config::{DeclaredConfig, DeclaredSettings};

use crate::db::Dialect;
use crate::report::Finding;

/// Which kind of file a declaration comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SourceKind {
    /// A diesel `schema.rs` (`diesel::table!`).
    Diesel,
    /// A declarative `schema.sql`.
    SchemaSql,
}

impl SourceKind {
    /// How messages name the source.
    pub fn noun(self) -> &'static str {
        match self {
            SourceKind::Diesel => "diesel",
            SourceKind::SchemaSql => "schema.sql",
        }
    }
}

/// A file's declaration of the schema: its tables with their columns and primary keys, and which
/// of the migrations' tables it is expected to cover.
#[derive(Debug, Clone)]
pub struct Declared {
    /// The kind of source.
    pub kind: SourceKind,
    /// The file.
    pub path: PathBuf,
    /// Declared tables in file order.
    pub tables: Vec<DeclaredTable>,
    /// Which of the migrations' tables the file should declare (for `declared-extra-table`).
    pub coverage: Coverage,
    /// Problems reading the file (`declared-parse`, `declared-unknown-type`, …).
    pub findings: Vec<Finding>,
}

/// One declared table.
#[derive(Debug, Clone)]
pub struct DeclaredTable {
    /// Its key as the migrations' schema names it (`ads`, or `schema.table` outside the default
    /// namespace).
    pub key: String,
    /// 1-based line of the declaration.
    pub line: usize,
    /// Byte range of the table's name in the file.
    pub span: Range<usize>,
    /// The declared primary key, when the source declares one.
    pub primary_key: Option<DeclaredKey>,
    /// Declared columns in order.
    pub columns: Vec<DeclaredColumn>,
}

/// A declared primary key.
#[derive(Debug, Clone)]
pub struct DeclaredKey {
    /// Key columns in order.
    pub columns: Vec<String>,
    /// Byte range of the key in the file.
    pub span: Range<usize>,
}

/// One declared column.
#[derive(Debug, Clone)]
pub struct DeclaredColumn {
    /// Its SQL name.
    pub name: String,
    /// Its declared type.
    pub ty: DeclaredType,
    /// Whether it is declared nullable.
    pub nullable: bool,
    /// 1-based line.
    pub line: usize,
    /// Byte range of the column's declaration.
    pub span: Range<usize>,
}

/// A declared column type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeclaredType {
    /// A diesel SQL type.
    Diesel(diesel::DieselType),
    /// A SQL type, normalized (see [`crate::schema::normalize_type`]).
    Sql(String),
}

impl std::fmt::Display for DeclaredType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DeclaredType::Diesel(t) => write!(f, "{t}"),
            DeclaredType::Sql(t) => f.write_str(t),
        }
    }
}

/// Which of the migrations' tables a declaration is expected to list: the tables of one
/// namespace, narrowed by diesel's `only_tables`/`except_tables` regexes.
#[derive(Debug, Clone, Default)]
pub struct Coverage {
    /// Namespaces covered (`None` = the dialect's default one).
    pub namespaces: Vec<Option<String>>,
    /// Only tables whose name matches one of these (diesel `filter.only_tables`).
    pub only: Vec<regex::Regex>,
    /// Tables whose name matches one of these are left out (diesel `filter.except_tables`).
    pub except: Vec<regex::Regex>,
    /// Tables without a primary key are left out (diesel's `print-schema` skips them).
    pub needs_primary_key: bool,
}

impl Coverage {
    /// Whether the declaration should list `table`.
    pub fn covers(&self, table: &crate::schema::Table, dialect: Dialect) -> bool {
        if !self.namespaces.iter().any(|n| n.as_deref() == table.schema.as_deref()) {
            return false;
        }
        if self.needs_primary_key && dialect != Dialect::Sqlite && table.primary_key.is_none() {
            return false;
        }
        if !self.only.is_empty() && !self.only.iter().any(|r| r.is_match(&table.name)) {
            return false;
        }
        !self.except.iter().any(|r| r.is_match(&table.name))
    }
}

/// Failures reading declared sources (a file that cannot be read; syntax errors are findings).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DeclaredError {
    /// A declared source or `diesel.toml` could not be read.
    #[error("cannot read {}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// `diesel.toml` is invalid.
    #[error("invalid {}: {message}", path.display())]
    DieselToml {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// Scanning for `#[schema_guard]` structs failed.
    #[error(transparent)]
    Guard(crate::guard::GuardError),
}

/// The namespace key of a declared table: `None` for the dialect's default namespace.
pub(crate) fn table_key(dialect: Dialect, namespace: Option<&str>, name: &str) -> String {
    let default = match dialect {
        Dialect::Postgres => Some("public"),
        Dialect::Sqlite => Some("main"),
        Dialect::Mysql => None,
    };
    match namespace {
        Some(ns) if Some(ns) != default => crate::schema::qualified_name(Some(ns), name),
        _ => name.to_owned(),
    }
}

/// Read every declared source the settings name (diesel `schema.rs` files from `diesel.toml` or
/// `declared.diesel_schema`, `declared.schema_sql`) for the project at `root`.
pub fn load_declared(
    root: &Path,
    settings: &DeclaredSettings,
    dialect: Dialect,
) -> Result<Vec<Declared>, DeclaredError> {
    let mut out = Vec::new();
    for source in settings.diesel_sources(root)? {
        out.push(diesel::read_schema_rs(&source, dialect)?);
    }
    if let Some(file) = &settings.schema_sql {
        out.push(schema_sql::read_schema_sql(file, dialect)?);
    }
    Ok(out)
}

/// The files [`load_declared`] reads (for `cargo:rerun-if-changed`): sources and `diesel.toml`.
pub fn declared_files(root: &Path, settings: &DeclaredSettings) -> Result<Vec<PathBuf>, DeclaredError> {
    let mut out = Vec::new();
    let toml = settings.diesel_toml_path(root);
    if toml.is_file() {
        out.push(toml);
    }
    out.extend(settings.diesel_sources(root)?.into_iter().map(|s| s.file));
    out.extend(settings.schema_sql.iter().cloned());
    Ok(out)
}

/// What [`check_declared`] looked at and found.
#[derive(Debug, Clone, Default)]
pub struct DeclaredCheck {
    /// The declared files compared (diesel `schema.rs`, `schema.sql`).
    pub sources: Vec<PathBuf>,
    /// How many `#[schema_guard]` structs were scanned (when asked to).
    pub guarded_structs: usize,
    /// Every mismatch and every problem reading the sources.
    pub findings: Vec<Finding>,
    /// Where Rust code uses tables and columns (diesel tables, guarded structs).
    pub code_refs: Vec<CodeRef>,
}

/// The offline check of declared sources for the project at `root`: every diesel `schema.rs` and
/// `schema.sql` the settings name compared with `ours` (the migrations' static schema in
/// `dialect`), and with `guards` the `#[schema_guard]` structs under `root` too.
pub fn check_declared(
    root: &Path,
    settings: &DeclaredSettings,
    ours: &crate::sql::StaticSchema,
    dialect: Dialect,
    guards: bool,
) -> Result<DeclaredCheck, DeclaredError> {
    let mut out = DeclaredCheck::default();
    for d in load_declared(root, settings, dialect)? {
        out.findings.extend(compare_declared(&d, ours, dialect, root));
        if d.kind == SourceKind::Diesel {
            out.code_refs.extend(diesel::code_refs(&d));
        }
        out.sources.push(d.path);
    }
    if guards {
        let structs = crate::guard::scan_sources(root).map_err(DeclaredError::Guard)?;
        out.guarded_structs = structs.len();
        out.findings.extend(crate::guard::findings(root, &structs));
        out.code_refs.extend(crate::guard::code_refs(&structs));
    }
    Ok(out)
}
