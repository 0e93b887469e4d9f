//! `Schema` and its parts. Objects are keyed by their qualified name: the bare name in the
//! default namespace (`public` on PostgreSQL, `main` on SQLite, the current database on MySQL),
//! `schema.name` elsewhere, so that a shadow database and a live one compare equal.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::db::Dialect;

/// The key of an object in `namespace` (`None` = the default namespace).
pub fn qualified_name(namespace: Option<&str>, name: &str) -> String {
    match namespace {
        Some(ns) => format!("{ns}.{name}"),
        None => name.to_owned(),
    }
}

/// The first 16 hex digits of the SHA-256 of a definition, after collapsing whitespace.
pub fn definition_hash(definition: &str) -> String {
    let collapsed = definition.split_whitespace().collect::<Vec<_>>().join(" ");
    let digest = Sha256::digest(collapsed.as_bytes());
    hex::encode(&digest[..8])
}

/// A whole database schema, as far as dbcheck compares it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Schema {
    /// The dialect it was read from (types and expressions are in its syntax).
    pub dialect: Dialect,
    /// Tables by qualified name.
    #[serde(default)]
    pub tables: BTreeMap<String, Table>,
    /// Enum types (PostgreSQL) by qualified name.
    #[serde(default)]
    pub enums: BTreeMap<String, EnumType>,
    /// Sequences not owned by a serial or identity column, by qualified name.
    #[serde(default)]
    pub sequences: BTreeMap<String, Sequence>,
    /// Views and materialized views by qualified name.
    #[serde(default)]
    pub views: BTreeMap<String, View>,
    /// Functions and procedures by `qualified_name(args)`.
    #[serde(default)]
    pub functions: BTreeMap<String, Function>,
    /// Triggers by `table.trigger`.
    #[serde(default)]
    pub triggers: BTreeMap<String, Trigger>,
}

impl Schema {
    /// An empty schema of `dialect`.
    pub fn empty(dialect: Dialect) -> Self {
        Schema {
            dialect,
            tables: BTreeMap::new(),
            enums: BTreeMap::new(),
            sequences: BTreeMap::new(),
            views: BTreeMap::new(),
            functions: BTreeMap::new(),
            triggers: BTreeMap::new(),
        }
    }

    /// Whether it holds no object at all.
    pub fn is_empty(&self) -> bool {
        self.tables.is_empty()
            && self.enums.is_empty()
            && self.sequences.is_empty()
            && self.views.is_empty()
            && self.functions.is_empty()
            && self.triggers.is_empty()
    }

    /// Number of objects of every kind (tables, columns, constraints, indexes, types, …).
    pub fn object_count(&self) -> usize {
        let per_table: usize = self
            .tables
            .values()
            .map(|t| {
                1 + t.columns.len()
                    + usize::from(t.primary_key.is_some())
                    + t.uniques.len()
                    + t.checks.len()
                    + t.foreign_keys.len()
                    + t.indexes.len()
            })
            .sum();
        per_table
            + self.enums.len()
            + self.sequences.len()
            + self.views.len()
            + self.functions.len()
            + self.triggers.len()
    }
}

/// A table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Table {
    /// Its namespace, `None` for the default one.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub schema: Option<String>,
    /// Its name.
    pub name: String,
    /// Columns in table order.
    pub columns: Vec<Column>,
    /// The primary key.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub primary_key: Option<PrimaryKey>,
    /// Unique constraints by name.
    #[serde(default)]
    pub uniques: BTreeMap<String, UniqueConstraint>,
    /// Check constraints by name (SQLite: unnamed checks are keyed `check(<expression>)`).
    #[serde(default)]
    pub checks: BTreeMap<String, CheckConstraint>,
    /// Foreign keys by name (SQLite: unnamed ones are keyed `fk(<columns>)`).
    #[serde(default)]
    pub foreign_keys: BTreeMap<String, ForeignKey>,
    /// Indexes that back no constraint, by name.
    #[serde(default)]
    pub indexes: BTreeMap<String, Index>,
}

impl Table {
    /// An empty table.
    pub fn new(schema: Option<String>, name: impl Into<String>) -> Self {
        Table {
            schema,
            name: name.into(),
            columns: Vec::new(),
            primary_key: None,
            uniques: BTreeMap::new(),
            checks: BTreeMap::new(),
            foreign_keys: BTreeMap::new(),
            indexes: BTreeMap::new(),
        }
    }

