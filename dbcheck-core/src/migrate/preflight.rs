//! Pre-flight data checks: every pending statement that can fail on existing rows (`SET NOT
//! NULL`, `ADD CHECK`, `ADD UNIQUE`/`PRIMARY KEY`, unique indexes, `ADD FOREIGN KEY`, narrowing
//! type changes, `ADD COLUMN … NOT NULL` without a default) becomes a data check, found by parsing
//! the statements with `sqlparser`. Checks on tables that earlier pending statements create or
//! change are skipped: the live data says nothing about them yet.

use std::collections::BTreeSet;
use std::ops::Range;
use std::path::PathBuf;

use serde::Serialize;
use sqlparser::ast::{
    AlterColumnOperation, AlterTableOperation, ColumnOption, DataType, Expr, FromTable, ObjectName, Statement,
    TableConstraint, TableFactor, TableObject,
};
use sqlparser::dialect::{Dialect as SqlDialect, MySqlDialect, PostgreSqlDialect, SQLiteDialect};
use sqlparser::parser::Parser;

use crate::db::{Dialect, PreflightCount};
use crate::migrations::Migration;
use crate::replay::split_statements;
use crate::report::{Finding, Location, Severity};

/// What a check looks for in the live data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum CheckKind {
    /// `SET NOT NULL` / `PRIMARY KEY`: rows where the column is NULL.
    NotNull {
        /// The column.
        column: String,
    },
    /// `ADD COLUMN … NOT NULL` without a default: any row at all.
    NonEmpty {
        /// The new column.
        column: String,
    },
    /// `ADD CHECK`: rows where the expression is false.
    Check {
        /// The expression, as SQL.
        expr: String,
    },
    /// `ADD UNIQUE` / `PRIMARY KEY` / `CREATE UNIQUE INDEX`: groups of rows sharing a key.
    Unique {
        /// The key columns.
        columns: Vec<String>,
        /// A partial index's predicate.
        predicate: Option<String>,
    },
    /// `ADD FOREIGN KEY`: rows whose key has no parent.
    ForeignKey {
        /// The referencing columns.
        columns: Vec<String>,
        /// The parent table.
        parent: Vec<String>,
        /// The parent's columns.
        parent_columns: Vec<String>,
    },
    /// A change to `varchar(n)`/`char(n)`: values longer than `max`.
    MaxLength {
        /// The column.
        column: String,
        /// The new length limit.
        max: u64,
    },
    /// A change to a smaller integer type: values outside its range.
    IntRange {
        /// The column.
        column: String,
        /// The new type, as written.
        type_name: String,
        /// Smallest allowed value.
        min: i64,
        /// Largest allowed value.
        max: i64,
    },
}

impl CheckKind {
    /// The finding code for violations of this kind.
    pub fn code(&self) -> &'static str {
        match self {
            CheckKind::NotNull { .. } | CheckKind::NonEmpty { .. } => "preflight-null-values",
            CheckKind::Check { .. } => "preflight-check-violations",
            CheckKind::Unique { .. } => "preflight-duplicates",
            CheckKind::ForeignKey { .. } => "preflight-orphans",
            CheckKind::MaxLength { .. } | CheckKind::IntRange { .. } => "preflight-cast-failures",
        }
    }
}

/// One pending statement turned into a read-only data check.
#[derive(Debug, Clone, Serialize)]
pub struct DataCheck {
    /// The migration the statement is in.
    pub path: PathBuf,
    /// Its version.
    pub version: String,
    /// The statement's byte range in the file.
    pub span: Range<usize>,
    /// The table, as schema-qualified parts.
    pub table: Vec<String>,
    /// What to look for.
    pub kind: CheckKind,
}

/// A statement whose data effect could not be judged, and what that means for later checks.
#[derive(Debug, Clone, Serialize)]
pub struct Unchecked {
    /// The migration.
    pub path: PathBuf,
    /// The statement's byte range.
    pub span: Range<usize>,
    /// Why.
    pub reason: String,
}

impl DataCheck {
    /// The table as written in the migration.
    pub fn table_sql(&self) -> String {
        self.table.join(".")
    }

    /// The table's name without schema or quotes.
    pub fn table_name(&self) -> &str {
        self.table.last().map_or("", |s| s.trim_matches(['"', '`']))
    }
}

/// The checks a set of pending migrations needs, in order.
#[derive(Debug, Clone, Default, Serialize)]
pub struct PreflightPlan {
    /// Checks to run against the live data.
    pub checks: Vec<DataCheck>,
    /// Checks skipped, and why.
    pub unchecked: Vec<Unchecked>,
}

