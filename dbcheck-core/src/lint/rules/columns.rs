//! Shared helpers of the DL2xx–DL4xx rules: the columns a statement defines (with whether they are
//! keys), a parsed view of normalized types, and identifier quoting for suggested SQL.

use crate::db::Dialect;
use crate::lint::Cx;
use crate::lint::ast::{Action, ColumnDef, ConstraintKind, Name, Stmt, classify};
use crate::schema::normalize_type;
use crate::sql::statements;

/// A column a statement defines: a `CREATE TABLE` item or an `ADD COLUMN`.
#[derive(Debug)]
pub(crate) struct NewColumn<'a> {
    /// The table.
    pub table: &'a Name,
    /// The definition.
    pub col: &'a ColumnDef,
    /// Part of the table's primary key.
    pub primary_key: bool,
    /// Part of a foreign key.
    pub foreign_key: bool,
}

/// The columns `stmt` defines, with key information from column and table constraints.
pub(crate) fn new_columns(stmt: &Stmt) -> Vec<NewColumn<'_>> {
    match stmt {
        Stmt::CreateTable { table, columns, constraints } => columns
            .iter()
            .map(|col| {
                let in_list = |cols: &[String]| cols.iter().any(|c| c.eq_ignore_ascii_case(&col.name));
                let primary_key = col.primary_key
                    || constraints.iter().any(|k| matches!(k, ConstraintKind::PrimaryKey(cols) if in_list(cols)));
                let foreign_key = col.references.is_some()
                    || constraints
                        .iter()
                        .any(|k| matches!(k, ConstraintKind::ForeignKey { columns, .. } if in_list(columns)));
                NewColumn { table, col, primary_key, foreign_key }
            })
            .collect(),
        Stmt::AlterTable { table, actions } => actions
            .iter()
            .filter_map(|a| match a {
                Action::AddColumn(col) => {
                    Some(NewColumn { table, col, primary_key: col.primary_key, foreign_key: col.references.is_some() })
                }
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// A column type a statement writes: a column definition (`CREATE TABLE`, `ADD COLUMN`) or the
/// new type of an `ALTER COLUMN … TYPE` / MySQL `MODIFY`.
#[derive(Debug)]
pub(crate) struct TypedColumn<'a> {
    /// The table.
    pub table: &'a Name,
    /// The column's name.
    pub column: &'a str,
    /// The type as written.
    pub type_text: &'a str,
    /// Where to point: the type of a definition, the whole action of a type change.
    pub span: std::ops::Range<usize>,
    /// The definition, for suggested SQL (`None` for a type change).
    pub def: Option<&'a ColumnDef>,
    /// Part of the primary key.
    pub primary_key: bool,
    /// Part of a foreign key.
    pub foreign_key: bool,
}

/// Every column type `cx.stmt` writes, with key information (for type changes, from the schema
/// before the statement).
pub(crate) fn typed_columns<'a>(cx: &Cx<'a>) -> Vec<TypedColumn<'a>> {
    let stmt: &'a Stmt = cx.stmt;
    let mut out: Vec<TypedColumn<'a>> = new_columns(stmt)
        .into_iter()
        .map(|n| TypedColumn {
            table: n.table,
            column: &n.col.name,
            type_text: &n.col.type_text,
            span: if n.col.type_span.is_empty() { n.col.span.clone() } else { n.col.type_span.clone() },
            def: Some(n.col),
            primary_key: n.primary_key,
            foreign_key: n.foreign_key,
        })
        .collect();
    if let Stmt::AlterTable { table, actions } = stmt {
        let t = cx.table(table);
        for a in actions {
            let Action::AlterType { column, new_type, span, .. } = a else { continue };
            let same =
                |c: &String| if cx.dialect == Dialect::Postgres { c == column } else { c.eq_ignore_ascii_case(column) };
            let primary_key = t.and_then(|t| t.primary_key.as_ref()).is_some_and(|pk| pk.columns.iter().any(same));
            let foreign_key = t.is_some_and(|t| t.foreign_keys.values().any(|fk| fk.columns.iter().any(same)));
            out.push(TypedColumn {
                table,
                column,
                type_text: new_type,
                span: span.clone(),
                def: None,
                primary_key,
                foreign_key,
            });
        }
    }
    out
}

