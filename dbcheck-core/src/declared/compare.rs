//! Declared sources against the migrations' static schema: every declared table, column, type,
//! nullability and primary key checked, and every table or column the migrations create that a
//! complete source (diesel `schema.rs`, `schema.sql`) does not declare. Each finding points at the
//! declared file and names the migration that made the object what it is — both locations.

use std::path::Path;

use super::{Declared, DeclaredColumn, DeclaredTable, DeclaredType, SourceKind};
use crate::db::Dialect;
use crate::report::{Finding, Location, Severity};
use crate::schema::{Column, Table};
use crate::sql::{StaticSchema, object_key};

/// `path` relative to `root` when it is inside it.
fn shown(path: &Path, root: &Path) -> String {
    path.strip_prefix(root).unwrap_or(path).display().to_string()
}

/// Where the migrations created or last changed the object with `key`: `file:line`.
fn origin(ours: &StaticSchema, key: &str, root: &Path) -> Option<String> {
    ours.origin(key).map(|o| format!("{}:{}", shown(&o.path, root), o.line))
}

fn column_origin(ours: &StaticSchema, table: &str, column: &str, root: &Path) -> String {
    origin(ours, &object_key("column", &format!("{table}.{column}")), root)
        .or_else(|| origin(ours, &object_key("table", table), root))
        .map_or_else(|| "the migrations".to_owned(), |o| format!("migration {o}"))
}

fn table_origin(ours: &StaticSchema, table: &str, root: &Path) -> String {
    origin(ours, &object_key("table", table), root)
        .map_or_else(|| "the migrations".to_owned(), |o| format!("migration {o}"))
}

fn regenerate(kind: SourceKind) -> &'static str {
    match kind {
        SourceKind::Diesel => "regenerate it with `diesel print-schema` after running the migrations, or edit it",
        SourceKind::SchemaSql => "edit schema.sql to match, or write the migration that makes the schema match it",
    }
}

/// Every mismatch between `declared` and the schema the migrations produce (`ours`, interpreted
/// for `dialect`), plus the problems found reading the declared file. Paths in messages are shown
/// relative to `root`.
pub fn compare_declared(declared: &Declared, ours: &StaticSchema, dialect: Dialect, root: &Path) -> Vec<Finding> {
    let mut out = declared.findings.clone();
    let file = shown(&declared.path, root);
    let at = |span: &std::ops::Range<usize>| Location::span(&declared.path, span.clone());
    for t in &declared.tables {
        let Some(table) = ours.schema.tables.get(&t.key) else {
            if ours.schema.views.contains_key(&t.key) {
                // A view declared with `table!`: it has no columns in the static schema to check.
                continue;
            }
            out.push(
                Finding::new(
                    "declared-table-missing",
                    Severity::Error,
                    format!("table `{}` declared in {file} is not created by the migrations", t.key),
                )
                .at(at(&t.span))
                .help(format!(
                    "add a migration that creates it, or remove it from {file}: {}",
                    regenerate(declared.kind)
                )),
            );
            continue;
        };
        compare_table(declared, t, table, ours, dialect, root, &file, &mut out);
    }
    // Tables the migrations create that a complete source should list.
    for (key, table) in &ours.schema.tables {
        if declared.tables.iter().any(|t| &t.key == key) || !declared.coverage.covers(table, dialect) {
            continue;
        }
        out.push(
            Finding::new(
                "declared-extra-table",
                Severity::Error,
                format!("table `{key}` created by {} is not declared in {file}", table_origin(ours, key, root)),
            )
            .at(Location::file(&declared.path))
            .help(regenerate(declared.kind)),
        );
    }
    out
}