    /// The qualified name (the key in [`Schema::tables`]).
    pub fn key(&self) -> String {
        qualified_name(self.schema.as_deref(), &self.name)
    }

    /// The column named `name`.
    pub fn column(&self, name: &str) -> Option<&Column> {
        self.columns.iter().find(|c| c.name == name)
    }
}

/// A column.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Column {
    /// Its name.
    pub name: String,
    /// Normalized type: `integer`, `bigint`, `text`, `varchar(200)`, `numeric(10,2)`, `timestamptz`,
    /// `integer[]`, an enum's name, … (see [`super::normalize_type`]).
    #[serde(rename = "type")]
    pub data_type: String,
    /// Whether NULL is allowed.
    pub nullable: bool,
    /// Default expression, as the server prints it (none for serial/auto-increment columns).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub default: Option<String>,
    /// Filled from an owned sequence (`serial`), `AUTO_INCREMENT` or SQLite `AUTOINCREMENT`.
    #[serde(skip_serializing_if = "std::ops::Not::not", default)]
    pub auto_increment: bool,
    /// `GENERATED … AS IDENTITY` (PostgreSQL).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub identity: Option<Identity>,
    /// A generated (computed) column.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub generated: Option<Generated>,
}

impl Column {
    /// A nullable column of `data_type` with nothing else.
    pub fn new(name: impl Into<String>, data_type: impl Into<String>) -> Self {
        Column {
            name: name.into(),
            data_type: data_type.into(),
            nullable: true,
            default: None,
            auto_increment: false,
            identity: None,
            generated: None,
        }
    }
}

/// Identity kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Identity {
    /// `GENERATED ALWAYS AS IDENTITY`.
    Always,
    /// `GENERATED BY DEFAULT AS IDENTITY`.
    ByDefault,
}

/// A generated column's expression.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Generated {
    /// The expression, as the server prints it.
    pub expression: String,
    /// Stored (true) or virtual (false).
    pub stored: bool,
}

/// A primary key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PrimaryKey {
    /// Constraint name, where the dialect records one (not SQLite, always `PRIMARY` on MySQL).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub name: Option<String>,
    /// Key columns in order.
    pub columns: Vec<String>,
}

/// A unique constraint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UniqueConstraint {
    /// Key columns in order.
    pub columns: Vec<String>,
    /// `DEFERRABLE`.
    #[serde(skip_serializing_if = "std::ops::Not::not", default)]
    pub deferrable: bool,
    /// `INITIALLY DEFERRED`.
    #[serde(skip_serializing_if = "std::ops::Not::not", default)]
    pub initially_deferred: bool,
}

/// A check constraint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckConstraint {
    /// The boolean expression, as the server prints it, without `CHECK` and `NOT VALID`.
    pub expression: String,
    /// False while the constraint is `NOT VALID` (existing rows not checked yet).
    pub valid: bool,
}

/// Referential actions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FkAction {
    /// `NO ACTION` (the default).
    NoAction,
    /// `RESTRICT`.
    Restrict,
    /// `CASCADE`.
    Cascade,
    /// `SET NULL`.
    SetNull,
    /// `SET DEFAULT`.
    SetDefault,
}

impl FkAction {
    /// The SQL words.
    pub fn sql(self) -> &'static str {
        match self {
            FkAction::NoAction => "NO ACTION",
            FkAction::Restrict => "RESTRICT",
            FkAction::Cascade => "CASCADE",
            FkAction::SetNull => "SET NULL",
            FkAction::SetDefault => "SET DEFAULT",
        }
    }

    /// Parse the SQL words (any case, `_` or space).
    pub fn parse(text: &str) -> FkAction {
        match text.trim().to_ascii_uppercase().replace('_', " ").as_str() {
            "RESTRICT" => FkAction::Restrict,
            "CASCADE" => FkAction::Cascade,
            "SET NULL" => FkAction::SetNull,
            "SET DEFAULT" => FkAction::SetDefault,
            _ => FkAction::NoAction,
        }
    }
}