/// Suggested SQL for `c` with its type replaced by `new_type`: the column definition (prefixed
/// with `ALTER TABLE t` for `ADD COLUMN`), or an `ALTER COLUMN … TYPE` for a type change. `None`
/// for MySQL type changes: `MODIFY` restates the whole column, which we cannot write faithfully.
pub(crate) fn retyped(cx: &Cx<'_>, c: &TypedColumn<'_>, new_type: &str) -> Option<String> {
    Some(match c.def {
        Some(def) if matches!(cx.stmt, Stmt::AlterTable { .. }) => {
            format!("ALTER TABLE {} {};", table_sql(cx, c.table), with_type(cx, def, new_type))
        }
        Some(def) => format!("-- in CREATE TABLE {}:\n{}", table_sql(cx, c.table), with_type(cx, def, new_type)),
        None if cx.dialect == Dialect::Mysql => return None,
        None => format!(
            "ALTER TABLE {} ALTER COLUMN {} TYPE {new_type};",
            table_sql(cx, c.table),
            ident(cx.dialect, c.column)
        ),
    })
}

/// A hygiene hit on `c` (at its type) whose safe form is the column retyped to `replacement`,
/// with that SQL as the fix when it can be written, and the in-place rewrite of the type when
/// `c` is a column definition.
pub(crate) fn retype_hit(
    cx: &Cx<'_>,
    c: &TypedColumn<'_>,
    message: String,
    help: impl Into<String>,
    replacement: &str,
) -> crate::lint::Hit {
    let mut hit = crate::lint::Hit::new(c.span.clone(), message, help);
    // In a column definition the type can be rewritten in place (`lint --fix`); a type change
    // (`ALTER COLUMN … TYPE`) is a different statement and is left to a human.
    if let Some(def) = c.def.filter(|d| !d.type_span.is_empty() && d.type_span == c.span) {
        hit = hit.replace(def.type_span.clone(), &def.type_text, replacement);
    }
    match retyped(cx, c, replacement) {
        Some(sql) => hit.fix(sql),
        None => hit,
    }
}

/// `text`, with a `CHECK` on its length `n` where the column is defined (not for a type change).
pub(crate) fn text_with_length(cx: &Cx<'_>, c: &TypedColumn<'_>, n: impl std::fmt::Display) -> String {
    if c.def.is_some() {
        format!("text CHECK (char_length({}) <= {n})", ident(cx.dialect, c.column))
    } else {
        "text".to_owned()
    }
}

/// A normalized type split into its name, its numeric modifiers and what follows them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Ty {
    /// Canonical name (`integer`, `varchar`, `numeric`, `timestamptz`, `enum`, …).
    pub name: String,
    /// Numeric modifiers (`varchar(20)` → `[20]`, `numeric(10,2)` → `[10, 2]`).
    pub args: Vec<u64>,
    /// An array type.
    pub array: bool,
}

impl Ty {
    /// Parse a type as written, after normalizing it for `dialect`.
    pub fn parse(dialect: Dialect, written: &str) -> Ty {
        let n = normalize_type(dialect, written);
        let array = n.ends_with("[]");
        let n = n.trim_end_matches("[]");
        let (name, args) = match (n.find('('), n.rfind(')')) {
            (Some(open), Some(close)) if close > open => {
                let mut name = n[..open].trim().to_owned();
                let rest = n[close + 1..].trim();
                if !rest.is_empty() {
                    name = format!("{name} {rest}");
                }
                let args = n[open + 1..close].split(',').filter_map(|a| a.trim().parse().ok()).collect();
                (name, args)
            }
            _ => (n.trim().to_owned(), Vec::new()),
        };
        Ty { name, args, array }
    }

    /// Bytes of an integer type, `None` for other types.
    pub fn int_width(&self) -> Option<u8> {
        match self.name.as_str() {
            "tinyint" => Some(1),
            "smallint" => Some(2),
            "integer" => Some(4),
            "bigint" => Some(8),
            _ => None,
        }
    }
}

/// Whether the type as written is a `serial` pseudo-type (PostgreSQL).
pub(crate) fn serial_kind(written: &str) -> Option<&'static str> {
    match written.trim().to_ascii_lowercase().as_str() {
        "serial" | "serial4" => Some("integer"),
        "bigserial" | "serial8" => Some("bigint"),
        "smallserial" | "serial2" => Some("smallint"),
        _ => None,
    }
}

/// `name` quoted for `dialect` when it is not a plain lowercase identifier.
pub(crate) fn ident(dialect: Dialect, name: &str) -> String {
    let plain = name.chars().next().is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if plain {
        name.to_owned()
    } else if dialect == Dialect::Mysql {
        format!("`{}`", name.replace('`', "``"))
    } else {
        format!("\"{}\"", name.replace('"', "\"\""))
    }
}

/// The table name as the migration writes it.
pub(crate) fn table_sql(cx: &Cx<'_>, table: &Name) -> String {
    let written = cx.source(&table.span);
    if written.is_empty() { ident(cx.dialect, &table.name) } else { written.to_owned() }
}