fn sql_dialect(d: Dialect) -> Box<dyn SqlDialect> {
    match d {
        Dialect::Postgres => Box::new(PostgreSqlDialect {}),
        Dialect::Sqlite => Box::new(SQLiteDialect {}),
        Dialect::Mysql => Box::new(MySqlDialect {}),
    }
}

/// Name parts as written (quotes kept), so the checks name objects exactly as the migration does.
fn parts(name: &ObjectName) -> Vec<String> {
    name.0.iter().map(ToString::to_string).collect()
}

/// Tables are compared by their last name part without quotes, case-insensitively.
fn table_key(parts: &[String]) -> String {
    parts.last().map(|s| s.trim_matches(['"', '`']).to_lowercase()).unwrap_or_default()
}

fn column_name(expr: &Expr) -> Option<String> {
    match expr {
        Expr::Identifier(i) => Some(i.to_string()),
        Expr::CompoundIdentifier(parts) => parts.last().map(ToString::to_string),
        _ => None,
    }
}

/// Plan the data checks for `pending`, in the order they would apply.
pub fn plan(pending: &[&Migration], dialect: Dialect) -> PreflightPlan {
    let mut plan = PreflightPlan::default();
    // Tables whose live data no longer predicts the statement's outcome: created or written by
    // an earlier pending statement.
    let mut touched: BTreeSet<String> = BTreeSet::new();
    // After a statement we cannot read, any table may have changed.
    let mut blind = false;
    let parser_dialect = sql_dialect(dialect);
    for m in pending {
        let text = m.sql();
        for range in split_statements(&text, dialect) {
            let stmt_text = &text[range.clone()];
            let statements = match Parser::parse_sql(parser_dialect.as_ref(), stmt_text) {
                Ok(s) => s,
                Err(e) => {
                    if !blind {
                        plan.unchecked.push(Unchecked {
                            path: m.path.clone(),
                            span: range.clone(),
                            reason: format!(
                                "cannot parse this statement ({e}); data checks of the statements after it are skipped"
                            ),
                        });
                    }
                    blind = true;
                    continue;
                }
            };
            for statement in statements {
                let mut add = |table: Vec<String>, kind: CheckKind, touched: &BTreeSet<String>| {
                    if blind || touched.contains(&table_key(&table)) {
                        plan.unchecked.push(Unchecked {
                            path: m.path.clone(),
                            span: range.clone(),
                            reason: format!(
                                "table `{}` is created or changed by an earlier pending statement: no live data to check",
                                table.join(".")
                            ),
                        });
                    } else {
                        plan.checks.push(DataCheck {
                            path: m.path.clone(),
                            version: m.history_key.clone(),
                            span: range.clone(),
                            table,
                            kind,
                        });
                    }
                };
                match &statement {
                    Statement::CreateTable(ct) => {
                        touched.insert(table_key(&parts(&ct.name)));
                    }
                    Statement::CreateIndex(ci) if ci.unique => {
                        let table = parts(&ci.table_name);
                        let columns: Option<Vec<String>> =
                            ci.columns.iter().map(|c| column_name(&c.column.expr)).collect();
                        if let Some(columns) = columns {
                            let predicate = ci.predicate.as_ref().map(ToString::to_string);
                            add(table, CheckKind::Unique { columns, predicate }, &touched);
                        }
                    }
                    Statement::AlterTable(at) => {
                        let table = parts(&at.name);
                        for op in &at.operations {
                            for kind in alter_checks(op) {
                                add(table.clone(), kind, &touched);
                            }
                        }
                        // Later statements see the altered table, but its rows are the same: only
                        // a rewrite of data (UPDATE/INSERT/DELETE) changes what checks would find.
                        if at.operations.iter().any(|op| matches!(op, AlterTableOperation::AddColumn { .. })) {
                            touched.insert(table_key(&table));
                        }
                    }
                    Statement::Update(u) => {
                        if let TableFactor::Table { name, .. } = &u.table.relation {
                            touched.insert(table_key(&parts(name)));
                        } else {
                            blind = true;
                        }
                    }
                    Statement::Insert(i) => match &i.table {
                        TableObject::TableName(name) => {
                            touched.insert(table_key(&parts(name)));
                        }
                        _ => blind = true,
                    },
                    Statement::Delete(d) => {
                        let from = match &d.from {
                            FromTable::WithFromKeyword(t) | FromTable::WithoutKeyword(t) => t,
                        };
                        for t in from {
                            if let TableFactor::Table { name, .. } = &t.relation {
                                touched.insert(table_key(&parts(name)));
                            }
                        }
                    }
                    Statement::CreateIndex(_) | Statement::AlterIndex { .. } => {}
                    Statement::Truncate(_) | Statement::Drop { .. } | Statement::Query(_) => {}
                    Statement::CreateView { .. } | Statement::CreateSequence { .. } | Statement::CreateType { .. } => {}
                    Statement::Comment { .. } | Statement::CreateSchema { .. } | Statement::CreateExtension(_) => {}
                    // Functions, DO blocks, procedures: they may write anything.
                    Statement::CreateFunction(_) | Statement::CreateTrigger(_) => {}
                    _ => blind = true,
                }
            }
        }
    }
    plan
}

