//! What a rule sees: the statement, the schema before it and at the start of its migration, the
//! transaction it runs in, what earlier statements of the migration did (`MigrationState`) and
//! what earlier migrations started (`History`: expand steps of expand/contract renames).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use super::LintOptions;
use super::ast::{Action, Name, Stmt};
use crate::db::Dialect;
use crate::declared::CodeRef;
use crate::schema::{Column, Schema, Table};
use crate::sql::Statement;

/// The context of one statement.
#[derive(Debug)]
pub struct Cx<'a> {
    /// The dialect the migrations are written in.
    pub dialect: Dialect,
    /// The file.
    pub path: &'a Path,
    /// The file's text.
    pub text: &'a str,
    /// Whether this is a down (revert) migration.
    pub down: bool,
    /// The statement (span, line, tokens).
    pub statement: &'a Statement<'a>,
    /// What the statement is.
    pub stmt: &'a Stmt,
    /// The schema just before the statement.
    pub before: &'a Schema,
    /// The schema before the statement's migration began.
    pub at_start: &'a Schema,
    /// What earlier statements of this migration did.
    pub state: &'a MigrationState,
    /// What earlier migrations started.
    pub history: &'a History,
    /// The run's options (configuration, code references, sizes).
    pub options: &'a LintOptions,
    /// The schema after the last migration (empty when no code references were given).
    pub final_schema: &'a Schema,
}

impl<'a> Cx<'a> {
    /// The table `name` refers to in the schema before the statement (SQLite/MySQL names are
    /// case-insensitive).
    pub fn table(&self, name: &Name) -> Option<&'a Table> {
        lookup(self.before, &name.key(), self.dialect)
    }

    /// The table `name` refers to, if it existed before this migration began: an existing table,
    /// which may hold data and serve traffic. Tables created in the same migration are not.
    pub fn existing(&self, name: &Name) -> Option<&'a Table> {
        lookup(self.at_start, &name.key(), self.dialect)
    }

    /// The table and actions of an `ALTER TABLE` statement on an existing table (see
    /// [`Cx::existing`]): what the locking rules look at.
    pub fn alter_existing(&self) -> Option<(&'a Name, &'a [Action])> {
        let stmt: &'a Stmt = self.stmt;
        let Stmt::AlterTable { table, actions } = stmt else { return None };
        self.existing(table)?;
        Some((table, actions))
    }

    /// A column of an existing table (as it stood before this migration).
    pub fn existing_column(&self, table: &Name, column: &str) -> Option<&'a Column> {
        let t = self.existing(table)?;
        t.columns.iter().find(|c| same(self.dialect, &c.name, column))
    }

    /// A column as it stands just before the statement.
    pub fn column(&self, table: &Name, column: &str) -> Option<&'a Column> {
        let t = self.table(table)?;
        t.columns.iter().find(|c| same(self.dialect, &c.name, column))
    }

    /// Whether the statement runs inside a transaction (the tool's or an explicit `BEGIN`).
    pub fn in_transaction(&self) -> bool {
        self.state.tool_wraps || self.state.explicit_open
    }

    /// The statement's source text.
    pub fn statement_text(&self) -> &'a str {
        self.statement.text
    }

    /// The file text at `span`.
    pub fn source(&self, span: &std::ops::Range<usize>) -> &'a str {
        self.text.get(span.clone()).unwrap_or("")
    }

    /// Code that uses `table` (and `column`, or any column when `None`).
    pub fn code_uses(&self, table: &str, column: Option<&str>) -> Vec<&'a CodeRef> {
        self.options
            .code_refs
            .iter()
            .filter(|r| same(self.dialect, &r.table, table))
            .filter(|r| match (column, &r.column) {
                (None, _) => true,
                (Some(c), Some(rc)) => same(self.dialect, c, rc),
                (Some(_), None) => true,
            })
            .collect()
    }

    /// The configured PostgreSQL major version the migrations target.
    pub fn pg_version(&self) -> u32 {
        self.options.config.postgres_version()
    }
}

/// Identifier equality per dialect (PostgreSQL: exact after folding; others: case-insensitive).
pub fn same(dialect: Dialect, a: &str, b: &str) -> bool {
    if dialect == Dialect::Postgres { a == b } else { a.eq_ignore_ascii_case(b) }
}

fn lookup<'s>(schema: &'s Schema, key: &str, dialect: Dialect) -> Option<&'s Table> {
    schema.tables.get(key).or_else(|| {
        (dialect != Dialect::Postgres)
            .then(|| schema.tables.iter().find(|(k, _)| k.eq_ignore_ascii_case(key)).map(|(_, t)| t))
            .flatten()
    })
}