/// The column definition's text with its type replaced by `new_type` (for suggested SQL).
pub(crate) fn with_type(cx: &Cx<'_>, col: &ColumnDef, new_type: &str) -> String {
    let def = cx.source(&col.span);
    let ty = &col.type_span;
    if ty.start < col.span.start || ty.end > col.span.end || ty.start >= ty.end {
        return format!("{} {new_type}", ident(cx.dialect, &col.name));
    }
    let (a, b) = (ty.start - col.span.start, ty.end - col.span.start);
    match (def.get(..a), def.get(b..)) {
        (Some(head), Some(tail)) => format!("{head}{new_type}{tail}"),
        _ => format!("{} {new_type}", ident(cx.dialect, &col.name)),
    }
}

/// Whether a later statement of the same migration creates a table named `name` again (`CREATE
/// TABLE`, or a rename onto the name): the table-rebuild pattern (copy into a new table, drop or
/// rename the old one, take over its name), which keeps the data.
pub(crate) fn recreated_later(cx: &Cx<'_>, name: &Name) -> bool {
    let Some(rest) = cx.text.get(cx.statement.span.end..) else { return false };
    let key = name.key();
    let same = |k: &str| if cx.dialect == Dialect::Postgres { k == key } else { k.eq_ignore_ascii_case(&key) };
    statements(rest, cx.dialect).iter().any(|st| match classify(st, cx.dialect) {
        Stmt::CreateTable { table, .. } => same(&table.key()),
        Stmt::AlterTable { table, actions } => actions.iter().any(|a| match a {
            Action::RenameTable { to, .. } => same(&crate::schema::qualified_name(table.schema.as_deref(), to)),
            _ => false,
        }),
        Stmt::RenameTable { to, from } => same(&crate::schema::qualified_name(from.schema.as_deref(), &to)),
        _ => false,
    })
}

/// The labels of a MySQL `enum('a','b')` type as written (`None` for other types).
pub(crate) fn mysql_enum_labels(written: &str) -> Option<Vec<String>> {
    let t = written.trim();
    let open = t.find('(')?;
    if !t[..open].trim().eq_ignore_ascii_case("enum") {
        return None;
    }
    let mut labels = Vec::new();
    let mut chars = t[open + 1..].chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\'' {
            continue;
        }
        let mut label = String::new();
        while let Some(c) = chars.next() {
            if c == '\'' {
                if chars.peek() == Some(&'\'') {
                    chars.next();
                    label.push('\'');
                } else {
                    break;
                }
            } else {
                label.push(c);
            }
        }
        labels.push(label);
    }
    Some(labels)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_parse_into_name_and_modifiers() {
        let t = Ty::parse(Dialect::Postgres, "character varying(20)");
        assert_eq!((t.name.as_str(), t.args.as_slice()), ("varchar", &[20][..]));
        let t = Ty::parse(Dialect::Postgres, "NUMERIC(10, 2)");
        assert_eq!((t.name.as_str(), t.args.as_slice()), ("numeric", &[10, 2][..]));
        assert_eq!(Ty::parse(Dialect::Postgres, "int4").int_width(), Some(4));
        assert_eq!(Ty::parse(Dialect::Postgres, "timestamp(3) without time zone").name, "timestamp");
        assert!(Ty::parse(Dialect::Postgres, "int[]").array);
        assert_eq!(Ty::parse(Dialect::Mysql, "bigint(20) unsigned").name, "bigint unsigned");
    }

    #[test]
    fn rules_survive_junk_and_truncated_statements() {
        let junk = [
            "ALTER TABLE",
            "ALTER TABLE t ALTER COLUMN",
            "ALTER TABLE t ALTER COLUMN a TYPE",
            "ALTER TABLE t ADD COLUMN ü varchar(",
            "ALTER TABLE t DROP COLUMN",
            "ALTER TABLE t RENAME TO",
            "CREATE TABLE t (a char(, b numeric(99999999999999999999999, 2), PRIMARY KEY ());",
            "CREATE TYPE e AS ENUM (",
            "DROP TABLE",
            "DROP SCHEMA",
            "TRUNCATE",
            "DELETE FROM",
            "BEGIN",
            "ALTER TYPE e RENAME VALUE 'a' TO",
            "ALTER TABLE t MODIFY a ENUM('x",
            "ALTER TABLE t CHANGE a b",
        ];
        let history = "CREATE TABLE t (a int, b text NOT NULL DEFAULT '');\nCREATE TYPE e AS ENUM ('a');";
        for dialect in [Dialect::Postgres, Dialect::Sqlite, Dialect::Mysql] {
            for sql in junk {
                let _ = crate::lint::testing::lint_with(dialect, &[history, sql], &crate::lint::LintOptions::default());
            }
        }
    }

    #[test]
    fn mysql_enum_labels_are_read_with_escapes() {
        assert_eq!(mysql_enum_labels("ENUM('a', 'it''s')"), Some(vec!["a".to_owned(), "it's".to_owned()]));
        assert_eq!(mysql_enum_labels("varchar(3)"), None);
    }
}