fn alter_checks(op: &AlterTableOperation) -> Vec<CheckKind> {
    match op {
        AlterTableOperation::AlterColumn { column_name, op } => match op {
            AlterColumnOperation::SetNotNull => vec![CheckKind::NotNull { column: column_name.to_string() }],
            AlterColumnOperation::SetDataType { data_type, using: None, .. } => {
                narrowing(&column_name.to_string(), data_type).into_iter().collect()
            }
            _ => Vec::new(),
        },
        AlterTableOperation::ModifyColumn { col_name, data_type, options, .. } => {
            let mut checks: Vec<CheckKind> = narrowing(&col_name.to_string(), data_type).into_iter().collect();
            if options.iter().any(|o| matches!(o, ColumnOption::NotNull)) {
                checks.push(CheckKind::NotNull { column: col_name.to_string() });
            }
            checks
        }
        AlterTableOperation::AddColumn { column_def, .. } => {
            let opts: Vec<&ColumnOption> = column_def.options.iter().map(|o| &o.option).collect();
            let not_null = opts.iter().any(|o| matches!(o, ColumnOption::NotNull | ColumnOption::PrimaryKey(_)));
            let has_default = opts.iter().any(|o| {
                matches!(o, ColumnOption::Default(_) | ColumnOption::Generated { .. } | ColumnOption::Identity(_))
            });
            let serial = matches!(&column_def.data_type, DataType::Custom(n, _) if n.to_string().to_lowercase().contains("serial"));
            if not_null && !has_default && !serial {
                vec![CheckKind::NonEmpty { column: column_def.name.to_string() }]
            } else {
                Vec::new()
            }
        }
        AlterTableOperation::AddConstraint { constraint, not_valid: false } => constraint_check(constraint),
        _ => Vec::new(),
    }
}

fn index_columns(columns: &[sqlparser::ast::IndexColumn]) -> Option<Vec<String>> {
    columns.iter().map(|c| column_name(&c.column.expr)).collect()
}

fn constraint_check(c: &TableConstraint) -> Vec<CheckKind> {
    match c {
        TableConstraint::Check(ch) => vec![CheckKind::Check { expr: ch.expr.to_string() }],
        TableConstraint::Unique(u) => index_columns(&u.columns)
            .map(|columns| CheckKind::Unique { columns, predicate: None })
            .into_iter()
            .collect(),
        TableConstraint::PrimaryKey(pk) => match index_columns(&pk.columns) {
            Some(columns) => {
                let mut checks: Vec<CheckKind> =
                    columns.iter().map(|c| CheckKind::NotNull { column: c.clone() }).collect();
                checks.push(CheckKind::Unique { columns, predicate: None });
                checks
            }
            None => Vec::new(),
        },
        TableConstraint::ForeignKey(fk) => vec![CheckKind::ForeignKey {
            columns: fk.columns.iter().map(ToString::to_string).collect(),
            parent: parts(&fk.foreign_table),
            parent_columns: fk.referred_columns.iter().map(ToString::to_string).collect(),
        }],
        _ => Vec::new(),
    }
}

/// A type change that can fail on existing values, as a check; `None` for widening or unknown.
fn narrowing(column: &str, ty: &DataType) -> Option<CheckKind> {
    let max = |len: &Option<sqlparser::ast::CharacterLength>| match len {
        Some(sqlparser::ast::CharacterLength::IntegerLength { length, .. }) => Some(*length),
        _ => None,
    };
    let range = |name: &str, min: i64, max: i64| {
        Some(CheckKind::IntRange { column: column.to_owned(), type_name: name.to_owned(), min, max })
    };
    match ty {
        DataType::Varchar(len) | DataType::CharacterVarying(len) | DataType::Char(len) | DataType::Character(len) => {
            max(len).map(|max| CheckKind::MaxLength { column: column.to_owned(), max })
        }
        DataType::SmallInt(_) | DataType::Int2(_) => range("smallint", i64::from(i16::MIN), i64::from(i16::MAX)),
        DataType::Int(_) | DataType::Integer(_) | DataType::Int4(_) => {
            range("integer", i64::from(i32::MIN), i64::from(i32::MAX))
        }
        _ => None,
    }
}