/// What earlier statements of the current migration did.
#[derive(Debug, Clone, Default)]
pub struct MigrationState {
    /// The tool runs the migration in a transaction.
    pub tool_wraps: bool,
    /// An explicit `BEGIN` is open.
    pub explicit_open: bool,
    /// `SET lock_timeout` ran earlier in the migration.
    pub lock_timeout: bool,
    /// `SET statement_timeout` ran earlier in the migration.
    pub statement_timeout: bool,
    /// Existing tables locked by earlier statements of the current transaction.
    pub locked_in_transaction: BTreeSet<String>,
    /// Existing tables locked by earlier statements of the migration, in a transaction or not.
    pub locked_tables: BTreeSet<String>,
    /// Constraints added `NOT VALID` in the current transaction (`table.constraint`).
    pub not_valid_in_transaction: BTreeSet<String>,
    /// Columns added in this migration (`table.column`).
    pub added_columns: BTreeSet<String>,
    /// `UPDATE t SET new = old` copies in this migration: (table, new column, old column).
    pub copies: Vec<(String, String, String)>,
    /// Statements seen so far.
    pub statements: usize,
}

/// An expand step: a column added and filled from another one, whose later drop is the contract.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expansion {
    /// The table.
    pub table: String,
    /// The new column.
    pub new_column: String,
    /// The column it copies (to be dropped by the contract step).
    pub old_column: String,
    /// The migration that expanded.
    pub path: PathBuf,
    /// The line of the copy.
    pub line: usize,
}

/// What earlier migrations started.
#[derive(Debug, Clone, Default)]
pub struct History {
    /// Expand steps seen so far, in order.
    pub expansions: Vec<Expansion>,
}

impl History {
    /// The expand step whose old column is `table.column`, if one was shipped.
    pub fn expansion_of(&self, dialect: Dialect, table: &str, column: &str) -> Option<&Expansion> {
        self.expansions.iter().rev().find(|e| same(dialect, &e.table, table) && same(dialect, &e.old_column, column))
    }
}

impl MigrationState {
    /// A fresh state for a migration that its tool does (or does not) wrap in a transaction.
    pub fn new(tool_wraps: bool) -> Self {
        MigrationState { tool_wraps, ..MigrationState::default() }
    }

    /// Record `stmt`'s effect after the rules ran on it.
    pub fn after(&mut self, stmt: &Stmt, at_start: &Schema, history: &mut History, path: &Path, line: usize) {
        self.statements += 1;
        let locked = stmt.locked_keys(at_start);
        if self.tool_wraps || self.explicit_open {
            self.locked_in_transaction.extend(locked.iter().cloned());
        }
        self.locked_tables.extend(locked);
        match stmt {
            Stmt::Begin => self.explicit_open = true,
            Stmt::Commit | Stmt::Rollback => {
                self.explicit_open = false;
                self.locked_in_transaction.clear();
                self.not_valid_in_transaction.clear();
            }
            Stmt::Set { name, .. } => match name.as_str() {
                "lock_timeout" | "lock_wait_timeout" | "innodb_lock_wait_timeout" => self.lock_timeout = true,
                "statement_timeout" | "max_statement_time" | "max_execution_time" => self.statement_timeout = true,
                _ => {}
            },
            Stmt::AlterTable { table, actions } => {
                // The tables it locks were recorded above (`Stmt::locked_keys`).
                let key = table.key();
                for a in actions {
                    match a {
                        Action::AddColumn(c) => {
                            self.added_columns.insert(format!("{key}.{}", c.name));
                        }
                        Action::AddConstraint { name: Some(n), not_valid: true, .. }
                            if self.tool_wraps || self.explicit_open =>
                        {
                            self.not_valid_in_transaction.insert(format!("{key}.{n}"));
                        }
                        _ => {}
                    }
                }
            }
            Stmt::Update { table, assignments, .. } => {
                let key = table.key();
                // The columns the table had before this migration: the candidates for "old".
                let existing: Vec<&str> = at_start
                    .tables
                    .get(&key)
                    .map(|t| t.columns.iter().map(|c| c.name.as_str()).collect())
                    .unwrap_or_default();
                for (col, expr) in assignments {
                    if !self.added_columns.contains(&format!("{key}.{col}")) {
                        continue;
                    }
                    // `SET new = old`, or an expression led by an existing column (`coalesce(old,
                    // fallback)`, `lower(old)`): the new column takes over from that one.
                    let Some(source) = crate::sql::tokenize(expr)
                        .into_iter()
                        .filter(|t| matches!(t.kind, crate::sql::TokenKind::Word | crate::sql::TokenKind::Quoted))
                        .map(|t| t.text)
                        .find(|w| w != col && existing.iter().any(|c| c.eq_ignore_ascii_case(w)))
                    else {
                        continue;
                    };
                    let source = &source;
                    self.copies.push((key.clone(), col.clone(), source.clone()));
                    history.expansions.push(Expansion {
                        table: key.clone(),
                        new_column: col.clone(),
                        old_column: source.clone(),
                        path: path.to_path_buf(),
                        line,
                    });
                }
            }
            _ => {}
        }
    }
}