#[expect(clippy::too_many_arguments, reason = "the comparison's context, passed down once")]
fn compare_table(
    declared: &Declared,
    t: &DeclaredTable,
    table: &Table,
    ours: &StaticSchema,
    dialect: Dialect,
    root: &Path,
    file: &str,
    out: &mut Vec<Finding>,
) {
    let at = |span: &std::ops::Range<usize>| Location::span(&declared.path, span.clone());
    let pk: &[String] = table.primary_key.as_ref().map_or(&[], |p| p.columns.as_slice());
    // SQLite's `INTEGER PRIMARY KEY` is the rowid: never NULL, and an i64.
    let rowid_col = (dialect == Dialect::Sqlite && pk.len() == 1)
        .then(|| table.column(&pk[0]))
        .flatten()
        .filter(|c| c.data_type.eq_ignore_ascii_case("integer"))
        .map(|c| c.name.as_str());
    for c in &t.columns {
        let Some(column) = table.column(&c.name) else {
            out.push(
                Finding::new(
                    "declared-column-missing",
                    Severity::Error,
                    format!(
                        "column `{}.{}` declared in {file} does not exist: table `{}` comes from {} without it",
                        t.key,
                        c.name,
                        t.key,
                        table_origin(ours, &t.key, root)
                    ),
                )
                .at(at(&c.span))
                .help(format!(
                    "add a migration that creates the column, or remove or rename it in {file} (the table has: {})",
                    table.columns.iter().map(|c| c.name.as_str()).collect::<Vec<_>>().join(", ")
                )),
            );
            continue;
        };
        let in_pk = pk.iter().any(|p| p == &c.name);
        compare_column(
            declared,
            t,
            c,
            column,
            rowid_col == Some(c.name.as_str()),
            in_pk,
            ours,
            dialect,
            root,
            file,
            out,
        );
    }
    if let Some(key) = &t.primary_key {
        let sqlite_rowid = dialect == Dialect::Sqlite
            && pk.is_empty()
            && key.columns.len() == 1
            && ["rowid", "oid", "_rowid_"].contains(&key.columns[0].as_str());
        if key.columns != pk && !sqlite_rowid {
            let pk_key = table.primary_key.as_ref().map(|p| {
                object_key("constraint", &format!("{}.{}", t.key, p.name.as_deref().unwrap_or("primary key")))
            });
            let where_ = pk_key
                .and_then(|k| origin(ours, &k, root))
                .map_or_else(|| table_origin(ours, &t.key, root), |o| format!("migration {o}"));
            let theirs = if pk.is_empty() { "no primary key".to_owned() } else { format!("({})", pk.join(", ")) };
            out.push(
                Finding::new(
                    "declared-primary-key",
                    Severity::Error,
                    format!(
                        "table `{}` is declared with primary key ({}) in {file} but has {theirs} in {where_}",
                        t.key,
                        key.columns.join(", ")
                    ),
                )
                .at(at(&key.span))
                .help(regenerate(declared.kind)),
            );
        }
    }
    if matches!(declared.kind, SourceKind::Diesel | SourceKind::SchemaSql) {
        for column in &table.columns {
            if t.columns.iter().any(|c| c.name == column.name) {
                continue;
            }
            out.push(
                Finding::new(
                    "declared-extra-column",
                    Severity::Error,
                    format!(
                        "column `{}.{}` created by {} is not declared in {file}",
                        t.key,
                        column.name,
                        column_origin(ours, &t.key, &column.name, root)
                    ),
                )
                .at(at(&t.span))
                .help(regenerate(declared.kind)),
            );
        }
    }
}

