//! Introspection: read a live database's schema into a [`Schema`] with a bounded number of
//! catalog queries for the whole database (never one per table).

mod mysql;
mod postgres;
mod sqlite;

use super::{Db, DbError, Dialect};
use crate::migrations::HistoryTool;
use crate::schema::Schema;

/// The table in which `cargo dbcheck drift --fix --apply` records the scripts it ran.
pub const FIX_LOG_TABLE: &str = "_dbcheck_drift_fixes";

/// What to read.
#[derive(Debug, Clone, Default)]
pub struct IntrospectOptions {
    /// Namespaces to read (PostgreSQL). Empty: `public`. SQLite reads `main`, MySQL the current
    /// database, whatever this says.
    pub schemas: Vec<String>,
    /// Tables to leave out besides every tool's default history table and dbcheck's fix log.
    pub exclude_tables: Vec<String>,
}

impl IntrospectOptions {
    /// Every excluded table name: history tables of every tool, the fix log, and the extras.
    pub fn excluded(&self) -> Vec<String> {
        let mut names: Vec<String> = HistoryTool::ALL.iter().map(|t| t.default_table().to_owned()).collect();
        names.push(FIX_LOG_TABLE.to_owned());
        names.push(super::AUDIT_TABLE.to_owned());
        names.extend(self.exclude_tables.iter().cloned());
        names
    }

    /// The PostgreSQL namespaces to read.
    pub(crate) fn pg_schemas(&self) -> Vec<String> {
        if self.schemas.is_empty() { vec!["public".to_owned()] } else { self.schemas.clone() }
    }
}

impl Db {
    /// Read the schema of the connected database.
    pub async fn introspect(&mut self, options: &IntrospectOptions) -> Result<Schema, DbError> {
        match self.dialect() {
            Dialect::Postgres => postgres::introspect(self, options).await,
            Dialect::Sqlite => sqlite::introspect(self, options).await,
            Dialect::Mysql => mysql::introspect(self, options).await,
        }
    }
}

/// `"a", "b"` as a SQL list of literals (never empty: `''` stands for none).
pub(crate) fn literal_list(dialect: Dialect, names: &[String]) -> String {
    if names.is_empty() {
        return "''".to_owned();
    }
    names.iter().map(|n| dialect.quote_literal(n)).collect::<Vec<_>>().join(", ")
}

/// A JSON array of strings, as returned by `array_to_json(...)::text`; empty on NULL.
pub(crate) fn json_list(text: Option<&str>) -> Vec<String> {
    text.and_then(|t| serde_json::from_str::<Vec<Option<String>>>(t).ok())
        .map(|v| v.into_iter().flatten().collect())
        .unwrap_or_default()
}

/// PostgreSQL / SQLite text booleans.
pub(crate) fn truthy(v: Option<&str>) -> bool {
    matches!(v.map(str::trim), Some("t" | "true" | "1" | "TRUE" | "YES" | "yes"))
}

/// Take column `i` of a text row.
pub(crate) fn take(row: &mut [Option<String>], i: usize) -> Option<String> {
    row.get_mut(i).and_then(Option::take)
}