/// The error finding for a check that found violations: counts, samples and a suggested fix.
pub fn violation_finding(dialect: Dialect, check: &DataCheck, found: &PreflightCount) -> Finding {
    let t = check.table_sql();
    let n = found.violations;
    let (what, help, fix): (String, String, Option<String>) = match &check.kind {
        CheckKind::NotNull { column } => (
            format!("{n} row(s) of `{t}` have NULL in `{column}`"),
            "backfill the NULLs in a migration before this one (or in the same one, before the constraint)".to_owned(),
            Some(backfill(dialect, &t, column)),
        ),
        CheckKind::NonEmpty { column } => (
            format!("`{t}` has {n} row(s), and new column `{column}` is NOT NULL without a default"),
            "add the column with a DEFAULT, or add it nullable, backfill it, then SET NOT NULL".to_owned(),
            None,
        ),
        CheckKind::Check { expr } => (
            format!("{n} row(s) of `{t}` violate CHECK ({expr})"),
            "fix or remove those rows first, or add the constraint NOT VALID and VALIDATE it after the clean-up".to_owned(),
            Some(format!("SELECT * FROM {t} WHERE NOT ({expr});")),
        ),
        CheckKind::Unique { columns, .. } => (
            format!(
                "{n} duplicate group(s) ({} rows) in `{t}` on ({})",
                found.rows,
                columns.join(", ")
            ),
            "merge or delete the duplicates before making the key unique".to_owned(),
            Some(format!(
                "SELECT {cols}, COUNT(*) FROM {t} GROUP BY {cols} HAVING COUNT(*) > 1;",
                cols = columns.join(", ")
            )),
        ),
        CheckKind::ForeignKey { columns, parent, .. } => (
            format!(
                "{n} row(s) of `{t}` reference a missing `{}` row through ({})",
                parent.join("."),
                columns.join(", ")
            ),
            "delete or re-point the orphans (or restore their parents), or add the constraint NOT VALID and VALIDATE it after the clean-up".to_owned(),
            None,
        ),
        CheckKind::MaxLength { column, max } => (
            format!("{n} value(s) of `{t}`.`{column}` are longer than {max} characters"),
            "shorten those values first, or choose a longer type".to_owned(),
            None,
        ),
        CheckKind::IntRange { column, type_name, .. } => (
            format!("{n} value(s) of `{t}`.`{column}` do not fit in {type_name}"),
            "fix those values first, or choose a wider type".to_owned(),
            None,
        ),
    };
    let samples =
        if found.samples.is_empty() { String::new() } else { format!(" (e.g. {})", found.samples.join("; ")) };
    let mut f = Finding::new(
        check.kind.code(),
        Severity::Error,
        format!("migration {} would fail: {what}{samples}", check.version),
    )
    .at(Location::span(&check.path, check.span.clone()))
    .help(match &fix {
        Some(fix) => format!("{help}: {fix}"),
        None => help,
    });
    if let Some(fix) = fix {
        f = f.fix_sql(fix);
    }
    f
}