#[expect(clippy::too_many_arguments, reason = "the comparison's context, passed down once")]
fn compare_column(
    declared: &Declared,
    t: &DeclaredTable,
    c: &DeclaredColumn,
    column: &Column,
    rowid: bool,
    in_pk: bool,
    ours: &StaticSchema,
    dialect: Dialect,
    root: &Path,
    file: &str,
    out: &mut Vec<Finding>,
) {
    let at = Location::span(&declared.path, c.span.clone());
    let where_ = || column_origin(ours, &t.key, &c.name, root);
    let mismatch = match &c.ty {
        DeclaredType::Diesel(d) => super::diesel::type_mismatch(dialect, d, column, rowid),
        DeclaredType::Sql(s) => (s != &column.data_type).then(|| format!("`{}`", column.data_type)),
    };
    if let Some(expected) = mismatch {
        out.push(
            Finding::new(
                "declared-type",
                Severity::Error,
                format!(
                    "column `{}.{}` is declared `{}` in {file} but is `{}` in {} (expected {expected})",
                    t.key,
                    c.name,
                    c.ty,
                    column.data_type,
                    where_()
                ),
            )
            .at(at.clone())
            .help(regenerate(declared.kind)),
        );
    }
    // SQLite lets primary key columns hold NULL unless declared NOT NULL, except the rowid; what
    // diesel prints for them varies, so their nullability is not compared.
    let lenient = dialect == Dialect::Sqlite && (rowid || in_pk);
    if c.nullable != column.nullable && !lenient {
        let word = |n: bool| if n { "nullable" } else { "NOT NULL" };
        let help = match (&c.ty, column.nullable) {
            (DeclaredType::Diesel(_), true) => {
                "the column admits NULL: wrap its type in `Nullable<…>` (reads of NULL fail otherwise)".to_owned()
            }
            (DeclaredType::Diesel(_), false) => "the column is NOT NULL: drop `Nullable<…>` from its type".to_owned(),
            (DeclaredType::Sql(_), _) => regenerate(declared.kind).to_owned(),
        };
        out.push(
            Finding::new(
                "declared-nullability",
                Severity::Error,
                format!(
                    "column `{}.{}` is declared {} in {file} but is {} in {}",
                    t.key,
                    c.name,
                    word(c.nullable),
                    word(column.nullable),
                    where_()
                ),
            )
            .at(at)
            .help(help),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::declared::diesel::parse_schema_rs;
    use crate::sql::Interpreter;

    fn schema(sql: &str, dialect: Dialect) -> StaticSchema {
        let mut i = Interpreter::new(dialect);
        i.apply_file(Path::new("/p/migrations/1_init.sql"), sql);
        i.finish()
    }

    fn codes(findings: &[Finding]) -> Vec<&str> {
        findings.iter().map(|f| f.code).collect()
    }

    const SQL: &str =
        "CREATE TABLE ads (\n  id BIGSERIAL PRIMARY KEY,\n  title TEXT NOT NULL,\n  price NUMERIC(10,2)\n);\n";

    #[test]
    fn a_matching_schema_rs_has_no_findings() {
        let ours = schema(SQL, Dialect::Postgres);
        let rs = "diesel::table! {\n    ads (id) {\n        id -> Int8,\n        title -> Text,\n        price -> Nullable<Numeric>,\n    }\n}\n";
        let d = parse_schema_rs(Path::new("/p/src/schema.rs"), rs, Dialect::Postgres);
        assert!(compare_declared(&d, &ours, Dialect::Postgres, Path::new("/p")).is_empty());
    }

    #[test]
    fn each_kind_of_mismatch_is_reported_with_both_locations() {
        let ours = schema(&format!("{SQL}CREATE TABLE users (id INT PRIMARY KEY);\n"), Dialect::Postgres);
        let rs = "diesel::table! {\n    ads (title) {\n        id -> Int4,\n        title -> Nullable<Text>,\n        slug -> Text,\n    }\n}\ndiesel::table! {\n    gone (id) {\n        id -> Int4,\n    }\n}\n";
        let d = parse_schema_rs(Path::new("/p/src/schema.rs"), rs, Dialect::Postgres);
        let found = compare_declared(&d, &ours, Dialect::Postgres, Path::new("/p"));
        let mut got = codes(&found);
        got.sort_unstable();
        assert_eq!(
            got,
            [
                "declared-column-missing",
                "declared-extra-column",
                "declared-extra-table",
                "declared-nullability",
                "declared-primary-key",
                "declared-table-missing",
                "declared-type",
            ]
        );
        let ty = found.iter().find(|f| f.code == "declared-type").unwrap();
        assert!(ty.message.contains("src/schema.rs"), "{}", ty.message);
        assert!(ty.message.contains("migrations/1_init.sql:1"), "{}", ty.message);
        assert!(ty.message.contains("`Int8`"), "{}", ty.message);
        let Some(Location::File { span: Some(span), .. }) = &ty.location else { panic!("no span") };
        assert_eq!(&rs[span.clone()], "id -> Int4");
    }

    #[test]
    fn sqlite_rowid_and_filters() {
        let ours = schema(
            "CREATE TABLE t (id INTEGER PRIMARY KEY, n INTEGER NOT NULL);\nCREATE TABLE audit_log (id INTEGER PRIMARY KEY);\n",
            Dialect::Sqlite,
        );
        let rs = "diesel::table! {\n    t (id) {\n        id -> BigInt,\n        n -> Integer,\n    }\n}\n";
        let mut d = parse_schema_rs(Path::new("/p/src/schema.rs"), rs, Dialect::Sqlite);
        d.coverage.except.push(regex::Regex::new("^audit_").unwrap());
        let found = compare_declared(&d, &ours, Dialect::Sqlite, Path::new("/p"));
        assert!(found.is_empty(), "{found:?}");
        d.coverage.except.clear();
        assert_eq!(codes(&compare_declared(&d, &ours, Dialect::Sqlite, Path::new("/p"))), ["declared-extra-table"]);
    }
}