/// A foreign key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ForeignKey {
    /// Referencing columns.
    pub columns: Vec<String>,
    /// The referenced table's qualified name.
    pub references: String,
    /// Referenced columns (in SQLite, empty means the referenced table's primary key).
    pub referenced_columns: Vec<String>,
    /// `ON UPDATE`.
    pub on_update: FkAction,
    /// `ON DELETE`.
    pub on_delete: FkAction,
    /// `DEFERRABLE`.
    #[serde(skip_serializing_if = "std::ops::Not::not", default)]
    pub deferrable: bool,
    /// `INITIALLY DEFERRED`.
    #[serde(skip_serializing_if = "std::ops::Not::not", default)]
    pub initially_deferred: bool,
    /// False while the constraint is `NOT VALID`.
    pub valid: bool,
}

/// An index that backs no constraint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Index {
    /// Key columns or expressions in order, each with `DESC` / `NULLS FIRST|LAST` when not default.
    pub columns: Vec<String>,
    /// `INCLUDE` columns (PostgreSQL).
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub include: Vec<String>,
    /// `UNIQUE`.
    pub unique: bool,
    /// Access method when not the default (`btree`), e.g. `gin`, `hash`, `fulltext`.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub method: Option<String>,
    /// Partial index predicate.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub predicate: Option<String>,
    /// False for an INVALID index (a failed `CREATE INDEX CONCURRENTLY` leaves one behind).
    pub valid: bool,
}

/// An enum type with ordered labels.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnumType {
    /// Namespace, `None` for the default one.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub schema: Option<String>,
    /// Type name.
    pub name: String,
    /// Labels in sort order.
    pub labels: Vec<String>,
}

/// A standalone sequence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sequence {
    /// Namespace, `None` for the default one.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub schema: Option<String>,
    /// Name.
    pub name: String,
    /// `smallint`, `integer` or `bigint`.
    pub data_type: String,
    /// `START WITH`.
    pub start: i64,
    /// `INCREMENT BY`.
    pub increment: i64,
    /// `MINVALUE`.
    pub min_value: i64,
    /// `MAXVALUE`.
    pub max_value: i64,
    /// `CYCLE`.
    pub cycle: bool,
}

/// A view or materialized view.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct View {
    /// Namespace, `None` for the default one.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub schema: Option<String>,
    /// Name.
    pub name: String,
    /// Materialized view (PostgreSQL).
    #[serde(skip_serializing_if = "std::ops::Not::not", default)]
    pub materialized: bool,
    /// The server's canonical text: the `SELECT` (PostgreSQL, MySQL) or the whole `CREATE VIEW`
    /// statement (SQLite).
    pub definition: String,
    /// [`definition_hash`] of the definition.
    pub definition_hash: String,
}

/// A function or procedure.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Function {
    /// Namespace, `None` for the default one.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub schema: Option<String>,
    /// Name.
    pub name: String,
    /// Identity arguments (`a integer, b text`).
    pub arguments: String,
    /// `function` or `procedure`.
    pub kind: String,
    /// The server's canonical `CREATE` statement.
    pub definition: String,
    /// [`definition_hash`] of the definition.
    pub definition_hash: String,
}

/// A trigger.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Trigger {
    /// The table's qualified name.
    pub table: String,
    /// Trigger name.
    pub name: String,
    /// The server's canonical `CREATE TRIGGER` statement.
    pub definition: String,
    /// [`definition_hash`] of the definition.
    pub definition_hash: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schemas_serialize_deterministically_and_round_trip() {
        let mut s = Schema::empty(Dialect::Postgres);
        for name in ["zeta", "alpha"] {
            let mut t = Table::new(None, name);
            t.columns.push(Column::new("id", "integer"));
            s.tables.insert(t.key(), t);
        }
        let json = serde_json::to_string(&s).unwrap();
        assert!(json.find("alpha").unwrap() < json.find("zeta").unwrap(), "{json}");
        let back: Schema = serde_json::from_str(&json).unwrap();
        assert_eq!(back, s);
        assert_eq!(s.object_count(), 4);
    }

    #[test]
    fn hashes_ignore_whitespace() {
        assert_eq!(definition_hash("SELECT  1\n FROM t"), definition_hash("SELECT 1 FROM t"));
        assert_ne!(definition_hash("SELECT 1"), definition_hash("SELECT 2"));
        assert_eq!(qualified_name(Some("audit"), "log"), "audit.log");
        assert_eq!(qualified_name(None, "log"), "log");
        assert_eq!(FkAction::parse("set_null"), FkAction::SetNull);
        assert_eq!(FkAction::parse("whatever"), FkAction::NoAction);
    }
}