/// The backfill for NULLs in `column`: for a slug, the guidelines' own
/// (`lower(title)` with non-alphanumerics as dashes, then `-<id>`); otherwise a template.
fn backfill(dialect: Dialect, table: &str, column: &str) -> String {
    let bare = column.trim_matches(['"', '`']);
    if bare.eq_ignore_ascii_case("slug") {
        let expr = match dialect {
            Dialect::Postgres => "CONCAT(regexp_replace(lower(title), '[^a-z0-9]+', '-', 'g'), '-', id)",
            Dialect::Mysql => "CONCAT(REGEXP_REPLACE(LOWER(title), '[^a-z0-9]+', '-'), '-', id)",
            Dialect::Sqlite => "lower(replace(title, ' ', '-')) || '-' || id",
        };
        return format!("UPDATE {table} SET {column} = {expr} WHERE {column} IS NULL;");
    }
    format!("UPDATE {table} SET {column} = /* value */ WHERE {column} IS NULL;")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::migrations::{MigrationKind, TransactionMode, Version};

    fn m(v: i64, sql: &str) -> Migration {
        Migration {
            version: Version::Int(v),
            history_key: v.to_string(),
            name: "m".into(),
            path: format!("{v}_m.sql").into(),
            bytes: sql.as_bytes().to_vec(),
            down_path: None,
            transaction: TransactionMode::Transaction,
            kind: MigrationKind::Versioned,
        }
    }

    fn kinds(sql: &[&str]) -> Vec<CheckKind> {
        let ms: Vec<Migration> = sql.iter().enumerate().map(|(i, s)| m(i as i64 + 1, s)).collect();
        let refs: Vec<&Migration> = ms.iter().collect();
        plan(&refs, Dialect::Postgres).checks.into_iter().map(|c| c.kind).collect()
    }

    #[test]
    fn each_statement_kind_becomes_a_check() {
        let got = kinds(&["ALTER TABLE ads ALTER COLUMN slug SET NOT NULL;\n\
             ALTER TABLE ads ADD CONSTRAINT price_positive CHECK (price > 0);\n\
             ALTER TABLE ads ADD CONSTRAINT ads_slug_key UNIQUE (slug);\n\
             CREATE UNIQUE INDEX ads_title ON ads (title) WHERE deleted_at IS NULL;\n\
             ALTER TABLE ads ADD CONSTRAINT ads_user FOREIGN KEY (user_id) REFERENCES users (id);\n\
             ALTER TABLE ads ALTER COLUMN title TYPE varchar(20);\n\
             ALTER TABLE ads ALTER COLUMN views TYPE smallint;\n\
             ALTER TABLE ads ADD COLUMN owner int NOT NULL;"]);
        assert_eq!(got.len(), 8, "{got:?}");
        assert_eq!(got[0], CheckKind::NotNull { column: "slug".into() });
        assert_eq!(got[1], CheckKind::Check { expr: "price > 0".into() });
        assert_eq!(got[2], CheckKind::Unique { columns: vec!["slug".into()], predicate: None });
        assert_eq!(
            got[3],
            CheckKind::Unique { columns: vec!["title".into()], predicate: Some("deleted_at IS NULL".into()) }
        );
        assert!(matches!(&got[4], CheckKind::ForeignKey { parent, .. } if parent == &["users"]));
        assert_eq!(got[5], CheckKind::MaxLength { column: "title".into(), max: 20 });
        assert!(matches!(&got[6], CheckKind::IntRange { min: -32768, max: 32767, .. }));
        assert_eq!(got[7], CheckKind::NonEmpty { column: "owner".into() });
    }

    #[test]
    fn not_valid_constraints_and_safe_changes_need_no_check() {
        assert!(kinds(&["ALTER TABLE ads ADD CONSTRAINT c CHECK (price > 0) NOT VALID;"]).is_empty());
        assert!(kinds(&["ALTER TABLE ads ADD COLUMN note text;"]).is_empty());
        assert!(kinds(&["ALTER TABLE ads ADD COLUMN n int NOT NULL DEFAULT 0;"]).is_empty());
        assert!(kinds(&["ALTER TABLE ads ALTER COLUMN title TYPE text;"]).is_empty());
        assert!(kinds(&["CREATE INDEX i ON ads (title);"]).is_empty());
    }

    #[test]
    fn tables_created_or_written_earlier_are_not_checked() {
        let ms = [
            m(1, "CREATE TABLE tags (id int, name text);"),
            m(2, "ALTER TABLE tags ALTER COLUMN name SET NOT NULL;\nUPDATE ads SET slug = 'x' WHERE slug IS NULL;"),
            m(3, "ALTER TABLE ads ALTER COLUMN slug SET NOT NULL;\nALTER TABLE users ADD CONSTRAINT u UNIQUE (email);"),
        ];
        let refs: Vec<&Migration> = ms.iter().collect();
        let p = plan(&refs, Dialect::Postgres);
        assert_eq!(p.checks.len(), 1, "{:?}", p.checks);
        assert_eq!(p.checks[0].table, ["users"]);
        assert_eq!(p.unchecked.len(), 2);
    }

    #[test]
    fn an_unreadable_statement_stops_later_checks() {
        let p = {
            let ms = [m(
                1,
                "DO $$ BEGIN UPDATE ads SET slug = 'x'; END $$;\nALTER TABLE ads ALTER COLUMN slug SET NOT NULL;",
            )];
            let refs: Vec<&Migration> = ms.iter().collect();
            plan(&refs, Dialect::Postgres)
        };
        assert!(p.checks.is_empty(), "{:?}", p.checks);
        assert!(!p.unchecked.is_empty());
    }
}
